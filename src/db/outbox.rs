//! The outbox: emails written in the transaction of the event that causes them, then claimed
//! row by row (a conditional UPDATE, so two instances never send the same row) and sent.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::outbox;

/// An email waiting, sent or given up.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
pub struct OutboxRow {
    pub id: String,
    /// `digest` (a job run's reminders and escalations) or `event` (one hazard event).
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    #[serde(skip)]
    pub body_text: String,
    #[serde(skip)]
    pub body_html: String,
    pub message_id: String,
    #[serde(skip)]
    pub hazard_ids: String,
    pub job_run_id: Option<String>,
    /// `pending`, `sending`, `sent` or `dead`.
    pub status: String,
    pub attempts: i32,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub next_attempt_at: NaiveDateTime,
    pub claimed_by: Option<String>,
    #[serde(serialize_with = "crate::timefmt::serialize_opt")]
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::timefmt::serialize_opt")]
    pub sent_at: Option<NaiveDateTime>,
}

impl OutboxRow {
    /// The hazards the email is about.
    pub fn hazards(&self) -> Vec<String> {
        serde_json::from_str(&self.hazard_ids).unwrap_or_default()
    }
}

/// Adds emails (inside the caller's transaction).
pub fn insert(conn: &mut DbConn, rows: &[OutboxRow]) -> QueryResult<()> {
    // An event's few emails one by one: a one-row INSERT stays prepared, a multi-row one is
    // written out and prepared again each time.
    if rows.len() <= 4 {
        for row in rows {
            crate::on_backend!(conn, |c| diesel::insert_into(outbox::table)
                .values(row)
                .execute(c))?;
        }
        return Ok(());
    }
    for chunk in rows.chunks(200) {
        crate::insert_many!(conn, outbox::table, chunk)?;
    }
    Ok(())
}

/// A row is due: pending and its time has come, or claimed by an instance whose lease ran out.
fn due_at(
    now: NaiveDateTime,
) -> Box<dyn BoxableExpression<outbox::table, super::MultiBackend, SqlType = diesel::sql_types::Bool>>
{
    Box::new(
        outbox::status
            .eq("pending")
            .and(outbox::next_attempt_at.le(now))
            .or(outbox::status
                .eq("sending")
                .and(outbox::claimed_until.lt(now).assume_not_null())),
    )
}

/// Ids of rows due for an attempt: pending and due, or claimed by an instance whose lease ran out.
pub fn due(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    outbox::table
        .filter(due_at(now))
        .order((outbox::next_attempt_at, outbox::id))
        .select(outbox::id)
        .limit(limit)
        .load(conn)
}

/// Claims one row for `instance` until `until`; `None` when another instance was quicker.
pub fn claim(
    conn: &mut DbConn,
    id: &str,
    instance: &str,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> QueryResult<Option<OutboxRow>> {
    let n = diesel::update(outbox::table.find(id).filter(due_at(now)))
        .set((
            outbox::status.eq("sending"),
            outbox::claimed_by.eq(instance),
            outbox::claimed_until.eq(until),
            outbox::attempts.eq(outbox::attempts + 1),
        ))
        .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .get_result(conn)
        .optional()
}

/// The row was accepted by the mail server. False when the claim was lost meanwhile.
pub fn mark_sent(
    conn: &mut DbConn,
    id: &str,
    instance: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq("sending"))
            .filter(outbox::claimed_by.eq(instance)),
    )
    .set((
        outbox::status.eq("sent"),
        outbox::sent_at.eq(Some(now)),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The attempt failed: try again at `retry_at`, or give up (`None`: the row is `dead`).
/// False when the claim was lost meanwhile.
pub fn mark_failed(
    conn: &mut DbConn,
    id: &str,
    instance: &str,
    error: &str,
    retry_at: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    let claimed = outbox::table
        .find(id)
        .filter(outbox::status.eq("sending"))
        .filter(outbox::claimed_by.eq(instance));
    let released = (
        outbox::last_error.eq(Some(error)),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
    );
    let n = match retry_at {
        Some(at) => diesel::update(claimed)
            .set((
                outbox::status.eq("pending"),
                outbox::next_attempt_at.eq(at),
                released,
            ))
            .execute(conn)?,
        None => diesel::update(claimed)
            .set((outbox::status.eq("dead"), released))
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// A `dead` email sent again: pending now, with a fresh count of attempts. False when the row
/// is not dead (sent, or still being tried).
pub fn requeue(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(outbox::table.find(id).filter(outbox::status.eq("dead")))
        .set((
            outbox::status.eq("pending"),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Filters of the admin listing.
#[derive(Debug, Default)]
pub struct OutboxFilter {
    pub status: Option<String>,
    pub recipient: Option<String>,
    /// Keyset: rows older than this id (ids are UUIDv7, ordered by creation).
    pub before: Option<String>,
}

/// Newest first.
pub fn list(conn: &mut DbConn, f: &OutboxFilter, limit: i64) -> QueryResult<Vec<OutboxRow>> {
    let mut q = outbox::table.select(OutboxRow::as_select()).into_boxed();
    if let Some(s) = &f.status {
        q = q.filter(outbox::status.eq(s.clone()));
    }
    // Addresses are stored in lower case (one mailbox whatever the case).
    if let Some(r) = &f.recipient {
        q = q.filter(outbox::recipient.eq(r.trim().to_lowercase()));
    }
    if let Some(id) = &f.before {
        q = q.filter(outbox::id.lt(id.clone()));
    }
    q.order(outbox::id.desc()).limit(limit).load(conn)
}

/// One row.
pub fn get(conn: &mut DbConn, id: &str) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .get_result(conn)
        .optional()
}

/// Rows by status.
/// Rows per status; for one mailbox when `recipient` is given (as the list's filter reads it).
pub fn counts(conn: &mut DbConn, recipient: Option<&str>) -> QueryResult<Vec<(String, i64)>> {
    let mut q = outbox::table
        .group_by(outbox::status)
        .select((outbox::status, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(r) = recipient {
        q = q.filter(outbox::recipient.eq(r.trim().to_lowercase()));
    }
    q.load(conn)
}
