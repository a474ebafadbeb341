//! The native side of payouts: for each root the runtime's off-chain worker asks for
//! (`pallet_revenue::offchain`), build the payout book from the openings of every delivery the
//! custodian was paid for so far, keep it, and hand the root to the worker, which commits it.
//!
//! A book is `payouts/<custodian SS58>-epoch-<E>.json` under the delivery folder
//! ([`PayoutBook`], format `medledger-payout-book/2`): every entry (order, record, owner,
//! amount), every leaf (owner, cumulative amount, salt) and the secret seed the salts come
//! from. The endpoint answers owners' `GET /payouts` from the latest book of each custodian
//! whose root the chain holds, each owner seeing only its own leaf and salt; a regulator given the book and the openings
//! can recompute the committed root (`pallet_revenue::book`). The book is written (and synced)
//! before the root is handed over, so every committed root has its book on disk. A job naming
//! a rejected root replaces that root's book with a new one (a fresh seed).

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

use codec::{Decode, Encode};
use medledger_delivery_http::PayoutClaim;
use medledger_runtime::{AccountId, Balance, BlockNumber};
use pallet_revenue::{
    book::{cumulative_leaves, order_entries},
    merkle::PayoutTree,
    offchain::{outcome_key, PayoutJob, PayoutJobs, PayoutOutcome, JOBS_KEY},
    EpochIndex, PayoutLeaf,
};
use sp_core::{
    crypto::Ss58Codec,
    offchain::{OffchainStorage, STORAGE_PREFIX},
    H256,
};

use super::worker::{parse_h256, read_opening, sync_dir, write_synced};

pub use medledger_audit::{BookEntry, BookLeaf, BookOrder, PayoutBook, BOOK_FORMAT};

pub fn book_dir(delivery_dir: &Path) -> PathBuf {
    delivery_dir.join("payouts")
}

pub fn book_path(delivery_dir: &Path, custodian: &AccountId, epoch: EpochIndex) -> PathBuf {
    book_dir(delivery_dir).join(format!("{}-epoch-{epoch}.json", custodian.to_ss58check()))
}

/// Builds the book of one job from the openings of its orders' deliveries, salting the leaves
/// from `seed`.
pub fn build_book(
    delivery_dir: &Path,
    job: &PayoutJob<AccountId, Balance>,
    seed: [u8; 32],
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
            entries: order_entries.iter().map(BookEntry::of).collect(),
        });
        entries.extend(order_entries);
    }
    let leaves = cumulative_leaves(&entries, &job.owners, &seed);
    let total: Balance = leaves.iter().map(|leaf| leaf.amount).sum();
    if total != job.total {
        return Err(format!(
            "the deliveries up to epoch {} pay {total}, the chain's earnings are {}",
            job.epoch, job.total
        ));
    }
    let tree = PayoutTree::from_leaves(&leaves);
    let book = PayoutBook {
        format: BOOK_FORMAT.into(),
        custodian: job.custodian.to_ss58check(),
        epoch: job.epoch,
        total: total.to_string(),
        root: format!("{:?}", tree.root()),
        seed: hex_of(&seed),
        orders,
        leaves: leaves.iter().map(BookLeaf::of).collect(),
    };
    let outcome = PayoutOutcome {
        root: tree.root(),
        total,
        leaf_count: tree.leaf_count(),
    };
    Ok((book, outcome))
}

/// Builds, keeps and hands over the root of every published job that has none yet (or only
/// the rejected one).
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
            let built = self
                .offchain_db
                .get(STORAGE_PREFIX, &key)
                .and_then(|bytes| PayoutOutcome::<Balance>::decode(&mut &bytes[..]).ok());
            if built.is_some_and(|built| Some(built.root) != job.rejected) {
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
                        "payout book up to epoch {} built: {} leaves",
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

/// Builds the job's book with a fresh secret seed and keeps it on disk (synced, then renamed
/// into place).
fn keep_book(
    delivery_dir: &Path,
    job: &PayoutJob<AccountId, Balance>,
) -> Result<PayoutOutcome<Balance>, String> {
    let (book, outcome) = build_book(delivery_dir, job, rand::random())?;
    let dir = book_dir(delivery_dir);
    fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let path = book_path(delivery_dir, &job.custodian, job.epoch);
    let json = serde_json::to_vec_pretty(&book).map_err(|e| e.to_string())?;
    let partial = path.with_extension("json.partial");
    write_synced(&partial, &json)?;
    fs::rename(&partial, &path).map_err(|e| format!("keeping {}: {e}", path.display()))?;
    sync_dir(&dir)?;
    Ok(outcome)
}

/// `owner`'s leaf in the latest *committed* book of each custodian under `delivery_dir`, with
/// its proof: leaves are cumulative, so the latest committed one claims everything.
/// `committed(custodian, epoch)` is the root the chain holds for that epoch, `None` if it holds
/// none or rejected it. A book built but not yet on chain (or replaced after a rejection, or
/// left by a root the chain never took) is not served: its proof would be refused.
pub fn claims_of(
    delivery_dir: &Path,
    owner: &AccountId,
    committed: impl Fn(&AccountId, EpochIndex) -> Option<H256>,
) -> Vec<PayoutClaim> {
    let Ok(entries) = fs::read_dir(book_dir(delivery_dir)) else {
        return Vec::new();
    };
    let mut latest: HashMap<AccountId, PayoutBook> = HashMap::new();
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
        let Ok(custodian) = AccountId::from_ss58check(&book.custodian) else {
            log::error!(target: "medledger::payout", "{}: custodian {} is not an account", path.display(), book.custodian);
            continue;
        };
        if latest
            .get(&custodian)
            .is_some_and(|kept| kept.epoch >= book.epoch)
        {
            continue;
        }
        let on_chain = committed(&custodian, book.epoch);
        if on_chain.is_some() && parse_h256(&book.root).ok() == on_chain {
            latest.insert(custodian, book);
        }
    }
    let owner_ss58 = owner.to_ss58check();
    let mut claims: Vec<PayoutClaim> = latest
        .values()
        .filter_map(|book| claim_in(book, &owner_ss58))
        .collect();
    claims.sort_by(|a, b| a.custodian.cmp(&b.custodian));
    claims
}

fn claim_in(book: &PayoutBook, owner: &str) -> Option<PayoutClaim> {
    let index = book.leaves.iter().position(|leaf| leaf.owner == owner)?;
    let leaves = book
        .leaves
        .iter()
        .map(|leaf| {
            Some(PayoutLeaf::<AccountId, Balance> {
                owner: AccountId::from_ss58check(&leaf.owner).ok()?,
                amount: leaf.amount.parse().ok()?,
                salt: parse_h256(&leaf.salt).ok()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let custodian = AccountId::from_ss58check(&book.custodian).ok()?;
    let tree = PayoutTree::from_leaves(&leaves);
    let proof = tree.proof(index as u32)?;
    let leaf = &leaves[index];
    Some(PayoutClaim {
        custodian: hex_of(custodian.as_ref()),
        epoch: book.epoch,
        index: index as u32,
        owner: hex_of(leaf.owner.as_ref()),
        amount: leaf.amount.to_string(),
        salt: hex_of(leaf.salt.as_bytes()),
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
                    category: None,
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
            owners: vec![Sr25519Keyring::Ferdie.to_account_id()],
            rejected: None,
        };
        let (book, outcome) = build_book(dir.path(), &job, [3; 32]).expect("a book");
        assert_eq!(outcome.total, 1_001);
        assert_eq!(outcome.leaf_count, 3, "Bob, Eve and the enrolled Ferdie");
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
        assert_eq!(
            amounts[&Sr25519Keyring::Ferdie.to_account_id().to_ss58check()],
            "0"
        );
        let (again, _) = build_book(dir.path(), &job, [4; 32]).expect("a book");
        assert_ne!(
            again.root, book.root,
            "another seed, other salts, another root"
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
            .map(|bytes| PayoutOutcome::<Balance>::decode(&mut &bytes[..]).expect("decodes"))
            .expect("handed over");
        assert_eq!(
            (handed_over.total, handed_over.leaf_count),
            (outcome.total, outcome.leaf_count)
        );
        assert!(book_path(dir.path(), &custodian, 5).exists());
        let bob_id = Sr25519Keyring::Bob.to_account_id();
        assert!(
            claims_of(dir.path(), &bob_id, |_, _| None).is_empty(),
            "nothing served before the chain holds the root"
        );
        let chain = |roots: Vec<(EpochIndex, H256)>| {
            let custodian = custodian.clone();
            move |of: &AccountId, epoch: EpochIndex| {
                (*of == custodian)
                    .then(|| {
                        roots
                            .iter()
                            .find(|(e, _)| *e == epoch)
                            .map(|(_, root)| *root)
                    })
                    .flatten()
            }
        };
        let bob = claims_of(dir.path(), &bob_id, chain(vec![(5, handed_over.root)]));
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
            &PayoutLeaf {
                owner: Sr25519Keyring::Bob.to_account_id(),
                amount: 651u128,
                salt: parse_h256(&claim.salt).expect("hex"),
            },
        );
        assert!(pallet_revenue::merkle::verify_proof(
            &handed_over.root,
            leaf,
            claim.index,
            outcome.leaf_count,
            &proof
        ));
        assert!(claims_of(
            dir.path(),
            &Sr25519Keyring::Charlie.to_account_id(),
            chain(vec![(5, handed_over.root)])
        )
        .is_empty());
        assert!(
            claims_of(dir.path(), &bob_id, chain(vec![(5, H256::repeat_byte(9))])).is_empty(),
            "a book whose root is not the chain's (a rejected one's replacement) is not served"
        );

        // A later book supersedes it: an owner is served its latest cumulative leaf only.
        keep(
            dir.path(),
            &opening(12, &custodian, &[(4, Sr25519Keyring::Bob)]),
        );
        let later = PayoutJob {
            epoch: 7,
            total: 1_101,
            orders: vec![(4, 701), (9, 300), (12, 100)],
            ..job
        };
        let later_root = keep_book(dir.path(), &later).expect("kept").root;
        let bob = claims_of(dir.path(), &bob_id, chain(vec![(5, handed_over.root)]));
        assert_eq!(
            (bob[0].epoch, bob[0].amount.as_str()),
            (5, "651"),
            "until its root is on chain, the earlier book is served"
        );
        let bob = claims_of(
            dir.path(),
            &bob_id,
            chain(vec![(5, handed_over.root), (7, later_root)]),
        );
        assert_eq!(bob.len(), 1);
        assert_eq!((bob[0].epoch, bob[0].amount.as_str()), (7, "751"));
    }

    #[test]
    fn a_job_naming_the_rejected_root_gets_a_new_book() {
        let dir = tempfile::tempdir().expect("temp dir");
        let custodian = Sr25519Keyring::Alice.to_account_id();
        keep(
            dir.path(),
            &opening(1, &custodian, &[(1, Sr25519Keyring::Bob)]),
        );
        let job: PayoutJob<AccountId, Balance> = PayoutJob {
            custodian: custodian.clone(),
            epoch: 2,
            total: 10,
            orders: vec![(1, 10)],
            owners: vec![],
            rejected: None,
        };
        let mut db = sp_core::offchain::storage::InMemOffchainStorage::default();
        let publish = |db: &mut sp_core::offchain::storage::InMemOffchainStorage, job| {
            let jobs = PayoutJobs {
                as_of: 40u32,
                jobs: vec![job],
            };
            db.set(STORAGE_PREFIX, JOBS_KEY, &jobs.encode());
        };
        publish(&mut db, job.clone());
        let mut worker = PayoutWorker::new(db, dir.path().to_path_buf());
        let built = |worker: &PayoutWorker<sp_core::offchain::storage::InMemOffchainStorage>| {
            worker
                .offchain_db
                .get(STORAGE_PREFIX, &outcome_key(&custodian, 2))
                .map(|bytes| PayoutOutcome::<Balance>::decode(&mut &bytes[..]).expect("decodes"))
                .expect("built")
        };
        worker.build_published_books();
        let first = built(&worker);
        worker.build_published_books();
        assert_eq!(built(&worker), first, "a built root is kept");
        publish(
            &mut worker.offchain_db,
            PayoutJob {
                rejected: Some(first.root),
                ..job
            },
        );
        worker.build_published_books();
        assert_ne!(built(&worker).root, first.root);
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
            owners: vec![],
            rejected: None,
        };
        let missing = build_book(dir.path(), &job, [0; 32]).expect_err("no opening");
        assert!(missing.contains("opening"), "{missing}");
        keep(
            dir.path(),
            &opening(1, &custodian, &[(1, Sr25519Keyring::Bob)]),
        );
        let wrong_total = PayoutJob {
            total: 11,
            ..job.clone()
        };
        assert!(build_book(dir.path(), &wrong_total, [0; 32]).is_err());
        let other = Sr25519Keyring::Charlie.to_account_id();
        let theirs = PayoutJob {
            custodian: other,
            ..job
        };
        assert!(build_book(dir.path(), &theirs, [0; 32]).is_err());
    }
}
