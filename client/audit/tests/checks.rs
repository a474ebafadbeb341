//! The audit checks against a chain held in memory: a correct opening and book pass, and each
//! kind of tampering is named (the real network runs are in `client/cli/tests/chain.rs`).

use std::collections::BTreeMap;

use medledger_audit::{
    audit_opening, audit_payouts, AccountId, Balance, BookEntry, BookLeaf, BookOrder, ChainOrder,
    ChainReceipt, ChainRecord, ChainRoot, Coverage, DeliveryChain, OpenedCategory, OpenedRecord,
    Opening, PayoutBook, PayoutChain, BOOK_FORMAT, OPENING_FORMAT,
};
use medledger_fhir::{category_tag, CategorySalt};
use pallet_escrow::offchain::records_root;
use pallet_revenue::{
    book::{cumulative_leaves, order_entries},
    merkle::PayoutTree,
};
use sp_core::{crypto::Ss58Codec, H256};

fn account(n: u8) -> AccountId {
    AccountId::new([n; 32])
}

const ORDER: u64 = 7;
const POOL: Balance = 1_000;
const EPOCH: u32 = 3;

struct Chain {
    order: ChainOrder<()>,
    records: BTreeMap<H256, ChainRecord>,
    category_only: Option<AccountId>,
    root: ChainRoot,
}

impl DeliveryChain for Chain {
    type Purpose = ();
    fn order(&self, order: u64) -> Result<Option<ChainOrder<()>>, String> {
        Ok((order == ORDER).then(|| self.order.clone()))
    }
    fn record(&self, record: H256) -> Result<Option<ChainRecord>, String> {
        Ok(self.records.get(&record).cloned())
    }
    fn consent_covers(
        &self,
        owner: &AccountId,
        _: H256,
        _: &(),
        _: &AccountId,
        _: u32,
    ) -> Result<Coverage, String> {
        Ok(if Some(owner) == self.category_only.as_ref() {
            Coverage::IfInCategory(vec![H256(category_tag(&SALT, "condition"))])
        } else {
            Coverage::Covered
        })
    }
}

impl PayoutChain for Chain {
    fn payout_root(&self, custodian: &AccountId, epoch: u32) -> Result<Option<ChainRoot>, String> {
        Ok((*custodian == account(1) && epoch == EPOCH).then(|| self.root.clone()))
    }
    fn pool_orders(&self, custodian: &AccountId) -> Result<Vec<(u32, u64, Balance)>, String> {
        Ok(if *custodian == account(1) {
            vec![(EPOCH, ORDER, POOL)]
        } else {
            vec![]
        })
    }
}

/// A delivery of three records of owners 10, 11, 11 by custodian 1 to buyer 2, its opening,
/// the payout book of its owners' pool (owner 12 enrolled without records) and the chain.
fn world() -> (Chain, Opening, PayoutBook) {
    let owners = [account(10), account(11), account(11)];
    let mut records = BTreeMap::new();
    let mut opened = Vec::new();
    let mut pairs = Vec::new();
    let mut ids = Vec::new();
    for (i, owner) in owners.iter().enumerate() {
        let id = H256([i as u8 + 1; 32]);
        let commitment = H256([0x80 + i as u8; 32]);
        records.insert(
            id,
            ChainRecord {
                owner: owner.clone(),
                custodian: account(1),
                commitment,
            },
        );
        opened.push(OpenedRecord {
            record: format!("{id:?}"),
            commitment: format!("{commitment:?}"),
            owner: owner.to_ss58check(),
            category: None,
        });
        pairs.push((commitment, owner.clone()));
        ids.push((id, owner.clone()));
    }
    let root = records_root(&pairs);
    let receipt = ChainReceipt {
        ciphertext_digest: H256([9; 32]),
        size: 4096,
        record_count: 3,
        records_root: root,
        sale_block: 5,
        receipt_block: 9,
    };
    let opening = Opening {
        format: OPENING_FORMAT.into(),
        order: ORDER,
        custodian: account(1).to_ss58check(),
        buyer: account(2).to_ss58check(),
        sale_block: 5,
        receipt_block: 9,
        ciphertext_digest: format!("{:?}", receipt.ciphertext_digest),
        size: 4096,
        record_count: 3,
        records_root: format!("{root:?}"),
        records: opened,
    };
    let entries = order_entries(ORDER, POOL, &ids);
    let seed = [5u8; 32];
    let leaves = cumulative_leaves(&entries, &[account(12)], &seed);
    let tree = PayoutTree::from_leaves(&leaves);
    let book = PayoutBook {
        format: BOOK_FORMAT.into(),
        custodian: account(1).to_ss58check(),
        epoch: EPOCH,
        total: POOL.to_string(),
        root: format!("{:?}", tree.root()),
        seed: format!("0x{}", hex_of(&seed)),
        orders: vec![BookOrder {
            order: ORDER,
            owners_pool: POOL.to_string(),
            entries: entries.iter().map(BookEntry::of).collect(),
        }],
        leaves: leaves.iter().map(BookLeaf::of).collect(),
    };
    let chain = Chain {
        order: ChainOrder {
            buyer: account(2),
            custodian: account(1),
            purpose: (),
            receipt: Some(receipt),
        },
        records,
        category_only: None,
        root: ChainRoot {
            root: tree.root(),
            total: POOL,
            leaf_count: tree.leaf_count(),
            rejected: false,
        },
    };
    (chain, opening, book)
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn a_correct_opening_and_book_pass() {
    let (chain, opening, book) = world();
    assert!(audit_opening(&chain, &opening).unwrap().is_clean());
    let found = audit_payouts(&chain, &book, |_| Ok(Some(opening.clone()))).unwrap();
    assert!(found.is_clean(), "{found:?}");
}

#[test]
fn a_tampered_opening_is_named() {
    let (chain, mut opening, _) = world();
    opening.records.swap_remove(0);
    let found = audit_opening(&chain, &opening).unwrap();
    assert!(found.failures.contains(
        &"the record list's length differs from the chain's (opening: 2, chain: 3)".into()
    ));
    assert!(found
        .failures
        .iter()
        .any(|f| f.contains("not to the receipt's records root")));
}

const SALT: CategorySalt = CategorySalt([0x5a; 32]);

#[test]
fn a_category_consent_is_checked_by_the_tag_of_the_opened_category() {
    let (mut chain, opening, _) = world();
    chain.category_only = Some(account(10));
    // An opening without the category: the chain alone cannot settle it.
    let found = audit_opening(&chain, &opening).unwrap();
    assert!(found.failures.is_empty(), "{found:?}");
    assert_eq!(found.unverifiable.len(), 2, "sale and delivery block");
    assert!(found.unverifiable[0].contains("only by a consent to a category"));
    assert!(found.unverifiable[0].contains("the chain cannot check"));

    // The hospital names the category and the owner's salt: their tag is the consent's.
    let mut named = opening.clone();
    let index = named
        .records
        .iter()
        .position(|r| r.owner == account(10).to_ss58check())
        .unwrap();
    named.records[index].category = Some(OpenedCategory {
        code: "condition".into(),
        salt: format!("0x{}", hex::encode(SALT.0)),
    });
    assert!(audit_opening(&chain, &named).unwrap().is_clean());

    // Another category, or another salt, gives another tag: refused.
    for (code, salt) in [("observation", SALT.0), ("condition", [0x5b; 32])] {
        let mut wrong = named.clone();
        wrong.records[index].category = Some(OpenedCategory {
            code: code.into(),
            salt: format!("0x{}", hex::encode(salt)),
        });
        let found = audit_opening(&chain, &wrong).unwrap();
        assert_eq!(found.failures.len(), 2, "{found:?}");
        assert!(found.failures[0].contains(&format!("consented to no category {code}")));
    }
}

#[test]
fn a_tampered_book_is_refused() {
    let (chain, opening, book) = world();
    // One leaf paid one unit more: the leaf, the root and the total are wrong.
    let mut more = book.clone();
    let paid = more.leaves.iter().position(|l| l.amount != "0").unwrap();
    let amount: Balance = more.leaves[paid].amount.parse().unwrap();
    more.leaves[paid].amount = (amount + 1).to_string();
    let found = audit_payouts(&chain, &more, |_| Ok(Some(opening.clone()))).unwrap();
    assert!(found.failures.contains(&format!(
        "leaf {paid} ({}) pays {}, the entries give {amount}",
        more.leaves[paid].owner,
        amount + 1
    )));
    assert!(found
        .failures
        .iter()
        .any(|f| f.contains("the chain's payout root of epoch 3")));
    // Entries moved from one owner to another with the leaves to match: the entries are not
    // the opening's.
    let mut moved = book.clone();
    moved.orders[0].entries[0].owner = account(12).to_ss58check();
    let found = audit_payouts(&chain, &moved, |_| Ok(Some(opening.clone()))).unwrap();
    assert!(found
        .failures
        .iter()
        .any(|f| f.starts_with("order 7: entry 0 is record")));
    // A pool other than the chain's, and a missing opening.
    let mut pool = book.clone();
    pool.orders[0].owners_pool = "999".into();
    let found = audit_payouts(&chain, &pool, |_| Ok(None)).unwrap();
    assert!(found.failures.contains(
        &"order 7: the book's owners_pool 999 is not the chain's PoolOrders part 1000".into()
    ));
    assert!(found
        .failures
        .contains(&"order 7: no opening of this delivery was given".into()));
    // An order the chain released left out of the book.
    let mut missing = book;
    missing.orders.clear();
    let found = audit_payouts(&chain, &missing, |_| Ok(Some(opening.clone()))).unwrap();
    assert!(found
        .failures
        .iter()
        .any(|f| f.starts_with("order 7: released in epoch 3") && f.contains("missing")));
}
