//! Test runtime for `pallet-ownership`: a block of the size the MedLedger runtime targets
//! (3 s slot, 2 s of compute, 75 % normal class, 5 MiB), three member hospitals with funds
//! for their enrolment deposits.

use crate as pallet_ownership;
use frame_support::{
    derive_impl,
    dispatch::DispatchClass,
    parameter_types,
    traits::{ConstU32, ConstU64, Contains},
    weights::{constants::WEIGHT_REF_TIME_PER_SECOND, Weight},
};
use frame_system::limits::{BlockLength, BlockWeights};
pub use sp_runtime::testing::TestSignature;
use sp_runtime::{BuildStorage, Perbill};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Ownership: pallet_ownership,
    }
);

pub const HOSPITAL_A: u64 = 100;
pub const HOSPITAL_B: u64 = 101;
pub const HOSPITAL_C: u64 = 103;
/// A hospital that is not (or no longer) a consortium member.
pub const OUTSIDER: u64 = 102;
/// A member hospital with too little to hold an enrolment deposit.
pub const POOR_HOSPITAL: u64 = 104;
pub const ALICE: u64 = 1;
pub const BOB: u64 = 2;

pub const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);
pub const MAX_BLOCK_LENGTH: u32 = 5 * 1024 * 1024;

parameter_types! {
    pub MockBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
        Weight::from_parts(2 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
        NORMAL_DISPATCH_RATIO,
    );
    pub MockBlockLength: BlockLength = BlockLength::builder()
        .max_length(MAX_BLOCK_LENGTH)
        .modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
        .build();
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type BlockWeights = MockBlockWeights;
    type BlockLength = MockBlockLength;
    type DbWeight = frame_support::weights::constants::RocksDbWeight;
    type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type AccountStore = System;
    type RuntimeHoldReason = RuntimeHoldReason;
}

parameter_types! {
    /// Every account the pallet let go, in order.
    pub static Released: Vec<u64> = vec![];
}

/// Records the accounts the pallet lets go.
pub struct ReleasedPatients;
impl medledger_primitives::OnPatientReleased<u64> for ReleasedPatients {
    fn on_patient_released(who: &u64) {
        Released::mutate(|released| released.push(*who));
    }
    fn weight() -> Weight {
        RELEASE_WEIGHT
    }
}

/// What the mock's `OnPatientReleased` says its work weighs.
pub const RELEASE_WEIGHT: Weight = Weight::from_parts(7_000_000, 700);

/// The consortium: hospitals A, B, C and the poor one.
pub struct Members;
impl Contains<u64> for Members {
    fn contains(who: &u64) -> bool {
        [HOSPITAL_A, HOSPITAL_B, HOSPITAL_C, POOR_HOSPITAL].contains(who)
    }
}

pub const MAX_BATCH: u32 = 1000;
pub const MAX_RECORDS_PER_OWNER: u32 = 600;
pub const MAX_ENROLMENTS: u32 = 2;
pub const COOLDOWN: u64 = 10;
pub const MAX_ENROLMENT_VALIDITY: u64 = 100;
pub const ENROLMENT_DEPOSIT: u64 = 50;
pub const INITIAL_BALANCE: u64 = 100_000;

impl pallet_ownership::Config for Test {
    type Custodians = Members;
    type Balance = u64;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Currency = Balances;
    type EnrolmentDeposit = ConstU64<ENROLMENT_DEPOSIT>;
    type MaxBatchSize = ConstU32<MAX_BATCH>;
    type MaxRecordsPerOwner = ConstU32<MAX_RECORDS_PER_OWNER>;
    type MaxEnrolmentsPerOwner = ConstU32<MAX_ENROLMENTS>;
    type FreeEnrolmentCooldown = ConstU64<COOLDOWN>;
    type OwnerSignature = TestSignature;
    type MaxEnrolmentValidity = ConstU64<MAX_ENROLMENT_VALIDITY>;
    type OnPatientReleased = ReleasedPatients;
    type WeightInfo = crate::weights::SubstrateWeight<Test>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = Members;
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64, TestSignature> for Members {
    fn custodian() -> u64 {
        HOSPITAL_A
    }
    fn patient() -> u64 {
        ALICE
    }
    fn sign_enrolment(patient: &u64, message: &[u8]) -> TestSignature {
        TestSignature(*patient, message.to_vec())
    }
}

/// Funded hospitals (the poor one below the deposit), nothing else, at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    pallet_balances::GenesisConfig::<Test> {
        balances: vec![
            (HOSPITAL_A, INITIAL_BALANCE),
            (HOSPITAL_B, INITIAL_BALANCE),
            (HOSPITAL_C, INITIAL_BALANCE),
            (POOR_HOSPITAL, ENROLMENT_DEPOSIT / 2),
        ],
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .expect("balances genesis builds");
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}

/// Runs `test` at block 1 and then checks the pallet's invariants.
pub fn run_test(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        test();
        crate::Pallet::<Test>::do_try_state().expect("invariants hold after the test");
    });
}
