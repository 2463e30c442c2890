//! The drive's oracle never calls a correct service wrong, whatever order its requests arrived
//! in (each person's in order), and still catches the faults of a wrong one.
//!
//! A correct service here is the reference platform itself (`platform::service::Live`, what
//! `offersim serve` runs), fed the plan's requests in another order (`drive::replay`): its
//! credits, listed as `GET /v1/credits` lists them, are what a correct service answers.

mod common;

use common::scenario;
use offersim::{load_file, load_str, Overrides};
use offersim_live::contract::{money, transaction_id, CreditBody};
use offersim_live::drive::oracle::{judge, Verdict};
use offersim_live::drive::plan::{plan, Call, Plan, Step};
use offersim_live::drive::replay::{Replay, Users};
use offersim_sim::truth::{CreditKey, Granted};
use offersim_sim::world::network::MessageKind;
use offersim_sim::world::{OfferId, Reward};
use offersim_sim::World;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The plan's steps in another arrival order that keeps each person's in order: each step late
/// by a random number of places below `lag` (concurrent lanes), or with `lag == 0` in an order
/// drawn at random (any interleaving of the people).
fn arrival_order(steps: &[Step], seed: u64, lag: u64) -> Vec<Step> {
    let mut state = seed;
    let mut last: BTreeMap<u32, u64> = BTreeMap::new();
    let mut keyed: Vec<(u64, usize)> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let r = splitmix(&mut state);
            let key = if lag == 0 { r >> 1 } else { i as u64 + r % lag };
            // Never before the same person's previous step (a stable sort keeps ties in order).
            let key = key.max(last.get(&s.user).copied().unwrap_or(0));
            last.insert(s.user, key);
            (key, i)
        })
        .collect();
    keyed.sort_by_key(|&(k, _)| k);
    keyed.into_iter().map(|(_, i)| steps[i]).collect()
}

/// What a correct service lists after receiving `steps` in that order.
fn served(world: &World, steps: &[Step]) -> Vec<CreditBody> {
    let mut r = Replay::new(world, Users::of(steps), None);
    for s in steps {
        r.step(s);
    }
    r.credits()
}

fn body(w: &World, k: &CreditKey, g: &Granted) -> CreditBody {
    CreditBody {
        transaction: transaction_id(k.0.user, k.0.seq),
        offer: w.offers[k.1 .0 as usize].id.clone(),
        reward: money(g.reward),
        fee: money(g.fee),
        state: "pending".into(),
        reversed: money(g.reward - g.net_reward),
    }
}

fn is(c: &CreditBody, k: &CreditKey, w: &World) -> bool {
    c.transaction == transaction_id(k.0.user, k.0.seq) && c.offer == w.offers[k.1 .0 as usize].id
}

/// One offer's draws: reward, percent cap, total budget, rule bits (stackable, finish_last,
/// per-card cap, per-user cap, one transaction per enrollment, new customers), priority, budget
/// per period (0: none).
type OfferDraw = (u32, Option<u32>, Option<u32>, u32, u32, u32);

/// A small world where budgets run out under contention: one busy merchant, up to three
/// offers on it (percent rewards, caps, limits, budgets total and per period, either overspend
/// policy, stackable or competing), duplicate deliveries and refunds.
fn world_text(seed: u64, users: u32, offers: &[OfferDraw], faults: (f64, f64, f64)) -> String {
    let mut s = format!(
        "[scenario]\nname = \"oracle\"\nseed = {seed}\nstart = \"2026-06-01\"\ndays = 4\nsettle_days = 12\n\n\
         [population]\nusers = {users}\n\n\
         [segments.all]\nshare = 1.0\npurchases_per_day = 1.2\ncards_per_user = [0.6, 0.4]\n\
         schemes = {{ a = 0.5, b = 0.5 }}\nclick_rate = 0.5\ncard_entry_completion = 0.9\ncard_delete_per_day = 0.05\n\n\
         [merchants.shop]\nname = \"Shop\"\ncategory = \"c\"\nmids = 2\nchannels = {{ in_store = 0.5, online = 0.5 }}\n\
         basket = {{ median = 20.00, sigma = 0.7 }}\npopularity = 8.0\n\n\
         [merchants.other]\nname = \"Other\"\ncategory = \"c\"\nbasket = {{ median = 15.00, sigma = 0.5 }}\n\n"
    );
    for (i, &(reward, cap, budget, rules, priority, period)) in offers.iter().enumerate() {
        // `reward`: a percent (1-40) on the first offer and odd ones, else a fixed amount in
        // dollars; `cap` caps a percent reward.
        let reward = match (i % 2 == 0, cap) {
            (true, Some(c)) => format!("{{ percent = {}, cap = {c} }}", 1 + reward % 40),
            (true, None) => format!("{{ percent = {} }}", 1 + reward % 40),
            (false, _) => format!("{{ fixed = {} }}", 1 + reward % 6),
        };
        s += &format!(
            "[offers.o{i}]\nmerchant = \"shop\"\nreward = {reward}\nplatform_fee_percent = 10\nuplift = 0.3\n\
             priority = {}\nstackable = {}\n",
            priority % 3,
            rules & 1 == 1
        );
        if let Some(b) = budget {
            s += &format!("budget = {b}\n");
        }
        if period > 0 {
            s += &format!("budget_per_period = {{ amount = {}, days = 1 }}\n", 5 + period % 40);
        }
        if rules & 2 != 0 {
            s += "overspend = \"finish_last\"\n";
        }
        if rules & 4 != 0 {
            s += &format!("per_card_cap = {}\n", 1 + (rules >> 4) % 3);
        }
        if rules & 8 != 0 {
            s += &format!("per_user_cap = {}\n", 1 + (rules >> 6) % 3);
        }
        if rules & 0x100 != 0 {
            s += "transactions_per_enrollment = 1\n";
        }
        if rules & 0x200 != 0 {
            s += "new_customer_days = 2\n";
        }
        s += "targeting = { impressions_per_day = 3.0 }\n\n";
    }
    for scheme in ["a", "b"] {
        s += &format!(
            "[network.schemes.{scheme}]\nclearing_delay_hours = {{ min = 1, mode = 24, max = 60 }}\nreversal_rate = 0.05\n\
             refund_rate = {}\npartial_refund_share = 0.5\nunreferenced_refund_share = {}\n\
             refund_delay_days = {{ min = 0, mode = 1, max = 4 }}\n\n",
            faults.1, faults.2
        );
    }
    s += &format!("[network.faults]\nduplicate_rate = {}\nauth_after_clearing_rate = 0.1\n", faults.0);
    s
}

fn world_strategy() -> impl Strategy<Value = String> {
    let offer = (
        0u32..1_000,
        proptest::option::of(2u32..12),
        proptest::option::weighted(0.85, 10u32..120),
        0u32..1_024,
        0u32..3,
        prop_oneof![2 => Just(0u32), 1 => 1u32..100],
    );
    (any::<u64>(), 30u32..140, proptest::collection::vec(offer, 1..4), (0.0f64..0.5, 0.0f64..0.3, 0.0f64..1.0))
        .prop_map(|(seed, users, offers, faults)| world_text(seed, users, &offers, faults))
}

fn load_plan(text: &str) -> (World, Plan) {
    let s = load_str("oracle.toml", text, &Overrides::default()).unwrap_or_else(|d| panic!("{d:?}\n{text}"));
    let p = plan(&s.world, &s.network, 1, None).expect("the reference run");
    (s.world, p)
}

fn assert_correct(v: &Verdict, what: &str) {
    assert_eq!(v.discrepancies(), 0, "{what}: a correct service called wrong: {v:#?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// The oracle's soundness: the reference platform, fed the plan's requests in random orders
    /// that keep each person's in order, is judged correct every time.
    #[test]
    fn a_correct_service_is_never_called_wrong_whatever_order_its_requests_arrive_in(
        text in world_strategy(),
        orders in proptest::collection::vec((any::<u64>(), prop_oneof![Just(0u64), 2u64..400]), 3),
    ) {
        let (w, p) = load_plan(&text);
        // In the reference's own order, the service is the reference, credit for credit.
        let v = judge(&w, &p, &served(&w, &p.steps));
        prop_assert_eq!((v.discrepancies(), v.explained_by_arrival_order), (0, 0), "{:#?}\n{}", v, text);
        prop_assert_eq!(v.correct, p.reference.len() as u64);
        for (seed, lag) in orders {
            let steps = arrival_order(&p.steps, seed, lag);
            let v = judge(&w, &p, &served(&w, &steps));
            prop_assert_eq!(v.discrepancies(), 0, "order ({}, {}) called wrong: {:#?}\n{}", seed, lag, v, text);
        }
    }
}

/// The reproduction of the false verdict at 20,000 requests/s: on the budget-exhaustion
/// scenario (a percent reward among the budgets), orders like concurrent lanes produce (and
/// wild ones) change who gets the budgets, and the number of rewards that fit in them — every
/// one judged correct, the differences explained by arrival order.
#[test]
fn budget_races_with_percent_rewards_are_explained_by_arrival_order() {
    let s = load_file(&scenario("budget_exhaustion.toml"), &Overrides::default()).unwrap();
    let (w, p) = (&s.world, plan(&s.world, &s.network, 1, None).unwrap());
    assert!(w.offers.iter().any(|o| matches!(o.reward, Reward::Percent { .. }) && o.budget.is_some()));
    let mut explained = 0;
    let mut counts_differ = false;
    for seed in 0..12u64 {
        let lag = [64, 512, 4_096, 0][seed as usize % 4];
        let got = served(w, &arrival_order(&p.steps, seed, lag));
        let v = judge(w, &p, &got);
        assert_correct(&v, &format!("order {seed} (lag {lag})"));
        explained += v.explained_by_arrival_order;
        counts_differ |= got.len() != p.reference.len();
    }
    assert!(explained > 0, "the orders changed who got the budgets");
    assert!(counts_differ, "and how many rewards fit in them");
}

/// Each kind of budget fault is still caught on that scenario: paying past the budget, refusing
/// a purchase the budget had room for, paying a purchase no order makes eligible — while the
/// one-for-one swap of the last reward and the first refusal is excused.
#[test]
fn planted_budget_faults_are_caught_and_a_swap_at_the_end_of_a_budget_is_excused() {
    let s = load_file(&scenario("budget_exhaustion.toml"), &Overrides::default()).unwrap();
    let (w, p) = (&s.world, plan(&s.world, &s.network, 1, None).unwrap());
    let exact: Vec<CreditBody> = p.reference.iter().map(|(k, g)| body(w, k, g)).collect();
    let v = judge(w, &p, &exact);
    assert_eq!((v.discrepancies(), v.explained_by_arrival_order), (0, 0), "{v:?}");
    let fixed = OfferId(w.offers.iter().position(|o| matches!(o.reward, Reward::Fixed(_))).unwrap() as u32);
    let (refused, _) = *p.budget_declined.iter().find(|(k, _)| k.1 == fixed).expect("the $5 budget runs out");
    let (last, _) = *p.awards.iter().rev().find(|(k, _)| k.1 == fixed).unwrap();
    let five = p.reference[&last];
    // Over-fill: one more $5 than the budget.
    let mut over = exact.clone();
    over.push(body(w, &refused, &five));
    let v = judge(w, &p, &over);
    assert!(v.budget_overspent >= 1 && v.explained_by_arrival_order == 0, "{v:?}");
    // Under-fill: a reward left out, the $5 it leaves in the budget paying no one.
    let under: Vec<CreditBody> = exact.iter().filter(|c| !is(c, &last, w)).cloned().collect();
    let v = judge(w, &p, &under);
    assert!(v.missed >= 1, "the budget had room for a refused purchase: {v:?}");
    // A credit on a purchase at the grocer, for the pizzeria's offer, in place of a real one.
    let grocer = p
        .steps
        .iter()
        .find_map(|s| match s.call {
            Call::Message { m, facts }
                if m.kind == MessageKind::Clearing && w.mids[facts.mid.0 as usize].merchant != w.offers[0].merchant =>
            {
                Some(m.purchase)
            }
            _ => None,
        })
        .expect("a clearing at the grocer");
    let mut ineligible = under.clone();
    ineligible.push(body(w, &(grocer, fixed), &five));
    let v = judge(w, &p, &ineligible);
    assert!(v.false_credits >= 1, "{v:?}");
    // The swap: the last reward before the budget ran out for the first refusal after it.
    let mut swapped = under;
    swapped.push(body(w, &refused, &five));
    let v = judge(w, &p, &swapped);
    assert_eq!((v.discrepancies(), v.explained_by_arrival_order), (0, 2), "{v:?}");
}

/// A swap no arrival order can produce: one person's reward dropped and the same person's
/// later refusal paid instead, in a budget that ran out. Their requests arrive in order, so when
/// the earlier purchase was refused the budget still had to hold the later reward.
#[test]
fn one_persons_reward_moved_to_their_own_later_refused_purchase_is_not_excused() {
    let s = load_file(&scenario("budget_exhaustion.toml"), &Overrides::default()).unwrap();
    let (w, p) = (&s.world, plan(&s.world, &s.network, 1, None).unwrap());
    let exact: Vec<CreditBody> = p.reference.iter().map(|(k, g)| body(w, k, g)).collect();
    let fixed = OfferId(w.offers.iter().position(|o| matches!(o.reward, Reward::Fixed(_))).unwrap() as u32);
    // Under `decline` with a fixed reward every refusal comes after every reward.
    let (rewarded, refused) = p
        .awards
        .iter()
        .filter(|(k, _)| k.1 == fixed)
        .find_map(|(a, _)| {
            let later = p.budget_declined.iter().find(|(k, _)| k.1 == fixed && k.0.user == a.0.user);
            later.map(|(k, _)| (*a, *k))
        })
        .expect("a person rewarded, then refused for budget, on the same offer");
    let five = p.reference[&rewarded];
    let mut moved: Vec<CreditBody> = exact.iter().filter(|c| !is(c, &rewarded, w)).cloned().collect();
    moved.push(body(w, &refused, &five));
    let v = judge(w, &p, &moved);
    assert!(v.missed >= 1, "{v:?}");
    // The same move between two different people is a swap some order produces.
    let other = p
        .budget_declined
        .iter()
        .find(|(k, _)| k.1 == fixed && k.0.user != rewarded.0.user)
        .map(|(k, _)| *k)
        .expect("another person's refusal");
    let mut swapped: Vec<CreditBody> = exact.iter().filter(|c| !is(c, &rewarded, w)).cloned().collect();
    swapped.push(body(w, &other, &five));
    let v = judge(w, &p, &swapped);
    assert_eq!((v.discrepancies(), v.explained_by_arrival_order), (0, 2), "{v:?}");
}
