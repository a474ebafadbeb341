//! Unit tests of `pallet-ownership`. Every test ends with the `try_state` invariants
//! (see [`crate::mock::run_test`]).

use crate::{mock::*, Error, Event, *};
use codec::Encode;
use frame_support::{
    assert_noop, assert_ok,
    dispatch::{CheckIfFeeless, DispatchClass, DispatchResult},
};
use sp_core::H256;

fn record_id(n: u32) -> RecordId {
    H256(sp_io::hashing::blake2_256(&(b"record", n).encode()))
}

fn commitment(n: u32) -> Commitment {
    H256(sp_io::hashing::blake2_256(
        &(b"salted commitment", n).encode(),
    ))
}

fn registration(n: u32, owner: u64) -> RecordRegistration<u64> {
    RecordRegistration {
        id: record_id(n),
        owner,
        commitment: commitment(n),
    }
}

/// The patient's signature over its enrolment with `custodian` until `valid_until`.
fn patient_signature(patient: u64, custodian: u64, valid_until: u64) -> TestSignature {
    TestSignature(
        patient,
        Ownership::enrolment_message(&custodian, &patient, valid_until),
    )
}

/// `custodian` submits `owner`'s signed enrolment, valid for 10 blocks.
fn try_enrol(owner: u64, custodian: u64) -> DispatchResult {
    let valid_until = System::block_number() + 10;
    Ownership::enrol(
        RuntimeOrigin::signed(custodian),
        owner,
        valid_until,
        patient_signature(owner, custodian, valid_until),
    )
}

/// Hospital A submits Alice's enrolment with `signature`.
fn alice_at_a(valid_until: u64, signature: TestSignature) -> DispatchResult {
    Ownership::enrol(
        RuntimeOrigin::signed(HOSPITAL_A),
        ALICE,
        valid_until,
        signature,
    )
}

fn assert_alice_enrolled_at_a() {
    assert_eq!(
        last_event(),
        Event::Enrolled {
            owner: ALICE,
            custodian: HOSPITAL_A,
            deposit: ENROLMENT_DEPOSIT,
        }
    );
}

/// Alice asks for erasure of record 1 and hospital A confirms it.
fn erase_alices_record_1() {
    assert_ok!(Ownership::request_erasure(
        RuntimeOrigin::signed(ALICE),
        record_id(1)
    ));
    assert_ok!(Ownership::confirm_erasure(
        RuntimeOrigin::signed(HOSPITAL_A),
        record_id(1)
    ));
}

fn enrol(owner: u64, custodian: u64) {
    assert_ok!(try_enrol(owner, custodian));
}

fn register(custodian: u64, records: Vec<RecordRegistration<u64>>) -> DispatchResult {
    Ownership::register_records(RuntimeOrigin::signed(custodian), records)
}

fn last_event() -> Event<Test> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Ownership(event) => Some(event),
            _ => None,
        })
        .last()
        .expect("the pallet emitted an event")
}

// ---- enrolment ----

#[test]
fn enrol_binds_owner_to_member_hospital() {
    run_test(|| {
        System::set_block_number(7);
        enrol(ALICE, HOSPITAL_A);

        assert_eq!(
            Enrolments::<Test>::get(ALICE, HOSPITAL_A),
            Some(Enrolment {
                enrolled_at: 7,
                deposit: ENROLMENT_DEPOSIT
            })
        );
        assert!(Ownership::is_enrolled(&ALICE, &HOSPITAL_A));
        assert!(!Ownership::is_enrolled(&ALICE, &HOSPITAL_B));
        assert!(Ownership::is_patient(&ALICE));
        assert!(!Ownership::is_patient(&BOB));
        assert_eq!(Ownership::enrolments_of(&ALICE), vec![(HOSPITAL_A, 7)]);
        assert_alice_enrolled_at_a();
    });
}

#[test]
fn enrol_with_non_member_is_refused() {
    run_test(|| {
        assert_noop!(try_enrol(ALICE, OUTSIDER), Error::<Test>::NotCustodian);
    });
}

#[test]
fn enrol_twice_with_same_hospital_is_refused() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        assert_noop!(try_enrol(ALICE, HOSPITAL_A), Error::<Test>::AlreadyEnrolled);
    });
}

#[test]
fn enrolments_per_owner_are_bounded() {
    run_test(|| {
        let hospitals = [HOSPITAL_A, HOSPITAL_B, HOSPITAL_C];
        let limit = MAX_ENROLMENTS as usize;
        assert!(
            limit < hospitals.len(),
            "the mock must allow reaching the limit"
        );
        for hospital in &hospitals[..limit] {
            enrol(ALICE, *hospital);
        }
        assert_noop!(
            try_enrol(ALICE, hospitals[limit]),
            Error::<Test>::TooManyEnrolments
        );
        assert_eq!(EnrolmentCount::<Test>::get(ALICE), MAX_ENROLMENTS);
    });
}

#[test]
fn enrolment_needs_the_patients_signature_over_this_enrolment() {
    run_test(|| {
        let enrol_with = |signature, valid_until| alice_at_a(valid_until, signature);
        let until = 11;
        let refused = [
            // Someone else signed.
            TestSignature(
                BOB,
                Ownership::enrolment_message(&HOSPITAL_A, &ALICE, until),
            ),
            // Alice agreed to another hospital, or to another patient's enrolment.
            patient_signature(ALICE, HOSPITAL_B, until),
            TestSignature(
                ALICE,
                Ownership::enrolment_message(&HOSPITAL_A, &BOB, until),
            ),
            // For another validity.
            patient_signature(ALICE, HOSPITAL_A, until + 1),
        ];
        for signature in refused {
            assert_noop!(
                enrol_with(signature, until),
                Error::<Test>::BadPatientSignature
            );
        }
        // What wallets sign for raw bytes (`<Bytes>…</Bytes>`) is accepted.
        let message = Ownership::enrolment_message(&HOSPITAL_A, &ALICE, until);
        let wrapped = [b"<Bytes>".as_slice(), &message, b"</Bytes>"].concat();
        assert_ok!(enrol_with(TestSignature(ALICE, wrapped), until));
        assert_alice_enrolled_at_a();
    });
}

#[test]
fn a_signed_enrolment_is_usable_only_for_a_short_while_and_until_the_patient_transacts() {
    run_test(|| {
        let submit = alice_at_a;
        let too_far = 1 + MAX_ENROLMENT_VALIDITY + 1;
        assert_noop!(
            submit(too_far, patient_signature(ALICE, HOSPITAL_A, too_far)),
            Error::<Test>::ValidityTooLong
        );
        let signature = patient_signature(ALICE, HOSPITAL_A, 5);
        System::set_block_number(6);
        assert_noop!(
            submit(5, signature.clone()),
            Error::<Test>::EnrolmentExpired
        );
        System::set_block_number(5);
        System::inc_account_nonce(ALICE);
        assert_noop!(submit(5, signature), Error::<Test>::BadPatientSignature);
        assert_ok!(submit(5, patient_signature(ALICE, HOSPITAL_A, 5)));
    });
}

#[test]
fn a_patients_account_exists_while_it_is_enrolled_or_owns_records() {
    run_test(|| {
        let sufficients = |who| frame_system::Account::<Test>::get(who).sufficients;
        assert!(!System::account_exists(&ALICE));
        enrol(ALICE, HOSPITAL_A);
        enrol(ALICE, HOSPITAL_B);
        assert_eq!(
            sufficients(ALICE),
            1,
            "one reference, however many hospitals"
        );
        assert!(System::account_exists(&ALICE));
        assert_ok!(register(HOSPITAL_A, vec![registration(1, ALICE)]));

        for hospital in [HOSPITAL_A, HOSPITAL_B] {
            assert_ok!(Ownership::end_enrolment(
                RuntimeOrigin::signed(hospital),
                ALICE,
                hospital
            ));
        }
        assert_eq!(sufficients(ALICE), 1, "Alice still owns a record");
        assert!(Ownership::is_patient(&ALICE));
        assert!(Released::get().is_empty());
        erase_alices_record_1();
        assert!(!AccountRefs::<Test>::contains_key(ALICE));
        assert_eq!(
            Released::get(),
            vec![ALICE],
            "the other pallets are told, once"
        );
        assert!(
            !System::account_exists(&ALICE),
            "nothing left: the account goes"
        );
    });
}

#[test]
fn ending_an_enrolment_is_free_for_the_owner_only() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        System::set_block_number(1 + COOLDOWN);
        let end = |owner, custodian| {
            RuntimeCall::Ownership(crate::Call::end_enrolment { owner, custodian })
        };
        assert!(end(ALICE, HOSPITAL_A).is_feeless(&RuntimeOrigin::signed(ALICE)));
        assert!(
            !end(ALICE, HOSPITAL_A).is_feeless(&RuntimeOrigin::signed(HOSPITAL_A)),
            "custodian pays"
        );
        assert!(
            !end(ALICE, HOSPITAL_A).is_feeless(&RuntimeOrigin::signed(BOB)),
            "third party"
        );
        assert!(
            !end(ALICE, HOSPITAL_B).is_feeless(&RuntimeOrigin::signed(ALICE)),
            "not enrolled there"
        );
    });
}

#[test]
fn free_enrolment_changes_wait_for_the_cooldown() {
    run_test(|| {
        let alice = RuntimeOrigin::signed(ALICE);
        let end_call = |custodian| {
            RuntimeCall::Ownership(crate::Call::end_enrolment {
                owner: ALICE,
                custodian,
            })
        };
        enrol(ALICE, HOSPITAL_A);
        enrol(ALICE, HOSPITAL_B);
        assert_eq!(
            LastEnrolmentChange::<Test>::get(ALICE),
            None,
            "the hospitals enrolled"
        );
        assert!(end_call(HOSPITAL_A).is_feeless(&alice));
        assert_ok!(Ownership::end_enrolment(alice.clone(), ALICE, HOSPITAL_A));
        assert_eq!(LastEnrolmentChange::<Test>::get(ALICE), Some(1));

        System::set_block_number(COOLDOWN);
        assert!(
            !end_call(HOSPITAL_B).is_feeless(&alice),
            "within the cooldown"
        );
        // A custodian ending the enrolment does not restart the owner's cooldown.
        assert_ok!(Ownership::end_enrolment(
            RuntimeOrigin::signed(HOSPITAL_B),
            ALICE,
            HOSPITAL_B
        ));
        assert_eq!(LastEnrolmentChange::<Test>::get(ALICE), Some(1));
        enrol(ALICE, HOSPITAL_B);
        System::set_block_number(1 + COOLDOWN);
        assert!(end_call(HOSPITAL_B).is_feeless(&alice));
    });
}

#[test]
fn registration_and_confirmation_are_never_free_for_an_owner() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        let alice = RuntimeOrigin::signed(ALICE);
        let paid_calls = [
            crate::Call::register_records {
                records: vec![registration(1, ALICE)],
            },
            crate::Call::confirm_erasure {
                record: record_id(1),
            },
        ];
        for call in paid_calls {
            assert!(
                !RuntimeCall::Ownership(call.clone()).is_feeless(&alice),
                "{call:?}"
            );
        }
    });
}

#[test]
fn owner_or_custodian_can_end_an_enrolment() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        enrol(BOB, HOSPITAL_A);

        assert_ok!(Ownership::end_enrolment(
            RuntimeOrigin::signed(ALICE),
            ALICE,
            HOSPITAL_A
        ));
        assert_eq!(
            last_event(),
            Event::EnrolmentEnded {
                owner: ALICE,
                custodian: HOSPITAL_A,
                ended_by: ALICE,
                deposit: ENROLMENT_DEPOSIT,
            }
        );
        assert!(!Ownership::is_patient(&ALICE));
        assert!(!EnrolmentCount::<Test>::contains_key(ALICE));

        assert_ok!(Ownership::end_enrolment(
            RuntimeOrigin::signed(HOSPITAL_A),
            BOB,
            HOSPITAL_A
        ));
        assert_eq!(
            last_event(),
            Event::EnrolmentEnded {
                owner: BOB,
                custodian: HOSPITAL_A,
                ended_by: HOSPITAL_A,
                deposit: ENROLMENT_DEPOSIT,
            }
        );
        assert!(!Ownership::is_enrolled(&BOB, &HOSPITAL_A));
    });
}

fn held_by(hospital: u64) -> u64 {
    use frame_support::traits::fungible::InspectHold;
    Balances::balance_on_hold(&HoldReason::EnrolmentDeposit.into(), &hospital)
}

#[test]
fn each_enrolment_holds_the_hospitals_deposit_until_it_ends() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        enrol(BOB, HOSPITAL_A);
        enrol(ALICE, HOSPITAL_B);
        assert_eq!(held_by(HOSPITAL_A), 2 * ENROLMENT_DEPOSIT);
        assert_eq!(held_by(HOSPITAL_B), ENROLMENT_DEPOSIT);
        assert_eq!(
            Balances::free_balance(HOSPITAL_A),
            INITIAL_BALANCE - 2 * ENROLMENT_DEPOSIT
        );

        // Whoever ends it, the deposit goes back to the hospital that held it.
        assert_ok!(Ownership::end_enrolment(
            RuntimeOrigin::signed(ALICE),
            ALICE,
            HOSPITAL_A
        ));
        assert_eq!(held_by(HOSPITAL_A), ENROLMENT_DEPOSIT);
        assert_ok!(Ownership::end_enrolment(
            RuntimeOrigin::signed(HOSPITAL_A),
            BOB,
            HOSPITAL_A
        ));
        assert_eq!(held_by(HOSPITAL_A), 0);
        assert_eq!(Balances::free_balance(HOSPITAL_A), INITIAL_BALANCE);
        assert_eq!(held_by(HOSPITAL_B), ENROLMENT_DEPOSIT);
    });
}

#[test]
fn an_enrolment_releases_what_it_held_whatever_the_deposit_is_now() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        // As after a runtime upgrade that lowered the deposit: the enrolment kept its own.
        Enrolments::<Test>::mutate(ALICE, HOSPITAL_A, |enrolment| {
            let enrolment = enrolment.as_mut().expect("Alice is enrolled");
            assert_ok!(<Balances as frame_support::traits::fungible::MutateHold<
                u64,
            >>::hold(
                &HoldReason::EnrolmentDeposit.into(), &HOSPITAL_A, 10
            ));
            enrolment.deposit += 10;
        });
        assert_ok!(Ownership::end_enrolment(
            RuntimeOrigin::signed(HOSPITAL_A),
            ALICE,
            HOSPITAL_A
        ));
        assert_eq!(
            last_event(),
            Event::EnrolmentEnded {
                owner: ALICE,
                custodian: HOSPITAL_A,
                ended_by: HOSPITAL_A,
                deposit: ENROLMENT_DEPOSIT + 10,
            }
        );
        assert_eq!(held_by(HOSPITAL_A), 0);
        assert_eq!(Balances::free_balance(HOSPITAL_A), INITIAL_BALANCE);
    });
}

#[test]
fn a_hospital_cannot_enrol_itself() {
    run_test(|| {
        assert_noop!(
            try_enrol(HOSPITAL_A, HOSPITAL_A),
            Error::<Test>::CustodianAsPatient
        );
    });
}

#[test]
fn a_hospital_that_cannot_hold_the_deposit_cannot_enrol() {
    run_test(|| {
        assert_noop!(
            try_enrol(ALICE, POOR_HOSPITAL),
            Error::<Test>::CannotHoldDeposit
        );
        assert!(!Ownership::is_patient(&ALICE));
        assert_eq!(held_by(POOR_HOSPITAL), 0);
    });
}

#[test]
fn try_state_ties_held_deposits_to_enrolments() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        let enrolment = Enrolments::<Test>::get(ALICE, HOSPITAL_A).expect("Alice is enrolled");
        Enrolments::<Test>::insert(
            ALICE,
            HOSPITAL_A,
            Enrolment {
                deposit: enrolment.deposit - 1,
                ..enrolment.clone()
            },
        );
        assert!(Ownership::do_try_state().is_err());
        Enrolments::<Test>::insert(ALICE, HOSPITAL_A, enrolment);
    });
}

#[test]
fn calls_that_may_let_an_account_go_are_charged_for_what_that_triggers() {
    use frame_support::dispatch::GetDispatchInfo;
    let end = Call::<Test>::end_enrolment {
        owner: ALICE,
        custodian: HOSPITAL_A,
    };
    assert_eq!(
        end.get_dispatch_info().call_weight,
        <crate::weights::SubstrateWeight<Test> as WeightInfo>::end_enrolment() + RELEASE_WEIGHT
    );
    let confirm = Call::<Test>::confirm_erasure {
        record: record_id(1),
    };
    assert_eq!(
        confirm.get_dispatch_info().call_weight,
        <crate::weights::SubstrateWeight<Test> as WeightInfo>::confirm_erasure() + RELEASE_WEIGHT
    );
}

#[test]
fn a_third_party_cannot_end_an_enrolment() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        assert_noop!(
            Ownership::end_enrolment(RuntimeOrigin::signed(HOSPITAL_B), ALICE, HOSPITAL_A),
            Error::<Test>::NotEnrolmentParty
        );
    });
}

#[test]
fn ending_a_missing_enrolment_is_refused() {
    run_test(|| {
        assert_noop!(
            Ownership::end_enrolment(RuntimeOrigin::signed(ALICE), ALICE, HOSPITAL_A),
            Error::<Test>::NotEnrolled
        );
    });
}

// ---- registration ----

#[test]
fn register_records_stores_owner_custodian_commitment_and_block() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        enrol(BOB, HOSPITAL_A);
        System::set_block_number(5);
        assert_ok!(register(
            HOSPITAL_A,
            vec![
                registration(1, ALICE),
                registration(2, BOB),
                registration(3, ALICE)
            ]
        ));

        assert_eq!(
            last_event(),
            Event::RecordsRegistered {
                custodian: HOSPITAL_A,
                count: 3
            }
        );
        let expected = |n, owner| RecordInfo {
            owner,
            custodian: HOSPITAL_A,
            commitment: commitment(n),
            registered_at: 5,
            status: RecordStatus::Active,
        };
        assert_eq!(Records::<Test>::get(record_id(1)), Some(expected(1, ALICE)));
        assert_eq!(Records::<Test>::get(record_id(2)), Some(expected(2, BOB)));

        let mut alices = Ownership::records_of(&ALICE);
        alices.sort_by_key(|(id, _)| *id);
        let mut wanted = vec![
            (record_id(1), expected(1, ALICE)),
            (record_id(3), expected(3, ALICE)),
        ];
        wanted.sort_by_key(|(id, _)| *id);
        assert_eq!(alices, wanted);
        assert_eq!(OwnerRecordCount::<Test>::get(ALICE), 2);
        assert_eq!(OwnerRecordCount::<Test>::get(BOB), 1);

        assert_eq!(
            Ownership::record(&record_id(2)),
            Some(RecordView {
                owner: BOB,
                custodian: HOSPITAL_A,
                sellable: true
            })
        );
        assert_eq!(
            Ownership::is_sellable(&record_id(2)),
            Some((BOB, HOSPITAL_A))
        );
        assert_eq!(Ownership::is_sellable(&record_id(99)), None);
    });
}

#[test]
fn non_member_cannot_register() {
    run_test(|| {
        assert_noop!(
            register(OUTSIDER, vec![registration(1, ALICE)]),
            Error::<Test>::NotCustodian
        );
    });
}

#[test]
fn empty_batch_is_refused() {
    run_test(|| {
        assert_noop!(register(HOSPITAL_A, vec![]), Error::<Test>::EmptyBatch);
    });
}

#[test]
fn oversized_batch_is_refused() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        let batch: Vec<_> = (0..MAX_BATCH + 1).map(|n| registration(n, ALICE)).collect();
        assert_noop!(register(HOSPITAL_A, batch), Error::<Test>::BatchTooLarge);
    });
}

#[test]
fn oversized_batch_is_charged_as_a_full_one() {
    run_test(|| {
        let batch: Vec<_> = (0..MAX_BATCH * 3).map(|n| registration(n, ALICE)).collect();
        let call = crate::Call::<Test>::register_records { records: batch };
        let charged =
            frame_support::dispatch::GetDispatchInfo::get_dispatch_info(&call).call_weight;
        assert_eq!(
            charged,
            <Test as Config>::WeightInfo::register_records(MAX_BATCH)
        );
    });
}

#[test]
fn duplicate_ids_within_a_batch_are_refused() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        let batch = vec![
            registration(1, ALICE),
            registration(2, ALICE),
            registration(1, ALICE),
        ];
        assert_noop!(register(HOSPITAL_A, batch), Error::<Test>::DuplicateInBatch);
    });
}

#[test]
fn ids_already_registered_are_refused_and_nothing_is_written() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        enrol(ALICE, HOSPITAL_B);
        assert_ok!(register(HOSPITAL_A, vec![registration(1, ALICE)]));
        // Another hospital cannot take over the id; the valid record 2 is not written either.
        assert_noop!(
            register(
                HOSPITAL_B,
                vec![registration(2, ALICE), registration(1, ALICE)]
            ),
            Error::<Test>::AlreadyRegistered
        );
    });
}

#[test]
fn records_of_owners_not_enrolled_with_this_custodian_are_refused() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        enrol(BOB, HOSPITAL_B);
        assert_noop!(
            register(
                HOSPITAL_A,
                vec![registration(1, ALICE), registration(2, BOB)]
            ),
            Error::<Test>::OwnerNotEnrolled
        );
        // After the enrolment ends the hospital cannot register for that owner any more.
        assert_ok!(Ownership::end_enrolment(
            RuntimeOrigin::signed(ALICE),
            ALICE,
            HOSPITAL_A
        ));
        assert_noop!(
            register(HOSPITAL_A, vec![registration(1, ALICE)]),
            Error::<Test>::OwnerNotEnrolled
        );
    });
}

#[test]
fn records_per_owner_are_bounded_across_batches() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        enrol(BOB, HOSPITAL_A);
        let first: Vec<_> = (0..MAX_RECORDS_PER_OWNER - 1)
            .map(|n| registration(n, ALICE))
            .collect();
        assert_ok!(register(HOSPITAL_A, first));
        let over = vec![
            registration(MAX_RECORDS_PER_OWNER, BOB),
            registration(MAX_RECORDS_PER_OWNER + 1, ALICE),
            registration(MAX_RECORDS_PER_OWNER + 2, ALICE),
        ];
        assert_noop!(register(HOSPITAL_A, over), Error::<Test>::TooManyRecords);
        assert_ok!(register(
            HOSPITAL_A,
            vec![registration(MAX_RECORDS_PER_OWNER + 1, ALICE)]
        ));
        assert_eq!(OwnerRecordCount::<Test>::get(ALICE), MAX_RECORDS_PER_OWNER);
    });
}

#[test]
fn records_stay_owned_after_the_enrolment_ends() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        assert_ok!(register(HOSPITAL_A, vec![registration(1, ALICE)]));
        assert_ok!(Ownership::end_enrolment(
            RuntimeOrigin::signed(HOSPITAL_A),
            ALICE,
            HOSPITAL_A
        ));
        assert_eq!(Ownership::records_of(&ALICE).len(), 1);
        assert_eq!(
            Ownership::is_sellable(&record_id(1)),
            Some((ALICE, HOSPITAL_A))
        );
    });
}

// ---- batch limits (real constraint, not timing) ----

#[test]
fn batch_of_1000_fits_in_half_the_normal_block_weight() {
    run_test(|| {
        let weights = <Test as frame_system::Config>::BlockWeights::get();
        let normal = weights.get(DispatchClass::Normal);
        let normal_total = normal.max_total.expect("normal class has a total limit");
        let batch = <Test as Config>::WeightInfo::register_records(1000);
        assert!(
            batch.all_lte(normal_total / 2),
            "1000 records weigh {batch:?}, half the normal class is {:?}",
            normal_total / 2
        );
        let max_extrinsic = normal
            .max_extrinsic
            .expect("normal class has an extrinsic limit");
        assert!(batch
            .saturating_add(normal.base_extrinsic)
            .all_lte(max_extrinsic));
    });
}

#[test]
fn batch_of_1000_fits_in_half_the_normal_block_length() {
    run_test(|| {
        // Priced with the real runtime's 32-byte account ids, plus a generous allowance for the
        // signed extrinsic's envelope (address, signature, extensions, call index).
        const ENVELOPE: usize = 512;
        let account =
            |n: u32| sp_runtime::AccountId32::new(sp_io::hashing::blake2_256(&n.encode()));
        let batch: Vec<RecordRegistration<sp_runtime::AccountId32>> = (0..1000)
            .map(|n| RecordRegistration {
                id: record_id(n),
                owner: account(n % 50),
                commitment: commitment(n),
            })
            .collect();
        let length = batch.encoded_size() + ENVELOPE;
        let normal_max = *<Test as frame_system::Config>::BlockLength::get()
            .max
            .get(DispatchClass::Normal);
        assert!(
            length <= normal_max as usize / 2,
            "{length} bytes > half of {normal_max}"
        );
    });
}

#[test]
fn batch_of_1000_registers_for_many_owners() {
    run_test(|| {
        let owners: Vec<u64> = (10..60).collect();
        for owner in &owners {
            enrol(*owner, HOSPITAL_A);
        }
        let batch: Vec<_> = (0..1000)
            .map(|n| registration(n, owners[n as usize % owners.len()]))
            .collect();
        assert_ok!(register(HOSPITAL_A, batch));
        assert_eq!(Records::<Test>::iter().count(), 1000);
        for owner in &owners {
            assert_eq!(
                OwnerRecordCount::<Test>::get(owner),
                1000 / owners.len() as u32
            );
        }
    });
}

// ---- erasure ----

fn alice_with_record_one() {
    enrol(ALICE, HOSPITAL_A);
    assert_ok!(register(
        HOSPITAL_A,
        vec![registration(1, ALICE), registration(2, ALICE)]
    ));
}

#[test]
fn erasure_request_stops_sales_and_confirmation_leaves_a_tombstone() {
    run_test(|| {
        alice_with_record_one();
        System::set_block_number(10);
        assert_ok!(Ownership::request_erasure(
            RuntimeOrigin::signed(ALICE),
            record_id(1)
        ));
        assert_eq!(
            last_event(),
            Event::ErasureRequested {
                record: record_id(1),
                owner: ALICE,
                custodian: HOSPITAL_A
            }
        );
        assert_eq!(Ownership::is_sellable(&record_id(1)), None);
        assert_eq!(
            Ownership::record(&record_id(1)).map(|view| view.sellable),
            Some(false)
        );
        assert_eq!(
            Ownership::records_of(&ALICE).len(),
            2,
            "still listed until erased"
        );

        System::set_block_number(12);
        assert_ok!(Ownership::confirm_erasure(
            RuntimeOrigin::signed(HOSPITAL_A),
            record_id(1)
        ));
        assert_eq!(
            last_event(),
            Event::RecordErased {
                record: record_id(1),
                owner: ALICE,
                custodian: HOSPITAL_A
            }
        );
        assert_eq!(
            Records::<Test>::get(record_id(1)).map(|info| info.status),
            Some(RecordStatus::Erased {
                requested_at: 10,
                erased_at: 12
            })
        );
        assert_eq!(Ownership::is_sellable(&record_id(1)), None);
        let listed: Vec<_> = Ownership::records_of(&ALICE)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(listed, vec![record_id(2)]);
        assert_eq!(OwnerRecordCount::<Test>::get(ALICE), 1);

        // The id can never come back.
        assert_noop!(
            register(HOSPITAL_A, vec![registration(1, ALICE)]),
            Error::<Test>::AlreadyRegistered
        );
    });
}

#[test]
fn erasing_the_last_record_clears_the_owner_count() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        assert_ok!(register(HOSPITAL_A, vec![registration(1, ALICE)]));
        erase_alices_record_1();
        assert!(!OwnerRecordCount::<Test>::contains_key(ALICE));
        assert!(Ownership::records_of(&ALICE).is_empty());
    });
}

#[test]
fn erasure_of_unknown_record_is_refused() {
    run_test(|| {
        assert_noop!(
            Ownership::request_erasure(RuntimeOrigin::signed(ALICE), record_id(1)),
            Error::<Test>::UnknownRecord
        );
        assert_noop!(
            Ownership::confirm_erasure(RuntimeOrigin::signed(HOSPITAL_A), record_id(1)),
            Error::<Test>::UnknownRecord
        );
    });
}

#[test]
fn only_the_owner_requests_erasure() {
    run_test(|| {
        alice_with_record_one();
        for stranger in [BOB, HOSPITAL_A] {
            assert_noop!(
                Ownership::request_erasure(RuntimeOrigin::signed(stranger), record_id(1)),
                Error::<Test>::NotRecordOwner
            );
        }
    });
}

#[test]
fn erasure_is_requested_once() {
    run_test(|| {
        alice_with_record_one();
        assert_ok!(Ownership::request_erasure(
            RuntimeOrigin::signed(ALICE),
            record_id(1)
        ));
        assert_noop!(
            Ownership::request_erasure(RuntimeOrigin::signed(ALICE), record_id(1)),
            Error::<Test>::ErasureAlreadyRequested
        );
        assert_ok!(Ownership::confirm_erasure(
            RuntimeOrigin::signed(HOSPITAL_A),
            record_id(1)
        ));
        assert_noop!(
            Ownership::request_erasure(RuntimeOrigin::signed(ALICE), record_id(1)),
            Error::<Test>::AlreadyErased
        );
    });
}

#[test]
fn only_the_custodian_confirms_a_requested_erasure_once() {
    run_test(|| {
        alice_with_record_one();
        assert_noop!(
            Ownership::confirm_erasure(RuntimeOrigin::signed(HOSPITAL_A), record_id(1)),
            Error::<Test>::ErasureNotRequested
        );
        assert_ok!(Ownership::request_erasure(
            RuntimeOrigin::signed(ALICE),
            record_id(1)
        ));
        for stranger in [ALICE, HOSPITAL_B] {
            assert_noop!(
                Ownership::confirm_erasure(RuntimeOrigin::signed(stranger), record_id(1)),
                Error::<Test>::NotRecordCustodian
            );
        }
        assert_ok!(Ownership::confirm_erasure(
            RuntimeOrigin::signed(HOSPITAL_A),
            record_id(1)
        ));
        assert_noop!(
            Ownership::confirm_erasure(RuntimeOrigin::signed(HOSPITAL_A), record_id(1)),
            Error::<Test>::AlreadyErased
        );
    });
}

#[test]
fn an_erasure_request_is_free_for_the_owner_when_it_would_succeed() {
    run_test(|| {
        enrol(ALICE, HOSPITAL_A);
        assert_ok!(register(HOSPITAL_A, vec![registration(1, ALICE)]));
        let request = RuntimeCall::Ownership(crate::Call::request_erasure {
            record: record_id(1),
        });
        assert!(request.is_feeless(&RuntimeOrigin::signed(ALICE)));
        assert!(
            !request.is_feeless(&RuntimeOrigin::signed(BOB)),
            "not the owner"
        );
        let unknown = RuntimeCall::Ownership(crate::Call::request_erasure {
            record: record_id(2),
        });
        assert!(!unknown.is_feeless(&RuntimeOrigin::signed(ALICE)));
        assert_ok!(Ownership::request_erasure(
            RuntimeOrigin::signed(ALICE),
            record_id(1)
        ));
        assert!(
            !request.is_feeless(&RuntimeOrigin::signed(ALICE)),
            "asked already"
        );
    });
}
