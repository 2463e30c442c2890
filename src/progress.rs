//! The progress bar: on stderr, drawn only when stderr is a terminal (indicatif hides it
//! otherwise), showing the phase, simulated time and events per second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use offersim_sim::core::time::Calendar;
use offersim_sim::harness::events::Progress;
use offersim_sim::SimTime;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

pub struct Bar {
    bar: ProgressBar,
    calendar: Calendar,
    phase: Mutex<String>,
    /// Events replayed, for the events-per-second figure (wall time is fine here: the bar is
    /// not part of the simulation).
    events: AtomicU64,
    started: Instant,
}

impl Bar {
    pub fn new(calendar: Calendar, enabled: bool) -> Bar {
        let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        let style =
            ProgressStyle::with_template("{prefix:>6} [{bar:24}] {human_pos}/{human_len} eta {steady_eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key("steady_eta", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&steady_eta(s.elapsed().as_secs_f64(), s.fraction() as f64));
                })
                .progress_chars("=> ");
        bar.set_style(style);
        Bar { bar, calendar, phase: Mutex::new(String::new()), events: AtomicU64::new(0), started: Instant::now() }
    }
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total: u64) {
        if let Ok(mut p) = self.phase.lock() {
            *p = name.to_string();
        }
        self.bar.set_prefix(name.to_string());
        self.bar.set_length(total);
        self.bar.set_position(0);
        self.bar.reset_elapsed();
        self.bar.set_message("");
    }
    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }
    fn events(&self, n: u64) {
        self.events.fetch_add(n, Ordering::Relaxed);
    }
    fn at(&self, now: SimTime) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.events.load(Ordering::Relaxed) as f64 / secs;
        self.bar.set_message(format!("sim {} {:.2} M events/s", &self.calendar.format(now)[..16], rate / 1e6));
    }
}

/// The time a phase still needs, at the pace it has kept since it began: `elapsed × (1 − f) / f`
/// for the fraction `f` done, as minutes and seconds. A run's units of work (a shard's people,
/// generated then replayed; a bucket's events) come in steps of a few seconds each, so a rate
/// smoothed over the last seconds — indicatif's own `{eta}` — swings with every step (measured on
/// the national-scale run: −41% to +223% of the time left from 10% done); the average since the
/// phase began does not (benches/README.md, issue 20's second slice). "?" until something is done.
pub fn steady_eta(elapsed_secs: f64, fraction: f64) -> String {
    if fraction.is_nan() || fraction <= 0.0 || !elapsed_secs.is_finite() {
        return "?".into();
    }
    let left = (elapsed_secs * (1.0 - fraction.min(1.0)) / fraction).round().min(99.0 * 3600.0) as u64;
    match left {
        0..=59 => format!("{left}s"),
        60..=3599 => format!("{}m{:02}s", left / 60, left % 60),
        _ => format!("{}h{:02}m", left / 3600, left % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::steady_eta;

    #[test]
    fn the_eta_is_the_pace_so_far_applied_to_what_is_left() {
        assert_eq!(steady_eta(60.0, 0.10), "9m00s"); // 60 s for 10%: 540 s for the other 90%
        assert_eq!(steady_eta(30.0, 0.75), "10s");
        assert_eq!(steady_eta(4000.0, 0.5), "1h06m");
        assert_eq!(steady_eta(10.0, 0.0), "?");
        assert_eq!(steady_eta(10.0, 1.0), "0s");
        assert_eq!(steady_eta(f64::NAN, 0.5), "?");
        assert_eq!(steady_eta(1e9, 1e-9), "99h00m"); // bounded
    }
}
