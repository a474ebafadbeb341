//! Errors of the library, and the per-line issues of an ingest.

use std::path::PathBuf;

/// A failure that stops an operation. Per-line problems in an export are not errors: they
/// are [`IngestIssue`]s, reported while the rest of the export is processed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{path} cannot be read past line {line}: {detail}")]
    UnreadableExport {
        path: PathBuf,
        line: u64,
        detail: String,
    },
    #[error("input folder {0} holds no FHIR NDJSON files (*.ndjson or *.ndjson.gz)")]
    NoExportFiles(PathBuf),
    #[error("store key file {path}: {reason} — it must hold 64 hex digits (32 bytes)")]
    BadKeyFile { path: PathBuf, reason: String },
    #[error("owner mapping {path} line {line}: {reason}")]
    BadOwnerMapping {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("invalid SS58 account {account:?}: {reason}")]
    BadAccount { account: String, reason: String },
    #[error("store record {index} cannot be decrypted: wrong key or corrupted store")]
    StoreDecryption { index: u64 },
    #[error("store {path} is corrupted: {reason}")]
    CorruptStore { path: PathBuf, reason: String },
    #[error("de-identification profile: {0}")]
    BadProfile(String),
    #[error("unknown purpose {0:?} (expected research, public-health, commercial, education or quality-improvement)")]
    UnknownPurpose(String),
    #[error("invalid date {0:?} in listing filter (expected YYYY, YYYY-MM or YYYY-MM-DD)")]
    BadFilterDate(String),
    #[error("FHIR server request {url} failed: {reason}")]
    Http { url: String, reason: String },
    #[error("FHIR server URL {url} refused: {reason}")]
    InsecureServerUrl { url: String, reason: String },
    #[error("the FHIR server sent a link or redirect to {url}, outside {origin}: refused, as the bearer token is only for {origin} — check the server's base URL setting")]
    CrossOriginLink { url: String, origin: String },
    #[error("FHIR server answered {url} with a {found} where a searchset Bundle was expected")]
    NotABundle { url: String, found: String },
    #[error("consent grants file {path}: {reason}")]
    BadGrants { path: PathBuf, reason: String },
    #[error("delivery options: {0}")]
    BadDeliveryOptions(String),
    #[error("output folder {0} is not empty — choose a fresh folder for each delivery")]
    OutputNotEmpty(PathBuf),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a human context ("reading store file x") to io errors.
pub(crate) trait IoContext<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context(),
            source,
        })
    }
}

/// What was wrong with one line (one resource) of an export.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum IssueKind {
    /// The line is not a JSON object.
    MalformedJson { detail: String },
    /// `resourceType` is missing or not one this library collects.
    UnknownResourceType { found: String },
    /// `id` is missing or not a FHIR id (`[A-Za-z0-9\-\.]{1,64}`).
    InvalidId { found: String },
    /// A reference to a collected resource type that does not resolve inside the
    /// patient's compartment (or a clinical resource without a patient: no `subject`, or
    /// `patient` for the types that name it so).
    BrokenReference { reference: String },
    /// The same `Type/id` appeared before, anywhere in the export; the first one is kept.
    DuplicateResource { key: String },
    /// The file cannot be read from this line on (truncated or corrupt gzip, I/O error);
    /// the lines before it are processed.
    UnreadableFile { detail: String },
}

/// One per-line report of an ingest: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IngestIssue {
    pub file: String,
    /// 1-based line number in the (decompressed) file.
    pub line: u64,
    #[serde(flatten)]
    pub kind: IssueKind,
}

impl std::fmt::Display for IssueKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssueKind::MalformedJson { detail } => write!(f, "malformed JSON: {detail}"),
            IssueKind::UnknownResourceType { found } => {
                write!(f, "unknown resource type {found:?}")
            }
            IssueKind::InvalidId { found } => write!(f, "missing or invalid id {found}"),
            IssueKind::BrokenReference { reference } => write!(f, "broken reference {reference}"),
            IssueKind::DuplicateResource { key } => {
                write!(f, "duplicate resource {key} (first one kept)")
            }
            IssueKind::UnreadableFile { detail } => {
                write!(f, "file unreadable from here on: {detail}")
            }
        }
    }
}
