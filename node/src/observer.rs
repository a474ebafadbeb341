//! Observer mode: a regulator's node follows the chain and finality but writes nothing.
//!
//! Every way a transaction can enter a node goes through the transaction pool handed to
//! `sc_service::build_network` (transactions gossiped by peers), `sc_service::spawn_tasks`
//! (`author_submitExtrinsic`, `author_submitAndWatchExtrinsic`,
//! `transactionWatch_v1_submitAndWatch`, `transaction_v1_broadcast`) and
//! `OffchainTransactionPoolFactory` (off-chain workers, GRANDPA equivocation reports).
//! [`ReadOnlyPool`] wraps the node's pool: it refuses every submission and delegates every read
//! and every maintenance call, so the observer keeps an empty pool that follows the chain.
//!
//! # Why the refusal is not a `sc_transaction_pool_api::error::Error`
//!
//! The refusal is [`ObserverPoolError::ReadOnlyObserver`], whose
//! [`IntoPoolError::into_pool_error`] declines to turn it into a pool error. That is what every
//! consumer needs:
//! - the author RPC (sc-rpc 56) maps a non-pool error to `Verification(..)`, JSON-RPC code 1002
//!   with message `"Verification Error: <our text>"`; every pool-error variant instead has a fixed
//!   message (even `InvalidBlockId(String)` drops its text), so the user would never learn why;
//! - `transactionWatch_v1_submitAndWatch` (sc-rpc-spec-v2 0.61) likewise reports an `invalid`
//!   event whose `error` is `"Verification error: <our text>"`;
//! - `transaction_v1_broadcast` answers with an operation id whatever the pool says (the spec
//!   makes it silent) and would stop at once on the refusal, so a wallet would believe its
//!   transaction on its way. The observer therefore serves that method itself:
//!   [`refuse_broadcasts`] puts in its place one that answers with a JSON-RPC error carrying
//!   the refusal (the service starts the observer's own RPC server for that);
//! - gossip (sc-service's `TransactionPoolAdapter::import`) counts a non-pool error as
//!   `KnownGood`: the hospital peers that gossip to the observer are not penalised. Any pool-error
//!   variant but `AlreadyImported` would be `Bad` (-4096 reputation per transaction) and the
//!   observer would end up banning the very nodes it syncs from.

use std::{collections::HashMap, fmt, pin::Pin, sync::Arc, time::Duration};

use jsonrpsee::core::async_trait;
use sc_transaction_pool_api::{
    error::{Error as PoolError, IntoPoolError},
    ChainEvent, ImportNotificationStream, LocalTransactionFor, LocalTransactionPool,
    MaintainedTransactionPool, PoolStatus, ReadyTransactions, TransactionFor, TransactionPool,
    TransactionSource, TransactionStatusStreamFor, TxHash, TxInvalidityReportMap,
};
use sp_runtime::traits::Block as BlockT;

const LOG_TARGET: &str = "observer";

/// What a submitter is told: what happened and where to go instead.
pub const OBSERVER_REFUSAL: &str = "this node is a read-only regulator observer (started with \
    --observer): it accepts no transactions; submit them to a hospital's node";

/// The transaction API's method that sc-service answers without ever reporting a refusal.
pub const BROADCAST_METHOD: &str = "transaction_v1_broadcast";

/// JSON-RPC error code of the observer's answer to [`BROADCAST_METHOD`]: JSON-RPC 2.0's generic
/// server error (the transaction API defines no error for a broadcast).
pub const BROADCAST_REFUSED: i32 = -32000;

/// Puts in place of `module`'s [`BROADCAST_METHOD`] one that refuses every transaction with
/// [`OBSERVER_REFUSAL`] as a JSON-RPC error (code [`BROADCAST_REFUSED`]), so that a wallet
/// learns at once that it must go to a hospital's node. `transaction_v1_stop` stays: with no
/// broadcast ever started, it answers every operation id as unknown.
pub fn refuse_broadcasts<Context: Send + Sync + 'static>(
    module: &mut jsonrpsee::RpcModule<Context>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.remove_method(BROADCAST_METHOD);
    module.register_method(BROADCAST_METHOD, |_, _, _| {
        log::debug!(target: LOG_TARGET, "refused a transaction via {BROADCAST_METHOD}");
        Err::<(), _>(jsonrpsee::types::ErrorObjectOwned::owned(
            BROADCAST_REFUSED,
            OBSERVER_REFUSAL,
            None::<()>,
        ))
    })?;
    Ok(())
}

/// The node's pool as an observer runs it.
pub type ObserverPool = ReadOnlyPool<
    sc_transaction_pool::TransactionPoolHandle<
        medledger_runtime::opaque::Block,
        crate::service::FullClient,
    >,
>;

/// Error of a [`ReadOnlyPool`].
#[derive(Debug)]
pub enum ObserverPoolError {
    /// A transaction was submitted to a read-only observer.
    ReadOnlyObserver,
    /// An error of the pool API itself; the wrapper never produces one, the pool traits require
    /// the conversion.
    Pool(PoolError),
}

impl fmt::Display for ObserverPoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReadOnlyObserver => f.write_str(OBSERVER_REFUSAL),
            Self::Pool(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for ObserverPoolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::ReadOnlyObserver => None,
            Self::Pool(error) => Some(error),
        }
    }
}

impl From<PoolError> for ObserverPoolError {
    fn from(error: PoolError) -> Self {
        Self::Pool(error)
    }
}

impl IntoPoolError for ObserverPoolError {
    /// The refusal stays ours: see the module docs for what this buys at each consumer.
    fn into_pool_error(self) -> Result<PoolError, Self> {
        match self {
            Self::ReadOnlyObserver => Err(self),
            Self::Pool(error) => Ok(error),
        }
    }
}

/// A transaction pool that refuses every submission and delegates everything else to `P`.
pub struct ReadOnlyPool<P>(Arc<P>);

impl<P> ReadOnlyPool<P> {
    /// Wraps the node's pool; reads and maintenance still reach it.
    pub fn new(inner: Arc<P>) -> Self {
        Self(inner)
    }
}

/// The refusal, logged at debug level: gossip alone would flood a higher level.
fn refuse(path: &str, source: TransactionSource, count: usize) -> ObserverPoolError {
    log::debug!(target: LOG_TARGET, "refused {count} transaction(s) via {path} from {source:?}");
    ObserverPoolError::ReadOnlyObserver
}

#[async_trait]
impl<P: TransactionPool> TransactionPool for ReadOnlyPool<P> {
    type Block = P::Block;
    type Hash = P::Hash;
    type InPoolTransaction = P::InPoolTransaction;
    type Error = ObserverPoolError;

    async fn submit_at(
        &self,
        _at: <Self::Block as BlockT>::Hash,
        source: TransactionSource,
        xts: Vec<TransactionFor<Self>>,
    ) -> Result<Vec<Result<TxHash<Self>, Self::Error>>, Self::Error> {
        Err(refuse("submit_at", source, xts.len()))
    }

    async fn submit_one(
        &self,
        _at: <Self::Block as BlockT>::Hash,
        source: TransactionSource,
        _xt: TransactionFor<Self>,
    ) -> Result<TxHash<Self>, Self::Error> {
        Err(refuse("submit_one", source, 1))
    }

    async fn submit_and_watch(
        &self,
        _at: <Self::Block as BlockT>::Hash,
        source: TransactionSource,
        _xt: TransactionFor<Self>,
    ) -> Result<Pin<Box<TransactionStatusStreamFor<Self>>>, Self::Error> {
        Err(refuse("submit_and_watch", source, 1))
    }

    async fn ready_at(
        &self,
        at: <Self::Block as BlockT>::Hash,
    ) -> Box<dyn ReadyTransactions<Item = Arc<Self::InPoolTransaction>> + Send> {
        self.0.ready_at(at).await
    }

    fn ready(&self) -> Box<dyn ReadyTransactions<Item = Arc<Self::InPoolTransaction>> + Send> {
        self.0.ready()
    }

    async fn report_invalid(
        &self,
        at: Option<<Self::Block as BlockT>::Hash>,
        invalid_tx_errors: TxInvalidityReportMap<TxHash<Self>>,
    ) -> Vec<Arc<Self::InPoolTransaction>> {
        self.0.report_invalid(at, invalid_tx_errors).await
    }

    fn futures(&self) -> Vec<Self::InPoolTransaction> {
        self.0.futures()
    }

    fn status(&self) -> PoolStatus {
        self.0.status()
    }

    fn import_notification_stream(&self) -> ImportNotificationStream<TxHash<Self>> {
        self.0.import_notification_stream()
    }

    fn on_broadcasted(&self, propagations: HashMap<TxHash<Self>, Vec<String>>) {
        self.0.on_broadcasted(propagations)
    }

    fn hash_of(&self, xt: &TransactionFor<Self>) -> TxHash<Self> {
        self.0.hash_of(xt)
    }

    fn ready_transaction(&self, hash: &TxHash<Self>) -> Option<Arc<Self::InPoolTransaction>> {
        self.0.ready_transaction(hash)
    }

    async fn ready_at_with_timeout(
        &self,
        at: <Self::Block as BlockT>::Hash,
        timeout: Duration,
    ) -> Box<dyn ReadyTransactions<Item = Arc<Self::InPoolTransaction>> + Send> {
        self.0.ready_at_with_timeout(at, timeout).await
    }
}

/// Maintenance keeps the (empty) inner pool's views in step with the chain.
#[async_trait]
impl<P: MaintainedTransactionPool> MaintainedTransactionPool for ReadOnlyPool<P> {
    async fn maintain(&self, event: ChainEvent<Self::Block>) {
        self.0.maintain(event).await
    }
}

/// Local submissions (off-chain workers, GRANDPA equivocation reports) are writes too.
impl<P: TransactionPool> LocalTransactionPool for ReadOnlyPool<P> {
    type Block = P::Block;
    type Hash = P::Hash;
    type Error = ObserverPoolError;

    fn submit_local(
        &self,
        _at: <Self::Block as BlockT>::Hash,
        _xt: LocalTransactionFor<Self>,
    ) -> Result<Self::Hash, Self::Error> {
        Err(refuse("submit_local", TransactionSource::Local, 1))
    }
}

/// The bounds `build_network`, `spawn_tasks`, `OffchainTransactionPoolFactory` and the node's RPC
/// place on the pool, checked against the node's real pool type at compile time.
const _: fn() = || {
    type Block = medledger_runtime::opaque::Block;
    fn usable_by_the_service<P>()
    where
        P: MaintainedTransactionPool<Block = Block, Hash = <Block as BlockT>::Hash>
            + LocalTransactionPool<Block = Block>
            + 'static,
    {
    }
    usable_by_the_service::<ObserverPool>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use jsonrpsee::{core::server::MethodsError, RpcModule};
    use medledger_runtime::opaque::Block;
    use sc_transaction_pool_api::{InPoolTransaction, TransactionPriority, TransactionTag};
    use sp_core::{Bytes, Encode, H256};
    use sp_runtime::{
        traits::{BlakeTwo256, Hash as _},
        transaction_validity::TransactionLongevity,
        OpaqueExtrinsic,
    };
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Mutex,
    };

    /// A transaction as the fake pool holds it.
    #[derive(Debug)]
    struct PooledTx {
        data: Arc<OpaqueExtrinsic>,
        hash: H256,
        priority: TransactionPriority,
        longevity: TransactionLongevity,
        tags: Vec<TransactionTag>,
    }

    impl PooledTx {
        fn new(blob: &[u8]) -> Self {
            let data = OpaqueExtrinsic::from_blob(blob.to_vec());
            Self {
                hash: BlakeTwo256::hash(data.inner()),
                data: Arc::new(data),
                priority: 7,
                longevity: 64,
                tags: vec![blob.to_vec()],
            }
        }
    }

    impl InPoolTransaction for PooledTx {
        type Transaction = Arc<OpaqueExtrinsic>;
        type Hash = H256;

        fn data(&self) -> &Self::Transaction {
            &self.data
        }
        fn hash(&self) -> &Self::Hash {
            &self.hash
        }
        fn priority(&self) -> &TransactionPriority {
            &self.priority
        }
        fn longevity(&self) -> &TransactionLongevity {
            &self.longevity
        }
        fn requires(&self) -> &[TransactionTag] {
            &[]
        }
        fn provides(&self) -> &[TransactionTag] {
            &self.tags
        }
        fn is_propagable(&self) -> bool {
            true
        }
    }

    struct ReadyIter(std::vec::IntoIter<Arc<PooledTx>>);

    impl Iterator for ReadyIter {
        type Item = Arc<PooledTx>;
        fn next(&mut self) -> Option<Self::Item> {
            self.0.next()
        }
    }

    impl ReadyTransactions for ReadyIter {
        fn report_invalid(&mut self, _tx: &Self::Item) {}
    }

    /// An inner pool that accepts everything and records what reached it.
    struct RecordingPool {
        ready: Vec<Arc<PooledTx>>,
        future: Vec<Vec<u8>>,
        submissions: AtomicUsize,
        maintained: Mutex<Vec<H256>>,
        reported_invalid: Mutex<Vec<H256>>,
        broadcasts: Mutex<Vec<HashMap<H256, Vec<String>>>>,
    }

    impl RecordingPool {
        fn with_ready(blobs: &[&[u8]]) -> Arc<Self> {
            Arc::new(Self {
                ready: blobs
                    .iter()
                    .map(|blob| Arc::new(PooledTx::new(blob)))
                    .collect(),
                future: vec![b"later".to_vec()],
                submissions: AtomicUsize::new(0),
                maintained: Mutex::default(),
                reported_invalid: Mutex::default(),
                broadcasts: Mutex::default(),
            })
        }

        fn submissions(&self) -> usize {
            self.submissions.load(Ordering::SeqCst)
        }

        fn ready_iter(&self) -> Box<dyn ReadyTransactions<Item = Arc<PooledTx>> + Send> {
            Box::new(ReadyIter(self.ready.clone().into_iter()))
        }

        fn accept(&self, xt: &OpaqueExtrinsic) -> H256 {
            self.submissions.fetch_add(1, Ordering::SeqCst);
            BlakeTwo256::hash(xt.inner())
        }
    }

    #[async_trait]
    impl TransactionPool for RecordingPool {
        type Block = Block;
        type Hash = H256;
        type InPoolTransaction = PooledTx;
        type Error = PoolError;

        async fn submit_at(
            &self,
            _at: H256,
            _source: TransactionSource,
            xts: Vec<OpaqueExtrinsic>,
        ) -> Result<Vec<Result<H256, PoolError>>, PoolError> {
            Ok(xts.iter().map(|xt| Ok(self.accept(xt))).collect())
        }

        async fn submit_one(
            &self,
            _at: H256,
            _source: TransactionSource,
            xt: OpaqueExtrinsic,
        ) -> Result<H256, PoolError> {
            Ok(self.accept(&xt))
        }

        async fn submit_and_watch(
            &self,
            _at: H256,
            _source: TransactionSource,
            xt: OpaqueExtrinsic,
        ) -> Result<Pin<Box<TransactionStatusStreamFor<Self>>>, PoolError> {
            self.accept(&xt);
            Ok(Box::pin(futures::stream::empty()))
        }

        async fn ready_at(
            &self,
            _at: H256,
        ) -> Box<dyn ReadyTransactions<Item = Arc<PooledTx>> + Send> {
            self.ready_iter()
        }

        fn ready(&self) -> Box<dyn ReadyTransactions<Item = Arc<PooledTx>> + Send> {
            self.ready_iter()
        }

        async fn report_invalid(
            &self,
            _at: Option<H256>,
            invalid_tx_errors: TxInvalidityReportMap<H256>,
        ) -> Vec<Arc<PooledTx>> {
            let reported: Vec<H256> = invalid_tx_errors.keys().copied().collect();
            let removed = self
                .ready
                .iter()
                .filter(|tx| reported.contains(&tx.hash))
                .cloned()
                .collect();
            self.reported_invalid
                .lock()
                .expect("test lock")
                .extend(reported);
            removed
        }

        fn futures(&self) -> Vec<PooledTx> {
            self.future.iter().map(|blob| PooledTx::new(blob)).collect()
        }

        fn status(&self) -> PoolStatus {
            PoolStatus {
                ready: self.ready.len(),
                ready_bytes: self.ready.iter().map(|tx| tx.data.inner().len()).sum(),
                future: self.future.len(),
                future_bytes: self.future.iter().map(Vec::len).sum(),
            }
        }

        fn import_notification_stream(&self) -> ImportNotificationStream<H256> {
            let (sender, receiver) = futures::channel::mpsc::channel(self.ready.len());
            let mut sender = sender;
            for tx in &self.ready {
                sender
                    .try_send(tx.hash)
                    .expect("channel sized for the ready set");
            }
            receiver
        }

        fn on_broadcasted(&self, propagations: HashMap<H256, Vec<String>>) {
            self.broadcasts
                .lock()
                .expect("test lock")
                .push(propagations);
        }

        fn hash_of(&self, xt: &OpaqueExtrinsic) -> H256 {
            BlakeTwo256::hash(xt.inner())
        }

        fn ready_transaction(&self, hash: &H256) -> Option<Arc<PooledTx>> {
            self.ready.iter().find(|tx| tx.hash == *hash).cloned()
        }

        async fn ready_at_with_timeout(
            &self,
            _at: H256,
            _timeout: Duration,
        ) -> Box<dyn ReadyTransactions<Item = Arc<PooledTx>> + Send> {
            self.ready_iter()
        }
    }

    #[async_trait]
    impl MaintainedTransactionPool for RecordingPool {
        async fn maintain(&self, event: ChainEvent<Block>) {
            self.maintained
                .lock()
                .expect("test lock")
                .push(event.hash());
        }
    }

    fn observer_over(inner: &Arc<RecordingPool>) -> ReadOnlyPool<RecordingPool> {
        ReadOnlyPool::new(inner.clone())
    }

    fn some_extrinsic() -> OpaqueExtrinsic {
        OpaqueExtrinsic::from_blob(b"transfer 10 to bob".to_vec())
    }

    fn ready_hashes(ready: Box<dyn ReadyTransactions<Item = Arc<PooledTx>> + Send>) -> Vec<H256> {
        ready.map(|tx| tx.hash).collect()
    }

    /// The refusal a user sees names the observer and says where to submit instead, and
    /// nothing reached the inner pool.
    fn assert_refused(error: ObserverPoolError, inner: &RecordingPool) {
        assert!(
            matches!(error, ObserverPoolError::ReadOnlyObserver),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains("read-only regulator observer"), "{text}");
        assert!(text.contains("submit them to a hospital's node"), "{text}");
        assert_eq!(inner.submissions(), 0);
    }

    #[test]
    fn submit_one_is_refused_and_never_reaches_the_inner_pool() {
        let inner = RecordingPool::with_ready(&[]);
        let result = block_on(observer_over(&inner).submit_one(
            H256::zero(),
            TransactionSource::External,
            some_extrinsic(),
        ));
        assert_refused(
            result.expect_err("an observer accepted a transaction"),
            &inner,
        );
    }

    #[test]
    fn submit_at_refuses_the_whole_batch_and_nothing_reaches_the_inner_pool() {
        let inner = RecordingPool::with_ready(&[]);
        let batch = vec![
            some_extrinsic(),
            OpaqueExtrinsic::from_blob(b"second".to_vec()),
        ];
        let result = block_on(observer_over(&inner).submit_at(
            H256::zero(),
            TransactionSource::InBlock,
            batch,
        ));
        assert_refused(result.expect_err("an observer accepted a batch"), &inner);
    }

    #[test]
    fn submit_and_watch_is_refused_and_never_reaches_the_inner_pool() {
        let inner = RecordingPool::with_ready(&[]);
        let result = block_on(observer_over(&inner).submit_and_watch(
            H256::zero(),
            TransactionSource::External,
            some_extrinsic(),
        ));
        let Err(error) = result else {
            panic!("an observer watched a submitted transaction")
        };
        assert_refused(error, &inner);
    }

    #[test]
    fn local_submission_from_offchain_workers_is_refused() {
        let inner = RecordingPool::with_ready(&[]);
        let result = observer_over(&inner).submit_local(H256::zero(), some_extrinsic());
        assert_refused(
            result.expect_err("an observer accepted a local transaction"),
            &inner,
        );
    }

    #[test]
    fn reads_are_answered_by_the_inner_pool() {
        let inner = RecordingPool::with_ready(&[b"first", b"second"]);
        let observer = observer_over(&inner);

        let (status, expected) = (observer.status(), inner.status());
        assert_eq!(
            (
                status.ready,
                status.ready_bytes,
                status.future,
                status.future_bytes
            ),
            (
                expected.ready,
                expected.ready_bytes,
                expected.future,
                expected.future_bytes
            )
        );
        assert_eq!(status.ready, 2);

        let inner_ready = ready_hashes(inner.ready());
        assert_eq!(ready_hashes(observer.ready()), inner_ready);
        assert_eq!(
            ready_hashes(block_on(observer.ready_at(H256::zero()))),
            inner_ready
        );
        assert_eq!(
            ready_hashes(block_on(
                observer.ready_at_with_timeout(H256::zero(), Duration::from_millis(10))
            )),
            inner_ready
        );
        let first = inner_ready[0];
        assert_eq!(
            observer.ready_transaction(&first).map(|tx| tx.hash),
            Some(first)
        );
        assert!(observer.ready_transaction(&H256::repeat_byte(9)).is_none());

        let futures: Vec<H256> = observer.futures().iter().map(|tx| tx.hash).collect();
        assert_eq!(futures, vec![BlakeTwo256::hash(b"later")]);
        assert_eq!(
            observer.hash_of(&some_extrinsic()),
            BlakeTwo256::hash(b"transfer 10 to bob")
        );

        let notified: Vec<H256> = block_on(futures::StreamExt::collect(
            observer.import_notification_stream(),
        ));
        assert_eq!(notified, inner_ready);
    }

    #[test]
    fn maintenance_reaches_the_inner_pool() {
        let inner = RecordingPool::with_ready(&[b"stale"]);
        let observer = observer_over(&inner);
        let block = H256::repeat_byte(1);

        block_on(observer.maintain(ChainEvent::NewBlock { hash: block }));
        assert_eq!(*inner.maintained.lock().expect("test lock"), vec![block]);

        let stale = BlakeTwo256::hash(b"stale");
        let removed =
            block_on(observer.report_invalid(None, [(stale, None)].into_iter().collect()));
        assert_eq!(
            removed.iter().map(|tx| tx.hash).collect::<Vec<_>>(),
            vec![stale]
        );
        assert_eq!(
            *inner.reported_invalid.lock().expect("test lock"),
            vec![stale]
        );

        let propagations: HashMap<H256, Vec<String>> = [(stale, vec!["peer".into()])].into();
        observer.on_broadcasted(propagations.clone());
        assert_eq!(
            *inner.broadcasts.lock().expect("test lock"),
            vec![propagations]
        );
    }

    #[test]
    fn refusal_is_kept_out_of_pool_errors_while_real_pool_errors_pass_through() {
        // The network adapter counts a non-pool error as `KnownGood`, so gossiping hospitals keep
        // their reputation; the author RPC turns it into a message that carries our text.
        let refusal = ObserverPoolError::ReadOnlyObserver.into_pool_error();
        assert!(matches!(refusal, Err(ObserverPoolError::ReadOnlyObserver)));

        let passed = ObserverPoolError::from(PoolError::ImmediatelyDropped).into_pool_error();
        assert!(
            matches!(passed, Ok(PoolError::ImmediatelyDropped)),
            "{passed:?}"
        );
    }

    /// Header lookups from an empty in-memory chain; runtime calls are never made on submission.
    struct EmptyChain(sc_client_api::in_mem::Blockchain<Block>);

    impl sp_blockchain::HeaderBackend<Block> for EmptyChain {
        fn header(&self, hash: H256) -> sp_blockchain::Result<Option<<Block as BlockT>::Header>> {
            self.0.header(hash)
        }
        fn info(&self) -> sp_blockchain::Info<Block> {
            self.0.info()
        }
        fn status(&self, hash: H256) -> sp_blockchain::Result<sp_blockchain::BlockStatus> {
            self.0.status(hash)
        }
        fn number(&self, hash: H256) -> sp_blockchain::Result<Option<u32>> {
            self.0.number(hash)
        }
        fn hash(&self, number: u32) -> sp_blockchain::Result<Option<H256>> {
            self.0.hash(number)
        }
    }

    #[derive(Clone)]
    struct NoSessionKeys;

    sp_api::mock_impl_runtime_apis! {
        impl sp_session::SessionKeys<Block> for NoSessionKeys {
            fn generate_session_keys(
                _owner: Vec<u8>,
                _seed: Option<Vec<u8>>,
            ) -> sp_session::OpaqueGeneratedSessionKeys {
                Default::default()
            }
            fn decode_session_keys(
                _encoded: Vec<u8>,
            ) -> Option<Vec<(Vec<u8>, sp_core::crypto::KeyTypeId)>> {
                None
            }
        }
    }

    impl sp_api::ProvideRuntimeApi<Block> for EmptyChain {
        type Api = NoSessionKeys;
        fn runtime_api(&self) -> sp_api::ApiRef<'_, Self::Api> {
            NoSessionKeys.into()
        }
    }

    fn empty_chain() -> Arc<EmptyChain> {
        Arc::new(EmptyChain(sc_client_api::in_mem::Blockchain::new()))
    }

    fn executor() -> sc_rpc::SubscriptionTaskExecutor {
        Arc::new(sp_core::testing::TaskExecutor::new())
    }

    fn author_rpc(pool: Arc<ReadOnlyPool<RecordingPool>>) -> RpcModule<()> {
        use sc_rpc::author::AuthorApiServer;
        let keystore = Arc::new(sp_keystore::testing::MemoryKeystore::new());
        let mut module = RpcModule::new(());
        module
            .merge(
                sc_rpc::author::Author::new(empty_chain(), pool, keystore, executor()).into_rpc(),
            )
            .expect("a fresh module has no clashing names");
        module
    }

    fn encoded_extrinsic() -> Bytes {
        some_extrinsic().encode().into()
    }

    /// The JSON-RPC error object carries the refusal, and nothing reached the inner pool.
    fn assert_rpc_refusal(error: MethodsError, inner: &RecordingPool) {
        let MethodsError::JsonRpc(object) = error else {
            panic!("expected a JSON-RPC error object, got {error:?}")
        };
        assert!(object.message().contains(OBSERVER_REFUSAL), "{object:?}");
        assert_eq!(inner.submissions(), 0);
    }

    #[test]
    fn author_submit_extrinsic_answers_with_the_observer_message() {
        let inner = RecordingPool::with_ready(&[]);
        let rpc = author_rpc(Arc::new(observer_over(&inner)));

        let answer: Result<H256, _> =
            block_on(rpc.call("author_submitExtrinsic", [encoded_extrinsic()]));
        assert_rpc_refusal(
            answer.expect_err("the observer accepted a submission"),
            &inner,
        );
    }

    #[test]
    fn author_submit_and_watch_extrinsic_is_rejected_with_the_observer_message() {
        let inner = RecordingPool::with_ready(&[]);
        let rpc = author_rpc(Arc::new(observer_over(&inner)));

        let answer = block_on(
            rpc.subscribe_unbounded("author_submitAndWatchExtrinsic", [encoded_extrinsic()]),
        );
        assert_rpc_refusal(answer.expect_err("the observer opened a watch"), &inner);
    }

    #[test]
    fn transaction_watch_v1_reports_the_observer_message_as_an_invalid_event() {
        use sc_rpc_spec_v2::transaction::{Transaction, TransactionApiServer};
        let inner = RecordingPool::with_ready(&[]);
        let rpc = Transaction::new(
            empty_chain(),
            Arc::new(observer_over(&inner)),
            executor(),
            None,
        )
        .into_rpc();

        let mut subscription = block_on(
            rpc.subscribe_unbounded("transactionWatch_v1_submitAndWatch", [encoded_extrinsic()]),
        )
        .expect("the new API always opens the subscription and reports errors as events");
        let (event, _id) = block_on(subscription.next::<serde_json::Value>())
            .expect("an event before the subscription ends")
            .expect("a well-formed event");
        assert_eq!(event["event"], "invalid", "{event}");
        let error = event["error"].as_str().unwrap_or_default();
        assert!(error.contains(OBSERVER_REFUSAL), "{event}");
        assert_eq!(inner.submissions(), 0);
    }

    #[test]
    fn broadcast_answers_with_the_observer_refusal_in_place_of_an_operation_id() {
        // Stands in for sc-service's method, which answers every broadcast with an id.
        let mut rpc = RpcModule::new(());
        rpc.register_method(BROADCAST_METHOD, |_, _, _| "operation-id")
            .expect("a fresh module has no clashing names");

        refuse_broadcasts(&mut rpc).expect("the method is replaced, not added twice");

        let answer: Result<Option<String>, _> =
            block_on(rpc.call(BROADCAST_METHOD, [encoded_extrinsic()]));
        let MethodsError::JsonRpc(object) = answer.expect_err("the observer took a broadcast")
        else {
            panic!("expected a JSON-RPC error object")
        };
        assert_eq!(object.code(), BROADCAST_REFUSED);
        assert_eq!(object.message(), OBSERVER_REFUSAL);
    }
}
