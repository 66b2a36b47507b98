//! Test fixtures: a hazard whose stored facts satisfy every precondition, valid inputs for
//! every action, and a dispatcher running any action by name.

use chrono::NaiveDate;

use super::*;
use crate::domain::DomainError;
use crate::domain::calendar::tests::cal;

pub(crate) fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Monday after the 2023 National Day holiday.
pub(crate) fn today() -> NaiveDate {
    d("2023-10-09")
}

/// An actor whose user id is its role name (never the fixture's reporter).
pub(crate) fn actor(role: Role) -> Actor {
    Actor::new(role.as_str(), role)
}

pub(crate) fn full_plan() -> Plan {
    Plan {
        goal: Some("消除液氨管道泄漏隐患".into()),
        methods: Some("更换腐蚀管段并加装泄漏报警".into()),
        funds_materials: Some("12.5万元, 管材与报警器".into()),
        org_people: Some("设备部牵头, 维修班实施".into()),
        timeline: Some("2023-10-20前完成".into()),
        safety_and_emergency: Some("作业期间停用制冷系统, 配备应急器材".into()),
    }
}

/// A hazard in `status` at `level` with complete content and every flag a rule may ask for.
pub(crate) fn facts(status: Status, level: Level) -> HazardFacts {
    HazardFacts {
        status,
        level,
        handling: Handling::TimeLimited,
        suspension: Suspension::None,
        reporter_id: "reporter-1".into(),
        primary_department: "YJJ".into(),
        submitted_by: None,
        submitted_on: Some(d("2023-10-08")),
        content: HazardContent {
            title: Some("液氨管道腐蚀".into()),
            description: Some("制冷车间液氨管道法兰处腐蚀".into()),
            location: Some("2号制冷车间".into()),
            sectors: vec!["ammonia_refrigeration".into()],
            category: Some("B06".into()),
            source: Some(3),
            discovered_on: Some(d("2023-10-08")),
            responsible_person: Some("王五".into()),
            responsible_phone: Some("13812345678".into()),
            proposed_deadline: Some(d("2023-10-20")),
            planned_funds: Some("12.5".into()),
            status_and_cause: Some("管道老化, 未定期检测".into()),
            severity_and_difficulty: Some("泄漏可致中毒, 整改需停机".into()),
            judgement_basis: Some(JudgementBasis {
                standard: Some("工贸企业重大事故隐患判定标准".into()),
                clause: Some("第十一条第(一)项".into()),
            }),
            temporary_measures: Some("设置警戒区, 加强巡检".into()),
            needs_government_coordination: Some(false),
            plan: Some(full_plan()),
            plan_due_on: None,
        },
        deadline: Some(d("2023-10-20")),
        effective_deadline: Some(d("2023-10-20")),
        plan_filed: true,
        plan_acknowledged: true,
        pending_extension: None,
        extension_ids: Vec::new(),
        completed_on: Some(d("2023-10-08")),
        failed_acceptance_on: None,
        started_on: None,
        reported_unfinished_on: None,
        posted_on: None,
        listed: false,
        enterprise_headcount: Some(50),
        has_discovery_congress_report: true,
        has_completion_congress_report: true,
        congress_follow_up_due: None,
        interview_flagged_on: None,
        explanation_owed_on: None,
        filed_by_official: false,
        has_employee_notice: true,
        // Submitted as 重大: the regulator half is on record.
        has_regulator_report: level == Level::Major
            && !matches!(status, Status::Draft | Status::Returned),
        attachments: AttachmentFacts {
            before_photo: true,
            after_photo: true,
            acceptance_photo: true,
            assessment_report: true,
            after_same_as_before: false,
        },
    }
}

/// Sets the stored preconditions that only `action` needs (e.g. a pending extension to decide).
pub(crate) fn prepare(action: Action, mut f: HazardFacts) -> HazardFacts {
    match action {
        Action::AcknowledgePlan => f.plan_acknowledged = false,
        Action::DecideExtension => f.pending_extension = Some(d("2023-11-30")),
        // Raised to 重大 at posting: no report yet.
        Action::MajorReport => f.has_regulator_report = false,
        Action::OverdueExplanation => f.explanation_owed_on = Some(d("2023-10-10")),
        _ => {}
    }
    f
}

/// Field names of a validation error; panics on any other result.
pub(crate) fn fields(err: &DomainError) -> Vec<String> {
    match err {
        DomainError::Validation { code, errors } => {
            assert_eq!(*code, "validation_failed");
            errors.iter().map(|e| e.field.clone()).collect()
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// Runs `action` with a valid input for the fixture hazard.
pub(crate) fn run(action: Action, f: &HazardFacts, a: &Actor) -> Result<Outcome, DomainError> {
    let p = Policy::default();
    let t = today();
    match action {
        Action::Edit => {
            let input = DraftInput {
                level: Some(f.level),
                handling: f.handling,
                suspension: f.suspension,
                content: f.content.clone(),
            };
            edit(f, a, &input, t, &p)
        }
        Action::Submit => submit(
            f,
            a,
            &SubmitInput {
                direct_report: true,
            },
            t,
            &p,
        ),
        Action::Return => {
            let input = ReturnInput {
                reason: Some("判定依据不全".into()),
            };
            return_hazard(f, a, &input, t, &p)
        }
        Action::Post => {
            let input = PostInput {
                deadline: Some(d("2023-10-31")),
                ..PostInput::default()
            };
            post(f, a, &input, t, &p)
        }
        Action::Void => {
            let input = VoidInput {
                reason: Some(VoidReason::Untrue),
                ..VoidInput::default()
            };
            void(f, a, &input, t, &p)
        }
        Action::FilePlan => file_plan(f, a, &full_plan(), t, &p),
        Action::AcknowledgePlan => acknowledge_plan(f, a, &AcknowledgePlanInput::default(), t, &p),
        Action::Start => start(f, a, &StartInput::default(), t, &p),
        Action::Progress => {
            let input = ProgressInput {
                note: Some("已采购管材".into()),
                percent: Some(40),
                spent_funds: Some("3".into()),
            };
            record_progress(f, a, &input, t, &p)
        }
        Action::RequestExtension => {
            let input = ExtensionRequestInput {
                reason: Some("管材到货延迟".into()),
                interim_measures: Some("停用该管段".into()),
                requested_deadline: Some(d("2023-11-30")),
            };
            request_extension(f, a, &input, &cal(), t, &p)
        }
        Action::DecideExtension => {
            let input = ExtensionDecisionInput {
                approved: Some(true),
                opinion: Some("同意".into()),
                deadline: None,
            };
            decide_extension(f, a, &input, t, &p)
        }
        Action::Complete => {
            let input = CompletionInput {
                completed_on: Some(t),
                summary: Some("已更换管段".into()),
                actual_funds: Some("11.8".into()),
                self_assessment: Some("隐患已消除".into()),
                resume_request: None,
            };
            complete(f, a, &input, t, &p)
        }
        Action::Accept => {
            let input = AcceptanceInput {
                result: Some(AcceptanceResult::Pass),
                opinion: Some("经查该隐患已完成整改，整改情况属实".into()),
                accepted_on: Some(t),
                ..AcceptanceInput::default()
            };
            accept(f, a, &input, t, &p)
        }
        Action::QuickFix => {
            let input = QuickFixInput {
                completed_on: f.discovered_on(),
                summary: Some("当场处置".into()),
                actual_funds: None,
            };
            quick_fix(f, a, &input, t, &p)
        }
        Action::CongressReport => {
            let input = CongressReportInput {
                stage: Some(CongressStage::Discovery),
                body: Some(CongressBody::AllStaffMeeting),
                meeting_on: Some(t),
                summary: Some("通报隐患及治理方案".into()),
                follow_up_on: None,
                ..Default::default()
            };
            record_congress_report(f, a, &input, t, &p)
        }
        Action::OverdueExplanation => {
            let input = OverdueExplanationInput {
                reason: Some("备件到货延迟".into()),
                measures: Some("停用该管段，每两小时巡检".into()),
                expected_completion_on: None,
            };
            explain_overdue(f, a, &input, t, &p)
        }
        Action::EmployeeNotice => {
            let input = EmployeeNoticeInput {
                posted_on: Some(t),
                channel: Some("信息公示栏".into()),
            };
            record_employee_notice(f, a, &input, t, &p)
        }
        Action::MajorReport => {
            let input = MajorReportInput {
                status_and_cause: Some("液氨管道腐蚀减薄，未按期检测".into()),
                severity_and_difficulty: Some("泄漏可致中毒，需停用更换".into()),
                temporary_measures: Some("停用该管段，设警戒区".into()),
                ..MajorReportInput::default()
            };
            file_major_report(f, a, &input, t, &p)
        }
        Action::List => {
            let input = ListingInput {
                level: Some(ListingLevel::District),
                supervising_unit: Some("区安委办".into()),
                supervising_department: Some("区应急局".into()),
                doc_no: Some("长安委督字〔2023〕第5号".into()),
                signed_by: Some("张三".into()),
                complete_by: Some(d("2023-10-20")),
                plan_file_by: Some(d("2023-10-12")),
            };
            list_hazard(f, a, &input, t, &p)
        }
    }
}
