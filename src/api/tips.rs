//! `/api/v1/tips`: public tip-offs (举报) — a challenge question, filing (JSON or multipart with
//! photos) and the status by receipt code, without login — and the officers' list, detail,
//! photos and triage. The work is in `service::tips`.

use actix_multipart::Multipart;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::json;

use super::Routes;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db;
use crate::error::{AppError, AppResult};
use crate::service::tips::{self as svc, ListQuery, PhotoUpload, TipInput, TriageInput};

pub fn routes(r: &mut Routes) {
    r.post("/api/v1/tips", file)
        .get("/api/v1/tips", list)
        .get("/api/v1/tips/challenge", challenge)
        .get("/api/v1/tips/status/{receipt_code}", status)
        .get("/api/v1/tips/{id}", detail)
        .post("/api/v1/tips/{id}/triage", triage)
        .get("/api/v1/tips/{id}/photos/{photo_id}", photo);
}

/// The client's address, the key of the per-IP limits.
pub(crate) fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn too_large(what: &str, limit: usize) -> AppError {
    AppError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("The {what} is larger than {limit} bytes."),
    )
}

async fn challenge(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let c = svc::challenge(&state, &client_ip(&req))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(c))
}

/// Reads a JSON tip of at most `limit` bytes.
async fn read_json(mut payload: web::Payload, limit: usize) -> AppResult<TipInput> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| AppError::bad_request("malformed_body", e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large("body", limit));
        }
        body.extend_from_slice(&chunk);
    }
    crate::http::json::from_slice(&body)
}

/// Reads a multipart tip: its text fields (each at most `text_limit` bytes) and up to
/// `max_photos` `photo` parts (each at most `photo_limit` bytes). Also for form pages.
pub async fn read_multipart(
    form: Multipart,
    text_limit: usize,
    photo_limit: usize,
    max_photos: usize,
) -> AppResult<(TipInput, Vec<PhotoUpload>)> {
    let (input, photos, refused) =
        read_multipart_keeping_text(form, text_limit, photo_limit, max_photos).await?;
    match refused {
        Some(e) => Err(e),
        None => Ok((input, photos)),
    }
}

/// [`read_multipart`], reading on past a photo it refuses (one too many: 422 on `photo`; one
/// too large: 413), so that the text fields come back with the refusal and a page can show
/// them again. A refused photo is read and dropped, up to all the photos' limit together.
pub async fn read_multipart_keeping_text(
    mut form: Multipart,
    text_limit: usize,
    photo_limit: usize,
    max_photos: usize,
) -> AppResult<(TipInput, Vec<PhotoUpload>, Option<AppError>)> {
    let mut input = TipInput::default();
    let mut photos = Vec::new();
    let mut refused: Option<AppError> = None;
    let mut dropped = 0usize;
    let drop_limit = photo_limit.saturating_mul(max_photos.max(1));
    while let Some(field) = form.next().await {
        let mut field = field.map_err(super::attachments::multipart_error)?;
        let name = field.name().unwrap_or("").to_string();
        if name == "photo" {
            let file_name = field
                .content_disposition()
                .and_then(|cd| cd.get_filename().map(str::to_string));
            let read = if photos.len() == max_photos {
                Err(AppError::field(
                    "photo",
                    format!("at most {max_photos} photos"),
                ))
            } else {
                super::attachments::read_part(&mut field, photo_limit).await
            };
            match read {
                // A file input left empty by the browser sends an empty part without a name.
                Ok(bytes) if bytes.is_empty() && file_name.as_deref().is_none_or(str::is_empty) => {
                }
                Ok(bytes) => photos.push(PhotoUpload { file_name, bytes }),
                Err(e) if matches!(e.status.as_u16(), 413 | 422) => {
                    while let Some(chunk) = field.next().await {
                        dropped += chunk.map_err(super::attachments::multipart_error)?.len();
                        if dropped > drop_limit {
                            return Err(e);
                        }
                    }
                    refused.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
            continue;
        }
        let bytes = super::attachments::read_part(&mut field, text_limit).await?;
        let text = Some(String::from_utf8_lossy(&bytes).into_owned());
        let slot = match name.as_str() {
            "description" => &mut input.description,
            "location" => &mut input.location,
            "street" => &mut input.street,
            "occurred_on" => &mut input.occurred_on,
            "sector" => &mut input.sector,
            "contact_name" => &mut input.contact_name,
            "contact_phone" => &mut input.contact_phone,
            "challenge_token" => &mut input.challenge_token,
            "challenge_answer" => &mut input.challenge_answer,
            "website" => &mut input.website,
            _ => continue,
        };
        *slot = text;
    }
    Ok((input, photos, refused))
}

async fn file(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    svc::count_filing(&state, &client_ip(&req))?;
    let limits = &state.config.tips;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let (input, photos) = if content_type.starts_with("application/json") {
        if declared.is_some_and(|n| n > limits.max_json_bytes) {
            return Err(too_large("body", limits.max_json_bytes));
        }
        (read_json(payload, limits.max_json_bytes).await?, Vec::new())
    } else if content_type.starts_with("multipart/form-data") {
        let most =
            limits.max_photos * state.config.attachments.max_bytes + 16 * limits.max_json_bytes;
        if declared.is_some_and(|n| n > most) {
            return Err(too_large("body", most));
        }
        read_multipart(
            Multipart::new(req.headers(), payload),
            limits.max_json_bytes,
            state.config.attachments.max_bytes,
            limits.max_photos,
        )
        .await?
    } else {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the tip as application/json or multipart/form-data.",
        ));
    };
    let filed = svc::file_tip(&state, input, photos).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, filed.status_url.clone()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(filed))
}

async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> AppResult<HttpResponse> {
    let view = svc::status(&state, &client_ip(&req), &code.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(view))
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    q: crate::http::query::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let today = state.clock.today();
    let q = q.into_inner();
    let (items, next) = state.db(move |c| svc::list(c, &caller, today, &q)).await?;
    Ok(HttpResponse::Ok().json(json!({"items": items, "next_cursor": next})))
}

async fn detail(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let today = state.clock.today();
    let id = id.into_inner();
    let view = state
        .db(move |c| svc::detail(c, &caller, today, &id))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(view))
}

pub(crate) async fn triage(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input: TriageInput = super::hazards::parse_open(&req, &bytes)?;
    let id = id.into_inner();
    let st = state.clone();
    let view = state
        .db(move |c| {
            let env = super::hazards::env(&st, &caller, None);
            db::write_tx(c, |c| svc::triage(c, &env, &st.config, &id, input))
        })
        .await?;
    // Without the reporter's contact: an answer is kept for `Idempotency-Key` replays, which
    // would hand it out again after the tip has left the officer's scope; the contact is read
    // with `GET /tips/{id}`, in scope at that moment.
    let mut view = serde_json::to_value(view).map_err(AppError::internal)?;
    if let Some(fields) = view.as_object_mut() {
        fields.remove("contact");
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .json(view))
}

async fn photo(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, photo_id) = path.into_inner();
    let row = state
        .db(move |c| svc::photo(c, &caller, &id, &photo_id))
        .await?;
    let blobs = state.blobs.clone();
    let key = row.sha256.clone();
    let bytes = web::block(move || blobs.get(&key))
        .await?
        .map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .body(bytes))
}
