//! Projection: source snapshot + scope → desired state. Pure.
//!
//! Rules:
//! - **Scope.** [`Scope::All`]: every user and every group. [`Scope::Groups`]:
//!   the groups with those exact names and their members; a name that matches
//!   no group is a warning, not a failure. Users outside the scope end up in
//!   [`Desired::out_of_scope_users`] (their owned records get deactivated).
//! - **Active** = ACTIVATE `active` and license not [`LicenseStatus::Inactive`].
//! - **Names.** The full name is split on whitespace: the last word is the
//!   family name, the words before it the given name. One word: given name =
//!   that word, no family name. Empty name: no given or family name, and
//!   `formatted`/`displayName` fall back to the username. Runs of whitespace are
//!   collapsed to single spaces.
//! - **Email**: trimmed; empty means none.
//! - **SSH keys** (active users only): see [`crate::keys`]; invalid lines become
//!   warnings naming the user and the line number. A listing with lines but not one
//!   valid key holds the user (most likely a page or a message was answered for
//!   the listing; reading it as "no keys" would remove every key).
//! - **Conflicts.** An empty username, or usernames equal after case folding,
//!   hold the users involved: nothing is written for them.
//! - **Unusable records** ([`SourceSnapshot::unusable_users`]): one with an id
//!   is held like a conflict when it is in scope (without group scope, always;
//!   with it, when a selected group lists the id) and is out of scope otherwise.
//!   One without a usable id cannot be told apart from a user who left, so the
//!   snapshot counts as incomplete ([`SourceFacts::complete`] is `false`).
//! - **Usernames** are synced as ACTIVATE has them. An active user's username
//!   that is not a portable POSIX login name (only letters, digits, `.`, `_`
//!   and `-`, not starting with `-`, at most 32 characters: POSIX's portable
//!   user name, with the Linux length limit) is a warning.
//! - **Group members** = the group's users that are desired, not held, and active.

use std::borrow::Cow;
use std::collections::BTreeMap;

use foldhash::HashSet;
use hashbrown::hash_map::{Entry, HashMap};

use crate::desired::{Desired, DesiredGroup, DesiredStatus, DesiredUser, SourceFacts};
use crate::handles::IdTable;
use crate::ids::{SourceGroupId, SourceUserId, fold};
use crate::keys::parse_source_keys;
use crate::notes::{Conflict, UserLabel, Warning};
use crate::source::{LicenseStatus, Scope, SourceGroup, SourceSnapshot, SourceUser};

/// Projects a snapshot through a scope into the desired state.
pub fn project(snapshot: &SourceSnapshot, scope: &Scope) -> Desired {
    let mut warnings = Vec::new();
    let source = Deduplicated::new(snapshot, &mut warnings);
    let selection = source.select(scope, &mut warnings);
    let in_scope: Vec<(u32, &SourceUser)> = source
        .users
        .iter()
        .enumerate()
        .filter(|&(position, _)| selection.in_scope[position])
        .map(|(position, &user)| (position_u32(position), user))
        .collect();
    let (mut held_users, mut conflicts) = find_conflicts(&in_scope);
    let mut unusable_out_of_scope = Vec::new();
    for unusable in &snapshot.unusable_users {
        if let Some(id) = &unusable.id {
            let in_scope = match scope {
                Scope::All => true,
                Scope::Groups(_) => selection.listed_unusable.contains(id.as_str()),
            };
            if !in_scope {
                unusable_out_of_scope.push(id.clone());
                continue;
            }
            held_users.insert(id.clone(), unusable.username.clone().unwrap_or_default());
        }
        conflicts.push(Conflict::UnusableUser {
            user: unusable.id.clone(),
            user_name: unusable.username.clone(),
            reason: unusable.reason.clone(),
        });
    }
    let complete = snapshot.complete && snapshot.unusable_users.iter().all(|u| u.id.is_some());

    // Each desired user with its position among the source users.
    let mut users: Vec<(u32, DesiredUser)> = Vec::with_capacity(in_scope.len());
    for &(position, user) in &in_scope {
        if held_users.contains_key(&user.id) {
            continue;
        }
        match desire_user(user, &mut warnings) {
            Ok(desired) => users.push((position, desired)),
            Err(reason) => {
                held_users.insert(user.id.clone(), user.username.clone());
                conflicts.push(Conflict::UnusableUser {
                    user: Some(user.id.clone()),
                    user_name: Some(user.username.clone()),
                    reason,
                });
            }
        }
    }
    // Users in id order, the order of `Desired::users`: a group's members are
    // also kept as positions in it, so the planner never looks them up by text.
    // Ids are compared where `source.ids` holds them, side by side.
    users.sort_unstable_by(|(a, _), (b, _)| source.ids.id(*a).cmp(source.ids.id(*b)));
    let desired_groups = desire_groups(&selection.groups, &users, source.users.len());

    // Bulk-built from the sorted vector; ids are unique (see `Deduplicated`),
    // so a user's position in the map is its position in the vector.
    let user_count = users.len();
    let desired_users: BTreeMap<SourceUserId, DesiredUser> = users
        .into_iter()
        .map(|(_, user)| (user.id.clone(), user))
        .collect();
    debug_assert_eq!(desired_users.len(), user_count);
    let out_of_scope_users = source
        .users
        .iter()
        .zip(&selection.in_scope)
        .filter(|&(_, &in_scope)| !in_scope)
        .map(|(user, _)| user.id.clone())
        .chain(unusable_out_of_scope)
        .filter(|id| !held_users.contains_key(id))
        .collect();
    let out_of_scope_groups = source
        .groups
        .iter()
        .filter(|g| !desired_groups.contains_key(&g.id))
        .map(|g| g.id.clone())
        .collect();

    conflicts.sort();
    conflicts.dedup();
    warnings.sort();
    warnings.dedup();

    Desired {
        users: desired_users,
        groups: desired_groups,
        held_users,
        out_of_scope_users,
        out_of_scope_groups,
        conflicts,
        warnings,
        source: SourceFacts {
            complete,
            users: source.users.len(),
            groups: source.groups.len(),
        },
    }
}

/// The selected groups with their members: the desired users (at their
/// position in `users`, sorted by id) that are active. `users` holds each
/// desired user with its position among the `source_users` source users.
fn desire_groups(
    selected: &[(&SourceGroup, Vec<u32>)],
    users: &[(u32, DesiredUser)],
    source_users: usize,
) -> BTreeMap<SourceGroupId, DesiredGroup> {
    // Source position → position among the desired users, for active ones.
    let mut active = vec![None; source_users];
    for (position, (source_position, user)) in users.iter().enumerate() {
        if user.status.is_active() {
            active[*source_position as usize] = Some(position_u32(position));
        }
    }

    let mut desired_groups = BTreeMap::new();
    for (group, members) in selected {
        let mut positions: Vec<u32> = members
            .iter()
            .filter_map(|&member| active[member as usize])
            .collect();
        positions.sort_unstable();
        positions.dedup();
        desired_groups.insert(
            group.id.clone(),
            DesiredGroup::new(
                group.id.clone(),
                group.name.clone(),
                positions,
                |position| users[position as usize].1.id.clone(),
            ),
        );
    }
    desired_groups
}

fn position_u32(position: usize) -> u32 {
    u32::try_from(position).expect("fewer than 2^32 users")
}

/// The snapshot with duplicate ids removed (first entry wins), in order.
struct Deduplicated<'s> {
    users: Vec<&'s SourceUser>,
    /// The ids of `users`, at the same positions.
    ids: IdTable<u32>,
    groups: Vec<&'s SourceGroup>,
    /// Ids of unusable records: members, but not unknown ones.
    unusable: HashSet<&'s str>,
}

/// What a scope selects.
struct Selection<'s> {
    /// The selected groups, each with its members that are source users (as
    /// positions in [`Deduplicated::users`], in the group's order).
    groups: Vec<(&'s SourceGroup, Vec<u32>)>,
    /// Whether the source user at each position is in scope.
    in_scope: Vec<bool>,
    /// Ids of unusable records that a selected group lists.
    listed_unusable: HashSet<&'s str>,
}

impl<'s> Deduplicated<'s> {
    fn new(snapshot: &'s SourceSnapshot, warnings: &mut Vec<Warning>) -> Self {
        let mut ids = IdTable::with_capacity(snapshot.users.len());
        let mut users = Vec::with_capacity(snapshot.users.len());
        for user in &snapshot.users {
            if ids.insert(user.id.as_str()) {
                users.push(user);
            } else {
                warnings.push(Warning::DuplicateSourceUser {
                    user: user.id.clone(),
                });
            }
        }
        let mut seen = HashSet::default();
        let mut groups = Vec::with_capacity(snapshot.groups.len());
        for group in &snapshot.groups {
            if seen.insert(group.id.as_str()) {
                groups.push(group);
            } else {
                warnings.push(Warning::DuplicateSourceGroup {
                    group: group.id.clone(),
                });
            }
        }
        Self {
            users,
            ids,
            groups,
            unusable: snapshot
                .unusable_users
                .iter()
                .filter_map(|u| u.id.as_ref().map(SourceUserId::as_str))
                .collect(),
        }
    }

    /// The selected groups with their members resolved, and the in-scope users.
    fn select(&self, scope: &Scope, warnings: &mut Vec<Warning>) -> Selection<'s> {
        let selected: Vec<&SourceGroup> = match scope {
            Scope::All => self.groups.clone(),
            Scope::Groups(names) => {
                let existing: HashSet<&str> = self.groups.iter().map(|g| g.name.as_str()).collect();
                for name in names {
                    if !existing.contains(name.as_str()) {
                        warnings.push(Warning::UnknownScopeGroup { name: name.clone() });
                    }
                }
                self.groups
                    .iter()
                    .copied()
                    .filter(|g| names.contains(&g.name))
                    .collect()
            }
        };
        let mut listed_unusable = HashSet::default();
        let mut groups = Vec::with_capacity(selected.len());
        for group in selected {
            let mut members = Vec::with_capacity(group.members.len());
            for member in &group.members {
                let listed =
                    !self.unusable.is_empty() && self.unusable.contains(member.as_str()) && {
                        listed_unusable.insert(member.as_str());
                        true
                    };
                match self.ids.get(member.as_str()) {
                    Some(position) => members.push(position),
                    None if listed => {}
                    None => warnings.push(Warning::UnknownGroupMember {
                        group: group.id.clone(),
                        group_name: group.name.clone(),
                        user: member.clone(),
                    }),
                }
            }
            groups.push((group, members));
        }
        let in_scope = match scope {
            Scope::All => vec![true; self.users.len()],
            Scope::Groups(_) => {
                let mut in_scope = vec![false; self.users.len()];
                for (_, members) in &groups {
                    for &member in members {
                        in_scope[member as usize] = true;
                    }
                }
                in_scope
            }
        };
        Selection {
            groups,
            in_scope,
            listed_unusable,
        }
    }
}

/// Empty usernames, and usernames equal after case folding, hold the users.
fn find_conflicts(
    in_scope: &[(u32, &SourceUser)],
) -> (BTreeMap<SourceUserId, String>, Vec<Conflict>) {
    let mut held = BTreeMap::new();
    let mut conflicts = Vec::new();
    let mut first_by_folded: HashMap<Cow<'_, str>, &SourceUser, foldhash::fast::RandomState> =
        HashMap::with_capacity_and_hasher(in_scope.len(), foldhash::fast::RandomState::default());
    // Only the folded names that more than one user has, with all of them.
    let mut collisions: BTreeMap<String, Vec<&SourceUser>> = BTreeMap::new();
    for &(_, user) in in_scope {
        if user.username.trim().is_empty() {
            conflicts.push(Conflict::UnusableUser {
                user: Some(user.id.clone()),
                user_name: None,
                reason: "the username is empty".to_owned(),
            });
            held.insert(user.id.clone(), user.username.clone());
        } else {
            match first_by_folded.entry(fold(&user.username)) {
                Entry::Vacant(slot) => {
                    slot.insert(user);
                }
                Entry::Occupied(slot) => collisions
                    .entry(slot.key().clone().into_owned())
                    .or_insert_with(|| vec![*slot.get()])
                    .push(user),
            }
        }
    }
    for (folded, same) in collisions {
        let mut users: Vec<UserLabel> = same.iter().map(|u| label(u)).collect();
        users.sort();
        for user in same {
            held.insert(user.id.clone(), user.username.clone());
        }
        conflicts.push(Conflict::UserNameCaseCollision { folded, users });
    }
    (held, conflicts)
}

fn label(user: &SourceUser) -> UserLabel {
    UserLabel {
        id: user.id.clone(),
        user_name: user.username.clone(),
    }
}

/// The user as the target should hold it, or why it cannot be used: an active
/// user whose key listing holds lines but not one public key (a page or a message
/// answered for the listing, most likely) would otherwise lose every key.
fn desire_user(user: &SourceUser, warnings: &mut Vec<Warning>) -> Result<DesiredUser, String> {
    let status = if !user.active {
        DesiredStatus::Inactive
    } else if user.license == LicenseStatus::Inactive {
        DesiredStatus::Unlicensed
    } else {
        DesiredStatus::Active
    };
    if status.is_active()
        && let Some(reason) = non_posix_reason(&user.username)
    {
        warnings.push(Warning::NonPosixUserName {
            user: label(user),
            reason,
        });
    }
    let email = Some(user.email.trim())
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    let ssh_keys = match (&user.ssh_keys, status.is_active()) {
        (Some(entries), true) => {
            let (keys, rejected) = parse_source_keys(entries);
            if keys.is_empty()
                && let Some(first) = rejected.first()
            {
                return Err(format!(
                    "none of its {} SSH key lines is a public key (line {}: {}), so its keys are left as they are",
                    rejected.len(),
                    first.line,
                    first.reason
                ));
            }
            for rejected in rejected {
                warnings.push(Warning::InvalidSshKey {
                    user: label(user),
                    line: rejected.line,
                    reason: rejected.reason,
                });
            }
            Some(keys)
        }
        _ => None,
    };
    Ok(DesiredUser {
        id: user.id.clone(),
        user_name: user.username.clone(),
        full_name: collapse_whitespace(&user.name),
        email,
        status,
        ssh_keys,
    })
}

/// The longest login name the Linux tools accept (`useradd`, `utmp`).
const POSIX_NAME_MAX: usize = 32;

/// Why `name` is not a portable POSIX login name, or `None` if it is one: only
/// characters of the portable filename character set (`A-Z a-z 0-9 . _ -`), not
/// starting with `-`, at most [`POSIX_NAME_MAX`] characters.
fn non_posix_reason(name: &str) -> Option<String> {
    let mut problems = Vec::new();
    let mut odd: Vec<char> = name
        .chars()
        .filter(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .collect();
    odd.sort_unstable();
    odd.dedup();
    if !odd.is_empty() {
        let shown: Vec<String> = odd.iter().take(5).map(|c| format!("{c:?}")).collect();
        let more = if odd.len() > 5 { ", …" } else { "" };
        problems.push(format!(
            "holds {}{more}, not only letters, digits, '.', '_' and '-'",
            shown.join(", ")
        ));
    }
    if name.starts_with('-') {
        problems.push("starts with '-'".to_owned());
    }
    let length = name.chars().count();
    if length > POSIX_NAME_MAX {
        problems.push(format!("{length} characters, more than {POSIX_NAME_MAX}"));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// `text` with runs of whitespace collapsed to one space, trimmed.
fn collapse_whitespace(text: &str) -> String {
    let mut collapsed = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !collapsed.is_empty() {
            collapsed.push(' ');
        }
        collapsed.push_str(word);
    }
    collapsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, username: &str) -> SourceUser {
        SourceUser {
            id: SourceUserId::new(id),
            username: username.to_owned(),
            name: String::new(),
            email: String::new(),
            active: true,
            license: LicenseStatus::Active,
            ssh_keys: Some(Vec::new()),
        }
    }

    #[test]
    fn name_split_rule() {
        let parts = |name: &str| {
            let mut source = user("1", "cher1");
            source.name = name.to_owned();
            let desired = desire_user(&source, &mut Vec::new()).unwrap();
            (
                desired.given_name().map(str::to_owned),
                desired.family_name().map(str::to_owned),
                desired.formatted_name().to_owned(),
            )
        };
        assert_eq!(parts(""), (None, None, "cher1".into()));
        assert_eq!(parts("  "), (None, None, "cher1".into()));
        assert_eq!(parts("Cher"), (Some("Cher".into()), None, "Cher".into()));
        assert_eq!(
            parts(" Anna  Maria\tvan Berg "),
            (
                Some("Anna Maria van".into()),
                Some("Berg".into()),
                "Anna Maria van Berg".into()
            )
        );
    }

    #[test]
    fn active_requires_active_account_and_license() {
        let mut snapshot = SourceSnapshot {
            complete: true,
            ..SourceSnapshot::default()
        };
        for (i, (active, license)) in [
            (true, LicenseStatus::Active),
            (true, LicenseStatus::Complimentary),
            (true, LicenseStatus::Unknown),
            (true, LicenseStatus::Inactive),
            (false, LicenseStatus::Active),
        ]
        .into_iter()
        .enumerate()
        {
            let mut u = user(&i.to_string(), &format!("u{i}"));
            u.active = active;
            u.license = license;
            snapshot.users.push(u);
        }
        let desired = project(&snapshot, &Scope::All);
        let statuses: Vec<DesiredStatus> = desired.users.values().map(|u| u.status).collect();
        assert_eq!(
            statuses,
            vec![
                DesiredStatus::Active,
                DesiredStatus::Active,
                DesiredStatus::Active,
                DesiredStatus::Unlicensed,
                DesiredStatus::Inactive
            ]
        );
        assert_eq!(desired.users[&SourceUserId::new("4")].ssh_keys, None);
    }

    #[test]
    fn empty_name_falls_back_to_username() {
        let snapshot = SourceSnapshot {
            users: vec![user("1", "alice")],
            groups: vec![],
            complete: true,
            unusable_users: Vec::new(),
        };
        let desired = project(&snapshot, &Scope::All);
        let alice = &desired.users[&SourceUserId::new("1")];
        assert_eq!(alice.formatted_name(), "alice");
        assert_eq!(alice.given_name(), None);
        assert_eq!(alice.family_name(), None);
        assert_eq!(alice.email, None);
    }

    #[test]
    fn scope_selects_groups_and_their_members_and_warns_on_unknown_names() {
        let snapshot = SourceSnapshot {
            users: vec![user("1", "a"), user("2", "b"), user("3", "c")],
            groups: vec![
                SourceGroup {
                    id: "g1".into(),
                    name: "gpu".into(),
                    members: vec!["1".into(), "9".into()],
                },
                SourceGroup {
                    id: "g2".into(),
                    name: "cpu".into(),
                    members: vec!["2".into()],
                },
            ],
            complete: true,
            unusable_users: Vec::new(),
        };
        let scope = Scope::Groups(["gpu".to_owned(), "nope".to_owned()].into());
        let desired = project(&snapshot, &scope);
        assert_eq!(
            desired
                .users
                .keys()
                .map(SourceUserId::as_str)
                .collect::<Vec<_>>(),
            vec!["1"]
        );
        assert_eq!(desired.groups.len(), 1);
        assert_eq!(
            desired.out_of_scope_users,
            ["2".into(), "3".into()].into_iter().collect()
        );
        assert_eq!(
            desired.warnings,
            vec![
                Warning::UnknownScopeGroup {
                    name: "nope".into()
                },
                Warning::UnknownGroupMember {
                    group: "g1".into(),
                    group_name: "gpu".into(),
                    user: "9".into()
                },
            ]
        );
    }

    #[test]
    fn case_collisions_and_empty_usernames_are_held() {
        let snapshot = SourceSnapshot {
            users: vec![
                user("1", "Bob"),
                user("2", "bob"),
                user("3", " "),
                user("4", "carol"),
            ],
            groups: vec![SourceGroup {
                id: "g".into(),
                name: "all".into(),
                members: vec!["1".into(), "2".into(), "4".into()],
            }],
            complete: true,
            unusable_users: Vec::new(),
        };
        let desired = project(&snapshot, &Scope::All);
        assert_eq!(desired.users.len(), 1);
        assert_eq!(desired.held_users.len(), 3);
        assert_eq!(desired.conflicts.len(), 2);
        assert_eq!(
            desired.groups["g"].members,
            ["4".into()].into_iter().collect()
        );
    }

    #[test]
    fn duplicate_user_ids_keep_the_first_entry() {
        let mut second = user("1", "other");
        second.name = "Second".into();
        let snapshot = SourceSnapshot {
            users: vec![user("1", "first"), second],
            groups: vec![],
            complete: true,
            unusable_users: Vec::new(),
        };
        let desired = project(&snapshot, &Scope::All);
        assert_eq!(desired.users[&SourceUserId::new("1")].user_name, "first");
        assert_eq!(desired.source.users, 1);
        assert_eq!(
            desired.warnings,
            vec![Warning::DuplicateSourceUser { user: "1".into() }]
        );
    }

    #[test]
    fn member_positions_name_the_same_users_as_the_member_ids() {
        let mut inactive = user("20", "inactive");
        inactive.active = false;
        let snapshot = SourceSnapshot {
            // Ids out of order, a held pair (case collision), an inactive user,
            // a member listed twice and one that does not exist.
            users: vec![
                user("9", "nine"),
                user("30", "Bob"),
                user("1", "one"),
                inactive,
                user("31", "bob"),
                user("100", "hundred"),
            ],
            groups: vec![
                SourceGroup {
                    id: "g".into(),
                    name: "all".into(),
                    members: ["100", "9", "30", "20", "9", "1", "31", "404"]
                        .map(SourceUserId::from)
                        .to_vec(),
                },
                SourceGroup {
                    id: "h".into(),
                    name: "none".into(),
                    members: Vec::new(),
                },
            ],
            complete: true,
            unusable_users: Vec::new(),
        };
        let desired = project(&snapshot, &Scope::All);
        let ids: Vec<&SourceUserId> = desired.users().keys().collect();
        for group in desired.groups().values() {
            let by_position: Vec<&SourceUserId> = group
                .member_positions()
                .iter()
                .map(|&p| ids[p as usize])
                .collect();
            assert_eq!(by_position, group.members.iter().collect::<Vec<_>>());
        }
        assert_eq!(
            desired.groups()["g"]
                .members
                .iter()
                .map(SourceUserId::as_str)
                .collect::<Vec<_>>(),
            vec!["1", "100", "9"]
        );
        assert!(desired.groups()["h"].member_positions().is_empty());
    }

    #[test]
    fn with_group_scope_an_unusable_record_is_held_when_a_selected_group_lists_it() {
        let unusable = |id: &str| crate::source::UnusableUser {
            id: Some(id.into()),
            username: Some(format!("user{id}")),
            reason: "its keys cannot be read".into(),
        };
        let snapshot = SourceSnapshot {
            users: vec![user("1", "a"), user("2", "b")],
            groups: vec![
                SourceGroup {
                    id: "g1".into(),
                    name: "gpu".into(),
                    members: ["1", "7", "404"].map(SourceUserId::from).to_vec(),
                },
                SourceGroup {
                    id: "g2".into(),
                    name: "cpu".into(),
                    members: ["2", "8"].map(SourceUserId::from).to_vec(),
                },
            ],
            complete: true,
            unusable_users: vec![unusable("7"), unusable("8")],
        };
        let desired = project(&snapshot, &Scope::Groups(["gpu".to_owned()].into()));
        assert_eq!(
            desired.held_users,
            [("7".into(), "user7".to_owned())].into_iter().collect()
        );
        assert_eq!(
            desired.out_of_scope_users,
            ["2".into(), "8".into()].into_iter().collect()
        );
        assert_eq!(
            desired.conflicts,
            vec![Conflict::UnusableUser {
                user: Some("7".into()),
                user_name: Some("user7".into()),
                reason: "its keys cannot be read".into(),
            }]
        );
        // The unusable member is known; only the id nobody has is warned about.
        assert_eq!(
            desired.warnings,
            vec![Warning::UnknownGroupMember {
                group: "g1".into(),
                group_name: "gpu".into(),
                user: "404".into()
            }]
        );
        assert_eq!(
            desired.groups()["g1"]
                .members
                .iter()
                .map(SourceUserId::as_str)
                .collect::<Vec<_>>(),
            vec!["1"]
        );
    }
}
