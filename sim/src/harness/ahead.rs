//! The network's reports, computed ahead of the replay on a thread of their own. What the mock
//! network reports about a purchase depends on the purchase's facts and its own keyed draws
//! alone (`CardNetwork::report`), never on what happened before it, so a thread can walk the
//! stream of user events in the replay's order and compute each purchase's messages before the
//! replay reaches it. The replay takes them in the same order (`Ahead::next`, once per purchase
//! event, whether or not the purchase then happens) and uses them when the purchase happens as
//! generated; when the world changed it (a top-up withdrawn with its offer: a smaller amount)
//! it asks the network again. Used where a core would otherwise idle during the replay (a run
//! of one shard on two or more threads); the messages are the same either way.

use super::hours::Hours;
use crate::core::money::Cents;
use crate::core::rng::{Hashed, Purpose};
use crate::core::time::SimTime;
use crate::people::{Purchase, UserEvent};
use crate::world::network::{CardNetwork, FaultCounts, NetworkMessage, PurchaseFacts};
use crate::world::World;
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender};
use std::thread::Scope;

/// Purchases per hand-over.
const BATCH: usize = 2_048;
/// Batches computed ahead at most (bounded memory, whatever the replay's pace).
const IN_FLIGHT: usize = 4;

/// The facts the network hears of purchase `p`, bought at `at`.
pub(super) fn facts(p: &Purchase, at: SimTime) -> PurchaseFacts {
    PurchaseFacts { id: p.id, at, amount: p.amount, scheme: p.scheme, channel: p.channel, mid: p.mid }
}

/// The network's report on the purchase with `facts` and `key`, bought by user `u`, from the
/// purchase's own keyed draws.
pub(super) fn report(
    world: &World,
    network: &dyn CardNetwork,
    facts: &PurchaseFacts,
    key: u64,
    u: u32,
    out: &mut Vec<(SimTime, NetworkMessage)>,
    faults: &mut FaultCounts,
) {
    network.report(facts, Hashed::new(world.seed, Purpose::Network, key, u as u64), out, faults);
}

/// Consecutive purchases' reports: all their messages, and where each purchase's messages end.
#[derive(Default)]
struct Batch {
    messages: Vec<(SimTime, NetworkMessage)>,
    /// Per purchase: the end of its messages in `messages`, the amount they were computed for,
    /// and the faults the network counted.
    purchases: Vec<(u32, Cents, FaultCounts)>,
}

/// The replay's end: reports in the replay's order.
pub(super) struct Ahead {
    from: Receiver<Batch>,
    empties: Sender<Batch>,
    batch: Batch,
    /// The next purchase of `batch`, and where its messages start.
    next: usize,
    start: usize,
}

/// A purchase's report as computed ahead.
pub(super) struct Report<'a> {
    pub messages: &'a [(SimTime, NetworkMessage)],
    pub faults: FaultCounts,
    /// The amount it was computed for: the report holds only for a purchase of this amount.
    pub amount: Cents,
}

impl Ahead {
    /// Starts a thread of `scope` that reports on every purchase of `stream` (the replay's user
    /// events, bucket after bucket) in order.
    pub(super) fn spawn<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        world: &'env World,
        network: &'env dyn CardNetwork,
        stream: &'env Hours,
    ) -> Ahead {
        // Counted as a reader before the replay starts, so that no hour goes before it is read.
        let reader = stream.reader();
        let (to, from) = sync_channel::<Batch>(IN_FLIGHT);
        let (empties, returned) = channel::<Batch>();
        scope.spawn(move || {
            let mut batch = Batch::default();
            for (at, u, e) in reader.cursor() {
                let UserEvent::Purchase(p) = e else {
                    continue;
                };
                let mut faults = FaultCounts::default();
                report(world, network, &facts(&p, at), p.key, u, &mut batch.messages, &mut faults);
                let end = u32::try_from(batch.messages.len()).expect("a batch's messages fit in u32");
                batch.purchases.push((end, p.amount, faults));
                if batch.purchases.len() == BATCH {
                    let mut next = returned.try_recv().unwrap_or_default();
                    next.messages.clear();
                    next.purchases.clear();
                    // The replay hung up: it stopped early (a panic there), so stop too.
                    if to.send(std::mem::replace(&mut batch, next)).is_err() {
                        return;
                    }
                }
            }
            if !batch.purchases.is_empty() {
                let _ = to.send(batch);
            }
        });
        Ahead { from, empties, batch: Batch::default(), next: 0, start: 0 }
    }

    /// The report on the next purchase event of the stream; `None` if the thread computing them
    /// is gone (it panicked: the scope carries the panic on when it ends).
    pub(super) fn next(&mut self) -> Option<Report<'_>> {
        if self.next == self.batch.purchases.len() {
            let batch = self.from.recv().ok()?;
            let done = std::mem::replace(&mut self.batch, batch);
            let _ = self.empties.send(done);
            self.next = 0;
            self.start = 0;
        }
        let (end, amount, faults) = *self.batch.purchases.get(self.next)?;
        let messages = &self.batch.messages[self.start..end as usize];
        self.next += 1;
        self.start = end as usize;
        Some(Report { messages, faults, amount })
    }
}
