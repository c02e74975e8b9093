//! How the target server compares and keeps user attributes: the rules the
//! planner compares by, and the orchestrator checks written records by.
//!
//! The defaults are RFC 7643's: `userName` and `emails.value` are
//! `caseExact: false`, so a difference only in case is not a change, and a
//! server that folds case does not cause a PATCH on every run. The CLI reads
//! a server's `/Schemas` to override them; without it the defaults hold.

use serde::Serialize;

use crate::ids::fold;

/// How the target server compares and keeps user attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ServerRules {
    /// `userName` compares case-sensitively (`caseExact: true`).
    pub user_name_case_exact: bool,
    /// `emails.value` compares case-sensitively (`caseExact: true`).
    pub email_case_exact: bool,
    /// Attributes the server does not keep (absent from its schema, or
    /// `returned: never`): they are neither sent nor compared. `userName`,
    /// `externalId`, `active` and `sunkSshKeys` are always sent: without them
    /// the tool cannot work, or cannot take access away.
    pub not_kept: NotKept,
}

/// The optional user attributes a server may not keep. One flag per
/// attribute reads better here than a bit set.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NotKept {
    /// `name.givenName`.
    pub given_name: bool,
    /// `name.familyName`.
    pub family_name: bool,
    /// `name.formatted`.
    pub formatted_name: bool,
    /// `displayName`.
    pub display_name: bool,
    /// `emails`.
    pub emails: bool,
}

impl NotKept {
    /// The SCIM paths of the attributes not kept, in a fixed order.
    pub fn paths(&self) -> Vec<&'static str> {
        [
            (self.given_name, "name.givenName"),
            (self.family_name, "name.familyName"),
            (self.formatted_name, "name.formatted"),
            (self.display_name, "displayName"),
            (self.emails, "emails"),
        ]
        .into_iter()
        .filter_map(|(not_kept, path)| not_kept.then_some(path))
        .collect()
    }
}

impl ServerRules {
    /// Whether two `userName`s are the same to the server.
    pub fn same_user_name(&self, a: &str, b: &str) -> bool {
        a == b || (!self.user_name_case_exact && fold(a) == fold(b))
    }

    /// Whether two email values are the same to the server.
    pub fn same_email(&self, a: Option<&str>, b: Option<&str>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => a == b || (!self.email_case_exact && fold(a) == fold(b)),
            (a, b) => a == b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_follows_case_exact() {
        let rfc = ServerRules::default();
        assert!(rfc.same_user_name("Ivan.Petrov", "ivan.petrov"));
        assert!(!rfc.same_user_name("ivan", "ivan2"));
        assert!(rfc.same_email(Some("A@Example.org"), Some("a@example.org")));
        assert!(!rfc.same_email(Some("a@example.org"), None));
        let exact = ServerRules {
            user_name_case_exact: true,
            email_case_exact: true,
            ..ServerRules::default()
        };
        assert!(!exact.same_user_name("Ivan.Petrov", "ivan.petrov"));
        assert!(!exact.same_email(Some("A@Example.org"), Some("a@example.org")));
        assert!(exact.same_email(None, None));
    }

    #[test]
    fn paths_name_what_is_not_kept() {
        let not_kept = NotKept {
            formatted_name: true,
            emails: true,
            ..NotKept::default()
        };
        assert_eq!(not_kept.paths(), vec!["name.formatted", "emails"]);
        assert!(NotKept::default().paths().is_empty());
    }
}
