//! The compliance flags of `domain::hazard::compliance_flags` stated as SQL conditions over a
//! hazard row, so that the list can filter by a flag and the statistics count each flag in the
//! database, whatever the volume. The integration test `compliance_flags_in_sql_match_the_view`
//! checks that both statements of each rule pick the same hazards.
//!
//! Every value in the text is the program's own (flag codes, record kinds, a date formatted by
//! chrono, whole numbers from the configuration), never the caller's.

use chrono::{Days, NaiveDate};

use crate::domain::hazard::Policy;

/// The conditions for one backend, one day and one set of rules, over the hazard table or alias
/// `table`.
pub struct FlagSql<'a> {
    pub table: &'a str,
    pub is_pg: bool,
    pub today: NaiveDate,
    pub rules: &'a Policy,
}

impl FlagSql<'_> {
    /// A date as an SQL literal (SQLite keeps dates as `YYYY-MM-DD` text, which compares in
    /// date order).
    fn date(&self, d: NaiveDate) -> String {
        if self.is_pg {
            format!("DATE '{d}'")
        } else {
            format!("'{d}'")
        }
    }

    /// A text field of record `alias`'s JSON payload.
    fn field(&self, alias: &str, name: &str) -> String {
        if self.is_pg {
            format!("({alias}.payload::json->>'{name}')")
        } else {
            format!("json_extract({alias}.payload, '$.{name}')")
        }
    }

    /// The hazard has a record of `kind` (with `stage`, if given).
    pub fn has_record(&self, kind: &str, stage: Option<&str>) -> String {
        let stage = stage
            .map(|s| format!(" AND {} = '{s}'", self.field("r", "stage")))
            .unwrap_or_default();
        format!(
            "EXISTS (SELECT 1 FROM hazard_records r WHERE r.hazard_id = {t}.id \
             AND r.kind = '{kind}'{stage})",
            t = self.table
        )
    }

    /// The hazard has a joint meeting's report (联席会议) that no workers' congress or all-staff
    /// meeting of the same stage on or after its date has heard again (L11) — due before `today`
    /// if `due` is set.
    pub fn joint_meeting_unheard(&self, due: bool) -> String {
        let due = if due {
            format!(
                " AND COALESCE({}, {}) < '{}'",
                self.field("j", "follow_up_on"),
                self.field("j", "meeting_on"),
                self.today
            )
        } else {
            String::new()
        };
        format!(
            "EXISTS (SELECT 1 FROM hazard_records j WHERE j.hazard_id = {t}.id \
               AND j.kind = 'congress_report' AND {j_body} = 'joint_meeting'{due} \
               AND NOT EXISTS (SELECT 1 FROM hazard_records k WHERE k.hazard_id = {t}.id \
                 AND k.kind = 'congress_report' AND {k_body} <> 'joint_meeting' \
                 AND {k_stage} = {j_stage} AND {k_on} >= {j_on}))",
            t = self.table,
            j_body = self.field("j", "body"),
            k_body = self.field("k", "body"),
            j_on = self.field("j", "meeting_on"),
            k_on = self.field("k", "meeting_on"),
            j_stage = self.field("j", "stage"),
            k_stage = self.field("k", "stage"),
        )
    }

    /// The condition under which a hazard carries `flag` today; `None` for a code that is not a
    /// compliance flag.
    pub fn condition(&self, flag: &str) -> Option<String> {
        let t = self.table;
        let major = format!("{t}.level = 'major'");
        Some(match flag {
            "regulator_report_late" => {
                let days = if self.is_pg {
                    format!("({t}.submitted_on - {t}.discovered_on)")
                } else {
                    format!("(julianday({t}.submitted_on) - julianday({t}.discovered_on))")
                };
                format!(
                    "({major} AND {t}.submitted_on IS NOT NULL AND {t}.discovered_on IS NOT NULL \
                     AND {days} > {})",
                    self.rules.regulator_report_max_delay_days
                )
            }
            "congress_report_overdue" => {
                // today > submitted_on + due ⇔ submitted_on < today − due.
                let due = u64::try_from(self.rules.congress_report_due_days.max(0)).unwrap_or(0);
                let latest = self
                    .today
                    .checked_sub_days(Days::new(due))
                    .unwrap_or(self.today);
                format!(
                    "({major} AND {t}.status <> 'void' AND {t}.submitted_on < {} AND NOT {})",
                    self.date(latest),
                    self.has_record("congress_report", Some("discovery"))
                )
            }
            "congress_completion_missing" => format!(
                "({major} AND {t}.status = 'closed' AND NOT {})",
                self.has_record("congress_report", Some("completion"))
            ),
            "congress_follow_up_overdue" => format!(
                "({major} AND {t}.status <> 'void' AND {})",
                self.joint_meeting_unheard(true)
            ),
            // The row's `employee_notice` says whether it has an `employee_notice` record.
            "employee_notice_missing" => format!(
                "({t}.status IN ('on_ledger', 'in_rectification', 'pending_acceptance', 'closed') \
                 AND NOT {t}.employee_notice)"
            ),
            // Set by the escalation job with its `overdue_interview` firing.
            "interview_flagged" => format!("({t}.interview_flagged_on IS NOT NULL)"),
            // Set by the escalation job with its `overdue_first` firing, cleared by filing.
            "overdue_explanation_missing" => {
                format!("({t}.explanation_owed_on IS NOT NULL AND {t}.status <> 'void')")
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hazard::COMPLIANCE_FLAGS;

    #[test]
    fn every_flag_has_a_condition_on_both_backends() {
        let rules = Policy::default();
        for is_pg in [false, true] {
            let sql = FlagSql {
                table: "h",
                is_pg,
                today: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
                rules: &rules,
            };
            for flag in COMPLIANCE_FLAGS {
                let c = sql.condition(flag).unwrap();
                assert!(c.starts_with('(') && c.ends_with(')'), "{flag}: {c}");
            }
            assert!(sql.condition("overdue").is_none());
        }
    }

    #[test]
    fn congress_report_due_counts_back_from_today() {
        let rules = Policy::default();
        let sql = FlagSql {
            table: "hazards",
            is_pg: true,
            today: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
            rules: &rules,
        };
        // 30 days before 2026-03-02.
        let c = sql.condition("congress_report_overdue").unwrap();
        assert!(
            c.contains("hazards.submitted_on < DATE '2026-01-31'"),
            "{c}"
        );
        // Owed at discovery: a completion-stage report does not stand in for it.
        assert!(c.contains("= 'discovery'"), "{c}");
    }
}
