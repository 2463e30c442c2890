//! Purchases the platform never hears of, settled as they are generated. A person who never
//! links a card buys, and the network reports on it, but every message stops at the platform's
//! door (no card linked): what such a purchase adds to the outcome is the world's bookkeeping
//! alone (spend, the feed's counts, refunds, the holdout experiments' spend), sums that are the
//! same in any order. So, without an event log, `UserStream::file` settles them here, as the
//! people are filed, instead of queueing them for the replay: one bookkeeping function
//! (`settled`, `in_experiment_window`) serves both, and a test holds a run that folds to one
//! that replays them (`tests/determinism.rs`).
//!
//! Only the purchases that cannot depend on the rest of the world are folded: an extra visit,
//! a top-up or a pulled-forward visit depends on the offer's budget (the platform's), a shop
//! order on the shop's stock (other people's orders), so those stay in the stream.

use super::ahead;
use crate::core::money::Cents;
use crate::core::time::SimTime;
use crate::outcome::tally::Tally;
use crate::people::{Assignment, Effect, Purchase};
use crate::world::network::{CardNetwork, MessageKind, NetworkMessage};
use crate::world::{MerchantId, OfferId, World};

/// Whether a holdout experiment's spend counts a purchase at `merchant` bought at `at`: at the
/// offer's merchant, in its window or the days after it that visits can be pulled forward from.
pub(super) fn in_experiment_window(world: &World, a: &Assignment, merchant: MerchantId, at: SimTime) -> bool {
    let o = &world.offers[a.offer.0 as usize];
    o.merchant == merchant && o.start <= at && at < world.effect_end(a.offer)
}

/// The world's own bookkeeping of a message of the clean feed (its first copy), bought at
/// `bought_at` at `merchant` by a person with these holdout assignments: money refunded,
/// incremental spend, the experiments' spend net of what was reversed or refunded (else an
/// estimate would count refunded extra visits that the truth does not).
pub(super) fn settled<'a>(
    world: &World,
    tally: &mut Tally,
    m: &NetworkMessage,
    merchant: MerchantId,
    bought_at: SimTime,
    incremental: Option<(OfferId, Cents)>,
    assigned: impl IntoIterator<Item = (&'a Assignment, &'a mut Cents)>,
) {
    tally.settled(m, incremental);
    if matches!(m.kind, MessageKind::Reversal | MessageKind::Refund) {
        for (a, spent) in assigned {
            if in_experiment_window(world, a, merchant, bought_at) {
                *spent -= m.amount;
            }
        }
    }
}

/// The folded purchases of a shard: their outcome (added to the replay's at its start) and the
/// network's reports, asked for one purchase at a time.
pub(super) struct Fold<'w> {
    world: &'w World,
    network: &'w dyn CardNetwork,
    pub(super) tally: Tally,
    messages: Vec<(SimTime, NetworkMessage)>,
}

impl<'w> Fold<'w> {
    pub(super) fn new(world: &'w World, network: &'w dyn CardNetwork) -> Fold<'w> {
        Fold { world, network, tally: Tally::new_part(world), messages: Vec::new() }
    }

    /// Whether a purchase of a person who never links a card can be settled as it is generated:
    /// neither an offer's doing (its budget decides whether it happens) nor a shop's order (the
    /// stock left does).
    pub(super) fn foldable(p: &Purchase) -> bool {
        p.effect == Effect::None && p.order.is_none()
    }

    /// Starts loading what folding purchase `p` will count into (a hint: it changes nothing).
    pub(super) fn prefetch(&self, p: &Purchase) {
        self.tally.prefetch_merchant(p.merchant);
    }

    /// What the replay does with purchase `p` of user `u` at `now` (`Harness::purchase`, for a
    /// buyer the platform never hears of): counted, reported on by the network, every message
    /// settled (none reaches the platform), the holdout experiments' spend kept; and the purchase
    /// and each message before the horizon counted as an event processed.
    pub(super) fn purchase(&mut self, now: SimTime, u: u32, p: &Purchase, assigned: &mut [(u32, Assignment, Cents)]) {
        debug_assert!(Fold::foldable(p));
        let world = self.world;
        let tally = &mut self.tally;
        tally.purchase(now, p, p.touch.credited(world.attribution.rule));
        for (_, a, spent) in assigned.iter_mut() {
            if in_experiment_window(world, a, p.merchant, now) {
                *spent += p.amount;
            }
        }
        self.messages.clear();
        ahead::report(world, self.network, &ahead::facts(p, now), p.key, u, &mut self.messages, tally.faults());
        let horizon = world.horizon_end();
        let merchant = world.merchant_of_mid(p.mid);
        for (at, m) in self.messages.drain(..) {
            tally.sent(&m, at >= horizon);
            if at >= horizon {
                continue;
            }
            tally.not_linked();
            tally.event();
            if m.copy == 0 {
                let assigned = assigned.iter_mut().map(|(_, a, spent)| (&*a, spent));
                settled(world, tally, &m, merchant, now, None, assigned);
            }
        }
        tally.event();
    }
}
