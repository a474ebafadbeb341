//! # Revenue pallet
//!
//! Splits every released escrow between the data owners whose records were sold, the custodian
//! hospital that sold them and the platform treasury, exactly to the unit; pays owners through
//! per-custodian, per-epoch payout roots so that no claim shows which sale included whom.
//!
//! ## Money flow
//! 1. **Release.** The escrow pallet transfers an order's price to [`Pallet::account_id`] (a
//!    `PalletId` account, kept alive by an existential deposit minted at genesis) and *then*
//!    calls [`Pallet::escrow_released`] in the same transaction. The pallet checks the money
//!    arrived (its balance covers every liability, else [`Error::ReleaseNotFunded`]) and
//!    splits it with the current [`RevenueShares`]: owners' share and custodian's share
//!    rounded down, **the treasury takes the rounding remainder**, so the three parts always
//!    sum to the price. The custodian's and treasury's parts are paid at once; the owners'
//!    part is added to what the custodian's sales have earned their owners ([`Earned`]) and
//!    indexed under the epoch (`PoolOrders`, kept for audits). An epoch lasts `EpochLength`
//!    blocks, fixed at genesis (`DefaultEpochLength` unless the chain spec sets it).
//! 2. **Root.** After an epoch in which it sold, the custodian's node builds the payout book
//!    from the openings of *all* its released sales ([`book`]: each order's part split equally
//!    over its delivered records) and its off-chain worker commits ONE payout root
//!    ([`Pallet::commit_root`], [`offchain`]), signed by the custodian or its delegate. The
//!    root has one leaf per owner enrolled at the custodian (or ever paid by it) with the
//!    owner's **cumulative** earnings from it, zero included, and a secret salt; its declared
//!    total must equal everything earned up to that epoch. Roots come in epoch order; a
//!    consortium vote ([`Pallet::reject_root`]) can reject a wrong one, and the custodian then
//!    commits a corrected one. A root is due `RootDeadline` blocks after the end of an epoch
//!    with sales (or after the rejection of the latest root, [`RootDue`]); after that anyone
//!    may record it overdue ([`Pallet::report_overdue_root`]). Owners fetch their leaf and proof from the custodian's delivery
//!    endpoint (`GET /payouts`, a request they sign).
//! 3. **Claim.** Anyone submits [`Pallet::claim`] with a leaf of any committed, unrejected root
//!    and its Merkle proof (at most `MaxProofLength` siblings, so the weight is bounded; 17
//!    covers 131 072 leaves). It pays the leaf's cumulative amount minus what the owner has
//!    claimed from that custodian before ([`ClaimedFrom`]), always to the leaf's owner, and
//!    a custodian's claims never exceed the root's total. Claims submitted by the owner are
//!    free (`feeless_if`) within the owner's budget of free calls (`Config::FreeCalls`, shared
//!    with consent calls). A patient's account exists without tokens while pallet-ownership
//!    keeps it (enrolled, or owning records); an owner whose account does not exist cannot
//!    sign, and its claim comes from a third party (the custodian or a relayer).
//! 4. **Small amounts.** A payment the recipient's account cannot take (below the existential
//!    deposit of a non-existent account) accrues in the `Owed` ledger; it is paid with the
//!    recipient's next payment, or by [`Pallet::pay_owed`] (anyone) once it can be. Nothing
//!    owed, unclaimed or earned is ever taken back.
//!
//! [`Pallet::set_shares`] (only `SharesOrigin`, the consortium's vote) changes the split for
//! future releases.
//!
//! ## Why cumulative leaves (what the chain does not reveal)
//! A root per sale, or leaves only for the owners paid in an epoch, would tell everyone which
//! owners were in which sale: with one sale in an epoch, every claim names one of its owners.
//! Here every root has a leaf for every enrolled owner, the root and leaf count do not depend
//! on who was sold, and a claim withdraws an owner's whole unclaimed balance whenever the owner
//! chooses. The chain sees that an owner was paid some amount by a custodian at some time, not
//! for which sale. Salts keep the roots from confirming a guess of everyone's earnings.
//!
//! ## Payout book, leaves and tree (what custodians must keep and regulators can check)
//! - **Entry** ([`PayoutEntry`]): one line per (order, record): `order: u64`, `record: H256`,
//!   `owner`, `amount`. The entries of an order sum to its owners' pool (`ReleasedOrders`),
//!   and each entry's owner must have consented at the sale; the runtime API `audit_entry`
//!   checks an entry against `ReleasedOrders` and the consent registry at a given block.
//! - **Leaf** ([`PayoutLeaf`]): one per owner (see above), `amount` = the sum of that owner's
//!   entries over every order released up to the root's epoch, leaves in ascending order of
//!   the owner's SCALE encoding, index = position from 0. `leaf = blake2_256("mlrev:leaf:2" ++
//!   SCALE(index: u32) ++ SCALE(owner) ++ SCALE(amount) ++ salt)`.
//! - **Node**: `blake2_256("mlrev:node:1" ++ left ++ right)`. Leaves are paired left to right
//!   on each level; an odd last node moves up unchanged (no duplication). The two 12-byte
//!   domain tags keep a leaf from passing for a node and the other way round.
//! - **Proof**: the siblings from the leaf up; the verifier derives left/right and where no
//!   sibling exists from `(index, leaf_count)`, and every element must be used.
//!
//! ## Wiring (runtime)
//! - Escrow: pallet-escrow's `OnEscrowRelease` has exactly this pallet's shape; the runtime
//!   implements it on a unit struct with `revenue_account() = Revenue::account_id()` and
//!   `on_escrow_released(..) = Revenue::escrow_released(..)` (this crate does not depend on
//!   the escrow, so neither blocks the other's build). The escrow moves the money first.
//! - Consent: [`EntryConsentCheck`] is adapted from pallet-consent's
//!   `ConsentCheck::consent_covers`, with the buyer and purpose taken from the escrow order.
//! - Owners: [`EnrolledOwners`] from pallet-ownership's enrolments (off-chain worker only).
//! - No membership check on [`Pallet::commit_root`]: the earnings are keyed by the signer,
//!   which proves it made those sales, and a hospital that has left the consortium must still
//!   be able to pay its owners what it owes them.
//!
//! ## Invariants (checked by `try_state`)
//! - released == custodians' shares + treasury shares + claimed + unclaimed earnings;
//! - each custodian's earnings equal the sum of its `PoolOrders`, the latest epoch's part
//!   that of the epoch's orders; its claims equal the sum of its `ClaimedFrom` and never
//!   exceed its earnings; no root's total exceeds them;
//! - a root is due (`RootDue`) exactly while the custodian's latest root is rejected or does
//!   not cover all its earnings;
//! - sum of `Owed` == custodians' + treasury + claimed − paid;
//! - the pallet account holds at least its existential deposit plus released − paid.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod book;
pub mod merkle;
#[cfg(test)]
mod merkle_tests;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod model_tests;
pub mod offchain;
#[cfg(test)]
mod offchain_tests;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{
        pallet_prelude::*,
        traits::{
            fungible::{Inspect, Mutate},
            tokens::{DepositConsequence, Preservation, Provenance},
        },
        PalletId,
    };
    use frame_system::{
        offchain::{AppCrypto, CreateSignedTransaction},
        pallet_prelude::*,
    };
    use medledger_primitives::FreeCalls as _;
    use pallet_delivery::DeliveryKeyRegistry;
    use sp_core::H256;
    use sp_runtime::{
        traits::{AccountIdConversion, CheckedAdd, Saturating, UniqueSaturatedInto, Zero},
        ArithmeticError, Perbill,
    };

    pub type BalanceOf<T> =
        <<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config:
        frame_system::Config<RuntimeEvent: From<Event<Self>>> + CreateSignedTransaction<Call<Self>>
    {
        /// The currency revenue is paid in.
        type Currency: Mutate<Self::AccountId>;

        /// Derives the pallet account that receives released escrow.
        #[pallet::constant]
        type PalletId: Get<PalletId>;

        /// The platform treasury.
        type TreasuryAccount: Get<Self::AccountId>;

        /// May change the split (the consortium's two-thirds vote).
        type SharesOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// May reject a custodian's wrong payout root (the consortium's two-thirds vote).
        type RejectOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// The owners enrolled at a custodian: each gets a leaf in its roots.
        type Owners: EnrolledOwners<Self::AccountId>;

        /// Consent answers for payout entries (the runtime adapts pallet-consent).
        type Consent: EntryConsentCheck<Self::AccountId, BlockNumberFor<Self>>;

        /// Length of an epoch in blocks unless the genesis sets another (must not be zero).
        #[pallet::constant]
        type DefaultEpochLength: Get<BlockNumberFor<Self>>;

        /// Blocks a custodian has, after the end of an epoch in which it sold (or after the
        /// rejection of its latest root), to commit a root covering those sales; later, anyone
        /// may report the root overdue.
        #[pallet::constant]
        type RootDeadline: Get<BlockNumberFor<Self>>;

        /// Who may commit a custodian's payout root besides the custodian itself: its current
        /// off-chain-worker delegate (the runtime passes pallet-delivery's registry).
        type Delegates: DeliveryKeyRegistry<Self::AccountId>;

        /// The custodian's delivery key in its node's keystore ([`crate::offchain`]): the
        /// off-chain worker signs payout roots with it.
        type AuthorityId: AppCrypto<Self::Public, Self::Signature>;

        /// Longest Merkle proof; a root has at most `2^MaxProofLength` leaves (at most 31).
        #[pallet::constant]
        type MaxProofLength: Get<u32>;

        /// The owners' budget of free calls, shared with the other pallets that offer patients
        /// free calls (the runtime's consent pallet); beyond it claims pay fees.
        type FreeCalls: medledger_primitives::FreeCalls<Self::AccountId>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
    }

    /// The current split.
    #[pallet::storage]
    pub type Shares<T: Config> = StorageValue<_, RevenueShares, ValueQuery, DefaultShares>;

    #[pallet::type_value]
    pub fn DefaultShares() -> RevenueShares {
        RevenueShares {
            owners: Perbill::from_percent(70),
            custodian: Perbill::from_percent(20),
            treasury: Perbill::from_percent(10),
        }
    }

    /// What each custodian's sales have earned their owners, and how much was claimed.
    #[pallet::storage]
    pub type Earned<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, Earnings<BalanceOf<T>>, OptionQuery>;

    /// The orders whose owners' parts a custodian released in each epoch, with each order's
    /// part: which sales the roots from that epoch on pay for.
    #[pallet::storage]
    pub type PoolOrders<T: Config> = StorageNMap<
        _,
        (
            NMapKey<Blake2_128Concat, T::AccountId>,
            NMapKey<Twox64Concat, EpochIndex>,
            NMapKey<Twox64Concat, OrderId>,
        ),
        BalanceOf<T>,
        OptionQuery,
    >;

    /// Length of an epoch in blocks, fixed at genesis (changing it would renumber epochs).
    #[pallet::storage]
    pub type EpochLength<T: Config> =
        StorageValue<_, BlockNumberFor<T>, ValueQuery, T::DefaultEpochLength>;

    /// The payout roots of each custodian, by the epoch they were committed after.
    #[pallet::storage]
    pub type PayoutRoots<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Twox64Concat,
        EpochIndex,
        PayoutRoot<BalanceOf<T>>,
        OptionQuery,
    >;

    /// The epoch of each custodian's latest root (rejected or not).
    #[pallet::storage]
    pub type LatestRoot<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, EpochIndex, OptionQuery>;

    /// When each custodian's next root is due; absent while its latest root covers all its
    /// earnings.
    #[pallet::storage]
    pub type RootDue<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, RootDeadline<BlockNumberFor<T>>, OptionQuery>;

    /// What each owner has claimed from each custodian: owner, custodian → amount.
    #[pallet::storage]
    pub type ClaimedFrom<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Blake2_128Concat,
        T::AccountId,
        BalanceOf<T>,
        OptionQuery,
    >;

    /// Allocated to an account but not yet payable to it (below the existential deposit).
    #[pallet::storage]
    pub type Owed<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, BalanceOf<T>>;

    /// Every released order: custodian, epoch and owners' pool.
    #[pallet::storage]
    pub type ReleasedOrders<T: Config> =
        StorageMap<_, Twox64Concat, OrderId, ReleasedOrder<T::AccountId, BalanceOf<T>>>;

    /// Running totals (see [`Totals`]).
    #[pallet::storage]
    pub type RevenueTotals<T: Config> = StorageValue<_, Totals<BalanceOf<T>>, ValueQuery>;

    #[pallet::genesis_config]
    #[derive(frame_support::DefaultNoBound)]
    pub struct GenesisConfig<T: Config> {
        pub shares: Option<RevenueShares>,
        /// Blocks per epoch; `None` keeps the runtime's default.
        pub epoch_length: Option<BlockNumberFor<T>>,
        #[serde(skip)]
        pub _config: core::marker::PhantomData<T>,
    }

    #[pallet::genesis_build]
    impl<T: Config> BuildGenesisConfig for GenesisConfig<T> {
        fn build(&self) {
            if let Some(shares) = self.shares {
                assert!(shares.is_whole(), "revenue shares must sum to 100 %");
                Shares::<T>::put(shares);
            }
            if let Some(length) = self.epoch_length {
                assert!(!length.is_zero(), "an epoch lasts at least one block");
                EpochLength::<T>::put(length);
            }
            // The escrow pays into this account, so it must exist from the start.
            let account = Pallet::<T>::account_id();
            let minimum = T::Currency::minimum_balance();
            let missing = minimum.saturating_sub(T::Currency::balance(&account));
            if !missing.is_zero() {
                assert!(
                    T::Currency::mint_into(&account, missing).is_ok(),
                    "the revenue account can be endowed"
                );
            }
        }
    }

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// An order's price was released and split.
        Released {
            order: OrderId,
            custodian: T::AccountId,
            epoch: EpochIndex,
            amount: BalanceOf<T>,
            record_count: u32,
            owners_pool: BalanceOf<T>,
            custodian_share: BalanceOf<T>,
            treasury_share: BalanceOf<T>,
        },
        /// A custodian (or its delegate, `by`) committed a payout root after an ended epoch:
        /// `total` is everything its sales earned their owners up to that epoch.
        RootCommitted {
            custodian: T::AccountId,
            by: T::AccountId,
            epoch: EpochIndex,
            root: H256,
            total: BalanceOf<T>,
            leaf_count: u32,
        },
        /// A consortium vote rejected a payout root: nothing more is claimed against it.
        RootRejected {
            custodian: T::AccountId,
            epoch: EpochIndex,
        },
        /// A custodian did not commit a payout root covering its sales by block `due`.
        RootOverdue {
            custodian: T::AccountId,
            due: BlockNumberFor<T>,
        },
        /// An owner claimed its unclaimed earnings from a custodian: `amount` now, `claimed`
        /// in all.
        Claimed {
            custodian: T::AccountId,
            owner: T::AccountId,
            amount: BalanceOf<T>,
            claimed: BalanceOf<T>,
        },
        /// Money left the pallet account: everything owed to `who`.
        Paid {
            who: T::AccountId,
            amount: BalanceOf<T>,
        },
        /// `amount` could not be paid yet (below the existential deposit); `who` is now owed
        /// `owed` in all.
        Accrued {
            who: T::AccountId,
            amount: BalanceOf<T>,
            owed: BalanceOf<T>,
        },
        /// The split changed, for releases from now on.
        SharesChanged { shares: RevenueShares },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The shares do not add up to 100 %.
        SharesNotWhole,
        /// This order was released already.
        OrderAlreadyReleased,
        /// The pallet account does not hold the released amount: transfer it before calling.
        ReleaseNotFunded,
        /// The epoch has not ended yet; roots are committed after it.
        EpochNotEnded,
        /// The custodian's sales have earned its owners nothing up to this epoch.
        NothingEarned,
        /// Only the custodian or its off-chain-worker delegate may commit its roots.
        NotCustodian,
        /// A root for this epoch or a later one is committed already (and not rejected).
        RootAlreadyCommitted,
        /// The custodian sold in a later epoch than this one and the one after it: commit the
        /// root of the latest ended epoch.
        EpochTooOld,
        /// The root adds no earnings to the custodian's latest one.
        NothingNewEarned,
        /// The declared total differs from what the custodian's sales earned up to the epoch.
        TotalMismatch,
        /// A root needs at least one and at most `2^MaxProofLength` leaves.
        BadLeafCount,
        /// No root is committed for this custodian and epoch.
        NoSuchRoot,
        /// A consortium vote rejected this root.
        RootRejected,
        /// The leaf index is not below the root's leaf count.
        LeafIndexOutOfRange,
        /// The proof does not show this leaf under the root.
        InvalidProof,
        /// The owner has already claimed this leaf's amount (or more) from the custodian.
        NothingToClaim,
        /// The claim would take the custodian's claims beyond the root's total.
        ExceedsRootTotal,
        /// The custodian owes no payout root: its latest root covers all its earnings.
        NoRootDue,
        /// The custodian's next payout root is not due yet.
        RootNotOverdue,
        /// The custodian's overdue root was reported already.
        OverdueReported,
        /// Nothing is owed to this account.
        NothingOwed,
        /// What is owed is still below what the account can receive.
        BelowMinimum,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        fn integrity_test() {
            assert!(
                !T::DefaultEpochLength::get().is_zero(),
                "DefaultEpochLength must not be zero"
            );
            assert!(
                T::MaxProofLength::get() <= 31,
                "MaxProofLength must be at most 31"
            );
        }

        /// The custodian's node: ask the node's native side for a root of the earnings up to
        /// the last ended epoch and commit the roots it has built ([`crate::offchain`]). The node runs this on
        /// finalized blocks only.
        fn offchain_worker(now: BlockNumberFor<T>) {
            Self::run_payout_worker(now)
        }

        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// Change the split for future releases.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::set_shares())]
        pub fn set_shares(origin: OriginFor<T>, shares: RevenueShares) -> DispatchResult {
            T::SharesOrigin::ensure_origin(origin)?;
            ensure!(shares.is_whole(), Error::<T>::SharesNotWhole);
            Shares::<T>::put(shares);
            Self::deposit_event(Event::SharesChanged { shares });
            Ok(())
        }

        /// Commit `custodian`'s payout root after the ended `epoch`: one leaf per owner with
        /// the owner's cumulative earnings; `total` must equal everything the custodian's
        /// sales earned their owners up to the epoch. Roots come in epoch order; after a
        /// rejection, another root for the same epoch may follow. Signed by the custodian or
        /// its off-chain-worker delegate (the custodian's node does it by itself,
        /// [`crate::offchain`]).
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::commit_root())]
        pub fn commit_root(
            origin: OriginFor<T>,
            custodian: T::AccountId,
            epoch: EpochIndex,
            root: H256,
            total: BalanceOf<T>,
            leaf_count: u32,
        ) -> DispatchResult {
            let by = ensure_signed(origin)?;
            ensure!(
                by == custodian || T::Delegates::may_act_for(&custodian, &by),
                Error::<T>::NotCustodian
            );
            ensure!(epoch < Self::current_epoch(), Error::<T>::EpochNotEnded);
            let earned = Earned::<T>::get(&custodian).ok_or(Error::<T>::NothingEarned)?;
            let previous = Self::ensure_root_may_follow(&custodian, epoch)?;
            let through = earned.through(epoch).ok_or(Error::<T>::EpochTooOld)?;
            ensure!(!through.is_zero(), Error::<T>::NothingEarned);
            ensure!(total == through, Error::<T>::TotalMismatch);
            ensure!(
                previous.is_none_or(|previous| previous.rejected || previous.total < total),
                Error::<T>::NothingNewEarned
            );
            ensure!(
                leaf_count > 0 && u64::from(leaf_count) <= Self::max_leaves(),
                Error::<T>::BadLeafCount
            );

            PayoutRoots::<T>::insert(
                &custodian,
                epoch,
                PayoutRoot {
                    root,
                    total,
                    leaf_count,
                    rejected: false,
                },
            );
            LatestRoot::<T>::insert(&custodian, epoch);
            if epoch >= earned.latest_epoch {
                RootDue::<T>::remove(&custodian);
            } else {
                // The latest epoch's sales are left for the next root.
                Self::set_root_due(&custodian, Self::epoch_end(earned.latest_epoch));
            }
            Self::deposit_event(Event::RootCommitted {
                custodian,
                by,
                epoch,
                root,
                total,
                leaf_count,
            });
            Ok(())
        }

        /// Claim for `leaf.owner` its earnings from `custodian` not yet claimed, proven by
        /// leaf `index` of the root committed after `epoch`. Anyone may submit it; free for
        /// the owner within its budget of free calls.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::claim(proof.len() as u32))]
        #[pallet::feeless_if(|origin: &OriginFor<T>, custodian: &T::AccountId,
			epoch: &EpochIndex, index: &u32, leaf: &PayoutLeaf<T::AccountId, BalanceOf<T>>,
			proof: &BoundedVec<H256, T::MaxProofLength>| -> bool {
			Pallet::<T>::is_free_for(origin, &leaf.owner, || {
				Pallet::<T>::ensure_can_claim(custodian, *epoch, *index, leaf, proof).map(|_| ())
			})
		})]
        pub fn claim(
            origin: OriginFor<T>,
            custodian: T::AccountId,
            epoch: EpochIndex,
            index: u32,
            leaf: PayoutLeaf<T::AccountId, BalanceOf<T>>,
            proof: BoundedVec<H256, T::MaxProofLength>,
        ) -> DispatchResult {
            let signer = ensure_signed(origin)?;
            let amount = Self::ensure_can_claim(&custodian, epoch, index, &leaf, &proof)?;
            let owner = leaf.owner;
            let mut totals = RevenueTotals::<T>::get();
            totals.claimed = totals
                .claimed
                .checked_add(&amount)
                .ok_or(ArithmeticError::Overflow)?;
            Earned::<T>::mutate(&custodian, |earned| {
                if let Some(earned) = earned {
                    earned.claimed = earned.claimed.saturating_add(amount);
                }
            });
            ClaimedFrom::<T>::insert(&owner, &custodian, leaf.amount);
            RevenueTotals::<T>::put(totals);
            if signer == owner {
                T::FreeCalls::use_free_call(&owner);
            }
            Self::deposit_event(Event::Claimed {
                custodian,
                owner: owner.clone(),
                amount,
                claimed: leaf.amount,
            });
            Self::pay_or_accrue(&owner, amount)
        }

        /// Pay `who` what it is owed, now that its account can take it. Anyone may call it;
        /// free for `who` within the rate limit.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::pay_owed())]
        #[pallet::feeless_if(|origin: &OriginFor<T>, who: &T::AccountId| -> bool {
			Pallet::<T>::is_free_for(origin, who, || Pallet::<T>::ensure_payable(who).map(|_| ()))
		})]
        pub fn pay_owed(origin: OriginFor<T>, who: T::AccountId) -> DispatchResult {
            let signer = ensure_signed(origin)?;
            let owed = Self::ensure_payable(&who)?;
            if signer == who {
                T::FreeCalls::use_free_call(&who);
            }
            Self::transfer_out(&who, owed)
        }

        /// Reject `custodian`'s root committed after `epoch` (the consortium's vote, on a root
        /// a regulator or member found wrong): nothing more can be claimed against it, what
        /// was claimed stays paid, and the custodian may commit a corrected root.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::reject_root())]
        pub fn reject_root(
            origin: OriginFor<T>,
            custodian: T::AccountId,
            epoch: EpochIndex,
        ) -> DispatchResult {
            T::RejectOrigin::ensure_origin(origin)?;
            PayoutRoots::<T>::try_mutate(&custodian, epoch, |root| {
                let root = root.as_mut().ok_or(Error::<T>::NoSuchRoot)?;
                ensure!(!root.rejected, Error::<T>::RootRejected);
                root.rejected = true;
                Ok::<_, Error<T>>(())
            })?;
            if LatestRoot::<T>::get(&custodian) == Some(epoch)
                && !RootDue::<T>::contains_key(&custodian)
            {
                Self::set_root_due(&custodian, frame_system::Pallet::<T>::block_number());
            }
            Self::deposit_event(Event::RootRejected { custodian, epoch });
            Ok(())
        }

        /// Report that `custodian` did not commit a payout root covering its sales by the
        /// block it was due (`RootDeadline` after the epoch's end): a public record for the
        /// consortium and regulators. Anyone may call it, once per missed deadline.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::report_overdue_root())]
        pub fn report_overdue_root(
            origin: OriginFor<T>,
            custodian: T::AccountId,
        ) -> DispatchResult {
            ensure_signed(origin)?;
            let mut deadline = RootDue::<T>::get(&custodian).ok_or(Error::<T>::NoRootDue)?;
            ensure!(
                frame_system::Pallet::<T>::block_number() > deadline.due,
                Error::<T>::RootNotOverdue
            );
            ensure!(!deadline.reported, Error::<T>::OverdueReported);
            deadline.reported = true;
            RootDue::<T>::insert(&custodian, deadline);
            Self::deposit_event(Event::RootOverdue {
                custodian,
                due: deadline.due,
            });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The account released escrow is paid into.
        pub fn account_id() -> T::AccountId {
            T::PalletId::get().into_account_truncating()
        }

        /// The epoch of the current block.
        pub fn current_epoch() -> EpochIndex {
            let now = frame_system::Pallet::<T>::block_number();
            let length = EpochLength::<T>::get();
            let epoch = if length.is_zero() { now } else { now / length };
            epoch.unique_saturated_into()
        }

        /// The first block after `epoch`.
        pub fn epoch_end(epoch: EpochIndex) -> BlockNumberFor<T> {
            BlockNumberFor::<T>::from(epoch.saturating_add(1))
                .saturating_mul(EpochLength::<T>::get())
        }

        /// The custodian's next root is due `RootDeadline` blocks after `from`.
        fn set_root_due(custodian: &T::AccountId, from: BlockNumberFor<T>) {
            let deadline = RootDeadline {
                due: from.saturating_add(T::RootDeadline::get()),
                reported: false,
            };
            RootDue::<T>::insert(custodian, deadline);
        }

        /// Most leaves a root may have.
        pub fn max_leaves() -> u64 {
            1u64 << T::MaxProofLength::get().min(31)
        }

        /// Called by the escrow pallet after it transferred `amount` for `order` to
        /// [`Self::account_id`]: checks the money is there and splits it. An error makes the
        /// escrow undo the whole release.
        pub fn escrow_released(
            order: OrderId,
            custodian: &T::AccountId,
            amount: BalanceOf<T>,
            record_count: u32,
        ) -> DispatchResult {
            ensure!(
                !ReleasedOrders::<T>::contains_key(order),
                Error::<T>::OrderAlreadyReleased
            );
            let mut totals = RevenueTotals::<T>::get();
            totals.released = totals
                .released
                .checked_add(&amount)
                .ok_or(ArithmeticError::Overflow)?;
            let required = totals
                .liabilities()
                .and_then(|owed| owed.checked_add(&T::Currency::minimum_balance()))
                .ok_or(ArithmeticError::Overflow)?;
            ensure!(
                T::Currency::balance(&Self::account_id()) >= required,
                Error::<T>::ReleaseNotFunded
            );
            let split = Shares::<T>::get()
                .split(amount)
                .ok_or(Error::<T>::SharesNotWhole)?;
            let epoch = Self::current_epoch();
            let mut earned = Earned::<T>::get(custodian).unwrap_or_default();
            if earned.latest_epoch != epoch {
                earned.latest_epoch = epoch;
                earned.in_latest_epoch = Zero::zero();
            }
            earned.total = earned
                .total
                .checked_add(&split.owners)
                .ok_or(ArithmeticError::Overflow)?;
            earned.in_latest_epoch = earned.in_latest_epoch.saturating_add(split.owners);
            totals.custodians = totals
                .custodians
                .checked_add(&split.custodian)
                .ok_or(ArithmeticError::Overflow)?;
            totals.treasury = totals
                .treasury
                .checked_add(&split.treasury)
                .ok_or(ArithmeticError::Overflow)?;

            if !split.owners.is_zero() {
                Earned::<T>::insert(custodian, earned);
                PoolOrders::<T>::insert((custodian, epoch, order), split.owners);
                if !RootDue::<T>::contains_key(custodian) {
                    Self::set_root_due(custodian, Self::epoch_end(epoch));
                }
            }
            ReleasedOrders::<T>::insert(
                order,
                ReleasedOrder {
                    custodian: custodian.clone(),
                    epoch,
                    owners_pool: split.owners,
                },
            );
            RevenueTotals::<T>::put(totals);
            Self::deposit_event(Event::Released {
                order,
                custodian: custodian.clone(),
                epoch,
                amount,
                record_count,
                owners_pool: split.owners,
                custodian_share: split.custodian,
                treasury_share: split.treasury,
            });
            Self::pay_or_accrue(custodian, split.custodian)?;
            Self::pay_or_accrue(&T::TreasuryAccount::get(), split.treasury)
        }

        /// The checks of [`Pallet::claim`], shared with its `feeless_if` condition and the
        /// runtime API's `verify_claim`; returns the amount the claim pays.
        pub fn ensure_can_claim(
            custodian: &T::AccountId,
            epoch: EpochIndex,
            index: u32,
            leaf: &PayoutLeaf<T::AccountId, BalanceOf<T>>,
            proof: &[H256],
        ) -> Result<BalanceOf<T>, Error<T>> {
            let root = PayoutRoots::<T>::get(custodian, epoch).ok_or(Error::<T>::NoSuchRoot)?;
            ensure!(!root.rejected, Error::<T>::RootRejected);
            ensure!(index < root.leaf_count, Error::<T>::LeafIndexOutOfRange);
            ensure!(
                merkle::verify_proof(
                    &root.root,
                    merkle::leaf_hash(index, leaf),
                    index,
                    root.leaf_count,
                    proof
                ),
                Error::<T>::InvalidProof
            );
            let already = ClaimedFrom::<T>::get(&leaf.owner, custodian).unwrap_or_default();
            let amount = leaf
                .amount
                .checked_sub(&already)
                .filter(|amount| !amount.is_zero())
                .ok_or(Error::<T>::NothingToClaim)?;
            let claimed = Earned::<T>::get(custodian).unwrap_or_default().claimed;
            ensure!(
                claimed
                    .checked_add(&amount)
                    .is_some_and(|claimed| claimed <= root.total),
                Error::<T>::ExceedsRootTotal
            );
            Ok(amount)
        }

        /// Whether a root after `epoch` may follow the custodian's latest one: a later epoch,
        /// or the same epoch if that root was rejected. Returns the latest root.
        fn ensure_root_may_follow(
            custodian: &T::AccountId,
            epoch: EpochIndex,
        ) -> Result<Option<PayoutRoot<BalanceOf<T>>>, Error<T>> {
            let Some(latest) = LatestRoot::<T>::get(custodian) else {
                return Ok(None);
            };
            let root = PayoutRoots::<T>::get(custodian, latest);
            let replaces_rejected = epoch == latest && root.is_some_and(|root| root.rejected);
            ensure!(
                epoch > latest || replaces_rejected,
                Error::<T>::RootAlreadyCommitted
            );
            Ok(root)
        }

        /// The checks of [`Pallet::pay_owed`]; returns what is owed.
        pub fn ensure_payable(who: &T::AccountId) -> Result<BalanceOf<T>, Error<T>> {
            let owed = Owed::<T>::get(who).ok_or(Error::<T>::NothingOwed)?;
            ensure!(Self::can_receive(who, owed), Error::<T>::BelowMinimum);
            Ok(owed)
        }

        fn can_receive(who: &T::AccountId, amount: BalanceOf<T>) -> bool {
            T::Currency::can_deposit(who, amount, Provenance::Extant) == DepositConsequence::Success
        }

        /// Pays `who` `amount` plus anything owed to it, or adds `amount` to what is owed if
        /// the account cannot take the sum yet.
        fn pay_or_accrue(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
            if amount.is_zero() {
                return Ok(());
            }
            let due = Owed::<T>::get(who)
                .unwrap_or_default()
                .checked_add(&amount)
                .ok_or(ArithmeticError::Overflow)?;
            if Self::can_receive(who, due) {
                Self::transfer_out(who, due)
            } else {
                Owed::<T>::insert(who, due);
                Self::deposit_event(Event::Accrued {
                    who: who.clone(),
                    amount,
                    owed: due,
                });
                Ok(())
            }
        }

        /// Transfers `amount`, all that is owed to `who` (ledger included), and clears its
        /// ledger.
        fn transfer_out(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
            let mut totals = RevenueTotals::<T>::get();
            totals.paid = totals
                .paid
                .checked_add(&amount)
                .ok_or(ArithmeticError::Overflow)?;
            T::Currency::transfer(&Self::account_id(), who, amount, Preservation::Preserve)?;
            Owed::<T>::remove(who);
            RevenueTotals::<T>::put(totals);
            Self::deposit_event(Event::Paid {
                who: who.clone(),
                amount,
            });
            Ok(())
        }

        /// An owner's call is free when signed by the owner, within the rate limit, and it
        /// would succeed: failures and floods are paid for.
        fn is_free_for(
            origin: &OriginFor<T>,
            owner: &T::AccountId,
            would_succeed: impl FnOnce() -> Result<(), Error<T>>,
        ) -> bool {
            ensure_signed(origin.clone()).is_ok_and(|signer| {
                &signer == owner && T::FreeCalls::has_free_call(owner) && would_succeed().is_ok()
            })
        }

        /// Proven but not yet paid to `owner` (runtime API). What unproven leaves hold is
        /// known only to the owner and the custodian.
        pub fn claimable(owner: &T::AccountId) -> BalanceOf<T> {
            Owed::<T>::get(owner).unwrap_or_default()
        }

        /// Everything `owner` has claimed, from every custodian (runtime API).
        pub fn claimed(owner: &T::AccountId) -> BalanceOf<T> {
            ClaimedFrom::<T>::iter_prefix_values(owner)
                .fold(Zero::zero(), |sum: BalanceOf<T>, claimed| {
                    sum.saturating_add(claimed)
                })
        }

        /// Audits one payout entry of `custodian`'s book for `epoch` (runtime API).
        pub fn audit_entry(
            custodian: &T::AccountId,
            epoch: EpochIndex,
            entry: &PayoutEntry<T::AccountId, BalanceOf<T>>,
            at: BlockNumberFor<T>,
        ) -> EntryAudit {
            let order_in_epoch = ReleasedOrders::<T>::get(entry.order)
                .is_some_and(|order| &order.custodian == custodian && order.epoch == epoch);
            let consent = T::Consent::entry_consent(entry.order, &entry.owner, &entry.record, at);
            EntryAudit {
                order_in_epoch,
                consent,
            }
        }

        #[cfg(any(feature = "try-runtime", test))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            use sp_runtime::traits::CheckedSub;
            let totals = RevenueTotals::<T>::get();
            let add = |sum: BalanceOf<T>, item: BalanceOf<T>| sum.checked_add(&item);

            let mut unclaimed: Option<BalanceOf<T>> = Some(Zero::zero());
            let mut claimed_by_owners = ClaimedFrom::<T>::iter().fold(
                alloc::collections::BTreeMap::<T::AccountId, BalanceOf<T>>::new(),
                |mut sums, (_, custodian, claimed)| {
                    let sum = sums.entry(custodian).or_insert_with(Zero::zero);
                    *sum = sum.saturating_add(claimed);
                    sums
                },
            );
            for (custodian, earned) in Earned::<T>::iter() {
                let orders = PoolOrders::<T>::iter_prefix((&custodian,))
                    .map(|((_, _), part)| part)
                    .try_fold(Zero::zero(), add);
                ensure!(
                    orders == Some(earned.total),
                    "a custodian's earnings are not the sum of its orders' parts"
                );
                let latest = PoolOrders::<T>::iter_prefix_values((&custodian, earned.latest_epoch))
                    .try_fold(Zero::zero(), add);
                ensure!(
                    latest == Some(earned.in_latest_epoch),
                    "the latest epoch's earnings are not the sum of its orders' parts"
                );
                let claims = claimed_by_owners.remove(&custodian).unwrap_or_default();
                ensure!(
                    claims == earned.claimed,
                    "a custodian's claims are not the sum of its owners' claims"
                );
                ensure!(
                    earned.claimed <= earned.total,
                    "a custodian's claims exceed its earnings"
                );
                for root in PayoutRoots::<T>::iter_prefix_values(&custodian) {
                    ensure!(
                        root.total <= earned.total,
                        "a root pays more than the custodian's earnings"
                    );
                    ensure!(
                        root.leaf_count > 0 && u64::from(root.leaf_count) <= Self::max_leaves(),
                        "a root's leaf count is out of range"
                    );
                }
                let covered = LatestRoot::<T>::get(&custodian)
                    .and_then(|epoch| PayoutRoots::<T>::get(&custodian, epoch))
                    .is_some_and(|root| !root.rejected && root.total == earned.total);
                ensure!(
                    covered != RootDue::<T>::contains_key(&custodian),
                    "a root is due exactly while the latest root does not cover the earnings"
                );
                let left = earned.total.checked_sub(&earned.claimed);
                unclaimed = unclaimed.and_then(|sum| left.and_then(|left| add(sum, left)));
            }
            ensure!(
                claimed_by_owners.is_empty(),
                "claims from a custodian without earnings"
            );
            for (custodian, epoch) in LatestRoot::<T>::iter() {
                ensure!(
                    PayoutRoots::<T>::contains_key(&custodian, epoch)
                        && PayoutRoots::<T>::iter_key_prefix(&custodian).all(|e| e <= epoch),
                    "the latest root is not the custodian's last"
                );
            }
            ensure!(
                unclaimed.is_some() && unclaimed == totals.unclaimed(),
                "released != custodians + treasury + claimed + unclaimed earnings"
            );

            ensure!(
                Owed::<T>::iter_values().all(|owed| !owed.is_zero()),
                "a zero Owed entry is stored"
            );
            let owed = Owed::<T>::iter_values().try_fold(Zero::zero(), add);
            ensure!(
                owed.is_some() && owed == totals.owed(),
                "Owed does not sum to what is unpaid"
            );
            let claimed = ClaimedFrom::<T>::iter_values().try_fold(Zero::zero(), add);
            ensure!(
                claimed == Some(totals.claimed),
                "ClaimedFrom does not sum to the claims"
            );

            let required = totals
                .liabilities()
                .and_then(|liabilities| liabilities.checked_add(&T::Currency::minimum_balance()));
            ensure!(
                required.is_some_and(|required| {
                    T::Currency::balance(&Self::account_id()) >= required
                }),
                "the pallet account does not cover its liabilities"
            );
            Ok(())
        }
    }
}
