//! Hazard work inside one transaction: load within scope, let the domain decide, persist the
//! outcome and its records, append the ledger entry, and build the view.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::{Caller, Org};
use crate::db::attachments::{self, AttachmentRow};
use crate::db::hazards::{self, HazardRow, RecordRow};
use crate::db::listings::{self, ListingRow};
use crate::db::schema::sectors;
use crate::db::{DbConn, ledger};
use crate::domain::calendar::WorkCalendar;
use crate::domain::deadline;
use crate::domain::hazard::{
    self, Actor, DraftInput, HazardFacts, Level, Outcome, Policy, Status, compliance_flags,
    permitted_actions_for,
};
use crate::domain::{DomainError, routing};
use crate::error::{AppError, AppResult, FieldError};
use crate::policy;

/// Who acts, when, and under which rules.
pub struct Env<'a> {
    pub caller: &'a Caller,
    pub now: DateTime<Utc>,
    pub today: NaiveDate,
    pub policy: &'a Policy,
    pub calendar: &'a WorkCalendar,
    /// Sector → primary department.
    pub routes: &'a SectorRoutes,
    /// The version the client last saw (`If-Match`), when it sent one.
    pub if_match: Option<i32>,
}

impl Env<'_> {
    /// The domain's view of the caller.
    pub fn actor(&self) -> Actor {
        let actor = Actor::new(self.caller.user_id.clone(), self.caller.role);
        match &self.caller.org {
            Org::Department(code) => actor.in_department(code.clone()),
            _ => actor,
        }
    }

    fn ledger_actor(&self) -> (&str, &str) {
        (self.caller.user_id.as_str(), self.caller.role.as_str())
    }
}

/// Sector → primary department, read from the reference data on first use and then kept in
/// memory: the sectors are seeded before the server starts and no endpoint changes them.
#[derive(Debug, Default)]
pub struct SectorRoutes(OnceLock<HashMap<String, String>>);

impl SectorRoutes {
    /// The routes, read once.
    pub fn get(&self, conn: &mut DbConn) -> QueryResult<&HashMap<String, String>> {
        if let Some(routes) = self.0.get() {
            return Ok(routes);
        }
        let routes = sectors::table
            .select((sectors::code, sectors::primary_department))
            .load::<(String, String)>(conn)?
            .into_iter()
            .collect();
        Ok(self.0.get_or_init(|| routes))
    }
}

/// The departments a hazard goes to: the primary first, then the copied ones.
pub fn route(
    conn: &mut DbConn,
    env: &Env<'_>,
    sectors: &[String],
) -> AppResult<(String, Vec<(String, bool)>)> {
    let r = routing::route(sectors, env.routes.get(conn)?)?;
    let mut departments = vec![(r.primary.clone(), true)];
    departments.extend(r.copied.into_iter().map(|d| (d, false)));
    Ok((r.primary, departments))
}

/// A check's outcome, its field errors added to `errors` (any other error ends the request).
fn gather<T>(errors: &mut Vec<FieldError>, checked: AppResult<T>) -> AppResult<Option<T>> {
    match checked {
        Ok(v) => Ok(Some(v)),
        Err(e)
            if e.status == actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
                && !e.errors.is_empty() =>
        {
            errors.extend(e.errors);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The fields of a hazard whose change the ledger records as before/after (the report's
/// content besides, see [`changed`]).
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
        "explanation_owed_on": row.explanation_owed_on,
    })
}

/// What an action changed, as {field: {before, after}}: the [`snapshot`] fields that differ,
/// and the report's `content` when it was rewritten (most transitions leave it as it was,
/// and its JSON is then not read).
fn changed(before: &HazardRow, after: &HazardRow) -> Value {
    let mut out = serde_json::Map::new();
    if let (Value::Object(b), Value::Object(a)) = (snapshot(before), snapshot(after)) {
        for (k, av) in a {
            let bv = b.get(&k).unwrap_or(&Value::Null);
            if *bv != av {
                out.insert(k, json!({ "before": bv, "after": av }));
            }
        }
    }
    if before.content != after.content {
        let parse = |s: &str| serde_json::from_str::<Value>(s).unwrap_or(Value::Null);
        let (b, a) = (parse(&before.content), parse(&after.content));
        if b != a {
            out.insert("content".into(), json!({ "before": b, "after": a }));
        }
    }
    Value::Object(out)
}

/// The enterprise as a hazard's view shows it.
#[derive(Debug, Clone)]
pub struct EnterpriseBrief {
    pub name: String,
    pub uscc: String,
    pub headcount: i32,
}

/// What the domain's facts and the hazard's view need besides the row: read once in the
/// transaction, and kept current by the writes made through it, so that the answer needs no
/// second read.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Oldest first, as [`hazards::records`] orders them.
    pub records: Vec<RecordRow>,
    pub files: Vec<AttachmentRow>,
    pub enterprise: EnterpriseBrief,
    /// In their order.
    pub sectors: Vec<String>,
    /// By code.
    pub copied: Vec<String>,
    pub listing: Option<ListingRow>,
}

impl Loaded {
    /// Reads everything about `row` that its facts and view need.
    pub fn load(conn: &mut DbConn, row: &HazardRow) -> AppResult<Self> {
        let (enterprise, listing) = hazards::enterprise_and_listing(conn, &row.id)?;
        let (sectors, copied) = hazards::routing(conn, &row.id)?;
        Ok(Self::from(hazards::Context {
            enterprise,
            listing,
            records: hazards::records(conn, &row.id)?,
            files: attachments::for_hazard(conn, &row.id)?,
            sectors,
            copied,
        }))
    }

    /// What the domain decides on.
    pub fn facts(&self, row: &HazardRow) -> AppResult<HazardFacts> {
        hazards::facts(
            row,
            &self.records,
            self.enterprise.headcount,
            attachments::facts(&self.files),
        )
        .map_err(AppError::internal)
    }

    /// Adds a record to the hazard.
    pub fn add_record(
        &mut self,
        conn: &mut DbConn,
        hazard_id: &str,
        kind: &str,
        payload: &Value,
        by: Option<&str>,
        at: chrono::NaiveDateTime,
    ) -> AppResult<RecordRow> {
        let rec = hazards::add_record(conn, hazard_id, kind, payload, by, at)?;
        self.records.push(rec.clone());
        self.records
            .sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(rec)
    }

    /// Replaces a record's payload.
    pub fn set_record_payload(
        &mut self,
        conn: &mut DbConn,
        id: &str,
        payload: &Value,
    ) -> AppResult<()> {
        hazards::set_record_payload(conn, id, payload)?;
        if let Some(r) = self.records.iter_mut().find(|r| r.id == id) {
            r.payload = payload.to_string();
        }
        Ok(())
    }

    /// Replaces the hazard's sectors and departments.
    pub fn replace_routing(
        &mut self,
        conn: &mut DbConn,
        hazard_id: &str,
        sectors: &[String],
        departments: &[(String, bool)],
    ) -> AppResult<()> {
        hazards::replace_routing(conn, hazard_id, sectors, departments)?;
        self.set_routing(sectors, departments);
        Ok(())
    }

    fn set_routing(&mut self, sectors: &[String], departments: &[(String, bool)]) {
        self.sectors = sectors.to_vec();
        let mut copied: Vec<String> = departments
            .iter()
            .filter(|(_, primary)| !primary)
            .map(|(d, _)| d.clone())
            .collect();
        copied.sort();
        self.copied = copied;
    }

    /// Records a new listing.
    pub fn insert_listing(&mut self, conn: &mut DbConn, listing: ListingRow) -> AppResult<()> {
        listings::insert(conn, &listing)?;
        self.listing = Some(listing);
        Ok(())
    }

    /// An approved extension from `from` to `to` moves a listing's 督办完成时限 that followed
    /// the deadline (on or after `from`): the district office (which decides a listed hazard's
    /// extension) grants the time, and the notice may not order the work done before the
    /// deadline in force. A stricter date the district office set before the deadline stays.
    /// Answers the date moved, if any.
    pub fn extend_listing(
        &mut self,
        conn: &mut DbConn,
        hazard_id: &str,
        from: Option<NaiveDate>,
        to: NaiveDate,
    ) -> AppResult<Option<NaiveDate>> {
        let Some(l) = self.listing.as_mut().filter(|l| {
            l.delisted_on.is_none()
                && l.complete_by < to
                && from.is_none_or(|from| l.complete_by >= from)
        }) else {
            return Ok(None);
        };
        listings::set_complete_by(conn, hazard_id, to)?;
        let before = l.complete_by;
        l.complete_by = to;
        Ok(Some(before))
    }

    /// Ends the supervision of a listed hazard.
    fn delist(&mut self, conn: &mut DbConn, hazard_id: &str, on: NaiveDate) -> AppResult<()> {
        listings::delist(conn, hazard_id, on)?;
        if let Some(l) = self.listing.as_mut().filter(|l| l.delisted_on.is_none()) {
            l.delisted_on = Some(on);
        }
        Ok(())
    }
}

impl From<hazards::Context> for Loaded {
    fn from(c: hazards::Context) -> Self {
        let (name, uscc, headcount) = c.enterprise;
        Self {
            records: c.records,
            files: c.files,
            enterprise: EnterpriseBrief {
                name,
                uscc,
                headcount,
            },
            sectors: c.sectors,
            copied: c.copied,
            listing: c.listing,
        }
    }
}

/// What a hazard created in this transaction has besides its row.
pub fn loaded_new(
    enterprise: EnterpriseBrief,
    sectors: &[String],
    departments: &[(String, bool)],
) -> Loaded {
    let mut loaded = Loaded {
        records: Vec::new(),
        files: Vec::new(),
        enterprise,
        sectors: Vec::new(),
        copied: Vec::new(),
        listing: None,
    };
    loaded.set_routing(sectors, departments);
    loaded
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
    if out.extension_approved.is_some() || out.extension_lapsed {
        row.pending_extension = None;
    }
    if out.explanation_owed_on.is_some() {
        row.explanation_owed_on = out.explanation_owed_on;
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
    // A 即查即改 (T13) from a draft is reported and done at once: that day is its report's date.
    let quick_fix = out.status == Status::PendingAcceptance && previous == "draft";
    if (out.status == Status::Submitted && previous != "submitted") || quick_fix {
        // The report's date is its first submission: a report returned for correction and
        // sent again was not late for having been corrected (regulator_report_late, the
        // congress report's 30 days).
        if row.submitted_on.is_none() {
            row.submitted_at = Some(env.now.naive_utc());
            row.submitted_on = Some(env.today);
        }
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

/// The decision on a hazard action without acting on it: the hazard in the caller's scope, the
/// `If-Match` version, and the domain's answer — what [`act`] checks before it writes, for a
/// request that turns out to change nothing.
pub fn decide(
    conn: &mut DbConn,
    env: &Env<'_>,
    id: &str,
    decide: impl FnOnce(&HazardFacts, &Actor) -> Result<Outcome, DomainError>,
) -> AppResult<(HazardRow, Outcome, Loaded)> {
    let scope = policy::hazard_scope(env.caller);
    let (row, context) =
        hazards::find_with_context(conn, &scope, id)?.ok_or_else(AppError::not_found)?;
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
    let loaded = Loaded::from(context);
    let facts = loaded.facts(&row)?;
    let outcome = decide(&facts, &env.actor())?;
    Ok((row, outcome, loaded))
}

/// One hazard action: decide, persist, record, chain. `effects` writes the action's own records
/// and answers what the ledger entry should carry besides the changes.
pub fn act(
    conn: &mut DbConn,
    env: &Env<'_>,
    id: &str,
    kind: &str,
    input: Value,
    decide_with: impl FnOnce(&HazardFacts, &Actor) -> Result<Outcome, DomainError>,
    effects: impl FnOnce(&mut DbConn, &mut HazardRow, &Outcome, &mut Loaded) -> AppResult<Value>,
) -> AppResult<(HazardRow, Outcome, Loaded)> {
    let (mut row, outcome, mut loaded) = decide(conn, env, id, decide_with)?;
    let original = row.clone();
    apply_outcome(conn, &mut row, &outcome, env)?;
    let extra = effects(conn, &mut row, &outcome, &mut loaded)?;
    if outcome.listed == Some(false) {
        // Closing a listed hazard ends its supervision; the ledger entry shows listed → false.
        loaded.delist(conn, &row.id, env.today)?;
    }
    row.version = original.version + 1;
    row.updated_at = env.now.naive_utc();
    if !hazards::update_if_version(conn, &original, &row)? {
        return Err(AppError::conflict(
            "concurrent_update",
            "Another request changed this hazard at the same time; reload it.",
        )
        .with("current_status", row.status.clone()));
    }
    let payload = json!({
        "changes": changed(&original, &row),
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
    Ok((row, outcome, loaded))
}

/// T1: a new draft from `draft`, for the caller's own enterprise or one within their scope,
/// routed, indexed for search and recorded in the ledger. Answers the row and what the view
/// needs, so the answer is built without reading again. A recurrence (`recurrence_of`) links
/// the closed hazard of the same enterprise, within the caller's scope, that came back.
pub fn create(
    conn: &mut DbConn,
    env: &Env<'_>,
    enterprise_id: Option<String>,
    recurrence_of: Option<String>,
    mut draft: DraftInput,
) -> AppResult<(HazardRow, Loaded)> {
    let caller = env.caller;
    // A role that may not file hazards is refused before its body is looked at (403, not 422).
    hazard::guard_create(caller.role)?;
    draft.content.tidy();
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
    // Every field's problem in one answer: the enterprise, the report, the recurrence and the
    // sectors' routing are checked before any of them fails the request.
    let mut errors = Vec::new();
    let scope = policy::enterprise_scope(caller);
    let enterprise = crate::db::enterprises::find(conn, &scope, &enterprise_id)?;
    match &enterprise {
        None => errors.push(FieldError::new(
            "enterprise_id",
            "no such enterprise within your scope",
        )),
        Some(e) if draft.content.sectors.is_empty() => draft.content.sectors = e.sectors.clone(),
        Some(_) => {}
    }
    gather(
        &mut errors,
        hazard::create(&env.actor(), &draft, env.today, env.policy).map_err(AppError::from),
    )?;
    if let Some(earlier) = &recurrence_of {
        let why = match hazards::find(conn, &policy::hazard_scope(caller), earlier)? {
            None => Some("no such hazard within your scope"),
            Some(h) if enterprise.as_ref().is_some_and(|e| h.enterprise_id != e.id) => {
                Some("must be a hazard of the same enterprise")
            }
            Some(h) if h.status != Status::Closed.as_str() => {
                Some("must be a closed hazard (an open one is still being rectified)")
            }
            Some(_) => None,
        };
        if let Some(why) = why {
            errors.push(FieldError::new("recurrence_of", why));
        }
    }
    let routed = if draft.content.sectors.is_empty() {
        None
    } else {
        gather(&mut errors, route(conn, env, &draft.content.sectors))?
    };
    let (Some(enterprise), Some((primary, departments)), true) =
        (enterprise, routed, errors.is_empty())
    else {
        return Err(AppError::validation(errors));
    };
    let now = env.now.naive_utc();
    let row = HazardRow {
        id: uuid::Uuid::now_v7().to_string(),
        ledger_no: None,
        enterprise_id: enterprise.id.clone(),
        street_code: enterprise.street.clone(),
        primary_department: primary,
        status: Status::Draft.as_str().into(),
        level: draft.level().as_str().into(),
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
        recurrence_of,
        version: 1,
        created_at: now,
        updated_at: now,
        employee_notice: false,
        interview_flagged_on: None,
        explanation_owed_on: None,
        filed_by_official: !caller.role.is_enterprise(),
    };
    let search_body = crate::db::search::body(
        &row.title,
        &row.description,
        &row.location,
        &enterprise.name,
    );
    hazards::insert(
        conn,
        &row,
        &draft.content.sectors,
        &departments,
        &search_body,
    )?;
    let payload = json!({
        "after": {"status": "draft", "level": row.level, "enterprise_id": row.enterprise_id,
                  "street": row.street_code, "departments": departments,
                  "recurrence_of": row.recurrence_of},
        "input": serde_json::to_value(&draft).map_err(AppError::internal)?,
        "version": 1,
    });
    record_in_ledger(conn, env, &row.id, "hazard.created", payload)?;
    let brief = EnterpriseBrief {
        name: enterprise.name.clone(),
        uscc: enterprise.uscc.clone(),
        headcount: enterprise.headcount,
    };
    let loaded = loaded_new(brief, &draft.content.sectors, &departments);
    Ok((row, loaded))
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
    /// T9: the days an extension may be asked for while the deadline runs — {opens_on,
    /// closes_on, working_days}: the last `rules.extension_window_workdays` working days up to and including
    /// the effective deadline; null once overdue (the window has closed), reported complete, closed or void.
    pub extension_window: Option<Value>,
    pub completed_on: Option<NaiveDate>,
    pub acceptance_due_on: Option<NaiveDate>,
    pub cancel_date: Option<NaiveDate>,
    /// The day resumption of a suspended unit was approved (the passing acceptance with
    /// `resume_approved`, L4); `suspension` keeps what the suspension was.
    pub resumed_on: Option<NaiveDate>,
    /// Since when a written explanation (书面说明) of lateness is owed; `None` when none is.
    pub explanation_owed_on: Option<NaiveDate>,
    pub listed: bool,
    pub listing: Option<ListingRow>,
    pub dual_report: Value,
    pub compliance_flags: Vec<&'static str>,
    /// 五落实 (L10) of a 重大 hazard; null for a 一般 one.
    pub five_implementations: Option<hazard::FiveImplementations>,
    pub records: Vec<Value>,
    pub attachments: Vec<AttachmentRow>,
    pub permitted_actions: Vec<&'static str>,
    pub reporter_id: String,
    /// Filed by an official (an inspection finding, a confirmed tip-off), not the enterprise.
    pub filed_by_official: bool,
    pub recurrence_of: Option<String>,
    pub version: i32,
    pub created_at: String,
    pub updated_at: String,
}

/// The actions the caller may take on the hazard today: those its role and the hazard's state
/// allow, less an extension request outside the window before the deadline (T9).
fn permitted_now(facts: &HazardFacts, env: &Env<'_>) -> Vec<&'static str> {
    let mut actions = permitted_actions_for(facts, &env.actor());
    if !hazard::extension_window_open(facts, env.calendar, env.today, env.policy) {
        actions.retain(|a| *a != "request_extension");
    }
    actions
}

/// A record as the view shows it: its payload with who recorded it and when.
fn record_json(r: &RecordRow) -> Value {
    let mut v = r.json();
    v["id"] = json!(r.id);
    v["recorded_at"] = json!(crate::timefmt::rfc3339(&r.created_at));
    v["recorded_by"] = json!(r.created_by);
    v
}

/// Builds the full view of a hazard for `caller`, reading what it needs.
pub fn view(conn: &mut DbConn, env: &Env<'_>, row: &HazardRow) -> AppResult<HazardView> {
    let loaded = Loaded::load(conn, row)?;
    view_of(env, row, &loaded)
}

/// Builds the full view of a hazard for `caller` from what the transaction has read and written.
pub fn view_of(env: &Env<'_>, row: &HazardRow, loaded: &Loaded) -> AppResult<HazardView> {
    let facts = loaded.facts(row)?;
    let records = &loaded.records;
    let EnterpriseBrief {
        name: e_name,
        uscc: e_uscc,
        headcount: e_headcount,
    } = &loaded.enterprise;
    let e_headcount = *e_headcount;
    let mut content = serde_json::to_value(row.content()).map_err(AppError::internal)?;
    content["sectors"] = json!(loaded.sectors);
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
    // Complete so far: the regulator half, the congress half at discovery (a joint meeting's
    // report counts once the congress itself has heard it) and, once closed, at completion.
    let complete = regulator.is_some()
        && facts.has_discovery_congress_report
        && facts.congress_follow_up_due.is_none()
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
    let days_overdue =
        facts
            .status
            .days_overdue(row.effective_deadline, row.completed_on, env.today);
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
        departments: json!({"primary": row.primary_department, "copied": loaded.copied}),
        content,
        plan_filed: row.plan_filed,
        plan_acknowledged: row.plan_acknowledged,
        deadline: row.deadline,
        effective_deadline: row.effective_deadline,
        overdue: days_overdue > 0,
        days_overdue,
        // While the deadline runs: null once overdue (0 is the deadline day itself;
        // `days_overdue` counts then) and once the work is reported complete (the clock
        // stopped at the completion).
        days_left: overdue_base
            .filter(|_| {
                days_overdue == 0
                    && matches!(facts.status, Status::OnLedger | Status::InRectification)
            })
            .map(|d| deadline::days_left(d, env.today)),
        late_rectification: row.late_rectification(env.today),
        submitted_at: row.submitted_at.as_ref().map(crate::timefmt::rfc3339),
        submitted_on: row.submitted_on,
        posted_at: row.posted_at.as_ref().map(crate::timefmt::rfc3339),
        posted_on: row.posted_on,
        pending_extension: row.pending_extension,
        extension_window: row
            .effective_deadline
            .filter(|_| {
                days_overdue == 0
                    && matches!(facts.status, Status::OnLedger | Status::InRectification)
            })
            .map(|d| {
                let opens = crate::domain::deadline::extension_window_opens_on(
                    env.calendar,
                    d,
                    env.policy.extension_window_workdays,
                );
                json!({"opens_on": opens, "closes_on": d,
                       "working_days": env.policy.extension_window_workdays})
            }),
        completed_on: row.completed_on,
        acceptance_due_on: row.acceptance_due_on,
        cancel_date: row.cancel_date,
        resumed_on: records
            .iter()
            .filter(|r| r.kind == "acceptance")
            .map(RecordRow::json)
            .filter(|a| a["result"] == "pass" && a["resume_approved"] == true)
            .find_map(|a| a["accepted_on"].as_str().and_then(|d| d.parse().ok())),
        // Owed while open; a hazard closed without it keeps the date, as its flag does (L10);
        // voiding ends the duty (the date stays on the row).
        explanation_owed_on: row
            .explanation_owed_on
            .filter(|_| row.status != Status::Void.as_str()),
        listed: row.listed,
        listing: loaded.listing.clone(),
        dual_report,
        compliance_flags: compliance_flags(&facts, env.today, env.policy),
        five_implementations: hazard::five_implementations(&facts),
        records: all_records,
        attachments: loaded.files.clone(),
        permitted_actions: permitted_now(&facts, env),
        reporter_id: row.reporter_id.clone(),
        filed_by_official: row.filed_by_official,
        recurrence_of: row.recurrence_of.clone(),
        version: row.version,
        created_at: crate::timefmt::rfc3339(&row.created_at),
        updated_at: crate::timefmt::rfc3339(&row.updated_at),
    })
}
