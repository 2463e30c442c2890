//! The report's data model. Field order is the order of the struct; money is a decimal string
//! with two places; times are local date-times of the scenario and seconds since its start.

use offersim_sim::core::time::format_duration;
use offersim_sim::outcome::{Bucket, Funnel, OfferStats, Outcome, Reversals};
use offersim_sim::platform::ledger::Account;
use offersim_sim::truth::Correctness;
use offersim_sim::world::config::Overspend;
use offersim_sim::world::network::FaultCounts;
use offersim_sim::world::{Channel, Offer, Reward, World};
use offersim_sim::{Cents, SimTime};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

pub const SCHEMA: &str = "offersim.report/2";

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Report {
    pub schema: &'static str,
    pub scenario: ScenarioInfo,
    pub rounding: &'static str,
    pub funnel: Funnel,
    pub network: Network,
    /// Faults the mock network injected on purpose.
    pub faults: FaultCounts,
    /// The pipeline's credits against the ground truth.
    pub correctness: Correctness,
    pub money: Money,
    pub offers: Vec<OfferRow>,
    pub surges: Vec<SurgeRow>,
    pub daily: Vec<DayRow>,
    pub hourly: Vec<HourRow>,
    pub time_to_credit: TimeToCredit,
    pub ledger: LedgerInfo,
    /// The scenario's `[thresholds]`, each judged on this run (empty when it declares none).
    pub thresholds: Vec<ThresholdRow>,
    /// Purchases by the surface that led to them, and merchants across touchpoints.
    pub attribution: crate::surfaces::Attribution,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ThresholdRow {
    pub metric: &'static str,
    pub condition: String,
    pub actual: String,
    pub passed: bool,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub period_start: String,
    pub period_end: String,
    pub horizon_end: String,
    pub days: u32,
    pub settle_days: u32,
    pub users: u64,
    /// Users run in this many shards, each with its share of every budget.
    pub shards: u32,
    pub segments: usize,
    pub merchants: usize,
    pub mids: usize,
    pub offers: usize,
    pub schemes: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Network {
    pub auths: u64,
    pub clearings: u64,
    pub reversals: u64,
    pub refunds: u64,
    pub deliveries: u64,
    pub received_by_platform: u64,
    pub duplicates_ignored: u64,
    pub not_linked: u64,
    pub unknown_mid: u64,
    pub clearings_out_of_network_order: u64,
    pub after_horizon: u64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Money {
    pub spend: Cents,
    pub refunded: Cents,
    pub rewards_credited: Cents,
    pub rewards_clawed_back: Cents,
    pub net_rewards: Cents,
    /// Statement credits paid (before clawbacks from card accounts).
    pub rewards_paid: Cents,
    pub platform_fees: Cents,
    pub merchant_cost: Cents,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OfferRow {
    pub id: String,
    pub merchant: String,
    pub merchant_name: String,
    pub reward: String,
    pub min_spend: Cents,
    pub start: String,
    pub end: String,
    pub per_card_cap: Option<u32>,
    /// The offer's other rules in words ("" when it has none): caps, limits, filters, budgets
    /// per period, overspend policy, priority, stacking, return period.
    pub rules: String,
    pub impressions: u64,
    pub clicks: u64,
    pub card_entries_abandoned: u64,
    pub cards_added: u64,
    pub one_tap_enrollments: u64,
    pub enrollments: u64,
    pub enrollments_ended_by_deletion: u64,
    pub qualifying_transactions: u64,
    pub redemptions: u64,
    pub declined_per_card_cap: u64,
    pub declined_per_user_cap: u64,
    pub declined_enrollment_limit: u64,
    pub declined_budget: u64,
    pub declined_period_budget: u64,
    pub clawbacks: u64,
    pub rewards_credited: Cents,
    pub rewards_clawed_back: Cents,
    pub net_rewards: Cents,
    pub platform_fees: Cents,
    pub merchant_cost: Cents,
    pub budget: Option<Cents>,
    pub budget_left: Option<Cents>,
    /// Rewards paid beyond the total budget under the `finish_last` policy.
    pub budget_overspend: Cents,
    /// Rewards paid beyond the budgets of periods under `finish_last`, summed over the periods.
    pub period_overspend: Cents,
    pub budget_ran_out_at: Option<String>,
    pub attributed_spend: Cents,
    pub incremental_spend: Cents,
    pub uplift_purchases_withdrawn: u64,
    /// Where the incremental spend came from: extra visits, and purchases topped up to the
    /// minimum spend (their added dollars), before reversals and refunds.
    pub extra_visits: u64,
    pub extra_visit_spend: Cents,
    pub top_ups: u64,
    pub top_up_spend: Cents,
    pub top_ups_withdrawn: u64,
    /// Visits after the offer that its extra visits took the place of, and their spend.
    pub pulled_forward: u64,
    pub pulled_forward_spend: Cents,
    /// How people responded: take-up by impression, baskets around the minimum spend.
    pub behaviour: BehaviourRow,
    /// (incremental spend × gross margin − merchant cost) ÷ merchant cost, 2 places.
    pub roi: Option<Decimal>,
    /// Rewards credited each day of the run (`daily[i].date`), before clawbacks.
    pub rewards_by_day: Vec<Cents>,
    /// The holdout experiment (offers with `targeting.holdout`; absent otherwise): `lift.rs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout: Option<crate::lift::LiftRow>,
}

/// An offer's `behaviour` (scenarios/README.md, "Behaviour").
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BehaviourRow {
    /// Enrollments by the impression of the offer they came at.
    pub enrollments_by_impressions: Vec<ImpressionBucket>,
    /// Purchases on enrolled cards at the merchant in the offer's window, by amount as a percent
    /// of the minimum spend (empty without a minimum): bunching just above 100% is top-ups.
    pub baskets_around_min_spend: Vec<BasketBin>,
    /// The end of the days after the offer that its extra visits can be pulled forward from
    /// (`pull_forward_days`), and whether the activity period ends before it (then visits
    /// pulled from beyond the period are not seen, and the dip is understated).
    pub pull_forward_until: String,
    pub pull_forward_cut_by_period: bool,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ImpressionBucket {
    /// `"1"`, `"2"`, `"3"`, `"4"`, `"5-9"`, `"10+"`.
    pub impressions: &'static str,
    pub enrollments: u64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct BasketBin {
    /// Percent of the minimum spend, `[from, to)`; null: unbounded.
    pub from_percent: Option<u32>,
    pub to_percent: Option<u32>,
    pub purchases: u64,
}

impl BehaviourRow {
    /// Enrollments at the first impression, the second to fourth, and the fifth or later.
    pub fn take_up(&self) -> [u64; 3] {
        let by = |k: std::ops::Range<usize>| self.enrollments_by_impressions[k].iter().map(|b| b.enrollments).sum();
        [by(0..1), by(1..4), by(4..6)]
    }
}

impl BasketBin {
    /// `below 50%`, `50–60%`, …, `150% and more`.
    pub fn label(&self) -> String {
        match (self.from_percent, self.to_percent) {
            (None, Some(t)) => format!("below {t}%"),
            (Some(f), Some(t)) => format!("{f}–{t}%"),
            (Some(f), None) => format!("{f}% and more"),
            (None, None) => String::new(),
        }
    }
}

impl Report {
    /// The offer with the most purchases in its basket histogram (the first by id at a tie), if
    /// any has one: the one report.md and report.html draw.
    pub fn busiest_baskets(&self) -> Option<&OfferRow> {
        let purchases = |o: &OfferRow| o.behaviour.baskets_around_min_spend.iter().map(|b| b.purchases).sum::<u64>();
        self.offers.iter().filter(|o| purchases(o) > 0).max_by_key(|o| (purchases(o), std::cmp::Reverse(&o.id)))
    }
}

const IMPRESSION_BUCKETS: [&str; 6] = ["1", "2", "3", "4", "5-9", "10+"];

fn behaviour_row(world: &World, k: usize, s: &offersim_sim::outcome::OfferStats) -> BehaviourRow {
    let min_spend = world.offers[k].min_spend;
    let until = world.effect_end(offersim_sim::world::OfferId(k as u32));
    let enrollments_by_impressions = IMPRESSION_BUCKETS
        .iter()
        .zip(s.enrollments_by_impressions)
        .map(|(&impressions, enrollments)| ImpressionBucket { impressions, enrollments })
        .collect();
    let baskets_around_min_spend = if min_spend.0 > 0 {
        (0..12u32)
            .zip(s.baskets_around_min_spend)
            .map(|(i, purchases)| BasketBin {
                from_percent: (i > 0).then_some(40 + 10 * i),
                to_percent: (i < 11).then_some(50 + 10 * i),
                purchases,
            })
            .collect()
    } else {
        Vec::new()
    };
    BehaviourRow {
        enrollments_by_impressions,
        baskets_around_min_spend,
        pull_forward_until: world.calendar.format(until),
        pull_forward_cut_by_period: world.behaviour.pull_forward > 0.0 && until > world.period_end(),
    }
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SurgeRow {
    pub name: String,
    pub start: String,
    pub end: String,
    pub multiplier: f64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DayRow {
    pub date: String,
    pub weekday: &'static str,
    pub purchases: u64,
    pub spend: Cents,
    pub credits: u64,
    pub rewards: Cents,
    pub clawbacks: u64,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct HourRow {
    /// Local start of the hour.
    pub hour: String,
    pub purchases: u64,
    pub spend: Cents,
    pub credits: u64,
    pub rewards: Cents,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct TimeToCredit {
    pub credits: usize,
    pub p50_seconds: Option<u64>,
    pub p90_seconds: Option<u64>,
    pub p99_seconds: Option<u64>,
    pub max_seconds: Option<u64>,
    pub p50: Option<String>,
    pub p90: Option<String>,
    pub p99: Option<String>,
    pub max: Option<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LedgerInfo {
    pub balanced: bool,
    pub entries: u64,
    pub merchant_funding: Cents,
    /// Reward liability by state at the end of the run.
    pub rewards_pending: Cents,
    pub rewards_confirmed: Cents,
    /// Statement credits paid to card accounts (net of clawbacks from them).
    pub cardholder_credits: Cents,
    pub platform_fees: Cents,
    /// Rewards taken back by refunds, by the state they were in.
    pub reversed: Reversals,
    /// Pending + confirmed + paid = rewards credited − clawed back.
    pub credits_match_rewards: bool,
    /// Merchant cost = net rewards + net platform fees.
    pub merchant_cost_matches: bool,
    /// No offer paid out more than its budget.
    pub within_budgets: bool,
}

fn rules_text(world: &World, o: &Offer) -> String {
    let mut r: Vec<String> = Vec::new();
    if let Some(n) = o.per_user_cap {
        r.push(format!("{n} per user"));
    }
    if let Some(n) = o.per_enrollment_limit {
        r.push(format!("{n} per enrollment"));
    }
    if let Some(m) = o.max_spend {
        r.push(format!("max spend {m}"));
    }
    if o.channel_mask != 0b111 {
        let names: Vec<&str> =
            Channel::ALL.iter().filter(|(_, c)| o.channel_mask & c.bit() != 0).map(|(n, _)| *n).collect();
        r.push(names.join("/"));
    }
    if o.scheme_mask != u32::MAX {
        r.push(format!("{} cards", world.scheme_names(o.scheme_mask).join("/")));
    }
    if !o.mids.is_empty() {
        let codes: Vec<&str> = o.mids.iter().map(|m| world.mids[m.0 as usize].code.as_str()).collect();
        r.push(format!("at {}", codes.join(", ")));
    }
    if let Some(w) = o.new_customer_window {
        r.push(format!("new customers ({} days)", w / 86_400));
    }
    if let Some(b) = o.period_budget {
        r.push(format!("{} per {} days", b.amount, b.period_secs / 86_400));
    }
    if o.overspend == Overspend::FinishLast {
        r.push("finish_last".into());
    }
    if o.priority != 0 {
        r.push(format!("priority {}", o.priority));
    }
    if o.stackable {
        r.push("stackable".into());
    }
    if o.return_period_secs > 0 {
        r.push(format!("{}-day return period", o.return_period_secs / 86_400));
    }
    r.join(" · ")
}

fn reward_text(r: &Reward) -> String {
    match r {
        Reward::Fixed(c) => format!("{c} fixed"),
        Reward::Percent { percent, cap: Some(cap) } => format!("{}% up to {cap}", percent.normalize()),
        Reward::Percent { percent, cap: None } => format!("{}%", percent.normalize()),
    }
}

/// ROI as the report shows it: `OfferStats::roi` (`outcome::metrics`) to the hundredth.
fn roi(stats: &OfferStats, margin: Decimal) -> Option<Decimal> {
    stats.roi(margin).map(|r| r.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven))
}

pub fn build(world: &World, out: &Outcome) -> Report {
    let cal = &world.calendar;
    let m = &out.money;
    let offers: Vec<OfferRow> = world
        .offers
        .iter()
        .zip(&out.offers)
        .enumerate()
        .map(|(k, (o, s))| {
            let merchant = &world.merchants[o.merchant.0 as usize];
            OfferRow {
                id: o.id.clone(),
                merchant: merchant.id.clone(),
                merchant_name: merchant.name.clone(),
                reward: reward_text(&o.reward),
                min_spend: o.min_spend,
                start: cal.format(o.start),
                end: cal.format(o.end),
                per_card_cap: o.per_card_cap,
                rules: rules_text(world, o),
                impressions: s.impressions,
                clicks: s.clicks,
                card_entries_abandoned: s.card_entries_abandoned,
                cards_added: s.cards_added,
                one_tap_enrollments: s.one_tap_enrollments,
                enrollments: s.enrollments,
                enrollments_ended_by_deletion: s.enrollments_ended_by_deletion,
                qualifying_transactions: s.qualifying_transactions,
                redemptions: s.redemptions,
                declined_per_card_cap: s.declined_per_card_cap,
                declined_per_user_cap: s.declined_per_user_cap,
                declined_enrollment_limit: s.declined_enrollment_limit,
                declined_budget: s.declined_budget,
                declined_period_budget: s.declined_period_budget,
                clawbacks: s.clawbacks,
                rewards_credited: s.rewards_credited,
                rewards_clawed_back: s.rewards_clawed_back,
                net_rewards: s.net_rewards(),
                platform_fees: s.net_fees(),
                merchant_cost: s.net_rewards() + s.net_fees(),
                budget: o.budget,
                budget_left: s.budget_left,
                budget_overspend: s.budget_overspend,
                period_overspend: s.period_overspend,
                budget_ran_out_at: s.budget_ran_out_at.map(|t| cal.format(t)),
                attributed_spend: s.attributed_spend,
                incremental_spend: s.incremental_spend,
                uplift_purchases_withdrawn: s.uplift_purchases_withdrawn,
                extra_visits: s.extra_visits,
                extra_visit_spend: s.extra_visit_spend,
                top_ups: s.top_ups,
                top_up_spend: s.top_up_spend,
                top_ups_withdrawn: s.top_ups_withdrawn,
                pulled_forward: s.pulled_forward,
                pulled_forward_spend: s.pulled_forward_spend,
                behaviour: behaviour_row(world, k, s),
                roi: roi(s, merchant.gross_margin),
                rewards_by_day: s.rewards_by_day.clone(),
                holdout: s.experiment.as_ref().map(|x| crate::lift::row(o.targeting.holdout, x)),
            }
        })
        .collect();
    let day_row = |(d, b): (usize, &Bucket)| DayRow {
        date: cal.format_date(d),
        weekday: offersim_sim::core::time::WEEKDAY_NAMES[cal.weekday(SimTime::from_days(d as u64)) as usize],
        purchases: b.purchases,
        spend: b.spend,
        credits: b.credits,
        rewards: b.rewards,
        clawbacks: b.clawbacks,
    };
    let ttc = |p: u32| out.time_to_credit_percentile(p);
    // Under `decline` no budget is ever exceeded; under `finish_last` only by the reported overspend.
    let within_budgets = world.offers.iter().zip(&out.offers).all(|(o, s)| {
        o.budget.is_none_or(|b| s.rewards_credited <= b + s.budget_overspend)
            && (o.overspend == Overspend::FinishLast
                || (s.budget_overspend == Cents::ZERO && s.period_overspend == Cents::ZERO))
    });
    let l = &out.ledger;
    Report {
        schema: SCHEMA,
        scenario: ScenarioInfo {
            name: world.name.clone(),
            description: world.description.clone(),
            seed: world.seed,
            period_start: cal.format(SimTime::ZERO),
            period_end: cal.format(world.period_end()),
            horizon_end: cal.format(world.horizon_end()),
            days: world.days,
            settle_days: world.settle_days,
            users: world.users,
            shards: world.shards,
            segments: world.segments.len(),
            merchants: world.merchants.len(),
            mids: world.mids.len(),
            offers: world.offers.len(),
            schemes: world.schemes.clone(),
        },
        rounding: "rewards and platform fees are rounded to the cent, half to even",
        funnel: out.funnel.clone(),
        network: Network {
            auths: out.feed.auths,
            clearings: out.feed.clearings,
            reversals: out.feed.reversals,
            refunds: out.feed.refunds,
            deliveries: out.feed.deliveries,
            received_by_platform: out.feed.received,
            duplicates_ignored: out.feed.duplicates_ignored,
            not_linked: out.feed.not_linked,
            unknown_mid: out.feed.unknown_mid,
            clearings_out_of_network_order: out.feed.clearings_out_of_network_order,
            after_horizon: out.feed.after_horizon,
        },
        faults: out.faults,
        correctness: out.correctness.clone(),
        attribution: crate::surfaces::build(world, out),
        thresholds: offersim_sim::outcome::thresholds::judge(&world.thresholds, out)
            .into_iter()
            .map(|v| ThresholdRow {
                metric: v.threshold.metric,
                condition: v.threshold.condition.clone(),
                actual: v.actual_text(),
                passed: v.passed,
            })
            .collect(),
        money: Money {
            spend: m.spend,
            refunded: m.refunded,
            rewards_credited: m.rewards_credited,
            rewards_clawed_back: m.rewards_clawed_back,
            net_rewards: m.rewards_credited - m.rewards_clawed_back,
            rewards_paid: m.rewards_paid,
            platform_fees: m.fees_charged - m.fees_refunded,
            merchant_cost: l.merchant_cost(),
        },
        offers,
        surges: world
            .surges
            .iter()
            .map(|s| SurgeRow {
                name: s.name.clone(),
                start: cal.format(s.start),
                end: cal.format(s.end),
                multiplier: s.multiplier,
            })
            .collect(),
        daily: out.daily.iter().enumerate().map(day_row).collect(),
        hourly: out
            .hourly
            .iter()
            .enumerate()
            .map(|(h, b)| HourRow {
                hour: cal.format(SimTime::from_hours(h as u64))[..13].to_string(),
                purchases: b.purchases,
                spend: b.spend,
                credits: b.credits,
                rewards: b.rewards,
            })
            .collect(),
        time_to_credit: TimeToCredit {
            credits: out.time_to_credit.len(),
            p50_seconds: ttc(50),
            p90_seconds: ttc(90),
            p99_seconds: ttc(99),
            max_seconds: ttc(100),
            p50: ttc(50).map(format_duration),
            p90: ttc(90).map(format_duration),
            p99: ttc(99).map(format_duration),
            max: ttc(100).map(format_duration),
        },
        ledger: LedgerInfo {
            balanced: l.is_balanced(),
            entries: l.entries(),
            merchant_funding: -l.merchant_cost(),
            rewards_pending: l.balance(Account::RewardsPending),
            rewards_confirmed: l.balance(Account::RewardsConfirmed),
            cardholder_credits: l.balance(Account::CardholderCredits),
            platform_fees: l.balance(Account::PlatformFees),
            reversed: out.reversals,
            credits_match_rewards: l.balance(Account::RewardsPending)
                + l.balance(Account::RewardsConfirmed)
                + l.balance(Account::CardholderCredits)
                == m.rewards_credited - m.rewards_clawed_back,
            merchant_cost_matches: l.merchant_cost()
                == (m.rewards_credited - m.rewards_clawed_back) + (m.fees_charged - m.fees_refunded),
            within_budgets,
        },
    }
}
