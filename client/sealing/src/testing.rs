//! Test support shared by this crate's tests and the CLI's: a throwaway SoftHSM2
//! configuration with freshly initialized tokens. Never touches the system's
//! `/etc/softhsm` or `/var/lib/softhsm`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::container::{ContainerHeader, SegmentEntry};
use crate::error::SealingError;

/// The user PIN of every test token.
pub const USER_PIN: &str = "246810";
/// The security officer PIN of every test token.
pub const SO_PIN: &str = "13579111";

/// Writes `dir/softhsm2.conf` with its token directory `dir/tokens` and initializes
/// one token per label there with `softhsm2-util`. Returns the path to export as
/// `SOFTHSM2_CONF`.
pub fn prepare_softhsm(dir: &Path, token_labels: &[&str]) -> Result<PathBuf, String> {
    let tokens = dir.join("tokens");
    fs::create_dir_all(&tokens).map_err(|e| format!("{}: {e}", tokens.display()))?;
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
        tokens.display()
    );
    fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))?;
    for label in token_labels {
        let output = Command::new("softhsm2-util")
            .args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--pin",
                USER_PIN,
                "--so-pin",
                SO_PIN,
            ])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .map_err(|e| format!("softhsm2-util: {e} (scripts/setup.sh installs softhsm2)"))?;
        if !output.status.success() {
            return Err(format!(
                "softhsm2-util: {}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(conf)
}

/// A container's header and its sealed segments, taken apart.
pub fn split_container(container: &[u8]) -> Result<(ContainerHeader, Vec<Vec<u8>>), SealingError> {
    let header = ContainerHeader::read(&mut &container[..], container.len() as u64)?;
    let mut rest =
        &container[ContainerHeader::encoded_len(header.segments.len() as u64) as usize..];
    let mut segments = Vec::new();
    for entry in &header.segments {
        let (segment, after) = rest.split_at(entry.sealed_len as usize);
        segments.push(segment.to_vec());
        rest = after;
    }
    Ok((header, segments))
}

/// A well-formed container of `segments` with a table that matches them: what anyone
/// holding only the buyer's public key can put together (the container digest differs
/// from the original's).
pub fn assemble_container(
    version: u16,
    segment_size: u64,
    plaintext_len: u64,
    segments: &[Vec<u8>],
) -> Vec<u8> {
    let header = ContainerHeader {
        version,
        segment_size,
        plaintext_len,
        segments: segments
            .iter()
            .map(|segment| SegmentEntry {
                sealed_len: segment.len() as u64,
                digest: Sha256::digest(segment).into(),
            })
            .collect(),
    };
    [header.encode(), segments.concat()].concat()
}

/// The length of the partial output process `pid` is writing in `dir`, while there is
/// one: an unnamed file, which `/proc/PID/fd` shows as `DIR/#INODE (deleted)`, or a
/// hidden `.medledger-partial-*` file where the file system has no unnamed files.
pub fn partial_output_len(pid: u32, dir: &Path) -> Option<u64> {
    // /proc shows the folder as the kernel resolved it.
    let dir = &dir.canonicalize().ok()?;
    let unnamed = fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .filter_map(Result::ok)
        .find(|fd| {
            fs::read_link(fd.path()).is_ok_and(|target| {
                target.parent() == Some(dir)
                    && target.to_string_lossy().ends_with(" (deleted)")
                    && target
                        .file_name()
                        .is_some_and(|name| name.to_string_lossy().starts_with('#'))
            })
        })
        .map(|fd| fd.path());
    let named = || {
        fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .find(|entry| {
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".medledger-partial-")
            })
            .map(|entry| entry.path())
    };
    // Metadata through /proc/PID/fd/N follows the link to the open file.
    fs::metadata(unnamed.or_else(named)?)
        .ok()
        .map(|metadata| metadata.len())
}
