//! Working-day calendar: State Council holidays and swapped working weekends (调休).
//!
//! A day is a working day if it is listed as a working weekend, or it is Monday–Friday and not
//! a holiday. Years without loaded data fall back to plain Monday–Friday; [`WorkCalendar::covers`]
//! tells the caller whether a date's year was loaded.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::Deserialize;

/// Holiday data that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarError(pub String);

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "holiday calendar: {}", self.0)
    }
}

impl std::error::Error for CalendarError {}

/// Working days of mainland China for the loaded years.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    holidays: BTreeSet<NaiveDate>,
    working_weekends: BTreeSet<NaiveDate>,
    years: BTreeSet<i32>,
}

#[derive(Deserialize)]
struct HolidayFile {
    years: BTreeMap<String, HolidayYear>,
}

#[derive(Deserialize)]
struct HolidayYear {
    #[serde(default)]
    holidays: Vec<NaiveDate>,
    #[serde(default)]
    working_weekends: Vec<NaiveDate>,
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl WorkCalendar {
    /// A calendar from holiday dates and swapped working weekends; a date in both is refused.
    pub fn new(
        holidays: impl IntoIterator<Item = NaiveDate>,
        working_weekends: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Self, CalendarError> {
        let holidays: BTreeSet<NaiveDate> = holidays.into_iter().collect();
        let working_weekends: BTreeSet<NaiveDate> = working_weekends.into_iter().collect();
        if let Some(d) = holidays.intersection(&working_weekends).next() {
            return Err(CalendarError(format!(
                "{d} is both a holiday and a working day"
            )));
        }
        let years = holidays
            .iter()
            .chain(&working_weekends)
            .map(|d| d.year())
            .collect();
        Ok(Self {
            holidays,
            working_weekends,
            years,
        })
    }

    /// Reads the `reference/holidays-cn.json` shape: `{"years": {"2023": {"holidays": [...], "working_weekends": [...]}}}`.
    pub fn from_json(json: &str) -> Result<Self, CalendarError> {
        let file: HolidayFile =
            serde_json::from_str(json).map_err(|e| CalendarError(e.to_string()))?;
        let mut holidays = Vec::new();
        let mut working = Vec::new();
        let mut years = BTreeSet::new();
        for (key, year) in file.years {
            let y: i32 = key
                .parse()
                .map_err(|_| CalendarError(format!("year key '{key}' is not a year")))?;
            years.insert(y);
            if year.holidays.is_empty() {
                return Err(CalendarError(format!(
                    "year {y} lists no holidays (every year has the State Council's)"
                )));
            }
            if let Some(d) = year
                .holidays
                .iter()
                .chain(&year.working_weekends)
                .find(|d| d.year() != y)
            {
                return Err(CalendarError(format!("{d} is listed under year {y}")));
            }
            if let Some(d) = year.working_weekends.iter().find(|d| !is_weekend(**d)) {
                return Err(CalendarError(format!(
                    "working weekend {d} is not a Saturday or Sunday"
                )));
            }
            holidays.extend(year.holidays);
            working.extend(year.working_weekends);
        }
        let mut cal = Self::new(holidays, working)?;
        cal.years.extend(years);
        Ok(cal)
    }

    /// This calendar with the years of `other` taken from `other` (an operator's file of a year
    /// the built-in data lacks, or a corrected one).
    pub fn merged(self, other: WorkCalendar) -> Result<Self, CalendarError> {
        let keep = |d: &NaiveDate| !other.years.contains(&d.year());
        let holidays: Vec<NaiveDate> = self
            .holidays
            .iter()
            .copied()
            .filter(keep)
            .chain(other.holidays.iter().copied())
            .collect();
        let working: Vec<NaiveDate> = self
            .working_weekends
            .iter()
            .copied()
            .filter(keep)
            .chain(other.working_weekends.iter().copied())
            .collect();
        let mut cal = Self::new(holidays, working)?;
        cal.years.extend(self.years.iter().chain(&other.years));
        Ok(cal)
    }

    /// The years whose holiday data was loaded.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// True when holiday data for the date's year was loaded.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.years.contains(&date.year())
    }

    /// True for a working day (see the module rule).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.working_weekends.contains(&date)
            || (!is_weekend(date) && !self.holidays.contains(&date))
    }

    /// The date itself if it is a working day, else the next working day.
    pub fn next_working_day_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        while !self.is_working_day(d) {
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        d
    }

    /// The date itself if it is a working day, else the latest working day before it.
    pub fn previous_working_day_on_or_before(&self, date: NaiveDate) -> NaiveDate {
        let mut d = date;
        while !self.is_working_day(d) {
            match d.pred_opt() {
                Some(p) => d = p,
                None => break,
            }
        }
        d
    }

    /// The `n`-th working day after `date` (`n > 0`) or before it (`n < 0`); `date` itself for 0.
    ///
    /// `date` itself never counts, whether or not it is a working day: one working day after
    /// Friday is Monday, one after Saturday is also Monday, one before Monday is Friday.
    /// Saturates at chrono's date limits.
    pub fn add_working_days(&self, date: NaiveDate, n: i64) -> NaiveDate {
        let mut d = date;
        let mut left = n.unsigned_abs();
        while left > 0 {
            let step = if n > 0 { d.succ_opt() } else { d.pred_opt() };
            match step {
                Some(s) => d = s,
                None => break,
            }
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days in the half-open interval `(a, b]`; negative (minus those in `(b, a]`) when `b < a`.
    ///
    /// So `working_days_between(d, add_working_days(d, n)) == n` for every `n >= 0`, and for
    /// negative `n` when `d` is itself a working day.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> i64 {
        if b < a {
            return -self.working_days_between(b, a);
        }
        // Plain weekdays in (a, b], then corrected by the listed exceptions inside the range.
        let span = (b - a).num_days();
        let mut count = span / 7 * 5;
        let mut d = a + Days::new((span / 7 * 7) as u64);
        while d < b {
            d = d + Days::new(1);
            if !is_weekend(d) {
                count += 1;
            }
        }
        let after_a = |set: &BTreeSet<NaiveDate>| {
            set.range((std::ops::Bound::Excluded(a), std::ops::Bound::Included(b)))
                .copied()
                .collect::<Vec<_>>()
        };
        count -= after_a(&self.holidays)
            .into_iter()
            .filter(|d| !is_weekend(*d))
            .count() as i64;
        count += after_a(&self.working_weekends)
            .into_iter()
            .filter(|d| is_weekend(*d))
            .count() as i64;
        count
    }

    /// Working days from `from` through `to`, both included; 0 when `to < from`.
    pub fn working_days_inclusive(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return 0;
        }
        self.working_days_between(from, to) + i64::from(self.is_working_day(from))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// 2023 and 2024 of reference/holidays-cn.json, copied so the tests need no file.
    pub(crate) const HOLIDAYS_JSON: &str = r#"{"years": {
    "2023": {
      "holidays": [
        "2023-01-01", "2023-01-02", "2023-01-21", "2023-01-22", "2023-01-23", "2023-01-24",
        "2023-01-25", "2023-01-26", "2023-01-27", "2023-04-05", "2023-04-29", "2023-04-30",
        "2023-05-01", "2023-05-02", "2023-05-03", "2023-06-22", "2023-06-23", "2023-06-24",
        "2023-09-29", "2023-09-30", "2023-10-01", "2023-10-02", "2023-10-03", "2023-10-04",
        "2023-10-05", "2023-10-06"
      ],
      "working_weekends": [
        "2023-01-28", "2023-01-29", "2023-04-23", "2023-05-06", "2023-06-25", "2023-10-07",
        "2023-10-08"
      ]
    },
    "2024": {
      "holidays": [
        "2024-01-01", "2024-02-10", "2024-02-11", "2024-02-12", "2024-02-13", "2024-02-14",
        "2024-02-15", "2024-02-16", "2024-02-17", "2024-04-04", "2024-04-05", "2024-04-06",
        "2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04", "2024-05-05", "2024-06-10",
        "2024-09-15", "2024-09-16", "2024-09-17", "2024-10-01", "2024-10-02", "2024-10-03",
        "2024-10-04", "2024-10-05", "2024-10-06", "2024-10-07"
      ],
      "working_weekends": [
        "2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14",
        "2024-09-29", "2024-10-12"
      ]
    }
}}"#;

    pub(crate) fn cal() -> WorkCalendar {
        WorkCalendar::from_json(HOLIDAYS_JSON).unwrap()
    }

    pub(crate) fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn naive_count(cal: &WorkCalendar, a: NaiveDate, b: NaiveDate) -> i64 {
        let mut n = 0;
        let mut x = a;
        while x < b {
            x = x.succ_opt().unwrap();
            if cal.is_working_day(x) {
                n += 1;
            }
        }
        n
    }

    #[test]
    fn national_day_2023() {
        let c = cal();
        assert!(c.is_working_day(d("2023-09-28")));
        for off in ["2023-09-29", "2023-09-30", "2023-10-01", "2023-10-06"] {
            assert!(!c.is_working_day(d(off)), "{off}");
        }
        assert!(c.is_working_day(d("2023-10-07")), "swapped Saturday");
        assert!(c.is_working_day(d("2023-10-08")), "swapped Sunday");
        assert!(c.is_working_day(d("2023-10-09")));
        assert_eq!(c.add_working_days(d("2023-09-28"), 1), d("2023-10-07"));
        assert_eq!(c.add_working_days(d("2023-10-07"), -1), d("2023-09-28"));
        assert_eq!(c.add_working_days(d("2023-09-30"), 3), d("2023-10-09"));
        assert_eq!(c.working_days_between(d("2023-09-28"), d("2023-10-09")), 3);
        assert_eq!(c.working_days_between(d("2023-10-09"), d("2023-09-28")), -3);
        assert_eq!(
            c.next_working_day_on_or_after(d("2023-09-29")),
            d("2023-10-07")
        );
        assert_eq!(
            c.previous_working_day_on_or_before(d("2023-10-06")),
            d("2023-09-28")
        );
    }

    #[test]
    fn spring_festival_2024() {
        let c = cal();
        assert!(c.is_working_day(d("2024-02-04")), "swapped Sunday");
        // 2024-02-09 (Friday, 除夕) is a plain working day in the State Council notice.
        assert!(c.is_working_day(d("2024-02-09")));
        for off in ["2024-02-10", "2024-02-12", "2024-02-16", "2024-02-17"] {
            assert!(!c.is_working_day(d(off)), "{off}");
        }
        assert!(c.is_working_day(d("2024-02-18")), "swapped Sunday");
        assert_eq!(c.add_working_days(d("2024-02-09"), 1), d("2024-02-18"));
        assert_eq!(c.working_days_between(d("2024-02-09"), d("2024-02-19")), 2);
    }

    #[test]
    fn spring_festival_2023() {
        let c = cal();
        assert!(!c.is_working_day(d("2023-01-26")));
        assert!(c.is_working_day(d("2023-01-28")));
        assert!(c.is_working_day(d("2023-01-29")));
        assert_eq!(c.add_working_days(d("2023-01-20"), 1), d("2023-01-28"));
    }

    #[test]
    fn zero_and_non_working_starts() {
        let c = cal();
        assert_eq!(c.add_working_days(d("2023-10-01"), 0), d("2023-10-01"));
        assert_eq!(c.add_working_days(d("2023-11-04"), 1), d("2023-11-06"));
        assert_eq!(c.add_working_days(d("2023-11-06"), -1), d("2023-11-03"));
        assert_eq!(c.add_working_days(d("2023-11-04"), -1), d("2023-11-03"));
        assert_eq!(c.working_days_between(d("2023-11-03"), d("2023-11-03")), 0);
        assert_eq!(
            c.working_days_inclusive(d("2023-11-03"), d("2023-11-03")),
            1
        );
        assert_eq!(
            c.working_days_inclusive(d("2023-11-04"), d("2023-11-05")),
            0
        );
        assert_eq!(
            c.working_days_inclusive(d("2023-11-06"), d("2023-11-03")),
            0
        );
    }

    #[test]
    fn between_agrees_with_counting_day_by_day() {
        let c = cal();
        let start = d("2022-12-20");
        for i in 0..500u64 {
            let a = start + Days::new(i);
            for span in [0u64, 1, 2, 6, 7, 8, 13, 30, 45, 400] {
                let b = a + Days::new(span);
                assert_eq!(
                    c.working_days_between(a, b),
                    naive_count(&c, a, b),
                    "{a}..{b}"
                );
            }
        }
    }

    #[test]
    fn add_then_between_gives_n() {
        let c = cal();
        let start = d("2022-12-25");
        for i in 0..420u64 {
            let a = start + Days::new(i);
            for n in [0i64, 1, 2, 5, 15, 23, 60] {
                let e = c.add_working_days(a, n);
                assert_eq!(c.working_days_between(a, e), n, "{a} + {n}");
                assert!(n == 0 || c.is_working_day(e));
                if c.is_working_day(a) {
                    let back = c.add_working_days(a, -n);
                    assert_eq!(c.working_days_between(a, back), -n, "{a} - {n}");
                    assert!(n == 0 || c.is_working_day(back));
                }
            }
        }
    }

    #[test]
    fn next_working_day_is_the_earliest() {
        let c = cal();
        let start = d("2023-01-01");
        for i in 0..800u64 {
            let a = start + Days::new(i);
            let n = c.next_working_day_on_or_after(a);
            assert!(n >= a && c.is_working_day(n));
            assert_eq!(
                naive_count(&c, a.pred_opt().unwrap(), n.pred_opt().unwrap()),
                0
            );
            let p = c.previous_working_day_on_or_before(a);
            assert!(p <= a && c.is_working_day(p));
        }
    }

    #[test]
    fn plain_weekdays_outside_loaded_years() {
        let c = cal();
        assert!(c.covers(d("2024-03-01")));
        assert!(!c.covers(d("2030-10-01")));
        assert!(c.is_working_day(d("2030-10-01")), "Tuesday, no data");
        let empty = WorkCalendar::default();
        assert!(!empty.is_working_day(d("2023-10-07")));
        assert_eq!(
            empty.working_days_between(d("2023-10-06"), d("2023-10-13")),
            5
        );
    }

    #[test]
    fn bad_data_is_refused() {
        assert!(WorkCalendar::new([d("2023-10-07")], [d("2023-10-07")]).is_err());
        assert!(WorkCalendar::from_json("{}").is_err());
        assert!(WorkCalendar::from_json(r#"{"years":{"x":{}}}"#).is_err());
        assert!(
            WorkCalendar::from_json(r#"{"years":{"2023":{"holidays":["2023-02-30"]}}}"#).is_err()
        );
        // A year with no holidays, a date under another year, a weekday as working weekend.
        assert!(WorkCalendar::from_json(r#"{"years":{"2027":{}}}"#).is_err());
        assert!(
            WorkCalendar::from_json(r#"{"years":{"2027":{"holidays":["2028-01-01"]}}}"#).is_err()
        );
        assert!(
            WorkCalendar::from_json(
                r#"{"years":{"2027":{"holidays":["2027-01-01"],"working_weekends":["2027-02-03"]}}}"#
            )
            .is_err()
        );
        let c =
            WorkCalendar::from_json(r#"{"years":{"2027":{"holidays":["2027-01-01"]}}}"#).unwrap();
        assert!(c.covers(d("2027-05-01")));
    }
    #[test]
    fn an_operators_file_adds_a_year_and_replaces_one() {
        let builtin = WorkCalendar::from_json(
            r#"{"years": {"2026": {"holidays": ["2026-10-01", "2026-10-02"], "working_weekends": ["2026-09-27"]}}}"#,
        )
        .unwrap();
        let file = WorkCalendar::from_json(
            r#"{"years": {"2026": {"holidays": ["2026-10-01"]}, "2027": {"holidays": ["2027-02-05", "2027-02-08"], "working_weekends": []}}}"#,
        )
        .unwrap();
        let c = builtin.merged(file).unwrap();
        assert_eq!(c.years().collect::<Vec<_>>(), [2026, 2027]);
        assert!(c.covers(d("2027-02-05")));
        assert!(!c.is_working_day(d("2027-02-05")), "除夕 2027");
        assert!(!c.is_working_day(d("2027-02-08")));
        // 2026 as the file gives it: 10-02 and the swapped Sunday no longer listed.
        assert!(!c.is_working_day(d("2026-10-01")));
        assert!(c.is_working_day(d("2026-10-02")));
        assert!(!c.is_working_day(d("2026-09-27")));
    }
}
