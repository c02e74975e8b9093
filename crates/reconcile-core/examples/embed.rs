//! Embeds the engine: plans a small organization against the in-memory SCIM target
//! (which holds one record this tool does not own), prints the plan, applies it, then
//! shows that someone leaving is planned as a deactivation and that a second plan after
//! applying is empty.
//!
//! ```sh
//! cargo run -p reconcile-core --example embed
//! ```

use reconcile_core::{
    ApplyOptions, InMemoryTarget, LicenseStatus, OwnedUser, PlanOptions, Scope, SourceGroup,
    SourceSnapshot, SourceUser, apply, plan, project,
};

const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILM+rvN+ot98qgEN796jTiQfZfG1KaT0PtFDJ/XFSqti ada@laptop";

fn user(id: &str, username: &str, name: &str) -> SourceUser {
    SourceUser {
        id: id.into(),
        username: username.to_owned(),
        name: name.to_owned(),
        email: format!("{username}@example.org"),
        active: true,
        license: LicenseStatus::Active,
        ssh_keys: Some(vec![KEY.to_owned()]),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut snapshot = SourceSnapshot {
        users: vec![
            user("u1", "ada", "Ada Lovelace"),
            user("u2", "grace", "Grace Hopper"),
            user("u3", "alan", "Alan Turing"),
        ],
        groups: vec![SourceGroup {
            id: "g1".into(),
            name: "gpu-users".to_owned(),
            members: vec!["u1".into(), "u2".into(), "u3".into()],
        }],
        complete: true,
        unusable_users: Vec::new(),
    };
    let options = PlanOptions {
        deactivation_limit: Some("25".parse()?),
        override_deactivation_limit: false,
        ..PlanOptions::default()
    };

    let target = InMemoryTarget::new();
    // A record created by hand in the console: never touched, and "alan" conflicts.
    target.insert_user(OwnedUser {
        user_name: "Alan".to_owned(),
        active: true,
        ..OwnedUser::default()
    })?;

    let first = plan(
        &project(&snapshot, &Scope::All),
        &target.observed(),
        &options,
    );
    print!("{}", first.to_text());
    let report = futures::executor::block_on(apply(&first, &target, &ApplyOptions::default()));
    println!("applied {} operations\n", report.totals().applied);

    snapshot.users.retain(|u| u.username != "grace");
    let second = plan(
        &project(&snapshot, &Scope::All),
        &target.observed(),
        &options,
    );
    print!("{}", second.to_text());
    futures::executor::block_on(apply(&second, &target, &ApplyOptions::default()));

    let third = plan(
        &project(&snapshot, &Scope::All),
        &target.observed(),
        &options,
    );
    println!("\nconverged after applying: {}", third.is_converged());
    Ok(())
}
