//! The host half of HPKE base-mode opening (RFC 9180), for a KEM whose Diffie-Hellman
//! step runs elsewhere (on the token).
//!
//! Only what a recipient needs: DHKEM(P-256, HKDF-SHA256) `ExtractAndExpand` over a
//! given DH output, the base-mode key schedule, and the first (sequence 0) `Open`.
//! The suite is a parameter so the RFC's own test vectors (AES-128-GCM suites) check
//! the same code that age's ChaCha20-Poly1305 suite runs.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

/// KEM id of DHKEM(P-256, HKDF-SHA256).
pub const KEM_P256_HKDF_SHA256: u16 = 0x0010;
/// KDF id of HKDF-SHA256.
pub const KDF_HKDF_SHA256: u16 = 0x0001;
/// AEAD id of ChaCha20-Poly1305.
pub const AEAD_CHACHA20_POLY1305: u16 = 0x0003;

const NONCE_LEN: usize = 12;

/// An HPKE cipher suite with DHKEM(P-256, HKDF-SHA256) and HKDF-SHA256.
#[derive(Clone, Copy, Debug)]
pub struct Suite {
    pub aead_id: u16,
    /// `Nk`: the AEAD key length.
    pub key_len: usize,
}

/// The suite age's `p256tag` recipient uses.
pub const P256TAG_SUITE: Suite = Suite {
    aead_id: AEAD_CHACHA20_POLY1305,
    key_len: 32,
};

/// The output of the base-mode key schedule. Zeroized on drop.
pub struct KeySchedule {
    pub key: Zeroizing<Vec<u8>>,
    pub base_nonce: Zeroizing<[u8; NONCE_LEN]>,
}

fn labeled_extract(suite_id: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let labeled_ikm = Zeroizing::new([b"HPKE-v1".as_slice(), suite_id, label, ikm].concat());
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), &labeled_ikm);
    Zeroizing::new(prk.into())
}

fn labeled_expand(suite_id: &[u8], prk: &[u8; 32], label: &[u8], info: &[u8], out: &mut [u8]) {
    let Ok(length) = u16::try_from(out.len()) else {
        unreachable!("HPKE outputs are at most 32 bytes")
    };
    let labeled_info = [
        &length.to_be_bytes(),
        b"HPKE-v1".as_slice(),
        suite_id,
        label,
        info,
    ]
    .concat();
    let expanded = Hkdf::<Sha256>::from_prk(prk)
        .ok()
        .and_then(|hkdf| hkdf.expand(&labeled_info, out).ok());
    if expanded.is_none() {
        unreachable!("a 32-byte PRK expands to at most 32 bytes");
    }
}

/// DHKEM `ExtractAndExpand`: the KEM shared secret from the raw ECDH x-coordinate
/// `dh`, the encapsulated key `enc` and the recipient key `pk_rm` (both uncompressed).
pub fn dhkem_shared_secret(dh: &[u8; 32], enc: &[u8], pk_rm: &[u8]) -> Zeroizing<[u8; 32]> {
    let suite_id = [b"KEM".as_slice(), &KEM_P256_HKDF_SHA256.to_be_bytes()].concat();
    let kem_context = [enc, pk_rm].concat();
    let eae_prk = labeled_extract(&suite_id, b"", b"eae_prk", dh);
    let mut shared_secret = Zeroizing::new([0u8; 32]);
    labeled_expand(
        &suite_id,
        &eae_prk,
        b"shared_secret",
        &kem_context,
        shared_secret.as_mut(),
    );
    shared_secret
}

/// `KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "")`.
pub fn key_schedule_base(suite: Suite, shared_secret: &[u8; 32], info: &[u8]) -> KeySchedule {
    let suite_id = [
        b"HPKE".as_slice(),
        &KEM_P256_HKDF_SHA256.to_be_bytes(),
        &KDF_HKDF_SHA256.to_be_bytes(),
        &suite.aead_id.to_be_bytes(),
    ]
    .concat();
    let psk_id_hash = labeled_extract(&suite_id, b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(&suite_id, b"", b"info_hash", info);
    let context = [
        [0u8].as_slice(),
        psk_id_hash.as_slice(),
        info_hash.as_slice(),
    ]
    .concat();
    let secret = labeled_extract(&suite_id, shared_secret, b"secret", b"");

    let mut key = Zeroizing::new(vec![0u8; suite.key_len]);
    labeled_expand(&suite_id, &secret, b"key", &context, &mut key);
    let mut base_nonce = Zeroizing::new([0u8; NONCE_LEN]);
    labeled_expand(
        &suite_id,
        &secret,
        b"base_nonce",
        &context,
        base_nonce.as_mut(),
    );
    KeySchedule { key, base_nonce }
}

/// `ContextR.Open(aad, ct)` for sequence number 0 with ChaCha20-Poly1305.
/// `None` when the ciphertext does not authenticate.
pub fn open_first_chacha20poly1305(
    schedule: &KeySchedule,
    aad: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = ChaCha20Poly1305::new_from_slice(&schedule.key).ok()?;
    cipher
        .decrypt(
            Nonce::from_slice(&schedule.base_nonce[..]),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}
