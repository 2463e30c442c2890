//! The one condition grammar: `metric op limit`, the operator one of `==`, `!=`, `<`, `<=`, `>`,
//! `>=`. Scenario `[thresholds]` (`world::thresholds`, `name = "op limit"`) and `offersim drive
//! --threshold` (`metric op limit`) both read it; each parses its own limits (counts, dollars,
//! durations; latencies and rates).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Two-character operators first, so that `<=` is not read as `<` followed by `=`.
const OPS: [(&str, Op); 6] =
    [("==", Op::Eq), ("!=", Op::Ne), ("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)];

impl Op {
    /// Whether `actual op limit` holds.
    pub fn holds<T: PartialOrd>(self, actual: T, limit: T) -> bool {
        match self {
            Op::Eq => actual == limit,
            Op::Ne => actual != limit,
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
        }
    }
}

/// `op limit` → the operator and the limit's text (trimmed); none without a leading operator.
pub fn split_op(s: &str) -> Option<(Op, &str)> {
    let s = s.trim();
    OPS.iter().find_map(|(p, op)| s.strip_prefix(p).map(|rest| (*op, rest.trim())))
}

/// `metric op limit` → the metric (trimmed) and `op limit`; none without an operator character.
pub fn split_metric(s: &str) -> Option<(&str, &str)> {
    let s = s.trim();
    let at = s.find(['<', '>', '=', '!'])?;
    Some((s[..at].trim(), &s[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_character_operators_are_read_whole() {
        assert_eq!(split_op("<= 5d"), Some((Op::Le, "5d")));
        assert_eq!(split_op(" >=100"), Some((Op::Ge, "100")));
        assert_eq!(split_op("!= 0"), Some((Op::Ne, "0")));
        assert_eq!(split_op("< 1"), Some((Op::Lt, "1")));
        assert_eq!(split_op("= 0"), None);
        assert_eq!(split_metric("p99_latency < 10ms"), Some(("p99_latency", "< 10ms")));
        assert_eq!(split_metric("errors"), None);
    }

    #[test]
    fn each_operator_compares_as_written() {
        let cases = [(Op::Eq, [false, true, false]), (Op::Ne, [true, false, true]), (Op::Lt, [true, false, false])];
        for (op, want) in cases {
            assert_eq!([op.holds(1, 2), op.holds(2, 2), op.holds(3, 2)], want, "{op:?}");
        }
        assert_eq!([Op::Le.holds(2.0, 2.0), Op::Gt.holds(2.5, 2.0), Op::Ge.holds(1.0, 2.0)], [true, true, false]);
    }
}
