//! `medledger hospital …`: a member hospital's chain work — submitting patients' signed
//! enrolments, registering records, offering datasets and consortium votes.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use medledger_chain::{
    parse_account, parse_peer_id, AccountId, EnrolmentRequest, NewListing, PriceModel, Proposal,
    ProposalInfo, Purpose,
};
use serde_json::{json, Value};

use crate::chain_options::{med, parse_amount, ChainOptions, KeyOptions};
use crate::CommandResult;

#[derive(Args)]
pub struct HospitalArgs {
    #[command(flatten)]
    chain: ChainOptions,
    #[command(flatten)]
    key: KeyOptions,
    #[command(subcommand)]
    command: HospitalCommand,
}

#[derive(Subcommand)]
enum HospitalCommand {
    /// Submit a patient's signed enrolment (the file `medledger patient enrol --out` wrote).
    Enrol { request: PathBuf },
    /// Register on chain the records the last `medledger fhir ingest --store DIR` collected,
    /// in batches that fit a block. Records already on chain are skipped, and those of
    /// patients not enrolled here yet wait: running it again finishes the job.
    Register {
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        /// Records per transaction (at most the runtime's `MaxBatchSize`, 1 000).
        #[arg(long, default_value_t = 1_000,
              value_parser = clap::value_parser!(u32).range(1..=1_000))]
        batch_size: u32,
    },
    /// Offer, change and withdraw datasets.
    #[command(subcommand)]
    Listing(ListingCommand),
    /// The consortium's open proposals, each with its action decoded.
    Proposals,
    /// Propose a consortium matter; two thirds of the members decide.
    #[command(subcommand)]
    Propose(ProposeCommand),
    /// Vote on an open proposal (a Root call's weight bound is read from the chain).
    Vote {
        index: u32,
        /// Approve (else `--nay`).
        #[arg(long, conflicts_with = "nay", required_unless_present = "nay")]
        aye: bool,
        #[arg(long)]
        nay: bool,
    },
    /// Close an expired proposal (its default outcome applies).
    Close { index: u32 },
}

#[derive(Subcommand)]
enum ProposeCommand {
    /// Admit a hospital: its account, name, public delivery endpoint and its nodes' peer ids.
    AddHospital {
        account: String,
        #[arg(long)]
        name: String,
        /// Where buyers download its deliveries (https://…).
        #[arg(long, value_name = "URL")]
        delivery_endpoint: String,
        /// A peer id of one of its nodes, as `medledger-node key inspect-node-key` prints it
        /// (repeat for each node).
        #[arg(long = "peer-id", value_name = "PEER_ID", required = true)]
        peer_ids: Vec<String>,
    },
    /// Register a regulator: its account, name and its observer node's peer id.
    AddRegulator {
        account: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_name = "PEER_ID")]
        peer_id: String,
    },
    /// Remove a member hospital.
    RemoveHospital { account: String },
    /// Remove a regulator.
    RemoveRegulator { account: String },
    /// Dispatch a runtime call with Root origin, given as its SCALE encoding (0x…, as
    /// polkadot.js Apps shows it).
    RootCall {
        #[arg(value_name = "0xCALL")]
        call: String,
    },
    /// Upgrade the runtime to this wasm file (`system.setCode` with Root origin).
    SetCode { wasm: PathBuf },
}

#[derive(Subcommand)]
enum ListingCommand {
    /// Offer a new dataset.
    Create(ListingArgs),
    /// Replace a listing's offer (its version goes up: purchases at the old one fail). While
    /// orders await delivery only the price may change: give the same description.
    Update {
        id: u64,
        #[command(flatten)]
        offer: ListingArgs,
    },
    /// Withdraw a listing for good.
    Close { id: u64 },
}

#[derive(Args)]
struct ListingArgs {
    /// The text buyers see.
    #[arg(long)]
    summary: String,
    /// research, public-health or commercial.
    #[arg(long)]
    purpose: Purpose,
    /// A category code the records must carry (repeat; none: every record).
    #[arg(long = "category", value_name = "CODE")]
    categories: Vec<String>,
    /// Price of each delivered record, in MED (or `…u` smallest units).
    #[arg(long, value_name = "AMOUNT", value_parser = parse_amount, conflicts_with = "flat", required_unless_present = "flat")]
    per_record: Option<u128>,
    /// One price for the whole delivery.
    #[arg(long, value_name = "AMOUNT", value_parser = parse_amount)]
    flat: Option<u128>,
    /// The most records one sale delivers.
    #[arg(long)]
    max_records: u32,
    /// Records from this time on (Unix seconds).
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Records up to this time (Unix seconds).
    #[arg(long, default_value_t = u64::MAX)]
    until: u64,
    /// BLAKE2-256 hash of the terms document, hex.
    #[arg(long, value_name = "0xHASH", value_parser = crate::envelope::parse_digest)]
    terms_hash: Option<[u8; 32]>,
}

impl ListingArgs {
    fn offer(&self) -> NewListing {
        let mut categories = self.categories.clone();
        categories.sort();
        categories.dedup();
        NewListing {
            summary: self.summary.clone(),
            categories,
            time_from: self.from,
            time_until: self.until,
            purpose: self.purpose,
            terms_hash: self.terms_hash.unwrap_or([0; 32]),
            price: match (self.per_record, self.flat) {
                (Some(each), _) => PriceModel::PerRecord(each),
                (None, Some(price)) => PriceModel::Flat(price),
                (None, None) => unreachable!("clap requires one"),
            },
            max_records: self.max_records,
        }
    }
}

pub fn run(args: HospitalArgs) -> CommandResult {
    let options = &args.chain;
    let finalized = args.key.finalized();
    let account = args.key.account("hospital")?;
    let chain = options.connect()?;
    match &args.command {
        HospitalCommand::Enrol { request } => {
            let text = std::fs::read_to_string(request)
                .map_err(|e| format!("{}: {e}", request.display()))?;
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{}: not an enrolment request: {e}", request.display()))?;
            let field = |name: &str| {
                value[name]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{}: no {name}", request.display()))
            };
            let hospital = parse_account(&field("hospital")?)?;
            if hospital != account.account_id() {
                return Err(format!(
                    "this enrolment is for hospital {hospital}, and this key is {}",
                    account.account_id()
                )
                .into());
            }
            let signature: [u8; 64] = hex::decode(field("signature")?.trim_start_matches("0x"))
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or("the request's signature is not 64 bytes of hex")?;
            let request = EnrolmentRequest {
                hospital,
                patient: parse_account(&field("patient")?)?,
                valid_until: value["valid_until"]
                    .as_u64()
                    .ok_or("the request has no valid_until")? as u32,
                signature,
            };
            let included = chain.enrol(&account, &request, finalized)?;
            let deposit = chain
                .enrolment_deposit(&request.patient, &request.hospital)?
                .unwrap_or_default();
            options.print_tx(
                &format!(
                    "enrolled {}; {} held as its deposit while the enrolment lasts",
                    request.patient,
                    med(deposit)
                ),
                &included,
                json!({
                    "action": "enrol",
                    "patient": request.patient.to_string(),
                    "deposit": deposit.to_string(),
                }),
            );
        }
        HospitalCommand::Register { store, batch_size } => {
            register(
                &chain,
                &account,
                store,
                *batch_size as usize,
                options,
                finalized,
            )?;
        }
        HospitalCommand::Listing(ListingCommand::Create(offer)) => {
            let offer = offer.offer();
            let (included, id) = chain.create_listing(&account, &offer, finalized)?;
            let deposit = chain.listing(id)?.map(|l| l.deposit).unwrap_or_default();
            options.print_tx(
                &format!(
                    "listing {id} created ({}, {}); {} held as its deposit until it is closed",
                    offer.summary,
                    price_text(&offer),
                    med(deposit)
                ),
                &included,
                json!({"action": "listing-create", "listing": id, "deposit": deposit.to_string()}),
            );
        }
        HospitalCommand::Listing(ListingCommand::Update { id, offer }) => {
            let offer = offer.offer();
            let included = chain.update_listing(&account, *id, &offer, finalized)?;
            let version = chain.listing(*id)?.map(|l| l.version).unwrap_or_default();
            options.print_tx(
                &format!(
                    "listing {id} updated to version {version} ({})",
                    price_text(&offer)
                ),
                &included,
                json!({"action": "listing-update", "listing": id, "version": version}),
            );
        }
        HospitalCommand::Proposals => {
            let proposals = chain.proposals()?;
            if options.json {
                println!(
                    "{}",
                    Value::Array(proposals.iter().map(proposal_json).collect())
                );
            } else if proposals.is_empty() {
                println!("no open proposals");
            }
            if !options.json {
                for p in &proposals {
                    println!(
                        "proposal {}: {}; by {}; {} aye, {} nay; open until block {}",
                        p.index,
                        p.action,
                        p.proposer
                            .as_ref()
                            .map_or("the escrow".to_string(), |a| a.to_string()),
                        p.ayes.len(),
                        p.nays.len(),
                        p.expires_at
                    );
                }
            }
        }
        HospitalCommand::Propose(command) => {
            let proposal = match command {
                ProposeCommand::AddHospital {
                    account,
                    name,
                    delivery_endpoint,
                    peer_ids,
                } => Proposal::AddHospital {
                    account: parse_account(account)?,
                    name: name.clone(),
                    delivery_endpoint: delivery_endpoint.clone(),
                    peer_ids: peer_ids
                        .iter()
                        .map(|p| parse_peer_id(p))
                        .collect::<Result<_, _>>()?,
                },
                ProposeCommand::AddRegulator {
                    account,
                    name,
                    peer_id,
                } => Proposal::AddRegulator {
                    account: parse_account(account)?,
                    name: name.clone(),
                    peer_id: parse_peer_id(peer_id)?,
                },
                ProposeCommand::RemoveHospital { account } => {
                    Proposal::RemoveHospital(parse_account(account)?)
                }
                ProposeCommand::RemoveRegulator { account } => {
                    Proposal::RemoveRegulator(parse_account(account)?)
                }
                ProposeCommand::RootCall { call } => Proposal::RootCall(
                    hex::decode(call.trim_start_matches("0x"))
                        .map_err(|_| format!("'{call}' is not a hex call encoding"))?,
                ),
                ProposeCommand::SetCode { wasm } => Proposal::SetCode(
                    std::fs::read(wasm).map_err(|e| format!("{}: {e}", wasm.display()))?,
                ),
            };
            let (included, index) = chain.propose(&account, proposal, finalized)?;
            let (shown, deposit) = chain
                .proposals()?
                .into_iter()
                .find(|p| p.index == index)
                .map(|p| (p.action, p.deposit))
                .unwrap_or_default();
            options.print_tx(
                &format!(
                    "proposal {index}: {shown}; {} held as its deposit until it is decided or closed",
                    med(deposit)
                ),
                &included,
                json!({"action": "propose", "proposal": index, "proposed": shown,
                    "deposit": deposit.to_string()}),
            );
        }
        HospitalCommand::Vote { index, aye, .. } => {
            let included = chain.vote(&account, *index, *aye, finalized)?;
            options.print_tx(
                &format!(
                    "voted {} on proposal {index}",
                    if *aye { "aye" } else { "nay" }
                ),
                &included,
                json!({"action": "vote", "proposal": index, "aye": aye}),
            );
        }
        HospitalCommand::Close { index } => {
            let included = chain.close_proposal(&account, *index, finalized)?;
            options.print_tx(
                &format!("proposal {index} closed"),
                &included,
                json!({"action": "close", "proposal": index}),
            );
        }
        HospitalCommand::Listing(ListingCommand::Close { id }) => {
            let included = chain.close_listing(&account, *id, finalized)?;
            let removed = included
                .events
                .iter()
                .any(|e| e == "Listing.ListingRemoved");
            options.print_tx(
                &if removed {
                    format!("listing {id} closed and removed; its deposit is returned")
                } else {
                    format!(
                        "listing {id} closed; it stays, with its deposit, until its orders awaiting delivery end"
                    )
                },
                &included,
                json!({"action": "listing-close", "listing": id, "removed": removed}),
            );
        }
    }
    Ok(())
}

fn price_text(offer: &NewListing) -> String {
    match offer.price {
        PriceModel::PerRecord(each) => {
            format!("{} per record, at most {}", med(each), offer.max_records)
        }
        PriceModel::Flat(price) => {
            format!("{} flat, at most {} records", med(price), offer.max_records)
        }
    }
}

fn proposal_json(p: &ProposalInfo) -> Value {
    json!({
        "index": p.index,
        "proposer": p.proposer.as_ref().map(|a| a.to_string()),
        "action": p.action,
        "ayes": p.ayes.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "nays": p.nays.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "expires_at": p.expires_at,
        "deposit": p.deposit.to_string(),
    })
}

/// `medledger hospital register`: the store's registrations not yet on chain, whose owners are
/// enrolled with this hospital, in batches of `batch_size`, one transaction after another.
fn register(
    chain: &medledger_chain::Chain,
    account: &medledger_chain::Account,
    store: &std::path::Path,
    batch_size: usize,
    options: &ChainOptions,
    finalized: bool,
) -> CommandResult {
    let hospital = account.account_id();
    let all = medledger_fhir::read_registrations(store)?;
    let ids: Vec<[u8; 32]> = all.iter().map(|r| r.record_id).collect();
    let new: Vec<&medledger_fhir::Registration> = all
        .iter()
        .zip(chain.registered(&ids)?)
        .filter(|(_, on_chain)| !on_chain)
        .map(|(registration, _)| registration)
        .collect();
    let owner_of = |r: &medledger_fhir::Registration| AccountId::from(*r.owner.public_key());
    let owners: Vec<AccountId> = new
        .iter()
        .map(|r| owner_of(r))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let enrolled: std::collections::BTreeSet<AccountId> = owners
        .iter()
        .zip(chain.enrolled_with(&owners, &hospital)?)
        .filter(|(_, enrolled)| *enrolled)
        .map(|(owner, _)| owner.clone())
        .collect();
    let sendable: Vec<([u8; 32], AccountId, [u8; 32])> = new
        .iter()
        .filter(|r| enrolled.contains(&owner_of(r)))
        .map(|r| (r.record_id, owner_of(r), r.commitment))
        .collect();
    let waiting = new.len() - sendable.len();
    let waiting_patients = owners.len() - enrolled.len();

    let batches: Vec<_> = sendable.chunks(batch_size).collect();
    let mut blocks = Vec::new();
    for (n, batch) in batches.iter().enumerate() {
        let included = chain
            .register_records(account, batch, finalized)
            .map_err(|e| {
                format!(
                    "batch {} of {} ({} records): {e}",
                    n + 1,
                    batches.len(),
                    batch.len()
                )
            })?;
        if !options.json {
            println!(
                "batch {} of {}: {} records in block {}",
                n + 1,
                batches.len(),
                batch.len(),
                included.block_number
            );
        }
        blocks.push(included.block_number);
    }
    let mut summary = format!(
        "{} records in {}: {} already on chain, {} registered",
        all.len(),
        store.display(),
        all.len() - new.len(),
        sendable.len()
    );
    if waiting > 0 {
        let patients = if waiting_patients == 1 {
            "patient"
        } else {
            "patients"
        };
        summary.push_str(&format!(
            "; {waiting} records of {waiting_patients} {patients} not enrolled with {hospital} \
             wait (enrol them, then run this again)"
        ));
    }
    options.print(
        &summary,
        json!({
            "action": "register",
            "records": all.len(),
            "already_on_chain": all.len() - new.len(),
            "registered": sendable.len(),
            "waiting_for_enrolment": waiting,
            "blocks": blocks,
        }),
    );
    Ok(())
}
