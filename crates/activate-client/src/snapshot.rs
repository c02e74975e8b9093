//! A complete organization snapshot: users, groups with members, and the SSH keys of
//! the users who will be active, read in one call.

use std::collections::{BTreeMap, BTreeSet};

use futures::{StreamExt as _, TryStreamExt as _};

use crate::client::ActivateClient;
use crate::error::{ActivateError, SnapshotError, SnapshotPart};
use crate::keys::SshKeySource;
use crate::model::{Group, GroupInfo, User};

/// Which part of the organization is synchronised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every user and every group. `Some(names)`: only these groups (matched
    /// by exact name) and their members.
    pub groups: Option<BTreeSet<String>>,
}

impl Scope {
    /// Every user and group.
    pub fn all() -> Self {
        Self { groups: None }
    }

    /// Only the named groups and their members.
    pub fn groups<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            groups: Some(names.into_iter().map(Into::into).collect()),
        }
    }

    fn includes_group(&self, name: &str) -> bool {
        self.groups
            .as_ref()
            .is_none_or(|names| names.contains(name))
    }
}

/// Requests made to read a snapshot, by kind. Retries of a request are not counted
/// (each one is logged).
///
/// For the REST source, a snapshot of `U` users and `G` groups in scope, of which `A`
/// users will be active, costs `max(1, ceil(U / page_size))` user pages, plus 1 group
/// list, plus `G` member lists, plus `A` key lookups, plus 1 `whoami` when the
/// organization name is not configured.
///
/// For the SCIM source, it costs `ceil(U / page_size)` user pages plus
/// `ceil(G_all / page_size)` group pages (every group of the organization), each
/// listing one page more when its last page is full (`scim-client` confirms the end),
/// plus 1 `whoami` when the organization name is not configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// `GET /api/auth/whoami/organization`.
    pub whoami: u32,
    /// Pages of `GET /api/organizations/{org}/users`.
    pub user_pages: u32,
    /// `GET /api/organizations/{org}/groups`.
    pub group_lists: u32,
    /// `GET /api/organizations/{org}/groups/{group}/members`.
    pub member_lists: u32,
    /// SSH key lookups (REST calls or `pw` runs).
    pub key_lookups: u32,
    /// Pages of ACTIVATE's SCIM `/Users`.
    pub scim_user_pages: u32,
    /// Pages of ACTIVATE's SCIM `/Groups`.
    pub scim_group_pages: u32,
}

impl RequestStats {
    /// All requests.
    pub fn total(&self) -> u32 {
        self.whoami
            + self.user_pages
            + self.group_lists
            + self.member_lists
            + self.key_lookups
            + self.scim_user_pages
            + self.scim_group_pages
    }
}

/// A complete read of one organization. Every field is complete: a snapshot that
/// could not be read entirely is a [`SnapshotError`], never a partial value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSnapshot {
    /// The organization name.
    pub org: String,
    /// The scope the snapshot was read for.
    pub scope: Scope,
    /// Every organization user, sorted by id. [`User::ssh_keys`] is `Some` exactly for
    /// the users who will be active in scope (see [`OrgSnapshot::will_be_active`]).
    pub users: Vec<User>,
    /// The groups in scope, sorted by name, each with its complete member list.
    pub groups: Vec<Group>,
    /// Scope names that match no group.
    pub unknown_groups: BTreeSet<String>,
    /// User ids listed as group members that are not organization users. They stay in
    /// [`Group::member_ids`]; consumers ignore ids they do not know.
    pub members_not_in_org: BTreeSet<String>,
    /// Requests made.
    pub stats: RequestStats,
}

impl OrgSnapshot {
    /// Whether `user` is in scope: always without group scope, otherwise when the
    /// user is a member of a group in scope.
    pub fn in_scope(&self, user: &User) -> bool {
        self.scope.groups.is_none()
            || self
                .groups
                .iter()
                .any(|g| g.member_ids.binary_search(&user.id).is_ok())
    }

    /// Whether `user` will be active in the target: enabled in ACTIVATE (`active`,
    /// license not `inactive`) and in scope.
    pub fn will_be_active(&self, user: &User) -> bool {
        user.is_enabled() && self.in_scope(user)
    }
}

/// The groups a scope selects from a group list.
pub(crate) struct Selection {
    /// `(id, name, announced member count)` of each selected group, by name.
    pub(crate) groups: Vec<(String, String, Option<u64>)>,
    /// Scope names that match no group.
    pub(crate) unknown: BTreeSet<String>,
}

/// The groups of `listed` that `scope` selects, validated, with the scope names that
/// match nothing.
pub(crate) fn select_groups(
    listed: Vec<GroupInfo>,
    scope: &Scope,
    request: &str,
) -> Result<Selection, ActivateError> {
    let mut selected: BTreeMap<String, (String, Option<u64>)> = BTreeMap::new();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for group in listed {
        let Some(name) = group.name else {
            if scope.groups.is_none() {
                return Err(ActivateError::InvalidEntry {
                    request: request.to_owned(),
                    problem: format!(
                        "group {} has no name, so its members cannot be read",
                        group
                            .id
                            .as_deref()
                            .map_or("(no id)".to_owned(), |id| format!("{id:?}"))
                    ),
                });
            }
            continue;
        };
        if !scope.includes_group(&name) {
            continue;
        }
        let Some(id) = group.id else {
            return Err(ActivateError::InvalidEntry {
                request: request.to_owned(),
                problem: format!("group {name:?} has no id"),
            });
        };
        if !ids.insert(id.clone()) {
            return Err(ActivateError::InvalidEntry {
                request: request.to_owned(),
                problem: format!("the group id {id:?} appears twice"),
            });
        }
        if selected
            .insert(name.clone(), (id, group.member_count))
            .is_some()
        {
            return Err(ActivateError::InvalidEntry {
                request: request.to_owned(),
                problem: format!("the group name {name:?} appears twice"),
            });
        }
    }
    let unknown = scope
        .groups
        .iter()
        .flatten()
        .filter(|name| !selected.contains_key(*name))
        .cloned()
        .collect();
    Ok(Selection {
        groups: selected
            .into_iter()
            .map(|(name, (id, count))| (id, name, count))
            .collect(),
        unknown,
    })
}

/// What a source read before the keys.
pub(crate) struct Parts {
    pub(crate) org: String,
    pub(crate) users: Vec<User>,
    pub(crate) groups: Vec<Group>,
    pub(crate) unknown_groups: BTreeSet<String>,
    pub(crate) stats: RequestStats,
}

/// Puts the pieces together: member ids sorted, keys fetched for the users who will
/// be active, and the bookkeeping fields.
pub(crate) async fn assemble<K: SshKeySource>(
    parts: Parts,
    scope: &Scope,
    keys: &K,
    concurrency: usize,
) -> Result<OrgSnapshot, SnapshotError> {
    let Parts {
        org,
        mut users,
        mut groups,
        unknown_groups,
        stats,
    } = parts;
    for unknown in &unknown_groups {
        tracing::warn!(group = %unknown, "scope names a group that does not exist");
    }
    users.sort_by(|a, b| a.id.cmp(&b.id));
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    for group in &mut groups {
        group.member_ids.sort();
        group.member_ids.dedup();
    }
    let user_ids: BTreeSet<&str> = users.iter().map(|u| u.id.as_str()).collect();
    let members_not_in_org: BTreeSet<String> = groups
        .iter()
        .flat_map(|g| g.member_ids.iter())
        .filter(|id| !user_ids.contains(id.as_str()))
        .cloned()
        .collect();
    if !members_not_in_org.is_empty() {
        tracing::warn!(
            count = members_not_in_org.len(),
            "group members that are not organization users are ignored"
        );
    }
    let mut snapshot = OrgSnapshot {
        org,
        scope: scope.clone(),
        users: Vec::new(),
        groups,
        unknown_groups,
        members_not_in_org,
        stats,
    };
    let wanted: Vec<(usize, String)> = users
        .iter()
        .enumerate()
        .filter(|(_, u)| snapshot.will_be_active(u))
        .map(|(i, u)| (i, u.username.clone()))
        .collect();
    let fetched: Vec<(usize, Vec<String>)> = futures::stream::iter(wanted)
        .map(|(index, username)| async move {
            keys.ssh_keys(&username)
                .await
                .map(|k| (index, k))
                .map_err(|e| SnapshotError::new(SnapshotPart::Keys { username }, e))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    for (index, user_keys) in fetched {
        users[index].ssh_keys = Some(user_keys);
    }
    snapshot.users = users;
    Ok(snapshot)
}

impl ActivateClient {
    /// Reads a complete snapshot of the organization through the REST API, SSH keys
    /// included (`GET /api/users/{username}/ssh-public-keys`).
    ///
    /// Stops at the first failure and says which part failed.
    pub async fn fetch_snapshot(&self, scope: &Scope) -> Result<OrgSnapshot, SnapshotError> {
        self.fetch_snapshot_with(scope, self).await
    }

    /// [`Self::fetch_snapshot`], with SSH keys from `keys` (e.g. [`crate::PwCliKeys`]).
    pub async fn fetch_snapshot_with<K: SshKeySource>(
        &self,
        scope: &Scope,
        keys: &K,
    ) -> Result<OrgSnapshot, SnapshotError> {
        let mut stats = RequestStats::default();
        let org = if let Some(org) = &self.config().org {
            org.clone()
        } else {
            stats.whoami += 1;
            self.whoami_organization()
                .await
                .map_err(|e| SnapshotError::new(SnapshotPart::OrgName, e))?
        };
        let concurrency = self.config().concurrency;
        let users = async {
            self.list_users_counted(&org)
                .await
                .map_err(|e| SnapshotError::new(SnapshotPart::Users, e))
        };
        let groups = async {
            let (request, listed) = self
                .list_groups_named(&org)
                .await
                .map_err(|e| SnapshotError::new(SnapshotPart::Groups, e))?;
            let Selection {
                groups: selected,
                unknown,
            } = select_groups(listed, scope, &request)
                .map_err(|e| SnapshotError::new(SnapshotPart::Groups, e))?;
            let groups: Vec<Group> = futures::stream::iter(selected)
                .map(|(id, name, announced)| {
                    let org = &org;
                    async move {
                        match self.group_members(org, &name).await {
                            // An empty member list for a group the list counts members
                            // in is an inconsistent source: reading it as "no members"
                            // would take everyone's access away.
                            Ok(members) if members.is_empty() && announced.is_some_and(|n| n > 0) => {
                                Err(SnapshotError::new(
                                    SnapshotPart::Members { group: name.clone() },
                                    ActivateError::InvalidEntry {
                                        request: format!("members of group {name:?}"),
                                        problem: format!(
                                            "the member list is empty, but the group list counts {} members",
                                            announced.unwrap_or_default()
                                        ),
                                    },
                                ))
                            }
                            Ok(members) => Ok(Group {
                                id,
                                member_ids: members.into_iter().map(|m| m.id).collect(),
                                name,
                            }),
                            Err(e) => {
                                Err(SnapshotError::new(SnapshotPart::Members { group: name }, e))
                            }
                        }
                    }
                })
                .buffer_unordered(concurrency)
                .try_collect()
                .await?;
            Ok::<_, SnapshotError>((groups, unknown))
        };
        let ((users, pages), (groups, unknown_groups)) = futures::try_join!(users, groups)?;
        stats.user_pages += pages;
        stats.group_lists += 1;
        stats.member_lists += u32::try_from(groups.len()).unwrap_or(u32::MAX);
        let parts = Parts {
            org,
            users,
            groups,
            unknown_groups,
            stats,
        };
        let mut snapshot = assemble(parts, scope, keys, concurrency).await?;
        snapshot.stats.key_lookups = u32::try_from(
            snapshot
                .users
                .iter()
                .filter(|u| u.ssh_keys.is_some())
                .count(),
        )
        .unwrap_or(u32::MAX);
        Ok(snapshot)
    }
}
