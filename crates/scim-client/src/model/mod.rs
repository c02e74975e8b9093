//! SCIM 2.0 messages and resources, hand-written for the attributes this project uses.
//!
//! Reading is tolerant, writing is strict:
//!
//! - read types ([`User`], [`Group`], [`ListResponse`], [`ScimErrorBody`],
//!   [`ServiceProviderConfig`]) ignore unknown attributes, read `null`, absent and `[]`
//!   alike (RFC 7643 §2.5), and accept booleans sent as `"True"`/`"False"`;
//! - write types ([`NewUser`], [`NewGroup`], [`PatchOp`]) list their `schemas`
//!   themselves, never carry `id` or `meta`, and send JSON booleans and lowercase
//!   PATCH ops.

pub(crate) mod de;
pub mod error;
pub mod group;
pub mod list;
pub mod member_ids;
pub mod patch;
pub mod schema;
pub mod spc;
pub mod user;

use serde::{Deserialize, Serialize};

pub use error::{ScimErrorBody, ScimType};
pub use group::{Group, ListedGroup, Member, NewGroup};
pub use list::ListResponse;
pub use member_ids::MemberIds;
pub use patch::{NameComponent, PatchKind, PatchOp, PatchOperation};
pub use schema::{AttributeDefinition, ResourceTypeDefinition, SchemaDefinition, SchemaExtension};
pub use spc::{BulkConfig, FilterConfig, PaginationConfig, ServiceProviderConfig, Supported};
pub use user::{CoreWeaveUser, Email, Name, NewUser, User};

/// Schema URN of the core User resource (RFC 7643 §4.1).
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Schema URN of the core Group resource (RFC 7643 §4.2).
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Schema URN of CoreWeave's user extension, which carries `sunkSshKeys`.
pub const COREWEAVE_USER_SCHEMA: &str =
    "urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser";
/// Schema URN of a list response (RFC 7644 §3.4.2).
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Schema URN of a PATCH request body (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Schema URN of an error response (RFC 7644 §3.12).
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// Schema URN of the service provider configuration (RFC 7643 §5).
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// The full PATCH path and filter attribute of the SSH keys: extension attributes are
/// addressed with their schema URN (RFC 7644 §3.10).
pub const SUNK_SSH_KEYS_PATH: &str =
    "urn:coreweave:params:scim:schemas:extension:coreweave:2.0:CoreWeaveUser:sunkSshKeys";

/// Resource metadata maintained by the server (RFC 7643 §3.1); read-only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Meta {
    /// `User` or `Group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// When the resource was created (an RFC 3339 timestamp, kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the resource last changed (kept as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The resource's URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The resource's version (its `ETag`), e.g. `W/"3"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}
