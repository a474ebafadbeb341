//! What a delivery reports as delivered (the custodian's opening) is exactly what the buyer
//! gets, the synthetic export generator, and the chain's category ids.

mod common;

use common::*;
use medledger_fhir::*;
use std::collections::BTreeSet;

const OWNERS: [&str; 3] = [
    "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
    "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
    "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y",
];

/// Consent from one owner only.
struct OnlyOwner(AccountId);

impl ConsentOracle for OnlyOwner {
    fn consent_covers(&self, query: &ConsentQuery<'_>) -> bool {
        *query.owner == self.0
    }
}

fn registrations(store: &std::path::Path) -> BTreeSet<(String, String, String)> {
    std::fs::read_to_string(store.join("registrations.ndjson"))
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let field = |name: &str| value[name].as_str().unwrap().to_string();
            (field("record_id"), field("commitment"), field("owner"))
        })
        .collect()
}

#[test]
fn generated_exports_assign_owners_round_robin_and_stop_at_the_patient_count() {
    let dir = tempfile::tempdir().unwrap();
    let owners: Vec<String> = OWNERS.iter().map(|s| s.to_string()).collect();
    let summary =
        synthetic::generate_corpus(dir.path(), synthetic::CorpusSize::Patients(5), 3, &owners)
            .unwrap();
    assert_eq!(summary.patients, 5);
    let mapping = std::fs::read_to_string(dir.path().join("owners.csv")).unwrap();
    let assigned: Vec<&str> = mapping
        .lines()
        .map(|line| line.split_once(',').unwrap().1)
        .collect();
    assert_eq!(
        assigned,
        vec![OWNERS[0], OWNERS[1], OWNERS[2], OWNERS[0], OWNERS[1]]
    );
    let patients = std::fs::read_to_string(dir.path().join("Patient.ndjson")).unwrap();
    assert_eq!(patients.lines().count(), 5);
}

#[test]
fn delivered_records_are_the_consented_records_that_reach_the_buyer() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    let owners: Vec<String> = OWNERS.iter().map(|s| s.to_string()).collect();
    synthetic::generate_corpus(&export, synthetic::CorpusSize::Patients(6), 9, &owners).unwrap();
    let store = dir.path().join("store");
    let key = StoreKey::from_bytes([7; 32]);
    let mapping = OwnerMapping::from_file(&export.join("owners.csv")).unwrap();
    ingest_folder(&export, &store, &key, &mapping, &IngestOptions::default()).unwrap();

    let consenting = AccountId::from_ss58(OWNERS[1]).unwrap();
    let out = dir.path().join("delivery");
    let summary = deidentify_delivery(
        &store,
        &key,
        &Profile::safe_harbor().unwrap(),
        &ListingFilter::default(),
        &research_sale(),
        &OnlyOwner(consenting.clone()),
        &out,
        &DeliveryOptions::new(1, 2026),
    )
    .unwrap();

    let registered = registrations(&store);
    let expected: BTreeSet<(String, String, String)> = registered
        .iter()
        .filter(|(_, _, owner)| owner == OWNERS[1])
        .cloned()
        .collect();
    let delivered: BTreeSet<(String, String, String)> = summary
        .delivered_records
        .iter()
        .map(|record| {
            (
                record.record_id.to_hex(),
                record.commitment.clone(),
                record.owner.to_string(),
            )
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(delivered, expected, "every consented record, nothing else");
    assert_eq!(
        summary.delivered_records.len() as u64,
        summary.manifest.records_delivered
    );
    // The buyer's files hold as many records (Patient context aside).
    let lines: usize = summary
        .manifest
        .files
        .iter()
        .filter(|file| file.name != "Patient.ndjson")
        .map(|file| {
            std::fs::read_to_string(out.join(&file.name))
                .unwrap()
                .lines()
                .count()
        })
        .sum();
    assert_eq!(lines, summary.delivered_records.len());
}

#[test]
fn suppressed_patients_are_not_reported_as_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (store, key) = ingest_synthetic(dir.path(), 4, 2);
    // Four patients cannot make a class of 50: everyone is suppressed.
    let summary = deidentify_delivery(
        &store,
        &key,
        &Profile::safe_harbor().unwrap(),
        &ListingFilter::default(),
        &research_sale(),
        &ConsentToEverything,
        &dir.path().join("delivery"),
        &DeliveryOptions::new(50, 2026),
    )
    .unwrap();
    assert!(summary.manifest.records_suppressed > 0);
    assert!(summary.delivered_records.is_empty());
}

#[test]
fn category_ids_are_the_first_four_bytes_of_a_domain_separated_blake2b() {
    for code in [
        "observation",
        "observation:laboratory",
        "condition",
        "encounter:amb",
    ] {
        let digest = blake2b_simd::Params::new()
            .hash_length(32)
            .to_state()
            .update(b"medledger:category:v1")
            .update(code.as_bytes())
            .finalize();
        let bytes = digest.as_bytes();
        assert_eq!(
            category_id(code),
            u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
        );
    }
    assert_ne!(
        category_id("observation"),
        category_id("observation:laboratory")
    );
}
