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
//!    part is added to the custodian's pool for the current epoch (`EpochLength` blocks).
//!    Each order's part is indexed under the pool (`PoolOrders`), kept after the root is
//!    committed so anyone can see which sales a root pays for. An epoch lasts `EpochLength`
//!    blocks, fixed at genesis (`DefaultEpochLength` unless the chain spec sets it).
//! 2. **Root.** Once the epoch has ended, the custodian's node builds the payout book from the
//!    openings of the pool's deliveries ([`book`]: each order's part split equally over its
//!    delivered records) and its off-chain worker commits ONE payout root for it
//!    ([`Pallet::commit_root`], [`offchain`]), signed by the custodian or its delegate, with a
//!    declared total that must equal the pool. The pool then belongs to the root; a second
//!    root for the same (custodian, epoch) is refused. Owners fetch their leaf and proof from
//!    the custodian's delivery endpoint (`GET /payouts`, a request they sign).
//! 3. **Claim.** Anyone submits [`Pallet::claim`] with a leaf and its Merkle proof (at most
//!    `MaxProofLength` siblings, so the weight is bounded; 17 covers 131 072 leaves). Each leaf
//!    pays once (a bitmap, `ClaimedLeaves`), claims never exceed the root's total, and the
//!    money always goes to the leaf's owner. Claims submitted by the owner are free
//!    (`feeless_if`) within the owner's budget of free calls (`Config::FreeCalls`, shared with
//!    consent calls). A patient's
//!    account exists without tokens while pallet-ownership keeps it (enrolled, or owning
//!    records); an owner whose account does not exist cannot sign, and its claim comes from a
//!    third party (the custodian or a relayer).
//! 4. **Small amounts.** A payment the recipient's account cannot take (below the existential
//!    deposit of a non-existent account) accrues in the `Owed` ledger; it is paid with the
//!    recipient's next payment, or by [`Pallet::pay_owed`] (anyone) once it can be. Nothing
//!    owed, unclaimed or pooled is ever taken back.
//!
//! [`Pallet::set_shares`] (only `SharesOrigin`, the consortium's vote) changes the split for
//! future releases.
//!
//! ## Payout book, leaves and tree (what custodians must keep and regulators can check)
//! - **Entry** ([`PayoutEntry`]): one line per (order, record): `order: u64`, `record: H256`,
//!   `owner`, `amount`. The entries of an order sum to its owners' pool (`ReleasedOrders`),
//!   and each entry's owner must have consented at the sale; the runtime API `audit_entry`
//!   checks an entry against `ReleasedOrders` and the consent registry at a given block.
//! - **Leaf**: one per owner per (custodian, epoch), `amount` = the sum of that owner's
//!   entries in the epoch, leaves in ascending order of the owner's SCALE encoding, index =
//!   position from 0. `leaf = blake2_256("mlrev:leaf:1" ++ SCALE(index: u32) ++ SCALE(owner)
//!   ++ SCALE(amount))`.
//! - **Node**: `blake2_256("mlrev:node:1" ++ left ++ right)`. Leaves are paired left to right
//!   on each level; an odd last node moves up unchanged (no duplication). The two 12-byte
//!   domain tags keep a leaf from passing for a node and the other way round.
//! - **Proof**: the siblings from the leaf up; the verifier derives left/right and where no
//!   sibling exists from `(index, leaf_count)`, and every element must be used.
//!
//! A claim reveals only that an owner earned an amount from a hospital in an epoch.
//!
//! ## Wiring (runtime)
//! - Escrow: pallet-escrow's `OnEscrowRelease` has exactly this pallet's shape; the runtime
//!   implements it on a unit struct with `revenue_account() = Revenue::account_id()` and
//!   `on_escrow_released(..) = Revenue::escrow_released(..)` (this crate does not depend on
//!   the escrow, so neither blocks the other's build). The escrow moves the money first.
//! - Consent: [`EntryConsentCheck`] is adapted from pallet-consent's
//!   `ConsentCheck::consent_covers`, with the buyer and purpose taken from the escrow order.
//! - No membership check on [`Pallet::commit_root`]: the pool is keyed by the signer, which
//!   proves it made those sales, and a hospital that has left the consortium must still be able
//!   to pay its owners what it owes them.
//!
//! ## Invariants (checked by `try_state`)
//! - released == custodians' shares + treasury shares + claimed + unclaimed owners' pools
//!   (open epoch pools plus each root's total minus its claims);
//! - sum of `Owed` == custodians' + treasury + claimed − paid; `ClaimedBy` sums to claimed;
//! - each root's claims ≤ its total, and its claimed-leaf bits lie below its leaf count;
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

/// Bits per `ClaimedLeaves` word.
pub const LEAVES_PER_WORD: u32 = 64;

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

        /// Consent answers for payout entries (the runtime adapts pallet-consent).
        type Consent: EntryConsentCheck<Self::AccountId, BlockNumberFor<Self>>;

        /// Length of an epoch in blocks unless the genesis sets another (must not be zero).
        #[pallet::constant]
        type DefaultEpochLength: Get<BlockNumberFor<Self>>;

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

    /// Owners' money released in an epoch, per custodian, until the custodian commits a root.
    #[pallet::storage]
    pub type EpochPools<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        Twox64Concat,
        EpochIndex,
        BalanceOf<T>,
        OptionQuery,
    >;

    /// The orders whose owners' money makes up each (custodian, epoch) pool, with each
    /// order's part. Kept after the root is committed: it says which sales a root pays for.
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

    /// The committed payout root of each (custodian, epoch).
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

    /// Claimed leaves of each root: bit `i % 64` of word `i / 64` is set once leaf `i` paid.
    #[pallet::storage]
    pub type ClaimedLeaves<T: Config> = StorageDoubleMap<
        _,
        Blake2_128Concat,
        (T::AccountId, EpochIndex),
        Twox64Concat,
        u32,
        u64,
        ValueQuery,
    >;

    /// Allocated to an account but not yet payable to it (below the existential deposit).
    #[pallet::storage]
    pub type Owed<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, BalanceOf<T>>;

    /// Sum of each owner's proven claims.
    #[pallet::storage]
    pub type ClaimedBy<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, BalanceOf<T>>;

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
        /// A custodian (or its delegate, `by`) committed the payout root of an ended epoch.
        RootCommitted {
            custodian: T::AccountId,
            by: T::AccountId,
            epoch: EpochIndex,
            root: H256,
            total: BalanceOf<T>,
            leaf_count: u32,
        },
        /// A leaf of a payout root was claimed for its owner.
        Claimed {
            custodian: T::AccountId,
            epoch: EpochIndex,
            index: u32,
            owner: T::AccountId,
            amount: BalanceOf<T>,
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
        /// The custodian released nothing for owners in this epoch (or its root is committed).
        NoPool,
        /// Only the custodian or its off-chain-worker delegate may commit its roots.
        NotCustodian,
        /// A root for this custodian and epoch was committed already.
        RootAlreadyCommitted,
        /// The declared total differs from the epoch's owners' pool.
        TotalMismatch,
        /// A root needs at least one and at most `2^MaxProofLength` leaves.
        BadLeafCount,
        /// No root is committed for this custodian and epoch.
        NoSuchRoot,
        /// The leaf index is not below the root's leaf count.
        LeafIndexOutOfRange,
        /// The proof does not show this leaf under the root.
        InvalidProof,
        /// This leaf has been claimed already.
        AlreadyClaimed,
        /// The claim would take the root's claims beyond its total.
        ExceedsRootTotal,
        /// A leaf paying nothing cannot be claimed.
        ZeroAmount,
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

        /// The custodian's node: publish its ended epochs' pools to the node's native side and
        /// commit the payout roots it has built ([`crate::offchain`]). The node runs this on
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

        /// Commit the payout root of `custodian`'s pool for an ended epoch; `total` must equal
        /// the pool. Signed by the custodian or its off-chain-worker delegate (the custodian's
        /// node does it by itself, [`crate::offchain`]).
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
            ensure!(
                !PayoutRoots::<T>::contains_key(&custodian, epoch),
                Error::<T>::RootAlreadyCommitted
            );
            let pool = EpochPools::<T>::get(&custodian, epoch).ok_or(Error::<T>::NoPool)?;
            ensure!(total == pool, Error::<T>::TotalMismatch);
            ensure!(
                leaf_count > 0 && u64::from(leaf_count) <= Self::max_leaves(),
                Error::<T>::BadLeafCount
            );

            EpochPools::<T>::remove(&custodian, epoch);
            PayoutRoots::<T>::insert(
                &custodian,
                epoch,
                PayoutRoot {
                    root,
                    total,
                    claimed: Zero::zero(),
                    leaf_count,
                },
            );
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

        /// Claim leaf `index` of the custodian's root for `epoch`, paying `amount` to `owner`.
        /// Anyone may submit it; free for the owner within the rate limit.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::claim(proof.len() as u32))]
        #[pallet::feeless_if(|origin: &OriginFor<T>, custodian: &T::AccountId,
			epoch: &EpochIndex, index: &u32, owner: &T::AccountId, amount: &BalanceOf<T>,
			proof: &BoundedVec<H256, T::MaxProofLength>| -> bool {
			Pallet::<T>::is_free_for(origin, owner, || {
				Pallet::<T>::ensure_can_claim(custodian, *epoch, *index, owner, *amount, proof)
					.map(|_| ())
			})
		})]
        pub fn claim(
            origin: OriginFor<T>,
            custodian: T::AccountId,
            epoch: EpochIndex,
            index: u32,
            owner: T::AccountId,
            amount: BalanceOf<T>,
            proof: BoundedVec<H256, T::MaxProofLength>,
        ) -> DispatchResult {
            let signer = ensure_signed(origin)?;
            let mut root =
                Self::ensure_can_claim(&custodian, epoch, index, &owner, amount, &proof)?;
            let mut totals = RevenueTotals::<T>::get();
            totals.claimed = totals
                .claimed
                .checked_add(&amount)
                .ok_or(ArithmeticError::Overflow)?;
            root.claimed = root.claimed.saturating_add(amount);

            ClaimedLeaves::<T>::mutate((&custodian, epoch), index / LEAVES_PER_WORD, |word| {
                *word |= Self::leaf_bit(index)
            });
            PayoutRoots::<T>::insert(&custodian, epoch, root);
            ClaimedBy::<T>::mutate(&owner, |claimed| {
                *claimed = Some(claimed.unwrap_or_default().saturating_add(amount))
            });
            RevenueTotals::<T>::put(totals);
            if signer == owner {
                T::FreeCalls::use_free_call(&owner);
            }
            Self::deposit_event(Event::Claimed {
                custodian,
                epoch,
                index,
                owner: owner.clone(),
                amount,
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
            let pool = EpochPools::<T>::get(custodian, epoch)
                .unwrap_or_default()
                .checked_add(&split.owners)
                .ok_or(ArithmeticError::Overflow)?;
            totals.custodians = totals
                .custodians
                .checked_add(&split.custodian)
                .ok_or(ArithmeticError::Overflow)?;
            totals.treasury = totals
                .treasury
                .checked_add(&split.treasury)
                .ok_or(ArithmeticError::Overflow)?;

            if !split.owners.is_zero() {
                EpochPools::<T>::insert(custodian, epoch, pool);
                PoolOrders::<T>::insert((custodian, epoch, order), split.owners);
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
        /// runtime API's `verify_claim`; returns the root.
        pub fn ensure_can_claim(
            custodian: &T::AccountId,
            epoch: EpochIndex,
            index: u32,
            owner: &T::AccountId,
            amount: BalanceOf<T>,
            proof: &[H256],
        ) -> Result<PayoutRoot<BalanceOf<T>>, Error<T>> {
            ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
            let root = PayoutRoots::<T>::get(custodian, epoch).ok_or(Error::<T>::NoSuchRoot)?;
            ensure!(index < root.leaf_count, Error::<T>::LeafIndexOutOfRange);
            ensure!(
                !Self::is_claimed(custodian, epoch, index),
                Error::<T>::AlreadyClaimed
            );
            let leaf = merkle::leaf_hash(index, owner, &amount);
            ensure!(
                merkle::verify_proof(&root.root, leaf, index, root.leaf_count, proof),
                Error::<T>::InvalidProof
            );
            ensure!(
                root.claimed
                    .checked_add(&amount)
                    .is_some_and(|claimed| claimed <= root.total),
                Error::<T>::ExceedsRootTotal
            );
            Ok(root)
        }

        /// Whether leaf `index` of the (custodian, epoch) root has been claimed.
        pub fn is_claimed(custodian: &T::AccountId, epoch: EpochIndex, index: u32) -> bool {
            ClaimedLeaves::<T>::get((custodian, epoch), index / LEAVES_PER_WORD)
                & Self::leaf_bit(index)
                != 0
        }

        fn leaf_bit(index: u32) -> u64 {
            1u64 << (index % LEAVES_PER_WORD)
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

        /// Everything `owner` has claimed (runtime API).
        pub fn claimed(owner: &T::AccountId) -> BalanceOf<T> {
            ClaimedBy::<T>::get(owner).unwrap_or_default()
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

            let pools = EpochPools::<T>::iter_values().try_fold(Zero::zero(), add);
            let mut roots_left: Option<BalanceOf<T>> = Some(Zero::zero());
            for (custodian, epoch, root) in PayoutRoots::<T>::iter() {
                ensure!(
                    root.claimed <= root.total,
                    "a root's claims exceed its total"
                );
                ensure!(
                    root.leaf_count > 0 && u64::from(root.leaf_count) <= Self::max_leaves(),
                    "a root's leaf count is out of range"
                );
                for (word, bits) in ClaimedLeaves::<T>::iter_prefix((&custodian, epoch)) {
                    let first = u64::from(word).saturating_mul(LEAVES_PER_WORD.into());
                    let highest = first.saturating_add(63 - u64::from(bits.leading_zeros()));
                    ensure!(bits != 0, "an empty ClaimedLeaves word is stored");
                    ensure!(
                        highest < u64::from(root.leaf_count),
                        "a claimed bit past the leaves"
                    );
                }
                let left = root.total.checked_sub(&root.claimed);
                roots_left = roots_left.and_then(|sum| left.and_then(|left| add(sum, left)));
            }
            for ((custodian, epoch, _), _) in PoolOrders::<T>::iter() {
                let parts = PoolOrders::<T>::iter_prefix_values((&custodian, epoch))
                    .try_fold(Zero::zero(), add);
                let whole = EpochPools::<T>::get(&custodian, epoch)
                    .or_else(|| PayoutRoots::<T>::get(&custodian, epoch).map(|root| root.total));
                ensure!(
                    whole.is_some() && parts == whole,
                    "a pool's orders do not sum to its pool or root total"
                );
            }
            for (custodian, epoch, _) in EpochPools::<T>::iter() {
                ensure!(
                    PoolOrders::<T>::iter_prefix((&custodian, epoch))
                        .next()
                        .is_some(),
                    "a pool without orders"
                );
            }
            for ((custodian, epoch), _, _) in ClaimedLeaves::<T>::iter() {
                ensure!(
                    PayoutRoots::<T>::contains_key(&custodian, epoch),
                    "claimed leaves without a root"
                );
            }
            let unclaimed = pools.and_then(|pools| roots_left.and_then(|left| add(pools, left)));
            ensure!(
                unclaimed.is_some() && unclaimed == totals.unclaimed(),
                "released != custodians + treasury + claimed + unclaimed owners' pools"
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
            let claimed = ClaimedBy::<T>::iter_values().try_fold(Zero::zero(), add);
            ensure!(
                claimed == Some(totals.claimed),
                "ClaimedBy does not sum to the claims"
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
