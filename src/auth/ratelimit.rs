//! Login rate limits per client IP and per username (per instance, in memory).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::AuthConfig;

/// Two keyed limiters; a request must pass both. Also the lockout of usernames that have no
/// account ([`LoginLimiter::unknown_locked`]).
#[derive(Clone)]
pub struct LoginLimiter {
    per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    per_user: Arc<DefaultKeyedRateLimiter<String>>,
    checks: Arc<AtomicU64>,
    unknown: Arc<Mutex<HashMap<String, Failures>>>,
}

/// Failed logins of a username without an account, and until when it is "locked".
#[derive(Debug, Default, Clone, Copy)]
struct Failures {
    count: i32,
    locked_until: Option<NaiveDateTime>,
}

/// Usernames without an account tracked at most (a flood of made-up names cannot grow the
/// map without bound; past it, entries not locked are forgotten first).
const UNKNOWN_TRACKED: usize = 10_000;

impl LoginLimiter {
    /// Limits from `[auth]`.
    pub fn new(config: &AuthConfig) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            per_ip: Arc::new(RateLimiter::keyed(quota(
                config.login_rate_per_ip_per_minute,
            ))),
            per_user: Arc::new(RateLimiter::keyed(quota(
                config.login_rate_per_username_per_minute,
            ))),
            checks: Arc::new(AtomicU64::new(0)),
            unknown: Arc::default(),
        }
    }

    /// A username without an account is locked out after as many failures as a real one, so
    /// that the answers (401, then 429 with `Retry-After`) do not tell which usernames exist.
    /// `Some(seconds)` while it is locked. In memory, per instance (real accounts lock in the
    /// database).
    pub fn unknown_locked(&self, username: &str, now: NaiveDateTime) -> Option<u64> {
        let map = self
            .unknown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let until = map.get(username)?.locked_until?;
        (until > now).then(|| (until - now).num_seconds().max(1) as u64)
    }

    /// Records a failed login of a username without an account; locks it until `lock_until`
    /// at the `max_failures`th.
    pub fn unknown_failed(&self, username: &str, max_failures: i32, lock_until: NaiveDateTime) {
        let mut map = self
            .unknown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= UNKNOWN_TRACKED && !map.contains_key(username) {
            map.retain(|_, f| f.locked_until.is_some());
            if map.len() >= UNKNOWN_TRACKED {
                map.clear();
            }
        }
        let f = map.entry(username.to_string()).or_default();
        f.count += 1;
        if f.count >= max_failures {
            *f = Failures {
                count: 0,
                locked_until: Some(lock_until),
            };
        }
    }

    /// `Err(seconds to wait)` when either limit is exhausted.
    pub fn check(&self, ip: &str, username: &str) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            // Forget idle keys so the maps do not grow without bound.
            self.per_ip.retain_recent();
            self.per_user.retain_recent();
        }
        let now = DefaultClock::default().now();
        let wait = |e: governor::NotUntil<_>| e.wait_time_from(now).as_secs().max(1);
        self.per_ip.check_key(&ip.to_string()).map_err(wait)?;
        self.per_user
            .check_key(&username.to_lowercase())
            .map_err(wait)?;
        Ok(())
    }
}

/// Limits of the public tip-off endpoints per client IP: filing, and status look-ups with
/// challenges (per instance, in memory).
#[derive(Clone)]
pub struct TipLimiter {
    filing: Arc<DefaultKeyedRateLimiter<String>>,
    lookups: Arc<DefaultKeyedRateLimiter<String>>,
    checks: Arc<AtomicU64>,
}

/// Which tip limit a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TipLimit {
    /// `POST /api/v1/tips` (`tips.rate_per_ip_per_hour`).
    Filing,
    /// Status look-ups and challenges (`tips.status_rate_per_ip_per_minute`).
    Lookup,
}

impl TipLimiter {
    /// Limits from `[tips]`.
    pub fn new(config: &crate::config::TipsConfig) -> Self {
        let n = |n: u32| NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            filing: Arc::new(RateLimiter::keyed(Quota::per_hour(n(
                config.rate_per_ip_per_hour
            )))),
            lookups: Arc::new(RateLimiter::keyed(Quota::per_minute(n(
                config.status_rate_per_ip_per_minute
            )))),
            checks: Arc::new(AtomicU64::new(0)),
        }
    }

    /// `Err(seconds to wait)` when the limit of `ip` is exhausted.
    pub fn check(&self, limit: TipLimit, ip: &str) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.filing.retain_recent();
            self.lookups.retain_recent();
        }
        let limiter = match limit {
            TipLimit::Filing => &self.filing,
            TipLimit::Lookup => &self.lookups,
        };
        let now = DefaultClock::default().now();
        limiter
            .check_key(&ip.to_string())
            .map_err(|e| e.wait_time_from(now).as_secs().max(1))
    }
}
