//! offersim against a real offers service over HTTP: the contract (`contract`), the program a
//! service is told (`program`), the reference service (`serve`) and the live driver (`drive`)
//! with its differential oracle.
//!
//! Architecture invariant: traffic goes to loopback addresses only, and every loop is bounded
//! in count and in time.

pub mod contract;
pub mod drive;
pub mod guard;
pub mod program;
pub mod serve;
