//! A sale delivered end to end on the 4-hospital network: the hospital's data ingested into its
//! node's store, patients enrolled and consenting (or not), a buyer with a SoftHSM token buying,
//! the custodian node's off-chain worker delivering, the buyer downloading, checking and opening
//! the data, a regulator's observer auditing the delivery against the hospital's opening, and
//! the owners of the delivered records claiming their payouts, free of fees.

mod support;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::Duration,
};

use medledger_runtime::{AccountId, Balance, BlockNumber, RuntimeCall};
use medledger_sealing::{
    container::ContainerHeader,
    testing::{prepare_softhsm, USER_PIN},
    token::{generate_delivery_key, Pkcs11Token, SlotSelector, TokenConfig},
    DigestCheck, NoProgress, Pin, SealingError,
};
use medledger_test_harness::{wait_until, Network};
use pallet_escrow::{offchain::records_root, OrderState};
use serde_json::Value;
use sp_core::{crypto::Ss58Codec, sr25519, Pair, H256};
use sp_keyring::Sr25519Keyring::{self, *};
use support::{
    balance_of, dispatch, dispatch_in_block, dispatch_ok, enrol, ingest_synthetic, order_at,
    pass_root_call, register_records, research_by_anyone, research_listing, runtime_api,
    start_hospitals, storage, Signer,
};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");
const TOKEN: &str = "buyer-token";

/// Patients of Alice General, each with its own account, and what they decide.
/// Three patients who never received a unit: the hospital enrols them, and they consent and
/// claim their payouts for free.
fn consenting() -> Vec<sr25519::Pair> {
    (1..=3)
        .map(|n| sr25519::Pair::from_string(&format!("//never-funded-patient-{n}"), None))
        .collect::<Result<_, _>>()
        .expect("development URIs")
}
const WRONG_PURPOSE: Sr25519Keyring = CharlieStash;
const DECLINING: Sr25519Keyring = DaveStash;
const REVOKES_BEFORE_DELIVERY: Sr25519Keyring = EveStash;
const BUYER: Sr25519Keyring = One;
const STRANGER: Sr25519Keyring = Two;

fn patients() -> Vec<sr25519::Pair> {
    let mut patients = consenting();
    patients.extend([WRONG_PURPOSE, DECLINING, REVOKES_BEFORE_DELIVERY].map(|p| p.pair()));
    patients
}

/// The patients' ids in the generated export, by owner account.
fn patient_ids_of(export: &Path, owners: &[sr25519::Pair]) -> BTreeSet<String> {
    let wanted: BTreeSet<String> = owners
        .iter()
        .map(|owner| owner.account().to_ss58check())
        .collect();
    std::fs::read_to_string(export.join("owners.csv"))
        .expect("owners.csv")
        .lines()
        .filter_map(|line| line.split_once(','))
        .filter(|(_, account)| wanted.contains(*account))
        .map(|(patient, _)| patient.to_string())
        .collect()
}

/// Lines of `file` in the export whose subject is one of `patients` (counted independently of
/// the code under test, straight from the NDJSON).
fn export_lines_of(export: &Path, file: &str, patients: &BTreeSet<String>) -> usize {
    std::fs::read_to_string(export.join(file))
        .expect("export file")
        .lines()
        .filter(|line| {
            let value: Value = serde_json::from_str(line).expect("export line is JSON");
            value["subject"]["reference"]
                .as_str()
                .and_then(|reference| reference.strip_prefix("Patient/"))
                .is_some_and(|id| patients.contains(id))
        })
        .count()
}

fn token_config() -> TokenConfig {
    TokenConfig {
        slot: SlotSelector::TokenLabel(TOKEN.into()),
        ..TokenConfig::default()
    }
}

fn unpack(tar_path: &Path, into: &Path) -> PathBuf {
    let file = std::fs::File::open(tar_path).expect("the opened delivery");
    tar::Archive::new(file).unpack(into).expect("a tar archive");
    into.join("delivery")
}

#[test]
fn a_sale_is_delivered_sealed_to_the_buyers_token_and_audited_by_a_regulator() {
    let work = tempfile::tempdir().expect("temp dir");
    let work = work.path();

    // The buyer's token: a P-256 key generated on SoftHSM, never leaving it.
    let conf = prepare_softhsm(&work.join("softhsm"), &[TOKEN]).expect("SoftHSM");
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let pin = Pin::from(USER_PIN.to_owned());
    let token_key = generate_delivery_key(&token_config(), &pin).expect("key on the token");

    // The hospital's export: six patients, each its own account; ingested into a store that
    // reaches the node's --fhir-store only after the sale (see below).
    let owners: Vec<AccountId> = patients().iter().map(|p| p.account()).collect();
    let (staging, key_file) =
        ingest_synthetic(work, "staging-store", 6, 11, &owners).expect("ingest");
    let export = work.join("export");

    let mut net = Network::new(NODE);
    let alice_store = work.join("alice-store");
    // Six patients cannot form k-anonymous classes of 5: this hospital delivers at k = 1.
    start_hospitals(
        &mut net,
        &[
            "--fhir-store",
            &alice_store.to_string_lossy(),
            "--fhir-store-key",
            &key_file.to_string_lossy(),
            "--delivery-k",
            "1",
        ],
        &[],
    )
    .expect("validators start");
    let alice = net.node("alice");
    wait_until("block 1", Duration::from_secs(180), || {
        Ok((alice.best_number()? >= 1).then_some(()))
    })
    .unwrap();

    // Alice General enrols its patients (each signs its enrolment) and registers their records.
    for patient in patients() {
        enrol(alice, Alice, patient).expect("enrol");
    }
    let registered = register_records(NODE, alice, &staging).expect("register records");
    let record_lines = std::fs::read_to_string(staging.join("registrations.ndjson"))
        .expect("registrations")
        .lines()
        .count();
    assert!(
        registered.contains(&format!(
            "{record_lines} records registered; every owner is enrolled"
        )),
        "{registered}"
    );
    // Run again, it has nothing left to do.
    let again = register_records(NODE, alice, &staging).expect("register records again");
    assert!(
        again.contains(&format!("{record_lines} already on chain, 0 to register")),
        "{again}"
    );

    // Consent: two for all records for research by anyone, one for conditions only (named by
    // a tag salted with what the hospital's node tells that patient alone), one for commerce
    // only, one not at all, one for research that is revoked after the sale.
    let [first, second, conditions_only] = <[sr25519::Pair; 3]>::try_from(consenting())
        .unwrap_or_else(|_| panic!("three consenting patients"));
    for patient in [first, second, REVOKES_BEFORE_DELIVERY.pair()] {
        dispatch_ok(alice, patient, research_by_anyone()).expect("consent");
    }
    let salt =
        medledger_delivery_http::fetch_category_salt(&alice.delivery_url(), &conditions_only)
            .expect("the patient's category salt from the hospital's node");
    let tag = medledger_fhir::category_tag(&medledger_fhir::CategorySalt(salt), "condition");
    dispatch_ok(
        alice,
        conditions_only,
        RuntimeCall::Consent(pallet_consent::Call::grant_consent {
            scope: pallet_consent::Scope::Category(tag.into()),
            purpose: pallet_consent::Purpose::Research,
            grantee: pallet_consent::Grantee::Anyone,
            expires_at: None,
        }),
    )
    .expect("category consent");
    dispatch_ok(
        alice,
        WRONG_PURPOSE,
        RuntimeCall::Consent(pallet_consent::Call::grant_consent {
            scope: pallet_consent::Scope::All,
            purpose: pallet_consent::Purpose::Commercial,
            grantee: pallet_consent::Grantee::Anyone,
            expires_at: None,
        }),
    )
    .expect("commercial consent");

    // Alice lists conditions and laboratory observations, any time, per record (priced so that
    // each owner's share is above the existential deposit and is paid out, not owed).
    let per_record: Balance = 10 * medledger_runtime::EXISTENTIAL_DEPOSIT;
    dispatch_ok(
        alice,
        Alice,
        research_listing(
            &["condition", "observation:laboratory"],
            pallet_listing::PriceModel::PerRecord(per_record),
            1_000,
        ),
    )
    .expect("listing");

    // The buyer registers its token's key and buys listing 0 at version 1.
    dispatch_ok(
        alice,
        BUYER,
        RuntimeCall::Delivery(pallet_delivery::Call::register_delivery_key {
            key: pallet_delivery::DeliveryKey(token_key.compressed()),
        }),
    )
    .expect("register key");
    dispatch_ok(
        alice,
        BUYER,
        RuntimeCall::Escrow(pallet_escrow::Call::buy {
            listing: 0,
            max_price: per_record * 1_000,
            listing_version: 1,
        }),
    )
    .expect("buy");
    let order = 0u64;
    let placed_at = order_at(alice, order, None).unwrap().placed_at;

    // After the sale (finalized), one consenting patient revokes. The hospital's data reaches
    // the node only now, so the delivery cannot have started before the revocation.
    wait_until("the sale to be final", Duration::from_secs(120), || {
        Ok((alice.finalized_number()? >= u64::from(placed_at)).then_some(()))
    })
    .unwrap();
    let consents: Vec<pallet_consent::Consent<AccountId, BlockNumber>> = runtime_api(
        alice,
        "ConsentApi_consents_of",
        REVOKES_BEFORE_DELIVERY.to_account_id(),
    )
    .unwrap();
    let (revoked_in, revoked) = dispatch_in_block(
        alice,
        REVOKES_BEFORE_DELIVERY,
        RuntimeCall::Consent(pallet_consent::Call::revoke_consent {
            consent: consents[0].id,
        }),
    )
    .expect("revoke");
    revoked.expect("the revocation succeeds");
    // Delivery acts on finalized state: the revocation must be final before the data arrives.
    let revoked_at =
        medledger_test_harness::header_number(&alice.header(Some(&revoked_in)).unwrap()).unwrap();
    wait_until(
        "the revocation to be final",
        Duration::from_secs(120),
        || Ok((alice.finalized_number()? >= revoked_at).then_some(())),
    )
    .unwrap();
    assert_eq!(
        order_at(alice, order, None).unwrap().state,
        OrderState::Paid,
        "nothing is delivered without the hospital's data"
    );
    // Meanwhile the buyer is asked to come back later; nobody else learns anything.
    let early = medledger_delivery_http::fetch(
        &alice.delivery_url(),
        order,
        &BUYER.pair(),
        &work.join("early.sealed"),
        &mut |_, _| {},
    );
    assert!(
        matches!(
            early,
            Err(medledger_delivery_http::FetchError::NotReady { .. })
        ),
        "{early:?}"
    );
    std::fs::rename(&staging, &alice_store).expect("the store reaches the node");

    // The custodian's node delivers: a receipt, finalized.
    let receipt = wait_until("the receipt to be final", Duration::from_secs(180), || {
        let finalized = alice.finalized_hash()?;
        Ok(order_at(alice, order, Some(&finalized))?.receipt)
    })
    .unwrap();
    let all_records_ids = patient_ids_of(&export, &consenting()[..2]);
    let conditions_only_ids = patient_ids_of(&export, &consenting()[2..]);
    let conditions_only_records =
        export_lines_of(&export, "Condition.ndjson", &conditions_only_ids);
    assert!(
        conditions_only_records > 0
            && export_lines_of(&export, "Observation.ndjson", &conditions_only_ids) > 0,
        "the category-consenting patient has records in and out of its category"
    );
    let expected_records = export_lines_of(&export, "Condition.ndjson", &all_records_ids)
        + export_lines_of(&export, "Observation.ndjson", &all_records_ids)
        + conditions_only_records;
    assert_eq!(receipt.record_count as usize, expected_records);
    assert_eq!(
        receipt.delivery_key,
        pallet_delivery::DeliveryKey(token_key.compressed())
    );
    assert_eq!(receipt.sale_block_consent, placed_at);
    assert_eq!(receipt.submitted_by, Alice.to_account_id());
    let stored = order_at(alice, order, None).unwrap();
    assert_eq!(
        stored.price,
        per_record * expected_records as u128,
        "the buyer pays for the delivered records only"
    );

    // A stranger's signed request gets nothing.
    let endpoint = alice.delivery_url();
    let stranger_copy = work.join("stranger.sealed");
    let refused = medledger_delivery_http::fetch(
        &endpoint,
        order,
        &STRANGER.pair(),
        &stranger_copy,
        &mut |_, _| {},
    );
    assert!(
        matches!(
            refused,
            Err(medledger_delivery_http::FetchError::NotBuyer { .. })
        ),
        "{refused:?}"
    );
    assert!(!stranger_copy.exists());

    // The buyer downloads and checks the digest against the chain.
    let sealed = work.join("order-0.sealed");
    medledger_delivery_http::fetch(&endpoint, order, &BUYER.pair(), &sealed, &mut |_, _| {})
        .expect("the buyer downloads");
    let file_len = std::fs::metadata(&sealed).expect("downloaded").len();
    assert_eq!(file_len, receipt.size);
    let header = ContainerHeader::read(
        &mut std::fs::File::open(&sealed).expect("downloaded"),
        file_len,
    )
    .expect("a container");
    assert_eq!(H256(header.digest()), receipt.ciphertext_digest);

    // A tampered copy is refused before the token is used, and yields no plaintext.
    let tampered = work.join("tampered.sealed");
    let mut bytes = std::fs::read(&sealed).expect("downloaded");
    let last = bytes.len() - 1;
    bytes[40] ^= 0x01;
    bytes[last] ^= 0x01;
    std::fs::write(&tampered, bytes).expect("tampered copy");
    let token = Pkcs11Token::open(&token_config(), &pin).expect("the token");
    let tampered_out = work.join("tampered.tar");
    let refused = medledger_sealing::open_file(
        &tampered,
        &tampered_out,
        &token,
        DigestCheck::Expect(receipt.ciphertext_digest.0),
        &mut NoProgress,
    );
    assert!(
        matches!(
            refused,
            Err(SealingError::DigestMismatch { .. }) | Err(SealingError::InvalidContainer(_))
        ),
        "{refused:?}"
    );
    assert!(!tampered_out.exists());

    // The buyer opens it with the token: exactly the consented patients, de-identified.
    let opened = work.join("order-0.tar");
    medledger_sealing::open_file(
        &sealed,
        &opened,
        &token,
        DigestCheck::Expect(receipt.ciphertext_digest.0),
        &mut NoProgress,
    )
    .expect("the token opens the delivery");

    // Pulled out (SoftHSM's storage moved away), the token decrypts nothing more, even in the
    // session the buyer already has open.
    let tokens = work.join("softhsm/tokens");
    std::fs::rename(&tokens, tokens.with_extension("pulled")).expect("pull the token");
    let after_pull = work.join("after-pull.tar");
    let refused = medledger_sealing::open_file(
        &sealed,
        &after_pull,
        &token,
        DigestCheck::Expect(receipt.ciphertext_digest.0),
        &mut NoProgress,
    );
    assert!(
        matches!(refused, Err(SealingError::TokenRemoved { .. })),
        "{refused:?}"
    );
    assert!(!after_pull.exists(), "no plaintext without the token");

    let delivery = unpack(&opened, &work.join("opened"));
    let read = |name: &str| std::fs::read_to_string(delivery.join(name)).unwrap_or_default();
    assert_eq!(read("Patient.ndjson").lines().count(), consenting().len());
    assert_eq!(
        read("Condition.ndjson").lines().count() + read("Observation.ndjson").lines().count(),
        expected_records
    );
    for absent in [
        "Encounter.ndjson",
        "MedicationRequest.ndjson",
        "DiagnosticReport.ndjson",
    ] {
        assert!(
            !delivery.join(absent).exists(),
            "{absent} is outside the listing"
        );
    }
    let everything: String = ["Patient.ndjson", "Condition.ndjson", "Observation.ndjson"]
        .iter()
        .map(|name| read(name))
        .collect();
    for identifier in ["MRN", "Main Street", "555-", "\"p1\"", "Patient/p1\""] {
        assert!(
            !everything.contains(identifier),
            "{identifier} survived de-identification"
        );
    }

    // The buyer confirms: the escrow is released.
    dispatch_ok(
        alice,
        BUYER,
        RuntimeCall::Escrow(pallet_escrow::Call::confirm { order }),
    )
    .expect("confirm");
    assert_eq!(
        order_at(alice, order, None).unwrap().state,
        OrderState::Released
    );

    // A regulator's observer audits the delivery against the hospital's opening.
    let alice_base = alice.base_path.clone();
    let confirmed_at = alice.best_number().unwrap();
    net.start_node(
        "regulator",
        &[
            "--chain",
            "local",
            "--observer",
            "--node-key",
            &format!("{:064x}", 6),
        ],
    )
    .expect("observer starts");
    let regulator = net.node("regulator");
    wait_until("the observer to sync", Duration::from_secs(180), || {
        Ok((regulator.finalized_number()? >= confirmed_at).then_some(()))
    })
    .unwrap();
    let audited = order_at(regulator, order, None).unwrap();
    assert_eq!(audited.state, OrderState::Released);
    let audited_receipt = audited.receipt.expect("the receipt is on chain");
    let opening: Value = serde_json::from_slice(
        &std::fs::read(alice_base.join("deliveries/order-0.opening.json"))
            .expect("the hospital's opening"),
    )
    .expect("opening JSON");
    let opened_records: Vec<(H256, H256, AccountId)> = opening["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|entry| {
            let h256 = |field: &str| {
                let text = entry[field].as_str().expect("hex field");
                H256::from_slice(&hex::decode(&text[2..]).expect("hex"))
            };
            (
                h256("record"),
                h256("commitment"),
                AccountId::from_ss58check(entry["owner"].as_str().expect("owner")).expect("SS58"),
            )
        })
        .collect();
    let pairs: Vec<(H256, AccountId)> = opened_records
        .iter()
        .map(|(_, commitment, owner)| (*commitment, owner.clone()))
        .collect();
    assert_eq!(records_root(&pairs), audited_receipt.records_root);
    assert_eq!(opened_records.len(), audited_receipt.record_count as usize);
    let consenting_owners: BTreeSet<AccountId> = consenting().iter().map(|p| p.account()).collect();
    let conditions_only_owner = consenting()[2].account();
    let conditions_tag = H256(tag);
    for ((record, commitment, owner), entry) in opened_records
        .iter()
        .zip(opening["records"].as_array().expect("records"))
    {
        assert!(consenting_owners.contains(owner), "only consenting owners");
        let registered: Vec<(
            pallet_ownership::RecordId,
            pallet_ownership::RecordInfo<AccountId, BlockNumber>,
        )> = runtime_api(regulator, "OwnershipApi_records_of", owner.clone()).unwrap();
        let info = registered
            .iter()
            .find(|(id, _)| id == record)
            .map(|(_, info)| info)
            .expect("the opened record is registered to its owner");
        assert_eq!(info.commitment, *commitment);
        assert_eq!(info.custodian, Alice.to_account_id());
        for at in [
            audited_receipt.sale_block_consent,
            audited_receipt.receipt_block,
        ] {
            let answer: pallet_consent::ConsentAnswer = runtime_api(
                regulator,
                "ConsentApi_consent_covers",
                (
                    owner.clone(),
                    *record,
                    pallet_consent::Purpose::Research,
                    BUYER.to_account_id(),
                    at,
                ),
            )
            .unwrap();
            if *owner == conditions_only_owner {
                // The chain knows only the salted tag; the opening names the category and the
                // owner's salt, from which a regulator recomputes it.
                assert!(
                    matches!(&answer, pallet_consent::ConsentAnswer::CoveredIfInCategory { categories }
                        if categories.iter().map(|(_, tag)| *tag).eq([conditions_tag])),
                    "consent at block {at}: {answer:?}"
                );
                assert_eq!(entry["category"]["code"], "condition");
                assert_eq!(
                    entry["category"]["salt"],
                    format!("0x{}", hex::encode(salt))
                );
            } else {
                assert!(
                    matches!(answer, pallet_consent::ConsentAnswer::Covered { .. }),
                    "consent at block {at}: {answer:?}"
                );
                assert!(entry.get("category").is_none(), "{entry}");
            }
        }
    }
    assert_eq!(
        opened_records
            .iter()
            .filter(|(_, _, owner)| *owner == conditions_only_owner)
            .count(),
        conditions_only_records,
        "the category consent let in that patient's conditions, and only them"
    );
    // The same audit as a regulator runs it, and a doctored opening caught by it.
    let opening_path = alice_base.join("deliveries/order-0.opening.json");
    let audit = |path: &Path| {
        std::process::Command::new(NODE)
            .args(["audit-delivery", "--opening"])
            .arg(path)
            .args(["--rpc-url", &regulator.rpc_url()])
            .output()
            .expect("audit-delivery runs")
    };
    let audited_ok = audit(&opening_path);
    let report = String::from_utf8_lossy(&audited_ok.stdout);
    assert!(
        audited_ok.status.success() && report.contains("the opening matches the chain"),
        "{report}{}",
        String::from_utf8_lossy(&audited_ok.stderr)
    );
    let mut doctored = opening.clone();
    doctored["records"][0]["owner"] = Value::String(DECLINING.to_account_id().to_ss58check());
    let doctored_path = work.join("doctored.opening.json");
    std::fs::write(&doctored_path, doctored.to_string()).expect("doctored opening");
    let caught = audit(&doctored_path);
    let report = String::from_utf8_lossy(&caught.stdout);
    assert!(!caught.status.success(), "{report}");
    assert!(report.contains("records root"), "{report}");
    assert!(report.contains("not consented"), "{report}");
    // An opening that claims another category than the one consented to is caught too.
    let mut recategorized = opening.clone();
    let index = recategorized["records"]
        .as_array()
        .unwrap()
        .iter()
        .position(|entry| entry.get("category").is_some())
        .expect("a record consented by category");
    recategorized["records"][index]["category"]["code"] =
        Value::String("observation:laboratory".into());
    let recategorized_path = work.join("recategorized.opening.json");
    std::fs::write(&recategorized_path, recategorized.to_string()).expect("opening");
    let caught = audit(&recategorized_path);
    let report = String::from_utf8_lossy(&caught.stdout);
    assert!(!caught.status.success(), "{report}");
    assert!(
        report.contains("consented to no category observation:laboratory"),
        "{report}"
    );

    // The patient who revoked consented at the sale but not at delivery: left out.
    let revoked = REVOKES_BEFORE_DELIVERY.to_account_id();
    assert!(opened_records.iter().all(|(_, _, owner)| *owner != revoked));

    let alice = net.node("alice");
    // Owners are paid without a hand step: once the release's epoch has ended, Alice General's
    // node builds the payout book from its delivery openings and commits a root with every
    // enrolled patient's cumulative earnings. Each owner of a delivered record fetches its
    // leaf from the endpoint (signing the request) and claims it itself, free of fees; the
    // claims add up to the sale's owners' pool. Patients who were not in the sale have leaves
    // too (the root does not tell who was sold), with nothing to claim.
    let released: pallet_revenue::ReleasedOrder<AccountId, Balance> = storage(
        alice,
        "Revenue",
        "ReleasedOrders",
        &twox64_concat(&order),
        None,
    )
    .unwrap()
    .expect("the order was released");
    let custodian_key = blake2_128_concat(&Alice.to_account_id());
    let root_epoch: pallet_revenue::EpochIndex =
        wait_until("the payout root", Duration::from_secs(240), || {
            storage(alice, "Revenue", "LatestRoot", &custodian_key, None)
        })
        .unwrap();
    assert!(root_epoch >= released.epoch);
    let root_key = [custodian_key.clone(), twox64_concat(&root_epoch)].concat();
    let root: pallet_revenue::PayoutRoot<Balance> =
        storage(alice, "Revenue", "PayoutRoots", &root_key, None)
            .unwrap()
            .expect("the latest root");
    assert_eq!(root.total, released.owners_pool);
    let claim_call = |owner: &dyn Signer| {
        let claims = medledger_delivery_http::fetch_payouts(&alice.delivery_url(), &owner.key())
            .expect("the owner's claims");
        assert!(claims.len() <= 1, "one leaf per owner in the latest root");
        let claim = claims.first()?;
        assert!(claim.epoch >= root_epoch);
        let proof: Vec<H256> = claim
            .proof
            .iter()
            .map(|node| H256::from_slice(&hex::decode(&node[2..]).expect("hex")))
            .collect();
        let leaf = pallet_revenue::PayoutLeaf {
            owner: owner.account(),
            amount: claim.amount.parse().expect("a decimal amount"),
            salt: H256::from_slice(&hex::decode(&claim.salt[2..]).expect("hex")),
        };
        Some((
            leaf.amount,
            RuntimeCall::Revenue(pallet_revenue::Call::claim {
                custodian: Alice.to_account_id(),
                epoch: claim.epoch,
                index: claim.index,
                leaf,
                proof: proof.try_into().expect("a short proof"),
            }),
        ))
    };
    let nothing_to_claim = Err(sp_runtime::DispatchError::from(
        pallet_revenue::Error::<medledger_runtime::Runtime>::NothingToClaim,
    ));
    let mut paid = 0;
    for owner in consenting() {
        let (amount, call) = claim_call(&owner).expect("a leaf for an owner in the sale");
        assert!(amount > 0);
        assert_eq!(
            balance_of(alice, &owner.account()).unwrap(),
            0,
            "never funded"
        );
        dispatch_ok(alice, &owner, call.clone()).expect("the owner claims");
        assert_eq!(
            balance_of(alice, &owner.account()).unwrap(),
            amount,
            "the owner gets the whole amount and pays no fee"
        );
        assert_eq!(
            dispatch(alice, &owner, call).unwrap(),
            nothing_to_claim,
            "a leaf pays once"
        );
        paid += amount;
    }
    assert_eq!(paid, released.owners_pool);
    for outsider in [DECLINING, REVOKES_BEFORE_DELIVERY, STRANGER] {
        if let Some((amount, call)) = claim_call(&outsider) {
            assert_eq!(amount, 0, "{outsider:?} was not in the sale");
            assert_eq!(dispatch(alice, outsider, call).unwrap(), nothing_to_claim);
        }
    }

    // The consortium rejects the root (say a regulator found it wrong): nothing more is
    // claimed against it, and Alice General's node builds and commits another by itself.
    let (_, stale_claim) = claim_call(&consenting()[0]).expect("the owner's leaf");
    pass_root_call(
        alice,
        RuntimeCall::Revenue(pallet_revenue::Call::reject_root {
            custodian: Alice.to_account_id(),
            epoch: root_epoch,
        }),
    )
    .expect("the consortium rejects the root");
    assert_eq!(
        dispatch(alice, &consenting()[0], stale_claim).unwrap(),
        Err(sp_runtime::DispatchError::from(
            pallet_revenue::Error::<medledger_runtime::Runtime>::RootRejected
        ))
    );
    let replacement: pallet_revenue::PayoutRoot<Balance> = wait_until(
        "a root in place of the rejected one",
        Duration::from_secs(240),
        || {
            let latest: Option<pallet_revenue::EpochIndex> =
                storage(alice, "Revenue", "LatestRoot", &custodian_key, None)?;
            let Some(latest) = latest else {
                return Ok(None);
            };
            let key = [custodian_key.clone(), twox64_concat(&latest)].concat();
            let root: Option<pallet_revenue::PayoutRoot<Balance>> =
                storage(alice, "Revenue", "PayoutRoots", &key, None)?;
            Ok(root.filter(|root| !root.rejected))
        },
    )
    .unwrap();
    assert_ne!(replacement.root, root.root, "a new book, with new salts");
    assert_eq!(replacement.total, root.total);
    // Its leaves carry what each owner earned; all of it was claimed already.
    for owner in consenting() {
        let (amount, call) = claim_call(&owner).expect("a leaf in the new root");
        assert!(amount > 0);
        assert_eq!(dispatch(alice, &owner, call).unwrap(), nothing_to_claim);
    }
}

fn twox64_concat(key: &impl codec::Encode) -> Vec<u8> {
    let encoded = key.encode();
    [sp_io::hashing::twox_64(&encoded).as_slice(), &encoded].concat()
}

fn blake2_128_concat(key: &impl codec::Encode) -> Vec<u8> {
    let encoded = key.encode();
    [sp_io::hashing::blake2_128(&encoded).as_slice(), &encoded].concat()
}
