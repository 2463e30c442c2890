//! Pass/fail conditions a scenario declares on its own outcome (`[thresholds]`, like k6's):
//! `missed_credits = "== 0"`, `p99_time_to_credit = "< 5d"`, `budget_overspend = "== 0"`, in
//! the one condition grammar (`core::condition`). Judged by `outcome::thresholds`.

use crate::core::condition::split_op;
pub use crate::core::condition::Op;
use crate::core::time::{SECONDS_PER_DAY, SECONDS_PER_HOUR};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// What a metric counts, which decides how its limit is written and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// Dollars and cents: `100`, `99.50`, `$1,000` is not accepted (no separators).
    Money,
    /// A duration with a unit: `90s`, `30m`, `12h`, `5d`, `1.5d`.
    Duration,
}

/// Every metric a threshold can name: (name, unit, what it is).
pub const METRICS: &[(&str, Unit, &str)] = &[
    ("purchases", Unit::Count, "purchases made"),
    ("enrollments", Unit::Count, "enrollments"),
    ("credits", Unit::Count, "rewards granted"),
    ("clawbacks", Unit::Count, "rewards reversed by refunds"),
    ("missed_credits", Unit::Count, "rewards the truth owes that the pipeline did not grant"),
    ("false_credits", Unit::Count, "rewards granted that the truth does not owe"),
    ("double_credits", Unit::Count, "purchases rewarded more than once"),
    ("wrong_amounts", Unit::Count, "rewards or fees of another amount than the truth"),
    ("wrong_reversals", Unit::Count, "refunds that took back another amount than the truth"),
    ("unexplained_discrepancies", Unit::Count, "all five above together"),
    ("duplicates_ignored", Unit::Count, "repeated deliveries the platform ignored"),
    ("declined_budget", Unit::Count, "qualifying purchases declined because a budget ran out"),
    ("net_rewards", Unit::Money, "rewards net of clawbacks"),
    ("merchant_cost", Unit::Money, "what merchants funded: rewards and platform fees, net"),
    ("budget_overspend", Unit::Money, "rewards beyond total budgets (finish_last), all offers"),
    ("period_overspend", Unit::Money, "rewards beyond budgets per period, all offers"),
    ("p50_time_to_credit", Unit::Duration, "median purchase-to-reward delay"),
    ("p90_time_to_credit", Unit::Duration, "90th percentile of that delay"),
    ("p99_time_to_credit", Unit::Duration, "99th percentile of that delay"),
    ("max_time_to_credit", Unit::Duration, "longest purchase-to-reward delay"),
];

/// A parsed threshold: `metric op limit`, the limit in the metric's integer unit (a count,
/// cents or seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    pub metric: &'static str,
    pub unit: Unit,
    pub op: Op,
    pub limit: i64,
    /// The condition as written in the file (`< 5d`).
    pub condition: String,
}

/// Parses `name = "op limit"`; the error says what was expected.
pub fn parse(name: &str, condition: &str) -> Result<Threshold, String> {
    let Some(&(metric, unit, _)) = METRICS.iter().find(|(m, _, _)| *m == name) else {
        return Err(format!(
            "unknown metric `{name}`{}; thresholds can name: {}",
            crate::world::hint(name, METRICS.iter().map(|(m, _, _)| *m)),
            METRICS.iter().map(|(m, _, _)| *m).collect::<Vec<_>>().join(", ")
        ));
    };
    let c = condition.trim();
    let (op, rest) = split_op(c)
        .ok_or_else(|| format!("`{condition}`: expected a comparison such as \"== 0\", \"< 5d\" or \">= 100\""))?;
    let limit = match unit {
        Unit::Count => rest.parse::<i64>().map_err(|_| format!("`{condition}`: `{rest}` is not a whole number"))?,
        Unit::Money => {
            money(rest).ok_or_else(|| format!("`{condition}`: `{rest}` is not an amount like 100 or 99.50"))?
        }
        Unit::Duration => duration(rest)
            .ok_or_else(|| format!("`{condition}`: `{rest}` is not a duration like 90s, 30m, 12h or 5d"))?,
    };
    Ok(Threshold { metric, unit, op, limit, condition: c.to_string() })
}

/// `99.50` → 9950 cents (at most two decimals).
fn money(s: &str) -> Option<i64> {
    let d = s.strip_prefix('$').unwrap_or(s).parse::<Decimal>().ok()?;
    (d.scale() <= 2).then(|| (d * Decimal::ONE_HUNDRED).to_i64())?
}

/// `1.5d` → 129600 seconds (rounded to the second).
fn duration(s: &str) -> Option<i64> {
    let unit = match s.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => SECONDS_PER_HOUR,
        'd' => SECONDS_PER_DAY,
        _ => return None,
    };
    let n = s[..s.len() - 1].trim().parse::<Decimal>().ok()?;
    if n.is_sign_negative() {
        return None;
    }
    (n * Decimal::from(unit)).round().to_i64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_parse_in_the_metric_unit() {
        let t = parse("p99_time_to_credit", "< 5d").unwrap();
        assert_eq!((t.op, t.limit, t.condition.as_str()), (Op::Lt, 5 * 86_400, "< 5d"));
        assert_eq!(parse("p50_time_to_credit", "<= 1.5h").unwrap().limit, 5_400);
        assert_eq!(parse("missed_credits", "== 0").unwrap().limit, 0);
        assert_eq!(parse("net_rewards", ">= 99.50").unwrap().limit, 9_950);
        assert_eq!(parse("merchant_cost", "< $1000").unwrap().limit, 100_000);
        assert_eq!(parse("budget_overspend", "!=0").unwrap().op, Op::Ne);
    }

    #[test]
    fn bad_conditions_say_what_was_expected() {
        for (m, c, why) in [
            ("missed_credit", "== 0", "did you mean `missed_credits`?"),
            ("missed_credits", "= 0", "expected a comparison"),
            ("missed_credits", "== 0.5", "not a whole number"),
            ("net_rewards", "> 1.005", "not an amount"),
            ("p99_time_to_credit", "< 5", "not a duration"),
            ("p99_time_to_credit", "< -1d", "not a duration"),
        ] {
            let e = parse(m, c).unwrap_err();
            assert!(e.contains(why), "{m} {c}: {e}");
        }
    }
}
