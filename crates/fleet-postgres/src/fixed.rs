//! Statements of fixed text with numbered parameters (`$1`, `$2`, …), sent as diesel queries.
//!
//! diesel-async prepares a query once per connection when its type has a static query id,
//! but never a `sql_query`: that one is parsed and planned again on every call, an extra
//! round trip each time. A query type of ours with [`walk`] in its `walk_ast` gets the cache.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::AstPass;

/// Sends `sql` with each `$n` replaced by a placeholder for the `n`th parameter, bound by
/// `bind(n, out)`. diesel numbers placeholders itself, in order of appearance, so a parameter
/// the text uses twice is bound twice. The text must hold no other `$`.
pub(crate) fn walk<'b>(
    sql: &'static str,
    out: &mut AstPass<'_, 'b, Pg>,
    mut bind: impl FnMut(&str, &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>,
) -> QueryResult<()> {
    let mut rest = sql;
    while let Some(dollar) = rest.find('$') {
        out.push_sql(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let digits = after
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after.len());
        bind(&after[..digits], out)?;
        rest = &after[digits..];
    }
    out.push_sql(rest);
    Ok(())
}

/// The error for a parameter number the statement's binder does not know.
pub(crate) fn unknown_parameter(statement: &str, number: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(
        format!("the {statement} statement has no parameter ${number}").into(),
    )
}

/// Gives a query type of fixed text (whose `QueryFragment` pushes that text and its binds,
/// with [`walk`] when it has numbered parameters) a static query id of its own, so diesel prepares it once per connection, and untyped rows, read by column
/// name (`QueryableByName`).
macro_rules! prepared_once {
    ($query:ident $(<$lifetime:lifetime>)?) => {
        const _: () = {
            /// The statement cache's key: one statement, whatever the values.
            pub struct Key;

            impl diesel::query_builder::QueryId for $query$(<$lifetime>)? {
                type QueryId = Key;
                const HAS_STATIC_QUERY_ID: bool = true;
            }

            impl diesel::query_builder::Query for $query$(<$lifetime>)? {
                type SqlType = diesel::sql_types::Untyped;
            }
        };
    };
}
pub(crate) use prepared_once;
