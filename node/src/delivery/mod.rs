//! A custodian hospital's delivery of sold data, on its own node.
//!
//! - [`finalized`]: the runtime's off-chain workers run on finalized blocks only; the escrow's
//!   worker publishes the hospital's paid orders and submits their receipts
//!   (`pallet_escrow::offchain`).
//! - [`worker`]: the node's native side selects, de-identifies and seals each published order
//!   with the same libraries the `medledger` CLI uses, and keeps the sealed file.
//! - [`payout`]: once an epoch ends, the node builds the payout book of each of its pools
//!   from the openings of the pool's deliveries; the revenue pallet's worker commits its root
//!   (`pallet_revenue::offchain`).
//! - The delivery endpoint (HTTP, `medledger-delivery-http`) serves a sealed file to the
//!   order's buyer only, once the chain holds the order's receipt, and each owner its payout
//!   claims.

pub mod finalized;
pub mod payout;
pub mod worker;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use codec::Decode;
use medledger_delivery_http::{Delivery, DeliveryLookup, ServerConfig};
use medledger_runtime::{opaque::Block, Balance, BlockNumber, Runtime};
use pallet_escrow::{
    offchain::{DeliveryJobs, JOBS_KEY},
    OrderState,
};
use sc_client_api::Backend;
use sc_service::TaskManager;
use sp_blockchain::HeaderBackend;
use sp_core::offchain::{OffchainStorage, STORAGE_PREFIX};
use sp_keystore::KeystorePtr;

use crate::{cli::DeliveryArgs, service::FullClient};

/// Where a node keeps its hospital's data and deliveries, and how it serves them.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub fhir_store: PathBuf,
    pub fhir_store_key: PathBuf,
    pub delivery_dir: PathBuf,
    pub listen: SocketAddr,
    /// The public base URL buyers sign their requests for.
    pub endpoint: String,
    /// k-anonymity threshold; the profile's default when `None`.
    pub k_threshold: Option<usize>,
    /// Plaintext bytes per sealed segment.
    pub segment_size: u64,
}

impl DeliverySettings {
    /// Settings from the command line, with paths defaulting under `base_path`. Refuses a
    /// non-loopback listening address unless `--delivery-external` says so.
    pub fn from_args(args: &DeliveryArgs, base_path: &std::path::Path) -> Result<Self, String> {
        if !args.delivery_listen.ip().is_loopback() && !args.delivery_external {
            return Err(format!(
                "--delivery-listen {} is not a loopback address: add --delivery-external to serve \
                 deliveries beyond this machine",
                args.delivery_listen
            ));
        }
        let fhir_store = args
            .fhir_store
            .clone()
            .unwrap_or_else(|| base_path.join("fhir-store"));
        let fhir_store_key = args
            .fhir_store_key
            .clone()
            .unwrap_or_else(|| fhir_store.join("store.key"));
        Ok(Self {
            fhir_store_key,
            fhir_store,
            delivery_dir: args
                .delivery_dir
                .clone()
                .unwrap_or_else(|| base_path.join("deliveries")),
            listen: args.delivery_listen,
            endpoint: args
                .delivery_endpoint
                .clone()
                .unwrap_or_else(|| format!("http://{}", args.delivery_listen)),
            k_threshold: args.delivery_k,
            segment_size: medledger_sealing::container::DEFAULT_SEGMENT_SIZE,
        })
    }
}

/// Puts the development delivery key (`--alice`, …) in the keystore, so that a development
/// hospital delivers as itself without `key insert`.
pub fn insert_dev_delivery_key(keystore: &KeystorePtr, seed: &str) -> Result<(), String> {
    keystore
        .sr25519_generate_new(pallet_escrow::offchain::DELIVERY_KEY_TYPE, Some(seed))
        .map(|_| ())
        .map_err(|e| format!("inserting the development delivery key: {e}"))
}

/// Starts the native delivery worker and the delivery endpoint.
pub fn start<B>(
    task_manager: &TaskManager,
    client: Arc<FullClient>,
    backend: Arc<B>,
    settings: DeliverySettings,
) -> Result<(), String>
where
    B: Backend<Block> + 'static,
    B::OffchainStorage: 'static,
{
    let offchain_db = backend
        .offchain_storage()
        .ok_or("the node has no offchain database: it cannot deliver")?;
    std::fs::create_dir_all(&settings.delivery_dir)
        .map_err(|e| format!("creating {}: {e}", settings.delivery_dir.display()))?;
    let settings = Arc::new(settings);

    let lookup_db = offchain_db.clone();
    let worker = worker::DeliveryWorker::new(client.clone(), offchain_db, settings.clone());
    task_manager.spawn_handle().spawn_blocking(
        "medledger-delivery",
        Some("delivery"),
        worker.run(),
    );

    let std_listener = std::net::TcpListener::bind(settings.listen).map_err(|e| {
        format!(
            "the delivery endpoint cannot listen on {}: {e}",
            settings.listen
        )
    })?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| format!("the delivery endpoint: {e}"))?;
    log::info!(
        target: "medledger::delivery",
        "delivery endpoint on {} for {} (store {})",
        settings.listen,
        settings.endpoint,
        settings.fhir_store.display()
    );
    let lookup: Arc<dyn DeliveryLookup> = Arc::new(ChainDeliveries {
        client,
        offchain_db: lookup_db,
        dir: settings.delivery_dir.clone(),
        store_key: settings.fhir_store_key.clone(),
    });
    let config = ServerConfig::new(settings.endpoint.clone());
    task_manager.spawn_handle().spawn("medledger-delivery-endpoint", Some("delivery"), async move {
        let listener = match tokio::net::TcpListener::from_std(std_listener) {
            Ok(listener) => listener,
            Err(error) => {
                log::error!(target: "medledger::delivery", "the delivery endpoint: {error}");
                return;
            }
        };
        if let Err(error) = medledger_delivery_http::serve(listener, config, lookup).await {
            log::error!(target: "medledger::delivery", "the delivery endpoint stopped: {error}");
        }
    });
    Ok(())
}

/// Orders as the finalized chain has them, this node's sealed files and jobs, and its
/// hospital's store key (owners' category salts).
struct ChainDeliveries<S> {
    client: Arc<FullClient>,
    offchain_db: S,
    dir: PathBuf,
    store_key: PathBuf,
}

impl<S: OffchainStorage> ChainDeliveries<S> {
    /// Whether this node delivers `order`: its worker published it, or its file is here.
    fn delivers(&self, order: u64) -> bool {
        worker::sealed_path(&self.dir, order).exists()
            || self
                .offchain_db
                .get(STORAGE_PREFIX, JOBS_KEY)
                .and_then(|bytes| DeliveryJobs::<BlockNumber>::decode(&mut &bytes[..]).ok())
                .is_some_and(|jobs| jobs.orders.contains(&order))
    }
}

impl<S: OffchainStorage> DeliveryLookup for ChainDeliveries<S> {
    fn payouts(&self, owner: [u8; 32]) -> Vec<medledger_delivery_http::PayoutClaim> {
        // The best block: a claim is checked against it when submitted.
        let at = self.client.info().best_hash;
        payout::claims_of(&self.dir, &owner.into(), |custodian, epoch| {
            let key = pallet_revenue::PayoutRoots::<Runtime>::hashed_key_for(custodian, epoch);
            match worker::read_storage::<pallet_revenue::PayoutRoot<Balance>>(&self.client, at, key)
            {
                Ok(root) => root.filter(|root| !root.rejected).map(|root| root.root),
                Err(error) => {
                    log::error!(target: "medledger::payout", "{error}");
                    None
                }
            }
        })
    }

    fn category_salt(&self, owner: [u8; 32]) -> Option<[u8; 32]> {
        match medledger_fhir::StoreKey::from_file(&self.store_key) {
            Ok(key) => Some(key.category_salt(&owner).0),
            Err(error) => {
                log::warn!(target: "medledger::delivery", "no category salts: {error}");
                None
            }
        }
    }

    fn delivery(&self, order: u64) -> Option<Delivery> {
        let at = self.client.info().finalized_hash;
        let stored = worker::order_at(&self.client, at, order).ok()??;
        if stored.state == OrderState::Refunded || !self.delivers(order) {
            return None;
        }
        // Served once the chain holds the receipt (not before: see `worker`); until then the
        // buyer is asked to retry.
        let receipted = stored.state != OrderState::Paid;
        Some(Delivery {
            buyer: stored.buyer.into(),
            path: receipted.then(|| worker::sealed_path(&self.dir, order)),
        })
    }
}
