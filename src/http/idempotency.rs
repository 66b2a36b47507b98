//! `Idempotency-Key`: a retried write answers what the first attempt answered, without doing
//! the work twice. Wrapped around the resources that `api::Routes` marks idempotent.
//!
//! The first request with a key inserts an in-flight row (unique on caller + key) before the
//! handler runs and stores the answer after it. The handler's transaction and the stored answer
//! are two commits: if the process dies between them, the key stays in flight, and a retry
//! answers 409 (`idempotency_in_flight`, then `idempotency_outcome_unknown` once
//! [`IN_FLIGHT_LEASE_SECS`] have passed) rather than risk doing the work twice.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{Error, HttpResponse, ResponseError};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::db::idempotency::{self, Claim, Stored};
use crate::error::AppError;

/// The request header.
pub const HEADER: &str = "idempotency-key";
/// The header marking a replayed answer.
pub const REPLAYED: &str = "idempotent-replayed";
/// Longest key accepted.
pub const MAX_KEY_LEN: usize = 255;
/// After this long an unfinished first attempt is taken as interrupted (crash, lost answer).
pub const IN_FLIGHT_LEASE_SECS: i64 = 300;
/// Response headers kept and replayed with the body.
const KEPT_HEADERS: [header::HeaderName; 3] =
    [header::CONTENT_TYPE, header::LOCATION, header::ETAG];

/// The middleware: a no-op without the header or for other methods than POST and PUT.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(raw_key) = req.headers().get(HEADER).cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    if !matches!(*req.method(), Method::POST | Method::PUT) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = match raw_key.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= MAX_KEY_LEN => k.to_string(),
        _ => {
            return Ok(problem(
                req,
                AppError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_invalid",
                    format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters."),
                ),
            ));
        }
    };
    let Some(state) = req.app_data::<Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    // Keys belong to the caller; without a valid token the handler answers 401 as usual.
    let Some(user_id) = caller_id(&req, &state) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let limit = state
        .config
        .server
        .json_limit_bytes
        .max(state.config.attachments.max_bytes + 64 * 1024);
    let body = match read_body(actix_web::HttpMessage::take_payload(&mut req), limit).await {
        Ok(b) => b,
        Err(e) => return Ok(problem(req, e)),
    };
    let print = fingerprint(
        req.method().as_str(),
        req.uri()
            .path_and_query()
            .map_or(req.path(), |p| p.as_str()),
        req.headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        &body,
    );
    let now = state.clock.now().naive_utc();
    let expires = now + chrono::Duration::hours(state.config.idempotency.ttl_hours);
    let claim = {
        let (user_id, key) = (user_id.clone(), key.clone());
        state
            .db(move |c| Ok(idempotency::claim(c, &user_id, &key, &print, now, expires)?))
            .await
    };
    match claim {
        Err(e) => Ok(problem(req, e)),
        Ok(Claim::Mismatch) => Ok(problem(
            req,
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was used for another request; use a new key.",
            ),
        )),
        Ok(Claim::InFlight { since }) => {
            let err = if (now - since).num_seconds() >= IN_FLIGHT_LEASE_SECS {
                AppError::conflict(
                    "idempotency_outcome_unknown",
                    "The first request with this Idempotency-Key was interrupted; check whether \
                     it took effect, then retry with a new key.",
                )
            } else {
                let mut e = AppError::conflict(
                    "idempotency_in_flight",
                    "A request with this Idempotency-Key is still running; retry later.",
                );
                e.retry_after = Some(1);
                e
            };
            Ok(problem(req, err))
        }
        Ok(Claim::Replay(stored)) => {
            let mut res =
                HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
            for (name, value) in &stored.headers {
                res.insert_header((name.as_str(), value.as_str()));
            }
            res.insert_header((REPLAYED, "true"));
            Ok(req.into_response(res.body(stored.body)))
        }
        Ok(Claim::Acquired) => {
            req.set_payload(Payload::from(body));
            // Run in its own task, so that a client hanging up does not stop the answer from
            // being stored (the handler's work goes on regardless).
            let task = actix_web::rt::spawn(run_and_store(
                req,
                next,
                state.clone(),
                user_id.clone(),
                key.clone(),
            ));
            match task.await {
                Ok(result) => result,
                Err(join) => {
                    let (u, k) = (user_id, key);
                    let _ = state
                        .db(move |c| Ok(idempotency::release(c, &u, &k)?))
                        .await;
                    Err(AppError::internal(join).into())
                }
            }
        }
    }
}

/// Calls the handler; stores a non-5xx answer, releases the key otherwise.
async fn run_and_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    state: Data<AppState>,
    user_id: String,
    key: String,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let result = next.call(req).await;
    let res = match result {
        Ok(res) if res.status().as_u16() < 500 => res,
        other => {
            let (u, k) = (user_id, key);
            if let Err(e) = state
                .db(move |c| Ok(idempotency::release(c, &u, &k)?))
                .await
            {
                tracing::error!(code = %e.code, "could not release an idempotency key");
            }
            return other.map(ServiceResponse::map_into_boxed_body);
        }
    };
    let (http_req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(b) => b,
        Err(_) => {
            let e = AppError::internal("response body could not be read");
            return Ok(ServiceResponse::new(http_req, e.error_response()));
        }
    };
    let stored = Stored {
        status: head.status().as_u16(),
        headers: KEPT_HEADERS
            .iter()
            .filter_map(|name| {
                head.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| (name.as_str().to_string(), v.to_string()))
            })
            .collect(),
        body: bytes.to_vec(),
    };
    if let Err(e) = state
        .db(move |c| Ok(idempotency::complete(c, &user_id, &key, &stored)?))
        .await
    {
        // The work is done; the key stays in flight and retries learn the outcome is unknown.
        tracing::error!(code = %e.code, "could not store an idempotent answer");
    }
    Ok(ServiceResponse::new(
        http_req,
        head.set_body(BoxBody::new(bytes)),
    ))
}

/// The user id of a valid bearer token, if any.
fn caller_id(req: &ServiceRequest, state: &AppState) -> Option<String> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    state
        .auth
        .keys
        .verify(token.trim(), state.clock.now())
        .ok()
        .map(|c| c.sub)
}

async fn read_body(mut payload: Payload, limit: usize) -> Result<Bytes, AppError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request("malformed_body", e.to_string()))?;
        if buf.len() + chunk.len() > limit {
            return Err(AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The body is larger than {limit} bytes."),
            ));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// What makes two requests "the same": method, path and query, and the body — for multipart
/// bodies with the boundary masked, since clients pick a new one for each attempt.
pub fn fingerprint(method: &str, path: &str, content_type: Option<&str>, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update(b"\n");
    h.update(path.as_bytes());
    h.update(b"\n");
    match content_type.and_then(boundary) {
        Some(b) => h.update(mask(body, b.as_bytes())),
        None => h.update(body),
    }
    hex::encode(h.finalize())
}

/// The multipart boundary of a Content-Type.
fn boundary(content_type: &str) -> Option<&str> {
    if !content_type.to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    content_type.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim_matches('"'))
            .filter(|b| !b.is_empty())
    })
}

/// `body` with each occurrence of `needle` replaced by a fixed marker.
fn mask(body: &[u8], needle: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(needle) {
            out.extend_from_slice(b"<boundary>");
            i += needle.len();
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}

fn problem(req: ServiceRequest, e: AppError) -> ServiceResponse<BoxBody> {
    req.into_response(e.error_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_boundaries_do_not_change_the_fingerprint() {
        let a = fingerprint(
            "POST",
            "/x",
            Some("multipart/form-data; boundary=aaa111"),
            b"--aaa111\r\nhello\r\n--aaa111--",
        );
        let b = fingerprint(
            "POST",
            "/x",
            Some("multipart/form-data; boundary=\"bbb222\""),
            b"--bbb222\r\nhello\r\n--bbb222--",
        );
        assert_eq!(a, b);
        let c = fingerprint(
            "POST",
            "/x",
            Some("multipart/form-data; boundary=bbb222"),
            b"--bbb222\r\nhullo\r\n--bbb222--",
        );
        assert_ne!(a, c);
        assert_ne!(
            fingerprint("POST", "/x", None, b"{}"),
            fingerprint("POST", "/y", None, b"{}")
        );
    }
}
