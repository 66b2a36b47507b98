//! T1 create, edit (draft/returned only) and T2 submit, with the content rules per level.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::codes::{Action, Handling, Level, Role, Status, Suspension, category_name};
use super::facts::{Actor, HazardContent, HazardFacts, Outcome, Policy};
use super::guard::{gate, role_may};
use crate::domain::validate::{Wan, is_one_line, normalize_phone};
use crate::domain::{DomainError, FieldErrors};

/// 隐患来源 6 投诉举报: the source of a hazard found through a tip-off.
pub const TIP_SOURCE: i32 = 6;

/// Longest accepted title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;

/// Body of create and edit: the classification and the content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftInput {
    /// Proposed level: required from creation on (T1), since it decides who reports and who
    /// verifies.
    #[serde(default)]
    pub level: Option<Level>,
    /// Handling.
    #[serde(default)]
    pub handling: Handling,
    /// Suspension.
    #[serde(default)]
    pub suspension: Suspension,
    /// The report content.
    #[serde(flatten)]
    pub content: HazardContent,
}

impl DraftInput {
    /// The proposed level (一般 until one is named; creation and edits require one).
    pub fn level(&self) -> Level {
        self.level.unwrap_or_default()
    }
}

/// Body of submit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubmitInput {
    /// A safety officer reports a 重大 hazard directly, without the principal (L3).
    pub direct_report: bool,
}

fn may_draft(role: Role) -> bool {
    role.is_enterprise() || matches!(role, Role::StreetOfficer | Role::DepartmentInspector)
}

/// T1's actors: enterprise users, street officers and department inspectors (an inspection
/// finding); anyone else is refused before the body is looked at.
pub fn guard_create(role: Role) -> Result<(), DomainError> {
    if may_draft(role) {
        return Ok(());
    }
    Err(DomainError::Forbidden {
        code: "role_forbidden",
        message: format!("{role} may not create hazards"),
    })
}

/// Format rules that hold for drafts too: whatever is present must be well formed.
pub(super) fn check_formats(e: &mut FieldErrors, c: &HazardContent, today: NaiveDate) {
    for (field, text) in [
        ("title", &c.title),
        ("location", &c.location),
        ("responsible_person", &c.responsible_person),
    ] {
        if text.as_deref().is_some_and(|t| !is_one_line(t)) {
            e.add(field, "must be one line");
        }
    }
    if let Some(t) = &c.title
        && t.chars().count() > TITLE_MAX_CHARS
    {
        e.add("title", format!("at most {TITLE_MAX_CHARS} characters"));
    }
    for (i, s) in c.sectors.iter().enumerate() {
        if s.trim().is_empty() {
            e.add("sectors", "must not contain blank entries");
        } else if c.sectors[..i].contains(s) {
            e.add("sectors", format!("duplicate sector '{s}'"));
        }
    }
    if let Some(cat) = &c.category
        && category_name(cat).is_none()
    {
        e.add("category", "unknown category (A01…A12, A99, B01…B11, B99)");
    }
    if let Some(src) = c.source
        && !(1..=9).contains(&src)
    {
        e.add("source", "must be 1–9");
    }
    if let Some(d) = c.discovered_on
        && d > today
    {
        e.add("discovered_on", "must not be in the future");
    }
    if let Some(p) = &c.responsible_phone
        && let Err(m) = normalize_phone(p)
    {
        e.add("responsible_phone", m);
    }
    if let Some(m) = &c.planned_funds
        && let Err(msg) = Wan::parse(m)
    {
        e.add("planned_funds", msg);
    }
    if let (Some(p), Some(d)) = (c.proposed_deadline, c.discovered_on)
        && p < d
    {
        e.add("proposed_deadline", "must not be before discovered_on");
    }
}

/// Handling "suspension" and a suspension other than none go together.
pub(super) fn check_handling(e: &mut FieldErrors, handling: Handling, suspension: Suspension) {
    match (handling, suspension) {
        (Handling::Suspension, Suspension::None) => {
            e.add(
                "suspension",
                "must be partial or full when handling is suspension",
            );
        }
        (Handling::OnTheSpot | Handling::TimeLimited, Suspension::Partial | Suspension::Full) => {
            e.add(
                "handling",
                "must be suspension while production is suspended",
            );
        }
        _ => {}
    }
}

/// The fields every hazard has from creation on (T1).
fn require_basics(e: &mut FieldErrors, c: &HazardContent) {
    e.require_text("description", c.description.as_deref());
    e.require_text("location", c.location.as_deref());
    if c.sectors.is_empty() {
        e.add("sectors", "required");
    }
    e.require_text("category", c.category.as_deref());
    e.require("source", c.source);
    e.require("discovered_on", c.discovered_on);
}

/// The content a 一般 report needs at submission (and at 即查即改).
pub(super) fn require_general_report(e: &mut FieldErrors, c: &HazardContent, today: NaiveDate) {
    e.require_text("title", c.title.as_deref());
    require_basics(e, c);
    check_formats(e, c, today);
}

/// The three report blocks, judgement basis, measures, people, funds and plan of a 重大 report.
fn require_major_report(
    e: &mut FieldErrors,
    facts: &HazardFacts,
    today: NaiveDate,
    policy: &Policy,
) {
    require_major_content(e, &facts.content, facts.handling, today, policy);
    if policy.require_before_photo_for_major && !facts.attachments.before_photo {
        e.add("before_photo", "a photo before rectification is required");
    }
}

fn require_major_content(
    e: &mut FieldErrors,
    c: &HazardContent,
    handling: Handling,
    today: NaiveDate,
    policy: &Policy,
) {
    e.require_text("status_and_cause", c.status_and_cause.as_deref());
    e.require_text(
        "severity_and_difficulty",
        c.severity_and_difficulty.as_deref(),
    );
    let basis = c.judgement_basis.clone().unwrap_or_default();
    e.require_text("judgement_basis.standard", basis.standard.as_deref());
    e.require_text("judgement_basis.clause", basis.clause.as_deref());
    e.require_text("temporary_measures", c.temporary_measures.as_deref());
    e.require_text("responsible_person", c.responsible_person.as_deref());
    e.require_text("responsible_phone", c.responsible_phone.as_deref());
    e.require_text("planned_funds", c.planned_funds.as_deref());
    match (&c.plan, c.plan_due_on) {
        (_, Some(due)) => check_plan_due_on(e, due, today, policy),
        (Some(plan), None) => {
            for part in plan.missing_parts() {
                e.add(format!("plan.{part}"), "required");
            }
        }
        (None, None) => e.add("plan", "required: the six-part plan or plan_due_on"),
    }
    if handling == Handling::OnTheSpot {
        e.add("handling", "a major hazard cannot be handled on the spot");
    }
}

/// The date a 重大 report's plan will follow: not past, within `plan_due_max_days`.
pub(super) fn check_plan_due_on(
    e: &mut FieldErrors,
    due: NaiveDate,
    today: NaiveDate,
    policy: &Policy,
) {
    let latest = today + Days::new(policy.plan_due_max_days.max(0) as u64);
    if due < today {
        e.add("plan_due_on", "must not be in the past");
    } else if due > latest {
        e.add(
            "plan_due_on",
            format!("must be within {} days", policy.plan_due_max_days),
        );
    }
}

/// T1: a new draft; enterprise users, street officers and department inspectors.
pub fn create(
    actor: &Actor,
    input: &DraftInput,
    today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_create(actor.role)?;
    let mut e = FieldErrors::new();
    e.require("level", input.level);
    require_basics(&mut e, &input.content);
    check_formats(&mut e, &input.content, today);
    check_handling(&mut e, input.handling, input.suspension);
    e.finish()?;
    Ok(Outcome::to(Status::Draft))
}

/// Replaces the draft's classification and content; only in draft or returned.
pub fn edit(
    facts: &HazardFacts,
    actor: &Actor,
    input: &DraftInput,
    today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_edit(facts, actor.role, Some(actor))?;
    let mut e = FieldErrors::new();
    let level = e.require("level", input.level);
    // A hazard found through a tip-off (隐患来源 6 投诉举报) stays one: the enterprise the tip
    // was about cannot relabel it as its own finding.
    if facts.content.source == Some(TIP_SOURCE)
        && input.content.source.is_some_and(|s| s != TIP_SOURCE)
    {
        e.add(
            "source",
            "a hazard from a tip-off keeps source 6 (投诉举报)",
        );
    }
    // An official's finding (an inspection, a confirmed tip-off) is theirs: the enterprise adds
    // its report (people, funds, measures, the 重大 blocks and plan) but does not rewrite what
    // was found nor lower its level (T4: only the department changes a level).
    if facts.filed_by_official && actor.role.is_enterprise() {
        let (was, now) = (&facts.content, &input.content);
        let changed = [
            ("title", was.title != now.title),
            ("description", was.description != now.description),
            ("location", was.location != now.location),
            ("sectors", was.sectors != now.sectors),
            ("category", was.category != now.category),
            // (A tip-off's source has its own message above.)
            (
                "source",
                was.source != now.source && was.source != Some(TIP_SOURCE),
            ),
            ("discovered_on", was.discovered_on != now.discovered_on),
            ("level", level.is_some_and(|l| l != facts.level)),
        ];
        for (field, _) in changed.iter().filter(|(_, c)| *c) {
            e.add(
                *field,
                "part of the finding of the official who filed it; only they change it",
            );
        }
    }
    // A 重大 report once submitted was received by the department (the regulator half of the
    // 双报告): only the department lowers it, at posting with a reason (T4) — not the
    // enterprise by correcting a returned report and submitting it again as 一般.
    if facts.has_regulator_report && facts.level == Level::Major && level == Some(Level::General) {
        return Err(DomainError::Forbidden {
            code: "level_downgrade_forbidden",
            message: "this report was submitted as major; only the department lowers it to general, when posting it (level and level_change_reason)".into(),
        });
    }
    // The 重大 report's timeliness (regulator_report_late: its first submission against the
    // discovery date) is judged on the discovery date it was made with: a returned report may
    // correct the date to an earlier day, not move it later and so make a late report look
    // timely (L1: truthfully recorded).
    if facts.has_regulator_report
        && let (Some(was), Some(now)) = (facts.content.discovered_on, input.content.discovered_on)
        && now > was
    {
        e.add(
            "discovered_on",
            format!(
                "must not be after {was}: the major hazard report was made with that discovery date (an earlier day may be given)"
            ),
        );
    }
    require_basics(&mut e, &input.content);
    check_formats(&mut e, &input.content, today);
    check_handling(&mut e, input.handling, input.suspension);
    e.finish()?;
    let mut out = Outcome::to(facts.status);
    if level != Some(facts.level) {
        out.level = level;
    }
    Ok(out)
}

/// Removing a photo or document uploaded by mistake: whoever may edit the report, while it is
/// a draft or returned. Once posted the evidence stays (no delete after submission); the ledger
/// keeps what was removed, and the blob store the bytes.
pub fn remove_attachment(facts: &HazardFacts, actor: &Actor) -> Result<Outcome, DomainError> {
    guard_edit(facts, actor.role, Some(actor))?;
    Ok(Outcome::to(facts.status))
}

/// Editing a draft or returned report: the enterprise's users, and the officer who filed it
/// (an inspection finding, a confirmed tip-off). An officer does not rewrite what an
/// enterprise reported — a returned report goes back to the enterprise to correct (L1: the
/// record is the enterprise's own). The officer is known only with `actor`.
pub(super) fn guard_edit(
    facts: &HazardFacts,
    role: Role,
    actor: Option<&Actor>,
) -> Result<(), DomainError> {
    let states = [Status::Draft, Status::Returned];
    let officer_reporter = matches!(role, Role::StreetOfficer | Role::DepartmentInspector)
        && actor.is_some_and(|a| facts.is_reporter(&a.user_id));
    gate(
        facts,
        Action::Edit,
        role_may(
            role.is_enterprise() || officer_reporter,
            role,
            Action::Edit,
            facts.level,
        ),
        &states,
    )
}

/// T2's actors: for 一般 the enterprise's users, and the officer who filed the hazard (an
/// inspection finding or a confirmed tip-off: "reporter for 一般"); for 重大 the principal, or a
/// safety officer's direct report. The officer is known only with `actor`.
pub(super) fn guard_submit(
    facts: &HazardFacts,
    role: Role,
    actor: Option<&Actor>,
    direct_report: bool,
) -> Result<(), DomainError> {
    let officer_reporter = matches!(role, Role::StreetOfficer | Role::DepartmentInspector)
        && actor.is_some_and(|a| facts.is_reporter(&a.user_id));
    let role_check = match (facts.level, role) {
        (Level::General, r) => role_may(
            r.is_enterprise() || officer_reporter,
            r,
            Action::Submit,
            facts.level,
        ),
        (Level::Major, Role::EnterprisePrincipal) => Ok(()),
        (Level::Major, Role::EnterpriseSafetyOfficer) if direct_report => Ok(()),
        (Level::Major, Role::EnterpriseSafetyOfficer) => Err(DomainError::Forbidden {
            code: "direct_report_required",
            message: "a safety officer submits a major hazard only as a direct report".into(),
        }),
        (Level::Major, r) => Err(super::guard::forbidden(r, Action::Submit, facts.level)),
    };
    gate(
        facts,
        Action::Submit,
        role_check,
        &[Status::Draft, Status::Returned],
    )
}

/// T2: draft/returned → submitted; 一般 by enterprise users or the officer who filed it, 重大 by
/// the principal (or a safety officer's direct report).
pub fn submit(
    facts: &HazardFacts,
    actor: &Actor,
    input: &SubmitInput,
    today: NaiveDate,
    policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_submit(facts, actor.role, Some(actor), input.direct_report)?;
    let mut e = FieldErrors::new();
    require_general_report(&mut e, &facts.content, today);
    check_handling(&mut e, facts.handling, facts.suspension);
    if facts.level == Level::Major {
        require_major_report(&mut e, facts, today, policy);
    }
    e.finish()?;
    let mut out = Outcome::to(Status::Submitted);
    out.record_regulator_report = facts.level == Level::Major;
    if facts.content.plan.as_ref().is_some_and(|p| p.is_complete()) {
        out.plan_filed = Some(true);
    }
    if facts.level == Level::Major
        && let Some(found) = facts.discovered_on()
        && (today - found).num_days() > policy.regulator_report_max_delay_days
    {
        out.warnings.push("regulator_report_late".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::domain::hazard::facts::{JudgementBasis, Plan};
    use crate::domain::hazard::permitted_actions_for;

    fn draft_input() -> DraftInput {
        DraftInput {
            level: Some(Level::General),
            handling: Handling::TimeLimited,
            suspension: Suspension::None,
            content: facts(Status::Draft, Level::General).content,
        }
    }

    #[test]
    fn create_roles() {
        for &role in Role::ALL {
            let r = create(&actor(role), &draft_input(), today(), &Policy::default());
            let allowed = !matches!(role, Role::DistrictOffice | Role::Admin);
            assert_eq!(r.is_ok(), allowed, "{role}");
            if !allowed {
                assert_eq!(r.unwrap_err().code(), "role_forbidden");
            }
        }
    }

    #[test]
    fn an_officer_submits_the_general_hazard_they_filed() {
        let policy = Policy::default();
        let input = SubmitInput::default();
        for role in [Role::StreetOfficer, Role::DepartmentInspector] {
            let mut f = facts(Status::Draft, Level::General);
            let filer = Actor::new("officer-1", role);
            f.reporter_id = filer.user_id.clone();
            assert!(
                submit(&f, &filer, &input, today(), &policy).is_ok(),
                "{role}"
            );
            assert!(
                permitted_actions_for(&f, &filer).contains(&"submit"),
                "{role}"
            );
            // Another officer of the same kind may not; nor may the filer a 重大 report, which is
            // the enterprise's (the principal's).
            let other = Actor::new("officer-2", role);
            let err = submit(&f, &other, &input, today(), &policy).unwrap_err();
            assert_eq!(err.code(), "role_forbidden");
            f.level = Level::Major;
            let err = submit(&f, &filer, &input, today(), &policy).unwrap_err();
            assert_eq!(err.code(), "role_forbidden", "{role}");
        }
    }

    #[test]
    fn an_officer_edits_only_the_report_they_filed() {
        let policy = Policy::default();
        for role in [Role::StreetOfficer, Role::DepartmentInspector] {
            for status in [Status::Draft, Status::Returned] {
                let mut f = facts(status, Level::General);
                let input = DraftInput {
                    level: Some(Level::General),
                    content: f.content.clone(),
                    ..DraftInput::default()
                };
                // The enterprise's report, returned to it: the officer does not rewrite it.
                let officer = Actor::new("officer-1", role);
                let err = edit(&f, &officer, &input, today(), &policy).unwrap_err();
                assert_eq!(err.code(), "role_forbidden", "{role} {status}");
                assert!(!permitted_actions_for(&f, &officer).contains(&"edit"));
                // Their own inspection finding they may.
                f.reporter_id = officer.user_id.clone();
                assert!(edit(&f, &officer, &input, today(), &policy).is_ok());
                assert!(permitted_actions_for(&f, &officer).contains(&"edit"));
            }
        }
    }

    #[test]
    fn a_hazard_from_a_tip_keeps_its_source() {
        let mut f = facts(Status::Draft, Level::General);
        f.content.source = Some(TIP_SOURCE);
        let mut input = DraftInput {
            level: Some(Level::General),
            content: f.content.clone(),
            ..DraftInput::default()
        };
        let a = actor(Role::EnterpriseReporter);
        assert!(edit(&f, &a, &input, today(), &Policy::default()).is_ok());
        input.content.source = Some(3);
        let err = edit(&f, &a, &input, today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["source"]);
    }

    #[test]
    fn an_officials_finding_is_not_the_enterprises_to_rewrite() {
        let mut f = facts(Status::Draft, Level::Major);
        f.filed_by_official = true;
        let same = DraftInput {
            level: Some(Level::Major),
            content: f.content.clone(),
            ..DraftInput::default()
        };
        let principal = actor(Role::EnterprisePrincipal);
        // Adding the enterprise's report is fine ...
        let mut report = same.clone();
        report.content.responsible_person = Some("王五".into());
        assert!(edit(&f, &principal, &report, today(), &Policy::default()).is_ok());
        // ... rewriting the finding or lowering its level is not.
        let mut rewritten = same.clone();
        rewritten.level = Some(Level::General);
        rewritten.content.description = Some("无问题".into());
        rewritten.content.location = Some("别处".into());
        let err = edit(&f, &principal, &rewritten, today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["description", "location", "level"]);
        // The official who filed it may; and an enterprise's own draft stays the enterprise's.
        let officer = Actor::new(&f.reporter_id, Role::DepartmentInspector);
        assert!(edit(&f, &officer, &rewritten, today(), &Policy::default()).is_ok());
        f.filed_by_official = false;
        assert!(edit(&f, &principal, &rewritten, today(), &Policy::default()).is_ok());
    }

    #[test]
    fn a_missing_title_comes_from_the_description() {
        let mut c = HazardContent {
            description: Some("\n  机房氨气泄漏报警器故障，未与事故通风联锁，值班人员未发现报警信号长期失效\n第二行".into()),
            ..HazardContent::default()
        };
        c.tidy();
        assert_eq!(
            c.title.as_deref(),
            Some("机房氨气泄漏报警器故障，未与事故通风联锁，值班人员未发现报警…")
        );
        c.title = Some("液氨报警失效".into());
        c.tidy();
        assert_eq!(c.title.as_deref(), Some("液氨报警失效"));
        let mut short = HazardContent {
            description: Some("通道堵塞".into()),
            ..HazardContent::default()
        };
        short.tidy();
        assert_eq!(short.title.as_deref(), Some("通道堵塞"));
    }

    #[test]
    fn create_lists_every_missing_basic() {
        let input = DraftInput::default();
        let err = create(
            &actor(Role::EnterpriseReporter),
            &input,
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "level",
                "description",
                "location",
                "sectors",
                "category",
                "source",
                "discovered_on"
            ]
        );
    }

    #[test]
    fn formats_are_checked_together() {
        let mut input = draft_input();
        let c = &mut input.content;
        c.title = Some("长".repeat(201));
        c.sectors = vec!["fire".into(), " ".into(), "fire".into()];
        c.category = Some("C01".into());
        c.source = Some(10);
        c.discovered_on = Some(today().succ_opt().unwrap());
        c.responsible_phone = Some("12345".into());
        c.planned_funds = Some("1.23456".into());
        c.proposed_deadline = Some(d("2023-01-01"));
        let err = create(
            &actor(Role::EnterpriseReporter),
            &input,
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "title",
                "sectors",
                "sectors",
                "category",
                "source",
                "discovered_on",
                "responsible_phone",
                "planned_funds",
                "proposed_deadline"
            ]
        );
    }

    #[test]
    fn handling_and_suspension_must_agree() {
        let p = Policy::default();
        let a = actor(Role::EnterprisePrincipal);
        let mut input = draft_input();
        input.handling = Handling::Suspension;
        assert_eq!(
            fields(&create(&a, &input, today(), &p).unwrap_err()),
            ["suspension"]
        );
        input.suspension = Suspension::Full;
        assert!(create(&a, &input, today(), &p).is_ok());
        input.handling = Handling::OnTheSpot;
        assert_eq!(
            fields(&create(&a, &input, today(), &p).unwrap_err()),
            ["handling"]
        );
    }

    #[test]
    fn edit_reports_level_change_and_refuses_after_submission() {
        let f = facts(Status::Returned, Level::General);
        let mut input = draft_input();
        input.level = Some(Level::Major);
        let out = edit(
            &f,
            &actor(Role::EnterpriseReporter),
            &input,
            today(),
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(
            (out.status, out.level),
            (Status::Returned, Some(Level::Major))
        );
        let f = facts(Status::OnLedger, Level::General);
        let err = edit(
            &f,
            &actor(Role::EnterpriseReporter),
            &input,
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "invalid_state");
    }

    #[test]
    fn a_returned_major_report_is_not_lowered_by_the_enterprise() {
        let mut f = facts(Status::Returned, Level::Major);
        f.has_regulator_report = true;
        let mut input = draft_input();
        input.level = Some(Level::General);
        for role in [
            Role::EnterpriseReporter,
            Role::EnterprisePrincipal,
            Role::EnterpriseSafetyOfficer,
        ] {
            let err = edit(&f, &actor(role), &input, today(), &Policy::default()).unwrap_err();
            assert_eq!(
                (err.code(), err.http_status()),
                ("level_downgrade_forbidden", 403)
            );
        }
        // A draft never submitted as 重大 may still be lowered by its author.
        f.has_regulator_report = false;
        let out = edit(
            &f,
            &actor(Role::EnterpriseReporter),
            &input,
            today(),
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(out.level, Some(Level::General));
    }

    #[test]
    fn general_submission_needs_the_basics() {
        let mut f = facts(Status::Draft, Level::General);
        f.content = HazardContent::default();
        let err = submit(
            &f,
            &actor(Role::EnterpriseReporter),
            &SubmitInput::default(),
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "title",
                "description",
                "location",
                "sectors",
                "category",
                "source",
                "discovered_on"
            ]
        );
    }

    #[test]
    fn general_submission_needs_no_major_blocks() {
        let mut f = facts(Status::Draft, Level::General);
        f.content.status_and_cause = None;
        f.content.plan = None;
        f.content.judgement_basis = None;
        f.attachments.before_photo = false;
        let out = submit(
            &f,
            &actor(Role::EnterpriseReporter),
            &SubmitInput::default(),
            today(),
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(out.status, Status::Submitted);
        assert!(!out.record_regulator_report);
    }

    #[test]
    fn major_submission_lists_every_missing_block() {
        let mut f = facts(Status::Draft, Level::Major);
        let c = &mut f.content;
        c.status_and_cause = None;
        c.severity_and_difficulty = Some("  ".into());
        c.judgement_basis = Some(JudgementBasis {
            standard: Some("工贸企业重大事故隐患判定标准".into()),
            clause: None,
        });
        c.temporary_measures = None;
        c.responsible_person = None;
        c.responsible_phone = None;
        c.planned_funds = None;
        c.plan = None;
        c.plan_due_on = None;
        f.attachments.before_photo = false;
        f.handling = Handling::OnTheSpot;
        let err = submit(
            &f,
            &actor(Role::EnterprisePrincipal),
            &SubmitInput::default(),
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "status_and_cause",
                "severity_and_difficulty",
                "judgement_basis.clause",
                "temporary_measures",
                "responsible_person",
                "responsible_phone",
                "planned_funds",
                "plan",
                "handling",
                "before_photo"
            ]
        );
    }

    #[test]
    fn major_plan_or_plan_due_on() {
        let p = Policy::default();
        let a = actor(Role::EnterprisePrincipal);
        let run = |f: &HazardFacts| submit(f, &a, &SubmitInput::default(), today(), &p);
        let mut f = facts(Status::Draft, Level::Major);
        let out = run(&f).unwrap();
        assert_eq!(out.plan_filed, Some(true));
        assert!(out.record_regulator_report);

        f.content.plan = Some(Plan {
            goal: Some("g".into()),
            ..Plan::default()
        });
        let err = run(&f).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "plan.methods",
                "plan.funds_materials",
                "plan.org_people",
                "plan.timeline",
                "plan.safety_and_emergency"
            ]
        );

        f.content.plan_due_on = Some(today() + Days::new(15));
        let out = run(&f).unwrap();
        assert_eq!(out.plan_filed, None, "a partial plan is not filed");
        f.content.plan_due_on = Some(today() + Days::new(16));
        assert_eq!(fields(&run(&f).unwrap_err()), ["plan_due_on"]);
        f.content.plan_due_on = Some(today().pred_opt().unwrap());
        assert_eq!(fields(&run(&f).unwrap_err()), ["plan_due_on"]);
        f.content.plan = None;
        f.content.plan_due_on = Some(today());
        assert!(run(&f).is_ok());
    }

    #[test]
    fn before_photo_rule_follows_policy() {
        let mut f = facts(Status::Draft, Level::Major);
        f.attachments.before_photo = false;
        let a = actor(Role::EnterprisePrincipal);
        let p = Policy {
            require_before_photo_for_major: false,
            ..Policy::default()
        };
        assert!(submit(&f, &a, &SubmitInput::default(), today(), &p).is_ok());
        let err = submit(&f, &a, &SubmitInput::default(), today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["before_photo"]);
    }

    #[test]
    fn safety_officer_needs_direct_report_for_major() {
        let f = facts(Status::Draft, Level::Major);
        let so = actor(Role::EnterpriseSafetyOfficer);
        let p = Policy::default();
        let err = submit(&f, &so, &SubmitInput::default(), today(), &p).unwrap_err();
        assert_eq!(
            (err.code(), err.http_status()),
            ("direct_report_required", 403)
        );
        let direct = SubmitInput {
            direct_report: true,
        };
        assert!(submit(&f, &so, &direct, today(), &p).is_ok());
        let err = submit(&f, &actor(Role::EnterpriseReporter), &direct, today(), &p).unwrap_err();
        assert_eq!(err.code(), "role_forbidden");
    }

    #[test]
    fn late_major_report_is_flagged() {
        let mut f = facts(Status::Draft, Level::Major);
        f.content.discovered_on = Some(today() - Days::new(2));
        let out = submit(
            &f,
            &actor(Role::EnterprisePrincipal),
            &SubmitInput::default(),
            today(),
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(out.warnings, ["regulator_report_late"]);
        f.content.discovered_on = Some(today() - Days::new(1));
        let out = submit(
            &f,
            &actor(Role::EnterprisePrincipal),
            &SubmitInput::default(),
            today(),
            &Policy::default(),
        )
        .unwrap();
        assert!(out.warnings.is_empty());
    }

    #[test]
    fn draft_input_reads_flat_json() {
        let input: DraftInput = serde_json::from_str(
            r#"{"level":"major","handling":"suspension","suspension":"full","title":"液氨泄漏","sectors":["ammonia_refrigeration"]}"#,
        )
        .unwrap();
        assert_eq!(input.level, Some(Level::Major));
        assert_eq!(input.content.sectors, ["ammonia_refrigeration"]);
    }
}
