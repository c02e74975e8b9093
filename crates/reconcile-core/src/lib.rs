//! `reconcile-core`: the I/O-free reconcile engine of `pw-activate-scim-sync`.
//!
//! It turns what ACTIVATE says (a [`SourceSnapshot`]) and what the SCIM target
//! holds (an [`Observed`] state) into a typed, reviewable [`Plan`], checks the
//! plan against safety guards, renders it, and applies it through a
//! [`ScimTarget`] trait that the CLI implements with its SCIM client.
//!
//! ```text
//!  SourceSnapshot ──┐
//!  Scope ───────────┴─► project() ──► Desired ──┐
//!                       (scope, active,         │     plan(): state in, actions out
//!                        names, keys,           ├─► diff ──► guards ──► one sort ──► Plan
//!                        conflicts)             │   (typed    (withhold   (apply     │ to_text()
//!  Observed (owned records, ────────────────────┘   handles)  removals)   order)     │ to_json()
//!            foreign user names)                                                    ▼
//!                      ApplyReport ◄── apply(&Plan, &dyn ScimTarget, &ApplyOptions) ◄┘
//!                                      (ordered phases, bounded concurrency,
//!                                       deadline via a Clock trait)
//! ```
//!
//! # What this crate is not
//!
//! - **No I/O.** It never opens a socket, reads a file or runs a process.
//!   [`apply()`] writes only through the [`ScimTarget`] it is given.
//! - **No clock.** Planning never looks at time; the apply deadline is read
//!   from the [`Clock`] passed in [`ApplyOptions`].
//! - **No environment.** Configuration ([`Scope`], [`PlanOptions`],
//!   [`ApplyOptions`]) comes in as arguments.
//! - **No runtime.** [`apply()`] is a plain future: no tasks are spawned, so it
//!   runs under any executor. No HTTP client is in the dependency tree. The
//!   only thread it starts is [`plan()`]'s scoped thread for the group phase,
//!   joined before `plan()` returns.
//! - **No DELETE.** There is no operation that deletes a record, and no
//!   operation ever addresses a record whose `externalId` lacks the
//!   `pw-activate:` prefix ([`OWNED_PREFIX`]).
//!
//! # The model
//!
//! 1. [`project`] applies the scope and the mapping rules (see
//!    [`projection`]) and finds source-side conflicts.
//! 2. [`plan()`] is a diff, then the guards, then one sort (see
//!    [`plan`](mod@plan)). The diff compares desired with observed state record
//!    by record and yields typed operations: [`Action::CreateUser`],
//!    [`Action::UpdateUser`] (only what differs, as old → new field changes),
//!    [`Action::Deactivate`], [`Action::Reactivate`], [`Action::ReKey`],
//!    [`Action::CreateGroup`], [`Action::UpdateGroup`], [`Action::EmptyGroup`],
//!    plus [`Conflict`]s and [`Warning`]s. Same input, same plan, byte for byte.
//! 3. The [`guards`], a step of [`plan()`], withhold deactivations (and, for a
//!    broken source, all access removals) and record why in [`Plan::guards`].
//! 4. [`Plan::to_text`] and [`Plan::to_json`] render it; SSH keys appear only
//!    as SHA256 fingerprints.
//! 5. [`apply()`] runs the operations that are not withheld and returns an
//!    [`ApplyReport`]. Applying a plan and planning again yields a plan with
//!    nothing to apply: the convergence property the tests check.
//!
//! # Example
//!
//! Plan against an empty target, apply to the in-memory target, re-plan:
//!
//! ```
//! use reconcile_core::{
//!     ApplyOptions, InMemoryTarget, LicenseStatus, PlanOptions, Scope, SourceGroup,
//!     SourceSnapshot, SourceUser, apply, plan, project,
//! };
//!
//! let snapshot = SourceSnapshot {
//!     users: vec![SourceUser {
//!         id: "u1".into(),
//!         username: "alice".into(),
//!         name: "Alice Smith".into(),
//!         email: "alice@example.com".into(),
//!         active: true,
//!         license: LicenseStatus::Active,
//!         ssh_keys: Some(vec![
//!             "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti alice@laptop".into(),
//!         ]),
//!     }],
//!     groups: vec![SourceGroup {
//!         id: "g1".into(),
//!         name: "gpu-users".into(),
//!         members: vec!["u1".into()],
//!     }],
//!     complete: true,
//!     unusable_users: Vec::new(),
//! };
//! let desired = project(&snapshot, &Scope::All);
//!
//! let target = InMemoryTarget::new();
//! let options = PlanOptions {
//!     deactivation_limit: Some("10%".parse()?),
//!     override_deactivation_limit: false,
//!     ..PlanOptions::default()
//! };
//! let first = plan(&desired, &target.observed(), &options);
//! assert_eq!(first.summary().create_users, 1);
//! assert_eq!(first.summary().create_groups, 1);
//! assert!(first.to_text().ends_with(
//!     "Plan: 1 to create, 0 to update, 0 to reactivate, 0 to re-key, 0 to deactivate, \
//!      0 to revoke keys; groups: 1 to create, 0 to update, 0 to empty; 0 withheld, \
//!      0 conflicts, 0 warnings.\n"
//! ));
//!
//! let report = futures::executor::block_on(apply(&first, &target, &ApplyOptions::default()));
//! assert!(report.is_complete());
//! assert_eq!(report.created_users.len(), 1);
//!
//! let again = plan(&desired, &target.observed(), &options);
//! assert!(again.is_converged());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Testing
//!
//! Besides unit tests and `insta` snapshots of one scenario per rule, the
//! integration tests (`tests/it`) run `proptest` properties over generated
//! organizations (convergence, determinism, never touching unowned records,
//! guards, no duplicate or inactive creations) with 256 cases per property
//! (`PROPTEST_CASES` overrides it). `examples/plan_bench.rs` prints planning
//! times for 10k, 100k and 200k users.

pub mod apply;
pub mod desired;
pub mod guards;
mod handles;
pub mod ids;
pub mod keys;
pub mod memory;
pub mod notes;
pub mod observed;
pub mod plan;
pub mod projection;
pub mod render;
pub mod rules;
pub mod source;

pub use apply::{
    ApplyFailure, ApplyOptions, ApplyReport, ApplyWarning, Clock, Deadline, GroupChange,
    ManualClock, MarkWrite, NewGroupRecord, NotKeptAttribute, OmittedMember, OutcomeCounts,
    OwnershipNotKept, ScimTarget, TargetError, TargetErrorKind, Written, apply,
};
pub use desired::{Desired, DesiredGroup, DesiredStatus, DesiredUser, SourceFacts};
pub use guards::{DeactivationLimit, GuardKind, GuardStatus, InvalidLimit};
pub use ids::{ExternalId, OWNED_PREFIX, OwnedKey, ScimId, SourceGroupId, SourceUserId, fold};
pub use keys::{InvalidKey, KeySummary, SshKey};
pub use memory::{FailOn, InMemoryTarget, TargetCall, TargetGroup};
pub use notes::{Conflict, UserLabel, Warning};
pub use observed::{ForeignGroup, Observed, OwnedGroup, OwnedUser};
pub use plan::{
    Action, ActionKind, CreateGroup, CreateUser, CreatedMember, Deactivate, DeactivationReason,
    EmptyGroup, EmptyReason, ExistingMember, FieldChange, KeysChange, MemberRef, NewUserRecord,
    Operation, PLAN_FORMAT_VERSION, Plan, PlanOptions, RevokeKeys, Subject, SubjectKind, Summary,
    UpdateGroup, UserChange, UserPatch, plan,
};
pub use projection::project;
pub use rules::{NotKept, ServerRules};
pub use source::{LicenseStatus, Scope, SourceGroup, SourceSnapshot, SourceUser, UnusableUser};
