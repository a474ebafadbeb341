//! The runtime APIs the node and wallets call.

use alloc::vec::Vec;
use frame_support::{
    genesis_builder_helper::{build_state, get_preset},
    weights::Weight,
};
use pallet_grandpa::AuthorityId as GrandpaId;
use sp_api::impl_runtime_apis;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_core::{crypto::KeyTypeId, OpaqueMetadata};
use sp_runtime::{
    traits::{Block as BlockT, NumberFor},
    transaction_validity::{TransactionSource, TransactionValidity},
    ApplyExtrinsicResult, ExtrinsicInclusionMode,
};
use sp_session::OpaqueGeneratedSessionKeys;
use sp_version::RuntimeVersion;

use super::{
    genesis_config_presets, opaque, AccountId, Aura, Balance, Block, BlockNumber, Consent,
    Consortium, Executive, Grandpa, InherentDataExt, Nonce, Ownership, Revenue, Runtime,
    RuntimeCall, RuntimeGenesisConfig, System, TransactionPayment, VERSION,
};

impl_runtime_apis! {
    impl sp_api::Core<Block> for Runtime {
        fn version() -> RuntimeVersion {
            VERSION
        }

        fn execute_block(block: <Block as BlockT>::LazyBlock) {
            Executive::execute_block(block);
        }

        fn initialize_block(header: &<Block as BlockT>::Header) -> ExtrinsicInclusionMode {
            Executive::initialize_block(header)
        }
    }

    impl sp_api::Metadata<Block> for Runtime {
        fn metadata() -> OpaqueMetadata {
            OpaqueMetadata::new(Runtime::metadata().into())
        }

        fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
            Runtime::metadata_at_version(version)
        }

        fn metadata_versions() -> Vec<u32> {
            Runtime::metadata_versions()
        }
    }

    impl sp_block_builder::BlockBuilder<Block> for Runtime {
        fn apply_extrinsic(extrinsic: <Block as BlockT>::Extrinsic) -> ApplyExtrinsicResult {
            Executive::apply_extrinsic(extrinsic)
        }

        fn finalize_block() -> <Block as BlockT>::Header {
            Executive::finalize_block()
        }

        fn inherent_extrinsics(data: sp_inherents::InherentData) -> Vec<<Block as BlockT>::Extrinsic> {
            data.create_extrinsics()
        }

        fn check_inherents(
            block: <Block as BlockT>::LazyBlock,
            data: sp_inherents::InherentData,
        ) -> sp_inherents::CheckInherentsResult {
            data.check_extrinsics(&block)
        }
    }

    impl sp_transaction_pool::runtime_api::TaggedTransactionQueue<Block> for Runtime {
        fn validate_transaction(
            source: TransactionSource,
            tx: <Block as BlockT>::Extrinsic,
            block_hash: <Block as BlockT>::Hash,
        ) -> TransactionValidity {
            Executive::validate_transaction(source, tx, block_hash)
        }
    }

    impl sp_offchain::OffchainWorkerApi<Block> for Runtime {
        fn offchain_worker(header: &<Block as BlockT>::Header) {
            Executive::offchain_worker(header)
        }
    }

    impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
        fn slot_duration() -> sp_consensus_aura::SlotDuration {
            sp_consensus_aura::SlotDuration::from_millis(Aura::slot_duration())
        }

        fn authorities() -> Vec<AuraId> {
            pallet_aura::Authorities::<Runtime>::get().into_inner()
        }
    }

    impl sp_session::SessionKeys<Block> for Runtime {
        fn generate_session_keys(owner: Vec<u8>, seed: Option<Vec<u8>>) -> OpaqueGeneratedSessionKeys {
            opaque::SessionKeys::generate(&owner, seed).into()
        }

        fn decode_session_keys(encoded: Vec<u8>) -> Option<Vec<(Vec<u8>, KeyTypeId)>> {
            opaque::SessionKeys::decode_into_raw_public_keys(&encoded)
        }
    }

    impl sp_consensus_grandpa::GrandpaApi<Block> for Runtime {
        fn grandpa_authorities() -> sp_consensus_grandpa::AuthorityList {
            Grandpa::grandpa_authorities()
        }

        fn current_set_id() -> sp_consensus_grandpa::SetId {
            Grandpa::current_set_id()
        }

        fn submit_report_equivocation_unsigned_extrinsic(
            _equivocation_proof: sp_consensus_grandpa::EquivocationProof<
                <Block as BlockT>::Hash,
                NumberFor<Block>,
            >,
            _key_owner_proof: sp_consensus_grandpa::OpaqueKeyOwnershipProof,
        ) -> Option<()> {
            // Equivocations are handled by the consortium (a member that equivocates is voted out);
            // there is no stake to slash.
            None
        }

        fn generate_key_ownership_proof(
            _set_id: sp_consensus_grandpa::SetId,
            _authority_id: GrandpaId,
        ) -> Option<sp_consensus_grandpa::OpaqueKeyOwnershipProof> {
            None
        }
    }

    impl frame_system_rpc_runtime_api::AccountNonceApi<Block, AccountId, Nonce> for Runtime {
        fn account_nonce(account: AccountId) -> Nonce {
            System::account_nonce(account)
        }
    }

    impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<Block, Balance> for Runtime {
        fn query_info(
            uxt: <Block as BlockT>::Extrinsic,
            len: u32,
        ) -> pallet_transaction_payment_rpc_runtime_api::RuntimeDispatchInfo<Balance> {
            TransactionPayment::query_info(uxt, len)
        }

        fn query_fee_details(
            uxt: <Block as BlockT>::Extrinsic,
            len: u32,
        ) -> pallet_transaction_payment::FeeDetails<Balance> {
            TransactionPayment::query_fee_details(uxt, len)
        }

        fn query_weight_to_fee(weight: Weight) -> Balance {
            TransactionPayment::weight_to_fee(weight)
        }

        fn query_length_to_fee(length: u32) -> Balance {
            TransactionPayment::length_to_fee(length)
        }
    }

    impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentCallApi<Block, Balance, RuntimeCall>
        for Runtime
    {
        fn query_call_info(
            call: RuntimeCall,
            len: u32,
        ) -> pallet_transaction_payment::RuntimeDispatchInfo<Balance> {
            TransactionPayment::query_call_info(call, len)
        }

        fn query_call_fee_details(
            call: RuntimeCall,
            len: u32,
        ) -> pallet_transaction_payment::FeeDetails<Balance> {
            TransactionPayment::query_call_fee_details(call, len)
        }

        fn query_weight_to_fee(weight: Weight) -> Balance {
            TransactionPayment::weight_to_fee(weight)
        }

        fn query_length_to_fee(length: u32) -> Balance {
            TransactionPayment::length_to_fee(length)
        }
    }

    impl pallet_consortium_runtime_api::ConsortiumApi<Block, AccountId> for Runtime {
        fn authorized_peers() -> Vec<(Vec<u8>, pallet_consortium::PeerRole)> {
            Consortium::authorized_peers()
        }

        fn members() -> Vec<AccountId> {
            pallet_consortium::Members::<Runtime>::get().into_inner()
        }

        fn regulators() -> Vec<AccountId> {
            pallet_consortium::Regulators::<Runtime>::iter_keys().collect()
        }
    }

    impl pallet_ownership_runtime_api::OwnershipApi<Block, AccountId, BlockNumber> for Runtime {
        fn records_of(
            owner: AccountId,
        ) -> Vec<(pallet_ownership::RecordId, pallet_ownership::RecordInfo<AccountId, BlockNumber>)> {
            Ownership::records_of(&owner)
        }

        fn record(
            id: pallet_ownership::RecordId,
        ) -> Option<pallet_ownership::RecordInfo<AccountId, BlockNumber>> {
            pallet_ownership::Records::<Runtime>::get(id)
        }

        fn enrolments_of(owner: AccountId) -> Vec<(AccountId, BlockNumber)> {
            Ownership::enrolments_of(&owner)
        }

        fn enrolment_message(
            custodian: AccountId,
            patient: AccountId,
            valid_until: BlockNumber,
        ) -> pallet_ownership::EnrolmentMessage {
            pallet_ownership::EnrolmentMessage {
                message: Ownership::enrolment_message(&custodian, &patient, valid_until),
            }
        }
    }

    impl pallet_consent_runtime_api::ConsentApi<Block, AccountId, BlockNumber> for Runtime {
        fn consents_of(owner: AccountId) -> Vec<pallet_consent::Consent<AccountId, BlockNumber>> {
            Consent::consents_of(&owner)
        }

        fn consent_covers(
            owner: AccountId,
            record: pallet_consent::RecordId,
            purpose: pallet_consent::Purpose,
            buyer: AccountId,
            at: BlockNumber,
        ) -> pallet_consent::ConsentAnswer {
            <Consent as pallet_consent::ConsentCheck<AccountId, BlockNumber>>::consent_covers(
                &owner, &record, purpose, &buyer, at,
            )
        }
    }

    impl pallet_revenue_runtime_api::RevenueApi<Block, AccountId, Balance, BlockNumber> for Runtime {
        fn claimable(owner: AccountId) -> Balance {
            Revenue::claimable(&owner)
        }

        fn claimed(owner: AccountId) -> Balance {
            Revenue::claimed(&owner)
        }

        fn verify_claim(
            custodian: AccountId,
            epoch: pallet_revenue::EpochIndex,
            index: u32,
            leaf: pallet_revenue::PayoutLeaf<AccountId, Balance>,
            proof: Vec<sp_core::H256>,
        ) -> Result<Balance, sp_runtime::DispatchError> {
            Revenue::ensure_can_claim(&custodian, epoch, index, &leaf, &proof).map_err(Into::into)
        }

        fn audit_entry(
            custodian: AccountId,
            epoch: pallet_revenue::EpochIndex,
            entry: pallet_revenue::PayoutEntry<AccountId, Balance>,
            at: BlockNumber,
        ) -> pallet_revenue::EntryAudit {
            Revenue::audit_entry(&custodian, epoch, &entry, at)
        }
    }

    #[cfg(feature = "runtime-benchmarks")]
    impl frame_benchmarking::Benchmark<Block> for Runtime {
        fn benchmark_metadata(extra: bool) -> (
            Vec<frame_benchmarking::BenchmarkList>,
            Vec<frame_support::traits::StorageInfo>,
        ) {
            use super::{
                AllPalletsWithSystem, Balances, Delivery, Escrow, Listing, Timestamp,
                TransactionPayment,
            };
            use frame_system_benchmarking::{
                extensions::Pallet as SystemExtensionsBench, Pallet as SystemBench,
            };
            use frame_support::traits::StorageInfoTrait;

            let mut list = Vec::new();
            list_benchmarks!(list, extra);
            (list, AllPalletsWithSystem::storage_info())
        }

        fn dispatch_benchmark(
            config: frame_benchmarking::BenchmarkConfig,
        ) -> Result<Vec<frame_benchmarking::BenchmarkBatch>, alloc::string::String> {
            use super::{Balances, Delivery, Escrow, Listing, Timestamp, TransactionPayment};
            use frame_system_benchmarking::{
                extensions::Pallet as SystemExtensionsBench, Pallet as SystemBench,
            };
            let whitelist = crate::benchmark_whitelist();
            let mut batches = Vec::new();
            let params = (&config, &whitelist);
            add_benchmarks!(params, batches);
            Ok(batches)
        }
    }

    impl sp_genesis_builder::GenesisBuilder<Block> for Runtime {
        fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
            build_state::<RuntimeGenesisConfig>(config)
        }

        fn get_preset(id: &Option<sp_genesis_builder::PresetId>) -> Option<Vec<u8>> {
            get_preset::<RuntimeGenesisConfig>(id, genesis_config_presets::get_preset)
        }

        fn preset_names() -> Vec<sp_genesis_builder::PresetId> {
            genesis_config_presets::preset_names()
        }
    }
}
