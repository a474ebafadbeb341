//! Test runtime for `pallet-revenue`: real balances, a stand-in escrow (a helper that pays into
//! the revenue account and calls the pallet, as the escrow does) and a stand-in consent
//! registry.

use crate::{
    self as pallet_revenue, merkle::PayoutTree, EnrolledOwners, EntryConsentCheck, OrderId,
    PayoutLeaf,
};
use frame_support::{
    derive_impl, parameter_types,
    storage::with_storage_layer,
    traits::{
        fungible::{Inspect, Mutate},
        tokens::Preservation,
        ConstU32, ConstU64,
    },
    PalletId,
};
use pallet_consent::{ConsentAnswer, RecordId};
use sp_core::H256;
use sp_runtime::{BuildStorage, DispatchResult, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Revenue: pallet_revenue,
    }
);

pub const HOSPITAL: u64 = 1;
pub const OTHER_HOSPITAL: u64 = 2;
/// Pays for the orders the stand-in escrow releases.
pub const BUYER: u64 = 3;
/// Submits claims for others.
pub const HELPER: u64 = 4;
/// The hospital's off-chain-worker delegate.
pub const DELEGATE: u64 = 5;
pub const TREASURY: u64 = 99;
/// Data owners; none has an account at genesis.
pub const ALICE: u64 = 10;
pub const BOB: u64 = 11;
pub const CAROL: u64 = 12;
pub const DAVE: u64 = 13;

pub const EXISTENTIAL_DEPOSIT: u64 = 5;
pub const EPOCH_LENGTH: u64 = 10;
pub const MAX_PROOF: u32 = 17;
pub const WINDOW: u64 = 100;
/// Blocks after an epoch's end by which its sales' root is due.
pub const ROOT_DEADLINE: u64 = 15;
pub const MAX_FREE_CALLS: u32 = 3;
pub const INITIAL_BALANCE: u64 = 1_000_000_000_000;

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type AccountStore = System;
    type ExistentialDeposit = ConstU64<EXISTENTIAL_DEPOSIT>;
}

parameter_types! {
    pub const RevenuePalletId: PalletId = PalletId(*b"ml/revnu");
    pub const Treasury: u64 = TREASURY;
    /// Orders the stand-in order book knows.
    pub static KnownOrders: Vec<OrderId> = vec![];
    /// (order, owner, record, from block): consent covers the entry from that block on.
    pub static Consented: Vec<(OrderId, u64, RecordId, u64)> = vec![];
    /// (owner, custodian) enrolments the stand-in ownership registry knows.
    pub static Enrolled: Vec<(u64, u64)> = vec![];
}

pub struct MockOwners;
impl EnrolledOwners<u64> for MockOwners {
    fn enrolled_at(custodian: &u64) -> Vec<u64> {
        Enrolled::get()
            .into_iter()
            .filter(|(_, at)| at == custodian)
            .map(|(owner, _)| owner)
            .collect()
    }
}

pub struct MockConsent;
impl EntryConsentCheck<u64, u64> for MockConsent {
    fn entry_consent(
        order: OrderId,
        owner: &u64,
        record: &RecordId,
        at: u64,
    ) -> Option<ConsentAnswer> {
        if !KnownOrders::get().contains(&order) {
            return None;
        }
        let covered = Consented::get()
            .iter()
            .any(|(o, w, r, from)| *o == order && w == owner && r == record && at >= *from);
        Some(if covered {
            ConsentAnswer::Covered { consent: 1 }
        } else {
            ConsentAnswer::NotCovered
        })
    }
}

/// The hospital's delegate is [`DELEGATE`]; nobody else has one.
pub struct MockDelegates;
impl pallet_delivery::DeliveryKeyRegistry<u64> for MockDelegates {
    fn delivery_key(_buyer: &u64) -> Option<pallet_delivery::DeliveryKey> {
        None
    }
    fn may_act_for(custodian: &u64, who: &u64) -> bool {
        custodian == who || (*custodian == HOSPITAL && *who == DELEGATE)
    }
    #[cfg(feature = "runtime-benchmarks")]
    fn register_benchmark_key(_buyer: &u64, _key: pallet_delivery::DeliveryKey) {}
}

// Extrinsics carry the signer's account and the call, nothing else to check.
pallet_delivery::impl_mock_offchain_signing!(Test, RuntimeCall);

impl pallet_revenue::Config for Test {
    type Currency = Balances;
    type PalletId = RevenuePalletId;
    type TreasuryAccount = Treasury;
    type SharesOrigin = frame_system::EnsureRoot<u64>;
    type RejectOrigin = frame_system::EnsureRoot<u64>;
    type Owners = MockOwners;
    type Consent = MockConsent;
    type DefaultEpochLength = ConstU64<EPOCH_LENGTH>;
    type Delegates = MockDelegates;
    type AuthorityId = TestDeliveryAuthority;
    type MaxProofLength = ConstU32<MAX_PROOF>;
    type RootDeadline = ConstU64<ROOT_DEADLINE>;
    type FreeCalls = MockFreeCalls;
    type WeightInfo = crate::weights::SubstrateWeight<Test>;
}

thread_local! {
    /// Per account: the start of its current window and the free calls made in it.
    static FREE_CALLS: core::cell::RefCell<std::collections::BTreeMap<u64, (u64, u32)>> =
        const { core::cell::RefCell::new(std::collections::BTreeMap::new()) };
}

/// The runtime's consent pallet keeps the shared budget; this stand-in keeps one the same
/// shape: `MAX_FREE_CALLS` per window of `WINDOW` blocks.
pub struct MockFreeCalls;
impl MockFreeCalls {
    /// Free calls `who` made in the current window.
    pub fn used(who: &u64) -> u32 {
        let window = System::block_number() / WINDOW;
        FREE_CALLS.with(|c| {
            c.borrow()
                .get(who)
                .filter(|(start, _)| *start == window)
                .map_or(0, |(_, calls)| *calls)
        })
    }
}
impl medledger_primitives::FreeCalls<u64> for MockFreeCalls {
    fn has_free_call(who: &u64) -> bool {
        Self::used(who) < MAX_FREE_CALLS
    }
    fn use_free_call(who: &u64) {
        let calls = (Self::used(who) + 1).min(MAX_FREE_CALLS);
        let window = System::block_number() / WINDOW;
        FREE_CALLS.with(|c| c.borrow_mut().insert(*who, (window, calls)));
    }
}

/// 70 % owners, 20 % custodian, 10 % treasury (the genesis split of the tests).
pub fn genesis_shares() -> crate::RevenueShares {
    crate::RevenueShares {
        owners: Perbill::from_percent(70),
        custodian: Perbill::from_percent(20),
        treasury: Perbill::from_percent(10),
    }
}

/// Hospitals, buyer and helper funded; owners and treasury without accounts; block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
    FREE_CALLS.with(|c| c.borrow_mut().clear());
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    pallet_balances::GenesisConfig::<Test> {
        balances: vec![
            (HOSPITAL, INITIAL_BALANCE),
            (OTHER_HOSPITAL, INITIAL_BALANCE),
            (BUYER, INITIAL_BALANCE),
            (HELPER, INITIAL_BALANCE),
        ],
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    pallet_revenue::GenesisConfig::<Test> {
        shares: Some(genesis_shares()),
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .unwrap();
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}

/// What the escrow does on release: transfer the price from the buyer to the revenue account,
/// then tell the pallet, all or nothing.
pub fn release(order: OrderId, custodian: u64, amount: u64, record_count: u32) -> DispatchResult {
    with_storage_layer(|| {
        Balances::transfer(
            &BUYER,
            &Revenue::account_id(),
            amount,
            Preservation::Preserve,
        )?;
        Revenue::escrow_released(order, &custodian, amount, record_count)
    })
}

/// Moves to the first block of the next epoch.
pub fn next_epoch() {
    let now = System::block_number();
    System::set_block_number(now - now % EPOCH_LENGTH + EPOCH_LENGTH);
}

/// The salt the tests give `owner`'s leaves.
pub fn salt_of(owner: u64) -> H256 {
    H256::from_low_u64_be(owner.wrapping_mul(0x9e37_79b9))
}

/// The leaf saying `owner` earned `amount` in all, with the tests' salt.
pub fn leaf(owner: u64, amount: u64) -> PayoutLeaf<u64, u64> {
    PayoutLeaf {
        owner,
        amount,
        salt: salt_of(owner),
    }
}

/// Builds the tree over `payouts` (owner, cumulative amount) and commits it for `custodian`
/// after `epoch` with `total`.
pub fn commit(custodian: u64, epoch: u32, payouts: &[(u64, u64)], total: u64) -> PayoutTree {
    let leaves: Vec<_> = payouts
        .iter()
        .map(|(owner, amount)| leaf(*owner, *amount))
        .collect();
    let tree = PayoutTree::from_leaves(&leaves);
    frame_support::assert_ok!(Revenue::commit_root(
        RuntimeOrigin::signed(custodian),
        custodian,
        epoch,
        tree.root(),
        total,
        tree.leaf_count(),
    ));
    tree
}

pub fn proof_of(
    tree: &PayoutTree,
    index: u32,
) -> frame_support::BoundedVec<H256, ConstU32<MAX_PROOF>> {
    tree.proof(index)
        .expect("leaf exists")
        .try_into()
        .expect("proof within MaxProofLength")
}

pub fn balance(who: u64) -> u64 {
    Balances::balance(&who)
}

/// The pallet's invariants, plus what only holds without stray transfers: the account holds
/// exactly its existential deposit and its liabilities.
pub fn check_invariants() {
    Revenue::do_try_state().expect("revenue invariants hold");
    let totals = crate::RevenueTotals::<Test>::get();
    assert_eq!(
        balance(Revenue::account_id()),
        EXISTENTIAL_DEPOSIT + totals.released - totals.paid,
        "the revenue account holds exactly its deposit and liabilities"
    );
}

/// Runs `test` from block 1 and checks every invariant after it.
pub fn run_test(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        test();
        check_invariants();
    });
}
