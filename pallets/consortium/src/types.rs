//! Domain types of the consortium.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
    traits::{ConstU32, Get},
    BoundedVec, CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
pub use medledger_primitives::OrderId;
use scale_info::TypeInfo;

/// Index of a proposal.
pub type ProposalIndex = u32;
/// A libp2p peer id in its binary (multihash) form, as `PeerId::to_bytes` writes it.
pub type PeerIdBytes<S> = BoundedVec<u8, S>;

/// A member hospital's public record.
#[derive(
    CloneNoBound,
    DebugNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxName, MaxUrl, MaxPeers, MaxPeerLen))]
#[codec(mel_bound())]
pub struct HospitalInfo<
    MaxName: Get<u32>,
    MaxUrl: Get<u32>,
    MaxPeers: Get<u32>,
    MaxPeerLen: Get<u32>,
> {
    /// Display name, e.g. "St Mary's Hospital".
    pub name: BoundedVec<u8, MaxName>,
    /// Public HTTPS endpoint where buyers download sealed deliveries.
    pub delivery_endpoint: BoundedVec<u8, MaxUrl>,
    /// Peer ids of the hospital's nodes; only these (and regulators') may connect.
    pub peer_ids: BoundedVec<PeerIdBytes<MaxPeerLen>, MaxPeers>,
}

/// A registered regulator: watches, holds no vote and no write power.
#[derive(
    CloneNoBound,
    DebugNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxName, MaxPeerLen))]
#[codec(mel_bound())]
pub struct RegulatorInfo<MaxName: Get<u32>, MaxPeerLen: Get<u32>> {
    pub name: BoundedVec<u8, MaxName>,
    /// Peer id of the regulator's observer node.
    pub peer_id: PeerIdBytes<MaxPeerLen>,
}

/// What a proposal does when two thirds of the members entitled to vote approve it.
#[derive(
    CloneNoBound,
    DebugNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(Hospital, Regulator, MaxCall))]
#[codec(mel_bound(AccountId: MaxEncodedLen, Hospital: MaxEncodedLen, Regulator: MaxEncodedLen))]
pub enum Action<AccountId, Hospital, Regulator, MaxCall: Get<u32>>
where
    AccountId: Clone + core::fmt::Debug + PartialEq + Eq,
    Hospital: Clone + core::fmt::Debug + PartialEq + Eq,
    Regulator: Clone + core::fmt::Debug + PartialEq + Eq,
{
    /// Admit a hospital; it validates from the session after it registers its session keys.
    AddHospital {
        account: AccountId,
        info: Hospital,
    },
    /// Remove a hospital. It does not vote on its own removal.
    RemoveHospital {
        account: AccountId,
    },
    /// Register a regulator's observer node.
    AddRegulator {
        account: AccountId,
        info: Regulator,
    },
    RemoveRegulator {
        account: AccountId,
    },
    /// Dispatch a call with Root origin (runtime upgrade, parameters, GRANDPA `note_stalled`).
    /// Stored SCALE-encoded so the proposal stays bounded; decoded when it is executed.
    DispatchAsRoot {
        call: BoundedVec<u8, MaxCall>,
    },
    /// Decide a buyer's dispute of an order: aye = the buyer wins. Opened by the escrow, never
    /// by `propose`; the custodian hospital of the order does not vote.
    DecideDispute {
        order: OrderId,
    },
}

/// How a dispute vote ended.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub enum DisputeOutcome {
    /// Two thirds of the voters sided with the buyer.
    BuyerWins,
    /// Enough voters sided with the hospital that the buyer can no longer win.
    CustodianWins,
    /// The vote expired undecided: the escrow applies its stated default.
    Expired,
}

/// An open proposal and its votes.
#[derive(
    CloneNoBound,
    DebugNoBound,
    PartialEqNoBound,
    EqNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxVoters))]
#[codec(mel_bound(
    AccountId: MaxEncodedLen,
    Act: MaxEncodedLen,
    BlockNumber: MaxEncodedLen,
    Balance: MaxEncodedLen
))]
pub struct Proposal<AccountId, Act, BlockNumber, Balance, MaxVoters: Get<u32>>
where
    AccountId: Clone + core::fmt::Debug + PartialEq + Eq,
    Act: Clone + core::fmt::Debug + PartialEq + Eq,
    BlockNumber: Clone + core::fmt::Debug + PartialEq + Eq,
    Balance: Clone + core::fmt::Debug + PartialEq + Eq,
{
    /// The member who proposed it; `None` for a dispute opened by the escrow.
    pub proposer: Option<AccountId>,
    pub action: Act,
    /// Who may not vote: the hospital to be removed; for a dispute, the order's custodian and
    /// its buyer (a member hospital may buy too).
    pub excluded: BoundedVec<AccountId, ConstU32<2>>,
    pub ayes: BoundedVec<AccountId, MaxVoters>,
    pub nays: BoundedVec<AccountId, MaxVoters>,
    /// Last block at which votes are accepted.
    pub expires_at: BlockNumber,
    /// Held from the proposer until the proposal is decided or closed (zero for disputes).
    pub deposit: Balance,
}

/// Votes needed to pass among `eligible` voters: two thirds, rounded up.
pub fn approval_threshold(eligible: u32) -> u32 {
    eligible.saturating_mul(2).saturating_add(2) / 3
}

/// Where dispute decisions go (the escrow pallet, wired by the runtime).
pub trait DisputeDecisions {
    /// Applies the consortium's decision on `order`.
    fn dispute_decided(
        order: OrderId,
        outcome: DisputeOutcome,
    ) -> frame_support::dispatch::DispatchResult;

    /// The most `dispute_decided` weighs for a decision (`BuyerWins` or `CustodianWins`): the
    /// vote that decides pays for it.
    fn decision_weight() -> frame_support::weights::Weight;
}

impl DisputeDecisions for () {
    fn dispute_decided(_: OrderId, _: DisputeOutcome) -> frame_support::dispatch::DispatchResult {
        Ok(())
    }

    fn decision_weight() -> frame_support::weights::Weight {
        frame_support::weights::Weight::zero()
    }
}

/// What the session pallet knows about validators: the consortium queues only members with
/// registered keys, and `try_state` checks the session pallet queued exactly that.
pub trait SessionView<AccountId> {
    /// Whether `who` has registered session keys.
    fn has_keys(who: &AccountId) -> bool;
    /// The validators queued for the next session (`None`: not tracked, e.g. in tests).
    fn queued_validators() -> Option<alloc::vec::Vec<AccountId>>;
}

/// No session pallet: every member counts as keyed and nothing is checked.
impl<AccountId> SessionView<AccountId> for () {
    fn has_keys(_: &AccountId) -> bool {
        true
    }
    fn queued_validators() -> Option<alloc::vec::Vec<AccountId>> {
        None
    }
}

/// Which node identities may connect: members' and regulators' peer ids.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Encode,
    Decode,
    DecodeWithMemTracking,
    TypeInfo,
    MaxEncodedLen,
)]
pub enum PeerRole {
    Hospital,
    Regulator,
}
