//! Tip-offs (举报) from filing to reply. The public side (challenge, filing, status by receipt
//! code) and the officers' side (list, detail, triage) are plain functions, so the JSON API and
//! the form pages call the same code.
//!
//! Privacy: the reporter's name and phone go to `tip_contacts` and come back only through
//! [`detail`], which only the officers handling the tip reach. Ledger entries carry codes and
//! digests of free text, never the contact; only `tip.confirmed` names the linked hazard, so a
//! hazard's events (which its enterprise reads) show no more than the link.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::Caller;
use crate::auth::ratelimit::{TipLimit, TipLimiter};
use crate::config::{Config, TipsConfig};
use crate::db::schema::{departments, sectors, streets};
use crate::db::tips::{self as store, ContactRow, TipEventRow, TipPhotoRow, TipRow};
use crate::db::{self, DbConn, hazards, ledger};
use crate::domain::FieldErrors;
use crate::domain::hazard::DraftInput;
use crate::domain::tip::challenge::{self, ChallengeError, Question};
use crate::domain::tip::street::{StreetNames, route_by_address};
use crate::domain::tip::{self, Resolution, TipStatus, TriageAction, receipt};
use crate::domain::validate::{has_control_characters, is_one_line, normalize_phone};
use crate::error::{AppError, AppResult};
use crate::mail::{self, tips::TipMail};
use crate::policy;
use crate::service::hazards::{self as hazard_svc, Env};

/// Photo types a tip accepts.
pub const PHOTO_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];
/// Longest location, contact name, reason, note or reply, in characters.
const LOCATION_MAX: usize = 500;
const NAME_MAX: usize = 50;
const TEXT_MAX: usize = 2000;

/// What the tip endpoints share: limits, the challenge key, the street names.
#[derive(Clone)]
pub struct TipServices {
    key: Arc<[u8; 32]>,
    limiter: TipLimiter,
    streets: Arc<Vec<StreetNames>>,
}

impl TipServices {
    /// From `[tips]`, with the challenge key derived from the service's HMAC secret.
    pub fn new(config: &Config, secret: &[u8]) -> anyhow::Result<Self> {
        let reference = crate::seeds::ReferenceData::load()?;
        let streets = reference
            .streets
            .into_iter()
            .map(|s| StreetNames {
                code: s.code,
                name: s.name,
                keywords: s.keywords,
            })
            .collect();
        Ok(Self {
            key: Arc::new(challenge::hmac_sha256(
                secret,
                b"hazard-ledger/tip-challenge/v1",
            )),
            limiter: TipLimiter::new(&config.tips),
            streets: Arc::new(streets),
        })
    }

    fn limit(&self, limit: TipLimit, ip: &str) -> AppResult<()> {
        self.limiter.check(limit, ip).map_err(|wait| {
            let mut e = AppError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests from your address; try again later.",
            );
            e.retry_after = Some(wait);
            e
        })
    }
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn clean(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
}

/// A street or department code as given: trimmed, in the upper case the codes are kept in.
fn code(text: Option<&str>) -> Option<String> {
    clean(text).map(|c| c.to_uppercase())
}

// --- the public side ---------------------------------------------------------------------

/// A question for the tip form.
#[derive(Debug, Clone, Serialize)]
pub struct Challenge {
    /// Send back as `challenge_token`.
    pub token: String,
    /// The question, in Chinese; the answer goes in `challenge_answer`.
    pub question: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// Issues a question for `ip` (counted against the look-up limit).
pub fn challenge(state: &AppState, ip: &str) -> AppResult<Challenge> {
    state.tips.limit(TipLimit::Lookup, ip)?;
    let mut random = [0u8; 19];
    rand::rng().fill(&mut random[..]);
    let question = Question::from_random([random[16], random[17], random[18]]);
    let nonce = hex::encode(&random[..16]);
    let expires = state.clock.now() + Duration::minutes(state.config.tips.challenge_ttl_minutes);
    Ok(Challenge {
        token: challenge::token(
            &state.tips.key[..],
            expires.timestamp(),
            &nonce,
            question.answer(),
        ),
        question: question.text(),
        expires_at: crate::timefmt::rfc3339(&expires.naive_utc()),
    })
}

/// A tip as the public sends it (JSON or form fields alike).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TipInput {
    pub description: Option<String>,
    pub location: Option<String>,
    /// Street code; routed from the location when absent.
    pub street: Option<String>,
    /// `YYYY-MM-DD`.
    pub occurred_on: Option<String>,
    /// Sector code: routes the tip to the sector's department.
    pub sector: Option<String>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub challenge_token: Option<String>,
    pub challenge_answer: Option<String>,
    /// Honeypot: people leave it empty.
    pub website: Option<String>,
}

/// A photo sent with a tip.
#[derive(Debug, Clone)]
pub struct PhotoUpload {
    pub file_name: Option<String>,
    pub bytes: Vec<u8>,
}

/// What the reporter gets back: the receipt code is shown this once.
#[derive(Debug, Clone, Serialize)]
pub struct Filed {
    pub receipt_code: String,
    pub status: TipStatus,
    pub status_text: &'static str,
    pub received_on: NaiveDate,
    /// Where to follow the tip.
    pub status_url: String,
}

/// A checked tip, ready to store.
struct Valid {
    description: String,
    location: String,
    occurred_on: NaiveDate,
    street: Option<String>,
    sector: Option<String>,
    contact_name: Option<String>,
    contact_phone: Option<String>,
    nonce: String,
    nonce_expires: DateTime<Utc>,
    photos: Vec<(TipPhotoRow, Vec<u8>)>,
}

fn check_input(
    services: &TipServices,
    config: &TipsConfig,
    input: &TipInput,
    photos: Vec<PhotoUpload>,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> AppResult<Valid> {
    let mut e = FieldErrors::new();
    if clean(input.website.as_deref()).is_some() {
        e.add("website", "must be empty");
    }
    // A multipart tip's text did not pass through the JSON reader, which refuses these.
    for (field, text) in [
        ("description", &input.description),
        ("location", &input.location),
        ("occurred_on", &input.occurred_on),
        ("street", &input.street),
        ("sector", &input.sector),
        ("contact_name", &input.contact_name),
        ("contact_phone", &input.contact_phone),
    ] {
        if text.as_deref().is_some_and(has_control_characters) {
            e.add(field, "must not contain control characters");
        } else if field != "description" && text.as_deref().is_some_and(|t| !is_one_line(t)) {
            e.add(field, "must be one line");
        }
    }
    let description = e.require_text("description", input.description.as_deref());
    if description.is_some_and(|d| d.chars().count() > config.max_description_chars) {
        e.add(
            "description",
            format!("at most {} characters", config.max_description_chars),
        );
    }
    let location = e.require_text("location", input.location.as_deref());
    if location.is_some_and(|l| l.chars().count() > LOCATION_MAX) {
        e.add("location", format!("at most {LOCATION_MAX} characters"));
    }
    // Codes named with the other errors (the store checks them again against the database).
    if let Some(s) = code(input.street.as_deref())
        && !services.streets.iter().any(|known| known.code == s)
    {
        e.add("street", "unknown street code");
    }
    if let Some(s) = clean(input.sector.as_deref())
        && !crate::seeds::known_codes().sectors.contains(&s)
    {
        e.add("sector", "unknown sector code");
    }
    let occurred_on = match clean(input.occurred_on.as_deref()) {
        None => {
            e.add("occurred_on", "required");
            None
        }
        Some(text) => match crate::timefmt::parse_date(&text) {
            Some(d) if d > today => {
                e.add("occurred_on", "must not be in the future");
                None
            }
            Some(d) => Some(d),
            None => {
                e.add("occurred_on", "a date YYYY-MM-DD");
                None
            }
        },
    };
    let contact_name = clean(input.contact_name.as_deref());
    if contact_name
        .as_deref()
        .is_some_and(|n| n.chars().count() > NAME_MAX)
    {
        e.add("contact_name", format!("at most {NAME_MAX} characters"));
    }
    let contact_phone = match clean(input.contact_phone.as_deref()) {
        None => None,
        Some(p) => match normalize_phone(&p) {
            Ok(p) => Some(p),
            Err(m) => {
                e.add("contact_phone", m);
                None
            }
        },
    };
    let token = e.require_text("challenge_token", input.challenge_token.as_deref());
    let answer = e.require_text("challenge_answer", input.challenge_answer.as_deref());
    let mut passed = None;
    if let (Some(token), Some(answer)) = (token, answer) {
        match challenge::check(&services.key[..], token, answer, now.timestamp()) {
            Ok(p) => passed = Some(p),
            Err(ChallengeError::Malformed) => {
                e.add("challenge_token", "not a challenge of this service")
            }
            Err(ChallengeError::Expired) => {
                e.add("challenge_token", "expired; ask for a new question")
            }
            Err(ChallengeError::WrongAnswer) => e.add("challenge_answer", "wrong answer"),
        }
    }
    if photos.len() > config.max_photos {
        e.add("photo", format!("at most {} photos", config.max_photos));
    }
    let mut stored = Vec::new();
    for (n, p) in photos.into_iter().enumerate() {
        match crate::storage::sniff_type(&p.bytes, &PHOTO_TYPES) {
            _ if p.bytes.is_empty() => e.add("photo", "is empty"),
            None => e.add("photo", "only JPEG, PNG or WebP photos"),
            Some(ct) => {
                // The reporter is protected (L5): a phone's photo names its place and device.
                let bytes = crate::storage::without_metadata(p.bytes);
                stored.push((
                    TipPhotoRow {
                        id: uuid::Uuid::now_v7().to_string(),
                        tip_id: String::new(),
                        // Nor its file name (a phone's may carry a name or the moment taken).
                        file_name: format!(
                            "举报照片{}.{}",
                            n + 1,
                            ct.rsplit('/').next().unwrap_or("jpg")
                        ),
                        content_type: ct.to_string(),
                        size_bytes: bytes.len() as i64,
                        sha256: hex::encode(Sha256::digest(&bytes)),
                        created_at: now.naive_utc(),
                    },
                    bytes,
                ));
            }
        }
    }
    e.finish()?;
    let passed = passed.ok_or_else(|| AppError::internal("challenge unchecked"))?;
    Ok(Valid {
        description: description.unwrap_or_default().to_string(),
        location: location.unwrap_or_default().to_string(),
        occurred_on: occurred_on.ok_or_else(|| AppError::internal("date unchecked"))?,
        street: code(input.street.as_deref()),
        sector: clean(input.sector.as_deref()),
        contact_name,
        contact_phone,
        nonce: passed.nonce,
        nonce_expires: DateTime::from_timestamp(passed.expires, 0).unwrap_or(now),
        photos: stored,
    })
}

/// Counts a filing attempt from `ip` against `tips.rate_per_ip_per_hour` (429 beyond it): the
/// first thing a filing does, before its body is read, so that every attempt counts — a body
/// refused as too large or not a form as much as one [`file_tip`] refuses.
pub fn count_filing(state: &AppState, ip: &str) -> AppResult<()> {
    state.tips.limit(TipLimit::Filing, ip)
}

/// Files a tip (its attempt counted already, [`count_filing`]): honeypot, challenge (spent once), validation, photos into
/// the blob store, then the tip, its contact, photos, first event and `tip.received` in one
/// transaction. Routed at once when a street (given, or found in the location) or a sector's
/// department is known; otherwise it waits for the district office as `received`.
pub async fn file_tip(
    state: &AppState,
    input: TipInput,
    photos: Vec<PhotoUpload>,
) -> AppResult<Filed> {
    let now = crate::clock::truncate_micros(state.clock.now());
    let today = state.clock.today();
    let valid = check_input(&state.tips, &state.config.tips, &input, photos, now, today)?;
    let blobs = state.blobs.clone();
    let to_store: Vec<(String, Vec<u8>)> = valid
        .photos
        .iter()
        .map(|(row, bytes)| (row.sha256.clone(), bytes.clone()))
        .collect();
    // The bytes are safe in the store before the rows that point at them commit.
    web::block(move || -> anyhow::Result<()> {
        for (key, bytes) in &to_store {
            blobs.put(key, bytes)?;
        }
        Ok(())
    })
    .await?
    .map_err(AppError::internal)?;
    let (streets, config) = (state.tips.streets.clone(), state.config.clone());
    state
        .db(move |c| db::write_tx(c, |c| store_tip(c, &config, valid, &streets, now, today)))
        .await
}

fn store_tip(
    c: &mut DbConn,
    config: &Config,
    valid: Valid,
    streets: &[StreetNames],
    now: DateTime<Utc>,
    today: NaiveDate,
) -> AppResult<Filed> {
    if !store::spend_nonce(
        c,
        &valid.nonce,
        valid.nonce_expires.naive_utc(),
        now.naive_utc(),
    )? {
        return Err(AppError::field(
            "challenge_token",
            "already used; ask for a new question",
        ));
    }
    let mut e = FieldErrors::new();
    if let Some(s) = &valid.street
        && !street_exists(c, s)?
    {
        e.add("street", "unknown street code");
    }
    let department = match &valid.sector {
        None => None,
        Some(s) => {
            let d: Option<String> = sectors::table
                .find(s)
                .select(sectors::primary_department)
                .get_result(c)
                .optional()?;
            if d.is_none() {
                e.add("sector", "unknown sector code");
            }
            d
        }
    };
    e.finish()?;
    let (street, routed_by) = match valid.street {
        Some(s) => (Some(s), Some("reporter")),
        None => match route_by_address(&valid.location, streets) {
            Some(s) => (Some(s), Some("address")),
            None => (None, None),
        },
    };
    let status = if street.is_some() || department.is_some() {
        TipStatus::Routed
    } else {
        TipStatus::Received
    };
    let mut random = [0u8; receipt::RANDOM_BYTES];
    rand::rng().fill(&mut random);
    let code = receipt::format(&random);
    let at = now.naive_utc();
    let row = TipRow {
        id: uuid::Uuid::now_v7().to_string(),
        receipt_hash: receipt::hash(&code),
        status: status.as_str().into(),
        description: valid.description,
        location: valid.location,
        occurred_on: valid.occurred_on,
        street_code: street,
        street_routed_by: routed_by.map(String::from),
        sector_code: valid.sector,
        department_code: department,
        anonymous: valid.contact_name.is_none() && valid.contact_phone.is_none(),
        resolution: None,
        hazard_id: None,
        duplicate_of: None,
        received_on: today,
        due_on: tip::due_on(today, config.tips.verify_sla_days),
        resolved_on: None,
        version: 1,
        created_at: at,
        updated_at: at,
    };
    let contact = (!row.anonymous).then(|| ContactRow {
        tip_id: row.id.clone(),
        name: valid.contact_name,
        phone: valid.contact_phone,
        created_at: at,
    });
    store::insert(c, &row, contact.as_ref())?;
    for (mut photo, _) in valid.photos {
        photo.tip_id = row.id.clone();
        store::add_photo(c, &photo)?;
    }
    let details = json!({
        "street": row.street_code, "street_routed_by": row.street_routed_by,
        "sector": row.sector_code, "department": row.department_code,
    });
    add_event(
        c, &row, "received", None, status, &details, None, None, None, at,
    )?;
    let photos: Vec<String> = store::photos(c, &row.id)?
        .into_iter()
        .map(|p| p.sha256)
        .collect();
    let payload = json!({
        "tip_id": row.id,
        "status": row.status,
        "occurred_on": row.occurred_on,
        "street": row.street_code,
        "street_routed_by": row.street_routed_by,
        "sector": row.sector_code,
        "department": row.department_code,
        "due_on": row.due_on,
        "content_sha256": digest(&format!("{}\n{}", row.description, row.location)),
        "photos_sha256": photos,
    });
    ledger::append(c, None, "tip.received", None, now, &payload)?;
    mail::tips::tip_event(
        c,
        config,
        now,
        TipMail::Received,
        &row,
        row.street_code.as_deref(),
        row.department_code.as_deref(),
    )?;
    Ok(Filed {
        status_url: format!("/api/v1/tips/status/{code}"),
        receipt_code: code,
        status,
        status_text: status.public_text(),
        received_on: today,
    })
}

fn street_exists(c: &mut DbConn, code: &str) -> QueryResult<bool> {
    Ok(streets::table
        .find(code)
        .select(streets::code)
        .get_result::<String>(c)
        .optional()?
        .is_some())
}

/// What the reporter sees: progress and public replies; never notes, officers or the contact.
#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub receipt_code: String,
    pub status: TipStatus,
    pub status_text: &'static str,
    pub received_on: NaiveDate,
    /// The outcome in public words, once there is one.
    pub outcome: Option<&'static str>,
    pub replies: Vec<PublicReply>,
}

/// A reply to the reporter.
#[derive(Debug, Clone, Serialize)]
pub struct PublicReply {
    pub message: String,
    pub replied_on: NaiveDate,
}

/// The status of the tip with `receipt_code` (counted against the look-up limit of `ip`);
/// 404 for a code that is not one.
pub async fn status(state: &AppState, ip: &str, receipt_code: &str) -> AppResult<StatusView> {
    state.tips.limit(TipLimit::Lookup, ip)?;
    let code = receipt::normalize(receipt_code).ok_or_else(AppError::not_found)?;
    let tz = state.clock.tz();
    state
        .db(move |c| {
            let row =
                store::by_receipt(c, &receipt::hash(&code))?.ok_or_else(AppError::not_found)?;
            let replies = store::events(c, &row.id)?
                .into_iter()
                .filter_map(|e| {
                    let day = e.created_at.and_utc().with_timezone(&tz).date_naive();
                    e.public_message.map(|message| PublicReply {
                        message,
                        replied_on: day,
                    })
                })
                .collect();
            let status: TipStatus = row.status.parse().map_err(AppError::internal)?;
            Ok(StatusView {
                receipt_code: code,
                status,
                status_text: status.public_text_with(resolution(&row)?),
                received_on: row.received_on,
                outcome: resolution(&row)?.map(Resolution::public_text),
                replies,
            })
        })
        .await
}

fn resolution(row: &TipRow) -> AppResult<Option<Resolution>> {
    row.resolution
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(AppError::internal)
}

// --- the officers' side ------------------------------------------------------------------

/// A tip in an officer's list (no contact, no history).
#[derive(Debug, Clone, Serialize)]
pub struct TipSummary {
    pub id: String,
    pub status: TipStatus,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub overdue: bool,
    pub occurred_on: NaiveDate,
    pub location: String,
    pub description: String,
    pub street: Option<String>,
    pub sector: Option<String>,
    pub department: Option<String>,
    pub anonymous: bool,
    pub resolution: Option<String>,
    pub hazard_id: Option<String>,
    pub duplicate_of: Option<String>,
    pub updated_at: String,
}

fn summary(row: &TipRow, today: NaiveDate) -> AppResult<TipSummary> {
    let status: TipStatus = row.status.parse().map_err(AppError::internal)?;
    Ok(TipSummary {
        id: row.id.clone(),
        status,
        received_on: row.received_on,
        due_on: row.due_on,
        overdue: tip::overdue(status, row.due_on, today),
        occurred_on: row.occurred_on,
        location: row.location.clone(),
        description: row.description.clone(),
        street: row.street_code.clone(),
        sector: row.sector_code.clone(),
        department: row.department_code.clone(),
        anonymous: row.anonymous,
        resolution: row.resolution.clone(),
        hazard_id: row.hazard_id.clone(),
        duplicate_of: row.duplicate_of.clone(),
        updated_at: crate::timefmt::rfc3339(&row.updated_at),
    })
}

/// Filters of the officers' list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// Comma-separated statuses.
    pub status: Option<String>,
    /// A street's code (the district office's view of the streets' tips).
    pub street: Option<String>,
    /// A department's code.
    pub department: Option<String>,
    /// `true`: open tips past their verification date; `false`: the others.
    pub overdue: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<crate::http::query::Whole>,
}

/// A page of the caller's tips, newest first, and the cursor of the next page.
pub fn list(
    conn: &mut DbConn,
    caller: &Caller,
    today: NaiveDate,
    q: &ListQuery,
) -> AppResult<(Vec<TipSummary>, Option<String>)> {
    let scope = policy::tip_scope(caller)?;
    let mut errors = FieldErrors::new();
    let limit = crate::api::checked_page_limit(q.limit.as_ref(), &mut errors);
    let mut statuses = Vec::new();
    for s in q.status.iter().flat_map(|s| s.split(',')) {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        if s.parse::<TipStatus>().is_err() {
            errors.add("status", format!("unknown status '{s}'"));
        }
        statuses.push(s.to_string());
    }
    let codes = crate::seeds::known_codes();
    let mut filter = store::PageFilter {
        statuses,
        street: crate::api::hazard_list::known_code(
            &mut errors,
            "street",
            &q.street,
            &codes.streets,
            true,
        ),
        department: crate::api::hazard_list::known_code(
            &mut errors,
            "department",
            &q.department,
            &codes.departments,
            true,
        ),
        ..Default::default()
    };
    match q.overdue.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("true" | "1") => filter.overdue = Some(today),
        Some("false" | "0") => filter.not_overdue = Some(today),
        Some(_) => errors.add("overdue", "true or false"),
    }
    // The cursor is the id of the last tip of the previous page.
    if let Some(c) = q.cursor.as_deref()
        && uuid::Uuid::parse_str(c).is_err()
    {
        errors.add("cursor", "not a cursor this service gave out");
    }
    errors.finish()?;
    let rows = store::page(conn, &scope, &filter, q.cursor.as_deref(), limit)?;
    let (rows, next) = crate::api::paginate(rows, limit, |r| r.id.clone());
    let items = rows
        .iter()
        .map(|r| summary(r, today))
        .collect::<AppResult<_>>()?;
    Ok((items, next))
}

/// A tip as the officers handling it see it: everything, the reporter's contact included.
#[derive(Debug, Clone, Serialize)]
pub struct TipView {
    #[serde(flatten)]
    pub summary: TipSummary,
    pub status_text: &'static str,
    pub street_routed_by: Option<String>,
    /// Name and phone, or null for an anonymous tip.
    pub contact: Option<ContactRow>,
    /// The outcome as the reporter reads it.
    pub outcome: Option<&'static str>,
    pub resolved_on: Option<NaiveDate>,
    pub photos: Vec<TipPhotoRow>,
    pub events: Vec<Value>,
    pub permitted_actions: Vec<&'static str>,
    pub version: i32,
    pub created_at: String,
}

fn view(conn: &mut DbConn, row: &TipRow, today: NaiveDate) -> AppResult<TipView> {
    let summary = summary(row, today)?;
    let events = store::events(conn, &row.id)?
        .into_iter()
        .map(|e| {
            json!({
                "id": e.id, "action": e.action, "from_status": e.from_status,
                "to_status": e.to_status,
                "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
                "note": e.note, "public_message": e.public_message, "actor_id": e.actor_id,
                "at": crate::timefmt::rfc3339(&e.created_at),
            })
        })
        .collect();
    Ok(TipView {
        status_text: summary.status.public_text_with(resolution(row)?),
        permitted_actions: tip::actions_from(summary.status),
        summary,
        street_routed_by: row.street_routed_by.clone(),
        contact: store::contact(conn, &row.id)?,
        outcome: resolution(row)?.map(Resolution::public_text),
        resolved_on: row.resolved_on,
        photos: store::photos(conn, &row.id)?,
        events,
        version: row.version,
        created_at: crate::timefmt::rfc3339(&row.created_at),
    })
}

/// One tip for an officer who handles it (403 for other roles, 404 outside the scope).
pub fn detail(
    conn: &mut DbConn,
    caller: &Caller,
    today: NaiveDate,
    id: &str,
) -> AppResult<TipView> {
    let scope = policy::tip_scope(caller)?;
    let row = store::find(conn, &scope, id)?.ok_or_else(AppError::not_found)?;
    view(conn, &row, today)
}

/// One photo of a tip in the caller's scope: its row (the bytes are in the blob store).
pub fn photo(
    conn: &mut DbConn,
    caller: &Caller,
    tip_id: &str,
    photo_id: &str,
) -> AppResult<TipPhotoRow> {
    let scope = policy::tip_scope(caller)?;
    store::find(conn, &scope, tip_id)?.ok_or_else(AppError::not_found)?;
    store::photo(conn, tip_id, photo_id)?.ok_or_else(AppError::not_found)
}

/// Body of a triage step: `action` and the fields it takes; for `confirm` with `enterprise_id`
/// the other members are the hazard fields of `POST /api/v1/hazards`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TriageInput {
    pub action: Option<String>,
    pub street: Option<String>,
    pub department: Option<String>,
    pub enterprise_id: Option<String>,
    pub hazard_id: Option<String>,
    pub duplicate_of: Option<String>,
    pub reason: Option<String>,
    pub to: Option<String>,
    pub note: Option<String>,
    pub message: Option<String>,
    /// Hazard fields (confirm creating a hazard).
    #[serde(flatten)]
    pub hazard: serde_json::Map<String, Value>,
}

#[allow(clippy::too_many_arguments)]
fn add_event(
    c: &mut DbConn,
    row: &TipRow,
    action: &str,
    from: Option<TipStatus>,
    to: TipStatus,
    details: &Value,
    note: Option<String>,
    public_message: Option<String>,
    actor: Option<&str>,
    at: chrono::NaiveDateTime,
) -> AppResult<()> {
    store::add_event(
        c,
        &TipEventRow {
            id: uuid::Uuid::now_v7().to_string(),
            tip_id: row.id.clone(),
            action: action.to_string(),
            from_status: from.map(|s| s.as_str().to_string()),
            to_status: to.as_str().to_string(),
            details: details.to_string(),
            note,
            public_message,
            actor_id: actor.map(String::from),
            created_at: at,
        },
    )?;
    Ok(())
}

fn text_field(
    e: &mut FieldErrors,
    field: &str,
    value: &Option<String>,
    required: bool,
) -> Option<String> {
    match clean(value.as_deref()) {
        None if required => {
            e.add(field, "required");
            None
        }
        Some(t) if t.chars().count() > TEXT_MAX => {
            e.add(field, format!("at most {TEXT_MAX} characters"));
            None
        }
        other => other,
    }
}

/// One triage step on a tip in the caller's scope, in the caller's transaction: 403 for roles
/// that take no part, 404 outside the scope, 409 (with `current_status`) from a wrong state,
/// 422 naming every missing or invalid field. Answers the tip as the officer sees it.
pub fn triage(
    conn: &mut DbConn,
    env: &Env<'_>,
    config: &Config,
    id: &str,
    input: TriageInput,
) -> AppResult<TipView> {
    let caller = env.caller;
    let scope = policy::tip_scope(caller)?;
    let mut row = store::find(conn, &scope, id)?.ok_or_else(AppError::not_found)?;
    let action: TriageAction = match clean(input.action.as_deref()) {
        None => return Err(AppError::field("action", "required")),
        Some(a) => a.parse().map_err(|_| {
            AppError::field(
                "action",
                "one of route, verify, confirm, not_confirmed, transfer, reply",
            )
        })?,
    };
    let current: TipStatus = row.status.parse().map_err(AppError::internal)?;
    let next = tip::next_status(current, action)?;
    let now = crate::clock::truncate_micros(env.now);
    let at = now.naive_utc();
    let mut e = FieldErrors::new();
    // Each step takes its own members (and `note`); another's is named, not dropped. Members
    // beyond them all are the hazard fields of a confirmation that may create a hazard (checked
    // there, with `recurrence_of`); a confirmation by `hazard_id` or `duplicate_of` takes none.
    let given = [
        ("street", input.street.is_some()),
        ("department", input.department.is_some()),
        ("enterprise_id", input.enterprise_id.is_some()),
        ("hazard_id", input.hazard_id.is_some()),
        ("duplicate_of", input.duplicate_of.is_some()),
        ("reason", input.reason.is_some()),
        ("to", input.to.is_some()),
        ("message", input.message.is_some()),
    ];
    let takes: &[&str] = match action {
        TriageAction::Route => &["street", "department"],
        TriageAction::Verify => &[],
        TriageAction::Confirm => &["enterprise_id", "hazard_id", "duplicate_of"],
        TriageAction::NotConfirmed => &["reason"],
        TriageAction::Transfer => &["to"],
        TriageAction::Reply => &["message"],
    };
    for (field, _) in given.iter().filter(|(f, g)| *g && !takes.contains(f)) {
        e.add(*field, "not a field of this step");
    }
    let may_create = action == TriageAction::Confirm
        && input.hazard_id.is_none()
        && input.duplicate_of.is_none();
    if !may_create {
        for key in input.hazard.keys() {
            e.add(key, "not a field of this step");
        }
    }
    let note = text_field(&mut e, "note", &input.note, false);
    let mut details = serde_json::Map::new();
    let mut public_message = None;
    let mut ledger_hazard: Option<String> = None;
    // Where a route step sent the tip (only what changed), for the email of its new handlers.
    let mut routed_to: (Option<String>, Option<String>) = (None, None);
    match action {
        TriageAction::Route => {
            // Only what changes is routed (and recorded): a street or department the tip has
            // already is left out.
            let street =
                code(input.street.as_deref()).filter(|s| row.street_code.as_ref() != Some(s));
            let department = code(input.department.as_deref())
                .filter(|d| row.department_code.as_ref() != Some(d));
            let given = input
                .street
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
                || input
                    .department
                    .as_deref()
                    .is_some_and(|d| !d.trim().is_empty());
            if given && street.is_none() && department.is_none() {
                for (field, value) in [("street", &input.street), ("department", &input.department)]
                {
                    if value.as_deref().is_some_and(|v| !v.trim().is_empty()) {
                        e.add(field, "the tip is already routed there");
                    }
                }
            } else if street.is_none() && department.is_none() {
                e.add("street", "give a street, a department or both");
                e.add("department", "give a street, a department or both");
            }
            if let Some(s) = &street
                && !street_exists(conn, s)?
            {
                e.add("street", "unknown street code");
            }
            if let Some(d) = &department {
                let kind: Option<String> = departments::table
                    .find(d)
                    .select(departments::kind)
                    .get_result(conn)
                    .optional()?;
                if kind.as_deref() != Some("department") {
                    e.add("department", "not a department code");
                }
            }
            e.finish()?;
            routed_to = (street.clone(), department.clone());
            if let Some(s) = street {
                details.insert(
                    "street".into(),
                    json!({"before": row.street_code, "after": s}),
                );
                row.street_code = Some(s);
                row.street_routed_by = Some("officer".into());
            }
            if let Some(d) = department {
                details.insert(
                    "department".into(),
                    json!({"before": row.department_code, "after": d}),
                );
                row.department_code = Some(d);
            }
        }
        TriageAction::Verify => e.finish()?,
        TriageAction::Confirm => {
            let given = [
                ("enterprise_id", clean(input.enterprise_id.as_deref())),
                ("hazard_id", clean(input.hazard_id.as_deref())),
                ("duplicate_of", clean(input.duplicate_of.as_deref())),
            ];
            let named: Vec<_> = given.iter().filter(|(_, v)| v.is_some()).collect();
            if named.len() != 1 {
                for (field, _) in &given {
                    e.add(
                        *field,
                        "give exactly one of enterprise_id (with the hazard fields), hazard_id or duplicate_of",
                    );
                }
            }
            e.finish()?;
            let (field, value) = named[0];
            let value = value.clone().unwrap_or_default();
            match *field {
                "enterprise_id" => {
                    let mut fields = input.hazard.clone();
                    fields.entry("source").or_insert(json!(6));
                    fields.entry("discovered_on").or_insert(json!(env.today));
                    // A hazard that came back after its close-out (the advice for a closed
                    // `hazard_id`) links the closed one, as `POST /hazards` does.
                    let recurrence_of = match fields.remove("recurrence_of") {
                        None | Some(Value::Null) => None,
                        Some(Value::String(s)) => Some(s),
                        Some(_) => return Err(AppError::field("recurrence_of", "must be text")),
                    };
                    let mut draft: DraftInput =
                        crate::http::json::from_value_strict(Value::Object(fields))?;
                    // A confirmed tip is a hazard found through a tip-off (隐患来源 6 投诉举报).
                    draft.content.source = Some(crate::domain::hazard::TIP_SOURCE);
                    let (hazard, _) =
                        hazard_svc::create(conn, env, Some(value), recurrence_of, draft)?;
                    details.insert("hazard_id".into(), json!(hazard.id));
                    row.hazard_id = Some(hazard.id);
                    row.resolution = Some(Resolution::HazardCreated.as_str().into());
                }
                "hazard_id" => {
                    // By its id or its ledger number (上账编号), as officers name it.
                    let hazard = hazards::find_by_id_or_ledger_no(
                        conn,
                        &policy::hazard_scope(caller),
                        &value,
                    )?
                    .ok_or_else(|| {
                        AppError::field("hazard_id", "no such hazard within your scope")
                    })?;
                    // Closed and void are final: a hazard that came back is a new one
                    // (`recurrence_of`), and a voided one was found untrue or a duplicate.
                    if matches!(hazard.status.as_str(), "closed" | "void") {
                        return Err(AppError::field(
                            "hazard_id",
                            format!(
                                "the hazard is {}: confirm with enterprise_id and the hazard fields (a new hazard; recurrence_of links a closed one)",
                                hazard.status
                            ),
                        ));
                    }
                    details.insert("hazard_id".into(), json!(hazard.id));
                    row.hazard_id = Some(hazard.id);
                    row.resolution = Some(Resolution::HazardLinked.as_str().into());
                }
                _ => {
                    let original = store::find(conn, &scope, &value)?
                        .filter(|o| o.id != row.id)
                        .ok_or_else(|| {
                            AppError::field("duplicate_of", "no other tip within your scope")
                        })?;
                    // A duplicate repeats a tip already found true (a hazard created or linked,
                    // or itself a duplicate of one): its outcome is settled, and no chain of
                    // duplicates can lead back to this tip, unverified.
                    let settled = original.resolution.as_deref().is_some_and(|r| {
                        matches!(
                            r.parse::<Resolution>(),
                            Ok(Resolution::HazardCreated
                                | Resolution::HazardLinked
                                | Resolution::Duplicate)
                        )
                    });
                    if !settled {
                        return Err(AppError::field(
                            "duplicate_of",
                            "the other tip is not confirmed: confirm it first (a duplicate repeats a tip found true)",
                        ));
                    }
                    // Link to the first tip of a chain of duplicates.
                    let first = match &original.duplicate_of {
                        Some(f) => f.clone(),
                        None => original.id.clone(),
                    };
                    details.insert("duplicate_of".into(), json!(first));
                    row.duplicate_of = Some(first);
                    row.hazard_id = original.hazard_id.clone();
                    row.resolution = Some(Resolution::Duplicate.as_str().into());
                }
            }
            ledger_hazard = row.hazard_id.clone();
            row.resolved_on = Some(env.today);
        }
        TriageAction::NotConfirmed => {
            let reason = text_field(&mut e, "reason", &input.reason, true);
            e.finish()?;
            let reason = reason.unwrap_or_default();
            details.insert("reason_sha256".into(), json!(digest(&reason)));
            details.insert("reason".into(), json!(reason));
            row.resolution = Some(Resolution::NotConfirmed.as_str().into());
            row.resolved_on = Some(env.today);
        }
        TriageAction::Transfer => {
            let to = text_field(&mut e, "to", &input.to, true);
            e.finish()?;
            details.insert("to".into(), json!(to));
            row.resolution = Some(Resolution::Transferred.as_str().into());
            row.resolved_on = Some(env.today);
        }
        TriageAction::Reply => {
            let message = text_field(&mut e, "message", &input.message, true);
            e.finish()?;
            public_message = message;
        }
    }
    let read_version = row.version;
    row.status = next.as_str().to_string();
    row.version += 1;
    row.updated_at = at;
    if !store::update_if_version(conn, &row, read_version)? {
        return Err(AppError::conflict(
            "concurrent_update",
            "Another request changed this tip at the same time; reload it.",
        )
        .with("current_status", current.as_str()));
    }
    let details = Value::Object(details);
    add_event(
        conn,
        &row,
        action.as_str(),
        Some(current),
        next,
        &details,
        note.clone(),
        public_message.clone(),
        Some(&caller.user_id),
        at,
    )?;
    // Free text is sealed by its digest; the text itself stays in tip_events.
    let mut payload = json!({
        "tip_id": row.id,
        "action": action.as_str(),
        "status": {"before": current.as_str(), "after": next.as_str()},
        "version": row.version,
    });
    for (k, v) in details.as_object().into_iter().flatten() {
        if k != "reason" {
            payload[k] = v.clone();
        }
    }
    if let Some(r) = &row.resolution
        && action == TriageAction::Confirm
    {
        payload["resolution"] = json!(r);
    }
    if let Some(n) = &note {
        payload["note_sha256"] = json!(digest(n));
    }
    if let Some(m) = &public_message {
        payload["message_sha256"] = json!(digest(m));
    }
    let kind = match action {
        TriageAction::Route => "tip.routed",
        TriageAction::Verify => "tip.verifying",
        TriageAction::Confirm => "tip.confirmed",
        TriageAction::NotConfirmed => "tip.not_confirmed",
        TriageAction::Transfer => "tip.transferred",
        TriageAction::Reply => "tip.replied",
    };
    ledger::append(
        conn,
        ledger_hazard.as_deref(),
        kind,
        Some((&caller.user_id, caller.role.as_str())),
        now,
        &payload,
    )?;
    mail::tips::tip_event(
        conn,
        config,
        now,
        TipMail::Routed,
        &row,
        routed_to.0.as_deref(),
        routed_to.1.as_deref(),
    )?;
    view(conn, &row, env.today)
}
