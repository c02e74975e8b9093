//! The fault proxy in front of the SCIM emulator, seen from a plain reqwest client.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use testkit::faults::{self, HttpFaults, InjectedFault, Outcome, RequestId, Stall};
use testkit::proxy::{Action, Dialect, FaultProxy, Rule, respond_json, rewrite_json};
use testkit::request_log::Method;
use testkit::scim::{Resource, ScimEmulator, ScimOptions};

use crate::support::{Scim, start_scim, status_and_body, user_body};

/// The SCIM emulator behind a proxy drawing with `seed`, and a client of the proxy.
async fn proxied(seed: u64) -> (ScimEmulator, FaultProxy, Scim) {
    let emulator = start_scim(ScimOptions::default()).await;
    let proxy = FaultProxy::start(emulator.base_url(), Dialect::Scim, seed)
        .await
        .expect("start the proxy");
    let path = url_path(emulator.base_url());
    let scim = Scim::new(&format!("{}{path}", proxy.url()), emulator.token());
    (emulator, proxy, scim)
}

fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.find('/')
        .map_or(String::new(), |at| rest[at..].to_owned())
}

#[tokio::test]
async fn requests_pass_unchanged_and_are_logged() {
    let (emulator, proxy, scim) = proxied(0).await;
    let body = user_body("ada", "pw-activate:user:1", &[]);
    let created = scim.post("Users", &body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(
        created.headers()["location"]
            .to_str()
            .unwrap()
            .contains("/Users/")
    );
    assert!(created.headers().contains_key("etag"));
    let listed: Value = scim
        .list_json("Users", Some(r#"userName eq "ada""#), 1, 10)
        .await;
    assert_eq!(listed["totalResults"], json!(1));
    assert_eq!(listed["Resources"][0]["userName"], json!("ada"));

    let upstream = emulator.log().records();
    let seen = proxy.log().records();
    assert_eq!(seen.len(), 2);
    for (proxied, served) in seen.iter().zip(&upstream) {
        assert_eq!(
            (proxied.method, &proxied.path, &proxied.query, proxied.fault),
            (served.method, &served.path, &served.query, None)
        );
        assert_eq!(proxied.request_bytes, served.request_bytes);
        assert_eq!(proxied.status, served.status);
    }
    assert_eq!(seen[0].request_bytes, body.to_string().len());
    assert_eq!((seen[0].status, seen[1].status), (Some(201), Some(200)));
}

#[tokio::test]
async fn a_lost_post_answer_is_applied_then_reset() {
    let (emulator, proxy, scim) = proxied(2).await;
    proxy.set_faults(HttpFaults {
        lost_post_probability: 1.0,
        ..HttpFaults::default()
    });
    let error = scim
        .post_request("Users", &user_body("grace", "pw-activate:user:2", &[]))
        .send()
        .await
        .expect_err("the answer is lost");
    assert!(error.status().is_none());
    assert_eq!(emulator.count_by_external_id("pw-activate:user:2"), 1);
    // Only POSTs lose their answers.
    assert_eq!(scim.get("/Users").await.status(), StatusCode::OK);
    let records: Vec<_> = proxy
        .log()
        .records()
        .iter()
        .map(|r| (r.method, r.status, r.fault))
        .collect();
    assert_eq!(
        records,
        [
            (Method::Post, None, Some(InjectedFault::LostResponse)),
            (Method::Get, Some(200), None),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_follow_request_identity_not_arrival_order() {
    let faults = HttpFaults {
        error_503_probability: 0.5,
        ..HttpFaults::default()
    };
    let targets: Vec<String> = (1..=24)
        .map(|i| format!("/Users?startIndex={i}&count=1"))
        .collect();
    // One proxy sees the requests one by one, the other all at once, last first.
    let sequential = {
        let (_emulator, proxy, scim) = proxied(9).await;
        proxy.set_faults(faults.clone());
        let mut out = BTreeMap::new();
        for target in &targets {
            out.insert(target.clone(), scim.get(target).await.status().as_u16());
        }
        out
    };
    let (_emulator, proxy, scim) = proxied(9).await;
    proxy.set_faults(faults.clone());
    let scim = Arc::new(scim);
    let mut tasks = tokio::task::JoinSet::new();
    for target in targets.iter().rev().cloned() {
        let scim = Arc::clone(&scim);
        tasks.spawn(async move {
            let status = scim.get(&target).await.status().as_u16();
            (target, status)
        });
    }
    let concurrent: BTreeMap<String, u16> = tasks.join_all().await.into_iter().collect();
    assert_eq!(sequential, concurrent);
    let path = url_path(&scim.base);
    for (target, status) in &sequential {
        let id = RequestId::of_request("GET", &format!("{path}{target}"), b"");
        let expected = match faults::decide(&faults, 9, id, 1).outcome {
            Outcome::Proceed => 200,
            _ => 503,
        };
        assert_eq!(*status, expected, "{target}");
    }
    let values: Vec<u16> = sequential.values().copied().collect();
    assert!(values.contains(&200) && values.contains(&503), "{values:?}");
}

#[tokio::test]
async fn a_stalled_request_reaches_the_server_after_its_client_gave_up() {
    let (emulator, proxy, scim) = proxied(3).await;
    proxy.set_faults(HttpFaults {
        stall: Some(Stall {
            probability: 1.0,
            delay: Duration::from_millis(400),
        }),
        ..HttpFaults::default()
    });
    let error = scim
        .post_request("Users", &user_body("late", "pw-activate:user:3", &[]))
        .timeout(Duration::from_millis(100))
        .send()
        .await
        .expect_err("the stall outlasts the client timeout");
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(emulator.users().len(), 0, "not yet forwarded");
    proxy.settle(Duration::from_secs(10)).await;
    assert_eq!(emulator.count_by_external_id("pw-activate:user:3"), 1);
    assert_eq!(emulator.log().count(Method::Post, Resource::Users), 1);
    let record = proxy.log().records().pop().unwrap();
    assert_eq!(record.fault, Some(InjectedFault::Stalled));
}

#[tokio::test]
async fn scripted_rules_come_first_and_run_out() {
    let (emulator, proxy, scim) = proxied(4).await;
    proxy.set_faults(HttpFaults {
        error_503_probability: 1.0,
        ..HttpFaults::default()
    });
    proxy.add_rule(Rule::times(
        1,
        Some("GET"),
        "/Users$",
        respond_json(418, "application/scim+json", r#"{"detail": "teapot"}"#),
    ));
    proxy.add_rule(
        Rule::always(
            Some("GET"),
            "/Users$",
            rewrite_json(|v| v["totalResults"] = json!(99)),
        )
        .with_query("userName eq \"x\""),
    );
    proxy.add_rule(Rule::always(Some("GET"), "/Groups$", Action::Reset));

    let (status, body) = status_and_body(scim.get("/Users").await).await;
    assert_eq!((status, body["detail"].clone()), (418, json!("teapot")));
    let rewritten: Value = scim
        .list_json("Users", Some(r#"userName eq "x""#), 1, 10)
        .await;
    assert_eq!(rewritten["totalResults"], json!(99));
    assert_eq!(rewritten["Resources"], json!([]));
    // The one-time rule ran out and no other rule matches: the drawn 503.
    assert_eq!(
        scim.get("/Users").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let reset = scim
        .client
        .get(format!("{}/Groups", scim.base))
        .bearer_auth(&scim.token)
        .send()
        .await;
    assert!(reset.is_err());
    let faults: Vec<_> = proxy.log().records().iter().map(|r| r.fault).collect();
    assert_eq!(
        faults,
        [
            Some(InjectedFault::Scripted),
            Some(InjectedFault::Scripted),
            Some(InjectedFault::Error503),
            Some(InjectedFault::Scripted),
        ]
    );
    assert_eq!(
        emulator.log().total(),
        1,
        "only the rewritten list was forwarded"
    );
}

#[tokio::test]
async fn an_upstream_that_is_not_http_is_refused_at_start() {
    for upstream in ["https://127.0.0.1:1", "not a url", "127.0.0.1:80"] {
        let error = FaultProxy::start(upstream, Dialect::Scim, 0)
            .await
            .expect_err(upstream);
        assert!(error.to_string().contains("upstream"), "{error}");
    }
}
