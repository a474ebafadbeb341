//! Output that appears under its final name only when complete: written to a hidden
//! temporary file beside it, removed on any failure (and on drop), renamed at the end.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::SealingError;

pub(crate) struct PendingOutput {
    file: NamedTempFile,
    destination: PathBuf,
}

impl PendingOutput {
    pub(crate) fn create(destination: &Path) -> Result<Self, SealingError> {
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        let file = tempfile::Builder::new()
            .prefix(".medledger-partial-")
            .tempfile_in(&directory)
            .map_err(|e| SealingError::io(&directory, e))?;
        Ok(PendingOutput {
            file,
            destination: destination.to_owned(),
        })
    }

    pub(crate) fn file(&mut self) -> &mut File {
        self.file.as_file_mut()
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), SealingError> {
        let path = self.file.path().to_owned();
        self.file
            .write_all(bytes)
            .map_err(|e| SealingError::io(path, e))
    }

    /// Flushes to disk and gives the file its final name.
    pub(crate) fn commit(self) -> Result<(), SealingError> {
        let path = self.file.path().to_owned();
        self.file
            .as_file()
            .sync_all()
            .map_err(|e| SealingError::io(&path, e))?;
        self.file
            .persist(&self.destination)
            .map(drop)
            .map_err(|e| SealingError::io(&self.destination, e.error))
    }
}
