//! Statistics: the supervision summary by street, department, sector or level, and an
//! enterprise's quarterly table (安监总局令第16号: quarterly by the 15th of the next quarter).

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Routes;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::hazard_query::{self, HazardFilter, RUNNING};
use crate::db::schema::{departments, hazard_records, hazard_sectors, hazards, sectors, streets};
use crate::db::{DbConn, enterprises};
use crate::domain::FieldErrors;
use crate::domain::validate::Wan;
use crate::error::{AppError, AppResult};
use crate::policy;

pub fn routes(r: &mut Routes) {
    r.get("/api/v1/stats/summary", summary)
        .get("/api/v1/stats/enterprise/{id}/quarterly", quarterly);
}

#[derive(Debug, Deserialize)]
struct SummaryQuery {
    group_by: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// One group's figures. The hazards counted are those posted (上账) within the period, in the
/// caller's scope; `posted = in_progress + closed + void` always holds.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Figures {
    pub key: String,
    pub name: String,
    pub posted: i64,
    pub in_progress: i64,
    pub closed: i64,
    pub void: i64,
    pub overdue_now: i64,
    pub closed_on_time: i64,
    pub closed_late: i64,
    pub avg_days_to_close: Option<f64>,
    pub major_dual_report_incomplete: i64,
    pub reconciled: bool,
    #[serde(skip)]
    days_to_close_total: i64,
}

/// The columns a summary needs of each hazard.
type Light = (
    String,
    String,
    String,
    String,
    String,
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

fn date(e: &mut FieldErrors, field: &str, v: Option<&str>) -> Option<NaiveDate> {
    match v?.parse() {
        Ok(d) => Some(d),
        Err(_) => {
            e.add(field, "a date YYYY-MM-DD");
            None
        }
    }
}

/// Hazard ids of 重大 hazards whose 双报告 is incomplete (regulator half, discovery-stage congress
/// report, and for closed ones the completion-stage report).
fn dual_report_incomplete(
    c: &mut DbConn,
    majors: &[(String, bool)],
) -> QueryResult<HashSet<String>> {
    let mut incomplete = HashSet::new();
    for chunk in majors.chunks(500) {
        let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
        let records: Vec<(String, String, String)> = hazard_records::table
            .filter(hazard_records::hazard_id.eq_any(&ids))
            .filter(hazard_records::kind.eq_any(["regulator_report", "congress_report"]))
            .select((
                hazard_records::hazard_id,
                hazard_records::kind,
                hazard_records::payload,
            ))
            .load(c)?;
        for (id, closed) in chunk {
            let mine = records.iter().filter(|(h, _, _)| h == id);
            let (mut regulator, mut discovery, mut completion) = (false, false, false);
            for (_, kind, payload) in mine {
                let stage = serde_json::from_str::<serde_json::Value>(payload)
                    .ok()
                    .and_then(|v| v["stage"].as_str().map(str::to_string));
                match (kind.as_str(), stage.as_deref()) {
                    ("regulator_report", _) => regulator = true,
                    (_, Some("discovery")) => discovery = true,
                    (_, Some("completion")) => completion = true,
                    _ => {}
                }
            }
            if !(regulator && discovery && (!closed || completion)) {
                incomplete.insert(id.clone());
            }
        }
    }
    Ok(incomplete)
}

async fn summary(
    state: web::Data<AppState>,
    caller: Caller,
    q: web::Query<SummaryQuery>,
) -> AppResult<HttpResponse> {
    let today = state.clock.today();
    let mut errors = FieldErrors::new();
    let group_by = q.group_by.clone().unwrap_or_else(|| "street".into());
    if !["street", "department", "sector", "level"].contains(&group_by.as_str()) {
        errors.add("group_by", "street, department, sector or level");
    }
    let from = date(&mut errors, "from", q.from.as_deref())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to = date(&mut errors, "to", q.to.as_deref()).unwrap_or(today);
    if to < from {
        errors.add("to", "must not be before from");
    }
    errors.finish()?;
    let body = state
        .db(move |c| {
            let scope = policy::hazard_scope(&caller);
            let filter = HazardFilter {
                posted_from: Some(from),
                posted_to: Some(to),
                ..Default::default()
            };
            let is_pg = matches!(c, DbConn::Pg(_));
            let rows: Vec<Light> = hazard_query::filtered(&scope, &filter, today, is_pg)
                .select((
                    hazards::id,
                    hazards::status,
                    hazards::level,
                    hazards::street_code,
                    hazards::primary_department,
                    hazards::posted_on,
                    hazards::deadline,
                    hazards::effective_deadline,
                    hazards::completed_on,
                    hazards::cancel_date,
                ))
                .load(c)?;
            // Group keys per hazard (a hazard counts once in each of its sectors).
            let mut keys: HashMap<String, Vec<String>> = HashMap::new();
            if group_by == "sector" {
                let ids: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
                for chunk in ids.chunks(1000) {
                    let pairs: Vec<(String, String)> = hazard_sectors::table
                        .filter(hazard_sectors::hazard_id.eq_any(chunk))
                        .select((hazard_sectors::hazard_id, hazard_sectors::sector_code))
                        .load(c)?;
                    for (h, s) in pairs {
                        keys.entry(h).or_default().push(s);
                    }
                }
            }
            let majors: Vec<(String, bool)> = rows
                .iter()
                .filter(|r| r.2 == "major" && r.1 != "void")
                .map(|r| (r.0.clone(), r.1 == "closed"))
                .collect();
            let incomplete = dual_report_incomplete(c, &majors)?;
            let names = group_names(c, &group_by)?;
            let mut groups: BTreeMap<String, Figures> = BTreeMap::new();
            let mut total = Figures {
                key: "total".into(),
                name: "合计".into(),
                ..Default::default()
            };
            for r in &rows {
                let group_keys = match group_by.as_str() {
                    "street" => vec![r.3.clone()],
                    "department" => vec![r.4.clone()],
                    "level" => vec![r.2.clone()],
                    _ => keys.get(&r.0).cloned().unwrap_or_default(),
                };
                for k in group_keys {
                    let g = groups.entry(k.clone()).or_insert_with(|| Figures {
                        name: names.get(&k).cloned().unwrap_or_else(|| k.clone()),
                        key: k,
                        ..Default::default()
                    });
                    count(g, r, today, &incomplete);
                }
                count(&mut total, r, today, &incomplete);
            }
            let finish = |mut g: Figures| {
                g.avg_days_to_close =
                    (g.closed > 0).then(|| g.days_to_close_total as f64 / g.closed as f64);
                g.reconciled = g.posted == g.in_progress + g.closed + g.void;
                g
            };
            let groups: Vec<Figures> = groups.into_values().map(finish).collect();
            Ok(json!({
                "group_by": group_by, "from": from, "to": to, "as_of": today,
                "groups": groups, "total": finish(total),
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

fn count(g: &mut Figures, r: &Light, today: NaiveDate, incomplete: &HashSet<String>) {
    g.posted += 1;
    match r.1.as_str() {
        "closed" => {
            g.closed += 1;
            if let (Some(done), Some(deadline)) = (r.8.or(r.9), r.6) {
                if done > deadline {
                    g.closed_late += 1
                } else {
                    g.closed_on_time += 1
                }
            }
            if let (Some(posted), Some(cancel)) = (r.5, r.9) {
                g.days_to_close_total += (cancel - posted).num_days();
            }
        }
        "void" => g.void += 1,
        _ => {
            g.in_progress += 1;
            if RUNNING.contains(&r.1.as_str()) && r.7.is_some_and(|d| d < today) {
                g.overdue_now += 1;
            }
        }
    }
    if incomplete.contains(&r.0) {
        g.major_dual_report_incomplete += 1;
    }
}

fn group_names(c: &mut DbConn, group_by: &str) -> QueryResult<HashMap<String, String>> {
    Ok(match group_by {
        "street" => streets::table
            .select((streets::code, streets::name))
            .load::<(String, String)>(c)?,
        "department" => departments::table
            .select((departments::code, departments::name))
            .load(c)?,
        "sector" => sectors::table
            .select((sectors::code, sectors::name))
            .load(c)?,
        _ => vec![
            ("general".into(), "一般".into()),
            ("major".into(), "重大".into()),
        ],
    }
    .into_iter()
    .collect())
}

/// The columns of an enterprise's hazards the quarterly table needs.
#[derive(Queryable)]
struct QuarterRow {
    id: String,
    status: String,
    level: String,
    discovered_on: Option<NaiveDate>,
    posted_on: Option<NaiveDate>,
    effective_deadline: Option<NaiveDate>,
    cancel_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
struct QuarterQuery {
    year: Option<i32>,
    quarter: Option<u32>,
}

/// The enterprise's quarterly statistics table, by level.
async fn quarterly(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<QuarterQuery>,
) -> AppResult<HttpResponse> {
    let today = state.clock.today();
    let mut errors = FieldErrors::new();
    let year = q.year.unwrap_or(today.year());
    let quarter = q.quarter.unwrap_or((today.month0() / 3) + 1);
    if !(1..=4).contains(&quarter) {
        errors.add("quarter", "1 to 4");
    }
    if !(2000..=2100).contains(&year) {
        errors.add("year", "a year between 2000 and 2100");
    }
    errors.finish()?;
    let start = NaiveDate::from_ymd_opt(year, (quarter - 1) * 3 + 1, 1)
        .ok_or_else(|| AppError::field("quarter", "invalid"))?;
    let next = if quarter == 4 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, quarter * 3 + 1, 1)
    }
    .ok_or_else(|| AppError::field("quarter", "invalid"))?;
    let end = next.pred_opt().unwrap_or(next);
    let due = next.with_day(15).unwrap_or(next);
    let id = id.into_inner();
    let body = state
        .db(move |c| {
            let enterprise = enterprises::find(c, &policy::enterprise_scope(&caller), &id)?.ok_or_else(AppError::not_found)?;
            let rows: Vec<QuarterRow> = hazards::table
                .filter(hazards::enterprise_id.eq(&enterprise.id))
                .filter(hazards::status.ne("draft"))
                .select((hazards::id, hazards::status, hazards::level, hazards::discovered_on, hazards::posted_on, hazards::effective_deadline, hazards::cancel_date))
                .load(c)?;
            let closed_ids: Vec<&str> = rows
                .iter()
                .filter(|r| r.cancel_date.is_some_and(|d| d >= start && d <= end))
                .map(|r| r.id.as_str())
                .collect();
            let completions: Vec<(String, String)> = hazard_records::table
                .filter(hazard_records::hazard_id.eq_any(&closed_ids))
                .filter(hazard_records::kind.eq("completion"))
                .order(hazard_records::created_at)
                .select((hazard_records::hazard_id, hazard_records::payload))
                .load(c)?;
            // The last completion report of each hazard closed in the quarter holds its actual funds.
            let mut funds: HashMap<String, Wan> = HashMap::new();
            for (h, payload) in completions {
                let v: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
                if let Some(w) = v["actual_funds"].as_str().and_then(|s| Wan::parse(s).ok()) {
                    funds.insert(h, w);
                }
            }
            let mut table = Vec::new();
            for level in ["general", "major", "total"] {
                let mine: Vec<_> = rows.iter().filter(|r| level == "total" || r.level == level).collect();
                let in_quarter = |d: Option<NaiveDate>| d.is_some_and(|d| d >= start && d <= end);
                let open: Vec<_> = mine
                    .iter()
                    .filter(|r| r.status != "void" && r.posted_on.is_some_and(|p| p <= end) && r.cancel_date.is_none_or(|c| c > end))
                    .collect();
                let spent = mine
                    .iter()
                    .filter(|r| in_quarter(r.cancel_date))
                    .filter_map(|r| funds.get(&r.id).copied())
                    .fold(Wan::ZERO, |a, b| a.checked_add(b).unwrap_or(a));
                table.push(json!({
                    "level": level,
                    "discovered": mine.iter().filter(|r| in_quarter(r.discovered_on)).count(),
                    "posted": mine.iter().filter(|r| in_quarter(r.posted_on)).count(),
                    "closed": mine.iter().filter(|r| in_quarter(r.cancel_date)).count(),
                    "open_at_end": open.len(),
                    "overdue_at_end": open.iter().filter(|r| r.effective_deadline.is_some_and(|d| d < end)).count(),
                    "actual_funds": spent.to_string(),
                }));
            }
            Ok(json!({
                "enterprise": {"id": enterprise.id, "name": enterprise.name, "uscc": enterprise.uscc},
                "year": year, "quarter": quarter, "from": start, "to": end,
                "report_due_on": due,
                "signed_by": enterprise.principal_name,
                "rows": table,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
