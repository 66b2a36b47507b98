//! Job runs, escalation firings and the queries the escalation rules run on.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::{
    departments, enterprises, escalations, hazard_records, hazards, job_runs, listings, streets,
    users,
};

/// Statuses whose deadline clock runs: posted and not yet reported complete.
pub const DEADLINE_RUNNING: [&str; 2] = ["on_ledger", "in_rectification"];

/// Ids per `IN (…)` list.
const CHUNK: usize = 500;

/// One run of a job.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = job_runs, treat_none_as_default_value = false)]
pub struct JobRunRow {
    pub id: String,
    pub job: String,
    pub as_of: NaiveDate,
    /// `schedule`, `cli` or `api`.
    pub trigger: String,
    pub instance: String,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub started_at: NaiveDateTime,
    #[serde(serialize_with = "crate::timefmt::serialize_opt")]
    pub finished_at: Option<NaiveDateTime>,
    /// `running`, `ok`, `failed` or `interrupted` (see [`close_abandoned_runs`]).
    pub outcome: String,
    /// JSON object of counts.
    #[serde(skip)]
    pub counts: String,
    pub error: Option<String>,
}

pub fn insert_run(conn: &mut DbConn, row: &JobRunRow) -> QueryResult<()> {
    diesel::insert_into(job_runs::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Hours after which a run still `running` was cut short (its process crashed, or stopped
/// after its grace period): no job runs that long.
pub const RUN_ABANDONED_AFTER_HOURS: i64 = 6;

/// Closes the runs still `running` [`RUN_ABANDONED_AFTER_HOURS`] after they started as
/// `interrupted`, so the list of runs does not show them running for ever.
pub fn close_abandoned_runs(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let before = now - chrono::Duration::hours(RUN_ABANDONED_AFTER_HOURS);
    diesel::update(
        job_runs::table
            .filter(job_runs::outcome.eq("running"))
            .filter(job_runs::started_at.lt(before)),
    )
    .set((
        job_runs::outcome.eq("interrupted"),
        job_runs::finished_at.eq(Some(now)),
        job_runs::error.eq(Some("cut short: its process stopped before the run ended")),
    ))
    .execute(conn)
}

pub fn finish_run(
    conn: &mut DbConn,
    id: &str,
    at: NaiveDateTime,
    outcome: &str,
    counts: &serde_json::Value,
    error: Option<&str>,
) -> QueryResult<()> {
    diesel::update(job_runs::table.find(id))
        .set((
            job_runs::finished_at.eq(Some(at)),
            job_runs::outcome.eq(outcome),
            job_runs::counts.eq(counts.to_string()),
            job_runs::error.eq(error),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Runs, newest first; `job` narrows to one job; keyset: ids before `before` (UUIDv7).
pub fn runs(
    conn: &mut DbConn,
    job: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<JobRunRow>> {
    let mut q = job_runs::table.select(JobRunRow::as_select()).into_boxed();
    if let Some(job) = job {
        q = q.filter(job_runs::job.eq(job.to_string()));
    }
    if let Some(id) = before {
        q = q.filter(job_runs::id.lt(id.to_string()));
    }
    q.order(job_runs::id.desc()).limit(limit).load(conn)
}

/// One escalation firing.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = escalations, treat_none_as_default_value = false)]
pub struct EscalationRow {
    pub hazard_id: String,
    pub rule: String,
    pub step: String,
    pub anchor: NaiveDate,
    pub offset_days: i32,
    pub as_of: NaiveDate,
    pub job_run_id: String,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub fired_at: NaiveDateTime,
}

/// Records firings; the primary key (hazard, rule, step) refuses a second one.
pub fn insert_escalations(conn: &mut DbConn, rows: &[EscalationRow]) -> QueryResult<()> {
    for chunk in rows.chunks(CHUNK) {
        crate::insert_many!(conn, escalations::table, chunk)?;
    }
    Ok(())
}

/// What an escalation marks on the hazards it fires for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Flagged for 约谈/通报 (`interview_flagged_on`).
    Interview,
    /// A written explanation (书面说明) owed (`explanation_owed_on`).
    ExplanationOwed,
}

/// Sets `mark` to `on` on the hazards that do not carry it yet (an earlier date stays), as a
/// change of the hazard: a new version (its ETag) and `updated_at`.
pub fn mark(
    conn: &mut DbConn,
    ids: &[String],
    mark: Mark,
    on: NaiveDate,
    at: NaiveDateTime,
) -> QueryResult<()> {
    macro_rules! set_unset {
        ($column:expr, $chunk:expr) => {
            diesel::update(
                hazards::table
                    .filter(hazards::id.eq_any($chunk))
                    .filter($column.is_null()),
            )
            .set((
                $column.eq(on),
                hazards::version.eq(hazards::version + 1),
                hazards::updated_at.eq(at),
            ))
            .execute(conn)?
        };
    }
    for chunk in ids.chunks(CHUNK) {
        match mark {
            Mark::Interview => set_unset!(hazards::interview_flagged_on, chunk),
            Mark::ExplanationOwed => set_unset!(hazards::explanation_owed_on, chunk),
        };
    }
    Ok(())
}

/// (hazard, step) pairs of `rule` already fired among `ids`.
pub fn fired(
    conn: &mut DbConn,
    rule: &str,
    ids: &[String],
) -> QueryResult<HashSet<(String, String)>> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, String)> = escalations::table
            .filter(escalations::rule.eq(rule))
            .filter(escalations::hazard_id.eq_any(chunk))
            .select((escalations::hazard_id, escalations::step))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Anchors (deadlines) for which `rule` already fired, by hazard.
pub fn fired_anchors(
    conn: &mut DbConn,
    rule: &str,
    ids: &[String],
) -> QueryResult<HashMap<String, Vec<NaiveDate>>> {
    let mut out: HashMap<String, Vec<NaiveDate>> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, NaiveDate)> = escalations::table
            .filter(escalations::rule.eq(rule))
            .filter(escalations::hazard_id.eq_any(chunk))
            .select((escalations::hazard_id, escalations::anchor))
            .load(conn)?;
        for (id, a) in rows {
            out.entry(id).or_default().push(a);
        }
    }
    Ok(out)
}

/// A hazard's firings, oldest first.
pub fn for_hazard(conn: &mut DbConn, hazard_id: &str) -> QueryResult<Vec<EscalationRow>> {
    escalations::table
        .filter(escalations::hazard_id.eq(hazard_id))
        .order((escalations::fired_at, escalations::rule, escalations::step))
        .select(EscalationRow::as_select())
        .load(conn)
}

/// Hazards whose deadline clock runs, with the effective deadline in `[lo, hi]`.
pub fn by_deadline(
    conn: &mut DbConn,
    lo: Option<NaiveDate>,
    hi: NaiveDate,
) -> QueryResult<Vec<(String, NaiveDate)>> {
    let mut q = hazards::table
        .filter(hazards::status.eq_any(DEADLINE_RUNNING))
        .filter(hazards::effective_deadline.le(hi))
        .select((hazards::id, hazards::effective_deadline.assume_not_null()))
        .into_boxed();
    if let Some(lo) = lo {
        q = q.filter(hazards::effective_deadline.ge(lo));
    }
    q.load(conn)
}

/// Hazards awaiting acceptance whose acceptance is due on or before `due_hi`.
pub fn awaiting_acceptance(
    conn: &mut DbConn,
    due_hi: NaiveDate,
) -> QueryResult<Vec<(String, NaiveDate)>> {
    hazards::table
        .filter(hazards::status.eq("pending_acceptance"))
        .filter(hazards::acceptance_due_on.le(due_hi))
        .select((hazards::id, hazards::acceptance_due_on.assume_not_null()))
        .load(conn)
}

/// Open 重大 hazards without a filed plan: (id, content JSON, the plan_file_by of the listing
/// in force, if listed).
pub fn without_plan(conn: &mut DbConn) -> QueryResult<Vec<(String, String, Option<NaiveDate>)>> {
    let rows: Vec<(String, String, Option<NaiveDate>, Option<NaiveDate>)> = hazards::table
        .left_join(listings::table)
        .filter(hazards::level.eq("major"))
        .filter(hazards::plan_filed.eq(false))
        .filter(hazards::status.eq_any(["submitted", "on_ledger", "in_rectification"]))
        .select((
            hazards::id,
            hazards::content,
            listings::plan_file_by.nullable(),
            listings::delisted_on.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, content, file_by, delisted)| {
            (id, content, file_by.filter(|_| delisted.is_none()))
        })
        .collect())
}

/// Listed hazards in rectification with no progress update since `since`.
pub fn listed_without_progress(
    conn: &mut DbConn,
    since: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    hazards::table
        .filter(hazards::listed.eq(true))
        .filter(hazards::status.eq_any(DEADLINE_RUNNING))
        .filter(not(exists(
            hazard_records::table
                .filter(hazard_records::hazard_id.eq(hazards::id))
                .filter(hazard_records::kind.eq("progress"))
                .filter(hazard_records::created_at.ge(since)),
        )))
        .select(hazards::id)
        .load(conn)
}

/// Open 重大 hazards submitted on or before `submitted_hi` without any congress report.
pub fn without_congress_report(
    conn: &mut DbConn,
    submitted_hi: NaiveDate,
) -> QueryResult<Vec<(String, NaiveDate)>> {
    hazards::table
        .filter(hazards::level.eq("major"))
        .filter(hazards::status.eq_any([
            "submitted",
            "returned",
            "on_ledger",
            "in_rectification",
            "pending_acceptance",
        ]))
        .filter(hazards::submitted_on.le(submitted_hi))
        .filter(not(exists(
            hazard_records::table
                .filter(hazard_records::hazard_id.eq(hazards::id))
                .filter(hazard_records::kind.eq("congress_report")),
        )))
        .select((hazards::id, hazards::submitted_on.assume_not_null()))
        .load(conn)
}

/// What an email says about a hazard.
#[derive(Debug, Clone, Queryable)]
pub struct HazardBrief {
    pub id: String,
    pub ledger_no: Option<String>,
    pub title: String,
    pub status: String,
    pub level: String,
    pub enterprise_id: String,
    pub enterprise_name: String,
    pub uscc: String,
    pub notify_emails: String,
    pub street_code: String,
    pub street_name: String,
    pub primary_department: String,
    pub department_name: String,
    pub listed: bool,
    pub listing_level: Option<String>,
    pub doc_no: Option<String>,
    pub supervising_department: Option<String>,
    pub deadline: Option<NaiveDate>,
    pub effective_deadline: Option<NaiveDate>,
    pub completed_on: Option<NaiveDate>,
    pub content: String,
}

impl HazardBrief {
    /// Under 挂牌督办, or listed until its close-out or void just ended the listing (an email
    /// about that end still goes to those who supervised it).
    pub fn supervised(&self) -> bool {
        self.listed || (self.doc_no.is_some() && matches!(self.status.as_str(), "closed" | "void"))
    }
}

/// Briefs of `ids` (any order).
pub fn briefs(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<HazardBrief>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<HazardBrief> = brief_joins()
            .filter(hazards::id.eq_any(chunk))
            .select(brief_columns())
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The brief of one hazard (an event's email): one statement that is prepared once.
pub fn brief(conn: &mut DbConn, id: &str) -> QueryResult<Option<HazardBrief>> {
    crate::on_backend!(conn, |c| brief_joins()
        .filter(hazards::id.eq(id))
        .select(brief_columns())
        .get_result(c)
        .optional())
}

/// The tables a brief reads.
#[diesel::dsl::auto_type]
fn brief_joins() -> _ {
    hazards::table
        .inner_join(enterprises::table)
        .inner_join(streets::table.on(streets::code.eq(hazards::street_code)))
        .inner_join(departments::table.on(departments::code.eq(hazards::primary_department)))
        .left_join(listings::table)
}

/// The columns of [`HazardBrief`], in order.
#[diesel::dsl::auto_type]
fn brief_columns() -> _ {
    (
        hazards::id,
        hazards::ledger_no,
        hazards::title,
        hazards::status,
        hazards::level,
        hazards::enterprise_id,
        enterprises::name,
        enterprises::uscc,
        enterprises::notify_emails,
        hazards::street_code,
        streets::name,
        hazards::primary_department,
        departments::name,
        hazards::listed,
        listings::level.nullable(),
        listings::doc_no.nullable(),
        listings::supervising_department.nullable(),
        hazards::deadline,
        hazards::effective_deadline,
        hazards::completed_on,
        hazards::content,
    )
}

/// The last word on a hazard's work, per hazard of `ids`: the enterprise's newest progress
/// update, written explanation of lateness or completion report, or the acceptance check that
/// followed it (a failed one undoes the completion, T12), as (kind, payload JSON, recorded at).
pub fn last_progress(
    conn: &mut DbConn,
    ids: &[String],
) -> QueryResult<HashMap<String, (String, String, NaiveDateTime)>> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, String, String, NaiveDateTime)> = hazard_records::table
            .filter(hazard_records::hazard_id.eq_any(chunk))
            .filter(hazard_records::kind.eq_any([
                "progress",
                "overdue_explanation",
                "completion",
                "acceptance",
            ]))
            // Records of one instant (a completion and the check that failed it, with a pinned
            // clock) in the order they were made: ids are UUIDv7.
            .order((
                hazard_records::hazard_id,
                hazard_records::created_at,
                hazard_records::id,
            ))
            .select((
                hazard_records::hazard_id,
                hazard_records::kind,
                hazard_records::payload,
                hazard_records::created_at,
            ))
            .load(conn)?;
        for (id, kind, payload, at) in rows {
            out.insert(id, (kind, payload, at));
        }
    }
    Ok(out)
}

/// An active user who can be emailed.
#[derive(Debug, Clone, Queryable)]
pub struct Mailable {
    pub role: String,
    pub enterprise_id: Option<String>,
    pub street_code: Option<String>,
    pub department_code: Option<String>,
    pub email: String,
}

/// The active users with an email address, as [`Mailable`].
#[diesel::dsl::auto_type]
fn mailable() -> _ {
    users::table
        .filter(users::active.eq(true))
        .filter(users::email.is_not_null())
        .select((
            users::role,
            users::enterprise_id,
            users::street_code,
            users::department_code,
            users::email.assume_not_null(),
        ))
}

/// Every active user with an email address.
pub fn mailable_users(conn: &mut DbConn) -> QueryResult<Vec<Mailable>> {
    mailable().load(conn)
}

/// Whose users an email about one hazard may go to.
#[derive(Debug, Default)]
pub struct MailGroups<'a> {
    /// The enterprise's users.
    pub enterprise: Option<&'a str>,
    /// The street's officers.
    pub street: Option<&'a str>,
    /// These departments' inspectors (at most two: the primary and the supervising one).
    pub departments: Vec<&'a str>,
    /// The district office.
    pub district: bool,
}

/// The active users with an email in `groups`. One statement of fixed shape, prepared once:
/// a group left out is compared with `NULL`, which matches nobody.
pub fn mailable_for(conn: &mut DbConn, groups: &MailGroups<'_>) -> QueryResult<Vec<Mailable>> {
    let department = |i: usize| groups.departments.get(i).copied();
    let district = groups.district.then_some("district_office");
    debug_assert!(groups.departments.len() <= 2);
    crate::on_backend!(conn, |c| mailable()
        .filter(
            users::enterprise_id
                .eq(groups.enterprise)
                .or(users::street_code.eq(groups.street))
                .or(users::department_code.eq(department(0)))
                .or(users::department_code.eq(department(1)))
                .or(users::role.nullable().eq(district)),
        )
        .load(c))
}
