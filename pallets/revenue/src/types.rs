//! Domain types of the revenue pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use pallet_consent::{ConsentAnswer, RecordId};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::{
    traits::{CheckedAdd, CheckedSub, Zero},
    Perbill,
};

pub use medledger_primitives::OrderId;

/// Number of an epoch: block `n` lies in epoch `n / EpochLength`.
pub type EpochIndex = u32;

/// How released escrow is split. The three parts sum to 100 %.
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
    frame_support::Serialize,
    frame_support::Deserialize,
)]
#[serde(crate = "frame_support::__private::serde")]
pub struct RevenueShares {
    /// The data owners' pool, paid through payout roots.
    pub owners: Perbill,
    /// The custodian hospital that sold the data.
    pub custodian: Perbill,
    /// The platform treasury. It also receives the rounding remainder.
    pub treasury: Perbill,
}

/// One release, split.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Split<Balance> {
    pub owners: Balance,
    pub custodian: Balance,
    pub treasury: Balance,
}

impl RevenueShares {
    /// Whether the three shares add up to exactly 100 %.
    pub fn is_whole(&self) -> bool {
        let parts = [self.owners, self.custodian, self.treasury]
            .iter()
            .map(|share| u64::from(share.deconstruct()))
            .fold(0u64, u64::saturating_add);
        parts == u64::from(Perbill::one().deconstruct())
    }

    /// Splits `amount`: owners and custodian get their shares rounded down, the treasury the
    /// rest, so the parts always sum to `amount` exactly. `None` only if the shares are not
    /// whole (more than 100 %).
    pub fn split<Balance>(&self, amount: Balance) -> Option<Split<Balance>>
    where
        Balance: sp_runtime::traits::AtLeast32BitUnsigned + Copy,
    {
        let owners = self.owners.mul_floor(amount);
        let custodian = self.custodian.mul_floor(amount);
        let treasury = amount.checked_sub(&owners)?.checked_sub(&custodian)?;
        Some(Split {
            owners,
            custodian,
            treasury,
        })
    }
}

/// Running totals of all money that went through the pallet.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct Totals<Balance> {
    /// All escrow released into the pallet account.
    pub released: Balance,
    /// Custodians' shares (paid or owed).
    pub custodians: Balance,
    /// Treasury shares (paid or owed).
    pub treasury: Balance,
    /// Owners' claims proven against payout roots (paid or owed).
    pub claimed: Balance,
    /// Everything transferred out of the pallet account.
    pub paid: Balance,
}

impl<Balance: Zero + CheckedAdd + CheckedSub + Copy> Totals<Balance> {
    /// Owners' money not yet claimed: the custodians' earnings minus their claims.
    pub fn unclaimed(&self) -> Option<Balance> {
        self.released
            .checked_sub(&self.custodians)?
            .checked_sub(&self.treasury)?
            .checked_sub(&self.claimed)
    }

    /// Allocated to someone (custodian, treasury, owner) but not yet transferred.
    pub fn owed(&self) -> Option<Balance> {
        self.custodians
            .checked_add(&self.treasury)?
            .checked_add(&self.claimed)?
            .checked_sub(&self.paid)
    }

    /// What the pallet account must hold beyond its existential deposit.
    pub fn liabilities(&self) -> Option<Balance> {
        self.released.checked_sub(&self.paid)
    }
}

/// A custodian's payout root, committed after an epoch: every owner's earnings from this
/// custodian up to and including that epoch.
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
pub struct PayoutRoot<Balance> {
    /// Merkle root over the leaves ([`PayoutLeaf`]).
    pub root: H256,
    /// Everything the custodian's sales earned their owners up to the epoch: the sum of the
    /// leaves. Claims from this custodian never exceed it.
    pub total: Balance,
    /// Number of leaves; a proof of leaf `i < leaf_count` has a fixed shape.
    pub leaf_count: u32,
    /// A consortium vote found the root wrong: nothing can be claimed against it, and the
    /// custodian may commit another for the same epoch.
    pub rejected: bool,
}

/// What a custodian's sales have earned their owners, and how much of it was claimed.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub struct Earnings<Balance> {
    /// Owners' part of every sale the custodian released.
    pub total: Balance,
    /// The epoch of the latest release.
    pub latest_epoch: EpochIndex,
    /// Owners' part of the releases in `latest_epoch`.
    pub in_latest_epoch: Balance,
    /// Paid out by claims.
    pub claimed: Balance,
}

impl<Balance: CheckedSub + Copy> Earnings<Balance> {
    /// Everything earned up to and including `epoch`, if the ledger can tell: always for
    /// `epoch >= latest_epoch`, and for the epoch just before it (every earlier release lies
    /// at or before that epoch). `None` for older epochs, which later roots cover.
    pub fn through(&self, epoch: EpochIndex) -> Option<Balance> {
        if epoch >= self.latest_epoch {
            Some(self.total)
        } else if epoch.checked_add(1) == Some(self.latest_epoch) {
            self.total.checked_sub(&self.in_latest_epoch)
        } else {
            None
        }
    }
}

/// When a custodian's next payout root is due: its earnings not yet covered by an unrejected
/// root must be covered by block `due`.
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
pub struct RootDeadline<BlockNumber> {
    pub due: BlockNumber,
    /// Someone reported the root overdue ([`crate::Pallet::report_overdue_root`]).
    pub reported: bool,
}

/// One leaf of a payout root: `owner` has earned `amount` from the custodian in all, up to
/// the root's epoch. Every owner enrolled at the custodian has a leaf, earning or not.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct PayoutLeaf<AccountId, Balance> {
    pub owner: AccountId,
    /// Cumulative: a claim pays it minus what the owner claimed from this custodian before.
    pub amount: Balance,
    /// Known to the custodian and the owner only; see [`crate::merkle::leaf_hash`].
    pub salt: H256,
}

/// What the chain keeps of a released order, for audits of the custodian's entries.
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
pub struct ReleasedOrder<AccountId, Balance> {
    pub custodian: AccountId,
    pub epoch: EpochIndex,
    /// The owners' part of the order; the order's entries must sum to it.
    pub owners_pool: Balance,
}

/// One line of a custodian's payout book: what `owner` earns from `record` in `order`. Kept
/// off chain and shown to registered regulators; see the crate docs for how leaves are built
/// from entries.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct PayoutEntry<AccountId, Balance> {
    pub order: OrderId,
    pub record: RecordId,
    pub owner: AccountId,
    pub amount: Balance,
}

/// The result of auditing one payout entry.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, TypeInfo)]
pub struct EntryAudit {
    /// The entry's order was released for the given custodian in the given epoch.
    pub order_in_epoch: bool,
    /// What the consent registry says about the entry's owner, record and the order's buyer
    /// and purpose at the block asked about; `None` if the order book does not know the order.
    pub consent: Option<ConsentAnswer>,
}

/// Asks the consent registry about a payout entry; the runtime adapts pallet-consent's
/// `ConsentCheck::consent_covers`, taking buyer and purpose from the order.
pub trait EntryConsentCheck<AccountId, BlockNumber> {
    /// Did `owner`'s consent cover `record` for `order`'s buyer and purpose during block `at`?
    /// `None` if the order is unknown.
    fn entry_consent(
        order: OrderId,
        owner: &AccountId,
        record: &RecordId,
        at: BlockNumber,
    ) -> Option<ConsentAnswer>;
}

/// The owners enrolled at a custodian, for its payout roots (every one gets a leaf). Read by
/// the off-chain worker only; the runtime adapts pallet-ownership's enrolments.
pub trait EnrolledOwners<AccountId> {
    fn enrolled_at(custodian: &AccountId) -> alloc::vec::Vec<AccountId>;
}
