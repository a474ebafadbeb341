//! Selection: which stored records may be sold to this buyer, for this purpose, at this
//! block — the listing's filter first, then the owner's consent.

use crate::account::AccountId;
use crate::error::{Error, Result};
use crate::store::{RecordId, StoredRecord};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::str::FromStr;

/// Why data is bought. Mirrors the consent pallet's purpose enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    Research,
    PublicHealth,
    Commercial,
    Education,
    QualityImprovement,
}

impl FromStr for Purpose {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_string()))
            .map_err(|_| Error::UnknownPurpose(text.to_string()))
    }
}

/// An owner's secret category salt at one custodian: what makes its consents' category tags
/// unreadable to everyone else. The custodian derives it from its store key
/// ([`crate::StoreKey::category_salt`]) and hands it to the owner only (its node's
/// `GET /category-salt`, signed by the owner).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CategorySalt(pub [u8; 32]);

impl std::fmt::Debug for CategorySalt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CategorySalt(…)")
    }
}

/// Domain-separation tag of [`category_tag`]; the version changes with the format.
pub const CATEGORY_TAG_PREFIX: &[u8] = b"medledger:category:v2";

/// The tag an owner's consent names a category by (`consent.grantConsent(Category(tag), …)`):
/// BLAKE2b-256 over `"medledger:category:v2" ‖ salt ‖ code`, `code` being the category code
/// the custodian's collector assigns, e.g. `observation:laboratory`. Only the owner and the
/// custodian know the salt, so the chain shows no category; the custodian recomputes the
/// tag of each of a record's codes to match it.
pub fn category_tag(salt: &CategorySalt, code: &str) -> [u8; 32] {
    use blake2::digest::{consts::U32, Digest};
    let mut hasher = blake2::Blake2b::<U32>::new();
    hasher.update(CATEGORY_TAG_PREFIX);
    hasher.update(salt.0);
    hasher.update(code.as_bytes());
    hasher.finalize().into()
}

/// Category codes every collector assigns to common records: the collected resource types
/// (`observation`, …) and FHIR R4's own category codes of observations and conditions. Wallets
/// name a tag by trying these (a custodian may assign others, which they show as tags).
pub fn common_category_codes() -> Vec<String> {
    const CODED: [&str; 12] = [
        "observation:laboratory",
        "observation:vital-signs",
        "observation:imaging",
        "observation:social-history",
        "observation:survey",
        "observation:exam",
        "observation:therapy",
        "observation:activity",
        "observation:procedure",
        "condition:problem-list-item",
        "condition:encounter-diagnosis",
        "condition:health-concern",
    ];
    crate::resource::COLLECTED_TYPES
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .chain(CODED.iter().map(|code| code.to_string()))
        .collect()
}

/// The code among `codes` whose tag under `salt` is `tag`, if any.
pub fn category_of_tag<'a>(
    salt: &CategorySalt,
    tag: &[u8; 32],
    codes: &'a [String],
) -> Option<&'a str> {
    codes
        .iter()
        .find(|code| category_tag(salt, code) == *tag)
        .map(String::as_str)
}

/// One question to the consent oracle.
#[derive(Debug, Clone, Copy)]
pub struct ConsentQuery<'a> {
    pub owner: &'a AccountId,
    pub record: &'a RecordId,
    /// The record's category codes: the chain cannot see them, so a category-scoped
    /// consent is matched here, by the custodian.
    pub categories: &'a [String],
    pub purpose: Purpose,
    pub buyer: &'a AccountId,
    pub at_block: u64,
}

/// Did the owner's consent cover this record, purpose and buyer at that block?
/// The chain supplies the real answer (consent pallet runtime API).
pub trait ConsentOracle {
    fn consent_covers(&self, query: &ConsentQuery<'_>) -> bool;
}

/// The sale a delivery is for.
#[derive(Debug, Clone)]
pub struct Sale {
    pub buyer: AccountId,
    pub purpose: Purpose,
    /// Block of the purchase: consent must cover the record then…
    pub sale_block: u64,
    /// …and still at delivery, if given (a revocation stops future deliveries).
    pub delivery_block: Option<u64>,
}

/// A listing's filter over the custodian's records.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListingFilter {
    /// A record matches if any of its category codes is listed; empty matches all.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Inclusive lower bound on the record's date (`YYYY[-MM[-DD]]`).
    #[serde(default)]
    pub from: Option<String>,
    /// Exclusive upper bound on the record's date.
    #[serde(default)]
    pub until: Option<String>,
}

impl ListingFilter {
    /// Checks the bounds are dates.
    pub fn validate(&self) -> Result<()> {
        for bound in self.from.iter().chain(self.until.iter()) {
            if !crate::resource::date_prefix_is_valid(bound) {
                return Err(Error::BadFilterDate(bound.clone()));
            }
        }
        Ok(())
    }

    pub fn matches(&self, record: &StoredRecord) -> bool {
        let category_ok = self.categories.is_empty()
            || record
                .categories
                .iter()
                .any(|code| self.categories.contains(code));
        if !category_ok {
            return false;
        }
        if self.from.is_none() && self.until.is_none() {
            return true;
        }
        let Some(date) = record.date.as_deref() else {
            return false;
        };
        // Dates compare as text once padded to full days; a partial record date counts
        // as its first day.
        let day = pad_date(date);
        self.from
            .as_deref()
            .is_none_or(|from| day.as_str() >= pad_date(from).as_str())
            && self
                .until
                .as_deref()
                .is_none_or(|until| day.as_str() < pad_date(until).as_str())
    }
}

fn pad_date(date: &str) -> String {
    match date.len() {
        4 => format!("{date}-01-01"),
        7 => format!("{date}-01"),
        _ => date.to_string(),
    }
}

/// True if `record` is sellable in this sale: it is a record (not Patient context), the
/// listing's filter matches it, and consent covers it at the sale block and, if given,
/// at the delivery block.
pub fn record_is_sellable(
    record: &StoredRecord,
    filter: &ListingFilter,
    sale: &Sale,
    oracle: &dyn ConsentOracle,
) -> bool {
    let Some(record_id) = record.record_id.as_ref() else {
        return false;
    };
    if !filter.matches(record) {
        return false;
    }
    let covers = |at_block| {
        oracle.consent_covers(&ConsentQuery {
            owner: &record.owner,
            record: record_id,
            categories: &record.categories,
            purpose: sale.purpose,
            buyer: &sale.buyer,
            at_block,
        })
    };
    covers(sale.sale_block) && sale.delivery_block.is_none_or(covers)
}

/// Scope of a consent grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    All,
    Category(String),
    Record(RecordId),
}

/// Who may receive data under a grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Grantee {
    Anyone,
    Buyer(AccountId),
    /// A registered buyer class; [`ConsentGrants::buyer_classes`] says who is in it.
    Class(String),
}

/// One consent as the consent pallet keeps it (a version with its own validity window).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub owner: AccountId,
    pub scope: Scope,
    pub purpose: Purpose,
    pub grantee: Grantee,
    pub granted_at: u64,
    /// The grant covers blocks strictly before its expiry.
    #[serde(default)]
    pub expires_at: Option<u64>,
    /// The grant covers blocks strictly before its revocation.
    #[serde(default)]
    pub revoked_at: Option<u64>,
}

/// A consent oracle over a list of grants: the consent pallet's semantics for use before
/// the chain is wired in (and for offline delivery tests). File form: JSON
/// `{"grants": [...], "buyer_classes": {"class": ["SS58", ...]}}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConsentGrants {
    pub grants: Vec<Grant>,
    #[serde(default)]
    pub buyer_classes: std::collections::BTreeMap<String, Vec<AccountId>>,
}

impl ConsentGrants {
    pub fn from_file(path: &Path) -> Result<Self> {
        let bad = |reason: String| Error::BadGrants {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))
    }
}

impl ConsentOracle for ConsentGrants {
    fn consent_covers(&self, query: &ConsentQuery<'_>) -> bool {
        self.grants.iter().any(|grant| {
            let in_time = grant.granted_at <= query.at_block
                && grant.expires_at.is_none_or(|end| query.at_block < end)
                && grant.revoked_at.is_none_or(|end| query.at_block < end);
            let in_scope = match &grant.scope {
                Scope::All => true,
                Scope::Category(code) => query.categories.contains(code),
                Scope::Record(id) => id == query.record,
            };
            let to_buyer = match &grant.grantee {
                Grantee::Anyone => true,
                Grantee::Buyer(buyer) => buyer == query.buyer,
                Grantee::Class(class) => self
                    .buyer_classes
                    .get(class)
                    .is_some_and(|members| members.contains(query.buyer)),
            };
            &grant.owner == query.owner
                && grant.purpose == query.purpose
                && in_time
                && in_scope
                && to_buyer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_parses_kebab_case_and_names_unknown_ones() {
        assert_eq!(
            "public-health".parse::<Purpose>().unwrap(),
            Purpose::PublicHealth
        );
        assert!(
            matches!("marketing".parse::<Purpose>(), Err(Error::UnknownPurpose(p)) if p == "marketing")
        );
    }

    #[test]
    fn filter_dates_must_be_dates() {
        let filter = ListingFilter {
            from: Some("2020-03".into()),
            ..Default::default()
        };
        assert!(filter.validate().is_ok());
        let filter = ListingFilter {
            until: Some("last year".into()),
            ..Default::default()
        };
        assert!(matches!(filter.validate(), Err(Error::BadFilterDate(_))));
    }
}

/// A record chosen for a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectedRecord {
    pub record_id: RecordId,
    pub owner: AccountId,
}

/// Exactly the stored records that may be sold in `sale` under `filter`, in store order
/// (the list grows with the selection; the store is streamed).
pub fn select_records(
    store: &Path,
    key: &crate::store::StoreKey,
    filter: &ListingFilter,
    sale: &Sale,
    oracle: &dyn ConsentOracle,
) -> Result<Vec<SelectedRecord>> {
    filter.validate()?;
    let mut reader = crate::store::StoreReader::open(store, key)?;
    let mut selected = Vec::new();
    while let Some(record) = reader.next_record()? {
        if record_is_sellable(&record, filter, sale, oracle) {
            if let Some(record_id) = record.record_id {
                selected.push(SelectedRecord {
                    record_id,
                    owner: record.owner,
                });
            }
        }
    }
    Ok(selected)
}
