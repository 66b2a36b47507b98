//! Row types of the tables in [`super::schema`].

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use super::schema::{calendar_days, departments, hazard_categories, sectors, streets};

/// A street or town.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = streets)]
pub struct Street {
    pub code: String,
    pub name: String,
}

/// A department or the district office.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = departments)]
pub struct Department {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub remit: String,
}

/// A sector and its primary department.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = sectors, treat_none_as_null = true)]
pub struct Sector {
    pub code: String,
    pub name: String,
    pub primary_department: String,
    pub major_standard: Option<String>,
}

/// A hazard category (A01…B99).
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = hazard_categories)]
pub struct Category {
    pub code: String,
    pub name: String,
}

/// A day that breaks the Monday–Friday rule.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset, Serialize,
)]
#[diesel(table_name = calendar_days)]
pub struct CalendarDay {
    pub day: NaiveDate,
    pub kind: String,
}
