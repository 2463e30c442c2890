//! Virtual time. `SimTime` counts seconds since the scenario's start (local midnight of its
//! first day). The simulation never reads the wall clock; calendars are derived from the
//! scenario's start date.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Timelike};
use serde::Serialize;

pub const SECONDS_PER_HOUR: u64 = 3_600;
pub const SECONDS_PER_DAY: u64 = 86_400;

/// Seconds since the scenario start. Ordered, copyable, never negative.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);

    pub fn from_hours(hours: u64) -> SimTime {
        SimTime(hours * SECONDS_PER_HOUR)
    }
    pub fn from_days(days: u64) -> SimTime {
        SimTime(days * SECONDS_PER_DAY)
    }
    pub fn seconds(self) -> u64 {
        self.0
    }
    pub fn plus_seconds(self, seconds: u64) -> SimTime {
        SimTime(self.0.saturating_add(seconds))
    }
    /// Index of the hour since start (0 for the first hour).
    pub fn hour_index(self) -> usize {
        (self.0 / SECONDS_PER_HOUR) as usize
    }
    pub fn day_index(self) -> usize {
        (self.0 / SECONDS_PER_DAY) as usize
    }
    /// Hour of the local day, 0..24.
    pub fn hour_of_day(self) -> usize {
        ((self.0 % SECONDS_PER_DAY) / SECONDS_PER_HOUR) as usize
    }
}

/// Hours `h0..h1` of day `day`, cut to `start..end`; `None` when that leaves nothing: one
/// day's exposure window (`people::exposure_times`).
pub fn daily_window(day: usize, (start, end): (SimTime, SimTime), (h0, h1): (u8, u8)) -> Option<(u64, u64)> {
    let day0 = day as u64 * SECONDS_PER_DAY;
    let lo = (day0 + h0 as u64 * SECONDS_PER_HOUR).max(start.0);
    let hi = (day0 + h1 as u64 * SECONDS_PER_HOUR).min(end.0);
    (lo < hi).then_some((lo, hi))
}

/// The rate per exposure second of `per_day` events a day that happen only within the daily
/// window `hours` (`people::exposure_times`' process, and the threshold that skips it).
pub fn window_rate(per_day: f64, (h0, h1): (u8, u8)) -> f64 {
    per_day / (h1.saturating_sub(h0) as f64 * SECONDS_PER_HOUR as f64)
}

/// The seconds of every day's window from `start`'s day to `end`'s: the length of the process
/// `exposure_times` runs.
pub fn daily_window_seconds((start, end): (SimTime, SimTime), hours: (u8, u8)) -> u64 {
    (start.day_index()..=end.day_index().max(start.day_index()))
        .filter_map(|day| daily_window(day, (start, end), hours))
        .map(|(lo, hi)| hi - lo)
        .sum()
}

/// Maps simulated seconds to the calendar of the scenario (a single local time zone).
#[derive(Debug, Clone, Copy)]
pub struct Calendar {
    start: NaiveDate,
    /// Weekday of day 0, Monday = 0.
    start_weekday: u8,
}

impl Calendar {
    pub fn new(start: NaiveDate) -> Calendar {
        Calendar { start, start_weekday: start.weekday().num_days_from_monday() as u8 }
    }
    pub fn start_date(&self) -> NaiveDate {
        self.start
    }
    /// Weekday of `t`, Monday = 0 .. Sunday = 6.
    pub fn weekday(&self, t: SimTime) -> u8 {
        self.weekday_of_day(t.day_index() as i64)
    }
    /// Weekday of day `d` since the start (negative: before it).
    pub fn weekday_of_day(&self, d: i64) -> u8 {
        (self.start_weekday as i64 + d).rem_euclid(7) as u8
    }
    /// The instant of a local date-time, or `None` when it lies before the start.
    pub fn instant(&self, at: NaiveDateTime) -> Option<SimTime> {
        self.instant_in(at, 0)
    }
    /// The instant of a date-time in a zone `offset` seconds ahead of the scenario's clock, or
    /// `None` when it lies before the start.
    pub fn instant_in(&self, at: NaiveDateTime, offset: i64) -> Option<SimTime> {
        let secs = (at - self.start.and_hms_opt(0, 0, 0)?).num_seconds() - offset;
        u64::try_from(secs).ok().map(SimTime)
    }
    /// The local date-time of `t` (saturating at chrono's last representable instant).
    pub fn datetime(&self, t: SimTime) -> NaiveDateTime {
        let midnight = self.start.and_hms_opt(0, 0, 0).unwrap_or_default();
        i64::try_from(t.0)
            .ok()
            .and_then(Duration::try_seconds)
            .and_then(|d| midnight.checked_add_signed(d))
            .unwrap_or(NaiveDateTime::MAX)
    }
    /// `2026-11-27T13:05:00`, the format used in every output.
    pub fn format(&self, t: SimTime) -> String {
        let dt = self.datetime(t);
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        )
    }
    pub fn format_date(&self, day_index: usize) -> String {
        let d = self.datetime(SimTime::from_days(day_index as u64));
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    }
}

/// `1d 04h 05m` style duration for people; exact seconds are reported beside it.
pub fn format_duration(seconds: u64) -> String {
    let d = seconds / SECONDS_PER_DAY;
    let h = (seconds % SECONDS_PER_DAY) / SECONDS_PER_HOUR;
    let m = (seconds % SECONDS_PER_HOUR) / 60;
    if d > 0 {
        format!("{d}d {h:02}h {m:02}m")
    } else {
        format!("{h}h {m:02}m")
    }
}

pub const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_friday_2026_is_a_friday() {
        let cal = Calendar::new(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        assert_eq!(cal.weekday(SimTime::ZERO), 0, "2026-11-23 is a Monday");
        assert_eq!(cal.weekday(SimTime::from_days(4)), 4);
        assert_eq!(cal.format(SimTime::from_days(4).plus_seconds(3_661)), "2026-11-27T01:01:01");
    }

    #[test]
    fn far_future_instants_saturate_instead_of_panicking() {
        let cal = Calendar::new(NaiveDate::from_ymd_opt(9999, 12, 31).unwrap());
        assert_eq!(cal.datetime(SimTime(u64::MAX)), NaiveDateTime::MAX);
        assert!(!cal.format(SimTime::from_days(400)).is_empty());
    }

    #[test]
    fn duration_reads_in_days_hours_minutes() {
        assert_eq!(format_duration(90_061), "1d 01h 01m");
        assert_eq!(format_duration(3_540), "0h 59m");
    }
}
