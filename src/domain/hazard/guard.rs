//! The shared first steps of every action: frozen, then role, then status.

use super::codes::{Action, Level, Role, Status};
use super::facts::{Actor, HazardFacts};
use crate::domain::DomainError;

/// Closed and void hazards refuse everything, before any role is looked at.
pub(super) fn not_frozen(facts: &HazardFacts) -> Result<(), DomainError> {
    if facts.status.is_terminal() {
        Err(DomainError::InvalidState {
            code: "hazard_frozen",
            current: facts.status.to_string(),
            message: format!("a {} hazard cannot be changed", facts.status),
        })
    } else {
        Ok(())
    }
}

/// `role_forbidden` for `role` doing `action`.
pub(super) fn forbidden(role: Role, action: Action, level: Level) -> DomainError {
    DomainError::Forbidden {
        code: "role_forbidden",
        message: format!("{role} may not {action} a {level} hazard"),
    }
}

/// `Ok` when `allowed`, else `role_forbidden`.
pub(super) fn role_may(
    allowed: bool,
    role: Role,
    action: Action,
    level: Level,
) -> Result<(), DomainError> {
    if allowed {
        Ok(())
    } else {
        Err(forbidden(role, action, level))
    }
}

/// DESIGN "Routing": one primary department accepts; the others are copied. An inspector of a
/// copied department sees the hazard but may not take the primary department's decisions
/// (`not_primary_department`). Without an actor (the role-only view) or a known department
/// there is nothing to compare.
pub(super) fn primary_department_only(
    facts: &HazardFacts,
    actor: Option<&Actor>,
    action: Action,
) -> Result<(), DomainError> {
    let Some(Actor {
        role: Role::DepartmentInspector,
        department: Some(own),
        ..
    }) = actor
    else {
        return Ok(());
    };
    if facts.primary_department.is_empty() || *own == facts.primary_department {
        return Ok(());
    }
    Err(DomainError::Forbidden {
        code: "not_primary_department",
        message: format!(
            "only the primary department ({}) may {action} this hazard; {own} is copied",
            facts.primary_department
        ),
    })
}

/// A 409 with the current status.
pub(super) fn state_error(facts: &HazardFacts, code: &'static str, message: String) -> DomainError {
    DomainError::InvalidState {
        code,
        current: facts.status.to_string(),
        message,
    }
}

/// `invalid_state` unless the status is one of `states`.
pub(super) fn status_in(
    facts: &HazardFacts,
    action: Action,
    states: &[Status],
) -> Result<(), DomainError> {
    if states.contains(&facts.status) {
        Ok(())
    } else {
        let allowed: Vec<&str> = states.iter().map(|s| s.as_str()).collect();
        Err(state_error(
            facts,
            "invalid_state",
            format!(
                "cannot {action} from {}; allowed from {}",
                facts.status,
                allowed.join(", ")
            ),
        ))
    }
}

/// Frozen, role and status checks in the documented order.
pub(super) fn gate(
    facts: &HazardFacts,
    action: Action,
    role_check: Result<(), DomainError>,
    states: &[Status],
) -> Result<(), DomainError> {
    not_frozen(facts)?;
    role_check?;
    status_in(facts, action, states)
}

/// Every non-terminal status.
pub(super) const OPEN: &[Status] = &[
    Status::Draft,
    Status::Submitted,
    Status::Returned,
    Status::OnLedger,
    Status::InRectification,
    Status::PendingAcceptance,
];
