//! What a transition is given (the hazard's facts, the actor, the policy) and what it returns
//! (the [`Outcome`] for the caller to persist).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codes::{Handling, Level, Role, Status, Suspension};

/// The user taking an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The user's id.
    pub user_id: String,
    /// The user's role.
    pub role: Role,
    /// The department of a department inspector (its code), when known.
    #[serde(default)]
    pub department: Option<String>,
}

impl Actor {
    /// An actor from an id and a role.
    pub fn new(user_id: impl Into<String>, role: Role) -> Self {
        Self {
            user_id: user_id.into(),
            role,
            department: None,
        }
    }

    /// The same actor as a member of `department`.
    pub fn in_department(mut self, department: impl Into<String>) -> Self {
        self.department = Some(department.into());
        self
    }
}

/// The judgement basis of a 重大 hazard: sector standard and clause (L12).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct JudgementBasis {
    /// The standard, e.g. 工贸企业重大事故隐患判定标准.
    pub standard: Option<String>,
    /// The clause, e.g. 第四条第(一)项.
    pub clause: Option<String>,
}

/// The six-part 治理方案 (L8).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Plan {
    /// 目标和任务.
    pub goal: Option<String>,
    /// 方法和措施.
    pub methods: Option<String>,
    /// 经费和物资.
    pub funds_materials: Option<String>,
    /// 机构和人员.
    pub org_people: Option<String>,
    /// 时限和要求.
    pub timeline: Option<String>,
    /// 安全措施和应急预案.
    pub safety_and_emergency: Option<String>,
}

impl Plan {
    /// Names of the parts that are absent or blank.
    pub fn missing_parts(&self) -> Vec<&'static str> {
        [
            ("goal", &self.goal),
            ("methods", &self.methods),
            ("funds_materials", &self.funds_materials),
            ("org_people", &self.org_people),
            ("timeline", &self.timeline),
            ("safety_and_emergency", &self.safety_and_emergency),
        ]
        .into_iter()
        .filter(|(_, v)| v.as_deref().is_none_or(|t| t.trim().is_empty()))
        .map(|(name, _)| name)
        .collect()
    }

    /// True when all six parts are present.
    pub fn is_complete(&self) -> bool {
        self.missing_parts().is_empty()
    }
}

/// The editable report content of a hazard, as stored in the draft.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HazardContent {
    /// Short title.
    pub title: Option<String>,
    /// 现状: what was found.
    pub description: Option<String>,
    /// 隐患部位.
    pub location: Option<String>,
    /// Sector codes; the first decides the primary department.
    pub sectors: Vec<String>,
    /// Category code A01…B99.
    pub category: Option<String>,
    /// Source code 1–9.
    pub source: Option<i32>,
    /// Date of discovery (Asia/Shanghai).
    pub discovered_on: Option<NaiveDate>,
    /// 整改责任人.
    pub responsible_person: Option<String>,
    /// The responsible person's phone.
    pub responsible_phone: Option<String>,
    /// Deadline proposed by the enterprise.
    pub proposed_deadline: Option<NaiveDate>,
    /// Planned funds in 万元, exact decimal text.
    pub planned_funds: Option<String>,
    /// 现状及其产生原因 (重大).
    pub status_and_cause: Option<String>,
    /// 危害程度和整改难易程度分析 (重大).
    pub severity_and_difficulty: Option<String>,
    /// 判定依据 (重大).
    pub judgement_basis: Option<JudgementBasis>,
    /// 整改前临时安全措施 (重大).
    pub temporary_measures: Option<String>,
    /// 需政府协调.
    pub needs_government_coordination: Option<bool>,
    /// The six-part plan, if written with the report.
    pub plan: Option<Plan>,
    /// Date by which the plan will be filed, when it is not written yet.
    pub plan_due_on: Option<NaiveDate>,
}

/// Characters of the description a missing title is made of.
const TITLE_FROM_DESCRIPTION_CHARS: usize = 30;

impl HazardContent {
    /// The report as it is kept: a hazard filed without a title (DESIGN's report names none:
    /// T1 asks for the description 现状) is titled by the first line of its description, cut at
    /// 30 characters with "…"; its planned funds are kept in their shortest form
    /// (`validate::tidy_money`).
    pub fn tidy(&mut self) {
        crate::domain::validate::tidy_money(&mut self.planned_funds);
        // A plan or a judgement basis with no part at all (`{}`, `[]`) is none given: kept, it
        // would read as a plan whose parts are all null.
        if self
            .plan
            .as_ref()
            .is_some_and(|p| p.missing_parts().len() == 6)
        {
            self.plan = None;
        }
        let blank = |t: &Option<String>| t.as_deref().is_none_or(|t| t.trim().is_empty());
        if self
            .judgement_basis
            .as_ref()
            .is_some_and(|b| blank(&b.standard) && blank(&b.clause))
        {
            self.judgement_basis = None;
        }
        if self.title.as_deref().is_some_and(|t| !t.trim().is_empty()) {
            return;
        }
        let Some(line) = self
            .description
            .as_deref()
            .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
        else {
            return;
        };
        self.title = Some(crate::domain::validate::shorten(
            line,
            TITLE_FROM_DESCRIPTION_CHARS,
        ));
    }
}

/// Which attachments the hazard already has (the caller counts them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachmentFacts {
    /// A photo before rectification.
    pub before_photo: bool,
    /// A photo after rectification.
    pub after_photo: bool,
    /// A photo taken at the acceptance check.
    pub acceptance_photo: bool,
    /// An assessment report (needed to resume after a suspension).
    pub assessment_report: bool,
    /// Every after photo is the very picture (same bytes) of a before photo.
    #[serde(default)]
    pub after_same_as_before: bool,
}

impl AttachmentFacts {
    /// What is wrong with the after photos a completion needs, if anything.
    pub fn after_photo_problem(&self) -> Option<&'static str> {
        if !self.after_photo {
            Some("a photo after rectification is required")
        } else if self.after_same_as_before {
            Some("the after photo is the same picture as the before photo")
        } else {
            None
        }
    }
}

/// Everything the rules need to know about a hazard as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HazardFacts {
    /// Current status.
    pub status: Status,
    /// Current level.
    pub level: Level,
    /// Current handling.
    pub handling: Handling,
    /// Current suspension.
    pub suspension: Suspension,
    /// User id of whoever reported the hazard (created the draft).
    pub reporter_id: String,
    /// The primary (responsible) department's code; empty when not known.
    pub primary_department: String,
    /// User id of whoever submitted it, when different from the reporter.
    pub submitted_by: Option<String>,
    /// Date of submission (the regulator half of 双报告), Asia/Shanghai.
    pub submitted_on: Option<NaiveDate>,
    /// The report content.
    pub content: HazardContent,
    /// The deadline set at posting, kept for statistics.
    pub deadline: Option<NaiveDate>,
    /// The deadline in force (after approved extensions).
    pub effective_deadline: Option<NaiveDate>,
    /// A six-part plan is filed.
    pub plan_filed: bool,
    /// The filed plan is acknowledged (备案) by the department.
    pub plan_acknowledged: bool,
    /// Requested date of an extension request waiting for a decision.
    pub pending_extension: Option<NaiveDate>,
    /// The ids of the hazard's extension requests, decided or not: a decision names one.
    #[serde(default)]
    pub extension_ids: Vec<String>,
    /// Date of posting (上账), Asia/Shanghai.
    pub posted_on: Option<NaiveDate>,
    /// Completion date of the current completion report.
    pub completed_on: Option<NaiveDate>,
    /// The date of the latest acceptance check that failed (T12): the work was found
    /// unfinished that day, so a later completion cannot be dated before it.
    pub failed_acceptance_on: Option<NaiveDate>,
    /// The day rectification was recorded as started (T7), if it was.
    #[serde(default)]
    pub started_on: Option<NaiveDate>,
    /// The latest day the enterprise itself reported the work unfinished: a progress update
    /// below 100 %.
    #[serde(default)]
    pub reported_unfinished_on: Option<NaiveDate>,
    /// Under 挂牌督办.
    pub listed: bool,
    /// The enterprise's headcount, when known.
    pub enterprise_headcount: Option<u32>,
    /// A discovery-stage congress report exists.
    pub has_discovery_congress_report: bool,
    /// A completion-stage congress report exists.
    pub has_completion_congress_report: bool,
    /// The date by which the congress itself (职工代表大会 / 职工大会) must hear a report that
    /// only a joint meeting (联席会议) has heard so far (L11): the earliest `follow_up_on` of a
    /// joint meeting not followed by a congress or all-staff meeting on or after its date.
    pub congress_follow_up_due: Option<NaiveDate>,
    /// When the hazard was flagged for 约谈/通报 (escalation rule `overdue_interview`).
    #[serde(default)]
    pub interview_flagged_on: Option<NaiveDate>,
    /// Since when the enterprise owes a written explanation (书面说明) of its lateness
    /// (escalation rule `overdue_first`); `None` once filed.
    #[serde(default)]
    pub explanation_owed_on: Option<NaiveDate>,
    /// Filed by an official (an inspection finding, a confirmed tip-off): its finding is not
    /// the enterprise's to rewrite.
    #[serde(default)]
    pub filed_by_official: bool,
    /// An employee notice (信息公示) exists.
    pub has_employee_notice: bool,
    /// The regulator half of the 双报告 is recorded (a 重大 submission, or the report filed
    /// after a raise to 重大 at posting).
    #[serde(default)]
    pub has_regulator_report: bool,
    /// Attachments present.
    pub attachments: AttachmentFacts,
}

impl HazardFacts {
    /// The discovery date, if recorded.
    pub fn discovered_on(&self) -> Option<NaiveDate> {
        self.content.discovered_on
    }

    /// Applies an outcome's effects to these facts, as the store would (not `submitted_on`, ledger number or cancel date).
    pub fn apply(&mut self, out: &Outcome) {
        self.status = out.status;
        if out.record_regulator_report {
            self.has_regulator_report = true;
        }
        if let Some(level) = out.level {
            self.level = level;
        }
        if out.deadline.is_some() {
            self.deadline = out.deadline;
        }
        if out.effective_deadline.is_some() {
            self.effective_deadline = out.effective_deadline;
        }
        if let Some(filed) = out.plan_filed {
            self.plan_filed = filed;
        }
        if let Some(ack) = out.plan_acknowledged {
            self.plan_acknowledged = ack;
        }
        if out.extension_requested.is_some() {
            self.pending_extension = out.extension_requested;
        }
        if out.extension_approved.is_some() || out.extension_lapsed {
            self.pending_extension = None;
        }
        if out.explanation_owed_on.is_some() {
            self.explanation_owed_on = out.explanation_owed_on;
        }
        if out.completed_on.is_some() {
            self.completed_on = out.completed_on;
        }
        if out.clear_completion {
            self.completed_on = None;
        }
        if let Some(listed) = out.listed {
            self.listed = listed;
        }
    }

    /// True when `user_id` reported or submitted the hazard.
    pub fn is_reporter(&self, user_id: &str) -> bool {
        self.reporter_id == user_id || self.submitted_by.as_deref() == Some(user_id)
    }
}

/// What closing a 重大 hazard does when the completion congress report is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CongressRule {
    /// Refuse with `congress_report_missing`.
    #[default]
    Block,
    /// Close, with the warning `congress_report_missing`.
    Warn,
}

/// Configurable policy (DESIGN.md *config* values), with the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// `plan_due_on` may be at most this many days after submission.
    pub plan_due_max_days: i64,
    /// Extensions may be requested only in the last this-many working days before the deadline.
    pub extension_window_workdays: u32,
    /// Acceptance is due this many days after the completion report.
    pub acceptance_due_days: i64,
    /// Closing a 重大 hazard needs a street officer's co-signature.
    pub require_street_cosign: bool,
    /// Missing completion congress report at close-out: block or warn.
    pub congress_completion_rule: CongressRule,
    /// A 重大 report needs a before photo.
    pub require_before_photo_for_major: bool,
    /// Flag a 重大 hazard without any congress report this many days after submission.
    pub congress_report_due_days: i64,
    /// Flag a 重大 report submitted more than this many days after discovery.
    pub regulator_report_max_delay_days: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            plan_due_max_days: 15,
            extension_window_workdays: 15,
            acceptance_due_days: 10,
            require_street_cosign: false,
            congress_completion_rule: CongressRule::Block,
            require_before_photo_for_major: true,
            congress_report_due_days: 30,
            regulator_report_max_delay_days: 1,
        }
    }
}

/// The result of an allowed action: the status after it and the effects to persist.
///
/// `None`/`false` fields mean "unchanged".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Status after the action (the same status for actions that are not transitions).
    pub status: Status,
    /// Assign the next ledger number (上账).
    pub assign_ledger_no: bool,
    /// Record the regulator half of the 双报告 (a 重大 submission).
    pub record_regulator_report: bool,
    /// New level.
    pub level: Option<Level>,
    /// Set the original deadline.
    pub deadline: Option<NaiveDate>,
    /// Set the effective deadline.
    pub effective_deadline: Option<NaiveDate>,
    /// New value of the plan-filed flag.
    pub plan_filed: Option<bool>,
    /// New value of the plan-acknowledged flag.
    pub plan_acknowledged: Option<bool>,
    /// Open an extension request for this date.
    pub extension_requested: Option<NaiveDate>,
    /// Close the pending extension request: approved or not.
    pub extension_approved: Option<bool>,
    /// A written explanation (书面说明) is owed from this day (L10: a failed acceptance, 继续挂账).
    pub explanation_owed_on: Option<NaiveDate>,
    /// The pending extension request lapses undecided (the work was reported complete, or the
    /// hazard voided): nobody decides it afterwards.
    pub extension_lapsed: bool,
    /// Record this completion date.
    pub completed_on: Option<NaiveDate>,
    /// Discard the failed completion (T12): it does not count.
    pub clear_completion: bool,
    /// Acceptance is due by this date.
    pub acceptance_due_on: Option<NaiveDate>,
    /// 销号 date.
    pub cancel_date: Option<NaiveDate>,
    /// New value of the listed flag.
    pub listed: Option<bool>,
    /// Stable snake_case warning codes the caller should show or record.
    pub warnings: Vec<String>,
}

impl Outcome {
    /// An outcome that moves to (or stays in) `status` with no other effect.
    pub fn to(status: Status) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_parts() {
        let mut p = Plan {
            goal: Some("消除隐患".into()),
            methods: Some(" ".into()),
            ..Plan::default()
        };
        assert_eq!(
            p.missing_parts(),
            [
                "methods",
                "funds_materials",
                "org_people",
                "timeline",
                "safety_and_emergency"
            ]
        );
        assert!(!p.is_complete());
        for part in [
            &mut p.methods,
            &mut p.funds_materials,
            &mut p.org_people,
            &mut p.timeline,
            &mut p.safety_and_emergency,
        ] {
            *part = Some("x".into());
        }
        assert!(p.is_complete());
    }

    #[test]
    fn policy_defaults_and_partial_config() {
        let p = Policy::default();
        assert_eq!(
            (
                p.plan_due_max_days,
                p.extension_window_workdays,
                p.acceptance_due_days
            ),
            (15, 15, 10)
        );
        assert!(!p.require_street_cosign && p.require_before_photo_for_major);
        let q: Policy = serde_json::from_str(r#"{"congress_completion_rule":"warn"}"#).unwrap();
        assert_eq!(q.congress_completion_rule, CongressRule::Warn);
        assert_eq!(q.plan_due_max_days, 15);
    }

    #[test]
    fn reporter_is_creator_or_submitter() {
        let f = HazardFacts {
            reporter_id: "u1".into(),
            submitted_by: Some("u2".into()),
            ..HazardFacts::default()
        };
        assert!(f.is_reporter("u1") && f.is_reporter("u2"));
        assert!(!f.is_reporter("u3"));
    }

    #[test]
    fn content_reads_partial_json() {
        let c: HazardContent =
            serde_json::from_str(r#"{"title":"配电箱","plan":{"goal":"g"}}"#).unwrap();
        assert_eq!(c.title.as_deref(), Some("配电箱"));
        assert_eq!(c.plan.map(|p| p.missing_parts().len()), Some(5));
    }
}
