//! Regression gates: `offersim diff`, `offersim regress [--update]`, and `[thresholds]`.

mod common;
use common::*;
use std::path::Path;

fn code(o: &std::process::Output) -> i32 {
    o.status.code().expect("exited")
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn regress(scenarios: &Path, baselines: &Path, out: &Path, update: bool) -> std::process::Output {
    let mut args = vec!["regress".to_string()];
    if update {
        args.push("--update".into());
    }
    args.extend(["--baselines".into(), baselines.display().to_string(), "--out".into(), out.display().to_string()]);
    for f in ["cafe.toml", "duplicate_webhooks.toml"] {
        args.push(scenarios.join(f).display().to_string());
    }
    offersim(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn regress_fails_on_an_injected_drift_with_the_replay_command_and_passes_after_update() {
    let dir = tempfile::tempdir().unwrap();
    let (scen, base, out) = (dir.path().join("scenarios"), dir.path().join("baselines"), dir.path().join("out"));
    std::fs::create_dir_all(&scen).unwrap();
    for f in ["cafe.toml", "duplicate_webhooks.toml"] {
        std::fs::copy(scenario(f), scen.join(f)).unwrap();
    }
    // No baselines yet: that is a failure, not a pass.
    let first = regress(&scen, &base, &out, false);
    assert_eq!(code(&first), 1, "{}", text(&first));
    assert!(text(&first).contains("NEW    cafe"));
    // Accept them; now the same code gives no drift.
    assert_eq!(code(&regress(&scen, &base, &out, true)), 0);
    assert!(base.join("cafe.json").exists() && base.join("duplicate_webhooks.json").exists());
    let clean = regress(&scen, &base, &out, false);
    assert_eq!(code(&clean), 0, "{}", text(&clean));
    assert!(text(&clean).contains("no drift"));
    // Inject a drift: the café pays $3 instead of $2.
    let cafe = std::fs::read_to_string(scen.join("cafe.toml")).unwrap();
    assert!(cafe.contains("reward = { fixed = 2.00 }"));
    std::fs::write(scen.join("cafe.toml"), cafe.replace("reward = { fixed = 2.00 }", "reward = { fixed = 3.00 }"))
        .unwrap();
    let drift = regress(&scen, &base, &out, false);
    let t = text(&drift);
    assert_eq!(code(&drift), 1, "{t}");
    assert!(t.contains("DRIFT  cafe"), "{t}");
    assert!(t.contains("ok     duplicate_webhooks"), "{t}");
    // The café's budget ($150) now buys 50 rewards instead of 75.
    assert!(t.contains("correctness.expected_credits: 75 → 50 (-25, -33.333%)"), "the diff names the field: {t}");
    let replay = t.lines().find(|l| l.trim_start().starts_with("replay: offersim run")).expect("a replay line");
    assert!(replay.contains("cafe.toml --seed 2013") && replay.contains("offersim diff"), "{replay}");
    // Accepting the change makes the gate pass again.
    assert_eq!(code(&regress(&scen, &base, &out, true)), 0);
    assert_eq!(code(&regress(&scen, &base, &out, false)), 0);
}

#[test]
fn diff_exits_1_on_a_change_0_within_tolerance_and_2_on_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_to(&scenario("cafe.toml"), &a, &[]);
    run_to(&scenario("cafe.toml"), &b, &["--seed", "7"]);
    let (ra, rb) = (a.join("report.json"), b.join("report.json"));
    let (ra, rb) = (ra.to_str().unwrap(), rb.to_str().unwrap());
    let same = offersim(&["diff", ra, ra]);
    assert_eq!(code(&same), 0, "{}", text(&same));
    let changed = offersim(&["diff", ra, rb]);
    assert_eq!(code(&changed), 1);
    assert!(text(&changed).contains("field(s) differ"), "{}", text(&changed));
    // A field named by its path, with the change; a tolerance lets it move.
    let (x, y) = (dir.path().join("x.json"), dir.path().join("y.json"));
    std::fs::write(&x, r#"{"money": {"spend": "100.00"}, "offers": [{"id": "cafe", "roi": "1.50"}]}"#).unwrap();
    std::fs::write(&y, r#"{"money": {"spend": "100.40"}, "offers": [{"id": "cafe", "roi": "1.50"}]}"#).unwrap();
    let (x, y) = (x.to_str().unwrap(), y.to_str().unwrap());
    let moved = offersim(&["diff", x, y]);
    assert_eq!(code(&moved), 1);
    assert!(text(&moved).contains("money.spend: 100.00 → 100.40 (+0.4, +0.4%)"), "{}", text(&moved));
    assert_eq!(code(&offersim(&["diff", x, y, "--tolerance", "money.spend=0.5%"])), 0);
    assert_eq!(code(&offersim(&["diff", x, y, "--tolerance", "money.spend=0.3%"])), 1);
    let bad = offersim(&["diff", ra, rb, "--tolerance", "funnel.purchases=lots"]);
    assert_eq!(code(&bad), 2);
    assert!(text(&bad).contains("not a number"));
    let missing = offersim(&["diff", ra, "nope.json"]);
    assert_eq!(code(&missing), 2);
    assert!(text(&missing).contains("nope.json: cannot read"));
}

#[test]
fn a_failed_threshold_exits_3_and_the_report_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let cafe = std::fs::read_to_string(scenario("cafe.toml")).unwrap();
    assert!(cafe.contains("[thresholds]\n"));
    let path = dir.path().join("cafe.toml");
    std::fs::write(&path, cafe.replace("[thresholds]\n", "[thresholds]\ncredits = \"<= 10\"\n")).unwrap();
    let out = dir.path().join("out");
    let o = offersim(&["run", path.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"]);
    let t = text(&o);
    assert_eq!(code(&o), 3, "{t}");
    assert!(t.contains("threshold failed: credits <= 10 (actual 75)"), "{t}");
    assert!(t.contains(&format!("replay: offersim run {} --seed 2013", path.display())), "{t}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let rows = report["thresholds"].as_array().unwrap();
    let credits = rows.iter().find(|r| r["metric"] == "credits").unwrap();
    assert_eq!((credits["passed"].as_bool(), credits["actual"].as_str()), (Some(false), Some("75")));
    assert!(rows.iter().filter(|r| r["metric"] != "credits").all(|r| r["passed"] == true));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("**1 of 3 thresholds failed.**") && md.contains("| credits | <= 10 | 75 | **FAIL** |"), "{md}");
}

/// Exit 2 is for invalid input; a regress that cannot write a run's reports failed at run time
/// (exit 1), and one with a scenario that is not valid is invalid input (exit 2).
#[test]
fn a_regress_that_cannot_write_exits_1_and_an_invalid_scenario_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let (scen, base) = (dir.path().join("scenarios"), dir.path().join("baselines"));
    std::fs::create_dir_all(&scen).unwrap();
    for f in ["cafe.toml", "duplicate_webhooks.toml"] {
        std::fs::copy(scenario(f), scen.join(f)).unwrap();
    }
    // `--out` under a regular file: no directory can be made there.
    let blocker = dir.path().join("a_file");
    std::fs::write(&blocker, "not a directory").unwrap();
    let o = regress(&scen, &base, &blocker.join("out"), true);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("error: cafe: cannot create"), "{}", text(&o));
    std::fs::write(scen.join("cafe.toml"), "[scenario]\nname = 1\n").unwrap();
    let o = regress(&scen, &base, &dir.path().join("out"), true);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

/// `regress --plan DIR` runs nothing; its lines, run from DIR in any order (a cluster's array
/// tasks), then `regress --collect DIR` judge exactly as a regression run here: no drift on the
/// committed baselines, a drift when a run's scenario changed, and a missing run named by its
/// command (exit 1).
#[test]
fn a_planned_regression_run_line_by_line_and_collected_judges_like_a_local_one() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    let out = tmp.path().join("out");
    let files = [scenario("cafe.toml"), scenario("duplicate_webhooks.toml")];
    let mut args = vec!["regress", "--plan", plan.to_str().unwrap()];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let o = offersim(&args);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(!plan.join("runs").exists(), "a plan runs nothing");
    let run_all = || common::run_jobs(&plan);
    let jobs = run_all();
    let collect = || offersim(&["regress", "--collect", plan.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let o = collect();
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(text(&o).contains("ok     cafe") && text(&o).contains("2 scenario(s) replayed, no drift"), "{}", text(&o));
    // The planned copy of the café changed, and run again: not the planned run, refused.
    let copy = plan.join("scenarios").join("cafe.toml");
    let cafe = std::fs::read_to_string(&copy).unwrap();
    std::fs::write(&copy, cafe.replace("reward = { fixed = 2.00 }", "reward = { fixed = 3.00 }")).unwrap();
    run_all();
    let o = collect();
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("is not a whole run of scenarios/cafe.toml at seed 2013"), "{}", text(&o));
    // A missing run is named by its command.
    std::fs::remove_dir_all(plan.join("runs").join("duplicate_webhooks")).unwrap();
    let o = collect();
    assert_eq!(code(&o), 1);
    let line = jobs.iter().find(|l| l.contains("duplicate_webhooks")).unwrap();
    assert!(
        text(&o).contains("duplicate_webhooks: the planned run is missing or failed")
            && text(&o).contains(line.as_str()),
        "{}",
        text(&o)
    );
}
