//! A test runtime: frame-system, balances and the consortium, with founding hospitals 1..=4
//! (funded) and one regulator (account 100).

use crate as pallet_consortium;
use core::cell::RefCell;
use frame_support::{derive_impl, parameter_types, traits::ConstU32};
use sp_runtime::BuildStorage;

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Consortium: pallet_consortium,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    // Storage accesses have a price, so tests can see who pays for them.
    type DbWeight = frame_support::weights::constants::RocksDbWeight;
    type AccountData = pallet_balances::AccountData<u64>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type AccountStore = System;
    type RuntimeHoldReason = RuntimeHoldReason;
}

/// What hospitals 1..=6 start with.
pub const INITIAL_BALANCE: u64 = 100_000;
pub const DEPOSIT_BASE: u64 = 10;
pub const DEPOSIT_PER_BYTE: u64 = 1;

thread_local! {
    /// Dispute decisions the consortium reported to the (mock) escrow.
    pub static DECISIONS: RefCell<Vec<(u64, crate::DisputeOutcome)>> = const { RefCell::new(Vec::new()) };
}

thread_local! {
    /// Accounts without session keys (every other account has them).
    pub static UNKEYED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
    /// What the (mock) session pallet queued, for tests that check the invariant.
    pub static SESSION_QUEUE: RefCell<Option<Vec<u64>>> = const { RefCell::new(None) };
}

pub struct MockSession;
impl crate::SessionView<u64> for MockSession {
    fn has_keys(who: &u64) -> bool {
        UNKEYED.with(|u| !u.borrow().contains(who))
    }
    fn queued_validators() -> Option<Vec<u64>> {
        SESSION_QUEUE.with(|q| q.borrow().clone())
    }
}

/// What a decision weighs in the mock.
pub const DECISION_WEIGHT: frame_support::weights::Weight =
    frame_support::weights::Weight::from_parts(7_000_000, 700);
/// The mock escrow fails to apply a decision on this order, after writing storage.
pub const FAILING_ORDER: u64 = 13;
/// Where the mock escrow writes the last order it applied a decision to.
pub const DECIDED_KEY: &[u8] = b":mock:decided:";

pub struct RecordDisputes;
impl crate::DisputeDecisions for RecordDisputes {
    fn dispute_decided(
        order: u64,
        outcome: crate::DisputeOutcome,
    ) -> frame_support::dispatch::DispatchResult {
        DECISIONS.with(|d| d.borrow_mut().push((order, outcome)));
        frame_support::storage::unhashed::put(DECIDED_KEY, &order);
        if order == FAILING_ORDER {
            return Err(sp_runtime::DispatchError::Other("the mock escrow refuses"));
        }
        Ok(())
    }

    fn decision_weight() -> frame_support::weights::Weight {
        DECISION_WEIGHT
    }
}

parameter_types! {
    pub const DefaultProposalLifetime: u64 = 100;
}

impl pallet_consortium::Config for Test {
    type RuntimeCall = RuntimeCall;
    type Disputes = RecordDisputes;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Currency = Balances;
    type ProposalDepositBase = frame_support::traits::ConstU64<DEPOSIT_BASE>;
    type ProposalDepositPerByte = frame_support::traits::ConstU64<DEPOSIT_PER_BYTE>;
    type Session = MockSession;
    type MinMembers = ConstU32<4>;
    type MaxMembers = ConstU32<6>;
    type MaxRegulators = ConstU32<2>;
    type MaxPeersPerHospital = ConstU32<3>;
    type MaxPeerIdLen = ConstU32<64>;
    type MaxNameLen = ConstU32<32>;
    type MaxUrlLen = ConstU32<64>;
    type MaxCallLen = ConstU32<1024>;
    type MaxOpenProposals = ConstU32<4>;
    type MaxOpenDisputes = ConstU32<3>;
    type MaxProposalsPerMember = ConstU32<3>;
    type DefaultProposalLifetime = DefaultProposalLifetime;
    type WeightInfo = ();
}

/// The peer id used for hospital/regulator `n`'s node in tests.
pub fn peer(n: u64) -> Vec<u8> {
    let mut id = b"peer-".to_vec();
    id.extend_from_slice(&n.to_le_bytes());
    id
}

pub const REGULATOR: u64 = 100;
/// The genesis proposal lifetime of the test chain (the default is longer).
pub const LIFETIME: u64 = 10;

pub fn new_test_ext() -> sp_io::TestExternalities {
    let storage = RuntimeGenesisConfig {
        system: Default::default(),
        balances: pallet_balances::GenesisConfig {
            // Hospitals 5 and 6, admitted in some tests, are funded too; 7 is not.
            balances: (1..=6u64).map(|n| (n, INITIAL_BALANCE)).collect(),
            ..Default::default()
        },
        consortium: pallet_consortium::GenesisConfig {
            hospitals: (1..=4u64)
                .map(|n| {
                    (
                        n,
                        format!("Hospital {n}").into_bytes(),
                        b"https://h.example/".to_vec(),
                        vec![peer(n)],
                    )
                })
                .collect(),
            regulators: vec![(REGULATOR, b"Health Authority".to_vec(), peer(REGULATOR))],
            session_length: 5,
            proposal_lifetime: LIFETIME as u32,
        },
    }
    .build_storage()
    .expect("valid genesis");
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    DECISIONS.with(|d| d.borrow_mut().clear());
    UNKEYED.with(|u| u.borrow_mut().clear());
    SESSION_QUEUE.with(|q| *q.borrow_mut() = None);
    ext
}

/// Runs a test and then checks the pallet's invariants.
pub fn test(body: impl FnOnce()) {
    new_test_ext().execute_with(|| {
        body();
        Consortium::do_try_state().expect("consortium invariants hold after the test");
    });
}
