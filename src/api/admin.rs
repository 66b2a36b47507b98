//! Operations for admins: the scheduled jobs (definitions, recorded runs, run one now) and
//! the outbox.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{Routes, paginate};
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::{jobs as q, outbox};
use crate::domain::hazard::Role;
use crate::error::{AppError, AppResult};
use crate::jobs::{self, JOBS, RunView};

pub fn routes(r: &mut Routes) {
    r.get("/api/v1/admin/jobs", list_jobs)
        .post("/api/v1/admin/jobs/{name}/run", run_job)
        .get("/api/v1/outbox", list_outbox)
        .post("/api/v1/outbox/{id}/retry", retry_email);
}

fn admin_only(caller: &Caller) -> AppResult<()> {
    if caller.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "forbidden",
            "Jobs and the outbox are for admins.",
        ))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunsQuery {
    job: Option<String>,
    cursor: Option<String>,
    limit: Option<crate::http::query::Whole>,
}

/// The jobs (schedule, next time) and their recorded runs, newest first.
async fn list_jobs(
    state: web::Data<AppState>,
    caller: Caller,
    query: crate::http::query::Query<RunsQuery>,
) -> AppResult<HttpResponse> {
    admin_only(&caller)?;
    let mut errors = crate::domain::FieldErrors::new();
    let limit = super::checked_page_limit(query.limit.as_ref(), &mut errors);
    super::check_id_cursor(query.cursor.as_deref(), &mut errors);
    errors.finish()?;
    let tz = state.clock.tz();
    let now = state.clock.now();
    let schedule = &state.config.jobs.schedule;
    let definitions: Vec<_> = JOBS
        .iter()
        .map(|(name, description)| {
            let expr = schedule
                .entries()
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, e)| e.to_string());
            let next = expr
                .as_deref()
                .and_then(|e| jobs::parse_schedule(e).ok())
                .filter(|_| state.config.jobs.enabled)
                .and_then(|s| jobs::next_after(&s, tz, now))
                .map(|t| t.with_timezone(&tz).to_rfc3339());
            json!({"name": name, "description": description, "schedule": expr, "next_run": next})
        })
        .chain(
            crate::domain::escalation::Rule::ALL
                .iter()
                .map(|r| json!({"name": r.as_str(), "description": r.title(), "schedule": null, "next_run": null})),
        )
        .collect();
    let job = query.job.clone();
    let cursor = query.cursor.clone();
    let rows = state
        .db(move |c| Ok(q::runs(c, job.as_deref(), cursor.as_deref(), limit + 1)?))
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |r| r.id.clone());
    let runs: Vec<RunView> = rows.into_iter().map(RunView::from).collect();
    Ok(HttpResponse::Ok().json(json!({
        "enabled": state.config.jobs.enabled,
        "jobs": definitions,
        "runs": runs,
        "next_cursor": next_cursor,
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    /// Run as if today were this date (Asia/Shanghai); default today.
    date: Option<String>,
}

/// Runs one job now and answers the recorded run.
async fn run_job(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    admin_only(&caller)?;
    let body: RunBody = if body.iter().all(u8::is_ascii_whitespace) {
        RunBody::default()
    } else {
        crate::http::json::from_slice(&body)?
    };
    let date = match body.date.as_deref() {
        None => None,
        Some(s) => Some(
            crate::timefmt::parse_date(s)
                .ok_or_else(|| AppError::field("date", "must be a date, YYYY-MM-DD"))?,
        ),
    };
    let run = jobs::run(&state.jobs, &name, date, "api").await?;
    Ok(HttpResponse::Ok().json(run))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboxQuery {
    status: Option<String>,
    recipient: Option<String>,
    cursor: Option<String>,
    limit: Option<crate::http::query::Whole>,
}

/// Sends a `dead` email again (a relay refused it while misconfigured, say): pending now, with a
/// fresh count of attempts; recorded in the ledger as `email.requeued`. 409 unless dead.
async fn retry_email(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    admin_only(&caller)?;
    let id = id.into_inner();
    let now = state.clock.now();
    let row = state
        .db(move |c| {
            crate::db::write_tx(c, |c| {
                let row = outbox::get(c, &id)?.ok_or_else(AppError::not_found)?;
                if !outbox::requeue(c, &id, now.naive_utc())? {
                    return Err(AppError::conflict(
                        "email_not_dead",
                        "Only an email that was given up (dead) is sent again.",
                    )
                    .with("current_status", row.status.clone()));
                }
                crate::mail::sender::record(
                    c,
                    &row,
                    "email.requeued",
                    now,
                    row.last_error.as_deref(),
                )?;
                outbox::get(c, &id)?.ok_or_else(AppError::not_found)
            })
        })
        .await?;
    let hazards = row.hazards();
    let mut v = serde_json::to_value(&row).map_err(AppError::internal)?;
    v["hazard_ids"] = json!(hazards);
    Ok(HttpResponse::Ok().json(v))
}

/// The outbox, newest first: status, attempts, last error.
async fn list_outbox(
    state: web::Data<AppState>,
    caller: Caller,
    query: crate::http::query::Query<OutboxQuery>,
) -> AppResult<HttpResponse> {
    admin_only(&caller)?;
    let mut errors = crate::domain::FieldErrors::new();
    let limit = super::checked_page_limit(query.limit.as_ref(), &mut errors);
    if let Some(s) = &query.status
        && !["pending", "sending", "sent", "dead"].contains(&s.as_str())
    {
        errors.add("status", "one of pending, sending, sent, dead");
    }
    super::check_id_cursor(query.cursor.as_deref(), &mut errors);
    errors.finish()?;
    let filter = outbox::OutboxFilter {
        status: query.status.clone(),
        recipient: query.recipient.clone(),
        before: query.cursor.clone(),
    };
    let (rows, counts) = state
        .db(move |c| {
            let counts = outbox::counts(c, filter.recipient.as_deref())?;
            Ok((outbox::list(c, &filter, limit + 1)?, counts))
        })
        .await?;
    let (rows, next_cursor) = paginate(rows, limit, |r| r.id.clone());
    let items: Vec<_> = rows
        .into_iter()
        .map(|r| {
            let hazards = r.hazards();
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            v["hazard_ids"] = json!(hazards);
            v
        })
        .collect();
    let counts: serde_json::Map<String, serde_json::Value> =
        counts.into_iter().map(|(s, n)| (s, json!(n))).collect();
    Ok(HttpResponse::Ok().json(json!({
        "items": items,
        "next_cursor": next_cursor,
        "counts": counts,
    })))
}
