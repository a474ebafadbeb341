//! Everything that depends on the runtime's exact call, storage, event and runtime-API shapes,
//! generated from `metadata.scale`. When the runtime changes, regenerate the metadata
//! (`scripts/chain-metadata.sh`) and fix what no longer compiles here: callers only see the
//! plain types below.

use std::fmt;

use subxt::transactions::Payload;
use subxt::utils::H256;

use crate::{Account, AccountId, Chain, Error, Included, Result};

#[subxt::subxt(runtime_metadata_path = "metadata.scale")]
pub mod api {}

use api::runtime_types::bounded_collections::bounded_vec::BoundedVec;
use api::runtime_types::medledger_primitives::Purpose as ChainPurpose;
use api::runtime_types::pallet_consent::types as consent_types;
use api::runtime_types::pallet_escrow::types as escrow_types;
use api::runtime_types::pallet_listing::types as listing_types;

/// The purpose a listing is sold for and a consent is given for (one type on chain).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    Research,
    PublicHealth,
    Commercial,
    QualityImprovement,
    Education,
}

impl Purpose {
    pub fn name(self) -> &'static str {
        match self {
            Purpose::Research => "research",
            Purpose::PublicHealth => "public-health",
            Purpose::Commercial => "commercial",
            Purpose::QualityImprovement => "quality-improvement",
            Purpose::Education => "education",
        }
    }

    fn to_chain(self) -> ChainPurpose {
        match self {
            Purpose::Research => ChainPurpose::Research,
            Purpose::PublicHealth => ChainPurpose::PublicHealth,
            Purpose::Commercial => ChainPurpose::Commercial,
            Purpose::QualityImprovement => ChainPurpose::QualityImprovement,
            Purpose::Education => ChainPurpose::Education,
        }
    }

    fn from_chain(purpose: &ChainPurpose) -> Self {
        match purpose {
            ChainPurpose::Research => Purpose::Research,
            ChainPurpose::PublicHealth => Purpose::PublicHealth,
            ChainPurpose::Commercial => Purpose::Commercial,
            ChainPurpose::QualityImprovement => Purpose::QualityImprovement,
            ChainPurpose::Education => Purpose::Education,
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Purpose {
    type Err = String;
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "research" => Ok(Purpose::Research),
            "public-health" => Ok(Purpose::PublicHealth),
            "commercial" => Ok(Purpose::Commercial),
            "quality-improvement" => Ok(Purpose::QualityImprovement),
            "education" => Ok(Purpose::Education),
            other => Err(format!(
                "'{other}' is not a purpose: research, public-health, commercial, \
                 quality-improvement or education"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceModel {
    PerRecord(u128),
    Flat(u128),
}

/// A listing as the chain holds it.
#[derive(Clone, Debug)]
pub struct ListingInfo {
    pub id: u64,
    pub custodian: AccountId,
    pub version: u32,
    pub active: bool,
    pub summary: String,
    pub categories: Vec<String>,
    pub time_from: u64,
    pub time_until: u64,
    pub purpose: Purpose,
    pub price: PriceModel,
    pub max_records: u32,
    /// Held from the custodian while the listing is stored (returned when it is removed).
    pub deposit: u128,
    /// Orders on it not yet delivered, declined or refunded (they keep a closed one stored).
    pub awaiting_delivery: u32,
}

impl ListingInfo {
    /// What a buyer must be ready to pay (and has held): the price of `max_records` records,
    /// or the flat price.
    pub fn max_cost(&self) -> Option<u128> {
        match self.price {
            PriceModel::PerRecord(each) => each.checked_mul(self.max_records as u128),
            PriceModel::Flat(price) => Some(price),
        }
    }
}

/// What a hospital offers in a new or updated listing.
#[derive(Clone, Debug)]
pub struct NewListing {
    pub summary: String,
    /// Sorted category codes; none means every record.
    pub categories: Vec<String>,
    pub time_from: u64,
    pub time_until: u64,
    pub purpose: Purpose,
    pub terms_hash: [u8; 32],
    pub price: PriceModel,
    pub max_records: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderState {
    Paid,
    Delivered { release_at: u32 },
    Disputed { vote_expires_at: u32 },
    Released,
    Refunded,
    Resolved { outcome: String },
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderState::Paid => f.write_str("paid, awaiting delivery"),
            OrderState::Delivered { release_at } => {
                write!(
                    f,
                    "delivered, released to the custodian at block {release_at}"
                )
            }
            OrderState::Disputed { vote_expires_at } => {
                write!(f, "disputed, vote open until block {vote_expires_at}")
            }
            OrderState::Released => f.write_str("released"),
            OrderState::Refunded => f.write_str("refunded"),
            OrderState::Resolved { outcome } => write!(f, "dispute resolved: {outcome}"),
        }
    }
}

impl OrderState {
    /// A short machine name: `paid`, `delivered`, `disputed`, `released`, `refunded`, `resolved`.
    pub fn name(&self) -> &'static str {
        match self {
            OrderState::Paid => "paid",
            OrderState::Delivered { .. } => "delivered",
            OrderState::Disputed { .. } => "disputed",
            OrderState::Released => "released",
            OrderState::Refunded => "refunded",
            OrderState::Resolved { .. } => "resolved",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ReceiptInfo {
    pub ciphertext_digest: [u8; 32],
    pub size: u64,
    pub record_count: u32,
    pub records_root: [u8; 32],
    /// The block whose consents the sale was checked against (the order's sale block).
    pub sale_block: u32,
    pub receipt_block: u32,
}

#[derive(Clone, Debug)]
pub struct OrderInfo {
    pub id: u64,
    pub buyer: AccountId,
    pub custodian: AccountId,
    pub listing: u64,
    pub listing_version: u32,
    pub purpose: Purpose,
    pub placed_at: u32,
    pub deadline: u32,
    /// What is held for the order.
    pub price: u128,
    pub state: OrderState,
    pub receipt: Option<ReceiptInfo>,
}

/// Which of the owner's records a consent covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentScope {
    All,
    Record([u8; 32]),
    /// A category, as the owner's salted tag of it (`medledger_fhir::category_tag`).
    Category([u8; 32]),
}

impl std::fmt::Display for ConsentScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("all"),
            Self::Record(record) => write!(f, "record 0x{}", hex::encode(record)),
            Self::Category(tag) => write!(f, "category tag 0x{}", hex::encode(tag)),
        }
    }
}

impl ConsentScope {
    fn to_chain(self) -> consent_types::Scope {
        match self {
            Self::All => consent_types::Scope::All,
            Self::Record(record) => consent_types::Scope::Record(H256(record)),
            Self::Category(tag) => consent_types::Scope::Category(H256(tag)),
        }
    }

    fn from_chain(scope: consent_types::Scope) -> Self {
        match scope {
            consent_types::Scope::All => Self::All,
            consent_types::Scope::Record(record) => Self::Record(record.0),
            consent_types::Scope::Category(tag) => Self::Category(tag.0),
        }
    }
}

#[derive(Clone, Debug)]
pub struct ConsentInfo {
    pub id: u64,
    pub scope: ConsentScope,
    pub purpose: Purpose,
    /// `anyone`, `class N` or the grantee's address.
    pub grantee: String,
    pub granted_at: u32,
    pub expires_at: Option<u32>,
    pub revoked_at: Option<u32>,
}

/// A registered record (`Ownership.Records`).
#[derive(Clone, Debug)]
pub struct RecordInfo {
    pub id: [u8; 32],
    pub owner: AccountId,
    pub custodian: AccountId,
    pub commitment: [u8; 32],
    pub registered_at: u32,
    /// `active`, `erasure-requested` or `erased`.
    pub status: &'static str,
}

/// Whether a consent covered a record for a buyer and purpose at a block
/// (`ConsentApi.consent_covers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// This consent covered it.
    Covered {
        consent: u64,
    },
    /// Only if the record is in a consented category, which the chain cannot know: each such
    /// consent with its salted category tag.
    IfInCategory(Vec<(u64, [u8; 32])>),
    NotCovered,
}

/// A custodian's payout root after an epoch (`Revenue.PayoutRoots`).
#[derive(Clone, Debug)]
pub struct PayoutRootInfo {
    pub root: [u8; 32],
    pub total: u128,
    pub leaf_count: u32,
    pub rejected: bool,
}

/// A patient's signed agreement to be enrolled with a hospital, for the hospital to submit.
#[derive(Clone, Debug)]
pub struct EnrolmentRequest {
    pub hospital: AccountId,
    pub patient: AccountId,
    pub valid_until: u32,
    pub signature: [u8; 64],
}

/// An open consortium proposal, with its action decoded.
#[derive(Clone, Debug)]
pub struct ProposalInfo {
    pub index: u32,
    /// `None` for a dispute the escrow opened.
    pub proposer: Option<AccountId>,
    pub action: String,
    pub ayes: Vec<AccountId>,
    pub nays: Vec<AccountId>,
    pub expires_at: u32,
    /// Held from the proposer until the proposal is decided or closed (zero for disputes).
    pub deposit: u128,
}

/// One event of interest to an auditor.
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub block: u64,
    pub block_hash: String,
    pub index: u32,
    pub pallet: String,
    pub event: String,
    /// The event's fields, as the metadata names them, readable: accounts in SS58, hashes in
    /// hex, enum variants by name (`crate::readable`).
    pub fields: serde_json::Value,
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn listing_info(id: u64, listing: listing_types::Listing<AccountId, u128>) -> ListingInfo {
    let description = listing.description;
    ListingInfo {
        id,
        custodian: listing.custodian,
        version: listing.version,
        active: listing.active,
        summary: text(&description.filter_summary.0),
        categories: description
            .categories
            .0
            .iter()
            .map(|c| text(&c.0))
            .collect(),
        time_from: description.time_range.from,
        time_until: description.time_range.until,
        purpose: Purpose::from_chain(&description.purpose),
        price: match listing.pricing.model {
            listing_types::PriceModel::PerRecord(each) => PriceModel::PerRecord(each),
            listing_types::PriceModel::Flat(price) => PriceModel::Flat(price),
        },
        max_records: listing.pricing.max_records,
        deposit: listing.deposit,
        awaiting_delivery: listing.awaiting_delivery,
    }
}

fn order_info(id: u64, order: escrow_types::Order<AccountId, u128, u32>) -> OrderInfo {
    OrderInfo {
        id,
        buyer: order.buyer,
        custodian: order.custodian,
        listing: order.listing,
        listing_version: order.listing_version,
        purpose: Purpose::from_chain(&order.purpose),
        placed_at: order.placed_at,
        deadline: order.deadline,
        price: order.price,
        state: match order.state {
            escrow_types::OrderState::Paid => OrderState::Paid,
            escrow_types::OrderState::Delivered { release_at } => {
                OrderState::Delivered { release_at }
            }
            escrow_types::OrderState::Disputed { vote_expires_at } => {
                OrderState::Disputed { vote_expires_at }
            }
            escrow_types::OrderState::Released => OrderState::Released,
            escrow_types::OrderState::Refunded => OrderState::Refunded,
            escrow_types::OrderState::Resolved { outcome } => OrderState::Resolved {
                outcome: format!("{outcome:?}"),
            },
        },
        receipt: order.receipt.map(|receipt| ReceiptInfo {
            ciphertext_digest: receipt.ciphertext_digest.0,
            size: receipt.size,
            record_count: receipt.record_count,
            records_root: receipt.records_root.0,
            sale_block: receipt.sale_block_consent,
            receipt_block: receipt.receipt_block,
        }),
    }
}

fn description(listing: &NewListing) -> Result<listing_types::ListingDescription> {
    Ok(listing_types::ListingDescription {
        filter_summary: BoundedVec(listing.summary.as_bytes().to_vec()),
        categories: BoundedVec(
            listing
                .categories
                .iter()
                .map(|code| BoundedVec(code.as_bytes().to_vec()))
                .collect(),
        ),
        time_range: listing_types::TimeRange {
            from: listing.time_from,
            until: listing.time_until,
        },
        purpose: listing.purpose.to_chain(),
        terms_hash: H256(listing.terms_hash),
    })
}

fn pricing(listing: &NewListing) -> listing_types::Pricing<u128> {
    listing_types::Pricing {
        model: match listing.price {
            PriceModel::PerRecord(each) => listing_types::PriceModel::PerRecord(each),
            PriceModel::Flat(price) => listing_types::PriceModel::Flat(price),
        },
        max_records: listing.max_records,
    }
}

fn chain_error<E: fmt::Display>(context: &str) -> impl Fn(E) -> Error + '_ {
    move |e| Error::other(context, e)
}

/// The chain at the node's finalized block as of now: asked of the node for every read, not
/// taken from the client's block subscription, which may not have seen the latest
/// finalization yet (a transaction another client saw finalized could be missing).
macro_rules! at_finalized {
    ($chain:expr) => {{
        let finalized = $chain
            .rpc
            .chain_get_finalized_head()
            .await
            .map_err(|e| Error::other("reading the finalized block", e))?;
        $chain
            .client()
            .at_block(finalized)
            .await
            .map_err(|e| Error::other("reading the finalized block", e))?
    }};
}

/// Storage reads at the finalized block, for any generated address.
impl Chain {
    /// Every entry of a storage map, with its key parts.
    async fn map_entries<Addr>(&self, address: Addr) -> Result<Vec<(Addr::KeyParts, Addr::Value)>>
    where
        Addr: subxt::storage::Address,
        (): subxt::storage::PrefixOf<Addr::KeyParts>,
    {
        let name = format!("{}.{}", address.pallet_name(), address.entry_name());
        let at = at_finalized!(self);
        let entry = at.storage().entry(address).map_err(chain_error(&name))?;
        let mut entries = entry.iter(()).await.map_err(chain_error(&name))?;
        let mut found = Vec::new();
        while let Some(kv) = entries.next().await {
            let kv = kv.map_err(chain_error(&name))?;
            let key = kv
                .key()
                .map_err(chain_error(&name))?
                .decode()
                .map_err(chain_error(&name))?;
            found.push((key, kv.value().decode().map_err(chain_error(&name))?));
        }
        Ok(found)
    }

    /// Whether each of `keys` has an entry in a storage map, in order; at most 64 reads in
    /// flight at once.
    async fn map_contains<Addr>(
        &self,
        address: Addr,
        keys: Vec<Addr::KeyParts>,
    ) -> Result<Vec<bool>>
    where
        Addr: subxt::storage::Address,
    {
        use futures::{StreamExt, TryStreamExt};
        let name = format!("{}.{}", address.pallet_name(), address.entry_name());
        let at = at_finalized!(self);
        let entry = at.storage().entry(address).map_err(chain_error(&name))?;
        let entry = &entry;
        futures::stream::iter(keys)
            .map(|key| async move { entry.try_fetch(key).await.map(|value| value.is_some()) })
            .buffered(64)
            .try_collect()
            .await
            .map_err(chain_error(&name))
    }

    /// One entry of a storage map (or its default, if it has one).
    async fn map_entry<Addr>(
        &self,
        address: Addr,
        key: Addr::KeyParts,
    ) -> Result<Option<Addr::Value>>
    where
        Addr: subxt::storage::Address,
    {
        let name = format!("{}.{}", address.pallet_name(), address.entry_name());
        let at = at_finalized!(self);
        let entry = at.storage().entry(address).map_err(chain_error(&name))?;
        match entry.try_fetch(key).await.map_err(chain_error(&name))? {
            None => Ok(None),
            Some(value) => Ok(Some(value.decode().map_err(chain_error(&name))?)),
        }
    }
}

impl Chain {
    /// Signs `call` with `signer`, submits it and waits until its block is finalized (or only
    /// included, if `finalized` is false). A failed dispatch is [`Error::Dispatch`].
    pub(crate) fn submit<Call: Payload>(
        &self,
        call: &Call,
        signer: &Account,
        finalized: bool,
    ) -> Result<Included> {
        self.block_on(async {
            let mut transactions = self
                .client()
                .transactions()
                .await
                .map_err(|e| Error::other("reading the finalized block", e))?;
            // The node's next nonce counts the signer's transactions already in its pool (a
            // hospital's own off-chain worker signs with the same account); the finalized
            // state's nonce, subxt's default, would collide with them.
            let nonce = self
                .rpc()
                .system_account_next_index(&signer.keypair().public_key().to_account_id())
                .await
                .map_err(|e| Error::other("reading the signer's next nonce", e))?;
            let params = subxt::config::DefaultExtrinsicParamsBuilder::<crate::Config>::new()
                .nonce(nonce)
                .build();
            let mut progress = transactions
                .sign_and_submit_then_watch(call, signer.keypair(), params)
                .await
                .map_err(|e| Error::Rejected(e.to_string()))?;
            use subxt::transactions::TransactionStatus;
            let in_block = loop {
                let status = progress
                    .next()
                    .await
                    .ok_or_else(|| Error::Rejected("the node stopped reporting on it".into()))?
                    .map_err(|e| Error::Rejected(e.to_string()))?;
                match status {
                    TransactionStatus::InFinalizedBlock(in_block) => break (in_block, true),
                    TransactionStatus::InBestBlock(in_block) if !finalized => {
                        break (in_block, false)
                    }
                    TransactionStatus::Error { message }
                    | TransactionStatus::Invalid { message }
                    | TransactionStatus::Dropped { message } => {
                        return Err(Error::Rejected(message))
                    }
                    _ => continue,
                }
            };
            let (in_block, is_final) = in_block;
            let at = in_block
                .at()
                .await
                .map_err(|e| Error::other("reading the transaction's block", e))?;
            let events = in_block.wait_for_success().await.map_err(dispatch_error)?;
            let names = events
                .iter()
                .filter_map(|event| event.ok())
                .map(|event| format!("{}.{}", event.pallet_name(), event.event_name()))
                .collect();
            Ok(Included {
                block_number: at.block_number(),
                block_hash: format!("0x{}", hex::encode(in_block.block_hash().0)),
                finalized: is_final,
                events: names,
            })
        })
    }

    /// The finalized block's number.
    pub fn finalized_number(&self) -> Result<u64> {
        self.block_on(async { Ok(at_finalized!(self).block_number()) })
    }

    /// Every listing (closed ones too), by id.
    pub fn listings(&self) -> Result<Vec<ListingInfo>> {
        let entries = self.block_on(self.map_entries(api::storage().listing().listings()))?;
        let mut listings: Vec<ListingInfo> = entries
            .into_iter()
            .map(|((id,), listing)| listing_info(id, listing))
            .collect();
        listings.sort_by_key(|l| l.id);
        Ok(listings)
    }

    pub fn listing(&self, id: u64) -> Result<Option<ListingInfo>> {
        let listing = self.block_on(self.map_entry(api::storage().listing().listings(), (id,)))?;
        Ok(listing.map(|listing| listing_info(id, listing)))
    }

    /// Every order, by id (filter by buyer or custodian yourself).
    pub fn orders(&self) -> Result<Vec<OrderInfo>> {
        let entries = self.block_on(self.map_entries(api::storage().escrow().orders()))?;
        let mut orders: Vec<OrderInfo> = entries
            .into_iter()
            .map(|((id,), order)| order_info(id, order))
            .collect();
        orders.sort_by_key(|o| o.id);
        Ok(orders)
    }

    /// One order at the finalized block.
    pub fn order(&self, id: u64) -> Result<Option<OrderInfo>> {
        let order = self.block_on(self.map_entry(api::storage().escrow().orders(), (id,)))?;
        Ok(order.map(|order| order_info(id, order)))
    }

    /// The delivery key `who` registered (33-byte compressed P-256 point), if any.
    pub fn delivery_key(&self, who: &AccountId) -> Result<Option<Vec<u8>>> {
        let key = self
            .block_on(self.map_entry(api::storage().delivery().delivery_keys(), (who.clone(),)))?;
        Ok(key.map(|key| key.0.to_vec()))
    }

    /// A member hospital's delivery endpoint and name.
    pub fn hospital(&self, who: &AccountId) -> Result<Option<(String, String)>> {
        let info =
            self.block_on(self.map_entry(api::storage().consortium().hospitals(), (who.clone(),)))?;
        Ok(info.map(|info| (text(&info.name.0), text(&info.delivery_endpoint.0))))
    }

    /// Free balance of `who`.
    pub fn free_balance(&self, who: &AccountId) -> Result<u128> {
        Ok(self.balances(who)?.0)
    }

    /// What is held (reserved) of `who`'s balance: listing deposits, order payments, bonds.
    pub fn held_balance(&self, who: &AccountId) -> Result<u128> {
        Ok(self.balances(who)?.1)
    }

    /// `who`'s free and held balance (zero for an account that does not exist).
    fn balances(&self, who: &AccountId) -> Result<(u128, u128)> {
        let info =
            self.block_on(self.map_entry(api::storage().system().account(), (who.clone(),)))?;
        Ok(info.map_or((0, 0), |info| (info.data.free, info.data.reserved)))
    }

    pub fn register_delivery_key(
        &self,
        signer: &Account,
        key: [u8; 33],
        finalized: bool,
    ) -> Result<Included> {
        let call = api::tx()
            .delivery()
            .register_delivery_key(api::runtime_types::pallet_delivery::types::DeliveryKey(key));
        self.submit(&call, signer, finalized)
    }

    /// Buys `listing` at `version`, paying at most `max_price`; returns the new order's id.
    pub fn buy(
        &self,
        signer: &Account,
        listing: u64,
        version: u32,
        max_price: u128,
        finalized: bool,
    ) -> Result<(Included, u64)> {
        let call = api::tx().escrow().buy(listing, max_price, version);
        let included = self.submit(&call, signer, finalized)?;
        let order = self.order_placed_in(&included, &signer.account_id())?;
        Ok((included, order))
    }

    fn order_placed_in(&self, included: &Included, buyer: &AccountId) -> Result<u64> {
        self.block_on(async {
            let hash: [u8; 32] = hex::decode(&included.block_hash[2..])
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Error::Other("bad block hash".into()))?;
            let at = self
                .client()
                .at_block(H256(hash))
                .await
                .map_err(|e| Error::other("reading the order's block", e))?;
            let events = at
                .events()
                .fetch()
                .await
                .map_err(|e| Error::other("events", e))?;
            for event in events.find::<api::escrow::events::OrderPlaced>() {
                let event = event.map_err(|e| Error::other("OrderPlaced", e))?;
                if &event.buyer == buyer {
                    return Ok(event.order);
                }
            }
            Err(Error::Other(
                "the purchase's block has no OrderPlaced event".into(),
            ))
        })
    }

    pub fn confirm(&self, signer: &Account, order: u64, finalized: bool) -> Result<Included> {
        self.submit(&api::tx().escrow().confirm(order), signer, finalized)
    }

    pub fn dispute(&self, signer: &Account, order: u64, finalized: bool) -> Result<Included> {
        self.submit(&api::tx().escrow().dispute(order), signer, finalized)
    }

    pub fn refund(&self, signer: &Account, order: u64, finalized: bool) -> Result<Included> {
        self.submit(&api::tx().escrow().refund(order), signer, finalized)
    }

    pub fn create_listing(
        &self,
        signer: &Account,
        listing: &NewListing,
        finalized: bool,
    ) -> Result<(Included, u64)> {
        let call = api::tx()
            .listing()
            .create_listing(description(listing)?, pricing(listing));
        let included = self.submit(&call, signer, finalized)?;
        // The new listing is the custodian's highest id.
        let me = signer.account_id();
        let id = self
            .listings()?
            .into_iter()
            .filter(|l| l.custodian == me)
            .map(|l| l.id)
            .max()
            .ok_or_else(|| Error::Other("the new listing is not on chain".into()))?;
        Ok((included, id))
    }

    pub fn update_listing(
        &self,
        signer: &Account,
        id: u64,
        listing: &NewListing,
        finalized: bool,
    ) -> Result<Included> {
        let call = api::tx()
            .listing()
            .update_listing(id, description(listing)?, pricing(listing));
        self.submit(&call, signer, finalized)
    }

    pub fn close_listing(&self, signer: &Account, id: u64, finalized: bool) -> Result<Included> {
        self.submit(&api::tx().listing().close_listing(id), signer, finalized)
    }

    /// The message a patient signs to be enrolled with `hospital` until `valid_until`,
    /// from the runtime API `OwnershipApi.enrolment_message`.
    pub fn enrolment_message(
        &self,
        hospital: &AccountId,
        patient: &AccountId,
        valid_until: u32,
    ) -> Result<Vec<u8>> {
        self.block_on(async {
            let at = at_finalized!(self);
            let payload = api::runtime_apis().ownership_api().enrolment_message(
                hospital.clone(),
                patient.clone(),
                valid_until,
            );
            let message = at
                .runtime_apis()
                .call(payload)
                .await
                .map_err(|e| Error::other("OwnershipApi.enrolment_message", e))?;
            Ok(message.message)
        })
    }

    /// The patient's side of enrolment: signs the chain's enrolment message as a wallet's
    /// "sign raw" does (`<Bytes>…</Bytes>`), valid for `valid_for` blocks from the finalized one.
    pub fn sign_enrolment(
        &self,
        patient: &Account,
        hospital: &AccountId,
        valid_for: u32,
    ) -> Result<EnrolmentRequest> {
        let valid_until = self.finalized_number()? as u32 + valid_for;
        let message = self.enrolment_message(hospital, &patient.account_id(), valid_until)?;
        let wrapped = [b"<Bytes>".as_slice(), &message, b"</Bytes>"].concat();
        Ok(EnrolmentRequest {
            hospital: hospital.clone(),
            patient: patient.account_id(),
            valid_until,
            signature: patient.sign(&wrapped),
        })
    }

    /// The hospital's side: submits the patient's signed enrolment.
    pub fn enrol(
        &self,
        hospital: &Account,
        request: &EnrolmentRequest,
        finalized: bool,
    ) -> Result<Included> {
        let call = api::tx().ownership().enrol(
            request.patient.clone(),
            request.valid_until,
            api::runtime_types::sp_runtime::MultiSignature::Sr25519(request.signature),
        );
        self.submit(&call, hospital, finalized)
    }

    /// Which of the record ids are registered (erased records' ids stay taken), in order.
    pub fn registered(&self, ids: &[[u8; 32]]) -> Result<Vec<bool>> {
        let keys = ids.iter().map(|id| (H256(*id),)).collect();
        self.block_on(self.map_contains(api::storage().ownership().records(), keys))
    }

    /// Which of `patients` are enrolled with `hospital`, in order.
    pub fn enrolled_with(&self, patients: &[AccountId], hospital: &AccountId) -> Result<Vec<bool>> {
        let keys = patients
            .iter()
            .map(|patient| (patient.clone(), hospital.clone()))
            .collect();
        self.block_on(self.map_contains(api::storage().ownership().enrolments(), keys))
    }

    /// Registers a batch of records `(id, owner, commitment)` held by the signing hospital
    /// (at most the runtime's `MaxBatchSize`, 1 000, per transaction).
    pub fn register_records(
        &self,
        hospital: &Account,
        records: &[([u8; 32], AccountId, [u8; 32])],
        finalized: bool,
    ) -> Result<Included> {
        use api::runtime_types::pallet_ownership::types::RecordRegistration;
        let batch = records
            .iter()
            .map(|(id, owner, commitment)| RecordRegistration {
                id: H256(*id),
                owner: owner.clone(),
                commitment: H256(*commitment),
            })
            .collect();
        let call = api::tx().ownership().register_records(batch);
        self.submit(&call, hospital, finalized)
    }

    /// The deposit `hospital` holds for `patient`'s enrolment, if enrolled there.
    pub fn enrolment_deposit(
        &self,
        patient: &AccountId,
        hospital: &AccountId,
    ) -> Result<Option<u128>> {
        let enrolment = self.block_on(self.map_entry(
            api::storage().ownership().enrolments(),
            (patient.clone(), hospital.clone()),
        ))?;
        Ok(enrolment.map(|enrolment| enrolment.deposit))
    }

    /// The hospitals `patient` is enrolled with, and since which block.
    pub fn enrolments_of(&self, patient: &AccountId) -> Result<Vec<(AccountId, u32)>> {
        self.block_on(async {
            let at = at_finalized!(self);
            let payload = api::runtime_apis()
                .ownership_api()
                .enrolments_of(patient.clone());
            at.runtime_apis()
                .call(payload)
                .await
                .map_err(|e| Error::other("OwnershipApi.enrolments_of", e))
        })
    }

    /// Grants consent for all of the owner's records (`Scope::All`) for `purpose` to `grantee`
    /// (`None`: anyone), until block `expires_at` if given; returns the consent's id.
    pub fn grant_consent(
        &self,
        owner: &Account,
        scope: ConsentScope,
        purpose: Purpose,
        grantee: Option<AccountId>,
        expires_at: Option<u32>,
        finalized: bool,
    ) -> Result<(Included, u64)> {
        let grantee = match grantee {
            None => consent_types::Grantee::Anyone,
            Some(account) => consent_types::Grantee::Account(account),
        };
        let call = api::tx().consent().grant_consent(
            scope.to_chain(),
            purpose.to_chain(),
            grantee,
            expires_at,
        );
        let included = self.submit(&call, owner, finalized)?;
        let id = self
            .consents_of(&owner.account_id())?
            .into_iter()
            .map(|c| c.id)
            .max()
            .ok_or_else(|| Error::Other("the new consent is not on chain".into()))?;
        Ok((included, id))
    }

    pub fn revoke_consent(&self, owner: &Account, id: u64, finalized: bool) -> Result<Included> {
        self.submit(&api::tx().consent().revoke_consent(id), owner, finalized)
    }

    /// The owner's consents (runtime API `ConsentApi.consents_of`).
    pub fn consents_of(&self, owner: &AccountId) -> Result<Vec<ConsentInfo>> {
        self.block_on(async {
            let at = at_finalized!(self);
            let payload = api::runtime_apis().consent_api().consents_of(owner.clone());
            let consents = at
                .runtime_apis()
                .call(payload)
                .await
                .map_err(|e| Error::other("ConsentApi.consents_of", e))?;
            Ok(consents
                .into_iter()
                .map(|c| ConsentInfo {
                    id: c.id,
                    scope: ConsentScope::from_chain(c.scope),
                    purpose: Purpose::from_chain(&c.purpose),
                    grantee: match c.grantee {
                        consent_types::Grantee::Anyone => "anyone".into(),
                        consent_types::Grantee::Class(class) => format!("class {class}"),
                        consent_types::Grantee::Account(account) => account.to_string(),
                    },
                    granted_at: c.granted_at,
                    expires_at: c.expires_at,
                    revoked_at: c.revoked_at,
                })
                .collect())
        })
    }

    /// `(claimable, claimed)`: proven but unpaid, and paid so far (runtime API `RevenueApi`).
    pub fn earnings(&self, owner: &AccountId) -> Result<(u128, u128)> {
        self.block_on(async {
            let at = at_finalized!(self);
            let apis = at.runtime_apis();
            let claimable = apis
                .call(api::runtime_apis().revenue_api().claimable(owner.clone()))
                .await
                .map_err(|e| Error::other("RevenueApi.claimable", e))?;
            let claimed = apis
                .call(api::runtime_apis().revenue_api().claimed(owner.clone()))
                .await
                .map_err(|e| Error::other("RevenueApi.claimed", e))?;
            Ok((claimable, claimed))
        })
    }

    /// What submitting `claim` would pay now (runtime API `RevenueApi.verify_claim`), or the
    /// pallet's error as a sentence: a wallet checks before it spends the owner's free call,
    /// and a claim that would fail is not free.
    pub fn verify_claim(&self, claim: &PayoutClaim) -> Result<u128> {
        use api::runtime_types::sp_runtime::DispatchError as RuntimeError;
        self.block_on(async {
            let at = at_finalized!(self);
            let call = api::runtime_apis().revenue_api().verify_claim(
                claim.custodian.clone(),
                claim.epoch,
                claim.index,
                claim.leaf(),
                claim.proof.iter().copied().map(H256).collect(),
            );
            let answer = at
                .runtime_apis()
                .call(call)
                .await
                .map_err(|e| Error::other("RevenueApi.verify_claim", e))?;
            match answer {
                Ok(payable) => Ok(payable),
                Err(RuntimeError::Module(module)) => {
                    let metadata = at.metadata();
                    let named = metadata
                        .pallet_by_error_index(module.index)
                        .and_then(|pallet| {
                            let variant = pallet.error_variant_by_index(module.error[0])?;
                            Some(Error::Dispatch {
                                pallet: pallet.name().to_string(),
                                error: variant.name.clone(),
                                explanation: variant.docs.join(" "),
                            })
                        });
                    Err(named.unwrap_or_else(|| {
                        Error::Other(format!("the chain refuses the claim: {module:?}"))
                    }))
                }
                Err(other) => Err(Error::Other(format!(
                    "the chain refuses the claim: {other:?}"
                ))),
            }
        })
    }

    /// Submits one payout claim as the custodian's node handed it out.
    pub fn claim(
        &self,
        signer: &Account,
        claim: &PayoutClaim,
        finalized: bool,
    ) -> Result<Included> {
        let call = api::tx().revenue().claim(
            claim.custodian.clone(),
            claim.epoch,
            claim.index,
            claim.leaf(),
            BoundedVec(claim.proof.iter().copied().map(H256).collect()),
        );
        self.submit(&call, signer, finalized)
    }
}

/// Records, their owners' enrolments and erasure; what audits read.
impl Chain {
    fn record_info(
        id: [u8; 32],
        info: api::runtime_types::pallet_ownership::types::RecordInfo<AccountId, u32>,
    ) -> RecordInfo {
        use api::runtime_types::pallet_ownership::types::RecordStatus;
        RecordInfo {
            id,
            owner: info.owner,
            custodian: info.custodian,
            commitment: info.commitment.0,
            registered_at: info.registered_at,
            status: match info.status {
                RecordStatus::Active => "active",
                RecordStatus::ErasureRequested { .. } => "erasure-requested",
                RecordStatus::Erased { .. } => "erased",
            },
        }
    }

    /// One record's registration (runtime API `OwnershipApi.record`).
    pub fn record(&self, id: [u8; 32]) -> Result<Option<RecordInfo>> {
        self.block_on(async {
            let at = at_finalized!(self);
            let info = at
                .runtime_apis()
                .call(api::runtime_apis().ownership_api().record(H256(id)))
                .await
                .map_err(|e| Error::other("OwnershipApi.record", e))?;
            Ok(info.map(|info| Self::record_info(id, info)))
        })
    }

    /// The owner's records that are not erased (runtime API `OwnershipApi.records_of`).
    pub fn records_of(&self, owner: &AccountId) -> Result<Vec<RecordInfo>> {
        self.block_on(async {
            let at = at_finalized!(self);
            let records = at
                .runtime_apis()
                .call(
                    api::runtime_apis()
                        .ownership_api()
                        .records_of(owner.clone()),
                )
                .await
                .map_err(|e| Error::other("OwnershipApi.records_of", e))?;
            Ok(records
                .into_iter()
                .map(|(id, info)| Self::record_info(id.0, info))
                .collect())
        })
    }

    /// Ends `owner`'s enrolment with `custodian` (signed by the owner or the custodian).
    pub fn end_enrolment(
        &self,
        signer: &Account,
        owner: &AccountId,
        custodian: &AccountId,
        finalized: bool,
    ) -> Result<Included> {
        let call = api::tx()
            .ownership()
            .end_enrolment(owner.clone(), custodian.clone());
        self.submit(&call, signer, finalized)
    }

    /// The owner asks its custodian to erase `record`; it is no longer sold from then on.
    pub fn request_erasure(
        &self,
        owner: &Account,
        record: [u8; 32],
        finalized: bool,
    ) -> Result<Included> {
        let call = api::tx().ownership().request_erasure(H256(record));
        self.submit(&call, owner, finalized)
    }

    /// Did `owner`'s consent cover `record` for `purpose` and `buyer` during block `block`
    /// (runtime API `ConsentApi.consent_covers`, asked at the finalized block)?
    pub fn consent_covers(
        &self,
        owner: &AccountId,
        record: [u8; 32],
        purpose: Purpose,
        buyer: &AccountId,
        block: u32,
    ) -> Result<Coverage> {
        use consent_types::ConsentAnswer;
        self.block_on(async {
            let at = at_finalized!(self);
            let answer = at
                .runtime_apis()
                .call(api::runtime_apis().consent_api().consent_covers(
                    owner.clone(),
                    H256(record),
                    purpose.to_chain(),
                    buyer.clone(),
                    block,
                ))
                .await
                .map_err(|e| Error::other("ConsentApi.consent_covers", e))?;
            Ok(match answer {
                ConsentAnswer::Covered { consent } => Coverage::Covered { consent },
                ConsentAnswer::CoveredIfInCategory { categories } => Coverage::IfInCategory(
                    categories
                        .into_iter()
                        .map(|(consent, tag)| (consent, tag.0))
                        .collect(),
                ),
                ConsentAnswer::NotCovered => Coverage::NotCovered,
            })
        })
    }

    /// `custodian`'s payout root after `epoch`, if it committed one.
    pub fn payout_root(&self, custodian: &AccountId, epoch: u32) -> Result<Option<PayoutRootInfo>> {
        let root = self.block_on(self.map_entry(
            api::storage().revenue().payout_roots(),
            (custodian.clone(), epoch),
        ))?;
        Ok(root.map(|root| PayoutRootInfo {
            root: root.root.0,
            total: root.total,
            leaf_count: root.leaf_count,
            rejected: root.rejected,
        }))
    }

    /// Every released order's owners' part: `(custodian, epoch, order, part)`
    /// (`Revenue.PoolOrders`).
    pub fn pool_orders(&self) -> Result<Vec<(AccountId, u32, u64, u128)>> {
        let entries = self.block_on(self.map_entries(api::storage().revenue().pool_orders()))?;
        Ok(entries
            .into_iter()
            .map(|((custodian, epoch, order), part)| (custodian, epoch, order, part))
            .collect())
    }
}

/// A payout claim as the custodian's node hands it out: leaf `index` of the custodian's root
/// after `epoch`, saying `owner` earned `amount` in all, salted with `salt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutClaim {
    pub custodian: AccountId,
    pub epoch: u32,
    pub index: u32,
    pub owner: AccountId,
    pub amount: u128,
    pub salt: [u8; 32],
    /// Siblings from the leaf up.
    pub proof: Vec<[u8; 32]>,
}

impl PayoutClaim {
    fn leaf(&self) -> api::runtime_types::pallet_revenue::types::PayoutLeaf<AccountId, u128> {
        api::runtime_types::pallet_revenue::types::PayoutLeaf {
            owner: self.owner.clone(),
            amount: self.amount,
            salt: H256(self.salt),
        }
    }
}

/// A failed transaction's dispatch error as a sentence, from the node's metadata.
fn dispatch_error(error: subxt::error::TransactionEventsError) -> Error {
    use subxt::error::{DispatchError, TransactionEventsError};
    match error {
        TransactionEventsError::ExtrinsicFailed(DispatchError::Module(module)) => {
            match module.details() {
                Ok(details) => Error::Dispatch {
                    pallet: details.pallet.name().to_string(),
                    error: details.variant.name.clone(),
                    explanation: details.variant.docs.join(" "),
                },
                Err(_) => Error::Other(format!("the chain refused it: {module}")),
            }
        }
        TransactionEventsError::ExtrinsicFailed(other) => Error::Dispatch {
            pallet: "System".into(),
            error: format!("{other:?}"),
            explanation: other.to_string(),
        },
        other => Error::other("reading the transaction's outcome", other),
    }
}

/// What a member proposes to the consortium.
#[derive(Clone, Debug)]
pub enum Proposal {
    /// Admit a hospital: its account, display name, public delivery endpoint and its nodes'
    /// libp2p peer ids (as bytes: [`parse_peer_id`]).
    AddHospital {
        account: AccountId,
        name: String,
        delivery_endpoint: String,
        peer_ids: Vec<Vec<u8>>,
    },
    /// Register a regulator's observer node.
    AddRegulator {
        account: AccountId,
        name: String,
        peer_id: Vec<u8>,
    },
    RemoveHospital(AccountId),
    RemoveRegulator(AccountId),
    /// A SCALE-encoded runtime call dispatched with Root origin (as polkadot.js shows a call's
    /// encoding).
    RootCall(Vec<u8>),
    /// A runtime upgrade: `system.setCode(code)` with Root origin.
    SetCode(Vec<u8>),
}

/// A libp2p peer id as `medledger-node key inspect-node-key` prints it (base58, `12D3Koo…`),
/// as the bytes the chain keeps: a multihash of the node's public key (identity for ed25519
/// keys, SHA-256 for longer ones).
pub fn parse_peer_id(text: &str) -> std::result::Result<Vec<u8>, String> {
    let bytes = bs58::decode(text.trim())
        .into_vec()
        .map_err(|e| format!("peer id {text:?} is not base58: {e}"))?;
    let well_formed = match bytes.as_slice() {
        // identity multihash of a protobuf-encoded public key
        [0x00, len, key @ ..] => *len as usize == key.len() && key.len() <= 42,
        // SHA-256 multihash
        [0x12, 0x20, digest @ ..] => digest.len() == 32,
        _ => false,
    };
    if well_formed {
        Ok(bytes)
    } else {
        Err(format!(
            "{text:?} is not a libp2p peer id (as `medledger-node key inspect-node-key` prints one)"
        ))
    }
}

type RuntimeCall = api::runtime_types::medledger_runtime::RuntimeCall;
type Weight = api::runtime_types::sp_weights::weight_v2::Weight;
use api::runtime_types::pallet_consortium::types as consortium_types;

impl Chain {
    /// A SCALE-encoded runtime call decoded with the chain's metadata, as text; a runtime
    /// upgrade's code is shown by its size.
    pub fn describe_call(&self, encoded: &[u8]) -> String {
        use subxt::ext::scale_value::{Composite, ValueDef};
        let described = self.block_on(async {
            let at = at_finalized!(self);
            let metadata = at.metadata();
            let value = subxt::ext::scale_value::scale::decode_as_type(
                &mut &encoded[..],
                metadata.outer_enums().call_enum_ty(),
                metadata.types(),
            )
            .map_err(|e| Error::other("undecodable call", e))?;
            // RuntimeCall::Pallet(pallet::Call::call { fields })
            let ValueDef::Variant(pallet) = &value.value else {
                return Err(Error::Other("not a call".into()));
            };
            let call = match &pallet.values {
                Composite::Unnamed(inner) => inner.first().and_then(|v| match &v.value {
                    ValueDef::Variant(call) => Some(call),
                    _ => None,
                }),
                Composite::Named(_) => None,
            }
            .ok_or_else(|| Error::Other("not a call".into()))?;
            if pallet.name == "System" && call.name == "set_code" {
                return Ok(format!("System.set_code({} bytes of code)", encoded.len()));
            }
            let fields: Vec<String> = match &call.values {
                Composite::Named(fields) => fields
                    .iter()
                    .map(|(name, v)| {
                        format!("{name}: {}", crate::readable::to_json(v, metadata.types()))
                    })
                    .collect(),
                Composite::Unnamed(values) => values
                    .iter()
                    .map(|v| crate::readable::to_json(v, metadata.types()).to_string())
                    .collect(),
            };
            Ok(format!(
                "{}.{}({})",
                pallet.name,
                call.name,
                fields.join(", ")
            ))
        });
        let mut text = match described {
            Ok(text) => text,
            Err(e) => return format!("0x{} ({e})", hex::encode(encoded)),
        };
        if text.len() > 400 {
            let mut end = 400;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
        }
        text
    }

    fn describe_action(&self, action: &consortium_types::Action<AccountId>) -> String {
        use consortium_types::Action;
        match action {
            Action::AddHospital { account, info } => format!(
                "add hospital {account} ({}, delivery endpoint {})",
                text(&info.name.0),
                text(&info.delivery_endpoint.0)
            ),
            Action::RemoveHospital { account } => format!("remove hospital {account}"),
            Action::AddRegulator { account, info } => {
                format!("add regulator {account} ({})", text(&info.name.0))
            }
            Action::RemoveRegulator { account } => format!("remove regulator {account}"),
            Action::DispatchAsRoot { call } => {
                format!("as Root: {}", self.describe_call(&call.0))
            }
            Action::DecideDispute { order } => {
                format!("decide the dispute of order {order} (aye: the buyer wins)")
            }
        }
    }

    /// The open proposals, with their actions decoded.
    pub fn proposals(&self) -> Result<Vec<ProposalInfo>> {
        let raw = self.block_on(self.map_entries(api::storage().consortium().proposals()))?;
        let mut proposals: Vec<ProposalInfo> = raw
            .into_iter()
            .map(|((index,), p)| ProposalInfo {
                index,
                proposer: p.proposer,
                action: self.describe_action(&p.action),
                ayes: p.ayes.0,
                nays: p.nays.0,
                expires_at: p.expires_at,
                deposit: p.deposit,
            })
            .collect();
        proposals.sort_by_key(|p| p.index);
        Ok(proposals)
    }

    /// Proposes `proposal`; returns its index.
    pub fn propose(
        &self,
        signer: &Account,
        proposal: Proposal,
        finalized: bool,
    ) -> Result<(Included, u32)> {
        use consortium_types::Action;
        let action = match proposal {
            Proposal::AddHospital {
                account,
                name,
                delivery_endpoint,
                peer_ids,
            } => Action::AddHospital {
                account,
                info: consortium_types::HospitalInfo {
                    name: BoundedVec(name.into_bytes()),
                    delivery_endpoint: BoundedVec(delivery_endpoint.into_bytes()),
                    peer_ids: BoundedVec(peer_ids.into_iter().map(BoundedVec).collect()),
                },
            },
            Proposal::AddRegulator {
                account,
                name,
                peer_id,
            } => Action::AddRegulator {
                account,
                info: consortium_types::RegulatorInfo {
                    name: BoundedVec(name.into_bytes()),
                    peer_id: BoundedVec(peer_id),
                },
            },
            Proposal::RemoveHospital(account) => Action::RemoveHospital { account },
            Proposal::RemoveRegulator(account) => Action::RemoveRegulator { account },
            Proposal::RootCall(call) => Action::DispatchAsRoot {
                call: BoundedVec(call),
            },
            Proposal::SetCode(code) => {
                let call = self.block_on(async {
                    self.client()
                        .transactions()
                        .await
                        .map_err(|e| Error::other("reading the finalized block", e))?
                        .call_data(&api::tx().system().set_code(code))
                        .map_err(|e| Error::other("encoding system.set_code", e))
                })?;
                Action::DispatchAsRoot {
                    call: BoundedVec(call),
                }
            }
        };
        let included = self.submit(&api::tx().consortium().propose(action), signer, finalized)?;
        let index = self
            .proposals()?
            .into_iter()
            .filter(|p| p.proposer.as_ref() == Some(&signer.account_id()))
            .map(|p| p.index)
            .max()
            .ok_or_else(|| Error::Other("the new proposal is not open on chain".into()))?;
        Ok((included, index))
    }

    /// Votes on proposal `index`. A Root call's weight is read from the chain
    /// (`TransactionPaymentCallApi.query_call_info`) and passed as the bound, so the vote
    /// that reaches two thirds can execute it.
    pub fn vote(
        &self,
        signer: &Account,
        index: u32,
        aye: bool,
        finalized: bool,
    ) -> Result<Included> {
        let bound = self.block_on(async {
            let Some(proposal) = self
                .map_entry(api::storage().consortium().proposals(), (index,))
                .await?
            else {
                return Err(Error::Other(format!("no open proposal {index}")));
            };
            let at = at_finalized!(self);
            let consortium_types::Action::DispatchAsRoot { call } = proposal.action else {
                return Ok(Weight {
                    ref_time: 0,
                    proof_size: 0,
                });
            };
            let len = call.0.len() as u32;
            let call = {
                use subxt::ext::scale_decode::DecodeAsType;
                let metadata = at.metadata();
                RuntimeCall::decode_as_type(
                    &mut &call.0[..],
                    metadata.outer_enums().call_enum_ty(),
                    metadata.types(),
                )
                .map_err(|e| Error::other("the proposal's call", e))?
            };
            let info = at
                .runtime_apis()
                .call(
                    api::runtime_apis()
                        .transaction_payment_call_api()
                        .query_call_info(call, len),
                )
                .await
                .map_err(|e| Error::other("TransactionPaymentCallApi.query_call_info", e))?;
            Ok(info.weight)
        })?;
        let call = api::tx().consortium().vote(index, aye, bound);
        self.submit(&call, signer, finalized)
    }

    /// Closes an expired proposal.
    pub fn close_proposal(
        &self,
        signer: &Account,
        index: u32,
        finalized: bool,
    ) -> Result<Included> {
        self.submit(&api::tx().consortium().close(index), signer, finalized)
    }

    /// Every event of the pallets an auditor follows (ownership, consent, escrow, revenue,
    /// delivery, consortium) in blocks `from..=to`, read from `to`'s chain.
    pub fn audit_events(&self, from: u64, to: u64) -> Result<Vec<AuditEvent>> {
        const PALLETS: [&str; 6] = [
            "Ownership",
            "Consent",
            "Escrow",
            "Revenue",
            "Delivery",
            "Consortium",
        ];
        self.block_on(async {
            let mut found = Vec::new();
            for number in from..=to {
                let at = self
                    .client()
                    .at_block(number)
                    .await
                    .map_err(|e| Error::other(&format!("block {number}"), e))?;
                let hash = format!("0x{}", hex::encode(at.block_hash().0));
                let events = at
                    .events()
                    .fetch()
                    .await
                    .map_err(|e| Error::other(&format!("events of block {number}"), e))?;
                let metadata = at.metadata();
                for event in events.iter() {
                    let event = event.map_err(|e| Error::other("an event", e))?;
                    if !PALLETS.contains(&event.pallet_name()) {
                        continue;
                    }
                    let fields = readable_fields(&event, &metadata).unwrap_or_else(|e| {
                        serde_json::json!({ "undecodable": e, "bytes": hex::encode(event.field_bytes()) })
                    });
                    found.push(AuditEvent {
                        block: number,
                        block_hash: hash.clone(),
                        index: event.index(),
                        pallet: event.pallet_name().to_string(),
                        event: event.event_name().to_string(),
                        fields,
                    });
                }
            }
            Ok(found)
        })
    }
}

/// An event's fields by name (by position if unnamed), readable (`crate::readable`).
fn readable_fields<T: subxt::config::Config>(
    event: &subxt::events::Event<'_, T>,
    metadata: &subxt::Metadata,
) -> std::result::Result<serde_json::Value, String> {
    let variant = metadata
        .pallet_by_name(event.pallet_name())
        .and_then(|pallet| pallet.event_variant_by_index(event.event_index()))
        .ok_or("not in the metadata")?;
    let mut bytes = event.field_bytes();
    let mut fields = serde_json::Map::new();
    for (position, field) in variant.fields.iter().enumerate() {
        let value = subxt::ext::scale_value::scale::decode_as_type(
            &mut bytes,
            field.ty.id,
            metadata.types(),
        )
        .map_err(|e| e.to_string())?;
        let name = field.name.clone().unwrap_or_else(|| position.to_string());
        fields.insert(name, crate::readable::to_json(&value, metadata.types()));
    }
    Ok(serde_json::Value::Object(fields))
}
