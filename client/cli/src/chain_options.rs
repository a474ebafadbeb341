//! What every command that talks to the chain shares: the node's address, the account key
//! (from `MEDLEDGER_ACCOUNT_SECRET`, a key file or a prompt — never an argument), `--json`,
//! and whether to wait for finality.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use medledger_chain::{Account, Chain, Included};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::fetch::SECRET_VAR;

#[derive(Args, Clone, Debug)]
pub struct ChainOptions {
    /// The node's JSON-RPC address (WebSocket; http:// is taken as ws://).
    #[arg(
        long,
        value_name = "URL",
        default_value = "ws://127.0.0.1:9944",
        env = "MEDLEDGER_RPC_URL",
        global = true
    )]
    pub rpc_url: String,
    /// Print a machine-readable JSON summary instead of sentences.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Args, Clone, Debug)]
pub struct KeyOptions {
    /// A file holding the account's mnemonic or secret URI (else `MEDLEDGER_ACCOUNT_SECRET`,
    /// else a prompt on the terminal).
    #[arg(long, value_name = "PATH", global = true)]
    pub key_file: Option<PathBuf>,
    /// Return once the transaction is in a block, without waiting for it to be finalized.
    #[arg(long, global = true)]
    pub no_wait: bool,
}

impl KeyOptions {
    /// The account secret, as text (mnemonic or secret URI).
    pub fn secret(&self, whose: &str) -> Result<Zeroizing<String>, String> {
        if let Some(path) = &self.key_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("key file {}: {e}", path.display()))?;
            return Ok(Zeroizing::new(text.trim().to_string()));
        }
        secret_from_environment(whose)
    }

    pub fn account(&self, whose: &str) -> Result<Account, String> {
        let secret = self.secret(whose)?;
        Account::from_secret(&secret).map_err(|e| e.to_string())
    }

    /// The account derived from the secret along `path` (`//medledger//…`).
    pub fn derived_account(&self, whose: &str, path: &str) -> Result<Account, String> {
        let secret = self.secret(whose)?;
        Account::from_secret(&format!("{}{path}", secret.as_str())).map_err(|e| e.to_string())
    }

    pub fn finalized(&self) -> bool {
        !self.no_wait
    }
}

/// `MEDLEDGER_ACCOUNT_SECRET`, else asked for on the terminal as `whose` secret.
pub fn secret_from_environment(whose: &str) -> Result<Zeroizing<String>, String> {
    match std::env::var(SECRET_VAR) {
        Ok(secret) => Ok(Zeroizing::new(secret.trim().to_string())),
        Err(_) if std::io::stdin().is_terminal() => {
            rpassword::prompt_password(format!("{whose} account secret (mnemonic or //URI): "))
                .map(|s| Zeroizing::new(s.trim().to_string()))
                .map_err(|e| format!("cannot read the secret: {e}"))
        }
        Err(_) => Err(format!(
            "no account secret: set {SECRET_VAR}, pass --key-file, or run on a terminal to be \
             asked"
        )),
    }
}

impl ChainOptions {
    pub fn connect(&self) -> Result<Chain, String> {
        Chain::connect(&self.rpc_url).map_err(|e| e.to_string())
    }

    /// Prints `summary` (human) or `value` (JSON).
    pub fn print(&self, summary: &str, value: Value) {
        if self.json {
            println!("{value}");
        } else {
            println!("{summary}");
        }
    }

    /// Reports a transaction: what it did and where it ended up.
    pub fn print_tx(&self, what: &str, included: &Included, mut extra: Value) {
        if self.json {
            if let Value::Object(map) = &mut extra {
                map.insert("block".into(), json!(included.block_number));
                map.insert("block_hash".into(), json!(included.block_hash));
                map.insert("finalized".into(), json!(included.finalized));
                map.insert("events".into(), json!(included.events));
            }
            println!("{extra}");
        } else {
            println!(
                "{what}: in block {} ({}){}",
                included.block_number,
                included.block_hash,
                if included.finalized {
                    ", finalized"
                } else {
                    ", not yet finalized"
                }
            );
        }
    }
}

/// An amount of MED (12 decimals) in whole units and decimals, e.g. `12.5 MED`.
pub fn med(amount: u128) -> String {
    const UNIT: u128 = 1_000_000_000_000;
    let whole = amount / UNIT;
    let fraction = amount % UNIT;
    if fraction == 0 {
        format!("{whole} MED")
    } else {
        let digits = format!("{fraction:012}");
        format!("{whole}.{} MED", digits.trim_end_matches('0'))
    }
}

/// An amount given as `12.5` (MED) or `12500000000000u` (smallest units).
pub fn parse_amount(text: &str) -> Result<u128, String> {
    const DECIMALS: usize = 12;
    if let Some(units) = text.strip_suffix('u') {
        return units
            .parse()
            .map_err(|_| format!("'{text}' is not an amount"));
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > DECIMALS || whole.is_empty() && fraction.is_empty() {
        return Err(format!(
            "'{text}' is not an amount of MED (12 decimals at most)"
        ));
    }
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| format!("'{text}' is not an amount of MED"))?
    };
    let fraction: u128 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<DECIMALS$}")
            .parse()
            .map_err(|_| format!("'{text}' is not an amount of MED"))?
    };
    whole
        .checked_mul(10u128.pow(DECIMALS as u32))
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(|| format!("'{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip() {
        assert_eq!(parse_amount("12.5").unwrap(), 12_500_000_000_000);
        assert_eq!(parse_amount("7u").unwrap(), 7);
        assert_eq!(parse_amount("0.000000000001").unwrap(), 1);
        assert!(parse_amount("1.0000000000001").is_err());
        assert!(parse_amount("x").is_err());
        assert_eq!(med(12_500_000_000_000), "12.5 MED");
        assert_eq!(med(3_000_000_000_000), "3 MED");
    }
}
