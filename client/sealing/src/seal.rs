//! Sealing: plaintext → segmented container, each segment an age file with one
//! `p256tag` stanza for the buyer's delivery key (age's own recipient does the HPKE)
//! and the stanza binding it to its place in the container ([`crate::binding`]).
//! A second thread hashes and writes the sealed bytes while this one encrypts.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::binding::{BoundRecipient, SegmentBinding};
use crate::container::{segment_count, ContainerHeader, SegmentEntry, MAX_SEGMENT_SIZE, VERSION};
use crate::delivery_key::DeliveryKey;
use crate::error::SealingError;
use crate::output::PendingOutput;
use crate::pipeline::{pipeline, Consumer, Disconnected, Piece, Producer, PIECE_SIZE};
use crate::progress::Progress;

/// Plaintext is moved in pieces of this size (a multiple of age's 64 KiB chunk).
pub(crate) const COPY_BUFFER: usize = 1 << 20;

/// What the chain records about a sealed delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealReceipt {
    /// SHA-256 of the container header: the digest that goes on chain.
    pub digest: [u8; 32],
    /// Size of the container file in bytes.
    pub sealed_len: u64,
    pub plaintext_len: u64,
    pub segment_count: u64,
}

/// Collects what age writes for one segment into pipeline buffers for the writing
/// thread.
struct SegmentSink<'a> {
    pieces: &'a Producer<()>,
    buffer: Vec<u8>,
}

impl<'a> SegmentSink<'a> {
    fn new(pieces: &'a Producer<()>) -> Self {
        let mut buffer = pieces.buffer();
        buffer.clear();
        SegmentSink { pieces, buffer }
    }

    fn send(&self, piece: Piece<()>) -> io::Result<()> {
        self.pieces
            .send(piece)
            .map_err(|Disconnected| io::Error::other(WriterStopped))
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        let full = std::mem::take(&mut self.buffer);
        self.send(Piece::Bytes(full))?;
        self.buffer = self.pieces.buffer();
        self.buffer.clear();
        Ok(())
    }

    /// Sends the rest of the segment and marks its end.
    fn end_segment(mut self) -> io::Result<()> {
        if !self.buffer.is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            self.send(Piece::Bytes(rest))?;
        }
        self.send(Piece::SegmentEnd(()))
    }
}

impl Write for SegmentSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = PIECE_SIZE.saturating_sub(self.buffer.len());
        let taken = bytes.len().min(room);
        self.buffer.extend_from_slice(&bytes[..taken]);
        if self.buffer.len() >= PIECE_SIZE {
            self.send_buffer()?;
        }
        Ok(taken)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The writing thread stopped; its own error says why.
#[derive(Debug, thiserror::Error)]
#[error("the writing thread stopped")]
struct WriterStopped;

/// The writing thread: hashes and writes every piece, and closes a table entry at
/// each segment end. Returns the table once the sealing side hangs up.
fn hash_and_write(
    file: &mut File,
    output: &Path,
    pieces: Consumer<()>,
) -> Result<Vec<SegmentEntry>, SealingError> {
    let mut segments = Vec::new();
    let mut hasher = Sha256::new();
    let mut sealed_len: u64 = 0;
    while let Ok(piece) = pieces.receive() {
        match piece {
            Piece::Bytes(bytes) => {
                hasher.update(&bytes);
                file.write_all(&bytes)
                    .map_err(|e| SealingError::io(output, e))?;
                sealed_len = sealed_len.saturating_add(bytes.len() as u64);
                pieces.give_back(bytes);
            }
            Piece::SegmentEnd(()) => segments.push(SegmentEntry {
                sealed_len: std::mem::take(&mut sealed_len),
                digest: std::mem::take(&mut hasher).finalize().into(),
            }),
        }
    }
    Ok(segments)
}

/// Seals `input` to `to` into the container `output` with `segment_size` plaintext
/// bytes per segment. `output` appears only when complete.
pub fn seal_file(
    input: &Path,
    output: &Path,
    to: &DeliveryKey,
    segment_size: u64,
    progress: &mut dyn Progress,
) -> Result<SealReceipt, SealingError> {
    if segment_size == 0 || segment_size > MAX_SEGMENT_SIZE {
        return Err(SealingError::InvalidContainer(format!(
            "segment size {segment_size} outside 1..={MAX_SEGMENT_SIZE}"
        )));
    }
    let mut plaintext = File::open(input).map_err(|e| SealingError::io(input, e))?;
    let plaintext_len = plaintext
        .metadata()
        .map_err(|e| SealingError::io(input, e))?
        .len();
    let count = segment_count(plaintext_len, segment_size);
    let mut pending = PendingOutput::create(output)?;
    let io_error = |e| SealingError::io(output, e);

    // The table is filled in once every segment's digest is known.
    let header_len = ContainerHeader::encoded_len(count);
    pending
        .file()?
        .seek(SeekFrom::Start(header_len))
        .map_err(io_error)?;

    let recipient = to.age_recipient();
    let container: [u8; 16] = rand::random();
    let mut buffer = Zeroizing::new(vec![0u8; COPY_BUFFER]);
    let mut header = ContainerHeader {
        version: VERSION,
        segment_size,
        plaintext_len,
        segments: Vec::new(),
    };
    progress.start(plaintext_len, count);
    let (producer, consumer) = pipeline::<()>();
    let file = pending.file()?;
    let (sealed, written) = std::thread::scope(|scope| {
        let writer = scope.spawn(move || hash_and_write(file, output, consumer));
        let mut sealed = Ok(());
        for index in 0..count {
            let source = Source {
                file: &mut plaintext,
                path: input,
                len: header.plaintext_len_of(index),
            };
            let bound = BoundRecipient {
                recipient: &recipient,
                binding: SegmentBinding {
                    container,
                    index,
                    count,
                },
            };
            sealed = seal_segment(source, &bound, &producer, &mut buffer, progress);
            if sealed.is_err() {
                break;
            }
            progress.segment_done(index);
        }
        // Hanging up tells the writing thread the last segment is done.
        drop(producer);
        let written = writer.join().unwrap_or_else(|_| {
            Err(SealingError::io(
                output,
                io::Error::other("the writing thread failed"),
            ))
        });
        (sealed, written)
    });
    progress.finish();
    // A failed write explains a failed hand-off to the writing thread.
    header.segments = written?;
    sealed?;

    pending.file()?.seek(SeekFrom::Start(0)).map_err(io_error)?;
    pending.write_all(&header.encode())?;
    pending.commit()?;
    Ok(SealReceipt {
        digest: header.digest(),
        sealed_len: header.container_len(),
        plaintext_len,
        segment_count: count,
    })
}

/// The plaintext of one segment: the next `len` bytes of `file`.
struct Source<'a> {
    file: &'a mut File,
    path: &'a Path,
    len: u64,
}

/// Seals one segment as a complete age file into `pieces`.
fn seal_segment(
    source: Source<'_>,
    recipient: &BoundRecipient<'_>,
    pieces: &Producer<()>,
    buffer: &mut [u8],
    progress: &mut dyn Progress,
) -> Result<(), SealingError> {
    // Output failures are the writing thread's to report (see `WriterStopped`).
    let handed_off = |e: io::Error| SealingError::io("the sealed output", e);
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .map_err(|e| SealingError::Token {
                operation: "sealing",
                reason: e.to_string(),
            })?;
    let mut writer = encryptor
        .wrap_output(SegmentSink::new(pieces))
        .map_err(handed_off)?;
    let mut remaining = source.len;
    while remaining > 0 {
        let take = usize::try_from(remaining).map_or(buffer.len(), |r| r.min(buffer.len()));
        source
            .file
            .read_exact(&mut buffer[..take])
            .map_err(|e| SealingError::io(source.path, e))?;
        writer.write_all(&buffer[..take]).map_err(handed_off)?;
        remaining -= take as u64;
        progress.advance(take as u64);
    }
    writer
        .finish()
        .and_then(SegmentSink::end_segment)
        .map_err(handed_off)
}
