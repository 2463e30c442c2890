//! Prefetch hints of the replay (`core::prefetch`): the state the events a few places ahead
//! will read, asked for now so that their cache misses overlap. Hints change no result.

use super::{Harness, InFlight};
use crate::core::queue::EventQueue;
use crate::people::UserEvent;

/// How many user events, and queued deliveries, ahead the replay asks for the state their
/// person's next event will read: enough to overlap the cache misses of the events between,
/// few enough that the lines are still there when used.
pub(super) const PREFETCH_AHEAD: usize = 8;

impl Harness<'_> {
    /// Starts loading what the user event `e` of `u` will read (`core::prefetch`): a
    /// purchase's merchant counts in the tally; the platform's cards of a person who links one
    /// (and when they first do), and the oracle's for a card or enrollment. A hint: it changes
    /// nothing.
    pub(super) fn prefetch_for(&self, u: u32, e: &UserEvent) {
        match e {
            UserEvent::Purchase(p) => {
                self.tally.prefetch_merchant(p.merchant);
                if self.links.ever(u.wrapping_sub(self.first)) {
                    self.links.prefetch(u.wrapping_sub(self.first));
                    self.platform.prefetch(u, None)
                }
            }
            UserEvent::CardAdded { .. } | UserEvent::Enrolled { .. } | UserEvent::CardDeleted { .. } => {
                self.platform.prefetch(u, None);
                self.truth.prefetch_user(u);
            }
            _ => {}
        }
    }

    /// Starts loading what the queued delivery `PREFETCH_AHEAD` places ahead will read: the
    /// platform's cards, received clearings and idempotency byte of its person, and the
    /// oracle's cards when it is a first copy.
    pub(super) fn prefetch_delivery(&self, queue: &EventQueue<InFlight>) {
        if let Some(InFlight::Delivery(m, ctx)) = queue.peek_ahead(PREFETCH_AHEAD) {
            self.platform.prefetch(m.purchase.user, Some(ctx.index));
            if m.copy == 0 {
                self.truth.prefetch_user(m.purchase.user);
            }
        }
    }
}
