//! Every bad input gets its own named error, and never leaves plaintext behind.

mod common;

use std::fs;
use std::io::Write;
use std::str::FromStr;

use common::{isolated, leftovers, Sealed, SoftwareToken, TOKEN, USER_PIN};
use medledger_sealing::container::{ContainerHeader, SegmentEntry};
use medledger_sealing::testing::{assemble_container, split_container};
use medledger_sealing::token::{generate_delivery_key, Pkcs11Token, SlotSelector};
use medledger_sealing::{
    open_file, DeliveryKey, DigestCheck, NoProgress, Pin, SealingError, TokenBackend,
};
use sha2::{Digest, Sha256};

/// For the checks beneath the container digest: what opening finds without it.
const UNCHECKED: DigestCheck = DigestCheck::SkipAcceptingTampering;

/// Opens `sealed` with `token`; checks that it failed without leaving output.
fn open_fails(sealed: &[u8], token: &dyn TokenBackend, check: DigestCheck) -> SealingError {
    let work = tempfile::tempdir().unwrap();
    let (input, output) = (work.path().join("sealed"), work.path().join("opened"));
    fs::write(&input, sealed).unwrap();
    let result = open_file(&input, &output, token, check, &mut NoProgress);
    assert!(!output.exists(), "no output after a failure");
    assert!(
        leftovers(work.path()).is_empty(),
        "no partial file after a failure"
    );
    match result {
        Err(error) => error,
        Ok(receipt) => panic!("opening bad input succeeded: {receipt:?}"),
    }
}

/// A three-segment container sealed to `token`, and its digest.
fn sealed_container(token: &dyn TokenBackend) -> (Vec<u8>, [u8; 32]) {
    let files = Sealed::new(2500, &token.delivery_key(), 1000);
    (files.bytes(), files.receipt.digest)
}

fn header_len(segments: u64) -> usize {
    ContainerHeader::encoded_len(segments) as usize
}

#[test]
fn wrong_pin_is_refused_by_name() {
    isolated("wrong_pin_is_refused_by_name", &[TOKEN], |hsm| {
        hsm.generate_key(TOKEN);
        let result = Pkcs11Token::open(&hsm.config(TOKEN), &Pin::from("000000".to_owned()));
        assert!(
            matches!(result, Err(SealingError::WrongPin { ref token }) if token == TOKEN),
            "{:?}",
            result.err()
        );
    });
}

#[test]
fn token_without_delivery_key_and_unknown_token_are_named() {
    isolated(
        "token_without_delivery_key_and_unknown_token_are_named",
        &[TOKEN],
        |hsm| {
            let result = Pkcs11Token::open(&hsm.config(TOKEN), &hsm.pin());
            assert!(
                matches!(result, Err(SealingError::KeyNotFound { .. })),
                "{:?}",
                result.err()
            );
            let result = Pkcs11Token::open(&hsm.config("no-such-token"), &hsm.pin());
            assert!(
                matches!(result, Err(SealingError::TokenNotFound { .. })),
                "{:?}",
                result.err()
            );
            let mut by_slot = hsm.config(TOKEN);
            by_slot.slot = SlotSelector::SlotId(u64::MAX);
            assert!(matches!(
                Pkcs11Token::open(&by_slot, &hsm.pin()),
                Err(SealingError::TokenNotFound { .. })
            ));
        },
    );
}

#[test]
fn second_key_generation_is_refused() {
    isolated("second_key_generation_is_refused", &[TOKEN], |hsm| {
        let first = hsm.generate_key(TOKEN);
        let again = generate_delivery_key(&hsm.config(TOKEN), &Pin::from(USER_PIN.to_owned()));
        assert!(
            matches!(again, Err(SealingError::KeyExists { .. })),
            "{:?}",
            again.err()
        );
        assert_eq!(
            hsm.open_token(TOKEN).delivery_key(),
            first,
            "the first key is untouched"
        );
    });
}

#[test]
fn file_for_another_token_is_refused_as_wrong_token() {
    isolated(
        "file_for_another_token_is_refused_as_wrong_token",
        &[TOKEN, "other-token"],
        |hsm| {
            hsm.generate_key(TOKEN);
            hsm.generate_key("other-token");
            let (sealed, _) = sealed_container(&hsm.open_token(TOKEN));
            let error = open_fails(&sealed, &hsm.open_token("other-token"), UNCHECKED);
            assert!(
                matches!(error, SealingError::WrongToken { .. }),
                "{error:?}"
            );
        },
    );
}

#[test]
fn segment_for_a_non_token_recipient_is_not_ours() {
    let token = SoftwareToken::generate();
    let x25519 = age::x25519::Identity::generate().to_public();
    let mut segment = Vec::new();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&x25519 as &dyn age::Recipient)).unwrap();
    let mut writer = encryptor.wrap_output(&mut segment).unwrap();
    writer.write_all(b"0123456789").unwrap();
    writer.finish().unwrap();
    let header = ContainerHeader {
        segment_size: 10,
        plaintext_len: 10,
        segments: vec![SegmentEntry {
            sealed_len: segment.len() as u64,
            digest: Sha256::digest(&segment).into(),
        }],
    };
    let container = [header.encode(), segment].concat();
    let error = open_fails(&container, &token, UNCHECKED);
    assert!(
        matches!(error, SealingError::NotOurRecipient { segment: 1, ref found } if found == "X25519"),
        "{error:?}"
    );
    assert_eq!(token.ecdh_calls.get(), 0);
}

#[test]
fn truncated_containers_are_named_truncated() {
    let token = SoftwareToken::generate();
    let (sealed, _) = sealed_container(&token);
    for cut in [20, header_len(3) - 1, header_len(3) + 10, sealed.len() - 1] {
        let error = open_fails(&sealed[..cut], &token, UNCHECKED);
        assert!(
            matches!(error, SealingError::Truncated(_)),
            "cut at {cut}: {error:?}"
        );
    }
}

#[test]
fn tampered_segment_is_caught_by_its_digest() {
    let token = SoftwareToken::generate();
    let (mut sealed, _) = sealed_container(&token);
    let last = sealed.len() - 5;
    sealed[last] ^= 0x01;
    let error = open_fails(&sealed, &token, UNCHECKED);
    assert!(
        matches!(error, SealingError::Tampered(ref why) if why.contains("segment 3")),
        "{error:?}"
    );
}

/// A flipped byte near the start of a large segment fails age's first chunk long
/// before the segment's last byte is read: the rest is still read, and the digest
/// names the segment.
#[test]
fn early_tampering_in_a_large_segment_is_caught_by_its_digest() {
    let token = SoftwareToken::generate();
    let files = Sealed::new(3_000_000, &token.delivery_key(), 1_000_000);
    let mut sealed = files.bytes();
    let second_segment = header_len(3) + sealed_len_of(&sealed, 0);
    sealed[second_segment + 1000] ^= 0x01;
    let error = open_fails(&sealed, &token, UNCHECKED);
    assert!(
        matches!(error, SealingError::Tampered(ref why) if why == "segment 2 does not match its digest"),
        "{error:?}"
    );
}

fn sealed_len_of(sealed: &[u8], index: usize) -> usize {
    let header = ContainerHeader::read(&mut &sealed[..], sealed.len() as u64).unwrap();
    header.segments[index].sealed_len as usize
}

#[test]
fn tampered_segment_with_forged_table_is_caught_by_age_and_by_the_chain_digest() {
    let token = SoftwareToken::generate();
    let (sealed, digest) = sealed_container(&token);
    let mut header = ContainerHeader::read(&mut &sealed[..], sealed.len() as u64).unwrap();
    let mut body = sealed[header_len(3)..].to_vec();
    let last = body.len() - 5;
    body[last] ^= 0x01;
    let third_start = (header.segments[0].sealed_len + header.segments[1].sealed_len) as usize;
    header.segments[2].digest = Sha256::digest(&body[third_start..]).into();
    let forged = [header.encode(), body].concat();

    let error = open_fails(&forged, &token, UNCHECKED);
    assert!(matches!(error, SealingError::Tampered(_)), "{error:?}");
    let error = open_fails(&forged, &token, DigestCheck::Expect(digest));
    assert!(
        matches!(error, SealingError::DigestMismatch { .. }),
        "{error:?}"
    );
}

#[test]
fn malformed_containers_are_named() {
    let token = SoftwareToken::generate();
    let (sealed, _) = sealed_container(&token);

    let error = open_fails(b"age-encryption.org/v1\n", &token, UNCHECKED);
    assert!(matches!(error, SealingError::NotAContainer), "{error:?}");

    let mut future = sealed.clone();
    future[9] = 2;
    assert!(matches!(
        open_fails(&future, &token, UNCHECKED),
        SealingError::UnsupportedVersion(2)
    ));

    let trailing = [sealed.as_slice(), b"x"].concat();
    assert!(matches!(
        open_fails(&trailing, &token, UNCHECKED),
        SealingError::InvalidContainer(_)
    ));

    let mut miscounted = sealed.clone();
    miscounted[27] = 2;
    assert!(matches!(
        open_fails(&miscounted, &token, UNCHECKED),
        SealingError::InvalidContainer(_)
    ));
}

#[test]
fn invalid_delivery_keys_are_refused() {
    let valid = SoftwareToken::generate().delivery_key();
    assert_eq!(DeliveryKey::from_str(&valid.to_chain_hex()).unwrap(), valid);
    let mut off_curve = valid.compressed();
    off_curve[0] = 0x05;
    let x_not_on_curve = format!(
        "0x02{}",
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
    );
    for bad in [
        format!("0x{}", hex::encode(off_curve)),
        x_not_on_curve,
        "0x02abcd".to_owned(),
        format!("0x{}", hex::encode(valid.uncompressed())),
        "0xzz".to_owned(),
        "age1tag1qqqq".to_owned(),
        "not a key".to_owned(),
    ] {
        assert!(
            matches!(
                DeliveryKey::from_str(&bad),
                Err(SealingError::InvalidPublicKey(_))
            ),
            "{bad}"
        );
    }
}

/// Three full segments of 1000 bytes sealed to `token`: the plaintext and the container.
fn three_segments(token: &dyn TokenBackend) -> Sealed {
    Sealed::new(3000, &token.delivery_key(), 1000)
}

/// A rearranged container: its name, bytes, and the plaintext it would open to.
type Rearrangement = (&'static str, Vec<u8>, Vec<u8>);

/// What an attacker holding only the buyer's public key makes of a delivery: the last
/// segment dropped, two segments swapped, and a segment of another container sealed to
/// the same key put in — each with a table that matches, so only the chain's digest can
/// tell.
fn rearranged_deliveries(token: &dyn TokenBackend) -> (Sealed, Vec<Rearrangement>) {
    let original = three_segments(token);
    let other = three_segments(token);
    let (header, segments) = split_container(&original.bytes()).unwrap();
    let (_, other_segments) = split_container(&other.bytes()).unwrap();
    let part = |index: usize, of: &Sealed| of.payload[index * 1000..(index + 1) * 1000].to_vec();
    let size = header.segment_size;
    let cut = assemble_container(size, 2000, &segments[..2]);
    let reordered = assemble_container(
        size,
        3000,
        &[
            segments[1].clone(),
            segments[0].clone(),
            segments[2].clone(),
        ],
    );
    let spliced = assemble_container(
        size,
        3000,
        &[
            segments[0].clone(),
            other_segments[1].clone(),
            segments[2].clone(),
        ],
    );
    let attacks = vec![
        ("cut", cut, original.payload[..2000].to_vec()),
        (
            "reordered",
            reordered,
            [part(1, &original), part(0, &original), part(2, &original)].concat(),
        ),
        (
            "spliced",
            spliced,
            [part(0, &original), part(1, &other), part(2, &original)].concat(),
        ),
    ];
    (original, attacks)
}

#[test]
fn cut_reordered_and_spliced_containers_are_refused_by_the_chain_digest() {
    let token = SoftwareToken::generate();
    let (original, attacks) = rearranged_deliveries(&token);
    for (name, container, would_open_to) in attacks {
        // Nothing inside the container gives these away: opened unchecked they yield
        // the rearranged plaintext.
        let work = tempfile::tempdir().unwrap();
        let (input, output) = (work.path().join("sealed"), work.path().join("opened"));
        fs::write(&input, &container).unwrap();
        open_file(&input, &output, &token, UNCHECKED, &mut NoProgress)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(fs::read(&output).unwrap(), would_open_to, "{name}");

        let calls_before = token.ecdh_calls.get();
        let error = open_fails(
            &container,
            &token,
            DigestCheck::Expect(original.receipt.digest),
        );
        assert!(
            matches!(error, SealingError::DigestMismatch { ref expected, .. }
                if *expected == format!("0x{}", hex::encode(original.receipt.digest))),
            "{name}: {error:?}"
        );
        assert_eq!(
            token.ecdh_calls.get(),
            calls_before,
            "{name}: refused before the token is used"
        );
    }
}
