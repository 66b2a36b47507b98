//! The ledger: every entry in order, and its verification.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Routes;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::ledger;
use crate::domain::hazard::Role;
use crate::domain::ledger::LedgerEntry;
use crate::error::{AppError, AppResult};

pub fn routes(r: &mut Routes) {
    r.get("/api/v1/ledger", page)
        .get("/api/v1/ledger/verify", verify);
}

/// An entry as the API shows it (the payload as JSON, not text).
pub fn entry_json(e: LedgerEntry) -> Value {
    json!({
        "seq": e.seq,
        "hazard_id": e.hazard_id,
        "kind": e.kind,
        "actor": e.actor,
        "role": e.role,
        "at": e.at,
        "payload": serde_json::from_str::<Value>(&e.payload).unwrap_or(Value::Null),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    })
}

/// The whole ledger spans every hazard: for the district office and admins.
fn district_wide(caller: &Caller) -> AppResult<()> {
    match caller.role {
        Role::DistrictOffice | Role::Admin => Ok(()),
        _ => Err(AppError::forbidden(
            "forbidden",
            "The whole ledger is for the district office; read a hazard's own entries at /api/v1/hazards/{id}/events.",
        )),
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    after: Option<crate::http::query::Whole>,
    limit: Option<crate::http::query::Whole>,
}

async fn page(
    state: web::Data<AppState>,
    caller: Caller,
    q: crate::http::query::Query<PageQuery>,
) -> AppResult<HttpResponse> {
    district_wide(&caller)?;
    let mut errors = crate::domain::FieldErrors::new();
    let after = match q.after.as_ref().map(|a| a.checked(&mut errors, "after")) {
        Some(Some(n)) if n < 0 => {
            errors.add(
                "after",
                "must not be negative (a sequence number, 0 for the start)",
            );
            0
        }
        Some(Some(n)) => n,
        _ => 0,
    };
    let limit = match q.limit.as_ref().map(|l| l.checked(&mut errors, "limit")) {
        None => 100,
        Some(Some(n)) if (1..=1000).contains(&n) => n,
        Some(Some(_)) => {
            errors.add("limit", "between 1 and 1000");
            100
        }
        Some(None) => 100,
    };
    errors.finish()?;
    let entries = state
        .db(move |c| Ok(ledger::page(c, after, limit)?))
        .await?;
    let next = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let items: Vec<Value> = entries.into_iter().map(entry_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_after": next })))
}

async fn verify(state: web::Data<AppState>, caller: Caller) -> AppResult<HttpResponse> {
    district_wide(&caller)?;
    let result = state.db(|c| Ok(ledger::verify(c)?)).await?;
    Ok(HttpResponse::Ok().json(result))
}
