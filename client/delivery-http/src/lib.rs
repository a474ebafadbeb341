//! Sealed deliveries over HTTP, from the custodian hospital's node to the order's buyer.
//!
//! Both sides live in this crate so that the request-signing format below is defined
//! exactly once:
//!
//! - [`serve`] (async, hyper 1) answers `GET` and `HEAD /orders/{order}` with the sealed
//!   delivery file of that order, streamed from disk, with single byte ranges so that
//!   downloads of multi-GB files can resume. Which file belongs to which order, and who
//!   bought it, comes from the node through [`DeliveryLookup`].
//! - [`fetch`] (blocking, ureq) downloads a delivery into `out` through `out.partial`,
//!   resuming from an existing `.partial`; [`fetch_checked`] holds the finished `.partial`
//!   to the caller's check (the chain's digest) before it replaces `out`.
//!
//! # Request authentication (public format, version 1)
//!
//! Other wallets implement this format, so it is fixed; a change needs a new version tag.
//!
//! Every request is signed by the buyer's sr25519 **account** key (the key that placed
//! the order on chain). The signed message is
//!
//! ```text
//! message = b"medledger:delivery-request:v1"          (29 ASCII bytes, no length prefix)
//!        ++ SCALE(order: u64)                        (8 bytes, little-endian)
//!        ++ SCALE(endpoint: Vec<u8>)                 (compact length prefix, then the bytes)
//!        ++ SCALE(timestamp_unix_secs: u64)          (8 bytes, little-endian)
//! ```
//!
//! - `order` is the on-chain order id.
//! - `endpoint` is the server's configured public base URL as UTF-8, exactly as the
//!   custodian publishes it, e.g. `http://127.0.0.1:9980`, **without** a trailing slash
//!   (both [`serve`] and [`fetch`] strip trailing slashes before signing or checking).
//!   Binding the endpoint stops a signature made for one custodian from being replayed
//!   against another.
//! - `timestamp_unix_secs` is the signer's clock in seconds since 1970-01-01 UTC. The
//!   server refuses timestamps more than [`ServerConfig::max_clock_skew`] (default
//!   [`DEFAULT_MAX_CLOCK_SKEW`], 300 s) away from its own clock, in either direction.
//!
//! The signature is a Substrate sr25519 signature (schnorrkel, signing context
//! `b"substrate"`), i.e. what `sp_core::sr25519::Pair::sign(&message)` produces. The
//! server accepts a signature over either
//!
//! 1. the bare `message`, or
//! 2. `b"<Bytes>" ++ message ++ b"</Bytes>"`, which is what polkadot.js
//!    `signRaw({ type: "bytes", data })` and browser extensions actually sign.
//!
//! The request carries it in one header:
//!
//! ```text
//! Authorization: MedLedger-Sr25519 account=0x<32-byte public key, hex>, timestamp=<u64 decimal>, signature=0x<64-byte signature, hex>
//! ```
//!
//! The scheme name is compared case-insensitively; parameters may come in any order,
//! separated by commas with optional spaces; values may be double-quoted; the `0x` prefix
//! is optional when parsing and always written; unknown parameters are ignored.
//!
//! # Payout claims (format version 2)
//!
//! `GET /payouts` returns, as a JSON array of [`PayoutClaim`], the signer's leaf (cumulative
//! amount and salt) in the latest payout root of each custodian whose books the node holds (an
//! empty array if none).
//! The request is signed like a delivery request, over
//!
//! ```text
//! message = b"medledger:payout-request:v1"            (27 ASCII bytes, no length prefix)
//!        ++ SCALE(endpoint: Vec<u8>)                 (compact length prefix, then the bytes)
//!        ++ SCALE(timestamp_unix_secs: u64)          (8 bytes, little-endian)
//! ```
//!
//! so that only the owner learns what it is owed before it claims.
//!
//! # Category salts
//!
//! `GET /category-salt` returns [`CategorySaltAnswer`], `{"owner": "0x…", "salt": "0x…"}`: the
//! signer's 32-byte salt at this custodian, with which an owner's wallet names a category in
//! a consent without showing it (`medledger_fhir::category_tag`). It is signed like a payout
//! request, with the prefix `b"medledger:category-salt-request:v1"` (34 ASCII bytes). A node
//! that holds no hospital data answers 503.
//!
//! Both owner requests may come from a web page of any origin: the server answers the CORS
//! preflight (`OPTIONS`, allowing the `Authorization` header) and sends
//! `Access-Control-Allow-Origin: *`. The answer depends on the signature only, never on
//! cookies, so no origin learns more than the signer's own answer.
//!
//! # Server answers
//!
//! | case | status |
//! |---|---|
//! | any other method or path | 404 |
//! | `OPTIONS /payouts` or `/category-salt` (CORS preflight) | 204 |
//! | missing or malformed `Authorization` | 401, `WWW-Authenticate: MedLedger-Sr25519` |
//! | timestamp outside the allowed skew, or a signature that does not verify | 401 |
//! | valid signature, but not the order's buyer, or no such order | 403 (the two are not distinguished) |
//! | authorised, but the file is not in the delivery folder (yet) | 503, `Retry-After` |
//! | authorised, `Range: bytes=N-`, `bytes=N-M` or `bytes=-S` (one range) | 206 with `Content-Range` |
//! | authorised, range starts at or after the end | 416 with `Content-Range: bytes */LEN` |
//! | authorised, no range, several ranges, or an `If-Range` that does not match the `ETag` | 200, the whole file |
//!
//! Error bodies are short plain text saying what to do. No file byte leaves the server
//! before the request is authenticated and authorised.

mod auth;
mod client;
mod payouts;
mod range;
mod server;

pub use auth::{
    normalize_endpoint, owner_request_message, payout_request_message, request_message, unix_now,
    wrap_bytes, AuthParseError, Authorization, OwnerRequest, AUTH_SCHEME, BYTES_PREFIX,
    BYTES_SUFFIX, CATEGORY_SALT_MESSAGE_PREFIX, MESSAGE_PREFIX, PAYOUT_MESSAGE_PREFIX,
};
pub use client::{
    fetch, fetch_category_salt, fetch_checked, fetch_payouts, partial_path, FetchError, FetchReport,
};
pub use payouts::{CategorySaltAnswer, PayoutClaim};
pub use range::ContentRange;
pub use server::{serve, Delivery, DeliveryLookup, ServerConfig, DEFAULT_MAX_CLOCK_SKEW};
