//! k-anonymity of deliveries (generalization before suppression, every written
//! quasi-identifier counted) and delivery order (a keyed permutation, not the store's).

mod common;

use common::*;
use medledger_fhir::deid::AGE_90_OR_OVER_EXTENSION;
use medledger_fhir::kanonymity::{AddressLevel, BirthYearLevel, BIRTH_YEAR_RANGE_EXTENSION};
use medledger_fhir::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

/// The test's own class of a delivered Patient: everything written about it but the id,
/// addresses as a set.
fn class_of(patient: &Value) -> String {
    let mut patient = patient.clone();
    patient.as_object_mut().unwrap().remove("id");
    if let Some(addresses) = patient.get_mut("address").and_then(Value::as_array_mut) {
        addresses.sort_by_key(|a| a.to_string());
        addresses.dedup();
    }
    patient.to_string()
}

fn delivered_patients(out: &Path) -> Vec<Value> {
    let path = out.join("Patient.ndjson");
    if !path.exists() {
        return Vec::new();
    }
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn class_sizes(patients: &[Value]) -> BTreeMap<String, usize> {
    let mut sizes = BTreeMap::new();
    for patient in patients {
        *sizes.entry(class_of(patient)).or_default() += 1;
    }
    sizes
}

/// Writes an export of `patients` (each with the observations `observations_of` gives),
/// owned round-robin by the development accounts, and ingests it.
fn ingest_patients(
    dir: &Path,
    patients: &[Value],
    observations_of: impl Fn(usize, &str) -> Vec<Value>,
) -> (std::path::PathBuf, StoreKey) {
    let export = dir.join("export");
    std::fs::create_dir_all(&export).unwrap();
    let mut patient_file = std::fs::File::create(export.join("Patient.ndjson")).unwrap();
    let mut observation_file = std::fs::File::create(export.join("Observation.ndjson")).unwrap();
    let mut owners = String::new();
    for (n, patient) in patients.iter().enumerate() {
        let id = patient["id"].as_str().unwrap();
        writeln!(patient_file, "{patient}").unwrap();
        for observation in observations_of(n, id) {
            writeln!(observation_file, "{observation}").unwrap();
        }
        let owner = synthetic::DEFAULT_OWNERS[n % synthetic::DEFAULT_OWNERS.len()];
        owners.push_str(&format!("{id},{owner}\n"));
    }
    std::fs::write(export.join("owners.csv"), owners).unwrap();
    let store = dir.join("store");
    let key = StoreKey::from_bytes([5; 32]);
    let mapping = OwnerMapping::from_file(&export.join("owners.csv")).unwrap();
    let report = ingest_folder(&export, &store, &key, &mapping, &IngestOptions::default()).unwrap();
    assert_eq!(report.issue_count, 0);
    (store, key)
}

fn observation(id: String, patient: &str, value: u64) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]},
        "subject": {"reference": format!("Patient/{patient}")},
        "valueQuantity": {"value": value, "system": "http://unitsofmeasure.org", "code": "mg/dL"}})
}

#[test]
fn generalizing_first_delivers_at_least_95_percent_of_a_2000_patient_export_at_k_5() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::from_bytes([8; 32]);
    let (store, _) = generated_store(dir.path(), 2000, 7, &[], &key);
    let out = dir.path().join("delivery");
    let manifest = deliver_consented(
        &store,
        &key,
        &ConsentToEverything,
        &out,
        &DeliveryOptions::new(5, 2026),
    )
    .manifest;

    assert_eq!(
        manifest.patients_delivered + manifest.patients_suppressed,
        2000
    );
    assert!(
        manifest.patients_delivered >= 1900,
        "only {} of 2000 patients delivered",
        manifest.patients_delivered
    );
    // k holds over what was actually written, every address included.
    let patients = delivered_patients(&out);
    assert_eq!(patients.len() as u64, manifest.patients_delivered);
    let sizes = class_sizes(&patients);
    assert!(sizes.values().all(|size| *size >= 5), "{sizes:?}");
    assert_eq!(manifest.k, sizes.values().copied().min());
    assert!(manifest.k_threshold == 5 && manifest.max_suppression == 0.05);
    assert!(manifest.information_loss > 0.0 && manifest.information_loss < 1.0);

    // The written Patients carry the generalization the manifest reports, FHIR-valid.
    let generalization = manifest.generalization;
    assert_ne!(
        (generalization.birth_year, generalization.address),
        (BirthYearLevel::Year, AddressLevel::Zip3),
        "exact years and ZIP3s cannot reach k = 5 for 95% of this export"
    );
    let width = match generalization.birth_year {
        BirthYearLevel::FiveYearBand => Some(5),
        BirthYearLevel::TenYearBand => Some(10),
        BirthYearLevel::TwentyYearBand => Some(20),
        _ => None,
    };
    for patient in &patients {
        let ranges: Vec<&Value> = patient["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["url"] == BIRTH_YEAR_RANGE_EXTENSION)
            .collect();
        let over_90 = patient["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["url"] == AGE_90_OR_OVER_EXTENSION);
        match width {
            Some(width) => {
                assert!(patient.get("birthDate").is_none());
                if !over_90 {
                    assert_eq!(ranges.len(), 1, "{patient}");
                    let year = |bound: &str| -> i32 {
                        ranges[0]["valuePeriod"][bound]
                            .as_str()
                            .unwrap()
                            .parse()
                            .unwrap()
                    };
                    assert_eq!(year("end") - year("start") + 1, width);
                }
            }
            None => assert!(ranges.is_empty()),
        }
        for address in patient["address"].as_array().into_iter().flatten() {
            assert_eq!(
                address.get("postalCode").is_some(),
                generalization.address == AddressLevel::Zip3
            );
            assert!(address["state"].is_string());
        }
        if generalization.address == AddressLevel::Removed {
            assert!(patient.get("address").is_none());
        }
    }
    let on_disk: DeliveryManifest =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(on_disk, manifest);
}

#[test]
fn every_written_address_counts_toward_k() {
    // Twelve men born in 1970 whose first address is the same; six have moved from a
    // second address in a state of its own.
    let states = [
        ("NY", "10027"),
        ("IL", "60614"),
        ("CA", "94110"),
        ("GA", "30307"),
        ("WA", "98103"),
        ("TX", "73301"),
    ];
    let patients: Vec<Value> = (0..12)
        .map(|n| {
            let mut addresses =
                vec![json!({"state": "MA", "postalCode": "02139", "country": "US"})];
            if let Some((state, zip)) = states.get(n) {
                addresses.push(
                    json!({"use": "old", "state": state, "postalCode": zip, "country": "US"}),
                );
            }
            json!({"resourceType": "Patient", "id": format!("m{n}"), "gender": "male",
                "birthDate": "1970-01-01", "address": addresses})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (store, key) = ingest_patients(dir.path(), &patients, |n, id| {
        vec![observation(format!("o{n}"), id, 100)]
    });
    let out = dir.path().join("delivery");
    let mut options = DeliveryOptions::new(3, 2026);
    options.max_suppression = 0.0;
    let manifest = deliver_consented(&store, &key, &ConsentToEverything, &out, &options).manifest;

    let patients = delivered_patients(&out);
    let sizes = class_sizes(&patients);
    assert!(sizes.values().all(|size| *size >= 3), "{sizes:?}");
    assert_eq!(manifest.patients_suppressed, 0);
    assert_eq!(patients.len(), 12);
    // A state seen once would single its patient out: addresses were generalized away.
    let written_states: HashSet<String> = patients
        .iter()
        .flat_map(|p| p["address"].as_array().cloned().unwrap_or_default())
        .map(|a| a["state"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(states
        .iter()
        .all(|(state, _)| !written_states.contains(*state)));
    assert_eq!(manifest.generalization.address, AddressLevel::Removed);
}

#[test]
fn bad_delivery_options_are_refused_before_anything_is_written() {
    let ingested = ingest(&corpus());
    for options in [
        DeliveryOptions::new(0, 2026),
        DeliveryOptions {
            max_suppression: 1.5,
            ..DeliveryOptions::new(5, 2026)
        },
    ] {
        let out = ingested.dir.path().join("refused");
        let result = try_deliver_with(&ingested, &out, &options);
        assert!(matches!(result, Err(Error::BadDeliveryOptions(_))));
        assert!(!out.exists());
    }
}

/// Consent from some owners only.
struct Owners(Vec<AccountId>);

impl ConsentOracle for Owners {
    fn consent_covers(&self, query: &ConsentQuery<'_>) -> bool {
        self.0.contains(query.owner)
    }
}

/// Spearman's rank correlation of paired values (no ties).
fn rank_correlation(pairs: &[(usize, usize)]) -> f64 {
    let ranks = |values: Vec<usize>| {
        let mut order: Vec<usize> = (0..values.len()).collect();
        order.sort_by_key(|i| values[*i]);
        let mut ranks = vec![0f64; values.len()];
        for (rank, i) in order.into_iter().enumerate() {
            ranks[i] = rank as f64;
        }
        ranks
    };
    let a = ranks(pairs.iter().map(|p| p.0).collect());
    let b = ranks(pairs.iter().map(|p| p.1).collect());
    let n = pairs.len() as f64;
    let d2: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

#[test]
fn two_deliveries_of_overlapping_cohorts_cannot_be_aligned_by_position() {
    // 400 patients, each with one observation whose value (1000 + n) tells the test who
    // it is; patient n is owned by development account n mod 4.
    let patients: Vec<Value> = (0..400)
        .map(|n| {
            json!({"resourceType": "Patient", "id": format!("p{n:04}"), "gender": "female",
            "birthDate": "1980-05-05"})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (store, key) = ingest_patients(dir.path(), &patients, |n, id| {
        vec![observation(format!("o{n:04}"), id, 1000 + n as u64)]
    });
    let owner = |i: usize| AccountId::from_ss58(synthetic::DEFAULT_OWNERS[i]).unwrap();
    // Buyer A gets owners 0–2, buyer B owners 1–3: 200 patients in common.
    let positions = |name: &str, owners: Vec<AccountId>| -> HashMap<u64, usize> {
        let out = dir.path().join(name);
        deliver_consented(
            &store,
            &key,
            &Owners(owners),
            &out,
            &DeliveryOptions::new(1, 2026),
        );
        std::fs::read_to_string(out.join("Observation.ndjson"))
            .unwrap()
            .lines()
            .enumerate()
            .map(|(position, line)| {
                let value: Value = serde_json::from_str(line).unwrap();
                (
                    value["valueQuantity"]["value"].as_u64().unwrap() - 1000,
                    position,
                )
            })
            .collect()
    };
    let a = positions("a", vec![owner(0), owner(1), owner(2)]);
    let b = positions("b", vec![owner(1), owner(2), owner(3)]);
    assert_eq!((a.len(), b.len()), (300, 300));
    let common: Vec<(usize, usize)> = a
        .iter()
        .filter_map(|(n, at)| b.get(n).map(|bt| (*at, *bt)))
        .collect();
    assert_eq!(common.len(), 200);
    // For 200 independent orders |rho| has a standard deviation of 0.07; 0.3 is over four
    // of them. Positions in store order would give exactly 1.
    let across = rank_correlation(&common);
    assert!(across.abs() < 0.3, "the deliveries align: rho = {across}");
    for delivery in [&a, &b] {
        let store_order: Vec<(usize, usize)> =
            delivery.iter().map(|(n, at)| (*n as usize, *at)).collect();
        let rho = rank_correlation(&store_order);
        assert!(rho.abs() < 0.3, "a delivery follows the store: rho = {rho}");
    }
}

#[test]
fn exact_ages_are_withheld_once_birth_years_are_banded() {
    // Twenty women born 1970–1989, one a year, at one address, each with her age at a visit
    // in 2020 (which tells her birth year); and one born in 1930 with her age in 2000.
    let birth_years: Vec<u64> = (1970..1990).chain([1930]).collect();
    let visit_year = |birth_year: u64| if birth_year < 1936 { 2000 } else { 2020 };
    let patients: Vec<Value> = birth_years
        .iter()
        .enumerate()
        .map(|(n, year)| {
            json!({"resourceType": "Patient", "id": format!("w{n}"), "gender": "female",
                "birthDate": format!("{year}-03-01"),
                "address": [{"state": "MA", "postalCode": "02139", "country": "US"}]})
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let (store, key) = ingest_patients(dir.path(), &patients, |n, id| {
        let visit = visit_year(birth_years[n]);
        vec![
            json!({"resourceType": "Observation", "id": format!("age{n}"), "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "30525-0"}]},
            "subject": {"reference": format!("Patient/{id}")},
            "effectiveDateTime": format!("{visit}-06-01"),
            "valueQuantity": {"value": visit - birth_years[n], "system": "http://unitsofmeasure.org", "code": "a"}}),
        ]
    });
    let deliver = |name: &str, k: usize| {
        let out = dir.path().join(name);
        let manifest = deliver_consented(
            &store,
            &key,
            &ConsentToEverything,
            &out,
            &DeliveryOptions::new(k, 2026),
        )
        .manifest;
        let observations: Vec<Value> = delivery_resources(&out)
            .into_iter()
            .filter(|r| r["resourceType"] == "Observation")
            .collect();
        (manifest, observations)
    };

    // Exact birth years: the ages say no more and are delivered, but for the patient of 90
    // or more, whose birth year is removed.
    let (manifest, observations) = deliver("exact", 1);
    assert_eq!(manifest.generalization.birth_year, BirthYearLevel::Year);
    assert_eq!(observations.len(), 21);
    for observation in &observations {
        let elder = observation["effectiveDateTime"] == "2000";
        assert_eq!(
            observation.get("valueQuantity").is_none(),
            elder,
            "{observation}"
        );
    }

    // k = 5 needs 5-year bands (the 90+ patient, alone in her class, is suppressed): an
    // exact age would undo them, so only the coded observations are delivered.
    let (manifest, observations) = deliver("banded", 5);
    assert_eq!(
        manifest.generalization.birth_year,
        BirthYearLevel::FiveYearBand
    );
    assert_eq!(manifest.patients_delivered, 20);
    assert_eq!(observations.len(), 20);
    for observation in &observations {
        assert!(observation.get("valueQuantity").is_none(), "{observation}");
        assert_eq!(observation["code"]["coding"][0]["code"], "30525-0");
    }
}
