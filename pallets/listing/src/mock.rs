//! Test runtime: frame-system and this pallet, with a settable custodian set.

use crate as pallet_listing;
use crate::{ListingDescription, PriceModel, Pricing, Purpose, TimeRange};
use frame_support::{
    derive_impl, parameter_types,
    traits::{ConstU32, ConstU64, Contains},
};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Listing: pallet_listing,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type AccountStore = System;
    type RuntimeHoldReason = RuntimeHoldReason;
}

pub const HOSPITAL: u64 = 1;
pub const OTHER_HOSPITAL: u64 = 2;
pub const STRANGER: u64 = 99;
pub const MAX_SUMMARY_LEN: u32 = 64;
pub const DEPOSIT_BASE: u64 = 100;
pub const DEPOSIT_PER_BYTE: u64 = 2;
pub const INITIAL_BALANCE: u64 = 10_000;
/// A member hospital with too little to hold a listing's deposit.
pub const POOR_HOSPITAL: u64 = 3;

parameter_types! {
    pub static Members: Vec<u64> = vec![HOSPITAL, OTHER_HOSPITAL, POOR_HOSPITAL];
}

/// The consortium's member set, changeable per test through `Members::set`.
pub struct MockCustodians;
impl Contains<u64> for MockCustodians {
    fn contains(who: &u64) -> bool {
        Members::get().contains(who)
    }
}

#[cfg(feature = "runtime-benchmarks")]
pub struct MockBenchmarkHelper;
#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for MockBenchmarkHelper {
    fn make_custodian(who: &u64) {
        Members::mutate(|members| members.push(*who));
    }
}

impl pallet_listing::Config for Test {
    type Custodians = MockCustodians;
    type Balance = u64;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Currency = Balances;
    type ListingDepositBase = ConstU64<DEPOSIT_BASE>;
    type ListingDepositPerByte = ConstU64<DEPOSIT_PER_BYTE>;
    type MaxFilterSummaryLen = ConstU32<MAX_SUMMARY_LEN>;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockBenchmarkHelper;
}

pub fn description(
    summary: &[u8],
    purpose: Purpose,
) -> ListingDescription<ConstU32<MAX_SUMMARY_LEN>> {
    ListingDescription {
        filter_summary: summary.to_vec().try_into().expect("summary fits"),
        categories: categories(&["condition", "observation:laboratory"]),
        time_range: TimeRange {
            from: 1_577_836_800,
            until: 1_735_689_599,
        },
        purpose,
        terms_hash: sp_core::H256::repeat_byte(0x7e),
    }
}

/// A listing filter's category list from text codes.
pub fn categories(
    codes: &[&str],
) -> frame_support::BoundedVec<crate::CategoryCode, ConstU32<{ crate::MAX_LISTING_CATEGORIES }>> {
    codes
        .iter()
        .map(|code| code.as_bytes().to_vec().try_into().expect("code fits"))
        .collect::<Vec<_>>()
        .try_into()
        .expect("few enough codes")
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

pub fn new_test_ext() -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .expect("genesis builds");
    pallet_balances::GenesisConfig::<Test> {
        balances: vec![
            (HOSPITAL, INITIAL_BALANCE),
            (OTHER_HOSPITAL, INITIAL_BALANCE),
            (POOR_HOSPITAL, 50),
        ],
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .expect("balances genesis builds");
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}

/// Run `test` in a fresh externality and check the pallet's invariants after it.
pub fn run_test(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        test();
        Listing::do_try_state().expect("invariants hold after the test");
    });
}
