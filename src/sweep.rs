//! What-if sweeps (`offersim sweep`): a grid of scenario variants, each run at the same seeds.
//!
//! **Common random numbers.** A variant changes settings of the scenario file and nothing else;
//! every random draw is keyed by (seed, purpose, entity), never by an offer's terms, so at a
//! given seed every variant sees the same people, cards, impressions, taps, purchases and
//! network fates. What differs between variants comes from the change alone (and from what the
//! change causes: a bigger reward runs out of budget sooner, withdrawing the offer's uplift).
//! That is why the **paired** difference from the first variant, seed by seed, has a far
//! narrower interval than the variants' own spreads.
//!
//! **Intervals.** Over the seeds, each metric's mean with a 95% Student-t interval
//! (mean ± t(0.975, n−1) · sd / √n); the same for the paired difference. Statistics are
//! computed in floating point and shown rounded (money to the cent): they describe runs, they
//! move no money.

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// One `--set PATH=V1,V2,...`: a setting of the scenario file and the values to try.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub path: Vec<String>,
    pub values: Vec<String>,
}

impl std::str::FromStr for Setting {
    type Err = String;
    fn from_str(s: &str) -> Result<Setting, String> {
        let (path, values) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: expected PATH=VALUE,VALUE,... (e.g. offers.cafe.min_spend=5,10)"))?;
        let path: Vec<String> = path.trim().split('.').map(|p| p.trim().to_string()).collect();
        if path.iter().any(String::is_empty) {
            return Err(format!(
                "`{s}`: `{}` is not a dotted path like offers.cafe.min_spend",
                s.split('=').next().unwrap_or("")
            ));
        }
        let mut expanded = Vec::new();
        for v in split_top_level(values) {
            if v.is_empty() {
                return Err(format!("`{s}`: an empty value"));
            }
            match range(&v).map_err(|e| format!("`{s}`: {e}"))? {
                Some(r) => expanded.extend(r),
                None => expanded.push(v),
            }
        }
        Ok(Setting { path, values: expanded })
    }
}

/// The most values one range may stand for.
pub const MAX_RANGE_VALUES: u64 = 1_000;

/// `0.5..5/0.5` → 0.5, 1.0, …, 5.0 (from, to inclusive, step), in exact decimals; `None` when
/// `v` is not a range.
fn range(v: &str) -> Result<Option<Vec<String>>, String> {
    // Text, tables and arrays are values as written.
    if v.starts_with(['"', '\'', '{', '[']) {
        return Ok(None);
    }
    let Some((from, rest)) = v.split_once("..") else {
        return Ok(None);
    };
    let (to, step) = rest.split_once('/').ok_or_else(|| format!("`{v}`: a range is FROM..TO/STEP, e.g. 0.5..5/0.5"))?;
    let num = |x: &str| x.trim().parse::<Decimal>().map_err(|_| format!("`{v}`: `{}` is not a number", x.trim()));
    let (from, to, step) = (num(from)?, num(to)?, num(step)?);
    if step <= Decimal::ZERO {
        return Err(format!("`{v}`: the step must be more than 0"));
    }
    if to < from {
        return Err(format!("`{v}`: the range ends before it starts"));
    }
    let count = ((to - from) / step).floor().to_u64().map(|n| n + 1);
    match count {
        Some(n) if n <= MAX_RANGE_VALUES => {}
        _ => return Err(format!("`{v}`: more than {MAX_RANGE_VALUES} values; use a larger step")),
    }
    let mut out = Vec::new();
    let mut x = from;
    while x <= to {
        out.push(x.to_string());
        x += step;
    }
    Ok(Some(out))
}

/// `2,3` → [2, 3]; `{ fixed = 2.00 },{ percent = 5 }` → two inline tables (commas inside
/// braces, brackets or quotes do not split).
fn split_top_level(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quote) = (Vec::new(), String::new(), 0i32, None::<char>);
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// Every combination of the settings' values, the first setting varying slowest.
pub fn grid(settings: &[Setting]) -> Vec<Vec<(Vec<String>, String)>> {
    let mut variants: Vec<Vec<(Vec<String>, String)>> = vec![Vec::new()];
    for s in settings {
        variants = variants
            .into_iter()
            .flat_map(|v| {
                s.values.iter().map(move |x| {
                    let mut v = v.clone();
                    v.push((s.path.clone(), x.clone()));
                    v
                })
            })
            .collect();
    }
    variants
}

/// A variant's label: `offers.cafe.reward.fixed=3.00, offers.cafe.min_spend=10`.
pub fn label(variant: &[(Vec<String>, String)]) -> String {
    if variant.is_empty() {
        return "as written".to_string();
    }
    variant.iter().map(|(p, v)| format!("{}={v}", p.join("."))).collect::<Vec<_>>().join(", ")
}

/// The scenario text with the variant's settings applied (comments and layout kept). The
/// table holding each setting must exist; the setting itself may be new. A bare number for a
/// `reward` is a fixed reward (`reward=3` is `reward={ fixed = 3 }`).
pub fn apply(text: &str, variant: &[(Vec<String>, String)]) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("the scenario is not valid TOML: {e}"))?;
    for (path, raw) in variant {
        // `reward=3` is short for `reward={ fixed = 3 }` (a percent reward is written out).
        let raw = match path.last().map(String::as_str) {
            Some("reward") if raw.parse::<f64>().is_ok() => format!("{{ fixed = {raw} }}"),
            _ => raw.clone(),
        };
        let value: toml_edit::Value = raw.parse().map_err(|_| {
            format!("`{raw}` (for {}) is not a TOML value; text needs quotes: '\"deals\"'", path.join("."))
        })?;
        set_in_table(doc.as_table_mut(), path, value)
            .map_err(|at| format!("`{}`: the scenario has no table `{at}` to set it in", path.join(".")))?;
    }
    Ok(doc.to_string())
}

/// Keeps the old value's spacing and comment around the new one.
fn replace(old: &mut toml_edit::Value, mut new: toml_edit::Value) {
    *new.decor_mut() = old.decor().clone();
    *old = new;
}

/// Sets `path` under a table; on failure, the part of the path that is not a table.
fn set_in_table(t: &mut dyn toml_edit::TableLike, path: &[String], value: toml_edit::Value) -> Result<(), String> {
    let (seg, rest) = path.split_first().ok_or_else(String::new)?;
    if rest.is_empty() {
        match t.get_mut(seg).and_then(|i| i.as_value_mut()) {
            Some(old) => replace(old, value),
            None => {
                t.insert(seg, toml_edit::Item::Value(value));
            }
        }
        return Ok(());
    }
    let child = t.get_mut(seg).ok_or_else(|| seg.clone())?;
    let table: &mut dyn toml_edit::TableLike = match child {
        toml_edit::Item::Table(c) => c,
        toml_edit::Item::Value(toml_edit::Value::InlineTable(c)) => c,
        _ => return Err(seg.clone()),
    };
    set_in_table(table, rest, value).map_err(|at| if at.is_empty() { seg.clone() } else { format!("{seg}.{at}") })
}

/// What a sweep compares, per run: (name, unit, higher is better).
pub const METRICS: &[(&str, Unit, bool)] = &[
    ("enrollments", Unit::Count, true),
    ("redemptions", Unit::Count, true),
    ("reward_cost", Unit::Money, false),
    ("merchant_cost", Unit::Money, false),
    ("attributed_spend", Unit::Money, true),
    ("incremental_spend", Unit::Money, true),
    ("incremental_margin", Unit::Money, true),
    ("net_margin", Unit::Money, true),
    ("roi", Unit::Ratio, true),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Money,
    Ratio,
}

/// The metrics of one run, in `METRICS` order (money in dollars, ROI as a ratio; `None`: ROI
/// without cost).
pub fn measure(world: &offersim_sim::world::World, out: &offersim_sim::outcome::Outcome) -> Vec<Option<f64>> {
    let dollars = |c: offersim_sim::Cents| c.to_decimal();
    let net_rewards = out.money.rewards_credited - out.money.rewards_clawed_back;
    let cost = dollars(out.merchant_cost());
    let attributed: offersim_sim::Cents = out.offers.iter().map(|o| o.attributed_spend).sum();
    let incremental: offersim_sim::Cents = out.offers.iter().map(|o| o.incremental_spend).sum();
    // `outcome::metrics`: the same definitions as the report's.
    let margin = out.incremental_margin(world);
    let roi = out.roi(world);
    let f = |d: Decimal| d.to_f64();
    vec![
        Some(out.funnel.enrollments as f64),
        Some(out.funnel.credits as f64),
        f(dollars(net_rewards)),
        f(cost),
        f(dollars(attributed)),
        f(dollars(incremental)),
        f(margin),
        f(margin - cost),
        roi.and_then(f),
    ]
}

/// Student's t quantile 0.975 for `df` degrees of freedom (`statrs`; NaN for none).
fn t975(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    match StudentsT::new(0.0, 1.0, df as f64) {
        Ok(t) if df > 0 => t.inverse_cdf(0.975),
        _ => f64::NAN,
    }
}

/// Mean and 95% half-width over the seeds (`None` values left out; no interval from one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: Option<f64>,
    pub n: usize,
}

pub fn estimate(xs: impl IntoIterator<Item = Option<f64>>) -> Option<Estimate> {
    let xs: Vec<f64> = xs.into_iter().flatten().collect();
    let n = xs.len();
    if n == 0 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    let half_width = (n > 1).then(|| {
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        t975(n - 1) * (var / n as f64).sqrt()
    });
    Some(Estimate { mean, half_width, n })
}

/// A value as its unit is shown.
pub fn show(unit: Unit, x: f64) -> String {
    match unit {
        Unit::Count => format!("{x:.1}"),
        Unit::Money => format!("{x:.2}"),
        Unit::Ratio => format!("{x:.3}"),
    }
}

pub fn show_estimate(unit: Unit, e: Option<Estimate>) -> String {
    match e {
        None => "n/a".to_string(),
        Some(Estimate { mean, half_width: None, .. }) => show(unit, mean),
        Some(Estimate { mean, half_width: Some(h), .. }) => format!("{} ± {}", show(unit, mean), show(unit, h)),
    }
}

/// A finished sweep: every variant's estimates, the paired differences, the best variant.
pub struct Sweep {
    pub scenario: String,
    pub file: String,
    pub seeds: Vec<u64>,
    /// Index into `METRICS` of the metric that names the best variant.
    pub metric: usize,
    pub variants: Vec<VariantResult>,
    /// The best variant by `metric` (highest, or lowest for costs), if any has a value.
    pub best: Option<usize>,
    /// The best variant's grid neighbours (one setting one step away), each with the best's
    /// metric minus the neighbour's, seed by seed.
    pub neighbours: Vec<(usize, Option<Estimate>)>,
    /// Every run's metrics: `runs[v][i]` of variant `v` at seed `i` (runs.csv).
    pub runs: Vec<Vec<Vec<Option<f64>>>>,
}

/// The variants one step away from variant `k` along one setting of the grid (`dims`: values
/// per setting, the first varying slowest, as `grid` builds it).
pub fn grid_neighbours(k: usize, dims: &[usize]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stride = 1;
    for &n in dims.iter().rev() {
        let at = (k / stride) % n.max(1);
        if at > 0 {
            out.push(k - stride);
        }
        if at + 1 < n {
            out.push(k + stride);
        }
        stride *= n.max(1);
    }
    out.sort_unstable();
    out
}

/// Whether a paired difference is clearly not zero (its 95% interval excludes zero).
pub fn clear(e: Option<Estimate>) -> bool {
    e.and_then(|p| p.half_width.map(|h| p.mean.abs() > h)).unwrap_or(false)
}

pub struct VariantResult {
    pub label: String,
    pub settings: Vec<(String, String)>,
    /// Per metric, in `METRICS` order.
    pub estimates: Vec<Option<Estimate>>,
    /// The chosen metric minus the first variant's, seed by seed (common random numbers).
    pub paired: Option<Estimate>,
}

impl Sweep {
    /// `runs[v][i]`: the metrics of variant `v` at seed `i`.
    pub fn new(
        scenario: &str,
        file: &std::path::Path,
        variants: &[Vec<(Vec<String>, String)>],
        seeds: &[u64],
        metric: usize,
        runs: &[Vec<Vec<Option<f64>>>],
    ) -> Sweep {
        let results: Vec<VariantResult> = variants
            .iter()
            .zip(runs)
            .map(|(v, r)| {
                let estimates = (0..METRICS.len()).map(|m| estimate(r.iter().map(|run| run[m]))).collect();
                let paired = estimate(r.iter().zip(&runs[0]).map(|(a, b)| Some(a[metric]? - b[metric]?)));
                VariantResult {
                    label: label(v),
                    settings: v.iter().map(|(p, x)| (p.join("."), x.clone())).collect(),
                    estimates,
                    paired,
                }
            })
            .collect();
        let higher = METRICS[metric].2;
        let best = results
            .iter()
            .enumerate()
            .filter_map(|(k, r)| r.estimates[metric].map(|e| (k, e.mean)))
            .fold(None::<(usize, f64)>, |acc, (k, m)| match acc {
                Some((_, b)) if (higher && m <= b) || (!higher && m >= b) => acc,
                _ => Some((k, m)),
            })
            .map(|(k, _)| k);
        // The grid's shape from the variants: distinct values per setting, in order.
        let dims: Vec<usize> = (0..variants.first().map_or(0, Vec::len))
            .map(|i| {
                let mut seen: Vec<&String> = Vec::new();
                for v in variants {
                    if !seen.contains(&&v[i].1) {
                        seen.push(&v[i].1);
                    }
                }
                seen.len()
            })
            .collect();
        let neighbours = match best {
            Some(b) if dims.iter().product::<usize>() == variants.len() => grid_neighbours(b, &dims)
                .into_iter()
                .map(|n| (n, estimate(runs[b].iter().zip(&runs[n]).map(|(a, c)| Some(a[metric]? - c[metric]?)))))
                .collect(),
            _ => Vec::new(),
        };
        Sweep {
            scenario: scenario.to_string(),
            file: file.display().to_string(),
            seeds: seeds.to_vec(),
            metric,
            variants: results,
            best,
            neighbours,
            runs: runs.to_vec(),
        }
    }

    /// `runs.csv`: one row per (variant, seed) run with every setting and every metric (money
    /// in dollars, ROI as a ratio; empty where a metric has no value), for a dataframe.
    pub fn runs_csv(&self) -> String {
        let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let settings: Vec<&String> =
            self.variants.first().map(|v| v.settings.iter().map(|(p, _)| p).collect()).unwrap_or_default();
        let mut header = vec!["variant".to_string(), "seed".to_string()];
        header.extend(settings.iter().map(|p| quoted(p)));
        header.extend(METRICS.iter().map(|(m, _, _)| m.to_string()));
        let mut s = header.join(",") + "\n";
        for (k, (v, runs)) in self.variants.iter().zip(&self.runs).enumerate() {
            for (seed, run) in self.seeds.iter().zip(runs) {
                let mut row = vec![(k + 1).to_string(), seed.to_string()];
                row.extend(v.settings.iter().map(|(_, x)| quoted(x)));
                row.extend(run.iter().map(|m| m.map(|x| x.to_string()).unwrap_or_default()));
                s.push_str(&(row.join(",") + "\n"));
            }
        }
        s
    }

    pub fn markdown(&self, dir: &std::path::Path) -> String {
        use std::fmt::Write as _;
        let (name, unit, higher) = METRICS[self.metric];
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Sweep of {} ({} variants × {} seeds)\n",
            self.scenario,
            self.variants.len(),
            self.seeds.len()
        );
        let _ = writeln!(
            s,
            "Seeds {}..={} of `{}`, the same for every variant (common random numbers). Mean ± 95% interval over the seeds.\n",
            self.seeds.first().copied().unwrap_or(0),
            self.seeds.last().copied().unwrap_or(0),
            self.file
        );
        let _ = write!(s, "| # | Variant |");
        for (m, _, _) in METRICS {
            let _ = write!(s, " {m} |");
        }
        let _ = writeln!(s, " {name} − #1 (paired) |");
        let _ = write!(s, "|---|---|");
        for _ in 0..=METRICS.len() {
            let _ = write!(s, "---:|");
        }
        let _ = writeln!(s);
        for (k, v) in self.variants.iter().enumerate() {
            let _ = write!(s, "| {} | {} |", k + 1, v.label);
            for (m, (_, u, _)) in METRICS.iter().enumerate() {
                let _ = write!(s, " {} |", show_estimate(*u, v.estimates[m]));
            }
            let paired = if k == 0 { "—".to_string() } else { show_estimate(unit, v.paired) };
            let _ = writeln!(s, " {paired} |");
        }
        let _ = writeln!(s);
        match self.best {
            Some(b) => {
                let v = &self.variants[b];
                let _ = writeln!(
                    s,
                    "**Best by {name}** ({} is better): #{} {} — {name} {}.",
                    if higher { "higher" } else { "lower" },
                    b + 1,
                    v.label,
                    show_estimate(unit, v.estimates[self.metric])
                );
                if b > 0 {
                    let _ = writeln!(
                        s,
                        "Against #1, seed by seed: {} ({}).",
                        show_estimate(unit, v.paired),
                        if clear(v.paired) {
                            "the interval excludes zero"
                        } else {
                            "the interval includes zero: not a clear difference"
                        }
                    );
                }
                if !self.neighbours.is_empty() {
                    let parts: Vec<String> = self
                        .neighbours
                        .iter()
                        .map(|&(n, e)| {
                            let how = if clear(e) { "clear" } else { "not clear" };
                            format!("#{} {}: {} ({how})", n + 1, self.variants[n].label, show_estimate(unit, e))
                        })
                        .collect();
                    let verdict = if self.neighbours.iter().all(|&(_, e)| clear(e)) {
                        "it beats every neighbour clearly"
                    } else {
                        "it does not clearly beat every neighbour: the optimum may lie between them"
                    };
                    let _ = writeln!(
                        s,
                        "Against its neighbours in the grid, seed by seed ({name} of #{} minus theirs): {}; {verdict}.",
                        b + 1,
                        parts.join("; ")
                    );
                }
            }
            None => {
                let _ = writeln!(s, "No variant has a value for {name}.");
            }
        }
        let _ = writeln!(
            s,
            "\nReplay one run: `offersim run {} --seed {}` (variant #1; #k is `variants/v<k>.toml`).",
            dir.join("variants").join("v1.toml").display(),
            self.seeds.first().copied().unwrap_or(0)
        );
        s
    }
}

/// `fixed=3.00, min_spend=10` (each setting by the last part of its path), for chart labels.
fn short(v: &VariantResult) -> String {
    v.settings.iter().map(|(p, x)| format!("{}={x}", p.rsplit('.').next().unwrap_or(p))).collect::<Vec<_>>().join(", ")
}

impl Sweep {
    /// `sweep.html`: the best variant, and an interval chart per metric (the chosen one first).
    pub fn html(&self) -> String {
        use offersim_reports::html::{escape, intervals, page};
        let (name, _, higher) = METRICS[self.metric];
        let mut body = format!(
            "<p class=\"meta\">{} variants × {} seeds of <code>{}</code>, the same seeds for every variant (common random numbers). Mean and 95% interval over the seeds.</p>",
            self.variants.len(),
            self.seeds.len(),
            escape(&self.file)
        );
        if let Some(b) = self.best {
            body.push_str(&format!(
                "<p><strong>Best by {name}</strong> ({} is better): #{} {}</p>",
                if higher { "higher" } else { "lower" },
                b + 1,
                escape(&self.variants[b].label)
            ));
        }
        let order = std::iter::once(self.metric).chain((0..METRICS.len()).filter(|&m| m != self.metric));
        for m in order {
            let (metric, unit, _) = METRICS[m];
            let items: Vec<(String, f64, Option<f64>)> = self
                .variants
                .iter()
                .enumerate()
                .filter_map(|(k, v)| v.estimates[m].map(|e| (format!("#{} {}", k + 1, short(v)), e.mean, e.half_width)))
                .collect();
            if items.is_empty() {
                continue;
            }
            body.push_str(&format!("<h2>{}</h2>", escape(metric)));
            body.push_str(&intervals(metric, &items, &|x| show(unit, x)));
            if let Some((setting, xs)) = self.one_numeric_setting() {
                let points: Vec<(f64, f64, Option<f64>)> = self
                    .variants
                    .iter()
                    .zip(&xs)
                    .filter_map(|(v, &x)| v.estimates[m].map(|e| (x, e.mean, e.half_width)))
                    .collect();
                let title = format!("{metric} against {setting}");
                body.push_str(&offersim_reports::html::band(&title, setting, &points, &|x| show(unit, x)));
            }
        }
        page(&format!("offersim sweep: {}", self.scenario), &body)
    }

    /// For a sweep over one setting whose values are all numbers: its name and each variant's
    /// value.
    fn one_numeric_setting(&self) -> Option<(&str, Vec<f64>)> {
        let first = self.variants.first()?;
        let [(path, _)] = first.settings.as_slice() else { return None };
        let xs: Option<Vec<f64>> = self.variants.iter().map(|v| v.settings.first()?.1.parse::<f64>().ok()).collect();
        Some((path.as_str(), xs?))
    }

    /// One row per (variant, metric): `variant,label,metric,mean,ci95_low,ci95_high,runs`.
    pub fn csv(&self) -> String {
        let mut s = String::from("variant,label,metric,mean,ci95_low,ci95_high,runs\n");
        for (k, v) in self.variants.iter().enumerate() {
            for (m, (name, unit, _)) in METRICS.iter().enumerate() {
                let (mean, lo, hi, n) = match v.estimates[m] {
                    Some(e) => {
                        let h = e.half_width;
                        (
                            show(*unit, e.mean),
                            h.map(|h| show(*unit, e.mean - h)).unwrap_or_default(),
                            h.map(|h| show(*unit, e.mean + h)).unwrap_or_default(),
                            e.n,
                        )
                    }
                    None => (String::new(), String::new(), String::new(), 0),
                };
                let label = v.label.replace('"', "\"\"");
                s.push_str(&format!("{},\"{label}\",{name},{mean},{lo},{hi},{n}\n", k + 1));
            }
        }
        s
    }

    pub fn json(&self) -> String {
        let est = |unit: Unit, e: Option<Estimate>| {
            e.map(|e| EstimateJson {
                ci95: e.half_width.map(|h| [show(unit, e.mean - h), show(unit, e.mean + h)]),
                mean: show(unit, e.mean),
                runs: e.n,
            })
        };
        let (name, unit, higher) = METRICS[self.metric];
        let doc = SweepJson {
            best: self.best.map(|b| b + 1),
            best_minus_neighbours: self
                .neighbours
                .iter()
                .map(|&(n, e)| NeighbourJson { clear: clear(e), paired: est(unit, e), variant: n + 1 })
                .collect(),
            file: &self.file,
            higher_is_better: higher,
            metric: name,
            scenario: &self.scenario,
            schema: SWEEP_SCHEMA,
            seeds: &self.seeds,
            variants: self
                .variants
                .iter()
                .map(|v| VariantJson {
                    label: &v.label,
                    metrics: METRICS.iter().enumerate().map(|(m, (n, u, _))| (*n, est(*u, v.estimates[m]))).collect(),
                    paired_vs_first: est(unit, v.paired),
                    settings: v.settings.iter().map(|(path, value)| SettingJson { path, value }).collect(),
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// The shape tag at the top of sweep.json (and the `$id` of its schema).
pub const SWEEP_SCHEMA: &str = "offersim.sweep/1";

/// sweep.json, field by field (keys in alphabetical order, as the file has always had them).
#[derive(Serialize, JsonSchema)]
pub struct SweepJson<'a> {
    /// The best variant by `metric`, numbered from 1 (null when no variant has a value).
    pub best: Option<usize>,
    /// The best variant's metric minus each grid neighbour's (one setting one step away), seed
    /// by seed; `clear` when the 95% interval excludes 0.
    pub best_minus_neighbours: Vec<NeighbourJson>,
    pub file: &'a str,
    pub higher_is_better: bool,
    /// The metric that names the best variant.
    pub metric: &'static str,
    pub scenario: &'a str,
    pub schema: &'static str,
    pub seeds: &'a [u64],
    pub variants: Vec<VariantJson<'a>>,
}

/// A mean over seeds, as text in the metric's unit, with its 95% Student-t interval (null
/// with fewer than two runs).
#[derive(Serialize, JsonSchema)]
pub struct EstimateJson {
    pub ci95: Option<[String; 2]>,
    pub mean: String,
    pub runs: usize,
}

#[derive(Serialize, JsonSchema)]
pub struct NeighbourJson {
    pub clear: bool,
    pub paired: Option<EstimateJson>,
    /// Numbered from 1.
    pub variant: usize,
}

#[derive(Serialize, JsonSchema)]
pub struct VariantJson<'a> {
    pub label: &'a str,
    /// Every metric (null when no run measured it).
    pub metrics: BTreeMap<&'static str, Option<EstimateJson>>,
    /// The chosen metric minus the first variant's, seed by seed (common random numbers).
    pub paired_vs_first: Option<EstimateJson>,
    pub settings: Vec<SettingJson<'a>>,
}

#[derive(Serialize, JsonSchema)]
pub struct SettingJson<'a> {
    /// The dotted path into the scenario file.
    pub path: &'a str,
    /// The value as TOML text.
    pub value: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_t_quantile_is_students_to_four_decimals() {
        for (df, t) in [(1, 12.7062), (4, 2.7764), (9, 2.2622), (19, 2.0930), (30, 2.0423), (1_000, 1.9623)] {
            assert!((t975(df) - t).abs() < 5e-5, "t(0.975, {df}) = {}", t975(df));
        }
        assert!(t975(0).is_nan());
    }

    #[test]
    fn settings_split_values_at_top_level_commas_only() {
        let s: Setting = "offers.cafe.reward={ fixed = 2.00 },{ percent = 5, cap = 3.00 }".parse().unwrap();
        assert_eq!(s.path, ["offers", "cafe", "reward"]);
        assert_eq!(s.values, ["{ fixed = 2.00 }", "{ percent = 5, cap = 3.00 }"]);
        let t: Setting = "offers.cafe.min_spend=5,10".parse().unwrap();
        assert_eq!(t.values, ["5", "10"]);
        assert!("offers.cafe.min_spend".parse::<Setting>().unwrap_err().contains("expected PATH=VALUE"));
        assert!("offers..x=1".parse::<Setting>().unwrap_err().contains("dotted path"));
        assert!("a.b=1,,2".parse::<Setting>().unwrap_err().contains("empty value"));
    }

    #[test]
    fn a_range_with_a_step_stands_for_every_value_in_exact_decimals() {
        let s: Setting = "offers.cafe.reward=0.5..2/0.5".parse().unwrap();
        assert_eq!(s.values, ["0.5", "1.0", "1.5", "2.0"]);
        // 0.1 steps add up exactly (no 0.30000000000000004), and a range mixes with a list.
        let t: Setting = "offers.cafe.min_spend=0.1..0.3/0.1,10".parse().unwrap();
        assert_eq!(t.values, ["0.1", "0.2", "0.3", "10"]);
        // The end is kept only if a step lands on it.
        let u: Setting = "a.b=1..2/0.4".parse().unwrap();
        assert_eq!(u.values, ["1", "1.4", "1.8"]);
        for (bad, why) in [
            ("a.b=1..5", "FROM..TO/STEP"),
            ("a.b=1..5/0", "more than 0"),
            ("a.b=5..1/1", "ends before it starts"),
            ("a.b=0..1000000/1", "more than 1000 values"),
            ("a.b=x..2/1", "not a number"),
        ] {
            let e = bad.parse::<Setting>().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn grid_neighbours_are_one_step_along_one_setting() {
        // 3 × 4 grid, first setting slowest: variant 5 is (1, 1).
        assert_eq!(grid_neighbours(5, &[3, 4]), vec![1, 4, 6, 9]);
        assert_eq!(grid_neighbours(0, &[3, 4]), vec![1, 4]);
        assert_eq!(grid_neighbours(11, &[3, 4]), vec![7, 10]);
        assert_eq!(grid_neighbours(2, &[5]), vec![1, 3]);
        assert!(grid_neighbours(0, &[1]).is_empty());
    }

    #[test]
    fn the_grid_is_every_combination_first_setting_slowest() {
        let sets: Vec<Setting> = ["a.x=1,2", "a.y=3,4,5"].iter().map(|s| s.parse().unwrap()).collect();
        let g = grid(&sets);
        assert_eq!(g.len(), 6);
        assert_eq!(label(&g[0]), "a.x=1, a.y=3");
        assert_eq!(label(&g[1]), "a.x=1, a.y=4");
        assert_eq!(label(&g[5]), "a.x=2, a.y=5");
    }

    #[test]
    fn apply_sets_values_in_tables_and_inline_tables_keeping_comments() {
        let text = "[offers.cafe]\nreward = { fixed = 2.00 }\nmin_spend = 5.00  # over $5\n";
        let v = vec![
            (vec!["offers".into(), "cafe".into(), "reward".into(), "fixed".into()], "3.00".to_string()),
            (vec!["offers".into(), "cafe".into(), "min_spend".into()], "10.00".to_string()),
            (vec!["offers".into(), "cafe".into(), "budget".into()], "500.00".to_string()),
        ];
        let out = apply(text, &v).unwrap();
        assert!(out.contains("reward = { fixed = 3.00 }"), "{out}");
        assert!(out.contains("min_spend = 10.00  # over $5"), "{out}");
        assert!(out.contains("budget = 500.00"), "{out}");
        let short = apply(text, &[(vec!["offers".into(), "cafe".into(), "reward".into()], "3".into())]).unwrap();
        assert!(short.contains("reward = { fixed = 3 }"), "{short}");
        let bad = apply(text, &[(vec!["offers".into(), "deli".into(), "min_spend".into()], "1".into())]).unwrap_err();
        assert!(bad.contains("no table `offers.deli`"), "{bad}");
        let not_toml =
            apply(text, &[(vec!["offers".into(), "cafe".into(), "id".into()], "two words".into())]).unwrap_err();
        assert!(not_toml.contains("is not a TOML value"), "{not_toml}");
    }

    #[test]
    fn estimates_use_student_t_and_need_two_runs_for_an_interval() {
        let e = estimate([Some(1.0), Some(2.0), Some(3.0), None]).unwrap();
        assert_eq!(e.n, 3);
        assert!((e.mean - 2.0).abs() < 1e-12);
        // sd = 1, se = 1/√3, t(0.975, 2) = 4.30265.
        assert!((e.half_width.unwrap() - 4.30265 / 3f64.sqrt()).abs() < 1e-5);
        assert_eq!(estimate([Some(5.0)]).unwrap().half_width, None);
        assert!(estimate([None]).is_none());
        assert_eq!(show_estimate(Unit::Money, Some(e)), "2.00 ± 2.48");
    }
}
