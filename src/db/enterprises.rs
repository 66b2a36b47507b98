//! Enterprises and their sectors.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::schema::{enterprise_sectors, enterprises, sectors};
use crate::policy::EnterpriseScope;

/// An enterprise row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = enterprises, treat_none_as_default_value = false)]
pub struct EnterpriseRow {
    pub id: String,
    pub uscc: String,
    pub name: String,
    pub address: String,
    pub street_code: String,
    pub headcount: i32,
    pub principal_name: String,
    pub principal_mobile: String,
    pub safety_officer_name: Option<String>,
    pub safety_officer_mobile: Option<String>,
    pub notify_emails: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// An enterprise with its sectors and the departments they route to.
#[derive(Debug, Clone, Serialize)]
pub struct Enterprise {
    pub id: String,
    pub uscc: String,
    pub name: String,
    pub address: String,
    pub street: String,
    pub sectors: Vec<String>,
    /// Departments supervising the enterprise's sectors (primary department of each).
    pub departments: Vec<String>,
    pub headcount: i32,
    pub principal_name: String,
    pub principal_mobile: String,
    pub safety_officer_name: Option<String>,
    pub safety_officer_mobile: Option<String>,
    pub notify_emails: Vec<String>,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub updated_at: NaiveDateTime,
}

impl Enterprise {
    fn from_row(row: EnterpriseRow, sectors: Vec<(String, String)>) -> Self {
        let mut departments: Vec<String> = Vec::new();
        for (_, d) in &sectors {
            if !departments.contains(d) {
                departments.push(d.clone());
            }
        }
        Self {
            id: row.id,
            uscc: row.uscc,
            name: row.name,
            address: row.address,
            street: row.street_code,
            sectors: sectors.into_iter().map(|(s, _)| s).collect(),
            departments,
            headcount: row.headcount,
            principal_name: row.principal_name,
            principal_mobile: row.principal_mobile,
            safety_officer_name: row.safety_officer_name,
            safety_officer_mobile: row.safety_officer_mobile,
            notify_emails: serde_json::from_str(&row.notify_emails).unwrap_or_default(),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// Filters of the enterprise list.
#[derive(Debug, Default, Clone)]
pub struct EnterpriseFilter {
    pub street: Option<String>,
    pub sector: Option<String>,
    pub q: Option<String>,
    /// Keyset cursor: the last id of the previous page.
    pub after: Option<String>,
    pub limit: i64,
}

type Boxed<'a> = enterprises::BoxedQuery<'a, super::MultiBackend>;

/// Restricts an enterprise query to what the caller may see (the policy decides the scope).
fn scoped<'a>(scope: &'a EnterpriseScope) -> Boxed<'a> {
    let q = enterprises::table.into_boxed();
    match scope {
        EnterpriseScope::All => q,
        EnterpriseScope::Street(code) => q.filter(enterprises::street_code.eq(code)),
        EnterpriseScope::Department(code) => q.filter(
            enterprises::id.eq_any(
                enterprise_sectors::table
                    .inner_join(sectors::table)
                    .filter(sectors::primary_department.eq(code))
                    .select(enterprise_sectors::enterprise_id),
            ),
        ),
        EnterpriseScope::Only(id) => q.filter(enterprises::id.eq(id)),
    }
}

fn load_sectors(conn: &mut DbConn, ids: &[String]) -> QueryResult<Vec<(String, String, String)>> {
    enterprise_sectors::table
        .inner_join(sectors::table)
        .filter(enterprise_sectors::enterprise_id.eq_any(ids))
        .order((
            enterprise_sectors::enterprise_id,
            enterprise_sectors::position,
        ))
        .select((
            enterprise_sectors::enterprise_id,
            enterprise_sectors::sector_code,
            sectors::primary_department,
        ))
        .load(conn)
}

fn with_sectors(conn: &mut DbConn, rows: Vec<EnterpriseRow>) -> QueryResult<Vec<Enterprise>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let all = load_sectors(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mine = all
                .iter()
                .filter(|(e, _, _)| *e == row.id)
                .map(|(_, s, d)| (s.clone(), d.clone()))
                .collect();
            Enterprise::from_row(row, mine)
        })
        .collect())
}

/// The sectors of `enterprises.id` with their primary departments, in their order, as a JSON
/// array of pairs: read with the enterprise's row instead of in a second query.
const PG_SECTORS_JSON: &str = "coalesce((SELECT json_agg(json_build_array(es.sector_code, \
    s.primary_department) ORDER BY es.position) FROM enterprise_sectors es \
    JOIN sectors s ON s.code = es.sector_code WHERE es.enterprise_id = enterprises.id), \
    '[]'::json)::text";
/// See [`PG_SECTORS_JSON`].
const SQLITE_SECTORS_JSON: &str = "(SELECT json_group_array(json_array(es.sector_code, \
    s.primary_department) ORDER BY es.position) FROM enterprise_sectors es \
    JOIN sectors s ON s.code = es.sector_code WHERE es.enterprise_id = enterprises.id)";

fn sectors_json(conn: &DbConn) -> super::fixed_sql::Fixed<diesel::sql_types::Text> {
    super::fixed_sql::fixed_for(conn, PG_SECTORS_JSON, SQLITE_SECTORS_JSON)
}

fn with_sectors_json(found: Option<(EnterpriseRow, String)>) -> QueryResult<Option<Enterprise>> {
    found
        .map(|(row, json)| {
            let sectors = serde_json::from_str(&json)
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
            Ok(Enterprise::from_row(row, sectors))
        })
        .transpose()
}

/// One enterprise within the scope, or `None` (missing and out of scope look the same).
pub fn find(
    conn: &mut DbConn,
    scope: &EnterpriseScope,
    id: &str,
) -> QueryResult<Option<Enterprise>> {
    let sectors = sectors_json(conn);
    let found = match scope {
        EnterpriseScope::Only(own) if own != id => None,
        // An enterprise user's own (every hazard it files) and the district's: a statement of
        // fixed shape, on the backend's connection.
        EnterpriseScope::Only(_) | EnterpriseScope::All => crate::on_backend!(conn, |c| {
            enterprises::table
                .filter(enterprises::id.eq(id))
                .select((EnterpriseRow::as_select(), sectors))
                .get_result(c)
                .optional()
        })?,
        _ => scoped(scope)
            .filter(enterprises::id.eq(id))
            .select((EnterpriseRow::as_select(), sectors))
            .get_result(conn)
            .optional()?,
    };
    with_sectors_json(found)
}

/// An enterprise by id or USCC, whatever the scope (commands and internal lookups).
pub fn find_any(conn: &mut DbConn, id_or_uscc: &str) -> QueryResult<Option<Enterprise>> {
    let key = id_or_uscc.to_uppercase();
    let sectors = sectors_json(conn);
    let found = enterprises::table
        .filter(
            enterprises::id
                .eq(id_or_uscc)
                .or(enterprises::uscc.eq(&key)),
        )
        .select((EnterpriseRow::as_select(), sectors))
        .get_result(conn)
        .optional()?;
    with_sectors_json(found)
}

/// A page of enterprises within the scope, ordered by id (creation order).
pub fn list(
    conn: &mut DbConn,
    scope: &EnterpriseScope,
    filter: &EnterpriseFilter,
) -> QueryResult<Vec<Enterprise>> {
    let mut q = scoped(scope);
    if let Some(street) = &filter.street {
        q = q.filter(enterprises::street_code.eq(street.clone()));
    }
    if let Some(sector) = &filter.sector {
        q = q.filter(
            enterprises::id.eq_any(
                enterprise_sectors::table
                    .filter(enterprise_sectors::sector_code.eq(sector.clone()))
                    .select(enterprise_sectors::enterprise_id),
            ),
        );
    }
    if let Some(text) = filter.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", escape_like(text));
        q = q.filter(
            enterprises::name
                .like(pattern.clone())
                .escape('\\')
                .or(enterprises::uscc.like(pattern.to_uppercase()).escape('\\'))
                .or(enterprises::address.like(pattern).escape('\\')),
        );
    }
    if let Some(after) = &filter.after {
        q = q.filter(enterprises::id.gt(after.clone()));
    }
    let rows = q
        .order(enterprises::id)
        .limit(filter.limit)
        .select(EnterpriseRow::as_select())
        .load(conn)?;
    with_sectors(conn, rows)
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// Inserts an enterprise and its sectors.
pub fn insert(conn: &mut DbConn, row: &EnterpriseRow, sector_codes: &[String]) -> QueryResult<()> {
    diesel::insert_into(enterprises::table)
        .values(row)
        .execute(conn)?;
    replace_sectors(conn, &row.id, sector_codes)
}

/// Replaces the sectors of an enterprise, keeping their order.
pub fn replace_sectors(conn: &mut DbConn, id: &str, sector_codes: &[String]) -> QueryResult<()> {
    diesel::delete(enterprise_sectors::table.filter(enterprise_sectors::enterprise_id.eq(id)))
        .execute(conn)?;
    for (position, code) in sector_codes.iter().enumerate() {
        diesel::insert_into(enterprise_sectors::table)
            .values((
                enterprise_sectors::enterprise_id.eq(id),
                enterprise_sectors::sector_code.eq(code),
                enterprise_sectors::position.eq(i32::try_from(position).unwrap_or(i32::MAX)),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Changes of a PATCH; `None` leaves the column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = enterprises)]
pub struct EnterpriseChanges {
    pub uscc: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub street_code: Option<String>,
    pub headcount: Option<i32>,
    pub principal_name: Option<String>,
    pub principal_mobile: Option<String>,
    pub safety_officer_name: Option<Option<String>>,
    pub safety_officer_mobile: Option<Option<String>>,
    pub notify_emails: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Applies a PATCH.
pub fn update(conn: &mut DbConn, id: &str, changes: &EnterpriseChanges) -> QueryResult<()> {
    diesel::update(enterprises::table.find(id))
        .set(changes)
        .execute(conn)?;
    Ok(())
}

/// Whether a USCC is already registered (by another enterprise than `except`).
pub fn uscc_taken(conn: &mut DbConn, uscc: &str, except: Option<&str>) -> QueryResult<bool> {
    let mut q = enterprises::table
        .filter(enterprises::uscc.eq(uscc))
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(enterprises::id.ne(id));
    }
    let n: i64 = q.count().get_result(conn)?;
    Ok(n > 0)
}
