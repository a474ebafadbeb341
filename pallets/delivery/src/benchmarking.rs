//! Benchmarks for `pallet-delivery`, run as tests by `impl_benchmark_test_suite!`.

use super::*;
use frame_benchmarking::v2::*;
use frame_system::RawOrigin;

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn register_delivery_key() {
        let buyer: T::AccountId = whitelisted_caller();
        // Worst case: a rotation (an old key is replaced).
        DeliveryKeys::<T>::insert(&buyer, DeliveryKey(P256_GENERATOR_COMPRESSED));
        let key = DeliveryKey(P256_GENERATOR_COMPRESSED);

        #[extrinsic_call]
        _(RawOrigin::Signed(buyer.clone()), key);

        assert_eq!(DeliveryKeys::<T>::get(&buyer), Some(key));
    }

    #[benchmark]
    fn remove_delivery_key() {
        let buyer: T::AccountId = whitelisted_caller();
        DeliveryKeys::<T>::insert(&buyer, DeliveryKey(P256_GENERATOR_COMPRESSED));

        #[extrinsic_call]
        _(RawOrigin::Signed(buyer.clone()));

        assert_eq!(DeliveryKeys::<T>::get(&buyer), None);
    }

    #[benchmark]
    fn set_ocw_delegate() {
        let custodian: T::AccountId = whitelisted_caller();
        T::BenchmarkHelper::make_custodian(&custodian);
        let previous: T::AccountId = account("previous", 0, 0);
        OcwDelegates::<T>::insert(&custodian, previous);
        let delegate: T::AccountId = account("delegate", 0, 0);

        #[extrinsic_call]
        _(RawOrigin::Signed(custodian.clone()), delegate.clone());

        assert_eq!(OcwDelegates::<T>::get(&custodian), Some(delegate));
    }

    #[benchmark]
    fn revoke_ocw_delegate() {
        let custodian: T::AccountId = whitelisted_caller();
        OcwDelegates::<T>::insert(&custodian, account::<T::AccountId>("delegate", 0, 0));

        #[extrinsic_call]
        _(RawOrigin::Signed(custodian.clone()));

        assert_eq!(OcwDelegates::<T>::get(&custodian), None);
    }

    impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
