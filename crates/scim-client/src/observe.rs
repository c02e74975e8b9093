//! A hook that sees every HTTP attempt, for request metrics.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The HTTP methods this client uses (it never deletes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// Reads.
    Get,
    /// Creates; not idempotent.
    Post,
    /// Updates; the operations this client sends are idempotent.
    Patch,
}

impl Method {
    /// `GET`, `POST` or `PATCH`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Patch => "PATCH",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The collection or document a request addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `/Users` and `/Users/{id}`.
    Users,
    /// `/Groups` and `/Groups/{id}`.
    Groups,
    /// `/ServiceProviderConfig`.
    ServiceProviderConfig,
    /// `/Schemas`.
    Schemas,
    /// `/ResourceTypes`.
    ResourceTypes,
}

impl Endpoint {
    /// The endpoint's path segment: `Users`, `Groups`, `ServiceProviderConfig`,
    /// `Schemas` or `ResourceTypes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Users => "Users",
            Self::Groups => "Groups",
            Self::ServiceProviderConfig => "ServiceProviderConfig",
            Self::Schemas => "Schemas",
            Self::ResourceTypes => "ResourceTypes",
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestOutcome {
    /// The server answered with this status (after any redirects followed).
    Status(u16),
    /// No complete response arrived.
    TransportError {
        /// Whether the request may have reached the server.
        maybe_sent: bool,
    },
}

/// One HTTP attempt, reported to the [`RequestObserver`] when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestEvent {
    /// The HTTP method.
    pub method: Method,
    /// What was addressed.
    pub endpoint: Endpoint,
    /// How it ended.
    pub outcome: RequestOutcome,
    /// The 1-based attempt number of the logical request.
    pub attempt: u32,
    /// How long the attempt took, reading the body included.
    pub duration: Duration,
}

/// Called once per HTTP attempt, retries included. Keep it quick: it runs inline.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::collections::BTreeMap;
/// use scim_client::{RequestEvent, RequestObserver, RequestOutcome};
///
/// let counts = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
/// let sink = Arc::clone(&counts);
/// let observer: RequestObserver = Arc::new(move |event: &RequestEvent| {
///     let status = match event.outcome {
///         RequestOutcome::Status(code) => code.to_string(),
///         _ => "error".to_owned(),
///     };
///     *sink.lock().unwrap().entry(status).or_default() += 1;
/// });
/// ```
pub type RequestObserver = Arc<dyn Fn(&RequestEvent) + Send + Sync>;
