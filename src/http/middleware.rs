//! Middleware functions wrapped around every route (see `app::build_app` for their order).

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpMessage, ResponseError};
use futures_util::FutureExt;
use tracing::Instrument;

use crate::error::AppError;

/// Header carrying the request ID in and out.
pub const REQUEST_ID: &str = "x-request-id";

/// The ID of the current request, available to handlers through the request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Accepts a sane `X-Request-Id` or makes one, logs the request with it, and echoes it back.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_acceptable_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = loggable_path(req.path());
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let _entered = span.enter();
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            if status >= 500 {
                tracing::error!(status, elapsed_ms, "request failed");
            } else {
                tracing::info!(status, elapsed_ms, "request");
            }
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID), value);
            }
            Ok(res)
        }
        Err(e) => {
            tracing::error!(error = %e, elapsed_ms, "request error");
            Err(e)
        }
    }
}

/// HEAD is answered as GET is, without the body (RFC 9110 §9.3.2: monitors and link checkers
/// ask so). The handler sees GET; the connection, which read the request as HEAD, sends the
/// head alone. Inside `request_context`, so that the log shows HEAD.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == actix_web::http::Method::HEAD {
        req.head_mut().method = actix_web::http::Method::GET;
    }
    next.call(req).await
}

/// The path as logged: a tip's receipt code is a secret its reporter holds (only its hash is
/// stored), so the status look-up is logged without it.
fn loggable_path(path: &str) -> String {
    const STATUS: &str = "/api/v1/tips/status/";
    match path.strip_prefix(STATUS) {
        Some(code) if !code.is_empty() => format!("{STATUS}***"),
        _ => path.to_owned(),
    }
}

/// IDs from clients are echoed into headers and logs, so only short plain tokens are taken.
fn is_acceptable_id(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// A panic in a handler answers 500 problem+json and is logged; the worker keeps serving.
pub async fn catch_panic<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let http_req = req.request().clone();
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result.map(ServiceResponse::map_into_left_body),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let request_id = http_req
                .extensions()
                .get::<RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default();
            tracing::error!(%request_id, panic = %message, "handler panicked");
            let res = AppError::new(
                actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "An unexpected error occurred; it has been logged.",
            )
            .error_response();
            Ok(ServiceResponse::new(http_req, res).map_into_right_body())
        }
    }
}

/// Headers that every answer carries. Pages that need more set their own policy. Nothing is
/// kept by a cache unless its handler says so (the static assets do): answers carry tokens
/// (login, refresh), initial passwords, hazards and reporters' tips (RFC 6749 §5.1).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Cache-Control", "no-store"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
             form-action 'self'",
        ))
}

#[cfg(test)]
mod tests {
    use super::{is_acceptable_id, loggable_path};

    #[test]
    fn receipt_codes_stay_out_of_the_log() {
        assert_eq!(
            loggable_path("/api/v1/tips/status/JB-ABCD-EFGH-JKMN-PQRS"),
            "/api/v1/tips/status/***"
        );
        assert_eq!(loggable_path("/api/v1/hazards"), "/api/v1/hazards");
    }

    #[test]
    fn request_ids_from_clients_are_checked() {
        assert!(is_acceptable_id("abc-123_x.y"));
        assert!(!is_acceptable_id(""));
        assert!(!is_acceptable_id("has space"));
        assert!(!is_acceptable_id("line\nbreak"));
        assert!(!is_acceptable_id(&"a".repeat(129)));
    }
}
