//! Domain types of a listing: what is sold, for what purpose, at what price.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::{
    pallet_prelude::{BoundedVec, ConstU32, Get},
    CloneNoBound, DebugNoBound, EqNoBound, PartialEqNoBound,
};
use scale_info::TypeInfo;
use sp_core::H256;
use sp_runtime::traits::{CheckedMul, Zero};

/// Identifier of a listing, assigned in creation order.
pub type ListingId = u64;

/// What the buyer may use the data for: the same type consents grant.
pub use medledger_primitives::Purpose;

/// The period the listed records cover, in Unix seconds, both ends inclusive.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub struct TimeRange {
    pub from: u64,
    pub until: u64,
}

impl TimeRange {
    pub fn is_ordered(&self) -> bool {
        self.from <= self.until
    }
}

/// Longest category code in a listing's filter, in bytes.
pub const MAX_CATEGORY_CODE_LEN: u32 = 64;
/// Most category codes in one listing's filter.
pub const MAX_LISTING_CATEGORIES: u32 = 16;

/// One category code of the custodian's record catalogue, as the FHIR collector derives it:
/// the resource type in lower case (`observation`), or `type:code` for one of its category
/// codings (`observation:laboratory`). ASCII, no spaces.
pub type CategoryCode = BoundedVec<u8, ConstU32<MAX_CATEGORY_CODE_LEN>>;

/// Is `code` a well-formed category code: non-empty lower-case ASCII letters, digits and
/// `: . _ -`, so that it reads the same everywhere and cannot hide a second code?
pub fn is_valid_category_code(code: &[u8]) -> bool {
    !code.is_empty()
        && code.iter().all(|byte| {
            byte.is_ascii_lowercase()
                || byte.is_ascii_digit()
                || matches!(byte, b':' | b'.' | b'_' | b'-')
        })
}

/// The public description of a dataset: never record content, only the filter that selects it.
/// `categories` and `time_range` are the machine-readable filter the custodian's node applies
/// when it delivers; `filter_summary` says the same in words for people.
#[derive(
    CloneNoBound,
    PartialEqNoBound,
    EqNoBound,
    DebugNoBound,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
#[scale_info(skip_type_params(MaxSummaryLen))]
pub struct ListingDescription<MaxSummaryLen: Get<u32>> {
    /// Human-readable summary of the filter (categories, cohort); UTF-8 by convention.
    pub filter_summary: BoundedVec<u8, MaxSummaryLen>,
    /// A record belongs to the dataset if any of its category codes is listed here; an empty
    /// list means every category. Sorted, without duplicates. Dataset-level, never per record.
    pub categories: BoundedVec<CategoryCode, ConstU32<MAX_LISTING_CATEGORIES>>,
    /// The period the records cover (by their clinical date).
    pub time_range: TimeRange,
    /// The use the buyer buys the data for; consent is checked against it at delivery.
    pub purpose: Purpose,
    /// Hash of the terms-of-use document the buyer agrees to.
    pub terms_hash: H256,
}

/// How a listing is priced.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub enum PriceModel<Balance> {
    /// This much for each delivered record.
    PerRecord(Balance),
    /// This much for the dataset, whatever its size.
    Flat(Balance),
}

/// A price model and the most records one sale delivers.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
    Debug,
)]
pub struct Pricing<Balance> {
    pub model: PriceModel<Balance>,
    pub max_records: u32,
}

impl<Balance: Copy + Zero + CheckedMul + From<u32>> Pricing<Balance> {
    /// What a delivery of `record_count` records costs, or `None` on overflow.
    pub fn cost_of(&self, record_count: u32) -> Option<Balance> {
        match self.model {
            PriceModel::PerRecord(per_record) => per_record.checked_mul(&record_count.into()),
            PriceModel::Flat(price) => Some(price),
        }
    }

    /// The most a sale can cost: what the buyer's funds are held for.
    pub fn max_cost(&self) -> Option<Balance> {
        self.cost_of(self.max_records)
    }

    /// The unit price (per record or per dataset) is not zero.
    pub fn has_price(&self) -> bool {
        match self.model {
            PriceModel::PerRecord(price) | PriceModel::Flat(price) => !price.is_zero(),
        }
    }
}

/// A dataset offered for sale by its custodian hospital.
#[derive(
    CloneNoBound, PartialEqNoBound, EqNoBound, DebugNoBound, Encode, Decode, MaxEncodedLen, TypeInfo,
)]
#[scale_info(skip_type_params(MaxSummaryLen))]
pub struct Listing<AccountId, Balance, MaxSummaryLen: Get<u32>>
where
    AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
    Balance: Clone + PartialEq + Eq + core::fmt::Debug,
{
    pub custodian: AccountId,
    pub description: ListingDescription<MaxSummaryLen>,
    pub pricing: Pricing<Balance>,
    /// A closed listing cannot be bought or updated; it stays stored only while orders await
    /// its delivery (the custodian's node reads its filter), then it is removed.
    pub active: bool,
    /// Starts at 1; every update increments it, so a buyer's agreed version pins the terms.
    pub version: u32,
    /// Held from the custodian while the listing is stored; returned when it is removed.
    pub deposit: Balance,
    /// Orders placed on this listing and not yet delivered, declined or refunded.
    pub awaiting_delivery: u32,
}

impl<AccountId, Balance, MaxSummaryLen: Get<u32>> Listing<AccountId, Balance, MaxSummaryLen>
where
    AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
    Balance: Clone + PartialEq + Eq + core::fmt::Debug,
{
    /// What an order placed on this listing now agrees to.
    pub fn terms(&self) -> ListingTerms<AccountId, Balance> {
        ListingTerms {
            custodian: self.custodian.clone(),
            version: self.version,
            active: self.active,
            purpose: self.description.purpose,
            pricing: self.pricing.clone(),
        }
    }
}

/// What a buyer's order needs to know about a listing.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ListingTerms<AccountId, Balance> {
    pub custodian: AccountId,
    pub version: u32,
    pub active: bool,
    pub purpose: Purpose,
    pub pricing: Pricing<Balance>,
}
