//! The subcommands beyond `run` and `check`, one module each (they share `say!`, `tell!` and
//! `invalid` from `main.rs`), and the exit codes (`exit.rs`).

pub mod exit;
pub mod gates;
pub mod live;
pub mod sweep;

/// `--threads`, the same for every command that runs scenarios.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct Threads {
    /// Worker threads (0: one per core). Never changes a result.
    #[arg(long = "threads", value_name = "THREADS", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=1024))]
    pub count: u16,
}

impl Threads {
    /// The count asked for (0: one per core).
    pub fn get(self) -> usize {
        self.count as usize
    }
}
