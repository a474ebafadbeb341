//! The node service: RocksDB-backed client, Aura authoring, GRANDPA finality, off-chain workers
//! and JSON-RPC.

use std::{sync::Arc, time::Duration};

use futures::FutureExt;
use medledger_runtime::{opaque::Block, RuntimeApi};

use crate::{
    delivery::{finalized::FinalizedBlocks, DeliverySettings},
    network::GuardedNetwork,
    observer::ReadOnlyPool,
    peer_guard::{self, PeerAllowlist},
};
use sc_client_api::{Backend, BlockBackend};
use sc_consensus_aura::{ImportQueueParams, SlotProportion, StartAuraParams};
use sc_consensus_grandpa::SharedVoterState;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sc_transaction_pool_api::{
    LocalTransactionPool, MaintainedTransactionPool, OffchainTransactionPoolFactory,
};
use sp_blockchain::HeaderBackend;
use sp_consensus_aura::sr25519::{AuthorityId as AuraId, AuthorityPair as AuraPair};

pub(crate) type FullClient = sc_service::TFullClient<
    Block,
    RuntimeApi,
    sc_executor::WasmExecutor<sp_io::SubstrateHostFunctions>,
>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;
type FullGrandpaBlockImport =
    sc_consensus_grandpa::GrandpaBlockImport<FullBackend, Block, FullClient, FullSelectChain>;

/// GRANDPA's voting rule: a voter votes for its best block, never more than three quarters of
/// the way up the unfinalized chain (Substrate's default second rule). Substrate's default also
/// keeps votes two blocks behind the best block, which holds finality 2–3 blocks behind the
/// head; deliveries and payouts act on finalized blocks only, so each block of lag is a slot
/// (3 s) of waiting. A vote for a block that some voters have not imported yet costs nothing:
/// a vote counts for every ancestor of its block, and a round finalizes the highest block that
/// two thirds of the votes include, so it settles on what two thirds have imported; safety
/// never depends on the rule. Measured with `scripts/bench-load.sh` on the 4-hospital network
/// (release build, 2 cores, 0.5 s samples): lag mean 0.4 and at most 1 idle, mean 0.4–0.7 and
/// at most 2 with blocks full of transactions, where voting one block behind gave mean 1.4–1.8
/// and at most 3 under the same load (two behind: mean 2.4, at most 3 idle, debug build).
fn voting_rule() -> impl sc_consensus_grandpa::VotingRule<Block, FullClient> + Clone {
    sc_consensus_grandpa::VotingRulesBuilder::new()
        .add(sc_consensus_grandpa::ThreeQuartersOfTheUnfinalizedChain)
        .build()
}

/// Blocks between GRANDPA justifications kept for light clients and warp sync.
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

pub type Service = sc_service::PartialComponents<
    FullClient,
    FullBackend,
    FullSelectChain,
    sc_consensus::DefaultImportQueue<Block>,
    sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
    (
        FullGrandpaBlockImport,
        sc_consensus_grandpa::LinkHalf<Block, FullClient, FullSelectChain>,
        Option<Telemetry>,
    ),
>;

/// Inherent data for a block at the current wall-clock time: the timestamp and Aura's slot.
fn slot_and_timestamp(
    slot_duration: sp_consensus_aura::SlotDuration,
) -> (
    sp_consensus_aura::inherents::InherentDataProvider,
    sp_timestamp::InherentDataProvider,
) {
    let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
    let slot = sp_consensus_aura::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
        *timestamp,
        slot_duration,
    );
    (slot, timestamp)
}

/// The parts shared by the full node and the chain-maintenance subcommands.
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
    let telemetry = config
        .telemetry_endpoints
        .clone()
        .filter(|x| !x.is_empty())
        .map(|endpoints| -> Result<_, sc_telemetry::Error> {
            let worker = TelemetryWorker::new(16)?;
            let telemetry = worker.handle().new_telemetry(endpoints);
            Ok((worker, telemetry))
        })
        .transpose()?;

    let executor = sc_service::new_wasm_executor::<sp_io::SubstrateHostFunctions>(&config.executor);
    let (client, backend, keystore_container, task_manager) =
        sc_service::new_full_parts::<Block, RuntimeApi, _>(
            config,
            telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
            executor,
            Vec::new(),
        )?;
    let client = Arc::new(client);

    let telemetry = telemetry.map(|(worker, telemetry)| {
        task_manager
            .spawn_handle()
            .spawn("telemetry", None, worker.run());
        telemetry
    });

    let select_chain = sc_consensus::LongestChain::new(backend.clone());

    let transaction_pool = Arc::from(
        sc_transaction_pool::Builder::new(
            task_manager.spawn_essential_handle(),
            client.clone(),
            config.role.is_authority().into(),
        )
        .with_options(config.transaction_pool.clone())
        .with_prometheus(config.prometheus_registry())
        .build(),
    );

    let (grandpa_block_import, grandpa_link) = sc_consensus_grandpa::block_import(
        client.clone(),
        GRANDPA_JUSTIFICATION_PERIOD,
        &client,
        select_chain.clone(),
        telemetry.as_ref().map(|x| x.handle()),
    )?;

    let cidp_client = client.clone();
    let import_queue =
        sc_consensus_aura::import_queue::<AuraPair, _, _, _, _, _>(ImportQueueParams {
            block_import: grandpa_block_import.clone(),
            justification_import: Some(Box::new(grandpa_block_import.clone())),
            client: client.clone(),
            create_inherent_data_providers: move |parent_hash, _| {
                let cidp_client = cidp_client.clone();
                async move {
                    let slot_duration = sc_consensus_aura::standalone::slot_duration_at(
                        &*cidp_client,
                        parent_hash,
                    )?;
                    Ok(slot_and_timestamp(slot_duration))
                }
            },
            spawner: &task_manager.spawn_essential_handle(),
            registry: config.prometheus_registry(),
            check_for_equivocation: Default::default(),
            telemetry: telemetry.as_ref().map(|x| x.handle()),
            compatibility_mode: Default::default(),
        })?;

    Ok(sc_service::PartialComponents {
        client,
        backend,
        task_manager,
        import_queue,
        keystore_container,
        select_chain,
        transaction_pool,
        other: (grandpa_block_import, grandpa_link, telemetry),
    })
}

/// Builds and starts a full node: a validator with `--validator`, a regulator's read-only
/// observer with `observer` (its transaction pool refuses every submission), otherwise a
/// syncing full node.
/// With `delivery`, the node also delivers its hospital's sales (`crate::delivery`).
pub fn new_full<N: crate::peer_guard::GuardedBackend>(
    config: Configuration,
    observer: bool,
    delivery: Option<DeliverySettings>,
) -> Result<TaskManager, ServiceError> {
    let partial = new_partial(&config)?;
    if observer {
        let pool = Arc::new(ReadOnlyPool::new(partial.transaction_pool.clone()));
        start_full::<N, _>(config, partial, pool, true, None)
    } else {
        let pool = partial.transaction_pool.clone();
        start_full::<N, _>(config, partial, pool, false, delivery)
    }
}

/// Starts the node's tasks with `transaction_pool` as the pool every submission goes through;
/// an `observer` serves JSON-RPC from its own server (see [`serve_observer_rpc`]).
fn start_full<N, P>(
    mut config: Configuration,
    partial: Service,
    transaction_pool: Arc<P>,
    observer: bool,
    delivery: Option<DeliverySettings>,
) -> Result<TaskManager, ServiceError>
where
    N: crate::peer_guard::GuardedBackend,
    P: MaintainedTransactionPool<Block = Block, Hash = <Block as sp_runtime::traits::Block>::Hash>
        + LocalTransactionPool<Block = Block, Hash = <Block as sp_runtime::traits::Block>::Hash>
        + 'static,
{
    crate::network::reserved_only(&mut config);
    let sc_service::PartialComponents {
        client,
        backend,
        mut task_manager,
        import_queue,
        keystore_container,
        select_chain,
        transaction_pool: _,
        other: (block_import, grandpa_link, mut telemetry),
    } = partial;

    let mut net_config = sc_network::config::FullNetworkConfiguration::<
        Block,
        <Block as sp_runtime::traits::Block>::Hash,
        N,
    >::new(&config.network, config.prometheus_registry().cloned());
    let metrics = N::register_notification_metrics(config.prometheus_registry());

    let peer_store_handle = net_config.peer_store_handle();
    let genesis_hash = client
        .block_hash(0)
        .ok()
        .flatten()
        .ok_or_else(|| ServiceError::Other("the database has no genesis block".into()))?;
    let grandpa_protocol_name =
        sc_consensus_grandpa::protocol_standard_name(&genesis_hash, &config.chain_spec);
    let (grandpa_protocol_config, grandpa_notification_service) =
        sc_consensus_grandpa::grandpa_peers_set_config::<_, N>(
            grandpa_protocol_name.clone(),
            metrics.clone(),
            peer_store_handle,
        );
    net_config.add_notification_protocol(grandpa_protocol_config);

    // Only the consortium's nodes are answered (see peer_guard): the node builds the network
    // itself so that every request-response server sits behind the guard.
    let allowlist =
        PeerAllowlist::at(&*client, client.info().finalized_hash).map_err(ServiceError::Other)?;
    let GuardedNetwork {
        network,
        system_rpc_tx,
        tx_handler_controller,
        sync_service,
        block_announces,
    } = crate::network::build_network(
        &config,
        net_config,
        client.clone(),
        transaction_pool.clone(),
        &task_manager,
        import_queue,
        metrics,
        &allowlist,
    )?;
    // Essential: if the guard fails, the node stops instead of running unguarded.
    task_manager.spawn_essential_handle().spawn(
        "peer-guard",
        Some("networking"),
        peer_guard::run(
            client.clone(),
            network.clone(),
            sync_service.clone(),
            allowlist,
            block_announces,
            config
                .network
                .boot_nodes
                .iter()
                .map(|bootnode| bootnode.peer_id)
                .collect(),
        ),
    );

    if config.offchain_worker.enabled {
        let offchain_workers =
            sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
                runtime_api_provider: client.clone(),
                is_validator: config.role.is_authority(),
                keystore: Some(keystore_container.keystore()),
                offchain_db: backend.offchain_storage(),
                transaction_pool: Some(OffchainTransactionPoolFactory::new(
                    transaction_pool.clone(),
                )),
                network_provider: Arc::new(network.clone()),
                enable_http_requests: true,
                custom_extensions: |_| vec![],
            })?;
        // On finalized blocks only: a delivery acts on what cannot be reverted.
        let finalized = Arc::new(FinalizedBlocks::new(
            client.clone(),
            task_manager.spawn_handle(),
        ));
        task_manager.spawn_handle().spawn(
            "offchain-workers-runner",
            "offchain-worker",
            offchain_workers
                .run(finalized, task_manager.spawn_handle())
                .boxed(),
        );
    }
    if let Some(settings) = delivery {
        if let Some(seed) = config.dev_key_seed.as_deref() {
            crate::delivery::insert_dev_delivery_key(&keystore_container.keystore(), seed)
                .map_err(ServiceError::Other)?;
        }
        crate::delivery::start(
            &task_manager,
            client.clone(),
            sync_service.clone(),
            backend.clone(),
            settings,
        )
        .map_err(ServiceError::Other)?;
    }

    let role = config.role;
    let force_authoring = config.force_authoring;
    let name = config.network.node_name.clone();
    let enable_grandpa = !config.disable_grandpa;
    let prometheus_registry = config.prometheus_registry().cloned();

    let rpc_extensions_builder = {
        let client = client.clone();
        let pool = transaction_pool.clone();
        Box::new(move |_| {
            let deps = crate::rpc::FullDeps {
                client: client.clone(),
                pool: pool.clone(),
            };
            crate::rpc::create_full(deps).map_err(Into::into)
        })
    };

    // An observer serves JSON-RPC from its own server (see `serve_observer_rpc`): the one
    // sc-service starts gets an endpoint that refuses every connection.
    let observer_rpc = observer.then(|| take_rpc_endpoints(&mut config.rpc));
    let tokio_handle = config.tokio_handle.clone();
    let rpc_handlers = sc_service::spawn_tasks(sc_service::SpawnTasksParams {
        network: network.clone(),
        client: client.clone(),
        keystore: keystore_container.keystore(),
        task_manager: &mut task_manager,
        transaction_pool: transaction_pool.clone(),
        rpc_builder: rpc_extensions_builder,
        backend,
        system_rpc_tx,
        tx_handler_controller,
        sync_service: sync_service.clone(),
        config,
        telemetry: telemetry.as_mut(),
        tracing_execute_block: None,
    })?;
    if let Some(rpc_config) = observer_rpc {
        let server = serve_observer_rpc(&rpc_handlers, rpc_config, &tokio_handle)?;
        task_manager.keep_alive(server);
    }

    if role.is_authority() {
        let proposer_factory = sc_basic_authorship::ProposerFactory::new(
            task_manager.spawn_handle(),
            client.clone(),
            transaction_pool.clone(),
            prometheus_registry.as_ref(),
            telemetry.as_ref().map(|x| x.handle()),
        );

        let slot_duration = sc_consensus_aura::slot_duration::<AuraId, _, _>(&*client)?;
        let aura = sc_consensus_aura::start_aura::<AuraPair, _, _, _, _, _, _, _, _, _, _>(
            StartAuraParams {
                slot_duration,
                client,
                select_chain,
                block_import,
                proposer_factory,
                create_inherent_data_providers: move |_, ()| async move {
                    Ok(slot_and_timestamp(slot_duration))
                },
                force_authoring,
                backoff_authoring_blocks: Option::<()>::None,
                keystore: keystore_container.keystore(),
                sync_oracle: sync_service.clone(),
                justification_sync_link: sync_service.clone(),
                block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
                max_block_proposal_slot_portion: None,
                telemetry: telemetry.as_ref().map(|x| x.handle()),
                compatibility_mode: Default::default(),
            },
        )?;
        // Authoring is essential: if it fails, the node stops rather than idling silently.
        task_manager
            .spawn_essential_handle()
            .spawn_blocking("aura", Some("block-authoring"), aura);
    }

    if enable_grandpa {
        // Only authorities vote; other nodes follow finality through justifications.
        let keystore = if role.is_authority() {
            Some(keystore_container.keystore())
        } else {
            None
        };
        let grandpa_config = sc_consensus_grandpa::Config {
            gossip_duration: Duration::from_millis(333),
            justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
            name: Some(name),
            observer_enabled: false,
            keystore,
            local_role: role,
            telemetry: telemetry.as_ref().map(|x| x.handle()),
            protocol_name: grandpa_protocol_name,
        };
        let grandpa_params = sc_consensus_grandpa::GrandpaParams {
            config: grandpa_config,
            link: grandpa_link,
            network,
            sync: Arc::new(sync_service),
            notification_service: grandpa_notification_service,
            voting_rule: voting_rule(),
            prometheus_registry,
            shared_voter_state: SharedVoterState::empty(),
            telemetry: telemetry.as_ref().map(|x| x.handle()),
            offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
        };
        task_manager.spawn_essential_handle().spawn_blocking(
            "grandpa-voter",
            None,
            sc_consensus_grandpa::run_grandpa_voter(grandpa_params)?,
        );
    }

    Ok(task_manager)
}

/// Moves the JSON-RPC server's endpoints and settings out of `rpc`, leaving it one endpoint that
/// refuses every connection: sc-service cannot start its server with none, so it gets an
/// ephemeral loopback port whose connection limit is 0 (every request is answered "too many
/// connections") and which would serve safe methods only.
fn take_rpc_endpoints(
    rpc: &mut sc_service::config::RpcConfiguration,
) -> sc_service::config::RpcConfiguration {
    let sealed = sc_rpc_server::RpcEndpoint {
        listen_addr: (std::net::Ipv4Addr::LOCALHOST, 0).into(),
        max_connections: 0,
        rpc_methods: sc_rpc_server::RpcMethods::Safe,
        batch_config: rpc.batch_config,
        max_payload_in_mb: rpc.max_request_size,
        max_payload_out_mb: rpc.max_response_size,
        max_subscriptions_per_connection: rpc.max_subs_per_conn,
        max_buffer_capacity_per_connection: rpc.message_buffer_capacity,
        rate_limit: None,
        rate_limit_trust_proxy_headers: false,
        rate_limit_whitelisted_ips: Vec::new(),
        cors: None,
        is_optional: false,
        retry_random_port: false,
    };
    sc_service::config::RpcConfiguration {
        addr: rpc.addr.replace(vec![sealed]),
        id_provider: rpc.id_provider.take(),
        cors: rpc.cors.clone(),
        rate_limit_whitelisted_ips: rpc.rate_limit_whitelisted_ips.clone(),
        max_connections: rpc.max_connections,
        methods: rpc.methods,
        max_request_size: rpc.max_request_size,
        max_response_size: rpc.max_response_size,
        max_subs_per_conn: rpc.max_subs_per_conn,
        port: rpc.port,
        message_buffer_capacity: rpc.message_buffer_capacity,
        batch_config: rpc.batch_config,
        rate_limit: rpc.rate_limit,
        rate_limit_trust_proxy_headers: rpc.rate_limit_trust_proxy_headers,
        request_logger_limit: rpc.request_logger_limit,
    }
}

/// Starts an observer's JSON-RPC server on the endpoints of `rpc_config` (see
/// [`take_rpc_endpoints`]) with the methods sc-service built for the node's in-memory RPC
/// (`rpc_handlers`: the same set its own server would serve).
///
/// sc-service answers `transaction_v1_broadcast` with an operation id even when the pool refuses
/// the transaction; here it answers with the observer's refusal
/// (`observer::refuse_broadcasts`). Unsafe methods stay behind each endpoint's `--rpc-methods`:
/// the server marks every request with it, and the in-memory module's blanket permission (for
/// the node's own calls) is removed. The observer's RPC calls are not counted in Prometheus:
/// sc-service's sealed server has registered those metrics.
fn serve_observer_rpc(
    rpc_handlers: &sc_service::RpcHandlers,
    mut rpc_config: sc_service::config::RpcConfiguration,
    tokio_handle: &tokio::runtime::Handle,
) -> Result<sc_rpc_server::Server, ServiceError> {
    log::info!(
        "Read-only observer: JSON-RPC is served by the observer's own server; sc-service's, on {:?}, \
         refuses every connection",
        rpc_handlers.listen_addresses()
    );
    let mut module = (*rpc_handlers.handle()).clone();
    module.extensions_mut().remove::<sc_rpc::DenyUnsafe>();
    crate::observer::refuse_broadcasts(&mut module)
        .map_err(|e| ServiceError::Application(e.into()))?;
    let rpc_runtime = sc_rpc_server::create_rpc_runtime(rpc_config.max_connections)
        .map_err(|e| ServiceError::Application(e.into()))?;
    let id_provider = rpc_config.id_provider.take();
    sc_service::start_rpc_servers(
        &rpc_config,
        None,
        tokio_handle,
        module,
        rpc_runtime,
        id_provider,
    )
}
