//! One line of the event log as reports/README.md documents it ("Event log"), and the ids and
//! amounts in it decoded. Unknown fields are skipped; a field a line's type needs and lacks is
//! a malformed line.

use serde::Deserialize;
use std::borrow::Cow;

/// Every field any line type has (each optional here; `need` asks for the ones a type needs).
#[derive(Debug, Deserialize)]
pub struct Line<'a> {
    pub seq: u64,
    pub t: u64,
    pub shard: u32,
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    pub user: Option<u32>,
    #[serde(borrow)]
    pub purchase: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub offer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub merchant: Option<Cow<'a, str>>,
    /// A token, or null (`purchase`, `refund`).
    #[serde(borrow)]
    pub card: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub physical_card: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub amount: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub reward: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub fee: Option<Cow<'a, str>>,
    pub network_t: Option<u64>,
    pub due_t: Option<u64>,
    pub mid_known: Option<bool>,
    pub referenced: Option<bool>,
    /// The message kind (`duplicate_ignored`, `undelivered`).
    #[serde(rename = "kind", borrow)]
    pub message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub from: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub descriptor: Option<Cow<'a, str>>,
}

/// What is wrong with a line as a line (not as an account of what happened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

/// A field a line of this type needs.
pub fn need<T>(field: Option<T>, name: &str, kind: &str) -> Result<T, Malformed> {
    field.ok_or_else(|| Malformed(format!("a `{kind}` line needs `{name}`")))
}

/// Cents from an amount as the log writes it: `12.34` (two decimals, optional minus sign).
pub fn cents(s: &str) -> Result<i64, Malformed> {
    let bad = || Malformed(format!("`{s}` is not an amount like 12.34"));
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (whole, frac) = digits.split_once('.').ok_or_else(bad)?;
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || frac.len() != 2 || !all_digits(frac) || whole.len() > 15 {
        return Err(bad());
    }
    let v = whole.parse::<i64>().map_err(|_| bad())? * 100 + frac.parse::<i64>().map_err(|_| bad())?;
    Ok(if neg { -v } else { v })
}

/// A purchase id `P<user>.<n>` as one number (user in the high half).
pub fn purchase_id(s: &str) -> Result<u64, Malformed> {
    let bad = || Malformed(format!("`{s}` is not a purchase id like P12.3"));
    let (user, n) = s.strip_prefix('P').and_then(|r| r.split_once('.')).ok_or_else(bad)?;
    let user: u32 = user.parse().map_err(|_| bad())?;
    let n: u32 = n.parse().map_err(|_| bad())?;
    Ok((u64::from(user) << 32) | u64::from(n))
}

/// The user of a purchase id made by `purchase_id`.
pub fn purchase_user(id: u64) -> u32 {
    (id >> 32) as u32
}

/// A purchase id as the log writes it.
pub fn purchase_name(id: u64) -> String {
    format!("P{}.{}", id >> 32, id & 0xffff_ffff)
}

/// A token `tok_` + 14 lower-case letters, as a number.
pub fn token(s: &str) -> Result<u64, Malformed> {
    let bad = || Malformed(format!("`{s}` is not a card token like tok_abcdefghijklmn"));
    let letters = s.strip_prefix("tok_").filter(|l| l.len() == 14).ok_or_else(bad)?;
    letters.bytes().try_fold(0u64, |v, b| {
        if !b.is_ascii_lowercase() {
            return Err(bad());
        }
        v.checked_mul(26).and_then(|v| v.checked_add(u64::from(b - b'a'))).ok_or_else(bad)
    })
}

/// A physical card `pc_<user>_<slot>`, as (user, slot).
pub fn physical_card(s: &str) -> Result<(u32, u8), Malformed> {
    let bad = || Malformed(format!("`{s}` is not a physical card like pc_12_0"));
    let (user, slot) = s.strip_prefix("pc_").and_then(|r| r.split_once('_')).ok_or_else(bad)?;
    Ok((user.parse().map_err(|_| bad())?, slot.parse().map_err(|_| bad())?))
}

/// Cents as the log writes them.
pub fn dollars(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.unsigned_abs() / 100, c.unsigned_abs() % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_ids_and_cards_decode_and_reject_what_is_not_theirs() {
        assert_eq!(cents("12.34"), Ok(1234));
        assert_eq!(cents("-0.05"), Ok(-5));
        assert_eq!(cents("0.00"), Ok(0));
        for bad in ["12.3", "12", ".50", "1.234", "1e2", "", "-", "١.00", "999999999999999999.00"] {
            assert!(cents(bad).is_err(), "{bad}");
        }
        assert_eq!(dollars(-5), "-0.05");
        assert_eq!(dollars(123_456), "1234.56");
        let p = purchase_id("P4951.17").unwrap();
        assert_eq!((purchase_user(p), purchase_name(p)), (4951, "P4951.17".to_string()));
        for bad in ["4951.0", "P4951", "P-1.0", "Px.0", "P1.2.3"] {
            assert!(purchase_id(bad).is_err(), "{bad}");
        }
        assert_eq!(token("tok_aaaaaaaaaaaaab"), Ok(1));
        assert!(token("tok_aaaaaaaaaaaaa").is_err());
        assert!(token("tok_AAAAAAAAAAAAAA").is_err());
        assert!(token("tok_zzzzzzzzzzzzzz").is_err(), "26^14 - 1 does not fit 64 bits");
        assert_eq!(physical_card("pc_12_3"), Ok((12, 3)));
        assert!(physical_card("pc_12").is_err());
    }
}
