//! 挂牌督办 records: one listing per hazard.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::listings;

/// A listing row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = listings, treat_none_as_default_value = false)]
pub struct ListingRow {
    #[serde(skip)]
    pub hazard_id: String,
    pub level: String,
    pub doc_no: String,
    pub supervising_unit: String,
    pub supervising_department: String,
    pub signed_by: String,
    pub complete_by: NaiveDate,
    pub plan_file_by: NaiveDate,
    pub listed_on: NaiveDate,
    pub listed_by: String,
    pub delivered_by: Option<String>,
    pub received_by: Option<String>,
    #[serde(serialize_with = "crate::timefmt::serialize_opt")]
    pub received_at: Option<NaiveDateTime>,
    pub delisted_on: Option<NaiveDate>,
}

/// The listing of a hazard, if any.
pub fn of(conn: &mut DbConn, hazard_id: &str) -> QueryResult<Option<ListingRow>> {
    listings::table
        .find(hazard_id)
        .select(ListingRow::as_select())
        .get_result(conn)
        .optional()
}

/// Whether a 文号 is in use.
pub fn doc_no_taken(conn: &mut DbConn, doc_no: &str) -> QueryResult<bool> {
    let n: i64 = listings::table
        .filter(listings::doc_no.eq(doc_no))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Records a new listing.
pub fn insert(conn: &mut DbConn, row: &ListingRow) -> QueryResult<()> {
    diesel::insert_into(listings::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Records the delivery (送达) and receipt (签收) of the notice.
pub fn deliver(
    conn: &mut DbConn,
    hazard_id: &str,
    by: &str,
    received_by: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(listings::table.find(hazard_id))
        .set((
            listings::delivered_by.eq(Some(by)),
            listings::received_by.eq(Some(received_by)),
            listings::received_at.eq(Some(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves the date the notice orders the work done by (an approved extension).
pub fn set_complete_by(conn: &mut DbConn, hazard_id: &str, on: NaiveDate) -> QueryResult<()> {
    diesel::update(listings::table.find(hazard_id))
        .set(listings::complete_by.eq(on))
        .execute(conn)?;
    Ok(())
}

/// Ends the supervision (the hazard closed).
pub fn delist(conn: &mut DbConn, hazard_id: &str, on: NaiveDate) -> QueryResult<()> {
    diesel::update(
        listings::table
            .find(hazard_id)
            .filter(listings::delisted_on.is_null()),
    )
    .set(listings::delisted_on.eq(Some(on)))
    .execute(conn)?;
    Ok(())
}
