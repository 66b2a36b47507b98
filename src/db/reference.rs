//! Reference data: idempotent seeding and the read queries behind the public lists.

use std::collections::HashMap;

use diesel::prelude::*;

use super::DbConn;
use super::models::{CalendarDay, Category, Department, Sector, Street};
use super::schema::{calendar_days, departments, hazard_categories, sectors, streets};
use crate::seeds::ReferenceData;

/// How many rows seeding inserted and updated (both zero on a rerun).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub inserted: usize,
    pub updated: usize,
}

/// Brings one table in line with the seed rows: inserts the missing, updates the changed,
/// leaves equal rows (and rows not in the seeds) alone.
macro_rules! sync_table {
    ($conn:expr, $report:expr, $table:ident, $model:ty, $key:ident, $rows:expr) => {{
        let existing: HashMap<_, $model> = $table::table
            .select(<$model>::as_select())
            .load::<$model>($conn)?
            .into_iter()
            .map(|row| (row.$key.clone(), row))
            .collect();
        for row in $rows {
            match existing.get(&row.$key) {
                None => {
                    diesel::insert_into($table::table)
                        .values(&row)
                        .execute($conn)?;
                    $report.inserted += 1;
                }
                Some(old) if *old != row => {
                    diesel::update($table::table.find(row.$key.clone()))
                        .set(&row)
                        .execute($conn)?;
                    $report.updated += 1;
                }
                Some(_) => {}
            }
        }
    }};
}

/// Loads the reference data in one transaction; running it twice changes nothing.
pub fn seed(conn: &mut DbConn, data: &ReferenceData) -> QueryResult<SeedReport> {
    super::write_tx(conn, |conn| {
        let mut report = SeedReport::default();
        let street_rows = data.streets.iter().map(|s| Street {
            code: s.code.clone(),
            name: s.name.clone(),
        });
        sync_table!(conn, report, streets, Street, code, street_rows);
        let department_rows = data.departments.iter().map(|d| Department {
            code: d.code.clone(),
            name: d.name.clone(),
            kind: d.kind.clone(),
            remit: d.remit.clone(),
        });
        sync_table!(conn, report, departments, Department, code, department_rows);
        let sector_rows = data.sectors.iter().map(|(s, standard)| Sector {
            code: s.code.clone(),
            name: s.name.clone(),
            primary_department: s.primary_department.clone(),
            major_standard: standard.clone(),
        });
        sync_table!(conn, report, sectors, Sector, code, sector_rows);
        let category_rows = data.categories.iter().map(|c| Category {
            code: c.code.clone(),
            name: c.name.clone(),
        });
        sync_table!(
            conn,
            report,
            hazard_categories,
            Category,
            code,
            category_rows
        );
        let day_rows = data.calendar.iter().map(|(day, kind)| CalendarDay {
            day: *day,
            kind: (*kind).to_string(),
        });
        sync_table!(conn, report, calendar_days, CalendarDay, day, day_rows);
        Ok(report)
    })
}

/// All streets, by code.
pub fn list_streets(conn: &mut DbConn) -> QueryResult<Vec<Street>> {
    streets::table
        .order(streets::code)
        .select(Street::as_select())
        .load(conn)
}

/// All departments, the district office first.
pub fn list_departments(conn: &mut DbConn) -> QueryResult<Vec<Department>> {
    departments::table
        .order((departments::kind.desc(), departments::code))
        .select(Department::as_select())
        .load(conn)
}

/// All sectors with their primary department.
pub fn list_sectors(conn: &mut DbConn) -> QueryResult<Vec<Sector>> {
    sectors::table
        .order(sectors::code)
        .select(Sector::as_select())
        .load(conn)
}

/// All hazard categories.
pub fn list_categories(conn: &mut DbConn) -> QueryResult<Vec<Category>> {
    hazard_categories::table
        .order(hazard_categories::code)
        .select(Category::as_select())
        .load(conn)
}
