//! The built `medledger` binary against a fresh SoftHSM2 token per test.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::str::FromStr;

use medledger_sealing::testing::{prepare_softhsm, USER_PIN};
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

    /// Runs `medledger args…` with `pin` in `MEDLEDGER_PIN` (none when `None`).
    fn run(&self, pin: Option<&str>, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_medledger"));
        command
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("MEDLEDGER_PIN")
            .stdin(Stdio::null());
        if let Some(pin) = pin {
            command.env("MEDLEDGER_PIN", pin);
        }
        command.output().expect("run medledger")
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
    fx.run_ok(&["seal", "--to", &key.to_chain_hex(), s(&plain), s(&sealed)]);

    let output = fx.run(Some("999999"), &["open", s(&sealed), s(&opened)]);
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

#[test]
fn pin_comes_only_from_the_environment_or_a_terminal() {
    let fx = Fixture::new();
    fx.init_key();
    let output = fx.run(None, &["token", "init", "--key-label", "second"]);
    assert_human_failure(&output, "MEDLEDGER_PIN");

    let output = fx.run(Some(USER_PIN), &["open", "--pin", USER_PIN, "a", "b"]);
    assert_eq!(output.status.code(), Some(2), "clap rejects a PIN argument");
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

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}
