//! Chain specifications: the built-in `dev` and `local` chains, specs loaded from files, and a
//! consortium's own spec made from a list of hospitals.

use std::path::PathBuf;

use medledger_runtime::{genesis_config_presets, AccountId, WASM_BINARY};
use sc_service::{ChainType, Properties};
use serde::Deserialize;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_core::crypto::Ss58Codec;

/// MedLedger's chain spec. No extensions: everything a node needs is in the genesis state.
pub type ChainSpec = sc_service::GenericChainSpec;

fn wasm_binary() -> Result<&'static [u8], String> {
    WASM_BINARY.ok_or_else(|| {
        "this node was built without the wasm runtime (SKIP_WASM_BUILD was set); \
         rebuild it without SKIP_WASM_BUILD"
            .to_string()
    })
}

/// Token symbol and decimals, so wallets show amounts right.
pub fn chain_properties() -> Properties {
    let mut properties = Properties::new();
    properties.insert("tokenSymbol".into(), medledger_runtime::TOKEN_SYMBOL.into());
    properties.insert(
        "tokenDecimals".into(),
        medledger_runtime::TOKEN_DECIMALS.into(),
    );
    properties.insert("ss58Format".into(), medledger_runtime::SS58_PREFIX.into());
    properties
}

/// Single-authority development chain (Alice authors; the four development hospitals vote).
pub fn development_chain_spec() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm_binary()?, None)
        .with_name("MedLedger Development")
        .with_id("medledger_dev")
        .with_chain_type(ChainType::Development)
        .with_genesis_config_preset_name(sp_genesis_builder::DEV_RUNTIME_PRESET)
        .with_properties(chain_properties())
        .build())
}

/// Four hospital validators on one machine (Alice, Bob, Charlie, Dave).
pub fn local_chain_spec() -> Result<ChainSpec, String> {
    Ok(ChainSpec::builder(wasm_binary()?, None)
        .with_name("MedLedger Local Consortium")
        .with_id("medledger_local")
        .with_chain_type(ChainType::Local)
        .with_protocol_id("medledger")
        .with_genesis_config_preset_name(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET)
        .with_properties(chain_properties())
        .build())
}

/// Resolves `--chain`: `dev`, `local` or a path to a JSON spec (plain or raw).
pub fn load_spec(id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
    Ok(match id {
        "dev" => Box::new(development_chain_spec()?),
        "" | "local" => Box::new(local_chain_spec()?),
        path => {
            let path = PathBuf::from(path);
            if !path.exists() {
                return Err(format!(
                    "chain spec {} not found: pass `dev`, `local` or the path of a JSON chain spec",
                    path.display()
                ));
            }
            Box::new(ChainSpec::from_json_file(path.clone()).map_err(|e| {
                format!(
                    "chain spec {} is not a valid chain specification: {e}",
                    path.display()
                )
            })?)
        }
    })
}

/// A consortium's founding document: `medledger-node consortium-spec --hospitals FILE`.
///
/// ```json
/// { "name": "Lakeside Health Consortium", "id": "lakeside",
///   "hospitals": [ { "name": "St Mary", "account": "5F…", "aura": "5F…", "grandpa": "5G…",
///                    "delivery_endpoint": "https://data.stmary.example", "peer_ids": ["12D3Koo…"] }, … ] }
/// ```
/// `account` is the hospital's funded account; `aura` (sr25519) and `grandpa` (ed25519) are the
/// public session keys of its validator node, all in SS58 form (`medledger-node key inspect`);
/// `peer_ids` are its nodes' libp2p ids (`medledger-node key inspect-node-key`), the only ones
/// (with regulators') allowed to connect.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsortiumFile {
    pub name: String,
    pub id: String,
    pub hospitals: Vec<HospitalEntry>,
    /// Initial balance of each hospital account, in whole tokens.
    #[serde(default = "default_endowment")]
    pub endowment: u128,
    /// Blocks per session: validator-set changes take effect at session boundaries.
    #[serde(default = "default_session_length")]
    pub session_length: u32,
    /// Blocks per revenue epoch: owners' payout roots are built per hospital per epoch.
    #[serde(default = "default_revenue_epoch")]
    pub revenue_epoch: u32,
}

fn default_revenue_epoch() -> u32 {
    medledger_runtime::DAYS
}

fn default_session_length() -> u32 {
    medledger_runtime::HOURS
}

fn default_endowment() -> u128 {
    1_000_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HospitalEntry {
    pub name: String,
    pub account: String,
    pub aura: String,
    pub grandpa: String,
    pub delivery_endpoint: String,
    pub peer_ids: Vec<String>,
}

/// The smallest consortium that keeps finalizing with one validator down (GRANDPA needs > 2/3).
pub const MIN_HOSPITALS: usize = 4;

fn parse_ss58<T: Ss58Codec>(hospital: &str, field: &str, value: &str) -> Result<T, String> {
    T::from_ss58check(value)
        .map_err(|e| format!("hospital {hospital:?}: `{field}` is not a valid SS58 key ({e:?})"))
}

impl ConsortiumFile {
    /// The chain spec for this consortium: its hospitals are the validators.
    pub fn chain_spec(&self) -> Result<ChainSpec, String> {
        if self.hospitals.len() < MIN_HOSPITALS {
            return Err(format!(
                "a consortium needs at least {MIN_HOSPITALS} hospitals, the list has {}",
                self.hospitals.len()
            ));
        }
        let mut hospitals = Vec::new();
        let mut accounts = Vec::new();
        for h in &self.hospitals {
            let aura: AuraId =
                parse_ss58::<sp_core::sr25519::Public>(&h.name, "aura", &h.aura)?.into();
            let grandpa: GrandpaId =
                parse_ss58::<sp_core::ed25519::Public>(&h.name, "grandpa", &h.grandpa)?.into();
            let account: AccountId = parse_ss58(&h.name, "account", &h.account)?;
            if accounts.contains(&account) {
                return Err(format!("hospital {:?}: account listed twice", h.name));
            }
            if h.peer_ids.is_empty() {
                return Err(format!(
                    "hospital {:?}: list at least one node peer id",
                    h.name
                ));
            }
            let peer_ids = h
                .peer_ids
                .iter()
                .map(|p| {
                    p.parse::<sc_network::PeerId>()
                        .map(|id| id.to_bytes())
                        .map_err(|e| format!("hospital {:?}: bad peer id {p:?}: {e}", h.name))
                })
                .collect::<Result<Vec<_>, _>>()?;
            accounts.push(account.clone());
            hospitals.push(genesis_config_presets::Hospital {
                account,
                session_keys: Some((aura, grandpa)),
                name: h.name.clone().into_bytes(),
                endpoint: h.delivery_endpoint.clone().into_bytes(),
                peer_ids,
            });
        }
        let endowment = self.endowment.saturating_mul(medledger_runtime::UNIT);
        let patch = genesis_config_presets::genesis(
            hospitals,
            Vec::new(),
            accounts,
            endowment,
            self.session_length,
            self.revenue_epoch,
        );
        Ok(ChainSpec::builder(wasm_binary()?, None)
            .with_name(&self.name)
            .with_id(&self.id)
            .with_chain_type(ChainType::Live)
            .with_protocol_id(&self.id)
            .with_genesis_config_patch(patch)
            .with_properties(chain_properties())
            .build())
    }
}

#[derive(Debug, clap::Parser)]
pub struct ConsortiumSpecCmd {
    /// JSON file listing the consortium's hospitals (see chain-spec/README.md).
    #[arg(long, value_name = "FILE")]
    pub hospitals: PathBuf,
    /// Write the raw spec (storage keys), the form nodes are started with.
    #[arg(long)]
    pub raw: bool,
    /// Output file (default: stdout).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl ConsortiumSpecCmd {
    pub fn run(&self) -> Result<(), String> {
        let text = std::fs::read_to_string(&self.hospitals)
            .map_err(|e| format!("cannot read {}: {e}", self.hospitals.display()))?;
        let file: ConsortiumFile = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{} is not a valid hospital list: {e}",
                self.hospitals.display()
            )
        })?;
        let spec = file.chain_spec()?;
        let json = sc_service::ChainSpec::as_json(&spec, self.raw)?;
        match &self.output {
            Some(path) => std::fs::write(path, json)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
            None => {
                use std::io::Write;
                // A closed pipe (`| head`) is not an error worth a panic.
                let _ = writeln!(std::io::stdout().lock(), "{json}");
            }
        }
        Ok(())
    }
}
