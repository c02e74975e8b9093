//! Runs the binary against local servers and reads what they hold afterwards.
//!
//! - [`World`]: the ACTIVATE emulator plus a SCIM [`Target`] (the project's emulator or
//!   the independent `scim2-server`), and [`World::run`], which runs the binary as a
//!   child process with a clean environment in a temporary working directory.
//! - [`State`]: the SCIM records as the reconcile rules see them, the same for both
//!   targets, for exact comparisons with [`crate::expected`].
//! - [`FaultProxy`]: a loopback HTTP proxy in front of the ACTIVATE emulator that
//!   answers chosen paths with an error status.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use testkit::activate::{ActivateEmulator, ActivateOptions};
use testkit::peer::{PeerOptions, Scim2Server};
use testkit::request_log::RequestRecord;
use testkit::scim::{CW_USER_EXT, Resource, ScimEmulator, ScimOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_pw-activate-scim-sync");

/// Longest a single run of the binary may take before the test gives up on it (a
/// hang guard, not a timing assertion: a run takes milliseconds).
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// What one run of the binary left behind.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit status.
    pub code: i32,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
}

impl Output {
    /// Panics with the whole output unless the run exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit status\n{self}");
        self
    }

    /// stdout parsed as exactly one JSON document (panics otherwise).
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not exactly one JSON document: {e}\n{self}"))
    }
}

impl fmt::Display for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--- exit status {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the binary with exactly `env` (plus `PATH`) in `dir`.
pub async fn run_binary(dir: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    let mut command = tokio::process::Command::new(BIN);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(RUN_LIMIT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{BIN} {args:?} did not finish within {RUN_LIMIT:?}"))
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    Output {
        code: output
            .status
            .code()
            .unwrap_or_else(|| panic!("{BIN} {args:?} was killed: {:?}", output.status)),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Which SCIM server a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// The project's strict CoreWeave-like emulator (state and request log).
    Emulator,
    /// The independent `scim2-server` (state only).
    Peer,
}

/// The SCIM server the binary writes to.
pub enum Target {
    /// The project's emulator.
    Emulator(ScimEmulator),
    /// `scim2-server`, read over HTTP.
    Peer {
        /// The running peer.
        server: Scim2Server,
        /// A client to read its state.
        http: reqwest::Client,
    },
}

impl Target {
    /// The SCIM base URL.
    pub fn base_url(&self) -> &str {
        match self {
            Self::Emulator(scim) => scim.base_url(),
            Self::Peer { server, .. } => server.base_url(),
        }
    }

    /// The bearer token it accepts.
    pub fn token(&self) -> &str {
        match self {
            Self::Emulator(scim) => scim.token(),
            Self::Peer { server, .. } => server.token(),
        }
    }

    /// The emulator, when that is the target.
    pub fn emulator(&self) -> Option<&ScimEmulator> {
        match self {
            Self::Emulator(scim) => Some(scim),
            Self::Peer { .. } => None,
        }
    }

    /// Every user, as the server represents it.
    pub async fn users(&self) -> Vec<Value> {
        self.list("Users").await
    }

    /// Every group, as the server represents it.
    pub async fn groups(&self) -> Vec<Value> {
        self.list("Groups").await
    }

    async fn list(&self, resource: &str) -> Vec<Value> {
        match self {
            Self::Emulator(scim) => match resource {
                "Users" => scim.users(),
                _ => scim.groups(),
            },
            Self::Peer { server, http } => {
                let url = format!("{}/{resource}?count=1000", server.base_url());
                let response = http
                    .get(&url)
                    .bearer_auth(server.token())
                    .header("Accept", "application/scim+json")
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("GET {url}: {e}"));
                assert_eq!(response.status().as_u16(), 200, "GET {url}");
                let body: Value = response.json().await.expect("a JSON list response");
                let resources = body
                    .get("Resources")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                assert_eq!(
                    body["totalResults"].as_u64(),
                    Some(resources.len() as u64),
                    "GET {url} returned a partial page: {body}"
                );
                resources
            }
        }
    }

    /// The records, as the reconcile rules see them.
    pub async fn state(&self) -> State {
        State::from_resources(&self.users().await, &self.groups().await)
    }
}

/// The example organization, its ACTIVATE emulator answering every request after
/// `latency`: a run that lasts at least that long, for tests that look at the run
/// while it reads.
pub fn slow_activate(latency: Duration) -> ActivateOptions {
    ActivateOptions {
        faults: testkit::activate::Faults {
            http: testkit::faults::HttpFaults {
                latency: testkit::faults::Latency::Fixed(latency),
                ..testkit::faults::HttpFaults::default()
            },
            ..testkit::activate::Faults::default()
        },
        ..ActivateOptions::default()
    }
}

/// The ACTIVATE emulator, a SCIM target, and a clean working directory.
pub struct World {
    /// The source.
    pub activate: ActivateEmulator,
    /// The target.
    pub target: Target,
    dir: TempDir,
}

impl World {
    /// The example organization and the SCIM emulator.
    pub async fn start() -> Self {
        Self::with(ActivateOptions::default(), ScimOptions::default()).await
    }

    /// The SCIM emulator with these options.
    pub async fn with(activate: ActivateOptions, scim: ScimOptions) -> Self {
        let scim = ScimEmulator::start(scim)
            .await
            .expect("the SCIM emulator starts");
        Self::on(activate, Target::Emulator(scim)).await
    }

    /// The example organization and `kind` as the target; `None` when the target is
    /// `scim2-server` and it is not installed (the test is skipped).
    pub async fn start_on(kind: TargetKind) -> Option<Self> {
        let target = match kind {
            TargetKind::Emulator => Target::Emulator(
                ScimEmulator::start(ScimOptions::default())
                    .await
                    .expect("the SCIM emulator starts"),
            ),
            TargetKind::Peer => {
                let server = tokio::task::spawn_blocking(|| {
                    Scim2Server::start_for_test(&PeerOptions::default())
                })
                .await
                .expect("the peer start does not panic")?;
                Target::Peer {
                    server,
                    http: reqwest::Client::new(),
                }
            }
        };
        Some(Self::on(ActivateOptions::default(), target).await)
    }

    async fn on(activate: ActivateOptions, target: Target) -> Self {
        let activate = ActivateEmulator::start(activate)
            .await
            .expect("the ACTIVATE emulator starts");
        Self {
            activate,
            target,
            dir: tempfile::tempdir().expect("a temporary working directory"),
        }
    }

    /// The SCIM emulator (panics when the target is the peer).
    pub fn scim(&self) -> &ScimEmulator {
        self.target
            .emulator()
            .expect("this test needs the SCIM emulator as the target")
    }

    /// The working directory of every run.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The environment that points the binary at both servers.
    pub fn base_env(&self) -> Vec<(String, String)> {
        [
            ("ACTIVATE_API_KEY", self.activate.api_key()),
            ("ACTIVATE_API_URL", self.activate.base_url()),
            ("CW_SCIM_BASE_URL", self.target.base_url()),
            ("CW_SCIM_BEARER_TOKEN", self.target.token()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Runs the binary with [`base_env`](Self::base_env) plus `env` (which wins).
    pub async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.run_without(args, env, &[]).await
    }

    /// Like [`run`](Self::run), leaving the variables in `omit` unset.
    pub async fn run_without(&self, args: &[&str], env: &[(&str, &str)], omit: &[&str]) -> Output {
        let mut all: BTreeMap<String, String> = self.base_env().into_iter().collect();
        for (k, v) in env {
            all.insert((*k).to_owned(), (*v).to_owned());
        }
        for k in omit {
            all.remove(*k);
        }
        let all: Vec<(String, String)> = all.into_iter().collect();
        run_binary(self.dir(), args, &all).await
    }

    /// A sync that must succeed (exit 0).
    pub async fn sync(&self) -> Output {
        let output = self.run(&[], &[]).await;
        output.expect_code(0);
        output
    }
}

/// Requests in the SCIM emulator's log, for assertions.
pub trait LogExt {
    /// The records from position `from` on.
    fn since(&self, from: usize) -> Vec<RequestRecord<Resource>>;
}

impl LogExt for ScimEmulator {
    fn since(&self, from: usize) -> Vec<RequestRecord<Resource>> {
        self.log().records().into_iter().skip(from).collect()
    }
}

/// Counts of `records` per `"METHOD Resource"`.
pub fn counts(records: &[RequestRecord<Resource>]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for r in records {
        *out.entry(format!("{:?} {:?}", r.method, r.resource))
            .or_insert(0) += 1;
    }
    out
}

/// The writes among `records`.
pub fn writes(records: &[RequestRecord<Resource>]) -> Vec<&RequestRecord<Resource>> {
    records.iter().filter(|r| r.method.is_write()).collect()
}

/// `[("PATCH Users", 1), …]` as a map, for comparisons with [`counts`].
pub fn count_map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
}

/// One user as the reconcile rules see it (every mapped attribute; not the id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserView {
    /// `externalId`.
    pub external_id: Option<String>,
    /// `name.givenName`.
    pub given_name: Option<String>,
    /// `name.familyName`.
    pub family_name: Option<String>,
    /// `name.formatted`.
    pub formatted: Option<String>,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `emails`: `(value, type, primary)`.
    pub emails: Vec<(String, Option<String>, bool)>,
    /// `active`.
    pub active: bool,
    /// `sunkSshKeys`, as a set.
    pub ssh_keys: BTreeSet<String>,
}

/// One group as the reconcile rules see it, members by user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    /// `externalId`.
    pub external_id: Option<String>,
    /// The `userName`s of the members (an id that names no user shows as `?<id>`).
    pub members: BTreeSet<String>,
}

/// The whole target: users by `userName`, groups by `displayName`, and the ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    /// Users by `userName`.
    pub users: BTreeMap<String, UserView>,
    /// Groups by `displayName`.
    pub groups: BTreeMap<String, GroupView>,
    /// SCIM ids of users by `userName`.
    pub user_ids: BTreeMap<String, String>,
    /// SCIM ids of groups by `displayName`.
    pub group_ids: BTreeMap<String, String>,
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

impl State {
    /// Reads server representations.
    pub fn from_resources(users: &[Value], groups: &[Value]) -> Self {
        let mut state = Self::default();
        let mut names_by_id = BTreeMap::new();
        for user in users {
            let user_name = string(user, "userName").expect("every user has a userName");
            let id = string(user, "id").expect("every user has an id");
            let name = user.get("name").cloned().unwrap_or(Value::Null);
            let emails = user
                .get("emails")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| {
                    (
                        string(e, "value").unwrap_or_default(),
                        string(e, "type"),
                        e.get("primary").and_then(Value::as_bool).unwrap_or(false),
                    )
                })
                .collect();
            let ssh_keys = user
                .get(CW_USER_EXT)
                .and_then(|ext| ext.get("sunkSshKeys"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|k| k.as_str().expect("keys are strings").to_owned())
                .collect();
            let view = UserView {
                external_id: string(user, "externalId"),
                given_name: string(&name, "givenName"),
                family_name: string(&name, "familyName"),
                formatted: string(&name, "formatted"),
                display_name: string(user, "displayName"),
                emails,
                // SCIM's default for a missing `active` is "not stated"; the tool
                // always sends it, so a missing one shows as inactive here.
                active: user.get("active").and_then(Value::as_bool).unwrap_or(false),
                ssh_keys,
            };
            names_by_id.insert(id.clone(), user_name.clone());
            state.user_ids.insert(user_name.clone(), id);
            assert!(
                state.users.insert(user_name.clone(), view).is_none(),
                "two users named {user_name}"
            );
        }
        for group in groups {
            let name = string(group, "displayName").expect("every group has a displayName");
            let id = string(group, "id").expect("every group has an id");
            let members = group
                .get("members")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|m| {
                    let id = string(m, "value").expect("a member has a value");
                    names_by_id
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| format!("?{id}"))
                })
                .collect();
            state.group_ids.insert(name.clone(), id);
            let view = GroupView {
                external_id: string(group, "externalId"),
                members,
            };
            assert!(
                state.groups.insert(name.clone(), view).is_none(),
                "two groups named {name}"
            );
        }
        state
    }
}

/// Decides which requests the [`FaultProxy`] fails: `Some(status)` to answer the
/// path (with its query) with that status instead of forwarding it.
pub type FaultRule = Arc<dyn Fn(&str) -> Option<u16> + Send + Sync>;

/// A loopback HTTP/1.1 proxy for GET requests: forwards to `upstream` unless the
/// rule says otherwise. One request per connection (it answers `Connection: close`).
pub struct FaultProxy {
    base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts the proxy on a free loopback port.
    pub async fn start(upstream: &str, rule: FaultRule) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let base_url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let upstream = upstream.trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("proxy client");
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (upstream, client, rule) = (upstream.clone(), client.clone(), rule.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, &upstream, &client, &*rule).await;
                });
            }
        });
        Self { base_url, task }
    }

    /// The base URL to give the binary instead of the upstream's.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut stream: TcpStream,
    upstream: &str,
    client: &reqwest::Client,
    rule: &(dyn Fn(&str) -> Option<u16> + Send + Sync),
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let headers: Vec<(String, String)> = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let (status, content_type, body) = if method != "GET" {
        (405, "text/plain".to_owned(), b"GET only".to_vec())
    } else if let Some(status) = rule(target) {
        (
            status,
            "application/json".to_owned(),
            br#"{"error":true,"message":"injected by the test proxy"}"#.to_vec(),
        )
    } else {
        let mut request = client.get(format!("{upstream}{target}"));
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("authorization") || k.eq_ignore_ascii_case("accept") {
                request = request.header(k.as_str(), v.as_str());
            }
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let body = response
                    .bytes()
                    .await
                    .map(|b| b.to_vec())
                    .unwrap_or_default();
                (status, content_type, body)
            }
            Err(_) => (502, "text/plain".to_owned(), b"upstream failed".to_vec()),
        }
    };
    let response_head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(response_head.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await
}

/// One request an [`HttpRecorder`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// The body, as text.
    pub body: String,
}

/// A loopback HTTP/1.1 endpoint that records every request and answers each with the
/// same status (a heartbeat receiver, a Pushgateway).
pub struct HttpRecorder {
    base_url: String,
    requests: Arc<std::sync::Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl HttpRecorder {
    /// Starts on a free loopback port, answering `status`.
    pub async fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the recorder");
        let base_url = format!("http://{}", listener.local_addr().expect("address"));
        let requests = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let sink = Arc::clone(&sink);
                tokio::spawn(async move {
                    let _ = record(stream, status, &sink).await;
                });
            }
        });
        Self {
            base_url,
            requests,
            task,
        }
    }

    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The requests so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for HttpRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    mut stream: TcpStream,
    status: u16,
    sink: &std::sync::Mutex<Vec<Recorded>>,
) -> std::io::Result<()> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let mut request_line = head.lines().next().unwrap_or_default().split(' ');
    sink.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(Recorded {
            method: request_line.next().unwrap_or_default().to_owned(),
            target: request_line.next().unwrap_or_default().to_owned(),
            body: String::from_utf8_lossy(&data[head_end..]).into_owned(),
        });
    stream
        .write_all(
            format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    stream.shutdown().await
}
