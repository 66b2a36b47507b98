//! Reminder and escalation rules (DESIGN.md "Deadlines, overdue, escalation"): which step of
//! which rule is due for a hazard on a given day. Pure: the caller supplies the anchor date
//! (effective deadline, plan due date, acceptance application, quarter end, congress due date)
//! and "today".
//!
//! A rule has offsets in days relative to its anchor (−7 = a week before, +1 = the day after).
//! On a day, the step due is the largest offset already reached; a rule whose offsets are all
//! ≤ 0 is a reminder and stops once its anchor day has passed. The exactly-once key of a firing
//! is (hazard, rule, step) where the step names the offset *and* the anchor, so an extension
//! (new effective deadline) starts the ladder again while a rerun of the same day fires nothing.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// Who receives a rule's emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// The enterprise's users with an email address and its notification addresses.
    Enterprise,
    /// The enterprise's 主要负责人 (users with the principal role).
    Principal,
    /// The street officers of the hazard's street.
    Street,
    /// The inspectors of the hazard's primary department.
    Department,
    /// The inspectors of the supervising department of a listed hazard (挂牌督办).
    SupervisingDepartment,
    /// The supervising unit of a listed hazard (挂牌督办, DESIGN ladder "+1 … (if listed) the
    /// supervising unit"): the 区安委办, which issues district listings and records city ones.
    /// Nobody for a hazard that is not listed.
    SupervisingUnit,
    /// The 区安委办 (district office users).
    DistrictOffice,
    /// The leaders of the primary department (`escalation.department_leaders`).
    DepartmentLeader,
    /// Who accepts the rectification: department inspectors for 重大, street officers for 一般.
    Verifiers,
}

/// One rule as configured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub enabled: bool,
    /// Days relative to the rule's anchor date.
    pub offsets: Vec<i64>,
    pub recipients: Vec<Recipient>,
}

/// Every rule, as in `[escalation.*]` of the config.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRules {
    /// Leaders' email addresses by department code (second overdue step).
    #[serde(default)]
    pub department_leaders: BTreeMap<String, Vec<String>>,
    pub deadline_reminder: RuleConfig,
    pub overdue_first: RuleConfig,
    pub overdue_second: RuleConfig,
    pub overdue_interview: RuleConfig,
    pub plan_filing: RuleConfig,
    pub acceptance_reminder: RuleConfig,
    pub acceptance_escalation: RuleConfig,
    pub quarterly_progress: RuleConfig,
    pub congress_report: RuleConfig,
}

/// The rules, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Before the effective deadline, to the enterprise.
    DeadlineReminder,
    /// First overdue step: street, department, principal, supervising unit; written explanation owed.
    OverdueFirst,
    /// Second overdue step: district office and the department's leader.
    OverdueSecond,
    /// Long overdue, or overdue a second time while listed: flagged for 约谈/通报.
    OverdueInterview,
    /// Before the 治理方案 is due (plan_due_on or the listing's plan_file_by).
    PlanFiling,
    /// Acceptance not done some days after the application: remind the verifiers.
    AcceptanceReminder,
    /// Acceptance still not done: escalate.
    AcceptanceEscalation,
    /// Before each quarter's end, for listed hazards without progress that quarter.
    QuarterlyProgress,
    /// A 重大 hazard without a congress report (双报告, the workers' half).
    CongressReport,
}

impl Rule {
    pub const ALL: [Rule; 9] = [
        Rule::DeadlineReminder,
        Rule::OverdueFirst,
        Rule::OverdueSecond,
        Rule::OverdueInterview,
        Rule::PlanFiling,
        Rule::AcceptanceReminder,
        Rule::AcceptanceEscalation,
        Rule::QuarterlyProgress,
        Rule::CongressReport,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::DeadlineReminder => "deadline_reminder",
            Rule::OverdueFirst => "overdue_first",
            Rule::OverdueSecond => "overdue_second",
            Rule::OverdueInterview => "overdue_interview",
            Rule::PlanFiling => "plan_filing",
            Rule::AcceptanceReminder => "acceptance_reminder",
            Rule::AcceptanceEscalation => "acceptance_escalation",
            Rule::QuarterlyProgress => "quarterly_progress",
            Rule::CongressReport => "congress_report",
        }
    }

    pub fn parse(s: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The heading of the rule's section in an email.
    pub fn title(self) -> &'static str {
        match self {
            Rule::DeadlineReminder => "整改期限临近",
            Rule::OverdueFirst => "已逾期未整改（企业须提交书面说明）",
            Rule::OverdueSecond => "逾期满一周，提请区安委办和部门负责人督办",
            Rule::OverdueInterview => "长期逾期或挂牌隐患再次逾期，列入约谈/通报",
            Rule::PlanFiling => "治理方案备案期限临近",
            Rule::AcceptanceReminder => "整改验收申请待办",
            Rule::AcceptanceEscalation => "整改验收超时，提请督办",
            Rule::QuarterlyProgress => "挂牌督办隐患本季度整改进展待报送",
            Rule::CongressReport => "重大事故隐患尚未向职工大会/职工代表大会报告",
        }
    }

    pub fn config(self, rules: &EscalationRules) -> &RuleConfig {
        match self {
            Rule::DeadlineReminder => &rules.deadline_reminder,
            Rule::OverdueFirst => &rules.overdue_first,
            Rule::OverdueSecond => &rules.overdue_second,
            Rule::OverdueInterview => &rules.overdue_interview,
            Rule::PlanFiling => &rules.plan_filing,
            Rule::AcceptanceReminder => &rules.acceptance_reminder,
            Rule::AcceptanceEscalation => &rules.acceptance_escalation,
            Rule::QuarterlyProgress => &rules.quarterly_progress,
            Rule::CongressReport => &rules.congress_report,
        }
    }
}

impl EscalationRules {
    /// Checks every rule; the error names the key.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for rule in Rule::ALL {
            let c = rule.config(self);
            let key = |k: &str| format!("escalation.{}.{k}", rule.as_str());
            if c.offsets.is_empty() && c.enabled {
                return Err((key("offsets"), "needs at least one offset".into()));
            }
            if c.offsets.iter().any(|o| o.abs() > 366) {
                return Err((key("offsets"), "offsets must lie within ±366 days".into()));
            }
            let mut sorted = c.offsets.clone();
            sorted.sort_unstable();
            sorted.dedup();
            if sorted.len() != c.offsets.len() {
                return Err((key("offsets"), "offsets must not repeat".into()));
            }
            if c.recipients.is_empty() && c.enabled {
                return Err((key("recipients"), "needs at least one recipient".into()));
            }
        }
        for (code, emails) in &self.department_leaders {
            if let Some(bad) = emails
                .iter()
                .find(|e| super::validate::validate_email(e).is_err())
            {
                return Err((
                    format!("escalation.department_leaders.{code}"),
                    format!("\"{bad}\" is not an email address"),
                ));
            }
        }
        Ok(())
    }
}

/// The step due on `today` for a rule with `offsets` and this `anchor`: the largest offset
/// reached. A reminder rule (every offset ≤ 0) has nothing due once the anchor day is past.
pub fn due_offset(offsets: &[i64], anchor: NaiveDate, today: NaiveDate) -> Option<i64> {
    let days = (today - anchor).num_days();
    let reminder = offsets.iter().all(|o| *o <= 0);
    if reminder && days > 0 {
        return None;
    }
    offsets.iter().copied().filter(|o| *o <= days).max()
}

/// The anchors for which a step can be due today: `(earliest, latest)`; `None` = no lower bound.
pub fn anchor_window(offsets: &[i64], today: NaiveDate) -> Option<(Option<NaiveDate>, NaiveDate)> {
    let min = *offsets.iter().min()?;
    let latest = shift(today, -min)?;
    let reminder = offsets.iter().all(|o| *o <= 0);
    Some((reminder.then_some(today), latest))
}

/// `date` moved by `days` (negative = earlier).
pub fn shift(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    if days >= 0 {
        date.checked_add_days(Days::new(days as u64))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    }
}

/// The exactly-once step key: offset and anchor, e.g. `+1@2026-03-31`.
pub fn step_key(offset: i64, anchor: NaiveDate) -> String {
    format!("{offset:+}@{anchor}")
}

/// The step key of the "overdue a second time while listed" firing of a deadline.
pub fn second_overdue_key(anchor: NaiveDate) -> String {
    format!("second@{anchor}")
}

/// First and last day of the quarter holding `d`.
pub fn quarter_bounds(d: NaiveDate) -> (NaiveDate, NaiveDate) {
    let q0 = (d.month0() / 3) * 3;
    let first = NaiveDate::from_ymd_opt(d.year(), q0 + 1, 1).expect("valid quarter start");
    let next = if q0 == 9 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), q0 + 4, 1)
    }
    .expect("valid quarter start");
    (first, next.pred_opt().expect("a day before"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn reminders_fire_the_latest_step_reached_and_stop_after_the_anchor() {
        let offs = [-7, -3, -1];
        let dl = d("2026-03-31");
        assert_eq!(due_offset(&offs, dl, d("2026-03-23")), None);
        assert_eq!(due_offset(&offs, dl, d("2026-03-24")), Some(-7));
        assert_eq!(due_offset(&offs, dl, d("2026-03-27")), Some(-7));
        assert_eq!(due_offset(&offs, dl, d("2026-03-28")), Some(-3));
        assert_eq!(due_offset(&offs, dl, d("2026-03-30")), Some(-1));
        // The deadline day itself still counts as "before"; the day after is overdue.
        assert_eq!(due_offset(&offs, dl, d("2026-03-31")), Some(-1));
        assert_eq!(due_offset(&offs, dl, d("2026-04-01")), None);
    }

    #[test]
    fn ladders_keep_their_last_step_after_the_anchor() {
        let dl = d("2026-03-31");
        assert_eq!(due_offset(&[1], dl, d("2026-03-31")), None);
        assert_eq!(due_offset(&[1], dl, d("2026-04-01")), Some(1));
        assert_eq!(due_offset(&[1], dl, d("2026-05-01")), Some(1));
        assert_eq!(due_offset(&[7], dl, d("2026-04-06")), None);
        assert_eq!(due_offset(&[7], dl, d("2026-04-07")), Some(7));
        assert_eq!(due_offset(&[-7, 1], dl, d("2026-03-24")), Some(-7));
        assert_eq!(due_offset(&[-7, 1], dl, d("2026-04-02")), Some(1));
    }

    #[test]
    fn windows_bound_the_candidate_query() {
        let today = d("2026-03-24");
        assert_eq!(
            anchor_window(&[-7, -3, -1], today),
            Some((Some(today), d("2026-03-31")))
        );
        assert_eq!(anchor_window(&[1], today), Some((None, d("2026-03-23"))));
        assert_eq!(anchor_window(&[], today), None);
        // Every anchor inside the window has a step due; just outside, none.
        for offs in [&[-7i64, -3, -1][..], &[1], &[7], &[-7, 1], &[30]] {
            let (lo, hi) = anchor_window(offs, today).unwrap();
            assert!(due_offset(offs, hi, today).is_some(), "{offs:?}");
            assert!(due_offset(offs, hi.succ_opt().unwrap(), today).is_none());
            if let Some(lo) = lo {
                assert!(due_offset(offs, lo, today).is_some());
                assert!(due_offset(offs, lo.pred_opt().unwrap(), today).is_none());
            }
        }
    }

    #[test]
    fn step_keys_name_offset_and_anchor() {
        assert_eq!(step_key(-7, d("2026-03-31")), "-7@2026-03-31");
        assert_eq!(step_key(1, d("2026-03-31")), "+1@2026-03-31");
        assert_ne!(
            step_key(1, d("2026-03-31")),
            step_key(1, d("2026-04-30")),
            "an extension starts the ladder again"
        );
    }

    #[test]
    fn quarters() {
        assert_eq!(
            quarter_bounds(d("2026-11-29")),
            (d("2026-10-01"), d("2026-12-31"))
        );
        assert_eq!(
            quarter_bounds(d("2026-01-01")),
            (d("2026-01-01"), d("2026-03-31"))
        );
        assert_eq!(
            quarter_bounds(d("2026-06-30")),
            (d("2026-04-01"), d("2026-06-30"))
        );
    }

    #[test]
    fn rule_names_round_trip() {
        for r in Rule::ALL {
            assert_eq!(Rule::parse(r.as_str()), Some(r));
        }
        assert_eq!(Rule::parse("nope"), None);
    }
}
