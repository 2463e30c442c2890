//! `report.md`: the report for people. Everything here is derived from the JSON report, so the
//! two never disagree.

use crate::json::{OfferRow, Report};
use crate::numbers::{count, usd};
use offersim_sim::truth::Policy;
use offersim_sim::Cents;
use std::fmt::Write;

/// At most this many offers are listed one per row; the rest are summed in a final row.
const MAX_OFFER_ROWS: usize = 60;
const BAR_WIDTH: u64 = 40;

fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        "–".to_string()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / d as f64)
    }
}

fn bar(v: u64, max: u64) -> String {
    if max == 0 {
        return String::new();
    }
    "█".repeat(((v * BAR_WIDTH).div_ceil(max)) as usize)
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("–".to_string(), |x| x.to_string())
}

pub fn render(r: &Report) -> String {
    let mut s = String::new();
    let sc = &r.scenario;
    let _ = writeln!(s, "# offersim report: {}\n", sc.name);
    if !sc.description.is_empty() {
        for line in sc.description.lines() {
            let _ = writeln!(s, "> {line}");
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Seed **{}** · activity {} → {} ({} days, then {} days of settlement to {}) · {} users in {} segments · {} merchants ({} MIDs) · {} offers · schemes: {}.\n",
        sc.seed, sc.period_start, sc.period_end, sc.days, sc.settle_days, sc.horizon_end, sc.users, sc.segments, sc.merchants, sc.mids, sc.offers, sc.schemes.join(", ")
    );
    if sc.shards > 1 {
        let _ = writeln!(
            s,
            "Run in **{} shards** of consecutive users, each with an equal share of every budget (a budget can run out in one shard while another has some left).\n",
            sc.shards
        );
    }
    headline(&mut s, r);
    thresholds(&mut s, r);
    funnel(&mut s, r);
    network(&mut s, r);
    correctness(&mut s, r);
    money(&mut s, r);
    days(&mut s, r);
    offers(&mut s, r);
    behaviour(&mut s, r);
    crate::surfaces::markdown(&mut s, &r.attribution);
    holdout(&mut s, r);
    budget_burn(&mut s, r);
    timing(&mut s, r);
    ledger(&mut s, r);
    s
}

fn headline(s: &mut String, r: &Report) {
    let m = &r.money;
    let f = &r.funnel;
    let _ = writeln!(s, "## Summary\n");
    let _ = writeln!(s, "| | |\n|---|---:|");
    let _ = writeln!(s, "| Purchases | {} |", count(f.purchases));
    let _ = writeln!(s, "| Spend | {} |", usd(m.spend));
    let _ = writeln!(s, "| Enrollments | {} |", count(f.enrollments));
    let _ = writeln!(s, "| Rewards granted (cashback) | {} |", count(f.credits));
    let _ = writeln!(s, "| Rewards, net of clawbacks | {} |", usd(m.net_rewards));
    let _ = writeln!(s, "| Merchant cost (rewards + platform fees) | {} |", usd(m.merchant_cost));
    let _ = writeln!(s, "| Ledger balanced | {} |\n", if r.ledger.balanced { "yes" } else { "**NO**" });
}

fn thresholds(s: &mut String, r: &Report) {
    if r.thresholds.is_empty() {
        return;
    }
    let failed = r.thresholds.iter().filter(|t| !t.passed).count();
    let _ = writeln!(s, "## Thresholds\n");
    if failed == 0 {
        let _ = writeln!(s, "Every threshold of the scenario holds.\n");
    } else {
        let _ = writeln!(s, "**{failed} of {} thresholds failed.**\n", r.thresholds.len());
    }
    let _ = writeln!(s, "| Metric | Condition | Actual | |\n|---|---|---:|---|");
    for t in &r.thresholds {
        let verdict = if t.passed { "pass" } else { "**FAIL**" };
        let _ = writeln!(s, "| {} | {} | {} | {verdict} |", t.metric, t.condition, t.actual);
    }
    let _ = writeln!(s);
}

fn funnel(s: &mut String, r: &Report) {
    let f = &r.funnel;
    let _ = writeln!(s, "## Funnel\n");
    let _ = writeln!(s, "| Step | Count | From previous step |\n|---|---:|---:|");
    let rows = [
        ("Impressions", f.impressions, None),
        ("\"Get offer\" clicks", f.clicks, Some(f.impressions)),
        ("Cards added (first card entry)", f.cards_added, Some(f.clicks)),
        ("Enrollments (incl. one-tap)", f.enrollments, Some(f.clicks)),
        ("Qualifying transactions", f.qualifying_transactions, None),
        ("Credits", f.credits, Some(f.qualifying_transactions)),
        ("Clawbacks (refunds of credited purchases)", f.clawbacks, Some(f.credits)),
    ];
    for (name, n, from) in rows {
        let _ = writeln!(s, "| {name} | {} | {} |", count(n), from.map_or(String::new(), |d| pct(n, d)));
    }
    let _ = writeln!(
        s,
        "\nCard entries abandoned: {} · one-tap enrollments: {} · card deletions: {} (ending {} enrollments).\n",
        count(f.card_entries_abandoned),
        count(f.one_tap_enrollments),
        count(f.card_deletions),
        count(f.enrollments_ended_by_deletion),
    );
    let declines = [
        ("the per-card cap", f.declined_per_card_cap),
        ("the per-user cap", f.declined_per_user_cap),
        ("the limit per enrollment", f.declined_enrollment_limit),
        ("the budget", f.declined_budget),
        ("the budget of the period", f.declined_period_budget),
    ];
    let parts: Vec<String> =
        declines.iter().filter(|(_, n)| *n > 0).map(|(why, n)| format!("{} for {why}", count(*n))).collect();
    if !parts.is_empty() {
        let _ = writeln!(s, "Qualifying transactions declined: {}.\n", parts.join(" · "));
    }
}

fn network(s: &mut String, r: &Report) {
    let n = &r.network;
    let _ = writeln!(s, "## Card network\n");
    let _ = writeln!(
        s,
        "{} authorizations, {} clearings, {} reversals, {} refunds emitted; {} deliveries, of which {} reached the platform (the feed covers linked cards), {} repeats were recognised and ignored, {} were about cards not linked, {} would arrive after the horizon.\n",
        count(n.auths),
        count(n.clearings),
        count(n.reversals),
        count(n.refunds),
        count(n.deliveries),
        count(n.received_by_platform),
        count(n.duplicates_ignored),
        count(n.not_linked),
        count(n.after_horizon)
    );
    if n.clearings_out_of_network_order > 0 {
        let _ = writeln!(
            s,
            "{} clearings arrived after a clearing the network stamped later (budgets and caps go by order of receipt).\n",
            count(n.clearings_out_of_network_order)
        );
    }
    let f = &r.faults;
    let rows = [
        ("Repeated deliveries (at-least-once)", f.duplicate_deliveries),
        ("Clearings without an authorization", f.clearings_without_auth),
        ("Authorizations delivered after their clearing", f.auths_after_clearing),
        ("Clearing amount different from the authorization", f.clearing_amount_changed),
        ("Purchases under an unknown terminal id (MID)", f.unknown_mid_purchases),
        ("Clearings submitted late by the merchant", f.late_submissions),
        ("Messages held by an outage, delivered in its backlog", f.held_by_outage),
        ("Partial refunds", f.partial_refunds),
        ("Refunds without a reference to the original", f.unreferenced_refunds),
    ];
    let _ = writeln!(s, "| Fault injected | Count |\n|---|---:|");
    for (name, v) in rows {
        let _ = writeln!(s, "| {name} | {} |", count(v));
    }
    s.push('\n');
}

fn correctness(s: &mut String, r: &Report) {
    let c = &r.correctness;
    let _ = writeln!(s, "## Correctness: pipeline against ground truth\n");
    let _ = writeln!(
        s,
        "The simulator knows which purchases should earn which reward (a clean copy of the feed, judged by the same offer terms). Every purchase where the pipeline differs is counted below; a documented policy explains some (scenarios/README.md, \"Policies\").\n"
    );
    let _ = writeln!(s, "| | Purchases |\n|---|---:|");
    let _ = writeln!(s, "| Should earn a reward | {} |", count(c.expected_credits));
    let _ = writeln!(s, "| Credited correctly | {} |", count(c.correct_credits));
    for (name, v) in [
        ("Missed credits", c.missed_credits),
        ("False credits", c.false_credits),
        ("Double credits", c.double_credits),
        ("Wrong offer or amount", c.wrong_amounts),
        ("Wrong reversal after a refund", c.wrong_reversals),
    ] {
        let shown = if v == 0 { "0".to_string() } else { format!("**{}**", count(v)) };
        let _ = writeln!(s, "| {name} | {shown} |");
    }
    if c.unknown_mid_excluded > 0 {
        let _ = writeln!(
            s,
            "| Met an offer's terms at an unregistered terminal (policy `unknown_mid`: not credited) | {} |",
            count(c.unknown_mid_excluded)
        );
    }
    for (policy, v) in &c.explained {
        let _ = writeln!(s, "| Explained by policy `{}` | {} |", policy_name(*policy), count(*v));
    }
    let verdict = if c.unexplained() == 0 {
        "**Every qualifying purchase was credited exactly once, and nothing else was** (apart from the policy cases listed)."
    } else {
        "**The pipeline differs from the ground truth**: see the examples below."
    };
    let _ =
        writeln!(s, "\n{verdict} Rewards owed at the end according to the truth: {}.\n", usd(c.expected_net_rewards));
    if !c.examples.is_empty() {
        let _ = writeln!(s, "| Purchase | Discrepancy | Policy | Truth | Pipeline |\n|---|---|---|---:|---:|");
        for d in &c.examples {
            let policy = d.policy.map_or("—".to_string(), |p| format!("`{}`", policy_name(p)));
            let _ =
                writeln!(s, "| {} | {} | {} | {} | {} |", d.purchase, d.kind, policy, usd(d.expected), usd(d.credited));
        }
        s.push('\n');
    }
}

fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::UnreferencedRefund => "unreferenced_refund",
    }
}

fn money(s: &mut String, r: &Report) {
    let m = &r.money;
    let _ = writeln!(s, "## Money\n");
    let _ = writeln!(s, "| | Amount |\n|---|---:|");
    for (k, v) in [
        ("Spend", m.spend),
        ("Refunded to shoppers", m.refunded),
        ("Rewards credited", m.rewards_credited),
        ("Rewards clawed back", m.rewards_clawed_back),
        ("Net rewards", m.net_rewards),
        ("Statement credits paid", m.rewards_paid),
        ("Platform fees (net)", m.platform_fees),
        ("Merchant cost", m.merchant_cost),
    ] {
        let _ = writeln!(s, "| {k} | {} |", usd(v));
    }
    let _ = writeln!(s, "\n{}.\n", capitalise(r.rounding));
}

fn capitalise(t: &str) -> String {
    let mut c = t.chars();
    c.next().map_or(String::new(), |f| f.to_uppercase().collect::<String>() + c.as_str())
}

fn days(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## Day by day\n");
    if !r.surges.is_empty() {
        for g in &r.surges {
            let _ = writeln!(s, "- Surge **{}**: ×{} from {} to {}", g.name, g.multiplier, g.start, g.end);
        }
        s.push('\n');
    }
    let max = r.daily.iter().take(r.scenario.days as usize).map(|d| d.purchases).max().unwrap_or(0);
    let _ = writeln!(s, "| Date | Day | Purchases | Spend | Credits | Rewards | Clawbacks | Purchases |\n|---|---|---:|---:|---:|---:|---:|---|");
    let last_active = r.daily.iter().rposition(|d| d.purchases + d.credits + d.clawbacks > 0).unwrap_or(0);
    for d in r.daily.iter().take(last_active.max(r.scenario.days as usize - 1) + 1) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            d.date,
            d.weekday,
            count(d.purchases),
            usd(d.spend),
            count(d.credits),
            usd(d.rewards),
            count(d.clawbacks),
            bar(d.purchases, max)
        );
    }
    if let Some(peak) = r.hourly.iter().max_by_key(|h| h.purchases) {
        let _ = writeln!(
            s,
            "\nBusiest hour: {}:00 with {} purchases ({}).\n",
            peak.hour,
            count(peak.purchases),
            usd(peak.spend)
        );
    }
}

fn holdout(s: &mut String, r: &Report) {
    let rows: Vec<(&OfferRow, &crate::lift::LiftRow)> =
        r.offers.iter().filter_map(|o| o.holdout.as_ref().map(|h| (o, h))).collect();
    if rows.is_empty() {
        return;
    }
    let ci = |i: &crate::lift::Interval| match &i.ci95 {
        Some([lo, hi]) => format!("{} [{lo}, {hi}]", i.estimate),
        None => i.estimate.clone(),
    };
    let _ = writeln!(s, "## Incrementality: holdout against exposed\n");
    let _ = writeln!(
        s,
        "A random share of each offer's targeted audience was never shown it. Per person, spend at the merchant during the offer; incremental spend = (exposed mean − held-out mean) × exposed people, with a 95% interval; lift relative to the held-out mean (delta method). The naive lift compares enrolled with not enrolled exposed people: enrolling is not random, so it overstates the effect. The simulator's own truth (the purchases its uplift model added) is beside the estimate.\n"
    );
    let _ = writeln!(s, "| Offer | Held out | Exposed / held-out people | Spend per person (exposed / held out) | Incremental spend [95% CI] | True incremental spend | Lift % [95% CI] | Naive lift % |\n|---|---:|---:|---:|---:|---:|---:|---:|");
    for (o, h) in rows {
        let _ = writeln!(
            s,
            "| {} | {:.0}% | {} / {} | {} / {} | {} | {} | {} | {} |",
            o.id,
            h.holdout_share * 100.0,
            count(h.exposed_users),
            count(h.held_out_users),
            h.spend_per_exposed_user,
            h.spend_per_held_out_user,
            ci(&h.incremental_spend),
            o.incremental_spend,
            ci(&h.lift_percent),
            h.naive_lift_percent.as_deref().unwrap_or("n/a")
        );
    }
    let _ = writeln!(s);
}

fn offers(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## Offers\n");
    let _ = writeln!(s, "ROI = (incremental spend × the merchant's gross margin − merchant cost) ÷ merchant cost; incremental spend is the spend that exists only because users were enrolled (known exactly in simulation).\n");
    let _ = writeln!(s, "| Offer | Merchant | Reward | Min spend | Rules | Enrollments | Redemptions | Net rewards | Budget left | Budget ran out | Attributed spend | Incremental spend | ROI |\n|---|---|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|");
    let mut rows: Vec<&OfferRow> = r.offers.iter().collect();
    if rows.len() > MAX_OFFER_ROWS {
        rows.sort_by(|a, b| b.net_rewards.cmp(&a.net_rewards).then(a.id.cmp(&b.id)));
    }
    for o in rows.iter().take(MAX_OFFER_ROWS) {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            o.id,
            o.merchant_name,
            o.reward,
            usd(o.min_spend),
            o.rules,
            count(o.enrollments),
            count(o.redemptions),
            usd(o.net_rewards),
            o.budget_left.map_or("unlimited".to_string(), usd),
            opt(&o.budget_ran_out_at),
            usd(o.attributed_spend),
            usd(o.incremental_spend),
            opt(&o.roi)
        );
    }
    if rows.len() > MAX_OFFER_ROWS {
        let rest = &rows[MAX_OFFER_ROWS..];
        let net: Cents = rest.iter().map(|o| o.net_rewards).sum();
        let _ = writeln!(
            s,
            "| … {} more offers | | | | | {} | {} | {} | | | | | |",
            rest.len(),
            count(rest.iter().map(|o| o.enrollments).sum::<u64>()),
            count(rest.iter().map(|o| o.redemptions).sum::<u64>()),
            usd(net)
        );
    }
    s.push('\n');
}

/// At most this many offers appear in the budget-burn table (those that ran out first).
const MAX_BURN_ROWS: usize = 20;

/// Share of each budgeted offer's budget spent by the end of each activity day.
/// How people responded to the offers' terms: take-up by impression, where the incremental
/// spend came from, and the baskets around the minimum spend of the busiest offer.
fn behaviour(s: &mut String, r: &Report) {
    if r.offers.iter().all(|o| o.enrollments == 0) {
        return;
    }
    let _ = writeln!(
        s,
        "## Behaviour
"
    );
    let _ = writeln!(s, "How people responded to each offer's terms (scenarios/README.md, \"Behaviour\"): the impression of the offer their enrollment came at, and the incremental spend split into extra visits, top-ups to the minimum spend, and the visits after the offer that extra visits took the place of (pulled forward; before reversals and refunds).\n");
    let _ = writeln!(s, "| Offer | Enrollments | At the 1st impression | 2nd–4th | 5th or later | Extra visits | Extra-visit spend | Top-ups | Top-up spend | Pulled forward | Pulled-forward spend |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut rows: Vec<&OfferRow> = r.offers.iter().filter(|o| o.enrollments > 0).collect();
    if rows.len() > MAX_OFFER_ROWS {
        rows.sort_by(|a, b| b.enrollments.cmp(&a.enrollments).then(a.id.cmp(&b.id)));
    }
    for o in rows.iter().take(MAX_OFFER_ROWS) {
        let [first, second_to_fourth, later] = o.behaviour.take_up();
        let known = first + second_to_fourth + later;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | −{} |",
            o.id,
            count(o.enrollments),
            pct(first, known),
            pct(second_to_fourth, known),
            pct(later, known),
            count(o.extra_visits),
            usd(o.extra_visit_spend),
            count(o.top_ups),
            usd(o.top_up_spend),
            count(o.pulled_forward),
            usd(o.pulled_forward_spend)
        );
    }
    if rows.len() > MAX_OFFER_ROWS {
        let _ = writeln!(s, "| … {} more offers | | | | | | | | | | |", rows.len() - MAX_OFFER_ROWS);
    }
    s.push('\n');
    let cut = r.offers.iter().filter(|o| o.enrollments > 0 && o.behaviour.pull_forward_cut_by_period).count();
    if cut > 0 {
        let _ = writeln!(s, "For {cut} of these offers the activity period ends before the days after the offer that visits can be pulled forward from (`pull_forward_days`): visits pulled from beyond {} are not seen, so their incremental spend does not net those visits out. Run the scenario longer to see the whole dip.\n", r.scenario.period_end);
    }
    let Some(o) = r.busiest_baskets() else {
        return;
    };
    let _ = writeln!(s, "Baskets on enrolled cards at {} during {} (minimum spend {}), as a share of the minimum; top-ups land at 100–110%:\n", o.merchant_name, o.id, usd(o.min_spend));
    let _ = writeln!(s, "| Basket | Purchases | |\n|---|---:|---|");
    let bins = &o.behaviour.baskets_around_min_spend;
    let max = bins.iter().map(|b| b.purchases).max().unwrap_or(0);
    for b in bins {
        let label = b.label();
        let _ = writeln!(s, "| {label} | {} | {} |", count(b.purchases), bar(b.purchases, max));
    }
    s.push('\n');
}

fn budget_burn(s: &mut String, r: &Report) {
    let mut rows: Vec<(&OfferRow, Cents)> = r.offers.iter().filter_map(|o| o.budget.map(|b| (o, b))).collect();
    if rows.is_empty() {
        return;
    }
    // Offers that ran out first, then by share spent.
    rows.sort_by(|(a, ab), (b, bb)| {
        let used = |o: &OfferRow, budget: Cents| (o.rewards_credited.0 as i128 * 10_000) / budget.0.max(1) as i128;
        (a.budget_ran_out_at.is_none(), &a.budget_ran_out_at, std::cmp::Reverse(used(a, *ab)), &a.id).cmp(&(
            b.budget_ran_out_at.is_none(),
            &b.budget_ran_out_at,
            std::cmp::Reverse(used(b, *bb)),
            &b.id,
        ))
    });
    let days = r.scenario.days as usize;
    let _ = writeln!(s, "## Budget burn\n");
    let _ = writeln!(s, "Share of each budget spent by the end of each day (rewards credited, before clawbacks; clawbacks do not give budget back).\n");
    let mut header = String::from("| Offer | Budget |");
    let mut rule = String::from("|---|---:|");
    for d in r.daily.iter().take(days) {
        header += &format!(" {} {} |", d.weekday, &d.date[8..]);
        rule += "---:|";
    }
    let _ = writeln!(s, "{header} End | Ran out |\n{rule}---:|---|");
    for (o, budget) in rows.iter().take(MAX_BURN_ROWS) {
        let mut line = format!("| {} | {} |", o.id, usd(*budget));
        let mut spent = Cents::ZERO;
        for d in o.rewards_by_day.iter().take(days) {
            spent += *d;
            line += &format!(" {} |", pct(spent.0 as u64, budget.0 as u64));
        }
        let _ = writeln!(
            s,
            "{line} {} | {} |",
            pct(o.rewards_credited.0 as u64, budget.0 as u64),
            opt(&o.budget_ran_out_at)
        );
    }
    if rows.len() > MAX_BURN_ROWS {
        let _ = writeln!(s, "\n… and {} more budgeted offers (all in report.json).", rows.len() - MAX_BURN_ROWS);
    }
    s.push('\n');
}

fn timing(s: &mut String, r: &Report) {
    let t = &r.time_to_credit;
    let _ = writeln!(s, "## Time to credit\n");
    let _ = writeln!(
        s,
        "From purchase to statement credit (simulated time), over {} credits: p50 {}, p90 {}, p99 {}, max {}.\n",
        count(t.credits as u64),
        opt(&t.p50),
        opt(&t.p90),
        opt(&t.p99),
        opt(&t.max)
    );
}

fn ledger(s: &mut String, r: &Report) {
    let l = &r.ledger;
    let yes = |b: bool| if b { "yes" } else { "**NO**" };
    let _ = writeln!(s, "## Ledger\n");
    let _ = writeln!(s, "| Account | Balance |\n|---|---:|");
    let _ = writeln!(s, "| Merchant funding | {} |", usd(l.merchant_funding));
    let _ = writeln!(s, "| Rewards pending (in their return period) | {} |", usd(l.rewards_pending));
    let _ = writeln!(s, "| Rewards confirmed (statement credit not yet paid) | {} |", usd(l.rewards_confirmed));
    let _ = writeln!(s, "| Cardholder credits (paid) | {} |", usd(l.cardholder_credits));
    let _ = writeln!(s, "| Platform fees | {} |", usd(l.platform_fees));
    let _ = writeln!(
        s,
        "\nReversed by refunds: {} while pending, {} once confirmed, {} after payment ({} debits on card accounts).\n",
        usd(l.reversed.pending),
        usd(l.reversed.confirmed),
        usd(l.reversed.paid),
        count(l.reversed.clawbacks_from_cardholders)
    );
    let _ = writeln!(
        s,
        "{} journal entries. Balanced: {} · pending + confirmed + paid equal net rewards: {} · merchant cost equals net rewards + fees: {} · every offer within budget: {}.",
        count(l.entries),
        yes(l.balanced),
        yes(l.credits_match_rewards),
        yes(l.merchant_cost_matches),
        yes(l.within_budgets)
    );
}
