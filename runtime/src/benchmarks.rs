//! The pallets the benchmarking CLI measures on this runtime (`define_benchmarks!`, read by the
//! `Benchmark` runtime API in `apis.rs`), and the setup the MedLedger pallets' benchmarks take
//! from the runtime: member hospitals, a patient's signature, a record with an owner.

use frame_support::traits::fungible::Mutate;
use pallet_ownership::{RecordId, RecordRegistration};
use sp_core::{crypto::KeyTypeId, sr25519, H256};
use sp_runtime::app_crypto::RuntimePublic;

use crate::{
    AccountId, Balances, Ownership, Runtime, RuntimeOrigin, Signature, EXISTENTIAL_DEPOSIT,
};

frame_benchmarking::define_benchmarks!(
    [frame_system, SystemBench::<Runtime>]
    [frame_system_extensions, SystemExtensionsBench::<Runtime>]
    [pallet_balances, Balances]
    [pallet_transaction_payment, TransactionPayment]
    [pallet_timestamp, Timestamp]
    [pallet_consortium, Consortium]
    [pallet_ownership, Ownership]
    [pallet_consent, Consent]
    [pallet_listing, Listing]
    [pallet_delivery, Delivery]
    [pallet_escrow, Escrow]
    [pallet_revenue, Revenue]
);

// The FRAME benchmarks' defaults fit: `set_code` installs the benchmarking crate's own runtime
// (the spec name check is off in benchmarks) and fees are paid from an endowed account.
impl frame_system_benchmarking::Config for Runtime {}
impl pallet_transaction_payment::BenchmarkConfig for Runtime {}

/// Key type of the benchmark patient's key. The key lives in the keystore extension: the
/// benchmarking CLI's when the wasm runs, the test's natively; nothing else uses this type.
const PATIENT_KEY: KeyTypeId = KeyTypeId(*b"mlbp");

/// The runtime's side of the pallets' `BenchmarkHelper`s.
pub struct BenchmarkHelper;

impl BenchmarkHelper {
    /// Makes `who` a member hospital. The marketplace pallets ask only `IsMember`, so the
    /// consortium's other records of a hospital (name, peer ids) are left out.
    fn make_member(who: &AccountId) {
        pallet_consortium::Members::<Runtime>::mutate(|members| {
            if let Err(position) = members.binary_search(who) {
                members
                    .try_insert(position, who.clone())
                    .expect("the benchmarks leave room for one more member");
            }
        });
    }
}

impl pallet_ownership::BenchmarkHelper<AccountId, Signature> for BenchmarkHelper {
    fn custodian() -> AccountId {
        let custodian = frame_benchmarking::account("custodian", 0, 0);
        Self::make_member(&custodian);
        custodian
    }

    /// The account of a key made from a fixed seed, so that every run enrols the same patient.
    fn patient() -> AccountId {
        sr25519::Public::generate_pair(PATIENT_KEY, Some(b"//BenchmarkPatient".to_vec())).into()
    }

    fn sign_enrolment(patient: &AccountId, message: &[u8]) -> Signature {
        sr25519::Public::from_raw(patient.clone().into())
            .sign(PATIENT_KEY, &message)
            .expect("the keystore holds the key of `patient()`")
            .into()
    }
}

impl pallet_consent::BenchmarkHelper<AccountId> for BenchmarkHelper {
    /// `owner` enrolled with a funded member hospital, which registers the record.
    fn owned_record(owner: &AccountId) -> RecordId {
        let custodian = <Self as pallet_ownership::BenchmarkHelper<_, _>>::custodian();
        let deposit: crate::Balance =
            <Runtime as pallet_ownership::Config>::EnrolmentDeposit::get();
        Balances::mint_into(&custodian, deposit + EXISTENTIAL_DEPOSIT)
            .expect("minting to a new account works");
        Ownership::enrol_for_benchmark(owner, &custodian);
        let record = H256::repeat_byte(0xbe);
        let registration = RecordRegistration {
            id: record,
            owner: owner.clone(),
            commitment: H256::zero(),
        };
        Ownership::register_records(RuntimeOrigin::signed(custodian), alloc::vec![registration])
            .expect("a member registers a record of its patient");
        record
    }
}

impl pallet_listing::BenchmarkHelper<AccountId> for BenchmarkHelper {
    fn make_custodian(who: &AccountId) {
        Self::make_member(who)
    }
}

impl pallet_delivery::BenchmarkHelper<AccountId> for BenchmarkHelper {
    fn make_custodian(who: &AccountId) {
        Self::make_member(who)
    }
}
