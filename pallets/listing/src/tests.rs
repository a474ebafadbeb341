//! Unit tests: every call, error and event of the listing pallet.

use crate::{
    mock::*, ActiveListingCount, Error, Event, ListingRegistry, ListingTerms, Listings,
    NextListingId, PriceModel, Purpose, TimeRange,
};
use codec::Encode;
use frame_support::{
    assert_noop, assert_ok,
    traits::fungible::{Inspect, InspectHold},
};
use sp_runtime::DispatchError;

/// What the listing pallet holds from `who`.
fn held(who: u64) -> u64 {
    Balances::balance_on_hold(&crate::HoldReason::ListingDeposit.into(), &who)
}

/// The deposit a listing described by `summary` (the mock's other fields) holds.
fn expected_deposit(summary: &[u8], purpose: Purpose) -> u64 {
    DEPOSIT_BASE + DEPOSIT_PER_BYTE * description(summary, purpose).encoded_size() as u64
}

fn last_event() -> Event<Test> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Listing(event) => Some(event),
            _ => None,
        })
        .next_back()
        .expect("the pallet emitted an event")
}

fn create_default_listing(custodian: u64) -> u64 {
    let id = NextListingId::<Test>::get();
    assert_ok!(Listing::create_listing(
        RuntimeOrigin::signed(custodian),
        description(b"diabetes type 2, adults", Purpose::Research),
        per_record(10, 1_000),
    ));
    id
}

#[test]
fn create_listing_stores_an_active_version_one_listing() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        let stored = Listings::<Test>::get(id).expect("listing stored");
        assert_eq!(stored.custodian, HOSPITAL);
        assert!(stored.active);
        assert_eq!(stored.version, 1);
        assert_eq!(stored.pricing, per_record(10, 1_000));
        assert_eq!(
            stored.description,
            description(b"diabetes type 2, adults", Purpose::Research)
        );
        assert_eq!(NextListingId::<Test>::get(), id + 1);
        assert_eq!(ActiveListingCount::<Test>::get(), 1);
        let deposit = expected_deposit(b"diabetes type 2, adults", Purpose::Research);
        assert_eq!(stored.deposit, deposit);
        assert_eq!(stored.awaiting_delivery, 0);
        assert_eq!(held(HOSPITAL), deposit);
        assert_eq!(Balances::balance(&HOSPITAL), INITIAL_BALANCE - deposit);
        assert_eq!(
            last_event(),
            Event::ListingCreated {
                listing: id,
                custodian: HOSPITAL,
                description: description(b"diabetes type 2, adults", Purpose::Research),
                pricing: per_record(10, 1_000),
                deposit,
            }
        );
    });
}

#[test]
fn listing_ids_are_assigned_in_order() {
    run_test(|| {
        let first = create_default_listing(HOSPITAL);
        let second = create_default_listing(OTHER_HOSPITAL);
        assert_eq!(second, first + 1);
        assert_eq!(
            Listings::<Test>::get(second).map(|l| l.custodian),
            Some(OTHER_HOSPITAL)
        );
    });
}

#[test]
fn create_listing_requires_a_member_custodian() {
    run_test(|| {
        assert_noop!(
            Listing::create_listing(
                RuntimeOrigin::signed(STRANGER),
                description(b"x", Purpose::Research),
                flat(100, 10),
            ),
            Error::<Test>::NotCustodian
        );
        assert_noop!(
            Listing::create_listing(
                RuntimeOrigin::none(),
                description(b"x", Purpose::Research),
                flat(100, 10)
            ),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn create_listing_refuses_malformed_category_codes() {
    run_test(|| {
        for bad in [
            &["Observation"][..],
            &[""],
            &["observation laboratory"],
            &["obs\n"],
        ] {
            let mut desc = description(b"x", Purpose::Research);
            desc.categories = categories(bad);
            assert_noop!(
                Listing::create_listing(RuntimeOrigin::signed(HOSPITAL), desc, flat(100, 10)),
                Error::<Test>::InvalidCategory
            );
        }
    });
}

#[test]
fn create_listing_refuses_unsorted_or_repeated_categories() {
    run_test(|| {
        for bad in [
            &["observation", "condition"][..],
            &["condition", "condition"],
        ] {
            let mut desc = description(b"x", Purpose::Research);
            desc.categories = categories(bad);
            assert_noop!(
                Listing::create_listing(RuntimeOrigin::signed(HOSPITAL), desc, flat(100, 10)),
                Error::<Test>::CategoriesNotSorted
            );
        }
    });
}

#[test]
fn the_machine_readable_filter_is_stored_as_given() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        let stored = Listings::<Test>::get(id).expect("stored");
        assert_eq!(
            stored.description.categories,
            categories(&["condition", "observation:laboratory"])
        );
    });
}

#[test]
fn create_listing_refuses_an_inverted_time_range() {
    run_test(|| {
        let mut desc = description(b"x", Purpose::PublicHealth);
        desc.time_range = TimeRange { from: 10, until: 9 };
        assert_noop!(
            Listing::create_listing(RuntimeOrigin::signed(HOSPITAL), desc, flat(100, 10)),
            Error::<Test>::InvalidTimeRange
        );
    });
}

#[test]
fn a_single_instant_time_range_is_allowed() {
    run_test(|| {
        let mut desc = description(b"x", Purpose::PublicHealth);
        desc.time_range = TimeRange {
            from: 10,
            until: 10,
        };
        assert_ok!(Listing::create_listing(
            RuntimeOrigin::signed(HOSPITAL),
            desc,
            flat(100, 10)
        ));
    });
}

#[test]
fn create_listing_refuses_zero_prices_and_zero_records() {
    run_test(|| {
        for pricing in [flat(0, 10), per_record(0, 10)] {
            assert_noop!(
                Listing::create_listing(
                    RuntimeOrigin::signed(HOSPITAL),
                    description(b"x", Purpose::Commercial),
                    pricing
                ),
                Error::<Test>::ZeroPrice
            );
        }
        assert_noop!(
            Listing::create_listing(
                RuntimeOrigin::signed(HOSPITAL),
                description(b"x", Purpose::Commercial),
                flat(5, 0)
            ),
            Error::<Test>::ZeroMaxRecords
        );
    });
}

#[test]
fn create_listing_refuses_a_maximum_cost_that_overflows() {
    run_test(|| {
        assert_noop!(
            Listing::create_listing(
                RuntimeOrigin::signed(HOSPITAL),
                description(b"x", Purpose::Commercial),
                per_record(u64::MAX / 2, 3)
            ),
            Error::<Test>::PriceOverflow
        );
        // A flat price never multiplies, so the same numbers are fine.
        assert_ok!(Listing::create_listing(
            RuntimeOrigin::signed(HOSPITAL),
            description(b"x", Purpose::Commercial),
            flat(u64::MAX / 2, 3)
        ));
    });
}

#[test]
fn create_listing_fails_when_ids_are_exhausted() {
    run_test(|| {
        NextListingId::<Test>::put(u64::MAX);
        assert_noop!(
            Listing::create_listing(
                RuntimeOrigin::signed(HOSPITAL),
                description(b"x", Purpose::Research),
                flat(1, 1)
            ),
            Error::<Test>::ListingIdOverflow
        );
    });
}

#[test]
fn update_listing_replaces_terms_and_bumps_the_version() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        let new_description = description(b"diabetes, all ages", Purpose::PublicHealth);
        assert_ok!(Listing::update_listing(
            RuntimeOrigin::signed(HOSPITAL),
            id,
            new_description.clone(),
            flat(5_000, 200),
        ));
        let stored = Listings::<Test>::get(id).expect("listing stored");
        assert_eq!(stored.version, 2);
        assert_eq!(stored.description, new_description);
        assert_eq!(stored.pricing, flat(5_000, 200));
        // A shorter description holds a smaller deposit, a longer one a larger deposit.
        let deposit = expected_deposit(b"diabetes, all ages", Purpose::PublicHealth);
        assert_eq!(stored.deposit, deposit);
        assert_eq!(held(HOSPITAL), deposit);
        assert_eq!(
            last_event(),
            Event::ListingUpdated {
                listing: id,
                version: 2,
                description: new_description,
                pricing: flat(5_000, 200),
                deposit,
            }
        );
        let longer = b"diabetes type 1 and 2, all ages, 2020-2024";
        assert_ok!(Listing::update_listing(
            RuntimeOrigin::signed(HOSPITAL),
            id,
            description(longer, Purpose::PublicHealth),
            flat(5_000, 200),
        ));
        assert_eq!(Listings::<Test>::get(id).map(|l| l.version), Some(3));
        assert_eq!(
            held(HOSPITAL),
            expected_deposit(longer, Purpose::PublicHealth)
        );
        assert_eq!(
            Balances::total_balance(&HOSPITAL),
            INITIAL_BALANCE,
            "deposits are held, never taken"
        );
    });
}

#[test]
fn update_listing_errors() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        let desc = description(b"x", Purpose::Research);
        assert_noop!(
            Listing::update_listing(
                RuntimeOrigin::signed(HOSPITAL),
                id + 1,
                desc.clone(),
                flat(1, 1)
            ),
            Error::<Test>::UnknownListing
        );
        assert_noop!(
            Listing::update_listing(
                RuntimeOrigin::signed(OTHER_HOSPITAL),
                id,
                desc.clone(),
                flat(1, 1)
            ),
            Error::<Test>::NotListingCustodian
        );
        assert_noop!(
            Listing::update_listing(
                RuntimeOrigin::signed(HOSPITAL),
                id,
                desc.clone(),
                flat(0, 1)
            ),
            Error::<Test>::ZeroPrice
        );
        Listings::<Test>::mutate(id, |l| {
            if let Some(l) = l {
                l.version = u32::MAX
            }
        });
        assert_noop!(
            Listing::update_listing(
                RuntimeOrigin::signed(HOSPITAL),
                id,
                desc.clone(),
                flat(1, 1)
            ),
            Error::<Test>::VersionOverflow
        );
        Listings::<Test>::mutate(id, |l| {
            if let Some(l) = l {
                l.version = 1
            }
        });
        Members::set(vec![OTHER_HOSPITAL]);
        assert_noop!(
            Listing::update_listing(RuntimeOrigin::signed(HOSPITAL), id, desc, flat(1, 1)),
            Error::<Test>::NotCustodian
        );
    });
}

#[test]
fn while_orders_await_delivery_only_the_price_of_a_listing_changes() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        let sold = Listings::<Test>::get(id).expect("stored").description;
        Listing::order_placed(id);
        // What the buyer paid for is what the node delivers: the description stays.
        assert_noop!(
            Listing::update_listing(
                RuntimeOrigin::signed(HOSPITAL),
                id,
                description(b"one day only", Purpose::Research),
                flat(5_000, 200)
            ),
            Error::<Test>::DescriptionInUse
        );
        // A new price applies to later sales only (each order keeps the one it was sold at).
        assert_ok!(Listing::update_listing(
            RuntimeOrigin::signed(HOSPITAL),
            id,
            sold.clone(),
            flat(5_000, 200)
        ));
        let stored = Listings::<Test>::get(id).expect("stored");
        assert_eq!((stored.version, stored.pricing), (2, flat(5_000, 200)));
        assert_eq!(stored.description, sold);
        // Once the order is delivered the description may change again.
        Listing::delivery_ended(id);
        let changed = description(b"one day only", Purpose::Research);
        assert_ok!(Listing::update_listing(
            RuntimeOrigin::signed(HOSPITAL),
            id,
            changed.clone(),
            flat(5_000, 200)
        ));
        assert_eq!(
            Listings::<Test>::get(id).map(|l| l.description),
            Some(changed)
        );
    });
}

#[test]
fn closing_a_listing_without_orders_removes_it_and_returns_its_deposit() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        let deposit = Listings::<Test>::get(id).expect("stored").deposit;
        assert_ok!(Listing::close_listing(RuntimeOrigin::signed(HOSPITAL), id));
        assert_eq!(Listings::<Test>::get(id), None);
        assert_eq!(ActiveListingCount::<Test>::get(), 0);
        assert_eq!(held(HOSPITAL), 0);
        assert_eq!(Balances::balance(&HOSPITAL), INITIAL_BALANCE);
        let events: Vec<_> = System::events()
            .into_iter()
            .filter_map(|record| match record.event {
                RuntimeEvent::Listing(event) => Some(event),
                _ => None,
            })
            .collect();
        assert_eq!(
            events[events.len() - 2..],
            [
                Event::ListingClosed { listing: id },
                Event::ListingRemoved {
                    listing: id,
                    custodian: HOSPITAL,
                    deposit
                },
            ]
        );
        assert_noop!(
            Listing::close_listing(RuntimeOrigin::signed(HOSPITAL), id),
            Error::<Test>::UnknownListing
        );
    });
}

#[test]
fn a_closed_listing_stays_until_its_last_order_awaiting_delivery_ends() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        let deposit = Listings::<Test>::get(id).expect("stored").deposit;
        Listing::order_placed(id);
        Listing::order_placed(id);
        assert_ok!(Listing::close_listing(RuntimeOrigin::signed(HOSPITAL), id));
        let stored = Listings::<Test>::get(id).expect("orders still await delivery");
        assert!(!stored.active);
        assert_eq!(stored.version, 1, "closing is not an update of the terms");
        assert_eq!(stored.awaiting_delivery, 2);
        assert_eq!(ActiveListingCount::<Test>::get(), 0);
        assert_eq!(held(HOSPITAL), deposit);
        assert_eq!(last_event(), Event::ListingClosed { listing: id });

        Listing::delivery_ended(id);
        assert_eq!(
            Listings::<Test>::get(id).map(|l| l.awaiting_delivery),
            Some(1)
        );
        Listing::delivery_ended(id);
        assert_eq!(Listings::<Test>::get(id), None);
        assert_eq!(held(HOSPITAL), 0);
        assert_eq!(
            last_event(),
            Event::ListingRemoved {
                listing: id,
                custodian: HOSPITAL,
                deposit
            }
        );
        // An order ending on an already removed listing changes nothing.
        Listing::delivery_ended(id);
        assert_eq!(Balances::balance(&HOSPITAL), INITIAL_BALANCE);
    });
}

#[test]
fn an_active_listing_stays_when_its_orders_are_delivered() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        Listing::order_placed(id);
        Listing::delivery_ended(id);
        let stored = Listings::<Test>::get(id).expect("active listings stay");
        assert!(stored.active);
        assert_eq!(stored.awaiting_delivery, 0);
    });
}

#[test]
fn a_custodian_that_cannot_hold_the_deposit_cannot_list() {
    run_test(|| {
        assert_noop!(
            Listing::create_listing(
                RuntimeOrigin::signed(POOR_HOSPITAL),
                description(b"diabetes type 2, adults", Purpose::Research),
                per_record(10, 1_000),
            ),
            Error::<Test>::CannotHoldDeposit
        );
        // Nor grow a listing's description past what it can hold.
        let id = create_default_listing(HOSPITAL);
        let spare = Balances::balance(&HOSPITAL);
        assert_ok!(
            <Balances as frame_support::traits::fungible::Mutate<u64>>::burn_from(
                &HOSPITAL,
                spare - 1,
                frame_support::traits::tokens::Preservation::Expendable,
                frame_support::traits::tokens::Precision::Exact,
                frame_support::traits::tokens::Fortitude::Polite,
            )
        );
        assert_noop!(
            Listing::update_listing(
                RuntimeOrigin::signed(HOSPITAL),
                id,
                description(b"a much longer summary than before", Purpose::Research),
                per_record(10, 1_000),
            ),
            Error::<Test>::CannotHoldDeposit
        );
    });
}

#[test]
fn a_closed_listing_cannot_be_closed_again_or_updated() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        Listing::order_placed(id);
        assert_ok!(Listing::close_listing(RuntimeOrigin::signed(HOSPITAL), id));
        assert_noop!(
            Listing::close_listing(RuntimeOrigin::signed(HOSPITAL), id),
            Error::<Test>::ListingClosed
        );
        assert_noop!(
            Listing::update_listing(
                RuntimeOrigin::signed(HOSPITAL),
                id,
                description(b"x", Purpose::Research),
                flat(1, 1)
            ),
            Error::<Test>::ListingClosed
        );
    });
}

#[test]
fn close_listing_errors() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        assert_noop!(
            Listing::close_listing(RuntimeOrigin::signed(HOSPITAL), id + 1),
            Error::<Test>::UnknownListing
        );
        assert_noop!(
            Listing::close_listing(RuntimeOrigin::signed(OTHER_HOSPITAL), id),
            Error::<Test>::NotListingCustodian
        );
    });
}

#[test]
fn a_removed_member_can_still_close_its_listing() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        Members::set(vec![OTHER_HOSPITAL]);
        assert_ok!(Listing::close_listing(RuntimeOrigin::signed(HOSPITAL), id));
        assert_eq!(Listings::<Test>::get(id), None);
        assert_eq!(held(HOSPITAL), 0);
    });
}

#[test]
fn an_order_placed_gets_the_terms_it_needs_and_is_counted() {
    run_test(|| {
        let id = create_default_listing(HOSPITAL);
        let terms = ListingTerms {
            custodian: HOSPITAL,
            version: 1,
            active: true,
            purpose: Purpose::Research,
            pricing: per_record(10, 1_000),
        };
        assert_eq!(Listing::order_placed(id), Some(terms.clone()));
        assert_eq!(Listings::<Test>::get(id).unwrap().awaiting_delivery, 1);
        // No listing: no terms, and nothing written.
        assert_eq!(Listing::order_placed(id + 1), None);
        assert!(!Listings::<Test>::contains_key(id + 1));
        // Closed while an order awaits delivery: it stays, and says it is closed (the
        // escrow then refuses the order, which undoes the count).
        assert_ok!(Listing::close_listing(RuntimeOrigin::signed(HOSPITAL), id));
        assert_eq!(
            Listing::order_placed(id),
            Some(ListingTerms {
                active: false,
                ..terms
            })
        );
    });
}

#[test]
fn pricing_costs_follow_the_price_model() {
    let per = per_record(7, 100);
    assert_eq!(per.cost_of(0), Some(0));
    assert_eq!(per.cost_of(3), Some(21));
    assert_eq!(per.max_cost(), Some(700));
    let whole = flat(500, 100);
    assert_eq!(whole.cost_of(1), Some(500));
    assert_eq!(whole.max_cost(), Some(500));
    assert!(matches!(whole.model, PriceModel::Flat(500)));
    assert_eq!(per_record(u64::MAX, 2).max_cost(), None);
}

#[test]
fn try_state_detects_a_wrong_active_count() {
    new_test_ext().execute_with(|| {
        create_default_listing(HOSPITAL);
        ActiveListingCount::<Test>::put(5);
        assert!(Listing::do_try_state().is_err());
    });
}

#[test]
fn try_state_detects_a_wrong_deposit_or_a_stale_closed_listing() {
    new_test_ext().execute_with(|| {
        let id = create_default_listing(HOSPITAL);
        Listings::<Test>::mutate(id, |l| l.as_mut().expect("stored").deposit += 1);
        assert!(Listing::do_try_state().is_err());
    });
    new_test_ext().execute_with(|| {
        let id = create_default_listing(HOSPITAL);
        Listings::<Test>::mutate(id, |l| l.as_mut().expect("stored").active = false);
        ActiveListingCount::<Test>::put(0);
        assert!(Listing::do_try_state().is_err());
    });
    new_test_ext().execute_with(|| {
        create_default_listing(HOSPITAL);
        assert_ok!(<Balances as frame_support::traits::fungible::MutateHold<
            u64,
        >>::release(
            &crate::HoldReason::ListingDeposit.into(),
            &HOSPITAL,
            1,
            frame_support::traits::tokens::Precision::Exact,
        ));
        assert!(Listing::do_try_state().is_err());
    });
}
