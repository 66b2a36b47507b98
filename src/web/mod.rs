//! Server-rendered pages in Chinese (askama, plain HTML forms, no JavaScript) for enterprise
//! clerks, officers and the public. A page is a thin face over the API: its forms are turned
//! into the API's JSON and handed to the same handlers, so the same policy, validation and
//! ledger apply; errors come back as the API's problem details and are shown beside the fields.
//!
//! Sessions: a signed token (the API's token format, with the session's own lifetime) in an
//! HttpOnly, SameSite=Lax cookie (Secure under https). Every form carries a CSRF token derived
//! from the cookie (a hash of it: unknowable to other sites); the login form uses a
//! double-submit cookie. Pages answer with a strict Content-Security-Policy: no script at all.

pub mod charts;
pub mod fields;
pub mod pages;
mod tip_desk;
mod tips;

use std::future::{Ready, ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Caller;

/// Marks a request whose body a page turned into JSON (the API's `parse` accepts it).
#[derive(Debug, Clone, Copy)]
pub struct FormJson;

/// The session cookie.
pub const SESSION_COOKIE: &str = "hl_session";
/// The login form's double-submit cookie.
pub const LOGIN_CSRF_COOKIE: &str = "hl_login_csrf";

/// The policy of every page: nothing but this origin's stylesheet, images and forms.
pub const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The CSRF token of a session cookie value.
pub fn csrf_for(cookie_value: &str) -> String {
    hex::encode(&Sha256::digest(format!("csrf:{cookie_value}").as_bytes())[..16])
}

/// Compares in constant time.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The raw session cookie, if the request has one (checked later against the database).
pub struct SessionCookie(pub Option<String>);

impl FromRequest for SessionCookie {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(SessionCookie(
            req.cookie(SESSION_COOKIE).map(|c| c.value().to_string()),
        )))
    }
}

/// A logged-in page visitor.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    /// The cookie's signed token, for handlers that check the session in their own transaction.
    pub token: String,
    pub csrf: String,
    pub display_name: String,
}

/// Resolves the cookie to a session, or `None` (no cookie, expired, revoked, disabled user).
pub async fn session(state: &AppState, cookie: &SessionCookie) -> Option<Session> {
    let value = cookie.0.as_deref()?;
    let caller = crate::auth::authenticate_token(state, value).await.ok()?;
    let id = caller.user_id.clone();
    let display_name = state
        .db(move |c| Ok(crate::db::users::by_id(c, &id)?))
        .await
        .ok()
        .flatten()
        .map(|u| u.display_name)
        .unwrap_or_else(|| caller.username.clone());
    Some(Session {
        csrf: csrf_for(value),
        token: value.to_string(),
        caller,
        display_name,
    })
}

/// Whether the service is reached over https (cookies then carry `Secure`).
pub fn secure(state: &AppState, req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https" || state.config.public_url().starts_with("https://")
}

/// A cookie with the page defaults: HttpOnly, SameSite=Lax, path /, Secure under https.
pub fn cookie(
    state: &AppState,
    req: &HttpRequest,
    name: &'static str,
    value: String,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state, req))
        .finish()
}

/// An HTML answer with the page policy.
pub fn html(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header(("Content-Security-Policy", PAGE_CSP))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// A 303 to `to`.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_string()))
        .finish()
}

/// Registers the pages (outside `/api/v1`, not in the API contract).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let wrap = || from_fn(crate::http::middleware::catch_panic);
    cfg.service(
        web::resource("/")
            .wrap(wrap())
            .route(web::get().to(pages::home)),
    )
    .service(web::resource("/static/app.css").route(web::get().to(pages::stylesheet)))
    .service(
        web::resource("/login")
            .wrap(wrap())
            .route(web::get().to(pages::login_form))
            .route(web::post().to(pages::login)),
    )
    .service(
        web::resource("/password")
            .wrap(wrap())
            .route(web::get().to(pages::password_form))
            .route(web::post().to(pages::change_password)),
    )
    .service(
        web::resource("/logout")
            .wrap(wrap())
            .route(web::post().to(pages::logout)),
    )
    .service(
        web::resource("/hazards")
            .wrap(wrap())
            .route(web::get().to(pages::list)),
    )
    .service(
        web::resource("/hazards/new")
            .wrap(wrap())
            .route(web::get().to(pages::new_form))
            .route(web::post().to(pages::create)),
    )
    .service(
        web::resource("/hazards/{id}")
            .wrap(wrap())
            .route(web::get().to(pages::detail)),
    )
    .service(
        web::resource("/hazards/{id}/edit")
            .wrap(wrap())
            .route(web::get().to(pages::edit_form))
            .route(web::post().to(pages::save_edit)),
    )
    .service(
        web::resource("/hazards/{id}/do/{action}")
            .wrap(wrap())
            .route(web::post().to(pages::act)),
    )
    .service(
        web::resource("/hazards/{id}/notice")
            .wrap(wrap())
            .route(web::get().to(pages::notice)),
    )
    .service(
        web::resource("/hazards/{id}/photos")
            .wrap(wrap())
            .route(web::post().to(pages::upload)),
    )
    .service(
        web::resource("/hazards/{id}/photos/{attachment}/remove")
            .wrap(wrap())
            .route(web::post().to(pages::remove_photo)),
    )
    .service(
        web::resource("/attachments/{id}")
            .wrap(wrap())
            .route(web::get().to(pages::attachment)),
    )
    .service(
        web::resource("/tips")
            .wrap(wrap())
            .route(web::get().to(tips::index)),
    )
    .service(
        web::resource("/tips/new")
            .wrap(wrap())
            .route(web::get().to(tips::new_form))
            .route(web::post().to(tips::file)),
    )
    .service(
        web::resource("/tips/filed")
            .wrap(wrap())
            .route(web::get().to(tips::filed)),
    )
    .service(
        web::resource("/tips/status")
            .wrap(wrap())
            .route(web::get().to(tips::status)),
    )
    .service(
        web::resource("/tips/inbox")
            .wrap(wrap())
            .route(web::get().to(tip_desk::inbox)),
    )
    .service(
        web::resource("/tips/inbox/{id}")
            .wrap(wrap())
            .route(web::get().to(tip_desk::detail)),
    )
    .service(
        web::resource("/tips/inbox/{id}/do/{action}")
            .wrap(wrap())
            .route(web::post().to(tip_desk::act)),
    )
    .service(
        web::resource("/tips/inbox/{id}/photos/{photo}")
            .wrap(wrap())
            .route(web::get().to(tip_desk::photo)),
    )
    .service(
        web::resource("/queue")
            .wrap(wrap())
            .route(web::get().to(pages::queue)),
    )
    .service(
        web::resource("/dashboard")
            .wrap(wrap())
            .route(web::get().to(pages::dashboard)),
    );
}
