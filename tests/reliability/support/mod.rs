//! Shared pieces: running the binary, and a world of two emulators behind fault
//! proxies (`testkit::proxy`) that the binary is pointed at.

pub mod world;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use testkit::proxy::FaultProxy;
use testkit::request_log::RequestRecord;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pw-activate-scim-sync");

/// A small deterministic generator (`SplitMix64`) for the soak's changes and the fuzz
/// smoke's mutations.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// The writes (POST, PUT, PATCH, DELETE) `proxy` saw from arrival number `from` on.
pub fn writes_since(proxy: &FaultProxy, from: u64) -> Vec<RequestRecord<()>> {
    let mut records = proxy.log().since(from);
    records.retain(|r| r.method.is_write());
    records
}

/// What one run of the binary left behind.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit status (`-1` when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Outcome {
    /// The JSON document on stdout (`--output json`), if there is one.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.stdout).ok()
    }

    /// Both streams, for assertions that something appears nowhere.
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Log lines (JSON format) whose message is `message`.
    pub fn log_lines(&self, message: &str) -> Vec<Value> {
        self.stderr
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|v| v.get("message").and_then(Value::as_str) == Some(message))
            .collect()
    }

    /// The fatal error lines (`level` `ERROR`), joined.
    pub fn errors(&self) -> String {
        let json: Vec<String> = self
            .stderr
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|v| v.get("level").and_then(Value::as_str) == Some("ERROR"))
            .filter_map(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .collect();
        if json.is_empty() {
            self.stderr.clone()
        } else {
            json.join("\n")
        }
    }
}

/// Runs the binary with exactly `env` (nothing inherited), in an empty working
/// directory (so no `.env` is read), and waits at most `limit`.
pub async fn run_bin(args: &[&str], env: &BTreeMap<String, String>, limit: Duration) -> Outcome {
    let dir = tempfile::tempdir().expect("a working directory");
    run_bin_in(dir.path(), args, env, limit).await
}

/// [`run_bin`] in a given working directory.
pub async fn run_bin_in(
    dir: &Path,
    args: &[&str],
    env: &BTreeMap<String, String>,
    limit: Duration,
) -> Outcome {
    let child = tokio::process::Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the binary");
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the binary ran longer than {limit:?} ({args:?})"))
        .expect("wait for the binary");
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
