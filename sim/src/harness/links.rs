//! When each person of a shard first links a card, and which of their cards they ever link,
//! known from their timelines before the replay: enough to tell, when a purchase is made, which
//! of the network's messages about it the platform can only refuse (`Delivery::NotLinked`), so
//! that the replay settles them there instead of queueing them to be refused.

use crate::core::bitset::BitSet;
use crate::core::prefetch::prefetch;
use crate::core::time::SimTime;
use crate::world::network::{MessageKind, NetworkMessage};

/// Per person of a shard, one word: the minute of their first link (rounded down, so never
/// later than the link) in the high 24 bits, and a bit per card slot ever linked in the low 8;
/// and a bit per person, set for those who link: the cheap first test (a shard's words do not
/// stay in cache, its bits do).
pub(super) struct FirstLinks {
    words: Vec<u32>,
    linkers: BitSet,
}

/// The latest minute a word holds (about 31 years); a later link is held as this minute, which
/// is earlier than the link: the test stays on the safe side.
const MAX_MINUTE: u64 = (1 << 24) - 1;

const _: () = assert!(crate::world::limits::MAX_CARDS_PER_USER <= 8, "a slot is one bit of a byte");

impl FirstLinks {
    /// For `people` people, none of whom has linked a card yet.
    pub(super) fn new(people: usize) -> FirstLinks {
        FirstLinks { words: vec![0; people], linkers: BitSet::new(people) }
    }

    /// Person `local` (by position in the shard) links card `slot` at `at`, in any order of
    /// their events.
    pub(super) fn add(&mut self, local: u32, at: SimTime, slot: u8) {
        let w = &mut self.words[local as usize];
        let minute = (at.0 / 60).min(MAX_MINUTE) as u32;
        let first = if *w & 0xff == 0 { minute } else { (*w >> 8).min(minute) };
        *w = first << 8 | (*w & 0xff) | 1 << slot;
        self.linkers.insert(local);
    }

    /// Whether person `local` links a card at some point: the platform can hear of their
    /// purchases.
    pub(super) fn ever(&self, local: u32) -> bool {
        self.linkers.contains(local)
    }

    /// Starts loading person `local`'s word (`core::prefetch`), for a `refused` soon. A hint.
    pub(super) fn prefetch(&self, local: u32) {
        if let Some(w) = self.words.get(local as usize) {
            prefetch(w);
        }
    }

    /// Whether the platform can only refuse `m`, about a purchase of person `local` on card
    /// `slot`, delivered at `due`, whatever else happens in the run (`Platform::message`): the
    /// network reports a purchase only on a card linked at the message's network time, and a
    /// refund also on a card with a credit left when it arrives. Neither can be when the card is
    /// never linked, nor when the message's time (a refund's arrival) comes before the person's
    /// first link: a credit needs a clearing on a linked card, received after the link.
    pub(super) fn refused(&self, local: u32, slot: u8, m: &NetworkMessage, due: SimTime) -> bool {
        let Some(&w) = self.words.get(local as usize) else {
            return false;
        };
        if w & (1 << slot) == 0 {
            return true;
        }
        let first = SimTime(u64::from(w >> 8) * 60);
        let until = if m.kind == MessageKind::Refund { due } else { m.network_time };
        until < first
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::money::Cents;
    use crate::world::network::PurchaseId;

    fn message(kind: MessageKind, network_time: u64) -> NetworkMessage {
        NetworkMessage {
            kind,
            purchase: PurchaseId { user: 0, seq: 0 },
            amount: Cents(500),
            network_time: SimTime(network_time),
            referenced: true,
            mid_known: true,
            copy: 0,
        }
    }

    #[test]
    fn a_message_before_the_first_link_or_on_a_card_never_linked_is_refused() {
        let mut links = FirstLinks::new(3);
        links.add(1, SimTime(7_250), 2); // minute 120, 50 s in
        links.add(1, SimTime(90_000), 0);
        assert!(!links.ever(0) && links.ever(1) && !links.ever(2) && !links.ever(3));
        let clearing = |t| message(MessageKind::Clearing, t);
        // Card 2: before minute 120 refused; within the link's minute (rounded down) or after, not.
        assert!(links.refused(1, 2, &clearing(7_199), SimTime(99_999)));
        assert!(!links.refused(1, 2, &clearing(7_200), SimTime(7_200)));
        assert!(!links.refused(1, 2, &clearing(7_249), SimTime(7_249)));
        // Card 0, linked later: judged by the person's first link, which is earlier (safe side).
        assert!(!links.refused(1, 0, &clearing(8_000), SimTime(8_000)));
        // Card 1, never linked: refused whenever.
        assert!(links.refused(1, 1, &clearing(1_000_000), SimTime(1_000_000)));
        // A person who never links: every message.
        assert!(links.refused(0, 0, &clearing(1_000_000), SimTime(1_000_000)));
        // Outside the shard: never claimed.
        assert!(!links.refused(9, 0, &clearing(0), SimTime(0)));
    }

    #[test]
    fn a_refund_is_judged_by_its_arrival_a_credit_may_exist_by_then() {
        let mut links = FirstLinks::new(1);
        links.add(0, SimTime(6_000), 0);
        let refund = message(MessageKind::Refund, 100);
        assert!(links.refused(0, 0, &refund, SimTime(5_999)));
        assert!(!links.refused(0, 0, &refund, SimTime(6_000)), "arrives after the link: a credit may be there");
        assert!(links.refused(0, 0, &message(MessageKind::Clearing, 100), SimTime(6_000)));
    }

    #[test]
    fn the_first_link_is_the_earliest_whatever_the_order_and_late_links_stay_on_the_safe_side() {
        let mut links = FirstLinks::new(1);
        links.add(0, SimTime(60 * 500), 3);
        links.add(0, SimTime(60 * 200), 1);
        links.add(0, SimTime(60 * 900), 1);
        let at = |t| message(MessageKind::Auth, t);
        assert!(links.refused(0, 1, &at(60 * 200 - 1), SimTime(0)));
        assert!(!links.refused(0, 3, &at(60 * 200), SimTime(0)));
        let mut late = FirstLinks::new(1);
        late.add(0, SimTime(u64::MAX / 2), 0);
        assert!(!late.refused(0, 0, &at(MAX_MINUTE * 60), SimTime(0)), "held as an earlier minute");
        assert!(late.refused(0, 0, &at(MAX_MINUTE * 60 - 1), SimTime(0)));
    }
}
