//! A small forwarding proxy: serves a path prefix by forwarding to another base URL,
//! and records the size of every request body.
//!
//! The membership benchmark puts it in front of the SCIM emulator to measure request
//! bytes.

use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

/// One forwarded request.
#[derive(Debug, Clone)]
pub struct Forwarded {
    /// The method.
    pub method: String,
    /// The path as received.
    pub path: String,
    /// Request body bytes.
    pub request_bytes: usize,
    /// The upstream's status (502 when it could not be reached).
    pub status: u16,
}

struct Shared {
    prefix: String,
    upstream: Url,
    client: reqwest::Client,
    log: Mutex<Vec<Forwarded>>,
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    url: Url,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Headers passed through in both directions.
const PASSED: [HeaderName; 6] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::ACCEPT,
    header::RETRY_AFTER,
    header::LOCATION,
    header::ETAG,
];

impl Proxy {
    /// Serves `prefix` (e.g. `/api/organizations/lab/scim/v2`) by forwarding what
    /// follows it to `upstream` (e.g. `http://127.0.0.1:4000/scim/org-emulator`).
    pub async fn start(prefix: &str, upstream: Url) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("cannot bind the proxy")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            prefix: prefix.trim_end_matches('/').to_owned(),
            upstream,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            log: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url: Url::parse(&format!("http://{addr}"))?,
            shared,
            task,
        })
    }

    /// The URL of `prefix` on the proxy.
    pub fn prefix_url(&self) -> Result<Url> {
        Ok(self.url.join(&self.shared.prefix)?)
    }

    /// Every request so far.
    pub fn log(&self) -> Vec<Forwarded> {
        self.shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forgets the requests so far.
    pub fn clear(&self) {
        self.shared
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let Some(rest) = path.strip_prefix(&shared.prefix) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut target = shared.upstream.clone();
    target.set_path(&format!(
        "{}{rest}",
        shared.upstream.path().trim_end_matches('/')
    ));
    target.set_query(parts.uri.query());
    let Ok(body) = to_bytes(body, 64 * 1024 * 1024).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let request_bytes = body.len();
    let mut upstream = shared.client.request(parts.method.clone(), target);
    for name in &PASSED {
        if let Some(value) = parts.headers.get(name) {
            upstream = upstream.header(name, value);
        }
    }
    let (status, response) = match upstream.body(body).send().await {
        Ok(reply) => {
            let status = reply.status();
            let mut builder = Response::builder().status(status);
            for name in &PASSED {
                if let Some(value) = reply.headers().get(name) {
                    builder = builder.header(name, value);
                }
            }
            let bytes = reply.bytes().await.unwrap_or_default();
            (
                status.as_u16(),
                builder
                    .body(Body::from(bytes))
                    .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response()),
            )
        }
        Err(_) => (502, StatusCode::BAD_GATEWAY.into_response()),
    };
    shared
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Forwarded {
            method: parts.method.to_string(),
            path,
            request_bytes,
            status,
        });
    response
}
