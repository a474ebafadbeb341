//! `medledger seal` and `medledger open`.

use std::path::PathBuf;

use clap::Args;
use medledger_sealing::container::DEFAULT_SEGMENT_SIZE;
use medledger_sealing::token::Pkcs11Token;
use medledger_sealing::{open_file, seal_file, DeliveryKey, DigestCheck};

use crate::digest_record;
use crate::interrupt;
use crate::progress::TerminalProgress;
use crate::token_options::TokenOptions;
use crate::CommandResult;

#[derive(Args)]
pub struct SealArgs {
    /// The buyer's delivery key: 0x + 33-byte compressed P-256 point, or age1tag1….
    #[arg(long, value_name = "PUBKEY")]
    to: DeliveryKey,
    /// Plaintext bytes per segment (suffixes K, M, G are powers of 1024).
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = DEFAULT_SEGMENT_SIZE)]
    segment_size: u64,
    /// The file to seal.
    input: PathBuf,
    /// Where to write the sealed container.
    output: PathBuf,
}

#[derive(Args)]
pub struct OpenArgs {
    #[command(flatten)]
    token: TokenOptions,
    /// The container digest the order's receipt holds on chain (`ciphertextDigest`);
    /// any other file is refused. Not needed for a file `medledger fetch` downloaded:
    /// it recorded the chain's digest in `<INPUT>.digest`.
    #[arg(long, value_name = "0xDIGEST", value_parser = parse_digest)]
    expect_digest: Option<[u8; 32]>,
    /// Open without comparing the container with the chain's digest. A cut, reordered
    /// or spliced copy of a delivery then opens as if it were the delivery.
    #[arg(long, conflicts_with = "expect_digest")]
    no_digest_check_i_accept_tampering: bool,
    /// The sealed container.
    input: PathBuf,
    /// Where to write the plaintext (only ever complete).
    output: PathBuf,
}

pub fn seal(args: SealArgs) -> CommandResult {
    interrupt::remove_partial_output_on_signals()?;
    let mut progress = TerminalProgress::new("sealing");
    let receipt = seal_file(
        &args.input,
        &args.output,
        &args.to,
        args.segment_size,
        &mut progress,
    )?;
    println!(
        "sealed {} bytes in {} segment(s) to {}",
        receipt.plaintext_len,
        receipt.segment_count,
        args.output.display()
    );
    println!("container digest: 0x{}", hex::encode(receipt.digest));
    println!("sealed size:      {} bytes", receipt.sealed_len);
    Ok(())
}

/// The digest to hold the container to: given, recorded by `fetch`, or explicitly none.
fn digest_check(args: &OpenArgs) -> Result<DigestCheck, String> {
    if args.no_digest_check_i_accept_tampering {
        return Ok(DigestCheck::SkipAcceptingTampering);
    }
    let recorded = digest_record::read(&args.input)?;
    match (args.expect_digest, recorded) {
        (Some(given), Some(recorded)) if given != recorded => Err(format!(
            "--expect-digest 0x{} is not the chain's digest 0x{} that `medledger fetch` \
             recorded in {}: check the order's receipt",
            hex::encode(given),
            hex::encode(recorded),
            digest_record::record_path(&args.input).display()
        )),
        (Some(digest), _) | (None, Some(digest)) => Ok(DigestCheck::Expect(digest)),
        (None, None) => Err(format!(
            "no expected container digest for {}: pass --expect-digest 0x… (the order's \
             receipt on chain, `ciphertextDigest`), or download it with `medledger fetch`, \
             which records the chain's digest beside it (--no-digest-check-i-accept-tampering \
             opens it unchecked)",
            args.input.display()
        )),
    }
}

pub fn open(args: OpenArgs) -> CommandResult {
    let check = digest_check(&args)?;
    if check == DigestCheck::SkipAcceptingTampering {
        eprintln!(
            "warning: the container digest is not checked: a cut, reordered or spliced \
             file would open as if it were the delivery"
        );
    }
    interrupt::no_core_dumps()?;
    let pin = args.token.pin()?;
    let receipt = open_with_token(&args.token, pin, &args.input, &args.output, check)?;
    println!(
        "opened {} bytes from {} segment(s) to {}",
        receipt.plaintext_len,
        receipt.segment_count,
        args.output.display()
    );
    println!("container digest: 0x{}", hex::encode(receipt.digest));
    Ok(())
}

/// Opens `input` into `output` with the token and `pin` (the PIN asked for before),
/// holding the container to `check`. Call [`interrupt::no_core_dumps`] before the PIN is
/// read.
pub fn open_with_token(
    token: &TokenOptions,
    pin: medledger_sealing::Pin,
    input: &std::path::Path,
    output: &std::path::Path,
    check: DigestCheck,
) -> Result<medledger_sealing::OpenReceipt, Box<dyn std::error::Error>> {
    let token = Pkcs11Token::open(&token.config(), &pin)?;
    drop(pin);
    open_with_opened_token(&token, input, output, check)
}

/// Opens `input` into `output` with a token already logged in (so a caller can check the
/// token and its PIN before a long wait), holding the container to `check`. Call it after
/// any PIN prompt: it installs the signal handlers that remove a partial output.
pub fn open_with_opened_token(
    token: &Pkcs11Token,
    input: &std::path::Path,
    output: &std::path::Path,
    check: DigestCheck,
) -> Result<medledger_sealing::OpenReceipt, Box<dyn std::error::Error>> {
    // After the PIN prompt, whose terminal settings only its own code restores.
    interrupt::remove_partial_output_on_signals()?;
    let mut progress = TerminalProgress::new("opening");
    Ok(open_file(input, output, token, check, &mut progress)?)
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((at, 'K' | 'k')) => (&text[..at], 10),
        Some((at, 'M' | 'm')) => (&text[..at], 20),
        Some((at, 'G' | 'g')) => (&text[..at], 30),
        _ => (text, 0),
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size"))?;
    number
        .checked_mul(1 << shift)
        .filter(|size| *size > 0)
        .ok_or_else(|| format!("'{text}' is out of range"))
}

pub fn parse_digest(text: &str) -> Result<[u8; 32], String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| format!("'{text}' is not 0x + 64 hex digits"))
}
