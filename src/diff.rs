//! Comparing two reports field by field (`offersim diff`, `offersim regress`).
//!
//! A report is flattened into leaves named by their path: `funnel.purchases`,
//! `offers[cafe_2_over_5].redemptions` (rows with an `id`, `date` or `name` are named by it, so
//! an inserted row shows as one added row, not a shift of every row after it),
//! `hourly[17].spend`. Numbers — JSON numbers and the reports' decimal strings such as
//! `"12.50"` — are compared as exact decimals; everything else as text. A tolerance lets a
//! field move: `money.spend=0.5%` (relative) or `offers[*].roi=0.05` (absolute); `*` matches
//! one path segment, a trailing `**` any number of them.

use rust_decimal::Decimal;
use serde_json::Value;
use std::str::FromStr;

/// How far a field may move before it is drift.
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerance {
    pattern: Vec<String>,
    allowed: Allowed,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Allowed {
    /// A fraction of the first report's value (5% is 0.05).
    Relative(Decimal),
    Absolute(Decimal),
}

impl FromStr for Tolerance {
    type Err = String;
    /// `path=5%` or `path=0.25`.
    fn from_str(s: &str) -> Result<Tolerance, String> {
        let (path, amount) =
            s.split_once('=').ok_or_else(|| format!("`{s}`: expected FIELD=PERCENT% or FIELD=AMOUNT"))?;
        let path = path.trim();
        if path.is_empty() {
            return Err(format!("`{s}`: the field is missing before `=`"));
        }
        let amount = amount.trim();
        let (number, relative) = match amount.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (amount, false),
        };
        let value =
            Decimal::from_str(number).map_err(|_| format!("`{s}`: `{amount}` is not a number (like 5% or 0.25)"))?;
        if value.is_sign_negative() {
            return Err(format!("`{s}`: a tolerance cannot be negative"));
        }
        let allowed = if relative { Allowed::Relative(value / Decimal::ONE_HUNDRED) } else { Allowed::Absolute(value) };
        Ok(Tolerance { pattern: segments(path), allowed })
    }
}

impl Tolerance {
    fn matches(&self, path: &[String]) -> bool {
        fn go(p: &[String], path: &[String]) -> bool {
            match (p.first().map(String::as_str), path.first()) {
                (Some("**"), _) => p.len() == 1 || (0..=path.len()).any(|k| go(&p[1..], &path[k..])),
                (Some(a), Some(b)) => (a == "*" || a == b) && go(&p[1..], &path[1..]),
                (None, None) => true,
                _ => false,
            }
        }
        go(&self.pattern, path)
    }
    fn allows(&self, a: Decimal, b: Decimal) -> bool {
        let moved = (b - a).abs();
        match self.allowed {
            Allowed::Relative(r) => moved <= r * a.abs(),
            Allowed::Absolute(x) => moved <= x,
        }
    }
}

/// `offers[cafe].roi` → `offers`, `cafe`, `roi`.
fn segments(path: &str) -> Vec<String> {
    path.split(['.', '[', ']']).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// One field that differs between the two reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub path: String,
    /// `None`: the field is missing on that side.
    pub before: Option<String>,
    pub after: Option<String>,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.before, &self.after) {
            (Some(a), Some(b)) => {
                write!(f, "{}: {a} → {b}", self.path)?;
                if let (Some(x), Some(y)) = (number(a), number(b)) {
                    let d = y - x;
                    let sign = if d.is_sign_negative() { "" } else { "+" };
                    write!(f, " ({sign}{}", d.normalize())?;
                    if !x.is_zero() {
                        let pct = (d / x.abs() * Decimal::ONE_HUNDRED).round_dp(3);
                        write!(f, ", {sign}{}%", pct.normalize())?;
                    }
                    write!(f, ")")?;
                }
                Ok(())
            }
            (Some(a), None) => write!(f, "{}: {a} → (missing)", self.path),
            (None, Some(b)) => write!(f, "{}: (missing) → {b}", self.path),
            (None, None) => write!(f, "{}", self.path),
        }
    }
}

/// A leaf as text: strings without quotes, everything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A leaf as a number, when it is one (JSON numbers and decimal strings like `"-0.05"`).
fn number(s: &str) -> Option<Decimal> {
    let looks_numeric = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'.');
    if !looks_numeric {
        return None;
    }
    Decimal::from_str(s).or_else(|_| Decimal::from_scientific(s)).ok()
}

/// The name of an array element: its `id`, `date`, `hour` or `name` when every element has a distinct
/// one, else its index.
fn row_names(items: &[Value]) -> Vec<String> {
    for key in ["id", "date", "hour", "name"] {
        let names: Vec<Option<String>> = items.iter().map(|v| v.get(key).map(text)).collect();
        if names.iter().all(Option::is_some) {
            let names: Vec<String> = names.into_iter().flatten().collect();
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            if sorted.len() == names.len() {
                return names;
            }
        }
    }
    (0..items.len()).map(|i| i.to_string()).collect()
}

/// One segment of a path, and whether it names a row of an array (shown in brackets).
#[derive(Debug, Clone)]
struct Seg {
    name: String,
    row: bool,
}

/// `offers`, `cafe`, `roi` → `offers[cafe].roi` (a row's segment is bracketed).
fn display_path(segs: &[Seg]) -> String {
    let mut s = String::new();
    for (i, seg) in segs.iter().enumerate() {
        if seg.row {
            s.push('[');
            s.push_str(&seg.name);
            s.push(']');
        } else {
            if i > 0 {
                s.push('.');
            }
            s.push_str(&seg.name);
        }
    }
    s
}

/// A node as short text: a leaf as is, a row or section as compact JSON, cut at 80 characters.
fn brief(v: &Value) -> String {
    let t = match v {
        Value::Object(_) | Value::Array(_) => v.to_string(),
        leaf => text(leaf),
    };
    if t.chars().count() > 80 {
        format!("{}…", t.chars().take(79).collect::<String>())
    } else {
        t
    }
}

/// Whether a node has at least one leaf (an empty object or array has none: it is not a
/// field of its own, as in the flattened view).
fn has_leaf(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.values().any(has_leaf),
        Value::Array(a) => a.iter().any(has_leaf),
        _ => true,
    }
}

/// The walk of both reports at once: every node is visited once, rows are indexed by name once
/// per array, so the work grows with the size of the reports, not with its square.
struct Walk<'t> {
    tolerances: &'t [Tolerance],
    path: Vec<Seg>,
    /// Fields that differ or are only in `a`, in `a`'s order.
    diffs: Vec<Difference>,
    /// Fields only in `b`, in the order found.
    added: Vec<Difference>,
}

impl Walk<'_> {
    fn names(&self) -> Vec<String> {
        self.path.iter().map(|s| s.name.clone()).collect()
    }

    fn child(&mut self, name: String, row: bool, a: Option<&Value>, b: Option<&Value>) {
        self.path.push(Seg { name, row });
        match (a, b) {
            (Some(a), Some(b)) => self.both(a, b),
            (Some(a), None) if has_leaf(a) => {
                self.diffs.push(Difference { path: display_path(&self.path), before: Some(brief(a)), after: None })
            }
            (None, Some(b)) if has_leaf(b) => {
                self.added.push(Difference { path: display_path(&self.path), before: None, after: Some(brief(b)) })
            }
            _ => {}
        }
        self.path.pop();
    }

    fn both(&mut self, a: &Value, b: &Value) {
        match (a, b) {
            (Value::Object(ma), Value::Object(mb)) => {
                for (k, va) in ma {
                    self.child(k.clone(), false, Some(va), mb.get(k));
                }
                for (k, vb) in mb.iter().filter(|(k, _)| !ma.contains_key(*k)) {
                    self.child(k.clone(), false, None, Some(vb));
                }
            }
            (Value::Array(xa), Value::Array(xb)) => {
                let (na, nb) = (row_names(xa), row_names(xb));
                let in_b: std::collections::HashMap<&str, usize> =
                    nb.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
                let in_a: std::collections::HashSet<&str> = na.iter().map(String::as_str).collect();
                for (name, va) in na.iter().zip(xa) {
                    let vb = in_b.get(name.as_str()).map(|&i| &xb[i]);
                    self.child(name.clone(), true, Some(va), vb);
                }
                for (name, vb) in nb.iter().zip(xb).filter(|(n, _)| !in_a.contains(n.as_str())) {
                    self.child(name.clone(), true, None, Some(vb));
                }
            }
            (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => {
                // A section on one side, a value on the other.
                let shown = display_path(&self.path);
                self.diffs.push(Difference { path: shown, before: Some(brief(a)), after: Some(brief(b)) });
            }
            (la, lb) => {
                let (va, vb) = (text(la), text(lb));
                if va == vb {
                    return;
                }
                if let (Some(x), Some(y)) = (number(&va), number(&vb)) {
                    if x == y || self.tolerances.iter().any(|t| t.matches(&self.names()) && t.allows(x, y)) {
                        return;
                    }
                }
                self.diffs.push(Difference { path: display_path(&self.path), before: Some(va), after: Some(vb) });
            }
        }
    }
}

/// The fields that differ between `a` and `b`, beyond the tolerances, in `a`'s order (fields
/// only in `b` last). A row or section present on one side only is one difference.
pub fn compare(a: &Value, b: &Value, tolerances: &[Tolerance]) -> Vec<Difference> {
    let mut w = Walk { tolerances, path: Vec::new(), diffs: Vec::new(), added: Vec::new() };
    w.both(a, b);
    let Walk { mut diffs, added, .. } = w;
    diffs.extend(added);
    diffs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tol(s: &str) -> Tolerance {
        s.parse().unwrap()
    }

    #[test]
    fn identical_reports_have_no_difference() {
        let r = json!({"funnel": {"purchases": 10}, "offers": [{"id": "a", "roi": "1.50"}]});
        assert!(compare(&r, &r, &[]).is_empty());
    }

    #[test]
    fn a_changed_number_is_named_by_its_path_with_the_change() {
        let a = json!({"money": {"spend": "100.00"}, "offers": [{"id": "cafe", "redemptions": 8}]});
        let b = json!({"money": {"spend": "110.00"}, "offers": [{"id": "cafe", "redemptions": 8}]});
        let d = compare(&a, &b, &[]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].to_string(), "money.spend: 100.00 → 110.00 (+10, +10%)");
    }

    #[test]
    fn rows_are_matched_by_id_so_an_inserted_row_is_one_difference() {
        let a = json!({"offers": [{"id": "a", "n": 1}, {"id": "c", "n": 3}]});
        let b = json!({"offers": [{"id": "a", "n": 1}, {"id": "b", "n": 2}, {"id": "c", "n": 3}]});
        let d = compare(&a, &b, &[]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].to_string(), r#"offers[b]: (missing) → {"id":"b","n":2}"#);
        let back = compare(&b, &a, &[]);
        assert_eq!(back.len(), 1, "{back:?}");
        assert_eq!(back[0].to_string(), r#"offers[b]: {"id":"b","n":2} → (missing)"#);
    }

    #[test]
    fn tolerances_let_a_field_move_within_bounds_only() {
        let a = json!({"money": {"spend": "100.00"}, "offers": [{"id": "x", "roi": "2.00"}]});
        let b = json!({"money": {"spend": "100.40"}, "offers": [{"id": "x", "roi": "2.10"}]});
        assert_eq!(compare(&a, &b, &[]).len(), 2);
        let ok = [tol("money.spend=0.5%"), tol("offers[*].roi=0.1")];
        assert!(compare(&a, &b, &ok).is_empty());
        let tight = [tol("money.spend=0.3%"), tol("offers.*.roi=0.05")];
        assert_eq!(compare(&a, &b, &tight).len(), 2);
        assert!(compare(&a, &b, &[tol("**=1%"), tol("offers[*].roi=5%")]).is_empty());
    }

    #[test]
    fn text_fields_must_match_exactly_whatever_the_tolerance() {
        let a = json!({"offers": [{"id": "x", "budget_ran_out_at": "2026-11-29T18:00:00"}]});
        let b = json!({"offers": [{"id": "x", "budget_ran_out_at": "2026-11-29T19:00:00"}]});
        assert_eq!(compare(&a, &b, &[tol("**=100%")]).len(), 1);
    }

    #[test]
    fn bad_tolerances_are_refused_with_the_reason() {
        for (s, why) in [
            ("spend", "expected FIELD=PERCENT%"),
            ("=5%", "field is missing"),
            ("spend=five", "not a number"),
            ("spend=-1%", "cannot be negative"),
        ] {
            let e = s.parse::<Tolerance>().unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
