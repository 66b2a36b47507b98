//! Who is calling: access tokens checked against the database on every request, passwords,
//! login rate limits.

pub mod accounts;
pub mod bootstrap;
pub mod password;
pub mod ratelimit;
pub mod token;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use serde::Serialize;

use crate::app::AppState;
use crate::db::users::UserRow;
use crate::domain::hazard::Role;
use crate::error::AppError;

pub use password::Hasher;
pub use ratelimit::LoginLimiter;
pub use token::TokenKeys;

/// The authentication services shared by every worker.
#[derive(Clone)]
pub struct AuthServices {
    pub keys: TokenKeys,
    pub hasher: Hasher,
    pub limiter: LoginLimiter,
}

/// The organisation a user belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum Org {
    /// An enterprise, by id.
    Enterprise(String),
    /// A street or town, by code.
    Street(String),
    /// A department or the district office, by code.
    Department(String),
}

impl Org {
    /// The organisation of a user row.
    pub fn of(user: &UserRow) -> Option<Self> {
        match (
            &user.enterprise_id,
            &user.street_code,
            &user.department_code,
        ) {
            (Some(e), None, None) => Some(Org::Enterprise(e.clone())),
            (None, Some(s), None) => Some(Org::Street(s.clone())),
            (None, None, Some(d)) => Some(Org::Department(d.clone())),
            _ => None,
        }
    }

    /// The code (enterprise id, street code or department code).
    pub fn code(&self) -> &str {
        match self {
            Org::Enterprise(c) | Org::Street(c) | Org::Department(c) => c,
        }
    }
}

/// An authenticated caller, checked against the database on this request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub org: Org,
    pub session_id: String,
    pub must_change_password: bool,
}

/// A caller who may still have to change the password (only `/me`, logout and the password
/// change accept one).
#[derive(Debug, Clone)]
pub struct PendingCaller(pub Caller);

fn unauthorized(code: &'static str, detail: &str) -> AppError {
    AppError::unauthorized(code, detail)
}

/// A verified bearer token whose user and session are still to be checked against the
/// database ([`Bearer::caller`]), so that a handler can do that on the connection and in the
/// thread-pool hop of its own work.
#[derive(Debug, Clone)]
pub struct Bearer {
    claims: token::Claims,
    /// When the token was checked; the session must not have expired by then.
    at: chrono::NaiveDateTime,
}

impl Bearer {
    /// The caller behind the token: 401 unless its user and session are still valid, 403 while
    /// the initial password has not been changed (as the [`Caller`] extractor answers).
    pub fn caller(&self, conn: &mut crate::db::DbConn) -> Result<Caller, AppError> {
        let caller = check_session(conn, &self.claims, self.at)?;
        require_password_changed(caller)
    }
}

/// Checks the bearer token (signature, expiry), not yet the user and session behind it.
fn bearer(req: &HttpRequest) -> Result<Bearer, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("app state missing"))?;
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            unauthorized(
                "unauthenticated",
                "Log in and send Authorization: Bearer <token>.",
            )
        })?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("unauthenticated", "Use the Bearer scheme."))?;
    let bearer = Bearer::from_token(state, token)?;
    // The pages' cookie lasts the whole session: it opens pages, not the API.
    if bearer.claims.web {
        return Err(unauthorized(
            "invalid_token",
            "A page session is not an API token; log in with POST /api/v1/auth/login.",
        ));
    }
    Ok(bearer)
}

impl Bearer {
    /// Checks a signed token given some other way than the header (the pages' session cookie).
    pub fn from_token(state: &AppState, token: &str) -> Result<Bearer, AppError> {
        let claims = state
            .auth
            .keys
            .verify(token, state.clock.now())
            .map_err(|e| match e {
                token::TokenError::Expired => {
                    unauthorized("token_expired", "The access token has expired; refresh it.")
                }
                token::TokenError::Invalid => {
                    unauthorized("invalid_token", "The access token is not valid.")
                }
            })?;
        Ok(Bearer {
            claims,
            at: state.clock.now().naive_utc(),
        })
    }
}

/// The caller of a page session (the pages' cookie): the signature, expiry and page claim,
/// then the user and the session as they are now in the database.
pub async fn authenticate_token(state: &AppState, token: &str) -> Result<Caller, AppError> {
    let bearer = Bearer::from_token(state, token)?;
    // The pages' cookie holds a page session; an API access token put into it opens no page
    // (as a page session opens no API call).
    if !bearer.claims.web {
        return Err(unauthorized(
            "invalid_token",
            "An API token is not a page session; log in on /login.",
        ));
    }
    state
        .db(move |c| check_session(c, &bearer.claims, bearer.at))
        .await
}

/// Checks the bearer token and the user and session behind it.
async fn authenticate(req: HttpRequest) -> Result<Caller, AppError> {
    let bearer = bearer(&req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("app state missing"))?
        .clone();
    state
        .db(move |c| check_session(c, &bearer.claims, bearer.at))
        .await
}

/// The caller behind verified `claims`, if the user and session are still valid at `now`.
fn check_session(
    conn: &mut crate::db::DbConn,
    claims: &token::Claims,
    now: chrono::NaiveDateTime,
) -> Result<Caller, AppError> {
    let found = crate::db::users::user_and_session(conn, &claims.sub, &claims.sid)?;
    let Some((user, session)) = found else {
        return Err(unauthorized(
            "invalid_token",
            "The access token is not valid.",
        ));
    };
    if !user.active
        || user.token_version != claims.tv
        || session.revoked_at.is_some()
        || session.expires_at <= now
    {
        return Err(unauthorized(
            "token_revoked",
            "The session has ended; log in again.",
        ));
    }
    let role: Role = user
        .role
        .parse()
        .map_err(|_| AppError::internal(format!("user {} has unknown role", user.id)))?;
    let org = Org::of(&user).ok_or_else(|| AppError::internal("user without organisation"))?;
    Ok(Caller {
        user_id: user.id,
        username: user.username,
        role,
        org,
        session_id: session.id,
        must_change_password: user.must_change_password,
    })
}

impl FromRequest for PendingCaller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req).await.map(PendingCaller) })
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { require_password_changed(authenticate(req).await?) })
    }
}

fn require_password_changed(caller: Caller) -> Result<Caller, AppError> {
    if caller.must_change_password {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "password_change_required",
            "Change the initial password first (POST /api/v1/auth/password).",
        ));
    }
    Ok(caller)
}

impl FromRequest for Bearer {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(bearer(req))
    }
}
