//! T3 return, T4 post (上账) and T5 void: the street's and the department's review.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codes::{Action, Level, Role, Status, VoidReason};
use super::facts::{Actor, HazardFacts, JudgementBasis, Outcome, Policy};
use super::guard::{forbidden, gate, role_may};
use crate::domain::{DomainError, FieldErrors};

/// Body of return.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReturnInput {
    /// What the enterprise must correct.
    pub reason: Option<String>,
}

/// Body of post (上账).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostInput {
    /// 整改期限.
    pub deadline: Option<NaiveDate>,
    /// Confirmed level, when it differs from the reported one.
    pub level: Option<Level>,
    /// Why the level changes.
    pub level_change_reason: Option<String>,
    /// Judgement basis, required when the level becomes 重大.
    pub judgement_basis: Option<JudgementBasis>,
    /// Responsible department code; the caller defaults it to the routed primary department.
    pub responsible_department: Option<String>,
    /// 整改指令书 number.
    pub order_no: Option<String>,
}

/// Body of void.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VoidInput {
    /// Why.
    pub reason: Option<VoidReason>,
    /// Free text.
    pub note: Option<String>,
    /// The hazard this one duplicates (reason `duplicate`).
    pub duplicate_of: Option<String>,
    /// Where it was transferred (reason `transferred`).
    pub transfer_to: Option<String>,
}

fn reviewer(role: Role) -> bool {
    matches!(role, Role::StreetOfficer | Role::DepartmentInspector)
}

pub(super) fn guard_return(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::Return,
        role_may(reviewer(role), role, Action::Return, facts.level),
        &[Status::Submitted],
    )
}

/// T3: submitted → returned; street officer or department inspector, with a reason.
pub fn return_hazard(
    facts: &HazardFacts,
    actor: &Actor,
    input: &ReturnInput,
    _today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_return(facts, actor.role)?;
    let mut e = FieldErrors::new();
    e.require_text("reason", input.reason.as_deref());
    e.finish()?;
    Ok(Outcome::to(Status::Returned))
}

pub(super) fn guard_post(
    facts: &HazardFacts,
    role: Role,
    target: Level,
) -> Result<(), DomainError> {
    let role_check = match (role, facts.level, target) {
        (Role::DepartmentInspector, _, _) => Ok(()),
        (Role::StreetOfficer, Level::General, Level::General) => Ok(()),
        (Role::StreetOfficer, Level::General, Level::Major) => Err(DomainError::Forbidden {
            code: "level_upgrade_forbidden",
            message: "a street officer may not raise a hazard to major".into(),
        }),
        (Role::StreetOfficer, Level::Major, Level::General) => Err(DomainError::Forbidden {
            code: "level_downgrade_forbidden",
            message: "only a department inspector may lower a major hazard to general".into(),
        }),
        (r, level, _) => Err(forbidden(r, Action::Post, level)),
    };
    gate(facts, Action::Post, role_check, &[Status::Submitted])
}

/// T4: submitted → on_ledger (上账); street officer for 一般, department inspector for any.
pub fn post(
    facts: &HazardFacts,
    actor: &Actor,
    input: &PostInput,
    today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    let target = input.level.unwrap_or(facts.level);
    guard_post(facts, actor.role, target)?;
    let mut e = FieldErrors::new();
    if let Some(deadline) = e.require("deadline", input.deadline) {
        if deadline < today {
            e.add("deadline", "must not be in the past");
        } else if facts.discovered_on().is_some_and(|found| deadline < found) {
            e.add("deadline", "must not be before discovered_on");
        }
    }
    if target != facts.level {
        e.require_text("level_change_reason", input.level_change_reason.as_deref());
    }
    if target == Level::Major && facts.level == Level::General {
        let basis = input.judgement_basis.clone().unwrap_or_default();
        e.require_text("judgement_basis.standard", basis.standard.as_deref());
        e.require_text("judgement_basis.clause", basis.clause.as_deref());
    }
    e.finish()?;
    let mut out = Outcome::to(Status::OnLedger);
    out.assign_ledger_no = true;
    out.deadline = input.deadline;
    out.effective_deadline = input.deadline;
    if target != facts.level {
        out.level = Some(target);
    }
    if target == Level::Major && !facts.plan_filed {
        out.warnings.push("plan_not_filed".into());
    }
    Ok(out)
}

pub(super) fn guard_void(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    let allowed = match role {
        Role::DepartmentInspector => true,
        Role::StreetOfficer => facts.level == Level::General,
        _ => false,
    };
    gate(
        facts,
        Action::Void,
        role_may(allowed, role, Action::Void, facts.level),
        VOID_STATES,
    )
}

/// The states a hazard may be voided from: T5's, and a returned report nobody will correct
/// (DESIGN: "void from any open state"). Not one waiting for acceptance: its work is reported
/// done, and voiding it would skip the acceptance's checks (verifier ≠ reporter, the 双报告);
/// not a draft, which is not a report yet.
pub(super) const VOID_STATES: &[Status] = &[
    Status::Submitted,
    Status::Returned,
    Status::OnLedger,
    Status::InRectification,
];

/// T5: an open report → void; department inspector (street officer for 一般).
pub fn void(
    facts: &HazardFacts,
    actor: &Actor,
    input: &VoidInput,
    _today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_void(facts, actor.role)?;
    let mut e = FieldErrors::new();
    let reason = e.require("reason", input.reason);
    match reason {
        Some(VoidReason::Duplicate) => {
            e.require_text("duplicate_of", input.duplicate_of.as_deref());
        }
        Some(VoidReason::Transferred) => {
            e.require_text("transfer_to", input.transfer_to.as_deref());
        }
        _ => {}
    }
    // A link belongs to its reason: a 误报 recorded as the duplicate of another hazard, or a
    // duplicate with a transfer target, would say what the decision did not.
    if let Some(reason) = reason {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|t| !t.trim().is_empty());
        if reason != VoidReason::Duplicate && given(&input.duplicate_of) {
            e.add(
                "duplicate_of",
                "only a void as duplicate links the original",
            );
        }
        if reason != VoidReason::Transferred && given(&input.transfer_to) {
            e.add(
                "transfer_to",
                "only a void as transferred names where it went",
            );
        }
    }
    e.finish()?;
    let mut out = Outcome::to(Status::Void);
    out.extension_lapsed = facts.pending_extension.is_some();
    if facts.listed {
        // A void hazard is frozen: its supervision ends with it, as with a close-out.
        out.listed = Some(false);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use chrono::Days;

    fn post_as(role: Role, f: &HazardFacts, input: &PostInput) -> Result<Outcome, DomainError> {
        post(f, &actor(role), input, today(), &Policy::default())
    }

    fn valid_post() -> PostInput {
        PostInput {
            deadline: Some(d("2023-10-31")),
            ..PostInput::default()
        }
    }

    #[test]
    fn return_needs_a_reason() {
        let f = facts(Status::Submitted, Level::Major);
        let a = actor(Role::StreetOfficer);
        let err = return_hazard(&f, &a, &ReturnInput::default(), today(), &Policy::default())
            .unwrap_err();
        assert_eq!(fields(&err), ["reason"]);
        let ok = ReturnInput {
            reason: Some("缺少判定依据".into()),
        };
        let out = return_hazard(&f, &a, &ok, today(), &Policy::default()).unwrap();
        assert_eq!(out.status, Status::Returned);
    }

    #[test]
    fn post_assigns_number_and_deadlines() {
        let f = facts(Status::Submitted, Level::General);
        let out = post_as(Role::StreetOfficer, &f, &valid_post()).unwrap();
        assert_eq!(out.status, Status::OnLedger);
        assert!(out.assign_ledger_no);
        assert_eq!(out.deadline, Some(d("2023-10-31")));
        assert_eq!(out.effective_deadline, Some(d("2023-10-31")));
        assert_eq!(out.level, None);
    }

    #[test]
    fn post_deadline_rules() {
        let mut f = facts(Status::Submitted, Level::General);
        let err = post_as(Role::StreetOfficer, &f, &PostInput::default()).unwrap_err();
        assert_eq!(fields(&err), ["deadline"]);
        let past = PostInput {
            deadline: Some(today().pred_opt().unwrap()),
            ..PostInput::default()
        };
        assert_eq!(
            fields(&post_as(Role::StreetOfficer, &f, &past).unwrap_err()),
            ["deadline"]
        );
        let same_day = PostInput {
            deadline: Some(today()),
            ..PostInput::default()
        };
        assert!(post_as(Role::StreetOfficer, &f, &same_day).is_ok());
        f.content.discovered_on = Some(today() + Days::new(1));
        assert_eq!(
            fields(&post_as(Role::StreetOfficer, &f, &same_day).unwrap_err()),
            ["deadline"]
        );
    }

    #[test]
    fn street_may_not_raise_or_lower() {
        let g = facts(Status::Submitted, Level::General);
        let m = facts(Status::Submitted, Level::Major);
        let up = PostInput {
            level: Some(Level::Major),
            ..valid_post()
        };
        let down = PostInput {
            level: Some(Level::General),
            ..valid_post()
        };
        let e = post_as(Role::StreetOfficer, &g, &up).unwrap_err();
        assert_eq!(
            (e.code(), e.http_status()),
            ("level_upgrade_forbidden", 403)
        );
        let e = post_as(Role::StreetOfficer, &m, &down).unwrap_err();
        assert_eq!(
            (e.code(), e.http_status()),
            ("level_downgrade_forbidden", 403)
        );
        let e = post_as(Role::StreetOfficer, &m, &valid_post()).unwrap_err();
        assert_eq!(e.code(), "role_forbidden");
    }

    #[test]
    fn department_changes_level_with_reason_and_basis() {
        let g = facts(Status::Submitted, Level::General);
        let mut up = PostInput {
            level: Some(Level::Major),
            ..valid_post()
        };
        let err = post_as(Role::DepartmentInspector, &g, &up).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "level_change_reason",
                "judgement_basis.standard",
                "judgement_basis.clause"
            ]
        );
        up.level_change_reason = Some("涉及有限空间作业".into());
        up.judgement_basis = Some(JudgementBasis {
            standard: Some("工贸企业重大事故隐患判定标准".into()),
            clause: Some("第十条第(一)项".into()),
        });
        let mut g_no_plan = g.clone();
        g_no_plan.plan_filed = false;
        let out = post_as(Role::DepartmentInspector, &g_no_plan, &up).unwrap();
        assert_eq!(out.level, Some(Level::Major));
        assert_eq!(out.warnings, ["plan_not_filed"]);

        let m = facts(Status::Submitted, Level::Major);
        let down = PostInput {
            level: Some(Level::General),
            ..valid_post()
        };
        let err = post_as(Role::DepartmentInspector, &m, &down).unwrap_err();
        assert_eq!(fields(&err), ["level_change_reason"]);
        let down = PostInput {
            level_change_reason: Some("不符合判定标准".into()),
            ..down
        };
        let out = post_as(Role::DepartmentInspector, &m, &down).unwrap();
        assert_eq!(out.level, Some(Level::General));
        let same = PostInput {
            level: Some(Level::Major),
            ..valid_post()
        };
        assert_eq!(
            post_as(Role::DepartmentInspector, &m, &same).unwrap().level,
            None
        );
    }

    #[test]
    fn void_reason_rules() {
        let f = facts(Status::OnLedger, Level::General);
        let a = actor(Role::StreetOfficer);
        let p = Policy::default();
        let err = void(&f, &a, &VoidInput::default(), today(), &p).unwrap_err();
        assert_eq!(fields(&err), ["reason"]);
        let dup = VoidInput {
            reason: Some(VoidReason::Duplicate),
            ..VoidInput::default()
        };
        assert_eq!(
            fields(&void(&f, &a, &dup, today(), &p).unwrap_err()),
            ["duplicate_of"]
        );
        let moved = VoidInput {
            reason: Some(VoidReason::Transferred),
            ..VoidInput::default()
        };
        assert_eq!(
            fields(&void(&f, &a, &moved, today(), &p).unwrap_err()),
            ["transfer_to"]
        );
        for reason in [VoidReason::Untrue, VoidReason::FalseReport] {
            let input = VoidInput {
                reason: Some(reason),
                ..VoidInput::default()
            };
            assert_eq!(
                void(&f, &a, &input, today(), &p).unwrap().status,
                Status::Void
            );
        }
        let dup = VoidInput {
            duplicate_of: Some("hz-1".into()),
            ..dup
        };
        let out = void(&f, &a, &dup, today(), &p).unwrap();
        assert_eq!(out.listed, None, "an unlisted hazard stays unlisted");
        // Voiding a listed 重大 hazard ends its supervision, as closing does.
        let mut listed = facts(Status::InRectification, Level::Major);
        listed.listed = true;
        let inspector = actor(Role::DepartmentInspector);
        assert_eq!(
            void(&listed, &inspector, &dup, today(), &p).unwrap().listed,
            Some(false)
        );
    }
}
