//! The transport-fault step both emulators run before handling a request.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::faults::{FaultEngine, Gate, HttpFaults};
use crate::net::ConnectionControl;
use crate::request_log::Pending;

/// Draws the transport faults for one request and records them in `pending`.
///
/// Returns the response to send instead of handling the request (429, 500, 503,
/// each with a body made by `error(status, message)`), or, for a reset, a response
/// that never reaches the client because the connection is reset. `None`: handle it.
pub(crate) async fn inject<R: Copy + Ord>(
    engine: &FaultEngine,
    faults: &HttpFaults,
    connection: &ConnectionControl,
    pending: &mut Pending<R>,
    error: impl Fn(u16, &str) -> Response,
) -> Option<Response> {
    let decision = engine.gate(faults).await;
    pending.set_fault(decision.fault());
    let (response, retry_after) = match decision {
        Gate::Proceed { stall: None } => return None,
        Gate::Proceed { stall: Some(delay) } => {
            tokio::time::sleep(delay).await;
            return None;
        }
        Gate::Reset => {
            connection.reset();
            return Some(axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response());
        }
        Gate::RateLimited { retry_after_secs } => {
            (error(429, "too many requests"), Some(retry_after_secs))
        }
        Gate::Error503 { retry_after_secs } => (
            error(503, "service temporarily unavailable"),
            Some(retry_after_secs),
        ),
        Gate::Error500 => (error(500, "internal server error"), None),
    };
    let mut response = response;
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    pending.status = Some(response.status().as_u16());
    Some(response)
}
