//! The core's [`ScimTarget`] over the SCIM client.

use async_trait::async_trait;
use reconcile_core::{
    GroupChange, NewGroupRecord, NewUserRecord, OwnedGroup, OwnedUser, ScimId, ScimTarget,
    TargetError, TargetErrorKind, UserChange, Written,
};
use scim_client::{
    Email, Filter, Group, Name, NameComponent, NewGroup, NewUser, PatchOp, PatchOperation,
    ScimClient, ScimError, User,
};

use http_policy::chain::render as chain;

use crate::adapters::observe::{owned_group, owned_user};

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
    async fn create_user(&self, user: &NewUserRecord) -> Result<Written<OwnedUser>, TargetError> {
        let body = NewUser {
            user_name: user.user_name.clone(),
            external_id: Some(user.external_id.as_str().to_owned()),
            name: Some(Name {
                formatted: user.formatted_name.clone(),
                given_name: user.given_name.clone(),
                family_name: user.family_name.clone(),
            }),
            display_name: user.display_name.clone(),
            emails: user.email.iter().map(Email::primary_work).collect(),
            active: user.active,
            sunk_ssh_keys: user
                .ssh_keys
                .iter()
                .map(|k| k.as_openssh().to_owned())
                .collect(),
        };
        match self.client.create_user(&body).await {
            Ok(created) => Ok(Written::record(owned_user(created))),
            Err(error) if unreadable_success(&error) => {
                // Created, but the answer names no record: find it by the mark sent.
                let warning = odd_answer(&error);
                let key = user.external_id.as_str();
                let carries = |u: &User| u.external_id.as_deref() == Some(key);
                let mut found = self
                    .client
                    .list_all_users(Some(Filter::eq("externalId", key)))
                    .await
                    .map_err(target_error)?;
                if !found.iter().any(carries) {
                    // A server may answer a filter it does not support with nothing.
                    found = self
                        .client
                        .list_all_users(None)
                        .await
                        .map_err(target_error)?;
                }
                let record = found.into_iter().find(|u| carries(u)).map(owned_user);
                Ok(Written {
                    record,
                    ..Written::empty()
                }
                .with_warning(warning))
            }
            Err(error) => Err(target_error(error)),
        }
    }

    async fn patch_user(
        &self,
        id: &ScimId,
        changes: &[UserChange],
    ) -> Result<Written<OwnedUser>, TargetError> {
        let patch: PatchOp = changes.iter().map(user_operation).collect();
        match self.client.patch_user(id.as_str(), &patch).await {
            Ok(answer) => Ok(Written {
                record: answer.map(owned_user),
                ..Written::empty()
            }),
            Err(error) if unreadable_success(&error) => {
                Ok(Written::empty().with_warning(odd_answer(&error)))
            }
            Err(error) => Err(target_error(error)),
        }
    }

    async fn read_user(&self, id: &ScimId) -> Result<OwnedUser, TargetError> {
        self.client
            .get_user(id.as_str())
            .await
            .map(owned_user)
            .map_err(target_error)
    }

    async fn create_group(
        &self,
        group: &NewGroupRecord,
    ) -> Result<Written<OwnedGroup>, TargetError> {
        let body = NewGroup {
            display_name: group.display_name.clone(),
            external_id: Some(group.external_id.as_str().to_owned()),
            members: group
                .members
                .iter()
                .map(|m| m.as_str().to_owned())
                .collect(),
        };
        match self.client.create_group(&body).await {
            Ok(created) => Ok(Written::record(owned_group(&created))),
            Err(error) if unreadable_success(&error) => {
                let warning = odd_answer(&error);
                let key = group.external_id.as_str();
                let carries = |g: &Group| g.external_id.as_deref() == Some(key);
                let mut found = self
                    .client
                    .list_all_groups(Some(Filter::eq("externalId", key)))
                    .await
                    .map_err(target_error)?;
                if !found.iter().any(carries) {
                    // A server may answer a filter it does not support with nothing.
                    found = self
                        .client
                        .list_all_groups(None)
                        .await
                        .map_err(target_error)?;
                }
                let record = found.iter().find(|g| carries(g)).map(owned_group);
                Ok(Written {
                    record,
                    ..Written::empty()
                }
                .with_warning(warning))
            }
            Err(error) => Err(target_error(error)),
        }
    }

    async fn patch_group(
        &self,
        id: &ScimId,
        changes: &[GroupChange],
    ) -> Result<Written<OwnedGroup>, TargetError> {
        let mut patch = PatchOp::new();
        for change in changes {
            match change {
                GroupChange::ExternalId(key) => {
                    patch.push(PatchOperation::replace_external_id(key.as_str()));
                }
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
        match self.client.patch_group(id.as_str(), &patch).await {
            // The answer may list thousands of members; nothing reads them.
            Ok(_) => Ok(Written::empty()),
            Err(error) if unreadable_success(&error) => {
                Ok(Written::empty().with_warning(odd_answer(&error)))
            }
            Err(error) => Err(target_error(error)),
        }
    }
}

/// A write the server accepted (2xx) whose answer could not be read: the write
/// was applied.
fn unreadable_success(error: &ScimError) -> bool {
    matches!(
        error,
        ScimError::Decode { status, .. } | ScimError::UnexpectedContentType { status, .. }
            if (200..300).contains(status)
    )
}

fn odd_answer(error: &ScimError) -> String {
    format!(
        "the server accepted the write but its answer could not be read: {}",
        chain(error)
    )
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

/// Classifies a client error for the core. The message is the whole cause chain on
/// one line (the core reports it per operation, in text and JSON); the client error
/// is not attached as the `source()` as well, which would print every cause twice.
#[allow(clippy::needless_pass_by_value)] // The shape `map_err` expects.
pub fn target_error(error: ScimError) -> TargetError {
    let kind = match error.status() {
        _ if matches!(error, ScimError::OutcomeUnknown { .. }) => TargetErrorKind::OutcomeUnknown,
        Some(404) => TargetErrorKind::NotFound,
        Some(409 | 412) => TargetErrorKind::Conflict,
        Some(400 | 413) => TargetErrorKind::Invalid,
        Some(401 | 403) => TargetErrorKind::Unauthorized,
        Some(429 | 502 | 503 | 504) => TargetErrorKind::Transient,
        Some(_) => TargetErrorKind::Other,
        None if error.maybe_processed() => TargetErrorKind::OutcomeUnknown,
        None => TargetErrorKind::Transient,
    };
    TargetError::new(kind, chain(&error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_client::Method;

    #[test]
    fn a_target_error_renders_each_cause_once() {
        let error = ScimError::OutcomeUnknown {
            method: Method::Post,
            path: "/Users".to_owned(),
            attempts: 1,
            cause: Box::new(ScimError::Transport {
                method: Method::Post,
                path: "/Users".to_owned(),
                maybe_sent: true,
                attempts: 1,
                source: "connection reset by peer".into(),
            }),
        };
        let target = target_error(error);
        assert_eq!(target.kind, TargetErrorKind::OutcomeUnknown);
        assert_eq!(
            chain(&target),
            "outcome unknown: POST /Users: outcome unknown, the server may have processed the \
             request; it was not repeated, list again before creating the record again: \
             POST /Users: no complete response (the server may have processed the request): \
             connection reset by peer"
        );
    }
}
