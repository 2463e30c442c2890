//! The command line on a bad day: odd paths for the event log, a full disk while writing reports, endless
//! inputs, corrupt baselines. Nothing is half-written, nothing that is not a regular file is
//! replaced, nothing is read without bound.

mod common;
use common::*;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Command;

fn code(o: &std::process::Output) -> i32 {
    o.status.code().expect("exited")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn cafe_to(out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", "scenarios/cafe.toml", "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    offersim(&args)
}

#[test]
fn an_event_log_to_a_fifo_is_streamed_and_the_fifo_stays_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("events.fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = cafe_to(&dir.path().join("out"), &["--events", fifo.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let read = reader.join().unwrap();
    assert!(read.lines().count() > 1_000, "{} lines through the FIFO", read.lines().count());
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
    assert!(!dir.path().join("events.fifo.partial").exists());
}

#[test]
fn an_event_log_through_a_symbolic_link_fills_the_file_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.jsonl");
    std::fs::write(&real, "").unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = cafe_to(&dir.path().join("out"), &["--events", link.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");
    assert!(std::fs::read_to_string(&real).unwrap().lines().count() > 1_000);
}

#[test]
fn an_event_log_the_run_would_overwrite_is_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (events, why) in [
        (out.join("report.json"), "report.json"),
        (out.join(".").join("report.html"), "report.html"),
        (out.clone(), "output directory"),
        (root().join("scenarios").join("cafe.toml"), "scenario file"),
    ] {
        let o = cafe_to(&out, &["--events", events.to_str().unwrap()]);
        assert_eq!(code(&o), 2, "{}: {}", events.display(), stderr(&o));
        assert!(stderr(&o).contains(why) && stderr(&o).contains("nothing was run"), "{}", stderr(&o));
        assert!(!out.exists(), "the run went ahead for {}", events.display());
    }
}

#[test]
fn a_full_disk_while_writing_reports_leaves_the_earlier_reports_whole_and_no_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let first = cafe_to(&out, &["--seed", "1"]);
    assert!(first.status.success(), "{}", stderr(&first));
    let before: Vec<Vec<u8>> =
        ["report.json", "report.md", "report.html"].iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
    // Files may grow to 40 KiB: report.json and report.md fit, report.html (about 50 KiB) does
    // not, as on a disk that fills up part way.
    assert!(before[0].len() < 40 * 1024 && before[2].len() > 40 * 1024, "the sizes this test relies on changed");
    let o = Command::new("bash")
        .args(["-c", r#"trap '' XFSZ; ulimit -f 40; exec "$0" "$@""#, env!("CARGO_BIN_EXE_offersim")])
        .args(["run", "scenarios/cafe.toml", "--seed", "2", "--quiet", "--out", out.to_str().unwrap()])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("report.html"), "{}", stderr(&o));
    let after: Vec<Vec<u8>> =
        ["report.json", "report.md", "report.html"].iter().map(|f| std::fs::read(out.join(f)).unwrap()).collect();
    assert!(before == after, "the earlier run's reports changed");
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 3, "left behind: {names:?}");
}

#[test]
fn a_failed_first_run_leaves_no_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fresh");
    let o = Command::new("bash")
        .args(["-c", r#"trap '' XFSZ; ulimit -f 40; exec "$0" "$@""#, env!("CARGO_BIN_EXE_offersim")])
        .args(["run", "scenarios/cafe.toml", "--quiet", "--out", out.to_str().unwrap()])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(!out.exists(), "a failed run left its directory");
}

#[test]
fn an_endless_input_is_refused_without_reading_it_all() {
    let o = offersim(&["check", "/dev/zero"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("larger than"), "{}", stderr(&o));
    let o = offersim(&["diff", "/dev/zero", "reports/baselines/cafe.json"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn diff_of_json_that_is_not_a_report_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    std::fs::write(&a, "[1, 2, 3]").unwrap();
    let o = offersim(&["diff", a.to_str().unwrap(), "reports/baselines/cafe.json"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("not an offersim report"), "{}", stderr(&o));
}

#[test]
fn regress_calls_a_corrupt_baseline_corrupt_and_never_new() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("baselines");
    std::fs::create_dir_all(&base).unwrap();
    for (bytes, why) in [
        (&b"{\"schema\": \"offersim.report/2\", \"funnel\": "[..], "not JSON"),
        (&b"{}"[..], "not an offersim report"),
        (&b"\xff\xfe"[..], "not JSON"),
    ] {
        std::fs::write(base.join("cafe.json"), bytes).unwrap();
        let o = offersim(&[
            "regress",
            "--baselines",
            base.to_str().unwrap(),
            "--out",
            dir.path().join("out").to_str().unwrap(),
            "scenarios/cafe.toml",
        ]);
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert_eq!(code(&o), 2, "{all}");
        assert!(all.contains("CORRUPT cafe") && all.contains(why), "{all}");
        assert!(!all.contains("NEW") && !all.contains("DRIFT"), "{all}");
    }
}

/// The café with `users` people buying 100 times a day for a year.
fn huge_cafe(dir: &Path, users: u64) -> std::path::PathBuf {
    let text = std::fs::read_to_string(scenario("cafe.toml")).unwrap();
    let text = text
        .replace("users = 400", &format!("users = {users}\nshards = 1"))
        .replace("days = 7\n", "days = 366\n")
        .replace("purchases_per_day = 0.6 ", "purchases_per_day = 100 ")
        .replace("purchases_per_day = 0.4", "purchases_per_day = 100");
    assert!(text.contains(&format!("users = {users}")) && text.contains("days = 366"));
    let f = dir.join("huge.toml");
    std::fs::write(&f, text).unwrap();
    f
}

#[test]
fn work_beyond_the_machine_is_estimated_and_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let f = huge_cafe(dir.path(), 50_000_000);
    let o = offersim(&["check", f.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(code(&o), 2, "{out}{}", stderr(&o));
    // 50 M people × 100 a day × 366 days.
    assert!(out.contains("about 1,830,000,000,000 purchases"), "{out}");
    assert!(stderr(&o).contains("this machine has") && stderr(&o).contains("--force"), "{}", stderr(&o));
    let started = std::time::Instant::now();
    let o = offersim(&["run", f.to_str().unwrap(), "--out", dir.path().join("out").to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("nothing was run"), "{}", stderr(&o));
    assert!(!dir.path().join("out").exists());
    assert!(started.elapsed() < std::time::Duration::from_secs(60), "it ran instead of refusing");
    // The usual scenarios fit and say what they will take.
    let o = offersim(&["check", "scenarios/black_friday.toml"]);
    assert!(o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("estimate: about 1,194,600 purchases"));
}

#[test]
fn a_sweep_grid_too_large_is_refused_before_it_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<String> = (1..=1_000).map(|v| v.to_string()).collect();
    let set = |p: &str| format!("{p}={}", values.join(","));
    let started = std::time::Instant::now();
    let o = offersim(&[
        "sweep",
        "scenarios/cafe.toml",
        "--set",
        &set("offers.cafe_2_over_5.reward"),
        "--set",
        &set("offers.cafe_2_over_5.min_spend"),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("1,000,000 variants") && stderr(&o).contains("--max-variants"), "{}", stderr(&o));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "something was written");
}

#[test]
fn the_same_sweep_setting_twice_is_refused() {
    let o = offersim(&[
        "sweep",
        "scenarios/cafe.toml",
        "--set",
        "offers.cafe_2_over_5.reward=1,2",
        "--set",
        "offers.cafe_2_over_5.reward=3",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("given twice"), "{}", stderr(&o));
}

/// `offersim check` of the café scenario as `edit` makes it from the café's text, written as
/// `name`: the check's output and the café's own text.
fn check_cafe(name: &str, edit: impl FnOnce(&str) -> String) -> (std::process::Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(scenario("cafe.toml")).unwrap();
    let f = dir.path().join(name);
    std::fs::write(&f, edit(&text)).unwrap();
    (offersim(&["check", f.to_str().unwrap()]), text)
}

#[test]
fn a_megabyte_value_is_named_not_echoed() {
    let junk = "x".repeat(1_000_000);
    let (o, _) = check_cafe("junk.toml", |text| text.replacen("name = \"cafe\"", &format!("name = \"{junk}\""), 1));
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("scenario name") && err.contains("…` (1000000 bytes)"), "{}", &err[..err.len().min(500)]);
    assert!(err.len() < 2_000, "{} bytes of error", err.len());
}

#[test]
fn too_many_merchants_are_reported_at_the_first_one_past_the_limit() {
    let extra: String = (0..10_001)
        .map(|i| format!(
            "\n[merchants.m{i}]\nname = \"M {i}\"\ncategory = \"x\"\nbasket = {{ median = 5.00, sigma = 0.5 }}\nchannels = {{ in_store = 1.0 }}\n"
        ))
        .collect();
    let (o, text) = check_cafe("many.toml", |text| format!("{text}{extra}"));
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    let first = err.lines().next().unwrap_or_default();
    assert!(first.contains("at most 10000 merchants"), "{first}");
    // After the café's own merchants, the 10,001st merchant is past the limit.
    let own = text.matches("\n[merchants.").count();
    let past = format!("[merchants.m{}]", 10_000 - own);
    let line = text.lines().count() + extra.lines().position(|l| l == past).unwrap() + 1;
    assert!(first.contains(&format!("many.toml:{line}:")), "{first} (expected line {line})");
}

#[test]
fn a_megabyte_argument_is_not_echoed_in_full() {
    let junk = format!("offers.x.reward={}", "9".repeat(100_000));
    let o = offersim(&["sweep", "scenarios/cafe.toml", "--set", &junk, "--set", &junk]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).len() < 3_000, "{} bytes of error", stderr(&o).len());
    let o = offersim(&["diff", "reports/baselines/cafe.json", "reports/baselines/cafe.json", "--tolerance", &junk]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).len() < 3_000, "{} bytes of error", stderr(&o).len());
}

#[test]
fn too_many_segments_are_refused_before_anything_is_built() {
    let extra: String = (0..300)
        .map(|i| format!(
            "\n[segments.s{i}]\nshare = 0.0\npurchases_per_day = 0.1\nschemes = {{ visa = 1.0 }}\nclick_rate = 0.1\ncard_entry_completion = 0.5\n"
        ))
        .collect();
    let (o, _) = check_cafe("segments.toml", |text| format!("{text}{extra}"));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("at most 256 segments, found 302"), "{}", stderr(&o));
}

#[test]
fn too_many_hashtags_are_reported_where_the_first_one_too_many_is() {
    // The café's segments post `coffee` and `nyc`: 1,022 more are the limit, 1,023 one too many.
    const CAFES: &str = "hashtags = { coffee = 0.6, nyc = 0.9 }";
    let tags: Vec<String> = (0..1_023).map(|i| format!("t{i} = 0.1")).collect();
    let many = format!("hashtags = {{ coffee = 0.6, nyc = 0.9, {} }}", tags.join(", "));
    let (o, text) = check_cafe("hashtags.toml", |text| text.replacen(CAFES, &many, 1));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    let first = err.lines().next().unwrap_or_default();
    assert!(first.contains("at most 1024 distinct hashtags in a scenario"), "{first}");
    let line = text.lines().position(|l| l == CAFES).unwrap() + 1;
    assert!(first.contains(&format!("hashtags.toml:{line}:")), "{first} (expected line {line})");
    assert!(err.len() < 2_000, "{} bytes of error", err.len());
    // One fewer is within the limit.
    let (o, _) = check_cafe("hashtags.toml", |text| text.replacen(CAFES, &many.replacen(", t1022 = 0.1", "", 1), 1));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}
