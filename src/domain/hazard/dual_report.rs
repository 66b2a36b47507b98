//! 双报告, congress half (职代会/职工大会 reports), employee notices and compliance flags.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::codes::{Action, CongressBody, CongressStage, Level, Role, Status};
use super::facts::{Actor, HazardContent, HazardFacts, Outcome, Plan, Policy};
use super::guard::{OPEN, gate, role_may, state_error};
use crate::domain::{DomainError, FieldErrors};

/// Headcount from which the 职工代表大会 is the expected body (上海市职工代表大会条例 Art. 4).
pub const WORKERS_CONGRESS_HEADCOUNT: u32 = 100;

/// Body of a congress report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CongressReportInput {
    /// Discovery (with the plan) or completion.
    pub stage: Option<CongressStage>,
    /// Which body was told.
    pub body: Option<CongressBody>,
    /// Date of the meeting.
    pub meeting_on: Option<NaiveDate>,
    /// What was reported.
    pub summary: Option<String>,
    /// Date of the follow-up at the next full session (joint meeting only).
    pub follow_up_on: Option<NaiveDate>,
    /// The minutes (an attachment of the hazard, uploaded first), when kept.
    pub attachment_id: Option<String>,
}

/// Body of an employee notice (信息公示).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmployeeNoticeInput {
    /// Date posted.
    pub posted_on: Option<NaiveDate>,
    /// Where, e.g. 信息公示栏.
    pub channel: Option<String>,
}

/// Body of the 重大 report filed after the department raised a hazard to 重大 at posting (L7):
/// ① 现状及其产生原因 ② 危害程度和整改难易程度 ③ 治理方案 (here, or already filed by
/// `PUT plan`, or the date it will be), with the temporary measures — and what T2 asks of every
/// 重大 report that the 一般 report may have left out: the responsible person and phone and
/// the planned funds (五落实: 责任、资金).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MajorReportInput {
    pub status_and_cause: Option<String>,
    pub severity_and_difficulty: Option<String>,
    pub temporary_measures: Option<String>,
    pub needs_government_coordination: Option<bool>,
    pub plan: Option<Plan>,
    pub plan_due_on: Option<NaiveDate>,
    pub responsible_person: Option<String>,
    pub responsible_phone: Option<String>,
    /// 万元, an exact decimal as a string.
    pub planned_funds: Option<String>,
}

impl MajorReportInput {
    /// The report `content` becomes with this one filed: the blocks replace, the rest is
    /// added where given (a blank text is not given: it keeps what the 一般 report had).
    pub fn merged_into(&self, content: &HazardContent) -> HazardContent {
        fn given<T: Clone + Given>(new: &Option<T>, had: &mut Option<T>) {
            if new.as_ref().is_some_and(Given::is_given) {
                had.clone_from(new);
            }
        }
        trait Given {
            fn is_given(&self) -> bool {
                true
            }
        }
        impl Given for String {
            fn is_given(&self) -> bool {
                !self.trim().is_empty()
            }
        }
        impl Given for bool {}
        impl Given for Plan {}
        impl Given for NaiveDate {}
        let mut c = content.clone();
        c.status_and_cause.clone_from(&self.status_and_cause);
        c.severity_and_difficulty
            .clone_from(&self.severity_and_difficulty);
        c.temporary_measures.clone_from(&self.temporary_measures);
        given(&self.responsible_person, &mut c.responsible_person);
        given(&self.responsible_phone, &mut c.responsible_phone);
        given(&self.planned_funds, &mut c.planned_funds);
        given(
            &self.needs_government_coordination,
            &mut c.needs_government_coordination,
        );
        given(&self.plan, &mut c.plan);
        given(&self.plan_due_on, &mut c.plan_due_on);
        c
    }
}

/// Statuses in which a raised hazard's 重大 report may be filed: posted and still open.
const MAJOR_REPORT_STATES: &[Status] = &[
    Status::OnLedger,
    Status::InRectification,
    Status::PendingAcceptance,
];

pub(super) fn guard_major_report(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::MajorReport,
        role_may(
            matches!(
                role,
                Role::EnterprisePrincipal | Role::EnterpriseSafetyOfficer
            ),
            role,
            Action::MajorReport,
            facts.level,
        ),
        MAJOR_REPORT_STATES,
    )?;
    if facts.level != Level::Major {
        return Err(state_error(
            facts,
            "level_not_major",
            "only a major hazard has a major hazard report".into(),
        ));
    }
    if facts.has_regulator_report {
        return Err(state_error(
            facts,
            "already_reported",
            "the major hazard report is already recorded".into(),
        ));
    }
    Ok(())
}

/// The 重大 report of a hazard raised to 重大 at posting (T4 upgrade): the principal, or the
/// safety officer (L3), files the three report blocks; the regulator half of the 双报告 is
/// recorded then. A plan given here is filed (and awaits acknowledgement).
pub fn file_major_report(
    facts: &HazardFacts,
    actor: &Actor,
    input: &MajorReportInput,
    today: NaiveDate,
    policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_major_report(facts, actor.role)?;
    let mut e = FieldErrors::new();
    e.require_text("status_and_cause", input.status_and_cause.as_deref());
    e.require_text(
        "severity_and_difficulty",
        input.severity_and_difficulty.as_deref(),
    );
    e.require_text("temporary_measures", input.temporary_measures.as_deref());
    // T2's people and funds: given now, or already in the report.
    let merged = input.merged_into(&facts.content);
    e.require_text("responsible_person", merged.responsible_person.as_deref());
    e.require_text("responsible_phone", merged.responsible_phone.as_deref());
    e.require_text("planned_funds", merged.planned_funds.as_deref());
    super::draft::check_formats(&mut e, &merged, today);
    if policy.require_before_photo_for_major && !facts.attachments.before_photo {
        e.add("before_photo", "a photo before rectification is required");
    }
    match (&input.plan, input.plan_due_on) {
        (Some(plan), _) => {
            for part in plan.missing_parts() {
                e.add(format!("plan.{part}"), "required");
            }
        }
        // The date the raise set (posting + plan_due_max_days) is the latest: the report does
        // not buy the plan more time, least of all once that date has passed.
        (None, Some(due)) => match facts.content.plan_due_on {
            Some(set) if due > set => e.add(
                "plan_due_on",
                format!(
                    "must not be after {set}, the date set for the plan when the hazard was raised to major (once it has passed, file the plan itself)"
                ),
            ),
            _ => super::draft::check_plan_due_on(&mut e, due, today, policy),
        },
        // The plan's date set at the raise (posting + plan_due_max_days) still holds.
        (None, None) if !facts.plan_filed && facts.content.plan_due_on.is_none() => {
            e.add("plan", "required: the six-part plan or plan_due_on");
        }
        (None, None) => {}
    }
    e.finish()?;
    let mut out = Outcome::to(facts.status);
    out.record_regulator_report = true;
    if input.plan.is_some() {
        out.plan_filed = Some(true);
        out.plan_acknowledged = Some(false);
    }
    Ok(out)
}

/// A completion report makes sense once rectification is under way.
const COMPLETION_STATES: &[Status] = &[Status::InRectification, Status::PendingAcceptance];

/// The body expected for a headcount.
pub fn expected_body(headcount: u32) -> CongressBody {
    if headcount >= WORKERS_CONGRESS_HEADCOUNT {
        CongressBody::WorkersCongress
    } else {
        CongressBody::AllStaffMeeting
    }
}

pub(super) fn guard_congress_report(
    facts: &HazardFacts,
    role: Role,
    stage: Option<CongressStage>,
) -> Result<(), DomainError> {
    let states = if stage == Some(CongressStage::Completion) {
        COMPLETION_STATES
    } else {
        OPEN
    };
    gate(
        facts,
        Action::CongressReport,
        role_may(
            role.is_enterprise(),
            role,
            Action::CongressReport,
            facts.level,
        ),
        states,
    )
}

fn check_date_in_range(
    e: &mut FieldErrors,
    field: &str,
    date: NaiveDate,
    facts: &HazardFacts,
    today: NaiveDate,
) {
    if date > today {
        e.add(field, "must not be in the future");
    } else if facts.discovered_on().is_some_and(|found| date < found) {
        e.add(field, "must not be before discovered_on");
    }
}

/// Records a report to the workers' congress; the body must match the headcount, a joint meeting needs a follow-up.
pub fn record_congress_report(
    facts: &HazardFacts,
    actor: &Actor,
    input: &CongressReportInput,
    today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_congress_report(facts, actor.role, input.stage)?;
    let mut e = FieldErrors::new();
    e.require("stage", input.stage);
    let body = e.require("body", input.body);
    let meeting_on = e.require("meeting_on", input.meeting_on);
    if let Some(m) = meeting_on {
        check_date_in_range(&mut e, "meeting_on", m, facts, today);
    }
    e.require_text("summary", input.summary.as_deref());
    let mut out = Outcome::to(facts.status);
    match (body, facts.enterprise_headcount) {
        (Some(CongressBody::JointMeeting), _) => {
            if let Some(f) = e.require("follow_up_on", input.follow_up_on)
                && meeting_on.is_some_and(|m| f <= m)
            {
                e.add("follow_up_on", "must be after meeting_on");
            }
        }
        (Some(b), Some(n)) if b != expected_body(n) => e.add(
            "body",
            format!("{n} staff report to the {}", expected_body(n)),
        ),
        (Some(_), None) => out.warnings.push("headcount_unknown".into()),
        _ => {}
    }
    // Only a joint meeting is followed up (L11); a date given with the congress's own report
    // would be stored unchecked.
    if input.follow_up_on.is_some() && body.is_some_and(|b| b != CongressBody::JointMeeting) {
        e.add("follow_up_on", "only with body joint_meeting");
    }
    e.finish()?;
    Ok(out)
}

pub(super) fn guard_employee_notice(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::EmployeeNotice,
        role_may(
            role.is_enterprise(),
            role,
            Action::EmployeeNotice,
            facts.level,
        ),
        OPEN,
    )
}

/// Records that the hazard was made known to employees (信息公示); every hazard needs one.
pub fn record_employee_notice(
    facts: &HazardFacts,
    actor: &Actor,
    input: &EmployeeNoticeInput,
    today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_employee_notice(facts, actor.role)?;
    let mut e = FieldErrors::new();
    if let Some(p) = e.require("posted_on", input.posted_on) {
        check_date_in_range(&mut e, "posted_on", p, facts, today);
    }
    e.require_text("channel", input.channel.as_deref());
    e.finish()?;
    Ok(Outcome::to(facts.status))
}

/// Every compliance flag, in the order [`compliance_flags`] raises them.
pub const COMPLIANCE_FLAGS: [&str; 7] = [
    "regulator_report_late",
    "congress_report_overdue",
    "congress_completion_missing",
    "congress_follow_up_overdue",
    "employee_notice_missing",
    "interview_flagged",
    "overdue_explanation_missing",
];

/// Compliance flags shown in lists and statistics (stable codes; `db::flags` states the same
/// rules in SQL, for the list's `flag=` filter and the statistics):
/// - `regulator_report_late` — a 重大 report submitted more than `regulator_report_max_delay_days` after discovery;
/// - `congress_report_overdue` — a 重大 hazard with no discovery-stage congress report
///   `congress_report_due_days` after submission (a completion-stage one does not stand in for it);
/// - `congress_completion_missing` — a closed 重大 hazard without a completion-stage congress report;
/// - `congress_follow_up_overdue` — a report heard only by a joint meeting (联席会议) and not by the
///   congress itself after the joint meeting's `follow_up_on` (L11);
/// - `employee_notice_missing` — a posted hazard never made known to employees;
/// - `interview_flagged` — flagged for 约谈/通报 by the escalation ladder (+30 days overdue, or
///   overdue a second time while listed); it stays, as the record of that lateness;
/// - `overdue_explanation_missing` — overdue since the escalation's first step (+1 day), or
///   failed at acceptance, and the enterprise's written explanation (书面说明) not filed; a
///   hazard closed without it keeps the flag, as the record of that (L10), a void one drops it.
pub fn compliance_flags(
    facts: &HazardFacts,
    today: NaiveDate,
    policy: &Policy,
) -> Vec<&'static str> {
    let mut flags = Vec::new();
    let posted = matches!(
        facts.status,
        Status::OnLedger | Status::InRectification | Status::PendingAcceptance | Status::Closed
    );
    if facts.level == Level::Major {
        if let (Some(found), Some(sent)) = (facts.discovered_on(), facts.submitted_on)
            && (sent - found).num_days() > policy.regulator_report_max_delay_days
        {
            flags.push("regulator_report_late");
        }
        if let Some(sent) = facts.submitted_on {
            let due = sent + Days::new(policy.congress_report_due_days.max(0) as u64);
            if !facts.has_discovery_congress_report && today > due && facts.status != Status::Void {
                flags.push("congress_report_overdue");
            }
        }
        if facts.status == Status::Closed && !facts.has_completion_congress_report {
            flags.push("congress_completion_missing");
        }
        if facts
            .congress_follow_up_due
            .is_some_and(|due| today > due && facts.status != Status::Void)
        {
            flags.push("congress_follow_up_overdue");
        }
    }
    if posted && !facts.has_employee_notice {
        flags.push("employee_notice_missing");
    }
    if facts.interview_flagged_on.is_some() {
        flags.push("interview_flagged");
    }
    if facts.explanation_owed_on.is_some() && facts.status != Status::Void {
        flags.push("overdue_explanation_missing");
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn a_hazard_raised_to_major_at_posting_gets_its_major_report_once() {
        let p = Policy::default();
        let principal = actor(Role::EnterprisePrincipal);
        let mut f = facts(Status::OnLedger, Level::Major);
        f.has_regulator_report = false;
        f.plan_filed = false;
        let blocks = MajorReportInput {
            status_and_cause: Some("液氨管道腐蚀减薄".into()),
            severity_and_difficulty: Some("泄漏可致中毒".into()),
            temporary_measures: Some("停用该管段".into()),
            ..MajorReportInput::default()
        };
        // Every block named at once, and the plan (or its date) when none is filed.
        let err = file_major_report(&f, &principal, &MajorReportInput::default(), today(), &p)
            .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "status_and_cause",
                "severity_and_difficulty",
                "temporary_measures",
                "plan"
            ]
        );
        let with_plan = MajorReportInput {
            plan: Some(full_plan()),
            ..blocks.clone()
        };
        let out = file_major_report(&f, &principal, &with_plan, today(), &p).unwrap();
        assert!(out.record_regulator_report);
        assert_eq!(out.status, Status::OnLedger);
        assert_eq!(
            (out.plan_filed, out.plan_acknowledged),
            (Some(true), Some(false))
        );
        // A plan already filed (PUT plan) is enough.
        f.plan_filed = true;
        let out = file_major_report(&f, &principal, &blocks, today(), &p).unwrap();
        assert_eq!(out.plan_filed, None);
        // Once recorded, not again; and only for 重大.
        f.has_regulator_report = true;
        let err = file_major_report(&f, &principal, &blocks, today(), &p).unwrap_err();
        assert_eq!((err.code(), err.http_status()), ("already_reported", 409));
        let mut general = facts(Status::OnLedger, Level::General);
        general.has_regulator_report = false;
        let err = file_major_report(&general, &principal, &blocks, today(), &p).unwrap_err();
        assert_eq!(err.code(), "level_not_major");
    }

    #[test]
    fn a_blank_answer_in_the_major_report_keeps_what_the_general_report_had() {
        let f = facts(Status::OnLedger, Level::Major);
        let input = MajorReportInput {
            responsible_person: Some("  ".into()),
            responsible_phone: Some("13900000002".into()),
            planned_funds: None,
            ..MajorReportInput::default()
        };
        let merged = input.merged_into(&f.content);
        assert_eq!(merged.responsible_person, f.content.responsible_person);
        assert!(merged.responsible_person.is_some());
        assert_eq!(merged.responsible_phone.as_deref(), Some("13900000002"));
        assert_eq!(merged.planned_funds, f.content.planned_funds);
    }

    fn report(stage: CongressStage, body: CongressBody) -> CongressReportInput {
        CongressReportInput {
            stage: Some(stage),
            body: Some(body),
            meeting_on: Some(today()),
            summary: Some("通报液氨管道隐患及治理方案".into()),
            follow_up_on: None,
            ..Default::default()
        }
    }

    fn record(f: &HazardFacts, input: &CongressReportInput) -> Result<Outcome, DomainError> {
        record_congress_report(
            f,
            &actor(Role::EnterprisePrincipal),
            input,
            today(),
            &Policy::default(),
        )
    }

    #[test]
    fn body_follows_headcount() {
        let mut f = facts(Status::Submitted, Level::Major);
        for (n, good, bad) in [
            (
                99,
                CongressBody::AllStaffMeeting,
                CongressBody::WorkersCongress,
            ),
            (
                100,
                CongressBody::WorkersCongress,
                CongressBody::AllStaffMeeting,
            ),
        ] {
            f.enterprise_headcount = Some(n);
            assert!(
                record(&f, &report(CongressStage::Discovery, good)).is_ok(),
                "{n}"
            );
            let err = record(&f, &report(CongressStage::Discovery, bad)).unwrap_err();
            assert_eq!(fields(&err), ["body"], "{n}");
        }
        f.enterprise_headcount = None;
        let out = record(
            &f,
            &report(CongressStage::Discovery, CongressBody::WorkersCongress),
        )
        .unwrap();
        assert_eq!(out.warnings, ["headcount_unknown"]);
    }

    #[test]
    fn joint_meeting_needs_a_later_follow_up() {
        let mut f = facts(Status::Submitted, Level::Major);
        for n in [10, 500] {
            f.enterprise_headcount = Some(n);
            let mut input = report(CongressStage::Discovery, CongressBody::JointMeeting);
            assert_eq!(fields(&record(&f, &input).unwrap_err()), ["follow_up_on"]);
            input.follow_up_on = Some(today());
            assert_eq!(fields(&record(&f, &input).unwrap_err()), ["follow_up_on"]);
            input.follow_up_on = Some(d("2024-03-15"));
            assert!(record(&f, &input).is_ok());
        }
        // The congress's own report is not followed up: a date given with it is refused.
        f.enterprise_headcount = Some(500);
        let mut own = report(CongressStage::Discovery, CongressBody::WorkersCongress);
        own.follow_up_on = Some(d("2024-03-15"));
        assert_eq!(fields(&record(&f, &own).unwrap_err()), ["follow_up_on"]);
    }

    #[test]
    fn congress_report_fields_and_dates() {
        let f = facts(Status::Submitted, Level::Major);
        let err = record(&f, &CongressReportInput::default()).unwrap_err();
        assert_eq!(fields(&err), ["stage", "body", "meeting_on", "summary"]);
        let mut input = report(CongressStage::Discovery, CongressBody::AllStaffMeeting);
        input.meeting_on = Some(d("2023-10-01"));
        assert_eq!(fields(&record(&f, &input).unwrap_err()), ["meeting_on"]);
        input.meeting_on = today().succ_opt();
        assert_eq!(fields(&record(&f, &input).unwrap_err()), ["meeting_on"]);
    }

    #[test]
    fn completion_stage_only_after_rectification_started() {
        let input = report(CongressStage::Completion, CongressBody::AllStaffMeeting);
        for &s in Status::ALL {
            let r = record(&facts(s, Level::Major), &input);
            match s {
                Status::InRectification | Status::PendingAcceptance => assert!(r.is_ok(), "{s}"),
                Status::Closed | Status::Void => assert_eq!(r.unwrap_err().code(), "hazard_frozen"),
                _ => assert_eq!(r.unwrap_err().code(), "invalid_state", "{s}"),
            }
        }
    }

    #[test]
    fn employee_notice_fields() {
        let f = facts(Status::OnLedger, Level::General);
        let a = actor(Role::EnterpriseReporter);
        let p = Policy::default();
        let err = record_employee_notice(&f, &a, &EmployeeNoticeInput::default(), today(), &p)
            .unwrap_err();
        assert_eq!(fields(&err), ["posted_on", "channel"]);
        let ok = EmployeeNoticeInput {
            posted_on: Some(today()),
            channel: Some("信息公示栏".into()),
        };
        assert_eq!(
            record_employee_notice(&f, &a, &ok, today(), &p)
                .unwrap()
                .status,
            Status::OnLedger
        );
    }

    #[test]
    fn compliance_flag_rules() {
        let p = Policy::default();
        let mut f = facts(Status::InRectification, Level::Major);
        assert!(compliance_flags(&f, today(), &p).is_empty());

        f.submitted_on = Some(d("2023-10-10"));
        f.content.discovered_on = Some(d("2023-10-08"));
        assert_eq!(
            compliance_flags(&f, d("2023-10-10"), &p),
            ["regulator_report_late"]
        );

        f.submitted_on = Some(d("2023-10-09"));
        f.has_discovery_congress_report = false;
        f.has_completion_congress_report = false;
        assert!(
            compliance_flags(&f, d("2023-11-08"), &p).is_empty(),
            "day 30"
        );
        assert_eq!(
            compliance_flags(&f, d("2023-11-09"), &p),
            ["congress_report_overdue"]
        );
        // A completion report does not stand in for the one owed at discovery.
        f.has_completion_congress_report = true;
        assert_eq!(
            compliance_flags(&f, d("2023-11-09"), &p),
            ["congress_report_overdue"]
        );
        f.has_completion_congress_report = false;

        f.has_discovery_congress_report = true;
        f.status = Status::Closed;
        f.has_employee_notice = false;
        assert_eq!(
            compliance_flags(&f, d("2023-11-09"), &p),
            ["congress_completion_missing", "employee_notice_missing"]
        );

        f.has_employee_notice = true;
        f.has_completion_congress_report = true;
        f.congress_follow_up_due = Some(d("2023-11-20"));
        assert!(
            compliance_flags(&f, d("2023-11-20"), &p).is_empty(),
            "the follow-up day itself"
        );
        assert_eq!(
            compliance_flags(&f, d("2023-11-21"), &p),
            ["congress_follow_up_overdue"]
        );

        let mut g = facts(Status::Submitted, Level::General);
        g.has_employee_notice = false;
        g.submitted_on = Some(d("2023-12-01"));
        assert!(compliance_flags(&g, d("2024-06-01"), &p).is_empty());
        g.status = Status::OnLedger;
        assert_eq!(
            compliance_flags(&g, d("2024-06-01"), &p),
            ["employee_notice_missing"]
        );

        g.has_employee_notice = true;
        g.explanation_owed_on = Some(d("2024-06-01"));
        assert_eq!(
            compliance_flags(&g, d("2024-06-01"), &p),
            ["overdue_explanation_missing"]
        );
        g.status = Status::Void;
        assert!(
            compliance_flags(&g, d("2024-06-01"), &p).is_empty(),
            "nothing is owed on a terminal hazard"
        );
    }
}
