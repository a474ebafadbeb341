//! Runtime API of `pallet-ownership`: wallets and regulators list an owner's records and
//! enrolments without decoding raw storage.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
pub use pallet_ownership::{EnrolmentMessage, RecordId, RecordInfo, RecordStatus};

sp_api::decl_runtime_apis! {
    /// Read access to the ownership registry.
    pub trait OwnershipApi<AccountId, BlockNumber>
    where
        AccountId: Codec,
        BlockNumber: Codec,
    {
        /// The owner's records that are not erased (erasure-requested ones included).
        fn records_of(owner: AccountId) -> Vec<(RecordId, RecordInfo<AccountId, BlockNumber>)>;

        /// One record, erased ones included (as tombstones).
        fn record(id: RecordId) -> Option<RecordInfo<AccountId, BlockNumber>>;

        /// The custodians the owner is enrolled with, and the block of each enrolment.
        fn enrolments_of(owner: AccountId) -> Vec<(AccountId, BlockNumber)>;

        /// The bytes `patient` signs (bare, or as wallets sign raw bytes, wrapped in
        /// `<Bytes>…</Bytes>`) so that `custodian` can enrol it until `valid_until`
        /// (`ownership.enrol`); they change once the patient has transacted.
        fn enrolment_message(custodian: AccountId, patient: AccountId, valid_until: BlockNumber) -> EnrolmentMessage;
    }
}
