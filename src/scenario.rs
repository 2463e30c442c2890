//! Scenario files: read, parse, validate, resolve. Every problem becomes a `Diagnostic` with the
//! file, the 1-based line and column of the offending text, and what was expected.

use crate::output::ReadError;
use offersim_mocks::{MockNetwork, NetworkConfig};
use offersim_sim::core::time::{Calendar, SimTime};
use offersim_sim::world::config::{PathSeg, Problem, ScenarioConfig};
use offersim_sim::world::{self, World};
use std::fmt;
use std::path::Path;

/// Scenario files larger than this are refused (a scenario is a page of settings, not data).
pub const MAX_SCENARIO_BYTES: u64 = 4 * 1024 * 1024;

pub type FileConfig = ScenarioConfig<NetworkConfig>;

/// A scenario ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The file it was read from, as named (diagnostics, replay commands).
    pub file: String,
    /// The file's text, as loaded (a part of a run carries it, `parts.rs`).
    pub text: String,
    pub config: FileConfig,
    pub world: World,
    pub network: MockNetwork,
}

/// Settings from the command line that replace the file's.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
}

/// One problem, located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; `None` when the problem is with the file as a whole (missing, unreadable).
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = shorten(&self.message);
        match self.position {
            Some((line, col)) => write!(f, "{}:{line}:{col}: {message}", self.file),
            None => write!(f, "{}: {message}", self.file),
        }
    }
}

/// The longest quoted value a message shows whole.
const SHOWN_VALUE_CHARS: usize = 64;
/// The longest message shown whole.
const SHOWN_MESSAGE_CHARS: usize = 2_000;

/// A message with every quoted value (between backticks or double quotes) longer than
/// `SHOWN_VALUE_CHARS` cut, and the whole cut at `SHOWN_MESSAGE_CHARS`: a megabyte of junk in a
/// file is named, not echoed.
pub fn shorten(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(SHOWN_MESSAGE_CHARS + 64));
    let mut rest = message;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = rest[open..].chars().next().unwrap_or('`');
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find(quote) else {
            rest = after;
            break;
        };
        let value = &after[..close];
        if value.chars().count() > SHOWN_VALUE_CHARS {
            // Cut well inside the limit, the size outside the quotes: shortening twice changes
            // nothing more.
            out.extend(value.chars().take(SHOWN_VALUE_CHARS - 4));
            out.push('…');
            out.push(quote);
            out.push_str(&format!(" ({} bytes)", value.len()));
        } else {
            out.push_str(value);
            out.push(quote);
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    match out.char_indices().nth(SHOWN_MESSAGE_CHARS) {
        Some((at, _)) if out.len() > at + 40 => format!("{}… ({} bytes in all)", &out[..at], message.len()),
        _ => out,
    }
}

/// Reads and loads a scenario file.
pub fn load_file(path: &Path, overrides: &Overrides) -> Result<Scenario, Vec<Diagnostic>> {
    let file = path.display().to_string();
    let whole = |message: String| vec![Diagnostic { file: file.clone(), position: None, message }];
    // Bounded as it is read, not by the size the file claims: `/dev/zero` or a pipe is refused
    // after MAX_SCENARIO_BYTES.
    let bytes = crate::output::read_bounded(path, MAX_SCENARIO_BYTES).map_err(|e| match e {
        ReadError::Directory => whole("is a directory; give the path of a scenario .toml file".into()),
        ReadError::TooLarge { .. } => {
            whole(format!("is larger than {MAX_SCENARIO_BYTES} bytes, the limit for scenario files"))
        }
        ReadError::Io(e) => whole(format!("cannot read the scenario file: {e}")),
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let bad = e.utf8_error().valid_up_to();
            let valid = String::from_utf8_lossy(&e.as_bytes()[..bad]).into_owned();
            let position = Some(line_col(&valid, bad));
            return Err(vec![Diagnostic {
                file,
                position,
                message: "the file is not UTF-8 text (scenario files are TOML, which is UTF-8)".into(),
            }]);
        }
    };
    load_str(&file, &text, overrides)
}

/// Loads a scenario from its text; `file` names it in diagnostics.
pub fn load_str(file: &str, text: &str, overrides: &Overrides) -> Result<Scenario, Vec<Diagnostic>> {
    let at = |offset: usize, message: String| Diagnostic {
        file: file.to_string(),
        position: Some(line_col(text, offset)),
        message,
    };
    if text.trim().is_empty() {
        return Err(vec![at(0, "the file is empty; a scenario needs [scenario], [population], [segments.*], merchants, offers and [network] sections (see scenarios/README.md)".into())]);
    }
    let mut config: FileConfig = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        vec![at(offset, explain(e.message()))]
    })?;
    if let Some(seed) = overrides.seed {
        config.scenario.seed = seed;
    }
    let horizon = SimTime::from_days(config.scenario.days as u64 + config.scenario.settle_days as u64);
    let mut problems = config.network.validate(&Calendar::new(config.scenario.start.0), horizon);
    let world = match world::build(&config, &config.network.scheme_names()) {
        Ok(w) if problems.is_empty() => Some(w),
        Ok(_) => None,
        Err(p) => {
            problems.extend(p);
            None
        }
    };
    match world {
        Some(world) => {
            let network = MockNetwork::new(&config.network, &world.calendar, world.seed);
            Ok(Scenario { file: file.to_string(), text: text.to_string(), config, world, network })
        }
        None => {
            let doc = toml_edit::Document::parse(text.to_string()).ok();
            let mut out: Vec<(usize, Diagnostic)> = problems
                .iter()
                .map(|p| {
                    let offset = doc.as_ref().and_then(|d| locate(d.as_table(), &p.path)).unwrap_or(0);
                    (offset, at(offset, describe(p)))
                })
                .collect();
            out.sort_by_key(|(o, _)| *o);
            Err(out.into_iter().map(|(_, d)| d).collect())
        }
    }
}

fn describe(p: &Problem) -> String {
    format!("{}: {}", p.dotted_path(), p.message)
}

/// Rewrites serde's "unknown field" message with a "did you mean" hint.
fn explain(message: &str) -> String {
    let message = message.trim();
    let Some(rest) = message.strip_prefix("unknown field `") else {
        // serde names Rust types; say what they mean in a scenario file.
        let mut m = message.to_string();
        for (rust, plain) in [
            ("expected u8", "expected a whole number (0 to 255)"),
            ("expected u32", "expected a whole number"),
            ("expected u64", "expected a whole number"),
            ("expected i64", "expected a whole number"),
            ("expected i32", "expected a whole number"),
            ("expected f64", "expected a number"),
        ] {
            m = m.replace(rust, plain);
        }
        return m;
    };
    let Some((got, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let hint = world::hint(got, known.iter());
    format!("unknown field `{got}`{hint}; expected one of: {}", known.join(", "))
}

/// Byte offset of the value at `path` or, failing that, of its key or nearest parent.
fn locate(root: &toml_edit::Table, path: &[PathSeg]) -> Option<usize> {
    Some(walk_table(root, path, root.span().map_or(0, |s| s.start)))
}

fn walk_table(t: &dyn toml_edit::TableLike, path: &[PathSeg], best: usize) -> usize {
    match path.split_first() {
        Some((PathSeg::Key(k), rest)) => {
            let best = t.key(k).and_then(|k| k.span()).map_or(best, |s| s.start);
            t.get(k).map_or(best, |child| walk_item(child, rest, best))
        }
        _ => best,
    }
}

fn walk_item(item: &toml_edit::Item, path: &[PathSeg], best: usize) -> usize {
    use toml_edit::{Item, Value};
    let best = item.span().map_or(best, |s| s.start);
    match (path.split_first(), item) {
        (None, _) => best,
        (Some((PathSeg::Key(_), _)), _) => item.as_table_like().map_or(best, |t| walk_table(t, path, best)),
        (Some((PathSeg::Index(i), rest)), Item::ArrayOfTables(a)) => match a.get(*i) {
            Some(t) => walk_table(t, rest, t.span().map_or(best, |s| s.start)),
            None => best,
        },
        (Some((PathSeg::Index(i), _)), Item::Value(Value::Array(a))) => {
            a.get(*i).and_then(|v| v.span()).map_or(best, |s| s.start)
        }
        _ => best,
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut cut = offset;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &text[..cut];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
