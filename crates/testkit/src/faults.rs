//! Transport-level fault injection shared by both emulators.
//!
//! [`HttpFaults`] describes what can go wrong with any request: latency, a rate
//! limit, 500/503 answers, connection resets and stalls. Every random draw comes from
//! one `SmallRng` seeded from the emulator's seed, so a run with the same seed and
//! the same request order sees the same faults. Each emulator adds its own,
//! protocol-level knobs on top (see `scim::Faults` and `activate::Faults`).
//!
//! The order in which faults are applied to a request: latency, then the rate limit
//! (429), then a reset, then 503, then 500, then a stall, then the normal handling.

use std::sync::Mutex;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

/// Faults that apply to any request, whatever the protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpFaults {
    /// Delay before each request is handled.
    pub latency: Latency,
    /// Requests beyond this rate get `429 Too Many Requests` with `Retry-After`.
    pub rate_limit: Option<RateLimit>,
    /// Probability (0.0–1.0) of answering `500 Internal Server Error`.
    pub error_500_probability: f64,
    /// Probability (0.0–1.0) of answering `503 Service Unavailable` with `Retry-After`.
    pub error_503_probability: f64,
    /// `Retry-After` seconds sent with a 503.
    pub retry_after_secs: u64,
    /// Probability (0.0–1.0) of resetting the connection without any response.
    pub reset_probability: f64,
    /// Occasionally answer only after a long delay (longer than a client's timeout).
    pub stall: Option<Stall>,
}

impl Default for HttpFaults {
    fn default() -> Self {
        Self {
            latency: Latency::None,
            rate_limit: None,
            error_500_probability: 0.0,
            error_503_probability: 0.0,
            retry_after_secs: 1,
            reset_probability: 0.0,
            stall: None,
        }
    }
}

/// Delay added to every request (with `tokio::time::sleep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Latency {
    /// No added delay.
    #[default]
    None,
    /// The same delay for every request.
    Fixed(Duration),
    /// A delay drawn uniformly from `min..=max` for each request.
    Uniform {
        /// Shortest delay.
        min: Duration,
        /// Longest delay.
        max: Duration,
    },
}

/// A token bucket: `requests` may be made per `per`, with bursts up to `requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window (also the burst size).
    pub requests: u32,
    /// The window, e.g. one second.
    pub per: Duration,
}

impl RateLimit {
    /// `requests` per second.
    pub fn per_second(requests: u32) -> Self {
        Self {
            requests,
            per: Duration::from_secs(1),
        }
    }
}

/// A response delayed by `delay` with the given probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stall {
    /// Probability (0.0–1.0) that a request stalls.
    pub probability: f64,
    /// How long a stalled request waits before it is handled.
    pub delay: Duration,
}

/// A fault the emulator injected into one request (see the request log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InjectedFault {
    /// Answered `429` by the rate limit.
    RateLimited,
    /// Answered `500`.
    Error500,
    /// Answered `503` with `Retry-After`.
    Error503,
    /// Connection reset before any response.
    Reset,
    /// Handled only after the stall delay.
    Stalled,
    /// The request was applied, then the connection was reset instead of answering.
    LostResponse,
}

/// What the fault gate decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Handle normally, after waiting `stall` if set.
    Proceed {
        /// How long to stall before handling the request.
        stall: Option<Duration>,
    },
    /// Answer 429 with this `Retry-After`.
    RateLimited {
        /// Seconds until a token is available again (at least 1).
        retry_after_secs: u64,
    },
    /// Answer 500.
    Error500,
    /// Answer 503 with this `Retry-After`.
    Error503 {
        /// Seconds for the `Retry-After` header.
        retry_after_secs: u64,
    },
    /// Reset the connection.
    Reset,
}

impl Gate {
    /// The fault this decision injects, if any.
    pub(crate) fn fault(self) -> Option<InjectedFault> {
        match self {
            Self::Proceed { stall: None } => None,
            Self::Proceed { stall: Some(_) } => Some(InjectedFault::Stalled),
            Self::RateLimited { .. } => Some(InjectedFault::RateLimited),
            Self::Error500 => Some(InjectedFault::Error500),
            Self::Error503 { .. } => Some(InjectedFault::Error503),
            Self::Reset => Some(InjectedFault::Reset),
        }
    }
}

/// The seeded random source and the rate-limit bucket of one emulator.
#[derive(Debug)]
pub(crate) struct FaultEngine {
    rng: Mutex<SmallRng>,
    bucket: Mutex<Option<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl FaultEngine {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
            bucket: Mutex::new(None),
        }
    }

    /// True with probability `p`; draws nothing when `p` is 0 or 1.
    pub(crate) fn chance(&self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        lock(&self.rng).random_bool(p)
    }

    fn latency(&self, latency: Latency) -> Duration {
        match latency {
            Latency::None => Duration::ZERO,
            Latency::Fixed(d) => d,
            Latency::Uniform { min, max } if max > min => {
                let span = u64::try_from(max.saturating_sub(min).as_nanos()).unwrap_or(u64::MAX);
                min + Duration::from_nanos(lock(&self.rng).random_range(0..=span))
            }
            Latency::Uniform { min, .. } => min,
        }
    }

    /// Takes a token; `Err(retry_after_secs)` when none is left.
    fn take_token(&self, limit: RateLimit) -> Result<(), u64> {
        let now = Instant::now();
        let mut slot = lock(&self.bucket);
        let bucket = match slot.as_mut() {
            Some(b) if b.limit == limit => b,
            _ => slot.insert(Bucket {
                limit,
                tokens: f64::from(limit.requests),
                last: now,
            }),
        };
        let rate = f64::from(limit.requests) / limit.per.as_secs_f64().max(f64::MIN_POSITIVE);
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(f64::from(limit.requests));
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if rate <= 0.0 {
            Err(limit.per.as_secs().max(1))
        } else {
            let wait = (1.0 - bucket.tokens) / rate;
            // Whole seconds, rounded up, at least 1 (Retry-After has no fractions).
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let secs = wait.ceil().max(1.0) as u64;
            Err(secs)
        }
    }

    /// Forgets the rate-limit bucket (the next request starts with a full bucket).
    pub(crate) fn reset_rate_limit(&self) {
        *lock(&self.bucket) = None;
    }

    /// Sleeps the latency, then decides rate limit, reset, 503, 500 and stall, in
    /// that order (the caller sleeps the stall, after recording it).
    pub(crate) async fn gate(&self, faults: &HttpFaults) -> Gate {
        let delay = self.latency(faults.latency);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if let Some(limit) = faults.rate_limit
            && let Err(retry_after_secs) = self.take_token(limit)
        {
            return Gate::RateLimited { retry_after_secs };
        }
        if self.chance(faults.reset_probability) {
            return Gate::Reset;
        }
        if self.chance(faults.error_503_probability) {
            return Gate::Error503 {
                retry_after_secs: faults.retry_after_secs,
            };
        }
        if self.chance(faults.error_500_probability) {
            return Gate::Error500;
        }
        let stall = faults
            .stall
            .filter(|stall| self.chance(stall.probability))
            .map(|stall| stall.delay);
        Gate::Proceed { stall }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chance_is_deterministic_for_a_seed() {
        let draw = |seed| {
            let engine = FaultEngine::new(seed);
            (0..64).map(|_| engine.chance(0.5)).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let engine = FaultEngine::new(1);
        assert!(!engine.chance(0.0));
        assert!(engine.chance(1.0));
    }

    #[test]
    fn uniform_latency_stays_in_range() {
        let engine = FaultEngine::new(3);
        let (min, max) = (Duration::from_millis(2), Duration::from_millis(5));
        for _ in 0..100 {
            let d = engine.latency(Latency::Uniform { min, max });
            assert!(d >= min && d <= max, "{d:?}");
        }
        assert_eq!(
            engine.latency(Latency::Fixed(Duration::from_millis(9))),
            Duration::from_millis(9)
        );
    }

    #[test]
    fn bucket_allows_the_burst_then_refuses_with_retry_after() {
        let engine = FaultEngine::new(0);
        let limit = RateLimit {
            requests: 3,
            per: Duration::from_secs(60),
        };
        assert_eq!(engine.take_token(limit), Ok(()));
        assert_eq!(engine.take_token(limit), Ok(()));
        assert_eq!(engine.take_token(limit), Ok(()));
        // One token comes back every 20 s.
        let retry = engine.take_token(limit).unwrap_err();
        assert!((19..=20).contains(&retry), "{retry}");
        engine.reset_rate_limit();
        assert_eq!(engine.take_token(limit), Ok(()));
    }
}
