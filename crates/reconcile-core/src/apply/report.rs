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
    /// Group members left out because their user was not created.
    pub omitted_members: Vec<OmittedMember>,
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
    /// left out (withheld operations do not count against it).
    pub fn is_complete(&self) -> bool {
        let totals = self.totals();
        totals.failed == 0
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
    /// Not started because an earlier operation was refused as unauthorized.
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

/// A group member left out because its user's creation failed or was skipped.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OmittedMember {
    /// The group's `externalId`.
    pub group: ExternalId,
    /// The group's `displayName`.
    pub group_name: String,
    /// The user that was not created.
    pub user: SourceUserId,
    /// Its `userName`.
    pub user_name: String,
}
