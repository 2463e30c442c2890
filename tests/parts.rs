//! A run cut into parts (`offersim run --part K/N`) and merged (`offersim merge`) writes the
//! same bytes as a run in one process; parts that are not every part of one run, once, are
//! refused by name with nothing written.

mod common;
use common::{offersim, run_to, scenario};
use std::path::{Path, PathBuf};

/// cafe_holdout (40,000 people) in `shards` shards, written to `dir`.
fn sharded(dir: &Path, shards: u32) -> PathBuf {
    let text = std::fs::read_to_string(scenario("cafe_holdout.toml")).unwrap();
    let text = text.replacen("[population]\n", &format!("[population]\nshards = {shards}\n"), 1);
    let path = dir.join(format!("cafe_holdout_{shards}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn part(scenario: &Path, spec: &str, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["run", scenario.to_str().unwrap(), "--part", spec, "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    offersim(&args)
}

fn merge(dirs: &[&Path], out: &Path) -> std::process::Output {
    let mut args = vec!["merge"];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    offersim(&args)
}

#[test]
fn a_run_in_four_parts_merged_in_any_order_is_byte_identical_to_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sharded(tmp.path(), 6);
    run_to(&s, &tmp.path().join("one"), &[]);
    let dirs: Vec<PathBuf> = (1..=4).map(|k| tmp.path().join(format!("p{k}"))).collect();
    for (k, d) in dirs.iter().enumerate() {
        let o = part(&s, &format!("{}/4", k + 1), d, &[]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(!d.join("report.json").exists(), "a part writes no report");
    }
    let o = merge(&[&dirs[2], &dirs[0], &dirs[3], &dirs[1]], &tmp.path().join("merged"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["report.json", "report.md", "report.html"] {
        let one = std::fs::read(tmp.path().join("one").join(f)).unwrap();
        let merged = std::fs::read(tmp.path().join("merged").join(f)).unwrap();
        assert!(one == merged, "{f} differs between one process and four parts");
    }
}

#[test]
fn a_scenario_of_one_shard_is_one_part() {
    let tmp = tempfile::tempdir().unwrap();
    run_to(&scenario("cafe.toml"), &tmp.path().join("one"), &[]);
    let p = tmp.path().join("p1");
    assert!(part(&scenario("cafe.toml"), "1/1", &p, &[]).status.success());
    assert!(merge(&[&p], &tmp.path().join("merged")).status.success());
    let read = |d: &str| std::fs::read(tmp.path().join(d).join("report.json")).unwrap();
    assert!(read("one") == read("merged"));
    let o = part(&scenario("cafe.toml"), "1/2", &tmp.path().join("p2"), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("the scenario has 1 shard, so at most 1 parts"));
}

#[test]
fn missing_duplicate_and_foreign_parts_are_refused_by_name_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let s = sharded(tmp.path(), 3);
    let d = |name: &str| tmp.path().join(name);
    for (spec, dir, extra) in
        [("1/3", "a", &[][..]), ("2/3", "b", &[]), ("3/3", "c", &[]), ("2/3", "b_seed", &["--seed", "7"])]
    {
        assert!(part(&s, spec, &d(dir), extra).status.success());
    }
    let out = d("merged");
    let refused = |dirs: &[&Path], says: &str| {
        let o = merge(dirs, &out);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says) && err.contains("nothing was written"), "expected {says:?} in {err}");
        assert!(!out.join("report.json").exists());
    };
    refused(&[&d("a"), &d("c")], "parts missing: 2/3 of 3 (have 1/3, 3/3)");
    refused(&[&d("a"), &d("b"), &d("b"), &d("c")], "are both part 2/3");
    refused(&[&d("a"), &d("b_seed"), &d("c")], "is not of the same run as");
    refused(&[&d("a"), &d("nowhere")], "cannot read part.json");
    // Another version, and a file that is not a part.
    let text = std::fs::read_to_string(d("c").join("part.json")).unwrap();
    std::fs::write(d("c").join("part.json"), text.replacen("\"version\":1", "\"version\":99", 1)).unwrap();
    refused(&[&d("a"), &d("b"), &d("c")], "a part of format version 99");
    std::fs::write(d("c").join("part.json"), "{\"format\":\"something else\",\"version\":1,\"offersim\":\"x\"}")
        .unwrap();
    refused(&[&d("a"), &d("b"), &d("c")], "is not an offersim part: its format is `something else`");
    // A part's shards must be the ones its number says.
    let text = std::fs::read_to_string(d("a").join("part.json")).unwrap();
    std::fs::write(d("a").join("part.json"), text.replacen("\"part\":1", "\"part\":3", 1)).unwrap();
    refused(&[&d("a"), &d("b")], "part 3/3 holds shards 0..1, but part 3/3 of 3 shards is 2..3");
    // --part and --events do not go together.
    let o = part(&s, "1/3", &d("e"), &["--events", d("e.jsonl").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}
