//! Login, token refresh, logout, password change and `/me`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use serde::Deserialize;

use super::Routes;
use crate::app::AppState;
use crate::auth::accounts::{self, TokenResponse};
use crate::auth::token::hash_refresh_token;
use crate::auth::{PendingCaller, accounts::check_password};
use crate::db::{self, users};
use crate::domain::FieldErrors;
use crate::error::{AppError, AppResult};

pub fn routes(r: &mut Routes) {
    r.post("/api/v1/auth/login", login)
        .post("/api/v1/auth/refresh", refresh)
        .post("/api/v1/auth/logout", logout)
        .post("/api/v1/auth/password", change_password)
        .get("/api/v1/me", me);
}

#[derive(Debug, Deserialize)]
struct LoginBody {
    username: Option<String>,
    password: Option<String>,
}

fn invalid_credentials() -> AppError {
    AppError::unauthorized("invalid_credentials", "Wrong username or password.")
}

fn too_many(seconds: u64) -> AppError {
    let mut e = AppError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "Too many login attempts; try again later.",
    );
    e.retry_after = Some(seconds);
    e
}

async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: crate::http::json::Json<LoginBody>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let user = verify_login(&state, &req, body.username, body.password).await?;
    let now = state.clock.now();
    let st = state.clone();
    let response = state
        .db(move |c| {
            db::write_tx(c, |c| {
                users::record_success(c, &user.id, now.naive_utc())?;
                accounts::open_session(c, &st.auth.keys, &st.config.auth, &user, now)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

/// Checks a username and password with the rate limits and the lockout, recording a failure;
/// answers the active user. Shared by the API and the login page.
pub(crate) async fn verify_login(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    username: Option<String>,
    password: Option<String>,
) -> AppResult<users::UserRow> {
    let mut errors = FieldErrors::new();
    let username = errors
        .require_text("username", username.as_deref())
        .map(str::to_lowercase);
    // A password is taken exactly as typed (spaces included), as it was set.
    let password = match password {
        Some(p) if !p.trim().is_empty() => Some(p),
        _ => {
            errors.add("password", "required");
            None
        }
    };
    errors.finish()?;
    let (username, password) = (username.unwrap_or_default(), password.unwrap_or_default());
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();

    if let Err(wait) = state.auth.limiter.check(&ip, &username) {
        tracing::warn!(username = %masked(&username), %ip, "login rate limited");
        return Err(too_many(wait));
    }
    let lookup = username.clone();
    let user = state
        .db(move |c| Ok(users::by_username(c, &lookup)?))
        .await?;
    let now = state.clock.now();
    let locked = match &user {
        Some(u) => u
            .locked_until
            .filter(|until| *until > now.naive_utc())
            .map(|until| (until - now.naive_utc()).num_seconds().max(1) as u64),
        // Locked alike, so that the answers do not tell which usernames exist.
        None => state
            .auth
            .limiter
            .unknown_locked(&username, now.naive_utc()),
    };
    if let Some(wait) = locked {
        let shown = if user.is_some() {
            logged(&username)
        } else {
            masked(&username)
        };
        tracing::warn!(username = %shown, %ip, "login refused: account locked");
        return Err(too_many(wait));
    }
    let cfg = &state.config.auth;
    let lock_until = (now + Duration::minutes(cfg.lockout_minutes)).naive_utc();
    let verified = state
        .auth
        .hasher
        .verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await;
    let user = match user {
        Some(u) if verified && u.active => u,
        Some(u) => {
            let id = u.id.clone();
            let max = cfg.login_max_failures;
            let locked = state
                .db(move |c| Ok(users::record_failure(c, &id, max, lock_until)?))
                .await?;
            tracing::warn!(username = %logged(&username), %ip, locked, "login failed");
            return Err(invalid_credentials());
        }
        None => {
            let limiter = &state.auth.limiter;
            limiter.unknown_failed(&username, cfg.login_max_failures, lock_until);
            tracing::warn!(username = %masked(&username), %ip, "login failed: unknown user");
            return Err(invalid_credentials());
        }
    };
    tracing::info!(username = %logged(&username), %ip, "login succeeded");
    Ok(user)
}

#[derive(Debug, Deserialize)]
struct RefreshBody {
    refresh_token: Option<String>,
}

fn invalid_refresh() -> AppError {
    AppError::unauthorized(
        "invalid_refresh_token",
        "The refresh token is not valid; log in again.",
    )
}

async fn refresh(
    state: web::Data<AppState>,
    body: crate::http::json::Json<RefreshBody>,
) -> AppResult<HttpResponse> {
    let mut errors = FieldErrors::new();
    let token = errors
        .require_text("refresh_token", body.refresh_token.as_deref())
        .map(str::to_string);
    errors.finish()?;
    let hash = hash_refresh_token(&token.unwrap_or_default());
    let now = state.clock.now();
    let st = state.clone();
    let outcome = state
        .db(move |c| {
            db::write_tx(c, |c| -> AppResult<Result<TokenResponse, AppError>> {
                let Some((session, used)) = users::refresh_token_session(c, &hash)? else {
                    return Ok(Err(invalid_refresh()));
                };
                let spent_now = !used && users::spend_refresh_token(c, &hash, now.naive_utc())?;
                if !spent_now {
                    // A spent token came back: someone holds a copy. End the whole session.
                    users::revoke_session(c, &session.id, "refresh_token_reuse", now.naive_utc())?;
                    tracing::warn!(session = %session.id, user = %session.user_id, "refresh token reuse: session revoked");
                    return Ok(Err(AppError::unauthorized(
                        "refresh_token_reused",
                        "This refresh token was already used; the session has been ended.",
                    )));
                }
                if session.revoked_at.is_some() || session.expires_at <= now.naive_utc() {
                    return Ok(Err(invalid_refresh()));
                }
                let user = match users::by_id(c, &session.user_id)? {
                    Some(u) if u.active => u,
                    _ => return Ok(Err(invalid_refresh())),
                };
                let (refresh_token, new_hash) = crate::auth::token::new_refresh_token();
                users::add_refresh_token(c, &session.id, &new_hash, now.naive_utc())?;
                let (access_token, expires_in) =
                    accounts::access_token(&st.auth.keys, &st.config.auth, &user, &session.id, now)?;
                Ok(Ok(TokenResponse {
                    access_token,
                    token_type: "Bearer",
                    expires_in,
                    refresh_token,
                    user: accounts::view(c, &user)?,
                }))
            })
        })
        .await?;
    // The reuse revocation must be committed even though the request fails.
    Ok(HttpResponse::Ok().json(outcome?))
}

/// Ends the session of the bearer token or, when that has expired (a client idle for longer
/// than an access token lives), of the refresh token in the body.
async fn logout(
    state: web::Data<AppState>,
    caller: Option<PendingCaller>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    let now = state.clock.now().naive_utc();
    if let Some(PendingCaller(caller)) = caller {
        let sid = caller.session_id.clone();
        state
            .db(move |c| Ok(users::revoke_session(c, &sid, "logout", now)?))
            .await?;
        tracing::info!(username = %caller.username, "logout");
        return Ok(HttpResponse::NoContent().finish());
    }
    let token = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        crate::http::json::from_slice::<RefreshBody>(&body)?.refresh_token
    };
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        return Err(AppError::unauthorized(
            "unauthenticated",
            "Send the bearer token, or the session's refresh_token in the body.",
        ));
    };
    let hash = hash_refresh_token(&token);
    let ended = state
        .db(move |c| {
            let Some((session, _)) = users::refresh_token_session(c, &hash)? else {
                return Ok(None);
            };
            users::revoke_session(c, &session.id, "logout", now)?;
            Ok(Some(session.user_id))
        })
        .await?;
    let user = ended.ok_or_else(invalid_refresh)?;
    tracing::info!(user = %user, "logout by refresh token");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
struct PasswordBody {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// Changes one's own password: every session ends, and a new one is opened for this client.
async fn change_password(
    state: web::Data<AppState>,
    caller: PendingCaller,
    body: crate::http::json::Json<PasswordBody>,
) -> AppResult<HttpResponse> {
    let caller = caller.0;
    let body = body.into_inner();
    let (user, hash) =
        checked_new_password(&state, &caller, body.current_password, body.new_password).await?;
    let now = state.clock.now();
    let st = state.clone();
    let response = state
        .db(move |c| {
            db::write_tx(c, |c| {
                let user = store_new_password(c, &user.id, hash, now)?;
                accounts::open_session(c, &st.auth.keys, &st.config.auth, &user, now)
            })
        })
        .await?;
    tracing::info!(username = %caller.username, "password changed; other sessions revoked");
    Ok(HttpResponse::Ok().json(response))
}

/// Checks a change of `caller`'s own password (the current one as typed, the rules, a new one
/// that differs); answers the user and the new password's hash. Shared by the API and the page.
pub(crate) async fn checked_new_password(
    state: &AppState,
    caller: &crate::auth::Caller,
    current: Option<String>,
    new: Option<String>,
) -> AppResult<(users::UserRow, String)> {
    let mut errors = FieldErrors::new();
    // Passwords are taken exactly as typed, as at login.
    let current = current.filter(|p| !p.trim().is_empty());
    if current.is_none() {
        errors.add("current_password", "required");
    }
    let new = new.filter(|p| !p.is_empty());
    match &new {
        None => errors.add("new_password", "required"),
        // A forced change (a printed or admin-set password) must actually change it.
        Some(n) if current.as_deref() == Some(n.as_str()) => {
            errors.add("new_password", "must differ from the current password");
        }
        Some(_) => {}
    }
    errors.finish()?;
    let (current, new) = (current.unwrap_or_default(), new.unwrap_or_default());
    let id = caller.user_id.clone();
    let user = state
        .db(move |c| users::by_id(c, &id)?.ok_or_else(AppError::not_found))
        .await?;
    // Guesses of the current password count as failed logins and lock alike, so that a token
    // in the wrong hands cannot be used to find the password.
    let now = state.clock.now();
    if let Some(until) = user.locked_until.filter(|u| *u > now.naive_utc()) {
        return Err(too_many(
            (until - now.naive_utc()).num_seconds().max(1) as u64
        ));
    }
    if !state
        .auth
        .hasher
        .verify(current, Some(user.password_hash.clone()))
        .await
    {
        let cfg = &state.config.auth;
        let (id, max) = (user.id.clone(), cfg.login_max_failures);
        let lock_until = (now + Duration::minutes(cfg.lockout_minutes)).naive_utc();
        state
            .db(move |c| Ok(users::record_failure(c, &id, max, lock_until)?))
            .await?;
        return Err(AppError::field(
            "current_password",
            "is not your current password",
        ));
    }
    if let Err(mut e) = check_password(&state.auth.hasher, &user.username, &new) {
        for fe in &mut e.errors {
            fe.field = "new_password".into();
        }
        return Err(e);
    }
    let hash = state.auth.hasher.hash(new).await?;
    Ok((user, hash))
}

/// Stores a checked new password: every session and token of the user ends; answers the user.
pub(crate) fn store_new_password(
    c: &mut db::DbConn,
    id: &str,
    hash: String,
    now: chrono::DateTime<chrono::Utc>,
) -> AppResult<users::UserRow> {
    let changes = users::UserChanges {
        password_hash: Some(hash),
        must_change_password: Some(false),
        updated_at: Some(now.naive_utc()),
        ..Default::default()
    };
    users::update(c, id, &changes, true, now.naive_utc())?;
    users::by_id(c, id)?.ok_or_else(AppError::not_found)
}

async fn me(state: web::Data<AppState>, caller: PendingCaller) -> AppResult<HttpResponse> {
    let id = caller.0.user_id.clone();
    let view = state
        .db(move |c| {
            let user = users::by_id(c, &id)?.ok_or_else(AppError::not_found)?;
            Ok(accounts::view(c, &user)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A typed username as the log shows it: escaped (a line break or a quote cannot start a
/// forged log line) and cut at 64 characters.
fn logged(username: &str) -> String {
    crate::domain::validate::shorten(username, 64)
        .escape_debug()
        .to_string()
}

/// A username that belongs to nobody, as the log shows it: its first two characters and its
/// length — often a password typed into the wrong field, which must not reach the log.
fn masked(username: &str) -> String {
    let head: String = username.chars().take(2).collect();
    format!(
        "{}…({} chars)",
        head.escape_debug(),
        username.chars().count()
    )
}

#[cfg(test)]
mod log_tests {
    use super::{logged, masked};

    #[test]
    fn a_typed_username_cannot_forge_a_log_line_nor_leak_a_password() {
        let forged = "zz\n2026-12-07T11:40:00Z  INFO login succeeded username=demo-admin";
        assert!(!logged(forged).contains('\n'), "{}", logged(forged));
        assert!(logged(forged).starts_with("zz\\n2026"));
        assert_eq!(logged(&"a".repeat(70)).chars().count(), 65);
        assert_eq!(masked("Secret-Passw0rd!"), "Se…(16 chars)");
        assert_eq!(masked("z\nq"), "z\\n…(3 chars)");
    }
}
