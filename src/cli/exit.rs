//! How `offersim` ends: the one place its exit codes are defined (README, "Exit codes"). Every
//! command returns `anyhow::Result<Exit>`; an `Err` is a failure of the run or of I/O (exit 1),
//! printed once by `main` as `error: …`.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done as asked.
    Ok,
    /// 1: reports drifted (`diff`, `regress`), or a run or an I/O operation failed.
    Failed,
    /// 2: invalid input (a scenario, an argument, a baseline): nothing was run or written.
    Invalid,
    /// 3: a threshold failed (`run`, `drive`); the reports are written and say which.
    Threshold,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(match e {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Invalid => 2,
            Exit::Threshold => 3,
        })
    }
}

/// A command's result as the process's exit code: an error is printed (with its causes) and
/// is exit 1.
pub fn finish(r: anyhow::Result<Exit>) -> ExitCode {
    match r {
        Ok(e) => e.into(),
        Err(e) => {
            tell!("error: {e:#}");
            Exit::Failed.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_the_documented_ones() {
        for (e, code) in [(Exit::Ok, 0u8), (Exit::Failed, 1), (Exit::Invalid, 2), (Exit::Threshold, 3)] {
            assert_eq!(ExitCode::from(e), ExitCode::from(code));
        }
    }
}
