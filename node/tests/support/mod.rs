//! Signed transactions for integration tests, built from the runtime's own types (what a wallet
//! does with the metadata), and submitted over JSON-RPC.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use std::time::Duration;

use medledger_runtime::{Runtime, RuntimeCall, RuntimeEvent};
use medledger_test_harness::{decode_hex, wait_until, Node, Result};
use serde_json::{json, Value};
use sp_keyring::Sr25519Keyring;
use sp_runtime::{
    codec::{Decode, Encode},
    DispatchError,
};

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::from("0x"), |mut s, b| {
        s.push_str(&format!("{b:02x}"));
        s
    })
}

/// The account's next nonce as the node sees it (pool included).
pub fn next_nonce(node: &Node, who: Sr25519Keyring) -> Result<u32> {
    next_nonce_of(node, &who.to_account_id())
}

/// Like [`next_nonce`], for any account.
pub fn next_nonce_of(node: &Node, who: &medledger_runtime::AccountId) -> Result<u32> {
    let nonce = node.rpc("system_accountNextIndex", json!([who.to_string()]))?;
    nonce
        .as_u64()
        .map(|n| n as u32)
        .ok_or_else(|| format!("bad nonce {nonce}"))
}

/// The node's current runtime version: `(spec_version, transaction_version)`.
pub fn runtime_version(node: &Node) -> Result<(u32, u32)> {
    let version = node.rpc("state_getRuntimeVersion", json!([]))?;
    let field = |name: &str| {
        version[name]
            .as_u64()
            .map(|v| v as u32)
            .ok_or_else(|| format!("no {name} in {version}"))
    };
    Ok((field("specVersion")?, field("transactionVersion")?))
}

/// Who signs a test transaction: a development account or any sr25519 key (a patient's fresh
/// keypair, say).
pub trait Signer {
    fn key(&self) -> sp_core::sr25519::Pair;

    fn account(&self) -> medledger_runtime::AccountId {
        sp_core::Pair::public(&self.key()).into()
    }
}

impl Signer for Sr25519Keyring {
    fn key(&self) -> sp_core::sr25519::Pair {
        self.pair()
    }
}

impl Signer for sp_core::sr25519::Pair {
    fn key(&self) -> sp_core::sr25519::Pair {
        self.clone()
    }
}

impl<S: Signer> Signer for &S {
    fn key(&self) -> sp_core::sr25519::Pair {
        (*self).key()
    }
}

/// `call` signed by `signer` with an immortal era, as polkadot.js would send it: the spec and
/// transaction versions come from the node, so this still works after a runtime upgrade.
pub fn signed(node: &Node, signer: impl Signer, call: RuntimeCall) -> Result<String> {
    let nonce = next_nonce_of(node, &signer.account())?;
    signed_by(node, &signer.key(), nonce, call)
}

/// `call` signed by any sr25519 `signer` with a given `nonce` (to send several at once).
pub fn signed_by(
    node: &Node,
    signer: &sp_core::sr25519::Pair,
    nonce: u32,
    call: RuntimeCall,
) -> Result<String> {
    let genesis: sp_core::H256 = {
        let hash = node.block_hash(0)?.ok_or("no genesis hash")?;
        sp_core::H256::from_slice(&decode_hex(&hash)?)
    };
    let (spec_version, transaction_version) = runtime_version(node)?;
    let xt = medledger_runtime::sign_immortal(
        signer,
        call,
        nonce,
        genesis,
        spec_version,
        transaction_version,
    );
    Ok(hex(&xt.encode()))
}

/// Signs and submits `call`, then waits until the signer's nonce moved past it (included).
pub fn submit(node: &Node, signer: impl Signer, call: RuntimeCall) -> Result<()> {
    let xt = signed(node, &signer, call)?;
    submit_signed(node, &signer, &xt)
}

/// Submits `call` and returns how its dispatch ended, read from the events of the block that
/// included it: `Err` carries the pallet's named error.
pub fn dispatch(
    node: &Node,
    signer: impl Signer,
    call: RuntimeCall,
) -> Result<std::result::Result<(), DispatchError>> {
    Ok(dispatch_in_block(node, signer, call)?.1)
}

/// Like [`dispatch`], also returning the hash of the block that included the transaction.
pub fn dispatch_in_block(
    node: &Node,
    signer: impl Signer,
    call: RuntimeCall,
) -> Result<(String, std::result::Result<(), DispatchError>)> {
    let from = node.best_number()?;
    let xt = signed(node, &signer, call)?;
    submit_signed(node, &signer, &xt)?;
    let to = node.best_number()?;
    for number in from..=to {
        let hash = node
            .block_hash(number)?
            .ok_or("no block at a past height")?;
        let block = node.rpc("chain_getBlock", json!([hash]))?;
        let extrinsics = block["block"]["extrinsics"]
            .as_array()
            .ok_or("block without extrinsics")?;
        let Some(index) = extrinsics.iter().position(|x| x.as_str() == Some(&xt)) else {
            continue;
        };
        for record in events(node, &hash)? {
            if record.phase != frame_system::Phase::ApplyExtrinsic(index as u32) {
                continue;
            }
            match record.event {
                RuntimeEvent::System(frame_system::Event::ExtrinsicSuccess { .. }) => {
                    return Ok((hash, Ok(())))
                }
                RuntimeEvent::System(frame_system::Event::ExtrinsicFailed {
                    dispatch_error,
                    ..
                }) => return Ok((hash, Err(dispatch_error))),
                _ => {}
            }
        }
        return Err(format!(
            "no outcome event for extrinsic {index} of block {hash}"
        ));
    }
    Err(format!(
        "the transaction is in none of blocks {from}..={to}"
    ))
}

/// Like [`dispatch`], for a call that must succeed.
pub fn dispatch_ok(node: &Node, signer: impl Signer, call: RuntimeCall) -> Result<()> {
    dispatch(node, signer, call)?.map_err(|e| format!("dispatch failed: {e:?}"))
}

/// Passes `call` as Root the only way a consortium chain has: Alice proposes it, Bob and Charlie
/// vote aye (three of the four development hospitals), and the deciding vote's block must
/// report it executed without error.
pub fn pass_root_call(node: &Node, call: RuntimeCall) -> Result<()> {
    use frame_support::dispatch::GetDispatchInfo;
    let index: u32 = storage(node, "Consortium", "ProposalCount", &[], None)?.unwrap_or_default();
    let weight = call.get_dispatch_info().call_weight;
    let consortium = |call| RuntimeCall::Consortium(call);
    dispatch_ok(
        node,
        Sr25519Keyring::Alice,
        consortium(pallet_consortium::Call::propose {
            action: pallet_consortium::Action::DispatchAsRoot {
                call: call
                    .encode()
                    .try_into()
                    .map_err(|_| "the call is too long to propose")?,
            },
        }),
    )?;
    let vote = |call_weight_bound| {
        consortium(pallet_consortium::Call::vote {
            index,
            aye: true,
            call_weight_bound,
        })
    };
    dispatch_ok(
        node,
        Sr25519Keyring::Bob,
        vote(frame_support::weights::Weight::zero()),
    )?;
    let (block, outcome) = dispatch_in_block(node, Sr25519Keyring::Charlie, vote(weight))?;
    outcome.map_err(|e| format!("the deciding vote failed: {e:?}"))?;
    events(node, &block)?
        .into_iter()
        .find_map(|record| match record.event {
            RuntimeEvent::Consortium(pallet_consortium::Event::Executed { index: i, result })
                if i == index =>
            {
                Some(result.map_err(|e| format!("the Root call failed: {e:?}")))
            }
            _ => None,
        })
        .unwrap_or_else(|| Err(format!("proposal {index} was not executed")))
}

/// The events of block `hash`.
pub fn events(
    node: &Node,
    hash: &str,
) -> Result<Vec<frame_system::EventRecord<RuntimeEvent, sp_core::H256>>> {
    storage(node, "System", "Events", &[], Some(hash))?.ok_or_else(|| "no events".into())
}

/// A storage item at `at` (best block if `None`), SCALE-decoded; `key` is the hashed map key.
pub fn storage<T: Decode>(
    node: &Node,
    pallet: &str,
    item: &str,
    key: &[u8],
    at: Option<&str>,
) -> Result<Option<T>> {
    let mut full_key = sp_io::hashing::twox_128(pallet.as_bytes()).to_vec();
    full_key.extend(sp_io::hashing::twox_128(item.as_bytes()));
    full_key.extend(key);
    let value = node.rpc("state_getStorage", json!([hex(&full_key), at]))?;
    match value {
        Value::Null => Ok(None),
        Value::String(s) => T::decode(&mut &decode_hex(&s)?[..])
            .map(Some)
            .map_err(|e| format!("{pallet}.{item}: undecodable: {e}")),
        other => Err(format!("{pallet}.{item}: unexpected {other}")),
    }
}

fn submit_signed(node: &Node, signer: &impl Signer, xt: &str) -> Result<()> {
    let before = next_nonce_of(node, &signer.account())?;
    node.rpc("author_submitExtrinsic", json!([xt]))?;
    wait_until(
        "the transaction to be included",
        Duration::from_secs(60),
        || {
            let block_nonce = node.rpc(
                "state_call",
                json!([
                    "AccountNonceApi_account_nonce",
                    hex(&signer.account().encode())
                ]),
            )?;
            let bytes = decode_hex(block_nonce.as_str().ok_or("bad state_call result")?)?;
            let nonce = u32::from_le_bytes(bytes[..4].try_into().map_err(|_| "short nonce")?);
            Ok((nonce > before).then_some(()))
        },
    )
}

/// `hospital` enrols `patient` with the patient's signature over the chain's enrolment message
/// as a wallet's `signRaw` makes it (wrapped in `<Bytes>…</Bytes>`; valid for 100 blocks).
pub fn enrol(node: &Node, hospital: Sr25519Keyring, patient: impl Signer) -> Result<()> {
    let valid_until = node.best_number()? as u32 + 100;
    let pallet_ownership::EnrolmentMessage { message } = runtime_api(
        node,
        "OwnershipApi_enrolment_message",
        (hospital.to_account_id(), patient.account(), valid_until),
    )?;
    let wrapped = [b"<Bytes>".as_slice(), &message, b"</Bytes>"].concat();
    let signature = sp_core::Pair::sign(&patient.key(), &wrapped);
    dispatch_ok(
        node,
        hospital,
        RuntimeCall::Ownership(pallet_ownership::Call::enrol {
            patient: patient.account(),
            valid_until,
            signature: signature.into(),
        }),
    )
}

/// A runtime API call at the best block, SCALE-decoded.
pub fn runtime_api<T: sp_runtime::codec::Decode>(
    node: &Node,
    method: &str,
    args: impl Encode,
) -> Result<T> {
    let result = node.rpc("state_call", json!([method, hex(&args.encode())]))?;
    let bytes = decode_hex(result.as_str().ok_or("bad state_call result")?)?;
    T::decode(&mut &bytes[..]).map_err(|e| format!("{method}: undecodable result: {e}"))
}

/// Free balance of an account (System.Account storage).
pub fn free_balance(node: &Node, who: Sr25519Keyring) -> Result<u128> {
    balance_of(node, &who.to_account_id())
}

/// Free balance of any account (0 if it does not exist).
pub fn balance_of(node: &Node, who: &medledger_runtime::AccountId) -> Result<u128> {
    let account = who.encode();
    let key = [sp_io::hashing::blake2_128(&account).as_slice(), &account].concat();
    let info: Option<frame_system::AccountInfo<u32, pallet_balances::AccountData<u128>>> =
        storage(node, "System", "Account", &key, None)?;
    Ok(info.map_or(0, |info| info.data.free))
}

/// An order as `node` has it at `at` (best block if `None`).
pub fn order_at(
    node: &Node,
    order: u64,
    at: Option<&str>,
) -> Result<pallet_escrow::OrderOf<Runtime>> {
    let key = [
        sp_io::hashing::blake2_128(&order.encode()).as_slice(),
        &order.encode(),
    ]
    .concat();
    storage(node, "Escrow", "Orders", &key, at)?.ok_or_else(|| format!("no order {order}"))
}

/// Registers what an ingest into `store` collected, as Alice General's operator would:
/// `medledger-node register-records` (the binary at `node_binary`) against `node`.
pub fn register_records(node_binary: &str, node: &Node, store: &std::path::Path) -> Result<String> {
    let output = std::process::Command::new(node_binary)
        .args(["register-records", "--store"])
        .arg(store)
        .args(["--rpc-url", &node.rpc_url(), "--timeout", "120"])
        .env("MEDLEDGER_ACCOUNT_SECRET", "//Alice")
        .output()
        .map_err(|e| format!("running register-records: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!(
            "register-records failed: {}{stdout}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(stdout)
}

/// A synthetic export of `patients` patients owned round robin by `owners`, ingested into a
/// new store `work/<store>` under a new key file `work/store.key`.
pub fn ingest_synthetic(
    work: &std::path::Path,
    store: &str,
    patients: u64,
    seed: u64,
    owners: &[medledger_runtime::AccountId],
) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    use medledger_fhir::{ingest_folder, synthetic, IngestOptions, OwnerMapping, StoreKey};
    use sp_core::crypto::Ss58Codec;
    let export = work.join("export");
    let owners: Vec<String> = owners.iter().map(|owner| owner.to_ss58check()).collect();
    synthetic::generate_corpus(
        &export,
        synthetic::CorpusSize::Patients(patients),
        seed,
        &owners,
    )
    .map_err(|e| format!("export: {e}"))?;
    let key_file = work.join("store.key");
    let key = StoreKey::generate_to_file(&key_file).map_err(|e| e.to_string())?;
    let mapping = OwnerMapping::from_file(&export.join("owners.csv")).map_err(|e| e.to_string())?;
    let store = work.join(store);
    ingest_folder(&export, &store, &key, &mapping, &IngestOptions::default())
        .map_err(|e| e.to_string())?;
    Ok((store, key_file))
}

/// Starts the local chain's four hospitals; Alice General's node also gets `alice_args` and
/// the environment `alice_env`.
pub fn start_hospitals(
    net: &mut medledger_test_harness::Network,
    alice_args: &[&str],
    alice_env: &[(&str, &str)],
) -> Result<()> {
    for (i, name) in ["alice", "bob", "charlie", "dave"].iter().enumerate() {
        let node_key = format!("{:064x}", i + 1);
        let flag = format!("--{name}");
        let mut args = vec![
            "--chain",
            "local",
            flag.as_str(),
            "--node-key",
            node_key.as_str(),
        ];
        let mut env: &[(&str, &str)] = &[];
        if *name == "alice" {
            args.extend_from_slice(alice_args);
            env = alice_env;
        }
        net.start_node_with_env(name, &args, env)?;
    }
    Ok(())
}

/// A listing of Alice General for research over `categories` (none: everything), any time.
pub fn research_listing(
    categories: &[&str],
    model: pallet_listing::PriceModel<medledger_runtime::Balance>,
    max_records: u32,
) -> RuntimeCall {
    let categories: Vec<pallet_listing::CategoryCode> = categories
        .iter()
        .map(|code| code.as_bytes().to_vec().try_into().expect("a short code"))
        .collect();
    RuntimeCall::Listing(pallet_listing::Call::create_listing {
        description: pallet_listing::ListingDescription {
            filter_summary: b"research dataset".to_vec().try_into().expect("fits"),
            categories: categories.try_into().expect("few categories"),
            time_range: pallet_listing::TimeRange {
                from: 0,
                until: u64::MAX,
            },
            purpose: pallet_listing::Purpose::Research,
            terms_hash: sp_core::H256::repeat_byte(0x7e),
        },
        pricing: pallet_listing::Pricing { model, max_records },
    })
}

/// Research consent for all of the owner's records, to anyone, without expiry.
pub fn research_by_anyone() -> RuntimeCall {
    RuntimeCall::Consent(pallet_consent::Call::grant_consent {
        scope: pallet_consent::Scope::All,
        purpose: pallet_consent::Purpose::Research,
        grantee: pallet_consent::Grantee::Anyone,
        expires_at: None,
    })
}
