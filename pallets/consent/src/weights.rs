//! Weights of `pallet-consent`.
//!
//! HAND-ESTIMATED, not benchmarked: the node has no `benchmark` command yet. Replace with the
//! output of `frame-benchmarking-cli` once it has.
//!
//! How the numbers were obtained:
//! - storage: the reads and writes each call performs in its worst case, counted from the code,
//!   priced by the runtime's `DbWeight` (RocksDB: 25 µs per read, 100 µs per write);
//! - computation: a generous 20 µs per call, plus 1 µs per consent in the owner's vector
//!   (decode, scan, re-encode), taken at its maximum `MaxConsentsPerOwner`;
//! - proof size: 3 600 bytes per storage item read, plus the owner's consent vector at its
//!   maximum encoded length when it is read.

use crate::{Config, Consent};
use core::marker::PhantomData;
use frame_support::{
    pallet_prelude::MaxEncodedLen,
    traits::Get,
    weights::{constants::RocksDbWeight, RuntimeDbWeight, Weight},
};
use frame_system::pallet_prelude::BlockNumberFor;

/// Weight functions needed by `pallet-consent`.
pub trait WeightInfo {
    fn grant_consent() -> Weight;
    fn revoke_consent() -> Weight;
    fn prune_consent() -> Weight;
    fn create_class() -> Weight;
    fn add_to_class() -> Weight;
    fn remove_from_class() -> Weight;
    fn prune_class_membership() -> Weight;
    /// One [`crate::ConsentCheck::consent_covers`] question (not a call).
    fn consent_covers() -> Weight;
    /// Ending a released patient's consents (`OnPatientReleased`, not a call).
    fn on_patient_released() -> Weight;
}

/// Picoseconds in a microsecond.
const MICROS: u64 = 1_000_000;
/// Proof bytes charged per storage item read.
const PROOF_PER_READ: u64 = 3_600;

/// The owner's consent vector at its largest: `consents` entries of `entry_len` bytes.
#[derive(Clone, Copy)]
struct ConsentVector {
    consents: u64,
    entry_len: u64,
}

/// Weight of `compute_us` µs, `reads` reads (one of them the consent vector if `vector` is
/// given) and `writes` writes.
fn estimate(
    db: RuntimeDbWeight,
    compute_us: u64,
    reads: u64,
    writes: u64,
    vector: Option<ConsentVector>,
) -> Weight {
    let (scan_us, vector_bytes) = vector.map_or((0, 0), |vector| {
        (
            vector.consents,
            vector.consents.saturating_mul(vector.entry_len),
        )
    });
    Weight::from_parts(
        compute_us.saturating_add(scan_us).saturating_mul(MICROS),
        reads
            .saturating_mul(PROOF_PER_READ)
            .saturating_add(vector_bytes),
    )
    .saturating_add(db.reads_writes(reads, writes))
}

/// The hand estimates, for a given database cost and consent-vector size.
struct Estimates {
    db: RuntimeDbWeight,
    vector: ConsentVector,
}

impl Estimates {
    fn grant_consent(&self) -> Weight {
        // reads: ConsentCalls, ownership's Records, Classes, Consents, NextConsentId;
        // writes: Consents, NextConsentId, ConsentCalls.
        estimate(self.db, 20, 5, 3, Some(self.vector))
    }
    fn revoke_consent(&self) -> Weight {
        // reads: ConsentCalls, Consents; writes: Consents, ConsentCalls.
        estimate(self.db, 20, 2, 2, Some(self.vector))
    }
    fn prune_consent(&self) -> Weight {
        // reads and writes: Consents, ConsentCalls.
        estimate(self.db, 20, 2, 2, Some(self.vector))
    }
    fn create_class(&self) -> Weight {
        // reads and writes: Classes.
        estimate(self.db, 20, 1, 1, None)
    }
    fn add_to_class(&self) -> Weight {
        // reads: Classes, ClassMembers, ClassMemberCount; writes: ClassMembers, ClassMemberCount.
        estimate(self.db, 20, 3, 2, None)
    }
    fn remove_from_class(&self) -> Weight {
        // reads and writes: ClassMembers.
        estimate(self.db, 20, 1, 1, None)
    }
    fn prune_class_membership(&self) -> Weight {
        // reads and writes: ClassMembers, ClassMemberCount.
        estimate(self.db, 20, 2, 2, None)
    }
    fn on_patient_released(&self) -> Weight {
        // reads: Consents; writes: Consents, ConsentCalls (removed).
        estimate(self.db, 20, 1, 2, Some(self.vector))
    }
    fn consent_covers(&self) -> Weight {
        // reads: Consents, and in the worst case one ClassMembers entry per consent.
        estimate(
            self.db,
            20,
            self.vector.consents.saturating_add(1),
            0,
            Some(self.vector),
        )
    }
}

/// Weights for a runtime, priced with its own `DbWeight` and `MaxConsentsPerOwner`.
pub struct SubstrateWeight<T>(PhantomData<T>);

impl<T: Config> SubstrateWeight<T> {
    fn estimates() -> Estimates {
        Estimates {
            db: T::DbWeight::get(),
            vector: ConsentVector {
                consents: T::MaxConsentsPerOwner::get().into(),
                entry_len: Consent::<T::AccountId, BlockNumberFor<T>>::max_encoded_len() as u64,
            },
        }
    }
}

/// RocksDB costs and at most 128 consents of 100 bytes: for tests and runtimes without their
/// own figures.
fn default_estimates() -> Estimates {
    Estimates {
        db: RocksDbWeight::get(),
        vector: ConsentVector {
            consents: 128,
            entry_len: 100,
        },
    }
}

macro_rules! delegate_to_estimates {
    ($estimates:expr) => {
        fn grant_consent() -> Weight {
            $estimates.grant_consent()
        }
        fn revoke_consent() -> Weight {
            $estimates.revoke_consent()
        }
        fn prune_consent() -> Weight {
            $estimates.prune_consent()
        }
        fn create_class() -> Weight {
            $estimates.create_class()
        }
        fn add_to_class() -> Weight {
            $estimates.add_to_class()
        }
        fn remove_from_class() -> Weight {
            $estimates.remove_from_class()
        }
        fn prune_class_membership() -> Weight {
            $estimates.prune_class_membership()
        }
        fn consent_covers() -> Weight {
            $estimates.consent_covers()
        }
        fn on_patient_released() -> Weight {
            $estimates.on_patient_released()
        }
    };
}

impl<T: Config> WeightInfo for SubstrateWeight<T> {
    delegate_to_estimates!(Self::estimates());
}

impl WeightInfo for () {
    delegate_to_estimates!(default_estimates());
}
