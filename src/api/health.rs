//! Liveness and readiness.

use std::time::Duration;

use actix_web::http::Method;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::Routes;
use crate::app::AppState;
use crate::db;
use crate::error::{AppError, AppResult};

pub fn routes(r: &mut Routes) {
    r.get("/healthz", healthz)
        .get("/readyz", readyz)
        .external(Method::GET, "/metrics");
}

/// Alive: the process answers. Touches nothing else.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Ready: the database answers and every migration has been applied; 503 otherwise.
async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let pool = state.pool.clone();
    let checked = web::block(move || -> Result<db::SchemaState, String> {
        let mut conn = pool
            .get_timeout(Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
        db::schema_state(&mut conn).map_err(|e| e.to_string())
    })
    .await?;
    match checked {
        Ok(db::SchemaState {
            pending: false,
            unknown,
        }) if unknown.is_empty() => Ok(HttpResponse::Ok().json(json!({
            "status": "ready",
            "database": state.backend,
        }))),
        Ok(db::SchemaState {
            pending: false,
            unknown,
        }) => Err(AppError::unavailable(
            "database_newer",
            format!(
                "A newer version of the service has migrated the database ({}); stop this instance \
                 and run the newer one.",
                unknown.join(", ")
            ),
        )),
        Ok(db::SchemaState { pending: true, .. }) => Err(AppError::unavailable(
            "migrations_pending",
            "The database schema is not current; run `hazard-ledger migrate`.",
        )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Err(AppError::unavailable(
                "database_unavailable",
                "The database is not reachable.",
            ))
        }
    }
}
