//! Statistics: the supervision summary by street, department, sector or level, and an
//! enterprise's quarterly and annual tables (安监总局令第16号: quarterly by the 15th of the next
//! quarter, annual by 31 January).

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Text};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Routes;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::flags::FlagSql;
use crate::db::schema::{departments, hazard_records, hazards, sectors, streets};
use crate::db::{DbConn, enterprises};
use crate::domain::FieldErrors;
use crate::domain::hazard::{COMPLIANCE_FLAGS, Policy};
use crate::domain::validate::Wan;
use crate::error::{AppError, AppResult};
use crate::policy::{self, HazardScope};

pub fn routes(r: &mut Routes) {
    r.get("/api/v1/stats/summary", summary)
        .get("/api/v1/stats/enterprise/{id}/quarterly", quarterly)
        .get("/api/v1/stats/enterprise/{id}/annual", annual);
}

#[derive(Debug, Deserialize)]
pub(crate) struct SummaryQuery {
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
    /// 超期整改: closed with the completion date after the original deadline, or still open
    /// after it (the original deadline, not an extended one).
    pub late_rectification: i64,
    pub avg_days_to_close: Option<f64>,
    pub major_dual_report_incomplete: i64,
    /// How many of the hazards carry each compliance flag today (as on the hazard itself).
    pub compliance_flags: FlagCounts,
    pub reconciled: bool,
    #[serde(skip)]
    days_to_close_total: i64,
}

/// Hazards per compliance flag (`domain::hazard::COMPLIANCE_FLAGS`).
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct FlagCounts {
    pub regulator_report_late: i64,
    pub congress_report_overdue: i64,
    pub congress_completion_missing: i64,
    pub congress_follow_up_overdue: i64,
    pub employee_notice_missing: i64,
    pub interview_flagged: i64,
    pub overdue_explanation_missing: i64,
}

impl std::ops::AddAssign for FlagCounts {
    fn add_assign(&mut self, o: Self) {
        self.regulator_report_late += o.regulator_report_late;
        self.congress_report_overdue += o.congress_report_overdue;
        self.congress_completion_missing += o.congress_completion_missing;
        self.congress_follow_up_overdue += o.congress_follow_up_overdue;
        self.employee_notice_missing += o.employee_notice_missing;
        self.interview_flagged += o.interview_flagged;
        self.overdue_explanation_missing += o.overdue_explanation_missing;
    }
}

fn date(e: &mut FieldErrors, field: &str, v: Option<&str>) -> Option<NaiveDate> {
    let d = crate::timefmt::parse_date(v?);
    if d.is_none() {
        e.add(field, "a date YYYY-MM-DD");
    }
    d
}

pub(crate) async fn summary(
    state: web::Data<AppState>,
    caller: Caller,
    q: crate::http::query::Query<SummaryQuery>,
) -> AppResult<HttpResponse> {
    let today = state.clock.today();
    let mut errors = FieldErrors::new();
    let group_by = q.group_by.clone().unwrap_or_else(|| "street".into());
    if !["street", "department", "sector", "level"].contains(&group_by.as_str()) {
        errors.add("group_by", "street, department, sector or level");
    }
    let given_to = date(&mut errors, "to", q.to.as_deref());
    let to = given_to.unwrap_or(today);
    // Without `from`: 1 January of the year of `to` (this year when neither is given).
    let from = date(&mut errors, "from", q.from.as_deref())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    if to < from {
        // Without `to` the period ends today: a `from` in the future is the one to blame. An
        // unreadable `to` is named once, as unreadable.
        match (q.to.is_some(), given_to.is_some()) {
            (true, true) => errors.add("to", "must not be before from"),
            (false, _) => errors.add("from", "must not be after today (to, when not given)"),
            (true, false) => {}
        }
    }
    errors.finish()?;
    let rules = state.config.rules.clone();
    let body = state
        .db(move |c| {
            let scope = policy::hazard_scope(&caller);
            let names = group_names(c, &group_by)?;
            let finish = |mut g: Figures| {
                g.name = names.get(&g.key).cloned().unwrap_or_else(|| g.key.clone());
                // To one decimal, as the figure is read and printed (12.3 days).
                g.avg_days_to_close = (g.closed > 0).then(|| {
                    (g.days_to_close_total as f64 * 10.0 / g.closed as f64).round() / 10.0
                });
                g.reconciled = g.posted == g.in_progress + g.closed + g.void;
                g
            };
            let groups: Vec<Figures> =
                aggregate(c, &scope, Some(&group_by), from, to, today, &rules)?
                    .into_iter()
                    .map(finish)
                    .collect();
            // A hazard is in exactly one street, department or level: the total is the sum of the
            // groups. By sector a hazard counts in each of its sectors, so the total is counted apart.
            let mut total = if group_by == "sector" {
                aggregate(c, &scope, None, from, to, today, &rules)?
                    .into_iter()
                    .next()
                    .unwrap_or_default()
            } else {
                groups.iter().fold(Figures::default(), |mut t, g| {
                    t.posted += g.posted;
                    t.in_progress += g.in_progress;
                    t.closed += g.closed;
                    t.void += g.void;
                    t.overdue_now += g.overdue_now;
                    t.closed_on_time += g.closed_on_time;
                    t.closed_late += g.closed_late;
                    t.late_rectification += g.late_rectification;
                    t.days_to_close_total += g.days_to_close_total;
                    t.major_dual_report_incomplete += g.major_dual_report_incomplete;
                    t.compliance_flags += g.compliance_flags;
                    t
                })
            };
            total.key = "total".into();
            let mut total = finish(total);
            total.name = "合计".into();
            Ok(json!({
                "group_by": group_by, "from": from, "to": to, "as_of": today,
                "groups": groups, "total": total,
            }))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// One row of the aggregate query.
#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    posted: i64,
    #[diesel(sql_type = BigInt)]
    in_progress: i64,
    #[diesel(sql_type = BigInt)]
    closed: i64,
    #[diesel(sql_type = BigInt)]
    void: i64,
    #[diesel(sql_type = BigInt)]
    overdue_now: i64,
    #[diesel(sql_type = BigInt)]
    closed_on_time: i64,
    #[diesel(sql_type = BigInt)]
    closed_late: i64,
    #[diesel(sql_type = BigInt)]
    open_late: i64,
    #[diesel(sql_type = BigInt)]
    days_to_close: i64,
    #[diesel(sql_type = BigInt)]
    dual_incomplete: i64,
    #[diesel(sql_type = BigInt)]
    regulator_report_late: i64,
    #[diesel(sql_type = BigInt)]
    congress_report_overdue: i64,
    #[diesel(sql_type = BigInt)]
    congress_completion_missing: i64,
    #[diesel(sql_type = BigInt)]
    congress_follow_up_overdue: i64,
    #[diesel(sql_type = BigInt)]
    employee_notice_missing: i64,
    #[diesel(sql_type = BigInt)]
    interview_flagged: i64,
    #[diesel(sql_type = BigInt)]
    overdue_explanation_missing: i64,
}

/// Counts the hazards posted in [from, to] within the scope, grouped by `group_by` (or in one
/// total row), in the database: one pass over the posting index, whatever the volume.
fn aggregate(
    c: &mut DbConn,
    scope: &HazardScope,
    group_by: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    rules: &Policy,
) -> QueryResult<Vec<Figures>> {
    let is_pg = matches!(c, DbConn::Pg(_));
    let flags = FlagSql {
        table: "h",
        is_pg,
        today,
        rules,
    };
    let count = |condition: String| format!("COUNT(*) FILTER (WHERE {condition})");
    let flag_counts: String = COMPLIANCE_FLAGS
        .iter()
        .filter_map(|f| Some(format!(", {} AS {f}", count(flags.condition(f)?))))
        .collect();
    let (key, join) = match group_by {
        Some("street") => ("h.street_code", ""),
        Some("department") => ("h.primary_department", ""),
        Some("level") => ("h.level", ""),
        Some(_) => (
            "s.sector_code",
            " JOIN hazard_sectors s ON s.hazard_id = h.id",
        ),
        None => ("'total'", ""),
    };
    let days = if is_pg {
        "(h.cancel_date - h.posted_on)"
    } else {
        "CAST(julianday(h.cancel_date) - julianday(h.posted_on) AS INTEGER)"
    };
    let done = "COALESCE(h.completed_on, h.cancel_date)";
    // A street's or a department's hazards are a tenth of all or more: SQLite reads them fastest
    // along the posting index, which holds every column the figures need (migration 000009),
    // rather than looking up each of the street's hazards. `+` keeps SQLite's planner (it has no
    // statistics) from choosing the street's index; PostgreSQL's planner weighs both itself.
    let unindexed = if is_pg { "" } else { "+" };
    let (scope_sql, mut binds): (String, Vec<String>) = match scope {
        HazardScope::All => ("TRUE".into(), vec![]),
        HazardScope::Street { street, .. } => (
            format!("{unindexed}h.street_code = ?"),
            vec![street.clone()],
        ),
        HazardScope::Department { department, .. } => (
            format!(
                "{unindexed}h.id IN (SELECT hazard_id FROM hazard_departments WHERE department_code = ?)"
            ),
            vec![department.clone()],
        ),
        // An enterprise's few hazards: its own index.
        HazardScope::Enterprise(e) => ("h.enterprise_id = ?".into(), vec![e.clone()]),
    };
    let sql = format!(
        "SELECT {key} AS key, COUNT(*) AS posted, \
         COUNT(*) FILTER (WHERE h.status NOT IN ('closed', 'void')) AS in_progress, \
         COUNT(*) FILTER (WHERE h.status = 'closed') AS closed, \
         COUNT(*) FILTER (WHERE h.status = 'void') AS void, \
         COUNT(*) FILTER (WHERE h.status IN ('on_ledger', 'in_rectification', 'pending_acceptance') \
             AND h.effective_deadline < ? AND {in_time}) AS overdue_now, \
         COUNT(*) FILTER (WHERE h.status NOT IN ('closed', 'void') \
             AND h.deadline < ?) AS open_late, \
         COUNT(*) FILTER (WHERE h.status = 'closed' AND h.deadline IS NOT NULL AND {done} <= h.deadline) AS closed_on_time, \
         COUNT(*) FILTER (WHERE h.status = 'closed' AND h.deadline IS NOT NULL AND {done} > h.deadline) AS closed_late, \
         COALESCE(SUM(CASE WHEN h.status = 'closed' AND h.cancel_date IS NOT NULL THEN {days} ELSE 0 END), 0) AS days_to_close, \
         COUNT(*) FILTER (WHERE h.level = 'major' AND h.status <> 'void' AND NOT ({reg} AND {disc} AND NOT {unheard} AND (h.status <> 'closed' OR {compl})) \
            ) AS dual_incomplete{flag_counts} \
         FROM hazards h{join} \
         WHERE {scope_sql} AND h.posted_on >= ? AND h.posted_on <= ? \
         GROUP BY {key} ORDER BY {key}",
        reg = flags.has_record("regulator_report", None),
        disc = flags.has_record("congress_report", Some("discovery")),
        compl = flags.has_record("congress_report", Some("completion")),
        unheard = flags.joint_meeting_unheard(false),
        in_time = crate::db::hazard_query::NOT_COMPLETED_IN_TIME_SQL.replace("hazards.", "h."),
    );
    let mut sql = if group_by.is_none() {
        sql.replace(" GROUP BY 'total' ORDER BY 'total'", "")
    } else {
        sql
    };
    if is_pg {
        // PostgreSQL numbers its placeholders.
        let mut n = 0;
        sql = sql
            .split('?')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part.to_string()
                } else {
                    n += 1;
                    format!("${n}{part}")
                }
            })
            .collect();
    }
    // Binds in the order of the placeholders: today twice, the scope's value (if any), from, to.
    let mut q = diesel::sql_query(sql)
        .into_boxed::<crate::db::MultiBackend>()
        .bind::<Date, _>(today)
        .bind::<Date, _>(today);
    for value in binds.drain(..) {
        q = q.bind::<Text, _>(value);
    }
    let q = q.bind::<Date, _>(from).bind::<Date, _>(to);
    let rows: Vec<Counted> = q.load(c)?;
    Ok(rows
        .into_iter()
        .map(|r| Figures {
            key: r.key,
            posted: r.posted,
            in_progress: r.in_progress,
            closed: r.closed,
            void: r.void,
            overdue_now: r.overdue_now,
            closed_on_time: r.closed_on_time,
            closed_late: r.closed_late,
            late_rectification: r.closed_late + r.open_late,
            major_dual_report_incomplete: r.dual_incomplete,
            compliance_flags: FlagCounts {
                regulator_report_late: r.regulator_report_late,
                congress_report_overdue: r.congress_report_overdue,
                congress_completion_missing: r.congress_completion_missing,
                congress_follow_up_overdue: r.congress_follow_up_overdue,
                employee_notice_missing: r.employee_notice_missing,
                interview_flagged: r.interview_flagged,
                overdue_explanation_missing: r.overdue_explanation_missing,
            },
            days_to_close_total: r.days_to_close,
            ..Figures::default()
        })
        .collect())
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

/// The columns of an enterprise's hazards its statistics tables need.
#[derive(Queryable)]
struct TableRow {
    id: String,
    status: String,
    level: String,
    discovered_on: Option<NaiveDate>,
    posted_on: Option<NaiveDate>,
    effective_deadline: Option<NaiveDate>,
    completed_on: Option<NaiveDate>,
    cancel_date: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
struct QuarterQuery {
    year: Option<i32>,
    quarter: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct YearQuery {
    year: Option<i32>,
}

/// The period an enterprise's statistics table covers, and when the table is due.
struct Period {
    /// The query field that chose the period (named by a 422 when it has not begun).
    field: &'static str,
    start: NaiveDate,
    /// The first day after the period.
    next: NaiveDate,
    /// The day the table is due (安监总局令第16号).
    due: NaiveDate,
    /// How the answer names the period: `{"year", "quarter"}` or `{"year"}`.
    names: serde_json::Map<String, serde_json::Value>,
}

fn checked_year(year: i32, errors: &mut FieldErrors) {
    if !(2000..=2100).contains(&year) {
        errors.add("year", "a year between 2000 and 2100");
    }
}

/// The enterprise's quarterly statistics table, by level, due by the 15th of the next quarter.
async fn quarterly(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: crate::http::query::Query<QuarterQuery>,
) -> AppResult<HttpResponse> {
    let today = state.clock.today();
    let mut errors = FieldErrors::new();
    let year = q.year.unwrap_or(today.year());
    // Neither given: this quarter. A year alone names no quarter: taking today's quarter of
    // another year would answer a table nobody asked for.
    let quarter = match (q.year, q.quarter) {
        (_, Some(quarter)) => quarter,
        (None, None) => (today.month0() / 3) + 1,
        (Some(_), None) => {
            errors.add("quarter", "required with year (1 to 4)");
            1
        }
    };
    if !(1..=4).contains(&quarter) {
        errors.add("quarter", "1 to 4");
    }
    checked_year(year, &mut errors);
    errors.finish()?;
    let start = NaiveDate::from_ymd_opt(year, (quarter - 1) * 3 + 1, 1)
        .ok_or_else(|| AppError::field("quarter", "invalid"))?;
    let next = if quarter == 4 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, quarter * 3 + 1, 1)
    }
    .ok_or_else(|| AppError::field("quarter", "invalid"))?;
    let mut names = serde_json::Map::new();
    names.insert("year".into(), year.into());
    names.insert("quarter".into(), quarter.into());
    let period = Period {
        field: "quarter",
        start,
        next,
        due: next.with_day(15).unwrap_or(next),
        names,
    };
    enterprise_table(state, caller, id.into_inner(), period).await
}

/// The enterprise's annual statistics table, by level, due by 31 January of the next year.
async fn annual(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    q: crate::http::query::Query<YearQuery>,
) -> AppResult<HttpResponse> {
    let today = state.clock.today();
    let mut errors = FieldErrors::new();
    let year = q.year.unwrap_or(today.year());
    checked_year(year, &mut errors);
    errors.finish()?;
    let start =
        NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(|| AppError::field("year", "invalid"))?;
    let next = NaiveDate::from_ymd_opt(year + 1, 1, 1)
        .ok_or_else(|| AppError::field("year", "invalid"))?;
    let mut names = serde_json::Map::new();
    names.insert("year".into(), year.into());
    let period = Period {
        field: "year",
        start,
        next,
        due: next.with_day(31).unwrap_or(next),
        names,
    };
    enterprise_table(state, caller, id.into_inner(), period).await
}

/// An enterprise's statistics table for `period`, by level (general, major, total).
async fn enterprise_table(
    state: web::Data<AppState>,
    caller: Caller,
    id: String,
    period: Period,
) -> AppResult<HttpResponse> {
    let today = state.clock.today();
    let Period {
        field,
        start,
        next,
        due,
        names,
    } = period;
    if start > today {
        return Err(AppError::field(field, "has not begun"));
    }
    let end = next.pred_opt().unwrap_or(next);
    // An unfinished period is counted as it stands today (provisional), not as if it had ended.
    let as_of = end.min(today);
    let tz = state.clock.tz();
    let body = state
        .db(move |c| {
            let enterprise = enterprises::find(c, &policy::enterprise_scope(&caller), &id)?.ok_or_else(AppError::not_found)?;
            let rows: Vec<TableRow> = hazards::table
                .filter(hazards::enterprise_id.eq(&enterprise.id))
                .filter(hazards::status.ne("draft"))
                .select((hazards::id, hazards::status, hazards::level, hazards::discovered_on, hazards::posted_on, hazards::effective_deadline, hazards::completed_on, hazards::cancel_date))
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
            // The last completion report of each hazard closed in the period holds its actual funds.
            let mut funds: HashMap<String, Wan> = HashMap::new();
            for (h, payload) in completions {
                let v: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
                if let Some(w) = v["actual_funds"].as_str().and_then(|s| Wan::parse(s).ok()) {
                    funds.insert(h, w);
                }
            }
            // A hazard voided after the period's end was open at its end: the table of a finished
            // period does not change when a hazard is voided later.
            let void_ids: Vec<&str> = rows
                .iter()
                .filter(|r| r.status == "void")
                .map(|r| r.id.as_str())
                .collect();
            let voided_on: HashMap<String, NaiveDate> = hazard_records::table
                .filter(hazard_records::hazard_id.eq_any(&void_ids))
                .filter(hazard_records::kind.eq("void"))
                .select((hazard_records::hazard_id, hazard_records::created_at))
                .load::<(String, chrono::NaiveDateTime)>(c)?
                .into_iter()
                .map(|(h, at)| (h, at.and_utc().with_timezone(&tz).date_naive()))
                .collect();
            let void_by = |r: &TableRow| {
                r.status == "void" && voided_on.get(&r.id).is_none_or(|d| *d <= as_of)
            };
            // A close-out counts by its acceptance date, but only once recorded: for an ended
            // period, by the day its report was due (as signed) — a close-out recorded later,
            // however dated, leaves the signed table as it was.
            // (Every hazard closed by the period's end: one dated back before the period's start
            // may have been recorded after its due date too.)
            let closed_by_end: Vec<&str> = rows
                .iter()
                .filter(|r| r.cancel_date.is_some_and(|d| d <= end))
                .map(|r| r.id.as_str())
                .collect();
            let closed_recorded: HashMap<String, NaiveDate> = hazard_records::table
                .filter(hazard_records::hazard_id.eq_any(&closed_by_end))
                .filter(hazard_records::kind.eq("acceptance"))
                .select((hazard_records::hazard_id, hazard_records::created_at))
                .load::<(String, chrono::NaiveDateTime)>(c)?
                .into_iter()
                .map(|(h, at)| (h, at.and_utc().with_timezone(&tz).date_naive()))
                .fold(HashMap::new(), |mut m, (h, d)| {
                    let e = m.entry(h).or_insert(d);
                    *e = (*e).max(d);
                    m
                });
            let cutoff = if as_of < end { today } else { due };
            let closed_by = |r: &TableRow, day: NaiveDate| {
                r.cancel_date.is_some_and(|c| c <= day)
                    && closed_recorded.get(&r.id).is_none_or(|d| *d <= cutoff)
            };
            let mut table = Vec::new();
            for level in ["general", "major", "total"] {
                let mine: Vec<_> = rows.iter().filter(|r| level == "total" || r.level == level).collect();
                let in_period = |d: Option<NaiveDate>| d.is_some_and(|d| d >= start && d <= end);
                let open: Vec<_> = mine
                    .iter()
                    .filter(|r| !void_by(r) && r.posted_on.is_some_and(|p| p <= as_of) && !closed_by(r, as_of))
                    .collect();
                let closed: Vec<_> = mine
                    .iter()
                    .filter(|r| in_period(r.cancel_date) && closed_by(r, end))
                    .collect();
                let spent = closed
                    .iter()
                    .filter_map(|r| funds.get(&r.id).copied())
                    .fold(Wan::ZERO, |a, b| a.checked_add(b).unwrap_or(a));
                // Voided in the period after posting: with `closed`, what left the ledger's
                // open items (open at the start + posted − closed − voided = open at the end).
                let voided = mine
                    .iter()
                    .filter(|r| r.posted_on.is_some() && void_by(r))
                    .filter(|r| voided_on.get(&r.id).is_some_and(|d| *d >= start))
                    .count();
                table.push(json!({
                    "level": level,
                    // A report voided before posting (untrue, a duplicate, a false report) was
                    // no hazard found; one transferred out is another authority's to count.
                    "discovered": mine.iter().filter(|r| in_period(r.discovered_on) && !(void_by(r) && r.posted_on.is_none())).count(),
                    "posted": mine.iter().filter(|r| in_period(r.posted_on)).count(),
                    "closed": closed.len(),
                    "voided": voided,
                    "open_at_end": open.len(),
                    // Work reported complete by then stopped the clock at its completion date.
                    "overdue_at_end": open.iter().filter(|r| r.effective_deadline.is_some_and(|d| d < r.completed_on.filter(|done| *done <= as_of).unwrap_or(as_of))).count(),
                    "actual_funds": spent.to_string(),
                }));
            }
            let mut body = serde_json::Map::from_iter([
                ("enterprise".into(), json!({"id": enterprise.id, "name": enterprise.name, "uscc": enterprise.uscc})),
                ("from".into(), json!(start)),
                ("to".into(), json!(end)),
                ("report_due_on".into(), json!(due)),
                ("as_of".into(), json!(as_of)),
                ("provisional".into(), json!(as_of < end)),
                ("signed_by".into(), json!(enterprise.principal_name)),
                ("rows".into(), json!(table)),
            ]);
            body.extend(names);
            Ok(serde_json::Value::Object(body))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}
