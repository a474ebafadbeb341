//! `medledger seal` and `medledger open`.

use std::path::PathBuf;

use clap::Args;
use medledger_sealing::container::DEFAULT_SEGMENT_SIZE;
use medledger_sealing::token::Pkcs11Token;
use medledger_sealing::{open_file, seal_file, DeliveryKey};

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
    /// Refuse the file unless its container digest is this one (as on chain).
    #[arg(long, value_name = "0xDIGEST", value_parser = parse_digest)]
    expect_digest: Option<[u8; 32]>,
    /// The sealed container.
    input: PathBuf,
    /// Where to write the plaintext (only ever complete).
    output: PathBuf,
}

pub fn seal(args: SealArgs) -> CommandResult {
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

pub fn open(args: OpenArgs) -> CommandResult {
    let pin = args.token.pin()?;
    let token = Pkcs11Token::open(&args.token.config(), &pin)?;
    drop(pin);
    let mut progress = TerminalProgress::new("opening");
    let receipt = open_file(
        &args.input,
        &args.output,
        &token,
        args.expect_digest,
        &mut progress,
    )?;
    println!(
        "opened {} bytes from {} segment(s) to {}",
        receipt.plaintext_len,
        receipt.segment_count,
        args.output.display()
    );
    println!("container digest: 0x{}", hex::encode(receipt.digest));
    Ok(())
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
