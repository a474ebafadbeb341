//! The MedLedger runtime, unchanged but for `spec_version + 1`, as a wasm blob
//! ([`WASM_BINARY`]): what a runtime upgrade enacted by a consortium vote installs in the
//! integration tests.

#![cfg_attr(not(feature = "std"), no_std)]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

// The wasm blob is this crate: re-exporting the runtime links its exported API functions.
#[cfg(target_family = "wasm")]
pub use medledger_runtime::*;
