//! Attachment metadata (the bytes live in the blob store).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::attachments;
use crate::domain::hazard::AttachmentFacts;

/// An attachment row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = attachments, treat_none_as_default_value = false)]
pub struct AttachmentRow {
    pub id: String,
    pub hazard_id: String,
    pub kind: String,
    pub caption: Option<String>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    #[serde(serialize_with = "crate::timefmt::serialize_opt")]
    pub taken_at: Option<NaiveDateTime>,
    pub uploaded_by: Option<String>,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub created_at: NaiveDateTime,
}

/// Kinds of attachment.
pub const KINDS: [&str; 6] = ["before", "after", "plan", "report", "notice", "other"];

/// Inserts one.
pub fn insert(conn: &mut DbConn, row: &AttachmentRow) -> QueryResult<()> {
    diesel::insert_into(attachments::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Removes one (its bytes stay in the blob store, which other rows may share).
pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::delete(attachments::table.find(id)).execute(conn)?;
    Ok(())
}

/// One attachment by id.
pub fn by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<AttachmentRow>> {
    attachments::table
        .find(id)
        .select(AttachmentRow::as_select())
        .get_result(conn)
        .optional()
}

/// A hazard's attachments, oldest first.
pub fn for_hazard(conn: &mut DbConn, hazard_id: &str) -> QueryResult<Vec<AttachmentRow>> {
    attachments::table
        .filter(attachments::hazard_id.eq(hazard_id))
        .order((attachments::created_at, attachments::id))
        .select(AttachmentRow::as_select())
        .load(conn)
}

/// Which photos and documents the rules ask about are present.
pub fn facts(list: &[AttachmentRow]) -> AttachmentFacts {
    let images = |kind: &'static str| {
        list.iter()
            .filter(move |a| a.kind == kind && a.content_type.starts_with("image/"))
    };
    let photo = |kind: &'static str| images(kind).next().is_some();
    let after_same_as_before = photo("after")
        && images("after").all(|after| images("before").any(|b| b.sha256 == after.sha256));
    AttachmentFacts {
        before_photo: photo("before"),
        after_photo: photo("after"),
        acceptance_photo: false,
        assessment_report: list.iter().any(|a| a.kind == "report"),
        after_same_as_before,
    }
}
