//! Applying a plan: the [`ScimTarget`] trait the CLI adapts its SCIM client
//! to, the [`Clock`] trait for the deadline, and the [`apply`] orchestrator.
//!
//! Nothing here spawns tasks or reads the system clock; [`apply`] is a plain
//! future that runs under any executor.

mod orchestrator;
mod report;
mod verify;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Serialize, Serializer};

pub use orchestrator::apply;
pub use report::{
    ApplyFailure, ApplyReport, ApplyWarning, MarkWrite, NotKeptAttribute, OmittedMember,
    OutcomeCounts, OwnershipNotKept,
};

use crate::ids::{ExternalId, ScimId};
use crate::observed::{OwnedGroup, OwnedUser};
use crate::plan::{NewUserRecord, UserChange};

/// The write side of a SCIM server, as the orchestrator needs it. No DELETE.
///
/// Implementations map their client's errors to [`TargetError`] and should
/// retry transient failures themselves; the orchestrator does not retry. A
/// successful write returns what the server answered ([`Written`]): the
/// orchestrator proves ownership of every created record from it.
#[async_trait]
pub trait ScimTarget: Send + Sync {
    /// `POST /Users`; returns the record as the server says it stored it.
    ///
    /// `record` is `None` only when the server created something but its
    /// answer named no record that could be read (the orchestrator then
    /// cannot prove ownership and stops creating).
    async fn create_user(&self, user: &NewUserRecord) -> Result<Written<OwnedUser>, TargetError>;

    /// `PATCH /Users/{id}` with the given changes (write each change's `new`
    /// value). `record` is the updated record when the answer carried one.
    async fn patch_user(
        &self,
        id: &ScimId,
        changes: &[UserChange],
    ) -> Result<Written<OwnedUser>, TargetError>;

    /// `POST /Groups`; as [`create_user`](Self::create_user).
    async fn create_group(
        &self,
        group: &NewGroupRecord,
    ) -> Result<Written<OwnedGroup>, TargetError>;

    /// `GET /Users/{id}`: reads a record back after a PATCH whose answer did
    /// not carry it, to check what the server kept (at most
    /// [`ApplyOptions::read_backs`] times per run).
    async fn read_user(&self, id: &ScimId) -> Result<OwnedUser, TargetError>;

    /// `PATCH /Groups/{id}` with the given changes, in order. One call never
    /// carries more than [`ApplyOptions::member_chunk_size`] member values.
    async fn patch_group(
        &self,
        id: &ScimId,
        changes: &[GroupChange],
    ) -> Result<Written<OwnedGroup>, TargetError>;
}

/// What the server answered to a write that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written<R> {
    /// The record as the server says it stored it, when the answer carried
    /// one (a `204 No Content` answer carries none).
    pub record: Option<R>,
    /// Something odd about the answer that did not make the write fail, for
    /// example a `200` whose body did not decode: the write was applied.
    pub warning: Option<String>,
}

impl<R> Written<R> {
    /// An answer carrying `record`.
    pub fn record(record: R) -> Self {
        Self {
            record: Some(record),
            warning: None,
        }
    }

    /// An answer without a record (`204 No Content`).
    pub fn empty() -> Self {
        Self {
            record: None,
            warning: None,
        }
    }

    /// Adds a warning.
    #[must_use]
    pub fn with_warning(mut self, warning: impl Into<String>) -> Self {
        self.warning = Some(warning.into());
        self
    }
}

/// A group record to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewGroupRecord {
    /// `externalId` (`pw-activate:group:<id>`).
    pub external_id: ExternalId,
    /// `displayName`.
    pub display_name: String,
    /// Initial members (at most [`ApplyOptions::member_chunk_size`]; the rest
    /// follow as [`GroupChange::AddMembers`]).
    pub members: Vec<ScimId>,
}

/// One change in a group PATCH.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", content = "value", rename_all = "snake_case")]
pub enum GroupChange {
    /// Replace `externalId` (a re-key).
    ExternalId(ExternalId),
    /// Replace `displayName`.
    DisplayName(String),
    /// Add these members.
    AddMembers(Vec<ScimId>),
    /// Remove these members.
    RemoveMembers(Vec<ScimId>),
}

/// A failed target operation: a classification and a message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct TargetError {
    /// What kind of failure.
    pub kind: TargetErrorKind,
    /// What went wrong, for the report (no secrets, no request bodies).
    pub message: String,
    /// The underlying error, if any.
    #[source]
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl TargetError {
    /// A new error without an underlying cause.
    pub fn new(kind: TargetErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error (kept as `source()`, not printed by `Display`).
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
}

/// Equal when kind and message are equal (the source is not compared).
impl PartialEq for TargetError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for TargetError {}

impl Serialize for TargetError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("TargetError", 2)?;
        s.serialize_field("kind", &self.kind)?;
        s.serialize_field("message", &self.message)?;
        s.end()
    }
}

/// How a target operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetErrorKind {
    /// The record does not exist (404).
    NotFound,
    /// Uniqueness or version conflict (409).
    Conflict,
    /// The server rejected the request as invalid (400).
    Invalid,
    /// Authentication or authorization failed (401/403). The orchestrator
    /// starts no further operations after this.
    Unauthorized,
    /// A transient failure that persisted through the adapter's retries.
    Transient,
    /// The request may or may not have taken effect (timeout after sending).
    OutcomeUnknown,
    /// A create succeeded but its answer did not carry the `externalId` that
    /// was sent (or no readable record): the server does not keep the
    /// ownership mark. The orchestrator starts no further creations.
    OwnershipNotKept,
    /// Anything else.
    Other,
}

impl fmt::Display for TargetErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "not found",
            Self::Conflict => "conflict",
            Self::Invalid => "invalid request",
            Self::Unauthorized => "unauthorized",
            Self::Transient => "transient failure",
            Self::OutcomeUnknown => "outcome unknown",
            Self::OwnershipNotKept => "ownership mark not kept",
            Self::Other => "failed",
        })
    }
}

/// A monotonic clock: time elapsed since some fixed origin. The CLI passes one
/// backed by `std::time::Instant`; tests pass a [`ManualClock`].
pub trait Clock: Send + Sync {
    /// The current time since the clock's origin.
    fn now(&self) -> Duration;
}

/// A clock that moves only when told to.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// Sets the clock.
    pub fn set(&self, to: Duration) {
        self.nanos.store(
            u64::try_from(to.as_nanos()).unwrap_or(u64::MAX),
            Ordering::SeqCst,
        );
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

/// How to apply a plan.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Operations in flight at once within a phase (0 is treated as 1).
    pub concurrency: usize,
    /// Most member values in one group request (0 is treated as 1).
    pub member_chunk_size: usize,
    /// No operation starts at or after this point.
    pub deadline: Option<Deadline>,
    /// The most records read back per run after a PATCH answered without the
    /// record (`204`), to check what the server kept; bounded so that a large
    /// first sync does not double its requests.
    pub read_backs: usize,
}

impl Default for ApplyOptions {
    /// Concurrency 4, member chunks of 100, no deadline, 10 read-backs.
    fn default() -> Self {
        Self {
            concurrency: 4,
            member_chunk_size: 100,
            deadline: None,
            read_backs: 10,
        }
    }
}

impl fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("concurrency", &self.concurrency)
            .field("member_chunk_size", &self.member_chunk_size)
            .field("deadline", &self.deadline)
            .field("read_backs", &self.read_backs)
            .finish()
    }
}

/// A point in a clock's time after which no new operation starts.
#[derive(Clone)]
pub struct Deadline {
    /// The clock to read.
    pub clock: Arc<dyn Clock>,
    /// The deadline, in that clock's time.
    pub at: Duration,
}

impl Deadline {
    fn passed(&self) -> bool {
        self.clock.now() >= self.at
    }
}

impl fmt::Debug for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deadline")
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_error_display_is_short_and_keeps_the_source() {
        let io = std::io::Error::other("socket closed");
        let error =
            TargetError::new(TargetErrorKind::Transient, "PATCH /Users/7 gave 503").with_source(io);
        assert_eq!(
            error.to_string(),
            "transient failure: PATCH /Users/7 gave 503"
        );
        let source = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("socket closed"));
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new();
        assert_eq!(clock.now(), Duration::ZERO);
        clock.advance(Duration::from_secs(2));
        clock.advance(Duration::from_millis(500));
        assert_eq!(clock.now(), Duration::from_millis(2500));
        clock.set(Duration::from_secs(1));
        assert_eq!(clock.now(), Duration::from_secs(1));
    }
}
