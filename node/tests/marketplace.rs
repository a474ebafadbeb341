//! The marketplace over JSON-RPC on a real 4-hospital network: signed transactions as a wallet
//! sends them, a patient who never received a unit doing everything for free once a hospital
//! enrolled it, a stranger refused, state read back through the runtime APIs.

mod support;

use std::time::Duration;

use medledger_runtime::{AccountId, BlockNumber, RuntimeCall};
use medledger_test_harness::{wait_until, Network, Node};
use sp_core::{sr25519, Encode, Pair};
use sp_keyring::Sr25519Keyring::Alice;
use support::{enrol, runtime_api, signed, storage, submit, Signer};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");

/// `who`'s account as the chain has it: `None` if it does not exist.
fn account_of(
    node: &Node,
    who: &AccountId,
) -> Option<frame_system::AccountInfo<u32, pallet_balances::AccountData<u128>>> {
    let encoded = who.encode();
    let key = [sp_io::hashing::blake2_128(&encoded).as_slice(), &encoded].concat();
    storage(node, "System", "Account", &key, None).unwrap()
}

/// What the node answers a wallet submitting `call` signed by `signer`.
fn submission_error(node: &Node, signer: &sr25519::Pair, call: RuntimeCall) -> String {
    let xt = signed(node, signer, call).unwrap();
    node.rpc("author_submitExtrinsic", serde_json::json!([xt]))
        .expect_err("the node refuses the transaction")
}

fn research_by_anyone() -> RuntimeCall {
    RuntimeCall::Consent(pallet_consent::Call::grant_consent {
        scope: pallet_consent::Scope::All,
        purpose: pallet_consent::Purpose::Research,
        grantee: pallet_consent::Grantee::Anyone,
        expires_at: None,
    })
}

#[test]
fn a_patient_without_tokens_enrols_consents_and_asks_for_erasure_for_free() {
    let mut net = Network::new(NODE);
    net.start_local_validators(&["alice", "bob", "charlie", "dave"])
        .unwrap();
    let alice = net.node("alice");
    wait_until("block 1", Duration::from_secs(120), || {
        Ok((alice.best_number()? >= 1).then_some(()))
    })
    .unwrap();

    // A fresh keypair that never received a unit: as a stranger, it can send nothing.
    let (patient, _) = sr25519::Pair::generate();
    let patient_id = patient.account();
    assert!(account_of(alice, &patient_id).is_none());
    let refused = submission_error(alice, &patient, research_by_anyone());
    assert!(refused.contains("1010"), "{refused}");

    // Alice's hospital enrols it with its signature; the account now exists, without tokens.
    enrol(alice, Alice, &patient).unwrap();
    let enrolments: Vec<(AccountId, BlockNumber)> =
        runtime_api(alice, "OwnershipApi_enrolments_of", patient_id.clone()).unwrap();
    assert_eq!(
        enrolments
            .iter()
            .map(|(h, _)| h.clone())
            .collect::<Vec<_>>(),
        vec![Alice.to_account_id()]
    );
    let account = account_of(alice, &patient_id).expect("the account exists");
    assert_eq!((account.sufficients, account.data.free), (1, 0));

    // The hospital registers a record for its enrolled patient (a paid call).
    let record = sp_core::H256::repeat_byte(7);
    let commitment = sp_core::H256::repeat_byte(9);
    submit(
        alice,
        Alice,
        RuntimeCall::Ownership(pallet_ownership::Call::register_records {
            records: vec![pallet_ownership::RecordRegistration {
                id: record,
                owner: patient_id.clone(),
                commitment,
            }],
        }),
    )
    .unwrap();
    let records: Vec<(
        pallet_ownership::RecordId,
        pallet_ownership::RecordInfo<AccountId, BlockNumber>,
    )> = runtime_api(alice, "OwnershipApi_records_of", patient_id.clone()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].0, record);
    assert_eq!(records[0].1.custodian, Alice.to_account_id());

    // The patient consents to research use by anyone, from its own wallet, for free.
    submit(alice, &patient, research_by_anyone()).unwrap();
    let consents: Vec<pallet_consent::Consent<AccountId, BlockNumber>> =
        runtime_api(alice, "ConsentApi_consents_of", patient_id.clone()).unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(account_of(alice, &patient_id).unwrap().data.free, 0);

    // Consent covers research by a buyer now, and not commerce.
    let now = alice.best_number().unwrap() as BlockNumber;
    let research: pallet_consent::ConsentAnswer = runtime_api(
        alice,
        "ConsentApi_consent_covers",
        (
            patient_id.clone(),
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
            patient_id.clone(),
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

    // Revoking and asking for erasure are free as well.
    submit(
        alice,
        &patient,
        RuntimeCall::Consent(pallet_consent::Call::revoke_consent {
            consent: consents[0].id,
        }),
    )
    .unwrap();
    submit(
        alice,
        &patient,
        RuntimeCall::Ownership(pallet_ownership::Call::request_erasure { record }),
    )
    .unwrap();
    let records: Vec<(
        pallet_ownership::RecordId,
        pallet_ownership::RecordInfo<AccountId, BlockNumber>,
    )> = runtime_api(alice, "OwnershipApi_records_of", patient_id.clone()).unwrap();
    assert!(matches!(
        records[0].1.status,
        pallet_ownership::RecordStatus::ErasureRequested { .. }
    ));
    assert_eq!(account_of(alice, &patient_id).unwrap().data.free, 0);

    // Once the record is erased and the enrolment ended, nothing of the patient's is left and
    // its account goes: it is a stranger again.
    submit(
        alice,
        Alice,
        RuntimeCall::Ownership(pallet_ownership::Call::confirm_erasure { record }),
    )
    .unwrap();
    submit(
        alice,
        Alice,
        RuntimeCall::Ownership(pallet_ownership::Call::end_enrolment {
            owner: patient_id.clone(),
            custodian: Alice.to_account_id(),
        }),
    )
    .unwrap();
    assert!(account_of(alice, &patient_id).is_none());
    let refused = submission_error(alice, &patient, research_by_anyone());
    assert!(refused.contains("1010"), "{refused}");
}
