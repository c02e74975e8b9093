//! Each drawn transport fault from every server that injects it: both emulators, and
//! the proxy in front of each, seen from a plain reqwest client.

use std::sync::Arc;

use serde_json::json;
use testkit::activate::{ActivateEmulator, ActivateOptions, Faults as ActivateFaults};
use testkit::faults::{HttpFaults, InjectedFault};
use testkit::proxy::{Dialect, FaultProxy};
use testkit::request_log::RequestLog;
use testkit::scim::{Faults as ScimFaults, ScimOptions};

use crate::support::{client, start_scim, status_and_body};

/// `(status, fault)` of the last `n` requests a server logged.
type Tail = Box<dyn Fn(usize) -> Vec<(Option<u16>, Option<InjectedFault>)>>;

/// One server: where to send a GET, with which token, in which error dialect, how
/// to set its faults, and the last `(status, fault)` of its log.
struct Server {
    name: &'static str,
    url: String,
    token: String,
    dialect: Dialect,
    set_faults: Box<dyn Fn(HttpFaults)>,
    last: Tail,
}

fn tail<R: Copy + Ord>(log: &RequestLog<R>, n: usize) -> Vec<(Option<u16>, Option<InjectedFault>)> {
    let records = log.records();
    records[records.len().saturating_sub(n)..]
        .iter()
        .map(|r| (r.status, r.fault))
        .collect()
}

async fn servers() -> Vec<Server> {
    let scim = Arc::new(start_scim(ScimOptions::default()).await);
    let activate = Arc::new(
        ActivateEmulator::start(ActivateOptions::default())
            .await
            .unwrap(),
    );
    let scim_proxy = Arc::new(
        FaultProxy::start(scim.base_url(), Dialect::Scim, 1)
            .await
            .unwrap(),
    );
    let activate_proxy = Arc::new(
        FaultProxy::start(activate.base_url(), Dialect::Activate, 1)
            .await
            .unwrap(),
    );
    let scim_path = scim.base_url().replacen("http://", "", 1);
    let scim_path = &scim_path[scim_path.find('/').unwrap()..];
    let whoami = "/api/auth/whoami/organization";
    vec![
        Server {
            name: "SCIM emulator",
            url: format!("{}/ServiceProviderConfig", scim.base_url()),
            token: scim.token().to_owned(),
            dialect: Dialect::Scim,
            set_faults: Box::new({
                let scim = Arc::clone(&scim);
                move |http| {
                    scim.set_faults(ScimFaults {
                        http,
                        ..ScimFaults::default()
                    });
                }
            }),
            last: Box::new({
                let scim = Arc::clone(&scim);
                move |n| tail(scim.log(), n)
            }),
        },
        Server {
            name: "ACTIVATE emulator",
            url: format!("{}{whoami}", activate.base_url()),
            token: activate.api_key().to_owned(),
            dialect: Dialect::Activate,
            set_faults: Box::new({
                let activate = Arc::clone(&activate);
                move |http| {
                    activate.set_faults(ActivateFaults {
                        http,
                        ..ActivateFaults::default()
                    });
                }
            }),
            last: Box::new({
                let activate = Arc::clone(&activate);
                move |n| tail(activate.log(), n)
            }),
        },
        Server {
            name: "proxy in front of SCIM",
            url: format!("{}{scim_path}/ServiceProviderConfig", scim_proxy.url()),
            token: scim.token().to_owned(),
            dialect: Dialect::Scim,
            set_faults: Box::new({
                let proxy = Arc::clone(&scim_proxy);
                move |http| proxy.set_faults(http)
            }),
            last: Box::new(move |n| tail(scim_proxy.log(), n)),
        },
        Server {
            name: "proxy in front of ACTIVATE",
            url: format!("{}{whoami}", activate_proxy.url()),
            token: activate.api_key().to_owned(),
            dialect: Dialect::Activate,
            set_faults: Box::new({
                let proxy = Arc::clone(&activate_proxy);
                move |http| proxy.set_faults(http)
            }),
            last: Box::new(move |n| tail(activate_proxy.log(), n)),
        },
    ]
}

#[tokio::test]
async fn every_server_answers_each_drawn_fault_alike() {
    let certain = |faults: HttpFaults| HttpFaults {
        retry_after_secs: 7,
        ..faults
    };
    // (fault, what makes it certain, status, Retry-After, ACTIVATE's error code)
    let rows = [
        (
            InjectedFault::RateLimited,
            certain(HttpFaults {
                error_429_probability: 1.0,
                ..HttpFaults::default()
            }),
            Some(429),
            Some("7"),
            "rate_limited",
        ),
        (
            InjectedFault::Error503,
            certain(HttpFaults {
                error_503_probability: 1.0,
                ..HttpFaults::default()
            }),
            Some(503),
            Some("7"),
            "unavailable",
        ),
        (
            InjectedFault::Error500,
            certain(HttpFaults {
                error_500_probability: 1.0,
                ..HttpFaults::default()
            }),
            Some(500),
            None,
            "internal",
        ),
        (
            InjectedFault::Reset,
            certain(HttpFaults {
                reset_probability: 1.0,
                ..HttpFaults::default()
            }),
            None,
            None,
            "",
        ),
    ];
    let client = client();
    let servers = servers().await;
    for (fault, faults, status, retry_after, code) in rows {
        for server in &servers {
            let case = format!("{fault:?} from the {}", server.name);
            let get = || client.get(&server.url).bearer_auth(&server.token).send();
            // A pooled keep-alive connection first, so a reset hits one too.
            assert_eq!(get().await.unwrap().status(), 200, "{case}");
            (server.set_faults)(faults.clone());
            let answer = get().await;
            (server.set_faults)(HttpFaults::default());
            if let Some(status) = status {
                let answer = answer.unwrap_or_else(|e| panic!("{case}: {e}"));
                let header = answer
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                assert_eq!(header.as_deref(), retry_after, "{case}");
                let (got, body) = status_and_body(answer).await;
                assert_eq!(got, status, "{case}");
                let dialect = match server.dialect {
                    Dialect::Scim => body["status"] == json!(status.to_string()),
                    Dialect::Activate => {
                        body["error"] == json!(true) && body["code"] == json!(code)
                    }
                };
                assert!(dialect, "{case}: {body}");
            } else {
                let error = answer.expect_err(&case);
                assert!(
                    error.status().is_none() && !error.is_timeout(),
                    "{case}: {error:?}"
                );
            }
            assert_eq!(get().await.unwrap().status(), 200, "{case}: recovered");
            assert_eq!(
                (server.last)(3),
                [(Some(200), None), (status, Some(fault)), (Some(200), None)],
                "{case}"
            );
        }
    }
}
