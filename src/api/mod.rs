//! The HTTP API: one file per resource, all routes registered through [`Routes`] so that the
//! contract test can compare them with `api/openapi.yaml`.

pub mod admin;
pub mod attachments;
pub mod auth;
pub mod docs;
pub mod enterprises;
pub mod export;
pub mod hazard_list;
pub mod hazards;
pub mod health;
pub mod ledger;
pub mod listing;
pub mod reference;
pub mod stats;
pub mod tips;
pub mod users;

use crate::http::query::Whole;
use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::web::{self, ServiceConfig};
use actix_web::{FromRequest, Handler, Responder, Route};

/// The route table: every (method, path) the service answers.
#[derive(Default)]
pub struct Routes {
    entries: Vec<(Method, &'static str, Route)>,
    /// Routes answered by a middleware or an embedded service rather than a handler.
    external: Vec<(Method, &'static str)>,
}

macro_rules! method_fn {
    ($name:ident, $method:ident) => {
        #[doc = concat!("Registers a `", stringify!($method), "` handler.")]
        pub fn $name<F, Args>(&mut self, path: &'static str, handler: F) -> &mut Self
        where
            F: Handler<Args>,
            Args: FromRequest + 'static,
            F::Output: Responder + 'static,
        {
            self.entries.push((
                Method::$method,
                path,
                web::method(Method::$method).to(handler),
            ));
            self
        }
    };
}

impl Routes {
    method_fn!(get, GET);
    method_fn!(post, POST);
    method_fn!(put, PUT);
    method_fn!(patch, PATCH);
    method_fn!(delete, DELETE);

    /// Records a route served by a middleware or an embedded service.
    pub fn external(&mut self, method: Method, path: &'static str) -> &mut Self {
        self.external.push((method, path));
        self
    }

    /// Every (method, path), sorted, for the contract test.
    pub fn list(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = self
            .entries
            .iter()
            .map(|(m, p, _)| (m.to_string(), (*p).to_string()))
            .chain(
                self.external
                    .iter()
                    .map(|(m, p)| (m.to_string(), (*p).to_string())),
            )
            .collect();
        all.sort();
        all
    }

    /// Registers the handlers, one resource per path (so a wrong method answers 405), in the
    /// order first seen (static paths before the templated ones beside them).
    pub fn register(self, cfg: &mut ServiceConfig) {
        let mut grouped: Vec<(&'static str, Vec<Route>)> = Vec::new();
        for (_, path, route) in self.entries {
            match grouped.iter_mut().find(|(p, _)| *p == path) {
                Some((_, routes)) => routes.push(route),
                None => grouped.push((path, vec![route])),
            }
        }
        for (path, routes) in grouped {
            // Panics are caught after routing: a request cloned before routing cannot be routed.
            let resource = routes
                .into_iter()
                .fold(web::resource(path), |res, route| res.route(route));
            let resource = resource.wrap(from_fn(crate::http::middleware::catch_panic));
            if is_idempotent(path) {
                // Outside the panic catcher: a panic answers 500, which releases the key.
                cfg.service(resource.wrap(from_fn(crate::http::idempotency::idempotency)));
            } else {
                cfg.service(resource);
            }
        }
    }
}

/// Resources whose POST and PUT accept `Idempotency-Key`: hazard creation, every transition,
/// the plan, uploads, and tips.
const IDEMPOTENT_PREFIXES: [&str; 2] = ["/api/v1/hazards", "/api/v1/tips"];

/// Whether `path` is wrapped by the idempotency middleware.
pub fn is_idempotent(path: &str) -> bool {
    IDEMPOTENT_PREFIXES
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')))
}

/// The whole route table of the service.
pub fn routes() -> Routes {
    let mut r = Routes::default();
    health::routes(&mut r);
    docs::routes(&mut r);
    reference::routes(&mut r);
    auth::routes(&mut r);
    enterprises::routes(&mut r);
    users::routes(&mut r);
    hazard_list::routes(&mut r);
    export::routes(&mut r);
    hazards::routes(&mut r);
    listing::routes(&mut r);
    stats::routes(&mut r);
    attachments::routes(&mut r);
    ledger::routes(&mut r);
    admin::routes(&mut r);
    tips::routes(&mut r);
    r
}

/// Largest page of any list.
pub const MAX_PAGE: i64 = 200;

/// Cuts a page fetched with `limit + 1` rows to `limit`, answering the cursor of the next page
/// (the key of the last row kept) when there is one.
pub fn paginate<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(&key);
        (rows, next)
    } else {
        (rows, None)
    }
}

/// The `limit` of a list request: default 50, at most [`MAX_PAGE`].
pub fn page_limit(limit: Option<&Whole>) -> crate::error::AppResult<i64> {
    let mut errors = crate::domain::FieldErrors::new();
    let limit = checked_page_limit(limit, &mut errors);
    errors.finish()?;
    Ok(limit)
}

/// A cursor that is a row's id (UUID), as `next_cursor` gave it; anything else is named.
pub fn check_id_cursor(cursor: Option<&str>, errors: &mut crate::domain::FieldErrors) {
    if let Some(c) = cursor
        && uuid::Uuid::parse_str(c).is_err()
    {
        errors.add(
            "cursor",
            "not a cursor of this list (use next_cursor as given)",
        );
    }
}

/// [`page_limit`], recording its error with the request's others.
pub fn checked_page_limit(limit: Option<&Whole>, errors: &mut crate::domain::FieldErrors) -> i64 {
    let Some(limit) = limit else { return 50 };
    match limit.checked(errors, "limit") {
        None => 50,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            errors.add("limit", format!("between 1 and {MAX_PAGE}"));
            50
        }
    }
}
