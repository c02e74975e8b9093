//! The metrics as an operator's Prometheus sees them: Debian's `prometheus-pushgateway`
//! and `prometheus` on loopback, Prometheus scraping the Pushgateway every second and
//! evaluating the alert rules of `k8s/monitoring/alerts.rules.yaml`, and the binary
//! pushing after a successful, a guarded and a failed run. Everything is read back
//! through Prometheus' HTTP query API.
//!
//! Without the two programs on `PATH` the test is skipped with a message, except under
//! `CI=true`, where it fails (`.ci/run` installs them).

// The values compared are the integers and timestamps the binary pushed, which the
// Pushgateway and Prometheus pass on exactly.
#![allow(clippy::float_cmp)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tempfile::TempDir;

use crate::harness::World;

/// Longest the test waits for Prometheus to show a pushed value (a hang guard: with a
/// one-second scrape and evaluation interval it takes a second or two).
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// A child process killed when dropped.
struct Server {
    name: &'static str,
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Pushgateway and a Prometheus that scrapes it and evaluates the alert rules.
struct Monitoring {
    pushgateway_url: String,
    prometheus_url: String,
    http: reqwest::Client,
    servers: Vec<Server>,
    // Dropped after the servers, which write into it.
    dir: TempDir,
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn spawn(name: &'static str, program: &Path, args: &[String], log: &Path) -> Server {
    let log = std::fs::File::create(log).expect("a log file");
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file handle"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    Server { name, child }
}

impl Monitoring {
    /// Starts both servers; `None` (skipped) when they are not installed outside CI.
    async fn start() -> Option<Self> {
        let (Some(pushgateway), Some(prometheus)) =
            (on_path("prometheus-pushgateway"), on_path("prometheus"))
        else {
            let message = "prometheus and prometheus-pushgateway are not installed \
                           (apt-get install prometheus prometheus-pushgateway)";
            assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "{message}");
            eprintln!("SKIPPED: the Prometheus monitoring test: {message}");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (gateway_port, prometheus_port) = (free_port(), free_port());
        let rules = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../k8s/monitoring/alerts.rules.yaml")
            .canonicalize()
            .expect("k8s/monitoring/alerts.rules.yaml exists");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {rules}\n\
                 scrape_configs:\n  - job_name: pushgateway\n    honor_labels: true\n\
                 \x20   static_configs:\n      - targets: ['127.0.0.1:{gateway_port}']\n",
                rules = rules.display()
            ),
        )
        .expect("write prometheus.yml");
        let servers = vec![
            spawn(
                "pushgateway",
                &pushgateway,
                &[format!("--web.listen-address=127.0.0.1:{gateway_port}")],
                &dir.path().join("pushgateway.log"),
            ),
            spawn(
                "prometheus",
                &prometheus,
                &[
                    format!("--config.file={}", config.display()),
                    format!("--storage.tsdb.path={}", dir.path().join("data").display()),
                    format!("--web.listen-address=127.0.0.1:{prometheus_port}"),
                ],
                &dir.path().join("prometheus.log"),
            ),
        ];
        let mut monitoring = Self {
            pushgateway_url: format!("http://127.0.0.1:{gateway_port}"),
            prometheus_url: format!("http://127.0.0.1:{prometheus_port}"),
            http: reqwest::Client::new(),
            servers,
            dir,
        };
        let pushgateway_url = monitoring.pushgateway_url.clone();
        monitoring
            .wait_ready("prometheus-pushgateway", &pushgateway_url)
            .await;
        let prometheus_url = monitoring.prometheus_url.clone();
        monitoring.wait_ready("prometheus", &prometheus_url).await;
        Some(monitoring)
    }

    async fn wait_ready(&mut self, server: &str, base: &str) {
        let started = Instant::now();
        while started.elapsed() < SETTLE_LIMIT {
            let ready = self.http.get(format!("{base}/-/ready")).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            for s in &mut self.servers {
                if let Ok(Some(status)) = s.child.try_wait() {
                    let log =
                        std::fs::read_to_string(self.dir.path().join(format!("{}.log", s.name)))
                            .unwrap_or_default();
                    panic!("{} exited ({status}) at start:\n{log}", s.name);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{server} was not ready within {SETTLE_LIMIT:?}");
    }

    /// The instant vector of `query`: (labels, value) per series.
    async fn query(&self, query: &str) -> Vec<(Value, f64)> {
        let response: Value = self
            .http
            .get(format!("{}/api/v1/query", self.prometheus_url))
            .query(&[("query", query)])
            .send()
            .await
            .unwrap_or_else(|e| panic!("query {query}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("query {query}: not JSON: {e}"));
        assert_eq!(response["status"], "success", "{query}: {response}");
        response["data"]["result"]
            .as_array()
            .unwrap_or_else(|| panic!("{query}: no result: {response}"))
            .iter()
            .map(|series| {
                let value = series["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("{query}: not a sample: {series}"));
                (series["metric"].clone(), value)
            })
            .collect()
    }

    /// The single value of `query` once `accept` holds for it (polled until
    /// [`SETTLE_LIMIT`]; panics with the last answer otherwise).
    async fn settled(&self, query: &str, accept: impl Fn(f64) -> bool) -> f64 {
        let started = Instant::now();
        loop {
            let result = self.query(query).await;
            if let [(_, value)] = result.as_slice()
                && accept(*value)
            {
                return *value;
            }
            assert!(
                started.elapsed() < SETTLE_LIMIT,
                "{query}: Prometheus answered {result:?} for {SETTLE_LIMIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The value of `query`, which must be exactly one series.
    async fn value(&self, query: &str) -> f64 {
        match self.query(query).await.as_slice() {
            [(_, value)] => *value,
            other => panic!("{query}: expected one series, got {other:?}"),
        }
    }

    /// The alert states Prometheus reports for `alertname` (`pending`, `firing`).
    async fn alert_states(&self, alertname: &str) -> Vec<String> {
        let query = format!("ALERTS{{alertname=\"{alertname}\"}}");
        let mut states: Vec<String> = self
            .query(&query)
            .await
            .into_iter()
            .map(|(labels, _)| labels["alertstate"].as_str().unwrap_or("?").to_owned())
            .collect();
        states.sort();
        states
    }

    async fn alert_settled(&self, alertname: &str, expected: &[&str]) {
        let started = Instant::now();
        loop {
            let states = self.alert_states(alertname).await;
            if states == expected {
                return;
            }
            assert!(
                started.elapsed() < SETTLE_LIMIT,
                "{alertname}: states {states:?}, expected {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64()
}

const EXIT_CODE: &str = "pw_activate_scim_sync_exit_code";
const LAST_SUCCESS: &str = "pw_activate_scim_sync_last_success_timestamp_seconds";
const LAST_RUN: &str = "pw_activate_scim_sync_last_run_timestamp_seconds";

/// The operation counts of a run's JSON result: `(kind, outcome, count)`, sorted.
fn json_operations(counts: &Value) -> Vec<(String, String, f64)> {
    let mut out = Vec::new();
    for (kind, outcomes) in counts.as_object().expect("counts by kind") {
        for (outcome, n) in outcomes.as_object().expect("counts by outcome") {
            out.push((kind.clone(), outcome.clone(), n.as_f64().expect("a count")));
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    out
}

impl Monitoring {
    /// `pw_activate_scim_sync_operations` in Prometheus: `(kind, outcome, count)`, sorted.
    async fn operations(&self) -> Vec<(String, String, f64)> {
        let mut out: Vec<_> = self
            .query("pw_activate_scim_sync_operations")
            .await
            .into_iter()
            .map(|(labels, v)| {
                (
                    labels["kind"].as_str().unwrap_or("?").to_owned(),
                    labels["outcome"].as_str().unwrap_or("?").to_owned(),
                    v,
                )
            })
            .collect();
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }
}

fn operations(kind: &str, outcome: &str) -> String {
    format!("pw_activate_scim_sync_operations{{kind=\"{kind}\",outcome=\"{outcome}\"}}")
}

#[tokio::test(flavor = "multi_thread")]
#[allow(clippy::too_many_lines)] // One story: three runs in order, each read back.
async fn prometheus_sees_each_run_through_the_pushgateway() {
    let Some(monitoring) = Monitoring::start().await else {
        return;
    };
    let world = World::start().await;
    let env = [
        ("PUSHGATEWAY_URL", monitoring.pushgateway_url.as_str()),
        ("OUTPUT", "json"),
    ];

    // 1. A successful run: exit 0, its operation counts, a success timestamp.
    let before = now();
    let output = world.run(&[], &env).await;
    output.expect_code(0);
    let after = now();
    let counts = output.json()["result"]["counts"].clone();
    let created = counts["create_user"]["applied"]
        .as_f64()
        .expect("the run reports its user creations");
    assert!(created > 0.0, "{output}");
    let success = monitoring
        .settled(LAST_SUCCESS, |t| t >= before - 1.0)
        .await;
    assert!(
        success <= after + 1.0,
        "{success} not in [{before}, {after}]"
    );
    assert_eq!(monitoring.value(EXIT_CODE).await, 0.0);
    assert_eq!(
        monitoring
            .value(&operations("create_user", "applied"))
            .await,
        created
    );
    assert_eq!(monitoring.operations().await, json_operations(&counts));
    assert_eq!(
        monitoring
            .value("pw_activate_scim_sync_guard_tripped")
            .await,
        0.0
    );
    assert!(
        monitoring
            .value("pw_activate_scim_sync_http_requests{side=\"scim\",status=\"201\"}")
            .await
            >= created
    );

    // 2. A guarded run: two users left ACTIVATE, at most one deactivation allowed.
    world.activate.remove_user("carmen.ruiz").unwrap();
    world.activate.remove_user("alice.nguyen").unwrap();
    let output = world
        .run(&[], &[env[0], env[1], ("MAX_DEACTIVATIONS", "1")])
        .await;
    output.expect_code(4);
    monitoring
        .settled(EXIT_CODE, |v| (v - 4.0).abs() < f64::EPSILON)
        .await;
    assert_eq!(
        monitoring
            .value("pw_activate_scim_sync_guard_tripped")
            .await,
        1.0
    );
    let counts = output.json()["result"]["counts"].clone();
    let withheld: f64 = json_operations(&counts)
        .iter()
        .filter(|(_, outcome, _)| outcome == "withheld")
        .map(|(_, _, n)| n)
        .sum();
    assert!(withheld > 0.0, "{output}");
    // This run's counts only: the first run's creations are gone with its group.
    assert_eq!(monitoring.operations().await, json_operations(&counts));
    assert_eq!(monitoring.value(LAST_SUCCESS).await, success);
    monitoring
        .alert_settled("PwActivateScimSyncGuardTripped", &["firing"])
        .await;
    let guarded_run = monitoring.value(LAST_RUN).await;

    // 3. A failed run (the SCIM token is refused): exit 1, no operations, the last
    // success unchanged, the guard alert over and the failing alert pending (it waits
    // for a second failure).
    let output = world
        .run(
            &[],
            &[env[0], env[1], ("CW_SCIM_BEARER_TOKEN", "not-the-token")],
        )
        .await;
    output.expect_code(1);
    // The exit code tells this run's push from the last one (a timestamp would not:
    // the two runs may end within the same second).
    monitoring
        .settled(EXIT_CODE, |v| (v - 1.0).abs() < f64::EPSILON)
        .await;
    assert!(monitoring.value(LAST_RUN).await > guarded_run);
    assert_eq!(monitoring.value(LAST_SUCCESS).await, success);
    assert!(
        monitoring
            .query("pw_activate_scim_sync_operations")
            .await
            .is_empty()
    );
    assert_eq!(
        monitoring
            .value("pw_activate_scim_sync_guard_tripped")
            .await,
        0.0
    );
    monitoring
        .alert_settled("PwActivateScimSyncGuardTripped", &[])
        .await;
    monitoring
        .alert_settled("PwActivateScimSyncFailing", &["pending"])
        .await;
    // Runs keep reporting, and the last success is seconds old.
    assert_eq!(
        monitoring
            .alert_states("PwActivateScimSyncNoHeartbeat")
            .await,
        Vec::<String>::new()
    );
    assert_eq!(
        monitoring.alert_states("PwActivateScimSyncStale").await,
        Vec::<String>::new()
    );
}
