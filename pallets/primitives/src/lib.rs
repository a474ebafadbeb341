//! Types the marketplace pallets share, defined once so that a listing's purpose and a
//! consent's purpose are the same value, an order has one id type, and a patient has one
//! budget of free calls across pallets.

#![cfg_attr(not(feature = "std"), no_std)]

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::weights::Weight;
use scale_info::TypeInfo;

/// What bought data may be used for: a listing names one, a consent grants one. The codec
/// index of each variant is part of the chain's format: new purposes get new indices, and
/// none is ever reused.
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
pub enum Purpose {
    /// Academic or clinical research.
    #[codec(index = 0)]
    Research,
    /// Public-health surveillance and planning.
    #[codec(index = 1)]
    PublicHealth,
    /// Commercial use (e.g. drug development by a company).
    #[codec(index = 2)]
    Commercial,
    /// A hospital's or payer's quality-improvement work.
    #[codec(index = 3)]
    QualityImprovement,
    /// Teaching.
    #[codec(index = 4)]
    Education,
}

/// An escrowed order (assigned by the escrow pallet, in order of purchase).
pub type OrderId = u64;

/// A patient's budget of free (fee-less) calls: one per account across every pallet that
/// offers patients free calls, so that spreading calls over pallets buys no extra free ones.
pub trait FreeCalls<AccountId> {
    /// Whether `who` has a free call left in the current window.
    fn has_free_call(who: &AccountId) -> bool;
    /// Spends one of `who`'s free calls.
    fn use_free_call(who: &AccountId);
}

/// Told when the ownership pallet lets a patient's account go (enrolled nowhere, no live
/// record): the account can sign nothing more until a hospital enrols it again, so what other
/// pallets keep only for its calls can go too.
pub trait OnPatientReleased<AccountId> {
    fn on_patient_released(who: &AccountId);
    /// The worst-case weight of [`Self::on_patient_released`], charged to the calls that may
    /// let an account go.
    fn weight() -> Weight;
}

impl<AccountId> OnPatientReleased<AccountId> for () {
    fn on_patient_released(_: &AccountId) {}
    fn weight() -> Weight {
        Weight::zero()
    }
}
