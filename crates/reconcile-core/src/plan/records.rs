//! Whose record is whose: owned user records matched to desired users by key,
//! then the orphans settled by name.
//!
//! Two phases, each returning what the next needs:
//! [`match_by_key`] gives every record a [`Claim`] (a settled [`Fate`], or
//! [`Claim::Orphan`] when its key names no ACTIVATE user), and
//! [`settle_orphans`] turns the orphans into re-keys, frozen or retired
//! records, so that the [`Assignment`] it returns holds no orphan.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::handles::{RecordIx, Table, UserIx};
use crate::ids::{ScimId, fold};
use crate::notes::Warning;
use crate::plan::DeactivationReason;
use crate::plan::inputs::{Inputs, RecordKey};

/// What happens to an owned user record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fate {
    /// The record of this desired user.
    Matched(UserIx),
    /// Re-keyed to become the record of this desired user.
    ReKey(UserIx),
    /// Not written at all.
    Frozen,
    /// Not desired: deactivated if active.
    Retire(DeactivationReason),
}

/// What a record's key says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Claim {
    /// Its fate follows from its key.
    Settled(Fate),
    /// Its key names no ACTIVATE user (gone, or an earlier key scheme): it may
    /// be re-keyed to the desired user whose name it holds.
    Orphan,
}

/// Records by key: the desired users' records and every record's claim.
pub(super) struct ByKey {
    /// Desired user → its record, if one carries its key.
    record_of: Table<UserIx, Option<RecordIx>>,
    claims: Table<RecordIx, Claim>,
}

/// Every desired user's record and every record's fate.
pub(super) struct Assignment {
    /// Desired user → its record (matched or re-keyed), if any.
    pub(super) record_of: Table<UserIx, Option<RecordIx>>,
    pub(super) fate: Table<RecordIx, Fate>,
}

/// Matches records to desired, held and out-of-scope users by key.
///
/// One pass over the records in SCIM id order: the first record carrying a
/// desired user's key takes the user; when several carry it, the one holding
/// the user's name (then an active one, then the first) is kept and the others
/// are retired as duplicates, with a warning.
pub(super) fn match_by_key(inputs: &Inputs<'_>) -> (ByKey, Vec<Warning>) {
    let mut record_of: Table<UserIx, Option<RecordIx>> = Table::filled(inputs.users.len(), None);
    let mut claims = Table::filled(inputs.records.len(), Claim::Orphan);
    let mut duplicates: HashMap<UserIx, Vec<RecordIx>> = HashMap::new();
    for (index, key) in inputs.keys.iter() {
        claims[index] = match *key {
            RecordKey::Desired(user) => {
                match record_of[user] {
                    None => record_of[user] = Some(index),
                    Some(first) => duplicates
                        .entry(user)
                        .or_insert_with(|| vec![first])
                        .push(index),
                }
                Claim::Settled(Fate::Matched(user))
            }
            RecordKey::Held => Claim::Settled(Fate::Frozen),
            RecordKey::OutOfScope => Claim::Settled(Fate::Retire(DeactivationReason::OutOfScope)),
            RecordKey::Unknown => Claim::Orphan,
        };
    }
    let mut warnings = Vec::with_capacity(duplicates.len());
    for (user, indices) in duplicates {
        let wanted = fold(&inputs.users[user].user_name);
        let kept = *indices
            .iter()
            .min_by_key(|&&i| {
                let r = inputs.records[i];
                (fold(&r.user_name) != wanted, !r.active, &r.scim_id)
            })
            .expect("a duplicated key has at least two records");
        for &i in &indices {
            if i != kept {
                claims[i] = Claim::Settled(Fate::Retire(DeactivationReason::DuplicateRecord));
            }
        }
        record_of[user] = Some(kept);
        let mut others: Vec<ScimId> = indices
            .iter()
            .filter(|&&i| i != kept)
            .map(|&i| inputs.records[i].scim_id.clone())
            .collect();
        others.sort();
        warnings.push(Warning::DuplicateExternalId {
            external_id: inputs.records[kept].external_id.clone(),
            kept: inputs.records[kept].scim_id.clone(),
            others,
        });
    }
    (ByKey { record_of, claims }, warnings)
}

/// Settles the orphans: each is re-keyed to the desired user without a record
/// whose name it holds (case-insensitively; the first by SCIM id wins), frozen
/// when it holds a held user's name, and otherwise retired as not in the
/// source. While a held user has no username at all, an orphan could be that
/// user's record (its id may have changed too): no orphan is retired then.
pub(super) fn settle_orphans(inputs: &Inputs<'_>, by_key: ByKey) -> Assignment {
    let ByKey {
        mut record_of,
        claims,
    } = by_key;
    let mut fate = claims.map(|claim| match *claim {
        Claim::Settled(fate) => fate,
        Claim::Orphan => Fate::Retire(DeactivationReason::NotInSource),
    });
    let orphans: Vec<RecordIx> = claims
        .iter()
        .filter(|(_, claim)| **claim == Claim::Orphan)
        .map(|(index, _)| index)
        .collect();
    if orphans.is_empty() {
        return Assignment { record_of, fate };
    }
    let held = &inputs.desired.held_users;
    let held_names: HashSet<Cow<'_, str>> = held.values().map(|n| fold(n)).collect();
    let mut unclaimed: Vec<RecordIx> = Vec::new();
    let mut orphan_by_name: HashMap<Cow<'_, str>, RecordIx> = HashMap::new();
    for &index in &orphans {
        let name = fold(&inputs.records[index].user_name);
        if held_names.contains(&name) {
            fate[index] = Fate::Frozen;
        } else {
            unclaimed.push(index);
            // Orphans are in SCIM id order: the first one wins.
            orphan_by_name.entry(name).or_insert(index);
        }
    }
    for user in inputs.users.handles() {
        if record_of[user].is_some() {
            continue;
        }
        if let Some(&index) = orphan_by_name.get(fold(&inputs.users[user].user_name).as_ref()) {
            fate[index] = Fate::ReKey(user);
            record_of[user] = Some(index);
        }
    }
    if held.values().any(|name| name.trim().is_empty()) {
        for index in unclaimed {
            if fate[index] == Fate::Retire(DeactivationReason::NotInSource) {
                fate[index] = Fate::Frozen;
            }
        }
    }
    Assignment { record_of, fate }
}

impl Assignment {
    /// Freezes the records that blocked users (whose name is not free) were
    /// to adopt by re-key: they are not written. A blocked user's own record
    /// stays matched: it keeps its name and gains nothing, but loses what its
    /// user lost (see `users::withdrawn_keys` and `groups`).
    pub(super) fn freeze(mut self, blocked: &Table<UserIx, bool>) -> Self {
        for (user, &is_blocked) in blocked.iter() {
            if is_blocked
                && let Some(index) = self.record_of[user]
                && matches!(self.fate[index], Fate::ReKey(_))
            {
                self.fate[index] = Fate::Frozen;
            }
        }
        self
    }
}
