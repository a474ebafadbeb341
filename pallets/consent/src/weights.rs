//! Weights of `pallet_consent`, measured on the MedLedger runtime by `scripts/bench-weights.sh`.
//! Generated: do not edit; rerun the script after changing a call or its benchmark.
//!
//! Benchmarking CLI 64.0.0, 2026-11-29: 50 steps, 20 repeats,
//! wasm execution `Compiled`, database cache 1024 MiB.
//! Machine: `vm`, CPU `AMD EPYC`.
//!
//! Each weight is the measured execution time of the call's worst case (the benchmark sets
//! it up, including the work the call triggers in other pallets of the runtime) plus its
//! storage reads and writes, priced by the database weights: the runtime's (`SubstrateWeight`)
//! or RocksDB's (`()`, for mock runtimes).

// Command:
// /root/.cache/medledger/tools/bin/frame-omni-bencher
// v1
// benchmark
// pallet
// --runtime
// /root/.cache/medledger/omni-target/release/wbuild/medledger-runtime/medledger_runtime.compact.compressed.wasm
// --pallet
// pallet_consent
// --extrinsic
// *
// --steps
// 50
// --repeat
// 20
// --wasm-execution
// compiled
// --output
// pallets/consent/src/weights.rs
// --template
// scripts/weight-template.hbs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// The weight of each call and hook of `pallet_consent`.
pub trait WeightInfo {
	fn grant_consent() -> Weight;
	fn revoke_consent() -> Weight;
	fn prune_consent() -> Weight;
	fn create_class() -> Weight;
	fn add_to_class() -> Weight;
	fn remove_from_class() -> Weight;
	fn prune_class_membership() -> Weight;
	fn consent_covers() -> Weight;
	fn on_patient_released() -> Weight;
}

/// The measured weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Consent::ConsentCalls` (r:1 w:1)
	/// Proof: `Consent::ConsentCalls` (`max_values`: None, `max_size`: Some(129), added: 2604, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::Records` (r:1 w:0)
	/// Proof: `Ownership::Records` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Consent::Classes` (r:1 w:0)
	/// Proof: `Consent::Classes` (`max_values`: None, `max_size`: Some(78), added: 2553, mode: `MaxEncodedLen`)
	/// Storage: `Consent::Consents` (r:1 w:1)
	/// Proof: `Consent::Consents` (`max_values`: None, `max_size`: Some(5746), added: 8221, mode: `MaxEncodedLen`)
	/// Storage: `Consent::NextConsentId` (r:1 w:1)
	/// Proof: `Consent::NextConsentId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	fn grant_consent() -> Weight {
		// Proof size (bytes), measured: `4575`
		// Proof size (bytes), worst case: `9211`
		// Fastest run: 54_821_000 picoseconds.
		Weight::from_parts(64_225_000, 9211)
			.saturating_add(T::DbWeight::get().reads(5))
			.saturating_add(T::DbWeight::get().writes(3))
	}
	/// Storage: `Consent::ConsentCalls` (r:1 w:1)
	/// Proof: `Consent::ConsentCalls` (`max_values`: None, `max_size`: Some(129), added: 2604, mode: `MaxEncodedLen`)
	/// Storage: `Consent::Consents` (r:1 w:1)
	/// Proof: `Consent::Consents` (`max_values`: None, `max_size`: Some(5746), added: 8221, mode: `MaxEncodedLen`)
	fn revoke_consent() -> Weight {
		// Proof size (bytes), measured: `3592`
		// Proof size (bytes), worst case: `9211`
		// Fastest run: 41_502_000 picoseconds.
		Weight::from_parts(47_360_000, 9211)
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Consent::Consents` (r:1 w:1)
	/// Proof: `Consent::Consents` (`max_values`: None, `max_size`: Some(5746), added: 8221, mode: `MaxEncodedLen`)
	/// Storage: `Consent::ConsentCalls` (r:1 w:1)
	/// Proof: `Consent::ConsentCalls` (`max_values`: None, `max_size`: Some(129), added: 2604, mode: `MaxEncodedLen`)
	fn prune_consent() -> Weight {
		// Proof size (bytes), measured: `3596`
		// Proof size (bytes), worst case: `9211`
		// Fastest run: 33_760_000 picoseconds.
		Weight::from_parts(44_095_000, 9211)
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Consent::Classes` (r:1 w:1)
	/// Proof: `Consent::Classes` (`max_values`: None, `max_size`: Some(78), added: 2553, mode: `MaxEncodedLen`)
	fn create_class() -> Weight {
		// Proof size (bytes), measured: `42`
		// Proof size (bytes), worst case: `3543`
		// Fastest run: 10_816_000 picoseconds.
		Weight::from_parts(11_888_000, 3543)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Consent::Classes` (r:1 w:0)
	/// Proof: `Consent::Classes` (`max_values`: None, `max_size`: Some(78), added: 2553, mode: `MaxEncodedLen`)
	/// Storage: `Consent::ClassMembers` (r:1 w:1)
	/// Proof: `Consent::ClassMembers` (`max_values`: None, `max_size`: Some(69), added: 2544, mode: `MaxEncodedLen`)
	/// Storage: `Consent::ClassMemberCount` (r:1 w:1)
	/// Proof: `Consent::ClassMemberCount` (`max_values`: None, `max_size`: Some(16), added: 2491, mode: `MaxEncodedLen`)
	fn add_to_class() -> Weight {
		// Proof size (bytes), measured: `235`
		// Proof size (bytes), worst case: `3543`
		// Fastest run: 21_302_000 picoseconds.
		Weight::from_parts(23_264_000, 3543)
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Consent::ClassMembers` (r:1 w:1)
	/// Proof: `Consent::ClassMembers` (`max_values`: None, `max_size`: Some(69), added: 2544, mode: `MaxEncodedLen`)
	fn remove_from_class() -> Weight {
		// Proof size (bytes), measured: `179`
		// Proof size (bytes), worst case: `3534`
		// Fastest run: 13_691_000 picoseconds.
		Weight::from_parts(15_123_000, 3534)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Consent::ClassMembers` (r:1 w:1)
	/// Proof: `Consent::ClassMembers` (`max_values`: None, `max_size`: Some(69), added: 2544, mode: `MaxEncodedLen`)
	/// Storage: `Consent::ClassMemberCount` (r:1 w:1)
	/// Proof: `Consent::ClassMemberCount` (`max_values`: None, `max_size`: Some(16), added: 2491, mode: `MaxEncodedLen`)
	fn prune_class_membership() -> Weight {
		// Proof size (bytes), measured: `185`
		// Proof size (bytes), worst case: `3534`
		// Fastest run: 16_635_000 picoseconds.
		Weight::from_parts(18_067_000, 3534)
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Consent::Consents` (r:1 w:0)
	/// Proof: `Consent::Consents` (`max_values`: None, `max_size`: Some(5746), added: 8221, mode: `MaxEncodedLen`)
	/// Storage: `Consent::ClassMembers` (r:64 w:0)
	/// Proof: `Consent::ClassMembers` (`max_values`: None, `max_size`: Some(69), added: 2544, mode: `MaxEncodedLen`)
	fn consent_covers() -> Weight {
		// Proof size (bytes), measured: `8196`
		// Proof size (bytes), worst case: `163806`
		// Fastest run: 294_126_000 picoseconds.
		Weight::from_parts(312_393_000, 163806)
			.saturating_add(T::DbWeight::get().reads(65))
	}
	/// Storage: `Consent::Consents` (r:1 w:1)
	/// Proof: `Consent::Consents` (`max_values`: None, `max_size`: Some(5746), added: 8221, mode: `MaxEncodedLen`)
	/// Storage: `Consent::ConsentCalls` (r:0 w:1)
	/// Proof: `Consent::ConsentCalls` (`max_values`: None, `max_size`: Some(129), added: 2604, mode: `MaxEncodedLen`)
	fn on_patient_released() -> Weight {
		// Proof size (bytes), measured: `3629`
		// Proof size (bytes), worst case: `9211`
		// Fastest run: 133_799_000 picoseconds.
		Weight::from_parts(146_848_000, 9211)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(2))
	}
}

/// The same measurements with RocksDB's database weights.
impl WeightInfo for () {
	fn grant_consent() -> Weight {
		Weight::from_parts(64_225_000, 9211)
			.saturating_add(RocksDbWeight::get().reads(5))
			.saturating_add(RocksDbWeight::get().writes(3))
	}
	fn revoke_consent() -> Weight {
		Weight::from_parts(47_360_000, 9211)
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().writes(2))
	}
	fn prune_consent() -> Weight {
		Weight::from_parts(44_095_000, 9211)
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().writes(2))
	}
	fn create_class() -> Weight {
		Weight::from_parts(11_888_000, 3543)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn add_to_class() -> Weight {
		Weight::from_parts(23_264_000, 3543)
			.saturating_add(RocksDbWeight::get().reads(3))
			.saturating_add(RocksDbWeight::get().writes(2))
	}
	fn remove_from_class() -> Weight {
		Weight::from_parts(15_123_000, 3534)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn prune_class_membership() -> Weight {
		Weight::from_parts(18_067_000, 3534)
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().writes(2))
	}
	fn consent_covers() -> Weight {
		Weight::from_parts(312_393_000, 163806)
			.saturating_add(RocksDbWeight::get().reads(65))
	}
	fn on_patient_released() -> Weight {
		Weight::from_parts(146_848_000, 9211)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(2))
	}
}
