//! Benchmarks for `pallet-escrow`, run as tests by `impl_benchmark_test_suite!`. Each call is
//! measured on its worst path (per-record orders with a partial refund, a custodian-won
//! dispute, an expired vote).

use super::*;
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{
        fungible::{Inspect, Mutate},
        Get,
    },
    weights::Weight,
};
use frame_system::{pallet_prelude::BlockNumberFor, RawOrigin};
use pallet_delivery::{DeliveryKey, DeliveryKeyRegistry, P256_GENERATOR_COMPRESSED};
use pallet_listing::{BenchmarkHelper, ListingRegistry, PriceModel, Pricing};
use sp_core::H256;
use sp_runtime::traits::{Bounded, Saturating};

const MAX_RECORDS: u32 = 100;

fn unit_price<T: Config>() -> BalanceOf<T> {
    T::Currency::minimum_balance().saturating_add(1u32.into())
}

/// A member custodian, a funded buyer with a key, a per-record listing, and an existing
/// revenue account.
fn market<T: Config>() -> (T::AccountId, T::AccountId, pallet_listing::ListingId) {
    let custodian: T::AccountId = account("custodian", 0, 0);
    T::BenchmarkHelper::make_custodian(&custodian);
    T::Currency::set_balance(&custodian, T::Currency::minimum_balance());
    let buyer: T::AccountId = whitelisted_caller();
    let funds = unit_price::<T>()
        .saturating_mul(MAX_RECORDS.into())
        .saturating_mul(10u32.into())
        .saturating_add(T::DisputeBond::get());
    T::Currency::set_balance(&buyer, funds);
    T::DeliveryKeys::register_benchmark_key(&buyer, DeliveryKey(P256_GENERATOR_COMPRESSED));
    T::Currency::set_balance(
        &T::Revenue::revenue_account(),
        T::Currency::minimum_balance(),
    );
    let pricing = Pricing {
        model: PriceModel::PerRecord(unit_price::<T>()),
        max_records: MAX_RECORDS,
    };
    let listing = T::Listings::create_benchmark_listing(custodian.clone(), pricing);
    (custodian, buyer, listing)
}

fn paid_order<T: Config>() -> (T::AccountId, T::AccountId, OrderId) {
    let (custodian, buyer, listing) = market::<T>();
    let order = NextOrderId::<T>::get();
    let bought = Pallet::<T>::buy(
        RawOrigin::Signed(buyer.clone()).into(),
        listing,
        BalanceOf::<T>::max_value(),
        1,
    );
    assert!(bought.is_ok(), "benchmark setup: buy failed");
    (custodian, buyer, order)
}

fn deliver<T: Config>(custodian: &T::AccountId, order: OrderId) {
    let now = frame_system::Pallet::<T>::block_number();
    let placed_at = Orders::<T>::get(order).map(|o| o.placed_at).unwrap_or(now);
    let delivered = Pallet::<T>::submit_receipt(
        RawOrigin::Signed(custodian.clone()).into(),
        order,
        H256::repeat_byte(0xd1),
        1 << 20,
        MAX_RECORDS / 2,
        H256::repeat_byte(0x5e),
        DeliveryKey(P256_GENERATOR_COMPRESSED),
        placed_at,
        now,
    );
    assert!(delivered.is_ok(), "benchmark setup: receipt failed");
}

fn delivered_order<T: Config>() -> (T::AccountId, T::AccountId, OrderId) {
    let (custodian, buyer, order) = paid_order::<T>();
    deliver::<T>(&custodian, order);
    (custodian, buyer, order)
}

fn disputed_order<T: Config>() -> (T::AccountId, T::AccountId, OrderId) {
    let (custodian, buyer, order) = delivered_order::<T>();
    let disputed = Pallet::<T>::dispute(RawOrigin::Signed(buyer.clone()).into(), order);
    assert!(disputed.is_ok(), "benchmark setup: dispute failed");
    (custodian, buyer, order)
}

fn advance<T: Config>(blocks: BlockNumberFor<T>) {
    let now = frame_system::Pallet::<T>::block_number();
    frame_system::Pallet::<T>::set_block_number(now.saturating_add(blocks));
}

fn is_released<T: Config>(order: OrderId) -> bool {
    Orders::<T>::get(order).is_some_and(|o| o.state == OrderState::Released)
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn buy() {
        let (_, buyer, listing) = market::<T>();

        #[extrinsic_call]
        _(
            RawOrigin::Signed(buyer),
            listing,
            BalanceOf::<T>::max_value(),
            1,
        );

        assert_eq!(NextOrderId::<T>::get(), 1);
    }

    #[benchmark]
    fn submit_receipt() {
        let (custodian, _, order) = paid_order::<T>();
        let now = frame_system::Pallet::<T>::block_number();

        #[extrinsic_call]
        _(
            RawOrigin::Signed(custodian),
            order,
            H256::repeat_byte(0xd1),
            1 << 20,
            MAX_RECORDS / 2,
            H256::repeat_byte(0x5e),
            DeliveryKey(P256_GENERATOR_COMPRESSED),
            now,
            now,
        );

        assert!(Orders::<T>::get(order).is_some_and(|o| o.receipt.is_some()));
    }

    #[benchmark]
    fn confirm() {
        let (_, buyer, order) = delivered_order::<T>();

        #[extrinsic_call]
        _(RawOrigin::Signed(buyer), order);

        assert!(is_released::<T>(order));
    }

    #[benchmark]
    fn finalize() {
        let (custodian, _, order) = disputed_order::<T>();
        advance::<T>(T::DisputeVotingPeriod::get().saturating_add(1u32.into()));

        #[extrinsic_call]
        _(RawOrigin::Signed(custodian), order);

        assert!(Orders::<T>::get(order).is_some_and(|o| o.state
            == OrderState::Resolved {
                outcome: DEFAULT_ON_VOTE_EXPIRY
            }));
    }

    #[benchmark]
    fn refund() {
        let (_, buyer, order) = paid_order::<T>();
        advance::<T>(T::DeliveryPeriod::get().saturating_add(1u32.into()));

        #[extrinsic_call]
        _(RawOrigin::Signed(buyer), order);

        assert!(Orders::<T>::get(order).is_some_and(|o| o.state == OrderState::Refunded));
    }

    #[benchmark]
    fn decline() {
        let (custodian, _, order) = paid_order::<T>();
        let now = frame_system::Pallet::<T>::block_number();

        #[extrinsic_call]
        _(RawOrigin::Signed(custodian), order, now);

        assert!(Orders::<T>::get(order).is_some_and(|o| o.state == OrderState::Refunded));
    }

    #[benchmark]
    fn dispute() {
        let (_, buyer, order) = delivered_order::<T>();

        #[extrinsic_call]
        _(RawOrigin::Signed(buyer), order);

        assert!(
            Orders::<T>::get(order).is_some_and(|o| matches!(o.state, OrderState::Disputed { .. }))
        );
    }

    /// A decision as `resolve_dispute` applies it after its origin check, so that it is
    /// measured also in a runtime where no origin may call it and the decisions come from the
    /// consortium's votes (which then pay this weight).
    #[benchmark]
    fn resolve_dispute() {
        let (_, _, order) = disputed_order::<T>();

        #[block]
        {
            let applied = Pallet::<T>::apply_dispute_decision(order, Decision::CustodianWins);
            assert!(applied.is_ok(), "the decision applies");
        }

        assert!(
            Orders::<T>::get(order).is_some_and(|o| matches!(o.state, OrderState::Resolved { .. }))
        );
    }

    #[benchmark]
    fn auto_release_base() {
        let now = frame_system::Pallet::<T>::block_number();

        #[block]
        {
            Pallet::<T>::release_due_orders(now, Weight::MAX);
        }

        assert_eq!(ReleaseQueueBounds::<T>::get(), (0, 0));
    }

    #[benchmark]
    fn auto_release_entry() {
        let (_, _, order) = delivered_order::<T>();
        advance::<T>(T::DisputeWindow::get());
        let now = frame_system::Pallet::<T>::block_number();

        #[block]
        {
            Pallet::<T>::release_due_orders(now, Weight::MAX);
        }

        assert!(is_released::<T>(order));
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
