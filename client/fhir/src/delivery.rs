//! Preprocessing for a sale: select the sellable records from the store, de-identify them
//! with a fresh pseudonym key, enforce k-anonymity over (birth year, sex, ZIP3), and write
//! NDJSON per resource type plus `manifest.json`.
//!
//! The store is read once. A patient's compartment whose class already has k patients
//! when it is reached is written straight to the output; the others (at most k - 1 per
//! class) wait in a spool and follow, at the end, if their class reached k. So each file
//! lists resources in store order, except that those held-back compartments come last.
//! Every file is hashed as it is written: the manifest's `blake2b_256` is BLAKE2b-256
//! (32-byte digest, unkeyed) of the whole file, and nothing is read back.

use crate::account::AccountId;
use crate::consent::{record_is_sellable, ConsentOracle, ListingFilter, Sale};
use crate::deid::{
    is_age_90_or_over, quasi_identifier_class, CompartmentView, Deidentifier, Pseudonym,
    Pseudonymizer,
};
use crate::error::{Error, IoContext, Result};
use crate::json::JsonTree;
use crate::profile::Profile;
use crate::progress;
use crate::resource::resource_key;
use crate::store::{CompartmentReader, RecordId, StoreKey, StoreReader};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

pub const MANIFEST_FILE: &str = "manifest.json";
/// Buffer size of the spool and output files.
const IO_BUFFER: usize = 256 << 10;

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

/// One record that went into a delivery: what the custodian opens to a regulator. Never part
/// of the delivery itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredRecord {
    pub record_id: RecordId,
    /// The commitment registered on chain, hex.
    pub commitment: String,
    pub owner: AccountId,
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
    // into `lines` (one `Type \t JSON` line per delivered resource) and its patient
    // counted in its quasi-identifier class. Counts only grow, so a compartment whose
    // class already reaches the threshold is certain to be kept and goes straight to
    // the output; the others are held back in a spool (header line `class \t line
    // count`, then the lines) until the end, when their classes' final sizes decide.
    // Only patients of classes still under the threshold when they are reached (at
    // most k - 1 per class) pass through the spool, not the whole delivery; they are
    // written after the others.
    let spool_file = tempfile::tempfile_in(out_dir)
        .context(|| format!("creating a spool in {}", out_dir.display()))?;
    let mut spool = BufWriter::with_capacity(IO_BUFFER, spool_file);
    let mut output = DeliveryOutput::new(out_dir);
    let mut patients_per_class: HashMap<String, u64> = HashMap::new();
    let mut records_selected = 0u64;
    let mut scanned_bytes = 0u64;
    let bar = progress::bytes_bar("de-identifying", reader.file_size());
    // Reused across compartments so the steady state allocates little.
    let mut trees: Vec<JsonTree> = Vec::new();
    let mut delivered: HashMap<String, Pseudonym> = HashMap::new();
    let mut lines: Vec<u8> = Vec::new();
    // (start, tab, end) of each line in `lines`, so they are not scanned for again.
    let mut line_spans: Vec<(usize, usize, usize)> = Vec::new();
    let mut class_tree = JsonTree::default();
    // Indices of the current compartment's sellable records.
    let mut selected: Vec<usize> = Vec::new();
    let mut delivered_records: Vec<DeliveredRecord> = Vec::new();
    // The records of each compartment in the spool, in spool order.
    let mut held_back_records: Vec<Vec<DeliveredRecord>> = Vec::new();
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
        let mut sources = Vec::with_capacity(selected.len() + 1);
        for (record, tree) in records.zip(trees.iter_mut()) {
            sources.push(record);
            let body = tree
                .parse(&record.canonical)
                .map_err(|e| corrupt(format!("stored resource is not JSON: {e}")))?;
            let id = body
                .get("id")
                .and_then(|id| id.as_str())
                .unwrap_or_default();
            resources.push((record.resource_type.as_str(), id, body));
        }
        delivered.clear();
        for (resource_type, id, _) in &resources {
            let key = resource_key(resource_type, id);
            let pseudonym = Pseudonym::of(&pseudonyms, &key);
            delivered.insert(key, pseudonym);
        }
        let view = CompartmentView {
            delivered: &delivered,
            age_90_or_over: is_age_90_or_over(resources[0].2, options.as_of_year),
        };
        let mut class = None;
        lines.clear();
        line_spans.clear();
        let mut compartment_records = Vec::new();
        for ((resource_type, id, body), source) in resources.iter().zip(&sources) {
            let start = lines.len();
            lines.extend_from_slice(resource_type.as_bytes());
            lines.push(b'\t');
            let json_start = lines.len();
            if !engine.deidentify(resource_type, id, *body, &view, &mut lines) {
                lines.truncate(start);
                continue;
            }
            if let (Some(record_id), Some(commitment)) = (&source.record_id, &source.commitment) {
                compartment_records.push(DeliveredRecord {
                    record_id: record_id.clone(),
                    commitment: commitment.clone(),
                    owner: source.owner.clone(),
                });
            }
            if class.is_none() {
                let json = std::str::from_utf8(&lines[json_start..])
                    .map_err(|_| corrupt("de-identified resource is not UTF-8".into()))?;
                let out = class_tree
                    .parse(json)
                    .map_err(|e| corrupt(format!("de-identified resource is not JSON: {e}")))?;
                class = Some(quasi_identifier_class(out));
            }
            lines.push(b'\n');
            line_spans.push((start, json_start - 1, lines.len()));
        }
        let Some(class) = class else {
            continue;
        };
        let patients = match patients_per_class.get_mut(&class) {
            Some(patients) => {
                *patients += 1;
                *patients
            }
            None => {
                patients_per_class.insert(class.clone(), 1);
                1
            }
        };
        if patients >= options.k_threshold as u64 {
            for &(start, tab, end) in &line_spans {
                output.write_line(&lines[start..end], tab - start)?;
            }
            delivered_records.append(&mut compartment_records);
        } else {
            held_back_records.push(compartment_records);
            writeln!(spool, "{class}\t{}", line_spans.len())
                .and_then(|()| spool.write_all(&lines))
                .context(|| "writing the delivery spool".into())?;
        }
    }
    bar.finish_and_clear();
    // The held-back compartments whose class reached the threshold after all.
    let mut spool = spool
        .into_inner()
        .map_err(|e| e.into_error())
        .context(|| "flushing the delivery spool".into())?;
    spool
        .seek(SeekFrom::Start(0))
        .context(|| "rewinding the delivery spool".into())?;
    let mut spool = BufReader::with_capacity(IO_BUFFER, spool);
    let mut line = Vec::new();
    let mut held_back_records = held_back_records.into_iter();
    let spool_corrupt = || Error::CorruptStore {
        path: out_dir.to_path_buf(),
        reason: "the delivery spool is damaged".into(),
    };
    loop {
        line.clear();
        if spool
            .read_until(b'\n', &mut line)
            .context(|| "reading the delivery spool".into())?
            == 0
        {
            break;
        }
        let header = std::str::from_utf8(&line).map_err(|_| spool_corrupt())?;
        let (class, line_count) = header
            .trim_end_matches('\n')
            .rsplit_once('\t')
            .ok_or_else(spool_corrupt)?;
        let line_count: u64 = line_count.parse().map_err(|_| spool_corrupt())?;
        let kept =
            patients_per_class.get(class).copied().unwrap_or(0) >= options.k_threshold as u64;
        let records = held_back_records.next().ok_or_else(spool_corrupt)?;
        if kept {
            delivered_records.extend(records);
        }
        for _ in 0..line_count {
            line.clear();
            spool
                .read_until(b'\n', &mut line)
                .context(|| "reading the delivery spool".into())?;
            let tab = memchr::memchr(b'\t', &line).ok_or_else(spool_corrupt)?;
            if kept {
                output.write_line(&line, tab)?;
            } else if &line[..tab] != b"Patient" {
                output.records_suppressed += 1;
            }
        }
    }
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
        delivered_records,
        scanned_bytes,
    })
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

    /// Appends the JSON of one `Type <tab> JSON <newline>` line (its tab at `tab`) to
    /// `Type.ndjson`.
    fn write_line(&mut self, line: &[u8], tab: usize) -> Result<()> {
        let resource_type = std::str::from_utf8(&line[..tab]).map_err(|_| Error::CorruptStore {
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
            .write_all(&line[tab + 1..])
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
    /// Patients per `birth year|sex|ZIP3` class.
    pub classes: BTreeMap<String, usize>,
}

pub fn k_anonymity_report(delivery: &Path) -> Result<KAnonymityReport> {
    let path = delivery.join("Patient.ndjson");
    let mut classes = BTreeMap::new();
    if path.exists() {
        let file = File::open(&path).context(|| format!("opening {}", path.display()))?;
        let mut tree = JsonTree::default();
        for (index, line) in BufReader::new(file).lines().enumerate() {
            let line = line.context(|| format!("reading {}", path.display()))?;
            let patient = tree.parse(&line).map_err(|e| Error::CorruptStore {
                path: path.clone(),
                reason: format!("line {}: {e}", index + 1),
            })?;
            *classes.entry(quasi_identifier_class(patient)).or_insert(0) += 1;
        }
    }
    Ok(KAnonymityReport {
        k: classes.values().copied().min(),
        classes,
    })
}
