//! A fault-injecting HTTP/1.1 proxy that sits between the binary and an emulator.
//!
//! Why a proxy rather than the emulators' own fault knobs: the emulators draw their
//! faults from one random stream in arrival order, so with concurrent requests the
//! same seed hits different requests from run to run. Here every fault is a pure
//! function of `(seed, request identity, how many times that identity was seen)`,
//! so a soak with fixed seeds is reproducible whatever the interleaving: the same
//! logical requests fail the same way every time. It also injects what the
//! emulators cannot: `429` by probability (the emulators only have a token bucket),
//! and scripted answers ([`Rule`]) for the bad-input catalogue.
//!
//! The proxy speaks just enough HTTP/1.1 for `reqwest`: request bodies with
//! `Content-Length`, keep-alive, responses re-sent with `Content-Length`.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The error-body dialect of the proxied server, for the answers the proxy makes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// RFC 7644 §3.12 error bodies, `application/scim+json`.
    Scim,
    /// ACTIVATE's legacy `{error, message, code}` envelope.
    Activate,
}

/// Random faults, drawn per request from its identity.
///
/// The probabilities are of mutually exclusive outcomes (at most one per request);
/// their sum must not exceed 1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Seed of every draw.
    pub seed: u64,
    /// `429 Too Many Requests` with `Retry-After`.
    pub rate_limited: f64,
    /// `503 Service Unavailable` with `Retry-After`.
    pub unavailable: f64,
    /// `Retry-After` seconds sent with 429 and 503.
    pub retry_after_secs: u64,
    /// Connection reset before the request reaches the server.
    pub reset: f64,
    /// The server answers only after `slow_delay` (set it above the client timeout):
    /// the request is processed late and its answer goes nowhere.
    pub slow: f64,
    /// See [`Faults::slow`].
    pub slow_delay: Duration,
    /// A `POST` that succeeded upstream has its answer replaced by a connection
    /// reset (drawn independently of the above, for POSTs that got through).
    pub lost_post: f64,
}

/// What the proxy did to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Injected {
    /// Answered 429.
    RateLimited,
    /// Answered 503.
    Unavailable,
    /// Reset before forwarding.
    Reset,
    /// Forwarded after a delay longer than the client waits.
    Slow,
    /// Forwarded; the 2xx answer was replaced by a reset.
    LostResponse,
    /// Answered or changed by a scripted [`Rule`].
    Rule,
}

impl fmt::Display for Injected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RateLimited => "429 + Retry-After",
            Self::Unavailable => "503 + Retry-After",
            Self::Reset => "connection reset",
            Self::Slow => "slower than the client timeout",
            Self::LostResponse => "POST applied, response lost",
            Self::Rule => "scripted answer",
        })
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    /// Request headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
}

impl Exchange {
    /// `path?query`.
    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// A canned or rewritten answer.
pub enum Action {
    /// Answer this instead of forwarding.
    Respond {
        /// Status code.
        status: u16,
        /// `Content-Type`, if any.
        content_type: Option<String>,
        /// Body.
        body: Vec<u8>,
    },
    /// Forward, then replace the upstream answer `(status, body)` with the result.
    Rewrite(RewriteFn),
    /// Reset the connection without forwarding.
    Reset,
    /// Forward after this delay.
    Delay(Duration),
}

/// Rewrites an upstream answer.
pub type RewriteFn = Arc<dyn Fn(u16, &[u8]) -> (u16, Vec<u8>) + Send + Sync>;

impl fmt::Debug for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Respond { status, .. } => write!(f, "Respond({status})"),
            Self::Rewrite(_) => f.write_str("Rewrite"),
            Self::Reset => f.write_str("Reset"),
            Self::Delay(d) => write!(f, "Delay({d:?})"),
        }
    }
}

/// A scripted answer for matching requests; checked before the random faults.
#[derive(Debug)]
pub struct Rule {
    /// The method to match, `None` for any.
    pub method: Option<&'static str>,
    /// Matches when the path (without the query) contains this; a trailing `$`
    /// means "ends with".
    pub path_contains: String,
    /// Matches only when the query contains this.
    pub query_contains: Option<String>,
    /// How many more requests it applies to; `None`: all.
    pub remaining: Option<usize>,
    /// What to do.
    pub action: Action,
}

impl Rule {
    /// Every matching request gets `action`.
    pub fn always(method: Option<&'static str>, path_contains: &str, action: Action) -> Self {
        Self {
            method,
            path_contains: path_contains.to_owned(),
            query_contains: None,
            remaining: None,
            action,
        }
    }

    /// Only for requests whose query contains `part`.
    #[must_use]
    pub fn with_query(mut self, part: &str) -> Self {
        self.query_contains = Some(part.to_owned());
        self
    }

    /// The next `times` matching requests get `action`.
    pub fn times(
        times: usize,
        method: Option<&'static str>,
        path_contains: &str,
        action: Action,
    ) -> Self {
        Self {
            remaining: Some(times),
            ..Self::always(method, path_contains, action)
        }
    }

    fn matches(&self, exchange: &Exchange) -> bool {
        let path = match self.path_contains.strip_suffix('$') {
            Some(end) => exchange.path.ends_with(end),
            None => exchange.path.contains(&self.path_contains),
        };
        let query = self.query_contains.as_deref().is_none_or(|part| {
            exchange
                .query
                .as_deref()
                .is_some_and(|q| percent_decode(q).contains(part))
        });
        self.remaining != Some(0)
            && self.method.is_none_or(|m| m == exchange.method)
            && path
            && query
    }
}

/// `%XX` and `+` decoded, for matching queries.
fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                if let Some(b) = raw
                    .get(i + 1..i + 3)
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    out.push(b);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A canned JSON answer.
pub fn respond_json(status: u16, content_type: &str, body: &str) -> Action {
    Action::Respond {
        status,
        content_type: Some(content_type.to_owned()),
        body: body.as_bytes().to_vec(),
    }
}

/// Forward and rewrite the body as JSON.
pub fn rewrite_json(change: impl Fn(&mut serde_json::Value) + Send + Sync + 'static) -> Action {
    Action::Rewrite(Arc::new(move |status, body| {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(mut value) => {
                change(&mut value);
                (status, value.to_string().into_bytes())
            }
            Err(_) => (status, body.to_vec()),
        }
    }))
}

/// One logged request.
#[derive(Debug, Clone)]
pub struct Record {
    /// Method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// What was injected, if anything.
    pub injected: Option<Injected>,
    /// The status sent to the client; `None` when it got none.
    pub status: Option<u16>,
}

/// How the identity of a request is computed (see the module docs).
pub type IdentityFn = Arc<dyn Fn(&Exchange) -> String + Send + Sync>;

struct State {
    upstream: String,
    dialect: Dialect,
    client: reqwest::Client,
    faults: Mutex<Faults>,
    rules: Mutex<Vec<Rule>>,
    log: Mutex<Vec<Record>>,
    seen: Mutex<HashMap<String, u64>>,
    identity: Mutex<Option<IdentityFn>>,
    in_flight: AtomicUsize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:0` in front of `upstream` (`http://host:port`).
    pub async fn start(upstream: &str, dialect: Dialect) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State {
            upstream: upstream.trim_end_matches('/').to_owned(),
            dialect,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("proxy client"),
            faults: Mutex::new(Faults::default()),
            rules: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            seen: Mutex::new(HashMap::new()),
            identity: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(Arc::clone(&shared), stream));
            }
        });
        Self { addr, state, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the random faults.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.state.faults) = faults;
    }

    /// Adds a scripted rule (rules are tried in the order added).
    pub fn add_rule(&self, rule: Rule) {
        lock(&self.state.rules).push(rule);
    }

    /// Sets how request identities are computed.
    pub fn set_identity(&self, identity: IdentityFn) {
        *lock(&self.state.identity) = Some(identity);
    }

    /// Every request so far.
    pub fn records(&self) -> Vec<Record> {
        lock(&self.state.log).clone()
    }

    /// How many requests have been logged.
    pub fn count(&self) -> usize {
        lock(&self.state.log).len()
    }

    /// Injected faults by kind, from record `from` on.
    pub fn injected_since(&self, from: usize) -> BTreeMap<Injected, u64> {
        let mut out = BTreeMap::new();
        for record in lock(&self.state.log).iter().skip(from) {
            if let Some(kind) = record.injected {
                *out.entry(kind).or_default() += 1;
            }
        }
        out
    }

    /// Write requests (POST, PUT, PATCH, DELETE) from record `from` on.
    pub fn writes_since(&self, from: usize) -> Vec<Record> {
        lock(&self.state.log)
            .iter()
            .skip(from)
            .filter(|r| matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE"))
            .cloned()
            .collect()
    }

    /// Waits until no request is being handled (a slow request may still be on its
    /// way to the server after the client gave up), for at most `limit`.
    pub async fn settle(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.state.in_flight.load(Ordering::SeqCst) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// What to do with a request.
enum Plan {
    Answer {
        status: u16,
        content_type: Option<String>,
        body: Vec<u8>,
        retry_after: Option<u64>,
    },
    Reset,
    Forward {
        delay: Option<Duration>,
        rewrite: Option<RewriteFn>,
        lose_if_ok: bool,
    },
}

async fn serve(state: Arc<State>, mut stream: TcpStream) {
    let mut buffer = Vec::new();
    loop {
        let Ok(Some(request)) = read_request(&mut stream, &mut buffer).await else {
            return;
        };
        state.in_flight.fetch_add(1, Ordering::SeqCst);
        let keep_going = handle(&state, &mut stream, request).await;
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep_going {
            return;
        }
    }
}

/// Handles one request; `false` when the connection is finished.
async fn handle(state: &State, stream: &mut TcpStream, exchange: Exchange) -> bool {
    let identity = {
        let custom = lock(&state.identity).clone();
        match custom {
            Some(f) => f(&exchange),
            None => format!("{} {}", exchange.method, exchange.target()),
        }
    };
    let occurrence = {
        let mut seen = lock(&state.seen);
        let n = seen.entry(identity.clone()).or_default();
        *n += 1;
        *n
    };
    let (plan, injected) = decide(state, &exchange, &identity, occurrence);
    let index = {
        let mut log = lock(&state.log);
        log.push(Record {
            method: exchange.method.clone(),
            target: exchange.target(),
            injected,
            status: None,
        });
        log.len() - 1
    };
    let set_status = |status: Option<u16>, injected: Option<Injected>| {
        let mut log = lock(&state.log);
        log[index].status = status;
        if injected.is_some() {
            log[index].injected = injected;
        }
    };
    match plan {
        Plan::Reset => {
            reset(stream);
            false
        }
        Plan::Answer {
            status,
            content_type,
            body,
            retry_after,
        } => {
            set_status(Some(status), None);
            let mut headers = Vec::new();
            if let Some(ct) = content_type {
                headers.push(("content-type".to_owned(), ct));
            }
            if let Some(secs) = retry_after {
                headers.push(("retry-after".to_owned(), secs.to_string()));
            }
            write_response(stream, status, &headers, &body)
                .await
                .is_ok()
        }
        Plan::Forward {
            delay,
            rewrite,
            lose_if_ok,
        } => {
            if let Some(delay) = delay {
                tokio::time::sleep(delay).await;
            }
            let Ok((status, headers, body)) = forward(state, &exchange).await else {
                reset(stream);
                return false;
            };
            if lose_if_ok && (200..300).contains(&status) {
                set_status(None, Some(Injected::LostResponse));
                reset(stream);
                return false;
            }
            let (status, body) = match rewrite {
                Some(f) => f(status, &body),
                None => (status, body),
            };
            if delay.is_none() || injected != Some(Injected::Slow) {
                set_status(Some(status), None);
            }
            write_response(stream, status, &headers, &body)
                .await
                .is_ok()
        }
    }
}

fn decide(
    state: &State,
    exchange: &Exchange,
    identity: &str,
    occurrence: u64,
) -> (Plan, Option<Injected>) {
    {
        let mut rules = lock(&state.rules);
        if let Some(rule) = rules.iter_mut().find(|r| r.matches(exchange)) {
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            let plan = match &rule.action {
                Action::Respond {
                    status,
                    content_type,
                    body,
                } => Plan::Answer {
                    status: *status,
                    content_type: content_type.clone(),
                    body: body.clone(),
                    retry_after: None,
                },
                Action::Rewrite(f) => Plan::Forward {
                    delay: None,
                    rewrite: Some(Arc::clone(f)),
                    lose_if_ok: false,
                },
                Action::Reset => Plan::Reset,
                Action::Delay(d) => Plan::Forward {
                    delay: Some(*d),
                    rewrite: None,
                    lose_if_ok: false,
                },
            };
            return (plan, Some(Injected::Rule));
        }
    }
    let faults = lock(&state.faults).clone();
    let draw = unit(faults.seed, identity, occurrence, 0);
    let mut edge = faults.rate_limited;
    let retry_after = Some(faults.retry_after_secs);
    if draw < edge {
        let (content_type, body) = error_body(state.dialect, 429, "too many requests");
        return (
            Plan::Answer {
                status: 429,
                content_type: Some(content_type),
                body,
                retry_after,
            },
            Some(Injected::RateLimited),
        );
    }
    edge += faults.unavailable;
    if draw < edge {
        let (content_type, body) =
            error_body(state.dialect, 503, "service temporarily unavailable");
        return (
            Plan::Answer {
                status: 503,
                content_type: Some(content_type),
                body,
                retry_after,
            },
            Some(Injected::Unavailable),
        );
    }
    edge += faults.reset;
    if draw < edge {
        return (Plan::Reset, Some(Injected::Reset));
    }
    edge += faults.slow;
    if draw < edge {
        return (
            Plan::Forward {
                delay: Some(faults.slow_delay),
                rewrite: None,
                lose_if_ok: false,
            },
            Some(Injected::Slow),
        );
    }
    let lose_if_ok =
        exchange.method == "POST" && unit(faults.seed, identity, occurrence, 1) < faults.lost_post;
    (
        Plan::Forward {
            delay: None,
            rewrite: None,
            lose_if_ok,
        },
        None,
    )
}

/// A number in `[0, 1)` from the seed, the identity, the occurrence and a salt
/// (`SplitMix64` over an FNV-1a hash).
pub fn unit(seed: u64, identity: &str, occurrence: u64, salt: u64) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in identity.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut x = hash
        ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ occurrence.wrapping_mul(0xbf58_476d_1ce4_e5b9)
        ^ salt.wrapping_mul(0x94d0_49bb_1331_11eb);
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    // The top 53 bits as a fraction.
    #[allow(clippy::cast_precision_loss)]
    let fraction = (x >> 11) as f64 / (1u64 << 53) as f64;
    fraction
}

fn error_body(dialect: Dialect, status: u16, message: &str) -> (String, Vec<u8>) {
    match dialect {
        Dialect::Scim => (
            "application/scim+json".to_owned(),
            serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": status.to_string(),
                "detail": message,
            })
            .to_string()
            .into_bytes(),
        ),
        Dialect::Activate => (
            "application/json".to_owned(),
            serde_json::json!({"error": true, "message": message, "code": "unavailable"})
                .to_string()
                .into_bytes(),
        ),
    }
}

fn reset(stream: &TcpStream) {
    // Close with RST instead of FIN: the client sees a connection reset.
    let _ = stream.set_zero_linger();
}

type Upstream = (u16, Vec<(String, String)>, Vec<u8>);

async fn forward(state: &State, exchange: &Exchange) -> Result<Upstream, ()> {
    let url = format!("{}{}", state.upstream, exchange.target());
    let method = reqwest::Method::from_bytes(exchange.method.as_bytes()).map_err(drop)?;
    let mut request = state.client.request(method, url);
    for (name, value) in &exchange.headers {
        if !matches!(
            name.as_str(),
            "host" | "connection" | "content-length" | "transfer-encoding" | "keep-alive"
        ) {
            request = request.header(name.as_str(), value.as_str());
        }
    }
    let response = request
        .body(exchange.body.clone())
        .send()
        .await
        .map_err(drop)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "content-length" | "transfer-encoding" | "connection" | "keep-alive"
            )
        })
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let body = response.bytes().await.map_err(drop)?.to_vec();
    Ok((status, headers, body))
}

/// Reads one request; `Ok(None)` at a clean end of the connection.
async fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Result<Option<Exchange>, ()> {
    let head_end = loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.map_err(drop)?;
        if n == 0 {
            return if buffer.is_empty() { Ok(None) } else { Err(()) };
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buffer[..head_end])
        .map_err(drop)?
        .to_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().ok_or(())?.split(' ');
    let method = request_line.next().ok_or(())?.to_owned();
    let target = request_line.next().ok_or(())?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    if headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && !value.eq_ignore_ascii_case("identity"))
    {
        // reqwest sends bodies with Content-Length; anything else is not expected here.
        return Err(());
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map_or(Ok(0), |(_, value)| value.parse())
        .map_err(drop)?;
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.map_err(drop)?;
        if n == 0 {
            return Err(());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target, None),
    };
    Ok(Some(Exchange {
        method,
        path,
        query,
        headers,
        body,
    }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let _ = write!(head, "content-length: {}\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}
