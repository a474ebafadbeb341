//! `medledger patient …`: a data owner's path — enrolment (signed here, submitted by the
//! hospital) and its end, records and their erasure, consents, earnings and claims. By default the patient uses another account at
//! each hospital, derived from one secret as `<secret>//medledger//<hospital>`, so hospitals'
//! patient lists cannot be joined through the chain.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use medledger_chain::{
    parse_account, patient_path, Account, AccountId, Chain, ConsentScope, Coverage, OrderInfo,
    Purpose, RecordInfo,
};
use serde_json::{json, Value};

use crate::chain_options::{med, ChainOptions, KeyOptions};
use crate::CommandResult;

#[derive(Args)]
pub struct PatientArgs {
    #[command(flatten)]
    chain: ChainOptions,
    #[command(flatten)]
    key: KeyOptions,
    /// Use the secret's own account at every hospital instead of one derived per hospital.
    #[arg(long, global = true)]
    same_account: bool,
    #[command(subcommand)]
    command: PatientCommand,
}

#[derive(Subcommand)]
enum PatientCommand {
    /// Your account at HOSPITAL (what the hospital lists in its owners.csv).
    Account { hospital: String },
    /// Sign your enrolment with HOSPITAL; hand the request file to the hospital, which
    /// submits it with `medledger hospital enrol` (you need no funds).
    Enrol {
        hospital: String,
        /// Blocks the signature stays valid (at most what the chain allows).
        #[arg(long, default_value_t = 600)]
        valid_for: u32,
        /// Write the request here (else print it).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Consents to use your records at a hospital.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// What you earned from sales of your records: claimable now and claimed so far.
    Earnings { hospital: String },
    /// The delivered sales of HOSPITAL that your consents covered, judged by the chain at each
    /// sale's block: which consent, how many of your records. Whether your records went into
    /// a delivery is in the hospital's delivery opening, which a regulator can audit.
    Sales {
        hospital: String,
        /// The hospital node's delivery endpoint, to name category consents (default: the one
        /// it registered on chain).
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
    },
    /// Your records registered at HOSPITAL: id, registration block, erasure status.
    Records { hospital: String },
    /// Ask HOSPITAL to erase one of your records (its id, as `records` shows it): it is no
    /// longer sold from the block that includes this, and the hospital deletes its copy.
    Erase { hospital: String, record: String },
    /// End your enrolment with HOSPITAL: it can register no more records of yours.
    EndEnrolment { hospital: String },
    /// Fetch your payout claims from the hospital's node and submit each not yet claimed.
    Claim {
        hospital: String,
        /// Another endpoint than the hospital's delivery endpoint on chain.
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
    },
}

#[derive(Subcommand)]
enum ConsentCommand {
    /// Consent to your records at HOSPITAL (all of them, one category's, or one record) being
    /// used for PURPOSE.
    Grant {
        hospital: String,
        /// Only this record (its id, as `medledger patient records` shows it).
        #[arg(long, value_name = "0xRECORD", conflicts_with = "category")]
        record: Option<String>,
        /// Only your records of this category, e.g. `observation:laboratory` or `condition`:
        /// the chain gets a tag salted with your secret salt at the hospital (fetched from
        /// its node), so nobody else can tell which category it is.
        #[arg(long, value_name = "CODE")]
        category: Option<String>,
        /// The hospital node's delivery endpoint (default: the one it registered on chain).
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// research, public-health, commercial, quality-improvement or education.
        #[arg(long)]
        purpose: Purpose,
        /// Only this buyer's account (else anyone).
        #[arg(long, value_name = "ADDRESS")]
        grantee: Option<String>,
        /// The consent ends at this block.
        #[arg(long, value_name = "BLOCK")]
        expires_at: Option<u32>,
    },
    /// End a consent: from the block that includes this on, it covers no sale.
    Revoke { hospital: String, id: u64 },
    /// Your consents at HOSPITAL; category consents are named when the hospital's node tells
    /// you your salt.
    List {
        hospital: String,
        /// The hospital node's delivery endpoint (default: the one it registered on chain).
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
    },
}

impl PatientArgs {
    /// The patient's account at `hospital`.
    fn account_at(&self, hospital: &AccountId) -> Result<Account, String> {
        if self.same_account {
            self.key.account("patient")
        } else {
            self.key.derived_account("patient", &patient_path(hospital))
        }
    }

    /// The key of [`Self::account_at`], for signing requests to the hospital's node.
    fn signer_at(&self, hospital: &AccountId) -> Result<sp_core::sr25519::Pair, String> {
        let secret = self.key.secret("patient")?;
        let secret = if self.same_account {
            secret
        } else {
            zeroize::Zeroizing::new(format!("{}{}", secret.as_str(), patient_path(hospital)))
        };
        <sp_core::sr25519::Pair as sp_core::Pair>::from_string(&secret, None)
            .map_err(|e| format!("the account secret is not a valid sr25519 secret: {e:?}"))
    }

    /// Your category salt at `hospital`, from its node at `endpoint`.
    fn category_salt(
        &self,
        hospital: &AccountId,
        endpoint: &str,
    ) -> Result<medledger_fhir::CategorySalt, String> {
        let signer = self.signer_at(hospital)?;
        medledger_delivery_http::fetch_category_salt(endpoint, &signer)
            .map(medledger_fhir::CategorySalt)
            .map_err(|e| format!("your category salt at {hospital}: {e}"))
    }
}

/// One consent's part in a sale: how many of the owner's records it covered there.
struct ConsentUse {
    consent: u64,
    records: u32,
    /// `None` if it covered them outright; else the consent's category (named, or its tag),
    /// and it covered them only if they are of that category.
    category: Option<String>,
}

/// For each delivered sale of `hospital`, the consents of `owner` that covered the owner's
/// records there at the sale's block (`ConsentApi.consent_covers`); sales no consent covered
/// are left out. `name_tag` names a category consent's tag.
fn covered_sales(
    chain: &Chain,
    owner: &AccountId,
    hospital: &AccountId,
    mut name_tag: impl FnMut(&[u8; 32]) -> String,
) -> Result<Vec<(OrderInfo, Vec<ConsentUse>)>, Box<dyn std::error::Error>> {
    let records: Vec<RecordInfo> = chain
        .records_of(owner)?
        .into_iter()
        .filter(|r| r.custodian == *hospital)
        .collect();
    let mut sales = Vec::new();
    for order in chain.orders()? {
        let Some(sale_block) = order.receipt.as_ref().map(|r| r.sale_block) else {
            continue;
        };
        if order.custodian != *hospital {
            continue;
        }
        let mut uses: Vec<ConsentUse> = Vec::new();
        let mut count = |consent: u64, category: Option<String>| match uses
            .iter_mut()
            .find(|u| u.consent == consent)
        {
            Some(entry) => entry.records += 1,
            None => uses.push(ConsentUse {
                consent,
                records: 1,
                category,
            }),
        };
        for record in records.iter().filter(|r| r.registered_at <= sale_block) {
            match chain.consent_covers(owner, record.id, order.purpose, &order.buyer, sale_block)? {
                Coverage::Covered { consent } => count(consent, None),
                Coverage::IfInCategory(consents) => {
                    for (consent, tag) in consents {
                        count(consent, Some(name_tag(&tag)));
                    }
                }
                Coverage::NotCovered => {}
            }
        }
        if !uses.is_empty() {
            uses.sort_by_key(|u| u.consent);
            sales.push((order, uses));
        }
    }
    Ok(sales)
}

/// `given`, else the delivery endpoint `hospital` registered on chain.
fn hospital_endpoint(
    chain: &medledger_chain::Chain,
    hospital: &AccountId,
    given: &Option<String>,
) -> Result<String, String> {
    match given {
        Some(endpoint) => Ok(endpoint.clone()),
        None => Ok(chain
            .hospital(hospital)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{hospital} is no member hospital; pass --endpoint"))?
            .1),
    }
}

pub fn run(args: PatientArgs) -> CommandResult {
    let options = &args.chain;
    let finalized = args.key.finalized();
    match &args.command {
        PatientCommand::Account { hospital } => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            options.print(
                &format!("your account at {hospital}: {}", account.account_id()),
                json!({"hospital": hospital.to_string(), "account": account.account_id().to_string()}),
            );
        }
        PatientCommand::Enrol {
            hospital,
            valid_for,
            out,
        } => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let chain = options.connect()?;
            let request = chain.sign_enrolment(&account, &hospital, *valid_for)?;
            let value = json!({
                "hospital": request.hospital.to_string(),
                "patient": request.patient.to_string(),
                "valid_until": request.valid_until,
                "signature": format!("0x{}", hex::encode(request.signature)),
            });
            match out {
                Some(path) => {
                    std::fs::write(path, format!("{value}\n"))
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    options.print(
                        &format!(
                            "enrolment of {} with {hospital}, valid until block {}, written to \
                             {}: hand it to the hospital (`medledger hospital enrol {}`)",
                            request.patient,
                            request.valid_until,
                            path.display(),
                            path.display()
                        ),
                        value,
                    );
                }
                None => println!("{value}"),
            }
        }
        PatientCommand::Consent(ConsentCommand::Grant {
            hospital,
            record,
            category,
            endpoint,
            purpose,
            grantee,
            expires_at,
        }) => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let grantee = grantee.as_deref().map(parse_account).transpose()?;
            let chain = options.connect()?;
            let (scope, records) = match (record, category) {
                (Some(record), _) => {
                    let id = hash32(record)?;
                    // Checked first: a grant the chain refuses is not free.
                    let info = chain
                        .record(id)?
                        .ok_or_else(|| format!("no record {record} is registered on chain"))?;
                    if info.owner != account.account_id() || info.custodian != hospital {
                        return Err(format!(
                            "record {record} is not one of yours at {hospital} (see `medledger \
                             patient records {hospital}`)"
                        )
                        .into());
                    }
                    (ConsentScope::Record(id), format!("record {record}"))
                }
                (None, None) => (ConsentScope::All, "all records".to_string()),
                (None, Some(code)) => {
                    let code = code.trim().to_ascii_lowercase();
                    if code.is_empty() {
                        return Err("--category needs a category code, e.g. condition".into());
                    }
                    let endpoint = hospital_endpoint(&chain, &hospital, endpoint)?;
                    let salt = args.category_salt(&hospital, &endpoint)?;
                    (
                        ConsentScope::Category(medledger_fhir::category_tag(&salt, &code)),
                        format!("records of category {code}"),
                    )
                }
            };
            let (included, id) = chain.grant_consent(
                &account,
                scope,
                *purpose,
                grantee.clone(),
                *expires_at,
                finalized,
            )?;
            options.print_tx(
                &format!(
                    "consent {id}: {records} of {} for {purpose} by {}",
                    account.account_id(),
                    grantee.map_or("anyone".to_string(), |g| g.to_string())
                ),
                &included,
                json!({"action": "consent-grant", "consent": id, "owner": account.account_id().to_string(), "purpose": purpose.name(), "scope": scope.to_string()}),
            );
        }
        PatientCommand::Consent(ConsentCommand::Revoke { hospital, id }) => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let chain = options.connect()?;
            let included = chain.revoke_consent(&account, *id, finalized)?;
            options.print_tx(
                &format!("consent {id} revoked"),
                &included,
                json!({"action": "consent-revoke", "consent": id}),
            );
        }
        PatientCommand::Consent(ConsentCommand::List { hospital, endpoint }) => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let chain = options.connect()?;
            let consents = chain.consents_of(&account.account_id())?;
            // Category consents are tags: name them with the salt, if the hospital's node
            // answers (else they are shown as tags).
            let codes = medledger_fhir::common_category_codes();
            let salt = if consents
                .iter()
                .any(|c| matches!(c.scope, ConsentScope::Category(_)))
            {
                hospital_endpoint(&chain, &hospital, endpoint)
                    .and_then(|endpoint| args.category_salt(&hospital, &endpoint))
                    .inspect_err(|e| eprintln!("categories are shown as tags: {e}"))
                    .ok()
            } else {
                None
            };
            let scope_of = |scope: &ConsentScope| match (scope, &salt) {
                (ConsentScope::Category(tag), Some(salt)) => {
                    match medledger_fhir::category_of_tag(salt, tag, &codes) {
                        Some(code) => format!("category {code}"),
                        None => format!("{scope} (not a common category)"),
                    }
                }
                _ => scope.to_string(),
            };
            if options.json {
                let list: Vec<Value> = consents
                    .iter()
                    .map(|c| {
                        json!({"id": c.id, "scope": scope_of(&c.scope), "purpose": c.purpose.name(),
                               "grantee": c.grantee, "granted_at": c.granted_at,
                               "expires_at": c.expires_at, "revoked_at": c.revoked_at})
                    })
                    .collect();
                println!("{}", Value::Array(list));
            } else if consents.is_empty() {
                println!("{} has no consents", account.account_id());
            } else {
                for c in &consents {
                    let mut line = format!(
                        "consent {}: {} records for {} by {}, granted at block {}",
                        c.id,
                        scope_of(&c.scope),
                        c.purpose,
                        c.grantee,
                        c.granted_at
                    );
                    if let Some(block) = c.expires_at {
                        line.push_str(&format!(", expires at block {block}"));
                    }
                    if let Some(block) = c.revoked_at {
                        line.push_str(&format!(", revoked at block {block}"));
                    }
                    println!("{line}");
                }
            }
        }
        PatientCommand::Earnings { hospital } => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let chain = options.connect()?;
            let (claimable, claimed) = chain.earnings(&account.account_id())?;
            options.print(
                &format!(
                    "{}: {} claimable, {} claimed (unclaimed payouts: `medledger patient claim {hospital}`)",
                    account.account_id(),
                    med(claimable),
                    med(claimed)
                ),
                json!({"account": account.account_id().to_string(), "claimable": claimable.to_string(), "claimed": claimed.to_string()}),
            );
        }
        PatientCommand::Sales { hospital, endpoint } => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let me = account.account_id();
            let chain = options.connect()?;
            // Category consents are salted tags: named with the salt, fetched once if needed.
            let codes = medledger_fhir::common_category_codes();
            let mut salt: Option<Option<medledger_fhir::CategorySalt>> = None;
            let sales = covered_sales(&chain, &me, &hospital, |tag| {
                let salt = salt.get_or_insert_with(|| {
                    hospital_endpoint(&chain, &hospital, endpoint)
                        .and_then(|endpoint| args.category_salt(&hospital, &endpoint))
                        .inspect_err(|e| eprintln!("categories are shown as tags: {e}"))
                        .ok()
                });
                salt.as_ref()
                    .and_then(|salt| medledger_fhir::category_of_tag(salt, tag, &codes))
                    .map_or_else(|| format!("tag 0x{}", hex::encode(tag)), str::to_string)
            })?;
            if options.json {
                let list: Vec<Value> = sales
                    .iter()
                    .map(|(order, uses)| {
                        let receipt = order.receipt.as_ref().expect("only delivered sales");
                        json!({
                            "order": order.id,
                            "buyer": order.buyer.to_string(),
                            "purpose": order.purpose.name(),
                            "sale_block": receipt.sale_block,
                            "records_delivered": receipt.record_count,
                            "state": order.state.name(),
                            "consents": uses.iter().map(|u| json!({
                                "consent": u.consent,
                                "records": u.records,
                                "if_category": u.category,
                            })).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                println!("{}", Value::Array(list));
            } else if sales.is_empty() {
                println!("none of your consents at {hospital} has covered a delivered sale");
            } else {
                for (order, uses) in &sales {
                    let receipt = order.receipt.as_ref().expect("only delivered sales");
                    println!(
                        "order {} for {} by {}, sold at block {} ({} records delivered, {}):",
                        order.id,
                        order.purpose,
                        order.buyer,
                        receipt.sale_block,
                        receipt.record_count,
                        order.state
                    );
                    for u in uses {
                        let records = if u.records == 1 { "record" } else { "records" };
                        match &u.category {
                            None => println!(
                                "  consent {} covered {} of your {records}",
                                u.consent, u.records
                            ),
                            Some(category) => println!(
                                "  consent {} covered {} of your {records} if of category {category}",
                                u.consent, u.records
                            ),
                        }
                    }
                }
                println!(
                    "which of your records went into a delivery is in the hospital's delivery \
                     opening, which a regulator can check (`medledger regulator audit verify`)"
                );
            }
        }
        PatientCommand::Records { hospital } => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let chain = options.connect()?;
            let records: Vec<RecordInfo> = chain
                .records_of(&account.account_id())?
                .into_iter()
                .filter(|r| r.custodian == hospital)
                .collect();
            if options.json {
                let list: Vec<Value> = records
                    .iter()
                    .map(|r| {
                        json!({"record": format!("0x{}", hex::encode(r.id)),
                               "registered_at": r.registered_at, "status": r.status})
                    })
                    .collect();
                println!("{}", Value::Array(list));
            } else if records.is_empty() {
                println!("{} has no records at {hospital}", account.account_id());
            } else {
                for r in &records {
                    println!(
                        "record 0x{}: registered at block {}, {}",
                        hex::encode(r.id),
                        r.registered_at,
                        r.status
                    );
                }
            }
        }
        PatientCommand::Erase { hospital, record } => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let id = hash32(record)?;
            let chain = options.connect()?;
            // Checked first: a request the chain refuses is not free.
            let info = chain
                .record(id)?
                .ok_or_else(|| format!("no record {record} is registered on chain"))?;
            let me = account.account_id();
            if info.owner != me {
                return Err(format!(
                    "record {record} is not yours: your account at {hospital} is {me}, and the \
                     record is registered to another owner"
                )
                .into());
            }
            if info.custodian != hospital {
                return Err(format!(
                    "record {record} is held by {}, not by {hospital}",
                    info.custodian
                )
                .into());
            }
            if info.status != "active" {
                return Err(format!(
                    "record {record}: erasure was requested already ({})",
                    info.status
                )
                .into());
            }
            let included = chain.request_erasure(&account, id, finalized)?;
            options.print_tx(
                &format!("erasure of record {record} requested from {hospital}"),
                &included,
                json!({"action": "erase", "record": record, "hospital": hospital.to_string()}),
            );
        }
        PatientCommand::EndEnrolment { hospital } => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let chain = options.connect()?;
            let me = account.account_id();
            // Checked first: a call the chain refuses is not free.
            if !chain
                .enrolments_of(&me)?
                .iter()
                .any(|(h, _)| *h == hospital)
            {
                return Err(format!("{me} is not enrolled with {hospital}").into());
            }
            let included = chain.end_enrolment(&account, &me, &hospital, finalized)?;
            options.print_tx(
                &format!("enrolment of {me} with {hospital} ended"),
                &included,
                json!({"action": "end-enrolment", "patient": me.to_string(), "hospital": hospital.to_string()}),
            );
        }
        PatientCommand::Claim { hospital, endpoint } => {
            let hospital = parse_account(hospital)?;
            let account = args.account_at(&hospital)?;
            let chain = options.connect()?;
            let endpoint = hospital_endpoint(&chain, &hospital, endpoint)?;
            let signer = args.signer_at(&hospital)?;
            let claims = medledger_delivery_http::fetch_payouts(&endpoint, &signer)?;
            for claim in &claims {
                let earned: u128 = claim.amount.parse().map_err(|_| "bad claim amount")?;
                let payout = medledger_chain::PayoutClaim {
                    custodian: account_of(&claim.custodian)?,
                    epoch: claim.epoch,
                    index: claim.index,
                    owner: account_of(&claim.owner)?,
                    amount: earned,
                    salt: hash32(&claim.salt)?,
                    proof: claim
                        .proof
                        .iter()
                        .map(|p| hash32(p))
                        .collect::<Result<Vec<_>, _>>()?,
                };
                // Checked first: a claim that would fail is not free, and the hospital's node
                // may hand out the leaf of a root it has not committed yet.
                let outcome = match chain.verify_claim(&payout) {
                    Ok(_) => chain.claim(&account, &payout, finalized),
                    Err(e) if e.dispatch_error() == Some("NoSuchRoot") => {
                        return Err(format!(
                            "the hospital's payout root of epoch {} is not on chain yet: try again in a few blocks",
                            claim.epoch
                        )
                        .into())
                    }
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(included) => {
                        options.print_tx(
                            &format!(
                                "claimed everything not yet claimed of {} earned up to epoch {}",
                                med(earned),
                                claim.epoch
                            ),
                            &included,
                            json!({"action": "claim", "epoch": claim.epoch, "earned": claim.amount}),
                        );
                    }
                    Err(e) if e.dispatch_error() == Some("NothingToClaim") => {
                        if !options.json {
                            println!(
                                "nothing to claim: the {} earned up to epoch {} are claimed already",
                                med(earned),
                                claim.epoch
                            );
                        }
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if claims.is_empty() && !options.json {
                println!("{endpoint} holds no payout for {}", account.account_id());
            }
        }
    }
    Ok(())
}

/// An account given as SS58 or as 0x-hex of its 32 bytes.
fn account_of(text: &str) -> Result<AccountId, String> {
    if text.starts_with("0x") {
        Ok(AccountId::from(hash32(text)?))
    } else {
        parse_account(text).map_err(|e| e.to_string())
    }
}

fn hash32(text: &str) -> Result<[u8; 32], String> {
    hex::decode(text.trim_start_matches("0x"))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("'{text}' is not 32 bytes of hex"))
}
