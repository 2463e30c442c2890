//! What this machine has: memory and cores, for the work estimate (`offersim_sim::world::workload`).

/// Memory available to a new process (`MemAvailable` of /proc/meminfo), in bytes; `None` where
/// the system does not say.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Bytes for people: `1.3 GB`, `512 MB`.
pub fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = b.max(0.0);
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 || v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_shown_in_the_largest_unit_below_a_thousand() {
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(1_300_000_000.0), "1.3 GB");
        assert_eq!(bytes(512_000_000.0), "512 MB");
        assert_eq!(bytes(3.2e15), "3200 TB");
    }

    #[test]
    fn this_machine_reports_its_memory() {
        assert!(available_memory().is_some_and(|b| b > 0));
    }
}
