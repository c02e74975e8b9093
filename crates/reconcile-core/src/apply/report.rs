//! The apply report.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::apply::TargetError;
use crate::ids::{ExternalId, ScimId, SourceGroupId, SourceUserId};
use crate::plan::{ActionKind, Subject};

/// What happened when a plan was applied. Every list is sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    /// Outcome counts for every operation kind (all kinds present).
    pub counts: BTreeMap<ActionKind, OutcomeCounts>,
    /// The operations that failed, sorted by kind then subject.
    pub failures: Vec<ApplyFailure>,
    /// SCIM ids of the users created.
    pub created_users: BTreeMap<SourceUserId, ScimId>,
    /// SCIM ids of the groups created.
    pub created_groups: BTreeMap<SourceGroupId, ScimId>,
    /// Group members left out because their record was not created or re-keyed.
    pub omitted_members: Vec<OmittedMember>,
    /// Set when a create's answer did not prove ownership: the server does not
    /// keep the `externalId` this tool recognizes its records by. No creation
    /// started after it; the CLI treats it as a fatal target problem.
    pub ownership_not_kept: Option<OwnershipNotKept>,
    /// Writes that succeeded with an odd answer, sorted.
    pub warnings: Vec<ApplyWarning>,
    /// Attributes the server did not keep as sent (by its own comparison
    /// rules), sorted: they will be planned and sent again on every run.
    pub not_kept: Vec<NotKeptAttribute>,
}

impl ApplyReport {
    pub(crate) fn new() -> Self {
        Self {
            counts: ActionKind::ALL
                .into_iter()
                .map(|kind| (kind, OutcomeCounts::default()))
                .collect(),
            failures: Vec::new(),
            created_users: BTreeMap::new(),
            created_groups: BTreeMap::new(),
            omitted_members: Vec::new(),
            ownership_not_kept: None,
            warnings: Vec::new(),
            not_kept: Vec::new(),
        }
    }

    pub(crate) fn slot(&mut self, kind: ActionKind) -> &mut OutcomeCounts {
        self.counts.entry(kind).or_default()
    }

    /// All kinds added up.
    pub fn totals(&self) -> OutcomeCounts {
        self.counts
            .values()
            .fold(OutcomeCounts::default(), |a, b| OutcomeCounts {
                applied: a.applied + b.applied,
                failed: a.failed + b.failed,
                skipped_deadline: a.skipped_deadline + b.skipped_deadline,
                skipped_aborted: a.skipped_aborted + b.skipped_aborted,
                withheld: a.withheld + b.withheld,
            })
    }

    /// `true` when every applicable operation was applied and no member was
    /// left out (withheld operations do not count against it). Warnings do
    /// not count against it either.
    pub fn is_complete(&self) -> bool {
        let totals = self.totals();
        self.ownership_not_kept.is_none()
            && totals.failed == 0
            && totals.skipped_deadline == 0
            && totals.skipped_aborted == 0
            && self.omitted_members.is_empty()
    }
}

/// Outcomes of one operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OutcomeCounts {
    /// Applied successfully.
    pub applied: usize,
    /// Attempted and failed (see [`ApplyReport::failures`]).
    pub failed: usize,
    /// Not started because the deadline had passed.
    pub skipped_deadline: usize,
    /// Not started because of a fatal target problem: an earlier operation
    /// was refused as unauthorized, or (creations only) the server did not
    /// keep the ownership mark of an earlier creation.
    pub skipped_aborted: usize,
    /// Withheld by a safety guard.
    pub withheld: usize,
}

/// One failed operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyFailure {
    /// The operation kind.
    pub action: ActionKind,
    /// The record it addressed.
    pub subject: Subject,
    /// What the target said.
    pub error: TargetError,
}

/// A group member left out because its record's creation or re-key failed or was
/// skipped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OmittedMember {
    /// The group's `externalId`.
    pub group: ExternalId,
    /// The group's `displayName`.
    pub group_name: String,
    /// The user whose record was not created or re-keyed.
    pub user: SourceUserId,
    /// Its `userName`.
    pub user_name: String,
}

/// A create or re-key whose answer did not prove that the server keeps the
/// ownership mark (see [`ApplyReport::ownership_not_kept`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnershipNotKept {
    /// The record that was created or re-keyed.
    pub subject: Subject,
    /// The write that set the mark.
    pub write: MarkWrite,
    /// The `externalId` sent.
    pub sent: ExternalId,
    /// The `externalId` the answer carried; `None` when it carried none, or
    /// no readable record.
    pub kept: Option<String>,
    /// The SCIM id of the record the server created, when the answer named one.
    pub scim_id: Option<ScimId>,
}

impl std::fmt::Display for OwnershipNotKept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = match &self.kept {
            Some(kept) if kept.is_empty() => "an empty externalId".to_owned(),
            Some(kept) => format!("externalId {kept:?}"),
            None => "no externalId".to_owned(),
        };
        match self.write {
            MarkWrite::Create => {
                let created = match &self.scim_id {
                    Some(id) => {
                        format!("record {id} was created, inactive and without keys or members")
                    }
                    None => "no readable record".to_owned(),
                };
                write!(
                    f,
                    "the SCIM server did not keep the ownership mark: {} was created with \
                     externalId {:?} and the answer carried {kept} ({created}). This tool \
                     recognizes the records it manages only by that mark, so it could neither \
                     update nor deactivate what it creates; creation stopped for this run. Run \
                     `pw-activate-scim-sync check`, and remove or adopt the record by hand.",
                    self.subject,
                    self.sent.as_str()
                )
            }
            MarkWrite::ReKey => {
                let record = self
                    .scim_id
                    .as_ref()
                    .map_or_else(String::new, |id| format!(" (record {id})"));
                write!(
                    f,
                    "the SCIM server did not keep the ownership mark: {}{record} was re-keyed to \
                     externalId {:?} and the server kept {kept}. This tool recognizes the records \
                     it manages only by that mark, so once it is lost it can neither update nor \
                     deactivate that record; re-keying stopped for this run. Run \
                     `pw-activate-scim-sync check`, and set the externalId back or remove the \
                     record by hand.",
                    self.subject,
                    self.sent.as_str()
                )
            }
        }
    }
}

/// The write whose answer must prove the ownership mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkWrite {
    /// A user or group creation (`POST`).
    Create,
    /// A `PATCH` of the `externalId` of a record already owned.
    ReKey,
}

/// A write that succeeded with an odd answer.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ApplyWarning {
    /// The operation kind.
    pub action: ActionKind,
    /// The record it addressed.
    pub subject: Subject,
    /// What was odd.
    pub message: String,
}

/// An attribute that a write sent and the server did not keep as sent.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct NotKeptAttribute {
    /// The record.
    pub subject: Subject,
    /// The SCIM attribute path.
    pub attribute: String,
    /// The value sent (SSH keys as a count).
    pub sent: String,
    /// The value the server kept.
    pub kept: String,
}

impl std::fmt::Display for NotKeptAttribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: the server did not keep {}: sent {}, kept {}; this will be sent again on every run",
            self.subject, self.attribute, self.sent, self.kept
        )
    }
}
