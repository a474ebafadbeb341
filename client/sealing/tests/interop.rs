//! A file sealed by the age crate's own `p256tag` recipient (parsed from the
//! `age1tag1…` string the CLI prints) opens with the token identity.

mod common;

use std::io::{Read, Write};
use std::str::FromStr;

use common::{isolated, random_bytes, TOKEN};
use medledger_sealing::token::TokenBackend;
use medledger_sealing::{DeliveryKey, TokenIdentity};

#[test]
fn file_sealed_by_the_age_crate_p256tag_recipient_opens_with_the_token() {
    isolated(
        "file_sealed_by_the_age_crate_p256tag_recipient_opens_with_the_token",
        &[TOKEN],
        |hsm| {
            let key = hsm.generate_key(TOKEN);
            let recipient_text = key.age_recipient().to_string();
            assert!(recipient_text.starts_with("age1tag1"));
            assert_eq!(DeliveryKey::from_str(&recipient_text).unwrap(), key);
            let recipient = age::tag::Recipient::from_str(&recipient_text).unwrap();

            let payload = random_bytes(200_000);
            let mut sealed = Vec::new();
            let encryptor =
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                    .unwrap();
            let mut writer = encryptor.wrap_output(&mut sealed).unwrap();
            writer.write_all(&payload).unwrap();
            writer.finish().unwrap();

            let token = hsm.open_token(TOKEN);
            assert_eq!(token.delivery_key(), key);
            let identity = TokenIdentity::new(&token);
            let mut reader = age::Decryptor::new_buffered(&sealed[..])
                .unwrap()
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .unwrap();
            let mut opened = Vec::new();
            reader.read_to_end(&mut opened).unwrap();
            assert_eq!(opened, payload);
        },
    );
}
