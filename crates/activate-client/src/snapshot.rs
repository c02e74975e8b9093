//! A complete organization snapshot: users, groups with members, and the SSH keys of
//! the users who will be active, read in one call.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use foldhash::HashSet;
use futures::{StreamExt as _, TryStreamExt as _};

use crate::client::ActivateClient;
use crate::error::{ActivateError, SnapshotError, SnapshotPart};
use crate::keys::SshKeySource;
use crate::model::{Group, GroupInfo, UnusableUser, User};

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

/// A read of one organization. The listings are complete (a listing that could not
/// be read entirely is a [`SnapshotError`], never a partial value); single user
/// records that cannot be used are set aside in [`OrgSnapshot::unusable_users`].
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
    /// Users listed whose record cannot be used: it does not decode, its id or
    /// username is empty, or its SSH keys could not be read. They are not in
    /// [`OrgSnapshot::users`]; nothing should be written for them.
    pub unusable_users: Vec<UnusableUser>,
    /// User ids listed as group members that are not organization users. They stay in
    /// [`Group::member_ids`]; consumers ignore ids they do not know.
    pub members_not_in_org: BTreeSet<String>,
    /// Requests made.
    pub stats: RequestStats,
}

impl OrgSnapshot {
    /// Whether every listed user can be told apart from a user who left: no unusable
    /// entry lacks an id. An incomplete snapshot must not take access away from
    /// anyone.
    pub fn is_complete(&self) -> bool {
        self.unusable_users.iter().all(|u| u.id.is_some())
    }

    /// Whether `user` is in scope: always without group scope, otherwise when the
    /// user is a member of a group in scope.
    pub fn in_scope(&self, user: &User) -> bool {
        self.scope.groups.is_none()
            || self.groups.iter().any(|g| {
                g.member_ids
                    .binary_search_by(|id| (**id).cmp(user.id.as_str()))
                    .is_ok()
            })
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

/// Whether `failed` of `total` per-user reads (key lookups, user entries that do
/// not decode) is a systematic failure rather than a problem of single users: more
/// than `max(5, 10%)` of them, or all of at least 2.
///
/// ```
/// use activate_client::snapshot::is_systematic;
///
/// assert!(!is_systematic(1, 1)); // one user in all: held
/// assert!(is_systematic(2, 2)); // every lookup failed
/// assert!(!is_systematic(5, 20) && is_systematic(6, 20)); // at most 5 …
/// assert!(!is_systematic(100, 1000) && is_systematic(101, 1000)); // … or 10%
/// ```
pub fn is_systematic(failed: u64, total: u64) -> bool {
    failed > per_user_limit(total) || (total >= 2 && failed == total)
}

/// The most per-user failures of `total` reads that hold only those users, unless
/// they are all of them: `max(5, 10%)`.
fn per_user_limit(total: u64) -> u64 {
    (total / 10).max(5)
}

/// Whether a key lookup's failure is about the whole source rather than one user:
/// the credential was refused, or the `pw` program cannot be started.
fn fails_everyone(error: &ActivateError) -> bool {
    error.is_auth() || matches!(error, ActivateError::KeysCommandSpawn { .. })
}

/// What a source read before the keys.
pub(crate) struct Parts {
    pub(crate) org: String,
    pub(crate) users: Vec<User>,
    pub(crate) unusable: Vec<UnusableUser>,
    pub(crate) groups: Vec<Group>,
    pub(crate) unknown_groups: BTreeSet<String>,
    pub(crate) stats: RequestStats,
}

/// Makes `id` share the text of an equal id in `seen`, or adds it there.
fn share(seen: &mut HashSet<Arc<str>>, id: &mut Arc<str>) {
    match seen.get(id) {
        Some(held) => *id = Arc::clone(held),
        None => {
            seen.insert(Arc::clone(id));
        }
    }
}

/// Puts the pieces together: member ids sorted, keys fetched for the users who will
/// be active, and the bookkeeping fields. Also returns the number of key lookups.
///
/// A user whose keys cannot be read (404, 5xx after retries, a body that is not a
/// key listing, a failed `pw` run) becomes an [`UnusableUser`]. An authentication
/// failure, a `pw` program that cannot be started, or failures of so many users
/// that [`is_systematic`] says so, fail the snapshot.
pub(crate) async fn assemble<K: SshKeySource>(
    parts: Parts,
    scope: &Scope,
    keys: &K,
    concurrency: usize,
) -> Result<(OrgSnapshot, u64), SnapshotError> {
    let Parts {
        org,
        mut users,
        mut unusable,
        mut groups,
        unknown_groups,
        stats,
    } = parts;
    for unknown in &unknown_groups {
        tracing::warn!(group = %unknown, "scope names a group that does not exist");
    }
    users.sort_by(|a, b| a.id.cmp(&b.id));
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let mut member_ids = HashSet::default();
    for group in &mut groups {
        group.member_ids.sort();
        group.member_ids.dedup();
        for id in &mut group.member_ids {
            share(&mut member_ids, id);
        }
    }
    drop(member_ids);
    let user_ids: HashSet<&str> = users
        .iter()
        .map(|u| u.id.as_str())
        .chain(unusable.iter().filter_map(|u| u.id.as_deref()))
        .collect();
    let members_not_in_org: BTreeSet<String> = groups
        .iter()
        .flat_map(|g| g.member_ids.iter())
        .filter(|id| !user_ids.contains(&***id))
        .map(|id| String::from(&**id))
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
        unusable_users: Vec::new(),
        members_not_in_org,
        stats,
    };
    let wanted: Vec<(usize, String)> = users
        .iter()
        .enumerate()
        .filter(|(_, u)| snapshot.will_be_active(u))
        .map(|(i, u)| (i, u.username.clone()))
        .collect();
    let lookups = wanted.len() as u64;
    let failed = fetch_keys(&mut users, wanted, keys, concurrency).await?;
    let mut held: BTreeSet<usize> = BTreeSet::new();
    for (index, error) in failed {
        let user = &users[index];
        let reason = format!(
            "its SSH keys cannot be read: {}",
            http_policy::chain::render(&error)
        );
        tracing::warn!(
            id = %user.id,
            username = %user.username,
            reason = %reason,
            "an ACTIVATE user cannot be used; nothing is written for it"
        );
        unusable.push(UnusableUser {
            id: Some(user.id.clone()),
            username: Some(user.username.clone()),
            reason,
        });
        held.insert(index);
    }
    if !held.is_empty() {
        let mut index = 0;
        users.retain(|_| {
            index += 1;
            !held.contains(&(index - 1))
        });
    }
    snapshot.users = users;
    snapshot.unusable_users = unusable;
    Ok((snapshot, lookups))
}

/// A key lookup per `(index, username)`, `concurrency` at a time, each user's keys
/// set on `users[index]` as its answer arrives (the answers are never collected).
/// Returns the lookups that failed for their user alone, sorted by index. Fails on
/// a failure that [`fails_everyone`], and when the per-user failures are
/// [`is_systematic`] (early, once they exceed `max(5, 10%)`).
async fn fetch_keys<K: SshKeySource>(
    users: &mut [User],
    wanted: Vec<(usize, String)>,
    keys: &K,
    concurrency: usize,
) -> Result<Vec<(usize, ActivateError)>, SnapshotError> {
    let lookups = wanted.len() as u64;
    let failed = AtomicU64::new(0);
    let mut answers = futures::stream::iter(wanted)
        .map(|(index, username)| {
            let failed = &failed;
            async move {
                match keys.ssh_keys(&username).await {
                    Ok(k) => Ok((index, Ok(k))),
                    Err(e) if fails_everyone(&e) => {
                        Err(SnapshotError::new(SnapshotPart::Keys { username }, e))
                    }
                    Err(e) => {
                        let so_far = failed.fetch_add(1, Ordering::Relaxed) + 1;
                        // Stop early once the failures are too many whatever
                        // the rest brings.
                        if so_far > per_user_limit(lookups) {
                            Err(key_lookups(so_far, lookups, username, e))
                        } else {
                            Ok((index, Err(e)))
                        }
                    }
                }
            }
        })
        .buffer_unordered(concurrency);
    let mut failures: Vec<(usize, ActivateError)> = Vec::new();
    while let Some((index, answer)) = answers.try_next().await? {
        match answer {
            Ok(user_keys) => users[index].ssh_keys = Some(user_keys),
            Err(error) => failures.push((index, error)),
        }
    }
    drop(answers);
    failures.sort_by_key(|(index, _)| *index);
    let failed = failed.into_inner();
    if is_systematic(failed, lookups) {
        let (index, error) = failures.swap_remove(0);
        return Err(key_lookups(
            failed,
            lookups,
            users[index].username.clone(),
            error,
        ));
    }
    Ok(failures)
}

fn key_lookups(
    failed: u64,
    lookups: u64,
    username: String,
    source: ActivateError,
) -> SnapshotError {
    SnapshotError::new(
        SnapshotPart::AllKeys,
        ActivateError::KeyLookups {
            failed,
            lookups,
            username,
            source: Box::new(source),
        },
    )
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
        let org = if let Some(org) = &self.settings().org {
            org.clone()
        } else {
            stats.whoami += 1;
            self.whoami_organization()
                .await
                .map_err(|e| SnapshotError::new(SnapshotPart::OrgName, e))?
        };
        let concurrency = self.settings().concurrency;
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
                                member_ids: members.into_iter().map(|m| m.id.into()).collect(),
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
        let ((listing, pages), (groups, unknown_groups)) = futures::try_join!(users, groups)?;
        stats.user_pages += pages;
        stats.group_lists += 1;
        stats.member_lists += u32::try_from(groups.len()).unwrap_or(u32::MAX);
        let parts = Parts {
            org,
            users: listing.users,
            unusable: listing.unusable,
            groups,
            unknown_groups,
            stats,
        };
        let (mut snapshot, lookups) = assemble(parts, scope, keys, concurrency).await?;
        snapshot.stats.key_lookups = u32::try_from(lookups).unwrap_or(u32::MAX);
        Ok(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_in_several_groups_is_held_once() {
        let mut seen = HashSet::default();
        let mut in_first: Arc<str> = Arc::from("65a1f3c2e4b0a1b2c3d4e5f6");
        let mut in_second: Arc<str> = Arc::from(String::from("65a1f3c2e4b0a1b2c3d4e5f6"));
        let mut other: Arc<str> = Arc::from("65a1f3c2e4b0a1b2c3d4e5f7");
        assert!(!Arc::ptr_eq(&in_first, &in_second));
        share(&mut seen, &mut in_first);
        share(&mut seen, &mut in_second);
        share(&mut seen, &mut other);
        assert!(Arc::ptr_eq(&in_first, &in_second));
        assert_eq!(&*in_second, "65a1f3c2e4b0a1b2c3d4e5f6");
        assert!(!Arc::ptr_eq(&in_first, &other));
        assert_eq!(seen.len(), 2);
    }
}
