//! Collection: an export (a folder) becomes the custodian's encrypted store, grouped by
//! patient, with each record's canonical form and commitment, and the registrations to
//! submit on chain.

use crate::account::OwnerMapping;
use crate::bulk::{export_files, for_each_line, parse_resource_line, ParsedResource};
use crate::canonical::canonical_json;
use crate::error::{Error, IngestIssue, IoContext, IssueKind, Result};
use crate::extsort::ExternalSorter;
use crate::progress;
use crate::resource::{
    category_codes, collected_references, compartment_patient, patient_reference, record_date,
    resource_key,
};
use crate::store::{
    seal_frame, FrameReader, RecordId, StoreKey, StoreReader, StoreWriter, StoredRecord,
};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use codec::Encode;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

/// File of a store folder listing what to register on chain, one JSON object per line:
/// `{"record_id": hex, "owner": SS58, "commitment": hex}`.
pub const REGISTRATIONS_FILE: &str = "registrations.ndjson";
/// One line of [`REGISTRATIONS_FILE`]: what the hospital registers on chain for a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub record_id: [u8; 32],
    pub owner: crate::AccountId,
    /// Salted commitment over the record and its category codes.
    pub commitment: [u8; 32],
}

/// The registrations the last ingest into `store` wrote, in file order.
pub fn read_registrations(store: &Path) -> std::result::Result<Vec<Registration>, String> {
    let path = store.join(REGISTRATIONS_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {}: {e} (run `medledger fhir ingest --store {}` first)",
            path.display(),
            store.display()
        )
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let bad = |what: &str| format!("{} line {}: {what}", path.display(), n + 1);
            let value: Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
            let field = |name: &str| {
                value[name]
                    .as_str()
                    .ok_or_else(|| bad(&format!("no {name}")))
            };
            let hash = |name: &str| -> std::result::Result<[u8; 32], String> {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(field(name)?.trim_start_matches("0x"), &mut bytes)
                    .map_err(|e| bad(&format!("{name}: {e}")))?;
                Ok(bytes)
            };
            Ok(Registration {
                record_id: hash("record_id")?,
                owner: crate::AccountId::from_ss58(field("owner")?)
                    .map_err(|e| bad(&format!("owner: {e}")))?,
                commitment: hash("commitment")?,
            })
        })
        .collect()
}

/// File of a store folder with every per-line issue of the last ingest, encrypted like
/// the records (issues quote file names and references, which can identify patients):
/// sealed frames as in `records.bin`, each one issue as JSON. Read it with [`read_issues`].
pub const ISSUES_FILE: &str = "ingest-issues.bin";
/// The plaintext issues file of earlier versions, removed by every ingest.
const LEGACY_ISSUES_FILE: &str = "ingest-issues.ndjson";
/// At most this many issues are also kept in [`IngestReport::issues`]; all are in the file.
pub const MAX_REPORTED_ISSUES: usize = 10_000;

/// The salt of a record's commitment: keyed BLAKE2b-256 (key = store key) of
/// `"medledger:commitment-salt:v1" ‖ record id`. Deterministic, so an unchanged record
/// keeps its commitment across re-ingests, and secret, so the commitment cannot be tested
/// against guessed contents.
pub fn commitment_salt(key: &StoreKey, record_id: &RecordId) -> [u8; 32] {
    key.keyed_hash(b"medledger:commitment-salt:v1", &record_id.0)
}

/// The commitment registered on chain for a record:
///
/// `BLAKE2b-256( salt ‖ SCALE(canonical) ‖ SCALE(categories) )`
///
/// where `salt` is 32 bytes, `SCALE(canonical)` is the RFC 8785 canonical JSON of the
/// resource as a SCALE `Vec<u8>` (compact length, then the bytes) and `SCALE(categories)`
/// is the sorted, de-duplicated category codes as a SCALE `Vec<String>` (compact count,
/// then each code as compact length and UTF-8 bytes).
pub fn commitment(salt: &[u8; 32], canonical: &[u8], sorted_categories: &[String]) -> [u8; 32] {
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(salt);
    hasher.update(canonical.encode());
    hasher.update(sorted_categories.encode());
    hasher.finalize().into()
}

/// What an ingest did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct IngestReport {
    pub files: usize,
    pub lines: u64,
    pub input_bytes: u64,
    /// Resources that parsed and were grouped (issues aside).
    pub resources: u64,
    pub patients_stored: u64,
    /// Sellable records in the store (Patient resources are context, not records).
    pub records_stored: u64,
    pub patients_without_owner: u64,
    pub resources_without_owner: u64,
    pub issue_count: u64,
    /// The first [`MAX_REPORTED_ISSUES`] issues; all are in the store's [`ISSUES_FILE`].
    pub issues: Vec<IngestIssue>,
}

impl IngestReport {
    fn record_issue(&mut self, log: &mut IssueLog, issue: IngestIssue) -> Result<()> {
        log.append(&issue)?;
        self.issue_count += 1;
        if self.issues.len() < MAX_REPORTED_ISSUES {
            self.issues.push(issue);
        }
        Ok(())
    }
}

/// The store's encrypted issues file, being written.
struct IssueLog {
    out: BufWriter<File>,
    key: StoreKey,
}

impl IssueLog {
    fn create(store: &Path, key: &StoreKey) -> Result<Self> {
        let legacy = store.join(LEGACY_ISSUES_FILE);
        if legacy.exists() {
            std::fs::remove_file(&legacy)
                .context(|| format!("removing the plaintext {}", legacy.display()))?;
        }
        let path = store.join(ISSUES_FILE);
        let file = File::create(&path).context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            out: BufWriter::new(file),
            key: key.clone(),
        })
    }

    fn append(&mut self, issue: &IngestIssue) -> Result<()> {
        let json = serde_json::to_vec(issue).unwrap_or_default();
        self.out
            .write_all(&seal_frame(&self.key, &json))
            .context(|| "writing ingest issues".into())
    }

    fn finish(mut self) -> Result<()> {
        self.out.flush().context(|| "writing ingest issues".into())
    }
}

/// Every issue of a store's last ingest, decrypted from its [`ISSUES_FILE`], in order.
pub fn read_issues(
    store: &Path,
    key: &StoreKey,
    mut on_issue: impl FnMut(IngestIssue),
) -> Result<()> {
    let path = store.join(ISSUES_FILE);
    let file = File::open(&path).context(|| format!("opening {}", path.display()))?;
    let mut frames = FrameReader::new(path.clone(), file, key);
    while let Some(json) = frames.next_frame()? {
        let issue = serde_json::from_slice(json).map_err(|e| Error::CorruptStore {
            path: path.clone(),
            reason: format!("issue record is not valid: {e}"),
        })?;
        on_issue(issue);
    }
    Ok(())
}

/// Where a spooled resource came from (kept for issue reports after the sort).
#[derive(Serialize, serde::Deserialize)]
struct SpooledResource {
    file: usize,
    line: u64,
    resource_type: String,
    id: String,
    body: Value,
}

/// Tuning for [`ingest_folder`].
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Memory for one sorted run of the patient index.
    pub sort_chunk_bytes: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            sort_chunk_bytes: 32 << 20,
        }
    }
}

/// Reads a Bulk Data export folder into a new generation of the store in `store`.
///
/// Lines that are not JSON, of an unknown type, without a valid id, duplicated, or whose
/// references to collected types do not resolve inside their patient's compartment are
/// reported (file, line, kind) and the rest is processed. Patients the owner mapping does
/// not know are not collected. Memory is bounded by one sort chunk plus one compartment.
pub fn ingest_folder(
    input: &Path,
    store: &Path,
    key: &StoreKey,
    owners: &OwnerMapping,
    options: &IngestOptions,
) -> Result<IngestReport> {
    let files = export_files(input)?;
    std::fs::create_dir_all(store)
        .context(|| format!("creating store folder {}", store.display()))?;
    let work = tempfile::tempdir_in(store)
        .context(|| format!("creating a work folder in {}", store.display()))?;
    let mut issues = IssueLog::create(store, key)?;
    let mut report = IngestReport {
        files: files.len(),
        ..Default::default()
    };
    let names: Vec<String> = files
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();

    // Pass 1: parse every line, spool good resources (encrypted) and index them by patient.
    let spool_path = work.path().join("spool.bin");
    let mut spool = BufWriter::new(
        File::create(&spool_path).context(|| format!("creating {}", spool_path.display()))?,
    );
    let mut spool_offset = 0u64;
    // Two indexes, each with half the sort memory: by patient (to group compartments)
    // and by `Type/id` (to find duplicates across the whole export, not only within
    // one patient's compartment).
    let mut sorter = ExternalSorter::new(work.path(), options.sort_chunk_bytes / 2);
    let by_key_folder = work.path().join("by-key");
    std::fs::create_dir_all(&by_key_folder)
        .context(|| format!("creating {}", by_key_folder.display()))?;
    let mut by_key = ExternalSorter::new(&by_key_folder, options.sort_chunk_bytes / 2);
    let bar = progress::bytes_bar(
        "reading export",
        files
            .iter()
            .filter_map(|p| p.metadata().ok())
            .map(|m| m.len())
            .sum(),
    );
    for (file_index, path) in files.iter().enumerate() {
        let read = for_each_line(path, |line_number, line| {
            report.lines += 1;
            report.input_bytes += line.len() as u64 + 1;
            let issue = |kind| IngestIssue {
                file: names[file_index].clone(),
                line: line_number,
                kind,
            };
            let ParsedResource {
                resource_type,
                id,
                body,
            } = match parse_resource_line(line) {
                Ok(resource) => resource,
                Err(kind) => return report.record_issue(&mut issues, issue(kind)),
            };
            let Some(patient) = compartment_patient(&resource_type, &body) else {
                let found = patient_reference(&resource_type, &body).unwrap_or("(no patient)");
                return report.record_issue(
                    &mut issues,
                    issue(IssueKind::BrokenReference {
                        reference: found.to_string(),
                    }),
                );
            };
            let order = if resource_type == "Patient" { 0 } else { 1 };
            let key_text = resource_key(&resource_type, &id);
            let spooled = SpooledResource {
                file: file_index,
                line: line_number,
                resource_type,
                id,
                body,
            };
            let frame = seal_frame(key, &serde_json::to_vec(&spooled).unwrap_or_default());
            spool
                .write_all(&frame)
                .context(|| format!("writing {}", spool_path.display()))?;
            sorter.push(format!("{patient}\t{order}\t{key_text}\t{spool_offset}"))?;
            // Zero-padded so that text order is spool (= input) order.
            by_key.push(format!(
                "{key_text}\t{spool_offset:020}\t{file_index}\t{line_number}"
            ))?;
            spool_offset += frame.len() as u64;
            report.resources += 1;
            bar.inc(line.len() as u64 + 1);
            Ok(())
        });
        match read {
            Err(Error::UnreadableExport { line, detail, .. }) => {
                let issue = IngestIssue {
                    file: names[file_index].clone(),
                    line,
                    kind: IssueKind::UnreadableFile { detail },
                };
                report.record_issue(&mut issues, issue)?;
            }
            other => other?,
        }
    }
    bar.finish_and_clear();
    spool
        .flush()
        .context(|| format!("writing {}", spool_path.display()))?;
    drop(spool);

    #[cfg(test)]
    tests::runs_written(work.path());

    // Every occurrence of a `Type/id` after its first is a duplicate, wherever it is.
    // Memory grows with the number of duplicates only.
    let mut duplicates = HashSet::new();
    let mut previous_key = String::new();
    let bad_index = || Error::CorruptStore {
        path: work.path().to_path_buf(),
        reason: "bad duplicate index line".into(),
    };
    for entry in by_key.into_sorted()? {
        let entry = entry?;
        let mut fields = entry.split('\t');
        let (Some(key_text), Some(offset), Some(file), Some(line)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad_index());
        };
        if key_text != previous_key {
            previous_key = key_text.to_string();
            continue;
        }
        let offset: u64 = offset.parse().map_err(|_| bad_index())?;
        let file: usize = file.parse().map_err(|_| bad_index())?;
        let issue = IngestIssue {
            file: names.get(file).cloned().ok_or_else(bad_index)?,
            line: line.parse().map_err(|_| bad_index())?,
            kind: IssueKind::DuplicateResource {
                key: key_text.to_string(),
            },
        };
        report.record_issue(&mut issues, issue)?;
        duplicates.insert(offset);
    }

    // Pass 2: walk the index in patient order, one compartment at a time.
    let mut spool =
        File::open(&spool_path).context(|| format!("opening {}", spool_path.display()))?;
    let mut writer = StoreWriter::create(store, key)?;
    let registrations_path = store.join(REGISTRATIONS_FILE);
    let mut registrations = BufWriter::new(
        File::create(&registrations_path)
            .context(|| format!("creating {}", registrations_path.display()))?,
    );
    let bar = progress::count_bar("grouping by patient", report.resources);
    let mut compartment: Vec<SpooledResource> = Vec::new();
    let mut current_patient = String::new();
    for entry in sorter.into_sorted()? {
        let entry = entry?;
        let mut fields = entry.split('\t');
        let (Some(patient), Some(_), Some(_), Some(offset)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(Error::CorruptStore {
                path: work.path().to_path_buf(),
                reason: "bad index line".into(),
            });
        };
        if patient != current_patient {
            let finished = std::mem::take(&mut compartment);
            store_compartment(
                &current_patient,
                finished,
                key,
                owners,
                &names,
                &mut writer,
                &mut registrations,
                &mut issues,
                &mut report,
            )?;
            current_patient = patient.to_string();
        }
        let offset: u64 = offset.parse().map_err(|_| Error::CorruptStore {
            path: spool_path.clone(),
            reason: "bad spool offset".into(),
        })?;
        bar.inc(1);
        if duplicates.contains(&offset) {
            continue;
        }
        let resource = read_spooled(&mut spool, &spool_path, offset, key)?;
        compartment.push(resource);
    }
    store_compartment(
        &current_patient,
        compartment,
        key,
        owners,
        &names,
        &mut writer,
        &mut registrations,
        &mut issues,
        &mut report,
    )?;
    bar.finish_and_clear();
    registrations
        .flush()
        .context(|| format!("writing {}", registrations_path.display()))?;
    issues.finish()?;
    writer.finish()?;
    Ok(report)
}

fn read_spooled(
    spool: &mut File,
    path: &Path,
    offset: u64,
    key: &StoreKey,
) -> Result<SpooledResource> {
    spool
        .seek(SeekFrom::Start(offset))
        .context(|| format!("seeking {}", path.display()))?;
    let mut frames = FrameReader::exact(path.to_path_buf(), &mut *spool, key);
    let corrupt = |reason: &str| Error::CorruptStore {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let plaintext = frames
        .next_frame()?
        .ok_or_else(|| corrupt("spool ends early"))?;
    serde_json::from_slice(plaintext).map_err(|_| corrupt("spooled resource is not valid"))
}

#[allow(clippy::too_many_arguments)]
fn store_compartment(
    patient_id: &str,
    compartment: Vec<SpooledResource>,
    key: &StoreKey,
    owners: &OwnerMapping,
    names: &[String],
    writer: &mut StoreWriter,
    registrations: &mut impl Write,
    issues: &mut IssueLog,
    report: &mut IngestReport,
) -> Result<()> {
    if compartment.is_empty() {
        return Ok(());
    }
    let keys: HashSet<String> = compartment
        .iter()
        .map(|r| resource_key(&r.resource_type, &r.id))
        .collect();
    let has_patient = compartment[0].resource_type == "Patient";
    let mut kept = Vec::with_capacity(compartment.len());
    for resource in compartment {
        let broken: Vec<String> = collected_references(&resource.body)
            .into_iter()
            .filter(|reference| !keys.contains(reference))
            .collect();
        let orphan = !has_patient;
        for reference in broken {
            let issue = IngestIssue {
                file: names[resource.file].clone(),
                line: resource.line,
                kind: IssueKind::BrokenReference { reference },
            };
            report.record_issue(issues, issue)?;
        }
        // A resource whose patient is missing belongs to no compartment: not collectable.
        if !orphan {
            kept.push(resource);
        }
    }
    if kept.is_empty() {
        return Ok(());
    }
    let Some(owner) = owners.owner_of(patient_id) else {
        report.patients_without_owner += 1;
        report.resources_without_owner += kept.len() as u64;
        return Ok(());
    };
    for resource in kept {
        let canonical = canonical_json(&resource.body);
        let categories = category_codes(&resource.resource_type, &resource.body);
        let (record_id, commitment_hex) = if resource.resource_type == "Patient" {
            (None, None)
        } else {
            let record_id =
                RecordId::derive(key, &resource_key(&resource.resource_type, &resource.id));
            let digest = commitment(&commitment_salt(key, &record_id), &canonical, &categories);
            let line = serde_json::json!({"record_id": record_id, "owner": owner, "commitment": hex::encode(digest)});
            writeln!(registrations, "{line}").context(|| "writing registrations".into())?;
            report.records_stored += 1;
            (Some(record_id), Some(hex::encode(digest)))
        };
        writer.append(&StoredRecord {
            record_id,
            patient_id: patient_id.to_string(),
            owner: owner.clone(),
            resource_type: resource.resource_type.clone(),
            date: record_date(&resource.body),
            categories,
            commitment: commitment_hex,
            canonical: String::from_utf8(canonical).unwrap_or_default(),
        })?;
    }
    report.patients_stored += 1;
    Ok(())
}

/// Reads back every record of a store (for audits and tests; memory grows with the store).
pub fn read_all_records(store: &Path, key: &StoreKey) -> Result<Vec<StoredRecord>> {
    let mut reader = StoreReader::open(store, key)?;
    let mut records = Vec::new();
    while let Some(record) = reader.next_record()? {
        records.push(record);
    }
    Ok(records)
}

/// Counts of a store's records per resource type (for reports).
pub fn count_by_type(records: &[StoredRecord]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        *counts.entry(record.resource_type.clone()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::path::PathBuf;

    type Hook = Box<dyn FnMut(&Path)>;

    thread_local! {
        /// Called with an ingest's work folder once its sort runs are written.
        static RUNS_WRITTEN: RefCell<Option<Hook>> = RefCell::new(None);
    }

    pub(super) fn runs_written(work: &Path) {
        RUNS_WRITTEN.with(|hook| {
            if let Some(hook) = hook.borrow_mut().as_mut() {
                hook(work);
            }
        });
    }

    fn files_under(folder: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_temporary_file_of_an_ingest_holds_an_id_in_clear() {
        let corpus = std::env::var_os("CARGO_MANIFEST_DIR")
            .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
            .join("tests/corpus");
        let mut ids = Vec::new();
        for path in export_files(&corpus).unwrap() {
            for_each_line(&path, |_, line| {
                if let Ok(resource) = parse_resource_line(line) {
                    ids.push(resource.id);
                }
                Ok(())
            })
            .unwrap();
        }
        assert!(ids.len() > 20);
        let scanned = std::rc::Rc::new(RefCell::new(Vec::new()));
        let seen = scanned.clone();
        RUNS_WRITTEN.with(|hook| {
            *hook.borrow_mut() = Some(Box::new(move |work: &Path| {
                let mut files = Vec::new();
                files_under(work, &mut files);
                for file in files {
                    let bytes = std::fs::read(&file).unwrap();
                    seen.borrow_mut().push((file, bytes));
                }
            }))
        });
        let dir = tempfile::tempdir().unwrap();
        let owners = OwnerMapping::from_file(&corpus.join("owners.csv")).unwrap();
        let small = IngestOptions {
            sort_chunk_bytes: 200,
        };
        ingest_folder(
            &corpus,
            &dir.path().join("store"),
            &StoreKey::from_bytes([1; 32]),
            &owners,
            &small,
        )
        .unwrap();
        RUNS_WRITTEN.with(|hook| hook.borrow_mut().take());

        let scanned = scanned.borrow();
        let runs = scanned
            .iter()
            .filter(|(path, _)| path.to_string_lossy().contains("run-"))
            .count();
        assert!(runs > 4, "the ingest must spill sort runs ({runs})");
        for (path, bytes) in scanned.iter() {
            for id in &ids {
                assert!(
                    !bytes
                        .windows(id.len())
                        .any(|window| window == id.as_bytes()),
                    "{} holds {id} in clear",
                    path.display()
                );
            }
        }
    }
}
