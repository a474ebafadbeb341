//! Signed transactions for integration tests, built from the runtime's own types (what a wallet
//! does with the metadata), and submitted over JSON-RPC.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use std::time::Duration;

use medledger_runtime::{
    Address, Runtime, RuntimeCall, Signature, SignedPayload, TxExtension, UncheckedExtrinsic,
    VERSION,
};
use medledger_test_harness::{decode_hex, wait_until, Node, Result};
use serde_json::json;
use sp_keyring::Sr25519Keyring;
use sp_runtime::{codec::Encode, generic::Era};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::from("0x"), |mut s, b| {
        s.push_str(&format!("{b:02x}"));
        s
    })
}

/// The account's next nonce as the node sees it (pool included).
pub fn next_nonce(node: &Node, who: Sr25519Keyring) -> Result<u32> {
    let nonce = node.rpc(
        "system_accountNextIndex",
        json!([who.to_account_id().to_string()]),
    )?;
    nonce
        .as_u64()
        .map(|n| n as u32)
        .ok_or_else(|| format!("bad nonce {nonce}"))
}

/// `call` signed by `signer` with an immortal era, as polkadot.js would send it.
pub fn signed(node: &Node, signer: Sr25519Keyring, call: RuntimeCall) -> Result<String> {
    let genesis: sp_core::H256 = {
        let hash = node.block_hash(0)?.ok_or("no genesis hash")?;
        sp_core::H256::from_slice(&decode_hex(&hash)?)
    };
    let nonce = next_nonce(node, signer)?;
    let tx_ext: TxExtension = (
        frame_system::AuthorizeCall::<Runtime>::new(),
        frame_system::CheckNonZeroSender::<Runtime>::new(),
        frame_system::CheckSpecVersion::<Runtime>::new(),
        frame_system::CheckTxVersion::<Runtime>::new(),
        frame_system::CheckGenesis::<Runtime>::new(),
        frame_system::CheckEra::<Runtime>::from(Era::Immortal),
        frame_system::CheckNonce::<Runtime>::from(nonce),
        frame_system::CheckWeight::<Runtime>::new(),
        pallet_transaction_payment::ChargeTransactionPayment::<Runtime>::from(0).into(),
        frame_metadata_hash_extension::CheckMetadataHash::<Runtime>::new(false),
        frame_system::WeightReclaim::<Runtime>::new(),
    );
    let implicit = (
        (),
        (),
        VERSION.spec_version,
        VERSION.transaction_version,
        genesis,
        genesis,
        (),
        (),
        (),
        None,
        (),
    );
    let payload = SignedPayload::from_raw(call.clone(), tx_ext.clone(), implicit);
    let signature = payload.using_encoded(|bytes| signer.sign(bytes));
    let xt = UncheckedExtrinsic::new_signed(
        call,
        Address::Id(signer.to_account_id()),
        Signature::Sr25519(signature),
        tx_ext,
    );
    Ok(hex(&xt.encode()))
}

/// Signs and submits `call`, then waits until the signer's nonce moved past it (included).
pub fn submit(node: &Node, signer: Sr25519Keyring, call: RuntimeCall) -> Result<()> {
    let before = next_nonce(node, signer)?;
    let xt = signed(node, signer, call)?;
    node.rpc("author_submitExtrinsic", json!([xt]))?;
    wait_until(
        "the transaction to be included",
        Duration::from_secs(60),
        || {
            let block_nonce = node.rpc(
                "state_call",
                json!([
                    "AccountNonceApi_account_nonce",
                    hex(&signer.to_account_id().encode())
                ]),
            )?;
            let bytes = decode_hex(block_nonce.as_str().ok_or("bad state_call result")?)?;
            let nonce = u32::from_le_bytes(bytes[..4].try_into().map_err(|_| "short nonce")?);
            Ok((nonce > before).then_some(()))
        },
    )
}

/// A runtime API call at the best block, SCALE-decoded.
pub fn runtime_api<T: sp_runtime::codec::Decode>(
    node: &Node,
    method: &str,
    args: impl Encode,
) -> Result<T> {
    let result = node.rpc("state_call", json!([method, hex(&args.encode())]))?;
    let bytes = decode_hex(result.as_str().ok_or("bad state_call result")?)?;
    T::decode(&mut &bytes[..]).map_err(|e| format!("{method}: undecodable result: {e}"))
}

/// Free balance of an account (System.Account storage).
pub fn free_balance(node: &Node, who: Sr25519Keyring) -> Result<u128> {
    let account = who.to_account_id();
    let mut key = sp_io::hashing::twox_128(b"System").to_vec();
    key.extend(sp_io::hashing::twox_128(b"Account"));
    key.extend(sp_io::hashing::blake2_128(&account.encode()));
    key.extend(account.encode());
    let value = node.rpc("state_getStorage", json!([hex(&key)]))?;
    let bytes = decode_hex(value.as_str().ok_or("no account")?)?;
    let info: frame_system::AccountInfo<u32, pallet_balances::AccountData<u128>> =
        sp_runtime::codec::Decode::decode(&mut &bytes[..]).map_err(|e| e.to_string())?;
    Ok(info.data.free)
}
