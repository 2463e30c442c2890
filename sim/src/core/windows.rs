//! A Poisson process that runs only inside daily windows (hours `h0..h1` of each day, within a
//! span): the windows laid end to end, the process run once over their total length (it has no
//! memory, so this is the same process), each arrival mapped back to its day. Worked out once
//! per (span, hours, rate) — per offer — so that a person's arrivals cost a draw each, with one
//! walk forward over the days for all of them (most people see a given offer rarely or never).

use crate::core::rng::Hashed;
use crate::core::sample::exponential;
use crate::core::time::{daily_window, window_rate, SimTime, SECONDS_PER_DAY, SECONDS_PER_HOUR};

/// The windows of a span: the first day's (cut by the span's start), the whole windows of the
/// days strictly between, the last day's (cut by its end). Positions on the line are exposure
/// seconds since the first window opened, whole numbers (exact in an `f64`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Windows {
    /// Arrivals per exposure second (`time::window_rate`).
    pub rate: f64,
    /// The first day's window: where it opens, and how long (0: none).
    first: (u64, u64),
    /// The first whole day's window opens here; `days` of them, `full` seconds each.
    middle: u64,
    days: u64,
    full: u64,
    /// The last day's window, when the span ends on a later day than it starts.
    last: (u64, u64),
}

impl Windows {
    /// The windows `hours` of every day of `start..end` cut at `period_end`, with `per_day`
    /// arrivals a day.
    pub fn new(period_end: SimTime, (start, end): (SimTime, SimTime), hours: (u8, u8), per_day: f64) -> Windows {
        let end = end.min(period_end);
        let (first_day, last_day) = (start.day_index(), end.day_index().max(start.day_index()));
        let window = |day: usize| daily_window(day, (start, end), hours).map_or((0, 0), |(lo, hi)| (lo, hi - lo));
        let full = u64::from(hours.1.saturating_sub(hours.0)) * SECONDS_PER_HOUR;
        let days = if full == 0 { 0 } else { (last_day - first_day).saturating_sub(1) as u64 };
        Windows {
            rate: window_rate(per_day, hours),
            first: window(first_day),
            middle: (first_day as u64 + 1) * SECONDS_PER_DAY + u64::from(hours.0) * SECONDS_PER_HOUR,
            days,
            full,
            last: if last_day > first_day { window(last_day) } else { (0, 0) },
        }
    }

    /// The arrival times of the process whose k-th gap is exponential from the keyed hash of
    /// (`key`, k), in order, to `emit` until it returns false: nothing to start for the many
    /// people who never see most of what targets them, and a person's k-th arrival depends on
    /// nothing else they do.
    pub fn arrivals(&self, key: u64, mut emit: impl FnMut(SimTime) -> bool) {
        let mut gaps = Hashed::from_key(key);
        let mut t = exponential(&mut gaps, self.rate);
        // `before`: the exposure seconds of the windows before the current one.
        let (lo, len) = self.first;
        let mut before = 0.0;
        while t < before + len as f64 {
            if !emit(SimTime(lo + (t - before) as u64)) {
                return;
            }
            t += exponential(&mut gaps, self.rate);
        }
        before += len as f64;
        if self.days > 0 {
            let full = self.full as f64;
            let end = before + (self.days * self.full) as f64;
            // Whole day `k`'s window opens at `opened` on the line (whole numbers, so the sums are
            // exact); arrivals only move forward, so the day does too.
            let (mut k, mut opened) = (0u64, before);
            while t < end {
                while t >= opened + full {
                    k += 1;
                    opened += full;
                }
                if !emit(SimTime(self.middle + k * SECONDS_PER_DAY + (t - opened) as u64)) {
                    return;
                }
                t += exponential(&mut gaps, self.rate);
            }
            before = end;
        }
        let (lo, len) = self.last;
        while t < before + len as f64 {
            if !emit(SimTime(lo + (t - before) as u64)) {
                return;
            }
            t += exponential(&mut gaps, self.rate);
        }
    }
}
