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
//!   order's buyer only, once the finalized chain holds the order's receipt and only if the
//!   file is the one the receipt names (its container digest and size), and each owner its
//!   payout claims.

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
use sp_consensus::SyncOracle;
use sp_core::{
    offchain::{OffchainStorage, STORAGE_PREFIX},
    H256,
};
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
    /// non-loopback listening address unless `--delivery-external` says so and
    /// `--delivery-endpoint` names the public URL: the default, `http://<delivery-listen>`, is
    /// what a buyer on this machine signs for, never one elsewhere (`http://0.0.0.0:8800` is
    /// nobody's URL), so every request would be refused with 401.
    pub fn from_args(args: &DeliveryArgs, base_path: &std::path::Path) -> Result<Self, String> {
        let listen = args.delivery_listen;
        if !listen.ip().is_loopback() {
            if !args.delivery_external {
                return Err(format!(
                    "--delivery-listen {listen} is not a loopback address: add \
                     --delivery-external to serve deliveries beyond this machine"
                ));
            }
            if args.delivery_endpoint.is_none() {
                return Err(format!(
                    "--delivery-listen {listen} serves beyond this machine: add \
                     --delivery-endpoint URL, the public URL buyers download from and sign their \
                     requests for (the hospital's delivery endpoint on chain); http://{listen} \
                     is not it, and every buyer would be refused"
                ));
            }
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
            listen,
            endpoint: args
                .delivery_endpoint
                .clone()
                .unwrap_or_else(|| format!("http://{listen}")),
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
    sync: Arc<dyn SyncOracle + Send + Sync>,
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
    let worker = worker::DeliveryWorker::new(client.clone(), sync, offchain_db, settings.clone());
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
        // Served once the chain holds the receipt (not before: see `worker`), and only the file
        // it names; until then, or if the file here is another (stale) one, the buyer is asked
        // to retry.
        let path = stored.receipt.as_ref().and_then(|receipt| {
            receipted_file(&self.dir, order, receipt.ciphertext_digest, receipt.size)
        });
        Some(Delivery {
            buyer: stored.buyer.into(),
            path,
        })
    }
}

/// The sealed file of `order` if it is the one the order's receipt names: its container digest
/// is `digest` and its length `size`. Any other file (one left by another chain that used the
/// same base path, or by a delivery redone after a crash) is not served.
fn receipted_file(dir: &std::path::Path, order: u64, digest: H256, size: u64) -> Option<PathBuf> {
    let path = worker::sealed_path(dir, order);
    let mut file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) => {
            if error.kind() != std::io::ErrorKind::NotFound {
                log::warn!(target: "medledger::delivery", "opening {}: {error}", path.display());
            }
            return None;
        }
    };
    let header = file
        .metadata()
        .map_err(|e| e.to_string())
        .and_then(|metadata| {
            medledger_sealing::container::ContainerHeader::read(&mut file, metadata.len())
                .map(|header| (metadata.len(), H256(header.digest())))
                .map_err(|e| e.to_string())
        });
    match header {
        Ok((len, found)) if len == size && found == digest => Some(path),
        Ok((len, found)) => {
            log::warn!(
                target: "medledger::delivery",
                "not serving {}: its digest {found:?} ({len} bytes) is not the {digest:?} \
                 ({size} bytes) of order {order}'s receipt",
                path.display()
            );
            None
        }
        Err(error) => {
            log::warn!(target: "medledger::delivery", "not serving {}: {error}", path.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(listen: &str, external: bool, endpoint: Option<&str>) -> DeliveryArgs {
        DeliveryArgs {
            fhir_store: None,
            fhir_store_key: None,
            delivery_dir: None,
            delivery_listen: listen.parse().unwrap(),
            delivery_external: external,
            delivery_endpoint: endpoint.map(String::from),
            delivery_k: None,
        }
    }

    #[test]
    fn an_endpoint_beyond_loopback_needs_its_public_url() {
        let base = std::path::Path::new("/base");
        for listen in ["127.0.0.1:8800", "[::1]:8800"] {
            let settings = DeliverySettings::from_args(&args(listen, false, None), base)
                .expect("loopback needs nothing else");
            assert_eq!(settings.endpoint, format!("http://{listen}"));
        }
        for listen in ["0.0.0.0:8800", "[::]:8800", "192.0.2.7:8800"] {
            let refused = DeliverySettings::from_args(&args(listen, false, None), base)
                .expect_err("not external");
            assert!(refused.contains("--delivery-external"), "{refused}");
            // External, but buyers would sign for `http://0.0.0.0:8800` and be refused.
            let refused = DeliverySettings::from_args(&args(listen, true, None), base)
                .expect_err("no public URL");
            assert!(refused.contains("--delivery-endpoint"), "{refused}");
            let settings = DeliverySettings::from_args(
                &args(listen, true, Some("https://delivery.example.org")),
                base,
            )
            .expect("external with its public URL");
            assert_eq!(settings.endpoint, "https://delivery.example.org");
            assert_eq!(settings.listen, listen.parse().unwrap());
        }
    }

    /// Seals `bytes` to a valid P-256 key into `dir/order-{order}.sealed`.
    fn seal(dir: &std::path::Path, order: u64, bytes: &[u8]) -> (H256, u64) {
        let input = dir.join("plain");
        std::fs::write(&input, bytes).unwrap();
        let key =
            medledger_sealing::DeliveryKey::from_sec1(&pallet_delivery::P256_GENERATOR_COMPRESSED)
                .unwrap();
        let sealed = medledger_sealing::seal_file(
            &input,
            &worker::sealed_path(dir, order),
            &key,
            1024,
            &mut medledger_sealing::NoProgress,
        )
        .unwrap();
        (H256(sealed.digest), sealed.sealed_len)
    }

    #[test]
    fn only_the_file_the_receipt_names_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        assert_eq!(
            receipted_file(dir, 3, H256::repeat_byte(1), 10),
            None,
            "no file"
        );

        let (digest, size) = seal(dir, 3, b"the delivery the receipt names");
        assert_eq!(
            receipted_file(dir, 3, digest, size),
            Some(worker::sealed_path(dir, 3))
        );
        assert_eq!(
            receipted_file(dir, 3, digest, size + 1),
            None,
            "another size"
        );

        // A stale file (another chain's order 3, or one sealed again): same order, same key,
        // another digest. The receipt's file is not on disk: not ready.
        let (stale, stale_size) = seal(dir, 3, b"the delivery the receipt names");
        assert_ne!(stale, digest, "sealing is randomized");
        assert_eq!(receipted_file(dir, 3, digest, size), None);
        assert_eq!(
            receipted_file(dir, 3, stale, stale_size),
            Some(worker::sealed_path(dir, 3))
        );

        // Not a container at all.
        std::fs::write(worker::sealed_path(dir, 3), vec![0u8; size as usize]).unwrap();
        assert_eq!(receipted_file(dir, 3, digest, size), None);
    }
}
