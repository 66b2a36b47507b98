//! Full-text search over a hazard's title, description, location and enterprise name, with the
//! database's own trigram facility (SQLite FTS5 `trigram`, PostgreSQL `pg_trgm`), so Chinese
//! text needs no word segmentation.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::{DbConn, MultiBackend};

/// (Re)indexes one hazard.
pub fn index(conn: &mut DbConn, hazard_id: &str, body: &str) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(_) => {
            // FTS5 rows are addressed by the hazard's rowid, so replacing one never scans.
            diesel::sql_query(
                "DELETE FROM hazard_search WHERE rowid = (SELECT rowid FROM hazards WHERE id = ?)",
            )
            .bind::<Text, _>(hazard_id)
            .execute(conn)?;
            diesel::sql_query(
                "INSERT INTO hazard_search (rowid, hazard_id, body) \
                 SELECT rowid, id, ? FROM hazards WHERE id = ?",
            )
            .bind::<Text, _>(body)
            .bind::<Text, _>(hazard_id)
            .execute(conn)?;
        }
        DbConn::Pg(_) => {
            diesel::sql_query(
                "INSERT INTO hazard_search (hazard_id, body) VALUES ($1, $2) \
                 ON CONFLICT (hazard_id) DO UPDATE SET body = EXCLUDED.body",
            )
            .bind::<Text, _>(hazard_id)
            .bind::<Text, _>(body)
            .execute(conn)?;
        }
    }
    Ok(())
}

/// Indexes a hazard inserted in this transaction (nothing to replace).
pub fn index_new(conn: &mut DbConn, hazard_id: &str, body: &str) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(_) => {
            diesel::sql_query(
                "INSERT INTO hazard_search (rowid, hazard_id, body) \
                 SELECT rowid, id, ? FROM hazards WHERE id = ?",
            )
            .bind::<Text, _>(body)
            .bind::<Text, _>(hazard_id)
            .execute(conn)?;
            Ok(())
        }
        DbConn::Pg(_) => index(conn, hazard_id, body),
    }
}

/// The searchable text of a hazard.
pub fn body(title: &str, description: &str, location: &str, enterprise_name: &str) -> String {
    [title, description, location, enterprise_name].join("\n")
}

/// A filter "the hazard's text contains `text`" for `hazards` queries of this backend.
pub fn matches(
    backend_is_pg: bool,
    text: &str,
) -> Box<dyn BoxableExpression<super::schema::hazards::table, MultiBackend, SqlType = Bool>> {
    let pattern = format!("%{}%", super::enterprises::escape_like(text));
    if backend_is_pg {
        Box::new(
            diesel::dsl::sql::<Bool>(
                "hazards.id IN (SELECT hazard_id FROM hazard_search WHERE body ILIKE ",
            )
            .bind::<Text, _>(pattern)
            .sql(" ESCAPE '\\')"),
        )
    } else {
        Box::new(
            diesel::dsl::sql::<Bool>(
                "hazards.rowid IN (SELECT rowid FROM hazard_search WHERE body LIKE ",
            )
            .bind::<Text, _>(pattern)
            .sql(" ESCAPE '\\')"),
        )
    }
}
