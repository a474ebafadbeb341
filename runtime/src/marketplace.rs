//! The marketplace pallets: record ownership and patient consent.

use frame_support::{parameter_types, traits::ConstU32};
use frame_system::EnsureRoot;

use crate::{BlockNumber, Ownership, Runtime, DAYS, HOURS, MINUTES};

parameter_types! {
    /// A patient may enrol or leave for free once per hour (spam guard for token-less accounts).
    pub const FreeEnrolmentCooldown: BlockNumber = HOURS;
    /// Past-time consent questions (audits, revenue entries) are answerable this long after a
    /// consent ends; then anyone may prune it.
    pub const ConsentClaimPeriod: BlockNumber = 90 * DAYS;
    /// Free consent calls: at most `MaxCallsPerWindow` per owner per window.
    pub const ConsentRateLimitWindow: BlockNumber = 10 * MINUTES;
}

impl pallet_ownership::Config for Runtime {
    type Custodians = pallet_consortium::IsMember<Runtime>;
    /// 1 000 records fit in half the normal-class block (tested in the pallet).
    type MaxBatchSize = ConstU32<1_000>;
    type MaxRecordsPerOwner = ConstU32<10_000>;
    type MaxEnrolmentsPerOwner = ConstU32<16>;
    type FreeEnrolmentCooldown = FreeEnrolmentCooldown;
    type WeightInfo = ();
}

impl pallet_consent::Config for Runtime {
    type Registry = Ownership;
    /// Buyer classes are kept by the consortium's two-thirds (Root) vote.
    type ClassOrigin = EnsureRoot<crate::AccountId>;
    type MaxConsentsPerOwner = ConstU32<64>;
    type MaxClassMembers = ConstU32<1_000>;
    type MaxClassNameLen = ConstU32<64>;
    type ClaimPeriod = ConsentClaimPeriod;
    type RateLimitWindow = ConsentRateLimitWindow;
    type MaxCallsPerWindow = ConstU32<20>;
    type WeightInfo = ();
}

