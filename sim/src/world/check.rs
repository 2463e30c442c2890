//! Validation helpers shared by the builders: ranges, probabilities, money, hours, offsets,
//! the built-in hourly profiles, and "did you mean" hints.

use super::config::*;
use super::limits::*;
use crate::core::money::Cents;

/// Hourly weights of the built-in profiles.
pub fn builtin_profile(name: &str) -> Option<[f64; 24]> {
    let p: [f64; 24] = match name {
        "flat" => [1.0; 24],
        // a lunch peak and an evening peak, quiet at night
        "lunch_evening" => [
            0.1, 0.05, 0.05, 0.05, 0.05, 0.1, 0.3, 0.7, 1.0, 1.0, 1.1, 1.6, 2.6, 2.2, 1.2, 1.0, 1.1, 1.5, 2.0, 2.2,
            1.8, 1.1, 0.5, 0.2,
        ],
        // shops: open in the day, busiest in the afternoon
        "daytime" => [
            0.05, 0.02, 0.02, 0.02, 0.02, 0.05, 0.2, 0.5, 1.0, 1.5, 1.8, 2.0, 2.1, 2.0, 2.0, 2.1, 2.0, 1.8, 1.5, 1.1,
            0.7, 0.4, 0.2, 0.1,
        ],
        // online: evenings
        "evening" => [
            0.4, 0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 0.6, 0.8, 0.9, 1.0, 1.0, 1.1, 1.0, 1.0, 1.0, 1.1, 1.2, 1.5, 1.9, 2.3,
            2.4, 1.8, 1.0,
        ],
        _ => return None,
    };
    Some(p)
}

pub(super) fn normalise_mean_one(p: &[f64]) -> [f64; 24] {
    let mean = p.iter().sum::<f64>() / 24.0;
    let mut out = [0.0; 24];
    for (o, v) in out.iter_mut().zip(p) {
        *o = v / mean;
    }
    out
}

pub(super) fn finite_in(x: f64, lo: f64, hi: f64) -> bool {
    x.is_finite() && x >= lo && x <= hi
}

pub(super) fn check_prob(pr: &mut Problems, p: Vec<PathSeg>, x: f64) {
    if !finite_in(x, 0.0, 1.0) {
        pr.push(p, format!("must be a probability between 0 and 1, found {x}"));
    }
}

pub(crate) fn check_range(pr: &mut Problems, p: Vec<PathSeg>, x: f64, lo: f64, hi: f64) {
    if !finite_in(x, lo, hi) {
        pr.push(p, format!("must be between {lo} and {hi}, found {x}"));
    }
}

pub(super) fn check_sum_one(pr: &mut Problems, p: Vec<PathSeg>, what: &str, sum: f64) {
    if (sum - 1.0).abs() > SHARE_TOLERANCE {
        pr.push(p, format!("{what} must sum to 1, they sum to {sum}"));
    }
}

pub(crate) fn check_id(pr: &mut Problems, p: Vec<PathSeg>, what: &str, id: &str) {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        pr.push(p, format!("{what} `{id}` must be 1-64 characters of letters, digits, `_` or `-`"));
    }
}

/// Money with at most two decimal places, in (0 or more, up to the limit).
pub(crate) fn money(pr: &mut Problems, p: Vec<PathSeg>, d: DecimalInput, allow_zero: bool) -> Cents {
    let Some(c) = Cents::from_decimal_exact(d.0) else {
        pr.push(p, format!("{} has more than two decimal places (amounts are in cents)", d.0));
        return Cents::ZERO;
    };
    if c.0 < 0 || (c.0 == 0 && !allow_zero) || c.0 > MAX_MONEY {
        let lo = if allow_zero { "0" } else { "more than 0" };
        pr.push(p, format!("must be {lo} and at most {}, found {}", Cents(MAX_MONEY), d.0));
    }
    c
}

pub(crate) fn hours_window(pr: &mut Problems, p: Vec<PathSeg>, h: &Option<Vec<u32>>) -> (u8, u8) {
    match h.as_deref() {
        None => (0, 24),
        Some([a, b]) if *a < *b && *b <= 24 => (*a as u8, *b as u8),
        Some([a, b]) => {
            pr.push(p, format!("hours [{a}, {b}] must be [start, end) with 0 <= start < end <= 24"));
            (0, 24)
        }
        Some(other) => {
            pr.push(p, format!("hours must be two numbers [start, end), found {} numbers", other.len()));
            (0, 24)
        }
    }
}

/// Offsets lie between -12:00 and +14:00, in quarter hours.
pub(super) fn check_offset(pr: &mut Problems, p: Vec<PathSeg>, o: OffsetInput) {
    if !(-12 * 3_600..=14 * 3_600).contains(&o.0) || o.0 % 900 != 0 {
        pr.push(p, "a UTC offset lies between -12:00 and +14:00, in quarter hours");
    }
}

/// A hint naming the known name nearest to `got` ("did you mean …?"), if one is near enough:
/// a Levenshtein distance of at most 2, or a third of its length.
pub fn hint<'a, S: AsRef<str> + 'a>(got: &str, known: impl Iterator<Item = S>) -> String {
    let best = known
        .map(|k| (strsim::levenshtein(got, k.as_ref()), k.as_ref().to_string()))
        .filter(|(d, _)| *d <= 2.max(got.len() / 3))
        .min();
    match best {
        Some((_, k)) => format!(" (did you mean `{k}`?)"),
        None => String::new(),
    }
}
