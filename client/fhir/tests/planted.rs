//! Generated test: identifier-shaped values planted into every string field, extension
//! and narrative of the corpus never reach a delivery.

mod common;

use common::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::io::Write;

const FIRST: [&str; 8] = [
    "Marisol",
    "Thaddeus",
    "Gwendolyn",
    "Oluwaseun",
    "Bartholomew",
    "Henrietta",
    "Yevgeny",
    "Clementine",
];
const LAST: [&str; 8] = [
    "Quarrington",
    "Abernathy",
    "Vanterpool",
    "Okafor-Lind",
    "Rasmussen",
    "Delacroix",
    "Szymanski",
    "Thistlewood",
];
const STREETS: [&str; 4] = [
    "Juniper Court",
    "Old Mill Road",
    "Harbor View Terrace",
    "Elmwood Avenue",
];

/// A random identifier of one of the Safe Harbor kinds, in a shape real records use.
fn identifier(rng: &mut StdRng) -> String {
    let digits = |rng: &mut StdRng, n: usize| {
        (0..n)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect::<String>()
    };
    match rng.gen_range(0..11) {
        0 => format!(
            "{} {}",
            FIRST.choose(rng).unwrap(),
            LAST.choose(rng).unwrap()
        ),
        1 => format!("({}) {}-{}", digits(rng, 3), digits(rng, 3), digits(rng, 4)),
        2 => format!(
            "{}.{}{}@example-mail.org",
            FIRST.choose(rng).unwrap().to_lowercase(),
            LAST.choose(rng).unwrap().to_lowercase(),
            digits(rng, 2)
        ),
        3 => format!("{}-{}-{}", digits(rng, 3), digits(rng, 2), digits(rng, 4)),
        4 => format!("MRN{}", digits(rng, 8)),
        5 => format!(
            "{} {}, Apt {}",
            digits(rng, 4),
            STREETS.choose(rng).unwrap(),
            digits(rng, 2)
        ),
        6 => format!("https://records.example-clinic.org/p/{}", digits(rng, 6)),
        7 => format!(
            "{}.{}.{}.{}",
            rng.gen_range(11..250),
            rng.gen_range(0..250),
            rng.gen_range(0..250),
            rng.gen_range(1..250)
        ),
        8 => format!(
            "19{}-0{}-1{}",
            digits(rng, 2),
            rng.gen_range(1..10),
            rng.gen_range(0..10)
        ),
        9 => format!("{}-{}", digits(rng, 5), digits(rng, 4)),
        _ => format!("VIN1HG{}X{}", digits(rng, 5), digits(rng, 6)),
    }
}

/// Replaces string leaves (all but the structural `resourceType`, `id`, `reference`)
/// with planted identifiers, each with probability `rate`.
fn plant_strings(value: &mut Value, rng: &mut StdRng, rate: f64, planted: &mut Vec<String>) {
    let children: Vec<&mut Value> = match value {
        Value::Object(members) => members
            .iter_mut()
            .filter(|(name, _)| !matches!(name.as_str(), "resourceType" | "id" | "reference"))
            .map(|(_, member)| member)
            .collect(),
        Value::Array(items) => items.iter_mut().collect(),
        _ => return,
    };
    for child in children {
        match child {
            Value::String(text) if rng.gen_bool(rate) => {
                *text = identifier(rng);
                planted.push(text.clone());
            }
            Value::String(_) => {}
            nested => plant_strings(nested, rng, rate, planted),
        }
    }
}

/// Adds a narrative, a note, an unknown element, an unknown extension and a known
/// extension with a planted value to a resource.
fn plant_around(resource: &mut Value, rng: &mut StdRng, planted: &mut Vec<String>) {
    let mut next = |rng: &mut StdRng| {
        let value = identifier(rng);
        planted.push(value.clone());
        value
    };
    let members = resource.as_object_mut().unwrap();
    members.insert(
        "text".into(),
        json!({"status": "generated", "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{} {}</div>", next(rng), next(rng))}),
    );
    members.insert("note".into(), json!([{"text": next(rng)}]));
    members.insert("x-local-field".into(), json!(next(rng)));
    let extensions = members
        .entry("extension")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .unwrap();
    extensions.push(json!({"url": format!("https://example-hospital.org/ext/{}", rng.gen::<u32>()), "valueString": next(rng)}));
    extensions.push(json!({"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": next(rng), "valueString": next(rng)}));
    extensions.push(json!({"url": next(rng), "valueCode": "F"}));
}

#[test]
fn planted_identifiers_never_survive_deidentification() {
    let corpus_resources = corpus_resources(&corpus());
    for seed in 0..6u64 {
        let mut rng = StdRng::seed_from_u64(0x5afe_4a7b ^ seed);
        let mut planted = Vec::new();
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("export");
        std::fs::create_dir_all(&input).unwrap();
        let mut file = std::fs::File::create(input.join("planted.ndjson")).unwrap();
        for resource in &corpus_resources {
            let mut resource = resource.clone();
            plant_strings(&mut resource, &mut rng, 0.5, &mut planted);
            plant_around(&mut resource, &mut rng, &mut planted);
            writeln!(file, "{resource}").unwrap();
        }
        drop(file);
        assert!(
            planted.len() > 500,
            "seed {seed}: only {} values planted",
            planted.len()
        );

        let ingested = ingest(&input);
        assert_eq!(
            ingested.report.issue_count, 0,
            "planting must not break the structure: {:?}",
            ingested.report.issues
        );
        let out = dir.path().join("delivery");
        let summary = deliver_all(&ingested, &out, 1);
        assert!(summary.manifest.records_delivered > 0);
        let text = delivery_text(&out);
        let survivors: Vec<&String> = planted
            .iter()
            .filter(|value| text.contains(value.as_str()))
            .collect();
        assert!(
            survivors.is_empty(),
            "seed {seed}: planted values survived: {survivors:?}"
        );
    }
}
