//! The environment variables the tool reads, in one place.
//!
//! The names are part of the tool's contract (compatible with the earlier Python tool of
//! the same name); every setting also has a command-line flag.

/// ACTIVATE API key (`pwt_…`) or token.
pub const ACTIVATE_API_KEY: &str = "ACTIVATE_API_KEY";
/// A file holding the ACTIVATE API key (re-read on every run).
pub const ACTIVATE_API_KEY_FILE: &str = "ACTIVATE_API_KEY_FILE";
/// ACTIVATE base URL; default: decoded from the API key.
pub const ACTIVATE_API_URL: &str = "ACTIVATE_API_URL";
/// ACTIVATE organization name; default: asked from `whoami`.
pub const ACTIVATE_ORG_NAME: &str = "ACTIVATE_ORG_NAME";
/// Comma-separated ACTIVATE group names: the hard scope.
pub const ACTIVATE_SYNC_GROUPS: &str = "ACTIVATE_SYNC_GROUPS";
/// Where SSH keys come from: `api` or `pw-cli`.
pub const ACTIVATE_SSH_KEYS_SOURCE: &str = "ACTIVATE_SSH_KEYS_SOURCE";
/// Where users, groups and keys are read: `rest` (the REST API) or `scim` (ACTIVATE's
/// read-only SCIM server).
pub const ACTIVATE_SOURCE: &str = "ACTIVATE_SOURCE";
/// ACTIVATE SCIM bearer token, for `ACTIVATE_SOURCE=scim`.
pub const ACTIVATE_SCIM_TOKEN: &str = "ACTIVATE_SCIM_TOKEN";
/// A file holding the ACTIVATE SCIM bearer token (re-read on every run).
pub const ACTIVATE_SCIM_TOKEN_FILE: &str = "ACTIVATE_SCIM_TOKEN_FILE";
/// ACTIVATE's SCIM base URL; default `<ACTIVATE base URL>/api/organizations/<org>/scim/v2`.
pub const ACTIVATE_SCIM_URL: &str = "ACTIVATE_SCIM_URL";
/// The `pw` program used when the key source is `pw-cli`.
pub const PW_CLI_PATH: &str = "PW_CLI_PATH";
/// CoreWeave organization segment of the SCIM URL.
pub const CW_SCIM_ORG_USERID: &str = "CW_SCIM_ORG_USERID";
/// Full SCIM base URL (overrides `CW_SCIM_ORG_USERID`).
pub const CW_SCIM_BASE_URL: &str = "CW_SCIM_BASE_URL";
/// SCIM bearer token.
pub const CW_SCIM_BEARER_TOKEN: &str = "CW_SCIM_BEARER_TOKEN";
/// A file holding the SCIM bearer token (re-read on every run).
pub const CW_SCIM_BEARER_TOKEN_FILE: &str = "CW_SCIM_BEARER_TOKEN_FILE";
/// Deactivation guard: an absolute number (`25`) or a percentage (`10%`).
pub const MAX_DEACTIVATIONS: &str = "MAX_DEACTIVATIONS";
/// Lift the deactivation guard for this run.
pub const ALLOW_MASS_DEACTIVATION: &str = "ALLOW_MASS_DEACTIVATION";
/// Re-key guard: an absolute number (`25`) or a percentage (`10%`) of the owned users.
pub const MAX_REKEYS: &str = "MAX_REKEYS";
/// Lift the re-key guard for this run.
pub const ALLOW_MASS_REKEY: &str = "ALLOW_MASS_REKEY";
/// `true`: print the plan and write nothing.
pub const DRY_RUN: &str = "DRY_RUN";
/// `text` or `json` output on stdout.
pub const OUTPUT: &str = "OUTPUT";
/// Concurrent requests per side.
pub const SYNC_CONCURRENCY: &str = "SYNC_CONCURRENCY";
/// Per-request timeout in seconds.
pub const HTTP_TIMEOUT: &str = "HTTP_TIMEOUT";
/// Stop starting new writes after this many seconds.
pub const SYNC_DEADLINE: &str = "SYNC_DEADLINE";
/// URL to GET after a successful run.
pub const HEARTBEAT_URL: &str = "HEARTBEAT_URL";
/// Prometheus Pushgateway base URL.
pub const PUSHGATEWAY_URL: &str = "PUSHGATEWAY_URL";
/// Extra PEM CA bundle trusted for both APIs (corporate proxies).
pub const CA_BUNDLE_FILE: &str = "CA_BUNDLE_FILE";
/// Log level: `error`, `warn`, `info`, `debug`, `trace`.
pub const LOG_LEVEL: &str = "LOG_LEVEL";
/// Log format: `text` or `json`.
pub const LOG_FORMAT: &str = "LOG_FORMAT";
