//! `medledger fhir …`: the hospital's docking, collection and de-identification
//! (all logic lives in the `medledger-fhir` library; this only parses and prints).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use medledger_fhir::{
    current_year, deidentify_delivery, ingest_folder, k_anonymity_report, AccountId, ConsentGrants,
    DeliveryOptions, FhirServer, IngestOptions, ListingFilter, OwnerMapping, PlainHttp, Profile,
    Purpose, Sale, SinceParameter, StoreKey,
};
use zeroize::Zeroizing;

use crate::CommandResult;

#[derive(Subcommand)]
pub enum FhirCommand {
    /// Fetch resources from a FHIR R4 server (search + paging) into an export folder.
    Fetch(FetchArgs),
    /// Ingest a Bulk Data export folder into the encrypted local store.
    Ingest(IngestArgs),
    /// De-identify the records sellable in a sale into a delivery folder.
    Deidentify(DeidentifyArgs),
    /// k-anonymity report of a delivery folder.
    Report(ReportArgs),
    /// Every problem the last ingest found (kept encrypted in the store), one per line.
    Issues(StoreArgs),
}

#[derive(Args)]
pub struct FetchArgs {
    /// The server's base URL, e.g. https://fhir.hospital.example/r4.
    #[arg(long)]
    server: String,
    /// Read the bearer token from this file (first line). The token is never an argument,
    /// which `ps` would show: set MEDLEDGER_FHIR_TOKEN, give a file, or be asked.
    #[arg(long, conflicts_with = "token_prompt")]
    token_file: Option<PathBuf>,
    /// Ask for the bearer token on the terminal.
    #[arg(long)]
    token_prompt: bool,
    /// Accept a plain-http server on this machine (localhost, 127.0.0.0/8, ::1), e.g. a
    /// local proxy; anything else must be https.
    #[arg(long)]
    allow_loopback_http: bool,
    /// Only resources changed since this FHIR instant.
    #[arg(long)]
    since: Option<String>,
    /// Send `_since` (Bulk Data style) instead of `_lastUpdated=ge`.
    #[arg(long, requires = "since")]
    use_since_parameter: bool,
    /// Resource types to fetch. The default is the patient data of US Core 3.1.1, which every
    /// ONC-certified EHR serves; add MedicationStatement, MedicationAdministration,
    /// MedicationDispense, ServiceRequest, Specimen or FamilyMemberHistory where the server
    /// has them (a type it does not serve fails the fetch).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "Patient,AllergyIntolerance,CarePlan,CareTeam,Condition,Device,DiagnosticReport,DocumentReference,Encounter,Goal,Immunization,MedicationRequest,Observation,Procedure"
    )]
    types: Vec<String>,
    /// Export folder to write (one NDJSON file per type).
    out: PathBuf,
}

#[derive(Args)]
pub struct StoreArgs {
    /// The encrypted store folder.
    #[arg(long)]
    store: PathBuf,
    /// The store key file (64 hex digits).
    #[arg(long)]
    key: PathBuf,
}

#[derive(Args)]
pub struct IngestArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Create the key file if it does not exist yet.
    #[arg(long)]
    create_key: bool,
    /// CSV `patient id,SS58 account`: patients not listed are not collected.
    #[arg(long)]
    owners: PathBuf,
    /// The Bulk Data export folder (*.ndjson, *.ndjson.gz).
    input: PathBuf,
}

#[derive(Args)]
pub struct DeidentifyArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Consent grants (JSON) answering for the chain until it is wired in.
    #[arg(long)]
    grants: PathBuf,
    /// The buyer's account (SS58).
    #[arg(long)]
    buyer: String,
    /// research, public-health, commercial, education or quality-improvement.
    #[arg(long)]
    purpose: String,
    /// Block of the sale.
    #[arg(long)]
    sale_block: u64,
    /// Block of the delivery (consent must still hold then).
    #[arg(long)]
    delivery_block: Option<u64>,
    /// Listing categories (e.g. observation:laboratory); none means all.
    #[arg(long, value_delimiter = ',')]
    categories: Vec<String>,
    /// Records dated on or after (YYYY[-MM[-DD]]).
    #[arg(long)]
    from: Option<String>,
    /// Records dated before (YYYY[-MM[-DD]]).
    #[arg(long)]
    until: Option<String>,
    /// Every delivered patient shares its quasi-identifiers with at least k - 1 others
    /// (default: the profile's k).
    #[arg(long)]
    k: Option<usize>,
    /// Percentage of patients that may be suppressed before birth years and addresses are
    /// generalized further.
    #[arg(long, default_value_t = 5.0)]
    max_suppression_percent: f64,
    /// De-identification profile (TOML); the built-in Safe Harbor profile by default.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Folder to write (must be new or empty).
    out: PathBuf,
}

#[derive(Args)]
pub struct ReportArgs {
    /// A delivery folder.
    delivery: PathBuf,
}

/// The environment variable holding the FHIR server's bearer token.
const TOKEN_VARIABLE: &str = "MEDLEDGER_FHIR_TOKEN";

/// The bearer token from the file, the prompt or the environment (in that order), if any.
fn bearer_token(args: &FetchArgs) -> Result<Option<Zeroizing<String>>, String> {
    let token = if let Some(path) = &args.token_file {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("reading the token file {}: {e}", path.display()))?,
        );
        Zeroizing::new(text.lines().next().unwrap_or_default().trim().to_string())
    } else if args.token_prompt {
        Zeroizing::new(
            rpassword::prompt_password("FHIR bearer token: ")
                .map_err(|e| format!("cannot read the token: {e}"))?,
        )
    } else {
        match std::env::var(TOKEN_VARIABLE) {
            Ok(token) => Zeroizing::new(token),
            Err(_) => return Ok(None),
        }
    };
    if token.trim().is_empty() {
        return Err(
            "the bearer token is empty — check the token file or MEDLEDGER_FHIR_TOKEN".into(),
        );
    }
    Ok(Some(token))
}

pub fn run(command: FhirCommand) -> CommandResult {
    match command {
        FhirCommand::Fetch(args) => {
            let token = bearer_token(&args)?;
            let plain_http = if args.allow_loopback_http {
                PlainHttp::LoopbackAllowed
            } else {
                PlainHttp::Refused
            };
            let mut server = FhirServer::new(&args.server, token, plain_http)?;
            if args.use_since_parameter {
                server.since_parameter = SinceParameter::Since;
            }
            let types: Vec<&str> = args.types.iter().map(String::as_str).collect();
            let report = server.fetch_to_folder(&types, args.since.as_deref(), &args.out)?;
            for (resource_type, count) in &report.resources {
                println!("{resource_type}: {count}");
            }
            println!(
                "{} page(s) fetched into {}",
                report.pages,
                args.out.display()
            );
        }
        FhirCommand::Ingest(args) => {
            let key = if args.create_key && !args.store.key.exists() {
                StoreKey::generate_to_file(&args.store.key)?
            } else {
                StoreKey::from_file(&args.store.key)?
            };
            let owners = OwnerMapping::from_file(&args.owners)?;
            let report = ingest_folder(
                &args.input,
                &args.store.store,
                &key,
                &owners,
                &IngestOptions::default(),
            )?;
            println!(
                "{} lines in {} file(s): {} records of {} patients stored; {} patient(s) without an owner account skipped",
                report.lines, report.files, report.records_stored, report.patients_stored, report.patients_without_owner
            );
            for issue in report.issues.iter().take(20) {
                println!("  {}:{}: {}", issue.file, issue.line, issue.kind);
            }
            if report.issue_count > 0 {
                println!(
                    "{} issue(s); `medledger fhir issues --store {} --key {}` lists them all",
                    report.issue_count,
                    args.store.store.display(),
                    args.store.key.display()
                );
            }
        }
        FhirCommand::Issues(args) => {
            let key = StoreKey::from_file(&args.key)?;
            let mut count = 0u64;
            medledger_fhir::collect::read_issues(&args.store, &key, |issue| {
                count += 1;
                println!("{}:{}: {}", issue.file, issue.line, issue.kind);
            })?;
            eprintln!("{count} issue(s)");
        }
        FhirCommand::Deidentify(args) => {
            let key = StoreKey::from_file(&args.store.key)?;
            let profile = match &args.profile {
                Some(path) => Profile::from_file(path)?,
                None => Profile::safe_harbor()?,
            };
            let sale = Sale {
                buyer: AccountId::from_ss58(&args.buyer)?,
                purpose: args.purpose.parse::<Purpose>()?,
                sale_block: args.sale_block,
                delivery_block: args.delivery_block,
            };
            let filter = ListingFilter {
                categories: args.categories,
                from: args.from,
                until: args.until,
            };
            let oracle = ConsentGrants::from_file(&args.grants)?;
            let options = DeliveryOptions {
                k_threshold: args.k.unwrap_or(profile.default_k),
                max_suppression: args.max_suppression_percent / 100.0,
                as_of_year: current_year(),
            };
            let summary = deidentify_delivery(
                &args.store.store,
                &key,
                &profile,
                &filter,
                &sale,
                &oracle,
                &args.out,
                &options,
            )?;
            let manifest = summary.manifest;
            println!(
                "{} record(s) of {} patient(s) delivered; {} record(s) of {} patient(s) suppressed (k threshold {}), k = {}",
                manifest.records_delivered,
                manifest.patients_delivered,
                manifest.records_suppressed,
                manifest.patients_suppressed,
                manifest.k_threshold,
                manifest.k.map_or("-".to_string(), |k| k.to_string())
            );
            println!(
                "generalized to {}; information loss {:.4}",
                manifest.generalization, manifest.information_loss
            );
            println!(
                "manifest: {}",
                args.out
                    .join(medledger_fhir::delivery::MANIFEST_FILE)
                    .display()
            );
        }
        FhirCommand::Report(args) => {
            let report = k_anonymity_report(&args.delivery)?;
            println!(
                "k = {}",
                report
                    .k
                    .map_or("- (no patients)".to_string(), |k| k.to_string())
            );
            for (class, patients) in &report.classes {
                println!("  {class}: {patients}");
            }
        }
    }
    Ok(())
}
