//! User operations: what each desired user and each retired record needs.
//!
//! Per desired user: active with no record → create; active with a record →
//! PATCH what differs (reactivate if the record is inactive: `active=true`,
//! the keys and any other change in one PATCH; re-key first when the record
//! was adopted by name); inactive with an active record → deactivate
//! (`active=false` and an empty key list in one PATCH); inactive with an
//! inactive record that still carries keys → revoke the keys; inactive
//! otherwise → nothing (an inactive record's other attributes are not
//! maintained). Records no longer desired are retired the same way. A user
//! whose rename is blocked keeps its record as it is, except for the keys
//! removed in ACTIVATE, which leave it.

use std::collections::BTreeMap;

use crate::desired::{DesiredStatus, DesiredUser};
use crate::handles::{Table, UserIx};
use crate::keys::{keys_already_held, observed_key_summaries, same_key_set};
use crate::notes::Warning;
use crate::observed::OwnedUser;
use crate::plan::inputs::Inputs;
use crate::plan::records::{Assignment, Fate};
use crate::plan::{
    Action, CreateUser, Deactivate, DeactivationReason, FieldChange, KeysChange, NewUserRecord,
    RevokeKeys, UserChange, UserPatch,
};
use crate::rules::ServerRules;

/// The user operations, and the warnings about differences in case only.
pub(super) fn operations(
    inputs: &Inputs<'_>,
    assignment: &Assignment,
    blocked: &Table<UserIx, bool>,
    server: ServerRules,
) -> (Vec<Action>, Vec<Warning>) {
    let mut actions = Vec::new();
    let mut compare = Compare {
        server,
        case_only: BTreeMap::new(),
    };
    for (user, &desired) in inputs.users.iter() {
        if blocked[user] {
            if let Some(index) = assignment.record_of[user]
                && assignment.fate[index] == Fate::Matched(user)
            {
                actions.extend(withdrawn_keys(desired, inputs.records[index]));
            }
            continue;
        }
        let Some(index) = assignment.record_of[user] else {
            if desired.status.is_active() {
                actions.push(Action::CreateUser(CreateUser {
                    user: desired.id.clone(),
                    record: new_record(desired, server),
                }));
            }
            continue;
        };
        let record = inputs.records[index];
        let rekey = matches!(assignment.fate[index], Fate::ReKey(_));
        let mut changes = Vec::new();
        if rekey {
            changes.push(UserChange::ExternalId(FieldChange {
                old: record.external_id.clone(),
                new: desired.external_id(),
            }));
        }
        if desired.status.is_active() {
            compare.user(desired, record, &mut changes);
        } else {
            let reason = match desired.status {
                DesiredStatus::Unlicensed => DeactivationReason::Unlicensed,
                DesiredStatus::Inactive | DesiredStatus::Active => DeactivationReason::Inactive,
            };
            actions.extend(retire(record, reason));
        }
        if changes.is_empty() {
            continue;
        }
        let patch = UserPatch {
            scim_id: record.scim_id.clone(),
            external_id: record.external_id.clone(),
            user: desired.id.clone(),
            user_name: desired.user_name.clone(),
            changes,
        };
        actions.push(if rekey {
            Action::ReKey(patch)
        } else if !record.active {
            Action::Reactivate(patch)
        } else {
            Action::UpdateUser(patch)
        });
    }
    for (index, fate) in assignment.fate.iter() {
        if let Fate::Retire(reason) = *fate {
            actions.extend(retire(inputs.records[index], reason));
        }
    }
    (actions, compare.warnings())
}

/// The keys a blocked user's record loses: while its rename waits (the new
/// name is held by someone else), the record keeps its name and gains no key,
/// but a key removed in ACTIVATE leaves it now (compared by key data, so a
/// changed comment does not remove a key).
fn withdrawn_keys(desired: &DesiredUser, record: &OwnedUser) -> Option<Action> {
    let wanted = desired.ssh_keys.as_ref()?;
    let kept = keys_already_held(wanted, &record.ssh_keys);
    if same_key_set(&kept, &record.ssh_keys) {
        return None;
    }
    Some(Action::UpdateUser(UserPatch {
        scim_id: record.scim_id.clone(),
        external_id: record.external_id.clone(),
        user: desired.id.clone(),
        user_name: record.user_name.clone(),
        changes: vec![UserChange::SshKeys(KeysChange {
            old: observed_key_summaries(&record.ssh_keys),
            new: kept,
        })],
    }))
}

/// Takes access away from a record that is not to be active: an active
/// record is deactivated (with its keys emptied in the same PATCH); an
/// inactive one that still carries keys has them emptied; any other
/// inactive record is left alone.
fn retire(record: &OwnedUser, reason: DeactivationReason) -> Option<Action> {
    let removed_keys = observed_key_summaries(&record.ssh_keys);
    if record.active {
        Some(Action::Deactivate(Deactivate {
            scim_id: record.scim_id.clone(),
            external_id: record.external_id.clone(),
            user_name: record.user_name.clone(),
            reason,
            removed_keys,
        }))
    } else if !record.ssh_keys.is_empty() {
        Some(Action::RevokeKeys(RevokeKeys {
            scim_id: record.scim_id.clone(),
            external_id: record.external_id.clone(),
            user_name: record.user_name.clone(),
            reason,
            removed_keys,
        }))
    } else {
        None
    }
}

/// Compares records with desired users by the server's rules.
struct Compare {
    server: ServerRules,
    /// Per attribute: how many records differ from the desired value only by
    /// case (not a change, see [`ServerRules`]), and the first such pair.
    case_only: BTreeMap<&'static str, (usize, String, String)>,
}

impl Compare {
    /// Appends the attribute changes that make `record` match the active
    /// desired `user`.
    fn user(&mut self, user: &DesiredUser, record: &OwnedUser, changes: &mut Vec<UserChange>) {
        fn text(
            changes: &mut Vec<UserChange>,
            not_kept: bool,
            old: Option<&String>,
            new: Option<&str>,
            make: fn(FieldChange<Option<String>>) -> UserChange,
        ) {
            if !not_kept && old.map(String::as_str) != new {
                changes.push(make(FieldChange {
                    old: old.cloned(),
                    new: new.map(str::to_owned),
                }));
            }
        }
        let server = self.server;
        let not_kept = server.not_kept;
        if record.user_name != user.user_name {
            if server.same_user_name(&record.user_name, &user.user_name) {
                self.case_only("userName", &user.user_name, &record.user_name);
            } else {
                changes.push(UserChange::UserName(FieldChange {
                    old: record.user_name.clone(),
                    new: user.user_name.clone(),
                }));
            }
        }
        let formatted = Some(user.formatted_name());
        let names = [
            (
                not_kept.given_name,
                &record.given_name,
                user.given_name(),
                UserChange::GivenName as fn(_) -> _,
            ),
            (
                not_kept.family_name,
                &record.family_name,
                user.family_name(),
                UserChange::FamilyName,
            ),
            (
                not_kept.formatted_name,
                &record.formatted_name,
                formatted,
                UserChange::FormattedName,
            ),
            (
                not_kept.display_name,
                &record.display_name,
                formatted,
                UserChange::DisplayName,
            ),
        ];
        for (not_kept, old, new, make) in names {
            text(changes, not_kept, old.as_ref(), new, make);
        }
        if !not_kept.emails && record.email.as_deref() != user.email.as_deref() {
            if server.same_email(record.email.as_deref(), user.email.as_deref()) {
                self.case_only(
                    "emails",
                    user.email.as_deref().unwrap_or_default(),
                    record.email.as_deref().unwrap_or_default(),
                );
            } else {
                changes.push(UserChange::Email(FieldChange {
                    old: record.email.clone(),
                    new: user.email.clone(),
                }));
            }
        }
        if let Some(keys) = &user.ssh_keys
            && !same_key_set(keys, &record.ssh_keys)
        {
            changes.push(UserChange::SshKeys(KeysChange {
                old: observed_key_summaries(&record.ssh_keys),
                new: keys.clone(),
            }));
        }
        if !record.active {
            changes.push(UserChange::Active(FieldChange {
                old: false,
                new: true,
            }));
        }
    }

    fn case_only(&mut self, attribute: &'static str, desired: &str, stored: &str) {
        let entry = self
            .case_only
            .entry(attribute)
            .or_insert_with(|| (0, desired.to_owned(), stored.to_owned()));
        entry.0 += 1;
    }

    /// One warning per attribute that differed in case only.
    fn warnings(self) -> Vec<Warning> {
        self.case_only
            .into_iter()
            .map(
                |(attribute, (records, desired, stored))| Warning::CaseOnlyDifference {
                    attribute: attribute.to_owned(),
                    records,
                    desired,
                    stored,
                },
            )
            .collect()
    }
}

/// The record to create for `user`, without the attributes the server does not keep.
fn new_record(user: &DesiredUser, server: ServerRules) -> NewUserRecord {
    let kept = |not_kept: bool, value: Option<&str>| value.filter(|_| !not_kept).map(str::to_owned);
    let not_kept = server.not_kept;
    NewUserRecord {
        external_id: user.external_id(),
        user_name: user.user_name.clone(),
        given_name: kept(not_kept.given_name, user.given_name()),
        family_name: kept(not_kept.family_name, user.family_name()),
        formatted_name: kept(not_kept.formatted_name, Some(user.formatted_name())),
        display_name: kept(not_kept.display_name, Some(user.formatted_name())),
        email: kept(not_kept.emails, user.email.as_deref()),
        active: true,
        ssh_keys: user.ssh_keys.clone().unwrap_or_default(),
    }
}
