//! Paging: the page size the server really returns for the size asked,
//! `itemsPerPage`, whether `startIndex` is honoured, cursor paging (RFC 9865), and
//! how many pages a full listing takes.

use std::collections::HashSet;

use scim_client::{Endpoint, PageProbe, PageStart, ScimClient, ScimError, ServiceProviderConfig};
use serde_json::Value;

use super::report::{Probe, Verdict};
use super::scim::{Everything, LimitsSeen, owned};
use http_policy::chain::render as chain;

/// What the probe found so far.
#[derive(Default)]
struct Findings {
    asked: Vec<String>,
    answered: Vec<String>,
    consequence: Vec<String>,
    verdict: Verdict,
}

/// The paging probe; `first` is the unfiltered first page of users, already read.
pub(super) async fn probe(
    client: &ScimClient,
    base: &str,
    config: &Result<ServiceProviderConfig, ScimError>,
    first: &PageProbe,
    everything: &Everything,
    limits: &mut LimitsSeen,
) -> Probe {
    let asked_size = first_count(&first.query);
    let returned = first.resources.len() as u64;
    let total = first.total_results.unwrap_or(everything.users.len() as u64);
    let mut found = Findings {
        asked: vec![
            format!("GET {base}/ServiceProviderConfig"),
            format!("GET {base}/Users?{}", first.query),
        ],
        ..Findings::default()
    };
    let (advertised_cap, cursor) = match config {
        Ok(config) => {
            found.answered.push(format!(
                "ServiceProviderConfig: filter.maxResults {}, cursor paging {}",
                config
                    .filter
                    .max_results
                    .map_or_else(|| "not stated".to_owned(), |n| n.to_string()),
                if config.pagination.cursor {
                    "advertised (RFC 9865)"
                } else {
                    "not advertised"
                }
            ));
            (config.filter.max_results, config.pagination.cursor)
        }
        Err(error) => {
            found
                .answered
                .push(format!("ServiceProviderConfig: {}", chain(error)));
            (None, false)
        }
    };
    found.answered.push(format!(
        "asked for {asked_size}, got {returned} (itemsPerPage {}, totalResults {total})",
        first
            .items_per_page
            .map_or_else(|| "absent".to_owned(), |n| n.to_string())
    ));
    if first.items_per_page.is_some_and(|n| n != returned) {
        found
            .answered
            .push("itemsPerPage differs from the records on the page".to_owned());
        found
            .consequence
            .push("the sync counts the records it received, not itemsPerPage".to_owned());
    }
    // More than one page: the records a page really holds, and what the second brought.
    let paged = returned < total && returned > 0;
    let second = if paged {
        if returned < asked_size {
            found.consequence.push(format!(
                "pages hold {returned} records whatever count asks for{}; the sync pages by the records received",
                if advertised_cap == Some(returned) {
                    " (as advertised)"
                } else {
                    " (not advertised)"
                }
            ));
        }
        Some(second_page(client, base, first, asked_size, &mut found, limits).await)
    } else {
        None
    };
    let cursors_work = cursor && cursor_page(client, base, asked_size, &mut found, limits).await;
    match second {
        Some(PageSecond::Brought) | None => {}
        Some(PageSecond::Failed(_)) if cursors_work => {
            found.verdict = found.verdict.max(Verdict::Degraded);
            found.consequence.push(
                "the sync follows the cursors instead, so it is not held; it would stop if the server stopped advertising them"
                    .to_owned(),
            );
        }
        Some(PageSecond::Failed(consequence)) => {
            found.verdict = Verdict::Blocking;
            found.consequence.push(consequence.to_owned());
        }
    }
    let page_size = if paged { returned } else { asked_size };
    listing_pages(client, page_size, everything, &mut found);
    Probe::new(
        "paging",
        found.asked.join("; "),
        found.answered.join("; "),
        found.verdict,
        found.consequence.join("; "),
    )
}

/// How many pages the listings take, next to the page limit of a listing.
fn listing_pages(
    client: &ScimClient,
    page_size: u64,
    everything: &Everything,
    found: &mut Findings,
) {
    let pages = |n: u64| n.div_ceil(page_size.max(1)).max(1);
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
    found.consequence.push(format!(
        "a full owned listing takes {} + {} pages (users + groups) now; an unfiltered one {} + {}",
        pages(owned_users),
        pages(owned_groups),
        pages(everything.users.len() as u64),
        pages(everything.groups.len() as u64)
    ));
    let most = pages(everything.users.len().max(everything.groups.len()) as u64);
    let cap = u64::from(client.max_pages());
    // Beyond the cap the full listing above already failed ("full listing").
    if most * 2 > cap {
        found.verdict = found.verdict.max(Verdict::Degraded);
        found.consequence.push(format!(
            "an unfiltered listing needs {most} of the {cap} pages a listing may take; syncs that list everything (sw refused or ignored) fail once it needs more"
        ));
    }
}

/// What the second `startIndex` page brought.
enum PageSecond {
    /// New records: `startIndex` is honoured.
    Brought,
    /// The first page again, or an error: what that does to a sync paging by
    /// `startIndex`.
    Failed(&'static str),
}

/// The second page must bring new records: `startIndex` is honoured.
async fn second_page(
    client: &ScimClient,
    base: &str,
    first: &PageProbe,
    count: u64,
    found: &mut Findings,
    limits: &mut LimitsSeen,
) -> PageSecond {
    let start = 1 + first.resources.len() as u64;
    found
        .asked
        .push(format!("GET {base}/Users?startIndex={start}&count={count}"));
    let second = client
        .probe_page(
            Endpoint::Users,
            None,
            &PageStart::Index(start),
            Some(u32::try_from(count).unwrap_or(u32::MAX)),
        )
        .await;
    match second {
        Ok(page) => {
            limits.note(&page);
            let seen: HashSet<&str> = first
                .resources
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str))
                .collect();
            let fresh = page
                .resources
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str))
                .filter(|id| !seen.contains(id))
                .count();
            if fresh == 0 {
                found
                    .answered
                    .push("the second page repeated the first (startIndex is ignored)".to_owned());
                PageSecond::Failed(
                    "every sync stops reading (no new ids) and writes nothing; report it to CoreWeave",
                )
            } else {
                found
                    .answered
                    .push(format!("the second page brought {fresh} new records"));
                PageSecond::Brought
            }
        }
        Err(error) => {
            found
                .answered
                .push(format!("the second page: {}", chain(&error)));
            PageSecond::Failed("a listing that fails stops every sync before it writes")
        }
    }
}

/// One RFC 9865 cursor page, when the server advertises them; whether it brought
/// records (or the listing is empty).
async fn cursor_page(
    client: &ScimClient,
    base: &str,
    count: u64,
    found: &mut Findings,
    limits: &mut LimitsSeen,
) -> bool {
    found
        .asked
        .push(format!("GET {base}/Users?cursor=&count={count}"));
    match client
        .probe_page(
            Endpoint::Users,
            None,
            &PageStart::Cursor(String::new()),
            Some(u32::try_from(count).unwrap_or(u32::MAX)),
        )
        .await
    {
        Ok(page) => {
            limits.note(&page);
            found.answered.push(format!(
                "a cursor page held {} records, nextCursor {}",
                page.resources.len(),
                if page.next_cursor.is_some() {
                    "given"
                } else {
                    "absent"
                }
            ));
            found.consequence.push(
                "the sync follows the advertised cursors (nextCursor), one page after another"
                    .to_owned(),
            );
            !page.resources.is_empty() || page.total_results == Some(0)
        }
        Err(error) => {
            found
                .answered
                .push(format!("a cursor page: {}", chain(&error)));
            found.verdict = found.verdict.max(Verdict::Blocking);
            found.consequence.push(
                "the sync follows the advertised cursors, and a listing that fails stops every sync before it writes"
                    .to_owned(),
            );
            false
        }
    }
}

/// The `count` of a probe's query.
fn first_count(query: &str) -> u64 {
    query
        .split('&')
        .find_map(|p| p.strip_prefix("count="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_default()
}
