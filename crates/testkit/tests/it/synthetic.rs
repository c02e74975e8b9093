//! Synthetic organizations served by the ACTIVATE emulator, and key lines checked
//! by OpenSSH's own parser when `ssh-keygen` is installed.

use std::process::Command;

use serde_json::Value;
use testkit::activate::{ActivateEmulator, ActivateOptions, Fixture};
use testkit::synthetic::{SyntheticOrg, ed25519_key_line};

use crate::support::client;

/// `ssh-keygen -l -f <file>` for one key line: Some(true/false), or None without ssh-keygen.
fn ssh_keygen_accepts(line: &str, name: &str) -> Option<bool> {
    let dir = std::env::temp_dir().join(format!("testkit-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    let file = dir.join(name);
    std::fs::write(&file, format!("{line}\n")).ok()?;
    let output = Command::new("ssh-keygen")
        .arg("-l")
        .arg("-f")
        .arg(&file)
        .output();
    let _ = std::fs::remove_file(&file);
    output.ok().map(|o| o.status.success())
}

#[test]
fn key_lines_parse_with_ssh_keygen() {
    let mut lines = vec![ed25519_key_line(&[0x42; 32], "synthetic@host")];
    let org = SyntheticOrg {
        users: 20,
        groups: 3,
        ..SyntheticOrg::default()
    }
    .generate();
    lines.extend(org.users.iter().flat_map(|u| u.ssh_keys.clone()).take(5));
    let example = Fixture::example();
    let example_lines: Vec<String> = example
        .users
        .iter()
        .flat_map(|u| u.ssh_keys.clone())
        .collect();
    let Some(_) = ssh_keygen_accepts(&lines[0], "probe.pub") else {
        eprintln!("skipping: ssh-keygen is not installed");
        return;
    };
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(
            ssh_keygen_accepts(line, &format!("s{i}.pub")),
            Some(true),
            "{line}"
        );
    }
    for (i, line) in example_lines.iter().enumerate() {
        let valid = !line.contains("not*valid*base64");
        assert_eq!(
            ssh_keygen_accepts(line, &format!("e{i}.pub")),
            Some(valid),
            "{line}"
        );
    }
}

#[tokio::test]
async fn a_synthetic_org_is_served_in_pages_of_500() {
    let fixture = SyntheticOrg {
        users: 1200,
        groups: 6,
        seed: 9,
        ..SyntheticOrg::default()
    }
    .generate();
    let emulator = ActivateEmulator::start(ActivateOptions {
        fixture: fixture.clone(),
        ..ActivateOptions::default()
    })
    .await
    .unwrap();
    let mut seen = Vec::new();
    let mut skip = 0;
    loop {
        let page: Value = client()
            .get(format!(
                "{}/api/organizations/synthetic-lab/users?limit=500&skip={skip}",
                emulator.base_url()
            ))
            .bearer_auth(emulator.api_key())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], serde_json::json!(1200));
        let users = page["users"].as_array().unwrap();
        assert!(users.len() <= 500);
        seen.extend(
            users
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned()),
        );
        skip += users.len();
        if users.is_empty() || skip >= 1200 {
            break;
        }
    }
    let expected: Vec<String> = fixture.users.iter().map(|u| u.username.clone()).collect();
    assert_eq!(seen, expected);
    assert_eq!(emulator.log().total(), 3);
}
