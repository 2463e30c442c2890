//! The HTTP contract between the driver and an offers service (`mocks/README.md` documents it
//! for people who implement it). JSON bodies; money as decimal strings with two places; times
//! RFC 3339 with an offset; no card numbers: a card is the driver's opaque handle.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use offersim_sim::core::money::Cents;
use offersim_sim::world::network::MessageKind;
use offersim_sim::world::Channel;
use offersim_sim::SimTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The simulated instant a request belongs to.
pub const TIME_HEADER: &str = "x-offersim-time";

/// `PUT /v1/merchants/{merchant}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MerchantBody {
    pub name: String,
    /// The merchant's time zone, e.g. `"-05:00"`: offers are judged in its local time.
    pub utc_offset: String,
    /// Its terminal ids (MIDs), in order.
    pub mids: Vec<String>,
}

/// `POST /v1/users/{user}/cards`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardBody {
    /// The driver's opaque handle of the physical card (letters only, never a card number).
    pub card: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenAnswer {
    pub token: String,
}

/// `POST /v1/enrollments`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentBody {
    pub token: String,
    pub offer: String,
}

/// `POST /v1/network/messages`: one delivery of the card network's feed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    /// `<transaction>:<kind>`; every delivery of the same message carries the same key.
    pub idempotency_key: String,
    /// `auth`, `clearing`, `reversal` or `refund` (`MessageKind` by its wire name).
    pub kind: MessageKind,
    /// The network's transaction id (a refund's own id when it does not reference its original).
    pub transaction: String,
    pub card: String,
    pub mid: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub amount: Decimal,
    pub purchase_time: String,
    pub network_time: String,
    /// Refunds: the original transaction, when the network references it.
    pub referenced: Option<String>,
    pub channel: String,
    pub scheme: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageAnswer {
    pub duplicate: bool,
}

/// One credit as `GET /v1/credits` lists it. A credit granted twice is listed twice.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CreditBody {
    pub transaction: String,
    pub offer: String,
    #[serde(with = "rust_decimal::serde::str")]
    pub reward: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub fee: Decimal,
    pub state: String,
    /// The part of the reward taken back by refunds.
    #[serde(with = "rust_decimal::serde::str")]
    pub reversed: Decimal,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreditsPage {
    pub credits: Vec<CreditBody>,
    /// The cursor of the next page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// Money on the wire: `12.50`.
pub fn money(c: Cents) -> Decimal {
    c.to_decimal()
}

/// Money from the wire, exactly in cents (more than two decimals is refused).
pub fn cents(d: Decimal) -> Option<Cents> {
    Cents::from_decimal_exact(d)
}

pub fn channel_name(c: Channel) -> &'static str {
    c.name()
}

pub fn channel(name: &str) -> Option<Channel> {
    Channel::ALL.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// A wall-clock-free instant on the wire: `origin` is the scenario start (local midnight),
/// `offset_secs` the scenario's seconds ahead of UTC.
pub fn rfc3339(origin: NaiveDateTime, offset_secs: i64, t: SimTime) -> String {
    let local = origin + chrono::Duration::seconds(t.0 as i64);
    let zone = i32::try_from(offset_secs)
        .ok()
        .and_then(FixedOffset::east_opt)
        .unwrap_or(FixedOffset::east_opt(0).expect("zero offset"));
    match local.and_local_timezone(zone).single() {
        Some(dt) => dt.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => local.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

/// The instant of an RFC 3339 time, in UTC.
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(s.trim()).ok().map(|d| d.naive_utc())
}

/// The wire's transaction id of a purchase: `t<user>.<seq>`.
pub fn transaction_id(user: u32, seq: u32) -> String {
    format!("t{user}.{seq}")
}

pub fn parse_transaction_id(s: &str) -> Option<(u32, u32)> {
    let (u, q) = s.strip_prefix('t')?.split_once('.')?;
    Some((u.parse().ok()?, q.parse().ok()?))
}

/// The wire's user id: `u<user>`.
pub fn user_id(user: u32) -> String {
    format!("u{user}")
}

/// Letters only (base 26), so that no handle can look like a card number.
pub fn letters(prefix: &str, mut v: u64) -> String {
    let mut l = [b'a'; 14];
    for c in l.iter_mut().rev() {
        *c = b'a' + (v % 26) as u8;
        v /= 26;
    }
    let mut s = String::with_capacity(prefix.len() + 14);
    s.push_str(prefix);
    s.extend(l.iter().map(|&b| b as char));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_through_rfc3339_with_the_scenario_offset() {
        let origin = chrono::NaiveDate::from_ymd_opt(2013, 11, 11).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap();
        let s = rfc3339(origin, -5 * 3600, SimTime(3_600 + 61));
        assert_eq!(s, "2013-11-11T01:01:01-05:00");
        let utc = parse_time(&s).unwrap();
        assert_eq!(utc.format("%Y-%m-%dT%H:%M:%S").to_string(), "2013-11-11T06:01:01");
    }

    #[test]
    fn transaction_ids_round_trip_and_handles_have_no_digits() {
        assert_eq!(parse_transaction_id(&transaction_id(42, 7)), Some((42, 7)));
        assert_eq!(parse_transaction_id("x42.7"), None);
        let h = letters("card_", u64::MAX);
        assert!(h.starts_with("card_") && !h.chars().any(|c| c.is_ascii_digit()));
    }
}
