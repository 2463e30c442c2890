//! Writing results: every file is written beside its final name and renamed into place once
//! complete, so a failed or interrupted run never leaves a half-written report.

use anyhow::{Context, Result};
use offersim_sim::events::{EventLog, Record};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

/// Writes `contents` to `path` atomically (temp file + rename).
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let tmp = temp_path(path);
    std::fs::write(&tmp, contents).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}

/// The `--events` JSONL file: one record per line, buffered, kept as `.partial` until the run
/// ends well. The first I/O error is kept and reported at the end.
pub struct JsonlLog {
    path: PathBuf,
    tmp: PathBuf,
    out: BufWriter<File>,
    error: Option<std::io::Error>,
    lines: u64,
}

impl JsonlLog {
    pub fn create(path: &Path) -> Result<JsonlLog> {
        let tmp = temp_path(path);
        let file = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        Ok(JsonlLog {
            path: path.to_path_buf(),
            tmp,
            out: BufWriter::with_capacity(1 << 20, file),
            error: None,
            lines: 0,
        })
    }

    /// Flushes and moves the file into place; returns the number of lines written.
    pub fn finish(mut self) -> Result<u64> {
        if let Some(e) = self.error.take() {
            let _ = std::fs::remove_file(&self.tmp);
            return Err(e).with_context(|| format!("cannot write {}", self.tmp.display()));
        }
        self.out.flush().with_context(|| format!("cannot write {}", self.tmp.display()))?;
        std::fs::rename(&self.tmp, &self.path)
            .with_context(|| format!("cannot move {} into place", self.path.display()))?;
        Ok(self.lines)
    }

    /// Removes the partial file (the run failed).
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

impl EventLog for JsonlLog {
    fn record(&mut self, r: &Record<'_>) {
        if self.error.is_some() {
            return;
        }
        let res = serde_json::to_writer(&mut self.out, r)
            .map_err(std::io::Error::from)
            .and_then(|_| self.out.write_all(b"\n"));
        match res {
            Ok(()) => self.lines += 1,
            Err(e) => self.error = Some(e),
        }
    }
}
