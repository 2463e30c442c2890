//! `offersim serve` started for a test: on a free loopback port, stopped when dropped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Served {
    child: Child,
    pub url: String,
}

impl Served {
    pub fn start() -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_offersim"))
            .args(["serve", "--port", "0", "--max-users", "200000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("offersim serve starts");
        let mut line = String::new();
        let out = child.stdout.take().expect("stdout piped");
        BufReader::new(out).read_line(&mut line).expect("serve prints its address");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_string();
        Served { child, url }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
