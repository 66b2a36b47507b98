//! 挂牌督办 (T6): listing a 重大 hazard, delivering the notice, printing it.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Routes;
use super::hazards::{Id, parse, run};
use crate::app::AppState;
use crate::auth::{Bearer, Caller};
use crate::db::listings::{self, ListingRow};
use crate::db::{self, hazards};
use crate::domain::FieldErrors;
use crate::domain::hazard::{self, ListingInput, Role};
use crate::error::{AppError, AppResult};
use crate::policy;

pub fn routes(r: &mut Routes) {
    r.post("/api/v1/hazards/{id}/listing", list)
        .post("/api/v1/hazards/{id}/listing/delivery", deliver)
        .get("/api/v1/hazards/{id}/listing/notice", notice);
}

pub(crate) async fn list(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<ListingInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.listed",
        input,
        |f, a, i, e| hazard::list_hazard(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| {
            let doc_no = i.doc_no.clone().unwrap_or_default().trim().to_string();
            // Stored as the department's code, whether named by code or by name: the
            // escalation ladder and the listing email find its inspectors by code.
            let named = i
                .supervising_department
                .as_deref()
                .unwrap_or_default()
                .trim();
            let supervising_department = crate::seeds::known_codes()
                .supervising_department(named)
                .ok_or_else(|| {
                    AppError::field(
                        "supervising_department",
                        "not a department (its code, e.g. YJJ, or its name, e.g. 区应急局)",
                    )
                })?
                .to_string();
            // Its inspectors must be able to open what they are emailed about.
            let routed: Vec<&String> = std::iter::once(&row.primary_department)
                .chain(l.copied.iter())
                .collect();
            if !routed.contains(&&supervising_department) {
                let codes: Vec<&str> = routed.iter().map(|d| d.as_str()).collect();
                return Err(AppError::field(
                    "supervising_department",
                    format!(
                        "must be a department the hazard is routed to ({})",
                        codes.join(", ")
                    ),
                ));
            }
            if listings::doc_no_taken(c, &doc_no)? {
                return Err(AppError::conflict(
                    "duplicate_doc_no",
                    "This 文号 is already used by another listing.",
                ));
            }
            let listing = ListingRow {
                hazard_id: row.id.clone(),
                level: i.level.map(|l| l.as_str().to_string()).unwrap_or_default(),
                doc_no,
                supervising_unit: i.supervising_unit.clone().unwrap_or_default(),
                supervising_department,
                signed_by: i.signed_by.clone().unwrap_or_default(),
                complete_by: i.complete_by.unwrap_or(e.today),
                plan_file_by: i.plan_file_by.unwrap_or(e.today),
                listed_on: e.today,
                listed_by: e.caller.user_id.clone(),
                delivered_by: None,
                received_by: None,
                received_at: None,
                delisted_on: None,
            };
            let answer = json!({ "listing": listing });
            l.insert_listing(c, listing)?;
            Ok(answer)
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct DeliveryBody {
    delivered_by: Option<String>,
    received_by: Option<String>,
    /// RFC 3339.
    received_at: Option<String>,
}

/// Records 送达 and 签收 of the notice; the district office, once.
pub(crate) async fn deliver(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let body: DeliveryBody = parse(&req, &bytes)?;
    let mut errors = FieldErrors::new();
    let delivered_by = errors
        .require_text("delivered_by", body.delivered_by.as_deref())
        .map(str::to_string);
    let received_by = errors
        .require_text("received_by", body.received_by.as_deref())
        .map(str::to_string);
    let received_at = match errors.require_text("received_at", body.received_at.as_deref()) {
        Some(t) => match DateTime::parse_from_rfc3339(t) {
            Ok(t) => Some(t.to_utc()),
            Err(_) => {
                errors.add(
                    "received_at",
                    "an RFC 3339 time, e.g. 2026-03-03T10:00:00+08:00",
                );
                None
            }
        },
        None => None,
    };
    if received_at.is_some_and(|t| t > state.clock.now()) {
        errors.add("received_at", "must not be in the future");
    }
    let st = state.clone();
    let id = id.into_inner();
    let view = state
        .db(move |c| {
            let env = super::hazards::env(&st, &caller, None);
            db::write_tx(c, |c| {
                let row = hazards::find(c, &policy::hazard_scope(&caller), &id)?
                    .ok_or_else(AppError::not_found)?;
                if caller.role != Role::DistrictOffice {
                    return Err(AppError::forbidden(
                        "role_forbidden",
                        "The district office records the delivery of its notices.",
                    ));
                }
                // Closed and void are final (the listing ended with them): no receipt after.
                if matches!(row.status.as_str(), "closed" | "void") {
                    return Err(AppError::conflict(
                        "hazard_frozen",
                        "Closed and void hazards are frozen; their listing has ended.",
                    )
                    .with("current_status", row.status.clone()));
                }
                // The body's errors after the scope and the role, as every hazard action's.
                errors.finish()?;
                let (delivered_by, received_by, received_at) = (
                    delivered_by.unwrap_or_default(),
                    received_by.unwrap_or_default(),
                    received_at.unwrap_or_default(),
                );
                let listing = listings::of(c, &row.id)?.ok_or_else(|| {
                    AppError::conflict("not_listed", "The hazard is not listed.")
                        .with("current_status", row.status.clone())
                })?;
                if listing.received_at.is_some() {
                    return Err(AppError::conflict(
                        "already_delivered",
                        "The notice's receipt is already recorded.",
                    ));
                }
                if received_at.with_timezone(&st.clock.tz()).date_naive() < listing.listed_on {
                    return Err(AppError::field(
                        "received_at",
                        format!(
                            "must not be before the notice was issued ({})",
                            listing.listed_on
                        ),
                    ));
                }
                listings::deliver(
                    c,
                    &row.id,
                    &delivered_by,
                    &received_by,
                    received_at.naive_utc(),
                )?;
                crate::service::hazards::record_in_ledger(
                    c,
                    &env,
                    &row.id,
                    "hazard.listing_delivered",
                    json!({
                        "delivered_by": delivered_by, "received_by": received_by,
                        "received_at": crate::timefmt::rfc3339(&received_at.naive_utc()),
                    }),
                )?;
                crate::service::hazards::view(c, &env, &row)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize)]
pub(crate) struct NoticeQuery {
    format: Option<String>,
}

/// The 挂牌督办通知书 as a printable HTML page, or as PDF (`?format=pdf`); scoped like the hazard.
pub(crate) async fn notice(
    state: web::Data<AppState>,
    caller: Caller,
    id: Id,
    q: crate::http::query::Query<NoticeQuery>,
) -> AppResult<HttpResponse> {
    let pdf = match q.format.as_deref() {
        None | Some("html") => false,
        Some("pdf") => true,
        Some(_) => return Err(AppError::field("format", "html or pdf")),
    };
    let id = id.into_inner();
    let rules = state.config.rules.clone();
    let tz = state.clock.tz();
    let data = state
        .db(move |c| {
            use crate::db::schema::{departments, enterprises, streets};
            use diesel::prelude::*;
            let row = hazards::find(c, &policy::hazard_scope(&caller), &id)?
                .ok_or_else(AppError::not_found)?;
            let listing = listings::of(c, &row.id)?.ok_or_else(|| {
                AppError::conflict("not_listed", "The hazard is not listed.")
                    .with("current_status", row.status.clone())
            })?;
            let (e_name, e_uscc, e_address, principal): (String, String, String, String) =
                enterprises::table
                    .find(&row.enterprise_id)
                    .select((
                        enterprises::name,
                        enterprises::uscc,
                        enterprises::address,
                        enterprises::principal_name,
                    ))
                    .get_result(c)?;
            let street_name: String = streets::table
                .find(&row.street_code)
                .select(streets::name)
                .get_result(c)?;
            let department: Option<String> = departments::table
                .filter(
                    departments::code
                        .eq(&listing.supervising_department)
                        .or(departments::name.eq(&listing.supervising_department)),
                )
                .select(departments::name)
                .first(c)
                .optional()?;
            let content = row.content();
            let basis = content
                .judgement_basis
                .map(|b| {
                    format!(
                        "{} {}",
                        b.standard.unwrap_or_default(),
                        b.clause.unwrap_or_default()
                    )
                    .trim()
                    .to_string()
                })
                .unwrap_or_default();
            Ok(crate::documents::NoticeData {
                doc_no: listing.doc_no,
                level: listing.level,
                supervising_unit: listing.supervising_unit,
                supervising_department: department.unwrap_or(listing.supervising_department),
                signed_by: listing.signed_by,
                issued_on: listing.listed_on,
                complete_by: listing.complete_by,
                plan_file_by: listing.plan_file_by,
                enterprise_name: e_name,
                enterprise_uscc: e_uscc,
                enterprise_address: e_address,
                principal_name: principal,
                street_name,
                ledger_no: row.ledger_no.unwrap_or_default(),
                hazard_title: row.title,
                hazard_description: row.description,
                location: row.location,
                judgement_basis: basis,
                deadline: row.deadline.unwrap_or(listing.complete_by),
                effective_deadline: row.effective_deadline.unwrap_or(listing.complete_by),
                delivered_by: listing.delivered_by,
                received_by: listing.received_by,
                received_at: listing.received_at.map(|t| {
                    crate::documents::notice::cn_time(t.and_utc().with_timezone(&tz).naive_local())
                }),
                extension_window_workdays: rules.extension_window_workdays,
                acceptance_due_days: u32::try_from(rules.acceptance_due_days).unwrap_or(10),
                ended: listing.delisted_on.map(|on| {
                    (
                        on,
                        if row.status == "void" {
                            "隐患已作废"
                        } else {
                            "隐患已销号"
                        },
                    )
                }),
            })
        })
        .await?;
    if pdf {
        let bytes = web::block(move || crate::documents::try_render_notice_pdf(&data))
            .await?
            .map_err(AppError::internal)?;
        return Ok(HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header(("Content-Disposition", "inline; filename=\"notice.pdf\""))
            .body(bytes));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        // The page carries its own styles only; nothing else may load.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
             form-action 'none'; frame-ancestors 'none'",
        ))
        .body(crate::documents::render_notice_html(&data)))
}
