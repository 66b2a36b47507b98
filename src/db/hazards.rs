//! Hazards: rows, scoped lookups, the facts the domain decides on, and records.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use super::DbConn;
use super::attachments::AttachmentRow;
use super::fixed_sql::Prepared;
use super::listings::ListingRow;
use super::schema::{
    enterprises, hazard_departments, hazard_records, hazard_sectors, hazards, listings,
};
use crate::domain::hazard::{AttachmentFacts, HazardContent, HazardFacts};
use crate::policy::HazardScope;

/// A hazard row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = hazards, treat_none_as_null = true, treat_none_as_default_value = false)]
pub struct HazardRow {
    pub id: String,
    pub ledger_no: Option<String>,
    pub enterprise_id: String,
    pub street_code: String,
    pub primary_department: String,
    pub status: String,
    pub level: String,
    pub handling: String,
    pub suspension: String,
    pub title: String,
    pub description: String,
    pub location: String,
    pub category: Option<String>,
    pub source: Option<i32>,
    pub discovered_on: Option<NaiveDate>,
    pub content: String,
    pub reporter_id: String,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<NaiveDateTime>,
    pub submitted_on: Option<NaiveDate>,
    pub posted_at: Option<NaiveDateTime>,
    pub posted_on: Option<NaiveDate>,
    pub deadline: Option<NaiveDate>,
    pub effective_deadline: Option<NaiveDate>,
    pub plan_filed: bool,
    pub plan_acknowledged: bool,
    pub pending_extension: Option<NaiveDate>,
    pub completed_on: Option<NaiveDate>,
    pub acceptance_due_on: Option<NaiveDate>,
    pub cancel_date: Option<NaiveDate>,
    pub listed: bool,
    pub recurrence_of: Option<String>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Made known to employees (信息公示): it has an `employee_notice` record. Kept on the row
    /// for the summary's count of `employee_notice_missing` (`db::flags`).
    pub employee_notice: bool,
    /// When the escalation job flagged it for 约谈/通报 (rule `overdue_interview`).
    pub interview_flagged_on: Option<NaiveDate>,
    /// Since when the enterprise owes a written explanation (书面说明) of its lateness: set by
    /// the rule `overdue_first`, cleared when the enterprise files one.
    pub explanation_owed_on: Option<NaiveDate>,
    /// Filed by an official (an inspection finding, a confirmed tip-off), not the enterprise.
    pub filed_by_official: bool,
}

impl HazardRow {
    /// The report content.
    pub fn content(&self) -> HazardContent {
        serde_json::from_str(&self.content).unwrap_or_default()
    }

    /// 超期整改 (DESIGN, statistics): the accepted completion date, or `today` while it is not
    /// closed, after the original deadline; never for a void hazard.
    pub fn late_rectification(&self, today: chrono::NaiveDate) -> bool {
        let accepted = (self.status == "closed")
            .then_some(self.completed_on)
            .flatten();
        self.deadline.is_some_and(|d| {
            self.status != "void" && crate::domain::deadline::late_rectification(d, accepted, today)
        })
    }

    /// Days late as an export row shows them (超期天数): a closed hazard keeps the days its
    /// accepted completion came after the effective deadline; an open one as
    /// [`HazardRow::days_overdue`]; a void one none.
    pub fn days_late(&self, today: chrono::NaiveDate) -> i64 {
        match (
            self.status.as_str(),
            self.effective_deadline,
            self.completed_on,
        ) {
            ("closed", Some(deadline), Some(done)) => {
                crate::domain::deadline::days_overdue(deadline, done)
            }
            _ => self.days_overdue(today),
        }
    }

    /// Days overdue on `today` (see `Status::lateness_measured_on`).
    pub fn days_overdue(&self, today: chrono::NaiveDate) -> i64 {
        self.status
            .parse::<crate::domain::hazard::Status>()
            .map_or(0, |s| {
                s.days_overdue(self.effective_deadline, self.completed_on, today)
            })
    }
}

/// A record attached to a hazard.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = hazard_records, treat_none_as_default_value = false)]
pub struct RecordRow {
    pub id: String,
    #[serde(skip)]
    pub hazard_id: String,
    pub kind: String,
    #[serde(skip)]
    pub payload: String,
    pub created_by: Option<String>,
    #[serde(serialize_with = "crate::timefmt::serialize")]
    pub created_at: NaiveDateTime,
}

impl RecordRow {
    /// The payload as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

type Boxed<'a> = hazards::BoxedQuery<'a, super::MultiBackend>;

/// Restricts a boxed query over `hazards` (alone or joined) to what the caller may see. An
/// enterprise's drafts are its own work: officials see the drafts officials filed (inspection
/// findings, confirmed tip-offs) within their scope, not the enterprise's.
macro_rules! within_scope {
    ($query:expr, $scope:expr) => {{
        let q = $query;
        match $scope {
            HazardScope::All => q.filter(
                hazards::status
                    .ne("draft")
                    .or(hazards::filed_by_official.eq(true)),
            ),
            HazardScope::Street { street, user_id } => {
                q.filter(hazards::street_code.eq(street)).filter(
                    hazards::status
                        .ne("draft")
                        .or(hazards::reporter_id.eq(user_id))
                        .or(hazards::filed_by_official.eq(true)),
                )
            }
            HazardScope::Department {
                department,
                user_id,
            } => q
                .filter(
                    hazards::id.eq_any(
                        hazard_departments::table
                            .filter(hazard_departments::department_code.eq(department))
                            .select(hazard_departments::hazard_id),
                    ),
                )
                .filter(
                    hazards::status
                        .ne("draft")
                        .or(hazards::reporter_id.eq(user_id))
                        .or(hazards::filed_by_official.eq(true)),
                ),
            HazardScope::Enterprise(id) => q.filter(hazards::enterprise_id.eq(id)),
        }
    }};
}

/// Restricts a hazard query to what the caller may see.
pub fn scoped<'a>(scope: &'a HazardScope) -> Boxed<'a> {
    within_scope!(hazards::table.into_boxed(), scope)
}

/// One hazard within the scope.
pub fn find(conn: &mut DbConn, scope: &HazardScope, id: &str) -> QueryResult<Option<HazardRow>> {
    scoped(scope)
        .filter(hazards::id.eq(id))
        .select(HazardRow::as_select())
        .get_result(conn)
        .optional()
}

/// A hazard within `scope` by its id or its ledger number (上账编号), as people name it.
pub fn find_by_id_or_ledger_no(
    conn: &mut DbConn,
    scope: &HazardScope,
    key: &str,
) -> QueryResult<Option<HazardRow>> {
    let key = key.trim();
    if key.to_uppercase().starts_with("SH-CN-YH-") {
        return scoped(scope)
            .filter(hazards::ledger_no.eq(key.to_uppercase()))
            .select(HazardRow::as_select())
            .get_result(conn)
            .optional();
    }
    find(conn, scope, key)
}

/// What an action reads about a hazard besides its row, fetched with the row.
#[derive(Debug)]
pub struct Context {
    /// Name, USCC, headcount.
    pub enterprise: (String, String, i32),
    pub listing: Option<ListingRow>,
    /// Oldest first, as [`records`] orders them.
    pub records: Vec<RecordRow>,
    /// Oldest first, as [`super::attachments::for_hazard`] orders them.
    pub files: Vec<AttachmentRow>,
    /// In their order, as [`routing`] answers them.
    pub sectors: Vec<String>,
    /// By code.
    pub copied: Vec<String>,
}

/// The records, attachments, sectors and copied departments of `hazards.id` as one JSON
/// array, ordered as their own queries order them: a correlated subquery per backend, so that
/// an action reads its hazard in one round trip instead of four.
const PG_CONTEXT_JSON: &str = "json_build_array(\
    coalesce((SELECT json_agg(json_build_array(r.id, r.kind, r.payload, r.created_by, r.created_at) \
      ORDER BY r.created_at, r.id) FROM hazard_records r WHERE r.hazard_id = hazards.id), '[]'::json), \
    coalesce((SELECT json_agg(json_build_array(a.id, a.kind, a.caption, a.file_name, a.content_type, \
      a.size_bytes, a.sha256, a.taken_at, a.uploaded_by, a.created_at) ORDER BY a.created_at, a.id) \
      FROM attachments a WHERE a.hazard_id = hazards.id), '[]'::json), \
    coalesce((SELECT json_agg(s.sector_code ORDER BY s.position) FROM hazard_sectors s \
      WHERE s.hazard_id = hazards.id), '[]'::json), \
    coalesce((SELECT json_agg(d.department_code ORDER BY d.department_code) \
      FROM hazard_departments d WHERE d.hazard_id = hazards.id AND NOT d.is_primary), '[]'::json))::text";
/// See [`PG_CONTEXT_JSON`].
const SQLITE_CONTEXT_JSON: &str = "json_array(\
    json((SELECT json_group_array(json_array(r.id, r.kind, r.payload, r.created_by, r.created_at) \
      ORDER BY r.created_at, r.id) FROM hazard_records r WHERE r.hazard_id = hazards.id)), \
    json((SELECT json_group_array(json_array(a.id, a.kind, a.caption, a.file_name, a.content_type, \
      a.size_bytes, a.sha256, a.taken_at, a.uploaded_by, a.created_at) ORDER BY a.created_at, a.id) \
      FROM attachments a WHERE a.hazard_id = hazards.id)), \
    json((SELECT json_group_array(s.sector_code ORDER BY s.position) FROM hazard_sectors s \
      WHERE s.hazard_id = hazards.id)), \
    json((SELECT json_group_array(d.department_code ORDER BY d.department_code) \
      FROM hazard_departments d WHERE d.hazard_id = hazards.id AND NOT d.is_primary)))";

type RecordJson = (String, String, String, Option<String>, String);
type FileJson = (
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    String,
);

/// A timestamp as either backend writes it into JSON (`T` or a space between date and time).
fn json_time(text: &str) -> QueryResult<NaiveDateTime> {
    NaiveDateTime::parse_from_str(&text.replacen('T', " ", 1), "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

/// The context of hazard `id` from its enterprise, listing and [`PG_CONTEXT_JSON`] /
/// [`SQLITE_CONTEXT_JSON`].
fn decode_context(
    id: &str,
    enterprise: (String, String, i32),
    listing: Option<ListingRow>,
    json: &str,
) -> QueryResult<Context> {
    let (records, files, sectors, copied): (Vec<RecordJson>, Vec<FileJson>, _, _) =
        serde_json::from_str(json)
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
    let records = records
        .into_iter()
        .map(|(rid, kind, payload, created_by, at)| {
            Ok(RecordRow {
                id: rid,
                hazard_id: id.to_string(),
                kind,
                payload,
                created_by,
                created_at: json_time(&at)?,
            })
        })
        .collect::<QueryResult<_>>()?;
    let files = files
        .into_iter()
        .map(|f| {
            Ok(AttachmentRow {
                id: f.0,
                hazard_id: id.to_string(),
                kind: f.1,
                caption: f.2,
                file_name: f.3,
                content_type: f.4,
                size_bytes: f.5,
                sha256: f.6,
                taken_at: f.7.as_deref().map(json_time).transpose()?,
                uploaded_by: f.8,
                created_at: json_time(&f.9)?,
            })
        })
        .collect::<QueryResult<_>>()?;
    Ok(Context {
        enterprise,
        listing,
        records,
        files,
        sectors,
        copied,
    })
}

/// One hazard within the scope, with its enterprise, listing, records, attachments and
/// routing, in one query.
pub fn find_with_context(
    conn: &mut DbConn,
    scope: &HazardScope,
    id: &str,
) -> QueryResult<Option<(HazardRow, Context)>> {
    let context_json = super::fixed_sql::fixed_for::<diesel::sql_types::Text>(
        conn,
        PG_CONTEXT_JSON,
        SQLITE_CONTEXT_JSON,
    );
    let found = crate::on_backend!(conn, |c| within_scope!(
        hazards::table
            .inner_join(enterprises::table)
            .left_join(listings::table)
            .into_boxed(),
        scope
    )
    .filter(hazards::id.eq(id))
    .select((
        HazardRow::as_select(),
        (enterprises::name, enterprises::uscc, enterprises::headcount),
        Option::<ListingRow>::as_select(),
        context_json,
    ))
    .get_result::<(HazardRow, (String, String, i32), Option<ListingRow>, String)>(c)
    .optional())?;
    let Some((row, enterprise, listing, json)) = found else {
        return Ok(None);
    };
    let context = decode_context(&row.id, enterprise, listing, &json)?;
    Ok(Some((row, context)))
}

/// One hazard whatever the scope (links between hazards, jobs).
pub fn by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<HazardRow>> {
    hazards::table
        .find(id)
        .select(HazardRow::as_select())
        .get_result(conn)
        .optional()
}

/// PostgreSQL: a new hazard's sectors (`$2`, in order), routed departments (`$3`, with
/// `$4` true for the primary) and search row (`$5`) in one statement.
const PG_INSERT_ROUTING_AND_SEARCH: &str = "WITH \
    s AS (INSERT INTO hazard_sectors (hazard_id, sector_code, position) \
          SELECT $1, t.code, (t.ord - 1)::int \
          FROM unnest($2::text[]) WITH ORDINALITY AS t(code, ord)), \
    d AS (INSERT INTO hazard_departments (hazard_id, department_code, is_primary) \
          SELECT $1, t.code, t.is_primary \
          FROM unnest($3::text[], $4::bool[]) AS t(code, is_primary)) \
    INSERT INTO hazard_search (hazard_id, body) VALUES ($1, $5) RETURNING hazard_id";

/// Inserts a new hazard with its sectors, routed departments and search row.
pub fn insert(
    conn: &mut DbConn,
    row: &HazardRow,
    sectors: &[String],
    departments: &[(String, bool)],
    search_body: &str,
) -> QueryResult<()> {
    crate::on_backend!(conn, |c| diesel::insert_into(hazards::table)
        .values(row)
        .execute(c))?;
    match conn {
        // The sectors, departments and search row of the new hazard in one round trip.
        DbConn::Pg(pg) => {
            use diesel::sql_types::{Array, Bool, Text};
            let (codes, primary): (Vec<&str>, Vec<bool>) =
                departments.iter().map(|(d, p)| (d.as_str(), *p)).unzip();
            let _: super::search::Indexed = Prepared(
                diesel::sql_query(PG_INSERT_ROUTING_AND_SEARCH)
                    .bind::<Text, _>(&row.id)
                    .bind::<Array<Text>, _>(sectors)
                    .bind::<Array<Text>, _>(codes)
                    .bind::<Array<Bool>, _>(primary)
                    .bind::<Text, _>(search_body),
            )
            .get_result(pg)?;
            Ok(())
        }
        DbConn::Sqlite(_) => {
            insert_routing(conn, &row.id, sectors, departments)?;
            super::search::index_new(conn, &row.id, search_body)
        }
    }
}

/// Replaces sectors and departments (on edit, while draft or returned).
pub fn replace_routing(
    conn: &mut DbConn,
    id: &str,
    sectors: &[String],
    departments: &[(String, bool)],
) -> QueryResult<()> {
    diesel::delete(hazard_sectors::table.filter(hazard_sectors::hazard_id.eq(id))).execute(conn)?;
    diesel::delete(hazard_departments::table.filter(hazard_departments::hazard_id.eq(id)))
        .execute(conn)?;
    insert_routing(conn, id, sectors, departments)
}

fn insert_routing(
    conn: &mut DbConn,
    id: &str,
    sectors: &[String],
    departments: &[(String, bool)],
) -> QueryResult<()> {
    for (i, s) in sectors.iter().enumerate() {
        diesel::insert_into(hazard_sectors::table)
            .values((
                hazard_sectors::hazard_id.eq(id),
                hazard_sectors::sector_code.eq(s),
                hazard_sectors::position.eq(i as i32),
            ))
            .execute(conn)?;
    }
    for (d, primary) in departments {
        diesel::insert_into(hazard_departments::table)
            .values((
                hazard_departments::hazard_id.eq(id),
                hazard_departments::department_code.eq(d),
                hazard_departments::is_primary.eq(*primary),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The columns of a hazard that differ between two states of its row; `None` leaves a column
/// alone. Writing only these matters: SQLite rewrites every index over a column named in `SET`,
/// changed or not, and `hazards` has a dozen.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = hazards)]
struct HazardChanges {
    ledger_no: Option<Option<String>>,
    enterprise_id: Option<String>,
    street_code: Option<String>,
    primary_department: Option<String>,
    status: Option<String>,
    level: Option<String>,
    handling: Option<String>,
    suspension: Option<String>,
    title: Option<String>,
    description: Option<String>,
    location: Option<String>,
    category: Option<Option<String>>,
    source: Option<Option<i32>>,
    discovered_on: Option<Option<NaiveDate>>,
    content: Option<String>,
    reporter_id: Option<String>,
    submitted_by: Option<Option<String>>,
    submitted_at: Option<Option<NaiveDateTime>>,
    submitted_on: Option<Option<NaiveDate>>,
    posted_at: Option<Option<NaiveDateTime>>,
    posted_on: Option<Option<NaiveDate>>,
    deadline: Option<Option<NaiveDate>>,
    effective_deadline: Option<Option<NaiveDate>>,
    plan_filed: Option<bool>,
    plan_acknowledged: Option<bool>,
    pending_extension: Option<Option<NaiveDate>>,
    completed_on: Option<Option<NaiveDate>>,
    acceptance_due_on: Option<Option<NaiveDate>>,
    cancel_date: Option<Option<NaiveDate>>,
    listed: Option<bool>,
    recurrence_of: Option<Option<String>>,
    version: Option<i32>,
    created_at: Option<NaiveDateTime>,
    updated_at: Option<NaiveDateTime>,
    employee_notice: Option<bool>,
    interview_flagged_on: Option<Option<NaiveDate>>,
    explanation_owed_on: Option<Option<NaiveDate>>,
    filed_by_official: Option<bool>,
}

impl HazardChanges {
    fn between(before: &HazardRow, after: &HazardRow) -> Self {
        macro_rules! changed {
            ($($field:ident),* $(,)?) => {
                HazardChanges {
                    $($field: (before.$field != after.$field).then(|| after.$field.clone()),)*
                }
            };
        }
        changed!(
            ledger_no,
            enterprise_id,
            street_code,
            primary_department,
            status,
            level,
            handling,
            suspension,
            title,
            description,
            location,
            category,
            source,
            discovered_on,
            content,
            reporter_id,
            submitted_by,
            submitted_at,
            submitted_on,
            posted_at,
            posted_on,
            deadline,
            effective_deadline,
            plan_filed,
            plan_acknowledged,
            pending_extension,
            completed_on,
            acceptance_due_on,
            cancel_date,
            listed,
            recurrence_of,
            version,
            created_at,
            updated_at,
            employee_notice,
            interview_flagged_on,
            explanation_owed_on,
            filed_by_official,
        )
    }
}

/// Moves the open hazards of `enterprise` (not closed, not void) to `street`, the enterprise's
/// new street (DESIGN: the street of the enterprise is always involved); closed and void ones
/// keep the street they were handled by. Answers (id, the street it had) of each one moved.
pub fn move_open_to_street(
    conn: &mut DbConn,
    enterprise: &str,
    street: &str,
    at: NaiveDateTime,
) -> QueryResult<Vec<(String, String)>> {
    let open = || {
        hazards::table
            .filter(hazards::enterprise_id.eq(enterprise))
            .filter(hazards::status.ne_all(["closed", "void"]))
            .filter(hazards::street_code.ne(street))
    };
    let moved: Vec<(String, String)> = open()
        .select((hazards::id, hazards::street_code))
        .load(conn)?;
    diesel::update(open())
        .set((
            hazards::street_code.eq(street),
            hazards::version.eq(hazards::version + 1),
            hazards::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(moved)
}

/// Writes `row` (read as `before`) if nobody changed it since: `row.version` must be one more
/// than `before.version`, which the stored row must still have. False when it no longer has.
/// Only the columns that differ from `before` are written.
pub fn update_if_version(
    conn: &mut DbConn,
    before: &HazardRow,
    row: &HazardRow,
) -> QueryResult<bool> {
    debug_assert_eq!(before.id, row.id);
    debug_assert_eq!(before.version + 1, row.version);
    let changes = HazardChanges::between(before, row);
    let updated: Vec<i32> = crate::on_backend!(conn, |c| Prepared(
        diesel::update(
            hazards::table
                .filter(hazards::id.eq(&row.id))
                .filter(hazards::version.eq(before.version)),
        )
        .set(&changes)
        .returning(hazards::version),
    )
    .load(c))?;
    Ok(updated.len() == 1)
}

/// Sectors and departments of a hazard: (sectors in order, copied departments by code).
pub fn routing(conn: &mut DbConn, id: &str) -> QueryResult<(Vec<String>, Vec<String>)> {
    if let DbConn::Pg(_) = conn {
        // One round trip instead of two (the shared backend has no UNION).
        let rows: Vec<RoutingRow> = diesel::sql_query(
            "SELECT 0 AS part, position, sector_code AS code FROM hazard_sectors \
             WHERE hazard_id = $1 \
             UNION ALL SELECT 1, 0, department_code FROM hazard_departments \
             WHERE hazard_id = $1 AND NOT is_primary",
        )
        .bind::<diesel::sql_types::Text, _>(id)
        .load(conn)?;
        let mut rows: Vec<_> = rows
            .into_iter()
            .map(|r| (r.part, r.position, r.code))
            .collect();
        rows.sort();
        let (sectors, copied): (Vec<_>, Vec<_>) = rows.into_iter().partition(|r| r.0 == 0);
        return Ok((
            sectors.into_iter().map(|r| r.2).collect(),
            copied.into_iter().map(|r| r.2).collect(),
        ));
    }
    let sectors = hazard_sectors::table
        .filter(hazard_sectors::hazard_id.eq(id))
        .order(hazard_sectors::position)
        .select(hazard_sectors::sector_code)
        .load(conn)?;
    let copied = hazard_departments::table
        .filter(hazard_departments::hazard_id.eq(id))
        .filter(hazard_departments::is_primary.eq(false))
        .order(hazard_departments::department_code)
        .select(hazard_departments::department_code)
        .load(conn)?;
    Ok((sectors, copied))
}

#[derive(QueryableByName)]
struct RoutingRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    part: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    position: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
}

/// Adds a record.
pub fn add_record(
    conn: &mut DbConn,
    hazard_id: &str,
    kind: &str,
    payload: &serde_json::Value,
    by: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<RecordRow> {
    let row = RecordRow {
        id: uuid::Uuid::now_v7().to_string(),
        hazard_id: hazard_id.to_string(),
        kind: kind.to_string(),
        payload: payload.to_string(),
        created_by: by.map(str::to_string),
        created_at: at,
    };
    crate::on_backend!(conn, |c| diesel::insert_into(hazard_records::table)
        .values(&row)
        .execute(c))?;
    Ok(row)
}

/// Replaces a record's payload (an extension request receiving its decision).
pub fn set_record_payload(
    conn: &mut DbConn,
    id: &str,
    payload: &serde_json::Value,
) -> QueryResult<()> {
    diesel::update(hazard_records::table.find(id))
        .set(hazard_records::payload.eq(payload.to_string()))
        .execute(conn)?;
    Ok(())
}

/// Every record of a hazard, oldest first.
pub fn records(conn: &mut DbConn, hazard_id: &str) -> QueryResult<Vec<RecordRow>> {
    hazard_records::table
        .filter(hazard_records::hazard_id.eq(hazard_id))
        .order((hazard_records::created_at, hazard_records::id))
        .select(RecordRow::as_select())
        .load(conn)
}

/// The hazard's enterprise (name, USCC, headcount) and its listing, if any, in one query.
pub fn enterprise_and_listing(
    conn: &mut DbConn,
    id: &str,
) -> QueryResult<((String, String, i32), Option<ListingRow>)> {
    hazards::table
        .inner_join(enterprises::table)
        .left_join(listings::table)
        .filter(hazards::id.eq(id))
        .select((
            (enterprises::name, enterprises::uscc, enterprises::headcount),
            Option::<ListingRow>::as_select(),
        ))
        .get_result(conn)
}

/// What the domain needs to decide on this hazard: the row, its records and attachments.
pub fn facts(
    row: &HazardRow,
    records: &[RecordRow],
    headcount: i32,
    attachments: AttachmentFacts,
) -> anyhow::Result<HazardFacts> {
    let stage_of = |r: &RecordRow| r.json()["stage"].as_str().map(str::to_string);
    let congress: Vec<serde_json::Value> = records
        .iter()
        .filter(|r| r.kind == "congress_report")
        .map(RecordRow::json)
        .collect();
    let date = |v: &serde_json::Value| v.as_str().and_then(|t| t.parse::<NaiveDate>().ok());
    let congress_follow_up_due = congress
        .iter()
        .filter(|j| j["body"] == "joint_meeting")
        .filter_map(|joint| {
            let held = date(&joint["meeting_on"])?;
            // The congress itself hears the same report (its stage), on the day or later.
            let followed = congress.iter().any(|c| {
                c["body"] != "joint_meeting"
                    && c["stage"] == joint["stage"]
                    && date(&c["meeting_on"]).is_some_and(|on| on >= held)
            });
            (!followed).then(|| date(&joint["follow_up_on"]).unwrap_or(held))
        })
        .min();
    Ok(HazardFacts {
        status: row.status.parse()?,
        level: row.level.parse()?,
        handling: row.handling.parse()?,
        suspension: row.suspension.parse()?,
        reporter_id: row.reporter_id.clone(),
        primary_department: row.primary_department.clone(),
        posted_on: row.posted_on,
        submitted_by: row.submitted_by.clone(),
        submitted_on: row.submitted_on,
        content: row.content(),
        deadline: row.deadline,
        effective_deadline: row.effective_deadline,
        plan_filed: row.plan_filed,
        plan_acknowledged: row.plan_acknowledged,
        pending_extension: row.pending_extension,
        extension_ids: records
            .iter()
            .filter(|r| r.kind == "extension")
            .map(|r| r.id.clone())
            .collect(),
        completed_on: row.completed_on,
        listed: row.listed,
        enterprise_headcount: u32::try_from(headcount).ok(),
        has_discovery_congress_report: records
            .iter()
            .any(|r| r.kind == "congress_report" && stage_of(r).as_deref() == Some("discovery")),
        has_completion_congress_report: records
            .iter()
            .any(|r| r.kind == "congress_report" && stage_of(r).as_deref() == Some("completion")),
        congress_follow_up_due,
        failed_acceptance_on: records
            .iter()
            .filter(|r| r.kind == "acceptance")
            .map(RecordRow::json)
            .filter(|a| a["result"] == "fail")
            .filter_map(|a| date(&a["accepted_on"]))
            .max(),
        started_on: records
            .iter()
            .filter(|r| r.kind == "start")
            .map(|r| crate::timefmt::local_date(&r.created_at))
            .max(),
        // A written explanation of lateness may say the work is done by now: only a progress
        // update below 100 % says it is still under way.
        reported_unfinished_on: records
            .iter()
            .filter(|r| {
                r.kind == "progress" && r.json()["percent"].as_i64().is_none_or(|p| p < 100)
            })
            .map(|r| crate::timefmt::local_date(&r.created_at))
            .max(),
        has_employee_notice: records.iter().any(|r| r.kind == "employee_notice"),
        has_regulator_report: records.iter().any(|r| r.kind == "regulator_report"),
        interview_flagged_on: row.interview_flagged_on,
        explanation_owed_on: row.explanation_owed_on,
        filed_by_official: row.filed_by_official,
        attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::json_time;

    #[test]
    fn json_times_of_both_backends_parse() {
        let t = |s: &str| json_time(s).unwrap().to_string();
        // PostgreSQL's json (ISO 8601, fraction trimmed) and SQLite's stored text.
        assert_eq!(
            t("2026-11-29T12:25:15.832623"),
            "2026-11-29 12:25:15.832623"
        );
        assert_eq!(
            t("2026-11-29 12:25:15.832623"),
            "2026-11-29 12:25:15.832623"
        );
        assert_eq!(t("2026-11-29T12:25:15"), "2026-11-29 12:25:15");
        assert_eq!(t("2026-11-29 12:25:15.5"), "2026-11-29 12:25:15.500");
        assert!(json_time("29.11.2026").is_err());
    }
}
