//! The decapsulation path — ECDH on a SoftHSM2 token, DHKEM and key schedule on the
//! host — against RFC 9180's DHKEM(P-256, HKDF-SHA256) vectors
//! (`vectors/rfc9180-dhkem-p256.json`: Appendix A.3.1, and the CFRG vector for
//! the ChaCha20-Poly1305 suite that age's p256tag uses).

mod common;

use common::{isolated, USER_PIN};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::UserType;
use medledger_sealing::hpke::{
    dhkem_shared_secret, key_schedule_base, open_first_chacha20poly1305, Suite,
};
use medledger_sealing::token::{TokenBackend, DEFAULT_KEY_LABEL, DEFAULT_MODULE};
use medledger_sealing::Pin;
use serde_json::Value;

const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

fn vectors() -> Vec<Value> {
    let text = include_str!("vectors/rfc9180-dhkem-p256.json");
    serde_json::from_str(text).expect("vector file")
}

fn field(vector: &Value, name: &str) -> Vec<u8> {
    hex::decode(vector[name].as_str().unwrap_or_else(|| panic!("{name}"))).expect("hex")
}

/// Puts the vector's recipient key pair on the token as the delivery key, the way a
/// token holds one (derive-only, sensitive).
fn import_recipient_key(token_label: &str, sk_rm: &[u8], pk_rm: &[u8]) {
    let pkcs11 = Pkcs11::new(DEFAULT_MODULE).unwrap();
    pkcs11
        .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = pkcs11
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|slot| pkcs11.get_token_info(*slot).unwrap().label().trim_end() == token_label)
        .expect("token");
    let session = pkcs11.open_rw_session(slot).unwrap();
    session
        .login(UserType::User, Some(&Pin::from(USER_PIN.to_owned())))
        .unwrap();
    let label = DEFAULT_KEY_LABEL.as_bytes().to_vec();
    let mut ec_point = vec![0x04, pk_rm.len() as u8];
    ec_point.extend_from_slice(pk_rm);
    session
        .create_object(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Derive(true),
            Attribute::EcParams(P256_EC_PARAMS.to_vec()),
            Attribute::Value(sk_rm.to_vec()),
            Attribute::Label(label.clone()),
        ])
        .unwrap();
    session
        .create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::EcParams(P256_EC_PARAMS.to_vec()),
            Attribute::EcPoint(ec_point),
            Attribute::Label(label),
        ])
        .unwrap();
}

#[test]
fn token_decapsulation_reproduces_rfc9180_dhkem_p256_vectors() {
    isolated(
        "token_decapsulation_reproduces_rfc9180_dhkem_p256_vectors",
        &["vector-a", "vector-b"],
        |hsm| {
            for (vector, token_label) in vectors().iter().zip(["vector-a", "vector-b"]) {
                assert_eq!(
                    (
                        vector["mode"].as_u64(),
                        vector["kem_id"].as_u64(),
                        vector["kdf_id"].as_u64()
                    ),
                    (Some(0), Some(16), Some(1))
                );
                let (sk_rm, pk_rm, enc) = (
                    field(vector, "skRm"),
                    field(vector, "pkRm"),
                    field(vector, "enc"),
                );
                import_recipient_key(token_label, &sk_rm, &pk_rm);
                let token = hsm.open_token(token_label);
                assert_eq!(
                    token.delivery_key().uncompressed().as_slice(),
                    pk_rm.as_slice()
                );

                let dh = token.ecdh(&enc).expect("token ECDH");
                let shared_secret = dhkem_shared_secret(&dh, &enc, &pk_rm);
                assert_eq!(
                    shared_secret.as_slice(),
                    field(vector, "shared_secret").as_slice(),
                    "{}",
                    vector["source"]
                );

                let aead_id = vector["aead_id"].as_u64().unwrap() as u16;
                let key_len = if aead_id == 1 { 16 } else { 32 };
                let schedule = key_schedule_base(
                    Suite { aead_id, key_len },
                    &shared_secret,
                    &field(vector, "info"),
                );
                assert_eq!(schedule.key.as_slice(), field(vector, "key").as_slice());
                assert_eq!(
                    schedule.base_nonce.as_slice(),
                    field(vector, "base_nonce").as_slice()
                );

                if aead_id == 3 {
                    let seq0 = &vector["seq0"];
                    let opened = open_first_chacha20poly1305(
                        &schedule,
                        &field(seq0, "aad"),
                        &field(seq0, "ct"),
                    )
                    .expect("opens");
                    assert_eq!(opened.as_slice(), field(seq0, "pt").as_slice());
                    let mut tampered = field(seq0, "ct");
                    tampered[0] ^= 1;
                    assert!(
                        open_first_chacha20poly1305(&schedule, &field(seq0, "aad"), &tampered)
                            .is_none()
                    );
                }
            }
        },
    );
}
