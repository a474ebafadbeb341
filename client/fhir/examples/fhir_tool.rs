//! Benchmark driver (until the `medledger fhir` CLI exists): generates a synthetic
//! Bulk Data corpus of a given size, ingests it, and de-identifies it, printing figures.
//!
//! ```text
//! fhir_tool generate <out-dir> <megabytes> [seed]
//! fhir_tool generate-patients <out-dir> <patients> [seed]
//! fhir_tool ingest <export-dir> <store-dir> <key-file> <owners.csv>
//! fhir_tool deidentify <store-dir> <key-file> <out-dir> [k]
//! ```

use medledger_fhir::*;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn run(args: &[String]) -> Result<(), String> {
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| "missing argument (see the file's docs)".to_string())
    };
    match arg(1)? {
        command @ ("generate" | "generate-patients") => {
            let count: u64 = arg(3)?.parse().map_err(|_| "the size must be a number")?;
            let size = if command == "generate" {
                synthetic::CorpusSize::Bytes(count << 20)
            } else {
                synthetic::CorpusSize::Patients(count)
            };
            let seed = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(7);
            let summary = synthetic::generate_corpus(Path::new(arg(2)?), size, seed, &[])
                .map_err(|e| e.to_string())?;
            println!(
                "generated {} patients, {:.1} MB",
                summary.patients,
                summary.bytes as f64 / 1e6
            );
            Ok(())
        }
        "ingest" => {
            let key_path = Path::new(arg(4)?);
            let key = if key_path.exists() {
                StoreKey::from_file(key_path)
            } else {
                StoreKey::generate_to_file(key_path)
            }
            .map_err(|e| e.to_string())?;
            let owners = OwnerMapping::from_file(Path::new(arg(5)?)).map_err(|e| e.to_string())?;
            let started = Instant::now();
            let report = ingest_folder(
                Path::new(arg(2)?),
                Path::new(arg(3)?),
                &key,
                &owners,
                &IngestOptions::default(),
            )
            .map_err(|e| e.to_string())?;
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "ingest: {:.1} MB in {seconds:.1} s = {:.1} MB/s; {} records, {} patients, {} issues",
                report.input_bytes as f64 / 1e6,
                report.input_bytes as f64 / 1e6 / seconds,
                report.records_stored,
                report.patients_stored,
                report.issue_count
            );
            Ok(())
        }
        "deidentify" => {
            let key = StoreKey::from_file(Path::new(arg(3)?)).map_err(|e| e.to_string())?;
            let k = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(5);
            struct Everyone;
            impl ConsentOracle for Everyone {
                fn consent_covers(&self, _: &ConsentQuery<'_>) -> bool {
                    true
                }
            }
            let sale = Sale {
                buyer: AccountId::from_ss58(synthetic::DEFAULT_OWNERS[0])
                    .map_err(|e| e.to_string())?,
                purpose: Purpose::Research,
                sale_block: 1,
                delivery_block: None,
            };
            let profile = Profile::safe_harbor().map_err(|e| e.to_string())?;
            let started = Instant::now();
            let summary = deidentify_delivery(
                Path::new(arg(2)?),
                &key,
                &profile,
                &ListingFilter::default(),
                &sale,
                &Everyone,
                Path::new(arg(4)?),
                &DeliveryOptions::new(k, current_year()),
            )
            .map_err(|e| e.to_string())?;
            let seconds = started.elapsed().as_secs_f64();
            let megabytes = summary.scanned_bytes as f64 / 1e6;
            let manifest = &summary.manifest;
            let patients = manifest.patients_delivered + manifest.patients_suppressed;
            println!(
                "deidentify: {megabytes:.1} MB of NDJSON in {seconds:.1} s = {:.1} MB/s; {} records delivered, {} suppressed; {:.1}% of {patients} patients delivered at k = {:?} ({}; information loss {:.4})",
                megabytes / seconds,
                manifest.records_delivered,
                manifest.records_suppressed,
                100.0 * manifest.patients_delivered as f64 / patients.max(1) as f64,
                manifest.k,
                manifest.generalization,
                manifest.information_loss
            );
            Ok(())
        }
        other => Err(format!(
            "unknown command {other:?} (generate, generate-patients, ingest, deidentify)"
        )),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
