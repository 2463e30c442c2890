//! The engine's tree is its architecture (ARCHITECTURE.md, "The map"): one folder per stage under
//! `sim/src`, each depending only on the stages before it, so no import circle can form; no
//! file grows past about 700 lines; the map names every folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each folder and the folders it may use (`crate::<folder>`). A stage never reaches forward.
const LAYERS: [(&str, &[&str]); 7] = [
    ("core", &[]),
    ("world", &["core"]),
    ("people", &["core", "world"]),
    ("platform", &["core", "world"]),
    ("truth", &["core", "world"]),
    ("outcome", &["core", "world", "people", "platform", "truth"]),
    ("harness", &["core", "world", "people", "platform", "truth", "outcome"]),
];

/// About 700 lines: a file past this is doing more than one thing.
const MAX_LINES: usize = 720;

fn sim_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).expect("sim/src is readable").flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The folders a source file names as `crate::<folder>`, outside comments.
fn uses(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.push(name);
            }
            rest = after;
        }
    }
    found
}

#[test]
fn every_stage_uses_only_the_stages_before_it() {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.into_iter().collect();
    let root = sim_src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&root).expect("under sim/src");
        let Some(folder) =
            rel.components().next().and_then(|c| c.as_os_str().to_str()).filter(|_| rel.components().count() > 1)
        else {
            continue; // lib.rs
        };
        let Some(may) = allowed.get(folder) else {
            wrong.push(format!("{}: the folder `{folder}` is not a stage of the map", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(f).expect("readable source");
        for used in uses(&text) {
            if used != folder && !may.contains(&used.as_str()) {
                wrong.push(format!("{}: `{folder}` uses `crate::{used}`", rel.display()));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "dependencies against the map:\n{}", wrong.join("\n"));
}

#[test]
fn the_crate_root_declares_only_the_stages() {
    let lib = std::fs::read_to_string(sim_src().join("lib.rs")).expect("lib.rs");
    let mods: Vec<&str> =
        lib.lines().filter_map(|l| l.strip_prefix("pub mod ").or_else(|| l.strip_prefix("mod "))).collect();
    let mut want: Vec<String> = LAYERS.iter().map(|(f, _)| format!("{f};")).collect();
    want.sort();
    let mut got: Vec<String> = mods.iter().map(|m| m.to_string()).collect();
    got.sort();
    assert_eq!(got, want);
}

#[test]
fn no_engine_file_is_much_over_seven_hundred_lines() {
    let mut files = Vec::new();
    rust_files(&sim_src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, std::fs::read_to_string(f).expect("readable").lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .map(|(f, n)| format!("{}: {n} lines", f.display()))
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn the_architecture_map_names_every_stage_folder() {
    let map = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).expect("map");
    for (folder, _) in LAYERS {
        assert!(map.contains(&format!("sim/src/{folder}/")), "ARCHITECTURE.md does not name sim/src/{folder}/");
    }
}

/// The names a crate's `[dependencies]` table declares (`name = …` or `name.workspace = …`).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut in_table = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_table = line == "[dependencies]";
            continue;
        }
        if in_table && !line.is_empty() && !line.starts_with('#') {
            let name: String =
                line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
            names.push(name);
        }
    }
    names
}

/// What `cargo machete` checks, without installing it: every dependency of every crate is named
/// in that crate's sources (`serde` also counts through its derives).
#[test]
fn every_crate_uses_each_of_its_dependencies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut unused = Vec::new();
    for (krate, dirs) in [
        (".", &["src"][..]),
        ("sim", &["src"]),
        ("mocks", &["src"]),
        ("reports", &["src"]),
        ("live", &["src"]),
        ("audit", &["src"]),
    ] {
        let manifest = std::fs::read_to_string(root.join(krate).join("Cargo.toml")).expect("manifest");
        let mut files = Vec::new();
        for d in dirs {
            rust_files(&root.join(krate).join(d), &mut files);
        }
        let text: String = files.iter().map(|f| std::fs::read_to_string(f).expect("source")).collect();
        for dep in dependencies(&manifest) {
            let path = dep.replace('-', "_");
            let derive = dep == "serde" && (text.contains("Serialize") || text.contains("Deserialize"));
            if !text.contains(&format!("{path}::")) && !text.contains(&format!("use {path}")) && !derive {
                unused.push(format!("{krate}/Cargo.toml: {dep}"));
            }
        }
    }
    assert!(unused.is_empty(), "dependencies no source uses: {unused:?}");
}

/// `offersim audit` is a third opinion: its crate depends on no other offersim crate, so it
/// cannot share the engine's matching, truth or model.
#[test]
fn the_auditor_shares_no_code_with_the_engine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("audit").join("Cargo.toml")).expect("manifest");
    let deps = dependencies(&manifest);
    assert!(deps.iter().all(|d| !d.starts_with("offersim")), "audit/Cargo.toml depends on {deps:?}");
    let mut files = Vec::new();
    rust_files(&root.join("audit").join("src"), &mut files);
    assert!(!files.is_empty());
    for f in files {
        let text = std::fs::read_to_string(&f).expect("source");
        assert!(!text.contains("offersim_sim") && !text.contains("#[path"), "{} reaches into the engine", f.display());
    }
}
