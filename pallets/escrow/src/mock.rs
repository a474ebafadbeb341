//! Test runtime: balances, the real listing and delivery pallets, and this pallet, with
//! a settable custodian set and recording mocks of the revenue and dispute-vote traits.

use crate as pallet_escrow;
use crate::{DisputeResolver, OnEscrowRelease, OrderId};
use frame_support::{
    assert_ok, derive_impl, parameter_types,
    traits::{ConstU32, ConstU64, Contains},
};
use frame_system::EnsureRoot;
use pallet_delivery::{DeliveryKey, P256_GENERATOR_COMPRESSED};
use pallet_listing::{ListingDescription, ListingId, PriceModel, Pricing, Purpose, TimeRange};
use sp_runtime::{BuildStorage, DispatchError, DispatchResult};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Listing: pallet_listing,
        Delivery: pallet_delivery,
        Escrow: pallet_escrow,
    }
);

pub const HOSPITAL: u64 = 1;
pub const OTHER_HOSPITAL: u64 = 2;
pub const NODE_KEY: u64 = 10;
pub const BUYER: u64 = 20;
pub const OTHER_BUYER: u64 = 21;
pub const POOR_BUYER: u64 = 22;
pub const STRANGER: u64 = 99;
pub const REVENUE: u64 = 1_000;

pub const EXISTENTIAL_DEPOSIT: u64 = 5;
pub const DELIVERY_PERIOD: u64 = 10;
pub const DISPUTE_WINDOW: u64 = 5;
pub const VOTING_PERIOD: u64 = 7;
pub const DISPUTE_BOND: u64 = 50;
pub const MAX_AUTO_RELEASES: u32 = 3;
pub const INITIAL_BALANCE: u64 = 10_000;
pub const POOR_BALANCE: u64 = 1_030;

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type AccountStore = System;
    type ExistentialDeposit = ConstU64<EXISTENTIAL_DEPOSIT>;
    type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
    pub static Members: Vec<u64> = vec![HOSPITAL, OTHER_HOSPITAL];
    /// Every `on_escrow_released` call: (order, custodian, amount, record_count).
    pub static Releases: Vec<(OrderId, u64, u64, u32)> = vec![];
    pub static RevenueFails: bool = false;
    /// Every `open_dispute` call: (order, custodian, buyer).
    pub static OpenedDisputes: Vec<(OrderId, u64, u64)> = vec![];
    pub static ClosedDisputes: Vec<OrderId> = vec![];
    pub static ResolverFails: bool = false;
}

/// The consortium's member set, changeable per test through `Members::set`.
pub struct MockCustodians;
impl Contains<u64> for MockCustodians {
    fn contains(who: &u64) -> bool {
        Members::get().contains(who)
    }
}

/// What the mock revenue handler fails with when `RevenueFails` is set (an error that survives
/// event encoding, unlike `DispatchError::Other`'s message).
pub const REVENUE_REFUSED: DispatchError = DispatchError::Unavailable;

pub struct MockRevenue;
impl OnEscrowRelease<u64, u64> for MockRevenue {
    fn revenue_account() -> u64 {
        REVENUE
    }
    fn on_escrow_released(
        order: OrderId,
        custodian: &u64,
        amount: u64,
        record_count: u32,
    ) -> DispatchResult {
        if RevenueFails::get() {
            return Err(REVENUE_REFUSED);
        }
        Releases::mutate(|releases| releases.push((order, *custodian, amount, record_count)));
        Ok(())
    }
}

pub struct MockResolver;
impl DisputeResolver<u64> for MockResolver {
    fn open_dispute(order: OrderId, custodian: &u64, buyer: &u64) -> DispatchResult {
        if ResolverFails::get() {
            return Err(DispatchError::Other("no vote possible"));
        }
        OpenedDisputes::mutate(|opened| opened.push((order, *custodian, *buyer)));
        Ok(())
    }
    fn dispute_closed(order: OrderId) {
        ClosedDisputes::mutate(|closed| closed.push(order));
    }
}

#[cfg(feature = "runtime-benchmarks")]
pub struct MockBenchmarkHelper;
#[cfg(feature = "runtime-benchmarks")]
impl pallet_listing::BenchmarkHelper<u64> for MockBenchmarkHelper {
    fn make_custodian(who: &u64) {
        Members::mutate(|members| members.push(*who));
    }
}
#[cfg(feature = "runtime-benchmarks")]
impl pallet_delivery::BenchmarkHelper<u64> for MockBenchmarkHelper {
    fn make_custodian(who: &u64) {
        Members::mutate(|members| members.push(*who));
    }
}

/// No listing deposit here, so the custodians' balances follow the orders alone; the listing
/// pallet's own tests cover the deposit, these the listing's lifetime along its orders.
pub const LISTING_DEPOSIT: u64 = 0;

impl pallet_listing::Config for Test {
    type Custodians = MockCustodians;
    type Balance = u64;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Currency = Balances;
    type ListingDepositBase = ConstU64<LISTING_DEPOSIT>;
    type ListingDepositPerByte = ConstU64<0>;
    type MaxFilterSummaryLen = ConstU32<64>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockBenchmarkHelper;
}

impl pallet_delivery::Config for Test {
    type Custodians = MockCustodians;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockBenchmarkHelper;
}

// Extrinsics carry the signer's account and the call, nothing else to check.
pallet_delivery::impl_mock_offchain_signing!(Test, RuntimeCall);

impl pallet_escrow::Config for Test {
    type AuthorityId = TestDeliveryAuthority;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Currency = Balances;
    type Custodians = MockCustodians;
    type Listings = Listing;
    type DeliveryKeys = Delivery;
    type Revenue = MockRevenue;
    type DisputeResolver = MockResolver;
    type DecisionOrigin = EnsureRoot<u64>;
    type DeliveryPeriod = ConstU64<DELIVERY_PERIOD>;
    type DisputeWindow = ConstU64<DISPUTE_WINDOW>;
    type DisputeVotingPeriod = ConstU64<VOTING_PERIOD>;
    type DisputeBond = ConstU64<DISPUTE_BOND>;
    type MaxAutoReleasesPerBlock = ConstU32<MAX_AUTO_RELEASES>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockBenchmarkHelper;
}

/// The buyers' token key (the P-256 generator: a valid point from SEC 2).
pub fn buyer_key() -> DeliveryKey {
    DeliveryKey(P256_GENERATOR_COMPRESSED)
}

/// Another valid key: x = 5 lies on P-256 (checked independently of this code).
pub fn rotated_key() -> DeliveryKey {
    let mut bytes = [0u8; 33];
    bytes[0] = 0x02;
    bytes[32] = 5;
    DeliveryKey(bytes)
}

pub fn per_record(price: u64, max_records: u32) -> Pricing<u64> {
    Pricing {
        model: PriceModel::PerRecord(price),
        max_records,
    }
}

pub fn flat(price: u64, max_records: u32) -> Pricing<u64> {
    Pricing {
        model: PriceModel::Flat(price),
        max_records,
    }
}

/// `custodian` lists a dataset at `pricing`; returns its id.
pub fn list(custodian: u64, pricing: Pricing<u64>) -> ListingId {
    let id = pallet_listing::NextListingId::<Test>::get();
    assert_ok!(Listing::create_listing(
        RuntimeOrigin::signed(custodian),
        ListingDescription {
            filter_summary: b"HbA1c, adults".to_vec().try_into().expect("fits"),
            categories: Default::default(),
            time_range: TimeRange {
                from: 0,
                until: 1_000
            },
            purpose: Purpose::Research,
            terms_hash: sp_core::H256::repeat_byte(1),
        },
        pricing,
    ));
    id
}

pub fn new_test_ext() -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .expect("builds");
    pallet_balances::GenesisConfig::<Test> {
        balances: vec![
            (HOSPITAL, INITIAL_BALANCE),
            (OTHER_HOSPITAL, INITIAL_BALANCE),
            (NODE_KEY, INITIAL_BALANCE),
            (BUYER, INITIAL_BALANCE),
            (OTHER_BUYER, INITIAL_BALANCE),
            (POOR_BUYER, POOR_BALANCE),
            (STRANGER, INITIAL_BALANCE),
            (REVENUE, EXISTENTIAL_DEPOSIT),
        ],
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .expect("balances genesis builds");
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| {
        System::set_block_number(1);
        Members::set(vec![HOSPITAL, OTHER_HOSPITAL]);
        Releases::set(vec![]);
        RevenueFails::set(false);
        OpenedDisputes::set(vec![]);
        ClosedDisputes::set(vec![]);
        ResolverFails::set(false);
        for buyer in [BUYER, OTHER_BUYER, POOR_BUYER] {
            assert_ok!(Delivery::register_delivery_key(
                RuntimeOrigin::signed(buyer),
                buyer_key()
            ));
        }
    });
    ext
}

/// Total held by the balances pallet under escrow's reasons, over every account (not only
/// the buyers escrow knows about).
pub fn total_held_for_escrow() -> u64 {
    pallet_balances::Holds::<Test>::iter()
        .flat_map(|(_, holds)| holds.into_iter())
        .filter(|hold| matches!(hold.id, RuntimeHoldReason::Escrow(_)))
        .map(|hold| hold.amount)
        .sum()
}

/// The sum of open orders' prices and disputed orders' bonds.
pub fn total_owed_by_orders() -> u64 {
    crate::Orders::<Test>::iter_values()
        .map(|order| {
            let price = if order.state.is_open() {
                order.price
            } else {
                0
            };
            let bond = if matches!(order.state, crate::OrderState::Disputed { .. }) {
                order.bond
            } else {
                0
            };
            price + bond
        })
        .sum()
}

/// All invariants: the pallets' own `try_state` and the global escrow total.
pub fn check_invariants() {
    Escrow::do_try_state().expect("escrow invariants hold");
    Listing::do_try_state().expect("listing invariants hold");
    Delivery::do_try_state().expect("delivery invariants hold");
    assert_eq!(
        total_held_for_escrow(),
        total_owed_by_orders(),
        "held == open orders + bonds"
    );
}

/// Run `test` in a fresh externality and check every invariant after it.
pub fn run_test(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        test();
        check_invariants();
    });
}
