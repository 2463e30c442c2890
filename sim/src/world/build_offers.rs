//! Offers validated and resolved: window, reward, limits, budgets, targeting, rules, sharing
//! and hashtag sync.

use super::check::*;
use super::config::*;
use super::limits::*;
use super::*;
use crate::core::money::Cents;
use crate::core::time::{Calendar, SimTime, SECONDS_PER_DAY, WEEKDAY_NAMES};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// What building an offer needs to know about the rest of the world.
pub(super) struct OfferCtx<'a> {
    pub(super) cal: &'a Calendar,
    pub(super) period_end: SimTime,
    pub(super) merchants: &'a [Merchant],
    pub(super) mids: &'a [Mid],
    pub(super) segments: &'a [Segment],
    pub(super) schemes: &'a [String],
    pub(super) tag_index: &'a dyn Fn(&str) -> Option<u32>,
    /// Budgets are split between this many shards.
    pub(super) shards: u32,
    pub(super) users: u64,
}

pub(super) fn build_offers<N>(
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

pub(super) fn offer(
    pr: &mut Problems,
    base: Vec<PathSeg>,
    id: String,
    merchant: MerchantId,
    o: &OfferConfig,
    ctx: &OfferCtx<'_>,
) -> Offer {
    let OfferCtx { cal, period_end, .. } = *ctx;
    let ctx_users = ctx.users;
    let p = |k: &str| with_key(base.clone(), k);
    // The offer's date-times are the merchant's local ones.
    let local_offset = ctx.merchants.get(merchant.0 as usize).map_or(0, |m| m.local_offset_secs);
    let reward = offer_reward(pr, &p, o);
    let min_spend = money(pr, p("min_spend"), o.min_spend, true);
    let (start, end) = offer_window(pr, &p, o, cal, period_end, local_offset);
    let days_mask = offer_days(pr, &p, o);
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
    check_budget_shares(pr, &p, reward, budget, &rules, ctx.shards);
    if o.platform_fee_percent.0 < Decimal::ZERO || o.platform_fee_percent.0 > Decimal::ONE_HUNDRED {
        pr.push(p("platform_fee_percent"), format!("must be between 0 and 100, found {}", o.platform_fee_percent.0));
    }
    check_range(pr, p("uplift"), o.uplift, 0.0, 10.0);
    let targeting = offer_targeting(pr, &p, o, ctx, local_offset, (start, end));
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
        return_period_secs: o.return_period_days as u64 * SECONDS_PER_DAY,
        payout_delay_secs: o.payout_delay_days as u64 * SECONDS_PER_DAY,
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
        local_offset_secs: local_offset,
        fee_percent: o.platform_fee_percent.0,
        uplift: o.uplift,
        targeting,
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

/// The offer's reward: fixed, or a percent with an optional cap.
fn offer_reward(pr: &mut Problems, p: &dyn Fn(&str) -> Vec<PathSeg>, o: &OfferConfig) -> Reward {
    match (&o.reward.fixed, &o.reward.percent, &o.reward.cap) {
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
    }
}

/// The offer's window in scenario time, from its dates in the merchant's local time.
fn offer_window(
    pr: &mut Problems,
    p: &dyn Fn(&str) -> Vec<PathSeg>,
    o: &OfferConfig,
    cal: &Calendar,
    period_end: SimTime,
    local_offset: i64,
) -> (SimTime, SimTime) {
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
    (start, end)
}

/// The weekdays the offer pays on, one bit each (Monday first).
fn offer_days(pr: &mut Problems, p: &dyn Fn(&str) -> Vec<PathSeg>, o: &OfferConfig) -> u8 {
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
    days_mask
}

/// Sharded runs split budgets (`World::shard_world`): a share smaller than one reward would
/// silently pay nothing (or overspend in every shard).
fn check_budget_shares(
    pr: &mut Problems,
    p: &dyn Fn(&str) -> Vec<PathSeg>,
    reward: Reward,
    budget: Option<Cents>,
    rules: &Rules,
    shards: u32,
) {
    let largest_reward = match reward {
        Reward::Fixed(c) => Some(c),
        Reward::Percent { cap: Some(c), .. } => Some(c),
        Reward::Percent { percent, cap: None } => {
            rules.max_spend.map(|m| Cents::from_decimal_half_even(m.to_decimal() * percent / Decimal::ONE_HUNDRED))
        }
    };
    let shards = shards.max(1) as i64;
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
}

/// Whom the offer targets and when they see it: segments, hashtags, hours, bursts, holdout.
fn offer_targeting(
    pr: &mut Problems,
    p: &dyn Fn(&str) -> Vec<PathSeg>,
    o: &OfferConfig,
    ctx: &OfferCtx<'_>,
    local_offset: i64,
    (offer_start, offer_end): (SimTime, SimTime),
) -> Targeting {
    let OfferCtx { cal, period_end, segments, tag_index, .. } = *ctx;
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
    Targeting {
        segments: seg_ids,
        hashtags: tags,
        hours: exposure_hours,
        impressions_per_day: t.impressions_per_day,
        holdout: t.holdout,
        bursts,
    }
}

/// The offer rules beyond window and reward, validated.
pub(super) struct Rules {
    max_spend: Option<Cents>,
    channel_mask: u8,
    scheme_mask: u32,
    mids: Vec<MidId>,
    period_budget: Option<PeriodBudget>,
}

pub(super) fn offer_rules(
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
        PeriodBudget { amount, period_secs: b.days.max(1) as u64 * SECONDS_PER_DAY }
    });
    if !(-MAX_PRIORITY..=MAX_PRIORITY).contains(&o.priority) {
        pr.push(p("priority"), format!("must be between -{MAX_PRIORITY} and {MAX_PRIORITY}, found {}", o.priority));
    }
    Rules { max_spend, channel_mask, scheme_mask, mids, period_budget }
}
