//! Times on the wire: stored as naive UTC, shown as RFC 3339 in Asia/Shanghai (+08:00).

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Serializer;

/// RFC 3339 with the +08:00 offset, microseconds kept when present.
pub fn rfc3339(t: &NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(*t, Utc)
        .with_timezone(&Shanghai)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
}

/// The day of a stored UTC time in Asia/Shanghai.
pub fn local_date(t: &NaiveDateTime) -> chrono::NaiveDate {
    DateTime::<Utc>::from_naive_utc_and_offset(*t, Utc)
        .with_timezone(&Shanghai)
        .date_naive()
}

/// A time of [`rfc3339`] as people read it, to the minute in its own offset:
/// `2026-03-02 08:30`.
pub fn minutes(rfc: &str) -> String {
    rfc.replace('T', " ").chars().take(16).collect()
}

/// `YYYY-MM-DD`, as a date serialises (chrono also reads `2026-3-1`; DESIGN's dates are
/// `YYYY-MM-DD`).
pub fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// A date given as text (a query parameter, a form field): `YYYY-MM-DD` and a day of the
/// calendar, surrounding blanks ignored; anything else is `None`.
pub fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let s = s.trim();
    if is_iso_date(s) { s.parse().ok() } else { None }
}

/// `serialize_with` for a stored UTC time.
pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(t))
}

/// `serialize_with` for an optional stored UTC time.
pub fn serialize_opt<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(t)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_is_shown_in_shanghai_time() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(16, 30, 0)
            .unwrap();
        assert_eq!(super::rfc3339(&t), "2026-03-02T00:30:00+08:00");
    }

    #[test]
    fn dates_are_read_only_as_yyyy_mm_dd() {
        let d = chrono::NaiveDate::from_ymd_opt(2026, 3, 1);
        assert_eq!(super::parse_date(" 2026-03-01 "), d);
        for bad in [
            "2026-3-1",
            "2026-03-1",
            "20260301",
            "2026-02-30",
            "2026/03/01",
            "",
        ] {
            assert_eq!(super::parse_date(bad), None, "{bad}");
        }
    }
}
