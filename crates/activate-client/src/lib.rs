//! Reads a Parallel Works ACTIVATE organization (users, groups, group members and
//! users' SSH public keys) completely, or not at all.
//!
//! What it is:
//! - [`credentials`]: API keys (`pwt_…`, sent as HTTP Basic) and tokens (JWT, `pwut_…`,
//!   `pwoa_…`, sent as Bearer), and the platform host a key carries;
//! - [`ActivateClient`], configured through [`ActivateClientBuilder`] (the base URL is
//!   the credential's host unless one is given, normalised and checked once): the
//!   read-only REST calls (`whoami`, users paged with
//!   `limit`/`skip` until `total`, groups, members per group, SSH keys per user), with
//!   retries of transient failures through [`http_policy::retry`];
//! - [`ActivateClient::fetch_snapshot`]: one call returning an [`OrgSnapshot`]: every
//!   user, the groups in [`Scope`] with their members, and the SSH keys of the users
//!   who will be active; or a [`SnapshotError`] naming the part that could not be read.
//!   A single user record that cannot be used (it does not decode, its username is
//!   empty, its keys cannot be read) is set aside as an [`UnusableUser`] instead of
//!   failing the snapshot, unless so many fail that the cause is not single users
//!   ([`snapshot::is_systematic`]);
//! - every answer is checked against its `Content-Type`: an HTML page (a sign-in or
//!   maintenance page, even with status 200) is an error, never data;
//! - [`keys::SshKeySource`]: the REST key lookup, or the `pw ssh-public-keys` command
//!   ([`PwCliKeys`]);
//! - [`ScimSource`]: an optional bulk source reading the same snapshot from
//!   ACTIVATE's own read-only SCIM endpoint in a few paged calls (no license status;
//!   see [`scim_source`] for the differences).
//!
//! What it is not: it writes nothing to ACTIVATE, validates no SSH keys (the key lines
//! are returned raw), knows nothing of SCIM targets or of what to change in them, and
//! reads no environment variables: the caller passes the key, URL and organization.
//! Its errors say what failed, not how to configure a particular program; no foreign
//! error type is part of its API (causes from other crates are boxed).
//!
//! ```no_run
//! use activate_client::{ActivateClient, Credential, Scope};
//!
//! # async fn run(api_key: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let credential = Credential::parse(api_key)?;
//! let client = ActivateClient::builder(credential) // host decoded from the key
//!     .org("acme") // otherwise asked of whoami
//!     .build()?;
//!
//! let snapshot = client.fetch_snapshot(&Scope::groups(["gpu users"])).await?;
//! for user in &snapshot.users {
//!     if snapshot.will_be_active(user) {
//!         let keys = user.ssh_keys.as_deref().unwrap_or_default();
//!         println!("{} {} keys", user.username, keys.len());
//!     }
//! }
//! println!("{} requests", snapshot.stats.total());
//! # Ok(())
//! # }
//! ```

pub(crate) mod body;
pub mod builder;
pub mod client;
pub mod credentials;
pub mod error;
pub mod keys;
pub mod model;
pub mod path;
pub mod probe;
pub mod scim_source;
pub mod snapshot;

pub use builder::ActivateClientBuilder;
pub use client::ActivateClient;
pub use credentials::{Credential, CredentialError, CredentialKind};
pub use error::{ActivateError, ConfigError, SnapshotError, SnapshotPart};
/// Re-exported so callers can set [`ActivateClientBuilder::retry_policy`] and read
/// [`ActivateError`]'s `gave_up` without naming the `http-policy` crate.
pub use http_policy::retry::{GiveUp, RetryPolicy};
pub use keys::{PwCliKeys, SshKeySource};
pub use model::{Group, GroupInfo, LicenseStatus, Member, UnusableUser, User, UserListing};
pub use scim_source::ScimSource;
pub use snapshot::{OrgSnapshot, RequestStats, Scope};
