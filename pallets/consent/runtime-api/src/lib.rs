//! Runtime API of `pallet-consent`: wallets and regulators read a patient's consents and ask
//! whether they covered a record, purpose and buyer at a given block.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
pub use pallet_consent::{Consent, ConsentAnswer, Purpose, RecordId};

sp_api::decl_runtime_apis! {
    /// Read access to the consent registry.
    pub trait ConsentApi<AccountId, BlockNumber>
    where
        AccountId: Codec,
        BlockNumber: Codec,
    {
        /// The owner's consents: in force, and ended but not yet pruned.
        fn consents_of(owner: AccountId) -> Vec<Consent<AccountId, BlockNumber>>;

        /// Did `owner`'s consent cover `record` for `purpose` and `buyer` during block `at`?
        /// Past blocks are answered from the pallet's own storage.
        fn consent_covers(
            owner: AccountId,
            record: RecordId,
            purpose: Purpose,
            buyer: AccountId,
            at: BlockNumber,
        ) -> ConsentAnswer;
    }
}
