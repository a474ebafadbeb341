//! Weights of `pallet_ownership`, measured on the MedLedger runtime by `scripts/bench-weights.sh`.
//! Generated: do not edit; rerun the script after changing a call or its benchmark.
//!
//! Benchmarking CLI 64.0.0, 2026-11-30: 50 steps, 20 repeats,
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
// pallet_ownership
// --extrinsic
// *
// --steps
// 50
// --repeat
// 20
// --wasm-execution
// compiled
// --output
// pallets/ownership/src/weights.rs
// --template
// scripts/weight-template.hbs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// The weight of each call and hook of `pallet_ownership`.
pub trait WeightInfo {
	fn enrol() -> Weight;
	fn end_enrolment() -> Weight;
	fn register_records(n: u32, ) -> Weight;
	fn request_erasure() -> Weight;
	fn confirm_erasure() -> Weight;
}

/// The measured weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Ownership::Enrolments` (r:1 w:1)
	/// Proof: `Ownership::Enrolments` (`max_values`: None, `max_size`: Some(116), added: 2591, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::EnrolmentCount` (r:1 w:1)
	/// Proof: `Ownership::EnrolmentCount` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `System::BlockHash` (r:1 w:0)
	/// Proof: `System::BlockHash` (`max_values`: None, `max_size`: Some(44), added: 2519, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::AccountRefs` (r:1 w:1)
	/// Proof: `Ownership::AccountRefs` (`max_values`: None, `max_size`: Some(48), added: 2523, mode: `MaxEncodedLen`)
	fn enrol() -> Weight {
		// Proof size (bytes), measured: `238`
		// Proof size (bytes), worst case: `6196`
		// Fastest run: 127_048_000 picoseconds.
		Weight::from_parts(145_576_000, 6196)
			.saturating_add(T::DbWeight::get().reads(7))
			.saturating_add(T::DbWeight::get().writes(6))
	}
	/// Storage: `Ownership::Enrolments` (r:1 w:1)
	/// Proof: `Ownership::Enrolments` (`max_values`: None, `max_size`: Some(116), added: 2591, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::EnrolmentCount` (r:1 w:1)
	/// Proof: `Ownership::EnrolmentCount` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::OwnerRecordCount` (r:1 w:0)
	/// Proof: `Ownership::OwnerRecordCount` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::AccountRefs` (r:1 w:1)
	/// Proof: `Ownership::AccountRefs` (`max_values`: None, `max_size`: Some(48), added: 2523, mode: `MaxEncodedLen`)
	/// Storage: `Consent::Consents` (r:1 w:1)
	/// Proof: `Consent::Consents` (`max_values`: None, `max_size`: Some(5746), added: 8221, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::LastEnrolmentChange` (r:0 w:1)
	/// Proof: `Ownership::LastEnrolmentChange` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Consent::ConsentCalls` (r:0 w:1)
	/// Proof: `Consent::ConsentCalls` (`max_values`: None, `max_size`: Some(129), added: 2604, mode: `MaxEncodedLen`)
	fn end_enrolment() -> Weight {
		// Proof size (bytes), measured: `671`
		// Proof size (bytes), worst case: `9211`
		// Fastest run: 80_119_000 picoseconds.
		Weight::from_parts(111_656_000, 9211)
			.saturating_add(T::DbWeight::get().reads(8))
			.saturating_add(T::DbWeight::get().writes(9))
	}
	/// Storage: `Ownership::Records` (r:999 w:999)
	/// Proof: `Ownership::Records` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::Enrolments` (r:999 w:0)
	/// Proof: `Ownership::Enrolments` (`max_values`: None, `max_size`: Some(116), added: 2591, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::OwnerRecordCount` (r:999 w:999)
	/// Proof: `Ownership::OwnerRecordCount` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::OwnerRecords` (r:0 w:999)
	/// Proof: `Ownership::OwnerRecords` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	/// Component `n` ranges over `[1, 1000]`.
	fn register_records(n: u32, ) -> Weight {
		// Proof size (bytes), measured: `164 + n * (122 ±0)`
		// Proof size (bytes), worst case: `990 + n * (2632 ±0)`
		// Fastest run: 24_406_000 picoseconds.
		Weight::from_parts(25_277_000, 990)
			// Standard error: 166_614
			.saturating_add(Weight::from_parts(21_177_389, 0).saturating_mul(n.into()))
			.saturating_add(T::DbWeight::get().reads((3_u64).saturating_mul(n.into())))
			.saturating_add(T::DbWeight::get().writes((3_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 2632).saturating_mul(n.into()))
	}
	/// Storage: `Ownership::Records` (r:1 w:1)
	/// Proof: `Ownership::Records` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	fn request_erasure() -> Weight {
		// Proof size (bytes), measured: `283`
		// Proof size (bytes), worst case: `3622`
		// Fastest run: 13_801_000 picoseconds.
		Weight::from_parts(15_503_000, 3622)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Ownership::Records` (r:1 w:1)
	/// Proof: `Ownership::Records` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::OwnerRecordCount` (r:1 w:1)
	/// Proof: `Ownership::OwnerRecordCount` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::EnrolmentCount` (r:1 w:0)
	/// Proof: `Ownership::EnrolmentCount` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Ownership::OwnerRecords` (r:0 w:1)
	/// Proof: `Ownership::OwnerRecords` (`max_values`: None, `max_size`: Some(96), added: 2571, mode: `MaxEncodedLen`)
	fn confirm_erasure() -> Weight {
		// Proof size (bytes), measured: `406`
		// Proof size (bytes), worst case: `3622`
		// Fastest run: 23_926_000 picoseconds.
		Weight::from_parts(38_958_000, 3622)
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(3))
	}
}

/// The same measurements with RocksDB's database weights.
impl WeightInfo for () {
	fn enrol() -> Weight {
		Weight::from_parts(145_576_000, 6196)
			.saturating_add(RocksDbWeight::get().reads(7))
			.saturating_add(RocksDbWeight::get().writes(6))
	}
	fn end_enrolment() -> Weight {
		Weight::from_parts(111_656_000, 9211)
			.saturating_add(RocksDbWeight::get().reads(8))
			.saturating_add(RocksDbWeight::get().writes(9))
	}
	fn register_records(n: u32, ) -> Weight {
		Weight::from_parts(25_277_000, 990)
			.saturating_add(Weight::from_parts(21_177_389, 0).saturating_mul(n.into()))
			.saturating_add(RocksDbWeight::get().reads((3_u64).saturating_mul(n.into())))
			.saturating_add(RocksDbWeight::get().writes((3_u64).saturating_mul(n.into())))
			.saturating_add(Weight::from_parts(0, 2632).saturating_mul(n.into()))
	}
	fn request_erasure() -> Weight {
		Weight::from_parts(15_503_000, 3622)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn confirm_erasure() -> Weight {
		Weight::from_parts(38_958_000, 3622)
			.saturating_add(RocksDbWeight::get().reads(3))
			.saturating_add(RocksDbWeight::get().writes(3))
	}
}
