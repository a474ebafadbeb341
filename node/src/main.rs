//! `medledger-node`: a hospital's validator, or a regulator's observer, on the MedLedger chain.

mod audit;
mod chain_spec;
mod cli;
mod command;
mod delivery;
mod hospital;
mod network;
mod observer;
mod peer_guard;
mod rpc;
mod rpc_client;
mod service;

fn main() {
    if let Err(error) = command::run() {
        // sc-cli errors carry their own context ("Invalid input: …"); print them as a sentence,
        // never as a debug dump.
        eprintln!("error: {error}");
        std::process::exit(1);
    }
}
