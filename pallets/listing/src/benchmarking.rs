//! Benchmarks for `pallet-listing`, run as tests by `impl_benchmark_test_suite!`.

use super::*;
use frame_benchmarking::v2::*;
use frame_support::pallet_prelude::{BoundedVec, Get};
use frame_support::traits::fungible::{Inspect, Mutate};
use frame_system::RawOrigin;
use sp_runtime::traits::Saturating;

/// Make `who` a member custodian able to hold the deposit of the longest description.
fn funded_custodian<T: Config>(who: &T::AccountId) {
    T::BenchmarkHelper::make_custodian(who);
    let longest = Pallet::<T>::deposit_for(&description_of_len::<T>(T::MaxFilterSummaryLen::get()));
    let funds = longest
        .saturating_mul(2u32.into())
        .saturating_add(T::Currency::minimum_balance());
    assert!(
        T::Currency::mint_into(who, funds).is_ok(),
        "the custodian is funded"
    );
}

/// A description whose filter summary is `len` bytes long.
fn description_of_len<T: Config>(len: u32) -> DescriptionOf<T> {
    let summary: BoundedVec<u8, T::MaxFilterSummaryLen> =
        BoundedVec::truncate_from((0..len).map(|i| i as u8).collect::<alloc::vec::Vec<u8>>());
    ListingDescription {
        filter_summary: summary,
        categories: BoundedVec::new(),
        time_range: TimeRange {
            from: 0,
            until: u64::MAX,
        },
        purpose: Purpose::Research,
        terms_hash: Default::default(),
    }
}

fn pricing<T: Config>() -> Pricing<T::Balance> {
    Pricing {
        model: PriceModel::PerRecord(100u32.into()),
        max_records: 1_000,
    }
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn create_listing(s: Linear<0, { T::MaxFilterSummaryLen::get() }>) {
        let custodian: T::AccountId = whitelisted_caller();
        funded_custodian::<T>(&custodian);
        let description = description_of_len::<T>(s);

        #[extrinsic_call]
        _(RawOrigin::Signed(custodian), description, pricing::<T>());

        assert_eq!(NextListingId::<T>::get(), 1);
    }

    #[benchmark]
    fn update_listing(s: Linear<0, { T::MaxFilterSummaryLen::get() }>) {
        let custodian: T::AccountId = whitelisted_caller();
        funded_custodian::<T>(&custodian);
        let listing = Pallet::<T>::create_benchmark_listing(custodian.clone(), pricing::<T>());
        let description = description_of_len::<T>(s);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(custodian),
            listing,
            description,
            pricing::<T>(),
        );

        assert_eq!(Listings::<T>::get(listing).map(|l| l.version), Some(2));
    }

    /// The worst case: no order awaits delivery, so the listing is removed and its deposit
    /// released.
    #[benchmark]
    fn close_listing() {
        let custodian: T::AccountId = whitelisted_caller();
        let listing = Pallet::<T>::create_benchmark_listing(custodian.clone(), pricing::<T>());

        #[extrinsic_call]
        _(RawOrigin::Signed(custodian), listing);

        assert!(Listings::<T>::get(listing).is_none());
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
