//! The heartbeat: a GET after a successful run, so that a dead man's switch
//! (healthchecks.io, Cronitor, …) notices when runs stop succeeding.

use std::time::Duration;

use url::Url;

/// Sends the heartbeat. A failure is logged as a warning and does not fail the run.
/// The URL may carry a check's secret id, so only its host is logged.
pub async fn ping(client: &reqwest::Client, url: &Url) {
    let host = url.host_str().unwrap_or("?").to_owned();
    let result = client
        .get(url.clone())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    match result {
        Ok(_) => tracing::info!(host, "heartbeat sent"),
        Err(error) => tracing::warn!(
            host,
            error = %error.without_url(),
            "heartbeat failed"
        ),
    }
}
