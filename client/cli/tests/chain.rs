//! The `medledger` binary against a real 4-hospital network (the test harness): a sale done by
//! a hospital, its patients and a buyer with `medledger` alone — enrolment signed by patients
//! who hold no funds and submitted by the hospital, consents, a listing, the buyer's token key,
//! a purchase at the version shown, the delivery fetched and checked against the chain's
//! receipt, opened with the token, and confirmed; the same in one step (`buyer get`); the
//! regulator's checks of the delivery's opening and of the payout book; a patient's records,
//! an erasure and the end of an enrolment — with the bad inputs a user can make on the way
//! (stale listing version, price above the maximum, no key, wrong signer, unknown order, a
//! refund the chain refuses, shown as the runtime's sentence, a tampered opening or payout
//! book, someone else's record).
//!
//! Needs the node binary next to `medledger` (`cargo build -p medledger-node`) or in
//! `MEDLEDGER_NODE_BIN`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use medledger_sealing::testing::{prepare_softhsm, USER_PIN};
use medledger_test_harness::{wait_until, Network};
use serde_json::Value;

const TOKEN: &str = "cli-chain-token";
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BUYER: &str = "//One";
const STRANGER: &str = "//Two";
const PATIENTS: [&str; 3] = ["//cli-patient-1", "//cli-patient-2", "//cli-patient-3"];

/// `medledger-node`: `MEDLEDGER_NODE_BIN`, else the one built into the same target folder as
/// this test's `medledger`.
fn node_binary() -> PathBuf {
    let medledger = PathBuf::from(env!("CARGO_BIN_EXE_medledger"));
    let node = std::env::var_os("MEDLEDGER_NODE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| medledger.with_file_name("medledger-node"));
    assert!(
        node.exists(),
        "{} is missing: cargo build -p medledger-node",
        node.display()
    );
    node
}

struct Cli {
    softhsm_conf: PathBuf,
    rpc_url: String,
    /// One long-lived client for reads, connected at first use (it must follow the chain
    /// between reads, however long the pauses).
    chain: std::cell::OnceCell<medledger_chain::Chain>,
}

impl Cli {
    /// `medledger args…` signed by `secret` (in `MEDLEDGER_ACCOUNT_SECRET`).
    fn run(&self, secret: Option<&str>, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_medledger"));
        command
            .args(args)
            .env("MEDLEDGER_RPC_URL", &self.rpc_url)
            .env("SOFTHSM2_CONF", &self.softhsm_conf)
            .env("MEDLEDGER_PIN", USER_PIN)
            .env_remove("MEDLEDGER_ACCOUNT_SECRET")
            .stdin(Stdio::null());
        if let Some(secret) = secret {
            command.env("MEDLEDGER_ACCOUNT_SECRET", secret);
        }
        command.output().expect("run medledger")
    }

    fn ok(&self, secret: Option<&str>, args: &[&str]) -> String {
        let output = self.run(secret, args);
        assert!(
            output.status.success(),
            "medledger {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stdout).expect("UTF-8 output")
    }

    fn json(&self, secret: Option<&str>, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let out = self.ok(secret, &args);
        serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {out}"))
    }

    /// What is held of `account`'s balance at the finalized block.
    fn held(&self, account: &str) -> u128 {
        let chain = self
            .chain
            .get_or_init(|| medledger_chain::Chain::connect(&self.rpc_url).expect("connect"));
        chain
            .held_balance(&account.parse().expect("an address"))
            .expect("read the account")
    }

    /// Runs a command that must fail with a one-line human error containing `expected`.
    fn fails(&self, secret: Option<&str>, args: &[&str], expected: &str) {
        let output = self.run(secret, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "medledger {args:?} succeeded");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "medledger {args:?}: expected an error with {expected:?}, got {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `regulator audit export --from 1` and `extra`.
fn audit<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["regulator", "audit", "export", "--from", "1"];
    args.extend_from_slice(extra);
    args
}

fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// The patients' derived accounts at Alice General, as `medledger patient account` shows them.
fn patient_accounts(cli: &Cli) -> Vec<String> {
    PATIENTS
        .iter()
        .map(|secret| {
            cli.json(Some(secret), &["patient", "account", ALICE])["account"]
                .as_str()
                .expect("an address")
                .to_string()
        })
        .collect()
}

/// A synthetic export owned by `owners`, ingested into `work/store` with `work/store.key`.
fn ingest(work: &Path, owners: &[String]) -> (PathBuf, PathBuf) {
    use medledger_fhir::{ingest_folder, synthetic, IngestOptions, OwnerMapping, StoreKey};
    let export = work.join("export");
    synthetic::generate_corpus(&export, synthetic::CorpusSize::Patients(3), 5, owners)
        .expect("synthetic export");
    let key_file = work.join("store.key");
    let key = StoreKey::generate_to_file(&key_file).expect("store key");
    let mapping = OwnerMapping::from_file(&export.join("owners.csv")).expect("owners.csv");
    let store = work.join("store");
    ingest_folder(&export, &store, &key, &mapping, &IngestOptions::default()).expect("ingest");
    (store, key_file)
}

/// A fresh node key's peer id, as a hospital joining the consortium makes one
/// (`medledger-node key generate-node-key` prints it).
fn new_peer_id(work: &Path, name: &str) -> String {
    let output = Command::new(node_binary())
        .args(["key", "generate-node-key", "--file", s(&work.join(name))])
        .output()
        .expect("run generate-node-key");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .chain(String::from_utf8_lossy(&output.stdout).lines())
        .map(str::trim)
        .find(|line| line.starts_with("12D3Koo"))
        .expect("a printed peer id")
        .to_string()
}

#[test]
fn a_sale_done_with_medledger_alone_by_hospital_patients_and_buyer() {
    let work = tempfile::tempdir().expect("temp dir");
    let work = work.path();
    let softhsm_conf = prepare_softhsm(&work.join("softhsm"), &[TOKEN]).expect("SoftHSM2");
    let mut cli = Cli {
        softhsm_conf,
        rpc_url: "ws://127.0.0.1:1".into(),
        chain: std::cell::OnceCell::new(),
    };

    // A node that is not there is a sentence, not a stack of errors.
    cli.fails(
        Some(BUYER),
        &["buyer", "listings"],
        "no MedLedger node answers",
    );

    // Patients' accounts at Alice General: derived per hospital from each patient's secret.
    let accounts = patient_accounts(&cli);
    let own = cli.json(
        Some(PATIENTS[0]),
        &["patient", "--same-account", "account", ALICE],
    );
    assert_ne!(own["account"].as_str(), Some(accounts[0].as_str()));
    let (store, key_file) = ingest(work, &accounts);

    let mut net = Network::new(node_binary());
    for (i, name) in ["alice", "bob", "charlie", "dave"].iter().enumerate() {
        let node_key = format!("{:064x}", i + 1);
        let flag = format!("--{name}");
        let mut args = vec!["--chain", "local", flag.as_str(), "--node-key", &node_key];
        if *name == "alice" {
            // Three patients cannot be 5-anonymous: this hospital delivers at k = 1.
            args.extend([
                "--fhir-store",
                s(&store),
                "--fhir-store-key",
                s(&key_file),
                "--delivery-k",
                "1",
            ]);
        }
        net.start_node(name, &args).expect("a validator starts");
    }
    let alice = net.node("alice");
    cli.rpc_url = format!("ws://127.0.0.1:{}", alice.rpc_port);
    wait_until("finality", Duration::from_secs(180), || {
        Ok((alice.finalized_number()? >= 1).then_some(()))
    })
    .unwrap();

    // Records of patients not enrolled yet are not sent: they wait for a later run.
    let early = cli.json(
        Some("//Alice"),
        &["hospital", "register", "--store", s(&store)],
    );
    assert_eq!(early["registered"], 0, "{early}");
    assert_eq!(early["waiting_for_enrolment"], early["records"], "{early}");

    // Enrolment: each patient signs (holding nothing), Alice General submits.
    let mut enrolment_deposits = Vec::new();
    for (n, patient) in PATIENTS.iter().enumerate() {
        let request = work.join(format!("enrol-{n}.json"));
        cli.ok(
            Some(patient),
            &["patient", "enrol", ALICE, "--out", s(&request)],
        );
        if n == 0 {
            // Another hospital cannot submit it for itself.
            cli.fails(
                Some("//Bob"),
                &["hospital", "enrol", s(&request)],
                "this enrolment is for hospital",
            );
        }
        // The hospital, not the patient, holds a deposit for the patient's storage.
        let held_before = cli.held(ALICE);
        let enrolled = cli.json(Some("//Alice"), &["hospital", "enrol", s(&request)]);
        assert_eq!(enrolled["patient"], accounts[n].as_str());
        assert_eq!(enrolled["finalized"], true);
        assert!(enrolled["block"].as_u64().unwrap() > 0);
        let deposit: u128 = enrolled["deposit"].as_str().unwrap().parse().unwrap();
        assert!(deposit > 0, "{enrolled}");
        assert_eq!(cli.held(ALICE), held_before + deposit);
        assert_eq!(cli.held(&accounts[n]), 0, "the patient holds nothing");
        enrolment_deposits.push(deposit);
    }
    // Alice General registers its ingest's records, in batches (here of about half of them);
    // a second run has nothing left to do.
    let record_count = early["records"].as_u64().unwrap();
    let batch = (record_count / 2).max(1).to_string();
    let registered = cli.json(
        Some("//Alice"),
        &[
            "hospital",
            "register",
            "--store",
            s(&store),
            "--batch-size",
            &batch,
        ],
    );
    assert_eq!(registered["records"], record_count, "{registered}");
    assert_eq!(registered["registered"], record_count, "{registered}");
    assert_eq!(registered["waiting_for_enrolment"], 0, "{registered}");
    assert_eq!(
        registered["blocks"].as_array().unwrap().len() as u64,
        record_count.div_ceil((record_count / 2).max(1)),
        "{registered}"
    );
    let again = cli.json(
        Some("//Alice"),
        &["hospital", "register", "--store", s(&store)],
    );
    assert_eq!(again["registered"], 0, "{again}");
    assert_eq!(again["already_on_chain"], record_count, "{again}");

    // Consent for research by anyone, shown back to the patient.
    for patient in PATIENTS {
        let granted = cli.json(
            Some(patient),
            &[
                "patient",
                "consent",
                "grant",
                ALICE,
                "--purpose",
                "research",
            ],
        );
        assert_eq!(granted["purpose"], "research");
    }
    let listed = cli.json(Some(PATIENTS[0]), &["patient", "consent", "list", ALICE]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["grantee"], "anyone");
    assert_eq!(listed[0]["revoked_at"], Value::Null);

    // A consent for one category: the chain gets a tag salted with the patient's salt from
    // Alice General's node (this network's Alice serves on a free port, not the genesis one).
    let endpoint = alice.delivery_url();
    let category_grant = |patient: &str| {
        cli.json(
            Some(patient),
            &[
                "patient",
                "consent",
                "grant",
                ALICE,
                "--purpose",
                "education",
                "--category",
                "Condition",
                "--endpoint",
                &endpoint,
            ],
        )
    };
    let tags: Vec<String> = PATIENTS[1..]
        .iter()
        .map(|patient| {
            let granted = category_grant(patient);
            let tag = granted["scope"].as_str().unwrap().to_string();
            assert!(tag.starts_with("category tag 0x"), "{granted}");
            tag
        })
        .collect();
    assert_ne!(
        tags[0], tags[1],
        "one category, a different tag for each patient"
    );
    let second_patients = cli.json(
        Some(PATIENTS[1]),
        &["patient", "consent", "list", ALICE, "--endpoint", &endpoint],
    );
    let scopes: Vec<&str> = second_patients
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["scope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["all", "category condition"], "named with the salt");
    cli.fails(
        Some(PATIENTS[1]),
        &[
            "patient",
            "consent",
            "grant",
            ALICE,
            "--purpose",
            "education",
            "--category",
            "condition",
            "--endpoint",
            "http://127.0.0.1:9",
        ],
        "category salt",
    );

    // Alice General lists conditions and laboratory results at 0.01 MED a record.
    let listing_args = [
        "--summary",
        "research dataset",
        "--purpose",
        "research",
        "--category",
        "observation:laboratory",
        "--category",
        "condition",
        "--per-record",
        "0.01",
        "--max-records",
        "1000",
    ];
    let mut create = vec!["hospital", "listing", "create"];
    create.extend(listing_args);
    let held_before = cli.held(ALICE);
    let created = cli.json(Some("//Alice"), &create);
    let listing = created["listing"].as_u64().unwrap().to_string();
    // The listing holds a storage deposit from Alice General while it is stored.
    let deposit: u128 = created["deposit"].as_str().unwrap().parse().unwrap();
    assert!(deposit > 0, "{created}");
    assert_eq!(cli.held(ALICE), held_before + deposit);
    // A buyer cannot list.
    cli.fails(Some(BUYER), &create, "NotCustodian");

    let shown = cli.json(Some(BUYER), &["buyer", "listings"]);
    let shown = shown
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"].to_string() == listing)
        .expect("the new listing is shown")
        .clone();
    assert_eq!(shown["version"], 1);
    assert_eq!(shown["custodian"], ALICE);
    assert_eq!(shown["categories"][0], "condition", "sorted");
    assert_eq!(shown["max_cost"], "10000000000000");
    assert_eq!(shown["deposit"], created["deposit"]);
    let human = cli.ok(Some(BUYER), &["buyer", "listings"]);
    assert!(human.contains("0.01 MED per record"), "{human}");

    // The buyer's mistakes before a purchase.
    cli.fails(
        Some(BUYER),
        &["buyer", "buy", &listing, "--max-price", "10"],
        "no delivery key on chain",
    );
    cli.ok(None, &["token", "init", "--token-label", TOKEN]);
    let registered = cli.json(
        Some(BUYER),
        &["buyer", "register-key", "--token-label", TOKEN],
    );
    assert_eq!(registered["finalized"], true);
    cli.fails(
        Some(BUYER),
        &["buyer", "buy", &listing, "--max-price", "9.99"],
        "more than --max-price",
    );
    // The offer changes after the buyer saw version 1: buying version 1 is refused.
    let mut update = vec!["hospital", "listing", "update", listing.as_str()];
    update.extend(listing_args);
    let updated = cli.json(Some("//Alice"), &update);
    assert_eq!(updated["version"], 2);
    cli.fails(
        Some(BUYER),
        &[
            "buyer",
            "buy",
            &listing,
            "--version",
            "1",
            "--max-price",
            "10",
        ],
        "ListingVersionMismatch",
    );

    // The purchase at the version shown.
    let bought = cli.ok(
        Some(BUYER),
        &["buyer", "buy", &listing, "--max-price", "10"],
    );
    assert!(bought.contains("version 2"), "{bought}");
    assert!(bought.contains("finalized"), "{bought}");
    let orders = cli.json(Some(BUYER), &["buyer", "orders"]);
    assert_eq!(orders.as_array().unwrap().len(), 1);
    let order = orders[0]["id"].as_u64().unwrap().to_string();
    assert_eq!(orders[0]["listing_version"], 2);

    // Not delivered yet, or someone else's: nothing to fetch or settle.
    cli.fails(
        Some(STRANGER),
        &["buyer", "fetch", &order, s(&work.join("x.sealed"))],
        "is not yours",
    );
    cli.fails(
        Some(STRANGER),
        &["buyer", "confirm", &order],
        "is not yours",
    );
    cli.fails(Some(BUYER), &["buyer", "confirm", "999"], "no order 999");
    cli.fails(
        Some(BUYER),
        &["buyer", "fetch", "999", "y.sealed"],
        "no order 999",
    );

    // The custodian's node delivers; the receipt shows in the buyer's orders.
    let receipt = wait_until("the receipt", Duration::from_secs(240), || {
        let orders = cli.json(Some(BUYER), &["buyer", "orders"]);
        Ok(Some(orders[0]["receipt"].clone()).filter(|r| !r.is_null()))
    })
    .unwrap();
    assert!(receipt["record_count"].as_u64().unwrap() > 0);

    // The patient sees the sale its consent covered, judged at the sale's block: its research
    // consent, over all its records there. Its category consent (education) is not for this.
    let own_records = cli.json(Some(PATIENTS[1]), &["patient", "records", ALICE]);
    let sales = cli.json(
        Some(PATIENTS[1]),
        &["patient", "sales", ALICE, "--endpoint", &endpoint],
    );
    let sale = sales
        .as_array()
        .unwrap()
        .iter()
        .find(|sale| sale["order"].to_string() == order)
        .unwrap_or_else(|| panic!("order {order} not in {sales}"));
    assert_eq!(sale["purpose"], "research", "{sale}");
    assert_eq!(sale["records_delivered"], receipt["record_count"], "{sale}");
    let research_consent = &second_patients[0]["id"];
    assert_eq!(
        sale["consents"],
        serde_json::json!([{
            "consent": research_consent,
            "records": own_records.as_array().unwrap().len(),
            "if_category": null,
        }]),
        "{sale}"
    );
    let human = cli.ok(
        Some(PATIENTS[1]),
        &["patient", "sales", ALICE, "--endpoint", &endpoint],
    );
    assert!(
        human.contains(&format!("order {order} for research")),
        "{human}"
    );
    // At a hospital it is not enrolled with, no sale of its records.
    let elsewhere = cli.json(
        Some(PATIENTS[1]),
        &[
            "patient",
            "sales",
            "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
        ],
    );
    assert_eq!(elsewhere, serde_json::json!([]));

    // Fetch checks the download against the receipt and records the digest; open uses it.
    // The chain names the local genesis' endpoint (port 8800); this network's Alice serves
    // on a free port.
    let sealed = work.join("order.sealed");
    let fetched = cli.json(
        Some(BUYER),
        &[
            "buyer",
            "fetch",
            &order,
            s(&sealed),
            "--endpoint",
            &endpoint,
        ],
    );
    assert_eq!(fetched["digest"], receipt["ciphertext_digest"]);
    assert_eq!(fetched["size"], receipt["size"]);
    cli.ok(None, &["open", s(&sealed), s(&work.join("order.tar"))]);
    assert!(work.join("order.tar").exists());

    // The regulator checks Alice General's opening of the delivery against the chain.
    let deliveries = alice.base_path.join("deliveries");
    let opening_path = deliveries.join(format!("order-{order}.opening.json"));
    let verified = cli.json(None, &["regulator", "audit", "verify", s(&opening_path)]);
    assert_eq!(verified["verified"], true, "{verified}");
    assert_eq!(verified["failures"], serde_json::json!([]), "{verified}");
    assert_eq!(verified["record_count"], receipt["record_count"]);
    let human = cli.ok(None, &["regulator", "audit", "verify", s(&opening_path)]);
    assert!(human.contains("the opening matches the chain"), "{human}");
    // A tampered opening: its size is not the receipt's, and one record's owner is another
    // patient. Each failure is named; the command fails.
    let mut opening: Value =
        serde_json::from_slice(&std::fs::read(&opening_path).expect("the opening"))
            .expect("opening JSON");
    let size = receipt["size"].as_u64().unwrap();
    opening["size"] = Value::from(size + 1);
    let first_owner = opening["records"][0]["owner"].as_str().unwrap().to_string();
    let other_owner = accounts
        .iter()
        .find(|a| **a != first_owner)
        .unwrap()
        .clone();
    opening["records"][0]["owner"] = Value::from(other_owner.clone());
    let record = opening["records"][0]["record"]
        .as_str()
        .unwrap()
        .to_string();
    let tampered_opening = work.join("tampered.opening.json");
    std::fs::write(&tampered_opening, opening.to_string()).expect("tampered opening");
    let run = cli.run(
        None,
        &[
            "regulator",
            "audit",
            "verify",
            s(&tampered_opening),
            "--json",
        ],
    );
    assert!(!run.status.success());
    let caught: Value = serde_json::from_slice(&run.stdout).expect("JSON findings");
    let failures: Vec<&str> = caught["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(caught["verified"], false);
    assert!(
        failures.contains(
            &format!(
                "the size differs from the chain's (opening: {}, chain: {size})",
                size + 1
            )
            .as_str()
        ),
        "{caught}"
    );
    assert!(
        failures.contains(
            &format!("record {record} is registered to {first_owner}, not to {other_owner}")
                .as_str()
        ),
        "{caught}"
    );
    assert!(
        failures
            .iter()
            .any(|f| f.contains("not to the receipt's records root")),
        "{caught}"
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    let human = cli.run(
        None,
        &["regulator", "audit", "verify", s(&tampered_opening)],
    );
    assert!(!human.status.success());
    assert!(String::from_utf8_lossy(&human.stdout).contains(&format!(
        "failure: the size differs from the chain's (opening: {}",
        size + 1
    )));

    // `buyer get`: a maximum price below the listing's is refused before anything is spent
    // (no order placed); then buy, wait, fetch, check and open in one command.
    let got_tar = work.join("got.tar");
    cli.fails(
        Some(BUYER),
        &[
            "buyer",
            "get",
            &listing,
            "--max-price",
            "9.99",
            "--out",
            s(&got_tar),
        ],
        "more than --max-price",
    );
    assert_eq!(
        cli.json(Some(BUYER), &["buyer", "orders"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(!got_tar.exists());
    // A token whose key is not the one registered on chain is refused before the purchase:
    // no order, nothing more held.
    let other_token = Cli {
        softhsm_conf: prepare_softhsm(&work.join("softhsm-other"), &[TOKEN]).expect("SoftHSM2"),
        rpc_url: cli.rpc_url.clone(),
        chain: std::cell::OnceCell::new(),
    };
    other_token.ok(None, &["token", "init", "--token-label", TOKEN]);
    let buyer_account = registered["account"]
        .as_str()
        .expect("an address")
        .to_string();
    let held_before = cli.held(&buyer_account);
    other_token.fails(
        Some(BUYER),
        &[
            "buyer",
            "get",
            &listing,
            "--max-price",
            "10",
            "--out",
            s(&got_tar),
        ],
        "is not the key",
    );
    assert_eq!(
        cli.json(Some(BUYER), &["buyer", "orders"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(cli.held(&buyer_account), held_before);
    assert!(!got_tar.exists());
    let got = cli.json(
        Some(BUYER),
        &[
            "buyer",
            "get",
            &listing,
            "--max-price",
            "10",
            "--out",
            s(&got_tar),
            "--endpoint",
            &endpoint,
            "--timeout",
            "240",
        ],
    );
    assert_eq!(got["finalized"], true, "{got}");
    let orders = cli.json(Some(BUYER), &["buyer", "orders"]);
    let second = orders
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == got["order"])
        .expect("the new order")
        .clone();
    assert_ne!(second["id"].to_string(), order);
    assert_eq!(second["state"], "delivered");
    assert_eq!(got["digest"], second["receipt"]["ciphertext_digest"]);
    let tar = std::fs::read(&got_tar).expect("the opened delivery");
    assert_eq!(tar.len() as u64, got["plaintext_size"].as_u64().unwrap());
    assert!(
        tar.windows(22).any(|w| w == b"delivery/manifest.json"),
        "not the delivery's tar"
    );

    // A tampered download (an unfinished one whose first part was altered, then resumed) is
    // refused and removed.
    let tampered = work.join("tampered.sealed");
    let mut bytes = std::fs::read(&sealed).expect("the download");
    bytes[40] ^= 0x01;
    bytes.truncate(bytes.len() - 100);
    std::fs::write(work.join("tampered.sealed.partial"), &bytes).expect("partial");
    cli.fails(
        Some(BUYER),
        &[
            "buyer",
            "fetch",
            &order,
            s(&tampered),
            "--endpoint",
            &endpoint,
        ],
        "removed it",
    );
    assert!(!tampered.exists());

    // Settling: a refund of a delivered order is the runtime's sentence; confirm releases.
    cli.fails(
        Some(BUYER),
        &["buyer", "refund", &order],
        "Only an undelivered (paid) order can be refunded",
    );
    let confirmed = cli.json(Some(BUYER), &["buyer", "confirm", &order]);
    assert_eq!(confirmed["state"], "released");
    cli.fails(
        Some(BUYER),
        &["buyer", "dispute", &order],
        "OrderNotDelivered",
    );

    // A patient revokes; the consent stays listed with its end.
    let consent = listed[0]["id"].as_u64().unwrap().to_string();
    cli.ok(
        Some(PATIENTS[0]),
        &["patient", "consent", "revoke", ALICE, &consent],
    );
    let after = cli.json(Some(PATIENTS[0]), &["patient", "consent", "list", ALICE]);
    assert!(after[0]["revoked_at"].as_u64().is_some(), "{after}");

    // Once the release's epoch (20 blocks) has ended, Alice General's node commits a payout
    // root by itself; each patient, holding nothing, claims its part for free.
    let mut claimed_in_all = 0u128;
    for patient in PATIENTS {
        let claim = ["patient", "claim", ALICE, "--endpoint", &endpoint];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(240);
        let out = loop {
            let run = cli.run(Some(patient), &claim);
            let (out, err) = (
                String::from_utf8_lossy(&run.stdout).to_string(),
                String::from_utf8_lossy(&run.stderr).to_string(),
            );
            if run.status.success() && out.contains("claimed everything not yet claimed") {
                break out;
            }
            // Before the root: no leaf yet, or the leaf of a root still on its way.
            assert!(
                out.contains("holds no payout") || err.contains("is not on chain yet"),
                "{out}{err}"
            );
            assert!(
                std::time::Instant::now() < deadline,
                "no payout root within 240 s: {out}{err}"
            );
            std::thread::sleep(std::time::Duration::from_secs(3));
        };
        assert!(out.contains("finalized"), "{out}");
        let again = cli.ok(Some(patient), &claim);
        assert!(again.contains("nothing to claim"), "{again}");
        let earnings = cli.json(Some(patient), &["patient", "earnings", ALICE]);
        let claimed: u128 = earnings["claimed"].as_str().unwrap().parse().unwrap();
        assert!(claimed > 0, "{earnings}");
        claimed_in_all += claimed;
    }

    // The regulator checks Alice General's payout book against the openings and the chain.
    let books = deliveries.join("payouts");
    let book_path = std::fs::read_dir(&books)
        .expect("the payout books")
        .map(|entry| entry.expect("a book").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .max_by_key(|path| {
            let book: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            book["epoch"].as_u64().unwrap()
        })
        .expect("a payout book");
    let payouts = [
        "regulator",
        "audit",
        "payouts",
        s(&book_path),
        "--openings",
        s(&deliveries),
    ];
    let audited = cli.json(None, &payouts);
    assert_eq!(audited["verified"], true, "{audited}");
    assert_eq!(audited["orders"], 1, "{audited}");
    assert_eq!(
        audited["total"].as_str().unwrap().parse::<u128>().unwrap(),
        claimed_in_all
    );
    // One leaf's amount raised by one unit: refused, naming the leaf and the root.
    let mut book: Value =
        serde_json::from_slice(&std::fs::read(&book_path).expect("the book")).expect("JSON");
    let (index, leaf) = book["leaves"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .find(|(_, leaf)| leaf["amount"] != "0")
        .map(|(i, leaf)| (i, leaf.clone()))
        .expect("a paid leaf");
    let amount: u128 = leaf["amount"].as_str().unwrap().parse().unwrap();
    book["leaves"][index]["amount"] = Value::from((amount + 1).to_string());
    let tampered_book = work.join("tampered-book.json");
    std::fs::write(&tampered_book, book.to_string()).expect("tampered book");
    let mut tampered_payouts = payouts;
    tampered_payouts[3] = s(&tampered_book);
    let run = cli.run(None, &tampered_payouts);
    assert!(!run.status.success());
    let report = String::from_utf8_lossy(&run.stdout);
    assert!(
        report.contains(&format!(
            "failure: leaf {index} ({}) pays {}, the entries give {amount}",
            leaf["owner"].as_str().unwrap(),
            amount + 1
        )),
        "{report}"
    );
    assert!(
        report.contains("the chain's payout root of epoch"),
        "{report}"
    );
    assert!(String::from_utf8_lossy(&run.stderr).starts_with("error: "));

    // A patient's records at the hospital, one erased; another's record is not theirs to erase.
    let records = cli.json(Some(PATIENTS[1]), &["patient", "records", ALICE]);
    let records = records.as_array().unwrap().clone();
    assert!(!records.is_empty());
    assert!(
        records.iter().all(|r| r["status"] == "active"),
        "{records:?}"
    );
    let record = records[0]["record"].as_str().unwrap().to_string();
    cli.fails(
        Some(PATIENTS[0]),
        &["patient", "erase", ALICE, &record],
        "is not yours",
    );
    // A consent for one record: its owner may give it, nobody else.
    let grant_record = [
        "patient",
        "consent",
        "grant",
        ALICE,
        "--purpose",
        "commercial",
    ];
    let one = cli.json(
        Some(PATIENTS[1]),
        &[&grant_record[..], &["--record", &record]].concat(),
    );
    assert_eq!(one["scope"], format!("record {record}"), "{one}");
    let listed = cli.json(Some(PATIENTS[1]), &["patient", "consent", "list", ALICE]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == one["consent"] && c["scope"] == format!("record {record}")),
        "{listed}"
    );
    cli.fails(
        Some(PATIENTS[0]),
        &[&grant_record[..], &["--record", &record]].concat(),
        "is not one of yours",
    );
    let erased = cli.json(Some(PATIENTS[1]), &["patient", "erase", ALICE, &record]);
    assert_eq!(erased["finalized"], true);
    assert!(
        erased["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "Ownership.ErasureRequested"),
        "{erased}"
    );
    let after = cli.json(Some(PATIENTS[1]), &["patient", "records", ALICE]);
    let status = after
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["record"] == record.as_str())
        .expect("still listed")["status"]
        .clone();
    assert_eq!(status, "erasure-requested");
    cli.fails(
        Some(PATIENTS[1]),
        &["patient", "erase", ALICE, &record],
        "erasure was requested already",
    );
    // A patient ends its enrolment, for free, and the hospital gets its deposit back; a
    // second time there is none to end.
    let held_before = cli.held(ALICE);
    let ended = cli.json(Some(PATIENTS[2]), &["patient", "end-enrolment", ALICE]);
    assert_eq!(cli.held(ALICE), held_before - enrolment_deposits[2]);
    assert!(
        ended["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "Ownership.EnrolmentEnded"),
        "{ended}"
    );
    cli.fails(
        Some(PATIENTS[2]),
        &["patient", "end-enrolment", ALICE],
        "is not enrolled with",
    );

    // Alice General closes the listing: no longer shown as open. No order awaits delivery, so
    // it is removed and its deposit returned.
    let held_before = cli.held(ALICE);
    let closed = cli.json(Some("//Alice"), &["hospital", "listing", "close", &listing]);
    assert_eq!(closed["removed"], true, "{closed}");
    assert_eq!(cli.held(ALICE), held_before - deposit);
    let open = cli.json(Some(BUYER), &["buyer", "listings"]);
    assert!(open.as_array().unwrap().is_empty(), "{open}");

    // Consortium: a Root call (system.remark("abc")) proposed, shown decoded, voted on.
    let held_before = cli.held(ALICE);
    let proposed = cli.json(
        Some("//Alice"),
        &["hospital", "propose", "root-call", "0x00000c616263"],
    );
    let index = proposed["proposal"].as_u64().unwrap().to_string();
    // The proposal holds a deposit from Alice General until it is decided or closed.
    let proposal_deposit: u128 = proposed["deposit"].as_str().unwrap().parse().unwrap();
    assert!(proposal_deposit > 0, "{proposed}");
    assert_eq!(cli.held(ALICE), held_before + proposal_deposit);
    let shown = cli.ok(Some("//Bob"), &["hospital", "proposals"]);
    assert!(
        shown.contains(&format!(
            "proposal {index}: as Root: System.remark(remark: \"abc\")"
        )),
        "{shown}"
    );
    let voted = cli.json(Some("//Bob"), &["hospital", "vote", &index, "--aye"]);
    assert_eq!(voted["aye"], true);
    cli.fails(
        Some(BUYER),
        &["hospital", "vote", &index, "--aye"],
        "NotMember",
    );
    cli.fails(
        Some("//Bob"),
        &["hospital", "vote", "999", "--nay"],
        "no open proposal 999",
    );

    // A hospital and a regulator proposed with their nodes' peer ids, shown decoded; a
    // malformed peer id is refused before anything is sent.
    let ferdie = "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL";
    let clinic_peer = new_peer_id(work, "eve.key");
    let proposed = cli.json(
        Some("//Alice"),
        &[
            "hospital",
            "propose",
            "add-hospital",
            ferdie,
            "--name",
            "Ferdie Clinic",
            "--delivery-endpoint",
            "https://data.ferdie-clinic.example",
            "--peer-id",
            &clinic_peer,
        ],
    );
    assert_eq!(
        proposed["proposed"],
        format!("add hospital {ferdie} (Ferdie Clinic, delivery endpoint https://data.ferdie-clinic.example)"),
        "{proposed}"
    );
    let authority = cli.json(
        Some("//health-authority"),
        &["patient", "--same-account", "account", ALICE],
    )["account"]
        .as_str()
        .unwrap()
        .to_string();
    let authority = authority.as_str();
    let regulator_peer = new_peer_id(work, "regulator.key");
    let proposed = cli.json(
        Some("//Bob"),
        &[
            "hospital",
            "propose",
            "add-regulator",
            authority,
            "--name",
            "Health Authority",
            "--peer-id",
            &regulator_peer,
        ],
    );
    let index = proposed["proposal"].as_u64().unwrap().to_string();
    // Closing is for expired proposals only: the runtime's sentence.
    cli.fails(
        Some("//Charlie"),
        &["hospital", "close", &index],
        "ProposalNotExpired",
    );
    let shown = cli.ok(Some("//Charlie"), &["hospital", "proposals"]);
    assert!(
        shown.contains(&format!(
            "proposal {index}: add regulator {authority} (Health Authority)"
        )),
        "{shown}"
    );
    for (bad, expected) in [
        ("not-a-peer-id", "is not base58"),
        ("3yZe7d", "is not a libp2p peer id"),
    ] {
        cli.fails(
            Some("//Alice"),
            &[
                "hospital",
                "propose",
                "add-regulator",
                authority,
                "--name",
                "x",
                "--peer-id",
                bad,
            ],
            expected,
        );
    }

    // The regulator's export lists the sale's events, as JSON Lines and as CSV.
    let export = cli.ok(None, &audit(&[]));
    let rows: Vec<Value> = export
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    for (pallet, event) in [
        ("Ownership", "Enrolled"),
        ("Consent", "ConsentGranted"),
        ("Escrow", "OrderPlaced"),
        ("Escrow", "ReceiptSubmitted"),
        ("Escrow", "EscrowReleased"),
        ("Revenue", "RootCommitted"),
        ("Revenue", "Claimed"),
    ] {
        assert!(
            rows.iter()
                .any(|r| r["pallet"] == pallet && r["event"] == event),
            "no {pallet}.{event} in {export}"
        );
    }
    // The patients' claims add up to the sale's owners' part.
    let released = &rows
        .iter()
        .find(|r| r["pallet"] == "Revenue" && r["event"] == "Released")
        .expect("the release")["fields"];
    let owners_pool = released["owners_pool"]
        .as_u64()
        .unwrap_or_else(|| panic!("no owners_pool in {released}"));
    assert_eq!(claimed_in_all, u128::from(owners_pool));
    // Fields read as a person would: accounts in SS58, enum variants by name.
    let enrolled: Vec<&Value> = rows
        .iter()
        .filter(|r| r["event"] == "Enrolled")
        .map(|r| &r["fields"])
        .collect();
    assert_eq!(enrolled.len(), PATIENTS.len(), "{enrolled:?}");
    for (fields, account) in enrolled.iter().zip(&accounts) {
        assert_eq!(fields["owner"], account.as_str(), "{fields}");
        assert_eq!(fields["custodian"], ALICE, "{fields}");
    }
    let granted = rows
        .iter()
        .find(|r| r["event"] == "ConsentGranted")
        .expect("a grant");
    assert_eq!(granted["fields"]["purpose"], "Research", "{granted}");
    assert_eq!(granted["fields"]["grantee"], "Anyone", "{granted}");
    let csv_out = work.join("audit.csv");
    cli.ok(None, &audit(&["--format", "csv", "--out", s(&csv_out)]));
    let csv_text = std::fs::read_to_string(&csv_out).expect("the CSV");
    assert!(csv_text.starts_with("block,block_hash,index,pallet,event,fields\n"));
    assert_eq!(csv_text.lines().count(), rows.len() + 1);
    cli.fails(None, &audit(&["--to", "999999"]), "not finalized yet");
}
