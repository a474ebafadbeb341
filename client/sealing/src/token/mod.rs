//! The buyer's hardware token, as the opener sees it: one ECDH per stanza and a
//! presence check. [`Pkcs11Token`] talks to a real PKCS#11 module; tests wrap it to
//! inject faults.

mod pkcs11;

pub use pkcs11::{
    generate_delivery_key, list_tokens, pkcs11_failure, read_delivery_key, Pkcs11Token,
    SlotSelector, TokenConfig, TokenKey, TokenSummary, DEFAULT_KEY_LABEL, DEFAULT_MODULE,
};

use zeroize::Zeroizing;

use crate::delivery_key::DeliveryKey;
use crate::error::SealingError;

/// The x-coordinate of `sk · peer`: the raw P-256 ECDH output. Zeroized on drop.
pub type EcdhSecret = Zeroizing<[u8; 32]>;

/// What opening needs from a token holding a delivery key.
pub trait TokenBackend {
    /// The public half of the key the token holds.
    fn delivery_key(&self) -> DeliveryKey;

    /// One `CKM_ECDH1_DERIVE` with the token's private key and `peer` (an uncompressed
    /// SEC1 point that the caller has checked is on the curve).
    fn ecdh(&self, peer: &[u8]) -> Result<EcdhSecret, SealingError>;

    /// Fails with [`SealingError::TokenRemoved`] when the token or its key is gone.
    fn ensure_present(&self) -> Result<(), SealingError>;

    /// The check made before each 64 KiB chunk of plaintext is written, so it must cost
    /// next to nothing: fails with [`SealingError::TokenRemoved`] when the token says
    /// it is gone. [`TokenBackend::ensure_present`] unless a backend has a cheaper way.
    fn ensure_present_cheaply(&self) -> Result<(), SealingError> {
        self.ensure_present()
    }
}
