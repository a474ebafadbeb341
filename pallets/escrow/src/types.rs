//! Domain types of an order: who bought what, what is held, where it stands.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use pallet_delivery::DeliveryKey;
use pallet_listing::{ListingId, Pricing, Purpose};
use scale_info::TypeInfo;
use sp_core::H256;

/// Identifier of an order, assigned in purchase order.
pub use medledger_primitives::OrderId;

/// A consortium decision on a dispute.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub enum Decision {
    /// The delivery was faulty: the buyer gets the price and its bond back.
    BuyerWins,
    /// The delivery stands: the price is released to revenue and the bond goes to the custodian.
    CustodianWins,
}

/// How a dispute ended.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub enum DisputeOutcome {
    /// The consortium decided.
    Decided(Decision),
    /// The vote expired undecided: see [`crate::Pallet::finalize`] for what that means.
    VoteExpired,
}

/// Where an order stands. `Paid`, `Delivered` and `Disputed` are *open*: the price is held.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub enum OrderState<BlockNumber> {
    /// The price is held; the custodian must deliver by the order's deadline.
    Paid,
    /// A receipt was accepted; the price releases at `release_at` unless disputed.
    Delivered { release_at: BlockNumber },
    /// The buyer disputed; the price and its bond are held until a decision or `vote_expires_at`.
    Disputed { vote_expires_at: BlockNumber },
    /// The price went to revenue distribution.
    Released,
    /// The price went back to the buyer (deadline missed or custodian removed).
    Refunded,
    /// A dispute ended.
    Resolved { outcome: DisputeOutcome },
}

impl<BlockNumber> OrderState<BlockNumber> {
    /// Whether funds are held for the order.
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            Self::Paid | Self::Delivered { .. } | Self::Disputed { .. }
        )
    }
}

/// The custodian's statement that the data was delivered, as the buyer will check it.
#[derive(
    Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct Receipt<AccountId, BlockNumber> {
    /// Digest of the sealed dataset the buyer downloads.
    pub ciphertext_digest: H256,
    /// Size of the sealed dataset in bytes.
    pub size: u64,
    /// Records included; the price of a per-record listing follows it.
    pub record_count: u32,
    /// Merkle root over the delivered (record commitment, owner) pairs
    /// ([`crate::offchain::records_root`]).
    pub records_root: H256,
    /// The key the dataset was sealed to (always the order's key).
    pub delivery_key: DeliveryKey,
    /// Block at which consent was evaluated for the sale (the order's block).
    pub sale_block_consent: BlockNumber,
    /// Block at which consent was evaluated again at delivery.
    pub receipt_block: BlockNumber,
    /// The custodian or the delegate that submitted it.
    pub submitted_by: AccountId,
}

/// A purchase of a listing and the money held for it.
#[derive(
    Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo, Debug,
)]
pub struct Order<AccountId, Balance, BlockNumber> {
    pub buyer: AccountId,
    pub custodian: AccountId,
    pub listing: ListingId,
    /// The listing version the buyer agreed to.
    pub listing_version: u32,
    pub purpose: Purpose,
    pub pricing: Pricing<Balance>,
    /// The buyer's delivery key when it bought; later rotations do not change it.
    pub delivery_key: DeliveryKey,
    /// The sale block.
    pub placed_at: BlockNumber,
    /// Last block at which a receipt is accepted.
    pub deadline: BlockNumber,
    /// The price: the maximum cost until the receipt, the cost of the delivered records after.
    /// Held while the order is open.
    pub price: Balance,
    /// The dispute bond; held while the order is disputed, zero if never disputed.
    pub bond: Balance,
    pub state: OrderState<BlockNumber>,
    pub receipt: Option<Receipt<AccountId, BlockNumber>>,
}

/// Why escrow was released to revenue.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub enum ReleaseCause {
    /// The buyer confirmed the delivery.
    Confirmed,
    /// The dispute window elapsed without a dispute (a `finalize` call or `on_idle`).
    DisputeWindowElapsed,
    /// The consortium decided for the custodian.
    DisputeRejected,
    /// The dispute vote expired undecided.
    DisputeVoteExpired,
}

/// Why escrow went back to the buyer.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub enum RefundCause {
    /// No receipt by the deadline.
    DeadlineMissed,
    /// The custodian left the consortium before delivering.
    CustodianRemoved,
    /// The consortium decided for the buyer.
    DisputeUpheld,
    /// The custodian found no record it may deliver ([`crate::Pallet::decline`]).
    NothingToDeliver,
}
