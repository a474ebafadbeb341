//! Output that appears under its final name only when complete: written to a hidden
//! temporary file beside it, removed on any failure (and on drop), renamed at the end.
//!
//! A process that is interrupted (a signal) runs no destructors, so every pending
//! output is also listed here: [`remove_pending_outputs`] deletes them all, for a
//! signal handler to call before the process exits.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tempfile::NamedTempFile;

use crate::error::SealingError;

/// The temporary paths of this process's pending outputs. Held while one is created,
/// committed or removed, so a signal cannot slip between those steps.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
/// Set once [`remove_pending_outputs`] ran: no output may be created or committed after.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn pending_paths() -> MutexGuard<'static, Vec<PathBuf>> {
    // A panic while the list was held leaves it intact.
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What [`remove_pending_outputs`] did. While it lives, no other thread creates,
/// commits or drops a pending output (they wait for it), so a signal handler that
/// exits the process holding it is the last to act.
pub struct RemovedOutputs {
    /// How many partial outputs were deleted.
    pub count: usize,
    _held: MutexGuard<'static, Vec<PathBuf>>,
}

/// Deletes every partial output this process is writing, and keeps any from being
/// created or given its final name afterwards. For the thread that handles SIGINT /
/// SIGTERM: it exits the process while holding the result.
pub fn remove_pending_outputs() -> RemovedOutputs {
    let mut paths = pending_paths();
    INTERRUPTED.store(true, Ordering::SeqCst);
    let count = paths
        .drain(..)
        .filter(|path| std::fs::remove_file(path).is_ok())
        .count();
    RemovedOutputs {
        count,
        _held: paths,
    }
}

pub(crate) struct PendingOutput {
    file: Option<NamedTempFile>,
    destination: PathBuf,
}

impl PendingOutput {
    pub(crate) fn create(destination: &Path) -> Result<Self, SealingError> {
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut paths = pending_paths();
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(SealingError::Interrupted);
        }
        let file = tempfile::Builder::new()
            .prefix(".medledger-partial-")
            .tempfile_in(&directory)
            .map_err(|e| SealingError::io(&directory, e))?;
        paths.push(file.path().to_owned());
        Ok(PendingOutput {
            file: Some(file),
            destination: destination.to_owned(),
        })
    }

    fn temporary(&mut self) -> Result<&mut NamedTempFile, SealingError> {
        self.file.as_mut().ok_or(SealingError::Interrupted)
    }

    pub(crate) fn file(&mut self) -> Result<&mut File, SealingError> {
        Ok(self.temporary()?.as_file_mut())
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), SealingError> {
        let file = self.temporary()?;
        file.write_all(bytes)
            .map_err(|e| SealingError::io(file.path(), e))
    }

    /// Flushes to disk and gives the file its final name.
    pub(crate) fn commit(mut self) -> Result<(), SealingError> {
        let file = self.file.take().ok_or(SealingError::Interrupted)?;
        let path = file.path().to_owned();
        file.as_file()
            .sync_all()
            .map_err(|e| SealingError::io(&path, e))?;
        let mut paths = pending_paths();
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(SealingError::Interrupted);
        }
        paths.retain(|pending| *pending != path);
        file.persist(&self.destination)
            .map(drop)
            .map_err(|e| SealingError::io(&self.destination, e.error))
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            let mut paths = pending_paths();
            paths.retain(|pending| pending != file.path());
            // Dropping the temporary file deletes it.
            drop(file);
        }
    }
}
