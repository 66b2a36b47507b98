//! The hazard list query behind listing, export and statistics: every filter within the caller's
//! scope, sorts with keyset cursors. Each filter is served by an index (see the migrations and
//! `tests/it/supervision.rs`, which checks the query plans).

use chrono::{Days, NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::flags::FlagSql;
use super::hazards::{HazardRow, scoped};
use super::schema::{enterprises, hazard_departments, hazard_sectors, hazards};
use super::{DbConn, MultiBackend};
use crate::domain::hazard::{Level, Policy, Status};
use crate::policy::HazardScope;

/// Statuses of a posted hazard whose deadline runs.
pub const RUNNING: [&str; 3] = ["on_ledger", "in_rectification", "pending_acceptance"];

/// "The deadline runs" as literal SQL: PostgreSQL's partial index `hazards_running_deadline`
/// (migration 000009) applies only when the query names the same list, not a bound array.
const RUNNING_SQL: &str =
    "hazards.status IN ('on_ledger', 'in_rectification', 'pending_acceptance')";

fn running() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(RUNNING_SQL)
}

/// A running hazard past its effective deadline is overdue unless its work was reported
/// complete by that deadline (`Status::lateness_measured_on`: the clock stops at completion).
pub const NOT_COMPLETED_IN_TIME_SQL: &str = "(hazards.status <> 'pending_acceptance' \
     OR hazards.completed_on IS NULL OR hazards.completed_on > hazards.effective_deadline)";

/// What a list, an export or a statistic is about.
#[derive(Debug, Clone, Default)]
pub struct HazardFilter {
    pub status: Vec<Status>,
    pub level: Option<Level>,
    pub street: Option<String>,
    pub department: Option<String>,
    pub sector: Option<String>,
    pub enterprise: Option<String>,
    pub listed: Option<bool>,
    pub overdue: Option<bool>,
    /// Carries this compliance flag today (a code of `COMPLIANCE_FLAGS`).
    pub flag: Option<&'static str>,
    /// Waits for an officer's decision of this kind.
    pub awaiting: Option<Awaiting>,
    /// The rules the compliance flags follow.
    pub rules: Policy,
    pub due_within_days: Option<i64>,
    pub discovered_from: Option<NaiveDate>,
    pub discovered_to: Option<NaiveDate>,
    pub posted_from: Option<NaiveDate>,
    pub posted_to: Option<NaiveDate>,
    pub deadline_from: Option<NaiveDate>,
    pub deadline_to: Option<NaiveDate>,
    pub closed_from: Option<NaiveDate>,
    pub closed_to: Option<NaiveDate>,
    pub q: Option<String>,
}

/// A decision a hazard waits for (the officers' queues).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaiting {
    /// An extension request not yet decided (T9).
    ExtensionDecision,
    /// A 重大 hazard's six-part plan filed and not yet acknowledged (备案, T7).
    PlanAcknowledgement,
}

impl Awaiting {
    pub const CODES: [&'static str; 2] = ["extension_decision", "plan_acknowledgement"];

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "extension_decision" => Some(Awaiting::ExtensionDecision),
            "plan_acknowledgement" => Some(Awaiting::PlanAcknowledgement),
            _ => None,
        }
    }
}

impl HazardFilter {
    /// The text to search for, if any.
    pub fn text(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|t| !t.is_empty())
    }
}

/// Orders of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Newest first (by id, which is time-ordered).
    #[default]
    Created,
    /// Effective deadline, soonest first (hazards with a deadline).
    Deadline,
    /// Longest overdue first: the earliest effective deadline first (hazards with a deadline).
    DaysOverdue,
    /// Posted (上账) most recently first (posted hazards).
    Posted,
    /// Changed most recently first.
    Updated,
}

impl Sort {
    const CODES: [(&'static str, Sort); 5] = [
        ("created", Sort::Created),
        ("deadline", Sort::Deadline),
        ("days_overdue", Sort::DaysOverdue),
        ("posted", Sort::Posted),
        ("updated", Sort::Updated),
    ];

    /// Parses `sort=`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::CODES.iter().find(|(c, _)| *c == s).map(|(_, v)| *v)
    }

    /// The `sort=` value.
    pub fn code(self) -> &'static str {
        Self::CODES
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("created", |(c, _)| c)
    }
}

/// Where the previous page ended: the order it was in, the sort key of its last row and its id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    /// The `sort=` of the page (a cursor is good only for the order that gave it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    pub key: Option<String>,
    pub id: String,
}

type Boxed<'a> = hazards::BoxedQuery<'a, MultiBackend>;

/// The filtered query, before sorting; `text` is how the text filter `f.q` joins in.
pub fn filtered<'a>(
    scope: &'a HazardScope,
    f: &'a HazardFilter,
    today: NaiveDate,
    is_pg: bool,
    text: super::search::Plan,
) -> Boxed<'a> {
    let mut q = scoped(scope);
    match f.status.as_slice() {
        [] => {}
        // One status as `=`: an index on (…, status, deadline) then also gives the order.
        [one] => q = q.filter(hazards::status.eq(one.as_str())),
        many => {
            q = q
                .filter(hazards::status.eq_any(many.iter().map(|s| s.as_str()).collect::<Vec<_>>()))
        }
    }
    if let Some(level) = f.level {
        q = q.filter(hazards::level.eq(level.as_str()));
    }
    if let Some(street) = &f.street {
        q = q.filter(hazards::street_code.eq(street));
    }
    if let Some(dept) = &f.department {
        q = q.filter(
            hazards::id.eq_any(
                hazard_departments::table
                    .filter(hazard_departments::department_code.eq(dept))
                    .select(hazard_departments::hazard_id),
            ),
        );
    }
    if let Some(sector) = &f.sector {
        q = q.filter(
            hazards::id.eq_any(
                hazard_sectors::table
                    .filter(hazard_sectors::sector_code.eq(sector))
                    .select(hazard_sectors::hazard_id),
            ),
        );
    }
    if let Some(e) = &f.enterprise {
        q = q.filter(hazards::enterprise_id.eq(e));
    }
    if let Some(listed) = f.listed {
        q = q.filter(hazards::listed.eq(listed));
    }
    match f.overdue {
        // Overdue from the day after the effective deadline, while the deadline runs.
        Some(true) => {
            q = q
                .filter(running())
                .filter(hazards::effective_deadline.lt(today))
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    NOT_COMPLETED_IN_TIME_SQL,
                ));
        }
        Some(false) => {
            q = q.filter(
                hazards::status
                    .ne_all(RUNNING)
                    .or(hazards::effective_deadline.ge(today))
                    .or(hazards::effective_deadline.is_null())
                    .or(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                        "NOT {NOT_COMPLETED_IN_TIME_SQL}"
                    ))),
            );
        }
        None => {}
    }
    match f.awaiting {
        Some(Awaiting::ExtensionDecision) => {
            q = q
                .filter(running())
                .filter(hazards::pending_extension.is_not_null());
        }
        Some(Awaiting::PlanAcknowledgement) => {
            q = q
                .filter(hazards::level.eq(Level::Major.as_str()))
                .filter(
                    hazards::status.eq_any([Status::Submitted.as_str(), Status::OnLedger.as_str()]),
                )
                .filter(hazards::plan_filed.eq(true))
                .filter(hazards::plan_acknowledged.eq(false));
        }
        None => {}
    }
    if let Some(condition) = f.flag.and_then(|flag| {
        FlagSql {
            table: "hazards",
            is_pg,
            today,
            rules: &f.rules,
        }
        .condition(flag)
    }) {
        q = q.filter(diesel::dsl::sql::<diesel::sql_types::Bool>(&condition));
    }
    if let Some(n) = f.due_within_days {
        let until = today
            .checked_add_days(Days::new(n.max(0) as u64))
            .unwrap_or(today);
        q = q
            .filter(running())
            .filter(hazards::effective_deadline.ge(today))
            .filter(hazards::effective_deadline.le(until));
    }
    if let Some(d) = f.discovered_from {
        q = q.filter(hazards::discovered_on.ge(d));
    }
    if let Some(d) = f.discovered_to {
        q = q.filter(hazards::discovered_on.le(d));
    }
    if let Some(d) = f.posted_from {
        q = q.filter(hazards::posted_on.ge(d));
    }
    if let Some(d) = f.posted_to {
        q = q.filter(hazards::posted_on.le(d));
    }
    if let Some(d) = f.deadline_from {
        q = q.filter(hazards::effective_deadline.ge(d));
    }
    if let Some(d) = f.deadline_to {
        q = q.filter(hazards::effective_deadline.le(d));
    }
    if let Some(d) = f.closed_from {
        q = q.filter(hazards::cancel_date.ge(d));
    }
    if let Some(d) = f.closed_to {
        q = q.filter(hazards::cancel_date.le(d));
    }
    if let Some(q_text) = f.text() {
        let upper = q_text.to_uppercase();
        q = if upper.starts_with("SH-CN-YH-") {
            // A ledger number (上账编号) is looked up, not searched as words.
            q.filter(hazards::ledger_no.eq(upper))
        } else if crate::domain::uscc::validate_uscc(&upper).is_ok() {
            // So is an enterprise's USCC: its hazards.
            q.filter(
                hazards::enterprise_id.eq_any(
                    enterprises::table
                        .filter(enterprises::uscc.eq(upper))
                        .select(enterprises::id),
                ),
            )
        } else {
            q.filter(super::search::matches(is_pg, q_text, text))
        };
    }
    q
}

/// One page of hazards in `sort` order after `cursor`; fetch `limit + 1` to know if more follow.
pub fn page(
    conn: &mut DbConn,
    scope: &HazardScope,
    f: &HazardFilter,
    sort: Sort,
    cursor: Option<&Cursor>,
    limit: i64,
    today: NaiveDate,
) -> QueryResult<Vec<HazardRow>> {
    let is_pg = matches!(conn, DbConn::Pg(_));
    let text = match f.text() {
        Some(text) => super::search::plan(conn, text)?,
        None => super::search::Plan::Few,
    };
    let mut q = filtered(scope, f, today, is_pg, text);
    let date = |c: &Cursor| c.key.as_deref().and_then(|k| k.parse::<NaiveDate>().ok());
    q = match sort {
        Sort::Created => {
            if let Some(c) = cursor {
                q = q.filter(hazards::id.lt(c.id.clone()));
            }
            q.order(hazards::id.desc())
        }
        Sort::Deadline | Sort::DaysOverdue => {
            q = q.filter(hazards::effective_deadline.is_not_null());
            if let Some((c, k)) = cursor.and_then(|c| date(c).map(|k| (c, k))) {
                q = q.filter(
                    hazards::effective_deadline
                        .gt(k)
                        .or(hazards::effective_deadline
                            .eq(k)
                            .and(hazards::id.gt(c.id.clone()))),
                );
            }
            q.order((hazards::effective_deadline.asc(), hazards::id.asc()))
        }
        Sort::Posted => {
            q = q.filter(hazards::posted_on.is_not_null());
            if let Some((c, k)) = cursor.and_then(|c| date(c).map(|k| (c, k))) {
                q = q.filter(
                    hazards::posted_on
                        .lt(k)
                        .or(hazards::posted_on.eq(k).and(hazards::id.lt(c.id.clone()))),
                );
            }
            q.order((hazards::posted_on.desc(), hazards::id.desc()))
        }
        Sort::Updated => {
            let key = cursor.and_then(|c| {
                c.key
                    .as_deref()
                    .and_then(|k| NaiveDateTime::parse_from_str(k, "%Y-%m-%dT%H:%M:%S%.f").ok())
                    .map(|k| (c, k))
            });
            if let Some((c, k)) = key {
                q = q.filter(
                    hazards::updated_at
                        .lt(k)
                        .or(hazards::updated_at.eq(k).and(hazards::id.lt(c.id.clone()))),
                );
            }
            q.order((hazards::updated_at.desc(), hazards::id.desc()))
        }
    };
    q.limit(limit).select(HazardRow::as_select()).load(conn)
}

/// The cursor that continues after `row` in `sort` order.
pub fn cursor_after(row: &HazardRow, sort: Sort) -> Cursor {
    let key = match sort {
        Sort::Created => None,
        Sort::Deadline | Sort::DaysOverdue => row.effective_deadline.map(|d| d.to_string()),
        Sort::Posted => row.posted_on.map(|d| d.to_string()),
        Sort::Updated => Some(row.updated_at.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
    };
    Cursor {
        sort: Some(sort.code().to_string()),
        key,
        id: row.id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_sql_names_the_running_statuses() {
        let listed = RUNNING.map(|s| format!("'{s}'")).join(", ");
        assert_eq!(RUNNING_SQL, format!("hazards.status IN ({listed})"));
    }
}
