//! offersim's engine: virtual time, the event queue, per-entity random streams, the simulated
//! world (users, merchants, offers) and the pipeline stages (exposure → enrollment → spending →
//! matching → crediting → ledger).
//!
//! Architecture invariant: this crate never reads the wall clock, the environment, OS
//! randomness or the file system, and nothing it outputs depends on hash-map order or on the
//! number of threads.

pub mod core;
pub mod harness;
pub mod outcome;
pub mod people;
pub mod platform;
pub mod truth;
pub mod world;

pub use crate::core::money::Cents;
pub use crate::core::time::SimTime;
pub use harness::{run, RunError, RunOptions};
pub use world::World;
