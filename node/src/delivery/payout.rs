//! The native side of payouts: for each ended epoch's pool the runtime's off-chain worker
//! published (`pallet_revenue::offchain`), build the payout book from the openings of the
//! pool's deliveries, keep it, and hand the root to the worker, which commits it.
//!
//! A book is `payouts/<custodian SS58>-epoch-<E>.json` under the delivery folder
//! ([`PayoutBook`], format `medledger-payout-book/1`): every entry (order, record, owner,
//! amount) and every leaf. The endpoint answers owners' `GET /payouts` from these files, and a
//! regulator given the book and the openings can recompute the committed root
//! (`pallet_revenue::book`). The book is written (and synced) before the root is handed over,
//! so every committed root has its book on disk.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

use codec::{Decode, Encode};
use medledger_delivery_http::PayoutClaim;
use medledger_runtime::{AccountId, Balance, BlockNumber};
use pallet_revenue::{
    book::{epoch_leaves, order_entries},
    merkle::PayoutTree,
    offchain::{outcome_key, PayoutJob, PayoutJobs, PayoutOutcome, JOBS_KEY},
    EpochIndex,
};
use serde::{Deserialize, Serialize};
use sp_core::{
    crypto::Ss58Codec,
    offchain::{OffchainStorage, STORAGE_PREFIX},
};

use super::worker::{parse_h256, read_opening, write_synced};

/// Format tag of a [`PayoutBook`].
pub const BOOK_FORMAT: &str = "medledger-payout-book/1";

/// One custodian's payouts for one epoch: how each sale's owners' part was split over its
/// delivered records, and the per-owner leaves of the committed root. Amounts are decimal
/// strings in the chain's smallest unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutBook {
    pub format: String,
    pub custodian: String,
    pub epoch: EpochIndex,
    pub total: String,
    /// `0x`-hex payout root.
    pub root: String,
    pub orders: Vec<BookOrder>,
    /// Leaf `i` of the root is `leaves[i]`.
    pub leaves: Vec<BookLeaf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookOrder {
    pub order: u64,
    pub owners_pool: String,
    /// One per delivered record, in ascending order of the record id.
    pub entries: Vec<BookEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookEntry {
    /// `0x`-hex record id.
    pub record: String,
    pub owner: String,
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookLeaf {
    pub owner: String,
    pub amount: String,
}

pub fn book_dir(delivery_dir: &Path) -> PathBuf {
    delivery_dir.join("payouts")
}

pub fn book_path(delivery_dir: &Path, custodian: &AccountId, epoch: EpochIndex) -> PathBuf {
    book_dir(delivery_dir).join(format!("{}-epoch-{epoch}.json", custodian.to_ss58check()))
}

/// Builds the book of one pool from the openings of its orders' deliveries.
pub fn build_book(
    delivery_dir: &Path,
    job: &PayoutJob<AccountId, Balance>,
) -> Result<(PayoutBook, PayoutOutcome<Balance>), String> {
    let mut entries = Vec::new();
    let mut orders = Vec::new();
    for (order, part) in &job.orders {
        let opening = read_opening(delivery_dir, *order)?.ok_or_else(|| {
            format!(
                "order {order} was paid out but its opening is not in {}: the owners cannot be \
                 paid until it is restored",
                delivery_dir.display()
            )
        })?;
        if opening.custodian != job.custodian.to_ss58check() {
            return Err(format!(
                "the opening of order {order} is another custodian's"
            ));
        }
        let records = opening
            .records
            .iter()
            .map(|record| {
                let owner = AccountId::from_ss58check(&record.owner)
                    .map_err(|e| format!("order {order}: owner {}: {e:?}", record.owner))?;
                Ok((parse_h256(&record.record)?, owner))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if records.is_empty() {
            return Err(format!(
                "order {order} was paid out but delivered no record"
            ));
        }
        let order_entries = order_entries(*order, *part, &records);
        orders.push(BookOrder {
            order: *order,
            owners_pool: part.to_string(),
            entries: order_entries
                .iter()
                .map(|entry| BookEntry {
                    record: format!("{:?}", entry.record),
                    owner: entry.owner.to_ss58check(),
                    amount: entry.amount.to_string(),
                })
                .collect(),
        });
        entries.extend(order_entries);
    }
    let leaves = epoch_leaves(&entries);
    let total: Balance = leaves.iter().map(|(_, amount)| amount).sum();
    if total != job.total {
        return Err(format!(
            "the deliveries of epoch {} pay {total}, the chain's pool is {}",
            job.epoch, job.total
        ));
    }
    let tree = PayoutTree::from_payouts(&leaves);
    let book = PayoutBook {
        format: BOOK_FORMAT.into(),
        custodian: job.custodian.to_ss58check(),
        epoch: job.epoch,
        total: total.to_string(),
        root: format!("{:?}", tree.root()),
        orders,
        leaves: leaves
            .iter()
            .map(|(owner, amount)| BookLeaf {
                owner: owner.to_ss58check(),
                amount: amount.to_string(),
            })
            .collect(),
    };
    let outcome = PayoutOutcome {
        root: tree.root(),
        total,
        leaf_count: tree.leaf_count(),
    };
    Ok((book, outcome))
}

/// Builds, keeps and hands over the root of every published pool that has none yet.
pub struct PayoutWorker<S> {
    offchain_db: S,
    delivery_dir: PathBuf,
    last_errors: HashMap<(AccountId, EpochIndex), String>,
}

impl<S: OffchainStorage> PayoutWorker<S> {
    pub fn new(offchain_db: S, delivery_dir: PathBuf) -> Self {
        Self {
            offchain_db,
            delivery_dir,
            last_errors: HashMap::new(),
        }
    }

    pub fn build_published_books(&mut self) {
        let Some(jobs) = self
            .offchain_db
            .get(STORAGE_PREFIX, JOBS_KEY)
            .and_then(|bytes| {
                PayoutJobs::<AccountId, Balance, BlockNumber>::decode(&mut &bytes[..]).ok()
            })
        else {
            return;
        };
        for job in jobs.jobs {
            let key = outcome_key(&job.custodian, job.epoch);
            if self.offchain_db.get(STORAGE_PREFIX, &key).is_some() {
                continue;
            }
            let pool = (job.custodian.clone(), job.epoch);
            match keep_book(&self.delivery_dir, &job) {
                Ok(outcome) => {
                    self.last_errors.remove(&pool);
                    self.offchain_db
                        .set(STORAGE_PREFIX, &key, &outcome.encode());
                    log::info!(
                        target: "medledger::payout",
                        "payout book of epoch {} built: {} leaves",
                        job.epoch,
                        outcome.leaf_count
                    );
                }
                Err(error) => {
                    if self.last_errors.get(&pool) != Some(&error) {
                        log::error!(
                            target: "medledger::payout",
                            "epoch {}: no payout root yet: {error} (retrying at every finalized block)",
                            job.epoch
                        );
                        self.last_errors.insert(pool, error);
                    }
                }
            }
        }
    }
}

/// Builds the pool's book and keeps it on disk (synced, then renamed into place).
fn keep_book(
    delivery_dir: &Path,
    job: &PayoutJob<AccountId, Balance>,
) -> Result<PayoutOutcome<Balance>, String> {
    let (book, outcome) = build_book(delivery_dir, job)?;
    let dir = book_dir(delivery_dir);
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let path = book_path(delivery_dir, &job.custodian, job.epoch);
    let json = serde_json::to_vec_pretty(&book).map_err(|e| e.to_string())?;
    let partial = path.with_extension("json.partial");
    write_synced(&partial, &json)?;
    fs::rename(&partial, &path).map_err(|e| format!("keeping {}: {e}", path.display()))?;
    Ok(outcome)
}

/// Every leaf of the books under `delivery_dir` that pays `owner`, with its proof.
pub fn claims_of(delivery_dir: &Path, owner: &AccountId) -> Vec<PayoutClaim> {
    let Ok(entries) = fs::read_dir(book_dir(delivery_dir)) else {
        return Vec::new();
    };
    let owner_ss58 = owner.to_ss58check();
    let mut claims = Vec::new();
    for path in entries.flatten().map(|entry| entry.path()) {
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let book = match fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                serde_json::from_slice::<PayoutBook>(&bytes).map_err(|e| e.to_string())
            }) {
            Ok(book) => book,
            Err(error) => {
                log::error!(target: "medledger::payout", "{} is unreadable: {error}", path.display());
                continue;
            }
        };
        if let Some(claim) = claim_in(&book, &owner_ss58) {
            claims.push(claim);
        }
    }
    claims.sort_by_key(|claim| claim.epoch);
    claims
}

fn claim_in(book: &PayoutBook, owner: &str) -> Option<PayoutClaim> {
    let index = book.leaves.iter().position(|leaf| leaf.owner == owner)?;
    let leaves = book
        .leaves
        .iter()
        .map(|leaf| {
            let owner = AccountId::from_ss58check(&leaf.owner).ok()?;
            let amount: Balance = leaf.amount.parse().ok()?;
            Some((owner, amount))
        })
        .collect::<Option<Vec<_>>>()?;
    let custodian = AccountId::from_ss58check(&book.custodian).ok()?;
    let tree = PayoutTree::from_payouts(&leaves);
    let proof = tree.proof(index as u32)?;
    let (owner, amount) = &leaves[index];
    Some(PayoutClaim {
        custodian: hex_of(custodian.as_ref()),
        epoch: book.epoch,
        index: index as u32,
        owner: hex_of(owner.as_ref()),
        amount: amount.to_string(),
        proof: proof.iter().map(|node| hex_of(node.as_bytes())).collect(),
    })
}

fn hex_of(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::worker::{opening_path, OpenedRecord, Opening, OPENING_FORMAT};
    use sp_core::H256;
    use sp_keyring::Sr25519Keyring;

    fn opening(order: u64, custodian: &AccountId, records: &[(u8, Sr25519Keyring)]) -> Opening {
        Opening {
            format: OPENING_FORMAT.into(),
            order,
            custodian: custodian.to_ss58check(),
            buyer: Sr25519Keyring::Ferdie.to_account_id().to_ss58check(),
            sale_block: 1,
            receipt_block: 2,
            ciphertext_digest: format!("{:?}", H256::zero()),
            size: 1,
            record_count: records.len() as u32,
            records_root: format!("{:?}", H256::zero()),
            records: records
                .iter()
                .map(|(byte, owner)| OpenedRecord {
                    record: format!("{:?}", H256::repeat_byte(*byte)),
                    commitment: format!("{:?}", H256::repeat_byte(byte ^ 0xff)),
                    owner: owner.to_account_id().to_ss58check(),
                })
                .collect(),
        }
    }

    fn keep(dir: &Path, opening: &Opening) {
        fs::write(
            opening_path(dir, opening.order),
            serde_json::to_vec(opening).expect("json"),
        )
        .expect("write opening");
    }

    #[test]
    fn a_book_pays_the_pool_to_the_delivered_records_owners_and_serves_their_proofs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let custodian = Sr25519Keyring::Alice.to_account_id();
        keep(
            dir.path(),
            &opening(
                4,
                &custodian,
                &[(1, Sr25519Keyring::Bob), (2, Sr25519Keyring::Eve)],
            ),
        );
        keep(
            dir.path(),
            &opening(9, &custodian, &[(3, Sr25519Keyring::Bob)]),
        );
        let job = PayoutJob {
            custodian: custodian.clone(),
            epoch: 5,
            total: 1_001,
            orders: vec![(4, 701), (9, 300)],
        };
        let (book, outcome) = build_book(dir.path(), &job).expect("a book");
        assert_eq!(outcome.total, 1_001);
        assert_eq!(outcome.leaf_count, 2);
        let amounts: HashMap<String, String> = book
            .leaves
            .iter()
            .map(|leaf| (leaf.owner.clone(), leaf.amount.clone()))
            .collect();
        // Order 4: 701 over two records, the first (record 0x01…, Bob's) takes the odd unit.
        assert_eq!(
            amounts[&Sr25519Keyring::Bob.to_account_id().to_ss58check()],
            "651"
        );
        assert_eq!(
            amounts[&Sr25519Keyring::Eve.to_account_id().to_ss58check()],
            "350"
        );

        let mut db = sp_core::offchain::storage::InMemOffchainStorage::default();
        let jobs = PayoutJobs {
            as_of: 40u32,
            jobs: vec![job.clone()],
        };
        db.set(STORAGE_PREFIX, JOBS_KEY, &jobs.encode());
        let mut worker = PayoutWorker::new(db, dir.path().to_path_buf());
        worker.build_published_books();
        let handed_over = worker
            .offchain_db
            .get(STORAGE_PREFIX, &outcome_key(&custodian, 5))
            .map(|bytes| PayoutOutcome::<Balance>::decode(&mut &bytes[..]).expect("decodes"));
        assert_eq!(handed_over, Some(outcome.clone()));
        assert!(book_path(dir.path(), &custodian, 5).exists());
        let bob = claims_of(dir.path(), &Sr25519Keyring::Bob.to_account_id());
        assert_eq!(bob.len(), 1);
        let claim = &bob[0];
        assert_eq!((claim.epoch, claim.amount.as_str()), (5, "651"));
        let proof: Vec<H256> = claim
            .proof
            .iter()
            .map(|node| parse_h256(node).expect("hex"))
            .collect();
        let leaf = pallet_revenue::merkle::leaf_hash(
            claim.index,
            &Sr25519Keyring::Bob.to_account_id(),
            &651u128,
        );
        assert!(pallet_revenue::merkle::verify_proof(
            &outcome.root,
            leaf,
            claim.index,
            outcome.leaf_count,
            &proof
        ));
        assert!(claims_of(dir.path(), &Sr25519Keyring::Ferdie.to_account_id()).is_empty());
    }

    #[test]
    fn a_book_is_refused_without_an_opening_or_when_it_does_not_sum_to_the_pool() {
        let dir = tempfile::tempdir().expect("temp dir");
        let custodian = Sr25519Keyring::Alice.to_account_id();
        let job = PayoutJob {
            custodian: custodian.clone(),
            epoch: 0,
            total: 10,
            orders: vec![(1, 10)],
        };
        let missing = build_book(dir.path(), &job).expect_err("no opening");
        assert!(missing.contains("opening"), "{missing}");
        keep(
            dir.path(),
            &opening(1, &custodian, &[(1, Sr25519Keyring::Bob)]),
        );
        let wrong_total = PayoutJob {
            total: 11,
            ..job.clone()
        };
        assert!(build_book(dir.path(), &wrong_total).is_err());
        let other = Sr25519Keyring::Charlie.to_account_id();
        let theirs = PayoutJob {
            custodian: other,
            ..job
        };
        assert!(build_book(dir.path(), &theirs).is_err());
    }
}
