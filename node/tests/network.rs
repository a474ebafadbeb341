//! Multi-node tests: real `medledger-node` processes (built from this checkout) on 127.0.0.1.

use std::{collections::BTreeSet, process::Command, time::Duration};

use medledger_test_harness::{aura_slot, header_number, wait_until, Network, Node};

const NODE: &str = env!("CARGO_BIN_EXE_medledger-node");
const VALIDATORS: [&str; 4] = ["alice", "bob", "charlie", "dave"];

fn finalized_above(nodes: &[&Node], number: u64) -> Result<Option<()>, String> {
    for node in nodes {
        if node.finalized_number()? <= number {
            return Ok(None);
        }
    }
    Ok(Some(()))
}

/// Authority index (slot mod 4, Aura's round robin) of every block from 1 to `up_to`.
fn block_authors(node: &Node, up_to: u64) -> Result<BTreeSet<u64>, String> {
    let mut authors = BTreeSet::new();
    for number in 1..=up_to {
        let hash = node
            .block_hash(number)?
            .ok_or(format!("no block {number}"))?;
        authors.insert(aura_slot(&node.header(Some(&hash))?)? % VALIDATORS.len() as u64);
    }
    Ok(authors)
}

/// The life of a 4-hospital network: it finalizes with blocks from all four authorities,
/// keeps finalizing with one validator killed, and the killed validator, restarted on its own
/// base path, catches up to the same finalized chain.
#[test]
fn four_validators_finalize_survive_a_crash_and_resync() {
    let mut net = Network::new(NODE);
    net.start_local_validators(&VALIDATORS)
        .expect("the four validators start");

    // 1. Every node's finalized head passes block 5, and all four authorities authored.
    let all: Vec<&Node> = net.nodes().iter().collect();
    wait_until(
        "every node to finalize past block 5",
        Duration::from_secs(180),
        || finalized_above(&all, 5),
    )
    .unwrap();
    let authors = wait_until(
        "blocks from all four authorities",
        Duration::from_secs(120),
        || {
            let finalized = net.node("alice").finalized_number()?;
            let authors = block_authors(net.node("alice"), finalized)?;
            Ok((authors.len() == VALIDATORS.len()).then_some(authors))
        },
    )
    .unwrap();
    assert_eq!(authors, BTreeSet::from([0, 1, 2, 3]));

    // 2. Kill Dave: Alice, Bob and Charlie (3 of 4 > 2/3) keep finalizing.
    let dave_had_hash = net.node("dave").finalized_hash().unwrap();
    let dave_had = header_number(&net.node("dave").header(Some(&dave_had_hash)).unwrap()).unwrap();
    net.node_mut("dave").kill();
    let before = net.node("alice").finalized_number().unwrap();
    let survivors: Vec<&Node> = ["alice", "bob", "charlie"]
        .iter()
        .map(|n| net.node(n))
        .collect();
    wait_until(
        "finality to advance without dave",
        Duration::from_secs(120),
        || finalized_above(&survivors, before + 3),
    )
    .unwrap();

    // 3. Dave restarts on its own base path, catches up and agrees on the finalized chain.
    let target = net.node("alice").finalized_number().unwrap();
    net.node_mut("dave").restart().unwrap();
    // Right after the restart, before it could resync, Dave still has what it had finalized:
    // the first answer of its RPC comes from its own database (a wiped one would say 0).
    let first = wait_until(
        "dave's RPC after the restart",
        Duration::from_secs(60),
        || Ok(net.node("dave").finalized_number().ok()),
    )
    .unwrap();
    assert!(
        first >= dave_had,
        "dave restarted at finalized block {first}, below the {dave_had} it had finalized"
    );
    assert_eq!(
        net.node("dave").block_hash(dave_had).unwrap(),
        Some(dave_had_hash),
        "dave lost its finalized block {dave_had}"
    );
    let dave_finalized = wait_until("dave to catch up", Duration::from_secs(120), || {
        let dave = net.node("dave");
        let n = match dave.finalized_number() {
            Ok(n) => n,
            Err(_) => return Ok(None), // still starting
        };
        Ok((n >= target).then_some(n))
    })
    .unwrap();
    let dave_hash = net.node("dave").finalized_hash().unwrap();
    for name in ["alice", "bob", "charlie"] {
        let theirs = wait_until(
            "the same block on the others",
            Duration::from_secs(30),
            || net.node(name).block_hash(dave_finalized),
        )
        .unwrap();
        assert_eq!(
            theirs, dave_hash,
            "{name} and dave disagree on finalized block {dave_finalized}"
        );
    }
}

/// Runs the node with `args`, expecting it to exit on its own: killed after 60 s (then it
/// reports failure with what it printed).
fn run_node(args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let stderr_path = dir.path().join("stderr");
    let mut child = Command::new(NODE)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("the node binary runs");
    let status = wait_until("the node to exit", Duration::from_secs(60), || {
        Ok(child.try_wait().map_err(|e| e.to_string())?)
    });
    let _ = child.kill();
    let _ = child.wait();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    match status {
        Ok(status) => (status.success(), stderr),
        Err(timeout) => (false, format!("{timeout}\n{stderr}")),
    }
}

#[test]
fn missing_chain_spec_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-spec.json");
    let base = dir.path().join("base");
    let (ok, stderr) = run_node(&[
        "--chain",
        missing.to_str().unwrap(),
        "--base-path",
        base.to_str().unwrap(),
    ]);
    assert!(!ok, "the node must exit non-zero");
    assert!(
        stderr.contains("error:") && stderr.contains("not found"),
        "unclear error: {stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic is not an error message: {stderr}"
    );
}

#[test]
fn corrupt_chain_spec_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("corrupt.json");
    std::fs::write(&spec, b"{\"name\": \"MedLedger\", \"genesis\": {\"raw\": ").unwrap();
    let base = dir.path().join("base");
    let (ok, stderr) = run_node(&[
        "--chain",
        spec.to_str().unwrap(),
        "--base-path",
        base.to_str().unwrap(),
    ]);
    assert!(!ok, "the node must exit non-zero");
    assert!(
        stderr.contains("not a valid chain specification"),
        "unclear error: {stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic is not an error message: {stderr}"
    );
}

#[test]
fn unknown_flag_is_a_clear_error() {
    let (ok, stderr) = run_node(&["--no-such-flag"]);
    assert!(!ok);
    assert!(
        stderr.contains("unexpected argument '--no-such-flag'"),
        "unclear error: {stderr}"
    );
}

/// The package folder as cargo gives it at run time: the binary may have been compiled in
/// another checkout sharing the target directory, and this checkout's files are the ones to
/// check.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || env!("CARGO_MANIFEST_DIR").into(),
        std::path::PathBuf::from,
    )
}

/// Runs `command` to completion; panics with what it printed if it failed.
fn run_ok(command: &mut Command) {
    let out = command.output().expect("the node binary runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `:code`, the runtime wasm, differs between builds on different paths; everything else in the
/// genesis state must match the chain the node builds.
const CODE_KEY: &str = "0x3a636f6465";

fn genesis_without_code(spec: &serde_json::Value) -> serde_json::Value {
    let mut top = spec["genesis"]["raw"]["top"].clone();
    top.as_object_mut()
        .expect("a raw spec has genesis.raw.top")
        .remove(CODE_KEY);
    top
}

#[test]
fn checked_in_local_spec_matches_the_built_in_local_chain() {
    let dir = tempfile::tempdir().unwrap();
    let exported = dir.path().join("local-raw.json");
    run_ok(Command::new(NODE).args([
        "export-chain-spec",
        "--chain",
        "local",
        "--raw",
        "--output",
        exported.to_str().unwrap(),
    ]));
    let read = |p: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let built = read(&exported);
    let checked_in = read(&package_dir().join("../chain-spec/local-raw.json"));
    assert_eq!(
        genesis_without_code(&checked_in),
        genesis_without_code(&built),
        "chain-spec/local-raw.json is stale: run scripts/make-chain-spec.sh"
    );
    for field in ["name", "id", "chainType", "protocolId", "properties"] {
        assert_eq!(checked_in[field], built[field], "{field} differs");
    }
}

/// A validator's JSON-RPC listens on loopback only unless told otherwise. (Which public method
/// sets are accepted: `command::check_rpc_exposure`'s unit test; this suite never binds beyond
/// loopback.)
#[test]
fn validator_rpc_is_loopback_only_by_default() {
    let mut net = Network::new(NODE);
    net.start_local_validators(&["alice"]).unwrap();
    // The log line may reach the file a little after the RPC answers (logging is buffered).
    let alice = net.node("alice");
    let addresses = wait_until(
        "the node to log where its RPC listens",
        Duration::from_secs(30),
        || {
            Ok(alice.log().lines().find_map(|line| {
                line.split("Running JSON-RPC server: addr=")
                    .nth(1)
                    .map(str::to_owned)
            }))
        },
    )
    .unwrap();
    let addresses: Vec<std::net::SocketAddr> = addresses
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(',')
        .split(',')
        .map(|a| a.parse().expect("a socket address"))
        .collect();
    assert!(!addresses.is_empty());
    assert!(
        addresses.iter().all(|a| a.ip().is_loopback()),
        "RPC reachable beyond loopback: {addresses:?}"
    );
}

/// An RPC endpoint on 192.0.2.1 (TEST-NET-1, documentation only): beyond loopback, yet no host
/// has it, so even a node that failed to refuse could not bind there — the tests below cannot
/// open a public port whatever the node does.
fn public_endpoint(methods: &str) -> String {
    let port = medledger_test_harness::free_port();
    format!("listen-addr=192.0.2.1:{port},methods={methods}")
}

/// Runs a node of `chain` with `args` and an RPC endpoint beyond loopback serving `methods`;
/// returns what it printed, after checking that it refused to start before opening RPC.
fn refused_rpc_exposure(args: &[&str], methods: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let endpoint = public_endpoint(methods);
    let mut all = args.to_vec();
    all.extend([
        "--base-path",
        base.to_str().unwrap(),
        "--experimental-rpc-endpoint",
        &endpoint,
        "--no-prometheus",
        "--no-telemetry",
    ]);
    let (ok, stderr) = run_node(&all);
    assert!(!ok, "the node must refuse to start: {stderr}");
    assert!(
        !stderr.contains("Running JSON-RPC server"),
        "RPC was started: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Unsafe methods are never served beyond loopback: not by a validator, not by a plain full
/// node, not on a development chain, even when asked for explicitly.
#[test]
fn unsafe_rpc_beyond_loopback_is_refused_on_every_node() {
    let alice_key = format!("{:064x}", 1);
    for args in [
        &["--chain", "local", "--alice", "--node-key", &alice_key][..],
        &["--chain", "local"][..],
        &["--dev"][..],
    ] {
        let stderr = refused_rpc_exposure(args, "unsafe");
        assert!(
            stderr.contains("error: ")
                && stderr.contains("RPC would serve unsafe methods on 192.0.2.1:")
                && stderr.contains("--rpc-methods safe"),
            "unclear refusal for {args:?}: {stderr}"
        );
    }
}

/// Safe methods go public only when named: the default method set beyond loopback is refused,
/// on a validator and on a regulator's observer alike, with the flag to use.
#[test]
fn public_rpc_needs_the_safe_methods_named() {
    let alice_key = format!("{:064x}", 1);
    let observer_key = format!("{:064x}", 6);
    for args in [
        &["--chain", "local", "--alice", "--node-key", &alice_key][..],
        &[
            "--chain",
            "local",
            "--observer",
            "--node-key",
            &observer_key,
        ][..],
    ] {
        let stderr = refused_rpc_exposure(args, "auto");
        assert!(
            stderr.contains("RPC would listen on 192.0.2.1:")
                && stderr.contains("pass --rpc-methods safe"),
            "unclear refusal for {args:?}: {stderr}"
        );
    }
}

/// The consortium example in `chain-spec/README.md` works as written: its hospital list gives
/// a raw chain spec with the four hospitals' nodes authorised.
#[test]
fn chain_spec_readme_example_writes_a_spec() {
    let readme = std::fs::read_to_string(package_dir().join("../chain-spec/README.md")).unwrap();
    let example = readme
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("chain-spec/README.md has a ```json example");
    let dir = tempfile::tempdir().unwrap();
    let hospitals = dir.path().join("hospitals.json");
    std::fs::write(&hospitals, example).unwrap();
    let spec = dir.path().join("lakeside-raw.json");
    run_ok(
        Command::new(NODE)
            .args(["consortium-spec", "--raw", "--hospitals"])
            .arg(&hospitals)
            .arg("--output")
            .arg(&spec),
    );
    let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(&spec).unwrap()).unwrap();
    assert_eq!(spec["name"], "Lakeside Health Consortium");
    assert_eq!(spec["id"], "lakeside");
    assert!(spec["genesis"]["raw"]["top"]
        .as_object()
        .is_some_and(|top| !top.is_empty()));
}

/// Protocols that would answer whoever asks are refused at start with a reason, before any port
/// opens: warp sync (no node serves warp proofs, so it would only stall) and the Bitswap/IPFS
/// server.
#[test]
fn warp_sync_and_the_ipfs_server_are_refused_with_a_clear_error() {
    for (flags, expected) in [
        (&["--sync", "warp"][..], "warp sync is not available"),
        (&["--ipfs-server"][..], "--ipfs-server is not available"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("base");
        let rpc_port = medledger_test_harness::free_port().to_string();
        let listen = format!("/ip4/127.0.0.1/tcp/{}", medledger_test_harness::free_port());
        let mut args = vec![
            "--chain",
            "local",
            "--base-path",
            base.to_str().unwrap(),
            "--rpc-port",
            &rpc_port,
            "--listen-addr",
            &listen,
            "--no-prometheus",
            "--no-telemetry",
        ];
        args.extend(flags);
        let (ok, stderr) = run_node(&args);
        assert!(!ok, "the node must refuse {flags:?}: {stderr}");
        assert!(
            stderr.contains("error: ") && stderr.contains(expected),
            "unclear refusal of {flags:?}: {stderr}"
        );
        assert!(
            !stderr.contains("Running JSON-RPC server"),
            "RPC was started: {stderr}"
        );
    }
}
