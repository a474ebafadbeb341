//! What a custodian's node tells an owner about itself (format in the crate docs): its payout
//! claims (`GET /payouts`) and its category salt (`GET /category-salt`).

use serde::{Deserialize, Serialize};

/// One leaf of a custodian's payout root that pays the requesting owner: exactly the
/// arguments of `revenue.claim`. Amounts are decimal strings (they exceed what JSON numbers
/// carry exactly); keys and hashes are `0x`-hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutClaim {
    /// The custodian's account (32-byte public key).
    pub custodian: String,
    pub epoch: u32,
    /// The leaf's index in the root.
    pub index: u32,
    /// The owner's account: the signer of the request.
    pub owner: String,
    /// Everything the owner earned from the custodian up to the root's epoch, in the chain's
    /// smallest unit; a claim pays it minus what the owner claimed before.
    pub amount: String,
    /// The leaf's 32-byte salt, known only to the custodian and this owner.
    pub salt: String,
    /// Siblings from the leaf up.
    pub proof: Vec<String>,
}

/// The answer to `GET /category-salt`: the signer's salt for category tags at this custodian
/// (`medledger_fhir::category_tag`), both `0x`-hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategorySaltAnswer {
    /// The owner's account: the signer of the request.
    pub owner: String,
    /// 32 bytes; secret between the owner and the custodian.
    pub salt: String,
}
