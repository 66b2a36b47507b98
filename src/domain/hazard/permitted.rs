//! Which actions a role may take on a hazard now, for user interfaces.

use super::acceptance::{guard_accept, guard_quick_fix};
use super::codes::{Action, Role};
use super::draft::{guard_edit, guard_submit};
use super::dual_report::{guard_congress_report, guard_employee_notice, guard_major_report};
use super::facts::{Actor, HazardFacts};
use super::listing::guard_list;
use super::plan::{guard_acknowledge_plan, guard_file_plan};
use super::rectification::{
    guard_complete, guard_decide_extension, guard_overdue_explanation, guard_progress,
    guard_request_extension, guard_start,
};
use super::review::{guard_post, guard_return, guard_void};
use crate::domain::DomainError;

/// The role, status and precondition checks of `action`, without its input fields.
fn guard(
    facts: &HazardFacts,
    role: Role,
    actor: Option<&Actor>,
    action: Action,
) -> Result<(), DomainError> {
    match action {
        Action::Edit => guard_edit(facts, role, actor),
        // A safety officer may always choose to report directly.
        Action::Submit => guard_submit(facts, role, actor, true),
        Action::Return => guard_return(facts, role),
        Action::Post => guard_post(facts, role, facts.level),
        Action::Void => guard_void(facts, role),
        Action::FilePlan => guard_file_plan(facts, role),
        Action::AcknowledgePlan => guard_acknowledge_plan(facts, role, actor),
        Action::Start => guard_start(facts, role),
        Action::Progress => guard_progress(facts, role),
        Action::RequestExtension => guard_request_extension(facts, role),
        Action::DecideExtension => guard_decide_extension(facts, role, actor),
        Action::Complete => guard_complete(facts, role),
        Action::Accept => guard_accept(facts, role, actor),
        Action::QuickFix => guard_quick_fix(facts, role),
        Action::CongressReport => guard_congress_report(facts, role, None),
        Action::EmployeeNotice => guard_employee_notice(facts, role),
        Action::OverdueExplanation => guard_overdue_explanation(facts, role),
        Action::List => guard_list(facts, role),
        Action::MajorReport => guard_major_report(facts, role),
    }
}

/// Actions `role` may take on the hazard now (role, status and stored preconditions; not input
/// fields, not the extension time window — see `deadline::extension_window` — and not the
/// verifier's identity — see [`permitted_actions_for`]).
pub fn permitted_actions(facts: &HazardFacts, role: Role) -> Vec<&'static str> {
    Action::ALL
        .iter()
        .filter(|&&a| guard(facts, role, None, a).is_ok())
        .map(|a| a.as_str())
        .collect()
}

/// As [`permitted_actions`], also leaving out acceptance when the actor reported the hazard,
/// and the primary department's decisions when the actor's department is only copied.
pub fn permitted_actions_for(facts: &HazardFacts, actor: &Actor) -> Vec<&'static str> {
    Action::ALL
        .iter()
        .filter(|&&a| guard(facts, actor.role, Some(actor), a).is_ok())
        .map(|a| a.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::codes::{Level, Status};
    use super::super::fixtures::*;
    use super::*;

    const E: &[Role] = &[
        Role::EnterpriseReporter,
        Role::EnterprisePrincipal,
        Role::EnterpriseSafetyOfficer,
    ];

    /// The roles allowed per action and level, written out from DESIGN.md independently of the code.
    fn allowed_roles(action: Action, level: Level) -> Vec<Role> {
        use Role::*;
        let general = level == Level::General;
        match action {
            // Officers edit only what they filed themselves (a test below).
            Action::Edit => E.to_vec(),
            Action::Submit if general => E.to_vec(),
            Action::Submit => vec![EnterprisePrincipal, EnterpriseSafetyOfficer],
            Action::Return => vec![StreetOfficer, DepartmentInspector],
            Action::Post | Action::Void if general => vec![StreetOfficer, DepartmentInspector],
            Action::Post | Action::Void => vec![DepartmentInspector],
            Action::FilePlan | Action::Start | Action::RequestExtension => {
                vec![EnterprisePrincipal]
            }
            Action::AcknowledgePlan | Action::DecideExtension => vec![DepartmentInspector],
            Action::Progress | Action::QuickFix => E.to_vec(),
            Action::CongressReport | Action::EmployeeNotice | Action::OverdueExplanation => {
                E.to_vec()
            }
            Action::Complete if general => E.to_vec(),
            Action::Complete => vec![EnterprisePrincipal],
            Action::Accept if general => vec![StreetOfficer],
            Action::Accept => vec![DepartmentInspector],
            Action::List => vec![DistrictOffice],
            Action::MajorReport => vec![EnterprisePrincipal, EnterpriseSafetyOfficer],
        }
    }

    /// The statuses each action starts from.
    fn allowed_states(action: Action) -> Vec<Status> {
        use Status::*;
        match action {
            Action::Edit | Action::Submit => vec![Draft, Returned],
            Action::Return | Action::Post => vec![Submitted],
            Action::Void => vec![Submitted, Returned, OnLedger, InRectification],
            Action::FilePlan => vec![Draft, Returned, Submitted, OnLedger],
            Action::AcknowledgePlan => vec![Submitted, OnLedger],
            Action::Start => vec![OnLedger],
            Action::Progress | Action::RequestExtension | Action::List => {
                vec![OnLedger, InRectification]
            }
            Action::DecideExtension => vec![OnLedger, InRectification, PendingAcceptance],
            Action::Complete => vec![InRectification],
            Action::MajorReport | Action::OverdueExplanation => {
                vec![OnLedger, InRectification, PendingAcceptance]
            }
            Action::Accept => vec![PendingAcceptance],
            Action::QuickFix => vec![Draft, Submitted],
            Action::CongressReport | Action::EmployeeNotice => vec![
                Draft,
                Submitted,
                Returned,
                OnLedger,
                InRectification,
                PendingAcceptance,
            ],
        }
    }

    /// Codes for actions that exist for one level only.
    fn level_refusal(action: Action, level: Level) -> Option<&'static str> {
        match (action, level) {
            (Action::QuickFix, Level::Major) => Some("level_not_general"),
            (Action::List | Action::MajorReport | Action::FilePlan, Level::General) => {
                Some("level_not_major")
            }
            _ => None,
        }
    }

    #[test]
    fn every_action_role_level_and_status() {
        let mut checked = 0;
        for &action in Action::ALL {
            for level in [Level::General, Level::Major] {
                let roles = allowed_roles(action, level);
                let states = allowed_states(action);
                for &status in Status::ALL {
                    let f = prepare(action, facts(status, level));
                    for &role in Role::ALL {
                        let result = run(action, &f, &actor(role));
                        let ctx = format!("{action} {level} {status} {role}");
                        let expected: Result<(), (&str, u16)> = if status.is_terminal() {
                            Err(("hazard_frozen", 409))
                        } else if !roles.contains(&role) {
                            Err(("role_forbidden", 403))
                        } else if !states.contains(&status) {
                            Err(("invalid_state", 409))
                        } else if let Some(code) = level_refusal(action, level) {
                            Err((code, 409))
                        } else {
                            Ok(())
                        };
                        match (&result, expected) {
                            (Ok(_), Ok(())) => {}
                            (Err(e), Err((code, http))) => {
                                assert_eq!((e.code(), e.http_status()), (code, http), "{ctx}");
                            }
                            _ => panic!("{ctx}: got {result:?}, expected {expected:?}"),
                        }
                        if let Err(DomainError::InvalidState { current, .. }) = &result {
                            assert_eq!(current, status.as_str(), "{ctx}");
                        }
                        let listed = permitted_actions(&f, role).contains(&action.as_str());
                        assert_eq!(listed, result.is_ok(), "permitted_actions disagrees: {ctx}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, Action::ALL.len() * 2 * 8 * 7);
    }

    #[test]
    fn admin_and_district_office_take_no_hazard_decisions() {
        for &status in Status::ALL {
            for level in [Level::General, Level::Major] {
                let f = facts(status, level);
                assert!(permitted_actions(&f, Role::Admin).is_empty());
                let district = permitted_actions(&f, Role::DistrictOffice);
                assert!(district.iter().all(|a| *a == "list"), "{district:?}");
            }
        }
    }

    #[test]
    fn frozen_hazards_permit_nothing() {
        for status in [Status::Closed, Status::Void] {
            for &role in Role::ALL {
                assert!(permitted_actions(&facts(status, Level::Major), role).is_empty());
            }
        }
    }

    #[test]
    fn typical_screens() {
        let f = facts(Status::Submitted, Level::General);
        assert_eq!(
            permitted_actions(&f, Role::StreetOfficer),
            ["return", "post", "void"]
        );
        let mut m = facts(Status::OnLedger, Level::Major);
        m.plan_acknowledged = false;
        assert_eq!(
            permitted_actions(&m, Role::EnterprisePrincipal),
            [
                "file_plan",
                "progress",
                "request_extension",
                "congress_report",
                "employee_notice"
            ]
        );
        assert_eq!(
            permitted_actions(&m, Role::DepartmentInspector),
            ["void", "acknowledge_plan"]
        );
    }

    #[test]
    fn listed_hazards_move_extension_decisions_to_the_district_office() {
        let mut f = facts(Status::InRectification, Level::Major);
        f.pending_extension = Some(d("2023-11-30"));
        assert!(permitted_actions(&f, Role::DepartmentInspector).contains(&"decide_extension"));
        f.listed = true;
        assert!(!permitted_actions(&f, Role::DepartmentInspector).contains(&"decide_extension"));
        assert!(permitted_actions(&f, Role::DistrictOffice).contains(&"decide_extension"));
    }

    #[test]
    fn the_reporter_is_not_offered_acceptance() {
        let mut f = facts(Status::PendingAcceptance, Level::General);
        let officer = actor(Role::StreetOfficer);
        assert_eq!(permitted_actions_for(&f, &officer), ["accept"]);
        f.reporter_id = officer.user_id.clone();
        assert!(permitted_actions_for(&f, &officer).is_empty());
        assert_eq!(permitted_actions(&f, Role::StreetOfficer), ["accept"]);
    }
}
