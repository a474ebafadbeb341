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

use crate::json::{number_as_f64, write_number, write_string, Element};
use crate::profile::{Kind, ObjectRules, Profile, Rule, Shape};
use crate::resource::{parse_reference, resource_key, year_of};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::collections::HashMap;
use zeroize::Zeroizing;

/// Marks a Patient whose age (90 or more) was folded: birth year removed.
pub const AGE_90_OR_OVER_EXTENSION: &str = "urn:medledger:fhir:extension:age-90-or-over";
const SECURITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
const UCUM_SYSTEM: &str = "http://unitsofmeasure.org";

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
        Pseudonym::of(self, resource_key).as_str().to_string()
    }
}

/// A pseudonym held inline (32 hex digits), so a compartment's table of them does not
/// allocate one string each.
#[derive(Clone, Copy)]
pub struct Pseudonym([u8; 32]);

impl Pseudonym {
    pub fn of(pseudonyms: &Pseudonymizer, resource_key: &str) -> Self {
        let mut mac = <Hmac<Sha256>>::new_from_slice(pseudonyms.key.as_ref())
            .expect("HMAC takes any key length");
        mac.update(resource_key.as_bytes());
        let mut text = [0u8; 32];
        hex::encode_to_slice(&mac.finalize().into_bytes()[..16], &mut text)
            .expect("16 bytes are 32 hex digits");
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// What the engine needs to know about the compartment a resource is in.
pub struct CompartmentView<'a> {
    /// The pseudonym of every resource (`Type/id`, original ids) in this delivery's part
    /// of the compartment: references to anything else are dropped, so all references
    /// resolve. Each pseudonym is computed once per compartment.
    pub delivered: &'a HashMap<String, Pseudonym>,
    /// The patient is 90 or older (at delivery or at death).
    pub age_90_or_over: bool,
}

impl CompartmentView<'_> {
    fn pseudonym_of(&self, resource_type: &str, id: &str) -> Option<&str> {
        // `Type/id` assembled on the stack: references are looked up for every record.
        let mut buffer = [0u8; 128];
        let length = resource_type.len() + 1 + id.len();
        if length > buffer.len() {
            return self
                .delivered
                .get(&resource_key(resource_type, id))
                .map(Pseudonym::as_str);
        }
        buffer[..resource_type.len()].copy_from_slice(resource_type.as_bytes());
        buffer[resource_type.len()] = b'/';
        buffer[resource_type.len() + 1..length].copy_from_slice(id.as_bytes());
        let key = std::str::from_utf8(&buffer[..length]).ok()?;
        self.delivered.get(key).map(Pseudonym::as_str)
    }
}

/// Whether a patient with this birth date is (or died) aged 90 or over. Years only, so
/// it errs on the safe side: anyone who may be 90 in `as_of_year` counts.
pub fn is_age_90_or_over(patient: Element<'_>, as_of_year: i32) -> bool {
    let year_of_member = |name| {
        patient
            .get(name)
            .and_then(|value| value.as_str())
            .and_then(|text| year_of(&text))
    };
    let Some(birth_year) = year_of_member("birthDate") else {
        return false;
    };
    let end_year = year_of_member("deceasedDateTime").unwrap_or(as_of_year);
    end_year.saturating_sub(birth_year) >= 90
}

/// Writes one object member (`,"name":value`) if `value` writes something; otherwise
/// leaves `out` as it was. `first` tracks whether a comma is needed.
fn write_member(
    out: &mut Vec<u8>,
    first: &mut bool,
    name: &str,
    value: impl FnOnce(&mut Vec<u8>) -> bool,
) -> bool {
    let mark = out.len();
    if !*first {
        out.push(b',');
    }
    write_string(out, name);
    out.push(b':');
    if value(out) {
        *first = false;
        true
    } else {
        out.truncate(mark);
        false
    }
}

/// Writes `[item,…]` of the items `write_item` writes; nothing (and `false`) if none.
fn write_list<'a>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = Element<'a>>,
    mut write_item: impl FnMut(Element<'a>, &mut Vec<u8>) -> bool,
) -> bool {
    let mark = out.len();
    out.push(b'[');
    let mut empty = true;
    for item in items {
        let item_mark = out.len();
        if !empty {
            out.push(b',');
        }
        if write_item(item, out) {
            empty = false;
        } else {
            out.truncate(item_mark);
        }
    }
    if empty {
        out.truncate(mark);
        return false;
    }
    out.push(b']');
    true
}

/// Writes the year of a FHIR date as a string.
fn write_year(out: &mut Vec<u8>, value: Element<'_>) -> bool {
    match value.as_str() {
        // `year_of` accepts only four ASCII digits, which are the year as written.
        Some(text) if year_of(&text).is_some() => {
            write_string(out, &text[..4]);
            true
        }
        _ => false,
    }
}

fn write_security_label(out: &mut Vec<u8>, code: &str) {
    out.extend_from_slice(b"{\"code\":");
    write_string(out, code);
    out.extend_from_slice(b",\"system\":");
    write_string(out, SECURITY_SYSTEM);
    out.push(b'}');
}

fn write_age_marker(out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"url\":");
    write_string(out, AGE_90_OR_OVER_EXTENSION);
    out.extend_from_slice(b",\"valueBoolean\":true}");
}

/// `a < b` as strings, with the usual answer (a different first byte) decided without a
/// call to `memcmp`: it runs for every rule of every resource.
#[inline]
fn precedes(a: &str, b: &str) -> bool {
    match a.as_bytes().first().cmp(&b.as_bytes().first()) {
        std::cmp::Ordering::Equal => a < b,
        order => order == std::cmp::Ordering::Less,
    }
}

/// Members the engine writes into every resource, whatever the profile says.
#[derive(Clone, Copy, PartialEq, Eq)]
enum EngineMember {
    /// The 90+ marker, when the profile has no `extension` rule of its own.
    AgeMarker,
    Id,
    Meta,
    ResourceType,
}

impl EngineMember {
    fn name(self) -> &'static str {
        match self {
            EngineMember::AgeMarker => "extension",
            EngineMember::Id => "id",
            EngineMember::Meta => "meta",
            EngineMember::ResourceType => "resourceType",
        }
    }
}

/// Applies a profile to resources.
///
/// Output is written as compact JSON straight into a byte buffer, members in key order,
/// exactly as serialising the equivalent `serde_json::Value` would write it; nothing the
/// profile does not allow is ever read into the output.
pub struct Deidentifier<'a> {
    pub profile: &'a Profile,
    pub pseudonyms: &'a Pseudonymizer,
}

impl Deidentifier<'_> {
    /// Writes the de-identified form of `resource` (one JSON object) to `out`, or returns
    /// `false` and writes nothing if the profile has no rules for its type.
    pub fn deidentify(
        &self,
        resource_type: &str,
        id: &str,
        resource: Element<'_>,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        let Some(rules) = self.profile.resources.get(resource_type) else {
            return false;
        };
        if !resource.is_object() {
            return false;
        }
        let age_marker = resource_type == "Patient" && view.age_90_or_over;
        let mut engine_members = [
            EngineMember::AgeMarker,
            EngineMember::Id,
            EngineMember::Meta,
            EngineMember::ResourceType,
        ]
        .into_iter()
        .filter(|member| {
            *member != EngineMember::AgeMarker || (age_marker && !rules.contains_key("extension"))
        })
        .peekable();
        let write_engine_member = |member: EngineMember, out: &mut Vec<u8>, first: &mut bool| {
            write_member(out, first, member.name(), |out| {
                match member {
                    EngineMember::AgeMarker => {
                        out.push(b'[');
                        write_age_marker(out);
                        out.push(b']');
                    }
                    EngineMember::Id => match view.pseudonym_of(resource_type, id) {
                        Some(pseudonym) => write_string(out, pseudonym),
                        None => write_string(
                            out,
                            &self.pseudonyms.pseudonym(&resource_key(resource_type, id)),
                        ),
                    },
                    EngineMember::Meta => {
                        out.extend_from_slice(b"{\"security\":[");
                        write_security_label(out, "PSEUDED");
                        if resource.has_member_named(&self.profile.free_text_elements) {
                            out.push(b',');
                            write_security_label(out, "REDACTED");
                        }
                        out.extend_from_slice(b"]}");
                    }
                    EngineMember::ResourceType => write_string(out, resource_type),
                }
                true
            });
        };

        out.push(b'{');
        let mut first = true;
        let mut members = resource.members_by_name();
        for (name, rule) in rules {
            while let Some(member) = engine_members.next_if(|m| precedes(m.name(), name)) {
                write_engine_member(member, out, &mut first);
            }
            if age_marker && name == "extension" {
                // The marker joins the allowed extensions (or replaces a non-list rule's
                // output), so a 90+ patient always carries it.
                let value = members.find(name);
                write_member(out, &mut first, name, |out| {
                    out.push(b'[');
                    if let Some(items) = value.filter(|_| rule.list).and_then(|v| v.items()) {
                        for item in items {
                            let item_mark = out.len();
                            if self.write_shape(&rule.shape, item, view, out) {
                                out.push(b',');
                            } else {
                                out.truncate(item_mark);
                            }
                        }
                    }
                    write_age_marker(out);
                    out.push(b']');
                    true
                });
                continue;
            }
            if let Some(value) = members.find(name) {
                write_member(out, &mut first, name, |out| {
                    self.write_rule(rule, value, view, out)
                });
            }
        }
        for member in engine_members {
            write_engine_member(member, out, &mut first);
        }
        out.push(b'}');
        true
    }

    /// Writes the members `rules` allow from `object`; returns whether it wrote any.
    fn write_rule_members(
        &self,
        rules: &ObjectRules,
        object: Element<'_>,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
        first: &mut bool,
    ) -> bool {
        let mut wrote = false;
        let mut members = object.members_by_name();
        for (name, rule) in rules {
            if let Some(value) = members.find(name) {
                wrote |= write_member(out, first, name, |out| {
                    self.write_rule(rule, value, view, out)
                });
            }
        }
        wrote
    }

    fn write_rule(
        &self,
        rule: &Rule,
        value: Element<'_>,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        if rule.list {
            let Some(items) = value.items() else {
                return false;
            };
            write_list(out, items, |item, out| {
                self.write_shape(&rule.shape, item, view, out)
            })
        } else {
            self.write_shape(&rule.shape, value, view, out)
        }
    }

    fn write_shape(
        &self,
        shape: &Shape,
        value: Element<'_>,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        match shape {
            Shape::Enum(allowed) => match value.as_str() {
                Some(text) if allowed.contains(text.as_ref()) => {
                    write_string(out, &text);
                    true
                }
                _ => false,
            },
            Shape::Object(rules) => {
                if !value.is_object() {
                    return false;
                }
                let mark = out.len();
                out.push(b'{');
                if self.write_rule_members(rules, value, view, out, &mut true) {
                    out.push(b'}');
                    true
                } else {
                    out.truncate(mark);
                    false
                }
            }
            Shape::Kind(kind) => self.write_kind(*kind, value, view, out),
        }
    }

    fn write_kind(
        &self,
        kind: Kind,
        value: Element<'_>,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        match kind {
            Kind::Reference => {
                let Some(reference) = value.get("reference").and_then(|r| r.as_str()) else {
                    return false;
                };
                let Some((resource_type, id)) = parse_reference(&reference) else {
                    return false;
                };
                let Some(pseudonym) = view.pseudonym_of(resource_type, id) else {
                    return false;
                };
                // Both parts need no escaping: the type is ASCII letters, the pseudonym hex.
                out.extend_from_slice(b"{\"reference\":\"");
                out.extend_from_slice(resource_type.as_bytes());
                out.push(b'/');
                out.extend_from_slice(pseudonym.as_bytes());
                out.extend_from_slice(b"\"}");
                true
            }
            Kind::Date => write_year(out, value),
            Kind::BirthDate => !view.age_90_or_over && write_year(out, value),
            Kind::Period => {
                let mark = out.len();
                out.push(b'{');
                let mut first = true;
                let mut wrote = false;
                for bound in ["end", "start"] {
                    if let Some(date) = value.get(bound) {
                        wrote |= write_member(out, &mut first, bound, |out| write_year(out, date));
                    }
                }
                if !wrote {
                    out.truncate(mark);
                    return false;
                }
                out.push(b'}');
                true
            }
            Kind::Boolean => match value.as_bool() {
                Some(flag) => {
                    out.extend_from_slice(if flag { b"true" } else { b"false" });
                    true
                }
                None => false,
            },
            Kind::Number => match value.number_text() {
                Some(token) => {
                    write_number(out, token);
                    true
                }
                None => false,
            },
            Kind::Coding => self.write_coding(value, out),
            Kind::Codeable => {
                let Some(codings) = value.get("coding").and_then(|c| c.items()) else {
                    return false;
                };
                let mark = out.len();
                out.extend_from_slice(b"{\"coding\":");
                if write_list(out, codings, |coding, out| self.write_coding(coding, out)) {
                    out.push(b'}');
                    true
                } else {
                    out.truncate(mark);
                    false
                }
            }
            Kind::Quantity => self.write_quantity(value, out),
            Kind::Address => self.write_address(value, out),
            Kind::Extensions => self.write_extension(value, view, out),
        }
    }

    fn write_coding(&self, coding: Element<'_>, out: &mut Vec<u8>) -> bool {
        let text_of = |name| coding.get(name).and_then(|value| value.as_str());
        let (Some(system), Some(code)) = (text_of("system"), text_of("code")) else {
            return false;
        };
        if !self.profile.code_allowed(&system, &code) {
            return false;
        }
        out.extend_from_slice(b"{\"code\":");
        write_string(out, &code);
        out.extend_from_slice(b",\"system\":");
        write_string(out, &system);
        out.push(b'}');
        true
    }

    fn write_quantity(&self, quantity: Element<'_>, out: &mut Vec<u8>) -> bool {
        let Some(token) = quantity.get("value").and_then(|v| v.number_text()) else {
            return false;
        };
        let text_of = |name| quantity.get(name).and_then(|value| value.as_str());
        let code = text_of("code");
        let unit = match (text_of("system"), code.as_deref()) {
            (Some(system), Some(code))
                if system == UCUM_SYSTEM && self.profile.ucum_units.contains(code) =>
            {
                Some(code)
            }
            _ => None,
        };
        let mut comparator = text_of("comparator")
            .filter(|c| ["<", "<=", ">=", ">"].contains(&c.as_ref()))
            .map(|c| c.into_owned());
        // An age of 90 or more is itself an identifier under Safe Harbor: fold it.
        let folded = unit == Some("a") && number_as_f64(token).is_some_and(|years| years >= 90.0);
        if folded {
            comparator = Some(">=".into());
        }
        out.push(b'{');
        if let Some(code) = unit {
            out.extend_from_slice(b"\"code\":");
            write_string(out, code);
            out.push(b',');
        }
        if let Some(comparator) = comparator {
            out.extend_from_slice(b"\"comparator\":");
            write_string(out, &comparator);
            out.push(b',');
        }
        if unit.is_some() {
            out.extend_from_slice(b"\"system\":");
            write_string(out, UCUM_SYSTEM);
            out.push(b',');
        }
        out.extend_from_slice(b"\"value\":");
        if folded {
            out.extend_from_slice(b"90");
        } else {
            write_number(out, token);
        }
        out.push(b'}');
        true
    }

    fn write_address(&self, address: Element<'_>, out: &mut Vec<u8>) -> bool {
        let text_of = |name| address.get(name).and_then(|value| value.as_str());
        let state = text_of("state").filter(|s| self.profile.us_states.contains(s.as_ref()));
        let zip3 = text_of("postalCode").and_then(|zip| self.zip3(&zip));
        let country = text_of("country").filter(|c| self.profile.countries.contains(c.as_ref()));
        if state.is_none() && zip3.is_none() && country.is_none() {
            return false;
        }
        out.push(b'{');
        let mut first = true;
        for (name, text) in [
            ("country", country.as_deref()),
            ("postalCode", zip3.as_deref()),
            ("state", state.as_deref()),
        ] {
            if let Some(text) = text {
                write_member(out, &mut first, name, |out| {
                    write_string(out, text);
                    true
                });
            }
        }
        out.push(b'}');
        true
    }

    /// An extension on the allowlist, with the members its own rules allow and its `url`.
    fn write_extension(
        &self,
        extension: Element<'_>,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        let Some(url) = extension.get("url").and_then(|u| u.as_str()) else {
            return false;
        };
        let Some(rules) = self.profile.extensions.get(url.as_ref()) else {
            return false;
        };
        if !extension.is_object() {
            return false;
        }
        let mark = out.len();
        out.push(b'{');
        let mut first = true;
        let mut wrote = false;
        let mut url_written = false;
        let mut members = extension.members_by_name();
        let write_url = |out: &mut Vec<u8>, first: &mut bool| {
            write_member(out, first, "url", |out| {
                write_string(out, &url);
                true
            });
        };
        for (name, rule) in rules {
            if !url_written && name.as_str() >= "url" {
                if name == "url" {
                    // A rule for `url` counts as output, but the engine's url replaces it.
                    if let Some(value) = members.find(name) {
                        let rule_mark = out.len();
                        wrote |= self.write_rule(rule, value, view, out);
                        out.truncate(rule_mark);
                    }
                }
                write_url(out, &mut first);
                url_written = true;
                if name == "url" {
                    continue;
                }
            }
            if let Some(value) = members.find(name) {
                wrote |= write_member(out, &mut first, name, |out| {
                    self.write_rule(rule, value, view, out)
                });
            }
        }
        if !url_written {
            write_url(out, &mut first);
        }
        if !wrote {
            out.truncate(mark);
            return false;
        }
        out.push(b'}');
        true
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::JsonTree;
    use serde_json::{json, Value};

    fn engine_parts() -> (Profile, Pseudonymizer) {
        (
            Profile::safe_harbor().unwrap(),
            Pseudonymizer::with_key([3; 32]),
        )
    }

    /// Runs `write` on the tree of `input` and reads what it wrote back as a `Value`.
    fn written(
        input: &Value,
        write: impl FnOnce(Element<'_>, &mut Vec<u8>) -> bool,
    ) -> Option<Value> {
        let text = input.to_string();
        let mut tree = JsonTree::default();
        let mut out = Vec::new();
        write(tree.parse(&text).unwrap(), &mut out).then(|| serde_json::from_slice(&out).unwrap())
    }

    fn is_90_plus(patient: Value, as_of_year: i32) -> bool {
        let text = patient.to_string();
        let mut tree = JsonTree::default();
        is_age_90_or_over(tree.parse(&text).unwrap(), as_of_year)
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
            written(&age, |q, out| engine.write_quantity(q, out)),
            Some(
                json!({"value": 90, "comparator": ">=", "system": "http://unitsofmeasure.org", "code": "a"})
            )
        );
        let young = json!({"value": 89, "system": "http://unitsofmeasure.org", "code": "a"});
        assert_eq!(
            written(&young, |q, out| engine.write_quantity(q, out)).map(|q| q["value"].clone()),
            Some(json!(89))
        );
        assert!(is_90_plus(json!({"birthDate": "1934-05-02"}), 2026));
        assert!(!is_90_plus(json!({"birthDate": "1937-05-02"}), 2026));
        assert!(!is_90_plus(
            json!({"birthDate": "1920-05-02", "deceasedDateTime": "1999-01-01"}),
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

    /// Output for an input the profile was not written for: escapes, members out of
    /// order, a 90+ patient whose extensions are all unknown, numbers as floats.
    #[test]
    fn unusual_inputs_give_the_allowlisted_output_in_key_order() {
        let (profile, pseudonyms) = engine_parts();
        let engine = Deidentifier {
            profile: &profile,
            pseudonyms: &pseudonyms,
        };
        let patient_key = "Patient/p\u{2e}1".to_string();
        let delivered: HashMap<String, Pseudonym> = [
            (
                patient_key.clone(),
                Pseudonym::of(&pseudonyms, &patient_key),
            ),
            (
                "Observation/o1".to_string(),
                Pseudonym::of(&pseudonyms, "Observation/o1"),
            ),
        ]
        .into_iter()
        .collect();
        let view = CompartmentView {
            delivered: &delivered,
            age_90_or_over: true,
        };
        let text = r#"{"resourceType":"Patient","id":"p.1","gender":"fe\u006dale","zz":1,
            "extension":[{"url":"http://example.org/secret","valueString":"MRN 1"}],
            "birthDate":"1920","address":[{"state":"MA","postalCode":"03601","line":["1 Main"]}],
            "text":{"div":"<p>x</p>"}}"#;
        let mut tree = JsonTree::default();
        let mut out = Vec::new();
        assert!(engine.deidentify("Patient", "p.1", tree.parse(text).unwrap(), &view, &mut out));
        let pseudonym = pseudonyms.pseudonym(&patient_key);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "{{\"address\":[{{\"postalCode\":\"000\",\"state\":\"MA\"}}],\
                 \"extension\":[{{\"url\":\"{AGE_90_OR_OVER_EXTENSION}\",\"valueBoolean\":true}}],\
                 \"gender\":\"female\",\"id\":\"{pseudonym}\",\"meta\":{{\"security\":[\
                 {{\"code\":\"PSEUDED\",\"system\":\"{SECURITY_SYSTEM}\"}},\
                 {{\"code\":\"REDACTED\",\"system\":\"{SECURITY_SYSTEM}\"}}]}},\
                 \"resourceType\":\"Patient\"}}"
            )
        );
        let quantity = json!({"value": 1.50e0, "comparator": "<", "system": "http://unitsofmeasure.org", "code": "mg"});
        assert_eq!(
            written(&quantity, |q, out| engine.write_quantity(q, out)),
            Some(
                json!({"value": 1.5, "comparator": "<", "system": "http://unitsofmeasure.org", "code": "mg"})
            )
        );
    }
}
