//! `medledger regulator …`: read-only audits from an observer node: the event export, and a
//! hospital's opening of a delivery and payout book checked against the chain (the checks are
//! `medledger-audit`'s, which `medledger-node audit-delivery` runs too).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use medledger_audit::{
    self as audit, ChainOrder, ChainReceipt, ChainRecord, ChainRoot, Coverage, DeliveryChain,
    Findings, Opening, PayoutBook, PayoutChain,
};
use medledger_chain::{AccountId, Chain, Purpose};
use serde_json::{json, Value};
use sp_core::H256;

use crate::chain_options::ChainOptions;
use crate::CommandResult;

#[derive(Args)]
pub struct RegulatorArgs {
    #[command(flatten)]
    chain: ChainOptions,
    #[command(subcommand)]
    command: RegulatorCommand,
}

#[derive(Subcommand)]
enum RegulatorCommand {
    /// Audit trails.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Every enrolment, registration, consent change, sale, delivery, dispute, payout and
    /// consortium decision in blocks FROM..=TO, one event a row.
    Export {
        #[arg(long, value_name = "BLOCK")]
        from: u64,
        /// The last block (default: the finalized one).
        #[arg(long, value_name = "BLOCK")]
        to: Option<u64>,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        /// Write here (else standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a hospital's opening of one delivery (`order-<id>.opening.json`) against the
    /// chain: the receipt, the records root, each record's registration, and its owner's
    /// consent at the sale block and the delivery block. Exits non-zero unless all hold.
    Verify {
        /// The opening file.
        opening: PathBuf,
    },
    /// Check a hospital's payout book (`<custodian>-epoch-<E>.json`) against the openings of
    /// its deliveries and the chain: each order's entries and owners' part, the leaves, and the
    /// payout root and total on chain. Exits non-zero unless all hold.
    Payouts {
        /// The payout book.
        book: PathBuf,
        /// The folder holding the openings of the book's orders (`order-<id>.opening.json`).
        #[arg(long, value_name = "DIR")]
        openings: PathBuf,
    },
}

/// The chain as the shared audit checks read it (finalized block), through this client.
struct AuditView<'a>(&'a Chain);

fn to_audit(account: &AccountId) -> audit::AccountId {
    audit::AccountId::new(account.0)
}

fn from_audit(account: &audit::AccountId) -> AccountId {
    AccountId(*<audit::AccountId as AsRef<[u8; 32]>>::as_ref(account))
}

impl DeliveryChain for AuditView<'_> {
    type Purpose = Purpose;

    fn order(&self, order: u64) -> Result<Option<ChainOrder<Purpose>>, String> {
        let order = self.0.order(order).map_err(|e| e.to_string())?;
        Ok(order.map(|order| ChainOrder {
            buyer: to_audit(&order.buyer),
            custodian: to_audit(&order.custodian),
            purpose: order.purpose,
            receipt: order.receipt.map(|r| ChainReceipt {
                ciphertext_digest: H256(r.ciphertext_digest),
                size: r.size,
                record_count: r.record_count,
                records_root: H256(r.records_root),
                sale_block: r.sale_block,
                receipt_block: r.receipt_block,
            }),
        }))
    }

    fn record(&self, record: H256) -> Result<Option<ChainRecord>, String> {
        let info = self.0.record(record.0).map_err(|e| e.to_string())?;
        Ok(info.map(|info| ChainRecord {
            owner: to_audit(&info.owner),
            custodian: to_audit(&info.custodian),
            commitment: H256(info.commitment),
        }))
    }

    fn consent_covers(
        &self,
        owner: &audit::AccountId,
        record: H256,
        purpose: &Purpose,
        buyer: &audit::AccountId,
        at: u32,
    ) -> Result<Coverage, String> {
        let answer = self
            .0
            .consent_covers(
                &from_audit(owner),
                record.0,
                *purpose,
                &from_audit(buyer),
                at,
            )
            .map_err(|e| e.to_string())?;
        Ok(match answer {
            medledger_chain::Coverage::Covered { .. } => Coverage::Covered,
            medledger_chain::Coverage::IfInCategory(tags) => Coverage::IfInCategory(
                tags.into_iter()
                    .map(|(_, tag)| sp_core::H256(tag))
                    .collect(),
            ),
            medledger_chain::Coverage::NotCovered => Coverage::NotCovered,
        })
    }
}

impl PayoutChain for AuditView<'_> {
    fn payout_root(
        &self,
        custodian: &audit::AccountId,
        epoch: u32,
    ) -> Result<Option<ChainRoot>, String> {
        let root = self
            .0
            .payout_root(&from_audit(custodian), epoch)
            .map_err(|e| e.to_string())?;
        Ok(root.map(|root| ChainRoot {
            root: H256(root.root),
            total: root.total,
            leaf_count: root.leaf_count,
            rejected: root.rejected,
        }))
    }

    fn pool_orders(
        &self,
        custodian: &audit::AccountId,
    ) -> Result<Vec<(u32, u64, audit::Balance)>, String> {
        let custodian = from_audit(custodian);
        Ok(self
            .0
            .pool_orders()
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|(c, ..)| *c == custodian)
            .map(|(_, epoch, order, part)| (epoch, order, part))
            .collect())
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not {what}: {e}", path.display()))
}

/// Prints what an audit found (each failure, each point the chain cannot settle) and a
/// summary; an error unless it found nothing.
fn report(
    options: &ChainOptions,
    found: Findings,
    verified: String,
    mut value: Value,
) -> CommandResult {
    if options.json {
        if let Value::Object(map) = &mut value {
            map.insert("verified".into(), json!(found.is_clean()));
            map.insert("failures".into(), json!(found.failures));
            map.insert("unverifiable".into(), json!(found.unverifiable));
        }
        println!("{value}");
    } else {
        for failure in &found.failures {
            println!("failure: {failure}");
        }
        for point in &found.unverifiable {
            println!("cannot check: {point}");
        }
        if found.is_clean() {
            println!("{verified}");
        }
    }
    if found.is_clean() {
        return Ok(());
    }
    Err(format!(
        "{} failure(s){}",
        found.failures.len(),
        if found.unverifiable.is_empty() {
            String::new()
        } else {
            format!(
                " and {} point(s) only the hospital can show",
                found.unverifiable.len()
            )
        }
    )
    .into())
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// JSON Lines: one object per event.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub fn run(args: RegulatorArgs) -> CommandResult {
    let chain = args.chain.connect()?;
    match args.command {
        RegulatorCommand::Audit(AuditCommand::Export {
            from,
            to,
            format,
            out,
        }) => {
            let finalized = chain.finalized_number()?;
            let to = to.unwrap_or(finalized);
            if to > finalized {
                return Err(format!(
                    "block {to} is not finalized yet (finalized: {finalized}); audit final \
                     blocks only"
                )
                .into());
            }
            if from > to {
                return Err(format!("--from {from} is after --to {to}").into());
            }
            let events = chain.audit_events(from, to)?;
            let mut sink: Box<dyn Write> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
                )),
                None => Box::new(std::io::stdout().lock()),
            };
            if let Format::Csv = format {
                writeln!(sink, "block,block_hash,index,pallet,event,fields")?;
            }
            for e in &events {
                match format {
                    Format::Jsonl => writeln!(
                        sink,
                        "{}",
                        json!({"block": e.block, "block_hash": e.block_hash, "index": e.index,
                               "pallet": e.pallet, "event": e.event, "fields": e.fields})
                    )?,
                    Format::Csv => writeln!(
                        sink,
                        "{},{},{},{},{},{}",
                        e.block,
                        e.block_hash,
                        e.index,
                        e.pallet,
                        e.event,
                        csv_field(&e.fields.to_string())
                    )?,
                }
            }
            sink.flush()?;
            if let Some(path) = out {
                eprintln!(
                    "{} events of blocks {from}..={to} written to {}",
                    events.len(),
                    path.display()
                );
            }
        }
        RegulatorCommand::Audit(AuditCommand::Verify { opening }) => {
            let opened: Opening = read_json(&opening, "a delivery opening")?;
            let found = audit::audit_opening(&AuditView(&chain), &opened)?;
            return report(
                &args.chain,
                found,
                opened.verified_summary(),
                json!({"action": "audit-verify", "order": opened.order,
                       "record_count": opened.record_count}),
            );
        }
        RegulatorCommand::Audit(AuditCommand::Payouts { book, openings }) => {
            let book: PayoutBook = read_json(&book, "a payout book")?;
            let found = audit::audit_payouts(&AuditView(&chain), &book, |order| {
                let path = openings.join(audit::opening_file_name(order));
                if !path.exists() {
                    return Ok(None);
                }
                read_json(&path, "a delivery opening").map(Some)
            })?;
            return report(
                &args.chain,
                found,
                format!(
                    "the payout book of {} up to epoch {} matches the chain — {} orders' entries \
                     from their openings, {} leaves, root {} and total {} as committed",
                    book.custodian,
                    book.epoch,
                    book.orders.len(),
                    book.leaves.len(),
                    book.root,
                    book.total
                ),
                json!({"action": "audit-payouts", "custodian": book.custodian,
                       "epoch": book.epoch, "orders": book.orders.len(),
                       "leaves": book.leaves.len(), "root": book.root, "total": book.total}),
            );
        }
    }
    Ok(())
}
