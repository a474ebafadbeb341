//! A small external merge sort of text lines, so grouping an export by patient needs
//! memory for one chunk, not for the whole export.
//!
//! The lines hold the hospital's patient and resource ids, so the sorted runs spilled to
//! disk are sealed: ChaCha20-Poly1305 under a key drawn for each sort and held only in
//! memory (zeroized with the sorter), in frames of about [`FRAME_BYTES`]. A frame's nonce is
//! its run and position, and the last frame of a run says so, so a run that was cut,
//! reordered or swapped with another fails to open instead of losing lines.

use crate::error::{Error, IoContext, Result};
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, MAX_TAG_LEN};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Plaintext sealed per frame of a run.
const FRAME_BYTES: usize = 64 << 10;
/// First plaintext byte of a frame: more frames follow, or this is the run's last.
const MORE: u8 = 0;
const LAST: u8 = 1;

/// The key that seals one sort's runs.
struct RunKey {
    cipher: LessSafeKey,
    /// The key bytes, zeroized on drop (ring keeps its own copy in the cipher).
    _bytes: Zeroizing<[u8; 32]>,
}

impl RunKey {
    fn fresh() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(bytes.as_mut());
        let cipher = LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, bytes.as_ref()).expect("32 bytes is the key size"),
        );
        Self {
            cipher,
            _bytes: bytes,
        }
    }

    /// Frame `frame` of run `run`: unique for the key, and binds the frame to its place.
    fn nonce(run: u32, frame: u64) -> Nonce {
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&run.to_le_bytes());
        nonce[4..].copy_from_slice(&frame.to_le_bytes());
        Nonce::assume_unique_for_key(nonce)
    }
}

pub struct ExternalSorter {
    folder: PathBuf,
    chunk: Vec<String>,
    chunk_bytes: usize,
    chunk_limit: usize,
    runs: Vec<PathBuf>,
    key: Arc<RunKey>,
}

impl ExternalSorter {
    /// Sorts in chunks of about `chunk_limit` bytes, spilling sealed sorted runs into
    /// `folder`. Lines must not contain `\n`.
    pub fn new(folder: &Path, chunk_limit: usize) -> Self {
        Self {
            folder: folder.to_path_buf(),
            chunk: Vec::new(),
            chunk_bytes: 0,
            chunk_limit,
            runs: Vec::new(),
            key: Arc::new(RunKey::fresh()),
        }
    }

    pub fn push(&mut self, line: String) -> Result<()> {
        self.chunk_bytes += line.len() + std::mem::size_of::<String>();
        self.chunk.push(line);
        if self.chunk_bytes >= self.chunk_limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<()> {
        self.chunk.sort_unstable();
        let run = self.runs.len() as u32;
        let path = self.folder.join(format!("run-{run}.bin"));
        let failed = || format!("writing sort run {}", path.display());
        let mut out = BufWriter::new(
            File::create(&path).context(|| format!("creating sort run {}", path.display()))?,
        );
        let mut frame = 0u64;
        let mut plaintext = Vec::with_capacity(FRAME_BYTES + 1 + MAX_TAG_LEN);
        plaintext.push(MORE);
        let lines = std::mem::take(&mut self.chunk);
        for line in &lines {
            plaintext.extend_from_slice(line.as_bytes());
            plaintext.push(b'\n');
            if plaintext.len() >= FRAME_BYTES {
                self.seal_frame(&mut out, run, frame, &mut plaintext)
                    .context(failed)?;
                frame += 1;
                plaintext.push(MORE);
            }
        }
        plaintext[0] = LAST;
        self.seal_frame(&mut out, run, frame, &mut plaintext)
            .context(failed)?;
        out.flush().context(failed)?;
        self.chunk = lines;
        self.chunk.clear();
        self.chunk_bytes = 0;
        self.runs.push(path);
        Ok(())
    }

    /// Writes `plaintext` sealed as `length (u32 LE) ‖ ciphertext ‖ tag`, and empties it.
    fn seal_frame(
        &self,
        out: &mut impl Write,
        run: u32,
        frame: u64,
        plaintext: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        self.key
            .cipher
            .seal_in_place_append_tag(RunKey::nonce(run, frame), Aad::empty(), plaintext)
            .map_err(|_| std::io::Error::other("sealing a sort run failed"))?;
        out.write_all(&(plaintext.len() as u32).to_le_bytes())?;
        out.write_all(plaintext)?;
        plaintext.clear();
        Ok(())
    }

    /// All pushed lines, in ascending byte order.
    pub fn into_sorted(mut self) -> Result<SortedLines> {
        if self.runs.is_empty() {
            self.chunk.sort_unstable();
            return Ok(SortedLines::InMemory(
                std::mem::take(&mut self.chunk).into_iter(),
            ));
        }
        if !self.chunk.is_empty() {
            self.spill()?;
        }
        let mut sources = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::new();
        for (index, path) in self.runs.iter().enumerate() {
            let file =
                File::open(path).context(|| format!("opening sort run {}", path.display()))?;
            let mut run = RunReader {
                path: path.clone(),
                file: BufReader::with_capacity(1 << 16, file),
                key: self.key.clone(),
                run: index as u32,
                frame: 0,
                plaintext: Vec::new(),
                at: 0,
                last: false,
            };
            if let Some(line) = run.next_line()? {
                heap.push(Reverse((line, index)));
            }
            sources.push(run);
        }
        Ok(SortedLines::Merge { sources, heap })
    }
}

/// The lines of one sealed run, a frame at a time.
pub struct RunReader {
    path: PathBuf,
    file: BufReader<File>,
    key: Arc<RunKey>,
    run: u32,
    frame: u64,
    /// The open frame (its first byte the MORE/LAST flag, its tag already removed).
    plaintext: Vec<u8>,
    at: usize,
    last: bool,
}

impl RunReader {
    fn next_line(&mut self) -> Result<Option<String>> {
        loop {
            if let Some(end) = memchr::memchr(b'\n', &self.plaintext[self.at..]) {
                let start = self.at;
                self.at += end + 1;
                let line = std::str::from_utf8(&self.plaintext[start..start + end])
                    .map_err(|_| self.damaged("a line is not UTF-8"))?;
                return Ok(Some(line.to_string()));
            }
            if self.last {
                return Ok(None);
            }
            self.open_next_frame()?;
        }
    }

    fn open_next_frame(&mut self) -> Result<()> {
        let mut length = [0u8; 4];
        self.file
            .read_exact(&mut length)
            .map_err(|_| self.damaged("it ends before its last frame"))?;
        let length = u32::from_le_bytes(length) as usize;
        if length > FRAME_BYTES * 2 + MAX_TAG_LEN + (1 << 20) {
            return Err(self.damaged("a frame is too long"));
        }
        self.plaintext.resize(length, 0);
        self.file
            .read_exact(&mut self.plaintext)
            .map_err(|_| self.damaged("a frame is cut"))?;
        let opened = self
            .key
            .cipher
            .open_in_place(
                RunKey::nonce(self.run, self.frame),
                Aad::empty(),
                &mut self.plaintext,
            )
            .map(|plaintext| plaintext.len());
        let opened = opened.map_err(|_| self.damaged("a frame does not open"))?;
        self.plaintext.truncate(opened);
        self.frame += 1;
        match self.plaintext.first() {
            Some(&LAST) => self.last = true,
            Some(&MORE) => {}
            _ => return Err(self.damaged("a frame has no flag")),
        }
        self.at = 1;
        Ok(())
    }

    fn damaged(&self, reason: &str) -> Error {
        Error::CorruptStore {
            path: self.path.clone(),
            reason: format!("sort run damaged: {reason}"),
        }
    }
}

pub enum SortedLines {
    InMemory(std::vec::IntoIter<String>),
    Merge {
        sources: Vec<RunReader>,
        heap: BinaryHeap<Reverse<(String, usize)>>,
    },
}

impl Iterator for SortedLines {
    type Item = Result<String>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            SortedLines::InMemory(lines) => lines.next().map(Ok),
            SortedLines::Merge { sources, heap } => {
                let Reverse((line, index)) = heap.pop()?;
                match sources[index].next_line() {
                    Ok(Some(next)) => heap.push(Reverse((next, index))),
                    Ok(None) => {}
                    Err(error) => return Some(Err(error)),
                }
                Some(Ok(line))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn spilled_runs_merge_into_the_same_order_as_an_in_memory_sort() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let lines: Vec<String> = (0..5000)
            .map(|_| format!("p{}\t{}", rng.gen_range(0..300), rng.gen::<u32>()))
            .collect();
        let mut sorter = ExternalSorter::new(dir.path(), 4096);
        for line in &lines {
            sorter.push(line.clone()).unwrap();
        }
        assert!(sorter.runs.len() > 10, "the test must exercise the merge");
        let merged: Vec<String> = sorter
            .into_sorted()
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        let mut expected = lines;
        expected.sort();
        assert_eq!(merged, expected);
    }

    /// The ids a run holds are not in the file in clear, and a damaged run is an error,
    /// not a shorter sort.
    #[test]
    fn runs_are_sealed_and_a_damaged_run_does_not_open() {
        let dir = tempfile::tempdir().unwrap();
        let lines: Vec<String> = (0..3000)
            .map(|n| format!("Patient/pat-{n:05}\tObservation/obs-{n:05}"))
            .collect();
        let mut sorter = ExternalSorter::new(dir.path(), 8 << 10);
        for line in &lines {
            sorter.push(line.clone()).unwrap();
        }
        assert!(sorter.runs.len() > 2);
        for run in &sorter.runs {
            let bytes = std::fs::read(run).unwrap();
            for needle in [&b"pat-0"[..], b"obs-0", b"Patient/", b"Observation/"] {
                assert!(!bytes.windows(needle.len()).any(|w| w == needle));
            }
        }
        // Flip one byte in the middle of the first run.
        let first = sorter.runs[0].clone();
        let mut bytes = std::fs::read(&first).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&first, &bytes).unwrap();
        let merged: Result<Vec<String>> = sorter.into_sorted().and_then(|s| s.collect());
        assert!(matches!(merged, Err(Error::CorruptStore { .. })));

        // A run cut after its first frame.
        let mut sorter = ExternalSorter::new(dir.path(), 200 << 10);
        for line in &lines {
            sorter.push(line.clone()).unwrap();
        }
        sorter.spill().unwrap();
        let run = sorter.runs[0].clone();
        let bytes = std::fs::read(&run).unwrap();
        let first_frame = 4 + u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert!(
            first_frame < bytes.len(),
            "the run must have several frames"
        );
        std::fs::write(&run, &bytes[..first_frame]).unwrap();
        let merged: Result<Vec<String>> = sorter.into_sorted().and_then(|s| s.collect());
        assert!(matches!(merged, Err(Error::CorruptStore { .. })));
    }
}
