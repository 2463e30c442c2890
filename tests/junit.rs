//! `--junit FILE` on `run`, `regress` and `drive`: JUnit XML that parses, with one test case per
//! threshold or scenario, and each failure carrying its message and the replay command.

mod common;
use common::served::Served;
use common::{offersim, scenario};
use std::path::Path;

/// Each test case: its name, and its failure's message and text if it failed.
type Cases = Vec<(String, Option<(String, String)>)>;

/// The suite's name and cases of a JUnit file, checked to be well-formed and to count its cases
/// and failures right.
fn cases(path: &Path) -> (String, Cases) {
    let xml = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{}: {e}\n{xml}", path.display()));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let suite = root.children().find(|n| n.has_tag_name("testsuite")).expect("a testsuite");
    let list: Cases = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|c| {
            assert!(c.attribute("classname").is_some());
            let failure = c.children().find(|n| n.has_tag_name("failure"));
            let failure =
                failure.map(|f| (f.attribute("message").unwrap_or("").to_string(), f.text().unwrap_or("").to_string()));
            (c.attribute("name").unwrap().to_string(), failure)
        })
        .collect();
    let count = |a: &str| suite.attribute(a).unwrap().parse::<usize>().unwrap();
    assert_eq!(count("tests"), list.len());
    assert_eq!(count("failures"), list.iter().filter(|(_, f)| f.is_some()).count());
    (suite.attribute("name").unwrap().to_string(), list)
}

#[test]
fn run_writes_a_case_per_threshold_and_a_failed_one_says_how_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let cafe = std::fs::read_to_string(scenario("cafe.toml")).unwrap();
    let path = dir.path().join("cafe.toml");
    std::fs::write(&path, cafe.replace("[thresholds]\n", "[thresholds]\ncredits = \"<= 10\"\n")).unwrap();
    let junit = dir.path().join("run.xml");
    let o = offersim(&[
        "run",
        path.to_str().unwrap(),
        "--out",
        dir.path().join("out").to_str().unwrap(),
        "--quiet",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(3));
    let (suite, list) = cases(&junit);
    assert_eq!(suite, "run cafe");
    assert_eq!(list.len(), 3 + 1, "three thresholds and the ledger: {list:?}");
    let (name, failure) = list.iter().find(|(_, f)| f.is_some()).unwrap();
    assert_eq!(name, "credits <= 10");
    let (message, text) = failure.clone().unwrap();
    assert_eq!(message, "actual 75");
    assert_eq!(text, format!("replay: offersim run {} --seed 2013", path.display()));
    assert!(list.iter().any(|(n, f)| n == "ledger balanced" && f.is_none()));
}

#[test]
fn regress_writes_a_case_per_scenario_and_a_drift_fails_with_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let scen = dir.path().join("scenarios");
    std::fs::create_dir_all(&scen).unwrap();
    for f in ["cafe.toml", "duplicate_webhooks.toml"] {
        std::fs::copy(scenario(f), scen.join(f)).unwrap();
    }
    let (base, out, junit) = (dir.path().join("base"), dir.path().join("out"), dir.path().join("regress.xml"));
    let regress = |extra: &[&str]| {
        let mut args = vec!["regress", "--baselines", base.to_str().unwrap(), "--out", out.to_str().unwrap()];
        args.extend_from_slice(extra);
        let files = [scen.join("cafe.toml"), scen.join("duplicate_webhooks.toml")];
        let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        args.extend(files.iter().map(String::as_str));
        offersim(&args)
    };
    assert!(regress(&["--update"]).status.success());
    let cafe = std::fs::read_to_string(scen.join("cafe.toml")).unwrap();
    std::fs::write(scen.join("cafe.toml"), cafe.replace("reward = { fixed = 2.00 }", "reward = { fixed = 3.00 }"))
        .unwrap();
    assert_eq!(regress(&["--junit", junit.to_str().unwrap()]).status.code(), Some(1));
    let (suite, list) = cases(&junit);
    assert_eq!(suite, "regress");
    assert_eq!(list.len(), 2);
    assert!(list.iter().any(|(n, f)| n == "duplicate_webhooks" && f.is_none()));
    let (_, failure) = list.iter().find(|(n, _)| n == "cafe").unwrap();
    let (message, text) = failure.clone().expect("the café drifted");
    assert!(message.contains("field(s) differ from"), "{message}");
    assert!(text.contains("correctness.expected_credits: 75 → 50") && text.contains("replay: offersim run"), "{text}");
}

#[test]
fn drive_writes_the_oracles_verdict_as_a_case() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start();
    let junit = dir.path().join("drive.xml");
    let o = offersim(&[
        "drive",
        "scenarios/cafe.toml",
        "--target",
        &served.url,
        "--rate",
        "20000/s",
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (suite, list) = cases(&junit);
    assert_eq!(suite, "drive cafe");
    assert!(list.iter().any(|(n, f)| n == "discrepancies == 0" && f.is_none()), "{list:?}");
    assert!(list.iter().all(|(_, f)| f.is_none()));
}
