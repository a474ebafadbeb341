//! Delivery by the custodian's node: what the runtime's off-chain worker decides, and how it
//! talks to the node's native side.
//!
//! The worker runs on the custodian's node, on **finalized** blocks only (the node drives it
//! from finality notifications), and never does heavy work itself:
//!
//! 1. It finds the node's delivery accounts: the sr25519 keys under [`DELIVERY_KEY_TYPE`]
//!    (`mdlv`) in the node keystore (`medledger-node key insert --key-type mdlv --scheme
//!    sr25519`). An account serves a custodian if it *is* the custodian or its current
//!    off-chain-worker delegate (`delivery.setOcwDelegate`).
//! 2. It writes the `Paid` orders of those custodians to the offchain database under
//!    [`JOBS_KEY`] as [`DeliveryJobs`], unless a worker of a later block already did (workers
//!    may overlap; an older one never overwrites a newer list).
//! 3. The node's native side reads the list, and for each order without an outcome selects
//!    the consented records, de-identifies and seals them, keeps the sealed file for download
//!    and writes a [`DeliveryOutcome`] under [`outcome_key`] — only after the file is durable.
//!    A restart mid-delivery finds no outcome and starts that order again from scratch; the
//!    half-written files of the first attempt are never served.
//! 4. The worker submits `submit_receipt` for each order with a sealed outcome (or `decline`
//!    for an order with nothing to deliver), signed by the delivery account, and notes the
//!    block under [`submitted_key`]; it submits again only if the order is still `Paid`
//!    [`RESUBMIT_AFTER`] blocks later (a dropped transaction). The chain accepts one receipt
//!    or decline per order, so nothing is ever delivered or paid twice.
//!
//! Offchain-database values are SCALE-encoded; keys are the byte strings below, followed by
//! the SCALE encoding of the order id (u64, little endian) where a key is per order.

use crate::{Call, Config, OrderState, Orders, Pallet, PendingDeliveries};
use alloc::vec::Vec;
use codec::{Decode, Encode};
use frame_system::{
    offchain::{Account, SendSignedTransaction, Signer},
    pallet_prelude::BlockNumberFor,
};
use pallet_delivery::{
    offchain::{forget_submission, publish_unless_newer, submission_due},
    DeliveryKeyRegistry,
};
use sp_core::{crypto::KeyTypeId, H256};
use sp_runtime::{
    offchain::storage::StorageValueRef,
    traits::{BlakeTwo256, Hash},
};

use crate::OrderId;

/// Key type of the custodian's delivery key in the node keystore.
pub const DELIVERY_KEY_TYPE: KeyTypeId = KeyTypeId(*b"mdlv");

/// Offchain-database key of the current [`DeliveryJobs`].
pub const JOBS_KEY: &[u8] = b"medledger/delivery/jobs";
/// Prefix of an order's [`DeliveryOutcome`].
pub const OUTCOME_PREFIX: &[u8] = b"medledger/delivery/outcome/";
/// Prefix of the block at which the worker last submitted an order's receipt or decline.
pub const SUBMITTED_PREFIX: &[u8] = b"medledger/delivery/submitted/";

/// Blocks the worker waits for a submitted receipt to land before it submits it again.
pub const RESUBMIT_AFTER: u32 = 5;

/// The delivery key's application crypto: sr25519 under [`DELIVERY_KEY_TYPE`].
pub mod crypto {
    use super::DELIVERY_KEY_TYPE;
    use sp_runtime::{
        app_crypto::{app_crypto, sr25519},
        MultiSignature, MultiSigner,
    };
    app_crypto!(sr25519, DELIVERY_KEY_TYPE);

    /// Signs receipts with the delivery key (the runtime's `AuthorityId` for the escrow).
    pub struct DeliveryAuthority;

    impl frame_system::offchain::AppCrypto<MultiSigner, MultiSignature> for DeliveryAuthority {
        type RuntimeAppPublic = Public;
        type GenericSignature = sp_core::sr25519::Signature;
        type GenericPublic = sp_core::sr25519::Public;
    }
}

/// The orders this node must deliver, as of finalized block `as_of`.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct DeliveryJobs<BlockNumber> {
    pub as_of: BlockNumber,
    pub orders: Vec<OrderId>,
}

/// What the node's native side made of an order.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub enum DeliveryOutcome<BlockNumber> {
    /// The sealed dataset is ready for download; these are the receipt's values.
    Sealed(SealedDelivery<BlockNumber>),
    /// No record was consented for this buyer and purpose at the sale block (and still at
    /// `checked_at`), or k-anonymity withholds every one: the worker declines the order
    /// (`escrow.decline`) and the buyer is refunded at once. Consent for the sale block
    /// cannot grow later, so this is final.
    NothingToDeliver { checked_at: BlockNumber },
}

/// The receipt of a sealed delivery.
#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
pub struct SealedDelivery<BlockNumber> {
    /// Container digest of the sealed file.
    pub ciphertext_digest: H256,
    pub size: u64,
    pub record_count: u32,
    /// [`records_root`] of the delivered records.
    pub records_root: H256,
    /// The finalized block at which consent was checked again before sealing.
    pub receipt_block: BlockNumber,
}

/// Offchain-database key of `order`'s [`DeliveryOutcome`].
pub fn outcome_key(order: OrderId) -> Vec<u8> {
    per_order_key(OUTCOME_PREFIX, order)
}

/// Offchain-database key of the block `order`'s receipt was last submitted at.
pub fn submitted_key(order: OrderId) -> Vec<u8> {
    per_order_key(SUBMITTED_PREFIX, order)
}

fn per_order_key(prefix: &[u8], order: OrderId) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&order.encode());
    key
}

/// Domain tag of a leaf of the receipt's records tree.
pub const RECORD_LEAF_DOMAIN: &[u8; 13] = b"mlrcpt:leaf:1";
/// Domain tag of an inner node of the receipt's records tree.
pub const RECORD_NODE_DOMAIN: &[u8; 13] = b"mlrcpt:node:1";

/// Leaf of one delivered record: `blake2_256("mlrcpt:leaf:1" ++ commitment ++ SCALE(owner))`.
pub fn record_leaf<AccountId: Encode>(commitment: &H256, owner: &AccountId) -> H256 {
    let mut bytes = RECORD_LEAF_DOMAIN.to_vec();
    bytes.extend_from_slice(commitment.as_bytes());
    owner.encode_to(&mut bytes);
    BlakeTwo256::hash(&bytes)
}

/// The receipt's `records_root`: a binary Merkle tree over [`record_leaf`]s in ascending order
/// of the commitment; nodes are `blake2_256("mlrcpt:node:1" ++ left ++ right)`, paired left
/// to right, an odd last node moving up unchanged. An empty delivery has the zero root.
pub fn records_root<AccountId: Encode>(records: &[(H256, AccountId)]) -> H256 {
    let mut sorted: Vec<&(H256, AccountId)> = records.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut level: Vec<H256> = sorted
        .into_iter()
        .map(|(commitment, owner)| record_leaf(commitment, owner))
        .collect();
    if level.is_empty() {
        return H256::zero();
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => {
                    let mut bytes = RECORD_NODE_DOMAIN.to_vec();
                    bytes.extend_from_slice(left.as_bytes());
                    bytes.extend_from_slice(right.as_bytes());
                    BlakeTwo256::hash(&bytes)
                }
                [single] => *single,
                _ => H256::zero(),
            })
            .collect();
    }
    level[0]
}

impl<T: Config> Pallet<T> {
    /// One run of the delivery worker at finalized block `now` (see the module docs).
    pub(crate) fn run_delivery_worker(now: BlockNumberFor<T>) {
        let signer = Signer::<T, T::AuthorityId>::all_accounts();
        let local: Vec<Account<T>> = signer.accounts_from_keys().collect();
        if local.is_empty() {
            return;
        }
        let mut jobs: Vec<(OrderId, &Account<T>)> = Vec::new();
        for (custodian, order, ()) in PendingDeliveries::<T>::iter() {
            if let Some(account) = local
                .iter()
                .find(|account| T::DeliveryKeys::may_act_for(&custodian, &account.id))
            {
                jobs.push((order, account));
            }
        }
        jobs.sort_by_key(|(order, _)| *order);
        Self::publish_jobs(now, jobs.iter().map(|(order, _)| *order).collect());
        for (order, account) in jobs {
            Self::submit_outcome(now, order, account);
        }
    }

    /// Replace the job list unless a worker of a later block already wrote one.
    fn publish_jobs(now: BlockNumberFor<T>, orders: Vec<OrderId>) {
        let jobs = DeliveryJobs { as_of: now, orders };
        if !publish_unless_newer(JOBS_KEY, jobs, |jobs: &DeliveryJobs<BlockNumberFor<T>>| {
            jobs.as_of
        }) {
            log::debug!(target: "medledger::delivery", "jobs of a later block are already published");
        }
    }

    /// Reports what the native side made of `order`: its receipt, or that it declines it.
    fn submit_outcome(now: BlockNumberFor<T>, order: OrderId, account: &Account<T>) {
        let outcome_key = outcome_key(order);
        let outcome =
            StorageValueRef::persistent(&outcome_key).get::<DeliveryOutcome<BlockNumberFor<T>>>();
        let Ok(Some(outcome)) = outcome else {
            return;
        };
        let Some(stored) = Orders::<T>::get(order) else {
            return;
        };
        if stored.state != OrderState::Paid {
            return;
        }
        let (call, what) = match outcome {
            DeliveryOutcome::Sealed(_) if now > stored.deadline => return,
            DeliveryOutcome::Sealed(sealed) => (
                Call::submit_receipt {
                    order,
                    ciphertext_digest: sealed.ciphertext_digest,
                    size: sealed.size,
                    record_count: sealed.record_count,
                    records_root: sealed.records_root,
                    delivery_key: stored.delivery_key,
                    sale_block_consent: stored.placed_at,
                    receipt_block: sealed.receipt_block,
                },
                "the receipt",
            ),
            DeliveryOutcome::NothingToDeliver { checked_at } => {
                (Call::decline { order, checked_at }, "the decline")
            }
        };
        let marker_key = submitted_key(order);
        if !submission_due(&marker_key, now, RESUBMIT_AFTER.into()) {
            return;
        }
        let sent = Signer::<T, T::AuthorityId>::any_account()
            .send_single_signed_transaction(account, call);
        if sent != Some(Ok(())) {
            // Try again at the next finalized block rather than after the resubmit delay.
            forget_submission(&marker_key);
            log::warn!(target: "medledger::delivery", "could not submit {what} of order {order}");
        } else {
            log::info!(target: "medledger::delivery", "submitted {what} of order {order}");
        }
    }
}
