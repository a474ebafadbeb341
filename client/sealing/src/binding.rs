//! The segment binding (container version 2): every segment's age header carries one
//! extra stanza, `-> medledger-segment <container id> <index> <count>`, naming the
//! container it was sealed for and its place there. age authenticates the whole header
//! with the segment's file key, so nobody without that key can change the stanza of a
//! sealed segment: genuine segments cannot be cut off, reordered or moved to another
//! container unnoticed. Other age implementations skip a stanza they do not know.
//!
//! It does not stop a segment made from scratch for the buyer's public key, which can
//! carry any binding: only the container digest on chain rules that out.

use std::collections::HashSet;

use age_core::format::{FileKey, Stanza};
use base64::prelude::{Engine, BASE64_STANDARD_NO_PAD};

/// The stanza type of the segment binding.
pub const SEGMENT_BINDING_STANZA: &str = "medledger-segment";

/// Where a segment belongs: its container's random id, its index and the count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentBinding {
    pub container: [u8; 16],
    pub index: u64,
    pub count: u64,
}

impl SegmentBinding {
    pub fn to_stanza(self) -> Stanza {
        Stanza {
            tag: SEGMENT_BINDING_STANZA.to_owned(),
            args: vec![
                BASE64_STANDARD_NO_PAD.encode(self.container),
                self.index.to_string(),
                self.count.to_string(),
            ],
            body: Vec::new(),
        }
    }

    /// The binding a stanza states; `None` for another stanza type, `Some(None)` for
    /// a binding stanza that does not parse.
    pub fn from_stanza(stanza: &Stanza) -> Option<Option<Self>> {
        if stanza.tag != SEGMENT_BINDING_STANZA {
            return None;
        }
        let parse = || {
            let [container, index, count] = stanza.args.as_slice() else {
                return None;
            };
            Some(SegmentBinding {
                container: BASE64_STANDARD_NO_PAD
                    .decode(container)
                    .ok()?
                    .try_into()
                    .ok()?,
                index: index.parse().ok()?,
                count: count.parse().ok()?,
            })
        };
        Some(parse().filter(|_| stanza.body.is_empty()))
    }
}

/// A recipient whose stanzas are followed by a segment binding.
pub struct BoundRecipient<'a> {
    pub recipient: &'a dyn age::Recipient,
    pub binding: SegmentBinding,
}

impl age::Recipient for BoundRecipient<'_> {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let (mut stanzas, labels) = self.recipient.wrap_file_key(file_key)?;
        stanzas.push(self.binding.to_stanza());
        Ok((stanzas, labels))
    }
}
