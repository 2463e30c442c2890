//! The platform as a service: the same `Platform` driven by inputs from outside — the HTTP
//! requests of `offersim serve` — instead of the harness's simulated people and mock network.
//!
//! The service's clock is the latest virtual time it has been told (`X-Offersim-Time`): reward
//! timers (confirmation, payout) run when a request arrives after they are due. Each input is
//! judged at its own time, like in a run: an enrollment at its time, a message at its network
//! timestamp.

use super::{BudgetRule, CreditView, Decided, Delivery, MessageFacts, Platform, Timer};
use crate::core::queue::EventQueue;
use crate::core::time::SimTime;
use crate::world::network::{CreditKey, NetworkMessage};
use crate::world::Token;
use crate::world::{OfferId, World};

/// Width of the timer queue's buckets, in seconds.
const QUEUE_BUCKET_SECONDS: u64 = 60;

/// The most users a service holds state for before it first grows.
const INITIAL_USERS: u32 = 1_024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiveError {
    #[error("user number {0} is beyond the {1} users this platform holds")]
    TooManyUsers(u32, u32),
    #[error("the card token is not linked (never issued, or deleted)")]
    NotLinked,
    #[error("the card is already enrolled in this offer")]
    AlreadyEnrolled,
}

/// A message's purchase facts as the service knows them, with the platform's dense number of
/// its transaction (its idempotency index).
#[derive(Debug, Clone, Copy)]
pub struct LiveTxn {
    pub index: u32,
    pub facts: MessageFacts,
}

pub struct Live<'w> {
    platform: Platform<'w>,
    queue: EventQueue<Timer>,
    /// What the latest input decided (a service answers with its delivery verdict; the
    /// decisions themselves are in the credits).
    decided: Vec<Decided>,
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
        Live::of(Platform::new(world, 0..users.min(INITIAL_USERS)), users)
    }

    /// The same platform with its budget checks decided by `rule`.
    pub fn with_budget_rule(world: &'w World, users: u32, rule: &'w mut dyn BudgetRule) -> Live<'w> {
        Live::of(Platform::new(world, 0..users.min(INITIAL_USERS)).with_budget_rule(rule), users)
    }

    fn of(platform: Platform<'w>, users: u32) -> Live<'w> {
        let world = platform.world();
        Live {
            platform,
            queue: EventQueue::new(world.horizon_end(), QUEUE_BUCKET_SECONDS),
            decided: Vec::new(),
            clock: SimTime::ZERO,
            ran_to: SimTime::ZERO,
            users,
            capacity: users.min(INITIAL_USERS),
        }
    }

    pub fn world(&self) -> &'w World {
        self.platform.world()
    }

    /// Refuses a user beyond the limit; grows the state (by doubling) to hold the user.
    fn check_user(&mut self, user: u32) -> Result<(), LiveError> {
        if user >= self.users {
            return Err(LiveError::TooManyUsers(user, self.users));
        }
        if user >= self.capacity {
            self.capacity = (user + 1).max(self.capacity.saturating_mul(2)).min(self.users);
            self.platform.grow(self.capacity as usize);
        }
        Ok(())
    }

    /// Runs the reward timers due before `at` and moves the clock there.
    fn advance(&mut self, at: SimTime) {
        self.clock = self.clock.max(at);
        while let Some((t, timer)) = self.queue.pop_before(self.clock) {
            self.ran_to = t;
            self.decided.clear();
            self.platform.timer(t, timer, &mut self.decided);
            self.schedule_timers();
        }
    }

    fn schedule_timers(&mut self) {
        let ran_to = self.ran_to;
        for (due, timer) in self.platform.take_timers() {
            self.queue.schedule(due.max(ran_to), timer);
        }
    }

    /// A card entered by `user` (their physical card `slot`), linked under `token`.
    pub fn card_added(&mut self, at: SimTime, user: u32, slot: u8, token: Token) -> Result<(), LiveError> {
        self.check_user(user)?;
        self.advance(at);
        self.platform.card_added(at, user, slot, token);
        Ok(())
    }

    pub fn enrolled(&mut self, at: SimTime, user: u32, token: Token, offer: OfferId) -> Result<(), LiveError> {
        self.check_user(user)?;
        if !self.platform.is_linked(user, token) {
            return Err(LiveError::NotLinked);
        }
        if self.platform.is_enrolled(user, token, offer) {
            return Err(LiveError::AlreadyEnrolled);
        }
        self.advance(at);
        self.platform.enroll(at, user, token, offer).map_err(|_| LiveError::NotLinked)
    }

    pub fn card_deleted(&mut self, at: SimTime, user: u32, token: Token) -> Result<(), LiveError> {
        self.check_user(user)?;
        if !self.platform.is_linked(user, token) {
            return Err(LiveError::NotLinked);
        }
        self.advance(at);
        self.decided.clear();
        self.platform.delete_card(at, user, token, &mut self.decided);
        Ok(())
    }

    /// A delivery of the feed, received at `at`, about a purchase of `m.purchase.user` (the
    /// card's holder).
    pub fn message(&mut self, at: SimTime, m: NetworkMessage, txn: LiveTxn) -> Result<Delivery, LiveError> {
        self.check_user(m.purchase.user)?;
        self.advance(at);
        self.decided.clear();
        let delivery = self.platform.message(at, m, &txn.facts, txn.index, &mut self.decided);
        self.schedule_timers();
        Ok(delivery)
    }

    /// Up to `limit` credits after `after` (a cursor: the last key of the previous page).
    pub fn credits_after(&self, after: Option<CreditKey>, limit: usize) -> Vec<(CreditKey, CreditView)> {
        self.platform.credits_after(after).take(limit).collect()
    }

    /// How many credits the platform holds.
    pub fn credit_count(&self) -> usize {
        self.platform.credit_count()
    }

    /// Whether the books balance (they always should).
    pub fn balanced(&self) -> bool {
        self.platform.ledger().is_balanced()
    }
}
