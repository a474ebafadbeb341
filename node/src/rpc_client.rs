//! A small blocking JSON-RPC client over HTTP for the node's own command-line tools
//! (`register-records`, `audit-delivery`), which talk to a running node as any wallet would.

use std::time::Duration;

use codec::{Decode, Encode};
use medledger_runtime::{AccountId, Hash, Nonce};
use serde_json::{json, Value};

/// A blocking JSON-RPC client over HTTP.
pub struct Rpc {
    url: String,
    agent: ureq::Agent,
}

impl Rpc {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build(),
        }
    }

    pub fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response: Value = self
            .agent
            .post(&self.url)
            .send_json(request)
            .map_err(|e| format!("{method} at {}: {e}", self.url))?
            .into_json()
            .map_err(|e| format!("{method} at {}: {e}", self.url))?;
        if let Some(error) = response.get("error") {
            return Err(format!("{method}: {}", error["message"]));
        }
        Ok(response["result"].clone())
    }

    pub fn hash(&self, value: Value) -> Result<Hash, String> {
        let text = value.as_str().ok_or("the node returned no block hash")?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim_start_matches("0x"), &mut bytes)
            .map_err(|e| format!("bad block hash {text}: {e}"))?;
        Ok(Hash::from(bytes))
    }

    /// The account's nonce in the best block (transactions in the pool not counted).
    pub fn included_nonce(&self, who: &AccountId) -> Result<Nonce, String> {
        self.runtime_api("AccountNonceApi_account_nonce", who)
    }

    /// A storage value at the best block, SCALE-decoded; `None` if absent.
    pub fn storage<T: Decode>(&self, key: &[u8]) -> Result<Option<T>, String> {
        let value = self.call(
            "state_getStorage",
            json!([format!("0x{}", hex::encode(key))]),
        )?;
        let Some(text) = value.as_str() else {
            return Ok(None);
        };
        let bytes = hex::decode(text.trim_start_matches("0x")).map_err(|e| e.to_string())?;
        T::decode(&mut &bytes[..])
            .map(Some)
            .map_err(|e| format!("undecodable storage value: {e}"))
    }

    /// A runtime API call at the best block, SCALE-decoded.
    pub fn runtime_api<T: Decode>(&self, method: &str, args: impl Encode) -> Result<T, String> {
        let result = self.call(
            "state_call",
            json!([method, format!("0x{}", hex::encode(args.encode()))]),
        )?;
        let bytes = hex::decode(result.as_str().unwrap_or_default().trim_start_matches("0x"))
            .map_err(|e| format!("{method}: {e}"))?;
        T::decode(&mut &bytes[..]).map_err(|e| format!("{method}: undecodable answer: {e}"))
    }
}
