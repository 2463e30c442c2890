//! `offersim sweep`: a grid of variants at common random numbers, with intervals.

mod common;
use common::*;

fn code(o: &std::process::Output) -> i32 {
    o.status.code().expect("exited")
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn sweep(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "sweep",
        "scenarios/cafe.toml",
        "--set",
        "offers.cafe_2_over_5.reward.fixed=2.00,3.00",
        "--set",
        "offers.cafe_2_over_5.min_spend=5.00,10.00",
        "--seeds",
        "6",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    offersim(&args)
}

#[test]
fn a_sweep_answers_the_cafe_question_with_intervals_and_names_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let o = sweep(dir.path(), &["--metric", "roi"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sweep.json")).unwrap()).unwrap();
    let variants = j["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 4);
    assert_eq!(variants[3]["label"], "offers.cafe_2_over_5.reward.fixed=3.00, offers.cafe_2_over_5.min_spend=10.00");
    assert_eq!(j["seeds"].as_array().unwrap().len(), 6);
    for v in variants {
        let roi = &v["metrics"]["roi"];
        assert_eq!(roi["runs"], 6);
        let (lo, hi): (f64, f64) =
            (roi["ci95"][0].as_str().unwrap().parse().unwrap(), roi["ci95"][1].as_str().unwrap().parse().unwrap());
        let mean: f64 = roi["mean"].as_str().unwrap().parse().unwrap();
        assert!(lo <= mean && mean <= hi, "{roi}");
    }
    // The best by ROI has the highest mean ROI.
    let best = j["best"].as_u64().unwrap() as usize;
    let roi = |v: &serde_json::Value| v["metrics"]["roi"]["mean"].as_str().unwrap().parse::<f64>().unwrap();
    assert!(variants.iter().all(|v| roi(v) <= roi(&variants[best - 1])));
    assert!(text(&o).contains(&format!("**Best by roi** (higher is better): #{best} ")));
    // CSV: a row per variant and metric.
    let csv = std::fs::read_to_string(dir.path().join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4 * 9);
    assert!(csv.starts_with("variant,label,metric,mean,ci95_low,ci95_high,runs\n"));
    // Every variant can be replayed on its own.
    let v2 = dir.path().join("variants").join("v2.toml");
    let replay = offersim(&["check", v2.to_str().unwrap()]);
    assert_eq!(code(&replay), 0, "{}", text(&replay));
}

#[test]
fn common_random_numbers_every_variant_sees_the_same_people() {
    let dir = tempfile::tempdir().unwrap();
    // A budget that never runs out: withdrawing a spent offer would otherwise cut the richer
    // variants' late enrollments.
    assert_eq!(code(&sweep(dir.path(), &["--set", "offers.cafe_2_over_5.budget=1000000"])), 0);
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sweep.json")).unwrap()).unwrap();
    let variants = j["variants"].as_array().unwrap();
    // A variant differs only where its terms change a decision: the same people see the same
    // impressions, and a richer reward only adds taps (seed for seed, so in the mean too).
    // Variants: ($2, $5), ($2, $10), ($3, $5), ($3, $10).
    let e = |k: usize| variants[k]["metrics"]["enrollments"]["mean"].as_str().unwrap().parse::<f64>().unwrap();
    assert!(e(2) > e(0) && e(3) > e(1), "$3 back draws more than $2: {} {} {} {}", e(0), e(1), e(2), e(3));
    // Paired against variant 1, variant 1 itself would differ by exactly zero; a real change
    // has an interval (and raising the minimum spend at the same reward cuts redemptions).
    let r = |k: usize| variants[k]["metrics"]["redemptions"]["mean"].as_str().unwrap().parse::<f64>().unwrap();
    assert!(r(1) < r(0), "min spend $10 redeems less than $5 at $2 back");
    assert!(variants[1]["paired_vs_first"]["ci95"].is_array());
}

#[test]
fn the_sweep_is_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert_eq!(code(&sweep(&a, &["--threads", "1"])), 0);
    assert_eq!(code(&sweep(&b, &["--threads", "3"])), 0);
    for f in ["sweep.json", "sweep.csv"] {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
    // The Markdown names its own directory in the replay line; otherwise identical.
    let md =
        |d: &std::path::Path| std::fs::read_to_string(d.join("sweep.md")).unwrap().replace(d.to_str().unwrap(), "DIR");
    assert_eq!(md(&a), md(&b));
}

#[test]
fn bad_settings_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    for (set, why) in [
        ("offers.nope.min_spend=1.00", "no table `offers.nope`"),
        ("offers.cafe_2_over_5.min_spend", "expected PATH=VALUE"),
        ("offers.cafe_2_over_5.min_spend=-5.00", "is not a valid scenario"),
    ] {
        let o = offersim(&["sweep", "scenarios/cafe.toml", "--set", set, "--out", out.to_str().unwrap(), "--quiet"]);
        assert_eq!(code(&o), 2, "{set}: {}", text(&o));
        assert!(text(&o).contains(why), "{set}: {}", text(&o));
    }
    let o = offersim(&[
        "sweep",
        "scenarios/cafe.toml",
        "--set",
        "offers.cafe_2_over_5.min_spend=5.00",
        "--metric",
        "profit",
        "--quiet",
    ]);
    assert_eq!(code(&o), 2);
    // An unknown metric is refused by the argument parser, which names the known ones.
    assert!(text(&o).contains("invalid value 'profit' for '--metric"), "{}", text(&o));
    assert!(text(&o).contains("net_margin"), "{}", text(&o));
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_range_sweep_charts_each_metric_against_the_setting_and_judges_the_best_by_its_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let o = offersim(&[
        "sweep",
        "scenarios/cafe.toml",
        "--set",
        "offers.cafe_2_over_5.min_spend=4..8/1",
        "--seeds",
        "4",
        "--metric",
        "redemptions",
        "--out",
        dir.path().to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let md = std::fs::read_to_string(dir.path().join("sweep.md")).unwrap();
    assert!(md.contains("(5 variants × 4 seeds)"), "{md}");
    assert!(md.contains("Against its neighbours in the grid"), "{md}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sweep.json")).unwrap()).unwrap();
    let best = json["best"].as_u64().unwrap() as usize;
    let neighbours: Vec<u64> =
        json["best_minus_neighbours"].as_array().unwrap().iter().map(|n| n["variant"].as_u64().unwrap()).collect();
    // On a line of five, the best's neighbours are the variants just before and after it.
    let expected: Vec<u64> = [best.checked_sub(1), Some(best + 1)]
        .into_iter()
        .flatten()
        .filter(|&n| (1..=5).contains(&n))
        .map(|n| n as u64)
        .collect();
    assert_eq!(neighbours, expected);
    let html = std::fs::read_to_string(dir.path().join("sweep.html")).unwrap();
    let chart = html
        .split("<svg ")
        .find(|c| c.contains("aria-label=\"redemptions against offers.cafe_2_over_5.min_spend\""))
        .expect("a chart of redemptions against the minimum spend");
    assert_eq!(chart.matches("class=\"dot datum\"").count(), 5, "one point per value");
    assert!(chart.contains("class=\"band\""));
}

/// `sweep --plan DIR` runs nothing and writes one command per run; run from DIR (as a cluster's
/// array tasks would, in any order) and collected with `--out OUT`, the sweep's files are the
/// bytes `sweep --out OUT` writes here. A missing run is named by its command, nothing written.
#[test]
fn a_planned_sweep_run_line_by_line_and_collected_is_byte_identical_to_a_local_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("plan");
    let out = tmp.path().join("out");
    let grid = ["--set", "offers.cafe_2_over_5.min_spend=5.00,10.00", "--seeds", "2", "--quiet"];
    let sweep = |extra: &[&str]| {
        let mut args = vec!["sweep", "scenarios/cafe.toml"];
        args.extend_from_slice(&grid);
        args.extend_from_slice(extra);
        let o = common::offersim(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    sweep(&["--out", out.to_str().unwrap()]);
    let local: Vec<Vec<u8>> = ["sweep.md", "sweep.csv", "sweep.json", "sweep.html"]
        .iter()
        .map(|f| std::fs::read(out.join(f)).unwrap())
        .collect();
    std::fs::remove_dir_all(&out).unwrap();
    sweep(&["--plan", plan.to_str().unwrap()]);
    assert!(!plan.join("sweep.md").exists() && !plan.join("runs").exists(), "a plan runs nothing");
    let lines = common::run_jobs(&plan);
    assert_eq!(lines.len(), 4, "2 variants × 2 seeds: {lines:?}");
    let collect = |out: &std::path::Path| {
        common::offersim(&["sweep", "--collect", plan.to_str().unwrap(), "--out", out.to_str().unwrap()])
    };
    assert!(collect(&out).status.success());
    for (f, bytes) in ["sweep.md", "sweep.csv", "sweep.json", "sweep.html", "runs.csv"].iter().zip(&local) {
        assert!(&std::fs::read(out.join(f)).unwrap() == bytes, "{f} differs from the local sweep's");
    }
    // One run missing: named with its command, nothing written.
    std::fs::remove_dir_all(plan.join("runs").join("v2-s2014")).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    let o = collect(&elsewhere);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("1 of 4 planned runs are missing or failed") && err.contains(&lines[3]), "{err}");
    assert!(!elsewhere.exists());
}

/// `runs.csv` has one row per (variant, seed) with the variant's settings and every metric, and
/// each variant's mean in sweep.csv is the mean of its rows.
#[test]
fn runs_csv_holds_every_run_and_the_means_are_theirs() {
    let tmp = tempfile::tempdir().unwrap();
    let o = min_spend_sweep(tmp.path(), "3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let runs = std::fs::read_to_string(tmp.path().join("runs.csv")).unwrap();
    let mut lines = runs.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(&header[..3], ["variant", "seed", "\"offers.cafe_2_over_5.min_spend\""]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2 * 3, "2 variants × 3 seeds");
    let col = header.iter().position(|h| *h == "enrollments").unwrap();
    let summary = std::fs::read_to_string(tmp.path().join("sweep.csv")).unwrap();
    for v in ["1", "2"] {
        let xs: Vec<f64> = rows.iter().filter(|r| r[0] == v).map(|r| r[col].parse().unwrap()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let line = summary.lines().find(|l| l.starts_with(&format!("{v},")) && l.contains(",enrollments,")).unwrap();
        let shown: f64 = line.split(',').nth(3).unwrap().parse().unwrap();
        // sweep.csv shows counts to one decimal.
        assert!((shown - mean).abs() <= 0.05 + 1e-9, "variant {v}: {shown} against {mean}");
    }
}
