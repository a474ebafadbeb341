//! The buyer's delivery public key: a P-256 point whose private half lives on the token.
//!
//! On chain it is the 33-byte SEC1 compressed point (written `0x…`); to age it is an
//! `age1tag1…` recipient (Bech32 of the same 33 bytes).

use std::fmt;
use std::str::FromStr;

use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::PublicKey;
use sha2::{Digest, Sha256};

use crate::error::SealingError;

/// Length of the compressed SEC1 encoding the chain stores.
pub const COMPRESSED_LEN: usize = 33;
/// Length of the uncompressed SEC1 encoding HPKE uses (`pkRm`, `enc`).
pub const UNCOMPRESSED_LEN: usize = 65;

/// A P-256 public key that is known to be on the curve.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DeliveryKey(PublicKey);

impl DeliveryKey {
    /// Accepts any SEC1 encoding (compressed or not) of a point on P-256.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, SealingError> {
        PublicKey::from_sec1_bytes(bytes)
            .map(DeliveryKey)
            .map_err(|_| SealingError::InvalidPublicKey("not a point on P-256".into()))
    }

    pub fn compressed(&self) -> [u8; COMPRESSED_LEN] {
        let mut out = [0u8; COMPRESSED_LEN];
        out.copy_from_slice(self.0.to_encoded_point(true).as_bytes());
        out
    }

    pub fn uncompressed(&self) -> [u8; UNCOMPRESSED_LEN] {
        let mut out = [0u8; UNCOMPRESSED_LEN];
        out.copy_from_slice(self.0.to_encoded_point(false).as_bytes());
        out
    }

    /// The form the chain's delivery-key registry takes: `0x` and 66 hex digits.
    pub fn to_chain_hex(&self) -> String {
        format!("0x{}", hex::encode(self.compressed()))
    }

    /// The age `p256tag` recipient for this key.
    pub fn age_recipient(&self) -> age::tag::Recipient {
        // The age crate builds its recipient only from the Bech32 string.
        let encoded = age_recipient_string(&self.compressed());
        match encoded.parse() {
            Ok(recipient) => recipient,
            // A point that passed `PublicKey` validation always parses; keep the
            // invariant visible instead of panicking.
            Err(reason) => unreachable!("valid P-256 point rejected by age: {reason}"),
        }
    }

    /// `SHA-256(compressed)[..4]`: the static half of a p256tag stanza tag.
    pub fn static_tag(&self) -> [u8; 4] {
        let digest = Sha256::digest(self.compressed());
        [digest[0], digest[1], digest[2], digest[3]]
    }
}

const AGE_TAG_HRP: bech32::Hrp = bech32::Hrp::parse_unchecked("age1tag");

fn age_recipient_string(compressed: &[u8]) -> String {
    // 33 bytes fit the BIP-173 length limit, so plain Bech32 matches age's encoding.
    bech32::encode_lower::<bech32::Bech32>(AGE_TAG_HRP, compressed)
        .unwrap_or_else(|e| unreachable!("33 bytes always encode: {e}"))
}

impl FromStr for DeliveryKey {
    type Err = SealingError;

    /// Parses `0x` + 66 hex digits (chain form) or an `age1tag1…` recipient.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Some(digits) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            let bytes = hex::decode(digits)
                .map_err(|e| SealingError::InvalidPublicKey(format!("bad hex: {e}")))?;
            if bytes.len() != COMPRESSED_LEN || !matches!(bytes[0], 0x02 | 0x03) {
                return Err(SealingError::InvalidPublicKey(format!(
                    "{} bytes, not a {COMPRESSED_LEN}-byte compressed point",
                    bytes.len()
                )));
            }
            return Self::from_sec1(&bytes);
        }
        if text.starts_with("age1tag1") {
            let (hrp, bytes) = bech32::decode(text)
                .map_err(|e| SealingError::InvalidPublicKey(format!("bad Bech32: {e}")))?;
            if hrp != AGE_TAG_HRP || bytes.len() != COMPRESSED_LEN {
                return Err(SealingError::InvalidPublicKey(
                    "not an age1tag recipient".into(),
                ));
            }
            return Self::from_sec1(&bytes);
        }
        Err(SealingError::InvalidPublicKey(format!("'{text}'")))
    }
}

impl fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_chain_hex())
    }
}

impl fmt::Debug for DeliveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeliveryKey({})", self.to_chain_hex())
    }
}
