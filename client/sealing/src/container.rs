//! The segmented container's header (see `CONTAINER.md`): magic, version, segment
//! size and count, plaintext length, and one (length, SHA-256) entry per sealed
//! segment. Its SHA-256 is the container digest that goes on chain.

use std::io::Read;

use sha2::{Digest, Sha256};

use crate::error::SealingError;

pub const MAGIC: [u8; 8] = *b"MLSEALED";
/// The version sealing writes: 2, whose segments carry a binding stanza
/// ([`crate::binding`]). Version 1 (no binding) is still read.
pub const VERSION: u16 = 2;
/// The versions a reader accepts.
pub const READABLE_VERSIONS: [u16; 2] = [1, 2];
/// Largest segment a reader accepts: a whole sealed segment is held in memory.
pub const MAX_SEGMENT_SIZE: u64 = 1 << 30;
/// Default plaintext bytes per segment.
pub const DEFAULT_SEGMENT_SIZE: u64 = 32 << 20;

/// Fixed part: magic, version, reserved, segment size, segment count, plaintext length.
const FIXED_LEN: u64 = 8 + 2 + 2 + 8 + 8 + 8;
const ENTRY_LEN: u64 = 8 + 32;
/// age's STREAM chunk size and the 16-byte tag each chunk carries.
pub(crate) const AGE_CHUNK: u64 = 64 * 1024;
const AGE_TAG: u64 = 16;
/// Room for an age header with one p256tag stanza, its MAC and payload nonce.
const AGE_HEADER_ALLOWANCE: u64 = 4096;

/// One sealed segment in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentEntry {
    pub sealed_len: u64,
    pub digest: [u8; 32],
}

/// The container header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerHeader {
    pub version: u16,
    pub segment_size: u64,
    pub plaintext_len: u64,
    pub segments: Vec<SegmentEntry>,
}

/// How many segments a plaintext of `plaintext_len` bytes takes; an empty payload
/// still gets one (empty) segment so that opening it proves the token.
pub fn segment_count(plaintext_len: u64, segment_size: u64) -> u64 {
    plaintext_len.div_ceil(segment_size).max(1)
}

/// The largest age file a plaintext segment of `plaintext` bytes seals to.
fn max_sealed_len(plaintext: u64) -> u64 {
    let chunks = plaintext / AGE_CHUNK + 1;
    plaintext
        .saturating_add(chunks.saturating_mul(AGE_TAG))
        .saturating_add(AGE_HEADER_ALLOWANCE)
}

impl ContainerHeader {
    /// Bytes the header takes for `count` segments.
    pub fn encoded_len(count: u64) -> u64 {
        FIXED_LEN.saturating_add(count.saturating_mul(ENTRY_LEN))
    }

    pub fn encode(&self) -> Vec<u8> {
        let count = self.segments.len() as u64;
        let mut out = Vec::with_capacity(usize::try_from(Self::encoded_len(count)).unwrap_or(0));
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
        out.extend_from_slice(&self.segment_size.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&self.plaintext_len.to_be_bytes());
        for entry in &self.segments {
            out.extend_from_slice(&entry.sealed_len.to_be_bytes());
            out.extend_from_slice(&entry.digest);
        }
        out
    }

    /// The container digest: SHA-256 of the encoded header, which commits to every
    /// sealed segment through the table.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.encode()).into()
    }

    /// Plaintext bytes segment `index` holds.
    pub fn plaintext_len_of(&self, index: u64) -> u64 {
        let start = index.saturating_mul(self.segment_size);
        self.plaintext_len
            .saturating_sub(start)
            .min(self.segment_size)
    }

    /// Total length of the container file this header describes.
    pub fn container_len(&self) -> u64 {
        let sealed: u64 = self
            .segments
            .iter()
            .fold(0, |sum, s| sum.saturating_add(s.sealed_len));
        Self::encoded_len(self.segments.len() as u64).saturating_add(sealed)
    }

    /// Reads and validates a header from a container of `file_len` bytes.
    pub fn read(reader: &mut impl Read, file_len: u64) -> Result<Self, SealingError> {
        let truncated = || SealingError::Truncated("the container header is incomplete".into());
        let mut fixed = Vec::with_capacity(FIXED_LEN as usize);
        Read::take(&mut *reader, FIXED_LEN)
            .read_to_end(&mut fixed)
            .map_err(|_| truncated())?;
        if fixed.len() < MAGIC.len() || fixed[..MAGIC.len()] != MAGIC {
            return Err(SealingError::NotAContainer);
        }
        if fixed.len() < FIXED_LEN as usize {
            return Err(truncated());
        }
        let field = |at: usize| -> u64 {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&fixed[at..at + 8]);
            u64::from_be_bytes(bytes)
        };
        let version = u16::from_be_bytes([fixed[8], fixed[9]]);
        if !READABLE_VERSIONS.contains(&version) {
            return Err(SealingError::UnsupportedVersion(version));
        }
        let invalid = |reason: String| Err(SealingError::InvalidContainer(reason));
        if fixed[10..12] != [0, 0] {
            return invalid("reserved header bits are set".into());
        }
        let (segment_size, count, plaintext_len) = (field(12), field(20), field(28));
        if segment_size == 0 || segment_size > MAX_SEGMENT_SIZE {
            return invalid(format!(
                "segment size {segment_size} outside 1..={MAX_SEGMENT_SIZE}"
            ));
        }
        if count != segment_count(plaintext_len, segment_size) {
            return invalid(format!(
                "{count} segments cannot hold {plaintext_len} bytes in segments of {segment_size}"
            ));
        }
        if Self::encoded_len(count) > file_len {
            return Err(truncated());
        }
        let mut segments = Vec::new();
        let mut entry = [0u8; ENTRY_LEN as usize];
        for index in 0..count {
            reader.read_exact(&mut entry).map_err(|_| truncated())?;
            let mut len = [0u8; 8];
            len.copy_from_slice(&entry[..8]);
            let mut digest = [0u8; 32];
            digest.copy_from_slice(&entry[8..]);
            segments.push(SegmentEntry {
                sealed_len: u64::from_be_bytes(len),
                digest,
            });
            let header = ContainerHeader {
                version,
                segment_size,
                plaintext_len,
                segments: Vec::new(),
            };
            if u64::from_be_bytes(len) > max_sealed_len(header.plaintext_len_of(index)) {
                return invalid(format!(
                    "segment {} declares an impossible sealed length",
                    index + 1
                ));
            }
        }
        let header = ContainerHeader {
            version,
            segment_size,
            plaintext_len,
            segments,
        };
        let expected = header.container_len();
        if file_len < expected {
            return Err(SealingError::Truncated(format!(
                "{file_len} bytes, the header declares {expected}"
            )));
        }
        if file_len > expected {
            return invalid(format!("{} bytes of trailing data", file_len - expected));
        }
        Ok(header)
    }
}
