//! The marketplace pallets: record ownership, patient consent, listings, buyers' delivery keys,
//! escrowed orders and revenue distribution, and the adapters that connect them.

use alloc::vec::Vec;
use frame_support::{parameter_types, traits::ConstU32, PalletId};
use frame_system::EnsureRoot;
use sp_runtime::{traits::AccountIdConversion, DispatchResult};

use crate::{
    AccountId, Balance, Balances, BlockNumber, Consent, Consortium, Delivery, Escrow, Listing,
    Ownership, Revenue, Runtime, RuntimeHoldReason, DAYS, HOURS, MILLI_UNIT, MINUTES, UNIT,
};

parameter_types! {
    /// A patient may leave a hospital for free once per hour (spam guard for token-less
    /// accounts).
    pub const FreeEnrolmentCooldown: BlockNumber = HOURS;
    /// Past-time consent questions (audits, revenue entries) are answerable this long after a
    /// consent ends; then anyone may prune it.
    pub const ConsentClaimPeriod: BlockNumber = 90 * DAYS;
    /// Free calls (consent, claims): at most `MaxCallsPerWindow` per owner per window.
    pub const ConsentRateLimitWindow: BlockNumber = 10 * MINUTES;
    /// Held from a hospital per patient it enrols: the patient holds no tokens, and this
    /// stands for the most it can keep on chain (about 6 KB: its enrolment and 64 consents)
    /// at the proposals' price per byte (`runtime/tests/root_and_fees.rs` checks it).
    pub const EnrolmentDeposit: Balance = UNIT;
}

impl pallet_ownership::Config for Runtime {
    type Custodians = pallet_consortium::IsMember<Runtime>;
    type Balance = Balance;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Currency = Balances;
    type EnrolmentDeposit = EnrolmentDeposit;
    /// 1 000 records fit in half the normal-class block (tested in the pallet).
    type MaxBatchSize = ConstU32<1_000>;
    type MaxRecordsPerOwner = ConstU32<10_000>;
    type MaxEnrolmentsPerOwner = ConstU32<16>;
    type FreeEnrolmentCooldown = FreeEnrolmentCooldown;
    type OwnerSignature = crate::Signature;
    /// A patient's signed enrolment is usable for at most an hour.
    type MaxEnrolmentValidity = ConstU32<HOURS>;
    /// A released patient's free-call log goes with it, and its consents end.
    type OnPatientReleased = Consent;
    type WeightInfo = pallet_ownership::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::benchmarks::BenchmarkHelper;
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
    type WeightInfo = pallet_consent::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::benchmarks::BenchmarkHelper;
}

/// The storage keys benchmarks do not charge to the call that reads or writes them: the
/// ones every block touches anyway (block number, events, ...), and the values all the
/// marketplace's calls share, whose first access in a block the pallets' `on_initialize`
/// pays: the member list, the order counter and the delivery period.
pub fn benchmark_whitelist() -> Vec<frame_support::traits::TrackedStorageKey> {
    use frame_support::traits::WhitelistedStorageKeys;
    let mut keys = crate::AllPalletsWithSystem::whitelisted_storage_keys();
    keys.push(DeliveryPeriod::key().to_vec().into());
    keys
}

parameter_types! {
    /// A custodian has a week to deliver a paid order; then the buyer may take a full refund.
    /// Kept in storage under `twox_128(":DeliveryPeriod:")` (a `u32`), so the consortium can
    /// change it by a Root vote of `system.setStorage`; it applies to orders placed afterwards.
    pub storage DeliveryPeriod: BlockNumber = 7 * DAYS;
    /// The buyer has three days after delivery to confirm or dispute; silence confirms.
    pub const DisputeWindow: BlockNumber = 3 * DAYS;
    /// A dispute vote runs as long as any consortium proposal.
    pub DisputeVotingPeriod: BlockNumber = pallet_consortium::ProposalLifetime::<Runtime>::get();
    /// A listing holds this from its custodian while stored, plus the per-byte part for its
    /// description (about 2 UNIT for a typical one, at most about 17 UNIT).
    pub const ListingDepositBase: Balance = UNIT;
    pub const ListingDepositPerByte: Balance = 10 * MILLI_UNIT;
    /// Disputing costs a bond, returned if the buyer wins.
    pub const DisputeBond: Balance = 10 * UNIT;
    pub const RevenuePalletId: PalletId = PalletId(*b"ml/revnu");
    pub const TreasuryPalletId: PalletId = PalletId(*b"ml/trsry");
    /// The platform treasury's account (governed by the consortium's Root votes).
    pub TreasuryAccount: AccountId = TreasuryPalletId::get().into_account_truncating();
    /// Owners are paid per custodian per epoch of one day.
    pub const RevenueEpochLength: BlockNumber = DAYS;
    pub const RevenueRootDeadline: BlockNumber = DAYS;
}

impl pallet_listing::Config for Runtime {
    type Custodians = pallet_consortium::IsMember<Runtime>;
    type Balance = Balance;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Currency = Balances;
    type ListingDepositBase = ListingDepositBase;
    type ListingDepositPerByte = ListingDepositPerByte;
    type MaxFilterSummaryLen = ConstU32<512>;
    type WeightInfo = pallet_listing::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::benchmarks::BenchmarkHelper;
}

impl pallet_delivery::Config for Runtime {
    type Custodians = pallet_consortium::IsMember<Runtime>;
    type WeightInfo = pallet_delivery::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::benchmarks::BenchmarkHelper;
}

impl pallet_escrow::Config for Runtime {
    type AuthorityId = pallet_escrow::offchain::crypto::DeliveryAuthority;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Currency = Balances;
    type Custodians = pallet_consortium::IsMember<Runtime>;
    type Listings = Listing;
    type DeliveryKeys = Delivery;
    type Revenue = ReleaseToRevenue;
    type DisputeResolver = ConsortiumDisputes;
    /// Decisions come only from the consortium's dispute votes, which the custodian does not
    /// vote in (`ConsortiumDisputes` applies them directly). No origin may call
    /// `resolve_dispute`: a Root vote would count the custodian's own vote.
    type DecisionOrigin = frame_support::traits::NeverEnsureOrigin<()>;
    type DeliveryPeriod = DeliveryPeriod;
    type DisputeWindow = DisputeWindow;
    type DisputeVotingPeriod = DisputeVotingPeriod;
    type DisputeBond = DisputeBond;
    type MaxAutoReleasesPerBlock = ConstU32<16>;
    type WeightInfo = pallet_escrow::weights::SubstrateWeight<Runtime>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = crate::benchmarks::BenchmarkHelper;
}

impl pallet_revenue::Config for Runtime {
    type Currency = Balances;
    type PalletId = RevenuePalletId;
    type TreasuryAccount = TreasuryAccount;
    /// Shares change only by the consortium's two-thirds (Root) vote.
    type SharesOrigin = EnsureRoot<AccountId>;
    /// A wrong payout root is rejected by the same vote.
    type RejectOrigin = EnsureRoot<AccountId>;
    type Owners = EnrolledPatients;
    type Consent = OrderConsent;
    type DefaultEpochLength = RevenueEpochLength;
    type Delegates = Delivery;
    type AuthorityId = pallet_escrow::offchain::crypto::DeliveryAuthority;
    /// 2^20 leaves: room above the 100 000 owners a root must cover.
    type MaxProofLength = ConstU32<20>;
    /// A day after the end of an epoch with sales (or after a rejection) to commit its root.
    type RootDeadline = RevenueRootDeadline;
    /// One budget of free calls per patient, kept by the consent pallet.
    type FreeCalls = Consent;
    type WeightInfo = pallet_revenue::weights::SubstrateWeight<Runtime>;
}

/// The patients enrolled at a hospital, from pallet-ownership (read by the payout worker off
/// chain only: it walks every enrolment).
pub struct EnrolledPatients;
impl pallet_revenue::EnrolledOwners<AccountId> for EnrolledPatients {
    fn enrolled_at(custodian: &AccountId) -> Vec<AccountId> {
        pallet_ownership::Enrolments::<Runtime>::iter()
            .filter(|(_, at, _)| at == custodian)
            .map(|(owner, _, _)| owner)
            .collect()
    }
}

/// Released escrow goes to the revenue pallet's account, which splits it.
pub struct ReleaseToRevenue;
impl pallet_escrow::OnEscrowRelease<AccountId, Balance> for ReleaseToRevenue {
    fn revenue_account() -> AccountId {
        Revenue::account_id()
    }

    fn on_escrow_released(
        order: pallet_escrow::OrderId,
        custodian: &AccountId,
        amount: Balance,
        record_count: u32,
    ) -> DispatchResult {
        Revenue::escrow_released(order, custodian, amount, record_count)
    }
}

/// Dispute votes run in the consortium, without the order's custodian; its decision goes
/// straight to the escrow (`apply_dispute_decision`), never through an origin.
pub struct ConsortiumDisputes;
impl pallet_escrow::DisputeResolver<AccountId> for ConsortiumDisputes {
    fn open_dispute(
        order: pallet_escrow::OrderId,
        custodian: &AccountId,
        buyer: &AccountId,
    ) -> DispatchResult {
        Consortium::open_dispute(order, custodian.clone(), buyer.clone()).map(|_| ())
    }

    fn dispute_closed(order: pallet_escrow::OrderId) {
        Consortium::close_dispute(order)
    }
}

impl pallet_consortium::DisputeDecisions for ConsortiumDisputes {
    fn dispute_decided(order: u64, outcome: pallet_consortium::DisputeOutcome) -> DispatchResult {
        let decision = match outcome {
            pallet_consortium::DisputeOutcome::BuyerWins => pallet_escrow::Decision::BuyerWins,
            pallet_consortium::DisputeOutcome::CustodianWins => {
                pallet_escrow::Decision::CustodianWins
            }
            // The escrow's own default applies once its voting period ends (`finalize`).
            pallet_consortium::DisputeOutcome::Expired => return Ok(()),
        };
        Escrow::apply_dispute_decision(order, decision)
    }

    /// A decision is what `escrow.resolve_dispute` does after its origin check; its benchmark
    /// measures the heavier outcome (the custodian wins: price to revenue, bond to custodian).
    fn decision_weight() -> frame_support::weights::Weight {
        use pallet_escrow::WeightInfo;
        <Runtime as pallet_escrow::Config>::WeightInfo::resolve_dispute()
    }
}

/// A payout entry's consent, judged for the order's buyer and purpose.
pub struct OrderConsent;
impl pallet_revenue::EntryConsentCheck<AccountId, BlockNumber> for OrderConsent {
    fn entry_consent(
        order: pallet_escrow::OrderId,
        owner: &AccountId,
        record: &pallet_consent::RecordId,
        at: BlockNumber,
    ) -> Option<pallet_consent::ConsentAnswer> {
        let order = pallet_escrow::Orders::<Runtime>::get(order)?;
        Some(<Consent as pallet_consent::ConsentCheck<
            AccountId,
            BlockNumber,
        >>::consent_covers(
            owner,
            record,
            order.purpose,
            &order.buyer,
            at,
        ))
    }
}
