//! Accounts: creating users (API and command line alike), their public view, and sessions.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::token::{self, Claims, TokenKeys};
use super::{Hasher, Org};
use crate::config::AuthConfig;
use crate::db::DbConn;
use crate::db::schema::{departments, enterprises, streets};
use crate::db::users::{self, SessionRow, UserRow};
use crate::domain::hazard::Role;
use crate::domain::validate::validate_email;
use crate::domain::{FieldError, FieldErrors};
use crate::error::{AppError, AppResult};
use crate::policy::TargetOrg;

/// A user as the API shows it (never the hash).
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: String,
    pub org: OrgView,
    pub active: bool,
    pub must_change_password: bool,
    #[serde(serialize_with = "crate::timefmt::serialize_opt")]
    pub last_login_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub created_at: NaiveDateTime,
}

/// An organisation with its name.
#[derive(Debug, Clone, Serialize)]
pub struct OrgView {
    pub kind: &'static str,
    pub code: String,
    pub name: String,
}

/// The view of a user, with the organisation's name.
pub fn view(conn: &mut DbConn, user: &UserRow) -> QueryResult<UserView> {
    let org = match Org::of(user) {
        Some(Org::Enterprise(id)) => OrgView {
            kind: "enterprise",
            name: enterprises::table
                .find(&id)
                .select(enterprises::name)
                .get_result(conn)?,
            code: id,
        },
        Some(Org::Street(code)) => OrgView {
            kind: "street",
            name: streets::table
                .find(&code)
                .select(streets::name)
                .get_result(conn)?,
            code,
        },
        Some(Org::Department(code)) => OrgView {
            kind: "department",
            name: departments::table
                .find(&code)
                .select(departments::name)
                .get_result(conn)?,
            code,
        },
        None => OrgView {
            kind: "none",
            code: String::new(),
            name: String::new(),
        },
    };
    Ok(UserView {
        id: user.id.clone(),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        email: user.email.clone(),
        role: user.role.clone(),
        org,
        active: user.active,
        must_change_password: user.must_change_password,
        last_login_at: user.last_login_at,
        created_at: user.created_at,
    })
}

/// Resolves an organisation code: a street code, a department code, an enterprise id or USCC.
pub fn resolve_org(conn: &mut DbConn, code: &str) -> QueryResult<Option<TargetOrg>> {
    let code = code.trim();
    if let Some(s) = streets::table
        .find(code.to_uppercase())
        .select(streets::code)
        .get_result::<String>(conn)
        .optional()?
    {
        return Ok(Some(TargetOrg {
            org: Org::Street(s.clone()),
            street: Some(s),
            department_kind: None,
        }));
    }
    if let Some((d, kind)) = departments::table
        .find(code.to_uppercase())
        .select((departments::code, departments::kind))
        .get_result::<(String, String)>(conn)
        .optional()?
    {
        return Ok(Some(TargetOrg {
            org: Org::Department(d),
            street: None,
            department_kind: Some(kind),
        }));
    }
    if let Some((id, street)) = enterprises::table
        .filter(
            enterprises::id
                .eq(code)
                .or(enterprises::uscc.eq(code.to_uppercase())),
        )
        .select((enterprises::id, enterprises::street_code))
        .get_result::<(String, String)>(conn)
        .optional()?
    {
        return Ok(Some(TargetOrg {
            org: Org::Enterprise(id),
            street: Some(street),
            department_kind: None,
        }));
    }
    Ok(None)
}

/// A checked request to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub target: TargetOrg,
    pub password_hash: String,
    pub must_change_password: bool,
}

/// Checks the username syntax (lower-cased: letters, digits, `.`, `_`, `-`; 3–64).
pub fn normalize_username(input: &str) -> Result<String, &'static str> {
    let u = input.trim().to_lowercase();
    let ok_len = (3..=64).contains(&u.chars().count());
    let ok_chars = u
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let starts_ok = u.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok_len && ok_chars && starts_ok {
        Ok(u)
    } else {
        Err("3–64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit")
    }
}

/// Fields of a user creation before the organisation is resolved.
pub struct UserInput<'a> {
    pub username: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub role: Option<&'a str>,
    pub org: Option<&'a str>,
}

/// Validates every field at once and resolves the organisation.
pub fn check_user_input(
    conn: &mut DbConn,
    input: &UserInput<'_>,
) -> AppResult<(String, String, Option<String>, Role, TargetOrg)> {
    let mut errors = FieldErrors::new();
    let username = match errors.require_text("username", input.username) {
        Some(u) => match normalize_username(u) {
            Ok(u) => Some(u),
            Err(m) => {
                errors.add("username", m);
                None
            }
        },
        None => None,
    };
    let role = match errors.require_text("role", input.role) {
        Some(r) => match r.parse::<Role>() {
            Ok(r) => Some(r),
            Err(_) => {
                errors.add("role", "unknown role");
                None
            }
        },
        None => None,
    };
    let email = match input.email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => match validate_email(e) {
            Ok(()) => Some(e.to_string()),
            Err(m) => {
                errors.add("email", m);
                None
            }
        },
        None => None,
    };
    let target = match errors.require_text("org", input.org) {
        Some(code) => match resolve_org(conn, code)? {
            Some(t) => Some(t),
            None => {
                errors.add("org", "no street, department or enterprise with this code");
                None
            }
        },
        None => None,
    };
    if let (Some(role), Some(target)) = (role, &target)
        && let Err(m) = crate::policy::role_fits_org(role, target)
    {
        errors.add("role", m);
    }
    if let Some(u) = &username
        && users::by_username(conn, u)?.is_some()
    {
        return Err(AppError::conflict(
            "duplicate_username",
            "This username is taken.",
        ));
    }
    errors.finish()?;
    let username = username.unwrap_or_default();
    let display_name = input
        .display_name
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map_or_else(|| username.clone(), str::to_string);
    Ok((
        username,
        display_name,
        email,
        role.unwrap_or(Role::EnterpriseReporter),
        target.expect("checked above"),
    ))
}

/// Inserts a checked user.
pub fn insert_user(conn: &mut DbConn, new: NewUser, now: NaiveDateTime) -> QueryResult<UserRow> {
    let (enterprise_id, street_code, department_code) = match &new.target.org {
        Org::Enterprise(e) => (Some(e.clone()), None, None),
        Org::Street(s) => (None, Some(s.clone()), None),
        Org::Department(d) => (None, None, Some(d.clone())),
    };
    let row = UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        username: new.username,
        display_name: new.display_name,
        email: new.email,
        role: new.role.as_str().to_string(),
        enterprise_id,
        street_code,
        department_code,
        password_hash: new.password_hash,
        active: true,
        must_change_password: new.must_change_password,
        token_version: 0,
        failed_logins: 0,
        locked_until: None,
        last_login_at: None,
        created_at: now,
        updated_at: now,
    };
    users::insert(conn, &row)?;
    Ok(row)
}

/// Checks a new password against the rules.
pub fn check_password(hasher: &Hasher, username: &str, password: &str) -> AppResult<()> {
    hasher
        .check_policy(username, password)
        .map_err(|e: FieldError| AppError::validation(vec![e]))
}

/// What a login or refresh answers.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub user: UserView,
}

/// Signs an access token for `user` in `session_id`.
pub fn access_token(
    keys: &TokenKeys,
    config: &AuthConfig,
    user: &UserRow,
    session_id: &str,
    now: DateTime<Utc>,
) -> AppResult<(String, i64)> {
    let expires_in = config.access_token_minutes * 60;
    let claims = Claims {
        sub: user.id.clone(),
        role: user.role.clone(),
        org: Org::of(user)
            .map(|o| o.code().to_string())
            .unwrap_or_default(),
        iat: now.timestamp(),
        exp: now.timestamp() + expires_in,
        jti: uuid::Uuid::new_v4().to_string(),
        tv: user.token_version,
        sid: session_id.to_string(),
        web: false,
    };
    Ok((keys.sign(&claims).map_err(AppError::internal)?, expires_in))
}

/// Opens a new session for `user` and answers its tokens.
pub fn open_session(
    conn: &mut DbConn,
    keys: &TokenKeys,
    config: &AuthConfig,
    user: &UserRow,
    now: DateTime<Utc>,
) -> AppResult<TokenResponse> {
    let session = SessionRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        created_at: now.naive_utc(),
        expires_at: (now + Duration::days(config.session_days)).naive_utc(),
        revoked_at: None,
        revoked_reason: None,
    };
    let (refresh_token, hash) = token::new_refresh_token();
    users::open_session(conn, &session, &hash)?;
    let (access_token, expires_in) = access_token(keys, config, user, &session.id, now)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        refresh_token,
        user: view(conn, user)?,
    })
}

/// Opens a session for the pages and answers the cookie's value: a signed token of the
/// session, valid as long as the session (`auth.session_days`), revoked with it.
pub fn open_web_session(
    conn: &mut DbConn,
    keys: &TokenKeys,
    config: &AuthConfig,
    user: &UserRow,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let expires = now + Duration::days(config.session_days);
    let session = SessionRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: user.id.clone(),
        created_at: now.naive_utc(),
        expires_at: expires.naive_utc(),
        revoked_at: None,
        revoked_reason: None,
    };
    // The refresh token is never handed out: the cookie carries the session.
    let (_, hash) = token::new_refresh_token();
    users::open_session(conn, &session, &hash)?;
    let claims = Claims {
        sub: user.id.clone(),
        role: user.role.clone(),
        org: Org::of(user)
            .map(|o| o.code().to_string())
            .unwrap_or_default(),
        iat: now.timestamp(),
        exp: expires.timestamp(),
        jti: uuid::Uuid::new_v4().to_string(),
        tv: user.token_version,
        sid: session.id,
        web: true,
    };
    keys.sign(&claims).map_err(AppError::internal)
}
