//! # Consent pallet
//!
//! What each patient allows to be done with their records. A consent has a scope (one record, a
//! category, all records), a purpose, a grantee (anyone, a registered class of buyers, one
//! buyer) and an optional expiry; the owner may revoke it at any time. A revocation stops future
//! sales only: a sale is judged at its own block, and [`ConsentCheck::consent_covers`] answers
//! for past blocks from this pallet's storage (not from old chain state, which nodes prune).
//!
//! ## Dispatchables
//! - [`Pallet::grant_consent`], [`Pallet::revoke_consent`]: by the owner; free (`feeless_if`)
//!   for patients (enrolled with a hospital, or owning records) when the call would succeed and
//!   the owner is within the rate limit (at most `MaxCallsPerWindow` free calls in any
//!   `RateLimitWindow` consecutive blocks: a sliding window), so patients need no tokens and
//!   cannot flood blocks.
//! - [`Pallet::prune_consent`]: anyone, once a consent ended `ClaimPeriod` blocks ago; frees the
//!   owner's slot, and forgets the owner's free calls that left the rate-limit window.
//! - [`Pallet::create_class`], [`Pallet::add_to_class`], [`Pallet::remove_from_class`]: the
//!   buyer-class registry, changed only by `ClassOrigin` (the consortium's vote).
//! - [`Pallet::prune_class_membership`]: anyone, once a membership ended `ClaimPeriod` blocks
//!   ago.
//!
//! ## Answering at past blocks
//! Each consent keeps `granted_at`, `expires_at` and `revoked_at`, and each class membership
//! `since` and `until`; both cover the half-open block range `[start, end)`. An owner's consents
//! sit in one bounded vector (`MaxConsentsPerOwner`), so a question costs one read of it plus at
//! most one membership read per class-grantee consent. If a buyer leaves a class and is added
//! again before the old membership was pruned, the old interval is forgotten: questions about
//! it then answer "not covered", the safe side.
//!
//! ## Invariants (checked by `try_state`)
//! - consent ids are unique and below `NextConsentId`; no owner keeps an empty vector;
//!   `expires_at > granted_at` and `revoked_at >= granted_at`;
//! - `ClassMemberCount[c]` equals the number of `ClassMembers[c, _]` entries, at most
//!   `MaxClassMembers`, and only registered classes have members;
//! - no owner's call counter exceeds `MaxCallsPerWindow`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use pallet_ownership::RecordId;
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

/// What the benchmarks need from the runtime.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
    /// Registers a record owned by `owner`, enrolling them if needed, and returns its id.
    fn owned_record(owner: &AccountId) -> RecordId;
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use alloc::vec::Vec;
    use frame_support::pallet_prelude::*;
    use frame_system::pallet_prelude::*;
    use pallet_ownership::{RecordId, RecordRegistry};
    use sp_runtime::traits::Saturating;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
        /// Who owns which record, and who is enrolled (pallet-ownership).
        type Registry: RecordRegistry<Self::AccountId>;

        /// May change the buyer-class registry (the consortium's two-thirds vote).
        type ClassOrigin: EnsureOrigin<Self::RuntimeOrigin>;

        /// Most consents (in force, or ended but not yet pruned) per owner.
        #[pallet::constant]
        type MaxConsentsPerOwner: Get<u32>;

        /// Most memberships (current, or ended but not yet pruned) per buyer class.
        #[pallet::constant]
        type MaxClassMembers: Get<u32>;

        /// Longest buyer-class name, in bytes.
        #[pallet::constant]
        type MaxClassNameLen: Get<u32>;

        /// How long after its end a consent or membership can still be asked about (a sale's
        /// delivery and disputes must fit in it); after that anyone may prune it.
        #[pallet::constant]
        type ClaimPeriod: Get<BlockNumberFor<Self>>;

        /// Length, in blocks, of the rate-limit window for grants and revocations.
        #[pallet::constant]
        type RateLimitWindow: Get<BlockNumberFor<Self>>;

        /// Most grants plus revocations per owner in one window.
        #[pallet::constant]
        type MaxCallsPerWindow: Get<u32>;

        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;

        /// Supplies owned records to the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
    }

    /// Each owner's consents, oldest first.
    #[pallet::storage]
    pub type Consents<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        BoundedVec<Consent<T::AccountId, BlockNumberFor<T>>, T::MaxConsentsPerOwner>,
        ValueQuery,
    >;

    /// The id the next consent gets.
    #[pallet::storage]
    pub type NextConsentId<T: Config> = StorageValue<_, ConsentId, ValueQuery>;

    /// Rate limit (a sliding window): per owner, the blocks of its recent free calls, oldest
    /// first; calls older than `RateLimitWindow` blocks are dropped at the owner's next free
    /// call or when one of its consents is pruned, and the whole log when the ownership pallet
    /// lets the patient's account go. At most `MaxCallsPerWindow` calls fit in any
    /// `RateLimitWindow` consecutive blocks, wherever they start.
    #[pallet::storage]
    pub type ConsentCalls<T: Config> = StorageMap<
        _,
        Blake2_128Concat,
        T::AccountId,
        BoundedVec<BlockNumberFor<T>, T::MaxCallsPerWindow>,
        ValueQuery,
    >;

    /// Registered buyer classes and their names.
    #[pallet::storage]
    pub type Classes<T: Config> =
        StorageMap<_, Twox64Concat, ClassId, BoundedVec<u8, T::MaxClassNameLen>, OptionQuery>;

    /// Class memberships, current and ended-but-not-pruned.
    #[pallet::storage]
    pub type ClassMembers<T: Config> = StorageDoubleMap<
        _,
        Twox64Concat,
        ClassId,
        Blake2_128Concat,
        T::AccountId,
        Membership<BlockNumberFor<T>>,
        OptionQuery,
    >;

    /// Number of `ClassMembers` entries per class.
    #[pallet::storage]
    pub type ClassMemberCount<T: Config> = StorageMap<_, Twox64Concat, ClassId, u32, ValueQuery>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// The owner granted a consent.
        ConsentGranted {
            owner: T::AccountId,
            consent: ConsentId,
            scope: Scope,
            purpose: Purpose,
            grantee: Grantee<T::AccountId>,
            expires_at: Option<BlockNumberFor<T>>,
        },
        /// A consent was revoked, by its owner or because the owner's account was let go
        /// (enrolled nowhere, no live record); it covers no block from now on.
        ConsentRevoked {
            owner: T::AccountId,
            consent: ConsentId,
        },
        /// An ended consent was forgotten after its claim period.
        ConsentPruned {
            owner: T::AccountId,
            consent: ConsentId,
        },
        /// A buyer class was registered.
        ClassCreated {
            class: ClassId,
            name: BoundedVec<u8, T::MaxClassNameLen>,
        },
        /// A buyer joined a class.
        ClassMemberAdded { class: ClassId, buyer: T::AccountId },
        /// A buyer left a class.
        ClassMemberRemoved { class: ClassId, buyer: T::AccountId },
        /// An ended membership was forgotten after its claim period.
        ClassMembershipPruned { class: ClassId, buyer: T::AccountId },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// No record with this id is registered.
        UnknownRecord,
        /// The record belongs to someone else.
        NotRecordOwner,
        /// No buyer class with this id.
        UnknownClass,
        /// The expiry block is not in the future.
        ExpiryInPast,
        /// The owner holds `MaxConsentsPerOwner` consents; prune ended ones first.
        TooManyConsents,
        /// The owner made `MaxCallsPerWindow` grants and revocations in this window already.
        RateLimited,
        /// The owner has no consent with this id.
        NoSuchConsent,
        /// The consent was already revoked or has expired.
        ConsentEnded,
        /// The consent or membership has not ended, or its claim period is still running.
        NotYetPrunable,
        /// A class with this id exists already.
        ClassExists,
        /// The buyer is a current member of the class.
        AlreadyClassMember,
        /// The buyer is not a current member of the class (or has no membership to prune).
        NotClassMember,
        /// The class has `MaxClassMembers` memberships; prune ended ones first.
        ClassFull,
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
        /// Grant a consent over the signer's own records.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::grant_consent())]
        #[pallet::feeless_if(|origin: &OriginFor<T>, scope: &Scope, _purpose: &Purpose,
			grantee: &Grantee<T::AccountId>, expires_at: &Option<BlockNumberFor<T>>| -> bool {
			Pallet::<T>::is_free_for(origin, |owner| {
				Pallet::<T>::ensure_can_grant(owner, scope, grantee, *expires_at)
			})
		})]
        pub fn grant_consent(
            origin: OriginFor<T>,
            scope: Scope,
            purpose: Purpose,
            grantee: Grantee<T::AccountId>,
            expires_at: Option<BlockNumberFor<T>>,
        ) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            Self::ensure_can_grant(&owner, &scope, &grantee, expires_at)?;

            let id = NextConsentId::<T>::get();
            let consent = Consent {
                id,
                scope,
                purpose,
                grantee: grantee.clone(),
                granted_at: frame_system::Pallet::<T>::block_number(),
                expires_at,
                revoked_at: None,
            };
            Consents::<T>::try_mutate(&owner, |consents| consents.try_push(consent))
                .map_err(|_| Error::<T>::TooManyConsents)?;
            NextConsentId::<T>::put(id.saturating_add(1));
            Self::count_call(&owner);
            Self::deposit_event(Event::ConsentGranted {
                owner,
                consent: id,
                scope,
                purpose,
                grantee,
                expires_at,
            });
            Ok(())
        }

        /// Revoke one of the signer's consents: it covers no block from this one on. Sales
        /// judged at earlier blocks stand.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::revoke_consent())]
        #[pallet::feeless_if(|origin: &OriginFor<T>, consent: &ConsentId| -> bool {
			Pallet::<T>::is_free_for(origin, |owner| {
				Pallet::<T>::ensure_can_revoke(owner, *consent).map(|_| ())
			})
		})]
        pub fn revoke_consent(origin: OriginFor<T>, consent: ConsentId) -> DispatchResult {
            let owner = ensure_signed(origin)?;
            let index = Self::ensure_can_revoke(&owner, consent)?;

            let now = frame_system::Pallet::<T>::block_number();
            Consents::<T>::mutate(&owner, |consents| {
                if let Some(entry) = consents.get_mut(index) {
                    entry.revoked_at = Some(now);
                }
            });
            Self::count_call(&owner);
            Self::deposit_event(Event::ConsentRevoked { owner, consent });
            Ok(())
        }

        /// Forget a consent that ended at least `ClaimPeriod` blocks ago. Anyone may call it.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::prune_consent())]
        pub fn prune_consent(
            origin: OriginFor<T>,
            owner: T::AccountId,
            consent: ConsentId,
        ) -> DispatchResult {
            ensure_signed(origin)?;
            let mut consents = Consents::<T>::get(&owner);
            let ended_at = consents
                .iter()
                .find(|entry| entry.id == consent)
                .ok_or(Error::<T>::NoSuchConsent)?
                .ends_at();
            ensure!(
                Self::claim_period_over(ended_at),
                Error::<T>::NotYetPrunable
            );

            consents.retain(|entry| entry.id != consent);
            if consents.is_empty() {
                Consents::<T>::remove(&owner);
            } else {
                Consents::<T>::insert(&owner, consents);
            }
            Self::forget_old_calls(&owner);
            Self::deposit_event(Event::ConsentPruned { owner, consent });
            Ok(())
        }

        /// Register a buyer class.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::create_class())]
        pub fn create_class(
            origin: OriginFor<T>,
            class: ClassId,
            name: BoundedVec<u8, T::MaxClassNameLen>,
        ) -> DispatchResult {
            T::ClassOrigin::ensure_origin(origin)?;
            ensure!(!Classes::<T>::contains_key(class), Error::<T>::ClassExists);

            Classes::<T>::insert(class, name.clone());
            Self::deposit_event(Event::ClassCreated { class, name });
            Ok(())
        }

        /// Add a buyer to a class, from this block on.
        #[pallet::call_index(4)]
        #[pallet::weight(T::WeightInfo::add_to_class())]
        pub fn add_to_class(
            origin: OriginFor<T>,
            class: ClassId,
            buyer: T::AccountId,
        ) -> DispatchResult {
            T::ClassOrigin::ensure_origin(origin)?;
            ensure!(Classes::<T>::contains_key(class), Error::<T>::UnknownClass);
            let previous = ClassMembers::<T>::get(class, &buyer);
            match previous {
                Some(Membership { until: None, .. }) => {
                    return Err(Error::<T>::AlreadyClassMember.into())
                }
                // Re-joining reuses the ended membership's slot (see the module docs).
                Some(Membership { until: Some(_), .. }) => {}
                None => ensure!(
                    ClassMemberCount::<T>::get(class) < T::MaxClassMembers::get(),
                    Error::<T>::ClassFull
                ),
            }

            let since = frame_system::Pallet::<T>::block_number();
            ClassMembers::<T>::insert(class, &buyer, Membership { since, until: None });
            if previous.is_none() {
                ClassMemberCount::<T>::mutate(class, |count| *count = count.saturating_add(1));
            }
            Self::deposit_event(Event::ClassMemberAdded { class, buyer });
            Ok(())
        }

        /// Remove a buyer from a class: not a member from this block on.
        #[pallet::call_index(5)]
        #[pallet::weight(T::WeightInfo::remove_from_class())]
        pub fn remove_from_class(
            origin: OriginFor<T>,
            class: ClassId,
            buyer: T::AccountId,
        ) -> DispatchResult {
            T::ClassOrigin::ensure_origin(origin)?;
            let mut membership = ClassMembers::<T>::get(class, &buyer)
                .filter(|membership| membership.until.is_none())
                .ok_or(Error::<T>::NotClassMember)?;

            membership.until = Some(frame_system::Pallet::<T>::block_number());
            ClassMembers::<T>::insert(class, &buyer, membership);
            Self::deposit_event(Event::ClassMemberRemoved { class, buyer });
            Ok(())
        }

        /// Forget a class membership that ended at least `ClaimPeriod` blocks ago. Anyone may
        /// call it.
        #[pallet::call_index(6)]
        #[pallet::weight(T::WeightInfo::prune_class_membership())]
        pub fn prune_class_membership(
            origin: OriginFor<T>,
            class: ClassId,
            buyer: T::AccountId,
        ) -> DispatchResult {
            ensure_signed(origin)?;
            let membership =
                ClassMembers::<T>::get(class, &buyer).ok_or(Error::<T>::NotClassMember)?;
            ensure!(
                Self::claim_period_over(membership.until),
                Error::<T>::NotYetPrunable
            );

            ClassMembers::<T>::remove(class, &buyer);
            ClassMemberCount::<T>::mutate_exists(class, pallet_ownership::decrement_count);
            Self::deposit_event(Event::ClassMembershipPruned { class, buyer });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// The checks of [`Pallet::grant_consent`], shared with its `feeless_if` condition.
        pub fn ensure_can_grant(
            owner: &T::AccountId,
            scope: &Scope,
            grantee: &Grantee<T::AccountId>,
            expires_at: Option<BlockNumberFor<T>>,
        ) -> Result<(), Error<T>> {
            Self::ensure_within_rate_limit(owner)?;
            if let Scope::Record(record) = scope {
                let view = T::Registry::record(record).ok_or(Error::<T>::UnknownRecord)?;
                ensure!(&view.owner == owner, Error::<T>::NotRecordOwner);
            }
            if let Grantee::Class(class) = grantee {
                ensure!(Classes::<T>::contains_key(class), Error::<T>::UnknownClass);
            }
            if let Some(expiry) = expires_at {
                ensure!(
                    expiry > frame_system::Pallet::<T>::block_number(),
                    Error::<T>::ExpiryInPast
                );
            }
            ensure!(
                Consents::<T>::decode_len(owner).unwrap_or(0)
                    < T::MaxConsentsPerOwner::get() as usize,
                Error::<T>::TooManyConsents
            );
            Ok(())
        }

        /// The checks of [`Pallet::revoke_consent`], shared with its `feeless_if` condition;
        /// returns the consent's position in the owner's vector.
        pub fn ensure_can_revoke(
            owner: &T::AccountId,
            consent: ConsentId,
        ) -> Result<usize, Error<T>> {
            Self::ensure_within_rate_limit(owner)?;
            let consents = Consents::<T>::get(owner);
            let index = consents
                .iter()
                .position(|entry| entry.id == consent)
                .ok_or(Error::<T>::NoSuchConsent)?;
            let now = frame_system::Pallet::<T>::block_number();
            let in_force = consents
                .get(index)
                .map_or(false, |entry| entry.in_force_at(now));
            ensure!(in_force, Error::<T>::ConsentEnded);
            Ok(index)
        }

        /// A consent call is free for a signed patient (enrolled, or owning records) when it
        /// would succeed (which
        /// includes being within the rate limit): spam is then paid for, and patients hold
        /// no tokens, so it is not even included.
        fn is_free_for(
            origin: &OriginFor<T>,
            would_succeed: impl FnOnce(&T::AccountId) -> Result<(), Error<T>>,
        ) -> bool {
            ensure_signed(origin.clone()).map_or(false, |owner| {
                T::Registry::is_patient(&owner) && would_succeed(&owner).is_ok()
            })
        }

        /// Whether a free call made at `block` is still in the window ending now.
        fn in_window(block: BlockNumberFor<T>) -> bool {
            let now = frame_system::Pallet::<T>::block_number();
            block.saturating_add(T::RateLimitWindow::get()) > now
        }

        /// Free calls the owner made in the last `RateLimitWindow` blocks (this one included).
        pub fn calls_in_window(owner: &T::AccountId) -> u32 {
            ConsentCalls::<T>::get(owner)
                .iter()
                .filter(|block| Self::in_window(**block))
                .count() as u32
        }

        fn ensure_within_rate_limit(owner: &T::AccountId) -> Result<(), Error<T>> {
            ensure!(
                <Self as medledger_primitives::FreeCalls<T::AccountId>>::has_free_call(owner),
                Error::<T>::RateLimited
            );
            Ok(())
        }

        /// Logs a free call now, forgetting the calls that left the window.
        fn count_call(owner: &T::AccountId) {
            let now = frame_system::Pallet::<T>::block_number();
            ConsentCalls::<T>::mutate_exists(owner, |log| {
                let mut recent = log.take().unwrap_or_default();
                recent.retain(|block| Self::in_window(*block));
                // Full only if the caller did not check `has_free_call` first: not logged.
                let _ = recent.try_push(now);
                *log = (!recent.is_empty()).then_some(recent);
            });
        }

        /// Drops the owner's logged free calls that left the window, and the log when none is
        /// left, so an owner who stopped calling leaves no entry behind.
        fn forget_old_calls(owner: &T::AccountId) {
            ConsentCalls::<T>::mutate_exists(owner, |log| {
                if let Some(recent) = log.as_mut() {
                    recent.retain(|block| Self::in_window(*block));
                    if recent.is_empty() {
                        *log = None;
                    }
                }
            });
        }

        /// Whether an interval that ended at `ended_at` is past its claim period now.
        fn claim_period_over(ended_at: Option<BlockNumberFor<T>>) -> bool {
            crate::types::prunable(
                ended_at,
                T::ClaimPeriod::get(),
                frame_system::Pallet::<T>::block_number(),
            )
        }

        /// The owner's consents, for the runtime API.
        pub fn consents_of(owner: &T::AccountId) -> Vec<Consent<T::AccountId, BlockNumberFor<T>>> {
            Consents::<T>::get(owner).into_inner()
        }

        /// Whether `buyer` was a member of `class` during block `at`.
        pub fn was_class_member(
            class: ClassId,
            buyer: &T::AccountId,
            at: BlockNumberFor<T>,
        ) -> bool {
            ClassMembers::<T>::get(class, buyer)
                .map_or(false, |membership| membership.member_at(at))
        }

        #[cfg(any(feature = "try-runtime", test))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            use alloc::collections::btree_set::BTreeSet;
            use pallet_ownership::CountProblem;

            let next_id = NextConsentId::<T>::get();
            let mut ids = BTreeSet::new();
            for (_, consents) in Consents::<T>::iter() {
                ensure!(
                    !consents.is_empty(),
                    "an owner keeps an empty consent vector"
                );
                for consent in consents {
                    ensure!(consent.id < next_id, "consent id not below NextConsentId");
                    ensure!(ids.insert(consent.id), "consent id used twice");
                    ensure!(
                        consent
                            .expires_at
                            .map_or(true, |expiry| expiry > consent.granted_at),
                        "consent expires before it is granted"
                    );
                    ensure!(
                        consent
                            .revoked_at
                            .map_or(true, |revoked| revoked >= consent.granted_at),
                        "consent revoked before it is granted"
                    );
                }
            }

            pallet_ownership::check_counts(
                ClassMemberCount::<T>::iter(),
                T::MaxClassMembers::get(),
                |class| ClassMembers::<T>::iter_prefix(class).count(),
            )
            .map_err(|problem| match problem {
                CountProblem::Zero => "ClassMemberCount keeps a zero entry",
                CountProblem::OverLimit => "class over MaxClassMembers",
                CountProblem::Mismatch => "ClassMemberCount differs from ClassMembers",
            })?;
            for (class, _, membership) in ClassMembers::<T>::iter() {
                ensure!(
                    Classes::<T>::contains_key(class),
                    "member of an unregistered class"
                );
                ensure!(
                    ClassMemberCount::<T>::contains_key(class),
                    "member without a count"
                );
                ensure!(
                    membership
                        .until
                        .map_or(true, |until| until >= membership.since),
                    "membership ends before it starts"
                );
            }

            let now = frame_system::Pallet::<T>::block_number();
            for (_, log) in ConsentCalls::<T>::iter() {
                ensure!(!log.is_empty(), "an empty call log is kept");
                ensure!(
                    log.windows(2).all(|pair| pair[0] <= pair[1]) && log.iter().all(|b| *b <= now),
                    "call log out of order or in the future"
                );
            }
            Ok(())
        }
    }

    /// A released patient's account does not exist: it can make no call until a hospital
    /// enrols it again, so its call log goes. Its consents in force end now (revoked at this
    /// block, `ConsentRevoked`): it has no live record for them to cover, and a consent given
    /// before must not cover records of a later enrolment. They stay, answering for past blocks,
    /// until pruned after `ClaimPeriod`.
    impl<T: Config> medledger_primitives::OnPatientReleased<T::AccountId> for Pallet<T> {
        fn on_patient_released(who: &T::AccountId) {
            ConsentCalls::<T>::remove(who);
            let now = frame_system::Pallet::<T>::block_number();
            let mut ended = Vec::new();
            Consents::<T>::mutate_exists(who, |consents| {
                for entry in consents.iter_mut().flat_map(|consents| consents.iter_mut()) {
                    if entry.ends_at().map_or(true, |end| end > now) {
                        entry.revoked_at = Some(now);
                        ended.push(entry.id);
                    }
                }
            });
            for consent in ended {
                Self::deposit_event(Event::ConsentRevoked {
                    owner: who.clone(),
                    consent,
                });
            }
        }

        fn weight() -> Weight {
            T::WeightInfo::on_patient_released()
        }
    }

    /// The patients' one budget of free calls: consent grants and revocations count against
    /// it (and are refused beyond it), and so do other pallets' free calls (revenue claims).

    impl<T: Config> medledger_primitives::FreeCalls<T::AccountId> for Pallet<T> {
        fn has_free_call(who: &T::AccountId) -> bool {
            Self::calls_in_window(who) < T::MaxCallsPerWindow::get()
        }

        fn use_free_call(who: &T::AccountId) {
            if Self::has_free_call(who) {
                Self::count_call(who);
            }
        }
    }

    impl<T: Config> ConsentCheck<T::AccountId, BlockNumberFor<T>> for Pallet<T> {
        fn consent_covers(
            owner: &T::AccountId,
            record: &RecordId,
            purpose: Purpose,
            buyer: &T::AccountId,
            at: BlockNumberFor<T>,
        ) -> ConsentAnswer {
            let mut categories = Vec::new();
            for consent in Consents::<T>::get(owner) {
                if consent.purpose != purpose || !consent.in_force_at(at) {
                    continue;
                }
                let grantee_matches = match &consent.grantee {
                    Grantee::Anyone => true,
                    Grantee::Account(account) => account == buyer,
                    Grantee::Class(class) => Self::was_class_member(*class, buyer, at),
                };
                if !grantee_matches {
                    continue;
                }
                match consent.scope {
                    Scope::All => {
                        return ConsentAnswer::Covered {
                            consent: consent.id,
                        }
                    }
                    Scope::Record(id) if id == *record => {
                        return ConsentAnswer::Covered {
                            consent: consent.id,
                        }
                    }
                    Scope::Record(_) => {}
                    Scope::Category(category) => categories.push((consent.id, category)),
                }
            }
            if categories.is_empty() {
                ConsentAnswer::NotCovered
            } else {
                ConsentAnswer::CoveredIfInCategory { categories }
            }
        }

        fn consent_covers_weight() -> Weight {
            T::WeightInfo::consent_covers()
        }
    }
}
