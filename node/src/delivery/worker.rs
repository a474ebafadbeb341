//! The native side of delivery (and, through [`super::payout`], of payouts): for each order the runtime's off-chain worker published, select
//! the consented records from the hospital's FHIR store, de-identify them, seal them to the
//! order's delivery key and keep the sealed file for download; then tell the worker the
//! receipt's values (protocol: `pallet_escrow::offchain`).
//!
//! Files, under the delivery folder:
//! - `order-<id>.sealed`: the sealed container the buyer downloads;
//! - `order-<id>.opening.json`: the [`Opening`] — which records went in — kept by the hospital
//!   and shown to a regulator on request, never to the buyer;
//! - `order-<id>.work/`: the work folder of a delivery in progress (de-identified plaintext,
//!   the tar, the container being written). It is removed when the delivery ends, and at start
//!   if the node stopped mid-delivery: such a delivery starts again from scratch.
//!
//! The sealed file and the opening appear (by rename) before the outcome is recorded, and the
//! endpoint serves a file only once the chain holds the order's receipt naming its digest. A
//! paid order without a recorded outcome therefore has no receipt, and any files of it here are
//! stale (a crash after they were kept, or another chain that used the same base path): the
//! worker removes them and delivers from scratch, checking consent again at the current
//! finalized block, so a file nobody could have downloaded is replaced.

use std::{
    cell::RefCell,
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
    sync::Arc,
};

use codec::{Decode, Encode};
use futures::StreamExt;
use medledger_fhir::{
    category_tag, deidentify_delivery, ConsentOracle, ConsentQuery, DeliveryOptions, ListingFilter,
    Profile, Sale, StoreKey,
};
use medledger_runtime::{opaque::Block, AccountId, BlockNumber, Runtime};
use pallet_consent_runtime_api::{ConsentAnswer, ConsentApi};
use pallet_escrow::{
    offchain::{
        outcome_key, records_root, DeliveryJobs, DeliveryOutcome, SealedDelivery, JOBS_KEY,
    },
    OrderOf, OrderState,
};
use sc_client_api::{BlockchainEvents, StorageProvider};
use sp_api::ProvideRuntimeApi;
use sp_blockchain::HeaderBackend;
use sp_consensus::SyncOracle;
use sp_core::{
    crypto::Ss58Codec,
    offchain::{OffchainStorage, STORAGE_PREFIX},
    H256,
};

use super::DeliverySettings;
use crate::service::FullClient;

type Hash = <Block as sp_runtime::traits::Block>::Hash;
type RecordInfo = pallet_ownership::RecordInfo<AccountId, BlockNumber>;

/// Fault injection for the restart tests: the node aborts at this point of a delivery
/// (`sealed`: the container is written, nothing is kept yet; `kept`: the files are in place,
/// the outcome is not recorded). Never set in production.
const CRASH_POINT_VAR: &str = "MEDLEDGER_DELIVERY_CRASH_AT";

fn crash_point(point: &str) {
    if std::env::var(CRASH_POINT_VAR).is_ok_and(|wanted| wanted == point) {
        log::error!(target: "medledger::delivery", "{CRASH_POINT_VAR}={point}: aborting");
        std::process::abort();
    }
}

/// The opening file's format and types, shared with the regulator's audit.
pub use medledger_audit::{OpenedCategory, OpenedRecord, Opening, OPENING_FORMAT};

pub fn sealed_path(dir: &Path, order: u64) -> PathBuf {
    dir.join(format!("order-{order}.sealed"))
}

pub fn opening_path(dir: &Path, order: u64) -> PathBuf {
    dir.join(medledger_audit::opening_file_name(order))
}

fn work_path(dir: &Path, order: u64) -> PathBuf {
    dir.join(format!("order-{order}.work"))
}

/// Reads and decodes a storage value of the runtime at `at`.
pub fn read_storage<T: Decode>(
    client: &FullClient,
    at: Hash,
    key: Vec<u8>,
) -> Result<Option<T>, String> {
    let data = client
        .storage(at, &sc_client_api::StorageKey(key))
        .map_err(|e| format!("reading chain state: {e}"))?;
    data.map(|data| T::decode(&mut &data.0[..]).map_err(|e| format!("decoding chain state: {e}")))
        .transpose()
}

/// An order as the finalized chain has it.
pub fn order_at(
    client: &FullClient,
    at: Hash,
    order: u64,
) -> Result<Option<OrderOf<Runtime>>, String> {
    read_storage(
        client,
        at,
        pallet_escrow::Orders::<Runtime>::hashed_key_for(order),
    )
}

/// The native delivery worker of one node.
pub struct DeliveryWorker<S> {
    client: Arc<FullClient>,
    /// Whether the node is catching up with the network.
    sync: Arc<dyn SyncOracle + Send + Sync>,
    offchain_db: S,
    settings: Arc<DeliverySettings>,
    /// Orders that failed, and when to try them again.
    retries: Retries,
    /// Builds the payout books of the hospital's ended epochs.
    payouts: super::payout::PayoutWorker<S>,
}

impl<S: OffchainStorage> DeliveryWorker<S> {
    pub fn new(
        client: Arc<FullClient>,
        sync: Arc<dyn SyncOracle + Send + Sync>,
        offchain_db: S,
        settings: Arc<DeliverySettings>,
    ) -> Self {
        Self {
            client,
            sync,
            payouts: super::payout::PayoutWorker::new(
                offchain_db.clone(),
                settings.delivery_dir.clone(),
            ),
            offchain_db,
            settings,
            retries: Retries::default(),
        }
    }

    /// Runs until the node stops: payout books once at start, then deliveries and books at
    /// every finality notification. Deliveries wait for the first block finalized while this
    /// node runs: the finalized block it has at start is the one it had when it stopped, and
    /// consent checked there would miss a revocation made while it was down. Nor does a node
    /// deliver or build payout books while it catches up with the network (major sync): the
    /// blocks it finalizes then are long past, and so is their consent. Each delivery acts on
    /// the newest finalized block, not on the notification's (which may lag).
    pub async fn run(mut self) {
        if let Err(error) = self.remove_unfinished_work() {
            log::error!(target: "medledger::delivery", "{error}");
        }
        let mut finality = self.client.finality_notification_stream();
        self.payouts.build_published_books();
        let mut waited_for_sync = false;
        while finality.next().await.is_some() {
            if self.sync.is_major_syncing() {
                if !waited_for_sync {
                    log::info!(
                        target: "medledger::delivery",
                        "catching up with the network: deliveries wait until it is done"
                    );
                    waited_for_sync = true;
                }
                continue;
            }
            waited_for_sync = false;
            let info = self.client.info();
            self.deliver_published_jobs(info.finalized_hash, info.finalized_number);
            self.payouts.build_published_books();
        }
    }

    /// Work folders left by a node that stopped mid-delivery.
    fn remove_unfinished_work(&self) -> Result<(), String> {
        let dir = &self.settings.delivery_dir;
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let entries = fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "work") {
                log::warn!(
                    target: "medledger::delivery",
                    "removing {} left by an interrupted delivery; it starts again",
                    path.display()
                );
                fs::remove_dir_all(&path)
                    .map_err(|e| format!("removing {}: {e}", path.display()))?;
            }
        }
        Ok(())
    }

    fn deliver_published_jobs(&mut self, finalized: Hash, number: BlockNumber) {
        let Some(jobs) = self
            .offchain_db
            .get(STORAGE_PREFIX, JOBS_KEY)
            .and_then(|bytes| DeliveryJobs::<BlockNumber>::decode(&mut &bytes[..]).ok())
        else {
            return;
        };
        self.retries.keep_only(&jobs.orders);
        for order in jobs.orders {
            let key = outcome_key(order);
            if self.offchain_db.get(STORAGE_PREFIX, &key).is_some()
                || !self.retries.due(order, number)
            {
                continue;
            }
            match self.deliver(order, finalized) {
                Ok(Some(outcome)) => {
                    self.retries.succeeded(order);
                    self.offchain_db
                        .set(STORAGE_PREFIX, &key, &outcome.encode());
                }
                Ok(None) => self.retries.succeeded(order),
                Err(error) => {
                    if let Some(delay) = self.retries.failed(order, number, &error) {
                        log::error!(
                            target: "medledger::delivery",
                            "order {order} not delivered yet: {error} (next attempt in {delay} finalized blocks; the wait doubles up to {MAX_RETRY_BLOCKS})"
                        );
                    }
                }
            }
        }
    }

    /// Delivers `order` as of finalized block `at`; `None` if it is no longer waiting.
    fn deliver(
        &self,
        order: u64,
        at: Hash,
    ) -> Result<Option<DeliveryOutcome<BlockNumber>>, String> {
        let Some(stored) = order_at(&self.client, at, order)? else {
            return Ok(None);
        };
        if stored.state != OrderState::Paid {
            return Ok(None);
        }
        let dir = &self.settings.delivery_dir;
        // Files of this order without a recorded outcome were never receipted (the off-chain
        // worker submits a receipt only for a recorded outcome) nor served (the endpoint waits
        // for the receipt). They may come from a crash after they were kept, or from another
        // chain with the same base path (an order of the same number, another buyer's key), and
        // consent may have been revoked since: never reuse them, deliver from scratch.
        remove_unreceipted_files(dir, order)?;
        let receipt_block = self
            .client
            .number(at)
            .map_err(|e| format!("reading the finalized block number: {e}"))?
            .ok_or("the finalized block has no number")?;
        let listing: pallet_listing::ListingOf<Runtime> = read_storage(
            &self.client,
            at,
            pallet_listing::Listings::<Runtime>::hashed_key_for(stored.listing),
        )?
        .ok_or_else(|| format!("listing {} of the order is not on chain", stored.listing))?;

        let work = work_path(dir, order);
        if work.exists() {
            fs::remove_dir_all(&work).map_err(|e| format!("removing {}: {e}", work.display()))?;
        }
        fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
        let result = self.deliver_in(&work, order, &stored, &listing, at, receipt_block);
        // The work folder holds de-identified plaintext: it never outlives the attempt.
        let _ = fs::remove_dir_all(&work);
        result.map(Some)
    }

    fn deliver_in(
        &self,
        work: &Path,
        order: u64,
        stored: &OrderOf<Runtime>,
        listing: &pallet_listing::ListingOf<Runtime>,
        at: Hash,
        receipt_block: BlockNumber,
    ) -> Result<DeliveryOutcome<BlockNumber>, String> {
        let settings = &self.settings;
        if !settings.fhir_store.exists() {
            return Err(format!(
                "no FHIR store at {} (collect with `medledger fhir ingest --store {}`, or pass --fhir-store)",
                settings.fhir_store.display(),
                settings.fhir_store.display()
            ));
        }
        let key = StoreKey::from_file(&settings.fhir_store_key)
            .map_err(|e| format!("the FHIR store key: {e}"))?;
        let profile =
            Profile::safe_harbor().map_err(|e| format!("the Safe Harbor profile: {e}"))?;
        let filter = listing_filter(&listing.description);
        let purpose = stored.purpose;
        let sale = Sale {
            buyer: fhir_account(&stored.buyer)?,
            purpose: fhir_purpose(stored.purpose),
            sale_block: u64::from(stored.placed_at),
            delivery_block: Some(u64::from(receipt_block)),
        };
        let oracle = ChainConsent {
            client: &self.client,
            at,
            store_key: &key,
            custodian: stored.custodian.clone(),
            buyer: stored.buyer.clone(),
            purpose,
            error: RefCell::new(None),
            last_registration: RefCell::new(None),
            category_matches: RefCell::new(HashMap::new()),
        };
        let plaintext = work.join("data");
        let options = DeliveryOptions {
            k_threshold: settings.k_threshold.unwrap_or(profile.default_k),
            max_suppression: medledger_fhir::kanonymity::DEFAULT_MAX_SUPPRESSION,
            as_of_year: medledger_fhir::current_year(),
        };
        let summary = deidentify_delivery(
            &settings.fhir_store,
            &key,
            &profile,
            &filter,
            &sale,
            &oracle,
            &plaintext,
            &options,
        )
        .map_err(|e| format!("de-identification: {e}"))?;
        let ChainConsent {
            error,
            category_matches,
            ..
        } = oracle;
        if let Some(error) = error.into_inner() {
            return Err(format!("asking the chain about consent: {error}"));
        }
        let category_matches = category_matches.into_inner();
        if summary.delivered_records.is_empty() {
            let manifest = &summary.manifest;
            if manifest.records_selected == 0 {
                log::info!(
                    target: "medledger::delivery",
                    "order {order}: no record is consented for this buyer and purpose; nothing to deliver"
                );
            } else {
                log::warn!(
                    target: "medledger::delivery",
                    "order {order}: {} consented records of {} patients, all withheld by \
                     k-anonymity (k = {}): too few patients to deliver without re-identification \
                     risk; nothing to deliver",
                    manifest.records_selected,
                    manifest.patients_suppressed,
                    manifest.k_threshold
                );
            }
            return Ok(DeliveryOutcome::NothingToDeliver {
                checked_at: receipt_block,
            });
        }
        if summary.delivered_records.len() > stored.pricing.max_records as usize {
            return Err(format!(
                "{} records qualify but the listing sells at most {}: narrow the listing's filter",
                summary.delivered_records.len(),
                stored.pricing.max_records
            ));
        }

        let archive = work.join("delivery.tar");
        write_tar(&plaintext, &archive)?;
        fs::remove_dir_all(&plaintext)
            .map_err(|e| format!("removing {}: {e}", plaintext.display()))?;
        let delivery_key = medledger_sealing::DeliveryKey::from_sec1(&stored.delivery_key.0)
            .map_err(|e| format!("the order's delivery key: {e}"))?;
        let sealed_work = work.join("sealed");
        let sealed = medledger_sealing::seal_file(
            &archive,
            &sealed_work,
            &delivery_key,
            settings.segment_size,
            &mut medledger_sealing::NoProgress,
        )
        .map_err(|e| format!("sealing: {e}"))?;
        crash_point("sealed");

        let mut pairs = Vec::with_capacity(summary.delivered_records.len());
        let mut records = Vec::with_capacity(summary.delivered_records.len());
        for record in &summary.delivered_records {
            let commitment = H256(record.commitment);
            let owner = AccountId::from(record.owner);
            records.push(OpenedRecord {
                record: format!("0x{}", record.record_id.to_hex()),
                commitment: format!("{commitment:?}"),
                owner: owner.to_ss58check(),
                category: category_matches
                    .get(&record.record_id.0)
                    .map(|code| OpenedCategory {
                        code: code.clone(),
                        salt: format!("0x{}", hex::encode(key.category_salt(&record.owner).0)),
                    }),
            });
            pairs.push((commitment, owner));
        }
        records.sort_by(|a, b| a.commitment.cmp(&b.commitment));
        let root = records_root(&pairs);
        let opening = Opening {
            format: OPENING_FORMAT.into(),
            order,
            custodian: stored.custodian.to_ss58check(),
            buyer: stored.buyer.to_ss58check(),
            sale_block: stored.placed_at,
            receipt_block,
            ciphertext_digest: format!("{:?}", H256(sealed.digest)),
            size: sealed.sealed_len,
            record_count: records.len() as u32,
            records_root: format!("{root:?}"),
            records,
        };
        let dir = &settings.delivery_dir;
        let opening_work = work.join("opening.json");
        write_synced(
            &opening_work,
            &serde_json::to_vec_pretty(&opening).map_err(|e| e.to_string())?,
        )?;
        fs::rename(&opening_work, opening_path(dir, order))
            .map_err(|e| format!("keeping the opening: {e}"))?;
        fs::rename(&sealed_work, sealed_path(dir, order))
            .map_err(|e| format!("keeping the sealed file: {e}"))?;
        // The renames reach the disk before the outcome is recorded (and the receipt sent).
        sync_dir(dir)?;
        crash_point("kept");
        log::info!(
            target: "medledger::delivery",
            "order {order}: sealed {} records ({} bytes) for download",
            opening.record_count,
            opening.size
        );
        outcome_of(&opening)
    }
}

/// The longest wait, in finalized blocks (about 3 minutes), between two attempts at an order.
const MAX_RETRY_BLOCKS: BlockNumber = 64;

/// When each order that failed may be tried again: after 1, 2, 4, … finalized blocks, up to
/// [`MAX_RETRY_BLOCKS`]. An order that cannot be delivered yet (more qualifying records than
/// its maximum, an unreadable store) is then not selected and de-identified again at every
/// block, and one that failed for a moment is soon retried.
#[derive(Default)]
struct Retries(HashMap<u64, Retry>);

struct Retry {
    error: String,
    delay: BlockNumber,
    next: BlockNumber,
}

impl Retries {
    /// Whether `order` may be tried at finalized block `now`.
    fn due(&self, order: u64, now: BlockNumber) -> bool {
        self.0.get(&order).is_none_or(|retry| now >= retry.next)
    }

    /// Records a failure at `now`: the wait doubles while the error stays the same, and
    /// starts again at one block when it changes (something changed; it may soon pass).
    /// Returns the wait if the error is new (it is worth a log line), else `None`.
    fn failed(&mut self, order: u64, now: BlockNumber, error: &str) -> Option<BlockNumber> {
        let retry = self.0.entry(order).or_insert(Retry {
            error: String::new(),
            delay: 0,
            next: now,
        });
        let new_error = retry.error != error;
        retry.delay = if new_error {
            retry.error = error.to_string();
            1
        } else {
            retry.delay.saturating_mul(2).min(MAX_RETRY_BLOCKS)
        };
        retry.next = now.saturating_add(retry.delay);
        new_error.then_some(retry.delay)
    }

    fn succeeded(&mut self, order: u64) {
        self.0.remove(&order);
    }

    /// Forgets the orders that are no longer waiting for delivery.
    fn keep_only(&mut self, waiting: &[u64]) {
        self.0.retain(|order, _| waiting.contains(order));
    }
}

/// Answers, from the chain at the delivery block, whether a stored record may go into this
/// sale: it is registered, still active (no erasure requested), to this owner at this
/// custodian, and the owner's consent covered it at the block asked about.
struct ChainConsent<'a> {
    client: &'a FullClient,
    at: Hash,
    /// Derives each owner's category salt, to match its consents' category tags.
    store_key: &'a StoreKey,
    custodian: AccountId,
    buyer: AccountId,
    purpose: pallet_consent::Purpose,
    /// The first failure: a record whose consent could not be checked is never sold, and the
    /// delivery is retried.
    error: RefCell<Option<String>>,
    /// The last record whose registration was read, and whether it may be sold: selection asks
    /// about one record twice in a row (sale block, then delivery block).
    last_registration: RefCell<Option<([u8; 32], bool)>>,
    /// Records a category consent covered, with the matching category code (for the opening).
    category_matches: RefCell<HashMap<[u8; 32], String>>,
}

impl ChainConsent<'_> {
    /// Is `record` registered to `owner` at this custodian and still active (at `self.at`)?
    fn registered(&self, record: [u8; 32], owner: &AccountId) -> bool {
        if let Some((last, sellable)) = *self.last_registration.borrow() {
            if last == record {
                return sellable;
            }
        }
        let registration: Result<Option<RecordInfo>, String> = read_storage(
            self.client,
            self.at,
            pallet_ownership::Records::<Runtime>::hashed_key_for(H256(record)),
        );
        let sellable = match registration {
            Ok(Some(info)) => {
                info.owner == *owner
                    && info.custodian == self.custodian
                    && info.status == pallet_ownership::RecordStatus::Active
            }
            Ok(None) => false,
            Err(error) => {
                self.error.borrow_mut().get_or_insert(error);
                return false;
            }
        };
        *self.last_registration.borrow_mut() = Some((record, sellable));
        sellable
    }
}

impl ConsentOracle for ChainConsent<'_> {
    fn consent_covers(&self, query: &ConsentQuery<'_>) -> bool {
        let Ok(at_block) = BlockNumber::try_from(query.at_block) else {
            return false;
        };
        let owner = AccountId::from(*query.owner.public_key());
        if !self.registered(query.record.0, &owner) {
            return false;
        }
        let answer = self.client.runtime_api().consent_covers(
            self.at,
            owner,
            H256(query.record.0),
            self.purpose,
            self.buyer.clone(),
            at_block,
        );
        match answer {
            Ok(ConsentAnswer::Covered { .. }) => true,
            Ok(ConsentAnswer::CoveredIfInCategory { categories }) => {
                let salt = self.store_key.category_salt(query.owner.public_key());
                let matched = query.categories.iter().find(|code| {
                    let tag = H256(category_tag(&salt, code));
                    categories.iter().any(|(_, category)| *category == tag)
                });
                if let Some(code) = matched {
                    self.category_matches
                        .borrow_mut()
                        .insert(query.record.0, code.clone());
                }
                matched.is_some()
            }
            Ok(ConsentAnswer::NotCovered) => false,
            Err(error) => {
                self.error.borrow_mut().get_or_insert(error.to_string());
                false
            }
        }
    }
}

/// Removes the sealed file and the opening of `order`, if any: they are stale, from a delivery
/// whose outcome was never recorded.
fn remove_unreceipted_files(dir: &Path, order: u64) -> Result<(), String> {
    for path in [sealed_path(dir, order), opening_path(dir, order)] {
        match fs::remove_file(&path) {
            Ok(()) => log::warn!(
                target: "medledger::delivery",
                "removing {}: kept by a delivery whose outcome was never recorded (a crash, or \
                 another chain with this base path); order {order} is delivered again",
                path.display()
            ),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(format!("removing {}: {error}", path.display())),
        }
    }
    Ok(())
}

fn outcome_of(opening: &Opening) -> Result<DeliveryOutcome<BlockNumber>, String> {
    Ok(DeliveryOutcome::Sealed(SealedDelivery {
        ciphertext_digest: parse_h256(&opening.ciphertext_digest)?,
        size: opening.size,
        record_count: opening.record_count,
        records_root: parse_h256(&opening.records_root)?,
        receipt_block: opening.receipt_block,
    }))
}

pub fn read_opening(dir: &Path, order: u64) -> Result<Option<Opening>, String> {
    let path = opening_path(dir, order);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{} is damaged: {e}", path.display())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("reading {}: {error}", path.display())),
    }
}

pub use medledger_audit::parse_h256;

fn fhir_account(account: &AccountId) -> Result<medledger_fhir::AccountId, String> {
    medledger_fhir::AccountId::from_ss58(&account.to_ss58check()).map_err(|e| e.to_string())
}

fn fhir_purpose(purpose: medledger_primitives::Purpose) -> medledger_fhir::Purpose {
    use medledger_primitives::Purpose;
    match purpose {
        Purpose::Research => medledger_fhir::Purpose::Research,
        Purpose::PublicHealth => medledger_fhir::Purpose::PublicHealth,
        Purpose::Commercial => medledger_fhir::Purpose::Commercial,
        Purpose::QualityImprovement => medledger_fhir::Purpose::QualityImprovement,
        Purpose::Education => medledger_fhir::Purpose::Education,
    }
}

/// The listing's machine-readable filter as the FHIR selection reads it: its category codes,
/// and its time range (Unix seconds, both ends inclusive) as whole UTC days.
pub fn listing_filter<S: frame_support::traits::Get<u32>>(
    description: &pallet_listing::ListingDescription<S>,
) -> ListingFilter {
    const DAY: u64 = 86_400;
    let range = description.time_range;
    ListingFilter {
        categories: description
            .categories
            .iter()
            .map(|code| String::from_utf8_lossy(code).into_owned())
            .collect(),
        from: (range.from > 0).then(|| civil_date(range.from / DAY)),
        // `until` is inclusive; the filter's bound is the first day after it.
        until: range
            .until
            .checked_add(DAY)
            .filter(|_| range.until < u64::MAX / 2)
            .map(|after| civil_date(after / DAY)),
    }
}

/// `YYYY-MM-DD` of day `days` since 1970-01-01 (UTC).
pub fn civil_date(days: u64) -> String {
    let (year, month, day) = medledger_fhir::civil_date(days as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A tar archive of the de-identified folder: what the buyer gets after `medledger open`.
fn write_tar(folder: &Path, archive: &Path) -> Result<(), String> {
    let file =
        fs::File::create(archive).map_err(|e| format!("creating {}: {e}", archive.display()))?;
    let mut builder = tar::Builder::new(std::io::BufWriter::new(file));
    builder.mode(tar::HeaderMode::Deterministic);
    builder
        .append_dir_all("delivery", folder)
        .and_then(|()| builder.into_inner())
        .and_then(|writer| writer.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.sync_all())
        .map_err(|e| format!("writing {}: {e}", archive.display()))
}

/// Makes the entries of `dir` (files renamed into it) durable.
pub fn sync_dir(dir: &Path) -> Result<(), String> {
    fs::File::open(dir)
        .and_then(|folder| folder.sync_all())
        .map_err(|e| format!("syncing {}: {e}", dir.display()))
}

pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let mut file =
        fs::File::create(path).map_err(|e| format!("creating {}: {e}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_of_an_unrecorded_delivery_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        for order in [4, 5] {
            fs::write(sealed_path(dir, order), b"sealed").unwrap();
            fs::write(opening_path(dir, order), b"{}").unwrap();
        }
        remove_unreceipted_files(dir, 4).unwrap();
        assert!(!sealed_path(dir, 4).exists());
        assert!(!opening_path(dir, 4).exists());
        assert!(sealed_path(dir, 5).exists(), "another order's files stay");
        assert!(opening_path(dir, 5).exists());
        // Nothing (left) to remove, or an opening without its sealed file.
        remove_unreceipted_files(dir, 4).unwrap();
        fs::remove_file(sealed_path(dir, 5)).unwrap();
        remove_unreceipted_files(dir, 5).unwrap();
        assert!(!opening_path(dir, 5).exists());
    }

    #[test]
    fn a_failing_order_is_retried_ever_less_often_and_a_new_error_is_reported() {
        let mut retries = Retries::default();
        let (order, other) = (7, 8);
        assert!(retries.due(order, 100));
        // Attempts at 100, 101, 103, 107, … : waits of 1, 2, 4, … blocks, at most 64.
        let mut attempts = Vec::new();
        let mut reported = Vec::new();
        for now in 100..400 {
            if retries.due(order, now) {
                attempts.push(now);
                reported.push(retries.failed(order, now, "too many records"));
            }
        }
        assert_eq!(attempts, [100, 101, 103, 107, 115, 131, 163, 227, 291, 355]);
        assert_eq!(reported[0], Some(1), "the first failure is reported");
        assert!(
            reported[1..].iter().all(Option::is_none),
            "the same error is not"
        );
        // Another error is reported, and the waits start again from one block.
        assert_eq!(retries.failed(order, 355, "store unreadable"), Some(1));
        assert!(!retries.due(order, 355));
        assert!(retries.due(order, 356));
        assert_eq!(retries.failed(order, 356, "store unreadable"), None);
        // Other orders are unaffected, and success forgets the order.
        assert!(retries.due(other, 357));
        assert!(!retries.due(order, 357));
        retries.succeeded(order);
        assert!(retries.due(order, 357));
        // An order no longer waiting is forgotten.
        retries.failed(other, 357, "too many records");
        assert!(!retries.due(other, 357));
        retries.keep_only(&[order]);
        assert!(retries.due(other, 357));
    }

    #[test]
    fn civil_dates_match_known_days() {
        // Days counted independently: 2000-03-01 is day 11 017, 2024-02-29 is day 19 782.
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_017), "2000-03-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
        assert_eq!(civil_date(19_783), "2024-03-01");
    }

    #[test]
    fn listing_time_range_becomes_whole_days_with_an_exclusive_end() {
        let mut description =
            pallet_listing::ListingDescription::<frame_support::traits::ConstU32<8>> {
                filter_summary: Default::default(),
                categories: vec![b"observation:laboratory".to_vec().try_into().unwrap()]
                    .try_into()
                    .unwrap(),
                time_range: pallet_listing::TimeRange {
                    // 2020-01-01T00:00:00Z .. 2020-12-31T23:59:59Z
                    from: 1_577_836_800,
                    until: 1_609_459_199,
                },
                purpose: pallet_listing::Purpose::Research,
                terms_hash: Default::default(),
            };
        let filter = listing_filter(&description);
        assert_eq!(
            filter.categories,
            vec!["observation:laboratory".to_string()]
        );
        assert_eq!(filter.from.as_deref(), Some("2020-01-01"));
        assert_eq!(filter.until.as_deref(), Some("2021-01-01"));

        description.time_range = pallet_listing::TimeRange {
            from: 0,
            until: u64::MAX,
        };
        let open = listing_filter(&description);
        assert_eq!(
            (open.from, open.until),
            (None, None),
            "the whole time range"
        );
    }
}
