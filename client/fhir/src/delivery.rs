//! Preprocessing for a sale: select the sellable records from the store, de-identify them
//! with a fresh pseudonym key, make the patients k-anonymous (see [`crate::kanonymity`]:
//! generalization first, then suppression of at most a set share of patients), and write
//! NDJSON per resource type plus `manifest.json`.
//!
//! The store is read once; every de-identified compartment waits in a spool (in the
//! output folder, unlinked) until all patients are known and the generalization is chosen.
//! Compartments are then written in the order of their patients' pseudonyms, and each
//! patient's records in the order of theirs: a permutation keyed by the delivery's fresh
//! key, so two deliveries cannot be lined up row by row and no file follows the store's
//! (the hospital's id) order.
//! Every file is hashed as it is written: the manifest's `blake2b_256` is BLAKE2b-256
//! (32-byte digest, unkeyed) of the whole file, and nothing is read back.

use crate::consent::{record_is_sellable, ConsentOracle, ListingFilter, Sale};
use crate::deid::{
    is_age_90_or_over, CompartmentView, Deidentifier, ExactAges, Pseudonym, Pseudonymizer,
};
use crate::error::{Error, IoContext, Result};
use crate::json::JsonTree;
use crate::kanonymity::{
    quasi_identifier_class, write_generalized, BirthYearLevel, Generalization, Population,
};
use crate::profile::Profile;
use crate::progress;
use crate::resource::resource_key;
use crate::store::{decode_hex_32, CompartmentReader, RecordId, StoreKey, StoreReader};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

pub const MANIFEST_FILE: &str = "manifest.json";
/// Buffer size of the output files.
const IO_BUFFER: usize = 256 << 10;

/// Settings of one delivery.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Every delivered patient shares its quasi-identifiers with at least this many.
    pub k_threshold: usize,
    /// The share of patients (0 to 1) that may be suppressed rather than generalized
    /// further; [`crate::kanonymity::DEFAULT_MAX_SUPPRESSION`] unless the custodian says.
    pub max_suppression: f64,
    /// The year ages are judged at (90+ folding).
    pub as_of_year: i32,
}

impl DeliveryOptions {
    /// Options with the default suppression limit.
    pub fn new(k_threshold: usize, as_of_year: i32) -> Self {
        Self {
            k_threshold,
            max_suppression: crate::kanonymity::DEFAULT_MAX_SUPPRESSION,
            as_of_year,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.k_threshold == 0 {
            return Err(Error::BadDeliveryOptions(
                "the k threshold must be at least 1".into(),
            ));
        }
        if !(0.0..=1.0).contains(&self.max_suppression) {
            return Err(Error::BadDeliveryOptions(format!(
                "the suppression limit {} is not a share between 0 and 1",
                self.max_suppression
            )));
        }
        Ok(())
    }
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryManifest {
    pub rules_version: String,
    /// BLAKE2b-256 of the profile file, hex.
    pub rules_digest: String,
    pub k_threshold: usize,
    /// Smallest quasi-identifier class in the output; `None` for an empty delivery.
    pub k: Option<usize>,
    /// The Patient elements k-anonymity covers: every one that can be written.
    pub quasi_identifiers: Vec<String>,
    /// How birth years and addresses were generalized.
    pub generalization: Generalization,
    /// The share of patients that could be suppressed instead of generalizing further.
    pub max_suppression: f64,
    /// Iyengar's loss metric of the delivered patients, 0 (exact) to 1 (nothing), to four
    /// places; see [`crate::kanonymity`].
    pub information_loss: f64,
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

/// One record that went into a delivery: what the custodian opens to a regulator. Never part
/// of the delivery itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredRecord {
    pub record_id: RecordId,
    /// The commitment registered on chain.
    pub commitment: [u8; 32],
    /// The owner's public key (its account id on chain). Raw values, not hex or SS58 text:
    /// a delivery of a million records keeps a million of these until the receipt.
    pub owner: [u8; 32],
}

/// A delivery's manifest, the records it holds, and how much it read (for throughput figures).
#[derive(Debug, Clone)]
pub struct DeliverySummary {
    pub manifest: DeliveryManifest,
    /// The delivered records (after suppression), in no particular order.
    pub delivered_records: Vec<DeliveredRecord>,
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
    options.validate()?;
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
    let mut reader = CompartmentReader::new(StoreReader::open(store, key)?);
    let corrupt = |reason: String| Error::CorruptStore {
        path: store.to_path_buf(),
        reason,
    };

    // One pass over the store. Each compartment with sellable records is de-identified
    // into a spool (one `Type \t JSON` line per delivered resource, the Patient first; a
    // resource with an exact age is followed by a `\t JSON` line of it without, see
    // `SpooledResources`) and its Patient's quasi-identifiers join the population. Only when every patient is
    // known can the generalization be chosen, and only then can the compartments be
    // written, in the order of their patients' pseudonyms: a keyed permutation that
    // changes with every delivery and owes nothing to the store's order. The spool is
    // written through a buffer of [`IO_BUFFER`]: a system call per compartment (several
    // kilobytes) cost more than copying them.
    let mut spool = BufWriter::with_capacity(
        IO_BUFFER,
        tempfile::tempfile_in(out_dir)
            .context(|| format!("creating a spool in {}", out_dir.display()))?,
    );
    let mut spool_length = 0u64;
    let mut population = Population::default();
    let mut held: Vec<HeldCompartment> = Vec::new();
    let mut records_selected = 0u64;
    let mut scanned_bytes = 0u64;
    let bar = progress::bytes_bar("de-identifying", reader.file_size());
    // Reused across compartments so the steady state allocates little.
    let mut trees: Vec<JsonTree> = Vec::new();
    let mut delivered: FxHashMap<String, Pseudonym> = FxHashMap::default();
    let mut lines: Vec<u8> = Vec::new();
    // Indices of the current compartment's sellable records.
    let mut selected: Vec<usize> = Vec::new();
    let mut patient_tree = JsonTree::default();
    while let Some(compartment) = reader.next_compartment()? {
        let compartment_bytes: u64 = compartment
            .iter()
            .map(|r| r.canonical.len() as u64 + 1)
            .sum();
        scanned_bytes += compartment_bytes;
        bar.inc(compartment_bytes);
        selected.clear();
        selected.extend(
            (0..compartment.len())
                .filter(|at| record_is_sellable(&compartment[*at], filter, sale, oracle)),
        );
        let Some(patient) = compartment
            .first()
            .filter(|r| r.resource_type == "Patient" && !selected.is_empty())
        else {
            continue;
        };
        records_selected += selected.len() as u64;
        let records = std::iter::once(patient).chain(selected.iter().map(|at| &compartment[*at]));
        if trees.len() < selected.len() + 1 {
            trees.resize_with(selected.len() + 1, JsonTree::default);
        }
        let mut resources = Vec::with_capacity(selected.len() + 1);
        delivered.clear();
        for (record, tree) in records.zip(trees.iter_mut()) {
            let body = tree
                .parse(&record.canonical)
                .map_err(|e| corrupt(format!("stored resource is not JSON: {e}")))?;
            let id = body
                .get("id")
                .and_then(|id| id.as_str())
                .unwrap_or_default();
            let key = resource_key(&record.resource_type, &id);
            let pseudonym = Pseudonym::of(&pseudonyms, &key);
            delivered.insert(key, pseudonym);
            resources.push((record, id, body, order_key(&pseudonym)));
        }
        let order = resources[0].3;
        // The records follow their Patient in pseudonym order too, not in the store's.
        resources[1..].sort_unstable_by_key(|resource| resource.3);
        let view = CompartmentView::new(
            &delivered,
            is_age_90_or_over(resources[0].2, options.as_of_year),
        );
        let without_exact_ages = view.without_exact_ages();
        lines.clear();
        let mut line_count = 0u64;
        let mut population_index = None;
        let mut records = Vec::with_capacity(selected.len());
        for (source, id, body, _) in &resources {
            let start = lines.len();
            lines.extend_from_slice(source.resource_type.as_bytes());
            lines.push(b'\t');
            let json_start = lines.len();
            view.exact_age_written.set(false);
            if !engine.deidentify(&source.resource_type, id, *body, &view, &mut lines) {
                lines.truncate(start);
                continue;
            }
            let json_end = lines.len();
            if view.exact_age_written.get() {
                // The resource again without its exact ages, on a line of its own with no
                // type, for a delivery that bands birth years (see `ExactAges`).
                lines.push(b'\n');
                lines.push(b'\t');
                engine.deidentify(
                    &source.resource_type,
                    id,
                    *body,
                    &without_exact_ages,
                    &mut lines,
                );
            }
            if start == 0 {
                if source.resource_type != "Patient" {
                    break;
                }
                let json = std::str::from_utf8(&lines[json_start..json_end])
                    .map_err(|_| corrupt("de-identified Patient is not UTF-8".into()))?;
                let patient = patient_tree
                    .parse(json)
                    .map_err(|e| corrupt(format!("de-identified Patient is not JSON: {e}")))?;
                population_index = Some(population.add(patient));
            } else if let (Some(record_id), Some(commitment)) =
                (&source.record_id, &source.commitment)
            {
                let commitment = decode_hex_32(commitment.as_bytes()).ok_or_else(|| {
                    corrupt(format!("commitment {commitment} is not 32 bytes of hex"))
                })?;
                records.push(DeliveredRecord {
                    record_id: *record_id,
                    commitment,
                    owner: *source.owner.public_key(),
                });
            }
            lines.push(b'\n');
            line_count += 1;
        }
        let Some(population_index) = population_index else {
            continue;
        };
        spool
            .write_all(&lines)
            .context(|| "writing the delivery spool".into())?;
        held.push(HeldCompartment {
            order,
            patient: population_index,
            spool_offset: spool_length,
            spool_bytes: lines.len(),
            record_lines: line_count - 1,
            records,
        });
        spool_length += lines.len() as u64;
    }
    bar.finish_and_clear();
    let spool = spool
        .into_inner()
        .map_err(|error| error.into_error())
        .context(|| "writing the delivery spool".into())?;

    let allowed = (options.max_suppression * population.len() as f64).floor() as u64;
    let plan = population.plan(options.k_threshold, allowed);
    held.sort_unstable_by_key(|compartment| compartment.order);
    let mut output = DeliveryOutput::new(out_dir);
    // Grown as the held compartments are consumed (and their lists freed), not reserved up
    // front beside them.
    let mut delivered_records: Vec<DeliveredRecord> = Vec::new();
    let mut patients_delivered = 0u64;
    let mut chunk = Vec::new();
    let mut patient_line = Vec::new();
    let spool_corrupt = || Error::CorruptStore {
        path: out_dir.to_path_buf(),
        reason: "the delivery spool is damaged".into(),
    };
    // Exact ages would tell the birth years a band hides.
    let exact_ages = if plan.generalization.birth_year == BirthYearLevel::Year {
        ExactAges::Written
    } else {
        ExactAges::Withheld
    };
    let bar = progress::count_bar("writing the delivery", held.len() as u64);
    for compartment in held {
        bar.inc(1);
        if plan.suppressed[compartment.patient] {
            output.records_suppressed += compartment.record_lines;
            continue;
        }
        // One positioned read per compartment (no seek): these system calls showed in
        // profiles. The buffer only grows, so it is zeroed only when it does.
        if chunk.len() < compartment.spool_bytes {
            chunk.resize(compartment.spool_bytes, 0);
        }
        let bytes = &mut chunk[..compartment.spool_bytes];
        spool
            .read_exact_at(bytes, compartment.spool_offset)
            .context(|| "reading the delivery spool".into())?;
        let mut resources = SpooledResources {
            rest: bytes,
            exact_ages,
        };
        let json = match resources.next() {
            Some((b"Patient", json)) => std::str::from_utf8(json).map_err(|_| spool_corrupt())?,
            _ => return Err(spool_corrupt()),
        };
        let patient = patient_tree.parse(json).map_err(|_| spool_corrupt())?;
        patient_line.clear();
        write_generalized(patient, plan.generalization, &mut patient_line);
        patient_line.push(b'\n');
        output.write(b"Patient", &patient_line)?;
        for (resource_type, json) in resources {
            output.write(resource_type, json)?;
        }
        patients_delivered += 1;
        delivered_records.extend(compartment.records);
    }
    bar.finish_and_clear();
    let DeliveryOutput {
        writers,
        counts,
        records_delivered,
        records_suppressed,
        ..
    } = output;
    let mut files = Vec::new();
    for (resource_type, writer) in writers {
        let name = format!("{resource_type}.ndjson");
        files.push(
            writer
                .finish(name)
                .context(|| format!("flushing {resource_type}.ndjson"))?,
        );
    }
    let manifest = DeliveryManifest {
        rules_version: profile.version.clone(),
        rules_digest: hex::encode(profile.digest),
        k_threshold: options.k_threshold,
        k: plan.k.map(|k| k as usize),
        quasi_identifiers: quasi_identifiers(profile),
        generalization: plan.generalization,
        max_suppression: options.max_suppression,
        information_loss: plan.information_loss,
        records_selected,
        records_delivered,
        records_suppressed,
        patients_delivered,
        patients_suppressed: plan.patients_suppressed,
        counts,
        files,
    };
    let manifest_path = out_dir.join(MANIFEST_FILE);
    let text = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    std::fs::write(&manifest_path, text)
        .context(|| format!("writing {}", manifest_path.display()))?;
    Ok(DeliverySummary {
        manifest,
        delivered_records,
        scanned_bytes,
    })
}

/// A de-identified compartment waiting in the spool for the generalization to be chosen.
struct HeldCompartment {
    /// The patient's pseudonym: compartments are written in this order.
    order: [u8; 32],
    /// The patient's index in the [`Population`].
    patient: usize,
    spool_offset: u64,
    spool_bytes: usize,
    /// Lines after the Patient's.
    record_lines: u64,
    records: Vec<DeliveredRecord>,
}

/// The resources of a spooled compartment, in order: each one's type and JSON line. A
/// line without a type (it starts with the tab) holds the resource before it without its
/// exact ages: it replaces that resource's line when `exact_ages` withholds them and is
/// skipped otherwise. A line the spool cannot have written comes out with an empty type.
struct SpooledResources<'a> {
    rest: &'a [u8],
    exact_ages: ExactAges,
}

impl<'a> SpooledResources<'a> {
    fn take_line(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', self.rest).map_or(self.rest.len(), |at| at + 1);
        let (line, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(line)
    }
}

impl<'a> Iterator for SpooledResources<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let line = self.take_line()?;
        let Some(tab) = memchr::memchr(b'\t', line) else {
            return Some((b"", line));
        };
        let (resource_type, mut json) = (&line[..tab], &line[tab + 1..]);
        if self.rest.first() == Some(&b'\t') {
            let without_exact_ages = self.take_line()?;
            if self.exact_ages == ExactAges::Withheld {
                json = &without_exact_ages[1..];
            }
        }
        Some((resource_type, json))
    }
}

/// The bytes of a pseudonym, which order a delivery's resources.
fn order_key(pseudonym: &Pseudonym) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(pseudonym.as_str().as_bytes());
    key
}

/// What a delivered Patient may reveal: every element the profile lets through, and the
/// security labels the engine adds.
fn quasi_identifiers(profile: &Profile) -> Vec<String> {
    let mut names: Vec<String> = profile
        .resources
        .get("Patient")
        .map(|rules| rules.keys().cloned().collect())
        .unwrap_or_default();
    names.push("meta.security".into());
    names.sort();
    names
}

/// The output files of a delivery and what has been written to them.
struct DeliveryOutput<'a> {
    out_dir: &'a Path,
    writers: BTreeMap<String, HashingWriter>,
    /// Resources written per type.
    counts: BTreeMap<String, u64>,
    records_delivered: u64,
    records_suppressed: u64,
}

impl<'a> DeliveryOutput<'a> {
    fn new(out_dir: &'a Path) -> Self {
        Self {
            out_dir,
            writers: BTreeMap::new(),
            counts: BTreeMap::new(),
            records_delivered: 0,
            records_suppressed: 0,
        }
    }

    /// Appends one line of JSON (with its newline) to `Type.ndjson`.
    fn write(&mut self, resource_type: &[u8], json: &[u8]) -> Result<()> {
        let resource_type = std::str::from_utf8(resource_type)
            .ok()
            .filter(|name| !name.is_empty())
            .ok_or_else(|| Error::CorruptStore {
                path: self.out_dir.to_path_buf(),
                reason: "the delivery spool is damaged".into(),
            })?;
        if resource_type != "Patient" {
            self.records_delivered += 1;
        }
        match self.counts.get_mut(resource_type) {
            Some(count) => *count += 1,
            None => {
                self.counts.insert(resource_type.to_string(), 1u64);
            }
        }
        let writer = match self.writers.get_mut(resource_type) {
            Some(writer) => writer,
            None => {
                let path = self.out_dir.join(format!("{resource_type}.ndjson"));
                let writer = HashingWriter::create(&path)?;
                self.writers
                    .entry(resource_type.to_string())
                    .or_insert(writer)
            }
        };
        writer
            .write_all(json)
            .context(|| format!("writing {resource_type}.ndjson"))
    }
}

/// An output file that hashes what is written to it, so it is never read back.
struct HashingWriter {
    file: File,
    /// Bytes not yet written; hashed and written together once [`IO_BUFFER`] fill up, as
    /// BLAKE2b has a per-call cost that showed when it was fed one line at a time.
    buffer: Vec<u8>,
    /// BLAKE2b-256; blake2b_simd's AVX2 code hashes the output about twice as fast as
    /// the portable `blake2` crate, with the same digest.
    hasher: blake2b_simd::State,
    bytes: u64,
}

impl HashingWriter {
    fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            file,
            buffer: Vec::with_capacity(IO_BUFFER),
            hasher: blake2b_simd::Params::new().hash_length(32).to_state(),
            bytes: 0,
        })
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.buffer.extend_from_slice(bytes);
        self.bytes += bytes.len() as u64;
        if self.buffer.len() >= IO_BUFFER {
            self.flush_buffer()?;
        }
        Ok(())
    }

    fn flush_buffer(&mut self) -> std::io::Result<()> {
        self.hasher.update(&self.buffer);
        self.file.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }

    fn finish(mut self, name: String) -> std::io::Result<DeliveredFile> {
        self.flush_buffer()?;
        Ok(DeliveredFile {
            name,
            bytes: self.bytes,
            blake2b_256: self.hasher.finalize().to_hex().to_string(),
        })
    }
}

/// k-anonymity of a delivered folder, computed from its Patient file alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KAnonymityReport {
    /// Smallest class; `None` if the folder has no patients.
    pub k: Option<usize>,
    /// Patients per class: a delivered Patient's JSON without its id (see
    /// [`quasi_identifier_class`]).
    pub classes: BTreeMap<String, usize>,
}

pub fn k_anonymity_report(delivery: &Path) -> Result<KAnonymityReport> {
    let path = delivery.join("Patient.ndjson");
    let mut classes = BTreeMap::new();
    if path.exists() {
        let file = File::open(&path).context(|| format!("opening {}", path.display()))?;
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line = line.context(|| format!("reading {}", path.display()))?;
            let patient: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| Error::CorruptStore {
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
