//! Single byte ranges (RFC 9110 §14): what the server makes of a `Range` header, and the
//! `Content-Range` values both sides exchange.

use std::fmt;
use std::str::FromStr;

/// What to send for a request's `Range` header, given the file length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeDecision {
    /// 200, the whole file: no `Range`, a unit other than bytes, several ranges (which
    /// RFC 9110 lets a server answer in full), or a header we cannot read (which a server
    /// must then ignore).
    Full,
    /// 206, bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// 416: the range starts at or after the end of the file.
    Unsatisfiable,
}

/// Decides how to answer `Range: <header>` for a file of `len` bytes.
pub(crate) fn decide(header: Option<&str>, len: u64) -> RangeDecision {
    let Some(spec) = header.and_then(|h| strip_prefix_ignore_case(h.trim(), "bytes=")) else {
        return RangeDecision::Full;
    };
    if spec.contains(',') {
        return RangeDecision::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeDecision::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        // Suffix range `-S`: the last S bytes.
        return match parse_digits(last) {
            Some(0) => RangeDecision::Unsatisfiable,
            Some(_) if len == 0 => RangeDecision::Unsatisfiable,
            Some(suffix) => RangeDecision::Partial {
                start: len.saturating_sub(suffix),
                end: len - 1,
            },
            None => RangeDecision::Full,
        };
    }
    let Some(start) = parse_digits(first) else {
        return RangeDecision::Full;
    };
    let end = if last.is_empty() {
        None
    } else {
        match parse_digits(last) {
            Some(end) if end >= start => Some(end),
            // `N-M` with M < N, or garbage, is invalid: ignore the header.
            _ => return RangeDecision::Full,
        }
    };
    if start >= len {
        return RangeDecision::Unsatisfiable;
    }
    RangeDecision::Partial {
        start,
        end: end.map_or(len - 1, |end| end.min(len - 1)),
    }
}

/// A `Content-Range` value: `bytes START-END/TOTAL` (206) or `bytes */TOTAL` (416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRange {
    /// The bytes `start..=end` of a representation of `total` bytes.
    Bytes { start: u64, end: u64, total: u64 },
    /// The requested range was unsatisfiable; the representation has `total` bytes.
    Unsatisfied { total: u64 },
}

impl fmt::Display for ContentRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bytes { start, end, total } => write!(f, "bytes {start}-{end}/{total}"),
            Self::Unsatisfied { total } => write!(f, "bytes */{total}"),
        }
    }
}

impl FromStr for ContentRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("cannot read Content-Range `{s}`");
        let rest = strip_prefix_ignore_case(s.trim(), "bytes ").ok_or_else(bad)?;
        let (range, total) = rest.split_once('/').ok_or_else(bad)?;
        let total = parse_digits(total.trim()).ok_or_else(bad)?;
        if range.trim() == "*" {
            return Ok(Self::Unsatisfied { total });
        }
        let (start, end) = range.split_once('-').ok_or_else(bad)?;
        let start = parse_digits(start.trim()).ok_or_else(bad)?;
        let end = parse_digits(end.trim()).ok_or_else(bad)?;
        if start > end || end >= total {
            return Err(bad());
        }
        Ok(Self::Bytes { start, end, total })
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Only ASCII digits (`u64::from_str` would also take a leading `+`).
fn parse_digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::RangeDecision::*;
    use super::*;

    #[test]
    fn single_ranges() {
        assert_eq!(decide(None, 10), Full);
        assert_eq!(decide(Some("bytes=0-"), 10), Partial { start: 0, end: 9 });
        assert_eq!(decide(Some("bytes=3-"), 10), Partial { start: 3, end: 9 });
        assert_eq!(decide(Some("bytes=3-4"), 10), Partial { start: 3, end: 4 });
        assert_eq!(decide(Some("bytes=9-9"), 10), Partial { start: 9, end: 9 });
        assert_eq!(
            decide(Some("Bytes= 2-100"), 10),
            Partial { start: 2, end: 9 }
        );
        assert_eq!(decide(Some("bytes=-3"), 10), Partial { start: 7, end: 9 });
        assert_eq!(decide(Some("bytes=-30"), 10), Partial { start: 0, end: 9 });
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(decide(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(decide(Some("bytes=15-20"), 10), Unsatisfiable);
        assert_eq!(decide(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(decide(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(decide(Some("bytes=-5"), 0), Unsatisfiable);
    }

    #[test]
    fn ignored_ranges() {
        assert_eq!(decide(Some("bytes=0-1,4-5"), 10), Full);
        assert_eq!(decide(Some("items=0-1"), 10), Full);
        assert_eq!(decide(Some("bytes=5-2"), 10), Full);
        assert_eq!(decide(Some("bytes=a-"), 10), Full);
        assert_eq!(decide(Some("bytes=+1-"), 10), Full);
        assert_eq!(decide(Some("bytes=-"), 10), Full);
        assert_eq!(decide(Some("bytes"), 10), Full);
    }

    #[test]
    fn content_range_round_trips() {
        for value in [
            ContentRange::Bytes {
                start: 0,
                end: 0,
                total: 1,
            },
            ContentRange::Bytes {
                start: 5,
                end: 9,
                total: 10,
            },
            ContentRange::Unsatisfied { total: 10 },
        ] {
            assert_eq!(value.to_string().parse::<ContentRange>(), Ok(value));
        }
        assert!("bytes 5-4/10".parse::<ContentRange>().is_err());
        assert!("bytes 5-10/10".parse::<ContentRange>().is_err());
        assert!("items 0-1/2".parse::<ContentRange>().is_err());
    }
}
