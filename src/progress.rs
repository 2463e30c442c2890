//! The progress bar: on stderr, drawn only when stderr is a terminal (indicatif hides it
//! otherwise), showing the phase, simulated time and events per second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
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
        let style = ProgressStyle::with_template("{prefix:>6} [{bar:24}] {human_pos}/{human_len} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
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
