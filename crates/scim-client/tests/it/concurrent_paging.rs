//! Index pages fetched concurrently once the first page announced `totalResults`,
//! with every defensive check of the pager still in force, and cursor paging
//! (RFC 9865) where the server advertises it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use scim_client::{AdaptiveLimiter, LimiterConfig, Paging, ScimClient, ScimError, User};
use secrecy::SecretString;
use serde_json::{Value, json};
use testkit::scim::{Quirks, ScimEmulator, ScimOptions};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{Paged, Total, builder, ids, nz, scim, user};

/// A client over `server` asking for pages of `page_size`, with a limiter allowing
/// `concurrency` requests in flight.
fn concurrent(server: &MockServer, page_size: u32, concurrency: usize) -> ScimClient {
    builder(server)
        .page_size(nz(page_size))
        .limiter(Arc::new(AdaptiveLimiter::new(LimiterConfig::new(
            concurrency,
        ))))
        .build()
        .unwrap()
}

fn users(n: usize) -> Vec<Value> {
    (1..=n).map(user).collect()
}

fn expected(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("u{i}")).collect()
}

fn user_id(u: &User) -> &str {
    &u.id
}

/// Serves `inner` on `GET /scim/org-1/Users`.
async fn serve(inner: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/org-1/Users"))
        .respond_with(inner)
        .mount(&server)
        .await;
    server
}

struct Shared(Arc<Paged>);

impl Respond for Shared {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

/// The `startIndex` values asked for, sorted (concurrent requests arrive in any
/// order).
fn starts(paged: &Paged) -> Vec<u64> {
    let mut starts: Vec<u64> = paged.seen.lock().unwrap().iter().map(|s| s.0).collect();
    starts.sort_unstable();
    starts
}

fn start_index(request: &Request) -> u64 {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == "startIndex")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1)
}

/// Answers like [`Paged`], after `delay` for every page, or only for the page at
/// `slow_start`; notes when each page was asked for and when the slow one is
/// answered.
struct Delayed {
    paged: Paged,
    delay: Duration,
    slow_start: Option<u64>,
    arrivals: Mutex<HashMap<u64, Instant>>,
    slow_answered_at: Mutex<Option<Instant>>,
}

impl Respond for Delayed {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let start = start_index(request);
        let now = Instant::now();
        self.arrivals.lock().unwrap().insert(start, now);
        let template = self.paged.respond(request);
        match self.slow_start {
            Some(slow) if slow == start => {
                *self.slow_answered_at.lock().unwrap() = Some(now + self.delay);
                template.set_delay(self.delay)
            }
            Some(_) => template,
            None => template.set_delay(self.delay),
        }
    }
}

struct Via(Arc<Delayed>);

impl Respond for Via {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

#[tokio::test]
async fn pages_after_the_first_are_fetched_concurrently_within_the_limiter() {
    let delayed = Arc::new(Delayed {
        paged: Paged::new(users(20)),
        delay: Duration::from_millis(150),
        slow_start: None,
        arrivals: Mutex::default(),
        slow_answered_at: Mutex::default(),
    });
    let server = serve(Via(Arc::clone(&delayed))).await;
    let client = concurrent(&server, 2, 4);

    // Sample the limiter's requests in flight while the listing runs.
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (client, most, done) = (client.clone(), Arc::clone(&most), Arc::clone(&done));
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Some(limits) = client.limits() {
                    most.fetch_max(limits.in_flight, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let listed = client.list_all_users(None).await.unwrap();
    done.store(true, Ordering::Relaxed);
    sampler.await.unwrap();

    assert_eq!(ids(&listed, user_id), expected(1..=20), "in server order");
    assert_eq!(
        starts(&delayed.paged),
        [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21],
        "each page once and the one confirming the end, nothing more"
    );
    let most = most.load(Ordering::Relaxed);
    assert_eq!(most, 4, "four pages in flight at most, and at times four");
}

#[tokio::test]
async fn a_delayed_page_does_not_hold_back_the_pages_after_it() {
    let delayed = Arc::new(Delayed {
        paged: Paged::new(users(10)),
        delay: Duration::from_secs(2),
        slow_start: Some(3),
        arrivals: Mutex::default(),
        slow_answered_at: Mutex::default(),
    });
    let server = serve(Via(Arc::clone(&delayed))).await;
    let client = concurrent(&server, 2, 4);
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=10), "in server order");

    let arrivals = delayed.arrivals.lock().unwrap().clone();
    let slow_answered = delayed.slow_answered_at.lock().unwrap().unwrap();
    for start in [5, 7, 9] {
        assert!(
            arrivals[&start] < slow_answered,
            "the page at startIndex {start} was asked for before the slow page at 3 was answered"
        );
    }
    assert_eq!(starts(&delayed.paged), [1, 3, 5, 7, 9, 11]);
}

#[tokio::test]
async fn without_a_limiter_pages_are_read_one_after_another() {
    let paged = Arc::new(Paged::new(users(6)));
    let server = serve(Shared(Arc::clone(&paged))).await;
    let client = builder(&server).page_size(nz(2)).build().unwrap();
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=6));
    // In request order: nothing was asked for ahead.
    assert_eq!(
        *paged.seen.lock().unwrap(),
        [(1, 2), (3, 2), (5, 2), (7, 2)]
    );
}

#[tokio::test]
async fn a_total_too_high_is_still_an_incomplete_listing() {
    let paged = Arc::new(Paged {
        total: Total::Claim(9),
        ..Paged::new(users(5))
    });
    let server = serve(Shared(Arc::clone(&paged))).await;
    let client = concurrent(&server, 2, 4);
    let results: Vec<Result<User, ScimError>> = client.list_users(None).collect().await;
    let records: Vec<User> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .cloned()
        .collect();
    assert_eq!(
        ids(&records, user_id),
        expected(1..=5),
        "in order before the error"
    );
    let error = results.into_iter().find_map(Result::err).unwrap();
    assert!(
        matches!(
            error,
            ScimError::IncompleteListing {
                expected: 9,
                got: 5,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(client.list_all_users(None).await.is_err());
}

#[tokio::test]
async fn a_total_too_low_is_paged_past_to_an_empty_page() {
    let paged = Arc::new(Paged {
        total: Total::Claim(3),
        ..Paged::new(users(7))
    });
    let server = serve(Shared(Arc::clone(&paged))).await;
    let client = concurrent(&server, 2, 4);
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=7));
    // Planned from the announced 3: pages 3 (and the one confirming the end, 5);
    // then, the count distrusted, one page after another to an empty one.
    assert_eq!(starts(&paged), [1, 3, 5, 7, 8]);
}

#[tokio::test]
async fn an_ignored_start_index_is_still_an_error() {
    let paged = Arc::new(Paged {
        ignore_start: true,
        ..Paged::new(users(9))
    });
    let server = serve(Shared(Arc::clone(&paged))).await;
    let client = concurrent(&server, 2, 4);
    let error = client.list_all_users(None).await.unwrap_err();
    assert!(
        matches!(
            error,
            ScimError::NoNewIds {
                page: 2,
                start_index: 3,
                ..
            }
        ),
        "{error:?}"
    );
}

/// Serves fixed pages by `startIndex`: `(ids, totalResults)`; anything else is an
/// empty page.
struct Fixed {
    pages: HashMap<u64, (Vec<usize>, u64)>,
    seen: Mutex<Vec<u64>>,
}

impl Respond for Fixed {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let start = start_index(request);
        self.seen.lock().unwrap().push(start);
        let (records, total) = self.pages.get(&start).cloned().unwrap_or((Vec::new(), 0));
        let resources: Vec<Value> = records.into_iter().map(user).collect();
        scim(
            200,
            &json!({"totalResults": total, "startIndex": start, "Resources": resources}),
        )
    }
}

struct SharedFixed(Arc<Fixed>);

impl Respond for SharedFixed {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

#[tokio::test]
async fn records_repeated_across_concurrent_pages_are_listed_once() {
    // A record shifted back between two reads brings u2 again on the page at 3; the
    // page at 5 is then full and one more page confirms the end.
    let fixed = Arc::new(Fixed {
        pages: HashMap::from([
            (1, (vec![1, 2], 5)),
            (3, (vec![2, 3], 5)),
            (5, (vec![4, 5], 5)),
        ]),
        seen: Mutex::default(),
    });
    let server = serve(SharedFixed(Arc::clone(&fixed))).await;
    let client = concurrent(&server, 2, 4);
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=5));
    let mut seen = fixed.seen.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(seen, [1, 3, 5, 7]);
}

#[tokio::test]
async fn a_page_shorter_than_planned_cancels_the_plan_and_nothing_is_skipped() {
    // The page at 3 holds one record although two were asked for: the next page
    // starts at 4, not at 5 as planned, and the listing goes on from there.
    let fixed = Arc::new(Fixed {
        pages: HashMap::from([
            (1, (vec![1, 2], 6)),
            (3, (vec![3], 6)),
            (4, (vec![4, 5], 6)),
            (5, (vec![5, 6], 6)),
            (6, (vec![6], 6)),
        ]),
        seen: Mutex::default(),
    });
    let server = serve(SharedFixed(Arc::clone(&fixed))).await;
    let client = concurrent(&server, 2, 4);
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=6));
    let seen = fixed.seen.lock().unwrap().clone();
    assert!(seen.contains(&4) && seen.contains(&6), "{seen:?}");
}

#[tokio::test]
async fn a_first_page_again_past_the_end_completes_a_listing_of_full_pages() {
    // Four users in full pages of two; the page confirming the end (at 5) is
    // answered with the first page again.
    let fixed = Arc::new(Fixed {
        pages: HashMap::from([
            (1, (vec![1, 2], 4)),
            (3, (vec![3, 4], 4)),
            (5, (vec![1, 2], 4)),
        ]),
        seen: Mutex::default(),
    });
    let server = serve(SharedFixed(Arc::clone(&fixed))).await;
    let client = concurrent(&server, 2, 4);
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=4));
    let mut seen = fixed.seen.lock().unwrap().clone();
    seen.sort_unstable();
    assert_eq!(seen, [1, 3, 5]);
}

#[tokio::test]
async fn the_page_cap_follows_the_announced_total_past_a_thousand_pages() {
    // 1,100 pages of 2, where the server caps pages silently: more than the fixed
    // cap of 1,000 pages there used to be.
    let paged = Arc::new(Paged {
        cap: Some(2),
        ..Paged::new(users(2_200))
    });
    let server = serve(Shared(Arc::clone(&paged))).await;
    let client = concurrent(&server, 100, 8);
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(ids(&listed, user_id), expected(1..=2_200));
    assert_eq!(paged.seen.lock().unwrap().len(), 1_100);
}

#[tokio::test]
async fn a_server_sending_far_more_pages_than_announced_meets_the_page_cap() {
    // The total says 4 records in pages of 2; the server then keeps sending new
    // records on every page while announcing a total that is always too low.
    struct Endless;
    impl Respond for Endless {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let start = usize::try_from(start_index(request)).unwrap();
            let resources: Vec<Value> = (start..start + 2).map(user).collect();
            scim(
                200,
                &json!({"totalResults": 4, "startIndex": start, "Resources": resources}),
            )
        }
    }
    let server = serve(Endless).await;
    let client = builder(&server)
        .page_size(nz(2))
        .max_pages(nz(50))
        .limiter(Arc::new(AdaptiveLimiter::new(LimiterConfig::new(4))))
        .build()
        .unwrap();
    let error = client.list_all_users(None).await.unwrap_err();
    assert!(
        matches!(
            error,
            ScimError::PageCapExceeded {
                max_pages: 50,
                collected: 100,
                ..
            }
        ),
        "{error:?}"
    );
}

async fn emulator_with_users(n: usize, quirks: Quirks) -> (ScimEmulator, ScimClient) {
    let emulator = ScimEmulator::start(ScimOptions {
        page_cap: 3,
        quirks,
        ..ScimOptions::default()
    })
    .await
    .unwrap();
    for i in 0..n {
        emulator
            .seed_user(json!({
                "userName": format!("user{i:02}"),
                "externalId": format!("pw-activate:user:{i}"),
            }))
            .unwrap();
    }
    let client = ScimClient::builder(
        Url::parse(emulator.base_url()).unwrap(),
        SecretString::from(emulator.token().to_owned()),
    )
    .page_size(nz(100))
    .limiter(Arc::new(AdaptiveLimiter::new(LimiterConfig::new(4))))
    .build()
    .unwrap();
    (emulator, client)
}

fn user_names(users: &[User]) -> Vec<String> {
    users.iter().map(|u| u.user_name.clone()).collect()
}

#[tokio::test]
async fn a_server_advertising_cursors_is_listed_by_cursor() {
    let (emulator, client) = emulator_with_users(
        10,
        Quirks {
            cursor_paging: true,
            ..Quirks::default()
        },
    )
    .await;
    assert_eq!(client.paging(), Paging::Index, "until learnt");
    assert_eq!(client.learn_paging().await.unwrap(), Paging::Cursor);
    assert_eq!(client.paging(), Paging::Cursor);
    let from = emulator.log().records().len();
    let listed = client.list_all_users(None).await.unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("user{i:02}")).collect();
    assert_eq!(user_names(&listed), names);
    let queries: Vec<String> = emulator.log().records()[from..]
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    // Pages of 3 (the server's cap): four pages, one after another, each naming
    // the cursor the one before gave.
    assert_eq!(queries.len(), 4, "{queries:?}");
    assert!(queries[0].starts_with("cursor=&count=100"), "{queries:?}");
    assert!(
        queries[1..]
            .iter()
            .all(|q| q.starts_with("cursor=cur") && !q.contains("startIndex")),
        "{queries:?}"
    );

    // The owned listing goes by cursor too, filter and all.
    let owned = client.list_users_with_prefix("pw-activate:").await.unwrap();
    assert_eq!(user_names(&owned.records), names);
}

#[tokio::test]
async fn a_server_without_cursors_is_listed_by_start_index() {
    let (emulator, client) = emulator_with_users(7, Quirks::default()).await;
    assert_eq!(client.learn_paging().await.unwrap(), Paging::Index);
    let from = emulator.log().records().len();
    let listed = client.list_all_users(None).await.unwrap();
    assert_eq!(listed.len(), 7);
    let mut queries: Vec<String> = emulator.log().records()[from..]
        .iter()
        .map(|r| r.query.clone().unwrap_or_default())
        .collect();
    queries.sort();
    assert_eq!(
        queries,
        [
            "startIndex=1&count=100",
            "startIndex=4&count=100",
            "startIndex=7&count=100"
        ]
    );
}

#[tokio::test]
async fn the_first_page_again_past_the_end_against_the_emulator() {
    // Six owned users in pages of exactly the size asked for: the page at 7 is
    // answered with the first page again, and the listing is complete.
    let (emulator, client) = emulator_with_users(
        6,
        Quirks {
            restart_past_end: true,
            ..Quirks::default()
        },
    )
    .await;
    let client = ScimClient::builder(
        client.base_url().clone(),
        SecretString::from(emulator.token().to_owned()),
    )
    .page_size(nz(3))
    .limiter(Arc::new(AdaptiveLimiter::new(LimiterConfig::new(4))))
    .build()
    .unwrap();
    let owned = client.list_users_with_prefix("pw-activate:").await.unwrap();
    assert_eq!(owned.records.len(), 6);
}
