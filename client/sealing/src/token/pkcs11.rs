//! The token through a PKCS#11 module (`cryptoki`). SoftHSM2 is the default module.

use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CryptokiError, RvError};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::{Zeroize, Zeroizing};

use super::{EcdhSecret, TokenBackend};
use crate::delivery_key::{DeliveryKey, UNCOMPRESSED_LEN};
use crate::error::SealingError;

/// SoftHSM2 as Debian installs it: the development and test token.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// `CKA_LABEL` of the delivery key pair on the token.
pub const DEFAULT_KEY_LABEL: &str = "medledger-delivery";

/// DER of the P-256 curve OID (1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` value.
const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// Which token to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SlotSelector {
    /// The only initialized token present.
    Only,
    /// The token in the slot with this PKCS#11 slot id.
    SlotId(u64),
    /// The token whose `CKA_LABEL` (token label) is this.
    TokenLabel(String),
}

/// Where the token is and which key on it is the delivery key.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub module: PathBuf,
    pub slot: SlotSelector,
    pub key_label: String,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            module: PathBuf::from(DEFAULT_MODULE),
            slot: SlotSelector::Only,
            key_label: DEFAULT_KEY_LABEL.to_owned(),
        }
    }
}

/// One present token, as `medledger token list` shows it.
#[derive(Clone, Debug)]
pub struct TokenSummary {
    pub slot_id: u64,
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    /// The delivery key's public half, when the token holds one.
    pub delivery_key: Option<DeliveryKey>,
}

/// Errors that mean the token, its session or its key is gone.
fn is_removal(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::DeviceError
            | RvError::SlotIdInvalid
            | RvError::SessionHandleInvalid
            | RvError::SessionClosed
            | RvError::ObjectHandleInvalid
            | RvError::KeyHandleInvalid
            | RvError::UserNotLoggedIn
    )
}

/// Turns a PKCS#11 failure into the error a user can act on.
pub fn pkcs11_failure(operation: &'static str, error: CryptokiError) -> SealingError {
    match error {
        CryptokiError::Pkcs11(rv, _) if is_removal(rv) => SealingError::TokenRemoved {
            during: operation.to_owned(),
        },
        CryptokiError::Pkcs11(rv, function) => SealingError::Token {
            operation,
            reason: format!("{function:?} returned {rv:?}"),
        },
        other => SealingError::Token {
            operation,
            reason: other.to_string(),
        },
    }
}

const PRESENCE_CHECK: &str = "checking the token";

fn token_gone() -> SealingError {
    SealingError::TokenRemoved {
        during: PRESENCE_CHECK.to_owned(),
    }
}

/// A failed presence probe means the token is unusable. SoftHSM cannot signal
/// removal: once its token storage is gone it answers CKR_GENERAL_ERROR.
fn presence_probe(result: Result<(), CryptokiError>) -> Result<(), SealingError> {
    match result {
        Ok(()) => Ok(()),
        Err(CryptokiError::Pkcs11(rv, _)) if is_removal(rv) || rv == RvError::GeneralError => {
            Err(token_gone())
        }
        Err(e) => Err(pkcs11_failure(PRESENCE_CHECK, e)),
    }
}

/// A loaded and initialized PKCS#11 module.
struct Module(Pkcs11);

impl Module {
    fn load(path: &Path) -> Result<Self, SealingError> {
        let load_error = |reason: String| SealingError::ModuleLoad {
            module: path.to_owned(),
            reason,
        };
        let pkcs11 = Pkcs11::new(path).map_err(|e| load_error(e.to_string()))?;
        match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            // Another handle in this process initialized it already: fine to share.
            Ok(()) | Err(CryptokiError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(load_error(e.to_string())),
        }
        Ok(Module(pkcs11))
    }

    /// Finds the token `selector` names; returns its slot and token label.
    fn select(&self, selector: &SlotSelector) -> Result<(Slot, String), SealingError> {
        let slots = self
            .0
            .get_slots_with_initialized_token()
            .map_err(|e| pkcs11_failure("listing slots", e))?;
        let mut matching = Vec::new();
        for slot in slots {
            let label = self.token_label(slot)?;
            let wanted = match selector {
                SlotSelector::Only => true,
                SlotSelector::SlotId(id) => slot.id() == *id,
                SlotSelector::TokenLabel(wanted) => label == *wanted,
            };
            if wanted {
                matching.push((slot, label));
            }
        }
        let count = matching.len();
        match (matching.pop(), count) {
            (Some(found), 1) => Ok(found),
            (Some(_), _) => Err(SealingError::AmbiguousToken { count }),
            (None, _) => Err(SealingError::TokenNotFound {
                selector: describe(selector),
            }),
        }
    }

    fn token_label(&self, slot: Slot) -> Result<String, SealingError> {
        let info = self
            .0
            .get_token_info(slot)
            .map_err(|e| pkcs11_failure("reading token info", e))?;
        Ok(info.label().trim_end().to_owned())
    }

    fn login(
        &self,
        slot: Slot,
        token: &str,
        pin: &AuthPin,
        rw: bool,
    ) -> Result<Session, SealingError> {
        let session = if rw {
            self.0.open_rw_session(slot)
        } else {
            self.0.open_ro_session(slot)
        }
        .map_err(|e| pkcs11_failure("opening a session", e))?;
        match session.login(UserType::User, Some(pin)) {
            Ok(()) | Err(CryptokiError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(CryptokiError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                Err(SealingError::WrongPin {
                    token: token.to_owned(),
                })
            }
            Err(CryptokiError::Pkcs11(RvError::PinLocked, _)) => Err(SealingError::PinLocked {
                token: token.to_owned(),
            }),
            Err(e) => Err(pkcs11_failure("logging in", e)),
        }
    }
}

fn describe(selector: &SlotSelector) -> String {
    match selector {
        SlotSelector::Only => "present".to_owned(),
        SlotSelector::SlotId(id) => format!("in slot {id}"),
        SlotSelector::TokenLabel(label) => format!("labelled '{label}'"),
    }
}

fn key_template(class: ObjectClass, key_label: &str) -> [Attribute; 3] {
    [
        Attribute::Class(class),
        Attribute::KeyType(KeyType::EC),
        Attribute::Label(key_label.into()),
    ]
}

fn find_one(
    session: &Session,
    template: &[Attribute],
) -> Result<Option<ObjectHandle>, SealingError> {
    let found = session
        .find_objects(template)
        .map_err(|e| pkcs11_failure("finding the key", e))?;
    Ok(found.first().copied())
}

/// Reads the public half of the delivery key (no login needed: it is a public object).
fn read_public_key(
    session: &Session,
    key_label: &str,
) -> Result<Option<DeliveryKey>, SealingError> {
    let Some(handle) = find_one(session, &key_template(ObjectClass::PUBLIC_KEY, key_label))? else {
        return Ok(None);
    };
    let attributes = session
        .get_attributes(handle, &[AttributeType::EcPoint])
        .map_err(|e| pkcs11_failure("reading the public key", e))?;
    let Some(Attribute::EcPoint(point)) = attributes.into_iter().next() else {
        return Err(SealingError::Token {
            operation: "reading the public key",
            reason: "no CKA_EC_POINT".into(),
        });
    };
    // CKA_EC_POINT is a DER OCTET STRING; some modules return the raw point.
    let raw = match point.as_slice() {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => rest,
        raw => raw,
    };
    DeliveryKey::from_sec1(raw).map(Some)
}

/// Lists present tokens and, for each, the delivery key it holds (if any).
pub fn list_tokens(module: &Path, key_label: &str) -> Result<Vec<TokenSummary>, SealingError> {
    let module = Module::load(module)?;
    let slots = module
        .0
        .get_slots_with_initialized_token()
        .map_err(|e| pkcs11_failure("listing slots", e))?;
    let mut summaries = Vec::new();
    for slot in slots {
        let info = module
            .0
            .get_token_info(slot)
            .map_err(|e| pkcs11_failure("reading token info", e))?;
        let session = module
            .0
            .open_ro_session(slot)
            .map_err(|e| pkcs11_failure("opening a session", e))?;
        summaries.push(TokenSummary {
            slot_id: slot.id(),
            label: info.label().trim_end().to_owned(),
            manufacturer: info.manufacturer_id().trim_end().to_owned(),
            model: info.model().trim_end().to_owned(),
            serial: info.serial_number().trim_end().to_owned(),
            delivery_key: read_public_key(&session, key_label)?,
        });
    }
    Ok(summaries)
}

/// The public delivery key on the selected token (no PIN needed).
pub fn read_delivery_key(config: &TokenConfig) -> Result<DeliveryKey, SealingError> {
    let module = Module::load(&config.module)?;
    let (slot, token) = module.select(&config.slot)?;
    let session = module
        .0
        .open_ro_session(slot)
        .map_err(|e| pkcs11_failure("opening a session", e))?;
    read_public_key(&session, &config.key_label)?.ok_or(SealingError::KeyNotFound {
        token,
        key_label: config.key_label.clone(),
    })
}

/// Generates the delivery key pair on the token: the private key is sensitive,
/// never extractable, and may only derive (no sign, decrypt or unwrap).
pub fn generate_delivery_key(
    config: &TokenConfig,
    pin: &AuthPin,
) -> Result<DeliveryKey, SealingError> {
    let module = Module::load(&config.module)?;
    let (slot, token) = module.select(&config.slot)?;
    let session = module.login(slot, &token, pin, true)?;
    let label = config.key_label.as_bytes().to_vec();
    if find_one(&session, &[Attribute::Label(label.clone())])?.is_some() {
        return Err(SealingError::KeyExists {
            token,
            key_label: config.key_label.clone(),
        });
    }
    let public_template = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::EcParams(P256_EC_PARAMS.to_vec()),
        Attribute::Label(label.clone()),
        Attribute::Verify(false),
        Attribute::Encrypt(false),
        Attribute::Wrap(false),
    ];
    let private_template = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Derive(true),
        Attribute::Sign(false),
        Attribute::Decrypt(false),
        Attribute::Unwrap(false),
        Attribute::Label(label),
    ];
    session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &public_template,
            &private_template,
        )
        .map_err(|e| pkcs11_failure("generating the key pair", e))?;
    read_public_key(&session, &config.key_label)?.ok_or(SealingError::KeyNotFound {
        token,
        key_label: config.key_label.clone(),
    })
}

/// A logged-in session on the token holding the delivery key.
pub struct Pkcs11Token {
    // Kept so the module stays loaded for the session's lifetime.
    module: Module,
    session: Session,
    slot: Slot,
    key_label: String,
    private_key: ObjectHandle,
    public_key: DeliveryKey,
}

impl Pkcs11Token {
    /// Loads the module, selects the token, logs in and finds the delivery key.
    pub fn open(config: &TokenConfig, pin: &AuthPin) -> Result<Self, SealingError> {
        let module = Module::load(&config.module)?;
        let (slot, token) = module.select(&config.slot)?;
        let session = module.login(slot, &token, pin, false)?;
        let key_missing = || SealingError::KeyNotFound {
            token: token.clone(),
            key_label: config.key_label.clone(),
        };
        let private_key = find_one(
            &session,
            &key_template(ObjectClass::PRIVATE_KEY, &config.key_label),
        )?
        .ok_or_else(key_missing)?;
        let public_key = read_public_key(&session, &config.key_label)?.ok_or_else(key_missing)?;
        Ok(Pkcs11Token {
            module,
            session,
            slot,
            key_label: config.key_label.clone(),
            private_key,
            public_key,
        })
    }
}

impl TokenBackend for Pkcs11Token {
    fn delivery_key(&self) -> DeliveryKey {
        self.public_key
    }

    fn ecdh(&self, peer: &[u8]) -> Result<EcdhSecret, SealingError> {
        if peer.len() != UNCOMPRESSED_LEN {
            return Err(SealingError::Token {
                operation: "ECDH",
                reason: "peer key is not an uncompressed point".into(),
            });
        }
        let mechanism = Mechanism::Ecdh1Derive(Ecdh1DeriveParams::new(EcKdf::null(), peer));
        // A session object readable by the host: it holds exactly what the host's key
        // schedule needs and is destroyed at once.
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::ValueLen(32.into()),
            Attribute::Token(false),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
        ];
        let derived = self
            .session
            .derive_key(&mechanism, self.private_key, &template)
            .map_err(|e| pkcs11_failure("ECDH", e))?;
        let value = self
            .session
            .get_attributes(derived, &[AttributeType::Value]);
        let destroyed = self.session.destroy_object(derived);
        let mut attributes = value.map_err(|e| pkcs11_failure("reading the ECDH result", e))?;
        destroyed.map_err(|e| pkcs11_failure("destroying the ECDH result", e))?;

        let mut secret = Zeroizing::new([0u8; 32]);
        let copied = match attributes.first() {
            Some(Attribute::Value(bytes)) if bytes.len() == 32 => {
                secret.copy_from_slice(bytes);
                true
            }
            _ => false,
        };
        for attribute in &mut attributes {
            if let Attribute::Value(bytes) = attribute {
                bytes.zeroize();
            }
        }
        if copied {
            Ok(secret)
        } else {
            Err(SealingError::Token {
                operation: "ECDH",
                reason: "token returned no 32-byte secret".into(),
            })
        }
    }

    fn ensure_present(&self) -> Result<(), SealingError> {
        self.ensure_present_cheaply()?;
        let probe = presence_probe;
        probe(self.module.0.get_token_info(self.slot).map(drop))?;
        probe(self.module.0.get_token_info(self.slot).map(drop))?;
        // Searching makes file-backed tokens (SoftHSM) look at their storage again.
        let template = key_template(ObjectClass::PRIVATE_KEY, &self.key_label);
        match self.session.find_objects(&template) {
            Ok(handles) if handles.contains(&self.private_key) => Ok(()),
            Ok(_) => Err(token_gone()),
            Err(e) => probe(Err(e)),
        }
    }

    /// The slot's `CKF_TOKEN_PRESENT` flag and the session's state: about a
    /// microsecond, where the full check above costs 40–120 µs (SoftHSM rereads its
    /// storage). Smart-card modules clear the flag when the card goes; SoftHSM never
    /// does, so there a pull shows at the next full check.
    fn ensure_present_cheaply(&self) -> Result<(), SealingError> {
        let info = match self.module.0.get_slot_info(self.slot) {
            Ok(info) => info,
            Err(e) => return presence_probe(Err(e)),
        };
        if !info.token_present() {
            return Err(token_gone());
        }
        presence_probe(self.session.get_session_info().map(drop))
    }
}
