//! Genesis presets: `development` (four member hospitals of which Alice alone authors) and
//! `local_testnet` (four hospital validators — Alice, Bob, Charlie, Dave). Neither has sudo:
//! Root is a two-thirds vote of the hospitals (three of the four development keys).
//!
//! Development node keys: the local network runs hospital `n` (1-based) with the libp2p node key
//! `0x00…0n` (`--node-key`), so its peer id is fixed and can be authorised in genesis. These keys
//! are public: never use them outside a local test network.

use alloc::{vec, vec::Vec};
use frame_support::build_struct_json_patch;
use serde_json::Value;
use sp_consensus_aura::sr25519::AuthorityId as AuraId;
use sp_consensus_grandpa::AuthorityId as GrandpaId;
use sp_genesis_builder::{PresetId, DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET};
use sp_keyring::{Ed25519Keyring, Sr25519Keyring};

use crate::{
    opaque::SessionKeys, AccountId, BalancesConfig, ConsortiumConfig, RevenueConfig,
    RuntimeGenesisConfig, SessionConfig, UNIT,
};
use sp_runtime::Perbill;

/// Balance given to each pre-funded development account.
const ENDOWMENT: u128 = 1_000_000 * UNIT;
/// Blocks per session on development chains: validator changes take effect within a minute.
pub const DEV_SESSION_LENGTH: u32 = 10;
/// Blocks per revenue epoch on development chains: owners can claim about a minute after a
/// sale is paid out.
pub const DEV_REVENUE_EPOCH: u32 = 20;

/// A founding hospital: its account (also its validator id), its validator's session keys (a
/// member without keys does not author until it registers them), name, delivery endpoint and
/// node peer ids.
pub struct Hospital {
    pub account: AccountId,
    pub session_keys: Option<(AuraId, GrandpaId)>,
    pub name: Vec<u8>,
    pub endpoint: Vec<u8>,
    pub peer_ids: Vec<Vec<u8>>,
}

/// A registered regulator: account, name and its observer node's peer id.
pub struct Regulator {
    pub account: AccountId,
    pub name: Vec<u8>,
    pub peer_id: Vec<u8>,
}

/// A genesis config patch: the hospitals are the consortium and the validators; regulators may
/// sync; `accounts` are funded with `endowment` each.
pub fn genesis(
    hospitals: Vec<Hospital>,
    regulators: Vec<Regulator>,
    accounts: Vec<AccountId>,
    endowment: u128,
    session_length: u32,
    revenue_epoch: u32,
) -> Value {
    build_struct_json_patch!(RuntimeGenesisConfig {
        balances: BalancesConfig {
            balances: accounts
                .iter()
                .cloned()
                .map(|account| (account, endowment))
                .collect(),
        },
        session: SessionConfig {
            keys: hospitals
                .iter()
                .filter_map(|h| {
                    let (aura, grandpa) = h.session_keys.clone()?;
                    Some((
                        h.account.clone(),
                        h.account.clone(),
                        SessionKeys { aura, grandpa },
                    ))
                })
                .collect::<Vec<_>>(),
        },
        consortium: ConsortiumConfig {
            hospitals: hospitals
                .iter()
                .map(|h| (
                    h.account.clone(),
                    h.name.clone(),
                    h.endpoint.clone(),
                    h.peer_ids.clone()
                ))
                .collect(),
            regulators: regulators
                .into_iter()
                .map(|r| (r.account, r.name, r.peer_id))
                .collect::<Vec<_>>(),
            session_length,
            // The runtime's default (two days); a test chain may shorten it.
            proposal_lifetime: 0,
        },
        revenue: RevenueConfig {
            // Patients first: 70 % to the owners of the records sold, 20 % to the custodian
            // hospital, 10 % to the platform treasury (changed by the consortium's vote).
            shares: Some(pallet_revenue::RevenueShares {
                owners: Perbill::from_percent(70),
                custodian: Perbill::from_percent(20),
                treasury: Perbill::from_percent(10),
            }),
            epoch_length: Some(revenue_epoch),
        },
    })
}

/// Peer ids (binary) of the development node keys `0x00…01` … `0x00…04`.
pub const DEV_PEER_IDS: [[u8; 38]; 4] = [
    hex_literal::hex!(
        "0024080112204cb5abf6ad79fbf5abbccafcc269d85cd2651ed4b885b5869f241aedf0a5ba29"
    ),
    hex_literal::hex!(
        "0024080112207422b9887598068e32c4448a949adb290d0f4e35b9e01b0ee5f1a1e600fe2674"
    ),
    hex_literal::hex!(
        "002408011220f381626e41e7027ea431bfe3009e94bdd25a746beec468948d6c3c7c5dc9a54b"
    ),
    hex_literal::hex!(
        "002408011220fd50b8e3b144ea244fbf7737f550bc8dd0c2650bbc1aada833ca17ff8dbf329b"
    ),
];

/// Development hospital `n` (0-based): keyring `//Alice`, `//Bob`, … and node key `n + 1`.
fn dev_hospital(n: usize) -> Hospital {
    let (sr, ed) = [
        (Sr25519Keyring::Alice, Ed25519Keyring::Alice),
        (Sr25519Keyring::Bob, Ed25519Keyring::Bob),
        (Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
        (Sr25519Keyring::Dave, Ed25519Keyring::Dave),
    ][n];
    let name = [
        "Alice General",
        "Bob Memorial",
        "Charlie Clinic",
        "Dave Hospital",
    ][n];
    Hospital {
        account: sr.to_account_id(),
        session_keys: Some((sr.public().into(), ed.public().into())),
        name: name.as_bytes().to_vec(),
        endpoint: alloc::format!("http://127.0.0.1:{}", 8800 + n).into_bytes(),
        peer_ids: vec![DEV_PEER_IDS[n].to_vec()],
    }
}

/// Peer id of development node key `0x00…06`: the local network's regulator observer.
pub const DEV_REGULATOR_PEER_ID: [u8; 38] = hex_literal::hex!(
    "002408011220b4c92afb3ba57f3ab959ffe6d319c98484a2155a0f4c65b2c37011ffd197b075"
);

/// The development regulator (account `//Eve`) observing with node key 6.
fn dev_regulator() -> Regulator {
    Regulator {
        account: Sr25519Keyring::Eve.to_account_id(),
        name: b"Eve Health Authority".to_vec(),
        peer_id: DEV_REGULATOR_PEER_ID.to_vec(),
    }
}

fn dev_accounts() -> Vec<AccountId> {
    Sr25519Keyring::iter().map(|k| k.to_account_id()).collect()
}

/// Four member hospitals of which only Alice has session keys, so Alice alone authors (the
/// session manager keeps that set: fewer than four members have keys).
pub fn development_config_genesis() -> Value {
    let hospitals = (0..4)
        .map(dev_hospital)
        .enumerate()
        .map(|(n, h)| Hospital {
            session_keys: if n == 0 { h.session_keys } else { None },
            ..h
        })
        .collect();
    genesis(
        hospitals,
        vec![dev_regulator()],
        dev_accounts(),
        ENDOWMENT,
        DEV_SESSION_LENGTH,
        DEV_REVENUE_EPOCH,
    )
}

/// Four hospital validators (Alice, Bob, Charlie, Dave).
pub fn local_testnet_genesis() -> Value {
    genesis(
        (0..4).map(dev_hospital).collect(),
        vec![dev_regulator()],
        dev_accounts(),
        ENDOWMENT,
        DEV_SESSION_LENGTH,
        DEV_REVENUE_EPOCH,
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
    vec![
        PresetId::from(DEV_RUNTIME_PRESET),
        PresetId::from(LOCAL_TESTNET_RUNTIME_PRESET),
    ]
}
