//! Matching: which enrolled offer, if any, a cleared transaction earns.
//!
//! Rules (all must hold): the card was enrolled in the offer before the purchase and is still
//! linked when the clearing arrives; the MID belongs to the offer's merchant; the **purchase
//! time** (the transaction time the network reports, not the clearing time) lies in the offer's
//! window, on an allowed weekday and hour; the amount is at least the minimum spend; the card has
//! not reached the per-card cap; the remaining budget covers the whole reward (no partial
//! rewards). Among the offers that pass, the highest reward wins, then the earliest offer id
//! (file order).

use crate::money::{percent_of, Cents};
use crate::time::{Calendar, SimTime};
use crate::world::{Offer, OfferId, Reward};

/// The reward an offer pays on `amount`, rounded half-even to cents, capped.
pub fn reward_for(reward: &Reward, amount: Cents) -> Cents {
    match *reward {
        Reward::Fixed(c) => c,
        Reward::Percent { percent, cap } => {
            let r = percent_of(amount, percent);
            cap.map_or(r, |c| r.min(c))
        }
    }
}

/// A transaction as matching sees it.
#[derive(Debug, Clone, Copy)]
pub struct Txn {
    pub at: SimTime,
    pub merchant: u32,
    pub amount: Cents,
}

/// An enrollment of the card that cleared.
#[derive(Debug, Clone, Copy)]
pub struct Enrolled {
    pub offer: OfferId,
    pub since: SimTime,
    /// Credits this physical card has had from this offer (across its tokens).
    pub redemptions: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No enrolled offer's terms admit the transaction.
    NoMatch,
    /// Terms met, but every qualifying offer was at its per-card cap or out of budget.
    Declined {
        budget: bool,
        offer: OfferId,
    },
    Matched {
        offer: OfferId,
        reward: Cents,
    },
}

/// Matches `t` against a card's enrollments. `remaining` gives an offer's remaining budget
/// (`None`: unlimited).
pub fn match_txn(
    t: &Txn,
    cal: &Calendar,
    offers: &[Offer],
    enrolled: &[Enrolled],
    remaining: &dyn Fn(OfferId) -> Option<Cents>,
) -> Verdict {
    // Precedence: higher reward first, then the earlier offer.
    let better = |(r, id): (Cents, OfferId), best: Option<(Cents, OfferId, bool)>| match best {
        None => true,
        Some((br, bid, _)) => r > br || (r == br && id < bid),
    };
    let mut best: Option<(Cents, OfferId, bool)> = None;
    // The offer that would have won had its cap or budget allowed, and whether budget stopped it.
    let mut blocked: Option<(Cents, OfferId, bool)> = None;
    for e in enrolled {
        let o = &offers[e.offer.0 as usize];
        if e.since > t.at || o.merchant.0 != t.merchant || t.amount < o.min_spend || !o.admits_time(cal, t.at) {
            continue;
        }
        let reward = reward_for(&o.reward, t.amount);
        if reward <= Cents::ZERO {
            continue;
        }
        let capped = o.per_card_cap.is_some_and(|cap| e.redemptions >= cap);
        let broke = remaining(e.offer).is_some_and(|left| left < reward);
        if capped || broke {
            if better((reward, e.offer), blocked) {
                blocked = Some((reward, e.offer, !capped));
            }
        } else if better((reward, e.offer), best) {
            best = Some((reward, e.offer, false));
        }
    }
    match (best, blocked) {
        (Some((reward, offer, _)), _) => Verdict::Matched { offer, reward },
        (None, Some((_, offer, budget))) => Verdict::Declined { budget, offer },
        (None, None) => Verdict::NoMatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn cal() -> Calendar {
        Calendar::new(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()) // a Monday
    }

    fn offer(reward: Reward, min_spend: i64) -> Offer {
        Offer::for_tests(reward, Cents(min_spend))
    }

    fn txn(at: u64, amount: i64) -> Txn {
        Txn { at: SimTime(at), merchant: 0, amount: Cents(amount) }
    }

    fn enrolled(offer: u32, since: u64, redemptions: u32) -> Enrolled {
        Enrolled { offer: OfferId(offer), since: SimTime(since), redemptions }
    }

    fn unlimited(_: OfferId) -> Option<Cents> {
        None
    }

    #[test]
    fn minimum_spend_is_inclusive() {
        let offers = [offer(Reward::Fixed(Cents(200)), 500)];
        let e = [enrolled(0, 0, 0)];
        let v = |amount| match_txn(&txn(100, amount), &cal(), &offers, &e, &unlimited);
        assert_eq!(v(500), Verdict::Matched { offer: OfferId(0), reward: Cents(200) });
        assert_eq!(v(499), Verdict::NoMatch);
    }

    #[test]
    fn a_purchase_before_enrollment_does_not_qualify() {
        let offers = [offer(Reward::Fixed(Cents(200)), 0)];
        assert_eq!(match_txn(&txn(99, 1000), &cal(), &offers, &[enrolled(0, 100, 0)], &unlimited), Verdict::NoMatch);
        assert!(matches!(
            match_txn(&txn(100, 1000), &cal(), &offers, &[enrolled(0, 100, 0)], &unlimited),
            Verdict::Matched { .. }
        ));
    }

    #[test]
    fn the_highest_reward_wins_then_the_earliest_offer() {
        // $2 fixed vs 10% of $30.00 = $3.00: the percent offer wins.
        let offers =
            [offer(Reward::Fixed(Cents(200)), 0), offer(Reward::Percent { percent: Decimal::TEN, cap: None }, 0)];
        let e = [enrolled(0, 0, 0), enrolled(1, 0, 0)];
        assert_eq!(
            match_txn(&txn(10, 3000), &cal(), &offers, &e, &unlimited),
            Verdict::Matched { offer: OfferId(1), reward: Cents(300) }
        );
        // 10% of $20.00 = $2.00 ties with the fixed $2: the earlier offer (0) wins, in either
        // enrollment order.
        let e_rev = [enrolled(1, 0, 0), enrolled(0, 0, 0)];
        assert_eq!(
            match_txn(&txn(10, 2000), &cal(), &offers, &e, &unlimited),
            Verdict::Matched { offer: OfferId(0), reward: Cents(200) }
        );
        assert_eq!(
            match_txn(&txn(10, 2000), &cal(), &offers, &e_rev, &unlimited),
            Verdict::Matched { offer: OfferId(0), reward: Cents(200) }
        );
    }

    #[test]
    fn percent_rewards_round_half_even_and_respect_the_cap() {
        let pct = |p: i64, cap: Option<i64>| Reward::Percent { percent: Decimal::from(p), cap: cap.map(Cents) };
        assert_eq!(reward_for(&pct(5, None), Cents(1250)), Cents(62)); // 0.625 → 0.62
        assert_eq!(reward_for(&pct(5, None), Cents(1270)), Cents(64)); // 0.635 → 0.64
        assert_eq!(reward_for(&pct(10, Some(1500)), Cents(20_000)), Cents(1500)); // 20.00 capped at 15.00
        assert_eq!(reward_for(&Reward::Fixed(Cents(200)), Cents(1)), Cents(200));
    }

    #[test]
    fn a_capped_offer_falls_back_to_the_next_one() {
        let mut capped = offer(Reward::Fixed(Cents(500)), 0);
        capped.per_card_cap = Some(1);
        let offers = [capped, offer(Reward::Fixed(Cents(100)), 0)];
        let e = [enrolled(0, 0, 1), enrolled(1, 0, 0)];
        assert_eq!(
            match_txn(&txn(10, 1000), &cal(), &offers, &e, &unlimited),
            Verdict::Matched { offer: OfferId(1), reward: Cents(100) }
        );
        assert_eq!(
            match_txn(&txn(10, 1000), &cal(), &offers[..1], &e[..1], &unlimited),
            Verdict::Declined { budget: false, offer: OfferId(0) }
        );
    }

    #[test]
    fn a_reward_larger_than_the_budget_left_is_declined_not_paid_in_part() {
        let offers = [offer(Reward::Fixed(Cents(500)), 0)];
        let e = [enrolled(0, 0, 0)];
        let left = |_: OfferId| Some(Cents(499));
        assert_eq!(
            match_txn(&txn(10, 1000), &cal(), &offers, &e, &left),
            Verdict::Declined { budget: true, offer: OfferId(0) }
        );
        let exact = |_: OfferId| Some(Cents(500));
        assert!(matches!(match_txn(&txn(10, 1000), &cal(), &offers, &e, &exact), Verdict::Matched { .. }));
    }

    #[test]
    fn window_weekdays_and_hours_use_the_purchase_time() {
        let mut o = offer(Reward::Fixed(Cents(100)), 0);
        o.end = SimTime::from_days(5); // ends Saturday 00:00 (exclusive)
        o.days_mask = 1 << 4; // Fridays only
        o.hours = (11, 14);
        let offers = [o];
        let e = [enrolled(0, 0, 0)];
        let at = |day: u64, h: u64| day * 86_400 + h * 3_600;
        let m = |t| matches!(match_txn(&txn(t, 1000), &cal(), &offers, &e, &unlimited), Verdict::Matched { .. });
        assert!(m(at(4, 11)), "Friday 11:00");
        assert!(m(at(4, 13) + 3_599), "Friday 13:59:59");
        assert!(!m(at(4, 14)), "Friday 14:00 is outside [11, 14)");
        assert!(!m(at(3, 12)), "Thursday");
        assert!(!m(at(5, 12)), "Saturday: past the window");
    }

    #[test]
    fn a_declined_transaction_names_the_offer_that_would_have_won() {
        let mut capped = offer(Reward::Fixed(Cents(300)), 0);
        capped.per_card_cap = Some(1);
        let offers = [offer(Reward::Fixed(Cents(200)), 0), capped];
        let e = [enrolled(0, 0, 0), enrolled(1, 0, 1)];
        // Offer 0 is out of budget, offer 1 (the larger reward) is at its cap: the cap is why.
        let left = |o: OfferId| (o == OfferId(0)).then_some(Cents(100));
        assert_eq!(
            match_txn(&txn(10, 1000), &cal(), &offers, &e, &left),
            Verdict::Declined { budget: false, offer: OfferId(1) }
        );
        // With offer 1 at a smaller reward, offer 0 (out of budget) would have won.
        let mut small = offers.clone();
        small[1].reward = Reward::Fixed(Cents(100));
        assert_eq!(
            match_txn(&txn(10, 1000), &cal(), &small, &e, &left),
            Verdict::Declined { budget: true, offer: OfferId(0) }
        );
    }
}
