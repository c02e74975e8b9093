//! `pw-activate-scim-sync check`: a read-only preflight of both sides.

use std::io::Write;
use std::num::NonZeroU32;

use anyhow::Result;
use futures::StreamExt;
use reconcile_core::OWNED_PREFIX;
use scim_client::{Filter, ScimClient, ScimError, ScimType};

use crate::adapters::target::chain;
use crate::clients::{self, RequestCounts};
use crate::env_vars as env;
use crate::exit::Exit;
use crate::settings::Settings;

/// Runs the checks, prints one line per check (with the fix for a failure), and
/// returns [`Exit::Success`] when all passed, [`Exit::Fatal`] otherwise.
pub async fn check(settings: &Settings, out: &mut dyn Write) -> Result<Exit> {
    let mut failed = 0;
    let mut line = |ok: bool, what: &str, detail: &str| -> Result<()> {
        if !ok {
            failed += 1;
        }
        writeln!(out, "{} {what}: {detail}", if ok { "ok  " } else { "FAIL" })?;
        Ok(())
    };

    match clients::activate(&settings.activate, &settings.run) {
        Err(error) => line(false, "ACTIVATE settings", &format!("{error:#}"))?,
        Ok(activate) => match activate.org_name().await {
            Err(error) => line(false, "ACTIVATE organization", &chain(&error))?,
            Ok(org) => {
                line(true, "ACTIVATE organization", &org)?;
                match activate.list_users(&org).await {
                    Ok(users) => {
                        line(true, "ACTIVATE users", &format!("{} readable", users.len()))?;
                    }
                    Err(error) => line(false, "ACTIVATE users", &chain(&error))?,
                }
            }
        },
    }

    let counts = RequestCounts::default();
    match clients::scim(&settings.scim, &settings.run, &counts) {
        Err(error) => line(false, "SCIM settings", &format!("{error:#}"))?,
        Ok(scim) => {
            match scim.discover().await {
                Ok(config) => line(
                    true,
                    "SCIM ServiceProviderConfig",
                    &format!(
                        "patch supported: {}, page cap: {}",
                        config.patch.supported,
                        config
                            .filter
                            .max_results
                            .map_or_else(|| "none".to_owned(), |m| m.to_string())
                    ),
                )?,
                Err(error) => line(false, "SCIM ServiceProviderConfig", &scim_fix(&error))?,
            }
            let one =
                ScimClient::builder(settings.scim.base_url.clone(), settings.scim.token.clone())
                    .page_size(NonZeroU32::MIN)
                    .timeout(settings.run.timeout)
                    .build()?;
            let mut owned = Box::pin(one.list_users(Some(Filter::sw("externalId", OWNED_PREFIX))));
            match owned.next().await {
                None | Some(Ok(_)) => line(
                    true,
                    "SCIM owned-user listing",
                    &format!("filter externalId sw \"{OWNED_PREFIX}\" accepted"),
                )?,
                Some(Err(error)) if error.scim_type() == Some(&ScimType::InvalidFilter) => line(
                    true,
                    "SCIM owned-user listing",
                    "the server rejects `sw`; syncs will list every user and select by prefix here",
                )?,
                Some(Err(error)) => line(false, "SCIM owned-user listing", &scim_fix(&error))?,
            }
        }
    }
    Ok(if failed == 0 {
        Exit::Success
    } else {
        Exit::Fatal
    })
}

fn scim_fix(error: &ScimError) -> String {
    let fix = match error.status() {
        Some(401) => format!(
            " (check {} / {}: the token may be expired or revoked; create one on the \
             CoreWeave Console's SCIM Configuration page)",
            env::CW_SCIM_BEARER_TOKEN,
            env::CW_SCIM_BEARER_TOKEN_FILE
        ),
        Some(403) => " (the token lacks SCIM access; enable the SCIM API in the CoreWeave Console)"
            .to_owned(),
        Some(404) => format!(
            " (check {} or {}: the organization segment looks wrong)",
            env::CW_SCIM_ORG_USERID,
            env::CW_SCIM_BASE_URL
        ),
        _ => String::new(),
    };
    format!("{}{fix}", chain(error))
}
