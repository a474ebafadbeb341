//! `medledger`: the MedLedger command line. One module per command group; this file
//! only parses and dispatches.

mod buyer;
mod chain_options;
mod digest_record;
mod envelope;
mod fetch;
mod fhir;
mod hospital;
mod interrupt;
mod patient;
mod progress;
mod regulator;
mod token;
mod token_options;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A command's failure, printed as `error: …` (its `Display`, never a debug dump).
pub type CommandResult = Result<(), Box<dyn std::error::Error>>;

#[derive(Parser)]
#[command(
    name = "medledger",
    version,
    about = "MedLedger: consented medical data exchange"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The buyer's hardware token: create and show the delivery key.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Seal a file to a buyer's delivery key.
    Seal(envelope::SealArgs),
    /// Open a sealed file with the token holding the delivery key.
    Open(envelope::OpenArgs),
    /// Download an order's sealed delivery from the custodian (buyer's account signs).
    Fetch(fetch::FetchArgs),
    /// A data owner's payout claims at a custodian (owner's account signs the request).
    Payouts(fetch::PayoutsArgs),
    /// Buyer on chain: listings, delivery key, buy, orders, fetch, get (all in one),
    /// confirm/dispute/refund.
    Buyer(buyer::BuyerArgs),
    /// Patient on chain: account per hospital, enrolment and its end, records and erasure,
    /// consents, earnings, claims.
    Patient(patient::PatientArgs),
    /// Hospital on chain: patients' enrolments, listings, consortium proposals and votes.
    Hospital(hospital::HospitalArgs),
    /// Regulator: audit trails from an observer node; openings and payout books checked.
    Regulator(regulator::RegulatorArgs),
    /// Hospital side: FHIR docking, collection and de-identification.
    #[command(subcommand)]
    Fhir(fhir::FhirCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Token(command) => token::run(command),
        Command::Seal(args) => envelope::seal(args),
        Command::Open(args) => envelope::open(args),
        Command::Fetch(args) => fetch::fetch(args),
        Command::Payouts(args) => fetch::payouts(args),
        Command::Fhir(command) => fhir::run(command),
        Command::Buyer(args) => buyer::run(args),
        Command::Patient(args) => patient::run(args),
        Command::Hospital(args) => hospital::run(args),
        Command::Regulator(args) => regulator::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
