//! Delivery benchmark (run by `scripts/bench-delivery.sh` on the release build): a hospital of
//! PATIENTS synthetic patients on the 4-validator network sells one dataset; measures the time
//! from the order's finalization to its receipt's finalization, and the delivery's throughput.
//!
//! ```text
//! bench_delivery <medledger-node> <patients> <results-file>
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use medledger_fhir::{ingest_folder, synthetic, IngestOptions, OwnerMapping, StoreKey};
use medledger_runtime::{AccountId, Balance, RuntimeCall};
use medledger_test_harness::{wait_until, Network, Node};
use serde_json::json;
use sp_core::{crypto::Ss58Codec, sr25519, Encode, Pair};
use sp_keyring::Sr25519Keyring::{Alice, One};
use support::{
    dispatch_ok, enrol, next_nonce_of, order_at, register_records, research_by_anyone,
    research_listing, signed_by, start_hospitals,
};

/// Records one owner may hold (`MaxRecordsPerOwner`) over records per synthetic patient (15).
const PATIENTS_PER_OWNER: u64 = 600;

/// Sends `calls` signed by `signer` with consecutive nonces without waiting, then waits until
/// the last is in a block.
fn send_all(node: &Node, signer: &sr25519::Pair, calls: Vec<RuntimeCall>) -> Result<(), String> {
    let account = AccountId::from(signer.public());
    let first = next_nonce_of(node, &account)?;
    let count = calls.len() as u32;
    for (i, call) in calls.into_iter().enumerate() {
        let xt = signed_by(node, signer, first + i as u32, call)?;
        node.rpc("author_submitExtrinsic", json!([xt]))?;
    }
    wait_until("the batch to be included", Duration::from_secs(900), || {
        let result = node.rpc(
            "state_call",
            json!([
                "AccountNonceApi_account_nonce",
                support::hex(&account.encode())
            ]),
        )?;
        let bytes = medledger_test_harness::decode_hex(result.as_str().ok_or("bad nonce")?)?;
        let nonce = u32::from_le_bytes(bytes[..4].try_into().map_err(|_| "short nonce")?);
        Ok((nonce >= first + count).then_some(()))
    })
}

fn run(node_binary: &str, patients: u64, results: &Path) -> Result<(), String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let work = work.path();
    let owner_count = patients.div_ceil(PATIENTS_PER_OWNER).max(1);
    let owners: Vec<sr25519::Pair> = (0..owner_count)
        .map(|i| sr25519::Pair::from_string(&format!("//bench-owner-{i}"), None).expect("uri"))
        .collect();
    let owner_ids: Vec<String> = owners
        .iter()
        .map(|pair| AccountId::from(pair.public()).to_ss58check())
        .collect();

    let export = work.join("export");
    let started = Instant::now();
    let corpus = synthetic::generate_corpus(
        &export,
        synthetic::CorpusSize::Patients(patients),
        17,
        &owner_ids,
    )
    .map_err(|e| e.to_string())?;
    let key_file = work.join("store.key");
    let key = StoreKey::generate_to_file(&key_file).map_err(|e| e.to_string())?;
    let store = work.join("alice-store");
    let mapping = OwnerMapping::from_file(&export.join("owners.csv")).map_err(|e| e.to_string())?;
    let ingest = Instant::now();
    ingest_folder(&export, &store, &key, &mapping, &IngestOptions::default())
        .map_err(|e| e.to_string())?;
    let ingest_secs = ingest.elapsed().as_secs_f64();
    eprintln!(
        "generated {} patients ({:.1} MB) and ingested them in {ingest_secs:.1} s",
        corpus.patients,
        corpus.bytes as f64 / 1e6
    );

    let mut net = Network::new(node_binary);
    start_hospitals(
        &mut net,
        &[
            "--fhir-store",
            &store.to_string_lossy(),
            "--fhir-store-key",
            &key_file.to_string_lossy(),
        ],
        &[],
    )?;
    let alice = net.node("alice");
    wait_until("block 1", Duration::from_secs(120), || {
        Ok((alice.best_number()? >= 1).then_some(()))
    })?;

    // The hospital enrols the owners (never funded: they sign their enrolment); they consent
    // for free; the hospital registers everything.
    for pair in &owners {
        enrol(alice, Alice, pair)?;
        send_all(alice, pair, vec![research_by_anyone()])?;
    }
    let register = Instant::now();
    register_records(node_binary, alice, &store)?;
    let register_secs = register.elapsed().as_secs_f64();
    let record_total = std::fs::read_to_string(store.join("registrations.ndjson"))
        .map_err(|e| e.to_string())?
        .lines()
        .count();
    eprintln!("registered {record_total} records of {owner_count} owners");

    let per_record: Balance = 1_000;
    dispatch_ok(
        alice,
        Alice,
        research_listing(
            &[],
            pallet_listing::PriceModel::PerRecord(per_record),
            record_total as u32,
        ),
    )?;
    dispatch_ok(
        alice,
        One,
        RuntimeCall::Delivery(pallet_delivery::Call::register_delivery_key {
            key: pallet_delivery::DeliveryKey(pallet_delivery::P256_GENERATOR_COMPRESSED),
        }),
    )?;
    dispatch_ok(
        alice,
        One,
        RuntimeCall::Escrow(pallet_escrow::Call::buy {
            listing: 0,
            max_price: per_record * record_total as u128,
            listing_version: 1,
        }),
    )?;
    let placed_at = u64::from(order_at(alice, 0, None)?.placed_at);
    wait_until("the order to be final", Duration::from_secs(120), || {
        Ok((alice.finalized_number()? >= placed_at).then_some(()))
    })?;
    let order_final = Instant::now();
    let receipt = wait_until(
        "the receipt to be final",
        Duration::from_secs(3_600),
        || {
            let finalized = alice.finalized_hash()?;
            Ok(order_at(alice, 0, Some(&finalized))?.receipt)
        },
    )?;
    let latency = order_final.elapsed().as_secs_f64();
    let peak_rss_mib = alice.peak_rss_kib().unwrap_or(0) as f64 / 1024.0;

    let text = format!(
        "delivery benchmark (release build, 4 validators on one 2-core machine)\n\
         patients: {}\n\
         export: {:.1} MB NDJSON, {record_total} records, {owner_count} owner accounts\n\
         ingest: {ingest_secs:.1} s\n\
         register-records: {register_secs:.1} s\n\
         records delivered: {}\n\
         sealed size: {:.1} MB\n\
         order finalized -> receipt finalized: {latency:.1} s\n\
         delivery throughput: {:.0} records/s, {:.2} MB/s of sealed output\n\
         custodian node peak RSS: {peak_rss_mib:.0} MiB\n\
         total run: {:.0} s\n",
        corpus.patients,
        corpus.bytes as f64 / 1e6,
        receipt.record_count,
        receipt.size as f64 / 1e6,
        f64::from(receipt.record_count) / latency,
        receipt.size as f64 / 1e6 / latency,
        started.elapsed().as_secs_f64(),
    );
    if let Some(dir) = results.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(results, &text).map_err(|e| e.to_string())?;
    print!("{text}");
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: bench_delivery <medledger-node> <patients> <results-file>");
        std::process::exit(2);
    }
    let Ok(patients) = args[2].parse() else {
        eprintln!("error: <patients> must be a number");
        std::process::exit(2);
    };
    if let Err(error) = run(&args[1], patients, Path::new(&args[3])) {
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
