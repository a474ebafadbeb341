//! Docking and collection: per-line issues, grouping in bounded memory, owners,
//! commitments, encryption at rest.

mod common;

use common::*;
use flate2::write::GzEncoder;
use medledger_fhir::collect::{read_all_records, read_issues, ISSUES_FILE, REGISTRATIONS_FILE};
use medledger_fhir::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::Write;

#[test]
fn every_kind_of_bad_line_is_reported_and_the_rest_is_processed() {
    let baseline = ingest(&corpus());
    assert_eq!(
        baseline.report.issue_count, 0,
        "the corpus itself is clean: {:?}",
        baseline.report.issues
    );

    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export");
    copy_corpus(&input);
    let good_obs = json!({"resourceType": "Observation", "id": "obs-extra", "status": "final",
        "subject": {"reference": "Patient/pat-1001"}, "effectiveDateTime": "2024-02-02"});
    let lines = [
        good_obs.to_string(),                                                                     // 1
        "{\"resourceType\": \"Observation\", \"id\": ".to_string(),                               // 2 malformed
        "[1, 2, 3]".to_string(),                                                                  // 3 not an object
        json!({"resourceType": "Practitioner", "id": "prac-77"}).to_string(),                     // 4 unknown type
        json!({"resourceType": "Observation", "id": "bad id!", "subject": {"reference": "Patient/pat-1001"}}).to_string(), // 5
        json!({"resourceType": "Observation", "id": "obs-ghost", "subject": {"reference": "Patient/ghost"}}).to_string(), // 6
        json!({"resourceType": "Observation", "id": "obs-dangling", "subject": {"reference": "Patient/pat-1003"},
               "encounter": {"reference": "Encounter/enc-missing"}}).to_string(),                 // 7 broken, kept
        good_obs.to_string(),                                                                     // 8 duplicate
        "".to_string(),                                                                           // 9 blank: ignored
        json!({"resourceType": "Condition", "id": "cond-extra", "subject": {"reference": "Patient/pat-1004"}}).to_string(), // 10
    ];
    let mut gz = GzEncoder::new(
        std::fs::File::create(input.join("Extra.ndjson.gz")).unwrap(),
        Default::default(),
    );
    gz.write_all((lines.join("\n") + "\n").as_bytes()).unwrap();
    gz.finish().unwrap();

    let dir2 = tempfile::tempdir().unwrap();
    let key = StoreKey::from_bytes([42; 32]);
    let report = ingest_folder(
        &input,
        &dir2.path().join("store"),
        &key,
        &owners(),
        &IngestOptions::default(),
    )
    .unwrap();
    let on_line = |line: u64| -> Vec<&IssueKind> {
        report
            .issues
            .iter()
            .filter(|i| i.file == "Extra.ndjson.gz" && i.line == line)
            .map(|i| &i.kind)
            .collect()
    };
    assert!(matches!(on_line(2)[..], [IssueKind::MalformedJson { .. }]));
    assert!(matches!(on_line(3)[..], [IssueKind::MalformedJson { .. }]));
    assert!(
        matches!(on_line(4)[..], [IssueKind::UnknownResourceType { found }] if found == "Practitioner")
    );
    assert!(matches!(on_line(5)[..], [IssueKind::InvalidId { .. }]));
    assert!(
        matches!(on_line(6)[..], [IssueKind::BrokenReference { reference }] if reference == "Patient/ghost")
    );
    assert!(
        matches!(on_line(7)[..], [IssueKind::BrokenReference { reference }] if reference == "Encounter/enc-missing")
    );
    assert!(
        matches!(on_line(8)[..], [IssueKind::DuplicateResource { key }] if key == "Observation/obs-extra")
    );
    assert!(on_line(1).is_empty() && on_line(9).is_empty() && on_line(10).is_empty());
    assert_eq!(report.issue_count, 7);
    // Lines 1, 7 and 10 are records of enrolled patients, on top of the corpus.
    assert_eq!(report.records_stored, baseline.report.records_stored + 3);
    // The issues file has them all.
    let mut from_file = Vec::new();
    read_issues(&dir2.path().join("store"), &key, |issue| {
        from_file.push(issue)
    })
    .unwrap();
    assert_eq!(from_file, report.issues);
}

#[test]
fn the_issues_file_is_encrypted_at_rest_and_needs_the_store_key() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export");
    copy_corpus(&input);
    let leaky = json!({"resourceType": "Observation", "id": "obs-leak",
        "subject": {"reference": "Patient/pat-1001"}, "encounter": {"reference": "Encounter/MRN-0072215"}});
    std::fs::write(input.join("Leaky.ndjson"), format!("{leaky}\n")).unwrap();
    let store = dir.path().join("store");
    // A plaintext issues file from an earlier version does not survive the next ingest.
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(store.join("ingest-issues.ndjson"), "Patient/pat-1001").unwrap();
    let key = StoreKey::from_bytes([42; 32]);
    let report = ingest_folder(&input, &store, &key, &owners(), &IngestOptions::default()).unwrap();
    assert_eq!(report.issue_count, 1);

    let raw = std::fs::read(store.join(ISSUES_FILE)).unwrap();
    for needle in ["MRN-0072215", "Leaky.ndjson", "broken-reference"] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} in plaintext"
        );
    }
    assert!(!store.join("ingest-issues.ndjson").exists());
    let mut issues = Vec::new();
    read_issues(&store, &key, |issue| issues.push(issue)).unwrap();
    assert_eq!(issues, report.issues);
    assert!(matches!(
        read_issues(&store, &StoreKey::from_bytes([43; 32]), |_| {}),
        Err(Error::StoreDecryption { index: 0 })
    ));
}

#[test]
fn a_resource_id_repeated_under_another_patient_is_a_duplicate_and_only_the_first_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export");
    copy_corpus(&input);
    let first = json!({"resourceType": "Observation", "id": "obs-twice", "status": "final",
        "subject": {"reference": "Patient/pat-1003"}, "effectiveDateTime": "2024-02-02"});
    let again = json!({"resourceType": "Observation", "id": "obs-twice", "status": "final",
        "subject": {"reference": "Patient/pat-1001"}, "effectiveDateTime": "2024-02-03"});
    std::fs::write(input.join("Twice.ndjson"), format!("{first}\n{again}\n")).unwrap();
    let baseline = ingest(&corpus());
    let ingested = ingest(&input);
    assert_eq!(
        ingested.report.issues,
        vec![IngestIssue {
            file: "Twice.ndjson".into(),
            line: 2,
            kind: IssueKind::DuplicateResource {
                key: "Observation/obs-twice".into()
            },
        }]
    );
    assert_eq!(
        ingested.report.records_stored,
        baseline.report.records_stored + 1
    );
    let records = read_all_records(&ingested.store, &ingested.key).unwrap();
    let twice: Vec<&StoredRecord> = records
        .iter()
        .filter(|r| r.canonical.contains("obs-twice"))
        .collect();
    assert_eq!(twice.len(), 1);
    assert_eq!(twice[0].patient_id, "pat-1003");
}

#[test]
fn a_truncated_gzip_file_keeps_its_readable_lines_and_the_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export");
    copy_corpus(&input);
    // Many records, so the cut falls well inside the compressed stream.
    let mut gz = GzEncoder::new(Vec::new(), Default::default());
    for n in 0..2000 {
        let line = json!({"resourceType": "Observation", "id": format!("obs-bulk-{n}"), "status": "final",
            "subject": {"reference": "Patient/pat-1003"}, "valueString": format!("{n:>60}")});
        writeln!(gz, "{line}").unwrap();
    }
    let compressed = gz.finish().unwrap();
    std::fs::write(
        input.join("Truncated.ndjson.gz"),
        &compressed[..compressed.len() / 2],
    )
    .unwrap();
    let baseline = ingest(&corpus());
    let ingested = ingest(&input);
    let unreadable: Vec<&IngestIssue> = ingested
        .report
        .issues
        .iter()
        .filter(|i| matches!(i.kind, IssueKind::UnreadableFile { .. }))
        .collect();
    assert_eq!(unreadable.len(), 1);
    assert_eq!(unreadable[0].file, "Truncated.ndjson.gz");
    let salvaged = unreadable[0].line - 1;
    assert!(
        salvaged > 100 && salvaged < 2000,
        "{salvaged} lines before the cut"
    );
    assert_eq!(
        ingested.report.records_stored,
        baseline.report.records_stored + salvaged
    );
}

#[test]
fn an_empty_folder_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let result = ingest_folder(
        dir.path(),
        &dir.path().join("store"),
        &StoreKey::from_bytes([1; 32]),
        &owners(),
        &IngestOptions::default(),
    );
    assert!(matches!(result, Err(Error::NoExportFiles(_))));
}

#[test]
fn patients_without_an_owner_account_are_not_collected() {
    let ingested = ingest(&corpus());
    let records = read_all_records(&ingested.store, &ingested.key).unwrap();
    let patients: BTreeSet<&str> = records.iter().map(|r| r.patient_id.as_str()).collect();
    assert_eq!(
        patients,
        BTreeSet::from(["pat-1001", "pat-1002", "pat-1003", "pat-1004", "pat-1005"])
    );
    let unmapped = corpus_resources(&corpus())
        .iter()
        .filter(|r| r["id"] == "pat-1006" || r["subject"]["reference"] == "Patient/pat-1006")
        .count() as u64;
    assert_eq!(ingested.report.patients_without_owner, 1);
    assert_eq!(ingested.report.resources_without_owner, unmapped);
    for record in &records {
        assert_eq!(Some(&record.owner), owners().owner_of(&record.patient_id));
    }
}

#[test]
fn grouping_with_tiny_sort_chunks_gives_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let key = StoreKey::from_bytes([42; 32]);
    let small = IngestOptions {
        sort_chunk_bytes: 200,
    };
    ingest_folder(&corpus(), &dir.path().join("a"), &key, &owners(), &small).unwrap();
    ingest_folder(
        &corpus(),
        &dir.path().join("b"),
        &key,
        &owners(),
        &IngestOptions::default(),
    )
    .unwrap();
    let summary = |name: &str| -> Vec<(String, String, Option<String>)> {
        read_all_records(&dir.path().join(name), &key)
            .unwrap()
            .into_iter()
            .map(|r| (r.patient_id, r.canonical, r.commitment))
            .collect()
    };
    let (a, b) = (summary("a"), summary("b"));
    assert_eq!(a, b);
    // Compartments are contiguous and start with their Patient.
    let records = read_all_records(&dir.path().join("a"), &key).unwrap();
    for (index, record) in records.iter().enumerate() {
        let first_of_patient = index == 0 || records[index - 1].patient_id != record.patient_id;
        assert_eq!(
            first_of_patient,
            record.resource_type == "Patient",
            "{index}"
        );
    }
    let distinct: BTreeSet<&str> = records.iter().map(|r| r.patient_id.as_str()).collect();
    assert_eq!(
        distinct.len(),
        records
            .iter()
            .filter(|r| r.resource_type == "Patient")
            .count()
    );
}

/// SCALE compact encoding, written out here independently of `parity-scale-codec`.
fn compact(length: usize) -> Vec<u8> {
    match length {
        0..=63 => vec![(length as u8) << 2],
        64..=16_383 => (((length as u16) << 2) | 1).to_le_bytes().to_vec(),
        _ => (((length as u32) << 2) | 2).to_le_bytes().to_vec(),
    }
}

#[test]
fn commitments_cover_the_canonical_record_and_its_categories_with_a_keyed_salt() {
    use blake2::digest::{consts::U32, Mac};
    use blake2::{Blake2b, Digest};
    let ingested = ingest(&corpus());
    let key_bytes = [42u8; 32];
    let registrations = std::fs::read_to_string(ingested.store.join(REGISTRATIONS_FILE)).unwrap();
    let originals: Vec<Value> = corpus_resources(&corpus());
    let records = read_all_records(&ingested.store, &ingested.key).unwrap();
    assert_eq!(
        registrations.lines().count() as u64,
        ingested.report.records_stored
    );
    for (line, record) in registrations
        .lines()
        .zip(records.iter().filter(|r| r.record_id.is_some()))
    {
        let registration: Value = serde_json::from_str(line).unwrap();
        let body: Value = serde_json::from_str(&record.canonical).unwrap();
        let resource_key = format!(
            "{}/{}",
            body["resourceType"].as_str().unwrap(),
            body["id"].as_str().unwrap()
        );
        // The canonical form is the original resource, re-serialised.
        assert!(originals.contains(&body));
        let mac = |domain: &[u8], message: &[u8]| -> [u8; 32] {
            let mut mac = blake2::Blake2bMac::<U32>::new_from_slice(&key_bytes).unwrap();
            mac.update(domain);
            mac.update(message);
            mac.finalize().into_bytes().into()
        };
        let record_id = mac(b"medledger:record-id:v1", resource_key.as_bytes());
        assert_eq!(registration["record_id"], hex::encode(record_id));
        let salt = mac(b"medledger:commitment-salt:v1", &record_id);
        let mut bytes = salt.to_vec();
        bytes.extend(compact(record.canonical.len()));
        bytes.extend(record.canonical.as_bytes());
        bytes.extend(compact(record.categories.len()));
        for code in &record.categories {
            bytes.extend(compact(code.len()));
            bytes.extend(code.as_bytes());
        }
        let expected = hex::encode(Blake2b::<U32>::digest(&bytes));
        assert_eq!(registration["commitment"], expected);
        assert_eq!(registration["owner"], record.owner.as_ss58());
        assert!(record.categories.windows(2).all(|w| w[0] < w[1]));
        assert!(record
            .categories
            .contains(&body["resourceType"].as_str().unwrap().to_ascii_lowercase()));
    }
}

#[test]
fn the_store_is_encrypted_at_rest_and_needs_its_key() {
    let ingested = ingest(&corpus());
    let raw = std::fs::read(ingested.store.join("records.bin")).unwrap();
    for needle in [
        "Whitfield",
        "pat-1001",
        "MRN-4821934",
        "2345-7",
        "Observation",
    ] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} in plaintext"
        );
    }
    let wrong = StoreKey::from_bytes([43; 32]);
    assert!(matches!(
        read_all_records(&ingested.store, &wrong),
        Err(Error::StoreDecryption { index: 0 })
    ));
}
