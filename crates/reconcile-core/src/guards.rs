//! Safety guards: the step between the diff and the plan, judged before
//! anything is written. Pure.
//!
//! This module is a leaf. It judges counts of what the diff planned against
//! facts about the source and the target and the configured limits, and says
//! what to withhold (`judge`); the plan step marks or splits out the
//! operations that names (`plan/withhold.rs`). It owns its types: the limit
//! ([`DeactivationLimit`]), the status a plan records ([`GuardStatus`]) and the
//! mark on a withheld operation ([`GuardKind`]).
//!
//! - **Source guard.** When the snapshot is incomplete, or the projection has
//!   no users at all (an empty snapshot, or a scope that selects nobody), every
//!   operation that *takes access away* is withheld: deactivations, key
//!   revocations of inactive records, group emptying, and member removals
//!   (split out of group updates into withheld operations of their own). A
//!   missing page, member list or key list looks exactly like a departure,
//!   and in POSIX/Slurm terms losing a group is losing access, so all three
//!   are treated alike. Creations, attribute
//!   updates, reactivations, re-keys, renames and member additions still apply.
//!   The override never lifts this guard. It counts as tripped only when it
//!   withheld something (an empty source against an empty target is fine).
//! - **Deactivation limit.** When more deactivations are planned than
//!   [`DeactivationLimit`] allows, *all* deactivations are withheld (a mass
//!   deactivation is an anomaly; applying an arbitrary part of it would not be
//!   safer), together with the removal of those users from groups, so a
//!   withheld deactivation leaves the user exactly as they are. Group emptying
//!   still applies, and so do key revocations of records that are already
//!   inactive (their deactivation was decided in an earlier run; they count
//!   neither toward nor against the limit).
//!   [`crate::PlanOptions::override_deactivation_limit`] lifts this guard; the
//!   plan records that it did.
//!
//! - **Re-key limit.** When more owned records (users and groups) would be
//!   re-keyed than [`crate::PlanOptions::rekey_limit`] allows (a percentage is
//!   of all owned user records), every re-key is withheld (with a group's
//!   rename and additions; its member removals still apply), and so are the
//!   group memberships re-keyed users would gain. A mass re-key means the
//!   source's ids changed (a switch between ACTIVATE's REST and SCIM sources
//!   whose ids differ) or a migration from an earlier key scheme: either needs
//!   a person to confirm.
//!   [`crate::PlanOptions::override_rekey_limit`] lifts it.
//!
//! The plan says which guard tripped ([`GuardStatus`]) and marks every
//! withheld operation ([`crate::Operation::withheld`]).

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// The most deactivations one run may apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeactivationLimit {
    /// At most this many.
    Absolute(usize),
    /// At most this percentage of the owned *active* user records, rounded
    /// down: `Percent(10)` of 25 active records allows 2. Values above 100
    /// are allowed and mean "more than all", i.e. no effective limit.
    Percent(u32),
}

impl DeactivationLimit {
    /// How many deactivations are allowed when the target holds `owned_active`
    /// owned active user records.
    pub fn allowed(self, owned_active: usize) -> usize {
        match self {
            Self::Absolute(n) => n,
            Self::Percent(p) => {
                let allowed = (owned_active as u128 * u128::from(p)) / 100;
                usize::try_from(allowed).unwrap_or(usize::MAX)
            }
        }
    }
}

impl fmt::Display for DeactivationLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Absolute(n) => write!(f, "{n}"),
            Self::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for DeactivationLimit {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A deactivation limit that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid deactivation limit {0:?}: expected a whole number like `25` or a percentage like `10%`"
)]
pub struct InvalidLimit(String);

impl FromStr for DeactivationLimit {
    type Err = InvalidLimit;

    /// Parses `25` (absolute) or `10%` (percentage of owned active users).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let invalid = || InvalidLimit(s.to_owned());
        match trimmed.strip_suffix('%') {
            Some(p) => p.trim().parse().map(Self::Percent).map_err(|_| invalid()),
            None => trimmed.parse().map(Self::Absolute).map_err(|_| invalid()),
        }
    }
}

/// What the guards found and did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct GuardStatus {
    /// Whether the source snapshot was complete.
    pub source_complete: bool,
    /// Users in the desired state (in scope, writable).
    pub desired_users: usize,
    /// Owned user records that are active in the target.
    pub owned_active_users: usize,
    /// Deactivations in the plan (withheld or not).
    pub deactivations_planned: usize,
    /// The configured limit, if any.
    pub deactivation_limit: Option<DeactivationLimit>,
    /// What the limit allows for `owned_active_users`, if a limit is set.
    pub deactivations_allowed: Option<usize>,
    /// `true` when the limit was exceeded but the override lifted it.
    pub limit_overridden: bool,
    /// Owned user records (active or not).
    pub owned_users: usize,
    /// Re-keys in the plan (withheld or not).
    pub rekeys_planned: usize,
    /// The configured re-key limit, if any.
    pub rekey_limit: Option<DeactivationLimit>,
    /// What the re-key limit allows for `owned_users`, if a limit is set.
    pub rekeys_allowed: Option<usize>,
    /// `true` when the re-key limit was exceeded but the override lifted it.
    pub rekey_limit_overridden: bool,
    /// The guards that withheld operations, sorted.
    pub tripped: Vec<GuardKind>,
}

/// Which guard withheld an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardKind {
    /// The source snapshot was incomplete.
    IncompleteSource,
    /// The source (after scoping) had no users.
    EmptySource,
    /// More deactivations than the limit allows.
    DeactivationLimit,
    /// More re-keys than the limit allows.
    #[serde(rename = "rekey_limit")]
    ReKeyLimit,
}

impl fmt::Display for GuardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::IncompleteSource => "incomplete source",
            Self::EmptySource => "empty source",
            Self::DeactivationLimit => "deactivation limit",
            Self::ReKeyLimit => "re-key limit",
        })
    }
}

/// Facts about the source and the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Whether the source snapshot was complete.
    pub(crate) source_complete: bool,
    /// Users in the desired state (in scope, writable).
    pub(crate) desired_users: usize,
    /// Owned user records (active or not).
    pub(crate) owned_users: usize,
    /// Owned user records that are active.
    pub(crate) owned_active_users: usize,
}

/// Counts of what the diff planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Planned {
    /// Deactivations.
    pub(crate) deactivations: usize,
    /// Re-keys (users, and group records re-keyed).
    pub(crate) rekeys: usize,
    /// Operations that take access away (deactivations, key revocations,
    /// group emptying, group updates that remove members).
    pub(crate) access_removals: usize,
}

/// The limits the guards enforce, and whether they are lifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) deactivations: Option<DeactivationLimit>,
    pub(crate) override_deactivations: bool,
    pub(crate) rekeys: Option<DeactivationLimit>,
    pub(crate) override_rekeys: bool,
}

/// What the guards withhold: the operations each names, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Withhold {
    /// Every re-key, and the memberships re-keyed records would gain.
    pub(crate) rekeys: bool,
    /// Every access removal, marked with this guard.
    pub(crate) access_removals: Option<GuardKind>,
    /// Every deactivation, and the group removals of those users.
    pub(crate) deactivations: bool,
}

/// Judges what was planned: what to withhold, and the status the plan records.
pub(crate) fn judge(facts: &Facts, planned: &Planned, limits: &Limits) -> (GuardStatus, Withhold) {
    let mut status = GuardStatus {
        source_complete: facts.source_complete,
        desired_users: facts.desired_users,
        owned_active_users: facts.owned_active_users,
        deactivations_planned: planned.deactivations,
        deactivation_limit: limits.deactivations,
        deactivations_allowed: limits
            .deactivations
            .map(|limit| limit.allowed(facts.owned_active_users)),
        limit_overridden: false,
        owned_users: facts.owned_users,
        rekeys_planned: planned.rekeys,
        rekey_limit: limits.rekeys,
        rekeys_allowed: limits.rekeys.map(|limit| limit.allowed(facts.owned_users)),
        rekey_limit_overridden: false,
        tripped: Vec::new(),
    };
    let mut withhold = Withhold::default();

    // Re-keys first: they are not access removals, so the source guard does
    // not end this guard's evaluation.
    match judge_limit(
        planned.rekeys,
        status.rekeys_allowed,
        limits.override_rekeys,
    ) {
        Limit::Within => {}
        Limit::Overridden => status.rekey_limit_overridden = true,
        Limit::Tripped => {
            withhold.rekeys = true;
            status.tripped.push(GuardKind::ReKeyLimit);
        }
    }

    let source_guard = if !facts.source_complete {
        Some(GuardKind::IncompleteSource)
    } else if facts.desired_users == 0 {
        Some(GuardKind::EmptySource)
    } else {
        None
    };
    if let Some(kind) = source_guard {
        // Tripped only when it withholds something.
        if planned.access_removals > 0 {
            withhold.access_removals = Some(kind);
            status.tripped.push(kind);
        }
    } else {
        match judge_limit(
            planned.deactivations,
            status.deactivations_allowed,
            limits.override_deactivations,
        ) {
            Limit::Within => {}
            Limit::Overridden => status.limit_overridden = true,
            Limit::Tripped => {
                withhold.deactivations = true;
                status.tripped.push(GuardKind::DeactivationLimit);
            }
        }
    }
    status.tripped.sort();
    (status, withhold)
}

/// What a limit says of the operations planned.
enum Limit {
    /// No limit, or not more than it allows.
    Within,
    /// More than it allows, lifted by the override.
    Overridden,
    /// More than it allows: withhold them.
    Tripped,
}

fn judge_limit(planned: usize, allowed: Option<usize>, overridden: bool) -> Limit {
    match allowed {
        Some(allowed) if planned > allowed && overridden => Limit::Overridden,
        Some(allowed) if planned > allowed => Limit::Tripped,
        _ => Limit::Within,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACTS: Facts = Facts {
        source_complete: true,
        desired_users: 10,
        owned_users: 20,
        owned_active_users: 10,
    };

    const LIMITS: Limits = Limits {
        deactivations: Some(DeactivationLimit::Absolute(2)),
        override_deactivations: false,
        rekeys: Some(DeactivationLimit::Percent(10)),
        override_rekeys: false,
    };

    fn planned(deactivations: usize, rekeys: usize, access_removals: usize) -> Planned {
        Planned {
            deactivations,
            rekeys,
            access_removals,
        }
    }

    #[test]
    fn each_guard_withholds_what_it_names() {
        let incomplete = Facts {
            source_complete: false,
            ..FACTS
        };
        let empty = Facts {
            desired_users: 0,
            ..FACTS
        };
        let none = Withhold::default();
        let table = [
            // Within every limit.
            (FACTS, planned(2, 2, 5), none, vec![]),
            // Three deactivations against a limit of two.
            (
                FACTS,
                planned(3, 0, 3),
                Withhold {
                    deactivations: true,
                    ..none
                },
                vec![GuardKind::DeactivationLimit],
            ),
            // Three re-keys against 10 % of 20 owned records.
            (
                FACTS,
                planned(0, 3, 0),
                Withhold {
                    rekeys: true,
                    ..none
                },
                vec![GuardKind::ReKeyLimit],
            ),
            // A broken source withholds access removals instead of judging the
            // deactivation limit; the re-key limit is judged all the same.
            (
                incomplete,
                planned(3, 3, 4),
                Withhold {
                    rekeys: true,
                    access_removals: Some(GuardKind::IncompleteSource),
                    deactivations: false,
                },
                vec![GuardKind::IncompleteSource, GuardKind::ReKeyLimit],
            ),
            (
                empty,
                planned(1, 0, 1),
                Withhold {
                    access_removals: Some(GuardKind::EmptySource),
                    ..none
                },
                vec![GuardKind::EmptySource],
            ),
            // It trips only when there is something to withhold.
            (empty, planned(0, 0, 0), none, vec![]),
        ];
        for (facts, planned, withhold, tripped) in table {
            let (status, judged) = judge(&facts, &planned, &LIMITS);
            assert_eq!(judged, withhold, "{facts:?} {planned:?}");
            assert_eq!(status.tripped, tripped, "{facts:?} {planned:?}");
            assert_eq!(status.deactivations_allowed, Some(2));
            assert_eq!(status.rekeys_allowed, Some(2));
        }
    }

    #[test]
    fn the_overrides_lift_the_limits_and_say_so() {
        let limits = Limits {
            override_deactivations: true,
            override_rekeys: true,
            ..LIMITS
        };
        let (status, withhold) = judge(&FACTS, &planned(9, 9, 9), &limits);
        assert_eq!(withhold, Withhold::default());
        assert!(status.tripped.is_empty());
        assert!(status.limit_overridden && status.rekey_limit_overridden);
        assert_eq!(
            (status.deactivations_planned, status.rekeys_planned),
            (9, 9)
        );
        // No override lifts the source guard.
        let broken = Facts {
            source_complete: false,
            ..FACTS
        };
        let (status, withhold) = judge(&broken, &planned(9, 0, 9), &limits);
        assert_eq!(withhold.access_removals, Some(GuardKind::IncompleteSource));
        assert!(!status.limit_overridden);
    }

    #[test]
    fn percent_rounds_down() {
        assert_eq!(DeactivationLimit::Percent(10).allowed(25), 2);
        assert_eq!(DeactivationLimit::Percent(10).allowed(9), 0);
        assert_eq!(DeactivationLimit::Percent(100).allowed(7), 7);
        assert_eq!(DeactivationLimit::Percent(250).allowed(4), 10);
        assert_eq!(DeactivationLimit::Absolute(3).allowed(0), 3);
    }

    #[test]
    fn limits_parse_and_display() {
        assert_eq!("25".parse(), Ok(DeactivationLimit::Absolute(25)));
        assert_eq!(" 10% ".parse(), Ok(DeactivationLimit::Percent(10)));
        assert_eq!(DeactivationLimit::Percent(10).to_string(), "10%");
        assert!("ten".parse::<DeactivationLimit>().is_err());
        assert!("-1".parse::<DeactivationLimit>().is_err());
        assert!("1.5%".parse::<DeactivationLimit>().is_err());
        assert_eq!(
            "x%".parse::<DeactivationLimit>().unwrap_err().to_string(),
            "invalid deactivation limit \"x%\": expected a whole number like `25` or a percentage like `10%`"
        );
    }
}
