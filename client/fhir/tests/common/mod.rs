//! Helpers shared by the integration tests (included with `mod common;`).
#![allow(dead_code)]

use medledger_fhir::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The checked-in corpus. The package folder is read when the test runs (cargo sets
/// `CARGO_MANIFEST_DIR`): a shared target directory may hold a test binary compiled in another
/// checkout, whose compile-time path is gone or stale.
pub fn corpus() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/corpus")
}

pub fn owners() -> OwnerMapping {
    OwnerMapping::from_file(&corpus().join("owners.csv")).expect("owners.csv is valid")
}

/// Every resource of the checked-in corpus (plain and gzip files), parsed.
pub fn corpus_resources(folder: &Path) -> Vec<Value> {
    let mut resources = Vec::new();
    for path in medledger_fhir::bulk::export_files(folder).unwrap() {
        medledger_fhir::bulk::for_each_line(&path, |_, line| {
            resources.push(serde_json::from_slice(line).unwrap());
            Ok(())
        })
        .unwrap();
    }
    resources
}

/// Resources of the US Core types written after the FHIR R4 examples
/// (`tests/r4-examples`); their patient is `pat-1001` of the corpus.
pub fn r4_examples() -> Vec<Value> {
    let path = corpus()
        .parent()
        .unwrap()
        .join("r4-examples/examples.ndjson");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Copies the export files of the corpus (not the helper files) into `to`.
pub fn copy_corpus(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for path in medledger_fhir::bulk::export_files(&corpus()).unwrap() {
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

pub struct Ingested {
    pub dir: tempfile::TempDir,
    pub store: PathBuf,
    pub key: StoreKey,
    pub report: IngestReport,
}

pub fn ingest(input: &Path) -> Ingested {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let key = StoreKey::from_bytes([42; 32]);
    let report = ingest_folder(input, &store, &key, &owners(), &IngestOptions::default()).unwrap();
    Ingested {
        dir,
        store,
        key,
        report,
    }
}

pub struct ConsentToEverything;

impl ConsentOracle for ConsentToEverything {
    fn consent_covers(&self, _: &ConsentQuery<'_>) -> bool {
        true
    }
}

pub fn buyer() -> AccountId {
    // Ferdie of the Substrate dev keyring.
    AccountId::from_ss58("5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL").unwrap()
}

pub fn research_sale() -> Sale {
    Sale {
        buyer: buyer(),
        purpose: Purpose::Research,
        sale_block: 100,
        delivery_block: None,
    }
}

/// De-identifies everything the store holds, with k-anonymity threshold `k`.
pub fn try_deliver_all(ingested: &Ingested, out: &Path, k: usize) -> Result<DeliverySummary> {
    try_deliver_with(ingested, out, &DeliveryOptions::new(k, 2026))
}

/// De-identifies everything the store holds, with `options`.
pub fn try_deliver_with(
    ingested: &Ingested,
    out: &Path,
    options: &DeliveryOptions,
) -> Result<DeliverySummary> {
    deidentify_delivery(
        &ingested.store,
        &ingested.key,
        &Profile::safe_harbor().unwrap(),
        &ListingFilter::default(),
        &research_sale(),
        &ConsentToEverything,
        out,
        options,
    )
}

/// De-identifies all `store` holds that `oracle` consents to, with `options`.
pub fn deliver_consented(
    store: &Path,
    key: &StoreKey,
    oracle: &dyn ConsentOracle,
    out: &Path,
    options: &DeliveryOptions,
) -> DeliverySummary {
    deidentify_delivery(
        store,
        key,
        &Profile::safe_harbor().unwrap(),
        &ListingFilter::default(),
        &research_sale(),
        oracle,
        out,
        options,
    )
    .unwrap()
}

/// A synthetic export of `patients` patients (default owners, or `owners`) ingested into
/// `dir/store` under `key`.
pub fn generated_store(
    dir: &Path,
    patients: u64,
    seed: u64,
    owners: &[String],
    key: &StoreKey,
) -> (PathBuf, IngestReport) {
    let export = dir.join("export");
    synthetic::generate_corpus(
        &export,
        synthetic::CorpusSize::Patients(patients),
        seed,
        owners,
    )
    .unwrap();
    let store = dir.join("store");
    let mapping = OwnerMapping::from_file(&export.join("owners.csv")).unwrap();
    let report = ingest_folder(&export, &store, key, &mapping, &IngestOptions::default()).unwrap();
    (store, report)
}

pub fn deliver_all(ingested: &Ingested, out: &Path, k: usize) -> DeliverySummary {
    try_deliver_all(ingested, out, k).unwrap()
}

/// Every file of a delivery, concatenated.
pub fn delivery_text(out: &Path) -> String {
    let mut names: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|path| std::fs::read_to_string(path).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every resource of a delivery.
pub fn delivery_resources(out: &Path) -> Vec<Value> {
    let mut resources = Vec::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ndjson") {
            for line in std::fs::read_to_string(&path).unwrap().lines() {
                resources.push(serde_json::from_str(line).unwrap());
            }
        }
    }
    resources
}

/// All string leaves of a JSON value.
pub fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(text) => out.push(text.clone()),
        Value::Array(items) => items.iter().for_each(|item| strings(item, out)),
        Value::Object(members) => members.values().for_each(|member| strings(member, out)),
        _ => {}
    }
}
