//! Weights of the consortium's calls.
//!
//! Hand estimates from the storage each call touches (RocksDB weights) plus a compute margin,
//! until `benchmarking.rs` is run on reference hardware with `frame-omni-bencher`.

use frame_support::weights::{constants::RocksDbWeight, Weight};

pub trait WeightInfo {
    fn propose(members: u32) -> Weight;
    fn vote(members: u32) -> Weight;
    fn close() -> Weight;
    fn update_hospital(peers: u32) -> Weight;
    fn update_regulator_peer() -> Weight;
    fn set_proposal_lifetime() -> Weight;
}

/// Conservative estimates: 25 µs base compute, 1 µs per member scanned, plus DB access.
impl WeightInfo for () {
    fn propose(members: u32) -> Weight {
        // Members, Hospitals/PeerOwners checks, ProposalCount, Proposals, counter; execution
        // of a passing proposal is bounded by `vote`'s weight plus the Root call's own weight.
        Weight::from_parts(25_000_000 + 1_000_000 * members as u64, 4_096)
            .saturating_add(RocksDbWeight::get().reads_writes(6, 4))
    }
    fn vote(members: u32) -> Weight {
        Weight::from_parts(25_000_000 + 1_000_000 * members as u64, 4_096)
            .saturating_add(RocksDbWeight::get().reads_writes(6, 6))
    }
    fn close() -> Weight {
        Weight::from_parts(20_000_000, 2_048)
            .saturating_add(RocksDbWeight::get().reads_writes(2, 2))
    }
    fn update_hospital(peers: u32) -> Weight {
        Weight::from_parts(20_000_000 + 2_000_000 * peers as u64, 2_048).saturating_add(
            RocksDbWeight::get().reads_writes(1 + 2 * peers as u64, 1 + 2 * peers as u64),
        )
    }
    fn update_regulator_peer() -> Weight {
        Weight::from_parts(20_000_000, 1_024)
            .saturating_add(RocksDbWeight::get().reads_writes(2, 3))
    }
    fn set_proposal_lifetime() -> Weight {
        Weight::from_parts(10_000_000, 0).saturating_add(RocksDbWeight::get().writes(1))
    }
}
