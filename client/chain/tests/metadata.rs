//! The checked-in `metadata.scale`, from which the client's code is generated, must be the
//! runtime's: when a pallet's calls, storage, events or runtime APIs change, this fails until
//! `scripts/chain-metadata.sh` is run and the client updated to the new shapes.

mod support;

#[test]
fn checked_in_metadata_is_the_runtimes() {
    let (version, runtime) = support::runtime_metadata();
    let checked_in = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/metadata.scale"))
        .expect("client/chain/metadata.scale is checked in");
    assert!(
        checked_in == runtime,
        "client/chain/metadata.scale ({} bytes) is not the runtime's metadata v{version} ({} \
         bytes): run scripts/chain-metadata.sh, rebuild, and update client/chain/src/runtime.rs \
         where the generated code no longer compiles",
        checked_in.len(),
        runtime.len()
    );
}
