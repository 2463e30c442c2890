//! `build`: a scenario file validated and resolved into a `World` (segments, profiles,
//! merchants and their MIDs, surges, attribution, behaviour); offers in `build_offers.rs`.
//! Every problem found is reported, each at a path into the file.

use super::check::*;
use super::config::*;
use super::limits::*;
use super::*;
use crate::core::time::{Calendar, SimTime, SECONDS_PER_DAY, SECONDS_PER_HOUR};
use chrono::Datelike;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

use super::build_offers::*;
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

    let hashtags = collect_hashtags(&mut pr, cfg);
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
    let tables =
        super::Tables::new(&segments, &offers, &merchants, &mids, &behaviour, (period_end, &surges), meta.seed);
    Ok(World {
        tables,
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
        utc_offset_secs: i64::from(cfg.scenario.utc_offset.0),
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

/// The scenario's distinct hashtags, sorted: segments', offers' (and offer groups' templates')
/// and shop surfaces' targeting. Past `MAX_HASHTAGS`, a problem where the first one too many
/// appears.
fn collect_hashtags<N>(pr: &mut Problems, cfg: &ScenarioConfig<N>) -> Vec<String> {
    let segments =
        cfg.segments.iter().map(|(id, s)| (path(&["segments", id, "hashtags"]), s.hashtags.keys().collect()));
    let offers =
        cfg.offers.0.iter().map(|(id, o)| (path(&["offers", id, "targeting", "hashtags"]), &o.targeting.hashtags));
    let groups = cfg.offer_groups.iter().enumerate().map(|(i, g)| {
        let at =
            with_key(with_key(with_key(with_index(path(&["offer_groups"]), i), "template"), "targeting"), "hashtags");
        (at, &g.template.targeting.hashtags)
    });
    let carousels = cfg
        .carousels
        .0
        .iter()
        .map(|(id, c)| (path(&["carousels", id, "targeting", "hashtags"]), &c.targeting.hashtags));
    let buttons = cfg
        .buy_buttons
        .0
        .iter()
        .map(|(id, b)| (path(&["buy_buttons", id, "targeting", "hashtags"]), &b.targeting.hashtags));
    let listed =
        offers.chain(groups).chain(carousels).chain(buttons).map(|(at, tags)| (at, tags.iter().flatten().collect()));
    let mut all: BTreeSet<&String> = BTreeSet::new();
    for (at, tags) in segments.chain(listed) {
        let tags: Vec<&String> = tags;
        all.extend(tags);
        if all.len() > MAX_HASHTAGS {
            pr.push(at, format!("at most {MAX_HASHTAGS} distinct hashtags in a scenario (segments', offers' and shop surfaces' together)"));
            break;
        }
    }
    all.into_iter().cloned().collect()
}

pub(super) fn build_segments<N>(
    pr: &mut Problems,
    cfg: &ScenarioConfig<N>,
    schemes: &[String],
    tag_index: &dyn Fn(&str) -> Option<u32>,
) -> Vec<Segment> {
    if cfg.segments.is_empty() {
        pr.push(path(&["segments"]), "define at least one segment, e.g. [segments.everyone]");
    }
    if cfg.segments.len() > MAX_SEGMENTS {
        pr.push(path(&["segments"]), format!("at most {MAX_SEGMENTS} segments, found {}", cfg.segments.len()));
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

pub(super) fn build_profiles<N>(pr: &mut Problems, cfg: &ScenarioConfig<N>) -> BTreeMap<String, [f64; 24]> {
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
pub(super) type MerchantBuild = (Vec<Merchant>, Vec<Mid>, BTreeMap<String, Vec<MerchantId>>);

pub(super) fn build_merchants<N>(
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

pub(super) fn merchant(
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
        local_offset_secs: local_offset,
    }
}

pub(super) fn build_surges<N>(
    pr: &mut Problems,
    cfg: &ScenarioConfig<N>,
    cal: &Calendar,
    period_end: SimTime,
) -> Vec<Surge> {
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
pub(super) fn check_combined_surges(pr: &mut Problems, surges: &[Surge], cal: &Calendar, period_end: SimTime) {
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

pub(super) fn build_attribution(
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
    Attribution { rule, window_secs: a.window_days.clamp(1, MAX_ATTRIBUTION_DAYS) as u64 * SECONDS_PER_DAY }
}

pub(super) fn build_behaviour(
    pr: &mut Problems,
    c: &crate::world::config::BehaviourConfig,
) -> crate::world::behaviour::Behaviour {
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
