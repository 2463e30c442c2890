//! The event log: every event of a run, one record each, for anyone who wants to re-check the
//! numbers. The schema is documented in `reports/README.md`; cards appear only as tokens.

use crate::core::money::Cents;
use crate::core::time::SimTime;
use crate::platform::{BudgetScope, Input};
use crate::world::network::{MessageKind, PurchaseId};
use crate::world::Channel;
use crate::world::{PhysicalCard, Token};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LogEvent<'a> {
    /// The user posted an offer's hashtag (hashtag sync): their issuer-linked card enrolls.
    HashtagPost {
        user: u32,
        offer: &'a str,
        tag: &'a str,
    },
    /// The user saw a shared post of the offer (generation 1: shared by a first sharer).
    ShareSeen {
        user: u32,
        offer: &'a str,
        generation: u8,
    },
    /// The user shared the offer's post with their followers.
    Shared {
        user: u32,
        offer: &'a str,
        generation: u8,
    },
    /// Views of a shop surface in one day (`shops.rs`), the first at this time.
    ShopSeen {
        user: u32,
        shop: &'a str,
        impressions: u32,
    },
    ShopTap {
        user: u32,
        shop: &'a str,
    },
    SiteVisit {
        user: u32,
        shop: &'a str,
    },
    ShopCardAbandoned {
        user: u32,
        shop: &'a str,
    },
    /// A buy-button order refused: the product sold out (or has fewer units left).
    OrderRefused {
        user: u32,
        shop: &'a str,
        units: u32,
    },
    Exposure {
        user: u32,
        offer: &'a str,
        impressions: u32,
    },
    Click {
        user: u32,
        offer: &'a str,
    },
    CardEntryAbandoned {
        user: u32,
        offer: &'a str,
    },
    /// A card entered and linked under a new token (`physical_card`: which of the person's
    /// cards; a deleted card added again is the same physical card under a new token).
    CardAdded {
        user: u32,
        card: Token,
        physical_card: PhysicalCard,
    },
    Enrollment {
        user: u32,
        offer: &'a str,
        card: Token,
        one_tap: bool,
    },
    CardDeleted {
        user: u32,
        card: Token,
        enrollments_ended: u32,
    },
    Purchase {
        purchase: PurchaseId,
        user: u32,
        merchant: &'a str,
        mid: &'a str,
        channel: Channel,
        amount: Cents,
        scheme: &'a str,
        /// The card's token when it is linked, else null (the platform knows nothing of it).
        card: Option<Token>,
        /// The card paid with, linked or not.
        physical_card: PhysicalCard,
        /// The merchant's local date-time, when the merchant is in another time zone than the
        /// scenario (what the network reports as the transaction time).
        #[serde(skip_serializing_if = "Option::is_none")]
        local_at: Option<String>,
        /// The surfaces that led to it: first and last touch with the merchant (`organic`).
        touch: crate::world::attribution::Touch,
        /// The dollars the buyer added to reach an enrolled offer's minimum spend (included in
        /// `amount`), when they did.
        #[serde(skip_serializing_if = "Option::is_none")]
        top_up: Option<Cents>,
    },
    /// The network's messages that reach the platform (its feed: cards linked at the message's
    /// network time). `network_t`: the network's timestamp (seconds since the scenario start),
    /// which the rules judge by; the line's `t` is its delivery. `mid_known`: false under a
    /// terminal id the MID registry lacks (such a clearing earns nothing, policy `unknown_mid`).
    /// `physical_card`: the card the network reported, whatever token it is linked under.
    Auth {
        purchase: PurchaseId,
        amount: Cents,
        card: Token,
        network_t: SimTime,
        mid_known: bool,
        physical_card: PhysicalCard,
    },
    Clearing {
        purchase: PurchaseId,
        amount: Cents,
        card: Token,
        network_t: SimTime,
        mid_known: bool,
        physical_card: PhysicalCard,
    },
    Reversal {
        purchase: PurchaseId,
        amount: Cents,
        card: Token,
        network_t: SimTime,
        mid_known: bool,
        physical_card: PhysicalCard,
    },
    Refund {
        purchase: PurchaseId,
        amount: Cents,
        /// Null when the card is no longer linked (`physical_card` says which card it is for).
        card: Option<Token>,
        /// False when the refund does not reference its original (the platform then finds it by
        /// card, merchant and amount; the clawback names the purchase it chose).
        referenced: bool,
        network_t: SimTime,
        mid_known: bool,
        physical_card: PhysicalCard,
    },
    /// A message delivered again (same identity) and ignored.
    DuplicateIgnored {
        purchase: PurchaseId,
        kind: MessageKind,
        copy: u8,
        network_t: SimTime,
        physical_card: PhysicalCard,
    },
    /// A message of a purchase made on a linked card that the platform never acted on:
    /// `reason` `not_linked` (no card linked at its network time: deleted since), or
    /// `after_horizon` (due at `due_t`, after the run's end; logged when the purchase is).
    Undelivered {
        purchase: PurchaseId,
        kind: MessageKind,
        copy: u8,
        amount: Cents,
        network_t: SimTime,
        due_t: SimTime,
        reason: &'static str,
        physical_card: PhysicalCard,
    },
    /// A reward granted on a clearing: pending until the offer's return period is over.
    Match {
        purchase: PurchaseId,
        offer: &'a str,
        reward: Cents,
        fee: Cents,
    },
    /// The return period is over: the reward (what is left of it) is confirmed.
    Confirm {
        purchase: PurchaseId,
        offer: &'a str,
        amount: Cents,
    },
    Declined {
        purchase: PurchaseId,
        offer: &'a str,
        reason: &'a str,
    },
    /// The statement credit on the card account (the reward is paid).
    Credit {
        purchase: PurchaseId,
        offer: &'a str,
        card: Token,
        amount: Cents,
        descriptor: &'a str,
    },
    /// A refund takes back `amount` of the reward (and `fee`), from the state it was in
    /// (`pending`, `confirmed`, or `paid`: a debit on the card account).
    Clawback {
        purchase: PurchaseId,
        offer: &'a str,
        card: Token,
        amount: Cents,
        fee: Cents,
        from: &'a str,
        descriptor: &'a str,
    },
}

/// One line of the log.
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub seq: u64,
    /// Seconds since the scenario start.
    pub t: SimTime,
    /// Local date-time of `t`.
    pub at: &'a str,
    /// The shard whose replay produced the line (budgets are split between shards).
    pub shard: u32,
    #[serde(flatten)]
    pub event: LogEvent<'a>,
}

/// Receives every record of a run, in processing order. Implementations keep their own I/O
/// errors; the engine never does I/O.
pub trait EventLog: Send {
    fn record(&mut self, r: &Record<'_>);
}

/// Where a shard's lines go: the run's log, the shard's number, and the `seq` of its first
/// event (shards are logged one after another).
pub struct ShardLog<'a> {
    pub log: &'a mut dyn EventLog,
    pub shard: u32,
    pub seq_base: u64,
}

impl<'a> ShardLog<'a> {
    /// The log of a run of one shard.
    pub fn first(log: Option<&'a mut dyn EventLog>) -> Option<ShardLog<'a>> {
        log.map(|log| ShardLog { log, shard: 0, seq_base: 0 })
    }
}

/// Receives progress while a run goes on (a terminal progress bar, or nothing).
pub trait Progress: Sync {
    fn phase(&self, _name: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    /// Events replayed since the last call (for an events-per-second figure).
    fn events(&self, _n: u64) {}
    fn at(&self, _now: SimTime) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// Receives the platform's inputs of a run, in processing order, and the decisions that only
/// arrival order can change: each reward on an offer with a budget (`awarded`, with the budget
/// periods it counts in) and each reward declined because a budget was spent.
pub trait Tap: Send {
    fn input(&mut self, at: SimTime, input: Input);
    fn awarded(&mut self, _purchase: PurchaseId, _offer: crate::world::OfferId, _period: Option<u32>) {}
    fn budget_declined(&mut self, _purchase: PurchaseId, _offer: crate::world::OfferId, _scope: BudgetScope) {}
}
