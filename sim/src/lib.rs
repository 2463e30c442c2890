//! offersim's engine: virtual time, the event queue, per-entity random streams, the simulated
//! world (users, merchants, offers) and the pipeline stages (exposure → enrollment → spending →
//! matching → crediting → ledger).
//!
//! Architecture invariant: this crate never reads the wall clock, the environment, OS
//! randomness or the file system, and nothing it outputs depends on hash-map order or on the
//! number of threads.

pub mod attribution;
pub mod behaviour;
pub mod bitset;
pub mod config;
pub mod events;
pub mod fastmatch;
pub mod harness;
pub mod ledger;
pub mod matching;
pub mod money;
pub mod network;
pub mod outcome;
pub mod per_user;
pub mod platform;
pub mod population;
pub mod queue;
pub mod rng;
pub mod sample;
pub mod sharing;
pub mod shops;
pub mod stable_pick;
pub mod thresholds;
pub mod time;
pub mod truth;
pub mod workload;
pub mod world;

pub use harness::{run, RunError, RunOptions};
pub use money::Cents;
pub use time::SimTime;
pub use world::World;
