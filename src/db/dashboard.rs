//! The officers' dashboard figures, within the caller's scope: one indexed count per key
//! (statuses, streets, departments, months), a few dozen small queries.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::DbConn;
use super::hazards::scoped;
use super::schema::hazards;
use crate::policy::HazardScope;

const OPEN: [&str; 5] = [
    "submitted",
    "returned",
    "on_ledger",
    "in_rectification",
    "pending_acceptance",
];

/// Hazards of each status in `statuses`.
pub fn by_status(
    conn: &mut DbConn,
    scope: &HazardScope,
    statuses: &[&str],
) -> QueryResult<Vec<(String, i64)>> {
    statuses
        .iter()
        .map(|st| {
            let n: i64 = scoped(scope)
                .filter(hazards::status.eq(*st))
                .count()
                .get_result(conn)?;
            Ok((st.to_string(), n))
        })
        .collect()
}

/// Overdue hazards (clock running, effective deadline before today) of each street.
pub fn overdue_by_street(
    conn: &mut DbConn,
    scope: &HazardScope,
    streets: &[String],
    today: NaiveDate,
) -> QueryResult<Vec<(String, i64)>> {
    streets
        .iter()
        .map(|code| {
            let n: i64 = scoped(scope)
                .filter(hazards::street_code.eq(code))
                .filter(hazards::status.eq_any(super::hazard_query::RUNNING))
                .filter(hazards::effective_deadline.lt(today))
                .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                    super::hazard_query::NOT_COMPLETED_IN_TIME_SQL,
                ))
                .count()
                .get_result(conn)?;
            Ok((code.clone(), n))
        })
        .collect()
}

/// Open 重大 hazards of each primary department.
pub fn open_major_by_department(
    conn: &mut DbConn,
    scope: &HazardScope,
    departments: &[String],
) -> QueryResult<Vec<(String, i64)>> {
    departments
        .iter()
        .map(|code| {
            let n: i64 = scoped(scope)
                .filter(hazards::primary_department.eq(code))
                .filter(hazards::level.eq("major"))
                .filter(hazards::status.eq_any(OPEN))
                .count()
                .get_result(conn)?;
            Ok((code.clone(), n))
        })
        .collect()
}

/// Hazards closed in `[from, to)`: (on time, late) against the original deadline.
pub fn closed_on_time_late(
    conn: &mut DbConn,
    scope: &HazardScope,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<(i64, i64)> {
    let closed = || {
        scoped(scope)
            .filter(hazards::status.eq("closed"))
            .filter(hazards::cancel_date.ge(from))
            .filter(hazards::cancel_date.lt(to))
    };
    let on_time: i64 = closed()
        .filter(hazards::completed_on.le(hazards::deadline))
        .count()
        .get_result(conn)?;
    let late: i64 = closed()
        .filter(hazards::completed_on.gt(hazards::deadline))
        .count()
        .get_result(conn)?;
    Ok((on_time, late))
}
