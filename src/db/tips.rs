//! Tip-offs (举报): rows, scoped lookups and lists, events, photos, the reporter's contact
//! (kept in its own table and read by one function only) and spent challenge nonces.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::{tip_challenges_used, tip_contacts, tip_events, tip_photos, tips};
use crate::policy::TipScope;

/// A tip row (without the reporter's contact, which lives in `tip_contacts`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = tips, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct TipRow {
    pub id: String,
    pub receipt_hash: String,
    pub status: String,
    pub description: String,
    pub location: String,
    pub occurred_on: NaiveDate,
    pub street_code: Option<String>,
    pub street_routed_by: Option<String>,
    pub sector_code: Option<String>,
    pub department_code: Option<String>,
    pub anonymous: bool,
    pub resolution: Option<String>,
    pub hazard_id: Option<String>,
    pub duplicate_of: Option<String>,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub resolved_on: Option<NaiveDate>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The reporter's name and phone.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = tip_contacts, treat_none_as_default_value = false)]
pub struct ContactRow {
    #[serde(skip)]
    pub tip_id: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    #[serde(skip)]
    pub created_at: NaiveDateTime,
}

/// One step in a tip's history.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = tip_events, treat_none_as_default_value = false)]
pub struct TipEventRow {
    pub id: String,
    pub tip_id: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    /// JSON text.
    pub details: String,
    /// Internal; never on the status page.
    pub note: Option<String>,
    /// Shown on the status page.
    pub public_message: Option<String>,
    pub actor_id: Option<String>,
    pub created_at: NaiveDateTime,
}

/// A photo sent with a tip.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = tip_photos, treat_none_as_default_value = false)]
pub struct TipPhotoRow {
    pub id: String,
    #[serde(skip)]
    pub tip_id: String,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub created_at: NaiveDateTime,
}

type Boxed<'a> = tips::BoxedQuery<'a, super::MultiBackend>;

/// Restricts a tip query to the caller's tips.
pub fn scoped<'a>(scope: &'a TipScope) -> Boxed<'a> {
    let q = tips::table.into_boxed();
    match scope {
        TipScope::All => q,
        TipScope::Street(s) => q.filter(tips::street_code.eq(s)),
        TipScope::Department(d) => q.filter(tips::department_code.eq(d)),
    }
}

/// One tip within the scope.
pub fn find(conn: &mut DbConn, scope: &TipScope, id: &str) -> QueryResult<Option<TipRow>> {
    scoped(scope)
        .filter(tips::id.eq(id))
        .select(TipRow::as_select())
        .get_result(conn)
        .optional()
}

/// The tip a receipt code (its hash) belongs to.
pub fn by_receipt(conn: &mut DbConn, receipt_hash: &str) -> QueryResult<Option<TipRow>> {
    tips::table
        .filter(tips::receipt_hash.eq(receipt_hash))
        .select(TipRow::as_select())
        .get_result(conn)
        .optional()
}

/// The officers' list filters, checked.
#[derive(Debug, Default)]
pub struct PageFilter {
    pub statuses: Vec<String>,
    pub street: Option<String>,
    pub department: Option<String>,
    /// Open tips past their verification date as of this day.
    pub overdue: Option<chrono::NaiveDate>,
    /// Tips not overdue as of this day (closed ones, and open ones still in time).
    pub not_overdue: Option<chrono::NaiveDate>,
}

/// A page of the caller's tips, newest first, after `cursor` (an id), `limit + 1` rows.
pub fn page(
    conn: &mut DbConn,
    scope: &TipScope,
    f: &PageFilter,
    cursor: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<TipRow>> {
    let mut q = scoped(scope);
    if !f.statuses.is_empty() {
        q = q.filter(tips::status.eq_any(&f.statuses));
    }
    if let Some(s) = &f.street {
        q = q.filter(tips::street_code.eq(s));
    }
    if let Some(d) = &f.department {
        q = q.filter(tips::department_code.eq(d));
    }
    // A tip still being dealt with has its verification date counted.
    let open = crate::domain::tip::TipStatus::OPEN.map(|s| s.as_str());
    if let Some(today) = f.overdue {
        q = q.filter(tips::status.eq_any(open).and(tips::due_on.lt(today)));
    }
    if let Some(today) = f.not_overdue {
        q = q.filter(tips::status.ne_all(open).or(tips::due_on.ge(today)));
    }
    if let Some(c) = cursor {
        q = q.filter(tips::id.lt(c));
    }
    q.order(tips::id.desc())
        .limit(limit + 1)
        .select(TipRow::as_select())
        .load(conn)
}

/// How many tips in the scope wait for verification, and how many of them are past their
/// verification date as of `today`.
pub fn open_counts(
    conn: &mut DbConn,
    scope: &TipScope,
    today: chrono::NaiveDate,
) -> QueryResult<(i64, i64)> {
    let open = crate::domain::tip::TipStatus::OPEN.map(|s| s.as_str());
    let waiting = scoped(scope)
        .filter(tips::status.eq_any(open))
        .count()
        .get_result(conn)?;
    let late = scoped(scope)
        .filter(tips::status.eq_any(open).and(tips::due_on.lt(today)))
        .count()
        .get_result(conn)?;
    Ok((waiting, late))
}

/// Inserts a new tip and, when given, the reporter's contact.
pub fn insert(conn: &mut DbConn, row: &TipRow, contact: Option<&ContactRow>) -> QueryResult<()> {
    diesel::insert_into(tips::table).values(row).execute(conn)?;
    if let Some(c) = contact {
        diesel::insert_into(tip_contacts::table)
            .values(c)
            .execute(conn)?;
    }
    Ok(())
}

/// Writes `row` if nobody changed it since `expected_version` was read; false otherwise.
pub fn update_if_version(
    conn: &mut DbConn,
    row: &TipRow,
    expected_version: i32,
) -> QueryResult<bool> {
    let n = diesel::update(
        tips::table
            .filter(tips::id.eq(&row.id))
            .filter(tips::version.eq(expected_version)),
    )
    .set(row)
    .execute(conn)?;
    Ok(n == 1)
}

/// The reporter's contact. Only the officer detail view calls this.
pub fn contact(conn: &mut DbConn, tip_id: &str) -> QueryResult<Option<ContactRow>> {
    tip_contacts::table
        .find(tip_id)
        .select(ContactRow::as_select())
        .get_result(conn)
        .optional()
}

/// Appends one event.
pub fn add_event(conn: &mut DbConn, row: &TipEventRow) -> QueryResult<()> {
    diesel::insert_into(tip_events::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A tip's events, oldest first.
pub fn events(conn: &mut DbConn, tip_id: &str) -> QueryResult<Vec<TipEventRow>> {
    tip_events::table
        .filter(tip_events::tip_id.eq(tip_id))
        .order((tip_events::created_at, tip_events::id))
        .select(TipEventRow::as_select())
        .load(conn)
}

/// Records a photo.
pub fn add_photo(conn: &mut DbConn, row: &TipPhotoRow) -> QueryResult<()> {
    diesel::insert_into(tip_photos::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A tip's photos, oldest first.
pub fn photos(conn: &mut DbConn, tip_id: &str) -> QueryResult<Vec<TipPhotoRow>> {
    tip_photos::table
        .filter(tip_photos::tip_id.eq(tip_id))
        .order((tip_photos::created_at, tip_photos::id))
        .select(TipPhotoRow::as_select())
        .load(conn)
}

/// One photo of a tip.
pub fn photo(conn: &mut DbConn, tip_id: &str, id: &str) -> QueryResult<Option<TipPhotoRow>> {
    tip_photos::table
        .filter(tip_photos::tip_id.eq(tip_id))
        .filter(tip_photos::id.eq(id))
        .select(TipPhotoRow::as_select())
        .get_result(conn)
        .optional()
}

/// Spends a challenge nonce: false when it was spent already. Forgets expired nonces first.
pub fn spend_nonce(
    conn: &mut DbConn,
    nonce: &str,
    expires_at: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::delete(tip_challenges_used::table.filter(tip_challenges_used::expires_at.lt(now)))
        .execute(conn)?;
    let spent: Option<String> = tip_challenges_used::table
        .find(nonce)
        .select(tip_challenges_used::nonce)
        .get_result(conn)
        .optional()?;
    if spent.is_some() {
        return Ok(false);
    }
    diesel::insert_into(tip_challenges_used::table)
        .values((
            tip_challenges_used::nonce.eq(nonce),
            tip_challenges_used::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(true)
}
