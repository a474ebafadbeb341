//! What a delivery reports as delivered (the custodian's opening) is exactly what the buyer
//! gets, the synthetic export generator, and consents' category tags.

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
    let owners: Vec<String> = OWNERS.iter().map(|s| s.to_string()).collect();
    let key = StoreKey::from_bytes([7; 32]);
    let (store, _) = generated_store(dir.path(), 6, 9, &owners, &key);

    let consenting = AccountId::from_ss58(OWNERS[1]).unwrap();
    let out = dir.path().join("delivery");
    let summary = deliver_consented(
        &store,
        &key,
        &OnlyOwner(consenting.clone()),
        &out,
        &DeliveryOptions::new(1, 2026),
    );

    let registered = registrations(&store);
    // (record id, commitment, owner's public key), all hex.
    let expected: BTreeSet<(String, String, String)> = registered
        .iter()
        .filter(|(_, _, owner)| owner == OWNERS[1])
        .map(|(record, commitment, owner)| {
            let owner = AccountId::from_ss58(owner).unwrap();
            (
                record.clone(),
                commitment.clone(),
                hex::encode(owner.public_key()),
            )
        })
        .collect();
    let delivered: BTreeSet<(String, String, String)> = summary
        .delivered_records
        .iter()
        .map(|record| {
            (
                record.record_id.to_hex(),
                hex::encode(record.commitment),
                hex::encode(record.owner),
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
    let key = StoreKey::from_bytes([9; 32]);
    let (store, _) = generated_store(dir.path(), 4, 2, &[], &key);
    // Four patients cannot make a class of 50: everyone is suppressed.
    let out = dir.path().join("delivery");
    let summary = deliver_consented(
        &store,
        &key,
        &ConsentToEverything,
        &out,
        &DeliveryOptions::new(50, 2026),
    );
    assert!(summary.manifest.records_suppressed > 0);
    assert!(summary.delivered_records.is_empty());
}

#[test]
fn category_tags_are_a_domain_separated_blake2b_of_salt_and_code_and_differ_per_owner() {
    let key = StoreKey::from_bytes([7; 32]);
    let (alice, bob) = (key.category_salt(&[1; 32]), key.category_salt(&[2; 32]));
    assert_ne!(alice, bob, "each owner has its own salt");
    assert_ne!(
        alice,
        StoreKey::from_bytes([8; 32]).category_salt(&[1; 32]),
        "and it depends on the hospital's key"
    );
    for code in [
        "observation",
        "observation:laboratory",
        "condition",
        "encounter:amb",
    ] {
        // Independently: BLAKE2b-256 (blake2b_simd) over prefix ‖ salt ‖ code.
        let digest = blake2b_simd::Params::new()
            .hash_length(32)
            .to_state()
            .update(b"medledger:category:v2")
            .update(&alice.0)
            .update(code.as_bytes())
            .finalize();
        assert_eq!(category_tag(&alice, code).as_slice(), digest.as_bytes());
        assert_ne!(category_tag(&alice, code), category_tag(&bob, code));
        let codes = common_category_codes();
        let named = category_of_tag(&alice, &category_tag(&alice, code), &codes);
        assert_eq!(named, codes.iter().find(|c| *c == code).map(String::as_str));
        assert_eq!(
            category_of_tag(&bob, &category_tag(&alice, code), &codes),
            None,
            "another owner's salt names nothing"
        );
    }
    // The salt is a keyed BLAKE2b-256 of the owner under the store key.
    let mac = blake2b_simd::Params::new()
        .hash_length(32)
        .key(&[7; 32])
        .to_state()
        .update(b"medledger:category-salt:v1")
        .update(&[1; 32])
        .finalize();
    assert_eq!(alice.0.as_slice(), mac.as_bytes());
}

#[test]
fn generated_exports_hold_allergies_procedures_and_immunizations_delivered_coded() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::from_bytes([5; 32]);
    let (store, report) = generated_store(dir.path(), 3, 5, &[], &key);
    assert_eq!(report.issue_count, 0, "{:?}", report.issues);
    let out = dir.path().join("delivery");
    deliver_consented(
        &store,
        &key,
        &ConsentToEverything,
        &out,
        &DeliveryOptions::new(1, 2026),
    );
    let delivered = delivery_resources(&out);
    for (resource_type, code_element) in [
        ("AllergyIntolerance", "code"),
        ("Procedure", "code"),
        ("Immunization", "vaccineCode"),
    ] {
        let of_type: Vec<&serde_json::Value> = delivered
            .iter()
            .filter(|r| r["resourceType"] == resource_type)
            .collect();
        assert_eq!(of_type.len(), 3, "{resource_type}: one per patient");
        for resource in of_type {
            let codings = resource[code_element]["coding"].as_array();
            assert!(codings.is_some_and(|c| !c.is_empty()), "{resource}");
            for dropped in ["text", "note", "identifier", "lotNumber", "performer"] {
                assert!(resource.get(dropped).is_none(), "{dropped} in {resource}");
            }
        }
    }
}

/// The web portal names a patient's category consents from its own copy of the common codes
/// (`portal/src/categories.ts`, `COMMON_CATEGORIES`): it must be this list, in this order.
#[test]
fn the_portal_names_the_same_common_categories() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../portal/src/categories.ts");
    let source = std::fs::read_to_string(&path).expect("the portal's categories.ts");
    let list = source
        .split("export const COMMON_CATEGORIES: string[] = [")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("categories.ts declares COMMON_CATEGORIES");
    let portal: Vec<String> = list
        .split(',')
        .map(|item| item.trim().trim_matches('\'').to_string())
        .filter(|item| !item.is_empty())
        .collect();
    assert_eq!(portal, common_category_codes());
}
