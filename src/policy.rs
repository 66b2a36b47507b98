//! The one place that decides who sees and may change what. Handlers ask here; list queries
//! take the scope built here. An object outside the caller's scope is reported as missing (404),
//! a visible object with a forbidden action as 403.

use crate::auth::{Caller, Org};
use crate::db::enterprises::Enterprise;
use crate::db::users::UserRow;
use crate::domain::hazard::Role;
use crate::error::{AppError, AppResult};

/// Which enterprises a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnterpriseScope {
    /// Admin and the district office.
    All,
    /// A street officer: the enterprises of the street.
    Street(String),
    /// A department inspector: enterprises with a sector routed to the department.
    Department(String),
    /// An enterprise user: that enterprise.
    Only(String),
}

/// Which users a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserScope {
    /// Admin.
    All,
    /// A street officer: self and the users of the street's enterprises.
    SelfAndStreetEnterprises { user_id: String, street: String },
    /// Everyone else: self.
    SelfOnly(String),
}

/// The enterprises `caller` may see.
pub fn enterprise_scope(caller: &Caller) -> EnterpriseScope {
    match (caller.role, &caller.org) {
        (Role::Admin | Role::DistrictOffice, _) => EnterpriseScope::All,
        (Role::StreetOfficer, Org::Street(s)) => EnterpriseScope::Street(s.clone()),
        (Role::DepartmentInspector, Org::Department(d)) => EnterpriseScope::Department(d.clone()),
        (_, Org::Enterprise(e)) => EnterpriseScope::Only(e.clone()),
        // A role whose organisation does not fit sees only what no id matches.
        _ => EnterpriseScope::Only(String::new()),
    }
}

/// The users `caller` may see.
pub fn user_scope(caller: &Caller) -> UserScope {
    match (caller.role, &caller.org) {
        (Role::Admin, _) => UserScope::All,
        (Role::StreetOfficer, Org::Street(s)) => UserScope::SelfAndStreetEnterprises {
            user_id: caller.user_id.clone(),
            street: s.clone(),
        },
        _ => UserScope::SelfOnly(caller.user_id.clone()),
    }
}

fn forbidden(detail: &str) -> AppError {
    AppError::forbidden("forbidden", detail)
}

/// Whether the caller's role registers enterprises at all: checked before the body is read, so
/// that another role is refused (403) whatever it sent.
pub fn may_register_enterprises(caller: &Caller) -> AppResult<()> {
    match caller.role {
        Role::Admin | Role::DistrictOffice | Role::StreetOfficer => Ok(()),
        _ => Err(forbidden(
            "Only street officers, the district office and admins register enterprises.",
        )),
    }
}

/// Whether the caller creates users: the admin's (DESIGN: users are the admin's), checked
/// before the body is read. A street officer registers the street's enterprises but creates
/// none of their accounts: whoever creates an account knows its first password (given or
/// generated), and an officer who could log in as an enterprise's principal could report,
/// complete and then accept its hazards alone.
pub fn may_create_users(caller: &Caller) -> AppResult<()> {
    match caller.role {
        Role::Admin => Ok(()),
        _ => Err(forbidden(
            "Only admins create users (an enterprise's accounts too: whoever creates an account knows its first password).",
        )),
    }
}

/// Registering an enterprise in `street`.
pub fn may_create_enterprise(caller: &Caller, street: &str) -> AppResult<()> {
    match (caller.role, &caller.org) {
        (Role::Admin | Role::DistrictOffice, _) => Ok(()),
        (Role::StreetOfficer, Org::Street(s)) if s == street => Ok(()),
        (Role::StreetOfficer, _) => Err(forbidden(
            "A street officer registers enterprises of their own street only.",
        )),
        _ => Err(forbidden(
            "Only street officers, the district office and admins register enterprises.",
        )),
    }
}

/// Editing a visible enterprise, possibly moving it to `new_street`.
pub fn may_update_enterprise(
    caller: &Caller,
    e: &Enterprise,
    new_street: Option<&str>,
) -> AppResult<()> {
    match (caller.role, &caller.org) {
        (Role::Admin | Role::DistrictOffice, _) => Ok(()),
        (Role::StreetOfficer, Org::Street(s)) if *s == e.street => match new_street {
            Some(n) if n != s => Err(forbidden(
                "Moving an enterprise to another street is for the district office.",
            )),
            _ => Ok(()),
        },
        _ => Err(forbidden("You may read this enterprise but not change it.")),
    }
}

/// The organisation a new or changed user would belong to, resolved from the reference data.
#[derive(Debug, Clone)]
pub struct TargetOrg {
    pub org: Org,
    /// The street of an enterprise, or of a street org.
    pub street: Option<String>,
    /// `department` or `district_office` for department orgs.
    pub department_kind: Option<String>,
}

/// Whether `role` fits the kind of organisation (enterprise roles in enterprises, …).
pub fn role_fits_org(role: Role, target: &TargetOrg) -> Result<(), &'static str> {
    let ok = match (&target.org, role) {
        (Org::Enterprise(_), r) => r.is_enterprise(),
        (Org::Street(_), r) => r == Role::StreetOfficer,
        (Org::Department(_), Role::DepartmentInspector) => {
            target.department_kind.as_deref() == Some("department")
        }
        (Org::Department(_), Role::DistrictOffice) => {
            target.department_kind.as_deref() == Some("district_office")
        }
        (Org::Department(_), Role::Admin) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(
            "the role does not fit the organisation (enterprise roles need an enterprise, street_officer a street, department_inspector a department, district_office the district office)",
        )
    }
}

/// What a PATCH of a user touches.
#[derive(Debug, Default, Clone, Copy)]
pub struct UserChangeKinds {
    pub profile: bool,
    pub active: bool,
    pub password: bool,
}

/// Changing a visible user.
pub fn may_update_user(
    caller: &Caller,
    target: &UserRow,
    change: UserChangeKinds,
) -> AppResult<()> {
    if caller.role == Role::Admin {
        return Ok(());
    }
    let is_self = caller.user_id == target.id;
    let managed_by_street =
        caller.role == Role::StreetOfficer && target.enterprise_id.is_some() && !is_self;
    if managed_by_street {
        // Visibility already limits a street officer to enterprise users of the street. Their
        // name and address, not the account: a password set by the officer would let the
        // officer act as the enterprise's principal, and disabling one is the admin's (DESIGN:
        // users are the admin's).
        if change.active || change.password {
            return Err(forbidden(
                "An enterprise user's password and access are changed by an admin.",
            ));
        }
        return Ok(());
    }
    if is_self && !change.active && !change.password {
        return Ok(());
    }
    Err(forbidden(if is_self {
        "Change your own password with POST /api/v1/auth/password; accounts are enabled by an admin."
    } else {
        "You may not change this user."
    }))
}

/// Which hazards a caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HazardScope {
    /// The district office and admins: every submitted hazard.
    All,
    /// A street officer: the street's hazards (and drafts they created).
    Street { street: String, user_id: String },
    /// A department inspector: hazards routed to the department, primary or copied (and drafts they created).
    Department { department: String, user_id: String },
    /// An enterprise user: the enterprise's hazards, drafts included.
    Enterprise(String),
}

/// The hazards `caller` may see.
pub fn hazard_scope(caller: &Caller) -> HazardScope {
    match (caller.role, &caller.org) {
        (Role::Admin | Role::DistrictOffice, _) => HazardScope::All,
        (Role::StreetOfficer, Org::Street(s)) => HazardScope::Street {
            street: s.clone(),
            user_id: caller.user_id.clone(),
        },
        (Role::DepartmentInspector, Org::Department(d)) => HazardScope::Department {
            department: d.clone(),
            user_id: caller.user_id.clone(),
        },
        (_, Org::Enterprise(e)) => HazardScope::Enterprise(e.clone()),
        _ => HazardScope::Enterprise(String::new()),
    }
}

/// Whether a hazard's attachments may be downloaded follows its visibility; uploads are for
/// the enterprise's users and the officials who act on it (not admins, who decide nothing).
pub fn may_upload(caller: &Caller) -> AppResult<()> {
    match caller.role {
        Role::Admin => Err(forbidden("Admins take no part in hazard work.")),
        _ => Ok(()),
    }
}

/// The kinds of attachment an official adds: a photo of what they found (`before`) and any
/// other evidence of an inspection or an acceptance check (`other`). The after photos, the
/// plan, the assessment report and the employee notice are the enterprise's own documents
/// (T10, T13 and the 双报告 ask them of the enterprise): an official's upload of one is a 403,
/// so that a completion's evidence cannot come from someone else.
pub fn may_upload_kind(caller: &Caller, kind: &str) -> AppResult<()> {
    if uploads_every_kind(caller) || matches!(kind, "before" | "other") {
        return Ok(());
    }
    Err(AppError::forbidden(
        "role_forbidden",
        format!("{kind} attachments are the enterprise's own; an official adds before or other"),
    ))
}

/// Whether the caller may remove an attachment (the hazard's edit rules apart). Evidence is its
/// uploader's: an enterprise's user clears what a user of its enterprise uploaded
/// (`uploader_enterprise`, the uploader's enterprise, if any), an official only their own
/// upload (an official's photo of a finding is not the enterprise's to take away); a file
/// nobody uploaded by name (`uploaded_by` empty) stays.
pub fn may_remove_attachment(
    caller: &Caller,
    uploaded_by: Option<&str>,
    uploader_enterprise: Option<&str>,
) -> bool {
    match (uploaded_by, &caller.org) {
        (Some(by), _) if by == caller.user_id => true,
        (Some(_), Org::Enterprise(mine)) => uploader_enterprise == Some(mine.as_str()),
        _ => false,
    }
}

/// Whether the caller uploads attachments of every kind (the enterprise's users), not only
/// an official's (see [`may_upload_kind`]).
pub fn uploads_every_kind(caller: &Caller) -> bool {
    caller.role.is_enterprise()
}

/// Which tip-offs a caller handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TipScope {
    /// The district office: every tip, unrouted ones included.
    All,
    /// A street officer: the tips routed to the street.
    Street(String),
    /// A department inspector: the tips routed to the department.
    Department(String),
}

/// The tips `caller` handles; enterprise users and admins take no part in tips (403). Whoever
/// sees a tip handles it, and so also sees the reporter's contact.
pub fn tip_scope(caller: &Caller) -> AppResult<TipScope> {
    match (caller.role, &caller.org) {
        (Role::DistrictOffice, _) => Ok(TipScope::All),
        (Role::StreetOfficer, Org::Street(s)) => Ok(TipScope::Street(s.clone())),
        (Role::DepartmentInspector, Org::Department(d)) => Ok(TipScope::Department(d.clone())),
        _ => Err(AppError::forbidden(
            "role_forbidden",
            "Tip-offs are handled by street officers, department inspectors and the district office.",
        )),
    }
}
