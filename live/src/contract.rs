//! The HTTP contract between the driver and an offers service (`live/README.md` documents it
//! for people who implement it, and `live/openapi.json` is its OpenAPI document, generated from
//! these types by `serve::openapi`). JSON bodies; money as decimal strings with two places;
//! times RFC 3339 with an offset; no card numbers: a card is the driver's opaque handle.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use offersim_sim::core::money::Cents;
use offersim_sim::world::network::MessageKind;
use offersim_sim::world::Channel;
use offersim_sim::SimTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// The simulated instant a request belongs to.
pub const TIME_HEADER: &str = "x-offersim-time";

/// Money on the wire: a decimal string with exactly two places (`"12.50"`), never a float.
pub const MONEY_PATTERN: &str = r"^[0-9]+\.[0-9]{2}$";

/// The states of a credit, as `GET /v1/credits` names them.
pub const CREDIT_STATES: [&str; 4] = ["pending", "confirmed", "paid", "reversed"];

fn string_schema(description: &str) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description))
}

/// An amount (schema only; the fields are `Decimal`s): [`MONEY_PATTERN`].
pub struct Money;

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        string_schema("An amount in the currency's units: a decimal string with two places, never a float.")
            .pattern(Some(MONEY_PATTERN))
            .examples(["12.50"])
            .into()
    }
}
impl ToSchema for Money {}

/// An instant (schema only): RFC 3339 with an offset.
pub struct Rfc3339;

impl PartialSchema for Rfc3339 {
    fn schema() -> RefOr<Schema> {
        string_schema("An instant, RFC 3339 with an offset.")
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .examples(["2013-11-12T08:14:09-05:00"])
            .into()
    }
}
impl ToSchema for Rfc3339 {
    fn name() -> Cow<'static, str> {
        "Time".into()
    }
}

/// An id (schema only): 1 to `guard::MAX_ID_BYTES` bytes, no control characters.
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        string_schema("An id: 1 to 128 bytes, no control characters.")
            .min_length(Some(1))
            .max_length(Some(crate::guard::MAX_ID_BYTES))
            .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]+$"))
            .into()
    }
}
impl ToSchema for Id {}

/// A card: the driver's opaque handle (schema only). Never a card number.
pub struct CardHandle;

impl PartialSchema for CardHandle {
    fn schema() -> RefOr<Schema> {
        string_schema(
            "The driver's opaque handle of a physical card (`card_` and 14 letters), never a card number: \
             a value with 12 or more digits (of any script) is refused with 422.",
        )
        .min_length(Some(1))
        .max_length(Some(crate::guard::MAX_ID_BYTES))
        .examples(["card_aaaabcdefghijk"])
        .into()
    }
}
impl ToSchema for CardHandle {}

/// A kind of network message (schema only; the field is `MessageKind`).
pub struct Kind;

impl PartialSchema for Kind {
    fn schema() -> RefOr<Schema> {
        string_schema("The kind of a network message.").enum_values(Some(MessageKind::ALL.map(|k| k.name()))).into()
    }
}
impl ToSchema for Kind {
    fn name() -> Cow<'static, str> {
        "MessageKind".into()
    }
}

/// A purchase channel (schema only).
pub struct ChannelName;

impl PartialSchema for ChannelName {
    fn schema() -> RefOr<Schema> {
        string_schema("The channel of a purchase.").enum_values(Some(Channel::ALL.map(|(n, _)| n))).into()
    }
}
impl ToSchema for ChannelName {
    fn name() -> Cow<'static, str> {
        "Channel".into()
    }
}

/// A credit's state (schema only): [`CREDIT_STATES`].
pub struct CreditState;

impl PartialSchema for CreditState {
    fn schema() -> RefOr<Schema> {
        string_schema("Where a credit is: pending (within the return period), confirmed, paid, or reversed (all of it taken back).")
            .enum_values(Some(CREDIT_STATES))
            .into()
    }
}
impl ToSchema for CreditState {}

/// `PUT /v1/merchants/{merchant}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Cafe Lumiere", "utc_offset": "-05:00", "mids": ["cafe_lumiere#1", "cafe_lumiere#2"]}))]
pub struct MerchantBody {
    #[schema(max_length = 256)]
    pub name: String,
    /// The merchant's time zone, e.g. `"-05:00"`: offers are judged in its local time.
    #[schema(pattern = r"^[+-][0-9]{2}:[0-9]{2}$", example = "-05:00")]
    pub utc_offset: String,
    /// Its terminal ids (MIDs), in order (1 to 64, each an id).
    #[schema(value_type = Vec<Id>, max_items = 64)]
    pub mids: Vec<String>,
}

/// `POST /v1/users/{user}/cards`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardBody {
    /// The driver's opaque handle of the physical card (letters only, never a card number).
    #[schema(value_type = CardHandle)]
    pub card: String,
}

/// The service's token for a linked card.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenAnswer {
    #[schema(value_type = Id)]
    pub token: String,
}

/// `POST /v1/enrollments`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentBody {
    /// A token `POST /v1/users/{user}/cards` answered.
    #[schema(value_type = Id)]
    pub token: String,
    /// An offer registered with `PUT /v1/offers/{offer}`.
    #[schema(value_type = Id)]
    pub offer: String,
}

/// `POST /v1/network/messages`: one delivery of the card network's feed. Delivery is at least
/// once: the same `idempotency_key` may come again, and the service must act once per key.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"idempotency_key": "t17.3:clearing", "kind": "clearing", "transaction": "t17.3",
    "card": "card_aaaabcdefghijk", "mid": "cafe_lumiere#1", "amount": "6.75",
    "purchase_time": "2013-11-12T08:14:09-05:00", "network_time": "2013-11-14T00:00:00-05:00",
    "referenced": null, "channel": "in_store", "scheme": "visa"}))]
pub struct MessageBody {
    /// `<transaction>:<kind>`; every delivery of the same message carries the same key.
    #[schema(value_type = Id)]
    pub idempotency_key: String,
    /// `auth`, `clearing`, `reversal` or `refund` (`MessageKind` by its wire name).
    #[schema(value_type = Kind)]
    pub kind: MessageKind,
    /// The network's transaction id (a refund's own id when it does not reference its original).
    #[schema(value_type = Id)]
    pub transaction: String,
    /// The card's handle; a card the service does not know is answered 200 and ignored.
    #[schema(value_type = CardHandle)]
    pub card: String,
    /// A terminal id; one never registered cannot be tied to a merchant and earns nothing.
    #[schema(value_type = Id)]
    pub mid: String,
    /// Positive; a clearing's amount is what counts.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = Money)]
    pub amount: Decimal,
    /// When the purchase was made: at or before `network_time`.
    #[schema(value_type = Rfc3339)]
    pub purchase_time: String,
    /// When the network sent the message: at or before the request's `X-Offersim-Time`.
    #[schema(value_type = Rfc3339)]
    pub network_time: String,
    /// Refunds: the original transaction, when the network references it (null when it does not
    /// say; then the service must find it: same card, same merchant, amount).
    #[schema(value_type = Option<Id>)]
    pub referenced: Option<String>,
    #[schema(value_type = ChannelName)]
    pub channel: String,
    /// The card scheme, e.g. `visa`.
    pub scheme: String,
}

/// What `POST /v1/network/messages` answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MessageAnswer {
    /// Whether this `idempotency_key` was seen before (nothing was done again).
    pub duplicate: bool,
}

/// One credit as `GET /v1/credits` lists it. A credit granted twice is listed twice.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct CreditBody {
    /// The purchase the credit is for (its auth and clearing's `transaction`).
    #[schema(value_type = Id)]
    pub transaction: String,
    #[schema(value_type = Id)]
    pub offer: String,
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = Money)]
    pub reward: Decimal,
    /// The platform's fee on the reward.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = Money)]
    pub fee: Decimal,
    #[schema(value_type = CreditState)]
    pub state: String,
    /// The part of the reward taken back by refunds.
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = Money)]
    pub reversed: Decimal,
}

/// A page of `GET /v1/credits`, in a stable order once traffic stops.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditsPage {
    pub credits: Vec<CreditBody>,
    /// The cursor of the next page (at most 1,024 bytes, never one returned before); null or
    /// absent on the last page.
    #[schema(max_length = 1024)]
    pub next: Option<String>,
}

/// A refusal: every `4xx` (and the `500` of a service that cannot trust its state) says why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What was wrong; never a card number, never a value echoed at length.
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
