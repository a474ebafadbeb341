//! The custodian's side: an HTTP/1.1 server that hands each order's sealed delivery to
//! its buyer only.

mod body;
mod handler;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::auth::normalize_endpoint;

/// How far a request's timestamp may be from the server's clock, either way, by default.
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// A client that has not sent its request headers within this time is dropped, so idle
/// or slow connections cannot pile up.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// After a failed `accept` (typically out of file descriptors), wait this long before
/// the next one instead of spinning.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// How the server identifies itself in signed requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The public base URL buyers use, e.g. `http://127.0.0.1:9980` or
    /// `https://delivery.hospital.example`; it is part of every signed message, so it
    /// must be exactly what buyers are told. Trailing slashes are ignored.
    pub endpoint: String,
    /// Largest accepted difference between a request's timestamp and this server's clock.
    pub max_clock_skew: Duration,
}

impl ServerConfig {
    /// `endpoint` with the default clock skew ([`DEFAULT_MAX_CLOCK_SKEW`]).
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
        }
    }
}

/// One order's delivery as this node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The buyer's account (sr25519 public key): the only signer who gets the file.
    pub buyer: [u8; 32],
    /// The sealed delivery file on this node's disk; `None` while it is not ready to be
    /// served (the buyer is told to retry: 503 with `Retry-After`).
    pub path: Option<PathBuf>,
}

/// Where the server learns who bought an order and where its delivery file is; the node
/// implements it from chain state and its delivery folder.
///
/// Called on a blocking thread (it may read the database), once per authenticated request.
pub trait DeliveryLookup: Send + Sync {
    /// The delivery of `order`, or `None` if this node has none for it.
    fn delivery(&self, order: u64) -> Option<Delivery>;

    /// Every payout leaf this node's books hold for `owner`, claimed or not (the chain says
    /// which); none by default.
    fn payouts(&self, _owner: [u8; 32]) -> Vec<crate::PayoutClaim> {
        Vec::new()
    }

    /// `owner`'s category salt at this hospital, or `None` if this node holds no hospital
    /// data (the default).
    fn category_salt(&self, _owner: [u8; 32]) -> Option<[u8; 32]> {
        None
    }
}

impl<F> DeliveryLookup for F
where
    F: Fn(u64) -> Option<Delivery> + Send + Sync,
{
    fn delivery(&self, order: u64) -> Option<Delivery> {
        self(order)
    }
}

/// Serves deliveries on `listener` until the returned future is dropped; dropping it also
/// closes every open connection (they run in a task set the future owns).
///
/// Fails at once, with [`io::ErrorKind::InvalidInput`], if `config.endpoint` is not an
/// `http://` or `https://` URL; after that it only returns by being dropped (failed
/// accepts are logged and retried).
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    lookup: Arc<dyn DeliveryLookup>,
) -> io::Result<()> {
    let endpoint = checked_endpoint(&config.endpoint)?;
    let state = Arc::new(handler::State {
        endpoint,
        max_clock_skew: config.max_clock_skew,
        lookup,
    });
    if let Ok(local) = listener.local_addr() {
        log::info!("serving deliveries on {local} as {}", state.endpoint);
    }
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(stream, peer, Arc::clone(&state)));
                }
                Err(error) => {
                    log::warn!("delivery server: accepting a connection failed: {error}");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
            // Reap finished connections so the set does not grow without bound.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn checked_endpoint(endpoint: &str) -> io::Result<String> {
    let normalized = normalize_endpoint(endpoint.trim());
    let rest = normalized
        .strip_prefix("http://")
        .or_else(|| normalized.strip_prefix("https://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
            Ok(normalized.to_string())
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "delivery endpoint `{endpoint}` is not a base URL: give the public URL buyers \
                 use, e.g. http://127.0.0.1:9980"
            ),
        )),
    }
}

async fn serve_connection(stream: TcpStream, peer: SocketAddr, state: Arc<handler::State>) {
    let service = service_fn(move |request| handler::handle(request, Arc::clone(&state)));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    if let Err(error) = builder
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        log::debug!("delivery connection from {peer} ended with an error: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_must_be_a_base_url() {
        assert_eq!(
            checked_endpoint("http://127.0.0.1:9980/").ok().as_deref(),
            Some("http://127.0.0.1:9980")
        );
        assert!(checked_endpoint("https://h.example/medledger").is_ok());
        assert!(checked_endpoint("127.0.0.1:9980").is_err());
        assert!(checked_endpoint("http://").is_err());
        assert!(checked_endpoint("http://a b").is_err());
    }
}
