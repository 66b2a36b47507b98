//! Hazard work inside one transaction: load within scope, let the domain decide, persist the
//! outcome and its records, append the ledger entry, and build the view.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::{Caller, Org};
use crate::db::attachments::{self, AttachmentRow};
use crate::db::hazards::{self, HazardRow, RecordRow};
use crate::db::schema::{enterprises, sectors};
use crate::db::{DbConn, ledger};
use crate::domain::calendar::WorkCalendar;
use crate::domain::deadline;
use crate::domain::hazard::{
    self, Actor, DraftInput, HazardFacts, Level, Outcome, Policy, Status, compliance_flags,
    permitted_actions_for,
};
use crate::domain::{DomainError, routing};
use crate::error::{AppError, AppResult};
use crate::policy;

/// Who acts, when, and under which rules.
pub struct Env<'a> {
    pub caller: &'a Caller,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    pub policy: &'a Policy,
    pub calendar: &'a WorkCalendar,
    /// The version the client last saw (`If-Match`), when it sent one.
    pub if_match: Option<i32>,
}

impl Env<'_> {
    /// The domain's view of the caller.
    pub fn actor(&self) -> Actor {
        Actor::new(self.caller.user_id.clone(), self.caller.role)
    }

    fn ledger_actor(&self) -> (&str, &str) {
        (self.caller.user_id.as_str(), self.caller.role.as_str())
    }
}

/// Sector → primary department, from the reference data.
pub fn sector_routes(conn: &mut DbConn) -> QueryResult<HashMap<String, String>> {
    Ok(sectors::table
        .select((sectors::code, sectors::primary_department))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// The departments a hazard goes to: the primary first, then the copied ones.
pub fn route(conn: &mut DbConn, sectors: &[String]) -> AppResult<(String, Vec<(String, bool)>)> {
    let routes = sector_routes(conn)?;
    let r = routing::route(sectors, &routes)?;
    let mut departments = vec![(r.primary.clone(), true)];
    departments.extend(r.copied.into_iter().map(|d| (d, false)));
    Ok((r.primary, departments))
}

/// The fields of a hazard whose change the ledger records as before/after.
fn snapshot(row: &HazardRow) -> Value {
    json!({
        "status": row.status,
        "level": row.level,
        "handling": row.handling,
        "suspension": row.suspension,
        "ledger_no": row.ledger_no,
        "deadline": row.deadline,
        "effective_deadline": row.effective_deadline,
        "plan_filed": row.plan_filed,
        "plan_acknowledged": row.plan_acknowledged,
        "pending_extension": row.pending_extension,
        "completed_on": row.completed_on,
        "acceptance_due_on": row.acceptance_due_on,
        "cancel_date": row.cancel_date,
        "listed": row.listed,
        "primary_department": row.primary_department,
        "content": serde_json::from_str::<Value>(&row.content).unwrap_or(Value::Null),
    })
}

/// The members of `after` that differ from `before`, as {field: {before, after}}.
fn changes(before: &Value, after: &Value) -> Value {
    let mut out = serde_json::Map::new();
    if let (Some(b), Some(a)) = (before.as_object(), after.as_object()) {
        for (k, av) in a {
            let bv = b.get(k).unwrap_or(&Value::Null);
            if bv != av {
                out.insert(k.clone(), json!({ "before": bv, "after": av }));
            }
        }
    }
    Value::Object(out)
}

/// Loads what the domain needs to decide about `row`.
pub fn load_facts(
    conn: &mut DbConn,
    row: &HazardRow,
) -> AppResult<(HazardFacts, Vec<RecordRow>, Vec<AttachmentRow>)> {
    let records = hazards::records(conn, &row.id)?;
    let files = attachments::for_hazard(conn, &row.id)?;
    let headcount = hazards::headcount(conn, &row.enterprise_id)?;
    let facts = hazards::facts(row, &records, headcount, attachments::facts(&files))
        .map_err(AppError::internal)?;
    Ok((facts, records, files))
}

/// Applies the domain's outcome to the row.
fn apply_outcome(
    conn: &mut DbConn,
    row: &mut HazardRow,
    out: &Outcome,
    env: &Env<'_>,
) -> AppResult<()> {
    let previous = row.status.clone();
    row.status = out.status.as_str().to_string();
    if let Some(level) = out.level {
        row.level = level.as_str().to_string();
    }
    if out.deadline.is_some() {
        row.deadline = out.deadline;
    }
    if out.effective_deadline.is_some() {
        row.effective_deadline = out.effective_deadline;
    }
    if let Some(v) = out.plan_filed {
        row.plan_filed = v;
    }
    if let Some(v) = out.plan_acknowledged {
        row.plan_acknowledged = v;
    }
    if out.extension_requested.is_some() {
        row.pending_extension = out.extension_requested;
    }
    if out.extension_approved.is_some() {
        row.pending_extension = None;
    }
    if out.completed_on.is_some() {
        row.completed_on = out.completed_on;
    }
    if out.clear_completion {
        row.completed_on = None;
        row.acceptance_due_on = None;
    }
    if out.acceptance_due_on.is_some() {
        row.acceptance_due_on = out.acceptance_due_on;
    }
    if out.cancel_date.is_some() {
        row.cancel_date = out.cancel_date;
    }
    if let Some(listed) = out.listed {
        row.listed = listed;
    }
    if out.status == Status::Submitted && previous != "submitted" {
        row.submitted_at = Some(env.now.naive_utc());
        row.submitted_on = Some(env.today);
        if row.reporter_id != env.caller.user_id {
            row.submitted_by = Some(env.caller.user_id.clone());
        }
    }
    if out.assign_ledger_no && row.ledger_no.is_none() {
        // The year of posting in Asia/Shanghai; the number comes from this transaction.
        row.ledger_no = Some(ledger::next_ledger_number(conn, env.today.year())?);
        row.posted_at = Some(env.now.naive_utc());
        row.posted_on = Some(env.today);
    }
    Ok(())
}

/// One hazard action: decide, persist, record, chain. `effects` writes the action's own records
/// and answers what the ledger entry should carry besides the changes.
pub fn act(
    conn: &mut DbConn,
    env: &Env<'_>,
    id: &str,
    kind: &str,
    input: Value,
    decide: impl FnOnce(&HazardFacts, &Actor) -> Result<Outcome, DomainError>,
    effects: impl FnOnce(&mut DbConn, &mut HazardRow, &Outcome) -> AppResult<Value>,
) -> AppResult<(HazardRow, Outcome)> {
    let scope = policy::hazard_scope(env.caller);
    let mut row = hazards::find(conn, &scope, id)?.ok_or_else(AppError::not_found)?;
    if let Some(expected) = env.if_match
        && expected != row.version
    {
        return Err(AppError::new(
            actix_web::http::StatusCode::PRECONDITION_FAILED,
            "version_mismatch",
            "The hazard changed since you read it; reload it.",
        )
        .with("current_version", row.version));
    }
    let (facts, _, _) = load_facts(conn, &row)?;
    let outcome = decide(&facts, &env.actor())?;
    let before = snapshot(&row);
    let read_version = row.version;
    apply_outcome(conn, &mut row, &outcome, env)?;
    let extra = effects(conn, &mut row, &outcome)?;
    if outcome.listed == Some(false) {
        // Closing a listed hazard ends its supervision; the ledger entry shows listed → false.
        crate::db::listings::delist(conn, &row.id, env.today)?;
    }
    row.version = read_version + 1;
    row.updated_at = env.now.naive_utc();
    if !hazards::update_if_version(conn, &row, read_version)? {
        return Err(AppError::conflict(
            "concurrent_update",
            "Another request changed this hazard at the same time; reload it.",
        )
        .with("current_status", row.status.clone()));
    }
    let payload = json!({
        "changes": changes(&before, &snapshot(&row)),
        "input": input,
        "record": extra,
        "warnings": outcome.warnings,
        "version": row.version,
    });
    ledger::append(
        conn,
        Some(&row.id),
        kind,
        Some(env.ledger_actor()),
        env.now,
        &payload,
    )?;
    Ok((row, outcome))
}

/// T1: files a draft for `enterprise_id` (implied for enterprise users; otherwise one within
/// the caller's scope), routes it by sector, indexes it for search and records
/// `hazard.created` in the ledger. Used by `POST /api/v1/hazards` and by confirming a tip.
pub fn create(
    conn: &mut DbConn,
    env: &Env<'_>,
    enterprise_id: Option<String>,
    mut draft: DraftInput,
) -> AppResult<HazardRow> {
    let caller = env.caller;
    let enterprise_id = match (&caller.org, enterprise_id) {
        (Org::Enterprise(own), None) => own.clone(),
        (Org::Enterprise(own), Some(given)) if *own == given => given,
        (Org::Enterprise(_), Some(_)) => {
            return Err(AppError::field(
                "enterprise_id",
                "enterprise users file for their own enterprise",
            ));
        }
        (_, None) => return Err(AppError::field("enterprise_id", "required")),
        (_, Some(given)) => given,
    };
    let scope = policy::enterprise_scope(caller);
    let enterprise = crate::db::enterprises::find(conn, &scope, &enterprise_id)?
        .ok_or_else(|| AppError::field("enterprise_id", "no such enterprise within your scope"))?;
    if draft.content.sectors.is_empty() {
        draft.content.sectors = enterprise.sectors.clone();
    }
    hazard::create(&env.actor(), &draft, env.today, env.policy)?;
    let (primary, departments) = route(conn, &draft.content.sectors)?;
    let now = env.now.naive_utc();
    let row = HazardRow {
        id: uuid::Uuid::now_v7().to_string(),
        ledger_no: None,
        enterprise_id: enterprise.id.clone(),
        street_code: enterprise.street.clone(),
        primary_department: primary,
        status: Status::Draft.as_str().into(),
        level: draft.level.as_str().into(),
        handling: draft.handling.as_str().into(),
        suspension: draft.suspension.as_str().into(),
        title: draft.content.title.clone().unwrap_or_default(),
        description: draft.content.description.clone().unwrap_or_default(),
        location: draft.content.location.clone().unwrap_or_default(),
        category: draft.content.category.clone(),
        source: draft.content.source,
        discovered_on: draft.content.discovered_on,
        content: serde_json::to_string(&draft.content).map_err(AppError::internal)?,
        reporter_id: caller.user_id.clone(),
        submitted_by: None,
        submitted_at: None,
        submitted_on: None,
        posted_at: None,
        posted_on: None,
        deadline: None,
        effective_deadline: None,
        plan_filed: false,
        plan_acknowledged: false,
        pending_extension: None,
        completed_on: None,
        acceptance_due_on: None,
        cancel_date: None,
        listed: false,
        recurrence_of: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    hazards::insert(conn, &row, &draft.content.sectors, &departments)?;
    crate::db::search::index(
        conn,
        &row.id,
        &crate::db::search::body(
            &row.title,
            &row.description,
            &row.location,
            &enterprise.name,
        ),
    )?;
    let payload = json!({
        "after": {"status": "draft", "level": row.level, "enterprise_id": row.enterprise_id,
                  "street": row.street_code, "departments": departments},
        "input": serde_json::to_value(&draft).map_err(AppError::internal)?,
        "version": 1,
    });
    record_in_ledger(conn, env, &row.id, "hazard.created", payload)?;
    Ok(row)
}

/// Appends a ledger entry for a change that is not a domain transition (create, edit, upload).
pub fn record_in_ledger(
    conn: &mut DbConn,
    env: &Env<'_>,
    hazard_id: &str,
    kind: &str,
    payload: Value,
) -> AppResult<()> {
    ledger::append(
        conn,
        Some(hazard_id),
        kind,
        Some(env.ledger_actor()),
        env.now,
        &payload,
    )?;
    Ok(())
}

/// A hazard as the API shows it.
#[derive(Debug, Serialize)]
pub struct HazardView {
    pub id: String,
    pub ledger_no: Option<String>,
    pub status: String,
    pub level: String,
    pub handling: String,
    pub suspension: String,
    pub enterprise: Value,
    pub street: String,
    pub departments: Value,
    #[serde(flatten)]
    pub content: Value,
    pub plan_filed: bool,
    pub plan_acknowledged: bool,
    pub deadline: Option<NaiveDate>,
    pub effective_deadline: Option<NaiveDate>,
    pub overdue: bool,
    pub days_overdue: i64,
    pub days_left: Option<i64>,
    pub late_rectification: bool,
    pub submitted_at: Option<String>,
    pub submitted_on: Option<NaiveDate>,
    pub posted_at: Option<String>,
    pub posted_on: Option<NaiveDate>,
    pub pending_extension: Option<NaiveDate>,
    pub completed_on: Option<NaiveDate>,
    pub acceptance_due_on: Option<NaiveDate>,
    pub cancel_date: Option<NaiveDate>,
    pub listed: bool,
    pub listing: Option<crate::db::listings::ListingRow>,
    pub dual_report: Value,
    pub compliance_flags: Vec<&'static str>,
    pub records: Vec<Value>,
    pub attachments: Vec<AttachmentRow>,
    pub permitted_actions: Vec<&'static str>,
    pub reporter_id: String,
    pub recurrence_of: Option<String>,
    pub version: i32,
    pub created_at: String,
    pub updated_at: String,
}

/// A record as the view shows it: its payload with who recorded it and when.
fn record_json(r: &RecordRow) -> Value {
    let mut v = r.json();
    v["id"] = json!(r.id);
    v["recorded_at"] = json!(crate::timefmt::rfc3339(&r.created_at));
    v["recorded_by"] = json!(r.created_by);
    v
}

/// Builds the full view of a hazard for `caller`.
pub fn view(conn: &mut DbConn, env: &Env<'_>, row: &HazardRow) -> AppResult<HazardView> {
    let (facts, records, files) = load_facts(conn, row)?;
    let (sector_list, copied) = hazards::routing(conn, &row.id)?;
    let (e_name, e_uscc, e_headcount): (String, String, i32) = enterprises::table
        .find(&row.enterprise_id)
        .select((enterprises::name, enterprises::uscc, enterprises::headcount))
        .first(conn)?;
    let mut content = serde_json::to_value(row.content()).map_err(AppError::internal)?;
    content["sectors"] = json!(sector_list);
    let by_kind = |kind: &str| -> Vec<Value> {
        records
            .iter()
            .filter(|r| r.kind == kind)
            .map(record_json)
            .collect()
    };
    let regulator = by_kind("regulator_report").into_iter().next_back();
    let congress = by_kind("congress_report");
    let notices = by_kind("employee_notice");
    let is_major = row.level == Level::Major.as_str();
    let complete = regulator.is_some()
        && facts.has_discovery_congress_report
        && (row.status != "closed" || facts.has_completion_congress_report);
    let dual_report = json!({
        "required": is_major,
        "regulator": regulator,
        "congress_reports": congress,
        "expected_congress_body": hazard::expected_body(u32::try_from(e_headcount).unwrap_or(0)),
        "employee_notices": notices,
        "complete": complete,
    });
    let overdue_base = facts
        .effective_deadline
        .filter(|_| facts.status.is_open() && facts.status != Status::Draft);
    let open = facts.status.is_open();
    let days_overdue = overdue_base.map_or(0, |d| deadline::days_overdue(d, env.today));
    let completion_for_stats = if row.status == "closed" {
        row.completed_on
    } else {
        None
    };
    let all_records: Vec<Value> = records
        .iter()
        .filter(|r| {
            !matches!(
                r.kind.as_str(),
                "regulator_report" | "congress_report" | "employee_notice"
            )
        })
        .map(|r| {
            let mut v = record_json(r);
            v["kind"] = json!(r.kind);
            v
        })
        .collect();
    Ok(HazardView {
        id: row.id.clone(),
        ledger_no: row.ledger_no.clone(),
        status: row.status.clone(),
        level: row.level.clone(),
        handling: row.handling.clone(),
        suspension: row.suspension.clone(),
        enterprise: json!({"id": row.enterprise_id, "name": e_name, "uscc": e_uscc, "headcount": e_headcount}),
        street: row.street_code.clone(),
        departments: json!({"primary": row.primary_department, "copied": copied}),
        content,
        plan_filed: row.plan_filed,
        plan_acknowledged: row.plan_acknowledged,
        deadline: row.deadline,
        effective_deadline: row.effective_deadline,
        overdue: days_overdue > 0,
        days_overdue,
        days_left: overdue_base
            .filter(|_| open)
            .map(|d| deadline::days_left(d, env.today)),
        late_rectification: row.deadline.is_some_and(|d| {
            row.status != "void" && deadline::late_rectification(d, completion_for_stats, env.today)
        }),
        submitted_at: row.submitted_at.as_ref().map(crate::timefmt::rfc3339),
        submitted_on: row.submitted_on,
        posted_at: row.posted_at.as_ref().map(crate::timefmt::rfc3339),
        posted_on: row.posted_on,
        pending_extension: row.pending_extension,
        completed_on: row.completed_on,
        acceptance_due_on: row.acceptance_due_on,
        cancel_date: row.cancel_date,
        listed: row.listed,
        listing: crate::db::listings::of(conn, &row.id)?,
        dual_report,
        compliance_flags: compliance_flags(&facts, env.today, env.policy),
        records: all_records,
        attachments: files,
        permitted_actions: permitted_actions_for(&facts, &env.actor()),
        reporter_id: row.reporter_id.clone(),
        recurrence_of: row.recurrence_of.clone(),
        version: row.version,
        created_at: crate::timefmt::rfc3339(&row.created_at),
        updated_at: crate::timefmt::rfc3339(&row.updated_at),
    })
}
