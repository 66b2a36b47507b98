//! `/api/v1/hazards`: filing, the transitions T1–T13, 治理方案, extensions, 双报告 records and
//! the hazard's ledger entries. Every change is one transaction with its ledger entry.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Routes;
use crate::app::AppState;
use crate::auth::{Bearer, Caller};
use crate::db::hazards::{self, HazardRow};
use crate::db::{self, DbConn, ledger};
use crate::domain::hazard::{
    self, AcceptanceInput, AcceptanceResult, AcknowledgePlanInput, Actor, CongressReportInput,
    DraftInput, EmployeeNoticeInput, HazardFacts, Outcome, OverdueExplanationInput, Plan,
    PostInput, ProgressInput, QuickFixInput, ReturnInput, StartInput, SubmitInput, VoidInput,
    VoidReason,
};
use crate::domain::hazard::{
    CompletionInput, ExtensionDecisionInput, ExtensionRequestInput, MajorReportInput, Role,
};
use crate::domain::{DomainError, FieldError, FieldErrors};
use crate::error::{AppError, AppResult};
use crate::mail;
use crate::policy;
use crate::service::hazards::{self as svc, Env, HazardView, Loaded};

pub fn routes(r: &mut Routes) {
    r.post("/api/v1/hazards", create)
        .get("/api/v1/hazards/{id}", get)
        .patch("/api/v1/hazards/{id}", edit)
        .post("/api/v1/hazards/{id}/submit", submit)
        .post("/api/v1/hazards/{id}/return", return_hazard)
        .post("/api/v1/hazards/{id}/post", post)
        .post("/api/v1/hazards/{id}/void", void)
        .put("/api/v1/hazards/{id}/plan", file_plan)
        .post("/api/v1/hazards/{id}/plan/acknowledge", acknowledge_plan)
        .post("/api/v1/hazards/{id}/start", start)
        .post("/api/v1/hazards/{id}/progress", progress)
        .post("/api/v1/hazards/{id}/extensions", request_extension)
        .post(
            "/api/v1/hazards/{id}/extensions/{eid}/decision",
            decide_extension,
        )
        .post("/api/v1/hazards/{id}/completion", completion)
        .post("/api/v1/hazards/{id}/acceptance", acceptance)
        .post("/api/v1/hazards/{id}/quick-fix", quick_fix)
        .post("/api/v1/hazards/{id}/congress-reports", congress_report)
        .post("/api/v1/hazards/{id}/employee-notice", employee_notice)
        .post(
            "/api/v1/hazards/{id}/overdue-explanation",
            overdue_explanation,
        )
        .post("/api/v1/hazards/{id}/major-report", major_report)
        .get("/api/v1/hazards/{id}/events", events);
}

/// The version a client last saw, from `If-Match: "N"` (weak tags accepted); `*` (any
/// current version, RFC 9110) checks none.
pub fn if_match(req: &HttpRequest) -> AppResult<Option<i32>> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse::<i32>()
        .map(Some)
        .map_err(|_| AppError::field("If-Match", "must be the ETag of the hazard, e.g. \"3\""))
}

/// The answer carrying a hazard: its view with an `ETag` of its version.
fn hazard_response(mut res: actix_web::HttpResponseBuilder, view: &HazardView) -> HttpResponse {
    res.insert_header((header::ETAG, format!("\"{}\"", view.version)))
        .json(view)
}

/// The `Env` of an action by `caller` now (also for tip triage from form pages).
pub fn env<'a>(state: &'a AppState, caller: &'a Caller, if_match: Option<i32>) -> Env<'a> {
    let now = state.clock.now();
    Env {
        caller,
        now,
        today: state.clock.today(),
        policy: &state.config.rules,
        calendar: &state.calendar,
        routes: &state.sector_routes,
        if_match,
    }
}

/// A hazard as a write left it, with the caller and the time the write ran under: the view is
/// built from it after the transaction, so that the writer's time goes to writing.
struct Written {
    caller: Caller,
    now: chrono::DateTime<chrono::Utc>,
    today: chrono::NaiveDate,
    row: HazardRow,
    loaded: Loaded,
}

impl Written {
    fn new(env: &Env<'_>, row: HazardRow, loaded: Loaded) -> Self {
        Self {
            caller: env.caller.clone(),
            now: env.now,
            today: env.today,
            row,
            loaded,
        }
    }

    /// The hazard's view as of the write.
    fn view(&self, state: &AppState) -> AppResult<HazardView> {
        let env = Env {
            now: self.now,
            today: self.today,
            ..env(state, &self.caller, None)
        };
        svc::view_of(&env, &self.row, &self.loaded)
    }
}

/// Runs one hazard action in a write transaction and answers the hazard. The caller is checked
/// first, on the same connection; then a body that did not parse is refused.
pub(super) async fn run<I, D, E>(
    bearer: Bearer,
    req: HttpRequest,
    id: String,
    kind: &'static str,
    input: AppResult<I>,
    decide: D,
    effects: E,
) -> AppResult<HttpResponse>
where
    I: serde::Serialize + Send + 'static,
    D: FnOnce(&HazardFacts, &Actor, &I, &Env<'_>) -> Result<Outcome, DomainError> + Send + 'static,
    E: FnOnce(&mut DbConn, &mut HazardRow, &Outcome, &I, &Env<'_>, &mut Loaded) -> AppResult<Value>
        + Send
        + 'static,
{
    let expected = if_match(&req);
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("app state missing"))?;
    let st = state.clone();
    let written = state
        .write(move |c| {
            let caller = bearer.caller(c)?;
            let input = input?;
            let env = env(&st, &caller, expected?);
            let input_json = serde_json::to_value(&input).map_err(AppError::internal)?;
            db::write_tx(c, |c| {
                let (row, _, loaded) = svc::act(
                    c,
                    &env,
                    &id,
                    kind,
                    input_json.clone(),
                    |facts, actor| decide(facts, actor, &input, &env),
                    |c, row, out, loaded| effects(c, row, out, &input, &env, loaded),
                )?;
                mail::events::hazard_event(
                    c,
                    &st.config,
                    env.now,
                    env.today,
                    kind,
                    &row,
                    &mail_input(kind, input_json, &loaded),
                )?;
                Ok(Written::new(&env, row, loaded))
            })
        })
        .await?;
    Ok(hazard_response(HttpResponse::Ok(), &written.view(&state)?))
}

/// The input an event's email reads: a posting that named the department it already had
/// moved nothing, and its email does not say it did; a listed hazard's extension decision
/// carries the listing's 督办完成时限 in force after it.
fn mail_input(kind: &str, mut input: Value, loaded: &Loaded) -> Value {
    // A listed hazard's extension: the 督办完成时限 in force after the decision.
    if kind == "hazard.extension_decided"
        && let Some(l) = loaded.listing.as_ref().filter(|l| l.delisted_on.is_none())
        && let Some(fields) = input.as_object_mut()
    {
        fields.insert("listing_complete_by".into(), json!(l.complete_by));
    }
    if kind == "hazard.posted" {
        let moved = loaded
            .records
            .iter()
            .rev()
            .find(|r| r.kind == "posting")
            .is_some_and(|r| r.json().get("moved_from").is_some());
        if !moved && let Some(fields) = input.as_object_mut() {
            fields.remove("responsible_department");
        }
    }
    input
}

/// A department named neither by a supervising department's code nor its name.
const UNKNOWN_DEPARTMENT: &str =
    "not a department (its code, e.g. YJJ, or its name, e.g. 区应急局)";

/// `decided`, with `extra` (a field the domain does not check) named beside the domain's own
/// field errors, in one 422; a refusal of the role (403) or the state (409) stays as it is.
fn with_field_error(
    decided: Result<Outcome, DomainError>,
    extra: Option<FieldError>,
) -> Result<Outcome, DomainError> {
    let Some(extra) = extra else {
        return decided;
    };
    match decided {
        Ok(_) => Err(DomainError::Validation {
            code: "validation_failed",
            errors: vec![extra],
        }),
        Err(DomainError::Validation { code, mut errors }) => {
            errors.push(extra);
            Err(DomainError::Validation { code, errors })
        }
        Err(other) => Err(other),
    }
}

/// Marks a pending extension request `lapsed` when the work is reported complete or the
/// hazard is voided (`because`): the deadline it would move no longer runs, and a request left
/// pending could never be decided on a closed record.
fn lapse_extensions(
    c: &mut DbConn,
    env: &Env<'_>,
    loaded: &mut Loaded,
    because: &str,
) -> AppResult<()> {
    let pending: Vec<_> = loaded
        .records
        .iter()
        .filter(|r| r.kind == "extension")
        .map(|r| (r.id.clone(), r.json()))
        .filter(|(_, p)| p["status"] == "pending")
        .collect();
    for (id, mut payload) in pending {
        payload["status"] = json!("lapsed");
        payload["lapsed"] = json!({
            "because": because,
            "at": crate::timefmt::rfc3339(&env.now.naive_utc()),
        });
        loaded.set_record_payload(c, &id, &payload)?;
    }
    Ok(())
}

/// Stores `input` as a record of `kind` and answers it for the ledger.
fn record<I: serde::Serialize>(
    c: &mut DbConn,
    row: &HazardRow,
    kind: &str,
    input: &I,
    env: &Env<'_>,
    loaded: &mut Loaded,
) -> AppResult<Value> {
    let payload = serde_json::to_value(input).map_err(AppError::internal)?;
    let rec = loaded.add_record(
        c,
        &row.id,
        kind,
        &payload,
        Some(&env.caller.user_id),
        env.now.naive_utc(),
    )?;
    Ok(json!({"id": rec.id, "kind": kind}))
}

// --- create, read, edit ------------------------------------------------------------------

#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct CreateBody {
    enterprise_id: Option<String>,
    /// The closed hazard of the same enterprise that this one is a recurrence of.
    #[serde(default)]
    recurrence_of: Option<String>,
    /// The street (DESIGN's T1 names it): the enterprise's, implied by it; checked when given.
    #[serde(default)]
    street: Option<String>,
    #[serde(flatten)]
    pub(crate) draft: DraftInput,
}

pub(crate) async fn create(
    state: web::Data<AppState>,
    bearer: Bearer,
    body: crate::http::json::Json<Value>,
) -> AppResult<HttpResponse> {
    let CreateBody {
        enterprise_id,
        recurrence_of,
        street,
        draft,
    } = crate::http::json::from_value_strict(body.into_inner())?;
    let st = state.clone();
    let written = state
        .write(move |c| {
            let caller = bearer.caller(c)?;
            let env = env(&st, &caller, None);
            db::write_tx(c, |c| {
                let (row, loaded) = svc::create(c, &env, enterprise_id, recurrence_of, draft)?;
                if let Some(given) = street.as_deref().map(str::trim).filter(|s| !s.is_empty())
                    && !given.eq_ignore_ascii_case(&row.street_code)
                {
                    // Refused in the transaction of the draft, which is rolled back with it.
                    return Err(AppError::field(
                        "street",
                        format!(
                            "a hazard is filed in its enterprise's street, {}",
                            row.street_code
                        ),
                    ));
                }
                Ok(Written::new(&env, row, loaded))
            })
        })
        .await?;
    let view = written.view(&state)?;
    let mut res = HttpResponse::Created();
    res.insert_header((header::LOCATION, format!("/api/v1/hazards/{}", view.id)));
    Ok(hazard_response(res, &view))
}

pub(crate) async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let st = state.clone();
    let view = state
        .db(move |c| {
            let env = env(&st, &caller, None);
            let row = hazards::find(c, &policy::hazard_scope(&caller), &id)?
                .ok_or_else(AppError::not_found)?;
            svc::view(c, &env, &row)
        })
        .await?;
    let etag = format!("\"{}\"", view.version);
    if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        })
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    Ok(hazard_response(HttpResponse::Ok(), &view))
}

/// The stored draft, and the stored draft with a PATCH laid over it (only the fields of a
/// draft may be named).
fn merge_draft(
    facts_level: &str,
    row: &HazardRow,
    patch: &Value,
) -> AppResult<(DraftInput, DraftInput)> {
    let mut stored = DraftInput {
        level: Some(facts_level.parse().map_err(AppError::internal)?),
        handling: row.handling.parse().map_err(AppError::internal)?,
        suspension: row.suspension.parse().map_err(AppError::internal)?,
        content: row.content(),
    };
    // As the merged draft will be (a report stored before money was tidied compares equal).
    stored.content.tidy();
    let mut merged = serde_json::to_value(&stored).map_err(AppError::internal)?;
    let fields = merged
        .as_object_mut()
        .expect("a struct serialises to an object");
    let mut errors = FieldErrors::new();
    for (k, v) in patch.as_object().into_iter().flatten() {
        if fields.contains_key(k) {
            fields.insert(k.clone(), v.clone());
        } else {
            errors.add(k.clone(), "not a field of a hazard report");
        }
    }
    errors.finish()?;
    // The PATCH's own members read as strictly as a new report: an unknown member inside
    // `plan` or `judgement_basis` (`plan.method`) is named, not dropped (what is stored and
    // not named by the PATCH is not judged again).
    let draft: DraftInput = crate::http::json::from_value(merged)?;
    crate::http::json::strict_members(patch, &draft)?;
    Ok((stored, draft))
}

pub(crate) async fn edit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: crate::http::json::Json<Value>,
) -> AppResult<HttpResponse> {
    let patch = body.into_inner();
    if !patch.is_object() {
        return Err(AppError::field(
            "body",
            "a JSON object of the fields to change",
        ));
    }
    let expected = if_match(&req)?;
    let id = id.into_inner();
    let st = state.clone();
    let written = state
        .write(move |c| {
            let env = env(&st, &caller, expected);
            db::write_tx(c, |c| {
                let current = hazards::find(c, &policy::hazard_scope(&caller), &id)?
                    .ok_or_else(AppError::not_found)?;
                let (stored, mut draft) = merge_draft(&current.level, &current, &patch)?;
                draft.content.tidy();
                if draft == stored {
                    // Nothing changes (`{}`, or the values it has): the domain still decides
                    // whether the caller may edit it, but no version and no ledger entry.
                    let (row, _, loaded) = svc::decide(c, &env, &id, |facts, actor| {
                        hazard::edit(facts, actor, &draft, env.today, env.policy)
                    })?;
                    return Ok(Written::new(&env, row, loaded));
                }
                let routed = if draft.content.sectors.is_empty() {
                    None
                } else {
                    Some(svc::route(c, &env, &draft.content.sectors)?)
                };
                let (row, _, loaded) = svc::act(
                    c,
                    &env,
                    &id,
                    "hazard.edited",
                    patch.clone(),
                    |facts, actor| hazard::edit(facts, actor, &draft, env.today, env.policy),
                    |c, row, _, l| {
                        row.level = draft.level().as_str().into();
                        row.handling = draft.handling.as_str().into();
                        row.suspension = draft.suspension.as_str().into();
                        row.title = draft.content.title.clone().unwrap_or_default();
                        row.description = draft.content.description.clone().unwrap_or_default();
                        row.location = draft.content.location.clone().unwrap_or_default();
                        row.category = draft.content.category.clone();
                        row.source = draft.content.source;
                        row.discovered_on = draft.content.discovered_on;
                        row.content =
                            serde_json::to_string(&draft.content).map_err(AppError::internal)?;
                        crate::db::search::index(
                            c,
                            &row.id,
                            &crate::db::search::body(
                                &row.title,
                                &row.description,
                                &row.location,
                                &l.enterprise.name,
                            ),
                        )?;
                        if let Some((primary, departments)) = &routed {
                            row.primary_department = primary.clone();
                            l.replace_routing(c, &row.id, &draft.content.sectors, departments)?;
                        }
                        Ok(Value::Null)
                    },
                )?;
                Ok(Written::new(&env, row, loaded))
            })
        })
        .await?;
    Ok(hazard_response(HttpResponse::Ok(), &written.view(&state)?))
}

// --- transitions -------------------------------------------------------------------------

/// A request body as JSON, `None` when it is empty (415 for another media type).
fn body_value(req: &HttpRequest, bytes: &web::Bytes) -> AppResult<Option<Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    // A page's form, already turned into JSON by the web layer, counts as JSON.
    if !crate::http::json::is_json(req) {
        return Err(crate::http::json::unsupported_media_type());
    }
    crate::http::json::from_slice(bytes).map(Some)
}

/// A transition body: empty means all defaults; otherwise JSON naming only `I`'s fields.
pub(super) fn parse<I: DeserializeOwned + Serialize + Default>(
    req: &HttpRequest,
    bytes: &web::Bytes,
) -> AppResult<I> {
    match body_value(req, bytes)? {
        None => Ok(I::default()),
        Some(v) => crate::http::json::from_value_strict(v),
    }
}

/// [`parse`] for a body whose members beyond `I`'s own the handler reads itself (a tip's
/// triage: the hazard fields of a confirmation).
pub(super) fn parse_open<I: DeserializeOwned + Default>(
    req: &HttpRequest,
    bytes: &web::Bytes,
) -> AppResult<I> {
    match body_value(req, bytes)? {
        None => Ok(I::default()),
        Some(v) => crate::http::json::from_value(v),
    }
}

/// A JSON body read after the caller's role was checked, answered as the `Json` extractor
/// answers: 415 for another media type, 400 for what is not JSON, 422 for fields that do not fit.
pub(super) fn parse_json<I: DeserializeOwned>(
    req: &HttpRequest,
    bytes: &web::Bytes,
) -> AppResult<I> {
    if !crate::http::json::is_json(req) {
        return Err(crate::http::json::unsupported_media_type());
    }
    crate::http::json::from_slice(bytes)
}

pub(super) type Id = web::Path<String>;

pub(crate) async fn submit(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<SubmitInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.submitted",
        input,
        |f, a, i, e| hazard::submit(f, a, i, e.today, e.policy),
        |c, row, out, i, e, l| {
            if !out.record_regulator_report {
                return Ok(Value::Null);
            }
            let report = regulator_report(row, out, i.direct_report, e, l);
            record(c, row, "regulator_report", &report, e, l)
        },
    )
    .await
}

/// The regulator half of the 双报告 as recorded: this service is the department's system (L2).
fn regulator_report(
    row: &HazardRow,
    out: &Outcome,
    direct_report: bool,
    e: &Env<'_>,
    l: &Loaded,
) -> Value {
    let content = row.content();
    json!({
        "reported_at": crate::timefmt::rfc3339(&e.now.naive_utc()),
        "reported_by": e.caller.user_id,
        "direct_report": direct_report,
        "departments": {"primary": row.primary_department, "copied": l.copied},
        "street": row.street_code,
        "status_and_cause": content.status_and_cause,
        "severity_and_difficulty": content.severity_and_difficulty,
        "plan": content.plan,
        "plan_due_on": content.plan_due_on,
        "judgement_basis": content.judgement_basis,
        "warnings": out.warnings,
    })
}

/// The 重大 report of a hazard the department raised to 重大 at posting (L7), with the
/// regulator half of the 双报告 recorded then; the blocks join the report's content.
pub(crate) async fn major_report(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<MajorReportInput>(&req, &bytes).map(|mut i| {
        crate::domain::validate::tidy_money(&mut i.planned_funds);
        i
    });
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.major_reported",
        input,
        |f, a, i, e| hazard::file_major_report(f, a, i, e.today, e.policy),
        |c, row, out, i, e, l| {
            let content = i.merged_into(&row.content());
            row.content = serde_json::to_string(&content).map_err(AppError::internal)?;
            let direct = e.caller.role == Role::EnterpriseSafetyOfficer;
            let report = regulator_report(row, out, direct, e, l);
            record(c, row, "regulator_report", &report, e, l)
        },
    )
    .await
}

pub(crate) async fn return_hazard(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<ReturnInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.returned",
        input,
        |f, a, i, e| hazard::return_hazard(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| record(c, row, "return", i, e, l),
    )
    .await
}

pub(crate) async fn post(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<PostInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.posted",
        input,
        |f, a, i, e| {
            // Checked with the domain's fields, so that one 422 names them all.
            let unknown = i
                .responsible_department
                .as_deref()
                .filter(|d| !d.trim().is_empty())
                .filter(|d| {
                    crate::seeds::known_codes()
                        .supervising_department(d)
                        .is_none()
                })
                .map(|_| FieldError::new("responsible_department", UNKNOWN_DEPARTMENT));
            with_field_error(hazard::post(f, a, i, e.today, e.policy), unknown)
        },
        |c, row, out, i, e, l| {
            let upgraded = out.level == Some(crate::domain::hazard::Level::Major);
            if i.judgement_basis.is_some() || upgraded {
                let mut content = row.content();
                if let Some(basis) = &i.judgement_basis {
                    content.judgement_basis = Some(basis.clone());
                }
                // Raised to 重大 here, the hazard owes its 治理方案 as a 重大 report does: by
                // plan_due_on, which the plan-filing reminders count down to.
                if upgraded && content.plan.is_none() && content.plan_due_on.is_none() {
                    let days = e.policy.plan_due_max_days.max(0) as u64;
                    content.plan_due_on = Some(e.today + chrono::Days::new(days));
                }
                row.content = serde_json::to_string(&content).map_err(AppError::internal)?;
            }
            // Named by its code or its name (the page's form), stored as the code.
            let responsible = match i.responsible_department.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(named) => Some(
                    crate::seeds::known_codes()
                        .supervising_department(named)
                        .ok_or_else(|| {
                            AppError::field("responsible_department", UNKNOWN_DEPARTMENT)
                        })?
                        .to_string(),
                ),
            };
            let mut moved_from = None;
            if let Some(dept) = responsible
                .as_deref()
                .filter(|d| **d != row.primary_department)
            {
                let (sectors, copied) = (l.sectors.clone(), l.copied.clone());
                let mut departments = vec![(dept.to_string(), true)];
                departments.extend(
                    copied
                        .into_iter()
                        .chain([row.primary_department.clone()])
                        .filter(|d| d != dept)
                        .map(|d| (d, false)),
                );
                l.replace_routing(c, &row.id, &sectors, &departments)?;
                moved_from = Some(std::mem::replace(
                    &mut row.primary_department,
                    dept.to_string(),
                ));
            }
            let mut posting = serde_json::to_value(i).map_err(AppError::internal)?;
            posting["responsible_department"] = json!(responsible);
            if let Some(from) = moved_from {
                posting["moved_from"] = json!(from);
            }
            posting["ledger_no"] = json!(row.ledger_no);
            posting["confirmed_level"] = json!(
                out.level
                    .map_or(row.level.clone(), |l| l.as_str().to_string())
            );
            record(c, row, "posting", &posting, e, l)
        },
    )
    .await
}

pub(crate) async fn void(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<VoidInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.voided",
        input,
        |f, a, i, e| hazard::void(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| {
            let mut i = i.clone();
            if i.reason == Some(VoidReason::Duplicate) {
                // Named by its id or its ledger number; recorded by its id.
                let named = i.duplicate_of.as_deref().unwrap_or_default();
                let scope = policy::hazard_scope(e.caller);
                let original =
                    hazards::find_by_id_or_ledger_no(c, &scope, named)?.ok_or_else(|| {
                        AppError::field("duplicate_of", "no such hazard within your scope")
                    })?;
                if original.id == row.id {
                    return Err(AppError::field(
                        "duplicate_of",
                        "must name another hazard, not this one",
                    ));
                }
                // The link leads to the hazard that is dealt with, not to another void one.
                if original.status == "void" {
                    return Err(AppError::field(
                        "duplicate_of",
                        "names a void hazard; name the one that is being dealt with",
                    ));
                }
                i.duplicate_of = Some(original.id);
            }
            lapse_extensions(c, e, l, "void")?;
            record(c, row, "void", &i, e, l)
        },
    )
    .await
}

pub(crate) async fn file_plan(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<Plan>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.plan_filed",
        input,
        |f, a, i, e| hazard::file_plan(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| {
            let mut content = row.content();
            content.plan = Some(i.clone());
            row.content = serde_json::to_string(&content).map_err(AppError::internal)?;
            record(c, row, "plan", i, e, l)
        },
    )
    .await
}

pub(crate) async fn acknowledge_plan(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<AcknowledgePlanInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.plan_acknowledged",
        input,
        |f, a, i, e| hazard::acknowledge_plan(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| record(c, row, "plan_acknowledgement", i, e, l),
    )
    .await
}

pub(crate) async fn start(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<StartInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.rectification_started",
        input,
        |f, a, i, e| hazard::start(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| record(c, row, "start", i, e, l),
    )
    .await
}

pub(crate) async fn progress(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<ProgressInput>(&req, &bytes).map(|mut i| {
        crate::domain::validate::tidy_money(&mut i.spent_funds);
        i
    });
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.progress",
        input,
        |f, a, i, e| hazard::record_progress(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| record(c, row, "progress", i, e, l),
    )
    .await
}

pub(crate) async fn request_extension(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<ExtensionRequestInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.extension_requested",
        input,
        |f, a, i, e| hazard::request_extension(f, a, i, e.calendar, e.today, e.policy),
        |c, row, _, i, e, l| {
            let mut payload = serde_json::to_value(i).map_err(AppError::internal)?;
            payload["status"] = json!("pending");
            payload["deadline_at_request"] = json!(row.effective_deadline);
            record(c, row, "extension", &payload, e, l)
        },
    )
    .await
}

pub(crate) async fn decide_extension(
    bearer: Bearer,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<ExtensionDecisionInput>(&req, &bytes);
    let (id, eid) = path.into_inner();
    let named = eid.clone();
    run(
        bearer,
        req,
        id,
        "hazard.extension_decided",
        input,
        // An extension request the hazard never had is missing, whatever the hazard's state.
        move |f, a, i, e| {
            if !f.extension_ids.contains(&named) {
                return Err(DomainError::NotFound {
                    code: "not_found",
                    message: "No such object.".into(),
                });
            }
            hazard::decide_extension(f, a, i, e.today, e.policy)
        },
        move |c, row, _, i, e, l| {
            let request = l
                .records
                .iter()
                .find(|r| r.id == eid && r.kind == "extension")
                .cloned()
                .ok_or_else(AppError::not_found)?;
            let mut payload = request.json();
            if payload["status"] != "pending" {
                return Err(AppError::conflict(
                    "extension_decided",
                    "This extension request has been decided already.",
                ));
            }
            payload["status"] = json!(if i.approved == Some(true) {
                "approved"
            } else {
                "denied"
            });
            payload["decision"] = json!({
                "approved": i.approved, "opinion": i.opinion, "decided_by": e.caller.user_id,
                "decided_at": crate::timefmt::rfc3339(&e.now.naive_utc()),
                "effective_deadline": row.effective_deadline,
            });
            l.set_record_payload(c, &request.id, &payload)?;
            let mut entry =
                json!({"id": request.id, "kind": "extension", "status": payload["status"]});
            let from = payload["deadline_at_request"]
                .as_str()
                .and_then(|d| d.parse::<chrono::NaiveDate>().ok());
            if i.approved == Some(true)
                && let Some(to) = row.effective_deadline
                && let Some(before) = l.extend_listing(c, &row.id, from, to)?
            {
                entry["listing_complete_by"] = json!({"before": before, "after": to});
            }
            Ok(entry)
        },
    )
    .await
}

pub(crate) async fn completion(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<CompletionInput>(&req, &bytes).map(|mut i| {
        crate::domain::validate::tidy_money(&mut i.actual_funds);
        i
    });
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.completion_reported",
        input,
        |f, a, i, e| hazard::complete(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| {
            lapse_extensions(c, e, l, "completion")?;
            record(c, row, "completion", i, e, l)
        },
    )
    .await
}

pub(crate) async fn acceptance(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    // T12: an opinion given without deficiencies lists them, and is recorded and mailed as them.
    let input = parse::<AcceptanceInput>(&req, &bytes).map(|mut i| {
        let blank = |t: &Option<String>| t.as_deref().is_none_or(|t| t.trim().is_empty());
        if i.result == Some(AcceptanceResult::Fail) && blank(&i.deficiencies) {
            i.deficiencies.clone_from(&i.opinion);
        }
        i
    });
    let kind = match input.as_ref().ok().and_then(|i| i.result.as_ref()) {
        Some(AcceptanceResult::Fail) => "hazard.acceptance_failed",
        _ => "hazard.closed",
    };
    run(
        bearer,
        req,
        id.into_inner(),
        kind,
        input,
        |f, a, i, e| hazard::accept(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| {
            let mut payload = serde_json::to_value(i).map_err(AppError::internal)?;
            payload["verifier"] = json!(e.caller.user_id);
            let cosigner = cosigner(c, row, i, e)?;
            match &cosigner {
                Some(u) => {
                    payload["cosigned_by"] = json!(u.id);
                    payload["cosigner_name"] = json!(u.display_name);
                }
                // A failed check is co-signed by nobody: no unchecked name is kept.
                None => {
                    if let Some(p) = payload.as_object_mut() {
                        p.remove("cosigned_by");
                    }
                }
            }
            let mut out = record(c, row, "acceptance", &payload, e, l)?;
            // The ledger entry names the co-signer as recorded, beside the text given.
            if let Some(u) = cosigner {
                out["cosigned_by"] = json!(u.id);
            }
            Ok(out)
        },
    )
    .await
}

/// The street officer a passed check names as co-signer (`cosigned_by`, a user id or username;
/// required for 重大 under `rules.require_street_cosign`): an active officer of the hazard's
/// street, neither its reporter nor the verifier — recorded by id, so that the ledger names a
/// person who exists, not a text.
fn cosigner(
    c: &mut DbConn,
    row: &HazardRow,
    input: &AcceptanceInput,
    env: &Env<'_>,
) -> AppResult<Option<crate::db::users::UserRow>> {
    let Some(named) = input
        .cosigned_by
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty() && input.result == Some(AcceptanceResult::Pass))
    else {
        return Ok(None);
    };
    let user = match crate::db::users::by_id(c, named)? {
        Some(u) => Some(u),
        None => crate::db::users::by_username(c, named)?,
    };
    let refuse = |why: &str| AppError::field("cosigned_by", why.to_string());
    let Some(user) = user.filter(|u| {
        u.active
            && u.role == Role::StreetOfficer.as_str()
            && u.street_code.as_deref() == Some(row.street_code.as_str())
    }) else {
        return Err(refuse(
            "must name an active street officer of the hazard's street (user id or username)",
        ));
    };
    if user.id == env.caller.user_id
        || user.id == row.reporter_id
        || row.submitted_by.as_deref() == Some(user.id.as_str())
    {
        return Err(refuse("must be another person than reporter and verifier"));
    }
    Ok(Some(user))
}

pub(crate) async fn quick_fix(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<QuickFixInput>(&req, &bytes).map(|mut i| {
        crate::domain::validate::tidy_money(&mut i.actual_funds);
        i
    });
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.fixed_on_the_spot",
        input,
        |f, a, i, e| hazard::quick_fix(f, a, i, e.today, e.policy),
        |c, row, out, i, e, l| {
            let mut payload = serde_json::to_value(i).map_err(AppError::internal)?;
            payload["quick_fix"] = json!(true);
            payload["completed_on"] = json!(out.completed_on);
            record(c, row, "completion", &payload, e, l)
        },
    )
    .await
}

pub(crate) async fn congress_report(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<CongressReportInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.congress_reported",
        input,
        |f, a, i, e| hazard::record_congress_report(f, a, i, e.today, e.policy),
        |c, row, out, i, e, l| {
            // DESIGN's congress record keeps an attachment: one of this hazard's.
            if let Some(a) = i.attachment_id.as_deref()
                && !l.files.iter().any(|f| f.id == a)
            {
                return Err(AppError::field(
                    "attachment_id",
                    "no attachment of this hazard (upload the minutes first)",
                ));
            }
            let mut payload = serde_json::to_value(i).map_err(AppError::internal)?;
            payload["warnings"] = json!(out.warnings);
            record(c, row, "congress_report", &payload, e, l)
        },
    )
    .await
}

pub(crate) async fn employee_notice(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<EmployeeNoticeInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.employee_notice",
        input,
        |f, a, i, e| hazard::record_employee_notice(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| {
            row.employee_notice = true;
            record(c, row, "employee_notice", i, e, l)
        },
    )
    .await
}

pub(crate) async fn overdue_explanation(
    bearer: Bearer,
    req: HttpRequest,
    id: Id,
    bytes: web::Bytes,
) -> AppResult<HttpResponse> {
    let input = parse::<OverdueExplanationInput>(&req, &bytes);
    run(
        bearer,
        req,
        id.into_inner(),
        "hazard.overdue_explained",
        input,
        |f, a, i, e| hazard::explain_overdue(f, a, i, e.today, e.policy),
        |c, row, _, i, e, l| {
            let mut payload = serde_json::to_value(i).map_err(AppError::internal)?;
            payload["owed_since"] = json!(row.explanation_owed_on);
            payload["days_overdue"] = json!(row.days_overdue(e.today));
            row.explanation_owed_on = None;
            record(c, row, "overdue_explanation", &payload, e, l)
        },
    )
    .await
}

// --- lists and events --------------------------------------------------------------------

/// A ledger entry as the enterprise it is about reads it: of a tip-off's entries only what was
/// decided (action and status). The tip's id (a UUIDv7, which carries the moment the tip was
/// filed) and the other tips it was merged with would help the enterprise find out who reported
/// it (L5: the reporter is protected); the district office and the ledger keep them.
/// Nor does it read the officials' mailboxes: the recipients of an escalation or an email
/// (officers', inspectors', the district office's addresses) are left out.
fn for_the_enterprise(mut entry: Value) -> Value {
    let kind = entry["kind"].as_str().unwrap_or("").to_string();
    if kind.starts_with("tip.") {
        let payload = &entry["payload"];
        entry["payload"] = json!({
            "action": payload["action"],
            "status": payload["status"],
        });
    } else if (kind == "hazard.escalated" || kind.starts_with("email."))
        && let Some(p) = entry["payload"].as_object_mut()
    {
        p.remove("recipients");
        p.remove("recipient");
        // An SMTP error quotes the address it refused.
        p.remove("error");
    }
    entry
}

pub(crate) async fn events(
    state: web::Data<AppState>,
    caller: Caller,
    id: Id,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let enterprise = caller.role.is_enterprise();
    let items = state
        .db(move |c| {
            hazards::find(c, &policy::hazard_scope(&caller), &id)?
                .ok_or_else(AppError::not_found)?;
            Ok(ledger::for_hazard(c, &id)?)
        })
        .await?;
    let items: Vec<Value> = items
        .into_iter()
        .map(super::ledger::entry_json)
        .map(|e| if enterprise { for_the_enterprise(e) } else { e })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
