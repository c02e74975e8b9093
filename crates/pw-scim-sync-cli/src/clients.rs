//! Building the two clients from the settings, with request counting.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use activate_client::{ActivateClient, ConfigError, Credential, ScimSource};
use anyhow::{Context, Result, anyhow};
use scim_client::{
    AdaptiveLimiter, LimiterConfig, RequestEvent, RequestObserver, RequestOutcome, ScimClient,
};
use secrecy::{ExposeSecret, SecretString};

use crate::env_vars as env;
use crate::settings::{ActivateSettings, RunSettings, ScimSettings};

/// The user agent both clients send.
pub const USER_AGENT: &str = concat!("pw-activate-scim-sync/", env!("CARGO_PKG_VERSION"));

/// HTTP requests to the SCIM target by status (`transport_error` when no response
/// arrived), retries included.
#[derive(Debug, Clone, Default)]
pub struct RequestCounts(Arc<Mutex<BTreeMap<String, u64>>>);

impl RequestCounts {
    /// An observer for the SCIM client that counts into `self`.
    pub fn observer(&self) -> RequestObserver {
        let counts = Arc::clone(&self.0);
        Arc::new(move |event: &RequestEvent| {
            let status = match event.outcome {
                RequestOutcome::Status(code) => code.to_string(),
                _ => "transport_error".to_owned(),
            };
            *counts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .entry(status)
                .or_default() += 1;
        })
    }

    /// The counts so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// All requests so far.
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
}

/// The ACTIVATE client.
pub fn activate(settings: &ActivateSettings, run: &RunSettings) -> Result<ActivateClient> {
    let credential = Credential::parse(settings.credential.expose_secret()).with_context(|| {
        format!(
            "{} is not a valid ACTIVATE API key or token",
            env::ACTIVATE_API_KEY
        )
    })?;
    let mut builder = ActivateClient::builder(credential)
        .timeout(run.timeout)
        .concurrency(run.concurrency)
        .user_agent(USER_AGENT);
    if let Some(url) = &settings.api_url {
        builder = builder.api_url(url.as_str());
    }
    if let Some(org) = &settings.org_name {
        builder = builder.org(org.clone());
    }
    if let Some(pem) = &run.ca_bundle {
        builder = builder.extra_root_ca_pem(pem.clone());
    }
    builder.build().map_err(|error| {
        let context = match error {
            ConfigError::NoHost { .. } => format!(
                "cannot work out the ACTIVATE URL; set {} (e.g. https://activate.parallel.works)",
                env::ACTIVATE_API_URL
            ),
            ConfigError::InvalidUrl(_) | ConfigError::InsecureUrl(_) | ConfigError::UrlHasQuery
                if settings.api_url.is_none() =>
            {
                format!(
                    "the host in {} cannot be used; set {} (e.g. https://activate.parallel.works)",
                    env::ACTIVATE_API_KEY,
                    env::ACTIVATE_API_URL
                )
            }
            _ => "cannot set up the ACTIVATE client".to_owned(),
        };
        anyhow!(error).context(context)
    })
}

/// The reader of ACTIVATE's SCIM server, for
/// [`SourceSettings::Scim`](crate::settings::SourceSettings::Scim).
pub fn scim_source(
    activate: ActivateClient,
    token: &SecretString,
    url: Option<&url::Url>,
) -> Result<ScimSource> {
    let source = ScimSource::new(activate, token)
        .with_context(|| format!("{} cannot be used", env::ACTIVATE_SCIM_TOKEN))?;
    match url {
        Some(url) => source
            .with_base_url(url.as_str())
            .with_context(|| format!("{} cannot be used", env::ACTIVATE_SCIM_URL)),
        None => Ok(source),
    }
}

/// The SCIM client. At most `run.concurrency` requests are in flight; an adaptive
/// limiter sends fewer and paces them when the server answers `429` or `503`, and one
/// `429`'s `Retry-After` pauses every request.
pub fn scim(
    settings: &ScimSettings,
    run: &RunSettings,
    counts: &RequestCounts,
) -> Result<ScimClient> {
    let limiter = Arc::new(AdaptiveLimiter::new(LimiterConfig::new(run.concurrency)));
    let mut builder = ScimClient::builder(settings.base_url.clone(), settings.token.clone())
        .timeout(run.timeout)
        .user_agent(USER_AGENT)
        .observer(counts.observer())
        .limiter(limiter);
    if let Some(pem) = &run.ca_bundle {
        builder = builder.extra_root_ca_pem(pem.clone());
    }
    builder
        .build()
        .map_err(|e| anyhow!(e))
        .context("cannot set up the SCIM client")
}

/// A plain client for the heartbeat and the metrics push.
pub fn plain(run: &RunSettings) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(run.timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Some(pem) = &run.ca_bundle {
        for cert in reqwest::Certificate::from_pem_bundle(pem)
            .with_context(|| format!("{} holds no valid PEM certificate", env::CA_BUNDLE_FILE))?
        {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().context("cannot set up the HTTP client")
}
