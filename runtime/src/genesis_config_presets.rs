//! Genesis presets: `development` (one authority, Alice, with sudo) and `local_testnet`
//! (four hospital validators — Alice, Bob, Charlie, Dave — and no sudo).

use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

use crate::{
    AccountId, AuraConfig, BalancesConfig, GrandpaConfig, RuntimeGenesisConfig, SudoConfig, UNIT,
};

/// Balance given to each pre-funded development account.
const ENDOWMENT: u128 = 1_000_000 * UNIT;

/// A genesis config patch for the given authorities, funded accounts (each given `endowment`)
/// and optional sudo key.
pub fn genesis(
    authorities: Vec<(AuraId, GrandpaId)>,
    endowed_accounts: Vec<AccountId>,
    sudo_key: Option<AccountId>,
    endowment: u128,
) -> Value {
    build_struct_json_patch!(RuntimeGenesisConfig {
        balances: BalancesConfig {
            balances: endowed_accounts.iter().cloned().map(|account| (account, endowment)).collect(),
        },
        aura: AuraConfig {
            authorities: authorities.iter().map(|(aura, _)| aura.clone()).collect(),
        },
        grandpa: GrandpaConfig {
            authorities: authorities.iter().map(|(_, grandpa)| (grandpa.clone(), 1)).collect(),
        },
        sudo: SudoConfig { key: sudo_key },
    })
}

/// The development validators: Aura (sr25519) and GRANDPA (ed25519) keys of `//Alice`, … .
const DEV_VALIDATORS: [(Sr25519Keyring, Ed25519Keyring); 4] = [
    (Sr25519Keyring::Alice, Ed25519Keyring::Alice),
    (Sr25519Keyring::Bob, Ed25519Keyring::Bob),
    (Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
    (Sr25519Keyring::Dave, Ed25519Keyring::Dave),
];

fn dev_authority((aura, grandpa): (Sr25519Keyring, Ed25519Keyring)) -> (AuraId, GrandpaId) {
    (aura.public().into(), grandpa.public().into())
}

fn dev_accounts() -> Vec<AccountId> {
    Sr25519Keyring::iter().map(|k| k.to_account_id()).collect()
}

/// One authority (Alice), sudo Alice.
pub fn development_config_genesis() -> Value {
    genesis(
        vec![dev_authority(DEV_VALIDATORS[0])],
        dev_accounts(),
        Some(Sr25519Keyring::Alice.to_account_id()),
        ENDOWMENT,
    )
}

/// Four hospital validators (Alice, Bob, Charlie, Dave), no sudo.
pub fn local_testnet_genesis() -> Value {
    genesis(
        DEV_VALIDATORS.into_iter().map(dev_authority).collect(),
        dev_accounts(),
        None,
        ENDOWMENT,
    )
}

/// The JSON patch for a named preset, or `None` if the name is unknown.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
    let patch = match id.as_ref() {
        DEV_RUNTIME_PRESET => development_config_genesis(),
        LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis(),
        _ => return None,
    };
    Some(
        serde_json::to_string(&patch)
            .expect("serialization to json is expected to work. qed.")
            .into_bytes(),
    )
}

pub fn preset_names() -> Vec<PresetId> {
    vec![PresetId::from(DEV_RUNTIME_PRESET), PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET)]
}
