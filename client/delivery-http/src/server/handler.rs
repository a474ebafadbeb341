//! One request: route, authenticate, authorise, then stream the file (or a range of it).
//! Each step returns the finished error response itself, so no file byte can be reached
//! without passing all of them.

use std::convert::Infallible;
use std::io::{self, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use tokio::fs::File;
use tokio::io::AsyncSeekExt;

use super::body::FileBody;
use super::{Delivery, DeliveryLookup};
use crate::auth::{unix_now, Authorization, OwnerRequest, AUTH_SCHEME};
use crate::range::{self, ContentRange, RangeDecision};

pub(crate) type ResponseBody = UnsyncBoxBody<Bytes, io::Error>;

/// What every request needs; shared by all connections.
pub(crate) struct State {
    /// Normalised (no trailing slash), as signed.
    pub(crate) endpoint: String,
    pub(crate) max_clock_skew: Duration,
    pub(crate) lookup: Arc<dyn DeliveryLookup>,
}

/// Seconds a buyer is told to wait when the delivery file is not on disk yet.
const RETRY_AFTER_SECS: u64 = 60;

/// The hyper service function; every outcome is a response, never a connection error.
/// The request body is dropped unread: GET and HEAD carry none worth reading.
pub(crate) async fn handle<B>(
    request: Request<B>,
    state: Arc<State>,
) -> Result<Response<ResponseBody>, Infallible> {
    let (request, _body) = request.into_parts();
    Ok(respond(&request, &state).await)
}

async fn respond(request: &Parts, state: &State) -> Response<ResponseBody> {
    let order = match route(request) {
        Some(Route::Order(order)) => order,
        Some(Route::Owner(what)) => {
            let mut response = if request.method == Method::OPTIONS {
                preflight()
            } else {
                owner_answer(request, state, what).await
            };
            allow_any_origin(&mut response);
            return response;
        }
        None => return text(
            StatusCode::NOT_FOUND,
            "not found: this server only answers GET or HEAD /orders/{order}, GET /payouts and \
             GET /category-salt\n"
                .into(),
        ),
    };
    let account = match authenticate(request, state, &format!("order {order}"), |auth| {
        auth.verify(order, &state.endpoint)
    }) {
        Ok(account) => account,
        Err(response) => return response,
    };
    let delivery = match authorise(state, order, account).await {
        Ok(delivery) => delivery,
        Err(response) => return response,
    };
    match &delivery.path {
        Some(path) => send_file(request, order, path).await,
        None => not_ready(order),
    }
}

/// 503 with `Retry-After`: the buyer may have the order, but its file is not servable yet.
fn not_ready(order: u64) -> Response<ResponseBody> {
    let mut response = text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the delivery of order {order} is not ready on this node yet: try again later\n"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
    response
}

/// What a request asks for.
enum Route {
    /// `GET` or `HEAD /orders/{order}` with a decimal `u64` order id.
    Order(u64),
    /// `GET /payouts` or `GET /category-salt` (or the browser's `OPTIONS` before either): what
    /// the signer asks about itself.
    Owner(OwnerRequest),
}

fn route(request: &Parts) -> Option<Route> {
    if request.method == Method::GET || request.method == Method::OPTIONS {
        let path = request.uri.path();
        if let Some(what) = [OwnerRequest::Payouts, OwnerRequest::CategorySalt]
            .into_iter()
            .find(|what| what.path() == path)
        {
            return Some(Route::Owner(what));
        }
    }
    if request.method != Method::GET && request.method != Method::HEAD {
        return None;
    }
    let id = request.uri.path().strip_prefix("/orders/")?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    id.parse().ok().map(Route::Order)
}

/// What the signer asked about itself, as JSON; any validly signed request gets its own
/// answer: its payout claims (maybe none), or its category salt.
async fn owner_answer(
    request: &Parts,
    state: &State,
    what: OwnerRequest,
) -> Response<ResponseBody> {
    let account = match authenticate(request, state, what.path(), |auth| {
        auth.verify_owner(what, &state.endpoint)
    }) {
        Ok(account) => account,
        Err(response) => return response,
    };
    let lookup = Arc::clone(&state.lookup);
    let answer = tokio::task::spawn_blocking(move || match what {
        OwnerRequest::Payouts => serde_json::to_vec(&lookup.payouts(account)).map(Some),
        OwnerRequest::CategorySalt => lookup
            .category_salt(account)
            .map(|salt| {
                serde_json::to_vec(&crate::CategorySaltAnswer {
                    owner: format!("0x{}", hex::encode(account)),
                    salt: format!("0x{}", hex::encode(salt)),
                })
            })
            .transpose(),
    })
    .await;
    match answer {
        Ok(Ok(Some(json))) => whole(StatusCode::OK, "application/json", Bytes::from(json)),
        Ok(Ok(None)) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "this node holds no hospital data store, so it has no category salts: ask the \
             hospital's delivery node\n"
                .into(),
        ),
        Ok(Err(error)) => {
            log::error!("encoding the answer to {}: {error}", what.path());
            internal_error()
        }
        Err(error) => {
            log::error!("{} lookup failed: {error}", what.path());
            internal_error()
        }
    }
}

/// The answer to a browser's CORS preflight: a page of any origin may send the signed
/// `GET`. Safe because the answer depends only on the signature in `Authorization`, never on
/// cookies or the network the browser is in.
fn preflight() -> Response<ResponseBody> {
    let mut response = Response::new(empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization"),
    );
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(600u32));
    response
}

fn allow_any_origin(response: &mut Response<ResponseBody>) {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

/// The account that validly signed this request for `what` (`verifies` checks the signature
/// over that resource's message), or the 401 to send.
fn authenticate(
    request: &Parts,
    state: &State,
    what: &str,
    verifies: impl FnOnce(&Authorization) -> bool,
) -> Result<[u8; 32], Response<ResponseBody>> {
    let Some(value) = request.headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(format!(
            "missing Authorization header: sign the request with the buyer account's sr25519 key \
             and send `{AUTH_SCHEME} account=0x<public key>, timestamp=<unix secs>, \
             signature=0x<signature>`\n"
        )));
    };
    let auth = value
        .to_str()
        .map_err(|_| crate::auth::AuthParseError::NotAscii)
        .and_then(Authorization::parse)
        .map_err(|error| {
            unauthorized(format!(
                "malformed Authorization header ({error}): send `{AUTH_SCHEME} \
                 account=0x<32-byte hex>, timestamp=<unix secs>, signature=0x<64-byte hex>`\n"
            ))
        })?;

    let now = unix_now();
    let skew = now.abs_diff(auth.timestamp);
    if skew > state.max_clock_skew.as_secs() {
        return Err(unauthorized(format!(
            "request timestamp {} is {skew} s away from this server's clock ({now}); at most {} s \
             is allowed: set your clock right and sign a fresh request\n",
            auth.timestamp,
            state.max_clock_skew.as_secs()
        )));
    }

    if !verifies(&auth) {
        log::debug!("{what}: bad signature from 0x{}", hex::encode(auth.account));
        return Err(unauthorized(format!(
            "the signature does not verify for account 0x{} over {what} at endpoint {}: \
             sign with that account's key, over exactly this endpoint\n",
            hex::encode(auth.account),
            state.endpoint
        )));
    }
    Ok(auth.account)
}

/// The order's delivery if `account` bought it, else the 403 (unknown orders get the
/// same answer, so strangers cannot probe which orders exist here).
async fn authorise(
    state: &State,
    order: u64,
    account: [u8; 32],
) -> Result<Delivery, Response<ResponseBody>> {
    let lookup = Arc::clone(&state.lookup);
    match tokio::task::spawn_blocking(move || lookup.delivery(order)).await {
        Ok(Some(delivery)) if delivery.buyer == account => Ok(delivery),
        Ok(_) => {
            log::debug!("order {order}: refused 0x{}", hex::encode(account));
            Err(text(
                StatusCode::FORBIDDEN,
                format!(
                    "this account did not buy order {order}: sign with the account that placed \
                     the order\n"
                ),
            ))
        }
        Err(error) => {
            log::error!("delivery lookup for order {order} failed: {error}");
            Err(internal_error())
        }
    }
}

async fn send_file(request: &Parts, order: u64, path: &Path) -> Response<ResponseBody> {
    let mut file = match File::open(path).await {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            log::warn!("order {order}: delivery file {} is missing", path.display());
            return not_ready(order);
        }
        Err(error) => {
            log::error!("order {order}: cannot open {}: {error}", path.display());
            return internal_error();
        }
    };
    let metadata = match file.metadata().await {
        Ok(metadata) if metadata.is_file() => metadata,
        Ok(_) => {
            log::error!("order {order}: {} is not a regular file", path.display());
            return internal_error();
        }
        Err(error) => {
            log::error!("order {order}: cannot stat {}: {error}", path.display());
            return internal_error();
        }
    };
    let len = metadata.len();
    let mtime_nanos = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{len}-{mtime_nanos}\"");

    // A stale If-Range (the file changed since the client's first part) means the
    // client must start over: send the whole file.
    let if_range_ok = request
        .headers
        .get(header::IF_RANGE)
        .is_none_or(|value| value.as_bytes() == etag.as_bytes());
    let range_header = request
        .headers
        .get(header::RANGE)
        .filter(|_| if_range_ok)
        .and_then(|value| value.to_str().ok());

    let (status, start, count, content_range) = match range::decide(range_header, len) {
        RangeDecision::Full => (StatusCode::OK, 0, len, None),
        RangeDecision::Partial { start, end } => (
            StatusCode::PARTIAL_CONTENT,
            start,
            end - start + 1,
            Some(ContentRange::Bytes {
                start,
                end,
                total: len,
            }),
        ),
        RangeDecision::Unsatisfiable => {
            let mut response = text(
                StatusCode::RANGE_NOT_SATISFIABLE,
                format!(
                    "the requested range starts at or after the end of this {len}-byte \
                     delivery: ask for bytes=N- with N below {len}\n"
                ),
            );
            set(
                &mut response,
                header::CONTENT_RANGE,
                &ContentRange::Unsatisfied { total: len }.to_string(),
            );
            set(&mut response, header::ETAG, &etag);
            return response;
        }
    };

    let body = if request.method == Method::HEAD {
        empty()
    } else {
        if start > 0 {
            if let Err(error) = file.seek(SeekFrom::Start(start)).await {
                log::error!("order {order}: cannot seek in {}: {error}", path.display());
                return internal_error();
            }
        }
        FileBody::new(file, count).boxed_unsync()
    };
    log::info!(
        "order {order}: sending {count} of {len} bytes from offset {start}{}",
        if request.method == Method::HEAD {
            " (HEAD)"
        } else {
            ""
        }
    );

    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // Medical data: no shared cache may keep a copy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set(&mut response, header::ETAG, &etag);
    if let Some(content_range) = content_range {
        set(
            &mut response,
            header::CONTENT_RANGE,
            &content_range.to_string(),
        );
    }
    response
}

fn unauthorized(message: String) -> Response<ResponseBody> {
    let mut response = text(StatusCode::UNAUTHORIZED, message);
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(AUTH_SCHEME),
    );
    response
}

fn internal_error() -> Response<ResponseBody> {
    text(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the delivery server failed to read this delivery: tell the custodian hospital (details \
         are in its node's log)\n"
            .into(),
    )
}

/// A short plain-text answer (hyper leaves the body out for HEAD).
fn text(status: StatusCode, message: String) -> Response<ResponseBody> {
    whole(status, "text/plain; charset=utf-8", Bytes::from(message))
}

/// A response with all of `body` in memory, never cached.
fn whole(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<ResponseBody> {
    let mut response = Response::new(
        Full::new(body)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn empty() -> ResponseBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Sets a header whose value we formatted ourselves (always visible ASCII).
fn set(response: &mut Response<ResponseBody>, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            response.headers_mut().insert(name, value);
        }
        Err(_) => log::error!("delivery server: invalid {name} value {value:?} left out"),
    }
}
