//! # medledger-fhir
//!
//! The custodian hospital's data side of MedLedger: docking to its medical system
//! (FHIR R4), collection into an encrypted local store, consent-aware selection, and
//! HIPAA Safe Harbor de-identification of what is sold. The node's off-chain side and the
//! `medledger` CLI both drive it through these functions:
//!
//! | step | function |
//! |---|---|
//! | fetch from a FHIR server (search, paging, `_lastUpdated` or `_since`, bearer token) | [`FhirServer::fetch_to_folder`] |
//! | ingest a Bulk Data `$export` folder into the store | [`ingest_folder`] |
//! | records sellable in a sale | [`select_records`] |
//! | de-identified delivery (NDJSON + `manifest.json`) | [`deidentify_delivery`] |
//! | k-anonymity of a delivered folder | [`k_anonymity_report`] |
//!
//! ## Docking
//! An export folder holds `*.ndjson` or `*.ndjson.gz` files (gzip is detected by its magic
//! number). Each line is one resource. The collected types
//! ([`resource::COLLECTED_TYPES`]) are Patient and the US Core clinical resources of an
//! EHR's bulk export: AllergyIntolerance, CarePlan, CareTeam, Condition, Device,
//! DiagnosticReport, DocumentReference, Encounter, FamilyMemberHistory, Goal, Immunization,
//! MedicationAdministration, MedicationDispense, MedicationRequest, MedicationStatement,
//! Observation, Procedure, ServiceRequest and Specimen. A line that is not a JSON object
//! ([`IssueKind::MalformedJson`]), of any other type (Coverage, Practitioner, RelatedPerson,
//! …: [`IssueKind::UnknownResourceType`]), without a valid id, repeated anywhere in the
//! export (the first occurrence is kept), or with a reference to a collected type that does
//! not resolve inside the patient's compartment ([`IssueKind::BrokenReference`]) is reported
//! with its file and line; every other line is processed.
//!
//! ## Collection
//! Resources are grouped by patient (the Patient and every resource whose `subject` is
//! that patient, or `patient` for AllergyIntolerance, Device, FamilyMemberHistory and
//! Immunization) through an external sort of a patient index, so memory holds one sort
//! chunk and one compartment, never the export. The sort's runs on disk are sealed
//! (ChaCha20-Poly1305) under a key that exists only in memory for that ingest, so no
//! temporary file holds a patient or resource id in clear. Patients absent from the hospital's owner
//! mapping ([`OwnerMapping`], CSV `patient id,SS58 account`) are not collected.
//! The Patient resource is kept as compartment context; every other resource is a
//! *record* with:
//!
//! - **record id** = keyed BLAKE2b-256, key = store key, over
//!   `"medledger:record-id:v1" ‖ "Type/id"`;
//! - **category codes** = the type in lower case and `type:code` for each `category`
//!   coding (an Encounter's `class`), sorted and de-duplicated, e.g.
//!   `["observation", "observation:laboratory"]`;
//! - **canonical form** = RFC 8785 canonical JSON of the resource as exported;
//! - **salt** = keyed BLAKE2b-256, key = store key, over
//!   `"medledger:commitment-salt:v1" ‖ record id` (32 bytes; secret, stable);
//! - **commitment** (registered on chain) = BLAKE2b-256 over exactly
//!   `salt (32 bytes) ‖ SCALE(Vec<u8>: canonical) ‖ SCALE(Vec<String>: category codes)`,
//!   SCALE meaning a compact-encoded length followed by the bytes (for the list: a compact
//!   count, then each code as compact length and UTF-8 bytes). See [`commitment`].
//!
//! The store ([`store`]) is encrypted at rest with ChaCha20-Poly1305 under a 32-byte key
//! read from a file; `registrations.ndjson` beside it lists `record_id, owner,
//! commitment` for on-chain registration, and `ingest-issues.bin` every issue (encrypted
//! like the records; [`collect::read_issues`] reads it).
//!
//! ## Selection
//! A record is sellable in a [`Sale`] when the listing's [`ListingFilter`] (categories,
//! date range) matches it and the [`ConsentOracle`] says the owner's consent covered the
//! record, purpose and buyer at the sale block and, if given, still at delivery.
//!
//! ## De-identification
//! The [`Profile`] (default: `profiles/safe-harbor.toml`) is an allowlist, with rules for
//! every collected type; see [`deid`]. Numbers leave only where a rule names them, and a
//! value only with the code that says what it measures; ages of 90 or more become the
//! category `>= 90 a` in every unit and type they come in. Ids and references become HMAC-SHA256 pseudonyms under a key drawn fresh for
//! every delivery and then forgotten, so one delivery links internally but two cannot be
//! joined. References to resources not in the delivery are dropped, so every reference
//! in the output resolves. The engine reads each stored resource into a borrowed tree
//! ([`json`]) and writes the allowlisted members straight to the output, so nothing is
//! rebuilt as a `serde_json::Value`.
//!
//! ## k-anonymity and order
//! Every element a delivered Patient carries (birth year, every address with its state and
//! ZIP3, sex, deceased, extensions, labels) is a quasi-identifier. Birth years (year →
//! 5-, 10-, 20-year band → removed) and addresses (ZIP3 → state → removed) are generalized
//! first, choosing the least information loss that reaches k while suppressing at most
//! [`DeliveryOptions::max_suppression`] of the patients (5% by default); the rest of the
//! patients in classes smaller than k are suppressed with all their records (see
//! [`kanonymity`]). An exact age in a record would tell the birth year a band hides: ages
//! under 90 are delivered only while birth years stay exact (never for a patient of 90 or
//! more; see [`deid::ExactAges`]). The manifest reports k, the generalization, the patients suppressed,
//! the information loss and the BLAKE2b-256 of each file. Patients are written in the order
//! of their pseudonyms, a permutation keyed by the delivery's fresh key, so deliveries cannot
//! be lined up row by row (see [`delivery`]).

pub mod account;
pub mod bulk;
pub mod canonical;
pub mod collect;
pub mod consent;
pub mod deid;
pub mod delivery;
pub mod error;
mod extsort;
pub mod json;
pub mod kanonymity;
pub mod profile;
mod progress;
pub mod resource;
pub mod rest;
pub mod store;
pub mod synthetic;

pub use account::{AccountId, OwnerMapping};
pub use canonical::canonical_json;
pub use collect::{
    commitment, commitment_salt, ingest_folder, read_registrations, IngestOptions, IngestReport,
    Registration,
};
pub use consent::{
    category_of_tag, category_tag, common_category_codes, select_records, CategorySalt,
    ConsentGrants, ConsentOracle, ConsentQuery, Grant, Grantee, ListingFilter, Purpose, Sale,
    Scope, SelectedRecord,
};
pub use delivery::{
    deidentify_delivery, k_anonymity_report, DeliveredRecord, DeliveryManifest, DeliveryOptions,
    DeliverySummary, KAnonymityReport,
};
pub use error::{Error, IngestIssue, IssueKind, Result};
pub use profile::Profile;
pub use rest::{FetchReport, FhirServer, PlainHttp, SinceParameter};
pub use store::{RecordId, StoreKey, StoredRecord};

/// The current UTC year (for 90+ folding when no year is given).
pub fn current_year() -> i32 {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    civil_date(days).0
}

/// `(year, month, day)` of day `days` since 1970-01-01 in the proleptic Gregorian calendar
/// (H. Hinnant's civil-from-days).
pub fn civil_date(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year as i32, month as u32, day as u32)
}
