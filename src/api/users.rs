//! `/api/v1/users`: people and their roles.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{Routes, paginate};
use crate::app::AppState;
use crate::auth::Caller;
use crate::auth::accounts::{self, NewUser, UserInput};
use crate::auth::password::generate_password;
use crate::db::{self, users};
use crate::domain::validate::validate_email;
use crate::domain::{FieldError, FieldErrors};
use crate::error::{AppError, AppResult};
use crate::policy::{self, UserChangeKinds};

pub fn routes(r: &mut Routes) {
    r.get("/api/v1/users", list)
        .post("/api/v1/users", create)
        .get("/api/v1/users/{id}", get)
        .patch("/api/v1/users/{id}", update);
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    role: Option<String>,
    enterprise: Option<String>,
    cursor: Option<String>,
    limit: Option<crate::http::query::Whole>,
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: crate::http::query::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let mut errors = crate::domain::FieldErrors::new();
    let limit = super::checked_page_limit(q.limit.as_ref(), &mut errors);
    if let Some(r) = q.role.as_deref()
        && r.parse::<crate::domain::hazard::Role>().is_err()
    {
        errors.add("role", "not a role");
    }
    // The cursor is the id of the last user of the previous page.
    if let Some(c) = q.cursor.as_deref()
        && uuid::Uuid::parse_str(c).is_err()
    {
        errors.add("cursor", "not a cursor this service gave out");
    }
    errors.finish()?;
    let scope = policy::user_scope(&caller);
    let (items, next_cursor) = state
        .db(move |c| {
            let rows = users::list(
                c,
                &scope,
                q.role.as_deref(),
                q.enterprise.as_deref(),
                q.cursor.as_deref(),
                limit + 1,
            )?;
            let (rows, next) = paginate(rows, limit, |u| u.id.clone());
            let views = rows
                .iter()
                .map(|u| accounts::view(c, u))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((views, next))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next_cursor })))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let scope = policy::user_scope(&caller);
    let id = id.into_inner();
    let view = state
        .db(move |c| {
            let user = users::find(c, &scope, &id)?.ok_or_else(AppError::not_found)?;
            Ok(accounts::view(c, &user)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    username: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    role: Option<String>,
    /// A street or department code, or an enterprise's id or USCC.
    org: Option<String>,
    /// Optional initial password; one is generated (and shown once) when absent.
    password: Option<String>,
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    policy::may_create_users(&caller)?;
    let body: CreateBody = super::hazards::parse_json(&req, &bytes)?;
    let check_body = body.clone();
    let (username, display_name, email, role, target) = state
        .db(move |c| {
            accounts::check_user_input(
                c,
                &UserInput {
                    username: check_body.username.as_deref(),
                    display_name: check_body.display_name.as_deref(),
                    email: check_body.email.as_deref(),
                    role: check_body.role.as_deref(),
                    org: check_body.org.as_deref(),
                },
            )
        })
        .await?;
    let (password, generated) = match body.password {
        Some(p) => {
            accounts::check_password(&state.auth.hasher, &username, &p)?;
            (p, false)
        }
        None => (generate_password(), true),
    };
    let password_hash = state.auth.hasher.hash(password.clone()).await?;
    let now = state.clock.now().naive_utc();
    let view = state
        .db(move |c| {
            db::write_tx(c, |c| {
                let row = accounts::insert_user(
                    c,
                    NewUser {
                        username,
                        display_name,
                        email,
                        role,
                        target,
                        password_hash,
                        // Whoever set it, the person must choose their own.
                        must_change_password: true,
                    },
                    now,
                )?;
                Ok(accounts::view(c, &row)?)
            })
        })
        .await?;
    tracing::info!(by = %caller.username, user = %view.username, role = %view.role, "user created");
    let mut body = serde_json::to_value(&view).map_err(AppError::internal)?;
    if generated {
        body["initial_password"] = json!(password);
    }
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/users/{}", view.id)))
        .json(body))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    display_name: Option<String>,
    #[serde(default, deserialize_with = "some_option")]
    email: Option<Option<String>>,
    active: Option<bool>,
    /// A new password set by an admin; the user must change it.
    password: Option<String>,
}

fn some_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: crate::http::json::Json<UpdateBody>,
) -> AppResult<HttpResponse> {
    let body = body.into_inner();
    let id = id.into_inner();
    let scope = policy::user_scope(&caller);
    let who = caller.clone();
    let kinds = UserChangeKinds {
        profile: body.display_name.is_some() || body.email.is_some(),
        active: body.active.is_some(),
        password: body.password.is_some(),
    };
    let target = state
        .db(move |c| {
            let target = users::find(c, &scope, &id)?.ok_or_else(AppError::not_found)?;
            policy::may_update_user(&who, &target, kinds)?;
            Ok(target)
        })
        .await?;
    let mut errors = FieldErrors::new();
    let display_name = match body.display_name.as_deref().map(str::trim) {
        Some("") => {
            errors.add("display_name", "must not be empty");
            None
        }
        other => other.map(str::to_string),
    };
    let email = match &body.email {
        Some(Some(e)) => match validate_email(e.trim()) {
            Ok(()) => Some(Some(e.trim().to_string())),
            Err(m) => {
                errors.add("email", m);
                None
            }
        },
        Some(None) => Some(None),
        None => None,
    };
    if let Some(p) = &body.password
        && let Err(FieldError { field, message }) =
            state.auth.hasher.check_policy(&target.username, p)
    {
        errors.add(field, message);
    }
    if body.active == Some(false) && target.id == caller.user_id {
        errors.add("active", "you cannot disable your own account");
    }
    errors.finish()?;
    let password_hash = match body.password {
        Some(p) => Some(state.auth.hasher.hash(p).await?),
        None => None,
    };
    let revoke = password_hash.is_some() || body.active == Some(false);
    let now = state.clock.now().naive_utc();
    let changes = users::UserChanges {
        display_name,
        email,
        active: body.active,
        must_change_password: password_hash.as_ref().map(|_| true),
        password_hash,
        updated_at: Some(now),
    };
    let view = state
        .db(move |c| {
            db::write_tx(c, |c| {
                users::update(c, &target.id, &changes, revoke, now)?;
                let row = users::by_id(c, &target.id)?.ok_or_else(AppError::not_found)?;
                Ok(accounts::view(c, &row)?)
            })
        })
        .await?;
    tracing::info!(by = %caller.username, user = %view.username, revoked = revoke, "user updated");
    Ok(HttpResponse::Ok().json(view))
}
