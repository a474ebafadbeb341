//! The payout book: how a custodian turns the records of its released sales into payout
//! entries and leaves. One definition, used by the custodian's node to build its roots and by
//! anyone (a regulator, a patient) to check one from the delivery openings.
//!
//! - **Entries of an order** ([`order_entries`]): the order's owners' pool (`PoolOrders`) is
//!   split equally over the records delivered for it (the receipt's records, from the
//!   delivery's opening), in ascending order of the record id; the first
//!   `pool % records` records get one unit more, so the entries sum to the pool exactly.
//! - **Leaves of an epoch** ([`epoch_leaves`]): every owner's entries of the epoch's orders
//!   summed; leaves in ascending order of the owner's SCALE encoding, owners whose sum is zero
//!   left out. Leaf `i` of the tree ([`crate::merkle::PayoutTree::from_payouts`]) is the `i`-th.

use crate::{OrderId, PayoutEntry};
use alloc::{collections::BTreeMap, vec::Vec};
use codec::Encode;
use pallet_consent::RecordId;
use sp_runtime::traits::{AtLeast32BitUnsigned, Zero};

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

/// The leaves of an epoch's root: `(owner, amount)` per owner, in ascending order of the
/// owner's SCALE encoding, without zero amounts.
pub fn epoch_leaves<AccountId: Clone + Encode, Balance: AtLeast32BitUnsigned + Copy>(
    entries: &[PayoutEntry<AccountId, Balance>],
) -> Vec<(AccountId, Balance)> {
    let mut sums: BTreeMap<Vec<u8>, (AccountId, Balance)> = BTreeMap::new();
    for entry in entries {
        let sum = sums
            .entry(entry.owner.encode())
            .or_insert_with(|| (entry.owner.clone(), Zero::zero()));
        sum.1 = sum.1.saturating_add(entry.amount);
    }
    sums.into_values()
        .filter(|(_, amount)| !amount.is_zero())
        .collect()
}
