//! 挂牌督办 (T6): listing a 重大 hazard, delivering the notice, printing it.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Routes;
use super::hazards::{Id, parse, run};
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::listings::{self, ListingRow};
use crate::db::{self, hazards};
use crate::domain::FieldErrors;
use crate::domain::hazard::{self, ListingInput, Role};
use crate::error::{AppError, AppResult};
use crate::policy;

pub fn routes(r: &mut Routes) {
    r.post("/api/v1/hazards/{id}/listing", list)
        .post("/api/v1/hazards/{id}/listing/delivery", deliver);
}

async fn list(
    caller: Caller,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input: ListingInput = parse(&req, &bytes)?;
    run(
        caller,
        req,
        id.into_inner(),
        "hazard.listed",
        input,
        |f, a, i, e| hazard::list_hazard(f, a, i, e.today, e.policy),
        |c, row, _, i, e| {
            let doc_no = i.doc_no.clone().unwrap_or_default().trim().to_string();
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
                supervising_department: i.supervising_department.clone().unwrap_or_default(),
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
            listings::insert(c, &listing)?;
            Ok(json!({"listing": listing}))
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
async fn deliver(
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
    errors.finish()?;
    let (delivered_by, received_by, received_at) = (
        delivered_by.unwrap_or_default(),
        received_by.unwrap_or_default(),
        received_at.unwrap_or_default(),
    );
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
