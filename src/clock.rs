//! The one clock every part of the service reads "now" from.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

/// Real time, or a moment pinned by `clock.now` (and movable by tests and `jobs run --date`).
#[derive(Clone, Debug)]
pub struct Clock {
    pinned: Arc<RwLock<Option<DateTime<Utc>>>>,
    tz: Tz,
}

impl Clock {
    /// A clock in `tz`, pinned to `pinned` when given.
    pub fn new(pinned: Option<DateTime<Utc>>, tz: Tz) -> Self {
        Self {
            pinned: Arc::new(RwLock::new(pinned)),
            tz,
        }
    }

    /// The clock the configuration describes (`clock.now`, `clock.timezone`).
    pub fn from_config(config: &crate::config::Config) -> Result<Self, crate::config::ConfigError> {
        Ok(Self::new(
            config.pinned_now()?.map(|t| t.with_timezone(&Utc)),
            config.timezone()?,
        ))
    }

    /// The current instant, truncated to microseconds so it round-trips through PostgreSQL.
    pub fn now(&self) -> DateTime<Utc> {
        let now = self
            .pinned
            .read()
            .map(|p| *p)
            .unwrap_or(None)
            .unwrap_or_else(Utc::now);
        truncate_micros(now)
    }

    /// The current instant in the service's time zone.
    pub fn now_local(&self) -> DateTime<Tz> {
        self.now().with_timezone(&self.tz)
    }

    /// Today's date in the service's time zone (deadlines are dates).
    pub fn today(&self) -> NaiveDate {
        self.now_local().date_naive()
    }

    /// The service's time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Whether the clock is pinned.
    pub fn is_pinned(&self) -> bool {
        self.pinned.read().map(|p| p.is_some()).unwrap_or(false)
    }

    /// Pins the clock to `at` (or releases it with `None`) for every holder of this clock.
    pub fn set(&self, at: Option<DateTime<Utc>>) {
        if let Ok(mut p) = self.pinned.write() {
            *p = at;
        }
    }
}

/// Drops nanoseconds below the microsecond, as PostgreSQL stores them.
pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.timestamp_subsec_nanos();
    t - chrono::Duration::nanoseconds(i64::from(nanos % 1_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_clock_gives_local_date() {
        let at = DateTime::parse_from_rfc3339("2026-01-31T17:30:00Z").unwrap();
        let clock = Clock::new(Some(at.with_timezone(&Utc)), chrono_tz::Asia::Shanghai);
        assert!(clock.is_pinned());
        // 17:30 UTC is 01:30 the next day in Shanghai.
        assert_eq!(clock.today(), NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        clock.set(None);
        assert!(!clock.is_pinned());
    }
}
