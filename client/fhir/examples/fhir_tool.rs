//! Benchmark driver (until the `medledger fhir` CLI exists): generates a synthetic
//! Bulk Data corpus of a given size, ingests it, and de-identifies it, printing figures.
//!
//! ```text
//! fhir_tool generate <out-dir> <megabytes> [seed]
//! fhir_tool ingest <export-dir> <store-dir> <key-file> <owners.csv>
//! fhir_tool deidentify <store-dir> <key-file> <out-dir> [k]
//! ```

use medledger_fhir::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

const OWNERS: [&str; 4] = [
    "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
    "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
    "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y",
    "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy",
];
const ZIPS: [&str; 12] = [
    "02139", "10027", "60614", "94110", "30307", "98103", "73301", "19104", "48104", "80202",
    "03601", "85004",
];
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

fn generate(out: &Path, megabytes: u64, seed: u64) -> std::io::Result<()> {
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
    let mut owners = BufWriter::new(std::fs::File::create(out.join("owners.csv"))?);
    let target = megabytes << 20;
    let written = std::cell::Cell::new(0u64);
    let write =
        |file: &mut BufWriter<std::fs::File>, value: serde_json::Value| -> std::io::Result<()> {
            let line = value.to_string();
            written.set(written.get() + line.len() as u64 + 1);
            writeln!(file, "{line}")
        };
    let mut n = 0u64;
    while written.get() < target {
        n += 1;
        let pid = format!("p{n}");
        let name = format!(
            "{} {}",
            FIRST[rng.gen_range(0..10)],
            LAST[rng.gen_range(0..10)]
        );
        let birth = format!(
            "{}-{:02}-{:02}",
            rng.gen_range(1930..2006),
            rng.gen_range(1..13),
            rng.gen_range(1..29)
        );
        let zip = ZIPS[rng.gen_range(0..ZIPS.len())];
        let phone = format!(
            "({}) 555-{:04}",
            rng.gen_range(200..999),
            rng.gen_range(0..10000)
        );
        writeln!(owners, "{pid},{}", OWNERS[(n % 4) as usize])?;
        write(
            &mut patients,
            json!({"resourceType": "Patient", "id": pid, "text": div(&format!("{name}, born {birth}, phone {phone}")),
            "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": if n.is_multiple_of(2) { "F" } else { "M" }}],
            "identifier": [{"system": "https://example-hospital.org/mrn", "value": format!("MRN{:08}", n)}],
            "name": [{"family": name.split(' ').nth(1), "given": [name.split(' ').next()]}],
            "telecom": [{"system": "phone", "value": phone}],
            "gender": if n.is_multiple_of(2) { "female" } else { "male" }, "birthDate": birth,
            "address": [{"line": [format!("{} Main Street", rng.gen_range(1..999))], "city": "Springfield", "state": "MA", "postalCode": zip, "country": "US"}]}),
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
    }
    for file in [
        &mut patients,
        &mut encounters,
        &mut observations,
        &mut conditions,
        &mut medications,
        &mut reports,
    ] {
        file.flush()?;
    }
    owners.flush()?;
    println!(
        "generated {n} patients, {:.1} MB",
        written.get() as f64 / 1e6
    );
    Ok(())
}

fn run(args: &[String]) -> Result<(), String> {
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| "missing argument (see the file's docs)".to_string())
    };
    match arg(1)? {
        "generate" => {
            let megabytes = arg(3)?.parse().map_err(|_| "megabytes must be a number")?;
            let seed = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(7);
            generate(Path::new(arg(2)?), megabytes, seed).map_err(|e| e.to_string())
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
                buyer: AccountId::from_ss58(OWNERS[0]).map_err(|e| e.to_string())?,
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
                &DeliveryOptions {
                    k_threshold: k,
                    as_of_year: current_year(),
                },
            )
            .map_err(|e| e.to_string())?;
            let seconds = started.elapsed().as_secs_f64();
            let megabytes = summary.scanned_bytes as f64 / 1e6;
            println!(
                "deidentify: {megabytes:.1} MB of NDJSON in {seconds:.1} s = {:.1} MB/s; {} records delivered, {} suppressed, k = {:?}",
                megabytes / seconds,
                summary.manifest.records_delivered,
                summary.manifest.records_suppressed,
                summary.manifest.k
            );
            Ok(())
        }
        other => Err(format!(
            "unknown command {other:?} (generate, ingest, deidentify)"
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
