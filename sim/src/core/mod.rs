//! The engine's foundations, which know nothing of offers: virtual time and the calendar,
//! money in cents, keyed random streams and the distributions drawn from them, the calendar
//! queue, dense per-user storage and prefetch hints for it, a process on daily windows.
//!
//! Invariant: depends on nothing else in the crate.

pub mod bitset;
pub mod chacha;
pub mod condition;
pub mod huge_pages;
pub mod money;
pub mod per_user;
pub mod prefetch;
pub mod queue;
pub mod rng;
pub mod sample;
pub mod stable_pick;
pub mod time;
pub mod windows;
