//! What a run will ask of the machine, known before it starts: the purchases the scenario's
//! people are expected to make, the events that follow, and the memory the run holds at its
//! peak. `offersim check` prints it and `offersim run` refuses a run that cannot fit.
//!
//! The figures are expectations of the model (baseline purchases: people × their segment's rate
//! × the surges over the period), not draws, and the memory is the measured cost of a purchase
//! held in a shard under way (benches/README.md: about 270 bytes on Black Friday and 360 at
//! national scale since the behaviour model, so `BYTES_PER_PURCHASE` is the upper end), times the shards under way at once.

use crate::core::time::SimTime;
use crate::world::World;

/// Memory a purchase holds while its shard runs (its events, queue entries, per-person state),
/// measured, rounded up.
pub const BYTES_PER_PURCHASE: f64 = 360.0;

/// The same with an event log attached (views, clicks and card entries are then events, not
/// counts: about twice the memory).
pub const BYTES_PER_PURCHASE_LOGGED: f64 = 720.0;

/// Events per purchase (views, taps, messages, deliveries, timers), measured on Black Friday at
/// national scale (590 M events for 98.8 M purchases), rounded up.
pub const EVENTS_PER_PURCHASE: f64 = 6.0;

/// What every run holds whatever its size (the world, the binary, the merged outcome).
pub const BASE_BYTES: f64 = 64.0 * 1024.0 * 1024.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workload {
    /// Expected purchases of the whole run (baseline; the extra visits of enrolled people add a
    /// few percent).
    pub purchases: f64,
    pub events: f64,
    /// Expected purchases in the largest shard.
    pub purchases_per_shard: f64,
    /// Shards under way at once: the worker threads, at most the shards.
    pub shards_at_once: u32,
    /// Expected peak memory, bytes.
    pub peak_bytes: f64,
}

impl Workload {
    /// The workload of `world` run with `threads` worker threads (0: `cores`), with or without
    /// an event log.
    pub fn of(world: &World, threads: usize, cores: usize, logged: bool) -> Workload {
        let day = SimTime::from_days(1).0 as f64;
        // Surge-weighted days of the period (a day at ×3 counts three times).
        let days: f64 = world.surge_segments().iter().map(|&(lo, hi, f)| (hi.0 - lo.0) as f64 / day * f).sum();
        let rate: f64 = world.segments.iter().map(|s| s.share * s.purchases_per_day).sum();
        let purchases = world.users as f64 * rate * days;
        let shards = world.shards.max(1);
        let threads = if threads == 0 { cores.max(1) } else { threads };
        let shards_at_once = (threads as u64).min(shards as u64) as u32;
        let purchases_per_shard = purchases / shards as f64;
        let per = if logged { BYTES_PER_PURCHASE_LOGGED } else { BYTES_PER_PURCHASE };
        let peak_bytes = BASE_BYTES + purchases_per_shard * per * shards_at_once as f64;
        Workload { purchases, events: purchases * EVENTS_PER_PURCHASE, purchases_per_shard, shards_at_once, peak_bytes }
    }

    /// The fewest shards that keep the peak under `bytes` with `shards_at_once` running, if any.
    pub fn shards_to_fit(&self, bytes: f64, logged: bool) -> Option<u64> {
        let per = if logged { BYTES_PER_PURCHASE_LOGGED } else { BYTES_PER_PURCHASE };
        let room = bytes - BASE_BYTES;
        if room <= 0.0 {
            return None;
        }
        let per_shard_max = room / (per * self.shards_at_once.max(1) as f64);
        let n = (self.purchases / per_shard_max).ceil();
        (n.is_finite() && n <= crate::world::MAX_SHARDS as f64).then_some(n.max(1.0) as u64)
    }
}
