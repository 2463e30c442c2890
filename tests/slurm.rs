//! The cluster recipes (deploy/slurm/) on a real Slurm: a single-node cluster started on this
//! machine (deploy/slurm/local-cluster.sh: munged, slurmctld, slurmd), a sweep plan run as an
//! array job and collected, and a sharded Black Friday run as a 4-task array and merged; each
//! byte-identical to the same work done in one process here. Skipped without Slurm; CI installs
//! slurm-wlm and munge and sets `OFFERSIM_REQUIRE_SLURM`, which turns the skip into a failure.

mod common;
use common::{offersim, root, run_to};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Stops every daemon the cluster started, whatever happens in the test.
struct Cluster {
    dir: PathBuf,
    conf: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(script("local-cluster.sh")).arg("stop").arg(&self.dir).status();
    }
}

fn script(name: &str) -> PathBuf {
    root().join("deploy").join("slurm").join(name)
}

fn slurm_installed() -> bool {
    let found = ["/usr/sbin/slurmctld", "/usr/bin/slurmctld"].iter().any(|p| Path::new(p).exists());
    if !found {
        assert!(std::env::var_os("OFFERSIM_REQUIRE_SLURM").is_none(), "Slurm is required here: slurmctld is missing");
        eprintln!("skipped: no Slurm on this machine (CI installs slurm-wlm and munge)");
    }
    found
}

fn start(dir: &Path) -> Cluster {
    let o = Command::new("bash").arg(script("local-cluster.sh")).arg("start").arg(dir).output().unwrap();
    let cluster = Cluster { dir: dir.to_path_buf(), conf: dir.join("slurm.conf").display().to_string() };
    assert!(o.status.success(), "the local Slurm cluster did not start: {}", String::from_utf8_lossy(&o.stderr));
    cluster
}

/// Runs a submit script; returns the id of its last job.
fn submit(c: &Cluster, script_name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let o = Command::new("bash")
        .arg(script(script_name))
        .args(args)
        .env("SLURM_CONF", &c.conf)
        .env("OFFERSIM", env!("CARGO_BIN_EXE_offersim"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert!(o.status.success(), "{script_name}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().lines().last().unwrap().to_string()
}

/// Waits (at most `limit`) for job `id` to end; its final state.
fn wait(c: &Cluster, id: &str, limit: Duration) -> String {
    let started = Instant::now();
    loop {
        let o = Command::new("scontrol").args(["show", "job", id]).env("SLURM_CONF", &c.conf).output().unwrap();
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let state = text.split_whitespace().find_map(|w| w.strip_prefix("JobState=")).unwrap_or("?").to_string();
        if ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY"].contains(&state.as_str()) {
            return state;
        }
        assert!(started.elapsed() < limit, "job {id} still {state} after {limit:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_sweep_and_a_run_in_parts_on_a_slurm_cluster_match_local_runs_byte_for_byte() {
    if !slurm_installed() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cluster = start(&tmp.path().join("cluster"));
    let limit = Duration::from_secs(300);

    // A sweep: planned here, its 4 runs as array tasks, collected by a dependent job.
    let plan = tmp.path().join("plan");
    let local = tmp.path().join("local");
    let grid = ["--set", "offers.cafe_2_over_5.min_spend=5.00,10.00", "--seeds", "2", "--quiet"];
    for extra in [["--out", local.to_str().unwrap()], ["--plan", plan.to_str().unwrap()]] {
        let mut args = vec!["sweep", "scenarios/cafe.toml"];
        args.extend_from_slice(&grid);
        args.extend_from_slice(&extra);
        assert!(offersim(&args).status.success());
    }
    let collected = tmp.path().join("collected");
    let collect = submit(
        &cluster,
        "submit-sweep.sh",
        &[plan.to_str().unwrap()],
        &[("OFFERSIM_COLLECT_OUT", collected.to_str().unwrap())],
    );
    assert_eq!(wait(&cluster, &collect, limit), "COMPLETED");
    assert_eq!(
        std::fs::read_dir(&plan)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("slurm-"))
            .count(),
        5
    );
    for f in ["sweep.csv", "sweep.json", "sweep.html"] {
        assert!(std::fs::read(local.join(f)).unwrap() == std::fs::read(collected.join(f)).unwrap(), "{f} differs");
    }
    // sweep.md names its own directory: the same bytes once that is the same.
    let md = |d: &Path| std::fs::read_to_string(d.join("sweep.md")).unwrap().replace(&d.display().to_string(), "OUT");
    assert_eq!(md(&local), md(&collected));

    // A sharded Black Friday (20,000 people in 4 shards): 4 array tasks, merged by a dependent job.
    let text = std::fs::read_to_string(root().join("scenarios").join("black_friday.toml")).unwrap();
    let text = text.replacen("[population]\n", "[population]\nshards = 4\n", 1);
    let users = text.lines().find(|l| l.starts_with("users =")).expect("a users line").to_string();
    let bf = tmp.path().join("bf4.toml");
    std::fs::write(&bf, text.replacen(&users, "users = 20_000", 1)).unwrap();
    run_to(&bf, &tmp.path().join("one"), &[]);
    let (work, merged) = (tmp.path().join("work"), tmp.path().join("merged"));
    let merge = submit(
        &cluster,
        "submit-run.sh",
        &[bf.to_str().unwrap(), "4", work.to_str().unwrap(), merged.to_str().unwrap()],
        &[],
    );
    assert_eq!(wait(&cluster, &merge, limit), "COMPLETED");
    for f in ["report.json", "report.md", "report.html"] {
        let one = std::fs::read(tmp.path().join("one").join(f)).unwrap();
        assert!(one == std::fs::read(merged.join(f)).unwrap(), "{f} differs between one process and 4 Slurm tasks");
    }
    drop(cluster);
}
