//! Unit tests of `pallet-consent`. Every test ends with both pallets' `try_state` invariants
//! (see [`crate::mock::run_test`]).

use crate::{
    mock::{Consent, *},
    Error, Event, *,
};
use frame_support::{
    assert_noop, assert_ok,
    dispatch::{CheckIfFeeless, DispatchResult},
    traits::ConstU32,
    BoundedVec,
};
use pallet_ownership::RecordRegistry;
use sp_runtime::DispatchError;

const CLASS: ClassId = 7;

fn last_event() -> Event<Test> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Consent(event) => Some(event),
            _ => None,
        })
        .last()
        .expect("the pallet emitted an event")
}

fn grant(
    owner: u64,
    scope: Scope,
    purpose: Purpose,
    grantee: Grantee<u64>,
    expires_at: Option<u64>,
) -> DispatchResult {
    Consent::grant_consent(
        RuntimeOrigin::signed(owner),
        scope,
        purpose,
        grantee,
        expires_at,
    )
}

/// Grants and returns the new consent's id.
fn granted(
    owner: u64,
    scope: Scope,
    purpose: Purpose,
    grantee: Grantee<u64>,
    expires_at: Option<u64>,
) -> ConsentId {
    let id = NextConsentId::<Test>::get();
    assert_ok!(grant(owner, scope, purpose, grantee, expires_at));
    id
}

fn revoke(owner: u64, consent: ConsentId) -> DispatchResult {
    Consent::revoke_consent(RuntimeOrigin::signed(owner), consent)
}

fn covers(owner: u64, record: u32, purpose: Purpose, buyer: u64, at: u64) -> ConsentAnswer {
    <Consent as ConsentCheck<u64, u64>>::consent_covers(
        &owner,
        &record_id(record),
        purpose,
        &buyer,
        at,
    )
}

fn name(text: &str) -> BoundedVec<u8, ConstU32<32>> {
    text.as_bytes().to_vec().try_into().expect("short name")
}

fn class_with(members: &[u64]) {
    assert_ok!(Consent::create_class(
        RuntimeOrigin::root(),
        CLASS,
        name("academic research")
    ));
    for member in members {
        assert_ok!(Consent::add_to_class(RuntimeOrigin::root(), CLASS, *member));
    }
}

/// Moves to the first block of the next rate-limit window.
/// A full window later: every call made so far has left the sliding window.
fn next_window() {
    System::set_block_number(System::block_number() + WINDOW);
}

// ---- granting ----

#[test]
fn grant_stores_the_consent_and_emits_it() {
    run_test(|| {
        System::set_block_number(4);
        let scope = Scope::Record(record_id(1));
        let id = granted(
            ALICE,
            scope,
            Purpose::Research,
            Grantee::Account(BUYER),
            Some(50),
        );

        assert_eq!(
            Consent::consents_of(&ALICE),
            vec![crate::Consent {
                id,
                scope,
                purpose: Purpose::Research,
                grantee: Grantee::Account(BUYER),
                granted_at: 4,
                expires_at: Some(50),
                revoked_at: None,
            }]
        );
        assert_eq!(NextConsentId::<Test>::get(), id + 1);
        assert_eq!(
            last_event(),
            Event::ConsentGranted {
                owner: ALICE,
                consent: id,
                scope,
                purpose: Purpose::Research,
                grantee: Grantee::Account(BUYER),
                expires_at: Some(50),
            }
        );
    });
}

#[test]
fn consent_ids_are_unique_across_owners() {
    run_test(|| {
        let first = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        let second = granted(BOB, Scope::All, Purpose::Research, Grantee::Anyone, None);
        assert_ne!(first, second);
    });
}

#[test]
fn grant_for_an_unknown_record_is_refused() {
    run_test(|| {
        assert_noop!(
            grant(
                ALICE,
                Scope::Record(record_id(99)),
                Purpose::Research,
                Grantee::Anyone,
                None
            ),
            Error::<Test>::UnknownRecord
        );
    });
}

#[test]
fn grant_for_someone_elses_record_is_refused() {
    run_test(|| {
        assert_noop!(
            grant(
                ALICE,
                Scope::Record(record_id(3)),
                Purpose::Research,
                Grantee::Anyone,
                None
            ),
            Error::<Test>::NotRecordOwner
        );
    });
}

#[test]
fn grant_to_an_unknown_class_is_refused() {
    run_test(|| {
        assert_noop!(
            grant(
                ALICE,
                Scope::All,
                Purpose::Research,
                Grantee::Class(CLASS),
                None
            ),
            Error::<Test>::UnknownClass
        );
    });
}

#[test]
fn grant_expiring_now_or_earlier_is_refused() {
    run_test(|| {
        System::set_block_number(9);
        for expiry in [9, 3] {
            assert_noop!(
                grant(
                    ALICE,
                    Scope::All,
                    Purpose::Research,
                    Grantee::Anyone,
                    Some(expiry)
                ),
                Error::<Test>::ExpiryInPast
            );
        }
        assert_ok!(grant(
            ALICE,
            Scope::All,
            Purpose::Research,
            Grantee::Anyone,
            Some(10)
        ));
    });
}

#[test]
fn consents_per_owner_are_bounded() {
    run_test(|| {
        for n in 0..MAX_CONSENTS {
            if n > 0 && n % MAX_CALLS == 0 {
                next_window();
            }
            assert_ok!(grant(
                ALICE,
                Scope::Category(tag(n)),
                Purpose::Research,
                Grantee::Anyone,
                None
            ));
        }
        next_window();
        assert_noop!(
            grant(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None),
            Error::<Test>::TooManyConsents
        );
        assert_eq!(Consent::consents_of(&ALICE).len(), MAX_CONSENTS as usize);
    });
}

// ---- rate limit and free calls ----

#[test]
fn grants_and_revocations_share_a_rate_limit_per_window() {
    run_test(|| {
        System::set_block_number(WINDOW * 3 + 2);
        let id = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        assert_ok!(revoke(ALICE, id));
        assert_ok!(grant(
            ALICE,
            Scope::All,
            Purpose::Education,
            Grantee::Anyone,
            None
        ));
        assert_eq!(Consent::calls_in_window(&ALICE), MAX_CALLS);

        // Late in the same window: still refused; other owners are not affected.
        System::set_block_number(WINDOW * 4 - 1);
        assert_noop!(
            grant(
                ALICE,
                Scope::All,
                Purpose::Commercial,
                Grantee::Anyone,
                None
            ),
            Error::<Test>::RateLimited
        );
        assert_noop!(revoke(ALICE, id + 1), Error::<Test>::RateLimited);
        assert_ok!(grant(
            BOB,
            Scope::All,
            Purpose::Commercial,
            Grantee::Anyone,
            None
        ));

        next_window();
        assert_eq!(Consent::calls_in_window(&ALICE), 0);
        assert_ok!(grant(
            ALICE,
            Scope::All,
            Purpose::Commercial,
            Grantee::Anyone,
            None
        ));
    });
}

/// The window slides: calls at the end of one aligned window still count at the start of the
/// next, so no `WINDOW` consecutive blocks hold more than `MAX_CALLS` free calls; each call
/// frees its slot exactly `WINDOW` blocks after it was made.
#[test]
fn the_rate_limit_window_slides_with_each_call() {
    run_test(|| {
        System::set_block_number(WINDOW * 2 - 2);
        let first = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        System::set_block_number(WINDOW * 2 - 1);
        assert_ok!(revoke(ALICE, first));
        assert_ok!(grant(
            ALICE,
            Scope::All,
            Purpose::Education,
            Grantee::Anyone,
            None
        ));
        // A new aligned window began, but the last WINDOW blocks hold MAX_CALLS calls.
        System::set_block_number(WINDOW * 2 + 1);
        assert_noop!(
            grant(
                ALICE,
                Scope::All,
                Purpose::Commercial,
                Grantee::Anyone,
                None
            ),
            Error::<Test>::RateLimited
        );
        // One block before the first call leaves the window: still refused; then one slot.
        System::set_block_number(WINDOW * 3 - 3);
        assert_eq!(Consent::calls_in_window(&ALICE), MAX_CALLS);
        System::set_block_number(WINDOW * 3 - 2);
        assert_eq!(Consent::calls_in_window(&ALICE), MAX_CALLS - 1);
        assert_ok!(grant(
            ALICE,
            Scope::All,
            Purpose::Commercial,
            Grantee::Anyone,
            None
        ));
        assert_noop!(
            grant(
                ALICE,
                Scope::All,
                Purpose::PublicHealth,
                Grantee::Anyone,
                None
            ),
            Error::<Test>::RateLimited
        );
        // The log keeps only calls inside the window.
        assert_eq!(
            crate::ConsentCalls::<Test>::get(ALICE).into_inner(),
            vec![WINDOW * 2 - 1, WINDOW * 2 - 1, WINDOW * 3 - 2]
        );
        next_window();
        assert_eq!(Consent::calls_in_window(&ALICE), 0);
    });
}

/// Other pallets' free calls (revenue claims) spend the same budget: a patient cannot get
/// more free calls by spreading them over pallets, and the budget never goes over its bound.
#[test]
fn other_pallets_free_calls_spend_the_same_budget() {
    use medledger_primitives::FreeCalls;
    run_test(|| {
        assert_ok!(grant(
            ALICE,
            Scope::All,
            Purpose::Research,
            Grantee::Anyone,
            None
        ));
        assert!(Consent::has_free_call(&ALICE));
        for _ in 1..MAX_CALLS {
            Consent::use_free_call(&ALICE);
        }
        assert!(!Consent::has_free_call(&ALICE));
        assert_noop!(
            grant(ALICE, Scope::All, Purpose::Education, Grantee::Anyone, None),
            Error::<Test>::RateLimited
        );
        // A paid claim by an owner over budget spends nothing more.
        Consent::use_free_call(&ALICE);
        assert_eq!(Consent::calls_in_window(&ALICE), MAX_CALLS);
        assert!(Consent::has_free_call(&BOB));
        next_window();
        assert!(Consent::has_free_call(&ALICE));
    });
}

#[test]
fn failed_calls_do_not_count_against_the_rate_limit() {
    run_test(|| {
        assert!(grant(
            ALICE,
            Scope::Record(record_id(3)),
            Purpose::Research,
            Grantee::Anyone,
            None
        )
        .is_err());
        assert!(revoke(ALICE, 1234).is_err());
        assert_eq!(Consent::calls_in_window(&ALICE), 0);
    });
}

fn grant_call(scope: Scope) -> RuntimeCall {
    RuntimeCall::Consent(crate::Call::grant_consent {
        scope,
        purpose: Purpose::Research,
        grantee: Grantee::Anyone,
        expires_at: None,
    })
}

#[test]
fn consent_calls_are_free_for_patients_when_they_would_succeed() {
    run_test(|| {
        let alice = RuntimeOrigin::signed(ALICE);
        assert!(grant_call(Scope::All).is_feeless(&alice));
        assert!(
            !grant_call(Scope::All).is_feeless(&RuntimeOrigin::signed(STRANGER)),
            "not enrolled"
        );
        assert!(
            !grant_call(Scope::All).is_feeless(&RuntimeOrigin::root()),
            "not signed"
        );
        assert!(
            !grant_call(Scope::Record(record_id(3))).is_feeless(&alice),
            "would fail"
        );

        let id = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        let revoke_call = |consent| RuntimeCall::Consent(crate::Call::revoke_consent { consent });
        assert!(revoke_call(id).is_feeless(&alice));
        assert!(
            !revoke_call(id).is_feeless(&RuntimeOrigin::signed(BOB)),
            "not Bob's consent"
        );
        assert!(!revoke_call(id + 1).is_feeless(&alice), "no such consent");
    });
}

#[test]
fn rate_limited_owners_lose_free_calls() {
    run_test(|| {
        let alice = RuntimeOrigin::signed(ALICE);
        for purpose in [Purpose::Research, Purpose::Education, Purpose::Commercial] {
            assert!(grant_call(Scope::All).is_feeless(&alice));
            assert_ok!(grant(ALICE, Scope::All, purpose, Grantee::Anyone, None));
        }
        assert!(!grant_call(Scope::All).is_feeless(&alice));
        let revoke_first = RuntimeCall::Consent(crate::Call::revoke_consent { consent: 0 });
        assert!(!revoke_first.is_feeless(&alice));
        next_window();
        assert!(revoke_first.is_feeless(&alice));
    });
}

#[test]
fn consent_calls_stay_free_while_the_patient_owns_records_and_stop_after() {
    run_test(|| {
        let alice = RuntimeOrigin::signed(ALICE);
        let id = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        let revoke = RuntimeCall::Consent(crate::Call::revoke_consent { consent: id });
        assert_ok!(pallet_ownership::Pallet::<Test>::end_enrolment(
            alice.clone(),
            ALICE,
            HOSPITAL
        ));
        assert!(
            revoke.is_feeless(&alice),
            "no longer enrolled, but her records are still on chain"
        );
        assert!(grant_call(Scope::All).is_feeless(&alice));

        erase_alices_records();
        assert!(
            !grant_call(Scope::All).is_feeless(&alice),
            "nothing of hers is left"
        );
        assert!(!revoke.is_feeless(&alice));
        assert!(
            !crate::ConsentCalls::<Test>::contains_key(ALICE),
            "her account was let go, and her free-call log with it"
        );
        // Still possible, paying.
        assert_ok!(grant(
            ALICE,
            Scope::All,
            Purpose::Research,
            Grantee::Anyone,
            None
        ));
    });
}

#[test]
fn pruning_and_class_calls_are_never_free() {
    run_test(|| {
        let alice = RuntimeOrigin::signed(ALICE);
        let calls = [
            crate::Call::prune_consent {
                owner: ALICE,
                consent: 0,
            },
            crate::Call::create_class {
                class: CLASS,
                name: name("x"),
            },
            crate::Call::add_to_class {
                class: CLASS,
                buyer: BUYER,
            },
            crate::Call::remove_from_class {
                class: CLASS,
                buyer: BUYER,
            },
            crate::Call::prune_class_membership {
                class: CLASS,
                buyer: BUYER,
            },
        ];
        for call in calls {
            assert!(
                !RuntimeCall::Consent(call.clone()).is_feeless(&alice),
                "{call:?}"
            );
        }
    });
}

// ---- revoking ----

#[test]
fn revoke_ends_the_consent_at_this_block() {
    run_test(|| {
        let id = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        System::set_block_number(6);
        assert_ok!(revoke(ALICE, id));
        assert_eq!(
            last_event(),
            Event::ConsentRevoked {
                owner: ALICE,
                consent: id
            }
        );
        let consent = &Consent::consents_of(&ALICE)[0];
        assert_eq!(consent.revoked_at, Some(6));
        assert_eq!(consent.ends_at(), Some(6));
    });
}

#[test]
fn revoking_someone_elses_or_a_missing_consent_is_refused() {
    run_test(|| {
        let id = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        assert_noop!(revoke(BOB, id), Error::<Test>::NoSuchConsent);
        assert_noop!(revoke(ALICE, id + 1), Error::<Test>::NoSuchConsent);
    });
}

#[test]
fn revoking_an_ended_consent_is_refused() {
    run_test(|| {
        let revoked = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        assert_ok!(revoke(ALICE, revoked));
        let expiring = granted(
            ALICE,
            Scope::All,
            Purpose::Research,
            Grantee::Anyone,
            Some(5),
        );
        next_window(); // past the expiry, and clear of the rate limit
        assert_noop!(revoke(ALICE, revoked), Error::<Test>::ConsentEnded);
        assert_noop!(revoke(ALICE, expiring), Error::<Test>::ConsentEnded);
    });
}

// ---- the consent question ----

#[test]
fn a_revocation_stops_future_sales_only() {
    run_test(|| {
        System::set_block_number(5);
        let id = granted(
            ALICE,
            Scope::Record(record_id(1)),
            Purpose::Research,
            Grantee::Anyone,
            None,
        );
        System::set_block_number(10);
        assert_ok!(revoke(ALICE, id));
        System::set_block_number(15);

        assert_eq!(
            covers(ALICE, 1, Purpose::Research, BUYER, 4),
            ConsentAnswer::NotCovered
        );
        for at in 5..10 {
            assert_eq!(
                covers(ALICE, 1, Purpose::Research, BUYER, at),
                ConsentAnswer::Covered { consent: id }
            );
        }
        assert_eq!(
            covers(ALICE, 1, Purpose::Research, BUYER, 10),
            ConsentAnswer::NotCovered
        );
        assert_eq!(
            covers(ALICE, 1, Purpose::Research, BUYER, 15),
            ConsentAnswer::NotCovered
        );
    });
}

#[test]
fn an_expiry_ends_coverage_at_the_expiry_block() {
    run_test(|| {
        let id = granted(
            ALICE,
            Scope::All,
            Purpose::PublicHealth,
            Grantee::Anyone,
            Some(8),
        );
        assert_eq!(
            covers(ALICE, 2, Purpose::PublicHealth, BUYER, 7),
            ConsentAnswer::Covered { consent: id }
        );
        assert_eq!(
            covers(ALICE, 2, Purpose::PublicHealth, BUYER, 8),
            ConsentAnswer::NotCovered
        );
    });
}

#[test]
fn purpose_grantee_and_record_must_all_match() {
    run_test(|| {
        let id = granted(
            ALICE,
            Scope::Record(record_id(1)),
            Purpose::Research,
            Grantee::Account(BUYER),
            None,
        );
        assert_eq!(
            covers(ALICE, 1, Purpose::Research, BUYER, 1),
            ConsentAnswer::Covered { consent: id }
        );
        assert_eq!(
            covers(ALICE, 1, Purpose::Commercial, BUYER, 1),
            ConsentAnswer::NotCovered
        );
        assert_eq!(
            covers(ALICE, 1, Purpose::Research, OTHER_BUYER, 1),
            ConsentAnswer::NotCovered
        );
        assert_eq!(
            covers(ALICE, 2, Purpose::Research, BUYER, 1),
            ConsentAnswer::NotCovered
        );
        assert_eq!(
            covers(BOB, 1, Purpose::Research, BUYER, 1),
            ConsentAnswer::NotCovered,
            "Bob gave nothing"
        );
    });
}

#[test]
fn class_grantees_are_judged_by_membership_at_that_block() {
    run_test(|| {
        class_with(&[]);
        let id = granted(
            ALICE,
            Scope::All,
            Purpose::Research,
            Grantee::Class(CLASS),
            None,
        );
        System::set_block_number(3);
        assert_ok!(Consent::add_to_class(RuntimeOrigin::root(), CLASS, BUYER));
        System::set_block_number(8);
        assert_ok!(Consent::remove_from_class(
            RuntimeOrigin::root(),
            CLASS,
            BUYER
        ));
        System::set_block_number(12);

        assert_eq!(
            covers(ALICE, 1, Purpose::Research, BUYER, 2),
            ConsentAnswer::NotCovered
        );
        assert_eq!(
            covers(ALICE, 1, Purpose::Research, BUYER, 3),
            ConsentAnswer::Covered { consent: id }
        );
        assert_eq!(
            covers(ALICE, 1, Purpose::Research, BUYER, 7),
            ConsentAnswer::Covered { consent: id }
        );
        assert_eq!(
            covers(ALICE, 1, Purpose::Research, BUYER, 8),
            ConsentAnswer::NotCovered
        );
        assert_eq!(
            covers(ALICE, 1, Purpose::Research, OTHER_BUYER, 5),
            ConsentAnswer::NotCovered
        );
    });
}

#[test]
fn category_scopes_are_reported_for_the_custodian_to_check() {
    run_test(|| {
        let oncology = granted(
            ALICE,
            Scope::Category(tag(11)),
            Purpose::Research,
            Grantee::Anyone,
            None,
        );
        let _other_purpose = granted(
            ALICE,
            Scope::Category(tag(12)),
            Purpose::Commercial,
            Grantee::Anyone,
            None,
        );
        let cardiology = granted(
            ALICE,
            Scope::Category(tag(13)),
            Purpose::Research,
            Grantee::Account(BUYER),
            None,
        );

        assert_eq!(
            covers(ALICE, 1, Purpose::Research, BUYER, 1),
            ConsentAnswer::CoveredIfInCategory {
                categories: vec![(oncology, tag(11)), (cardiology, tag(13))]
            }
        );
        assert_eq!(
            covers(ALICE, 1, Purpose::Research, OTHER_BUYER, 1),
            ConsentAnswer::CoveredIfInCategory {
                categories: vec![(oncology, tag(11))]
            }
        );
    });
}

#[test]
fn a_whole_record_consent_outranks_category_ones() {
    run_test(|| {
        let _category = granted(
            ALICE,
            Scope::Category(tag(11)),
            Purpose::Research,
            Grantee::Anyone,
            None,
        );
        let all = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        assert_eq!(
            covers(ALICE, 2, Purpose::Research, BUYER, 1),
            ConsentAnswer::Covered { consent: all }
        );
    });
}

/// Independent model: a consent covers block `at` iff granted at or before `at`, and neither
/// expired nor revoked at or before `at`. Checked against the pallet over every block of a
/// scripted history of grants, expiries and revocations (at most `MAX_CALLS` calls in any
/// `WINDOW` blocks).
#[test]
fn past_answers_match_a_model_of_the_history() {
    run_test(|| {
        // (grant block, expiry, revoke block)
        let history: [(u64, Option<u64>, Option<u64>); 4] = [
            (2, None, Some(9)),
            (4, Some(12), None),
            (13, Some(16), Some(22)),
            (15, None, Some(19)),
        ];
        let mut events: Vec<(u64, usize, bool)> = Vec::new();
        for (index, (granted_at, _, revoked_at)) in history.iter().enumerate() {
            events.push((*granted_at, index, true));
            if let Some(revoked_at) = revoked_at {
                events.push((*revoked_at, index, false));
            }
        }
        events.sort();
        let mut ids = [None; 4];
        for (block, index, is_grant) in events {
            System::set_block_number(block);
            if is_grant {
                // One consent per purpose so each answer names exactly one consent.
                let purpose = [
                    Purpose::Research,
                    Purpose::PublicHealth,
                    Purpose::Education,
                    Purpose::QualityImprovement,
                ][index];
                ids[index] = Some(granted(
                    BOB,
                    Scope::Record(record_id(3)),
                    purpose,
                    Grantee::Anyone,
                    history[index].1,
                ));
            } else if revoke(BOB, ids[index].unwrap()).is_err() {
                // Revoking after expiry is refused: the model's revocation does not happen.
                assert!(history[index].1.map_or(false, |expiry| expiry <= block));
            }
        }
        System::set_block_number(25);
        for (index, purpose) in [
            Purpose::Research,
            Purpose::PublicHealth,
            Purpose::Education,
            Purpose::QualityImprovement,
        ]
        .into_iter()
        .enumerate()
        {
            let (granted_at, expiry, revoked_at) = history[index];
            let revoked_at =
                revoked_at.filter(|revoked| expiry.map_or(true, |expiry| *revoked < expiry));
            for at in 0..25 {
                let model = granted_at <= at
                    && expiry.map_or(true, |expiry| at < expiry)
                    && revoked_at.map_or(true, |revoked| at < revoked);
                let answer = covers(BOB, 3, purpose, BUYER, at);
                let expected = if model {
                    ConsentAnswer::Covered {
                        consent: ids[index].unwrap(),
                    }
                } else {
                    ConsentAnswer::NotCovered
                };
                assert_eq!(answer, expected, "consent {index} at block {at}");
            }
        }
    });
}

// ---- pruning ----

#[test]
fn ended_consents_are_prunable_by_anyone_after_the_claim_period() {
    run_test(|| {
        let id = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        let kept = granted(ALICE, Scope::All, Purpose::Education, Grantee::Anyone, None);
        System::set_block_number(5);
        assert_ok!(revoke(ALICE, id));

        System::set_block_number(5 + CLAIM_PERIOD - 1);
        assert_noop!(
            Consent::prune_consent(RuntimeOrigin::signed(STRANGER), ALICE, id),
            Error::<Test>::NotYetPrunable
        );
        System::set_block_number(5 + CLAIM_PERIOD);
        assert_ok!(Consent::prune_consent(
            RuntimeOrigin::signed(STRANGER),
            ALICE,
            id
        ));
        assert_eq!(
            last_event(),
            Event::ConsentPruned {
                owner: ALICE,
                consent: id
            }
        );
        let left: Vec<_> = Consent::consents_of(&ALICE)
            .iter()
            .map(|consent| consent.id)
            .collect();
        assert_eq!(left, vec![kept]);
    });
}

/// Alice asks for erasure of her two records and the hospital confirms it.
fn erase_alices_records() {
    for record in [record_id(1), record_id(2)] {
        assert_ok!(pallet_ownership::Pallet::<Test>::request_erasure(
            RuntimeOrigin::signed(ALICE),
            record
        ));
        assert_ok!(pallet_ownership::Pallet::<Test>::confirm_erasure(
            RuntimeOrigin::signed(HOSPITAL),
            record
        ));
    }
}

/// Alice ends her enrolment and has her two records erased: the ownership pallet lets her
/// account go.
fn release_alice() {
    assert_ok!(pallet_ownership::Pallet::<Test>::end_enrolment(
        RuntimeOrigin::signed(ALICE),
        ALICE,
        HOSPITAL
    ));
    erase_alices_records();
    assert!(!<Ownership as RecordRegistry<u64>>::is_patient(&ALICE));
}

fn revoked_events() -> Vec<(u64, ConsentId)> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Consent(Event::ConsentRevoked { owner, consent }) => {
                Some((owner, consent))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_released_patients_consents_end_and_still_answer_for_the_past() {
    run_test(|| {
        let open = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        let expiring = granted(
            ALICE,
            Scope::All,
            Purpose::Education,
            Grantee::Anyone,
            Some(30),
        );
        let revoked = granted(
            ALICE,
            Scope::All,
            Purpose::Commercial,
            Grantee::Anyone,
            None,
        );
        let bobs = granted(BOB, Scope::All, Purpose::Research, Grantee::Anyone, None);
        next_window();
        let revoked_at = System::block_number();
        assert_ok!(revoke(ALICE, revoked));
        let released_at = revoked_at + 2;
        System::set_block_number(released_at);
        System::reset_events();

        release_alice();

        assert_eq!(revoked_events(), vec![(ALICE, open), (ALICE, expiring)]);
        let consents = Consents::<Test>::get(ALICE);
        let ended_at = |id| {
            consents
                .iter()
                .find(|entry| entry.id == id)
                .expect("kept until pruned")
                .ends_at()
        };
        assert_eq!(ended_at(open), Some(released_at));
        assert_eq!(ended_at(expiring), Some(released_at));
        assert_eq!(
            ended_at(revoked),
            Some(revoked_at),
            "an ended consent keeps its end"
        );
        assert!(
            consents.iter().all(|entry| entry.in_force_at(1)),
            "the past stands"
        );
        assert!(
            Consents::<Test>::get(BOB)
                .iter()
                .any(|entry| entry.id == bobs && entry.in_force_at(released_at)),
            "other patients' consents are untouched"
        );

        // Enrolled again, with a new record: nothing given before covers it.
        System::set_block_number(released_at + 1);
        enrol(ALICE);
        assert_ok!(pallet_ownership::Pallet::<Test>::register_records(
            RuntimeOrigin::signed(HOSPITAL),
            vec![pallet_ownership::RecordRegistration {
                id: record_id(9),
                owner: ALICE,
                commitment: sp_core::H256::repeat_byte(9),
            }]
        ));
        assert_eq!(
            covers(ALICE, 9, Purpose::Research, BUYER, released_at + 1),
            ConsentAnswer::NotCovered
        );

        // And anyone may prune them after the claim period, as any ended consent.
        System::set_block_number(released_at + CLAIM_PERIOD);
        assert_ok!(Consent::prune_consent(
            RuntimeOrigin::signed(BOB),
            ALICE,
            open
        ));
    });
}

#[test]
fn letting_an_account_go_is_charged_to_the_calls_that_may_do_it() {
    use medledger_primitives::OnPatientReleased;
    assert_eq!(
        <Consent as OnPatientReleased<u64>>::weight(),
        <crate::weights::SubstrateWeight<Test> as crate::WeightInfo>::on_patient_released()
    );
    assert!(<Consent as OnPatientReleased<u64>>::weight().ref_time() > 0);
}

#[test]
fn expired_consents_are_prunable_and_the_last_one_clears_the_owner() {
    run_test(|| {
        let id = granted(
            ALICE,
            Scope::All,
            Purpose::Research,
            Grantee::Anyone,
            Some(10),
        );
        assert!(
            crate::ConsentCalls::<Test>::contains_key(ALICE),
            "the grant was logged"
        );
        System::set_block_number(10 + CLAIM_PERIOD);
        assert_ok!(Consent::prune_consent(
            RuntimeOrigin::signed(BOB),
            ALICE,
            id
        ));
        assert!(!Consents::<Test>::contains_key(ALICE));
        assert!(
            !crate::ConsentCalls::<Test>::contains_key(ALICE),
            "calls that left the window are forgotten with the last consent"
        );
    });
}

#[test]
fn pruning_keeps_the_calls_still_in_the_window() {
    run_test(|| {
        let old = granted(
            ALICE,
            Scope::All,
            Purpose::Research,
            Grantee::Anyone,
            Some(2),
        );
        System::set_block_number(2 + CLAIM_PERIOD);
        granted(ALICE, Scope::All, Purpose::Education, Grantee::Anyone, None);
        assert_ok!(Consent::prune_consent(
            RuntimeOrigin::signed(BOB),
            ALICE,
            old
        ));
        assert_eq!(
            crate::ConsentCalls::<Test>::get(ALICE).into_inner(),
            vec![2 + CLAIM_PERIOD]
        );
        assert_eq!(Consent::calls_in_window(&ALICE), 1);
    });
}

#[test]
fn consents_in_force_are_never_prunable() {
    run_test(|| {
        let id = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        System::set_block_number(1_000_000);
        assert_noop!(
            Consent::prune_consent(RuntimeOrigin::signed(BOB), ALICE, id),
            Error::<Test>::NotYetPrunable
        );
    });
}

#[test]
fn pruning_a_missing_consent_is_refused() {
    run_test(|| {
        let id = granted(ALICE, Scope::All, Purpose::Research, Grantee::Anyone, None);
        assert_noop!(
            Consent::prune_consent(RuntimeOrigin::signed(BOB), BOB, id),
            Error::<Test>::NoSuchConsent
        );
    });
}

// ---- buyer classes ----

#[test]
fn only_the_class_origin_changes_classes() {
    run_test(|| {
        let alice = || RuntimeOrigin::signed(ALICE);
        assert_noop!(
            Consent::create_class(alice(), CLASS, name("x")),
            DispatchError::BadOrigin
        );
        class_with(&[BUYER]);
        assert_noop!(
            Consent::add_to_class(alice(), CLASS, OTHER_BUYER),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Consent::remove_from_class(alice(), CLASS, BUYER),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn create_class_registers_its_name_once() {
    run_test(|| {
        assert_ok!(Consent::create_class(
            RuntimeOrigin::root(),
            CLASS,
            name("academic research")
        ));
        assert_eq!(
            last_event(),
            Event::ClassCreated {
                class: CLASS,
                name: name("academic research")
            }
        );
        assert_eq!(Classes::<Test>::get(CLASS), Some(name("academic research")));
        assert_noop!(
            Consent::create_class(RuntimeOrigin::root(), CLASS, name("other")),
            Error::<Test>::ClassExists
        );
    });
}

#[test]
fn add_and_remove_class_members() {
    run_test(|| {
        class_with(&[]);
        System::set_block_number(4);
        assert_ok!(Consent::add_to_class(RuntimeOrigin::root(), CLASS, BUYER));
        assert_eq!(
            last_event(),
            Event::ClassMemberAdded {
                class: CLASS,
                buyer: BUYER
            }
        );
        assert_eq!(
            ClassMembers::<Test>::get(CLASS, BUYER),
            Some(Membership {
                since: 4,
                until: None
            })
        );
        assert_eq!(ClassMemberCount::<Test>::get(CLASS), 1);

        System::set_block_number(6);
        assert_ok!(Consent::remove_from_class(
            RuntimeOrigin::root(),
            CLASS,
            BUYER
        ));
        assert_eq!(
            last_event(),
            Event::ClassMemberRemoved {
                class: CLASS,
                buyer: BUYER
            }
        );
        assert_eq!(
            ClassMembers::<Test>::get(CLASS, BUYER),
            Some(Membership {
                since: 4,
                until: Some(6)
            })
        );
        assert!(Consent::was_class_member(CLASS, &BUYER, 5));
        assert!(!Consent::was_class_member(CLASS, &BUYER, 6));
    });
}

#[test]
fn adding_to_an_unknown_class_is_refused() {
    run_test(|| {
        assert_noop!(
            Consent::add_to_class(RuntimeOrigin::root(), CLASS, BUYER),
            Error::<Test>::UnknownClass
        );
    });
}

#[test]
fn adding_a_current_member_is_refused() {
    run_test(|| {
        class_with(&[BUYER]);
        assert_noop!(
            Consent::add_to_class(RuntimeOrigin::root(), CLASS, BUYER),
            Error::<Test>::AlreadyClassMember
        );
    });
}

#[test]
fn classes_are_bounded_and_rejoining_reuses_the_slot() {
    run_test(|| {
        class_with(&[BUYER, OTHER_BUYER]);
        assert_noop!(
            Consent::add_to_class(RuntimeOrigin::root(), CLASS, THIRD_BUYER),
            Error::<Test>::ClassFull
        );
        System::set_block_number(5);
        assert_ok!(Consent::remove_from_class(
            RuntimeOrigin::root(),
            CLASS,
            BUYER
        ));
        // An ended membership still takes its slot until pruned...
        assert_noop!(
            Consent::add_to_class(RuntimeOrigin::root(), CLASS, THIRD_BUYER),
            Error::<Test>::ClassFull
        );
        // ...but the same buyer may come back, and only the new interval is remembered.
        System::set_block_number(9);
        assert_ok!(Consent::add_to_class(RuntimeOrigin::root(), CLASS, BUYER));
        assert_eq!(ClassMemberCount::<Test>::get(CLASS), MAX_CLASS_MEMBERS);
        assert!(
            !Consent::was_class_member(CLASS, &BUYER, 3),
            "old interval forgotten: the safe side"
        );
        assert!(Consent::was_class_member(CLASS, &BUYER, 9));
    });
}

#[test]
fn removing_a_non_member_is_refused() {
    run_test(|| {
        class_with(&[BUYER]);
        assert_noop!(
            Consent::remove_from_class(RuntimeOrigin::root(), CLASS, OTHER_BUYER),
            Error::<Test>::NotClassMember
        );
        assert_ok!(Consent::remove_from_class(
            RuntimeOrigin::root(),
            CLASS,
            BUYER
        ));
        assert_noop!(
            Consent::remove_from_class(RuntimeOrigin::root(), CLASS, BUYER),
            Error::<Test>::NotClassMember
        );
    });
}

#[test]
fn ended_memberships_are_prunable_after_the_claim_period() {
    run_test(|| {
        class_with(&[BUYER, OTHER_BUYER]);
        assert_noop!(
            Consent::prune_class_membership(RuntimeOrigin::signed(STRANGER), CLASS, BUYER),
            Error::<Test>::NotYetPrunable
        );
        System::set_block_number(5);
        assert_ok!(Consent::remove_from_class(
            RuntimeOrigin::root(),
            CLASS,
            BUYER
        ));
        System::set_block_number(5 + CLAIM_PERIOD - 1);
        assert_noop!(
            Consent::prune_class_membership(RuntimeOrigin::signed(STRANGER), CLASS, BUYER),
            Error::<Test>::NotYetPrunable
        );
        System::set_block_number(5 + CLAIM_PERIOD);
        assert_ok!(Consent::prune_class_membership(
            RuntimeOrigin::signed(STRANGER),
            CLASS,
            BUYER
        ));
        assert_eq!(
            last_event(),
            Event::ClassMembershipPruned {
                class: CLASS,
                buyer: BUYER
            }
        );
        assert_eq!(ClassMemberCount::<Test>::get(CLASS), 1);
        assert_ok!(Consent::add_to_class(
            RuntimeOrigin::root(),
            CLASS,
            THIRD_BUYER
        ));
    });
}

#[test]
fn pruning_a_missing_membership_is_refused() {
    run_test(|| {
        class_with(&[]);
        assert_noop!(
            Consent::prune_class_membership(RuntimeOrigin::signed(STRANGER), CLASS, BUYER),
            Error::<Test>::NotClassMember
        );
    });
}

// ---- weights ----

#[test]
fn consent_weights_grow_with_the_consent_limit() {
    run_test(|| {
        use crate::weights::{SubstrateWeight, WeightInfo};
        let covers = SubstrateWeight::<Test>::consent_covers();
        assert_eq!(
            <Consent as ConsentCheck<u64, u64>>::consent_covers_weight(),
            covers
        );
        // A question reads the consent vector and, at worst, one membership per consent.
        let reads = u64::from(MAX_CONSENTS) + 1;
        let db = <Test as frame_system::Config>::DbWeight::get();
        assert!(covers.all_gte(db.reads(reads)));
    });
}

/// A category tag for tests: opaque bytes, as the chain sees every tag.
fn tag(n: u32) -> CategoryTag {
    CategoryTag::from_low_u64_be(n.into())
}
