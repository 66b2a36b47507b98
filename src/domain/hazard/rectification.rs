//! T7 start, T8 progress, T9 extension request and decision, T10 completion report.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::codes::{Action, Level, Role, Status, Suspension};
use super::facts::{Actor, HazardFacts, Outcome, Policy};
use super::guard::{gate, primary_department_only, role_may, state_error};
use crate::domain::calendar::WorkCalendar;
use crate::domain::deadline::{ExtensionWindow, extension_window};
use crate::domain::validate::Wan;
use crate::domain::{DomainError, FieldErrors};

/// Body of start.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StartInput {
    /// Optional remark.
    pub note: Option<String>,
}

/// Body of a progress update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressInput {
    /// What was done.
    pub note: Option<String>,
    /// Percent complete, 0–100.
    pub percent: Option<i64>,
    /// Money spent so far in 万元, exact decimal text.
    pub spent_funds: Option<String>,
}

/// Body of an extension request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtensionRequestInput {
    /// Why the deadline cannot be met.
    pub reason: Option<String>,
    /// 防控措施 in force until the hazard is removed.
    pub interim_measures: Option<String>,
    /// The new deadline asked for.
    pub requested_deadline: Option<NaiveDate>,
}

/// Body of an extension decision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtensionDecisionInput {
    /// 同意 or 不同意.
    pub approved: Option<bool>,
    /// The decision's reasoning.
    pub opinion: Option<String>,
    /// The deadline an approval grants, when it grants less than was asked: after the effective
    /// deadline and not after the requested one. Default: the requested deadline.
    pub deadline: Option<NaiveDate>,
}

/// Body of the completion report (验收申请).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompletionInput {
    /// 整改完成日期.
    pub completed_on: Option<NaiveDate>,
    /// What was done.
    pub summary: Option<String>,
    /// 实际投入资金 in 万元, exact decimal text.
    pub actual_funds: Option<String>,
    /// 自评.
    pub self_assessment: Option<String>,
    /// Request to resume production (required after a suspension).
    pub resume_request: Option<String>,
}

pub(super) fn check_money(e: &mut FieldErrors, field: &str, value: Option<&str>) {
    if let Some(v) = value
        && let Err(m) = Wan::parse(v)
    {
        e.add(field, m);
    }
}

pub(super) fn guard_start(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::Start,
        role_may(
            role == Role::EnterprisePrincipal,
            role,
            Action::Start,
            facts.level,
        ),
        &[Status::OnLedger],
    )?;
    if facts.level == Level::Major && !facts.plan_acknowledged {
        return Err(state_error(
            facts,
            "plan_not_acknowledged",
            "a major hazard needs its six-part plan filed and acknowledged first".into(),
        ));
    }
    Ok(())
}

/// T7: on_ledger → in_rectification; principal; 重大 needs an acknowledged plan.
pub fn start(
    facts: &HazardFacts,
    actor: &Actor,
    _input: &StartInput,
    _today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_start(facts, actor.role)?;
    Ok(Outcome::to(Status::InRectification))
}

const PROGRESS_STATES: &[Status] = &[Status::OnLedger, Status::InRectification];

pub(super) fn guard_progress(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::Progress,
        role_may(role.is_enterprise(), role, Action::Progress, facts.level),
        PROGRESS_STATES,
    )
}

/// T8: a progress update by an enterprise user; no status change.
pub fn record_progress(
    facts: &HazardFacts,
    actor: &Actor,
    input: &ProgressInput,
    _today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_progress(facts, actor.role)?;
    let mut e = FieldErrors::new();
    e.require_text("note", input.note.as_deref());
    if let Some(p) = e.require("percent", input.percent)
        && !(0..=100).contains(&p)
    {
        e.add("percent", "must be 0–100");
    }
    check_money(&mut e, "spent_funds", input.spent_funds.as_deref());
    e.finish()?;
    Ok(Outcome::to(facts.status))
}

/// Body of the written explanation (书面说明) an enterprise owes from the first day overdue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OverdueExplanationInput {
    /// Why the deadline was missed (逾期原因).
    pub reason: Option<String>,
    /// What is being done meanwhile: the work's state and the interim safety measures.
    pub measures: Option<String>,
    /// When the work is now expected to be done (not for work already reported complete).
    pub expected_completion_on: Option<NaiveDate>,
}

/// A written explanation may be filed while the hazard is posted and open.
const EXPLANATION_STATES: &[Status] = &[
    Status::OnLedger,
    Status::InRectification,
    Status::PendingAcceptance,
];

pub(super) fn guard_overdue_explanation(
    facts: &HazardFacts,
    role: Role,
) -> Result<(), DomainError> {
    gate(
        facts,
        Action::OverdueExplanation,
        role_may(
            role.is_enterprise(),
            role,
            Action::OverdueExplanation,
            facts.level,
        ),
        EXPLANATION_STATES,
    )?;
    if facts.explanation_owed_on.is_none() {
        return Err(state_error(
            facts,
            "explanation_not_owed",
            "no written explanation is owed: one is owed from the first day overdue (the \
             escalation of overdue_first) until it is filed"
                .into(),
        ));
    }
    Ok(())
}

/// The enterprise's written explanation (书面说明) of an overdue hazard (DESIGN: +1 day
/// overdue, "the enterprise owes a written explanation"); no status change. The hazard stays
/// overdue (继续挂账); what is owed is the explanation.
pub fn explain_overdue(
    facts: &HazardFacts,
    actor: &Actor,
    input: &OverdueExplanationInput,
    today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_overdue_explanation(facts, actor.role)?;
    let mut e = FieldErrors::new();
    e.require_text("reason", input.reason.as_deref());
    e.require_text("measures", input.measures.as_deref());
    match input.expected_completion_on {
        Some(_) if facts.status == Status::PendingAcceptance => e.add(
            "expected_completion_on",
            "the work is already reported complete",
        ),
        Some(d) if d < today => e.add("expected_completion_on", "must not be in the past"),
        _ => {}
    }
    e.finish()?;
    Ok(Outcome::to(facts.status))
}

/// Extension requests are possible while the deadline runs: posted, not yet completed.
const EXTENSION_STATES: &[Status] = &[Status::OnLedger, Status::InRectification];

/// Role, status, no pending request, a deadline: everything but the time window.
pub(super) fn guard_request_extension(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::RequestExtension,
        role_may(
            role == Role::EnterprisePrincipal,
            role,
            Action::RequestExtension,
            facts.level,
        ),
        EXTENSION_STATES,
    )?;
    if facts.pending_extension.is_some() {
        return Err(state_error(
            facts,
            "extension_pending",
            "an extension request is already waiting for a decision".into(),
        ));
    }
    if facts.effective_deadline.is_none() {
        return Err(state_error(
            facts,
            "deadline_missing",
            "the hazard has no deadline".into(),
        ));
    }
    Ok(())
}

/// Whether an extension may be requested today as far as the window goes (T9: the last
/// working days before the effective deadline), for the actions a view offers.
pub fn extension_window_open(
    facts: &HazardFacts,
    cal: &WorkCalendar,
    today: NaiveDate,
    policy: &Policy,
) -> bool {
    window_open(facts, cal, today, policy).is_ok()
}

fn window_open(
    facts: &HazardFacts,
    cal: &WorkCalendar,
    today: NaiveDate,
    policy: &Policy,
) -> Result<(), DomainError> {
    let Some(deadline) = facts.effective_deadline else {
        return Ok(());
    };
    match extension_window(cal, deadline, today, policy.extension_window_workdays) {
        ExtensionWindow::Open => Ok(()),
        ExtensionWindow::NotYetOpen { opens_on } => Err(state_error(
            facts,
            "extension_window_not_open",
            format!(
                "extensions may be requested in the last {} working days before {deadline}, from {opens_on}",
                policy.extension_window_workdays
            ),
        )),
        ExtensionWindow::Closed => Err(state_error(
            facts,
            "extension_window_closed",
            format!("the deadline {deadline} has passed"),
        )),
    }
}

/// T9 request: principal, inside the window before the effective deadline, with reason and interim measures.
pub fn request_extension(
    facts: &HazardFacts,
    actor: &Actor,
    input: &ExtensionRequestInput,
    cal: &WorkCalendar,
    today: NaiveDate,
    policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_request_extension(facts, actor.role)?;
    window_open(facts, cal, today, policy)?;
    let mut e = FieldErrors::new();
    e.require_text("reason", input.reason.as_deref());
    e.require_text("interim_measures", input.interim_measures.as_deref());
    if let Some(requested) = e.require("requested_deadline", input.requested_deadline)
        && facts.effective_deadline.is_some_and(|d| requested <= d)
    {
        e.add("requested_deadline", "must be after the effective deadline");
    }
    e.finish()?;
    let mut out = Outcome::to(facts.status);
    out.extension_requested = input.requested_deadline;
    Ok(out)
}

const DECISION_STATES: &[Status] = &[
    Status::OnLedger,
    Status::InRectification,
    Status::PendingAcceptance,
];

pub(super) fn guard_decide_extension(
    facts: &HazardFacts,
    role: Role,
    actor: Option<&Actor>,
) -> Result<(), DomainError> {
    // A listed hazard's extensions are decided by the supervising unit (区安委办), others by the department.
    let decider = if facts.listed {
        Role::DistrictOffice
    } else {
        Role::DepartmentInspector
    };
    let who = match (role == decider, role, facts.listed) {
        (true, ..) => Ok(()),
        // The two deciders, each told who decides instead.
        (false, Role::DepartmentInspector, true) => Err(DomainError::Forbidden {
            code: "role_forbidden",
            message: "a listed hazard's extensions are decided by its supervising unit: the district office decides, or records the city's decision for a city-level listing".into(),
        }),
        (false, Role::DistrictOffice, false) => Err(DomainError::Forbidden {
            code: "role_forbidden",
            message: "an unlisted hazard's extensions are decided by its primary department".into(),
        }),
        (false, ..) => role_may(false, role, Action::DecideExtension, facts.level),
    };
    gate(
        facts,
        Action::DecideExtension,
        who.and_then(|()| primary_department_only(facts, actor, Action::DecideExtension)),
        DECISION_STATES,
    )?;
    if facts.pending_extension.is_none() {
        return Err(state_error(
            facts,
            "no_pending_extension",
            "there is no extension request to decide".into(),
        ));
    }
    Ok(())
}

/// T9 decision: department inspector (district office when listed); approval moves the effective deadline.
pub fn decide_extension(
    facts: &HazardFacts,
    actor: &Actor,
    input: &ExtensionDecisionInput,
    today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_decide_extension(facts, actor.role, Some(actor))?;
    let mut e = FieldErrors::new();
    let approved = e.require("approved", input.approved);
    e.require_text("opinion", input.opinion.as_deref());
    let requested = facts.pending_extension;
    let granted = input.deadline.or(requested);
    match (approved, input.deadline) {
        (Some(false), Some(_)) => e.add("deadline", "only an approval grants a deadline"),
        (Some(true), Some(deadline)) => {
            if let Some(current) = facts.effective_deadline
                && deadline <= current
            {
                e.add(
                    "deadline",
                    format!("must be after the effective deadline {current}"),
                );
            } else if let Some(requested) = requested
                && deadline > requested
            {
                e.add(
                    "deadline",
                    format!("must not be after the requested deadline {requested}"),
                );
            } else if deadline < today {
                e.add("deadline", "must not be in the past");
            }
        }
        // Approving a date already past would make the hazard overdue against a new deadline
        // and start the escalation ladder over for the same lateness.
        (Some(true), None) => {
            if let Some(requested) = requested
                && requested < today
            {
                e.add(
                    "approved",
                    format!(
                        "the requested deadline {requested} has passed; the request can only be refused"
                    ),
                );
            }
        }
        _ => {}
    }
    e.finish()?;
    let mut out = Outcome::to(facts.status);
    out.extension_approved = approved;
    if approved == Some(true) {
        out.effective_deadline = granted;
    }
    Ok(out)
}

pub(super) fn may_complete(role: Role, level: Level) -> bool {
    match level {
        Level::Major => role == Role::EnterprisePrincipal,
        Level::General => role.is_enterprise(),
    }
}

pub(super) fn guard_complete(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::Complete,
        role_may(
            may_complete(role, facts.level),
            role,
            Action::Complete,
            facts.level,
        ),
        &[Status::InRectification],
    )
}

/// Checks a completion date: present, not in the future, not before discovery, nor before the
/// record says the work went on — a failed acceptance check (T12), the start of rectification
/// (for a 重大 hazard, or one started after its original deadline), a progress update below
/// 100 %.
pub(super) fn check_completed_on(
    e: &mut FieldErrors,
    facts: &HazardFacts,
    completed_on: Option<NaiveDate>,
    today: NaiveDate,
) {
    if let Some(done) = e.require("completed_on", completed_on) {
        if done > today {
            e.add("completed_on", "must not be in the future");
        } else if facts.discovered_on().is_some_and(|found| done < found) {
            e.add("completed_on", "must not be before discovered_on");
        } else if let Some(failed) = facts.failed_acceptance_on.filter(|f| done < *f) {
            // T12: the failed completion does not count — the work was unfinished that day.
            e.add(
                "completed_on",
                format!("must not be before the failed acceptance check of {failed}"),
            );
        } else if let Some(started) = facts.started_on.filter(|s| done < *s).filter(|s| {
            // The original deadline: 超期整改 is counted against it, extensions notwithstanding.
            facts.level == Level::Major
                || facts
                    .deadline
                    .or(facts.effective_deadline)
                    .is_some_and(|d| *s > d)
        }) {
            // The hazard's own record dates the work: a 重大 hazard's rectification begins once
            // its plan is acknowledged (T7), and one begun only after its deadline had passed
            // was not finished by then (a completion dated back to the deadline would erase
            // months of lateness, 超期整改). A 一般 hazard fixed at once, before it was posted
            // and started in the ledger, keeps its real date.
            e.add(
                "completed_on",
                format!("must not be before the start of rectification on {started}"),
            );
        } else if let Some(said) = facts.reported_unfinished_on.filter(|s| done < *s) {
            e.add(
                "completed_on",
                format!("must not be before the enterprise reported the work under way on {said}"),
            );
        }
    }
}

/// T10: in_rectification → pending_acceptance; principal (重大) or enterprise users (一般).
pub fn complete(
    facts: &HazardFacts,
    actor: &Actor,
    input: &CompletionInput,
    today: NaiveDate,
    policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_complete(facts, actor.role)?;
    let mut e = FieldErrors::new();
    check_completed_on(&mut e, facts, input.completed_on, today);
    e.require_text("summary", input.summary.as_deref());
    e.require_text("actual_funds", input.actual_funds.as_deref());
    check_money(&mut e, "actual_funds", input.actual_funds.as_deref());
    e.require_text("self_assessment", input.self_assessment.as_deref());
    if let Some(problem) = facts.attachments.after_photo_problem() {
        e.add("after_photo", problem);
    }
    if facts.suspension != Suspension::None {
        e.require_text("resume_request", input.resume_request.as_deref());
        if !facts.attachments.assessment_report {
            e.add(
                "assessment_report",
                "an assessment report is required to resume after a suspension",
            );
        }
    }
    e.finish()?;
    let mut out = Outcome::to(Status::PendingAcceptance);
    out.completed_on = input.completed_on;
    out.extension_lapsed = facts.pending_extension.is_some();
    out.acceptance_due_on = Some(today + Days::new(policy.acceptance_due_days.max(0) as u64));
    if let (Some(done), Some(deadline)) = (input.completed_on, facts.effective_deadline)
        && done > deadline
    {
        // Late completion owes the assigning body a written explanation (L10).
        out.warnings.push("completed_after_deadline".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::domain::calendar::tests::cal;

    fn p() -> Policy {
        Policy::default()
    }

    #[test]
    fn overdue_explanation_is_owed_and_complete() {
        let mut f = facts(Status::InRectification, Level::General);
        let a = actor(Role::EnterpriseReporter);
        let full = OverdueExplanationInput {
            reason: Some("备件到货延迟".into()),
            measures: Some("停用设备，每日巡检".into()),
            expected_completion_on: Some(today()),
        };
        let err = explain_overdue(&f, &a, &full, today(), &p()).unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("explanation_not_owed", 409)
        );
        f.explanation_owed_on = Some(d("2023-10-08"));
        assert!(explain_overdue(&f, &a, &full, today(), &p()).is_ok());
        let err = explain_overdue(&f, &a, &OverdueExplanationInput::default(), today(), &p())
            .unwrap_err();
        assert_eq!(fields(&err), ["reason", "measures"]);
        let past = OverdueExplanationInput {
            expected_completion_on: Some(d("2023-10-08")),
            ..full.clone()
        };
        let err = explain_overdue(&f, &a, &past, today(), &p()).unwrap_err();
        assert_eq!(fields(&err), ["expected_completion_on"]);
        // Work reported complete (late) has no expected completion any more.
        f.status = Status::PendingAcceptance;
        let err = explain_overdue(&f, &a, &full, today(), &p()).unwrap_err();
        assert_eq!(fields(&err), ["expected_completion_on"]);
        let done = OverdueExplanationInput {
            expected_completion_on: None,
            ..full
        };
        assert!(explain_overdue(&f, &a, &done, today(), &p()).is_ok());
        let err =
            explain_overdue(&f, &actor(Role::StreetOfficer), &done, today(), &p()).unwrap_err();
        assert_eq!(err.http_status(), 403);
    }

    #[test]
    fn major_start_needs_acknowledged_plan() {
        let mut f = facts(Status::OnLedger, Level::Major);
        f.plan_acknowledged = false;
        let a = actor(Role::EnterprisePrincipal);
        let err = start(&f, &a, &StartInput::default(), today(), &p()).unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("plan_not_acknowledged", 409)
        );
        match &err {
            DomainError::InvalidState { current, .. } => assert_eq!(current, "on_ledger"),
            other => panic!("{other:?}"),
        }
        let mut g = facts(Status::OnLedger, Level::General);
        g.plan_filed = false;
        g.plan_acknowledged = false;
        let out = start(&g, &a, &StartInput::default(), today(), &p()).unwrap();
        assert_eq!(out.status, Status::InRectification);
    }

    #[test]
    fn progress_fields() {
        let f = facts(Status::InRectification, Level::General);
        let a = actor(Role::EnterpriseReporter);
        let err = record_progress(&f, &a, &ProgressInput::default(), today(), &p()).unwrap_err();
        assert_eq!(fields(&err), ["note", "percent"]);
        let bad = ProgressInput {
            note: Some("更换接地线".into()),
            percent: Some(101),
            spent_funds: Some("-1".into()),
        };
        assert_eq!(
            fields(&record_progress(&f, &a, &bad, today(), &p()).unwrap_err()),
            ["percent", "spent_funds"]
        );
        for pct in [0, 100] {
            let ok = ProgressInput {
                note: Some("x".into()),
                percent: Some(pct),
                spent_funds: Some("0.5".into()),
            };
            let out = record_progress(&f, &a, &ok, today(), &p()).unwrap();
            assert_eq!(out.status, Status::InRectification);
        }
    }

    fn ext_input(requested: &str) -> ExtensionRequestInput {
        ExtensionRequestInput {
            reason: Some("设备到货延迟".into()),
            interim_measures: Some("停用该区域并设置警戒".into()),
            requested_deadline: Some(d(requested)),
        }
    }

    #[test]
    fn extension_request_window_and_fields() {
        let c = cal();
        let a = actor(Role::EnterprisePrincipal);
        let mut f = facts(Status::InRectification, Level::Major);
        // Effective deadline Friday 2023-11-24; the window opens Monday 2023-11-06, the 15th
        // working day back (not the weekend before it).
        f.effective_deadline = Some(d("2023-11-24"));
        let req = ext_input("2023-12-29");
        for early in ["2023-11-03", "2023-11-04", "2023-11-05"] {
            let err = request_extension(&f, &a, &req, &c, d(early), &p()).unwrap_err();
            assert_eq!(
                (err.code(), err.http_status()),
                ("extension_window_not_open", 409)
            );
        }
        let out = request_extension(&f, &a, &req, &c, d("2023-11-06"), &p()).unwrap();
        assert_eq!(out.extension_requested, Some(d("2023-12-29")));
        assert!(request_extension(&f, &a, &req, &c, d("2023-11-24"), &p()).is_ok());
        let err = request_extension(&f, &a, &req, &c, d("2023-11-25"), &p()).unwrap_err();
        assert_eq!(err.code(), "extension_window_closed");

        let err = request_extension(
            &f,
            &a,
            &ExtensionRequestInput::default(),
            &c,
            d("2023-11-20"),
            &p(),
        )
        .unwrap_err();
        assert_eq!(
            fields(&err),
            ["reason", "interim_measures", "requested_deadline"]
        );
        let same = ext_input("2023-11-24");
        let err = request_extension(&f, &a, &same, &c, d("2023-11-20"), &p()).unwrap_err();
        assert_eq!(fields(&err), ["requested_deadline"]);
    }

    #[test]
    fn extension_window_is_configurable() {
        let c = cal();
        let a = actor(Role::EnterprisePrincipal);
        let mut f = facts(Status::InRectification, Level::General);
        f.effective_deadline = Some(d("2023-11-24"));
        let wide = Policy {
            extension_window_workdays: 30,
            ..p()
        };
        let req = ext_input("2023-12-29");
        assert!(request_extension(&f, &a, &req, &c, d("2023-11-03"), &wide).is_ok());
    }

    #[test]
    fn one_pending_extension_at_a_time() {
        let mut f = facts(Status::InRectification, Level::General);
        f.pending_extension = Some(d("2023-11-30"));
        let err = request_extension(
            &f,
            &actor(Role::EnterprisePrincipal),
            &ext_input("2023-12-29"),
            &cal(),
            today(),
            &p(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "extension_pending");
        f.pending_extension = None;
        f.effective_deadline = None;
        let err = request_extension(
            &f,
            &actor(Role::EnterprisePrincipal),
            &ext_input("2023-12-29"),
            &cal(),
            today(),
            &p(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "deadline_missing");
    }

    #[test]
    fn decision_moves_the_effective_deadline_only_when_approved() {
        let mut f = facts(Status::InRectification, Level::Major);
        let a = actor(Role::DepartmentInspector);
        let yes = ExtensionDecisionInput {
            approved: Some(true),
            opinion: Some("同意延期至2023-11-30".into()),
            deadline: None,
        };
        let err = decide_extension(&f, &a, &yes, today(), &p()).unwrap_err();
        assert_eq!(err.code(), "no_pending_extension");
        f.pending_extension = Some(d("2023-11-30"));
        let out = decide_extension(&f, &a, &yes, today(), &p()).unwrap();
        assert_eq!(out.extension_approved, Some(true));
        assert_eq!(out.effective_deadline, Some(d("2023-11-30")));
        assert_eq!(out.deadline, None, "the original deadline is kept");
        let no = ExtensionDecisionInput {
            approved: Some(false),
            opinion: Some("理由不充分".into()),
            deadline: None,
        };
        let out = decide_extension(&f, &a, &no, today(), &p()).unwrap();
        assert_eq!(
            (out.extension_approved, out.effective_deadline),
            (Some(false), None)
        );
        let err = decide_extension(&f, &a, &ExtensionDecisionInput::default(), today(), &p())
            .unwrap_err();
        assert_eq!(fields(&err), ["approved", "opinion"]);
        // Decided after the requested date: it can only be refused.
        let later = d("2023-12-01");
        let err = decide_extension(&f, &a, &yes, later, &p()).unwrap_err();
        assert_eq!(fields(&err), ["approved"]);
        assert!(decide_extension(&f, &a, &no, later, &p()).is_ok());
        assert!(decide_extension(&f, &a, &yes, d("2023-11-30"), &p()).is_ok());
    }

    #[test]
    fn an_approval_may_grant_less_than_was_asked() {
        // Effective deadline 2023-10-20, asked for 2023-11-30, decided on 2023-10-09.
        let mut f = facts(Status::InRectification, Level::Major);
        f.pending_extension = Some(d("2023-11-30"));
        let a = actor(Role::DepartmentInspector);
        let granting = |deadline: &str| ExtensionDecisionInput {
            approved: Some(true),
            opinion: Some("同意延期一个月".into()),
            deadline: Some(d(deadline)),
        };
        let out = decide_extension(&f, &a, &granting("2023-11-15"), today(), &p()).unwrap();
        assert_eq!(out.effective_deadline, Some(d("2023-11-15")));
        assert_eq!(out.extension_approved, Some(true));
        // The requested date itself is the most that can be granted.
        let out = decide_extension(&f, &a, &granting("2023-11-30"), today(), &p()).unwrap();
        assert_eq!(out.effective_deadline, Some(d("2023-11-30")));
        for wrong in ["2023-12-01", "2023-10-20", "2023-10-01"] {
            let err = decide_extension(&f, &a, &granting(wrong), today(), &p()).unwrap_err();
            assert_eq!(fields(&err), ["deadline"], "{wrong}");
        }
        // Not in the past, though after the effective deadline (decided late, asked for later).
        let err =
            decide_extension(&f, &a, &granting("2023-10-25"), d("2023-10-26"), &p()).unwrap_err();
        assert_eq!(fields(&err), ["deadline"]);
        assert!(decide_extension(&f, &a, &granting("2023-10-26"), d("2023-10-26"), &p()).is_ok());
        // A refusal grants nothing.
        let refusal = ExtensionDecisionInput {
            approved: Some(false),
            ..granting("2023-11-15")
        };
        let err = decide_extension(&f, &a, &refusal, today(), &p()).unwrap_err();
        assert_eq!(fields(&err), ["deadline"]);
    }

    #[test]
    fn listed_hazard_extension_is_decided_by_the_district_office() {
        let mut f = facts(Status::InRectification, Level::Major);
        f.listed = true;
        f.pending_extension = Some(d("2023-11-30"));
        let input = ExtensionDecisionInput {
            approved: Some(true),
            opinion: Some("同意".into()),
            deadline: None,
        };
        let err = decide_extension(&f, &actor(Role::DepartmentInspector), &input, today(), &p())
            .unwrap_err();
        assert_eq!(err.code(), "role_forbidden");
        assert!(err.to_string().contains("the district office"), "{err}");
        assert!(decide_extension(&f, &actor(Role::DistrictOffice), &input, today(), &p()).is_ok());
        f.listed = false;
        let err =
            decide_extension(&f, &actor(Role::DistrictOffice), &input, today(), &p()).unwrap_err();
        assert_eq!(err.code(), "role_forbidden");
        assert!(err.to_string().contains("primary department"), "{err}");
    }

    #[test]
    fn a_completion_after_a_failed_check_is_dated_on_or_after_it() {
        let mut f = facts(Status::InRectification, Level::General);
        f.failed_acceptance_on = Some(d("2023-10-09"));
        let a = actor(Role::EnterpriseReporter);
        let mut early = completion();
        early.completed_on = Some(d("2023-10-08"));
        assert_eq!(
            fields(&complete(&f, &a, &early, today(), &p()).unwrap_err()),
            ["completed_on"]
        );
        // The same day as the failed check: fixed after the inspector left.
        assert!(complete(&f, &a, &completion(), today(), &p()).is_ok());
    }

    #[test]
    fn a_completion_is_not_dated_before_the_record_says_the_work_went_on() {
        // Discovered on the 8th; today the 9th.
        let a = actor(Role::EnterpriseReporter);
        let mut early = completion();
        early.completed_on = Some(d("2023-10-08"));
        // A 一般 hazard started in the ledger on the 9th, by its deadline: fixed at once, on
        // the 8th, before it was posted — its real date stands.
        let mut f = facts(Status::InRectification, Level::General);
        f.started_on = Some(d("2023-10-09"));
        f.deadline = Some(d("2023-10-09"));
        assert!(complete(&f, &a, &early, today(), &p()).is_ok());
        // Started only after its deadline (the 8th): not finished on the 8th.
        f.deadline = Some(d("2023-10-08"));
        f.effective_deadline = Some(d("2023-10-31")); // extended: the original counts
        let err = complete(&f, &a, &early, today(), &p()).unwrap_err();
        assert_eq!(fields(&err), ["completed_on"]);
        assert!(
            format!("{err:?}").contains("rectification on 2023-10-09"),
            "{err:?}"
        );
        // A 重大 hazard's work begins once its plan is acknowledged (T7).
        let mut major = facts(Status::InRectification, Level::Major);
        major.started_on = Some(d("2023-10-09"));
        major.effective_deadline = Some(d("2023-10-31"));
        let principal = actor(Role::EnterprisePrincipal);
        let err = complete(&major, &principal, &early, today(), &p()).unwrap_err();
        assert_eq!(fields(&err), ["completed_on"]);
        // Its own progress update (60 %) or written explanation on the 9th: not before the 9th.
        f.started_on = None;
        f.reported_unfinished_on = Some(d("2023-10-09"));
        let err = complete(&f, &a, &early, today(), &p()).unwrap_err();
        assert!(
            format!("{err:?}").contains("under way on 2023-10-09"),
            "{err:?}"
        );
        assert!(complete(&f, &a, &completion(), today(), &p()).is_ok());
    }

    #[test]
    fn a_copied_department_neither_decides_extensions_nor_acknowledges_plans() {
        let mut f = facts(Status::InRectification, Level::Major);
        f.primary_department = "JGW".into();
        f.pending_extension = Some(d("2023-11-30"));
        let input = ExtensionDecisionInput {
            approved: Some(false),
            opinion: Some("不同意".into()),
            deadline: None,
        };
        let copied = actor(Role::DepartmentInspector).in_department("YJJ");
        let err = decide_extension(&f, &copied, &input, today(), &p()).unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("not_primary_department", 403)
        );
        let primary = actor(Role::DepartmentInspector).in_department("JGW");
        assert!(decide_extension(&f, &primary, &input, today(), &p()).is_ok());

        let mut filed = facts(Status::OnLedger, Level::Major);
        filed.primary_department = "JGW".into();
        filed.plan_filed = true;
        filed.plan_acknowledged = false;
        let ack = super::super::plan::AcknowledgePlanInput::default();
        let err =
            super::super::plan::acknowledge_plan(&filed, &copied, &ack, today(), &p()).unwrap_err();
        assert_eq!(err.code(), "not_primary_department");
        assert!(
            super::super::plan::acknowledge_plan(&filed, &primary, &ack, today(), &p()).is_ok()
        );
    }

    fn completion() -> CompletionInput {
        CompletionInput {
            completed_on: Some(d("2023-10-09")),
            summary: Some("更换接地线".into()),
            actual_funds: Some("1.2".into()),
            self_assessment: Some("已消除".into()),
            resume_request: None,
        }
    }

    #[test]
    fn completion_fields_and_effects() {
        let f = facts(Status::InRectification, Level::Major);
        let a = actor(Role::EnterprisePrincipal);
        let out = complete(&f, &a, &completion(), today(), &p()).unwrap();
        assert_eq!(out.status, Status::PendingAcceptance);
        assert_eq!(out.completed_on, Some(d("2023-10-09")));
        assert_eq!(out.acceptance_due_on, Some(d("2023-10-19")));
        assert!(out.warnings.is_empty());

        let err = complete(&f, &a, &CompletionInput::default(), today(), &p()).unwrap_err();
        assert_eq!(
            fields(&err),
            ["completed_on", "summary", "actual_funds", "self_assessment"]
        );
        let mut bad = completion();
        bad.completed_on = Some(d("2023-10-10"));
        bad.actual_funds = Some("1e3".into());
        assert_eq!(
            fields(&complete(&f, &a, &bad, today(), &p()).unwrap_err()),
            ["completed_on", "actual_funds"]
        );
        bad.completed_on = Some(d("2023-10-07"));
        bad.actual_funds = Some("3".into());
        assert_eq!(
            fields(&complete(&f, &a, &bad, today(), &p()).unwrap_err()),
            ["completed_on"]
        );
    }

    #[test]
    fn a_pending_extension_lapses_with_the_completion() {
        let mut f = facts(Status::InRectification, Level::Major);
        let a = actor(Role::EnterprisePrincipal);
        let out = complete(&f, &a, &completion(), today(), &p()).unwrap();
        assert!(!out.extension_lapsed);
        f.pending_extension = Some(d("2023-11-30"));
        let out = complete(&f, &a, &completion(), today(), &p()).unwrap();
        assert!(out.extension_lapsed);
        f.apply(&out);
        assert_eq!(f.pending_extension, None);
    }

    #[test]
    fn suspended_completion_needs_resume_request_and_assessment() {
        let mut f = facts(Status::InRectification, Level::Major);
        f.suspension = Suspension::Partial;
        f.attachments.assessment_report = false;
        f.attachments.after_photo = false;
        let a = actor(Role::EnterprisePrincipal);
        let err = complete(&f, &a, &completion(), today(), &p()).unwrap_err();
        assert_eq!(
            fields(&err),
            ["after_photo", "resume_request", "assessment_report"]
        );
        f.attachments.assessment_report = true;
        f.attachments.after_photo = true;
        let mut input = completion();
        input.resume_request = Some("申请恢复生产".into());
        assert!(complete(&f, &a, &input, today(), &p()).is_ok());
    }

    #[test]
    fn late_completion_is_flagged() {
        let mut f = facts(Status::InRectification, Level::General);
        f.effective_deadline = Some(d("2023-10-08"));
        let out = complete(
            &f,
            &actor(Role::EnterpriseReporter),
            &completion(),
            today(),
            &p(),
        )
        .unwrap();
        assert_eq!(out.warnings, ["completed_after_deadline"]);
    }
}
