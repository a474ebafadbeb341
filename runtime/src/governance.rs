//! Consortium governance: member hospitals and regulators (pallet-consortium) and the validator
//! set that follows the membership (pallet-session). Decisions "by the consortium" reach other
//! pallets as Root: a consortium chain has no sudo key, so Root is only a passed two-thirds vote.

use frame_support::{
    parameter_types,
    traits::{ConstU32, Contains},
};
use sp_runtime::traits::{ConvertInto, OpaqueKeys};

use crate::{
    opaque::SessionKeys, AccountId, Balance, Balances, BlockNumber, Consortium, Runtime,
    RuntimeCall, RuntimeEvent, DAYS, MICRO_UNIT, UNIT,
};

parameter_types! {
    /// Fewest hospitals, and fewest validators: GRANDPA with four tolerates one faulty.
    pub const MinMembers: u32 = 4;
    /// A vote stays open two days unless the chain spec or a Root proposal says otherwise;
    /// undecided, it changes nothing.
    pub const DefaultProposalLifetime: BlockNumber = 2 * DAYS;
    pub const SessionKeyDeposit: Balance = 0;
    /// A member proposal holds this from its proposer until it is decided or closed, plus
    /// the per-byte part for its action (a runtime upgrade of 2.5 MB: about 250 MED).
    pub const ProposalDepositBase: Balance = UNIT;
    pub const ProposalDepositPerByte: Balance = 100 * MICRO_UNIT;
}

impl pallet_consortium::Config for Runtime {
    type RuntimeCall = RuntimeCall;
    type Disputes = crate::marketplace::ConsortiumDisputes;
    type RuntimeHoldReason = crate::RuntimeHoldReason;
    type Currency = Balances;
    type ProposalDepositBase = ProposalDepositBase;
    type ProposalDepositPerByte = ProposalDepositPerByte;
    type Session = SessionState;
    type MinMembers = MinMembers;
    type MaxMembers = ConstU32<32>;
    type MaxRegulators = ConstU32<16>;
    type MaxPeersPerHospital = ConstU32<4>;
    /// A libp2p peer id is 38 bytes (identity multihash of an ed25519 key); room for others.
    type MaxPeerIdLen = ConstU32<64>;
    type MaxNameLen = ConstU32<64>;
    type MaxUrlLen = ConstU32<256>;
    /// A runtime upgrade carries the whole wasm: up to 3 MiB (the normal-class block length is
    /// 3.75 MiB).
    type MaxCallLen = ConstU32<{ 3 * 1024 * 1024 }>;
    type MaxOpenProposals = ConstU32<64>;
    /// At most 8 open proposals per member, so no member crowds out the others.
    type MaxProposalsPerMember = ConstU32<8>;
    /// Each dispute costs the buyer a bond; room for many at once, apart from proposals.
    type MaxOpenDisputes = ConstU32<256>;
    type DefaultProposalLifetime = DefaultProposalLifetime;
    type WeightInfo = pallet_consortium::weights::SubstrateWeight<Runtime>;
}

/// pallet-session's keys and queue, as the consortium sees them.
pub struct SessionState;
impl pallet_consortium::SessionView<AccountId> for SessionState {
    fn has_keys(who: &AccountId) -> bool {
        pallet_session::NextKeys::<Runtime>::contains_key(who)
    }
    fn queued_validators() -> Option<alloc::vec::Vec<AccountId>> {
        Some(
            pallet_session::QueuedKeys::<Runtime>::get()
                .into_iter()
                .map(|(validator, _)| validator)
                .collect(),
        )
    }
}

/// Validators are the member hospitals with registered session keys: the consortium pallet is
/// the session manager, and sessions last `SessionLength` blocks (set in genesis).
impl pallet_session::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type ValidatorId = AccountId;
    type ValidatorIdOf = ConvertInto;
    type ShouldEndSession = Consortium;
    type NextSessionRotation = Consortium;
    type SessionManager = Consortium;
    type SessionHandler = <SessionKeys as OpaqueKeys>::KeyTypeIdProviders;
    type Keys = SessionKeys;
    /// No slashing or disabling: a misbehaving hospital is voted out.
    type DisablingStrategy = ();
    type WeightInfo = pallet_session::weights::SubstrateWeight<Runtime>;
    type Currency = Balances;
    /// Only members' keys matter, so registering keys costs no deposit.
    type KeyDeposit = SessionKeyDeposit;
}

/// Calls every signed transaction may make. Only one is refused: `session.purge_keys` while no
/// more than `MinMembers` members have session keys — purging would leave too few validators,
/// and the session manager would then keep the current set instead (Root is not filtered).
pub struct KeepEnoughValidators;
impl Contains<RuntimeCall> for KeepEnoughValidators {
    fn contains(call: &RuntimeCall) -> bool {
        match call {
            RuntimeCall::Session(pallet_session::Call::purge_keys { .. }) => {
                Consortium::members_with_keys() > MinMembers::get()
            }
            _ => true,
        }
    }
}
