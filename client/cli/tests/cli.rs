//! The built `medledger` binary against a fresh SoftHSM2 token per test.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use medledger_sealing::testing::{
    assemble_container, partial_output_len, prepare_softhsm, split_container, USER_PIN,
};
use medledger_sealing::DeliveryKey;

const TOKEN: &str = "cli-token";

struct Fixture {
    dir: tempfile::TempDir,
    conf: PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let conf = prepare_softhsm(dir.path(), &[TOKEN]).expect("SoftHSM2 setup");
        Fixture { dir, conf }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// SoftHSM's token storage: moving it away is how a test pulls the token.
    fn token_dir(&self) -> PathBuf {
        self.dir.path().join("tokens")
    }

    /// `medledger args…` with `pin` in `MEDLEDGER_PIN` (none when `None`).
    fn command(&self, pin: Option<&str>, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_medledger"));
        command
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("MEDLEDGER_PIN")
            .stdin(Stdio::null());
        if let Some(pin) = pin {
            command.env("MEDLEDGER_PIN", pin);
        }
        command
    }

    fn run(&self, pin: Option<&str>, args: &[&str]) -> Output {
        self.command(pin, args).output().expect("run medledger")
    }

    /// `medledger fetch` of `order` from `endpoint` into `out`, expecting `digest`; the
    /// caller sets (or removes) `MEDLEDGER_ACCOUNT_SECRET`.
    fn fetch(&self, endpoint: &str, order: &str, digest: &str, out: &Path) -> Command {
        self.command(
            None,
            &[
                "fetch",
                "--endpoint",
                endpoint,
                "--order",
                order,
                "--expect-digest",
                digest,
                s(out),
            ],
        )
    }

    fn run_ok(&self, args: &[&str]) -> String {
        let output = self.run(Some(USER_PIN), args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.stderr.is_empty(),
            "quiet when not a terminal: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn init_key(&self) -> DeliveryKey {
        let out = self.run_ok(&["token", "init", "--token-label", TOKEN]);
        let chain = value_after(&out, "public key (register on chain):");
        let age = value_after(&out, "age recipient:");
        let key = DeliveryKey::from_str(&chain).expect("a point on P-256");
        assert_eq!(chain.len(), 2 + 66);
        assert_eq!(DeliveryKey::from_str(&age).unwrap(), key);
        key
    }
}

fn value_after(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .map(|value| value.trim().to_owned())
        .unwrap_or_else(|| panic!("no '{label}' in:\n{output}"))
}

/// A failed run: non-zero exit, one human `error:` line, no panic or debug dump.
fn assert_human_failure(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(expected), "'{expected}' not in: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("{ "),
        "{stderr}"
    );
}

fn random_file(path: &Path, len: usize) -> Vec<u8> {
    let bytes: Vec<u8> = (0..len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    fs::write(path, &bytes).unwrap();
    bytes
}

#[test]
fn token_init_seal_open_round_trip_through_the_binary() {
    let fx = Fixture::new();
    let key = fx.init_key();
    assert_eq!(
        fx.run_ok(&["token", "pubkey", "--token-label", TOKEN])
            .trim(),
        key.to_chain_hex()
    );
    assert_eq!(
        fx.run_ok(&["token", "pubkey", "--age"]).trim(),
        key.age_recipient().to_string()
    );
    let listing = fx.run_ok(&["token", "list"]);
    assert!(
        listing.contains(TOKEN) && listing.contains(&key.to_chain_hex()),
        "{listing}"
    );

    let payload = random_file(&fx.path("plain"), 200_000);
    let (plain, sealed, opened) = (fx.path("plain"), fx.path("sealed"), fx.path("opened"));
    let to = key.to_chain_hex();
    let sealing = fx.run_ok(&[
        "seal",
        "--to",
        &to,
        "--segment-size",
        "64K",
        s(&plain),
        s(&sealed),
    ]);
    assert!(sealing.contains("in 4 segment(s)"), "{sealing}");
    let digest = value_after(&sealing, "container digest:");

    let opening = fx.run_ok(&[
        "open",
        "--token-label",
        TOKEN,
        "--expect-digest",
        &digest,
        s(&sealed),
        s(&opened),
    ]);
    assert_eq!(value_after(&opening, "container digest:"), digest);
    assert_eq!(fs::read(&opened).unwrap(), payload);
}

#[test]
fn open_with_wrong_pin_or_digest_fails_cleanly() {
    let fx = Fixture::new();
    let key = fx.init_key();
    random_file(&fx.path("plain"), 5000);
    let (plain, sealed, opened) = (fx.path("plain"), fx.path("sealed"), fx.path("opened"));
    let sealing = fx.run_ok(&["seal", "--to", &key.to_chain_hex(), s(&plain), s(&sealed)]);
    let digest = value_after(&sealing, "container digest:");

    let output = fx.run(
        Some("999999"),
        &["open", "--expect-digest", &digest, s(&sealed), s(&opened)],
    );
    assert_human_failure(&output, "wrong PIN for token 'cli-token'");
    assert!(!opened.exists());

    let wrong_digest = format!("0x{}", "00".repeat(32));
    let output = fx.run(
        Some(USER_PIN),
        &[
            "open",
            "--expect-digest",
            &wrong_digest,
            s(&sealed),
            s(&opened),
        ],
    );
    assert_human_failure(&output, "does not match the expected");
    assert!(!opened.exists());
}

/// A delivery of three 64 KiB segments, another container sealed to the same key, and
/// what anyone with the buyer's public key can make of them: the delivery cut (last
/// segment dropped), reordered (first two swapped) and spliced (the other container's
/// second segment put in), each with a matching table.
struct Rearranged {
    digest: String,
    original: PathBuf,
    attacks: Vec<(&'static str, PathBuf)>,
}

fn rearranged_deliveries(fx: &Fixture, key: &DeliveryKey) -> Rearranged {
    const SEGMENT: usize = 64 << 10;
    let seal = |name: &str| {
        random_file(&fx.path(name), 3 * SEGMENT);
        // A different payload for the second container.
        let mut bytes = fs::read(fx.path(name)).unwrap();
        bytes.iter_mut().for_each(|b| *b ^= name.len() as u8);
        fs::write(fx.path(name), bytes).unwrap();
        let sealed = fx.path(&format!("{name}.sealed"));
        let to = key.to_chain_hex();
        let out = fx.run_ok(&[
            "seal",
            "--to",
            &to,
            "--segment-size",
            "64K",
            s(&fx.path(name)),
            s(&sealed),
        ]);
        (value_after(&out, "container digest:"), sealed)
    };
    let (digest, original) = seal("delivery");
    let (_, other) = seal("other-delivery");
    let (header, segments) = split_container(&fs::read(&original).unwrap()).unwrap();
    let (_, other_segments) = split_container(&fs::read(&other).unwrap()).unwrap();
    let (version, size, len) = (header.version, header.segment_size, header.plaintext_len);
    let [first, second, third] = [0, 1, 2].map(|i| segments[i].clone());
    let attacks = [
        (
            "cut",
            assemble_container(version, size, 2 * size, &[first.clone(), second.clone()]),
        ),
        (
            "reordered",
            assemble_container(version, size, len, &[second, first.clone(), third.clone()]),
        ),
        (
            "spliced",
            assemble_container(
                version,
                size,
                len,
                &[first, other_segments[1].clone(), third],
            ),
        ),
    ]
    .into_iter()
    .map(|(name, bytes)| {
        let path = fx.path(&format!("{name}.sealed"));
        fs::write(&path, bytes).unwrap();
        (name, path)
    })
    .collect();
    Rearranged {
        digest,
        original,
        attacks,
    }
}

/// Nothing was written for `opened`: neither the file nor a hidden partial one.
fn assert_no_output(dir: &Path, opened: &Path) {
    assert!(!opened.exists(), "{} exists", opened.display());
    // The command has ended: only a hidden named file could be left.
    assert_eq!(
        partial_output_len(std::process::id(), dir),
        None,
        "a partial output was left"
    );
}

#[test]
fn open_refuses_cut_reordered_and_spliced_containers() {
    let fx = Fixture::new();
    let key = fx.init_key();
    let deliveries = rearranged_deliveries(&fx, &key);
    let opened = fx.path("opened");
    for (name, container) in &deliveries.attacks {
        let output = fx.run(Some(USER_PIN), &["open", s(container), s(&opened)]);
        assert_human_failure(&output, "no expected container digest");
        assert_no_output(fx.dir.path(), &opened);

        let output = fx.run(
            Some(USER_PIN),
            &[
                "open",
                "--expect-digest",
                &deliveries.digest,
                s(container),
                s(&opened),
            ],
        );
        assert_human_failure(&output, "does not match the expected");
        assert_no_output(fx.dir.path(), &opened);

        // The loudly named opt-out warns, and still meets the segments' bindings.
        let output = fx.run(
            Some(USER_PIN),
            &[
                "open",
                "--no-digest-check-i-accept-tampering",
                s(container),
                s(&opened),
            ],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.starts_with("warning: the container digest is not checked")
                && stderr.contains("error: sealed file was tampered with: segment "),
            "{name}: {stderr}"
        );
        assert_no_output(fx.dir.path(), &opened);
    }
    fx.run_ok(&[
        "open",
        "--expect-digest",
        &deliveries.digest,
        s(&deliveries.original),
        s(&opened),
    ]);
    let output = fx.run(
        Some(USER_PIN),
        &[
            "open",
            "--expect-digest",
            &deliveries.digest,
            "--no-digest-check-i-accept-tampering",
            s(&deliveries.original),
            s(&fx.path("x")),
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "clap refuses a digest and the opt-out together"
    );
}

/// Two P-256 pairs with the delivery label, made by OpenSC's `pkcs11-tool` the way a
/// PIV token holds its keys (each pair's objects share a CKA_ID): the label alone does
/// not say which, `--key-id` does.
#[test]
fn a_token_with_two_keys_of_one_label_is_used_by_key_id() {
    let fx = Fixture::new();
    for id in ["01", "02"] {
        let made = Command::new("pkcs11-tool")
            .args([
                "--module",
                medledger_sealing::token::DEFAULT_MODULE,
                "--token-label",
                TOKEN,
                "--login",
                "--pin",
                USER_PIN,
                "--keypairgen",
                "--key-type",
                "EC:prime256v1",
                "--usage-derive",
                "--label",
                medledger_sealing::token::DEFAULT_KEY_LABEL,
                "--id",
                id,
            ])
            .env("SOFTHSM2_CONF", &fx.conf)
            .output()
            .expect("pkcs11-tool (scripts/setup.sh installs opensc)");
        assert!(made.status.success(), "{made:?}");
    }
    let output = fx.run(None, &["token", "pubkey"]);
    assert_human_failure(&output, "(CKA_ID 01, 02) — choose one with --key-id");
    let listing = fx.run_ok(&["token", "list"]);
    let pubkey = |id: &str| {
        fx.run_ok(&["token", "pubkey", "--key-id", id])
            .trim()
            .to_owned()
    };
    let (first, second) = (pubkey("01"), pubkey("02"));
    assert_ne!(first, second);
    let not_an_id = fx.run(None, &["token", "pubkey", "--key-id", "zz"]);
    assert_eq!(
        not_an_id.status.code(),
        Some(2),
        "clap refuses a key id that is not hex"
    );
    for (id, key) in [("01", &first), ("02", &second)] {
        assert!(
            listing.contains(&format!("delivery key id {id}  {key}")),
            "{listing}"
        );
    }

    let payload = random_file(&fx.path("plain"), 100_000);
    let (plain, sealed, opened) = (fx.path("plain"), fx.path("sealed"), fx.path("opened"));
    let sealing = fx.run_ok(&["seal", "--to", &second, s(&plain), s(&sealed)]);
    let digest = value_after(&sealing, "container digest:");
    let open = |key_id: &[&str]| {
        let args = [
            &["open", "--expect-digest", &digest][..],
            key_id,
            &[s(&sealed), s(&opened)],
        ];
        fx.run(Some(USER_PIN), &args.concat())
    };
    assert_human_failure(&open(&[]), "choose one with --key-id");
    assert_no_output(fx.dir.path(), &opened);
    assert_human_failure(
        &open(&["--key-id", "01"]),
        "sealed to a different token key",
    );
    assert_no_output(fx.dir.path(), &opened);
    let output = open(&["--key-id", "02"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(fs::read(&opened).unwrap(), payload);
}

#[test]
fn pin_comes_only_from_the_environment_or_a_terminal() {
    let fx = Fixture::new();
    fx.init_key();
    let output = fx.run(None, &["token", "init", "--key-label", "second"]);
    assert_human_failure(&output, "MEDLEDGER_PIN");

    let output = fx.run(Some(USER_PIN), &["open", "--pin", USER_PIN, "a", "b"]);
    assert_eq!(output.status.code(), Some(2), "clap rejects a PIN argument");
}

/// A node of another chain (it answers as Polkadot's runtime does, and nothing more) is
/// named as such, before any command tries that chain's storage or calls.
#[test]
fn a_node_of_another_chain_is_refused_by_name() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (address, server) = rt.block_on(async {
        let server = jsonrpsee::server::Server::builder()
            .build("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let mut module = jsonrpsee::RpcModule::new(());
        module
            .register_method("state_getRuntimeVersion", |_, _, _| {
                serde_json::json!({
                    "specName": "polkadot", "implName": "parity-polkadot",
                    "authoringVersion": 0, "specVersion": 1_004_000, "implVersion": 0,
                    "apis": [], "transactionVersion": 26, "systemVersion": 1,
                })
            })
            .unwrap();
        (server.local_addr().unwrap(), server.start(module))
    });
    let url = format!("ws://{address}");
    for args in [
        vec!["buyer", "listings"],
        vec!["regulator", "audit", "export", "--from", "0", "--to", "1"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_medledger"))
            .args(&args)
            .args(["--rpc-url", &url])
            .stdin(Stdio::null())
            .output()
            .expect("run medledger");
        assert_human_failure(
            &output,
            &format!("the node at {url} runs runtime \"polkadot\" version 1004000, not a MedLedger chain"),
        );
    }
    server.stop().unwrap();
}

#[test]
fn bad_public_key_and_missing_token_are_human_errors() {
    let fx = Fixture::new();
    random_file(&fx.path("plain"), 10);
    let output = fx.run(
        None,
        &[
            "seal",
            "--to",
            "0x1234",
            s(&fx.path("plain")),
            s(&fx.path("sealed")),
        ],
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "clap reports an unparsable argument"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid delivery public key"));
    assert!(!fx.path("sealed").exists());

    let output = fx.run(None, &["token", "pubkey", "--token-label", "absent"]);
    assert_human_failure(&output, "no token labelled 'absent'");
    let output = fx.run(None, &["token", "pubkey"]);
    assert_human_failure(&output, "holds no delivery key");
}

/// `buyer get` logs in to the token before it contacts the chain, and so before it can buy
/// anything: a wrong PIN, a missing token or a token without the key is refused even when no
/// node answers (the check of the token's key against the chain's is a unit test of
/// `buyer.rs`).
#[test]
fn buyer_get_opens_the_token_before_the_chain_is_contacted() {
    let fx = Fixture::new();
    fx.init_key();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}", closed.local_addr().unwrap());
    drop(closed);
    let out = fx.path("data.tar");
    let get = |pin: &str, token: &[&str]| {
        let mut args = vec![
            "buyer",
            "get",
            "0",
            "--max-price",
            "10",
            "--out",
            s(&out),
            "--rpc-url",
            &url,
        ];
        args.extend_from_slice(token);
        fx.command(Some(pin), &args)
            .env("MEDLEDGER_ACCOUNT_SECRET", "//One")
            .output()
            .expect("run medledger")
    };
    assert_human_failure(
        &get("999999", &["--token-label", TOKEN]),
        "wrong PIN for token 'cli-token'",
    );
    assert_human_failure(
        &get(USER_PIN, &["--token-label", "absent"]),
        "no token labelled 'absent'",
    );
    assert_human_failure(
        &get(USER_PIN, &["--token-label", TOKEN, "--key-label", "other"]),
        "holds no delivery key",
    );
    // With the right token and PIN, the chain is next.
    assert_human_failure(
        &get(USER_PIN, &["--token-label", TOKEN]),
        &format!("no MedLedger node answers at {url}"),
    );
    assert!(!out.exists());
    assert!(!fx.path("data.tar.sealed").exists());
}

/// A running `medledger`, killed if the test fails before it ends.
struct Running(Option<Child>);

impl Running {
    fn pid(&self) -> String {
        self.id().to_string()
    }

    fn id(&self) -> u32 {
        self.0.as_ref().map(Child::id).unwrap_or_default()
    }

    fn has_exited(&mut self) -> bool {
        self.0
            .as_mut()
            .is_some_and(|child| !matches!(child.try_wait(), Ok(None)))
    }

    /// Sends `signal` (a `kill` name such as `STOP`) and waits until the process is
    /// `stopped` or not (state `T` in `/proc/PID/stat`).
    fn signal(&self, signal: &str, stopped: bool) {
        let pid = self.pid();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {pid}");
        let is_stopped = || {
            fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit_once(") ")
                        .map(|(_, rest)| rest.starts_with('T'))
                })
        };
        wait_until(Duration::from_secs(10), || {
            (is_stopped() == Some(stopped)).then_some(())
        })
        .unwrap_or_else(|| panic!("medledger did not {signal}"));
    }

    fn finish(mut self) -> Output {
        self.0
            .take()
            .expect("running")
            .wait_with_output()
            .expect("wait for medledger")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `found` every millisecond until it gives a value or `limit` passes.
fn wait_until<T>(limit: Duration, mut found: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = found() {
            return Some(value);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A `medledger open` frozen (SIGSTOP) halfway through a file of many small segments,
/// once the first segment is done and its plaintext on disk. No hook in the binary.
struct FrozenMidFile {
    running: Running,
    /// Holds nothing but the output.
    out_dir: PathBuf,
    opened: PathBuf,
}

/// Segments of the file [`open_frozen_mid_file`] opens, and how many.
const SMALL_SEGMENT: u64 = 16 << 10;
const SMALL_SEGMENTS: u64 = 512;

fn open_frozen_mid_file(fx: &Fixture) -> FrozenMidFile {
    // Many small segments: every one costs a token ECDH and two presence checks,
    // which keeps the command running long after the first segment is out.
    let key = fx.init_key();
    let (plain, sealed) = (fx.path("plain"), fx.path("sealed"));
    random_file(&plain, (SMALL_SEGMENT * SMALL_SEGMENTS) as usize);
    let sealing = fx.run_ok(&[
        "seal",
        "--to",
        &key.to_chain_hex(),
        "--segment-size",
        "16K",
        s(&plain),
        s(&sealed),
    ]);
    let digest = value_after(&sealing, "container digest:");
    assert!(
        sealing.contains(&format!("in {SMALL_SEGMENTS} segment(s)")),
        "{sealing}"
    );
    let out_dir = fx.path("out");
    fs::create_dir(&out_dir).unwrap();
    let opened = out_dir.join("opened");

    let mut running = Running(Some(
        fx.command(
            Some(USER_PIN),
            &["open", "--expect-digest", &digest, s(&sealed), s(&opened)],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start medledger open"),
    ));
    // More than one segment written: the first one passed its closing token check.
    let partial_output = |running: &Running| partial_output_len(running.id(), &out_dir);
    let first_segment_out = wait_until(Duration::from_secs(120), || {
        partial_output(&running)
            .filter(|len| *len > SMALL_SEGMENT)
            .or_else(|| running.has_exited().then_some(0))
    });
    running.signal("STOP", true);
    let written = partial_output(&running);
    assert!(
        first_segment_out.is_some_and(|len| len > SMALL_SEGMENT)
            && written.is_some_and(|len| len < SMALL_SEGMENT * SMALL_SEGMENTS),
        "medledger must be stopped mid-file (first segment out: {first_segment_out:?}, \
         partial output now: {written:?}); ended early: {:?}",
        running.has_exited().then(|| running.finish())
    );
    FrozenMidFile {
        running,
        out_dir,
        opened,
    }
}

impl FrozenMidFile {
    /// Lets it run on to its end; checks it printed no success and left nothing.
    fn resume_to_a_failure(self) -> Output {
        self.running.signal("CONT", false);
        let output = self.running.finish();
        assert!(output.stdout.is_empty(), "no success report");
        assert!(!self.opened.exists(), "no output");
        assert_eq!(
            fs::read_dir(&self.out_dir).unwrap().count(),
            0,
            "the partial plaintext was removed"
        );
        output
    }
}

/// Pulling the token halfway through: SoftHSM's token directory is moved away while
/// `medledger open` is frozen mid-file. It must fail with the token-removed message and
/// keep nothing.
#[test]
fn open_fails_cleanly_when_the_token_is_pulled_mid_file() {
    let fx = Fixture::new();
    let frozen = open_frozen_mid_file(&fx);
    fs::rename(fx.token_dir(), fx.token_dir().with_extension("pulled")).unwrap();
    let output = frozen.resume_to_a_failure();
    assert_human_failure(&output, "the token was removed during segment ");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no output was kept"), "{stderr}");
    let segment: u64 = stderr
        .split("during segment ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("no segment number in: {stderr}"));
    assert!(
        (2..=SMALL_SEGMENTS).contains(&segment),
        "stopped in segment {segment}: {stderr}"
    );
}

/// Ctrl-C (SIGINT), SIGTERM, Ctrl-\ (SIGQUIT) or a file-size limit reached (SIGXFSZ)
/// halfway through `medledger open`: the signal waits while the command is frozen
/// mid-file and arrives as it resumes. It ends with 128 + the signal number and the
/// partial plaintext is gone (SIGQUIT and SIGXFSZ used to end it with a core dump and
/// leave the partial plaintext).
#[test]
fn interrupting_open_removes_the_partial_plaintext() {
    for (signal, number) in [("INT", 2), ("TERM", 15), ("QUIT", 3), ("XFSZ", 25)] {
        let fx = Fixture::new();
        let frozen = open_frozen_mid_file(&fx);
        let pid = frozen.running.pid();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("run kill");
        assert!(status.success());
        let output = frozen.resume_to_a_failure();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(128 + number),
            "SIG{signal}: {stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "error: interrupted by SIG{signal}; 1 partial output"
            )),
            "{stderr}"
        );
    }
}

/// SIGKILL (the OOM killer, `kill -9`, `timeout -s KILL`) cannot be caught: the partial
/// plaintext must have no name to leave behind. Nor can a crash, and its core file would
/// hold plaintext: `open` runs with a core size limit of 0.
#[test]
fn killing_or_crashing_open_leaves_no_plaintext() {
    let fx = Fixture::new();
    let frozen = open_frozen_mid_file(&fx);
    let mut running = frozen.running;
    let limits = fs::read_to_string(format!("/proc/{}/limits", running.id())).unwrap();
    let core_limit = limits
        .lines()
        .find(|line| line.starts_with("Max core file size"))
        .map(|line| line.split_whitespace().skip(4).take(2).collect::<Vec<_>>());
    assert_eq!(core_limit, Some(vec!["0", "0"]), "{limits}");
    let mut child = running.0.take().expect("running");
    child.kill().expect("SIGKILL");
    child.wait().expect("wait for medledger");
    assert!(!frozen.opened.exists(), "no output");
    let left: Vec<_> = fs::read_dir(&frozen.out_dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left after SIGKILL: {left:?}");
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `medledger fhir ingest` keeps its issue list encrypted in the store; `fhir issues` reads it
/// back with the store key, and refuses a wrong key with an error instead of printing garbage.
#[test]
fn fhir_issues_lists_the_ingest_problems_with_the_store_key_only() {
    let dir = tempfile::tempdir().unwrap();
    // The package folder as cargo gives it at run time (the binary may come from another
    // checkout sharing the target directory).
    let corpus = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../fhir/tests/corpus");
    let export = dir.path().join("export");
    fs::create_dir(&export).unwrap();
    let mut patients = fs::read_to_string(corpus.join("Patient.ndjson")).unwrap();
    let bad_line = patients.lines().count() + 1;
    patients.push_str("{\"resourceType\": \"Patient\", \"id\": \n");
    fs::write(export.join("Patient.ndjson"), patients).unwrap();
    let (store, key) = (dir.path().join("store"), dir.path().join("store.key"));
    let medledger = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_medledger"))
            .args(args)
            .output()
            .expect("run medledger")
    };

    let ingest = medledger(&[
        "fhir".as_ref(),
        "ingest".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
        "--create-key".as_ref(),
        "--owners".as_ref(),
        corpus.join("owners.csv").as_os_str(),
        export.as_os_str(),
    ]);
    assert!(ingest.status.success(), "{ingest:?}");
    assert!(String::from_utf8_lossy(&ingest.stdout).contains("1 issue(s)"));

    let issues = medledger(&[
        "fhir".as_ref(),
        "issues".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--key".as_ref(),
        key.as_os_str(),
    ]);
    assert!(issues.status.success(), "{issues:?}");
    let listed = String::from_utf8_lossy(&issues.stdout);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        listed.starts_with(&format!("Patient.ndjson:{bad_line}: ")),
        "{listed}"
    );

    let wrong_key = dir.path().join("wrong.key");
    fs::write(&wrong_key, "11".repeat(32)).unwrap();
    let refused = medledger(&[
        "fhir".as_ref(),
        "issues".as_ref(),
        "--store".as_ref(),
        store.as_os_str(),
        "--key".as_ref(),
        wrong_key.as_os_str(),
    ]);
    assert!(!refused.status.success());
    assert!(
        refused.stdout.is_empty(),
        "nothing printed with a wrong key"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).starts_with("error: "));
}

/// A delivery endpoint on loopback serving `sealed` as order 7 to `buyer` only.
fn serve_order_7(sealed: PathBuf, buyer: [u8; 32]) -> (String, std::thread::JoinHandle<()>) {
    serve_lookup(std::sync::Arc::new(move |order: u64| {
        (order == 7).then(|| medledger_delivery_http::Delivery {
            buyer,
            path: Some(sealed.clone()),
        })
    }))
}

/// A delivery endpoint on loopback answering from `lookup`, until the test process ends.
fn serve_lookup(
    lookup: std::sync::Arc<dyn medledger_delivery_http::DeliveryLookup>,
) -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let config = medledger_delivery_http::ServerConfig::new(endpoint.clone());
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let _ = medledger_delivery_http::serve(listener, config, lookup).await;
        });
    });
    (endpoint, server)
}

/// A custodian whose books pay `//One` one leaf.
struct OnePaid;
impl medledger_delivery_http::DeliveryLookup for OnePaid {
    fn delivery(&self, _order: u64) -> Option<medledger_delivery_http::Delivery> {
        None
    }
    fn payouts(&self, owner: [u8; 32]) -> Vec<medledger_delivery_http::PayoutClaim> {
        use sp_core::Pair;
        let one = sp_core::sr25519::Pair::from_string("//One", None).unwrap();
        if owner != one.public().0 {
            return Vec::new();
        }
        vec![medledger_delivery_http::PayoutClaim {
            custodian: format!("0x{}", "aa".repeat(32)),
            epoch: 12,
            index: 3,
            owner: format!("0x{}", hex::encode(owner)),
            amount: "1234567".into(),
            salt: format!("0x{}", "5a".repeat(32)),
            proof: vec![format!("0x{}", "bb".repeat(32))],
        }]
    }
}

#[test]
fn payouts_show_the_owners_own_claims_ready_to_submit() {
    let fx = Fixture::new();
    let (endpoint, _server) = serve_lookup(std::sync::Arc::new(OnePaid));
    let payouts = |secret: &str, json: bool| {
        let mut args = vec!["payouts", "--endpoint", endpoint.as_str()];
        if json {
            args.push("--json");
        }
        fx.command(None, &args)
            .env("MEDLEDGER_ACCOUNT_SECRET", secret)
            .output()
            .unwrap()
    };
    let shown = payouts("//One", false);
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("1234567 earned in all up to epoch 12 (leaf 3)"),
        "{text}"
    );
    assert!(text.contains("revenue.claim("), "{text}");

    let json = payouts("//One", true);
    let claims: Vec<medledger_delivery_http::PayoutClaim> =
        serde_json::from_slice(&json.stdout).expect("a JSON array");
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].amount, "1234567");

    let nobody = payouts("//Two", false);
    assert!(String::from_utf8_lossy(&nobody.stdout).contains("holds no payout"));
}

#[test]
fn fetch_downloads_for_the_buyer_only_and_checks_the_digest() {
    use sp_core::Pair;
    let fx = Fixture::new();
    let key = fx.init_key();
    random_file(&fx.path("plain"), 300_000);
    let sealing = fx.run_ok(&[
        "seal",
        "--to",
        &key.to_chain_hex(),
        "--segment-size",
        "64K",
        s(&fx.path("plain")),
        s(&fx.path("served.sealed")),
    ]);
    let digest = value_after(&sealing, "container digest:");
    let buyer = sp_core::sr25519::Pair::from_string("//One", None).unwrap();
    let (endpoint, _server) = serve_order_7(fx.path("served.sealed"), buyer.public().0);

    let fetch = |secret: &str, expect: &str, out: &Path| {
        fx.fetch(&endpoint, "7", expect, out)
            .env("MEDLEDGER_ACCOUNT_SECRET", secret)
            .output()
            .unwrap()
    };
    let downloaded = fetch("//One", &digest, &fx.path("got.sealed"));
    assert!(
        downloaded.status.success(),
        "{}",
        String::from_utf8_lossy(&downloaded.stderr)
    );
    assert_eq!(
        fs::read(fx.path("got.sealed")).unwrap(),
        fs::read(fx.path("served.sealed")).unwrap()
    );

    // The chain's digest travels with the download: `open` needs no --expect-digest,
    // and a file changed after the download is refused.
    let recorded = fx.path("got.sealed.digest");
    assert_eq!(fs::read_to_string(&recorded).unwrap().trim(), digest);
    let opened = fx.path("got.tar");
    fx.run_ok(&["open", s(&fx.path("got.sealed")), s(&opened)]);
    assert_eq!(
        fs::read(&opened).unwrap(),
        fs::read(fx.path("plain")).unwrap()
    );
    fs::remove_file(&opened).unwrap();
    let (header, mut segments) =
        split_container(&fs::read(fx.path("got.sealed")).unwrap()).unwrap();
    segments.pop();
    let cut_len = header.segment_size * segments.len() as u64;
    fs::write(
        fx.path("got.sealed"),
        assemble_container(header.version, header.segment_size, cut_len, &segments),
    )
    .unwrap();
    let output = fx.run(
        Some(USER_PIN),
        &["open", s(&fx.path("got.sealed")), s(&opened)],
    );
    assert_human_failure(&output, "does not match the expected");
    assert_no_output(fx.dir.path(), &opened);
    let other_digest = format!("0x{}", "22".repeat(32));
    let output = fx.run(
        Some(USER_PIN),
        &[
            "open",
            "--expect-digest",
            &other_digest,
            s(&fx.path("got.sealed")),
            s(&opened),
        ],
    );
    assert_human_failure(&output, "is not the chain's digest");

    let stranger = fetch("//Two", &digest, &fx.path("stranger.sealed"));
    assert_human_failure(&stranger, "did not buy order 7");
    assert!(!fx.path("stranger.sealed").exists());

    let other_digest = format!("0x{}", "11".repeat(32));
    let mismatch = fetch("//One", &other_digest, &fx.path("wrong.sealed"));
    assert_human_failure(&mismatch, "not the chain's");
    assert!(
        !fx.path("wrong.sealed").exists(),
        "a mismatching download is removed"
    );
    assert!(
        !fx.path("wrong.sealed.digest").exists(),
        "and no digest recorded for it"
    );

    let no_secret = fx
        .fetch(&endpoint, "7", &digest, &fx.path("x"))
        .env_remove("MEDLEDGER_ACCOUNT_SECRET")
        .output()
        .unwrap();
    assert_human_failure(&no_secret, "MEDLEDGER_ACCOUNT_SECRET");
}

/// Fetching again into a file an earlier fetch checked: a download with another digest, or
/// an endpoint not ready, leaves the file and its recorded digest as they were (only the
/// refused `.partial` goes); a good one replaces them.
#[test]
fn a_failed_fetch_keeps_the_earlier_checked_copy_and_its_digest() {
    use sp_core::Pair;
    let fx = Fixture::new();
    let key = fx.init_key();
    random_file(&fx.path("plain"), 100_000);
    let sealing = fx.run_ok(&[
        "seal",
        "--to",
        &key.to_chain_hex(),
        s(&fx.path("plain")),
        s(&fx.path("served.sealed")),
    ]);
    let digest = value_after(&sealing, "container digest:");
    let buyer = sp_core::sr25519::Pair::from_string("//One", None).unwrap();
    let served = fx.path("served.sealed");
    // Order 7 is served; order 8 is the buyer's too but not ready (no receipt yet).
    let (endpoint, _server) = serve_lookup(std::sync::Arc::new(move |order: u64| {
        (order == 7 || order == 8).then(|| medledger_delivery_http::Delivery {
            buyer: buyer.public().0,
            path: (order == 7).then(|| served.clone()),
        })
    }));
    let got = fx.path("got.sealed");
    let record = fx.path("got.sealed.digest");
    let partial = fx.path("got.sealed.partial");
    let fetch = |order: &str, expect: &str| {
        fx.fetch(&endpoint, order, expect, &got)
            .env("MEDLEDGER_ACCOUNT_SECRET", "//One")
            .output()
            .unwrap()
    };
    let first = fetch("7", &digest);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let checked = fs::read(&got).unwrap();
    assert_eq!(checked, fs::read(fx.path("served.sealed")).unwrap());
    assert_eq!(fs::read_to_string(&record).unwrap().trim(), digest);

    let other_digest = format!("0x{}", "11".repeat(32));
    let mismatch = fetch("7", &other_digest);
    assert_human_failure(&mismatch, "is not the chain's");
    assert_eq!(
        fs::read(&got).ok().as_ref(),
        Some(&checked),
        "the checked copy stays"
    );
    assert_eq!(
        fs::read_to_string(&record).ok().as_deref().map(str::trim),
        Some(digest.as_str()),
        "and its recorded digest"
    );
    assert!(!partial.exists(), "the refused download is removed");
    assert_human_failure(&mismatch, &format!("left {} as it was", got.display()));

    let not_ready = fetch("8", &digest);
    assert_human_failure(&not_ready, "not ready");
    assert_eq!(fs::read(&got).unwrap(), checked);
    assert_eq!(fs::read_to_string(&record).unwrap().trim(), digest);

    // The copy still opens with the recorded digest alone.
    let opened = fx.path("got.tar");
    fx.run_ok(&["open", s(&got), s(&opened)]);
    assert_eq!(
        fs::read(&opened).unwrap(),
        fs::read(fx.path("plain")).unwrap()
    );

    // A good download replaces the file and records the digest again.
    fs::remove_file(&record).unwrap();
    let again = fetch("7", &digest);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(fs::read(&got).unwrap(), checked);
    assert_eq!(fs::read_to_string(&record).unwrap().trim(), digest);
    assert!(!partial.exists());
}

/// The FHIR bearer token is never a command-line argument (`ps` shows those), and a
/// plain-http server is refused unless it is on loopback and allowed explicitly.
#[test]
fn fhir_fetch_takes_no_token_argument_and_refuses_plain_http() {
    let dir = tempfile::tempdir().unwrap();
    let fetch = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_medledger"))
            .args(["fhir", "fetch"])
            .args(args)
            .arg(dir.path().join("export"))
            .env_remove("MEDLEDGER_FHIR_TOKEN")
            .output()
            .expect("run medledger")
    };
    let with_argument = fetch(&[
        "--server",
        "https://fhir.example.org/r4",
        "--token",
        "s3cret",
    ]);
    assert!(!with_argument.status.success());
    assert!(String::from_utf8_lossy(&with_argument.stderr).contains("--token"));

    let token_file = dir.path().join("token");
    fs::write(&token_file, "s3cret\n").unwrap();
    let plain = fetch(&[
        "--server",
        "http://127.0.0.1:9/fhir",
        "--token-file",
        s(&token_file),
    ]);
    assert!(!plain.status.success());
    let error = String::from_utf8_lossy(&plain.stderr);
    assert!(
        error.starts_with("error: ") && error.contains("https"),
        "{error}"
    );
    assert!(!dir.path().join("export").exists(), "nothing fetched");
}
