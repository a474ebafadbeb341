//! Every bad input gets its own named error, and never leaves plaintext behind.

mod common;

use std::fs;
use std::io::Write;
use std::str::FromStr;

use age_core::format::Stanza;
use common::{isolated, leftovers, Sealed, SoftwareToken, TOKEN, USER_PIN};
use medledger_sealing::binding::{BoundRecipient, SegmentBinding};
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
    let segment = age_file(&x25519, b"0123456789");
    let header = ContainerHeader {
        version: medledger_sealing::container::VERSION,
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
    future[9] = 3;
    assert!(matches!(
        open_fails(&future, &token, UNCHECKED),
        SealingError::UnsupportedVersion(3)
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

/// The segment binding in a sealed segment's age header (its text lines).
fn binding_of(segment: &[u8]) -> SegmentBinding {
    let header = String::from_utf8_lossy(&segment[..segment.len().min(1000)]);
    let line = header
        .lines()
        .find_map(|line| line.strip_prefix("-> medledger-segment "))
        .expect("a binding stanza");
    let stanza = Stanza {
        tag: "medledger-segment".into(),
        args: line.split(' ').map(str::to_owned).collect(),
        body: Vec::new(),
    };
    SegmentBinding::from_stanza(&stanza)
        .flatten()
        .expect("a valid binding")
}

/// `plaintext` as an age file for `recipient`, made with the age crate alone.
fn age_file(recipient: &dyn age::Recipient, plaintext: &[u8]) -> Vec<u8> {
    let mut file = Vec::new();
    let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient)).unwrap();
    let mut writer = encryptor.wrap_output(&mut file).unwrap();
    writer.write_all(plaintext).unwrap();
    writer.finish().unwrap();
    file
}

/// A segment made from scratch for `to`, claiming the binding `binding`.
fn forged_segment(to: &DeliveryKey, binding: SegmentBinding, plaintext: &[u8]) -> Vec<u8> {
    let recipient = to.age_recipient();
    let bound = BoundRecipient {
        recipient: &recipient,
        binding,
    };
    age_file(&bound, plaintext)
}

/// A rearranged container: its name, bytes, and the plaintext it would open to.
type Rearrangement = (&'static str, Vec<u8>, Vec<u8>);

/// What an attacker holding only the buyer's public key makes of a delivery, each with
/// a table that matches: the last segment dropped, two segments swapped, a segment of
/// another container sealed to the same key put in, and a segment made from scratch
/// carrying the binding of the one it replaces.
fn rearranged_deliveries(token: &dyn TokenBackend) -> (Sealed, Vec<Rearrangement>) {
    let original = three_segments(token);
    let other = three_segments(token);
    let (header, segments) = split_container(&original.bytes()).unwrap();
    let (_, other_segments) = split_container(&other.bytes()).unwrap();
    let part = |index: usize, of: &Sealed| of.payload[index * 1000..(index + 1) * 1000].to_vec();
    let (version, size) = (header.version, header.segment_size);
    let forged_text = vec![b'A'; 1000];
    let forged = forged_segment(
        &token.delivery_key(),
        binding_of(&segments[1]),
        &forged_text,
    );
    let attacks = vec![
        (
            "cut",
            assemble_container(version, size, 2000, &segments[..2]),
            original.payload[..2000].to_vec(),
        ),
        (
            "reordered",
            assemble_container(
                version,
                size,
                3000,
                &[
                    segments[1].clone(),
                    segments[0].clone(),
                    segments[2].clone(),
                ],
            ),
            [part(1, &original), part(0, &original), part(2, &original)].concat(),
        ),
        (
            "spliced",
            assemble_container(
                version,
                size,
                3000,
                &[
                    segments[0].clone(),
                    other_segments[1].clone(),
                    segments[2].clone(),
                ],
            ),
            [part(0, &original), part(1, &other), part(2, &original)].concat(),
        ),
        (
            "forged",
            assemble_container(
                version,
                size,
                3000,
                &[segments[0].clone(), forged, segments[2].clone()],
            ),
            [part(0, &original), forged_text, part(2, &original)].concat(),
        ),
    ];
    (original, attacks)
}

/// Opens `container` unchecked in a directory of its own: its plaintext, or the error.
fn open_unchecked(container: &[u8], token: &dyn TokenBackend) -> Result<Vec<u8>, SealingError> {
    let work = tempfile::tempdir().unwrap();
    let (input, output) = (work.path().join("sealed"), work.path().join("opened"));
    fs::write(&input, container).unwrap();
    let opened = open_file(&input, &output, token, UNCHECKED, &mut NoProgress);
    assert!(leftovers(work.path()).is_empty());
    opened.map(|_| fs::read(&output).unwrap())
}

#[test]
fn cut_reordered_spliced_and_forged_containers_are_refused_by_the_chain_digest() {
    let token = SoftwareToken::generate();
    let (original, attacks) = rearranged_deliveries(&token);
    for (name, container, _) in attacks {
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

/// Without the chain's digest, the segment bindings still refuse genuine segments out
/// of place; only a segment made from scratch for the public key gets through, which is
/// why opening needs the digest.
#[test]
fn segment_bindings_refuse_genuine_segments_out_of_place() {
    let token = SoftwareToken::generate();
    let (_, attacks) = rearranged_deliveries(&token);
    for (name, container, would_open_to) in attacks {
        match (name, open_unchecked(&container, &token)) {
            ("cut" | "reordered", Err(SealingError::Tampered(why))) => {
                assert!(why.contains("was sealed as segment"), "{name}: {why}")
            }
            ("spliced", Err(SealingError::Tampered(why))) => {
                assert_eq!(why, "segment 2 was sealed for another container")
            }
            ("forged", Ok(plaintext)) => assert_eq!(plaintext, would_open_to),
            (name, other) => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn a_version_2_segment_without_its_binding_is_refused() {
    let token = SoftwareToken::generate();
    let original = three_segments(&token);
    let (header, mut segments) = split_container(&original.bytes()).unwrap();
    segments[1] = age_file(&token.delivery_key().age_recipient(), &[0u8; 1000]);
    let container = assemble_container(header.version, header.segment_size, 3000, &segments);
    match open_unchecked(&container, &token) {
        Err(SealingError::Tampered(why)) => {
            assert_eq!(why, "segment 2 carries no valid segment binding")
        }
        other => panic!("{other:?}"),
    }
}

/// Containers of version 1 (segments without bindings) still open, against their digest.
#[test]
fn version_1_containers_still_open() {
    let token = SoftwareToken::generate();
    let payload = common::random_bytes(2500);
    let recipient = token.delivery_key().age_recipient();
    let segments: Vec<Vec<u8>> = payload
        .chunks(1000)
        .map(|part| age_file(&recipient, part))
        .collect();
    let container = assemble_container(1, 1000, 2500, &segments);
    let (header, _) = split_container(&container).unwrap();
    assert_eq!(header.version, 1);
    let work = tempfile::tempdir().unwrap();
    let (input, output) = (work.path().join("sealed"), work.path().join("opened"));
    fs::write(&input, &container).unwrap();
    let check = DigestCheck::Expect(header.digest());
    open_file(&input, &output, &token, check, &mut NoProgress).unwrap();
    assert_eq!(fs::read(&output).unwrap(), payload);
}
