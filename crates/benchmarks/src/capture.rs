//! Where a sync spends its time, read from its own log events.
//!
//! A tracing layer records, with their time since [`Recorder::start`]:
//! - the CLI's "read the ACTIVATE organization" and "read the owned SCIM records";
//! - each operation the apply orchestrator reports as applied or failed, by kind;
//! - each SCIM request attempt the client logs (method, status, duration);
//! - the limiter's decreases.
//!
//! Nothing is printed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// One SCIM request attempt.
#[derive(Debug, Clone)]
pub struct Request {
    /// When it finished.
    pub at: Duration,
    /// `GET`, `POST`, `PATCH`.
    pub method: String,
    /// The path below the base URL (`/Users`, `/Groups/abc`).
    pub path: String,
    /// The status, `None` for a transport error.
    pub status: Option<u16>,
    /// How long it took.
    pub took: Duration,
}

/// First and last time an operation kind finished, and how many.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// The first finished.
    pub first: Duration,
    /// The last finished.
    pub last: Duration,
    /// How many finished.
    pub count: usize,
}

/// What one run logged.
#[derive(Debug, Clone, Default)]
pub struct Records {
    /// Selected messages and when they were logged.
    pub marks: Vec<(Duration, String)>,
    /// Applied or failed operations by kind.
    pub operations: BTreeMap<String, Span>,
    /// SCIM request attempts.
    pub requests: Vec<Request>,
    /// Limiter decreases.
    pub decreases: usize,
    /// Warnings by message.
    pub warnings: BTreeMap<String, usize>,
}

impl Records {
    /// When `message` was first logged.
    pub fn mark(&self, message: &str) -> Option<Duration> {
        self.marks
            .iter()
            .find(|(_, m)| m == message)
            .map(|(at, _)| *at)
    }
}

struct Shared {
    origin: Instant,
    records: Records,
}

/// The recording layer's handle.
#[derive(Clone)]
pub struct Recorder(Arc<Mutex<Shared>>);

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder").finish_non_exhaustive()
    }
}

static GLOBAL: OnceLock<Recorder> = OnceLock::new();

impl Recorder {
    /// The recorder, installed as the global subscriber on first use.
    pub fn global() -> &'static Self {
        GLOBAL.get_or_init(Self::install)
    }

    fn install() -> Self {
        let recorder = Self(Arc::new(Mutex::new(Shared {
            origin: Instant::now(),
            records: Records::default(),
        })));
        let filter = Targets::new()
            .with_target("scim_client", Level::DEBUG)
            .with_default(Level::INFO);
        let subscriber =
            tracing_subscriber::registry().with(Capture(recorder.clone()).with_filter(filter));
        // Fails only if a subscriber is already set, which this program never does.
        let _ = tracing::subscriber::set_global_default(subscriber);
        recorder
    }

    /// Forgets what was recorded and restarts the clock.
    pub fn start(&self) {
        let mut shared = self.lock();
        shared.origin = Instant::now();
        shared.records = Records::default();
    }

    /// What was recorded since [`start`](Self::start).
    pub fn take(&self) -> Records {
        std::mem::take(&mut self.lock().records)
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Capture(Recorder);

#[derive(Default)]
struct Fields {
    message: String,
    action: Option<String>,
    method: Option<String>,
    path: Option<String>,
    outcome: Option<String>,
    duration_ms: Option<u64>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "action" => self.action = Some(format!("{value:?}")),
            "outcome" => self.outcome = Some(format!("{value:?}")),
            "path" => self.path = Some(format!("{value:?}")),
            "method" => self.method = Some(format!("{value:?}").trim_matches('"').to_owned()),
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => value.clone_into(&mut self.message),
            "method" => self.method = Some(value.to_owned()),
            "action" => self.action = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "duration_ms" {
            self.duration_ms = Some(value);
        }
    }
}

/// `Status(201)` → 201.
fn status_of(outcome: &str) -> Option<u16> {
    outcome
        .strip_prefix("Status(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|code| code.parse().ok())
}

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut shared = self.0.lock();
        let at = shared.origin.elapsed();
        let records = &mut shared.records;
        match fields.message.as_str() {
            "SCIM request" => records.requests.push(Request {
                at,
                method: fields.method.unwrap_or_default(),
                path: fields.path.unwrap_or_default(),
                status: fields.outcome.as_deref().and_then(status_of),
                took: Duration::from_millis(fields.duration_ms.unwrap_or(0)),
            }),
            "applied" | "failed" if fields.action.is_some() => {
                let kind = fields.action.unwrap_or_default();
                let span = records.operations.entry(kind).or_insert(Span {
                    first: at,
                    last: at,
                    count: 0,
                });
                span.last = at;
                span.count += 1;
            }
            "read the ACTIVATE organization" | "read the owned SCIM records" => {
                records.marks.push((at, fields.message));
            }
            "the server is overloaded: sending less" => records.decreases += 1,
            _ if *event.metadata().level() == Level::WARN => {
                *records.warnings.entry(fields.message).or_default() += 1;
            }
            _ => {}
        }
    }
}
