//! The hazard state machine: who may do what, from which status, with which fields.
//!
//! Every action is a pure function `(facts, actor, input, today, policy) -> Result<Outcome>`
//! (an extension request also takes the working-day calendar). The caller loads the facts,
//! calls the function, and persists the [`Outcome`] with its ledger entry.
//!
//! # Order of checks
//! 1. `hazard_frozen` (409): closed and void hazards refuse everything, whoever asks.
//! 2. Role and identity (403): `role_forbidden`, or the action's specific code
//!    (`direct_report_required`, `level_upgrade_forbidden`, `level_downgrade_forbidden`,
//!    `verifier_is_reporter`).
//! 3. Status (409 `invalid_state`, with the current status), then stored preconditions (409:
//!    `plan_not_acknowledged`, `extension_pending`, `extension_window_closed`, …).
//! 4. Input fields (422 `validation_failed`), every problem listed at once.
//! 5. Preconditions that depend on the validated input (409 `congress_report_missing` when a
//!    重大 hazard passes acceptance without the completion congress report).
//!
//! # Transitions
//! | action | function | from | who |
//! |---|---|---|---|
//! | T1 create | [`create`] | — | enterprise users, street officer, department inspector |
//! | edit | [`edit`] | draft, returned | same |
//! | T2 submit | [`submit`] | draft, returned | 一般: enterprise users; 重大: principal, or safety officer with `direct_report` |
//! | T3 return | [`return_hazard`] | submitted | street officer, department inspector |
//! | T4 post | [`post`] | submitted | 一般: street officer; any: department inspector |
//! | T5 void | [`void`] | submitted, returned, on_ledger, in_rectification | department inspector; street officer for 一般 |
//! | plan | [`file_plan`] / [`acknowledge_plan`] | before rectification | principal / department inspector |
//! | T6 list | [`list_hazard`] | on_ledger, in_rectification (重大) | district office |
//! | T7 start | [`start`] | on_ledger | principal |
//! | T8 progress | [`record_progress`] | on_ledger, in_rectification | enterprise users |
//! | T9 extension | [`request_extension`] / [`decide_extension`] | on_ledger, in_rectification (+ pending_acceptance to decide) | principal / department inspector, district office when listed |
//! | T10 completion | [`complete`] | in_rectification | 一般: enterprise users; 重大: principal |
//! | T11/T12 acceptance | [`accept`] | pending_acceptance | 一般: street officer; 重大: department inspector; never the reporter |
//! | T13 即查即改 | [`quick_fix`] | draft, submitted (一般) | enterprise users |
//! | 双报告 | [`record_congress_report`], [`record_employee_notice`] | open | enterprise users |

mod acceptance;
mod codes;
mod draft;
mod dual_report;
mod facts;
mod guard;
mod listing;
mod permitted;
mod plan;
mod rectification;
mod review;

#[cfg(test)]
pub(crate) mod fixtures;

pub use acceptance::{AcceptanceInput, QuickFixInput, accept, quick_fix};
pub use codes::{
    AcceptanceResult, Action, CATEGORIES, CongressBody, CongressStage, Handling, Level,
    ListingLevel, Role, SOURCES, Status, Suspension, VoidReason, category_name, source_name,
};
pub use draft::{
    DraftInput, SubmitInput, TIP_SOURCE, TITLE_MAX_CHARS, create, edit, guard_create,
    remove_attachment, submit,
};
pub use dual_report::{
    COMPLIANCE_FLAGS, CongressReportInput, EmployeeNoticeInput, MajorReportInput,
    WORKERS_CONGRESS_HEADCOUNT, compliance_flags, expected_body, file_major_report,
    record_congress_report, record_employee_notice,
};
pub use facts::{
    Actor, AttachmentFacts, CongressRule, HazardContent, HazardFacts, JudgementBasis, Outcome,
    Plan, Policy,
};
pub use listing::{ListingInput, list_hazard};
pub use permitted::{permitted_actions, permitted_actions_for};
pub use plan::{
    AcknowledgePlanInput, FiveImplementations, acknowledge_plan, file_plan, five_implementations,
};
pub use rectification::{
    CompletionInput, ExtensionDecisionInput, ExtensionRequestInput, OverdueExplanationInput,
    ProgressInput, StartInput, complete, decide_extension, explain_overdue, extension_window_open,
    record_progress, request_extension, start,
};
pub use review::{PostInput, ReturnInput, VoidInput, post, return_hazard, void};

#[cfg(test)]
mod tests {
    use super::fixtures::{d, full_plan};
    use super::*;
    use crate::domain::calendar::tests::cal;

    /// A 重大 hazard from the principal's draft to 销账, with both halves of the 双报告.
    #[test]
    fn major_hazard_story() {
        let p = Policy::default();
        let principal = Actor::new("u-principal", Role::EnterprisePrincipal);
        let dept = Actor::new("u-yjj", Role::DepartmentInspector).in_department("YJJ");

        let mut content = super::fixtures::facts(Status::Draft, Level::Major).content;
        content.plan = None;
        content.plan_due_on = Some(d("2023-10-15"));
        let draft = DraftInput {
            level: Some(Level::Major),
            handling: Handling::Suspension,
            suspension: Suspension::Partial,
            content,
        };
        let today = d("2023-10-08");
        create(&principal, &draft, today, &p).unwrap();
        let mut h = HazardFacts {
            level: Level::Major,
            handling: Handling::Suspension,
            suspension: Suspension::Partial,
            reporter_id: principal.user_id.clone(),
            content: draft.content.clone(),
            enterprise_headcount: Some(230),
            attachments: AttachmentFacts {
                before_photo: true,
                ..AttachmentFacts::default()
            },
            ..HazardFacts::default()
        };

        let out = submit(&h, &principal, &SubmitInput::default(), today, &p).unwrap();
        assert!(out.record_regulator_report && out.plan_filed.is_none());
        h.apply(&out);
        h.submitted_on = Some(today);

        let report = CongressReportInput {
            stage: Some(CongressStage::Discovery),
            body: Some(CongressBody::WorkersCongress),
            meeting_on: Some(d("2023-10-09")),
            summary: Some("通报隐患及临时措施".into()),
            follow_up_on: None,
            ..Default::default()
        };
        record_congress_report(&h, &principal, &report, d("2023-10-09"), &p).unwrap();
        h.has_discovery_congress_report = true;

        let post_in = PostInput {
            deadline: Some(d("2023-11-24")),
            ..PostInput::default()
        };
        let out = post(&h, &dept, &post_in, d("2023-10-09"), &p).unwrap();
        assert!(out.assign_ledger_no);
        h.apply(&out);
        assert_eq!(h.status, Status::OnLedger);

        let err = start(&h, &principal, &StartInput::default(), d("2023-10-10"), &p).unwrap_err();
        assert_eq!(err.code(), "plan_not_acknowledged");
        h.apply(&file_plan(&h, &principal, &full_plan(), d("2023-10-12"), &p).unwrap());
        let ack = AcknowledgePlanInput::default();
        h.apply(&acknowledge_plan(&h, &dept, &ack, d("2023-10-13"), &p).unwrap());
        h.apply(&start(&h, &principal, &StartInput::default(), d("2023-10-16"), &p).unwrap());
        assert_eq!(h.status, Status::InRectification);

        let ext = ExtensionRequestInput {
            reason: Some("需政府协调管线迁改".into()),
            interim_measures: Some("停用该管段, 每日巡检".into()),
            requested_deadline: Some(d("2023-12-29")),
        };
        let err = request_extension(&h, &principal, &ext, &cal(), d("2023-11-03"), &p).unwrap_err();
        assert_eq!(err.code(), "extension_window_not_open");
        h.apply(&request_extension(&h, &principal, &ext, &cal(), d("2023-11-06"), &p).unwrap());
        let yes = ExtensionDecisionInput {
            approved: Some(true),
            opinion: Some("同意延期至2023-12-29".into()),
            deadline: None,
        };
        h.apply(&decide_extension(&h, &dept, &yes, d("2023-11-07"), &p).unwrap());
        assert_eq!(
            (h.deadline, h.effective_deadline, h.pending_extension),
            (Some(d("2023-11-24")), Some(d("2023-12-29")), None)
        );

        h.attachments.after_photo = true;
        h.attachments.assessment_report = true;
        let done = CompletionInput {
            completed_on: Some(d("2023-12-20")),
            summary: Some("更换管段, 加装报警".into()),
            actual_funds: Some("11.8".into()),
            self_assessment: Some("隐患已消除".into()),
            resume_request: Some("申请恢复该车间生产".into()),
        };
        h.apply(&complete(&h, &principal, &done, d("2023-12-20"), &p).unwrap());
        let fail = AcceptanceInput {
            result: Some(AcceptanceResult::Fail),
            opinion: Some("报警器未联动".into()),
            accepted_on: Some(d("2023-12-22")),
            ..AcceptanceInput::default()
        };
        h.apply(&accept(&h, &dept, &fail, d("2023-12-22"), &p).unwrap());
        assert_eq!((h.status, h.completed_on), (Status::InRectification, None));

        let again = CompletionInput {
            completed_on: Some(d("2023-12-27")),
            ..done
        };
        h.apply(&complete(&h, &principal, &again, d("2023-12-27"), &p).unwrap());
        h.attachments.acceptance_photo = true;
        let pass = AcceptanceInput {
            result: Some(AcceptanceResult::Pass),
            opinion: Some("经查该隐患已完成整改，整改情况属实".into()),
            accepted_on: Some(d("2023-12-28")),
            resume_approved: Some(true),
            cosigned_by: None,
            deficiencies: None,
            deadline: None,
        };
        let err = accept(&h, &dept, &pass, d("2023-12-28"), &p).unwrap_err();
        assert_eq!(err.code(), "congress_report_missing");
        let completion_report = CongressReportInput {
            stage: Some(CongressStage::Completion),
            meeting_on: Some(d("2023-12-28")),
            ..report
        };
        record_congress_report(&h, &principal, &completion_report, d("2023-12-28"), &p).unwrap();
        h.has_completion_congress_report = true;
        let out = accept(&h, &dept, &pass, d("2023-12-28"), &p).unwrap();
        assert_eq!(out.cancel_date, Some(d("2023-12-28")));
        h.apply(&out);
        assert_eq!(h.status, Status::Closed);
        // Finished after the original deadline: 超期整改 in statistics despite the extension.
        assert!(crate::domain::deadline::late_rectification(
            h.deadline.unwrap(),
            h.completed_on,
            d("2024-01-05")
        ));

        let err = record_progress(
            &h,
            &principal,
            &ProgressInput::default(),
            d("2024-01-02"),
            &p,
        )
        .unwrap_err();
        assert_eq!((err.code(), err.http_status()), ("hazard_frozen", 409));
        assert!(permitted_actions(&h, Role::DepartmentInspector).is_empty());
    }
}
