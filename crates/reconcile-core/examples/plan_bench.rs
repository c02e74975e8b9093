//! Prints how long projection, planning and rendering take for synthetic
//! organizations of 10k, 100k and 200k users (run with `--release`):
//!
//! ```text
//! cargo run --release -p reconcile-core --example plan_bench [-- OUTPUT.jsonl]
//! ```
//!
//! Each organization has one group per 50 users, every user in two or three
//! groups, one SSH key per user, and a target that already holds 90% of the
//! users (some drifted, some deactivated) plus 1,000 foreign user names. Each
//! figure is the best of three runs. With an output path, the figures are also
//! written there as JSON lines.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use reconcile_core::{
    ExternalId, LicenseStatus, Observed, OwnedGroup, OwnedUser, PlanOptions, ScimId, Scope,
    SourceGroup, SourceSnapshot, SourceUser, plan, project,
};
use ssh_key::PublicKey;
use ssh_key::public::{Ed25519PublicKey, KeyData};

fn key(i: usize) -> String {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(i as u64).to_le_bytes());
    PublicKey::new(KeyData::Ed25519(Ed25519PublicKey(bytes)), "work")
        .to_openssh()
        .expect("ed25519 keys encode")
}

fn snapshot(users: usize) -> SourceSnapshot {
    let groups = (users / 50).max(1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); groups];
    for user in 0..users {
        members[user % groups].push(user);
        members[(user * 7 + 3) % groups].push(user);
        if user % 3 == 0 {
            members[(user * 13 + 5) % groups].push(user);
        }
    }
    SourceSnapshot {
        users: (0..users)
            .map(|i| SourceUser {
                id: i.to_string().into(),
                username: format!("user{i}"),
                name: format!("Given{i} Family{i}"),
                email: format!("user{i}@example.com"),
                active: i % 20 != 0,
                license: LicenseStatus::Active,
                ssh_keys: Some(vec![key(i)]),
            })
            .collect(),
        groups: members
            .into_iter()
            .enumerate()
            .map(|(g, m)| SourceGroup {
                id: format!("g{g}").into(),
                name: format!("project-{g}"),
                members: m.into_iter().map(|i| i.to_string().into()).collect(),
            })
            .collect(),
        complete: true,
        unusable_users: Vec::new(),
    }
}

fn observed(snapshot: &SourceSnapshot) -> Observed {
    let mut users = Vec::new();
    for (i, user) in snapshot.users.iter().enumerate() {
        if i % 10 == 9 {
            continue; // Not created yet.
        }
        users.push(OwnedUser {
            scim_id: ScimId::new(format!("s{i}")),
            external_id: ExternalId::for_user(&user.id),
            user_name: user.username.clone(),
            given_name: Some(format!("Given{i}")),
            family_name: Some(format!("Family{i}")),
            formatted_name: Some(user.name.clone()),
            display_name: Some(user.name.clone()),
            email: Some(if i % 37 == 0 {
                "old@example.com".to_owned()
            } else {
                user.email.clone()
            }),
            active: i % 53 != 0,
            ssh_keys: vec![key(i)],
        });
    }
    let mut groups = Vec::new();
    for (g, group) in snapshot.groups.iter().enumerate() {
        groups.push(OwnedGroup {
            scim_id: ScimId::new(format!("sg{g}")),
            external_id: ExternalId::for_group(&group.id),
            display_name: group.name.clone(),
            // Members whose user exists; every fifth group misses its first one.
            members: group
                .members
                .iter()
                .skip(usize::from(g % 5 == 0))
                .filter(|m| !m.as_str().ends_with('9'))
                .map(|m| ScimId::new(format!("s{m}")))
                .collect(),
        });
    }
    let mut observed = Observed::new(users, groups);
    observed.foreign_user_names = (0..1000).map(|i| format!("svc{i}")).collect();
    observed
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let output = std::env::args().nth(1);
    let mut lines = String::new();
    println!(
        "{:>8} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "users", "memberships", "project", "plan", "json", "ops"
    );
    for users in [10_000, 100_000, 200_000] {
        let snapshot = snapshot(users);
        let memberships: usize = snapshot.groups.iter().map(|g| g.members.len()).sum();
        let observed = observed(&snapshot);

        // Best of three runs, to keep other load on the machine out of the figures.
        let mut project_time = Duration::MAX;
        let mut plan_time = Duration::MAX;
        let mut json_time = Duration::MAX;
        let mut last = None;
        for _ in 0..3 {
            let start = Instant::now();
            let desired = project(&snapshot, &Scope::All);
            project_time = project_time.min(start.elapsed());

            let start = Instant::now();
            let plan = plan(&desired, &observed, &PlanOptions::default());
            plan_time = plan_time.min(start.elapsed());

            let start = Instant::now();
            let json = plan.to_json();
            json_time = json_time.min(start.elapsed());
            last = Some((plan, json));
        }
        let (plan, json) = last.expect("three runs");

        println!(
            "{users:>8} {memberships:>12} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>10}",
            ms(project_time),
            ms(plan_time),
            ms(json_time),
            plan.operations.len()
        );
        let _ = writeln!(
            lines,
            "{{\"users\":{users},\"memberships\":{memberships},\"project_ms\":{:.3},\"plan_ms\":{:.3},\"json_ms\":{:.3},\"operations\":{},\"json_bytes\":{}}}",
            ms(project_time),
            ms(plan_time),
            ms(json_time),
            plan.operations.len(),
            json.len()
        );
    }
    if let Some(path) = output {
        if let Err(error) = std::fs::write(&path, lines) {
            eprintln!("could not write {path}: {error}");
            std::process::exit(1);
        }
        println!("figures written to {path}");
    }
}
