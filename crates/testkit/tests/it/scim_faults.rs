//! Each fault knob of the SCIM emulator, seen from a plain reqwest client.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::faults::{HttpFaults, InjectedFault, Latency, RateLimit, Stall};
use testkit::request_log::Method;
use testkit::scim::{Faults, Resource, ScimOptions};

use crate::support::{Scim, id_of, scim_error, start_scim, status_and_body, user_body};

fn http(faults: HttpFaults) -> Faults {
    Faults {
        http: faults,
        ..Faults::default()
    }
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let emulator = start_scim(ScimOptions {
        faults: http(HttpFaults {
            rate_limit: Some(RateLimit {
                requests: 2,
                per: Duration::from_secs(60),
            }),
            ..HttpFaults::default()
        }),
        ..ScimOptions::default()
    })
    .await;
    let scim = Scim::of(&emulator);
    assert_eq!(scim.get("/Users").await.status(), StatusCode::OK);
    assert_eq!(scim.get("/Users").await.status(), StatusCode::OK);
    let limited = scim.get("/Users").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // One token comes back every 30 s.
    assert!((29..=30).contains(&retry_after), "{retry_after}");
    let (status, body) = status_and_body(limited).await;
    assert_eq!((status, body["status"].clone()), (429, json!("429")));
    let faults: Vec<_> = emulator.log().records().iter().map(|r| r.fault).collect();
    assert_eq!(faults, [None, None, Some(InjectedFault::RateLimited)]);

    emulator.set_faults(Faults::default());
    assert_eq!(scim.get("/Users").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn lost_create_response_applies_the_create_then_resets() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    emulator.set_faults(http(HttpFaults {
        lost_post_probability: 1.0,
        ..HttpFaults::default()
    }));
    let body = user_body("gina", "pw-activate:user:1", &[]);
    let error = scim
        .post_request("Users", &body)
        .send()
        .await
        .expect_err("the response is lost");
    assert!(error.status().is_none());
    assert_eq!(emulator.count_by_external_id("pw-activate:user:1"), 1);
    let record = emulator.log().records().pop().unwrap();
    assert_eq!(
        (record.method, record.status, record.fault),
        (Method::Post, None, Some(InjectedFault::LostResponse))
    );
    // PATCH is not affected, and a blind retry of the create hits the trap: 409.
    let id = id_of(&emulator.user_by_user_name("gina").unwrap());
    let response = scim
        .patch_ops(
            "Users",
            &id,
            json!([{"op": "replace", "path": "active", "value": false}]),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    emulator.set_faults(Faults::default());
    let response = scim.post("Users", &body).await;
    assert_eq!(
        scim_error(response).await,
        (409, Some("uniqueness".to_owned()))
    );
    assert_eq!(emulator.users().len(), 1);
    assert_eq!(emulator.log().count(Method::Post, Resource::Users), 2);
}

async fn seeded(n: usize, options: ScimOptions) -> (testkit::scim::ScimEmulator, Vec<String>) {
    let emulator = start_scim(options).await;
    let ids = (1..=n)
        .map(|i| {
            emulator
                .seed_user(json!({"userName": format!("u{i}"), "externalId": format!("pw-activate:user:{i}")}))
                .unwrap()
        })
        .collect();
    (emulator, ids)
}

async fn total(scim: &Scim) -> (i64, usize) {
    let page: Value = scim.list_json("Users", None, 1, 10).await;
    (
        page["totalResults"].as_i64().unwrap(),
        page["Resources"].as_array().unwrap().len(),
    )
}

#[tokio::test]
async fn total_results_can_lie_both_ways() {
    let (emulator, _) = seeded(3, ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    assert_eq!(total(&scim).await, (3, 3));
    emulator.set_faults(Faults {
        total_results_offset: 4,
        ..Faults::default()
    });
    assert_eq!(total(&scim).await, (7, 3));
    emulator.set_faults(Faults {
        total_results_offset: -2,
        ..Faults::default()
    });
    assert_eq!(total(&scim).await, (1, 3));
    emulator.set_faults(Faults {
        total_results_offset: -100,
        ..Faults::default()
    });
    assert_eq!(total(&scim).await, (0, 3));
}

#[tokio::test]
async fn ignored_start_index_always_returns_the_first_page() {
    let (emulator, ids) = seeded(
        5,
        ScimOptions {
            page_cap: 2,
            ..ScimOptions::default()
        },
    )
    .await;
    let scim = Scim::of(&emulator);
    let page_ids = |page: &Value| {
        page["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(id_of)
            .collect::<Vec<_>>()
    };
    let page: Value = scim.list_json("Users", None, 3, 2).await;
    assert_eq!(page_ids(&page), ids[2..4]);
    emulator.set_faults(Faults {
        ignore_start_index: true,
        ..Faults::default()
    });
    let page: Value = scim.list_json("Users", None, 3, 2).await;
    assert_eq!(page_ids(&page), ids[0..2]);
    assert_eq!(page["startIndex"], json!(3));
    assert_eq!(page["totalResults"], json!(5));
}

#[tokio::test]
async fn sw_can_be_rejected_while_eq_still_works() {
    let (emulator, ids) = seeded(2, ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    emulator.set_faults(Faults {
        reject_sw: true,
        ..Faults::default()
    });
    let response = scim
        .list("Users", Some(r#"externalId sw "pw-activate:""#), 1, 10)
        .await;
    assert_eq!(
        scim_error(response).await,
        (400, Some("invalidFilter".to_owned()))
    );
    let page: Value = scim
        .list_json(
            "Users",
            Some(r#"externalId eq "pw-activate:user:2""#),
            1,
            10,
        )
        .await;
    assert_eq!(page["Resources"][0]["id"], json!(ids[1]));
    let page: Value = scim.list_json("Users", None, 1, 10).await;
    assert_eq!(page["totalResults"], json!(2));
}

#[tokio::test]
async fn random_faults_are_deterministic_for_a_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let emulator = start_scim(ScimOptions {
            seed,
            faults: http(HttpFaults {
                error_503_probability: 0.5,
                ..HttpFaults::default()
            }),
            ..ScimOptions::default()
        })
        .await;
        let scim = Scim::of(&emulator);
        let mut out = Vec::new();
        for _ in 0..24 {
            out.push(scim.get("/ServiceProviderConfig").await.status().as_u16());
        }
        out
    }
    let first = statuses(42).await;
    assert_eq!(first, statuses(42).await);
    assert!(first.contains(&200) && first.contains(&503), "{first:?}");
    assert_ne!(first, statuses(43).await);
}

#[tokio::test]
async fn latency_delays_and_stalls_outlast_a_client_timeout() {
    let emulator = start_scim(ScimOptions::default()).await;
    let scim = Scim::of(&emulator);
    emulator.set_faults(http(HttpFaults {
        latency: Latency::Fixed(Duration::from_millis(30)),
        ..HttpFaults::default()
    }));
    let started = Instant::now();
    assert_eq!(scim.get("/Users").await.status(), StatusCode::OK);
    // A lower bound only: the server sleeps at least this long.
    assert!(started.elapsed() >= Duration::from_millis(30));

    emulator.set_faults(http(HttpFaults {
        stall: Some(Stall {
            probability: 1.0,
            delay: Duration::from_secs(30),
        }),
        ..HttpFaults::default()
    }));
    let error = scim
        .client
        .get(format!("{}/Users", scim.base))
        .bearer_auth(&scim.token)
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .expect_err("the stall outlasts the client timeout");
    assert!(error.is_timeout(), "{error:?}");
    let record = emulator.log().records().pop().unwrap();
    assert_eq!(
        (record.status, record.fault),
        (None, Some(InjectedFault::Stalled))
    );
}
