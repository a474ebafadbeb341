//! Every way sealing or opening can fail, each with what to do about it.

use std::io;
use std::path::PathBuf;

/// A sealing or opening failure. The `Display` text is meant for the person at the
/// terminal: it says what failed and, where there is one, what to do next.
#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    #[error("cannot load the PKCS#11 module {module}: {reason} — install it or pass --module")]
    ModuleLoad { module: PathBuf, reason: String },

    #[error("no token {selector} — insert it, or pass --slot / --token-label")]
    TokenNotFound { selector: String },

    #[error("{count} tokens present — choose one with --slot or --token-label")]
    AmbiguousToken { count: usize },

    #[error("wrong PIN for token '{token}'")]
    WrongPin { token: String },

    #[error("the PIN of token '{token}' is locked — unlock it with the security officer PIN")]
    PinLocked { token: String },

    #[error(
        "token '{token}' holds no delivery key {key} — run `medledger token init`, or pass --key-label / --key-id"
    )]
    KeyNotFound { token: String, key: String },

    #[error(
        "token '{token}' holds several key pairs {key} (CKA_ID {ids}) — choose one with --key-id"
    )]
    AmbiguousKey {
        token: String,
        key: String,
        ids: String,
    },

    #[error("token '{token}' holds the private key {key} but no public key with its CKA_ID {id} — opening needs both")]
    UnpairedKey {
        token: String,
        key: String,
        id: String,
    },

    #[error("token '{token}' already holds a key {key}")]
    KeyExists { token: String, key: String },

    #[error("the token was removed during {during}; no output was kept — reinsert it and run the command again")]
    TokenRemoved { during: String },

    #[error("token operation {operation} failed: {reason}")]
    Token {
        operation: &'static str,
        reason: String,
    },

    #[error("invalid delivery public key: {0} (expected 0x + 66 hex digits, a compressed P-256 point, or an age1tag1… recipient)")]
    InvalidPublicKey(String),

    #[error("this file was sealed to a different token key (key tag {file_tag}); the token holds {token_key}")]
    WrongToken { file_tag: String, token_key: String },

    #[error("segment {segment} is not sealed to a token key (found {found} recipient) — it cannot be opened with a token")]
    NotOurRecipient { segment: u64, found: String },

    #[error("interrupted; no output was kept")]
    Interrupted,

    #[error("not a MedLedger sealed container (bad magic)")]
    NotAContainer,

    #[error("unsupported container version {0} — this build reads versions 1 and 2")]
    UnsupportedVersion(u16),

    #[error("invalid container: {0}")]
    InvalidContainer(String),

    #[error("sealed file is truncated: {0}")]
    Truncated(String),

    #[error("sealed file was tampered with: {0}")]
    Tampered(String),

    #[error("container digest {actual} does not match the expected {expected}")]
    DigestMismatch { expected: String, actual: String },

    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl SealingError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        SealingError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = SealingError> = std::result::Result<T, E>;
