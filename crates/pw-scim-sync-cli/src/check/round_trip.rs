//! What the next run would PATCH on owned users: the planner's own comparison of the
//! desired state with the records as the server keeps them. Right after a sync this
//! is empty; what stays here is sent again on every run.

use reconcile_core::{Action, PlanOptions, UserChange, plan};
use scim_client::ScimClient;

use super::report::{Probe, Verdict};
use crate::adapters::observe::{learn_paging, list_owned, observe};
use crate::adapters::rules;
use crate::settings::Settings;
use http_policy::chain::render as chain;

/// Users shown in the details.
const SHOWN: usize = 5;

/// Reads the owned records as a sync does, plans, and reports the user updates.
pub(super) async fn probe(
    client: &ScimClient,
    base: &str,
    desired: &reconcile_core::Desired,
    settings: &Settings,
) -> Probe {
    let asked = format!(
        "the owned listings (GET {base}/Users and {base}/Groups, filtered), planned against ACTIVATE"
    );
    let read = async {
        learn_paging(client).await;
        let owned = list_owned(client).await?;
        observe(client, desired, owned, settings.run.concurrency).await
    };
    let target = match read.await {
        Ok(target) => target,
        Err(error) => {
            return Probe::new(
                "round trip",
                asked,
                chain(&error),
                Verdict::Blocking,
                "the owned listing fails, so every sync stops before writing",
            );
        }
    };
    let owned = target.observed.users().len();
    if owned == 0 {
        return Probe::new(
            "round trip",
            asked,
            "no owned user yet",
            Verdict::Fine,
            "nothing to compare; run check again right after the first sync",
        );
    }
    // By the server's own comparison rules, as a sync that writes users plans.
    let server = rules::read(client).await.unwrap_or_default();
    let plan = plan(
        desired,
        &target.observed,
        &PlanOptions {
            deactivation_limit: Some(settings.run.max_deactivations),
            override_deactivation_limit: false,
            rekey_limit: None,
            override_rekey_limit: false,
            server,
        },
    );
    let updates: Vec<_> = plan
        .operations
        .iter()
        .filter_map(|op| match &op.action {
            Action::UpdateUser(patch) => Some(patch),
            _ => None,
        })
        .collect();
    if updates.is_empty() {
        return Probe::new(
            "round trip",
            asked,
            format!("{owned} owned users; none would be updated"),
            Verdict::Fine,
            "what the server keeps equals what the sync sends, by the sync's comparison rules",
        );
    }
    let details = updates
        .iter()
        .take(SHOWN)
        .map(|patch| {
            format!(
                "{}: {}",
                patch.user_name,
                patch
                    .changes
                    .iter()
                    .map(describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    Probe::new(
        "round trip",
        asked,
        format!(
            "{owned} owned users; {} would be updated (the first {} below)",
            updates.len(),
            updates.len().min(SHOWN)
        ),
        Verdict::Degraded,
        "right after a sync these attributes should not differ: if they still do, the server does not keep them as sent, and every run sends them again. Run check again after a sync; what stays here is a server rule to report",
    )
    .with_details(details)
}

fn describe(change: &UserChange) -> String {
    let pair = |old: &Option<String>, new: &Option<String>| {
        format!(
            "{} ({} -> {})",
            change.attribute(),
            old.as_deref()
                .map_or_else(|| "absent".to_owned(), |v| format!("{v:?}")),
            new.as_deref()
                .map_or_else(|| "absent".to_owned(), |v| format!("{v:?}"))
        )
    };
    match change {
        UserChange::UserName(c) => format!("userName ({:?} -> {:?})", c.old, c.new),
        UserChange::GivenName(c)
        | UserChange::FamilyName(c)
        | UserChange::FormattedName(c)
        | UserChange::DisplayName(c)
        | UserChange::Email(c) => pair(&c.old, &c.new),
        UserChange::SshKeys(c) => {
            format!("sunkSshKeys (+{} -{})", c.added().len(), c.removed().len())
        }
        UserChange::Active(c) => format!("active ({} -> {})", c.old, c.new),
        UserChange::ExternalId(c) => format!("externalId ({} -> {})", c.old, c.new),
    }
}
