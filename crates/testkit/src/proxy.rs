//! A fault-injecting HTTP proxy to put in front of any server on loopback (an
//! emulator, `scim2-server`): the reliability suite's and the benchmarks' window on
//! what a client sends, and the place where faults hit a server that has none.
//!
//! It serves on `127.0.0.1:<port>` with hyper (through the same server scaffolding
//! as the emulators) and forwards each request, path and query unchanged, to the
//! upstream's origin with hyper's client. Random faults follow the one model of
//! [`crate::faults`], drawn per request identity, by default
//! [`Exchange::id`] (method, path, query, body); [`FaultProxy::set_identity`] names
//! requests otherwise, for example a write by the record it addresses instead of a
//! server-assigned id. Scripted answers ([`Rule`]) come first, for the bad-input
//! catalogue. A connection reset is the one fault below HTTP: the socket is closed
//! with `SO_LINGER` 0, so the client sees an RST and no response.
//!
//! Every request is logged ([`FaultProxy::log`]) with its body size, the fault
//! injected and the status the client got.
//!
//! Plain HTTP only: the proxy is for loopback tests and benchmarks.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::StartError;
use crate::faults::{HttpFaults, InjectedFault, Outcome, RequestId};
use crate::gate::{self, Front};
use crate::lock;
use crate::net::{self, ConnectionControl, Server};
use crate::request_log::{Method, RequestLog};

/// Largest request or upstream answer body the proxy carries.
const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

/// The error-body dialect of the proxied server, for the answers the proxy makes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// RFC 7644 §3.12 error bodies, `application/scim+json`.
    Scim,
    /// ACTIVATE's legacy `{error, message, code}` envelope.
    Activate,
}

impl Dialect {
    fn error(self, status: u16, message: &str) -> Response {
        let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let (content_type, body) = match self {
            Self::Scim => (
                "application/scim+json",
                json!({
                    "schemas": [crate::scim::ERROR],
                    "status": status.to_string(),
                    "detail": message,
                }),
            ),
            Self::Activate => (
                "application/json",
                json!({"error": true, "message": message, "code": match status {
                    429 => "rate_limited",
                    503 => "unavailable",
                    _ => "internal",
                }}),
            ),
        };
        (
            code,
            [(header::CONTENT_TYPE, content_type)],
            body.to_string(),
        )
            .into_response()
    }
}

/// One request as the proxy received it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, still percent-encoded.
    pub path: String,
    /// The raw query, if any.
    pub query: Option<String>,
    /// The request body.
    pub body: Bytes,
}

impl Exchange {
    /// `path?query`.
    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// The default identity: method, path, query and body.
    pub fn id(&self) -> RequestId {
        RequestId::of_request(&self.method, &self.target(), &self.body)
    }
}

/// How the identity of a request is computed (see the module docs).
pub type IdentityFn = Arc<dyn Fn(&Exchange) -> RequestId + Send + Sync>;

/// Rewrites an upstream answer `(status, body)`.
pub type RewriteFn = Arc<dyn Fn(u16, &[u8]) -> (u16, Vec<u8>) + Send + Sync>;

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
    /// Forward, then replace the upstream answer with the result.
    Rewrite(RewriteFn),
    /// Reset the connection without forwarding.
    Reset,
    /// Forward after this delay.
    Delay(Duration),
}

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

/// A canned JSON answer.
pub fn respond_json(status: u16, content_type: &str, body: &str) -> Action {
    Action::Respond {
        status,
        content_type: Some(content_type.to_owned()),
        body: body.as_bytes().to_vec(),
    }
}

/// Forward and change the answer's JSON body (a body that is not JSON passes as is).
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

/// A scripted answer for matching requests; tried before the random faults.
#[derive(Debug)]
pub struct Rule {
    /// The method to match, `None` for any.
    pub method: Option<&'static str>,
    /// Matches when the path (without the query) contains this; a trailing `$`
    /// means "ends with".
    pub path_contains: String,
    /// Matches only when the percent-decoded query contains this.
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

    /// Only for requests whose query contains `part`.
    #[must_use]
    pub fn with_query(mut self, part: &str) -> Self {
        self.query_contains = Some(part.to_owned());
        self
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
                .is_some_and(|q| decoded(q).contains(part))
        });
        self.remaining != Some(0)
            && self.method.is_none_or(|m| m == exchange.method)
            && path
            && query
    }
}

/// A query with its pairs percent-decoded (`+` as space), joined again by `&`.
fn decoded(query: &str) -> String {
    let uri = format!("/?{query}");
    let pairs = Uri::from_str(&uri)
        .ok()
        .and_then(|uri| axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri).ok())
        .map(|axum::extract::Query(pairs)| pairs)
        .unwrap_or_default();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Shared>,
    _server: Server,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.state.upstream)
            .finish_non_exhaustive()
    }
}

struct Shared {
    upstream: String,
    dialect: Dialect,
    client: Client<HttpConnector, Body>,
    faults: Mutex<HttpFaults>,
    front: Front<()>,
    rules: Mutex<Vec<Rule>>,
    identity: Mutex<Option<IdentityFn>>,
    in_flight: Arc<AtomicUsize>,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:0` in front of the origin of `upstream`
    /// (`http://host:port`; a path in it is ignored: requests keep theirs), drawing
    /// faults with `seed`. No faults until [`set_faults`](Self::set_faults).
    pub async fn start(upstream: &str, dialect: Dialect, seed: u64) -> Result<Self, StartError> {
        let uri = Uri::from_str(upstream)
            .map_err(|e| StartError::InvalidOption(format!("upstream {upstream:?}: {e}")))?;
        let (Some("http"), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(StartError::InvalidOption(format!(
                "upstream {upstream:?} must be an http:// URL with a host"
            )));
        };
        let (listener, addr) = net::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let state = Arc::new(Shared {
            upstream: format!("http://{authority}"),
            dialect,
            client: Client::builder(TokioExecutor::new()).build_http(),
            faults: Mutex::new(HttpFaults::default()),
            front: Front::new(seed),
            rules: Mutex::new(Vec::new()),
            identity: Mutex::new(None),
            in_flight: Arc::new(AtomicUsize::new(0)),
        });
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        Ok(Self {
            addr,
            state,
            _server: Server::spawn(listener, router),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the random faults (the rate limit starts again with a full bucket).
    pub fn set_faults(&self, faults: HttpFaults) {
        *lock(&self.state.faults) = faults;
        self.state.front.reset_rate_limit();
    }

    /// Adds a scripted rule (rules are tried in the order added).
    pub fn add_rule(&self, rule: Rule) {
        lock(&self.state.rules).push(rule);
    }

    /// Sets how request identities are computed (default [`Exchange::id`]).
    pub fn set_identity(&self, identity: IdentityFn) {
        *lock(&self.state.identity) = Some(identity);
    }

    /// Every request so far; the `resource` of each record is `()`.
    pub fn log(&self) -> &RequestLog<()> {
        &self.state.front.log
    }

    /// Waits until no request is on its way upstream (a delayed one may still be
    /// after its client gave up), for at most `limit`.
    pub async fn settle(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self.state.in_flight.load(Ordering::SeqCst) > 0
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// What happens to one request.
enum Plan {
    /// Send this answer.
    Answer(Response),
    /// Reset the connection.
    Reset,
    /// Forward after `delay`; then rewrite the answer, or lose it if it is a 2xx
    /// to a `POST`.
    Forward {
        delay: Duration,
        rewrite: Option<RewriteFn>,
        lose_post: bool,
    },
}

impl Shared {
    /// The first matching rule's plan, if any rule matches.
    fn scripted(&self, exchange: &Exchange) -> Option<Plan> {
        let mut rules = lock(&self.rules);
        let rule = rules.iter_mut().find(|r| r.matches(exchange))?;
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        let forward = |delay, rewrite| Plan::Forward {
            delay,
            rewrite,
            lose_post: false,
        };
        Some(match &rule.action {
            Action::Respond {
                status,
                content_type,
                body,
            } => {
                let mut headers = HeaderMap::new();
                if let Some(value) = content_type
                    .as_deref()
                    .and_then(|ct| HeaderValue::from_str(ct).ok())
                {
                    headers.insert(header::CONTENT_TYPE, value);
                }
                Plan::Answer(answer(*status, &headers, body.clone().into()))
            }
            Action::Rewrite(f) => forward(Duration::ZERO, Some(Arc::clone(f))),
            Action::Reset => Plan::Reset,
            Action::Delay(d) => forward(*d, None),
        })
    }

    /// Forwards one request; `None` when the upstream could not be reached or
    /// answered incompletely.
    async fn forward(
        &self,
        method: HttpMethod,
        target: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Option<(StatusCode, HeaderMap, Bytes)> {
        let mut request = axum::http::Request::builder()
            .method(method)
            .uri(format!("{}{target}", self.upstream))
            .body(Body::from(body))
            .ok()?;
        for (name, value) in headers {
            if !is_hop_by_hop(name) && name != header::HOST {
                request.headers_mut().append(name, value.clone());
            }
        }
        let response: hyper::Response<hyper::body::Incoming> =
            self.client.request(request).await.ok()?;
        let (parts, body) = response.into_parts();
        let body = to_bytes(Body::new(body), MAX_BODY_BYTES).await.ok()?;
        Some((parts.status, parts.headers, body))
    }
}

fn is_hop_by_hop(name: &header::HeaderName) -> bool {
    [
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::HeaderName::from_static("keep-alive"),
    ]
    .contains(name)
}

/// Counts a request on its way upstream until dropped.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(count))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(
    State(state): State<Arc<Shared>>,
    ConnectInfo(connection): ConnectInfo<ConnectionControl>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY_BYTES).await else {
        return state
            .dialect
            .error(413, "the request body is too large for the proxy");
    };
    let exchange = Exchange {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        body,
    };
    let mut pending = state.front.log.begin(
        Method::from(&parts.method),
        (),
        exchange.path.clone(),
        exchange.query.clone(),
        exchange.body.len(),
    );
    let plan = if let Some(plan) = state.scripted(&exchange) {
        pending.set_fault(Some(InjectedFault::Scripted));
        plan
    } else {
        let faults = lock(&state.faults).clone();
        let identity = lock(&state.identity).clone();
        let decision = state.front.decide(&faults, || match identity {
            Some(f) => f(&exchange),
            None => exchange.id(),
        });
        gate::wait(decision.latency).await;
        let decision = state.front.limit(&faults, decision);
        pending.set_fault(decision.outcome.fault());
        match gate::refusal(decision.outcome, &connection, |status, message| {
            state.dialect.error(status, message)
        }) {
            Some(response) if decision.outcome == Outcome::Reset => return response,
            Some(response) => Plan::Answer(response),
            None => Plan::Forward {
                delay: match decision.outcome {
                    Outcome::Stall(delay) => delay,
                    _ => Duration::ZERO,
                },
                rewrite: None,
                lose_post: decision.lose_post,
            },
        }
    };
    let (delay, rewrite, lose_post) = match plan {
        Plan::Reset => {
            connection.reset();
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Plan::Answer(response) => {
            pending.status = Some(response.status().as_u16());
            return response;
        }
        Plan::Forward {
            delay,
            rewrite,
            lose_post,
        } => (delay, rewrite, lose_post),
    };
    // The forward runs on its own task, so a request delayed past its client's
    // timeout still reaches the server when the client has gone.
    let in_flight = InFlight::enter(&state.in_flight);
    let forwarder = Arc::clone(&state);
    let target = gate::target(&parts.uri).to_owned();
    let (method, headers, body) = (parts.method.clone(), parts.headers, exchange.body);
    let upstream = tokio::spawn(async move {
        let _in_flight = in_flight;
        gate::wait(delay).await;
        forwarder.forward(method, &target, &headers, body).await
    })
    .await
    .ok()
    .flatten();
    let Some((status, headers, body)) = upstream else {
        connection.reset();
        return StatusCode::BAD_GATEWAY.into_response();
    };
    if lose_post && parts.method == HttpMethod::POST && status.is_success() {
        pending.set_fault(Some(InjectedFault::LostResponse));
        connection.reset();
        return StatusCode::BAD_GATEWAY.into_response();
    }
    let (status, body) = match rewrite {
        Some(f) => {
            let (status, body) = f(status.as_u16(), &body);
            (status, Bytes::from(body))
        }
        None => (status.as_u16(), body),
    };
    pending.status = Some(status);
    answer(status, &headers, body)
}

/// An answer with `status`, the end-to-end `headers` and `body` (hyper sets its
/// length).
fn answer(status: u16, headers: &HeaderMap, body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    for (name, value) in headers {
        if !is_hop_by_hop(name) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}
