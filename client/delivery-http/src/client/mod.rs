//! The buyer's side: a blocking, resumable download of one order's delivery.

mod error;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sp_core::sr25519::Pair;
use sp_core::Pair as _;

pub use error::FetchError;

use crate::auth::{normalize_endpoint, unix_now, Authorization, OwnerRequest};
use crate::range::ContentRange;

/// Connecting should be quick on any working network.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest silence within a transfer (not a limit on the whole multi-GB download).
const IO_TIMEOUT: Duration = Duration::from_secs(120);
/// Copy buffer.
const CHUNK: usize = 256 * 1024;
/// How many times a `.partial` that does not fit the server's file is discarded and the
/// download started over, before giving up.
const MAX_RESTARTS: u32 = 1;

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchReport {
    /// The finished file (`out`).
    pub path: PathBuf,
    /// Its length in bytes.
    pub size: u64,
    /// Bytes already in the `.partial` when the last request was made (0: from scratch).
    pub resumed_from: u64,
    /// Bytes received over the network by this call.
    pub downloaded: u64,
}

/// Where [`fetch`] keeps an unfinished download of `out`: `out` with `.partial` appended
/// to its file name. `None` if `out` has no file name.
pub fn partial_path(out: &Path) -> Option<PathBuf> {
    let mut name = out.file_name()?.to_os_string();
    name.push(".partial");
    Some(out.with_file_name(name))
}

/// Downloads the delivery of `order` from the custodian at `endpoint` (its public base
/// URL, e.g. `http://127.0.0.1:9980`) into `out`, signing each request with the buyer's
/// account key `signer` (see the crate docs for the format).
///
/// Bytes go to [`partial_path`]`(out)` first. If that file exists, only the rest is
/// requested (`Range: bytes=<its length>-`); if the server answers with the whole file
/// instead, the download starts over. Once the announced length is reached the file is
/// renamed to `out` (replacing it). `progress` gets `(bytes done, total if known)` as
/// bytes arrive, counting those already in the `.partial`.
///
/// Nothing checks what arrived: [`fetch_checked`] does, before `out` is replaced.
pub fn fetch(
    endpoint: &str,
    order: u64,
    signer: &Pair,
    out: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<FetchReport, FetchError> {
    fetch_checked(endpoint, order, signer, out, progress, &mut |_, _| Ok(()))
}

/// [`fetch`], with the finished download held to `check` before it replaces `out`:
/// `check` gets the complete [`partial_path`]`(out)` and its length. If it refuses (its
/// `Err` text says why), the `.partial` is removed, `out` is left as it was and the error
/// is [`FetchError::Rejected`]. Whatever else fails, `out` is left as it was too (an
/// unfinished download stays in the `.partial`, to resume), so an earlier good copy in
/// `out` survives a failed fetch.
pub fn fetch_checked(
    endpoint: &str,
    order: u64,
    signer: &Pair,
    out: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
    check: &mut dyn FnMut(&Path, u64) -> Result<(), String>,
) -> Result<FetchReport, FetchError> {
    let endpoint = checked_endpoint(endpoint)?;
    let partial = partial_path(out).ok_or_else(|| FetchError::InvalidOutput(out.to_path_buf()))?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout_read(IO_TIMEOUT)
        .timeout_write(IO_TIMEOUT)
        .build();
    let download = Download {
        agent,
        url: format!("{endpoint}/orders/{order}"),
        endpoint,
        order,
        signer,
        partial,
    };

    let mut downloaded = 0;
    let mut restarts = 0;
    loop {
        let resume_from = download.partial_len()?;
        match download.request(resume_from)? {
            Answer::Body {
                response,
                start,
                total,
            } => {
                let (done, received) = download.receive(response, start, total, progress)?;
                downloaded += received;
                match total {
                    Some(total) if done < total && received > 0 => {
                        // A server may send fewer bytes than asked; ask for the rest.
                        continue;
                    }
                    Some(total) if done != total => {
                        return Err(FetchError::Incomplete {
                            done,
                            total,
                            partial: download.partial,
                        })
                    }
                    _ => {}
                }
                return download.finish(out, done, start, downloaded, check);
            }
            // The `.partial` already holds the whole file (an earlier run stopped just
            // before renaming it).
            Answer::Unsatisfied { total } if total == resume_from => {
                progress(total, Some(total));
                return download.finish(out, total, resume_from, downloaded, check);
            }
            Answer::Unsatisfied { total } if total < resume_from && restarts < MAX_RESTARTS => {
                log::warn!(
                    "{} is longer ({resume_from} bytes) than the delivery ({total} bytes): \
                     starting over",
                    download.partial.display()
                );
                restarts += 1;
                fs::remove_file(&download.partial).map_err(|source| FetchError::Io {
                    path: download.partial.clone(),
                    source,
                })?;
            }
            Answer::Unsatisfied { total } => {
                return Err(download.protocol(format!(
                    "it refused bytes {resume_from}- of a {total}-byte delivery; delete {} and \
                     try again",
                    download.partial.display()
                )))
            }
        }
    }
}

/// The payout claims the custodian at `endpoint` holds for the owner `signer` (crate docs,
/// "Payout claims"): each is the arguments of one `revenue.claim`.
pub fn fetch_payouts(endpoint: &str, signer: &Pair) -> Result<Vec<crate::PayoutClaim>, FetchError> {
    fetch_owner_json(endpoint, signer, OwnerRequest::Payouts, "the payout claims")
}

/// The owner `signer`'s category salt at the custodian at `endpoint` (crate docs, "Category
/// salts"), checked to be 32 bytes for this owner.
pub fn fetch_category_salt(endpoint: &str, signer: &Pair) -> Result<[u8; 32], FetchError> {
    let answer: crate::CategorySaltAnswer = fetch_owner_json(
        endpoint,
        signer,
        OwnerRequest::CategorySalt,
        "the category salt",
    )?;
    let protocol = |detail: String| FetchError::Protocol {
        endpoint: normalize_endpoint(endpoint.trim()).to_string(),
        detail,
    };
    let owner = format!("0x{}", hex::encode(signer.public().0));
    if !answer.owner.eq_ignore_ascii_case(&owner) {
        return Err(protocol(format!(
            "it answered with the salt of {}, not of {owner}",
            answer.owner
        )));
    }
    let digits = answer.salt.strip_prefix("0x").unwrap_or(&answer.salt);
    hex::decode(digits)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| protocol(format!("the salt {} is not 32 bytes of hex", answer.salt)))
}

/// `GET` `what` from `endpoint`, signed by `signer`, and read its JSON (`described` in errors).
fn fetch_owner_json<T: serde::de::DeserializeOwned>(
    endpoint: &str,
    signer: &Pair,
    what: OwnerRequest,
    described: &str,
) -> Result<T, FetchError> {
    let endpoint = checked_endpoint(endpoint)?;
    let auth = Authorization::sign_owner(signer, what, &endpoint, unix_now());
    let response = ureq::AgentBuilder::new()
        .timeout_connect(CONNECT_TIMEOUT)
        .timeout(IO_TIMEOUT)
        .build()
        .get(&format!("{endpoint}{}", what.path()))
        .set("Authorization", &auth.to_string())
        .call();
    match response {
        Ok(response) => response
            .into_string()
            .map_err(|error| error.to_string())
            .and_then(|body| serde_json::from_str(&body).map_err(|error| error.to_string()))
            .map_err(|detail| FetchError::Protocol {
                endpoint: endpoint.clone(),
                detail: format!("{described} are not the expected JSON: {detail}"),
            }),
        Err(ureq::Error::Status(401, response)) => Err(FetchError::Unauthorized {
            detail: short_body(response),
        }),
        Err(ureq::Error::Status(status, response)) => Err(FetchError::Status {
            endpoint,
            status,
            detail: short_body(response),
        }),
        Err(ureq::Error::Transport(transport)) => Err(FetchError::Connect {
            endpoint,
            detail: transport.to_string(),
        }),
    }
}

fn checked_endpoint(endpoint: &str) -> Result<String, FetchError> {
    let normalized = normalize_endpoint(endpoint.trim());
    let rest = normalized
        .strip_prefix("http://")
        .or_else(|| normalized.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() => Ok(normalized.to_string()),
        _ => Err(FetchError::InvalidEndpoint {
            endpoint: endpoint.to_string(),
        }),
    }
}

/// The server's answer to one request, reduced to what the download loop needs.
enum Answer {
    /// 200 (`start` = 0) or 206: bytes from `start` follow; `total` is the file length.
    Body {
        response: ureq::Response,
        start: u64,
        total: Option<u64>,
    },
    /// 416: nothing at or after the requested offset; the file has `total` bytes.
    Unsatisfied { total: u64 },
}

/// One fetch's fixed parts.
struct Download<'a> {
    agent: ureq::Agent,
    endpoint: String,
    url: String,
    order: u64,
    signer: &'a Pair,
    partial: PathBuf,
}

impl Download<'_> {
    fn partial_len(&self) -> Result<u64, FetchError> {
        match fs::metadata(&self.partial) {
            Ok(metadata) => Ok(metadata.len()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(source) => Err(self.io_error(source)),
        }
    }

    /// Sends a freshly signed GET, from `resume_from` if it is not 0.
    fn request(&self, resume_from: u64) -> Result<Answer, FetchError> {
        let auth = Authorization::sign(self.signer, self.order, &self.endpoint, unix_now());
        let mut request = self
            .agent
            .get(&self.url)
            .set("Authorization", &auth.to_string())
            // Byte offsets must refer to the file itself, never to a compressed form.
            .set("Accept-Encoding", "identity");
        if resume_from > 0 {
            request = request.set("Range", &format!("bytes={resume_from}-"));
        }
        match request.call() {
            Ok(response) => self.classify_success(response, resume_from),
            Err(ureq::Error::Status(416, response)) if resume_from > 0 => {
                match self.content_range(&response)? {
                    Some(ContentRange::Unsatisfied { total }) => Ok(Answer::Unsatisfied { total }),
                    _ => Err(self.protocol("416 without `Content-Range: bytes */LENGTH`".into())),
                }
            }
            Err(ureq::Error::Status(status, response)) => Err(self.status_error(status, response)),
            Err(ureq::Error::Transport(transport)) => Err(self.transport_error(&transport)),
        }
    }

    fn classify_success(
        &self,
        response: ureq::Response,
        resume_from: u64,
    ) -> Result<Answer, FetchError> {
        match response.status() {
            200 => {
                let total = match response.header("Content-Length") {
                    Some(value) => Some(value.trim().parse::<u64>().map_err(|_| {
                        self.protocol(format!("cannot read Content-Length `{value}`"))
                    })?),
                    None => None,
                };
                if resume_from > 0 {
                    log::info!("the server sent the whole delivery again: starting over");
                }
                Ok(Answer::Body {
                    response,
                    start: 0,
                    total,
                })
            }
            206 => match self.content_range(&response)? {
                Some(ContentRange::Bytes { start, total, .. }) if start == resume_from => {
                    Ok(Answer::Body {
                        response,
                        start,
                        total: Some(total),
                    })
                }
                _ => Err(self.protocol(format!(
                    "206 without `Content-Range: bytes {resume_from}-…/LENGTH` for the range \
                     requested"
                ))),
            },
            status => Err(self.status_error(status, response)),
        }
    }

    fn content_range(&self, response: &ureq::Response) -> Result<Option<ContentRange>, FetchError> {
        response
            .header("Content-Range")
            .map(|value| value.parse().map_err(|detail| self.protocol(detail)))
            .transpose()
    }

    /// Writes the body into the `.partial` from offset `start`; returns the length the
    /// `.partial` then has and the bytes received.
    fn receive(
        &self,
        response: ureq::Response,
        start: u64,
        total: Option<u64>,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<(u64, u64), FetchError> {
        let mut file = self.open_partial_at(start)?;
        let mut reader = response.into_reader();
        let mut buffer = vec![0u8; CHUNK];
        let mut done = start;
        progress(done, total);
        loop {
            let read = match reader.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    // What arrived is already in the file (unbuffered writes), so the
                    // next run resumes from `done`.
                    return Err(FetchError::Interrupted {
                        endpoint: self.endpoint.clone(),
                        done,
                        source,
                    });
                }
            };
            file.write_all(&buffer[..read])
                .map_err(|source| self.io_error(source))?;
            done += read as u64;
            progress(done, total);
        }
        file.sync_data().map_err(|source| self.io_error(source))?;
        Ok((done, done - start))
    }

    /// The `.partial`, created if needed, cut to `start` bytes and positioned there.
    fn open_partial_at(&self, start: u64) -> Result<File, FetchError> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.partial)
            .map_err(|source| self.io_error(source))?;
        let len = file
            .metadata()
            .map_err(|source| self.io_error(source))?
            .len();
        if len < start {
            return Err(self.io_error(io::Error::other(format!(
                "it shrank to {len} bytes while resuming from {start}: is another download \
                 writing it? Run the fetch again"
            ))));
        }
        file.set_len(start)
            .and_then(|()| file.seek(SeekFrom::Start(start)).map(drop))
            .map_err(|source| self.io_error(source))?;
        Ok(file)
    }

    /// Holds the complete `.partial` to `check`, then renames it to `out`; a refused
    /// `.partial` is removed, and `out` is not touched.
    fn finish(
        &self,
        out: &Path,
        size: u64,
        resumed_from: u64,
        downloaded: u64,
        check: &mut dyn FnMut(&Path, u64) -> Result<(), String>,
    ) -> Result<FetchReport, FetchError> {
        if let Err(detail) = check(&self.partial, size) {
            fs::remove_file(&self.partial).map_err(|source| self.io_error(source))?;
            return Err(FetchError::Rejected {
                out: out.to_path_buf(),
                detail,
            });
        }
        fs::rename(&self.partial, out).map_err(|source| FetchError::Io {
            path: out.to_path_buf(),
            source,
        })?;
        Ok(FetchReport {
            path: out.to_path_buf(),
            size,
            resumed_from,
            downloaded,
        })
    }

    fn status_error(&self, status: u16, response: ureq::Response) -> FetchError {
        let detail = short_body(response);
        match status {
            401 => FetchError::Unauthorized { detail },
            403 => FetchError::NotBuyer { order: self.order },
            404 => FetchError::NotFound {
                endpoint: self.endpoint.clone(),
                order: self.order,
            },
            503 => FetchError::NotReady {
                endpoint: self.endpoint.clone(),
                order: self.order,
            },
            _ => FetchError::Status {
                endpoint: self.endpoint.clone(),
                status,
                detail,
            },
        }
    }

    fn transport_error(&self, transport: &ureq::Transport) -> FetchError {
        match transport.kind() {
            ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => {
                FetchError::InvalidEndpoint {
                    endpoint: self.endpoint.clone(),
                }
            }
            _ => FetchError::Connect {
                endpoint: self.endpoint.clone(),
                detail: transport.to_string(),
            },
        }
    }

    fn protocol(&self, detail: String) -> FetchError {
        FetchError::Protocol {
            endpoint: self.endpoint.clone(),
            detail,
        }
    }

    fn io_error(&self, source: io::Error) -> FetchError {
        FetchError::Io {
            path: self.partial.clone(),
            source,
        }
    }
}

/// The first line-ish of an error body, for messages (the server's are one short line).
fn short_body(response: ureq::Response) -> String {
    let mut body = Vec::new();
    // An unreadable body only costs the detail, not the error itself.
    let _ = response.into_reader().take(1024).read_to_end(&mut body);
    let text = String::from_utf8_lossy(&body).trim().to_string();
    if text.is_empty() {
        "no details given".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_sits_beside_out() {
        assert_eq!(
            partial_path(Path::new("/tmp/x/order-7.medc")),
            Some(PathBuf::from("/tmp/x/order-7.medc.partial"))
        );
        assert_eq!(
            partial_path(Path::new("d")),
            Some(PathBuf::from("d.partial"))
        );
        assert_eq!(partial_path(Path::new("/")), None);
    }

    #[test]
    fn endpoint_is_checked_and_normalised() {
        assert_eq!(
            checked_endpoint(" http://127.0.0.1:9980// ")
                .ok()
                .as_deref(),
            Some("http://127.0.0.1:9980")
        );
        assert!(matches!(
            checked_endpoint("127.0.0.1:9980"),
            Err(FetchError::InvalidEndpoint { .. })
        ));
    }
}
