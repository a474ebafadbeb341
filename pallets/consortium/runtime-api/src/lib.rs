//! Runtime API of `pallet-consortium`: the node asks which peer ids may connect (member
//! hospitals' and regulators' nodes), wallets and regulators who the members are.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use codec::Codec;
pub use pallet_consortium::PeerRole;

sp_api::decl_runtime_apis! {
    pub trait ConsortiumApi<AccountId>
    where
        AccountId: Codec,
    {
        /// Every authorised peer id (libp2p `PeerId::to_bytes`) with its role.
        fn authorized_peers() -> Vec<(Vec<u8>, PeerRole)>;

        /// The member hospitals, sorted.
        fn members() -> Vec<AccountId>;

        /// The registered regulators.
        fn regulators() -> Vec<AccountId>;
    }
}
