//! An in-memory SCIM 2.0 server that behaves like a strict CoreWeave IAM endpoint.
//!
//! What it implements (under `{base_url}` = `http://127.0.0.1:<port>/scim/<tenant>`):
//!
//! | request | answer |
//! |---|---|
//! | `GET /Users`, `GET /Groups` with `filter`, `startIndex`, `count` | `ListResponse`; pages capped at [`ScimOptions::page_cap`] |
//! | `GET /Users/{id}`, `GET /Groups/{id}` | the resource, with `ETag` |
//! | `POST /Users`, `POST /Groups` | `201`, the resource with a server-assigned `id` and `meta`, `Location` and `ETag` |
//! | `PATCH /Users/{id}`, `PATCH /Groups/{id}` | `204` (or `200` with the resource, see [`PatchResponse`]); honours `If-Match` |
//! | `DELETE …` | `405`, logged; nothing is ever deleted |
//! | `PUT …` | `501` |
//! | `GET /ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` | discovery documents; `filter.maxResults` is the page cap |
//!
//! Every request needs `Authorization: Bearer <token>`; otherwise `401` with a SCIM
//! error body. Errors always carry the RFC 7644 §3.12 body with a string `status`.
//!
//! Filters: `attr eq "…"` and `attr sw "…"` on `externalId` (case-exact), `userName`
//! and `displayName` (case-insensitive); groups on `externalId` and `displayName`.
//! Attribute names and operators are case-insensitive; values must be JSON string
//! literals. Anything else is `400 invalidFilter`.
//!
//! Invariants: `userName` is unique case-insensitively (`409 uniqueness`); groups are
//! flat: a member that is a group, or an id that is not a user, is
//! `400 invalidValue`. Clearing `sunkSshKeys` removes the extension object and its URN
//! from `schemas`; empty multi-valued attributes (`members: []`) are removed.
//!
//! Strict mode (default on, see [`ScimOptions::strict`]) additionally refuses:
//! bodies without `schemas` or without the core URN in it, the extension object
//! without its URN in `schemas`, PATCH bodies without the `PatchOp` URN, ops that are
//! not lowercase, string booleans (`"False"`), read-only attributes (`id`, `meta`,
//! `groups`) in a POST body, and unknown attributes. With strict mode off it accepts
//! them like `scim2-server` does (string booleans are converted, read-only and unknown
//! attributes ignored, the extension URN added).
//!
//! Quirks ([`Quirks`], all off by default) are consistent departures a real server
//! may show without an error: `sw` answered with nothing, cursor paging (RFC 9865),
//! discovery without the CoreWeave extension, `userName` and emails lowercased,
//! `name.formatted` or `externalId` not stored, the first page again for a
//! `startIndex` past the end. Pages capped whatever `count` says
//! are [`ScimOptions::page_cap`]. Change them at runtime with
//! [`ScimEmulator::set_quirks`].
//!
//! Faults ([`Faults`]) are changed at runtime with [`ScimEmulator::set_faults`]. The
//! request log ([`ScimEmulator::log`]) records every request, including the ones that
//! got no answer.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use testkit::scim::{Faults, ScimEmulator, ScimOptions, Resource};
//! use testkit::request_log::Method;
//!
//! let scim = ScimEmulator::start(ScimOptions { page_cap: 2, ..ScimOptions::default() }).await?;
//! let base_url = scim.base_url(); // http://127.0.0.1:PORT/scim/org-emulator
//! let token = scim.token();
//! // A record the reconciler does not own:
//! scim.seed_user(serde_json::json!({"userName": "okta-admin", "externalId": "okta:00u1"}))?;
//! // … run the client against base_url/token …
//! scim.set_faults(Faults { reject_sw: true, ..Faults::default() });
//! assert_eq!(scim.log().count(Method::Delete, Resource::Users), 0);
//! let state = scim.snapshot(); // {"Users": [...], "Groups": [...]}
//! # let _ = (base_url, token, state);
//! # Ok(()) }
//! ```

mod discovery;
mod filter;
mod http;
mod members;
mod patch;
mod quirks;
mod rejection;
mod schema;
mod store;
mod values;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use serde_json::Value;

pub use quirks::Quirks;
pub use rejection::Rejection;
pub use schema::{CW_USER_EXT, ERROR, GROUP_SCHEMA, LIST_RESPONSE, PATCH_OP, USER_SCHEMA};

use crate::StartError;
use crate::faults::HttpFaults;
use crate::gate::Front;
use crate::net::{self, Server};
use crate::request_log::RequestLog;
use http::{App, Settings};
use schema::Kind;
use store::{Origin, Store};

/// What a request addressed, for the request log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// `/Users` and `/Users/{id}`.
    Users,
    /// `/Groups` and `/Groups/{id}`.
    Groups,
    /// `/ServiceProviderConfig`.
    ServiceProviderConfig,
    /// `/Schemas…`.
    Schemas,
    /// `/ResourceTypes…`.
    ResourceTypes,
    /// Anything else (answered 404).
    Other,
}

/// How a successful PATCH is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchResponse {
    /// `204 No Content` (unless the request has `attributes`/`excludedAttributes`).
    #[default]
    NoContent,
    /// `200 OK` with the full resource.
    Resource,
}

/// Faults of the SCIM emulator: the transport faults plus SCIM-specific lies.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Faults {
    /// Latency, rate limit, 429/500/503, resets, stalls, lost `POST` answers (the
    /// record is created, then the connection is reset).
    pub http: HttpFaults,
    /// Added to the true `totalResults` of every list (the result is at least 0).
    pub total_results_offset: i64,
    /// Lists always return the first page (the requested `startIndex` is echoed).
    pub ignore_start_index: bool,
    /// `sw` filters are answered `400 invalidFilter`.
    pub reject_sw: bool,
}

/// How to start a [`ScimEmulator`].
#[derive(Clone)]
pub struct ScimOptions {
    /// Address to listen on; default `127.0.0.1:0` (a free port).
    pub bind: SocketAddr,
    /// The bearer token clients must send.
    pub token: String,
    /// The org segment of the base URL (`/scim/<tenant>`): letters, digits, `-`, `_`.
    pub tenant: String,
    /// Largest page a list returns (advertised as `filter.maxResults`); default 100.
    pub page_cap: usize,
    /// Strict mode (see the module docs); default on.
    pub strict: bool,
    /// How PATCH succeeds; default `204`.
    pub patch_response: PatchResponse,
    /// Initial faults; default none.
    pub faults: Faults,
    /// Initial quirks; default none (see [`Quirks`]).
    pub quirks: Quirks,
    /// Seed for fault draws and generated ids.
    pub seed: u64,
    /// Largest accepted request body (larger: `413`); default 4 MiB.
    pub max_body_bytes: usize,
}

impl Default for ScimOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            token: "emulator-token".to_owned(),
            tenant: "org-emulator".to_owned(),
            page_cap: 100,
            strict: true,
            patch_response: PatchResponse::NoContent,
            faults: Faults::default(),
            quirks: Quirks::default(),
            seed: 0,
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

impl fmt::Debug for ScimOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimOptions")
            .field("bind", &self.bind)
            .field("token", &"[redacted]")
            .field("tenant", &self.tenant)
            .field("page_cap", &self.page_cap)
            .field("strict", &self.strict)
            .field("patch_response", &self.patch_response)
            .field("faults", &self.faults)
            .field("quirks", &self.quirks)
            .field("seed", &self.seed)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// A running SCIM emulator; stops when dropped (idle connections are closed).
pub struct ScimEmulator {
    app: Arc<App>,
    addr: SocketAddr,
    _server: Server,
}

impl fmt::Debug for ScimEmulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimEmulator")
            .field("base_url", &self.app.base_url)
            .finish_non_exhaustive()
    }
}

impl ScimEmulator {
    /// Binds, then serves in a background task of the current tokio runtime.
    pub async fn start(options: ScimOptions) -> Result<Self, StartError> {
        let tenant_ok = !options.tenant.is_empty()
            && options
                .tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !tenant_ok {
            return Err(StartError::InvalidOption(format!(
                "tenant {:?} must be letters, digits, '-' or '_'",
                options.tenant
            )));
        }
        if options.page_cap == 0 {
            return Err(StartError::InvalidOption(
                "page_cap must be at least 1".to_owned(),
            ));
        }
        let (listener, addr) = net::bind(options.bind).await?;
        let base_path = format!("/scim/{}", options.tenant);
        let base_url = format!("http://{addr}{base_path}");
        let app = Arc::new(App {
            token: options.token,
            base_path,
            base_url: base_url.clone(),
            max_body_bytes: options.max_body_bytes,
            store: Mutex::new(Store::new(base_url, options.seed)),
            settings: Mutex::new(Settings {
                strict: options.strict,
                page_cap: options.page_cap,
                patch_response: options.patch_response,
                faults: options.faults,
                quirks: options.quirks,
            }),
            front: Front::new(options.seed),
        });
        let server = Server::spawn(listener, http::router(Arc::clone(&app)));
        Ok(Self {
            app,
            addr,
            _server: server,
        })
    }

    /// The SCIM base URL, e.g. `http://127.0.0.1:40123/scim/org-emulator`.
    pub fn base_url(&self) -> &str {
        &self.app.base_url
    }

    /// The bearer token the emulator accepts.
    pub fn token(&self) -> &str {
        &self.app.token
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The request log.
    pub fn log(&self) -> &RequestLog<Resource> {
        &self.app.front.log
    }

    /// The current faults.
    pub fn faults(&self) -> Faults {
        self.app.settings().faults.clone()
    }

    /// Replaces the faults; the rate limit starts again with a full bucket.
    pub fn set_faults(&self, faults: Faults) {
        self.app.settings().faults = faults;
        self.app.front.reset_rate_limit();
    }

    /// The current quirks.
    pub fn quirks(&self) -> Quirks {
        self.app.settings().quirks
    }

    /// Replaces the quirks; they apply to requests from now on (stored records are
    /// not rewritten).
    pub fn set_quirks(&self, quirks: Quirks) {
        self.app.settings().quirks = quirks;
    }

    /// Turns strict mode on or off.
    pub fn set_strict(&self, strict: bool) {
        self.app.settings().strict = strict;
    }

    /// Changes the page cap (at least 1).
    pub fn set_page_cap(&self, page_cap: usize) {
        self.app.settings().page_cap = page_cap.max(1);
    }

    /// Changes how PATCH succeeds.
    pub fn set_patch_response(&self, patch_response: PatchResponse) {
        self.app.settings().patch_response = patch_response;
    }

    /// Stores a user directly, bypassing strict mode. `id` and `meta` may be given
    /// (otherwise assigned; a given `id` must not be taken by a user or a group);
    /// `userName` must be present and unique, and unknown attributes are kept as
    /// given. Returns the id.
    pub fn seed_user(&self, user: Value) -> Result<String, Rejection> {
        self.seed(Kind::User, user)
    }

    /// Stores a group directly, like [`seed_user`](Self::seed_user); members must be
    /// existing users. Returns the id.
    pub fn seed_group(&self, group: Value) -> Result<String, Rejection> {
        self.seed(Kind::Group, group)
    }

    /// Seeds every user, then every group, of a [`snapshot`](Self::snapshot)-shaped
    /// value `{"Users": [...], "Groups": [...]}` (both keys optional).
    pub fn seed_snapshot(&self, snapshot: &Value) -> Result<(), Rejection> {
        for (key, kind) in [("Users", Kind::User), ("Groups", Kind::Group)] {
            for resource in snapshot
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                self.seed(kind, resource.clone())?;
            }
        }
        Ok(())
    }

    fn seed(&self, kind: Kind, resource: Value) -> Result<String, Rejection> {
        let stored = self.app.store().create(kind, resource, Origin::Seed)?;
        Ok(stored
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned())
    }

    /// All users, in creation order, exactly as stored.
    pub fn users(&self) -> Vec<Value> {
        self.all(Kind::User)
    }

    /// All groups, in creation order, exactly as stored.
    pub fn groups(&self) -> Vec<Value> {
        self.all(Kind::Group)
    }

    fn all(&self, kind: Kind) -> Vec<Value> {
        self.app
            .store()
            .all(kind)
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// One user by id.
    pub fn user(&self, id: &str) -> Option<Value> {
        self.app
            .store()
            .get(Kind::User, id)
            .map(|r| Value::Object(r.clone()))
    }

    /// One group by id.
    pub fn group(&self, id: &str) -> Option<Value> {
        self.app
            .store()
            .get(Kind::Group, id)
            .map(|r| Value::Object(r.clone()))
    }

    /// The user holding `user_name` (compared case-insensitively).
    pub fn user_by_user_name(&self, user_name: &str) -> Option<Value> {
        self.app
            .store()
            .user_by_user_name(user_name)
            .map(|r| Value::Object(r.clone()))
    }

    /// How many users and groups carry exactly this `externalId`.
    pub fn count_by_external_id(&self, external_id: &str) -> usize {
        self.app.store().count_by_external_id(external_id)
    }

    /// Every resource as `{"Users": [...], "Groups": [...]}`, in creation order; compare
    /// two snapshots to prove records unchanged byte for byte.
    pub fn snapshot(&self) -> Value {
        self.app.store().snapshot()
    }
}
