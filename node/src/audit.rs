//! `medledger-node audit-delivery`: a regulator checks a hospital's opening of one delivery
//! against the chain, through any node's JSON-RPC (its own observer, typically): the receipt
//! matches the opening, the opening's records hash to the receipt's `records_root`, and every
//! record is registered to its owner at that hospital with the owner's consent covering the
//! buyer and purpose at the sale block and at the delivery block. The checks are
//! `medledger_audit::audit_opening`, which `medledger regulator audit verify` runs too; this
//! command stays for regulators who have only the node binary at hand.

use std::path::PathBuf;

use medledger_audit::{
    audit_opening, ChainOrder, ChainReceipt, ChainRecord, Coverage, DeliveryChain, Opening,
};
use medledger_runtime::{AccountId, BlockNumber, Hash, Runtime};
use pallet_consent::ConsentAnswer;
use pallet_escrow::OrderOf;

use crate::rpc_client::Rpc;

#[derive(Debug, clap::Args)]
pub struct AuditDeliveryCmd {
    /// The hospital's opening of the delivery (`order-<id>.opening.json`).
    #[arg(long, value_name = "FILE")]
    pub opening: PathBuf,
    /// A node's JSON-RPC endpoint (HTTP), e.g. the regulator's observer.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9944")]
    pub rpc_url: String,
}

impl AuditDeliveryCmd {
    pub fn run(&self) -> Result<(), String> {
        let text = std::fs::read(&self.opening)
            .map_err(|e| format!("cannot read {}: {e}", self.opening.display()))?;
        let opening: Opening = serde_json::from_slice(&text)
            .map_err(|e| format!("{} is not an opening: {e}", self.opening.display()))?;
        let rpc = Rpc::new(&self.rpc_url);
        let problems = audit(&rpc, &opening)?;
        if problems.is_empty() {
            println!("{}", opening.verified_summary());
            return Ok(());
        }
        for problem in &problems {
            println!("mismatch: {problem}");
        }
        Err(format!(
            "order {}: {} mismatch(es) between the opening and the chain",
            opening.order,
            problems.len()
        ))
    }
}

/// The node's JSON-RPC client as the audit's view of the chain (best block).
struct RpcChain<'a>(&'a Rpc);

impl DeliveryChain for RpcChain<'_> {
    type Purpose = pallet_consent::Purpose;

    fn order(&self, order: u64) -> Result<Option<ChainOrder<Self::Purpose>>, String> {
        let order: Option<OrderOf<Runtime>> = self
            .0
            .storage(&pallet_escrow::Orders::<Runtime>::hashed_key_for(order))?;
        Ok(order.map(|order| ChainOrder {
            buyer: order.buyer,
            custodian: order.custodian,
            purpose: order.purpose,
            receipt: order.receipt.map(|receipt| ChainReceipt {
                ciphertext_digest: receipt.ciphertext_digest,
                size: receipt.size,
                record_count: receipt.record_count,
                records_root: receipt.records_root,
                sale_block: receipt.sale_block_consent,
                receipt_block: receipt.receipt_block,
            }),
        }))
    }

    fn record(&self, record: Hash) -> Result<Option<ChainRecord>, String> {
        let info: Option<pallet_ownership::RecordInfo<AccountId, BlockNumber>> =
            self.0
                .storage(&pallet_ownership::Records::<Runtime>::hashed_key_for(
                    record,
                ))?;
        Ok(info.map(|info| ChainRecord {
            owner: info.owner,
            custodian: info.custodian,
            commitment: info.commitment,
        }))
    }

    fn consent_covers(
        &self,
        owner: &AccountId,
        record: Hash,
        purpose: &Self::Purpose,
        buyer: &AccountId,
        at: BlockNumber,
    ) -> Result<Coverage, String> {
        let answer: ConsentAnswer = self.0.runtime_api(
            "ConsentApi_consent_covers",
            (owner.clone(), record, *purpose, buyer.clone(), at),
        )?;
        Ok(match answer {
            ConsentAnswer::Covered { .. } => Coverage::Covered,
            ConsentAnswer::CoveredIfInCategory { categories } => {
                Coverage::IfInCategory(categories.into_iter().map(|(_, tag)| tag).collect())
            }
            ConsentAnswer::NotCovered => Coverage::NotCovered,
        })
    }
}

/// Every way `opening` disagrees with the chain (empty: it is correct), records covered only
/// by a category consent included (the chain cannot settle those).
pub fn audit(rpc: &Rpc, opening: &Opening) -> Result<Vec<String>, String> {
    let found = audit_opening(&RpcChain(rpc), opening)?;
    Ok(found
        .failures
        .into_iter()
        .chain(found.unverifiable)
        .collect())
}
