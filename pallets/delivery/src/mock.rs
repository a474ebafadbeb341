//! Test runtime: frame-system and this pallet, with a settable custodian set.

use crate as pallet_delivery;
use frame_support::{derive_impl, parameter_types, traits::Contains};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Delivery: pallet_delivery,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
}

pub const HOSPITAL: u64 = 1;
pub const OTHER_HOSPITAL: u64 = 2;
pub const NODE_KEY: u64 = 10;
pub const BUYER: u64 = 20;
pub const STRANGER: u64 = 99;

parameter_types! {
    pub static Members: Vec<u64> = vec![HOSPITAL, OTHER_HOSPITAL];
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

impl pallet_delivery::Config for Test {
    type Custodians = MockCustodians;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = MockBenchmarkHelper;
}

pub fn new_test_ext() -> sp_io::TestExternalities {
    let storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .expect("genesis builds");
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}

/// Run `test` in a fresh externality and check the pallet's invariants after it.
pub fn run_test(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        test();
        Delivery::do_try_state().expect("invariants hold after the test");
    });
}
