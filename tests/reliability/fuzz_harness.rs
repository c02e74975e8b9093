//! Fuzz harnesses for the parsers that read untrusted input: SCIM responses, ACTIVATE
//! responses, and SSH key lines.
//!
//! Each harness takes arbitrary bytes and checks invariants beyond "does not panic".
//! The same file drives two runners: the libFuzzer targets in `fuzz/` (which include
//! it with `#[path]`) and the bounded "fuzz smoke" in the reliability test suite
//! (`fuzz_smoke.rs`), which runs on the stable toolchain.
//!
//! The HTTP parsers are fuzzed where they are used: the real clients
//! (`scim_client::ScimClient`, `activate_client::ActivateClient`) read the input as
//! the body of a response from a loopback server ([`FakeServer`]). The first byte of
//! the input picks the status and content type; the rest is the body.

#![allow(dead_code)] // Each runner uses a part.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use activate_client::{ActivateClient, Credential, Scope};
use http_policy::chain::render as chain;
use reconcile_core::{LicenseStatus, SourceGroup, SourceSnapshot, SourceUser, SshKey, project};
use scim_client::{Filter, ListResponse, RetryPolicy, ScimClient, ScimErrorBody, User};
use secrecy::SecretString;

/// The SCIM token the harness uses; `@@TOKEN@@` in an input is replaced by it, so
/// the fuzzer can make a server echo it.
pub const SCIM_TOKEN: &str = "fuzzTokenQ8v3Lm2Zr7";
/// `pwt_<base64url("127.0.0.1:9")>.<secret>`; `@@KEY@@` in an input is replaced by
/// it. (The host is not used: the URL is explicit.)
const API_KEY: &str = "pwt_MTI3LjAuMC4xOjk.fuzzS3cretKeyP4x";
/// `Basic` credentials of [`API_KEY`]: base64 of `<key>:`.
const API_KEY_BASIC: &str = "cHd0X01USTNMakF1TUM0eE9qay5mdXp6UzNjcmV0S2V5UDR4Og==";
/// The prefix of owned records.
pub const PREFIX: &str = "pw-activate:";

/// What the fake server answers.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    content_type: Option<&'static str>,
    body: Vec<u8>,
}

/// A loopback HTTP/1.1 server that answers every request with the current
/// [`Answer`] and closes the connection.
pub struct FakeServer {
    addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeServer {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake server");
        let addr = listener.local_addr().expect("its address");
        let answer = Arc::new(Mutex::new(Answer {
            status: 200,
            content_type: None,
            body: Vec::new(),
        }));
        let shared = Arc::clone(&answer);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let answer = lock(&shared).clone();
                let _ = serve_one(&mut stream, &answer);
            }
        });
        Self { addr, answer }
    }

    fn set(&self, status: u16, content_type: Option<&'static str>, body: Vec<u8>) {
        *lock(&self.answer) = Answer {
            status,
            content_type,
            body,
        };
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn serve_one(stream: &mut std::net::TcpStream, answer: &Answer) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..n]);
    }
    let mut head = format!("HTTP/1.1 {} Fuzz\r\nconnection: close\r\n", answer.status);
    if let Some(content_type) = answer.content_type {
        head.push_str("content-type: ");
        head.push_str(content_type);
        head.push_str("\r\n");
    }
    head.push_str("content-length: ");
    head.push_str(&answer.body.len().to_string());
    head.push_str("\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&answer.body)?;
    stream.flush()
}

struct Http {
    server: FakeServer,
    runtime: tokio::runtime::Runtime,
    scim: ScimClient,
    activate: ActivateClient,
    /// One input at a time: the answer is shared.
    turn: Mutex<()>,
}

fn http() -> &'static Http {
    static HTTP: OnceLock<Http> = OnceLock::new();
    HTTP.get_or_init(|| {
        let server = FakeServer::start();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let base = url::Url::parse(&format!("{}/scim/fuzz", server.url())).expect("a URL");
        let scim = ScimClient::builder(base, SecretString::from(SCIM_TOKEN))
            .retry_policy(RetryPolicy::never())
            .timeout(Duration::from_secs(5))
            .max_pages(std::num::NonZeroU32::new(4).expect("non-zero"))
            .build()
            .expect("a SCIM client");
        let credential = Credential::parse(API_KEY).expect("a credential");
        let activate = ActivateClient::builder(credential)
            .api_url(server.url())
            .retry_policy(RetryPolicy::never())
            .timeout(Duration::from_secs(5))
            .org("fuzz-org")
            .max_user_pages(4)
            .build()
            .expect("an ACTIVATE client");
        Http {
            server,
            runtime,
            scim,
            activate,
            turn: Mutex::new(()),
        }
    })
}

/// Status and content type from the first byte; the rest is the body, with
/// `@@TOKEN@@` replaced by the token.
fn answer_of(data: &[u8]) -> (u16, Option<&'static str>, Vec<u8>) {
    const STATUSES: [u16; 16] = [
        200, 200, 200, 200, 201, 204, 400, 401, 403, 404, 409, 413, 429, 500, 502, 503,
    ];
    const TYPES: [Option<&str>; 4] = [
        Some("application/scim+json"),
        Some("application/json; charset=utf-8"),
        Some("text/html"),
        None,
    ];
    let (first, rest) = data.split_first().map_or((0, data), |(f, r)| (*f, r));
    let body = replace_all(rest, b"@@TOKEN@@", SCIM_TOKEN.as_bytes());
    let body = replace_all(&body, b"@@KEY@@", API_KEY.as_bytes());
    (
        STATUSES[usize::from(first & 0x0f)],
        TYPES[usize::from(first >> 4) % 4],
        body,
    )
}

fn replace_all(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// SCIM responses through the real client: listings (prefix, filtered), a create,
/// a patch. Invariants: a prefix listing returns only records with the prefix and
/// no id twice; an error message never holds the bearer token.
pub fn scim_response(data: &[u8]) {
    let http = http();
    let _turn = lock(&http.turn);
    let (status, content_type, body) = answer_of(data);
    http.server.set(status, content_type, body);
    let scim = &http.scim;
    http.runtime.block_on(async {
        match scim.list_users_with_prefix(PREFIX).await {
            Ok(listing) => {
                let mut ids = std::collections::HashSet::new();
                for user in &listing.records {
                    assert!(
                        user.external_id
                            .as_deref()
                            .is_some_and(|x| x.starts_with(PREFIX)),
                        "a record outside the prefix was handed out: {:?}",
                        user.external_id
                    );
                    assert!(ids.insert(user.id.clone()), "id {:?} twice", user.id);
                }
            }
            Err(error) => check_scim_error(&error),
        }
        match scim
            .list_all_groups(Some(Filter::eq("displayName", "x")))
            .await
        {
            Ok(groups) => {
                let mut ids = std::collections::HashSet::new();
                for group in &groups {
                    assert!(
                        ids.insert(group.id.clone()),
                        "group id {:?} twice",
                        group.id
                    );
                    let _ = group.member_ids().count();
                }
            }
            Err(error) => check_scim_error(&error),
        }
        let new_user = scim_client::NewUser::new("fuzz.user");
        if let Err(error) = scim.create_user(&new_user).await {
            check_scim_error(&error);
        }
        let patch =
            scim_client::PatchOp::new().with(scim_client::PatchOperation::replace_active(false));
        if let Err(error) = scim.patch_user("id-1", &patch).await {
            check_scim_error(&error);
        }
    });
}

fn check_scim_error(error: &scim_client::ScimError) {
    let text = chain(error);
    assert!(!text.contains(SCIM_TOKEN), "the token leaked: {text}");
    let _ = (error.status(), error.maybe_processed(), error.attempts());
}

/// ACTIVATE responses through the real client: users, groups, members, keys,
/// whoami, and a whole snapshot. Invariants: a users listing has unique ids and
/// non-empty usernames; a snapshot's groups have sorted, unique member ids and keys
/// exactly for the users who will be active.
pub fn activate_response(data: &[u8]) {
    let http = http();
    let _turn = lock(&http.turn);
    let (status, content_type, body) = answer_of(data);
    http.server.set(status, content_type, body);
    let client = &http.activate;
    http.runtime.block_on(async {
        match client.list_users("fuzz-org").await {
            Ok(users) => {
                let mut ids = std::collections::HashSet::new();
                for user in &users {
                    assert!(ids.insert(user.id.clone()), "user id {:?} twice", user.id);
                    assert!(!user.username.trim().is_empty(), "an empty username");
                }
            }
            Err(error) => check_activate_error(&error),
        }
        if let Err(error) = client.list_groups("fuzz-org").await {
            check_activate_error(&error);
        }
        if let Err(error) = client.group_members("fuzz-org", "g").await {
            check_activate_error(&error);
        }
        match client.user_ssh_keys("u").await {
            Ok(keys) => {
                for line in &keys {
                    assert!(!line.is_empty() && !line.starts_with('#'), "{line:?}");
                    assert_eq!(line.trim(), line);
                }
            }
            Err(error) => check_activate_error(&error),
        }
        if let Err(error) = client.whoami_organization().await {
            check_activate_error(&error);
        }
        match client.fetch_snapshot(&Scope::all()).await {
            Ok(snapshot) => {
                for group in &snapshot.groups {
                    assert!(group.member_ids.windows(2).all(|w| w[0] < w[1]));
                }
                for user in &snapshot.users {
                    assert_eq!(user.ssh_keys.is_some(), snapshot.will_be_active(user));
                }
            }
            Err(error) => {
                let text = chain(&error);
                assert!(
                    !text.contains(API_KEY) && !text.contains(API_KEY_BASIC),
                    "the key leaked: {text}"
                );
            }
        }
    });
}

fn check_activate_error(error: &activate_client::ActivateError) {
    let text = chain(error);
    assert!(
        !text.contains(API_KEY) && !text.contains(API_KEY_BASIC),
        "the key leaked: {text}"
    );
    let _ = (error.status(), error.is_auth());
}

/// SCIM documents decoded directly: `ListResponse<User>`, `User`, the error body.
pub fn scim_document(data: &[u8]) {
    if let Ok(page) = serde_json::from_slice::<ListResponse<User>>(data) {
        for user in &page.resources {
            let _ = (user.sunk_ssh_keys().len(), user.is_active());
        }
    }
    if let Ok(user) = serde_json::from_slice::<User>(data) {
        let _ = (user.sunk_ssh_keys().len(), user.is_active());
    }
    if let Ok(error) = serde_json::from_slice::<ScimErrorBody>(data) {
        let _ = error.is_scim_error();
    }
    let _ = serde_json::from_slice::<scim_client::Group>(data);
    let _ = serde_json::from_slice::<scim_client::ServiceProviderConfig>(data);
}

/// SSH key lines: the key parser and the projection that validates a user's keys.
/// Invariants: a parsed key's normal form parses to the same key; `Debug` never
/// shows the key data; the projected keys are valid, sorted and unique.
pub fn ssh_keys(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines = activate_client::keys::parse_key_lines(&text);
    for line in &lines {
        if let Ok(key) = SshKey::parse(line) {
            let again = SshKey::parse(key.as_openssh()).expect("the normal form parses");
            assert_eq!(again, key, "normalising is idempotent");
            assert!(key.fingerprint().starts_with("SHA256:"));
            let data_part = key.as_openssh().split(' ').nth(1).unwrap_or_default();
            if data_part.len() > 8 {
                assert!(
                    !format!("{key:?}").contains(data_part),
                    "Debug shows the key"
                );
            }
        }
    }
    let snapshot = SourceSnapshot {
        users: vec![SourceUser {
            id: "u1".into(),
            username: "fuzz".to_owned(),
            name: "Fuzz User".to_owned(),
            email: "fuzz@example.com".to_owned(),
            active: true,
            license: LicenseStatus::Active,
            ssh_keys: Some(vec![text.into_owned()]),
        }],
        groups: vec![SourceGroup {
            id: "g1".into(),
            name: "g".to_owned(),
            members: vec!["u1".into()],
        }],
        complete: true,
        unusable_users: Vec::new(),
    };
    let desired = project(&snapshot, &reconcile_core::Scope::All);
    for user in desired.users().values() {
        if let Some(keys) = &user.ssh_keys {
            assert!(
                keys.windows(2)
                    .all(|w| w[0].as_openssh() != w[1].as_openssh())
            );
            for key in keys {
                assert_eq!(SshKey::parse(key.as_openssh()).as_ref(), Ok(key));
            }
        }
    }
}

/// Inputs every runner starts from: valid documents and near misses.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let key =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH u@h";
    let strings: Vec<String> = match target {
        "scim_response" | "scim_document" => vec![
            format!("\x00{{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\"totalResults\":2,\"startIndex\":1,\"itemsPerPage\":2,\"Resources\":[{{\"id\":\"a\",\"userName\":\"alice\",\"externalId\":\"pw-activate:user:1\",\"active\":true}},{{\"id\":\"b\",\"userName\":\"bob\",\"externalId\":\"okta:2\",\"active\":\"False\"}}]}}"),
            "\x00{\"totalResults\":1,\"Resources\":[{\"id\":\"a\",\"userName\":\"a\",\"externalId\":\"pw-activate:x\",\"urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser\":{\"sunkSshKeys\":[\"k\"]}}]}".to_owned(),
            "\x00{\"Resources\":[],\"totalResults\":0}".to_owned(),
            "\x00{\"TotalResults\":\"3\",\"resources\":null}".to_owned(),
            "\x04{\"id\":\"new\",\"userName\":\"fuzz.user\"}".to_owned(),
            "\x0a{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":\"409\",\"scimType\":\"uniqueness\",\"detail\":\"taken by @@TOKEN@@\"}".to_owned(),
            "\x07{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:Error\"],\"status\":401,\"detail\":\"Bearer @@TOKEN@@\"}".to_owned(),
            "\x2e<html><title>502 Bad Gateway</title><body>@@TOKEN@@</body></html>".to_owned(),
            "\x05".to_owned(),
            "\x00{\"displayName\":\"g\",\"id\":\"g1\",\"members\":[{\"value\":\"a\"},{\"value\":\"a\"}]}".to_owned(),
        ],
        "activate_response" => vec![
            "\x10{\"total\":2,\"users\":[{\"id\":\"1\",\"username\":\"a\",\"active\":true,\"licenseStatus\":\"active\"},{\"id\":\"2\",\"username\":\"B\",\"active\":false}]}".to_owned(),
            "\x10{\"total\":0,\"users\":null}".to_owned(),
            "\x10[{\"id\":\"g1\",\"name\":\"g\",\"members\":2}]".to_owned(),
            "\x10[{\"id\":\"1\",\"username\":\"a\",\"email\":\"a@x\"}]".to_owned(),
            format!("\x10\"{key}\\n# comment\\n\""),
            format!("\x30{key}\n\n"),
            "\x10\"fuzz-org\"".to_owned(),
            "\x17{\"error\":true,\"message\":\"key @@KEY@@ expired\",\"code\":\"unauthenticated\"}".to_owned(),
            "\x1d{\"type\":\"about:blank\",\"title\":\"Oops\",\"errors\":[{\"detail\":\"d\",\"pointer\":\"/x\"}]}".to_owned(),
            "\x2e<html><h1>502 Bad Gateway</h1></html>".to_owned(),
        ],
        _ => vec![
            key.to_owned(),
            format!("{key}\n  {key} other comment\n# c\n\nssh-rsa AAAA\n"),
            "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc= x".to_owned(),
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI".to_owned(),
            "sk-ssh-ed25519@openssh.com AAAA x".to_owned(),
            "ssh-ed25519\tAAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\t\tspaced   comment".to_owned(),
        ],
    };
    strings.into_iter().map(String::into_bytes).collect()
}
