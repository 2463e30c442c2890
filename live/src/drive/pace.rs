//! When each request is due (open model: a slow answer never delays the next send).
//!
//! - `Speed(x)`: the scenario's timeline compressed `x` times (`3600x`: a simulated hour per
//!   second); bursts in the timeline (a clearing batch, an outage's backlog) stay bursts.
//! - `Rate { from, to }`: a fixed arrival rate in requests per second (k6's constant arrival
//!   rate), or one ramping linearly from `from` to `to` over the run (ramping arrival rate).

use offersim_sim::SimTime;
use std::time::Duration;

/// The slowest speed (x) or rate (/s) accepted: slower paces would put requests years apart.
pub const MIN_PACE: f64 = 0.001;

/// Seconds as a `Duration`, saturating at a century (beyond any drive's time limit).
fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::from_secs(100 * 365 * 86_400))
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    Speed(f64),
    Rate { from: f64, to: f64 },
}

impl Pace {
    /// Parses `3600x` (a speed) or `500/s`, `100..2000/s` (a rate).
    pub fn parse_speed(s: &str) -> Result<Pace, String> {
        let v: f64 = s
            .trim()
            .trim_end_matches(['x', 'X'])
            .replace('_', "")
            .parse()
            .map_err(|_| format!("`{s}` is not a speed; write e.g. 3600x (a simulated hour per second)"))?;
        if !(v.is_finite() && v > 0.0) {
            return Err(format!("the speed must be positive, found `{s}`"));
        }
        if v < MIN_PACE {
            return Err(format!("the speed must be at least {MIN_PACE}x, found `{s}`"));
        }
        Ok(Pace::Speed(v))
    }

    pub fn parse_rate(s: &str) -> Result<Pace, String> {
        let body = s.trim().strip_suffix("/s").unwrap_or(s.trim());
        let num = |t: &str| -> Result<f64, String> {
            let v: f64 = t
                .trim()
                .replace('_', "")
                .parse()
                .map_err(|_| format!("`{s}` is not a rate; write e.g. 500/s or 100..2000/s"))?;
            if v.is_finite() && v >= MIN_PACE {
                Ok(v)
            } else {
                Err(format!("a rate must be positive (at least {MIN_PACE}/s), found `{s}`"))
            }
        };
        match body.split_once("..") {
            Some((a, b)) => Ok(Pace::Rate { from: num(a)?, to: num(b)? }),
            None => {
                let r = num(body)?;
                Ok(Pace::Rate { from: r, to: r })
            }
        }
    }

    /// When request `i` of `n`, at simulated time `at` (the first at `first`), is due after the
    /// start.
    pub fn offset(&self, i: usize, n: usize, at: SimTime, first: SimTime) -> Duration {
        match *self {
            Pace::Speed(x) => secs(at.0.saturating_sub(first.0) as f64 / x),
            Pace::Rate { from, to } if (from - to).abs() < 1e-9 => secs(i as f64 / from),
            Pace::Rate { from, to } => {
                // Rate a + (b − a)·t/T over T = 2n/(a + b): request i is due when
                // a·t + (b − a)·t²/(2T) = i.
                let (a, b) = (from, to);
                let total = 2.0 * n as f64 / (a + b);
                let k = (b - a) / (2.0 * total);
                let t = (-a + (a * a + 4.0 * k * i as f64).max(0.0).sqrt()) / (2.0 * k);
                secs(t)
            }
        }
    }

    pub fn describe(&self) -> String {
        match *self {
            Pace::Speed(x) => format!("the scenario's timeline at {x}x"),
            Pace::Rate { from, to } if (from - to).abs() < 1e-9 => format!("{from} requests/s"),
            Pace::Rate { from, to } => format!("{from} → {to} requests/s, ramping"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_speed_compresses_the_timeline() {
        let p = Pace::parse_speed("3600x").unwrap();
        assert_eq!(p.offset(5, 10, SimTime(7_200 + 100), SimTime(100)), Duration::from_secs(2));
    }

    #[test]
    fn a_constant_rate_spaces_requests_evenly() {
        let p = Pace::parse_rate("500/s").unwrap();
        assert_eq!(p.offset(1_000, 5_000, SimTime(0), SimTime(0)), Duration::from_secs(2));
    }

    #[test]
    fn a_ramp_sends_the_last_request_at_the_computed_end() {
        // 100 → 300/s over n = 4,000 requests: T = 2n/(a+b) = 20 s.
        let p = Pace::parse_rate("100..300/s").unwrap();
        let end = p.offset(4_000, 4_000, SimTime(0), SimTime(0)).as_secs_f64();
        assert!((end - 20.0).abs() < 1e-6, "{end}");
        // Halfway through the requests is past halfway through the time (it starts slow).
        assert!(p.offset(2_000, 4_000, SimTime(0), SimTime(0)).as_secs_f64() > 10.0);
    }

    #[test]
    fn bad_paces_are_refused_with_an_example() {
        assert!(Pace::parse_speed("fast").unwrap_err().contains("3600x"));
        assert!(Pace::parse_rate("-5/s").is_err());
        assert!(Pace::parse_rate("x/s").unwrap_err().contains("500/s"));
    }
}
