//! The custodian's local record store, encrypted at rest.
//!
//! A store is a folder holding `records.bin`: a sequence of frames
//! `u32 little-endian length ‖ 12-byte nonce ‖ ChaCha20-Poly1305 ciphertext`, encrypted
//! under the store key with a random nonce and the associated data
//! `medledger-fhir-store-v1`. Each frame's plaintext is one [`StoredRecord`]:
//! `u32 little-endian header length ‖ header (JSON) ‖ canonical resource`. Records of one patient are contiguous, the
//! Patient resource first, so readers work one compartment at a time in bounded memory.

use crate::account::AccountId;
use crate::error::{Error, IoContext, Result};
use blake2::digest::KeyInit;
use blake2::digest::{consts::U32, Mac};
use rand::RngCore;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, ZeroizeOnDrop};

const STORE_AAD: &[u8] = b"medledger-fhir-store-v1";
const RECORDS_FILE: &str = "records.bin";
/// Frames larger than this are taken as corruption rather than allocated.
const MAX_FRAME: usize = 64 << 20;
/// Owners a [`StoreReader`] keeps decoded.
const RECENT_OWNERS: usize = 16;
/// Bytes of the Poly1305 tag that ends every frame.
const TAG_LEN: usize = 16;

/// The 32-byte secret of a store: encrypts it, and keys record ids and commitment salts.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct StoreKey([u8; 32]);

impl StoreKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Reads a key file holding 64 hex digits (surrounding whitespace allowed).
    pub fn from_file(path: &Path) -> Result<Self> {
        let bad = |reason: &str| Error::BadKeyFile {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let mut text = std::fs::read_to_string(path).map_err(|error| bad(&error.to_string()))?;
        let mut bytes = [0u8; 32];
        let decoded =
            hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| bad("not 64 hex digits"));
        text.zeroize();
        decoded?;
        Ok(Self(bytes))
    }

    /// Creates a fresh random key and writes it to `path` (readable by the owner only).
    pub fn generate_to_file(path: &Path) -> Result<Self> {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)
                .context(|| format!("creating the key file's folder {}", folder.display()))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(path)
            .context(|| format!("creating key file {}", path.display()))?;
        let mut text = hex::encode(bytes);
        let written = file
            .write_all(text.as_bytes())
            .context(|| format!("writing key file {}", path.display()));
        text.zeroize();
        written?;
        Ok(Self(bytes))
    }

    /// `BLAKE2b-256` keyed with the store key, over `domain ‖ message`.
    pub(crate) fn keyed_hash(&self, domain: &[u8], message: &[u8]) -> [u8; 32] {
        let mut mac = <blake2::Blake2bMac<U32> as KeyInit>::new_from_slice(&self.0)
            .expect("32-byte keys are valid for BLAKE2b");
        mac.update(domain);
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// `owner`'s category salt at this hospital ([`crate::category_tag`]): keyed BLAKE2b-256
    /// under the store key, so the hospital needs nothing else to recompute it, and nobody
    /// without the key can.
    pub fn category_salt(&self, owner: &[u8; 32]) -> crate::CategorySalt {
        crate::CategorySalt(self.keyed_hash(b"medledger:category-salt:v1", owner))
    }

    /// ChaCha20-Poly1305 (RFC 8439) under the store key; ring's implementation, which
    /// runs several times faster than a portable one (tests check the two agree).
    fn cipher(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &self.0)
                .expect("ChaCha20-Poly1305 keys are 32 bytes"),
        )
    }
}

/// A record's id on chain: keyed BLAKE2b-256 of its `Type/id` under the store key, so it
/// is stable across re-ingests but reveals nothing of the hospital's own ids.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub [u8; 32]);

impl RecordId {
    pub fn derive(key: &StoreKey, resource_key: &str) -> Self {
        Self(key.keyed_hash(b"medledger:record-id:v1", resource_key.as_bytes()))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordId({})", self.to_hex())
    }
}

impl Serialize for RecordId {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        // A visitor rather than `String`: record ids are read for every stored record,
        // and decoding from the borrowed text saves an allocation each time.
        struct HexVisitor;
        impl serde::de::Visitor<'_> for HexVisitor {
            type Value = RecordId;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("64 hex digits")
            }

            fn visit_str<E: serde::de::Error>(
                self,
                text: &str,
            ) -> std::result::Result<RecordId, E> {
                decode_hex_32(text.as_bytes())
                    .map(RecordId)
                    .ok_or_else(|| E::custom("a record id is 64 hex digits"))
            }
        }
        deserializer.deserialize_str(HexVisitor)
    }
}

/// 64 hex digits (either case) as 32 bytes. A direct decoder: it runs for every stored
/// record read (its id, and its commitment when delivered), and the `hex` crate's general
/// one showed in delivery profiles.
pub(crate) fn decode_hex_32(text: &[u8]) -> Option<[u8; 32]> {
    /// Value of each hex digit (either case); 0xff for every other byte.
    const NIBBLES: [u8; 256] = {
        let mut table = [0xff; 256];
        let mut digit = 0;
        while digit < 10 {
            table[b'0' as usize + digit] = digit as u8;
            digit += 1;
        }
        let mut letter = 0;
        while letter < 6 {
            table[b'a' as usize + letter] = 10 + letter as u8;
            table[b'A' as usize + letter] = 10 + letter as u8;
            letter += 1;
        }
        table
    };
    if text.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    // Invalid digits are collected and checked once, so the loop has no branches.
    let mut invalid = 0u8;
    for (byte, pair) in bytes.iter_mut().zip(text.chunks_exact(2)) {
        let (high, low) = (NIBBLES[pair[0] as usize], NIBBLES[pair[1] as usize]);
        invalid |= (high | low) & 0xf0;
        *byte = (high << 4) | low;
    }
    (invalid == 0).then_some(bytes)
}

/// One resource as kept in the store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRecord {
    /// `None` for the Patient resource, which is compartment context, not a sellable record.
    pub record_id: Option<RecordId>,
    pub patient_id: String,
    pub owner: AccountId,
    pub resource_type: String,
    pub categories: Vec<String>,
    /// Clinical date (`YYYY[-MM[-DD]]`) for listing time ranges.
    pub date: Option<String>,
    /// Hex of the commitment registered on chain (absent for the Patient resource).
    pub commitment: Option<String>,
    /// The RFC 8785 canonical form of the resource (stored after the JSON header, not
    /// inside it, so it is neither escaped nor parsed twice).
    #[serde(skip)]
    pub canonical: String,
}

/// Appends encrypted frames to a new store.
pub struct StoreWriter {
    path: PathBuf,
    out: BufWriter<File>,
    key: StoreKey,
    written: u64,
}

impl StoreWriter {
    /// Starts a new store generation in `folder` (replacing `records.bin` on [`finish`](Self::finish)).
    pub fn create(folder: &Path, key: &StoreKey) -> Result<Self> {
        std::fs::create_dir_all(folder)
            .context(|| format!("creating store folder {}", folder.display()))?;
        let path = folder.join(format!("{RECORDS_FILE}.partial"));
        let file = File::create(&path).context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            path,
            out: BufWriter::with_capacity(1 << 16, file),
            key: key.clone(),
            written: 0,
        })
    }

    pub fn append(&mut self, record: &StoredRecord) -> Result<()> {
        let header = serde_json::to_vec(record).map_err(|e| Error::CorruptStore {
            path: self.path.clone(),
            reason: format!("record cannot be serialised: {e}"),
        })?;
        let mut plaintext = Vec::with_capacity(4 + header.len() + record.canonical.len());
        plaintext.extend_from_slice(&(header.len() as u32).to_le_bytes());
        plaintext.extend_from_slice(&header);
        plaintext.extend_from_slice(record.canonical.as_bytes());
        let frame = seal_frame(&self.key, &plaintext);
        self.out
            .write_all(&frame)
            .context(|| format!("writing {}", self.path.display()))?;
        self.written += 1;
        Ok(())
    }

    /// Flushes and atomically puts the new generation in place; returns the record count.
    pub fn finish(self) -> Result<u64> {
        let file = self
            .out
            .into_inner()
            .map_err(|e| e.into_error())
            .context(|| format!("flushing {}", self.path.display()))?;
        file.sync_all()
            .context(|| format!("syncing {}", self.path.display()))?;
        let final_path = self.path.with_file_name(RECORDS_FILE);
        std::fs::rename(&self.path, &final_path)
            .context(|| format!("replacing {}", final_path.display()))?;
        Ok(self.written)
    }
}

pub(crate) fn seal_frame(key: &StoreKey, plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut frame = Vec::with_capacity(4 + 12 + plaintext.len() + TAG_LEN);
    frame.extend_from_slice(&((12 + plaintext.len() + TAG_LEN) as u32).to_le_bytes());
    frame.extend_from_slice(&nonce);
    let mut sealed = frame.split_off(16);
    sealed.extend_from_slice(plaintext);
    key.cipher()
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(STORE_AAD),
            &mut sealed,
        )
        .expect("ChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
    frame.extend_from_slice(&sealed);
    frame
}

/// Reads frames sealed with [`seal_frame`] back, in order.
pub(crate) struct FrameReader<R> {
    path: PathBuf,
    input: R,
    cipher: LessSafeKey,
    index: u64,
    /// Read-ahead from `input`, with `buffer[start..end]` not yet consumed. Frames are
    /// decrypted where they were read, so the bytes are copied once, by the kernel.
    buffer: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes asked of `input` at a time (more if a frame is larger).
    read_ahead: usize,
}

/// A sequential [`FrameReader`]'s read-ahead.
const READ_AHEAD: usize = 256 << 10;

impl<R: Read> FrameReader<R> {
    /// Reads frames one after another, reading ahead.
    pub(crate) fn new(path: PathBuf, input: R, key: &StoreKey) -> Self {
        Self::with_read_ahead(path, input, key, READ_AHEAD)
    }

    /// Reads no byte past the frame asked for: for a single frame at a seek position.
    pub(crate) fn exact(path: PathBuf, input: R, key: &StoreKey) -> Self {
        Self::with_read_ahead(path, input, key, 0)
    }

    fn with_read_ahead(path: PathBuf, input: R, key: &StoreKey, read_ahead: usize) -> Self {
        Self {
            path,
            input,
            cipher: key.cipher(),
            index: 0,
            buffer: Vec::new(),
            start: 0,
            end: 0,
            read_ahead,
        }
    }

    /// The next decrypted frame (decrypted in place, valid until the next call), `None`
    /// at a clean end of file.
    pub(crate) fn next_frame(&mut self) -> Result<Option<&[u8]>> {
        if !self.fill(4)? {
            if self.start == self.end {
                return Ok(None);
            }
            return Err(self.corrupt("truncated frame header"));
        }
        let mut length = [0u8; 4];
        length.copy_from_slice(&self.buffer[self.start..self.start + 4]);
        let length = u32::from_le_bytes(length) as usize;
        if !(12 + 16..=MAX_FRAME).contains(&length) {
            return Err(self.corrupt("implausible frame length"));
        }
        if !self.fill(4 + length)? {
            return Err(self.corrupt("truncated frame"));
        }
        let frame = &mut self.buffer[self.start + 4..self.start + 4 + length];
        self.start += 4 + length;
        let (nonce, sealed) = frame.split_at_mut(12);
        let nonce = Nonce::try_assume_unique_for_key(nonce)
            .map_err(|_| Error::StoreDecryption { index: self.index })?;
        let plaintext = self
            .cipher
            .open_in_place(nonce, Aad::from(STORE_AAD), sealed)
            .map_err(|_| Error::StoreDecryption { index: self.index })?;
        self.index += 1;
        Ok(Some(plaintext))
    }

    /// Makes at least `wanted` unconsumed bytes available; `false` if the input ends
    /// first.
    fn fill(&mut self, wanted: usize) -> Result<bool> {
        if self.end - self.start >= wanted {
            return Ok(true);
        }
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        let capacity = wanted.max(self.read_ahead);
        if self.buffer.len() < capacity {
            self.buffer.resize(capacity, 0);
        }
        while self.end < wanted {
            match self.input.read(&mut self.buffer[self.end..capacity]) {
                Ok(0) => return Ok(false),
                Ok(read) => self.end += read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    return Err(error).context(|| format!("reading {}", self.path.display()))
                }
            }
        }
        Ok(true)
    }

    fn corrupt(&self, reason: &str) -> Error {
        Error::CorruptStore {
            path: self.path.clone(),
            reason: format!("{reason} at frame {}", self.index),
        }
    }
}

/// A [`StoredRecord`]'s header as stored, borrowing from the decrypted frame.
#[derive(Deserialize)]
struct StoredHeader<'a> {
    record_id: Option<RecordId>,
    #[serde(borrow)]
    patient_id: Cow<'a, str>,
    #[serde(borrow)]
    owner: Cow<'a, str>,
    #[serde(borrow)]
    resource_type: Cow<'a, str>,
    #[serde(borrow)]
    categories: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    date: Option<Cow<'a, str>>,
    #[serde(borrow)]
    commitment: Option<Cow<'a, str>>,
}

/// Reads a store's records in order.
pub struct StoreReader {
    frames: FrameReader<File>,
    path: PathBuf,
    /// Owners decoded lately, oldest first (at most [`RECENT_OWNERS`]).
    recent_owners: Vec<AccountId>,
    /// Bytes of the store file, for progress reporting.
    pub file_size: u64,
}

impl StoreReader {
    pub fn open(folder: &Path, key: &StoreKey) -> Result<Self> {
        let path = folder.join(RECORDS_FILE);
        let file = File::open(&path)
            .context(|| format!("opening store {} (run ingest first)", path.display()))?;
        let file_size = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Self {
            frames: FrameReader::new(path.clone(), file, key),
            path,
            recent_owners: Vec::new(),
            file_size,
        })
    }

    pub fn next_record(&mut self) -> Result<Option<StoredRecord>> {
        let mut record = StoredRecord::empty();
        Ok(self.read_record_into(&mut record)?.then_some(record))
    }

    /// Reads the next record into `record`, reusing its buffers; `false` at the end of the
    /// store (and `record` is then unchanged).
    pub fn read_record_into(&mut self, record: &mut StoredRecord) -> Result<bool> {
        let path = &self.path;
        let corrupt = |reason: String| Error::CorruptStore {
            path: path.clone(),
            reason,
        };
        let Some(plaintext) = self.frames.next_frame()? else {
            return Ok(false);
        };
        let header_len = plaintext
            .get(..4)
            .map(|bytes| u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize)
            .filter(|len| 4 + len <= plaintext.len())
            .ok_or_else(|| corrupt("record header length out of range".into()))?;
        let header_bytes = &plaintext[4..4 + header_len];
        let header = match StoredHeader::parse_as_written(header_bytes) {
            Some(header) => header,
            None => serde_json::from_slice(header_bytes)
                .map_err(|e| corrupt(format!("record header is not valid: {e}")))?,
        };
        let canonical = std::str::from_utf8(&plaintext[4 + header_len..])
            .map_err(|_| corrupt("record is not UTF-8".into()))?;
        // A hospital has few owners per run of records: decode (and checksum) each SS58
        // address once while it stays among the recent ones, not once per record. (A
        // placeholder owner has no text, and an empty owner must still be refused.)
        if record.owner.as_ss58().is_empty() || record.owner.as_ss58() != header.owner {
            let recent = self
                .recent_owners
                .iter()
                .position(|owner| owner.as_ss58() == header.owner);
            record.owner = match recent {
                Some(at) => self.recent_owners[at].clone(),
                None => {
                    let owner = AccountId::from_ss58(&header.owner)
                        .map_err(|e| corrupt(format!("record header is not valid: {e}")))?;
                    if self.recent_owners.len() == RECENT_OWNERS {
                        self.recent_owners.remove(0);
                    }
                    self.recent_owners.push(owner.clone());
                    owner
                }
            };
        }
        record.record_id = header.record_id;
        replace_text(&mut record.patient_id, &header.patient_id);
        replace_text(&mut record.resource_type, &header.resource_type);
        record.categories.truncate(header.categories.len());
        for (index, category) in header.categories.iter().enumerate() {
            match record.categories.get_mut(index) {
                Some(kept) => replace_text(kept, category),
                None => record.categories.push(category.to_string()),
            }
        }
        replace_optional_text(&mut record.date, header.date.as_deref());
        replace_optional_text(&mut record.commitment, header.commitment.as_deref());
        replace_text(&mut record.canonical, canonical);
        Ok(true)
    }

    /// The next patient's compartment: its records, Patient first.
    pub fn next_compartment(
        &mut self,
        pending: &mut Option<StoredRecord>,
    ) -> Result<Option<Vec<StoredRecord>>> {
        let first = match pending.take() {
            Some(record) => record,
            None => match self.next_record()? {
                Some(record) => record,
                None => return Ok(None),
            },
        };
        let mut compartment = vec![first];
        while let Some(record) = self.next_record()? {
            if record.patient_id != compartment[0].patient_id {
                *pending = Some(record);
                break;
            }
            compartment.push(record);
        }
        Ok(Some(compartment))
    }
}

/// Reads a store compartment by compartment into buffers reused from one compartment to
/// the next, so a delivery's steady state allocates almost nothing per record.
pub struct CompartmentReader {
    store: StoreReader,
    /// `records[..len]` is the current compartment; `records[len]`, when `lookahead` is
    /// set, is the first record of the next one.
    records: Vec<StoredRecord>,
    len: usize,
    lookahead: bool,
}

impl CompartmentReader {
    pub fn new(store: StoreReader) -> Self {
        Self {
            store,
            records: Vec::new(),
            len: 0,
            lookahead: false,
        }
    }

    /// Bytes of the store file, for progress reporting.
    pub fn file_size(&self) -> u64 {
        self.store.file_size
    }

    /// The next patient's compartment (Patient first), valid until the next call.
    pub fn next_compartment(&mut self) -> Result<Option<&[StoredRecord]>> {
        if self.lookahead {
            self.records.swap(0, self.len);
        } else if !self.read_into_slot(0)? {
            self.len = 0;
            return Ok(None);
        }
        self.len = 1;
        self.lookahead = false;
        while self.read_into_slot(self.len)? {
            if self.records[self.len].patient_id != self.records[0].patient_id {
                self.lookahead = true;
                break;
            }
            self.len += 1;
        }
        Ok(Some(&self.records[..self.len]))
    }

    fn read_into_slot(&mut self, slot: usize) -> Result<bool> {
        if self.records.len() <= slot {
            self.records.resize_with(slot + 1, StoredRecord::empty);
        }
        self.store.read_record_into(&mut self.records[slot])
    }
}

fn replace_text(kept: &mut String, text: &str) {
    kept.clear();
    kept.push_str(text);
}

fn replace_optional_text(kept: &mut Option<String>, text: Option<&str>) {
    match (kept.as_mut(), text) {
        (Some(kept), Some(text)) => replace_text(kept, text),
        (_, text) => *kept = text.map(str::to_string),
    }
}

impl StoredRecord {
    /// A placeholder to read into (see [`StoreReader::read_record_into`]).
    fn empty() -> Self {
        Self {
            record_id: None,
            patient_id: String::new(),
            owner: AccountId::placeholder(),
            resource_type: String::new(),
            categories: Vec::new(),
            date: None,
            commitment: None,
            canonical: String::new(),
        }
    }
}

impl<'a> StoredHeader<'a> {
    /// Reads a header in exactly the layout [`StoreWriter`] writes (serde_json, fields in
    /// declaration order, no escapes). Anything else returns `None`, and the caller falls
    /// back to serde_json, which decides what is valid: this is only a fast path, as the
    /// general parser showed at about 7 % of a delivery's profile.
    fn parse_as_written(bytes: &'a [u8]) -> Option<Self> {
        // UTF-8 checked once for the whole header, not string by string (a cost in profiles):
        // every string ends at an ASCII quote, so each is a slice of valid text.
        let text = std::str::from_utf8(bytes).ok()?;
        let mut cursor = HeaderCursor { text, at: 0 };
        cursor.expect(b"{\"record_id\":")?;
        let record_id = if cursor.accept(b"null") {
            None
        } else {
            Some(RecordId(decode_hex_32(cursor.string()?.as_bytes())?))
        };
        cursor.expect(b",\"patient_id\":")?;
        let patient_id = cursor.string()?;
        cursor.expect(b",\"owner\":")?;
        let owner = cursor.string()?;
        cursor.expect(b",\"resource_type\":")?;
        let resource_type = cursor.string()?;
        cursor.expect(b",\"categories\":[")?;
        let mut categories = Vec::new();
        if !cursor.accept(b"]") {
            loop {
                categories.push(Cow::Borrowed(cursor.string()?));
                if cursor.accept(b"]") {
                    break;
                }
                cursor.expect(b",")?;
            }
        }
        cursor.expect(b",\"date\":")?;
        let date = cursor.optional_string()?;
        cursor.expect(b",\"commitment\":")?;
        let commitment = cursor.optional_string()?;
        cursor.expect(b"}")?;
        (cursor.at == bytes.len()).then_some(Self {
            record_id,
            patient_id: Cow::Borrowed(patient_id),
            owner: Cow::Borrowed(owner),
            resource_type: Cow::Borrowed(resource_type),
            categories,
            date: date.map(Cow::Borrowed),
            commitment: commitment.map(Cow::Borrowed),
        })
    }
}

/// A position in a record header, for [`StoredHeader::parse_as_written`].
struct HeaderCursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> HeaderCursor<'a> {
    fn accept(&mut self, token: &[u8]) -> bool {
        let found = self.text.as_bytes()[self.at..].starts_with(token);
        if found {
            self.at += token.len();
        }
        found
    }

    fn expect(&mut self, token: &[u8]) -> Option<()> {
        self.accept(token).then_some(())
    }

    /// A string without escapes or control characters (those go to the general parser).
    fn string(&mut self) -> Option<&'a str> {
        self.expect(b"\"")?;
        let start = self.at;
        // The first quote, backslash or control character must be the closing quote.
        let length = crate::json::first_special(&self.text.as_bytes()[start..])?;
        if self.text.as_bytes()[start + length] != b'"' {
            return None;
        }
        self.at += length + 1;
        Some(&self.text[start..start + length])
    }

    fn optional_string(&mut self) -> Option<Option<&'a str>> {
        if self.accept(b"null") {
            Some(None)
        } else {
            self.string().map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_a_wrong_key_is_refused() {
        let key = StoreKey::from_bytes([7; 32]);
        let mut bytes = seal_frame(&key, b"first");
        bytes.extend(seal_frame(&key, b"second"));
        assert!(
            !bytes.windows(5).any(|w| w == b"first"),
            "plaintext must not be stored"
        );
        let mut reader = FrameReader::new("t".into(), &bytes[..], &key);
        assert_eq!(reader.next_frame().unwrap(), Some(&b"first"[..]));
        assert_eq!(reader.next_frame().unwrap(), Some(&b"second"[..]));
        assert!(reader.next_frame().unwrap().is_none());
        let mut wrong = FrameReader::new("t".into(), &bytes[..], &StoreKey::from_bytes([8; 32]));
        assert!(matches!(
            wrong.next_frame(),
            Err(Error::StoreDecryption { index: 0 })
        ));
        let mut truncated = FrameReader::new("t".into(), &bytes[..bytes.len() - 3], &key);
        truncated.next_frame().unwrap();
        assert!(matches!(
            truncated.next_frame(),
            Err(Error::CorruptStore { .. })
        ));
    }

    /// Frames are RFC 8439 ChaCha20-Poly1305: RustCrypto's independent implementation
    /// opens what the store seals, and the store opens what it seals.
    #[test]
    fn frames_interoperate_with_an_independent_chacha20_poly1305() {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
        let key = StoreKey::from_bytes([9; 32]);
        let other = ChaCha20Poly1305::new(Key::from_slice(&[9; 32]));
        let plaintext = b"{\"resourceType\":\"Patient\"}".repeat(40);
        let frame = seal_frame(&key, &plaintext);
        assert_eq!(
            u32::from_le_bytes(frame[..4].try_into().unwrap()) as usize,
            frame.len() - 4
        );
        let opened = other
            .decrypt(
                Nonce::from_slice(&frame[4..16]),
                Payload {
                    msg: &frame[16..],
                    aad: STORE_AAD,
                },
            )
            .expect("an independent implementation opens the frame");
        assert_eq!(opened, plaintext);

        let nonce = [5u8; 12];
        let sealed = other
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext[..],
                    aad: STORE_AAD,
                },
            )
            .unwrap();
        let mut bytes = ((12 + sealed.len()) as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        let mut reader = FrameReader::new("t".into(), &bytes[..], &key);
        assert_eq!(reader.next_frame().unwrap(), Some(&plaintext[..]));
    }

    #[test]
    fn record_ids_read_back_from_hex_in_either_case_and_nothing_else() {
        let id = RecordId([0xa7; 32]);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(serde_json::from_str::<RecordId>(&json).unwrap(), id);
        let upper = json.to_uppercase();
        assert_eq!(serde_json::from_str::<RecordId>(&upper).unwrap(), id);
        for bad in [
            "\"a7\"",
            &json.replace('a', "g"),
            &json.replace("a7\"", "\""),
        ] {
            assert!(serde_json::from_str::<RecordId>(bad).is_err(), "{bad}");
        }
    }

    fn record(patient: &str, resource_type: &str, id: u8) -> StoredRecord {
        StoredRecord {
            record_id: (resource_type != "Patient").then_some(RecordId([id; 32])),
            patient_id: patient.to_string(),
            owner: AccountId::from_ss58("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
                .unwrap(),
            resource_type: resource_type.to_string(),
            categories: vec![resource_type.to_lowercase()],
            date: id.is_multiple_of(2).then(|| "2020-01-02".to_string()),
            commitment: (resource_type != "Patient").then(|| "ab".repeat(32)),
            canonical: format!("{{\"id\":\"{id}\"}}"),
        }
    }

    /// What a record reads back as, for comparisons (`StoredRecord` has no `PartialEq`).
    fn fields(record: &StoredRecord) -> String {
        format!(
            "{:?} {} {} {} {:?} {:?} {:?} {}",
            record.record_id,
            record.patient_id,
            record.owner.as_ss58(),
            record.resource_type,
            record.categories,
            record.date,
            record.commitment,
            record.canonical
        )
    }

    #[test]
    fn compartments_read_into_reused_buffers_match_the_records_written() {
        let dir = tempfile::tempdir().unwrap();
        let key = StoreKey::from_bytes([4; 32]);
        // Patient ids with escapes take the general header parser; the rest the fast path.
        let patients = ["p1", "p\"2\\", "p3\u{e9}"];
        let mut written = Vec::new();
        for (n, patient) in patients.iter().enumerate() {
            let mut compartment = vec![record(patient, "Patient", 0)];
            for id in 1..=(3 - n as u8) {
                compartment.push(record(patient, "Observation", id));
            }
            written.push(compartment);
        }
        let mut writer = StoreWriter::create(dir.path(), &key).unwrap();
        for record in written.iter().flatten() {
            writer.append(record).unwrap();
        }
        writer.finish().unwrap();

        let mut reader = CompartmentReader::new(StoreReader::open(dir.path(), &key).unwrap());
        let mut read = Vec::new();
        while let Some(compartment) = reader.next_compartment().unwrap() {
            read.push(compartment.iter().map(fields).collect::<Vec<_>>());
        }
        let expected: Vec<Vec<String>> = written
            .iter()
            .map(|compartment| compartment.iter().map(fields).collect())
            .collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn the_header_fast_path_reads_what_serde_reads_and_leaves_the_rest_to_it() {
        let mut record = record("p1", "Observation", 2);
        record.categories.push("observation:laboratory".into());
        let header = serde_json::to_vec(&record).unwrap();
        let fast = StoredHeader::parse_as_written(&header).expect("the layout written");
        let general: StoredHeader<'_> = serde_json::from_slice(&header).unwrap();
        assert_eq!(fast.record_id, general.record_id);
        assert_eq!(
            (&fast.patient_id, &fast.owner, &fast.resource_type),
            (&general.patient_id, &general.owner, &general.resource_type)
        );
        assert_eq!(fast.categories, general.categories);
        assert_eq!(
            (&fast.date, &fast.commitment),
            (&general.date, &general.commitment)
        );
        for other in [
            br#"{"record_id":null,"patient_id":"p\u0031","owner":"x","resource_type":"Patient","categories":[],"date":null,"commitment":null}"#.as_slice(),
            br#"{"patient_id":"p1","record_id":null,"owner":"x","resource_type":"Patient","categories":[],"date":null,"commitment":null}"#,
            br#"{"record_id":null,"patient_id":"p1","owner":"x","resource_type":"Patient","categories":[],"date":null,"commitment":null} "#,
            br#"{"record_id":"zz","patient_id":"p1","owner":"x","resource_type":"Patient","categories":[],"date":null,"commitment":null}"#,
            // A control character inside a string, and a string that never ends.
            b"{\"record_id\":null,\"patient_id\":\"p\x011\",\"owner\":\"x\",\"resource_type\":\"Patient\",\"categories\":[],\"date\":null,\"commitment\":null}",
            br#"{"record_id":null,"patient_id":"p1"#,
        ] {
            assert!(StoredHeader::parse_as_written(other).is_none());
        }
    }

    #[test]
    fn key_file_must_hold_64_hex_digits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let key = StoreKey::generate_to_file(&path).unwrap();
        assert_eq!(StoreKey::from_file(&path).unwrap().0, key.0);
        std::fs::write(&path, "abcd").unwrap();
        assert!(matches!(
            StoreKey::from_file(&path),
            Err(Error::BadKeyFile { .. })
        ));
    }

    #[test]
    fn a_new_key_file_gets_its_folder_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fhir-store").join("store.key");
        let key = StoreKey::generate_to_file(&path).unwrap();
        assert_eq!(StoreKey::from_file(&path).unwrap().0, key.0);
        assert!(
            StoreKey::generate_to_file(&path).is_err(),
            "an existing key is never overwritten"
        );
    }
}
