//! Synthetic FHIR R4 Bulk Data exports for tests and benchmarks: patients with encounters,
//! laboratory observations, a condition, a medication request, a diagnostic report, an
//! allergy, a procedure and an immunization each, full of the identifiers Safe Harbor
//! removes (names, phone numbers, MRNs, addresses, dates, lot numbers, free text).
//!
//! The population is spread as a regional hospital's is: adults of every age from 18 to 99,
//! living mostly in a few nearby ZIP areas of its state and fewer in neighbouring states
//! ([`ADDRESSES`]), the state always the ZIP's own; 3% also keep a previous address.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::Path;

/// When generation stops.
#[derive(Debug, Clone, Copy)]
pub enum CorpusSize {
    /// After this many patients.
    Patients(u64),
    /// Once the NDJSON written reaches this many bytes.
    Bytes(u64),
}

impl CorpusSize {
    fn reached(self, patients: u64, bytes: u64) -> bool {
        match self {
            Self::Patients(limit) => patients >= limit,
            Self::Bytes(limit) => bytes >= limit,
        }
    }
}

/// What [`generate_corpus`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorpusSummary {
    pub patients: u64,
    /// NDJSON bytes written, newlines included.
    pub bytes: u64,
}

/// Development accounts (Alice, Bob, Charlie, Dave) that own the generated patients by default.
pub const DEFAULT_OWNERS: [&str; 4] = [
    "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
    "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
    "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y",
    "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy",
];
/// `(ZIP, city, state, weight)`: a Boston-area hospital's catchment, 12 ZIP3 areas in six
/// states (03601 is in a restricted ZIP3 area, delivered as `000`).
pub const ADDRESSES: [(&str, &str, &str, u32); 14] = [
    ("02139", "Cambridge", "MA", 14),
    ("02144", "Somerville", "MA", 10),
    ("02446", "Brookline", "MA", 8),
    ("01701", "Framingham", "MA", 6),
    ("01803", "Burlington", "MA", 5),
    ("01604", "Worcester", "MA", 5),
    ("02301", "Brockton", "MA", 4),
    ("01841", "Lawrence", "MA", 4),
    ("03060", "Nashua", "NH", 5),
    ("03601", "Charlestown", "NH", 2),
    ("02860", "Pawtucket", "RI", 4),
    ("06103", "Hartford", "CT", 2),
    ("10027", "New York", "NY", 2),
    ("04101", "Portland", "ME", 1),
];

/// An address drawn from [`ADDRESSES`] by weight.
fn address(rng: &mut StdRng, address_use: &str) -> serde_json::Value {
    let total: u32 = ADDRESSES.iter().map(|a| a.3).sum();
    let mut pick = rng.gen_range(0..total);
    let (zip, city, state, _) = ADDRESSES
        .iter()
        .find(|a| {
            let found = pick < a.3;
            pick = pick.saturating_sub(a.3);
            found
        })
        .copied()
        .unwrap_or(ADDRESSES[0]);
    json!({"use": address_use, "line": [format!("{} Main Street", rng.gen_range(1..999))], "city": city, "state": state, "postalCode": zip, "country": "US"})
}
const LAST: [&str; 10] = [
    "Whitfield",
    "Okafor",
    "Nguyen",
    "Garcia",
    "Kowalski",
    "Haddad",
    "Lindqvist",
    "Mbeki",
    "Romano",
    "Tanaka",
];
const FIRST: [&str; 10] = [
    "Ana", "Ben", "Chloe", "Dmitri", "Esi", "Farid", "Greta", "Hiro", "Ines", "Jonas",
];

fn div(text: &str) -> serde_json::Value {
    json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>{text}</p></div>")})
}

/// Writes a synthetic Bulk Data export into `out` (created if missing): one NDJSON file per
/// type and `owners.csv`, patient `p<n>` owned by `owners[(n - 1) % owners.len()]` (the
/// default development accounts if `owners` is empty). Stops after `size` is reached.
pub fn generate_corpus(
    out: &Path,
    size: CorpusSize,
    seed: u64,
    owners: &[String],
) -> std::io::Result<CorpusSummary> {
    let default_owners: Vec<String> = DEFAULT_OWNERS.iter().map(|s| s.to_string()).collect();
    let owner_list = if owners.is_empty() {
        &default_owners[..]
    } else {
        owners
    };
    std::fs::create_dir_all(out)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let open = |name: &str| {
        std::fs::File::create(out.join(name)).map(|f| BufWriter::with_capacity(1 << 20, f))
    };
    let (mut patients, mut encounters, mut observations) = (
        open("Patient.ndjson")?,
        open("Encounter.ndjson")?,
        open("Observation.ndjson")?,
    );
    let (mut conditions, mut medications, mut reports) = (
        open("Condition.ndjson")?,
        open("MedicationRequest.ndjson")?,
        open("DiagnosticReport.ndjson")?,
    );
    let (mut allergies, mut procedures, mut immunizations) = (
        open("AllergyIntolerance.ndjson")?,
        open("Procedure.ndjson")?,
        open("Immunization.ndjson")?,
    );
    let mut owners = BufWriter::new(std::fs::File::create(out.join("owners.csv"))?);
    let written = std::cell::Cell::new(0u64);
    let write =
        |file: &mut BufWriter<std::fs::File>, value: serde_json::Value| -> std::io::Result<()> {
            let line = value.to_string();
            written.set(written.get() + line.len() as u64 + 1);
            writeln!(file, "{line}")
        };
    let mut n = 0u64;
    while !size.reached(n, written.get()) {
        n += 1;
        let pid = format!("p{n}");
        let name = format!(
            "{} {}",
            FIRST[rng.gen_range(0..10)],
            LAST[rng.gen_range(0..10)]
        );
        let birth = format!(
            "{}-{:02}-{:02}",
            rng.gen_range(1927..2009),
            rng.gen_range(1..13),
            rng.gen_range(1..29)
        );
        let mut addresses = vec![address(&mut rng, "home")];
        if rng.gen_ratio(3, 100) {
            addresses.push(address(&mut rng, "old"));
        }
        let phone = format!(
            "({}) 555-{:04}",
            rng.gen_range(200..999),
            rng.gen_range(0..10000)
        );
        writeln!(
            owners,
            "{pid},{}",
            owner_list[((n - 1) as usize) % owner_list.len()]
        )?;
        write(
            &mut patients,
            json!({"resourceType": "Patient", "id": pid, "text": div(&format!("{name}, born {birth}, phone {phone}")),
            "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": if n.is_multiple_of(2) { "F" } else { "M" }}],
            "identifier": [{"system": "https://example-hospital.org/mrn", "value": format!("MRN{:08}", n)}],
            "name": [{"family": name.split(' ').nth(1), "given": [name.split(' ').next()]}],
            "telecom": [{"system": "phone", "value": phone}],
            "gender": if n.is_multiple_of(2) { "female" } else { "male" }, "birthDate": birth,
            "address": addresses}),
        )?;
        for e in 0..3 {
            let eid = format!("e{n}-{e}");
            let day = format!(
                "20{:02}-{:02}-{:02}",
                rng.gen_range(15..26),
                rng.gen_range(1..13),
                rng.gen_range(1..29)
            );
            write(
                &mut encounters,
                json!({"resourceType": "Encounter", "id": eid, "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "185349003", "display": "Encounter for check up"}]}],
                "subject": {"reference": format!("Patient/{pid}"), "display": name}, "period": {"start": format!("{day}T09:00:00Z"), "end": format!("{day}T10:00:00Z")},
                "identifier": [{"value": format!("V-{n}-{e}")}]}),
            )?;
            for (o, (code, unit, ucum)) in [
                ("2345-7", "mg/dL", "mg/dL"),
                ("718-7", "g/dL", "g/dL"),
                ("8480-6", "mmHg", "mm[Hg]"),
            ]
            .iter()
            .enumerate()
            {
                write(
                    &mut observations,
                    json!({"resourceType": "Observation", "id": format!("o{n}-{e}-{o}"), "status": "final",
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
                    "subject": {"reference": format!("Patient/{pid}")}, "encounter": {"reference": format!("Encounter/{eid}")},
                    "effectiveDateTime": format!("{day}T09:30:00Z"), "issued": format!("{day}T11:00:00.000Z"),
                    "valueQuantity": {"value": rng.gen_range(50..200), "unit": unit, "system": "http://unitsofmeasure.org", "code": ucum},
                    "note": [{"text": format!("Reviewed with {name}")}]}),
                )?;
            }
        }
        write(
            &mut conditions,
            json!({"resourceType": "Condition", "id": format!("c{n}"),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}, {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9"}]},
            "subject": {"reference": format!("Patient/{pid}")}, "encounter": {"reference": format!("Encounter/e{n}-0")}, "recordedDate": "2020-03-04"}),
        )?;
        write(
            &mut medications,
            json!({"resourceType": "MedicationRequest", "id": format!("m{n}"), "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}]},
            "subject": {"reference": format!("Patient/{pid}")}, "authoredOn": "2021-06-07",
            "dosageInstruction": [{"text": "one tablet twice daily", "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                "doseAndRate": [{"doseQuantity": {"value": 1, "system": "http://unitsofmeasure.org", "code": "{tbl}"}}]}]}),
        )?;
        write(
            &mut reports,
            json!({"resourceType": "DiagnosticReport", "id": format!("d{n}"), "status": "final", "text": div(&format!("Panel for {name}")),
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "24323-8"}]}, "subject": {"reference": format!("Patient/{pid}")},
            "result": [{"reference": format!("Observation/o{n}-0-0")}], "conclusion": format!("Discussed with {name}"),
            "presentedForm": [{"contentType": "application/pdf", "data": "JVBERi0xLjQKJcfsj6IK"}]}),
        )?;
        let snomed = |code: &str, display: &str| json!({"coding": [{"system": "http://snomed.info/sct", "code": code, "display": display}]});
        write(
            &mut allergies,
            json!({"resourceType": "AllergyIntolerance", "id": format!("a{n}"), "text": div(&format!("Penicillin allergy of {name}")),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "confirmed"}]},
            "type": "allergy", "category": ["medication"], "criticality": "high", "code": snomed("764146007", "Penicillin"),
            "patient": {"reference": format!("Patient/{pid}"), "display": name}, "recordedDate": "2019-02-11T10:00:00Z",
            "reaction": [{"manifestation": [snomed("247472004", "Hives")], "severity": "moderate", "description": format!("Reported by {name}, phone {phone}")}]}),
        )?;
        write(
            &mut procedures,
            json!({"resourceType": "Procedure", "id": format!("pr{n}"), "status": "completed",
            "identifier": [{"system": "https://example-hospital.org/procedures", "value": format!("PROC-{n:08}")}],
            "code": snomed("73761001", "Colonoscopy"), "subject": {"reference": format!("Patient/{pid}")},
            "encounter": {"reference": format!("Encounter/e{n}-1")}, "performedDateTime": "2022-05-17T08:30:00Z",
            "performer": [{"actor": {"reference": "Practitioner/dr-7", "display": "Dr. Imani Okafor"}}],
            "note": [{"text": format!("{name} tolerated the procedure well")}]}),
        )?;
        write(
            &mut immunizations,
            json!({"resourceType": "Immunization", "id": format!("im{n}"), "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140", "display": "Influenza, seasonal, injectable, preservative free"}]},
            "patient": {"reference": format!("Patient/{pid}")}, "occurrenceDateTime": "2023-10-02", "primarySource": true,
            "lotNumber": format!("LOT{}", rng.gen_range(10_000..99_999)), "doseQuantity": {"value": 0.5, "system": "http://unitsofmeasure.org", "code": "mL"}}),
        )?;
    }
    for file in [
        &mut patients,
        &mut encounters,
        &mut observations,
        &mut conditions,
        &mut medications,
        &mut reports,
        &mut allergies,
        &mut procedures,
        &mut immunizations,
    ] {
        file.flush()?;
    }
    owners.flush()?;
    Ok(CorpusSummary {
        patients: n,
        bytes: written.get(),
    })
}
