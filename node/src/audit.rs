//! `medledger-node audit-delivery`: a regulator checks a hospital's opening of one delivery
//! against the chain, through any node's JSON-RPC (its own observer, typically): the receipt
//! matches the opening, the opening's records hash to the receipt's `records_root`, and every
//! record is registered to its owner at that hospital with the owner's consent covering the
//! buyer and purpose at the sale block and at the delivery block.

use std::path::PathBuf;

use medledger_runtime::{AccountId, BlockNumber, Hash, Runtime};
use pallet_consent::ConsentAnswer;
use pallet_escrow::{offchain::records_root, OrderOf};
use sp_core::crypto::Ss58Codec;

use crate::{delivery::worker::Opening, rpc_client::Rpc};

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
            println!(
                "order {}: the opening matches the chain — {} records, each registered to its \
                 owner at {} and consented for {} at blocks {} and {}",
                opening.order,
                opening.record_count,
                opening.custodian,
                opening.buyer,
                opening.sale_block,
                opening.receipt_block
            );
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

/// Every way `opening` disagrees with the chain (empty: it is correct).
pub fn audit(rpc: &Rpc, opening: &Opening) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    let order: OrderOf<Runtime> = rpc
        .storage(&pallet_escrow::Orders::<Runtime>::hashed_key_for(
            opening.order,
        ))?
        .ok_or_else(|| format!("order {} is not on chain", opening.order))?;
    let receipt = order
        .receipt
        .as_ref()
        .ok_or_else(|| format!("order {} has no receipt on chain", opening.order))?;
    let account = |text: &str| {
        AccountId::from_ss58check(text).map_err(|e| format!("bad account {text}: {e:?}"))
    };
    let hash = |text: &str| -> Result<Hash, String> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim_start_matches("0x"), &mut bytes)
            .map_err(|e| format!("bad hash {text}: {e}"))?;
        Ok(Hash::from(bytes))
    };
    let mut expect = |what: &str, same: bool| {
        if !same {
            problems.push(format!("{what} differs from the chain's"));
        }
    };
    expect(
        "the custodian",
        account(&opening.custodian)? == order.custodian,
    );
    expect("the buyer", account(&opening.buyer)? == order.buyer);
    expect(
        "the ciphertext digest",
        hash(&opening.ciphertext_digest)? == receipt.ciphertext_digest,
    );
    expect("the size", opening.size == receipt.size);
    expect(
        "the record count",
        opening.record_count == receipt.record_count,
    );
    expect(
        "the record list's length",
        opening.records.len() == receipt.record_count as usize,
    );
    expect(
        "the sale block",
        opening.sale_block == receipt.sale_block_consent,
    );
    expect(
        "the delivery block",
        opening.receipt_block == receipt.receipt_block,
    );

    let mut pairs = Vec::with_capacity(opening.records.len());
    let purpose = order.purpose;
    for entry in &opening.records {
        let record = hash(&entry.record)?;
        let commitment = hash(&entry.commitment)?;
        let owner = account(&entry.owner)?;
        pairs.push((commitment, owner.clone()));
        let info: Option<pallet_ownership::RecordInfo<AccountId, BlockNumber>> = rpc.storage(
            &pallet_ownership::Records::<Runtime>::hashed_key_for(record),
        )?;
        match info {
            None => problems.push(format!("record {} is not registered", entry.record)),
            Some(info) => {
                if info.owner != owner
                    || info.custodian != order.custodian
                    || info.commitment != commitment
                {
                    problems.push(format!(
                        "record {} is registered with another owner, custodian or commitment",
                        entry.record
                    ));
                }
            }
        }
        for at in [receipt.sale_block_consent, receipt.receipt_block] {
            let answer: ConsentAnswer = rpc.runtime_api(
                "ConsentApi_consent_covers",
                (owner.clone(), record, purpose, order.buyer.clone(), at),
            )?;
            match answer {
                ConsentAnswer::Covered { .. } => {}
                // The chain holds only the consents' salted tags: the opening names the
                // category and the owner's salt, whose tag must be one of them. That the record
                // is in the category is the hospital's word, bound by the record's commitment.
                ConsentAnswer::CoveredIfInCategory { categories } => {
                    match category_consented(entry.category.as_ref(), &categories) {
                        Ok(()) => {}
                        Err(why) => problems.push(format!(
                            "record {} is covered only by a category consent at block {at}, \
                             and {why}",
                            entry.record
                        )),
                    }
                }
                ConsentAnswer::NotCovered => problems.push(format!(
                    "record {} was not consented for this buyer and purpose at block {at}",
                    entry.record
                )),
            }
        }
    }
    let root = records_root(&pairs);
    if root != receipt.records_root || hash(&opening.records_root)? != receipt.records_root {
        problems.push(
            "the records do not hash to the receipt's records root (a record was added, left \
             out or changed)"
                .into(),
        );
    }
    Ok(problems)
}

/// Whether the opening's category evidence for a record (code and owner's salt) gives one of
/// the tags the owner consented to.
fn category_consented(
    evidence: Option<&crate::delivery::worker::OpenedCategory>,
    consented: &[(pallet_consent::ConsentId, pallet_consent::CategoryTag)],
) -> Result<(), String> {
    let evidence = evidence.ok_or("the opening names no category for it")?;
    let mut salt = [0u8; 32];
    hex::decode_to_slice(evidence.salt.trim_start_matches("0x"), &mut salt)
        .map_err(|e| format!("its category salt is not 32 bytes of hex ({e})"))?;
    let tag = Hash::from(medledger_fhir::category_tag(
        &medledger_fhir::CategorySalt(salt),
        &evidence.code,
    ));
    if consented.iter().any(|(_, consented)| *consented == tag) {
        Ok(())
    } else {
        Err(format!(
            "the owner consented to no category {} (with the salt given)",
            evidence.code
        ))
    }
}
