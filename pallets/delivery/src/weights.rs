//! Weights of `pallet_delivery`, measured on the MedLedger runtime by `scripts/bench-weights.sh`.
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
// pallet_delivery
// --extrinsic
// *
// --steps
// 50
// --repeat
// 20
// --wasm-execution
// compiled
// --output
// pallets/delivery/src/weights.rs
// --template
// scripts/weight-template.hbs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// The weight of each call and hook of `pallet_delivery`.
pub trait WeightInfo {
	fn register_delivery_key() -> Weight;
	fn remove_delivery_key() -> Weight;
	fn set_ocw_delegate() -> Weight;
	fn revoke_ocw_delegate() -> Weight;
}

/// The measured weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Delivery::DeliveryKeys` (r:1 w:1)
	/// Proof: `Delivery::DeliveryKeys` (`max_values`: None, `max_size`: Some(81), added: 2556, mode: `MaxEncodedLen`)
	fn register_delivery_key() -> Weight {
		// Proof size (bytes), measured: `114`
		// Proof size (bytes), worst case: `3546`
		// Fastest run: 46_479_000 picoseconds.
		Weight::from_parts(49_042_000, 3546)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Delivery::DeliveryKeys` (r:1 w:1)
	/// Proof: `Delivery::DeliveryKeys` (`max_values`: None, `max_size`: Some(81), added: 2556, mode: `MaxEncodedLen`)
	fn remove_delivery_key() -> Weight {
		// Proof size (bytes), measured: `114`
		// Proof size (bytes), worst case: `3546`
		// Fastest run: 9_705_000 picoseconds.
		Weight::from_parts(10_796_000, 3546)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Delivery::OcwDelegates` (r:1 w:1)
	/// Proof: `Delivery::OcwDelegates` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	fn set_ocw_delegate() -> Weight {
		// Proof size (bytes), measured: `111`
		// Proof size (bytes), worst case: `3545`
		// Fastest run: 10_806_000 picoseconds.
		Weight::from_parts(12_068_000, 3545)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Delivery::OcwDelegates` (r:1 w:1)
	/// Proof: `Delivery::OcwDelegates` (`max_values`: None, `max_size`: Some(80), added: 2555, mode: `MaxEncodedLen`)
	fn revoke_ocw_delegate() -> Weight {
		// Proof size (bytes), measured: `111`
		// Proof size (bytes), worst case: `3545`
		// Fastest run: 9_674_000 picoseconds.
		Weight::from_parts(10_986_000, 3545)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
}

/// The same measurements with RocksDB's database weights.
impl WeightInfo for () {
	fn register_delivery_key() -> Weight {
		Weight::from_parts(49_042_000, 3546)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn remove_delivery_key() -> Weight {
		Weight::from_parts(10_796_000, 3546)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn set_ocw_delegate() -> Weight {
		Weight::from_parts(12_068_000, 3545)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn revoke_ocw_delegate() -> Weight {
		Weight::from_parts(10_986_000, 3545)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
}
