//! Photos and documents of a hazard: multipart upload, scoped download.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::{HttpResponse, web};
use chrono::{NaiveDateTime, TimeZone};
use futures_util::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::Routes;
use crate::app::AppState;
use crate::auth::{Caller, Org};
use crate::db::attachments::{self, AttachmentRow, KINDS};
use crate::db::{self, hazards, users};
use crate::domain::FieldErrors;
use crate::error::{AppError, AppResult};
use crate::policy;

pub fn routes(r: &mut Routes) {
    r.post("/api/v1/hazards/{id}/attachments", upload)
        .get("/api/v1/attachments/{id}", download)
        .delete("/api/v1/attachments/{id}", remove);
}

/// What the form carried.
#[derive(Default)]
struct Upload {
    bytes: Vec<u8>,
    file_name: Option<String>,
    kind: Option<String>,
    caption: Option<String>,
    has_file: bool,
}

/// A multipart body that cannot be read: 415 when it is not `multipart/form-data` at all,
/// else 400 `malformed_multipart`.
pub fn multipart_error(e: actix_multipart::MultipartError) -> AppError {
    use actix_multipart::MultipartError as M;
    match e {
        M::ContentTypeMissing | M::ContentTypeParse | M::ContentTypeIncompatible => AppError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the body as multipart/form-data.",
        ),
        e => AppError::bad_request("malformed_multipart", e.to_string()),
    }
}

/// Reads one multipart part whole, refusing (413) one larger than `limit` bytes.
pub async fn read_part(field: &mut actix_multipart::Field, limit: usize) -> AppResult<Vec<u8>> {
    let mut data = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        if data.len() + chunk.len() > limit {
            return Err(AppError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "The {} part is larger than {limit} bytes.",
                    field.name().unwrap_or("")
                ),
            ));
        }
        data.extend_from_slice(&chunk);
    }
    Ok(data)
}

async fn read_form(mut form: Multipart, max_bytes: usize) -> AppResult<Upload> {
    let mut up = Upload::default();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or("").to_string();
        let limit = if name == "file" { max_bytes } else { 4096 };
        let data = read_part(&mut field, limit).await?;
        match name.as_str() {
            // One upload, one file: a second would be dropped without a word.
            "file" if up.has_file => {
                return Err(AppError::field("file", "one file per upload"));
            }
            "file" => {
                up.has_file = true;
                up.file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename().map(str::to_string));
                up.bytes = data;
            }
            "kind" => up.kind = Some(String::from_utf8_lossy(&data).trim().to_string()),
            "caption" => up.caption = Some(String::from_utf8_lossy(&data).trim().to_string()),
            _ => {}
        }
    }
    Ok(up)
}

pub use crate::storage::clean_file_name;

/// The capture time in a photo's EXIF (local time, taken as Asia/Shanghai), as UTC.
fn exif_taken_at(bytes: &[u8]) -> Option<NaiveDateTime> {
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(bytes))
        .ok()?;
    let field = exif
        .get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)
        .or_else(|| exif.get_field(exif::Tag::DateTime, exif::In::PRIMARY))?;
    let text = match &field.value {
        exif::Value::Ascii(v) => String::from_utf8_lossy(v.first()?).to_string(),
        _ => return None,
    };
    let local = NaiveDateTime::parse_from_str(text.trim(), "%Y:%m:%d %H:%M:%S").ok()?;
    chrono_tz::Asia::Shanghai
        .from_local_datetime(&local)
        .single()
        .map(|t| t.naive_utc())
}

pub(crate) async fn upload(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    form: Multipart,
) -> AppResult<HttpResponse> {
    policy::may_upload(&caller)?;
    let id = id.into_inner();
    let max = state.config.attachments.max_bytes;
    // Visibility first: a hazard outside the caller's scope is missing, whatever the body.
    let (scope, hid) = (policy::hazard_scope(&caller), id.clone());
    state
        .db(move |c| {
            hazards::find(c, &scope, &hid)?
                .map(|_| ())
                .ok_or_else(AppError::not_found)
        })
        .await?;
    let up = read_form(form, max).await?;
    let mut errors = FieldErrors::new();
    if !up.has_file {
        errors.add("file", "required");
    } else if up.bytes.is_empty() {
        errors.add("file", "is empty");
    }
    match up.kind.as_deref() {
        None | Some("") => errors.add("kind", "required"),
        Some(k) if !KINDS.contains(&k) => {
            errors.add("kind", format!("one of {}", KINDS.join(", ")))
        }
        _ => {}
    }
    errors.finish()?;
    policy::may_upload_kind(&caller, up.kind.as_deref().unwrap_or_default())?;
    let content_type = crate::storage::sniff_type(&up.bytes, &crate::storage::ALLOWED_TYPES)
        .ok_or_else(|| {
            AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_file_type",
                "Only JPEG, PNG, WebP photos and PDF documents are accepted.",
            )
        })?;
    let sha256 = hex::encode(Sha256::digest(&up.bytes));
    let taken_at = if content_type.starts_with("image/") {
        exif_taken_at(&up.bytes)
    } else {
        None
    };
    let blobs = state.blobs.clone();
    let (key, bytes) = (sha256.clone(), up.bytes);
    let size = bytes.len() as i64;
    // The bytes are safe on disk before the row that points at them commits.
    web::block(move || blobs.put(&key, &bytes))
        .await?
        .map_err(AppError::internal)?;
    let now = state.clock.now();
    let row = AttachmentRow {
        id: uuid::Uuid::now_v7().to_string(),
        hazard_id: id.clone(),
        kind: up.kind.unwrap_or_default(),
        caption: up.caption.filter(|c| !c.is_empty()),
        file_name: clean_file_name(up.file_name.as_deref()),
        content_type: content_type.to_string(),
        size_bytes: size,
        sha256,
        taken_at,
        uploaded_by: Some(caller.user_id.clone()),
        created_at: now.naive_utc(),
    };
    let saved = row.clone();
    state
        .db(move |c| {
            db::write_tx(c, |c| {
                let scope = policy::hazard_scope(&caller);
                let mut hazard = hazards::find(c, &scope, &id)?.ok_or_else(AppError::not_found)?;
                if matches!(hazard.status.as_str(), "closed" | "void") {
                    return Err(AppError::conflict(
                        "hazard_frozen",
                        "Closed and void hazards accept no new attachments.",
                    )
                    .with("current_status", hazard.status.clone()));
                }
                attachments::insert(c, &row)?;
                let before = hazard.clone();
                hazard.version += 1;
                hazard.updated_at = now.naive_utc();
                if !hazards::update_if_version(c, &before, &hazard)? {
                    return Err(AppError::conflict(
                        "concurrent_update",
                        "The hazard changed meanwhile; retry.",
                    ));
                }
                let payload = json!({
                    "attachment": {"id": row.id, "kind": row.kind, "file_name": row.file_name,
                                   "content_type": row.content_type, "size_bytes": row.size_bytes,
                                   "sha256": row.sha256, "caption": row.caption},
                    "version": hazard.version,
                });
                crate::db::ledger::append(
                    c,
                    Some(&id),
                    "hazard.attachment_added",
                    Some((&caller.user_id, caller.role.as_str())),
                    now,
                    &payload,
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/attachments/{}", saved.id),
        ))
        .json(saved))
}

/// Removes a photo or document uploaded by mistake while its hazard is a draft or returned,
/// for whoever may edit the report (`If-Match` with the hazard's ETag is honoured). The ledger
/// records what was removed (name, kind, SHA-256); the bytes stay in the blob store.
pub(crate) async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    policy::may_upload(&caller)?;
    let expected = crate::api::hazards::if_match(&req)?;
    let id = id.into_inner();
    let st = state.clone();
    let version = state
        .write(move |c| {
            let env = crate::api::hazards::env(&st, &caller, expected);
            db::write_tx(c, |c| {
                let row = attachments::by_id(c, &id)?.ok_or_else(AppError::not_found)?;
                let (hazard, _, _) = crate::service::hazards::act(
                    c,
                    &env,
                    &row.hazard_id,
                    "hazard.attachment_removed",
                    json!({"attachment_id": row.id}),
                    crate::domain::hazard::remove_attachment,
                    |c, _, _, loaded| {
                        let uploader_enterprise = match (&row.uploaded_by, &caller.org) {
                            (Some(by), Org::Enterprise(_)) if *by != caller.user_id => {
                                users::by_id(c, by)?.and_then(|u| u.enterprise_id)
                            }
                            _ => None,
                        };
                        if !policy::may_remove_attachment(
                            &caller,
                            row.uploaded_by.as_deref(),
                            uploader_enterprise.as_deref(),
                        ) {
                            return Err(AppError::forbidden(
                                "not_the_uploader",
                                "Only whoever uploaded an attachment (for an enterprise's upload, a user of that enterprise) removes it.",
                            ));
                        }
                        attachments::delete(c, &row.id)?;
                        loaded.files.retain(|f| f.id != row.id);
                        Ok(json!({"attachment": {
                            "id": row.id, "kind": row.kind, "file_name": row.file_name,
                            "content_type": row.content_type, "size_bytes": row.size_bytes,
                            "sha256": row.sha256, "caption": row.caption,
                            "uploaded_by": row.uploaded_by,
                        }}))
                    },
                )?;
                Ok(hazard.version)
            })
        })
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::ETAG, format!("\"{version}\"")))
        .finish())
}

pub(crate) async fn download(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let row = state
        .db(move |c| {
            let row = attachments::by_id(c, &id)?.ok_or_else(AppError::not_found)?;
            // Scoped like its hazard.
            hazards::find(c, &policy::hazard_scope(&caller), &row.hazard_id)?
                .ok_or_else(AppError::not_found)?;
            Ok(row)
        })
        .await?;
    let blobs = state.blobs.clone();
    let key = row.sha256.clone();
    let bytes = web::block(move || blobs.get(&key))
        .await?
        .map_err(AppError::internal)?;
    let ascii: String = row
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: row.file_name.clone().into_bytes(),
            }),
        ],
    };
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header(disposition)
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}
