//! Pulling the token while a multi-segment file is opened: opening stops at once,
//! writes no further plaintext, and leaves no output behind.

mod common;

use std::fs;
use std::path::Path;

use common::{isolated, leftovers, FaultyToken, Recorder, Sealed, SoftHsm, TOKEN};
use medledger_sealing::{SealingError, TokenBackend};

const SEGMENT: usize = 64 * 1024;

fn seal_three_segments(hsm: &SoftHsm) -> Sealed {
    Sealed::new(3 * SEGMENT, &hsm.generate_key(TOKEN), SEGMENT as u64)
}

/// Opens `files` with `token`, calling `pull` when the first segment is done, and
/// checks that opening stopped there with nothing left behind.
fn assert_pulling_after_first_segment_stops_opening(
    files: &Sealed,
    token: &dyn TokenBackend,
    pull: impl FnMut(u64),
) {
    let mut progress = Recorder {
        on_segment_done: Some(pull),
        ..Recorder::default()
    };
    let result = files.open(token, &mut progress);
    match result {
        Err(SealingError::TokenRemoved { during }) => {
            assert!(during.starts_with("segment 2 of 3"), "{during}")
        }
        other => panic!("expected TokenRemoved, got {other:?}"),
    }
    assert_eq!(progress.segments_done, vec![0]);
    assert_eq!(
        progress.bytes, SEGMENT as u64,
        "no plaintext after the first segment"
    );
    assert!(!files.opened.exists(), "partial output removed");
    assert!(leftovers(&files.dir).is_empty());
}

/// Injects `CKR_DEVICE_REMOVED` after the first segment; returns the ECDH count.
fn injected_removal(hsm: &SoftHsm, presence_notices: bool) -> u32 {
    let files = seal_three_segments(hsm);
    let token = FaultyToken::new(hsm.open_token(TOKEN), presence_notices);
    let pulled = token.pulled.clone();
    assert_pulling_after_first_segment_stops_opening(&files, &token, move |_: u64| {
        pulled.set(true)
    });
    token.ecdh_calls.get()
}

#[test]
fn injected_device_removal_seen_by_presence_check_stops_opening() {
    isolated(
        "injected_device_removal_seen_by_presence_check_stops_opening",
        &[TOKEN],
        |hsm| {
            assert_eq!(
                injected_removal(hsm, true),
                1,
                "the second segment never reached the token"
            );
        },
    );
}

#[test]
fn injected_device_removal_seen_only_by_ecdh_stops_opening() {
    isolated(
        "injected_device_removal_seen_only_by_ecdh_stops_opening",
        &[TOKEN],
        |hsm| {
            assert_eq!(
                injected_removal(hsm, false),
                2,
                "the second segment's ECDH hit the pulled token"
            );
        },
    );
}

fn move_away(from: &Path) {
    fs::rename(from, from.with_extension("pulled")).unwrap();
}

#[test]
fn softhsm_token_directory_moved_away_stops_opening() {
    isolated(
        "softhsm_token_directory_moved_away_stops_opening",
        &[TOKEN],
        |hsm| {
            let files = seal_three_segments(hsm);
            let token = hsm.open_token(TOKEN);
            token.ensure_present().unwrap();
            let token_dir = hsm.token_dir();
            assert_pulling_after_first_segment_stops_opening(&files, &token, move |_: u64| {
                move_away(&token_dir)
            });
            assert!(!hsm.token_dir().exists());
        },
    );
}
