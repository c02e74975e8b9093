//! Records this tool does not own that hold a name the sync wants: unowned users
//! whose `userName` or email, and unowned groups whose `displayName`, equal a desired
//! one case-insensitively.

use std::collections::{BTreeMap, HashSet};

use reconcile_core::{Desired, OWNED_PREFIX};

use super::report::{Probe, Verdict};
use super::scim::Everything;

/// CoreWeave's built-in groups in older organizations.
pub(super) const BUILT_IN_GROUPS: &[&str] =
    &["admin", "metrics", "read", "write", "billing_viewer"];

fn owned(external_id: Option<&str>) -> bool {
    external_id.is_some_and(|x| x.starts_with(OWNED_PREFIX))
}

/// Compares the desired users and groups without an owned record with the records
/// this tool does not own.
pub(super) fn probe(desired: &Desired, everything: &Everything) -> Probe {
    let owned_keys: HashSet<&str> = everything
        .users
        .iter()
        .filter_map(|u| u.external_id.as_deref())
        .chain(
            everything
                .groups
                .iter()
                .filter_map(|g| g.external_id.as_deref()),
        )
        .filter(|x| x.starts_with(OWNED_PREFIX))
        .collect();
    let mut by_user_name: BTreeMap<String, Vec<&scim_client::User>> = BTreeMap::new();
    let mut by_email: BTreeMap<String, Vec<&scim_client::User>> = BTreeMap::new();
    for user in everything
        .users
        .iter()
        .filter(|u| !owned(u.external_id.as_deref()))
    {
        by_user_name
            .entry(user.user_name.to_lowercase())
            .or_default()
            .push(user);
        for email in &user.emails {
            by_email
                .entry(email.value.to_lowercase())
                .or_default()
                .push(user);
        }
    }
    let mut by_group_name: BTreeMap<String, Vec<&scim_client::Group>> = BTreeMap::new();
    for group in everything
        .groups
        .iter()
        .filter(|g| !owned(g.external_id.as_deref()))
    {
        by_group_name
            .entry(group.display_name.to_lowercase())
            .or_default()
            .push(group);
    }

    let mut details = Vec::new();
    let users = user_clashes(desired, &owned_keys, &by_user_name, &by_email, &mut details);
    let groups = group_clashes(desired, &owned_keys, &by_group_name, &mut details);
    let asked = format!(
        "the {} desired users and {} desired groups against the unowned records of the unfiltered listings (userName, email and displayName, case-insensitively)",
        desired.users().len(),
        desired.groups().len()
    );
    if details.is_empty() {
        return Probe::new(
            "name clashes",
            asked,
            "no unowned record holds a desired name",
            Verdict::Fine,
            "every desired user and group can be created",
        );
    }
    Probe::new(
        "name clashes",
        asked,
        format!("{users} users and {groups} groups clash with records this tool does not own"),
        Verdict::Degraded,
        "each is reported as a conflict on every run and nothing is written for it; everyone else is synced. Apply the fixes below",
    )
    .with_details(details)
}

type ByName<'a, T> = BTreeMap<String, Vec<&'a T>>;

/// Desired users whose `userName` or email an unowned user holds; returns how many.
fn user_clashes(
    desired: &Desired,
    owned_keys: &HashSet<&str>,
    by_user_name: &ByName<'_, scim_client::User>,
    by_email: &ByName<'_, scim_client::User>,
    details: &mut Vec<String>,
) -> usize {
    let mut users = 0;
    for user in desired.users().values() {
        let key = user.external_id();
        if owned_keys.contains(key.as_str()) {
            continue;
        }
        let mut clashed = false;
        for holder in by_user_name
            .get(&user.user_name.to_lowercase())
            .into_iter()
            .flatten()
        {
            clashed = true;
            details.push(format!(
                "user {:?}: userName held by the record {} ({:?}, externalId {}). Fix: if it is the same person, set that record's externalId to {key} (in the system that created it) so the sync takes it over; otherwise delete it in the CoreWeave Console or rename the ACTIVATE user",
                user.user_name,
                holder.id,
                holder.user_name,
                holder.external_id.as_deref().unwrap_or("absent"),
            ));
        }
        if let Some(email) = &user.email {
            for holder in by_email.get(&email.to_lowercase()).into_iter().flatten() {
                if holder.user_name.eq_ignore_ascii_case(&user.user_name) {
                    continue;
                }
                clashed = true;
                details.push(format!(
                    "user {:?}: email {email:?} held by the record {} ({:?}); CoreWeave identifies accounts by email, so creating it may be refused. Fix: remove or change that record's email, or change the email in ACTIVATE",
                    user.user_name, holder.id, holder.user_name,
                ));
            }
        }
        users += usize::from(clashed);
    }
    users
}

/// Desired groups whose `displayName` an unowned group holds; returns how many.
fn group_clashes(
    desired: &Desired,
    owned_keys: &HashSet<&str>,
    by_group_name: &ByName<'_, scim_client::Group>,
    details: &mut Vec<String>,
) -> usize {
    let mut groups = 0;
    for group in desired.groups().values() {
        if owned_keys.contains(group.external_id().as_str()) {
            continue;
        }
        let lower = group.display_name.to_lowercase();
        for holder in by_group_name.get(&lower).into_iter().flatten() {
            groups += 1;
            let built_in = BUILT_IN_GROUPS.contains(&lower.as_str());
            details.push(format!(
                "group {:?}: displayName held by the group {} ({:?}{}). Fix: {}",
                group.display_name,
                holder.id,
                holder.display_name,
                if built_in { ", one of CoreWeave's built-in groups" } else { "" },
                if built_in {
                    "rename the ACTIVATE group, or rename or delete the built-in group in the CoreWeave Console first"
                } else {
                    "rename one of the two groups, or delete the other one in the CoreWeave Console"
                }
            ));
        }
    }
    groups
}
