//! Owner accounts (SS58 addresses) and the hospital's patient → owner mapping.

use crate::error::{Error, IoContext, Result};
use blake2::{Blake2b512, Digest};
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

/// A 32-byte account id, kept with the SS58 text it was read from.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId {
    public: [u8; 32],
    ss58: String,
}

impl AccountId {
    /// Parses an SS58 address of a 32-byte account (any network prefix) and checks its
    /// checksum.
    pub fn from_ss58(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::BadAccount {
            account: text.to_string(),
            reason: reason.to_string(),
        };
        let bytes = bs58::decode(text)
            .into_vec()
            .map_err(|_| bad("not base58"))?;
        let prefix_len = match bytes.first() {
            Some(first) if *first < 64 => 1,
            Some(first) if *first < 128 => 2,
            Some(_) => return Err(bad("reserved address prefix")),
            None => return Err(bad("empty")),
        };
        if bytes.len() != prefix_len + 32 + 2 {
            return Err(bad("not a 32-byte account address"));
        }
        let (body, checksum) = bytes.split_at(prefix_len + 32);
        let mut hasher = Blake2b512::new();
        hasher.update(b"SS58PRE");
        hasher.update(body);
        if hasher.finalize()[..2] != *checksum {
            return Err(bad("checksum mismatch"));
        }
        let mut public = [0u8; 32];
        public.copy_from_slice(&body[prefix_len..]);
        Ok(Self {
            public,
            ss58: text.to_string(),
        })
    }

    /// An empty id (no SS58 text) standing in until a record is read over it.
    pub(crate) fn placeholder() -> Self {
        Self {
            public: [0; 32],
            ss58: String::new(),
        }
    }

    pub fn public_key(&self) -> &[u8; 32] {
        &self.public
    }

    pub fn as_ss58(&self) -> &str {
        &self.ss58
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ss58)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.ss58)
    }
}

impl serde::Serialize for AccountId {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.ss58)
    }
}

impl<'de> serde::Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_ss58(&text).map_err(serde::de::Error::custom)
    }
}

/// Which account owns each patient's records, as the hospital maintains it.
///
/// File format: CSV, one `patient id,SS58 account` per line; blank lines and lines
/// starting with `#` are ignored, and a first line `patient,account` is a header.
#[derive(Debug, Default, Clone)]
pub struct OwnerMapping {
    owners: HashMap<String, AccountId>,
}

impl OwnerMapping {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .context(|| format!("reading owner mapping {}", path.display()))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let mut owners = HashMap::new();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let bad = |reason: String| Error::BadOwnerMapping {
                path: path.to_path_buf(),
                line: index + 1,
                reason,
            };
            if line.is_empty()
                || line.starts_with('#')
                || (index == 0 && line.eq_ignore_ascii_case("patient,account"))
            {
                continue;
            }
            let (patient, account) = line
                .split_once(',')
                .ok_or_else(|| bad("expected `patient id,SS58 account`".into()))?;
            let account =
                AccountId::from_ss58(account.trim()).map_err(|error| bad(error.to_string()))?;
            if owners.insert(patient.trim().to_string(), account).is_some() {
                return Err(bad(format!("patient {} is mapped twice", patient.trim())));
            }
        }
        Ok(Self { owners })
    }

    pub fn insert(&mut self, patient_id: &str, owner: AccountId) {
        self.owners.insert(patient_id.to_string(), owner);
    }

    pub fn owner_of(&self, patient_id: &str) -> Option<&AccountId> {
        self.owners.get(patient_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Alice of the Substrate dev keyring: an independent, widely published vector.
    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const ALICE_PUBLIC: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

    #[test]
    fn ss58_address_decodes_to_its_public_key() {
        let alice = AccountId::from_ss58(ALICE).unwrap();
        assert_eq!(hex::encode(alice.public_key()), ALICE_PUBLIC);
    }

    #[test]
    fn ss58_with_a_broken_checksum_is_rejected() {
        let mut broken = ALICE.to_string();
        broken.replace_range(10..11, if &ALICE[10..11] == "a" { "b" } else { "a" });
        assert!(matches!(
            AccountId::from_ss58(&broken),
            Err(Error::BadAccount { .. })
        ));
        assert!(matches!(
            AccountId::from_ss58("0OIl"),
            Err(Error::BadAccount { .. })
        ));
    }

    #[test]
    fn mapping_file_reports_the_bad_line() {
        let text = format!("patient,account\npat-1,{ALICE}\n\n# comment\npat-2,not-an-account\n");
        match OwnerMapping::parse(&text, Path::new("owners.csv")) {
            Err(Error::BadOwnerMapping { line, .. }) => assert_eq!(line, 5),
            other => panic!("expected BadOwnerMapping, got {other:?}"),
        }
        let good =
            OwnerMapping::parse(&format!("pat-1,{ALICE}\n"), Path::new("owners.csv")).unwrap();
        assert_eq!(good.owner_of("pat-1").map(AccountId::as_ss58), Some(ALICE));
        assert!(good.owner_of("pat-2").is_none());
    }
}
