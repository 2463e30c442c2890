//! The platform under test: the offers service as a plain state machine. It takes an input — a
//! card linked, an enrollment, a card deleted, a delivery of the network's feed, a reward timer
//! that fell due — and returns what it decided (`Decided`: messages taken in or ignored,
//! rewards granted and declined with their reason, confirmed, paid and clawed back). It owns
//! everything it decides with: the card links and enrollments, the idempotency record, the
//! caps, the budgets, the credits and the books. A clearing is matched by the fast core
//! (`fastmatch::OfferTable::decide`, on the card's row of enrollment records), held to the
//! reference matcher (`matching::match_txn`) by a property test.
//!
//! Architecture invariant: the platform knows nothing of the simulated people, the ground
//! truth, the report or the event log. `run` (the harness) and `serve` (`service.rs`) drive the
//! same code.
//!
//! It must absorb the feed's faults: it ignores a message whose identity it has seen
//! (at-least-once delivery), judges every message **as of the network's timestamp** (the card
//! linked then, the budget period), gives budgets and caps in order of receipt (a backlog in the
//! network's order), and finds the original of a refund without reference by card, merchant and
//! amount.

pub mod budget;
mod credits;
pub mod fastmatch;
pub mod ledger;
pub mod matching;
pub mod service;

pub use budget::{BudgetRule, BudgetScope};
pub use credits::{CreditView, Timer};

use crate::core::bitset::BitSet;
use crate::core::money::Cents;
use crate::core::per_user::PerUser;
use crate::core::time::SimTime;
use crate::platform::fastmatch::{Enrollment, OfferTable};
use crate::platform::ledger::Ledger;
use crate::platform::matching::{Decision, Decline};
use crate::world::network::{CreditKey, MessageKind, NetworkMessage, PurchaseId};
use crate::world::Token;
use crate::world::{Channel, MerchantId, MidId, OfferId, World};
use credits::CreditRecord;
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::ops::Range;

/// What the platform receives from outside, in the order it processes it: exactly the inputs an
/// offers service gets over HTTP when `offersim drive` replays a run (`offersim-live`).
/// Purchases are not inputs: the platform only hears of them through the network's messages.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    CardAdded {
        user: u32,
        slot: u8,
        token: Token,
    },
    Enrolled {
        user: u32,
        token: Token,
        offer: OfferId,
    },
    CardDeleted {
        user: u32,
        token: Token,
    },
    /// A delivery of the feed on a card the platform knows (duplicates included, each delivery
    /// once): the message and the facts of its purchase that travel with it.
    Message {
        m: NetworkMessage,
        facts: MessageFacts,
    },
}

/// The purchase facts a network message carries on the wire.
#[derive(Debug, Clone, Copy)]
pub struct MessageFacts {
    /// The user's physical card (`user`, `slot`).
    pub slot: u8,
    pub mid: MidId,
    pub channel: Channel,
    pub scheme: u8,
    pub bought_at: SimTime,
}

/// What became of a network message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Acted on (matched if a clearing, reversed rewards if a refund, or just recorded).
    Applied,
    /// Its identity was seen before: ignored.
    Duplicate,
    /// No card of the platform's was linked at its network timestamp: not the platform's.
    NotLinked,
}

/// One thing the platform decided, in the order it decided them.
#[derive(Debug, Clone, Copy)]
pub enum Decided {
    /// A message taken in (its first delivery on a card the platform knows), with the token of
    /// the card linked at its network timestamp (none: a refund on a card since deleted).
    Received {
        m: NetworkMessage,
        card: Option<Token>,
    },
    /// A repeated delivery of a message already taken in: ignored.
    Duplicate {
        m: NetworkMessage,
    },
    /// A clearing received after a clearing with a later network timestamp.
    OutOfNetworkOrder,
    /// A clearing under a terminal id the MID registry lacks: it earns nothing (policy
    /// `unknown_mid`).
    UnknownMid,
    /// A clearing met the terms of at least one of the card's enrolled offers.
    Qualified,
    /// An offer whose terms the clearing met paid nothing: a limit stopped it. `scope`: the
    /// budget that was spent, for a budget decline.
    Declined {
        purchase: PurchaseId,
        offer: OfferId,
        why: Decline,
        scope: Option<BudgetScope>,
    },
    Awarded(Award),
    /// The return period is over: this much of the reward is confirmed.
    Confirmed {
        purchase: PurchaseId,
        offer: OfferId,
        amount: Cents,
    },
    /// The statement credit: this much of the reward is paid to the card account.
    Paid {
        purchase: PurchaseId,
        offer: OfferId,
        card: Token,
        merchant: MerchantId,
        amount: Cents,
    },
    /// A refund reached a credited purchase: what its reward no longer earns is taken back.
    Reversed(Reversal),
    /// Policy `unreferenced_refund`: a refund without reference went to another purchase than its
    /// original (or to none); both purchases are marked.
    UnreferencedRefund {
        purchase: PurchaseId,
    },
    /// Deleting a card ended its enrollment in `offer`.
    EnrollmentEnded {
        offer: OfferId,
    },
}

/// A reward granted on a clearing (pending until the offer's return period is over).
#[derive(Debug, Clone, Copy)]
pub struct Award {
    pub purchase: PurchaseId,
    pub offer: OfferId,
    pub card: Token,
    pub merchant: MerchantId,
    pub reward: Cents,
    pub fee: Cents,
    /// The cleared amount, and when the purchase was made.
    pub spend: Cents,
    pub bought_at: SimTime,
    /// What this reward paid beyond the budget left, and beyond its period's budget (the
    /// `finish_last` policy, or a budget rule).
    pub overspend: Cents,
    pub period_overspend: Cents,
    /// The budget period it counts in (offers with a budget per period).
    pub period: Option<u32>,
}

/// What a refund took back of one reward.
#[derive(Debug, Clone, Copy)]
pub struct Reversal {
    pub purchase: PurchaseId,
    pub offer: OfferId,
    pub card: Token,
    pub merchant: MerchantId,
    /// The part of the purchase this refund gave back.
    pub refunded: Cents,
    /// The reward taken back from each state: pending, confirmed, paid.
    pub taken: [Cents; 3],
    pub fee: Cents,
}

impl Reversal {
    pub fn reward(&self) -> Cents {
        self.taken.iter().copied().sum()
    }
}

/// A card as the platform knows it: linked under a token from `added` until `deleted`, with its
/// enrollments (the matching core's row: `fastmatch::Enrollment`, in the order they were made).
struct Link {
    slot: u8,
    token: Token,
    added: SimTime,
    deleted: Option<SimTime>,
    /// Its enrollments, the first two inline (in the same cache lines as the card).
    enrolled: SmallVec<[Enrollment; 2]>,
}

/// The card of `links` linked under `token` now (a deleted card's token links nothing).
fn active_link(links: &mut [Link], token: Token) -> Option<&mut Link> {
    links.iter_mut().find(|l| l.token == token && l.active())
}

impl Link {
    fn active(&self) -> bool {
        self.deleted.is_none()
    }
    fn linked_at(&self, t: SimTime) -> bool {
        self.added <= t && self.deleted.is_none_or(|d| d > t)
    }
}

/// A clearing the platform received, kept so that a refund without reference can find it and
/// a new-customer offer can look back.
struct Received {
    purchase: PurchaseId,
    slot: u8,
    merchant: MerchantId,
    bought_at: SimTime,
    amount: Cents,
    refunded: Cents,
}

/// Why an input was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the card token is not linked (never issued, or deleted)")]
    NotLinked,
}

pub struct Platform<'w> {
    world: &'w World,
    /// The offers in the matching core's flat form (`fastmatch`): every clearing is decided there.
    offers: OfferTable<'w>,
    /// Per user: their cards, the first inline (one cache miss to a user's card, not two).
    links: PerUser<SmallVec<[Link; 1]>>,
    /// Users who ever linked a card (so far).
    has_linked: BitSet,
    /// Per user: (card slot, offer, credits) — caps count per physical card, across tokens.
    redeemed: PerUser<Vec<(u8, OfferId, u32)>>,
    /// Per user: the clearings received on their linked cards at known MIDs.
    received: PerUser<Vec<Received>>,
    /// Per network transaction (its dense number): the kinds of message already received.
    seen: Vec<u8>,
    idempotency: bool,
    budgets: budget::Budgets<'w>,
    credits: BTreeMap<CreditKey, CreditRecord>,
    ledger: Ledger,
    /// The latest network timestamp of a clearing received so far.
    latest_clearing: SimTime,
    /// Matching's output, reused.
    decision: Decision,
    /// Reward timers not due yet, for the caller's queue (`take_timers`).
    timers: Vec<(SimTime, Timer)>,
}

impl<'w> Platform<'w> {
    /// A platform for the offers of `world` (a shard's budgets) and the users `users`.
    pub fn new(world: &'w World, users: Range<u32>) -> Platform<'w> {
        Platform {
            world,
            offers: OfferTable::of(world),
            links: PerUser::new(users.clone()),
            has_linked: BitSet::new(users.len()),
            redeemed: PerUser::new(users.clone()),
            received: PerUser::new(users),
            seen: Vec::new(),
            idempotency: true,
            budgets: budget::Budgets::new(world),
            credits: BTreeMap::new(),
            ledger: Ledger::default(),
            latest_clearing: SimTime::ZERO,
            decision: Decision::default(),
            timers: Vec::new(),
        }
    }

    /// Switches idempotency off: repeated deliveries are then acted on again (tests show that the
    /// reconciliation catches the double credits).
    pub fn without_idempotency(mut self) -> Self {
        self.idempotency = false;
        self
    }

    /// The same platform with its budget checks decided by `rule`.
    pub fn with_budget_rule(mut self, rule: &'w mut dyn BudgetRule) -> Self {
        self.budgets.rule = Some(rule);
        self
    }

    pub fn world(&self) -> &'w World {
        self.world
    }

    /// Makes room for users up to the first + `n` (a live platform grows with the users it meets).
    pub fn grow(&mut self, n: usize) {
        self.links.grow(n);
        self.redeemed.grow(n);
        self.received.grow(n);
        self.has_linked.grow(n);
    }

    /// A card entered by `user` (their physical card `slot`), linked under `token`.
    pub fn card_added(&mut self, now: SimTime, user: u32, slot: u8, token: Token) {
        self.links[user].push(Link { slot, token, added: now, deleted: None, enrolled: SmallVec::new() });
        self.has_linked.insert(self.links.local(user) as u32);
    }

    /// The card linked under `token` enrolls in `offer` (from `now`).
    pub fn enroll(&mut self, now: SimTime, user: u32, token: Token, offer: OfferId) -> Result<(), Refused> {
        let link = active_link(&mut self.links[user], token).ok_or(Refused::NotLinked)?;
        self.offers.enroll(&mut link.enrolled, offer, now, 0);
        Ok(())
    }

    /// The card linked under `token` is deleted: its enrollments end.
    pub fn delete_card(&mut self, now: SimTime, user: u32, token: Token, out: &mut Vec<Decided>) {
        if let Some(link) = self.link_mut(user, token) {
            link.deleted = Some(now);
            out.extend(link.enrolled.iter().map(|e| Decided::EnrollmentEnded { offer: e.offer() }));
        }
    }

    /// Whether `token` is a linked card of `user`.
    pub fn is_linked(&self, user: u32, token: Token) -> bool {
        self.link(user, token).is_some()
    }

    /// Whether the card linked under `token` is enrolled in `offer`.
    pub fn is_enrolled(&self, user: u32, token: Token, offer: OfferId) -> bool {
        self.link(user, token).is_some_and(|l| l.enrolled.iter().any(|e| e.offer() == offer))
    }

    /// The card of `user` linked under `token` now (a deleted card's token links nothing).
    fn link(&self, user: u32, token: Token) -> Option<&Link> {
        self.links[user].iter().find(|l| l.token == token && l.active())
    }

    fn link_mut(&mut self, user: u32, token: Token) -> Option<&mut Link> {
        active_link(&mut self.links[user], token)
    }

    /// The token card `slot` of `user` is linked under now, if it is.
    pub fn linked_token(&self, user: u32, slot: u8) -> Option<Token> {
        self.links[user].iter().find(|l| l.slot == slot && l.active()).map(|l| l.token)
    }

    /// The offers card `slot` of `user` is enrolled in, on the link it had at `t`.
    pub fn enrollments_at(&self, user: u32, slot: u8, t: SimTime) -> impl Iterator<Item = OfferId> + '_ {
        self.links[user]
            .iter()
            .find(|l| l.slot == slot && l.linked_at(t))
            .into_iter()
            .flat_map(|l| l.enrolled.iter().map(|e| e.offer()))
    }

    /// When the offer's budget (this platform's share) ran out, if it has: the offer is withdrawn
    /// from then on.
    pub fn budget_ran_out_at(&self, offer: OfferId) -> Option<SimTime> {
        self.budgets.ran_out_at[offer.0 as usize]
    }

    /// What is left of the offer's total budget (none: it has no total budget).
    pub fn budget_left(&self, offer: OfferId) -> Option<Cents> {
        self.budgets.left[offer.0 as usize]
    }

    /// The books.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The link of card `slot` at time `t` (the network's timestamp of a message).
    fn link_at(&self, u: u32, slot: u8, t: SimTime) -> Option<usize> {
        if !self.has_linked.contains(self.links.local(u) as u32) {
            return None; // most users never link a card: skip the cache miss on their list
        }
        self.links[u].iter().position(|l| l.slot == slot && l.linked_at(t))
    }

    /// Starts loading what a message about `user`'s purchase with transaction number `index`
    /// (or, without one, a user event) will read: their cards, their received clearings, the
    /// idempotency record (`core::prefetch`). A hint: it changes nothing.
    pub fn prefetch(&self, user: u32, index: Option<u32>) {
        self.links.prefetch(user);
        if let Some(i) = index {
            self.received.prefetch(user);
            self.redeemed.prefetch(user);
            if let Some(seen) = self.seen.get(i as usize) {
                crate::core::prefetch::prefetch(seen);
            }
        }
    }

    /// A delivery of the feed, received at `now`, about a purchase of `m.purchase.user` (the
    /// card's holder) with the network's dense transaction number `index` (the idempotency
    /// record's index).
    pub fn message(
        &mut self,
        now: SimTime,
        m: NetworkMessage,
        facts: &MessageFacts,
        index: u32,
        out: &mut Vec<Decided>,
    ) -> Delivery {
        let user = m.purchase.user;
        // The network reports on cards linked when it emits a message (and, for refunds, on
        // transactions it reported before).
        let link = self.link_at(user, facts.slot, m.network_time);
        let credited = m.kind == MessageKind::Refund && self.has_credit_on(user, facts.slot);
        if link.is_none() && !credited {
            return Delivery::NotLinked;
        }
        if self.seen.len() <= index as usize {
            self.seen.resize(index as usize + 1, 0);
        }
        let seen = &mut self.seen[index as usize];
        if *seen & m.kind.bit() != 0 && self.idempotency {
            out.push(Decided::Duplicate { m });
            return Delivery::Duplicate;
        }
        *seen |= m.kind.bit();
        let Some(li) = link else {
            out.push(Decided::Received { m, card: None });
            self.refund(m, facts, out);
            return Delivery::Applied;
        };
        let token = self.links[user][li].token;
        out.push(Decided::Received { m, card: Some(token) });
        match m.kind {
            MessageKind::Auth | MessageKind::Reversal => {}
            MessageKind::Refund => self.refund(m, facts, out),
            MessageKind::Clearing => {
                if m.network_time < self.latest_clearing {
                    out.push(Decided::OutOfNetworkOrder);
                }
                self.latest_clearing = self.latest_clearing.max(m.network_time);
                if !m.mid_known {
                    // Policy `unknown_mid`: a purchase under a terminal id the registry lacks
                    // cannot be tied to a merchant, so it earns nothing.
                    out.push(Decided::UnknownMid);
                    return Delivery::Applied;
                }
                let merchant = self.world.merchant_of_mid(facts.mid);
                self.received[user].push(Received {
                    purchase: m.purchase,
                    slot: facts.slot,
                    merchant,
                    bought_at: facts.bought_at,
                    amount: m.amount,
                    refunded: Cents::ZERO,
                });
                self.clear(now, &m, facts, li, token, out);
            }
        }
        Delivery::Applied
    }

    /// Takes the reward timers that are not due yet (the caller runs them with `timer` when they
    /// are).
    pub fn take_timers(&mut self) -> std::vec::Drain<'_, (SimTime, Timer)> {
        self.timers.drain(..)
    }

    /// Runs `t` now if it is due now, else keeps it for the caller's queue.
    fn after(&mut self, now: SimTime, due: SimTime, t: Timer, out: &mut Vec<Decided>) {
        if due <= now {
            self.timer(now, t, out);
        } else {
            self.timers.push((due, t));
        }
    }

    /// The credits held, by (purchase, offer), after `after` (none: from the first).
    pub fn credits_after(&self, after: Option<CreditKey>) -> impl Iterator<Item = (CreditKey, CreditView)> + '_ {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.credits.range((from, Bound::Unbounded)).map(|(k, c)| (*k, c.view()))
    }

    /// How many credits the platform holds.
    pub fn credit_count(&self) -> usize {
        self.credits.len()
    }

    /// Whether the platform holds an unreversed credit on the user's card `slot`.
    fn has_credit_on(&self, user: u32, slot: u8) -> bool {
        self.credits
            .range((PurchaseId { user, seq: 0 }, OfferId(0))..=(PurchaseId { user, seq: u32::MAX }, OfferId(u32::MAX)))
            .any(|(_, c)| c.slot == slot && c.reward_left() > Cents::ZERO)
    }
}
