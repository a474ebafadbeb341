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
//! | C | dates except year; ages 90+ | every date → year; 90+ → no birth year (age-group extension); an age (the `Age` datatype, an age-coded Observation or component) or any duration of 90 years or more, in any time unit (UCUM or written out), → `>= 90 a`; an integer age ≥ 90, or an age in a unit that is not time, is dropped; an exact age under 90 (which with its event's year tells the birth year) is dropped for a 90+ patient, and kept only while the delivery keeps exact birth years (see [`ExactAges`]) |
//! | D–F | phone, fax, email | `telecom` never copied |
//! | G | SSN | `identifier` never copied |
//! | H | medical record numbers | `identifier`, `meta.source` never copied; ids → pseudonyms |
//! | I | health plan beneficiary numbers | `identifier`, `Coverage` not collected |
//! | J | account numbers | `identifier` never copied; a number is copied only where a rule names it, and an Observation's value only with its allowlisted code |
//! | K | certificate / licence numbers | `identifier`, `qualification` never copied |
//! | L | vehicle identifiers | free text and unknown extensions never copied |
//! | M | device identifiers and serials | Device keeps status, type, patient and safety codes; `udiCarrier`, `serialNumber`, `lotNumber`, `distinctIdentifier`, names and model numbers never copied |
//! | N | URLs | `telecom`, `Attachment.url`, unknown extension values never copied; only allowlisted code-system URIs |
//! | O | IP addresses | free text and unknown extensions never copied |
//! | P | biometric identifiers | no element carrying them is on the allowlist |
//! | Q | full-face photographs | `photo`, `presentedForm` never copied; of an `Attachment` (DocumentReference) only `contentType` and the year of `creation` |
//! | R | any other unique code | codes only from allowlisted terminologies, syntax-checked; references → pseudonyms |

use crate::json::{
    number_as_f64, write_number, write_string, write_string_value, write_unescaped, Element,
};
use crate::profile::{Kind, ObjectRules, Profile, Rule, Shape};
use crate::resource::{parse_reference, resource_key, year_of};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rustc_hash::FxHashMap;
use sha2::Sha256;
use std::borrow::Cow;
use std::cell::Cell;
use zeroize::Zeroizing;

/// Marks a Patient whose age (90 or more) was folded: birth year removed.
pub const AGE_90_OR_OVER_EXTENSION: &str = "urn:medledger:fhir:extension:age-90-or-over";
const SECURITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";
const UCUM_SYSTEM: &str = "http://unitsofmeasure.org";

/// Keyed pseudonyms: HMAC-SHA256 under a secret that exists for one delivery only, so
/// pseudonyms link resources within a delivery and never across deliveries.
pub struct Pseudonymizer {
    /// HMAC-SHA256 keyed once (its inner and outer hash states) and cloned for each
    /// pseudonym: keying it every time hashed two more blocks per resource. It computes
    /// pseudonyms as the key would, so it is overwritten on drop (the key, when keyed).
    mac: Hmac<Sha256>,
}

impl Pseudonymizer {
    /// A fresh random key.
    pub fn fresh() -> Self {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        Self::keyed(&key)
    }

    fn keyed(key: &[u8; 32]) -> Self {
        Self {
            mac: keyed_mac(key),
        }
    }

    #[cfg(test)]
    pub(crate) fn with_key(key: [u8; 32]) -> Self {
        Self::keyed(&key)
    }

    /// The pseudonym of `Type/id`: 128 bits of HMAC-SHA256, hex (a valid FHIR id).
    pub fn pseudonym(&self, resource_key: &str) -> String {
        Pseudonym::of(self, resource_key).as_str().to_string()
    }
}

impl Drop for Pseudonymizer {
    fn drop(&mut self) {
        // sha2's states cannot be zeroized: overwrite them with a state keyed with zeros,
        // which `black_box` keeps the compiler from dropping as a dead store.
        self.mac = keyed_mac(&[0; 32]);
        std::hint::black_box(&mut self.mac);
    }
}

fn keyed_mac(key: &[u8; 32]) -> Hmac<Sha256> {
    <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes any key length")
}

/// A pseudonym held inline (32 hex digits), so a compartment's table of them does not
/// allocate one string each.
#[derive(Clone, Copy)]
pub struct Pseudonym([u8; 32]);

impl Pseudonym {
    pub fn of(pseudonyms: &Pseudonymizer, resource_key: &str) -> Self {
        let mut mac = pseudonyms.mac.clone();
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
    pub delivered: &'a FxHashMap<String, Pseudonym>,
    /// The patient is 90 or older (at delivery or at death).
    pub age_90_or_over: bool,
    /// Whether exact ages (under 90) may be written.
    pub exact_ages: ExactAges,
    /// Set when an exact age was written, so the caller knows the resource also needs a
    /// version without it (see [`ExactAges`]).
    pub exact_age_written: Cell<bool>,
}

/// Whether a resource's exact ages (under 90; older ones are the `>= 90 a` category) are
/// written. An age beside its event's year tells the birth year to a year or two, so it
/// may be delivered only where the Patient's birth year is: never for a patient of 90 or
/// more (whose birth year is removed), and not once k-anonymity generalizes birth years
/// to bands ([`crate::kanonymity`]), which a delivery decides only after every resource
/// is de-identified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExactAges {
    Written,
    Withheld,
}

impl<'a> CompartmentView<'a> {
    /// The view of a compartment whose patient is (`age_90_or_over`) or is not 90 or
    /// older: exact ages are written for the younger ones, and reported.
    pub fn new(delivered: &'a FxHashMap<String, Pseudonym>, age_90_or_over: bool) -> Self {
        Self {
            delivered,
            age_90_or_over,
            exact_ages: if age_90_or_over {
                ExactAges::Withheld
            } else {
                ExactAges::Written
            },
            exact_age_written: Cell::new(false),
        }
    }

    /// The same compartment with every exact age withheld.
    pub fn without_exact_ages(&self) -> Self {
        Self {
            exact_ages: ExactAges::Withheld,
            ..Self::new(self.delivered, self.age_90_or_over)
        }
    }
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
    // Element names: the profile admits no name that needs an escape.
    write_unescaped(out, name);
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

fn write_security_label(out: &mut Vec<u8>, code: &'static str) {
    out.extend_from_slice(b"{\"code\":");
    write_unescaped(out, code);
    out.extend_from_slice(b",\"system\":");
    write_unescaped(out, SECURITY_SYSTEM);
    out.push(b'}');
}

fn write_age_marker(out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"url\":");
    write_unescaped(out, AGE_90_OR_OVER_EXTENSION);
    out.extend_from_slice(b",\"valueBoolean\":true}");
}

/// `{"code":"a",["comparator":">=",]"system":UCUM,"value":90}`: the Safe Harbor
/// category of every age of 90 or more. A Range bound takes no comparator.
fn write_ninety_years(out: &mut Vec<u8>, with_comparator: bool) {
    write_quantity_value(
        out,
        "90",
        Some(&Unit::ucum(TimeUnit::Years.ucum())),
        with_comparator.then_some(">="),
    );
}

/// A Quantity's members in key order: the unit's `code` and `system` when it is known.
fn write_quantity_value(
    out: &mut Vec<u8>,
    token: &str,
    unit: Option<&Unit<'_>>,
    comparator: Option<&str>,
) {
    out.push(b'{');
    if let Some(unit) = unit {
        out.extend_from_slice(b"\"code\":");
        write_string(out, &unit.code);
        out.push(b',');
    }
    if let Some(comparator) = comparator {
        out.extend_from_slice(b"\"comparator\":");
        write_string(out, comparator);
        out.push(b',');
    }
    if let Some(unit) = unit {
        out.extend_from_slice(b"\"system\":");
        write_string(out, &unit.system);
        out.push(b',');
    }
    out.extend_from_slice(b"\"value\":");
    write_number(out, token);
    out.push(b'}');
}

/// A coded unit: UCUM, or a code of another allowlisted system (`TAB` of
/// v3-orderableDrugForm).
struct Unit<'a> {
    code: Cow<'a, str>,
    system: Cow<'a, str>,
}

impl Unit<'static> {
    fn ucum(code: &'static str) -> Self {
        Self {
            code: Cow::Borrowed(code),
            system: Cow::Borrowed(UCUM_SYSTEM),
        }
    }
}

/// A Quantity as the profile may deliver it.
enum Reading<'a> {
    Value {
        token: &'a str,
        /// The unit to deliver (allowlisted), if it is known.
        unit: Option<Unit<'a>>,
        comparator: Option<&'static str>,
    },
    /// A duration of 90 years or more: delivered as the category `>= 90 a`.
    NinetyYearsOrMore,
    /// Nothing may be delivered.
    Withheld,
}

/// A unit of time an age or a duration is given in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeUnit {
    Years,
    Months,
    Weeks,
    Days,
    Hours,
    Minutes,
    Seconds,
}

impl TimeUnit {
    /// The fewest days 90 calendar years hold (21 leap days: a century year in the span
    /// may not be a leap year).
    const DAYS_IN_90_YEARS: f64 = 90.0 * 365.0 + 21.0;

    /// A UCUM code of time (the Julian and Gregorian year and month variants included).
    fn from_ucum(code: &str) -> Option<Self> {
        Some(match code {
            "a" | "a_j" | "a_g" => Self::Years,
            "mo" | "mo_j" | "mo_g" | "mo_s" => Self::Months,
            "wk" => Self::Weeks,
            "d" => Self::Days,
            "h" => Self::Hours,
            "min" => Self::Minutes,
            "s" => Self::Seconds,
            _ => return None,
        })
    }

    /// A unit of time as people write it in `Quantity.unit`, any case.
    fn from_text(unit: &str) -> Option<Self> {
        const NAMES: [(TimeUnit, &[&str]); 7] = [
            (
                TimeUnit::Years,
                &["a", "y", "yr", "yrs", "year", "years", "yo", "y/o"],
            ),
            (TimeUnit::Months, &["mo", "mos", "mon", "month", "months"]),
            (TimeUnit::Weeks, &["w", "wk", "wks", "week", "weeks"]),
            (TimeUnit::Days, &["d", "day", "days"]),
            (TimeUnit::Hours, &["h", "hr", "hrs", "hour", "hours"]),
            (TimeUnit::Minutes, &["min", "mins", "minute", "minutes"]),
            (
                TimeUnit::Seconds,
                &["s", "sec", "secs", "second", "seconds"],
            ),
        ];
        let unit = unit.trim();
        NAMES
            .iter()
            .find(|(_, names)| names.iter().any(|name| name.eq_ignore_ascii_case(unit)))
            .map(|(time, _)| *time)
    }

    fn ucum(self) -> &'static str {
        match self {
            Self::Years => "a",
            Self::Months => "mo",
            Self::Weeks => "wk",
            Self::Days => "d",
            Self::Hours => "h",
            Self::Minutes => "min",
            Self::Seconds => "s",
        }
    }

    /// Whether `value` of this unit may be 90 years or more.
    fn reaches_90_years(self, value: f64) -> bool {
        match self {
            Self::Years => value >= 90.0,
            Self::Months => value >= 90.0 * 12.0,
            Self::Weeks => value * 7.0 >= Self::DAYS_IN_90_YEARS,
            Self::Days => value >= Self::DAYS_IN_90_YEARS,
            Self::Hours => value >= Self::DAYS_IN_90_YEARS * 24.0,
            Self::Minutes => value >= Self::DAYS_IN_90_YEARS * 1440.0,
            Self::Seconds => value >= Self::DAYS_IN_90_YEARS * 86_400.0,
        }
    }
}

/// The members of one object being written: which rules wrote something (bit per rule,
/// the first 64), its `code` once reached (it sorts before the `value[x]` members), and,
/// once asked, whether that code is an age.
struct MemberScope<'r, 'a> {
    rules: &'r ObjectRules,
    object: Element<'a>,
    written: u64,
    code: Option<Element<'a>>,
    measures_age: Option<bool>,
}

impl<'r, 'a> MemberScope<'r, 'a> {
    fn new(rules: &'r ObjectRules, object: Element<'a>) -> Self {
        Self {
            rules,
            object,
            written: 0,
            code: None,
            measures_age: None,
        }
    }
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
                        // Pseudonyms are hex.
                        Some(pseudonym) => write_unescaped(out, pseudonym),
                        None => write_unescaped(
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
        let mut scope = MemberScope::new(rules, resource);
        for (index, (name, rule)) in rules.iter().enumerate() {
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
                            if self.write_shape(&rule.shape, item, false, view, out) {
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
                self.write_allowed_member(
                    &mut scope,
                    (index, name, rule),
                    value,
                    view,
                    out,
                    &mut first,
                );
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
        let mut scope = MemberScope::new(rules, object);
        for (index, (name, rule)) in rules.iter().enumerate() {
            if let Some(value) = members.find(name) {
                wrote |= self.write_allowed_member(
                    &mut scope,
                    (index, name, rule),
                    value,
                    view,
                    out,
                    first,
                );
            }
        }
        wrote
    }

    /// Writes member `name`, rule number `index` of `scope.rules`, unless the sibling it
    /// requires is not written; numbers, quantities and ranges learn whether the object
    /// measures an age.
    fn write_allowed_member<'a>(
        &self,
        scope: &mut MemberScope<'_, 'a>,
        (index, name, rule): (usize, &str, &Rule),
        value: Element<'a>,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
        first: &mut bool,
    ) -> bool {
        if name == "code" {
            scope.code = Some(value);
        }
        if let Some(sibling) = rule.requires {
            if !self.sibling_written(scope, sibling, index, view, out) {
                return false;
            }
        }
        let age = self.age_context(scope, rule);
        let wrote = write_member(out, first, name, |out| {
            self.write_rule(rule, value, age, view, out)
        });
        if wrote && index < 64 {
            scope.written |= 1 << index;
        }
        wrote
    }

    /// Whether rule number `sibling` of the scope writes something: known for the rules
    /// before `index`, tried (and taken back) for a later one.
    fn sibling_written(
        &self,
        scope: &mut MemberScope<'_, '_>,
        sibling: usize,
        index: usize,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        if sibling < index && sibling < 64 {
            return scope.written & (1 << sibling) != 0;
        }
        let Some((name, rule)) = scope.rules.iter().nth(sibling) else {
            return false;
        };
        let Some(value) = scope.object.get(name) else {
            return false;
        };
        let age = self.age_context(scope, rule);
        let mark = out.len();
        let wrote = self.write_rule(rule, value, age, view, out);
        out.truncate(mark);
        wrote
    }

    /// Whether `rule`'s numbers are read as ages: the object's `code` is an age code.
    /// Looked up once per object, and only for the rules that hold numbers; a `code`
    /// found by the rule walk is used as it is, else the object is searched for one.
    fn age_context(&self, scope: &mut MemberScope<'_, '_>, rule: &Rule) -> bool {
        if !matches!(
            rule.shape,
            Shape::Kind(Kind::Number | Kind::Quantity | Kind::Range)
        ) {
            return false;
        }
        *scope.measures_age.get_or_insert_with(|| {
            let code = scope.code.or_else(|| {
                scope
                    .rules
                    .contains_key("code")
                    .then(|| scope.object.get("code"))
                    .flatten()
            });
            code.is_some_and(|code| self.is_age_code(code))
        })
    }

    /// Whether a CodeableConcept has a coding the profile lists as an age.
    fn is_age_code(&self, code: Element<'_>) -> bool {
        let Some(mut codings) = code.get("coding").and_then(|coding| coding.items()) else {
            return false;
        };
        codings.any(|coding| {
            let text_of = |name| coding.get(name).and_then(|value| value.as_str());
            match (text_of("system"), text_of("code")) {
                (Some(system), Some(code)) => self.profile.is_age_code(&system, &code),
                _ => false,
            }
        })
    }

    fn write_rule(
        &self,
        rule: &Rule,
        value: Element<'_>,
        age: bool,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        if rule.list {
            let Some(items) = value.items() else {
                return false;
            };
            write_list(out, items, |item, out| {
                self.write_shape(&rule.shape, item, age, view, out)
            })
        } else {
            self.write_shape(&rule.shape, value, age, view, out)
        }
    }

    fn write_shape(
        &self,
        shape: &Shape,
        value: Element<'_>,
        age: bool,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        match shape {
            Shape::Enum(allowed) => match value.as_str() {
                Some(text) if allowed.contains(text.as_ref()) => write_string_value(out, value),
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
            Shape::Kind(kind) => self.write_kind(*kind, value, age, view, out),
        }
    }

    fn write_kind(
        &self,
        kind: Kind,
        value: Element<'_>,
        age: bool,
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
            Kind::Number | Kind::Quantity | Kind::Range if age => {
                self.write_age(kind, value, view, out)
            }
            Kind::Age | Kind::AgeRange => self.write_age(kind, value, view, out),
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
            Kind::Quantity => self.write_quantity(value, false, out),
            Kind::Range => self.write_range(value, false, out),
            Kind::Address => self.write_address(value, out),
            Kind::Extensions => self.write_extension(value, view, out),
        }
    }

    /// An age: a number, Quantity or Range of an age-coded value, or the Age datatype
    /// (`kind` Age or AgeRange). 90 or more is the `>= 90 a` category; an exact age is
    /// written only as `view` allows, and reported to it.
    fn write_age(
        &self,
        kind: Kind,
        value: Element<'_>,
        view: &CompartmentView<'_>,
        out: &mut Vec<u8>,
    ) -> bool {
        let folded = match kind {
            Kind::Quantity | Kind::Age => {
                matches!(self.read_quantity(value, true), Reading::NinetyYearsOrMore)
            }
            Kind::Range | Kind::AgeRange => value.get("low").is_some_and(|low| {
                matches!(self.read_quantity(low, true), Reading::NinetyYearsOrMore)
            }),
            // A bare number cannot be folded (`>=` needs a Quantity).
            _ => false,
        };
        if !folded && view.exact_ages == ExactAges::Withheld {
            return false;
        }
        let wrote = match kind {
            Kind::Quantity | Kind::Age => self.write_quantity(value, true, out),
            Kind::Range | Kind::AgeRange => self.write_range(value, true, out),
            _ => match value.number_text() {
                Some(token) if number_as_f64(token).is_some_and(|years| years < 90.0) => {
                    write_number(out, token);
                    true
                }
                _ => false,
            },
        };
        if wrote && !folded {
            view.exact_age_written.set(true);
        }
        wrote
    }

    fn write_coding(&self, coding: Element<'_>, out: &mut Vec<u8>) -> bool {
        let (Some(system), Some(code)) = (coding.get("system"), coding.get("code")) else {
            return false;
        };
        let (Some(system_text), Some(code_text)) = (system.as_str(), code.as_str()) else {
            return false;
        };
        if !self.profile.code_allowed(&system_text, &code_text) {
            return false;
        }
        out.extend_from_slice(b"{\"code\":");
        write_string_value(out, code);
        out.extend_from_slice(b",\"system\":");
        write_string_value(out, system);
        out.push(b'}');
        true
    }

    /// Reads a Quantity: its value, the UCUM unit to deliver, and whether it is a
    /// duration of 90 years or more. `age`: the quantity is an age whatever its unit.
    fn read_quantity<'a>(&self, quantity: Element<'a>, age: bool) -> Reading<'a> {
        let Some(token) = quantity.get("value").and_then(|v| v.number_text()) else {
            return Reading::Withheld;
        };
        let text_of = |name| quantity.get(name).and_then(|value| value.as_str());
        let (system, code) = (text_of("system"), text_of("code"));
        let coded = match (&system, &code) {
            (Some(system), Some(code)) if system == UCUM_SYSTEM => {
                self.profile.ucum_units.contains(code.as_ref())
            }
            (Some(system), Some(code)) => self.profile.code_allowed(system, code),
            _ => false,
        };
        let ucum = system.as_deref().is_none_or(|system| system == UCUM_SYSTEM);
        // A UCUM time code (even without its system), or else a time unit written out
        // ("years", "mos") where no allowlisted code says what the unit is.
        let mut time = code
            .as_deref()
            .filter(|_| ucum)
            .and_then(TimeUnit::from_ucum)
            .or_else(|| {
                if coded {
                    return None;
                }
                text_of("unit").and_then(|unit| TimeUnit::from_text(&unit))
            });
        let mut unit_assumed = false;
        if age && time.is_none() {
            // An age in a unit that is not time cannot be read; one without any unit is
            // read in years, the largest unit an age is given in.
            if system.is_some() || code.is_some() || text_of("unit").is_some() {
                return Reading::Withheld;
            }
            time = Some(TimeUnit::Years);
            unit_assumed = true;
        }
        let comparator = text_of("comparator")
            .and_then(|c| ["<", "<=", ">=", ">"].into_iter().find(|known| *known == c));
        if let Some(time) = time {
            if number_as_f64(token).is_none_or(|value| time.reaches_90_years(value)) {
                // "< 95 years" cannot be said as ">= 90" truthfully.
                return if matches!(comparator, Some("<" | "<=")) {
                    Reading::Withheld
                } else {
                    Reading::NinetyYearsOrMore
                };
            }
        }
        let unit = match (time, system, code) {
            (Some(time), ..) if !unit_assumed => Some(time.ucum())
                .filter(|code| self.profile.ucum_units.contains(*code))
                .map(Unit::ucum),
            (Some(_), ..) => None,
            (None, Some(system), Some(code)) if coded => Some(Unit { code, system }),
            (None, ..) => None,
        };
        Reading::Value {
            token,
            unit,
            comparator,
        }
    }

    fn write_quantity(&self, quantity: Element<'_>, age: bool, out: &mut Vec<u8>) -> bool {
        match self.read_quantity(quantity, age) {
            Reading::Withheld => false,
            Reading::NinetyYearsOrMore => {
                write_ninety_years(out, true);
                true
            }
            Reading::Value {
                token,
                unit,
                comparator,
            } => {
                write_quantity_value(out, token, unit.as_ref(), comparator);
                true
            }
        }
    }

    /// A Range: its bounds as quantities without comparators. A lower bound of 90 years
    /// or more becomes 90 a with no upper bound; an upper one is dropped.
    fn write_range(&self, range: Element<'_>, age: bool, out: &mut Vec<u8>) -> bool {
        let bound = |name| {
            range.get(name).map_or(Reading::Withheld, |quantity| {
                self.read_quantity(quantity, age)
            })
        };
        let (low, high) = (bound("low"), bound("high"));
        let mark = out.len();
        out.push(b'{');
        if let Reading::NinetyYearsOrMore = low {
            out.extend_from_slice(b"\"low\":");
            write_ninety_years(out, false);
            out.push(b'}');
            return true;
        }
        let mut first = true;
        for (name, reading) in [("high", high), ("low", low)] {
            if let Reading::Value { token, unit, .. } = reading {
                write_member(out, &mut first, name, |out| {
                    write_quantity_value(out, token, unit.as_ref(), None);
                    true
                });
            }
        }
        if first {
            out.truncate(mark);
            return false;
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
        let mut scope = MemberScope::new(rules, extension);
        let write_url = |out: &mut Vec<u8>, first: &mut bool| {
            write_member(out, first, "url", |out| {
                write_string(out, &url);
                true
            });
        };
        for (index, (name, rule)) in rules.iter().enumerate() {
            if !url_written && name.as_str() >= "url" {
                if name == "url" {
                    // A rule for `url` counts as output, but the engine's url replaces it.
                    if let Some(value) = members.find(name) {
                        let rule_mark = out.len();
                        wrote |= self.write_rule(rule, value, false, view, out);
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
                wrote |= self.write_allowed_member(
                    &mut scope,
                    (index, name, rule),
                    value,
                    view,
                    out,
                    &mut first,
                );
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
            written(&age, |q, out| engine.write_quantity(q, false, out)),
            Some(
                json!({"value": 90, "comparator": ">=", "system": "http://unitsofmeasure.org", "code": "a"})
            )
        );
        let young = json!({"value": 89, "system": "http://unitsofmeasure.org", "code": "a"});
        assert_eq!(
            written(&young, |q, out| engine.write_quantity(q, false, out))
                .map(|q| q["value"].clone()),
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
        // As documented: the first 128 bits of HMAC-SHA256 of `Type/id` under the key, in
        // hex, by an independent HMAC, for every pseudonym the keyed state is cloned for.
        let independent = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[1; 32]);
        for key in ["Patient/p1", "Observation/o-7", "Patient/p1"] {
            let tag = ring::hmac::sign(&independent, key.as_bytes());
            assert_eq!(a.pseudonym(key), hex::encode(&tag.as_ref()[..16]));
        }
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
        let delivered: FxHashMap<String, Pseudonym> = [
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
        let view = CompartmentView::new(&delivered, true);
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
            written(&quantity, |q, out| engine.write_quantity(q, false, out)),
            Some(
                json!({"value": 1.5, "comparator": "<", "system": "http://unitsofmeasure.org", "code": "mg"})
            )
        );
    }

    /// De-identifies `resource` (whose subject is `Patient/p1`) with the default profile.
    fn deidentified(resource: Value) -> Value {
        deidentified_in(resource, |view| view).0
    }

    /// De-identifies `resource` (whose subject is `Patient/p1`, under 90) in the view
    /// `view_of` makes of the compartment; also whether an exact age was written.
    fn deidentified_in(
        resource: Value,
        view_of: impl FnOnce(CompartmentView<'_>) -> CompartmentView<'_>,
    ) -> (Value, bool) {
        let (profile, pseudonyms) = engine_parts();
        let engine = Deidentifier {
            profile: &profile,
            pseudonyms: &pseudonyms,
        };
        let delivered: FxHashMap<String, Pseudonym> = [(
            "Patient/p1".to_string(),
            Pseudonym::of(&pseudonyms, "Patient/p1"),
        )]
        .into_iter()
        .collect();
        let view = view_of(CompartmentView::new(&delivered, false));
        let resource_type = resource["resourceType"].as_str().unwrap().to_string();
        let out = written(&resource, |tree, out| {
            engine.deidentify(&resource_type, "r1", tree, &view, out)
        })
        .unwrap();
        (out, view.exact_age_written.get())
    }

    /// An exact age with its event's year tells the birth year: it is written only where
    /// the view allows, and reported; the 90+ category is always written.
    #[test]
    fn exact_ages_are_written_only_where_the_view_allows_and_are_reported() {
        let folded = json!({"code": "a", "comparator": ">=", "system": UCUM_SYSTEM, "value": 90});
        let years = |value: u32| json!({"value": value, "system": UCUM_SYSTEM, "code": "a"});
        let condition = |onset: (&str, Value)| {
            let mut condition = json!({"resourceType": "Condition", "subject": {"reference": "Patient/p1"},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}});
            condition[onset.0] = onset.1;
            condition
        };
        let exact = [
            (
                age_observation(("valueQuantity", years(45))),
                "valueQuantity",
            ),
            (age_observation(("valueInteger", json!(45))), "valueInteger"),
            (
                age_observation(("valueRange", json!({"low": years(40), "high": years(50)}))),
                "valueRange",
            ),
            (condition(("onsetAge", years(45))), "onsetAge"),
            (
                condition(("onsetRange", json!({"low": years(40)}))),
                "onsetRange",
            ),
        ];
        for (resource, member) in &exact {
            let (out, reported) = deidentified_in(resource.clone(), |view| view);
            assert!(out.get(*member).is_some() && reported, "{out}");
            // A patient of 90 or more never has an exact age written.
            for patient_over_90 in [false, true] {
                let (out, reported) = deidentified_in(resource.clone(), |view| {
                    if patient_over_90 {
                        CompartmentView::new(view.delivered, true)
                    } else {
                        view.without_exact_ages()
                    }
                });
                assert!(out.get(*member).is_none() && !reported, "{out}");
                assert!(out.get("code").is_some(), "the rest of the resource stays");
            }
        }
        // The category is no exact age: written everywhere, not reported.
        for (resource, member, category) in [
            (
                age_observation(("valueQuantity", years(94))),
                "valueQuantity",
                folded.clone(),
            ),
            (condition(("onsetAge", years(94))), "onsetAge", folded),
            (
                condition(("onsetRange", json!({"low": years(92)}))),
                "onsetRange",
                json!({"low": {"code": "a", "system": UCUM_SYSTEM, "value": 90}}),
            ),
        ] {
            let (out, reported) = deidentified_in(resource, |view| view.without_exact_ages());
            assert_eq!(out[member], category);
            assert!(!reported);
        }
        // A duration that is not an age is no concern of this rule.
        let mut duration = age_observation(("valueQuantity", years(3)));
        duration["code"] = json!({"coding": [{"system": "http://loinc.org", "code": "8480-6"}]});
        let (out, reported) = deidentified_in(duration, |view| view.without_exact_ages());
        assert_eq!(out["valueQuantity"]["value"], 3);
        assert!(!reported);
    }

    fn age_observation(value: (&str, Value)) -> Value {
        let mut observation = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "30525-0", "display": "Age"}]},
            "subject": {"reference": "Patient/p1"}});
        observation[value.0] = value.1;
        observation
    }

    /// Safe Harbor: "all elements of dates (except year) … and all ages over 89 … except
    /// that such ages … may be aggregated into a single category of age 90 or older".
    #[test]
    fn ages_of_90_or_more_are_folded_in_every_unit_and_type() {
        let folded = json!({"code": "a", "comparator": ">=", "system": UCUM_SYSTEM, "value": 90});
        let ucum =
            |value: f64, code: &str| json!({"value": value, "system": UCUM_SYSTEM, "code": code});
        // 94 years in each unit an age is written in (32 871 days: the fewest in 90 years).
        for quantity in [
            ucum(94.0, "a"),
            ucum(1128.0, "mo"),
            ucum(4902.0, "wk"),
            ucum(32_871.0, "d"),
            ucum(788_904.0, "h"),
            json!({"value": 94, "unit": "years"}),
            json!({"value": 94, "unit": "Yrs"}),
            json!({"value": 94, "code": "a"}),
            json!({"value": 1130, "unit": "months"}),
            json!({"value": 94}),
            json!({"value": 94, "comparator": ">", "system": UCUM_SYSTEM, "code": "a"}),
        ] {
            let out = deidentified(age_observation(("valueQuantity", quantity.clone())));
            assert_eq!(out["valueQuantity"], folded, "{quantity}");
        }
        // Outside an age code, any duration of 90 years or more is folded too.
        let mut duration = age_observation(("valueQuantity", ucum(40_000.0, "d")));
        duration["code"] = json!({"coding": [{"system": "http://loinc.org", "code": "8480-6"}]});
        assert_eq!(deidentified(duration)["valueQuantity"], folded);
        // What cannot be said as "90 or older" truthfully is withheld.
        for withheld in [
            json!({"value": 95, "comparator": "<", "system": UCUM_SYSTEM, "code": "a"}),
            json!({"value": 9.5, "unit": "decades"}),
            json!({"value": 94, "system": "http://example.org/units", "code": "yr"}),
        ] {
            let out = deidentified(age_observation(("valueQuantity", withheld.clone())));
            assert!(out.get("valueQuantity").is_none(), "{withheld} gave {out}");
        }
        // Integers cannot carry ">=": an age of 90 or more is dropped, a younger one kept.
        assert!(deidentified(age_observation(("valueInteger", json!(94))))
            .get("valueInteger")
            .is_none());
        assert_eq!(
            deidentified(age_observation(("valueInteger", json!(45))))["valueInteger"],
            45
        );
        // Younger ages keep their value; a written-out unit becomes its UCUM code.
        assert_eq!(
            deidentified(age_observation((
                "valueQuantity",
                json!({"value": 45, "unit": "years"})
            )))["valueQuantity"],
            json!({"code": "a", "system": UCUM_SYSTEM, "value": 45})
        );
        assert_eq!(
            deidentified(age_observation(("valueQuantity", ucum(1000.0, "mo"))))["valueQuantity"],
            json!({"code": "mo", "system": UCUM_SYSTEM, "value": 1000.0})
        );
        // Ranges: a lower bound of 90 or more is the category; a higher bound is dropped.
        let range = |low: u32, high: u32| json!({"low": {"value": low, "unit": "years"}, "high": {"value": high, "unit": "years"}});
        assert_eq!(
            deidentified(age_observation(("valueRange", range(92, 96))))["valueRange"],
            json!({"low": {"code": "a", "system": UCUM_SYSTEM, "value": 90}})
        );
        assert_eq!(
            deidentified(age_observation(("valueRange", range(85, 95))))["valueRange"],
            json!({"low": {"code": "a", "system": UCUM_SYSTEM, "value": 85}})
        );
        // Components are objects of their own: the age component is folded, the other kept.
        let panel = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85353-1"}]},
            "subject": {"reference": "Patient/p1"},
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "21612-7"}]}, "valueQuantity": {"value": 97, "unit": "yr"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 128, "system": UCUM_SYSTEM, "code": "mm[Hg]"}}]});
        let out = deidentified(panel);
        assert_eq!(out["component"][0]["valueQuantity"], folded);
        assert_eq!(out["component"][1]["valueQuantity"]["value"], 128);
        // The Age datatype, wherever a resource has it.
        let condition = json!({"resourceType": "Condition", "subject": {"reference": "Patient/p1"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]},
            "onsetAge": {"value": 93, "unit": "yr"}, "abatementAge": {"value": 34000, "system": UCUM_SYSTEM, "code": "d"}});
        let out = deidentified(condition);
        assert_eq!(out["onsetAge"], folded);
        assert_eq!(out["abatementAge"], folded);
        let relative = json!({"resourceType": "FamilyMemberHistory", "status": "completed",
            "patient": {"reference": "Patient/p1"}, "ageAge": {"value": 91, "unit": "years"},
            "condition": [{"code": {"coding": [{"system": "http://snomed.info/sct", "code": "22298006"}]},
                "onsetAge": {"value": 74, "unit": "yr", "system": UCUM_SYSTEM, "code": "a"},
                "onsetRange": {"low": {"value": 90, "unit": "years"}}}]});
        let out = deidentified(relative);
        assert_eq!(out["ageAge"], folded);
        assert_eq!(out["condition"][0]["onsetAge"]["value"], 74);
        assert_eq!(out["condition"][0]["onsetRange"]["low"]["value"], 90);
        assert!(out["condition"][0]["onsetRange"]["low"]
            .get("comparator")
            .is_none());
    }

    /// Ages coded outside the HL7 LOINC value set: a lab's age at specimen collection, and
    /// the SNOMED CT ages of EHRs and C-CDA converters (there `valueInteger` 94 and a
    /// unitless 94 were delivered as they were).
    #[test]
    fn ages_under_snomed_and_lab_age_codes_are_folded_too() {
        let folded = json!({"code": "a", "comparator": ">=", "system": UCUM_SYSTEM, "value": 90});
        for (system, code) in [
            ("http://loinc.org", "35659-2"),
            ("http://snomed.info/sct", "397669002"),
            ("http://snomed.info/sct", "424144002"),
            ("http://snomed.info/sct", "445518008"),
        ] {
            let coded = |value: (&str, Value)| {
                let mut observation = age_observation(value);
                observation["code"] = json!({"coding": [{"system": system, "code": code}]});
                deidentified(observation)
            };
            let out = coded(("valueInteger", json!(94)));
            assert!(out.get("valueInteger").is_none(), "{code}: {out}");
            assert_eq!(out["code"]["coding"][0]["code"], code);
            assert_eq!(
                coded(("valueQuantity", json!({"value": 94})))["valueQuantity"],
                folded,
                "{code}"
            );
            assert_eq!(coded(("valueInteger", json!(45)))["valueInteger"], 45);
        }
    }

    #[test]
    fn values_whose_code_is_not_delivered_are_dropped() {
        let local = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "https://example-hospital.org/codes", "code": "ACCT"}]},
            "subject": {"reference": "Patient/p1"},
            "valueInteger": 5_521_890_123u64,
            "component": [{"code": {"coding": [{"system": "https://example-hospital.org/codes", "code": "SERIAL"}]},
                "valueQuantity": {"value": 10_987_654_321u64}}]});
        let out = deidentified(local);
        assert!(
            out.get("valueInteger").is_none() && out.get("component").is_none(),
            "{out}"
        );
        let goal = json!({"resourceType": "Goal", "lifecycleStatus": "active", "subject": {"reference": "Patient/p1"},
            "target": [{"measure": {"coding": [{"system": "http://loinc.org", "code": "3141-9"}]}, "detailQuantity": {"value": 80, "system": UCUM_SYSTEM, "code": "kg"}},
                       {"measure": {"text": "account"}, "detailInteger": 5_521_890_123u64}]});
        let out = deidentified(goal);
        assert_eq!(out["target"].as_array().unwrap().len(), 1, "{out}");
        assert_eq!(out["target"][0]["detailQuantity"]["value"], 80);
    }

    #[test]
    fn ninety_years_is_reached_at_the_fewest_days_it_can_hold() {
        // 1 March 2013 → 1 March 2103: 90 years whose Feb 29s are those of 2016–2096
        // (2100 is not a leap year under the Gregorian rules).
        let leap = |year: i64| year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days = (2103 - 2013) * 365 + (2014..=2103).filter(|y| leap(*y)).count() as i64;
        assert_eq!(days, 32_871);
        assert!(TimeUnit::Days.reaches_90_years(days as f64));
        assert!(!TimeUnit::Days.reaches_90_years(days as f64 - 1.0));
        assert!(
            TimeUnit::Months.reaches_90_years(1080.0) && !TimeUnit::Months.reaches_90_years(1079.0)
        );
        assert!(
            TimeUnit::Weeks.reaches_90_years(4696.0) && !TimeUnit::Weeks.reaches_90_years(4695.0)
        );
        assert_eq!(TimeUnit::from_text(" Years "), Some(TimeUnit::Years));
        assert_eq!(TimeUnit::from_text("decades"), None);
    }
}
