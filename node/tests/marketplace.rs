//! The marketplace over JSON-RPC on a real 4-hospital network: signed transactions as a wallet
//! sends them, free calls for patients, state read back through the runtime APIs.

mod support;

use std::time::Duration;

use medledger_runtime::{AccountId, BlockNumber, RuntimeCall};
use medledger_test_harness::{wait_until, Network};
use sp_keyring::Sr25519Keyring::{Alice, Ferdie};
use support::{free_balance, runtime_api, submit};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");

#[test]
fn patient_enrols_and_consents_for_free_and_hospital_registers_records() {
    let mut net = Network::new(NODE);
    net.start_local_validators(&["alice", "bob", "charlie", "dave"])
        .unwrap();
    let alice = net.node("alice");
    wait_until("block 1", Duration::from_secs(120), || {
        Ok((alice.best_number()? >= 1).then_some(()))
    })
    .unwrap();

    // The patient (Ferdie) enrols with Alice's hospital: free.
    let before = free_balance(alice, Ferdie).unwrap();
    submit(
        alice,
        Ferdie,
        RuntimeCall::Ownership(pallet_ownership::Call::enrol {
            custodian: Alice.to_account_id(),
        }),
    )
    .unwrap();
    let enrolments: Vec<(AccountId, BlockNumber)> =
        runtime_api(alice, "OwnershipApi_enrolments_of", Ferdie.to_account_id()).unwrap();
    assert_eq!(
        enrolments
            .iter()
            .map(|(h, _)| h.clone())
            .collect::<Vec<_>>(),
        vec![Alice.to_account_id()]
    );

    // The hospital registers a record for its enrolled patient (a paid call).
    let record = sp_core::H256::repeat_byte(7);
    let commitment = sp_core::H256::repeat_byte(9);
    submit(
        alice,
        Alice,
        RuntimeCall::Ownership(pallet_ownership::Call::register_records {
            records: vec![pallet_ownership::RecordRegistration {
                id: record,
                owner: Ferdie.to_account_id(),
                commitment,
            }],
        }),
    )
    .unwrap();
    let records: Vec<(
        pallet_ownership::RecordId,
        pallet_ownership::RecordInfo<AccountId, BlockNumber>,
    )> = runtime_api(alice, "OwnershipApi_records_of", Ferdie.to_account_id()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].0, record);
    assert_eq!(records[0].1.custodian, Alice.to_account_id());

    // The patient consents to research use by anyone: free too.
    submit(
        alice,
        Ferdie,
        RuntimeCall::Consent(pallet_consent::Call::grant_consent {
            scope: pallet_consent::Scope::All,
            purpose: pallet_consent::Purpose::Research,
            grantee: pallet_consent::Grantee::Anyone,
            expires_at: None,
        }),
    )
    .unwrap();
    let consents: Vec<pallet_consent::Consent<AccountId, BlockNumber>> =
        runtime_api(alice, "ConsentApi_consents_of", Ferdie.to_account_id()).unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(
        free_balance(alice, Ferdie).unwrap(),
        before,
        "the patient paid no fee"
    );

    // Consent covers research by a buyer now, and not commerce.
    let now = alice.best_number().unwrap() as BlockNumber;
    let research: pallet_consent::ConsentAnswer = runtime_api(
        alice,
        "ConsentApi_consent_covers",
        (
            Ferdie.to_account_id(),
            record,
            pallet_consent::Purpose::Research,
            Alice.to_account_id(),
            now,
        ),
    )
    .unwrap();
    let commerce: pallet_consent::ConsentAnswer = runtime_api(
        alice,
        "ConsentApi_consent_covers",
        (
            Ferdie.to_account_id(),
            record,
            pallet_consent::Purpose::Commercial,
            Alice.to_account_id(),
            now,
        ),
    )
    .unwrap();
    assert!(
        matches!(research, pallet_consent::ConsentAnswer::Covered { .. }),
        "{research:?}"
    );
    assert_eq!(commerce, pallet_consent::ConsentAnswer::NotCovered);
}
