//! Opening: container → plaintext with the token. Every segment costs one on-token
//! ECDH; the token must be present before, during and after each segment, and any
//! failure removes the partial output.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use age::DecryptError;
use age_core::format::Stanza;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::container::{ContainerHeader, SegmentEntry};
use crate::error::SealingError;
use crate::identity::{p256tag_args, token_failure_of, TokenIdentity, P256TAG_STANZA};
use crate::output::PendingOutput;
use crate::progress::Progress;
use crate::seal::COPY_BUFFER;
use crate::token::TokenBackend;

/// Plaintext written between two token presence checks inside a segment.
pub const PRESENCE_CHECK_INTERVAL: u64 = 4 << 20;

/// What was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenReceipt {
    /// The container digest (compare it with the one on chain).
    pub digest: [u8; 32],
    pub plaintext_len: u64,
    pub segment_count: u64,
}

/// A stanza the token identity declined: its type, and the key tag if it is p256tag.
struct Declined {
    kind: String,
    p256tag: Option<[u8; 4]>,
}

/// Remembers which stanzas an identity declined, to tell "another token's key" from
/// "not a token recipient at all".
struct Witness<'a, B: TokenBackend + ?Sized> {
    identity: TokenIdentity<'a, B>,
    declined: RefCell<Vec<Declined>>,
}

impl<B: TokenBackend + ?Sized> age::Identity for Witness<'_, B> {
    fn unwrap_stanza(
        &self,
        stanza: &Stanza,
    ) -> Option<Result<age_core::format::FileKey, DecryptError>> {
        let result = self.identity.unwrap_stanza(stanza);
        if result.is_none() {
            let p256tag = (stanza.tag == P256TAG_STANZA)
                .then(|| p256tag_args(stanza))
                .flatten();
            self.declined.borrow_mut().push(Declined {
                kind: stanza.tag.clone(),
                p256tag: p256tag.map(|(tag, _)| tag),
            });
        }
        result
    }
}

/// Opens the container `input` into `output` with `token`. When `expected_digest`
/// is given (the digest on chain), a container with another digest is refused before
/// the token is used.
pub fn open_file(
    input: &Path,
    output: &Path,
    token: &dyn TokenBackend,
    expected_digest: Option<[u8; 32]>,
    progress: &mut dyn Progress,
) -> Result<OpenReceipt, SealingError> {
    token.ensure_present()?;
    let mut sealed = File::open(input).map_err(|e| SealingError::io(input, e))?;
    let file_len = sealed
        .metadata()
        .map_err(|e| SealingError::io(input, e))?
        .len();
    let header = ContainerHeader::read(&mut sealed, file_len)?;
    let digest = header.digest();
    if let Some(expected) = expected_digest {
        if expected != digest {
            return Err(SealingError::DigestMismatch {
                expected: format!("0x{}", hex::encode(expected)),
                actual: format!("0x{}", hex::encode(digest)),
            });
        }
    }

    let mut pending = PendingOutput::create(output)?;
    let count = header.segments.len() as u64;
    let mut reader = SegmentReader {
        sealed,
        segment: Vec::new(),
        buffer: Zeroizing::new(vec![0u8; COPY_BUFFER]),
    };
    progress.start(header.plaintext_len, count);
    let mut result = Ok(());
    for (index, entry) in (0..count).zip(&header.segments) {
        let expected = header.plaintext_len_of(index);
        result = reader
            .open_into(index, entry, expected, token, &mut pending, progress)
            .map_err(|error| in_segment(error, index, count));
        if result.is_err() {
            break;
        }
        progress.segment_done(index);
    }
    progress.finish();
    // On failure `pending` is dropped here, which deletes the partial plaintext.
    result?;
    pending.commit()?;
    Ok(OpenReceipt {
        digest,
        plaintext_len: header.plaintext_len,
        segment_count: count,
    })
}

/// Says which segment a token removal interrupted.
fn in_segment(error: SealingError, index: u64, count: u64) -> SealingError {
    match error {
        SealingError::TokenRemoved { during } => SealingError::TokenRemoved {
            during: format!("segment {} of {count} ({during})", index + 1),
        },
        other => other,
    }
}

/// Reads sealed segments in order and writes their plaintext.
struct SegmentReader {
    sealed: File,
    segment: Vec<u8>,
    buffer: Zeroizing<Vec<u8>>,
}

impl SegmentReader {
    /// Opens segment `index` (`expected` plaintext bytes) into `pending`, checking the
    /// token before, every [`PRESENCE_CHECK_INTERVAL`] bytes, and after.
    fn open_into(
        &mut self,
        index: u64,
        entry: &SegmentEntry,
        expected: u64,
        token: &dyn TokenBackend,
        pending: &mut PendingOutput,
        progress: &mut dyn Progress,
    ) -> Result<(), SealingError> {
        token.ensure_present()?;
        read_segment(&mut self.sealed, entry.sealed_len, &mut self.segment, index)?;
        let (segment, buffer) = (&self.segment, &mut self.buffer);
        // The digest is computed beside decryption (a second core): the plaintext goes
        // only to the pending file, which is deleted unless every digest matches.
        let (digest, written) = std::thread::scope(|scope| {
            let hasher = scope.spawn(|| <[u8; 32]>::from(Sha256::digest(segment)));
            let written =
                write_plaintext(segment, index, expected, buffer, token, pending, progress);
            (hasher.join(), written)
        });
        if digest.ok() != Some(entry.digest) {
            return Err(SealingError::Tampered(format!(
                "segment {} does not match its digest",
                index + 1
            )));
        }
        written?;
        token.ensure_present()
    }
}

/// Decrypts one sealed segment into `pending`; it must hold exactly `expected` bytes.
fn write_plaintext(
    segment: &[u8],
    index: u64,
    expected: u64,
    buffer: &mut [u8],
    token: &dyn TokenBackend,
    pending: &mut PendingOutput,
    progress: &mut dyn Progress,
) -> Result<(), SealingError> {
    let number = index + 1;
    let mut plaintext = decrypt_segment(segment, token, index)?;
    let mut written: u64 = 0;
    let mut since_check: u64 = 0;
    loop {
        let read = plaintext.read(buffer).map_err(|e| stream_error(e, index))?;
        if read == 0 {
            break;
        }
        written = written.saturating_add(read as u64);
        if written > expected {
            return Err(SealingError::Tampered(format!(
                "segment {number} holds more than declared"
            )));
        }
        since_check = since_check.saturating_add(read as u64);
        if since_check >= PRESENCE_CHECK_INTERVAL {
            token.ensure_present()?;
            since_check = 0;
        }
        pending.write_all(&buffer[..read])?;
        progress.advance(read as u64);
    }
    if written != expected {
        return Err(SealingError::Truncated(format!(
            "segment {number} holds {written} of {expected} bytes"
        )));
    }
    Ok(())
}

fn read_segment(
    sealed: &mut File,
    len: u64,
    segment: &mut Vec<u8>,
    index: u64,
) -> Result<(), SealingError> {
    segment.clear();
    let read = Read::take(&mut *sealed, len)
        .read_to_end(segment)
        .map_err(|e| SealingError::Io {
            path: format!("segment {}", index + 1).into(),
            source: e,
        })?;
    if (read as u64) < len {
        return Err(SealingError::Truncated(format!(
            "segment {} is cut short",
            index + 1
        )));
    }
    Ok(())
}

fn decrypt_segment<'s>(
    segment: &'s [u8],
    token: &dyn TokenBackend,
    index: u64,
) -> Result<age::stream::StreamReader<&'s [u8]>, SealingError> {
    let number = index + 1;
    let decryptor = age::Decryptor::new_buffered(segment).map_err(|e| header_error(e, number))?;
    let witness = Witness {
        identity: TokenIdentity::new(token),
        declined: RefCell::new(Vec::new()),
    };
    match decryptor.decrypt(std::iter::once(&witness as &dyn age::Identity)) {
        Ok(reader) => Ok(reader),
        Err(DecryptError::NoMatchingKeys) => {
            Err(not_ours(&witness.declined.borrow(), token, number))
        }
        Err(e) => Err(token_failure_of(e).unwrap_or_else(|e| header_error(e, number))),
    }
}

/// Why no stanza was ours: another token's p256tag key, or no token recipient at all.
fn not_ours(declined: &[Declined], token: &dyn TokenBackend, segment: u64) -> SealingError {
    match declined.iter().find_map(|d| d.p256tag) {
        Some(file_tag) => SealingError::WrongToken {
            file_tag: hex::encode(file_tag),
            token_key: token.delivery_key().to_chain_hex(),
        },
        None => SealingError::NotOurRecipient {
            segment,
            found: declined
                .iter()
                .map(|d| d.kind.as_str())
                // age adds random "-grease" stanzas to keep parsers honest.
                .filter(|kind| !kind.ends_with("-grease"))
                .collect::<Vec<_>>()
                .join(", "),
        },
    }
}

fn header_error(error: DecryptError, segment: u64) -> SealingError {
    match error {
        DecryptError::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            SealingError::Truncated(format!("segment {segment} ends inside its age header"))
        }
        other => SealingError::Tampered(format!("segment {segment}: {other}")),
    }
}

fn stream_error(error: io::Error, index: u64) -> SealingError {
    let segment = index + 1;
    match error.kind() {
        io::ErrorKind::UnexpectedEof => {
            SealingError::Truncated(format!("segment {segment} ends early"))
        }
        _ => SealingError::Tampered(format!("segment {segment}: {error}")),
    }
}
