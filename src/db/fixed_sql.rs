//! Fixed SQL in a diesel query without losing the prepared-statement cache.
//!
//! Diesel never caches a statement that contains a `dsl::sql` literal, as it cannot know
//! whether the text was built at run time; such a statement is parsed and planned again on
//! every execution (on SQLite a large one costs more than running it). [`Fixed`] holds text
//! that is part of the program, so a statement containing it is cached like any other.

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
