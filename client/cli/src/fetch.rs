//! `medledger fetch`: the buyer downloads a delivery from the custodian's endpoint.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use medledger_sealing::container::ContainerHeader;
use sp_core::{sr25519, Pair};

use crate::digest_record;
use crate::CommandResult;

/// The environment variable holding the buyer's account secret (a mnemonic or a secret URI
/// such as `//One`): never a command-line argument, where `ps` would show it.
pub const SECRET_VAR: &str = "MEDLEDGER_ACCOUNT_SECRET";

#[derive(Args)]
pub struct FetchArgs {
    /// The custodian's delivery endpoint (its `delivery_endpoint` on chain).
    #[arg(long, value_name = "URL")]
    endpoint: String,
    /// The order to download.
    #[arg(long)]
    order: u64,
    /// Refuse the download unless its container digest is this one (the receipt's
    /// `ciphertextDigest` on chain). It is recorded in `<OUT>.digest` for `medledger open`.
    #[arg(long, value_name = "0xDIGEST", value_parser = crate::envelope::parse_digest)]
    expect_digest: [u8; 32],
    /// Where to write the sealed container; an unfinished download resumes from
    /// `<OUT>.partial`.
    out: PathBuf,
}

/// The account key from [`SECRET_VAR`], or asked for on the terminal as `whose` secret.
pub fn account_signer(whose: &str) -> Result<sr25519::Pair, Box<dyn std::error::Error>> {
    let secret = crate::chain_options::secret_from_environment(whose)?;
    Ok(sr25519::Pair::from_string(&secret, None)
        .map_err(|e| format!("the account secret is not a valid sr25519 secret: {e:?}"))?)
}

pub fn fetch(args: FetchArgs) -> CommandResult {
    let signer = account_signer("buyer")?;
    let report = download_checked(
        &args.endpoint,
        args.order,
        &signer,
        &args.out,
        &args.expect_digest,
    )?;
    println!(
        "downloaded order {} ({} bytes{}) to {}; digest matches the chain",
        args.order,
        report.size,
        if report.resumed_from > 0 {
            format!(", resumed at {}", report.resumed_from)
        } else {
            String::new()
        },
        report.path.display()
    );
    println!(
        "open it with: medledger open {} <OUT.tar> (it checks the digest recorded in {})",
        report.path.display(),
        digest_record::record_path(&report.path).display()
    );
    Ok(())
}

/// Downloads `order` from `endpoint` into `out` (resuming), with a progress bar on a
/// terminal. The download is held to `expected` (the chain's receipt) while it is still
/// `<OUT>.partial`: one whose container digest differs is removed there, and only a matching
/// one replaces `out`, whose digest is then recorded for `medledger open`. `out` and
/// `<OUT>.digest` are touched only after that: whatever fails before (a refused or broken
/// download, an endpoint not ready), an earlier verified copy and its record stay.
pub fn download_checked(
    endpoint: &str,
    order: u64,
    signer: &sr25519::Pair,
    out: &std::path::Path,
    expected: &[u8; 32],
) -> Result<medledger_delivery_http::FetchReport, Box<dyn std::error::Error>> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template(
            "downloading [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    });
    let fetched = medledger_delivery_http::fetch_checked(
        endpoint,
        order,
        signer,
        out,
        &mut |done, total| {
            if let Some(bar) = &bar {
                if let Some(total) = total {
                    bar.set_length(total);
                }
                bar.set_position(done);
            }
        },
        &mut |partial, size| check_digest(partial, size, expected),
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = match fetched {
        Ok(report) => report,
        Err(medledger_delivery_http::FetchError::Rejected { detail, out }) => {
            return Err(format!(
                "{detail}: removed it, and left {} as it was; ask the custodian, or dispute \
                 the order",
                out.display()
            )
            .into())
        }
        Err(error) => return Err(error.into()),
    };
    digest_record::write(&report.path, expected)?;
    Ok(report)
}

/// Whether the finished download at `partial` (`size` bytes) is a sealed container whose
/// digest is `expected`; the `Err` text says why not.
fn check_digest(partial: &std::path::Path, size: u64, expected: &[u8; 32]) -> Result<(), String> {
    let mut file =
        std::fs::File::open(partial).map_err(|e| format!("{}: {e}", partial.display()))?;
    let digest = ContainerHeader::read(&mut file, size)
        .map_err(|e| format!("the download is not a sealed container ({e})"))?
        .digest();
    if &digest != expected {
        return Err(format!(
            "the download's digest 0x{} is not the chain's 0x{}",
            hex::encode(digest),
            hex::encode(expected)
        ));
    }
    Ok(())
}

#[derive(Args)]
pub struct PayoutsArgs {
    /// The custodian's delivery endpoint (its `delivery_endpoint` on chain).
    #[arg(long, value_name = "URL")]
    endpoint: String,
    /// Print the claims as a JSON array (the arguments of `revenue.claim`).
    #[arg(long)]
    json: bool,
}

/// `medledger payouts`: the owner's payout claims at one custodian, each ready to submit.
pub fn payouts(args: PayoutsArgs) -> CommandResult {
    let signer = account_signer("owner")?;
    let claims = medledger_delivery_http::fetch_payouts(&args.endpoint, &signer)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&claims)?);
        return Ok(());
    }
    if claims.is_empty() {
        println!("{} holds no payout for this account", args.endpoint);
    }
    for claim in &claims {
        println!(
            "{} earned in all up to epoch {} (leaf {}) from custodian {}",
            claim.amount, claim.epoch, claim.index, claim.custodian
        );
        println!(
            "  claim with revenue.claim({}, {}, {}, {{ owner: {}, amount: {}, salt: {} }}, [{}])",
            claim.custodian,
            claim.epoch,
            claim.index,
            claim.owner,
            claim.amount,
            claim.salt,
            claim.proof.join(", ")
        );
    }
    Ok(())
}
