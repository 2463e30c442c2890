//! The world a scenario describes, validated and resolved into dense ids: segments, merchants
//! with their MIDs, offers with their rules, surges and the hour-by-hour popularity tables the
//! spending model draws from. `build` reports every problem it finds, each at a path into the
//! scenario file.

pub mod attribution;
pub mod behaviour;
mod build;
mod build_offers;
mod check;
pub mod config;
mod dates;
mod exposure_terms;
pub mod limits;
pub mod network;
mod purchase_terms;
pub use exposure_terms::{ExposureTerms, EXPOSURE_KEY};
pub use purchase_terms::PurchaseTerms;
pub mod shops;
pub mod thresholds;
pub mod workload;

use crate::core::money::Cents;
use crate::core::sample::Categorical;
use crate::core::stable_pick::StablePick;
use crate::core::time::{Calendar, SimTime, SECONDS_PER_DAY, SECONDS_PER_HOUR};
use crate::world::behaviour::Behaviour;
use crate::world::config::*;
use rust_decimal::Decimal;

pub use build::build;
pub use check::{builtin_profile, hint};
pub use limits::*;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
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

/// A physical card: a person's card (`slot`) whatever token it is linked under, for the event
/// log. Printed as `pc_<user>_<slot>`: an opaque id, never a card number (the person's id and
/// a slot number, far from a card number's 13 to 19 digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysicalCard {
    pub user: u32,
    pub slot: u8,
}

impl std::fmt::Display for PhysicalCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pc_{}_{}", self.user, self.slot)
    }
}

impl serde::Serialize for PhysicalCard {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, schemars::JsonSchema)]
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
    pub local_offset_secs: i64,
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
    pub period_secs: u64,
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
    pub return_period_secs: u64,
    /// Time from confirmation to the statement credit.
    pub payout_delay_secs: u64,
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
    pub local_offset_secs: i64,
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
            return_period_secs: 0,
            payout_delay_secs: 0,
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
            local_offset_secs: 0,
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
            Some(b) => (t.0.saturating_sub(self.start.0) / b.period_secs) as u32,
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
        let local = t.0 as i64 + self.local_offset_secs;
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
    pub utc_offset_secs: i64,
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
    /// Pure functions of the terms that people and the harness ask for per person or per
    /// purchase, computed once (`Tables`).
    pub(crate) tables: Tables,
}

/// Values that depend on the world's terms alone, computed once with the world: the behaviour
/// model's response to each (segment, offer) and the wear-out factor of an impression's rank
/// (two to four `pow`s each, asked per impression and per enrolled offer), the surge pieces
/// (sorted per person before) and each merchant's span of offers with a minimum spend (asked
/// per purchase). The same functions give the same bits, so a table changes no draw; past
/// `MAX_RESPONSES` pairs the responses are computed when asked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tables {
    /// `Behaviour::response` of `World::perceived_value`, by segment × offers + offer.
    responses: Vec<f64>,
    /// `Behaviour::prompt(n)` for n below its length.
    prompts: Vec<f64>,
    max_response: f64,
    /// `World::surge_segments`.
    surge_pieces: Vec<(SimTime, SimTime, f64)>,
    /// Per merchant: from the earliest start to the latest end of its offers with a minimum
    /// spend (`World::min_spend_span`).
    min_spend_spans: Vec<Option<(SimTime, SimTime)>>,
    /// Per merchant: what a purchase there draws from, one cache line each (`purchase_terms.rs`).
    purchase_terms: Vec<Option<PurchaseTerms>>,
    /// Per offer: what a person's exposure to it asks first, packed (`ExposureTerms`).
    exposure: Vec<ExposureTerms>,
    /// Per MID: its merchant (`World::mids`' merchants, 4 bytes each instead of 32: each
    /// network message looks one up, in no order).
    mid_merchants: Vec<MerchantId>,
}

/// The largest (segment, offer) table built (8 MB); a larger world computes each when asked.
const MAX_RESPONSES: usize = 1 << 20;
/// Impression ranks whose prompt factor is tabled (the wear-out factor of later ones is computed).
const PROMPTS: u32 = 64;

impl Tables {
    pub(crate) fn new(
        segments: &[Segment],
        offers: &[Offer],
        merchants: &[Merchant],
        mids: &[Mid],
        b: &Behaviour,
        (end, surges): (SimTime, &[Surge]),
        seed: u64,
    ) -> Tables {
        let pairs = segments.len() * offers.len();
        let responses = if pairs <= MAX_RESPONSES {
            segments
                .iter()
                .flat_map(|seg| {
                    offers.iter().map(move |o| {
                        let m = &merchants[o.merchant.0 as usize];
                        b.response(perceived_value(b, seg, o, m))
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        Tables {
            responses,
            prompts: (0..PROMPTS).map(|n| b.prompt(n)).collect(),
            max_response: b.max_response(),
            surge_pieces: surge_pieces(end, surges),
            min_spend_spans: min_spend_spans(merchants.len(), offers),
            purchase_terms: merchants.iter().map(PurchaseTerms::of).collect(),
            exposure: offers.iter().enumerate().map(|(k, o)| ExposureTerms::of(o, k, end, seed)).collect(),
            mid_merchants: mids.iter().map(|m| m.merchant).collect(),
        }
    }
}

/// Per merchant, from the earliest start to the latest end of its offers with a minimum spend:
/// one pass over the offers.
fn min_spend_spans(merchants: usize, offers: &[Offer]) -> Vec<Option<(SimTime, SimTime)>> {
    let mut spans: Vec<Option<(SimTime, SimTime)>> = vec![None; merchants];
    for o in offers.iter().filter(|o| o.min_spend.0 > 0) {
        if let Some(span) = spans.get_mut(o.merchant.0 as usize) {
            *span = Some(span.map_or((o.start, o.end), |(a, b)| (a.min(o.start), b.max(o.end))));
        }
    }
    spans
}

/// The activity period (to `end`) cut where the surge factor changes (`World::surge_segments`).
fn surge_pieces(end: SimTime, surges: &[Surge]) -> Vec<(SimTime, SimTime, f64)> {
    let mut cuts: Vec<SimTime> = vec![SimTime::ZERO, end];
    for s in surges {
        cuts.extend([s.start.min(end), s.end.min(end)]);
    }
    cuts.sort_unstable();
    cuts.dedup();
    let factor = |t: SimTime| surges.iter().filter(|s| t >= s.start && t < s.end).map(|s| s.multiplier).product();
    cuts.windows(2).map(|w| (w[0], w[1], factor(w[0]))).collect()
}

/// The value of offer `o` at merchant `m` as a person of segment `seg` perceives it.
fn perceived_value(b: &Behaviour, seg: &Segment, o: &Offer, m: &Merchant) -> f64 {
    seg.value_sensitivity * b.value(&o.reward, o.min_spend, m.basket_median * seg.basket_multiplier)
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
        surge_pieces(self.period_end(), &self.surges)
    }
    /// `surge_segments`, computed once with the world (each person's spending runs on them).
    pub fn surge_pieces(&self) -> &[(SimTime, SimTime, f64)] {
        &self.tables.surge_pieces
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
        let o = &self.offers[offer.0 as usize];
        perceived_value(&self.behaviour, &self.segments[segment.0 as usize], o, &self.merchants[o.merchant.0 as usize])
    }

    /// How a person of `segment` responds to `offer`: `behaviour.response` of its perceived
    /// value (from the table when there is one).
    pub fn response(&self, segment: SegmentId, offer: OfferId) -> f64 {
        let i = segment.0 as usize * self.offers.len() + offer.0 as usize;
        match self.tables.responses.get(i) {
            Some(&r) => r,
            None => self.behaviour.response(self.perceived_value(segment, offer)),
        }
    }

    /// `behaviour.prompt(n)`: how well the `n`-th impression works relative to the first.
    pub fn prompt(&self, n: u32) -> f64 {
        match self.tables.prompts.get(n as usize) {
            Some(&p) => p,
            None => self.behaviour.prompt(n),
        }
    }

    /// From the earliest start to the latest end of the merchant's offers with a minimum spend:
    /// outside it, no purchase there is a basket near an offer's minimum (the report's
    /// bunching), and the harness need not look up the buyer's enrollments.
    pub fn min_spend_span(&self, merchant: MerchantId) -> Option<(SimTime, SimTime)> {
        self.tables.min_spend_spans.get(merchant.0 as usize).copied().flatten()
    }

    /// What a purchase at the merchant draws from, packed (`purchase_terms.rs`); `None` only
    /// for a merchant without channels, which no validated world has.
    pub fn purchase_terms(&self, merchant: MerchantId) -> Option<&PurchaseTerms> {
        self.tables.purchase_terms.get(merchant.0 as usize).and_then(Option::as_ref)
    }

    /// Starts loading the merchant's purchase terms (`core::prefetch`), for a purchase there
    /// soon. A hint: it changes nothing.
    pub fn prefetch_purchase_terms(&self, merchant: MerchantId) {
        if let Some(t) = self.tables.purchase_terms.get(merchant.0 as usize) {
            crate::core::prefetch::prefetch(t);
        }
    }

    /// The merchant of `mid` (`mids[mid].merchant`, from a table a tenth of its size).
    pub fn merchant_of_mid(&self, mid: MidId) -> MerchantId {
        self.tables.mid_merchants[mid.0 as usize]
    }

    /// What a person's exposure to the offer asks first (`ExposureTerms`).
    pub fn exposure_terms(&self, offer: OfferId) -> &ExposureTerms {
        &self.tables.exposure[offer.0 as usize]
    }

    /// The offer's merchant, from the packed terms (`ExposureTerms`) a person's exposure has
    /// just read, not from the `Offer`.
    pub fn offer_merchant(&self, offer: OfferId) -> MerchantId {
        self.tables.exposure[offer.0 as usize].merchant
    }

    /// `behaviour.max_response()`.
    pub fn max_response(&self) -> f64 {
        self.tables.max_response
    }
}

/// Seconds in a day, re-exported for callers computing rates.
pub const DAY_SECONDS: f64 = SECONDS_PER_DAY as f64;
