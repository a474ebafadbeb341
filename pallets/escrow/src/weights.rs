//! Weights of `pallet_escrow`, measured on the MedLedger runtime by `scripts/bench-weights.sh`.
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
// pallet_escrow
// --extrinsic
// *
// --steps
// 50
// --repeat
// 20
// --wasm-execution
// compiled
// --output
// pallets/escrow/src/weights.rs
// --template
// scripts/weight-template.hbs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// The weight of each call and hook of `pallet_escrow`.
pub trait WeightInfo {
	fn buy() -> Weight;
	fn submit_receipt() -> Weight;
	fn confirm() -> Weight;
	fn finalize() -> Weight;
	fn refund() -> Weight;
	fn decline() -> Weight;
	fn dispute() -> Weight;
	fn resolve_dispute() -> Weight;
	fn auto_release_base() -> Weight;
	fn auto_release_entry() -> Weight;
}

/// The measured weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Listing::Listings` (r:1 w:1)
	/// Proof: `Listing::Listings` (`max_values`: None, `max_size`: Some(1722), added: 4197, mode: `MaxEncodedLen`)
	/// Storage: `Delivery::DeliveryKeys` (r:1 w:0)
	/// Proof: `Delivery::DeliveryKeys` (`max_values`: None, `max_size`: Some(81), added: 2556, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Escrow::Orders` (r:0 w:1)
	/// Proof: `Escrow::Orders` (`max_values`: None, `max_size`: Some(350), added: 2825, mode: `MaxEncodedLen`)
	/// Storage: `Escrow::PendingDeliveries` (r:0 w:1)
	/// Proof: `Escrow::PendingDeliveries` (`max_values`: None, `max_size`: Some(64), added: 2539, mode: `MaxEncodedLen`)
	fn buy() -> Weight {
		// Proof size (bytes), measured: `339`
		// Proof size (bytes), worst case: `5187`
		// Fastest run: 68_712_000 picoseconds.
		Weight::from_parts(75_261_000, 5187)
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	/// Storage: `Escrow::Orders` (r:1 w:1)
	/// Proof: `Escrow::Orders` (`max_values`: None, `max_size`: Some(350), added: 2825, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Listing::Listings` (r:1 w:1)
	/// Proof: `Listing::Listings` (`max_values`: None, `max_size`: Some(1722), added: 4197, mode: `MaxEncodedLen`)
	/// Storage: `Escrow::ReleaseQueueBounds` (r:1 w:1)
	/// Proof: `Escrow::ReleaseQueueBounds` (`max_values`: Some(1), `max_size`: Some(16), added: 511, mode: `MaxEncodedLen`)
	/// Storage: `Escrow::PendingDeliveries` (r:0 w:1)
	/// Proof: `Escrow::PendingDeliveries` (`max_values`: None, `max_size`: Some(64), added: 2539, mode: `MaxEncodedLen`)
	/// Storage: `Escrow::ReleaseQueue` (r:0 w:1)
	/// Proof: `Escrow::ReleaseQueue` (`max_values`: None, `max_size`: Some(24), added: 2499, mode: `MaxEncodedLen`)
	fn submit_receipt() -> Weight {
		// Proof size (bytes), measured: `488`
		// Proof size (bytes), worst case: `5187`
		// Fastest run: 65_257_000 picoseconds.
		Weight::from_parts(72_237_000, 5187)
			.saturating_add(T::DbWeight::get().reads(4))
			.saturating_add(T::DbWeight::get().writes(6))
	}
	/// Storage: `Escrow::Orders` (r:1 w:1)
	/// Proof: `Escrow::Orders` (`max_values`: None, `max_size`: Some(350), added: 2825, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:3 w:3)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::ReleasedOrders` (r:1 w:1)
	/// Proof: `Revenue::ReleasedOrders` (`max_values`: None, `max_size`: Some(68), added: 2543, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RevenueTotals` (r:1 w:1)
	/// Proof: `Revenue::RevenueTotals` (`max_values`: Some(1), `max_size`: Some(80), added: 575, mode: `MaxEncodedLen`)
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
	fn confirm() -> Weight {
		// Proof size (bytes), measured: `816`
		// Proof size (bytes), worst case: `8799`
		// Fastest run: 186_356_000 picoseconds.
		Weight::from_parts(202_681_000, 8799)
			.saturating_add(T::DbWeight::get().reads(13))
			.saturating_add(T::DbWeight::get().writes(12))
	}
	/// Storage: `Escrow::Orders` (r:1 w:1)
	/// Proof: `Escrow::Orders` (`max_values`: None, `max_size`: Some(350), added: 2825, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:3 w:3)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::ReleasedOrders` (r:1 w:1)
	/// Proof: `Revenue::ReleasedOrders` (`max_values`: None, `max_size`: Some(68), added: 2543, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RevenueTotals` (r:1 w:1)
	/// Proof: `Revenue::RevenueTotals` (`max_values`: Some(1), `max_size`: Some(80), added: 575, mode: `MaxEncodedLen`)
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
	/// Storage: `Consortium::DisputeVotes` (r:1 w:1)
	/// Proof: `Consortium::DisputeVotes` (`max_values`: None, `max_size`: Some(20), added: 2495, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForDisputeVotes` (r:1 w:1)
	/// Proof: `Consortium::CounterForDisputeVotes` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::Proposals` (r:1 w:1)
	/// Proof: `Consortium::Proposals` (`max_values`: None, `max_size`: Some(3147913), added: 3150388, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForProposals` (r:1 w:1)
	/// Proof: `Consortium::CounterForProposals` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::PoolOrders` (r:0 w:1)
	/// Proof: `Revenue::PoolOrders` (`max_values`: None, `max_size`: Some(92), added: 2567, mode: `MaxEncodedLen`)
	fn finalize() -> Weight {
		// Proof size (bytes), measured: `925`
		// Proof size (bytes), worst case: `3151378`
		// Fastest run: 238_334_000 picoseconds.
		Weight::from_parts(257_712_000, 3151378)
			.saturating_add(T::DbWeight::get().reads(17))
			.saturating_add(T::DbWeight::get().writes(16))
	}
	/// Storage: `Escrow::Orders` (r:1 w:1)
	/// Proof: `Escrow::Orders` (`max_values`: None, `max_size`: Some(350), added: 2825, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Listing::Listings` (r:1 w:1)
	/// Proof: `Listing::Listings` (`max_values`: None, `max_size`: Some(1722), added: 4197, mode: `MaxEncodedLen`)
	/// Storage: `Escrow::PendingDeliveries` (r:0 w:1)
	/// Proof: `Escrow::PendingDeliveries` (`max_values`: None, `max_size`: Some(64), added: 2539, mode: `MaxEncodedLen`)
	fn refund() -> Weight {
		// Proof size (bytes), measured: `488`
		// Proof size (bytes), worst case: `5187`
		// Fastest run: 58_868_000 picoseconds.
		Weight::from_parts(65_628_000, 5187)
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	/// Storage: `Escrow::Orders` (r:1 w:1)
	/// Proof: `Escrow::Orders` (`max_values`: None, `max_size`: Some(350), added: 2825, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Listing::Listings` (r:1 w:1)
	/// Proof: `Listing::Listings` (`max_values`: None, `max_size`: Some(1722), added: 4197, mode: `MaxEncodedLen`)
	/// Storage: `Escrow::PendingDeliveries` (r:0 w:1)
	/// Proof: `Escrow::PendingDeliveries` (`max_values`: None, `max_size`: Some(64), added: 2539, mode: `MaxEncodedLen`)
	fn decline() -> Weight {
		// Proof size (bytes), measured: `488`
		// Proof size (bytes), worst case: `5187`
		// Fastest run: 60_049_000 picoseconds.
		Weight::from_parts(66_198_000, 5187)
			.saturating_add(T::DbWeight::get().reads(3))
			.saturating_add(T::DbWeight::get().writes(4))
	}
	/// Storage: `Escrow::Orders` (r:1 w:1)
	/// Proof: `Escrow::Orders` (`max_values`: None, `max_size`: Some(350), added: 2825, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::ProposalLifetime` (r:1 w:0)
	/// Proof: `Consortium::ProposalLifetime` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::ProposalCount` (r:1 w:1)
	/// Proof: `Consortium::ProposalCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::DisputeVotes` (r:1 w:1)
	/// Proof: `Consortium::DisputeVotes` (`max_values`: None, `max_size`: Some(20), added: 2495, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForDisputeVotes` (r:1 w:1)
	/// Proof: `Consortium::CounterForDisputeVotes` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::Proposals` (r:1 w:1)
	/// Proof: `Consortium::Proposals` (`max_values`: None, `max_size`: Some(3147913), added: 3150388, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForProposals` (r:1 w:1)
	/// Proof: `Consortium::CounterForProposals` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	fn dispute() -> Weight {
		// Proof size (bytes), measured: `582`
		// Proof size (bytes), worst case: `3151378`
		// Fastest run: 85_457_000 picoseconds.
		Weight::from_parts(93_489_000, 3151378)
			.saturating_add(T::DbWeight::get().reads(8))
			.saturating_add(T::DbWeight::get().writes(7))
	}
	/// Storage: `Escrow::Orders` (r:1 w:1)
	/// Proof: `Escrow::Orders` (`max_values`: None, `max_size`: Some(350), added: 2825, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:3 w:3)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::ReleasedOrders` (r:1 w:1)
	/// Proof: `Revenue::ReleasedOrders` (`max_values`: None, `max_size`: Some(68), added: 2543, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RevenueTotals` (r:1 w:1)
	/// Proof: `Revenue::RevenueTotals` (`max_values`: Some(1), `max_size`: Some(80), added: 575, mode: `MaxEncodedLen`)
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
	/// Storage: `Consortium::DisputeVotes` (r:1 w:1)
	/// Proof: `Consortium::DisputeVotes` (`max_values`: None, `max_size`: Some(20), added: 2495, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForDisputeVotes` (r:1 w:1)
	/// Proof: `Consortium::CounterForDisputeVotes` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::Proposals` (r:1 w:1)
	/// Proof: `Consortium::Proposals` (`max_values`: None, `max_size`: Some(3147913), added: 3150388, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForProposals` (r:1 w:1)
	/// Proof: `Consortium::CounterForProposals` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::PoolOrders` (r:0 w:1)
	/// Proof: `Revenue::PoolOrders` (`max_values`: None, `max_size`: Some(92), added: 2567, mode: `MaxEncodedLen`)
	fn resolve_dispute() -> Weight {
		// Proof size (bytes), measured: `925`
		// Proof size (bytes), worst case: `3151378`
		// Fastest run: 234_888_000 picoseconds.
		Weight::from_parts(282_580_000, 3151378)
			.saturating_add(T::DbWeight::get().reads(17))
			.saturating_add(T::DbWeight::get().writes(16))
	}
	/// Storage: `Escrow::ReleaseQueueBounds` (r:1 w:1)
	/// Proof: `Escrow::ReleaseQueueBounds` (`max_values`: Some(1), `max_size`: Some(16), added: 511, mode: `MaxEncodedLen`)
	fn auto_release_base() -> Weight {
		// Proof size (bytes), measured: `0`
		// Proof size (bytes), worst case: `1501`
		// Fastest run: 1_272_000 picoseconds.
		Weight::from_parts(1_452_000, 1501)
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().writes(1))
	}
	/// Storage: `Escrow::ReleaseQueueBounds` (r:1 w:1)
	/// Proof: `Escrow::ReleaseQueueBounds` (`max_values`: Some(1), `max_size`: Some(16), added: 511, mode: `MaxEncodedLen`)
	/// Storage: `Escrow::ReleaseQueue` (r:1 w:1)
	/// Proof: `Escrow::ReleaseQueue` (`max_values`: None, `max_size`: Some(24), added: 2499, mode: `MaxEncodedLen`)
	/// Storage: `Escrow::Orders` (r:1 w:1)
	/// Proof: `Escrow::Orders` (`max_values`: None, `max_size`: Some(350), added: 2825, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:3 w:3)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::ReleasedOrders` (r:1 w:1)
	/// Proof: `Revenue::ReleasedOrders` (`max_values`: None, `max_size`: Some(68), added: 2543, mode: `MaxEncodedLen`)
	/// Storage: `Revenue::RevenueTotals` (r:1 w:1)
	/// Proof: `Revenue::RevenueTotals` (`max_values`: Some(1), `max_size`: Some(80), added: 575, mode: `MaxEncodedLen`)
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
	fn auto_release_entry() -> Weight {
		// Proof size (bytes), measured: `831`
		// Proof size (bytes), worst case: `8799`
		// Fastest run: 190_563_000 picoseconds.
		Weight::from_parts(207_148_000, 8799)
			.saturating_add(T::DbWeight::get().reads(15))
			.saturating_add(T::DbWeight::get().writes(14))
	}
}

/// The same measurements with RocksDB's database weights.
impl WeightInfo for () {
	fn buy() -> Weight {
		Weight::from_parts(75_261_000, 5187)
			.saturating_add(RocksDbWeight::get().reads(3))
			.saturating_add(RocksDbWeight::get().writes(4))
	}
	fn submit_receipt() -> Weight {
		Weight::from_parts(72_237_000, 5187)
			.saturating_add(RocksDbWeight::get().reads(4))
			.saturating_add(RocksDbWeight::get().writes(6))
	}
	fn confirm() -> Weight {
		Weight::from_parts(202_681_000, 8799)
			.saturating_add(RocksDbWeight::get().reads(13))
			.saturating_add(RocksDbWeight::get().writes(12))
	}
	fn finalize() -> Weight {
		Weight::from_parts(257_712_000, 3151378)
			.saturating_add(RocksDbWeight::get().reads(17))
			.saturating_add(RocksDbWeight::get().writes(16))
	}
	fn refund() -> Weight {
		Weight::from_parts(65_628_000, 5187)
			.saturating_add(RocksDbWeight::get().reads(3))
			.saturating_add(RocksDbWeight::get().writes(4))
	}
	fn decline() -> Weight {
		Weight::from_parts(66_198_000, 5187)
			.saturating_add(RocksDbWeight::get().reads(3))
			.saturating_add(RocksDbWeight::get().writes(4))
	}
	fn dispute() -> Weight {
		Weight::from_parts(93_489_000, 3151378)
			.saturating_add(RocksDbWeight::get().reads(8))
			.saturating_add(RocksDbWeight::get().writes(7))
	}
	fn resolve_dispute() -> Weight {
		Weight::from_parts(282_580_000, 3151378)
			.saturating_add(RocksDbWeight::get().reads(17))
			.saturating_add(RocksDbWeight::get().writes(16))
	}
	fn auto_release_base() -> Weight {
		Weight::from_parts(1_452_000, 1501)
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().writes(1))
	}
	fn auto_release_entry() -> Weight {
		Weight::from_parts(207_148_000, 8799)
			.saturating_add(RocksDbWeight::get().reads(15))
			.saturating_add(RocksDbWeight::get().writes(14))
	}
}
