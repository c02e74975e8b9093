//! The environment variables the tool reads, in one place: [`ALL`] lists them, and each
//! is a constant whose value is its own name.
//!
//! The names are part of the tool's contract (compatible with the earlier Python tool of
//! the same name); every setting also has a command-line flag. `pw-activate-scim-sync
//! env-vars` (a hidden subcommand) prints [`ALL`], one a line, for the checks of the
//! Kubernetes manifests.

/// Declares each name as a constant holding that name, and [`ALL`] listing them.
macro_rules! env_vars {
    ($($(#[$doc:meta])+ $name:ident,)+) => {
        $(
            $(#[$doc])+
            pub const $name: &str = stringify!($name);
        )+
        /// Every variable above, in this order.
        pub const ALL: &[&str] = &[$($name),+];
    };
}

env_vars! {
    /// ACTIVATE API key (`pwt_…`) or token.
    ACTIVATE_API_KEY,
    /// A file holding the ACTIVATE API key (re-read on every run).
    ACTIVATE_API_KEY_FILE,
    /// ACTIVATE base URL; default: decoded from the API key.
    ACTIVATE_API_URL,
    /// ACTIVATE organization name; default: asked from `whoami`.
    ACTIVATE_ORG_NAME,
    /// Comma-separated ACTIVATE group names: the hard scope.
    ACTIVATE_SYNC_GROUPS,
    /// Where SSH keys come from: `api` or `pw-cli`.
    ACTIVATE_SSH_KEYS_SOURCE,
    /// Where users, groups and keys are read: `rest` (the REST API) or `scim` (ACTIVATE's
    /// read-only SCIM server).
    ACTIVATE_SOURCE,
    /// ACTIVATE SCIM bearer token, for `ACTIVATE_SOURCE=scim`.
    ACTIVATE_SCIM_TOKEN,
    /// A file holding the ACTIVATE SCIM bearer token (re-read on every run).
    ACTIVATE_SCIM_TOKEN_FILE,
    /// ACTIVATE's SCIM base URL; default `<ACTIVATE base URL>/api/organizations/<org>/scim/v2`.
    ACTIVATE_SCIM_URL,
    /// The `pw` program used when the key source is `pw-cli`.
    PW_CLI_PATH,
    /// CoreWeave organization segment of the SCIM URL.
    CW_SCIM_ORG_USERID,
    /// Full SCIM base URL (overrides `CW_SCIM_ORG_USERID`).
    CW_SCIM_BASE_URL,
    /// SCIM bearer token.
    CW_SCIM_BEARER_TOKEN,
    /// A file holding the SCIM bearer token (re-read on every run).
    CW_SCIM_BEARER_TOKEN_FILE,
    /// Deactivation guard: an absolute number (`25`) or a percentage (`10%`).
    MAX_DEACTIVATIONS,
    /// Lift the deactivation guard for this run.
    ALLOW_MASS_DEACTIVATION,
    /// Re-key guard: an absolute number (`25`) or a percentage (`10%`) of the owned users.
    MAX_REKEYS,
    /// Lift the re-key guard for this run.
    ALLOW_MASS_REKEY,
    /// `true`: print the plan and write nothing.
    DRY_RUN,
    /// `text` or `json` output on stdout.
    OUTPUT,
    /// Concurrent requests per side.
    SYNC_CONCURRENCY,
    /// Per-request timeout in seconds.
    HTTP_TIMEOUT,
    /// Stop starting new writes after this many seconds.
    SYNC_DEADLINE,
    /// URL to GET after a successful run.
    HEARTBEAT_URL,
    /// Prometheus Pushgateway base URL.
    PUSHGATEWAY_URL,
    /// Extra PEM CA bundle trusted for both APIs (corporate proxies).
    CA_BUNDLE_FILE,
    /// Log level: `error`, `warn`, `info`, `debug`, `trace`.
    LOG_LEVEL,
    /// Log format: `text` or `json`.
    LOG_FORMAT,
}
