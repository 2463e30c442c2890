//! The program an offers service is told before any traffic: its merchants (with their
//! terminal ids) and its offers, whose terms are the scenario file's `[offers.*]` keys, resolved
//! (an offer group's members one by one; start and end in the merchant's local time).
//!
//! The driver writes them from a `World` (`merchant_body`, `offer_terms`); the reference service
//! builds its own `World` back from them (`Registry::build`) with the same validation as a
//! scenario file, so a bad offer is refused with the same messages.

use crate::contract::{ChannelName, Id, MerchantBody, Money};
use chrono::{Datelike, NaiveDate, NaiveDateTime};
use offersim_sim::world::config::{DateTimeInput, ScenarioConfig};
use offersim_sim::world::{self, Channel, Offer, Reward, World};
use offersim_sim::SimTime;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

const DAY: i64 = 86_400;

/// A merchant as the driver registers it.
pub fn merchant_body(w: &World, m: usize) -> MerchantBody {
    let merchant = &w.merchants[m];
    let offset = w.utc_offset_secs + merchant.local_offset_secs;
    let mids = w.mids.iter().filter(|x| x.merchant.0 as usize == m).map(|x| x.code.clone()).collect();
    MerchantBody { name: merchant.name.clone(), utc_offset: offset_text(offset), mids }
}

pub fn offset_text(seconds: i64) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let a = seconds.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3_600, a % 3_600 / 60)
}

fn local(w: &World, o: &Offer, t: SimTime) -> String {
    let shifted = t.0 as i64 + o.local_offset_secs;
    let origin = w.calendar.datetime(SimTime::ZERO);
    (origin + chrono::Duration::seconds(shifted)).format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// An offer's terms on the wire: the scenario file's keys, resolved. Simulation-only settings
/// (uplift, targeting, holdout) stay out: a service has no business with them.
pub fn offer_terms(w: &World, o: &Offer) -> Value {
    let mut t = Map::new();
    let money = |c: offersim_sim::Cents| Value::String(c.to_decimal().to_string());
    t.insert("merchant".into(), json!(w.merchants[o.merchant.0 as usize].id));
    t.insert(
        "reward".into(),
        match o.reward {
            Reward::Fixed(c) => json!({ "fixed": money(c) }),
            Reward::Percent { percent, cap } => match cap {
                Some(cap) => json!({ "percent": percent.to_string(), "cap": money(cap) }),
                None => json!({ "percent": percent.to_string() }),
            },
        },
    );
    t.insert("min_spend".into(), money(o.min_spend));
    t.insert("start".into(), json!(local(w, o, o.start)));
    t.insert("end".into(), json!(local(w, o, o.end)));
    if o.days_mask != 0x7f {
        let names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let days: Vec<&str> = (0..7).filter(|d| o.days_mask & (1 << d) != 0).map(|d| names[d]).collect();
        t.insert("days".into(), json!(days));
    }
    if o.hours != (0, 24) {
        t.insert("hours".into(), json!([o.hours.0, o.hours.1]));
    }
    let mut opt = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            t.insert(k.into(), v);
        }
    };
    opt("per_card_cap", o.per_card_cap.map(|n| json!(n)));
    opt("per_user_cap", o.per_user_cap.map(|n| json!(n)));
    opt("transactions_per_enrollment", o.per_enrollment_limit.map(|n| json!(n)));
    opt("budget", o.budget.map(money));
    opt("max_spend", o.max_spend.map(money));
    opt(
        "budget_per_period",
        o.period_budget.map(|b| json!({ "amount": money(b.amount), "days": b.period_secs / DAY as u64 })),
    );
    opt("new_customer_days", o.new_customer_window.map(|s| json!(s / DAY as u64)));
    if o.channel_mask != 0b111 {
        let ch: Vec<&str> =
            Channel::ALL.iter().filter(|(_, c)| o.channel_mask & c.bit() != 0).map(|(n, _)| *n).collect();
        opt("channels", Some(json!(ch)));
    }
    let all_schemes = (0..w.schemes.len()).all(|i| o.scheme_mask & (1 << i) != 0);
    if !all_schemes {
        opt("schemes", Some(json!(w.scheme_names(o.scheme_mask))));
    }
    if !o.mids.is_empty() {
        let codes: Vec<&str> = o.mids.iter().map(|m| w.mids[m.0 as usize].code.as_str()).collect();
        opt("mids", Some(json!(codes)));
    }
    let overspend = match o.overspend {
        offersim_sim::world::config::Overspend::Decline => "decline",
        offersim_sim::world::config::Overspend::FinishLast => "finish_last",
    };
    t.insert("overspend".into(), json!(overspend));
    t.insert("priority".into(), json!(o.priority));
    t.insert("stackable".into(), json!(o.stackable));
    t.insert("return_period_days".into(), json!(o.return_period_secs / DAY as u64));
    t.insert("payout_delay_days".into(), json!(o.payout_delay_secs / DAY as u64));
    t.insert("platform_fee_percent".into(), json!(o.fee_percent.to_string()));
    Value::Object(t)
}

/// An offer's terms: the scenario file's `[offers.*]` keys, resolved (`scenarios/README.md`
/// defines each; an offer group's members one by one); absent keys have the file's defaults.
/// The service judges them with the scenario loader's rules and messages.
// For the OpenAPI document: the reference service reads the terms as JSON, and this type
// describes what `offer_terms` writes (`tests/openapi.rs` checks every shipped offer fits it).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"merchant": "cafe_lumiere", "reward": {"fixed": "2.00"}, "min_spend": "5.00",
    "start": "2013-11-11T00:00:00", "end": "2013-11-18T00:00:00"}))]
pub struct OfferTerms {
    /// A merchant registered with `PUT /v1/merchants/{merchant}`.
    #[schema(value_type = Id)]
    pub merchant: String,
    pub reward: RewardTerms,
    /// The least a purchase must spend to qualify (default 0.00).
    #[schema(value_type = Money)]
    #[serde(default)]
    pub min_spend: Option<String>,
    /// Purchases above this amount do not qualify.
    #[schema(value_type = Money)]
    #[serde(default)]
    pub max_spend: Option<String>,
    /// The first instant of the window, in the merchant's local time.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$", example = "2013-11-11T00:00:00")]
    pub start: String,
    /// The end of the window (excluded), in the merchant's local time.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?$", example = "2013-11-18T00:00:00")]
    pub end: String,
    /// The weekdays that qualify (default: all).
    #[schema(value_type = Vec<Weekday>)]
    #[serde(default)]
    pub days: Option<Vec<Weekday>>,
    /// The local hours that qualify: `[from, to)`, 0 to 24 (default `[0, 24]`).
    #[schema(value_type = Vec<u32>, min_items = 2, max_items = 2)]
    #[serde(default)]
    pub hours: Option<Vec<u32>>,
    /// Credits per card.
    #[schema(value_type = u32)]
    #[serde(default)]
    pub per_card_cap: Option<u32>,
    /// Credits per user across all their cards.
    #[schema(value_type = u32)]
    #[serde(default)]
    pub per_user_cap: Option<u32>,
    /// Transactions one enrollment (card token × offer) can earn on; a new enrollment starts over.
    #[schema(value_type = u32)]
    #[serde(default)]
    pub transactions_per_enrollment: Option<u32>,
    /// The most the offer pays in all (rewards).
    #[schema(value_type = Money)]
    #[serde(default)]
    pub budget: Option<String>,
    /// A budget for every period of `days` days from the offer's start, besides `budget`.
    #[schema(value_type = PeriodBudgetTerms)]
    #[serde(default)]
    pub budget_per_period: Option<PeriodBudgetTerms>,
    /// What happens when a reward does not fit in what is left of a budget (default `decline`).
    #[schema(value_type = OverspendTerms)]
    #[serde(default)]
    pub overspend: Option<OverspendTerms>,
    /// Precedence among offers a transaction qualifies for: higher first (default 0; ties go
    /// to the offer registered first).
    #[schema(value_type = i32)]
    #[serde(default)]
    pub priority: Option<i32>,
    /// Paid on top of the winning offer instead of competing with it (default false).
    #[schema(value_type = bool)]
    #[serde(default)]
    pub stackable: Option<bool>,
    /// Days after the clearing during which the reward stays pending (0 confirms it at once).
    #[schema(value_type = u32)]
    #[serde(default)]
    pub return_period_days: Option<u32>,
    /// Days from confirmation to the statement credit (0 pays at once).
    #[schema(value_type = u32)]
    #[serde(default)]
    pub payout_delay_days: Option<u32>,
    /// The platform's fee, in percent of the reward (default 0).
    #[schema(value_type = String, pattern = r"^[0-9]+(\.[0-9]+)?$", example = "7.5")]
    #[serde(default)]
    pub platform_fee_percent: Option<String>,
    /// Purchase channels that qualify (default: all).
    #[schema(value_type = Vec<ChannelName>)]
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// Card schemes that qualify (default: all).
    #[schema(value_type = Vec<String>)]
    #[serde(default)]
    pub schemes: Option<Vec<String>>,
    /// The merchant's terminal ids that qualify (default: all).
    #[schema(value_type = Vec<Id>)]
    #[serde(default)]
    pub mids: Option<Vec<String>>,
    /// New customers only: no purchase at the merchant seen in the last this many days.
    #[schema(value_type = u32)]
    #[serde(default)]
    pub new_customer_days: Option<u32>,
}

/// An offer's reward: a fixed amount, or a percent of the purchase with an optional cap.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RewardTerms {
    Fixed(FixedReward),
    Percent(PercentReward),
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FixedReward {
    #[schema(value_type = Money)]
    pub fixed: String,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PercentReward {
    #[schema(pattern = r"^[0-9]+(\.[0-9]+)?$", example = "10")]
    pub percent: String,
    #[schema(value_type = Money)]
    #[serde(default)]
    pub cap: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodBudgetTerms {
    #[schema(value_type = Money)]
    pub amount: String,
    #[schema(minimum = 1)]
    pub days: u32,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Overspend)]
pub enum OverspendTerms {
    Decline,
    FinishLast,
}

/// What a service has been told so far, in order of first registration (a new PUT of the same
/// id replaces the old body in its place).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Registry {
    pub merchants: Vec<(String, MerchantBody)>,
    pub offers: Vec<(String, Value)>,
}

fn upsert<T>(list: &mut Vec<(String, T)>, id: &str, v: T) {
    match list.iter_mut().find(|(k, _)| k == id) {
        Some(slot) => slot.1 = v,
        None => list.push((id.to_string(), v)),
    }
}

/// The service's program, built: its world and how wire names map into it.
pub struct Program {
    pub world: World,
    /// Midnight UTC of the world's day 0.
    pub origin: NaiveDateTime,
    /// Registered MID code → the world's MID number.
    pub mids: std::collections::BTreeMap<String, u32>,
}

impl Registry {
    pub fn merchant(&mut self, id: &str, body: MerchantBody) {
        upsert(&mut self.merchants, id, body);
    }
    pub fn offer(&mut self, id: &str, terms: Value) {
        upsert(&mut self.offers, id, terms);
    }

    /// Builds the service's world for up to `users` users, validating every merchant and offer
    /// like a scenario file (`offers.<id>.<key>: message` for each problem).
    pub fn build(&self, users: u32) -> Result<Program, Vec<String>> {
        if self.offers.is_empty() {
            return Err(vec!["no offers registered (PUT /v1/offers/{offer} first)".to_string()]);
        }
        self.build_world(users)
    }

    /// Validates what is registered so far with the scenario loader's rules, offers or not: a
    /// registry that passes can always be built once it has offers.
    pub fn check(&self) -> Result<(), Vec<String>> {
        self.build_world(1).map(|_| ())
    }

    fn build_world(&self, users: u32) -> Result<Program, Vec<String>> {
        let mut problems = Vec::new();
        if self.merchants.len() > world::MAX_MERCHANTS {
            problems.push(format!("at most {} merchants can be registered", world::MAX_MERCHANTS));
        }
        if self.offers.len() > world::MAX_OFFERS {
            problems.push(format!("at most {} offers can be registered", world::MAX_OFFERS));
        }
        // A terminal id names one terminal of one merchant.
        let mut owners: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
        for (id, m) in &self.merchants {
            for code in &m.mids {
                if let Some(other) = owners.insert(code.as_str(), id.as_str()) {
                    problems.push(format!(
                        "merchants.{id}.mids: terminal id `{}` is already registered for merchant `{other}`",
                        crate::guard::shown(code)
                    ));
                }
            }
        }
        // The window of every offer, in UTC, to place the world's calendar.
        let mut first: Option<NaiveDateTime> = None;
        let mut last: Option<NaiveDateTime> = None;
        let mut offers = toml::Table::new();
        for (id, terms) in &self.offers {
            let Some(obj) = terms.as_object() else {
                problems.push(format!("offers.{id}: the terms must be a JSON object"));
                continue;
            };
            let mut obj = obj.clone();
            let merchant_id = obj.get("merchant").and_then(Value::as_str).unwrap_or_default().to_string();
            let merchant = self.merchants.iter().find(|(m, _)| *m == merchant_id).map(|(_, b)| b);
            let Some(merchant) = merchant else {
                problems.push(format!("offers.{id}.merchant: `{merchant_id}` is not a registered merchant"));
                continue;
            };
            let offset = offset_seconds(&merchant.utc_offset).unwrap_or(0);
            for key in ["start", "end"] {
                let at = obj.get(key).cloned().map(serde_json::from_value::<DateTimeInput>);
                match at {
                    Some(Ok(t)) => {
                        // Checked: a far-off year cannot overflow the arithmetic.
                        let utc = (world::MIN_YEAR..=world::MAX_YEAR)
                            .contains(&t.0.year())
                            .then(|| t.0.checked_sub_signed(chrono::Duration::seconds(offset)))
                            .flatten();
                        match utc {
                            Some(utc) => {
                                first = Some(first.map_or(utc, |f| f.min(utc)));
                                last = Some(last.map_or(utc, |l| l.max(utc)));
                            }
                            None => problems.push(format!(
                                "offers.{id}.{key}: the year must be between {} and {}, found {}",
                                world::MIN_YEAR,
                                world::MAX_YEAR,
                                t.0.year()
                            )),
                        }
                    }
                    Some(Err(e)) => problems.push(format!("offers.{id}.{key}: {e}")),
                    None => problems.push(format!("offers.{id}.{key}: required (a service needs the window)")),
                }
            }
            // Registered MID codes → the world's codes (`<merchant>#<k>`).
            if let Some(Value::Array(codes)) = obj.get("mids").cloned() {
                let mapped: Vec<Value> = codes
                    .iter()
                    .map(|c| {
                        let code = c.as_str().unwrap_or_default();
                        match merchant.mids.iter().position(|m| m == code) {
                            Some(k) => json!(format!("{merchant_id}#{}", k + 1)),
                            None => c.clone(),
                        }
                    })
                    .collect();
                obj.insert("mids".into(), Value::Array(mapped));
            }
            match toml::Value::try_from(Value::Object(obj)) {
                Ok(v) => {
                    offers.insert(id.clone(), v);
                }
                Err(e) => problems.push(format!("offers.{id}: {e}")),
            }
        }
        let mut merchants = toml::Table::new();
        for (id, m) in &self.merchants {
            if offset_seconds(&m.utc_offset).is_none() {
                problems
                    .push(format!("merchants.{id}.utc_offset: `{}` is not a UTC offset like \"-05:00\"", m.utc_offset));
            }
            let body = json!({
                "name": m.name, "category": "registered", "mids": m.mids.len(),
                "basket": { "median": 1, "sigma": 0.1 }, "utc_offset": m.utc_offset,
                // A service learns channels from the transactions: every one is possible.
                "channels": { "in_store": 0.5, "online": 0.25, "app": 0.25 },
            });
            if let Ok(v) = toml::Value::try_from(body) {
                merchants.insert(id.clone(), v);
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        // Merchants alone (no offer yet) are checked in a world of one day.
        let (first, last) = match (first, last) {
            (Some(f), Some(l)) => (f, l),
            _ if self.offers.is_empty() => {
                let day = NaiveDate::from_ymd_opt(2000, 1, 2).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default();
                (day, day)
            }
            _ => return Err(vec!["no offer has a window".into()]),
        };
        let start: NaiveDate = (first - chrono::Duration::days(1)).date();
        let origin = start.and_hms_opt(0, 0, 0).unwrap_or_default();
        let days = ((last - origin).num_seconds() / DAY + 2).clamp(1, world::MAX_DAYS as i64);
        let mut schemes: Vec<String> = self
            .offers
            .iter()
            .filter_map(|(_, t)| t.get("schemes").and_then(Value::as_array).cloned())
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        schemes.sort();
        schemes.dedup();
        if schemes.is_empty() {
            schemes.push("any".into());
        }
        let share = 1.0 / schemes.len() as f64;
        let scheme_shares: Map<String, Value> = schemes.iter().map(|s| (s.clone(), json!(share))).collect();
        let head = json!({
            "scenario": { "name": "served", "seed": 0, "start": start.format("%Y-%m-%d").to_string(),
                          "days": days, "settle_days": 0, "utc_offset": "+00:00" },
            "population": { "users": users.max(1), "shards": 1 },
            "segments": { "everyone": { "share": 1.0, "purchases_per_day": 0.0, "schemes": scheme_shares,
                                        "click_rate": 0.0, "card_entry_completion": 0.0 } },
            "network": {},
        });
        // A TOML table keeps the registration order (offer precedence ties go to the first).
        let mut cfg = match toml::Value::try_from(head) {
            Ok(toml::Value::Table(t)) => t,
            _ => return Err(vec!["internal: the service's scenario is not a table".into()]),
        };
        cfg.insert("merchants".into(), toml::Value::Table(merchants));
        cfg.insert("offers".into(), toml::Value::Table(offers));
        let cfg: ScenarioConfig<toml::Value> = toml::Value::Table(cfg)
            .try_into()
            .map_err(|e: toml::de::Error| vec![format!("offer terms: {}", e.message())])?;
        let mut built = world::build(&cfg, &schemes)
            .map_err(|ps| ps.iter().map(|p| format!("{}: {}", p.dotted_path(), p.message)).collect::<Vec<_>>())?;
        // The registered codes replace the generated ones.
        let mut mids = std::collections::BTreeMap::new();
        for (i, mid) in built.mids.iter_mut().enumerate() {
            let id = &built.merchants[mid.merchant.0 as usize].id;
            let Some((_, merchant)) = self.merchants.iter().find(|(m, _)| m == id) else {
                continue;
            };
            let k: usize = mid.code.rsplit('#').next().and_then(|k| k.parse().ok()).unwrap_or(1);
            if let Some(code) = merchant.mids.get(k - 1) {
                mid.code = code.clone();
                mids.insert(code.clone(), i as u32);
            }
        }
        Ok(Program { world: built, origin, mids })
    }
}

/// `"-05:00"` → -18000: the scenario file's own parser (`config::parse_offset`), within a day.
pub fn offset_seconds(s: &str) -> Option<i64> {
    offersim_sim::world::config::parse_offset(s).filter(|o| o.abs() < 24 * 3_600).map(i64::from)
}
