//! The token through a PKCS#11 module (`cryptoki`). SoftHSM2 is the default module.

use std::path::{Path, PathBuf};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CryptokiError, RvError};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};
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

/// Bytes of the `CKA_ID` a new key pair gets when none is asked for.
const KEY_ID_LEN: u32 = 8;

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
///
/// A key pair is two objects that share a `CKA_ID`, as PIV and smart-card tokens lay
/// them out; labels may differ between the two. The private key is picked by
/// `key_id` when given, else by `key_label`, and its public key by the same `CKA_ID`.
#[derive(Clone, Debug)]
pub struct TokenConfig {
    pub module: PathBuf,
    pub slot: SlotSelector,
    /// `CKA_LABEL` of the delivery key; also the label a new pair gets.
    pub key_label: String,
    /// `CKA_ID` of the delivery key pair; when given, it alone picks the pair.
    pub key_id: Option<Vec<u8>>,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            module: PathBuf::from(DEFAULT_MODULE),
            slot: SlotSelector::Only,
            key_label: DEFAULT_KEY_LABEL.to_owned(),
            key_id: None,
        }
    }
}

impl TokenConfig {
    /// The key it names, for messages: `labelled 'x'` or `with CKA_ID 0a0b`.
    fn describe_key(&self) -> String {
        match &self.key_id {
            Some(id) => format!("with CKA_ID {}", hex::encode(id)),
            None => format!("labelled '{}'", self.key_label),
        }
    }

    /// The objects of `class` it selects: by `CKA_ID` when it names one, else by label.
    fn key_template(&self, class: ObjectClass) -> Vec<Attribute> {
        let selector = match &self.key_id {
            Some(id) => Attribute::Id(id.clone()),
            None => Attribute::Label(self.key_label.as_bytes().to_vec()),
        };
        vec![
            Attribute::Class(class),
            Attribute::KeyType(KeyType::EC),
            selector,
        ]
    }
}

/// A delivery public key on a token and the `CKA_ID` that pairs it with its private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenKey {
    pub id: Vec<u8>,
    pub key: DeliveryKey,
}

/// One present token, as `medledger token list` shows it.
#[derive(Clone, Debug)]
pub struct TokenSummary {
    pub slot_id: u64,
    pub label: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    /// The delivery public keys labelled as asked (more than one needs `--key-id`).
    pub delivery_keys: Vec<TokenKey>,
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

fn find_all(session: &Session, template: &[Attribute]) -> Result<Vec<ObjectHandle>, SealingError> {
    session
        .find_objects(template)
        .map_err(|e| pkcs11_failure("finding the key", e))
}

/// An object's `CKA_ID` and `CKA_LABEL`.
fn id_and_label(
    session: &Session,
    handle: ObjectHandle,
) -> Result<(Vec<u8>, Vec<u8>), SealingError> {
    let attributes = session
        .get_attributes(handle, &[AttributeType::Id, AttributeType::Label])
        .map_err(|e| pkcs11_failure("reading the key's id", e))?;
    let (mut id, mut label) = (Vec::new(), Vec::new());
    for attribute in attributes {
        match attribute {
            Attribute::Id(value) => id = value,
            Attribute::Label(value) => label = value,
            _ => {}
        }
    }
    Ok((id, label))
}

fn key_not_found(token: &str, config: &TokenConfig) -> SealingError {
    SealingError::KeyNotFound {
        token: token.to_owned(),
        key: config.describe_key(),
    }
}

/// Several keys `config` selects, named by their `CKA_ID`s for `--key-id`.
fn ambiguous_key(token: &str, config: &TokenConfig, mut ids: Vec<String>) -> SealingError {
    ids.sort();
    SealingError::AmbiguousKey {
        token: token.to_owned(),
        key: config.describe_key(),
        ids: ids.join(", "),
    }
}

/// The one object of `handles`; none or several is an error naming what to pass.
fn the_only_key(
    session: &Session,
    handles: &[ObjectHandle],
    token: &str,
    config: &TokenConfig,
) -> Result<ObjectHandle, SealingError> {
    match handles {
        [one] => Ok(*one),
        [] => Err(key_not_found(token, config)),
        several => {
            let ids = several
                .iter()
                .map(|handle| id_and_label(session, *handle).map(|(id, _)| hex::encode(id)))
                .collect::<Result<Vec<_>, _>>()?;
            Err(ambiguous_key(token, config, ids))
        }
    }
}

/// The object of `class` paired with a key of `CKA_ID` `id`. A key without an id (made
/// before keys were paired) is paired with the object of its label.
fn pair_template(class: ObjectClass, id: &[u8], label: &[u8]) -> Vec<Attribute> {
    let mut template = vec![
        Attribute::Class(class),
        Attribute::KeyType(KeyType::EC),
        Attribute::Id(id.to_vec()),
    ];
    if id.is_empty() {
        template.push(Attribute::Label(label.to_vec()));
    }
    template
}

/// Reads a public key object's point.
fn read_public_key(session: &Session, handle: ObjectHandle) -> Result<DeliveryKey, SealingError> {
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
    DeliveryKey::from_sec1(raw)
}

/// A private key and what pairs it with its public key.
struct KeyPair {
    /// `CKA_ID` and `CKA_LABEL` of the private key.
    id: Vec<u8>,
    label: Vec<u8>,
    /// The public key object with the private key's `CKA_ID`.
    public_key: DeliveryKey,
}

/// The public key paired with `private_key`: the one object with its `CKA_ID`.
fn pair_of(
    session: &Session,
    private_key: ObjectHandle,
    token: &str,
    config: &TokenConfig,
) -> Result<KeyPair, SealingError> {
    let (id, label) = id_and_label(session, private_key)?;
    let public_keys = find_all(
        session,
        &pair_template(ObjectClass::PUBLIC_KEY, &id, &label),
    )?;
    let public_key = match public_keys.as_slice() {
        [one] => read_public_key(session, *one)?,
        [] => {
            return Err(SealingError::UnpairedKey {
                token: token.to_owned(),
                key: config.describe_key(),
                id: hex::encode(&id),
            })
        }
        several => {
            return Err(SealingError::Token {
                operation: "pairing the delivery key",
                reason: format!(
                    "{} public keys share CKA_ID {}",
                    several.len(),
                    hex::encode(&id)
                ),
            })
        }
    };
    Ok(KeyPair {
        id,
        label,
        public_key,
    })
}

/// The delivery keys `config` selects, read without login. Where the token shows its
/// private keys before login (PIV and most smart cards), each selected private key
/// with the public key of its `CKA_ID`, as opening will pair them: a public key that
/// merely carries the label may belong to another pair. A token that hides private
/// keys until login (SoftHSM) shows none; then the public keys the selector names
/// stand in for their pairs (`token init` gives both objects one label and id).
fn selected_public_keys(
    session: &Session,
    token: &str,
    config: &TokenConfig,
) -> Result<Vec<TokenKey>, SealingError> {
    let private_keys = find_all(session, &config.key_template(ObjectClass::PRIVATE_KEY))?;
    if !private_keys.is_empty() {
        return private_keys
            .into_iter()
            .map(|private_key| {
                let pair = pair_of(session, private_key, token, config)?;
                Ok(TokenKey {
                    id: pair.id,
                    key: pair.public_key,
                })
            })
            .collect();
    }
    find_all(session, &config.key_template(ObjectClass::PUBLIC_KEY))?
        .into_iter()
        .map(|handle| {
            Ok(TokenKey {
                id: id_and_label(session, handle)?.0,
                key: read_public_key(session, handle)?,
            })
        })
        .collect()
}

/// Lists present tokens and, for each, the delivery key it holds (if any).
pub fn list_tokens(module: &Path, key_label: &str) -> Result<Vec<TokenSummary>, SealingError> {
    let by_label = TokenConfig {
        key_label: key_label.to_owned(),
        ..TokenConfig::default()
    };
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
        let label = info.label().trim_end().to_owned();
        summaries.push(TokenSummary {
            slot_id: slot.id(),
            delivery_keys: selected_public_keys(&session, &label, &by_label)?,
            label,
            manufacturer: info.manufacturer_id().trim_end().to_owned(),
            model: info.model().trim_end().to_owned(),
            serial: info.serial_number().trim_end().to_owned(),
        });
    }
    Ok(summaries)
}

/// The public delivery key on the selected token (no PIN needed): the one key
/// `config` selects, paired as [`selected_public_keys`] says.
pub fn read_delivery_key(config: &TokenConfig) -> Result<DeliveryKey, SealingError> {
    let module = Module::load(&config.module)?;
    let (slot, token) = module.select(&config.slot)?;
    let session = module
        .0
        .open_ro_session(slot)
        .map_err(|e| pkcs11_failure("opening a session", e))?;
    match selected_public_keys(&session, &token, config)?.as_slice() {
        [only] => Ok(only.key),
        [] => Err(key_not_found(&token, config)),
        several => {
            let ids = several.iter().map(|key| hex::encode(&key.id)).collect();
            Err(ambiguous_key(&token, config, ids))
        }
    }
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
    let id = match &config.key_id {
        Some(id) => id.clone(),
        None => session
            .generate_random_vec(KEY_ID_LEN)
            .map_err(|e| pkcs11_failure("choosing a key id", e))?,
    };
    // Neither the label nor the id may pick another key afterwards.
    for taken in [Attribute::Label(label.clone()), Attribute::Id(id.clone())] {
        if !find_all(&session, &[taken])?.is_empty() {
            return Err(SealingError::KeyExists {
                token,
                key: format!(
                    "labelled '{}' or with CKA_ID {}",
                    config.key_label,
                    hex::encode(&id)
                ),
            });
        }
    }
    let public_template = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::EcParams(P256_EC_PARAMS.to_vec()),
        Attribute::Label(label.clone()),
        Attribute::Id(id.clone()),
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
        Attribute::Id(id),
    ];
    let (public_key, _) = session
        .generate_key_pair(
            &Mechanism::EccKeyPairGen,
            &public_template,
            &private_template,
        )
        .map_err(|e| pkcs11_failure("generating the key pair", e))?;
    read_public_key(&session, public_key)
}

/// A logged-in session on the token holding the delivery key.
pub struct Pkcs11Token {
    // Kept so the module stays loaded for the session's lifetime.
    module: Module,
    session: Session,
    slot: Slot,
    /// Finds the private key again: the presence check searches for it.
    private_key_template: Vec<Attribute>,
    private_key: ObjectHandle,
    public_key: DeliveryKey,
}

impl Pkcs11Token {
    /// Loads the module, selects the token, logs in and finds the delivery key: the
    /// one private key `config` selects, and the public key with its `CKA_ID`.
    pub fn open(config: &TokenConfig, pin: &AuthPin) -> Result<Self, SealingError> {
        let module = Module::load(&config.module)?;
        let (slot, token) = module.select(&config.slot)?;
        let session = module.login(slot, &token, pin, false)?;
        let private_keys = find_all(&session, &config.key_template(ObjectClass::PRIVATE_KEY))?;
        let private_key = the_only_key(&session, &private_keys, &token, config)?;
        let pair = pair_of(&session, private_key, &token, config)?;
        Ok(Pkcs11Token {
            module,
            session,
            slot,
            private_key_template: pair_template(ObjectClass::PRIVATE_KEY, &pair.id, &pair.label),
            private_key,
            public_key: pair.public_key,
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
        match self.session.find_objects(&self.private_key_template) {
            Ok(handles) if handles.contains(&self.private_key) => Ok(()),
            Ok(_) => Err(token_gone()),
            Err(e) => probe(Err(e)),
        }
    }

    /// The slot's `CKF_TOKEN_PRESENT` flag, and the session: still open and still
    /// logged in. About a microsecond, where the full check above costs 130–160 µs
    /// (SoftHSM rereads its storage). A module reports a pulled token through these:
    /// smart-card modules clear the flag, and removal closes the token's sessions and
    /// ends its login. Storage that merely vanishes under SoftHSM, which no module
    /// reports, shows at the next full check.
    fn ensure_present_cheaply(&self) -> Result<(), SealingError> {
        let info = match self.module.0.get_slot_info(self.slot) {
            Ok(info) => info,
            Err(e) => return presence_probe(Err(e)),
        };
        if !info.token_present() {
            return Err(token_gone());
        }
        let session = match self.session.get_session_info() {
            Ok(session) => session,
            Err(e) => return presence_probe(Err(e)),
        };
        match session.session_state() {
            SessionState::RoUser | SessionState::RwUser => Ok(()),
            _ => Err(token_gone()),
        }
    }
}
