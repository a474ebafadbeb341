//! The payout book: how a custodian turns the records of its released sales into payout
//! entries and leaves. One definition, used by the custodian's node to build its roots and by
//! anyone (a regulator, a patient) to check one from the delivery openings.
//!
//! - **Entries of an order** ([`order_entries`]): the order's owners' pool (`PoolOrders`) is
//!   split equally over the records delivered for it (the receipt's records, from the
//!   delivery's opening), in ascending order of the record id; the first
//!   `pool % records` records get one unit more, so the entries sum to the pool exactly.
//! - **Leaves of a root** ([`cumulative_leaves`]): every owner's entries of all the custodian's
//!   orders released up to the root's epoch, summed, and a zero leaf for every other owner
//!   enrolled at the custodian; leaves in ascending order of the owner's SCALE encoding, each
//!   salted with [`leaf_salt`] from the book's secret seed. Leaf `i` of the tree
//!   ([`crate::merkle::PayoutTree::from_leaves`]) is the `i`-th.

use crate::{OrderId, PayoutEntry, PayoutLeaf};
use alloc::{collections::BTreeMap, vec::Vec};
use codec::Encode;
use pallet_consent::RecordId;
use sp_core::H256;
use sp_io::hashing::blake2_256;
use sp_runtime::traits::{AtLeast32BitUnsigned, Zero};

/// Prefix of every salt preimage.
pub const SALT_DOMAIN: &[u8; 12] = b"mlrev:salt:1";

/// The entries paying `owners_pool` of `order` to the owners of its delivered `records`
/// (record id, owner). Empty if there are no records.
pub fn order_entries<AccountId: Clone, Balance: AtLeast32BitUnsigned + Copy>(
    order: OrderId,
    owners_pool: Balance,
    records: &[(RecordId, AccountId)],
) -> Vec<PayoutEntry<AccountId, Balance>> {
    let Ok(count) = u32::try_from(records.len()) else {
        return Vec::new();
    };
    if count == 0 {
        return Vec::new();
    }
    let count = Balance::from(count);
    let (each, remainder) = (owners_pool / count, owners_pool % count);
    let mut sorted: Vec<&(RecordId, AccountId)> = records.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .into_iter()
        .enumerate()
        .map(|(position, (record, owner))| {
            let extra = Balance::from(u32::try_from(position).unwrap_or(u32::MAX)) < remainder;
            PayoutEntry {
                order,
                record: *record,
                owner: owner.clone(),
                amount: if extra { each + Balance::one() } else { each },
            }
        })
        .collect()
}

/// The salt of `owner`'s leaf in a book with secret `seed`:
/// `blake2_256(SALT_DOMAIN ++ seed ++ SCALE(owner))`. The custodian draws a fresh seed for each
/// book and tells each owner only its own salt.
pub fn leaf_salt<AccountId: Encode>(seed: &[u8; 32], owner: &AccountId) -> H256 {
    let mut preimage = SALT_DOMAIN.to_vec();
    preimage.extend_from_slice(seed);
    owner.encode_to(&mut preimage);
    H256(blake2_256(&preimage))
}

/// The leaves of a root: one per owner that has `entries` or is `enrolled`, with the sum of
/// its entries (zero for an enrolled owner without any), in ascending order of the owner's
/// SCALE encoding, salted from `seed`.
pub fn cumulative_leaves<AccountId: Clone + Encode, Balance: AtLeast32BitUnsigned + Copy>(
    entries: &[PayoutEntry<AccountId, Balance>],
    enrolled: &[AccountId],
    seed: &[u8; 32],
) -> Vec<PayoutLeaf<AccountId, Balance>> {
    let mut sums: BTreeMap<Vec<u8>, (AccountId, Balance)> = enrolled
        .iter()
        .map(|owner| (owner.encode(), (owner.clone(), Zero::zero())))
        .collect();
    for entry in entries {
        let sum = sums
            .entry(entry.owner.encode())
            .or_insert_with(|| (entry.owner.clone(), Zero::zero()));
        sum.1 = sum.1.saturating_add(entry.amount);
    }
    sums.into_values()
        .map(|(owner, amount)| PayoutLeaf {
            salt: leaf_salt(seed, &owner),
            owner,
            amount,
        })
        .collect()
}
