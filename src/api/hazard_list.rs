//! `GET /api/v1/hazards`: supervision by deadline — filters, full-text search, sorts and keyset
//! pagination, always within the caller's scope.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use base64::Engine;
use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Routes, checked_page_limit};
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::hazard_query::{self, Awaiting, Cursor, HazardFilter, Sort};
use crate::db::hazards::HazardRow;
use crate::db::schema::enterprises;
use crate::domain::FieldErrors;
use crate::domain::hazard::{COMPLIANCE_FLAGS, Policy};
use crate::error::{AppError, AppResult};
use crate::policy;

pub fn routes(r: &mut Routes) {
    r.get("/api/v1/hazards", list);
}

/// The query string of lists, exports and statistics.
#[derive(Debug, Default, Deserialize)]
pub struct FilterQuery {
    pub status: Option<String>,
    pub level: Option<String>,
    pub street: Option<String>,
    pub department: Option<String>,
    pub sector: Option<String>,
    pub enterprise: Option<String>,
    pub listed: Option<String>,
    pub overdue: Option<String>,
    pub flag: Option<String>,
    pub awaiting: Option<String>,
    pub due_within_days: Option<String>,
    pub discovered_from: Option<String>,
    pub discovered_to: Option<String>,
    pub posted_from: Option<String>,
    pub posted_to: Option<String>,
    pub deadline_from: Option<String>,
    pub deadline_to: Option<String>,
    pub closed_from: Option<String>,
    pub closed_to: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<crate::http::query::Whole>,
    pub format: Option<String>,
}

fn date(e: &mut FieldErrors, field: &str, v: &Option<String>) -> Option<NaiveDate> {
    let d = crate::timefmt::parse_date(v.as_deref()?);
    if d.is_none() {
        e.add(field, "a date YYYY-MM-DD");
    }
    d
}

/// A street, department or sector code of the reference data (`upper`: kept in upper case,
/// as street and department codes are); empty means no filter, an unknown one is named.
pub(crate) fn known_code(
    e: &mut FieldErrors,
    field: &str,
    v: &Option<String>,
    known: &std::collections::HashSet<String>,
    upper: bool,
) -> Option<String> {
    let v = v.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
    let v = if upper {
        v.to_uppercase()
    } else {
        v.to_string()
    };
    if known.contains(&v) {
        Some(v)
    } else {
        e.add(field, format!("unknown {field} code {v}"));
        None
    }
}

fn flag(e: &mut FieldErrors, field: &str, v: &Option<String>) -> Option<bool> {
    match v.as_deref()? {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => {
            e.add(field, "true or false");
            None
        }
    }
}

impl FilterQuery {
    /// Checks every parameter at once; `rules` are those the compliance flags follow.
    pub fn filter(&self, errors: &mut FieldErrors, rules: &Policy) -> HazardFilter {
        let mut f = HazardFilter {
            rules: rules.clone(),
            ..HazardFilter::default()
        };
        if let Some(list) = &self.status {
            for s in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                match s.parse() {
                    Ok(st) => f.status.push(st),
                    Err(_) => errors.add("status", format!("unknown status {s}")),
                }
            }
        }
        if let Some(l) = &self.level {
            match l.parse() {
                Ok(l) => f.level = Some(l),
                Err(_) => errors.add("level", "general or major"),
            }
        }
        let known = crate::seeds::known_codes();
        f.street = known_code(errors, "street", &self.street, &known.streets, true);
        // A supervising department by its code or its name (`区应急局`), as posting takes it.
        let department = self.department.as_deref().map(|d| {
            known
                .supervising_department(d)
                .map_or_else(|| d.to_string(), str::to_string)
        });
        f.department = known_code(errors, "department", &department, &known.departments, true);
        f.sector = known_code(errors, "sector", &self.sector, &known.sectors, false);
        f.enterprise = self.enterprise.clone();
        f.listed = flag(errors, "listed", &self.listed);
        f.overdue = flag(errors, "overdue", &self.overdue);
        if let Some(code) = self
            .flag
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            f.flag = COMPLIANCE_FLAGS
                .iter()
                .copied()
                .find(|known| *known == code);
            if f.flag.is_none() {
                errors.add("flag", format!("one of {}", COMPLIANCE_FLAGS.join(", ")));
            }
        }
        if let Some(code) = self
            .awaiting
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            f.awaiting = Awaiting::parse(code);
            if f.awaiting.is_none() {
                errors.add("awaiting", format!("one of {}", Awaiting::CODES.join(", ")));
            }
        }
        if let Some(n) = &self.due_within_days {
            match n.parse::<i64>() {
                Ok(n) if (0..=3660).contains(&n) => f.due_within_days = Some(n),
                _ => errors.add("due_within_days", "a whole number of days, 0–3660"),
            }
        }
        f.discovered_from = date(errors, "discovered_from", &self.discovered_from);
        f.discovered_to = date(errors, "discovered_to", &self.discovered_to);
        f.posted_from = date(errors, "posted_from", &self.posted_from);
        f.posted_to = date(errors, "posted_to", &self.posted_to);
        f.deadline_from = date(errors, "deadline_from", &self.deadline_from);
        f.deadline_to = date(errors, "deadline_to", &self.deadline_to);
        f.closed_from = date(errors, "closed_from", &self.closed_from);
        f.closed_to = date(errors, "closed_to", &self.closed_to);
        f.q = self.q.clone().filter(|q| !q.trim().is_empty());
        if f.q.as_ref().is_some_and(|q| q.chars().count() > 100) {
            errors.add("q", "at most 100 characters");
        } else if f
            .q
            .as_deref()
            .is_some_and(crate::domain::validate::has_control_characters)
        {
            // A NUL ended the full-text query early (a 500, an export cut off after its
            // header); tabs and line breaks, which texts hold, are searched for.
            errors.add("q", "must not contain control characters");
        }
        f
    }

    pub(crate) fn sort(&self, errors: &mut FieldErrors) -> Sort {
        match self.sort.as_deref() {
            None | Some("") => Sort::Created,
            Some(s) => Sort::parse(s).unwrap_or_else(|| {
                errors.add("sort", "created, deadline, days_overdue, posted or updated");
                Sort::Created
            }),
        }
    }

    fn cursor(&self, errors: &mut FieldErrors) -> Option<Cursor> {
        let text = self.cursor.as_deref()?;
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .ok()
            .and_then(|b| serde_json::from_slice::<Cursor>(&b).ok());
        if decoded.is_none() {
            errors.add("cursor", "not a cursor this service gave out");
        }
        decoded
    }
}

fn encode(c: &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(c).unwrap_or_default())
}

pub(crate) async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: crate::http::query::Query<FilterQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let mut errors = FieldErrors::new();
    let limit = checked_page_limit(q.limit.as_ref(), &mut errors);
    let filter = q.filter(&mut errors, &state.config.rules);
    let sort = q.sort(&mut errors);
    let cursor = q.cursor(&mut errors);
    // A cursor given out before cursors named their sort was of the default order.
    if cursor
        .as_ref()
        .map(|c| c.sort.as_deref().unwrap_or(Sort::Created.code()))
        .is_some_and(|given| given != sort.code())
    {
        errors.add(
            "cursor",
            "from a list in another order (sort); start again without it",
        );
    }
    errors.finish()?;
    let today = state.clock.today();
    let st = state.clone();
    let (items, next) = state
        .db(move |c| {
            let scope = policy::hazard_scope(&caller);
            let rows =
                hazard_query::page(c, &scope, &filter, sort, cursor.as_ref(), limit + 1, today)?;
            let (rows, more) = super::paginate(rows, limit, |r| {
                encode(&hazard_query::cursor_after(r, sort))
            });
            let names = enterprise_names(c, &rows)?;
            let flags = compliance_flags(c, &rows, today, &st.config.rules)?;
            let items: Vec<Value> = rows
                .iter()
                .zip(flags)
                .map(|(r, flags)| {
                    let mut item = summary(r, today, &names);
                    item["compliance_flags"] = json!(flags);
                    item
                })
                .collect();
            Ok((items, more))
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next_cursor": next })))
}

/// The compliance flags (双报告, employee notice) of each hazard of a page, from their records
/// read in one query.
fn compliance_flags(
    c: &mut crate::db::DbConn,
    rows: &[HazardRow],
    today: NaiveDate,
    policy: &crate::domain::hazard::Policy,
) -> AppResult<Vec<Vec<&'static str>>> {
    use crate::db::schema::hazard_records;
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut records: HashMap<String, Vec<crate::db::hazards::RecordRow>> = HashMap::new();
    for rec in hazard_records::table
        .filter(hazard_records::hazard_id.eq_any(ids))
        .filter(hazard_records::kind.eq_any(["congress_report", "employee_notice"]))
        .select(crate::db::hazards::RecordRow::as_select())
        .load(c)?
    {
        records.entry(rec.hazard_id.clone()).or_default().push(rec);
    }
    rows.iter()
        .map(|r| {
            let recs = records.get(&r.id).map_or(&[][..], Vec::as_slice);
            let facts = crate::db::hazards::facts(r, recs, 0, Default::default())
                .map_err(AppError::internal)?;
            Ok(crate::domain::hazard::compliance_flags(
                &facts, today, policy,
            ))
        })
        .collect()
}

/// Names of the enterprises of a page, in one query.
pub fn enterprise_names(
    c: &mut crate::db::DbConn,
    rows: &[HazardRow],
) -> QueryResult<HashMap<String, String>> {
    let ids: Vec<&str> = rows.iter().map(|r| r.enterprise_id.as_str()).collect();
    Ok(enterprises::table
        .filter(enterprises::id.eq_any(ids))
        .select((enterprises::id, enterprises::name))
        .load::<(String, String)>(c)?
        .into_iter()
        .collect())
}

/// The list form of a hazard.
pub fn summary(r: &HazardRow, today: NaiveDate, names: &HashMap<String, String>) -> Value {
    let running = hazard_query::RUNNING.contains(&r.status.as_str());
    let days_overdue = r.days_overdue(today);
    json!({
        "id": r.id, "ledger_no": r.ledger_no, "status": r.status, "level": r.level,
        "title": r.title, "location": r.location, "enterprise_id": r.enterprise_id,
        "reporter_id": r.reporter_id,
        "enterprise_name": names.get(&r.enterprise_id), "street": r.street_code,
        "primary_department": r.primary_department, "discovered_on": r.discovered_on,
        "posted_on": r.posted_on, "deadline": r.deadline, "effective_deadline": r.effective_deadline,
        "overdue": days_overdue > 0, "days_overdue": days_overdue,
        "days_left": r.effective_deadline.filter(|_| running && days_overdue == 0 && r.status != "pending_acceptance").map(|d| crate::domain::deadline::days_left(d, today)),
        "listed": r.listed, "cancel_date": r.cancel_date, "version": r.version,
        "updated_at": crate::timefmt::rfc3339(&r.updated_at),
    })
}
