//! One error type for the whole service, rendered once as RFC 9457 `application/problem+json`.

use std::borrow::Cow;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpRequest, HttpResponse, ResponseError};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

use crate::domain::DomainError;
pub use crate::domain::FieldError;

/// Every failure a request can meet; `code` is stable and machine-readable.
#[derive(Debug, Clone)]
pub struct AppError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Extra members of the problem object (e.g. `current_status`, `current_version`).
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Seconds for a `Retry-After` header (429, 503).
    pub retry_after: Option<u64>,
}

/// Result of anything that can fail with an [`AppError`].
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// An error with a status, a stable code and a human-readable detail.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            detail: detail.into(),
            errors: Vec::new(),
            extra: serde_json::Map::new(),
            retry_after: None,
        }
    }

    /// 422 listing every invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "The request has invalid or missing fields.",
        );
        e.errors = errors;
        e
    }

    /// 422 for a single field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// 400 for a request that cannot be read at all.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 404, for missing objects and for objects outside the caller's scope alike.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "No such object.")
    }

    /// 401.
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// 403 for a visible object and a forbidden action.
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }

    /// 409.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 503 with a Retry-After.
    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail);
        e.retry_after = Some(5);
        e
    }

    /// 500; the cause is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "An unexpected error occurred; it has been logged.",
        )
    }

    /// Adds a member to the problem object.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// The problem object.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::Map::new();
        body.insert(
            "type".into(),
            format!("urn:hazard-ledger:problem:{}", self.code).into(),
        );
        body.insert(
            "title".into(),
            self.status.canonical_reason().unwrap_or("Error").into(),
        );
        body.insert("status".into(), self.status.as_u16().into());
        body.insert("detail".into(), self.detail.clone().into());
        body.insert("code".into(), self.code.to_string().into());
        if !self.errors.is_empty() {
            body.insert(
                "errors".into(),
                serde_json::to_value(&self.errors).unwrap_or_default(),
            );
        }
        for (k, v) in &self.extra {
            body.insert(k.clone(), v.clone());
        }
        serde_json::Value::Object(body)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.body(self.body().to_string())
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        match e {
            DomainError::Validation { code, errors } => {
                let mut app = Self::new(status, code, "The request has invalid or missing fields.");
                app.errors = errors;
                app
            }
            DomainError::Forbidden { code, message } | DomainError::NotFound { code, message } => {
                Self::new(status, code, message)
            }
            DomainError::InvalidState {
                code,
                current,
                message,
            } => Self::new(status, code, message).with("current_status", current),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::not_found(),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => Self::conflict(
                "duplicate",
                format!(
                    "A record with the same unique value exists ({}).",
                    info.message()
                ),
            ),
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => Self::conflict(
                "concurrent_update",
                "Another request changed this record at the same time; retry.",
            ),
            other => Self::internal(other),
        }
    }
}

impl From<r2d2::Error> for AppError {
    fn from(e: r2d2::Error) -> Self {
        tracing::error!(error = %e, "database pool");
        Self::unavailable(
            "database_unavailable",
            "The database is not reachable right now.",
        )
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(e)
    }
}

/// Path parameter errors are treated as a missing object.
pub fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    tracing::debug!(error = %err, "path parameter");
    AppError::not_found().into()
}

/// Query string errors are validation errors of the query.
pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let mut e = AppError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_query",
        err.to_string(),
    );
    e.errors.push(FieldError::new("query", err.to_string()));
    e.into()
}

/// The unknown-route answer: problem+json, or a page in Chinese for a browser asking for a page
/// outside `/api/`.
pub async fn route_not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, AppError> {
    let wants_page = !req.path().starts_with("/api/")
        && req
            .headers()
            .get(actix_web::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"));
    if wants_page {
        return Ok(HttpResponse::NotFound()
            .content_type("text/html; charset=utf-8")
            .body(
                "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
                 <title>未找到 — 隐患台账</title><link rel=\"stylesheet\" href=\"/static/app.css\">\
                 </head><body><main><h1>未找到该页面</h1><p>地址有误，或该页面已不存在。\
                 <a href=\"/\">返回首页</a></p></main></body></html>",
            ));
    }
    Err(AppError::new(
        StatusCode::NOT_FOUND,
        "route_not_found",
        "No such route.",
    ))
}

/// Turns any error response that is not already problem+json (actix's own 404/405/413 and
/// others with a plain or empty body) into one.
pub fn render_any_error<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON) || v.starts_with("text/html"));
    // Problem details already, or a page that explains itself (the web pages' 4xx answers).
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let code = match status {
        StatusCode::NOT_FOUND => "route_not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::BAD_REQUEST => "bad_request",
        s if s.is_server_error() => "internal_error",
        _ => "error",
    };
    let detail = status.canonical_reason().unwrap_or("Error").to_string();
    let problem = AppError::new(status, code, detail);
    let (req, old) = res.into_parts();
    let mut new = problem.error_response();
    // Keep headers such as Allow and Retry-After that the original answer carried.
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    let new = new.map_body(|_, b: BoxBody| EitherBody::right(b));
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(
        req, new,
    )))
}
