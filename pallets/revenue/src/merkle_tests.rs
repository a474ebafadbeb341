//! Tests of the payout tree against an independent construction: the root computed top-down
//! by splitting at the largest power of two below the leaf count (the shape RFC 6962 uses),
//! which must equal the pallet's bottom-up pairing with odd nodes moved up.

use crate::{merkle::*, PayoutLeaf};
use sp_core::H256;
use sp_io::hashing::blake2_256;

/// Leaf hash written out from the documented encoding, without the pallet's helper.
fn documented_leaf(index: u32, leaf: &PayoutLeaf<u64, u64>) -> H256 {
    let mut preimage = b"mlrev:leaf:2".to_vec();
    preimage.extend_from_slice(&index.to_le_bytes());
    preimage.extend_from_slice(&leaf.owner.to_le_bytes());
    preimage.extend_from_slice(&leaf.amount.to_le_bytes());
    preimage.extend_from_slice(leaf.salt.as_bytes());
    H256(blake2_256(&preimage))
}

fn leaf(owner: u64, amount: u64) -> PayoutLeaf<u64, u64> {
    PayoutLeaf {
        owner,
        amount,
        salt: H256::from_low_u64_le(owner ^ 0x5a5a),
    }
}

fn documented_node(left: &H256, right: &H256) -> H256 {
    H256(blake2_256(
        &[
            b"mlrev:node:1".as_slice(),
            left.as_bytes(),
            right.as_bytes(),
        ]
        .concat(),
    ))
}

/// Root of `leaves`, top-down.
fn split_root(leaves: &[H256]) -> H256 {
    match leaves.len() {
        0 => H256::zero(),
        1 => leaves[0],
        n => {
            let split = (n - 1).next_power_of_two();
            let split = if split >= n { split / 2 } else { split };
            documented_node(&split_root(&leaves[..split]), &split_root(&leaves[split..]))
        }
    }
}

fn payouts(count: u32) -> Vec<PayoutLeaf<u64, u64>> {
    (0..count)
        .map(|i| leaf(1_000 + u64::from(i), 1 + u64::from(i) % 97))
        .collect()
}

fn documented_leaves(payouts: &[PayoutLeaf<u64, u64>]) -> Vec<H256> {
    payouts
        .iter()
        .enumerate()
        .map(|(index, leaf)| documented_leaf(index as u32, leaf))
        .collect()
}

#[test]
fn leaf_and_node_hashes_follow_the_documented_encoding() {
    assert_eq!(
        leaf_hash(7, &leaf(42, 1_000)),
        documented_leaf(7, &leaf(42, 1_000))
    );
    let other_salt = PayoutLeaf {
        salt: H256::repeat_byte(9),
        ..leaf(42, 1_000)
    };
    assert_ne!(leaf_hash(7, &other_salt), leaf_hash(7, &leaf(42, 1_000)));
    let (a, b) = (H256::repeat_byte(1), H256::repeat_byte(2));
    assert_eq!(node_hash(&a, &b), documented_node(&a, &b));
    assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
}

#[test]
fn every_leaf_of_small_trees_proves_and_no_other_index_does() {
    for count in 1..=40u32 {
        let payouts = payouts(count);
        let tree = PayoutTree::from_leaves(&payouts);
        assert_eq!(
            tree.root(),
            split_root(&documented_leaves(&payouts)),
            "{count} leaves"
        );
        assert_eq!(tree.leaf_count(), count);
        for (index, payout) in payouts.iter().enumerate() {
            let index = index as u32;
            let proof = tree.proof(index).expect("leaf exists");
            assert!(proof.len() as u32 <= depth(count));
            assert_eq!(proof_length(index, count), Some(proof.len() as u32));
            let leaf = leaf_hash(index, payout);
            assert!(
                verify_proof(&tree.root(), leaf, index, count, &proof),
                "{index}/{count}"
            );
            for other in (0..count + 2).filter(|other| *other != index) {
                let moved = leaf_hash(other, payout);
                assert!(!verify_proof(&tree.root(), moved, other, count, &proof));
                assert!(!verify_proof(&tree.root(), leaf, other, count, &proof));
            }
        }
        assert_eq!(tree.proof(count), None);
    }
}

#[test]
fn depth_is_the_ceiling_of_the_binary_logarithm() {
    for (count, expected) in [
        (1u32, 0u32),
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 3),
        (100_000, 17),
        (131_072, 17),
        (131_073, 18),
    ] {
        assert_eq!(depth(count), expected, "{count} leaves");
        assert!(2u64.pow(expected) >= u64::from(count));
    }
}

#[test]
fn a_root_over_100_000_owners_proves_in_17_steps() {
    let payouts = payouts(100_000);
    let leaves = documented_leaves(&payouts);
    let tree = PayoutTree::from_leaf_hashes(leaves.clone());
    assert_eq!(tree.root(), split_root(&leaves));
    for index in [0u32, 1, 4_095, 50_000, 65_535, 65_536, 99_998, 99_999] {
        let proof = tree.proof(index).expect("leaf exists");
        assert!(
            proof.len() <= 17,
            "proof of {index} has {} siblings",
            proof.len()
        );
        let payout = &payouts[index as usize];
        assert!(verify_proof(
            &tree.root(),
            leaf_hash(index, payout),
            index,
            100_000,
            &proof
        ));
        assert!(!verify_proof(
            &tree.root(),
            leaf_hash(index, &leaf(payout.owner, payout.amount + 1)),
            index,
            100_000,
            &proof
        ));
    }
    // The last leaf of an odd-sized level moves up: its proof is shorter.
    assert!(tree.proof(99_999).map(|proof| proof.len()) < tree.proof(0).map(|proof| proof.len()));
    assert_eq!(depth(100_000), 17);
}
