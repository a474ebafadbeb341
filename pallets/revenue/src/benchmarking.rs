//! Benchmarks of `pallet-revenue`, each at its worst case. A claim's cost is its path from the
//! leaf to the root, so the claim benchmarks build that path (random siblings, the root folded
//! from them) instead of whole trees: the chain computes exactly the same hashes.

use super::*;
use crate::{merkle, Pallet as Revenue};
use frame_benchmarking::v2::*;
use frame_support::{
    traits::{
        fungible::{Inspect, Mutate},
        EnsureOrigin, Get,
    },
    BoundedVec,
};
use frame_system::RawOrigin;
use sp_core::H256;
use sp_runtime::{traits::Saturating, Perbill};

fn assert_last_event<T: Config>(event: Event<T>) {
    frame_system::Pallet::<T>::assert_last_event(event.into());
}

/// A large amount in the runtime's currency.
fn plenty<T: Config>() -> BalanceOf<T> {
    T::Currency::minimum_balance().saturating_mul(1_000_000u32.into())
}

/// Releases `amount` for `custodian` in the current epoch as the escrow would; returns the
/// custodian's owners' earnings so far.
fn released<T: Config>(
    order: OrderId,
    custodian: &T::AccountId,
    amount: BalanceOf<T>,
) -> BalanceOf<T> {
    T::Currency::mint_into(&Revenue::<T>::account_id(), amount).expect("minting works");
    Revenue::<T>::escrow_released(order, custodian, amount, 1).expect("the release is funded");
    Earned::<T>::get(custodian).unwrap_or_default().total
}

/// Moves to the first block of the next epoch.
fn next_epoch<T: Config>() {
    let length = crate::EpochLength::<T>::get();
    let now = frame_system::Pallet::<T>::block_number();
    frame_system::Pallet::<T>::set_block_number(now.saturating_add(length));
}

/// A root of `leaf_count` leaves in which leaf 0 gives `owner` `amount`, with its proof.
fn path_to_leaf_zero<T: Config>(
    leaf: &PayoutLeaf<T::AccountId, BalanceOf<T>>,
    leaf_count: u32,
) -> (H256, BoundedVec<H256, T::MaxProofLength>) {
    let length = merkle::proof_length(0, leaf_count).unwrap_or(0);
    let siblings: alloc::vec::Vec<H256> = (0..length)
        .map(|level| H256(sp_io::hashing::blake2_256(&level.to_le_bytes())))
        .collect();
    let root = siblings
        .iter()
        .fold(merkle::leaf_hash(0, leaf), |node, sibling| {
            merkle::node_hash(&node, sibling)
        });
    (root, BoundedVec::truncate_from(siblings))
}

/// A committed root for `custodian` after the last epoch, leaf 0 giving `owner` all the
/// earnings; returns the epoch, leaf and proof.
fn committed_root<T: Config>(
    custodian: &T::AccountId,
    owner: &T::AccountId,
    leaf_count: u32,
) -> (
    EpochIndex,
    PayoutLeaf<T::AccountId, BalanceOf<T>>,
    BoundedVec<H256, T::MaxProofLength>,
) {
    let epoch = Revenue::<T>::current_epoch();
    let pool = released::<T>(0, custodian, plenty::<T>());
    next_epoch::<T>();
    let leaf = PayoutLeaf {
        owner: owner.clone(),
        amount: pool,
        salt: H256::repeat_byte(5),
    };
    let (root, proof) = path_to_leaf_zero::<T>(&leaf, leaf_count);
    Revenue::<T>::commit_root(
        RawOrigin::Signed(custodian.clone()).into(),
        custodian.clone(),
        epoch,
        root,
        pool,
        leaf_count,
    )
    .expect("the root matches the earnings");
    (epoch, leaf, proof)
}

#[benchmarks]
mod benchmarks {
    use super::*;

    #[benchmark]
    fn set_shares() -> Result<(), BenchmarkError> {
        let origin =
            T::SharesOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let shares = RevenueShares {
            owners: Perbill::from_percent(60),
            custodian: Perbill::from_percent(30),
            treasury: Perbill::from_percent(10),
        };

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, shares);

        assert_eq!(Shares::<T>::get(), shares);
        Ok(())
    }

    #[benchmark]
    fn commit_root() {
        let custodian: T::AccountId = account("custodian", 0, 0);
        let epoch = Revenue::<T>::current_epoch();
        let pool = released::<T>(0, &custodian, plenty::<T>());
        next_epoch::<T>();
        let leaf_count = u32::try_from(Revenue::<T>::max_leaves()).unwrap_or(u32::MAX);

        #[extrinsic_call]
        _(
            RawOrigin::Signed(custodian.clone()),
            custodian.clone(),
            epoch,
            H256::repeat_byte(7),
            pool,
            leaf_count,
        );

        assert!(PayoutRoots::<T>::contains_key(&custodian, epoch));
    }

    /// A third party's claim with a proof of `p` siblings, paying a new account.
    #[benchmark]
    fn claim(p: Linear<1, { T::MaxProofLength::get() }>) {
        let custodian: T::AccountId = account("custodian", 0, 0);
        let owner: T::AccountId = account("owner", 0, 0);
        let caller: T::AccountId = whitelisted_caller();
        let (epoch, leaf, proof) = committed_root::<T>(&custodian, &owner, 1u32 << p.min(31));
        assert_eq!(proof.len() as u32, p);
        let amount = leaf.amount;

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), custodian, epoch, 0, leaf, proof);

        assert_eq!(T::Currency::balance(&owner), amount);
    }

    /// The owner's own claim against a root of 100 000 leaves (a 17-sibling proof).
    #[benchmark]
    fn claim_in_100_000_leaf_root() {
        let custodian: T::AccountId = account("custodian", 0, 0);
        let owner: T::AccountId = account("owner", 0, 0);
        let (epoch, leaf, proof) = committed_root::<T>(&custodian, &owner, 100_000);
        assert_eq!(proof.len(), 17);
        let amount = leaf.amount;

        #[extrinsic_call]
        claim(
            RawOrigin::Signed(owner.clone()),
            custodian,
            epoch,
            0,
            leaf,
            proof,
        );

        assert_eq!(T::Currency::balance(&owner), amount);
    }

    #[benchmark]
    fn pay_owed() {
        let owner: T::AccountId = account("owner", 0, 0);
        let owed = T::Currency::minimum_balance()
            .saturating_sub(1u32.into())
            .max(1u32.into());
        T::Currency::mint_into(&Revenue::<T>::account_id(), owed).expect("minting works");
        Owed::<T>::insert(&owner, owed);
        // Owed as a custodian's share too small for a new account.
        RevenueTotals::<T>::mutate(|totals| {
            totals.released = totals.released.saturating_add(owed);
            totals.custodians = totals.custodians.saturating_add(owed);
        });
        T::Currency::mint_into(&owner, T::Currency::minimum_balance()).expect("minting works");

        #[extrinsic_call]
        _(RawOrigin::Signed(owner.clone()), owner.clone());

        assert_last_event::<T>(Event::Paid {
            who: owner,
            amount: owed,
        });
    }

    #[benchmark]
    fn reject_root() -> Result<(), BenchmarkError> {
        let origin =
            T::RejectOrigin::try_successful_origin().map_err(|_| BenchmarkError::Weightless)?;
        let custodian: T::AccountId = account("custodian", 0, 0);
        let owner: T::AccountId = account("owner", 0, 0);
        let (epoch, _, _) = committed_root::<T>(&custodian, &owner, 1);

        #[extrinsic_call]
        _(origin as T::RuntimeOrigin, custodian.clone(), epoch);

        assert_last_event::<T>(Event::RootRejected { custodian, epoch });
        Ok(())
    }

    #[benchmark]
    fn report_overdue_root() {
        let custodian: T::AccountId = account("custodian", 0, 0);
        let caller: T::AccountId = whitelisted_caller();
        released::<T>(0, &custodian, plenty::<T>());
        let due = RootDue::<T>::get(&custodian)
            .expect("a sale makes a root due")
            .due;
        frame_system::Pallet::<T>::set_block_number(due.saturating_add(1u32.into()));

        #[extrinsic_call]
        _(RawOrigin::Signed(caller), custodian.clone());

        assert_last_event::<T>(Event::RootOverdue { custodian, due });
    }

    /// A release paying a new custodian and a new treasury account.
    #[benchmark]
    fn escrow_released() {
        let custodian: T::AccountId = account("custodian", 0, 0);
        let amount = plenty::<T>();
        T::Currency::mint_into(&Revenue::<T>::account_id(), amount).expect("minting works");

        #[block]
        {
            Revenue::<T>::escrow_released(1, &custodian, amount, 100).expect("funded release");
        }

        assert!(ReleasedOrders::<T>::contains_key(1));
    }

    impl_benchmark_test_suite!(Revenue, crate::mock::new_test_ext(), crate::mock::Test);
}
