//! How the replay hands the oracle its inputs: directly, or through a channel to a thread of its
//! own. The oracle's verdicts are read only once the replay is over (`reconcile`), and nothing in
//! the replay waits on them, so when a core would otherwise sit idle during the replay (a run of
//! one shard on two or more threads) the oracle keeps pace on it. Its inputs arrive in the same
//! order either way, so its verdicts — and the report — cannot depend on where it runs.

use super::{Cleared, Oracle};
use crate::core::money::Cents;
use crate::core::time::SimTime;
use crate::world::network::PurchaseId;
use crate::world::{OfferId, Token};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

/// One input of the oracle, in the replay's order.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    CardAdded { now: SimTime, user: u32, slot: u8, token: Token },
    Enrolled { now: SimTime, user: u32, token: Token, offer: OfferId },
    CardDeleted { now: SimTime, user: u32, token: Token },
    Clearing(Cleared),
    Refund { purchase: PurchaseId, amount: Cents },
}

impl Oracle<'_> {
    pub fn apply(&mut self, input: Input) {
        match input {
            Input::CardAdded { now, user, slot, token } => self.card_added(now, user, slot, token),
            Input::Enrolled { now, user, token, offer } => self.enrolled(now, user, token, offer),
            Input::CardDeleted { now, user, token } => self.card_deleted(now, user, token),
            Input::Clearing(c) => self.clearing(&c),
            Input::Refund { purchase, amount } => self.refund(purchase, amount),
        }
    }

    /// Starts loading the state `input` will read (`core::prefetch`): its person's cards.
    pub fn prefetch(&self, input: &Input) {
        let user = match input {
            Input::CardAdded { user, .. } | Input::Enrolled { user, .. } | Input::CardDeleted { user, .. } => *user,
            Input::Clearing(c) => c.purchase.user,
            Input::Refund { purchase, .. } => purchase.user,
        };
        self.prefetch_user(user);
    }
}

/// How many inputs ahead the oracle's thread asks for the state of (`Oracle::prefetch`).
const AHEAD: usize = 8;

/// Inputs go to the oracle's thread in batches of this many (64 KiB; one hand-over per batch).
const BATCH: usize = 1_024;
/// Batches in flight at most: the replay runs at most this far ahead of the oracle, so memory
/// stays bounded whatever the oracle's pace.
const IN_FLIGHT: usize = 4;

/// The oracle, here or on its thread.
pub struct Feed<'w> {
    /// The oracle when it runs on the replay's thread (and once it is back from its own).
    here: Option<Oracle<'w>>,
    away: Option<Away>,
}

/// The replay's end of the channel to the oracle's thread.
struct Away {
    batch: Vec<Input>,
    to: SyncSender<Vec<Input>>,
    /// Emptied batches coming back, to be filled again (no allocation per batch).
    empties: Receiver<Vec<Input>>,
}

impl<'w> Feed<'w> {
    pub fn new(oracle: Oracle<'w>) -> Self {
        Feed { here: Some(oracle), away: None }
    }

    pub fn send(&mut self, input: Input) {
        if let Some(away) = self.away.as_mut() {
            away.batch.push(input);
            if away.batch.len() == BATCH {
                let next = away.empties.try_recv().unwrap_or_else(|_| Vec::with_capacity(BATCH));
                let full = std::mem::replace(&mut away.batch, next);
                // The oracle's thread only stops when this end closes; if it died, `join` says why.
                let _ = away.to.send(full);
            }
        } else if let Some(oracle) = self.here.as_mut() {
            oracle.apply(input);
        }
    }

    /// Moves the oracle to a thread of `scope`; `send` then batches inputs to it until `join`.
    pub fn spawn<'scope>(&mut self, scope: &'scope Scope<'scope, '_>) -> ScopedJoinHandle<'scope, Oracle<'w>>
    where
        'w: 'scope,
    {
        let mut oracle = self.here.take().expect("the oracle is on the replay's thread");
        let (to, inputs) = sync_channel::<Vec<Input>>(IN_FLIGHT);
        let (give_back, empties) = channel();
        let handle = scope.spawn(move || {
            for mut batch in inputs {
                for i in 0..batch.len() {
                    if let Some(later) = batch.get(i + AHEAD) {
                        oracle.prefetch(later);
                    }
                    oracle.apply(batch[i]);
                }
                batch.clear();
                let _ = give_back.send(batch);
            }
            oracle
        });
        self.away = Some(Away { batch: Vec::with_capacity(BATCH), to, empties });
        handle
    }

    /// Sends what is pending, closes the channel and takes the oracle back once it has applied
    /// every input. A panic on the oracle's thread carries on here.
    pub fn join(&mut self, handle: ScopedJoinHandle<'_, Oracle<'w>>) {
        if let Some(away) = self.away.take() {
            if !away.batch.is_empty() {
                let _ = away.to.send(away.batch);
            }
            drop(away.to);
        }
        match handle.join() {
            Ok(oracle) => self.here = Some(oracle),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Starts loading what the oracle will read for `user` when it is on the replay's thread
    /// (on its own thread, it looks ahead in its batches itself).
    pub fn prefetch_user(&self, user: u32) {
        // Away, `here` is empty: the oracle left with the first `spawn`.
        if let Some(oracle) = &self.here {
            oracle.prefetch_user(user);
        }
    }

    /// The oracle, after the replay.
    pub fn oracle(&self) -> &Oracle<'w> {
        self.here.as_ref().expect("the oracle is back from its thread (`join`)")
    }
}
