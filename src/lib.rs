//! The `offersim` command's library: loading scenario files with precise diagnostics, running
//! them, and writing reports. Only this crate touches the file system and the terminal.

pub mod diff;
pub mod machine;
pub mod output;
pub mod progress;
pub mod scenario;
pub mod sweep;

pub use scenario::{load_file, load_str, Diagnostic, Overrides, Scenario};
