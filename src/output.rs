//! Reading and writing files, safely on a bad day.
//!
//! - **Reads are bounded** (`read_bounded`): a file, device or pipe holding more than the limit is
//!   refused after reading one byte past it, never read to the end (`/dev/zero` included).
//! - **A run's files are all or nothing** (`Staged`): each regular file is written beside its
//!   final name (`.partial`), flushed to disk, and only when every file of the run is complete are
//!   they renamed into place; a failure removes the partial files and leaves what was there
//!   before untouched. A full disk therefore never leaves a half-written report, nor a new
//!   report.json beside an old report.html.
//! - **Only regular files are replaced** (`Target`): a device or FIFO at the path (`--events
//!   /dev/null`, a named pipe read by another program) is written to directly, never renamed over;
//!   a symbolic link is followed and the file it points to is replaced, the link kept.

use anyhow::{bail, Context, Result};
use offersim_sim::harness::events::{EventLog, Record};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("is a directory")]
    Directory,
    #[error("holds more than {limit} bytes, the most read from such a file")]
    TooLarge { limit: u64 },
}

/// The contents of `path`, if it holds at most `limit` bytes; reads `limit + 1` bytes at most.
pub fn read_bounded(path: &Path, limit: u64) -> std::result::Result<Vec<u8>, ReadError> {
    let file = File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(ReadError::Directory);
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// How a path is written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A regular file (or none yet): written at `tmp`, then renamed to `path`.
    Atomic { path: PathBuf, tmp: PathBuf },
    /// A device, FIFO or socket: written to directly.
    Stream { path: PathBuf },
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

fn target(path: &Path) -> Result<Target> {
    let atomic = |p: &Path| Target::Atomic { path: p.to_path_buf(), tmp: temp_path(p) };
    let link = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(atomic(path)),
        Err(e) => return Err(e).with_context(|| format!("cannot write {}", path.display())),
        Ok(m) => m,
    };
    if link.is_file() {
        return Ok(atomic(path));
    }
    if link.is_dir() {
        bail!("cannot write {}: it is a directory", path.display());
    }
    // A link: what it points to decides; the link itself is kept.
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot write {}: it is a symbolic link to nothing", path.display()))?;
    if meta.is_dir() {
        bail!("cannot write {}: it is a directory", path.display());
    }
    if meta.is_file() {
        let real = std::fs::canonicalize(path).with_context(|| format!("cannot follow {}", path.display()))?;
        return Ok(atomic(&real));
    }
    Ok(Target::Stream { path: path.to_path_buf() })
}

fn open(t: &Target) -> Result<File> {
    match t {
        Target::Atomic { tmp, .. } => File::create(tmp).with_context(|| format!("cannot create {}", tmp.display())),
        Target::Stream { path } => {
            OpenOptions::new().write(true).open(path).with_context(|| format!("cannot open {}", path.display()))
        }
    }
}

/// Flushes a finished file to the disk: a full disk shows here at the latest, not after the
/// rename.
fn settle(file: &File, t: &Target) -> Result<()> {
    match t {
        Target::Atomic { tmp, .. } => file.sync_all().with_context(|| format!("cannot write {}", tmp.display())),
        Target::Stream { .. } => Ok(()),
    }
}

/// Files written for one run, put in place together by `commit` (module doc). Dropped without a
/// commit, it removes what it wrote.
#[derive(Debug, Default)]
pub struct Staged {
    done: Vec<Target>,
}

impl Staged {
    pub fn new() -> Staged {
        Staged::default()
    }

    /// Writes `contents` for `path` (beside it, or straight into a device or FIFO).
    pub fn write(&mut self, path: &Path, contents: &str) -> Result<()> {
        let t = target(path)?;
        let result = open(&t).and_then(|mut f| {
            f.write_all(contents.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
            settle(&f, &t)
        });
        self.done.push(t);
        result
    }

    fn adopt(&mut self, t: Target) {
        self.done.push(t);
    }

    /// Puts every written file in place.
    pub fn commit(mut self) -> Result<()> {
        for t in std::mem::take(&mut self.done) {
            if let Target::Atomic { path, tmp } = t {
                std::fs::rename(&tmp, &path).with_context(|| format!("cannot move {} into place", path.display()))?;
            }
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for t in &self.done {
            if let Target::Atomic { tmp, .. } = t {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

/// Reads a JSON document that offersim wrote with `format` and `version` fields (a sweep's or a
/// regression's plan), read at most `limit` bytes; another format or version is refused by
/// name before the rest is parsed.
pub fn read_versioned<T: serde::de::DeserializeOwned>(
    path: &Path,
    format: &str,
    version: u32,
    limit: u64,
) -> std::result::Result<T, String> {
    #[derive(serde::Deserialize)]
    struct Header {
        format: String,
        version: u32,
    }
    let bytes = read_bounded(path, limit).map_err(|e| format!("{}: {e}", path.display()))?;
    let h: Header =
        serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a `{format}`: {e}", path.display()))?;
    if h.format != format || h.version != version {
        return Err(format!(
            "{} is a `{}` version {} (this offersim reads `{format}` version {version})",
            path.display(),
            h.format,
            h.version
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{} is not a `{format}`: {e}", path.display()))
}

/// Writes `contents` to `path` on its own, all or nothing.
pub fn write_atomic(path: &Path, contents: &str) -> Result<()> {
    let mut s = Staged::new();
    s.write(path, contents)?;
    s.commit()
}

/// `path` made absolute and resolved as far as it exists (symbolic links of existing folders
/// followed, `.` and `..` removed), so that two spellings of one file compare equal.
pub fn resolved(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    // The longest part that exists, canonical; the rest as written.
    let mut rest = Vec::new();
    let mut head = clean.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(head) {
            let mut out = real;
            out.extend(rest.iter().rev());
            return out;
        }
        match (head.file_name(), head.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                head = parent;
            }
            _ => return clean,
        }
    }
}

/// The `--events` JSONL file: one record per line, buffered. A regular file is kept as
/// `.partial` until the run's files are committed together (`finish`); a device or FIFO is
/// written to as the run goes. The first I/O error is kept and reported at the end.
pub struct JsonlLog {
    target: Target,
    out: BufWriter<File>,
    error: Option<std::io::Error>,
    lines: u64,
}

impl JsonlLog {
    pub fn create(path: &Path) -> Result<JsonlLog> {
        let target = target(path)?;
        let file = open(&target)?;
        Ok(JsonlLog { target, out: BufWriter::with_capacity(1 << 20, file), error: None, lines: 0 })
    }

    /// Flushes the log and hands it to `staged`, to be put in place with the reports; returns the
    /// number of lines written.
    pub fn finish(mut self, staged: &mut Staged) -> Result<u64> {
        let t = self.target.clone();
        let what = match &t {
            Target::Atomic { tmp, .. } => tmp.display().to_string(),
            Target::Stream { path } => path.display().to_string(),
        };
        staged.adopt(t.clone());
        if let Some(e) = self.error.take() {
            return Err(e).with_context(|| format!("cannot write {what}"));
        }
        self.out.flush().with_context(|| format!("cannot write {what}"))?;
        settle(self.out.get_ref(), &t)?;
        Ok(self.lines)
    }

    /// Removes the partial file (the run failed).
    pub fn abandon(self) {
        if let Target::Atomic { tmp, .. } = &self.target {
            let _ = std::fs::remove_file(tmp);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounded_read_stops_one_byte_past_the_limit() {
        match read_bounded(Path::new("/dev/zero"), 1_000) {
            Err(ReadError::TooLarge { limit: 1_000 }) => {}
            other => panic!("{other:?}"),
        }
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a");
        std::fs::write(&f, "12345").unwrap();
        assert_eq!(read_bounded(&f, 5).unwrap(), b"12345");
        assert!(matches!(read_bounded(&f, 4), Err(ReadError::TooLarge { .. })));
        assert!(matches!(read_bounded(dir.path(), 4), Err(ReadError::Directory)));
    }

    #[test]
    fn staged_files_appear_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b.md"));
        std::fs::write(&a, "old a").unwrap();
        let mut s = Staged::new();
        s.write(&a, "new a").unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old a", "visible before the commit");
        // The second file cannot be written (its folder is missing): the first is not committed.
        assert!(s.write(&dir.path().join("missing").join("c"), "x").is_err());
        drop(s);
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old a");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")], "partial files left behind");
        let mut s = Staged::new();
        s.write(&a, "new a").unwrap();
        s.write(&b, "new b").unwrap();
        s.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "new b");
    }

    #[test]
    fn a_symbolic_link_is_followed_and_kept_and_a_device_is_written_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.jsonl");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        assert_eq!(target(Path::new("/dev/null")).unwrap(), Target::Stream { path: "/dev/null".into() });
        assert!(target(dir.path()).is_err());
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("dangling")).unwrap();
        assert!(target(&dir.path().join("dangling")).is_err());
    }

    #[test]
    fn two_spellings_of_one_path_resolve_alike() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let a = resolved(&dir.path().join("out").join("report.json"));
        let b = resolved(&dir.path().join("out").join("..").join("out").join(".").join("report.json"));
        assert_eq!(a, b);
        let c = resolved(&dir.path().join("new").join("x").join("..").join("report.json"));
        assert_eq!(c, resolved(&dir.path().join("new").join("report.json")));
    }
}
