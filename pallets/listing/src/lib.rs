//! # Listing pallet
//!
//! The catalogue of datasets hospitals sell. A member hospital (the *custodian*) lists a
//! dataset with a public description (machine-readable filter: category codes and time range;
//! a summary in words; purpose; terms document hash) and a price (per record or flat, with a
//! maximum record count); it may update the listing, which bumps its version, and close it.
//!
//! ## Storage deposit
//! A listing holds a deposit from its custodian (`ListingDepositBase` plus
//! `ListingDepositPerByte` per byte of its encoded description) for as long as it is stored, so
//! the catalogue cannot grow for free. Closing returns it at once, or, while orders on the
//! listing still await delivery (the custodian's node reads the listing's filter to deliver),
//! when the last of them is delivered, declined or refunded; the listing is then removed.
//!
//! Why listing and escrow are two pallets: a listing is the custodian's public offer and
//! changes only by the custodian; an order is the buyer's money and changes by buyer,
//! custodian, time and vote. Keeping them apart keeps each state machine small. Escrow owns
//! the orders (`buy` lives there) and reads listings through [`ListingRegistry`], which this
//! pallet implements; the buyer passes the version it saw, so a custodian cannot change the
//! terms between the buyer's look and its purchase (no front-running).
//!
//! ## Dispatchables
//! - [`Pallet::create_listing`]: a member custodian lists a dataset (version 1, active).
//! - [`Pallet::update_listing`]: the custodian replaces description and price; version + 1.
//! - [`Pallet::close_listing`]: the custodian closes it for good; open orders are unaffected.
//!   Allowed after the custodian left the consortium.
//!
//! ## Invariants (`try_state`)
//! - Every listing id is below `NextListingId`; every version is at least 1.
//! - Every listing has an ordered time range, a non-zero price and record limit, and a
//!   maximum cost that does not overflow.
//! - `ActiveListingCount` equals the number of active listings.
//! - Every stored listing is active or awaits a delivery, and each custodian's held listing
//!   deposits add up to its stored listings' deposits. (A deposit is what the description
//!   required when it was created or last updated; later changes of the rates do not change
//!   it.)

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

/// Read access to listings for the escrow pallet.
pub trait ListingRegistry<AccountId, Balance> {
    /// An order is placed on listing `id`: keep the listing stored until that order is
    /// delivered, and return the terms it is placed under (`None` if there is no listing; a
    /// closed one answers `active == false`).
    /// The caller checks the terms and fails its call if they refuse the order, which undoes
    /// this. One read and one write of the listing serve both.
    fn order_placed(id: ListingId) -> Option<ListingTerms<AccountId, Balance>>;

    /// An order on listing `id` was delivered, declined or refunded: a closed listing with no
    /// more orders awaiting delivery is removed and its deposit returned.
    fn delivery_ended(id: ListingId);

    /// Create an active listing for benchmarks of pallets that sell from listings.
    #[cfg(feature = "runtime-benchmarks")]
    fn create_benchmark_listing(custodian: AccountId, pricing: Pricing<Balance>) -> ListingId;
}

/// Benchmark setup the runtime provides: this pallet cannot make a custodian by itself.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
    /// Make `who` a member custodian (so that `T::Custodians` contains it).
    fn make_custodian(who: &AccountId);
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::pallet_prelude::*;
    use frame_support::traits::{
        fungible::{InspectHold, Mutate, MutateHold},
        tokens::Precision,
        Contains,
    };
    use frame_system::pallet_prelude::*;
    use sp_runtime::traits::{AtLeast32BitUnsigned, Saturating, Zero};

    /// A listing as stored for runtime `T`.
    pub type ListingOf<T> = Listing<
        <T as frame_system::Config>::AccountId,
        <T as Config>::Balance,
        <T as Config>::MaxFilterSummaryLen,
    >;
    /// A listing description as passed to the calls of runtime `T`.
    pub type DescriptionOf<T> = ListingDescription<<T as Config>::MaxFilterSummaryLen>;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    /// Why this pallet holds funds.
    #[pallet::composite_enum]
    pub enum HoldReason {
        /// A listing's storage deposit, held from its custodian while the listing is stored.
        ListingDeposit,
    }

    #[pallet::config]
    pub trait Config: frame_system::Config {
        /// The consortium's current member hospitals: only they may list.
        type Custodians: Contains<Self::AccountId>;
        /// The currency amount prices are quoted in (the runtime's balance type).
        type Balance: Parameter + Member + AtLeast32BitUnsigned + MaxEncodedLen + Copy + From<u32>;
        /// The runtime's hold reasons, which include this pallet's.
        type RuntimeHoldReason: From<HoldReason>;
        /// Holds the listings' deposits.
        type Currency: Mutate<Self::AccountId, Balance = Self::Balance>
            + MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
        /// Deposit per listing.
        #[pallet::constant]
        type ListingDepositBase: Get<Self::Balance>;
        /// Further deposit per byte of the listing's encoded description.
        #[pallet::constant]
        type ListingDepositPerByte: Get<Self::Balance>;
        /// Longest filter summary, in bytes.
        #[pallet::constant]
        type MaxFilterSummaryLen: Get<u32>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
        /// Makes custodians for the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
    }

    /// Active listings, and closed ones whose orders still await delivery.
    #[pallet::storage]
    pub type Listings<T: Config> = StorageMap<_, Blake2_128Concat, ListingId, ListingOf<T>>;

    /// The id the next listing gets.
    #[pallet::storage]
    pub type NextListingId<T: Config> = StorageValue<_, ListingId, ValueQuery>;

    /// How many listings are active (for monitoring, and checked in `try_state`).
    #[pallet::storage]
    pub type ActiveListingCount<T: Config> = StorageValue<_, u32, ValueQuery>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A custodian listed a dataset.
        ListingCreated {
            listing: ListingId,
            custodian: T::AccountId,
            description: DescriptionOf<T>,
            pricing: Pricing<T::Balance>,
            deposit: T::Balance,
        },
        /// A custodian changed a listing; buyers must agree to `version` now.
        ListingUpdated {
            listing: ListingId,
            version: u32,
            description: DescriptionOf<T>,
            pricing: Pricing<T::Balance>,
            deposit: T::Balance,
        },
        /// A custodian closed a listing.
        ListingClosed { listing: ListingId },
        /// A closed listing with no order awaiting delivery was removed; its deposit went
        /// back to the custodian.
        ListingRemoved {
            listing: ListingId,
            custodian: T::AccountId,
            deposit: T::Balance,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// Only a current member hospital may list or update.
        NotCustodian,
        /// No listing has this id.
        UnknownListing,
        /// Only the listing's custodian may change it.
        NotListingCustodian,
        /// The listing is closed.
        ListingClosed,
        /// The time range ends before it starts.
        InvalidTimeRange,
        /// A category code is empty or has characters other than `a-z 0-9 : . _ -`.
        InvalidCategory,
        /// Category codes must be sorted and unique.
        CategoriesNotSorted,
        /// The price (per record or flat) is zero.
        ZeroPrice,
        /// A sale must deliver at least one record.
        ZeroMaxRecords,
        /// Price per record times the maximum record count overflows the balance type.
        PriceOverflow,
        /// The listing has been updated too many times (version counter exhausted).
        VersionOverflow,
        /// Listing ids are exhausted.
        ListingIdOverflow,
        /// The custodian cannot hold the listing's storage deposit.
        CannotHoldDeposit,
        /// Orders on this listing await delivery, and the node delivers them by its
        /// description: until they end only the price may change (or close it and list anew).
        DescriptionInUse,
    }

    #[pallet::hooks]
    impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
        #[cfg(feature = "try-runtime")]
        fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
            Self::do_try_state()
        }
    }

    #[pallet::call]
    impl<T: Config> Pallet<T> {
        /// List a dataset. The caller must be a member hospital; the listing starts active at
        /// version 1.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::create_listing(description.filter_summary.len() as u32))]
        pub fn create_listing(
            origin: OriginFor<T>,
            description: DescriptionOf<T>,
            pricing: Pricing<T::Balance>,
        ) -> DispatchResult {
            let custodian = ensure_signed(origin)?;
            ensure!(
                T::Custodians::contains(&custodian),
                Error::<T>::NotCustodian
            );
            Self::ensure_valid_offer(&description, &pricing)?;
            let listing = NextListingId::<T>::get();
            let next = listing
                .checked_add(1)
                .ok_or(Error::<T>::ListingIdOverflow)?;
            let active_count = ActiveListingCount::<T>::get().saturating_add(1);
            let deposit = Self::deposit_for(&description);
            Self::hold_deposit(&custodian, deposit)?;

            NextListingId::<T>::put(next);
            ActiveListingCount::<T>::put(active_count);
            Listings::<T>::insert(
                listing,
                Listing {
                    custodian: custodian.clone(),
                    description: description.clone(),
                    pricing,
                    active: true,
                    version: 1,
                    deposit,
                    awaiting_delivery: 0,
                },
            );
            Self::deposit_event(Event::ListingCreated {
                listing,
                custodian,
                description,
                pricing,
                deposit,
            });
            Ok(())
        }

        /// Replace a listing's description and price. Bumps the version, so purchases made
        /// against the old version fail rather than pay the new price. While orders await
        /// delivery the description stays as it is (the custodian's node delivers them by it):
        /// only the price may change.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::update_listing(description.filter_summary.len() as u32))]
        pub fn update_listing(
            origin: OriginFor<T>,
            listing: ListingId,
            description: DescriptionOf<T>,
            pricing: Pricing<T::Balance>,
        ) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut stored = Self::own_active_listing(&who, listing)?;
            ensure!(T::Custodians::contains(&who), Error::<T>::NotCustodian);
            Self::ensure_valid_offer(&description, &pricing)?;
            ensure!(
                stored.awaiting_delivery == 0 || description == stored.description,
                Error::<T>::DescriptionInUse
            );
            let version = stored
                .version
                .checked_add(1)
                .ok_or(Error::<T>::VersionOverflow)?;
            let deposit = Self::deposit_for(&description);
            if deposit > stored.deposit {
                Self::hold_deposit(&who, deposit.saturating_sub(stored.deposit))?;
            } else {
                Self::release_deposit(&who, stored.deposit.saturating_sub(deposit));
            }

            stored.description = description.clone();
            stored.pricing = pricing;
            stored.version = version;
            stored.deposit = deposit;
            Listings::<T>::insert(listing, stored);
            Self::deposit_event(Event::ListingUpdated {
                listing,
                version,
                description,
                pricing,
                deposit,
            });
            Ok(())
        }

        /// Close a listing for good. Allowed for a hospital that has left the consortium too,
        /// so it can withdraw its offers. The listing is removed and its deposit returned now,
        /// or when the last of its orders awaiting delivery is delivered, declined or refunded.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::close_listing())]
        pub fn close_listing(origin: OriginFor<T>, listing: ListingId) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let mut stored = Self::own_active_listing(&who, listing)?;

            stored.active = false;
            ActiveListingCount::<T>::mutate(|count| *count = count.saturating_sub(1));
            Self::deposit_event(Event::ListingClosed { listing });
            Self::store_or_remove(listing, stored);
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The storage deposit a listing with `description` holds.
        pub fn deposit_for(description: &DescriptionOf<T>) -> T::Balance {
            let bytes = T::Balance::from(description.encoded_size() as u32);
            T::ListingDepositBase::get()
                .saturating_add(T::ListingDepositPerByte::get().saturating_mul(bytes))
        }

        fn hold_deposit(custodian: &T::AccountId, amount: T::Balance) -> DispatchResult {
            if amount.is_zero() {
                return Ok(());
            }
            T::Currency::hold(&HoldReason::ListingDeposit.into(), custodian, amount)
                .map_err(|_| Error::<T>::CannotHoldDeposit.into())
        }

        fn release_deposit(custodian: &T::AccountId, amount: T::Balance) {
            // Best effort: the hold is this pallet's own, so it holds at least `amount`.
            let _ = T::Currency::release(
                &HoldReason::ListingDeposit.into(),
                custodian,
                amount,
                Precision::BestEffort,
            );
        }

        /// Store `stored` as listing `id`, unless it is closed with no order awaiting
        /// delivery: then remove it and return its deposit.
        fn store_or_remove(id: ListingId, stored: ListingOf<T>) {
            if stored.active || stored.awaiting_delivery > 0 {
                Listings::<T>::insert(id, stored);
                return;
            }
            Listings::<T>::remove(id);
            Self::release_deposit(&stored.custodian, stored.deposit);
            Self::deposit_event(Event::ListingRemoved {
                listing: id,
                custodian: stored.custodian,
                deposit: stored.deposit,
            });
        }

        /// The stored listing, if it exists, belongs to `who` and is still active.
        fn own_active_listing(
            who: &T::AccountId,
            listing: ListingId,
        ) -> Result<ListingOf<T>, DispatchError> {
            let stored = Listings::<T>::get(listing).ok_or(Error::<T>::UnknownListing)?;
            ensure!(&stored.custodian == who, Error::<T>::NotListingCustodian);
            ensure!(stored.active, Error::<T>::ListingClosed);
            Ok(stored)
        }

        /// Description and price are well formed and the maximum cost is representable.
        fn ensure_valid_offer(
            description: &DescriptionOf<T>,
            pricing: &Pricing<T::Balance>,
        ) -> DispatchResult {
            ensure!(
                description.time_range.is_ordered(),
                Error::<T>::InvalidTimeRange
            );
            ensure!(
                description
                    .categories
                    .iter()
                    .all(|code| is_valid_category_code(code)),
                Error::<T>::InvalidCategory
            );
            ensure!(
                description
                    .categories
                    .windows(2)
                    .all(|pair| pair[0] < pair[1]),
                Error::<T>::CategoriesNotSorted
            );
            ensure!(pricing.has_price(), Error::<T>::ZeroPrice);
            ensure!(pricing.max_records > 0, Error::<T>::ZeroMaxRecords);
            ensure!(pricing.max_cost().is_some(), Error::<T>::PriceOverflow);
            Ok(())
        }

        /// Check the invariants listed in the crate documentation.
        #[cfg(any(feature = "try-runtime", feature = "std"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            let next = NextListingId::<T>::get();
            let mut active = 0u32;
            let mut deposits = alloc::collections::BTreeMap::<T::AccountId, T::Balance>::new();
            for (id, listing) in Listings::<T>::iter() {
                ensure!(id < next, "a listing id is not below NextListingId");
                ensure!(listing.version >= 1, "a listing has version 0");
                ensure!(
                    listing.active || listing.awaiting_delivery > 0,
                    "a closed listing with no order awaiting delivery is still stored"
                );
                let held = deposits
                    .entry(listing.custodian.clone())
                    .or_insert(Zero::zero());
                *held = held.saturating_add(listing.deposit);
                ensure!(
                    Self::ensure_valid_offer(&listing.description, &listing.pricing).is_ok(),
                    "a stored listing is not a valid offer"
                );
                if listing.active {
                    active = active.saturating_add(1);
                }
            }
            ensure!(
                active == ActiveListingCount::<T>::get(),
                "ActiveListingCount is off"
            );
            let reason = HoldReason::ListingDeposit.into();
            for (custodian, held) in deposits {
                ensure!(
                    T::Currency::balance_on_hold(&reason, &custodian) == held,
                    "a custodian's held listing deposits differ from its listings' deposits"
                );
            }
            Ok(())
        }
    }

    impl<T: Config> ListingRegistry<T::AccountId, T::Balance> for Pallet<T> {
        fn order_placed(id: ListingId) -> Option<ListingTerms<T::AccountId, T::Balance>> {
            let mut listing = Listings::<T>::get(id)?;
            listing.awaiting_delivery = listing.awaiting_delivery.saturating_add(1);
            let terms = listing.terms();
            Listings::<T>::insert(id, listing);
            Some(terms)
        }

        fn delivery_ended(id: ListingId) {
            if let Some(mut listing) = Listings::<T>::get(id) {
                listing.awaiting_delivery = listing.awaiting_delivery.saturating_sub(1);
                Self::store_or_remove(id, listing);
            }
        }

        #[cfg(feature = "runtime-benchmarks")]
        fn create_benchmark_listing(
            custodian: T::AccountId,
            pricing: Pricing<T::Balance>,
        ) -> ListingId {
            let description = ListingDescription {
                filter_summary: BoundedVec::new(),
                categories: BoundedVec::new(),
                time_range: TimeRange { from: 0, until: 0 },
                purpose: Purpose::Research,
                terms_hash: Default::default(),
            };
            let deposit = Self::deposit_for(&description);
            let minted = T::Currency::mint_into(
                &custodian,
                deposit.saturating_add(<T::Currency as frame_support::traits::fungible::Inspect<
                    T::AccountId,
                >>::minimum_balance()),
            );
            let held = Self::hold_deposit(&custodian, deposit);
            assert!(
                minted.is_ok() && held.is_ok(),
                "the benchmark custodian holds the deposit"
            );
            let listing = NextListingId::<T>::get();
            NextListingId::<T>::put(listing.saturating_add(1));
            ActiveListingCount::<T>::mutate(|count| *count = count.saturating_add(1));
            Listings::<T>::insert(
                listing,
                Listing {
                    custodian,
                    description,
                    pricing,
                    active: true,
                    version: 1,
                    deposit,
                    awaiting_delivery: 0,
                },
            );
            listing
        }
    }
}
