//! Output that appears under its final name only when complete.
//!
//! It is written to a file without a name (Linux `O_TMPFILE`) in the destination's
//! folder, and linked there only at the end: whatever ends the process before, even
//! SIGKILL, a crash or a power cut, the kernel frees it and no plaintext is left. Where
//! the file system has no unnamed files, it is a hidden temporary file beside the
//! destination instead, removed on any failure (and on drop) and renamed at the end.
//!
//! A process that is interrupted (a signal) runs no destructors, so every pending
//! output is also listed here: [`remove_pending_outputs`] deletes the named ones, for a
//! signal handler to call before the process exits.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tempfile::NamedTempFile;

use crate::error::SealingError;

/// This process's pending outputs. Held while one is created, committed or removed, so
/// a signal cannot slip between those steps.
static PENDING: Mutex<Pending> = Mutex::new(Pending {
    named: Vec::new(),
    unnamed: 0,
});
/// Set once [`remove_pending_outputs`] ran: no output may be created or committed after.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

struct Pending {
    /// The temporary paths of the named partial outputs.
    named: Vec<PathBuf>,
    /// How many unnamed partial outputs are open (they vanish with the process).
    unnamed: usize,
}

impl Pending {
    /// Takes `partial` off the list: it is being committed or dropped.
    fn forget(&mut self, partial: &Partial) {
        match partial {
            Partial::Unnamed { .. } => self.unnamed -= 1,
            Partial::Named(file) => self.named.retain(|named| named != file.path()),
        }
    }
}

fn pending() -> MutexGuard<'static, Pending> {
    // A panic while the list was held leaves it intact.
    PENDING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What [`remove_pending_outputs`] did. While it lives, no other thread creates,
/// commits or drops a pending output (they wait for it), so a signal handler that
/// exits the process holding it is the last to act.
pub struct RemovedOutputs {
    /// How many partial outputs were discarded: named ones deleted, and unnamed ones,
    /// which the kernel frees as the process exits.
    pub count: usize,
    _held: MutexGuard<'static, Pending>,
}

/// Deletes every partial output this process is writing, and keeps any from being
/// created or given its final name afterwards. For the thread that handles SIGINT /
/// SIGTERM: it exits the process while holding the result.
pub fn remove_pending_outputs() -> RemovedOutputs {
    let mut pending = pending();
    INTERRUPTED.store(true, Ordering::SeqCst);
    let deleted = pending
        .named
        .drain(..)
        .filter(|path| std::fs::remove_file(path).is_ok())
        .count();
    RemovedOutputs {
        count: deleted + pending.unnamed,
        _held: pending,
    }
}

/// Where the partial output is.
enum Partial {
    /// A file without a name in `directory`.
    Unnamed { file: File, directory: PathBuf },
    /// A hidden file beside the destination.
    Named(NamedTempFile),
}

pub(crate) struct PendingOutput {
    partial: Option<Partial>,
    destination: PathBuf,
}

/// Hidden names: the partial output where it must have one, the finished one for the
/// moment between its link and its rename.
const PARTIAL_PREFIX: &str = ".medledger-partial-";

/// An unnamed file in `directory`; `None` where the file system or the kernel has
/// none, or `/proc` is missing (naming the file at the end goes through it).
fn unnamed_file(directory: &Path) -> Option<File> {
    if !Path::new("/proc/self/fd").is_dir() {
        return None;
    }
    OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(directory)
        .ok()
}

/// Gives the unnamed `file` the name `path` (`linkat` through `/proc/self/fd`, as
/// open(2) describes for `O_TMPFILE`).
fn link(file: &File, path: &Path) -> io::Result<()> {
    let from = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let to = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: both are NUL-terminated paths that live across the call.
    let linked = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if linked == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn file_of(partial: &mut Option<Partial>) -> Result<&mut File, SealingError> {
    match partial {
        Some(Partial::Unnamed { file, .. }) => Ok(file),
        Some(Partial::Named(file)) => Ok(file.as_file_mut()),
        None => Err(SealingError::Interrupted),
    }
}

impl PendingOutput {
    pub(crate) fn create(destination: &Path) -> Result<Self, SealingError> {
        Self::create_with(destination, unnamed_file)
    }

    /// [`Self::create`] with `unnamed_file` as the way to get an unnamed file (tests take
    /// the named fallback by offering none).
    fn create_with(
        destination: &Path,
        unnamed_file: impl FnOnce(&Path) -> Option<File>,
    ) -> Result<Self, SealingError> {
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut pending = pending();
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(SealingError::Interrupted);
        }
        let partial = match unnamed_file(&directory) {
            Some(file) => {
                pending.unnamed += 1;
                Partial::Unnamed { file, directory }
            }
            None => {
                let file = tempfile::Builder::new()
                    .prefix(PARTIAL_PREFIX)
                    .tempfile_in(&directory)
                    .map_err(|e| SealingError::io(&directory, e))?;
                pending.named.push(file.path().to_owned());
                Partial::Named(file)
            }
        };
        Ok(PendingOutput {
            partial: Some(partial),
            destination: destination.to_owned(),
        })
    }

    pub(crate) fn file(&mut self) -> Result<&mut File, SealingError> {
        file_of(&mut self.partial)
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), SealingError> {
        file_of(&mut self.partial)?
            .write_all(bytes)
            .map_err(|e| SealingError::io(&self.destination, e))
    }

    /// Flushes to disk and gives the file its final name.
    pub(crate) fn commit(mut self) -> Result<(), SealingError> {
        let destination = self.destination.clone();
        let io_error = |e| SealingError::io(&destination, e);
        self.file()?.sync_all().map_err(io_error)?;
        let mut pending = pending();
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(SealingError::Interrupted);
        }
        let partial = self.partial.take().ok_or(SealingError::Interrupted)?;
        pending.forget(&partial);
        match partial {
            Partial::Unnamed { file, directory } => {
                // A hidden name first, then the rename: the destination may exist.
                let linked = tempfile::Builder::new()
                    .prefix(PARTIAL_PREFIX)
                    .make_in(&directory, |path| link(&file, path))
                    .map_err(io_error)?;
                linked
                    .persist(&destination)
                    .map_err(|e| io_error(e.error))?;
            }
            Partial::Named(file) => {
                file.persist(&destination).map_err(|e| io_error(e.error))?;
            }
        }
        Ok(())
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        let Some(partial) = self.partial.take() else {
            return;
        };
        pending().forget(&partial);
        // Closing an unnamed file frees it; dropping a named one deletes it.
        drop(partial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_unnamed_files(_: &Path) -> Option<File> {
        None
    }

    /// The names in `directory`, sorted.
    fn listing(directory: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn is_pending(path: &Path) -> bool {
        pending().named.iter().any(|named| named == path)
    }

    #[test]
    fn without_unnamed_files_a_hidden_file_becomes_the_destination_at_commit() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.ndjson");
        let mut output = PendingOutput::create_with(&destination, no_unnamed_files).unwrap();
        let Some(Partial::Named(file)) = &output.partial else {
            panic!("the fallback was not taken")
        };
        let partial = file.path().to_owned();
        assert!(
            is_pending(&partial),
            "a signal would not find the partial output"
        );
        let names = listing(dir.path());
        assert_eq!(names.len(), 1);
        assert!(names[0].starts_with(PARTIAL_PREFIX), "{names:?}");
        assert!(!destination.exists());

        output.write_all(b"plaintext").unwrap();
        output.commit().unwrap();

        assert_eq!(std::fs::read(&destination).unwrap(), b"plaintext");
        assert_eq!(listing(dir.path()), ["out.ndjson"]);
        assert!(!is_pending(&partial));
    }

    #[test]
    fn without_unnamed_files_an_abandoned_output_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.ndjson");
        let mut output = PendingOutput::create_with(&destination, no_unnamed_files).unwrap();
        output.write_all(b"plaintext").unwrap();
        let Some(Partial::Named(file)) = &output.partial else {
            panic!("the fallback was not taken")
        };
        let partial = file.path().to_owned();

        drop(output);

        assert!(listing(dir.path()).is_empty());
        assert!(!is_pending(&partial));
    }

    #[test]
    fn an_unnamed_output_has_no_name_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.ndjson");
        let mut output = PendingOutput::create(&destination).unwrap();
        if !matches!(output.partial, Some(Partial::Unnamed { .. })) {
            // This file system has no unnamed files: the tests above cover the fallback.
            return;
        }
        output.write_all(b"plaintext").unwrap();
        assert!(listing(dir.path()).is_empty());
        output.commit().unwrap();
        assert_eq!(std::fs::read(&destination).unwrap(), b"plaintext");
        assert_eq!(listing(dir.path()), ["out.ndjson"]);
    }
}
