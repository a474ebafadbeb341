//! Test runtime for `pallet-consent`, with the real ownership pallet as its registry.

use crate as pallet_consent;
use frame_support::{
    assert_ok, derive_impl,
    traits::{ConstU32, ConstU64, Contains},
};
use frame_system::EnsureRoot;
use pallet_ownership::{RecordId, RecordRegistration};
use sp_core::H256;
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Ownership: pallet_ownership,
        Consent: pallet_consent,
    }
);

pub const HOSPITAL: u64 = 100;
/// Patients enrolled with `HOSPITAL`.
pub const ALICE: u64 = 1;
pub const BOB: u64 = 2;
/// An account enrolled nowhere.
pub const STRANGER: u64 = 3;
pub const BUYER: u64 = 10;
pub const OTHER_BUYER: u64 = 11;
pub const THIRD_BUYER: u64 = 12;

pub const MAX_CONSENTS: u32 = 4;
pub const MAX_CLASS_MEMBERS: u32 = 2;
pub const CLAIM_PERIOD: u64 = 20;
pub const WINDOW: u64 = 10;
pub const MAX_CALLS: u32 = 3;

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type DbWeight = frame_support::weights::constants::RocksDbWeight;
    type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type AccountStore = System;
    type RuntimeHoldReason = RuntimeHoldReason;
}

pub struct Hospitals;
impl Contains<u64> for Hospitals {
    fn contains(who: &u64) -> bool {
        *who == HOSPITAL
    }
}

impl pallet_ownership::Config for Test {
    type Custodians = Hospitals;
    type Balance = u64;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Currency = Balances;
    type EnrolmentDeposit = ConstU64<10>;
    type MaxBatchSize = ConstU32<100>;
    type MaxRecordsPerOwner = ConstU32<100>;
    type MaxEnrolmentsPerOwner = ConstU32<2>;
    type FreeEnrolmentCooldown = ConstU64<0>;
    type OwnerSignature = sp_runtime::testing::TestSignature;
    type MaxEnrolmentValidity = ConstU64<100>;
    type OnPatientReleased = Consent;
    type WeightInfo = ();
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = Hospitals;
}

#[cfg(feature = "runtime-benchmarks")]
impl pallet_ownership::BenchmarkHelper<u64, sp_runtime::testing::TestSignature> for Hospitals {
    fn custodian() -> u64 {
        HOSPITAL
    }
    fn patient() -> u64 {
        ALICE
    }
    fn sign_enrolment(patient: &u64, message: &[u8]) -> sp_runtime::testing::TestSignature {
        sp_runtime::testing::TestSignature(*patient, message.to_vec())
    }
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<u64> for Hospitals {
    fn owned_record(owner: &u64) -> RecordId {
        let id = H256::repeat_byte(0xbe);
        enrol(*owner);
        let registration = RecordRegistration {
            id,
            owner: *owner,
            commitment: H256::zero(),
        };
        assert_ok!(Ownership::register_records(
            RuntimeOrigin::signed(HOSPITAL),
            vec![registration]
        ));
        id
    }
}

impl pallet_consent::Config for Test {
    type Registry = Ownership;
    type ClassOrigin = EnsureRoot<u64>;
    type MaxConsentsPerOwner = ConstU32<MAX_CONSENTS>;
    type MaxClassMembers = ConstU32<MAX_CLASS_MEMBERS>;
    type MaxClassNameLen = ConstU32<32>;
    type ClaimPeriod = ConstU64<CLAIM_PERIOD>;
    type RateLimitWindow = ConstU64<WINDOW>;
    type MaxCallsPerWindow = ConstU32<MAX_CALLS>;
    type WeightInfo = crate::weights::SubstrateWeight<Test>;
    #[cfg(feature = "runtime-benchmarks")]
    type BenchmarkHelper = Hospitals;
}

/// The hospital enrols `owner` with the owner's signature.
pub fn enrol(owner: u64) {
    let valid_until = System::block_number() + 1;
    let message = Ownership::enrolment_message(&HOSPITAL, &owner, valid_until);
    assert_ok!(Ownership::enrol(
        RuntimeOrigin::signed(HOSPITAL),
        owner,
        valid_until,
        sp_runtime::testing::TestSignature(owner, message)
    ));
}

pub fn record_id(n: u32) -> RecordId {
    H256(sp_io::hashing::blake2_256(&n.to_le_bytes()))
}

/// Alice and Bob enrolled with the hospital, which registered records 1 and 2 (Alice's) and
/// 3 (Bob's).
fn populate() {
    for owner in [ALICE, BOB] {
        enrol(owner);
    }
    let records = [(1, ALICE), (2, ALICE), (3, BOB)].map(|(n, owner)| RecordRegistration {
        id: record_id(n),
        owner,
        commitment: H256::repeat_byte(n as u8),
    });
    assert_ok!(Ownership::register_records(
        RuntimeOrigin::signed(HOSPITAL),
        records.to_vec()
    ));
}

/// The hospital funded for its enrolment deposits, nothing else, at block 1.
pub fn new_test_ext() -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .unwrap();
    pallet_balances::GenesisConfig::<Test> {
        balances: vec![(HOSPITAL, 1_000_000)],
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .expect("balances genesis builds");
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}

/// Runs `test` from block 1 on the populated state, then checks both pallets' invariants.
pub fn run_test(test: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        populate();
        test();
        crate::Pallet::<Test>::do_try_state().expect("consent invariants hold after the test");
        pallet_ownership::Pallet::<Test>::do_try_state()
            .expect("ownership invariants hold after the test");
    });
}
