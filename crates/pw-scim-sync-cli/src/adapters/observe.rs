//! What the SCIM target holds, as the planner needs it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use futures::{StreamExt, TryStreamExt};
use reconcile_core::{
    Desired, ForeignGroup, OWNED_PREFIX, Observed, OwnedGroup, OwnedUser, ScimId, fold,
};
use scim_client::{
    Filter, Group, ListedGroup, ListingMode, PrefixListing, ScimClient, ScimError, User,
};

/// Above this many creation candidates, one unfiltered listing is cheaper than one
/// `userName eq` lookup per candidate.
pub const MAX_NAME_LOOKUPS: usize = 50;

/// The observed state and how it was read.
#[derive(Debug)]
pub struct ObservedTarget {
    /// What the planner compares against.
    pub observed: Observed,
    /// How the owned users were selected.
    pub user_mode: ListingMode,
    /// How the owned groups were selected.
    pub group_mode: ListingMode,
    /// How the user names held by records this tool does not own were found.
    pub foreign_names: ForeignNameSource,
}

/// How [`Observed::foreign_user_names`] was filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForeignNameSource {
    /// No user is to be created, so no name can collide.
    NotNeeded,
    /// One `userName eq` lookup per user to be created.
    Lookups(usize),
    /// One listing of every user.
    FullListing,
}

/// The owned users and groups, each listing complete, converted into the planner's
/// records page by page.
#[derive(Debug)]
pub struct OwnedListings {
    users: PrefixListing<OwnedUser>,
    groups: PrefixListing<OwnedGroup>,
}

impl OwnedListings {
    /// The two listings, as one.
    pub fn new(users: PrefixListing<OwnedUser>, groups: PrefixListing<OwnedGroup>) -> Self {
        Self { users, groups }
    }

    /// How many owned users and groups were listed.
    pub fn counts(&self) -> (usize, usize) {
        (self.users.records.len(), self.groups.records.len())
    }
}

/// Reads the server's `ServiceProviderConfig` (one request) to learn whether it
/// offers cursor paging (RFC 9865): if it does, listings follow `nextCursor`,
/// otherwise they page by `startIndex` with the pages after the first fetched
/// concurrently. A configuration that cannot be read leaves `startIndex` paging.
pub async fn learn_paging(client: &ScimClient) {
    match client.learn_paging().await {
        Ok(paging) => tracing::debug!(?paging, "listings page by the server's advertised method"),
        Err(error) => tracing::debug!(
            %error,
            "the ServiceProviderConfig could not be read; listings page by startIndex"
        ),
    }
}

/// Reads the owned users and groups, paging as [`learn_paging`] found: complete
/// listings or an error (a failed listing is never taken for "no records"), each
/// page converted into the planner's records as it arrives.
pub async fn list_owned(client: &ScimClient) -> Result<OwnedListings, ScimError> {
    let ids = Mutex::new(ScimIds::default());
    let (users, groups) = tokio::try_join!(
        list_owned_users(client, &ids),
        list_owned_groups(client, &ids)
    )?;
    Ok(OwnedListings { users, groups })
}

/// The owned users, as [`list_owned`] reads them; `ids` holds their SCIM ids for
/// the groups' members to share.
pub async fn list_owned_users(
    client: &ScimClient,
    ids: &Mutex<ScimIds>,
) -> Result<PrefixListing<OwnedUser>, ScimError> {
    client
        .list_users_with_prefix_as(OWNED_PREFIX, |user| listed_user(user, &mut lock(ids)))
        .await
}

/// The owned groups, as [`list_owned`] reads them. Each member id is taken from
/// `ids` when an owned user (or another member) holds it: the 926,000 memberships
/// of the 100,000-user benchmark would otherwise be as many allocations of their
/// own.
pub async fn list_owned_groups(
    client: &ScimClient,
    ids: &Mutex<ScimIds>,
) -> Result<PrefixListing<OwnedGroup>, ScimError> {
    client
        .list_groups_with_prefix_as(OWNED_PREFIX, |group| listed_group(group, &mut lock(ids)))
        .await
}

/// The ids, locked (in one task, so never contended). A panic while they were
/// held left them whole: each insertion is complete or not made.
fn lock(ids: &Mutex<ScimIds>) -> MutexGuard<'_, ScimIds> {
    ids.lock().unwrap_or_else(PoisonError::into_inner)
}

/// SCIM ids seen while listing, each held once.
#[derive(Debug, Default)]
pub struct ScimIds(foldhash::HashSet<ScimId>);

impl ScimIds {
    /// The id `id`, sharing the text of an equal id seen before.
    pub fn get(&mut self, id: &str) -> ScimId {
        if let Some(seen) = self.0.get(id) {
            return seen.clone();
        }
        let id = ScimId::from(id);
        self.0.insert(id.clone());
        id
    }
}

/// What the planner needs from the target: the owned records ([`list_owned`]), the
/// user names that records this tool does not own hold among the users the plan
/// would create, and the groups this tool does not own that hold the name of a
/// group the plan would create or rename.
///
/// In steady state nothing is to be created or renamed, and this reads nothing more:
/// the reads of the run are the `ServiceProviderConfig` and the pages of the two
/// owned listings.
pub async fn observe(
    client: &ScimClient,
    desired: &Desired,
    owned: OwnedListings,
    concurrency: usize,
) -> Result<ObservedTarget, ScimError> {
    let OwnedListings { users, groups } = owned;
    let owned_users: Vec<OwnedUser> = users.records;
    let owned_groups: Vec<OwnedGroup> = groups.records;

    let candidates = creation_candidates(desired, &owned_users);
    let (foreign_user_names, foreign_names) = if candidates.is_empty() {
        (BTreeSet::new(), ForeignNameSource::NotNeeded)
    } else if candidates.len() <= MAX_NAME_LOOKUPS {
        let found: Vec<Vec<User>> = futures::stream::iter(
            candidates
                .iter()
                .map(|name| client.list_all_users(Some(Filter::eq("userName", name.as_str())))),
        )
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
        (
            foreign_names_of(found.iter().flatten()),
            ForeignNameSource::Lookups(candidates.len()),
        )
    } else {
        let names = client
            .list_users(None)
            .try_fold(BTreeSet::new(), |mut names, user| {
                names.extend(foreign_names_of(std::iter::once(&user)));
                async move { Ok(names) }
            })
            .await?;
        (names, ForeignNameSource::FullListing)
    };
    let group_candidates = group_name_candidates(desired, &owned_groups);
    let foreign_groups = if group_candidates.is_empty() {
        Vec::new()
    } else if group_candidates.len() <= MAX_NAME_LOOKUPS {
        let found: Vec<Vec<Group>> =
            futures::stream::iter(group_candidates.values().map(|name| {
                client.list_all_groups(Some(Filter::eq("displayName", name.as_str())))
            }))
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        foreign_groups_of(found.iter().flatten(), &group_candidates)
    } else {
        let mut found = client
            .list_groups(None)
            .try_fold(Vec::new(), |mut found, group| {
                found.extend(foreign_groups_of(
                    std::iter::once(&group),
                    &group_candidates,
                ));
                async move { Ok(found) }
            })
            .await?;
        found.sort();
        found.dedup();
        found
    };
    let mut observed = Observed::new(owned_users, owned_groups);
    observed.foreign_user_names = foreign_user_names.into_iter().collect();
    observed.foreign_groups = foreign_groups;
    Ok(ObservedTarget {
        observed,
        user_mode: users.mode,
        group_mode: groups.mode,
        foreign_names,
    })
}

/// User names of desired active users that no owned record holds, by key or by name
/// (case-insensitively), and of those whose record is to be renamed: the names the plan
/// could take, which a record this tool does not own may hold.
///
/// Runs on every sync over every owned record, so it copies no name it need not
/// (in steady state, none) and builds no key.
fn creation_candidates(desired: &Desired, owned: &[OwnedUser]) -> BTreeSet<String> {
    let by_user: foldhash::HashMap<&str, Cow<'_, str>> = owned
        .iter()
        .filter_map(|u| Some((u.external_id.user_id()?, fold(&u.user_name))))
        .collect();
    let names: foldhash::HashSet<Cow<'_, str>> = owned.iter().map(|u| fold(&u.user_name)).collect();
    desired
        .users()
        .values()
        .filter(|u| u.status.is_active())
        .filter(|u| {
            let wanted = fold(&u.user_name);
            match by_user.get(u.id.as_str()) {
                // A rename into a name it does not hold yet.
                Some(held) => *held != wanted,
                // A creation, unless an owned record holds the name (a re-key).
                None => !names.contains(wanted.as_ref()),
            }
        })
        .map(|u| u.user_name.clone())
        .collect()
}

/// Names of desired groups that are about to be created (no owned record has their
/// key) or renamed (their record has another name), by case-folded name: the only
/// names a group we do not own can clash with. Looked up as ACTIVATE spells them.
fn group_name_candidates(desired: &Desired, owned: &[OwnedGroup]) -> BTreeMap<String, String> {
    let names: HashMap<&str, &str> = owned
        .iter()
        .map(|g| (g.external_id.as_str(), g.display_name.as_str()))
        .collect();
    desired
        .groups()
        .values()
        .filter(|g| names.get(g.external_id().as_str()) != Some(&g.display_name.as_str()))
        .map(|g| (g.display_name.to_lowercase(), g.display_name.clone()))
        .collect()
}

/// Groups we do not own whose name equals a candidate, case-insensitively
/// (a server that ignores the filter may answer with more).
fn foreign_groups_of<'a>(
    groups: impl Iterator<Item = &'a Group>,
    candidates: &BTreeMap<String, String>,
) -> Vec<ForeignGroup> {
    let mut found: Vec<ForeignGroup> = groups
        .filter(|g| {
            !g.external_id
                .as_deref()
                .is_some_and(|id| id.starts_with(OWNED_PREFIX))
        })
        .filter(|g| candidates.contains_key(&g.display_name.to_lowercase()))
        .map(|g| ForeignGroup {
            scim_id: g.id.as_str().into(),
            display_name: g.display_name.clone(),
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

fn foreign_names_of<'a>(users: impl Iterator<Item = &'a User>) -> BTreeSet<String> {
    users
        .filter(|u| {
            !u.external_id
                .as_deref()
                .is_some_and(|id| id.starts_with(OWNED_PREFIX))
        })
        .map(|u| u.user_name.clone())
        .collect()
}

/// A user record as the planner reads it (taken apart, not copied: at 100,000
/// owned users every string copied is 100,000 allocations).
pub(crate) fn owned_user(user: User) -> OwnedUser {
    let scim_id = user.id.as_str().into();
    user_record(user, scim_id)
}

/// A listed user record as the planner reads it, its id shared through `ids`.
fn listed_user(user: User, ids: &mut ScimIds) -> OwnedUser {
    let scim_id = ids.get(&user.id);
    user_record(user, scim_id)
}

fn user_record(user: User, scim_id: ScimId) -> OwnedUser {
    let active = user.is_active();
    let name = user.name.unwrap_or_default();
    let mut emails = user.emails;
    let primary = emails
        .iter()
        .position(|e| e.primary == Some(true))
        .unwrap_or(0);
    let email = (primary < emails.len()).then(|| emails.swap_remove(primary).value);
    OwnedUser {
        scim_id,
        external_id: user.external_id.unwrap_or_default().into(),
        user_name: user.user_name,
        given_name: name.given_name,
        family_name: name.family_name,
        formatted_name: name.formatted,
        display_name: user.display_name,
        email,
        active,
        ssh_keys: user.coreweave.sunk_ssh_keys,
    }
}

/// A group record as the planner reads it.
pub(crate) fn owned_group(group: &Group) -> OwnedGroup {
    OwnedGroup {
        scim_id: group.id.as_str().into(),
        external_id: group.external_id.clone().unwrap_or_default().into(),
        display_name: group.display_name.clone(),
        members: group.member_ids().map(Into::into).collect(),
    }
}

/// A listed group record as the planner reads it.
fn listed_group(group: ListedGroup, ids: &mut ScimIds) -> OwnedGroup {
    OwnedGroup {
        scim_id: group.id.into(),
        external_id: group.external_id.unwrap_or_default().into(),
        display_name: group.display_name,
        members: group.member_ids.iter().map(|id| ids.get(id)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reconcile_core::{
        ExternalId, LicenseStatus, Scope, SourceSnapshot, SourceUser, SourceUserId, project,
    };

    #[test]
    fn creation_candidates_are_new_users_and_renames_compared_case_insensitively() {
        let source_user = |id: &str, name: &str| SourceUser {
            id: SourceUserId::new(id),
            username: name.to_owned(),
            name: String::new(),
            email: format!("{id}@example.org"),
            active: true,
            license: LicenseStatus::Active,
            ssh_keys: Some(Vec::new()),
        };
        let snapshot = SourceSnapshot {
            users: vec![
                source_user("1", "Ada"),    // held as "ada": not a candidate
                source_user("2", "grace2"), // held as "grace": a rename
                source_user("3", "linus"),  // new: a candidate
                source_user("4", "ken"),    // new, but an owned record holds "KEN"
                source_user("5", "Émile"),  // held as "émile": not a candidate
            ],
            complete: true,
            ..SourceSnapshot::default()
        };
        let desired = project(&snapshot, &Scope::All);
        let record = |user: &str, name: &str| OwnedUser {
            scim_id: ScimId::from(format!("s-{name}").as_str()),
            external_id: ExternalId::new(format!("pw-activate:user:{user}")),
            user_name: name.to_owned(),
            ..OwnedUser::default()
        };
        let owned = [
            record("1", "ada"),
            record("2", "grace"),
            record("gone", "KEN"),
            record("5", "émile"),
        ];
        let candidates: Vec<String> = creation_candidates(&desired, &owned).into_iter().collect();
        assert_eq!(candidates, ["grace2", "linus"]);
    }

    #[test]
    fn an_id_seen_before_shares_its_text_and_a_new_one_is_its_own() {
        let mut ids = ScimIds::default();
        let user = ids.get("2819c223-7f76-453a-919d-413861904646");
        let member = ids.get(&String::from("2819c223-7f76-453a-919d-413861904646"));
        let other = ids.get("2819c223-7f76-453a-919d-413861904647");
        assert_eq!(user, member);
        assert_eq!(user.as_str().as_ptr(), member.as_str().as_ptr());
        assert_ne!(user, other);
        assert_ne!(user.as_str().as_ptr(), other.as_str().as_ptr());
        // Case matters: SCIM ids are compared exactly.
        let upper = ids.get("2819C223-7F76-453A-919D-413861904646");
        assert_ne!(upper, user);
        assert_eq!(ids.0.len(), 3);
    }
}
