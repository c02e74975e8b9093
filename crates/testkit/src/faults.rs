//! The one fault model of the emulators and the [`proxy`](crate::proxy).
//!
//! [`HttpFaults`] describes what may go wrong with any request: latency, a rate
//! limit, `429`/`503`/`500` answers, connection resets, stalls, and `POST`s whose
//! answer is lost after they were applied. Whether a given request is hit is a pure
//! function, [`decide`], of the seed, the request's identity ([`RequestId`]: method,
//! path, query and body) and how many times that identity has been seen before. So
//! a run with the same seed sees the same faults on the same logical requests,
//! however its concurrent requests interleave: a retry is a later occurrence of the
//! same identity and gets its own draw.
//!
//! The random outcomes are exclusive and drawn from one number in `[0, 1)`, in this
//! order: `429`, `503`, `500`, reset, stall (each takes the next slice of the unit
//! interval; when the probabilities add up to more than 1, the later ones get what
//! is left). A lost `POST` answer and a uniform latency have draws of their own. The
//! token-bucket [`RateLimit`] is the one stateful fault: it answers `429` whatever
//! the draw once its bucket is empty.

use std::time::Duration;

/// Faults that apply to any request, whatever the protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpFaults {
    /// Delay before each request is handled.
    pub latency: Latency,
    /// Requests beyond this rate get `429 Too Many Requests` with `Retry-After`.
    pub rate_limit: Option<RateLimit>,
    /// Probability (0.0–1.0) of answering `429 Too Many Requests` with `Retry-After`.
    pub error_429_probability: f64,
    /// Probability (0.0–1.0) of answering `503 Service Unavailable` with `Retry-After`.
    pub error_503_probability: f64,
    /// Probability (0.0–1.0) of answering `500 Internal Server Error`.
    pub error_500_probability: f64,
    /// `Retry-After` seconds sent with a drawn `429` or `503`.
    pub retry_after_secs: u64,
    /// Probability (0.0–1.0) of resetting the connection without any response.
    pub reset_probability: f64,
    /// Occasionally handle a request only after a long delay (longer than a
    /// client's timeout): it is applied late and its answer goes nowhere.
    pub stall: Option<Stall>,
    /// Probability (0.0–1.0) that a `POST` answered with a 2xx is applied but its
    /// answer is replaced by a connection reset.
    pub lost_post_probability: f64,
}

impl Default for HttpFaults {
    fn default() -> Self {
        Self {
            latency: Latency::None,
            rate_limit: None,
            error_429_probability: 0.0,
            error_503_probability: 0.0,
            error_500_probability: 0.0,
            retry_after_secs: 1,
            reset_probability: 0.0,
            stall: None,
            lost_post_probability: 0.0,
        }
    }
}

impl HttpFaults {
    /// Whether no request can be hit by a drawn fault (the rate limit aside), so
    /// identities need not be computed.
    pub(crate) fn draws_nothing(&self) -> bool {
        matches!(self.latency, Latency::None | Latency::Fixed(_))
            && self.error_429_probability <= 0.0
            && self.error_503_probability <= 0.0
            && self.error_500_probability <= 0.0
            && self.reset_probability <= 0.0
            && self.stall.is_none_or(|s| s.probability <= 0.0)
            && self.lost_post_probability <= 0.0
    }
}

/// Delay added to every request.
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

/// A request handled only after `delay`, with the given probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stall {
    /// Probability (0.0–1.0) that a request stalls.
    pub probability: f64,
    /// How long a stalled request waits before it is handled.
    pub delay: Duration,
}

/// A fault injected into one request (see the request logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InjectedFault {
    /// Answered `429` with `Retry-After` (drawn, or by the rate limit).
    RateLimited,
    /// Answered `503` with `Retry-After`.
    Error503,
    /// Answered `500`.
    Error500,
    /// Connection reset before any response.
    Reset,
    /// Handled only after the stall delay.
    Stalled,
    /// The request was applied, then the connection was reset instead of answering.
    LostResponse,
    /// Answered or changed by a scripted [`Rule`](crate::proxy::Rule) of the proxy.
    Scripted,
}

impl std::fmt::Display for InjectedFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::RateLimited => "429 + Retry-After",
            Self::Error503 => "503 + Retry-After",
            Self::Error500 => "500",
            Self::Reset => "connection reset",
            Self::Stalled => "slower than the client timeout",
            Self::LostResponse => "POST applied, response lost",
            Self::Scripted => "scripted answer",
        })
    }
}

/// The identity of a request for fault draws: a hash of what makes it the same
/// logical request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestId(u64);

impl RequestId {
    /// `METHOD path?query`, followed by the body when there is one.
    pub fn of_request(method: &str, target: &str, body: &[u8]) -> Self {
        let mut hash = Fnv::default();
        hash.write(method.as_bytes());
        hash.write(b" ");
        hash.write(target.as_bytes());
        if !body.is_empty() {
            hash.write(b" ");
            hash.write(body);
        }
        Self(hash.0)
    }

    /// An identity chosen by the caller (for example one that names a record by a
    /// key of its own instead of a server-assigned id).
    pub fn named(name: &str) -> Self {
        let mut hash = Fnv::default();
        hash.write(name.as_bytes());
        Self(hash.0)
    }
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// What the fault model decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Wait this long before doing anything else.
    pub latency: Duration,
    /// What happens to the request.
    pub outcome: Outcome,
    /// If the request is a `POST` answered with a 2xx, reset instead of answering.
    pub lose_post: bool,
}

/// The drawn outcome of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handle it.
    Proceed,
    /// Handle it after this delay.
    Stall(Duration),
    /// Answer `429` with this `Retry-After`.
    RateLimited {
        /// Seconds for the `Retry-After` header (at least 1 from the rate limit).
        retry_after_secs: u64,
    },
    /// Answer `503` with this `Retry-After`.
    Error503 {
        /// Seconds for the `Retry-After` header.
        retry_after_secs: u64,
    },
    /// Answer `500`.
    Error500,
    /// Reset the connection without an answer.
    Reset,
}

impl Outcome {
    /// The fault this outcome injects, if any.
    pub fn fault(self) -> Option<InjectedFault> {
        match self {
            Self::Proceed => None,
            Self::Stall(_) => Some(InjectedFault::Stalled),
            Self::RateLimited { .. } => Some(InjectedFault::RateLimited),
            Self::Error503 { .. } => Some(InjectedFault::Error503),
            Self::Error500 => Some(InjectedFault::Error500),
            Self::Reset => Some(InjectedFault::Reset),
        }
    }
}

/// The fault decision for the `occurrence`-th sighting (from 1) of request `id`
/// under `seed`: a pure function (the rate limit is not part of it).
pub fn decide(faults: &HttpFaults, seed: u64, id: RequestId, occurrence: u64) -> Decision {
    let draw = unit(seed, id, occurrence, 0);
    let slices = [
        (
            faults.error_429_probability,
            Outcome::RateLimited {
                retry_after_secs: faults.retry_after_secs,
            },
        ),
        (
            faults.error_503_probability,
            Outcome::Error503 {
                retry_after_secs: faults.retry_after_secs,
            },
        ),
        (faults.error_500_probability, Outcome::Error500),
        (faults.reset_probability, Outcome::Reset),
    ];
    let mut edge = 0.0;
    let mut outcome = None;
    for (probability, candidate) in slices {
        edge += probability.max(0.0);
        if draw < edge {
            outcome = Some(candidate);
            break;
        }
    }
    let outcome = outcome
        .or_else(|| {
            let stall = faults.stall?;
            edge += stall.probability.max(0.0);
            (draw < edge).then_some(Outcome::Stall(stall.delay))
        })
        .unwrap_or(Outcome::Proceed);
    let latency = match faults.latency {
        Latency::None => Duration::ZERO,
        Latency::Fixed(d) => d,
        Latency::Uniform { min, max } if max > min => {
            min + max
                .saturating_sub(min)
                .mul_f64(unit(seed, id, occurrence, 2))
        }
        Latency::Uniform { min, .. } => min,
    };
    Decision {
        latency,
        outcome,
        lose_post: outcome == Outcome::Proceed
            && unit(seed, id, occurrence, 1) < faults.lost_post_probability,
    }
}

/// A number in `[0, 1)` from the seed, the identity, the occurrence and a salt
/// (`SplitMix64`).
fn unit(seed: u64, id: RequestId, occurrence: u64, salt: u64) -> f64 {
    let mut x = id.0
        ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ occurrence.wrapping_mul(0xbf58_476d_1ce4_e5b9)
        ^ salt.wrapping_mul(0x94d0_49bb_1331_11eb);
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    // The top 53 bits as a fraction.
    #[allow(clippy::cast_precision_loss)]
    let fraction = (x >> 11) as f64 / (1u64 << 53) as f64;
    fraction
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> HttpFaults {
        HttpFaults {
            error_429_probability: 0.1,
            error_503_probability: 0.2,
            error_500_probability: 0.1,
            reset_probability: 0.1,
            stall: Some(Stall {
                probability: 0.1,
                delay: Duration::from_secs(5),
            }),
            lost_post_probability: 0.5,
            ..HttpFaults::default()
        }
    }

    fn outcomes(seed: u64, id: RequestId) -> Vec<Outcome> {
        (1..=200)
            .map(|n| decide(&faults(), seed, id, n).outcome)
            .collect()
    }

    #[test]
    fn a_decision_depends_on_seed_identity_and_occurrence_only() {
        let id = RequestId::of_request("GET", "/Users?startIndex=1", b"");
        assert_eq!(outcomes(7, id), outcomes(7, id));
        assert_ne!(outcomes(7, id), outcomes(8, id));
        let other = RequestId::of_request("GET", "/Users?startIndex=101", b"");
        assert_ne!(outcomes(7, id), outcomes(7, other));
        let post = |body: &[u8]| RequestId::of_request("POST", "/Users", body);
        assert_ne!(post(b"{\"userName\":\"a\"}"), post(b"{\"userName\":\"b\"}"));
        assert_eq!(
            RequestId::named("POST Users x"),
            RequestId::named("POST Users x")
        );
    }

    #[test]
    fn outcomes_follow_their_probabilities() {
        let mut counts = std::collections::BTreeMap::new();
        let mut lost = 0;
        for n in 0..20_000 {
            let id = RequestId::of_request("GET", &format!("/Users/{n}"), b"");
            let decision = decide(&faults(), 3, id, 1);
            *counts
                .entry(format!("{:?}", decision.outcome.fault()))
                .or_insert(0u32) += 1;
            lost += u32::from(decision.lose_post);
            assert!(!decision.lose_post || decision.outcome == Outcome::Proceed);
        }
        let share = |key: &str| f64::from(counts[key]) / 20_000.0;
        for (key, expected) in [
            ("Some(RateLimited)", 0.1),
            ("Some(Error503)", 0.2),
            ("Some(Error500)", 0.1),
            ("Some(Reset)", 0.1),
            ("Some(Stalled)", 0.1),
            ("None", 0.4),
        ] {
            assert!((share(key) - expected).abs() < 0.02, "{key}: {counts:?}");
        }
        // Drawn only for requests that proceed: half of 40 %.
        assert!((f64::from(lost) / 20_000.0 - 0.2).abs() < 0.02, "{lost}");
    }

    #[test]
    fn certain_and_impossible_faults_need_no_luck() {
        let id = RequestId::named("x");
        let only = |faults: HttpFaults| decide(&faults, 1, id, 1).outcome;
        let none = HttpFaults::default();
        assert_eq!(only(none.clone()), Outcome::Proceed);
        assert!(none.draws_nothing());
        assert_eq!(
            only(HttpFaults {
                error_503_probability: 1.0,
                retry_after_secs: 7,
                ..HttpFaults::default()
            }),
            Outcome::Error503 {
                retry_after_secs: 7
            }
        );
        assert_eq!(
            only(HttpFaults {
                reset_probability: 1.0,
                ..HttpFaults::default()
            }),
            Outcome::Reset
        );
        // When the slices add up to more than 1, the earlier ones win.
        assert_eq!(
            only(HttpFaults {
                error_500_probability: 1.0,
                reset_probability: 1.0,
                ..HttpFaults::default()
            }),
            Outcome::Error500
        );
    }

    #[test]
    fn uniform_latency_stays_in_range() {
        let (min, max) = (Duration::from_millis(2), Duration::from_millis(5));
        let faults = HttpFaults {
            latency: Latency::Uniform { min, max },
            ..HttpFaults::default()
        };
        assert!(!faults.draws_nothing());
        let delays: Vec<Duration> = (1..=100)
            .map(|n| decide(&faults, 3, RequestId::named("GET /"), n).latency)
            .collect();
        assert!(delays.iter().all(|d| (min..=max).contains(d)), "{delays:?}");
        assert!(delays.iter().any(|d| *d != delays[0]));
        let fixed = HttpFaults {
            latency: Latency::Fixed(Duration::from_millis(9)),
            ..HttpFaults::default()
        };
        assert_eq!(
            decide(&fixed, 3, RequestId::named("GET /"), 1).latency,
            Duration::from_millis(9)
        );
    }
}
