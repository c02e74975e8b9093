//! What the server kept of a write, compared with what was sent by the
//! server's own rules ([`ServerRules`]). An attribute the server does not keep
//! as sent would be planned again on every run; the report names it.

use crate::keys::same_key_set;
use crate::observed::OwnedUser;
use crate::plan::{NewUserRecord, UserChange};
use crate::rules::ServerRules;

/// One attribute whose kept value differs from the value sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Difference {
    pub(crate) attribute: &'static str,
    pub(crate) sent: String,
    pub(crate) kept: String,
}

/// The attributes of a created record that the server did not keep as sent.
pub(crate) fn after_create(
    sent: &NewUserRecord,
    kept: &OwnedUser,
    rules: ServerRules,
) -> Vec<Difference> {
    let mut found = Vec::new();
    if !rules.same_user_name(&sent.user_name, &kept.user_name) {
        found.push(text(
            "userName",
            Some(&sent.user_name),
            Some(&kept.user_name),
        ));
    }
    optional(
        &mut found,
        "name.givenName",
        sent.given_name.as_ref(),
        kept.given_name.as_ref(),
    );
    optional(
        &mut found,
        "name.familyName",
        sent.family_name.as_ref(),
        kept.family_name.as_ref(),
    );
    optional(
        &mut found,
        "name.formatted",
        sent.formatted_name.as_ref(),
        kept.formatted_name.as_ref(),
    );
    optional(
        &mut found,
        "displayName",
        sent.display_name.as_ref(),
        kept.display_name.as_ref(),
    );
    if sent.email.is_some() && !rules.same_email(sent.email.as_deref(), kept.email.as_deref()) {
        found.push(text("emails", sent.email.as_ref(), kept.email.as_ref()));
    }
    if kept.active != sent.active {
        found.push(flag("active", sent.active, kept.active));
    }
    if !same_key_set(&sent.ssh_keys, &kept.ssh_keys) {
        found.push(keys(sent.ssh_keys.len(), &kept.ssh_keys));
    }
    found
}

/// The changes of a PATCH that the server did not keep as sent.
pub(crate) fn after_patch(
    changes: &[UserChange],
    kept: &OwnedUser,
    rules: ServerRules,
) -> Vec<Difference> {
    let mut found = Vec::new();
    for change in changes {
        match change {
            UserChange::ExternalId(c) => {
                if c.new != kept.external_id {
                    found.push(Difference {
                        attribute: "externalId",
                        sent: format!("{:?}", c.new.as_str()),
                        kept: format!("{:?}", kept.external_id.as_str()),
                    });
                }
            }
            UserChange::UserName(c) => {
                if !rules.same_user_name(&c.new, &kept.user_name) {
                    found.push(text("userName", Some(&c.new), Some(&kept.user_name)));
                }
            }
            UserChange::GivenName(c) => {
                optional_change(
                    &mut found,
                    "name.givenName",
                    c.new.as_ref(),
                    kept.given_name.as_ref(),
                );
            }
            UserChange::FamilyName(c) => {
                optional_change(
                    &mut found,
                    "name.familyName",
                    c.new.as_ref(),
                    kept.family_name.as_ref(),
                );
            }
            UserChange::FormattedName(c) => {
                optional_change(
                    &mut found,
                    "name.formatted",
                    c.new.as_ref(),
                    kept.formatted_name.as_ref(),
                );
            }
            UserChange::DisplayName(c) => {
                optional_change(
                    &mut found,
                    "displayName",
                    c.new.as_ref(),
                    kept.display_name.as_ref(),
                );
            }
            UserChange::Email(c) => {
                if !rules.same_email(c.new.as_deref(), kept.email.as_deref()) {
                    found.push(text("emails", c.new.as_ref(), kept.email.as_ref()));
                }
            }
            UserChange::SshKeys(c) => {
                if !same_key_set(&c.new, &kept.ssh_keys) {
                    found.push(keys(c.new.len(), &kept.ssh_keys));
                }
            }
            UserChange::Active(c) => {
                if c.new != kept.active {
                    found.push(flag("active", c.new, kept.active));
                }
            }
        }
    }
    found
}

/// A value sent on create that the server left out or changed (a value not
/// sent is not judged).
fn optional(
    found: &mut Vec<Difference>,
    attribute: &'static str,
    sent: Option<&String>,
    kept: Option<&String>,
) {
    if sent.is_some() && sent != kept {
        found.push(text(attribute, sent, kept));
    }
}

/// A value a PATCH replaced (or removed) that the server did not keep.
fn optional_change(
    found: &mut Vec<Difference>,
    attribute: &'static str,
    sent: Option<&String>,
    kept: Option<&String>,
) {
    if sent != kept {
        found.push(text(attribute, sent, kept));
    }
}

fn text(attribute: &'static str, sent: Option<&String>, kept: Option<&String>) -> Difference {
    let show = |v: Option<&String>| v.map_or_else(|| "(none)".to_owned(), |v| format!("{v:?}"));
    Difference {
        attribute,
        sent: show(sent),
        kept: show(kept),
    }
}

fn flag(attribute: &'static str, sent: bool, kept: bool) -> Difference {
    Difference {
        attribute,
        sent: sent.to_string(),
        kept: kept.to_string(),
    }
}

fn keys(sent: usize, kept: &[String]) -> Difference {
    Difference {
        attribute: "sunkSshKeys",
        sent: format!("{sent} key(s)"),
        kept: format!("{} value(s)", kept.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ExternalId, ScimId};
    use crate::plan::FieldChange;

    fn kept() -> OwnedUser {
        OwnedUser {
            scim_id: ScimId::new("1"),
            external_id: ExternalId::new("pw-activate:user:1"),
            user_name: "ivan.petrov".into(),
            given_name: Some("Ivan".into()),
            family_name: Some("Petrov".into()),
            formatted_name: None,
            display_name: Some("Ivan Petrov".into()),
            email: Some("ivan@example.org".into()),
            active: true,
            ssh_keys: Vec::new(),
        }
    }

    #[test]
    fn a_create_is_judged_by_the_server_rules() {
        let sent = NewUserRecord {
            external_id: ExternalId::new("pw-activate:user:1"),
            user_name: "Ivan.Petrov".into(),
            given_name: Some("Ivan".into()),
            family_name: Some("Petrov".into()),
            formatted_name: Some("Ivan Petrov".into()),
            display_name: Some("Ivan Petrov".into()),
            email: Some("Ivan@Example.org".into()),
            active: true,
            ssh_keys: Vec::new(),
        };
        let found = after_create(&sent, &kept(), ServerRules::default());
        assert_eq!(
            found,
            vec![Difference {
                attribute: "name.formatted",
                sent: "\"Ivan Petrov\"".into(),
                kept: "(none)".into()
            }],
            "a case-only difference in userName or emails is no difference"
        );
        let exact = ServerRules {
            user_name_case_exact: true,
            ..ServerRules::default()
        };
        let attributes: Vec<&str> = after_create(&sent, &kept(), exact)
            .iter()
            .map(|d| d.attribute)
            .collect();
        assert_eq!(attributes, vec!["userName", "name.formatted"]);
    }

    #[test]
    fn a_patch_is_judged_change_by_change() {
        let changes = [
            UserChange::FormattedName(FieldChange {
                old: None,
                new: Some("Ivan Petrov".into()),
            }),
            UserChange::Active(FieldChange {
                old: false,
                new: true,
            }),
            UserChange::DisplayName(FieldChange {
                old: None,
                new: Some("Ivan Petrov".into()),
            }),
        ];
        let found = after_patch(&changes, &kept(), ServerRules::default());
        let attributes: Vec<&str> = found.iter().map(|d| d.attribute).collect();
        assert_eq!(attributes, vec!["name.formatted"]);
    }
}
