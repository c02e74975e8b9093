//! Builders for small organizations and their target state.

use reconcile_core::{
    ApplyOptions, ApplyReport, Desired, InMemoryTarget, LicenseStatus, Plan, PlanOptions, Scope,
    SourceGroup, SourceSnapshot, SourceUser, apply, plan, project,
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
