//! # Consortium pallet
//!
//! The hospitals that run a MedLedger chain, the regulators that watch it, and the two-thirds
//! votes by which the hospitals govern it. A consortium chain has no sudo: every privileged
//! change is a proposal here.
//!
//! ## Dispatchables
//! - [`Pallet::propose`]: a member proposes an [`Action`]; proposing counts as an aye. The
//!   proposer's storage deposit (`ProposalDepositBase` plus `ProposalDepositPerByte` per byte of
//!   the encoded action) is held until the proposal is decided or closed.
//! - [`Pallet::vote`]: one vote per entitled member. A proposal executes as soon as two thirds
//!   of the members entitled to vote on it (rounded up) approve, and is rejected as soon as that
//!   can no longer happen.
//! - [`Pallet::close`]: anyone closes a proposal after it expired. **Default outcome on expiry:
//!   nothing happens** (membership, regulators and Root calls stay as they were); an expired
//!   dispute is reported as [`DisputeOutcome::Expired`] and the escrow applies its default.
//! - [`Pallet::update_hospital`]: a member changes its own name, delivery endpoint and node
//!   peer ids; [`Pallet::update_regulator_peer`]: a regulator its node's peer id.
//! - [`Pallet::set_proposal_lifetime`]: Root (a passed Root proposal) sets how many blocks new
//!   proposals stay open; the initial value is a genesis parameter.
//! - [`Pallet::open_dispute`] (not a call): the escrow opens a dispute vote that excludes the
//!   order's custodian.
//!
//! ## Invariants (checked in `try_state`)
//! - Members are sorted, unique, at least [`Config::MinMembers`], and exactly the keys of
//!   [`Hospitals`].
//! - No peer id belongs to two nodes (hospitals or regulators).
//! - [`ProposalLifetime`] is at least one block.
//! - The session pallet's queued validators are exactly [`QueuedValidators`]: the members with
//!   registered session keys at the last session change that had at least
//!   [`Config::MinMembers`] of them (empty until then: the genesis validators stand).
//! - [`ProposalCount`] is above every open proposal's index; open member proposals are at most
//!   [`Config::MaxOpenProposals`], at most [`Config::MaxProposalsPerMember`] per proposer
//!   (counted in [`OpenProposalsBy`]), and dispute votes at most [`Config::MaxOpenDisputes`], each
//!   indexed in [`DisputeVotes`] by its order; no voter voted twice or is excluded; every voter
//!   is a member.
//! - Each proposer's held proposal deposits add up to its open proposals' deposits; disputes
//!   hold none.
//!
//! ## Validator set
//! The pallet is the runtime's `pallet_session::SessionManager`: every new session queues the
//! current members that have registered session keys ([`QueuedValidators`]), so an admitted
//! hospital authors from the session after it registers keys, and a removed one stops at the
//! next session change. A session whose keyed members are the validators already queued
//! reports no change, so consensus keeps its authority set (GRANDPA starts a new one only
//! when validators or their keys change). It never queues fewer than [`Config::MinMembers`]
//! validators: with fewer keyed members the current set stays (a chain whose validators all
//! purged their keys would otherwise stop for good). Session length is a genesis parameter
//! ([`SessionLength`]).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod types;
pub mod weights;

#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

use alloc::vec::Vec;
use frame_support::{
    dispatch::{GetDispatchInfo, PostDispatchInfo},
    traits::{
        fungible::{Inspect, InspectHold, Mutate, MutateHold},
        tokens::Precision,
        Contains, EstimateNextSessionRotation, Get, UnfilteredDispatchable,
    },
};
use sp_runtime::{
    traits::{Dispatchable, One, Saturating, Zero},
    DispatchError, Permill,
};

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::pallet_prelude::*;
    use frame_system::pallet_prelude::*;

    #[pallet::config]
    pub trait Config: frame_system::Config {
        /// Calls a Root proposal may dispatch.
        type RuntimeCall: Parameter
            + UnfilteredDispatchable<RuntimeOrigin = Self::RuntimeOrigin>
            + Dispatchable<RuntimeOrigin = Self::RuntimeOrigin, PostInfo = PostDispatchInfo>
            + GetDispatchInfo;
        /// Where dispute decisions go.
        type Disputes: DisputeDecisions;
        /// The runtime's hold reasons, which include this pallet's.
        type RuntimeHoldReason: From<HoldReason>;
        /// Holds proposers' deposits.
        type Currency: Mutate<Self::AccountId>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
        /// Deposit per member proposal.
        #[pallet::constant]
        type ProposalDepositBase: Get<BalanceOf<Self>>;
        /// Further deposit per byte of the proposal's encoded action (a runtime upgrade's code
        /// is large).
        #[pallet::constant]
        type ProposalDepositPerByte: Get<BalanceOf<Self>>;
        /// The session pallet's keys and queue (validators are members with session keys).
        type Session: SessionView<Self::AccountId>;
        /// Fewest members the consortium may have (4: survives one failed validator).
        #[pallet::constant]
        type MinMembers: Get<u32>;
        #[pallet::constant]
        type MaxMembers: Get<u32>;
        #[pallet::constant]
        type MaxRegulators: Get<u32>;
        /// Nodes (peer ids) per hospital.
        #[pallet::constant]
        type MaxPeersPerHospital: Get<u32>;
        #[pallet::constant]
        type MaxPeerIdLen: Get<u32>;
        #[pallet::constant]
        type MaxNameLen: Get<u32>;
        #[pallet::constant]
        type MaxUrlLen: Get<u32>;
        /// Largest encoded call a Root proposal may carry (a runtime upgrade's code is large).
        #[pallet::constant]
        type MaxCallLen: Get<u32>;
        /// Open member proposals (disputes not counted: they have their own queue).
        #[pallet::constant]
        type MaxOpenProposals: Get<u32>;
        /// Open proposals one member may have: no member can fill the table and crowd out
        /// the others' proposals.
        #[pallet::constant]
        type MaxProposalsPerMember: Get<u32>;
        /// Open dispute votes. Separate from [`Config::MaxOpenProposals`] so that no member can
        /// fill the proposal table and block a buyer's dispute.
        #[pallet::constant]
        type MaxOpenDisputes: Get<u32>;
        /// Blocks a proposal stays open unless genesis or a Root call set [`ProposalLifetime`].
        #[pallet::constant]
        type DefaultProposalLifetime: Get<BlockNumberFor<Self>>;
        type WeightInfo: WeightInfo;
    }

    pub type HospitalOf<T> = HospitalInfo<
        <T as Config>::MaxNameLen,
        <T as Config>::MaxUrlLen,
        <T as Config>::MaxPeersPerHospital,
        <T as Config>::MaxPeerIdLen,
    >;
    pub type RegulatorOf<T> = RegulatorInfo<<T as Config>::MaxNameLen, <T as Config>::MaxPeerIdLen>;
    pub type ActionOf<T> = Action<
        <T as frame_system::Config>::AccountId,
        HospitalOf<T>,
        RegulatorOf<T>,
        <T as Config>::MaxCallLen,
    >;
    pub type BalanceOf<T> =
        <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
    pub type ProposalOf<T> = Proposal<
        <T as frame_system::Config>::AccountId,
        ActionOf<T>,
        BlockNumberFor<T>,
        BalanceOf<T>,
        <T as Config>::MaxMembers,
    >;
    pub type PeerIdOf<T> = PeerIdBytes<<T as Config>::MaxPeerIdLen>;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// A member proposal's storage deposit, held from its proposer while it is open.
        ProposalDeposit,
    }

    /// Member hospitals, sorted. Whitelisted in benchmarks: most calls of the marketplace
    /// read it, and [`Hooks::on_initialize`] pays its database read once per block.
    #[pallet::storage]
    #[pallet::whitelist_storage]
    pub type Members<T: Config> =
        StorageValue<_, BoundedVec<T::AccountId, T::MaxMembers>, ValueQuery>;

    #[pallet::storage]
    pub type Hospitals<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, HospitalOf<T>>;

    #[pallet::storage]
    pub type Regulators<T: Config> =
        CountedStorageMap<_, Blake2_128Concat, T::AccountId, RegulatorOf<T>>;

    /// Which account each authorised peer id belongs to.
    #[pallet::storage]
    pub type PeerOwners<T: Config> =
        StorageMap<_, Blake2_128Concat, PeerIdOf<T>, (T::AccountId, PeerRole)>;

    #[pallet::storage]
    pub type Proposals<T: Config> =
        CountedStorageMap<_, Twox64Concat, ProposalIndex, ProposalOf<T>>;

    /// The open dispute vote of each disputed order: the dispute queue, bounded by
    /// [`Config::MaxOpenDisputes`] apart from members' proposals.
    #[pallet::storage]
    pub type DisputeVotes<T: Config> = CountedStorageMap<_, Twox64Concat, OrderId, ProposalIndex>;

    /// Open proposals per proposer, bounded by [`Config::MaxProposalsPerMember`].
    #[pallet::storage]
    pub type OpenProposalsBy<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

    /// Index the next proposal gets.
    #[pallet::storage]
    pub type ProposalCount<T: Config> = StorageValue<_, ProposalIndex, ValueQuery>;

    /// Blocks a new proposal stays open (genesis parameter; changed by a Root proposal).
    #[pallet::storage]
    pub type ProposalLifetime<T: Config> =
        StorageValue<_, BlockNumberFor<T>, ValueQuery, T::DefaultProposalLifetime>;

    /// The validators this pallet queued at the last session change: the members that had
    /// registered session keys then. They author from the next session change on.
    #[pallet::storage]
    pub type QueuedValidators<T: Config> =
        StorageValue<_, BoundedVec<T::AccountId, T::MaxMembers>, ValueQuery>;

    /// Blocks per session (validator set changes take effect at session boundaries).
    #[pallet::storage]
    pub type SessionLength<T: Config> = StorageValue<_, BlockNumberFor<T>, ValueQuery>;

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        /// Founding hospitals: (account, name, delivery endpoint, node peer ids).
        pub hospitals: Vec<(T::AccountId, Vec<u8>, Vec<u8>, Vec<Vec<u8>>)>,
        /// Regulators: (account, name, observer node peer id).
        pub regulators: Vec<(T::AccountId, Vec<u8>, Vec<u8>)>,
        /// Blocks per session; 0 means the default of 100.
        pub session_length: u32,
        /// Blocks a proposal stays open; 0 means [`Config::DefaultProposalLifetime`].
        pub proposal_lifetime: u32,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            let length = if self.session_length == 0 {
                100
            } else {
                self.session_length
            };
            SessionLength::<T>::put(BlockNumberFor::<T>::from(length));
            if self.proposal_lifetime != 0 {
                ProposalLifetime::<T>::put(BlockNumberFor::<T>::from(self.proposal_lifetime));
            }
            for (account, name, url, peers) in &self.hospitals {
                let info = HospitalInfo {
                    name: name
                        .clone()
                        .try_into()
                        .expect("genesis hospital name too long"),
                    delivery_endpoint: url.clone().try_into().expect("genesis endpoint too long"),
                    peer_ids: peers
                        .iter()
                        .map(|p| p.clone().try_into().expect("genesis peer id too long"))
                        .collect::<Vec<_>>()
                        .try_into()
                        .expect("too many genesis peer ids"),
                };
                Pallet::<T>::insert_hospital(account.clone(), info)
                    .expect("valid genesis hospital");
            }
            for (account, name, peer) in &self.regulators {
                let info = RegulatorInfo {
                    name: name
                        .clone()
                        .try_into()
                        .expect("genesis regulator name too long"),
                    peer_id: peer.clone().try_into().expect("genesis peer id too long"),
                };
                Pallet::<T>::insert_regulator(account.clone(), info)
                    .expect("valid genesis regulator");
            }
            // An empty config (the default) builds nothing; a real consortium starts complete.
            assert!(
                self.hospitals.is_empty() || self.hospitals.len() as u32 >= T::MinMembers::get(),
                "a consortium starts with at least MinMembers hospitals"
            );
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        Proposed {
            index: ProposalIndex,
            proposer: Option<T::AccountId>,
            action: ActionOf<T>,
            threshold: u32,
        },
        Voted {
            index: ProposalIndex,
            voter: T::AccountId,
            aye: bool,
            ayes: u32,
            nays: u32,
        },
        /// Passed; `result` is the outcome of carrying it out.
        Executed {
            index: ProposalIndex,
            result: DispatchResult,
        },
        /// Can no longer pass.
        Rejected {
            index: ProposalIndex,
            ayes: u32,
            nays: u32,
        },
        /// Closed after its deadline without a decision; nothing was done.
        Expired {
            index: ProposalIndex,
        },
        HospitalAdded {
            account: T::AccountId,
        },
        HospitalRemoved {
            account: T::AccountId,
        },
        HospitalUpdated {
            account: T::AccountId,
        },
        RegulatorAdded {
            account: T::AccountId,
        },
        RegulatorRemoved {
            account: T::AccountId,
        },
        RegulatorUpdated {
            account: T::AccountId,
        },
        DisputeDecided {
            index: ProposalIndex,
            order: OrderId,
            outcome: DisputeOutcome,
        },
        /// Proposals made from now on stay open `blocks` blocks; open ones keep their deadline.
        ProposalLifetimeSet {
            blocks: BlockNumberFor<T>,
        },
        /// Session `session` keeps the current validators: only `members_with_keys` members
        /// have session keys, fewer than `MinMembers`.
        ValidatorSetKept {
            session: u32,
            members_with_keys: u32,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// Only member hospitals may propose or vote.
        NotMember,
        /// Only a registered regulator may do this.
        NotRegulator,
        /// The account is already a member hospital.
        AlreadyMember,
        /// The account is already a registered regulator.
        AlreadyRegulator,
        /// The consortium has the most members it may have.
        TooManyMembers,
        TooManyRegulators,
        /// The proposal would leave fewer than `MinMembers` hospitals.
        TooFewMembers,
        /// The removal would leave fewer than `MinMembers` members with session keys, so the
        /// validator set could not change and the hospital would keep validating: another
        /// member must register session keys first.
        TooFewValidators,
        /// A peer id is already registered to another node.
        PeerIdInUse,
        /// A hospital must run at least one node.
        NoPeerIds,
        /// The Root call does not decode as a call of this runtime.
        UndecodableCall,
        /// Disputes are opened by the escrow, not proposed.
        DisputeNotProposable,
        /// No open proposal with that index.
        ProposalNotFound,
        /// The proposal's voting period is over; close it instead.
        ProposalExpired,
        /// The proposal is still open; it can be closed only after it expires.
        ProposalNotExpired,
        /// This member already voted on this proposal.
        AlreadyVoted,
        /// This member may not vote on this proposal (its own removal, or its own order).
        NotEntitledToVote,
        /// Too many proposals are open; vote or close some first.
        TooManyProposals,
        /// This member has `MaxProposalsPerMember` proposals open; vote or close some first.
        TooManyProposalsByMember,
        /// The proposer cannot hold the proposal's storage deposit.
        CannotHoldDeposit,
        /// Too many dispute votes are open; the buyer may dispute again once one closes.
        TooManyDisputes,
        /// This order's dispute is already being voted on.
        DisputeAlreadyOpen,
        /// This vote would pass a Root call heavier than `call_weight_bound`; vote again with
        /// a bound at least the call's weight.
        CallWeightAboveBound,
        /// A proposal must stay open at least one block.
        ZeroProposalLifetime,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        /// The member list's first read in a block reaches the database; later reads, by
        /// any call, are served from the block's cache. The block pays that read here (a vote
        /// that changes the list pays the write).
        fn on_initialize(_now: BlockNumberFor<T>) -> Weight {
            T::DbWeight::get().reads(1)
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Proposes `action`; the proposer's aye is counted at once.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::propose(T::MaxMembers::get()))]
        pub fn propose(origin: OriginFor<T>, action: ActionOf<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(Self::is_member(&who), Error::<T>::NotMember);
            let excluded = Self::check_proposable(&action)?;
            let index = Self::open_proposal(Some(who.clone()), action, excluded.iter().cloned())?;
            if excluded.as_ref() != Some(&who) {
                // With at least MinMembers (4) voters one aye never passes, so no Root call
                // runs here and no weight bound is needed.
                Self::record_vote(index, who, true, Weight::zero())?;
            }
            Ok(())
        }

        /// Votes on an open proposal: `aye` approves (for a dispute: the buyer wins).
        ///
        /// `call_weight_bound` matters only for the vote that passes a Root proposal: the call
        /// runs within this transaction, so its weight must not exceed the bound (as in
        /// `pallet-collective`'s `close`); otherwise the vote is refused with
        /// `CallWeightAboveBound` and nothing changes. Other votes pass `0`. The vote that
        /// decides a dispute pays for the decision (`DisputeDecisions::decision_weight`); the
        /// weight a vote did not use is refunded.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::vote(T::MaxMembers::get())
            .saturating_add(call_weight_bound.max(T::Disputes::decision_weight())))]
        pub fn vote(
            origin: OriginFor<T>,
            index: ProposalIndex,
            aye: bool,
            call_weight_bound: Weight,
        ) -> DispatchResultWithPostInfo {
            let who = ensure_signed(origin)?;
            ensure!(Self::is_member(&who), Error::<T>::NotMember);
            let call_weight = Self::record_vote(index, who, aye, call_weight_bound)?;
            Ok(Some(T::WeightInfo::vote(T::MaxMembers::get()).saturating_add(call_weight)).into())
        }

        /// Closes an expired proposal; its default outcome applies (see the pallet docs).
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::close())]
        pub fn close(origin: OriginFor<T>, index: ProposalIndex) -> DispatchResult {
            ensure_signed(origin)?;
            let proposal = Proposals::<T>::get(index).ok_or(Error::<T>::ProposalNotFound)?;
            let now = frame_system::Pallet::<T>::block_number();
            ensure!(now > proposal.expires_at, Error::<T>::ProposalNotExpired);
            Self::remove_proposal(index, &proposal);
            if let Action::DecideDispute { order } = proposal.action {
                Self::finish_dispute(index, order, DisputeOutcome::Expired);
            }
            Self::deposit_event(Event::Expired { index });
            Ok(())
        }

        /// A member updates its own public record: name, delivery endpoint and node peer ids.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::update_hospital(T::MaxPeersPerHospital::get()))]
        pub fn update_hospital(origin: OriginFor<T>, info: HospitalOf<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let old = Hospitals::<T>::get(&who).ok_or(Error::<T>::NotMember)?;
            ensure!(!info.peer_ids.is_empty(), Error::<T>::NoPeerIds);
            for peer in info.peer_ids.iter() {
                ensure!(Self::peer_free_for(peer, &who), Error::<T>::PeerIdInUse);
            }
            Self::ensure_distinct(&info.peer_ids)?;
            for peer in old.peer_ids.iter() {
                PeerOwners::<T>::remove(peer);
            }
            for peer in info.peer_ids.iter() {
                PeerOwners::<T>::insert(peer, (who.clone(), PeerRole::Hospital));
            }
            Hospitals::<T>::insert(&who, info);
            Self::deposit_event(Event::HospitalUpdated { account: who });
            Ok(())
        }

        /// A regulator moves its observer node to a new peer id.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::update_regulator_peer())]
        pub fn update_regulator_peer(origin: OriginFor<T>, peer_id: PeerIdOf<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut info = Regulators::<T>::get(&who).ok_or(Error::<T>::NotRegulator)?;
            ensure!(Self::peer_free_for(&peer_id, &who), Error::<T>::PeerIdInUse);
            PeerOwners::<T>::remove(&info.peer_id);
            PeerOwners::<T>::insert(&peer_id, (who.clone(), PeerRole::Regulator));
            info.peer_id = peer_id;
            Regulators::<T>::insert(&who, info);
            Self::deposit_event(Event::RegulatorUpdated { account: who });
            Ok(())
        }

        /// Sets how long new proposals stay open. Root only: a passed Root proposal.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::set_proposal_lifetime())]
        pub fn set_proposal_lifetime(
            origin: OriginFor<T>,
            blocks: BlockNumberFor<T>,
        ) -> DispatchResult {
            ensure_root(origin)?;
            ensure!(!blocks.is_zero(), Error::<T>::ZeroProposalLifetime);
            ProposalLifetime::<T>::put(blocks);
            Self::deposit_event(Event::ProposalLifetimeSet { blocks });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        pub fn is_member(who: &T::AccountId) -> bool {
            Members::<T>::get().binary_search(who).is_ok()
        }

        /// Members with registered session keys: the validators of the next session, if at
        /// least `MinMembers` (see the session manager).
        pub fn members_with_keys() -> u32 {
            Members::<T>::get()
                .iter()
                .filter(|member| T::Session::has_keys(member))
                .count() as u32
        }

        /// Every peer id allowed to connect, with its role.
        pub fn authorized_peers() -> Vec<(Vec<u8>, PeerRole)> {
            PeerOwners::<T>::iter()
                .map(|(peer, (_, role))| (peer.into_inner(), role))
                .collect()
        }

        /// The storage deposit a member proposal of `action` holds.
        pub fn deposit_for(action: &ActionOf<T>) -> BalanceOf<T> {
            let bytes = BalanceOf::<T>::from(action.encoded_size() as u32);
            T::ProposalDepositBase::get()
                .saturating_add(T::ProposalDepositPerByte::get().saturating_mul(bytes))
        }

        /// Opens the vote on a buyer's dispute of `order`; neither the custodian nor the buyer
        /// (when it is a member hospital) votes.
        pub fn open_dispute(
            order: OrderId,
            custodian: T::AccountId,
            buyer: T::AccountId,
        ) -> Result<ProposalIndex, DispatchError> {
            Self::open_proposal(None, Action::DecideDispute { order }, [custodian, buyer])
        }

        /// Drops the open vote on `order`'s dispute, if any (the escrow settled it otherwise,
        /// e.g. its own voting period ran out).
        pub fn close_dispute(order: OrderId) {
            if let Some(index) = DisputeVotes::<T>::take(order) {
                Proposals::<T>::remove(index);
                Self::deposit_event(Event::Expired { index });
            }
        }

        /// Removes a proposal that is decided or closed, its dispute queue entry, and its
        /// place among its proposer's open proposals.
        fn remove_proposal(index: ProposalIndex, proposal: &ProposalOf<T>) {
            Proposals::<T>::remove(index);
            if let Action::DecideDispute { order } = proposal.action {
                DisputeVotes::<T>::remove(order);
            }
            if let Some(proposer) = &proposal.proposer {
                OpenProposalsBy::<T>::mutate_exists(proposer, |open| {
                    *open = open.and_then(|n| n.checked_sub(1)).filter(|n| *n > 0);
                });
                // The hold is this pallet's own and at least the deposit: nothing can fail.
                let _ = T::Currency::release(
                    &HoldReason::ProposalDeposit.into(),
                    proposer,
                    proposal.deposit,
                    Precision::BestEffort,
                );
            }
        }

        /// Open proposals of members, i.e. not dispute votes.
        fn open_member_proposals() -> u32 {
            Proposals::<T>::count().saturating_sub(DisputeVotes::<T>::count())
        }

        fn peer_free_for(peer: &PeerIdOf<T>, owner: &T::AccountId) -> bool {
            PeerOwners::<T>::get(peer).map_or(true, |(who, _)| &who == owner)
        }

        fn ensure_distinct(peers: &[PeerIdOf<T>]) -> DispatchResult {
            for (i, peer) in peers.iter().enumerate() {
                ensure!(!peers[..i].contains(peer), Error::<T>::PeerIdInUse);
            }
            Ok(())
        }

        /// The checks of an admission, made when it is proposed and again when it executes
        /// (state may have changed in between).
        fn ensure_can_add_hospital(account: &T::AccountId, info: &HospitalOf<T>) -> DispatchResult {
            ensure!(!Self::is_member(account), Error::<T>::AlreadyMember);
            ensure!(
                (Members::<T>::decode_len().unwrap_or(0) as u32) < T::MaxMembers::get(),
                Error::<T>::TooManyMembers
            );
            ensure!(!info.peer_ids.is_empty(), Error::<T>::NoPeerIds);
            Self::ensure_distinct(&info.peer_ids)?;
            for peer in info.peer_ids.iter() {
                ensure!(
                    !PeerOwners::<T>::contains_key(peer),
                    Error::<T>::PeerIdInUse
                );
            }
            Ok(())
        }

        fn ensure_can_remove_hospital(account: &T::AccountId) -> DispatchResult {
            ensure!(Self::is_member(account), Error::<T>::NotMember);
            ensure!(
                Members::<T>::decode_len().unwrap_or(0) as u32 > T::MinMembers::get(),
                Error::<T>::TooFewMembers
            );
            if T::Session::has_keys(account) {
                ensure!(
                    Self::members_with_keys().saturating_sub(1) >= T::MinMembers::get(),
                    Error::<T>::TooFewValidators
                );
            }
            Ok(())
        }

        fn ensure_can_add_regulator(
            account: &T::AccountId,
            info: &RegulatorOf<T>,
        ) -> DispatchResult {
            ensure!(
                !Regulators::<T>::contains_key(account),
                Error::<T>::AlreadyRegulator
            );
            ensure!(
                Regulators::<T>::count() < T::MaxRegulators::get(),
                Error::<T>::TooManyRegulators
            );
            ensure!(
                !PeerOwners::<T>::contains_key(&info.peer_id),
                Error::<T>::PeerIdInUse
            );
            Ok(())
        }

        /// Checks an action can be carried out now; returns who may not vote on it.
        fn check_proposable(action: &ActionOf<T>) -> Result<Option<T::AccountId>, DispatchError> {
            match action {
                Action::AddHospital { account, info } => {
                    Self::ensure_can_add_hospital(account, info)?;
                    Ok(None)
                }
                Action::RemoveHospital { account } => {
                    Self::ensure_can_remove_hospital(account)?;
                    Ok(Some(account.clone()))
                }
                Action::AddRegulator { account, info } => {
                    Self::ensure_can_add_regulator(account, info)?;
                    Ok(None)
                }
                Action::RemoveRegulator { account } => {
                    ensure!(
                        Regulators::<T>::contains_key(account),
                        Error::<T>::NotRegulator
                    );
                    Ok(None)
                }
                Action::DispatchAsRoot { call } => {
                    <T as Config>::RuntimeCall::decode(&mut &call[..])
                        .map_err(|_| Error::<T>::UndecodableCall)?;
                    Ok(None)
                }
                Action::DecideDispute { .. } => Err(Error::<T>::DisputeNotProposable.into()),
            }
        }

        fn open_proposal(
            proposer: Option<T::AccountId>,
            action: ActionOf<T>,
            excluded: impl IntoIterator<Item = T::AccountId>,
        ) -> Result<ProposalIndex, DispatchError> {
            let mut excluded: alloc::vec::Vec<T::AccountId> = excluded.into_iter().collect();
            excluded.sort();
            excluded.dedup();
            // At most two: the hospital to be removed, or a dispute's custodian and buyer.
            let excluded = BoundedVec::truncate_from(excluded);
            let index = ProposalCount::<T>::get();
            if let Action::DecideDispute { order } = action {
                ensure!(
                    !DisputeVotes::<T>::contains_key(order),
                    Error::<T>::DisputeAlreadyOpen
                );
                ensure!(
                    DisputeVotes::<T>::count() < T::MaxOpenDisputes::get(),
                    Error::<T>::TooManyDisputes
                );
                DisputeVotes::<T>::insert(order, index);
            } else {
                ensure!(
                    Self::open_member_proposals() < T::MaxOpenProposals::get(),
                    Error::<T>::TooManyProposals
                );
            }
            let mut deposit = BalanceOf::<T>::zero();
            if let Some(proposer) = &proposer {
                let open = OpenProposalsBy::<T>::get(proposer);
                ensure!(
                    open < T::MaxProposalsPerMember::get(),
                    Error::<T>::TooManyProposalsByMember
                );
                deposit = Self::deposit_for(&action);
                T::Currency::hold(&HoldReason::ProposalDeposit.into(), proposer, deposit)
                    .map_err(|_| Error::<T>::CannotHoldDeposit)?;
                OpenProposalsBy::<T>::insert(proposer, open + 1);
            }
            let expires_at = frame_system::Pallet::<T>::block_number()
                .saturating_add(ProposalLifetime::<T>::get());
            let threshold = approval_threshold(Self::eligible_voters(&excluded));
            Proposals::<T>::insert(
                index,
                Proposal {
                    proposer: proposer.clone(),
                    action: action.clone(),
                    excluded,
                    ayes: BoundedVec::new(),
                    nays: BoundedVec::new(),
                    expires_at,
                    deposit,
                },
            );
            ProposalCount::<T>::put(index.saturating_add(1));
            Self::deposit_event(Event::Proposed {
                index,
                proposer,
                action,
                threshold,
            });
            Ok(index)
        }

        /// Members who may vote; `excluded` is sorted and without duplicates.
        fn eligible_voters(excluded: &[T::AccountId]) -> u32 {
            let members = Members::<T>::get();
            let excluded_members = excluded
                .iter()
                .filter(|e| members.binary_search(e).is_ok())
                .count();
            (members.len() as u32).saturating_sub(excluded_members as u32)
        }

        /// Records a vote and, if it decides the proposal, carries the decision out. Returns the
        /// weight a Root call used. Nothing is written if it fails.
        fn record_vote(
            index: ProposalIndex,
            who: T::AccountId,
            aye: bool,
            call_weight_bound: Weight,
        ) -> Result<Weight, DispatchError> {
            let mut proposal = Proposals::<T>::get(index).ok_or(Error::<T>::ProposalNotFound)?;
            ensure!(
                frame_system::Pallet::<T>::block_number() <= proposal.expires_at,
                Error::<T>::ProposalExpired
            );
            ensure!(
                !proposal.excluded.contains(&who),
                Error::<T>::NotEntitledToVote
            );
            ensure!(
                !proposal.ayes.contains(&who) && !proposal.nays.contains(&who),
                Error::<T>::AlreadyVoted
            );
            let side = if aye {
                &mut proposal.ayes
            } else {
                &mut proposal.nays
            };
            // Voters are members and each votes once, so the bound (MaxMembers) holds.
            side.try_push(who.clone())
                .map_err(|_| Error::<T>::TooManyMembers)?;

            let (ayes, nays) = Self::tally(&proposal);
            let eligible = Self::eligible_voters(&proposal.excluded);
            let threshold = approval_threshold(eligible);
            let passes = ayes >= threshold;
            let root_call = match (&proposal.action, passes) {
                (Action::DispatchAsRoot { call }, true) => {
                    let call = <T as Config>::RuntimeCall::decode(&mut &call[..])
                        .map_err(|_| Error::<T>::UndecodableCall)?;
                    ensure!(
                        call.get_dispatch_info()
                            .call_weight
                            .all_lte(call_weight_bound),
                        Error::<T>::CallWeightAboveBound
                    );
                    Some(call)
                }
                _ => None,
            };

            Self::deposit_event(Event::Voted {
                index,
                voter: who,
                aye,
                ayes,
                nays,
            });
            let mut used = Weight::zero();
            if passes {
                Self::remove_proposal(index, &proposal);
                used = Self::execute(index, proposal.action, root_call);
            } else if eligible.saturating_sub(nays) < threshold {
                Self::remove_proposal(index, &proposal);
                if let Action::DecideDispute { order } = proposal.action {
                    used = Self::finish_dispute(index, order, DisputeOutcome::CustodianWins);
                }
                Self::deposit_event(Event::Rejected { index, ayes, nays });
            } else {
                Proposals::<T>::insert(index, proposal);
            }
            Ok(used)
        }

        /// Votes of current members only: a hospital removed meanwhile no longer counts.
        fn tally(proposal: &ProposalOf<T>) -> (u32, u32) {
            let members = Members::<T>::get();
            let count = |voters: &[T::AccountId]| {
                voters
                    .iter()
                    .filter(|v| members.binary_search(v).is_ok())
                    .count() as u32
            };
            (count(&proposal.ayes), count(&proposal.nays))
        }

        /// Carries out a passed proposal; returns the weight it used beyond `vote`'s benchmark:
        /// a Root call's, a dispute decision's, or the member list's write (benchmarks leave
        /// `Members` out, and `on_initialize` pays only its read).
        fn execute(
            index: ProposalIndex,
            action: ActionOf<T>,
            root_call: Option<<T as Config>::RuntimeCall>,
        ) -> Weight {
            let mut used = Weight::zero();
            let result = match (action, root_call) {
                (Action::AddHospital { account, info }, _) => {
                    used = T::DbWeight::get().writes(1);
                    Self::insert_hospital(account, info)
                }
                (Action::RemoveHospital { account }, _) => {
                    used = T::DbWeight::get().writes(1);
                    Self::remove_hospital(&account)
                }
                (Action::AddRegulator { account, info }, _) => {
                    Self::insert_regulator(account, info)
                }
                (Action::RemoveRegulator { account }, _) => Self::remove_regulator(&account),
                (Action::DispatchAsRoot { .. }, Some(call)) => {
                    let declared = call.get_dispatch_info().call_weight;
                    match call.dispatch_bypass_filter(frame_system::RawOrigin::Root.into()) {
                        Ok(post) => {
                            used = post.actual_weight.unwrap_or(declared);
                            Ok(())
                        }
                        Err(e) => {
                            used = e.post_info.actual_weight.unwrap_or(declared);
                            Err(e.error)
                        }
                    }
                }
                (Action::DispatchAsRoot { .. }, None) => {
                    frame_support::defensive!(
                        "a passing Root proposal is decoded before execution"
                    );
                    Err(Error::<T>::UndecodableCall.into())
                }
                (Action::DecideDispute { order }, _) => {
                    used = Self::finish_dispute(index, order, DisputeOutcome::BuyerWins);
                    Ok(())
                }
            };
            Self::deposit_event(Event::Executed { index, result });
            used
        }

        /// Passes the outcome of `order`'s dispute vote to the escrow; returns the weight that
        /// took. A decision that fails changes nothing (its own storage layer), and the vote
        /// still ends.
        fn finish_dispute(index: ProposalIndex, order: OrderId, outcome: DisputeOutcome) -> Weight {
            let applied = frame_support::storage::with_storage_layer(|| {
                T::Disputes::dispute_decided(order, outcome)
            });
            if let Err(e) = applied {
                log::warn!(target: "runtime::consortium", "dispute {order}: decision not applied: {e:?}");
            }
            Self::deposit_event(Event::DisputeDecided {
                index,
                order,
                outcome,
            });
            match outcome {
                DisputeOutcome::Expired => Weight::zero(),
                _ => T::Disputes::decision_weight(),
            }
        }

        /// Adds a hospital and its peer ids (checked again: state may have changed since the
        /// proposal was made).
        pub(crate) fn insert_hospital(
            account: T::AccountId,
            info: HospitalOf<T>,
        ) -> DispatchResult {
            Self::ensure_can_add_hospital(&account, &info)?;
            let mut members = Members::<T>::get();
            let pos = members.binary_search(&account).unwrap_or_else(|pos| pos);
            members
                .try_insert(pos, account.clone())
                .map_err(|_| Error::<T>::TooManyMembers)?;
            for peer in info.peer_ids.iter() {
                PeerOwners::<T>::insert(peer, (account.clone(), PeerRole::Hospital));
            }
            Members::<T>::put(members);
            Hospitals::<T>::insert(&account, info);
            Self::deposit_event(Event::HospitalAdded { account });
            Ok(())
        }

        fn remove_hospital(account: &T::AccountId) -> DispatchResult {
            Self::ensure_can_remove_hospital(account)?;
            let mut members = Members::<T>::get();
            members.retain(|member| member != account);
            Members::<T>::put(members);
            if let Some(info) = Hospitals::<T>::take(account) {
                for peer in info.peer_ids.iter() {
                    PeerOwners::<T>::remove(peer);
                }
            }
            Self::deposit_event(Event::HospitalRemoved {
                account: account.clone(),
            });
            Ok(())
        }

        pub(crate) fn insert_regulator(
            account: T::AccountId,
            info: RegulatorOf<T>,
        ) -> DispatchResult {
            Self::ensure_can_add_regulator(&account, &info)?;
            PeerOwners::<T>::insert(&info.peer_id, (account.clone(), PeerRole::Regulator));
            Regulators::<T>::insert(&account, info);
            Self::deposit_event(Event::RegulatorAdded { account });
            Ok(())
        }

        fn remove_regulator(account: &T::AccountId) -> DispatchResult {
            let info = Regulators::<T>::take(account).ok_or(Error::<T>::NotRegulator)?;
            PeerOwners::<T>::remove(&info.peer_id);
            Self::deposit_event(Event::RegulatorRemoved {
                account: account.clone(),
            });
            Ok(())
        }

        /// The invariants listed in the pallet docs.
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            ensure!(
                !ProposalLifetime::<T>::get().is_zero(),
                "proposals would expire at once"
            );
            let members = Members::<T>::get();
            ensure!(
                members.windows(2).all(|w| w[0] < w[1]),
                "members not sorted and unique"
            );
            ensure!(
                members.len() as u32 >= T::MinMembers::get(),
                "fewer than MinMembers members"
            );
            ensure!(
                Hospitals::<T>::iter_keys().count() == members.len()
                    && members.iter().all(Hospitals::<T>::contains_key),
                "hospital records differ from members"
            );
            let mut peers = 0usize;
            for (account, info) in Hospitals::<T>::iter() {
                for peer in info.peer_ids.iter() {
                    peers += 1;
                    ensure!(
                        PeerOwners::<T>::get(peer) == Some((account.clone(), PeerRole::Hospital)),
                        "hospital peer id not indexed"
                    );
                }
            }
            for (account, info) in Regulators::<T>::iter() {
                peers += 1;
                ensure!(
                    PeerOwners::<T>::get(&info.peer_id) == Some((account, PeerRole::Regulator)),
                    "regulator peer id not indexed"
                );
            }
            ensure!(
                PeerOwners::<T>::iter().count() == peers,
                "stale or shared peer ids"
            );
            ensure!(
                Regulators::<T>::iter().count() as u32 == Regulators::<T>::count(),
                "regulator count"
            );
            let next = ProposalCount::<T>::get();
            let mut open = 0u32;
            let mut disputes = 0u32;
            let mut by_proposer = alloc::collections::BTreeMap::<T::AccountId, u32>::new();
            let mut deposits = alloc::collections::BTreeMap::<T::AccountId, BalanceOf<T>>::new();
            for (index, p) in Proposals::<T>::iter() {
                open += 1;
                if let Some(proposer) = &p.proposer {
                    *by_proposer.entry(proposer.clone()).or_default() += 1;
                    let held = deposits.entry(proposer.clone()).or_insert(Zero::zero());
                    *held = held.saturating_add(p.deposit);
                } else {
                    ensure!(p.deposit.is_zero(), "a dispute vote holds a deposit");
                }
                ensure!(index < next, "proposal index not below ProposalCount");
                if let Action::DecideDispute { order } = p.action {
                    disputes += 1;
                    ensure!(
                        DisputeVotes::<T>::get(order) == Some(index),
                        "dispute vote not in the dispute queue"
                    );
                }
                let mut voters: Vec<&T::AccountId> = p.ayes.iter().chain(p.nays.iter()).collect();
                let n = voters.len();
                voters.sort();
                voters.dedup();
                ensure!(voters.len() == n, "a member voted twice");
                ensure!(
                    !p.excluded.iter().any(|e| voters.contains(&e)),
                    "an excluded member voted"
                );
            }
            ensure!(open == Proposals::<T>::count(), "proposal count");
            ensure!(
                DisputeVotes::<T>::iter().count() as u32 == disputes
                    && DisputeVotes::<T>::count() == disputes,
                "stale dispute queue entries"
            );
            ensure!(
                open - disputes <= T::MaxOpenProposals::get(),
                "too many open proposals"
            );
            ensure!(
                disputes <= T::MaxOpenDisputes::get(),
                "too many open disputes"
            );
            ensure!(
                OpenProposalsBy::<T>::iter().collect::<alloc::collections::BTreeMap<_, _>>()
                    == by_proposer,
                "open proposals per proposer miscounted"
            );
            ensure!(
                by_proposer
                    .values()
                    .all(|n| *n <= T::MaxProposalsPerMember::get()),
                "a member over its proposal cap"
            );
            let reason = HoldReason::ProposalDeposit.into();
            for (proposer, held) in deposits {
                ensure!(
                    T::Currency::balance_on_hold(&reason, &proposer) == held,
                    "a proposer's held deposits differ from its open proposals' deposits"
                );
            }
            let ours = QueuedValidators::<T>::get();
            ensure!(
                ours.is_empty() || ours.len() as u32 >= T::MinMembers::get(),
                "fewer than MinMembers validators queued"
            );
            if let (Some(queued), false) = (T::Session::queued_validators(), ours.is_empty()) {
                ensure!(
                    queued == ours.into_inner(),
                    "the session pallet queued other validators than the consortium did"
                );
            }
            Ok(())
        }
    }
}

/// Members are the validator set: each session queues the current members.
impl<T: Config> pallet_session::SessionManager<T::AccountId> for Pallet<T> {
    /// Queues the members with registered session keys (pallet-session would drop the others
    /// anyway; filtering here lets `try_state` compare both sides exactly) — but only when at
    /// least `MinMembers` of them have keys. Fewer would hand block production and finality to
    /// a minority of the consortium (none at all would halt the chain for good), so the current
    /// validators stay and [`Event::ValidatorSetKept`] says why.
    fn new_session(index: u32) -> Option<Vec<T::AccountId>> {
        let mut keyed = Members::<T>::get();
        keyed.retain(|member| T::Session::has_keys(member));
        if (keyed.len() as u32) < T::MinMembers::get() {
            Self::deposit_event(Event::ValidatorSetKept {
                session: index,
                members_with_keys: keyed.len() as u32,
            });
            return None;
        }
        // The session pallet takes `Some` as a new validator set even when it is the same one,
        // and GRANDPA then starts a new authority set, which holds finality back for a round at
        // every session. The validators queued now are the ones about to author: unchanged,
        // they stay (`None`), and the session pallet still starts a new set if their keys changed.
        let unchanged = T::Session::queued_validators().is_some_and(|queued| queued == *keyed);
        QueuedValidators::<T>::put(&keyed);
        (!unchanged).then(|| keyed.into_inner())
    }
    fn end_session(_index: u32) {}
    fn start_session(_index: u32) {}
}

/// Sessions end every [`SessionLength`] blocks.
impl<T: Config> pallet_session::ShouldEndSession<frame_system::pallet_prelude::BlockNumberFor<T>>
    for Pallet<T>
{
    fn should_end_session(now: frame_system::pallet_prelude::BlockNumberFor<T>) -> bool {
        let length = SessionLength::<T>::get();
        !length.is_zero() && (now % length).is_zero()
    }
}

impl<T: Config> EstimateNextSessionRotation<frame_system::pallet_prelude::BlockNumberFor<T>>
    for Pallet<T>
{
    fn average_session_length() -> frame_system::pallet_prelude::BlockNumberFor<T> {
        SessionLength::<T>::get()
    }

    fn estimate_current_session_progress(
        now: frame_system::pallet_prelude::BlockNumberFor<T>,
    ) -> (Option<Permill>, frame_support::weights::Weight) {
        let length = SessionLength::<T>::get();
        if length.is_zero() {
            return (None, T::DbWeight::get().reads(1));
        }
        let into = (now % length).saturating_add(One::one());
        (
            Some(Permill::from_rational(into, length)),
            T::DbWeight::get().reads(1),
        )
    }

    fn estimate_next_session_rotation(
        now: frame_system::pallet_prelude::BlockNumberFor<T>,
    ) -> (
        Option<frame_system::pallet_prelude::BlockNumberFor<T>>,
        frame_support::weights::Weight,
    ) {
        let length = SessionLength::<T>::get();
        if length.is_zero() {
            return (None, T::DbWeight::get().reads(1));
        }
        let next = now.saturating_add(length.saturating_sub(now % length));
        (Some(next), T::DbWeight::get().reads(1))
    }
}

/// Member hospitals, for other pallets (`type Custodians: Contains<AccountId>`).
pub struct IsMember<T>(core::marker::PhantomData<T>);
impl<T: Config> Contains<T::AccountId> for IsMember<T> {
    fn contains(who: &T::AccountId) -> bool {
        Pallet::<T>::is_member(who)
    }
}
