//! The JSON Schemas under `schemas/`: up to date with the types that read and write the files,
//! valid draft-07 documents, and checked with an independent validator (the `jsonschema` crate)
//! against real files: every shipped scenario and report, a sweep's output, and broken files
//! that must fail. drive.json is checked where drives run (tests/drive_timeline.rs, an aborted
//! one in tests/drive_thresholds.rs).

mod common;
use common::*;
use offersim::schema::Which;
use serde_json::{json, Value};
use std::path::Path;

fn committed(which: Which) -> String {
    let path = root().join("schemas").join(which.file_name());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn validator(which: Which) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&committed(which)).expect("the schema is JSON");
    jsonschema::draft7::new(&schema).expect("the schema compiles")
}

/// The errors of `doc` against the schema, one line each (empty: valid).
fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path)).collect()
}

/// A TOML document as an editor's schema support sees it: TOML dates and date-times as their
/// text, everything else as itself; None for `nan` and `inf`, which JSON cannot hold.
fn toml_to_json(v: toml::Value) -> Option<Value> {
    Some(match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => Value::Number(serde_json::Number::from_f64(f)?),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect::<Option<_>>()?),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| toml_to_json(v).map(|v| (k, v))).collect::<Option<_>>()?)
        }
    })
}

/// The file as JSON, if it is TOML that JSON can hold.
fn toml_file(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    text.parse::<toml::Table>().ok().and_then(|t| toml_to_json(toml::Value::Table(t)))
}

fn sorted_files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn the_committed_schemas_are_what_offersim_schema_prints() {
    for which in Which::ALL {
        let name = which.file_name();
        let generated = offersim::schema::text(which);
        assert!(
            committed(which) == generated,
            "schemas/{name} is out of date with the types: regenerate it with \
             `cargo run -- schema {} > schemas/{name}` and review the diff",
            name.trim_end_matches(".schema.json")
        );
        let o = offersim(&["schema", name.trim_end_matches(".schema.json")]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout), generated, "offersim schema prints schemas/{name}");
    }
    let o = offersim(&["schema", "nonsense"]);
    assert_eq!(o.status.code(), Some(2), "an unknown schema is invalid input");
    assert!(String::from_utf8_lossy(&o.stderr).contains("scenario, report"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn every_schema_is_valid_draft_07_and_carries_its_files_version_tag() {
    for which in Which::ALL {
        let schema: Value = serde_json::from_str(&committed(which)).unwrap();
        jsonschema::meta::validate(&schema).unwrap_or_else(|e| panic!("{}: {e}", which.file_name()));
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["title"], which.tag());
        let (shape, version) = which.tag().rsplit_once('/').unwrap();
        assert_eq!(schema["$id"], format!("urn:{}:{version}", shape.replace('.', ":")));
        if which != Which::Scenario {
            assert_eq!(
                schema["properties"]["schema"]["const"],
                which.tag(),
                "{}: the file's own tag",
                which.file_name()
            );
        }
    }
}

#[test]
fn every_shipped_scenario_names_the_schema_and_validates_against_it() {
    let v = validator(Which::Scenario);
    let files = sorted_files(&root().join("scenarios"), "toml");
    assert!(files.len() >= 12, "the shipped scenarios: {files:?}");
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert_eq!(
            first,
            "#:schema ../schemas/scenario.schema.json",
            "{}: the Taplo directive opens the file",
            f.display()
        );
        let target = f.parent().unwrap().join(first.trim_start_matches("#:schema "));
        assert!(target.is_file(), "{}: the directive names an existing file", f.display());
        let doc = toml_file(f).unwrap();
        assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{}", f.display());
    }
}

/// The schema is the file format's contract: for every broken scenario that JSON can hold, the
/// schema rejects it exactly when the format does (an unknown key, a wrong type, a missing key,
/// a table where a date goes); values out of range pass the schema and are the loader's to refuse.
#[test]
fn the_schema_rejects_exactly_the_broken_scenarios_the_format_rejects() {
    let v = validator(Which::Scenario);
    let mut rejected = Vec::new();
    let mut checked = 0;
    for f in sorted_files(&root().join("tests").join("bad"), "toml") {
        let Some(doc) = toml_file(&f) else { continue };
        checked += 1;
        let text = std::fs::read_to_string(&f).unwrap();
        let format_ok = toml::from_str::<offersim::scenario::FileConfig>(&text).is_ok();
        let errs = errors(&v, &doc);
        let name = f.file_stem().unwrap().to_string_lossy().to_string();
        assert_eq!(errs.is_empty(), format_ok, "{name}: format says {format_ok}, schema says {errs:?}");
        if !errs.is_empty() {
            rejected.push(name);
        }
    }
    assert!(checked >= 40, "the bad cases that parse as TOML: {checked}");
    for must in ["date_as_table", "fault_name_misspelled"] {
        assert!(rejected.iter().any(|r| r == must), "{must} fails the schema; rejected: {rejected:?}");
    }
    // Hand-made breakages of a good file.
    let good = toml_file(&scenario("cafe.toml")).unwrap();
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut d = good.clone();
        f(&mut d);
        errors(&v, &d)
    };
    assert!(!broken(&|d| d["population"]["userz"] = json!(5)).is_empty(), "an unknown key");
    assert!(!broken(&|d| d["population"]["users"] = json!("many")).is_empty(), "a count as text");
    assert!(!broken(&|d| d["scenario"]["start"] = json!("next tuesday")).is_empty(), "a date that is no date");
    assert!(!broken(&|d| d["scenario"]["utc_offset"] = json!("EST")).is_empty(), "an offset by name");
    assert!(
        !broken(&|d| d.as_object_mut().unwrap().remove("network").map(drop).unwrap_or(())).is_empty(),
        "no network"
    );
    assert!(broken(&|d| d["scenario"]["utc_offset"] = json!("+05:30")).is_empty(), "a half-hour offset is fine");
}

#[test]
fn every_baseline_report_validates_and_a_broken_one_does_not() {
    let v = validator(Which::Report);
    let files = sorted_files(&root().join("reports").join("baselines"), "json");
    assert!(files.len() >= 10, "{files:?}");
    let mut one = None;
    for f in &files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        assert_eq!(errors(&v, &doc), Vec::<String>::new(), "{}", f.display());
        one.get_or_insert(doc);
    }
    let good = one.unwrap();
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut d = good.clone();
        f(&mut d);
        errors(&v, &d)
    };
    assert!(!broken(&|d| d["schema"] = json!("offersim.report/1")).is_empty(), "another version's tag");
    assert!(!broken(&|d| d["money"]["spend"] = json!("12.5")).is_empty(), "money with one place");
    assert!(!broken(&|d| d["money"]["spend"] = json!(12.5)).is_empty(), "money as a float");
    assert!(!broken(&|d| d["network"].as_object_mut().unwrap().remove("auths").map(drop).unwrap_or(())).is_empty());
}

#[test]
fn a_sweeps_json_validates_against_the_sweep_schema() {
    let dir = tempfile::tempdir().unwrap();
    let o = min_spend_sweep(dir.path(), "2");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("sweep.json")).unwrap()).unwrap();
    let v = validator(Which::Sweep);
    assert_eq!(errors(&v, &doc), Vec::<String>::new());
    let mut bad = doc.clone();
    bad["variants"][0]["metrics"]["roi"] = json!({"mean": 1.5, "runs": 2, "ci95": null});
    assert!(!errors(&v, &bad).is_empty(), "a mean as a number, not text");
}
