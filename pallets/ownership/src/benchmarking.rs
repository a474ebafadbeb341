//! Benchmarks of `pallet-ownership`, each at its worst case.

use super::*;
use crate::Pallet as Ownership;
use alloc::vec::Vec;
use frame_benchmarking::v2::*;
use frame_support::traits::{
    fungible::{Inspect, Mutate},
    Get,
};
use frame_system::RawOrigin;
use sp_core::H256;
use sp_runtime::traits::{BlakeTwo256, Hash, Saturating};

fn assert_last_event<T: Config>(event: Event<T>) {
    frame_system::Pallet::<T>::assert_last_event(event.into());
}

fn record_id(n: u32) -> RecordId {
    BlakeTwo256::hash_of(&(b"bench record", n))
}

/// Gives `custodian` enough for the deposits of `enrolments` enrolments.
fn fund<T: Config>(custodian: &T::AccountId, enrolments: u32) {
    let deposits = T::EnrolmentDeposit::get().saturating_mul(enrolments.into());
    let balance = T::Currency::minimum_balance().saturating_add(deposits);
    T::Currency::set_balance(custodian, balance);
}

/// An owner enrolled with `custodian` (fund it first).
fn enrolled_owner<T: Config>(index: u32, custodian: &T::AccountId) -> T::AccountId {
    let owner: T::AccountId = account("owner", index, 0);
    Ownership::<T>::enrol_for_benchmark(&owner, custodian);
    owner
}

fn registered_record<T: Config>() -> (T::AccountId, T::AccountId, RecordId) {
    let custodian = T::BenchmarkHelper::custodian();
    fund::<T>(&custodian, 1);
    let owner = enrolled_owner::<T>(0, &custodian);
    let id = record_id(0);
    let registration = RecordRegistration {
        id,
        owner: owner.clone(),
        commitment: H256::zero(),
    };
    Ownership::<T>::register_records(
        RawOrigin::Signed(custodian.clone()).into(),
        alloc::vec![registration],
    )
    .expect("the benchmark registers a valid record");
    (owner, custodian, id)
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn enrol() {
        let owner = T::BenchmarkHelper::patient();
        let custodian = T::BenchmarkHelper::custodian();
        fund::<T>(&custodian, 1);
        // The longest validity: setup may run at block 0, which the runner moves to 1 before
        // the call (on a chain's genesis state, as the benchmarking CLI runs).
        let valid_until = frame_system::Pallet::<T>::block_number()
            .saturating_add(T::MaxEnrolmentValidity::get());
        let message = Ownership::<T>::enrolment_message(&custodian, &owner, valid_until);
        let signature = T::BenchmarkHelper::sign_enrolment(&owner, &message);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(custodian.clone()),
            owner.clone(),
            valid_until,
            signature,
        );

        assert_last_event::<T>(Event::Enrolled {
            owner,
            custodian,
            deposit: T::EnrolmentDeposit::get(),
        });
    }

    #[benchmark]
    fn end_enrolment() {
        let custodian = T::BenchmarkHelper::custodian();
        fund::<T>(&custodian, 1);
        let owner = enrolled_owner::<T>(0, &custodian);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(owner.clone()),
            owner.clone(),
            custodian.clone(),
        );

        assert_last_event::<T>(Event::EnrolmentEnded {
            owner: owner.clone(),
            custodian,
            ended_by: owner,
            deposit: T::EnrolmentDeposit::get(),
        });
    }

    /// Worst case: every record has a different owner (one count write per record).
    #[benchmark]
    fn register_records(n: Linear<1, { T::MaxBatchSize::get() }>) {
        let custodian = T::BenchmarkHelper::custodian();
        fund::<T>(&custodian, n);
        let records: Vec<_> = (0..n)
            .map(|index| RecordRegistration {
                id: record_id(index),
                owner: enrolled_owner::<T>(index, &custodian),
                commitment: H256::repeat_byte(7),
            })
            .collect();

        #[extrinsic_call]
        _(RawOrigin::Signed(custodian.clone()), records);

        assert_last_event::<T>(Event::RecordsRegistered {
            custodian,
            count: n,
        });
    }

    #[benchmark]
    fn request_erasure() {
        let (owner, custodian, record) = registered_record::<T>();

        #[extrinsic_call]
        _(RawOrigin::Signed(owner.clone()), record);

        assert_last_event::<T>(Event::ErasureRequested {
            record,
            owner,
            custodian,
        });
    }

    #[benchmark]
    fn confirm_erasure() {
        let (owner, custodian, record) = registered_record::<T>();
        Ownership::<T>::request_erasure(RawOrigin::Signed(owner.clone()).into(), record)
            .expect("the owner may request erasure");

        #[extrinsic_call]
        _(RawOrigin::Signed(custodian.clone()), record);

        assert_last_event::<T>(Event::RecordErased {
            record,
            owner,
            custodian,
        });
    }

    impl_benchmark_test_suite!(Ownership, crate::mock::new_test_ext(), crate::mock::Test);
}
