//! A SCIM 2.0 client for CoreWeave IAM, as the reconciler needs it.
//!
//! What it is:
//!
//! - [`model`]: hand-written serde types for the SCIM messages the reconciler reads
//!   and writes: [`User`] (with CoreWeave's `sunkSshKeys` extension), [`Group`],
//!   [`ListResponse`], [`PatchOp`], the SCIM error body and [`ServiceProviderConfig`].
//!   Tolerant on read (unknown attributes ignored, `null`/absent/`[]` alike,
//!   `"True"`/`"False"` booleans, envelope keys in any case), strict on write
//!   (separate [`NewUser`]/[`NewGroup`] bodies that list their `schemas` and never
//!   carry `id` or `meta`; typed PATCH operations with lowercase ops and JSON
//!   booleans).
//! - [`filter`]: filter expressions with values quoted as JSON string literals, and
//!   their percent-encoding in a query string.
//! - [`ScimClient`]: an async HTTP client over `reqwest` (rustls) that pages listings
//!   defensively (see [`ScimError::IncompleteListing`] and friends), by `startIndex`
//!   with the pages after the first fetched concurrently, or by RFC 9865 cursor where
//!   the server advertises it ([`Paging`]), retries through
//!   [`http_policy::retry`], never repeats a `POST` whose outcome is unknown, and
//!   reports every attempt to an optional [`RequestObserver`]. An optional
//!   [`AdaptiveLimiter`] (see [`ScimClientBuilder::limiter`]) bounds requests in
//!   flight and per second, backs off on `429`/`503`, and lets the `Retry-After` of
//!   one `429` pause every request of the client.
//!
//! What it is not: it does not decide what to write (that is the planner's job), it
//! never deletes anything (there is no `DELETE` call), it keeps no state between
//! runs, it reads no environment variables, and it does not install a tracing
//! subscriber.
//!
//! # Example
//!
//! List the records this project owns and deactivate one:
//!
//! ```no_run
//! use scim_client::{PatchOp, PatchOperation, ScimClient};
//! use secrecy::SecretString;
//! use url::Url;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = ScimClient::builder(
//!     Url::parse("https://api.coreweave.com/scim/org-abc123")?,
//!     SecretString::from("token from CW_SCIM_BEARER_TOKEN"),
//! )
//! .build()?;
//! if let Err(error) = client.discover().await {
//!     tracing::warn!(%error, "SCIM discovery failed; using defaults");
//! }
//!
//! let owned = client.list_users_with_prefix("pw-activate:").await?;
//! tracing::info!(mode = %owned.mode, users = owned.records.len(), "listed owned users");
//!
//! if let Some(user) = owned.records.iter().find(|u| u.user_name == "alice") {
//!     let patch = PatchOp::new()
//!         .with(PatchOperation::replace_active(false))
//!         .with(PatchOperation::replace_sunk_ssh_keys(Vec::<String>::new()));
//!     match client.patch_user(&user.id, &patch).await {
//!         Ok(_) => {}
//!         Err(error) if error.is_not_found() => tracing::warn!(%error, "stale id; next run re-lists"),
//!         Err(error) => return Err(error.into()),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod client;
pub mod error;
pub mod filter;
pub mod model;
mod observe;
mod paging;

pub use client::{
    ListingMode, PageProbe, PageStart, Paging, PrefixListing, ScimClient, ScimClientBuilder,
};
pub use error::ScimError;
pub use filter::Filter;
pub use model::{
    AttributeDefinition, CoreWeaveUser, Email, Group, ListResponse, ListedGroup, Member, MemberIds,
    Name, NameComponent, NewGroup, NewUser, PaginationConfig, PatchKind, PatchOp, PatchOperation,
    ResourceTypeDefinition, SchemaDefinition, ScimErrorBody, ScimType, ServiceProviderConfig, User,
};
pub use observe::{Endpoint, Method, RequestEvent, RequestObserver, RequestOutcome};

/// Re-exported so callers can build a [`ScimClientBuilder::limiter`] without naming
/// the `http-policy` crate.
pub use http_policy::limiter::{AdaptiveLimiter, LimiterConfig, LimiterSnapshot};
/// Re-exported so callers can build a [`ScimClientBuilder::retry_policy`] without
/// naming the `http-policy` crate.
pub use http_policy::retry::RetryPolicy;
