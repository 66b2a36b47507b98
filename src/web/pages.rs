//! The page handlers.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;
use serde_json::{Value, json};

use super::fields::{self, ACTIONS, Field, FieldView, GENERAL, MAJOR, PLAN};
use super::{FormJson, Session, SessionCookie, charts, html, same, see_other, session};
use crate::app::AppState;
use crate::auth::{Bearer, Caller, Org};
use crate::domain::hazard::Role;
use crate::error::{AppError, AppResult};

/// The signed-in person as the layout shows them.
pub struct UserView {
    pub name: String,
    pub role_label: &'static str,
    pub csrf: String,
    pub officer: bool,
    pub enterprise: bool,
    /// May file a hazard (T1): enterprise users, street officers and inspectors.
    pub files: bool,
}

pub(super) fn user_view(s: &Session) -> UserView {
    UserView {
        name: s.display_name.clone(),
        role_label: fields::role_label(s.caller.role.as_str()),
        csrf: s.csrf.clone(),
        officer: is_officer(&s.caller),
        enterprise: is_enterprise(&s.caller),
        files: is_enterprise(&s.caller)
            || matches!(
                s.caller.role,
                Role::StreetOfficer | Role::DepartmentInspector
            ),
    }
}

pub(super) fn is_officer(c: &Caller) -> bool {
    matches!(
        c.role,
        Role::StreetOfficer | Role::DepartmentInspector | Role::DistrictOffice
    )
}

fn is_enterprise(c: &Caller) -> bool {
    matches!(
        c.role,
        Role::EnterpriseReporter | Role::EnterprisePrincipal | Role::EnterpriseSafetyOfficer
    )
}

fn render(t: &impl Template) -> HttpResponse {
    render_status(StatusCode::OK, t)
}

pub(super) fn render_status(status: StatusCode, t: &impl Template) -> HttpResponse {
    match t.render() {
        Ok(body) => html(status, body),
        Err(e) => AppError::internal(e).error_response(),
    }
}

/// `res` with the `Retry-After` a refusal carried (a 429 a page shows in its words), if any.
pub(super) fn with_retry_after(mut res: HttpResponse, seconds: Option<u64>) -> HttpResponse {
    if let Some(secs) = seconds {
        res.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(secs),
        );
    }
    res
}

/// The status and JSON body of an API handler's answer (errors as their problem details).
pub(super) async fn outcome(result: AppResult<HttpResponse>) -> (u16, Value) {
    let res = match result {
        Ok(r) => r,
        Err(e) => e.error_response(),
    };
    let status = res.status().as_u16();
    let body = actix_web::body::to_bytes(res.into_body())
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

/// The message of a refusal that is not about one field.
/// The last `YYYY-MM-DD` in `text` (the date a refusal's detail names).
fn last_date(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    (0..bytes.len().saturating_sub(9)).rev().find_map(|i| {
        let cand = text.get(i..i + 10)?;
        cand.parse::<NaiveDate>().ok().map(|_| cand)
    })
}

/// A refusal the domain names by its code, in the words of the page's users.
fn refusal_by_code(code: &str, detail: &str) -> Option<String> {
    let on = |prefix: &str| match last_date(detail) {
        Some(d) => format!("{prefix}（{d}）"),
        None => prefix.to_string(),
    };
    Some(match code {
        "congress_report_missing" => {
            "重大事故隐患销号前，须先记录向职工代表大会或职工大会报告治理结果（完成阶段的双报告）。"
                .to_string()
        }
        "major_report_missing" => {
            "上账时认定为重大的隐患，须先补报重大事故隐患报告（现状及原因、危害程度和整改难易程度、治理方案），方可销号。"
                .to_string()
        }
        "congress_follow_up_pending" => {
            "联席会议听取的报告，须先记录职工代表大会或职工大会的补充报告，方可销号。".to_string()
        }
        "extension_window_not_open" => {
            let days = detail
                .split("last ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or("15");
            let when = last_date(detail).map_or_else(
                || "尚未到可申请延期的时间".to_string(),
                |d| format!("{d} 起才能申请延期"),
            );
            format!("{when}：延期须在整改期限届满前的最后 {days} 个工作日内申请。")
        }
        "extension_window_closed" => on("整改期限已过，不能再申请延期"),
        "extension_pending" => "已有一项延期申请待审批，审批后才能再次申请。".to_string(),
        "no_pending_extension" => "没有待审批的延期申请。".to_string(),
        "already_reported" => "重大事故隐患报告已经报送，不能重复报送。".to_string(),
        "plan_not_acknowledged" => "治理方案尚未经主管部门备案，不能开始整改。".to_string(),
        "plan_not_filed" => "尚未报送治理方案。".to_string(),
        "deadline_missing" => "该隐患尚无整改期限。".to_string(),
        "already_listed" => "该隐患已经挂牌督办。".to_string(),
        "not_listed" => "该隐患未挂牌督办。".to_string(),
        "level_not_major" => "此项只适用于重大事故隐患。".to_string(),
        "level_not_general" => "此项只适用于一般事故隐患（重大事故隐患不能即查即改）。".to_string(),
        "direct_report_required" => {
            "安全管理人员报送重大事故隐患，须勾选“直接报告”（主要负责人未报告时）。".to_string()
        }
        "level_upgrade_forbidden" => "街镇不能将隐患认定为重大，请由行业主管部门上账。".to_string(),
        "level_downgrade_forbidden" => "重大事故隐患只能由行业主管部门改为一般。".to_string(),
        "not_primary_department" => "此项由牵头主管部门办理，您的部门为抄送部门。".to_string(),
        "verifier_is_reporter" => "报告隐患的人不能验收该隐患。".to_string(),
        "concurrent_update" => "他人刚刚办理了该隐患，请刷新后再试。".to_string(),
        "duplicate_doc_no" => "该督办文号已用于另一项挂牌督办，请核对文号。".to_string(),
        _ => return None,
    })
}

fn refusal(status: u16, body: &Value) -> String {
    let detail = body["detail"].as_str().unwrap_or("");
    if let Some(text) = body["code"]
        .as_str()
        .and_then(|code| refusal_by_code(code, detail))
    {
        return text;
    }
    match status {
        403 => "您的角色或所在单位无权办理此项。".to_string(),
        404 => "未找到，或不在您的管辖范围内。".to_string(),
        409 => match body["current_status"].as_str() {
            Some(st) => format!(
                "隐患当前状态为“{}”，不能办理此项（可能已由他人办理）。",
                fields::status_label(st)
            ),
            None => format!("当前状态不允许此操作：{detail}"),
        },
        413 => "文件太大。".to_string(),
        415 => "文件类型不支持，请上传照片（JPEG、PNG）或 PDF。".to_string(),
        422 => "请修改标出的内容。".to_string(),
        _ => format!("操作未完成（{status}）：{detail}"),
    }
}

fn login_redirect(req: &HttpRequest) -> HttpResponse {
    // After logging in, come back to the page; a form posted with an expired session cannot
    // be replayed, so its page is the hazard (or the start).
    let path = req.uri().path();
    let next = if req.method() == actix_web::http::Method::GET {
        path
    } else {
        ["/hazards/", "/tips/inbox/"]
            .iter()
            .find_map(|prefix| {
                let id = path.strip_prefix(prefix)?.split('/').next()?;
                (!id.is_empty()).then(|| &path[..prefix.len() + id.len()])
            })
            .unwrap_or("/")
    };
    see_other(&format!("/login?next={}", urlencode(next)))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A form field value.
pub(super) fn get<'a>(form: &'a HashMap<String, String>, k: &str) -> &'a str {
    form.get(k).map_or("", String::as_str)
}

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("../../assets/web/app.css"))
}

pub async fn home(state: web::Data<AppState>, cookie: SessionCookie) -> HttpResponse {
    match session(&state, &cookie).await {
        Some(s) if is_officer(&s.caller) => see_other("/queue"),
        Some(_) => see_other("/hazards"),
        None => see_other("/login"),
    }
}

// --- login and logout ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    user: Option<UserView>,
    flash: Option<String>,
    error: Option<String>,
    csrf: String,
    next: String,
    username: String,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only local paths: never an open redirect.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_string()
    } else {
        "/".to_string()
    }
}

fn login_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    error: Option<String>,
    next: &str,
    username: &str,
) -> HttpResponse {
    let token = crate::auth::token::new_refresh_token().0;
    let mut res = render_status(
        status,
        &LoginPage {
            user: None,
            flash: None,
            error,
            csrf: token.clone(),
            next: safe_next(next),
            username: username.to_string(),
        },
    );
    let _ = res.add_cookie(&super::cookie(state, req, super::LOGIN_CSRF_COOKIE, token));
    res
}

pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<NextQuery>,
) -> HttpResponse {
    login_page(
        &state,
        &req,
        StatusCode::OK,
        None,
        q.next.as_deref().unwrap_or("/"),
        "",
    )
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let form = form.into_inner();
    let next = get(&form, "next").to_string();
    let username = get(&form, "username").to_string();
    let expected = req
        .cookie(super::LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if expected.is_empty() || !same(&expected, get(&form, "csrf")) {
        return login_page(
            &state,
            &req,
            StatusCode::FORBIDDEN,
            Some("页面已过期，请重新登录。".into()),
            &next,
            &username,
        );
    }
    let verified = crate::api::auth::verify_login(
        &state,
        &req,
        Some(username.clone()),
        form.get("password").cloned(),
    )
    .await;
    let user = match verified {
        Ok(u) => u,
        Err(e) => {
            let status = e.status;
            let msg = match status.as_u16() {
                429 => "尝试次数过多，请稍后再试。",
                422 => "请填写用户名和密码。",
                _ => "用户名或密码错误。",
            };
            let page = login_page(&state, &req, status, Some(msg.into()), &next, &username);
            return with_retry_after(page, e.retry_after);
        }
    };
    let now = state.clock.now();
    let st = state.clone();
    let token = state
        .db(move |c| {
            crate::db::write_tx(c, |c| {
                crate::db::users::record_success(c, &user.id, now.naive_utc())?;
                crate::auth::accounts::open_web_session(
                    c,
                    &st.auth.keys,
                    &st.config.auth,
                    &user,
                    now,
                )
            })
        })
        .await;
    let mut res = with_session(&state, &req, token, &safe_next(&next));
    let mut gone = super::cookie(&state, &req, super::LOGIN_CSRF_COOKIE, String::new());
    gone.make_removal();
    let _ = res.add_cookie(&gone);
    res
}

/// Off to `location` with the new session's cookie (or the error of opening it).
fn with_session(
    state: &AppState,
    req: &HttpRequest,
    token: crate::error::AppResult<String>,
    location: &str,
) -> HttpResponse {
    match token {
        Ok(token) => {
            let mut res = see_other(location);
            // As long as the session: a browser that is closed and opened again stays logged in.
            let mut c = super::cookie(state, req, super::SESSION_COOKIE, token);
            c.set_max_age(actix_web::cookie::time::Duration::days(
                state.config.auth.session_days,
            ));
            let _ = res.add_cookie(&c);
            res
        }
        Err(e) => e.error_response(),
    }
}

/// The session of a page that needs one: the login page without one, and the password page
/// while the initial (or an admin-set) password has not been changed.
pub(super) async fn page_session(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    cookie: &SessionCookie,
) -> Result<Session, HttpResponse> {
    let Some(s) = session(state, cookie).await else {
        return Err(login_redirect(req));
    };
    if s.caller.must_change_password {
        return Err(see_other("/password"));
    }
    Ok(s)
}

#[derive(Template)]
#[template(path = "web/password.html")]
struct PasswordPage {
    user: Option<UserView>,
    flash: Option<String>,
    csrf: String,
    forced: bool,
    min_length: usize,
    error: Option<String>,
    current_error: Option<String>,
    new_error: Option<String>,
    again_error: Option<String>,
}

fn password_page(state: &AppState, s: &Session, errors: HashMap<String, String>) -> PasswordPage {
    let error = (!errors.is_empty()).then(|| "请修改标出的项目后再提交。".to_string());
    PasswordPage {
        user: Some(user_view(s)),
        flash: None,
        csrf: s.csrf.clone(),
        forced: s.caller.must_change_password,
        min_length: state.config.auth.password_min_length,
        error,
        current_error: errors.get("current_password").cloned(),
        new_error: errors.get("new_password").cloned(),
        again_error: errors.get("new_password_again").cloned(),
    }
}

/// `/password`: change one's own password (the only page open before a forced change).
pub async fn password_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
) -> HttpResponse {
    let Some(s) = session(&state, &cookie).await else {
        return login_redirect(&req);
    };
    render(&password_page(&state, &s, HashMap::new()))
}

pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let Some(s) = session(&state, &cookie).await else {
        return login_redirect(&req);
    };
    let form = form.into_inner();
    if !same(&s.csrf, get(&form, "csrf")) {
        return see_other("/password");
    }
    let (current, new) = (
        form.get("current_password").cloned(),
        form.get("new_password").cloned(),
    );
    let mut errors = HashMap::new();
    if new.as_deref().unwrap_or("") != get(&form, "new_password_again") {
        errors.insert(
            "new_password_again".to_string(),
            "两次输入的新密码不一致".to_string(),
        );
    }
    let checked = if errors.is_empty() {
        crate::api::auth::checked_new_password(&state, &s.caller, current, new).await
    } else {
        Err(crate::error::AppError::validation(Vec::new()))
    };
    let (user, hash) = match checked {
        Ok(ok) => ok,
        Err(e) => {
            let wait = e.retry_after;
            let (status, body) = outcome(Err(e)).await;
            errors.extend(fields::problem_errors(&body));
            if errors
                .get("current_password")
                .is_some_and(|m| m == "is not your current password")
            {
                errors.insert("current_password".into(), "当前密码不正确".into());
            }
            let mut page = password_page(&state, &s, errors);
            // Refused as a whole (too many wrong guesses): said, not left to guess.
            if status == 429 {
                page.error = Some("当前密码错误次数过多，账户已暂时锁定，请稍后再试。".into());
            }
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            return with_retry_after(render_status(code, &page), wait);
        }
    };
    // Every session ends with the old password; this browser gets a new one.
    let now = state.clock.now();
    let st = state.clone();
    let token = state
        .db(move |c| {
            crate::db::write_tx(c, |c| {
                let user = crate::api::auth::store_new_password(c, &user.id, hash, now)?;
                crate::auth::accounts::open_web_session(
                    c,
                    &st.auth.keys,
                    &st.config.auth,
                    &user,
                    now,
                )
            })
        })
        .await;
    with_session(&state, &req, token, "/hazards?done=password")
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    if let Some(s) = session(&state, &cookie).await {
        if !same(&s.csrf, get(&form, "csrf")) {
            return see_other("/");
        }
        let sid = s.caller.session_id.clone();
        let now = state.clock.now().naive_utc();
        let _ = state
            .db(move |c| Ok(crate::db::users::revoke_session(c, &sid, "logout", now)?))
            .await;
    }
    let mut res = see_other("/login");
    let mut gone = super::cookie(&state, &req, super::SESSION_COOKIE, String::new());
    gone.make_removal();
    let _ = res.add_cookie(&gone);
    res
}

// --- lists ---------------------------------------------------------------------------------

pub struct Row {
    id: String,
    title: String,
    ledger_no: String,
    enterprise: String,
    status: &'static str,
    level: &'static str,
    deadline: String,
    timing: String,
    overdue: bool,
    /// Its compliance flags, in Chinese (DESIGN: visible in lists).
    flags: String,
}

pub struct ListSection {
    title: &'static str,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "web/list.html")]
struct ListPage {
    user: Option<UserView>,
    flash: Option<String>,
    heading: &'static str,
    sections: Vec<ListSection>,
    /// On an officer's queue: the tips waiting for verification in scope, and how many of them
    /// are past their verification date.
    tips_waiting: Option<(usize, usize)>,
}

/// Where an open hazard stands against its deadline: 逾期 N 天, 已完成，待验收 (the clock
/// stopped at the completion), 今日到期 or 剩余 N 天.
fn timing_text(open: bool, v: &Value) -> String {
    let days_overdue = v["days_overdue"].as_i64().unwrap_or(0);
    match (open, days_overdue, v["days_left"].as_i64()) {
        (true, d, _) if d > 0 => format!("逾期 {d} 天"),
        _ if open && v["status"] == "pending_acceptance" => "已完成，待验收".to_string(),
        (true, _, Some(l)) => crate::domain::deadline::days_left_text(l),
        _ => String::new(),
    }
}

fn row(v: &Value) -> Row {
    let s = |k: &str| v[k].as_str().unwrap_or("").to_string();
    let days_overdue = v["days_overdue"].as_i64().unwrap_or(0);
    let open = !matches!(v["status"].as_str(), Some("closed" | "void" | "draft"));
    let timing = timing_text(open, v);
    Row {
        id: s("id"),
        title: s("title"),
        ledger_no: s("ledger_no"),
        enterprise: v["enterprise"]["name"]
            .as_str()
            .or(v["enterprise_name"].as_str())
            .unwrap_or("")
            .to_string(),
        status: fields::status_label(v["status"].as_str().unwrap_or("")),
        level: fields::level_label(v["level"].as_str().unwrap_or("")),
        deadline: v["effective_deadline"].as_str().unwrap_or("—").to_string(),
        timing,
        overdue: open && days_overdue > 0,
        flags: v["compliance_flags"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(flag_label)
                    .collect::<Vec<_>>()
                    .join("；")
            })
            .unwrap_or_default(),
    }
}

/// Hazards of the caller's scope matching the list query `q` (the API's own list).
async fn rows(state: &web::Data<AppState>, caller: &Caller, q: &str) -> Vec<Row> {
    rows_where(state, caller, q, |_| true).await
}

/// [`rows`], keeping the items `keep` accepts.
async fn rows_where(
    state: &web::Data<AppState>,
    caller: &Caller,
    q: &str,
    keep: impl Fn(&Value) -> bool,
) -> Vec<Row> {
    let Ok(query) = crate::http::query::from_query::<crate::api::hazard_list::FilterQuery>(q)
    else {
        return Vec::new();
    };
    let query = crate::http::query::Query(query);
    let (status, body) =
        outcome(crate::api::hazard_list::list(state.clone(), caller.clone(), query).await).await;
    if status != 200 {
        return Vec::new();
    }
    body["items"]
        .as_array()
        .map(|a| a.iter().filter(|v| keep(v)).map(row).collect())
        .unwrap_or_default()
}

fn flash(req: &HttpRequest) -> Option<String> {
    let q = web::Query::<HashMap<String, String>>::from_query(req.query_string()).ok()?;
    if q.contains_key("stale") {
        // A form whose CSRF token no longer matches (another login, an old tab) saved nothing.
        return Some("页面已过期，刚才提交的内容没有保存。请在本页重新填写后提交。".to_string());
    }
    let done = q.get("done")?;
    Some(match done.as_str() {
        "created" => "已保存草稿。请上传现场照片，然后提交。".to_string(),
        "edited" => "报告已修改。核对无误后请提交。".to_string(),
        "password" => "密码已修改。".to_string(),
        "photo" => "照片已上传。".to_string(),
        "photo_removed" => "照片或文件已移除。".to_string(),
        a => match fields::action_form(a) {
            Some(f) => format!("已办理：{}。", f.title),
            None => "已保存。".to_string(),
        },
    })
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    // Reports not yet on the ledger have no deadline: they are listed by their last change,
    // above the posted ones by deadline (a deadline sort leaves out what has none).
    let unposted = rows(
        &state,
        &s.caller,
        "status=draft,submitted,returned&sort=updated&limit=200",
    )
    .await;
    let open = rows(
        &state,
        &s.caller,
        "status=on_ledger,in_rectification,pending_acceptance&sort=deadline&limit=200",
    )
    .await;
    let done = rows(
        &state,
        &s.caller,
        "status=closed,void&sort=updated&limit=50",
    )
    .await;
    render(&ListPage {
        user: Some(user_view(&s)),
        flash: flash(&req),
        heading: "隐患清单",
        tips_waiting: None,
        sections: vec![
            ListSection {
                title: "未上账（草稿、已报告、退回）",
                rows: unposted,
            },
            ListSection {
                title: "已上账未销账",
                rows: open,
            },
            ListSection {
                title: "最近销账或作废",
                rows: done,
            },
        ],
    })
}

/// The tips of the officer's scope waiting for verification, and how many are overdue (the
/// queue points to them: /tips/inbox), counted in the database.
async fn tips_waiting(state: &web::Data<AppState>, caller: &Caller) -> Option<(usize, usize)> {
    let scope = crate::policy::tip_scope(caller).ok()?;
    let today = state.clock.today();
    let (waiting, late) = state
        .db(move |c| Ok(crate::db::tips::open_counts(c, &scope, today)?))
        .await
        .ok()?;
    Some((
        usize::try_from(waiting).unwrap_or(0),
        usize::try_from(late).unwrap_or(0),
    ))
}

pub async fn queue(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    if !is_officer(&s.caller) {
        return see_other("/hazards");
    }
    if s.caller.role == Role::DistrictOffice {
        // The district office posts and accepts nothing: it supervises the listed hazards
        // (挂牌督办, their extensions) and the overdue ones.
        let listed = rows(
            &state,
            &s.caller,
            "listed=true&status=on_ledger,in_rectification,pending_acceptance&sort=deadline&limit=100",
        )
        .await;
        let overdue = rows(
            &state,
            &s.caller,
            "overdue=true&sort=days_overdue&limit=100",
        )
        .await;
        // A listed hazard's extension is the district office's to decide (T9).
        let extensions = rows(
            &state,
            &s.caller,
            "awaiting=extension_decision&listed=true&sort=deadline&limit=100",
        )
        .await;
        return render(&ListPage {
            user: Some(user_view(&s)),
            flash: flash(&req),
            heading: "待办",
            tips_waiting: tips_waiting(&state, &s.caller).await,
            sections: vec![
                ListSection {
                    title: "待审批延期（挂牌督办）",
                    rows: extensions,
                },
                ListSection {
                    title: "挂牌督办中",
                    rows: listed,
                },
                ListSection {
                    title: "已逾期",
                    rows: overdue,
                },
            ],
        });
    }
    // What this officer acts on: a street officer posts and accepts 一般 hazards (T4, T11); an
    // inspector posts any of its department's and accepts the 重大 ones its department is the
    // primary department of (DESIGN "Routing"); the district office sees both queues whole.
    let (post, accept, primary) = match (&s.caller.role, &s.caller.org) {
        (Role::StreetOfficer, _) => ("&level=general", "&level=general", None),
        (Role::DepartmentInspector, Org::Department(d)) => ("", "&level=major", Some(d.clone())),
        _ => ("", "", None),
    };
    let to_post = rows(
        &state,
        &s.caller,
        &format!("status=submitted&sort=created&limit=100{post}"),
    )
    .await;
    let to_accept = rows_where(
        &state,
        &s.caller,
        &format!("status=pending_acceptance&sort=deadline&limit=100{accept}"),
        // Nobody accepts what they reported themselves (verifier ≠ reporter).
        |v| {
            primary
                .as_deref()
                .is_none_or(|d| v["primary_department"].as_str() == Some(d))
                && v["reporter_id"].as_str() != Some(s.caller.user_id.as_str())
        },
    )
    .await;
    let overdue = rows(
        &state,
        &s.caller,
        "overdue=true&sort=days_overdue&limit=100",
    )
    .await;
    let mut sections = vec![ListSection {
        title: "待上账（已报告）",
        rows: to_post,
    }];
    // The primary department acknowledges plans (备案) and decides extensions, but those of a
    // listed hazard, which the district office decides (T7, T9).
    if let Some(own) = primary.as_deref() {
        let of_own = |v: &Value| v["primary_department"].as_str() == Some(own);
        let plans = rows_where(
            &state,
            &s.caller,
            "awaiting=plan_acknowledgement&sort=created&limit=100",
            of_own,
        )
        .await;
        let extensions = rows_where(
            &state,
            &s.caller,
            "awaiting=extension_decision&listed=false&sort=deadline&limit=100",
            of_own,
        )
        .await;
        sections.push(ListSection {
            title: "待备案治理方案",
            rows: plans,
        });
        sections.push(ListSection {
            title: "待审批延期",
            rows: extensions,
        });
    }
    sections.extend([
        ListSection {
            title: "待验收",
            rows: to_accept,
        },
        ListSection {
            title: "已逾期",
            rows: overdue,
        },
    ]);
    render(&ListPage {
        user: Some(user_view(&s)),
        flash: flash(&req),
        heading: "待办",
        sections,
        tips_waiting: tips_waiting(&state, &s.caller).await,
    })
}

// --- filing a hazard -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "web/new.html")]
struct NewPage {
    user: Option<UserView>,
    flash: Option<String>,
    csrf: String,
    heading: &'static str,
    /// Where the form posts: `/hazards/new`, or the hazard's `/edit`.
    action: String,
    button: &'static str,
    /// The version edited (a report being corrected), to refuse saving over a newer one.
    version: Option<i64>,
    level: String,
    errors: HashMap<String, String>,
    general: Vec<FieldView>,
    major: Vec<FieldView>,
    plan: Vec<FieldView>,
    /// An officer files for an enterprise of their scope: (id, name and USCC, chosen).
    enterprises: Vec<(String, String, bool)>,
    enterprise_error: Option<String>,
    /// The sector the hazard belongs to, which routes it to its department: (code, name and
    /// department, chosen); none chosen keeps the enterprise's (or, correcting a report, the
    /// report's) sectors, as `sector_default` says.
    sectors: Vec<(String, String, bool)>,
    sector_default: String,
    sector_error: Option<String>,
}

/// Every sector as the form offers it: (code, "name（department）"), in the seeds' order of codes.
pub(super) async fn sector_choices(state: &web::Data<AppState>) -> Vec<(String, String)> {
    state
        .db(|c| {
            let departments: HashMap<String, String> = crate::db::reference::list_departments(c)?
                .into_iter()
                .map(|d| (d.code, d.name))
                .collect();
            Ok(crate::db::reference::list_sectors(c)?
                .into_iter()
                .map(|s| {
                    let dept = departments
                        .get(&s.primary_department)
                        .cloned()
                        .unwrap_or(s.primary_department);
                    (s.code, format!("{}（{dept}）", s.name))
                })
                .collect())
        })
        .await
        .unwrap_or_default()
}

/// The form's one sector, as the API's `sectors`; nothing when none was chosen.
fn chosen_sector(form: &HashMap<String, String>, body: &mut Value) {
    if let Some(s) = form
        .get("sector")
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        body["sectors"] = json!([s]);
    }
}

/// The enterprises an officer may file a hazard for (T1: inspection findings), by name; none
/// for enterprise users, whose own enterprise is implied.
pub(super) async fn enterprise_choices(
    state: &web::Data<AppState>,
    caller: &Caller,
) -> Vec<(String, String)> {
    if caller.role.is_enterprise() {
        return Vec::new();
    }
    let scope = crate::policy::enterprise_scope(caller);
    let filter = crate::db::enterprises::EnterpriseFilter {
        limit: 1000,
        ..Default::default()
    };
    let rows = state
        .db(move |c| Ok(crate::db::enterprises::list(c, &scope, &filter)?))
        .await
        .unwrap_or_default();
    let mut out: Vec<(String, String)> = rows
        .into_iter()
        .map(|e| (e.id, format!("{}（{}）", e.name, e.uscc)))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

fn new_page(
    s: &Session,
    values: &HashMap<String, String>,
    mut errors: HashMap<String, String>,
    enterprises: Vec<(String, String)>,
    sectors: Vec<(String, String)>,
) -> NewPage {
    let chosen = values
        .get("enterprise_id")
        .map(String::as_str)
        .unwrap_or("");
    let sector = values.get("sector").map(String::as_str).unwrap_or("");
    NewPage {
        user: Some(user_view(s)),
        flash: None,
        csrf: s.csrf.clone(),
        heading: "报告隐患",
        action: "/hazards/new".into(),
        button: "保存草稿",
        version: None,
        enterprises: enterprises
            .into_iter()
            .map(|(id, label)| {
                let selected = id == chosen;
                (id, label, selected)
            })
            .collect(),
        enterprise_error: errors.remove("enterprise_id"),
        sectors: sectors
            .into_iter()
            .map(|(code, label)| {
                let selected = code == sector;
                (code, label, selected)
            })
            .collect(),
        sector_default: "不选：按企业登记的行业领域".into(),
        sector_error: errors.remove("sectors"),
        level: values.get("level").cloned().unwrap_or_default(),
        general: fields::views("f-", GENERAL, values, &errors),
        major: fields::views("f-", MAJOR, values, &errors),
        plan: fields::views("f-", PLAN, values, &errors),
        errors,
    }
}

pub async fn new_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let mut defaults = HashMap::new();
    defaults.insert("discovered_on".to_string(), state.clock.today().to_string());
    let enterprises = enterprise_choices(&state, &s.caller).await;
    let sectors = sector_choices(&state).await;
    render(&NewPage {
        flash: flash(&req),
        ..new_page(&s, &defaults, HashMap::new(), enterprises, sectors)
    })
}

pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let form = form.into_inner();
    if !same(&s.csrf, get(&form, "csrf")) {
        return see_other("/hazards/new?stale=1");
    }
    let major = get(&form, "level") == "major";
    let mut all: Vec<&Field> = GENERAL.iter().collect();
    if major {
        all.extend(MAJOR.iter().chain(PLAN));
    }
    let mut body = fields::to_json(&all, &form);
    body["level"] = json!(if major { "major" } else { "general" });
    if let Some(e) = form.get("enterprise_id").filter(|e| !e.is_empty()) {
        body["enterprise_id"] = json!(e);
    }
    chosen_sector(&form, &mut body);
    // A draft needs what the API's T1 needs (the finding); the 重大 report's blocks and plan
    // are asked for at submission (T2), so a finding or a report in progress can be saved.
    let result = match crate::auth::Bearer::from_token(&state, &s.token) {
        Ok(bearer) => {
            crate::api::hazards::create(state.clone(), bearer, crate::http::json::Json(body)).await
        }
        Err(e) => Err(e),
    };
    let (status, body) = outcome(result).await;
    if status == 201 {
        let id = body["id"].as_str().unwrap_or_default();
        return see_other(&format!("/hazards/{id}?done=created"));
    }
    let errors = report_form_errors(status, &body);
    let enterprises = enterprise_choices(&state, &s.caller).await;
    let sectors = sector_choices(&state).await;
    render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &new_page(&s, &form, errors, enterprises, sectors),
    )
}

// --- correcting a report (draft or returned) --------------------------------------------------

/// The form of a report being corrected, filled with `values`; `current` names the report's
/// sectors (kept when no sector is chosen).
#[allow(clippy::too_many_arguments)]
fn edit_page(
    s: &Session,
    id: &str,
    version: i64,
    values: &HashMap<String, String>,
    errors: HashMap<String, String>,
    flash: Option<String>,
    sectors: Vec<(String, String)>,
    current: &[String],
) -> NewPage {
    let names: Vec<String> = current
        .iter()
        .map(|code| {
            sectors
                .iter()
                .find(|(c, _)| c == code)
                .map_or(code.clone(), |(_, label)| label.clone())
        })
        .collect();
    NewPage {
        heading: "修改隐患报告",
        action: format!("/hazards/{id}/edit"),
        button: "保存修改",
        version: Some(version),
        flash,
        sector_default: format!("不变：{}", names.join("、")),
        ..new_page(s, values, errors, Vec::new(), sectors)
    }
}

/// The report's sectors, from its view.
fn view_sectors(view: &Value) -> Vec<String> {
    view["sectors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// The report's fields of a hazard's view, as the form shows them.
fn report_values(view: &Value) -> HashMap<String, String> {
    let all: Vec<&Field> = GENERAL.iter().chain(MAJOR).chain(PLAN).collect();
    let mut values = fields::values_of(&all, view);
    values.insert(
        "level".into(),
        view["level"].as_str().unwrap_or("general").to_string(),
    );
    // One sector is shown chosen; several (filed through the API) are kept unless one is chosen.
    if let [one] = view_sectors(view).as_slice() {
        values.insert("sector".into(), one.clone());
    }
    values
}

pub async fn edit_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    id: web::Path<String>,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let Ok((view, _)) = load(&state, &req, &s.caller, &id).await else {
        return not_found_page(&s);
    };
    if !may_edit(&view) {
        return see_other(&format!("/hazards/{id}"));
    }
    let version = view["version"].as_i64().unwrap_or_default();
    let sectors = sector_choices(&state).await;
    render(&edit_page(
        &s,
        &id,
        version,
        &report_values(&view),
        HashMap::new(),
        None,
        sectors,
        &view_sectors(&view),
    ))
}

fn may_edit(view: &Value) -> bool {
    view["permitted_actions"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == "edit"))
}

pub async fn save_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    id: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let id = id.into_inner();
    let back = format!("/hazards/{id}");
    let form = form.into_inner();
    if !same(&s.csrf, get(&form, "csrf")) {
        return see_other(&format!("{back}?stale=1"));
    }
    let Ok((view, _)) = load(&state, &req, &s.caller, &id).await else {
        return not_found_page(&s);
    };
    if !may_edit(&view) {
        return see_other(&back);
    }
    let current = view["version"].as_i64().unwrap_or_default();
    if get(&form, "version").parse::<i64>().ok() != Some(current) {
        // Someone changed the report since this form was opened: show theirs, not a merge.
        return render_status(
            StatusCode::CONFLICT,
            &edit_page(
                &s,
                &id,
                current,
                &report_values(&view),
                HashMap::new(),
                Some("报告已被他人修改。下面是最新内容，请核对后重新修改。".into()),
                sector_choices(&state).await,
                &view_sectors(&view),
            ),
        );
    }
    let major = get(&form, "level") == "major";
    let mut all: Vec<&Field> = GENERAL.iter().collect();
    if major {
        all.extend(MAJOR.iter().chain(PLAN));
    }
    let mut body = fields::to_patch(&all, &form);
    body["level"] = json!(if major { "major" } else { "general" });
    chosen_sector(&form, &mut body);
    let (status, answer) = outcome(
        crate::api::hazards::edit(
            state.clone(),
            s.caller.clone(),
            req.clone(),
            web::Path::from(id.clone()),
            crate::http::json::Json(body),
        )
        .await,
    )
    .await;
    if (200..300).contains(&status) {
        return see_other(&format!("{back}?done=edited"));
    }
    let errors = report_form_errors(status, &answer);
    render_status(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        &edit_page(
            &s,
            &id,
            current,
            &form,
            errors,
            None,
            sector_choices(&state).await,
            &view_sectors(&view),
        ),
    )
}

/// The errors of a refused report (filing or correcting it) by field of the form; one on a
/// field the form does not show as a text field (the level, the enterprise's choice made
/// elsewhere) is put beside the title, by name, so that none is lost.
fn report_form_errors(status: u16, answer: &Value) -> HashMap<String, String> {
    let mut errors = fields::problem_errors(answer);
    let shown: Vec<&str> = GENERAL
        .iter()
        .chain(MAJOR)
        .chain(PLAN)
        .map(|f| f.name)
        .chain(["enterprise_id", "sectors"])
        .collect();
    let hidden: Vec<String> = errors
        .iter()
        .filter(|(k, _)| !shown.contains(&k.as_str()))
        .map(|(k, m)| {
            let label = match k.as_str() {
                "level" => "隐患等级".to_string(),
                other => fields::field_label(other),
            };
            format!("{label}：{m}")
        })
        .collect();
    if errors.is_empty() || !hidden.is_empty() {
        let mut msg = refusal(status, answer);
        if !hidden.is_empty() {
            msg = format!("{msg} {}", hidden.join("；"));
        }
        if let Some(own) = errors.get("title") {
            msg = format!("{own}；{msg}");
        }
        errors.insert("title".into(), msg);
    }
    errors
}

// --- one hazard ------------------------------------------------------------------------------

pub struct HazardPageView {
    id: String,
    title: String,
    ledger_no: String,
    status: &'static str,
    level: &'static str,
    enterprise: String,
    street: String,
    department: String,
    location: String,
    description: String,
    deadline: String,
    timing: String,
    overdue: bool,
    responsible: String,
    /// 五落实 of a 重大 hazard, each part in place (✓) or not (✗); empty for a 一般 one.
    five: String,
    /// When an extension may be asked for (T9), while the deadline runs; empty otherwise.
    extension_window: String,
    flags: Vec<&'static str>,
    /// Id, label, and whether the user may remove it.
    photos: Vec<(String, String, bool)>,
    listed: bool,
    /// The extension request waiting for a decision: date asked for, reason, interim measures.
    extension: Option<String>,
    /// The report's other contents (发现日期, 类别, 来源, …; for 重大 the three blocks of the
    /// report, L7), for whoever decides on it.
    report: Vec<(&'static str, String)>,
    /// The 治理方案's six parts (L8), when one is filed.
    plan: Vec<(&'static str, String)>,
    /// What the deciders read besides: the listing's terms, the newest completion report and
    /// the newest written explanation of lateness, each as (heading, rows).
    sections: Vec<(&'static str, Vec<(&'static str, String)>)>,
}

pub struct FormView {
    action: &'static str,
    title: &'static str,
    button: &'static str,
    open: bool,
    error: Option<String>,
    fields: Vec<FieldView>,
}

#[derive(Template)]
#[template(path = "web/detail.html")]
struct DetailPage {
    user: Option<UserView>,
    flash: Option<String>,
    error: Option<String>,
    csrf: String,
    h: HazardPageView,
    /// A draft or returned report the caller may correct (`/hazards/{id}/edit`).
    can_edit: bool,
    can_upload: bool,
    /// The enterprise's users upload every kind; an official a finding's photo or other
    /// evidence (`policy::may_upload_kind`).
    all_kinds: bool,
    upload_error: Option<String>,
    forms: Vec<FormView>,
    /// Where the forms post (`{form_base}/do/{action}`).
    form_base: String,
    /// (what, when, who, note)
    timeline: Vec<(String, String, String, String)>,
}

fn flag_label(f: &str) -> &'static str {
    match f {
        "regulator_report_late" => "重大隐患报告迟报",
        "congress_report_overdue" => "未按时向职工大会/职代会报告",
        "congress_completion_missing" => "销号前未向职工大会/职代会报告治理结果",
        "congress_follow_up_overdue" => "联席会议后未按期向职工大会/职代会报告",
        "employee_notice_missing" => "未向从业人员通报",
        "interview_flagged" => "已列入约谈/通报",
        "overdue_explanation_missing" => "逾期未提交书面说明",
        _ => "其他提示",
    }
}

fn event_label(kind: &str) -> String {
    let label = match kind {
        "hazard.created" => "创建草稿",
        "hazard.edited" => "修改",
        "hazard.major_reported" => "补报重大事故隐患报告",
        "hazard.attachment_added" => "上传照片/文件",
        "hazard.submitted" => "提交报告",
        "hazard.returned" => "退回",
        "hazard.posted" => "上账",
        "hazard.voided" => "作废",
        "hazard.plan_filed" => "报送治理方案",
        "hazard.plan_acknowledged" => "治理方案备案",
        "hazard.rectification_started" => "开始整改",
        "hazard.progress" => "整改进展",
        "hazard.extension_requested" => "申请延期",
        "hazard.extension_decided" => "延期审批",
        "hazard.completion_reported" => "整改完成，申请验收",
        "hazard.closed" => "验收通过，销账",
        "hazard.acceptance_failed" => "验收不通过",
        "hazard.fixed_on_the_spot" => "即查即改",
        "hazard.congress_reported" => "向职工大会/职代会报告",
        "hazard.employee_notice" => "向从业人员通报",
        "hazard.overdue_explained" => "提交逾期书面说明",
        "hazard.street_changed" => "企业所属街道变更",
        "hazard.listed" => "挂牌督办",
        "hazard.listing_delivered" => "督办通知书送达",
        "hazard.escalated" => "提醒/督办",
        "email.sent" => "邮件已发送",
        "email.dead" => "邮件发送失败",
        "email.requeued" => "邮件重新发送",
        "tip.confirmed" => "举报经核实属实",
        other => return other.to_string(),
    };
    label.to_string()
}

fn event_note(e: &Value) -> String {
    let p = &e["payload"];
    let input = &p["input"];
    let said = |k: &str| {
        input[k]
            .as_str()
            .filter(|t| !t.is_empty())
            .map_or_else(String::new, |t| format!("：{t}"))
    };
    match e["kind"].as_str() {
        Some("hazard.extension_requested") => {
            let asked = input["requested_deadline"].as_str().unwrap_or("");
            return format!("申请延至 {asked}{}", said("reason"));
        }
        Some("hazard.extension_decided") => {
            let granted = p["changes"]["effective_deadline"]["after"].as_str();
            let result = match (input["approved"].as_bool(), granted) {
                (Some(true), Some(d)) => format!("同意，整改期限延至 {d}"),
                (Some(true), None) => "同意".to_string(),
                _ => "不同意".to_string(),
            };
            return format!("{result}{}", said("opinion"));
        }
        Some("hazard.posted") => {
            let changes = &p["changes"];
            let mut parts = Vec::new();
            if let Some(no) = changes["ledger_no"]["after"].as_str() {
                parts.push(format!("台账编号 {no}"));
            }
            if let Some(d) = input["deadline"].as_str() {
                parts.push(format!("整改期限 {d}"));
            }
            if let Some(level) = changes["level"]["after"].as_str() {
                let why = input["level_change_reason"].as_str().unwrap_or("");
                let why = if why.is_empty() {
                    String::new()
                } else {
                    format!("（{why}）")
                };
                parts.push(format!("等级核定为{}{why}", fields::level_label(level)));
            }
            return parts.join("，");
        }
        Some("hazard.progress") => {
            if let Some(pct) = input["percent"].as_i64() {
                return format!("完成 {pct}%{}", said("note"));
            }
        }
        _ => {}
    }
    for k in ["reason", "note", "deficiencies", "opinion", "summary"] {
        if let Some(t) = input[k].as_str().filter(|t| !t.is_empty()) {
            // A void's reason is a code (T5): 不属实 / 重复 / 误报 / 转出.
            let reason = fields::VOID_REASONS
                .iter()
                .find(|(code, _)| k == "reason" && *code == t)
                .map(|(_, name)| *name);
            return reason.unwrap_or(t).to_string();
        }
    }
    if let Some(step) = p["step"].as_str() {
        // A step is `offset@anchor` (days from the date the rule counts from).
        let rule = p["rule"].as_str().unwrap_or("");
        let title = crate::domain::escalation::Rule::parse(rule).map_or(rule, |r| r.title());
        return match step.split_once('@') {
            // The second overdue of a listed hazard counts from the deadline it missed.
            Some(("second", anchor)) => format!("{title}（再次逾期，整改期限 {anchor}）"),
            Some((offset, anchor)) => format!("{title}（{offset} 天，自 {anchor} 起算）"),
            None => format!("{title}（{step}）"),
        };
    }
    String::new()
}

/// The hazard (as the API shows it to this caller) and its ledger entries.
async fn load(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    caller: &Caller,
    id: &str,
) -> Result<(Value, Value), (u16, Value)> {
    let (status, view) = outcome(
        crate::api::hazards::get(
            state.clone(),
            caller.clone(),
            req.clone(),
            web::Path::from(id.to_string()),
        )
        .await,
    )
    .await;
    if status != 200 {
        return Err((status, view));
    }
    // The street's and the primary department's names, for people (the API answers codes).
    let mut view = view;
    let street = view["street"].as_str().unwrap_or_default().to_string();
    let department = view["departments"]["primary"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // And the uploaders' enterprises, so that 移除 is offered only where it is allowed.
    let uploaders: Vec<String> = view["attachments"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["uploaded_by"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let (names, uploader_enterprises) = state
        .db(move |c| {
            use crate::db::schema::{departments, streets, users};
            use diesel::prelude::*;
            let s: Option<String> = streets::table
                .find(&street)
                .select(streets::name)
                .get_result(c)
                .optional()?;
            let d: Option<String> = departments::table
                .find(&department)
                .select(departments::name)
                .get_result(c)
                .optional()?;
            let firms: HashMap<String, String> = users::table
                .filter(users::id.eq_any(&uploaders))
                .filter(users::enterprise_id.is_not_null())
                .select((users::id, users::enterprise_id.assume_not_null()))
                .load::<(String, String)>(c)?
                .into_iter()
                .collect();
            Ok(((s, d), firms))
        })
        .await
        .unwrap_or_default();
    if let (Some(s), Some(d)) = names {
        view["street_name"] = json!(s);
        view["departments"]["primary_name"] = json!(d);
    }
    if let Some(files) = view["attachments"].as_array_mut() {
        for f in files {
            let by = f["uploaded_by"].as_str();
            let firm = by
                .and_then(|u| uploader_enterprises.get(u))
                .map(String::as_str);
            f["removable"] = json!(crate::policy::may_remove_attachment(caller, by, firm));
        }
    }
    let (_, events) = outcome(
        crate::api::hazards::events(
            state.clone(),
            caller.clone(),
            web::Path::from(id.to_string()),
        )
        .await,
    )
    .await;
    Ok((view, events))
}

/// What a failed form sends back to the page: the action, what was typed, the errors.
struct Failed {
    action: String,
    values: HashMap<String, String>,
    errors: HashMap<String, String>,
    message: String,
}

/// Date fields that start at today's date.
const TODAY_FIELDS: [&str; 5] = [
    "completed_on",
    "accepted_on",
    "meeting_on",
    "posted_on",
    "discovered_on",
];

/// The report's contents beside the summary rows, as the hazard page lists them; empty ones
/// are left out.
/// The listing's terms (挂牌督办), the newest completion report (整改完成报告, for the
/// acceptance) and the newest written explanation of lateness (逾期书面说明), where present.
fn record_sections(view: &Value) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let rows = |v: &Value, fields: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        fields
            .iter()
            .filter_map(|(label, k)| {
                let t = match &v[*k] {
                    Value::String(s) => s.trim().to_string(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => (if *b { "是" } else { "否" }).to_string(),
                    _ => return None,
                };
                (!t.is_empty()).then_some((*label, t))
            })
            .collect()
    };
    let newest = |kind: &str| {
        view["records"]
            .as_array()
            .and_then(|r| r.iter().rev().find(|r| r["kind"] == kind))
            .cloned()
    };
    let mut out = Vec::new();
    let listing = &view["listing"];
    if listing.is_object() {
        let mut terms = rows(
            listing,
            &[
                ("督办文号", "doc_no"),
                ("督办单位", "supervising_unit"),
                ("督办完成时限", "complete_by"),
                ("治理方案报备期限", "plan_file_by"),
                ("挂牌日期", "listed_on"),
                ("签收人", "received_by"),
                ("摘牌日期", "delisted_on"),
            ],
        );
        if let Some(level) = listing["level"].as_str() {
            let level = if level == "city" { "市级" } else { "区级" };
            terms.insert(0, ("督办级别", level.to_string()));
        }
        out.push(("挂牌督办", terms));
    }
    if let Some(done) = newest("completion") {
        out.push((
            "整改完成报告",
            rows(
                &done,
                &[
                    ("完成日期", "completed_on"),
                    ("整改情况", "summary"),
                    ("实际资金（万元）", "actual_funds"),
                    ("自评意见", "self_assessment"),
                    ("复产申请", "resume_request"),
                ],
            ),
        ));
    }
    // The newest acceptance check: a pass closed the hazard (销账), a fail sent it back.
    if let Some(check) = newest("acceptance") {
        let mut check_rows = rows(
            &check,
            &[
                ("验收日期", "accepted_on"),
                ("验收意见", "opinion"),
                ("存在问题", "deficiencies"),
                ("同意复产", "resume_approved"),
            ],
        );
        let result = if check["result"] == "pass" {
            "通过"
        } else {
            "不通过，继续整改"
        };
        check_rows.insert(0, ("验收结论", result.to_string()));
        if let Some(cancel) = view["cancel_date"].as_str() {
            check_rows.push(("销账日期", cancel.to_string()));
        }
        out.push(("验收", check_rows));
    }
    if let Some(said) = newest("overdue_explanation") {
        out.push((
            "逾期书面说明",
            rows(
                &said,
                &[
                    ("逾期原因", "reason"),
                    ("已采取的措施", "measures"),
                    ("预计完成日期", "expected_completion_on"),
                    ("自何日起应说明", "owed_since"),
                ],
            ),
        ));
    }
    out
}

fn report_rows(view: &Value) -> Vec<(&'static str, String)> {
    let text = |k: &str| view[k].as_str().unwrap_or("").trim().to_string();
    let mut rows = vec![
        ("发现日期", text("discovered_on")),
        (
            "隐患类别",
            view["category"]
                .as_str()
                .map(|c| match crate::domain::hazard::category_name(c) {
                    Some(n) => format!("{c} {n}"),
                    None => c.to_string(),
                })
                .unwrap_or_default(),
        ),
        (
            "隐患来源",
            view["source"]
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .and_then(crate::domain::hazard::source_name)
                .unwrap_or("")
                .to_string(),
        ),
        ("治理方式", fields::handling_label(&text("handling"))),
        ("停产停业", fields::handling_label(&text("suspension"))),
        ("计划资金（万元）", text("planned_funds")),
    ];
    if view["deadline"] != view["effective_deadline"] {
        rows.push(("原整改期限", text("deadline")));
    }
    if view["level"] == "major" {
        let basis = &view["judgement_basis"];
        rows.extend([
            ("现状及其产生原因", text("status_and_cause")),
            ("危害程度和整改难易程度", text("severity_and_difficulty")),
            (
                "判定依据",
                format!(
                    "{} {}",
                    basis["standard"].as_str().unwrap_or(""),
                    basis["clause"].as_str().unwrap_or("")
                )
                .trim()
                .to_string(),
            ),
            ("临时管控措施", text("temporary_measures")),
            (
                "需政府协调",
                match view["needs_government_coordination"].as_bool() {
                    Some(true) => "是".into(),
                    Some(false) => "否".into(),
                    None => String::new(),
                },
            ),
            (
                "治理方案报送期限",
                // While listed, the notice's date binds (one plan, one date).
                match (
                    view["listing"]["plan_file_by"]
                        .as_str()
                        .filter(|_| view["listing"]["delisted_on"].is_null()),
                    view["plan_due_on"].as_str(),
                ) {
                    (Some(by), Some(due)) if due != by => {
                        format!("{by}（以挂牌督办通知书为准；报告所填 {due}）")
                    }
                    (Some(by), None) => format!("{by}（挂牌督办通知书）"),
                    _ => text("plan_due_on"),
                },
            ),
            ("双报告", dual_report_text(&view["dual_report"])),
        ]);
    }
    rows.retain(|(_, v)| !v.is_empty());
    rows
}

/// Where a 重大 hazard's 双报告 stands, for whoever closes it: the regulator half and the
/// congress half at discovery and at completion (a joint meeting's report counts once the
/// congress itself has heard it, L11).
fn dual_report_text(dual: &Value) -> String {
    let reports = dual["congress_reports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let stage = |s: &str| {
        let at: Vec<&Value> = reports.iter().filter(|r| r["stage"] == s).collect();
        if at.iter().any(|r| r["body"] != "joint_meeting") {
            "已报告"
        } else if at.is_empty() {
            "未报告"
        } else {
            "仅联席会议，待职工（代表）大会补充报告"
        }
    };
    format!(
        "向监管部门：{}；向职工（代表）大会：发现阶段{}，完成阶段{}{}",
        if dual["regulator"].is_null() {
            "未报告"
        } else {
            "已报告"
        },
        stage("discovery"),
        stage("completion"),
        if dual["complete"] == true {
            "（完整）"
        } else {
            ""
        }
    )
}

/// The 治理方案's six parts (L8) in their order; nothing when no plan is filed.
fn plan_rows(plan: &Value) -> Vec<(&'static str, String)> {
    let parts = [
        ("goal", "目标和任务"),
        ("methods", "方法和措施"),
        ("funds_materials", "经费和物资"),
        ("org_people", "机构和人员"),
        ("timeline", "时限和要求"),
        ("safety_and_emergency", "安全措施和应急预案"),
    ];
    parts
        .iter()
        .filter_map(|(k, label)| {
            let t = plan[*k].as_str()?.trim();
            (!t.is_empty()).then(|| (*label, t.to_string()))
        })
        .collect()
}

fn detail_page(
    s: &Session,
    today: NaiveDate,
    flash: Option<String>,
    view: &Value,
    events: &Value,
    failed: Option<Failed>,
    upload_error: Option<String>,
) -> DetailPage {
    let str_ = |k: &str| view[k].as_str().unwrap_or("").to_string();
    let mut permitted: Vec<&str> = view["permitted_actions"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // 送达/签收 of a listing's notice is recorded once, by the district office (T6).
    if s.caller.role == Role::DistrictOffice
        && view["listing"].is_object()
        && view["listing"]["received_at"].is_null()
        && view["listing"]["delisted_on"].is_null()
    {
        permitted.push("delivery");
    }
    // The six-part plan is a 重大 hazard's (L8); the API takes one for any level, the page
    // does not offer it where nobody asks for it.
    if view["level"] != "major" {
        permitted.retain(|a| !matches!(*a, "file_plan" | "acknowledge_plan"));
    }
    // A refusal of an action whose form the page no longer offers (another officer acted
    // first, the hazard closed meanwhile) is shown above the hazard instead.
    let error = failed
        .as_ref()
        .filter(|f| !permitted.contains(&f.action.as_str()))
        .map(|f| f.message.clone());
    let forms = ACTIONS
        .iter()
        .filter(|a| permitted.contains(&a.action))
        .map(|a| {
            let (values, errors, error, open) = match &failed {
                Some(f) if f.action == a.action => (
                    f.values.clone(),
                    f.errors.clone(),
                    Some(f.message.clone()),
                    true,
                ),
                _ => (
                    a.fields
                        .iter()
                        .filter_map(|f| {
                            if TODAY_FIELDS.contains(&f.name) {
                                return Some((f.name.to_string(), today.to_string()));
                            }
                            // The congress that hears it follows the headcount (L11).
                            if a.action == "congress_report" && f.name == "body" {
                                let body =
                                    view["dual_report"]["expected_congress_body"].as_str()?;
                                return Some((f.name.to_string(), body.to_string()));
                            }
                            // 上账 starts from the deadline the enterprise proposed.
                            if a.action == "post" && f.name == "deadline" {
                                let proposed = view["proposed_deadline"].as_str()?;
                                return Some((f.name.to_string(), proposed.to_string()));
                            }
                            // A plan filed again starts from the one on file.
                            let filed = view["plan"][f.name]
                                .as_str()
                                .filter(|_| a.action == "file_plan")?;
                            Some((f.name.to_string(), filed.to_string()))
                        })
                        .collect(),
                    HashMap::new(),
                    None,
                    false,
                ),
            };
            // A street officer posts 一般 hazards as they are: raising one to 重大 is the
            // department's (and lowering one too), so the level fields are not offered.
            let shown: Vec<_> = a
                .fields
                .iter()
                .filter(|f| {
                    !(a.action == "post"
                        && s.caller.role == Role::StreetOfficer
                        && (f.name == "level"
                            || f.name == "level_change_reason"
                            || f.name.starts_with("judgement_basis.")))
                })
                // The direct report (L3) is the safety officer's, of a 重大 report.
                .filter(|f| {
                    f.name != "direct_report"
                        || (s.caller.role == Role::EnterpriseSafetyOfficer
                            && view["level"] == "major")
                })
                .cloned()
                .collect();
            // Once the date asked for has passed, a request can only be refused (T9): the
            // decision form offers 否 alone and no date to grant.
            let asked_passed = a.action == "decide_extension"
                && view["pending_extension"]
                    .as_str()
                    .and_then(|d| d.parse::<NaiveDate>().ok())
                    .is_some_and(|d| d < today);
            let shown: Vec<_> = shown
                .into_iter()
                .filter(|f| !(asked_passed && f.name == "deadline"))
                .collect();
            let mut views = fields::views(&format!("{}-", a.action), &shown, &values, &errors);
            if asked_passed {
                for v in views.iter_mut().filter(|v| v.name == "approved") {
                    v.options.retain(|(value, _, _)| value != "true");
                }
            }
            FormView {
                action: a.action,
                title: a.title,
                button: a.button,
                open,
                error,
                fields: views,
            }
        })
        .collect();
    let days_overdue = view["days_overdue"].as_i64().unwrap_or(0);
    let status = view["status"].as_str().unwrap_or("");
    let open = !matches!(status, "closed" | "void");
    let timing = timing_text(open, view);
    let responsible = format!(
        "{} {}",
        str_("responsible_person"),
        str_("responsible_phone")
    );
    let h = HazardPageView {
        id: str_("id"),
        title: str_("title"),
        ledger_no: view["ledger_no"]
            .as_str()
            .unwrap_or("（未上账）")
            .to_string(),
        status: fields::status_label(status),
        level: fields::level_label(view["level"].as_str().unwrap_or("")),
        enterprise: view["enterprise"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        street: view["street_name"]
            .as_str()
            .map_or_else(|| str_("street"), str::to_string),
        department: view["departments"]["primary_name"]
            .as_str()
            .or(view["departments"]["primary"].as_str())
            .unwrap_or("")
            .to_string(),
        location: str_("location"),
        description: str_("description"),
        deadline: view["effective_deadline"]
            .as_str()
            .unwrap_or("未定")
            .to_string(),
        timing,
        overdue: open && days_overdue > 0,
        responsible,
        five: five_text(&view["five_implementations"]),
        extension_window: match (
            view["extension_window"]["opens_on"].as_str(),
            view["extension_window"]["closes_on"].as_str(),
        ) {
            (Some(from), Some(to)) => format!(
                "{from} 至 {to}（整改期限前最后 {} 个工作日，含期限当日）",
                view["extension_window"]["working_days"]
            ),
            _ => String::new(),
        },
        listed: view["listed"].as_bool().unwrap_or(false),
        extension: pending_extension_text(view),
        report: report_rows(view),
        plan: plan_rows(&view["plan"]),
        sections: {
            let mut sections = record_sections(view);
            // A returned report shows why, above everything the enterprise is to correct.
            if view["status"] == "returned"
                && let Some(reason) = events["items"].as_array().and_then(|items| {
                    items
                        .iter()
                        .rev()
                        .find(|e| e["kind"] == "hazard.returned")
                        .and_then(|e| e["payload"]["input"]["reason"].as_str())
                })
            {
                sections.insert(0, ("退回原因", vec![("退回意见", reason.to_string())]));
            }
            sections
        },
        flags: view["compliance_flags"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).map(flag_label).collect())
            .unwrap_or_default(),
        photos: view["attachments"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| {
                        let kind = match p["kind"].as_str() {
                            Some("before") => "整改前",
                            Some("after") => "整改后",
                            Some("report") => "评估报告",
                            Some("plan") => "治理方案文件",
                            Some("notice") => "公示材料",
                            _ => "其他",
                        };
                        (
                            p["id"].as_str().unwrap_or("").to_string(),
                            format!("{kind}：{}", p["file_name"].as_str().unwrap_or("")),
                            p["removable"] == true,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let timeline = events["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        event_label(e["kind"].as_str().unwrap_or("")),
                        crate::timefmt::minutes(e["at"].as_str().unwrap_or("")),
                        fields::role_label(e["role"].as_str().unwrap_or("")).to_string(),
                        event_note(e),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    DetailPage {
        user: Some(user_view(s)),
        flash,
        error,
        csrf: s.csrf.clone(),
        can_edit: may_edit(view),
        can_upload: open && crate::policy::may_upload(&s.caller).is_ok(),
        all_kinds: crate::policy::uploads_every_kind(&s.caller),
        upload_error,
        form_base: format!("/hazards/{}", h.id),
        h,
        forms,
        timeline,
    }
}

fn not_found_page(s: &Session) -> HttpResponse {
    render_status(
        StatusCode::NOT_FOUND,
        &ListPage {
            user: Some(user_view(s)),
            flash: Some("未找到该隐患，或它不在您的管辖范围内。".into()),
            heading: "未找到",
            sections: Vec::new(),
            tips_waiting: None,
        },
    )
}

pub async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    id: web::Path<String>,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    match load(&state, &req, &s.caller, &id).await {
        Ok((view, events)) => {
            // After an action, what the domain warned of in its ledger entry (the newest).
            let flash = flash(&req).map(|f| {
                let newest = events["items"].as_array().and_then(|a| a.last());
                match newest.filter(|_| req.query_string().contains("done=")) {
                    Some(e) => f + &warnings_text(&e["payload"]["warnings"]),
                    None => f,
                }
            });
            render(&detail_page(
                &s,
                state.clock.today(),
                flash,
                &view,
                &events,
                None,
                None,
            ))
        }
        Err(_) => not_found_page(&s),
    }
}

/// The warnings of an action (`payload.warnings` of its ledger entry), in Chinese.
fn warnings_text(warnings: &Value) -> String {
    let Some(codes) = warnings.as_array() else {
        return String::new();
    };
    codes
        .iter()
        .filter_map(Value::as_str)
        .map(|code| match code {
            "complete_by_differs_from_deadline" => {
                "注意：督办完成时间与整改期限不同，请核对。".to_string()
            }
            "plan_not_filed" => "注意：治理方案尚未报送。".to_string(),
            "completed_after_deadline" => "注意：完成日期晚于整改期限（逾期完成）。".to_string(),
            "regulator_report_late" => "注意：重大事故隐患报告晚于发现后的规定时限。".to_string(),
            "headcount_unknown" => {
                "注意：企业职工人数未登记，无法核对应向哪种会议报告。".to_string()
            }
            "congress_report_missing" => {
                "注意：尚未记录完成阶段向职工（代表）大会的报告。".to_string()
            }
            "congress_follow_up_pending" => {
                "注意：联席会议听取的报告尚未向职工（代表）大会补充报告。".to_string()
            }
            "employee_notice_missing" => {
                "注意：未记录向从业人员通报（信息公示），销账后不能再补记。".to_string()
            }
            other => format!("注意：{other}"),
        })
        .collect()
}

/// 五落实 as read on the page: 责任 ✓ · 措施 ✗ · …; empty when the view has none (一般).
fn five_text(five: &Value) -> String {
    if !five.is_object() {
        return String::new();
    }
    [
        ("责任", "responsibility"),
        ("措施", "measures"),
        ("资金", "funds"),
        ("时限", "time_limit"),
        ("预案", "emergency_plan"),
    ]
    .iter()
    .map(|(label, key)| {
        let mark = if five[*key] == true { "✓" } else { "✗" };
        format!("{label} {mark}")
    })
    .collect::<Vec<_>>()
    .join(" · ")
}

/// What the decider of a waiting extension request needs to read: the date asked for, the
/// reason and the measures meanwhile.
fn pending_extension_text(view: &Value) -> Option<String> {
    let asked = view["pending_extension"].as_str()?;
    let record = view["records"]
        .as_array()?
        .iter()
        .rev()
        .find(|r| r["kind"] == "extension")?;
    let text = |k: &str| record[k].as_str().unwrap_or("").to_string();
    Some(format!(
        "申请延期至 {asked}。理由：{}。期间管控措施：{}",
        text("reason"),
        text("interim_measures")
    ))
}

/// The id of the extension request waiting for a decision.
fn pending_extension_id(view: &Value) -> Option<String> {
    view["records"]
        .as_array()?
        .iter()
        .rev()
        .find(|r| r["kind"] == "extension")
        .and_then(|r| r["id"].as_str())
        .map(str::to_string)
}

async fn dispatch(
    action: &str,
    caller: Bearer,
    req: HttpRequest,
    id: String,
    eid: Option<String>,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    use crate::api::hazards as h;
    let p = web::Path::from(id.clone());
    match action {
        "submit" => h::submit(caller, req, p, body).await,
        "return" => h::return_hazard(caller, req, p, body).await,
        "post" => h::post(caller, req, p, body).await,
        "void" => h::void(caller, req, p, body).await,
        "file_plan" => h::file_plan(caller, req, p, body).await,
        "acknowledge_plan" => h::acknowledge_plan(caller, req, p, body).await,
        "start" => h::start(caller, req, p, body).await,
        "progress" => h::progress(caller, req, p, body).await,
        "request_extension" => h::request_extension(caller, req, p, body).await,
        "decide_extension" => {
            let eid = eid.ok_or_else(AppError::not_found)?;
            h::decide_extension(caller, req, web::Path::from((id, eid)), body).await
        }
        "complete" => h::completion(caller, req, p, body).await,
        "accept" => h::acceptance(caller, req, p, body).await,
        "quick_fix" => h::quick_fix(caller, req, p, body).await,
        "congress_report" => h::congress_report(caller, req, p, body).await,
        "employee_notice" => h::employee_notice(caller, req, p, body).await,
        "overdue_explanation" => h::overdue_explanation(caller, req, p, body).await,
        "list" => crate::api::listing::list(caller, req, p, body).await,
        "major_report" => h::major_report(caller, req, p, body).await,
        _ => Err(AppError::not_found()),
    }
}

pub async fn act(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let (id, action) = path.into_inner();
    let form = form.into_inner();
    let back = format!("/hazards/{id}");
    if !same(&s.csrf, get(&form, "csrf")) {
        return see_other(&format!("{back}?stale=1"));
    }
    let Some(spec) = fields::action_form(&action) else {
        return not_found_page(&s);
    };
    let Ok((view, _)) = load(&state, &req, &s.caller, &id).await else {
        return not_found_page(&s);
    };
    let eid = pending_extension_id(&view);
    let body = fields::to_json(&spec.fields.iter().collect::<Vec<_>>(), &form);
    req.extensions_mut().insert(FormJson);
    let result = match Bearer::from_token(&state, &s.token) {
        Ok(_) if action == "delivery" => {
            crate::api::listing::deliver(
                state.clone(),
                s.caller.clone(),
                req.clone(),
                web::Path::from(id.clone()),
                web::Bytes::from(body.to_string()),
            )
            .await
        }
        Ok(bearer) => {
            dispatch(
                &action,
                bearer,
                req.clone(),
                id.clone(),
                eid,
                web::Bytes::from(body.to_string()),
            )
            .await
        }
        Err(e) => Err(e),
    };
    let (status, answer) = outcome(result).await;
    if (200..300).contains(&status) {
        return see_other(&format!("{back}?done={action}"));
    }
    let errors = fields::problem_errors(&answer);
    // Requirements outside this form (a photo, the report's content) are named in the message.
    let elsewhere: Vec<String> = errors
        .iter()
        .filter(|(k, _)| !spec.fields.iter().any(|f| f.name == k.as_str()))
        .map(|(k, m)| format!("{}：{m}", fields::field_label(k)))
        .collect();
    let mut message = refusal(status, &answer);
    if !elsewhere.is_empty() {
        message = format!("{message} {}", elsewhere.join("；"));
    }
    let failed = Failed {
        action: action.clone(),
        values: form,
        errors,
        message,
    };
    match load(&state, &req, &s.caller, &id).await {
        Ok((view, events)) => render_status(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &detail_page(
                &s,
                state.clock.today(),
                None,
                &view,
                &events,
                Some(failed),
                None,
            ),
        ),
        Err(_) => not_found_page(&s),
    }
}

#[derive(Deserialize)]
pub struct CsrfQuery {
    csrf: Option<String>,
}

pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    id: web::Path<String>,
    q: web::Query<CsrfQuery>,
    form: Multipart,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let id = id.into_inner();
    if !same(&s.csrf, q.csrf.as_deref().unwrap_or("")) {
        return see_other(&format!("/hazards/{id}?stale=1"));
    }
    let (status, answer) = outcome(
        crate::api::attachments::upload(
            state.clone(),
            s.caller.clone(),
            web::Path::from(id.clone()),
            form,
        )
        .await,
    )
    .await;
    if status == 201 {
        return see_other(&format!("/hazards/{id}?done=photo"));
    }
    // The upload form has two fields: name the one at fault.
    let message = match fields::problem_errors(&answer).into_iter().next() {
        Some((field, m)) => {
            let label = if field == "kind" { "类别" } else { "文件" };
            format!("{label}{m}")
        }
        None => refusal(status, &answer),
    };
    refused_on_page(&state, &req, &s, &id, status, message).await
}

/// The hazard's page again with `message` about the photo form, under the answer's `status`.
async fn refused_on_page(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    s: &Session,
    id: &str,
    status: u16,
    message: String,
) -> HttpResponse {
    match load(state, req, &s.caller, id).await {
        Ok((view, events)) => render_status(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &detail_page(
                s,
                state.clock.today(),
                None,
                &view,
                &events,
                None,
                Some(message),
            ),
        ),
        Err(_) => not_found_page(s),
    }
}

/// Removes a photo or document uploaded by mistake (a draft's or a returned report's).
pub async fn remove_photo(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let (id, attachment) = path.into_inner();
    if !same(&s.csrf, get(&form, "csrf")) {
        return see_other(&format!("/hazards/{id}?stale=1"));
    }
    let (status, answer) = outcome(
        crate::api::attachments::remove(
            state.clone(),
            s.caller.clone(),
            req.clone(),
            web::Path::from(attachment),
        )
        .await,
    )
    .await;
    if (200..300).contains(&status) {
        return see_other(&format!("/hazards/{id}?done=photo_removed"));
    }
    let message = refusal(status, &answer);
    refused_on_page(&state, &req, &s, &id, status, message).await
}

pub async fn attachment(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    id: web::Path<String>,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    match crate::api::attachments::download(state, s.caller.clone(), id).await {
        Ok(r) => r,
        Err(_) => not_found_page(&s),
    }
}

// --- dashboard -------------------------------------------------------------------------------

pub struct Chart {
    title: String,
    svg: String,
    /// Column headers, then rows.
    head: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "web/dashboard.html")]
struct DashboardPage {
    user: Option<UserView>,
    flash: Option<String>,
    counts: Vec<(&'static str, i64)>,
    overdue: i64,
    charts: Vec<Chart>,
}

const STATUS_ORDER: [&str; 8] = [
    "draft",
    "submitted",
    "returned",
    "on_ledger",
    "in_rectification",
    "pending_acceptance",
    "closed",
    "void",
];

pub async fn dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    if !is_officer(&s.caller) {
        return see_other("/hazards");
    }
    let scope = crate::policy::hazard_scope(&s.caller);
    let today = state.clock.today();
    let figures = state
        .db(move |c| {
            use crate::db::dashboard as d;
            let street_list = crate::db::reference::list_streets(c)?;
            let department_list = crate::db::reference::list_departments(c)?;
            let street_codes: Vec<String> = street_list.iter().map(|s| s.code.clone()).collect();
            let department_codes: Vec<String> =
                department_list.iter().map(|d| d.code.clone()).collect();
            let statuses = d::by_status(c, &scope, &STATUS_ORDER)?;
            let streets = d::overdue_by_street(c, &scope, &street_codes, today)?;
            let majors = d::open_major_by_department(c, &scope, &department_codes)?;
            let mut months = Vec::new();
            let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
            for back in (0..6).rev() {
                let from = first
                    .checked_sub_months(chrono::Months::new(back))
                    .unwrap_or(first);
                let to = from
                    .checked_add_months(chrono::Months::new(1))
                    .unwrap_or(from + Duration::days(31));
                let (on_time, late) = d::closed_on_time_late(c, &scope, from, to)?;
                months.push((
                    format!("{}-{:02}", from.year(), from.month()),
                    on_time,
                    late,
                ));
            }
            let names: HashMap<String, String> = street_list
                .into_iter()
                .map(|s| (s.code, s.name))
                .chain(department_list.into_iter().map(|d| (d.code, d.name)))
                .collect();
            Ok((statuses, streets, majors, months, names))
        })
        .await;
    let Ok((statuses, streets, majors, months, names)) = figures else {
        return AppError::internal("dashboard").error_response();
    };
    let name = |code: &str| names.get(code).cloned().unwrap_or_else(|| code.to_string());
    let counts = statuses
        .iter()
        .map(|(st, n)| (fields::status_label(st), *n))
        .collect();
    let mut streets: Vec<(String, i64)> = streets
        .iter()
        .filter(|r| r.1 > 0)
        .map(|(k, n)| (name(k), *n))
        .collect();
    streets.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mut majors: Vec<(String, i64)> = majors
        .iter()
        .filter(|r| r.1 > 0)
        .map(|(k, n)| (name(k), *n))
        .collect();
    majors.sort_by_key(|r| std::cmp::Reverse(r.1));
    let overdue = streets.iter().map(|r| r.1).sum();
    let table = |rows: &[(String, i64)]| {
        rows.iter()
            .map(|(k, n)| vec![k.clone(), n.to_string()])
            .collect()
    };
    let charts = vec![
        Chart {
            title: "逾期隐患（按街镇）".into(),
            svg: charts::bars("逾期隐患（按街镇）", &streets),
            head: vec!["街镇", "逾期"],
            rows: table(&streets),
        },
        Chart {
            title: "近六个月销账：按期与超期".into(),
            svg: charts::on_time_late("近六个月销账：按期与超期", &months),
            head: vec!["月份", "按期", "超期"],
            rows: months
                .iter()
                .map(|(m, a, b)| vec![m.clone(), a.to_string(), b.to_string()])
                .collect(),
        },
        Chart {
            title: "未销账重大隐患（按主管部门）".into(),
            svg: charts::bars("未销账重大隐患（按主管部门）", &majors),
            head: vec!["部门", "重大隐患"],
            rows: table(&majors),
        },
    ];
    render(&DashboardPage {
        user: Some(user_view(&s)),
        flash: None,
        counts,
        overdue,
        charts,
    })
}

/// The 挂牌督办通知书 of a listed hazard, printable (`?format=pdf` for the PDF).
pub async fn notice(
    state: web::Data<AppState>,
    req: HttpRequest,
    cookie: SessionCookie,
    id: web::Path<String>,
) -> HttpResponse {
    let s = match page_session(&state, &req, &cookie).await {
        Ok(s) => s,
        Err(page) => return page,
    };
    let Ok(q) =
        crate::http::query::from_query::<crate::api::listing::NoticeQuery>(req.query_string())
    else {
        return not_found_page(&s);
    };
    let q = crate::http::query::Query(q);
    match crate::api::listing::notice(state, s.caller.clone(), id, q).await {
        Ok(r) => r,
        Err(_) => not_found_page(&s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actions_warnings_are_told_in_chinese() {
        let said = warnings_text(&json!([
            "complete_by_differs_from_deadline",
            "plan_not_filed"
        ]));
        assert_eq!(
            said,
            "注意：督办完成时间与整改期限不同，请核对。注意：治理方案尚未报送。"
        );
        assert_eq!(warnings_text(&json!([])), "");
        assert_eq!(warnings_text(&Value::Null), "");
    }

    #[test]
    fn the_dual_report_reads_stage_by_stage() {
        let dual = json!({"regulator": {"at": "2026-03-02"}, "complete": false, "congress_reports": [
            {"stage": "discovery", "body": "workers_congress"},
            {"stage": "completion", "body": "joint_meeting"}]});
        assert_eq!(
            dual_report_text(&dual),
            "向监管部门：已报告；向职工（代表）大会：发现阶段已报告，完成阶段仅联席会议，待职工（代表）大会补充报告"
        );
        let none = json!({"regulator": null, "complete": false, "congress_reports": []});
        assert_eq!(
            dual_report_text(&none),
            "向监管部门：未报告；向职工（代表）大会：发现阶段未报告，完成阶段未报告"
        );
    }

    #[test]
    fn timing_reads_against_the_deadline() {
        let t = |v: Value| timing_text(true, &v);
        assert_eq!(
            t(json!({"status": "pending_acceptance", "days_overdue": 0, "days_left": null})),
            "已完成，待验收"
        );
        assert_eq!(
            t(json!({"status": "pending_acceptance", "days_overdue": 2})),
            "逾期 2 天"
        );
        assert_eq!(
            t(json!({"status": "on_ledger", "days_overdue": 0, "days_left": 0})),
            "今日到期"
        );
        assert_eq!(timing_text(false, &json!({"status": "closed"})), "");
    }

    #[test]
    fn five_implementations_read_as_marks() {
        assert_eq!(five_text(&Value::Null), "");
        let five = json!({"responsibility": true, "measures": false, "funds": true,
                          "time_limit": false, "emergency_plan": true, "complete": false});
        assert_eq!(
            five_text(&five),
            "责任 ✓ · 措施 ✗ · 资金 ✓ · 时限 ✗ · 预案 ✓"
        );
    }

    #[test]
    fn timeline_notes_name_escalations_in_chinese() {
        let e = json!({"payload": {"rule": "overdue_first", "step": "+1@2026-05-08"}});
        assert_eq!(
            event_note(&e),
            "已逾期未整改（企业须提交书面说明）（+1 天，自 2026-05-08 起算）"
        );
        let void = json!({"payload": {"input": {"reason": "false_report"}}});
        assert_eq!(event_note(&void), "误报");
        let anchor = chrono::NaiveDate::from_ymd_opt(2026, 4, 20).unwrap();
        let second = json!({"payload": {
            "rule": crate::domain::escalation::Rule::OverdueInterview.as_str(),
            "step": crate::domain::escalation::second_overdue_key(anchor),
        }});
        let asked = json!({"kind": "hazard.extension_requested", "payload": {"input": {
            "requested_deadline": "2026-05-31", "reason": "设备采购周期长"}}});
        assert_eq!(event_note(&asked), "申请延至 2026-05-31：设备采购周期长");
        let granted = json!({"kind": "hazard.extension_decided", "payload": {
            "input": {"approved": true, "opinion": "同意延期"},
            "changes": {"effective_deadline": {"before": "2026-04-30", "after": "2026-05-20"}}}});
        assert_eq!(
            event_note(&granted),
            "同意，整改期限延至 2026-05-20：同意延期"
        );
        let refused = json!({"kind": "hazard.extension_decided", "payload": {
            "input": {"approved": false, "opinion": "理由不充分"}}});
        assert_eq!(event_note(&refused), "不同意：理由不充分");
        let posted = json!({"kind": "hazard.posted", "payload": {
            "input": {"deadline": "2026-04-30", "level": "major", "level_change_reason": "涉氨"},
            "changes": {"ledger_no": {"before": null, "after": "SH-CN-YH-2026-000007"},
                        "level": {"before": "general", "after": "major"}}}});
        assert_eq!(
            event_note(&posted),
            "台账编号 SH-CN-YH-2026-000007，整改期限 2026-04-30，等级核定为重大（涉氨）"
        );
        let progress = json!({"kind": "hazard.progress", "payload": {
            "input": {"note": "传感器已到货", "percent": 60}}});
        assert_eq!(event_note(&progress), "完成 60%：传感器已到货");
        let note = event_note(&second);
        assert!(
            note.ends_with("（再次逾期，整改期限 2026-04-20）"),
            "{note}"
        );
        assert!(!note.contains("second"), "{note}");
    }

    #[test]
    fn the_decider_reads_the_waiting_extension_request() {
        let view = json!({"pending_extension": "2026-07-31", "records": [
            {"kind": "extension", "reason": "旧申请", "interim_measures": "旧措施"},
            {"kind": "extension", "reason": "设备采购周期长", "interim_measures": "停用该区域"}]});
        assert_eq!(
            pending_extension_text(&view).as_deref(),
            Some("申请延期至 2026-07-31。理由：设备采购周期长。期间管控措施：停用该区域")
        );
        assert_eq!(
            pending_extension_text(&json!({"pending_extension": null})),
            None
        );
    }

    #[test]
    fn the_page_reads_the_opening_date_from_the_domains_own_refusal() {
        use crate::domain::hazard::fixtures::{actor, d, facts};
        use crate::domain::hazard::{self, ExtensionRequestInput, Level, Policy, Role, Status};
        let mut f = facts(Status::InRectification, Level::General);
        f.effective_deadline = Some(d("2023-11-24"));
        let cal = crate::domain::calendar::tests::cal();
        let policy = Policy::default();
        let input = ExtensionRequestInput {
            reason: Some("管材到货延迟".into()),
            interim_measures: Some("停用该管段".into()),
            requested_deadline: Some(d("2023-12-29")),
        };
        let principal = actor(Role::EnterprisePrincipal);
        let err = hazard::request_extension(&f, &principal, &input, &cal, d("2023-10-09"), &policy)
            .unwrap_err();
        let body = crate::error::AppError::from(err).body();
        let opens = crate::domain::deadline::extension_window_opens_on(
            &cal,
            d("2023-11-24"),
            policy.extension_window_workdays,
        );
        assert_eq!(
            refusal(409, &body),
            format!(
                "{opens} 起才能申请延期：延期须在整改期限届满前的最后 {} 个工作日内申请。",
                policy.extension_window_workdays
            )
        );
    }
}
