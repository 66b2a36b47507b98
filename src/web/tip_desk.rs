//! The officers' side of tip-offs (举报): the tips of their scope, and one tip with the
//! reporter's contact, photos, history and triage forms. Reads go through the service functions
//! of `GET /api/v1/tips` and `GET /api/v1/tips/{id}` (same scope: street officers their street's
//! tips, inspectors their department's, the district office all); a triage form becomes the JSON
//! of `POST /api/v1/tips/{id}/triage` and is handed to that handler, so the same rules, ledger
//! entries and refusals apply.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use serde_json::Value;

use super::fields::{self, FieldView};
use super::pages::{
    UserView, enterprise_choices, get, is_officer, outcome, page_session, render_status, user_view,
};
use super::{FormJson, Session, SessionCookie, same, see_other};
use crate::app::AppState;
use crate::auth::Caller;
use crate::domain::hazard::Role;
use crate::domain::validate::shorten;
use crate::service::tips::{self as svc, ListQuery, TipSummary, TipView};

/// Codes of streets and departments to their names.
struct Names {
    streets: HashMap<String, String>,
    departments: HashMap<String, String>,
}

impl Names {
    async fn load(state: &web::Data<AppState>) -> Self {
        let (streets, departments) = state
            .db(|c| {
                Ok((
                    crate::db::reference::list_streets(c)?,
                    crate::db::reference::list_departments(c)?,
                ))
            })
            .await
            .unwrap_or_default();
        Names {
            streets: streets.into_iter().map(|s| (s.code, s.name)).collect(),
            departments: departments
                .into_iter()
                .filter(|d| d.kind == "department")
                .map(|d| (d.code, d.name))
                .collect(),
        }
    }

    fn street(&self, code: Option<&str>) -> String {
        code.map_or_else(
            || "—".to_string(),
            |c| {
                self.streets
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| c.to_string())
            },
        )
    }

    fn department(&self, code: Option<&str>) -> String {
        code.map_or_else(
            || "—".to_string(),
            |c| {
                self.departments
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| c.to_string())
            },
        )
    }

    /// Who handles a tip: street / department, or 未分派 when neither is set.
    fn handler(&self, street: Option<&str>, department: Option<&str>) -> String {
        if street.is_none() && department.is_none() {
            return "未分派".to_string();
        }
        format!("{} / {}", self.street(street), self.department(department))
    }

    /// Choices of a select, sorted by code, with "请选择" first.
    fn choices(map: &HashMap<String, String>, first: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> =
            map.iter().map(|(c, n)| (c.clone(), n.clone())).collect();
        out.sort();
        out.insert(0, (String::new(), first.to_string()));
        out
    }
}

pub struct Row {
    id: String,
    received_on: String,
    location: String,
    description: String,
    handler: String,
    status: &'static str,
    due_on: String,
    overdue: bool,
}

fn row(t: &TipSummary, names: &Names) -> Row {
    Row {
        id: t.id.clone(),
        received_on: t.received_on.to_string(),
        location: t.location.clone(),
        description: shorten(&t.description, 40),
        handler: names.handler(t.street.as_deref(), t.department.as_deref()),
        status: fields::tip_status_label(t.status.as_str()),
        due_on: t.due_on.to_string(),
        overdue: t.overdue,
    }
}

pub struct Section {
    title: &'static str,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "web/tip_inbox.html")]
struct InboxPage {
    user: Option<UserView>,
    flash: Option<String>,
    sections: Vec<Section>,
}

/// The open tips an inbox reads at most (every page of the list).
const OPEN_TIPS_SHOWN: usize = 10_000;

/// The caller's tips with one of `statuses`, newest first: at most `limit`, read page by page
/// (the list API's pages hold 200), so that the oldest — the most overdue — are not left out.
async fn tips(
    state: &web::Data<AppState>,
    caller: &Caller,
    statuses: &str,
    limit: usize,
) -> Vec<TipSummary> {
    let today = state.clock.today();
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let caller = caller.clone();
        let q = ListQuery {
            status: Some(statuses.to_string()),
            limit: Some(200.into()),
            cursor: cursor.take(),
            ..Default::default()
        };
        let Ok((items, next)) = state.db(move |c| svc::list(c, &caller, today, &q)).await else {
            break;
        };
        out.extend(items);
        match next {
            Some(next) if out.len() < limit => cursor = Some(next),
            _ => break,
        }
    }
    out.truncate(limit);
    out
}

/// The visitor, if an officer who handles tips; otherwise the page to go to instead.
async fn officer(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    cookie: &SessionCookie,
) -> Result<Session, HttpResponse> {
    let s = page_session(state, req, cookie).await?;
    if !is_officer(&s.caller) {
        return Err(see_other("/hazards"));
    }
    Ok(s)
}

/// `GET /tips/inbox`: the tips waiting for verification (oldest deadline first), those waiting
/// for a reply, and the last ones answered.
pub async fn inbox(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
) -> HttpResponse {
    let s = match officer(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let flash = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("gone").cloned())
        .map(|a| {
            format!(
                "{}该举报已由其他单位承办，不再在您的列表中。",
                done_text(&a)
            )
        });
    let names = Names::load(&state).await;
    // Every tip waiting for verification, however many: the oldest are the most overdue.
    let mut open = tips(
        &state,
        &s.caller,
        "received,routed,verifying",
        OPEN_TIPS_SHOWN,
    )
    .await;
    open.sort_by_key(|t| (t.due_on, t.received_on));
    let to_reply = tips(
        &state,
        &s.caller,
        "confirmed,not_confirmed,transferred",
        200,
    )
    .await;
    let replied = tips(&state, &s.caller, "replied", 50).await;
    let rows = |v: &[TipSummary]| v.iter().map(|t| row(t, &names)).collect();
    render_status(
        StatusCode::OK,
        &InboxPage {
            user: Some(user_view(&s)),
            flash,
            sections: vec![
                Section {
                    title: "待核查（按核查期限）",
                    rows: rows(&open),
                },
                Section {
                    title: "已核查，待答复举报人",
                    rows: rows(&to_reply),
                },
                Section {
                    title: "最近答复",
                    rows: rows(&replied),
                },
            ],
        },
    )
}

/// One form of the detail page, ready for the template.
pub struct FormView {
    action: &'static str,
    title: &'static str,
    button: &'static str,
    fields: Vec<FieldView>,
    error: Option<String>,
    open: bool,
}

/// A step of the tip's history.
pub struct Step {
    label: String,
    at: String,
    text: String,
}

#[derive(Template)]
#[template(path = "web/tip_detail.html")]
struct DetailPage {
    user: Option<UserView>,
    flash: Option<String>,
    csrf: String,
    id: String,
    status: &'static str,
    received_on: String,
    due_on: String,
    overdue: bool,
    occurred_on: String,
    location: String,
    description: String,
    /// Street / department, or 未分派.
    handler: String,
    contact: String,
    outcome: String,
    hazard_id: Option<String>,
    duplicate_of: Option<String>,
    photos: Vec<(String, String)>,
    history: Vec<Step>,
    forms: Vec<FormView>,
    /// Where the forms post (`{form_base}/do/{action}`).
    form_base: String,
}

/// A form that failed: its values and errors, shown again.
struct Failed {
    action: String,
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    message: String,
}

fn step_label(action: &str) -> &str {
    match action {
        "received" => "受理",
        "route" => "分派",
        "verify" => "开始核查",
        "confirm" => "确认属实",
        "not_confirmed" => "确认不属实",
        "transfer" => "移交",
        "reply" => "答复举报人",
        other => other,
    }
}

fn history(view: &TipView, names: &Names) -> Vec<Step> {
    view.events
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            let d = &e["details"];
            let mut parts = Vec::new();
            if let Some(st) = d["street"]["after"].as_str() {
                parts.push(format!("街道：{}", names.street(Some(st))));
            }
            if let Some(dep) = d["department"]["after"].as_str() {
                parts.push(format!("部门：{}", names.department(Some(dep))));
            }
            if let Some(r) = d["reason"].as_str() {
                parts.push(format!("核查情况：{r}"));
            }
            if let Some(to) = d["to"].as_str() {
                parts.push(format!("移交：{to}"));
            }
            if let Some(m) = e["public_message"].as_str() {
                parts.push(format!("答复：{m}"));
            }
            if let Some(n) = e["note"].as_str() {
                parts.push(format!("备注：{n}"));
            }
            Step {
                label: step_label(&s("action")).to_string(),
                at: crate::timefmt::minutes(&s("at")),
                text: parts.join("；"),
            }
        })
        .collect()
}

/// The values a form starts with: the tip's own facts for a new hazard.
fn initial_values(action: &str, view: &TipView) -> HashMap<String, String> {
    let t = &view.summary;
    match action {
        "confirm_new" => HashMap::from([
            ("description".to_string(), t.description.clone()),
            ("location".to_string(), t.location.clone()),
            ("discovered_on".to_string(), t.occurred_on.to_string()),
            ("level".to_string(), "general".to_string()),
        ]),
        _ => HashMap::new(),
    }
}

/// Options of the selects the reference data or the caller's scope fills.
struct Choices {
    streets: Vec<(String, String)>,
    departments: Vec<(String, String)>,
    enterprises: Vec<(String, String)>,
    other_tips: Vec<(String, String)>,
}

impl Choices {
    /// The options of the forms `view` offers: the enterprises and the other tips are read only
    /// while the tip may still be confirmed.
    async fn load(
        state: &web::Data<AppState>,
        caller: &Caller,
        names: &Names,
        view: &TipView,
    ) -> Self {
        let this = view.summary.id.as_str();
        let mut choices = Choices {
            streets: Names::choices(&names.streets, "不变"),
            departments: Names::choices(&names.departments, "不变"),
            enterprises: Vec::new(),
            other_tips: Vec::new(),
        };
        if !view.permitted_actions.contains(&"confirm") {
            return choices;
        }
        let mut enterprises = enterprise_choices(state, caller).await;
        enterprises.insert(0, (String::new(), "请选择".to_string()));
        let mut other_tips: Vec<(String, String)> = tips(state, caller, "confirmed,replied", 200)
            .await
            .into_iter()
            // A duplicate repeats a tip already found true (the service refuses others).
            .filter(|t| {
                t.id != this
                    && matches!(
                        t.resolution.as_deref(),
                        Some("hazard_created" | "hazard_linked" | "duplicate")
                    )
            })
            .map(|t| {
                (
                    t.id.clone(),
                    format!(
                        "{} {} {}",
                        t.received_on,
                        shorten(&t.location, 20),
                        shorten(&t.description, 20)
                    ),
                )
            })
            .collect();
        other_tips.insert(0, (String::new(), "请选择".to_string()));
        choices.enterprises = enterprises;
        choices.other_tips = other_tips;
        choices
    }

    fn for_field(&self, name: &str) -> Option<&[(String, String)]> {
        match name {
            "street" => Some(&self.streets),
            "department" => Some(&self.departments),
            "enterprise_id" => Some(&self.enterprises),
            "duplicate_of" => Some(&self.other_tips),
            _ => None,
        }
    }
}

/// The triage forms the tip's state and the caller's role allow.
fn forms(
    view: &TipView,
    caller: &Caller,
    choices: &Choices,
    failed: Option<&Failed>,
) -> Vec<FormView> {
    let permitted = &view.permitted_actions;
    fields::TIP_ACTIONS
        .iter()
        .filter(|a| permitted.contains(&fields::tip_api_action(a.action)))
        // The district office creates no hazards (T1): it confirms by a link.
        .filter(|a| !(a.action == "confirm_new" && caller.role == Role::DistrictOffice))
        .map(|a| {
            let mine = failed.filter(|f| f.action == a.action);
            let values = mine.map_or_else(|| initial_values(a.action, view), |f| f.values.clone());
            let errors = mine.map(|f| f.errors.clone()).unwrap_or_default();
            let mut views = fields::views(&format!("{}-", a.action), a.fields, &values, &errors);
            for v in &mut views {
                if let Some(opts) = choices.for_field(v.name) {
                    v.options = opts
                        .iter()
                        .map(|(code, label)| (code.clone(), label.clone(), *code == v.value))
                        .collect();
                }
            }
            FormView {
                action: a.action,
                title: a.title,
                button: a.button,
                fields: views,
                error: mine.map(|f| f.message.clone()),
                open: mine.is_some(),
            }
        })
        .collect()
}

async fn load(
    state: &web::Data<AppState>,
    caller: &Caller,
    id: &str,
) -> crate::error::AppResult<TipView> {
    let caller = caller.clone();
    let id = id.to_string();
    let today = state.clock.today();
    state.db(move |c| svc::detail(c, &caller, today, &id)).await
}

async fn detail_page(
    state: &web::Data<AppState>,
    s: &Session,
    view: &TipView,
    flash: Option<String>,
    failed: Option<Failed>,
) -> DetailPage {
    let names = Names::load(state).await;
    let choices = Choices::load(state, &s.caller, &names, view).await;
    let t = &view.summary;
    let contact = match &view.contact {
        None => "匿名".to_string(),
        Some(c) => {
            let parts: Vec<&str> = [c.name.as_deref(), c.phone.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if parts.is_empty() {
                "匿名".to_string()
            } else {
                parts.join("，")
            }
        }
    };
    DetailPage {
        user: Some(user_view(s)),
        flash,
        csrf: s.csrf.clone(),
        id: t.id.clone(),
        status: fields::tip_status_label(t.status.as_str()),
        received_on: t.received_on.to_string(),
        due_on: t.due_on.to_string(),
        overdue: t.overdue,
        occurred_on: t.occurred_on.to_string(),
        location: t.location.clone(),
        description: t.description.clone(),
        handler: names.handler(t.street.as_deref(), t.department.as_deref()),
        contact,
        outcome: view.outcome.unwrap_or("").to_string(),
        hazard_id: t.hazard_id.clone(),
        duplicate_of: t.duplicate_of.clone(),
        photos: view
            .photos
            .iter()
            .map(|p| (p.id.clone(), p.file_name.clone()))
            .collect(),
        history: history(view, &names),
        forms: forms(view, &s.caller, &choices, failed.as_ref()),
        form_base: format!("/tips/inbox/{}", t.id),
    }
}

fn not_found(s: &Session) -> HttpResponse {
    render_status(
        StatusCode::NOT_FOUND,
        &InboxPage {
            user: Some(user_view(s)),
            flash: Some("未找到该举报，或它不在您的管辖范围内。".into()),
            sections: Vec::new(),
        },
    )
}

/// The message after a triage step.
fn done_text(action: &str) -> String {
    match fields::tip_action_form(action) {
        Some(f) => format!("已办理：{}。", f.title),
        None => "已保存。".to_string(),
    }
}

/// `GET /tips/inbox/{id}`.
pub async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    id: web::Path<String>,
) -> HttpResponse {
    let s = match officer(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let Ok(view) = load(&state, &s.caller, &id).await else {
        return not_found(&s);
    };
    let q = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    let flash = if q.contains_key("stale") {
        Some("页面已过期，刚才提交的内容没有保存。请重新填写后提交。".to_string())
    } else {
        q.get("done").map(|a| done_text(a))
    };
    let page = detail_page(&state, &s, &view, flash, None).await;
    render_status(StatusCode::OK, &page)
}

/// Why a triage step was refused, in the officers' words.
fn refusal(status: u16, answer: &Value) -> String {
    match status {
        403 => "您的角色无权办理此项（区安委办不能建立隐患，请关联已有隐患）。".to_string(),
        404 => "未找到该举报，或它已不在您的管辖范围内。".to_string(),
        409 => match answer["current_status"].as_str() {
            Some(st) => format!(
                "举报当前状态为“{}”，不能办理此项（可能已由他人办理）。",
                fields::tip_status_label(st)
            ),
            None => "当前状态不允许此操作。".to_string(),
        },
        422 => "请修改标出的内容。".to_string(),
        _ => format!(
            "操作未完成（{status}）：{}",
            answer["detail"].as_str().unwrap_or("")
        ),
    }
}

/// The fields that name what a confirmed tip is: a new hazard's enterprise, an existing
/// hazard, or the tip it repeats.
const CONFIRM_WAYS: [&str; 3] = ["enterprise_id", "hazard_id", "duplicate_of"];

/// `POST /tips/inbox/{id}/do/{action}`: one triage form.
pub async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let s = match officer(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let (id, action) = path.into_inner();
    let form = form.into_inner();
    let back = format!("/tips/inbox/{id}");
    if !same(&s.csrf, get(&form, "csrf")) {
        return see_other(&format!("{back}?stale=1"));
    }
    let Some(spec) = fields::tip_action_form(&action) else {
        return not_found(&s);
    };
    let mut body = fields::to_json(&spec.fields.iter().collect::<Vec<_>>(), &form);
    body["action"] = Value::from(fields::tip_api_action(&action));
    req.extensions_mut().insert(FormJson);
    let result = crate::api::tips::triage(
        state.clone(),
        s.caller.clone(),
        req.clone(),
        web::Path::from(id.clone()),
        web::Bytes::from(body.to_string()),
    )
    .await;
    let (status, answer) = outcome(result).await;
    if (200..300).contains(&status) {
        // Routed elsewhere, the tip has left the officer's scope: back to the list, told so.
        if load(&state, &s.caller, &id).await.is_err() {
            return see_other(&format!("/tips/inbox?gone={action}"));
        }
        return see_other(&format!("{back}?done={action}"));
    }
    let mut errors = fields::problem_errors(&answer);
    // Each way of confirming is its own form: the API's "exactly one of enterprise_id,
    // hazard_id, duplicate_of" is this form's own field left empty.
    for way in CONFIRM_WAYS {
        if let Some(m) = errors.get_mut(way)
            && m.starts_with("give exactly one of")
        {
            *m = fields::translate("required");
        }
    }
    let shown = |k: &str| spec.fields.iter().any(|f| f.name == k);
    errors.retain(|k, _| shown(k) || !CONFIRM_WAYS.contains(&k.as_str()));
    // A field the form does not show is told in the message, in the form's words.
    let elsewhere: Vec<String> = errors
        .iter()
        .filter(|(k, _)| !shown(k))
        .map(|(k, m)| format!("{}：{m}", fields::field_label(k)))
        .collect();
    errors.retain(|k, _| shown(k));
    let mut message = refusal(status, &answer);
    if !elsewhere.is_empty() {
        message = format!("{message} {}", elsewhere.join("；"));
    }
    let failed = Failed {
        action,
        values: form,
        errors,
        message,
    };
    match load(&state, &s.caller, &id).await {
        Ok(view) => {
            let page = detail_page(&state, &s, &view, None, Some(failed)).await;
            render_status(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                &page,
            )
        }
        Err(_) => not_found(&s),
    }
}

/// `GET /tips/inbox/{id}/photos/{photo}`: a photo of a tip in the officer's scope.
pub async fn photo(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let s = match officer(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let (id, photo_id) = path.into_inner();
    let caller = s.caller.clone();
    let row = match state
        .db(move |c| svc::photo(c, &caller, &id, &photo_id))
        .await
    {
        Ok(r) => r,
        Err(_) => return not_found(&s),
    };
    let blobs = state.blobs.clone();
    let key = row.sha256.clone();
    match web::block(move || blobs.get(&key)).await {
        Ok(Ok(bytes)) => HttpResponse::Ok()
            .content_type(row.content_type.as_str())
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header((header::CONTENT_DISPOSITION, "inline"))
            .body(bytes),
        Ok(Err(e)) => crate::error::AppError::internal(e).error_response(),
        Err(e) => crate::error::AppError::internal(e).error_response(),
    }
}
