//! ACTIVATE snapshot → core source snapshot.

use std::collections::BTreeSet;

use activate_client::{LicenseStatus as Wire, OrgSnapshot};
use reconcile_core::{
    LicenseStatus, Scope, SourceGroup, SourceSnapshot, SourceUser, SourceUserId, UnusableUser,
};

/// The scope for both sides: the client's (which keys to fetch) and the core's.
pub fn scopes(groups: Option<&BTreeSet<String>>) -> (activate_client::Scope, Scope) {
    match groups {
        None => (activate_client::Scope::all(), Scope::All),
        Some(names) => (
            activate_client::Scope::groups(names.iter().cloned()),
            Scope::Groups(names.clone()),
        ),
    }
}

/// Converts a snapshot. The client returns only complete listings (anything else is
/// an error); user records it could not use are carried as unusable users, and one
/// without an id marks the snapshot incomplete.
///
/// A group's members share the text of their users' ids (the 926,000 memberships
/// of the 100,000-user benchmark would otherwise be as many allocations of their
/// own).
pub fn to_source(snapshot: OrgSnapshot) -> SourceSnapshot {
    let complete = snapshot.is_complete();
    let users: Vec<SourceUser> = snapshot
        .users
        .into_iter()
        .map(|u| SourceUser {
            id: u.id.into(),
            username: u.username,
            name: u.name.unwrap_or_default(),
            email: u.email.unwrap_or_default(),
            active: u.active,
            license: match u.license_status {
                Some(Wire::Active) => LicenseStatus::Active,
                Some(Wire::Complimentary) => LicenseStatus::Complimentary,
                Some(Wire::Inactive) => LicenseStatus::Inactive,
                _ => LicenseStatus::Unknown,
            },
            ssh_keys: u.ssh_keys,
        })
        .collect();
    let user_ids: foldhash::HashSet<SourceUserId> = users.iter().map(|u| u.id.clone()).collect();
    let groups = snapshot
        .groups
        .into_iter()
        .map(|g| SourceGroup {
            id: g.id.into(),
            name: g.name,
            members: g
                .member_ids
                .iter()
                .map(|id| {
                    user_ids
                        .get(&**id)
                        .map_or_else(|| SourceUserId::from(&**id), SourceUserId::clone)
                })
                .collect(),
        })
        .collect();
    drop(user_ids);
    SourceSnapshot {
        users,
        groups,
        complete,
        unusable_users: snapshot
            .unusable_users
            .into_iter()
            .map(|u| UnusableUser {
                id: u.id.map(Into::into),
                username: u.username,
                reason: u.reason,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> activate_client::User {
        activate_client::User {
            id: id.to_owned(),
            username: format!("user-{id}"),
            name: None,
            email: None,
            active: true,
            license_status: None,
            uid: None,
            ssh_keys: Some(Vec::new()),
        }
    }

    #[test]
    fn members_share_their_users_ids_and_keep_their_order_and_unknown_ids() {
        let snapshot = OrgSnapshot {
            org: "lab".to_owned(),
            scope: activate_client::Scope::all(),
            users: vec![user("u1"), user("u2")],
            groups: vec![activate_client::Group {
                id: "g1".to_owned(),
                name: "eng".to_owned(),
                member_ids: vec!["u2".into(), "gone".into(), "u1".into()],
            }],
            unknown_groups: BTreeSet::new(),
            unusable_users: Vec::new(),
            members_not_in_org: BTreeSet::from(["gone".to_owned()]),
            stats: activate_client::RequestStats::default(),
        };
        let source = to_source(snapshot);
        let members = &source.groups[0].members;
        let names: Vec<&str> = members.iter().map(SourceUserId::as_str).collect();
        assert_eq!(names, ["u2", "gone", "u1"]);
        assert_eq!(
            members[0].as_str().as_ptr(),
            source.users[1].id.as_str().as_ptr()
        );
        assert_eq!(
            members[2].as_str().as_ptr(),
            source.users[0].id.as_str().as_ptr()
        );
        assert!(source.complete);
    }
}
