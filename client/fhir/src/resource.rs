//! What this library knows about FHIR R4 resources: the collected types, ids,
//! references, the patient a resource belongs to, its category codes and its date.

use serde_json::Value;

/// The resource types collected from an export, each with the element that names its
/// patient (FHIR R4 Patient compartment). Others are reported as unknown.
pub const COLLECTED_TYPES: [(&str, &str); 20] = [
    ("Patient", "id"),
    ("AllergyIntolerance", "patient"),
    ("CarePlan", "subject"),
    ("CareTeam", "subject"),
    ("Condition", "subject"),
    ("Device", "patient"),
    ("DiagnosticReport", "subject"),
    ("DocumentReference", "subject"),
    ("Encounter", "subject"),
    ("FamilyMemberHistory", "patient"),
    ("Goal", "subject"),
    ("Immunization", "patient"),
    ("MedicationAdministration", "subject"),
    ("MedicationDispense", "subject"),
    ("MedicationRequest", "subject"),
    ("MedicationStatement", "subject"),
    ("Observation", "subject"),
    ("Procedure", "subject"),
    ("ServiceRequest", "subject"),
    ("Specimen", "subject"),
];

pub fn is_collected_type(resource_type: &str) -> bool {
    patient_element(resource_type).is_some()
}

/// The element of a collected resource type that references its patient (`id` for the
/// Patient itself).
pub fn patient_element(resource_type: &str) -> Option<&'static str> {
    COLLECTED_TYPES
        .iter()
        .find(|(name, _)| *name == resource_type)
        .map(|(_, element)| *element)
}

/// FHIR `id`: `[A-Za-z0-9\-\.]{1,64}`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// `Type/id` of a resource.
pub fn resource_key(resource_type: &str, id: &str) -> String {
    format!("{resource_type}/{id}")
}

/// Parses a literal reference into `(Type, id)`: relative `Type/id`, `Type/id/_history/n`,
/// or an absolute URL ending in one of those. Contained (`#x`) and `urn:` references
/// are not literal references to a resource of the export.
pub fn parse_reference(reference: &str) -> Option<(&str, &str)> {
    if reference.starts_with('#') || reference.starts_with("urn:") {
        return None;
    }
    // Most references hold no `_` at all (ids and types cannot), and looking for one byte
    // costs far less than setting up a substring search for every reference delivered.
    let history =
        memchr::memchr(b'_', reference.as_bytes()).and_then(|_| reference.find("/_history/"));
    let trimmed = match history {
        Some(at) => &reference[..at],
        None => reference,
    };
    let mut parts = trimmed.rsplitn(3, '/');
    let id = parts.next()?;
    let resource_type = parts.next()?;
    let starts_upper = resource_type
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase());
    (starts_upper && resource_type.chars().all(|c| c.is_ascii_alphabetic()) && is_valid_id(id))
        .then_some((resource_type, id))
}

/// The id of the patient whose compartment holds `resource`: its own id for a Patient,
/// the Patient its [`patient_element`] references otherwise.
pub fn compartment_patient(resource_type: &str, resource: &Value) -> Option<String> {
    if resource_type == "Patient" {
        return resource
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    let reference = patient_reference(resource_type, resource)?;
    match parse_reference(reference)? {
        ("Patient", id) => Some(id.to_string()),
        _ => None,
    }
}

/// The reference text of a resource's patient element, as written.
pub fn patient_reference<'a>(resource_type: &str, resource: &'a Value) -> Option<&'a str> {
    resource
        .get(patient_element(resource_type)?)?
        .get("reference")?
        .as_str()
}

/// Every literal reference in `resource` that points at a collected type, as `Type/id`.
pub fn collected_references(resource: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk_references(resource, &mut found);
    found
}

fn walk_references(value: &Value, found: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            if let Some(Value::String(reference)) = members.get("reference") {
                if let Some((resource_type, id)) = parse_reference(reference) {
                    if is_collected_type(resource_type) {
                        found.push(resource_key(resource_type, id));
                    }
                }
            }
            members
                .values()
                .for_each(|member| walk_references(member, found));
        }
        Value::Array(items) => items.iter().for_each(|item| walk_references(item, found)),
        _ => {}
    }
}

/// A record's category codes: its type in lower case, and `type:code` for each coded
/// category (`category` codings, or codes as AllergyIntolerance writes them; an
/// Encounter's `class`). Sorted, without duplicates. Codes are written as listings and
/// consents name them: lower case, and any character other than `a-z 0-9 . _ -` becomes `_`
/// (FHIR codes may be upper case, as v3 ActCode's `AMB`, or hold spaces and colons).
pub fn category_codes(resource_type: &str, resource: &Value) -> Vec<String> {
    let lower = resource_type.to_ascii_lowercase();
    let mut codes = vec![lower.clone()];
    let mut push_code = |code: &str| {
        let code: String = code
            .trim()
            .chars()
            .map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9' | '.' | '_' | '-') => c,
                _ => '_',
            })
            .collect();
        if !code.is_empty() {
            codes.push(format!("{lower}:{code}"));
        }
    };
    let mut push_category = |category: &Value| match category {
        Value::String(code) => push_code(code),
        concept => concept
            .get("coding")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|coding| coding.get("code").and_then(Value::as_str))
            .for_each(&mut push_code),
    };
    match resource.get("category") {
        Some(Value::Array(categories)) => categories.iter().for_each(&mut push_category),
        Some(category) => push_category(category),
        None => {}
    }
    if let Some(code) = resource
        .get("class")
        .and_then(|class| class.get("code"))
        .and_then(Value::as_str)
    {
        push_code(code);
    }
    codes.sort();
    codes.dedup();
    codes
}

/// The clinically relevant date of a record (`YYYY[-MM[-DD]]`), used by listing time ranges.
pub fn record_date(resource: &Value) -> Option<String> {
    const DATE_ELEMENTS: [&[&str]; 17] = [
        &["effectiveDateTime"],
        &["effectivePeriod", "start"],
        &["period", "start"],
        &["onsetDateTime"],
        &["recordedDate"],
        &["authoredOn"],
        &["issued"],
        &["effectiveInstant"],
        &["performedDateTime"],
        &["performedPeriod", "start"],
        &["occurrenceDateTime"],
        &["occurrencePeriod", "start"],
        &["whenHandedOver"],
        &["collection", "collectedDateTime"],
        &["startDate"],
        &["created"],
        &["date"],
    ];
    DATE_ELEMENTS.iter().find_map(|path| {
        let value = path
            .iter()
            .try_fold(resource, |node, name| node.get(*name))?;
        let text = value.as_str()?;
        let date = text.get(..10.min(text.len()))?;
        date_prefix_is_valid(date).then(|| date.to_string())
    })
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, digits where digits belong.
pub fn date_prefix_is_valid(date: &str) -> bool {
    let bytes = date.as_bytes();
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    match bytes.len() {
        4 => digits(0..4),
        7 => digits(0..4) && bytes[4] == b'-' && digits(5..7),
        10 => digits(0..4) && bytes[4] == b'-' && digits(5..7) && bytes[7] == b'-' && digits(8..10),
        _ => false,
    }
}

/// The year of a FHIR date, dateTime or instant, if it has one.
pub fn year_of(date: &str) -> Option<i32> {
    let year = date.get(..4)?;
    let rest = &date[4..];
    (year.bytes().all(|b| b.is_ascii_digit()) && (rest.is_empty() || rest.starts_with('-')))
        .then(|| year.parse().ok())?
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_parse_relative_absolute_and_versioned_forms() {
        assert_eq!(parse_reference("Patient/p-1"), Some(("Patient", "p-1")));
        assert_eq!(
            parse_reference("https://fhir.example/r4/Encounter/e.9/_history/3"),
            Some(("Encounter", "e.9"))
        );
        assert_eq!(parse_reference("#contained"), None);
        assert_eq!(parse_reference("urn:uuid:1234"), None);
        assert_eq!(parse_reference("Patient/"), None);
        assert_eq!(parse_reference("patient/x"), None);
    }

    #[test]
    fn category_codes_include_type_and_coded_categories() {
        let observation =
            json!({"category": [{"coding": [{"code": "laboratory"}, {"code": "vital-signs"}]}]});
        assert_eq!(
            category_codes("Observation", &observation),
            [
                "observation",
                "observation:laboratory",
                "observation:vital-signs"
            ]
        );
        let encounter = json!({"class": {"code": "AMB"}});
        assert_eq!(
            category_codes("Encounter", &encounter),
            ["encounter", "encounter:amb"]
        );
    }

    #[test]
    fn category_codes_are_valid_listing_codes_whatever_the_fhir_code() {
        let odd = json!({"category": [{"coding": [{"code": "Social History"}, {"code": "a:b/C"},
            {"code": "  "}, {"code": "é"}]}]});
        let codes = category_codes("Observation", &odd);
        assert_eq!(
            codes,
            [
                "observation",
                "observation:_",
                "observation:a_b_c",
                "observation:social_history"
            ]
        );
        for code in codes {
            assert!(
                pallet_listing::is_valid_category_code(code.as_bytes()),
                "{code} is not a valid listing code"
            );
        }
    }

    #[test]
    fn the_new_types_find_their_patient_category_and_date_where_fhir_r4_puts_them() {
        let allergy = json!({"patient": {"reference": "Patient/p-7"}, "category": ["food", "medication"],
            "recordedDate": "2014-10-09T14:58:00+11:00"});
        assert_eq!(
            compartment_patient("AllergyIntolerance", &allergy).as_deref(),
            Some("p-7")
        );
        assert_eq!(
            category_codes("AllergyIntolerance", &allergy),
            [
                "allergyintolerance",
                "allergyintolerance:food",
                "allergyintolerance:medication"
            ]
        );
        // An Immunization names its patient `patient`; a `subject` is not read for it.
        let immunization =
            json!({"subject": {"reference": "Patient/p-7"}, "occurrenceDateTime": "2013-01-10"});
        assert_eq!(compartment_patient("Immunization", &immunization), None);
        assert_eq!(record_date(&immunization).as_deref(), Some("2013-01-10"));
        let procedure = json!({"subject": {"reference": "Patient/p-7"}, "performedPeriod": {"start": "2013-04-05T10:00:00Z"}});
        assert_eq!(
            compartment_patient("Procedure", &procedure).as_deref(),
            Some("p-7")
        );
        assert_eq!(record_date(&procedure).as_deref(), Some("2013-04-05"));
        assert!(!is_collected_type("Coverage") && !is_collected_type("Practitioner"));
    }

    #[test]
    fn record_date_takes_the_first_clinical_date() {
        assert_eq!(
            record_date(&json!({"effectiveDateTime": "2021-04-05T10:00:00Z"})).as_deref(),
            Some("2021-04-05")
        );
        assert_eq!(
            record_date(&json!({"period": {"start": "2019-11"}})).as_deref(),
            Some("2019-11")
        );
        assert_eq!(record_date(&json!({"authoredOn": "yesterday"})), None);
    }

    #[test]
    fn years_are_read_only_from_well_formed_dates() {
        assert_eq!(year_of("1931-02-03"), Some(1931));
        assert_eq!(year_of("1931"), Some(1931));
        assert_eq!(year_of("19310"), None);
        assert_eq!(year_of("(617) 555-0143"), None);
    }
}
