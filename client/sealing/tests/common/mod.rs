//! Test support: a fresh SoftHSM2 per test, each test in its own process (SoftHSM
//! reads `SOFTHSM2_CONF` once per process), and token backends that count or fail.
#![allow(dead_code)]

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

use cryptoki::context::Function;
use cryptoki::error::{Error as CryptokiError, RvError};
use medledger_sealing::token::{
    generate_delivery_key, pkcs11_failure, Pkcs11Token, SlotSelector, TokenConfig,
};
use medledger_sealing::{
    open_file, seal_file, DeliveryKey, DigestCheck, NoProgress, OpenReceipt, Pin, Progress,
    SealReceipt, SealingError, TokenBackend,
};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use zeroize::Zeroizing;

use medledger_sealing::testing::prepare_softhsm;
pub use medledger_sealing::testing::USER_PIN;
pub const TOKEN: &str = "buyer-token";
const CHILD_MARKER: &str = "MEDLEDGER_ISOLATED_TEST";
const DIR_VAR: &str = "MEDLEDGER_TEST_DIR";

/// A SoftHSM2 installation private to one test.
pub struct SoftHsm {
    pub dir: PathBuf,
}

impl SoftHsm {
    pub fn token_dir(&self) -> PathBuf {
        self.dir.join("tokens")
    }

    pub fn config(&self, token_label: &str) -> TokenConfig {
        TokenConfig {
            slot: SlotSelector::TokenLabel(token_label.into()),
            ..TokenConfig::default()
        }
    }

    pub fn pin(&self) -> Pin {
        Pin::from(USER_PIN.to_owned())
    }

    /// Generates the delivery key on `token_label`.
    pub fn generate_key(&self, token_label: &str) -> DeliveryKey {
        match generate_delivery_key(&self.config(token_label), &self.pin()) {
            Ok(key) => key,
            Err(e) => panic!("key generation on {token_label} failed: {e}"),
        }
    }

    pub fn open_token(&self, token_label: &str) -> Pkcs11Token {
        match Pkcs11Token::open(&self.config(token_label), &self.pin()) {
            Ok(token) => token,
            Err(e) => panic!("opening {token_label} failed: {e}"),
        }
    }
}

/// Runs `body` in a child process of this test binary with its own SoftHSM2 holding
/// the tokens `token_labels`. `name` is the test function's name.
pub fn isolated(name: &str, token_labels: &[&str], body: impl FnOnce(&SoftHsm)) {
    if std::env::var(CHILD_MARKER).as_deref() == Ok(name) {
        let dir = PathBuf::from(std::env::var(DIR_VAR).expect("test dir"));
        body(&SoftHsm { dir });
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = prepare_softhsm(dir.path(), token_labels).expect("SoftHSM2 setup");
    let output = Command::new(std::env::current_exe().expect("test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_MARKER, name)
        .env(DIR_VAR, dir.path())
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("spawn isolated test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "isolated test {name} failed:\n{stdout}\n{stderr}"
    );
}

/// Partial-output files left in `dir` (there must never be any).
pub fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".medledger-partial-"))
        .collect()
}

/// The length of the partial output this process is writing in `dir`, while there is one.
pub fn partial_output_len(dir: &Path) -> Option<u64> {
    medledger_sealing::testing::partial_output_len(std::process::id(), dir)
}

pub fn random_bytes(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// A key held in memory, standing in for a token where the token is not the point
/// of the test (format and host-side checks).
pub struct SoftwareToken {
    secret: p256::SecretKey,
    pub ecdh_calls: Cell<u32>,
}

impl SoftwareToken {
    pub fn generate() -> Self {
        SoftwareToken {
            secret: p256::SecretKey::random(&mut rand::rngs::OsRng),
            ecdh_calls: Cell::new(0),
        }
    }
}

impl TokenBackend for SoftwareToken {
    fn delivery_key(&self) -> DeliveryKey {
        DeliveryKey::from_sec1(self.secret.public_key().to_encoded_point(true).as_bytes())
            .expect("own key")
    }

    fn ecdh(&self, peer: &[u8]) -> Result<Zeroizing<[u8; 32]>, SealingError> {
        self.ecdh_calls.set(self.ecdh_calls.get() + 1);
        let peer = p256::PublicKey::from_sec1_bytes(peer).expect("caller checked the point");
        let shared = p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), peer.as_affine());
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(shared.raw_secret_bytes());
        Ok(out)
    }

    fn ensure_present(&self) -> Result<(), SealingError> {
        Ok(())
    }
}

/// Wraps a token and pulls it when `pulled` is set: from then on ECDH fails the way a
/// PKCS#11 module does when the device is gone (`CKR_DEVICE_REMOVED`), and so do
/// presence checks when `presence_notices` (some tokens only notice on use).
pub struct FaultyToken<B> {
    pub inner: B,
    pub pulled: Rc<Cell<bool>>,
    pub presence_notices: bool,
    pub ecdh_calls: Cell<u32>,
}

impl<B> FaultyToken<B> {
    pub fn new(inner: B, presence_notices: bool) -> Self {
        FaultyToken {
            inner,
            pulled: Rc::new(Cell::new(false)),
            presence_notices,
            ecdh_calls: Cell::new(0),
        }
    }
}

fn device_removed(operation: &'static str, function: Function) -> SealingError {
    pkcs11_failure(
        operation,
        CryptokiError::Pkcs11(RvError::DeviceRemoved, function),
    )
}

impl<B: TokenBackend> TokenBackend for FaultyToken<B> {
    fn delivery_key(&self) -> DeliveryKey {
        self.inner.delivery_key()
    }

    fn ecdh(&self, peer: &[u8]) -> Result<Zeroizing<[u8; 32]>, SealingError> {
        self.ecdh_calls.set(self.ecdh_calls.get() + 1);
        if self.pulled.get() {
            return Err(device_removed("ECDH", Function::DeriveKey));
        }
        self.inner.ecdh(peer)
    }

    fn ensure_present(&self) -> Result<(), SealingError> {
        if self.pulled.get() && self.presence_notices {
            return Err(device_removed(
                "checking the token",
                Function::GetSessionInfo,
            ));
        }
        self.inner.ensure_present()
    }
}

/// Records what opening reported, and can act when a segment completes.
pub struct Recorder<F: FnMut(u64) = fn(u64)> {
    pub bytes: u64,
    pub segments_done: Vec<u64>,
    pub on_segment_done: Option<F>,
}

impl<F: FnMut(u64)> Default for Recorder<F> {
    fn default() -> Self {
        Recorder {
            bytes: 0,
            segments_done: Vec::new(),
            on_segment_done: None,
        }
    }
}

impl<F: FnMut(u64)> Progress for Recorder<F> {
    fn advance(&mut self, bytes: u64) {
        self.bytes += bytes;
    }

    fn segment_done(&mut self, index: u64) {
        self.segments_done.push(index);
        if let Some(hook) = self.on_segment_done.as_mut() {
            hook(index);
        }
    }
}

/// `len` random bytes sealed to `to` in a private directory, with a place to open them.
pub struct Sealed {
    _work: tempfile::TempDir,
    pub dir: PathBuf,
    pub sealed: PathBuf,
    pub opened: PathBuf,
    pub payload: Vec<u8>,
    pub receipt: SealReceipt,
}

impl Sealed {
    pub fn new(len: usize, to: &DeliveryKey, segment_size: u64) -> Self {
        let work = tempfile::tempdir().expect("tempdir");
        let dir = work.path().to_owned();
        let (plain, sealed) = (dir.join("plain"), dir.join("sealed"));
        let payload = random_bytes(len);
        fs::write(&plain, &payload).expect("write payload");
        let receipt = match seal_file(&plain, &sealed, to, segment_size, &mut NoProgress) {
            Ok(receipt) => receipt,
            Err(e) => panic!("sealing failed: {e}"),
        };
        Sealed {
            _work: work,
            opened: dir.join("opened"),
            dir,
            sealed,
            payload,
            receipt,
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        fs::read(&self.sealed).expect("read sealed")
    }

    /// Opens the container into `opened`, checked against the digest sealing reported.
    pub fn open(
        &self,
        token: &dyn TokenBackend,
        progress: &mut dyn Progress,
    ) -> Result<OpenReceipt, SealingError> {
        let check = DigestCheck::Expect(self.receipt.digest);
        open_file(&self.sealed, &self.opened, token, check, progress)
    }
}
