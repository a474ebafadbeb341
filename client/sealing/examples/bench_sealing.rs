//! Throughput of sealing and opening with a SoftHSM2 token, against plain age X25519
//! on the same payload in the same run. Not a test: `scripts/bench-sealing.sh` runs it
//! in release and keeps the figures.
//!
//! `bench_sealing [SIZE_MIB] [REPORT_FILE]` (defaults: 1024, stdout only);
//! `BENCH_ROUNDS` (default 5) rounds, the best of each operation reported.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use medledger_sealing::testing::{prepare_softhsm, USER_PIN};
use medledger_sealing::token::{generate_delivery_key, Pkcs11Token, SlotSelector, TokenConfig};
use medledger_sealing::{
    container::DEFAULT_SEGMENT_SIZE, open_file, seal_file, DigestCheck, NoProgress, Pin,
    TokenBackend,
};

const BUFFER: usize = 1 << 20;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let size_mib: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1024);
    let report_path = args.next();
    let rounds: u32 = std::env::var("BENCH_ROUNDS")
        .ok()
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(5)
        .max(1);

    let work = tempfile::tempdir_in(std::env::var_os("BENCH_DIR").unwrap_or_else(|| ".".into()))?;
    let conf = prepare_softhsm(work.path(), &["bench"])?;
    // Before the module is loaded: SoftHSM reads its configuration at initialization.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let config = TokenConfig {
        slot: SlotSelector::TokenLabel("bench".into()),
        ..TokenConfig::default()
    };
    let pin = Pin::from(USER_PIN.to_owned());
    let key = generate_delivery_key(&config, &pin)?;

    let plain = work.path().join("plain");
    write_payload(&plain, size_mib)?;
    let bytes = size_mib * (1 << 20);

    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public();
    let token = Pkcs11Token::open(&config, &pin)?;
    let (sealed, opened, age_file) = (
        work.path().join("sealed"),
        work.path().join("opened"),
        work.path().join("age"),
    );
    // Each round times all four operations back to back, so a pair (ours, plain age)
    // shares the machine's state; the best of the rounds is reported.
    let load_before = load_average();
    let mut best = [Duration::MAX; 4];
    let mut rounds_text = String::new();
    for round in 1..=rounds {
        let mut digest = [0u8; 32];
        let seal = timed(|| {
            seal_file(&plain, &sealed, &key, DEFAULT_SEGMENT_SIZE, &mut NoProgress)
                .map(|receipt| digest = receipt.digest)
        })?;
        let age_encrypt = timed(|| {
            let encryptor =
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                    .map_err(io::Error::other)?;
            let mut writer = encryptor.wrap_output(File::create(&age_file)?)?;
            copy(&mut File::open(&plain)?, &mut writer)?;
            writer.finish()?.sync_all()
        })?;
        let open = timed(|| {
            open_file(
                &sealed,
                &opened,
                &token,
                DigestCheck::Expect(digest),
                &mut NoProgress,
            )
            .map(drop)
        })?;
        same_contents(&plain, &opened)?;
        fs::remove_file(&opened)?;
        let age_decrypt = timed(|| {
            let decryptor =
                age::Decryptor::new_buffered(io::BufReader::new(File::open(&age_file)?))
                    .map_err(io::Error::other)?;
            let mut reader = decryptor
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .map_err(io::Error::other)?;
            let mut output = File::create(&opened)?;
            copy(&mut reader, &mut output)?;
            output.sync_all()
        })?;
        same_contents(&plain, &opened)?;
        fs::remove_file(&opened)?;
        let times = [seal, open, age_encrypt, age_decrypt];
        for (best, time) in best.iter_mut().zip(times) {
            *best = (*best).min(time);
        }
        rounds_text.push_str(&format!(
            "round {round}: seal / age encrypt {:.3}, open / age decrypt {:.3}\n",
            age_encrypt.as_secs_f64() / seal.as_secs_f64(),
            age_decrypt.as_secs_f64() / open.as_secs_f64(),
        ));
    }
    let checks = 200;
    let check_time = timed(|| (0..checks).try_for_each(|_| token.ensure_present()))?;
    let cheap_check_time = timed(|| (0..checks).try_for_each(|_| token.ensure_present_cheaply()))?;

    let [seal_time, open_time, age_encrypt_time, age_decrypt_time] = best;
    let rate = |time: Duration| bytes as f64 / 1e6 / time.as_secs_f64();
    let report = format!(
        "payload: {size_mib} MiB, segment size {} MiB, SoftHSM2 token (P-256), release build\n\
         best of {rounds} rounds:\n\
         seal (p256tag, segmented):      {:8.1} MB/s\n\
         open (token ECDH per segment):  {:8.1} MB/s\n\
         age X25519 encrypt:             {:8.1} MB/s\n\
         age X25519 decrypt:             {:8.1} MB/s\n\
         seal / age encrypt:             {:8.3}\n\
         open / age decrypt:             {:8.3}  (target >= 0.90)\n\
         token presence check (full):    {:8.1} us  (every 4 MiB and segment)\n\
         token presence check (cheap):   {:8.1} us  (every 64 KiB chunk)\n\
         load average (1, 5, 15 min):    {load_before} at start, {} at end\n\
         {rounds_text}",
        DEFAULT_SEGMENT_SIZE >> 20,
        rate(seal_time),
        rate(open_time),
        rate(age_encrypt_time),
        rate(age_decrypt_time),
        rate(seal_time) / rate(age_encrypt_time),
        rate(open_time) / rate(age_decrypt_time),
        check_time.as_secs_f64() * 1e6 / f64::from(checks),
        cheap_check_time.as_secs_f64() * 1e6 / f64::from(checks),
        load_average(),
    );
    print!("{report}");
    if let Some(path) = report_path {
        fs::write(path, report)?;
    }
    Ok(())
}

/// The machine's load: on a shared machine it says how far to trust the figures.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|text| text.split(' ').take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn timed<E>(work: impl FnOnce() -> Result<(), E>) -> Result<Duration, E> {
    let start = Instant::now();
    work()?;
    Ok(start.elapsed())
}

fn copy(reader: &mut impl Read, writer: &mut impl Write) -> io::Result<()> {
    let mut buffer = vec![0u8; BUFFER];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        writer.write_all(&buffer[..read])?;
    }
}

/// Pseudo-random megabytes (xorshift), so nothing compresses or repeats.
fn write_payload(path: &Path, size_mib: u64) -> io::Result<()> {
    let mut file = File::create(path)?;
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut block = vec![0u8; BUFFER];
    for _ in 0..size_mib {
        for chunk in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        file.write_all(&block)?;
    }
    file.sync_all()
}

fn same_contents(a: &Path, b: &Path) -> io::Result<()> {
    let (mut a, mut b) = (File::open(a)?, File::open(b)?);
    let (mut x, mut y) = (vec![0u8; BUFFER], vec![0u8; BUFFER]);
    loop {
        let n = a.read(&mut x)?;
        if n == 0 {
            return if b.read(&mut y)? == 0 {
                Ok(())
            } else {
                Err(io::Error::other("output longer than input"))
            };
        }
        b.read_exact(&mut y[..n])?;
        if x[..n] != y[..n] {
            return Err(io::Error::other("round trip changed the payload"));
        }
    }
}
