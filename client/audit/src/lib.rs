//! `medledger-audit`: what a regulator checks of a hospital's off-chain files against the
//! chain, in one place for `medledger regulator audit verify|payouts` (the CLI, on subxt) and
//! `medledger-node audit-delivery` (the node's own JSON-RPC client).
//!
//! - A delivery's **opening** ([`Opening`], `order-<id>.opening.json`, written by the node's
//!   delivery worker) against the order's receipt: [`audit_opening`].
//! - A **payout book** ([`PayoutBook`], format `medledger-payout-book/2`, written by the node's
//!   payout worker) against the openings of its orders and the chain's `Revenue.PoolOrders`
//!   and `Revenue.PayoutRoots`: [`audit_payouts`]. This ties a payout root's leaves to the
//!   receipts' record commitments.
//!
//! The chain is read through [`DeliveryChain`] and [`PayoutChain`], which each client
//! implements with plain types, so the checks do not depend on how the chain is reached.

use std::collections::{BTreeMap, BTreeSet};

use pallet_escrow::offchain::records_root;
use pallet_revenue::{
    book::{cumulative_leaves, order_entries},
    merkle::PayoutTree,
    PayoutEntry, PayoutLeaf,
};
use serde::{Deserialize, Serialize};
use sp_core::{
    crypto::{AccountId32, Ss58Codec},
    H256,
};

pub type AccountId = AccountId32;
pub type Balance = u128;
pub type BlockNumber = u32;

/// Format tag of an [`Opening`].
pub const OPENING_FORMAT: &str = "medledger-delivery-opening/1";

/// What went into one delivery: the hospital opens it to a regulator, who checks it against
/// the chain (the receipt's `records_root`, each record's registration and consent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opening {
    pub format: String,
    pub order: u64,
    pub custodian: String,
    pub buyer: String,
    pub sale_block: BlockNumber,
    pub receipt_block: BlockNumber,
    /// `0x`-hex container digest (the receipt's `ciphertext_digest`).
    pub ciphertext_digest: String,
    pub size: u64,
    pub record_count: u32,
    /// `0x`-hex `records_root` over `records`.
    pub records_root: String,
    /// Sorted by commitment, as in the tree.
    pub records: Vec<OpenedRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedRecord {
    /// `0x`-hex record id on chain.
    pub record: String,
    /// `0x`-hex commitment registered on chain.
    pub commitment: String,
    /// The owner's SS58 address.
    pub owner: String,
    /// Present when a consent to one category let the record in: the category and the owner's
    /// salt, so that a regulator can recompute the consent's tag. It shows the regulator this
    /// owner's salt; the record's category codes are bound by its commitment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<OpenedCategory>,
}

/// The category under which a record was consented (see [`OpenedRecord::category`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedCategory {
    pub code: String,
    /// `0x`-hex, 32 bytes: the owner's category salt at the custodian.
    pub salt: String,
}

impl Opening {
    /// What a clean [`audit_opening`] of this opening established, as a sentence.
    pub fn verified_summary(&self) -> String {
        format!(
            "order {}: the opening matches the chain — {} records, each registered to its owner \
             at {} and consented for {} at blocks {} and {}",
            self.order,
            self.record_count,
            self.custodian,
            self.buyer,
            self.sale_block,
            self.receipt_block
        )
    }
}

/// `order-<id>.opening.json`, the name the node gives an order's opening.
pub fn opening_file_name(order: u64) -> String {
    format!("order-{order}.opening.json")
}

/// Format tag of a [`PayoutBook`].
pub const BOOK_FORMAT: &str = "medledger-payout-book/2";

/// One custodian's payouts up to an epoch: how each sale's owners' part was split over its
/// delivered records, and the per-owner leaves of the root. Amounts are decimal strings in the
/// chain's smallest unit. The seed is secret: whoever has it can check a guess of the leaves
/// against the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutBook {
    pub format: String,
    pub custodian: String,
    pub epoch: u32,
    pub total: String,
    /// `0x`-hex payout root.
    pub root: String,
    /// `0x`-hex secret seed of the leaves' salts (`pallet_revenue::book::leaf_salt`).
    pub seed: String,
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
    /// Cumulative: everything the owner earned from the custodian up to the book's epoch.
    pub amount: String,
    /// `0x`-hex salt.
    pub salt: String,
}

impl BookEntry {
    pub fn of(entry: &PayoutEntry<AccountId, Balance>) -> Self {
        BookEntry {
            record: format!("{:?}", entry.record),
            owner: entry.owner.to_ss58check(),
            amount: entry.amount.to_string(),
        }
    }
}

impl BookLeaf {
    pub fn of(leaf: &PayoutLeaf<AccountId, Balance>) -> Self {
        BookLeaf {
            owner: leaf.owner.to_ss58check(),
            amount: leaf.amount.to_string(),
            salt: format!("{:?}", leaf.salt),
        }
    }
}

/// `0x`-hex (or bare hex) of 32 bytes.
pub fn parse_h256(text: &str) -> Result<H256, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digits, &mut bytes).map_err(|e| format!("bad 32-byte hex {text}: {e}"))?;
    Ok(H256(bytes))
}

pub fn parse_account(text: &str) -> Result<AccountId, String> {
    AccountId::from_ss58check(text).map_err(|e| format!("bad account {text}: {e:?}"))
}

fn parse_balance(what: &str, text: &str) -> Result<Balance, String> {
    text.parse()
        .map_err(|_| format!("{what} '{text}' is not an amount"))
}

/// An order's receipt as the chain holds it.
#[derive(Clone, Debug)]
pub struct ChainReceipt {
    pub ciphertext_digest: H256,
    pub size: u64,
    pub record_count: u32,
    pub records_root: H256,
    pub sale_block: BlockNumber,
    pub receipt_block: BlockNumber,
}

/// An order as the chain holds it; `Purpose` is the client's own purpose type.
#[derive(Clone, Debug)]
pub struct ChainOrder<Purpose> {
    pub buyer: AccountId,
    pub custodian: AccountId,
    pub purpose: Purpose,
    pub receipt: Option<ChainReceipt>,
}

/// A record's registration (`Ownership.Records`).
#[derive(Clone, Debug)]
pub struct ChainRecord {
    pub owner: AccountId,
    pub custodian: AccountId,
    pub commitment: H256,
}

/// `ConsentApi.consent_covers`, as far as an audit needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Coverage {
    Covered,
    /// Covered only if the record is in one of the consented categories, which the chain does
    /// not know: the consents' salted tags (`medledger_fhir::category_tag`).
    IfInCategory(Vec<H256>),
    NotCovered,
}

/// A payout root (`Revenue.PayoutRoots`).
#[derive(Clone, Debug)]
pub struct ChainRoot {
    pub root: H256,
    pub total: Balance,
    pub leaf_count: u32,
    pub rejected: bool,
}

/// What [`audit_opening`] reads from the chain.
pub trait DeliveryChain {
    type Purpose;
    fn order(&self, order: u64) -> Result<Option<ChainOrder<Self::Purpose>>, String>;
    fn record(&self, record: H256) -> Result<Option<ChainRecord>, String>;
    fn consent_covers(
        &self,
        owner: &AccountId,
        record: H256,
        purpose: &Self::Purpose,
        buyer: &AccountId,
        at: BlockNumber,
    ) -> Result<Coverage, String>;
}

/// What [`audit_payouts`] reads from the chain besides the deliveries.
pub trait PayoutChain: DeliveryChain {
    fn payout_root(&self, custodian: &AccountId, epoch: u32) -> Result<Option<ChainRoot>, String>;
    /// `(epoch, order, owners' part)` of every order whose owners' part `custodian` released
    /// (`Revenue.PoolOrders`).
    fn pool_orders(&self, custodian: &AccountId) -> Result<Vec<(u32, u64, Balance)>, String>;
}

/// What an audit found: `failures` disagree with the chain; `unverifiable` are what the chain
/// cannot settle (a record covered only by a category consent the opening names no category
/// for). Both empty: verified.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    pub failures: Vec<String>,
    pub unverifiable: Vec<String>,
}

impl Findings {
    pub fn is_clean(&self) -> bool {
        self.failures.is_empty() && self.unverifiable.is_empty()
    }

    fn fail(&mut self, text: String) {
        self.failures.push(text);
    }

    fn absorb(&mut self, prefix: &str, other: Findings) {
        self.failures
            .extend(other.failures.into_iter().map(|f| format!("{prefix}{f}")));
        self.unverifiable.extend(
            other
                .unverifiable
                .into_iter()
                .map(|f| format!("{prefix}{f}")),
        );
    }
}

/// Checks `opening` against the chain: the receipt matches it; its records hash to the
/// receipt's `records_root`; every record is registered to its owner at the order's custodian
/// with the opened commitment; the owner's consent covered the order's buyer and purpose at the
/// sale block and at the receipt block. An error is an opening that cannot be read or a chain
/// that cannot be asked.
pub fn audit_opening<C: DeliveryChain>(chain: &C, opening: &Opening) -> Result<Findings, String> {
    let mut found = Findings::default();
    if opening.format != OPENING_FORMAT {
        found.fail(format!(
            "the format is '{}', not {OPENING_FORMAT}",
            opening.format
        ));
    }
    let Some(order) = chain.order(opening.order)? else {
        found.fail(format!("order {} is not on chain", opening.order));
        return Ok(found);
    };
    let Some(receipt) = order.receipt.as_ref() else {
        found.fail(format!("order {} has no receipt on chain", opening.order));
        return Ok(found);
    };
    let compared = [
        (
            "the custodian",
            opening.custodian.clone(),
            order.custodian.to_ss58check(),
        ),
        (
            "the buyer",
            opening.buyer.clone(),
            order.buyer.to_ss58check(),
        ),
        (
            "the ciphertext digest",
            format!("{:?}", parse_h256(&opening.ciphertext_digest)?),
            format!("{:?}", receipt.ciphertext_digest),
        ),
        (
            "the size",
            opening.size.to_string(),
            receipt.size.to_string(),
        ),
        (
            "the record count",
            opening.record_count.to_string(),
            receipt.record_count.to_string(),
        ),
        (
            "the record list's length",
            opening.records.len().to_string(),
            receipt.record_count.to_string(),
        ),
        (
            "the sale block",
            opening.sale_block.to_string(),
            receipt.sale_block.to_string(),
        ),
        (
            "the delivery block",
            opening.receipt_block.to_string(),
            receipt.receipt_block.to_string(),
        ),
    ];
    for (what, opened, on_chain) in compared {
        if opened != on_chain {
            found.fail(format!(
                "{what} differs from the chain's (opening: {opened}, chain: {on_chain})"
            ));
        }
    }

    let mut pairs = Vec::with_capacity(opening.records.len());
    for entry in &opening.records {
        let record = parse_h256(&entry.record)?;
        let commitment = parse_h256(&entry.commitment)?;
        let owner = parse_account(&entry.owner)?;
        pairs.push((commitment, owner.clone()));
        match chain.record(record)? {
            None => found.fail(format!("record {} is not registered", entry.record)),
            Some(info) => {
                if info.owner != owner {
                    found.fail(format!(
                        "record {} is registered to {}, not to {}",
                        entry.record,
                        info.owner.to_ss58check(),
                        entry.owner
                    ));
                }
                if info.custodian != order.custodian {
                    found.fail(format!(
                        "record {} is registered at custodian {}, not at the order's",
                        entry.record,
                        info.custodian.to_ss58check()
                    ));
                }
                if info.commitment != commitment {
                    found.fail(format!(
                        "record {} is registered with commitment {:?}, not {}",
                        entry.record, info.commitment, entry.commitment
                    ));
                }
            }
        }
        for at in [receipt.sale_block, receipt.receipt_block] {
            match chain.consent_covers(&owner, record, &order.purpose, &order.buyer, at)? {
                Coverage::Covered => {}
                // The opening names the category and the owner's salt: their tag must be one
                // the owner consented to. That the record is in the category is the hospital's
                // word, bound by the record's commitment.
                Coverage::IfInCategory(tags) => match &entry.category {
                    None => found.unverifiable.push(format!(
                        "record {} was covered at block {at} only by a consent to a category, \
                         and the opening names none: the chain cannot check it",
                        entry.record
                    )),
                    Some(category) => {
                        let salt = medledger_fhir::CategorySalt(parse_h256(&category.salt)?.0);
                        let tag = H256(medledger_fhir::category_tag(&salt, &category.code));
                        if !tags.contains(&tag) {
                            found.fail(format!(
                                "record {}: at block {at} the owner consented to no category {} \
                                 (with the salt given)",
                                entry.record, category.code
                            ));
                        }
                    }
                },
                Coverage::NotCovered => found.fail(format!(
                    "record {} was not consented for this buyer and purpose at block {at}",
                    entry.record
                )),
            }
        }
    }
    let root = records_root(&pairs);
    if root != receipt.records_root {
        found.fail(format!(
            "the records hash to {root:?}, not to the receipt's records root {:?} (a record \
             was added, left out or changed)",
            receipt.records_root
        ));
    }
    if parse_h256(&opening.records_root)? != receipt.records_root {
        found.fail(format!(
            "the opening's records root {} is not the receipt's {:?}",
            opening.records_root, receipt.records_root
        ));
    }
    Ok(found)
}

/// Checks a payout book against the openings of its orders (`opening(order)`, `None` if
/// missing) and the chain: each order's opening passes [`audit_opening`] and its custodian is
/// the book's; its `owners_pool` is the chain's `PoolOrders` part, released by the book's
/// epoch; its entries are exactly `order_entries(order, owners_pool, records of the
/// opening)`; every order the chain says the custodian released by then is in the book; the
/// leaves are `cumulative_leaves(entries, owners in the book, seed)`; their Merkle root, total
/// and count are the chain's `PayoutRoots(custodian, epoch)`.
pub fn audit_payouts<C: PayoutChain>(
    chain: &C,
    book: &PayoutBook,
    mut opening: impl FnMut(u64) -> Result<Option<Opening>, String>,
) -> Result<Findings, String> {
    let mut found = Findings::default();
    if book.format != BOOK_FORMAT {
        found.fail(format!(
            "the book's format is '{}', not {BOOK_FORMAT}",
            book.format
        ));
    }
    let custodian = parse_account(&book.custodian)?;
    let pool: BTreeMap<u64, (u32, Balance)> = chain
        .pool_orders(&custodian)?
        .into_iter()
        .map(|(epoch, order, part)| (order, (epoch, part)))
        .collect();
    let mut entries = Vec::new();
    let mut in_book = BTreeSet::new();
    for book_order in &book.orders {
        let order = book_order.order;
        let prefix = format!("order {order}: ");
        if !in_book.insert(order) {
            found.fail(format!("{prefix}listed twice in the book"));
        }
        let owners_pool = parse_balance("owners_pool", &book_order.owners_pool)?;
        match pool.get(&order) {
            None => found.fail(format!(
                "{prefix}the chain has no owners' part of it released by {} (Revenue.PoolOrders)",
                book.custodian
            )),
            Some((epoch, _)) if *epoch > book.epoch => found.fail(format!(
                "{prefix}released in epoch {epoch}, after the book's epoch {}",
                book.epoch
            )),
            Some((_, part)) if *part != owners_pool => found.fail(format!(
                "{prefix}the book's owners_pool {owners_pool} is not the chain's PoolOrders \
                 part {part}"
            )),
            Some(_) => {}
        }
        let Some(opened) = opening(order)? else {
            found.fail(format!("{prefix}no opening of this delivery was given"));
            continue;
        };
        if opened.order != order {
            found.fail(format!("{prefix}its opening is of order {}", opened.order));
        }
        if opened.custodian != book.custodian {
            found.fail(format!(
                "{prefix}its opening is custodian {}'s, not the book's",
                opened.custodian
            ));
        }
        found.absorb(
            &format!("{prefix}opening: "),
            audit_opening(chain, &opened)?,
        );
        let records = opened
            .records
            .iter()
            .map(|r| Ok((parse_h256(&r.record)?, parse_account(&r.owner)?)))
            .collect::<Result<Vec<_>, String>>()?;
        let expected = order_entries(order, owners_pool, &records);
        let expected_text: Vec<BookEntry> = expected.iter().map(BookEntry::of).collect();
        if expected_text.len() != book_order.entries.len() {
            found.fail(format!(
                "{prefix}the book has {} entries, the opening's records give {}",
                book_order.entries.len(),
                expected_text.len()
            ));
        }
        for (i, (given, want)) in book_order.entries.iter().zip(&expected_text).enumerate() {
            if given != want {
                found.fail(format!(
                    "{prefix}entry {i} is record {} owner {} amount {}, the opening's records \
                     give record {} owner {} amount {}",
                    given.record, given.owner, given.amount, want.record, want.owner, want.amount
                ));
            }
        }
        entries.extend(expected);
    }
    for (order, (epoch, part)) in &pool {
        if *epoch <= book.epoch && !in_book.contains(order) {
            found.fail(format!(
                "order {order}: released in epoch {epoch} with owners' part {part}, but missing \
                 from the book"
            ));
        }
    }

    let leaves = book
        .leaves
        .iter()
        .map(|leaf| {
            Ok(PayoutLeaf {
                owner: parse_account(&leaf.owner)?,
                amount: parse_balance("leaf amount", &leaf.amount)?,
                salt: parse_h256(&leaf.salt)?,
            })
        })
        .collect::<Result<Vec<PayoutLeaf<AccountId, Balance>>, String>>()?;
    let owners: Vec<AccountId> = leaves.iter().map(|leaf| leaf.owner.clone()).collect();
    let seed = parse_h256(&book.seed)?.0;
    let expected = cumulative_leaves(&entries, &owners, &seed);
    if expected.len() != leaves.len() {
        found.fail(format!(
            "the book has {} leaves, its owners and entries give {}",
            leaves.len(),
            expected.len()
        ));
    }
    for (i, (given, want)) in leaves.iter().zip(&expected).enumerate() {
        if given.owner != want.owner {
            found.fail(format!(
                "leaf {i} is owner {}, the entries give owner {} there",
                given.owner.to_ss58check(),
                want.owner.to_ss58check()
            ));
        } else if given.amount != want.amount {
            found.fail(format!(
                "leaf {i} ({}) pays {}, the entries give {}",
                given.owner.to_ss58check(),
                given.amount,
                want.amount
            ));
        }
        if given.salt != want.salt {
            found.fail(format!(
                "leaf {i} ({}) has salt {:?}, the book's seed gives {:?}",
                given.owner.to_ss58check(),
                given.salt,
                want.salt
            ));
        }
    }

    let tree = PayoutTree::from_leaves(&leaves);
    let total: Balance = leaves.iter().map(|leaf| leaf.amount).sum();
    if parse_h256(&book.root)? != tree.root() {
        found.fail(format!(
            "the book's leaves hash to {:?}, not to its root {}",
            tree.root(),
            book.root
        ));
    }
    if parse_balance("total", &book.total)? != total {
        found.fail(format!(
            "the book's leaves add up to {total}, not to its total {}",
            book.total
        ));
    }
    match chain.payout_root(&custodian, book.epoch)? {
        None => found.fail(format!(
            "the chain holds no payout root of {} for epoch {}",
            book.custodian, book.epoch
        )),
        Some(root) => {
            if root.rejected {
                found.fail(format!(
                    "the chain's root of epoch {} was rejected by the consortium",
                    book.epoch
                ));
            }
            if root.root != tree.root() {
                found.fail(format!(
                    "the book's leaves hash to {:?}, the chain's payout root of epoch {} is {:?}",
                    tree.root(),
                    book.epoch,
                    root.root
                ));
            }
            if root.total != total {
                found.fail(format!(
                    "the book's leaves add up to {total}, the chain's root total is {}",
                    root.total
                ));
            }
            if root.leaf_count != tree.leaf_count() {
                found.fail(format!(
                    "the book has {} leaves, the chain's root {}",
                    tree.leaf_count(),
                    root.leaf_count
                ));
            }
        }
    }
    Ok(found)
}
