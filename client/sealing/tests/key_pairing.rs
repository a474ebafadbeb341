//! Key pairs on the token are two objects sharing a `CKA_ID`, as PIV and smart-card
//! tokens lay them out: the public key is the one with the private key's id, whatever
//! its label, and two pairs with one label need the id to choose.

mod common;

use std::fs;

use common::{isolated, leftovers, Sealed, SoftHsm, TOKEN};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType};
use cryptoki::session::UserType;
use medledger_sealing::token::{
    generate_delivery_key, list_tokens, read_delivery_key, Pkcs11Token, TokenConfig, TokenKey,
    DEFAULT_KEY_LABEL,
};
use medledger_sealing::{DeliveryKey, SealingError, TokenBackend};

/// DER of the P-256 curve OID.
const P256: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// How a token shows its private key objects.
#[derive(Clone, Copy)]
enum PrivateKeys {
    /// Only after login, as SoftHSM does by default.
    AfterLogin,
    /// Before login too (`CKA_PRIVATE` false), as PIV and most smart cards list them.
    BeforeLogin,
}

/// Generates a P-256 pair on the test token the way other software lays one out: both
/// objects with `CKA_ID` `id`, each with its own label.
fn generate_pair(hsm: &SoftHsm, id: &[u8], private_label: &str, public_label: &str) -> DeliveryKey {
    generate_pair_shown(
        hsm,
        id,
        private_label,
        public_label,
        PrivateKeys::AfterLogin,
    )
}

fn generate_pair_shown(
    hsm: &SoftHsm,
    id: &[u8],
    private_label: &str,
    public_label: &str,
    shown: PrivateKeys,
) -> DeliveryKey {
    let pkcs11 = Pkcs11::new(hsm.config(TOKEN).module).unwrap();
    let _ = pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = pkcs11.get_slots_with_initialized_token().unwrap()[0];
    let session = pkcs11.open_rw_session(slot).unwrap();
    session.login(UserType::User, Some(&hsm.pin())).unwrap();
    let public = [
        Attribute::Token(true),
        Attribute::EcParams(P256.to_vec()),
        Attribute::Id(id.to_vec()),
        Attribute::Label(public_label.into()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(matches!(shown, PrivateKeys::AfterLogin)),
        Attribute::Sensitive(true),
        Attribute::Derive(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(private_label.into()),
    ];
    let (public_key, _) = session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        .unwrap();
    let point = match &session
        .get_attributes(public_key, &[AttributeType::EcPoint])
        .unwrap()[0]
    {
        Attribute::EcPoint(der) => der[2..].to_vec(),
        other => panic!("{other:?}"),
    };
    DeliveryKey::from_sec1(&point).unwrap()
}

/// Opens a small file sealed to `key` with `token`; true if the plaintext came back.
fn opens(key: &DeliveryKey, token: &dyn TokenBackend) -> Result<bool, SealingError> {
    let files = Sealed::new(5000, key, 1 << 20);
    let opened = files.open(token, &mut medledger_sealing::NoProgress);
    assert!(leftovers(&files.dir).is_empty());
    opened.map(|_| fs::read(&files.opened).unwrap() == files.payload)
}

#[test]
fn the_public_key_is_paired_by_cka_id_not_by_label() {
    isolated(
        "the_public_key_is_paired_by_cka_id_not_by_label",
        &[TOKEN],
        |hsm| {
            // Found first by label alone, the public key carrying the delivery label
            // belongs to another pair.
            let decoy = generate_pair(hsm, &[0x01], "signing key", DEFAULT_KEY_LABEL);
            let delivery = generate_pair(hsm, &[0x02], DEFAULT_KEY_LABEL, "delivery public key");

            let token = hsm.open_token(TOKEN);
            assert_eq!(
                token.delivery_key(),
                delivery,
                "the private key's own public key"
            );
            assert_ne!(token.delivery_key(), decoy);
            assert!(opens(&delivery, &token).unwrap());
        },
    );
}

/// `token pubkey`, `token list` and `buyer register-key` read the key without login: on a
/// token that shows its private keys, the key they report is the labelled private key's
/// pair, not a public key that carries the label for another pair.
#[test]
fn the_key_read_without_login_is_the_labelled_private_keys_pair() {
    isolated(
        "the_key_read_without_login_is_the_labelled_private_keys_pair",
        &[TOKEN],
        |hsm| {
            let shown = PrivateKeys::BeforeLogin;
            let decoy = generate_pair_shown(hsm, &[0x01], "signing key", DEFAULT_KEY_LABEL, shown);
            let delivery = generate_pair_shown(hsm, &[0x02], DEFAULT_KEY_LABEL, "pub", shown);

            assert_eq!(read_delivery_key(&hsm.config(TOKEN)).unwrap(), delivery);
            let listed = list_tokens(&hsm.config(TOKEN).module, DEFAULT_KEY_LABEL).unwrap();
            assert_eq!(
                listed[0].delivery_keys,
                vec![TokenKey {
                    id: vec![0x02],
                    key: delivery
                }]
            );
            assert_eq!(hsm.open_token(TOKEN).delivery_key(), delivery);
            assert_ne!(delivery, decoy);

            // Two shown pairs of one label: the ids to choose from, as with login.
            let second = generate_pair_shown(hsm, &[0x03], DEFAULT_KEY_LABEL, "pub", shown);
            match read_delivery_key(&hsm.config(TOKEN)) {
                Err(SealingError::AmbiguousKey { ids, .. }) => assert_eq!(ids, "02, 03"),
                other => panic!("expected AmbiguousKey, got {other:?}"),
            }
            let by_id = TokenConfig {
                key_id: Some(vec![0x03]),
                ..hsm.config(TOKEN)
            };
            assert_eq!(read_delivery_key(&by_id).unwrap(), second);
        },
    );
}

#[test]
fn two_key_pairs_with_one_label_are_chosen_by_cka_id() {
    isolated(
        "two_key_pairs_with_one_label_are_chosen_by_cka_id",
        &[TOKEN],
        |hsm| {
            let first = generate_pair(hsm, &[0x01], DEFAULT_KEY_LABEL, DEFAULT_KEY_LABEL);
            let second = generate_pair(hsm, &[0x02], DEFAULT_KEY_LABEL, DEFAULT_KEY_LABEL);

            let by_label = hsm.config(TOKEN);
            for result in [
                Pkcs11Token::open(&by_label, &hsm.pin()).map(|token| token.delivery_key()),
                read_delivery_key(&by_label),
            ] {
                match result {
                    Err(SealingError::AmbiguousKey { ids, .. }) => assert_eq!(ids, "01, 02"),
                    other => panic!("expected AmbiguousKey, got {other:?}"),
                }
            }

            for (id, key, other) in [(0x01, first, second), (0x02, second, first)] {
                let config = TokenConfig {
                    key_id: Some(vec![id]),
                    ..hsm.config(TOKEN)
                };
                assert_eq!(read_delivery_key(&config).unwrap(), key);
                let token = Pkcs11Token::open(&config, &hsm.pin()).unwrap();
                assert_eq!(token.delivery_key(), key);
                assert!(opens(&key, &token).unwrap());
                assert!(matches!(
                    opens(&other, &token),
                    Err(SealingError::WrongToken { .. })
                ));
            }

            let absent = TokenConfig {
                key_id: Some(vec![0x03]),
                ..hsm.config(TOKEN)
            };
            assert!(matches!(
                Pkcs11Token::open(&absent, &hsm.pin()),
                Err(SealingError::KeyNotFound { ref key, .. }) if key == "with CKA_ID 03"
            ));
        },
    );
}

#[test]
fn a_generated_delivery_key_pair_shares_one_cka_id() {
    isolated(
        "a_generated_delivery_key_pair_shares_one_cka_id",
        &[TOKEN],
        |hsm| {
            let key = hsm.generate_key(TOKEN);
            let listed = list_tokens(&hsm.config(TOKEN).module, DEFAULT_KEY_LABEL).unwrap();
            let keys = &listed[0].delivery_keys;
            assert_eq!(keys.len(), 1);
            assert_eq!(keys[0].key, key);
            assert!(!keys[0].id.is_empty(), "the pair has an id");
            let by_id = TokenConfig {
                key_id: Some(keys[0].id.clone()),
                key_label: "ignored when an id is given".into(),
                ..hsm.config(TOKEN)
            };
            assert_eq!(
                Pkcs11Token::open(&by_id, &hsm.pin())
                    .unwrap()
                    .delivery_key(),
                key
            );

            // An id asked for is the one both objects get, and no later key may take it.
            let chosen = TokenConfig {
                key_label: "second".into(),
                key_id: Some(vec![0x0a]),
                ..hsm.config(TOKEN)
            };
            let second = generate_delivery_key(&chosen, &hsm.pin()).unwrap();
            let listed = list_tokens(&chosen.module, "second").unwrap();
            assert_eq!(
                listed[0].delivery_keys,
                vec![TokenKey {
                    id: vec![0x0a],
                    key: second
                }]
            );
            let same_id = TokenConfig {
                key_label: "third".into(),
                ..chosen
            };
            assert!(matches!(
                generate_delivery_key(&same_id, &hsm.pin()),
                Err(SealingError::KeyExists { .. })
            ));
        },
    );
}
