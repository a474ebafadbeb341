//! k-anonymity of a delivery: generalize first, suppress what is still too rare.
//!
//! The quasi-identifiers are everything a delivered Patient carries except its pseudonymous
//! id: birth year, deceased flag or year, sex, every address (country, state, ZIP3), the
//! allowlisted extensions (the 90+ marker among them) and the security labels. Two
//! patients are in the same class when their written Patients are equal once the ids are
//! removed (addresses compared as a set), which is what [`quasi_identifier_class`]
//! computes from a delivered file.
//!
//! As ARX and sdcMicro do, the delivery is recoded over a lattice of full-domain
//! generalizations before anyone is suppressed:
//!
//! | quasi-identifier | hierarchy |
//! |---|---|
//! | birth year | year → 5-, 10-, 20-year band → removed |
//! | address | ZIP3 → state → removed |
//! | deceased year | kept with the year; only "deceased" once the birth year is banded |
//! | exact ages in other resources | kept with the year; withheld once the birth year is banded (an age and its event's year tell the birth year; see [`crate::deid::ExactAges`]) |
//! | sex and the rest | kept |
//!
//! For each of the 15 combinations the patients in classes smaller than k would be
//! suppressed. Among the combinations that suppress at most the allowed share of patients
//! (5% by default), the one with the least information loss wins; if none does, the one that
//! suppresses fewest. Information loss is Iyengar's loss metric as ARX computes it: a
//! generalized value covering `c` of the `n` distinct values seen for that quasi-identifier
//! loses `(c - 1) / (n - 1)`, a removed value 1, averaged over birth year and addresses (the
//! addresses of one patient averaged first); a suppressed patient loses 1. The figure is the
//! mean over the patients, from 0 (exact data) to 1 (nothing delivered).
//!
//! A banded birth year is written as the extension [`BIRTH_YEAR_RANGE_EXTENSION`] with a
//! `valuePeriod` of whole years (FHIR `Patient.birthDate` cannot hold a range); an address
//! generalized to its state loses its `postalCode`; duplicate addresses are written once.

use crate::json::{write_string, Element};
use crate::resource::year_of;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// A Patient whose birth year was generalized to a band: `valuePeriod` `start` and `end`
/// are the band's first and last year.
pub const BIRTH_YEAR_RANGE_EXTENSION: &str = "urn:medledger:fhir:extension:birth-year-range";

/// The share of patients a delivery may suppress unless its options say otherwise.
pub const DEFAULT_MAX_SUPPRESSION: f64 = 0.05;

/// How far birth years are generalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BirthYearLevel {
    #[serde(rename = "year")]
    Year,
    #[serde(rename = "5-year-band")]
    FiveYearBand,
    #[serde(rename = "10-year-band")]
    TenYearBand,
    #[serde(rename = "20-year-band")]
    TwentyYearBand,
    #[serde(rename = "removed")]
    Removed,
}

impl BirthYearLevel {
    const ALL: [Self; 5] = [
        Self::Year,
        Self::FiveYearBand,
        Self::TenYearBand,
        Self::TwentyYearBand,
        Self::Removed,
    ];

    fn band_width(self) -> Option<i32> {
        match self {
            Self::FiveYearBand => Some(5),
            Self::TenYearBand => Some(10),
            Self::TwentyYearBand => Some(20),
            Self::Year | Self::Removed => None,
        }
    }
}

/// How far addresses are generalized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddressLevel {
    Zip3,
    State,
    Removed,
}

impl AddressLevel {
    const ALL: [Self; 3] = [Self::Zip3, Self::State, Self::Removed];
}

impl std::fmt::Display for BirthYearLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Year => "year",
            Self::FiveYearBand => "5-year band",
            Self::TenYearBand => "10-year band",
            Self::TwentyYearBand => "20-year band",
            Self::Removed => "removed",
        })
    }
}

impl std::fmt::Display for AddressLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Zip3 => "ZIP3",
            Self::State => "state",
            Self::Removed => "removed",
        })
    }
}

/// The recoding applied to every delivered Patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Generalization {
    pub birth_year: BirthYearLevel,
    pub address: AddressLevel,
}

impl std::fmt::Display for Generalization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "birth year: {}, address: {}",
            self.birth_year, self.address
        )
    }
}

impl Generalization {
    /// Exact years and ZIP3s: what the de-identifier writes.
    pub const NONE: Self = Self {
        birth_year: BirthYearLevel::Year,
        address: AddressLevel::Zip3,
    };

    fn lattice() -> impl Iterator<Item = Self> {
        BirthYearLevel::ALL.into_iter().flat_map(|birth_year| {
            AddressLevel::ALL.into_iter().map(move |address| Self {
                birth_year,
                address,
            })
        })
    }
}

/// The class of a delivered Patient: its JSON without the id, addresses as a sorted set.
pub fn quasi_identifier_class(patient: &Value) -> String {
    let mut patient = patient.clone();
    if let Some(members) = patient.as_object_mut() {
        members.remove("id");
        if let Some(Value::Array(addresses)) = members.get_mut("address") {
            addresses.sort_by_cached_key(Value::to_string);
            addresses.dedup();
        }
    }
    patient.to_string()
}

/// One address as delivered.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Location {
    country: Option<String>,
    state: Option<String>,
    zip3: Option<String>,
}

impl Location {
    fn of(address: Element<'_>) -> Self {
        let text = |name| {
            address
                .get(name)
                .and_then(|value| value.as_str())
                .map(|text| text.into_owned())
        };
        Self {
            country: text("country"),
            state: text("state"),
            zip3: text("postalCode"),
        }
    }

    fn generalized(&self, level: AddressLevel) -> Option<Self> {
        let location = match level {
            AddressLevel::Zip3 => self.clone(),
            AddressLevel::State => Self {
                zip3: None,
                ..self.clone()
            },
            AddressLevel::Removed => return None,
        };
        (location.country.is_some() || location.state.is_some() || location.zip3.is_some())
            .then_some(location)
    }

    /// `{"country":…,"postalCode":…,"state":…}`, members in key order.
    fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        for (name, text) in [
            ("country", &self.country),
            ("postalCode", &self.zip3),
            ("state", &self.state),
        ] {
            if let Some(text) = text {
                if !first {
                    out.push(b',');
                }
                first = false;
                write_string(out, name);
                out.push(b':');
                write_string(out, text);
            }
        }
        out.push(b'}');
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Deceased {
    Unknown,
    Flag(bool),
    Year(i32),
}

/// The members generalization rewrites; every other member of a delivered Patient is
/// copied as written.
const RECODED: [&str; 4] = [
    "address",
    "birthDate",
    "deceasedBoolean",
    "deceasedDateTime",
];

/// The recodable quasi-identifiers of a Patient as the de-identifier wrote it (birth and
/// deceased dates as years).
struct Recodable {
    birth_year: Option<i32>,
    deceased: Deceased,
    /// Sorted, without duplicates.
    addresses: Vec<Location>,
}

impl Recodable {
    fn of(patient: Element<'_>) -> Self {
        let year = |name| {
            patient
                .get(name)
                .and_then(|value| value.as_str())
                .and_then(|text| year_of(&text))
        };
        let deceased = match (year("deceasedDateTime"), patient.get("deceasedDateTime")) {
            (Some(year), _) => Deceased::Year(year),
            (None, Some(_)) => Deceased::Flag(true),
            (None, None) => patient
                .get("deceasedBoolean")
                .and_then(|flag| flag.as_bool())
                .map_or(Deceased::Unknown, Deceased::Flag),
        };
        let mut addresses: Vec<Location> = patient
            .get("address")
            .and_then(|list| list.items())
            .into_iter()
            .flatten()
            .map(Location::of)
            .collect();
        addresses.sort();
        addresses.dedup();
        Self {
            birth_year: year("birthDate"),
            deceased,
            addresses,
        }
    }
}

/// Writes a Patient as the de-identifier wrote it (`patient`, compact, members in key
/// order), recoded by `generalization`: byte for byte what serialising the recoded
/// `serde_json::Value` would give.
pub(crate) fn write_generalized(
    patient: Element<'_>,
    generalization: Generalization,
    out: &mut Vec<u8>,
) {
    let recodable = Recodable::of(patient);
    // The recoded members, in key order; `extension` only for a birth-year band.
    let mut recoded: Vec<(&str, Vec<u8>)> = Vec::with_capacity(4);
    let addresses = generalized_addresses(&recodable.addresses, generalization.address);
    if !addresses.is_empty() {
        let mut list = vec![b'['];
        for (index, location) in addresses.iter().enumerate() {
            if index > 0 {
                list.push(b',');
            }
            location.write(&mut list);
        }
        list.push(b']');
        recoded.push(("address", list));
    }
    let birth = recodable
        .birth_year
        .and_then(|year| generalized_birth_year(year, generalization.birth_year));
    let mut band = None;
    match (generalization.birth_year, birth) {
        (_, None) => {}
        (BirthYearLevel::Year, Some((year, _))) => {
            recoded.push(("birthDate", format!("\"{year:04}\"").into_bytes()));
        }
        (_, Some((start, end))) => {
            let mut range = Vec::new();
            write_birth_year_range(&mut range, start, end);
            recoded.push(("extension", with_extension(b"[]", &range)));
            band = Some(range);
        }
    }
    match generalized_deceased(recodable.deceased, generalization.birth_year) {
        Deceased::Unknown => {}
        Deceased::Flag(flag) => recoded.push(("deceasedBoolean", flag.to_string().into_bytes())),
        Deceased::Year(year) => {
            recoded.push(("deceasedDateTime", format!("\"{year:04}\"").into_bytes()))
        }
    }
    recoded.sort_by(|a, b| a.0.cmp(b.0));

    let mut pending = recoded.into_iter().peekable();
    out.push(b'{');
    let mut first = true;
    let mut member = |out: &mut Vec<u8>, name: &str, value: &[u8]| {
        if !first {
            out.push(b',');
        }
        first = false;
        write_string(out, name);
        out.push(b':');
        out.extend_from_slice(value);
    };
    for (key, value) in patient.members() {
        let name = key.text();
        while let Some((recoded_name, recoded_value)) = pending.next_if(|(n, _)| *n < &*name) {
            member(out, recoded_name, &recoded_value);
        }
        match &band {
            // The band joins the extensions already written.
            Some(range) if name == "extension" => {
                pending.next_if(|(n, _)| *n == "extension");
                member(
                    out,
                    &name,
                    &with_extension(value.json_text().as_bytes(), range),
                );
            }
            _ if RECODED.contains(&&*name) => {}
            _ => member(out, &name, value.json_text().as_bytes()),
        }
    }
    for (name, value) in pending {
        member(out, name, &value);
    }
    out.push(b'}');
}

/// A JSON list (`list`, as written) with `extension` appended.
fn with_extension(list: &[u8], extension: &[u8]) -> Vec<u8> {
    let items = list
        .strip_prefix(b"[")
        .and_then(|list| list.strip_suffix(b"]"))
        .filter(|items| !items.is_empty());
    let mut joined = Vec::with_capacity(list.len() + extension.len() + 2);
    joined.push(b'[');
    if let Some(items) = items {
        joined.extend_from_slice(items);
        joined.push(b',');
    }
    joined.extend_from_slice(extension);
    joined.push(b']');
    joined
}

/// `{"url":…,"valuePeriod":{"end":…,"start":…}}`
fn write_birth_year_range(out: &mut Vec<u8>, start: i32, end: i32) {
    out.extend_from_slice(b"{\"url\":");
    write_string(out, BIRTH_YEAR_RANGE_EXTENSION);
    out.extend_from_slice(
        format!(",\"valuePeriod\":{{\"end\":\"{end:04}\",\"start\":\"{start:04}\"}}}}").as_bytes(),
    );
}

/// The first and last year of the `width`-year band holding `year`.
fn band(year: i32, width: i32) -> (i32, i32) {
    let start = year - year.rem_euclid(width);
    (start, start + width - 1)
}

/// The years a birth year is generalized to (`None`: removed).
fn generalized_birth_year(year: i32, level: BirthYearLevel) -> Option<(i32, i32)> {
    match level {
        BirthYearLevel::Year => Some((year, year)),
        BirthYearLevel::Removed => None,
        banded => banded.band_width().map(|width| band(year, width)),
    }
}

/// A death year says as much as a birth year: it goes as soon as birth years are banded.
fn generalized_deceased(deceased: Deceased, level: BirthYearLevel) -> Deceased {
    match deceased {
        Deceased::Year(_) if level != BirthYearLevel::Year => Deceased::Flag(true),
        other => other,
    }
}

/// The distinct generalized addresses, sorted (so their order tells nothing).
fn generalized_addresses(addresses: &[Location], level: AddressLevel) -> Vec<Location> {
    let mut generalized: Vec<Location> = addresses
        .iter()
        .filter_map(|location| location.generalized(level))
        .collect();
    generalized.sort();
    generalized.dedup();
    generalized
}

/// The quasi-identifiers of one patient, with the strings interned.
struct Traits {
    rest: u32,
    birth_year: Option<i32>,
    deceased: Deceased,
    addresses: Vec<u32>,
}

/// The equivalence class of a patient under one generalization.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct ClassKey {
    rest: u32,
    birth: Option<(i32, i32)>,
    deceased: Deceased,
    /// Numbers the distinct sets of generalized addresses.
    address_set: u32,
}

/// The patients of a delivery, as far as k-anonymity is concerned.
#[derive(Default)]
pub(crate) struct Population {
    patients: Vec<Traits>,
    rests: HashMap<String, u32>,
    locations: HashMap<Location, u32>,
    rest_buffer: String,
}

/// What [`Population::plan`] decided.
pub(crate) struct Plan {
    pub generalization: Generalization,
    /// Per patient, in the order they were added.
    pub suppressed: Vec<bool>,
    pub patients_suppressed: u64,
    /// The smallest class delivered; `None` if every patient is suppressed.
    pub k: Option<u64>,
    /// Iyengar's loss metric, 0 to 1.
    pub information_loss: f64,
}

/// Every distinct generalized address, for one address level: its id by location id.
type AddressIds = Vec<Option<u32>>;

impl Population {
    /// Adds a Patient as the de-identifier wrote it; returns its index.
    pub(crate) fn add(&mut self, patient: Element<'_>) -> usize {
        let recodable = Recodable::of(patient);
        // Everything else but the id, as written: equal texts, equal classes.
        self.rest_buffer.clear();
        for (key, value) in patient.members() {
            if key.is("id") || RECODED.iter().any(|name| key.is(name)) {
                continue;
            }
            self.rest_buffer.push_str(key.text().as_ref());
            self.rest_buffer.push(':');
            self.rest_buffer.push_str(value.json_text());
            self.rest_buffer.push(',');
        }
        let rest = match self.rests.get(&self.rest_buffer) {
            Some(id) => *id,
            None => {
                let id = self.rests.len() as u32;
                self.rests.insert(self.rest_buffer.clone(), id);
                id
            }
        };
        let addresses = recodable
            .addresses
            .into_iter()
            .map(|location| match self.locations.get(&location) {
                Some(id) => *id,
                None => {
                    let id = self.locations.len() as u32;
                    self.locations.insert(location, id);
                    id
                }
            })
            .collect();
        self.patients.push(Traits {
            rest,
            birth_year: recodable.birth_year,
            deceased: recodable.deceased,
            addresses,
        });
        self.patients.len() - 1
    }

    pub(crate) fn len(&self) -> usize {
        self.patients.len()
    }

    /// The least-loss generalization that reaches `k` suppressing at most `max_suppressed`
    /// patients (or, if none does, the one that suppresses fewest).
    pub(crate) fn plan(&self, k: usize, max_suppressed: u64) -> Plan {
        let locations = self.locations_by_id();
        let birth_years = {
            let mut years: Vec<i32> = self.patients.iter().filter_map(|p| p.birth_year).collect();
            years.sort_unstable();
            years.dedup();
            years
        };
        let address_sets: HashMap<AddressLevel, Vec<u32>> = AddressLevel::ALL
            .into_iter()
            .map(|level| (level, self.address_sets(level, &locations)))
            .collect();
        let mut best: Option<(Plan, (u64, f64))> = None;
        for generalization in Generalization::lattice() {
            let classes = self.classes(generalization, &address_sets[&generalization.address]);
            let suppressed: Vec<bool> = classes.iter().map(|size| *size < k as u64).collect();
            let patients_suppressed = suppressed.iter().filter(|s| **s).count() as u64;
            let information_loss =
                self.information_loss(generalization, &suppressed, &birth_years, &locations);
            // Feasible plans compete on loss alone; infeasible ones on suppression first.
            let score = if patients_suppressed <= max_suppressed {
                (0, information_loss)
            } else {
                (patients_suppressed, information_loss)
            };
            if best.as_ref().is_none_or(|(_, best)| score < *best) {
                let plan = Plan {
                    generalization,
                    k: classes
                        .iter()
                        .copied()
                        .filter(|size| *size >= k as u64)
                        .min(),
                    suppressed,
                    patients_suppressed,
                    information_loss: (information_loss * 1e4).round() / 1e4,
                };
                best = Some((plan, score));
            }
        }
        best.map(|(plan, _)| plan).unwrap_or(Plan {
            generalization: Generalization::NONE,
            suppressed: Vec::new(),
            patients_suppressed: 0,
            k: None,
            information_loss: 0.0,
        })
    }

    fn locations_by_id(&self) -> Vec<&Location> {
        let mut locations: Vec<(&Location, u32)> =
            self.locations.iter().map(|(l, id)| (l, *id)).collect();
        locations.sort_unstable_by_key(|(_, id)| *id);
        locations
            .into_iter()
            .map(|(location, _)| location)
            .collect()
    }

    /// Numbers each patient's set of addresses generalized to `level` (equal sets, equal
    /// numbers).
    fn address_sets(&self, level: AddressLevel, locations: &[&Location]) -> Vec<u32> {
        let address_ids = generalized_ids(locations, level);
        let mut sets: FxHashMap<Vec<u32>, u32> = FxHashMap::default();
        let mut addresses = Vec::new();
        self.patients
            .iter()
            .map(|patient| {
                addresses.clear();
                addresses.extend(
                    patient
                        .addresses
                        .iter()
                        .filter_map(|id| address_ids[*id as usize]),
                );
                addresses.sort_unstable();
                addresses.dedup();
                match sets.get(&addresses) {
                    Some(id) => *id,
                    None => {
                        let id = sets.len() as u32;
                        sets.insert(addresses.clone(), id);
                        id
                    }
                }
            })
            .collect()
    }

    /// The size of each patient's class under `generalization`, given the patients'
    /// address sets at its address level.
    fn classes(&self, generalization: Generalization, address_sets: &[u32]) -> Vec<u64> {
        let keys: Vec<ClassKey> = self
            .patients
            .iter()
            .zip(address_sets)
            .map(|(patient, address_set)| ClassKey {
                rest: patient.rest,
                birth: patient
                    .birth_year
                    .and_then(|year| generalized_birth_year(year, generalization.birth_year)),
                deceased: generalized_deceased(patient.deceased, generalization.birth_year),
                address_set: *address_set,
            })
            .collect();
        // Class keys are small integers: FxHash, not SipHash (no one chooses them).
        let mut sizes: FxHashMap<ClassKey, u64> = FxHashMap::default();
        sizes.reserve(keys.len());
        for key in &keys {
            *sizes.entry(*key).or_default() += 1;
        }
        keys.iter().map(|key| sizes[key]).collect()
    }

    fn information_loss(
        &self,
        generalization: Generalization,
        suppressed: &[bool],
        birth_years: &[i32],
        locations: &[&Location],
    ) -> f64 {
        if self.patients.is_empty() {
            return 0.0;
        }
        let share = |covered: usize, distinct: usize| {
            if distinct <= 1 {
                0.0
            } else {
                covered.saturating_sub(1) as f64 / (distinct - 1) as f64
            }
        };
        let birth_loss = |year: i32| match generalized_birth_year(year, generalization.birth_year) {
            None => 1.0,
            Some((start, end)) => {
                let covered = birth_years.partition_point(|y| *y <= end)
                    - birth_years.partition_point(|y| *y < start);
                share(covered, birth_years.len())
            }
        };
        // How many distinct delivered addresses share each state.
        let mut per_state: HashMap<(&Option<String>, &Option<String>), usize> = HashMap::new();
        for location in locations {
            *per_state
                .entry((&location.country, &location.state))
                .or_default() += 1;
        }
        let address_loss = |id: u32| {
            let location = locations[id as usize];
            match generalization.address {
                AddressLevel::Zip3 => 0.0,
                AddressLevel::Removed => 1.0,
                AddressLevel::State => share(
                    per_state[&(&location.country, &location.state)],
                    locations.len(),
                ),
            }
        };
        let total: f64 = self
            .patients
            .iter()
            .zip(suppressed)
            .map(|(patient, suppressed)| {
                if *suppressed {
                    return 1.0;
                }
                let birth = patient.birth_year.map_or(0.0, birth_loss);
                let addresses = if patient.addresses.is_empty() {
                    0.0
                } else {
                    patient
                        .addresses
                        .iter()
                        .map(|id| address_loss(*id))
                        .sum::<f64>()
                        / patient.addresses.len() as f64
                };
                (birth + addresses) / 2.0
            })
            .sum();
        total / self.patients.len() as f64
    }
}

/// For each location id, the id of its generalization at `level` among the distinct ones.
fn generalized_ids(locations: &[&Location], level: AddressLevel) -> AddressIds {
    let mut ids: HashMap<Location, u32> = HashMap::new();
    locations
        .iter()
        .map(|location| {
            let generalized = location.generalized(level)?;
            let next = ids.len() as u32;
            Some(*ids.entry(generalized).or_insert(next))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::JsonTree;
    use serde_json::json;

    /// The Patient as the de-identifier writes it: compact, members in key order.
    fn written(patient: &Value, generalization: Generalization) -> Value {
        let text = patient.to_string();
        let mut tree = JsonTree::default();
        let mut out = Vec::new();
        write_generalized(tree.parse(&text).unwrap(), generalization, &mut out);
        let recoded: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            recoded.to_string(),
            "as serde_json writes it"
        );
        recoded
    }

    #[test]
    fn bands_hold_the_year_and_are_aligned() {
        for (year, width) in [(1961, 5), (1960, 10), (1979, 20), (2005, 10)] {
            let (start, end) = band(year, width);
            assert!(start <= year && year <= end);
            assert_eq!(end - start + 1, width);
            assert_eq!(start % width, 0);
        }
    }

    #[test]
    fn the_written_patient_carries_the_generalized_values() {
        let patient = json!({
            "resourceType": "Patient", "id": "abc", "gender": "female", "birthDate": "1961",
            "deceasedDateTime": "2020",
            "address": [
                {"country": "US", "postalCode": "021", "state": "MA"},
                {"country": "US", "postalCode": "024", "state": "MA"},
                {"country": "US", "postalCode": "021", "state": "MA"}
            ]
        });
        let exact = written(&patient, Generalization::NONE);
        assert_eq!(exact["birthDate"], "1961");
        assert_eq!(exact["deceasedDateTime"], "2020");
        assert_eq!(
            exact["address"].as_array().unwrap().len(),
            2,
            "duplicates once"
        );

        let coarse = written(
            &patient,
            Generalization {
                birth_year: BirthYearLevel::TenYearBand,
                address: AddressLevel::State,
            },
        );
        assert!(coarse.get("birthDate").is_none());
        assert!(coarse.get("deceasedDateTime").is_none());
        assert_eq!(coarse["deceasedBoolean"], true);
        assert_eq!(
            coarse["extension"],
            json!([{"url": BIRTH_YEAR_RANGE_EXTENSION, "valuePeriod": {"start": "1960", "end": "1969"}}])
        );
        assert_eq!(coarse["address"], json!([{"country": "US", "state": "MA"}]));
        assert_eq!(coarse["id"], "abc");
        // The band joins extensions already there.
        let mut with_birth_sex = patient.clone();
        let birth_sex = json!({"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "F"});
        with_birth_sex["extension"] = json!([birth_sex]);
        let banded = written(
            &with_birth_sex,
            Generalization {
                birth_year: BirthYearLevel::TwentyYearBand,
                address: AddressLevel::Zip3,
            },
        );
        assert_eq!(
            banded["extension"],
            json!([birth_sex, {"url": BIRTH_YEAR_RANGE_EXTENSION, "valuePeriod": {"start": "1960", "end": "1979"}}])
        );

        let removed = written(
            &patient,
            Generalization {
                birth_year: BirthYearLevel::Removed,
                address: AddressLevel::Removed,
            },
        );
        assert!(removed.get("birthDate").is_none() && removed.get("extension").is_none());
        assert!(removed.get("address").is_none());
    }

    #[test]
    fn the_plan_generalizes_only_as_far_as_k_needs() {
        // Ten women born in the 1960s in two ZIP3s of one state, years all different.
        let mut population = Population::default();
        for n in 0..10 {
            let patient = json!({
                "resourceType": "Patient", "gender": "female", "birthDate": format!("{}", 1960 + n),
                "address": [{"state": "MA", "postalCode": if n % 2 == 0 { "021" } else { "024" }}]
            })
            .to_string();
            population.add(JsonTree::default().parse(&patient).unwrap());
        }
        let exact = population.plan(1, 0);
        assert_eq!(exact.generalization, Generalization::NONE);
        assert_eq!(exact.information_loss, 0.0);

        let plan = population.plan(5, 0);
        assert_eq!(plan.patients_suppressed, 0);
        assert_ne!(plan.generalization, Generalization::NONE);
        assert!(plan.information_loss > 0.0 && plan.information_loss < 1.0);
        // Every class the plan writes has at least five patients.
        let address_sets =
            population.address_sets(plan.generalization.address, &population.locations_by_id());
        let classes = population.classes(plan.generalization, &address_sets);
        assert!(classes.iter().all(|size| *size >= 5));

        // Allowing suppression of everyone makes no difference when generalizing loses less.
        assert_eq!(population.plan(5, 10).generalization, plan.generalization);
        // k beyond the population: everyone is suppressed, whatever is chosen.
        let impossible = population.plan(11, 0);
        assert_eq!(impossible.patients_suppressed, 10);
        assert_eq!(impossible.information_loss, 1.0);
    }
}
