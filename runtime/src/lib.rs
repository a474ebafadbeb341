//! The MedLedger runtime.
//!
//! A permissioned chain run by a consortium of hospitals: Aura authors a block every
//! [`MILLISECS_PER_BLOCK`] and GRANDPA finalizes. Transaction fees are paid in the chain's
//! token ([`TOKEN_SYMBOL`], [`TOKEN_DECIMALS`] decimals). There is no sudo: Root is only a passed
//! two-thirds vote of the consortium, on development chains too.

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime` (via `#[frame_support::runtime]`) needs a larger recursion limit.
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

// Before `apis`: its `Benchmark` API uses the macros that `define_benchmarks!` defines here.
#[cfg(feature = "runtime-benchmarks")]
#[macro_use]
mod benchmarks;
mod apis;
pub mod genesis_config_presets;
mod governance;
mod marketplace;
mod weights;

use alloc::{borrow::Cow, vec::Vec};
use frame_support::{
    derive_impl,
    dispatch::DispatchClass,
    parameter_types,
    traits::{ConstBool, ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
    weights::{constants::WEIGHT_REF_TIME_PER_SECOND, ConstantMultiplier, IdentityFee, Weight},
};
use pallet_transaction_payment::{ConstFeeMultiplier, FungibleAdapter, Multiplier};
use sp_runtime::{
    generic, impl_opaque_keys,
    traits::{BlakeTwo256, IdentifyAccount, One, Verify},
    MultiAddress, MultiSignature, Perbill,
};
use sp_version::RuntimeVersion;

pub use frame_system::Call as SystemCall;
pub use pallet_balances::Call as BalancesCall;
pub use pallet_timestamp::Call as TimestampCall;
#[cfg(any(feature = "std", test))]
pub use sp_runtime::BuildStorage;

#[cfg(feature = "std")]
pub use apis::RuntimeApi;
pub use marketplace::benchmark_whitelist;

/// Block number.
pub type BlockNumber = u32;
/// Transaction signature: sr25519, ed25519 or ecdsa, as wallets produce them.
pub type Signature = MultiSignature;
/// Account id: the public key of the signing scheme.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// Balance of an account, in the smallest unit (10^-[`TOKEN_DECIMALS`] [`TOKEN_SYMBOL`]).
pub type Balance = u128;
/// Transaction index of an account.
pub type Nonce = u32;
/// Block and state hash.
pub type Hash = sp_core::H256;

/// Chain token shown by wallets (chain spec properties).
pub const TOKEN_SYMBOL: &str = "MED";
/// Decimal places of [`TOKEN_SYMBOL`].
pub const TOKEN_DECIMALS: u8 = 12;
/// SS58 address prefix (42: generic Substrate, understood by every wallet).
pub const SS58_PREFIX: u16 = 42;

/// One whole token in the smallest unit.
pub const UNIT: Balance = 1_000_000_000_000;
pub const MILLI_UNIT: Balance = UNIT / 1_000;
pub const MICRO_UNIT: Balance = UNIT / 1_000_000;
/// Smallest balance an account may hold.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_UNIT;

/// Target block time. Aura's slot is this long.
pub const MILLISECS_PER_BLOCK: u64 = 3_000;
/// Slot duration; cannot change once the chain runs.
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;
pub const MINUTES: BlockNumber = 60_000 / (MILLISECS_PER_BLOCK as BlockNumber);
pub const HOURS: BlockNumber = MINUTES * 60;
pub const DAYS: BlockNumber = HOURS * 24;

/// Opaque types for the node, which must not depend on the runtime's call types.
pub mod opaque {
    use super::*;
    use alloc::vec::Vec;
    pub use sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

    pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
    pub type Block = generic::Block<Header, UncheckedExtrinsic>;
    pub type BlockId = generic::BlockId<Block>;

    impl_opaque_keys! {
        pub struct SessionKeys {
            pub aura: Aura,
            pub grandpa: Grandpa,
        }
    }
}

/// The runtime's version. The `next-spec-version` feature builds this same code as the next
/// spec version: the wasm that the runtime-upgrade test enacts by a consortium vote.
macro_rules! runtime_version {
    ($spec_version:tt) => {
        #[sp_version::runtime_version]
        pub const VERSION: RuntimeVersion = RuntimeVersion {
            spec_name: Cow::Borrowed("medledger"),
            impl_name: Cow::Borrowed("medledger-node"),
            authoring_version: 1,
            spec_version: $spec_version,
            impl_version: 1,
            apis: apis::RUNTIME_API_VERSIONS,
            transaction_version: 1,
            system_version: 1,
        };
    };
}
#[cfg(not(feature = "next-spec-version"))]
runtime_version!(100);
#[cfg(feature = "next-spec-version")]
runtime_version!(101);

/// Share of a block that ordinary (non-operational) transactions may fill.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
    pub const BlockHashCount: BlockNumber = 2400;
    pub const Version: RuntimeVersion = VERSION;
    /// One second of compute per 3 s slot: the author builds within 2/3 of the slot
    /// (`block_proposal_slot_portion`), and importers on slower machines need headroom.
    /// An empty block and each transaction's base cost what `scripts/bench-weights.sh overhead`
    /// measured (`weights::block_weights`, `weights::extrinsic_weights`); otherwise these are
    /// FRAME's `with_sensible_defaults`.
    pub RuntimeBlockWeights: frame_system::limits::BlockWeights = {
        let max_block = Weight::from_parts(WEIGHT_REF_TIME_PER_SECOND, u64::MAX);
        let normal = NORMAL_DISPATCH_RATIO * max_block;
        frame_system::limits::BlockWeights::builder()
            .base_block(weights::block_weights::BlockExecutionWeight::get())
            .for_class(DispatchClass::all(), |class| {
                class.base_extrinsic = weights::extrinsic_weights::ExtrinsicBaseWeight::get();
            })
            .for_class(DispatchClass::Normal, |class| class.max_total = Some(normal))
            .for_class(DispatchClass::Operational, |class| {
                class.max_total = Some(max_block);
                class.reserved = Some(max_block - normal);
            })
            .avg_block_initialization(Perbill::from_percent(10))
            .build_or_panic()
    };
    /// 5 MiB blocks, of which ordinary transactions may fill 75%.
    pub RuntimeBlockLength: frame_system::limits::BlockLength =
        frame_system::limits::BlockLength::builder()
            .max_length(5 * 1024 * 1024)
            .modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
            .build();
    pub const SS58Prefix: u16 = SS58_PREFIX;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
    type BaseCallFilter = governance::KeepEnoughValidators;
    type Block = Block;
    type BlockWeights = RuntimeBlockWeights;
    type BlockLength = RuntimeBlockLength;
    type AccountId = AccountId;
    type Nonce = Nonce;
    type Hash = Hash;
    type BlockHashCount = BlockHashCount;
    /// Measured on a validator's RocksDB by `scripts/bench-storage.sh`.
    type DbWeight = weights::rocksdb_weights::constants::RocksDbWeight;
    type Version = Version;
    type AccountData = pallet_balances::AccountData<Balance>;
    type SS58Prefix = SS58Prefix;
    type MaxConsumers = ConstU32<16>;
    type SystemWeightInfo = weights::frame_system::WeightInfo<Runtime>;
    type ExtensionsWeightInfo = weights::frame_system_extensions::WeightInfo<Runtime>;
}

impl pallet_aura::Config for Runtime {
    type AuthorityId = sp_consensus_aura::sr25519::AuthorityId;
    type DisabledValidators = ();
    type MaxAuthorities = ConstU32<64>;
    type AllowMultipleBlocksPerSlot = ConstBool<false>;
    type SlotDuration = pallet_aura::MinimumPeriodTimesTwo<Runtime>;
}

impl pallet_grandpa::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    // GRANDPA's only weights (upstream's, derived from its benchmarks): its calls are
    // equivocation reports, which this runtime does not take, and Root's `note_stalled`.
    type WeightInfo = ();
    type MaxAuthorities = ConstU32<64>;
    type MaxNominators = ConstU32<0>;
    type MaxSetIdSessionEntries = ConstU64<0>;
    type KeyOwnerProof = sp_core::Void;
    type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
    /// Milliseconds since the Unix epoch.
    type Moment = u64;
    type OnTimestampSet = Aura;
    type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
    type WeightInfo = weights::pallet_timestamp::WeightInfo<Runtime>;
}

impl pallet_balances::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type RuntimeHoldReason = RuntimeHoldReason;
    type RuntimeFreezeReason = RuntimeFreezeReason;
    type WeightInfo = weights::pallet_balances::WeightInfo<Runtime>;
    type Balance = Balance;
    type DustRemoval = ();
    type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
    type AccountStore = System;
    type ReserveIdentifier = [u8; 8];
    type FreezeIdentifier = RuntimeFreezeReason;
    type MaxLocks = ConstU32<50>;
    type MaxReserves = ConstU32<50>;
    type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
    type DoneSlashHandler = ();
}

parameter_types! {
    /// Fees do not rise with congestion: a consortium chain is not an open fee market.
    pub FeeMultiplier: Multiplier = Multiplier::one();
}

/// Fees: one smallest unit per picosecond of weight (a whole second of block compute costs one
/// MED) and one micro-MED per byte (a MiB costs about one MED), so neither a block's compute nor
/// its bytes can be filled for nothing. Patients' calls are feeless (`SkipCheckIfFeeless`).
impl pallet_transaction_payment::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
    type OnChargeTransaction = FungibleAdapter<Balances, ()>;
    type WeightToFee = IdentityFee<Balance>;
    type LengthToFee = ConstantMultiplier<Balance, ConstU128<MICRO_UNIT>>;
    type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
    type OperationalFeeMultiplier = ConstU8<5>;
    type WeightInfo = weights::pallet_transaction_payment::WeightInfo<Runtime>;
}

impl pallet_skip_feeless_payment::Config for Runtime {
    type RuntimeEvent = RuntimeEvent;
}

#[frame_support::runtime]
mod runtime {
    #[runtime::runtime]
    #[runtime::derive(
        RuntimeCall,
        RuntimeEvent,
        RuntimeError,
        RuntimeOrigin,
        RuntimeFreezeReason,
        RuntimeHoldReason,
        RuntimeSlashReason,
        RuntimeLockId,
        RuntimeTask,
        RuntimeViewFunction
    )]
    pub struct Runtime;

    #[runtime::pallet_index(0)]
    pub type System = frame_system;
    #[runtime::pallet_index(1)]
    pub type Timestamp = pallet_timestamp;
    #[runtime::pallet_index(2)]
    pub type Aura = pallet_aura;
    #[runtime::pallet_index(3)]
    pub type Grandpa = pallet_grandpa;
    #[runtime::pallet_index(4)]
    pub type Balances = pallet_balances;
    #[runtime::pallet_index(5)]
    pub type TransactionPayment = pallet_transaction_payment;
    #[runtime::pallet_index(7)]
    pub type SkipFeelessPayment = pallet_skip_feeless_payment;

    // Governance. Aura's and GRANDPA's authorities come from Session (genesis and every session).
    #[runtime::pallet_index(10)]
    pub type Consortium = pallet_consortium;
    #[runtime::pallet_index(11)]
    pub type Session = pallet_session;

    // Marketplace.
    #[runtime::pallet_index(20)]
    pub type Ownership = pallet_ownership;
    #[runtime::pallet_index(21)]
    pub type Consent = pallet_consent;
    #[runtime::pallet_index(22)]
    pub type Listing = pallet_listing;
    #[runtime::pallet_index(23)]
    pub type Delivery = pallet_delivery;
    #[runtime::pallet_index(24)]
    pub type Escrow = pallet_escrow;
    #[runtime::pallet_index(25)]
    pub type Revenue = pallet_revenue;
}

/// Address format of extrinsics: account id or index, as polkadot.js sends them.
pub type Address = MultiAddress<AccountId, ()>;
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// Checks every signed transaction goes through, in order.
pub type TxExtension = (
    frame_system::AuthorizeCall<Runtime>,
    frame_system::CheckNonZeroSender<Runtime>,
    frame_system::CheckSpecVersion<Runtime>,
    frame_system::CheckTxVersion<Runtime>,
    frame_system::CheckGenesis<Runtime>,
    frame_system::CheckEra<Runtime>,
    frame_system::CheckNonce<Runtime>,
    frame_system::CheckWeight<Runtime>,
    // Patients hold no tokens: calls marked `feeless_if` (consent, enrolment) skip the fee.
    pallet_skip_feeless_payment::SkipCheckIfFeeless<
        Runtime,
        pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
    >,
    frame_metadata_hash_extension::CheckMetadataHash<Runtime>,
    frame_system::WeightReclaim<Runtime>,
);

pub type UncheckedExtrinsic =
    generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// The transaction extensions of a signed transaction from `nonce`, valid in `era`, paying no
/// tip: what wallets, the off-chain worker and the node's own tools send.
pub fn tx_extension(nonce: Nonce, era: generic::Era) -> TxExtension {
    (
        frame_system::AuthorizeCall::<Runtime>::new(),
        frame_system::CheckNonZeroSender::<Runtime>::new(),
        frame_system::CheckSpecVersion::<Runtime>::new(),
        frame_system::CheckTxVersion::<Runtime>::new(),
        frame_system::CheckGenesis::<Runtime>::new(),
        frame_system::CheckEra::<Runtime>::from(era),
        frame_system::CheckNonce::<Runtime>::from(nonce),
        frame_system::CheckWeight::<Runtime>::new(),
        pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0).into(),
        frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
        frame_system::WeightReclaim::<Runtime>::new(),
    )
}

/// `call` signed off chain by `signer` as an immortal transaction with `nonce`, for the chain
/// with `genesis` at runtime versions `spec_version` and `transaction_version` (what a wallet
/// reads from the node first).
#[cfg(feature = "std")]
pub fn sign_immortal(
    signer: &sp_core::sr25519::Pair,
    call: RuntimeCall,
    nonce: Nonce,
    genesis: Hash,
    spec_version: u32,
    transaction_version: u32,
) -> UncheckedExtrinsic {
    use codec::Encode;
    use sp_core::Pair;
    let tx_ext = tx_extension(nonce, generic::Era::Immortal);
    let implicit = (
        (),
        (),
        spec_version,
        transaction_version,
        genesis,
        genesis,
        (),
        (),
        (),
        None,
        (),
    );
    let payload = SignedPayload::from_raw(call.clone(), tx_ext.clone(), implicit);
    let signature = payload.using_encoded(|bytes| signer.sign(bytes));
    UncheckedExtrinsic::new_signed(
        call,
        Address::Id(AccountId::from(signer.public())),
        Signature::Sr25519(signature),
        tx_ext,
    )
}

/// The escrow's off-chain worker signs delivery receipts with the custodian's delivery key
/// (`pallet_escrow::offchain`): these make a signed transaction of a call, as a wallet would.
impl frame_system::offchain::SigningTypes for Runtime {
    type Public = <Signature as Verify>::Signer;
    type Signature = Signature;
}

impl<LocalCall> frame_system::offchain::CreateTransactionBase<LocalCall> for Runtime
where
    RuntimeCall: From<LocalCall>,
{
    type Extrinsic = UncheckedExtrinsic;
    type RuntimeCall = RuntimeCall;
}

impl<LocalCall> frame_system::offchain::CreateSignedTransaction<LocalCall> for Runtime
where
    RuntimeCall: From<LocalCall>,
{
    fn create_signed_transaction<
        C: frame_system::offchain::AppCrypto<Self::Public, Self::Signature>,
    >(
        call: RuntimeCall,
        public: <Signature as Verify>::Signer,
        account: AccountId,
        nonce: Nonce,
    ) -> Option<UncheckedExtrinsic> {
        use codec::Encode;
        use sp_runtime::traits::StaticLookup;
        // Valid for 256 blocks from the block the worker runs on (a finalized one).
        let period = 256;
        let current_block = u64::from(System::block_number()).saturating_sub(1);
        let tx_ext = tx_extension(nonce, generic::Era::mortal(period, current_block));
        let payload = SignedPayload::new(call, tx_ext).ok()?;
        let signature = payload.using_encoded(|bytes| C::sign(bytes, public))?;
        let (call, tx_ext, _) = payload.deconstruct();
        let address = <Runtime as frame_system::Config>::Lookup::unlookup(account);
        Some(UncheckedExtrinsic::new_signed(
            call, address, signature, tx_ext,
        ))
    }
}

/// Migrations beyond those the pallets declare themselves.
type Migrations = ();

pub type Executive = frame_executive::Executive<
    Runtime,
    Block,
    frame_system::ChainContext<Runtime>,
    Runtime,
    AllPalletsWithSystem,
    Migrations,
>;
