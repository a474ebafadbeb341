//! The node's own equivalent of sc-service's `build_network`, so that every request-response
//! protocol the node serves answers the consortium's nodes only.
//!
//! sc-service's `build_network` creates the state-request and light-client servers itself
//! (`build_polkadot_syncing_strategy`, `build_network_advanced`) and hands their inbound queues
//! straight to the network: nothing can be put in front of them. So the node builds the network
//! here, with the same pieces in the same order (sc-service 0.62), and routes every server's
//! inbound queue through [`peer_guard::guard_inbound_requests`] in one place
//! ([`guard_servers`]). A protocol added later is added to that list and guarded with the rest.
//!
//! What differs from sc-service, on purpose:
//! - no warp-sync server and no warp sync (consortium nodes sync in full), and no Bitswap/IPFS
//!   server: `--sync warp` and `--ipfs-server` are refused with an error;
//! - the default peer set (block announces) is reserved-only; the peer guard keeps its reserved
//!   peers equal to the authorised ones, so a stranger's substreams are refused before any
//!   handshake.

use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use medledger_runtime::opaque::Block;
use sc_client_api::{BlockchainEvents, HeaderBackend};
use sc_consensus::ImportQueue;
use sc_network::{
    config::{FullNetworkConfiguration, NonReservedPeerMode, Params, Roles},
    service::traits::{NetworkService, NotificationConfig, RequestResponseConfig},
    NetworkBackend, NetworkBlock, NotificationMetrics, ProtocolName,
};
use sc_network_light::light_client_requests::handler::LightClientRequestHandler;
use sc_network_sync::{
    block_request_handler::BlockRequestHandler,
    engine::SyncingEngine,
    service::network::NetworkServiceProvider,
    state_request_handler::StateRequestHandler,
    strategy::polkadot::{PolkadotSyncingStrategy, PolkadotSyncingStrategyConfig},
    SyncingService,
};
use sc_service::{error::Error as ServiceError, Configuration, TaskManager};
use sc_transaction_pool_api::TransactionPool;
use sp_runtime::traits::{Block as BlockT, Header as _};

use crate::{
    peer_guard::{self, GuardedBackend, PeerAllowlist},
    service::FullClient,
};

type Hash = <Block as BlockT>::Hash;
type RequestResponseConfigOf<N> = <N as NetworkBackend<Block, Hash>>::RequestResponseProtocolConfig;

/// What [`build_network`] returns: the same handles as sc-service's, plus the name of the
/// block-announce protocol, whose reserved peers the peer guard maintains.
pub struct GuardedNetwork {
    pub network: Arc<dyn NetworkService>,
    pub system_rpc_tx: sc_utils::mpsc::TracingUnboundedSender<sc_rpc::system::Request<Block>>,
    pub tx_handler_controller: sc_network_transactions::TransactionsHandlerController<Hash>,
    pub sync_service: Arc<SyncingService<Block>>,
    pub block_announces: ProtocolName,
}

/// Makes the default peer set (block announces, and through it transactions and GRANDPA)
/// reserved-only. Call before building the network configuration.
pub fn reserved_only(config: &mut Configuration) {
    config.network.default_peers_set.non_reserved_mode = NonReservedPeerMode::Deny;
}

/// Builds and starts the network, like sc-service's `build_network` (see the module
/// documentation for what differs). The servers and the network worker are spawned on
/// `task_manager`; the guards of the servers' queues as essential tasks.
pub fn build_network<N, P>(
    config: &Configuration,
    mut net_config: FullNetworkConfiguration<Block, Hash, N>,
    client: Arc<FullClient>,
    transaction_pool: Arc<P>,
    task_manager: &TaskManager,
    import_queue: impl ImportQueue<Block> + 'static,
    metrics: NotificationMetrics,
    allowlist: &PeerAllowlist,
) -> Result<GuardedNetwork, ServiceError>
where
    N: GuardedBackend,
    P: TransactionPool<Block = Block, Hash = Hash> + 'static,
{
    let network_config = &net_config.network_config;
    if network_config.sync_mode.is_warp() {
        return Err(ServiceError::Other(
            "warp sync is not available on a consortium chain (no node serves warp proofs): \
             drop --sync warp"
                .into(),
        ));
    }
    if network_config.ipfs_server {
        return Err(ServiceError::Other(
            "--ipfs-server is not available on a consortium chain: its Bitswap server would \
             answer any peer"
                .into(),
        ));
    }
    let spawn_handle = task_manager.spawn_handle();
    let spawn_essential_handle = task_manager.spawn_essential_handle();
    let protocol_id = config.protocol_id();
    let fork_id = config.chain_spec.fork_id();
    let registry = config.prometheus_registry();
    let genesis_hash = client.info().genesis_hash;
    let network_service_provider = NetworkServiceProvider::new();

    // The request-response servers.
    let num_peers = network_config.default_peers_set.in_peers as usize
        + network_config.default_peers_set.out_peers as usize;
    let block_relay = BlockRequestHandler::new::<N>(
        network_service_provider.handle(),
        &protocol_id,
        fork_id,
        client.clone(),
        num_peers,
    );
    let mut block_server = block_relay.server;
    spawn_handle.spawn("block-request-handler", Some("networking"), async move {
        block_server.run().await
    });
    let (state_server, state_config) = StateRequestHandler::new::<N>(
        &protocol_id,
        fork_id,
        client.clone(),
        network_config.default_peers_set_num_full as usize
            + network_config.default_peers_set.reserved_nodes.len(),
    );
    spawn_handle.spawn(
        "state-request-handler",
        Some("networking"),
        state_server.run(),
    );
    let (light_server, light_config) =
        LightClientRequestHandler::new::<N>(&protocol_id, fork_id, client.clone());
    spawn_handle.spawn(
        "light-client-request-handler",
        Some("networking"),
        light_server.run(),
    );
    let state_request_protocol_name = state_config.protocol_name().clone();
    for config in guard_servers::<N>(
        vec![
            ("block", block_relay.request_response_config),
            ("state", state_config),
            ("light-client", light_config),
        ],
        allowlist,
        task_manager,
    )? {
        net_config.add_request_response_protocol(config);
    }

    // Sync: full (or fast) sync from the guarded peers, never warp.
    let strategy = PolkadotSyncingStrategy::new(
        PolkadotSyncingStrategyConfig {
            mode: net_config.network_config.sync_mode,
            max_parallel_downloads: net_config.network_config.max_parallel_downloads,
            max_blocks_per_request: net_config.network_config.max_blocks_per_request,
            min_peers_to_start_warp_sync: None,
            metrics_registry: registry.cloned(),
            state_request_protocol_name,
            block_downloader: block_relay.downloader,
            gap_sync_body_policy: sc_service::default_gap_sync_body_policy(config.blocks_pruning),
        },
        client.clone(),
        None,
        None,
    )?;
    let (syncing_engine, sync_service, block_announce_config) = SyncingEngine::new(
        Roles::from(&config.role),
        client.clone(),
        registry,
        metrics.clone(),
        &net_config,
        protocol_id.clone(),
        fork_id,
        Box::new(sp_consensus::block_validation::DefaultBlockAnnounceValidator),
        Box::new(strategy),
        network_service_provider.handle(),
        import_queue.service(),
        net_config.peer_store_handle(),
    )?;
    let block_announces = block_announce_config.protocol_name().clone();
    // As in sc-service: a node that can no longer sync is better shut down.
    spawn_essential_handle.spawn_blocking("syncing", None, syncing_engine.run());
    let sync_service = Arc::new(sync_service);

    let (transactions, transactions_config) =
        sc_network_transactions::TransactionsHandlerPrototype::new::<_, Block, N>(
            protocol_id.clone(),
            genesis_hash,
            fork_id,
            metrics.clone(),
            net_config.peer_store_handle(),
        );
    net_config.add_notification_protocol(transactions_config);

    let peer_store = net_config.take_peer_store();
    spawn_handle.spawn(
        "peer-store",
        Some("networking"),
        sc_network::service::traits::PeerStore::run(peer_store),
    );

    let has_bootnodes = !net_config.network_config.boot_nodes.is_empty();
    let network_worker = N::new(Params {
        role: config.role,
        executor: {
            let spawn_handle = spawn_handle.clone();
            Box::new(move |future| {
                spawn_handle.spawn("libp2p-node", Some("networking"), future);
            })
        },
        network_config: net_config,
        genesis_hash,
        protocol_id,
        fork_id: fork_id.map(ToOwned::to_owned),
        metrics_registry: registry.cloned(),
        block_announce_config,
        ipfs_config: None,
        notification_metrics: metrics,
    })?;
    let network = network_worker.network_service();

    let (transactions, tx_handler_controller) = transactions.build(
        network.clone(),
        sync_service.clone(),
        Arc::new(sc_service::TransactionPoolAdapter::new(
            transaction_pool,
            client.clone(),
        )),
        registry,
    )?;
    spawn_handle.spawn_blocking(
        "network-transactions-handler",
        Some("networking"),
        transactions.run(),
    );
    spawn_handle.spawn_blocking(
        "chain-sync-network-service-provider",
        Some("networking"),
        network_service_provider.run(Arc::new(network.clone())),
    );
    spawn_handle.spawn("import-queue", None, {
        let sync_service = sync_service.clone();
        async move { import_queue.run(sync_service.as_ref()).await }
    });
    let (system_rpc_tx, system_rpc_rx) =
        sc_utils::mpsc::tracing_unbounded("mpsc_system_rpc", 10_000);
    spawn_handle.spawn(
        "system-rpc-handler",
        Some("networking"),
        sc_service::build_system_rpc_future::<_, _, Hash>(
            config.role,
            network.clone(),
            sync_service.clone(),
            client.clone(),
            system_rpc_rx,
            has_bootnodes,
        ),
    );
    // Essential, as in sc-service: without it the node has no network.
    spawn_essential_handle.spawn_blocking(
        "network-worker",
        Some("networking"),
        drive_network(
            network_worker,
            client,
            sync_service.clone(),
            config.announce_block,
        ),
    );

    Ok(GuardedNetwork {
        network,
        system_rpc_tx,
        tx_handler_controller,
        sync_service,
        block_announces,
    })
}

/// Puts the peer guard in front of every request-response server: each protocol's inbound
/// queue goes to a guard task (essential) that forwards only authorised peers' requests.
/// This is the one place where the node's served protocols are listed.
fn guard_servers<N: GuardedBackend>(
    servers: Vec<(&'static str, RequestResponseConfigOf<N>)>,
    allowlist: &PeerAllowlist,
    task_manager: &TaskManager,
) -> Result<Vec<RequestResponseConfigOf<N>>, ServiceError> {
    servers
        .into_iter()
        .map(|(name, mut config)| {
            let (guarded, incoming) = async_channel::bounded(64);
            let server = N::swap_inbound_queue(&mut config, guarded).ok_or_else(|| {
                ServiceError::Other(format!("the {name} request protocol has no server"))
            })?;
            task_manager.spawn_essential_handle().spawn(
                "peer-guard-requests",
                Some("networking"),
                peer_guard::guard_inbound_requests(name, incoming, server, allowlist.clone()),
            );
            Ok(config)
        })
        .collect()
}

/// Drives the network worker and tells sync about imported and finalized blocks
/// (sc-service's `build_network_future`, which is private).
async fn drive_network<N: NetworkBackend<Block, Hash>>(
    network: N,
    client: Arc<FullClient>,
    sync_service: Arc<SyncingService<Block>>,
    announce_imported_blocks: bool,
) {
    let mut imported = client.import_notification_stream().fuse();
    let mut finalized = client.finality_notification_stream().fuse();
    let network_run = network.run().fuse();
    futures::pin_mut!(network_run);
    loop {
        futures::select! {
            notification = imported.next() => {
                let Some(notification) = notification else {
                    log::warn!("the block import stream ended; stopping the network");
                    return;
                };
                if announce_imported_blocks {
                    sync_service.announce_block(notification.hash, None);
                }
                if notification.is_new_best {
                    sync_service.new_best_block_imported(
                        notification.hash,
                        *notification.header.number(),
                    );
                }
            },
            notification = finalized.select_next_some() => {
                sync_service.on_block_finalized(notification.hash, notification.header);
            },
            _ = network_run => {
                log::warn!("the network worker ended");
                return;
            },
        }
    }
}
