//! The subcommands beyond `run` and `check`, one module each (they share `say!`, `tell!` and
//! `invalid` from `main.rs`).

pub mod gates;
pub mod live;
pub mod sweep;
