//! Sealing: plaintext → segmented container, each segment an age file with one
//! `p256tag` stanza for the buyer's delivery key (age's own recipient does the HPKE).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::container::{segment_count, ContainerHeader, SegmentEntry, MAX_SEGMENT_SIZE};
use crate::delivery_key::DeliveryKey;
use crate::error::SealingError;
use crate::output::PendingOutput;
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

/// Counts and hashes what age writes for one segment.
struct HashingWriter<'a> {
    inner: &'a mut File,
    hasher: Sha256,
    written: u64,
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.written = self.written.saturating_add(written as u64);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
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
        .file()
        .seek(SeekFrom::Start(header_len))
        .map_err(io_error)?;

    let recipient = to.age_recipient();
    let mut buffer = Zeroizing::new(vec![0u8; COPY_BUFFER]);
    let mut header = ContainerHeader {
        segment_size,
        plaintext_len,
        segments: Vec::new(),
    };
    progress.start(plaintext_len, count);
    for index in 0..count {
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| SealingError::Token {
                    operation: "sealing",
                    reason: e.to_string(),
                })?;
        let sink = HashingWriter {
            inner: pending.file(),
            hasher: Sha256::new(),
            written: 0,
        };
        let mut writer = encryptor.wrap_output(sink).map_err(io_error)?;
        let mut remaining = header.plaintext_len_of(index);
        while remaining > 0 {
            let take = usize::try_from(remaining).map_or(COPY_BUFFER, |r| r.min(COPY_BUFFER));
            plaintext
                .read_exact(&mut buffer[..take])
                .map_err(|e| SealingError::io(input, e))?;
            writer.write_all(&buffer[..take]).map_err(io_error)?;
            remaining -= take as u64;
            progress.advance(take as u64);
        }
        let sink = writer.finish().map_err(io_error)?;
        header.segments.push(SegmentEntry {
            sealed_len: sink.written,
            digest: sink.hasher.finalize().into(),
        });
        progress.segment_done(index);
    }
    progress.finish();

    pending.file().seek(SeekFrom::Start(0)).map_err(io_error)?;
    pending.write_all(&header.encode())?;
    pending.commit()?;
    Ok(SealReceipt {
        digest: header.digest(),
        sealed_len: header.container_len(),
        plaintext_len,
        segment_count: count,
    })
}
