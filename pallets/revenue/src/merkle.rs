//! The payout tree: a binary Merkle tree over `(index, owner, cumulative amount, salt)` leaves,
//! blake2-256, domain-separated. See the crate docs for the exact encoding.
//!
//! The chain only verifies ([`verify_proof`]); [`PayoutTree`] builds roots and proofs for
//! custodians' tools, tests and benchmarks.

use crate::PayoutLeaf;
use alloc::vec::Vec;
use codec::Encode;
use sp_core::H256;
use sp_io::hashing::blake2_256;

/// Prefix of every leaf preimage.
pub const LEAF_DOMAIN: &[u8; 12] = b"mlrev:leaf:2";
/// Prefix of every inner-node preimage.
pub const NODE_DOMAIN: &[u8; 12] = b"mlrev:node:1";

/// Hash of leaf `index`, which says `leaf.owner` has earned `leaf.amount` in all:
/// `blake2_256(LEAF_DOMAIN ++ SCALE(index as u32) ++ SCALE(owner) ++ SCALE(amount) ++ salt)`.
/// The salt (32 bytes known to the custodian and the owner) keeps anyone who guesses every
/// owner's earnings from confirming the guess against the root.
pub fn leaf_hash<AccountId: Encode, Balance: Encode>(
    index: u32,
    leaf: &PayoutLeaf<AccountId, Balance>,
) -> H256 {
    let mut preimage = LEAF_DOMAIN.to_vec();
    index.encode_to(&mut preimage);
    leaf.owner.encode_to(&mut preimage);
    leaf.amount.encode_to(&mut preimage);
    preimage.extend_from_slice(leaf.salt.as_bytes());
    H256(blake2_256(&preimage))
}

/// Hash of an inner node: `blake2_256(NODE_DOMAIN ++ left ++ right)`.
pub fn node_hash(left: &H256, right: &H256) -> H256 {
    let mut preimage = [0u8; 12 + 64];
    preimage[..12].copy_from_slice(NODE_DOMAIN);
    preimage[12..44].copy_from_slice(left.as_bytes());
    preimage[44..].copy_from_slice(right.as_bytes());
    H256(blake2_256(&preimage))
}

/// Number of siblings in the proof of leaf `index` of a tree of `leaf_count` leaves, or `None`
/// if `index` is not a leaf of it.
pub fn proof_length(index: u32, leaf_count: u32) -> Option<u32> {
    if index >= leaf_count {
        return None;
    }
    let (mut position, mut width, mut length) = (index, leaf_count, 0u32);
    while width > 1 {
        if !is_promoted(position, width) {
            length = length.saturating_add(1);
        }
        position /= 2;
        width = width.div_ceil(2);
    }
    Some(length)
}

/// Levels of a tree of `leaf_count` leaves: the longest proof in it.
pub fn depth(leaf_count: u32) -> u32 {
    u32::BITS.saturating_sub(leaf_count.saturating_sub(1).leading_zeros())
}

/// Whether the node at `position` of a level `width` wide has no sibling and moves up as is.
fn is_promoted(position: u32, width: u32) -> bool {
    width % 2 == 1 && position == width - 1
}

/// Whether `proof` shows `leaf` at `index` in the tree of `leaf_count` leaves with root `root`.
/// Costs one hash per proof element; every element must be used.
pub fn verify_proof(root: &H256, leaf: H256, index: u32, leaf_count: u32, proof: &[H256]) -> bool {
    if index >= leaf_count {
        return false;
    }
    let mut siblings = proof.iter();
    let (mut node, mut position, mut width) = (leaf, index, leaf_count);
    while width > 1 {
        if !is_promoted(position, width) {
            let Some(sibling) = siblings.next() else {
                return false;
            };
            node = if position % 2 == 0 {
                node_hash(&node, sibling)
            } else {
                node_hash(sibling, &node)
            };
        }
        position /= 2;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && node == *root
}

/// A whole payout tree, level by level: leaves first, root last. Built off chain.
pub struct PayoutTree {
    levels: Vec<Vec<H256>>,
}

impl PayoutTree {
    /// The tree over `leaves` (already hashed with [`leaf_hash`], index = position). Pairs
    /// neighbours on each level; an odd last node moves up unchanged.
    pub fn from_leaf_hashes(leaves: Vec<H256>) -> Self {
        let mut levels = alloc::vec![leaves];
        while let Some(level) = levels.last().filter(|level| level.len() > 1) {
            let next = level
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    [single] => *single,
                    _ => H256::zero(),
                })
                .collect();
            levels.push(next);
        }
        Self { levels }
    }

    /// The tree over `leaves`, leaf `i` being the `i`-th.
    pub fn from_leaves<AccountId: Encode, Balance: Encode>(
        leaves: &[PayoutLeaf<AccountId, Balance>],
    ) -> Self {
        let leaves = leaves
            .iter()
            .enumerate()
            .map(|(index, leaf)| leaf_hash(index as u32, leaf))
            .collect();
        Self::from_leaf_hashes(leaves)
    }

    /// The root; zero for an empty tree.
    pub fn root(&self) -> H256 {
        self.levels
            .last()
            .and_then(|level| level.first())
            .copied()
            .unwrap_or_default()
    }

    /// Number of leaves.
    pub fn leaf_count(&self) -> u32 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u32)
    }

    /// The siblings proving leaf `index`, bottom up; `None` if there is no such leaf.
    pub fn proof(&self, index: u32) -> Option<Vec<H256>> {
        if index >= self.leaf_count() {
            return None;
        }
        let mut proof = Vec::new();
        let mut position = index as usize;
        for level in self.levels.iter().take(self.levels.len().saturating_sub(1)) {
            let sibling = position ^ 1;
            if let Some(node) = level.get(sibling) {
                proof.push(*node);
            }
            position /= 2;
        }
        Some(proof)
    }
}
