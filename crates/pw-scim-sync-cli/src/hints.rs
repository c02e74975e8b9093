//! What an operator should look at when ACTIVATE refuses a request. The client
//! library says what failed; only the command knows which setting supplied the key
//! and the organization, so the advice is written here.

use activate_client::ActivateError;

use crate::env_vars as env;
use crate::settings::ActivateSettings;

/// The setting to look at for `error`, when the answer points at one: a rejected
/// key (401), a key that may not read the organization (403), an organization that
/// does not exist (404 on an organization listing).
pub fn activate_access(error: &ActivateError, settings: &ActivateSettings) -> Option<String> {
    let key = &settings.credential_var;
    let org = || match &settings.org_name {
        Some(_) => format!("check {}", env::ACTIVATE_ORG_NAME),
        None => format!(
            "the organization was asked of ACTIVATE (whoami); set {} to name another",
            env::ACTIVATE_ORG_NAME
        ),
    };
    match error {
        ActivateError::Unauthorized { .. } => Some(format!(
            "{key} is wrong, expired or revoked, or belongs to another platform; create a new API key in ACTIVATE"
        )),
        ActivateError::Forbidden { .. } => Some(format!(
            "the key in {key} may not read this organization; use a key of an organization administrator, or {}",
            org()
        )),
        ActivateError::OrgNotFound { .. } => Some(format!("no such organization; {}", org())),
        _ => None,
    }
}

/// [`activate_access`], or, for any other failure, where to look when ACTIVATE
/// cannot be reached or read.
pub fn activate_any(error: &ActivateError, settings: &ActivateSettings) -> String {
    activate_access(error, settings).unwrap_or_else(|| {
        format!(
            "check {} and that ACTIVATE is reachable from here",
            env::ACTIVATE_API_URL
        )
    })
}
