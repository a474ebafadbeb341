//! Docking, file side: a FHIR Bulk Data `$export` folder (NDJSON, one resource per line,
//! one file per resource type, plain or gzip).

use crate::error::{Error, IoContext, IssueKind, Result};
use crate::resource::{is_collected_type, is_valid_id};
use flate2::read::MultiGzDecoder;
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The export files of `folder` (`*.ndjson`, `*.ndjson.gz`), in name order so that
/// reports are reproducible.
pub fn export_files(folder: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(folder)
        .context(|| format!("reading input folder {}", folder.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .context(|| format!("reading input folder {}", folder.display()))?
            .path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_file() && (name.ends_with(".ndjson") || name.ends_with(".ndjson.gz")) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(Error::NoExportFiles(folder.to_path_buf()));
    }
    files.sort();
    Ok(files)
}

/// Opens an export file, decompressing it when it starts with the gzip magic number
/// (whatever its name says).
pub fn open_export_file(path: &Path) -> Result<Box<dyn BufRead>> {
    let mut file = File::open(path).context(|| format!("opening {}", path.display()))?;
    let mut magic = [0u8; 2];
    let read = file
        .read(&mut magic)
        .context(|| format!("reading {}", path.display()))?;
    let head = std::io::Cursor::new(magic[..read].to_vec());
    let stream = head.chain(file);
    Ok(if read == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::with_capacity(
            1 << 16,
            MultiGzDecoder::new(stream),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, stream))
    })
}

/// Calls `on_line(line_number, bytes)` for every non-blank line of an export file.
/// A file that cannot be read to its end fails with [`Error::UnreadableExport`] after
/// the lines before the failure were handed over.
pub fn for_each_line(path: &Path, mut on_line: impl FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
    let mut reader = open_export_file(path)?;
    let mut buffer = Vec::with_capacity(1 << 12);
    let mut line_number = 0u64;
    loop {
        buffer.clear();
        let read =
            reader
                .read_until(b'\n', &mut buffer)
                .map_err(|error| Error::UnreadableExport {
                    path: path.to_path_buf(),
                    line: line_number + 1,
                    detail: error.to_string(),
                })?;
        if read == 0 {
            return Ok(());
        }
        line_number += 1;
        let line = buffer.trim_ascii();
        if !line.is_empty() {
            on_line(line_number, line)?;
        }
    }
}

/// One well-formed resource of a collected type.
#[derive(Debug, Clone)]
pub struct ParsedResource {
    pub resource_type: String,
    pub id: String,
    pub body: Value,
}

/// Parses one NDJSON line into a resource, or says what is wrong with it.
pub fn parse_resource_line(line: &[u8]) -> Result<ParsedResource, IssueKind> {
    let body: Value = serde_json::from_slice(line).map_err(|error| IssueKind::MalformedJson {
        detail: error.to_string(),
    })?;
    if !body.is_object() {
        return Err(IssueKind::MalformedJson {
            detail: "a line must hold one JSON object".into(),
        });
    }
    let resource_type = match body.get("resourceType") {
        Some(Value::String(name)) if is_collected_type(name) => name.clone(),
        Some(Value::String(name)) => {
            return Err(IssueKind::UnknownResourceType {
                found: name.clone(),
            })
        }
        Some(other) => {
            return Err(IssueKind::UnknownResourceType {
                found: other.to_string(),
            })
        }
        None => {
            return Err(IssueKind::UnknownResourceType {
                found: String::new(),
            })
        }
    };
    let id = match body.get("id") {
        Some(Value::String(id)) if is_valid_id(id) => id.clone(),
        Some(other) => {
            return Err(IssueKind::InvalidId {
                found: other.to_string(),
            })
        }
        None => {
            return Err(IssueKind::InvalidId {
                found: String::new(),
            })
        }
    };
    Ok(ParsedResource {
        resource_type,
        id,
        body,
    })
}
