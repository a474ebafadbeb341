//! Weights of `pallet_consortium`, measured on the MedLedger runtime by `scripts/bench-weights.sh`.
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
// pallet_consortium
// --extrinsic
// *
// --steps
// 50
// --repeat
// 20
// --wasm-execution
// compiled
// --output
// pallets/consortium/src/weights.rs
// --template
// scripts/weight-template.hbs

#![cfg_attr(rustfmt, rustfmt_skip)]
#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use core::marker::PhantomData;
use frame_support::{traits::Get, weights::{constants::RocksDbWeight, Weight}};

/// The weight of each call and hook of `pallet_consortium`.
pub trait WeightInfo {
	fn propose(m: u32, ) -> Weight;
	fn vote(m: u32, ) -> Weight;
	fn close() -> Weight;
	fn update_hospital(p: u32, ) -> Weight;
	fn update_regulator_peer() -> Weight;
	fn set_proposal_lifetime() -> Weight;
}

/// The measured weights, with the runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Consortium::PeerOwners` (r:4 w:0)
	/// Proof: `Consortium::PeerOwners` (`max_values`: None, `max_size`: Some(115), added: 2590, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::ProposalCount` (r:1 w:1)
	/// Proof: `Consortium::ProposalCount` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForProposals` (r:1 w:1)
	/// Proof: `Consortium::CounterForProposals` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForDisputeVotes` (r:1 w:0)
	/// Proof: `Consortium::CounterForDisputeVotes` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::OpenProposalsBy` (r:1 w:1)
	/// Proof: `Consortium::OpenProposalsBy` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::ProposalLifetime` (r:1 w:0)
	/// Proof: `Consortium::ProposalLifetime` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::Proposals` (r:1 w:1)
	/// Proof: `Consortium::Proposals` (`max_values`: None, `max_size`: Some(3147913), added: 3150388, mode: `MaxEncodedLen`)
	/// Component `m` ranges over `[4, 31]`.
	fn propose(m: u32, ) -> Weight {
		// Proof size (bytes), measured: `303 + m * (34 ±0)`
		// Proof size (bytes), worst case: `3151378`
		// Fastest run: 92_427_000 picoseconds.
		Weight::from_parts(120_284_701, 3151378)
			// Standard error: 20_147
			.saturating_add(Weight::from_parts(1_533_815, 0).saturating_mul(m.into()))
			.saturating_add(T::DbWeight::get().reads(12))
			.saturating_add(T::DbWeight::get().writes(6))
	}
	/// Storage: `Consortium::Proposals` (r:1 w:1)
	/// Proof: `Consortium::Proposals` (`max_values`: None, `max_size`: Some(3147913), added: 3150388, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForProposals` (r:1 w:1)
	/// Proof: `Consortium::CounterForProposals` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::OpenProposalsBy` (r:1 w:1)
	/// Proof: `Consortium::OpenProposalsBy` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::PeerOwners` (r:4 w:4)
	/// Proof: `Consortium::PeerOwners` (`max_values`: None, `max_size`: Some(115), added: 2590, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::Hospitals` (r:0 w:1)
	/// Proof: `Consortium::Hospitals` (`max_values`: None, `max_size`: Some(637), added: 3112, mode: `MaxEncodedLen`)
	/// Component `m` ranges over `[4, 31]`.
	fn vote(m: u32, ) -> Weight {
		// Proof size (bytes), measured: `552 + m * (41 ±0)`
		// Proof size (bytes), worst case: `3151378`
		// Fastest run: 91_566_000 picoseconds.
		Weight::from_parts(94_024_411, 3151378)
			// Standard error: 6_081
			.saturating_add(Weight::from_parts(805_299, 0).saturating_mul(m.into()))
			.saturating_add(T::DbWeight::get().reads(9))
			.saturating_add(T::DbWeight::get().writes(10))
	}
	/// Storage: `Consortium::Proposals` (r:1 w:1)
	/// Proof: `Consortium::Proposals` (`max_values`: None, `max_size`: Some(3147913), added: 3150388, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::CounterForProposals` (r:1 w:1)
	/// Proof: `Consortium::CounterForProposals` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::OpenProposalsBy` (r:1 w:1)
	/// Proof: `Consortium::OpenProposalsBy` (`max_values`: None, `max_size`: Some(52), added: 2527, mode: `MaxEncodedLen`)
	/// Storage: `System::Account` (r:1 w:1)
	/// Proof: `System::Account` (`max_values`: None, `max_size`: Some(128), added: 2603, mode: `MaxEncodedLen`)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Proof: `Balances::Holds` (`max_values`: None, `max_size`: Some(157), added: 2632, mode: `MaxEncodedLen`)
	fn close() -> Weight {
		// Proof size (bytes), measured: `565`
		// Proof size (bytes), worst case: `3151378`
		// Fastest run: 59_298_000 picoseconds.
		Weight::from_parts(65_347_000, 3151378)
			.saturating_add(T::DbWeight::get().reads(5))
			.saturating_add(T::DbWeight::get().writes(5))
	}
	/// Storage: `Consortium::Hospitals` (r:1 w:1)
	/// Proof: `Consortium::Hospitals` (`max_values`: None, `max_size`: Some(637), added: 3112, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::PeerOwners` (r:4 w:8)
	/// Proof: `Consortium::PeerOwners` (`max_values`: None, `max_size`: Some(115), added: 2590, mode: `MaxEncodedLen`)
	/// Component `p` ranges over `[1, 4]`.
	fn update_hospital(p: u32, ) -> Weight {
		// Proof size (bytes), measured: `337 + p * (84 ±0)`
		// Proof size (bytes), worst case: `4102 + p * (2590 ±0)`
		// Fastest run: 20_600_000 picoseconds.
		Weight::from_parts(15_797_189, 4102)
			// Standard error: 8_134
			.saturating_add(Weight::from_parts(6_738_094, 0).saturating_mul(p.into()))
			.saturating_add(T::DbWeight::get().reads(1))
			.saturating_add(T::DbWeight::get().reads((1_u64).saturating_mul(p.into())))
			.saturating_add(T::DbWeight::get().writes(1))
			.saturating_add(T::DbWeight::get().writes((2_u64).saturating_mul(p.into())))
			.saturating_add(Weight::from_parts(0, 2590).saturating_mul(p.into()))
	}
	/// Storage: `Consortium::Regulators` (r:1 w:1)
	/// Proof: `Consortium::Regulators` (`max_values`: None, `max_size`: Some(180), added: 2655, mode: `MaxEncodedLen`)
	/// Storage: `Consortium::PeerOwners` (r:1 w:2)
	/// Proof: `Consortium::PeerOwners` (`max_values`: None, `max_size`: Some(115), added: 2590, mode: `MaxEncodedLen`)
	fn update_regulator_peer() -> Weight {
		// Proof size (bytes), measured: `296`
		// Proof size (bytes), worst case: `3645`
		// Fastest run: 20_811_000 picoseconds.
		Weight::from_parts(22_644_000, 3645)
			.saturating_add(T::DbWeight::get().reads(2))
			.saturating_add(T::DbWeight::get().writes(3))
	}
	/// Storage: `Consortium::ProposalLifetime` (r:0 w:1)
	/// Proof: `Consortium::ProposalLifetime` (`max_values`: Some(1), `max_size`: Some(4), added: 499, mode: `MaxEncodedLen`)
	fn set_proposal_lifetime() -> Weight {
		// Proof size (bytes), measured: `0`
		// Proof size (bytes), worst case: `0`
		// Fastest run: 4_707_000 picoseconds.
		Weight::from_parts(5_338_000, 0)
			.saturating_add(T::DbWeight::get().writes(1))
	}
}

/// The same measurements with RocksDB's database weights.
impl WeightInfo for () {
	fn propose(m: u32, ) -> Weight {
		Weight::from_parts(120_284_701, 3151378)
			.saturating_add(Weight::from_parts(1_533_815, 0).saturating_mul(m.into()))
			.saturating_add(RocksDbWeight::get().reads(12))
			.saturating_add(RocksDbWeight::get().writes(6))
	}
	fn vote(m: u32, ) -> Weight {
		Weight::from_parts(94_024_411, 3151378)
			.saturating_add(Weight::from_parts(805_299, 0).saturating_mul(m.into()))
			.saturating_add(RocksDbWeight::get().reads(9))
			.saturating_add(RocksDbWeight::get().writes(10))
	}
	fn close() -> Weight {
		Weight::from_parts(65_347_000, 3151378)
			.saturating_add(RocksDbWeight::get().reads(5))
			.saturating_add(RocksDbWeight::get().writes(5))
	}
	fn update_hospital(p: u32, ) -> Weight {
		Weight::from_parts(15_797_189, 4102)
			.saturating_add(Weight::from_parts(6_738_094, 0).saturating_mul(p.into()))
			.saturating_add(RocksDbWeight::get().reads(1))
			.saturating_add(RocksDbWeight::get().reads((1_u64).saturating_mul(p.into())))
			.saturating_add(RocksDbWeight::get().writes(1))
			.saturating_add(RocksDbWeight::get().writes((2_u64).saturating_mul(p.into())))
			.saturating_add(Weight::from_parts(0, 2590).saturating_mul(p.into()))
	}
	fn update_regulator_peer() -> Weight {
		Weight::from_parts(22_644_000, 3645)
			.saturating_add(RocksDbWeight::get().reads(2))
			.saturating_add(RocksDbWeight::get().writes(3))
	}
	fn set_proposal_lifetime() -> Weight {
		Weight::from_parts(5_338_000, 0)
			.saturating_add(RocksDbWeight::get().writes(1))
	}
}
