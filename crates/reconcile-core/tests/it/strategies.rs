//! proptest strategies for realistic organizations and target states.
//!
//! A [`Case`] is an organization at two points in time (`before`, synced into
//! the target first, and `after`, the one planned), plus records seeded
//! directly into the target: foreign users and groups with colliding names,
//! records from earlier key schemes, duplicate keys, and drift.

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::Index;
use reconcile_core::{
    ApplyOptions, DeactivationLimit, ExternalId, FieldChange, InMemoryTarget, LicenseStatus,
    Observed, OwnedUser, PlanOptions, ScimTarget, Scope, SourceGroup, SourceSnapshot, SourceUser,
    TargetGroup, UserChange, apply, plan, project,
};

use crate::support::key;

const NAMES: [&str; 20] = [
    "ann", "ben", "cat", "dov", "eve", "fay", "gus", "hal", "ivy", "jon", "kim", "lee", "max",
    "ned", "oli", "pam", "quin", "rob", "sue", "tom",
];
const GROUP_NAMES: [&str; 7] = ["gpu", "cpu", "tpu", "ml", "ops", "dev", "web"];

fn user_name() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => (0..NAMES.len() * 2, 0..10u8).prop_map(|(i, case)| {
            // Forty names, some of which differ from others only by case.
            let base = if i < NAMES.len() {
                NAMES[i].to_owned()
            } else {
                format!("{}{}", NAMES[i - NAMES.len()], 2)
            };
            match case {
                0 => base.to_uppercase(),
                1 => {
                    let mut name = base;
                    name[..1].make_ascii_uppercase();
                    name
                }
                _ => base,
            }
        }),
        1 => Just(String::new()),
    ]
}

fn full_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("Ann".to_owned()),
        Just("Ann Lee".to_owned()),
        Just("Mary Ann  Lee".to_owned()),
        Just(" Bo\tDiddley ".to_owned()),
        Just("José Núñez".to_owned()),
    ]
}

fn key_line() -> impl Strategy<Value = String> {
    let comment = prop_oneof![Just(""), Just("laptop"), Just("work key")];
    prop_oneof![
        8 => (1..7u8, comment.clone()).prop_map(|(seed, c)| key(seed, c)),
        1 => (1..7u8, comment).prop_map(|(seed, c)| format!("  {}\t ", key(seed, c).replace(' ', "\t"))),
        1 => Just("ssh-rsa AAAAB3NzaC1yc2E= broken".to_owned()),
        1 => Just("not a key".to_owned()),
        1 => Just("# a comment\n".to_owned()),
    ]
}

fn keys() -> impl Strategy<Value = Option<Vec<String>>> {
    prop_oneof![
        1 => Just(None),
        9 => prop::collection::vec(key_line(), 0..3).prop_map(Some),
    ]
}

fn license() -> impl Strategy<Value = LicenseStatus> {
    prop_oneof![
        6 => Just(LicenseStatus::Active),
        1 => Just(LicenseStatus::Complimentary),
        2 => Just(LicenseStatus::Inactive),
        1 => Just(LicenseStatus::Unknown),
    ]
}

/// One user's attributes.
#[derive(Debug, Clone)]
pub struct UserSpec {
    username: String,
    name: String,
    email: bool,
    active: bool,
    license: LicenseStatus,
    keys: Option<Vec<String>>,
}

fn user_spec() -> impl Strategy<Value = UserSpec> {
    (
        user_name(),
        full_name(),
        any::<bool>(),
        prop::bool::weighted(0.8),
        license(),
        keys(),
    )
        .prop_map(|(username, name, email, active, license, keys)| UserSpec {
            username,
            name,
            email,
            active,
            license,
            keys,
        })
}

/// How a user changes between `before` and `after`.
#[derive(Debug, Clone)]
pub enum Change {
    Same,
    Changed(UserSpec),
    Renamed(String),
    Removed,
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        6 => Just(Change::Same),
        2 => user_spec().prop_map(Change::Changed),
        1 => user_name().prop_map(Change::Renamed),
        1 => Just(Change::Removed),
    ]
}

/// A group: name index and member bit mask, before and after.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    name: usize,
    members: u32,
    after_name: usize,
    after_members: u32,
    removed: bool,
}

fn group_spec() -> impl Strategy<Value = GroupSpec> {
    (
        0..GROUP_NAMES.len(),
        any::<u32>(),
        prop_oneof![3 => Just(None), 1 => (0..GROUP_NAMES.len()).prop_map(Some)],
        prop_oneof![2 => Just(None), 1 => any::<u32>().prop_map(Some)],
        prop::bool::weighted(0.1),
    )
        .prop_map(|(name, members, rename, remember, removed)| GroupSpec {
            name,
            members,
            after_name: rename.unwrap_or(name),
            after_members: remember.unwrap_or(members),
            removed,
        })
}

/// A scope: `None` = all, else a mask over group names plus maybe an unknown name.
fn scope() -> impl Strategy<Value = Option<(u8, bool)>> {
    prop_oneof![3 => Just(None), 1 => (any::<u8>(), any::<bool>()).prop_map(Some)]
}

/// A record seeded directly into the target.
#[derive(Debug, Clone)]
pub enum Extra {
    /// A user we do not own (no, a foreign, or a look-alike `externalId`).
    Foreign {
        user_name: String,
        external_id: u8,
        after_sync: bool,
    },
    /// An owned record from an earlier key scheme or for a user gone from ACTIVATE.
    Legacy {
        user_name: String,
        scheme: bool,
        active: bool,
        after_sync: bool,
    },
    /// A second owned record with the `externalId` of an existing owned record.
    Duplicate {
        of: Index,
        user_name: String,
        active: bool,
    },
    /// An out-of-band change to an owned record.
    Drift { of: Index, what: u8 },
    /// A group we do not own, with some members.
    ForeignGroup { name: usize, members: Vec<Index> },
    /// An owned group whose key matches no ACTIVATE group.
    OrphanGroup { members: Vec<Index> },
}

fn extra() -> impl Strategy<Value = Extra> {
    prop_oneof![
        3 => (user_name(), 0..4u8, any::<bool>()).prop_map(|(user_name, external_id, after_sync)| {
            Extra::Foreign { user_name, external_id, after_sync }
        }),
        2 => (user_name(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
            |(user_name, scheme, active, after_sync)| Extra::Legacy { user_name, scheme, active, after_sync }
        ),
        1 => (any::<Index>(), user_name(), any::<bool>())
            .prop_map(|(of, user_name, active)| Extra::Duplicate { of, user_name, active }),
        2 => (any::<Index>(), 0..5u8).prop_map(|(of, what)| Extra::Drift { of, what }),
        1 => (0..GROUP_NAMES.len(), prop::collection::vec(any::<Index>(), 0..3))
            .prop_map(|(name, members)| Extra::ForeignGroup { name, members }),
        1 => prop::collection::vec(any::<Index>(), 0..3).prop_map(|members| Extra::OrphanGroup { members }),
    ]
}

/// One generated scenario.
#[derive(Debug, Clone)]
pub struct Case {
    pub before: SourceSnapshot,
    pub before_scope: Scope,
    pub after: SourceSnapshot,
    pub scope: Scope,
    pub extras: Vec<Extra>,
}

fn make_scope(spec: Option<(u8, bool)>, groups: &[SourceGroup]) -> Scope {
    match spec {
        None => Scope::All,
        Some((mask, unknown)) => {
            let mut names: BTreeSet<String> = groups
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << (i % 8)) != 0)
                .map(|(_, g)| g.name.clone())
                .collect();
            if unknown {
                names.insert("no-such-group".to_owned());
            }
            Scope::Groups(names)
        }
    }
}

fn source_user(index: usize, spec: &UserSpec) -> SourceUser {
    SourceUser {
        id: format!("u{index}").into(),
        username: spec.username.clone(),
        name: spec.name.clone(),
        email: if spec.email {
            format!("{}@example.com", spec.username.to_lowercase())
        } else {
            String::new()
        },
        active: spec.active,
        license: spec.license,
        ssh_keys: spec.keys.clone(),
    }
}

fn members(mask: u32, users: usize) -> Vec<reconcile_core::SourceUserId> {
    (0..users)
        .filter(|i| mask & (1 << (i % 32)) != 0)
        .map(|i| format!("u{i}").into())
        .collect()
}

/// A realistic organization at two points in time, plus seeded target records.
pub fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec((user_spec(), change()), 0..20),
        prop::collection::vec(group_spec(), 0..5),
        scope(),
        scope(),
        prop::collection::vec(extra(), 0..6),
    )
        .prop_map(|(users, groups, before_scope, after_scope, extras)| {
            let count = users.len();
            let before_users: Vec<SourceUser> = users
                .iter()
                .enumerate()
                .map(|(i, (spec, _))| source_user(i, spec))
                .collect();
            let mut after_users = Vec::new();
            for (i, (spec, change)) in users.iter().enumerate() {
                match change {
                    Change::Same => after_users.push(source_user(i, spec)),
                    Change::Changed(new) => after_users.push(source_user(i, new)),
                    Change::Renamed(name) => {
                        let mut user = source_user(i, spec);
                        user.username.clone_from(name);
                        after_users.push(user);
                    }
                    Change::Removed => {}
                }
            }
            let present: BTreeSet<String> = after_users.iter().map(|u| u.id.to_string()).collect();
            let before_groups: Vec<SourceGroup> = groups
                .iter()
                .enumerate()
                .map(|(j, g)| SourceGroup {
                    id: format!("g{j}").into(),
                    name: GROUP_NAMES[g.name].to_owned(),
                    members: members(g.members, count),
                })
                .collect();
            let after_groups: Vec<SourceGroup> = groups
                .iter()
                .enumerate()
                .filter(|(_, g)| !g.removed)
                .map(|(j, g)| SourceGroup {
                    id: format!("g{j}").into(),
                    name: GROUP_NAMES[g.after_name].to_owned(),
                    members: members(g.after_members, count)
                        .into_iter()
                        .filter(|m| present.contains(m.as_str()))
                        .collect(),
                })
                .collect();
            Case {
                before_scope: make_scope(before_scope, &before_groups),
                scope: make_scope(after_scope, &after_groups),
                before: SourceSnapshot {
                    users: before_users,
                    groups: before_groups,
                    complete: true,
                    unusable_users: Vec::new(),
                },
                after: SourceSnapshot {
                    users: after_users,
                    groups: after_groups,
                    complete: true,
                    unusable_users: Vec::new(),
                },
                extras,
            }
        })
}

/// A deactivation limit, or none.
pub fn limit() -> impl Strategy<Value = Option<DeactivationLimit>> {
    prop_oneof![
        1 => Just(None),
        2 => (0..4usize).prop_map(|n| Some(DeactivationLimit::Absolute(n))),
        2 => (0..60u32).prop_map(|p| Some(DeactivationLimit::Percent(p))),
    ]
}

/// A foreign record's `externalId` (empty: none).
fn foreign_external_id(kind: u8) -> ExternalId {
    match kind {
        1 => ExternalId::new("okta:00u42"),
        2 => ExternalId::new("PW-ACTIVATE:user:u1"),
        _ => ExternalId::new(""),
    }
}

fn seed_user(target: &InMemoryTarget, extra: &Extra) {
    let record = match extra {
        Extra::Foreign {
            user_name,
            external_id,
            ..
        } => OwnedUser {
            external_id: foreign_external_id(*external_id),
            user_name: user_name.clone(),
            active: true,
            ..OwnedUser::default()
        },
        Extra::Legacy {
            user_name,
            scheme,
            active,
            ..
        } => OwnedUser {
            external_id: ExternalId::new(if *scheme {
                format!("pw-activate:{}", user_name.to_lowercase())
            } else {
                format!("pw-activate:user:gone-{}", user_name.to_lowercase())
            }),
            user_name: user_name.clone(),
            display_name: Some("Legacy".to_owned()),
            active: *active,
            ..OwnedUser::default()
        },
        _ => return,
    };
    // A seed that would violate uniqueness is simply not made.
    let _ = target.insert_user(record);
}

/// Builds the target: seeds, syncs `before` fully, then seeds more and drifts.
pub fn prepare(case: &Case) -> InMemoryTarget {
    let target = InMemoryTarget::new();
    for extra in &case.extras {
        if matches!(
            extra,
            Extra::Foreign {
                after_sync: false,
                ..
            } | Extra::Legacy {
                after_sync: false,
                ..
            }
        ) {
            seed_user(&target, extra);
        }
    }
    let desired = project(&case.before, &case.before_scope);
    let first = plan(&desired, &target.observed(), &PlanOptions::default());
    let report = futures::executor::block_on(apply(&first, &target, &ApplyOptions::default()));
    assert!(report.is_complete(), "the initial sync failed: {report:#?}");

    for extra in &case.extras {
        let owned = owned_users(&target.observed());
        let all_users: Vec<_> = target.users().into_keys().collect();
        match extra {
            Extra::Foreign {
                after_sync: true, ..
            }
            | Extra::Legacy {
                after_sync: true, ..
            } => {
                seed_user(&target, extra);
            }
            Extra::Duplicate {
                of,
                user_name,
                active,
            } if !owned.is_empty() => {
                let (_, external_id) = &owned[of.index(owned.len())];
                let _ = target.insert_user(OwnedUser {
                    external_id: external_id.clone(),
                    user_name: user_name.clone(),
                    active: *active,
                    ..OwnedUser::default()
                });
            }
            Extra::Drift { of, what } if !owned.is_empty() => {
                let (scim_id, _) = &owned[of.index(owned.len())];
                let change = match what {
                    0 => UserChange::DisplayName(FieldChange {
                        old: None,
                        new: Some("Drifted".into()),
                    }),
                    1 => UserChange::Active(FieldChange {
                        old: true,
                        new: false,
                    }),
                    2 => UserChange::Email(FieldChange {
                        old: None,
                        new: None,
                    }),
                    3 => UserChange::GivenName(FieldChange {
                        old: None,
                        new: Some("X".into()),
                    }),
                    _ => UserChange::UserName(FieldChange {
                        old: String::new(),
                        new: format!("drift-{scim_id}"),
                    }),
                };
                let _ = futures::executor::block_on(target.patch_user(scim_id, &[change]));
            }
            Extra::ForeignGroup { name, members } => {
                let _ = target.insert_group(TargetGroup {
                    external_id: None,
                    display_name: GROUP_NAMES[*name].to_owned(),
                    members: pick(&all_users, members),
                });
            }
            Extra::OrphanGroup { members } => {
                let _ = target.insert_group(TargetGroup {
                    external_id: Some(ExternalId::new("pw-activate:group:gone")),
                    display_name: "gone".to_owned(),
                    members: pick(&all_users, members),
                });
            }
            _ => {}
        }
    }
    target
}

fn pick<T: Clone + Ord>(from: &[T], indices: &[Index]) -> BTreeSet<T> {
    if from.is_empty() {
        return BTreeSet::new();
    }
    indices
        .iter()
        .map(|i| from[i.index(from.len())].clone())
        .collect()
}

fn owned_users(observed: &Observed) -> Vec<(reconcile_core::ScimId, ExternalId)> {
    observed
        .users()
        .iter()
        .map(|u| (u.scim_id.clone(), u.external_id.clone()))
        .collect()
}
