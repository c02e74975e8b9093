//! Benchmark 1, the planner: projection and planning time (and the time of
//! `Observed::new`, which reads the target's group members as positions, as
//! projection does the source's), and peak memory, for organizations of 10k,
//! 100k and 200k users with a 1 % change against a converged target.
//!
//! This process builds each size's inputs (the source snapshot and the observed
//! target) and writes them as JSON under `target/bench-planner-inputs/`; a fresh
//! child process (this program with the hidden `planner-child` subcommand) reads
//! them, so that its peak RSS (`VmHWM` from `/proc/self/status`) is that of a process
//! that holds what the CLI holds, in the CLI's order: the snapshot until it is
//! projected, then the desired state, the observed target and the plan. No
//! generator garbage. The child projects and plans once for the memory figure, then
//! `iterations` more times for the time figures.
//!
//! The organization is `testkit`'s synthetic one (a 90 % `all-users` group, group
//! `j` with about `users / 2j` members, 0–3 SSH keys per user, 7 % inactive), with
//! one group per 100 users. The target holds exactly what the organization held
//! before the change: a record per desired user (active ones, and half of the
//! inactive ones as deactivated records), each group with its members, and 100
//! foreign user names. The change touches 1 % of users (a renamed person, a new
//! email, a rotated key, a deactivation, a departure, in turn), adds 0.2 % new users,
//! and moves 1 % of the memberships of every group (half removals, half additions).

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use reconcile_core::{
    Desired, LicenseStatus, Observed, OwnedGroup, OwnedUser, PlanOptions, ScimId, Scope,
    SourceGroup, SourceSnapshot, SourceUser, plan, project,
};
use serde_json::{Value, json};
use testkit::activate::LicenseStatus as FixtureLicense;
use testkit::synthetic::{SyntheticOrg, ed25519_key_line};

use crate::output::{Out, Target, ms, round3};

/// How many times each size's child runs, the sizes taking turns: a load that
/// comes and goes on the machine then falls on every size alike, not on whichever
/// size happened to run at that moment (the 200k ÷ 100k ratio is a comparison of
/// two runs).
const ROUNDS: usize = 3;

/// Runs every size (or only `only`) in child processes, [`ROUNDS`] rounds of one
/// child per size, and writes `planner.json`: per size, the times of every round's
/// child pooled, and the highest peak RSS.
pub fn run(out: &Out, only: &[usize], keep_inputs: bool) -> Result<()> {
    let (sizes, iterations): (&[usize], usize) = if !only.is_empty() {
        (only, if out.smoke { 1 } else { 7 })
    } else if out.smoke {
        (&[500, 1_000], 1)
    } else {
        (&[10_000, 100_000, 200_000], 7)
    };
    let rounds = if out.smoke { 1 } else { ROUNDS };
    println!(
        "== 1. planner (release build: {}; {rounds} rounds of a child per size, sizes in turn)",
        !cfg!(debug_assertions)
    );
    let exe = std::env::current_exe().context("cannot find this program")?;
    let dir = crate::workspace_root()
        .join("target")
        .join("bench-planner-inputs");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut paths = Vec::new();
    for &users in sizes {
        let groups = (users / 100).max(2);
        let (snapshot, observed) = inputs(users, groups);
        let snapshot_path = dir.join(format!("snapshot-{users}.json"));
        let observed_path = dir.join(format!("observed-{users}.json"));
        write_json(&snapshot_path, &snapshot)?;
        write_json(&observed_path, &observed)?;
        paths.push((users, snapshot_path, observed_path));
    }
    let by_size = rounds_of_children(&exe, &paths, rounds, iterations);
    if !keep_inputs {
        for (_, snapshot_path, observed_path) in &paths {
            let _ = std::fs::remove_file(snapshot_path);
            let _ = std::fs::remove_file(observed_path);
        }
    }
    let by_size = by_size?;
    println!(
        "{:>8} {:>7} {:>12} {:>9} {:>11} {:>11} {:>11} {:>11} {:>12} {:>12}",
        "users",
        "groups",
        "memberships",
        "ops",
        "project",
        "observe",
        "plan",
        "plan min",
        "RSS snapshot",
        "peak RSS"
    );
    let rows: Vec<Value> = by_size.iter().map(|runs| pooled(runs)).collect();
    for row in &rows {
        println!(
            "{:>8} {:>7} {:>12} {:>9} {:>9.1}ms {:>9.1}ms {:>9.1}ms {:>9.1}ms {:>9.1} MB {:>9.1} MB",
            row["users"].as_u64().unwrap_or(0),
            row["groups"].as_u64().unwrap_or(0),
            row["memberships"].as_u64().unwrap_or(0),
            row["operations"].as_u64().unwrap_or(0),
            row["project_ms_median"].as_f64().unwrap_or(f64::NAN),
            row["observe_ms_median"].as_f64().unwrap_or(f64::NAN),
            row["plan_ms_median"].as_f64().unwrap_or(f64::NAN),
            row["plan_ms_min"].as_f64().unwrap_or(f64::NAN),
            row["rss_snapshot_mb"].as_f64().unwrap_or(f64::NAN),
            row["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
        );
    }
    let find = |users: usize| {
        rows.iter()
            .find(|r| r["users"].as_u64() == Some(users as u64))
    };
    let mut targets = Vec::new();
    let mut summary = json!({});
    if let (Some(r100), Some(r200)) = (find(100_000), find(200_000)) {
        let plan100 = r100["plan_ms_median"].as_f64().unwrap_or(f64::NAN);
        let plan200 = r200["plan_ms_median"].as_f64().unwrap_or(f64::NAN);
        let both100 = plan100 + r100["project_ms_median"].as_f64().unwrap_or(f64::NAN);
        let both200 = plan200 + r200["project_ms_median"].as_f64().unwrap_or(f64::NAN);
        let observe100 = r100["observe_ms_median"].as_f64().unwrap_or(f64::NAN);
        let observe200 = r200["observe_ms_median"].as_f64().unwrap_or(f64::NAN);
        let rss100 = r100["peak_rss_mb"].as_f64().unwrap_or(f64::NAN);
        let work = |r: &Value| {
            r["users"].as_f64().unwrap_or(f64::NAN) + r["memberships"].as_f64().unwrap_or(f64::NAN)
        };
        let work_ratio = work(r200) / work(r100);
        let by_round = |r: &Value| -> Vec<f64> {
            r["plan_ms_median_by_round"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| x.as_f64().unwrap_or(f64::NAN))
                .collect()
        };
        let round_ratios: Vec<f64> = by_round(r200)
            .iter()
            .zip(by_round(r100))
            .map(|(p200, p100)| round3(p200 / p100))
            .collect();
        println!("  200k ÷ 100k, each round's medians: {round_ratios:?}");
        println!(
            "  200k ÷ 100k: plan() {:.2}×, input (users + memberships) {:.2}×, \
             plan() per input item {:.2}×",
            plan200 / plan100,
            work_ratio,
            plan200 / plan100 / work_ratio
        );
        summary = json!({
            "plan_ms_100k": plan100,
            "plan_ratio_200k_100k": round3(plan200 / plan100),
            "plan_ratio_200k_100k_by_round": round_ratios,
            "input_ratio_200k_100k": round3(work_ratio),
            "plan_ratio_per_input_200k_100k": round3(plan200 / plan100 / work_ratio),
            "project_plus_plan_ms_100k": round3(both100),
            "project_plus_plan_ratio_200k_100k": round3(both200 / both100),
            "observe_ms_100k": observe100,
            "observe_plus_plan_ms_100k": round3(observe100 + plan100),
            "observe_plus_plan_ratio_200k_100k": round3((observe200 + plan200) / (observe100 + plan100)),
            "peak_rss_mb_100k": rss100,
        });
        targets.push(Target::at_most(
            "plan(), 100k users (median)",
            plan100,
            150.0,
            "ms",
        ));
        targets.push(Target::at_most(
            "plan() time 200k ÷ 100k",
            plan200 / plan100,
            2.3,
            "",
        ));
        targets.push(Target::at_most(
            "peak RSS of a 100k-user planning run",
            rss100,
            200.0,
            "MB",
        ));
    }
    out.write(
        "planner",
        &json!({
            "sizes": sizes,
            "groups": "users / 100",
            "iterations": iterations,
            "rounds": rounds,
            "change": "1 % of users, 0.2 % new users, 1 % of memberships per group",
        }),
        &json!({"rows": rows, "summary": summary}),
        &targets,
    )
}

/// Runs `rounds` rounds of one child per size (the sizes in turn); each size's
/// rows, in round order.
fn rounds_of_children(
    exe: &Path,
    paths: &[(usize, std::path::PathBuf, std::path::PathBuf)],
    rounds: usize,
    iterations: usize,
) -> Result<Vec<Vec<Value>>> {
    let mut by_size: Vec<Vec<Value>> = vec![Vec::new(); paths.len()];
    for round in 1..=rounds {
        for ((users, snapshot_path, observed_path), runs) in paths.iter().zip(&mut by_size) {
            let output = Command::new(exe)
                .arg("planner-child")
                .arg("--snapshot")
                .arg(snapshot_path)
                .arg("--observed")
                .arg(observed_path)
                .args(["--iterations", &iterations.to_string()])
                .output()
                .context("cannot run the planner child process")?;
            if !output.status.success() {
                bail!(
                    "the planner child for {users} users failed (round {round}): {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            let row: Value = serde_json::from_slice(&output.stdout)
                .context("the planner child printed no JSON")?;
            println!(
                "  round {round}, {users:>7} users: plan() median {:.1} ms, project() median {:.1} ms, \
                 Observed::new() median {:.1} ms, peak RSS {:.1} MB",
                row["plan_ms_median"].as_f64().unwrap_or(f64::NAN),
                row["project_ms_median"].as_f64().unwrap_or(f64::NAN),
                row["observe_ms_median"].as_f64().unwrap_or(f64::NAN),
                row["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
            );
            runs.push(row);
        }
    }
    Ok(by_size)
}

/// One size, in this process: reads the inputs, plans, prints one JSON object.
///
/// The first round holds what the CLI holds, in its order (`run::sync`): the
/// snapshot, projected and dropped, then the observed target, then the plan. Its
/// high-water mark is the memory figure. The timed rounds that follow keep both
/// inputs.
pub fn child(snapshot_path: &Path, observed_path: &Path, iterations: usize) -> Result<()> {
    let options = PlanOptions {
        deactivation_limit: Some("10%".parse()?),
        override_deactivation_limit: false,
        ..PlanOptions::default()
    };
    let snapshot: SourceSnapshot = read_json(snapshot_path)?;
    let users = snapshot.users.len();
    let groups = snapshot.groups.len();
    let memberships: usize = snapshot.groups.iter().map(|g| g.members.len()).sum();
    let rss_snapshot = status_kb("VmRSS");
    let t = Instant::now();
    let desired = project(&snapshot, &Scope::All);
    let first_project = t.elapsed();
    drop(snapshot);
    let rss_desired = status_kb("VmRSS");
    let observed: Observed = read_json(observed_path)?;
    let rss_observed = status_kb("VmRSS");
    let t = Instant::now();
    let first = plan(&desired, &observed, &options);
    let first_plan = t.elapsed();
    let peak = status_kb("VmHWM");
    let summary = first.summary();
    let operations = first.operations.len();
    drop(first);
    drop(desired);
    let snapshot: SourceSnapshot = read_json(snapshot_path)?;

    let mut project_times = vec![first_project];
    let mut plan_times = vec![first_plan];
    // `Observed::new` (which reads each owned group's members as positions,
    // as `project()` does for desired groups) ran inside `read_json` above,
    // untimed, like the first runs of the others; it is timed here on copies
    // of the same records.
    let time_observe = || {
        let (users, groups) = (observed.users().to_vec(), observed.groups().to_vec());
        let t = Instant::now();
        let again = Observed::new(users, groups);
        let elapsed = t.elapsed();
        drop(again);
        elapsed
    };
    let mut observe_times = vec![time_observe()];
    for _ in 0..iterations {
        let t = Instant::now();
        let desired = project(&snapshot, &Scope::All);
        project_times.push(t.elapsed());
        observe_times.push(time_observe());
        let t = Instant::now();
        let planned = plan(&desired, &observed, &options);
        plan_times.push(t.elapsed());
        drop(planned);
    }
    // The first run warms the allocator; the figures are over the later runs when
    // there are any.
    let timed = |times: &[Duration]| -> Vec<f64> {
        let mut v: Vec<f64> = times
            .iter()
            .skip(usize::from(times.len() > 1))
            .map(|d| ms(*d))
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let project_ms = timed(&project_times);
    let plan_ms = timed(&plan_times);
    let observe_ms = timed(&observe_times);
    let mb = |kb: Option<u64>| kb.map(|kb| round3(kb as f64 / 1024.0));
    let row = json!({
        "users": users,
        "groups": groups,
        "memberships": memberships,
        "owned_records": observed.users().len(),
        "operations": operations,
        "summary": summary,
        "project_ms_median": round3(median(&project_ms)),
        "plan_ms_median": round3(median(&plan_ms)),
        "plan_ms_min": round3(plan_ms.first().copied().unwrap_or(f64::NAN)),
        "plan_ms_max": round3(plan_ms.last().copied().unwrap_or(f64::NAN)),
        "plan_ms_runs": plan_ms.iter().map(|x| round3(*x)).collect::<Vec<_>>(),
        "project_ms_runs": project_ms.iter().map(|x| round3(*x)).collect::<Vec<_>>(),
        "observe_ms_median": round3(median(&observe_ms)),
        "observe_ms_runs": observe_ms.iter().map(|x| round3(*x)).collect::<Vec<_>>(),
        "first_plan_ms": round3(ms(first_plan)),
        "rss_snapshot_mb": mb(rss_snapshot),
        "rss_desired_mb": mb(rss_desired),
        "rss_desired_and_observed_mb": mb(rss_observed),
        "peak_rss_mb": mb(peak),
    });
    println!("{row}");
    Ok(())
}

/// One size's rounds as one row: the first round's counts, the times of every
/// round pooled (medians over all of them), the highest peak RSS, and each round's
/// own medians.
fn pooled(runs: &[Value]) -> Value {
    let pool = |key: &str| -> Vec<f64> {
        let mut all: Vec<f64> = runs
            .iter()
            .flat_map(|r| r[key].as_array().cloned().unwrap_or_default())
            .filter_map(|x| x.as_f64())
            .collect();
        all.sort_by(f64::total_cmp);
        all
    };
    let each = |key: &str| -> Vec<Value> { runs.iter().map(|r| r[key].clone()).collect() };
    let plan_ms = pool("plan_ms_runs");
    let project_ms = pool("project_ms_runs");
    let observe_ms = pool("observe_ms_runs");
    let peak = runs
        .iter()
        .filter_map(|r| r["peak_rss_mb"].as_f64())
        .fold(f64::NAN, f64::max);
    let mut row = runs.first().cloned().unwrap_or_else(|| json!({}));
    row["rounds"] = json!(runs.len());
    row["plan_ms_median"] = json!(round3(median(&plan_ms)));
    row["plan_ms_min"] = json!(round3(plan_ms.first().copied().unwrap_or(f64::NAN)));
    row["plan_ms_max"] = json!(round3(plan_ms.last().copied().unwrap_or(f64::NAN)));
    row["plan_ms_runs"] = json!(plan_ms.iter().map(|x| round3(*x)).collect::<Vec<_>>());
    row["project_ms_median"] = json!(round3(median(&project_ms)));
    row["project_ms_runs"] = json!(project_ms.iter().map(|x| round3(*x)).collect::<Vec<_>>());
    row["observe_ms_median"] = json!(round3(median(&observe_ms)));
    row["observe_ms_runs"] = json!(observe_ms.iter().map(|x| round3(*x)).collect::<Vec<_>>());
    row["plan_ms_median_by_round"] = json!(each("plan_ms_median"));
    row["peak_rss_mb"] = json!(round3(peak));
    row["peak_rss_mb_by_round"] = json!(each("peak_rss_mb"));
    row
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut out = BufWriter::new(
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
    );
    serde_json::to_writer(&mut out, value)?;
    out.flush()?;
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    serde_json::from_reader(BufReader::new(file))
        .with_context(|| format!("{} does not hold the planner inputs", path.display()))
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]),
    }
}

/// A `/proc/self/status` field in kB.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// The changed source snapshot and the target as it was before the change.
fn inputs(users: usize, groups: usize) -> (SourceSnapshot, Observed) {
    let mut snapshot = source(users, groups);
    let before = project(&snapshot, &Scope::All);
    let observed = converged(&before);
    drop(before);
    change(&mut snapshot);
    (snapshot, observed)
}

fn source(users: usize, groups: usize) -> SourceSnapshot {
    let fixture = SyntheticOrg {
        organization: "bench-lab".to_owned(),
        users,
        groups,
        seed: 7,
    }
    .generate();
    let id_of: HashMap<&str, &str> = fixture
        .users
        .iter()
        .map(|u| (u.username.as_str(), u.id.as_str()))
        .collect();
    let groups = fixture
        .groups
        .iter()
        .map(|g| SourceGroup {
            id: g.id.as_str().into(),
            name: g.name.clone(),
            members: g.members.iter().map(|m| id_of[m.as_str()].into()).collect(),
        })
        .collect();
    let users = fixture
        .users
        .iter()
        .map(|u| SourceUser {
            id: u.id.as_str().into(),
            username: u.username.clone(),
            name: u.name.clone().unwrap_or_default(),
            email: u.email.clone().unwrap_or_default(),
            active: u.active,
            license: match u.license_status {
                FixtureLicense::Active => LicenseStatus::Active,
                FixtureLicense::Complimentary => LicenseStatus::Complimentary,
                FixtureLicense::Inactive => LicenseStatus::Inactive,
            },
            ssh_keys: Some(u.ssh_keys.clone()),
        })
        .collect();
    SourceSnapshot {
        users,
        groups,
        complete: true,
        unusable_users: Vec::new(),
    }
}

/// The target after a converged sync of `desired`.
fn converged(desired: &Desired) -> Observed {
    let mut users = Vec::new();
    let mut scim_id = HashMap::new();
    for (n, (id, user)) in desired.users().iter().enumerate() {
        if !user.status.is_active() && n % 2 == 1 {
            continue; // Never active while synced: no record.
        }
        let sid = ScimId::new(format!("{n:08x}-5c1d-4e2a-9b7f-{n:012x}"));
        scim_id.insert(id.clone(), sid.clone());
        users.push(OwnedUser {
            scim_id: sid,
            external_id: user.external_id(),
            user_name: user.user_name.clone(),
            given_name: user.given_name().map(str::to_owned),
            family_name: user.family_name().map(str::to_owned),
            formatted_name: Some(user.formatted_name().to_owned()),
            display_name: Some(user.formatted_name().to_owned()),
            email: user.email.clone(),
            active: user.status.is_active(),
            ssh_keys: user
                .ssh_keys
                .iter()
                .flatten()
                .map(|k| k.as_openssh().to_owned())
                .collect(),
        });
    }
    let mut groups = Vec::new();
    for (n, group) in desired.groups().values().enumerate() {
        groups.push(OwnedGroup {
            scim_id: ScimId::new(format!("{n:08x}-9a0b-4c1d-8e2f-{n:012x}")),
            external_id: group.external_id(),
            display_name: group.display_name.clone(),
            members: group.members.iter().map(|m| scim_id[m].clone()).collect(),
        });
    }
    let mut observed = Observed::new(users, groups);
    observed.foreign_user_names = (0..100).map(|i| format!("svc-account-{i}")).collect();
    observed
}

/// The 1 % change described in the module docs.
fn change(snapshot: &mut SourceSnapshot) {
    let count = snapshot.users.len();
    let mut leaving = BTreeSet::new();
    for (step, index) in (0..count).step_by(100).enumerate() {
        let user = &mut snapshot.users[index];
        match step % 5 {
            0 => user.name.push_str(" Jr"),
            1 => user.email = format!("new.{}", user.email),
            2 => {
                let mut bytes = [0u8; 32];
                bytes[..8].copy_from_slice(&(index as u64).to_le_bytes());
                bytes[31] = 0xa5;
                user.ssh_keys = Some(vec![ed25519_key_line(&bytes, "rotated@laptop")]);
            }
            3 => user.active = !user.active,
            _ => {
                leaving.insert(user.id.clone());
            }
        }
    }
    snapshot.users.retain(|u| !leaving.contains(&u.id));
    for n in 0..count / 500 {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&(n as u64).to_le_bytes());
        bytes[31] = 0x5a;
        snapshot.users.push(SourceUser {
            id: format!("8{n:023x}").into(),
            username: format!("new.hire{n}"),
            name: format!("New Hire{n}"),
            email: format!("new.hire{n}@bench-lab.example"),
            active: true,
            license: LicenseStatus::Active,
            ssh_keys: Some(vec![ed25519_key_line(&bytes, "new@laptop")]),
        });
    }
    let ids: Vec<_> = snapshot.users.iter().map(|u| u.id.clone()).collect();
    for (g, group) in snapshot.groups.iter_mut().enumerate() {
        group.members.retain(|m| !leaving.contains(m));
        let moved = group.members.len() / 200;
        let mut k = 0;
        group.members.retain(|_| {
            k += 1;
            k % 200 != 0
        });
        let present: BTreeSet<_> = group.members.iter().cloned().collect();
        let mut added = 0;
        let mut i = g * 7919;
        let mut tries = 0;
        while added < moved && tries < ids.len() {
            tries += 1;
            let candidate = &ids[i % ids.len()];
            if !present.contains(candidate) {
                group.members.push(candidate.clone());
                added += 1;
            }
            i += 104_729;
        }
    }
    if let Some(all) = snapshot.groups.first_mut() {
        all.members.extend(
            ids.iter()
                .filter(|id| id.as_str().starts_with('8'))
                .cloned(),
        );
    }
}
