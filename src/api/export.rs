//! `GET /api/v1/hazards/export?format=csv|xlsx&…filters`: the list's filters and scope, streamed
//! page by page in constant memory. Tip reporters' identities are not part of an export row.

use std::collections::HashMap;
use std::io::{Read, Seek};

use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use diesel::prelude::*;
use tokio::sync::mpsc;

use super::Routes;
use super::hazard_list::FilterQuery;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db::hazard_query::{self, Cursor, HazardFilter, Sort};
use crate::db::schema::{
    departments, enterprises, hazard_records, hazard_sectors, listings, sectors, streets,
};
use crate::db::{DbConn, Pool};
use crate::domain::FieldErrors;
use crate::error::AppResult;
use crate::export::{CsvExport, ExportRow, Format, XlsxExport};
use crate::policy::{self, HazardScope};

pub fn routes(r: &mut Routes) {
    r.get("/api/v1/hazards/export", export);
}

/// Rows fetched per page; also the unit of a streamed chunk.
const PAGE: i64 = 1000;

type Chunk = Result<Bytes, std::io::Error>;

async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    query: crate::http::query::Query<FilterQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let mut errors = FieldErrors::new();
    let filter = q.filter(&mut errors, &state.config.rules);
    // The list's order does not apply (an export is in creation order), but a value the list
    // would refuse is refused here too.
    q.sort(&mut errors);
    let format = match q.format.as_deref() {
        None => Some(Format::Csv),
        Some(f) => Format::parse(f).or_else(|| {
            errors.add("format", "csv or xlsx");
            None
        }),
    };
    errors.finish()?;
    let format = format.unwrap_or(Format::Csv);
    let today = state.clock.today();
    let scope = policy::hazard_scope(&caller);
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    let pool = state.pool.clone();
    tokio::task::spawn_blocking(move || {
        if let Err(e) = produce(&pool, &scope, &filter, format, today, &tx) {
            tracing::error!(error = %e, "export failed midway");
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    let name = format!("隐患台账-{}.{}", today.format("%Y%m%d"), format.extension());
    let disposition = ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(format!(
                "hazards-{}.{}",
                today.format("%Y%m%d"),
                format.extension()
            )),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".into()),
                language_tag: None,
                value: name.into_bytes(),
            }),
        ],
    };
    let body =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(disposition)
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(body))
}

/// Names of reference codes, loaded once per export.
struct Names {
    streets: HashMap<String, String>,
    departments: HashMap<String, String>,
    sectors: HashMap<String, String>,
}

fn names(c: &mut DbConn) -> QueryResult<Names> {
    Ok(Names {
        streets: streets::table
            .select((streets::code, streets::name))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect(),
        departments: departments::table
            .select((departments::code, departments::name))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect(),
        sectors: sectors::table
            .select((sectors::code, sectors::name))
            .load::<(String, String)>(c)?
            .into_iter()
            .collect(),
    })
}

/// One page as export rows; a pooled connection is taken per page and given back before sending.
fn page_rows(
    pool: &Pool,
    scope: &HazardScope,
    filter: &HazardFilter,
    cursor: Option<&Cursor>,
    today: chrono::NaiveDate,
    names: &Names,
) -> anyhow::Result<(Vec<ExportRow>, Option<Cursor>)> {
    let mut pooled = pool.get()?;
    let c: &mut DbConn = &mut pooled;
    let rows = hazard_query::page(c, scope, filter, Sort::Created, cursor, PAGE, today)?;
    let next = (rows.len() as i64 == PAGE)
        .then(|| {
            rows.last()
                .map(|r| hazard_query::cursor_after(r, Sort::Created))
        })
        .flatten();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let e_ids: Vec<&str> = rows.iter().map(|r| r.enterprise_id.as_str()).collect();
    let firms: HashMap<String, (String, String)> = enterprises::table
        .filter(enterprises::id.eq_any(&e_ids))
        .select((enterprises::id, enterprises::name, enterprises::uscc))
        .load::<(String, String, String)>(c)?
        .into_iter()
        .map(|(id, n, u)| (id, (n, u)))
        .collect();
    let mut hazard_sector: HashMap<String, Vec<String>> = HashMap::new();
    for (h, s) in hazard_sectors::table
        .filter(hazard_sectors::hazard_id.eq_any(&ids))
        .order((hazard_sectors::hazard_id, hazard_sectors::position))
        .select((hazard_sectors::hazard_id, hazard_sectors::sector_code))
        .load::<(String, String)>(c)?
    {
        hazard_sector
            .entry(h)
            .or_default()
            .push(names.sectors.get(&s).cloned().unwrap_or(s));
    }
    let mut actual: HashMap<String, String> = HashMap::new();
    for (h, payload) in hazard_records::table
        .filter(hazard_records::hazard_id.eq_any(&ids))
        .filter(hazard_records::kind.eq("completion"))
        .order(hazard_records::created_at)
        .select((hazard_records::hazard_id, hazard_records::payload))
        .load::<(String, String)>(c)?
    {
        let v: serde_json::Value = serde_json::from_str(&payload).unwrap_or_default();
        if let Some(f) = v["actual_funds"].as_str() {
            actual.insert(h, f.to_string());
        }
    }
    // A listing ended (摘牌) is still shown, with its date: closing a listed hazard delists it.
    let delisted: HashMap<String, chrono::NaiveDate> = listings::table
        .filter(listings::hazard_id.eq_any(&ids))
        .filter(listings::delisted_on.is_not_null())
        .select((listings::hazard_id, listings::delisted_on.assume_not_null()))
        .load::<(String, chrono::NaiveDate)>(c)?
        .into_iter()
        .collect();
    drop(pooled);
    let out = rows
        .into_iter()
        .map(|r| {
            let content = r.content();
            let (enterprise_name, enterprise_uscc) =
                firms.get(&r.enterprise_id).cloned().unwrap_or_default();
            ExportRow {
                days_overdue: r.days_late(today),
                late_rectification: r.late_rectification(today),
                sectors: hazard_sector.remove(&r.id).unwrap_or_default().join("、"),
                actual_funds: actual.remove(&r.id),
                street_name: names
                    .streets
                    .get(&r.street_code)
                    .cloned()
                    .unwrap_or_else(|| r.street_code.clone()),
                primary_department_name: names
                    .departments
                    .get(&r.primary_department)
                    .cloned()
                    .unwrap_or_else(|| r.primary_department.clone()),
                ledger_no: r.ledger_no,
                status: r.status,
                level: r.level,
                title: r.title,
                enterprise_name,
                enterprise_uscc,
                category: r.category,
                source: r.source,
                location: r.location,
                discovered_on: r.discovered_on,
                posted_on: r.posted_on,
                deadline: r.deadline,
                effective_deadline: r.effective_deadline,
                delisted_on: delisted.get(&r.id).copied().filter(|_| !r.listed),
                listed: r.listed,
                completed_on: r.completed_on,
                cancel_date: r.cancel_date,
                planned_funds: content.planned_funds,
                responsible_person: content.responsible_person,
                responsible_phone: content.responsible_phone,
            }
        })
        .collect();
    Ok((out, next))
}

fn produce(
    pool: &Pool,
    scope: &HazardScope,
    filter: &HazardFilter,
    format: Format,
    today: chrono::NaiveDate,
    tx: &mpsc::Sender<Chunk>,
) -> anyhow::Result<()> {
    let names = names(&mut *pool.get()?)?;
    let send = |bytes: Vec<u8>| {
        tx.blocking_send(Ok(Bytes::from(bytes)))
            .map_err(|_| anyhow::anyhow!("client went away"))
    };
    let mut cursor: Option<Cursor> = None;
    match format {
        Format::Csv => {
            let mut csv = CsvExport::new();
            send(csv.header())?;
            loop {
                let (rows, next) = page_rows(pool, scope, filter, cursor.as_ref(), today, &names)?;
                let mut chunk = Vec::new();
                for r in &rows {
                    chunk.extend(csv.row(r));
                }
                send(chunk)?;
                match next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
        }
        Format::Xlsx => {
            let mut xlsx = XlsxExport::new()?;
            loop {
                let (rows, next) = page_rows(pool, scope, filter, cursor.as_ref(), today, &names)?;
                for r in &rows {
                    xlsx.row(r)?;
                }
                match next {
                    Some(n) => cursor = Some(n),
                    None => break,
                }
            }
            let mut file = tempfile::tempfile()?;
            xlsx.finish(&mut file)?;
            file.rewind()?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                send(buf[..n].to_vec())?;
            }
        }
    }
    Ok(())
}
