//! Domain types of the consent pallet.

use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use pallet_ownership::RecordId;
use scale_info::TypeInfo;
use sp_runtime::traits::Saturating;

/// Chain-wide unique id of a consent.
pub type ConsentId = u64;

/// A category an owner consented to, as a salted tag: BLAKE2b-256 over
/// `"medledger:category:v2" ‖ salt ‖ code`, where `code` is the custodian's category code (e.g.
/// `condition:encounter-diagnosis`) and `salt` is a 32-byte secret of this owner at this
/// custodian (the custodian derives it; the owner fetches it from the custodian's node). Without
/// the salt a tag tells nothing about the category, and two owners' tags for one category
/// differ. Categories of a record are never on chain.
pub type CategoryTag = sp_core::H256;

/// Id of a registered class of buyers (e.g. "accredited academic research institutions").
pub type ClassId = u32;

/// Which of the owner's records a consent covers.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub enum Scope {
    /// One record.
    #[codec(index = 0)]
    Record(RecordId),
    /// The owner's records in a category, given as the owner's salted tag of it; the custodian,
    /// which knows the salt, checks membership off chain.
    #[codec(index = 1)]
    Category(CategoryTag),
    /// All the owner's records, present and future.
    #[codec(index = 2)]
    All,
}

/// What the data may be used for: the same type listings name.
pub use medledger_primitives::Purpose;

/// Who may buy under a consent.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub enum Grantee<AccountId> {
    #[codec(index = 0)]
    Anyone,
    /// Buyers that are members of the class at the time of the sale.
    #[codec(index = 1)]
    Class(ClassId),
    #[codec(index = 2)]
    Account(AccountId),
}

/// A consent and its life: it covers blocks `granted_at .. min(expires_at, revoked_at)`.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct Consent<AccountId, BlockNumber> {
    pub id: ConsentId,
    pub scope: Scope,
    pub purpose: Purpose,
    pub grantee: Grantee<AccountId>,
    /// First block covered.
    pub granted_at: BlockNumber,
    /// First block no longer covered, chosen by the owner.
    pub expires_at: Option<BlockNumber>,
    /// Block of revocation, the first block no longer covered.
    pub revoked_at: Option<BlockNumber>,
}

/// First block not covered by an interval that may be cut by expiry and by revocation.
fn first_uncovered<B: Copy + Ord>(expires_at: Option<B>, revoked_at: Option<B>) -> Option<B> {
    match (expires_at, revoked_at) {
        (Some(expiry), Some(revocation)) => Some(expiry.min(revocation)),
        (expiry, revocation) => expiry.or(revocation),
    }
}

/// Whether `at` lies in `[from, until)`; an open end never ends.
fn in_interval<B: Copy + Ord>(from: B, until: Option<B>, at: B) -> bool {
    from <= at && until.map_or(true, |until| at < until)
}

/// Whether an interval that ended at `ended_at` may be forgotten at `now`: a past-time question
/// can be asked for `claim_period` blocks after the end.
pub(crate) fn prunable<B: Copy + Ord + Saturating>(
    ended_at: Option<B>,
    claim_period: B,
    now: B,
) -> bool {
    ended_at.map_or(false, |ended| now >= ended.saturating_add(claim_period))
}

impl<AccountId, BlockNumber: Copy + Ord> Consent<AccountId, BlockNumber> {
    /// The first block the consent no longer covers, if it ends.
    pub fn ends_at(&self) -> Option<BlockNumber> {
        first_uncovered(self.expires_at, self.revoked_at)
    }

    /// Whether the consent was in force during block `at`.
    pub fn in_force_at(&self, at: BlockNumber) -> bool {
        in_interval(self.granted_at, self.ends_at(), at)
    }
}

/// A buyer's membership of a class: member during `since .. until`.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct Membership<BlockNumber> {
    pub since: BlockNumber,
    pub until: Option<BlockNumber>,
}

impl<BlockNumber: Copy + Ord> Membership<BlockNumber> {
    /// Whether the buyer was a member during block `at`.
    pub fn member_at(&self, at: BlockNumber) -> bool {
        in_interval(self.since, self.until, at)
    }
}

/// The answer to "did the owner's consent cover this record, purpose and buyer at block N?".
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub enum ConsentAnswer {
    /// A consent for this record, or for all the owner's records, covered it.
    #[codec(index = 0)]
    Covered { consent: ConsentId },
    /// Covered only if the record is in one of these categories, which the chain cannot know:
    /// the custodian checks the record itself.
    #[codec(index = 1)]
    CoveredIfInCategory {
        categories: Vec<(ConsentId, CategoryTag)>,
    },
    /// No consent covered it.
    #[codec(index = 2)]
    NotCovered,
}

/// The question other pallets (escrow, delivery) ask the consent registry.
pub trait ConsentCheck<AccountId, BlockNumber> {
    /// Did `owner`'s consent cover `record` for `purpose` and `buyer` during block `at`?
    ///
    /// Answers for past blocks from the pallet's own storage, as long as the consents involved
    /// are not pruned (until their end plus the claim period). It does not check that `owner`
    /// owns `record` or that the record is sellable: ask the ownership registry for that.
    fn consent_covers(
        owner: &AccountId,
        record: &RecordId,
        purpose: Purpose,
        buyer: &AccountId,
        at: BlockNumber,
    ) -> ConsentAnswer;

    /// Worst-case weight of one [`ConsentCheck::consent_covers`] call, for callers to charge.
    fn consent_covers_weight() -> frame_support::weights::Weight;
}
