//! The runtime's metadata as `medledger-chain` uses it: the newest stable version the runtime
//! offers, SCALE-encoded with its `meta` prefix (what `state_call Metadata_metadata_at_version`
//! returns inside its `Option`).

#![allow(dead_code)]

use medledger_runtime::Runtime;

pub fn runtime_metadata() -> (u32, Vec<u8>) {
    // Constants kept in storage (`DeliveryPeriod`) are read: empty storage gives their defaults.
    sp_io::TestExternalities::default().execute_with(metadata_of_runtime)
}

fn metadata_of_runtime() -> (u32, Vec<u8>) {
    let version = Runtime::metadata_versions()
        .into_iter()
        .filter(|v| *v != u32::MAX)
        .max()
        .expect("the runtime offers a stable metadata version");
    let metadata = Runtime::metadata_at_version(version).expect("an offered version");
    (version, metadata.to_vec())
}
