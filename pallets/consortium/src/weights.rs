//! Weights of the consortium's calls.
//!
//! Hand estimates from the storage each call touches (RocksDB weights) plus a compute margin,
//! until `benchmarking.rs` is run on reference hardware with `frame-omni-bencher`.

use frame_support::{
    traits::Get,
    weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight},
};

pub trait WeightInfo {
    fn propose(members: u32) -> Weight;
    fn vote(members: u32) -> Weight;
    fn close() -> Weight;
    fn update_hospital(peers: u32) -> Weight;
    fn update_regulator_peer() -> Weight;
    fn set_proposal_lifetime() -> Weight;
}

/// Conservative estimates: 25 µs base compute, 1 µs per member scanned, plus the runtime's
/// database costs.
pub struct SubstrateWeight<T>(core::marker::PhantomData<T>);

impl<T: frame_system::Config> WeightInfo for SubstrateWeight<T> {
    fn propose(members: u32) -> Weight {
        estimates::propose(T::DbWeight::get(), members)
    }
    fn vote(members: u32) -> Weight {
        estimates::vote(T::DbWeight::get(), members)
    }
    fn close() -> Weight {
        estimates::close(T::DbWeight::get())
    }
    fn update_hospital(peers: u32) -> Weight {
        estimates::update_hospital(T::DbWeight::get(), peers)
    }
    fn update_regulator_peer() -> Weight {
        estimates::update_regulator_peer(T::DbWeight::get())
    }
    fn set_proposal_lifetime() -> Weight {
        estimates::set_proposal_lifetime(T::DbWeight::get())
    }
}

/// For tests: the same estimates priced with RocksDB costs.
impl WeightInfo for () {
    fn propose(members: u32) -> Weight {
        estimates::propose(RocksDbWeight::get(), members)
    }
    fn vote(members: u32) -> Weight {
        estimates::vote(RocksDbWeight::get(), members)
    }
    fn close() -> Weight {
        estimates::close(RocksDbWeight::get())
    }
    fn update_hospital(peers: u32) -> Weight {
        estimates::update_hospital(RocksDbWeight::get(), peers)
    }
    fn update_regulator_peer() -> Weight {
        estimates::update_regulator_peer(RocksDbWeight::get())
    }
    fn set_proposal_lifetime() -> Weight {
        estimates::set_proposal_lifetime(RocksDbWeight::get())
    }
}

/// The estimates, priced with a given database.
mod estimates {
    use super::*;

    /// `micros` µs of execution and `proof` bytes of proof.
    fn compute(micros: u64, proof: u64) -> Weight {
        Weight::from_parts(micros * 1_000_000, proof)
    }

    // Members, Hospitals/PeerOwners checks, ProposalCount, Proposals, the proposer's and the
    // dispute counters, the proposer's account and holds (the deposit); a passing proposal's
    // execution is bounded by `vote`'s weight plus the Root call's own weight. A deciding vote
    // and `close` release the deposit (account and holds).
    pub fn propose(db: RuntimeDbWeight, members: u32) -> Weight {
        compute(25 + members as u64, 4_096).saturating_add(db.reads_writes(9, 7))
    }
    pub fn vote(db: RuntimeDbWeight, members: u32) -> Weight {
        compute(25 + members as u64, 4_096).saturating_add(db.reads_writes(9, 9))
    }
    pub fn close(db: RuntimeDbWeight) -> Weight {
        compute(20, 2_048).saturating_add(db.reads_writes(5, 5))
    }
    pub fn update_hospital(db: RuntimeDbWeight, peers: u32) -> Weight {
        let peers = peers as u64;
        compute(20 + 2 * peers, 2_048).saturating_add(db.reads_writes(1 + 2 * peers, 1 + 2 * peers))
    }
    pub fn update_regulator_peer(db: RuntimeDbWeight) -> Weight {
        compute(20, 1_024).saturating_add(db.reads_writes(2, 3))
    }
    pub fn set_proposal_lifetime(db: RuntimeDbWeight) -> Weight {
        compute(10, 0).saturating_add(db.writes(1))
    }
}
