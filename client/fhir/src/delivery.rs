//! Preprocessing for a sale: select the sellable records from the store, de-identify them
//! with a fresh pseudonym key, enforce k-anonymity over (birth year, sex, ZIP3), and write
//! NDJSON per resource type plus `manifest.json`.

use crate::consent::{record_is_sellable, ConsentOracle, ListingFilter, Sale};
use crate::deid::{
    is_age_90_or_over, quasi_identifier_class, CompartmentView, Deidentifier, Pseudonymizer,
};
use crate::error::{Error, IoContext, Result};
use crate::profile::Profile;
use crate::progress;
use crate::resource::resource_key;
use crate::store::{StoreKey, StoreReader, StoredRecord};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

pub const MANIFEST_FILE: &str = "manifest.json";

/// Settings of one delivery.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Patients in quasi-identifier classes smaller than this are suppressed.
    pub k_threshold: usize,
    /// The year ages are judged at (90+ folding).
    pub as_of_year: i32,
}

/// One output file of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredFile {
    pub name: String,
    pub bytes: u64,
    /// BLAKE2b-256 of the file, hex.
    pub blake2b_256: String,
}

/// `manifest.json` of a delivery. It names no patient, key or original id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryManifest {
    pub rules_version: String,
    /// BLAKE2b-256 of the profile file, hex.
    pub rules_digest: String,
    pub k_threshold: usize,
    /// Smallest quasi-identifier class in the output; `None` for an empty delivery.
    pub k: Option<usize>,
    pub quasi_identifiers: Vec<String>,
    /// Sellable records found (before suppression).
    pub records_selected: u64,
    pub records_delivered: u64,
    pub records_suppressed: u64,
    pub patients_delivered: u64,
    pub patients_suppressed: u64,
    /// Resources delivered per type (Patient context included).
    pub counts: BTreeMap<String, u64>,
    pub files: Vec<DeliveredFile>,
}

/// A delivery's manifest, and how much it read (for throughput figures).
#[derive(Debug, Clone)]
pub struct DeliverySummary {
    pub manifest: DeliveryManifest,
    /// Canonical NDJSON bytes of every stored resource scanned.
    pub scanned_bytes: u64,
}

/// Writes a de-identified delivery of the records that `filter`, `sale` and `oracle`
/// make sellable into `out_dir` (which must be new or empty).
#[allow(clippy::too_many_arguments)]
pub fn deidentify_delivery(
    store: &Path,
    key: &StoreKey,
    profile: &Profile,
    filter: &ListingFilter,
    sale: &Sale,
    oracle: &dyn ConsentOracle,
    out_dir: &Path,
    options: &DeliveryOptions,
) -> Result<DeliverySummary> {
    filter.validate()?;
    if out_dir.exists() {
        let mut entries =
            std::fs::read_dir(out_dir).context(|| format!("reading {}", out_dir.display()))?;
        if entries.next().is_some() {
            return Err(Error::OutputNotEmpty(out_dir.to_path_buf()));
        }
    }
    std::fs::create_dir_all(out_dir).context(|| format!("creating {}", out_dir.display()))?;
    let pseudonyms = Pseudonymizer::fresh();
    let engine = Deidentifier {
        profile,
        pseudonyms: &pseudonyms,
    };
    let mut reader = StoreReader::open(store, key)?;

    // Pass 1: de-identify every compartment with sellable records into a spool tagged
    // with the patient's quasi-identifier class, counting patients per class.
    let mut spool = BufWriter::new(
        tempfile::tempfile_in(out_dir)
            .context(|| format!("creating a spool in {}", out_dir.display()))?,
    );
    let mut patients_per_class: HashMap<String, u64> = HashMap::new();
    let mut records_selected = 0u64;
    let mut scanned_bytes = 0u64;
    let bar = progress::bytes_bar("de-identifying", reader.file_size);
    let mut pending = None;
    while let Some(compartment) = reader.next_compartment(&mut pending)? {
        let compartment_bytes: u64 = compartment
            .iter()
            .map(|r| r.canonical.len() as u64 + 1)
            .sum();
        scanned_bytes += compartment_bytes;
        bar.inc(compartment_bytes);
        let selected: Vec<&StoredRecord> = compartment
            .iter()
            .filter(|record| record_is_sellable(record, filter, sale, oracle))
            .collect();
        let Some(patient) = compartment
            .first()
            .filter(|r| r.resource_type == "Patient" && !selected.is_empty())
        else {
            continue;
        };
        records_selected += selected.len() as u64;
        let mut resources = Vec::with_capacity(selected.len() + 1);
        for record in std::iter::once(patient).chain(selected.iter().copied()) {
            let body: Value =
                serde_json::from_str(&record.canonical).map_err(|e| Error::CorruptStore {
                    path: store.to_path_buf(),
                    reason: format!("stored resource is not JSON: {e}"),
                })?;
            let id = body
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            resources.push((record.resource_type.as_str(), id, body));
        }
        let delivered: HashSet<String> = resources
            .iter()
            .map(|(t, id, _)| resource_key(t, id))
            .collect();
        let view = CompartmentView {
            delivered: &delivered,
            age_90_or_over: is_age_90_or_over(&resources[0].2, options.as_of_year),
        };
        let mut class = None;
        for (resource_type, id, body) in &resources {
            let Some(out) = engine.deidentify(resource_type, id, body, &view) else {
                continue;
            };
            let class = class.get_or_insert_with(|| quasi_identifier_class(&out));
            let line = serde_json::to_string(&out).unwrap_or_default();
            writeln!(spool, "{class}\t{resource_type}\t{line}")
                .context(|| "writing the delivery spool".into())?;
        }
        if let Some(class) = class {
            *patients_per_class.entry(class).or_insert(0) += 1;
        }
    }
    bar.finish_and_clear();

    // Pass 2: copy out the classes that reach the threshold.
    let mut spool = spool
        .into_inner()
        .map_err(|e| e.into_error())
        .context(|| "flushing the delivery spool".into())?;
    spool
        .seek(SeekFrom::Start(0))
        .context(|| "rewinding the delivery spool".into())?;
    let mut writers: BTreeMap<String, BufWriter<File>> = BTreeMap::new();
    let mut counts = BTreeMap::new();
    let (mut records_delivered, mut records_suppressed) = (0u64, 0u64);
    for line in BufReader::new(spool).lines() {
        let line = line.context(|| "reading the delivery spool".into())?;
        let mut fields = line.splitn(3, '\t');
        let (Some(class), Some(resource_type), Some(json)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let kept =
            patients_per_class.get(class).copied().unwrap_or(0) >= options.k_threshold as u64;
        let is_record = resource_type != "Patient";
        match (kept, is_record) {
            (true, true) => records_delivered += 1,
            (false, true) => records_suppressed += 1,
            _ => {}
        }
        if !kept {
            continue;
        }
        *counts.entry(resource_type.to_string()).or_insert(0u64) += 1;
        let writer = match writers.entry(resource_type.to_string()) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let path = out_dir.join(format!("{resource_type}.ndjson"));
                entry.insert(BufWriter::new(
                    File::create(&path).context(|| format!("creating {}", path.display()))?,
                ))
            }
        };
        writeln!(writer, "{json}").context(|| format!("writing {resource_type}.ndjson"))?;
    }
    let mut files = Vec::new();
    for (resource_type, writer) in writers {
        writer
            .into_inner()
            .map_err(|e| e.into_error())
            .context(|| format!("flushing {resource_type}.ndjson"))?;
        let name = format!("{resource_type}.ndjson");
        files.push(describe_file(&out_dir.join(&name), name)?);
    }
    let kept_classes = patients_per_class
        .values()
        .copied()
        .filter(|n| *n >= options.k_threshold as u64);
    let manifest = DeliveryManifest {
        rules_version: profile.version.clone(),
        rules_digest: hex::encode(profile.digest),
        k_threshold: options.k_threshold,
        k: kept_classes.clone().min().map(|k| k as usize),
        quasi_identifiers: vec!["birth-year".into(), "sex".into(), "zip3".into()],
        records_selected,
        records_delivered,
        records_suppressed,
        patients_delivered: kept_classes.sum(),
        patients_suppressed: patients_per_class
            .values()
            .copied()
            .filter(|n| *n < options.k_threshold as u64)
            .sum(),
        counts,
        files,
    };
    let manifest_path = out_dir.join(MANIFEST_FILE);
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    std::fs::write(&manifest_path, text)
        .context(|| format!("writing {}", manifest_path.display()))?;
    Ok(DeliverySummary {
        manifest,
        scanned_bytes,
    })
}

fn describe_file(path: &Path, name: String) -> Result<DeliveredFile> {
    let mut file = File::open(path).context(|| format!("opening {}", path.display()))?;
    let mut hasher = Blake2b::<U32>::new();
    let bytes =
        std::io::copy(&mut file, &mut hasher).context(|| format!("hashing {}", path.display()))?;
    Ok(DeliveredFile {
        name,
        bytes,
        blake2b_256: hex::encode(hasher.finalize()),
    })
}

/// k-anonymity of a delivered folder, computed from its Patient file alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KAnonymityReport {
    /// Smallest class; `None` if the folder has no patients.
    pub k: Option<usize>,
    /// Patients per `birth year|sex|ZIP3` class.
    pub classes: BTreeMap<String, usize>,
}

pub fn k_anonymity_report(delivery: &Path) -> Result<KAnonymityReport> {
    let path = delivery.join("Patient.ndjson");
    let mut classes = BTreeMap::new();
    if path.exists() {
        let file = File::open(&path).context(|| format!("opening {}", path.display()))?;
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line = line.context(|| format!("reading {}", path.display()))?;
            let patient: Value = serde_json::from_str(&line).map_err(|e| Error::CorruptStore {
                path: path.clone(),
                reason: format!("line {}: {e}", index + 1),
            })?;
            *classes.entry(quasi_identifier_class(&patient)).or_insert(0) += 1;
        }
    }
    Ok(KAnonymityReport {
        k: classes.values().copied().min(),
        classes,
    })
}
