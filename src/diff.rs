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

/// Every leaf of `v`, in document order, with its path segments.
fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                path.push(k.clone());
                leaves(child, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (name, child) in row_names(items).into_iter().zip(items) {
                path.push(name);
                leaves(child, path, out);
                path.pop();
            }
        }
        leaf => out.push((path.clone(), text(leaf))),
    }
}

/// `offers`, `cafe`, `roi` → `offers[cafe].roi` (the first segment of a row is bracketed).
fn display_path(segs: &[String], array_at: &[bool]) -> String {
    let mut s = String::new();
    for (i, seg) in segs.iter().enumerate() {
        if array_at.get(i).copied().unwrap_or(false) {
            s.push('[');
            s.push_str(seg);
            s.push(']');
        } else {
            if i > 0 {
                s.push('.');
            }
            s.push_str(seg);
        }
    }
    s
}

/// Which path segments name array elements (for display).
fn array_positions(v: &Value, segs: &[String]) -> Vec<bool> {
    let mut at = Vec::with_capacity(segs.len());
    let mut cur = Some(v);
    for seg in segs {
        match cur {
            Some(Value::Array(items)) => {
                at.push(true);
                let names = row_names(items);
                cur = names.iter().position(|n| n == seg).and_then(|i| items.get(i));
            }
            Some(Value::Object(map)) => {
                at.push(false);
                cur = map.get(seg);
            }
            _ => at.push(false),
        }
    }
    at
}

/// The node of `v` at `segs` (rows found by their names).
fn node<'v>(v: &'v Value, segs: &[String]) -> Option<&'v Value> {
    let mut cur = v;
    for seg in segs {
        cur = match cur {
            Value::Array(items) => items.get(row_names(items).iter().position(|n| n == seg)?)?,
            Value::Object(map) => map.get(seg)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Every prefix of every leaf path: the nodes a report has.
fn nodes(leaves: &[(Vec<String>, String)]) -> std::collections::BTreeSet<&[String]> {
    leaves.iter().flat_map(|(p, _)| (1..=p.len()).map(move |k| &p[..k])).collect()
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

/// The fields that differ between `a` and `b`, beyond the tolerances, in `a`'s order (fields
/// only in `b` last). A row or section present on one side only is one difference.
pub fn compare(a: &Value, b: &Value, tolerances: &[Tolerance]) -> Vec<Difference> {
    let (mut la, mut lb) = (Vec::new(), Vec::new());
    leaves(a, &mut Vec::new(), &mut la);
    leaves(b, &mut Vec::new(), &mut lb);
    let in_b: std::collections::BTreeMap<&Vec<String>, &String> = lb.iter().map(|(p, v)| (p, v)).collect();
    let (nodes_a, nodes_b) = (nodes(&la), nodes(&lb));
    let mut diffs = Vec::new();
    let mut gone: std::collections::BTreeSet<Vec<String>> = std::collections::BTreeSet::new();
    for (path, va) in &la {
        let Some(vb) = in_b.get(path).copied() else {
            // The shortest part of the path `b` lacks: one difference for the whole of it.
            let k = (1..=path.len()).find(|&k| !nodes_b.contains(&path[..k])).unwrap_or(path.len());
            if gone.insert(path[..k].to_vec()) {
                let shown = display_path(&path[..k], &array_positions(a, &path[..k]));
                let before = node(a, &path[..k]).map(brief);
                diffs.push(Difference { path: shown, before, after: None });
            }
            continue;
        };
        if vb == va {
            continue;
        }
        if let (Some(x), Some(y)) = (number(va), number(vb)) {
            if x == y || tolerances.iter().any(|t| t.matches(path) && t.allows(x, y)) {
                continue;
            }
        }
        let shown = display_path(path, &array_positions(a, path));
        diffs.push(Difference { path: shown, before: Some(va.clone()), after: Some(vb.clone()) });
    }
    let mut added: std::collections::BTreeSet<Vec<String>> = std::collections::BTreeSet::new();
    for (path, _) in &lb {
        let Some(k) = (1..=path.len()).find(|&k| !nodes_a.contains(&path[..k])) else {
            continue;
        };
        if added.insert(path[..k].to_vec()) {
            let shown = display_path(&path[..k], &array_positions(b, &path[..k]));
            diffs.push(Difference { path: shown, before: None, after: node(b, &path[..k]).map(brief) });
        }
    }
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
