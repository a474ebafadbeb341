//! A borrowed JSON tree for the de-identification hot path.
//!
//! [`JsonTree::parse`] indexes a JSON text into a flat list of nodes that point back into
//! the text, so reading a resource allocates nothing once the node list has grown to
//! the largest resource seen (it is reused). Strings stay escaped until asked for;
//! only a string that holds an escape is decoded, into a `Cow::Owned`.
//!
//! [`write_string`] writes a string the way `serde_json` does, so output built here is
//! byte-identical to serialising a `serde_json::Value`.

use std::borrow::Cow;

/// Nesting deeper than this is refused (serde_json's own limit), so a hostile text
/// cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Bool(bool),
    Number,
    /// A string value; `escaped` if its raw text holds a backslash.
    String {
        escaped: bool,
    },
    /// An object member's name; its value is the next node.
    Key {
        escaped: bool,
    },
    Array,
    Object,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    kind: Kind,
    /// Byte range of the token in the text (strings: between the quotes).
    start: u32,
    end: u32,
    /// Index of the node after this one's subtree.
    next: u32,
}

/// Reusable storage for parsed trees.
#[derive(Default)]
pub struct JsonTree {
    nodes: Vec<Node>,
}

/// Why a text is not JSON (position in bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub at: usize,
    pub reason: &'static str,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.at)
    }
}

impl JsonTree {
    /// Indexes `text`, which must hold exactly one JSON value, and returns its root.
    pub fn parse<'a>(&'a mut self, text: &'a str) -> Result<Element<'a>, JsonError> {
        self.nodes.clear();
        if text.len() >= u32::MAX as usize {
            return Err(JsonError {
                at: 0,
                reason: "text too large",
            });
        }
        let mut parser = Parser {
            bytes: text.as_bytes(),
            at: 0,
            nodes: &mut self.nodes,
        };
        parser.value(0)?;
        parser.skip_whitespace();
        if parser.at != parser.bytes.len() {
            return Err(parser.error("trailing characters"));
        }
        Ok(Element {
            text,
            nodes: &self.nodes,
            index: 0,
        })
    }
}

struct Parser<'t> {
    bytes: &'t [u8],
    at: usize,
    nodes: &'t mut Vec<Node>,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> JsonError {
        JsonError {
            at: self.at,
            reason,
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn push(&mut self, kind: Kind, start: usize, end: usize) -> usize {
        let index = self.nodes.len();
        self.nodes.push(Node {
            kind,
            start: start as u32,
            end: end as u32,
            next: index as u32 + 1,
        });
        index
    }

    fn value(&mut self, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.skip_whitespace();
        let start = self.at;
        match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let index = self.push(Kind::Object, start, start);
                self.skip_whitespace();
                if self.bytes.get(self.at) == Some(&b'}') {
                    self.at += 1;
                } else {
                    loop {
                        self.skip_whitespace();
                        if self.bytes.get(self.at) != Some(&b'"') {
                            return Err(self.error("expected a member name"));
                        }
                        let (from, to, escaped) = self.string()?;
                        self.push(Kind::Key { escaped }, from, to);
                        self.skip_whitespace();
                        if self.bytes.get(self.at) != Some(&b':') {
                            return Err(self.error("expected `:`"));
                        }
                        self.at += 1;
                        self.value(depth + 1)?;
                        self.skip_whitespace();
                        match self.bytes.get(self.at) {
                            Some(b',') => self.at += 1,
                            Some(b'}') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.error("expected `,` or `}`")),
                        }
                    }
                }
                self.close(index);
            }
            Some(b'[') => {
                self.at += 1;
                let index = self.push(Kind::Array, start, start);
                self.skip_whitespace();
                if self.bytes.get(self.at) == Some(&b']') {
                    self.at += 1;
                } else {
                    loop {
                        self.value(depth + 1)?;
                        self.skip_whitespace();
                        match self.bytes.get(self.at) {
                            Some(b',') => self.at += 1,
                            Some(b']') => {
                                self.at += 1;
                                break;
                            }
                            _ => return Err(self.error("expected `,` or `]`")),
                        }
                    }
                }
                self.close(index);
            }
            Some(b'"') => {
                let (from, to, escaped) = self.string()?;
                self.push(Kind::String { escaped }, from, to);
            }
            Some(b't') => self.literal(b"true", Kind::Bool(true))?,
            Some(b'f') => self.literal(b"false", Kind::Bool(false))?,
            Some(b'n') => self.literal(b"null", Kind::Null)?,
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                self.push(Kind::Number, start, self.at);
            }
            _ => return Err(self.error("expected a value")),
        }
        Ok(())
    }

    fn close(&mut self, index: usize) {
        let next = self.nodes.len() as u32;
        let node = &mut self.nodes[index];
        node.next = next;
        node.end = self.at as u32;
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<(), JsonError> {
        if !self.bytes[self.at..].starts_with(word) {
            return Err(self.error("invalid literal"));
        }
        let start = self.at;
        self.at += word.len();
        self.push(kind, start, self.at);
        Ok(())
    }

    /// A string starting at the opening quote: (content start, content end, has escapes).
    fn string(&mut self) -> Result<(usize, usize, bool), JsonError> {
        self.at += 1;
        let start = self.at;
        let mut escaped = false;
        loop {
            // Jump to the next quote, backslash or control character (which JSON allows
            // only escaped).
            let Some(offset) = first_special(&self.bytes[self.at..]) else {
                self.at = self.bytes.len();
                return Err(self.error("unterminated string"));
            };
            self.at += offset;
            match self.bytes[self.at] {
                b'"' => {
                    let end = self.at;
                    self.at += 1;
                    return Ok((start, end, escaped));
                }
                b'\\' => {}
                _ => return Err(self.error("control character in string")),
            }
            escaped = true;
            match self.bytes.get(self.at + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.at += 2,
                Some(b'u') => {
                    let hex = self.bytes.get(self.at + 2..self.at + 6);
                    if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                        return Err(self.error("invalid \\u escape"));
                    }
                    self.at += 6;
                }
                _ => return Err(self.error("invalid escape")),
            }
        }
    }

    fn number(&mut self) -> Result<(), JsonError> {
        let digits = |parser: &mut Self| {
            let from = parser.at;
            while parser.bytes.get(parser.at).is_some_and(u8::is_ascii_digit) {
                parser.at += 1;
            }
            parser.at > from
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        match self.bytes.get(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            if !digits(self) {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            if !digits(self) {
                return Err(self.error("invalid number"));
            }
        }
        Ok(())
    }
}

/// One value in a parsed tree.
#[derive(Clone, Copy)]
pub struct Element<'a> {
    text: &'a str,
    nodes: &'a [Node],
    index: usize,
}

impl<'a> Element<'a> {
    fn node(&self) -> Node {
        self.nodes[self.index]
    }

    fn at(&self, index: usize) -> Element<'a> {
        Element { index, ..*self }
    }

    fn raw(&self) -> &'a str {
        let node = self.node();
        &self.text[node.start as usize..node.end as usize]
    }

    /// The raw bytes of the token (no char-boundary checks: the hot path compares names).
    fn raw_bytes(&self) -> &'a [u8] {
        let node = self.node();
        &self.text.as_bytes()[node.start as usize..node.end as usize]
    }

    pub fn is_object(&self) -> bool {
        self.node().kind == Kind::Object
    }

    pub fn is_number(&self) -> bool {
        self.node().kind == Kind::Number
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.node().kind {
            Kind::Bool(value) => Some(value),
            _ => None,
        }
    }

    /// The text of a string (unescaped), `None` for other values.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        match self.node().kind {
            Kind::String { escaped } => Some(decode(self.raw(), escaped)),
            _ => None,
        }
    }

    /// The JSON text of a number exactly as written, `None` for other values.
    pub fn number_text(&self) -> Option<&'a str> {
        self.is_number().then(|| self.raw())
    }

    /// The JSON text of the value exactly as written (a string with its quotes).
    pub fn json_text(&self) -> &'a str {
        let node = self.node();
        match node.kind {
            Kind::String { .. } | Kind::Key { .. } => {
                &self.text[node.start as usize - 1..node.end as usize + 1]
            }
            _ => self.raw(),
        }
    }

    /// The members of an object, in text order (empty for other values).
    pub fn members(&self) -> Members<'a> {
        let node = self.node();
        let end = if node.kind == Kind::Object {
            node.next as usize
        } else {
            self.index + 1
        };
        Members {
            element: *self,
            next: self.index + 1,
            end,
        }
    }

    /// The items of an array, `None` for other values.
    pub fn items(&self) -> Option<Items<'a>> {
        let node = self.node();
        (node.kind == Kind::Array).then_some(Items {
            element: *self,
            next: self.index + 1,
            end: node.next as usize,
        })
    }

    /// Looks members of this object up by name, each search starting where the last one
    /// ended: walking the members in the order they are written costs one pass.
    pub fn members_by_name(&self) -> MemberCursor<'a> {
        let members = self.members();
        let mut names = 0u64;
        let mut key = members.next;
        while key < members.end {
            let element = self.at(key);
            names |= match element.node().kind {
                Kind::Key { escaped: false } => name_bit(element.raw_bytes()),
                // Escaped names are compared decoded: let every name through.
                _ => u64::MAX,
            };
            key = element.at(key + 1).node().next as usize;
        }
        MemberCursor {
            element: *self,
            first: members.next,
            end: members.end,
            at: members.next,
            names,
        }
    }

    /// The value of member `name` of an object.
    pub fn get(&self, name: &str) -> Option<Element<'a>> {
        self.members()
            .find(|(key, _)| key.is(name))
            .map(|(_, value)| value)
    }

    /// Whether any object in this value (itself included) has a member named one of
    /// `names`.
    pub fn has_member_named(&self, names: &[String]) -> bool {
        let end = self.node().next as usize;
        let wanted = names
            .iter()
            .fold(0u64, |bits, name| bits | name_bit(name.as_bytes()));
        (self.index..end).any(|index| {
            let element = self.at(index);
            match element.node().kind {
                Kind::Key { escaped: false } => {
                    let raw = element.raw_bytes();
                    name_bit(raw) & wanted != 0
                        && names.iter().any(|name| same_name(raw, name.as_bytes()))
                }
                Kind::Key { escaped: true } => names.iter().any(|name| Key(element).is(name)),
                _ => false,
            }
        })
    }
}

/// An object member's name.
#[derive(Clone, Copy)]
pub struct Key<'a>(Element<'a>);

impl<'a> Key<'a> {
    pub fn is(&self, name: &str) -> bool {
        match self.0.node().kind {
            Kind::Key { escaped: false } => same_name(self.0.raw_bytes(), name.as_bytes()),
            _ => self.text() == name,
        }
    }

    pub fn text(&self) -> Cow<'a, str> {
        match self.0.node().kind {
            Kind::Key { escaped } => decode(self.0.raw(), escaped),
            _ => Cow::Borrowed(""),
        }
    }
}

pub struct Members<'a> {
    element: Element<'a>,
    next: usize,
    end: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Key<'a>, Element<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let key = self.element.at(self.next);
        let value = self.element.at(self.next + 1);
        self.next = value.node().next as usize;
        Some((Key(key), value))
    }
}

pub struct MemberCursor<'a> {
    element: Element<'a>,
    first: usize,
    end: usize,
    /// Index of the key to look at first.
    at: usize,
    /// [`name_bit`] of every member name: a name whose bit is clear is not a member, so
    /// looking for an absent element (most of a profile's rules) costs no scan.
    names: u64,
}

/// One of 64 bits standing for a member name (its length and outer bytes).
#[inline(always)]
fn name_bit(name: &[u8]) -> u64 {
    let (first, last) = match name {
        [] => (0, 0),
        [first, .., last] => (*first, *last),
        [only] => (*only, *only),
    };
    let mixed = (name.len() as u32)
        .wrapping_mul(7)
        .wrapping_add(u32::from(first))
        .wrapping_add(u32::from(last).wrapping_mul(3));
    1 << (mixed & 63)
}

impl<'a> MemberCursor<'a> {
    /// The value of member `name`, if the object has one.
    pub fn find(&mut self, name: &str) -> Option<Element<'a>> {
        if self.names & name_bit(name.as_bytes()) == 0 {
            return None;
        }
        let mut key = self.at;
        let mut wrapped = false;
        loop {
            if key >= self.end {
                if wrapped || self.first >= self.end {
                    return None;
                }
                key = self.first;
                wrapped = true;
            }
            if wrapped && key >= self.at {
                return None;
            }
            let value = self.element.at(key + 1);
            let next = value.node().next as usize;
            if Key(self.element.at(key)).is(name) {
                self.at = next;
                return Some(value);
            }
            key = next;
        }
    }
}

pub struct Items<'a> {
    element: Element<'a>,
    next: usize,
    end: usize,
}

impl<'a> Iterator for Items<'a> {
    type Item = Element<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let item = self.element.at(self.next);
        self.next = item.node().next as usize;
        Some(item)
    }
}

/// Name equality decided inline: member lookups compare many short names, and a call to
/// `memcmp` for each cost more than the comparison (about 6 % of a delivery). Names of up
/// to 16 bytes compare as two overlapping words; longer ones go to `memcmp`.
#[inline]
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let length = a.len();
    if length != b.len() || a.first() != b.first() {
        return false;
    }
    match length {
        0..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        4..=8 => {
            word::<4>(a, 0) == word::<4>(b, 0)
                && word::<4>(a, length - 4) == word::<4>(b, length - 4)
        }
        9..=16 => {
            word::<8>(a, 0) == word::<8>(b, 0)
                && word::<8>(a, length - 8) == word::<8>(b, length - 8)
        }
        _ => a == b,
    }
}

/// `N` bytes of `bytes` from `at` (in bounds: callers check the length) as an array, for
/// comparing whole words.
#[inline(always)]
fn word<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut word = [0u8; N];
    word.copy_from_slice(&bytes[at..at + N]);
    word
}

/// Unescapes the raw text of a string the parser accepted.
fn decode(raw: &str, escaped: bool) -> Cow<'_, str> {
    if !escaped {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at + 1..];
        let (character, used) = match escape.as_bytes()[0] {
            b'b' => ('\u{8}', 1),
            b'f' => ('\u{c}', 1),
            b'n' => ('\n', 1),
            b'r' => ('\r', 1),
            b't' => ('\t', 1),
            b'u' => {
                let unit = |text: &str| u32::from_str_radix(&text[1..5], 16).unwrap_or(0xfffd);
                let first = unit(escape);
                let low = escape
                    .get(5..11)
                    .filter(|next| next.starts_with("\\u"))
                    .map(|next| unit(&next[1..]))
                    .filter(|low| (0xdc00..0xe000).contains(low));
                match (first, low) {
                    (0xd800..=0xdbff, Some(low)) => {
                        let code = 0x10000 + ((first - 0xd800) << 10) + (low - 0xdc00);
                        (char::from_u32(code).unwrap_or('\u{fffd}'), 11)
                    }
                    // A lone surrogate has no UTF-8 form; serde_json refuses it, and a
                    // replacement character can never match an allowlisted value.
                    _ => (char::from_u32(first).unwrap_or('\u{fffd}'), 5),
                }
            }
            other => (other as char, 1),
        };
        out.push(character);
        rest = &escape[used..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether a JSON string needs escapes (a quote, backslash or control character).
fn needs_escape(bytes: &[u8]) -> bool {
    first_special(bytes).is_some()
}

/// Where the first quote, backslash or control character is: the bytes a JSON string
/// cannot hold unescaped. Every string parsed and written goes through here, so it looks at
/// eight bytes at a time (SWAR): a byte of `word - 0x01…01 * n` with its high bit set where
/// `word`'s was clear marks a byte below `n`, the lowest such mark exactly (borrows only
/// reach higher bytes), and a byte equal to `c` is a byte below 1 in `word ^ c…c`.
pub(crate) fn first_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH_BITS;
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let marks = below(word, 0x20)
            | below(word ^ (ONES * u64::from(b'"')), 1)
            | below(word ^ (ONES * u64::from(b'\\')), 1);
        if marks != 0 {
            return Some(at + marks.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    let special = |byte: &u8| *byte < 0x20 || *byte == b'"' || *byte == b'\\';
    bytes[at..].iter().position(special).map(|p| at + p)
}

/// Writes `text` as a JSON string, escaped as `serde_json` escapes it.
pub fn write_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = text.as_bytes();
    // Most output (codes, systems, years, pseudonyms) needs no escape: copy it whole.
    if !needs_escape(bytes) {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut copied = 0;
    for (at, &byte) in bytes.iter().enumerate() {
        let escape: &[u8] = match byte {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0x00..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xf) as usize],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[copied..at]);
        out.extend_from_slice(escape);
        copied = at + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
    out.push(b'"');
}

/// Writes `text`, which holds no quote, backslash or control character (a constant, hex), as
/// a JSON string without looking for escapes.
pub fn write_unescaped(out: &mut Vec<u8>, text: &str) {
    debug_assert!(!needs_escape(text.as_bytes()), "{text:?} needs escapes");
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// Writes a string value as [`write_string`] writes its text; `false` (and nothing written)
/// for any other value. A value with no escape is copied as it stands: the parser lets no
/// quote, backslash or control character through unescaped, so it is already in that form.
pub fn write_string_value(out: &mut Vec<u8>, value: Element<'_>) -> bool {
    match value.node().kind {
        Kind::String { escaped: false } => out.extend_from_slice(value.json_text().as_bytes()),
        Kind::String { escaped: true } => write_string(out, &decode(value.raw(), true)),
        _ => return false,
    }
    true
}

/// Writes a number token as `serde_json` would write the `Value` it parses to.
pub fn write_number(out: &mut Vec<u8>, token: &str) {
    // Plain integers that fit in 64 bits come out as written; anything else goes
    // through serde_json so floats are formatted exactly as before.
    let digits = token.strip_prefix('-').unwrap_or(token);
    let plain_integer = !digits.is_empty()
        && digits.len() <= 18
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && token != "-0";
    if plain_integer {
        out.extend_from_slice(token.as_bytes());
    } else if let Ok(number) = serde_json::from_str::<serde_json::Number>(token) {
        out.extend_from_slice(number.to_string().as_bytes());
    }
}

/// The value of a number token as `serde_json::Value::as_f64` gives it.
pub fn number_as_f64(token: &str) -> Option<f64> {
    serde_json::from_str::<serde_json::Number>(token)
        .ok()
        .and_then(|number| number.as_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn round_trip(text: &str) -> Value {
        fn rebuild(element: Element<'_>) -> Value {
            if let Some(items) = element.items() {
                return Value::Array(items.map(rebuild).collect());
            }
            if element.is_object() {
                return Value::Object(
                    element
                        .members()
                        .map(|(key, value)| (key.text().into_owned(), rebuild(value)))
                        .collect(),
                );
            }
            if let Some(text) = element.as_str() {
                return Value::String(text.into_owned());
            }
            if let Some(token) = element.number_text() {
                return serde_json::from_str(token).unwrap();
            }
            element.as_bool().map(Value::Bool).unwrap_or(Value::Null)
        }
        let mut tree = JsonTree::default();
        rebuild(tree.parse(text).unwrap())
    }

    #[test]
    fn parsed_trees_match_serde_json() {
        for text in [
            r#"{"a":[1,-2.5e3,true,false,null,{"b":"x"}],"c":{},"d":[],"e":"\u00e9\ud83d\ude00\n\"\\\/"}"#,
            " [ 1 , { \"k\" : [ ] } ] ",
            r#""plain""#,
            "0",
        ] {
            assert_eq!(
                round_trip(text),
                serde_json::from_str::<Value>(text).unwrap(),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_texts_are_refused() {
        let mut tree = JsonTree::default();
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "\"\\x\"",
            "\"a",
            "tru",
            "{} x",
            "\"\u{1}\"",
            "{1:2}",
        ] {
            assert!(tree.parse(text).is_err(), "{text:?}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(tree.parse(&deep).is_err());
    }

    #[test]
    fn first_special_finds_what_a_byte_by_byte_scan_finds() {
        let special = |byte: &u8| *byte < 0x20 || *byte == b'"' || *byte == b'\\';
        // Every byte value at every position of strings up to 20 bytes long, over a
        // background of ordinary text and of bytes that sit next to the special ones.
        for background in [b'a', 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff] {
            for len in 0..=20 {
                for at in 0..len {
                    for byte in 0..=255u8 {
                        let mut text = vec![background; len];
                        text[at] = byte;
                        assert_eq!(
                            first_special(&text),
                            text.iter().position(special),
                            "byte {byte:#x} at {at} of {len} over {background:#x}"
                        );
                    }
                }
            }
        }
        let mut several = b"0123456789abc\"def\\\x01".to_vec();
        assert_eq!(first_special(&several), Some(13));
        several[13] = b'x';
        assert_eq!(first_special(&several), Some(17));
    }

    #[test]
    fn string_values_are_written_as_their_decoded_text_is() {
        let text = r#"["plain","caf\u00e9","a\/b","q\"uote","tab\there","\u0001","é",""]"#;
        let mut tree = JsonTree::default();
        let items: Vec<_> = tree.parse(text).unwrap().items().unwrap().collect();
        assert_eq!(items.len(), 8);
        for item in items {
            let (mut copied, mut rewritten) = (Vec::new(), Vec::new());
            assert!(write_string_value(&mut copied, item));
            write_string(&mut rewritten, &item.as_str().unwrap());
            assert_eq!(copied, rewritten, "{}", item.json_text());
        }
        let mut tree = JsonTree::default();
        let mut out = Vec::new();
        assert!(!write_string_value(&mut out, tree.parse("7").unwrap()));
        assert!(out.is_empty());
    }

    #[test]
    fn strings_and_numbers_are_written_as_serde_json_writes_them() {
        for text in ["a\"b\\c\u{1}\u{8}\u{c}\n\r\t\u{1f}é/", "", "plain"] {
            let mut out = Vec::new();
            write_string(&mut out, text);
            assert_eq!(out, serde_json::to_vec(text).unwrap());
        }
        for token in [
            "0",
            "-7",
            "120",
            "1.50",
            "1e+30",
            "-0",
            "12345678901234567890",
            "2.0E-3",
        ] {
            let mut out = Vec::new();
            write_number(&mut out, token);
            let value: Value = serde_json::from_str(token).unwrap();
            assert_eq!(out, serde_json::to_vec(&value).unwrap(), "{token}");
        }
    }

    #[test]
    fn lookups_find_members_and_free_text_names_anywhere() {
        let mut tree = JsonTree::default();
        let root = tree
            .parse(r#"{"a":{"x":1},"b":[{"note":"n"}],"c":"s"}"#)
            .unwrap();
        assert!(root.get("a").unwrap().get("x").unwrap().is_number());
        assert!(root.get("x").is_none());
        assert_eq!(root.get("c").unwrap().as_str().as_deref(), Some("s"));
        assert!(root.has_member_named(&["note".to_string()]));
        assert!(!root
            .get("a")
            .unwrap()
            .has_member_named(&["note".to_string()]));
    }

    /// The cursor's name filter never hides a member: every name of a long object is found
    /// in any order, escaped names included, and absent ones are not.
    #[test]
    fn member_cursor_finds_every_member_and_no_absent_one() {
        let names: Vec<String> = (0..200)
            .map(|n| format!("member{n}x{}", "y".repeat(n % 7)))
            .collect();
        let object = format!(
            "{{{},\"\\u0063ode\":true}}",
            names
                .iter()
                .enumerate()
                .map(|(n, name)| format!("\"{name}\":{n}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut tree = JsonTree::default();
        let root = tree.parse(&object).unwrap();
        let mut cursor = root.members_by_name();
        for (n, name) in names.iter().enumerate().rev() {
            assert_eq!(
                cursor.find(name).and_then(|v| v.number_text()),
                Some(n.to_string().as_str())
            );
        }
        assert!(cursor
            .find("code")
            .is_some_and(|v| v.as_bool() == Some(true)));
        for absent in ["member", "member1", "valueQuantity", "member0xz", ""] {
            assert!(cursor.find(absent).is_none(), "{absent}");
        }
        let plain = tree.parse(r#"{"code":1,"status":2}"#).unwrap();
        let mut cursor = plain.members_by_name();
        assert!(cursor.find("valueQuantity").is_none() && cursor.find("status").is_some());
    }

    /// The word-wise name comparison and the block-wise escape check agree with the plain
    /// byte-by-byte answers at every length and position they treat differently.
    #[test]
    fn word_wise_name_comparison_and_escape_check_match_byte_wise_ones() {
        for length in 0..=24 {
            let name: Vec<u8> = (0..length).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(same_name(&name, &name.clone()));
            for at in 0..length {
                let mut other = name.clone();
                other[at] = b'Z';
                assert!(!same_name(&name, &other), "{length} {at}");
                for special in [b'"', b'\\', b'\n', 0x1f] {
                    let mut text = name.clone();
                    text[at] = special;
                    assert!(needs_escape(&text), "{length} {at} {special}");
                }
            }
            assert!(!needs_escape(&name));
            assert!(!same_name(&name, &name[..length.saturating_sub(1)]) || length == 0);
        }
    }
}
