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
            let _: Indexed = super::fixed_sql::Prepared(
                diesel::sql_query(
                    "INSERT INTO hazard_search (rowid, hazard_id, body) \
                     SELECT rowid, id, ? FROM hazards WHERE id = ? RETURNING hazard_id",
                )
                .bind::<Text, _>(body)
                .bind::<Text, _>(hazard_id),
            )
            .get_result(conn)?;
            Ok(())
        }
        DbConn::Pg(_) => index(conn, hazard_id, body),
    }
}

/// The hazard whose search row was just written (`RETURNING`, so that the statement is run
/// by `get_result` and stays prepared: see [`super::fixed_sql::Prepared`]).
#[derive(diesel::QueryableByName)]
pub struct Indexed {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    hazard_id: String,
}

/// The searchable text of a hazard.
pub fn body(title: &str, description: &str, location: &str, enterprise_name: &str) -> String {
    [title, description, location, enterprise_name].join("\n")
}

/// Matches counted before choosing a plan; at least this many make a text "common".
pub const COMMON: i64 = 1_000;

/// How a list query meets its text filter. Counting the matches (at most [`COMMON`]) first lets
/// the database do the cheap thing: a rare text's few matches are looked up and sorted, while a
/// common text is checked row by row along the list's own index, which stops at the page's end
/// instead of producing every match first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Few matches: the set of matches drives the query.
    Few,
    /// Many matches: the sort order drives, each row checked against the text.
    Many,
}

/// The FTS5 phrase that matches `text` as a substring (trigram tokens in a row), or `None` when
/// the text is shorter than a trigram; such a text is matched with `LIKE` (a scan of the index).
fn phrase(text: &str) -> Option<String> {
    (text.chars().count() >= 3).then(|| format!("\"{}\"", text.replace('"', "\"\"")))
}

fn like_pattern(text: &str) -> String {
    format!("%{}%", super::enterprises::escape_like(text))
}

/// Counts the matches of `text` up to [`COMMON`] and chooses the plan.
pub fn plan(conn: &mut DbConn, text: &str) -> QueryResult<Plan> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = match conn {
        DbConn::Sqlite(_) => match phrase(text) {
            Some(phrase) => diesel::sql_query(format!(
                "SELECT COUNT(*) AS n FROM (SELECT 1 FROM hazard_search \
                 WHERE hazard_search MATCH ? LIMIT {COMMON})"
            ))
            .bind::<Text, _>(phrase)
            .get_result::<Count>(conn)?,
            // Shorter than a trigram: every row is read to match it anyway.
            None => return Ok(Plan::Few),
        },
        DbConn::Pg(_) => diesel::sql_query(format!(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM hazard_search \
             WHERE body ILIKE $1 ESCAPE '\\' LIMIT {COMMON}) m"
        ))
        .bind::<Text, _>(like_pattern(text))
        .get_result::<Count>(conn)?,
    };
    Ok(if count.n >= COMMON {
        Plan::Many
    } else {
        Plan::Few
    })
}

/// A filter "the hazard's text contains `text`" for `hazards` queries of this backend.
pub fn matches(
    backend_is_pg: bool,
    text: &str,
    plan: Plan,
) -> Box<dyn BoxableExpression<super::schema::hazards::table, MultiBackend, SqlType = Bool>> {
    let pattern = like_pattern(text);
    match (backend_is_pg, plan) {
        // The trigram index finds the matches; the semi-join looks each hazard up.
        (true, Plan::Few) => Box::new(
            diesel::dsl::sql::<Bool>(
                "hazards.id IN (SELECT hazard_id FROM hazard_search WHERE body ILIKE ",
            )
            .bind::<Text, _>(pattern)
            .sql(" ESCAPE '\\')"),
        ),
        // A scalar subquery cannot be turned into a join: each row of the list's own index scan
        // fetches its text by primary key and is checked, until the page is full.
        (true, Plan::Many) => Box::new(
            diesel::dsl::sql::<Bool>(
                "(SELECT body FROM hazard_search WHERE hazard_search.hazard_id = hazards.id) ILIKE ",
            )
            .bind::<Text, _>(pattern)
            .sql(" ESCAPE '\\'"),
        ),
        (false, plan) => {
            // `+rowid` keeps SQLite from driving the query by the matches' rowids (look up each,
            // then sort); the list's index drives and probes the set of matches instead.
            let column = match plan {
                Plan::Few => "hazards.rowid",
                Plan::Many => "+hazards.rowid",
            };
            match phrase(text) {
                Some(phrase) => Box::new(
                    diesel::dsl::sql::<Bool>(&format!(
                        "{column} IN (SELECT rowid FROM hazard_search WHERE hazard_search MATCH "
                    ))
                    .bind::<Text, _>(phrase)
                    .sql(")"),
                ),
                None => Box::new(
                    diesel::dsl::sql::<Bool>(&format!(
                        "{column} IN (SELECT rowid FROM hazard_search WHERE body LIKE "
                    ))
                    .bind::<Text, _>(pattern)
                    .sql(" ESCAPE '\\')"),
                ),
            }
        }
    }
}
