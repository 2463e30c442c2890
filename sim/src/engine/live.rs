//! The platform as a service: the engine's platform stage (enrollment registry, idempotency,
//! matching, budgets and caps, crediting, ledger) driven by inputs from outside — the HTTP
//! requests of `offersim serve` — instead of simulated users and the mock network.
//!
//! The service's clock is the latest virtual time it has been told (`X-Offersim-Time`): reward
//! timers (confirmation, payout) run when a request arrives after they are due. Each input is
//! judged at its own time, like in a run: an enrollment at its time, a message at its network
//! timestamp.

use super::{CreditKey, Engine, InFlight, TxnContext, QUEUE_BUCKET_SECONDS};
use crate::matching::{Decision, Decline};
use crate::money::Cents;
use crate::network::{CardNetwork, FaultCounts, NetworkMessage, PurchaseFacts, PurchaseId};
use crate::population::{Token, UserEvent};
use crate::queue::EventQueue;
use crate::rng::Stream;
use crate::time::SimTime;
use crate::world::{Channel, MidId, OfferId, World};

/// The network a live platform does not have: its messages come over HTTP.
struct NoNetwork;

impl CardNetwork for NoNetwork {
    fn schemes(&self) -> Vec<String> {
        Vec::new()
    }
    fn report(&self, _: &PurchaseFacts, _: &mut Stream, _: &mut Vec<(SimTime, NetworkMessage)>, _: &mut FaultCounts) {}
}

static NO_NETWORK: NoNetwork = NoNetwork;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    #[error("user number {0} is beyond the {1} users this platform holds")]
    TooManyUsers(u32, u32),
    #[error("the card token is not linked (never issued, or deleted)")]
    NotLinked,
    #[error("the card is already enrolled in this offer")]
    AlreadyEnrolled,
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

/// A message's purchase facts as the service knows them.
#[derive(Debug, Clone, Copy)]
pub struct LiveTxn {
    /// The platform's dense number of the message's transaction (its idempotency index).
    pub index: u32,
    pub slot: u8,
    pub mid: MidId,
    pub channel: Channel,
    pub scheme: u8,
    pub bought_at: SimTime,
}

/// One credit as the platform holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditView {
    pub reward: Cents,
    pub fee: Cents,
    pub pending: Cents,
    pub confirmed: Cents,
    pub paid: Cents,
    pub fee_left: Cents,
    /// How many times it was granted (more than once only if idempotency failed).
    pub times: u32,
}

/// Decides the budget checks of a platform in place of its budgets; everything else (terms,
/// caps, precedence, crediting) stays the platform's. The live driver's oracle
/// (`offersim-live`, `drive/oracle.rs`) replays a target's budget decisions with it, to see
/// what else they imply for each person.
pub trait BudgetRule: Send {
    /// Whether the budgets of `offer` (which has one, total or per period) pay `reward` on the
    /// clearing of `purchase`: `None`, or the decline. Budgets are not checked then, and may be
    /// spent past their limit.
    fn blocks(&self, purchase: PurchaseId, offer: OfferId, reward: Cents) -> Option<Decline>;
    /// What matching decided on the clearing of `purchase` (network timestamp `stamp`), after
    /// the budget checks it asked.
    fn decided(&mut self, _purchase: PurchaseId, _stamp: SimTime, _decision: &Decision) {}
}

pub struct Live<'w> {
    engine: Engine<'w>,
    queue: EventQueue<InFlight>,
    /// The latest time the platform was told; timers run up to it.
    clock: SimTime,
    /// The time of the latest timer run (the queue cannot go back before it).
    ran_to: SimTime,
    /// The most users it may hold, and how many it has room for now.
    users: u32,
    capacity: u32,
}

impl<'w> Live<'w> {
    /// A platform for the offers of `world` and up to `users` users (numbered from 0); its
    /// memory grows with the users it meets.
    pub fn new(world: &'w World, users: u32) -> Live<'w> {
        let capacity = users.min(1_024);
        Live {
            engine: Engine::new(world, &NO_NETWORK, 0..capacity, None),
            queue: EventQueue::new(world.horizon_end(), QUEUE_BUCKET_SECONDS),
            clock: SimTime::ZERO,
            ran_to: SimTime::ZERO,
            users,
            capacity,
        }
    }

    /// The same platform with its budget checks decided by `rule`.
    pub fn with_budget_rule(world: &'w World, users: u32, rule: &'w mut dyn BudgetRule) -> Live<'w> {
        let mut live = Live::new(world, users);
        live.engine.budget_rule = Some(rule);
        live
    }

    pub fn world(&self) -> &'w World {
        self.engine.world
    }

    /// Refuses a user beyond the limit; grows the state (by doubling) to hold the user.
    fn check_user(&mut self, user: u32) -> Result<(), LiveError> {
        if user >= self.users {
            return Err(LiveError::TooManyUsers(user, self.users));
        }
        if user >= self.capacity {
            self.capacity = (user + 1).max(self.capacity.saturating_mul(2)).min(self.users);
            let e = &mut self.engine;
            let n = self.capacity as usize;
            e.links.grow(n);
            e.redeemed.grow(n);
            e.received.grow(n);
            e.experiments.grow(n);
            e.has_linked.grow(n);
            e.linkers.grow(n);
            e.oracle.grow(n);
        }
        Ok(())
    }

    /// Runs the reward timers due before `at` and moves the clock there.
    fn advance(&mut self, at: SimTime) {
        self.clock = self.clock.max(at);
        while let Some((t, item)) = self.queue.pop_before(self.clock) {
            self.ran_to = t;
            match item {
                InFlight::Confirm(k, amount) => self.engine.confirm(t, k, amount),
                InFlight::Pay(k, amount) => self.engine.pay(t, k, amount),
                InFlight::Delivery(..) => unreachable!("a live platform queues only reward timers"),
            }
            self.schedule_timers();
        }
    }

    fn schedule_timers(&mut self) {
        for (due, item) in self.engine.timers.drain(..) {
            self.queue.schedule(due.max(self.ran_to), item);
        }
    }

    fn active(&self, user: u32, token: Token) -> bool {
        self.engine.links[user].iter().any(|l| l.token == token && l.active())
    }

    /// A card entered by `user` (their physical card `slot`), linked under `token`.
    pub fn card_added(&mut self, at: SimTime, user: u32, slot: u8, token: Token) -> Result<(), LiveError> {
        self.check_user(user)?;
        self.advance(at);
        self.engine.user_event(at, user, UserEvent::CardAdded { slot, token }, &mut self.queue);
        Ok(())
    }

    pub fn enrolled(&mut self, at: SimTime, user: u32, token: Token, offer: OfferId) -> Result<(), LiveError> {
        self.check_user(user)?;
        if !self.active(user, token) {
            return Err(LiveError::NotLinked);
        }
        let link = self.engine.links[user].iter().find(|l| l.token == token && l.active());
        if link.is_some_and(|l| l.enrolled.iter().any(|e| e.offer == offer)) {
            return Err(LiveError::AlreadyEnrolled);
        }
        self.advance(at);
        self.engine.user_event(
            at,
            user,
            UserEvent::Enrolled { offer, token, one_tap: true, impressions: 0 },
            &mut self.queue,
        );
        Ok(())
    }

    pub fn card_deleted(&mut self, at: SimTime, user: u32, token: Token) -> Result<(), LiveError> {
        self.check_user(user)?;
        if !self.active(user, token) {
            return Err(LiveError::NotLinked);
        }
        self.advance(at);
        self.engine.user_event(at, user, UserEvent::CardDeleted { token }, &mut self.queue);
        Ok(())
    }

    /// A delivery of the feed, received at `at`, about a purchase of `m.purchase.user` (the
    /// card's holder).
    pub fn message(&mut self, at: SimTime, m: NetworkMessage, txn: LiveTxn) -> Result<Delivery, LiveError> {
        self.check_user(m.purchase.user)?;
        self.advance(at);
        let seen = &mut self.engine.seen;
        if seen.len() <= txn.index as usize {
            seen.resize(txn.index as usize + 1, 0);
        }
        let before = (self.engine.out.feed.duplicates_ignored, self.engine.out.feed.not_linked);
        let ctx = TxnContext {
            bought_at: txn.bought_at,
            slot: txn.slot,
            mid: txn.mid,
            incremental: None,
            index: txn.index,
            channel: txn.channel,
            scheme: txn.scheme,
            surface: Default::default(),
        };
        self.engine.network_message(at, m, ctx);
        self.schedule_timers();
        let feed = &self.engine.out.feed;
        Ok(if feed.duplicates_ignored > before.0 {
            Delivery::Duplicate
        } else if feed.not_linked > before.1 {
            Delivery::NotLinked
        } else {
            Delivery::Applied
        })
    }

    /// Up to `limit` credits after `after` (a cursor: the last key of the previous page).
    pub fn credits_after(&self, after: Option<CreditKey>, limit: usize) -> Vec<(CreditKey, CreditView)> {
        use std::ops::Bound;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        self.engine
            .credits
            .range((from, Bound::Unbounded))
            .take(limit)
            .map(|(k, c)| {
                let view = CreditView {
                    reward: c.reward,
                    fee: c.fee,
                    pending: c.pending,
                    confirmed: c.confirmed,
                    paid: c.paid,
                    fee_left: c.fee_left,
                    times: c.times,
                };
                (*k, view)
            })
            .collect()
    }

    /// How many credits the platform holds.
    pub fn credit_count(&self) -> usize {
        self.engine.credits.len()
    }

    /// Whether the books balance (they always should).
    pub fn balanced(&self) -> bool {
        self.engine.out.ledger.is_balanced()
    }
}
