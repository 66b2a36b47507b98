//! The six-part 治理方案: filed by the principal, acknowledged (备案) by the department.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::codes::{Action, Role, Status};
use super::facts::{Actor, HazardFacts, Outcome, Plan, Policy};
use super::guard::{gate, primary_department_only, role_may, state_error};
use crate::domain::{DomainError, FieldErrors};

/// 五落实 (L10: 责任、措施、资金、时限、预案) of a 重大 hazard: each in place or not, read off
/// its report, its 治理方案 and its deadline. The department's 备案 of the plan (T7) confirms
/// them; `plan_acknowledged` says whether it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FiveImplementations {
    /// 责任: a responsible person and phone, and the plan's organisation and people.
    pub responsibility: bool,
    /// 措施: the plan's methods and the temporary measures meanwhile.
    pub measures: bool,
    /// 资金: the planned funds and the plan's funds and materials.
    pub funds: bool,
    /// 时限: a deadline on the ledger and the plan's timeline.
    pub time_limit: bool,
    /// 预案: the plan's safety measures and emergency plan.
    pub emergency_plan: bool,
    /// All five.
    pub complete: bool,
}

/// The 五落实 of a 重大 hazard; `None` for a 一般 one (no 治理方案 is asked of it).
pub fn five_implementations(facts: &HazardFacts) -> Option<FiveImplementations> {
    if facts.level != super::codes::Level::Major {
        return None;
    }
    let given = |t: &Option<String>| t.as_deref().is_some_and(|t| !t.trim().is_empty());
    let c = &facts.content;
    let plan = c.plan.clone().unwrap_or_default();
    let responsibility =
        given(&c.responsible_person) && given(&c.responsible_phone) && given(&plan.org_people);
    let measures = given(&plan.methods) && given(&c.temporary_measures);
    let funds = given(&c.planned_funds) && given(&plan.funds_materials);
    let time_limit = facts.effective_deadline.is_some() && given(&plan.timeline);
    let emergency_plan = given(&plan.safety_and_emergency);
    Some(FiveImplementations {
        responsibility,
        measures,
        funds,
        time_limit,
        emergency_plan,
        complete: responsibility && measures && funds && time_limit && emergency_plan,
    })
}

/// Body of plan acknowledgement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcknowledgePlanInput {
    /// The department's remarks.
    pub opinion: Option<String>,
}

/// Statuses in which a plan may be filed: before rectification starts.
const PLAN_STATES: &[Status] = &[
    Status::Draft,
    Status::Returned,
    Status::Submitted,
    Status::OnLedger,
];

/// Statuses in which a filed plan may be acknowledged.
const ACK_STATES: &[Status] = &[Status::Submitted, Status::OnLedger];

pub(super) fn guard_file_plan(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::FilePlan,
        role_may(
            role == Role::EnterprisePrincipal,
            role,
            Action::FilePlan,
            facts.level,
        ),
        PLAN_STATES,
    )?;
    // The 治理方案 (L8) belongs to a 重大 hazard; a 一般 one is rectified without it.
    if facts.level != super::codes::Level::Major {
        return Err(state_error(
            facts,
            "level_not_major",
            "a rectification plan (治理方案) is filed for a major hazard only".into(),
        ));
    }
    Ok(())
}

/// Files (or re-files) the six-part plan; principal only. A re-filed plan needs a new acknowledgement.
pub fn file_plan(
    facts: &HazardFacts,
    actor: &Actor,
    input: &Plan,
    _today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_file_plan(facts, actor.role)?;
    let mut e = FieldErrors::new();
    for part in input.missing_parts() {
        e.add(part, "required");
    }
    e.finish()?;
    let mut out = Outcome::to(facts.status);
    out.plan_filed = Some(true);
    out.plan_acknowledged = Some(false);
    Ok(out)
}

pub(super) fn guard_acknowledge_plan(
    facts: &HazardFacts,
    role: Role,
    actor: Option<&Actor>,
) -> Result<(), DomainError> {
    gate(
        facts,
        Action::AcknowledgePlan,
        role_may(
            role == Role::DepartmentInspector,
            role,
            Action::AcknowledgePlan,
            facts.level,
        )
        .and_then(|()| primary_department_only(facts, actor, Action::AcknowledgePlan)),
        ACK_STATES,
    )?;
    if !facts.plan_filed {
        return Err(state_error(
            facts,
            "plan_not_filed",
            "no plan has been filed".into(),
        ));
    }
    if facts.plan_acknowledged {
        return Err(state_error(
            facts,
            "invalid_state",
            "the plan is already acknowledged".into(),
        ));
    }
    Ok(())
}

/// Acknowledges (备案) the filed plan; department inspector only.
pub fn acknowledge_plan(
    facts: &HazardFacts,
    actor: &Actor,
    _input: &AcknowledgePlanInput,
    _today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_acknowledge_plan(facts, actor.role, Some(actor))?;
    let mut out = Outcome::to(facts.status);
    out.plan_acknowledged = Some(true);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::domain::hazard::codes::Level;

    #[test]
    fn filing_needs_all_six_parts() {
        let f = facts(Status::OnLedger, Level::Major);
        let a = actor(Role::EnterprisePrincipal);
        let err = file_plan(&f, &a, &Plan::default(), today(), &Policy::default()).unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "goal",
                "methods",
                "funds_materials",
                "org_people",
                "timeline",
                "safety_and_emergency"
            ]
        );
        let out = file_plan(&f, &a, &full_plan(), today(), &Policy::default()).unwrap();
        assert_eq!(out.status, Status::OnLedger);
        assert_eq!(
            (out.plan_filed, out.plan_acknowledged),
            (Some(true), Some(false))
        );
    }

    #[test]
    fn acknowledging_needs_a_filed_unacknowledged_plan() {
        let a = actor(Role::DepartmentInspector);
        let input = AcknowledgePlanInput::default();
        let mut f = facts(Status::OnLedger, Level::Major);
        f.plan_filed = false;
        f.plan_acknowledged = false;
        let err = acknowledge_plan(&f, &a, &input, today(), &Policy::default()).unwrap_err();
        assert_eq!((err.code(), err.http_status()), ("plan_not_filed", 409));
        f.plan_filed = true;
        let out = acknowledge_plan(&f, &a, &input, today(), &Policy::default()).unwrap();
        assert_eq!(out.plan_acknowledged, Some(true));
        f.plan_acknowledged = true;
        let err = acknowledge_plan(&f, &a, &input, today(), &Policy::default()).unwrap_err();
        assert_eq!(err.code(), "invalid_state");
    }
}
