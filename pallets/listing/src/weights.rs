//! Weights of `pallet_listing`, measured on the MedLedger runtime by `scripts/bench-weights.sh`.
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
// pallet_listing
// --extrinsic
// *
// --steps
// 50
// --repeat
// 20
// --wasm-execution
// compiled
// --output
// pallets/listing/src/weights.rs
// --template
// scripts/weight-template.hbs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// The weight of each call and hook of `pallet_listing`.
pub trait WeightInfo {
	fn create_listing(s: u32, ) -> Weight;
	fn update_listing(s: u32, ) -> Weight;
	fn close_listing() -> Weight;
}

/// The measured weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Listing::NextListingId` (r:1 w:1)
	/// Proof: `Listing::NextListingId` (`max_values`: Some(1), `max_size`: Some(8), added: 503, mode: `MaxEncodedLen`)
	/// Storage: `Listing::ActiveListingCount` (r:1 w:1)
	/// Proof: `Listing::ActiveListingCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Listing::Listings` (r:0 w:1)
	/// Proof: `Listing::Listings` (`max_values`: None, `max_size`: Some(1722), added: 4197, mode: `MaxEncodedLen`)
	/// Component `s` ranges over `[0, 512]`.
	fn create_listing(s: u32, ) -> Weight {
		// Proof size (bytes), measured: `0`
		// Proof size (bytes), worst case: `3622`
		// Fastest run: 53_149_000 picoseconds.
		Weight::from_parts(57_848_473, 3622)
			// Standard error: 71
			.saturating_add(Weight::from_parts(1_544, 0).saturating_mul(s.into()))
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	/// Storage: `Listing::Listings` (r:1 w:1)
	/// Proof: `Listing::Listings` (`max_values`: None, `max_size`: Some(1722), added: 4197, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Component `s` ranges over `[0, 512]`.
	fn update_listing(s: u32, ) -> Weight {
		// Proof size (bytes), measured: `225`
		// Proof size (bytes), worst case: `5187`
		// Fastest run: 38_137_000 picoseconds.
		Weight::from_parts(62_890_864, 5187)
			// Standard error: 236
			.saturating_add(Weight::from_parts(6_789, 0).saturating_mul(s.into()))
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Listing::Listings` (r:1 w:1)
	/// Proof: `Listing::Listings` (`max_values`: None, `max_size`: Some(1722), added: 4197, mode: `MaxEncodedLen`)
	/// Storage: `Listing::ActiveListingCount` (r:1 w:1)
	/// Proof: `Listing::ActiveListingCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	fn close_listing() -> Weight {
		// Proof size (bytes), measured: `225`
		// Proof size (bytes), worst case: `5187`
		// Fastest run: 49_163_000 picoseconds.
		Weight::from_parts(53_590_000, 5187)
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(3))
	}
}

/// The same measurements with RocksDB's database weights.
impl WeightInfo for () {
	fn create_listing(s: u32, ) -> Weight {
		Weight::from_parts(57_848_473, 3622)
			.saturating_add(Weight::from_parts(1_544, 0).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads(3))
			.saturating_add(RocksDbWeight::get().writes(4))
	}
	fn update_listing(s: u32, ) -> Weight {
		Weight::from_parts(62_890_864, 5187)
			.saturating_add(Weight::from_parts(6_789, 0).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().writes(2))
	}
	fn close_listing() -> Weight {
		Weight::from_parts(53_590_000, 5187)
			.saturating_add(RocksDbWeight::get().reads(3))
			.saturating_add(RocksDbWeight::get().writes(3))
	}
}
