//! [`InMemoryTarget`]: a SCIM server in memory, for tests, examples and demos.
//!
//! It behaves like a SCIM server for the operations of [`ScimTarget`]:
//! `userName` is unique case-insensitively (`Conflict`), unknown ids are
//! `NotFound`, group members must be existing users (`Invalid`). It holds
//! owned and foreign records alike (user records as [`OwnedUser`], the form
//! the planner reads; an absent `externalId` is an empty one), can be seeded with any records, records
//! every call, can be told to fail chosen calls, and reads back the
//! [`Observed`] state for re-planning.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::apply::{
    GroupChange, NewGroupRecord, ScimTarget, TargetError, TargetErrorKind, Written,
};
use crate::ids::{ExternalId, ScimId, fold};
use crate::observed::{ForeignGroup, Observed, OwnedGroup, OwnedUser};
use crate::plan::{NewUserRecord, UserChange};

/// A group record as the in-memory server stores it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TargetGroup {
    /// `externalId` (`None`: not set).
    pub external_id: Option<ExternalId>,
    /// `displayName`.
    pub display_name: String,
    /// Member SCIM ids.
    pub members: BTreeSet<ScimId>,
}

/// A call the server received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TargetCall {
    /// `create_user` for this `userName`.
    CreateUser(String),
    /// `patch_user` on this id.
    PatchUser(ScimId),
    /// `create_group` for this `displayName`.
    CreateGroup(String),
    /// `patch_group` on this id.
    PatchGroup(ScimId),
}

/// Which calls an injected failure applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailOn {
    /// `create_user` with this `userName` (case-insensitive).
    CreateUser(String),
    /// `patch_user` on this id.
    PatchUser(ScimId),
    /// `create_group` with this `displayName`.
    CreateGroup(String),
    /// `patch_group` on this id.
    PatchGroup(ScimId),
}

impl FailOn {
    fn matches(&self, call: &TargetCall) -> bool {
        match (self, call) {
            (Self::CreateUser(a), TargetCall::CreateUser(b)) => fold(a) == fold(b),
            (Self::PatchUser(a), TargetCall::PatchUser(b))
            | (Self::PatchGroup(a), TargetCall::PatchGroup(b)) => a == b,
            (Self::CreateGroup(a), TargetCall::CreateGroup(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<ScimId, OwnedUser>,
    groups: BTreeMap<ScimId, TargetGroup>,
    /// Case-folded `userName` → record.
    names: HashMap<String, ScimId>,
    next_id: u64,
    calls: Vec<TargetCall>,
    failures: Vec<(FailOn, TargetError)>,
    /// Creates store no `externalId` (a server that does not keep it).
    drop_external_ids: bool,
    /// Writes store no `name.formatted` (a server that does not keep it).
    drop_formatted_names: bool,
}

impl State {
    fn allocate(&mut self, prefix: &str) -> ScimId {
        self.next_id += 1;
        ScimId::new(format!("{prefix}{:06}", self.next_id))
    }

    fn name_taken(&self, user_name: &str, except: Option<&ScimId>) -> bool {
        self.names
            .get(fold(user_name).as_ref())
            .is_some_and(|holder| Some(holder) != except)
    }

    /// Stores `user` under a new SCIM id (any id it carries is replaced).
    fn insert_user(&mut self, mut user: OwnedUser) -> Result<OwnedUser, TargetError> {
        if self.name_taken(&user.user_name, None) {
            return Err(TargetError::new(
                TargetErrorKind::Conflict,
                format!("userName {:?} is already taken", user.user_name),
            ));
        }
        user.scim_id = self.allocate("u");
        self.names
            .insert(fold(&user.user_name).into_owned(), user.scim_id.clone());
        self.users.insert(user.scim_id.clone(), user.clone());
        Ok(user)
    }

    fn check_members<'a>(
        &self,
        members: impl IntoIterator<Item = &'a ScimId>,
    ) -> Result<(), TargetError> {
        for member in members {
            if !self.users.contains_key(member) {
                return Err(TargetError::new(
                    TargetErrorKind::Invalid,
                    format!("member {member} is not an existing user"),
                ));
            }
        }
        Ok(())
    }

    fn insert_group(&mut self, group: TargetGroup) -> Result<ScimId, TargetError> {
        self.check_members(&group.members)?;
        let id = self.allocate("g");
        self.groups.insert(id.clone(), group);
        Ok(id)
    }

    /// Records a call and returns the injected failure for it, if any.
    fn call(&mut self, call: TargetCall) -> Result<(), TargetError> {
        let failure = self
            .failures
            .iter()
            .find(|(on, _)| on.matches(&call))
            .map(|(_, error)| error.clone());
        self.calls.push(call);
        failure.map_or(Ok(()), Err)
    }
}

/// An in-memory SCIM server (see the [module docs](self)).
#[derive(Debug, Default)]
pub struct InMemoryTarget {
    state: Mutex<State>,
}

impl InMemoryTarget {
    /// An empty server.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Seeds a user record (owned or foreign) and returns the SCIM id it is
    /// given (any `scim_id` it carries is replaced); fails like `POST /Users`
    /// would on a taken `userName`. Not recorded as a call.
    pub fn insert_user(&self, user: OwnedUser) -> Result<ScimId, TargetError> {
        self.state().insert_user(user).map(|user| user.scim_id)
    }

    /// Seeds a group record; its members must exist. Not recorded as a call.
    pub fn insert_group(&self, group: TargetGroup) -> Result<ScimId, TargetError> {
        self.state().insert_group(group)
    }

    /// Makes later creates store no `externalId` and answer without one, like
    /// a server that does not keep the attribute.
    pub fn drop_external_ids_on_create(&self) {
        self.state().drop_external_ids = true;
    }

    /// Makes later writes store no `name.formatted`, like a server that does
    /// not keep the attribute (and answers with what it kept).
    pub fn drop_formatted_names(&self) {
        self.state().drop_formatted_names = true;
    }

    /// Makes every later call matching `on` fail with `error` (the call is still recorded).
    pub fn fail(&self, on: FailOn, error: TargetError) {
        self.state().failures.push((on, error));
    }

    /// All user records.
    pub fn users(&self) -> BTreeMap<ScimId, OwnedUser> {
        self.state().users.clone()
    }

    /// All group records.
    pub fn groups(&self) -> BTreeMap<ScimId, TargetGroup> {
        self.state().groups.clone()
    }

    /// The calls received so far, in order.
    pub fn calls(&self) -> Vec<TargetCall> {
        self.state().calls.clone()
    }

    /// The state as the CLI adapter would read it: owned records (prefixed
    /// `externalId`), the `userName`s of all other user records, and all
    /// other group records.
    pub fn observed(&self) -> Observed {
        let state = self.state();
        let (mut users, mut foreign_user_names) = (Vec::new(), Vec::new());
        for user in state.users.values() {
            if user.external_id.is_owned() {
                users.push(user.clone());
            } else {
                foreign_user_names.push(user.user_name.clone());
            }
        }
        let (mut groups, mut foreign_groups) = (Vec::new(), Vec::new());
        for (id, group) in &state.groups {
            if group.external_id.as_ref().is_some_and(ExternalId::is_owned) {
                groups.push(group.observed(id));
            } else {
                foreign_groups.push(ForeignGroup {
                    scim_id: id.clone(),
                    display_name: group.display_name.clone(),
                });
            }
        }
        let mut observed = Observed::new(users, groups);
        observed.foreign_user_names = foreign_user_names;
        observed.foreign_groups = foreign_groups;
        observed
    }
}

impl TargetGroup {
    /// The record as a reader sees it.
    fn observed(&self, id: &ScimId) -> OwnedGroup {
        OwnedGroup {
            scim_id: id.clone(),
            external_id: self
                .external_id
                .clone()
                .unwrap_or_else(|| ExternalId::new("")),
            display_name: self.display_name.clone(),
            members: self.members.iter().cloned().collect(),
        }
    }
}

#[async_trait]
impl ScimTarget for InMemoryTarget {
    async fn create_user(&self, user: &NewUserRecord) -> Result<Written<OwnedUser>, TargetError> {
        let mut state = self.state();
        state.call(TargetCall::CreateUser(user.user_name.clone()))?;
        let stored = OwnedUser {
            scim_id: ScimId::new(""),
            external_id: if state.drop_external_ids {
                ExternalId::new("")
            } else {
                user.external_id.clone()
            },
            user_name: user.user_name.clone(),
            given_name: user.given_name.clone(),
            family_name: user.family_name.clone(),
            formatted_name: user
                .formatted_name
                .clone()
                .filter(|_| !state.drop_formatted_names),
            display_name: user.display_name.clone(),
            email: user.email.clone(),
            active: user.active,
            ssh_keys: user
                .ssh_keys
                .iter()
                .map(|k| k.as_openssh().to_owned())
                .collect(),
        };
        Ok(Written::record(state.insert_user(stored)?))
    }

    async fn read_user(&self, id: &ScimId) -> Result<OwnedUser, TargetError> {
        self.state()
            .users
            .get(id)
            .cloned()
            .ok_or_else(|| TargetError::new(TargetErrorKind::NotFound, format!("no user {id}")))
    }

    async fn patch_user(
        &self,
        id: &ScimId,
        changes: &[UserChange],
    ) -> Result<Written<OwnedUser>, TargetError> {
        let mut state = self.state();
        state.call(TargetCall::PatchUser(id.clone()))?;
        let Some(mut user) = state.users.get(id).cloned() else {
            return Err(TargetError::new(
                TargetErrorKind::NotFound,
                format!("no user {id}"),
            ));
        };
        for change in changes {
            match change {
                UserChange::ExternalId(c) => user.external_id.clone_from(&c.new),
                UserChange::UserName(c) => user.user_name.clone_from(&c.new),
                UserChange::GivenName(c) => user.given_name.clone_from(&c.new),
                UserChange::FamilyName(c) => user.family_name.clone_from(&c.new),
                UserChange::FormattedName(c) => user.formatted_name.clone_from(&c.new),
                UserChange::DisplayName(c) => user.display_name.clone_from(&c.new),
                UserChange::Email(c) => user.email.clone_from(&c.new),
                UserChange::SshKeys(c) => {
                    user.ssh_keys = c.new.iter().map(|k| k.as_openssh().to_owned()).collect();
                }
                UserChange::Active(c) => user.active = c.new,
            }
        }
        if state.name_taken(&user.user_name, Some(id)) {
            return Err(TargetError::new(
                TargetErrorKind::Conflict,
                format!("userName {:?} is already taken", user.user_name),
            ));
        }
        let old = state.users.get(id).map(|u| fold(&u.user_name).into_owned());
        if let Some(old) = old {
            state.names.remove(&old);
        }
        state
            .names
            .insert(fold(&user.user_name).into_owned(), id.clone());
        if state.drop_formatted_names {
            user.formatted_name = None;
        }
        state.users.insert(id.clone(), user.clone());
        Ok(Written::record(user))
    }

    async fn create_group(
        &self,
        group: &NewGroupRecord,
    ) -> Result<Written<OwnedGroup>, TargetError> {
        let mut state = self.state();
        state.call(TargetCall::CreateGroup(group.display_name.clone()))?;
        let stored = TargetGroup {
            external_id: Some(group.external_id.clone()).filter(|_| !state.drop_external_ids),
            display_name: group.display_name.clone(),
            members: group.members.iter().cloned().collect(),
        };
        let id = state.insert_group(stored.clone())?;
        Ok(Written::record(stored.observed(&id)))
    }

    async fn patch_group(
        &self,
        id: &ScimId,
        changes: &[GroupChange],
    ) -> Result<Written<OwnedGroup>, TargetError> {
        let mut state = self.state();
        state.call(TargetCall::PatchGroup(id.clone()))?;
        let Some(mut group) = state.groups.get(id).cloned() else {
            return Err(TargetError::new(
                TargetErrorKind::NotFound,
                format!("no group {id}"),
            ));
        };
        for change in changes {
            match change {
                GroupChange::ExternalId(key) => group.external_id = Some(key.clone()),
                GroupChange::DisplayName(name) => group.display_name.clone_from(name),
                GroupChange::AddMembers(members) => {
                    state.check_members(members)?;
                    group.members.extend(members.iter().cloned());
                }
                GroupChange::RemoveMembers(members) => {
                    for member in members {
                        group.members.remove(member);
                    }
                }
            }
        }
        let answer = group.observed(id);
        state.groups.insert(id.clone(), group);
        Ok(Written::record(answer))
    }
}
