//! De-identification of the checked-in corpus: no identifier survives, references
//! resolve, deliveries cannot be joined, 90+ and ZIP3 rules, k-anonymity.

mod common;

use common::*;
use medledger_fhir::deid::AGE_90_OR_OVER_EXTENSION;
use medledger_fhir::*;
use serde_json::Value;
use std::collections::HashSet;

fn corpus_identifiers() -> Vec<String> {
    let listed = std::fs::read_to_string(corpus().join("identifiers.txt")).unwrap();
    let mut identifiers: Vec<String> = listed
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    // Every original id, and every full date anywhere in the corpus.
    for resource in corpus_resources(&corpus()) {
        identifiers.push(resource["id"].as_str().unwrap().to_string());
        let mut leaves = Vec::new();
        strings(&resource, &mut leaves);
        for leaf in leaves {
            let bytes = leaf.as_bytes();
            for start in 0..bytes.len().saturating_sub(9) {
                if !leaf.is_char_boundary(start) || !leaf.is_char_boundary(start + 10) {
                    continue;
                }
                let window = &leaf[start..start + 10];
                if medledger_fhir::resource::date_prefix_is_valid(window) {
                    identifiers.push(window.to_string());
                    identifiers.push(window[..7].to_string() + "-");
                }
            }
        }
    }
    identifiers.sort();
    identifiers.dedup();
    identifiers
}

/// `text` with every run of exactly 32 lowercase hex digits (a pseudonym) or 64 (the
/// manifest's SHA-256 of a file holding pseudonyms) replaced by `#`.
fn without_pseudonyms(text: &str) -> String {
    let is_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if is_hex(c) {
            run.push(c);
            continue;
        }
        out.push_str(if matches!(run.len(), 32 | 64) {
            "#"
        } else {
            &run
        });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

#[test]
fn no_identifier_of_the_corpus_survives_anywhere_in_the_output() {
    let ingested = ingest(&corpus());
    let out = ingested.dir.path().join("delivery");
    let summary = deliver_all(&ingested, &out, 1);
    // Pseudonyms are 32 random hex digits, and the manifest's file digests change with
    // them; one of them containing, say, a ZIP code's five digits is chance, not a leak.
    let text = without_pseudonyms(&delivery_text(&out));
    let identifiers = corpus_identifiers();
    assert!(
        identifiers.len() > 150,
        "the check must cover the corpus ({} values)",
        identifiers.len()
    );
    let survivors: Vec<String> = identifiers
        .iter()
        .filter_map(|id| {
            let at = text.find(id.as_str())?;
            let from = text.floor_char_boundary(at.saturating_sub(60));
            let to = text.ceil_char_boundary((at + id.len() + 60).min(text.len()));
            Some(format!("{id} in …{}…", &text[from..to]))
        })
        .collect();
    assert!(survivors.is_empty(), "identifiers survived: {survivors:?}");
    // Free text is gone, not merely some of it.
    for resource in delivery_resources(&out) {
        for free_text in [
            "text",
            "note",
            "presentedForm",
            "photo",
            "conclusion",
            "identifier",
            "name",
            "telecom",
        ] {
            assert!(
                resource.get(free_text).is_none(),
                "{free_text} in {resource}"
            );
        }
    }
    // And the delivery is not trivially empty: every record of the enrolled patients is there.
    let enrolled: HashSet<String> = ["pat-1001", "pat-1002", "pat-1003", "pat-1004", "pat-1005"]
        .map(String::from)
        .into();
    let expected_records = corpus_resources(&corpus())
        .iter()
        .filter(|r| r["resourceType"] != "Patient")
        .filter(|r| {
            enrolled.contains(
                r["subject"]["reference"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("Patient/"),
            )
        })
        .count() as u64;
    assert_eq!(summary.manifest.records_delivered, expected_records);
    assert_eq!(summary.manifest.counts.get("Patient"), Some(&5));
}

#[test]
fn every_reference_in_the_output_resolves_inside_it() {
    let ingested = ingest(&corpus());
    let out = ingested.dir.path().join("delivery");
    deliver_all(&ingested, &out, 1);
    let resources = delivery_resources(&out);
    let keys: HashSet<String> = resources
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect();
    let mut references = Vec::new();
    for resource in &resources {
        collect_references(resource, &mut references);
    }
    let clinical = resources
        .iter()
        .filter(|r| r["resourceType"] != "Patient")
        .count();
    assert!(
        references.len() >= clinical,
        "every clinical resource keeps its subject"
    );
    for reference in references {
        assert!(keys.contains(&reference), "{reference} does not resolve");
    }
}

fn collect_references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            if let Some(Value::String(reference)) = members.get("reference") {
                out.push(reference.clone());
            }
            members
                .values()
                .for_each(|member| collect_references(member, out));
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, out)),
        _ => {}
    }
}

#[test]
fn two_deliveries_of_the_same_records_share_no_pseudonym() {
    let ingested = ingest(&corpus());
    let (first, second) = (ingested.dir.path().join("a"), ingested.dir.path().join("b"));
    let manifest_a = deliver_all(&ingested, &first, 1).manifest;
    let manifest_b = deliver_all(&ingested, &second, 1).manifest;
    assert_eq!(manifest_a.counts, manifest_b.counts);
    let ids = |out| {
        delivery_resources(out)
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect::<HashSet<_>>()
    };
    let (ids_a, ids_b) = (ids(&first), ids(&second));
    assert_eq!(ids_a.len() as u64, manifest_a.counts.values().sum::<u64>());
    assert!(ids_a.is_disjoint(&ids_b));
    // No id of one delivery appears anywhere in the other, references included.
    let text_b = delivery_text(&second);
    assert!(ids_a.iter().all(|id| !text_b.contains(id.as_str())));
}

#[test]
fn patients_aged_90_or_over_lose_every_age_revealing_year_and_small_zip3_areas_become_000() {
    let ingested = ingest(&corpus());
    let out = ingested.dir.path().join("delivery");
    deliver_all(&ingested, &out, 1);
    let resources = delivery_resources(&out);
    let elders: Vec<&Value> = resources
        .iter()
        .filter(|r| {
            r["extension"]
                .as_array()
                .is_some_and(|e| e.iter().any(|x| x["url"] == AGE_90_OR_OVER_EXTENSION))
        })
        .collect();
    // The corpus has exactly one patient born before 1936 (1931).
    assert_eq!(elders.len(), 1);
    let elder = elders[0];
    assert!(elder.get("birthDate").is_none());
    assert_eq!(
        elder["address"][0]["postalCode"], "000",
        "ZIP 03601 is in a restricted ZIP3 area"
    );
    let elder_ref = format!("Patient/{}", elder["id"].as_str().unwrap());
    let ages: Vec<&Value> = resources
        .iter()
        .filter(|r| r["subject"]["reference"] == elder_ref.as_str())
        .filter_map(|r| r.get("valueQuantity"))
        .filter(|q| q["code"] == "a")
        .collect();
    assert_eq!(ages.len(), 1);
    assert_eq!(ages[0]["comparator"], ">=");
    assert_eq!(ages[0]["value"].as_f64(), Some(90.0));
    // Everyone else keeps a birth year and a ZIP3.
    for patient in resources
        .iter()
        .filter(|r| r["resourceType"] == "Patient" && r["id"] != elder["id"])
    {
        assert_eq!(patient["birthDate"].as_str().map(str::len), Some(4));
        assert_eq!(
            patient["address"][0]["postalCode"].as_str().map(str::len),
            Some(3)
        );
    }
}

#[test]
fn dates_are_reduced_to_years() {
    let ingested = ingest(&corpus());
    let out = ingested.dir.path().join("delivery");
    deliver_all(&ingested, &out, 1);
    for resource in delivery_resources(&out) {
        for element in [
            "effectiveDateTime",
            "issued",
            "authoredOn",
            "onsetDateTime",
            "recordedDate",
            "birthDate",
        ] {
            if let Some(date) = resource.get(element) {
                let date = date.as_str().unwrap();
                assert!(
                    date.len() == 4 && date.bytes().all(|b| b.is_ascii_digit()),
                    "{element} = {date}"
                );
            }
        }
    }
}

#[test]
fn classes_below_the_k_threshold_are_suppressed_and_the_manifest_reports_k() {
    let ingested = ingest(&corpus());
    let enrolled = 5u64;
    // The only patient aged 90 or over carries the 90+ marker whatever is generalized, so
    // at k = 2 he cannot share a class: someone is always suppressed.
    let k = 2;
    let out = ingested.dir.path().join("delivery");
    let manifest = deliver_all(&ingested, &out, k).manifest;
    assert!(manifest.patients_suppressed >= 1);
    assert_eq!(
        manifest.patients_delivered + manifest.patients_suppressed,
        enrolled
    );
    assert_eq!(
        manifest.records_delivered + manifest.records_suppressed,
        manifest.records_selected
    );
    let report = k_anonymity_report(&out).unwrap();
    assert_eq!(report.k, manifest.k);
    assert!(report.classes.values().all(|n| *n >= k));
    // The manifest on disk is the one returned, and lists each file with its digest.
    let on_disk: DeliveryManifest =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(on_disk, manifest);
    for file in &manifest.files {
        let bytes = std::fs::read(out.join(&file.name)).unwrap();
        assert_eq!(bytes.len() as u64, file.bytes);
        use blake2::Digest;
        assert_eq!(
            hex::encode(blake2::Blake2b::<blake2::digest::consts::U32>::digest(
                &bytes
            )),
            file.blake2b_256
        );
    }
}

#[test]
fn delivering_into_a_used_folder_is_refused() {
    let ingested = ingest(&corpus());
    let out = ingested.dir.path().join("delivery");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("old.ndjson"), "{}").unwrap();
    let result = try_deliver_all(&ingested, &out, 1);
    assert!(matches!(result, Err(Error::OutputNotEmpty(_))));
}
