//! Deadline arithmetic on Asia/Shanghai dates (the caller converts instants to dates).
//!
//! A hazard is overdue from 00:00 of the day after its effective deadline; the deadline day
//! itself is not overdue.

use chrono::NaiveDate;
use serde::Serialize;

use super::calendar::WorkCalendar;

/// True from the day after the effective deadline on.
pub fn is_overdue(effective_deadline: NaiveDate, today: NaiveDate) -> bool {
    today > effective_deadline
}

/// Days past the effective deadline: 0 up to the deadline day, 1 on the day after.
pub fn days_overdue(effective_deadline: NaiveDate, today: NaiveDate) -> i64 {
    days_relative_to_deadline(effective_deadline, today).max(0)
}

/// Calendar days still left: 0 on the deadline day and after, 1 on the day before.
pub fn days_left(effective_deadline: NaiveDate, today: NaiveDate) -> i64 {
    (-days_relative_to_deadline(effective_deadline, today)).max(0)
}

/// [`days_left`] in the words of pages and emails: 今日到期 on the deadline day, 剩余 N 天 before.
pub fn days_left_text(days_left: i64) -> String {
    if days_left == 0 {
        "今日到期".to_string()
    } else {
        format!("剩余 {days_left} 天")
    }
}

/// Signed calendar days from the deadline to today (−3 three days before, +1 the day after), for reminder ladders.
pub fn days_relative_to_deadline(effective_deadline: NaiveDate, today: NaiveDate) -> i64 {
    (today - effective_deadline).num_days()
}

/// "超期整改": the accepted completion date, or today while open, falls after the ORIGINAL deadline.
pub fn late_rectification(
    original_deadline: NaiveDate,
    accepted_completion: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    accepted_completion.unwrap_or(today) > original_deadline
}

/// Where today stands relative to the extension-request window (T9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ExtensionWindow {
    /// Too early.
    NotYetOpen {
        /// First day of the window.
        opens_on: NaiveDate,
    },
    /// A request may be filed today.
    Open,
    /// The effective deadline has passed.
    Closed,
}

/// Where `today` stands in the extension window of `window_workdays` working days.
///
/// Definition: the window is the last N working days before the deadline, the deadline day
/// counted as the last of them when it is a working day (a deadline on a rest day counts back
/// from the working day before it). It opens on the first of those working days
/// ([`extension_window_opens_on`]) and stays open through the deadline day, rest days inside it
/// included: for N = 15 and the Friday deadline 2023-11-24 it opens on Monday 11-06, not on the
/// weekend before. The day after the deadline is closed.
pub fn extension_window(
    cal: &WorkCalendar,
    effective_deadline: NaiveDate,
    today: NaiveDate,
    window_workdays: u32,
) -> ExtensionWindow {
    if today > effective_deadline {
        return ExtensionWindow::Closed;
    }
    let opens_on = extension_window_opens_on(cal, effective_deadline, window_workdays);
    if today >= opens_on {
        ExtensionWindow::Open
    } else {
        ExtensionWindow::NotYetOpen { opens_on }
    }
}

/// The first day of the extension window: the N-th working day counted back from the deadline
/// (see [`extension_window`]); always a working day.
pub fn extension_window_opens_on(
    cal: &WorkCalendar,
    effective_deadline: NaiveDate,
    window_workdays: u32,
) -> NaiveDate {
    let last = cal.previous_working_day_on_or_before(effective_deadline);
    cal.add_working_days(last, 1 - i64::from(window_workdays.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::tests::{cal, d};
    use chrono::Days;

    #[test]
    fn deadline_day_is_not_overdue() {
        let dl = d("2023-09-28");
        assert!(!is_overdue(dl, d("2023-09-27")));
        assert!(!is_overdue(dl, dl));
        assert!(is_overdue(dl, d("2023-09-29")));
        assert_eq!(days_overdue(dl, dl), 0);
        assert_eq!(days_overdue(dl, d("2023-09-29")), 1);
        assert_eq!(days_overdue(dl, d("2023-10-08")), 10);
        assert_eq!(days_left(dl, d("2023-09-27")), 1);
        assert_eq!(days_left(dl, dl), 0);
        assert_eq!(days_left_text(days_left(dl, dl)), "今日到期");
        assert_eq!(days_left_text(2), "剩余 2 天");
        assert_eq!(days_left(dl, d("2023-10-08")), 0);
        assert_eq!(days_relative_to_deadline(dl, d("2023-09-21")), -7);
        assert_eq!(days_relative_to_deadline(dl, d("2023-10-28")), 30);
    }

    #[test]
    fn overdue_invariants_over_many_dates() {
        let base = d("2022-12-01");
        for i in 0..400u64 {
            let deadline = base + Days::new(i);
            for j in 0..120u64 {
                let today = base + Days::new(i / 2 + j);
                let over = days_overdue(deadline, today);
                let rel = days_relative_to_deadline(deadline, today);
                assert_eq!(over > 0, is_overdue(deadline, today));
                assert!(over == 0 || over == rel);
                assert!(days_left(deadline, today) == 0 || days_left(deadline, today) == -rel);
                assert!(days_left(deadline, today) == 0 || over == 0);
                assert_eq!(
                    late_rectification(deadline, None, today),
                    is_overdue(deadline, today)
                );
            }
        }
    }

    #[test]
    fn late_rectification_uses_the_original_deadline() {
        let original = d("2023-10-31");
        assert!(!late_rectification(
            original,
            Some(d("2023-10-31")),
            d("2024-01-01")
        ));
        assert!(late_rectification(
            original,
            Some(d("2023-11-01")),
            d("2023-11-02")
        ));
        assert!(!late_rectification(original, None, d("2023-10-31")));
        assert!(late_rectification(original, None, d("2023-11-01")));
    }

    #[test]
    fn window_boundaries_plain_weeks() {
        let c = cal();
        // Friday 2023-11-24; 15 working days back, deadline included, is Monday 2023-11-06:
        // the window opens then, not on the weekend before.
        let dl = d("2023-11-24");
        assert_eq!(extension_window_opens_on(&c, dl, 15), d("2023-11-06"));
        for early in ["2023-11-03", "2023-11-04", "2023-11-05"] {
            assert_eq!(
                extension_window(&c, dl, d(early), 15),
                ExtensionWindow::NotYetOpen {
                    opens_on: d("2023-11-06")
                },
                "{early}"
            );
        }
        assert_eq!(
            extension_window(&c, dl, d("2023-11-06"), 15),
            ExtensionWindow::Open
        );
        assert_eq!(
            extension_window(&c, dl, d("2023-11-11"), 15),
            ExtensionWindow::Open,
            "a weekend inside the window"
        );
        assert_eq!(c.working_days_inclusive(d("2023-11-06"), dl), 15);
        assert_eq!(extension_window(&c, dl, dl, 15), ExtensionWindow::Open);
        assert_eq!(
            extension_window(&c, dl, d("2023-11-25"), 15),
            ExtensionWindow::Closed
        );
    }

    #[test]
    fn window_across_national_day_2023() {
        let c = cal();
        // Deadline Wednesday 2023-10-18. Working days back: 10/18,17,16,13,12,11,10,9,8(Sun),
        // 7(Sat), 9/28, 27, 26, 25, 22 → the 15th is Friday 9/22, the 16th Thursday 9/21.
        let dl = d("2023-10-18");
        assert_eq!(c.working_days_inclusive(d("2023-09-22"), dl), 15);
        assert_eq!(extension_window_opens_on(&c, dl, 15), d("2023-09-22"));
        assert!(matches!(
            extension_window(&c, dl, d("2023-09-21"), 15),
            ExtensionWindow::NotYetOpen { .. }
        ));
        assert_eq!(
            extension_window(&c, dl, d("2023-09-22"), 15),
            ExtensionWindow::Open
        );
        assert_eq!(
            extension_window(&c, dl, d("2023-10-01"), 15),
            ExtensionWindow::Open
        );
    }

    #[test]
    fn window_deadline_on_a_holiday() {
        let c = cal();
        // 2023-10-03 is a holiday; the last working day before it is 9/28.
        let dl = d("2023-10-03");
        assert_eq!(extension_window_opens_on(&c, dl, 1), d("2023-09-28"));
        assert_eq!(
            extension_window(&c, dl, d("2023-10-02"), 1),
            ExtensionWindow::Open
        );
        assert!(matches!(
            extension_window(&c, dl, d("2023-09-27"), 1),
            ExtensionWindow::NotYetOpen { .. }
        ));
    }

    #[test]
    fn window_opening_matches_its_definition_everywhere() {
        let c = cal();
        let base = d("2023-01-01");
        for i in 0..500u64 {
            let dl = base + Days::new(i);
            for n in [1u32, 5, 15] {
                let opens = extension_window_opens_on(&c, dl, n);
                assert!(opens <= dl, "{dl} {n}");
                assert!(c.is_working_day(opens), "{dl} {n}");
                assert_eq!(c.working_days_inclusive(opens, dl), i64::from(n), "{dl}");
                for k in 0..30u64 {
                    let today = dl - Days::new(k);
                    let open = extension_window(&c, dl, today, n) == ExtensionWindow::Open;
                    assert_eq!(open, today >= opens, "{dl} {today} {n}");
                }
            }
        }
    }
}
