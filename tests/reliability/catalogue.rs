//! The bad-input catalogue: one row per way the source, the target or the
//! configuration can be wrong, each asserting the exit code, the message (what was
//! wrong and where), and what was written.
//!
//! Every case runs the binary against the example organization (`Fixture::example`,
//! 12 users, 5 groups) and the SCIM emulator, each behind a proxy whose scripted
//! rules serve the bad answer. `Synced` cases first run one clean sync, so the bad
//! answer meets a target that holds records. Every case also checks that no write
//! addressed a record this tool does not own, and that nothing was deleted.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::{Value, json};
use testkit::activate::{Fixture, FixtureUser};
use testkit::proxy::{Action, Rule, respond_json, rewrite_json};
use testkit::request_log::Method;
use testkit::scim::{Faults as ScimFaults, Quirks, ScimOptions};
use testkit::synthetic::ed25519_key_line;

use crate::support::world::World;
use crate::support::{Outcome, run_bin_in, writes_since};

const USERS: &str = "/api/organizations/example-lab/users$";
const GROUPS: &str = "/api/organizations/example-lab/groups$";
const SCIM_USERS: &str = "/Users$";
const SCIM_ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const JSON: &str = "application/json";
const SCIM_JSON: &str = "application/scim+json";

/// What the target holds before the case's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prep {
    /// Empty.
    Fresh,
    /// After one clean sync of the example organization.
    Synced,
}

/// What the case's run may write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// No request at all reached either side (a configuration error).
    NoRequest,
    /// Nothing was written to the target.
    Nothing,
    /// Writes are allowed (they are checked to address only owned records).
    Allowed,
}

/// Extra checks after the run.
pub type Check = fn(&World, &Outcome) -> Result<(), String>;

/// One row.
pub struct Case {
    /// A short name.
    pub name: &'static str,
    prep: Prep,
    setup: fn(&World, &Path),
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    unset: &'static [&'static str],
    /// The expected exit code.
    pub code: i32,
    /// Substrings the message must hold.
    expect: &'static [&'static str],
    writes: Writes,
    check: Option<Check>,
}

impl Case {
    fn new(name: &'static str, code: i32, expect: &'static [&'static str]) -> Self {
        Self {
            name,
            prep: Prep::Fresh,
            setup: |_, _| {},
            args: &["sync"],
            env: &[],
            unset: &[],
            code,
            expect,
            writes: if code == 0 || code == 3 {
                Writes::Allowed
            } else {
                Writes::Nothing
            },
            check: None,
        }
    }

    fn synced(mut self) -> Self {
        self.prep = Prep::Synced;
        self
    }

    fn setup(mut self, setup: fn(&World, &Path)) -> Self {
        self.setup = setup;
        self
    }

    fn env(mut self, env: &'static [(&'static str, &'static str)]) -> Self {
        self.env = env;
        self
    }

    fn unset(mut self, unset: &'static [&'static str]) -> Self {
        self.unset = unset;
        self
    }

    fn writes(mut self, writes: Writes) -> Self {
        self.writes = writes;
        self
    }

    fn check(mut self, check: Check) -> Self {
        self.check = Some(check);
        self
    }
}

/// Every `GET` of an ACTIVATE path holding `path` gets `action` (see [`Rule`]).
fn activate_get(world: &World, path: &str, action: Action) {
    world
        .activate_proxy
        .add_rule(Rule::always(Some("GET"), path, action));
}

/// Every `GET` of a SCIM path holding `path` gets `action` (see [`Rule`]).
fn scim_get(world: &World, path: &str, action: Action) {
    world
        .scim_proxy
        .add_rule(Rule::always(Some("GET"), path, action));
}

/// The text a case's message is looked for in: the error lines of a fatal run, the
/// whole output otherwise.
fn message_text(out: &Outcome) -> String {
    if out.code == 1 || out.code == 2 {
        out.errors()
    } else {
        out.all_output()
    }
}

/// Runs one case; `Err` describes every way it went wrong.
pub async fn run_case(case: &Case) -> Result<String, String> {
    let world = World::start(Fixture::example(), ScimOptions::default()).await;
    if case.prep == Prep::Synced {
        let out = world.run(&["sync"], &[]).await;
        if out.code != 0 {
            return Err(format!(
                "the preparing sync exited {}: {}",
                out.code, out.stderr
            ));
        }
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    (case.setup)(&world, dir.path());
    let scim_from = world.scim_proxy.log().next_seq();
    let activate_from = world.activate_proxy.log().next_seq();
    let mut env: BTreeMap<String, String> = world.env();
    for name in case.unset {
        env.remove(*name);
    }
    let dir_text = dir.path().display().to_string();
    for (name, value) in case.env {
        env.insert((*name).to_owned(), value.replace("{dir}", &dir_text));
    }
    let out = run_bin_in(dir.path(), case.args, &env, Duration::from_secs(120)).await;
    world.scim_proxy.settle(Duration::from_secs(10)).await;
    world.activate_proxy.settle(Duration::from_secs(10)).await;

    let mut problems = Vec::new();
    if out.code != case.code {
        problems.push(format!("exit {} (expected {})", out.code, case.code));
    }
    let text = message_text(&out);
    for part in case.expect {
        if !text.contains(part) {
            problems.push(format!("the message lacks {part:?}"));
        }
    }
    let writes = writes_since(&world.scim_proxy, scim_from);
    match case.writes {
        Writes::NoRequest => {
            let requests = (world.scim_proxy.log().next_seq() - scim_from)
                + (world.activate_proxy.log().next_seq() - activate_from);
            if requests > 0 {
                problems.push(format!("{requests} requests were made"));
            }
        }
        Writes::Nothing if !writes.is_empty() => {
            problems.push(format!("{} writes: {writes:?}", writes.len()));
        }
        Writes::Nothing | Writes::Allowed => {}
    }
    for write in &writes {
        if write.method == Method::Delete {
            problems.push(format!("DELETE {}", write.path));
        }
        if write.method == Method::Patch
            && let Some(id) = write.path.rsplit('/').next()
        {
            let record = world.scim.user(id).or_else(|| world.scim.group(id));
            let owned = record
                .as_ref()
                .and_then(|r| r["externalId"].as_str())
                .is_some_and(|x| x.starts_with("pw-activate:"));
            if !owned {
                problems.push(format!("PATCH of a record not owned: {}", write.path));
            }
        }
    }
    if let Some(check) = case.check
        && let Err(problem) = check(&world, &out)
    {
        problems.push(problem);
    }
    let first_line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .chars()
        .take(240)
        .collect::<String>();
    if problems.is_empty() {
        Ok(first_line)
    } else {
        Err(format!(
            "{}: {}\n--- stdout (start):\n{}\n--- stderr:\n{}",
            case.name,
            problems.join("; "),
            out.stdout.chars().take(3000).collect::<String>(),
            out.stderr.chars().take(6000).collect::<String>()
        ))
    }
}

/// Runs a table, a few cases at a time, and fails with every case that failed.
pub async fn run_table(table: Vec<Case>) {
    let results: Vec<(&'static str, i32, Result<String, String>)> = futures::stream::iter(
        table
            .iter()
            .map(|case| async move { (case.name, case.code, run_case(case).await) }),
    )
    .buffer_unordered(6)
    .collect()
    .await;
    let mut failures = Vec::new();
    for (name, code, result) in &results {
        match result {
            Ok(message) => println!("ok   exit {code}  {name}: {message}"),
            Err(problem) => failures.push(problem.clone()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        results.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------- helpers

fn first_user(value: &mut Value) -> &mut Value {
    &mut value["users"][0]
}

fn user_keys(world: &World, user_name: &str) -> Vec<String> {
    world
        .scim
        .user_by_user_name(user_name)
        .and_then(|u| {
            u["urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser"]
                ["sunkSshKeys"]
                .as_array()
                .cloned()
        })
        .unwrap_or_default()
        .iter()
        .filter_map(|k| k.as_str().map(str::to_owned))
        .collect()
}

const VALID_KEY_SEED: [u8; 32] = [42; 32];

fn valid_key() -> String {
    ed25519_key_line(&VALID_KEY_SEED, "alice@valid")
}

/// Alice gets `bad` next to one valid key; the run must create her with the valid
/// key only, and warn about the bad one by user and line.
fn alice_keys_are(world: &World, bad: String) {
    world
        .activate
        .set_ssh_keys("alice.nguyen", vec![bad, valid_key()])
        .expect("set keys");
}

/// Alice was created with the valid key only, the plan warns about her line 1 with
/// `reason`, and the bad key was not echoed.
fn alice_key_rejected(world: &World, out: &Outcome, reason: &str) -> Result<(), String> {
    let doc = out.json().ok_or("no JSON output")?;
    let warned = doc["plan"]["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|w| {
            w["kind"] == json!("invalid_ssh_key")
                && w["line"] == json!(1)
                && w["user"]["user_name"] == json!("alice.nguyen")
                && w["reason"].as_str().is_some_and(|r| r.contains(reason))
        });
    if !warned {
        return Err(format!(
            "no warning naming alice.nguyen, line 1, {reason:?}: {}",
            doc["plan"]["warnings"]
        ));
    }
    let keys = user_keys(world, "alice.nguyen");
    if keys != [valid_key()] {
        return Err(format!("alice's keys in the target: {keys:?}"));
    }
    if out.all_output().len() > 200_000 {
        return Err(format!(
            "the output is {} bytes: the bad key was echoed",
            out.all_output().len()
        ));
    }
    Ok(())
}

/// The run's failures, by kind, are exactly `kinds`.
fn failure_kinds_are(out: &Outcome, kinds: &[&str]) -> Result<(), String> {
    let doc = out.json().ok_or("no JSON output")?;
    let found: Vec<String> = doc["result"]["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| f["error"]["kind"].as_str().unwrap_or("?").to_owned())
        .collect();
    if found == kinds {
        Ok(())
    } else {
        Err(format!("failure kinds {found:?}, expected {kinds:?}"))
    }
}

/// How the JSON plan names an unusable user, and Alice.
const UNUSABLE: &str = "\"kind\": \"unusable_user\"";
const ALICE_ID: &str = "\"user\": \"65a1f3c2e4b0a1b2c3d4e001\"";

/// A sign-in page a proxy in front of ACTIVATE may answer with.
const SIGN_IN_PAGE: &[u8] =
    b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form></form></body></html>";

/// Alice's keys endpoint answers 200 with `body` as `content_type`.
fn alice_keys_answer(world: &World, content_type: &str, body: &[u8]) {
    world.activate_proxy.add_rule(Rule::always(
        Some("GET"),
        "/api/users/alice.nguyen/ssh-public-keys$",
        Action::Respond {
            status: 200,
            content_type: Some(content_type.to_owned()),
            body: body.to_vec(),
        },
    ));
}

/// Alice's record is as the clean sync left it (active, her one key, her two
/// groups) and no write addressed it.
fn alice_untouched(world: &World, _: &Outcome) -> Result<(), String> {
    let alice = world
        .scim
        .user_by_user_name("alice.nguyen")
        .ok_or("alice has no record")?;
    let id = alice["id"].as_str().unwrap_or_default().to_owned();
    if alice["active"] != json!(true) || user_keys(world, "alice.nguyen").len() != 1 {
        return Err(format!("alice's record changed: {alice}"));
    }
    let groups = world
        .scim
        .groups()
        .into_iter()
        .filter(|g| {
            g["members"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["value"] == id.as_str()))
        })
        .count();
    if groups != 2 {
        return Err(format!("alice is in {groups} groups, not 2"));
    }
    let written = world
        .scim
        .log()
        .records()
        .into_iter()
        .filter(|r| r.method.is_write() && r.path.ends_with(&id))
        .count();
    if written > 0 {
        return Err(format!("{written} writes addressed alice's record"));
    }
    Ok(())
}

/// Bob, who left, was deactivated: the run went on for everyone else.
fn others_synced(world: &World) -> Result<(), String> {
    let bob = world
        .scim
        .user_by_user_name("bob.okafor")
        .ok_or("bob has no record")?;
    if bob["active"] == json!(false) {
        Ok(())
    } else {
        Err(format!("bob was not deactivated: {bob}"))
    }
}

fn nobody_created(world: &World, _: &Outcome) -> Result<(), String> {
    let n = world.scim.users().len();
    if n == 0 {
        Ok(())
    } else {
        Err(format!("{n} users exist in the target"))
    }
}

// ---------------------------------------------------------------- ACTIVATE

/// Bad answers from ACTIVATE.
#[allow(clippy::too_many_lines)] // A table.
pub fn activate_cases() -> Vec<Case> {
    vec![
        Case::new(
            "ACTIVATE users page is not JSON",
            1,
            &[
                "could not read the organization's users",
                "GET /api/organizations/example-lab/users?limit=500&skip=0",
                "the response body is not a users page",
                "line 1 column 24",
            ],
        )
        .setup(|w, _| {
            activate_get(w, USERS, respond_json(200, JSON, r#"{"total": 12, "users": ["#));
        })
        .check(nobody_created),
        Case::new(
            "ACTIVATE users page field of the wrong type",
            1,
            &[
                "could not read the organization's users",
                "not a users page",
                "invalid type: string \"12\", expected u64",
            ],
        )
        .setup(|w, _| {
            activate_get(w, USERS, rewrite_json(|v| v["total"] = json!("12")));
        }),
        Case::new(
            "ACTIVATE users array is null while total is 12",
            1,
            &[
                "could not read the organization's users",
                "incomplete user list: the server announced 12 users, 0 arrived",
            ],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, USERS, rewrite_json(|v| v["users"] = Value::Null));
        }),
        Case::new(
            "ACTIVATE total is higher than the users listed",
            1,
            &["incomplete user list: the server announced 13 users, 12 arrived"],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, USERS, rewrite_json(|v| v["total"] = json!(13)));
        }),
        Case::new(
            "ACTIVATE total is lower than the users listed",
            1,
            &["incomplete user list: the server announced 11 users, 12 arrived"],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, USERS, rewrite_json(|v| v["total"] = json!(11)));
        }),
        Case::new(
            "ACTIVATE duplicate user ids",
            1,
            &["the user list holds the id \"65a1f3c2e4b0a1b2c3d4e001\" twice"],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, USERS, rewrite_json(|v| v["users"][1]["id"] = v["users"][0]["id"].clone()));
        }),
        Case::new(
            "ACTIVATE usernames differing only by case",
            3,
            &["alice.nguyen", "Alice.Nguyen"],
        )
        .setup(|w, _| {
            w.activate
                .add_user(FixtureUser {
                    name: Some("Alice Nguyen (second account)".to_owned()),
                    email: Some("alice2@example-lab.org".to_owned()),
                    ..FixtureUser::new("65a1f3c2e4b0a1b2c3d4e0ff", "Alice.Nguyen")
                })
                .expect("add a user");
        })
        .check(|w, out| {
            let doc = out.json().ok_or("no JSON output")?;
            let conflicts = doc["plan"]["conflicts"].to_string();
            if !(conflicts.contains("alice.nguyen") && conflicts.contains("Alice.Nguyen")) {
                return Err(format!("the conflict does not name both users: {conflicts}"));
            }
            if w.scim.user_by_user_name("alice.nguyen").is_some() {
                return Err("one of the two was written".to_owned());
            }
            if w.scim.users().len() != 8 {
                return Err(format!("{} users created, expected the other 8", w.scim.users().len()));
            }
            Ok(())
        }),
        Case::new(
            "ACTIVATE empty username",
            3,
            &[UNUSABLE, ALICE_ID, "\"reason\": \"the username is empty\""],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, USERS, rewrite_json(|v| first_user(v)["username"] = json!("")));
            w.activate.set_user_active("bob.okafor", false).expect("bob leaves");
        })
        .check(|w, out| {
            alice_untouched(w, out)?;
            others_synced(w)
        }),
        Case::new(
            "ACTIVATE user entry with a field of the wrong type",
            3,
            &[UNUSABLE, ALICE_ID, r#""reason": "the record does not decode: invalid type: string \"yes\", expected a boolean""#],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, USERS, rewrite_json(|v| first_user(v)["active"] = json!("yes")));
            w.activate.set_user_active("bob.okafor", false).expect("bob leaves");
        })
        .check(|w, out| {
            alice_untouched(w, out)?;
            others_synced(w)
        }),
        Case::new(
            "ACTIVATE user entry without an id",
            4,
            &[
                UNUSABLE,
                "\"user\": null",
                "\"reason\": \"the record does not decode: missing field `id`\"",
                "\"incomplete_source\"",
            ],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, USERS, rewrite_json(|v| {
                    first_user(v).as_object_mut().map(|u| u.remove("id"));
                }));
        })
        .check(alice_untouched),
        Case::new(
            "ACTIVATE users page is a sign-in page with 200",
            1,
            &[
                "could not read the organization's users",
                "GET /api/organizations/example-lab/users?limit=500&skip=0: the response is text/html, not JSON: \"Sign in\"",
            ],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, USERS, Action::Respond {
                    status: 200,
                    content_type: Some("text/html".to_owned()),
                    body: SIGN_IN_PAGE.to_vec(),
                });
        }),
        Case::new(
            "ACTIVATE keys endpoint answers a sign-in page with 200",
            3,
            &[
                UNUSABLE,
                ALICE_ID,
                r#""reason": "its SSH keys cannot be read: GET /api/users/alice.nguyen/ssh-public-keys: the response is text/html, not a JSON string or text/plain: \"Sign in\"""#,
            ],
        )
        .synced()
        .setup(|w, _| {
            alice_keys_answer(w, "text/html; charset=utf-8", SIGN_IN_PAGE);
            w.activate.set_user_active("bob.okafor", false).expect("bob leaves");
        })
        .check(|w, out| {
            alice_untouched(w, out)?;
            others_synced(w)
        }),
        Case::new(
            "ACTIVATE keys endpoint answers an HTML page declared as text/plain",
            3,
            &[
                UNUSABLE,
                r#""reason": "its SSH keys cannot be read: GET /api/users/alice.nguyen/ssh-public-keys: the response is an HTML page, not a JSON string or text/plain: \"Sign in\"""#,
            ],
        )
        .synced()
        .setup(|w, _| alice_keys_answer(w, "text/plain", SIGN_IN_PAGE))
        .check(alice_untouched),
        Case::new(
            "ACTIVATE keys endpoint answers a maintenance message as text/plain",
            3,
            &[
                UNUSABLE,
                ALICE_ID,
                "none of its 2 SSH key lines is a public key (line 1: ",
            ],
        )
        .synced()
        .setup(|w, _| {
            alice_keys_answer(
                w,
                "text/plain",
                b"Service temporarily unavailable\nPlease try again later\n",
            );
        })
        .check(alice_untouched),
        Case::new(
            "ACTIVATE every key lookup answers 404",
            1,
            &[
                "could not read the users' SSH keys",
                "SSH key lookups failed",
                "are not a problem of single users",
                "HTTP 404",
            ],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, "/ssh-public-keys$", respond_json(404, JSON, r#"{"error": true, "message": "not found", "code": "not_found"}"#));
        }),
        Case::new("ACTIVATE SSH key that is garbage", 0, &["invalid_ssh_key"])
            .setup(|w, _| alice_keys_are(w, "this is not a key".to_owned()))
            .check(|w, out| alice_key_rejected(w, out, "Base64 encoding error")),
        Case::new("ACTIVATE SSH key with truncated base64", 0, &["invalid_ssh_key"])
            .setup(|w, _| {
                let line = ed25519_key_line(&[9; 32], "alice@truncated");
                alice_keys_are(w, line[..40].to_owned());
            })
            .check(|w, out| alice_key_rejected(w, out, "invalid Base64 length")),
        Case::new("ACTIVATE SSH key of an unknown type", 0, &["invalid_ssh_key"])
            .setup(|w, _| {
                let line = ed25519_key_line(&[9; 32], "alice@future");
                alice_keys_are(w, line.replacen("ssh-ed25519", "ssh-quantum9", 1));
            })
            .check(|w, out| alice_key_rejected(w, out, "unknown algorithm")),
        Case::new("ACTIVATE SSH key of one megabyte", 0, &["invalid_ssh_key"])
            .setup(|w, _| alice_keys_are(w, format!("ssh-ed25519 {}", "A".repeat(1 << 20))))
            .check(|w, out| alice_key_rejected(w, out, "invalid label")),
        Case::new(
            "ACTIVATE key listing that is not UTF-8",
            3,
            &[UNUSABLE, ALICE_ID, "its SSH keys cannot be read", "the response body is not UTF-8"],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, "/api/users/alice.nguyen/ssh-public-keys$", Action::Respond {
                    status: 200,
                    content_type: Some("text/plain".to_owned()),
                    body: vec![b's', b's', b'h', 0xff, 0xfe, b'\n'],
                });
        })
        .check(alice_untouched),
        Case::new(
            "ACTIVATE key listing is a JSON object",
            3,
            &[
                UNUSABLE,
                ALICE_ID,
                "its SSH keys cannot be read: GET /api/users/alice.nguyen/ssh-public-keys: expected a JSON string or text, got an object",
            ],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, "/api/users/alice.nguyen/ssh-public-keys$", respond_json(200, JSON, r#"{"keys": []}"#));
        })
        .check(alice_untouched),
        Case::new(
            "ACTIVATE user vanished before its keys were read (404)",
            3,
            &[
                UNUSABLE,
                "\"user\": \"65a1f3c2e4b0a1b2c3d4e002\"",
                "its SSH keys cannot be read: GET /api/users/bob.okafor/ssh-public-keys: HTTP 404: user not found",
            ],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, "/api/users/bob.okafor/ssh-public-keys$", respond_json(
                    404,
                    JSON,
                    r#"{"error": true, "message": "user not found", "code": "not_found"}"#,
                ));
        }),
        Case::new(
            "ACTIVATE HTML 502 page on the group list",
            1,
            &[
                "could not read the organization's groups",
                "HTTP 502: 502 Bad Gateway",
                "after 6 attempts",
            ],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, GROUPS, Action::Respond {
                    status: 502,
                    content_type: Some("text/html".to_owned()),
                    body: b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>".to_vec(),
                });
        }),
        Case::new(
            "ACTIVATE duplicate group names",
            1,
            &["could not read the organization's groups", "the group name \"admins\" appears twice"],
        )
        .synced()
        .setup(|w, _| {
            activate_get(w, GROUPS, rewrite_json(|v| v[1]["name"] = json!("admins")));
        }),
        Case::new(
            "ACTIVATE whoami answers a login page",
            1,
            &["could not read the organization name", "GET /api/auth/whoami/organization"],
        )
        .setup(|w, _| {
            activate_get(w, "/whoami/organization$", Action::Respond {
                    status: 200,
                    content_type: Some("text/html".to_owned()),
                    body: b"<!DOCTYPE html>\n<html><body><form>Sign in</form></body></html>".to_vec(),
                });
        }),
        Case::new(
            "ACTIVATE 401",
            1,
            &["the ACTIVATE API key was rejected", "HTTP 401", "key expired"],
        )
        .setup(|w, _| {
            w.activate_proxy.add_rule(Rule::always(
                None,
                "/api/",
                respond_json(
                    401,
                    JSON,
                    r#"{"error": true, "message": "key expired", "code": "unauthenticated"}"#,
                ),
            ));
        })
        .writes(Writes::Nothing),
        Case::new(
            "ACTIVATE 403",
            1,
            &["lacks the organization role", "HTTP 403", "GET /api/organizations/example-lab/users"],
        )
        .setup(|w, _| {
            activate_get(w, USERS, respond_json(
                    403,
                    "application/problem+json",
                    r#"{"type": "about:blank", "title": "Forbidden", "status": 403}"#,
                ));
        }),
        Case::new(
            "ACTIVATE answers slower than the timeout",
            1,
            &[
                "could not read the organization's users",
                "GET /api/organizations/example-lab/users?limit=500&skip=0: timed out",
                "after 6 attempts",
            ],
        )
        .synced()
        .env(&[("HTTP_TIMEOUT", "1")])
        .setup(|w, _| {
            activate_get(w, USERS, Action::Delay(Duration::from_millis(1500)));
        }),
    ]
}

// ---------------------------------------------------------------- SCIM

/// Bad answers from the SCIM target.
#[allow(clippy::too_many_lines)] // A table.
pub fn scim_cases() -> Vec<Case> {
    vec![
        Case::new("SCIM ListResponse without totalResults", 0, &[])
            .synced()
            .setup(|w, _| {
                w.activate.set_user_active("bob.okafor", false).expect("change");
                w.scim.set_page_cap(4);
                scim_get(w, "/Users$", rewrite_json(|v| {
                        v.as_object_mut().map(|o| o.remove("totalResults"));
                    }));
            })
            .check(|w, _| {
                let bob = w.scim.user_by_user_name("bob.okafor").ok_or("bob is gone")?;
                if bob["active"] == json!(false) && w.scim.users().len() == 9 {
                    Ok(())
                } else {
                    Err(format!("bob: {bob}; {} users", w.scim.users().len()))
                }
            }),
        Case::new(
            "SCIM totalResults higher than the truth",
            1,
            &[
                "could not read the SCIM target completely; nothing was written",
                "incomplete listing: the server announced 12 results but the pages held 9",
            ],
        )
        .synced()
        .setup(|w, _| {
            w.activate.set_user_active("bob.okafor", false).expect("change");
            scim_get(w, SCIM_USERS, rewrite_json(|v| v["totalResults"] = json!(12)));
        }),
        Case::new(
            "SCIM ignores startIndex",
            1,
            &["could not read the SCIM target completely", "appears to ignore startIndex"],
        )
        .synced()
        .setup(|w, _| {
            w.scim.set_page_cap(3);
            w.scim.set_faults(ScimFaults {
                ignore_start_index: true,
                ..ScimFaults::default()
            });
        }),
        Case::new(
            "SCIM rejects the sw filter",
            0,
            &["rejected the externalId filter"],
        )
        .setup(|w, _| {
            w.scim
                .seed_user(json!({"userName": "okta-admin", "externalId": "okta:00u1", "active": true}))
                .expect("seed");
            w.scim.set_faults(ScimFaults {
                reject_sw: true,
                ..ScimFaults::default()
            });
        })
        .check(|w, _| {
            let n = w.scim.users().len();
            if n == 10 { Ok(()) } else { Err(format!("{n} users, expected 9 created + 1 foreign")) }
        }),
        Case::new(
            "SCIM error body with a numeric status",
            3,
            &["POST /Users: HTTP 400 (invalidValue): emails[0].value is not an address"],
        )
        .check(|_, out| failure_kinds_are(out, &["invalid"]))
        .setup(|w, _| {
            w.scim_proxy.add_rule(Rule::times(
                1,
                Some("POST"),
                SCIM_USERS,
                respond_json(
                    400,
                    SCIM_JSON,
                    &format!(
                        r#"{{"schemas":["{SCIM_ERROR}"],"status":400,"scimType":"invalidValue","detail":"emails[0].value is not an address"}}"#
                    ),
                ),
            ));
        }),
        Case::new(
            "SCIM PATCH answered 200 with an HTML page",
            0,
            &["the server accepted the write but its answer could not be read"],
        )
        .synced()
        .setup(|w, _| {
            w.activate.set_user_active("bob.okafor", false).expect("change");
            w.scim_proxy.add_rule(Rule::always(
                Some("PATCH"),
                "/Users/",
                Action::Rewrite(Arc::new(|_, _| {
                    (200, b"<html><body>Saved.</body></html>".to_vec())
                })),
            ));
        })
        .check(|w, out| {
            let bob = w.scim.user_by_user_name("bob.okafor").ok_or("bob is gone")?;
            let warnings = out.json().ok_or("no JSON output")?["result"]["warnings"]
                .as_array()
                .map_or(0, Vec::len);
            if bob["active"] == json!(false) && warnings == 1 {
                Ok(())
            } else {
                Err(format!("bob: {bob}; {warnings} warnings"))
            }
        }),
        Case::new(
            "SCIM POST answered 201 with a body that does not decode",
            0,
            &["the server accepted the write but its answer could not be read"],
        )
        .setup(|w, _| {
            w.scim_proxy.add_rule(Rule::always(
                Some("POST"),
                SCIM_USERS,
                Action::Rewrite(Arc::new(|status, _| (status, b"{\"id\": 7".to_vec()))),
            ));
        })
        .check(|w, _| {
            // Each record was found by its externalId, ownership proven: all 9
            // created once, and in their groups.
            let users = w.scim.users();
            let members: usize = w
                .scim
                .groups()
                .iter()
                .map(|g| g["members"].as_array().map_or(0, Vec::len))
                .sum();
            if users.len() == 9 && members > 0 {
                Ok(())
            } else {
                Err(format!("{} users, {members} memberships", users.len()))
            }
        }),
        Case::new(
            "SCIM server that does not keep externalId",
            1,
            &["did not keep the ownership mark", "creation stopped for this run"],
        )
        .writes(Writes::Allowed)
        .setup(|w, _| {
            w.scim.set_quirks(Quirks {
                drop_external_id: true,
                ..Quirks::default()
            });
        })
        .check(|w, _| {
            // One POST, then none; nothing else written.
            let n = w.scim.users().len();
            let groups = w.scim.groups().len();
            if n == 1 && groups == 0 {
                Ok(())
            } else {
                Err(format!("{n} users and {groups} groups created"))
            }
        }),
        Case::new(
            "SCIM HTML error page on the listing",
            1,
            &[
                "could not read the SCIM target completely; nothing was written",
                "GET /Users: HTTP 500: Internal Server Error Something went wrong",
            ],
        )
        .synced()
        .setup(|w, _| {
            scim_get(w, SCIM_USERS, Action::Respond {
                    status: 500,
                    content_type: Some("text/html; charset=utf-8".to_owned()),
                    body: b"<html><head><title>Internal Server Error</title><style>h1{}</style></head><body><h1>Something went wrong</h1></body></html>".to_vec(),
                });
        }),
        Case::new(
            "SCIM resets every connection to the group listing",
            1,
            &[
                "could not read the SCIM target completely; nothing was written",
                "GET /Groups: no complete response",
                "after 6 attempts",
            ],
        )
        .synced()
        .setup(|w, _| {
            w.activate.set_user_active("bob.okafor", false).expect("change");
            w.scim_proxy
                .add_rule(Rule::always(Some("GET"), "/Groups$", Action::Reset));
        }),
        Case::new("SCIM 401", 1, &["could not read the SCIM target completely", "HTTP 401", "token expired"])
            .setup(|w, _| {
                w.scim_proxy.add_rule(Rule::always(
                    None,
                    "/scim/",
                    respond_json(
                        401,
                        SCIM_JSON,
                        &format!(r#"{{"schemas":["{SCIM_ERROR}"],"status":"401","detail":"token expired"}}"#),
                    ),
                ));
            }),
        Case::new(
            "SCIM 404 on a PATCH (the record vanished)",
            3,
            &["PATCH /Users/", "HTTP 404: User not found"],
        )
        .check(|_, out| failure_kinds_are(out, &["not_found"]))
        .synced()
        .setup(|w, _| {
            w.activate.set_user_active("bob.okafor", false).expect("change");
            w.scim_proxy.add_rule(Rule::always(
                Some("PATCH"),
                "/Users/",
                respond_json(
                    404,
                    SCIM_JSON,
                    &format!(r#"{{"schemas":["{SCIM_ERROR}"],"status":"404","detail":"User not found"}}"#),
                ),
            ));
        }),
        Case::new(
            "SCIM 409 on a POST (the name is taken by a record we do not own)",
            3,
            &["POST /Users: HTTP 409 (uniqueness): userName is already taken"],
        )
        .setup(|w, _| {
            w.scim_proxy.add_rule(Rule::times(
                1,
                Some("POST"),
                SCIM_USERS,
                respond_json(
                    409,
                    SCIM_JSON,
                    &format!(
                        r#"{{"schemas":["{SCIM_ERROR}"],"status":"409","scimType":"uniqueness","detail":"userName is already taken"}}"#
                    ),
                ),
            ));
        })
        .check(|w, out| {
            failure_kinds_are(out, &["conflict"])?;
            let n = w.scim.users().len();
            if n == 8 { Ok(()) } else { Err(format!("{n} users, expected 8 of 9 created")) }
        }),
        Case::new("SCIM huge page of records outside the filter", 0, &["outside the externalId filter"])
            .setup(|w, _| {
                // The first page of the owned listing.
                w.scim_proxy.add_rule(
                    Rule::times(
                        1,
                        Some("GET"),
                        SCIM_USERS,
                        rewrite_json(|v| {
                            let extra: Vec<Value> = (0..5000)
                                .map(|i| json!({"id": format!("huge-{i}"), "userName": format!("huge-{i}"),
                                                "externalId": format!("okta:{i}"), "active": true}))
                                .collect();
                            let total = v["totalResults"].as_u64().unwrap_or(0) + 5000;
                            if let Some(list) = v["Resources"].as_array_mut() {
                                list.extend(extra);
                            } else {
                                v["Resources"] = Value::Array(extra);
                            }
                            v["totalResults"] = json!(total);
                            v["itemsPerPage"] = json!(total);
                        }),
                    )
                    .with_query("externalId sw"),
                );
            })
            .check(|w, _| {
                let n = w.scim.users().len();
                if n == 9 { Ok(()) } else { Err(format!("{n} users, expected 9")) }
            }),
    ]
}

// ---------------------------------------------------------------- configuration

/// Configuration mistakes, each refused before any request; and empty optional
/// settings, which are not mistakes.
#[allow(clippy::too_many_lines)] // A table.
pub fn config_cases() -> Vec<Case> {
    let none = Writes::NoRequest;
    vec![
        Case::new("config: no ACTIVATE_API_KEY", 1, &["ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required"])
            .unset(&["ACTIVATE_API_KEY"])
            .writes(none),
        Case::new(
            "config: no SCIM token",
            1,
            &["CW_SCIM_BEARER_TOKEN (or CW_SCIM_BEARER_TOKEN_FILE) is required"],
        )
        .unset(&["CW_SCIM_BEARER_TOKEN"])
        .writes(none),
        Case::new(
            "config: no SCIM URL",
            1,
            &["CW_SCIM_ORG_USERID (the org id in https://api.coreweave.com/scim/<id>) or CW_SCIM_BASE_URL is required"],
        )
        .unset(&["CW_SCIM_BASE_URL"])
        .writes(none),
        Case::new(
            "config: plain http:// SCIM URL to a remote host",
            2,
            &["for CW_SCIM_BASE_URL: plain http:// is only allowed to loopback hosts, not to \"scim.example.com\"; use https://"],
        )
        .env(&[("CW_SCIM_BASE_URL", "http://scim.example.com/scim/org")])
        .writes(none),
        Case::new(
            "config: plain http:// ACTIVATE URL to a remote host",
            2,
            &["for ACTIVATE_API_URL: plain http:// is only allowed to loopback hosts, not to \"activate.example.com\""],
        )
        .env(&[("ACTIVATE_API_URL", "http://activate.example.com")])
        .writes(none),
        Case::new(
            "config: MAX_DEACTIVATIONS is not a number",
            2,
            &["invalid value 'ten' for MAX_DEACTIVATIONS: invalid deactivation limit \"ten\""],
        )
        .env(&[("MAX_DEACTIVATIONS", "ten")])
        .writes(none),
        Case::new(
            "config: MAX_DEACTIVATIONS is a negative percentage",
            2,
            &["invalid value '-5%' for MAX_DEACTIVATIONS: invalid deactivation limit \"-5%\""],
        )
        .env(&[("MAX_DEACTIVATIONS", "-5%")])
        .writes(none),
        Case::new(
            "config: MAX_DEACTIVATIONS above 100%",
            2,
            &["invalid value '150%' for MAX_DEACTIVATIONS: 150% is more than 100%"],
        )
        .env(&[("MAX_DEACTIVATIONS", "150%")])
        .writes(none),
        Case::new(
            "config: ACTIVATE_API_KEY set but empty",
            1,
            &["ACTIVATE_API_KEY (or ACTIVATE_API_KEY_FILE) is required; ACTIVATE_API_KEY is set but empty"],
        )
        .env(&[("ACTIVATE_API_KEY", "")])
        .writes(none),
        Case::new("config: optional settings set but empty", 0, &["\"exit_code\": 0"])
            .env(&[
                ("MAX_DEACTIVATIONS", ""),
                ("SYNC_CONCURRENCY", ""),
                ("HTTP_TIMEOUT", ""),
                ("DRY_RUN", ""),
                ("ACTIVATE_SYNC_GROUPS", ""),
                ("ACTIVATE_ORG_NAME", ""),
                ("LOG_LEVEL", ""),
            ]),
        Case::new(
            "config: the token file is a directory",
            1,
            &["CW_SCIM_BEARER_TOKEN_FILE: cannot read"],
        )
        .unset(&["CW_SCIM_BEARER_TOKEN"])
        .env(&[("CW_SCIM_BEARER_TOKEN_FILE", "{dir}")])
        .writes(none),
        Case::new(
            "config: the token file does not exist",
            1,
            &["CW_SCIM_BEARER_TOKEN_FILE: cannot read", "/no-such-token"],
        )
        .unset(&["CW_SCIM_BEARER_TOKEN"])
        .env(&[("CW_SCIM_BEARER_TOKEN_FILE", "{dir}/no-such-token")])
        .writes(none),
        Case::new(
            "config: the token file is empty",
            1,
            &["CW_SCIM_BEARER_TOKEN_FILE:", "is empty"],
        )
        .unset(&["CW_SCIM_BEARER_TOKEN"])
        .env(&[("CW_SCIM_BEARER_TOKEN_FILE", "{dir}/token")])
        .setup(|_, dir| std::fs::write(dir.join("token"), "\n").expect("write"))
        .writes(none),
        Case::new(
            "config: the API key is not an ACTIVATE key",
            1,
            &["ACTIVATE_API_KEY is not a valid ACTIVATE API key or token"],
        )
        .env(&[("ACTIVATE_API_KEY", "hunter2")])
        .writes(none),
        Case::new("config: HTTP_TIMEOUT=0", 2, &["invalid value '0' for HTTP_TIMEOUT: 0 is not in 1..=3600"])
            .env(&[("HTTP_TIMEOUT", "0")])
            .writes(none),
        Case::new("config: DRY_RUN=maybe", 2, &["invalid value 'maybe'"])
            .env(&[("DRY_RUN", "maybe")])
            .writes(none),
        Case::new("config: LOG_LEVEL=loud", 2, &["invalid value 'loud' for LOG_LEVEL: expected one of error, warn, info, debug, trace"])
            .env(&[("LOG_LEVEL", "loud")])
            .writes(none),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_activate_answers() {
    run_table(activate_cases()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_scim_answers() {
    run_table(scim_cases()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_configuration() {
    run_table(config_cases()).await;
}

#[test]
fn the_catalogue_has_at_least_thirty_cases() {
    let n = activate_cases().len() + scim_cases().len() + config_cases().len();
    assert!(n >= 30, "{n} cases");
}
