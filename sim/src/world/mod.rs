//! The world a scenario describes, validated and resolved into dense ids: segments, merchants
//! with their MIDs, offers with their rules, surges and the hour-by-hour popularity tables the
//! spending model draws from. `build` reports every problem it finds, each at a path into the
//! scenario file.

pub mod attribution;
pub mod behaviour;
pub mod config;
pub mod network;
pub mod shops;
pub mod thresholds;
pub mod workload;

use crate::core::money::Cents;
use crate::core::sample::Categorical;
use crate::core::stable_pick::StablePick;
use crate::core::time::{Calendar, SimTime, SECONDS_PER_DAY, SECONDS_PER_HOUR, WEEKDAY_NAMES};
use crate::world::config::*;
use chrono::Datelike;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// Limits: exceeding one is bad input.
pub const MAX_USERS: u64 = 50_000_000;
/// Users per shard when the scenario does not set `[population] shards`.
pub const USERS_PER_SHARD: u64 = 250_000;
pub const MAX_SHARDS: u32 = 4_096;
pub const MAX_DAYS: u32 = 366;
pub const MAX_SETTLE_DAYS: u32 = 365;
/// Every merchant has 24 hourly weights in the stable pick tables.
pub const MAX_MERCHANTS: usize = 10_000;
pub const MAX_OFFERS: usize = 100_000;
pub const MAX_MIDS_PER_MERCHANT: u32 = 64;
pub const MAX_CARDS_PER_USER: usize = 8;
pub const MAX_PURCHASES_PER_DAY: f64 = 100.0;
pub const MAX_IMPRESSIONS_PER_DAY: f64 = 100.0;
pub const MAX_MONEY: i64 = 100_000_000_000; // one billion, in cents
/// Longest return period, and longest payout delay, in days.
pub const MAX_HOLD_DAYS: u32 = 365;
/// Longest look-back of a new-customer offer, in days.
pub const MAX_NEW_CUSTOMER_DAYS: u32 = 3_650;
/// Offer priorities lie in [-MAX_PRIORITY, MAX_PRIORITY].
pub const MAX_PRIORITY: i32 = 1_000;
/// Largest purchase-rate factor of one surge, or of overlapping surges combined.
pub const MAX_SURGE_FACTOR: f64 = 100.0;
/// Scenario start years: four-digit years only.
pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 9999;
const SHARE_TOLERANCE: f64 = 1e-6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MerchantId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MidId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OfferId(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(pub u32);

/// A stored card: the platform only ever holds this token, never a card number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub u64);

/// Letters only, so that no token can ever contain a run of digits that looks like a card
/// number: `tok_` and 14 base-26 letters (all 64 bits).
impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut letters = [b'a'; 14];
        let mut v = self.0;
        for l in letters.iter_mut().rev() {
            *l = b'a' + (v % 26) as u8;
            v /= 26;
        }
        f.write_str("tok_")?;
        f.write_str(std::str::from_utf8(&letters).map_err(|_| std::fmt::Error)?)
    }
}

impl serde::Serialize for Token {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An offer's sharing settings (`[offers.<id>.sharing]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sharing {
    pub share_rate: f64,
    pub followers_median: f64,
    pub followers_sigma: f64,
    /// Mean seconds from a share to a follower's view.
    pub delay: f64,
    pub max_reach: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    InStore,
    Online,
    App,
}

impl Channel {
    /// A bit per channel, for sets of channels.
    pub fn bit(self) -> u8 {
        1 << self as u8
    }
    pub const ALL: [(&'static str, Channel); 3] =
        [("in_store", Channel::InStore), ("online", Channel::Online), ("app", Channel::App)];
    pub fn name(self) -> &'static str {
        match self {
            Channel::InStore => "in_store",
            Channel::Online => "online",
            Channel::App => "app",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Segment {
    pub id: String,
    pub share: f64,
    /// (hashtag index, probability that a user of this segment posts it).
    pub hashtags: Vec<(u32, f64)>,
    pub purchases_per_day: f64,
    pub basket_multiplier: f64,
    /// Index i means i + 1 cards.
    pub cards_per_user: Categorical,
    pub schemes: Categorical,
    pub primary_card_share: f64,
    pub click_rate: f64,
    pub card_entry_completion: f64,
    pub card_delete_per_day: f64,
    pub issuer_linked_share: f64,
    /// Multiplies an offer's value as this segment perceives it (`behaviour.rs`).
    pub value_sensitivity: f64,
}

/// An offer's hashtag sync: posting `#tag` enrolls the poster's issuer-linked card.
#[derive(Debug, Clone, PartialEq)]
pub struct HashtagSync {
    pub tag: String,
    pub post_rate: f64,
}

#[derive(Debug, Clone)]
pub struct Merchant {
    pub id: String,
    pub name: String,
    /// The statement line of a credit: `Offers * <name>`.
    pub descriptor: String,
    pub category: String,
    /// This merchant's MIDs are `first_mid .. first_mid + mid_count` in `World::mids`.
    pub first_mid: u32,
    pub mid_count: u32,
    pub channels: Vec<Channel>,
    pub channel_pick: Categorical,
    /// Hourly traffic weights, normalised to a mean of 1 over the day.
    pub profile: [f64; 24],
    pub basket_median: f64,
    pub basket_sigma: f64,
    /// Share of all purchases (Zipf by rank × popularity), normalised to sum to 1.
    pub weight: f64,
    pub gross_margin: Decimal,
    /// Seconds from the scenario's clock to the merchant's local time (its UTC offset minus the
    /// scenario's).
    pub local_offset: i64,
}

impl Merchant {
    /// The MID a purchase on `channel` goes through: with two or more MIDs and an e-commerce
    /// channel, the first MID is the e-commerce one and the rest are stores.
    pub fn mid_for(&self, channel: Channel, pick: u64) -> MidId {
        let has_ecom = self.channels.iter().any(|c| *c != Channel::InStore);
        let (first, count) = match (channel, has_ecom && self.mid_count >= 2) {
            (Channel::InStore, true) => (self.first_mid + 1, self.mid_count - 1),
            (_, true) => (self.first_mid, 1),
            (_, false) => (self.first_mid, self.mid_count),
        };
        MidId(first + (pick % count as u64) as u32)
    }
}

#[derive(Debug, Clone)]
pub struct Mid {
    pub code: String,
    pub merchant: MerchantId,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reward {
    Fixed(Cents),
    Percent { percent: Decimal, cap: Option<Cents> },
}

impl Reward {
    /// The reward paid on `amount`, rounded half-even to cents, capped.
    pub fn on(&self, amount: Cents) -> Cents {
        match *self {
            Reward::Fixed(c) => c,
            Reward::Percent { percent, cap } => {
                let r = crate::core::money::percent_of(amount, percent);
                cap.map_or(r, |c| r.min(c))
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Targeting {
    /// Empty: every segment.
    pub segments: Vec<SegmentId>,
    /// Empty: no hashtag needed; otherwise any one of them.
    pub hashtags: Vec<u32>,
    pub hours: (u8, u8),
    pub impressions_per_day: f64,
    /// Share of the targeted audience held out: never shown the offer (`population::held_out`).
    pub holdout: f64,
    /// Moments: (start, end, mean extra impressions per targeted person).
    pub bursts: Vec<(SimTime, SimTime, f64)>,
}

/// A budget per period of `period` seconds from the offer's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodBudget {
    pub amount: Cents,
    pub period: u64,
}

#[derive(Debug, Clone)]
pub struct Offer {
    pub id: String,
    pub merchant: MerchantId,
    pub reward: Reward,
    pub min_spend: Cents,
    pub start: SimTime,
    pub end: SimTime,
    /// Bit d set: weekday d allowed (Monday = 0).
    pub days_mask: u8,
    pub hours: (u8, u8),
    pub per_card_cap: Option<u32>,
    pub budget: Option<Cents>,
    /// Pending time after the clearing before a reward is confirmed.
    pub return_period: u64,
    /// Time from confirmation to the statement credit.
    pub payout_delay: u64,
    pub per_user_cap: Option<u32>,
    pub per_enrollment_limit: Option<u32>,
    pub max_spend: Option<Cents>,
    /// Channels that qualify, a bit each (`Channel::bit`).
    pub channel_mask: u8,
    /// Schemes that qualify, a bit per scheme index.
    pub scheme_mask: u32,
    /// MIDs that qualify, sorted; empty: all the merchant's MIDs.
    pub mids: Vec<MidId>,
    /// New customers only: no purchase at the merchant seen within this many seconds before.
    pub new_customer_window: Option<u64>,
    pub period_budget: Option<PeriodBudget>,
    pub overspend: Overspend,
    pub priority: i32,
    pub stackable: bool,
    /// The merchant's `local_offset`: window, weekday and hour are judged in its local time.
    pub local_offset: i64,
    pub fee_percent: Decimal,
    pub uplift: f64,
    pub targeting: Targeting,
    pub hashtag_sync: Option<HashtagSync>,
    pub sharing: Option<crate::world::Sharing>,
}

impl Offer {
    /// An offer at merchant 0 for a week from the start, every day and hour, no cap or budget,
    /// a 10% fee: for unit tests.
    #[cfg(test)]
    pub fn for_tests(reward: Reward, min_spend: Cents) -> Offer {
        Offer {
            id: "o".into(),
            merchant: MerchantId(0),
            reward,
            min_spend,
            start: SimTime::ZERO,
            end: SimTime::from_days(7),
            days_mask: 0x7f,
            hours: (0, 24),
            per_card_cap: None,
            budget: None,
            return_period: 0,
            payout_delay: 0,
            per_user_cap: None,
            per_enrollment_limit: None,
            max_spend: None,
            channel_mask: 0b111,
            scheme_mask: u32::MAX,
            mids: Vec::new(),
            new_customer_window: None,
            period_budget: None,
            overspend: Overspend::Decline,
            priority: 0,
            stackable: false,
            local_offset: 0,
            fee_percent: Decimal::TEN,
            uplift: 0.0,
            targeting: Targeting {
                segments: vec![],
                hashtags: vec![],
                hours: (0, 24),
                impressions_per_day: 1.0,
                holdout: 0.0,
                bursts: Vec::new(),
            },
            hashtag_sync: None,
            sharing: None,
        }
    }

    /// Whether the offer's terms admit a purchase: window, weekday, hour, minimum and maximum
    /// spend, channel, scheme and location (the merchant is the caller's to check).
    pub fn admits(&self, cal: &Calendar, at: SimTime, amount: Cents, channel: Channel, scheme: u8, mid: MidId) -> bool {
        amount >= self.min_spend
            && self.max_spend.is_none_or(|m| amount <= m)
            && self.channel_mask & channel.bit() != 0
            && self.scheme_mask & (1u32 << scheme) != 0
            && (self.mids.is_empty() || self.mids.binary_search(&mid).is_ok())
            && self.admits_time(cal, at)
    }

    /// The budget period a reward granted at `t` counts against.
    pub fn period_of(&self, t: SimTime) -> u32 {
        match self.period_budget {
            Some(b) => (t.0.saturating_sub(self.start.0) / b.period) as u32,
            None => 0,
        }
    }

    /// The reward a credited purchase keeps once refunds bring its amount down to `net`: nothing
    /// below the minimum spend (or when nothing is left); a percent reward recomputed on what is
    /// left (never more than it was); a fixed reward unchanged.
    pub fn reward_after_refund(&self, original: Cents, net: Cents) -> Cents {
        if net <= Cents::ZERO || net < self.min_spend {
            return Cents::ZERO;
        }
        match self.reward {
            Reward::Fixed(_) => original,
            Reward::Percent { .. } => self.reward.on(net).min(original),
        }
    }

    /// Whether a budget with `left` remaining can pay `reward` under the overspend policy.
    pub fn fits(&self, left: Cents, reward: Cents) -> bool {
        match self.overspend {
            Overspend::Decline => left >= reward,
            Overspend::FinishLast => left > Cents::ZERO,
        }
    }

    /// Whether the window, weekday and hour rules admit a purchase at `t`.
    /// Weekday and hour are the merchant's local ones; the window is stored in scenario time.
    pub fn admits_time(&self, cal: &Calendar, t: SimTime) -> bool {
        let local = t.0 as i64 + self.local_offset;
        let h = (local.rem_euclid(SECONDS_PER_DAY as i64) / SECONDS_PER_HOUR as i64) as u8;
        t >= self.start
            && t < self.end
            && self.days_mask & (1 << cal.weekday_of_day(local.div_euclid(SECONDS_PER_DAY as i64))) != 0
            && h >= self.hours.0
            && h < self.hours.1
    }
}

#[derive(Debug, Clone)]
pub struct Surge {
    pub name: String,
    pub start: SimTime,
    pub end: SimTime,
    pub multiplier: f64,
}

#[derive(Debug, Clone)]
pub struct World {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub calendar: Calendar,
    /// The scenario's clock, in seconds ahead of UTC (`[scenario] utc_offset`).
    pub utc_offset: i32,
    pub days: u32,
    pub settle_days: u32,
    pub users: u64,
    pub segments: Vec<Segment>,
    pub segment_pick: Categorical,
    pub hashtags: Vec<String>,
    pub schemes: Vec<String>,
    pub merchants: Vec<Merchant>,
    pub mids: Vec<Mid>,
    pub offers: Vec<Offer>,
    pub surges: Vec<Surge>,
    /// Merchant choice for a purchase in each hour of the day (stable when merchants are
    /// appended to the scenario).
    pub merchant_pick_by_hour: Vec<StablePick>,
    /// Relative purchase intensity per hour of the day (mean 1).
    pub hour_weight: [f64; 24],
    /// Which offers can target a user, by segment (`targeting_index`).
    pub audiences: Vec<Audience>,
    /// Users are simulated in this many independent shards (`shard_users`, `shard_world`).
    pub shards: u32,
    /// `[thresholds]`: conditions the outcome must meet (judged by the CLI and the report).
    pub thresholds: Vec<crate::world::thresholds::Threshold>,
    /// `[attribution]`: how purchases are credited to surfaces.
    pub attribution: crate::world::attribution::Attribution,
    /// `[behaviour]`: how people respond to an offer's terms.
    pub behaviour: crate::world::behaviour::Behaviour,
    /// `[carousels.*]` then `[buy_buttons.*]` (`shops.rs`).
    pub shops: Vec<crate::world::shops::Shop>,
}

/// The offers shown to a segment: those that need no hashtag, and by hashtag those that need it
/// (any one of theirs). A user's offers are a few short lists, not a scan of every offer.
#[derive(Debug, Clone, Default)]
pub struct Audience {
    pub untagged: Vec<OfferId>,
    pub by_hashtag: Vec<Vec<OfferId>>,
}

/// Builds each segment's `Audience` (offers shown at no rate are left out).
pub fn targeting_index(segments: usize, hashtags: usize, offers: &[Offer]) -> Vec<Audience> {
    let mut index: Vec<Audience> =
        (0..segments).map(|_| Audience { untagged: Vec::new(), by_hashtag: vec![Vec::new(); hashtags] }).collect();
    for (k, o) in offers.iter().enumerate() {
        let t = &o.targeting;
        if t.impressions_per_day <= 0.0 && t.bursts.iter().all(|b| b.2 <= 0.0) {
            continue;
        }
        for (s, a) in index.iter_mut().enumerate() {
            if !t.segments.is_empty() && !t.segments.contains(&SegmentId(s as u32)) {
                continue;
            }
            if t.hashtags.is_empty() {
                a.untagged.push(OfferId(k as u32));
            }
            for &h in &t.hashtags {
                a.by_hashtag[h as usize].push(OfferId(k as u32));
            }
        }
    }
    index
}

impl World {
    /// End of the activity period: no exposure or purchase at or after it.
    pub fn period_end(&self) -> SimTime {
        SimTime::from_days(self.days as u64)
    }
    /// End of the run: network events after it are not delivered.
    pub fn horizon_end(&self) -> SimTime {
        SimTime::from_days((self.days + self.settle_days) as u64)
    }
    /// Product of the multipliers of the surges active at `t`.
    pub fn surge_at(&self, t: SimTime) -> f64 {
        self.surges.iter().filter(|s| t >= s.start && t < s.end).map(|s| s.multiplier).product()
    }
    /// The activity period cut where the surge factor changes: (start, end, factor) pieces in
    /// time order, covering [0, period end).
    pub fn surge_segments(&self) -> Vec<(SimTime, SimTime, f64)> {
        let end = self.period_end();
        let mut cuts: Vec<SimTime> = vec![SimTime::ZERO, end];
        for s in &self.surges {
            cuts.extend([s.start.min(end), s.end.min(end)]);
        }
        cuts.sort_unstable();
        cuts.dedup();
        cuts.windows(2).map(|w| (w[0], w[1], self.surge_at(w[0]))).collect()
    }
    /// The largest surge factor at any instant of the period (surges multiply where they
    /// overlap).
    pub fn max_surge(&self) -> f64 {
        self.surge_segments().iter().map(|(_, _, f)| *f).fold(0.0, f64::max)
    }
    pub fn max_hour_weight(&self) -> f64 {
        self.hour_weight.iter().copied().fold(0.0, f64::max)
    }
    /// The users of shard `s`: consecutive ids, the shards as even as whole users allow.
    pub fn shard_users(&self, s: u32) -> std::ops::Range<u32> {
        let (users, shards) = (self.users, self.shards as u64);
        let bound = |k: u64| (users * k / shards) as u32;
        bound(s as u64)..bound(s as u64 + 1)
    }
    /// The names of the schemes in a scheme mask, in the world's order.
    pub fn scheme_names(&self, mask: u32) -> Vec<&str> {
        self.schemes.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, n)| n.as_str()).collect()
    }

    /// The world as shard `s` sees it: every budget (total and per period) is its share, the
    /// budget divided by the shard count in whole cents, the first `budget mod shards` shards
    /// taking one cent more. One shard sees the whole budgets.
    pub fn shard_world(&self, s: u32) -> World {
        let share = |c: Cents| {
            let n = self.shards as i64;
            Cents(c.0.div_euclid(n) + i64::from((s as i64) < c.0.rem_euclid(n)))
        };
        let mut w = self.clone();
        for o in &mut w.offers {
            o.budget = o.budget.map(share);
            if let Some(pb) = o.period_budget.as_mut() {
                pb.amount = share(pb.amount);
            }
        }
        // A product's units are split like a budget.
        for sh in &mut w.shops {
            sh.inventory = sh.inventory.map(|u| share(Cents(u as i64)).0 as u32);
        }
        w
    }
}

/// Hourly weights of the built-in profiles.
pub fn builtin_profile(name: &str) -> Option<[f64; 24]> {
    let p: [f64; 24] = match name {
        "flat" => [1.0; 24],
        // a lunch peak and an evening peak, quiet at night
        "lunch_evening" => [
            0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.7, 1.0, 1.0, 1.1, 1.6, 2.6, 2.2, 1.2, 1.0, 1.1, 1.5, 2.0, 2.2,
            1.8, 1.1, 0.5, 0.2,
        ],
        // shops: open in the day, busiest in the afternoon
        "daytime" => [
            0.05, 0.02, 0.02, 0.02, 0.02, 0.05, 0.2, 0.5, 1.0, 1.5, 1.8, 2.0, 2.1, 2.0, 2.0, 2.1, 2.0, 1.8, 1.5, 1.1,
            0.7, 0.4, 0.2, 0.1,
        ],
        // online: evenings
        "evening" => [
            0.4, 0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.6, 0.8, 0.9, 1.0, 1.0, 1.1, 1.0, 1.0, 1.0, 1.1, 1.2, 1.5, 1.9, 2.3,
            2.4, 1.8, 1.0,
        ],
        _ => return None,
    };
    Some(p)
}

fn normalise_mean_one(p: &[f64]) -> [f64; 24] {
    let mean = p.iter().sum::<f64>() / 24.0;
    let mut out = [0.0; 24];
    for (o, v) in out.iter_mut().zip(p) {
        *o = v / mean;
    }
    out
}

fn finite_in(x: f64, lo: f64, hi: f64) -> bool {
    x.is_finite() && x >= lo && x <= hi
}

fn check_prob(pr: &mut Problems, p: Vec<PathSeg>, x: f64) {
    if !finite_in(x, 0.0, 1.0) {
        pr.push(p, format!("must be a probability between 0 and 1, found {x}"));
    }
}

pub(crate) fn check_range(pr: &mut Problems, p: Vec<PathSeg>, x: f64, lo: f64, hi: f64) {
    if !finite_in(x, lo, hi) {
        pr.push(p, format!("must be between {lo} and {hi}, found {x}"));
    }
}

fn check_sum_one(pr: &mut Problems, p: Vec<PathSeg>, what: &str, sum: f64) {
    if (sum - 1.0).abs() > SHARE_TOLERANCE {
        pr.push(p, format!("{what} must sum to 1, they sum to {sum}"));
    }
}

pub(crate) fn check_id(pr: &mut Problems, p: Vec<PathSeg>, what: &str, id: &str) {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        pr.push(p, format!("{what} `{id}` must be 1-64 characters of letters, digits, `_` or `-`"));
    }
}

/// Money with at most two decimal places, in (0 or more, up to the limit).
pub(crate) fn money(pr: &mut Problems, p: Vec<PathSeg>, d: DecimalInput, allow_zero: bool) -> Cents {
    let Some(c) = Cents::from_decimal_exact(d.0) else {
        pr.push(p, format!("{} has more than two decimal places (amounts are in cents)", d.0));
        return Cents::ZERO;
    };
    if c.0 < 0 || (c.0 == 0 && !allow_zero) || c.0 > MAX_MONEY {
        let lo = if allow_zero { "0" } else { "more than 0" };
        pr.push(p, format!("must be {lo} and at most {}, found {}", Cents(MAX_MONEY), d.0));
    }
    c
}

pub(crate) fn hours_window(pr: &mut Problems, p: Vec<PathSeg>, h: &Option<Vec<u32>>) -> (u8, u8) {
    match h.as_deref() {
        None => (0, 24),
        Some([a, b]) if *a < *b && *b <= 24 => (*a as u8, *b as u8),
        Some([a, b]) => {
            pr.push(p, format!("hours [{a}, {b}] must be [start, end) with 0 <= start < end <= 24"));
            (0, 24)
        }
        Some(other) => {
            pr.push(p, format!("hours must be two numbers [start, end), found {} numbers", other.len()));
            (0, 24)
        }
    }
}

/// Validates a scenario and resolves it. `schemes` are the card schemes the network defines.
pub fn build<N>(cfg: &ScenarioConfig<N>, schemes: &[String]) -> Result<World, Vec<Problem>> {
    let mut pr = Problems::default();
    let meta = &cfg.scenario;
    check_id(&mut pr, path(&["scenario", "name"]), "scenario name", &meta.name);
    if !(1..=MAX_DAYS).contains(&meta.days) {
        pr.push(path(&["scenario", "days"]), format!("must be between 1 and {MAX_DAYS}, found {}", meta.days));
    }
    if meta.settle_days > MAX_SETTLE_DAYS {
        pr.push(
            path(&["scenario", "settle_days"]),
            format!("must be at most {MAX_SETTLE_DAYS}, found {}", meta.settle_days),
        );
    }
    if !(MIN_YEAR..=MAX_YEAR).contains(&meta.start.0.year()) {
        pr.push(
            path(&["scenario", "start"]),
            format!("the year must be between {MIN_YEAR} and {MAX_YEAR}, found {}", meta.start.0.year()),
        );
    }
    let start =
        if (MIN_YEAR..=MAX_YEAR).contains(&meta.start.0.year()) { meta.start.0 } else { chrono::NaiveDate::default() };
    let calendar = Calendar::new(start);
    check_offset(&mut pr, path(&["scenario", "utc_offset"]), cfg.scenario.utc_offset);
    let days = meta.days.clamp(1, MAX_DAYS);
    let period_end = SimTime::from_days(days as u64);
    let pop = &cfg.population;
    if !(1..=MAX_USERS).contains(&pop.users) {
        pr.push(path(&["population", "users"]), format!("must be between 1 and {MAX_USERS}, found {}", pop.users));
    }
    check_range(&mut pr, path(&["population", "merchant_zipf_exponent"]), pop.merchant_zipf_exponent, 0.0, 5.0);
    let shards = match pop.shards {
        Some(n) if n == 0 || n > MAX_SHARDS || n as u64 > pop.users.max(1) => {
            let most = (MAX_SHARDS as u64).min(pop.users.max(1));
            pr.push(
                path(&["population", "shards"]),
                format!("must be between 1 and {most} (at most one per user), found {n}"),
            );
            1
        }
        Some(n) => n,
        None => pop.users.div_ceil(USERS_PER_SHARD).clamp(1, MAX_SHARDS as u64) as u32,
    };

    let mut hashtags: BTreeSet<String> = BTreeSet::new();
    for s in cfg.segments.values() {
        hashtags.extend(s.hashtags.keys().cloned());
    }
    for o in cfg.offers.0.iter().map(|(_, o)| o).chain(cfg.offer_groups.iter().map(|g| &g.template)) {
        hashtags.extend(o.targeting.hashtags.iter().flatten().cloned());
    }
    let shop_targeting =
        cfg.carousels.0.iter().map(|(_, c)| &c.targeting).chain(cfg.buy_buttons.0.iter().map(|(_, b)| &b.targeting));
    for t in shop_targeting {
        hashtags.extend(t.hashtags.iter().flatten().cloned());
    }
    let hashtags: Vec<String> = hashtags.into_iter().collect();
    let tag_index = |t: &str| hashtags.binary_search_by(|x| x.as_str().cmp(t)).map(|i| i as u32).ok();

    let segments = build_segments(&mut pr, cfg, schemes, &tag_index);
    let segment_pick = Categorical::new(segments.iter().map(|s| s.share)).unwrap_or_default();
    let profiles = build_profiles(&mut pr, cfg);
    let (merchants, mids, group_members) = build_merchants(&mut pr, cfg, &profiles);
    let ctx = OfferCtx {
        cal: &calendar,
        period_end,
        merchants: &merchants,
        mids: &mids,
        segments: &segments,
        schemes,
        tag_index: &tag_index,
        shards,
        users: pop.users,
    };
    let offers = build_offers(&mut pr, cfg, &ctx, &group_members);
    let surges = build_surges(&mut pr, cfg, &calendar, period_end);

    check_combined_surges(&mut pr, &surges, &calendar, period_end);
    let mut thresholds = Vec::new();
    for (name, condition) in &cfg.thresholds {
        match crate::world::thresholds::parse(name, condition) {
            Ok(t) => thresholds.push(t),
            Err(e) => pr.push(path(&["thresholds", name]), e),
        }
    }
    let attribution = build_attribution(&mut pr, &cfg.attribution);
    let behaviour = build_behaviour(&mut pr, &cfg.behaviour);
    let shop_ctx = crate::world::shops::ShopCtx {
        cal: &calendar,
        period_end,
        merchants: &merchants,
        segments: &segments,
        tag_index: &tag_index,
    };
    let shops = crate::world::shops::build_shops(&mut pr, cfg, &shop_ctx);
    for (id, b) in &cfg.buy_buttons.0 {
        if b.inventory.is_some_and(|u| u > 0 && u < shards) {
            pr.push(
                path(&["buy_buttons", id, "inventory"]),
                format!("{} units split between {shards} shards leave some shards none: give at least one unit per shard, or fewer shards", b.inventory.unwrap_or(0)),
            );
        }
    }
    if !pr.is_empty() {
        // A group's template is checked once per member: report each problem once.
        let mut seen = BTreeSet::new();
        pr.list.retain(|p| seen.insert((p.dotted_path(), p.message.clone())));
        return Err(pr.list);
    }
    let mut hour_weight = [0.0; 24];
    let mut merchant_pick_by_hour = Vec::with_capacity(24);
    for (h, w) in hour_weight.iter_mut().enumerate() {
        *w = merchants.iter().map(|m| m.weight * m.profile[h]).sum();
        merchant_pick_by_hour
            .push(StablePick::new(merchants.iter().map(|m| m.weight * m.profile[h])).unwrap_or_default());
    }
    let audiences = targeting_index(segments.len(), hashtags.len(), &offers);
    Ok(World {
        attribution,
        behaviour,
        shops,
        audiences,
        shards,
        thresholds,
        name: meta.name.clone(),
        description: meta.description.trim().to_string(),
        seed: meta.seed,
        calendar,
        utc_offset: cfg.scenario.utc_offset.0,
        days,
        settle_days: meta.settle_days,
        users: pop.users,
        segments,
        segment_pick,
        hashtags,
        schemes: schemes.to_vec(),
        merchants,
        mids,
        offers,
        surges,
        merchant_pick_by_hour,
        hour_weight,
    })
}

fn build_segments<N>(
    pr: &mut Problems,
    cfg: &ScenarioConfig<N>,
    schemes: &[String],
    tag_index: &dyn Fn(&str) -> Option<u32>,
) -> Vec<Segment> {
    if cfg.segments.is_empty() {
        pr.push(path(&["segments"]), "define at least one segment, e.g. [segments.everyone]");
    }
    let mut share_sum = 0.0;
    let mut out = Vec::new();
    for (id, s) in &cfg.segments {
        let p = |k: &str| path(&["segments", id, k]);
        check_id(pr, path(&["segments", id]), "segment id", id);
        check_range(pr, p("share"), s.share, 0.0, 1.0);
        share_sum += s.share;
        check_range(pr, p("purchases_per_day"), s.purchases_per_day, 0.0, MAX_PURCHASES_PER_DAY);
        if !finite_in(s.basket_multiplier, 0.01, 100.0) {
            pr.push(p("basket_multiplier"), format!("must be between 0.01 and 100, found {}", s.basket_multiplier));
        }
        for (k, v) in [
            ("primary_card_share", s.primary_card_share),
            ("click_rate", s.click_rate),
            ("card_entry_completion", s.card_entry_completion),
        ] {
            check_prob(pr, p(k), v);
        }
        check_range(pr, p("card_delete_per_day"), s.card_delete_per_day, 0.0, 10.0);
        check_range(pr, p("issuer_linked_share"), s.issuer_linked_share, 0.0, 1.0);
        check_range(pr, p("value_sensitivity"), s.value_sensitivity, 0.0, 100.0);
        for (tag, v) in &s.hashtags {
            check_prob(pr, path(&["segments", id, "hashtags", tag]), *v);
        }
        if s.cards_per_user.is_empty() || s.cards_per_user.len() > MAX_CARDS_PER_USER {
            pr.push(
                p("cards_per_user"),
                format!("list the share of users with 1, 2, ... cards (1 to {MAX_CARDS_PER_USER} entries)"),
            );
        } else {
            for (i, v) in s.cards_per_user.iter().enumerate() {
                check_prob(pr, with_index(p("cards_per_user"), i), *v);
            }
            check_sum_one(pr, p("cards_per_user"), "card-count shares", s.cards_per_user.iter().sum());
        }
        // With no schemes at all, the network section's own error says what to fix.
        for k in s.schemes.keys().filter(|_| !schemes.is_empty()) {
            if !schemes.contains(k) {
                pr.push(
                    path(&["segments", id, "schemes", k]),
                    format!(
                        "unknown card scheme `{k}`{}; the network defines: {}",
                        hint(k, schemes.iter()),
                        schemes.join(", ")
                    ),
                );
            }
        }
        for (k, v) in &s.schemes {
            check_prob(pr, path(&["segments", id, "schemes", k]), *v);
        }
        check_sum_one(pr, p("schemes"), "scheme shares", s.schemes.values().sum());
        out.push(Segment {
            id: id.clone(),
            share: s.share,
            hashtags: s.hashtags.iter().filter_map(|(t, v)| tag_index(t).map(|i| (i, *v))).collect(),
            purchases_per_day: s.purchases_per_day,
            basket_multiplier: s.basket_multiplier,
            cards_per_user: Categorical::new(s.cards_per_user.iter().copied()).unwrap_or_default(),
            schemes: Categorical::new(schemes.iter().map(|k| s.schemes.get(k).copied().unwrap_or(0.0)))
                .unwrap_or_default(),
            primary_card_share: s.primary_card_share,
            click_rate: s.click_rate,
            card_entry_completion: s.card_entry_completion,
            card_delete_per_day: s.card_delete_per_day,
            issuer_linked_share: s.issuer_linked_share,
            value_sensitivity: s.value_sensitivity,
        });
    }
    if !cfg.segments.is_empty() {
        check_sum_one(pr, path(&["segments"]), "segment shares", share_sum);
    }
    out
}

fn build_profiles<N>(pr: &mut Problems, cfg: &ScenarioConfig<N>) -> BTreeMap<String, [f64; 24]> {
    let mut out = BTreeMap::new();
    for name in ["flat", "lunch_evening", "daytime", "evening"] {
        if let Some(p) = builtin_profile(name) {
            out.insert(name.to_string(), normalise_mean_one(&p));
        }
    }
    for (name, values) in &cfg.profiles {
        let p = path(&["profiles", name]);
        if values.len() != 24 {
            pr.push(p, format!("a daily profile has 24 hourly weights, found {}", values.len()));
            continue;
        }
        if let Some(i) = values.iter().position(|v| !finite_in(*v, 0.0, 1e6)) {
            pr.push(with_index(p, i), format!("hourly weights must be between 0 and 1000000, found {}", values[i]));
            continue;
        }
        if values.iter().sum::<f64>() <= 0.0 {
            pr.push(p, "at least one hourly weight must be positive");
            continue;
        }
        out.insert(name.clone(), normalise_mean_one(values));
    }
    out
}

/// Merchants in rank order (explicit ones in file order, then each group), their MIDs, and for
/// each merchant group (by id prefix) the ids of its merchants.
type MerchantBuild = (Vec<Merchant>, Vec<Mid>, BTreeMap<String, Vec<MerchantId>>);

fn build_merchants<N>(
    pr: &mut Problems,
    cfg: &ScenarioConfig<N>,
    profiles: &BTreeMap<String, [f64; 24]>,
) -> MerchantBuild {
    let mut merchants: Vec<Merchant> = Vec::new();
    let mut groups: BTreeMap<String, Vec<MerchantId>> = BTreeMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    // Where the merchants first exceed the limit, to say so there.
    let mut overflow: Option<Vec<PathSeg>> = None;
    for (id, m) in &cfg.merchants.0 {
        let base = path(&["merchants", id]);
        if merchants.len() == MAX_MERCHANTS {
            overflow = Some(base);
            break;
        }
        check_id(pr, base.clone(), "merchant id", id);
        let name = match &m.name {
            Some(n) if !n.trim().is_empty() && n.len() <= 80 => n.trim().to_string(),
            _ => {
                pr.push(
                    with_key(base.clone(), "name"),
                    "every merchant needs a name of 1-80 characters (it appears on statements)",
                );
                id.clone()
            }
        };
        seen.insert(id.clone());
        merchants.push(merchant(pr, base, id.clone(), name, m, profiles, cfg.scenario.utc_offset));
    }
    for (gi, g) in cfg.merchant_groups.iter().enumerate() {
        let base = with_index(path(&["merchant_groups"]), gi);
        check_id(pr, with_key(base.clone(), "id_prefix"), "id prefix", &g.id_prefix);
        if g.template.name.is_some() {
            pr.push(
                with_key(with_key(base.clone(), "template"), "name"),
                "a group's merchants are named from `name_prefix`; remove `name` from the template",
            );
        }
        if g.count == 0 || g.count as usize > MAX_MERCHANTS {
            pr.push(
                with_key(base.clone(), "count"),
                format!("must be between 1 and {MAX_MERCHANTS}, found {}", g.count),
            );
            continue;
        }
        if groups.contains_key(&g.id_prefix) {
            pr.push(with_key(base.clone(), "id_prefix"), format!("merchant group `{}` is defined twice", g.id_prefix));
            continue;
        }
        let width = g.count.to_string().len().max(3);
        let mut members = Vec::new();
        for k in 1..=g.count {
            let id = format!("{}-{k:0width$}", g.id_prefix);
            if !seen.insert(id.clone()) {
                pr.push(
                    with_key(base.clone(), "id_prefix"),
                    format!("merchant id `{id}` made by this group is already taken"),
                );
                break;
            }
            members.push(MerchantId(merchants.len() as u32));
            let name = format!("{} {k:0width$}", g.name_prefix.trim());
            merchants.push(merchant(
                pr,
                with_key(base.clone(), "template"),
                id,
                name,
                &g.template,
                profiles,
                cfg.scenario.utc_offset,
            ));
            if merchants.len() > MAX_MERCHANTS {
                overflow.get_or_insert(base.clone());
                break;
            }
        }
        groups.insert(g.id_prefix.clone(), members);
    }
    if merchants.is_empty() {
        pr.push(path(&["merchants"]), "define at least one merchant ([merchants.<id>] or [[merchant_groups]])");
    }
    if let Some(at) = overflow {
        pr.push(at, format!("at most {MAX_MERCHANTS} merchants in all ([merchants.*] and every group's count); this one is past the limit"));
    }
    // Zipf popularity by rank, times each merchant's own multiplier, normalised to sum to 1.
    let s = cfg.population.merchant_zipf_exponent;
    for (rank, m) in merchants.iter_mut().enumerate() {
        m.weight *= 1.0 / libm::pow((rank + 1) as f64, s);
    }
    let total: f64 = merchants.iter().map(|m| m.weight).sum();
    let mut mids = Vec::new();
    for (i, m) in merchants.iter_mut().enumerate() {
        if total > 0.0 {
            m.weight /= total;
        }
        m.first_mid = mids.len() as u32;
        for k in 1..=m.mid_count {
            mids.push(Mid { code: format!("{}#{k}", m.id), merchant: MerchantId(i as u32) });
        }
    }
    (merchants, mids, groups)
}

fn merchant(
    pr: &mut Problems,
    base: Vec<PathSeg>,
    id: String,
    name: String,
    m: &MerchantConfig,
    profiles: &BTreeMap<String, [f64; 24]>,
    scenario_offset: OffsetInput,
) -> Merchant {
    let p = |k: &str| with_key(base.clone(), k);
    let own = m.utc_offset.unwrap_or(scenario_offset);
    if m.utc_offset.is_some() {
        check_offset(pr, p("utc_offset"), own);
    }
    // Seconds from the scenario's clock to the merchant's.
    let local_offset = (own.0 - scenario_offset.0) as i64;
    if m.category.trim().is_empty() {
        pr.push(p("category"), "category must not be empty");
    }
    if !(1..=MAX_MIDS_PER_MERCHANT).contains(&m.mids) {
        pr.push(p("mids"), format!("must be between 1 and {MAX_MIDS_PER_MERCHANT}, found {}", m.mids));
    }
    let mut channels = Vec::new();
    let mut weights = Vec::new();
    for (k, v) in &m.channels {
        match Channel::ALL.iter().find(|(n, _)| n == k) {
            Some((_, c)) => {
                check_prob(pr, with_key(p("channels"), k), *v);
                channels.push(*c);
                weights.push(*v);
            }
            None => pr.push(
                with_key(p("channels"), k),
                format!(
                    "unknown channel `{k}`{}; use in_store, online or app",
                    hint(k, Channel::ALL.iter().map(|(n, _)| n))
                ),
            ),
        }
    }
    if m.channels.is_empty() {
        pr.push(p("channels"), "list at least one channel: in_store, online or app");
    } else {
        check_sum_one(pr, p("channels"), "channel shares", m.channels.values().sum());
    }
    let profile = match profiles.get(&m.profile) {
        // The profile is local: scenario hour h is local hour h + offset (rounded to the hour).
        Some(pf) => {
            let shift = (local_offset as f64 / 3_600.0).round() as i64;
            std::array::from_fn(|h| pf[(h as i64 + shift).rem_euclid(24) as usize])
        }
        None => {
            pr.push(
                p("profile"),
                format!(
                    "unknown daily profile `{}`{}; define it under [profiles] or use one of: {}",
                    m.profile,
                    hint(&m.profile, profiles.keys()),
                    profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            );
            [1.0; 24]
        }
    };
    let median = money(pr, with_key(p("basket"), "median"), m.basket.median, false);
    check_range(pr, with_key(p("basket"), "sigma"), m.basket.sigma, 0.0, 3.0);
    if !finite_in(m.popularity, 1e-9, 1e9) {
        pr.push(p("popularity"), format!("must be a positive weight, found {}", m.popularity));
    }
    if m.gross_margin.0 < Decimal::ZERO || m.gross_margin.0 > Decimal::ONE {
        pr.push(p("gross_margin"), format!("must be a fraction between 0 and 1, found {}", m.gross_margin.0));
    }
    Merchant {
        id,
        descriptor: format!("Offers * {name}"),
        name,
        category: m.category.trim().to_string(),
        first_mid: 0,
        mid_count: m.mids.clamp(1, MAX_MIDS_PER_MERCHANT),
        channel_pick: Categorical::new(weights).unwrap_or_default(),
        channels,
        profile,
        basket_median: median.0 as f64 / 100.0,
        basket_sigma: m.basket.sigma,
        weight: m.popularity,
        gross_margin: m.gross_margin.0,
        local_offset,
    }
}

/// Offsets lie between -12:00 and +14:00, in quarter hours.
fn check_offset(pr: &mut Problems, p: Vec<PathSeg>, o: OffsetInput) {
    if !(-12 * 3_600..=14 * 3_600).contains(&o.0) || o.0 % 900 != 0 {
        pr.push(p, "a UTC offset lies between -12:00 and +14:00, in quarter hours");
    }
}

/// What building an offer needs to know about the rest of the world.
struct OfferCtx<'a> {
    cal: &'a Calendar,
    period_end: SimTime,
    merchants: &'a [Merchant],
    mids: &'a [Mid],
    segments: &'a [Segment],
    schemes: &'a [String],
    tag_index: &'a dyn Fn(&str) -> Option<u32>,
    /// Budgets are split between this many shards.
    shards: u32,
    users: u64,
}

fn build_offers<N>(
    pr: &mut Problems,
    cfg: &ScenarioConfig<N>,
    ctx: &OfferCtx<'_>,
    groups: &BTreeMap<String, Vec<MerchantId>>,
) -> Vec<Offer> {
    let merchants = ctx.merchants;
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (id, o) in &cfg.offers.0 {
        let base = path(&["offers", id]);
        check_id(pr, base.clone(), "offer id", id);
        seen.insert(id.clone());
        let merchant = match &o.merchant {
            None => {
                pr.push(base.clone(), "missing field `merchant`: the id of the merchant the offer is for");
                MerchantId(0)
            }
            Some(m) => match merchants.iter().position(|x| &x.id == m) {
                Some(i) => MerchantId(i as u32),
                None => {
                    pr.push(
                        with_key(base.clone(), "merchant"),
                        format!("unknown merchant `{m}`{}", hint(m, merchants.iter().map(|x| &x.id))),
                    );
                    MerchantId(0)
                }
            },
        };
        out.push(offer(pr, base, id.clone(), merchant, o, ctx));
    }
    for (gi, g) in cfg.offer_groups.iter().enumerate() {
        let base = with_index(path(&["offer_groups"]), gi);
        check_id(pr, with_key(base.clone(), "id_prefix"), "id prefix", &g.id_prefix);
        if g.template.merchant.is_some() {
            pr.push(
                with_key(with_key(base.clone(), "template"), "merchant"),
                "a group's offers take their merchants from `merchant_group`; remove `merchant` from the template",
            );
        }
        let Some(members) = groups.get(&g.merchant_group) else {
            pr.push(
                with_key(base.clone(), "merchant_group"),
                format!("unknown merchant group `{}`{}", g.merchant_group, hint(&g.merchant_group, groups.keys())),
            );
            continue;
        };
        if g.count == 0 || g.count as usize > members.len() {
            pr.push(
                with_key(base.clone(), "count"),
                format!(
                    "must be between 1 and {} (the size of merchant group `{}`), found {}",
                    members.len(),
                    g.merchant_group,
                    g.count
                ),
            );
            continue;
        }
        for m in members.iter().take(g.count as usize) {
            let id = format!("{}-{}", g.id_prefix, merchants[m.0 as usize].id);
            if !seen.insert(id.clone()) {
                pr.push(
                    with_key(base.clone(), "id_prefix"),
                    format!("offer id `{id}` made by this group is already taken"),
                );
                break;
            }
            out.push(offer(pr, with_key(base.clone(), "template"), id, *m, &g.template, ctx));
        }
    }
    if out.len() > MAX_OFFERS {
        pr.push(path(&["offers"]), format!("at most {MAX_OFFERS} offers in all, found {}", out.len()));
    }
    out
}

fn offer(
    pr: &mut Problems,
    base: Vec<PathSeg>,
    id: String,
    merchant: MerchantId,
    o: &OfferConfig,
    ctx: &OfferCtx<'_>,
) -> Offer {
    let OfferCtx { cal, period_end, segments, tag_index, .. } = *ctx;
    let ctx_users = ctx.users;
    let p = |k: &str| with_key(base.clone(), k);
    // The offer's date-times are the merchant's local ones.
    let local_offset = ctx.merchants.get(merchant.0 as usize).map_or(0, |m| m.local_offset);
    let reward = match (&o.reward.fixed, &o.reward.percent, &o.reward.cap) {
        (Some(f), None, None) => Reward::Fixed(money(pr, with_key(p("reward"), "fixed"), *f, false)),
        (None, Some(pc), cap) => {
            if pc.0 <= Decimal::ZERO || pc.0 > Decimal::ONE_HUNDRED {
                pr.push(
                    with_key(p("reward"), "percent"),
                    format!("must be more than 0 and at most 100, found {}", pc.0),
                );
            }
            let cap = cap.map(|c| money(pr, with_key(p("reward"), "cap"), c, false));
            Reward::Percent { percent: pc.0, cap }
        }
        (Some(_), _, Some(_)) => {
            pr.push(with_key(p("reward"), "cap"), "`cap` applies to a percent reward; a fixed reward is its own cap");
            Reward::Fixed(Cents(1))
        }
        (Some(_), Some(_), _) => {
            pr.push(p("reward"), "choose one of `fixed` or `percent`, not both");
            Reward::Fixed(Cents(1))
        }
        (None, None, _) => {
            pr.push(p("reward"), "set `fixed = 2.00` or `percent = 5` (with an optional `cap`)");
            Reward::Fixed(Cents(1))
        }
    };
    let min_spend = money(pr, p("min_spend"), o.min_spend, true);
    let start = match o.start {
        None => SimTime::ZERO,
        // A merchant ahead of the scenario's clock may start at its local midnight of the first
        // day, hours before the scenario's: the offer then starts with the scenario.
        Some(dt) => cal.instant_in(dt.0, local_offset).unwrap_or_else(|| {
            if cal.instant(dt.0).is_none() {
                pr.push(p("start"), format!("{} is before the scenario starts ({})", dt.0, cal.start_date()));
            }
            SimTime::ZERO
        }),
    };
    let end = match o.end {
        None => period_end,
        Some(dt) => match cal.instant_in(dt.0, local_offset) {
            Some(t) => t,
            None => {
                pr.push(p("end"), format!("{} is before the scenario starts ({})", dt.0, cal.start_date()));
                period_end
            }
        },
    };
    if end <= start {
        pr.push(p("end"), format!("the offer ends ({}) before it starts ({})", cal.format(end), cal.format(start)));
    } else if start >= period_end {
        pr.push(p("start"), format!("the offer starts after the scenario's last day ({})", cal.format(period_end)));
    }
    let mut days_mask = 0u8;
    match &o.days {
        None => days_mask = 0x7f,
        Some(days) if days.is_empty() => {
            pr.push(p("days"), "list at least one weekday, or remove `days` for every day")
        }
        Some(days) => {
            for (i, d) in days.iter().enumerate() {
                match WEEKDAY_NAMES.iter().position(|n| n.eq_ignore_ascii_case(d)) {
                    Some(w) => days_mask |= 1 << w,
                    None => pr.push(
                        with_index(p("days"), i),
                        format!(
                            "unknown weekday `{d}`{}; use mon, tue, wed, thu, fri, sat, sun",
                            hint(d, WEEKDAY_NAMES.iter())
                        ),
                    ),
                }
            }
        }
    }
    let hours = hours_window(pr, p("hours"), &o.hours);
    if o.per_card_cap == Some(0) {
        pr.push(p("per_card_cap"), "must be at least 1; remove it for no cap");
    }
    let budget = o.budget.map(|b| money(pr, p("budget"), b, false));
    for (k, v) in [("return_period_days", o.return_period_days), ("payout_delay_days", o.payout_delay_days)] {
        if v > MAX_HOLD_DAYS {
            pr.push(p(k), format!("must be at most {MAX_HOLD_DAYS} days, found {v}"));
        }
    }
    let rules = offer_rules(pr, &p, merchant, o, min_spend, ctx);
    // Sharded runs split budgets (`World::shard_world`): a share smaller than one reward would
    // silently pay nothing (or overspend in every shard).
    let largest_reward = match reward {
        Reward::Fixed(c) => Some(c),
        Reward::Percent { cap: Some(c), .. } => Some(c),
        Reward::Percent { percent, cap: None } => {
            rules.max_spend.map(|m| Cents::from_decimal_half_even(m.to_decimal() * percent / Decimal::ONE_HUNDRED))
        }
    };
    let shards = ctx.shards.max(1) as i64;
    let periodic = rules.period_budget.map(|b| (p("budget_per_period"), b.amount));
    for (at, amount) in budget.map(|b| (p("budget"), b)).into_iter().chain(periodic) {
        if let Some(r) = largest_reward.filter(|r| shards > 1 && Cents(amount.0 / shards) < *r) {
            pr.push(
                at,
                format!(
                    "{amount} split between {shards} shards is {} per shard, less than one reward ({r}): \
                     raise the budget or lower `[population] shards`",
                    Cents(amount.0 / shards)
                ),
            );
        }
    }
    if o.platform_fee_percent.0 < Decimal::ZERO || o.platform_fee_percent.0 > Decimal::ONE_HUNDRED {
        pr.push(p("platform_fee_percent"), format!("must be between 0 and 100, found {}", o.platform_fee_percent.0));
    }
    check_range(pr, p("uplift"), o.uplift, 0.0, 10.0);
    let t = &o.targeting;
    let tp = |k: &str| with_key(p("targeting"), k);
    let mut seg_ids = Vec::new();
    for (i, s) in t.segments.iter().flatten().enumerate() {
        match segments.iter().position(|x| &x.id == s) {
            Some(k) => seg_ids.push(SegmentId(k as u32)),
            None => pr.push(
                with_index(tp("segments"), i),
                format!("unknown segment `{s}`{}", hint(s, segments.iter().map(|x| &x.id))),
            ),
        }
    }
    if t.segments.as_ref().is_some_and(|s| s.is_empty()) {
        pr.push(tp("segments"), "an empty list targets nobody; remove `segments` to target every segment");
    }
    if t.hashtags.as_ref().is_some_and(|h| h.is_empty()) {
        pr.push(tp("hashtags"), "an empty list targets nobody; remove `hashtags` to target people whatever they post");
    }
    let tags: Vec<u32> = t.hashtags.iter().flatten().filter_map(|h| tag_index(h)).collect();
    let (offer_start, offer_end) = (start, end);
    let exposure_hours = hours_window(pr, tp("hours"), &t.hours);
    let mut bursts = Vec::new();
    for (i, b) in t.bursts.iter().enumerate() {
        let bp = |k: &str| with_key(with_index(tp("bursts"), i), k);
        let start = match cal.instant_in(b.start.0, local_offset) {
            Some(s) if s < period_end => s,
            _ => {
                pr.push(bp("start"), format!("{} is outside the activity period", b.start.0));
                SimTime::ZERO
            }
        };
        if !(1..=MAX_BURST_MINUTES).contains(&b.minutes) {
            pr.push(bp("minutes"), format!("must be between 1 and {MAX_BURST_MINUTES}, found {}", b.minutes));
        }
        check_range(pr, bp("impressions"), b.impressions, 0.0, MAX_IMPRESSIONS_PER_DAY);
        let burst_end = start.plus_seconds(b.minutes.clamp(1, MAX_BURST_MINUTES) as u64 * 60).min(period_end);
        if start < offer_start || burst_end > offer_end.min(period_end) {
            pr.push(bp("start"), "the burst must fall inside the offer's window (start to end)");
        }
        bursts.push((start, burst_end, b.impressions));
    }
    check_range(pr, tp("impressions_per_day"), t.impressions_per_day, 0.0, MAX_IMPRESSIONS_PER_DAY);
    check_range(pr, tp("holdout"), t.holdout, 0.0, 0.99);
    Offer {
        id,
        merchant,
        reward,
        min_spend,
        start,
        end: end.min(period_end),
        days_mask,
        hours,
        per_card_cap: o.per_card_cap,
        budget,
        return_period: o.return_period_days as u64 * SECONDS_PER_DAY,
        payout_delay: o.payout_delay_days as u64 * SECONDS_PER_DAY,
        per_user_cap: o.per_user_cap,
        per_enrollment_limit: o.transactions_per_enrollment,
        max_spend: rules.max_spend,
        channel_mask: rules.channel_mask,
        scheme_mask: rules.scheme_mask,
        mids: rules.mids,
        new_customer_window: o.new_customer_days.map(|d| d as u64 * SECONDS_PER_DAY),
        period_budget: rules.period_budget,
        overspend: o.overspend,
        priority: o.priority,
        stackable: o.stackable,
        local_offset,
        fee_percent: o.platform_fee_percent.0,
        uplift: o.uplift,
        targeting: Targeting {
            segments: seg_ids,
            hashtags: tags,
            hours: exposure_hours,
            impressions_per_day: t.impressions_per_day,
            holdout: t.holdout,
            bursts,
        },
        hashtag_sync: o.hashtag_sync.as_ref().map(|h| {
            let tag = h.tag.trim_start_matches('#');
            let ok = !tag.is_empty() && tag.len() <= 64 && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                pr.push(
                    with_key(p("hashtag_sync"), "tag"),
                    format!("`{}` is not a hashtag: 1-64 letters, digits or `_`", h.tag),
                );
            }
            check_range(pr, with_key(p("hashtag_sync"), "post_rate"), h.post_rate, 0.0, 1.0);
            HashtagSync { tag: tag.to_string(), post_rate: h.post_rate }
        }),
        sharing: o.sharing.as_ref().map(|s| {
            let sp = |k: &str| with_key(p("sharing"), k);
            check_range(pr, sp("share_rate"), s.share_rate, 0.0, 1.0);
            check_range(pr, sp("followers_median"), s.followers_median, 0.0, MAX_FOLLOWERS_MEDIAN);
            check_range(pr, sp("followers_sigma"), s.followers_sigma, 0.0, 4.0);
            check_range(pr, sp("delay_hours"), s.delay_hours, 0.0, 720.0);
            if s.max_reach == Some(0) || s.max_reach.is_some_and(|m| m > MAX_SHARE_REACH) {
                pr.push(sp("max_reach"), format!("must be between 1 and {MAX_SHARE_REACH}"));
            }
            crate::world::Sharing {
                share_rate: s.share_rate,
                followers_median: s.followers_median,
                followers_sigma: s.followers_sigma,
                delay: s.delay_hours * 3_600.0,
                max_reach: s.max_reach.unwrap_or((ctx_users * 5).min(5_000_000)).clamp(1, MAX_SHARE_REACH),
            }
        }),
    }
}

/// Longest burst of exposures (a moment), in minutes.
pub const MAX_BURST_MINUTES: u32 = 24 * 60;

/// Median followers per person, at most.
pub const MAX_FOLLOWERS_MEDIAN: f64 = 100_000.0;
/// Views of shared posts per offer, at most (16 bytes each, held for the run).
pub const MAX_SHARE_REACH: u64 = 20_000_000;

/// The offer rules beyond window and reward, validated.
struct Rules {
    max_spend: Option<Cents>,
    channel_mask: u8,
    scheme_mask: u32,
    mids: Vec<MidId>,
    period_budget: Option<PeriodBudget>,
}

fn offer_rules(
    pr: &mut Problems,
    p: &dyn Fn(&str) -> Vec<PathSeg>,
    merchant: MerchantId,
    o: &OfferConfig,
    min_spend: Cents,
    ctx: &OfferCtx<'_>,
) -> Rules {
    for (k, v) in [("per_user_cap", o.per_user_cap), ("transactions_per_enrollment", o.transactions_per_enrollment)] {
        if v == Some(0) {
            pr.push(p(k), format!("must be at least 1; remove `{k}` for no limit"));
        }
    }
    let max_spend = o.max_spend.map(|m| money(pr, p("max_spend"), m, false));
    if max_spend.is_some_and(|m| m < min_spend) {
        pr.push(p("max_spend"), format!("is below `min_spend` ({min_spend}): no transaction could qualify"));
    }
    let m = ctx.merchants.get(merchant.0 as usize);
    let mut channel_mask = 0b111;
    if let Some(list) = &o.channels {
        channel_mask = 0;
        if list.is_empty() {
            pr.push(p("channels"), "an empty list admits no purchase; remove `channels` for every channel");
        }
        for (i, name) in list.iter().enumerate() {
            match Channel::ALL.iter().find(|(n, _)| n == name) {
                Some((_, c)) if m.is_none_or(|m| m.channels.contains(c)) => channel_mask |= c.bit(),
                Some(_) => pr.push(
                    with_index(p("channels"), i),
                    format!(
                        "merchant `{}` does not sell `{name}`; it sells: {}",
                        m.map_or("", |m| m.id.as_str()),
                        m.map_or(String::new(), |m| m.channels.iter().map(|c| c.name()).collect::<Vec<_>>().join(", "))
                    ),
                ),
                None => pr.push(
                    with_index(p("channels"), i),
                    format!(
                        "unknown channel `{name}`{}; use in_store, online or app",
                        hint(name, Channel::ALL.iter().map(|(n, _)| n))
                    ),
                ),
            }
        }
    }
    let mut scheme_mask = u32::MAX;
    if let Some(list) = &o.schemes {
        scheme_mask = 0;
        if list.is_empty() {
            pr.push(p("schemes"), "an empty list admits no card; remove `schemes` for every scheme");
        }
        for (i, name) in list.iter().enumerate() {
            match ctx.schemes.iter().position(|s| s == name) {
                Some(k) => scheme_mask |= 1 << k,
                None => pr.push(
                    with_index(p("schemes"), i),
                    format!(
                        "unknown card scheme `{name}`{}; the network defines: {}",
                        hint(name, ctx.schemes.iter()),
                        ctx.schemes.join(", ")
                    ),
                ),
            }
        }
    }
    let mut mids = Vec::new();
    if let Some(list) = &o.mids {
        if list.is_empty() {
            pr.push(p("mids"), "an empty list admits no location; remove `mids` for every location");
        }
        let own: Vec<(usize, &Mid)> = ctx.mids.iter().enumerate().filter(|(_, x)| x.merchant == merchant).collect();
        for (i, code) in list.iter().enumerate() {
            match own.iter().find(|(_, x)| &x.code == code) {
                Some((k, _)) => mids.push(MidId(*k as u32)),
                None => pr.push(
                    with_index(p("mids"), i),
                    format!(
                        "`{code}` is not a MID of this offer's merchant{}; its MIDs: {}",
                        hint(code, own.iter().map(|(_, x)| &x.code)),
                        own.iter().map(|(_, x)| x.code.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
        }
        mids.sort_unstable();
        mids.dedup();
    }
    if o.new_customer_days.is_some_and(|d| d == 0 || d > MAX_NEW_CUSTOMER_DAYS) {
        pr.push(
            p("new_customer_days"),
            format!("must be between 1 and {MAX_NEW_CUSTOMER_DAYS}, found {}", o.new_customer_days.unwrap_or(0)),
        );
    }
    let period_budget = o.budget_per_period.as_ref().map(|b| {
        let bp = |k: &str| with_key(p("budget_per_period"), k);
        let amount = money(pr, bp("amount"), b.amount, false);
        if b.days == 0 || b.days > MAX_DAYS {
            pr.push(bp("days"), format!("must be between 1 and {MAX_DAYS}, found {}", b.days));
        }
        PeriodBudget { amount, period: b.days.max(1) as u64 * SECONDS_PER_DAY }
    });
    if !(-MAX_PRIORITY..=MAX_PRIORITY).contains(&o.priority) {
        pr.push(p("priority"), format!("must be between -{MAX_PRIORITY} and {MAX_PRIORITY}, found {}", o.priority));
    }
    Rules { max_spend, channel_mask, scheme_mask, mids, period_budget }
}

fn build_surges<N>(pr: &mut Problems, cfg: &ScenarioConfig<N>, cal: &Calendar, period_end: SimTime) -> Vec<Surge> {
    let mut out = Vec::new();
    for (i, s) in cfg.surges.iter().enumerate() {
        let base = with_index(path(&["surges"]), i);
        if s.name.trim().is_empty() {
            pr.push(with_key(base.clone(), "name"), "name the surge, e.g. \"Black Friday\"");
        }
        if !finite_in(s.multiplier, 0.0, MAX_SURGE_FACTOR) {
            pr.push(
                with_key(base.clone(), "multiplier"),
                format!("must be between 0 and {MAX_SURGE_FACTOR}, found {}", s.multiplier),
            );
        }
        if s.hours == 0 || s.hours > MAX_DAYS * 24 {
            pr.push(
                with_key(base.clone(), "hours"),
                format!("must be between 1 and {}, found {}", MAX_DAYS * 24, s.hours),
            );
        }
        let Some(start) = cal.instant(s.start.0) else {
            pr.push(
                with_key(base.clone(), "start"),
                format!("{} is before the scenario starts ({})", s.start.0, cal.start_date()),
            );
            continue;
        };
        if start >= period_end {
            pr.push(
                with_key(base.clone(), "start"),
                format!("the surge starts after the scenario's last day ({})", cal.format(period_end)),
            );
        }
        out.push(Surge {
            name: s.name.trim().to_string(),
            start,
            end: start.plus_seconds(s.hours as u64 * SECONDS_PER_HOUR),
            multiplier: s.multiplier,
        });
    }
    out
}

/// Overlapping surges multiply; the combined factor has the same limit as one surge's.
fn check_combined_surges(pr: &mut Problems, surges: &[Surge], cal: &Calendar, period_end: SimTime) {
    for (i, s) in surges.iter().enumerate() {
        let at = s.start.min(period_end);
        let combined: f64 = surges.iter().filter(|x| at >= x.start && at < x.end).map(|x| x.multiplier).product();
        if combined > MAX_SURGE_FACTOR {
            let p = with_key(with_index(path(&["surges"]), i), "multiplier");
            pr.push(p, format!("surges overlapping at {} multiply to ×{combined}; the combined factor must be at most {MAX_SURGE_FACTOR}", cal.format(at)));
            return;
        }
    }
}

/// Longest attribution window, in days.
pub const MAX_ATTRIBUTION_DAYS: u32 = 365;

fn build_attribution(
    pr: &mut Problems,
    a: &crate::world::config::AttributionConfig,
) -> crate::world::attribution::Attribution {
    use crate::world::attribution::{Attribution, Rule};
    let rule = match a.rule.as_str() {
        "last_touch" => Rule::LastTouch,
        "first_touch" => Rule::FirstTouch,
        other => {
            pr.push(path(&["attribution", "rule"]), format!("unknown rule `{other}`; use last_touch or first_touch"));
            Rule::LastTouch
        }
    };
    if a.window_days == 0 || a.window_days > MAX_ATTRIBUTION_DAYS {
        pr.push(
            path(&["attribution", "window_days"]),
            format!("must be between 1 and {MAX_ATTRIBUTION_DAYS}, found {}", a.window_days),
        );
    }
    Attribution { rule, window: a.window_days.clamp(1, MAX_ATTRIBUTION_DAYS) as u64 * SECONDS_PER_DAY }
}

fn build_behaviour(pr: &mut Problems, c: &crate::world::config::BehaviourConfig) -> crate::world::behaviour::Behaviour {
    let p = |k: &str| path(&["behaviour", k]);
    if !finite_in(c.reference_value, 0.001, 10.0) {
        pr.push(p("reference_value"), format!("must be between 0.001 and 10, found {}", c.reference_value));
    }
    if !finite_in(c.half_value, 0.001, 10.0) {
        pr.push(p("half_value"), format!("must be between 0.001 and 10, found {}", c.half_value));
    }
    check_range(pr, p("steepness"), c.steepness, 0.5, 5.0);
    check_prob(pr, p("prompt_wear_out"), c.prompt_wear_out);
    check_prob(pr, p("top_up_max"), c.top_up_max);
    if !finite_in(c.top_up_half, 0.001, 1000.0) {
        pr.push(p("top_up_half"), format!("must be between 0.001 and 1000, found {}", c.top_up_half));
    }
    check_prob(pr, p("pull_forward"), c.pull_forward);
    let most_days = crate::world::behaviour::MAX_PULL_FORWARD_DAYS;
    if !(0..=most_days as i64).contains(&c.pull_forward_days) {
        pr.push(
            p("pull_forward_days"),
            format!("must be between 0 and {most_days} days, found {}", c.pull_forward_days),
        );
    }
    let b = crate::world::behaviour::Behaviour {
        reference_value: c.reference_value,
        half_value: c.half_value,
        steepness: c.steepness,
        prompt_wear_out: c.prompt_wear_out,
        top_up_max: c.top_up_max,
        top_up_half: c.top_up_half,
        pull_forward: c.pull_forward,
        pull_forward_days: c.pull_forward_days.clamp(0, most_days as i64) as u32,
    };
    let most = b.max_response();
    let ranges_ok = finite_in(c.reference_value, 0.001, 10.0)
        && finite_in(c.half_value, 0.001, 10.0)
        && finite_in(c.steepness, 0.5, 5.0);
    if ranges_ok && (most.is_nan() || most > crate::world::behaviour::MAX_RESPONSE) {
        pr.push(
            p("half_value"),
            format!(
                "with these settings the richest offer would raise a rate {most:.0}-fold, more than {}: lower half_value or raise reference_value",
                crate::world::behaviour::MAX_RESPONSE
            ),
        );
    }
    b
}

impl World {
    /// The end of the window over which an offer's effect is judged: its end, and the days after
    /// it that its extra visits can be pulled forward from (the truth and the holdout estimate
    /// both cover it).
    pub fn effect_end(&self, offer: OfferId) -> SimTime {
        let days = self.behaviour.pull_forward_days as u64;
        self.offers[offer.0 as usize].end.plus_seconds(days * SECONDS_PER_DAY)
    }

    /// The value of `offer` as a person of `segment` perceives it (`behaviour.rs`).
    pub fn perceived_value(&self, segment: SegmentId, offer: OfferId) -> f64 {
        let seg = &self.segments[segment.0 as usize];
        let o = &self.offers[offer.0 as usize];
        let m = &self.merchants[o.merchant.0 as usize];
        seg.value_sensitivity * self.behaviour.value(&o.reward, o.min_spend, m.basket_median * seg.basket_multiplier)
    }
}

/// A hint naming the known name nearest to `got` ("did you mean …?"), if one is near enough:
/// a Levenshtein distance of at most 2, or a third of its length.
pub fn hint<'a, S: AsRef<str> + 'a>(got: &str, known: impl Iterator<Item = S>) -> String {
    let best = known
        .map(|k| (strsim::levenshtein(got, k.as_ref()), k.as_ref().to_string()))
        .filter(|(d, _)| *d <= 2.max(got.len() / 3))
        .min();
    match best {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    }
}

/// Seconds in a day, re-exported for callers computing rates.
pub const DAY_SECONDS: f64 = SECONDS_PER_DAY as f64;
