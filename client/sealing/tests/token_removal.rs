//! Pulling the token while a multi-segment file is opened: opening stops at once,
//! writes no further plaintext, and leaves no output behind.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{
    isolated, leftovers, partial_output_len, FaultyToken, Recorder, Sealed, SoftHsm, TOKEN,
};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use medledger_sealing::{Progress, SealingError, TokenBackend};

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

/// age's STREAM chunk: the most plaintext that may reach the output after a pull.
const AGE_CHUNK: u64 = 64 * 1024;

/// Pulls the token once `pull_at` plaintext bytes are written, then watches how much
/// more reaches the output.
struct PullMidSegment<P: FnMut()> {
    pull_at: u64,
    pull: P,
    dir: PathBuf,
    written: u64,
    /// (bytes written, partial output length) when the token was pulled.
    at_pull: Option<(u64, u64)>,
    /// The longest the partial output grew after the pull.
    longest_after_pull: u64,
}

impl<P: FnMut()> Progress for PullMidSegment<P> {
    fn advance(&mut self, bytes: u64) {
        self.written += bytes;
        let on_disk = partial_output_len(&self.dir).unwrap_or(0);
        match self.at_pull {
            None if self.written >= self.pull_at => {
                (self.pull)();
                self.at_pull = Some((self.written, on_disk));
            }
            None => {}
            Some(_) => self.longest_after_pull = self.longest_after_pull.max(on_disk),
        }
    }
}

/// Opens a 3 MiB file in 1 MiB segments with `token`, pulling it (`pull`) a quarter
/// into the second segment, and checks that at most one more age chunk of plaintext
/// reached the output and nothing was left behind.
fn assert_pull_mid_segment_stops_output_within_one_age_chunk(
    files: &Sealed,
    token: &dyn TokenBackend,
    pull: impl FnMut(),
) {
    let mut progress = PullMidSegment {
        pull_at: MID_SEGMENT + MID_SEGMENT / 4,
        pull,
        dir: files.dir.clone(),
        written: 0,
        at_pull: None,
        longest_after_pull: 0,
    };
    let result = files.open(token, &mut progress);
    match result {
        Err(SealingError::TokenRemoved { during }) => {
            assert!(during.starts_with("segment 2 of 3"), "{during}")
        }
        other => panic!("expected TokenRemoved, got {other:?}"),
    }
    let (written_at_pull, on_disk_at_pull) = progress.at_pull.expect("pulled");
    assert!(on_disk_at_pull > 0, "the partial output is measured");
    assert!(
        written_at_pull < 2 * MID_SEGMENT,
        "pulled inside the second segment"
    );
    assert!(
        progress.written - written_at_pull <= AGE_CHUNK,
        "{} bytes written after the pull",
        progress.written - written_at_pull
    );
    assert!(
        progress.longest_after_pull.saturating_sub(on_disk_at_pull) <= AGE_CHUNK,
        "the output grew from {on_disk_at_pull} to {} bytes after the pull",
        progress.longest_after_pull
    );
    assert!(!files.opened.exists(), "no output");
    assert!(leftovers(&files.dir).is_empty(), "partial output removed");
}

/// Segment size of the mid-segment pulls.
const MID_SEGMENT: u64 = 1 << 20;

fn seal_for_mid_segment_pull(hsm: &SoftHsm) -> Sealed {
    Sealed::new(
        3 * MID_SEGMENT as usize,
        &hsm.generate_key(TOKEN),
        MID_SEGMENT,
    )
}

#[test]
fn injected_removal_mid_segment_stops_output_within_one_age_chunk() {
    isolated(
        "injected_removal_mid_segment_stops_output_within_one_age_chunk",
        &[TOKEN],
        |hsm| {
            let files = seal_for_mid_segment_pull(hsm);
            let token = FaultyToken::new(hsm.open_token(TOKEN), true);
            let pulled = token.pulled.clone();
            assert_pull_mid_segment_stops_output_within_one_age_chunk(&files, &token, move || {
                pulled.set(true)
            });
        },
    );
}

/// A token pulled in the middle of a segment, as a PKCS#11 module reports it: the
/// token's sessions lose their login (removal ends it; SoftHSM, which has no removal,
/// is told through another session's `C_Logout`) and its storage is gone (SoftHSM's
/// token directory moved away).
#[test]
fn softhsm_token_pulled_mid_segment_stops_output_within_one_age_chunk() {
    isolated(
        "softhsm_token_pulled_mid_segment_stops_output_within_one_age_chunk",
        &[TOKEN],
        |hsm| {
            let files = seal_for_mid_segment_pull(hsm);
            let token = hsm.open_token(TOKEN);
            let module = Pkcs11::new(hsm.config(TOKEN).module).unwrap();
            // This process has initialized the module already, through `token`.
            let _ = module.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
            let slot = module.get_slots_with_initialized_token().unwrap()[0];
            let other_session = module.open_ro_session(slot).unwrap();
            let token_dir = hsm.token_dir();
            assert_pull_mid_segment_stops_output_within_one_age_chunk(&files, &token, move || {
                other_session.logout().unwrap();
                move_away(&token_dir);
            });
        },
    );
}
