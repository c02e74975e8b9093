//! An adaptive limit on how many requests one client has in flight and how fast it
//! sends them, shared by every task that uses the client.
//!
//! Each HTTP attempt takes a [`Permit`] from the [`AdaptiveLimiter`] and reports how
//! it went:
//!
//! - [`Permit::success`]: the server accepted the request. While the limiter is the
//!   bottleneck (callers wait for it), the concurrency window grows by one per window
//!   of successes (one per round trip) and the send rate, once there is one, by
//!   [`LimiterConfig::rate_growth`] of itself per second.
//! - [`Permit::rate_limited`]: the server refused it with `429 Too Many Requests`.
//!   Once per overload event (permits taken before the previous decrease do not count
//!   again) the window and the send rate are multiplied by
//!   [`LimiterConfig::decrease`]. The first event sets a send rate from the successes
//!   of the last [`LimiterConfig::rate_window`]; from then on requests are paced. Its
//!   `Retry-After` pauses **every** caller until it has passed, so that one refusal
//!   stops all senders rather than each learning it with its own refusal.
//! - [`Permit::overloaded`]: the server is short of capacity (`503`): the window
//!   shrinks (once per event) but the rate stays, and a `503`'s `Retry-After` is left
//!   to the retry of that one request (a `503` often comes from one busy instance).
//! - dropping the permit: neither (a client error, a timeout): it only frees the slot.
//!
//! This is additive increase, multiplicative decrease on the window (as TCP does per
//! round trip) and on the rate. A token-bucket server refills its budget per second,
//! not per round trip, so the rate grows slowly (10 % per second by default) and is
//! what settles at the server's limit; the window keeps latency-bound servers from
//! being flooded.
//!
//! The decisions live in a small state machine that takes the current time as an
//! argument; [`AdaptiveLimiter`] wraps it for async callers using `tokio`'s clock
//! (so tests may pause time).
//!
//! ```
//! # async fn demo() {
//! use std::time::Duration;
//! use http_policy::limiter::{AdaptiveLimiter, LimiterConfig};
//!
//! let limiter = AdaptiveLimiter::new(LimiterConfig::new(16));
//! let permit = limiter.acquire().await;
//! // … send the request; the server answered 429 with `Retry-After: 1` …
//! permit.rate_limited(Some(Duration::from_secs(1)));
//! assert_eq!(limiter.current().concurrency, 11);
//! // Every `acquire` now waits until the second has passed.
//! # }
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// How an [`AdaptiveLimiter`] adapts.
#[derive(Debug, Clone, PartialEq)]
pub struct LimiterConfig {
    /// Most requests in flight at once; also the starting window.
    pub max_concurrency: usize,
    /// The window never shrinks below this (at least 1).
    pub min_concurrency: usize,
    /// Factor applied to the window (and, on a `429`, the send rate) on an overload,
    /// in `(0, 1)`.
    pub decrease: f64,
    /// Relative growth of the send rate per second while callers wait for it: each
    /// success adds this many requests per second to the rate, and about `rate`
    /// successes arrive per second.
    pub rate_growth: f64,
    /// The send rate never falls below this many requests per second.
    pub min_rate: f64,
    /// How far back successes are counted to measure the rate the server accepted.
    pub rate_window: Duration,
    /// The longest pause one `Retry-After` imposes on every caller.
    pub max_pause: Duration,
}

impl LimiterConfig {
    /// At most `max_concurrency` requests in flight (at least 1); decrease 0.7, rate
    /// growth 10 % per second, minimum rate 1/s, a 1 s measuring window, pauses of
    /// at most 60 s (the longest `Retry-After` the default retry policy honours).
    pub fn new(max_concurrency: usize) -> Self {
        Self {
            max_concurrency: max_concurrency.max(1),
            min_concurrency: 1,
            decrease: 0.7,
            rate_growth: 0.1,
            min_rate: 1.0,
            rate_window: Duration::from_secs(1),
            max_pause: Duration::from_secs(60),
        }
    }

    fn max(&self) -> usize {
        self.max_concurrency.max(1)
    }

    fn min(&self) -> usize {
        self.min_concurrency.clamp(1, self.max())
    }

    fn decrease_factor(&self) -> f64 {
        if self.decrease > 0.0 && self.decrease < 1.0 {
            self.decrease
        } else {
            0.7
        }
    }
}

/// What the limiter currently allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterSnapshot {
    /// Requests allowed in flight at once.
    pub concurrency: usize,
    /// Requests allowed per second; `None` until the first `429`.
    pub rate: Option<f64>,
    /// Requests in flight now.
    pub in_flight: usize,
    /// Overload events so far (each decreased the limits once).
    pub overloads: u64,
    /// How long every caller still waits because of a `Retry-After`.
    pub paused_for: Duration,
}

/// Limits the requests of every task sharing it; see the [module docs](self).
pub struct AdaptiveLimiter {
    config: LimiterConfig,
    state: Mutex<State>,
    released: Notify,
}

impl fmt::Debug for AdaptiveLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveLimiter")
            .field("config", &self.config)
            .field("now", &self.current())
            .finish_non_exhaustive()
    }
}

impl AdaptiveLimiter {
    /// A limiter starting at `config.max_concurrency` requests in flight, unpaced.
    pub fn new(config: LimiterConfig) -> Self {
        let state = State::new(&config, Instant::now());
        Self {
            config,
            state: Mutex::new(state),
            released: Notify::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LimiterConfig {
        &self.config
    }

    /// What the limiter allows now.
    pub fn current(&self) -> LimiterSnapshot {
        self.lock().snapshot(&self.config, Instant::now())
    }

    /// Waits until a request may be sent: a slot in the window is free, no
    /// `Retry-After` pause is running, and the pacing allows the next request.
    pub async fn acquire(&self) -> Permit<'_> {
        let mut waited = false;
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            let outcome = self
                .lock()
                .try_acquire(&self.config, Instant::now(), waited);
            match outcome {
                Ok(ticket) => {
                    return Permit {
                        limiter: self,
                        ticket: Some(ticket),
                    };
                }
                Err(Wait::Until(at)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = &mut released => {}
                    }
                }
                Err(Wait::Release) => released.await,
            }
            waited = true;
        }
    }

    fn finish(&self, ticket: Ticket, outcome: Outcome) {
        self.lock()
            .finish(&self.config, Instant::now(), ticket, outcome);
        self.released.notify_waiters();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Leave to send one request; report how it went with [`success`](Self::success),
/// [`rate_limited`](Self::rate_limited) or [`overloaded`](Self::overloaded).
/// Dropping it only frees the slot.
#[must_use = "a permit reports how its request went; dropping it at once frees the slot"]
pub struct Permit<'a> {
    limiter: &'a AdaptiveLimiter,
    ticket: Option<Ticket>,
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").finish_non_exhaustive()
    }
}

impl Permit<'_> {
    /// The server accepted the request.
    pub fn success(mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.limiter.finish(ticket, Outcome::Success);
        }
    }

    /// The server refused the request with `429 Too Many Requests`, asking to wait
    /// `retry_after` if it said so: every caller waits that long.
    pub fn rate_limited(mut self, retry_after: Option<Duration>) {
        if let Some(ticket) = self.ticket.take() {
            self.limiter
                .finish(ticket, Outcome::RateLimited { retry_after });
        }
    }

    /// The server is short of capacity (`503 Service Unavailable`).
    pub fn overloaded(mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.limiter.finish(ticket, Outcome::Overloaded);
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.limiter.finish(ticket, Outcome::Neutral);
        }
    }
}

/// A granted request, as the state machine remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ticket {
    /// The decrease count when it was granted.
    epoch: u64,
    /// Whether the limiter was the bottleneck when it was granted.
    saturated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Success,
    RateLimited { retry_after: Option<Duration> },
    Overloaded,
    Neutral,
}

/// Why a request may not be sent yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Not before this time (a pause or the pacing).
    Until(Instant),
    /// Not before another request finishes.
    Release,
}

#[derive(Debug)]
struct State {
    /// The concurrency window; its floor is the number of slots.
    window: f64,
    in_flight: usize,
    /// Requests per second; `None`: unpaced.
    rate: Option<f64>,
    /// The earliest time the next paced request may go.
    next_slot: Instant,
    paused_until: Option<Instant>,
    /// Decreases so far.
    epoch: u64,
    /// When recent successes finished (within the rate window).
    successes: VecDeque<Instant>,
}

impl State {
    fn new(config: &LimiterConfig, now: Instant) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let window = config.max() as f64;
        Self {
            window,
            in_flight: 0,
            rate: None,
            next_slot: now,
            paused_until: None,
            epoch: 0,
            successes: VecDeque::new(),
        }
    }

    fn slots(&self, config: &LimiterConfig) -> usize {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let slots = self.window.floor() as usize;
        slots.clamp(config.min(), config.max())
    }

    fn snapshot(&self, config: &LimiterConfig, now: Instant) -> LimiterSnapshot {
        LimiterSnapshot {
            concurrency: self.slots(config),
            rate: self.rate,
            in_flight: self.in_flight,
            overloads: self.epoch,
            paused_for: self
                .paused_until
                .map_or(Duration::ZERO, |until| until.saturating_duration_since(now)),
        }
    }

    fn try_acquire(
        &mut self,
        config: &LimiterConfig,
        now: Instant,
        waited: bool,
    ) -> Result<Ticket, Wait> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(Wait::Until(until));
            }
            self.paused_until = None;
        }
        let slots = self.slots(config);
        if self.in_flight >= slots {
            return Err(Wait::Release);
        }
        if let Some(rate) = self.rate {
            if now < self.next_slot {
                return Err(Wait::Until(self.next_slot));
            }
            let interval = Duration::from_secs_f64(1.0 / rate);
            // A caller woken a little late keeps the schedule; after idle time the
            // schedule restarts from now (no burst of saved-up slots).
            let base = if self.next_slot + interval < now {
                now
            } else {
                self.next_slot
            };
            self.next_slot = base + interval;
        }
        self.in_flight += 1;
        Ok(Ticket {
            epoch: self.epoch,
            saturated: waited || self.in_flight >= slots,
        })
    }

    fn finish(&mut self, config: &LimiterConfig, now: Instant, ticket: Ticket, outcome: Outcome) {
        self.in_flight = self.in_flight.saturating_sub(1);
        match outcome {
            Outcome::Neutral => {}
            Outcome::Success => {
                self.successes.push_back(now);
                self.forget_old_successes(config, now);
                if ticket.saturated {
                    #[allow(clippy::cast_precision_loss)]
                    let max = config.max() as f64;
                    self.window = (self.window + 1.0 / self.window.max(1.0)).min(max);
                    if let Some(rate) = &mut self.rate {
                        *rate += config.rate_growth.max(0.0);
                    }
                }
            }
            Outcome::RateLimited { retry_after } => {
                if let Some(asked) = retry_after {
                    let until = now + asked.min(config.max_pause);
                    if self.paused_until.is_none_or(|current| current < until) {
                        self.paused_until = Some(until);
                    }
                }
                if ticket.epoch == self.epoch {
                    self.decrease(config, now, true);
                }
                if let Some(until) = self.paused_until {
                    self.next_slot = self.next_slot.max(until);
                }
            }
            Outcome::Overloaded => {
                if ticket.epoch == self.epoch {
                    self.decrease(config, now, false);
                }
            }
        }
    }

    /// One overload event: shrink the window; for a `429` also set or cut the rate.
    fn decrease(&mut self, config: &LimiterConfig, now: Instant, rate_limited: bool) {
        let factor = config.decrease_factor();
        self.epoch += 1;
        #[allow(clippy::cast_precision_loss)]
        let min = config.min() as f64;
        let before = self.slots(config);
        self.window = (self.window * factor).max(min);
        if rate_limited {
            self.forget_old_successes(config, now);
            #[allow(clippy::cast_precision_loss)]
            let measured = self.successes.len() as f64 / config.rate_window.as_secs_f64().max(1e-3);
            let basis = match self.rate {
                Some(rate) => Some(rate),
                None if measured > 0.0 => Some(measured),
                None => None,
            };
            self.rate =
                basis.map(|rate| (rate * factor).max(config.min_rate.max(f64::MIN_POSITIVE)));
        }
        tracing::info!(
            status = if rate_limited { 429 } else { 503 },
            concurrency_before = before,
            concurrency = self.slots(config),
            rate_per_second = self.rate,
            pause_ms = self.paused_until.map_or(0, |until| {
                u64::try_from(until.saturating_duration_since(now).as_millis()).unwrap_or(u64::MAX)
            }),
            "the server is overloaded: sending less"
        );
    }

    fn forget_old_successes(&mut self, config: &LimiterConfig, now: Instant) {
        while let Some(&oldest) = self.successes.front() {
            if now.saturating_duration_since(oldest) > config.rate_window {
                self.successes.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn config(max: usize) -> LimiterConfig {
        LimiterConfig::new(max)
    }

    fn grant(state: &mut State, config: &LimiterConfig, now: Instant) -> Ticket {
        state
            .try_acquire(config, now, false)
            .expect("a slot should be free")
    }

    #[test]
    fn the_window_caps_requests_in_flight() {
        let config = config(2);
        let now = Instant::now();
        let mut state = State::new(&config, now);
        let a = grant(&mut state, &config, now);
        let b = grant(&mut state, &config, now);
        assert!(!a.saturated);
        assert!(b.saturated, "the last free slot was taken");
        assert_eq!(state.try_acquire(&config, now, false), Err(Wait::Release));
        state.finish(&config, now, a, Outcome::Neutral);
        assert_eq!(state.in_flight, 1);
        assert!(state.try_acquire(&config, now, false).is_ok());
    }

    #[test]
    fn one_overload_event_decreases_once() {
        let config = config(16);
        let now = Instant::now();
        let mut state = State::new(&config, now);
        let tickets: Vec<Ticket> = (0..10).map(|_| grant(&mut state, &config, now)).collect();
        for ticket in tickets {
            state.finish(
                &config,
                now,
                ticket,
                Outcome::RateLimited { retry_after: None },
            );
        }
        assert_eq!(state.epoch, 1);
        assert_eq!(state.slots(&config), 11, "16 × 0.7 = 11.2");
        assert_eq!(state.rate, None, "no success measured yet: no rate");
        // A request sent after the decrease that is refused again is a new event.
        let late = grant(&mut state, &config, now);
        state.finish(
            &config,
            now,
            late,
            Outcome::RateLimited { retry_after: None },
        );
        assert_eq!(state.epoch, 2);
        assert_eq!(state.slots(&config), 7, "11.2 × 0.7 = 7.84");
    }

    #[test]
    fn a_503_shrinks_the_window_only() {
        let config = config(10);
        let now = Instant::now();
        let mut state = State::new(&config, now);
        state.rate = Some(40.0);
        let ticket = grant(&mut state, &config, now);
        state.finish(&config, now, ticket, Outcome::Overloaded);
        assert_eq!(state.slots(&config), 7);
        assert_eq!(state.rate, Some(40.0));
        assert_eq!(state.paused_until, None);
        assert_eq!(state.epoch, 1);
    }

    #[test]
    fn the_window_never_leaves_its_bounds() {
        let mut config = config(4);
        config.min_concurrency = 2;
        let now = Instant::now();
        let mut state = State::new(&config, now);
        for _ in 0..10 {
            let ticket = grant(&mut state, &config, now);
            state.finish(
                &config,
                now,
                ticket,
                Outcome::RateLimited { retry_after: None },
            );
        }
        assert_eq!(state.slots(&config), 2);
        for _ in 0..100 {
            let ticket = state.try_acquire(&config, now, true).unwrap();
            state.finish(&config, now, ticket, Outcome::Success);
        }
        assert_eq!(state.slots(&config), 4);
    }

    #[test]
    fn the_first_overload_paces_at_the_measured_rate() {
        let config = config(8);
        let start = Instant::now();
        let mut state = State::new(&config, start);
        // 100 successes within the last second, spread over 500 ms.
        for i in 0..100u32 {
            let at = start + 5 * MS * i;
            let ticket = grant(&mut state, &config, at);
            state.finish(&config, at, ticket, Outcome::Success);
        }
        let now = start + Duration::from_millis(500);
        let refused = grant(&mut state, &config, now);
        state.finish(
            &config,
            now,
            refused,
            Outcome::RateLimited { retry_after: None },
        );
        let rate = state.rate.unwrap();
        assert!((rate - 70.0).abs() < 1e-9, "0.7 × 100/s, got {rate}");

        // Paced: one request per 1/70 s.
        let first = grant(&mut state, &config, now);
        let interval = Duration::from_secs_f64(1.0 / 70.0);
        assert_eq!(
            state.try_acquire(&config, now, false),
            Err(Wait::Until(now + interval))
        );
        assert!(state.try_acquire(&config, now + interval, true).is_ok());
        state.finish(&config, now, first, Outcome::Neutral);

        // A later event cuts the rate it paces at.
        let at = now + Duration::from_secs(5);
        let refused = grant(&mut state, &config, at);
        state.finish(
            &config,
            at,
            refused,
            Outcome::RateLimited { retry_after: None },
        );
        let rate = state.rate.unwrap();
        assert!((rate - 49.0).abs() < 1e-9, "0.7 × 70/s, got {rate}");
    }

    #[test]
    fn the_rate_has_a_floor() {
        let config = config(4);
        let now = Instant::now();
        let mut state = State::new(&config, now);
        let ticket = grant(&mut state, &config, now);
        state.finish(&config, now, ticket, Outcome::Success);
        for _ in 0..20 {
            let ticket = grant(&mut state, &config, now);
            state.finish(
                &config,
                now,
                ticket,
                Outcome::RateLimited { retry_after: None },
            );
            state.next_slot = now;
        }
        assert_eq!(state.rate, Some(1.0));
    }

    #[test]
    fn saturated_successes_grow_window_and_rate_others_do_not() {
        let config = config(10);
        let now = Instant::now();
        let mut state = State::new(&config, now);
        state.window = 4.0;
        state.rate = Some(50.0);
        for _ in 0..3 {
            let ticket = grant(&mut state, &config, now);
            assert!(!ticket.saturated);
            state.finish(&config, now, ticket, Outcome::Success);
            state.next_slot = now;
        }
        assert!((state.window - 4.0).abs() < 1e-12);
        assert_eq!(state.rate, Some(50.0));
        // Four successes that had to wait: the window grows by about one, the rate
        // by four times the growth step.
        for _ in 0..4 {
            let ticket = state.try_acquire(&config, now, true).unwrap();
            assert!(ticket.saturated);
            state.finish(&config, now, ticket, Outcome::Success);
            state.next_slot = now;
        }
        assert_eq!(state.slots(&config), 4);
        assert!(state.window > 4.9 && state.window < 5.0, "{}", state.window);
        let rate = state.rate.unwrap();
        assert!((rate - 50.4).abs() < 1e-9, "{rate}");
    }

    #[test]
    fn retry_after_pauses_everyone_up_to_the_cap() {
        let mut config = config(8);
        config.max_pause = Duration::from_secs(5);
        let now = Instant::now();
        let mut state = State::new(&config, now);
        let a = grant(&mut state, &config, now);
        let b = grant(&mut state, &config, now);
        state.finish(
            &config,
            now,
            a,
            Outcome::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
            },
        );
        let until = now + Duration::from_secs(2);
        assert_eq!(
            state.try_acquire(&config, now, false),
            Err(Wait::Until(until))
        );
        // A later, longer Retry-After from the same event extends the pause (capped).
        state.finish(
            &config,
            now + MS,
            b,
            Outcome::RateLimited {
                retry_after: Some(Duration::from_secs(3600)),
            },
        );
        assert_eq!(state.epoch, 1, "the same event");
        let capped = now + MS + Duration::from_secs(5);
        assert_eq!(
            state.try_acquire(&config, now + MS, false),
            Err(Wait::Until(capped))
        );
        assert!(state.try_acquire(&config, capped, true).is_ok());
        assert_eq!(state.paused_until, None);
    }

    #[test]
    fn late_wakeups_keep_the_pacing_schedule() {
        let config = config(100);
        let start = Instant::now();
        let mut state = State::new(&config, start);
        state.rate = Some(100.0);
        // Every caller wakes 1 ms after its slot; the slots stay 10 ms apart.
        let mut at = start;
        for _ in 0..50 {
            let ticket = state.try_acquire(&config, at, true).unwrap();
            state.finish(&config, at, ticket, Outcome::Neutral);
            at = state.next_slot + MS;
        }
        assert_eq!(state.next_slot, start + Duration::from_millis(500));
        // After a long idle time, no saved-up burst: one request, then 10 ms.
        let later = start + Duration::from_secs(60);
        let ticket = state.try_acquire(&config, later, false).unwrap();
        state.finish(&config, later, ticket, Outcome::Neutral);
        assert_eq!(
            state.try_acquire(&config, later, false),
            Err(Wait::Until(later + 10 * MS))
        );
    }

    #[test]
    fn snapshot_reports_the_limits() {
        let config = config(5);
        let now = Instant::now();
        let mut state = State::new(&config, now);
        let refused = grant(&mut state, &config, now);
        let _held = grant(&mut state, &config, now);
        state.finish(
            &config,
            now,
            refused,
            Outcome::RateLimited {
                retry_after: Some(Duration::from_secs(3)),
            },
        );
        assert_eq!(
            state.snapshot(&config, now + Duration::from_secs(1)),
            LimiterSnapshot {
                concurrency: 3,
                rate: None,
                in_flight: 1,
                overloads: 1,
                paused_for: Duration::from_secs(2),
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_for_a_released_slot() {
        let limiter = AdaptiveLimiter::new(config(1));
        let first = limiter.acquire().await;
        let second = async {
            let permit = limiter.acquire().await;
            permit.success();
            Instant::now()
        };
        let release = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            drop(first);
        };
        let start = Instant::now();
        let ((), granted) = tokio::join!(release, second);
        assert_eq!(granted - start, Duration::from_millis(30));
        assert_eq!(limiter.current().in_flight, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn one_retry_after_pauses_every_caller() {
        let limiter = AdaptiveLimiter::new(config(8));
        let start = Instant::now();
        let refused = limiter.acquire().await;
        refused.rate_limited(Some(Duration::from_secs(2)));
        assert_eq!(limiter.current().paused_for, Duration::from_secs(2));
        let callers = (0..3).map(|_| async {
            let permit = limiter.acquire().await;
            let at = Instant::now();
            permit.success();
            at
        });
        let granted = futures::future::join_all(callers).await;
        for at in granted {
            assert_eq!(at - start, Duration::from_secs(2));
        }
        assert_eq!(limiter.current().overloads, 1);
    }
}
