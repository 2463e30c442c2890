//! The subcommands beyond `run` and `check`, one module each (they share `say!`, `tell!` and
//! `invalid` from `main.rs`), and the exit codes (`exit.rs`).

pub mod audit;
pub mod exit;
pub mod gates;
pub mod live;
pub mod parts;
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

/// `--out`, the same for every command that writes reports for one scenario.
#[derive(clap::Args, Clone, Debug)]
pub struct OutDir {
    /// Directory for the command's files [default: reports/out/<scenario name>/ for `run`,
    /// reports/out/<command>/<scenario name>/ for the others].
    #[arg(long = "out", value_name = "OUT")]
    pub dir: Option<std::path::PathBuf>,
}

/// `--quiet`, the same for every command with a progress bar.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct Quiet {
    /// No progress bar.
    #[arg(long = "quiet", short = 'q')]
    pub on: bool,
}
