//! A multi-node test harness: starts `medledger-node` processes on 127.0.0.1 with free ports and
//! temporary base paths, waits for conditions over JSON-RPC with timeouts, and always kills what
//! it started. When a test fails, the nodes' logs are kept and their location printed.
//!
//! ```no_run
//! # use medledger_test_harness::*;
//! // In an integration test of the node package: env!("CARGO_BIN_EXE_medledger-node").
//! let mut net = Network::new("target/debug/medledger-node");
//! net.start_local_validators(&["alice", "bob", "charlie", "dave"]).unwrap();
//! wait_until("finality", std::time::Duration::from_secs(120), || {
//!     Ok(net.nodes().iter().all(|n| n.finalized_number().unwrap_or(0) > 5).then_some(()))
//! }).unwrap();
//! ```

use std::{
    fs::File,
    io::Read,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{json, Value};

pub type Error = String;
pub type Result<T> = std::result::Result<T, Error>;

/// The ports test nodes use: below Linux's ephemeral range (32768 and up), so an outgoing
/// connection of any process cannot take one between the moment it is chosen and the moment the
/// node binds it (an ephemeral port "free a moment ago" could be).
const TEST_PORTS: std::ops::Range<u32> = 20_000..32_000;

/// A port on 127.0.0.1 for a test node, free when chosen. Within one test process (tests run
/// in parallel threads) no port is handed out twice: ports are taken in turn from a counter.
/// Each process starts at an offset drawn from its process id, so test runs that share the
/// machine start far apart.
pub fn free_port() -> u16 {
    static NEXT: std::sync::Mutex<Option<u32>> = std::sync::Mutex::new(None);
    let span = TEST_PORTS.end - TEST_PORTS.start;
    let mut next = NEXT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let start = *next.get_or_insert(std::process::id().wrapping_mul(7919) % span);
    for step in 0..span {
        let offset = (start + step) % span;
        let port = (TEST_PORTS.start + offset) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            *next = Some((offset + 1) % span);
            return port;
        }
    }
    panic!("no free loopback port in {TEST_PORTS:?}")
}

/// Polls `probe` every 250 ms until it yields `Some`, or fails after `timeout` with the last
/// error seen, so a test never hangs.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("condition not met");
    loop {
        match probe() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last = e,
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "timed out after {timeout:?} waiting for {what}: {last}"
            ));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// One node process and the ports and folders it uses.
pub struct Node {
    pub name: String,
    pub rpc_port: u16,
    pub p2p_port: u16,
    /// The HTTP delivery endpoint's port (a hospital's validator serves sealed deliveries).
    pub delivery_port: u16,
    pub base_path: PathBuf,
    pub log_path: PathBuf,
    args: Vec<String>,
    /// Extra environment of the process (e.g. a fault to inject); applies at the next start.
    pub env: Vec<(String, String)>,
    binary: PathBuf,
    child: Option<Child>,
    restarts: u32,
}

impl Node {
    fn spawn(&mut self) -> Result<()> {
        let log_name = format!("{}.{}.log", self.name, self.restarts);
        self.log_path = self
            .base_path
            .parent()
            .unwrap_or(&self.base_path)
            .join(log_name);
        let log = File::create(&self.log_path).map_err(|e| format!("create log: {e}"))?;
        let child = Command::new(&self.binary)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// The operating-system process id, while the node runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Peak resident memory of the running process, in KiB (`VmHWM` in /proc).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// Kills the process (SIGKILL: no clean shutdown, as a crash or power loss would be).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the process again on the same base path, ports and flags.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        self.restarts += 1;
        self.spawn()
    }

    /// The delivery endpoint's URL (what the hospital publishes as its `delivery_endpoint`).
    pub fn delivery_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.delivery_port)
    }

    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    /// A JSON-RPC call; an RPC error object becomes `Err`.
    pub fn rpc(&self, method: &str, params: Value) -> Result<Value> {
        let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let response: Value = ureq::post(&self.rpc_url())
            .timeout(Duration::from_secs(10))
            .send_json(request)
            .map_err(|e| format!("{} {method}: {e}", self.name))?
            .into_json()
            .map_err(|e| format!("{} {method}: bad JSON: {e}", self.name))?;
        if let Some(error) = response.get("error") {
            return Err(format!("{} {method}: {error}", self.name));
        }
        Ok(response.get("result").cloned().unwrap_or(Value::Null))
    }

    /// The libp2p peer id (`system_localPeerId`).
    pub fn peer_id(&self) -> Result<String> {
        self.rpc("system_localPeerId", json!([]))?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "peer id is not a string".into())
    }

    /// `/ip4/127.0.0.1/tcp/PORT/p2p/PEER_ID`, for `--bootnodes`.
    pub fn multiaddr(&self) -> Result<String> {
        Ok(format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            self.p2p_port,
            self.peer_id()?
        ))
    }

    pub fn header(&self, hash: Option<&str>) -> Result<Value> {
        let params = match hash {
            Some(h) => json!([h]),
            None => json!([]),
        };
        self.rpc("chain_getHeader", params)
    }

    pub fn best_number(&self) -> Result<u64> {
        header_number(&self.header(None)?)
    }

    pub fn finalized_hash(&self) -> Result<String> {
        self.rpc("chain_getFinalizedHead", json!([]))?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "finalized head is not a string".into())
    }

    pub fn finalized_number(&self) -> Result<u64> {
        let hash = self.finalized_hash()?;
        header_number(&self.header(Some(&hash))?)
    }

    /// The hash of the block at `number` on this node's best chain, if it has it.
    pub fn block_hash(&self, number: u64) -> Result<Option<String>> {
        Ok(self
            .rpc("chain_getBlockHash", json!([number]))?
            .as_str()
            .map(str::to_owned))
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = File::open(&self.log_path) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Block number of a `chain_getHeader` result (a hex string).
pub fn header_number(header: &Value) -> Result<u64> {
    let hex = header["number"].as_str().ok_or("header has no number")?;
    u64::from_str_radix(hex.trim_start_matches("0x"), 16).map_err(|e| e.to_string())
}

/// The Aura slot a block was authored in, from its pre-runtime digest.
pub fn aura_slot(header: &Value) -> Result<u64> {
    let logs = header["digest"]["logs"]
        .as_array()
        .ok_or("header has no digest")?;
    for log in logs {
        let bytes = decode_hex(log.as_str().ok_or("digest item is not a string")?)?;
        // PreRuntime digest: 0x06, engine id b"aura", compact length (8 → 0x20), slot as u64 LE.
        if bytes.len() == 14 && bytes[0] == 6 && &bytes[1..5] == b"aura" && bytes[5] == 0x20 {
            let mut slot = [0u8; 8];
            slot.copy_from_slice(&bytes[6..14]);
            return Ok(u64::from_le_bytes(slot));
        }
    }
    Err("header has no Aura pre-runtime digest".into())
}

pub fn decode_hex(s: &str) -> Result<Vec<u8>> {
    let s = s.trim_start_matches("0x");
    if s.len() % 2 != 0 {
        return Err(format!("odd-length hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|e| e.to_string()))
        .collect()
}

/// A set of nodes sharing one temporary folder. Dropping it kills every node; if the thread is
/// panicking (a failed test), the folder with all logs is kept and its path printed.
pub struct Network {
    binary: PathBuf,
    dir: Option<tempfile::TempDir>,
    nodes: Vec<Node>,
}

impl Network {
    pub fn new(binary: impl AsRef<Path>) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("medledger-net-")
            .tempdir()
            .expect("a temporary folder for the test network");
        Self {
            binary: binary.as_ref().to_owned(),
            dir: Some(dir),
            nodes: Vec::new(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map(|d| d.path())
            .expect("the folder lives as long as the network")
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, name: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .expect("a node of that name was started")
    }

    pub fn node_mut(&mut self, name: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .expect("a node of that name was started")
    }

    /// Starts a node named `name` with `args` plus loopback-only networking, free ports and
    /// its own base path. Every node already running is its bootnode.
    pub fn start_node(&mut self, name: &str, args: &[&str]) -> Result<&Node> {
        self.start_node_with_env(name, args, &[])
    }

    /// Like [`Self::start_node`], with extra environment variables for the process.
    pub fn start_node_with_env(
        &mut self,
        name: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<&Node> {
        let base_path = self.dir().join(name);
        let rpc_port = free_port();
        let p2p_port = free_port();
        let delivery_port = free_port();
        let mut full_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        full_args.extend(
            [
                "--base-path",
                &base_path.to_string_lossy(),
                "--name",
                name,
                "--listen-addr",
                &format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
                "--rpc-port",
                &rpc_port.to_string(),
                "--delivery-listen",
                &format!("127.0.0.1:{delivery_port}"),
                "--no-prometheus",
                "--no-telemetry",
                "--no-mdns",
            ]
            .map(String::from),
        );
        for running in self.nodes.iter_mut().filter(|n| n.child.is_some()) {
            if let Ok(bootnode) = running.multiaddr() {
                full_args.extend(["--bootnodes".to_string(), bootnode]);
            }
        }
        let mut node = Node {
            name: name.to_string(),
            rpc_port,
            p2p_port,
            delivery_port,
            base_path,
            log_path: PathBuf::new(),
            args: full_args,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            binary: self.binary.clone(),
            child: None,
            restarts: 0,
        };
        node.spawn()?;
        self.nodes.push(node);
        let node = self.nodes.last_mut().expect("just pushed");
        wait_until(&format!("{name}'s RPC"), Duration::from_secs(90), || {
            if !node.is_running() {
                return Err(format!("{name} exited: {}", node.log()));
            }
            Ok(node.rpc("system_health", json!([])).ok())
        })?;
        Ok(node)
    }

    /// Starts the `local` chain's validators with their development keys (`--alice`, …).
    pub fn start_local_validators(&mut self, names: &[&str]) -> Result<()> {
        self.start_validators(names, "local")
    }

    /// [`Self::start_local_validators`], each also given `extra` arguments.
    pub fn start_local_validators_with(&mut self, names: &[&str], extra: &[&str]) -> Result<()> {
        self.start_validators_with(names, "local", extra)
    }

    /// Starts validators of `chain` (a preset name or a spec file) with the development keys
    /// named like the nodes (`--alice`, …) and node keys 1, 2, … in the order given.
    pub fn start_validators(&mut self, names: &[&str], chain: &str) -> Result<()> {
        self.start_validators_with(names, chain, &[])
    }

    /// [`Self::start_validators`], each also given `extra` arguments.
    pub fn start_validators_with(
        &mut self,
        names: &[&str],
        chain: &str,
        extra: &[&str],
    ) -> Result<()> {
        for (i, name) in names.iter().enumerate() {
            // A fixed node key per validator: a validator refuses to generate one on a live chain.
            let node_key = format!("{:064x}", i + 1);
            let key_flag = format!("--{name}");
            let mut args = vec!["--chain", chain, key_flag.as_str(), "--node-key", &node_key];
            args.extend(extra);
            self.start_node(name, &args)?;
        }
        Ok(())
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("test failed: node logs kept in {}", kept.display());
                for node in &self.nodes {
                    let log = node.log();
                    let tail: Vec<&str> = log.lines().rev().take(30).collect();
                    eprintln!("--- last lines of {} ---", node.name);
                    for line in tail.into_iter().rev() {
                        eprintln!("{line}");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_outside_the_ephemeral_range_and_bindable() {
        let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        let distinct: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len(), "a port was handed out twice");
        for port in ports {
            assert!(
                TEST_PORTS.contains(&u32::from(port)),
                "{port} is out of range"
            );
            TcpListener::bind(("127.0.0.1", port)).expect("the port is free");
        }
    }
}
