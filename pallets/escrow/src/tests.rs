//! Unit tests: every call, error and event of the escrow pallet.

use crate::{
    mock::*, Decision, DisputeOutcome, Error, Event, HoldReason, NextOrderId, OrderId, OrderState,
    Orders, RefundCause, ReleaseCause, ReleaseQueueBounds,
};
use frame_support::{
    assert_noop, assert_ok,
    traits::{fungible::InspectHold, Hooks},
    weights::Weight,
};
use pallet_listing::{ListingId, ListingRegistry};
use sp_core::H256;
use sp_runtime::DispatchError;

const DIGEST: H256 = H256::repeat_byte(0xd1);
const SIZE: u64 = 4_096;
const RECORDS_ROOT: H256 = H256::repeat_byte(0x5e);

fn escrow_events() -> Vec<Event<Test>> {
    System::events()
        .into_iter()
        .filter_map(|record| match record.event {
            RuntimeEvent::Escrow(event) => Some(event),
            _ => None,
        })
        .collect()
}

fn last_event() -> Event<Test> {
    escrow_events().pop().expect("escrow emitted an event")
}

fn free(who: u64) -> u64 {
    Balances::free_balance(who)
}

fn held_payment(who: u64) -> u64 {
    Balances::balance_on_hold(&HoldReason::OrderPayment.into(), &who)
}

fn held_bond(who: u64) -> u64 {
    Balances::balance_on_hold(&HoldReason::DisputeBond.into(), &who)
}

fn state(order: OrderId) -> OrderState<u64> {
    Orders::<Test>::get(order).expect("order exists").state
}

fn now() -> u64 {
    System::block_number()
}

pub(crate) fn go_to(block: u64) {
    System::set_block_number(block);
}

/// `buyer` buys `listing` at its current version, agreeing to any price.
pub(crate) fn buy(buyer: u64, listing: ListingId) -> OrderId {
    let order = NextOrderId::<Test>::get();
    let version = pallet_listing::Listings::<Test>::get(listing)
        .expect("listed")
        .version;
    assert_ok!(Escrow::buy(
        RuntimeOrigin::signed(buyer),
        listing,
        u64::MAX,
        version
    ));
    order
}

/// `who` submits a well-formed receipt for `records` records.
fn receipt_from(who: u64, order: OrderId, records: u32) -> sp_runtime::DispatchResult {
    let placed_at = Orders::<Test>::get(order).map_or(0, |o| o.placed_at);
    Escrow::submit_receipt(
        RuntimeOrigin::signed(who),
        order,
        DIGEST,
        SIZE,
        records,
        RECORDS_ROOT,
        buyer_key(),
        placed_at,
        now(),
    )
}

fn deliver(order: OrderId, records: u32) {
    assert_ok!(receipt_from(HOSPITAL, order, records));
}

/// A paid order of BUYER's for a flat listing of HOSPITAL's (700, at most 100 records).
fn paid_order() -> OrderId {
    let listing = list(HOSPITAL, flat(700, 100));
    buy(BUYER, listing)
}

/// A delivered order of 60 records from a per-record listing (10 per record, 100 at most).
fn delivered_order() -> OrderId {
    let listing = list(HOSPITAL, per_record(10, 100));
    let order = buy(BUYER, listing);
    deliver(order, 60);
    order
}

fn disputed_order() -> OrderId {
    let order = delivered_order();
    assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), order));
    order
}

// ---------------------------------------------------------------- buy

#[test]
fn a_closed_listing_is_removed_when_its_last_order_leaves_delivery() {
    run_test(|| {
        let listing = list(HOSPITAL, per_record(10, 100));
        let delivered = buy(BUYER, listing);
        let declined = buy(BUYER, listing);
        let refunded = buy(OTHER_BUYER, listing);
        let awaiting =
            || pallet_listing::Listings::<Test>::get(listing).map(|l| l.awaiting_delivery);
        assert_eq!(awaiting(), Some(3));
        assert_ok!(Listing::close_listing(
            RuntimeOrigin::signed(HOSPITAL),
            listing
        ));

        deliver(delivered, 60);
        assert_eq!(awaiting(), Some(2));
        // A delivered order needs the listing no more: its dispute goes on without it.
        assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), delivered));
        assert_ok!(Escrow::decline(
            RuntimeOrigin::signed(HOSPITAL),
            declined,
            now()
        ));
        assert_eq!(awaiting(), Some(1));
        go_to(now() + DELIVERY_PERIOD + 1);
        assert_ok!(Escrow::refund(RuntimeOrigin::signed(OTHER_BUYER), refunded));
        assert_eq!(awaiting(), None, "the closed listing is removed");
        assert!(!pallet_listing::Listings::<Test>::contains_key(listing));
        assert!(matches!(state(delivered), OrderState::Disputed { .. }));
        // Its vote expired while the other orders ended: the default outcome applies.
        assert_ok!(Escrow::finalize(RuntimeOrigin::signed(STRANGER), delivered));
        assert!(matches!(state(delivered), OrderState::Resolved { .. }));
    });
}

#[test]
fn an_active_listing_stays_after_its_orders_end() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        let order = buy(BUYER, listing);
        deliver(order, 5);
        let stored = pallet_listing::Listings::<Test>::get(listing).expect("still listed");
        assert!(stored.active);
        assert_eq!(stored.awaiting_delivery, 0);
        assert_eq!(buy(OTHER_BUYER, listing), order + 1);
    });
}

#[test]
fn buy_holds_the_maximum_cost_and_opens_a_paid_order() {
    run_test(|| {
        let listing = list(HOSPITAL, per_record(10, 100));
        assert_ok!(Escrow::buy(RuntimeOrigin::signed(BUYER), listing, 1_000, 1));
        assert_eq!(held_payment(BUYER), 1_000);
        assert_eq!(free(BUYER), INITIAL_BALANCE - 1_000);
        let order = Orders::<Test>::get(0).expect("order opened");
        assert_eq!(order.buyer, BUYER);
        assert_eq!(order.custodian, HOSPITAL);
        assert_eq!(order.listing, listing);
        assert_eq!(order.listing_version, 1);
        assert_eq!(order.price, 1_000);
        assert_eq!(order.delivery_key, buyer_key());
        assert_eq!(order.placed_at, 1);
        assert_eq!(order.deadline, 1 + DELIVERY_PERIOD);
        assert_eq!(order.state, OrderState::Paid);
        assert_eq!(order.receipt, None);
        assert_eq!(NextOrderId::<Test>::get(), 1);
        assert_eq!(
            last_event(),
            Event::OrderPlaced {
                order: 0,
                listing,
                listing_version: 1,
                buyer: BUYER,
                custodian: HOSPITAL,
                price_held: 1_000,
                deadline: 1 + DELIVERY_PERIOD,
            }
        );
    });
}

#[test]
fn buy_of_a_flat_listing_holds_the_flat_price() {
    run_test(|| {
        let order = paid_order();
        assert_eq!(held_payment(BUYER), 700);
        assert_eq!(Orders::<Test>::get(order).map(|o| o.price), Some(700));
    });
}

#[test]
fn buy_refuses_an_unknown_listing() {
    run_test(|| {
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(BUYER), 7, 1_000, 1),
            Error::<Test>::UnknownListing
        );
    });
}

#[test]
fn buy_refuses_an_inactive_listing() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        // An order awaiting delivery keeps the closed listing stored.
        buy(OTHER_BUYER, listing);
        assert_ok!(Listing::close_listing(
            RuntimeOrigin::signed(HOSPITAL),
            listing
        ));
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(BUYER), listing, 1_000, 1),
            Error::<Test>::ListingInactive
        );
    });
}

#[test]
fn buy_refuses_a_changed_listing() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        // The custodian raises the price between the buyer's look and its purchase.
        let description = pallet_listing::Listings::<Test>::get(listing)
            .expect("listed")
            .description;
        assert_ok!(Listing::update_listing(
            RuntimeOrigin::signed(HOSPITAL),
            listing,
            description,
            flat(900, 100)
        ));
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(BUYER), listing, 10_000, 1),
            Error::<Test>::ListingVersionMismatch
        );
        assert_ok!(Escrow::buy(RuntimeOrigin::signed(BUYER), listing, 900, 2));
        assert_eq!(held_payment(BUYER), 900);
    });
}

#[test]
fn buy_refuses_a_price_above_max_price() {
    run_test(|| {
        let listing = list(HOSPITAL, per_record(10, 100));
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(BUYER), listing, 999, 1),
            Error::<Test>::PriceAboveMaximum
        );
        assert_ok!(Escrow::buy(RuntimeOrigin::signed(BUYER), listing, 1_000, 1));
    });
}

#[test]
fn buy_refuses_a_buyer_without_delivery_key() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(STRANGER), listing, 1_000, 1),
            Error::<Test>::NoDeliveryKey
        );
    });
}

#[test]
fn buy_refuses_insufficient_balance() {
    run_test(|| {
        // The buyer must keep the existential deposit free: it can hold at most
        // POOR_BALANCE - EXISTENTIAL_DEPOSIT.
        let too_dear = list(HOSPITAL, flat(POOR_BALANCE - EXISTENTIAL_DEPOSIT + 1, 1));
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(POOR_BUYER), too_dear, u64::MAX, 1),
            Error::<Test>::InsufficientBalance
        );
        let affordable = list(HOSPITAL, flat(POOR_BALANCE - EXISTENTIAL_DEPOSIT, 1));
        buy(POOR_BUYER, affordable);
        assert_eq!(free(POOR_BUYER), EXISTENTIAL_DEPOSIT);
    });
}

#[test]
fn buy_refuses_a_removed_custodians_listing() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        Members::set(vec![OTHER_HOSPITAL]);
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(BUYER), listing, 1_000, 1),
            Error::<Test>::CustodianNotMember
        );
    });
}

#[test]
fn buy_refuses_the_custodian_buying_its_own_listing() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        assert_ok!(Delivery::register_delivery_key(
            RuntimeOrigin::signed(HOSPITAL),
            buyer_key()
        ));
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(HOSPITAL), listing, 1_000, 1),
            Error::<Test>::BuyerIsCustodian
        );
    });
}

#[test]
fn buy_refuses_a_price_that_overflows() {
    run_test(|| {
        // The listing pallet refuses such offers; escrow does not rely on it.
        let listing = list(HOSPITAL, flat(700, 100));
        pallet_listing::Listings::<Test>::mutate(listing, |stored| {
            if let Some(stored) = stored {
                stored.pricing = per_record(u64::MAX, 2);
            }
        });
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(BUYER), listing, u64::MAX, 1),
            Error::<Test>::PriceOverflow
        );
        pallet_listing::Listings::<Test>::mutate(listing, |stored| {
            if let Some(stored) = stored {
                stored.pricing = flat(700, 100);
            }
        });
    });
}

#[test]
fn buy_fails_when_order_ids_are_exhausted() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        NextOrderId::<Test>::put(OrderId::MAX);
        assert_noop!(
            Escrow::buy(RuntimeOrigin::signed(BUYER), listing, 1_000, 1),
            Error::<Test>::OrderIdOverflow
        );
    });
}

#[test]
fn buy_requires_a_signed_origin() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        assert_noop!(
            Escrow::buy(RuntimeOrigin::none(), listing, 1_000, 1),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn rotating_the_delivery_key_does_not_change_an_open_order() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        let order = buy(BUYER, listing);
        assert_ok!(Delivery::register_delivery_key(
            RuntimeOrigin::signed(BUYER),
            rotated_key()
        ));
        assert_eq!(
            Orders::<Test>::get(order).map(|o| o.delivery_key),
            Some(buyer_key())
        );
        // The custodian must seal to the order's key, not the new one.
        assert_noop!(
            Escrow::submit_receipt(
                RuntimeOrigin::signed(HOSPITAL),
                order,
                DIGEST,
                SIZE,
                1,
                RECORDS_ROOT,
                rotated_key(),
                1,
                1
            ),
            Error::<Test>::DeliveryKeyMismatch
        );
        deliver(order, 1);
        // A new order takes the new key.
        let second = buy(BUYER, listing);
        assert_eq!(
            Orders::<Test>::get(second).map(|o| o.delivery_key),
            Some(rotated_key())
        );
    });
}

// ---------------------------------------------------------------- submit_receipt

#[test]
fn receipt_delivers_the_order_and_returns_the_unused_part() {
    run_test(|| {
        let listing = list(HOSPITAL, per_record(10, 100));
        let order = buy(BUYER, listing);
        go_to(4);
        assert_ok!(Escrow::submit_receipt(
            RuntimeOrigin::signed(HOSPITAL),
            order,
            DIGEST,
            SIZE,
            60,
            RECORDS_ROOT,
            buyer_key(),
            1,
            3
        ));
        // 60 of 100 records delivered: 600 stays held, 400 is free again.
        assert_eq!(held_payment(BUYER), 600);
        assert_eq!(free(BUYER), INITIAL_BALANCE - 600);
        let stored = Orders::<Test>::get(order).expect("order");
        assert_eq!(stored.price, 600);
        assert_eq!(
            stored.state,
            OrderState::Delivered {
                release_at: 4 + DISPUTE_WINDOW
            }
        );
        let receipt = stored.receipt.expect("receipt stored");
        assert_eq!(receipt.ciphertext_digest, DIGEST);
        assert_eq!(receipt.size, SIZE);
        assert_eq!(receipt.record_count, 60);
        assert_eq!(receipt.delivery_key, buyer_key());
        assert_eq!(receipt.sale_block_consent, 1);
        assert_eq!(receipt.receipt_block, 3);
        assert_eq!(receipt.submitted_by, HOSPITAL);
        assert_eq!(
            last_event(),
            Event::ReceiptSubmitted {
                order,
                submitted_by: HOSPITAL,
                ciphertext_digest: DIGEST,
                size: SIZE,
                record_count: 60,
                records_root: RECORDS_ROOT,
                price: 600,
                unused_returned: 400,
                release_at: 4 + DISPUTE_WINDOW,
            }
        );
    });
}

#[test]
fn receipt_for_a_flat_listing_keeps_the_whole_price() {
    run_test(|| {
        let order = paid_order();
        deliver(order, 3);
        assert_eq!(held_payment(BUYER), 700);
        assert_eq!(Orders::<Test>::get(order).map(|o| o.price), Some(700));
    });
}

#[test]
fn receipt_from_the_custodians_delegate_is_accepted_until_revoked() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        let first = buy(BUYER, listing);
        let second = buy(BUYER, listing);
        assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(HOSPITAL),
            NODE_KEY
        ));
        assert_ok!(receipt_from(NODE_KEY, first, 5));
        assert_eq!(
            Orders::<Test>::get(first)
                .and_then(|o| o.receipt)
                .map(|r| r.submitted_by),
            Some(NODE_KEY)
        );
        assert_ok!(Delivery::revoke_ocw_delegate(RuntimeOrigin::signed(
            HOSPITAL
        )));
        assert_noop!(
            receipt_from(NODE_KEY, second, 5),
            Error::<Test>::NotCustodianOrDelegate
        );
    });
}

#[test]
fn receipt_from_a_stranger_or_another_hospital_is_refused() {
    run_test(|| {
        let order = paid_order();
        assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(OTHER_HOSPITAL),
            NODE_KEY
        ));
        for intruder in [STRANGER, OTHER_HOSPITAL, NODE_KEY, BUYER] {
            assert_noop!(
                receipt_from(intruder, order, 5),
                Error::<Test>::NotCustodianOrDelegate
            );
        }
    });
}

#[test]
fn a_second_receipt_is_refused() {
    run_test(|| {
        let order = delivered_order();
        assert_noop!(
            receipt_from(HOSPITAL, order, 60),
            Error::<Test>::ReceiptAlreadySubmitted
        );
    });
}

#[test]
fn receipt_after_the_deadline_is_refused_and_at_the_deadline_accepted() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        let late = buy(BUYER, listing);
        let on_time = buy(BUYER, listing);
        let deadline = Orders::<Test>::get(late).expect("order").deadline;
        go_to(deadline);
        assert_ok!(receipt_from(HOSPITAL, on_time, 5));
        go_to(deadline + 1);
        assert_noop!(
            receipt_from(HOSPITAL, late, 5),
            Error::<Test>::DeliveryDeadlinePassed
        );
    });
}

#[test]
fn receipt_for_a_refunded_order_is_refused() {
    run_test(|| {
        let order = paid_order();
        go_to(1 + DELIVERY_PERIOD + 1);
        assert_ok!(Escrow::refund(RuntimeOrigin::signed(BUYER), order));
        assert_noop!(
            receipt_from(HOSPITAL, order, 5),
            Error::<Test>::OrderNotPaid
        );
    });
}

#[test]
fn receipt_from_a_removed_custodian_is_refused() {
    run_test(|| {
        let order = paid_order();
        Members::set(vec![OTHER_HOSPITAL]);
        assert_noop!(
            receipt_from(HOSPITAL, order, 5),
            Error::<Test>::CustodianNotMember
        );
    });
}

#[test]
fn receipt_record_count_must_be_between_one_and_the_maximum() {
    run_test(|| {
        let listing = list(HOSPITAL, per_record(10, 100));
        let order = buy(BUYER, listing);
        assert_noop!(
            receipt_from(HOSPITAL, order, 0),
            Error::<Test>::EmptyDelivery
        );
        assert_noop!(
            receipt_from(HOSPITAL, order, 101),
            Error::<Test>::TooManyRecords
        );
        assert_ok!(receipt_from(HOSPITAL, order, 100));
        assert_eq!(
            held_payment(BUYER),
            1_000,
            "a full delivery returns nothing"
        );
    });
}

#[test]
fn receipt_consent_blocks_are_checked() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(700, 100));
        go_to(3);
        let order = buy(BUYER, listing);
        go_to(6);
        let submit = |sale_block: u64, receipt_block: u64| {
            Escrow::submit_receipt(
                RuntimeOrigin::signed(HOSPITAL),
                order,
                DIGEST,
                SIZE,
                1,
                RECORDS_ROOT,
                buyer_key(),
                sale_block,
                receipt_block,
            )
        };
        assert_noop!(submit(2, 5), Error::<Test>::SaleBlockMismatch);
        assert_noop!(submit(4, 5), Error::<Test>::SaleBlockMismatch);
        assert_noop!(submit(3, 2), Error::<Test>::InvalidReceiptBlock);
        assert_noop!(submit(3, 7), Error::<Test>::InvalidReceiptBlock);
        assert_ok!(submit(3, 6));
    });
}

#[test]
fn receipt_for_an_unknown_order_is_refused() {
    run_test(|| {
        assert_noop!(receipt_from(HOSPITAL, 42, 1), Error::<Test>::UnknownOrder);
    });
}

// ---------------------------------------------------------------- confirm

#[test]
fn confirm_releases_the_price_to_revenue() {
    run_test(|| {
        let order = delivered_order();
        let revenue_before = free(REVENUE);
        assert_ok!(Escrow::confirm(RuntimeOrigin::signed(BUYER), order));
        assert_eq!(held_payment(BUYER), 0);
        assert_eq!(free(BUYER), INITIAL_BALANCE - 600);
        assert_eq!(free(REVENUE), revenue_before + 600);
        assert_eq!(Releases::get(), vec![(order, HOSPITAL, 600, 60)]);
        assert_eq!(state(order), OrderState::Released);
        assert_eq!(
            last_event(),
            Event::EscrowReleased {
                order,
                custodian: HOSPITAL,
                amount: 600,
                record_count: 60,
                cause: ReleaseCause::Confirmed,
            }
        );
    });
}

#[test]
fn double_confirm_is_refused() {
    run_test(|| {
        let order = delivered_order();
        assert_ok!(Escrow::confirm(RuntimeOrigin::signed(BUYER), order));
        assert_noop!(
            Escrow::confirm(RuntimeOrigin::signed(BUYER), order),
            Error::<Test>::OrderNotDelivered
        );
        assert_eq!(Releases::get().len(), 1, "released once only");
    });
}

#[test]
fn confirm_errors() {
    run_test(|| {
        let paid = paid_order();
        assert_noop!(
            Escrow::confirm(RuntimeOrigin::signed(BUYER), paid),
            Error::<Test>::OrderNotDelivered
        );
        deliver(paid, 1);
        assert_noop!(
            Escrow::confirm(RuntimeOrigin::signed(STRANGER), paid),
            Error::<Test>::NotBuyer
        );
        assert_noop!(
            Escrow::confirm(RuntimeOrigin::signed(BUYER), 9),
            Error::<Test>::UnknownOrder
        );
    });
}

#[test]
fn a_failing_revenue_handler_undoes_the_release() {
    run_test(|| {
        let order = delivered_order();
        RevenueFails::set(true);
        assert_noop!(
            Escrow::confirm(RuntimeOrigin::signed(BUYER), order),
            REVENUE_REFUSED
        );
        assert_eq!(held_payment(BUYER), 600);
        RevenueFails::set(false);
    });
}

// ---------------------------------------------------------------- finalize

/// `finalize` fails one block before `block`; at `block` it succeeds and revenue receives
/// `released`.
fn finalize_from(order: OrderId, block: u64, released: u64) {
    go_to(block - 1);
    assert_noop!(
        Escrow::finalize(RuntimeOrigin::signed(STRANGER), order),
        Error::<Test>::NotFinalizable
    );
    go_to(block);
    let revenue_before = free(REVENUE);
    assert_ok!(Escrow::finalize(RuntimeOrigin::signed(STRANGER), order));
    assert_eq!(free(REVENUE), revenue_before + released);
}

#[test]
fn finalize_releases_after_the_dispute_window_only() {
    run_test(|| {
        let order = delivered_order();
        let OrderState::Delivered { release_at } = state(order) else {
            panic!("delivered")
        };
        finalize_from(order, release_at, 600);
        assert_eq!(state(order), OrderState::Released);
        assert_eq!(
            last_event(),
            Event::EscrowReleased {
                order,
                custodian: HOSPITAL,
                amount: 600,
                record_count: 60,
                cause: ReleaseCause::DisputeWindowElapsed,
            }
        );
        assert_noop!(
            Escrow::finalize(RuntimeOrigin::signed(STRANGER), order),
            Error::<Test>::NotFinalizable
        );
    });
}

#[test]
fn finalize_refuses_paid_and_unknown_orders() {
    run_test(|| {
        let order = paid_order();
        go_to(100);
        assert_noop!(
            Escrow::finalize(RuntimeOrigin::signed(BUYER), order),
            Error::<Test>::NotFinalizable
        );
        assert_noop!(
            Escrow::finalize(RuntimeOrigin::signed(BUYER), 77),
            Error::<Test>::UnknownOrder
        );
        assert_noop!(
            Escrow::finalize(RuntimeOrigin::none(), order),
            DispatchError::BadOrigin
        );
    });
}

#[test]
fn an_expired_dispute_vote_releases_the_price_and_returns_the_bond() {
    run_test(|| {
        let order = disputed_order();
        let OrderState::Disputed { vote_expires_at } = state(order) else {
            panic!("disputed")
        };
        finalize_from(order, vote_expires_at + 1, 600);
        assert_eq!(held_bond(BUYER), 0);
        assert_eq!(held_payment(BUYER), 0);
        assert_eq!(free(BUYER), INITIAL_BALANCE - 600, "the bond came back");
        assert_eq!(
            state(order),
            OrderState::Resolved {
                outcome: crate::DEFAULT_ON_VOTE_EXPIRY
            }
        );
        assert_eq!(ClosedDisputes::get(), vec![order]);
        let events = escrow_events();
        assert!(events.contains(&Event::EscrowReleased {
            order,
            custodian: HOSPITAL,
            amount: 600,
            record_count: 60,
            cause: ReleaseCause::DisputeVoteExpired,
        }));
        assert_eq!(
            last_event(),
            Event::DisputeResolved {
                order,
                outcome: DisputeOutcome::VoteExpired,
                bond_to: BUYER
            }
        );
    });
}

// ---------------------------------------------------------------- refund

#[test]
fn refund_after_the_deadline_returns_the_full_price() {
    run_test(|| {
        let listing = list(HOSPITAL, per_record(10, 100));
        let order = buy(BUYER, listing);
        let deadline = Orders::<Test>::get(order).expect("order").deadline;
        go_to(deadline);
        assert_noop!(
            Escrow::refund(RuntimeOrigin::signed(BUYER), order),
            Error::<Test>::DeadlineNotPassed
        );
        go_to(deadline + 1);
        assert_ok!(Escrow::refund(RuntimeOrigin::signed(BUYER), order));
        assert_eq!(free(BUYER), INITIAL_BALANCE);
        assert_eq!(held_payment(BUYER), 0);
        assert_eq!(state(order), OrderState::Refunded);
        assert_eq!(
            last_event(),
            Event::OrderRefunded {
                order,
                buyer: BUYER,
                amount: 1_000,
                cause: RefundCause::DeadlineMissed
            }
        );
        assert_noop!(
            Escrow::refund(RuntimeOrigin::signed(BUYER), order),
            Error::<Test>::NotRefundable
        );
    });
}

#[test]
fn a_removed_hospitals_open_orders_are_refundable_at_once() {
    run_test(|| {
        let order = paid_order();
        Members::set(vec![OTHER_HOSPITAL]);
        assert_ok!(Escrow::refund(RuntimeOrigin::signed(BUYER), order));
        assert_eq!(free(BUYER), INITIAL_BALANCE);
        assert_eq!(
            last_event(),
            Event::OrderRefunded {
                order,
                buyer: BUYER,
                amount: 700,
                cause: RefundCause::CustodianRemoved
            }
        );
    });
}

#[test]
fn refund_after_delivery_is_refused() {
    run_test(|| {
        let order = delivered_order();
        go_to(100);
        assert_noop!(
            Escrow::refund(RuntimeOrigin::signed(BUYER), order),
            Error::<Test>::NotRefundable
        );
    });
}

#[test]
fn refund_errors() {
    run_test(|| {
        let order = paid_order();
        go_to(100);
        assert_noop!(
            Escrow::refund(RuntimeOrigin::signed(STRANGER), order),
            Error::<Test>::NotBuyer
        );
        assert_noop!(
            Escrow::refund(RuntimeOrigin::signed(BUYER), 5),
            Error::<Test>::UnknownOrder
        );
    });
}

// ---------------------------------------------------------------- decline

#[test]
fn decline_by_the_custodian_refunds_the_buyer_at_once() {
    run_test(|| {
        let order = paid_order();
        go_to(3);
        assert_ok!(Escrow::decline(RuntimeOrigin::signed(HOSPITAL), order, 2));
        assert_eq!(free(BUYER), INITIAL_BALANCE);
        assert_eq!(held_payment(BUYER), 0);
        assert_eq!(state(order), OrderState::Refunded);
        assert!(Orders::<Test>::get(order).expect("order").receipt.is_none());
        let events = escrow_events();
        assert_eq!(
            events[events.len() - 2..],
            [
                Event::DeliveryDeclined {
                    order,
                    submitted_by: HOSPITAL,
                    checked_at: 2
                },
                Event::OrderRefunded {
                    order,
                    buyer: BUYER,
                    amount: 700,
                    cause: RefundCause::NothingToDeliver
                }
            ]
        );
        assert_noop!(
            Escrow::decline(RuntimeOrigin::signed(HOSPITAL), order, 3),
            Error::<Test>::OrderNotPaid
        );
        assert_noop!(
            Escrow::refund(RuntimeOrigin::signed(BUYER), order),
            Error::<Test>::NotRefundable
        );
    });
}

#[test]
fn decline_by_the_custodians_delegate_is_accepted() {
    run_test(|| {
        let order = paid_order();
        assert_ok!(Delivery::set_ocw_delegate(
            RuntimeOrigin::signed(HOSPITAL),
            NODE_KEY
        ));
        assert_ok!(Escrow::decline(
            RuntimeOrigin::signed(NODE_KEY),
            order,
            now()
        ));
        assert_eq!(state(order), OrderState::Refunded);
    });
}

#[test]
fn decline_errors() {
    run_test(|| {
        let order = paid_order();
        go_to(5);
        for stranger in [BUYER, STRANGER, OTHER_HOSPITAL] {
            assert_noop!(
                Escrow::decline(RuntimeOrigin::signed(stranger), order, 4),
                Error::<Test>::NotCustodianOrDelegate
            );
        }
        assert_noop!(
            Escrow::decline(RuntimeOrigin::signed(HOSPITAL), 9, 4),
            Error::<Test>::UnknownOrder
        );
        let placed_at = Orders::<Test>::get(order).expect("order").placed_at;
        for checked_at in [placed_at - 1, 6] {
            assert_noop!(
                Escrow::decline(RuntimeOrigin::signed(HOSPITAL), order, checked_at),
                Error::<Test>::InvalidReceiptBlock
            );
        }
        let delivered = delivered_order();
        assert_noop!(
            Escrow::decline(RuntimeOrigin::signed(HOSPITAL), delivered, 5),
            Error::<Test>::OrderNotPaid
        );
    });
}

// ---------------------------------------------------------------- dispute

#[test]
fn dispute_holds_the_bond_and_opens_a_vote_without_the_custodian() {
    run_test(|| {
        let order = delivered_order();
        go_to(3);
        assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), order));
        assert_eq!(held_bond(BUYER), DISPUTE_BOND);
        assert_eq!(free(BUYER), INITIAL_BALANCE - 600 - DISPUTE_BOND);
        assert_eq!(OpenedDisputes::get(), vec![(order, HOSPITAL, BUYER)]);
        assert_eq!(
            state(order),
            OrderState::Disputed {
                vote_expires_at: 3 + VOTING_PERIOD
            }
        );
        assert_eq!(
            last_event(),
            Event::DisputeOpened {
                order,
                buyer: BUYER,
                bond: DISPUTE_BOND,
                vote_expires_at: 3 + VOTING_PERIOD
            }
        );
        // A disputed order is neither confirmable nor disputable again.
        assert_noop!(
            Escrow::confirm(RuntimeOrigin::signed(BUYER), order),
            Error::<Test>::OrderNotDelivered
        );
        assert_noop!(
            Escrow::dispute(RuntimeOrigin::signed(BUYER), order),
            Error::<Test>::OrderNotDelivered
        );
    });
}

#[test]
fn a_dispute_without_a_bond_is_refused() {
    run_test(|| {
        // After holding the price the buyer keeps less free than ED + bond.
        let listing = list(
            HOSPITAL,
            flat(POOR_BALANCE - EXISTENTIAL_DEPOSIT - DISPUTE_BOND + 1, 1),
        );
        let order = buy(POOR_BUYER, listing);
        deliver(order, 1);
        assert_noop!(
            Escrow::dispute(RuntimeOrigin::signed(POOR_BUYER), order),
            Error::<Test>::InsufficientBondBalance
        );
        assert!(OpenedDisputes::get().is_empty());
    });
}

#[test]
fn dispute_after_the_window_is_refused() {
    run_test(|| {
        let order = delivered_order();
        let OrderState::Delivered { release_at } = state(order) else {
            panic!("delivered")
        };
        go_to(release_at - 1);
        assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), order));
        let late = delivered_order();
        let OrderState::Delivered { release_at } = state(late) else {
            panic!("delivered")
        };
        go_to(release_at);
        assert_noop!(
            Escrow::dispute(RuntimeOrigin::signed(BUYER), late),
            Error::<Test>::DisputeWindowClosed
        );
    });
}

#[test]
fn dispute_errors() {
    run_test(|| {
        let paid = paid_order();
        assert_noop!(
            Escrow::dispute(RuntimeOrigin::signed(BUYER), paid),
            Error::<Test>::OrderNotDelivered
        );
        deliver(paid, 1);
        assert_noop!(
            Escrow::dispute(RuntimeOrigin::signed(STRANGER), paid),
            Error::<Test>::NotBuyer
        );
        assert_noop!(
            Escrow::dispute(RuntimeOrigin::signed(BUYER), 55),
            Error::<Test>::UnknownOrder
        );
        ResolverFails::set(true);
        assert_noop!(
            Escrow::dispute(RuntimeOrigin::signed(BUYER), paid),
            DispatchError::Other("no vote possible")
        );
        assert_eq!(held_bond(BUYER), 0);
    });
}

// ---------------------------------------------------------------- resolve_dispute

#[test]
fn the_buyer_winning_a_dispute_gets_price_and_bond_back() {
    run_test(|| {
        let order = disputed_order();
        let revenue_before = free(REVENUE);
        assert_ok!(Escrow::resolve_dispute(
            RuntimeOrigin::root(),
            order,
            Decision::BuyerWins
        ));
        assert_eq!(free(BUYER), INITIAL_BALANCE);
        assert_eq!(held_payment(BUYER) + held_bond(BUYER), 0);
        assert_eq!(free(REVENUE), revenue_before);
        assert!(Releases::get().is_empty());
        assert_eq!(
            state(order),
            OrderState::Resolved {
                outcome: DisputeOutcome::Decided(Decision::BuyerWins)
            }
        );
        assert_eq!(ClosedDisputes::get(), vec![order]);
        assert!(escrow_events().contains(&Event::OrderRefunded {
            order,
            buyer: BUYER,
            amount: 600,
            cause: RefundCause::DisputeUpheld
        }));
        assert_eq!(
            last_event(),
            Event::DisputeResolved {
                order,
                outcome: DisputeOutcome::Decided(Decision::BuyerWins),
                bond_to: BUYER
            }
        );
    });
}

#[test]
fn the_custodian_winning_a_dispute_gets_the_bond_and_the_price_is_released() {
    run_test(|| {
        let order = disputed_order();
        let revenue_before = free(REVENUE);
        assert_ok!(Escrow::resolve_dispute(
            RuntimeOrigin::root(),
            order,
            Decision::CustodianWins
        ));
        assert_eq!(free(BUYER), INITIAL_BALANCE - 600 - DISPUTE_BOND);
        assert_eq!(held_payment(BUYER) + held_bond(BUYER), 0);
        assert_eq!(free(HOSPITAL), INITIAL_BALANCE + DISPUTE_BOND);
        assert_eq!(free(REVENUE), revenue_before + 600);
        assert_eq!(Releases::get(), vec![(order, HOSPITAL, 600, 60)]);
        assert!(escrow_events().contains(&Event::EscrowReleased {
            order,
            custodian: HOSPITAL,
            amount: 600,
            record_count: 60,
            cause: ReleaseCause::DisputeRejected,
        }));
        assert_eq!(
            last_event(),
            Event::DisputeResolved {
                order,
                outcome: DisputeOutcome::Decided(Decision::CustodianWins),
                bond_to: HOSPITAL
            }
        );
    });
}

#[test]
fn resolve_dispute_errors() {
    run_test(|| {
        let order = delivered_order();
        assert_noop!(
            Escrow::resolve_dispute(
                RuntimeOrigin::signed(OTHER_HOSPITAL),
                order,
                Decision::BuyerWins
            ),
            DispatchError::BadOrigin
        );
        assert_noop!(
            Escrow::resolve_dispute(RuntimeOrigin::root(), order, Decision::BuyerWins),
            Error::<Test>::OrderNotDisputed
        );
        assert_noop!(
            Escrow::resolve_dispute(RuntimeOrigin::root(), 31, Decision::BuyerWins),
            Error::<Test>::UnknownOrder
        );
        assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), order));
        let OrderState::Disputed { vote_expires_at } = state(order) else {
            panic!("disputed")
        };
        go_to(vote_expires_at + 1);
        assert_noop!(
            Escrow::resolve_dispute(RuntimeOrigin::root(), order, Decision::BuyerWins),
            Error::<Test>::VoteExpired
        );
    });
}

#[test]
fn a_decision_in_the_votes_last_block_is_applied() {
    run_test(|| {
        let order = disputed_order();
        let OrderState::Disputed { vote_expires_at } = state(order) else {
            panic!("disputed")
        };
        go_to(vote_expires_at);
        assert_noop!(
            Escrow::finalize(RuntimeOrigin::signed(STRANGER), order),
            Error::<Test>::NotFinalizable
        );
        assert_ok!(Escrow::resolve_dispute(
            RuntimeOrigin::root(),
            order,
            Decision::BuyerWins
        ));
        assert_eq!(
            state(order),
            OrderState::Resolved {
                outcome: DisputeOutcome::Decided(Decision::BuyerWins)
            }
        );
        assert_eq!(free(BUYER), INITIAL_BALANCE, "price and bond came back");
    });
}

// ---------------------------------------------------------------- on_idle

fn ample_weight() -> Weight {
    Weight::from_parts(u64::MAX, u64::MAX)
}

#[test]
fn on_idle_releases_due_orders_bounded_per_block() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(100, 10));
        let orders: Vec<OrderId> = (0..5).map(|_| buy(BUYER, listing)).collect();
        for order in &orders {
            deliver(*order, 1);
        }
        let release_at = 1 + DISPUTE_WINDOW;
        Escrow::on_idle(release_at - 1, ample_weight());
        assert!(orders
            .iter()
            .all(|o| matches!(state(*o), OrderState::Delivered { .. })));

        go_to(release_at);
        Escrow::on_idle(release_at, ample_weight());
        let released: Vec<bool> = orders
            .iter()
            .map(|o| state(*o) == OrderState::Released)
            .collect();
        assert_eq!(released, vec![true, true, true, false, false]);
        assert_eq!(free(REVENUE), EXISTENTIAL_DEPOSIT + 300);

        Escrow::on_idle(release_at, ample_weight());
        assert!(orders.iter().all(|o| state(*o) == OrderState::Released));
        assert_eq!(ReleaseQueueBounds::<Test>::get(), (5, 5));
        check_invariants();
    });
}

#[test]
fn on_idle_skips_confirmed_and_disputed_orders_and_stops_at_the_first_not_due() {
    run_test(|| {
        let listing = list(HOSPITAL, flat(100, 10));
        let confirmed = buy(BUYER, listing);
        let disputed = buy(BUYER, listing);
        let due = buy(BUYER, listing);
        for order in [confirmed, disputed, due] {
            deliver(order, 1);
        }
        go_to(3);
        let later = buy(BUYER, listing);
        deliver(later, 1);
        assert_ok!(Escrow::confirm(RuntimeOrigin::signed(BUYER), confirmed));
        assert_ok!(Escrow::dispute(RuntimeOrigin::signed(BUYER), disputed));

        go_to(1 + DISPUTE_WINDOW);
        Escrow::on_idle(now(), ample_weight());
        assert_eq!(state(due), OrderState::Released);
        assert!(matches!(state(disputed), OrderState::Disputed { .. }));
        assert!(matches!(state(later), OrderState::Delivered { .. }));
        // Three entries consumed (confirmed, disputed, due); `later` waits at the head.
        assert_eq!(ReleaseQueueBounds::<Test>::get(), (3, 4));
        assert_eq!(
            Releases::get().len(),
            2,
            "the confirm and the automatic release"
        );
    });
}

#[test]
fn on_idle_respects_the_weight_limit() {
    use crate::weights::WeightInfo;
    run_test(|| {
        let listing = list(HOSPITAL, flat(100, 10));
        let first = buy(BUYER, listing);
        let second = buy(BUYER, listing);
        deliver(first, 1);
        deliver(second, 1);
        go_to(1 + DISPUTE_WINDOW);
        let base = <() as WeightInfo>::auto_release_base();
        let entry = <() as WeightInfo>::auto_release_entry();

        assert_eq!(
            Escrow::on_idle(now(), base.saturating_sub(Weight::from_parts(1, 0))),
            Weight::zero()
        );
        assert_eq!(Escrow::on_idle(now(), base), base);
        assert!(matches!(state(first), OrderState::Delivered { .. }));

        let used = Escrow::on_idle(now(), base + entry);
        assert_eq!(used, base + entry);
        assert_eq!(state(first), OrderState::Released);
        assert!(matches!(state(second), OrderState::Delivered { .. }));
    });
}

#[test]
fn on_idle_reports_a_failed_release_and_finalize_can_retry() {
    run_test(|| {
        let order = delivered_order();
        go_to(1 + DISPUTE_WINDOW);
        RevenueFails::set(true);
        Escrow::on_idle(now(), ample_weight());
        assert!(matches!(state(order), OrderState::Delivered { .. }));
        assert_eq!(held_payment(BUYER), 600);
        assert_eq!(
            last_event(),
            Event::AutoReleaseFailed {
                order,
                error: REVENUE_REFUSED
            }
        );
        RevenueFails::set(false);
        assert_ok!(Escrow::finalize(RuntimeOrigin::signed(STRANGER), order));
        assert_eq!(state(order), OrderState::Released);
    });
}

// ---------------------------------------------------------------- invariants

#[test]
fn try_state_detects_a_hold_that_no_order_explains() {
    new_test_ext().execute_with(|| {
        let order = delivered_order();
        Orders::<Test>::mutate(order, |o| {
            if let Some(o) = o {
                o.price -= 1
            }
        });
        assert!(Escrow::do_try_state().is_err());
        assert_ne!(total_held_for_escrow(), total_owed_by_orders());
    });
}

#[test]
fn try_state_detects_a_broken_release_queue() {
    new_test_ext().execute_with(|| {
        delivered_order();
        ReleaseQueueBounds::<Test>::put((0, 2));
        assert!(Escrow::do_try_state().is_err());
    });
}
