//! The age identity backed by the token: unwraps `p256tag` stanzas with exactly one
//! on-token ECDH each; HPKE's key schedule and the AEAD run on the host.

use age::DecryptError;
use age_core::format::{FileKey, Stanza, FILE_KEY_BYTES};
use base64::prelude::{Engine, BASE64_STANDARD_NO_PAD};
use hkdf::Hkdf;
use p256::PublicKey;
use sha2::Sha256;

use crate::delivery_key::UNCOMPRESSED_LEN;
use crate::error::SealingError;
use crate::hpke::{
    dhkem_shared_secret, key_schedule_base, open_first_chacha20poly1305, P256TAG_SUITE,
};
use crate::token::TokenBackend;

/// The stanza type of age's tagged P-256 recipient.
pub const P256TAG_STANZA: &str = "p256tag";
/// HPKE `info` and stanza-tag HKDF salt of the p256tag recipient.
pub const P256TAG_LABEL: &str = "age-encryption.org/p256tag";

const TAG_LEN: usize = 4;
/// The wrapped file key: 16 bytes plus the 16-byte Poly1305 tag.
const WRAPPED_KEY_LEN: usize = FILE_KEY_BYTES + 16;

/// `HKDF-Extract(salt = label, ikm = enc || static_tag)[..4]`: lets the opener pick
/// its stanza without asking the token.
pub fn stanza_tag(enc: &[u8], static_tag: &[u8; 4]) -> [u8; TAG_LEN] {
    let ikm = [enc, static_tag.as_slice()].concat();
    let (prk, _) = Hkdf::<Sha256>::extract(Some(P256TAG_LABEL.as_bytes()), &ikm);
    [prk[0], prk[1], prk[2], prk[3]]
}

/// A [`TokenBackend`] as an [`age::Identity`].
pub struct TokenIdentity<'a, B: TokenBackend + ?Sized> {
    token: &'a B,
}

impl<'a, B: TokenBackend + ?Sized> TokenIdentity<'a, B> {
    pub fn new(token: &'a B) -> Self {
        TokenIdentity { token }
    }

    fn unwrap_ours(&self, enc: &[u8], body: &[u8]) -> Result<FileKey, DecryptError> {
        if body.len() != WRAPPED_KEY_LEN || enc.len() != UNCOMPRESSED_LEN {
            return Err(DecryptError::InvalidHeader);
        }
        // HPKE DeserializePublicKey: reject points off the curve before the token sees them.
        if PublicKey::from_sec1_bytes(enc).is_err() {
            return Err(DecryptError::InvalidHeader);
        }
        let dh = self.token.ecdh(enc).map_err(token_failure)?;
        let pk_rm = self.token.delivery_key().uncompressed();
        let shared_secret = dhkem_shared_secret(&dh, enc, &pk_rm);
        let schedule = key_schedule_base(P256TAG_SUITE, &shared_secret, P256TAG_LABEL.as_bytes());
        let plaintext = open_first_chacha20poly1305(&schedule, b"", body)
            .ok_or(DecryptError::DecryptionFailed)?;
        FileKey::try_init_with_mut(|file_key| {
            if plaintext.len() == FILE_KEY_BYTES {
                file_key.copy_from_slice(&plaintext);
                Ok(())
            } else {
                Err(DecryptError::DecryptionFailed)
            }
        })
    }
}

/// Carries a token failure through age's error type; [`token_failure_of`] gets it back.
fn token_failure(error: SealingError) -> DecryptError {
    DecryptError::Io(std::io::Error::other(error))
}

/// The token failure inside an age error, if that is what it carries.
pub(crate) fn token_failure_of(error: DecryptError) -> Result<SealingError, DecryptError> {
    match error {
        DecryptError::Io(io) if io.get_ref().is_some_and(|e| e.is::<SealingError>()) => {
            match io
                .into_inner()
                .map(|inner| inner.downcast::<SealingError>())
            {
                Some(Ok(sealing)) => Ok(*sealing),
                _ => Err(DecryptError::DecryptionFailed),
            }
        }
        other => Err(other),
    }
}

/// The arguments of a p256tag stanza: its 4-byte tag and the encapsulated key.
pub(crate) fn p256tag_args(stanza: &Stanza) -> Option<([u8; TAG_LEN], Vec<u8>)> {
    let [tag, enc] = stanza.args.as_slice() else {
        return None;
    };
    let tag: [u8; TAG_LEN] = BASE64_STANDARD_NO_PAD.decode(tag).ok()?.try_into().ok()?;
    let enc = BASE64_STANDARD_NO_PAD.decode(enc).ok()?;
    Some((tag, enc))
}

impl<B: TokenBackend + ?Sized> age::Identity for TokenIdentity<'_, B> {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, DecryptError>> {
        if stanza.tag != P256TAG_STANZA {
            return None;
        }
        let Some((tag, enc)) = p256tag_args(stanza) else {
            return Some(Err(DecryptError::InvalidHeader));
        };
        if stanza_tag(&enc, &self.token.delivery_key().static_tag()) != tag {
            return None;
        }
        Some(self.unwrap_ours(&enc, &stanza.body))
    }
}
