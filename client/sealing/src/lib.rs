//! Sealing MedLedger deliveries to the buyer's hardware token.
//!
//! - The buyer's P-256 delivery key is generated on a PKCS#11 token
//!   ([`token::generate_delivery_key`]) and never leaves it; its public half is a
//!   [`DeliveryKey`], registered on chain as a 33-byte compressed point. Its private
//!   and public key objects share a `CKA_ID`, as on PIV and smart-card tokens: the
//!   private key is chosen by label or id and the public key paired by that id
//!   ([`token::TokenConfig`]).
//! - A delivery is a segmented container ([`container`], `CONTAINER.md`) of age v1
//!   files, each sealed with age's own `p256tag` recipient (HPKE, DHKEM(P-256)), so any
//!   age implementation with that recipient can read the segments.
//! - Opening ([`open_file`]) first compares the container digest with the chain's
//!   ([`DigestCheck`]): segments are age files anyone can make for the buyer's key, so
//!   only that digest tells a delivery from a cut, reordered or spliced copy. Each
//!   segment also carries an authenticated binding to its place in its container
//!   ([`binding`]), which catches genuine segments out of place. It then
//!   runs exactly one on-token `CKM_ECDH1_DERIVE` per segment
//!   through [`TokenIdentity`]; the HPKE key schedule ([`hpke`]) and the payload
//!   stream run on the host. The token's presence is checked before and after each
//!   segment and before each 64 KiB chunk is written; on any failure the partial
//!   plaintext is removed, and [`remove_pending_outputs`] removes it from a signal
//!   handler (the CLI's SIGINT, SIGTERM, SIGQUIT, …).
//! - Segment digests (SHA-256) are computed on a second thread beside the cipher
//!   (`pipeline`), so sealing and opening run at about plain age speed.
//!
//! Everything that touches the token goes through [`TokenBackend`], so tests can
//! inject faults such as `CKR_DEVICE_REMOVED`.

pub mod binding;
pub mod container;
mod delivery_key;
mod error;
pub mod hpke;
mod identity;
mod open;
mod output;
mod pipeline;
mod progress;
mod seal;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token;

pub use cryptoki::types::AuthPin as Pin;
pub use delivery_key::{DeliveryKey, COMPRESSED_LEN, UNCOMPRESSED_LEN};
pub use error::{Result, SealingError};
pub use identity::{stanza_tag, TokenIdentity, P256TAG_LABEL, P256TAG_STANZA};
pub use open::{open_file, DigestCheck, OpenReceipt, PRESENCE_CHECK_INTERVAL};
pub use output::{remove_pending_outputs, RemovedOutputs};
pub use progress::{NoProgress, Progress};
pub use seal::{seal_file, SealReceipt};
pub use token::TokenBackend;
