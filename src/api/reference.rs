//! Public reference data: streets, departments, sectors, hazard categories.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::Routes;
use crate::app::AppState;
use crate::db::reference;
use crate::error::AppResult;

pub fn routes(r: &mut Routes) {
    r.get("/api/v1/streets", streets)
        .get("/api/v1/departments", departments)
        .get("/api/v1/sectors", sectors)
        .get("/api/v1/categories", categories);
}

async fn streets(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let items = state.db(|c| Ok(reference::list_streets(c)?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn departments(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let items = state.db(|c| Ok(reference::list_departments(c)?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn sectors(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let items = state.db(|c| Ok(reference::list_sectors(c)?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn categories(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let items = state.db(|c| Ok(reference::list_categories(c)?)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
