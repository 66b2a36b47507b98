//! Fixed SQL in diesel statements without losing the prepared-statement cache.
//!
//! Diesel never caches a statement that contains a `dsl::sql` literal, a `sql_query`, an
//! `UPDATE` or an upsert, as it cannot know whether their text is bounded; such a statement is
//! parsed and planned again on every execution (on SQLite a large one costs more than running
//! it; on PostgreSQL the planning adds to the round trip). [`Fixed`] is an expression whose
//! text is part of the program; [`Prepared`] marks a whole statement whose texts are.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping,
    is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::result::QueryResult;

/// An SQL expression of type `ST` whose text is a constant of the program.
#[derive(Debug, Clone, Copy)]
pub struct Fixed<ST> {
    sql: &'static str,
    _type: PhantomData<ST>,
}

/// `sql` as an expression of type `ST`; it must not contain bind parameters.
pub fn fixed<ST: TypedExpressionType>(sql: &'static str) -> Fixed<ST> {
    Fixed {
        sql,
        _type: PhantomData,
    }
}

/// [`fixed`] with the text for `conn`'s backend.
pub fn fixed_for<ST: TypedExpressionType>(
    conn: &super::DbConn,
    postgres: &'static str,
    sqlite: &'static str,
) -> Fixed<ST> {
    fixed(match conn {
        super::DbConn::Pg(_) => postgres,
        super::DbConn::Sqlite(_) => sqlite,
    })
}

impl<ST: TypedExpressionType> Expression for Fixed<ST> {
    type SqlType = ST;
}

impl<ST, DB: Backend> QueryFragment<DB> for Fixed<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        // Unlike `dsl::sql`, no `unsafe_to_cache_prepared`: the text never changes, so the
        // statement's SQL (the cache key of a boxed query) stays the same from call to call.
        out.push_sql(self.sql);
        Ok(())
    }
}

impl<ST> QueryId for Fixed<ST> {
    type QueryId = ();
    // The text is not part of the type, so the type cannot identify the statement.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS, ST: TypedExpressionType> SelectableExpression<QS> for Fixed<ST> {}

impl<QS, ST: TypedExpressionType> AppearsOnTable<QS> for Fixed<ST> {}

impl<ST, GB> ValidGrouping<GB> for Fixed<ST> {
    type IsAggregate = is_aggregate::Never;
}

/// A statement whose SQL comes from a bounded set of texts, cached as a prepared statement
/// although diesel would not cache it: an `UPDATE` (its `SET` lists the columns that changed;
/// a transition changes the same few each time), a `sql_query` with constant text and
/// parameters. The cache key is the statement's SQL text and bind types, so each distinct text
/// is one cache entry: never wrap a statement whose text grows with its input (`IN (…)` over a
/// list, multi-row `VALUES`).
///
/// Run it with `load`/`get_result`, never `execute`: `execute` hands diesel the statement by
/// reference, and the reference's `QueryFragment` does not pass `is_safe_to_cache_prepared`
/// on, so the statement would be prepared again on every execution. An `UPDATE` or `INSERT`
/// wrapped here therefore ends in `RETURNING`.
#[derive(Debug, Clone, Copy)]
pub struct Prepared<Q>(pub Q);

impl<Q, DB> QueryFragment<DB> for Prepared<Q>
where
    Q: QueryFragment<DB>,
    DB: Backend,
{
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    // The cache is then keyed by the SQL text, never by the type.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> diesel::RunQueryDsl<Conn> for Prepared<Q> {}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use diesel::connection::{Connection, InstrumentationEvent};
    use diesel::prelude::*;
    use diesel::sql_types::{Integer, Text};
    use diesel::sqlite::SqliteConnection;

    use super::*;

    #[derive(QueryableByName)]
    struct X {
        #[diesel(sql_type = Integer)]
        x: i32,
    }

    /// A connection that counts the statements it puts into its prepared-statement cache.
    fn counting() -> (SqliteConnection, Arc<AtomicUsize>) {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let cached = Arc::new(AtomicUsize::new(0));
        let n = cached.clone();
        conn.set_instrumentation(move |e: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { .. } = e {
                n.fetch_add(1, Ordering::SeqCst);
            }
        });
        (conn, cached)
    }

    #[test]
    fn prepared_statements_enter_the_cache_once() {
        let (mut conn, cached) = counting();
        for i in 0..3 {
            let q = diesel::sql_query("SELECT ? + 1 AS x").bind::<Integer, _>(i);
            let row: X = Prepared(q).get_result(&mut conn).unwrap();
            assert_eq!(row.x, i + 1);
        }
        assert_eq!(
            cached.load(Ordering::SeqCst),
            1,
            "prepared once, reused twice"
        );
        for i in 0..3 {
            let q = diesel::sql_query("SELECT ? + 2 AS x").bind::<Integer, _>(i);
            let row: X = q.get_result(&mut conn).unwrap();
            assert_eq!(row.x, i + 2);
        }
        assert_eq!(
            cached.load(Ordering::SeqCst),
            1,
            "a bare sql_query is never cached"
        );
    }

    diesel::table! {
        counters (id) {
            id -> Integer,
            n -> Integer,
        }
    }

    #[test]
    fn a_prepared_update_is_cached_when_loaded_and_not_when_executed() {
        let (mut conn, cached) = counting();
        diesel::sql_query("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
            .execute(&mut conn)
            .unwrap();
        diesel::sql_query("INSERT INTO counters VALUES (1, 0)")
            .execute(&mut conn)
            .unwrap();
        let before = cached.load(Ordering::SeqCst);
        for i in 1..=3 {
            let n: i32 = Prepared(
                diesel::update(counters::table.find(1))
                    .set(counters::n.eq(i))
                    .returning(counters::n),
            )
            .get_result(&mut conn)
            .unwrap();
            assert_eq!(n, i);
        }
        assert_eq!(cached.load(Ordering::SeqCst), before + 1, "prepared once");
        for i in 4..=5 {
            Prepared(diesel::update(counters::table.find(1)).set(counters::n.eq(i)))
                .execute(&mut conn)
                .unwrap();
        }
        assert_eq!(
            cached.load(Ordering::SeqCst),
            before + 1,
            "through execute() diesel never caches it"
        );
    }

    #[test]
    fn a_fixed_expression_keeps_its_statement_cacheable() {
        let (mut conn, cached) = counting();
        for _ in 0..2 {
            let v: String = diesel::select(fixed::<Text>("'fixed'"))
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(v, "fixed");
        }
        assert_eq!(cached.load(Ordering::SeqCst), 1);
        let v: String = diesel::select(diesel::dsl::sql::<Text>("'literal'"))
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(v, "literal");
        assert_eq!(cached.load(Ordering::SeqCst), 1, "dsl::sql is never cached");
    }
}
