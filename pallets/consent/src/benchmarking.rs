//! Benchmarks of `pallet-consent`, each at its worst case: the owner's consent vector full, the
//! consent question scanning consents that all name a class.

use super::*;
use crate::Pallet as ConsentPallet;
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{EnsureOrigin, Get},
    BoundedVec,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use sp_runtime::traits::Saturating;

fn assert_last_event<T: Config>(event: Event<T>) {
    frame_system::Pallet::<T>::assert_last_event(event.into());
}

fn class_origin<T: Config>() -> T::RuntimeOrigin {
    T::ClassOrigin::try_successful_origin().expect("the class origin can be produced")
}

/// A registered class with `buyer` as a member since block 0.
fn class_with<T: Config>(class: ClassId, buyer: &T::AccountId) {
    let name = BoundedVec::truncate_from(alloc::vec![b'x'; T::MaxClassNameLen::get() as usize]);
    Classes::<T>::insert(class, name);
    ClassMembers::<T>::insert(
        class,
        buyer,
        Membership {
            since: 0u32.into(),
            until: None,
        },
    );
    ClassMemberCount::<T>::mutate(class, |count| *count = count.saturating_add(1));
}

/// Category tag number `index` (`from_low_u64_be` needs std).
fn category(index: u32) -> CategoryTag {
    let mut tag = [0u8; 32];
    tag[28..].copy_from_slice(&index.to_be_bytes());
    CategoryTag::from(tag)
}

/// Fills the owner's vector with `count` consents, each to its own class, all in force.
fn consents<T: Config>(owner: &T::AccountId, buyer: &T::AccountId, count: u32) {
    let now = frame_system::Pallet::<T>::block_number();
    let mut vector = Consents::<T>::get(owner);
    for index in 0..count {
        class_with::<T>(index, buyer);
        let id = NextConsentId::<T>::get();
        let consent = Consent {
            id,
            scope: Scope::Category(category(index)),
            purpose: Purpose::Research,
            grantee: Grantee::Class(index),
            granted_at: now,
            expires_at: None,
            revoked_at: None,
        };
        vector
            .try_push(consent)
            .expect("count is within MaxConsentsPerOwner");
        NextConsentId::<T>::put(id.saturating_add(1));
    }
    Consents::<T>::insert(owner, vector);
}

#[benchmarks]
mod benchmarks {
    use super::*;

    /// A record-scoped grant to a class, with one free slot left.
    #[benchmark]
    fn grant_consent() {
        let owner: T::AccountId = whitelisted_caller();
        let buyer: T::AccountId = account("buyer", 0, 0);
        let record = T::BenchmarkHelper::owned_record(&owner);
        consents::<T>(
            &owner,
            &buyer,
            T::MaxConsentsPerOwner::get().saturating_sub(1),
        );
        let class = T::MaxConsentsPerOwner::get();
        class_with::<T>(class, &buyer);
        let expires_at: BlockNumberFor<T> = 1_000u32.into();

        #[extrinsic_call]
        _(
            RawOrigin::Signed(owner.clone()),
            Scope::Record(record),
            Purpose::Research,
            Grantee::Class(class),
            Some(expires_at),
        );

        assert_eq!(
            Consents::<T>::decode_len(&owner),
            Some(T::MaxConsentsPerOwner::get() as usize)
        );
    }

    /// Revokes the last consent of a full vector.
    #[benchmark]
    fn revoke_consent() {
        let owner: T::AccountId = whitelisted_caller();
        let buyer: T::AccountId = account("buyer", 0, 0);
        consents::<T>(&owner, &buyer, T::MaxConsentsPerOwner::get());
        let consent = NextConsentId::<T>::get().saturating_sub(1);

        #[extrinsic_call]
        _(RawOrigin::Signed(owner.clone()), consent);

        assert_last_event::<T>(Event::ConsentRevoked { owner, consent });
    }

    /// Prunes the last consent of a full vector.
    #[benchmark]
    fn prune_consent() {
        let owner: T::AccountId = account("owner", 0, 0);
        let buyer: T::AccountId = account("buyer", 0, 0);
        consents::<T>(&owner, &buyer, T::MaxConsentsPerOwner::get());
        let consent = NextConsentId::<T>::get().saturating_sub(1);
        Consents::<T>::mutate(&owner, |vector| {
            if let Some(last) = vector.last_mut() {
                last.revoked_at = Some(last.granted_at);
            }
        });
        let now = frame_system::Pallet::<T>::block_number();
        frame_system::Pallet::<T>::set_block_number(now.saturating_add(T::ClaimPeriod::get()));
        let caller: T::AccountId = whitelisted_caller();

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), owner.clone(), consent);

        assert_last_event::<T>(Event::ConsentPruned { owner, consent });
    }

    #[benchmark]
    fn create_class() {
        let name = BoundedVec::truncate_from(alloc::vec![b'x'; T::MaxClassNameLen::get() as usize]);

        #[extrinsic_call]
        _(class_origin::<T>(), 1, name.clone());

        assert_last_event::<T>(Event::ClassCreated { class: 1, name });
    }

    #[benchmark]
    fn add_to_class() {
        let member: T::AccountId = account("member", 0, 0);
        class_with::<T>(1, &member);
        let buyer: T::AccountId = account("buyer", 0, 0);

        #[extrinsic_call]
        _(class_origin::<T>(), 1, buyer.clone());

        assert_last_event::<T>(Event::ClassMemberAdded { class: 1, buyer });
    }

    #[benchmark]
    fn remove_from_class() {
        let buyer: T::AccountId = account("buyer", 0, 0);
        class_with::<T>(1, &buyer);

        #[extrinsic_call]
        _(class_origin::<T>(), 1, buyer.clone());

        assert_last_event::<T>(Event::ClassMemberRemoved { class: 1, buyer });
    }

    #[benchmark]
    fn prune_class_membership() {
        let buyer: T::AccountId = account("buyer", 0, 0);
        class_with::<T>(1, &buyer);
        ClassMembers::<T>::insert(
            1,
            &buyer,
            Membership {
                since: 0u32.into(),
                until: Some(0u32.into()),
            },
        );
        frame_system::Pallet::<T>::set_block_number(T::ClaimPeriod::get());
        let caller: T::AccountId = whitelisted_caller();

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), 1, buyer.clone());

        assert_last_event::<T>(Event::ClassMembershipPruned { class: 1, buyer });
    }

    /// A question scanning a full vector of class consents of the wrong category kind, each
    /// needing a membership read.
    #[benchmark]
    fn consent_covers() {
        let owner: T::AccountId = account("owner", 0, 0);
        let buyer: T::AccountId = account("buyer", 0, 0);
        consents::<T>(&owner, &buyer, T::MaxConsentsPerOwner::get());
        let at = frame_system::Pallet::<T>::block_number();
        let answer;

        #[block]
        {
            answer = <ConsentPallet<T> as ConsentCheck<_, _>>::consent_covers(
                &owner,
                &RecordId::zero(),
                Purpose::Research,
                &buyer,
                at,
            );
        }

        assert!(matches!(answer, ConsentAnswer::CoveredIfInCategory { .. }));
    }

    /// Ownership releases a patient whose consent vector is full and in force, and who has a
    /// call log: every consent is revoked (one event each) and the log goes.
    #[benchmark]
    fn on_patient_released() {
        let owner: T::AccountId = account("owner", 0, 0);
        let buyer: T::AccountId = account("buyer", 0, 0);
        consents::<T>(&owner, &buyer, T::MaxConsentsPerOwner::get());
        let last = NextConsentId::<T>::get().saturating_sub(1);
        let now = frame_system::Pallet::<T>::block_number();
        let log = alloc::vec![now; T::MaxCallsPerWindow::get() as usize];
        ConsentCalls::<T>::insert(&owner, BoundedVec::truncate_from(log));

        #[block]
        {
            <ConsentPallet<T> as medledger_primitives::OnPatientReleased<_>>::on_patient_released(
                &owner,
            );
        }

        assert!(!ConsentCalls::<T>::contains_key(&owner));
        assert!(Consents::<T>::get(&owner)
            .iter()
            .all(|consent| consent.revoked_at.is_some()));
        assert_last_event::<T>(Event::ConsentRevoked {
            owner,
            consent: last,
        });
    }

    impl_benchmark_test_suite!(
        ConsentPallet,
        crate::mock::new_test_ext(),
        crate::mock::Test
    );
}
