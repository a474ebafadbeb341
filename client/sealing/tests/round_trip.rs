//! Seal to a key generated on a fresh SoftHSM2 token, open with the token.

mod common;

use std::fs;

use common::{isolated, leftovers, FaultyToken, Recorder, Sealed, SoftwareToken, TOKEN};
use medledger_sealing::container::ContainerHeader;
use medledger_sealing::token::TokenBackend;
use medledger_sealing::{NoProgress, TokenIdentity};
use sha2::{Digest, Sha256};

#[test]
fn small_payload_round_trips_through_the_token() {
    isolated(
        "small_payload_round_trips_through_the_token",
        &[TOKEN],
        |hsm| {
            let files = Sealed::new(1000, &hsm.generate_key(TOKEN), 32 << 20);
            let token = hsm.open_token(TOKEN);
            let receipt = files.receipt;
            let opened = files.open(&token, &mut NoProgress).unwrap();

            assert_eq!(fs::read(&files.opened).unwrap(), files.payload);
            assert_eq!(receipt.segment_count, 1);
            assert_eq!(opened.digest, receipt.digest);
            assert_eq!(
                receipt.sealed_len,
                fs::metadata(&files.sealed).unwrap().len()
            );
            assert!(leftovers(&files.dir).is_empty());
        },
    );
}

#[test]
fn multi_segment_payload_round_trips_with_one_token_ecdh_per_segment() {
    isolated(
        "multi_segment_payload_round_trips_with_one_token_ecdh_per_segment",
        &[TOKEN],
        |hsm| {
            let segment_size = 64 * 1024;
            let files = Sealed::new(
                3 * segment_size + 12_345,
                &hsm.generate_key(TOKEN),
                segment_size as u64,
            );
            assert_eq!(files.receipt.segment_count, 4);

            // Never pulled: the wrapper only counts.
            let token = FaultyToken::new(hsm.open_token(TOKEN), true);
            let mut progress = Recorder::<fn(u64)>::default();
            files.open(&token, &mut progress).unwrap();

            assert_eq!(fs::read(&files.opened).unwrap(), files.payload);
            assert_eq!(
                token.ecdh_calls.get(),
                4,
                "exactly one token ECDH per segment"
            );
            assert_eq!(progress.segments_done, vec![0, 1, 2, 3]);
            assert_eq!(progress.bytes, files.payload.len() as u64);
        },
    );
}

#[test]
fn empty_payload_round_trips_as_one_segment() {
    let token = SoftwareToken::generate();
    let files = Sealed::new(0, &token.delivery_key(), 1024);
    files.open(&token, &mut NoProgress).unwrap();
    assert_eq!(files.receipt.segment_count, 1);
    assert_eq!(token.ecdh_calls.get(), 1);
    assert_eq!(fs::read(&files.opened).unwrap(), b"");
}

/// Reads the container with nothing but CONTAINER.md's layout and a plain age
/// decryptor: each segment is a complete age file, the digests are SHA-256.
#[test]
fn container_layout_matches_its_documentation() {
    let token = SoftwareToken::generate();
    let files = Sealed::new(2500, &token.delivery_key(), 1000);
    let bytes = files.bytes();

    let be64 = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap());
    assert_eq!(&bytes[..8], b"MLSEALED");
    assert_eq!(u16::from_be_bytes([bytes[8], bytes[9]]), 2);
    assert_eq!(be64(12), 1000, "segment size");
    assert_eq!(be64(20), 3, "segment count");
    assert_eq!(be64(28), 2500, "plaintext length");
    let table_end = 36 + 3 * 40;
    assert_eq!(
        files.receipt.digest,
        <[u8; 32]>::from(Sha256::digest(&bytes[..table_end]))
    );

    let mut offset = table_end;
    let mut reassembled = Vec::new();
    for index in 0..3 {
        let entry = 36 + index * 40;
        let len = be64(entry) as usize;
        let segment = &bytes[offset..offset + len];
        assert_eq!(
            &bytes[entry + 8..entry + 40],
            Sha256::digest(segment).as_slice()
        );
        let identity = TokenIdentity::new(&token);
        let decryptor = age::Decryptor::new_buffered(segment).unwrap();
        let mut reader = decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .unwrap();
        std::io::Read::read_to_end(&mut reader, &mut reassembled).unwrap();
        offset += len;
    }
    assert_eq!(offset, bytes.len());
    assert_eq!(reassembled, files.payload);

    let header = ContainerHeader::read(&mut &bytes[..], bytes.len() as u64).unwrap();
    assert_eq!(header.digest(), files.receipt.digest);
}

/// Segments far larger than the pieces sealing and opening hand between threads
/// (and not a multiple of them, nor of age's 64 KiB chunk): the table still holds
/// each whole segment's length and SHA-256, and the payload comes back intact.
#[test]
fn segments_larger_than_the_hand_off_pieces_round_trip() {
    let token = SoftwareToken::generate();
    let segment_size = 700_001;
    let files = Sealed::new(
        2 * segment_size + 123_457,
        &token.delivery_key(),
        segment_size as u64,
    );
    let bytes = files.bytes();
    let header = ContainerHeader::read(&mut &bytes[..], bytes.len() as u64).unwrap();
    assert_eq!(header.segments.len(), 3);
    let mut offset = ContainerHeader::encoded_len(3) as usize;
    for entry in &header.segments {
        let segment = &bytes[offset..offset + entry.sealed_len as usize];
        assert_eq!(entry.digest, <[u8; 32]>::from(Sha256::digest(segment)));
        offset += segment.len();
    }
    assert_eq!(offset, bytes.len());

    let receipt = files.open(&token, &mut NoProgress).unwrap();
    assert_eq!(receipt.digest, files.receipt.digest);
    assert_eq!(token.ecdh_calls.get(), 3);
    assert_eq!(fs::read(&files.opened).unwrap(), files.payload);
    assert!(leftovers(&files.dir).is_empty());
}
