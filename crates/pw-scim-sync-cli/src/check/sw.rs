//! The `sw` filter: does `externalId sw "pw-activate:"` answer what an unfiltered
//! listing selected here holds? Tells "not supported, answered 200 with nothing"
//! apart from "nothing owned yet".

use std::fmt::Write as _;

use reconcile_core::OWNED_PREFIX;
use scim_client::{Endpoint, Filter, PageStart, ScimClient};

use super::report::{Probe, Verdict};
use super::scim::{Everything, LimitsSeen, owned};
use http_policy::chain::render as chain;

/// What the filtered listing of one endpoint said, next to the full listing.
enum SwAnswer {
    /// The server refused the filter.
    Rejected(String),
    /// Another error.
    Failed(String),
    /// Records outside the filter came back.
    Strays { returned: usize, strays: usize },
    /// As many as the full listing holds.
    Consistent(u64),
    /// Nothing, although the full listing holds owned records.
    Empty { owned: u64 },
    /// A different number.
    Inconsistent { server: u64, client: u64 },
}

/// Lists `endpoint` completely with the owned filter and compares the result with
/// `owned_here`, the owned records of the unfiltered listing.
async fn filtered(client: &ScimClient, endpoint: Endpoint, owned_here: u64) -> SwAnswer {
    let filter = Filter::sw("externalId", OWNED_PREFIX);
    let listed = if endpoint == Endpoint::Groups {
        client.list_all_groups(Some(filter)).await.map(|groups| {
            groups
                .into_iter()
                .map(|g| g.external_id)
                .collect::<Vec<_>>()
        })
    } else {
        client
            .list_all_users(Some(filter))
            .await
            .map(|users| users.into_iter().map(|u| u.external_id).collect())
    };
    match listed {
        Err(error) if error.is_filter_rejection() => SwAnswer::Rejected(chain(&error)),
        Err(error) => SwAnswer::Failed(chain(&error)),
        Ok(external_ids) => {
            let returned = external_ids.len();
            let strays = external_ids.iter().filter(|x| !owned(x.as_deref())).count();
            let server = returned as u64;
            if strays > 0 {
                SwAnswer::Strays { returned, strays }
            } else if server == owned_here {
                SwAnswer::Consistent(server)
            } else if server == 0 {
                SwAnswer::Empty { owned: owned_here }
            } else {
                SwAnswer::Inconsistent {
                    server,
                    client: owned_here,
                }
            }
        }
    }
}

/// The consequence of an empty answer to a filter the server does not support.
const CONFIRMS: &str = "every sync confirms an empty owned listing with an unfiltered one and selects by prefix itself, so no duplicates are created (one more full listing per run)";

impl SwAnswer {
    /// What to print for `what` (`Users`), the verdict, and the consequence.
    fn judge(&self, what: &str) -> (String, Verdict, &'static str) {
        match self {
            Self::Rejected(error) => (
                format!("{what}: refused ({error})"),
                Verdict::Degraded,
                "every sync lists everything and selects by prefix itself (more requests, same result)",
            ),
            Self::Failed(error) => (
                format!("{what}: {error}"),
                Verdict::Blocking,
                "the owned listing fails, so every sync stops before writing; report the answer to CoreWeave",
            ),
            Self::Strays { returned, strays } => (
                format!(
                    "{what}: {returned} records, {strays} of them without the prefix (the filter is ignored)"
                ),
                Verdict::Degraded,
                "the sync checks the prefix itself and ignores the others",
            ),
            Self::Consistent(n) => (
                format!("{what}: {n}, as many as the unfiltered listing holds"),
                Verdict::Fine,
                "",
            ),
            Self::Empty { owned } => (
                format!(
                    "{what}: 200 with nothing, although the unfiltered listing holds {owned} owned records (sw is not supported, and not refused)"
                ),
                Verdict::Degraded,
                CONFIRMS,
            ),
            Self::Inconsistent { server, client } => (
                format!(
                    "{what}: {server}, but the unfiltered listing holds {client} owned records"
                ),
                Verdict::Blocking,
                "a sync would believe the filtered answer and create or miss records; report it to CoreWeave before syncing",
            ),
        }
    }
}

/// The `sw` probe over users and groups.
pub(super) async fn probe(
    client: &ScimClient,
    base: &str,
    everything: &Everything,
    limits: &mut LimitsSeen,
) -> Probe {
    let owned_users = everything
        .users
        .iter()
        .filter(|u| owned(u.external_id.as_deref()))
        .count() as u64;
    let owned_groups = everything
        .groups
        .iter()
        .filter(|g| owned(g.external_id.as_deref()))
        .count() as u64;
    let users = filtered(client, Endpoint::Users, owned_users).await;
    let groups = filtered(client, Endpoint::Groups, owned_groups).await;
    let mut asked = format!(
        "GET {base}/Users and {base}/Groups with filter=externalId sw \"{OWNED_PREFIX}\", every page, \
         compared with the unfiltered listings selected here"
    );
    let mut verdict = Verdict::Fine;
    let mut answered = Vec::new();
    let mut consequences: Vec<&str> = Vec::new();
    for (what, answer) in [("Users", &users), ("Groups", &groups)] {
        let (text, v, consequence) = answer.judge(what);
        answered.push(text);
        verdict = verdict.max(v);
        if !consequence.is_empty() && !consequences.contains(&consequence) {
            consequences.push(consequence);
        }
    }
    // Nothing owned yet: an empty answer proves nothing about `sw`, so test it on a
    // record that exists.
    if matches!(
        (&users, &groups),
        (SwAnswer::Consistent(0), SwAnswer::Consistent(0))
    ) {
        let test = sw_works(client, everything, limits).await;
        if let Some(filter) = test.filter() {
            let _ = write!(asked, "; GET {base}/Users?{filter}");
        }
        let (tested, tested_verdict, tested_consequence) = test.judge();
        answered.push(tested);
        verdict = verdict.max(tested_verdict);
        consequences.push(tested_consequence);
    } else if consequences.is_empty() {
        consequences.push("every sync uses the server's filter");
    }
    Probe::new(
        "sw filter",
        asked,
        answered.join("; "),
        verdict,
        consequences.join("; "),
    )
}

enum SwTest {
    NoRecord,
    Works { filter: String, found: u64 },
    Ignored { filter: String, user_name: String },
    Failed(String),
}

impl SwTest {
    fn filter(&self) -> Option<&str> {
        match self {
            Self::Works { filter, .. } | Self::Ignored { filter, .. } => Some(filter),
            Self::NoRecord | Self::Failed(_) => None,
        }
    }

    fn judge(&self) -> (String, Verdict, &'static str) {
        match self {
            Self::NoRecord => (
                "no record exists to test sw against".to_owned(),
                Verdict::Fine,
                "nothing is owned yet; the first sync creates everything, and later syncs confirm any empty owned listing with an unfiltered one",
            ),
            Self::Works { filter, found } => (
                format!("{filter} found {found}: sw works, nothing is owned yet"),
                Verdict::Fine,
                "the first sync creates everything; later syncs use the server's filter",
            ),
            Self::Ignored { filter, user_name } => (
                format!(
                    "{filter} answered 200 with nothing although {user_name:?} exists: sw is not supported, and not refused"
                ),
                Verdict::Degraded,
                CONFIRMS,
            ),
            Self::Failed(error) => (
                format!("testing sw on userName: {error}"),
                Verdict::Degraded,
                "sw could not be tested; syncs confirm any empty owned listing with an unfiltered one",
            ),
        }
    }
}

/// Asks `userName sw "<first letters of an existing userName>"`.
async fn sw_works(client: &ScimClient, everything: &Everything, limits: &mut LimitsSeen) -> SwTest {
    let Some(user) = everything.users.iter().find(|u| !u.user_name.is_empty()) else {
        return SwTest::NoRecord;
    };
    let head: String = user.user_name.chars().take(3).collect();
    let filter = Filter::sw("userName", head.as_str());
    let text = format!(
        "filter=userName sw {}",
        serde_json::Value::String(head.clone())
    );
    match client
        .probe_page(
            Endpoint::Users,
            Some(&filter),
            &PageStart::Index(1),
            Some(1),
        )
        .await
    {
        Ok(page) => {
            limits.note(&page);
            let found = page.total_results.unwrap_or(page.resources.len() as u64);
            if found == 0 && page.resources.is_empty() {
                SwTest::Ignored {
                    filter: text,
                    user_name: user.user_name.clone(),
                }
            } else {
                SwTest::Works {
                    filter: text,
                    found,
                }
            }
        }
        Err(error) if error.is_filter_rejection() => SwTest::Failed(format!(
            "refused ({}); the owned listing will fall back to client-side selection",
            chain(&error)
        )),
        Err(error) => SwTest::Failed(chain(&error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_answer_has_its_verdict() {
        let cases = [
            (
                SwAnswer::Consistent(3),
                Verdict::Fine,
                "Users: 3, as many as the unfiltered listing holds",
            ),
            (
                SwAnswer::Rejected("HTTP 400".to_owned()),
                Verdict::Degraded,
                "Users: refused (HTTP 400)",
            ),
            (
                SwAnswer::Strays {
                    returned: 10,
                    strays: 7,
                },
                Verdict::Degraded,
                "Users: 10 records, 7 of them without the prefix (the filter is ignored)",
            ),
            (
                SwAnswer::Empty { owned: 4 },
                Verdict::Degraded,
                "Users: 200 with nothing, although the unfiltered listing holds 4 owned records (sw is not supported, and not refused)",
            ),
            (
                SwAnswer::Inconsistent {
                    server: 2,
                    client: 4,
                },
                Verdict::Blocking,
                "Users: 2, but the unfiltered listing holds 4 owned records",
            ),
            (
                SwAnswer::Failed("HTTP 500".to_owned()),
                Verdict::Blocking,
                "Users: HTTP 500",
            ),
        ];
        for (answer, verdict, text) in cases {
            let (answered, judged, consequence) = answer.judge("Users");
            assert_eq!((answered.as_str(), judged), (text, verdict));
            assert_eq!(consequence.is_empty(), verdict == Verdict::Fine);
        }
    }
}
