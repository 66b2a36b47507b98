//! Login rate limits per client IP and per username (per instance, in memory).

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::AuthConfig;

/// Two keyed limiters; a request must pass both.
#[derive(Clone)]
pub struct LoginLimiter {
    per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    per_user: Arc<DefaultKeyedRateLimiter<String>>,
    checks: Arc<AtomicU64>,
}

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
