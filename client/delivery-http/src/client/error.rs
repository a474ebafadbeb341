//! What can go wrong in [`fetch`](crate::fetch), worded for the buyer at a terminal.

use std::io;
use std::path::PathBuf;

/// Why a download failed. Messages say what failed and what to do; after
/// [`Interrupted`](Self::Interrupted) and [`Incomplete`](Self::Incomplete) the `.partial`
/// file is kept, so running the same fetch again resumes.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "`{endpoint}` is not a delivery endpoint URL: give the custodian's base URL, e.g. \
         http://127.0.0.1:9980"
    )]
    InvalidEndpoint { endpoint: String },

    #[error("`{}` is not a file path to download into: give a file name", .0.display())]
    InvalidOutput(PathBuf),

    #[error(
        "could not reach the delivery endpoint {endpoint} ({detail}): check the URL and that \
         the custodian's node is running"
    )]
    Connect { endpoint: String, detail: String },

    #[error(
        "the delivery endpoint refused the signature: check the account and the clock (the \
         server said: {detail})"
    )]
    Unauthorized { detail: String },

    #[error("this account did not buy order {order}")]
    NotBuyer { order: u64 },

    #[error(
        "{endpoint} does not serve /orders/{order}: check that this is the custodian's \
         delivery endpoint"
    )]
    NotFound { endpoint: String, order: u64 },

    #[error("the delivery of order {order} is not ready at {endpoint} yet: try again later")]
    NotReady { endpoint: String, order: u64 },

    #[error("the delivery endpoint {endpoint} answered HTTP {status}: {detail}")]
    Status {
        endpoint: String,
        status: u16,
        detail: String,
    },

    #[error("the delivery endpoint {endpoint} sent an invalid response: {detail}")]
    Protocol { endpoint: String, detail: String },

    #[error(
        "the download from {endpoint} broke off after {done} bytes ({source}): run the same \
         fetch again to resume"
    )]
    Interrupted {
        endpoint: String,
        done: u64,
        source: io::Error,
    },

    #[error(
        "the download stopped at {done} of {total} bytes: run the same fetch again to resume \
         from {}",
        partial.display()
    )]
    Incomplete {
        done: u64,
        total: u64,
        partial: PathBuf,
    },

    /// The finished download failed the caller's check ([`fetch_checked`](crate::fetch_checked)):
    /// the `.partial` was removed and `out` left as it was.
    #[error(
        "{detail}: removed the download, and left {} as it was",
        out.display()
    )]
    Rejected { out: PathBuf, detail: String },

    #[error("could not write {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
}
