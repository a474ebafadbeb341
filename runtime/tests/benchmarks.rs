//! Every benchmark the runtime lists runs on the real runtime — its configuration, its
//! `BenchmarkHelper`s and the development genesis the benchmarking CLI starts from — at the
//! lowest and the highest value of its components, with its verification. The pallets' own
//! benchmark tests run on their mock runtimes; this catches a benchmark that works only there
//! before a weight run does.

#![cfg(feature = "runtime-benchmarks")]

mod common;

use frame_benchmarking::{
    runtime_decl_for_benchmark::BenchmarkV2, BenchmarkConfig, BenchmarkList, BenchmarkMetadata,
    BenchmarkParameter,
};
use medledger_runtime::{Block, Runtime};
use sc_executor::WasmExecutor;
use sp_core::{
    storage::{ChildInfo, StateVersion},
    traits::ReadRuntimeVersionExt,
    Blake2Hasher, H256,
};
use sp_externalities::Extensions;
use sp_keystore::{testing::MemoryKeystore, KeystoreExt};
use sp_state_machine::{
    Backend, BackendTransaction, ChildStorageCollection, Ext, IterArgs, OverlayedChanges,
    StateMachineStats, StorageCollection, StorageIterator, StorageKey, StorageValue, TrieBackend,
    UsageInfo,
};
use sp_trie::MerkleValue;
use std::{
    cell::RefCell,
    panic::{catch_unwind, AssertUnwindSafe},
};

/// The in-memory trie `TestExternalities` runs on.
type Trie = TrieBackend<BackendTransaction<Blake2Hasher>, Blake2Hasher>;
type TrieError = <Trie as Backend<Blake2Hasher>>::Error;

/// The in-memory trie with what `dispatch_benchmark` asks of a state beyond reads: commits
/// between a benchmark's setup and its call, and a wipe back to genesis after each run.
/// `TestExternalities`' trie has neither. Reads and writes are not counted (the CLI's state
/// counts them): this test checks that benchmarks run, not what they cost.
#[derive(Debug)]
struct BenchmarkState {
    genesis: Trie,
    trie: RefCell<Trie>,
}

/// An iterator over [`BenchmarkState`]'s trie.
struct RawIter(<Trie as Backend<Blake2Hasher>>::RawIter);

impl StorageIterator<Blake2Hasher> for RawIter {
    type Backend = BenchmarkState;
    type Error = TrieError;

    fn next_key(&mut self, state: &BenchmarkState) -> Option<Result<StorageKey, TrieError>> {
        self.0.next_key(&state.trie.borrow())
    }

    fn next_pair(
        &mut self,
        state: &BenchmarkState,
    ) -> Option<Result<(StorageKey, StorageValue), TrieError>> {
        self.0.next_pair(&state.trie.borrow())
    }

    fn was_complete(&self) -> bool {
        self.0.was_complete()
    }
}

impl Backend<Blake2Hasher> for BenchmarkState {
    type Error = TrieError;
    type TrieBackendStorage = <Trie as Backend<Blake2Hasher>>::TrieBackendStorage;
    type RawIter = RawIter;

    fn storage(&self, key: &[u8]) -> Result<Option<StorageValue>, TrieError> {
        self.trie.borrow().storage(key)
    }

    fn storage_hash(&self, key: &[u8]) -> Result<Option<H256>, TrieError> {
        self.trie.borrow().storage_hash(key)
    }

    fn closest_merkle_value(&self, key: &[u8]) -> Result<Option<MerkleValue<H256>>, TrieError> {
        self.trie.borrow().closest_merkle_value(key)
    }

    fn child_closest_merkle_value(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<MerkleValue<H256>>, TrieError> {
        self.trie
            .borrow()
            .child_closest_merkle_value(child_info, key)
    }

    fn child_storage(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<StorageValue>, TrieError> {
        self.trie.borrow().child_storage(child_info, key)
    }

    fn child_storage_hash(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<H256>, TrieError> {
        self.trie.borrow().child_storage_hash(child_info, key)
    }

    fn next_storage_key(&self, key: &[u8]) -> Result<Option<StorageKey>, TrieError> {
        self.trie.borrow().next_storage_key(key)
    }

    fn next_child_storage_key(
        &self,
        child_info: &ChildInfo,
        key: &[u8],
    ) -> Result<Option<StorageKey>, TrieError> {
        self.trie.borrow().next_child_storage_key(child_info, key)
    }

    fn storage_root<'a>(
        &self,
        delta: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
        state_version: StateVersion,
    ) -> (H256, BackendTransaction<Blake2Hasher>) {
        self.trie.borrow().storage_root(delta, state_version)
    }

    fn child_storage_root<'a>(
        &self,
        child_info: &ChildInfo,
        delta: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
        state_version: StateVersion,
    ) -> (H256, bool, BackendTransaction<Blake2Hasher>) {
        self.trie
            .borrow()
            .child_storage_root(child_info, delta, state_version)
    }

    fn raw_iter(&self, args: IterArgs) -> Result<RawIter, TrieError> {
        self.trie.borrow().raw_iter(args).map(RawIter)
    }

    fn register_overlay_stats(&self, _: &StateMachineStats) {}

    fn usage_info(&self) -> UsageInfo {
        UsageInfo::empty()
    }

    fn wipe(&self) -> Result<(), TrieError> {
        *self.trie.borrow_mut() = self.genesis.clone();
        Ok(())
    }

    fn commit(
        &self,
        root: H256,
        transaction: BackendTransaction<Blake2Hasher>,
        _: StorageCollection,
        _: ChildStorageCollection,
    ) -> Result<(), TrieError> {
        self.trie.borrow_mut().apply_transaction(root, transaction);
        Ok(())
    }

    fn read_write_count(&self) -> (u32, u32, u32, u32) {
        (0, 0, 0, 0)
    }

    fn reset_read_write_count(&self) {}

    fn proof_size(&self) -> Option<u32> {
        None
    }

    fn get_read_and_written_keys(&self) -> Vec<(Vec<u8>, u32, u32, bool)> {
        Vec::new()
    }
}

/// Runs `benchmark` of `list`'s pallet once at `components`, verified, on `genesis` with a
/// keystore (the patient's key is made and used there, as in the CLI's).
fn run(
    genesis: &Trie,
    list: &BenchmarkList,
    benchmark: &BenchmarkMetadata,
    components: Vec<(BenchmarkParameter, u32)>,
) -> Result<(), String> {
    let state = BenchmarkState {
        genesis: genesis.clone(),
        trie: RefCell::new(genesis.clone()),
    };
    let mut overlay = OverlayedChanges::default();
    let mut extensions = Extensions::default();
    extensions.register(KeystoreExt::new(MemoryKeystore::new()));
    // `set_code` reads the new code's version, as the node's executor does for it.
    extensions.register(ReadRuntimeVersionExt::new(
        WasmExecutor::<sp_io::SubstrateHostFunctions>::builder().build(),
    ));
    let mut ext = Ext::new(&mut overlay, &state, Some(&mut extensions));
    let config = BenchmarkConfig {
        pallet: list.pallet.clone(),
        instance: list.instance.clone(),
        benchmark: benchmark.name.clone(),
        selected_components: components,
        verify: true,
        internal_repeats: 1,
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        sp_externalities::set_and_run_with_externalities(&mut ext, || {
            <Runtime as BenchmarkV2<Block>>::dispatch_benchmark(config)
        })
    }));
    match outcome {
        Ok(Ok(batches)) if batches.is_empty() => Err("skipped".into()),
        Ok(Ok(_)) => Ok(()),
        Ok(Err(error)) => Err(error),
        Err(panic) => Err(panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into())),
    }
}

/// Named for `scripts/test.sh`, whose benchmark run filters on "benchmarking".
#[test]
fn benchmarking_every_pallet_on_the_runtime() {
    let mut genesis_state = common::genesis_state(sp_genesis_builder::DEV_RUNTIME_PRESET);
    let (lists, _) =
        genesis_state.execute_with(|| <Runtime as BenchmarkV2<Block>>::benchmark_metadata(true));
    let genesis: Trie = genesis_state.as_backend();
    let mut runs = 0;
    let mut failures = Vec::new();
    for list in &lists {
        for benchmark in &list.benchmarks {
            let lowest: Vec<_> = benchmark.components.iter().map(|c| (c.0, c.1)).collect();
            let highest: Vec<_> = benchmark.components.iter().map(|c| (c.0, c.2)).collect();
            let mut settings = vec![lowest];
            if settings[0] != highest {
                settings.push(highest);
            }
            for components in settings {
                runs += 1;
                if let Err(error) = run(&genesis, list, benchmark, components.clone()) {
                    failures.push(format!(
                        "{}::{} at {components:?}: {error}",
                        String::from_utf8_lossy(&list.pallet),
                        String::from_utf8_lossy(&benchmark.name),
                    ));
                }
            }
        }
    }
    assert!(runs > 0, "the runtime lists no benchmarks");
    assert!(
        failures.is_empty(),
        "{} of {runs} benchmark runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
