//! The chain's container digest, recorded beside a download: `medledger fetch` checks
//! the download against the digest it was given (the order's receipt on chain) and,
//! once the checked download has replaced `<FILE>`, writes it to `<FILE>.digest`;
//! `medledger open` compares the container with it when no `--expect-digest` is given.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::envelope::parse_digest;

/// `<container>.digest`.
pub fn record_path(container: &Path) -> PathBuf {
    let mut name = OsString::from(container.as_os_str());
    name.push(".digest");
    PathBuf::from(name)
}

/// Records `digest` as the chain's digest of `container`.
pub fn write(container: &Path, digest: &[u8; 32]) -> Result<(), String> {
    let path = record_path(container);
    fs::write(&path, format!("0x{}\n", hex::encode(digest)))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The chain's digest recorded for `container`, if a fetch recorded one.
pub fn read(container: &Path) -> Result<Option<[u8; 32]>, String> {
    let path = record_path(container);
    match fs::read_to_string(&path) {
        Ok(text) => parse_digest(text.trim())
            .map(Some)
            .map_err(|e| format!("{}: {e}; fetch the delivery again", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}
