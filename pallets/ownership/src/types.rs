//! Domain types of the ownership pallet.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use scale_info::TypeInfo;
use sp_core::H256;

/// Identifier of a medical record, chosen by its custodian (e.g. a salted hash of the hospital's
/// internal id). It reveals nothing about the record's content.
pub type RecordId = H256;

/// Salted hash over the canonical record and its category codes. The salt stays with the
/// custodian, so the commitment can be opened to an auditor but reveals nothing on its own.
pub type Commitment = H256;

/// One entry of a [`crate::Pallet::register_records`] batch.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct RecordRegistration<AccountId> {
    /// The record's id, unique across the chain.
    pub id: RecordId,
    /// The patient who owns the record; must be enrolled with the registering custodian.
    pub owner: AccountId,
    /// Salted commitment over the record and its category codes.
    pub commitment: Commitment,
}

/// A patient's enrolment with a hospital.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct Enrolment<BlockNumber, Balance> {
    /// Block of the enrolment.
    pub enrolled_at: BlockNumber,
    /// The storage deposit held from the hospital while the enrolment lasts (what was held
    /// then, whatever `EnrolmentDeposit` is now).
    pub deposit: Balance,
}

/// What the `OwnershipApi.enrolment_message` runtime call returns: the bytes a patient signs
/// ([`crate::Pallet::enrolment_message`]). A struct rather than a bare byte vector because
/// polkadot.js decodes a runtime call's bare `Vec<u8>` result with its SCALE length prefix
/// still in the bytes, and a patient signing those in polkadot.js Apps would be refused.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
pub struct EnrolmentMessage {
    pub message: alloc::vec::Vec<u8>,
}

/// Where a record stands in its life cycle.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Encode,
    Decode,
    DecodeWithMemTracking,
    MaxEncodedLen,
    TypeInfo,
)]
pub enum RecordStatus<BlockNumber> {
    /// Registered and sellable (subject to consent).
    Active,
    /// The owner asked for erasure; no longer sellable, waiting for the custodian.
    ErasureRequested { requested_at: BlockNumber },
    /// The custodian confirmed the off-chain copy is deleted. Kept as a tombstone so the id can
    /// never be registered, and so never sold, again.
    Erased {
        requested_at: BlockNumber,
        erased_at: BlockNumber,
    },
}

/// What the chain keeps about a record.
#[derive(
    Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
pub struct RecordInfo<AccountId, BlockNumber> {
    /// The patient who owns the record.
    pub owner: AccountId,
    /// The hospital holding the record off chain.
    pub custodian: AccountId,
    /// Salted commitment over the record and its category codes.
    pub commitment: Commitment,
    /// Block in which the record was registered.
    pub registered_at: BlockNumber,
    /// Life-cycle state.
    pub status: RecordStatus<BlockNumber>,
}

impl<AccountId, BlockNumber> RecordInfo<AccountId, BlockNumber> {
    /// Only active records may be offered for sale.
    pub fn is_sellable(&self) -> bool {
        matches!(self.status, RecordStatus::Active)
    }
}

/// What other pallets learn about a record through [`RecordRegistry::record`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordView<AccountId> {
    pub owner: AccountId,
    pub custodian: AccountId,
    /// False once the owner asked for erasure; never true again.
    pub sellable: bool,
}

/// The ownership registry as other pallets (consent, listing, delivery) see it.
pub trait RecordRegistry<AccountId> {
    /// Owner, custodian and sellability of a record, if it was ever registered.
    fn record(id: &RecordId) -> Option<RecordView<AccountId>>;

    /// Owner and custodian of a record that may still be sold; `None` if unknown, erasure
    /// requested or erased.
    fn is_sellable(id: &RecordId) -> Option<(AccountId, AccountId)> {
        Self::record(id)
            .filter(|view| view.sellable)
            .map(|view| (view.owner, view.custodian))
    }

    /// Whether `owner` is currently enrolled with `custodian`.
    fn is_enrolled(owner: &AccountId, custodian: &AccountId) -> bool;

    /// Whether `owner` is a patient of the network: enrolled with a custodian, or owning a record
    /// that is not erased. A hospital vouched for it, the registry keeps its account in
    /// existence, and its consent calls are free.
    fn is_patient(owner: &AccountId) -> bool;
}
