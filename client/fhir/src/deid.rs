//! De-identification of one resource under a [`Profile`]: HIPAA Safe Harbor,
//! 45 CFR 164.514(b)(2).
//!
//! Only what the profile allows is built into the output; everything else — unknown
//! elements and extensions, narrative, notes, attachments, names, telecom, identifiers,
//! any string that is not a known code — is simply never copied. Ids and references
//! become keyed pseudonyms under a per-delivery [`Pseudonymizer`].
//!
//! How each of the 18 Safe Harbor identifier kinds is handled by the default profile:
//!
//! | # | identifier | handling |
//! |---|---|---|
//! | A | names | `name`, `contact`, displays, `text` never copied |
//! | B | geography below state | `address` → state, ZIP3 (`000` for the restricted list), country |
//! | C | dates except year; ages 90+ | every date → year; 90+ → no birth year (age-group extension), ages in years ≥ 90 → `>= 90` |
//! | D–F | phone, fax, email | `telecom` never copied |
//! | G | SSN | `identifier` never copied |
//! | H | medical record numbers | `identifier`, `meta.source` never copied; ids → pseudonyms |
//! | I | health plan beneficiary numbers | `identifier`, `Coverage` not collected |
//! | J | account numbers | `identifier` never copied |
//! | K | certificate / licence numbers | `identifier`, `qualification` never copied |
//! | L | vehicle identifiers | free text and unknown extensions never copied |
//! | M | device identifiers and serials | `device`, `udiCarrier` never copied |
//! | N | URLs | `telecom`, `Attachment.url`, unknown extension values never copied; only allowlisted code-system URIs |
//! | O | IP addresses | free text and unknown extensions never copied |
//! | P | biometric identifiers | no element carrying them is on the allowlist |
//! | Q | full-face photographs | `photo`, `presentedForm`, every `Attachment` never copied |
//! | R | any other unique code | codes only from allowlisted terminologies, syntax-checked; references → pseudonyms |

use crate::profile::{Kind, ObjectRules, Profile, Rule, Shape};
use crate::resource::{parse_reference, resource_key, year_of};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::collections::HashSet;
use zeroize::Zeroizing;

/// Marks a Patient whose age (90 or more) was folded: birth year removed.
pub const AGE_90_OR_OVER_EXTENSION: &str = "urn:medledger:fhir:extension:age-90-or-over";
const SECURITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

/// Keyed pseudonyms: HMAC-SHA256 under a secret that exists for one delivery only, so
/// pseudonyms link resources within a delivery and never across deliveries.
pub struct Pseudonymizer {
    key: Zeroizing<[u8; 32]>,
}

impl Pseudonymizer {
    /// A fresh random key; it is dropped (and zeroized) with the delivery.
    pub fn fresh() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        Self { key }
    }

    #[cfg(test)]
    pub(crate) fn with_key(key: [u8; 32]) -> Self {
        Self {
            key: Zeroizing::new(key),
        }
    }

    /// The pseudonym of `Type/id`: 128 bits of HMAC-SHA256, hex (a valid FHIR id).
    pub fn pseudonym(&self, resource_key: &str) -> String {
        let mut mac =
            <Hmac<Sha256>>::new_from_slice(self.key.as_ref()).expect("HMAC takes any key length");
        mac.update(resource_key.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// What the engine needs to know about the compartment a resource is in.
pub struct CompartmentView<'a> {
    /// `Type/id` (original ids) of every resource in this delivery's part of the
    /// compartment: references to anything else are dropped, so all references resolve.
    pub delivered: &'a HashSet<String>,
    /// The patient is 90 or older (at delivery or at death).
    pub age_90_or_over: bool,
}

/// Whether a patient with this birth date is (or died) aged 90 or over. Years only, so
/// it errs on the safe side: anyone who may be 90 in `as_of_year` counts.
pub fn is_age_90_or_over(patient: &Value, as_of_year: i32) -> bool {
    let Some(birth_year) = patient
        .get("birthDate")
        .and_then(Value::as_str)
        .and_then(year_of)
    else {
        return false;
    };
    let end_year = patient
        .get("deceasedDateTime")
        .and_then(Value::as_str)
        .and_then(year_of)
        .unwrap_or(as_of_year);
    end_year.saturating_sub(birth_year) >= 90
}

/// Applies a profile to resources.
pub struct Deidentifier<'a> {
    pub profile: &'a Profile,
    pub pseudonyms: &'a Pseudonymizer,
}

impl Deidentifier<'_> {
    /// The de-identified form of `resource`, or `None` if the profile has no rules for
    /// its type.
    pub fn deidentify(
        &self,
        resource_type: &str,
        id: &str,
        resource: &Value,
        view: &CompartmentView<'_>,
    ) -> Option<Value> {
        let rules = self.profile.resources.get(resource_type)?;
        let mut out = match resource {
            Value::Object(members) => self.apply_object(rules, members, view),
            _ => return None,
        };
        out.insert(
            "resourceType".into(),
            Value::String(resource_type.to_string()),
        );
        out.insert(
            "id".into(),
            Value::String(self.pseudonyms.pseudonym(&resource_key(resource_type, id))),
        );
        if resource_type == "Patient" && view.age_90_or_over {
            let marker = json!({"url": AGE_90_OR_OVER_EXTENSION, "valueBoolean": true});
            match out.get_mut("extension") {
                Some(Value::Array(extensions)) => extensions.push(marker),
                _ => {
                    out.insert("extension".into(), Value::Array(vec![marker]));
                }
            }
        }
        let mut labels = vec![json!({"system": SECURITY_SYSTEM, "code": "PSEUDED"})];
        if has_member_named(resource, &self.profile.free_text_elements) {
            labels.push(json!({"system": SECURITY_SYSTEM, "code": "REDACTED"}));
        }
        out.insert("meta".into(), json!({ "security": labels }));
        Some(Value::Object(out))
    }

    fn apply_object(
        &self,
        rules: &ObjectRules,
        members: &Map<String, Value>,
        view: &CompartmentView<'_>,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (name, rule) in rules {
            if let Some(value) = members
                .get(name)
                .and_then(|value| self.apply_rule(rule, value, view))
            {
                out.insert(name.clone(), value);
            }
        }
        out
    }

    fn apply_rule(&self, rule: &Rule, value: &Value, view: &CompartmentView<'_>) -> Option<Value> {
        if rule.list {
            let items: Vec<Value> = value
                .as_array()?
                .iter()
                .filter_map(|item| self.apply_shape(&rule.shape, item, view))
                .collect();
            (!items.is_empty()).then_some(Value::Array(items))
        } else {
            self.apply_shape(&rule.shape, value, view)
        }
    }

    fn apply_shape(
        &self,
        shape: &Shape,
        value: &Value,
        view: &CompartmentView<'_>,
    ) -> Option<Value> {
        match shape {
            Shape::Enum(allowed) => value
                .as_str()
                .filter(|text| allowed.contains(*text))
                .map(|text| Value::String(text.to_string())),
            Shape::Object(rules) => {
                let out = self.apply_object(rules, value.as_object()?, view);
                (!out.is_empty()).then_some(Value::Object(out))
            }
            Shape::Kind(kind) => self.apply_kind(*kind, value, view),
        }
    }

    fn apply_kind(&self, kind: Kind, value: &Value, view: &CompartmentView<'_>) -> Option<Value> {
        match kind {
            Kind::Reference => {
                let (resource_type, id) = parse_reference(value.get("reference")?.as_str()?)?;
                let key = resource_key(resource_type, id);
                view.delivered
                    .contains(&key)
                    .then(|| json!({ "reference": format!("{resource_type}/{}", self.pseudonyms.pseudonym(&key)) }))
            }
            Kind::Date => year(value),
            Kind::BirthDate => {
                if view.age_90_or_over {
                    None
                } else {
                    year(value)
                }
            }
            Kind::Period => {
                let mut out = Map::new();
                for bound in ["start", "end"] {
                    if let Some(year) = value.get(bound).and_then(year) {
                        out.insert(bound.into(), year);
                    }
                }
                (!out.is_empty()).then_some(Value::Object(out))
            }
            Kind::Boolean => value.as_bool().map(Value::Bool),
            Kind::Number => value.is_number().then(|| value.clone()),
            Kind::Coding => self.coding(value),
            Kind::Codeable => {
                let codings: Vec<Value> = value
                    .get("coding")?
                    .as_array()?
                    .iter()
                    .filter_map(|c| self.coding(c))
                    .collect();
                (!codings.is_empty()).then(|| json!({ "coding": codings }))
            }
            Kind::Quantity => self.quantity(value),
            Kind::Address => self.address(value),
            Kind::Extensions => {
                let url = value.get("url")?.as_str()?;
                let rules = self.profile.extensions.get(url)?;
                let mut out = self.apply_object(rules, value.as_object()?, view);
                if out.is_empty() {
                    return None;
                }
                out.insert("url".into(), Value::String(url.to_string()));
                Some(Value::Object(out))
            }
        }
    }

    fn coding(&self, coding: &Value) -> Option<Value> {
        let system = coding.get("system")?.as_str()?;
        let code = coding.get("code")?.as_str()?;
        self.profile
            .code_allowed(system, code)
            .then(|| json!({"system": system, "code": code}))
    }

    fn quantity(&self, quantity: &Value) -> Option<Value> {
        let original = quantity.get("value").filter(|v| v.is_number())?;
        let mut value = original.clone();
        let mut out = Map::new();
        let unit = match (
            quantity.get("system").and_then(Value::as_str),
            quantity.get("code").and_then(Value::as_str),
        ) {
            (Some(system @ "http://unitsofmeasure.org"), Some(code))
                if self.profile.ucum_units.contains(code) =>
            {
                out.insert("system".into(), Value::String(system.into()));
                out.insert("code".into(), Value::String(code.into()));
                Some(code)
            }
            _ => None,
        };
        let mut comparator = quantity
            .get("comparator")
            .and_then(Value::as_str)
            .filter(|c| ["<", "<=", ">=", ">"].contains(c));
        // An age of 90 or more is itself an identifier under Safe Harbor: fold it.
        if unit == Some("a") && original.as_f64().is_some_and(|years| years >= 90.0) {
            value = json!(90);
            comparator = Some(">=");
        }
        out.insert("value".into(), value);
        if let Some(comparator) = comparator {
            out.insert("comparator".into(), Value::String(comparator.into()));
        }
        Some(Value::Object(out))
    }

    fn address(&self, address: &Value) -> Option<Value> {
        let mut out = Map::new();
        if let Some(state) = address
            .get("state")
            .and_then(Value::as_str)
            .filter(|s| self.profile.us_states.contains(*s))
        {
            out.insert("state".into(), Value::String(state.into()));
        }
        if let Some(zip3) = address
            .get("postalCode")
            .and_then(Value::as_str)
            .and_then(|zip| self.zip3(zip))
        {
            out.insert("postalCode".into(), Value::String(zip3));
        }
        if let Some(country) = address
            .get("country")
            .and_then(Value::as_str)
            .filter(|c| self.profile.countries.contains(*c))
        {
            out.insert("country".into(), Value::String(country.into()));
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    /// The first three digits of a US ZIP (`12345` or `12345-6789`), `000` for restricted
    /// areas; anything else is not a ZIP and is dropped.
    pub fn zip3(&self, zip: &str) -> Option<String> {
        let bytes = zip.as_bytes();
        let five = bytes.len() >= 5 && bytes[..5].iter().all(u8::is_ascii_digit);
        let plus_four = bytes.len() == 5
            || (bytes.len() == 10 && bytes[5] == b'-' && bytes[6..].iter().all(u8::is_ascii_digit));
        if !(five && plus_four) {
            return None;
        }
        let zip3 = &zip[..3];
        Some(if self.profile.restricted_zip3.contains(zip3) {
            "000".into()
        } else {
            zip3.into()
        })
    }
}

/// Whether any object inside `value` has a member with one of `names`.
fn has_member_named(value: &Value, names: &[String]) -> bool {
    match value {
        Value::Object(members) => {
            names.iter().any(|name| members.contains_key(name))
                || members.values().any(|m| has_member_named(m, names))
        }
        Value::Array(items) => items.iter().any(|item| has_member_named(item, names)),
        _ => false,
    }
}

fn year(value: &Value) -> Option<Value> {
    value
        .as_str()
        .and_then(year_of)
        .map(|year| Value::String(format!("{year:04}")))
}

/// The quasi-identifier class of a de-identified Patient: birth year (or `90+`), sex, ZIP3.
pub fn quasi_identifier_class(patient: &Value) -> String {
    let over_90 = patient
        .get("extension")
        .and_then(Value::as_array)
        .is_some_and(|extensions| {
            extensions
                .iter()
                .any(|e| e.get("url").and_then(Value::as_str) == Some(AGE_90_OR_OVER_EXTENSION))
        });
    let birth_year = if over_90 {
        "90+".to_string()
    } else {
        patient
            .get("birthDate")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string()
    };
    let sex = patient
        .get("gender")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let zip3 = patient
        .pointer("/address/0/postalCode")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    format!("{birth_year}|{sex}|{zip3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine_parts() -> (Profile, Pseudonymizer) {
        (
            Profile::safe_harbor().unwrap(),
            Pseudonymizer::with_key([3; 32]),
        )
    }

    #[test]
    fn zip_codes_keep_three_digits_and_restricted_areas_become_000() {
        let (profile, pseudonyms) = engine_parts();
        let engine = Deidentifier {
            profile: &profile,
            pseudonyms: &pseudonyms,
        };
        assert_eq!(engine.zip3("02139").as_deref(), Some("021"));
        assert_eq!(engine.zip3("02139-4307").as_deref(), Some("021"));
        assert_eq!(engine.zip3("03601").as_deref(), Some("000"));
        assert_eq!(engine.zip3("89012").as_deref(), Some("000"));
        assert_eq!(engine.zip3("SW1A 1AA"), None);
        assert_eq!(engine.zip3("021394"), None);
    }

    #[test]
    fn ages_of_90_or_more_are_folded_in_quantities_and_birth_dates() {
        let (profile, pseudonyms) = engine_parts();
        let engine = Deidentifier {
            profile: &profile,
            pseudonyms: &pseudonyms,
        };
        let age = json!({"value": 94, "system": "http://unitsofmeasure.org", "code": "a", "unit": "years"});
        assert_eq!(
            engine.quantity(&age),
            Some(
                json!({"value": 90, "comparator": ">=", "system": "http://unitsofmeasure.org", "code": "a"})
            )
        );
        let young = json!({"value": 89, "system": "http://unitsofmeasure.org", "code": "a"});
        assert_eq!(
            engine.quantity(&young).map(|q| q["value"].clone()),
            Some(json!(89))
        );
        assert!(is_age_90_or_over(&json!({"birthDate": "1934-05-02"}), 2026));
        assert!(!is_age_90_or_over(
            &json!({"birthDate": "1937-05-02"}),
            2026
        ));
        assert!(!is_age_90_or_over(
            &json!({"birthDate": "1920-05-02", "deceasedDateTime": "1999-01-01"}),
            2026
        ));
    }

    #[test]
    fn pseudonyms_depend_on_the_delivery_key() {
        let a = Pseudonymizer::with_key([1; 32]);
        let b = Pseudonymizer::with_key([2; 32]);
        assert_eq!(a.pseudonym("Patient/p1"), a.pseudonym("Patient/p1"));
        assert_ne!(a.pseudonym("Patient/p1"), a.pseudonym("Patient/p2"));
        assert_ne!(a.pseudonym("Patient/p1"), b.pseudonym("Patient/p1"));
        assert!(crate::resource::is_valid_id(&a.pseudonym("Patient/p1")));
    }
}
