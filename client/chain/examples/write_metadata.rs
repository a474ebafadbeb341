//! Writes the runtime's metadata, from which `medledger-chain` generates its code, to
//! `client/chain/metadata.scale` (or the path given). Run after every change to the runtime's
//! calls, storage, events or runtime APIs: `scripts/chain-metadata.sh`.

use medledger_chain_metadata_check::runtime_metadata;

#[path = "../tests/support/mod.rs"]
mod medledger_chain_metadata_check;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/metadata.scale").to_string());
    let (version, bytes) = runtime_metadata();
    std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    println!(
        "wrote metadata v{version} ({} bytes) to {path}",
        bytes.len()
    );
}
