//! Weights of `pallet_revenue`, measured on the MedLedger runtime by `scripts/bench-weights.sh`.
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
// pallet_revenue
// --extrinsic
// *
// --steps
// 50
// --repeat
// 20
// --wasm-execution
// compiled
// --output
// pallets/revenue/src/weights.rs
// --template
// scripts/weight-template.hbs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// The weight of each call and hook of `pallet_revenue`.
pub trait WeightInfo {
	fn set_shares() -> Weight;
	fn commit_root() -> Weight;
	fn claim(p: u32, ) -> Weight;
	fn claim_in_100_000_leaf_root() -> Weight;
	fn pay_owed() -> Weight;
	fn reject_root() -> Weight;
	fn report_overdue_root() -> Weight;
	fn escrow_released() -> Weight;
}

/// The measured weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Revenue::Shares` (r:0 w:1)
	/// Proof: `Revenue::Shares` (`max_values`: Some(1), `max_size`: Some(12), added: 507, mode: `MaxEncodedLen`)
	fn set_shares() -> Weight {
		// Proof size (bytes), measured: `0`
		// Proof size (bytes), worst case: `0`
		// Fastest run: 4_808_000 picoseconds.
		Weight::from_parts(5_539_000, 0)
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Revenue::EpochLength` (r:1 w:0)
	/// Proof: `Revenue::EpochLength` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::Earned` (r:1 w:0)
	/// Proof: `Revenue::Earned` (`max_values`: None, `max_size`: Some(100), added: 2575, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::LatestRoot` (r:1 w:1)
	/// Proof: `Revenue::LatestRoot` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::PayoutRoots` (r:0 w:1)
	/// Proof: `Revenue::PayoutRoots` (`max_values`: None, `max_size`: Some(113), added: 2588, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RootDue` (r:0 w:1)
	/// Proof: `Revenue::RootDue` (`max_values`: None, `max_size`: Some(53), added: 2528, mode: `MaxEncodedLen`)
	fn commit_root() -> Weight {
		// Proof size (bytes), measured: `319`
		// Proof size (bytes), worst case: `3565`
		// Fastest run: 22_353_000 picoseconds.
		Weight::from_parts(24_767_000, 3565)
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(3))
	}
	/// Storage: `Revenue::PayoutRoots` (r:1 w:0)
	/// Proof: `Revenue::PayoutRoots` (`max_values`: None, `max_size`: Some(113), added: 2588, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::ClaimedFrom` (r:1 w:1)
	/// Proof: `Revenue::ClaimedFrom` (`max_values`: None, `max_size`: Some(112), added: 2587, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::Earned` (r:1 w:1)
	/// Proof: `Revenue::Earned` (`max_values`: None, `max_size`: Some(100), added: 2575, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RevenueTotals` (r:1 w:1)
	/// Proof: `Revenue::RevenueTotals` (`max_values`: Some(1), `max_size`: Some(80), added: 575, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::Owed` (r:1 w:1)
	/// Proof: `Revenue::Owed` (`max_values`: None, `max_size`: Some(64), added: 2539, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Component `p` ranges over `[1, 20]`.
	fn claim(p: u32, ) -> Weight {
		// Proof size (bytes), measured: `702`
		// Proof size (bytes), worst case: `6196`
		// Fastest run: 83_924_000 picoseconds.
		Weight::from_parts(97_454_371, 6196)
			// Standard error: 33_322
			.saturating_add(Weight::from_parts(624_804, 0).saturating_mul(p.into()))
			.saturating_add(T::DbWeight::get().reads(7))
			.saturating_add(T::DbWeight::get().writes(6))
	}
	/// Storage: `Revenue::PayoutRoots` (r:1 w:0)
	/// Proof: `Revenue::PayoutRoots` (`max_values`: None, `max_size`: Some(113), added: 2588, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::ClaimedFrom` (r:1 w:1)
	/// Proof: `Revenue::ClaimedFrom` (`max_values`: None, `max_size`: Some(112), added: 2587, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::Earned` (r:1 w:1)
	/// Proof: `Revenue::Earned` (`max_values`: None, `max_size`: Some(100), added: 2575, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RevenueTotals` (r:1 w:1)
	/// Proof: `Revenue::RevenueTotals` (`max_values`: Some(1), `max_size`: Some(80), added: 575, mode: `MaxEncodedLen`)
	/// Storage: `Consent::ConsentCalls` (r:1 w:1)
	/// Proof: `Consent::ConsentCalls` (`max_values`: None, `max_size`: Some(129), added: 2604, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::Owed` (r:1 w:1)
	/// Proof: `Revenue::Owed` (`max_values`: None, `max_size`: Some(64), added: 2539, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	fn claim_in_100_000_leaf_root() -> Weight {
		// Proof size (bytes), measured: `744`
		// Proof size (bytes), worst case: `6196`
		// Fastest run: 96_293_000 picoseconds.
		Weight::from_parts(105_607_000, 6196)
			.saturating_add(T::DbWeight::get().reads(8))
			.saturating_add(T::DbWeight::get().writes(7))
	}
	/// Storage: `Revenue::Owed` (r:1 w:1)
	/// Proof: `Revenue::Owed` (`max_values`: None, `max_size`: Some(64), added: 2539, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:2 w:2)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Consent::ConsentCalls` (r:1 w:1)
	/// Proof: `Consent::ConsentCalls` (`max_values`: None, `max_size`: Some(129), added: 2604, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RevenueTotals` (r:1 w:1)
	/// Proof: `Revenue::RevenueTotals` (`max_values`: Some(1), `max_size`: Some(80), added: 575, mode: `MaxEncodedLen`)
	fn pay_owed() -> Weight {
		// Proof size (bytes), measured: `537`
		// Proof size (bytes), worst case: `6196`
		// Fastest run: 67_530_000 picoseconds.
		Weight::from_parts(74_050_000, 6196)
			.saturating_add(T::DbWeight::get().reads(5))
			.saturating_add(T::DbWeight::get().writes(5))
	}
	/// Storage: `Revenue::PayoutRoots` (r:1 w:1)
	/// Proof: `Revenue::PayoutRoots` (`max_values`: None, `max_size`: Some(113), added: 2588, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::LatestRoot` (r:1 w:0)
	/// Proof: `Revenue::LatestRoot` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RootDue` (r:1 w:1)
	/// Proof: `Revenue::RootDue` (`max_values`: None, `max_size`: Some(53), added: 2528, mode: `MaxEncodedLen`)
	fn reject_root() -> Weight {
		// Proof size (bytes), measured: `406`
		// Proof size (bytes), worst case: `3578`
		// Fastest run: 20_961_000 picoseconds.
		Weight::from_parts(22_934_000, 3578)
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(2))
	}
	/// Storage: `Revenue::RootDue` (r:1 w:1)
	/// Proof: `Revenue::RootDue` (`max_values`: None, `max_size`: Some(53), added: 2528, mode: `MaxEncodedLen`)
	fn report_overdue_root() -> Weight {
		// Proof size (bytes), measured: `270`
		// Proof size (bytes), worst case: `3518`
		// Fastest run: 14_321_000 picoseconds.
		Weight::from_parts(16_024_000, 3518)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Revenue::ReleasedOrders` (r:1 w:1)
	/// Proof: `Revenue::ReleasedOrders` (`max_values`: None, `max_size`: Some(68), added: 2543, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RevenueTotals` (r:1 w:1)
	/// Proof: `Revenue::RevenueTotals` (`max_values`: Some(1), `max_size`: Some(80), added: 575, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:3 w:3)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::Shares` (r:1 w:0)
	/// Proof: `Revenue::Shares` (`max_values`: Some(1), `max_size`: Some(12), added: 507, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::EpochLength` (r:1 w:0)
	/// Proof: `Revenue::EpochLength` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::Earned` (r:1 w:1)
	/// Proof: `Revenue::Earned` (`max_values`: None, `max_size`: Some(100), added: 2575, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RootDue` (r:1 w:1)
	/// Proof: `Revenue::RootDue` (`max_values`: None, `max_size`: Some(53), added: 2528, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::Owed` (r:2 w:2)
	/// Proof: `Revenue::Owed` (`max_values`: None, `max_size`: Some(64), added: 2539, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::PoolOrders` (r:0 w:1)
	/// Proof: `Revenue::PoolOrders` (`max_values`: None, `max_size`: Some(92), added: 2567, mode: `MaxEncodedLen`)
	fn escrow_released() -> Weight {
		// Proof size (bytes), measured: `293`
		// Proof size (bytes), worst case: `8799`
		// Fastest run: 127_219_000 picoseconds.
		Weight::from_parts(137_724_000, 8799)
			.saturating_add(T::DbWeight::get().reads(11))
			.saturating_add(T::DbWeight::get().writes(10))
	}
}

/// The same measurements with RocksDB's database weights.
impl WeightInfo for () {
	fn set_shares() -> Weight {
		Weight::from_parts(5_539_000, 0)
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn commit_root() -> Weight {
		Weight::from_parts(24_767_000, 3565)
			.saturating_add(RocksDbWeight::get().reads(3))
			.saturating_add(RocksDbWeight::get().writes(3))
	}
	fn claim(p: u32, ) -> Weight {
		Weight::from_parts(97_454_371, 6196)
			.saturating_add(Weight::from_parts(624_804, 0).saturating_mul(p.into()))
			.saturating_add(RocksDbWeight::get().reads(7))
			.saturating_add(RocksDbWeight::get().writes(6))
	}
	fn claim_in_100_000_leaf_root() -> Weight {
		Weight::from_parts(105_607_000, 6196)
			.saturating_add(RocksDbWeight::get().reads(8))
			.saturating_add(RocksDbWeight::get().writes(7))
	}
	fn pay_owed() -> Weight {
		Weight::from_parts(74_050_000, 6196)
			.saturating_add(RocksDbWeight::get().reads(5))
			.saturating_add(RocksDbWeight::get().writes(5))
	}
	fn reject_root() -> Weight {
		Weight::from_parts(22_934_000, 3578)
			.saturating_add(RocksDbWeight::get().reads(3))
			.saturating_add(RocksDbWeight::get().writes(2))
	}
	fn report_overdue_root() -> Weight {
		Weight::from_parts(16_024_000, 3518)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn escrow_released() -> Weight {
		Weight::from_parts(137_724_000, 8799)
			.saturating_add(RocksDbWeight::get().reads(11))
			.saturating_add(RocksDbWeight::get().writes(10))
	}
}
