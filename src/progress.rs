//! The progress bar: on stderr, drawn only when stderr is a terminal (indicatif hides it
//! otherwise), showing the phase, simulated time and events per second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use offersim_sim::events::Progress;
use offersim_sim::time::Calendar;
use offersim_sim::SimTime;
use std::sync::Mutex;

pub struct Bar {
    bar: ProgressBar,
    calendar: Calendar,
    phase: Mutex<String>,
}

impl Bar {
    pub fn new(calendar: Calendar, enabled: bool) -> Bar {
        let target = if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        let style = ProgressStyle::with_template("{prefix:>6} [{bar:24}] {human_pos}/{human_len} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        Bar { bar, calendar, phase: Mutex::new(String::new()) }
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
    fn at(&self, now: SimTime) {
        let rate = self.bar.per_sec();
        self.bar.set_message(format!("sim {} {rate:.0}/s", &self.calendar.format(now)[..16]));
    }
}
