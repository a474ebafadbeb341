//! Off-chain workers on finalized blocks only.
//!
//! sc-offchain starts the runtime's workers on every new *best* block. A delivery must act on
//! what can no longer be reverted, so the node hands sc-offchain a view of the client whose
//! "import" notifications are its finality notifications: each finalized block the node learns
//! of is presented as a new best block, once. Blocks finalized implicitly (a finality
//! notification covers several) need no run of their own: the worker reads the whole state.

use std::sync::Arc;

use futures::{future, StreamExt};
use sc_client_api::{
    BlockImportNotification, BlockchainEvents, FinalityNotifications, ImportNotifications,
    StorageEventStream, StorageKey,
};
use sc_service::SpawnTaskHandle;
use sc_utils::mpsc::tracing_unbounded;
use sp_runtime::traits::Block as BlockT;

/// A client whose import notifications are its finality notifications.
pub struct FinalizedBlocks<C> {
    client: Arc<C>,
    spawner: SpawnTaskHandle,
}

impl<C> FinalizedBlocks<C> {
    pub fn new(client: Arc<C>, spawner: SpawnTaskHandle) -> Self {
        Self { client, spawner }
    }
}

impl<B, C> BlockchainEvents<B> for FinalizedBlocks<C>
where
    B: BlockT,
    C: BlockchainEvents<B> + Send + Sync + 'static,
{
    fn import_notification_stream(&self) -> ImportNotifications<B> {
        let (sender, receiver) = tracing_unbounded("mpsc_medledger_finalized_for_ocw", 10_000);
        // The notifications carry their own unpin handles; the real ones (of the finality
        // notifications) are dropped once forwarded, which is right for finalized blocks.
        let (unpin_sender, unpin_receiver) = tracing_unbounded("mpsc_medledger_ocw_unpin", 10_000);
        self.spawner.spawn(
            "ocw-unpin-sink",
            Some("offchain-worker"),
            unpin_receiver.for_each(|_| future::ready(())),
        );
        let finality = self.client.finality_notification_stream();
        self.spawner.spawn(
            "ocw-finalized-blocks",
            Some("offchain-worker"),
            finality
                .map(move |finalized| {
                    BlockImportNotification::new(
                        finalized.hash,
                        sp_consensus::BlockOrigin::Own,
                        finalized.header.clone(),
                        true,
                        None,
                        unpin_sender.clone(),
                    )
                })
                .for_each(move |notification| {
                    // The receiver is gone when the workers stop: nothing left to do.
                    let _ = sender.unbounded_send(notification);
                    future::ready(())
                }),
        );
        receiver
    }

    fn every_import_notification_stream(&self) -> ImportNotifications<B> {
        self.client.every_import_notification_stream()
    }

    fn finality_notification_stream(&self) -> FinalityNotifications<B> {
        self.client.finality_notification_stream()
    }

    fn storage_changes_notification_stream(
        &self,
        filter_keys: Option<&[StorageKey]>,
        child_filter_keys: Option<&[(StorageKey, Option<Vec<StorageKey>>)]>,
    ) -> sp_blockchain::Result<StorageEventStream<B::Hash>> {
        self.client
            .storage_changes_notification_stream(filter_keys, child_filter_keys)
    }
}
