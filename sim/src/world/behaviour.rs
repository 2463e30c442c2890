//! How people respond to an offer's terms: the offer's **value** to a person, and what that
//! value does to their chance of taking the offer up and to the extra visits they make while
//! enrolled (`[behaviour]`, `scenarios/README.md` has every default and its source).
//!
//! - **Value** `v`: the reward a person would earn on what they would have to spend, as a share
//!   of that spend. What they would spend is their usual basket at the merchant (the merchant's
//!   median × their segment's `basket_multiplier`), or the minimum spend if that is more; a
//!   percent reward is resolved against it and its cap. Each segment perceives it through its
//!   `value_sensitivity` (a multiplier).
//! - **Response** `r(v) = h(v) / h(reference_value)`, with the saturating curve
//!   `h(v) = v^s / (v^s + half_value^s)`: zero for a worthless offer, 1 at the reference offer
//!   (so `click_rate`, `card_entry_completion` and `uplift` keep their meaning: the rates at an
//!   offer worth `reference_value` of the basket), rising with diminishing returns to at most
//!   `1 / h(reference_value)`.
//! - **Prompts**: the n-th impression of an offer to a person works `prompt_wear_out^(n−1)` as
//!   well as the first: repeated prompts still convert, each a little less.
//! - **Top-ups**: a purchase that falls `gap` short of an enrolled offer's minimum spend is raised
//!   to it with the chance `top_up_max × x² / (x² + top_up_half²)`, where `x = reward / gap` is what
//!   each extra dollar earns: near the goal people stretch, far from it they do not (the
//!   goal-gradient effect), and a richer reward makes a stretch likelier.
//! - **Pulled forward**: a share `pull_forward` of the extra visits are borrowed from later: each
//!   takes the place of the person's next visit to the merchant in the `pull_forward_days` after
//!   the offer ends (a dip after the promotion), so the true incremental spend is net of it.
//! - **Earned, then done**: while a capped reward is still to be earned, enrolled people make
//!   extra visits; once their own qualifying purchases reach the cap, the incentive is spent and
//!   the extra visits stop (`population.rs`).
//!
//! The first card entry is not made more likely by a richer offer: no public source we found
//! shows that it is (scenarios/README.md, "Behaviour").
//!
//! Every decision compares a draw that does not depend on the terms with a threshold that does
//! (`take_up`, and the thinning of extra visits), so a better offer can only add taps, card
//! entries and visits — never reshuffle the rest (common random numbers in a sweep).

use crate::core::money::Cents;
use crate::world::Reward;
use rust_decimal::prelude::ToPrimitive;

/// The response curve's parameters (`[behaviour]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Behaviour {
    /// The value (reward as a share of the spend) at which the segments' rates are given.
    pub reference_value: f64,
    /// The value at which the response is half its most.
    pub half_value: f64,
    /// The curve's steepness (1: a plain saturating curve; more: an S).
    pub steepness: f64,
    /// How well each further impression works relative to the one before.
    pub prompt_wear_out: f64,
    /// The chance to top up a purchase that falls a vanishing gap short of the minimum spend.
    pub top_up_max: f64,
    /// The reward per dollar of the gap at which the chance to top up is half `top_up_max`.
    pub top_up_half: f64,
    /// The share of extra visits borrowed from after the offer: each takes the place of the
    /// person's next visit to the merchant after the offer's end.
    pub pull_forward: f64,
    /// How far after the offer's end a visit can be pulled forward from, in days.
    pub pull_forward_days: u32,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            reference_value: DEFAULT_REFERENCE_VALUE,
            half_value: DEFAULT_HALF_VALUE,
            steepness: DEFAULT_STEEPNESS,
            prompt_wear_out: DEFAULT_PROMPT_WEAR_OUT,
            top_up_max: DEFAULT_TOP_UP_MAX,
            top_up_half: DEFAULT_TOP_UP_HALF,
            pull_forward: DEFAULT_PULL_FORWARD,
            pull_forward_days: DEFAULT_PULL_FORWARD_DAYS,
        }
    }
}

/// A definition, not a claim: the segments' `click_rate` and the offers' `uplift` are the rates
/// at an offer worth a quarter of the basket ($2 back on an $8 coffee and cake).
pub const DEFAULT_REFERENCE_VALUE: f64 = 0.25;
/// Lee (1982), Florida orange juice coupons at 35¢ per 24 oz: 400,000 redemptions took 24.6 M
/// coupons worth 10¢ or 12.7 M worth 15¢, so 1.5 times the value (0.29 → 0.43 of the price)
/// redeemed 1.94 times as often. `h` with steepness 2 and half value 0.7 gives 1.92
/// (tests/behaviour.rs); past about 0.4 of the price, returns diminish.
pub const DEFAULT_HALF_VALUE: f64 = 0.7;
pub const DEFAULT_STEEPNESS: f64 = 2.0;
/// PYMNTS Intelligence (2024): of card-linked offer users, 22% used the first offer they saw and
/// 44% needed two to four prompts. With a small chance per impression and many impressions, a
/// geometric wear-out `w` puts `1 − w` of the enrollments on the first impression and
/// `w − w⁴` on the second to fourth: 0.78 gives 22% and 41% (tests/behaviour.rs).
pub const DEFAULT_PROMPT_WEAR_OUT: f64 = 0.78;

/// Hemmati, Elmaghraby, Kabra and Jain (SSRN 3794442, 2021), free-shipping thresholds: of the
/// orders that would have fallen below the threshold, 12.4% to 28.4% were padded to reach it. On
/// a grocer with carts around $70 and $7.99 back over $80, these give 20.5% (tests/behaviour.rs).
pub const DEFAULT_TOP_UP_MAX: f64 = 0.6;
pub const DEFAULT_TOP_UP_HALF: f64 = 0.7;

/// van Heerde, Leeflang and Wittink (2004), "Decomposing the Sales Promotion Bump with Store
/// Data", Marketing Science 23(3): across four scanner datasets, about one third of a promotion's
/// bump is borrowed from other periods (the rest: switching from other brands, and new demand).
pub const DEFAULT_PULL_FORWARD: f64 = 0.33;
/// A choice: four weeks, so that a regular's next visit falls inside it; the post-promotion
/// dips of van Heerde, Leeflang and Wittink (2000) are measured over the weeks that follow.
pub const DEFAULT_PULL_FORWARD_DAYS: u32 = 28;
/// The longest `pull_forward_days` accepted.
pub const MAX_PULL_FORWARD_DAYS: u32 = 365;

/// The most a richer offer may raise a rate (bounds the work of drawing extra visits).
pub const MAX_RESPONSE: f64 = 100.0;

/// The reward, in dollars, on a spend of `spend` dollars (a percent reward up to its cap).
pub fn earned(reward: &Reward, spend: f64) -> f64 {
    match reward {
        Reward::Fixed(c) => c.0 as f64 / 100.0,
        Reward::Percent { percent, cap } => {
            let p = percent.to_f64().unwrap_or(0.0) / 100.0 * spend;
            cap.map_or(p, |c| p.min(c.0 as f64 / 100.0))
        }
    }
}

/// The saturating curve.
fn h(b: &Behaviour, v: f64) -> f64 {
    if v <= 0.0 {
        return 0.0;
    }
    let a = libm::pow(v, b.steepness);
    a / (a + libm::pow(b.half_value, b.steepness))
}

impl Behaviour {
    /// The value of an offer to someone whose usual basket at its merchant is `basket` dollars
    /// (module doc), before their segment's sensitivity.
    pub fn value(&self, reward: &Reward, min_spend: Cents, basket: f64) -> f64 {
        let spend = basket.max(0.01).max(min_spend.0 as f64 / 100.0);
        earned(reward, spend) / spend
    }

    /// The chance to raise a purchase that falls `gap` dollars short of the minimum spend to it,
    /// for a reward of `reward` dollars there: 0 for no reward, rising with the reward per dollar
    /// of the gap to at most `top_up_max`.
    pub fn top_up_chance(&self, reward: f64, gap: f64) -> f64 {
        if reward <= 0.0 {
            return 0.0;
        }
        if gap <= 0.0 {
            return self.top_up_max;
        }
        let x2 = (reward / gap) * (reward / gap);
        self.top_up_max * x2 / (x2 + self.top_up_half * self.top_up_half)
    }

    /// The response to a perceived value: 0 for nothing, 1 at `reference_value`, at most
    /// `max_response`.
    pub fn response(&self, v: f64) -> f64 {
        h(self, v) / h(self, self.reference_value)
    }

    /// The most any offer can raise a rate.
    pub fn max_response(&self) -> f64 {
        1.0 / h(self, self.reference_value)
    }

    /// How well the `n`-th impression (from 1) works relative to the first.
    pub fn prompt(&self, n: u32) -> f64 {
        libm::pow(self.prompt_wear_out, n.saturating_sub(1) as f64)
    }

    /// A chance given at the reference offer (`rate`), at perceived value `v`, at most 1.
    pub fn chance(&self, rate: f64, v: f64) -> f64 {
        (rate * self.response(v)).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn b() -> Behaviour {
        Behaviour::default()
    }

    #[test]
    fn value_is_the_reward_as_a_share_of_what_must_be_spent() {
        // $2 back over $5 on an $8 basket: 2 / 8.
        let v = b().value(&Reward::Fixed(Cents(200)), Cents(500), 8.0);
        assert!((v - 0.25).abs() < 1e-12, "{v}");
        // 10% up to $3: 10% on a $20 basket, capped on a $50 one (3 / 50).
        let pct = Reward::Percent { percent: Decimal::TEN, cap: Some(Cents(300)) };
        assert!((b().value(&pct, Cents(0), 20.0) - 0.10).abs() < 1e-12);
        assert!((b().value(&pct, Cents(0), 50.0) - 0.06).abs() < 1e-12);
    }

    #[test]
    fn a_minimum_above_the_basket_is_worth_the_reward_over_the_minimum() {
        // $2 back over $16 on an $8 basket: to earn it, spend $16.
        let v = b().value(&Reward::Fixed(Cents(200)), Cents(1600), 8.0);
        assert!((v - 0.125).abs() < 1e-12, "{v}");
    }

    #[test]
    fn the_response_is_zero_for_nothing_one_at_the_reference_and_saturates() {
        let r = b();
        assert_eq!(r.response(0.0), 0.0);
        assert!((r.response(r.reference_value) - 1.0).abs() < 1e-12);
        let mut last = 0.0;
        let mut last_gain = f64::MAX;
        for k in 1..=40 {
            let v = k as f64 * 0.05;
            let x = r.response(v);
            assert!(x > last, "rising at {v}");
            assert!(x <= r.max_response() + 1e-12);
            // Diminishing returns past the curve's bend.
            if v > 0.5 {
                assert!(x - last < last_gain, "diminishing at {v}");
            }
            last_gain = x - last;
            last = x;
        }
        // h(0.25) = 0.0625 / (0.0625 + 0.49): a richer offer can raise a rate up to 8.84 times.
        assert!((r.max_response() - 0.5525 / 0.0625).abs() < 1e-9, "{}", r.max_response());
    }

    #[test]
    fn each_prompt_works_a_little_less_than_the_one_before() {
        let r = b();
        assert_eq!(r.prompt(1), 1.0);
        assert!((r.prompt(2) - 0.78).abs() < 1e-12);
        assert!((r.prompt(4) - 0.78f64.powi(3)).abs() < 1e-12);
        assert_eq!(r.chance(0.9, 10.0), 1.0, "a chance is at most 1");
    }

    #[test]
    fn the_chance_to_top_up_falls_with_the_gap_and_rises_with_the_reward() {
        let r = b();
        // $2 back, $1 short: x = 2, 0.6 × 4 / (4 + 0.49).
        assert!((r.top_up_chance(2.0, 1.0) - 0.6 * 4.0 / 4.49).abs() < 1e-12);
        // $1.40 back, $2 short: x = 0.7 = top_up_half, half the most.
        assert!((r.top_up_chance(1.4, 2.0) - 0.3).abs() < 1e-12);
        assert!(r.top_up_chance(2.0, 8.0) < r.top_up_chance(2.0, 2.0));
        assert!(r.top_up_chance(5.0, 2.0) > r.top_up_chance(2.0, 2.0));
        assert_eq!(r.top_up_chance(0.0, 1.0), 0.0, "nothing to earn, no stretch");
        assert_eq!(r.top_up_chance(2.0, 0.0), 0.6);
    }
}
