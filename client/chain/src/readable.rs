//! Decoded chain values (event fields, calls) as JSON a person can read — what a regulator's
//! export and a member's view of a proposal show: accounts in SS58, 32-byte hashes and other
//! opaque bytes as `0x`-hex, UTF-8 text (names, URLs) as text, enum variants by name, `None` as
//! `null`, integers as numbers (as strings beyond 64 bits).

use scale_info::{form::PortableForm, PortableRegistry, Type, TypeDef, TypeDefPrimitive};
use serde_json::{Map, Value as Json};
use subxt::ext::scale_value::{Composite, Primitive, Value, ValueDef};

use crate::AccountId;

/// `value` (decoded with its type ids, from `types`) as readable JSON.
pub fn to_json(value: &Value<u32>, types: &PortableRegistry) -> Json {
    match &value.value {
        ValueDef::Composite(composite) => match bytes_of(composite, types) {
            Some(bytes) => bytes_json(&bytes, type_name(value.context, types)),
            None => composite_json(composite, types),
        },
        ValueDef::Variant(variant) => match (variant.name.as_str(), &variant.values) {
            ("None", fields) if fields.is_empty() => Json::Null,
            ("Some", Composite::Unnamed(inner)) if inner.len() == 1 => to_json(&inner[0], types),
            (name, fields) if fields.is_empty() => Json::String(name.to_string()),
            (name, fields) => {
                let mut object = Map::new();
                object.insert(name.to_string(), composite_json(fields, types));
                Json::Object(object)
            }
        },
        ValueDef::Primitive(primitive) => match primitive {
            Primitive::Bool(b) => Json::Bool(*b),
            Primitive::Char(c) => Json::String(c.to_string()),
            Primitive::String(text) => Json::String(text.clone()),
            Primitive::U128(n) => {
                u64::try_from(*n).map_or_else(|_| n.to_string().into(), Json::from)
            }
            Primitive::I128(n) => {
                i64::try_from(*n).map_or_else(|_| n.to_string().into(), Json::from)
            }
            Primitive::U256(bytes) | Primitive::I256(bytes) => {
                Json::String(format!("0x{}", hex::encode(bytes)))
            }
        },
        ValueDef::BitSequence(bits) => Json::String(format!("{bits:?}")),
    }
}

/// Named fields as an object, a single unnamed one as itself, several as an array.
fn composite_json(composite: &Composite<u32>, types: &PortableRegistry) -> Json {
    match composite {
        Composite::Named(fields) => Json::Object(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), to_json(value, types)))
                .collect(),
        ),
        Composite::Unnamed(values) if values.len() == 1 => to_json(&values[0], types),
        Composite::Unnamed(values) => values.iter().map(|v| to_json(v, types)).collect(),
    }
}

/// The bytes a composite holds, if it is a non-empty sequence of `u8` (or a newtype around
/// one, as `AccountId32` and `H256` are).
fn bytes_of(composite: &Composite<u32>, types: &PortableRegistry) -> Option<Vec<u8>> {
    let Composite::Unnamed(values) = composite else {
        return None;
    };
    if let [single] = values.as_slice() {
        if let ValueDef::Composite(inner) = &single.value {
            return bytes_of(inner, types);
        }
    }
    let is_u8 = |id: u32| {
        matches!(
            resolve(id, types).map(|ty| &ty.type_def),
            Some(TypeDef::Primitive(TypeDefPrimitive::U8))
        )
    };
    if values.is_empty() {
        return None;
    }
    values
        .iter()
        .map(|value| match value.value {
            ValueDef::Primitive(Primitive::U128(byte)) if is_u8(value.context) => {
                u8::try_from(byte).ok()
            }
            _ => None,
        })
        .collect()
}

/// An account as SS58, a hash as hex, other bytes as text when they are printable UTF-8.
fn bytes_json(bytes: &[u8], type_name: Option<&str>) -> Json {
    let hex = || Json::String(format!("0x{}", hex::encode(bytes)));
    match (type_name, <[u8; 32]>::try_from(bytes)) {
        (Some("AccountId32"), Ok(account)) => Json::String(AccountId::from(account).to_string()),
        (Some("H256"), _) | (Some("AccountId32"), _) => hex(),
        _ => match std::str::from_utf8(bytes) {
            Ok(text) if !text.chars().any(char::is_control) => Json::String(text.to_string()),
            _ => hex(),
        },
    }
}

fn resolve(id: u32, types: &PortableRegistry) -> Option<&Type<PortableForm>> {
    types.resolve(id)
}

/// The last segment of a type's path (`AccountId32`, `H256`, …).
fn type_name(id: u32, types: &PortableRegistry) -> Option<&str> {
    resolve(id, types).and_then(|ty| ty.path.segments.last().map(String::as_str))
}
