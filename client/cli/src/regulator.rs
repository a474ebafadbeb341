//! `medledger regulator …`: read-only audits from an observer node.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

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
                        csv_field(&e.fields)
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
    }
    Ok(())
}
