//! T11/T12 acceptance (验收: pass closes, fail returns to rectification) and T13 即查即改.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::codes::{AcceptanceResult, Action, Level, Role, Status, Suspension};
use super::draft::require_general_report;
use super::facts::{Actor, CongressRule, HazardFacts, Outcome, Policy};
use super::guard::{gate, not_frozen, primary_department_only, role_may, state_error, status_in};
use super::rectification::{check_completed_on, check_money};
use crate::domain::{DomainError, FieldErrors};

/// Body of acceptance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcceptanceInput {
    /// 合格 / 不合格.
    pub result: Option<AcceptanceResult>,
    /// The verifier's opinion (required to pass).
    pub opinion: Option<String>,
    /// T12: what is still wrong (required to fail; an opinion alone is taken for it).
    pub deficiencies: Option<String>,
    /// Date of the check.
    pub accepted_on: Option<NaiveDate>,
    /// Production may resume (required to pass a suspended hazard).
    pub resume_approved: Option<bool>,
    /// User id of the co-signing street officer (重大, when the policy asks for it).
    pub cosigned_by: Option<String>,
    /// T12: the new deadline of a rectification that was completed in time but whose deadline
    /// passed before it failed the check (a 即查即改 always: its deadline is the day it was
    /// found). Becomes the effective deadline; the original stays for statistics.
    pub deadline: Option<NaiveDate>,
}

/// Body of 即查即改.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QuickFixInput {
    /// Completion date; today when absent. Must be the discovery date.
    pub completed_on: Option<NaiveDate>,
    /// What was done.
    pub summary: Option<String>,
    /// Money spent in 万元, exact decimal text.
    pub actual_funds: Option<String>,
}

/// Who verifies: the street for 一般, the department for 重大.
fn verifier_role(level: Level) -> Role {
    match level {
        Level::General => Role::StreetOfficer,
        Level::Major => Role::DepartmentInspector,
    }
}

/// Role, then (when the actor is given) the primary department and identity
/// (`verifier_is_reporter`), then status.
pub(super) fn guard_accept(
    facts: &HazardFacts,
    role: Role,
    actor: Option<&Actor>,
) -> Result<(), DomainError> {
    not_frozen(facts)?;
    role_may(
        role == verifier_role(facts.level),
        role,
        Action::Accept,
        facts.level,
    )?;
    primary_department_only(facts, actor, Action::Accept)?;
    if actor.is_some_and(|a| facts.is_reporter(&a.user_id)) {
        return Err(DomainError::Forbidden {
            code: "verifier_is_reporter",
            message: "the person who reported a hazard may not accept it".into(),
        });
    }
    status_in(facts, Action::Accept, &[Status::PendingAcceptance])
}

/// T11 pass → closed, T12 fail → in_rectification; street officer (一般) or department inspector (重大), never the reporter.
pub fn accept(
    facts: &HazardFacts,
    actor: &Actor,
    input: &AcceptanceInput,
    today: NaiveDate,
    policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_accept(facts, actor.role, Some(actor))?;
    let mut e = FieldErrors::new();
    let result = e.require("result", input.result);
    let blank = |t: &Option<String>| t.as_deref().is_none_or(|o| o.trim().is_empty());
    if result == Some(AcceptanceResult::Fail) {
        if blank(&input.deficiencies) && blank(&input.opinion) {
            e.add("deficiencies", "required: list what is still wrong");
        }
    } else if blank(&input.opinion) {
        e.add("opinion", "required");
    }
    if let Some(on) = e.require("accepted_on", input.accepted_on) {
        if on > today {
            e.add("accepted_on", "must not be in the future");
        } else if facts.completed_on.is_some_and(|done| on < done) {
            e.add("accepted_on", "must not be before completed_on");
        } else if let Some(posted) = facts.posted_on.filter(|p| on < *p) {
            e.add(
                "accepted_on",
                format!("must not be before the posting (上账) on {posted}"),
            );
        }
    }
    // A rectification completed in time and found unfinished after its deadline gets a new
    // one: without it the hazard would be overdue, and escalated, the moment the check fails.
    let in_time_but_passed = facts
        .effective_deadline
        .is_some_and(|d| d < today && facts.completed_on.is_some_and(|done| done <= d));
    match (result, input.deadline) {
        (Some(AcceptanceResult::Fail), None) if in_time_but_passed => e.add(
            "deadline",
            "required: the work was completed in time but the deadline has passed; give the new deadline",
        ),
        (Some(AcceptanceResult::Fail), Some(_)) if !in_time_but_passed => e.add(
            "deadline",
            "only when the work was completed in time and the deadline has passed since (a late rectification stays overdue: 继续挂账)",
        ),
        (Some(AcceptanceResult::Fail), Some(d)) if d < today => {
            e.add("deadline", "must not be in the past");
        }
        (Some(AcceptanceResult::Pass), Some(_)) => {
            e.add("deadline", "only with result fail");
        }
        _ => {}
    }
    if result == Some(AcceptanceResult::Pass) {
        if facts.suspension != Suspension::None && input.resume_approved != Some(true) {
            e.add(
                "resume_approved",
                "resumption must be approved to pass a suspended hazard",
            );
        }
        if facts.level == Level::Major && policy.require_street_cosign {
            match input.cosigned_by.as_deref().map(str::trim) {
                None | Some("") => e.add("cosigned_by", "required: a street officer co-signs"),
                Some(c) if facts.is_reporter(c) || c == actor.user_id => e.add(
                    "cosigned_by",
                    "must be another person than reporter and verifier",
                ),
                Some(_) => {}
            }
        }
    }
    e.finish()?;
    match result {
        Some(AcceptanceResult::Pass) => {
            let mut out = Outcome::to(Status::Closed);
            // The regulator half first: a hazard raised to 重大 at posting owes its report (L7)
            // until `major-report` is filed; a closed record could never take it.
            if facts.level == Level::Major && !facts.has_regulator_report {
                return Err(state_error(
                    facts,
                    "major_report_missing",
                    "a major hazard closes only after its major hazard report (L7: status and cause, severity and difficulty, plan) was filed: POST /api/v1/hazards/{id}/major-report".into(),
                ));
            }
            // The congress half of the 双报告 must be whole before the record freezes: the
            // completion report, and every report heard only by a joint meeting (联席会议)
            // heard by the congress itself too (L11) — after closing neither could be recorded.
            // DESIGN: at least one report at discovery/plan and one at completion (L1); the
            // discovery-stage one may still be filed late, before closing. Both missing are
            // named in one answer.
            let missing = if facts.level != Level::Major {
                None
            } else if !facts.has_completion_congress_report && !facts.has_discovery_congress_report
            {
                Some((
                    "congress_report_missing",
                    "a major hazard closes only after it was reported to the workers' congress at discovery (stage discovery) and at completion (stage completion): neither is recorded",
                ))
            } else if !facts.has_completion_congress_report {
                Some((
                    "congress_report_missing",
                    "a major hazard closes only after the completion report to the workers' congress (stage completion)",
                ))
            } else if !facts.has_discovery_congress_report {
                Some((
                    "congress_report_missing",
                    "a major hazard closes only after it was also reported to the workers' congress at discovery (stage discovery)",
                ))
            } else if facts.congress_follow_up_due.is_some() {
                Some((
                    "congress_follow_up_pending",
                    "a report heard only by a joint meeting must be heard by the workers' congress (or all-staff meeting) before the hazard closes",
                ))
            } else {
                None
            };
            if let Some((code, message)) = missing {
                match policy.congress_completion_rule {
                    CongressRule::Block => return Err(state_error(facts, code, message.into())),
                    CongressRule::Warn => out.warnings.push(code.into()),
                }
            }
            // DESIGN: an employee notice for every hazard; once closed it cannot be recorded, and
            // the hazard keeps `employee_notice_missing` — the verifier is told.
            if !facts.has_employee_notice {
                out.warnings.push("employee_notice_missing".into());
            }
            // L10: a late or failed item is closed with its written explanation; closed without
            // it, the hazard keeps `overdue_explanation_missing` — the verifier is told.
            if facts.explanation_owed_on.is_some() {
                out.warnings.push("overdue_explanation_missing".into());
            }
            out.cancel_date = input.accepted_on;
            if facts.listed {
                out.listed = Some(false);
            }
            Ok(out)
        }
        _ => {
            let mut out = Outcome::to(Status::InRectification);
            out.clear_completion = true;
            out.effective_deadline = input.deadline;
            // L10: an item that fails its acceptance stays on the ledger (继续挂账) with a written
            // explanation from the enterprise — owed from the check, unless one is owed already.
            if facts.explanation_owed_on.is_none() {
                out.explanation_owed_on = Some(today);
            }
            Ok(out)
        }
    }
}

pub(super) fn guard_quick_fix(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::QuickFix,
        role_may(role.is_enterprise(), role, Action::QuickFix, facts.level),
        &[Status::Draft, Status::Submitted],
    )?;
    if facts.level != Level::General {
        return Err(state_error(
            facts,
            "level_not_general",
            "即查即改 is for general hazards only".into(),
        ));
    }
    Ok(())
}

/// T13 即查即改: a 一般 hazard fixed the day it was found goes from draft/submitted straight to pending_acceptance.
pub fn quick_fix(
    facts: &HazardFacts,
    actor: &Actor,
    input: &QuickFixInput,
    today: NaiveDate,
    policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_quick_fix(facts, actor.role)?;
    let completed_on = input.completed_on.unwrap_or(today);
    let mut e = FieldErrors::new();
    require_general_report(&mut e, &facts.content, today);
    check_completed_on(&mut e, facts, Some(completed_on), today);
    if !e.names("completed_on")
        && facts
            .discovered_on()
            .is_some_and(|found| completed_on != found)
    {
        e.add("completed_on", "must be the day of discovery");
    }
    e.require_text("summary", input.summary.as_deref());
    check_money(&mut e, "actual_funds", input.actual_funds.as_deref());
    if !facts.attachments.before_photo {
        e.add("before_photo", "a photo before rectification is required");
    }
    if let Some(problem) = facts.attachments.after_photo_problem() {
        e.add("after_photo", problem);
    }
    if facts.suspension != Suspension::None {
        e.add(
            "suspension",
            "a suspended hazard cannot be fixed on the spot",
        );
    }
    e.finish()?;
    let mut out = Outcome::to(Status::PendingAcceptance);
    out.assign_ledger_no = true;
    out.deadline = Some(completed_on);
    out.effective_deadline = Some(completed_on);
    out.completed_on = Some(completed_on);
    out.acceptance_due_on = Some(today + Days::new(policy.acceptance_due_days.max(0) as u64));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::permitted::{permitted_actions, permitted_actions_for};
    use super::*;

    fn pass() -> AcceptanceInput {
        AcceptanceInput {
            result: Some(AcceptanceResult::Pass),
            opinion: Some("经查该隐患已完成整改，整改情况属实".into()),
            accepted_on: Some(today()),
            resume_approved: None,
            cosigned_by: None,
            deficiencies: None,
            deadline: None,
        }
    }

    fn fail() -> AcceptanceInput {
        AcceptanceInput {
            result: Some(AcceptanceResult::Fail),
            opinion: None,
            deficiencies: Some("接地电阻不合格".into()),
            ..pass()
        }
    }

    fn dept() -> Actor {
        actor(Role::DepartmentInspector)
    }

    #[test]
    fn pass_closes_and_sets_cancel_date() {
        let mut f = facts(Status::PendingAcceptance, Level::Major);
        f.listed = true;
        let out = accept(&f, &dept(), &pass(), today(), &Policy::default()).unwrap();
        assert_eq!(out.status, Status::Closed);
        assert_eq!(out.cancel_date, Some(today()));
        assert_eq!(out.listed, Some(false), "closing delists");
    }

    #[test]
    fn fail_returns_to_rectification_and_discards_completion() {
        let f = facts(Status::PendingAcceptance, Level::General);
        let out = accept(
            &f,
            &actor(Role::StreetOfficer),
            &fail(),
            today(),
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(out.status, Status::InRectification);
        assert!(out.clear_completion);
        assert_eq!(out.cancel_date, None);
        let street = actor(Role::StreetOfficer);
        let mut nothing_wrong = fail();
        nothing_wrong.deficiencies = Some("  ".into());
        let err = accept(&f, &street, &nothing_wrong, today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["deficiencies"], "T12 needs the deficiencies");
        // An opinion that lists them is taken for them (older clients send only that).
        nothing_wrong.opinion = Some("灭火器压力不足".into());
        assert!(accept(&f, &street, &nothing_wrong, today(), &Policy::default()).is_ok());
    }

    #[test]
    fn a_failed_check_after_an_in_time_completion_gives_a_new_deadline() {
        let street = actor(Role::StreetOfficer);
        let p = Policy::default();
        // Completed 10-08, deadline 10-20: the check on 10-09 is within the deadline.
        let f = facts(Status::PendingAcceptance, Level::General);
        let mut late_date = fail();
        late_date.deadline = Some(d("2023-10-31"));
        let err = accept(&f, &street, &late_date, today(), &p).unwrap_err();
        assert_eq!(fields(&err), ["deadline"], "the deadline still runs");
        // A 即查即改 found unfinished later: completed the day of its deadline, checked after it.
        let mut quick = f.clone();
        quick.deadline = Some(d("2023-10-08"));
        quick.effective_deadline = Some(d("2023-10-08"));
        let err = accept(&quick, &street, &fail(), today(), &p).unwrap_err();
        assert_eq!(fields(&err), ["deadline"], "required");
        let mut past = fail();
        past.deadline = Some(d("2023-10-08"));
        let err = accept(&quick, &street, &past, today(), &p).unwrap_err();
        assert_eq!(fields(&err), ["deadline"], "not in the past");
        let out = accept(&quick, &street, &late_date, today(), &p).unwrap();
        assert_eq!(out.effective_deadline, Some(d("2023-10-31")));
        assert_eq!(
            out.deadline, None,
            "the original deadline stays for statistics"
        );
        // A late completion stays overdue (继续挂账): no new deadline for it.
        let mut late = quick.clone();
        late.completed_on = Some(d("2023-10-09"));
        let err = accept(&late, &street, &late_date, today(), &p).unwrap_err();
        assert_eq!(fields(&err), ["deadline"]);
        assert!(accept(&late, &street, &fail(), today(), &p).is_ok());
        // Passing takes no deadline.
        let mut passing = pass();
        passing.deadline = Some(d("2023-10-31"));
        let err = accept(&quick, &street, &passing, today(), &p).unwrap_err();
        assert_eq!(fields(&err), ["deadline"]);
    }

    #[test]
    fn only_the_primary_department_accepts_a_major_hazard() {
        let mut f = facts(Status::PendingAcceptance, Level::Major);
        f.primary_department = "YJJ".into();
        let copied = dept().in_department("XFJY");
        let err = accept(&f, &copied, &pass(), today(), &Policy::default()).unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("not_primary_department", 403)
        );
        assert!(!permitted_actions_for(&f, &copied).contains(&"accept"));
        let primary = dept().in_department("YJJ");
        assert!(accept(&f, &primary, &pass(), today(), &Policy::default()).is_ok());
        assert!(permitted_actions_for(&f, &primary).contains(&"accept"));
        // The role-only list (no department known) still shows it.
        assert!(permitted_actions(&f, Role::DepartmentInspector).contains(&"accept"));
    }

    #[test]
    fn verifier_may_not_be_the_reporter() {
        let mut f = facts(Status::PendingAcceptance, Level::General);
        f.reporter_id = "street_officer".into();
        let err = accept(
            &f,
            &actor(Role::StreetOfficer),
            &pass(),
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("verifier_is_reporter", 403)
        );
        f.reporter_id = "someone".into();
        f.submitted_by = Some("street_officer".into());
        let err = accept(
            &f,
            &actor(Role::StreetOfficer),
            &pass(),
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "verifier_is_reporter");
    }

    #[test]
    fn acceptance_fields() {
        let f = facts(Status::PendingAcceptance, Level::Major);
        let err = accept(
            &f,
            &dept(),
            &AcceptanceInput::default(),
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["result", "opinion", "accepted_on"]);
        let mut early = pass();
        early.accepted_on = Some(d("2023-10-07"));
        let err = accept(&f, &dept(), &early, today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["accepted_on"]);
        let mut future = pass();
        future.accepted_on = today().succ_opt();
        let err = accept(&f, &dept(), &future, today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["accepted_on"]);
        let mut posted_later = f.clone();
        posted_later.posted_on = Some(d("2023-10-09"));
        let mut before_posting = pass();
        before_posting.accepted_on = Some(d("2023-10-08"));
        let err = accept(
            &posted_later,
            &dept(),
            &before_posting,
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["accepted_on"]);
        let mut same_day = pass();
        same_day.accepted_on = f.completed_on;
        assert!(accept(&f, &dept(), &same_day, today(), &Policy::default()).is_ok());
        // Photos of the check are welcome but not required (the acceptance body has none).
        let mut no_photo = f.clone();
        no_photo.attachments.acceptance_photo = false;
        assert!(accept(&no_photo, &dept(), &pass(), today(), &Policy::default()).is_ok());
    }

    #[test]
    fn suspended_hazard_passes_only_with_resume_approval() {
        let mut f = facts(Status::PendingAcceptance, Level::Major);
        f.suspension = Suspension::Full;
        let err = accept(&f, &dept(), &pass(), today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["resume_approved"]);
        let mut denied = pass();
        denied.resume_approved = Some(false);
        assert!(accept(&f, &dept(), &denied, today(), &Policy::default()).is_err());
        let mut approved = pass();
        approved.resume_approved = Some(true);
        assert!(accept(&f, &dept(), &approved, today(), &Policy::default()).is_ok());
        assert!(accept(&f, &dept(), &fail(), today(), &Policy::default()).is_ok());
    }

    #[test]
    fn closing_without_the_employee_notice_warns() {
        let mut g = facts(Status::PendingAcceptance, Level::General);
        let street = actor(Role::StreetOfficer);
        let out = accept(&g, &street, &pass(), today(), &Policy::default()).unwrap();
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        g.has_employee_notice = false;
        let out = accept(&g, &street, &pass(), today(), &Policy::default()).unwrap();
        assert_eq!(out.status, Status::Closed);
        assert_eq!(out.warnings, ["employee_notice_missing"]);
    }

    #[test]
    fn a_failed_check_owes_a_written_explanation() {
        let mut f = facts(Status::PendingAcceptance, Level::Major);
        let out = accept(&f, &dept(), &fail(), today(), &Policy::default()).unwrap();
        assert_eq!(out.explanation_owed_on, Some(today()));
        // One owed already (the first overdue step) keeps its date.
        f.explanation_owed_on = Some(d("2023-10-01"));
        let out = accept(&f, &dept(), &fail(), today(), &Policy::default()).unwrap();
        assert_eq!(out.explanation_owed_on, None);
        let out = accept(&f, &dept(), &pass(), today(), &Policy::default()).unwrap();
        assert_eq!(out.explanation_owed_on, None);
    }

    #[test]
    fn a_major_hazard_without_its_major_report_does_not_close() {
        // Raised to 重大 at posting, the report (L7) never filed.
        let mut f = facts(Status::PendingAcceptance, Level::Major);
        f.has_regulator_report = false;
        for policy in [
            Policy::default(),
            Policy {
                congress_completion_rule: CongressRule::Warn,
                ..Policy::default()
            },
        ] {
            let err = accept(&f, &dept(), &pass(), today(), &policy).unwrap_err();
            assert_eq!(
                (err.code(), err.http_status()),
                ("major_report_missing", 409)
            );
        }
        // A failed check is still recorded; a 一般 hazard owes no such report.
        assert!(accept(&f, &dept(), &fail(), today(), &Policy::default()).is_ok());
        f.has_regulator_report = true;
        assert!(accept(&f, &dept(), &pass(), today(), &Policy::default()).is_ok());
    }

    #[test]
    fn congress_report_block_or_warn() {
        let mut f = facts(Status::PendingAcceptance, Level::Major);
        f.has_completion_congress_report = false;
        let err = accept(&f, &dept(), &pass(), today(), &Policy::default()).unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("congress_report_missing", 409)
        );
        let warn = Policy {
            congress_completion_rule: CongressRule::Warn,
            ..Policy::default()
        };
        let out = accept(&f, &dept(), &pass(), today(), &warn).unwrap();
        assert_eq!(out.status, Status::Closed);
        assert_eq!(out.warnings, ["congress_report_missing"]);
        // Heard at completion by a joint meeting only: the congress must hear it first.
        f.has_completion_congress_report = true;
        f.congress_follow_up_due = Some(today());
        let err = accept(&f, &dept(), &pass(), today(), &Policy::default()).unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("congress_follow_up_pending", 409)
        );
        let out = accept(&f, &dept(), &pass(), today(), &warn).unwrap();
        assert_eq!(out.warnings, ["congress_follow_up_pending"]);
        f.congress_follow_up_due = None;
        assert!(accept(&f, &dept(), &pass(), today(), &Policy::default()).is_ok());
        // DESIGN: one report at discovery/plan and one at completion, both before the freeze.
        f.has_discovery_congress_report = false;
        let err = accept(&f, &dept(), &pass(), today(), &Policy::default()).unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("congress_report_missing", 409)
        );
        assert!(err.to_string().contains("at discovery"), "{err}");
        let out = accept(&f, &dept(), &pass(), today(), &warn).unwrap();
        assert_eq!(out.warnings, ["congress_report_missing"]);
        f.has_discovery_congress_report = true;
        assert!(accept(&f, &dept(), &fail(), today(), &Policy::default()).is_ok());
        let mut g = facts(Status::PendingAcceptance, Level::General);
        g.has_completion_congress_report = false;
        let out = accept(
            &g,
            &actor(Role::StreetOfficer),
            &pass(),
            today(),
            &Policy::default(),
        );
        assert!(
            out.unwrap().warnings.is_empty(),
            "一般 hazards need no congress report"
        );
    }

    #[test]
    fn street_cosign_when_configured() {
        let f = facts(Status::PendingAcceptance, Level::Major);
        let p = Policy {
            require_street_cosign: true,
            ..Policy::default()
        };
        let err = accept(&f, &dept(), &pass(), today(), &p).unwrap_err();
        assert_eq!(fields(&err), ["cosigned_by"]);
        let mut by_reporter = pass();
        by_reporter.cosigned_by = Some(f.reporter_id.clone());
        assert_eq!(
            fields(&accept(&f, &dept(), &by_reporter, today(), &p).unwrap_err()),
            ["cosigned_by"]
        );
        let mut ok = pass();
        ok.cosigned_by = Some("street-7".into());
        assert!(accept(&f, &dept(), &ok, today(), &p).is_ok());
    }

    fn quick() -> QuickFixInput {
        QuickFixInput {
            completed_on: None,
            summary: Some("当场更换灭火器".into()),
            actual_funds: Some("0.02".into()),
        }
    }

    #[test]
    fn quick_fix_same_day() {
        let mut f = facts(Status::Draft, Level::General);
        f.content.discovered_on = Some(today());
        let a = actor(Role::EnterpriseReporter);
        let out = quick_fix(&f, &a, &quick(), today(), &Policy::default()).unwrap();
        assert_eq!(out.status, Status::PendingAcceptance);
        assert!(out.assign_ledger_no);
        assert_eq!(out.completed_on, Some(today()));
        assert_eq!(out.deadline, Some(today()));
        assert_eq!(out.acceptance_due_on, Some(d("2023-10-19")));

        // Discovered yesterday: yesterday's completion is still same-day, today's is not.
        f.content.discovered_on = today().pred_opt();
        let err = quick_fix(&f, &a, &quick(), today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["completed_on"]);
        let mut input = quick();
        input.completed_on = today().pred_opt();
        assert!(quick_fix(&f, &a, &input, today(), &Policy::default()).is_ok());
        // Before the discovery: named once, for the first reason found.
        input.completed_on = Some(d("2023-10-01"));
        let err = quick_fix(&f, &a, &input, today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["completed_on"]);
    }

    #[test]
    fn quick_fix_requirements() {
        let mut f = facts(Status::Submitted, Level::General);
        f.content.discovered_on = Some(today());
        f.content.title = None;
        f.attachments.before_photo = false;
        f.attachments.after_photo = false;
        f.suspension = Suspension::Partial;
        f.handling = crate::domain::hazard::codes::Handling::Suspension;
        let input = QuickFixInput::default();
        let err = quick_fix(
            &f,
            &actor(Role::EnterprisePrincipal),
            &input,
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "title",
                "summary",
                "before_photo",
                "after_photo",
                "suspension"
            ]
        );
        let m = facts(Status::Draft, Level::Major);
        let err = quick_fix(
            &m,
            &actor(Role::EnterpriseReporter),
            &quick(),
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!((err.code(), err.http_status()), ("level_not_general", 409));
        // The before picture uploaded again as the after one does not count.
        let mut same = facts(Status::Submitted, Level::General);
        same.content.discovered_on = Some(today());
        same.attachments.after_same_as_before = true;
        let err = quick_fix(
            &same,
            &actor(Role::EnterpriseReporter),
            &quick(),
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(fields(&err), ["after_photo"]);
    }
}
