//! The scenario file, as written by people: serde types that mirror the TOML sections, with
//! defaults. Nothing here is trusted yet: `world::build` validates every value and reference and
//! reports each problem with the path of the offending key, which the loader turns into
//! `file:line:column`.
//!
//! The type is generic over the card network's own section (`N`), which the mock network crate
//! owns, so that this crate does not depend on any particular network.

use rust_decimal::Decimal;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

pub use super::dates::{DateInput, DateTimeInput};

/// The scenario format's shape tag: its JSON Schema's title (`offersim schema scenario`).
pub const SCENARIO_SCHEMA: &str = "offersim.scenario/1";

/// A scenario file: the world (people, merchants, offers), the card network and what to check.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioConfig<N> {
    pub scenario: ScenarioMeta,
    pub population: PopulationConfig,
    pub segments: BTreeMap<String, SegmentConfig>,
    #[serde(default)]
    pub profiles: BTreeMap<String, Vec<f64>>,
    #[serde(default)]
    pub merchants: Ordered<MerchantConfig>,
    #[serde(default)]
    pub merchant_groups: Vec<MerchantGroupConfig>,
    #[serde(default)]
    pub offers: Ordered<OfferConfig>,
    #[serde(default)]
    pub offer_groups: Vec<OfferGroupConfig>,
    #[serde(default)]
    pub surges: Vec<SurgeConfig>,
    pub network: N,
    /// Conditions on the outcome: metric name → `"op limit"` (`thresholds.rs`).
    #[serde(default)]
    pub thresholds: BTreeMap<String, String>,
    /// How purchases are credited to the surfaces that led to them (`attribution.rs`).
    #[serde(default)]
    pub attribution: AttributionConfig,
    /// Shop carousels on merchant profiles (`shops.rs`).
    #[serde(default)]
    pub carousels: Ordered<CarouselConfig>,
    /// Buy buttons in posts (`shops.rs`).
    #[serde(default)]
    pub buy_buttons: Ordered<BuyButtonConfig>,
    /// How people respond to an offer's terms (`behaviour.rs`).
    #[serde(default)]
    pub behaviour: BehaviourConfig,
}

/// `[behaviour]`: the response to an offer's value (`behaviour.rs`; defaults and their sources
/// in scenarios/README.md).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct BehaviourConfig {
    pub reference_value: f64,
    pub half_value: f64,
    pub steepness: f64,
    pub prompt_wear_out: f64,
    pub top_up_max: f64,
    pub top_up_half: f64,
    pub pull_forward: f64,
    pub pull_forward_days: i64,
}

impl Default for BehaviourConfig {
    fn default() -> Self {
        let b = crate::world::behaviour::Behaviour::default();
        BehaviourConfig {
            reference_value: b.reference_value,
            half_value: b.half_value,
            steepness: b.steepness,
            prompt_wear_out: b.prompt_wear_out,
            top_up_max: b.top_up_max,
            top_up_half: b.top_up_half,
            pull_forward: b.pull_forward,
            pull_forward_days: b.pull_forward_days as i64,
        }
    }
}

/// A shop carousel: product photos on a merchant's profile; a tap opens the merchant's site.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CarouselConfig {
    pub merchant: String,
    pub start: Option<DateTimeInput>,
    pub end: Option<DateTimeInput>,
    #[serde(default)]
    pub targeting: TargetingConfig,
    /// Taps per impression.
    #[serde(default = "default_carousel_tap_rate")]
    pub tap_rate: f64,
    /// Taps that load the merchant's site.
    #[serde(default = "default_visit_rate")]
    pub visit_rate: f64,
    /// Site visits that end in a purchase (ordinary e-commerce: about 1%).
    #[serde(default = "default_site_conversion")]
    pub conversion: f64,
}

fn default_carousel_tap_rate() -> f64 {
    0.03
}
fn default_visit_rate() -> f64 {
    0.8
}
fn default_site_conversion() -> f64 {
    0.01
}

/// A buy button: a product sold inside a post, paid with the stored card in one click (the
/// first time, after typing the card).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BuyButtonConfig {
    pub merchant: String,
    pub product: String,
    pub price: DecimalInput,
    /// Units per order: 1 to this many, equally likely.
    #[serde(default = "one_unit")]
    pub max_quantity: u32,
    /// Units for sale; the product sells out (default: unlimited).
    pub inventory: Option<u32>,
    pub start: Option<DateTimeInput>,
    pub end: Option<DateTimeInput>,
    #[serde(default)]
    pub targeting: TargetingConfig,
    /// Orders per impression (between a site's ~1% and a shop's ~20% of visitors).
    #[serde(default = "default_button_conversion")]
    pub conversion: f64,
}

fn one_unit() -> u32 {
    1
}
fn default_button_conversion() -> f64 {
    0.05
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttributionConfig {
    /// `last_touch` (default) or `first_touch`.
    #[serde(default = "default_rule")]
    pub rule: String,
    /// Days a touch counts for.
    #[serde(default = "default_window_days")]
    pub window_days: u32,
}

impl Default for AttributionConfig {
    fn default() -> Self {
        AttributionConfig { rule: default_rule(), window_days: default_window_days() }
    }
}

fn default_rule() -> String {
    "last_touch".to_string()
}
fn default_window_days() -> u32 {
    7
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioMeta {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub seed: u64,
    pub start: DateInput,
    pub days: u32,
    #[serde(default = "default_settle_days")]
    pub settle_days: u32,
    /// The scenario's time zone as an offset from UTC (`"-05:00"`): every date-time in the file
    /// is in it unless a merchant says otherwise (default `"+00:00"`).
    #[serde(default)]
    pub utc_offset: OffsetInput,
}

fn default_settle_days() -> u32 {
    30
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PopulationConfig {
    pub users: u64,
    #[serde(default = "one")]
    pub merchant_zipf_exponent: f64,
    /// Independent groups of users simulated in parallel (budgets split between them); by
    /// default one per `world::USERS_PER_SHARD` users.
    #[serde(default)]
    pub shards: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    pub share: f64,
    #[serde(default)]
    pub hashtags: BTreeMap<String, f64>,
    pub purchases_per_day: f64,
    #[serde(default = "one")]
    pub basket_multiplier: f64,
    #[serde(default = "one_card")]
    pub cards_per_user: Vec<f64>,
    pub schemes: BTreeMap<String, f64>,
    #[serde(default = "default_primary_card_share")]
    pub primary_card_share: f64,
    pub click_rate: f64,
    pub card_entry_completion: f64,
    #[serde(default)]
    pub card_delete_per_day: f64,
    /// Share of people whose account their card issuer has linked to a card: they can enroll
    /// by posting an offer's hashtag (`hashtag_sync`).
    #[serde(default)]
    pub issuer_linked_share: f64,
    /// How strongly the segment perceives an offer's value (a multiplier, `behaviour.rs`).
    #[serde(default = "one")]
    pub value_sensitivity: f64,
}

fn one() -> f64 {
    1.0
}
fn one_card() -> Vec<f64> {
    vec![1.0]
}
fn default_primary_card_share() -> f64 {
    0.8
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantConfig {
    /// Required for `[merchants.*]`; a group's template takes its names from the group.
    pub name: Option<String>,
    pub category: String,
    #[serde(default = "one_mid")]
    pub mids: u32,
    #[serde(default = "default_channels")]
    pub channels: BTreeMap<String, f64>,
    #[serde(default = "default_profile")]
    pub profile: String,
    pub basket: BasketConfig,
    #[serde(default = "one")]
    pub popularity: f64,
    #[serde(default = "default_margin")]
    pub gross_margin: DecimalInput,
    /// The merchant's time zone (default: the scenario's): offers at this merchant judge
    /// window, weekday and hour in it, and its daily profile is local.
    pub utc_offset: Option<OffsetInput>,
}

fn one_mid() -> u32 {
    1
}
fn default_channels() -> BTreeMap<String, f64> {
    BTreeMap::from([("in_store".to_string(), 1.0)])
}
fn default_profile() -> String {
    "flat".to_string()
}
fn default_margin() -> DecimalInput {
    DecimalInput(Decimal::new(30, 2))
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasketConfig {
    pub median: DecimalInput,
    pub sigma: f64,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MerchantGroupConfig {
    pub id_prefix: String,
    pub name_prefix: String,
    pub count: u32,
    pub template: MerchantConfig,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferConfig {
    /// Required for `[offers.*]`; a group's template takes its merchants from the group.
    pub merchant: Option<String>,
    pub reward: RewardConfig,
    #[serde(default)]
    pub min_spend: DecimalInput,
    pub start: Option<DateTimeInput>,
    pub end: Option<DateTimeInput>,
    pub days: Option<Vec<String>>,
    pub hours: Option<Vec<u32>>,
    pub per_card_cap: Option<u32>,
    pub budget: Option<DecimalInput>,
    /// Days after the clearing during which the reward stays pending (the merchant's return
    /// window); 0 confirms it at once.
    #[serde(default)]
    pub return_period_days: u32,
    /// Days from confirmation to the statement credit (the reward is paid); 0 pays at once.
    #[serde(default)]
    pub payout_delay_days: u32,
    /// Credits per user across all their cards.
    pub per_user_cap: Option<u32>,
    /// Transactions one enrollment (card token × offer) can earn on; a new enrollment starts over.
    pub transactions_per_enrollment: Option<u32>,
    /// Transactions above this amount do not qualify.
    pub max_spend: Option<DecimalInput>,
    /// Purchase channels that qualify (default: all): `in_store`, `online`, `app`.
    pub channels: Option<Vec<String>>,
    /// Card schemes that qualify (default: all).
    pub schemes: Option<Vec<String>>,
    /// MIDs (locations) of the merchant that qualify (default: all), e.g. `cafe#1`.
    pub mids: Option<Vec<String>>,
    /// New customers only: no purchase at the merchant seen in the last this many days.
    pub new_customer_days: Option<u32>,
    /// A budget for every period of `days` days from the offer's start, besides `budget`.
    pub budget_per_period: Option<PeriodBudgetConfig>,
    /// What happens when a reward does not fit in what is left of a budget.
    #[serde(default)]
    pub overspend: Overspend,
    /// Precedence among offers a transaction qualifies for: higher first (default 0).
    #[serde(default)]
    pub priority: i32,
    /// Paid on top of the winning offer instead of competing with it.
    #[serde(default)]
    pub stackable: bool,
    #[serde(default)]
    pub platform_fee_percent: DecimalInput,
    #[serde(default)]
    pub uplift: f64,
    #[serde(default)]
    pub targeting: TargetingConfig,
    /// Hashtag sync: posting `#tag` enrolls (for people with an issuer-linked card).
    pub hashtag_sync: Option<HashtagSyncConfig>,
    /// Reposts: each share exposes the sharer's followers (`sharing.rs`).
    pub sharing: Option<SharingConfig>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SharingConfig {
    /// Shares per person who sees the post (at their first view of it).
    pub share_rate: f64,
    #[serde(default = "default_followers_median")]
    pub followers_median: f64,
    #[serde(default = "one")]
    pub followers_sigma: f64,
    /// Mean hours from a share to a follower's view.
    #[serde(default = "default_share_delay_hours")]
    pub delay_hours: f64,
    /// Views of shared posts at most (default: five per person, at most 5 million).
    pub max_reach: Option<u64>,
}

fn default_followers_median() -> f64 {
    150.0
}
fn default_share_delay_hours() -> f64 {
    3.0
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HashtagSyncConfig {
    pub tag: String,
    /// Share of the people who can enroll this way who post the hashtag when they first see the
    /// offer in their feed.
    #[serde(default = "default_post_rate")]
    pub post_rate: f64,
}

fn default_post_rate() -> f64 {
    0.05
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodBudgetConfig {
    pub amount: DecimalInput,
    pub days: u32,
}

/// The overspend policy of an offer's budgets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Overspend {
    /// A reward that does not fit in what is left is declined: budgets are never exceeded.
    #[default]
    Decline,
    /// A reward is paid in full while anything is left: the last one may overshoot the budget
    /// (by less than one reward); the overshoot is reported.
    FinishLast,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardConfig {
    pub fixed: Option<DecimalInput>,
    pub percent: Option<DecimalInput>,
    pub cap: Option<DecimalInput>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetingConfig {
    pub segments: Option<Vec<String>>,
    pub hashtags: Option<Vec<String>>,
    pub hours: Option<Vec<u32>>,
    #[serde(default = "one")]
    pub impressions_per_day: f64,
    /// Share of the targeted audience never shown the offer (the holdout group).
    #[serde(default)]
    pub holdout: f64,
    /// Moments: bursts of exposures at a given time (a big game's ad break), on top of the
    /// steady rate. Offers only.
    #[serde(default)]
    pub bursts: Vec<BurstConfig>,
}

/// A burst of exposures: every targeted person sees the offer on average `impressions` more
/// times within `minutes` from `start`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BurstConfig {
    pub start: DateTimeInput,
    pub minutes: u32,
    pub impressions: f64,
}

impl Default for TargetingConfig {
    fn default() -> Self {
        TargetingConfig {
            segments: None,
            hashtags: None,
            hours: None,
            impressions_per_day: 1.0,
            holdout: 0.0,
            bursts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferGroupConfig {
    pub id_prefix: String,
    pub merchant_group: String,
    /// The group's first `count` merchants each get one offer.
    pub count: u32,
    pub template: OfferConfig,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SurgeConfig {
    pub name: String,
    pub start: DateTimeInput,
    pub hours: u32,
    pub multiplier: f64,
}

/// A table whose keys are ids, kept in file order (the order defines offer precedence ties and
/// merchant popularity rank).
#[derive(Debug, Clone)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Default for Ordered<T> {
    fn default() -> Self {
        Ordered(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of named entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, T>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Ordered<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Ordered_{}", T::schema_name()).into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(g: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A table of named entries, kept in file order.",
            "type": "object",
            "additionalProperties": g.subschema_for::<T>(),
        })
    }
}

/// A decimal written as a string (`"2.50"`), an integer (`2`) or a float (`2.5`). Floats are
/// read through their shortest decimal form, so `2.675` means exactly 2.675.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DecimalInput(pub Decimal);

impl<'de> Deserialize<'de> for DecimalInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DecimalInput;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal number such as 2.50 or \"2.50\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(DecimalInput(Decimal::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(DecimalInput(Decimal::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                if !v.is_finite() {
                    return Err(E::custom("expected a finite decimal number"));
                }
                Decimal::from_str(&format!("{v}"))
                    .or_else(|_| Decimal::from_scientific(&format!("{v:e}")))
                    .map(DecimalInput)
                    .map_err(|_| E::custom(format!("{v} is out of the decimal range")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Decimal::from_str(v.trim())
                    .map(DecimalInput)
                    .map_err(|_| E::custom(format!("`{v}` is not a decimal number (write e.g. \"2.50\")")))
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for DecimalInput {
    fn schema_name() -> Cow<'static, str> {
        "Decimal".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A decimal number: 2.50, 2 or \"2.50\" (a string keeps every digit written).",
            "anyOf": [
                {"type": "number"},
                {"type": "string", "pattern": "^\\s*[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)\\s*$"}
            ]
        })
    }
}

/// A fixed offset from UTC: `"-05:00"`, `"+05:30"`, `"Z"` (no daylight saving). Seconds east
/// of UTC; validated by the world (range, quarter hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OffsetInput(pub i32);

impl<'de> Deserialize<'de> for OffsetInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_offset(&s).map(OffsetInput).ok_or_else(|| {
            de::Error::custom(format!("`{s}` is not a UTC offset; write it like \"-05:00\", \"+05:30\" or \"Z\""))
        })
    }
}

impl JsonSchema for OffsetInput {
    fn schema_name() -> Cow<'static, str> {
        "UtcOffset".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A fixed offset from UTC: \"-05:00\", \"+05:30\" or \"Z\".",
            "type": "string",
            "pattern": "^\\s*([+-][0-9]{2}:[0-5][0-9]|[Zz])\\s*$"
        })
    }
}

/// `"-05:00"` → -18000 seconds; `"Z"` → 0.
pub fn parse_offset(s: &str) -> Option<i32> {
    let s = s.trim();
    if s == "Z" || s == "z" {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (m < 60).then_some(sign * (h * 3_600 + m * 60))
}

/// One step of a path into the scenario file: a key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSeg {
    Key(String),
    Index(usize),
}

/// Something wrong with a scenario, at a path into the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: Vec<PathSeg>,
    pub message: String,
}

impl Problem {
    pub fn dotted_path(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            match seg {
                PathSeg::Key(k) => {
                    if !s.is_empty() {
                        s.push('.');
                    }
                    s.push_str(k);
                }
                PathSeg::Index(i) => s.push_str(&format!("[{i}]")),
            }
        }
        s
    }
}

/// Builds paths and collects problems while validating.
#[derive(Debug, Default)]
pub struct Problems {
    pub list: Vec<Problem>,
}

impl Problems {
    pub fn push(&mut self, path: Vec<PathSeg>, message: impl Into<String>) {
        self.list.push(Problem { path, message: message.into() });
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// `path!["offers", id, "reward"]`-style helper.
pub fn path(keys: &[&str]) -> Vec<PathSeg> {
    keys.iter().map(|k| PathSeg::Key((*k).to_string())).collect()
}

pub fn with_index(mut p: Vec<PathSeg>, i: usize) -> Vec<PathSeg> {
    p.push(PathSeg::Index(i));
    p
}

pub fn with_key(mut p: Vec<PathSeg>, k: &str) -> Vec<PathSeg> {
    p.push(PathSeg::Key(k.to_string()));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_decimals_keep_the_digits_written() {
        #[derive(Deserialize)]
        struct T {
            a: DecimalInput,
            b: DecimalInput,
            c: DecimalInput,
        }
        let t: T = serde_json::from_str(r#"{"a": 2.675, "b": 5, "c": "0.10"}"#).unwrap();
        assert_eq!(t.a.0.to_string(), "2.675");
        assert_eq!(t.b.0, Decimal::from(5));
        assert_eq!(t.c.0.to_string(), "0.10");
    }
}
