//! An ACTIVATE control-plane emulator: the read endpoints the reconciler uses.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/auth/whoami/organization` | the org name as a JSON string |
//! | `GET /api/organizations/{org}/users?limit=&skip=` | `{total, users: OrgUser[]}`; `limit` defaults to 50 and is clamped to 1–500 |
//! | `GET /api/organizations/{org}/groups[?limit=&skip=]` | a bare array of `Group` (`members` is a count) |
//! | `GET /api/organizations/{org}/groups/{group}/members` | `[{id, username, email}]`; `{group}` is percent-decoded |
//! | `GET /api/users/{username}/ssh-public-keys` | a JSON string: the user's key lines joined with `\n` |
//! | `GET /api/organizations/{org}/scim/v2/Users`, `…/Groups` | ACTIVATE's read-only SCIM server: users with their keys in the CoreWeave extension, groups with members (see [`scim`]) |
//!
//! Authentication: `Authorization: Basic base64("<key>:")` with the emulator's API
//! key, or `Authorization: Bearer <key>`; the SCIM endpoint takes
//! `Authorization: Bearer <SCIM token>` ([`ActivateEmulator::scim_token`]). Anything else is `401` with the legacy
//! envelope `{"error": true, "message": …, "code": "unauthenticated"}`. An unknown
//! org, group or user is `404` with `"code": "not_found"`.
//!
//! The API key ([`ActivateEmulator::api_key`]) has the real layout
//! `pwt_<base64url-no-pad(host)>.<secret>` with host `127.0.0.1:<port>` (see
//! [`api_key`]). A client that derives the URL from the key puts `https://` in front
//! of that host, which the emulator does not speak: pass the base URL explicitly
//! (`ACTIVATE_API_URL=http://127.0.0.1:<port>`, i.e. [`ActivateEmulator::base_url`]).
//!
//! The state is a [`Fixture`] (format documented in [`fixture`]), changed between runs
//! through the handle. Faults: the transport faults of [`HttpFaults`], a `total`
//! that lies ([`Faults::total_offset`]), and single users' records answered wrongly
//! ([`Faults::user_quirks`]: an empty username, a field of the wrong type, no id, a
//! sign-in page for their keys).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use testkit::activate::{ActivateEmulator, ActivateOptions, Faults, Fixture, Resource};
//! use testkit::request_log::Method;
//!
//! let activate = ActivateEmulator::start(ActivateOptions {
//!     fixture: Fixture::example(),
//!     ..ActivateOptions::default()
//! })
//! .await?;
//! let (url, key) = (activate.base_url(), activate.api_key());
//! // … first run …
//! activate.set_user_active("bob.okafor", false)?;
//! activate.rename_group("ml-team", "ml-research")?;
//! activate.set_faults(Faults { total_offset: 1, ..Faults::default() });
//! // … second run …
//! let pages = activate.log().count(Method::Get, Resource::Users);
//! # let _ = (url, key, pages);
//! # Ok(()) }
//! ```

pub mod fixture;
mod http;
pub mod scim;
mod served;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub use fixture::{Fixture, FixtureError, FixtureGroup, FixtureUser, LicenseStatus};

use crate::StartError;
use crate::faults::HttpFaults;
use crate::gate::Front;
use crate::net::{self, Server};
use crate::request_log::RequestLog;
use http::App;
use served::Served;

/// The SCIM bearer token the emulator accepts unless told otherwise.
pub const DEFAULT_SCIM_TOKEN: &str = "activate-scim-emulator";

/// The largest `limit` the users endpoint honours (larger values are clamped).
pub const USERS_LIMIT_MAX: u32 = 500;

/// What a request addressed, for the request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// `/api/auth/whoami/organization`.
    Whoami,
    /// `/api/organizations/{org}/users`.
    Users,
    /// `/api/organizations/{org}/groups`.
    Groups,
    /// `/api/organizations/{org}/groups/{group}/members`.
    Members,
    /// `/api/users/{username}/ssh-public-keys`.
    SshKeys,
    /// `/api/organizations/{org}/scim/v2/Users`.
    ScimUsers,
    /// `/api/organizations/{org}/scim/v2/Groups`.
    ScimGroups,
    /// Anything else (answered 404).
    Other,
}

/// Faults of the ACTIVATE emulator.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// Latency, rate limit, 429/500/503, resets, stalls.
    pub http: HttpFaults,
    /// Added to the true `total` of the users endpoint (the result is at least 0).
    pub total_offset: i64,
    /// Broken records of single users, by username (see [`UserQuirk`]).
    pub user_quirks: BTreeMap<String, UserQuirk>,
    /// The SCIM endpoint returns the CoreWeave user extension (the keys) only when
    /// `attributes` asks for it, as ACTIVATE's server may.
    pub scim_extension_on_request: bool,
}

/// One user's record answered wrongly, as real listings sometimes do (half-created
/// users, a proxy answering for the API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UserQuirk {
    /// The users-page entry has `"username": ""`.
    EmptyUsername,
    /// The users-page entry has `"active": "yes"` (a string, not a boolean).
    WrongType,
    /// The users-page entry has no `id`.
    NoId,
    /// The user's keys endpoint answers `200` with an HTML sign-in page
    /// (`text/html`).
    KeysLoginPage,
}

/// How to start an [`ActivateEmulator`].
#[derive(Clone)]
pub struct ActivateOptions {
    /// Address to listen on; default `127.0.0.1:0` (a free port).
    pub bind: SocketAddr,
    /// The organization served; default [`Fixture::example`].
    pub fixture: Fixture,
    /// The API key to accept; `None` (default): `api_key("127.0.0.1:<port>", "emulator")`.
    pub api_key: Option<String>,
    /// The SCIM bearer token to accept; `None` (default): [`DEFAULT_SCIM_TOKEN`].
    pub scim_token: Option<String>,
    /// Initial faults; default none.
    pub faults: Faults,
    /// Seed for fault draws.
    pub seed: u64,
}

impl Default for ActivateOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            fixture: Fixture::example(),
            api_key: None,
            scim_token: None,
            faults: Faults::default(),
            seed: 0,
        }
    }
}

impl fmt::Debug for ActivateOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivateOptions")
            .field("bind", &self.bind)
            .field("organization", &self.fixture.organization)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field(
                "scim_token",
                &self.scim_token.as_ref().map(|_| "[redacted]"),
            )
            .field("faults", &self.faults)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// An ACTIVATE API key for `host`: `pwt_<base64url-no-pad(host)>.<secret>`.
///
/// `host` is what clients decode from the key, e.g. `127.0.0.1:8080` (clients then
/// use `https://127.0.0.1:8080` unless given the URL explicitly).
pub fn api_key(host: &str, secret: &str) -> String {
    format!("pwt_{}.{secret}", URL_SAFE_NO_PAD.encode(host))
}

/// A running ACTIVATE emulator; stops when dropped.
pub struct ActivateEmulator {
    app: Arc<App>,
    addr: SocketAddr,
    base_url: String,
    _server: Server,
}

impl fmt::Debug for ActivateEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivateEmulator")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ActivateEmulator {
    /// Validates the fixture, binds, then serves in a background task of the current
    /// tokio runtime.
    pub async fn start(options: ActivateOptions) -> Result<Self, StartError> {
        options
            .fixture
            .validate()
            .map_err(|e| StartError::InvalidOption(format!("fixture: {e}")))?;
        let (listener, addr) = net::bind(options.bind).await?;
        let api_key = options
            .api_key
            .unwrap_or_else(|| api_key(&addr.to_string(), "emulator"));
        let app = Arc::new(App {
            api_key,
            scim_token: options
                .scim_token
                .unwrap_or_else(|| DEFAULT_SCIM_TOKEN.to_owned()),
            served: Mutex::new(Arc::new(Served::new(options.fixture))),
            faults: Mutex::new(options.faults),
            front: Front::new(options.seed),
        });
        let server = Server::spawn(listener, http::router(Arc::clone(&app)));
        Ok(Self {
            app,
            addr,
            base_url: format!("http://{addr}"),
            _server: server,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:40123` (paths start with `/api/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API key the emulator accepts.
    pub fn api_key(&self) -> &str {
        &self.app.api_key
    }

    /// The bearer token its SCIM endpoint accepts.
    pub fn scim_token(&self) -> &str {
        &self.app.scim_token
    }

    /// The base URL of its SCIM endpoint,
    /// `http://127.0.0.1:<port>/api/organizations/<org>/scim/v2`.
    pub fn scim_url(&self) -> String {
        format!(
            "{}/api/organizations/{}/scim/v2",
            self.base_url,
            self.organization()
        )
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The organization name.
    pub fn organization(&self) -> String {
        self.app.served().fixture.organization.clone()
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog<Resource> {
        &self.app.front.log
    }

    /// The current faults.
    pub fn faults(&self) -> Faults {
        self.app.faults().clone()
    }

    /// Replaces the faults; the rate limit starts again with a full bucket.
    pub fn set_faults(&self, faults: Faults) {
        *self.app.faults() = faults;
        self.app.front.reset_rate_limit();
    }

    /// A copy of the current state.
    pub fn fixture(&self) -> Fixture {
        self.app.served().fixture.clone()
    }

    /// Replaces the whole state (validated first).
    pub fn set_fixture(&self, fixture: Fixture) -> Result<(), FixtureError> {
        fixture.validate()?;
        *self.app.served_mut() = Arc::new(Served::new(fixture));
        Ok(())
    }

    /// Changes the state with `change`; applied only if it succeeds and the result is
    /// valid.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Fixture) -> Result<T, FixtureError>,
    ) -> Result<T, FixtureError> {
        let mut served = self.app.served_mut();
        let mut copy = served.fixture.clone();
        let out = change(&mut copy)?;
        copy.validate()?;
        *served = Arc::new(Served::new(copy));
        Ok(out)
    }

    /// Adds a user.
    pub fn add_user(&self, user: FixtureUser) -> Result<(), FixtureError> {
        self.update(|f| f.add_user(user))
    }

    /// Removes a user from the organization and its groups.
    pub fn remove_user(&self, username: &str) -> Result<(), FixtureError> {
        self.update(|f| f.remove_user(username).map(drop))
    }

    /// Activates or deactivates a user.
    pub fn set_user_active(&self, username: &str, active: bool) -> Result<(), FixtureError> {
        self.update(|f| f.set_user_active(username, active))
    }

    /// Sets a user's license status.
    pub fn set_license_status(
        &self,
        username: &str,
        status: LicenseStatus,
    ) -> Result<(), FixtureError> {
        self.update(|f| f.set_license_status(username, status))
    }

    /// Replaces a user's key lines (a key rotation).
    pub fn set_ssh_keys(&self, username: &str, keys: Vec<String>) -> Result<(), FixtureError> {
        self.update(|f| f.set_ssh_keys(username, keys))
    }

    /// Renames a group.
    pub fn rename_group(&self, name: &str, new_name: &str) -> Result<(), FixtureError> {
        self.update(|f| f.rename_group(name, new_name))
    }

    /// Adds a user to a group.
    pub fn add_member(&self, group: &str, username: &str) -> Result<(), FixtureError> {
        self.update(|f| f.add_member(group, username))
    }

    /// Removes a user from a group.
    pub fn remove_member(&self, group: &str, username: &str) -> Result<(), FixtureError> {
        self.update(|f| f.remove_member(group, username))
    }
}
