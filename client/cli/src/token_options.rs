//! Options every token-using command shares, and how the PIN is obtained: from
//! `MEDLEDGER_PIN` or a prompt on the terminal, never from an argument.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Args;
use medledger_sealing::token::{SlotSelector, TokenConfig, DEFAULT_KEY_LABEL, DEFAULT_MODULE};
use medledger_sealing::Pin;

pub const PIN_VARIABLE: &str = "MEDLEDGER_PIN";

#[derive(Args, Clone, Debug)]
pub struct TokenOptions {
    /// PKCS#11 module to load.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_MODULE, env = "MEDLEDGER_PKCS11_MODULE")]
    pub module: PathBuf,
    /// Use the token in this PKCS#11 slot.
    #[arg(long, value_name = "ID", conflicts_with = "token_label")]
    pub slot: Option<u64>,
    /// Use the token with this label.
    #[arg(long, value_name = "LABEL")]
    pub token_label: Option<String>,
    /// Label of the delivery key on the token (its public key is the one with the
    /// same CKA_ID).
    #[arg(long, value_name = "LABEL", default_value = DEFAULT_KEY_LABEL)]
    pub key_label: String,
    /// CKA_ID of the delivery key pair, in hex (as `medledger token list` shows it):
    /// picks the pair whatever its label, e.g. on a token holding several with one
    /// label. With `token init`, the id the new pair gets.
    // The full path keeps clap from reading `Vec` as "many values".
    #[arg(long, value_name = "HEX", value_parser = parse_key_id)]
    pub key_id: Option<::std::vec::Vec<u8>>,
}

fn parse_key_id(text: &str) -> Result<Vec<u8>, String> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
        .ok()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| format!("'{text}' is not a key id (hex digits, as `token list` shows)"))
}

impl TokenOptions {
    pub fn config(&self) -> TokenConfig {
        let slot = match (&self.slot, &self.token_label) {
            (Some(id), _) => SlotSelector::SlotId(*id),
            (None, Some(label)) => SlotSelector::TokenLabel(label.clone()),
            (None, None) => SlotSelector::Only,
        };
        TokenConfig {
            module: self.module.clone(),
            slot,
            key_label: self.key_label.clone(),
            key_id: self.key_id.clone(),
        }
    }

    /// The user PIN: `MEDLEDGER_PIN`, else asked for on the terminal.
    pub fn pin(&self) -> Result<Pin, String> {
        if let Ok(pin) = std::env::var(PIN_VARIABLE) {
            return Ok(Pin::from(pin));
        }
        if !std::io::stdin().is_terminal() {
            return Err(format!(
                "no token PIN — set {PIN_VARIABLE} or run on a terminal to be asked"
            ));
        }
        rpassword::prompt_password("token PIN: ")
            .map(Pin::from)
            .map_err(|e| format!("cannot read the PIN: {e}"))
    }
}
