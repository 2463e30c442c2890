//! The scenario's thresholds (`world::thresholds`) judged on its outcome. `offersim run` exits
//! 3 when one fails and the report says which.

use crate::core::money::Cents;
use crate::core::time::format_duration;
use crate::outcome::Outcome;
use crate::world::thresholds::{Threshold, Unit};

/// A threshold judged on an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub threshold: Threshold,
    /// The metric's value (`None`: undefined, e.g. a percentile of no credits: a failure).
    pub actual: Option<i64>,
    pub passed: bool,
}

impl Verdict {
    /// The actual value as the metric is written.
    pub fn actual_text(&self) -> String {
        match (self.actual, self.threshold.unit) {
            (None, _) => "undefined (no credits)".to_string(),
            (Some(v), Unit::Count) => v.to_string(),
            (Some(v), Unit::Money) => Cents(v).to_string(),
            (Some(v), Unit::Duration) => format_duration(v.max(0) as u64),
        }
    }
}

fn value(metric: &str, out: &Outcome) -> Option<i64> {
    let c = &out.correctness;
    let n = |v: u64| Some(i64::try_from(v).unwrap_or(i64::MAX));
    let pct = |p: u32| out.time_to_credit_percentile(p).map(|s| s as i64);
    match metric {
        "purchases" => n(out.funnel.purchases),
        "enrollments" => n(out.funnel.enrollments),
        "credits" => n(out.funnel.credits),
        "clawbacks" => n(out.funnel.clawbacks),
        "missed_credits" => n(c.missed_credits),
        "false_credits" => n(c.false_credits),
        "double_credits" => n(c.double_credits),
        "wrong_amounts" => n(c.wrong_amounts),
        "wrong_reversals" => n(c.wrong_reversals),
        "unexplained_discrepancies" => n(c.unexplained()),
        "duplicates_ignored" => n(out.feed.duplicates_ignored),
        "declined_budget" => n(out.funnel.declined_budget),
        "net_rewards" => Some((out.money.rewards_credited - out.money.rewards_clawed_back).0),
        "merchant_cost" => Some(out.ledger.merchant_cost().0),
        "budget_overspend" => Some(out.offers.iter().map(|o| o.budget_overspend.0).sum()),
        "period_overspend" => Some(out.offers.iter().map(|o| o.period_overspend.0).sum()),
        "p50_time_to_credit" => pct(50),
        "p90_time_to_credit" => pct(90),
        "p99_time_to_credit" => pct(99),
        "max_time_to_credit" => out.time_to_credit.last().map(|&s| s as i64),
        _ => None,
    }
}

/// Judges every threshold on the outcome, in the order given.
pub fn judge(thresholds: &[Threshold], out: &Outcome) -> Vec<Verdict> {
    thresholds
        .iter()
        .map(|t| {
            let actual = value(t.metric, out);
            Verdict { threshold: t.clone(), actual, passed: actual.is_some_and(|a| t.op.holds(a, t.limit)) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::thresholds::parse;

    #[test]
    fn verdicts_compare_the_outcome_with_the_limit() {
        let mut out = Outcome { time_to_credit: vec![3_600, 7_200, 6 * 86_400], ..Default::default() };
        out.correctness.missed_credits = 2;
        let ts = [
            parse("p50_time_to_credit", "<= 2h").unwrap(),
            parse("max_time_to_credit", "< 5d").unwrap(),
            parse("missed_credits", "== 0").unwrap(),
            parse("unexplained_discrepancies", "<= 2").unwrap(),
        ];
        let v = judge(&ts, &out);
        assert_eq!(v.iter().map(|v| v.passed).collect::<Vec<_>>(), [true, false, false, true]);
        assert_eq!(v[1].actual_text(), "6d 00h 00m");
        // A percentile of no credits is undefined, and fails.
        let none = judge(&ts[..1], &Outcome::default());
        assert!(!none[0].passed);
        assert_eq!(none[0].actual_text(), "undefined (no credits)");
    }
}
