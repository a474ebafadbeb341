//! The de-identification profile: the allowlist of elements, extensions, code systems and
//! vocabularies that may leave the hospital, read from a TOML file
//! (`profiles/safe-harbor.toml` is the default, built in).

use crate::error::{Error, Result};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in HIPAA Safe Harbor profile.
pub const SAFE_HARBOR_TOML: &str = include_str!("../profiles/safe-harbor.toml");

/// What a rule does with one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Literal reference → pseudonymised `Type/pseudonym`, only if it resolves in the delivery.
    Reference,
    /// date, dateTime or instant → its year.
    Date,
    /// Period → years of `start` and `end`.
    Period,
    Boolean,
    /// A JSON number; in an age context dropped when 90 or more (a bare number cannot say
    /// "or more").
    Number,
    /// CodeableConcept → its allowed codings (system + code; no display, no text).
    Codeable,
    /// Coding → system + code, if allowed.
    Coding,
    /// Quantity → value, comparator and UCUM unit; a duration of 90 years or more (in any
    /// time unit) folded to `>= 90 a`, and in an age context every value read as an age.
    Quantity,
    /// The FHIR `Age` datatype (e.g. `Condition.onsetAge`): a quantity that is always an
    /// age, so it is delivered only in a time unit it can be read in (years if it has none).
    Age,
    /// Range → `low` and `high` quantities; a bound of 90 years or more folded (`low`
    /// becomes 90 a, `high` is dropped).
    Range,
    /// A Range of ages (e.g. `Condition.onsetRange`): both bounds read as ages.
    AgeRange,
    /// Address → state, ZIP3 (or `000`), country.
    Address,
    /// Patient.birthDate → year; removed when the patient is 90 or older.
    BirthDate,
    /// Extensions on the allowlist, each with its own rules.
    Extensions,
}

/// Rules for the members of an object (a resource, a backbone element, an extension).
pub type ObjectRules = BTreeMap<String, Rule>;

#[derive(Debug, Clone)]
pub enum Shape {
    Kind(Kind),
    Enum(FxHashSet<String>),
    Object(ObjectRules),
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub shape: Shape,
    /// The element repeats (a JSON array).
    pub list: bool,
    /// Written only if this sibling (its position among the object's rules, in name
    /// order) is written: a value whose meaning (`code`) is not delivered is a bare
    /// number or code that could be anything, an account number included.
    pub requires: Option<usize>,
}

/// How codes of one system are judged.
#[derive(Debug, Clone)]
pub enum CodeRule {
    Syntax(CodeSyntax),
    Codes(FxHashSet<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSyntax {
    Loinc,
    Snomed,
    Icd10,
    Rxnorm,
    /// CDC vaccine codes (CVX): one to three digits.
    Cvx,
    /// AMA CPT: four digits and a digit or `F`, `T`, `U`.
    Cpt,
    /// The profile's `ucum_units` list.
    Ucum,
}

#[derive(Debug)]
pub struct Profile {
    pub version: String,
    pub default_k: usize,
    pub resources: BTreeMap<String, ObjectRules>,
    pub extensions: BTreeMap<String, ObjectRules>,
    /// Looked up for every coding: hashed (FxHash: the keys are the profile's own, so no
    /// input can flood a bucket), as terminology URIs share long prefixes that make
    /// ordered comparisons slow.
    pub code_systems: FxHashMap<String, CodeRule>,
    /// These sets (and the enums' and code lists' in the rules) are looked up for nearly
    /// every element too: FxHash for the same reason.
    pub ucum_units: FxHashSet<String>,
    pub us_states: FxHashSet<String>,
    pub countries: FxHashSet<String>,
    pub restricted_zip3: FxHashSet<String>,
    pub free_text_elements: Vec<String>,
    /// Observation codes `(system, code)` whose values are ages (a handful: compared in
    /// turn, code first).
    pub age_codes: Vec<(String, String)>,
    /// BLAKE2b-256 of the profile file, named in every manifest.
    pub digest: [u8; 32],
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    version: String,
    default_k: usize,
    restricted_zip3: Vec<String>,
    us_states: Vec<String>,
    countries: Vec<String>,
    ucum_units: Vec<String>,
    #[serde(default)]
    free_text_elements: Vec<String>,
    #[serde(default)]
    age_codes: BTreeMap<String, Vec<String>>,
    code_systems: BTreeMap<String, CodeRuleFile>,
    /// Element shapes shared by several resources (FHIR datatypes such as Dosage).
    #[serde(default)]
    datatypes: BTreeMap<String, BTreeMap<String, RuleFile>>,
    resources: BTreeMap<String, BTreeMap<String, RuleFile>>,
    #[serde(default)]
    extensions: BTreeMap<String, BTreeMap<String, RuleFile>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRuleFile {
    syntax: Option<CodeSyntax>,
    codes: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RuleFile {
    Kind(Kind),
    Detailed(DetailedRuleFile),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DetailedRuleFile {
    kind: Option<Kind>,
    #[serde(rename = "enum")]
    allowed: Option<Vec<String>>,
    object: Option<BTreeMap<String, RuleFile>>,
    /// The name of a `[datatypes]` entry.
    datatype: Option<String>,
    #[serde(default)]
    list: bool,
    /// A sibling element that must be written for this one to be.
    requires: Option<String>,
}

fn compile_rules(
    rules: BTreeMap<String, RuleFile>,
    path: &str,
    datatypes: &BTreeMap<String, ObjectRules>,
) -> Result<ObjectRules> {
    let names: Vec<String> = rules.keys().cloned().collect();
    rules
        .into_iter()
        .map(|(name, rule)| {
            let at = format!("{path}.{name}");
            if !is_element_name(&name) {
                return Err(Error::BadProfile(format!(
                    "{at}: not a FHIR element name (a letter or `_`, then letters, digits, `_`)"
                )));
            }
            if matches!(name.as_str(), "id" | "resourceType" | "meta") {
                return Err(Error::BadProfile(format!(
                    "{at}: `id`, `resourceType` and `meta` are handled by the engine"
                )));
            }
            let rule = match rule {
                RuleFile::Kind(kind) => Rule {
                    shape: Shape::Kind(kind),
                    list: kind == Kind::Extensions,
                    requires: None,
                },
                RuleFile::Detailed(DetailedRuleFile {
                    kind,
                    allowed,
                    object,
                    datatype,
                    list,
                    requires,
                }) => {
                    let shape = match (kind, allowed, object, datatype) {
                        (Some(kind), None, None, None) => Shape::Kind(kind),
                        (None, Some(values), None, None) => {
                            Shape::Enum(values.into_iter().collect())
                        }
                        (None, None, Some(members), None) => {
                            Shape::Object(compile_rules(members, &at, datatypes)?)
                        }
                        (None, None, None, Some(datatype)) => match datatypes.get(&datatype) {
                            Some(rules) => Shape::Object(rules.clone()),
                            None => {
                                return Err(Error::BadProfile(format!(
                                    "{at}: no datatype `{datatype}` in [datatypes]"
                                )))
                            }
                        },
                        _ => {
                            return Err(Error::BadProfile(format!(
                                "{at}: give exactly one of `kind`, `enum`, `object`, `datatype`"
                            )))
                        }
                    };
                    let requires = match requires {
                        None => None,
                        Some(sibling) if sibling == name => {
                            return Err(Error::BadProfile(format!("{at}: requires itself")))
                        }
                        Some(sibling) => match names.iter().position(|n| *n == sibling) {
                            Some(position) => Some(position),
                            None => {
                                return Err(Error::BadProfile(format!(
                                    "{at}: requires `{sibling}`, which has no rule beside it"
                                )))
                            }
                        },
                    };
                    Rule {
                        shape,
                        list,
                        requires,
                    }
                }
            };
            Ok((name, rule))
        })
        .collect()
}

impl Profile {
    /// The built-in Safe Harbor profile.
    pub fn safe_harbor() -> Result<Self> {
        Self::from_toml(SAFE_HARBOR_TOML)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::BadProfile(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text)
    }

    pub fn from_toml(text: &str) -> Result<Self> {
        let file: ProfileFile =
            toml::from_str(text).map_err(|e| Error::BadProfile(e.to_string()))?;
        let no_datatypes = BTreeMap::new();
        let mut datatypes = BTreeMap::new();
        for (name, rules) in file.datatypes {
            // Datatypes are built from kinds and objects only, so they cannot refer in a loop.
            let compiled = compile_rules(rules, &format!("datatypes.{name}"), &no_datatypes)?;
            datatypes.insert(name, compiled);
        }
        let mut resources = BTreeMap::new();
        for (resource_type, rules) in file.resources {
            if !crate::resource::is_collected_type(&resource_type) {
                return Err(Error::BadProfile(format!(
                    "resources.{resource_type}: not a collected resource type"
                )));
            }
            let compiled = compile_rules(rules, &format!("resources.{resource_type}"), &datatypes)?;
            resources.insert(resource_type, compiled);
        }
        let mut extensions = BTreeMap::new();
        for (url, rules) in file.extensions {
            let compiled = compile_rules(rules, &format!("extensions.{url}"), &datatypes)?;
            extensions.insert(url, compiled);
        }
        let mut code_systems = FxHashMap::default();
        for (system, rule) in file.code_systems {
            let rule = match (rule.syntax, rule.codes) {
                (Some(syntax), None) => CodeRule::Syntax(syntax),
                (None, Some(codes)) => CodeRule::Codes(codes.into_iter().collect()),
                _ => {
                    return Err(Error::BadProfile(format!(
                        "code_systems.{system}: give exactly one of `syntax`, `codes`"
                    )))
                }
            };
            code_systems.insert(system, rule);
        }
        if file.default_k == 0 {
            return Err(Error::BadProfile("default_k must be at least 1".into()));
        }
        Ok(Self {
            version: file.version,
            default_k: file.default_k,
            resources,
            extensions,
            code_systems,
            ucum_units: file.ucum_units.into_iter().collect(),
            us_states: file.us_states.into_iter().collect(),
            countries: file.countries.into_iter().collect(),
            restricted_zip3: file.restricted_zip3.into_iter().collect(),
            free_text_elements: file.free_text_elements,
            age_codes: file
                .age_codes
                .into_iter()
                .flat_map(|(system, codes)| {
                    codes.into_iter().map(move |code| (system.clone(), code))
                })
                .collect(),
            digest: Blake2b::<U32>::digest(text.as_bytes()).into(),
        })
    }

    /// Whether an Observation coded `system`/`code` measures an age.
    pub fn is_age_code(&self, system: &str, code: &str) -> bool {
        self.age_codes
            .iter()
            .any(|(age_system, age_code)| age_code == code && age_system == system)
    }

    /// Whether `code` of `system` may be delivered.
    pub fn code_allowed(&self, system: &str, code: &str) -> bool {
        match self.code_systems.get(system) {
            Some(CodeRule::Codes(codes)) => codes.contains(code),
            Some(CodeRule::Syntax(CodeSyntax::Loinc)) => is_loinc(code),
            Some(CodeRule::Syntax(CodeSyntax::Snomed)) => is_snomed_concept_id(code),
            Some(CodeRule::Syntax(CodeSyntax::Icd10)) => is_icd10(code),
            Some(CodeRule::Syntax(CodeSyntax::Rxnorm)) => is_rxnorm(code),
            Some(CodeRule::Syntax(CodeSyntax::Cvx)) => is_cvx(code),
            Some(CodeRule::Syntax(CodeSyntax::Cpt)) => is_cpt(code),
            Some(CodeRule::Syntax(CodeSyntax::Ucum)) => self.ucum_units.contains(code),
            None => false,
        }
    }
}

/// LOINC: 1–7 digits, `-`, check digit (Mod 10, as LOINC computes it).
fn is_loinc(code: &str) -> bool {
    let Some((body, check)) = code.split_once('-') else {
        return false;
    };
    if !(1..=7).contains(&body.len())
        || check.len() != 1
        || !body
            .bytes()
            .chain(check.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return false;
    }
    // Mod 10: from the right, double every other digit starting with the rightmost.
    let mut sum = 0u32;
    for (position, digit) in body.bytes().rev().map(|b| u32::from(b - b'0')).enumerate() {
        sum += if position % 2 == 0 {
            let doubled = digit * 2;
            doubled / 10 + doubled % 10
        } else {
            digit
        };
    }
    (10 - sum % 10) % 10 == u32::from(check.as_bytes()[0] - b'0')
}

/// SNOMED CT concept id: 6–18 digits, a concept partition (`00` or `10`) and a valid
/// Verhoeff check digit.
fn is_snomed_concept_id(code: &str) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let bytes = code.as_bytes();
    if !(6..=18).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_digit) || bytes[0] == b'0'
    {
        return false;
    }
    let partition = &code[code.len() - 3..code.len() - 1];
    if partition != "00" && partition != "10" {
        return false;
    }
    let mut check = 0u8;
    for (position, digit) in bytes.iter().rev().map(|b| b - b'0').enumerate() {
        check = D[check as usize][P[position % 8][digit as usize] as usize];
    }
    check == 0
}

/// ICD-10(-CM): letter, two characters, optional `.` and one to four more.
fn is_icd10(code: &str) -> bool {
    let bytes = code.as_bytes();
    let head_ok = bytes.len() >= 3
        && bytes[0].is_ascii_uppercase()
        && bytes[1].is_ascii_digit()
        && (bytes[2].is_ascii_digit() || bytes[2].is_ascii_uppercase());
    let tail = &bytes[3.min(bytes.len())..];
    head_ok
        && match tail.split_first() {
            None => true,
            Some((b'.', rest)) => {
                (1..=4).contains(&rest.len())
                    && rest
                        .iter()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
            }
            Some(_) => false,
        }
}

/// RxNorm concept id: 1–7 digits.
fn is_rxnorm(code: &str) -> bool {
    (1..=7).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

/// A FHIR JSON member name: a letter, or `_` for a primitive's extensions, then letters,
/// digits and `_`. Such names need no JSON escape, so the engine writes them as they are.
fn is_element_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

/// CVX vaccine code: 1–3 digits.
fn is_cvx(code: &str) -> bool {
    (1..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit())
}

/// CPT code: four digits, then a digit (Category I) or `F` / `T` / `U` (II, III, PLA).
fn is_cpt(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.len() == 5
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && (bytes[4].is_ascii_digit() || matches!(bytes[4], b'F' | b'T' | b'U'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_profile_loads_and_covers_every_collected_type() {
        let profile = Profile::safe_harbor().unwrap();
        for (resource_type, _) in crate::resource::COLLECTED_TYPES {
            assert!(
                profile.resources.contains_key(resource_type),
                "{resource_type} has no rules"
            );
        }
        assert!(profile.restricted_zip3.contains("036") && profile.restricted_zip3.len() == 17);
    }

    #[test]
    fn profile_errors_are_named() {
        let bad_kind =
            SAFE_HARBOR_TOML.replace("birthDate = \"birth_date\"", "birthDate = \"verbatim\"");
        assert!(matches!(
            Profile::from_toml(&bad_kind),
            Err(Error::BadProfile(_))
        ));
        let engine_field =
            SAFE_HARBOR_TOML.replace("birthDate = \"birth_date\"", "id = \"reference\"");
        assert!(
            matches!(Profile::from_toml(&engine_field), Err(Error::BadProfile(m)) if m.contains("resources.Patient.id"))
        );
        let missing_sibling = SAFE_HARBOR_TOML.replace(
            "valueInteger = { kind = \"number\", requires = \"code\" }",
            "valueInteger = { kind = \"number\", requires = \"cod\" }",
        );
        assert!(
            matches!(Profile::from_toml(&missing_sibling), Err(Error::BadProfile(m)) if m.contains("valueInteger") && m.contains("`cod`"))
        );
        let missing_datatype = SAFE_HARBOR_TOML.replace(
            "dosage = { datatype = \"Dosage\", list = true }",
            "dosage = { datatype = \"Dose\", list = true }",
        );
        assert!(
            matches!(Profile::from_toml(&missing_datatype), Err(Error::BadProfile(m)) if m.contains("Dose"))
        );
        for bad_name in [
            "\"birth\\\"Date\"",
            "\"birth date\"",
            "\"1birthDate\"",
            "\"\"",
        ] {
            let bad = SAFE_HARBOR_TOML.replace(
                "birthDate = \"birth_date\"",
                &format!("{bad_name} = \"birth_date\""),
            );
            assert!(
                matches!(Profile::from_toml(&bad), Err(Error::BadProfile(m)) if m.contains("not a FHIR element name")),
                "{bad_name}"
            );
        }
        let unknown_type =
            format!("{SAFE_HARBOR_TOML}\n[resources.Practitioner]\ngender = \"boolean\"\n");
        assert!(
            matches!(Profile::from_toml(&unknown_type), Err(Error::BadProfile(m)) if m.contains("Practitioner"))
        );
    }

    // Published codes from the terminologies themselves, not from this code.
    #[test]
    fn terminology_syntax_accepts_real_codes_and_rejects_identifier_shapes() {
        for loinc in [
            "2345-7", "4548-4", "8480-6", "8462-4", "29463-7", "39156-5", "2160-0", "718-7",
        ] {
            assert!(is_loinc(loinc), "{loinc}");
        }
        for snomed in [
            "44054006",
            "38341003",
            "195967001",
            "73211009",
            "59621000",
            "22298006",
            "386661006",
            "138875005",
            "404684003",
            "35489007",
        ] {
            assert!(is_snomed_concept_id(snomed), "{snomed}");
        }
        for icd in ["E11.9", "I10", "J45.909", "Z00.00", "C50.911"] {
            assert!(is_icd10(icd), "{icd}");
        }
        for not_a_code in [
            "2345-8",
            "617-555-0143",
            "123-45-6789",
            "44054007",
            "MRN-4821934",
            "1961-07-23",
        ] {
            assert!(
                !is_loinc(not_a_code) && !is_snomed_concept_id(not_a_code) && !is_icd10(not_a_code),
                "{not_a_code}"
            );
        }
    }
}
