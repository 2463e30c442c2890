//! The mock card network. For each purchase it decides, from the purchase's own keyed draws,
//! what the scheme reports and when, and how the feed misbehaves on the way:
//!
//! - lifecycle: an authorization seconds after the purchase (only at locations that authorize),
//!   then either a reversal of the authorization or a clearing one to three days later, released
//!   in the scheme's clearing batches (a purchase with no authorization always clears: only an
//!   authorization can be reversed, so every purchase ends in exactly one clearing or one
//!   reversal); for some cleared purchases a refund days or weeks later, full or partial, with
//!   or without a reference to the original;
//! - faults: repeated deliveries (at-least-once), an authorization delivered after its
//!   clearing, a clearing amount different from the authorization (tips, partial shipments), a
//!   terminal id the platform does not know, a merchant submitting days late, and feed outages
//!   whose backlog arrives in one burst when they end.
//!
//! Every lifecycle and fault draw has its own index in the purchase's keyed draws (`draw`
//! below), so switching a fault on never changes which purchases clear, reverse or refund, and a
//! draw a fate does not need is never made.
//!
//! It owns its scenario section, `[network]`. Architecture invariant: the network sees
//! purchases and locations, never card numbers or the platform's enrollments; it never reads
//! the wall clock.

use offersim_sim::core::rng::{hash_unit, mix3, Draw, Hashed};
use offersim_sim::core::sample::triangular;
use offersim_sim::core::time::{Calendar, SimTime, SECONDS_PER_DAY, SECONDS_PER_HOUR};
use offersim_sim::world::config::{path, with_index, with_key, DateTimeInput, Ordered, PathSeg, Problem, Problems};
use offersim_sim::world::network::{CardNetwork, FaultCounts, MessageKind, NetworkMessage, PurchaseFacts};
use offersim_sim::Cents;
use schemars::JsonSchema;
use serde::Deserialize;

pub const MAX_SCHEMES: usize = 16;
pub const MAX_CLEARING_DELAY_HOURS: f64 = 24.0 * 30.0;
pub const MAX_REFUND_DELAY_DAYS: f64 = 365.0;
pub const MAX_CLEARING_BATCHES_PER_DAY: u32 = 24;
pub const MAX_OUTAGES: usize = 64;
pub const MAX_OUTAGE_HOURS: u32 = 24 * 14;
pub const MAX_DUPLICATE_COPIES: u32 = 5;
pub const MAX_LATE_SUBMISSION_DAYS: u32 = 60;
/// Clearing amount changes are limited to this many percent either way.
pub const MAX_AMOUNT_CHANGE_PERCENT: f64 = 90.0;

/// `[network]`: the schemes in file order, the locations that authorize, faults, outages.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    pub schemes: Ordered<SchemeConfig>,
    /// Share of locations (MIDs) that send authorizations; the others only clear.
    #[serde(default = "one")]
    pub auth_enabled_share: f64,
    #[serde(default)]
    pub faults: FaultConfig,
    #[serde(default)]
    pub outages: Vec<OutageConfig>,
}

/// `[network.schemes.<name>]`: one scheme's timing profile and rates.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemeConfig {
    /// Authorization delay after the purchase, uniform in [min, max] seconds.
    #[serde(default = "default_auth_delay")]
    pub auth_delay_seconds: [u32; 2],
    pub clearing_delay_hours: Triangle,
    /// Clearings are released in this many batches a day, evenly spaced from midnight (a clearing
    /// waits for the next batch); 0 releases each clearing as soon as it is ready.
    #[serde(default = "default_batches")]
    pub clearing_batches_per_day: u32,
    /// Share of authorizations reversed instead of cleared.
    #[serde(default)]
    pub reversal_rate: f64,
    /// Hours after the authorization that a reversal arrives, uniform in [min, max].
    #[serde(default = "default_reversal_hours")]
    pub reversal_delay_hours: [u32; 2],
    /// Share of cleared purchases refunded.
    #[serde(default)]
    pub refund_rate: f64,
    #[serde(default = "default_refund_delay")]
    pub refund_delay_days: Triangle,
    /// Share of refunds for part of the amount (uniform between 10% and 90% of it).
    #[serde(default)]
    pub partial_refund_share: f64,
    /// Share of refunds that carry no reference to their original transaction.
    #[serde(default)]
    pub unreferenced_refund_share: f64,
}

/// `[network.faults]`: how the feed misbehaves. Every rate defaults to 0.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Share of messages delivered more than once.
    #[serde(default)]
    pub duplicate_rate: f64,
    /// Total deliveries of a repeated message, uniform in [min, max].
    #[serde(default = "default_copies")]
    pub duplicate_copies: [u32; 2],
    /// Minutes between repeated deliveries, uniform in [min, max].
    #[serde(default = "default_duplicate_delay")]
    pub duplicate_delay_minutes: [u32; 2],
    /// Share of cleared purchases whose authorization is delivered after the clearing.
    #[serde(default)]
    pub auth_after_clearing_rate: f64,
    /// Share of clearings for a different amount than the authorization.
    #[serde(default)]
    pub clearing_amount_change_rate: f64,
    /// How much the clearing differs from the authorization, uniform in [min, max] percent of
    /// the authorization (positive: a tip; negative: a partial shipment).
    #[serde(default = "default_change_percent")]
    pub clearing_amount_change_percent: [f64; 2],
    /// Share of purchases reported under a terminal id the platform's MID registry lacks.
    #[serde(default)]
    pub unknown_mid_rate: f64,
    /// Share of clearings the merchant submits late.
    #[serde(default)]
    pub late_submission_rate: f64,
    /// Extra days a late clearing takes, uniform in [min, max].
    #[serde(default = "default_late_days")]
    pub late_submission_days: [u32; 2],
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            duplicate_rate: 0.0,
            duplicate_copies: default_copies(),
            duplicate_delay_minutes: default_duplicate_delay(),
            auth_after_clearing_rate: 0.0,
            clearing_amount_change_rate: 0.0,
            clearing_amount_change_percent: default_change_percent(),
            unknown_mid_rate: 0.0,
            late_submission_rate: 0.0,
            late_submission_days: default_late_days(),
        }
    }
}

/// `[[network.outages]]`: nothing is delivered from `start` for `hours`; what the network
/// emitted meanwhile arrives in one burst at the end, in the network's order.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutageConfig {
    pub start: DateTimeInput,
    pub hours: u32,
    /// The schemes whose feed stops (default: all).
    pub schemes: Option<Vec<String>>,
}

fn one() -> f64 {
    1.0
}
fn default_auth_delay() -> [u32; 2] {
    [1, 5]
}
fn default_batches() -> u32 {
    4
}
fn default_reversal_hours() -> [u32; 2] {
    [1, 24]
}
fn default_refund_delay() -> Triangle {
    Triangle { min: 2.0, mode: 7.0, max: 30.0 }
}
fn default_copies() -> [u32; 2] {
    [2, 3]
}
fn default_duplicate_delay() -> [u32; 2] {
    [1, 120]
}
fn default_change_percent() -> [f64; 2] {
    [-20.0, 25.0]
}
fn default_late_days() -> [u32; 2] {
    [3, 10]
}

/// A triangular distribution.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Triangle {
    pub min: f64,
    pub mode: f64,
    pub max: f64,
}

impl NetworkConfig {
    pub fn scheme_names(&self) -> Vec<String> {
        self.schemes.0.iter().map(|(k, _)| k.clone()).collect()
    }

    /// Every problem with the section, each at its path. `cal` is the scenario's calendar and
    /// `horizon` the end of its run (activity and settlement).
    pub fn validate(&self, cal: &Calendar, horizon: SimTime) -> Vec<Problem> {
        let mut pr = Problems::default();
        if self.schemes.0.is_empty() {
            pr.push(path(&["network", "schemes"]), "define at least one scheme, e.g. [network.schemes.visa]");
        }
        if self.schemes.0.len() > MAX_SCHEMES {
            pr.push(path(&["network", "schemes"]), format!("at most {MAX_SCHEMES} schemes"));
        }
        probability(&mut pr, path(&["network", "auth_enabled_share"]), self.auth_enabled_share);
        for (name, s) in &self.schemes.0 {
            let p = |k: &str| path(&["network", "schemes", name, k]);
            pair(&mut pr, p("auth_delay_seconds"), s.auth_delay_seconds, 0, 3_600);
            pair(&mut pr, p("reversal_delay_hours"), s.reversal_delay_hours, 0, 24 * 30);
            triangle(&mut pr, p("clearing_delay_hours"), s.clearing_delay_hours, MAX_CLEARING_DELAY_HOURS);
            triangle(&mut pr, p("refund_delay_days"), s.refund_delay_days, MAX_REFUND_DELAY_DAYS);
            if s.clearing_batches_per_day > MAX_CLEARING_BATCHES_PER_DAY
                || (s.clearing_batches_per_day > 0 && 24 % s.clearing_batches_per_day != 0)
            {
                pr.push(
                    p("clearing_batches_per_day"),
                    format!(
                        "must divide the day into whole hours (0, 1, 2, 3, 4, 6, 8, 12 or 24), found {}",
                        s.clearing_batches_per_day
                    ),
                );
            }
            for (k, v) in [
                ("reversal_rate", s.reversal_rate),
                ("refund_rate", s.refund_rate),
                ("partial_refund_share", s.partial_refund_share),
                ("unreferenced_refund_share", s.unreferenced_refund_share),
            ] {
                probability(&mut pr, p(k), v);
            }
        }
        let f = &self.faults;
        let p = |k: &str| path(&["network", "faults", k]);
        for (k, v) in [
            ("duplicate_rate", f.duplicate_rate),
            ("auth_after_clearing_rate", f.auth_after_clearing_rate),
            ("clearing_amount_change_rate", f.clearing_amount_change_rate),
            ("unknown_mid_rate", f.unknown_mid_rate),
            ("late_submission_rate", f.late_submission_rate),
        ] {
            probability(&mut pr, p(k), v);
        }
        pair(&mut pr, p("duplicate_copies"), f.duplicate_copies, 2, MAX_DUPLICATE_COPIES);
        pair(&mut pr, p("duplicate_delay_minutes"), f.duplicate_delay_minutes, 0, 24 * 60);
        pair(&mut pr, p("late_submission_days"), f.late_submission_days, 0, MAX_LATE_SUBMISSION_DAYS);
        let [lo, hi] = f.clearing_amount_change_percent;
        let m = MAX_AMOUNT_CHANGE_PERCENT;
        if !(lo.is_finite() && hi.is_finite() && -m <= lo && lo <= hi && hi <= m) {
            pr.push(
                p("clearing_amount_change_percent"),
                format!("[min, max] must have -{m} <= min <= max <= {m}, found [{lo}, {hi}]"),
            );
        }
        if self.outages.len() > MAX_OUTAGES {
            pr.push(path(&["network", "outages"]), format!("at most {MAX_OUTAGES} outages"));
        }
        let names = self.scheme_names();
        for (i, o) in self.outages.iter().enumerate() {
            let p = |k: &str| with_key(with_index(path(&["network", "outages"]), i), k);
            match cal.instant(o.start.0) {
                None => pr.push(p("start"), format!("starts before the scenario ({})", cal.start_date())),
                Some(t) if t >= horizon => {
                    pr.push(p("start"), format!("starts after the run ends ({})", cal.format(horizon)))
                }
                Some(_) => {}
            }
            if o.schemes.as_ref().is_some_and(|s| s.is_empty()) {
                pr.push(p("schemes"), "an empty list stops no scheme; remove `schemes` to stop every scheme");
            }
            if o.hours == 0 || o.hours > MAX_OUTAGE_HOURS {
                pr.push(p("hours"), format!("must be between 1 and {MAX_OUTAGE_HOURS}, found {}", o.hours));
            }
            for (j, name) in o.schemes.iter().flatten().enumerate() {
                if !names.contains(name) {
                    pr.push(
                        with_index(p("schemes"), j),
                        format!("unknown scheme `{name}`; the network defines: {}", names.join(", ")),
                    );
                }
            }
        }
        pr.list
    }
}

fn probability(pr: &mut Problems, p: Vec<PathSeg>, v: f64) {
    if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
        pr.push(p, format!("must be a probability between 0 and 1, found {v}"));
    }
}

fn pair(pr: &mut Problems, p: Vec<PathSeg>, v: [u32; 2], min: u32, max: u32) {
    if v[0] > v[1] || v[0] < min || v[1] > max {
        pr.push(p, format!("[min, max] must have {min} <= min <= max <= {max}, found [{}, {}]", v[0], v[1]));
    }
}

fn triangle(pr: &mut Problems, p: Vec<PathSeg>, t: Triangle, max: f64) {
    let finite = t.min.is_finite() && t.mode.is_finite() && t.max.is_finite();
    if !finite || t.min < 0.0 || t.max > max {
        pr.push(p, format!("min and max must lie between 0 and {max}, found min {} max {}", t.min, t.max));
    } else if !(t.min <= t.mode && t.mode <= t.max) {
        pr.push(with_key(p, "mode"), format!("needs min <= mode <= max, found {} <= {} <= {}", t.min, t.mode, t.max));
    }
}

/// An outage: deliveries due in [start, end) on the schemes in `schemes` (a bit per scheme)
/// wait until `end`.
#[derive(Debug, Clone, Copy)]
struct Outage {
    start: SimTime,
    end: SimTime,
    schemes: u32,
}

/// The network, ready to report purchases.
#[derive(Debug, Clone)]
pub struct MockNetwork {
    schemes: Vec<(String, SchemeConfig)>,
    auth_enabled_share: f64,
    faults: FaultConfig,
    outages: Vec<Outage>,
    /// Key of the per-location choice of which MIDs authorize.
    location_key: u64,
}

impl MockNetwork {
    /// `cfg` must have passed `validate` with the same calendar.
    pub fn new(cfg: &NetworkConfig, cal: &Calendar, seed: u64) -> MockNetwork {
        let names = cfg.scheme_names();
        let mut outages: Vec<Outage> = cfg
            .outages
            .iter()
            .filter_map(|o| {
                let start = cal.instant(o.start.0)?;
                let schemes = match &o.schemes {
                    None => u32::MAX,
                    Some(list) => {
                        list.iter().filter_map(|n| names.iter().position(|k| k == n)).fold(0, |mask, i| mask | 1 << i)
                    }
                };
                Some(Outage { start, end: start.plus_seconds(o.hours as u64 * SECONDS_PER_HOUR), schemes })
            })
            .collect();
        outages.sort_by_key(|o| (o.start, o.end));
        MockNetwork {
            schemes: cfg.schemes.0.clone(),
            auth_enabled_share: cfg.auth_enabled_share,
            faults: cfg.faults.clone(),
            outages,
            location_key: mix3(seed, 0x6c6f_6361_7469_6f6e, 0), // "location"
        }
    }

    /// Whether a location sends authorizations: a fixed property of the MID.
    pub fn authorizes(&self, mid: u32) -> bool {
        self.auth_enabled_share >= 1.0 || hash_unit(self.location_key, mid as u64) < self.auth_enabled_share
    }

    /// When a message emitted at `t` on scheme `scheme` is delivered: at `t`, or at the end of
    /// the outage (or chain of outages) it falls into.
    fn delivery(&self, scheme: u8, t: SimTime) -> SimTime {
        let mut at = t;
        for o in &self.outages {
            if o.schemes & (1 << scheme) != 0 && o.start <= at && at < o.end {
                at = o.end;
            }
        }
        at
    }
}

fn uniform(mut rng: Hashed, [lo, hi]: [u32; 2]) -> u64 {
    lo as u64 + rng.below((hi - lo) as u64 + 1)
}

/// Where each of a purchase's draws lies in its keyed draws (`Hashed::at`): every fate has its
/// own index, drawn only when the fate it belongs to applies, so no fate shifts another.
mod draw {
    pub const AUTH_DELAY: u64 = 0;
    pub const REVERSED: u64 = 1;
    pub const REVERSAL_AFTER: u64 = 2;
    pub const CLEARING_HOURS: u64 = 3;
    pub const REFUNDED: u64 = 4;
    pub const REFUND_DAYS: u64 = 5;
    pub const PARTIAL: u64 = 6;
    pub const PARTIAL_SHARE: u64 = 7;
    pub const UNREFERENCED: u64 = 8;
    pub const UNKNOWN_MID: u64 = 9;
    pub const CHANGED: u64 = 10;
    pub const CHANGE: u64 = 11;
    pub const LATE: u64 = 12;
    pub const LATE_DAYS: u64 = 13;
    pub const AUTH_LATE: u64 = 14;
    pub const AUTH_LATE_BY: u64 = 15;
    /// Delivery of the purchase's m-th message (m < 3): from `DELIVERY + m·2^32`, whether it is
    /// repeated, how many copies, then each further copy's delay.
    pub const DELIVERY: u64 = 16;
    pub fn delivery(message: usize) -> u64 {
        DELIVERY + ((message as u64) << 32)
    }
}

/// The first batch release at or after `t` for `per_day` batches a day (0: `t` itself).
fn next_batch(t: SimTime, per_day: u32) -> SimTime {
    if per_day == 0 {
        return t;
    }
    let every = SECONDS_PER_DAY / per_day as u64;
    SimTime(t.0.div_ceil(every) * every)
}

/// A purchase's messages before delivery, in order: an authorization and its reversal, or an
/// authorization, the clearing and a refund.
#[derive(Default)]
struct Emitted {
    messages: [Option<(SimTime, NetworkMessage)>; 3],
    len: usize,
}

impl Emitted {
    fn push(&mut self, m: (SimTime, NetworkMessage)) {
        debug_assert!(self.len < 3, "a purchase emits at most three messages");
        if let Some(slot) = self.messages.get_mut(self.len) {
            *slot = Some(m);
            self.len += 1;
        }
    }
    fn iter(&self) -> impl Iterator<Item = &(SimTime, NetworkMessage)> {
        self.messages[..self.len].iter().flatten()
    }
}

/// Round half away from zero of a non-negative f64 number of cents.
fn cents_of(x: f64) -> Cents {
    Cents(libm::round(x) as i64)
}

impl CardNetwork for MockNetwork {
    fn schemes(&self) -> Vec<String> {
        self.schemes.iter().map(|(k, _)| k.clone()).collect()
    }

    fn report(&self, p: &PurchaseFacts, d: Hashed, out: &mut Vec<(SimTime, NetworkMessage)>, faults: &mut FaultCounts) {
        let Some((_, s)) = self.schemes.get(p.scheme as usize) else {
            return;
        };
        // Lifecycle draws, then fault draws: each at its own index, drawn when it matters.
        let auth_delay = uniform(d.at(draw::AUTH_DELAY), s.auth_delay_seconds);
        let reversed = d.at(draw::REVERSED).chance(s.reversal_rate);
        let refunded = d.at(draw::REFUNDED).chance(s.refund_rate);
        let f = &self.faults;
        let unknown_mid = d.at(draw::UNKNOWN_MID).chance(f.unknown_mid_rate);
        let changed = d.at(draw::CHANGED).chance(f.clearing_amount_change_rate);
        let change = || {
            let [lo, hi] = f.clearing_amount_change_percent;
            lo + (hi - lo) * d.at(draw::CHANGE).unit()
        };
        let late = d.at(draw::LATE).chance(f.late_submission_rate);
        let auth_late = d.at(draw::AUTH_LATE).chance(f.auth_after_clearing_rate);

        let msg = |kind, amount, network_time| NetworkMessage {
            kind,
            purchase: p.id,
            amount,
            network_time,
            referenced: true,
            mid_known: !unknown_mid,
            copy: 0,
        };
        // At most three: auth and reversal, or auth, clearing and refund (no allocation per
        // purchase).
        let mut emitted = Emitted::default();
        let authorizes = self.authorizes(p.mid.0);
        let auth_at = p.at.plus_seconds(auth_delay);
        // The authorization is for the amount before a tip or a partial shipment.
        let auth_amount =
            if changed { cents_of(p.amount.0 as f64 * 100.0 / (100.0 + change())).max(Cents(1)) } else { p.amount };
        if unknown_mid {
            faults.unknown_mid_purchases += 1;
        }
        // Only an authorization can be reversed: at a location that only clears, the reversal
        // fate does not apply and the purchase clears like any other (every purchase ends in
        // exactly one clearing or one reversal).
        if reversed && authorizes {
            emitted.push((auth_at, msg(MessageKind::Auth, auth_amount, auth_at)));
            let reversal_after = uniform(d.at(draw::REVERSAL_AFTER), s.reversal_delay_hours) * SECONDS_PER_HOUR;
            let at = auth_at.plus_seconds(reversal_after);
            emitted.push((at, msg(MessageKind::Reversal, auth_amount, at)));
        } else {
            let c = s.clearing_delay_hours;
            let clearing_hours = triangular(&mut d.at(draw::CLEARING_HOURS), c.min, c.mode, c.max);
            let mut ready = p.at.plus_seconds((clearing_hours * SECONDS_PER_HOUR as f64) as u64).max(auth_at);
            if late {
                let late_days = uniform(d.at(draw::LATE_DAYS), f.late_submission_days);
                ready = ready.plus_seconds(late_days * SECONDS_PER_DAY);
                faults.late_submissions += 1;
            }
            let cleared_at = next_batch(ready, s.clearing_batches_per_day);
            if authorizes {
                let delivered = if auth_late {
                    faults.auths_after_clearing += 1;
                    cleared_at.plus_seconds(60 + d.at(draw::AUTH_LATE_BY).below(3_600))
                } else {
                    auth_at
                };
                emitted.push((delivered, msg(MessageKind::Auth, auth_amount, auth_at)));
                if auth_amount != p.amount {
                    faults.clearing_amount_changed += 1;
                }
            } else {
                faults.clearings_without_auth += 1;
            }
            emitted.push((cleared_at, msg(MessageKind::Clearing, p.amount, cleared_at)));
            if refunded {
                let r = s.refund_delay_days;
                let refund_days = triangular(&mut d.at(draw::REFUND_DAYS), r.min, r.mode, r.max);
                let at = cleared_at.plus_seconds((refund_days * SECONDS_PER_DAY as f64) as u64);
                let amount = if d.at(draw::PARTIAL).chance(s.partial_refund_share) {
                    faults.partial_refunds += 1;
                    let partial_share = 0.1 + 0.8 * d.at(draw::PARTIAL_SHARE).unit();
                    cents_of(p.amount.0 as f64 * partial_share).clamp(Cents(1), p.amount)
                } else {
                    p.amount
                };
                let mut m = msg(MessageKind::Refund, amount, at);
                if d.at(draw::UNREFERENCED).chance(s.unreferenced_refund_share) {
                    faults.unreferenced_refunds += 1;
                    m.referenced = false;
                }
                emitted.push((at, m));
            }
        }
        // Delivery: repeated copies, then outages.
        for (k, &(at, m)) in emitted.iter().enumerate() {
            let i = draw::delivery(k);
            let copies =
                if d.at(i).chance(f.duplicate_rate) { uniform(d.at(i + 1), f.duplicate_copies) as u8 } else { 1 };
            let mut t = at;
            for copy in 0..copies {
                if copy > 0 {
                    t = t.plus_seconds(uniform(d.at(i + 1 + copy as u64), f.duplicate_delay_minutes) * 60);
                    faults.duplicate_deliveries += 1;
                }
                let delivered = self.delivery(p.scheme, t);
                if delivered != t && copy == 0 {
                    faults.held_by_outage += 1;
                }
                out.push((delivered, NetworkMessage { copy, ..m }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use offersim_sim::core::rng::Purpose;
    use offersim_sim::world::network::PurchaseId;
    use offersim_sim::world::{Channel, MidId};

    const VISA: &str = "[schemes.visa]\nclearing_delay_hours = { min = 24, mode = 48, max = 72 }\n";

    fn cal() -> Calendar {
        Calendar::new(chrono::NaiveDate::from_ymd_opt(2026, 11, 23).expect("a date"))
    }

    fn net(extra: &str) -> MockNetwork {
        let cfg: NetworkConfig = toml::from_str(&format!("{extra}\n{VISA}")).expect("valid network toml");
        assert_eq!(cfg.validate(&cal(), SimTime::from_days(60)), vec![], "{extra}");
        MockNetwork::new(&cfg, &cal(), 7)
    }

    /// Purchase `seq` of user 1: $12.34 in store at location `mid`, at second 1,000.
    fn purchase(seq: u32, mid: u32) -> PurchaseFacts {
        PurchaseFacts {
            id: PurchaseId { user: 1, seq },
            at: SimTime(1_000),
            amount: Cents(1234),
            scheme: 0,
            channel: Channel::InStore,
            mid: MidId(mid),
        }
    }

    fn report_with(net: &MockNetwork, seq: u32, faults: &mut FaultCounts) -> Vec<(SimTime, NetworkMessage)> {
        let p = purchase(seq, 3);
        let mut out = Vec::new();
        net.report(&p, Hashed::new(1, Purpose::Network, seq as u64, 1), &mut out, faults);
        out
    }

    fn report(net: &MockNetwork, seq: u32) -> Vec<(SimTime, NetworkMessage)> {
        report_with(net, seq, &mut FaultCounts::default())
    }

    fn kinds(out: &[(SimTime, NetworkMessage)]) -> Vec<MessageKind> {
        out.iter().map(|(_, m)| m.kind).collect()
    }

    #[test]
    fn clearing_arrives_one_to_three_days_later_in_the_schemes_batches() {
        let n = net("");
        for seq in 0..500 {
            let out = report(&n, seq);
            assert_eq!(kinds(&out), [MessageKind::Auth, MessageKind::Clearing]);
            assert!((1_001..=1_005).contains(&out[0].0 .0));
            let (at, m) = out[1];
            assert_eq!(at, m.network_time);
            assert_eq!(at.0 % (6 * 3_600), 0, "4 batches a day: every 6 hours");
            let delay = at.0 - 1_000;
            assert!((24 * 3_600..=78 * 3_600).contains(&delay), "delay {delay}");
        }
    }

    #[test]
    fn a_reversed_auth_never_clears_and_a_refund_follows_its_clearing() {
        let n = net("").with_scheme(|s| s.reversal_rate = 1.0);
        assert_eq!(kinds(&report(&n, 3)), [MessageKind::Auth, MessageKind::Reversal]);
        let n = net("").with_scheme(|s| s.refund_rate = 1.0);
        let out = report(&n, 3);
        assert_eq!(out[2].1.kind, MessageKind::Refund);
        assert_eq!(out[2].1.amount, Cents(1234));
        assert!(out[2].1.referenced);
        assert!(out[2].0 >= out[1].0.plus_seconds(2 * 86_400));
    }

    #[test]
    fn partial_and_unreferenced_refunds_are_flagged_and_counted() {
        let n = net("").with_scheme(|s| {
            s.refund_rate = 1.0;
            s.partial_refund_share = 1.0;
            s.unreferenced_refund_share = 1.0;
        });
        let mut f = FaultCounts::default();
        for seq in 0..100 {
            let out = report_with(&n, seq, &mut f);
            let (_, refund) = out[2];
            assert!(refund.amount >= Cents(123) && refund.amount <= Cents(1111), "{:?}", refund.amount);
            assert!(!refund.referenced);
        }
        assert_eq!((f.partial_refunds, f.unreferenced_refunds), (100, 100));
    }

    #[test]
    fn a_repeated_message_keeps_its_identity_and_comes_later() {
        let n = net("[faults]\nduplicate_rate = 1.0\nduplicate_copies = [3, 3]");
        let mut f = FaultCounts::default();
        let out = report_with(&n, 1, &mut f);
        assert_eq!(out.len(), 6);
        for copies in out.chunks(3) {
            assert_eq!(copies.iter().map(|(_, m)| m.copy).collect::<Vec<_>>(), [0, 1, 2]);
            assert!(copies.iter().all(|(_, m)| (m.kind, m.purchase, m.network_time)
                == (copies[0].1.kind, copies[0].1.purchase, copies[0].1.network_time)));
            assert!(copies[0].0 <= copies[1].0 && copies[1].0 <= copies[2].0);
        }
        assert_eq!(f.duplicate_deliveries, 4);
    }

    #[test]
    fn an_outage_holds_deliveries_until_it_ends_and_keeps_the_network_time() {
        // The purchase is at 00:16:40 on the first day; the feed is down for the whole first day.
        let n = net("[[outages]]\nstart = \"2026-11-23T00:00\"\nhours = 24");
        let mut f = FaultCounts::default();
        let out = report_with(&n, 1, &mut f);
        let (auth_at, auth) = out[0];
        assert_eq!(auth_at, SimTime::from_days(1));
        assert!(auth.network_time < SimTime::from_days(1));
        assert_eq!(out[1].0, out[1].1.network_time, "the clearing comes after the outage, on time");
        assert_eq!(f.held_by_outage, 1);
    }

    #[test]
    fn an_auth_can_arrive_after_its_clearing() {
        let n = net("[faults]\nauth_after_clearing_rate = 1.0");
        let out = report(&n, 1);
        let (auth_at, auth) = out[0];
        let (clear_at, _) = out[1];
        assert_eq!(auth.kind, MessageKind::Auth);
        assert!(auth_at > clear_at);
        assert!(auth.network_time < clear_at, "the network stamped it at the purchase");
    }

    #[test]
    fn a_changed_clearing_amount_is_the_purchase_amount_and_the_auth_differs() {
        let n = net("[faults]\nclearing_amount_change_rate = 1.0\nclearing_amount_change_percent = [20, 20]");
        let out = report(&n, 1);
        assert_eq!(out[0].1.amount, Cents(1028), "12.34 / 1.2 = 10.283 before the tip");
        assert_eq!(out[1].1.amount, Cents(1234));
    }

    /// Conservation: whatever the mix of locations that authorize, reversals and faults, every
    /// purchase ends in exactly one clearing or one reversal (first copies), and a reversal only
    /// ever follows its authorization.
    #[test]
    fn every_purchase_ends_in_exactly_one_clearing_or_one_reversal() {
        for auth in ["0.0", "0.5", "1.0"] {
            for reversal in [0.0, 0.3, 1.0] {
                let faults = "[faults]\nduplicate_rate = 0.5\nunknown_mid_rate = 0.2\nlate_submission_rate = 0.2";
                let n = net(&format!("auth_enabled_share = {auth}\n{faults}")).with_scheme(|s| {
                    s.reversal_rate = reversal;
                    s.refund_rate = 0.3;
                });
                for seq in 0..400 {
                    let p = purchase(seq, seq % 97);
                    let mut out = Vec::new();
                    n.report(
                        &p,
                        Hashed::new(1, Purpose::Network, seq as u64, 1),
                        &mut out,
                        &mut FaultCounts::default(),
                    );
                    let first: Vec<MessageKind> =
                        out.iter().filter(|(_, m)| m.copy == 0).map(|(_, m)| m.kind).collect();
                    let ends =
                        first.iter().filter(|k| matches!(k, MessageKind::Clearing | MessageKind::Reversal)).count();
                    assert_eq!(ends, 1, "auth share {auth}, reversal rate {reversal}, purchase {seq}: {first:?}");
                    if first.contains(&MessageKind::Reversal) {
                        assert!(first.contains(&MessageKind::Auth), "a reversal without its authorization: {first:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_location_that_does_not_authorize_only_clears() {
        let n = net("auth_enabled_share = 0.0");
        let mut f = FaultCounts::default();
        assert_eq!(kinds(&report_with(&n, 1, &mut f)), [MessageKind::Clearing]);
        assert_eq!(f.clearings_without_auth, 1);
    }

    #[test]
    fn a_late_submission_delays_the_clearing_by_days() {
        let on_time = report(&net(""), 1)[1].1.network_time;
        let late =
            report(&net("[faults]\nlate_submission_rate = 1.0\nlate_submission_days = [5, 5]"), 1)[1].1.network_time;
        assert_eq!(late.0 - on_time.0, 5 * 86_400);
    }

    #[test]
    fn switching_faults_on_leaves_the_lifecycle_alone() {
        let clean = net("");
        let faulty = net("[faults]\nduplicate_rate = 0.5\nclearing_amount_change_rate = 0.5\nunknown_mid_rate = 0.5");
        for seq in 0..300 {
            let first = |out: Vec<(SimTime, NetworkMessage)>| {
                out.into_iter()
                    .filter(|(_, m)| m.copy == 0 && m.kind != MessageKind::Auth)
                    .map(|(_, m)| (m.kind, m.network_time, m.amount))
                    .collect::<Vec<_>>()
            };
            assert_eq!(first(report(&clean, seq)), first(report(&faulty, seq)));
        }
    }

    #[test]
    fn validation_names_every_bad_value() {
        let text = format!(
            "{VISA}reversal_rate = 1.5\nclearing_batches_per_day = 5\n[faults]\nduplicate_copies = [1, 9]\n[[outages]]\nstart = \"2026-11-01T00:00\"\nhours = 0\nschemes = [\"amex\"]"
        );
        let cfg: NetworkConfig = toml::from_str(&text).expect("parses");
        let problems: Vec<String> =
            cfg.validate(&cal(), SimTime::from_days(60)).iter().map(|p| p.dotted_path()).collect();
        assert_eq!(
            problems,
            [
                "network.schemes.visa.clearing_batches_per_day",
                "network.schemes.visa.reversal_rate",
                "network.faults.duplicate_copies",
                "network.outages[0].start",
                "network.outages[0].hours",
                "network.outages[0].schemes[0]",
            ]
        );
    }

    impl MockNetwork {
        fn with_scheme(mut self, f: impl Fn(&mut SchemeConfig)) -> Self {
            f(&mut self.schemes[0].1);
            self
        }
    }
}
