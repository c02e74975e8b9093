//! What a run reports outside stdout: the heartbeat after a successful run, the
//! metrics pushed after every run, and the `check` preflight.

use crate::harness::{HttpRecorder, World};

const HEARTBEAT_SECRET: &str = "hb-check-7f3Kq9Zx";

#[tokio::test(flavor = "multi_thread")]
async fn the_heartbeat_is_sent_only_after_a_successful_run() {
    let world = World::start().await;
    let receiver = HttpRecorder::start(200).await;
    let url = format!("{}/ping/{HEARTBEAT_SECRET}", receiver.base_url());
    let env = [
        ("HEARTBEAT_URL", url.as_str()),
        ("LOG_LEVEL", "trace"),
        ("RUST_LOG", "trace"),
    ];

    let output = world.run(&[], &env).await;
    output.expect_code(0);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].target, format!("/ping/{HEARTBEAT_SECRET}"));
    assert!(
        !output.stderr.contains(HEARTBEAT_SECRET) && !output.stdout.contains(HEARTBEAT_SECRET),
        "the heartbeat URL's secret part is not logged\n{output}"
    );

    // A guard that withheld deactivations: no heartbeat.
    world.activate.remove_user("carmen.ruiz").unwrap();
    world.activate.remove_user("alice.nguyen").unwrap();
    let mut guarded = env.to_vec();
    guarded.push(("MAX_DEACTIVATIONS", "1"));
    world.run(&[], &guarded).await.expect_code(4);
    assert_eq!(receiver.requests().len(), 1);

    // A fatal error: no heartbeat.
    let mut fatal = env.to_vec();
    fatal.push(("CW_SCIM_BEARER_TOKEN", "not-the-token"));
    world.run(&[], &fatal).await.expect_code(1);
    assert_eq!(receiver.requests().len(), 1);

    // A failing heartbeat endpoint is a warning, not a failed run.
    let broken = HttpRecorder::start(500).await;
    let url = format!("{}/ping", broken.base_url());
    let output = world
        .run(
            &["--allow-mass-deactivation"],
            &[("HEARTBEAT_URL", url.as_str())],
        )
        .await;
    output.expect_code(0);
    assert_eq!(broken.requests().len(), 1);
    assert!(output.stderr.contains("heartbeat failed"), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn run_metrics_are_pushed_after_every_run() {
    let world = World::start().await;
    let gateway = HttpRecorder::start(200).await;
    let env = [("PUSHGATEWAY_URL", gateway.base_url())];

    world.run(&[], &env).await.expect_code(0);
    world.activate.remove_user("carmen.ruiz").unwrap();
    world.activate.remove_user("alice.nguyen").unwrap();
    world
        .run(&[], &[env[0], ("MAX_DEACTIVATIONS", "1")])
        .await
        .expect_code(4);
    world
        .run(&[], &[env[0], ("CW_SCIM_BEARER_TOKEN", "not-the-token")])
        .await
        .expect_code(1);

    // The successful run replaces its run group and the success group; the others
    // replace only their run group.
    let mut pushes = gateway.requests();
    let targets: Vec<(&str, &str)> = pushes
        .iter()
        .map(|p| (p.method.as_str(), p.target.as_str()))
        .collect();
    assert_eq!(
        targets,
        [
            ("PUT", "/metrics/job/pw_activate_scim_sync"),
            ("PUT", "/metrics/job/pw_activate_scim_sync/result/success"),
            ("PUT", "/metrics/job/pw_activate_scim_sync"),
            ("PUT", "/metrics/job/pw_activate_scim_sync"),
        ]
    );
    let success = pushes.remove(1);
    assert!(
        success.body.lines().all(|l| l.starts_with('#')
            || l.starts_with("pw_activate_scim_sync_last_success_timestamp_seconds ")),
        "{}",
        success.body
    );
    let line = |body: &str, name: &str| -> Option<String> {
        body.lines()
            .find(|l| l.starts_with(&format!("pw_activate_scim_sync_{name} ")))
            .map(str::to_owned)
    };
    assert_eq!(
        line(&pushes[0].body, "exit_code").as_deref(),
        Some("pw_activate_scim_sync_exit_code 0")
    );
    assert!(line(&success.body, "last_success_timestamp_seconds").is_some());
    assert!(line(&pushes[0].body, "last_success_timestamp_seconds").is_none());
    assert!(
        pushes[0]
            .body
            .lines()
            .any(|l| l
                == "pw_activate_scim_sync_operations{kind=\"create_user\",outcome=\"applied\"} 9"),
        "{}",
        pushes[0].body
    );
    assert_eq!(
        line(&pushes[1].body, "exit_code").as_deref(),
        Some("pw_activate_scim_sync_exit_code 4")
    );
    assert_eq!(
        line(&pushes[1].body, "guard_tripped").as_deref(),
        Some("pw_activate_scim_sync_guard_tripped 1")
    );
    assert!(line(&pushes[1].body, "last_success_timestamp_seconds").is_none());
    assert_eq!(
        line(&pushes[2].body, "exit_code").as_deref(),
        Some("pw_activate_scim_sync_exit_code 1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reads_both_sides_and_writes_nothing() {
    let world = World::start().await;
    let output = world.run(&["check"], &[]).await;
    output.expect_code(0);
    assert_eq!(world.scim().log().writes(), 0);
    assert!(world.scim().log().total() > 0, "the SCIM side was reached");
    assert!(world.activate.log().total() > 0, "ACTIVATE was reached");

    let output = world
        .run(&["check"], &[("CW_SCIM_BEARER_TOKEN", "not-the-token")])
        .await;
    output.expect_code(1);
    assert_eq!(world.scim().log().writes(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_per_line() {
    let world = World::start().await;
    let output = world
        .run(&[], &[("LOG_FORMAT", "json"), ("LOG_LEVEL", "debug")])
        .await;
    output.expect_code(0);
    let events: Vec<serde_json::Value> = output
        .stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"))
        })
        .collect();
    assert!(
        events
            .iter()
            .all(|e| e["level"].is_string() && e["message"].is_string())
    );
    let finished = events
        .iter()
        .find(|e| e["message"] == "run finished")
        .expect("a run finished event");
    assert_eq!(finished["exit_code"], 0);
    assert_eq!(finished["create_users"], 9);
    assert_eq!(finished["applied"], 14);
}
