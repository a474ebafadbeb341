//! The US Core clinical resources of a bulk export, written after the FHIR R4 examples
//! (`tests/r4-examples`), go through de-identification with their clinical codes and
//! without their identifiers or free text; a type the profile does not know is refused.

mod common;

use common::*;
use medledger_fhir::*;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

/// An export of the corpus and `resources`.
fn export_with(dir: &Path, resources: &[Value]) -> PathBuf {
    let input = dir.join("export");
    copy_corpus(&input);
    let mut file = std::fs::File::create(input.join("Examples.ndjson")).unwrap();
    for resource in resources {
        writeln!(file, "{resource}").unwrap();
    }
    input
}

/// Every `(system, code)` of the codings in `value`.
fn codings(value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(members) => {
            if let (Some(Value::String(system)), Some(Value::String(code))) =
                (members.get("system"), members.get("code"))
            {
                out.push((system.clone(), code.clone()));
            }
            members.values().for_each(|member| codings(member, out));
        }
        Value::Array(items) => items.iter().for_each(|item| codings(item, out)),
        _ => {}
    }
}

/// Checks that every string the delivery holds is one the profile may let out: a code
/// of an allowlisted system (or a UCUM unit), a system URI, a year, a pseudonym or a
/// reference to one, or a short code word (an enumerated value such as `completed`).
fn assert_only_coded_strings(value: &Value, key: &str, parent: &Value, profile: &Profile) {
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                assert_only_coded_strings(member, name, value, profile);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| assert_only_coded_strings(item, key, parent, profile)),
        Value::String(text) => {
            let hex32 = |t: &str| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit());
            let allowed = match key {
                "id" => hex32(text),
                "reference" => text.split_once('/').is_some_and(|(kind, id)| {
                    kind.bytes().all(|b| b.is_ascii_alphabetic()) && hex32(id)
                }),
                "system" | "url" => {
                    text.starts_with("http://") || text.starts_with("urn:medledger:")
                }
                "code" => match parent.get("system").and_then(Value::as_str) {
                    Some("http://unitsofmeasure.org") => profile.ucum_units.contains(text),
                    Some("http://terminology.hl7.org/CodeSystem/v3-ObservationValue") => true,
                    Some(system) => profile.code_allowed(system, text),
                    None => false,
                },
                _ => {
                    let year = text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit());
                    // No run of three digits: dates, phone, account and serial numbers.
                    let code_word = !text.is_empty()
                        && text.len() <= 32
                        && text
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-./+>=<".contains(&b))
                        && !text
                            .as_bytes()
                            .windows(3)
                            .any(|w| w.iter().all(u8::is_ascii_digit));
                    year || code_word
                }
            };
            assert!(allowed, "{key}: {text:?} in {parent}");
        }
        _ => {}
    }
}

#[test]
fn us_core_resources_keep_their_codes_and_lose_identifiers_and_free_text() {
    let dir = tempfile::tempdir().unwrap();
    let examples = r4_examples();
    let ingested = ingest(&export_with(dir.path(), &examples));
    assert_eq!(
        ingested.report.issue_count, 0,
        "{:?}",
        ingested.report.issues
    );
    let out = dir.path().join("delivery");
    deliver_all(&ingested, &out, 1);
    let delivered = delivery_resources(&out);
    let profile = Profile::safe_harbor().unwrap();
    // The examples are pat-1001's; it shares its birth year with pat-1005, and deliveries
    // list patients in no set order, so pat-1001 is the 1961 patient the examples point to.
    let born_1961: Vec<String> = delivered
        .iter()
        .filter(|r| r["resourceType"] == "Patient" && r["birthDate"] == "1961")
        .map(|patient| format!("Patient/{}", patient["id"].as_str().unwrap()))
        .collect();
    let patient_reference = delivered
        .iter()
        .filter(|r| r["resourceType"] == "AllergyIntolerance")
        .find_map(|r| r["patient"]["reference"].as_str())
        .map(str::to_string)
        .expect("the allergy is delivered");
    assert!(
        born_1961.contains(&patient_reference),
        "pat-1001 is delivered"
    );

    // What each example must keep (codes the profile allows) and must lose.
    let expectations: [(&str, &[&str], &[&str]); 13] = [
        (
            "AllergyIntolerance",
            &[
                "227493005",
                "39579001",
                "64305001",
                "34206005",
                "1160593",
                "active",
                "confirmed",
            ],
            &["49476534", "becasue", "Challenge Protocol", "Cashew nuts"],
        ),
        (
            "Procedure",
            &["80146002", "44950"],
            &[
                "PROC-20130405-17",
                "Cecil",
                "abdominal pain",
                "retro-caecal",
                "2013-04",
            ],
        ),
        (
            "Immunization",
            &[
                "141",
                "LA",
                "IM",
                "OP",
                "AP",
                "429060002",
                "ineligible",
                "private",
            ],
            &[
                "AAJN11K",
                "2015-02-15",
                "1.3.6.1.4.1.21367",
                "253088698300010311120702",
                "adminstration",
                "FLUVAX",
            ],
        ),
        (
            "MedicationStatement",
            &[
                "inpatient",
                "27113001",
                "418914006",
                "32914008",
                "26643006",
                "ordered",
                "TAB",
            ],
            &[
                "Tylenol",
                "9494788",
                "50580-506-02",
                "12345689",
                "restless legs",
                "occasional dose",
            ],
        ),
        (
            "MedicationAdministration",
            &["inpatient", "1730193", "47625008", "420620005"],
            &["Ratched", "push well", "4 mg IV push", "morphine sulfate"],
        ),
        (
            "MedicationDispense",
            &["860975", "{tbl}", "d"],
            &["Ana Reyes", "with meals", "2015-01-15"],
        ),
        (
            "CarePlan",
            &["assess-plan", "229070002"],
            &[
                "CP-4821934",
                "Diabetes plan",
                "Manage type 2",
                "daughter",
                "(617) 555-0143",
                "Adam Careful",
            ],
        ),
        (
            "Goal",
            &[
                "in-progress",
                "dietary",
                "high-priority",
                "3141-9",
                "[lb_av]",
            ],
            &["160 to 180", "honeymoon", "husband", "\"123\""],
        ),
        (
            "DocumentReference",
            &["34108-1", "clinical-note", "V", "82242000", "408467006"],
            &[
                "Smitty",
                "1.3.6.1.4.1.21367",
                "Binary/07a6483f",
                "PHA+TWFy",
                "2jmj7l5r",
                "Physical",
                "3654",
                "History and Physical",
                "2005-12",
            ],
        ),
        (
            "Device",
            &["468063009"],
            &[
                "09504000059118",
                "7654321D",
                "10987654d321",
                "A1-4492-77",
                "Acme",
                "FlexiStem",
                "FS-12-0098",
                "2013-02-01",
                "2014",
            ],
        ),
        (
            "CareTeam",
            &["17561000"],
            &[
                "Dietician",
                "Dorothy",
                "Charlmers",
                "responsiblePerson",
                "\"12345\"",
                "LA27976-2",
            ],
        ),
        (
            "ServiceRequest",
            &["57698-3"],
            &[
                "2345234234234",
                "49541-6",
                "V173",
                "afraid of needles",
                "Lipid Panel",
            ],
        ),
        (
            "Specimen",
            &["122555007", "49852007", "mL"],
            &[
                "23234352356",
                "X352356",
                "48736-15394-75465",
                "Green Gel",
                "lipemic",
                "HEPL",
                "LNV",
            ],
        ),
    ];
    for (resource_type, kept, gone) in expectations {
        let output: Vec<&Value> = delivered
            .iter()
            .filter(|r| r["resourceType"] == resource_type)
            .collect();
        assert_eq!(output.len(), 1, "{resource_type} is delivered once");
        let resource = output[0];
        let text = resource.to_string();
        let mut codes = Vec::new();
        codings(resource, &mut codes);
        for code in kept {
            assert!(
                codes.iter().any(|(_, c)| c == code),
                "{resource_type} lost the code {code}: {resource}"
            );
        }
        for value in gone {
            assert!(
                !text.contains(value),
                "{resource_type} kept {value:?}: {resource}"
            );
        }
        assert_only_coded_strings(resource, "", &Value::Null, &profile);
        for free_text in [
            "text",
            "note",
            "identifier",
            "contained",
            "description",
            "title",
            "name",
        ] {
            assert!(
                resource.get(free_text).is_none()
                    || resource_type == "Goal" && free_text == "description",
                "{resource_type} kept {free_text}"
            );
        }
        let own_patient = ["subject", "patient"]
            .iter()
            .find_map(|element| resource.get(*element))
            .and_then(|reference| reference["reference"].as_str());
        assert_eq!(
            own_patient,
            Some(patient_reference.as_str()),
            "{resource_type}"
        );
    }

    // Details the FHIR R4 element definitions decide.
    let of_type = |t: &str| delivered.iter().find(|r| r["resourceType"] == t).unwrap();
    let document = of_type("DocumentReference");
    assert_eq!(
        document["content"],
        json!([{"attachment": {"contentType": "application/hl7-v3+xml", "creation": "2005"}}])
    );
    assert_eq!(of_type("Procedure")["performedDateTime"], "2013");
    let goal_range = &of_type("Goal")["target"][0]["detailRange"];
    assert_eq!(
        (
            goal_range["low"]["value"].as_u64(),
            goal_range["high"]["value"].as_u64()
        ),
        (Some(160), Some(180))
    );
    let relative = of_type("FamilyMemberHistory");
    assert_eq!(
        relative["ageAge"],
        json!({"code": "a", "comparator": ">=", "system": "http://unitsofmeasure.org", "value": 90})
    );
    assert_eq!(relative["condition"][0]["onsetAge"]["value"], 74);
    assert!(relative.get("bornDate").is_none() && relative.get("name").is_none());
    let team = of_type("CareTeam");
    assert_eq!(
        team["participant"][0]["member"]["reference"],
        patient_reference.as_str()
    );
    assert!(
        team["participant"][1].get("member").is_none(),
        "a contained practitioner is not delivered"
    );
    let specimen = of_type("Specimen");
    assert!(specimen["request"][0]["reference"]
        .as_str()
        .unwrap()
        .starts_with("ServiceRequest/"));
}

/// The reproduction: LOINC 30525-0 with `{value: 94, unit: "years"}` and no UCUM system.
#[test]
fn an_age_of_94_years_without_a_ucum_system_is_delivered_as_90_or_older() {
    let dir = tempfile::tempdir().unwrap();
    let age = r4_examples()
        .into_iter()
        .find(|r| r["id"] == "obs-age-reported")
        .unwrap();
    let ingested = ingest(&export_with(dir.path(), &[age]));
    let out = dir.path().join("delivery");
    deliver_all(&ingested, &out, 1);
    let observation = delivery_resources(&out)
        .into_iter()
        .find(|r| r["code"]["coding"][0]["code"] == "30525-0")
        .expect("the age observation is delivered with its code");
    assert_eq!(
        observation["valueQuantity"],
        json!({"code": "a", "comparator": ">=", "system": "http://unitsofmeasure.org", "value": 90})
    );
}

#[test]
fn resource_types_outside_the_profile_are_still_refused() {
    let dir = tempfile::tempdir().unwrap();
    let subject = json!({"reference": "Patient/pat-1001"});
    let others = [
        json!({"resourceType": "Coverage", "id": "cov-1", "beneficiary": subject, "subscriberId": "HPB-88214-03"}),
        json!({"resourceType": "Practitioner", "id": "prac-1", "name": [{"family": "Surgeon"}]}),
        json!({"resourceType": "RelatedPerson", "id": "rel-1", "patient": subject, "name": [{"family": "Whitfield"}]}),
        json!({"resourceType": "QuestionnaireResponse", "id": "qr-1", "subject": subject, "status": "completed"}),
    ];
    let ingested = ingest(&export_with(dir.path(), &others));
    let refused: Vec<String> = ingested
        .report
        .issues
        .iter()
        .filter_map(|issue| match &issue.kind {
            IssueKind::UnknownResourceType { found } => Some(found.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        refused,
        [
            "Coverage",
            "Practitioner",
            "RelatedPerson",
            "QuestionnaireResponse"
        ]
    );
    let out = dir.path().join("delivery");
    deliver_all(&ingested, &out, 1);
    let text = delivery_text(&out);
    assert!(
        !text.contains("HPB-88214-03") && !text.contains("Surgeon") && !text.contains("Coverage")
    );
}
