//! The public tip-off pages: file a tip (no login) and follow it by its receipt code. Both call
//! the same service functions as `POST /api/v1/tips` and `GET /api/v1/tips/status/{code}`.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use serde::Deserialize;

use super::see_other;
use crate::api::tips::client_ip;
use crate::app::AppState;
use crate::service::tips::{self as svc, StatusView, TipInput};
use crate::web::pages::{UserView, render_status as render};

#[derive(Template)]
#[template(path = "web/tip_new.html")]
struct TipPage {
    user: Option<UserView>,
    flash: Option<String>,
    error: Option<String>,
    token: String,
    question: String,
    streets: Vec<(String, String)>,
    errors: HashMap<String, String>,
    description: String,
    location: String,
    occurred_on: String,
    street: String,
    contact_name: String,
    contact_phone: String,
}

async fn tip_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    status: StatusCode,
    input: TipInput,
    errors: HashMap<String, String>,
    error: Option<String>,
) -> HttpResponse {
    let challenge = match svc::challenge(state, &client_ip(req)) {
        Ok(c) => c,
        Err(e) => return e.error_response(),
    };
    let streets = state
        .db(|c| Ok(crate::db::reference::list_streets(c)?))
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|s| (s.code, s.name))
        .collect();
    let text = |v: Option<String>| v.unwrap_or_default();
    render(
        status,
        &TipPage {
            user: None,
            flash: None,
            error,
            token: challenge.token,
            question: challenge.question,
            streets,
            errors,
            description: text(input.description),
            location: text(input.location),
            occurred_on: input
                .occurred_on
                .unwrap_or_else(|| state.clock.today().to_string()),
            street: text(input.street),
            contact_name: text(input.contact_name),
            contact_phone: text(input.contact_phone),
        },
    )
}

pub async fn new_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    tip_page(
        &state,
        &req,
        StatusCode::OK,
        TipInput::default(),
        HashMap::new(),
        None,
    )
    .await
}

pub async fn file(state: web::Data<AppState>, req: HttpRequest, form: Multipart) -> HttpResponse {
    if let Err(e) = svc::count_filing(&state, &client_ip(&req)) {
        let page = tip_page(
            &state,
            &req,
            e.status,
            TipInput::default(),
            HashMap::new(),
            Some("提交过于频繁，请稍后再试。".to_string()),
        )
        .await;
        return super::pages::with_retry_after(page, e.retry_after);
    }
    let limits = &state.config.tips;
    let read = crate::api::tips::read_multipart_keeping_text(
        form,
        limits.max_json_bytes,
        state.config.attachments.max_bytes,
        limits.max_photos,
    )
    .await;
    let (input, photos) = match read {
        Ok((input, photos, None)) => (input, photos),
        // A photo too many or too large: what was typed stays; the photos are chosen again
        // (a browser never fills a file input back in).
        Ok((input, _, Some(e))) => {
            let photo = if e.status.as_u16() == 413 {
                format!(
                    "照片太大：每张不超过 {} MB。请重新选择照片。",
                    state.config.attachments.max_bytes / (1024 * 1024)
                )
            } else {
                format!("照片最多 {} 张。请重新选择照片。", limits.max_photos)
            };
            return tip_page(
                &state,
                &req,
                e.status,
                input,
                HashMap::from([("photo".to_string(), photo)]),
                Some("请修改标出的内容。".to_string()),
            )
            .await;
        }
        Err(e) => {
            // The form's own limits and encoding, in the public's words.
            let msg = match e.status.as_u16() {
                413 => format!(
                    "提交未成功：照片或内容太大（每张照片不超过 {} MB，最多 {} 张）。",
                    state.config.attachments.max_bytes / (1024 * 1024),
                    limits.max_photos
                ),
                415 | 400 => "提交未成功：请使用本页的表单填写并提交。".to_string(),
                _ => format!("提交未成功：{}", e.detail),
            };
            return tip_page(
                &state,
                &req,
                e.status,
                TipInput::default(),
                HashMap::new(),
                Some(msg),
            )
            .await;
        }
    };
    let kept = input.clone();
    match svc::file_tip(&state, input, photos).await {
        // Post/redirect/get: the receipt is a page of its own, so that reloading it shows the
        // code again instead of sending the form a second time (its question spent, the code
        // lost). The code rides in a short-lived cookie of that page, not in its address
        // (kept in the browser's history).
        Ok(filed) => {
            let mut c = super::cookie(&state, &req, RECEIPT_COOKIE, filed.receipt_code);
            c.set_path("/tips/filed");
            c.set_max_age(actix_web::cookie::time::Duration::minutes(10));
            c.set_same_site(actix_web::cookie::SameSite::Strict);
            let mut res = see_other("/tips/filed");
            let _ = res.add_cookie(&c);
            res
        }
        Err(e) => {
            let problem = e.body();
            let mut errors = super::fields::problem_errors(&problem)
                .into_iter()
                .map(|(k, m)| (k, super::fields::translate(&m)))
                .collect::<HashMap<_, _>>();
            // The question's token is a hidden field: a spent, expired or altered one is
            // shown at the answer, next to the new question the page asks.
            if errors.remove("challenge_token").is_some() {
                errors.insert(
                    "challenge_answer".into(),
                    "验证题已失效（已使用或已过期），请回答新的验证题后再提交".into(),
                );
            }
            let error = match e.status.as_u16() {
                429 => Some("提交过于频繁，请稍后再试。".to_string()),
                413 => Some("照片太大。".to_string()),
                _ if errors.is_empty() => Some(format!("提交未成功：{}", e.detail)),
                _ => Some("请修改标出的内容。".to_string()),
            };
            let page = tip_page(&state, &req, e.status, kept, errors, error).await;
            super::pages::with_retry_after(page, e.retry_after)
        }
    }
}

#[derive(Template)]
#[template(path = "web/tip_status.html")]
struct StatusPage {
    user: Option<UserView>,
    flash: Option<String>,
    new_code: Option<String>,
    code: String,
    error: Option<String>,
    status: Option<StatusView>,
}

#[derive(Deserialize)]
pub struct CodeQuery {
    code: Option<String>,
}

pub async fn status(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<CodeQuery>,
) -> HttpResponse {
    let code = q.code.clone().unwrap_or_default().trim().to_string();
    if code.is_empty() {
        return render(
            StatusCode::OK,
            &StatusPage {
                user: None,
                flash: None,
                new_code: None,
                code,
                error: None,
                status: None,
            },
        );
    }
    let found = svc::status(&state, &client_ip(&req), &code).await;
    let wait = found.as_ref().err().and_then(|e| e.retry_after);
    let (status, view, error) = match found {
        Ok(v) => (StatusCode::OK, Some(v), None),
        Err(e) if e.status == StatusCode::TOO_MANY_REQUESTS => (
            e.status,
            None,
            Some("查询过于频繁，请稍后再试。".to_string()),
        ),
        Err(e) => (
            e.status,
            None,
            Some("没有这个受理编号，请核对后再查。".to_string()),
        ),
    };
    let page = render(
        status,
        &StatusPage {
            user: None,
            flash: None,
            new_code: None,
            code,
            error,
            status: view,
        },
    );
    super::pages::with_retry_after(page, wait)
}

/// The cookie that carries a new tip's receipt code to its receipt page.
const RECEIPT_COOKIE: &str = "hl_tip_receipt";

/// `GET /tips/filed`: the receipt of the tip just filed (its code, to write down), as long as
/// the receipt cookie lasts; without it, the status look-up.
pub async fn filed(req: HttpRequest) -> HttpResponse {
    let Some(code) = req
        .cookie(RECEIPT_COOKIE)
        .map(|c| c.value().to_string())
        .filter(|c| !c.is_empty())
    else {
        return see_other("/tips/status");
    };
    render(
        StatusCode::OK,
        &StatusPage {
            user: None,
            flash: None,
            new_code: Some(code.clone()),
            code,
            error: None,
            status: None,
        },
    )
}

/// `/tips` leads to the form.
pub async fn index() -> HttpResponse {
    see_other("/tips/new")
}
