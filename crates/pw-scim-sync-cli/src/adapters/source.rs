//! ACTIVATE snapshot → core source snapshot.

use std::collections::BTreeSet;

use activate_client::{LicenseStatus as Wire, OrgSnapshot};
use reconcile_core::{LicenseStatus, Scope, SourceGroup, SourceSnapshot, SourceUser, UnusableUser};

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
pub fn to_source(snapshot: OrgSnapshot) -> SourceSnapshot {
    let complete = snapshot.is_complete();
    SourceSnapshot {
        users: snapshot
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
            .collect(),
        groups: snapshot
            .groups
            .into_iter()
            .map(|g| SourceGroup {
                id: g.id.into(),
                name: g.name,
                members: g.member_ids.into_iter().map(Into::into).collect(),
            })
            .collect(),
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
