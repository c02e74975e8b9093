//! Builders for small organizations and their target state.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use reconcile_core::{
    ApplyOptions, ApplyReport, Desired, GroupChange, InMemoryTarget, LicenseStatus, NewGroupRecord,
    NewUserRecord, OwnedGroup, OwnedUser, Plan, PlanOptions, ScimId, ScimTarget, Scope,
    SourceGroup, SourceSnapshot, SourceUser, TargetError, UserChange, Written, apply, plan,
    project,
};
use ssh_key::PublicKey;
use ssh_key::public::{Ed25519PublicKey, KeyData};

/// A valid ed25519 public key line whose key data is derived from `seed`.
pub fn key(seed: u8, comment: &str) -> String {
    let data = KeyData::Ed25519(Ed25519PublicKey([seed; 32]));
    PublicKey::new(data, comment)
        .to_openssh()
        .expect("ed25519 keys encode")
}

/// A source organization plus a target, with helpers to sync and plan.
pub struct Org {
    pub snapshot: SourceSnapshot,
    pub scope: Scope,
    pub options: PlanOptions,
    pub target: InMemoryTarget,
}

impl Org {
    pub fn new() -> Self {
        Self {
            snapshot: SourceSnapshot {
                users: Vec::new(),
                groups: Vec::new(),
                complete: true,
                unusable_users: Vec::new(),
            },
            scope: Scope::All,
            options: PlanOptions::default(),
            target: InMemoryTarget::new(),
        }
    }

    /// Adds an active, licensed user with an email and one key.
    pub fn user(&mut self, id: &str, username: &str, name: &str) -> &mut SourceUser {
        let seed = u8::try_from(self.snapshot.users.len() + 1).unwrap_or(u8::MAX);
        self.snapshot.users.push(SourceUser {
            id: id.into(),
            username: username.to_owned(),
            name: name.to_owned(),
            email: format!("{username}@example.com"),
            active: true,
            license: LicenseStatus::Active,
            ssh_keys: Some(vec![key(seed, &format!("{username}@laptop"))]),
        });
        self.snapshot.users.last_mut().expect("just pushed")
    }

    pub fn user_mut(&mut self, id: &str) -> &mut SourceUser {
        self.snapshot
            .users
            .iter_mut()
            .find(|u| u.id.as_str() == id)
            .expect("user exists")
    }

    pub fn remove_user(&mut self, id: &str) {
        self.snapshot.users.retain(|u| u.id.as_str() != id);
        for group in &mut self.snapshot.groups {
            group.members.retain(|m| m.as_str() != id);
        }
    }

    pub fn group(&mut self, id: &str, name: &str, members: &[&str]) -> &mut SourceGroup {
        self.snapshot.groups.push(SourceGroup {
            id: id.into(),
            name: name.to_owned(),
            members: members.iter().map(|m| (*m).into()).collect(),
        });
        self.snapshot.groups.last_mut().expect("just pushed")
    }

    pub fn group_mut(&mut self, id: &str) -> &mut SourceGroup {
        self.snapshot
            .groups
            .iter_mut()
            .find(|g| g.id.as_str() == id)
            .expect("group exists")
    }

    pub fn desired(&self) -> Desired {
        project(&self.snapshot, &self.scope)
    }

    pub fn plan(&self) -> Plan {
        plan(&self.desired(), &self.target.observed(), &self.options)
    }

    pub fn apply(&self, plan: &Plan) -> ApplyReport {
        futures::executor::block_on(apply(plan, &self.target, &ApplyOptions::default()))
    }

    /// Plans, applies, and checks that the target then matches the source.
    pub fn sync(&self) -> ApplyReport {
        let plan = self.plan();
        let report = self.apply(&plan);
        assert!(report.is_complete(), "sync failed: {report:#?}");
        let again = self.plan();
        assert!(again.is_converged(), "not converged:\n{}", again.to_text());
        report
    }
}

/// The snapshot form of a plan: text, then JSON.
pub fn rendered(plan: &Plan) -> String {
    format!("{}\n----- JSON -----\n{}\n", plan.to_text(), plan.to_json())
}

/// A write the orchestrator sends.
#[derive(Debug, Clone, Copy)]
pub enum Write<'w> {
    CreateUser(&'w NewUserRecord),
    PatchUser,
    CreateGroup(&'w NewGroupRecord),
    PatchGroup,
}

/// What a test server does around the in-memory one; every hook passes
/// through by default.
#[async_trait]
pub trait Around: Send + Sync {
    /// Runs before a write reaches the server.
    async fn before(&self, _write: Write<'_>) {}

    /// The user changes the server carries out (default: all).
    fn carried_out(&self, changes: &[UserChange]) -> Vec<UserChange> {
        changes.to_vec()
    }

    /// The group changes the server carries out (default: all).
    fn group_carried_out(&self, changes: &[GroupChange]) -> Vec<GroupChange> {
        changes.to_vec()
    }

    /// Whether a group PATCH is answered with the record (default) or with
    /// `204 No Content`.
    fn answers_group_patches(&self) -> bool {
        true
    }

    /// Whether a user PATCH is answered with the record (default) or with
    /// `204 No Content`.
    fn answers_user_patches(&self) -> bool {
        true
    }

    /// Runs before a user record is read back.
    fn before_read(&self) {}
}

/// The in-memory server with `around` around it.
pub struct Wrapped<'t, A> {
    pub inner: &'t InMemoryTarget,
    pub around: A,
}

#[async_trait]
impl<A: Around> ScimTarget for Wrapped<'_, A> {
    async fn create_user(&self, user: &NewUserRecord) -> Result<Written<OwnedUser>, TargetError> {
        self.around.before(Write::CreateUser(user)).await;
        self.inner.create_user(user).await
    }

    async fn patch_user(
        &self,
        id: &ScimId,
        changes: &[UserChange],
    ) -> Result<Written<OwnedUser>, TargetError> {
        self.around.before(Write::PatchUser).await;
        let written = self
            .inner
            .patch_user(id, &self.around.carried_out(changes))
            .await?;
        Ok(if self.around.answers_user_patches() {
            written
        } else {
            Written::empty()
        })
    }

    async fn create_group(
        &self,
        group: &NewGroupRecord,
    ) -> Result<Written<OwnedGroup>, TargetError> {
        self.around.before(Write::CreateGroup(group)).await;
        self.inner.create_group(group).await
    }

    async fn patch_group(
        &self,
        id: &ScimId,
        changes: &[GroupChange],
    ) -> Result<Written<OwnedGroup>, TargetError> {
        self.around.before(Write::PatchGroup).await;
        let written = self
            .inner
            .patch_group(id, &self.around.group_carried_out(changes))
            .await?;
        Ok(if self.around.answers_group_patches() {
            written
        } else {
            Written::empty()
        })
    }

    async fn read_user(&self, id: &ScimId) -> Result<OwnedUser, TargetError> {
        self.around.before_read();
        self.inner.read_user(id).await
    }
}

/// Yields once to the executor, so that concurrent operations interleave.
pub struct YieldOnce(bool);

impl YieldOnce {
    pub fn new() -> Self {
        Self(false)
    }
}

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}
