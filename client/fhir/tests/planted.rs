//! Generated test: identifier-shaped values planted into every string field, extension
//! (`extension`, `modifierExtension`, primitive `_element` extensions, at every depth),
//! display, text, note, narrative, contained resource and unknown element of the corpus
//! and of the US Core examples — as strings and as numbers (account numbers, device
//! serials) — never reach a delivery, and no age of 90 or more survives, whatever its
//! unit or type.

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

/// A random number shaped like an account number, device serial or MRN (10–12 digits).
fn numeric_identifier(rng: &mut StdRng) -> u64 {
    rng.gen_range(1_000_000_000..1_000_000_000_000)
}

/// Identifier-carrying members FHIR R4 allows on any element or resource: extensions
/// and modifier extensions with string and number values (nested too), and, on codings,
/// concepts and references, their display strings, texts and identifiers.
fn plant_in_every_element(
    value: &mut Value,
    rng: &mut StdRng,
    planted: &mut Vec<String>,
    numbers: &mut Vec<u64>,
) {
    match value {
        Value::Object(members) => {
            for member in members.values_mut() {
                plant_in_every_element(member, rng, planted, numbers);
            }
            if !rng.gen_bool(0.5) {
                return;
            }
            let mut text = |rng: &mut StdRng| {
                let value = identifier(rng);
                planted.push(value.clone());
                value
            };
            let (serial, account) = (numeric_identifier(rng), numeric_identifier(rng));
            numbers.extend([serial, account]);
            let url = format!("https://example-hospital.org/ext/{}", rng.gen::<u32>());
            let extensions = [
                json!({"url": url, "valueString": text(rng)}),
                json!({"url": url, "valueInteger": account}),
                json!({"url": url, "valueDecimal": serial as f64 / 1000.0}),
                json!({"url": url, "extension": [{"url": "serial", "valueInteger": serial}, {"url": "holder", "valueString": text(rng)}]}),
            ];
            let entry = members.entry("extension").or_insert_with(|| json!([]));
            if let Some(list) = entry.as_array_mut() {
                list.extend(extensions.iter().cloned());
            }
            members.insert(
                "modifierExtension".into(),
                json!([{"url": url, "valueString": text(rng)}, {"url": url, "valuePositiveInt": account}]),
            );
            if members.contains_key("system") && members.contains_key("code") {
                members.insert("display".into(), json!(text(rng)));
            }
            if members.contains_key("coding") {
                members.insert("text".into(), json!(text(rng)));
            }
            if members.contains_key("reference") {
                members.insert("display".into(), json!(text(rng)));
                members.insert(
                    "identifier".into(),
                    json!({"system": "https://example-hospital.org/mrn", "value": text(rng)}),
                );
            }
            // A primitive's extension (`_status`, `_birthDate`): FHIR JSON's `_element`.
            let primitive = members
                .iter()
                .find(|(name, value)| value.is_string() && !name.starts_with('_'))
                .map(|(name, _)| format!("_{name}"));
            if let Some(shadow) = primitive {
                members.insert(shadow, json!({"extension": [{"url": url, "valueString": text(rng)}, {"url": url, "valueInteger": serial}]}));
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| plant_in_every_element(item, rng, planted, numbers)),
        _ => {}
    }
}

/// Members that hold numbers and free text but are not on any allowlist: identifiers as
/// numbers, device serial and lot numbers, unknown numeric elements, a contained Patient,
/// a value whose code is a local one.
fn plant_numbers_around(
    resource: &mut Value,
    rng: &mut StdRng,
    planted: &mut Vec<String>,
    numbers: &mut Vec<u64>,
) {
    let mut number = |rng: &mut StdRng| {
        let value = numeric_identifier(rng);
        numbers.push(value);
        value
    };
    let (account, serial, lot, local) = (number(rng), number(rng), number(rng), number(rng));
    let (mrn, holder) = (number(rng), identifier(rng));
    planted.push(holder.clone());
    let members = resource.as_object_mut().unwrap();
    members.insert(
        "identifier".into(),
        json!([{"system": "https://example-hospital.org/acct", "value": account}]),
    );
    members.insert("serialNumber".into(), json!(serial));
    members.insert("lotNumber".into(), json!(lot));
    members.insert("x-account-balance".into(), json!(local));
    members.insert(
        "contained".into(),
        json!([{"resourceType": "Patient", "id": "holder", "name": [{"text": holder}], "identifier": [{"value": mrn}]}]),
    );
    if members["resourceType"] == "Observation" {
        let local_code =
            json!({"coding": [{"system": "https://example-hospital.org/codes", "code": "ACCT"}]});
        let components = [
            json!({"code": local_code, "valueInteger": number(rng)}),
            json!({"code": local_code, "valueQuantity": {"value": number(rng)}}),
        ];
        members
            .entry("component")
            .or_insert_with(|| json!([]))
            .as_array_mut()
            .unwrap()
            .extend(components);
    }
}

/// Age codes: LOINC's (HL7 value set v3-LOINCObservationActContextAgeType, and a lab's age
/// at specimen collection) and SNOMED CT's.
const AGE_CODES: [(&str, &str); 9] = [
    ("http://loinc.org", "30525-0"),
    ("http://loinc.org", "21611-9"),
    ("http://loinc.org", "21612-7"),
    ("http://loinc.org", "29553-5"),
    ("http://loinc.org", "30972-4"),
    ("http://loinc.org", "35659-2"),
    ("http://snomed.info/sct", "397669002"),
    ("http://snomed.info/sct", "424144002"),
    ("http://snomed.info/sct", "445518008"),
];

/// An age of 90 years or more in one of the ways FHIR R4 resources write ages.
fn age_90_plus(rng: &mut StdRng) -> Value {
    let years: f64 = rng.gen_range(90.0..115.0);
    let ucum = "http://unitsofmeasure.org";
    let (value, unit) = match rng.gen_range(0..8) {
        0 => (years.floor(), json!({"system": ucum, "code": "a"})),
        1 => (
            (years * 12.0).floor(),
            json!({"system": ucum, "code": "mo"}),
        ),
        2 => (
            (years * 52.18).ceil(),
            json!({"system": ucum, "code": "wk"}),
        ),
        3 => (
            (years * 365.25).ceil(),
            json!({"system": ucum, "code": "d"}),
        ),
        4 => (years.floor(), json!({"unit": "years"})),
        5 => ((years * 12.0).floor(), json!({"unit": "months"})),
        6 => (years.floor(), json!({"unit": "yr", "code": "a"})),
        _ => (years.floor(), json!({})),
    };
    let mut quantity = unit;
    quantity["value"] = json!(value);
    quantity
}

/// Resources of `patient` holding ages of 90 or more in every position FHIR R4 has
/// for them: age-coded Observations (valueQuantity, valueInteger, valueRange,
/// components) and the Age datatype of Condition, AllergyIntolerance, Procedure and
/// FamilyMemberHistory.
fn planted_ages(patient: &str, n: usize, rng: &mut StdRng) -> Vec<Value> {
    let subject = json!({"reference": format!("Patient/{patient}")});
    let age_code = |rng: &mut StdRng| {
        let (system, code) = AGE_CODES[rng.gen_range(0..AGE_CODES.len())];
        json!({"coding": [{"system": system, "code": code}]})
    };
    let snomed =
        |code: &str| json!({"coding": [{"system": "http://snomed.info/sct", "code": code}]});
    let id = |kind: &str| format!("age-{kind}-{patient}-{n}");
    let observation = |rng: &mut StdRng, kind: &str, value: (&str, Value)| {
        let mut resource = json!({"resourceType": "Observation", "id": id(kind), "status": "final",
            "code": age_code(rng), "subject": subject});
        resource[value.0] = value.1;
        resource
    };
    let (quantity, integer, range_low) = (
        age_90_plus(rng),
        json!(rng.gen_range(90..115)),
        age_90_plus(rng),
    );
    let component = json!([{"code": age_code(rng), "valueQuantity": age_90_plus(rng)}]);
    let mut panel = observation(rng, "panel", ("component", component));
    panel["code"] = json!({"coding": [{"system": "http://loinc.org", "code": "85353-1"}]});
    vec![
        observation(rng, "quantity", ("valueQuantity", quantity)),
        observation(rng, "integer", ("valueInteger", integer)),
        observation(rng, "range", ("valueRange", json!({"low": range_low}))),
        panel,
        json!({"resourceType": "Condition", "id": id("condition"), "subject": subject,
            "code": snomed("44054006"), "onsetAge": age_90_plus(rng)}),
        json!({"resourceType": "AllergyIntolerance", "id": id("allergy"), "patient": subject,
            "code": snomed("227493005"), "onsetAge": age_90_plus(rng)}),
        json!({"resourceType": "Procedure", "id": id("procedure"), "status": "completed", "subject": subject,
            "code": snomed("80146002"), "performedAge": age_90_plus(rng)}),
        json!({"resourceType": "FamilyMemberHistory", "id": id("relative"), "status": "completed", "patient": subject,
            "ageAge": age_90_plus(rng), "condition": [{"code": snomed("22298006"), "onsetAge": age_90_plus(rng)}]}),
    ]
}

/// The years a delivered quantity stands for, if its unit is one of time.
fn years_of(quantity: &Value) -> Option<f64> {
    let value = quantity.get("value")?.as_f64()?;
    let per_year = match quantity.get("code")?.as_str()? {
        "a" => 1.0,
        "mo" => 12.0,
        "wk" => 365.25 / 7.0,
        "d" => 365.0,
        "h" => 365.0 * 24.0,
        "min" => 365.0 * 1440.0,
        _ => return None,
    };
    Some(value / per_year)
}

/// Every age the delivery holds, with where it is: quantities in a time unit anywhere,
/// and the values of age-coded Observations and components.
fn ages_in(value: &Value, at: &str, ages: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(members) => {
            let age_coded = members
                .get("code")
                .and_then(|code| code["coding"].as_array())
                .is_some_and(|codings| {
                    codings.iter().any(|c| {
                        AGE_CODES
                            .iter()
                            .any(|(system, code)| c["system"] == *system && c["code"] == *code)
                    })
                });
            for (name, member) in members {
                let path = format!("{at}.{name}");
                if years_of(member).is_some() || (age_coded && name.starts_with("value")) {
                    ages.push((path.clone(), member.clone()));
                }
                ages_in(member, &path, ages);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| ages_in(item, at, ages)),
        _ => {}
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
    let mut source_resources = corpus_resources(&corpus());
    source_resources.extend(r4_examples());
    let enrolled = ["pat-1001", "pat-1002", "pat-1003", "pat-1004", "pat-1005"];
    for seed in 0..6u64 {
        let mut rng = StdRng::seed_from_u64(0x5afe_4a7b ^ seed);
        let mut planted = Vec::new();
        let mut numbers = Vec::new();
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("export");
        std::fs::create_dir_all(&input).unwrap();
        let mut file = std::fs::File::create(input.join("planted.ndjson")).unwrap();
        let mut ages = Vec::new();
        for (n, patient) in enrolled.iter().enumerate() {
            ages.extend(planted_ages(patient, n, &mut rng));
        }
        for resource in source_resources.iter().chain(&ages) {
            let mut resource = resource.clone();
            plant_strings(&mut resource, &mut rng, 0.5, &mut planted);
            plant_in_every_element(&mut resource, &mut rng, &mut planted, &mut numbers);
            plant_around(&mut resource, &mut rng, &mut planted);
            plant_numbers_around(&mut resource, &mut rng, &mut planted, &mut numbers);
            writeln!(file, "{resource}").unwrap();
        }
        drop(file);
        assert!(
            planted.len() > 500 && numbers.len() > 500,
            "seed {seed}: only {} values and {} numbers planted",
            planted.len(),
            numbers.len()
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
        let surviving_numbers: Vec<&u64> = numbers
            .iter()
            .filter(|number| text.contains(&number.to_string()))
            .collect();
        assert!(
            surviving_numbers.is_empty(),
            "seed {seed}: planted numbers survived: {surviving_numbers:?}"
        );

        // Every planted age is 90 or more: each one delivered must be the category.
        let mut delivered_ages = Vec::new();
        for resource in delivery_resources(&out) {
            ages_in(
                &resource,
                resource["resourceType"].as_str().unwrap(),
                &mut delivered_ages,
            );
        }
        let category = |q: &Value| {
            q.get("code") == Some(&json!("a"))
                && q.get("value").and_then(Value::as_f64) == Some(90.0)
                && q.get("comparator").is_none_or(|c| c == ">=")
        };
        let folded = delivered_ages
            .iter()
            .filter(|(_, age)| category(age) || age.get("low").is_some_and(category))
            .count();
        let exposed: Vec<&(String, Value)> = delivered_ages
            .iter()
            .filter(|(_, age)| {
                let own = years_of(age).is_some_and(|years| years >= 89.99) && !category(age);
                let bare = age.is_number();
                let range = ["low", "high"].iter().any(|bound| {
                    age.get(*bound)
                        .is_some_and(|q| !category(q) && years_of(q).is_none_or(|y| y >= 89.99))
                });
                own || bare || range
            })
            .collect();
        assert!(
            exposed.is_empty(),
            "seed {seed}: ages of 90 or more survived: {exposed:?}"
        );
        assert!(
            // Planting replaces half the strings (codes and units too), so not all are
            // still readable as ages; those are withheld.
            folded >= enrolled.len(),
            "seed {seed}: the planted ages are delivered as the 90+ category ({folded})"
        );
    }
}
