//! Runtime API of `pallet-revenue`: wallets read an owner's revenue and check a payout proof
//! before submitting it; regulators audit a custodian's payout entries against consent.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
pub use pallet_revenue::{EntryAudit, EpochIndex, PayoutEntry, PayoutLeaf};
use sp_core::H256;
use sp_runtime::DispatchError;

sp_api::decl_runtime_apis! {
    /// Read access to revenue distribution.
    pub trait RevenueApi<AccountId, Balance, BlockNumber>
    where
        AccountId: Codec,
        Balance: Codec,
        BlockNumber: Codec,
    {
        /// Proven for `owner` but not yet paid (below the existential deposit). Unproven leaves
        /// are known only to the owner and the custodian.
        fn claimable(owner: AccountId) -> Balance;

        /// Everything `owner` has claimed so far, from every custodian.
        fn claimed(owner: AccountId) -> Balance;

        /// What claiming `leaf` (leaf `index` of `custodian`'s root after `epoch`, shown by
        /// `proof`) would pay now; the error is the pallet's.
        fn verify_claim(
            custodian: AccountId,
            epoch: EpochIndex,
            index: u32,
            leaf: PayoutLeaf<AccountId, Balance>,
            proof: Vec<H256>,
        ) -> Result<Balance, DispatchError>;

        /// Whether `entry` of `custodian`'s payout book for `epoch` belongs to an order released
        /// in that epoch, and what consent said about it during block `at`.
        fn audit_entry(
            custodian: AccountId,
            epoch: EpochIndex,
            entry: PayoutEntry<AccountId, Balance>,
            at: BlockNumber,
        ) -> EntryAudit;
    }
}
