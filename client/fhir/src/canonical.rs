//! Canonical JSON (RFC 8785, JSON Canonicalization Scheme).
//!
//! Object members are sorted by the UTF-16 code units of their names, strings use the
//! minimal JSON escaping, and numbers are written the way ECMAScript's `Number.toString`
//! writes them. Two semantically equal resources therefore have byte-identical canonical
//! forms, which is what a commitment needs.

use serde_json::Value;
use std::fmt::Write as _;

/// The RFC 8785 canonical form of `value`.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    write_value(value, &mut out);
    out.into_bytes()
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
            sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (index, (name, member)) in sorted.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(name, out);
                out.push(':');
                write_value(member, out);
            }
            out.push('}');
        }
    }
}

fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            control if (control as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", control as u32);
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

fn write_number(number: &serde_json::Number, out: &mut String) {
    if let Some(integer) = number.as_i64() {
        // Integers beyond 2^53 are not exactly representable in ECMAScript; FHIR has no
        // such integers, and writing them exactly is the lesser surprise.
        let _ = write!(out, "{integer}");
    } else if let Some(integer) = number.as_u64() {
        let _ = write!(out, "{integer}");
    } else if let Some(float) = number.as_f64() {
        write_ecmascript_double(float, out);
    }
}

/// ECMAScript `Number::toString(x)` for finite `x` (ECMA-262, 7.1.12.1).
fn write_ecmascript_double(value: f64, out: &mut String) {
    if value == 0.0 {
        out.push('0');
        return;
    }
    if value < 0.0 {
        out.push('-');
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, as ECMAScript requires.
    let scientific = format!("{:e}", value.abs());
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let k = digits.len() as i32;
    let n = exponent + 1; // value = 0.digits × 10^n
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{}", if n > 0 { "+" } else { "-" }, (n - 1).abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canonical_number(value: f64) -> String {
        let mut out = String::new();
        write_ecmascript_double(value, &mut out);
        out
    }

    // Vectors from RFC 8785, appendix B and section 3.2.2.3.
    #[test]
    fn numbers_follow_ecmascript_serialisation() {
        assert_eq!(canonical_number(1e30), "1e+30");
        assert_eq!(canonical_number(4.50), "4.5");
        assert_eq!(canonical_number(2e-3), "0.002");
        assert_eq!(canonical_number(0.000001), "0.000001");
        assert_eq!(canonical_number(1e-7), "1e-7");
        #[allow(clippy::excessive_precision)]
        let thirds = 333333333.33333329;
        assert_eq!(canonical_number(thirds), "333333333.3333333");
        assert_eq!(canonical_number(-0.0), "0");
        assert_eq!(canonical_number(1e21), "1e+21");
        assert_eq!(canonical_number(1e20), "100000000000000000000");
        assert_eq!(
            canonical_number(f64::from_bits(0x0000000000000001)),
            "5e-324"
        );
        assert_eq!(
            canonical_number(f64::from_bits(0x7fefffffffffffff)),
            "1.7976931348623157e+308"
        );
    }

    #[test]
    fn members_are_sorted_by_utf16_code_units() {
        // RFC 8785, section 3.2.3.
        let value = json!({
            "\u{20ac}": "Euro Sign", "\r": "Carriage Return", "\u{fb33}": "Hebrew Letter Dalet With Dagesh",
            "1": "One", "\u{1f600}": "Emoji: Grinning Face", "\u{80}": "Control", "\u{f6}": "Latin Small Letter O With Diaeresis"
        });
        let text = String::from_utf8(canonical_json(&value)).unwrap();
        let order: Vec<usize> = [
            "\"\\r\"",
            "\"1\"",
            "\"\u{80}\"",
            "\"\u{f6}\"",
            "\"\u{20ac}\"",
            "\"\u{1f600}\"",
            "\"\u{fb33}\"",
        ]
        .iter()
        .map(|key| text.find(key).expect("every key is written"))
        .collect();
        assert!(order.windows(2).all(|pair| pair[0] < pair[1]), "{text}");
    }

    #[test]
    fn whitespace_and_member_order_do_not_change_the_canonical_form() {
        let a: Value = serde_json::from_str(
            "{ \"b\" : [1, 2.50, \"x\\u0041\"], \"a\": {\"z\":null, \"y\":true} }",
        )
        .unwrap();
        let b: Value =
            serde_json::from_str("{\"a\":{\"y\":true,\"z\":null},\"b\":[1,2.5,\"xA\"]}").unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
        assert_eq!(
            canonical_json(&a),
            br#"{"a":{"y":true,"z":null},"b":[1,2.5,"xA"]}"#.to_vec()
        );
    }

    #[test]
    fn strings_use_minimal_escaping() {
        let value = json!("\u{1}\u{8}\t\n\u{c}\r\"\\/é");
        assert_eq!(
            canonical_json(&value),
            "\"\\u0001\\b\\t\\n\\f\\r\\\"\\\\/é\"".as_bytes()
        );
    }
}
