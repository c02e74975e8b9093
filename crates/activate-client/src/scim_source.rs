//! An optional bulk source: ACTIVATE's own read-only SCIM endpoint
//! (`{base}/api/organizations/{org}/scim/v2`), read with [`scim_client`].
//!
//! One paged listing of `/Users` (keys included, in the CoreWeave extension's
//! `sunkSshKeys`) and one of `/Groups` (members included) replace the REST source's
//! member list per group and key lookup per user: a snapshot costs
//! `ceil(U / 200) + ceil(G_all / 200)` requests (at least one page each), plus one
//! `whoami` when the organization name is not configured, where `G_all` counts every
//! group of the organization (scope is applied after reading).
//!
//! Differences from the REST source, which is the reference:
//! - **No license status.** ACTIVATE's SCIM users carry `active` only;
//!   [`User::license_status`] is `None`, and [`User::active`] is SCIM's `active`,
//!   which this crate takes to already fold in the license (the REST source's
//!   `active && licenseStatus != "inactive"`). ACTIVATE does not document this.
//! - **No POSIX UID.** [`User::uid`] is `None` (the SCIM model read here does not keep
//!   `sunkPosixUserId`).
//! - **Ids.** SCIM `id`s are taken to be the ACTIVATE user and group ids the REST API
//!   returns; switching sources for an organization whose ids differ would re-key
//!   every record.
//! - **Names and email.** `name` is `name.formatted`, else `displayName`; `email` is
//!   the primary address, else the first.
//! - It needs an organization-scoped SCIM bearer token (minted by an org admin in the
//!   browser) and SCIM enabled for the organization.
//! - **Keys.** A user carries the CoreWeave extension when it lists its schema or has
//!   keys in it. A listing of users none of whom carries it is incomplete (an error):
//!   the server did not return the keys, which is not "nobody has keys". Otherwise an
//!   empty or absent key list is no keys.
//! - **Unusable users.** A user without `active`, or with an empty `userName` or id,
//!   is returned in [`OrgSnapshot::unusable_users`], as by the REST source.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use futures::TryStreamExt as _;
use scim_client::model::COREWEAVE_USER_SCHEMA;
use scim_client::{
    AdaptiveLimiter, Endpoint, LimiterConfig, RequestEvent, RequestObserver, ScimClient,
};
use secrecy::{ExposeSecret as _, SecretString};

use crate::client::ActivateClient;
use crate::error::{ActivateError, ConfigError, SnapshotError, SnapshotPart};
use crate::keys::{SshKeySource, parse_key_lines};
use crate::model::{Group, GroupInfo, UnusableUser, User, non_empty};
use crate::path::encode_segment;
use crate::snapshot::{
    OrgSnapshot, Parts, RequestStats, Scope, Selection, assemble, select_groups,
};

/// The largest page ACTIVATE's SCIM endpoint serves.
pub const MAX_SCIM_PAGE_SIZE: u32 = 200;

/// Reads [`OrgSnapshot`]s from ACTIVATE's read-only SCIM endpoint.
///
/// Uses the [`ActivateClient`]'s base URL, timeouts, retry policy, extra root CA and
/// user agent, and its API key only for `whoami` when no organization is configured.
#[derive(Clone)]
pub struct ScimSource {
    client: ActivateClient,
    token: SecretString,
    page_size: NonZeroU32,
    base_url: Option<url::Url>,
}

impl fmt::Debug for ScimSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimSource")
            .field("client", &self.client)
            .field("token", &"[redacted]")
            .field("page_size", &self.page_size)
            .field("base_url", &self.base_url.as_ref().map(url::Url::as_str))
            .finish()
    }
}

impl ScimSource {
    /// A source reading with the SCIM bearer `token` (surrounding whitespace, such as
    /// a file's trailing newline, is trimmed). Pages hold 200 records.
    pub fn new(client: ActivateClient, token: &SecretString) -> Result<Self, ConfigError> {
        let trimmed = token.expose_secret().trim();
        if trimmed.is_empty() || !trimmed.chars().all(|c| c.is_ascii_graphic()) {
            return Err(ConfigError::ScimToken);
        }
        Ok(Self {
            client,
            token: SecretString::from(trimmed.to_owned()),
            page_size: NonZeroU32::new(MAX_SCIM_PAGE_SIZE).unwrap_or(NonZeroU32::MIN),
            base_url: None,
        })
    }

    /// Reads from `url` (the SCIM base, e.g. `https://host/api/organizations/acme/scim/v2`)
    /// instead of `<ACTIVATE base URL>/api/organizations/<org>/scim/v2`. The URL is
    /// checked against the transport policy (plain `http://` only to loopback hosts).
    pub fn with_base_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let url = crate::builder::normalise_base_url(url)?;
        self.base_url = Some(url);
        Ok(self)
    }

    /// Sets the SCIM page size (`count`), at most 200.
    pub fn with_page_size(mut self, page_size: NonZeroU32) -> Result<Self, ConfigError> {
        if page_size.get() > MAX_SCIM_PAGE_SIZE {
            return Err(ConfigError::OutOfRange {
                setting: "SCIM page size",
                value: u64::from(page_size.get()),
                min: 1,
                max: u64::from(MAX_SCIM_PAGE_SIZE),
            });
        }
        self.page_size = page_size;
        Ok(self)
    }

    fn scim_client(
        &self,
        org: &str,
        counts: &Arc<PageCounts>,
    ) -> Result<ScimClient, ActivateError> {
        let config = self.client.settings();
        let setup = |source: Box<dyn std::error::Error + Send + Sync>| ActivateError::Scim {
            what: "could not set up the SCIM client".to_owned(),
            source,
        };
        let base = match &self.base_url {
            Some(url) => url.clone(),
            None => config
                .base_url
                .join(&format!(
                    "api/organizations/{}/scim/v2",
                    encode_segment(org)
                ))
                .map_err(|e| setup(Box::new(e)))?,
        };
        let sink = Arc::clone(counts);
        let observer: RequestObserver = Arc::new(move |event: &RequestEvent| sink.record(event));
        let mut builder = ScimClient::builder(base, self.token.clone())
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .retry_policy(config.retry.clone())
            .page_size(self.page_size)
            .user_agent(config.user_agent.clone())
            .observer(observer)
            // The CoreWeave extension may be returned only when asked for.
            .user_attributes(USER_ATTRIBUTES)
            // Pages after the first are read concurrently, within the client's
            // concurrency, slowing down on 429/503.
            .limiter(Arc::new(AdaptiveLimiter::new(LimiterConfig::new(
                config.concurrency,
            ))));
        if let Some(pem) = &config.extra_root_ca_pem {
            builder = builder.extra_root_ca_pem(pem.clone());
        }
        builder.build().map_err(|e| setup(Box::new(e)))
    }

    /// Reads a complete snapshot: all SCIM users and groups, then selects the groups
    /// in scope and keeps the keys of the users who will be active in scope.
    pub async fn fetch_snapshot(&self, scope: &Scope) -> Result<OrgSnapshot, SnapshotError> {
        let mut stats = RequestStats::default();
        let org = if let Some(org) = &self.client.settings().org {
            org.clone()
        } else {
            stats.whoami += 1;
            self.client
                .whoami_organization()
                .await
                .map_err(|e| SnapshotError::new(SnapshotPart::OrgName, e))?
        };
        let counts = Arc::new(PageCounts::default());
        let scim = self
            .scim_client(&org, &counts)
            .map_err(|e| SnapshotError::new(SnapshotPart::ScimSetup, e))?;
        let users_path = format!("{}/Users", scim.base_url().path());
        let groups_path = format!("{}/Groups", scim.base_url().path());
        // Each user and group is converted as its page arrives: the full SCIM
        // records of a listing are never held together.
        let users = async {
            scim.list_users(None)
                .map_err(|e| SnapshotError::new(SnapshotPart::Users, scim_error(&users_path, e)))
                .try_fold(UserMapper::default(), |mut mapper, user| {
                    mapper.add(user);
                    futures::future::ready(Ok(mapper))
                })
                .await
        };
        let groups = async {
            // Groups decoded with their member ids only (not every member's
            // `$ref`, `type` and `display`).
            scim.list_listed_groups(None)
                .map_err(|e| SnapshotError::new(SnapshotPart::Groups, scim_error(&groups_path, e)))
                .try_fold(
                    (Vec::new(), HashMap::new()),
                    |(mut listed, mut members): (
                        Vec<GroupInfo>,
                        HashMap<String, Vec<Arc<str>>>,
                    ),
                     g| {
                        listed.push(GroupInfo {
                            id: non_empty(Some(g.id.clone())),
                            name: Some(g.display_name).filter(|n| !n.is_empty()),
                            member_count: None,
                        });
                        let ids = g.member_ids.iter().map(Arc::from).collect();
                        members.insert(g.id, ids);
                        futures::future::ready(Ok((listed, members)))
                    },
                )
                .await
        };
        let (mapper, (listed, mut members)) = futures::try_join!(users, groups)?;
        stats.scim_user_pages = counts.users.load(Ordering::Relaxed);
        stats.scim_group_pages = counts.groups.load(Ordering::Relaxed);

        let request = format!("GET {users_path}");
        let MappedUsers {
            users,
            unusable,
            keys,
        } = mapper
            .finish(&request)
            .map_err(|e| SnapshotError::new(SnapshotPart::Users, e))?;

        let request = format!("GET {groups_path}");
        let Selection {
            groups: selected,
            unknown,
        } = select_groups(listed, scope, &request)
            .map_err(|e| SnapshotError::new(SnapshotPart::Groups, e))?;
        let groups = selected
            .into_iter()
            .map(|(id, name, _)| Group {
                member_ids: members.remove(&id).unwrap_or_default(),
                id,
                name,
            })
            .collect();

        let parts = Parts {
            org,
            users,
            unusable,
            groups,
            unknown_groups: unknown,
            stats,
        };
        assemble(parts, scope, &keys, self.client.settings().concurrency)
            .await
            .map(|(snapshot, _)| snapshot)
    }
}

/// Logical requests per SCIM endpoint (first attempts only).
#[derive(Debug, Default)]
struct PageCounts {
    users: AtomicU32,
    groups: AtomicU32,
}

impl PageCounts {
    fn record(&self, event: &RequestEvent) {
        if event.attempt != 1 {
            return;
        }
        match event.endpoint {
            Endpoint::Users => self.users.fetch_add(1, Ordering::Relaxed),
            Endpoint::Groups => self.groups.fetch_add(1, Ordering::Relaxed),
            _ => 0,
        };
    }
}

fn scim_error(path: &str, error: scim_client::ScimError) -> ActivateError {
    ActivateError::Scim {
        what: format!("ACTIVATE SCIM listing GET {path} failed"),
        source: Box::new(error),
    }
}

/// SCIM users as snapshot users, the ones that cannot be used, and the keys by
/// username.
struct MappedUsers {
    users: Vec<User>,
    unusable: Vec<UnusableUser>,
    keys: KeysByUsername,
}

/// The user attributes asked for: everything the sync reads, the CoreWeave
/// extension (with the SSH keys) included.
const USER_ATTRIBUTES: [&str; 6] = [
    "userName",
    "name",
    "displayName",
    "emails",
    "active",
    COREWEAVE_USER_SCHEMA,
];

/// Whether the user carries the CoreWeave extension: it lists the extension's schema,
/// or has keys in it.
fn carries_extension(user: &scim_client::User) -> bool {
    user.schemas.iter().any(|s| s == COREWEAVE_USER_SCHEMA) || !user.sunk_ssh_keys().is_empty()
}

/// Maps the listing as it arrives. A user without `active` or with an empty
/// `userName` (or id) is unusable (held); a repeated `userName`, and a listing of
/// users of which none carries the CoreWeave extension (the keys were not returned,
/// which is not "nobody has keys"), fail the snapshot.
#[derive(Default)]
struct UserMapper {
    users: Vec<User>,
    unusable: Vec<UnusableUser>,
    keys: HashMap<String, Vec<String>>,
    /// Users listed, usable or not.
    listed: usize,
    /// Whether any listed user carries the extension.
    extension_seen: bool,
    /// The first `userName` listed twice.
    repeated: Option<String>,
}

impl UserMapper {
    fn add(&mut self, u: scim_client::User) {
        self.listed += 1;
        self.extension_seen = self.extension_seen || carries_extension(&u);
        let id = non_empty(Some(u.id.clone()));
        let username = non_empty(Some(u.user_name.clone()));
        let problem = match (&id, &username, u.active) {
            (None, _, _) => Some("the id is empty"),
            (_, None, _) => Some("the userName is empty"),
            (_, _, None) => Some("it has no `active` attribute"),
            _ => None,
        };
        if let Some(problem) = problem {
            tracing::warn!(
                id = id.as_deref().unwrap_or("(none)"),
                username = username.as_deref().unwrap_or("(none)"),
                reason = problem,
                "an ACTIVATE user cannot be used; nothing is written for it"
            );
            self.unusable.push(UnusableUser {
                id,
                username,
                reason: problem.to_owned(),
            });
            return;
        }
        let active = u.active.unwrap_or_default();
        let user_keys: Vec<String> = u
            .sunk_ssh_keys()
            .iter()
            .flat_map(|entry| parse_key_lines(entry))
            .collect();
        if self.keys.insert(u.user_name.clone(), user_keys).is_some() {
            self.repeated.get_or_insert_with(|| u.user_name.clone());
            return;
        }
        let name = u
            .name
            .as_ref()
            .and_then(|n| non_empty(n.formatted.clone()))
            .or_else(|| non_empty(u.display_name.clone()));
        let email = u
            .emails
            .iter()
            .find(|e| e.primary == Some(true))
            .or_else(|| u.emails.first())
            .and_then(|e| non_empty(Some(e.value.clone())));
        self.users.push(User {
            id: u.id,
            username: u.user_name,
            name,
            email,
            active,
            license_status: None,
            uid: None,
            ssh_keys: None,
        });
    }

    fn finish(self, request: &str) -> Result<MappedUsers, ActivateError> {
        let invalid = |problem: String| ActivateError::InvalidEntry {
            request: request.to_owned(),
            problem,
        };
        if self.listed > 0 && !self.extension_seen {
            return Err(invalid(format!(
                "none of the {} users carries the CoreWeave user extension ({COREWEAVE_USER_SCHEMA}), \
                 so their SSH keys were not returned; the listing is incomplete",
                self.listed
            )));
        }
        if let Some(user_name) = self.repeated {
            return Err(invalid(format!("the userName {user_name:?} appears twice")));
        }
        Ok(MappedUsers {
            users: self.users,
            unusable: self.unusable,
            keys: KeysByUsername(std::sync::Mutex::new(self.keys)),
        })
    }
}

/// Keys already read with the users, each handed out once (a user's keys are asked
/// for once per snapshot).
struct KeysByUsername(std::sync::Mutex<HashMap<String, Vec<String>>>);

impl SshKeySource for KeysByUsername {
    fn ssh_keys(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Vec<String>, ActivateError>> + Send {
        let keys = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(username)
            .unwrap_or_default();
        std::future::ready(Ok(keys))
    }
}
