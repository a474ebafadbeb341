//! `medledger token init|list|pubkey`.

use clap::Subcommand;
use medledger_sealing::token::{generate_delivery_key, list_tokens, read_delivery_key};
use medledger_sealing::DeliveryKey;

use crate::token_options::TokenOptions;
use crate::CommandResult;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Generate the delivery key pair on the token (P-256, private key never leaves it).
    Init(TokenOptions),
    /// List present tokens and their delivery keys.
    List(TokenOptions),
    /// Print the delivery public key, in the form the chain registers.
    Pubkey {
        #[command(flatten)]
        token: TokenOptions,
        /// Print the age recipient (age1tag1…) instead.
        #[arg(long)]
        age: bool,
    },
}

pub fn run(command: TokenCommand) -> CommandResult {
    match command {
        TokenCommand::Init(options) => {
            let pin = options.pin()?;
            let key = generate_delivery_key(&options.config(), &pin)?;
            println!(
                "delivery key '{}' generated on the token",
                options.key_label
            );
            print_key(&key);
        }
        TokenCommand::List(options) => {
            let tokens = list_tokens(&options.module, &options.key_label)?;
            if tokens.is_empty() {
                println!("no initialized token present");
            }
            for token in tokens {
                println!(
                    "slot {}  label '{}'  {} {}  serial {}",
                    token.slot_id, token.label, token.manufacturer, token.model, token.serial
                );
                if token.delivery_keys.is_empty() {
                    println!("  no delivery key labelled '{}'", options.key_label);
                }
                for key in token.delivery_keys {
                    println!(
                        "  delivery key id {}  {}",
                        hex::encode(&key.id),
                        key.key.to_chain_hex()
                    );
                }
            }
        }
        TokenCommand::Pubkey { token, age } => {
            let key = read_delivery_key(&token.config())?;
            if age {
                println!("{}", key.age_recipient());
            } else {
                println!("{}", key.to_chain_hex());
            }
        }
    }
    Ok(())
}

fn print_key(key: &DeliveryKey) {
    println!("public key (register on chain): {}", key.to_chain_hex());
    println!("age recipient:                  {}", key.age_recipient());
}
