//! The core's [`ScimTarget`] over the SCIM client.

use async_trait::async_trait;
use reconcile_core::{
    GroupChange, NewGroupRecord, NewUserRecord, ScimId, ScimTarget, TargetError, TargetErrorKind,
    UserChange,
};
use scim_client::{
    Email, Name, NameComponent, NewGroup, NewUser, PatchOp, PatchOperation, ScimClient, ScimError,
};

/// Writes through a [`ScimClient`]. Retries of transient failures happen inside the
/// client; what reaches the core is final for this run.
#[derive(Debug, Clone)]
pub struct ScimClientTarget {
    client: ScimClient,
}

impl ScimClientTarget {
    /// Wraps a client.
    pub fn new(client: ScimClient) -> Self {
        Self { client }
    }
}

#[async_trait]
impl ScimTarget for ScimClientTarget {
    async fn create_user(&self, user: &NewUserRecord) -> Result<ScimId, TargetError> {
        let body = NewUser {
            user_name: user.user_name.clone(),
            external_id: Some(user.external_id.as_str().to_owned()),
            name: Some(Name {
                formatted: Some(user.formatted_name.clone()),
                given_name: user.given_name.clone(),
                family_name: user.family_name.clone(),
            }),
            display_name: Some(user.display_name.clone()),
            emails: user.email.iter().map(Email::primary_work).collect(),
            active: user.active,
            sunk_ssh_keys: user
                .ssh_keys
                .iter()
                .map(|k| k.as_openssh().to_owned())
                .collect(),
        };
        let created = self.client.create_user(&body).await.map_err(target_error)?;
        Ok(created.id.into())
    }

    async fn patch_user(&self, id: &ScimId, changes: &[UserChange]) -> Result<(), TargetError> {
        let patch: PatchOp = changes.iter().map(user_operation).collect();
        self.client
            .patch_user(id.as_str(), &patch)
            .await
            .map(drop)
            .map_err(target_error)
    }

    async fn create_group(&self, group: &NewGroupRecord) -> Result<ScimId, TargetError> {
        let body = NewGroup {
            display_name: group.display_name.clone(),
            external_id: Some(group.external_id.as_str().to_owned()),
            members: group
                .members
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
        };
        let created = self
            .client
            .create_group(&body)
            .await
            .map_err(target_error)?;
        Ok(created.id.into())
    }

    async fn patch_group(&self, id: &ScimId, changes: &[GroupChange]) -> Result<(), TargetError> {
        let mut patch = PatchOp::new();
        for change in changes {
            match change {
                GroupChange::DisplayName(name) => {
                    patch.push(PatchOperation::replace_display_name(name.clone()));
                }
                GroupChange::AddMembers(ids) => {
                    let ids: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
                    patch.push(PatchOperation::add_members(&ids));
                }
                GroupChange::RemoveMembers(ids) => {
                    for member in ids {
                        patch.push(PatchOperation::remove_member(member.as_str()));
                    }
                }
            }
        }
        self.client
            .patch_group(id.as_str(), &patch)
            .await
            .map(drop)
            .map_err(target_error)
    }
}

fn user_operation(change: &UserChange) -> PatchOperation {
    match change {
        UserChange::ExternalId(c) => PatchOperation::replace_external_id(c.new.as_str()),
        UserChange::UserName(c) => PatchOperation::replace_user_name(c.new.clone()),
        UserChange::GivenName(c) => {
            PatchOperation::replace_name_component(NameComponent::GivenName, c.new.clone())
        }
        UserChange::FamilyName(c) => {
            PatchOperation::replace_name_component(NameComponent::FamilyName, c.new.clone())
        }
        UserChange::FormattedName(c) => {
            PatchOperation::replace_name_component(NameComponent::Formatted, c.new.clone())
        }
        UserChange::DisplayName(c) => {
            PatchOperation::replace_display_name(c.new.clone().unwrap_or_default())
        }
        UserChange::Email(c) => PatchOperation::replace_emails(
            &c.new.iter().map(Email::primary_work).collect::<Vec<_>>(),
        ),
        UserChange::SshKeys(c) => {
            PatchOperation::replace_sunk_ssh_keys(c.new.iter().map(|k| k.as_openssh().to_owned()))
        }
        UserChange::Active(c) => PatchOperation::replace_active(c.new),
    }
}

/// Classifies a client error for the core, keeping the whole cause chain in the
/// message (the core reports it per operation).
pub fn target_error(error: ScimError) -> TargetError {
    if matches!(error, ScimError::OutcomeUnknown { .. }) {
        return TargetError::new(TargetErrorKind::OutcomeUnknown, chain(&error)).with_source(error);
    }
    let kind = match error.status() {
        Some(404) => TargetErrorKind::NotFound,
        Some(409 | 412) => TargetErrorKind::Conflict,
        Some(400 | 413) => TargetErrorKind::Invalid,
        Some(401 | 403) => TargetErrorKind::Unauthorized,
        Some(429 | 502 | 503 | 504) => TargetErrorKind::Transient,
        Some(_) => TargetErrorKind::Other,
        None if error.maybe_processed() => TargetErrorKind::OutcomeUnknown,
        None => TargetErrorKind::Transient,
    };
    TargetError::new(kind, chain(&error)).with_source(error)
}

/// `error: cause: cause`, as `anyhow` prints with `{:#}`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
