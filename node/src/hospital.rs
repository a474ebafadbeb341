//! `medledger-node register-records`: a hospital registers on chain the records its last
//! `medledger fhir ingest` collected (`registrations.ndjson` in the store), in batches that fit
//! a block, signed by its account and sent to a node over JSON-RPC. Records already on chain
//! are skipped, so a run that was interrupted, or that met patients not yet enrolled, is simply
//! run again.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use codec::Encode;
use medledger_runtime::{AccountId, Hash, Nonce, Runtime, RuntimeCall};
use pallet_ownership::RecordRegistration;
use serde_json::json;
use sp_core::{crypto::Ss58Codec, sr25519, Pair};

use crate::rpc_client::Rpc;

/// The environment variable holding the hospital's account secret (mnemonic or secret URI):
/// never a command-line argument, where `ps` would show it.
pub const SECRET_VAR: &str = "MEDLEDGER_ACCOUNT_SECRET";

/// Storage keys asked for in one `state_queryStorageAt` call.
const KEYS_PER_QUERY: usize = 500;

#[derive(Debug, clap::Args)]
pub struct RegisterRecordsCmd {
    /// The FHIR store `medledger fhir ingest --store` wrote (its `registrations.ndjson`).
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// A node's JSON-RPC endpoint (HTTP).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9944")]
    pub rpc_url: String,
    /// Records per transaction (at most the runtime's `MaxBatchSize`, 1 000).
    #[arg(long, default_value_t = 1_000)]
    pub batch_size: usize,
    /// Give up when no transaction has been included for this long (a large registration
    /// takes as long as it takes while batches keep landing).
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub timeout: u64,
}

impl RegisterRecordsCmd {
    pub fn run(&self) -> Result<(), String> {
        let secret = std::env::var(SECRET_VAR).map_err(|_| {
            format!("set {SECRET_VAR} to the hospital account's secret (mnemonic or //URI)")
        })?;
        let signer = sr25519::Pair::from_string(secret.trim(), None)
            .map_err(|e| format!("{SECRET_VAR} is not a valid sr25519 secret: {e:?}"))?;
        let hospital = AccountId::from(signer.public());
        let rpc = Rpc::new(&self.rpc_url);
        let records = read_registrations(&self.store)?;
        let pending = unregistered(&rpc, &records)?;
        let (pending, not_enrolled) = split_by_enrolment(&rpc, &hospital, pending)?;
        println!(
            "{} records in {}; {} already on chain, {} to register as {}",
            records.len(),
            self.store.display(),
            records.len() - pending.len() - not_enrolled.records,
            pending.len(),
            hospital.to_ss58check()
        );
        let skipped = not_enrolled.summary();
        if pending.is_empty() {
            println!("{skipped}");
            return Ok(());
        }

        let genesis = rpc.hash(rpc.call("chain_getBlockHash", json!([0]))?)?;
        let version = rpc.call("state_getRuntimeVersion", json!([]))?;
        let field = |name: &str| {
            version[name]
                .as_u64()
                .map(|v| v as u32)
                .ok_or_else(|| format!("the node's runtime version has no {name}"))
        };
        let (spec_version, transaction_version) =
            (field("specVersion")?, field("transactionVersion")?);
        let first_nonce: Nonce = rpc
            .call("system_accountNextIndex", json!([hospital.to_ss58check()]))?
            .as_u64()
            .ok_or("the node returned no nonce")? as Nonce;
        let batches: Vec<&[RecordRegistration<AccountId>]> =
            pending.chunks(self.batch_size.max(1)).collect();
        for (i, batch) in batches.iter().enumerate() {
            let call = RuntimeCall::Ownership(pallet_ownership::Call::register_records {
                records: batch.to_vec(),
            });
            let xt = medledger_runtime::sign_immortal(
                &signer,
                call,
                first_nonce + i as Nonce,
                genesis,
                spec_version,
                transaction_version,
            );
            rpc.call(
                "author_submitExtrinsic",
                json!([format!("0x{}", hex::encode(xt.encode()))]),
            )
            .map_err(|e| format!("batch {} of {} refused: {e}", i + 1, batches.len()))?;
        }
        println!(
            "submitted {} transaction(s); waiting for them to be included",
            batches.len()
        );
        let last = first_nonce + batches.len() as Nonce;
        let patience = Duration::from_secs(self.timeout);
        let (mut included, mut progressed_at) = (rpc.included_nonce(&hospital)?, Instant::now());
        while included < last {
            std::thread::sleep(Duration::from_millis(500));
            let now_included = rpc.included_nonce(&hospital)?;
            if now_included > included {
                (included, progressed_at) = (now_included, Instant::now());
            } else if progressed_at.elapsed() > patience {
                return Err(format!(
                    "{} of {} transactions included, none more for {} s: run the command again \
                     (it registers only what is missing)",
                    included.saturating_sub(first_nonce),
                    batches.len(),
                    self.timeout
                ));
            }
        }
        let missing = unregistered(&rpc, &pending)?;
        if !missing.is_empty() {
            return Err(format!(
                "{} of {} records sent are not registered: is this account a member hospital? \
                 See the node's events (ownership.registerRecords), then run again",
                missing.len(),
                pending.len()
            ));
        }
        println!("{} records registered; {skipped}", pending.len());
        Ok(())
    }
}

/// The store's `registrations.ndjson` (`medledger_fhir::read_registrations`), as the runtime
/// takes them.
pub fn read_registrations(
    store: &std::path::Path,
) -> Result<Vec<RecordRegistration<AccountId>>, String> {
    Ok(medledger_fhir::read_registrations(store)?
        .into_iter()
        .map(|r| RecordRegistration {
            id: Hash::from(r.record_id),
            owner: AccountId::from(*r.owner.public_key()),
            commitment: Hash::from(r.commitment),
        })
        .collect())
}

/// Records whose owners are not enrolled with the hospital: the runtime would refuse their
/// whole batch (`OwnerNotEnrolled`), so they wait for a later run.
#[derive(Default)]
struct NotEnrolled {
    records: usize,
    patients: usize,
}

impl NotEnrolled {
    fn summary(&self) -> String {
        if self.records == 0 {
            "every owner is enrolled with this hospital".into()
        } else {
            format!(
                "{} records of {} patient(s) not enrolled with this hospital skipped: enrol them \
                 (ownership.enrol) and run again",
                self.records, self.patients
            )
        }
    }
}

/// The records of `records` that the chain (best block) does not hold yet.
fn unregistered(
    rpc: &Rpc,
    records: &[RecordRegistration<AccountId>],
) -> Result<Vec<RecordRegistration<AccountId>>, String> {
    let keys = records
        .iter()
        .map(|record| pallet_ownership::Records::<Runtime>::hashed_key_for(record.id));
    let present = keys_present(rpc, keys)?;
    Ok(records
        .iter()
        .zip(present)
        .filter(|(_, present)| !present)
        .map(|(record, _)| record.clone())
        .collect())
}

/// Splits `records` into those whose owner is enrolled with `hospital` and a count of the rest.
fn split_by_enrolment(
    rpc: &Rpc,
    hospital: &AccountId,
    records: Vec<RecordRegistration<AccountId>>,
) -> Result<(Vec<RecordRegistration<AccountId>>, NotEnrolled), String> {
    let owners: Vec<AccountId> = records
        .iter()
        .map(|record| record.owner.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let keys = owners
        .iter()
        .map(|owner| pallet_ownership::Enrolments::<Runtime>::hashed_key_for(owner, hospital));
    let enrolled: std::collections::BTreeSet<AccountId> = owners
        .iter()
        .zip(keys_present(rpc, keys)?)
        .filter(|(_, enrolled)| *enrolled)
        .map(|(owner, _)| owner.clone())
        .collect();
    let (sendable, waiting): (Vec<_>, Vec<_>) = records
        .into_iter()
        .partition(|record| enrolled.contains(&record.owner));
    let not_enrolled = NotEnrolled {
        records: waiting.len(),
        patients: owners.len() - enrolled.len(),
    };
    Ok((sendable, not_enrolled))
}

/// Whether each storage key has a value at the best block, in order.
fn keys_present(rpc: &Rpc, keys: impl Iterator<Item = Vec<u8>>) -> Result<Vec<bool>, String> {
    let keys: Vec<String> = keys.map(|key| format!("0x{}", hex::encode(key))).collect();
    let mut present = std::collections::HashSet::new();
    for chunk in keys.chunks(KEYS_PER_QUERY) {
        let answer = rpc.call("state_queryStorageAt", json!([chunk]))?;
        present.extend(
            answer[0]["changes"]
                .as_array()
                .ok_or("unexpected state_queryStorageAt answer")?
                .iter()
                .filter(|change| !change[1].is_null())
                .filter_map(|change| change[0].as_str().map(str::to_owned)),
        );
    }
    Ok(keys.iter().map(|key| present.contains(key)).collect())
}
