//! The signed request format (crate docs, "Request authentication"): the message, the
//! `Authorization` header, and verification. Server and client both use only this module,
//! so the format exists once.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use codec::Encode;
use sp_core::sr25519::{Pair, Public, Signature};
use sp_core::Pair as _;

/// Domain-separation tag at the start of every signed message; the `v1` changes with the
/// format.
pub const MESSAGE_PREFIX: &[u8] = b"medledger:delivery-request:v1";

/// Domain-separation tag of a signed request for the signer's payout claims.
pub const PAYOUT_MESSAGE_PREFIX: &[u8] = b"medledger:payout-request:v1";

/// Domain-separation tag of a signed request for the signer's category salt.
pub const CATEGORY_SALT_MESSAGE_PREFIX: &[u8] = b"medledger:category-salt-request:v1";

/// What a data owner asks a custodian's node for about itself; each has its own signed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerRequest {
    /// `GET /payouts`: its payout claims.
    Payouts,
    /// `GET /category-salt`: its category salt.
    CategorySalt,
}

impl OwnerRequest {
    pub fn prefix(self) -> &'static [u8] {
        match self {
            Self::Payouts => PAYOUT_MESSAGE_PREFIX,
            Self::CategorySalt => CATEGORY_SALT_MESSAGE_PREFIX,
        }
    }

    /// The path it is served at.
    pub fn path(self) -> &'static str {
        match self {
            Self::Payouts => "/payouts",
            Self::CategorySalt => "/category-salt",
        }
    }
}

/// The `Authorization` scheme name (also sent in `WWW-Authenticate`).
pub const AUTH_SCHEME: &str = "MedLedger-Sr25519";

/// What polkadot.js `signRaw` puts before raw bytes it signs.
pub const BYTES_PREFIX: &[u8] = b"<Bytes>";

/// What polkadot.js `signRaw` puts after raw bytes it signs.
pub const BYTES_SUFFIX: &[u8] = b"</Bytes>";

/// The endpoint as it is signed: trailing slashes removed, so `http://h:1/` and
/// `http://h:1` sign the same message.
pub fn normalize_endpoint(endpoint: &str) -> &str {
    endpoint.trim_end_matches('/')
}

/// The bytes the buyer signs for a request of `order` from `endpoint` at `timestamp`
/// (Unix seconds). `endpoint` is used as given; pass it through [`normalize_endpoint`].
pub fn request_message(order: u64, endpoint: &str, timestamp: u64) -> Vec<u8> {
    let mut message = MESSAGE_PREFIX.to_vec();
    order.encode_to(&mut message);
    endpoint.as_bytes().to_vec().encode_to(&mut message);
    timestamp.encode_to(&mut message);
    message
}

/// The bytes a data owner signs to ask `endpoint` for its payout claims at `timestamp`.
pub fn payout_request_message(endpoint: &str, timestamp: u64) -> Vec<u8> {
    owner_request_message(OwnerRequest::Payouts, endpoint, timestamp)
}

/// The bytes a data owner signs to ask `endpoint` for `what` about itself at `timestamp`.
pub fn owner_request_message(what: OwnerRequest, endpoint: &str, timestamp: u64) -> Vec<u8> {
    let mut message = what.prefix().to_vec();
    endpoint.as_bytes().to_vec().encode_to(&mut message);
    timestamp.encode_to(&mut message);
    message
}

/// `<Bytes>` ++ `message` ++ `</Bytes>`: the form polkadot.js wallets sign.
pub fn wrap_bytes(message: &[u8]) -> Vec<u8> {
    [BYTES_PREFIX, message, BYTES_SUFFIX].concat()
}

/// Seconds since the Unix epoch by this machine's clock (0 if the clock is before 1970,
/// which the server's skew check then refuses with a message about the clock).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The contents of a `MedLedger-Sr25519` `Authorization` header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Authorization {
    /// The signer's sr25519 public key (its account id).
    pub account: [u8; 32],
    /// When the request was signed, Unix seconds.
    pub timestamp: u64,
    /// sr25519 signature over the bare or `<Bytes>`-wrapped [`request_message`].
    pub signature: [u8; 64],
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorization")
            .field("account", &format_args!("0x{}", hex::encode(self.account)))
            .field("timestamp", &self.timestamp)
            .field(
                "signature",
                &format_args!("0x{}", hex::encode(self.signature)),
            )
            .finish()
    }
}

/// Why an `Authorization` header could not be read; shown to the client in the 401 body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthParseError {
    #[error("the scheme is not MedLedger-Sr25519")]
    WrongScheme,
    #[error("the `{0}` parameter is missing")]
    Missing(&'static str),
    #[error("the `{0}` parameter appears twice")]
    Duplicate(&'static str),
    #[error("a parameter is not of the form key=value")]
    NotKeyValue,
    #[error("`{field}` must be {expected} bytes of hex")]
    BadHex {
        field: &'static str,
        expected: usize,
    },
    #[error("`timestamp` must be a decimal number of Unix seconds")]
    BadTimestamp,
    #[error("the header is not ASCII")]
    NotAscii,
}

impl Authorization {
    /// Signs a request for `order` from `endpoint` (normalised here) at `timestamp`
    /// with the bare-message form.
    pub fn sign(signer: &Pair, order: u64, endpoint: &str, timestamp: u64) -> Self {
        let message = request_message(order, normalize_endpoint(endpoint), timestamp);
        Self::signed(signer, &message, timestamp)
    }

    /// Signs a request for the signer's payout claims from `endpoint` at `timestamp`.
    pub fn sign_payouts(signer: &Pair, endpoint: &str, timestamp: u64) -> Self {
        Self::sign_owner(signer, OwnerRequest::Payouts, endpoint, timestamp)
    }

    /// Signs a request for `what` about the signer from `endpoint` at `timestamp`.
    pub fn sign_owner(signer: &Pair, what: OwnerRequest, endpoint: &str, timestamp: u64) -> Self {
        let message = owner_request_message(what, normalize_endpoint(endpoint), timestamp);
        Self::signed(signer, &message, timestamp)
    }

    fn signed(signer: &Pair, message: &[u8], timestamp: u64) -> Self {
        Self {
            account: signer.public().0,
            timestamp,
            signature: signer.sign(message).0,
        }
    }

    /// [`Self::verify`] for an owner's request for `what`.
    pub fn verify_owner(&self, what: OwnerRequest, endpoint: &str) -> bool {
        self.verifies(&owner_request_message(
            what,
            normalize_endpoint(endpoint),
            self.timestamp,
        ))
    }

    /// True if the signature is `account`'s over the request message for `order` and
    /// `endpoint` (normalised here), bare or `<Bytes>`-wrapped. The timestamp is only
    /// checked for being signed; its freshness is the caller's business.
    pub fn verify(&self, order: u64, endpoint: &str) -> bool {
        self.verifies(&request_message(
            order,
            normalize_endpoint(endpoint),
            self.timestamp,
        ))
    }

    fn verifies(&self, message: &[u8]) -> bool {
        let public = Public::from_raw(self.account);
        let signature = Signature::from_raw(self.signature);
        Pair::verify(&signature, message, &public)
            || Pair::verify(&signature, wrap_bytes(message), &public)
    }

    /// Reads a header value such as
    /// `MedLedger-Sr25519 account=0x…, timestamp=1700000000, signature=0x…`.
    pub fn parse(value: &str) -> Result<Self, AuthParseError> {
        let value = value.trim();
        let (scheme, params) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case(AUTH_SCHEME) {
            return Err(AuthParseError::WrongScheme);
        }
        let mut account = None;
        let mut timestamp = None;
        let mut signature = None;
        for param in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, raw) = param.split_once('=').ok_or(AuthParseError::NotKeyValue)?;
            let raw = raw.trim();
            let raw = raw
                .strip_prefix('"')
                .and_then(|r| r.strip_suffix('"'))
                .unwrap_or(raw);
            match key.trim().to_ascii_lowercase().as_str() {
                "account" => set_once(&mut account, "account", hex_array::<32>("account", raw)?)?,
                "timestamp" => {
                    let t = raw.parse().map_err(|_| AuthParseError::BadTimestamp)?;
                    set_once(&mut timestamp, "timestamp", t)?
                }
                "signature" => set_once(
                    &mut signature,
                    "signature",
                    hex_array::<64>("signature", raw)?,
                )?,
                // Unknown parameters are ignored so that later versions can add some.
                _ => {}
            }
        }
        Ok(Self {
            account: account.ok_or(AuthParseError::Missing("account"))?,
            timestamp: timestamp.ok_or(AuthParseError::Missing("timestamp"))?,
            signature: signature.ok_or(AuthParseError::Missing("signature"))?,
        })
    }
}

/// The header value, in the canonical form other implementations should send.
impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{AUTH_SCHEME} account=0x{}, timestamp={}, signature=0x{}",
            hex::encode(self.account),
            self.timestamp,
            hex::encode(self.signature)
        )
    }
}

fn set_once<T>(slot: &mut Option<T>, name: &'static str, value: T) -> Result<(), AuthParseError> {
    if slot.replace(value).is_some() {
        return Err(AuthParseError::Duplicate(name));
    }
    Ok(())
}

fn hex_array<const N: usize>(field: &'static str, raw: &str) -> Result<[u8; N], AuthParseError> {
    let digits = raw
        .strip_prefix("0x")
        .or_else(|| raw.strip_prefix("0X"))
        .unwrap_or(raw);
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|_| AuthParseError::BadHex { field, expected: N })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Pair {
        Pair::from_string("//Alice", None).expect("dev key")
    }

    #[test]
    fn message_layout_is_the_documented_one() {
        let message = request_message(7, "http://a", 1);
        let mut expected = b"medledger:delivery-request:v1".to_vec();
        expected.extend_from_slice(&[7, 0, 0, 0, 0, 0, 0, 0]);
        expected.push(8 << 2); // compact(8): single-byte mode, length shifted by two
        expected.extend_from_slice(b"http://a");
        expected.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(message, expected);
    }

    #[test]
    fn header_round_trips_and_verifies() {
        let auth = Authorization::sign(&alice(), 42, "http://127.0.0.1:9980/", 1_700_000_000);
        let header = auth.to_string();
        assert!(header.starts_with("MedLedger-Sr25519 account=0x"));
        let parsed = Authorization::parse(&header).expect("parses");
        assert_eq!(parsed, auth);
        assert!(parsed.verify(42, "http://127.0.0.1:9980"));
        assert!(!parsed.verify(43, "http://127.0.0.1:9980"));
        assert!(!parsed.verify(42, "http://127.0.0.1:9981"));
    }

    #[test]
    fn bytes_wrapped_signature_verifies() {
        let pair = alice();
        let message = request_message(5, "http://h", 10);
        let auth = Authorization {
            account: pair.public().0,
            timestamp: 10,
            signature: pair.sign(&wrap_bytes(&message)).0,
        };
        assert!(auth.verify(5, "http://h"));
        assert!(!auth.verify(6, "http://h"));
    }

    #[test]
    fn parse_is_lenient_in_form_and_strict_in_content() {
        let auth = Authorization::sign(&alice(), 1, "http://h", 3);
        let loose = format!(
            "medledger-sr25519   signature=\"{}\",timestamp=3 , account={} , extra=1",
            hex::encode(auth.signature),
            hex::encode(auth.account)
        );
        assert_eq!(Authorization::parse(&loose), Ok(auth));

        assert_eq!(
            Authorization::parse("Bearer abc"),
            Err(AuthParseError::WrongScheme)
        );
        assert_eq!(
            Authorization::parse("MedLedger-Sr25519 account=0x00, timestamp=1, signature=0x00"),
            Err(AuthParseError::BadHex {
                field: "account",
                expected: 32
            })
        );
        let no_sig = format!(
            "MedLedger-Sr25519 account=0x{}, timestamp=1",
            hex::encode(auth.account)
        );
        assert_eq!(
            Authorization::parse(&no_sig),
            Err(AuthParseError::Missing("signature"))
        );
        let twice = format!("{auth}, timestamp=4");
        assert_eq!(
            Authorization::parse(&twice),
            Err(AuthParseError::Duplicate("timestamp"))
        );
        let bad_time = auth.to_string().replace("timestamp=3", "timestamp=-3");
        assert_eq!(
            Authorization::parse(&bad_time),
            Err(AuthParseError::BadTimestamp)
        );
    }
}
