//! Opening: container → plaintext with the token. Every segment costs one on-token
//! ECDH; the token must be present before, during and after each segment, and any
//! failure removes the partial output.
//!
//! A second thread reads the sealed segments and hashes them while this one decrypts;
//! plaintext goes only to the pending output, which is kept only once every segment's
//! digest has matched.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::path::Path;

use age::DecryptError;
use age_core::format::Stanza;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::binding::{SegmentBinding, SEGMENT_BINDING_STANZA};
use crate::container::{ContainerHeader, SegmentEntry, AGE_CHUNK};
use crate::error::SealingError;
use crate::identity::{p256tag_args, token_failure_of, TokenIdentity, P256TAG_STANZA};
use crate::output::PendingOutput;
use crate::pipeline::{pipeline, Consumer, Disconnected, Piece, Producer, PIECE_SIZE};
use crate::progress::Progress;
use crate::token::TokenBackend;

/// Plaintext written between two full token presence checks inside a segment; before
/// each of the age chunks in between, the token's cheap check
/// ([`TokenBackend::ensure_present_cheaply`]) runs.
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
/// Also keeps the segment binding stanzas it saw.
struct Witness<'a, B: TokenBackend + ?Sized> {
    identity: TokenIdentity<'a, B>,
    declined: RefCell<Vec<Declined>>,
    bindings: RefCell<Vec<Option<SegmentBinding>>>,
}

impl<B: TokenBackend + ?Sized> age::Identity for Witness<'_, B> {
    fn unwrap_stanzas(
        &self,
        stanzas: &[Stanza],
    ) -> Option<Result<age_core::format::FileKey, DecryptError>> {
        self.bindings
            .borrow_mut()
            .extend(stanzas.iter().filter_map(SegmentBinding::from_stanza));
        stanzas.iter().find_map(|stanza| self.unwrap_stanza(stanza))
    }

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

/// What opening compares the container digest with. There is no default: segments are
/// age files anyone can make for the buyer's public key, so only the chain's digest
/// tells a delivery from a cut, reordered or spliced copy of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestCheck {
    /// The digest the order's receipt holds on chain: a container with another digest
    /// is refused before the token is used.
    Expect([u8; 32]),
    /// Open whatever the table describes. A cut, reordered or spliced container opens
    /// without complaint; only for files whose origin the caller vouches for.
    SkipAcceptingTampering,
}

/// Opens the container `input` into `output` with `token`, after comparing its
/// digest as `check` says.
pub fn open_file(
    input: &Path,
    output: &Path,
    token: &dyn TokenBackend,
    check: DigestCheck,
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
    if let DigestCheck::Expect(expected) = check {
        if expected != digest {
            return Err(SealingError::DigestMismatch {
                expected: format!("0x{}", hex::encode(expected)),
                actual: format!("0x{}", hex::encode(digest)),
            });
        }
    }

    let mut pending = PendingOutput::create(output)?;
    let count = header.segments.len() as u64;
    // One age chunk at a time: the token is checked before each is written.
    let mut plaintext_buffer = Zeroizing::new(vec![0u8; AGE_CHUNK as usize]);
    progress.start(header.plaintext_len, count);
    let (producer, consumer) = pipeline::<[u8; 32]>();
    // The container id the first segment's binding names; every other must match it.
    let container = Cell::new(None);
    let result = std::thread::scope(|scope| {
        let segments = &header.segments;
        let reader = scope.spawn(move || read_and_hash(sealed, input, segments, producer));
        let mut opened = Ok(());
        for (index, entry) in (0..count).zip(&header.segments) {
            let segment = SegmentOpening {
                index,
                count,
                version: header.version,
                container: &container,
                entry,
                expected_len: header.plaintext_len_of(index),
                token,
            };
            opened = segment
                .open_into(&consumer, &mut plaintext_buffer, &mut pending, progress)
                .map_err(|error| in_segment(error, index, count));
            if opened.is_err() {
                break;
            }
            progress.segment_done(index);
        }
        // Lets a reader that is ahead of a failed opening stop.
        drop(consumer);
        let read = reader.join().unwrap_or_else(|_| {
            Err(SealingError::io(
                input,
                io::Error::other("the reading thread failed"),
            ))
        });
        match (opened, read) {
            // The token's state decides at once; a failed read explains any other
            // failure (a file cut short also fails decryption).
            (Err(token @ (SealingError::TokenRemoved { .. } | SealingError::Token { .. })), _) => {
                Err(token)
            }
            (_, Err(read)) => Err(read),
            (opened, Ok(())) => opened,
        }
    });
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

/// The reading thread: sends every sealed segment in pieces, each segment followed
/// by its SHA-256. Stops quietly when the opener stops listening.
fn read_and_hash(
    mut sealed: File,
    input: &Path,
    segments: &[SegmentEntry],
    producer: Producer<[u8; 32]>,
) -> Result<(), SealingError> {
    for (number, entry) in (1u64..).zip(segments) {
        let mut hasher = Sha256::new();
        let mut remaining = entry.sealed_len;
        while remaining > 0 {
            let mut buffer = producer.buffer();
            let take = usize::try_from(remaining).map_or(PIECE_SIZE, |r| r.min(PIECE_SIZE));
            buffer.resize(take, 0);
            sealed.read_exact(&mut buffer).map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => {
                    SealingError::Truncated(format!("segment {number} is cut short"))
                }
                _ => SealingError::io(input, e),
            })?;
            hasher.update(&buffer);
            remaining -= take as u64;
            if producer.send(Piece::Bytes(buffer)).is_err() {
                return Ok(());
            }
        }
        if producer
            .send(Piece::SegmentEnd(hasher.finalize().into()))
            .is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}

/// One segment to open: where it is in the container and what it must hold.
struct SegmentOpening<'a> {
    index: u64,
    count: u64,
    version: u16,
    container: &'a Cell<Option<[u8; 16]>>,
    entry: &'a SegmentEntry,
    expected_len: u64,
    token: &'a dyn TokenBackend,
}

impl SegmentOpening<'_> {
    /// Decrypts the segment arriving through `pieces` into `pending`, checking the
    /// token before, before each chunk is written (fully every
    /// [`PRESENCE_CHECK_INTERVAL`] bytes), and after. Its
    /// plaintext goes only to the pending file, which is deleted unless every
    /// segment's digest matches.
    fn open_into(
        &self,
        pieces: &Consumer<[u8; 32]>,
        buffer: &mut [u8],
        pending: &mut PendingOutput,
        progress: &mut dyn Progress,
    ) -> Result<(), SealingError> {
        self.token.ensure_present()?;
        let mut sealed = SegmentInput::new(pieces);
        let written = self.write_plaintext(&mut sealed, buffer, pending, progress);
        if let Err(SealingError::TokenRemoved { .. } | SealingError::Token { .. }) = written {
            return written;
        }
        // A digest mismatch is the better explanation of any other failure.
        match sealed.digest() {
            Some(digest) if digest == self.entry.digest => {}
            Some(_) => {
                return Err(SealingError::Tampered(format!(
                    "segment {} does not match its digest",
                    self.index + 1
                )))
            }
            // The reading thread stopped; its own error says why.
            None => return written.and(Err(self.read_stopped())),
        }
        written?;
        self.token.ensure_present()
    }

    /// Decrypts the segment; it must hold exactly `expected_len` bytes.
    fn write_plaintext(
        &self,
        sealed: &mut SegmentInput<'_>,
        buffer: &mut [u8],
        pending: &mut PendingOutput,
        progress: &mut dyn Progress,
    ) -> Result<(), SealingError> {
        let number = self.index + 1;
        let (mut plaintext, binding) = decrypt_segment(sealed, self.token, self.index)?;
        self.check_binding(binding)?;
        let mut written: u64 = 0;
        let mut since_check: u64 = 0;
        // One write per 64 KiB age chunk (`buffer` holds one): batching them into
        // 1 MiB writes was far slower on ext4 (BENCHMARKS.md).
        loop {
            let read = plaintext
                .read(buffer)
                .map_err(|e| stream_error(e, self.index))?;
            if read == 0 {
                break;
            }
            written = written.saturating_add(read as u64);
            if written > self.expected_len {
                return Err(SealingError::Tampered(format!(
                    "segment {number} holds more than declared"
                )));
            }
            since_check = since_check.saturating_add(read as u64);
            if since_check >= PRESENCE_CHECK_INTERVAL {
                self.token.ensure_present()?;
                since_check = 0;
            } else {
                self.token.ensure_present_cheaply()?;
            }
            pending.write_all(&buffer[..read])?;
            progress.advance(read as u64);
        }
        if written != self.expected_len {
            return Err(SealingError::Truncated(format!(
                "segment {number} holds {written} of {} bytes",
                self.expected_len
            )));
        }
        Ok(())
    }

    /// From version 2 on, the segment's authenticated binding must name this place in
    /// this container (the one the first segment names).
    fn check_binding(&self, binding: Option<SegmentBinding>) -> Result<(), SealingError> {
        if self.version < 2 {
            return Ok(());
        }
        let number = self.index + 1;
        let Some(binding) = binding else {
            return Err(SealingError::Tampered(format!(
                "segment {number} carries no valid segment binding"
            )));
        };
        let container = self.container.get().unwrap_or(binding.container);
        if binding.container != container {
            return Err(SealingError::Tampered(format!(
                "segment {number} was sealed for another container"
            )));
        }
        if (binding.index, binding.count) != (self.index, self.count) {
            return Err(SealingError::Tampered(format!(
                "segment {number} of {} was sealed as segment {} of {}",
                self.count,
                binding.index.saturating_add(1),
                binding.count
            )));
        }
        self.container.set(Some(container));
        Ok(())
    }

    fn read_stopped(&self) -> SealingError {
        SealingError::Truncated(format!("segment {} could not be read", self.index + 1))
    }
}

/// One sealed segment as age reads it: the pieces the reading thread sends, up to
/// the segment's end, where the reading thread's digest of it arrives.
struct SegmentInput<'a> {
    pieces: &'a Consumer<[u8; 32]>,
    current: Vec<u8>,
    position: usize,
    end: SegmentEnd,
}

enum SegmentEnd {
    NotYet,
    Reached([u8; 32]),
    ReaderStopped,
}

impl<'a> SegmentInput<'a> {
    fn new(pieces: &'a Consumer<[u8; 32]>) -> Self {
        SegmentInput {
            pieces,
            current: Vec::new(),
            position: 0,
            end: SegmentEnd::NotYet,
        }
    }

    /// The SHA-256 of the whole segment, reading past whatever age left unread;
    /// `None` if the reading thread stopped first.
    fn digest(&mut self) -> Option<[u8; 32]> {
        while matches!(self.end, SegmentEnd::NotYet) {
            self.position = self.current.len();
            // Only end-of-input is left to report, and `end` records it.
            let _ = self.fill_buf();
        }
        match self.end {
            SegmentEnd::Reached(digest) => Some(digest),
            SegmentEnd::NotYet | SegmentEnd::ReaderStopped => None,
        }
    }
}

impl Drop for SegmentInput<'_> {
    fn drop(&mut self) {
        self.pieces.give_back(std::mem::take(&mut self.current));
    }
}

impl BufRead for SegmentInput<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.position == self.current.len() && matches!(self.end, SegmentEnd::NotYet) {
            match self.pieces.receive() {
                Ok(Piece::Bytes(bytes)) => {
                    let spent = std::mem::replace(&mut self.current, bytes);
                    self.pieces.give_back(spent);
                    self.position = 0;
                }
                Ok(Piece::SegmentEnd(digest)) => self.end = SegmentEnd::Reached(digest),
                Err(Disconnected) => self.end = SegmentEnd::ReaderStopped,
            }
        }
        match self.end {
            SegmentEnd::ReaderStopped if self.position == self.current.len() => Err(
                io::Error::new(io::ErrorKind::UnexpectedEof, "the sealed file stopped"),
            ),
            _ => Ok(&self.current[self.position..]),
        }
    }

    fn consume(&mut self, amount: usize) {
        self.position = self.position.saturating_add(amount).min(self.current.len());
    }
}

impl Read for SegmentInput<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(out.len());
        out[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

/// Opens the segment's age header; returns the payload reader and the segment binding
/// the (now authenticated) header carries, if exactly one.
fn decrypt_segment<R: BufRead>(
    segment: R,
    token: &dyn TokenBackend,
    index: u64,
) -> Result<(age::stream::StreamReader<R>, Option<SegmentBinding>), SealingError> {
    let number = index + 1;
    let decryptor = age::Decryptor::new_buffered(segment).map_err(|e| header_error(e, number))?;
    let witness = Witness {
        identity: TokenIdentity::new(token),
        declined: RefCell::new(Vec::new()),
        bindings: RefCell::new(Vec::new()),
    };
    match decryptor.decrypt(std::iter::once(&witness as &dyn age::Identity)) {
        Ok(reader) => {
            let binding = match witness.bindings.borrow().as_slice() {
                [one] => *one,
                _ => None,
            };
            Ok((reader, binding))
        }
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
                // age adds random "-grease" stanzas to keep parsers honest; a
                // binding stanza is no recipient.
                .filter(|kind| !kind.ends_with("-grease") && *kind != SEGMENT_BINDING_STANZA)
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
