//! Matching: which enrolled offers, if any, a cleared transaction earns — the **reference**
//! matcher, the rules written as plainly as possible. The platform decides with the fast core
//! (`fastmatch::OfferTable::decide`); `match_txn` is what the property test
//! (`tests/fast_matching.rs`) holds it to. This module also defines the vocabulary both share
//! (`Decision`, `Decline`, `Counters`, `rank`).
//!
//! An offer's **terms** must all hold: the card was enrolled in the offer before the purchase
//! (and is linked at the clearing's network time: the caller passes only that card's
//! enrollments); the MID belongs to the offer's merchant and to its location allow-list; the
//! **purchase time** (not the clearing time) lies in the offer's window, on an allowed weekday
//! and hour; the amount lies between the minimum and maximum spend; channel and scheme are
//! allowed; for a new-customer offer, no purchase by the user at the merchant was seen in the
//! look-back window. Then its **limits**: per-card cap, per-user cap, transactions per
//! enrollment, and the budgets (total and per period) under the offer's overspend policy.
//!
//! Precedence: among the non-stackable offers that pass, the highest priority wins, then the
//! highest reward, then the earliest offer id (file order); one of them at most. Every stackable
//! offer that passes is paid on top.

use crate::core::money::Cents;
use crate::core::time::{Calendar, SimTime};
use crate::world::{Channel, MerchantId, MidId, Offer, OfferId};

/// A transaction as matching sees it.
#[derive(Debug, Clone, Copy)]
pub struct Txn {
    pub at: SimTime,
    pub merchant: MerchantId,
    pub amount: Cents,
    pub channel: Channel,
    pub scheme: u8,
    pub mid: MidId,
}

/// An enrollment of the card that cleared.
#[derive(Debug, Clone, Copy)]
pub struct Enrolled {
    pub offer: OfferId,
    pub since: SimTime,
    /// Credits this enrollment has had.
    pub credited: u32,
}

/// Why a transaction that met an offer's terms earned nothing from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decline {
    PerCardCap,
    PerUserCap,
    EnrollmentLimit,
    Budget,
    PeriodBudget,
}

impl Decline {
    pub fn name(self) -> &'static str {
        match self {
            Decline::PerCardCap => "per_card_cap",
            Decline::PerUserCap => "per_user_cap",
            Decline::EnrollmentLimit => "enrollment_limit",
            Decline::Budget => "budget",
            Decline::PeriodBudget => "period_budget",
        }
    }
}

/// What matching needs to know beyond the card's enrollments: the platform's counters.
pub trait Counters {
    /// Credits the physical card has had from `offer`, across its tokens.
    fn card_redemptions(&self, offer: OfferId) -> u32;
    /// Credits the user has had from `offer`, across all their cards.
    fn user_redemptions(&self, offer: OfferId) -> u32;
    /// Why the offer's budgets cannot pay `reward` now, if they cannot.
    fn budget_blocks(&self, offer: OfferId, reward: Cents) -> Option<Decline>;
    /// Whether another purchase by the user at `merchant`, made in [`since`, `before`), has been
    /// seen.
    fn seen_customer(&self, merchant: MerchantId, since: SimTime, before: SimTime) -> bool;
}

/// The outcome of matching one transaction (reused across calls: no allocation per
/// transaction once warm).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Offers paid, the winner first, then stackable offers by id.
    pub awards: Vec<(OfferId, Cents)>,
    /// Offers whose terms were met but a limit stopped them: the would-be winner when nothing
    /// non-stackable was paid, and every blocked stackable offer.
    pub declines: Vec<(OfferId, Decline)>,
}

impl Decision {
    pub fn clear(&mut self) {
        self.awards.clear();
        self.declines.clear();
    }
}

/// Precedence key: higher is better (priority, then reward, then the earliest offer id).
pub fn rank(o: &Offer, reward: Cents, id: OfferId) -> (i32, Cents, std::cmp::Reverse<OfferId>) {
    (o.priority, reward, std::cmp::Reverse(id))
}

/// Matches `t` against a card's enrollments into `out`.
pub fn match_txn(
    t: &Txn,
    cal: &Calendar,
    offers: &[Offer],
    enrolled: &[Enrolled],
    counters: &dyn Counters,
    out: &mut Decision,
) {
    out.clear();
    type Ranked = (i32, Cents, std::cmp::Reverse<OfferId>);
    let mut best: Option<(Ranked, OfferId, Cents)> = None;
    let mut blocked: Option<(Ranked, OfferId, Decline)> = None;
    for (k, e) in enrolled.iter().enumerate() {
        let o = &offers[e.offer.0 as usize];
        if o.merchant != t.merchant || e.since > t.at || !o.admits(cal, t.at, t.amount, t.channel, t.scheme, t.mid) {
            continue;
        }
        if enrolled[..k].iter().any(|x| x.offer == e.offer) {
            continue; // the same offer enrolled twice on one card counts once
        }
        let reward = o.reward.on(t.amount);
        if reward <= Cents::ZERO {
            continue;
        }
        if let Some(w) = o.new_customer_window {
            if counters.seen_customer(o.merchant, SimTime(t.at.0.saturating_sub(w)), t.at) {
                continue;
            }
        }
        let block = if o.per_card_cap.is_some_and(|cap| counters.card_redemptions(e.offer) >= cap) {
            Some(Decline::PerCardCap)
        } else if o.per_user_cap.is_some_and(|cap| counters.user_redemptions(e.offer) >= cap) {
            Some(Decline::PerUserCap)
        } else if o.per_enrollment_limit.is_some_and(|n| e.credited >= n) {
            Some(Decline::EnrollmentLimit)
        } else {
            counters.budget_blocks(e.offer, reward)
        };
        let r = rank(o, reward, e.offer);
        match (o.stackable, block) {
            (true, None) => out.awards.push((e.offer, reward)),
            (true, Some(d)) => out.declines.push((e.offer, d)),
            (false, None) if best.is_none_or(|(b, _, _)| r > b) => best = Some((r, e.offer, reward)),
            (false, Some(d)) if blocked.is_none_or(|(b, _, _)| r > b) => blocked = Some((r, e.offer, d)),
            _ => {}
        }
    }
    out.awards.sort_unstable_by_key(|(o, _)| *o);
    out.declines.sort_unstable_by_key(|(o, _)| *o);
    match (best, blocked) {
        (Some((_, offer, reward)), _) => out.awards.insert(0, (offer, reward)),
        (None, Some((_, offer, d))) => out.declines.insert(0, (offer, d)),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::config::Overspend;
    use crate::world::{PeriodBudget, Reward};
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn cal() -> Calendar {
        Calendar::new(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()) // a Monday
    }

    fn offer(reward: Reward, min_spend: i64) -> Offer {
        Offer::for_tests(reward, Cents(min_spend))
    }

    fn fixed(cents: i64) -> Offer {
        offer(Reward::Fixed(Cents(cents)), 0)
    }

    fn txn(at: u64, amount: i64) -> Txn {
        Txn {
            at: SimTime(at),
            merchant: MerchantId(0),
            amount: Cents(amount),
            channel: Channel::InStore,
            scheme: 0,
            mid: MidId(0),
        }
    }

    fn enrolled(offer: u32, since: u64) -> Enrolled {
        Enrolled { offer: OfferId(offer), since: SimTime(since), credited: 0 }
    }

    /// Counters for tests: budgets left per offer (None: unlimited), the user's credits per
    /// offer, and whether the user is a known customer.
    #[derive(Default)]
    struct State {
        left: Vec<Option<Cents>>,
        card: Vec<u32>,
        user: Vec<u32>,
        customer: bool,
    }

    impl Counters for State {
        fn card_redemptions(&self, offer: OfferId) -> u32 {
            self.card.get(offer.0 as usize).copied().unwrap_or(0)
        }
        fn user_redemptions(&self, offer: OfferId) -> u32 {
            self.user.get(offer.0 as usize).copied().unwrap_or(0)
        }
        fn budget_blocks(&self, offer: OfferId, reward: Cents) -> Option<Decline> {
            let left = self.left.get(offer.0 as usize).copied().flatten()?;
            (left < reward).then_some(Decline::Budget)
        }
        fn seen_customer(&self, _: MerchantId, _: SimTime, _: SimTime) -> bool {
            self.customer
        }
    }

    fn run(t: &Txn, offers: &[Offer], e: &[Enrolled], st: &State) -> Decision {
        let mut d = Decision::default();
        match_txn(t, &cal(), offers, e, st, &mut d);
        d
    }

    fn won(d: &Decision) -> Vec<(u32, i64)> {
        d.awards.iter().map(|(o, r)| (o.0, r.0)).collect()
    }

    fn free() -> State {
        State::default()
    }

    #[test]
    fn minimum_spend_is_inclusive_and_maximum_spend_too() {
        let mut o = offer(Reward::Fixed(Cents(200)), 500);
        o.max_spend = Some(Cents(5_000));
        let e = [enrolled(0, 0)];
        let v = |amount| won(&run(&txn(100, amount), std::slice::from_ref(&o), &e, &free()));
        assert_eq!(v(500), [(0, 200)]);
        assert_eq!(v(499), []);
        assert_eq!(v(5_000), [(0, 200)]);
        assert_eq!(v(5_001), [], "above the maximum spend");
    }

    #[test]
    fn a_purchase_before_enrollment_does_not_qualify() {
        let offers = [fixed(200)];
        assert_eq!(won(&run(&txn(99, 1000), &offers, &[enrolled(0, 100)], &free())), []);
        assert_eq!(won(&run(&txn(100, 1000), &offers, &[enrolled(0, 100)], &free())), [(0, 200)]);
    }

    #[test]
    fn the_highest_reward_wins_then_the_earliest_offer() {
        // $2 fixed vs 10% of $30.00 = $3.00: the percent offer wins.
        let offers = [fixed(200), offer(Reward::Percent { percent: Decimal::TEN, cap: None }, 0)];
        let e = [enrolled(0, 0), enrolled(1, 0)];
        assert_eq!(won(&run(&txn(10, 3000), &offers, &e, &free())), [(1, 300)]);
        // 10% of $20.00 = $2.00 ties with the fixed $2: the earlier offer (0) wins, in either
        // enrollment order.
        let e_rev = [enrolled(1, 0), enrolled(0, 0)];
        assert_eq!(won(&run(&txn(10, 2000), &offers, &e, &free())), [(0, 200)]);
        assert_eq!(won(&run(&txn(10, 2000), &offers, &e_rev, &free())), [(0, 200)]);
    }

    #[test]
    fn priority_beats_a_bigger_reward() {
        let mut small = fixed(100);
        small.priority = 1;
        let offers = [fixed(500), small];
        let e = [enrolled(0, 0), enrolled(1, 0)];
        assert_eq!(won(&run(&txn(10, 1000), &offers, &e, &free())), [(1, 100)]);
    }

    #[test]
    fn a_stackable_offer_pays_on_top_of_the_winner() {
        let mut bonus = fixed(50);
        bonus.stackable = true;
        let mut capped_bonus = fixed(70);
        capped_bonus.stackable = true;
        capped_bonus.per_card_cap = Some(1);
        let offers = [fixed(200), fixed(300), bonus, capped_bonus];
        let e = [enrolled(3, 0), enrolled(2, 0), enrolled(1, 0), enrolled(0, 0)];
        let st = State { card: vec![0, 0, 0, 1], ..State::default() };
        let d = run(&txn(10, 1000), &offers, &e, &st);
        assert_eq!(won(&d), [(1, 300), (2, 50)], "the winner, then the stackable bonus");
        assert_eq!(d.declines, [(OfferId(3), Decline::PerCardCap)]);
    }

    #[test]
    fn percent_rewards_round_half_even_and_respect_the_cap() {
        let pct = |p: i64, cap: Option<i64>| Reward::Percent { percent: Decimal::from(p), cap: cap.map(Cents) };
        assert_eq!(pct(5, None).on(Cents(1250)), Cents(62)); // 0.625 → 0.62
        assert_eq!(pct(5, None).on(Cents(1270)), Cents(64)); // 0.635 → 0.64
        assert_eq!(pct(10, Some(1500)).on(Cents(20_000)), Cents(1500)); // 20.00 capped at 15.00
        assert_eq!(Reward::Fixed(Cents(200)).on(Cents(1)), Cents(200));
    }

    #[test]
    fn a_capped_offer_falls_back_to_the_next_one() {
        let mut capped = fixed(500);
        capped.per_card_cap = Some(1);
        let offers = [capped, fixed(100)];
        let e = [enrolled(0, 0), enrolled(1, 0)];
        let st = State { card: vec![1, 0], ..State::default() };
        assert_eq!(won(&run(&txn(10, 1000), &offers, &e, &st)), [(1, 100)]);
        let d = run(&txn(10, 1000), &offers[..1], &e[..1], &st);
        assert_eq!((won(&d), d.declines), (vec![], vec![(OfferId(0), Decline::PerCardCap)]));
    }

    #[test]
    fn per_user_caps_and_enrollment_limits_decline() {
        let mut o = fixed(200);
        o.per_user_cap = Some(2);
        let offers = [o];
        let st = State { user: vec![2], ..State::default() };
        let d = run(&txn(10, 1000), &offers, &[enrolled(0, 0)], &st);
        assert_eq!(d.declines, [(OfferId(0), Decline::PerUserCap)]);
        let mut o = fixed(200);
        o.per_enrollment_limit = Some(3);
        let e = Enrolled { credited: 3, ..enrolled(0, 0) };
        let d = run(&txn(10, 1000), &[o], &[e], &free());
        assert_eq!(d.declines, [(OfferId(0), Decline::EnrollmentLimit)]);
    }

    #[test]
    fn channel_scheme_and_location_filters() {
        let mut o = fixed(200);
        o.channel_mask = Channel::Online.bit();
        o.scheme_mask = 1 << 1;
        o.mids = vec![MidId(4)];
        let offers = [o];
        let e = [enrolled(0, 0)];
        let ok = Txn { channel: Channel::Online, scheme: 1, mid: MidId(4), ..txn(10, 1000) };
        assert_eq!(won(&run(&ok, &offers, &e, &free())), [(0, 200)]);
        for bad in [Txn { channel: Channel::InStore, ..ok }, Txn { scheme: 0, ..ok }, Txn { mid: MidId(3), ..ok }] {
            assert_eq!(won(&run(&bad, &offers, &e, &free())), []);
        }
    }

    #[test]
    fn a_new_customer_offer_skips_known_customers() {
        let mut o = fixed(200);
        o.new_customer_window = Some(90 * 86_400);
        let offers = [o];
        let e = [enrolled(0, 0)];
        assert_eq!(won(&run(&txn(10, 1000), &offers, &e, &free())), [(0, 200)]);
        let known = State { customer: true, ..State::default() };
        let d = run(&txn(10, 1000), &offers, &e, &known);
        assert_eq!((won(&d), d.declines.len()), (vec![], 0), "not a decline: the terms are not met");
    }

    #[test]
    fn a_reward_larger_than_the_budget_left_is_declined_not_paid_in_part() {
        let offers = [fixed(500)];
        let e = [enrolled(0, 0)];
        let st = State { left: vec![Some(Cents(499))], ..State::default() };
        assert_eq!(run(&txn(10, 1000), &offers, &e, &st).declines, [(OfferId(0), Decline::Budget)]);
        let st = State { left: vec![Some(Cents(500))], ..State::default() };
        assert_eq!(won(&run(&txn(10, 1000), &offers, &e, &st)), [(0, 500)]);
    }

    #[test]
    fn the_overspend_policy_decides_whether_a_reward_fits() {
        let mut o = fixed(500);
        assert!(!o.fits(Cents(499), Cents(500)));
        o.overspend = Overspend::FinishLast;
        assert!(o.fits(Cents(1), Cents(500)), "finish_last pays while anything is left");
        assert!(!o.fits(Cents::ZERO, Cents(500)));
        o.period_budget = Some(PeriodBudget { amount: Cents(1_000), period_secs: 86_400 });
        o.start = SimTime::from_days(1);
        assert_eq!((o.period_of(SimTime::from_days(1)), o.period_of(SimTime(3 * 86_400 - 1))), (0, 1));
    }

    #[test]
    fn window_weekdays_and_hours_use_the_purchase_time() {
        let mut o = fixed(100);
        o.end = SimTime::from_days(5); // ends Saturday 00:00 (exclusive)
        o.days_mask = 1 << 4; // Fridays only
        o.hours = (11, 14);
        let offers = [o];
        let e = [enrolled(0, 0)];
        let at = |day: u64, h: u64| day * 86_400 + h * 3_600;
        let m = |t| !run(&txn(t, 1000), &offers, &e, &free()).awards.is_empty();
        assert!(m(at(4, 11)), "Friday 11:00");
        assert!(m(at(4, 13) + 3_599), "Friday 13:59:59");
        assert!(!m(at(4, 14)), "Friday 14:00 is outside [11, 14)");
        assert!(!m(at(3, 12)), "Thursday");
        assert!(!m(at(5, 12)), "Saturday: past the window");
    }

    #[test]
    fn a_declined_transaction_names_the_offer_that_would_have_won() {
        let mut capped = fixed(300);
        capped.per_card_cap = Some(1);
        let offers = [fixed(200), capped];
        let e = [enrolled(0, 0), enrolled(1, 0)];
        // Offer 0 is out of budget, offer 1 (the larger reward) is at its cap: the cap is why.
        let st = State { left: vec![Some(Cents(100)), None], card: vec![0, 1], ..State::default() };
        assert_eq!(run(&txn(10, 1000), &offers, &e, &st).declines, [(OfferId(1), Decline::PerCardCap)]);
        // With offer 1 at a smaller reward, offer 0 (out of budget) would have won.
        let mut small = offers.clone();
        small[1].reward = Reward::Fixed(Cents(100));
        assert_eq!(run(&txn(10, 1000), &small, &e, &st).declines, [(OfferId(0), Decline::Budget)]);
    }
}
