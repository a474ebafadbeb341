//! A small external merge sort of text lines, so grouping an export by patient needs
//! memory for one chunk, not for the whole export.

use crate::error::{Error, IoContext, Result};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Lines, Write};
use std::path::{Path, PathBuf};

pub struct ExternalSorter {
    folder: PathBuf,
    chunk: Vec<String>,
    chunk_bytes: usize,
    chunk_limit: usize,
    runs: Vec<PathBuf>,
}

impl ExternalSorter {
    /// Sorts in chunks of about `chunk_limit` bytes, spilling sorted runs into `folder`.
    /// Lines must not contain `\n`.
    pub fn new(folder: &Path, chunk_limit: usize) -> Self {
        Self {
            folder: folder.to_path_buf(),
            chunk: Vec::new(),
            chunk_bytes: 0,
            chunk_limit,
            runs: Vec::new(),
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
        let path = self.folder.join(format!("run-{}.txt", self.runs.len()));
        let mut out = BufWriter::new(
            File::create(&path).context(|| format!("creating sort run {}", path.display()))?,
        );
        for line in self.chunk.drain(..) {
            writeln!(out, "{line}").context(|| format!("writing sort run {}", path.display()))?;
        }
        out.flush()
            .context(|| format!("writing sort run {}", path.display()))?;
        self.chunk_bytes = 0;
        self.runs.push(path);
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
            let mut lines = BufReader::with_capacity(1 << 16, file).lines();
            if let Some(line) = lines.next() {
                heap.push(Reverse((
                    line.context(|| "reading sort run".into())?,
                    index,
                )));
            }
            sources.push(lines);
        }
        Ok(SortedLines::Merge { sources, heap })
    }
}

pub enum SortedLines {
    InMemory(std::vec::IntoIter<String>),
    Merge {
        sources: Vec<Lines<BufReader<File>>>,
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
                match sources[index].next() {
                    Some(Ok(next)) => heap.push(Reverse((next, index))),
                    Some(Err(source)) => {
                        return Some(Err(Error::Io {
                            context: "reading sort run".into(),
                            source,
                        }))
                    }
                    None => {}
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
}
