//! # Delivery pallet
//!
//! Who data is sealed to, and who may report that it was delivered.
//!
//! - **Delivery keys.** A buyer registers the P-256 public key of its hardware token (33-byte
//!   SEC1 compressed). The chain refuses anything that is not a point on the curve
//!   ([`Error::InvalidDeliveryKey`]). A buyer may rotate or remove its key at any time; orders
//!   copy the key when they are placed, so a rotation never changes an open order.
//! - **Off-chain-worker delegates.** A custodian hospital names one account whose key lives in
//!   its node's keystore; the node's off-chain worker signs delivery receipts with it, so the
//!   hospital's own account key can stay offline. The custodian can replace or revoke the
//!   delegate at once.
//!
//! Other pallets read both through [`DeliveryKeyRegistry`], implemented by [`Pallet`].
//!
//! ## Dispatchables
//! - [`Pallet::register_delivery_key`]: set or rotate the caller's delivery key.
//! - [`Pallet::remove_delivery_key`]: remove it (new purchases need a key again).
//! - [`Pallet::set_ocw_delegate`]: a member custodian names (or replaces) its delegate.
//! - [`Pallet::revoke_ocw_delegate`]: the custodian revokes its delegate.
//!
//! ## Invariants (`try_state`)
//! - Every stored delivery key is a valid compressed P-256 point.
//! - No custodian is its own delegate.

#![cfg_attr(not(feature = "std"), no_std)]

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
pub mod offchain;
#[cfg(test)]
mod tests;
mod types;
pub mod weights;

/// Read access to the registry for other pallets (escrow copies the key into each order and
/// authorises receipt submitters through it).
pub trait DeliveryKeyRegistry<AccountId> {
    /// The buyer's current delivery key, if it registered one.
    fn delivery_key(buyer: &AccountId) -> Option<DeliveryKey>;
    /// Whether `who` may act for `custodian` in delivery: the custodian itself, or its current
    /// off-chain-worker delegate. Membership is the caller's concern.
    fn may_act_for(custodian: &AccountId, who: &AccountId) -> bool;

    /// Give `buyer` a delivery key, for benchmarks of pallets that need one.
    #[cfg(feature = "runtime-benchmarks")]
    fn register_benchmark_key(buyer: &AccountId, key: DeliveryKey);
}

/// Benchmark setup the runtime provides: this pallet cannot make a custodian by itself.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
    /// Make `who` a member custodian (so that `T::Custodians` contains it).
    fn make_custodian(who: &AccountId);
}

#[frame_support::pallet]
pub mod pallet {
    use super::*;
    use frame_support::{pallet_prelude::*, traits::Contains};
    use frame_system::pallet_prelude::*;

    #[pallet::pallet]
    pub struct Pallet<T>(_);

    #[pallet::config]
    pub trait Config: frame_system::Config {
        /// The consortium's current member hospitals.
        type Custodians: Contains<Self::AccountId>;
        /// Weights of this pallet's calls.
        type WeightInfo: WeightInfo;
        /// Makes custodians for the benchmarks.
        #[cfg(feature = "runtime-benchmarks")]
        type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
    }

    /// Each buyer's current delivery key.
    #[pallet::storage]
    pub type DeliveryKeys<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, DeliveryKey, OptionQuery>;

    /// Each custodian's current off-chain-worker delegate.
    #[pallet::storage]
    pub type OcwDelegates<T: Config> =
        StorageMap<_, Blake2_128Concat, T::AccountId, T::AccountId, OptionQuery>;

    #[pallet::event]
    #[pallet::generate_deposit(pub(super) fn deposit_event)]
    pub enum Event<T: Config> {
        /// A buyer registered a delivery key, replacing `previous` if it had one.
        DeliveryKeySet {
            who: T::AccountId,
            key: DeliveryKey,
            previous: Option<DeliveryKey>,
        },
        /// A buyer removed its delivery key.
        DeliveryKeyRemoved { who: T::AccountId, key: DeliveryKey },
        /// A custodian named its off-chain-worker delegate, replacing `previous` if any.
        OcwDelegateSet {
            custodian: T::AccountId,
            delegate: T::AccountId,
            previous: Option<T::AccountId>,
        },
        /// A custodian revoked its off-chain-worker delegate.
        OcwDelegateRevoked {
            custodian: T::AccountId,
            delegate: T::AccountId,
        },
    }

    #[pallet::error]
    pub enum Error<T> {
        /// The key is not a 33-byte SEC1 compressed point on P-256.
        InvalidDeliveryKey,
        /// The caller has no delivery key to remove.
        NoDeliveryKey,
        /// Only a current member hospital may name a delegate.
        NotCustodian,
        /// A custodian cannot be its own delegate: it may act for itself already.
        DelegateIsCustodian,
        /// The caller has no delegate to revoke.
        NoOcwDelegate,
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
        /// Register or rotate the caller's delivery key. Open orders keep the key they were
        /// bought with.
        #[pallet::call_index(0)]
        #[pallet::weight(T::WeightInfo::register_delivery_key())]
        pub fn register_delivery_key(origin: OriginFor<T>, key: DeliveryKey) -> DispatchResult {
            let who = ensure_signed(origin)?;
            ensure!(key.is_valid_p256_point(), Error::<T>::InvalidDeliveryKey);
            let previous = DeliveryKeys::<T>::mutate(&who, |slot| slot.replace(key));
            Self::deposit_event(Event::DeliveryKeySet { who, key, previous });
            Ok(())
        }

        /// Remove the caller's delivery key.
        #[pallet::call_index(1)]
        #[pallet::weight(T::WeightInfo::remove_delivery_key())]
        pub fn remove_delivery_key(origin: OriginFor<T>) -> DispatchResult {
            let who = ensure_signed(origin)?;
            let key = DeliveryKeys::<T>::take(&who).ok_or(Error::<T>::NoDeliveryKey)?;
            Self::deposit_event(Event::DeliveryKeyRemoved { who, key });
            Ok(())
        }

        /// Name (or replace) the account the caller's off-chain worker signs receipts with.
        #[pallet::call_index(2)]
        #[pallet::weight(T::WeightInfo::set_ocw_delegate())]
        pub fn set_ocw_delegate(origin: OriginFor<T>, delegate: T::AccountId) -> DispatchResult {
            let custodian = ensure_signed(origin)?;
            ensure!(
                T::Custodians::contains(&custodian),
                Error::<T>::NotCustodian
            );
            ensure!(delegate != custodian, Error::<T>::DelegateIsCustodian);
            let previous =
                OcwDelegates::<T>::mutate(&custodian, |slot| slot.replace(delegate.clone()));
            Self::deposit_event(Event::OcwDelegateSet {
                custodian,
                delegate,
                previous,
            });
            Ok(())
        }

        /// Revoke the caller's off-chain-worker delegate. Allowed for former members too, so a
        /// removed hospital can still cut off a compromised node key.
        #[pallet::call_index(3)]
        #[pallet::weight(T::WeightInfo::revoke_ocw_delegate())]
        pub fn revoke_ocw_delegate(origin: OriginFor<T>) -> DispatchResult {
            let custodian = ensure_signed(origin)?;
            let delegate = OcwDelegates::<T>::take(&custodian).ok_or(Error::<T>::NoOcwDelegate)?;
            Self::deposit_event(Event::OcwDelegateRevoked {
                custodian,
                delegate,
            });
            Ok(())
        }
    }

    impl<T: Config> Pallet<T> {
        /// Check the invariants listed in the crate documentation.
        #[cfg(any(feature = "try-runtime", feature = "std"))]
        pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
            for (_, key) in DeliveryKeys::<T>::iter() {
                ensure!(
                    key.is_valid_p256_point(),
                    "a stored delivery key is not on P-256"
                );
            }
            for (custodian, delegate) in OcwDelegates::<T>::iter() {
                ensure!(custodian != delegate, "a custodian is its own delegate");
            }
            Ok(())
        }
    }

    impl<T: Config> DeliveryKeyRegistry<T::AccountId> for Pallet<T> {
        fn delivery_key(buyer: &T::AccountId) -> Option<DeliveryKey> {
            DeliveryKeys::<T>::get(buyer)
        }

        fn may_act_for(custodian: &T::AccountId, who: &T::AccountId) -> bool {
            who == custodian || OcwDelegates::<T>::get(custodian).as_ref() == Some(who)
        }

        #[cfg(feature = "runtime-benchmarks")]
        fn register_benchmark_key(buyer: &T::AccountId, key: DeliveryKey) {
            DeliveryKeys::<T>::insert(buyer, key);
        }
    }
}
