//! The delivery key: a buyer's hardware-token public key.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;

/// Length of a SEC1 compressed P-256 point: a parity tag (`0x02`/`0x03`) and the x coordinate.
pub const COMPRESSED_P256_LEN: usize = 33;

/// The P-256 public key of a buyer's hardware token, SEC1 compressed.
///
/// Deliveries are sealed to this key (age `p256tag` recipient); the private half never leaves
/// the token. Only keys that decode to a point on the curve are ever stored.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub struct DeliveryKey(pub [u8; COMPRESSED_P256_LEN]);

impl DeliveryKey {
    /// Whether the bytes are a compressed SEC1 encoding of a point on P-256 (never the
    /// identity: its SEC1 encoding is a single byte, so it cannot have this length).
    pub fn is_valid_p256_point(&self) -> bool {
        let compressed_tag = matches!(self.0[0], 0x02 | 0x03);
        compressed_tag && p256::PublicKey::from_sec1_bytes(&self.0).is_ok()
    }
}

/// The P-256 generator G from SEC 2, compressed (its y is odd, so the tag is `0x03`).
/// An independent valid key for tests and benchmarks, here and in the pallets that use keys.
pub const P256_GENERATOR_COMPRESSED: [u8; COMPRESSED_P256_LEN] = [
    0x03, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4, 0x40,
    0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2,
    0x96,
];
