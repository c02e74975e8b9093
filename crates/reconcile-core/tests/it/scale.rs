//! A sanity run at 20,000 users (no timing assertions): the plan is complete,
//! applying it converges, and re-planning the converged state is empty.

use reconcile_core::{
    ActionKind, ApplyOptions, InMemoryTarget, LicenseStatus, PlanOptions, Scope, SourceGroup,
    SourceSnapshot, SourceUser, apply, plan, project,
};

use crate::support::key;

#[test]
fn twenty_thousand_users_plan_apply_and_converge() {
    const USERS: usize = 20_000;
    let users: Vec<SourceUser> = (0..USERS)
        .map(|i| SourceUser {
            id: format!("{i}").into(),
            username: format!("user{i:05}"),
            name: format!("User Number {i}"),
            email: format!("user{i}@example.com"),
            active: i % 10 != 0,
            license: if i % 25 == 0 {
                LicenseStatus::Inactive
            } else {
                LicenseStatus::Active
            },
            ssh_keys: Some(vec![key(u8::try_from(i % 250).unwrap_or(0), "work")]),
        })
        .collect();
    let groups: Vec<SourceGroup> = (0..200)
        .map(|g| SourceGroup {
            id: format!("g{g}").into(),
            name: format!("project-{g}"),
            members: (0..USERS)
                .filter(|i| i % 200 == g || i % 1000 == g)
                .map(|i| format!("{i}").into())
                .collect(),
        })
        .collect();
    let snapshot = SourceSnapshot {
        users,
        groups,
        complete: true,
        unusable_users: Vec::new(),
    };
    let desired = project(&snapshot, &Scope::All);
    let target = InMemoryTarget::new();
    let first = plan(&desired, &target.observed(), &PlanOptions::default());
    let active = desired
        .users()
        .values()
        .filter(|u| u.status.is_active())
        .count();
    assert_eq!(first.summary().create_users, active);
    assert_eq!(first.summary().create_groups, 200);
    let report = futures::executor::block_on(apply(&first, &target, &ApplyOptions::default()));
    assert!(report.is_complete());
    assert_eq!(report.counts[&ActionKind::CreateUser].applied, active);
    let again = plan(&desired, &target.observed(), &PlanOptions::default());
    assert!(
        again.operations.is_empty(),
        "{}",
        again.summary().update_users
    );
}
