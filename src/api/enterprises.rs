//! `/api/v1/enterprises`: registering and maintaining the enterprises of the district.

use std::collections::HashSet;

use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use super::hazard_list::known_code;
use super::{Routes, paginate};
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::enterprises::{self, EnterpriseChanges, EnterpriseFilter, EnterpriseRow};
use crate::db::schema::{sectors, streets};
use crate::db::{self, DbConn};
use crate::domain::FieldErrors;
use crate::domain::uscc::normalize_uscc;
use crate::domain::validate::{normalize_mobile, validate_email};
use crate::error::{AppError, AppResult};
use crate::policy;

pub fn routes(r: &mut Routes) {
    r.get("/api/v1/enterprises", list)
        .post("/api/v1/enterprises", create)
        .get("/api/v1/enterprises/{id}", get)
        .patch("/api/v1/enterprises/{id}", update);
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    street: Option<String>,
    sector: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<crate::http::query::Whole>,
}

async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: crate::http::query::Query<ListQuery>,
) -> AppResult<HttpResponse> {
    let query = query.into_inner();
    let mut errors = crate::domain::FieldErrors::new();
    let limit = super::checked_page_limit(query.limit.as_ref(), &mut errors);
    // The cursor is the id of the last enterprise of the previous page.
    if let Some(c) = query.cursor.as_deref()
        && uuid::Uuid::parse_str(c).is_err()
    {
        errors.add("cursor", "not a cursor this service gave out");
    }
    let known = crate::seeds::known_codes();
    let street = known_code(&mut errors, "street", &query.street, &known.streets, true);
    let sector = known_code(&mut errors, "sector", &query.sector, &known.sectors, false);
    errors.finish()?;
    let filter = EnterpriseFilter {
        street,
        sector,
        q: query.q,
        after: query.cursor,
        limit: limit + 1,
    };
    let scope = policy::enterprise_scope(&caller);
    let rows = state
        .db(move |c| Ok(enterprises::list(c, &scope, &filter)?))
        .await?;
    let (items, next_cursor) = paginate(rows, limit, |e| e.id.clone());
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next_cursor })))
}

async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let scope = policy::enterprise_scope(&caller);
    let id = id.into_inner();
    let found = state
        .db(move |c| Ok(enterprises::find(c, &scope, &id)?))
        .await?;
    Ok(HttpResponse::Ok().json(found.ok_or_else(AppError::not_found)?))
}

/// Fields of a create or a PATCH; absent means "not given".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnterpriseBody {
    uscc: Option<String>,
    name: Option<String>,
    address: Option<String>,
    street: Option<String>,
    sectors: Option<Vec<String>>,
    headcount: Option<i64>,
    principal_name: Option<String>,
    principal_mobile: Option<String>,
    #[serde(default, with = "double_option")]
    safety_officer_name: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    safety_officer_mobile: Option<Option<String>>,
    notify_emails: Option<Vec<String>>,
}

/// Distinguishes an absent field from an explicit `null` (which clears it).
mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Validated values; each is `Some` when given (always, on create).
#[derive(Debug, Default)]
struct Checked {
    uscc: Option<String>,
    name: Option<String>,
    address: Option<String>,
    street: Option<String>,
    sectors: Option<Vec<String>>,
    headcount: Option<i32>,
    principal_name: Option<String>,
    principal_mobile: Option<String>,
    safety_officer_name: Option<Option<String>>,
    safety_officer_mobile: Option<Option<String>>,
    notify_emails: Option<Vec<String>>,
}

fn text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    required: bool,
    max: usize,
) -> Option<String> {
    match value {
        None if required => {
            errors.add(field, "required");
            None
        }
        None => None,
        Some(v) => {
            let v = v.trim();
            if v.is_empty() {
                errors.add(field, "must not be empty");
                None
            } else if v.chars().count() > max {
                errors.add(field, format!("at most {max} characters"));
                None
            } else {
                Some(v.to_string())
            }
        }
    }
}

/// Checks every field at once against the code sets; `required` on create.
fn check(conn: &mut DbConn, body: &EnterpriseBody, required: bool) -> AppResult<Checked> {
    let mut errors = FieldErrors::new();
    let mut out = Checked::default();
    match body.uscc.as_deref() {
        None if required => errors.add("uscc", "required"),
        None => {}
        Some(u) => match normalize_uscc(u) {
            Ok(u) => out.uscc = Some(u),
            Err(m) => errors.add("uscc", m),
        },
    }
    out.name = text(&mut errors, "name", body.name.as_deref(), required, 200);
    out.address = text(
        &mut errors,
        "address",
        body.address.as_deref(),
        required,
        300,
    );
    if let Some(street) = text(&mut errors, "street", body.street.as_deref(), required, 16) {
        let code = street.to_uppercase();
        let exists: i64 = streets::table
            .filter(streets::code.eq(&code))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            errors.add("street", "unknown street code (see GET /api/v1/streets)");
        } else {
            out.street = Some(code);
        }
    }
    match &body.sectors {
        None if required => errors.add("sectors", "required: at least one sector code"),
        None => {}
        Some(list) if list.is_empty() => errors.add("sectors", "at least one sector code"),
        Some(list) => {
            let known: HashSet<String> = sectors::table
                .select(sectors::code)
                .load(conn)?
                .into_iter()
                .collect();
            let mut seen = Vec::new();
            for (i, s) in list.iter().enumerate() {
                let s = s.trim();
                if !known.contains(s) {
                    errors.add(
                        format!("sectors[{i}]"),
                        "unknown sector code (see GET /api/v1/sectors)",
                    );
                } else if !seen.iter().any(|x: &String| x == s) {
                    seen.push(s.to_string());
                }
            }
            out.sectors = Some(seen);
        }
    }
    match body.headcount {
        None if required => errors.add("headcount", "required"),
        None => {}
        Some(n) => match i32::try_from(n) {
            Ok(n) if n >= 0 => out.headcount = Some(n),
            _ => errors.add("headcount", "a whole number ≥ 0"),
        },
    }
    out.principal_name = text(
        &mut errors,
        "principal_name",
        body.principal_name.as_deref(),
        required,
        50,
    );
    match body.principal_mobile.as_deref() {
        None if required => errors.add("principal_mobile", "required"),
        None => {}
        Some(m) => match normalize_mobile(m) {
            Ok(m) => out.principal_mobile = Some(m),
            Err(e) => errors.add("principal_mobile", e),
        },
    }
    out.safety_officer_name = match &body.safety_officer_name {
        Some(Some(n)) => text(&mut errors, "safety_officer_name", Some(n), true, 50).map(Some),
        Some(None) => Some(None),
        None => None,
    };
    out.safety_officer_mobile = match &body.safety_officer_mobile {
        Some(Some(m)) => match normalize_mobile(m) {
            Ok(m) => Some(Some(m)),
            Err(e) => {
                errors.add("safety_officer_mobile", e);
                None
            }
        },
        Some(None) => Some(None),
        None => None,
    };
    if let Some(emails) = &body.notify_emails {
        let mut ok = Vec::new();
        for (i, e) in emails.iter().enumerate() {
            match validate_email(e.trim()) {
                Ok(()) => ok.push(e.trim().to_string()),
                Err(m) => errors.add(format!("notify_emails[{i}]"), m),
            }
        }
        out.notify_emails = Some(ok);
    }
    errors.finish()?;
    Ok(out)
}

async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: actix_web::HttpRequest,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    policy::may_register_enterprises(&caller)?;
    let body: EnterpriseBody = super::hazards::parse_json(&req, &bytes)?;
    let now = state.clock.now().naive_utc();
    let created = state
        .db(move |c| {
            db::write_tx(c, |c| {
                let v = check(c, &body, true)?;
                let street = v.street.clone().unwrap_or_default();
                policy::may_create_enterprise(&caller, &street)?;
                let uscc = v.uscc.clone().unwrap_or_default();
                if enterprises::uscc_taken(c, &uscc, None)? {
                    return Err(AppError::conflict(
                        "duplicate_uscc",
                        "An enterprise with this 统一社会信用代码 is already registered.",
                    ));
                }
                let row = EnterpriseRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    uscc,
                    name: v.name.unwrap_or_default(),
                    address: v.address.unwrap_or_default(),
                    street_code: street,
                    headcount: v.headcount.unwrap_or_default(),
                    principal_name: v.principal_name.unwrap_or_default(),
                    principal_mobile: v.principal_mobile.unwrap_or_default(),
                    safety_officer_name: v.safety_officer_name.flatten(),
                    safety_officer_mobile: v.safety_officer_mobile.flatten(),
                    notify_emails: serde_json::to_string(&v.notify_emails.unwrap_or_default())
                        .map_err(AppError::internal)?,
                    created_at: now,
                    updated_at: now,
                };
                enterprises::insert(c, &row, &v.sectors.unwrap_or_default())?;
                enterprises::find_any(c, &row.id)?.ok_or_else(AppError::not_found)
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/enterprises/{}", created.id)))
        .json(created))
}

/// The fields every enterprise has: a PATCH may change them, not clear them.
const REQUIRED: [&str; 8] = [
    "uscc",
    "name",
    "address",
    "street",
    "sectors",
    "headcount",
    "principal_name",
    "principal_mobile",
];

async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: crate::http::json::Json<serde_json::Value>,
) -> AppResult<HttpResponse> {
    let mut body = body.into_inner();
    // `null` clears an optional field (`notify_emails: null` is no address) and is refused for
    // a required one, instead of being taken for "not given".
    let mut errors = crate::domain::FieldErrors::new();
    if let Some(fields) = body.as_object_mut() {
        for key in REQUIRED {
            if fields.get(key).is_some_and(serde_json::Value::is_null) {
                errors.add(key, "required: it cannot be cleared");
            }
        }
        if fields
            .get("notify_emails")
            .is_some_and(serde_json::Value::is_null)
        {
            fields.insert("notify_emails".into(), json!([]));
        }
    }
    errors.finish()?;
    let body: EnterpriseBody = crate::http::json::from_value(body)?;
    let id = id.into_inner();
    let at = state.clock.now();
    let now = at.naive_utc();
    let updated = state
        .db(move |c| {
            db::write_tx(c, |c| {
                let scope = policy::enterprise_scope(&caller);
                let current = enterprises::find(c, &scope, &id)?.ok_or_else(AppError::not_found)?;
                let v = check(c, &body, false)?;
                policy::may_update_enterprise(&caller, &current, v.street.as_deref())?;
                if let Some(uscc) = &v.uscc
                    && enterprises::uscc_taken(c, uscc, Some(&id))?
                {
                    return Err(AppError::conflict(
                        "duplicate_uscc",
                        "An enterprise with this 统一社会信用代码 is already registered.",
                    ));
                }
                let changes = EnterpriseChanges {
                    uscc: v.uscc,
                    name: v.name,
                    address: v.address,
                    street_code: v.street,
                    headcount: v.headcount,
                    principal_name: v.principal_name,
                    principal_mobile: v.principal_mobile,
                    safety_officer_name: v.safety_officer_name,
                    safety_officer_mobile: v.safety_officer_mobile,
                    notify_emails: match v.notify_emails {
                        Some(list) => {
                            Some(serde_json::to_string(&list).map_err(AppError::internal)?)
                        }
                        None => None,
                    },
                    updated_at: Some(now),
                };
                let moved_to = changes.street_code.clone().filter(|s| *s != current.street);
                enterprises::update(c, &id, &changes)?;
                // Its open hazards go with it, each change in the hazard's ledger.
                if let Some(street) = moved_to {
                    let moved = crate::db::hazards::move_open_to_street(c, &id, &street, now)?;
                    for (hazard, before) in moved {
                        crate::db::ledger::append(
                            c,
                            Some(&hazard),
                            "hazard.street_changed",
                            Some((caller.user_id.as_str(), caller.role.as_str())),
                            at,
                            &json!({"changes": {"street": {"before": before, "after": street}},
                                    "reason": "enterprise_moved"}),
                        )?;
                    }
                }
                if let Some(sectors) = &v.sectors {
                    enterprises::replace_sectors(c, &id, sectors)?;
                }
                enterprises::find_any(c, &id)?.ok_or_else(AppError::not_found)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}
