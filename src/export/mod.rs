//! Export writers for `GET /api/v1/hazards/export?format=csv|xlsx` (issue 6, item 5).
//!
//! Plain data in, bytes out: the caller queries the hazards (same filters and scope as the list
//! endpoint), maps each one to an [`ExportRow`] and feeds the rows one at a time to a
//! [`CsvExport`] or an [`XlsxExport`]. Neither writer keeps the rows in memory:
//!
//! * CSV yields the bytes of each line as soon as it is given the row: stream them to the client.
//! * XLSX is a zip whose directory comes last, so the sheet is spilled row by row to a temporary
//!   file (rust_xlsxwriter's constant-memory mode) and the finished workbook is written by
//!   [`XlsxExport::finish`] into a caller-provided writer, typically a temp file that is then
//!   streamed out.
//!
//! Both writers take their column order, headers and Chinese display values from this module
//! ([`headers`], [`cells`]), so the two formats cannot drift apart.

mod codes;
mod csv_writer;
mod xlsx_writer;

use std::borrow::Cow;

use chrono::NaiveDate;

pub use codes::{CATEGORIES, SOURCES, category_name, level_name, source_name, status_name};
pub use csv_writer::CsvExport;
pub use xlsx_writer::{SHEET_NAME, XlsxExport};

/// One exported hazard. Tip reporters' identities are never part of it (there is no field for
/// them, by construction).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportRow {
    pub ledger_no: Option<String>,
    /// Status code, e.g. `on_ledger`.
    pub status: String,
    /// `general` | `major`.
    pub level: String,
    pub title: String,
    pub enterprise_name: String,
    pub enterprise_uscc: String,
    pub street_name: String,
    pub primary_department_name: String,
    /// Sector names, already joined by the caller (e.g. with "、").
    pub sectors: String,
    /// Category code, e.g. `B03`.
    pub category: Option<String>,
    /// Source code, 1..=9.
    pub source: Option<i32>,
    pub location: String,
    pub discovered_on: Option<NaiveDate>,
    pub posted_on: Option<NaiveDate>,
    pub deadline: Option<NaiveDate>,
    pub effective_deadline: Option<NaiveDate>,
    pub days_overdue: i64,
    /// 超期整改: completed (accepted), or still open, after the original deadline.
    pub late_rectification: bool,
    pub listed: bool,
    /// When a listing ended (摘牌, at close-out or otherwise), for a hazard no longer listed.
    pub delisted_on: Option<NaiveDate>,
    pub completed_on: Option<NaiveDate>,
    pub cancel_date: Option<NaiveDate>,
    /// 万元, exact decimal text as stored, e.g. `"12.5"`.
    pub planned_funds: Option<String>,
    /// 万元, exact decimal text as stored.
    pub actual_funds: Option<String>,
    pub responsible_person: Option<String>,
    pub responsible_phone: Option<String>,
}

/// Export format of `?format=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    /// `csv` or `xlsx`, ASCII case-insensitive, surrounding whitespace ignored.
    pub fn parse(s: &str) -> Option<Format> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("csv") {
            Some(Format::Csv)
        } else if s.eq_ignore_ascii_case("xlsx") {
            Some(Format::Xlsx)
        } else {
            None
        }
    }

    /// Value for the `Content-Type` header.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// File extension, without the dot.
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// Number of exported columns.
pub const COLUMNS: usize = 25;

const HEADERS: [&str; COLUMNS] = [
    "台账编号",
    "状态",
    "等级",
    "隐患名称",
    "企业名称",
    "统一社会信用代码",
    "街镇",
    "主管部门",
    "行业领域",
    "隐患类别",
    "隐患来源",
    "隐患部位",
    "发现日期",
    "上账日期",
    "整改期限",
    "有效期限",
    "超期天数",
    "超期整改",
    "挂牌督办",
    "整改完成日期",
    "销账日期",
    "计划资金(万元)",
    "实际资金(万元)",
    "整改责任人",
    "联系电话",
];

/// Chinese column headers, in column order.
pub fn headers() -> &'static [&'static str] {
    &HEADERS
}

/// One cell of an exported row, typed so that each writer can render it natively.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    /// Free or display text; empty means an empty cell.
    Text(Cow<'a, str>),
    /// A calendar date; `None` is an empty cell.
    Date(Option<NaiveDate>),
    /// A whole number.
    Int(i64),
    /// 万元 as exact decimal text; `None` is an empty cell.
    Money(Option<&'a str>),
}

fn text(s: &str) -> Cell<'_> {
    Cell::Text(Cow::Borrowed(s))
}

fn opt_text(s: &Option<String>) -> Cell<'_> {
    text(s.as_deref().unwrap_or(""))
}

/// The row as cells in [`headers`] order, codes already turned into Chinese display values.
pub fn cells(r: &ExportRow) -> [Cell<'_>; COLUMNS] {
    [
        opt_text(&r.ledger_no),
        text(status_name(&r.status)),
        text(level_name(&r.level)),
        text(&r.title),
        text(&r.enterprise_name),
        text(&r.enterprise_uscc),
        text(&r.street_name),
        text(&r.primary_department_name),
        text(&r.sectors),
        text(r.category.as_deref().map(category_name).unwrap_or("")),
        match r.source {
            Some(code) => match source_name(code) {
                Some(name) => text(name),
                None => Cell::Text(Cow::Owned(code.to_string())),
            },
            None => text(""),
        },
        text(&r.location),
        Cell::Date(r.discovered_on),
        Cell::Date(r.posted_on),
        Cell::Date(r.deadline),
        Cell::Date(r.effective_deadline),
        Cell::Int(r.days_overdue),
        // Blank before posting: without a deadline there is nothing to be late for.
        text(match (r.late_rectification, r.deadline) {
            (true, _) => "是",
            (false, Some(_)) => "否",
            (false, None) => "",
        }),
        match (r.listed, r.delisted_on) {
            (true, _) => text("是"),
            (false, Some(d)) => Cell::Text(Cow::Owned(format!("已摘牌（{d}）"))),
            (false, None) => text("否"),
        },
        Cell::Date(r.completed_on),
        Cell::Date(r.cancel_date),
        Cell::Money(r.planned_funds.as_deref()),
        Cell::Money(r.actual_funds.as_deref()),
        opt_text(&r.responsible_person),
        opt_text(&r.responsible_phone),
    ]
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::ExportRow;
    use chrono::NaiveDate;

    pub fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    /// A fully populated row.
    pub fn sample_row(i: usize) -> ExportRow {
        ExportRow {
            ledger_no: Some(format!("CN-2024-{i:06}")),
            status: "in_rectification".into(),
            level: "major".into(),
            title: format!("配电房消防通道堵塞 #{i}"),
            enterprise_name: "上海长宁示例实业有限公司".into(),
            enterprise_uscc: "91310105MA1FL12345".into(),
            street_name: "新华路街道".into(),
            primary_department_name: "区市场监管局".into(),
            sectors: "工贸、消防".into(),
            category: Some("B03".into()),
            source: Some(5),
            location: "1号楼地下一层配电房".into(),
            discovered_on: d(2024, 3, 1),
            posted_on: d(2024, 3, 2),
            deadline: d(2024, 6, 30),
            effective_deadline: d(2024, 7, 31),
            days_overdue: 12,
            late_rectification: true,
            listed: true,
            delisted_on: None,
            completed_on: None,
            cancel_date: None,
            planned_funds: Some("12.5".into()),
            actual_funds: Some("8.2518".into()),
            responsible_person: Some("张三".into()),
            responsible_phone: Some("13800138000".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_parse_and_metadata() {
        assert_eq!(Format::parse("csv"), Some(Format::Csv));
        assert_eq!(Format::parse(" XLSX "), Some(Format::Xlsx));
        assert_eq!(Format::parse("xls"), None);
        assert_eq!(Format::parse(""), None);
        assert_eq!(Format::Csv.extension(), "csv");
        assert_eq!(Format::Xlsx.extension(), "xlsx");
        assert!(Format::Csv.content_type().starts_with("text/csv"));
        assert!(Format::Xlsx.content_type().contains("spreadsheetml.sheet"));
    }

    #[test]
    fn headers_match_cells() {
        assert_eq!(headers().len(), COLUMNS);
        assert_eq!(headers()[0], "台账编号");
        assert_eq!(headers()[24], "联系电话");
        let r = test_support::sample_row(1);
        let c = cells(&r);
        assert_eq!(c[1], text("整改中"));
        assert_eq!(c[2], text("重大"));
        assert_eq!(c[9], text("消防与应急安全"));
        assert_eq!(c[10], text("监督检查"));
        assert_eq!(c[17], text("是"), "超期整改");
        assert_eq!(c[18], text("是"), "挂牌督办");
        assert_eq!(c[16], Cell::Int(12));
        assert_eq!(c[21], Cell::Money(Some("12.5")));
    }

    #[test]
    fn unknown_codes_pass_through() {
        let r = ExportRow {
            status: "weird".into(),
            level: "x".into(),
            category: Some("Z99".into()),
            source: Some(42),
            ..Default::default()
        };
        let c = cells(&r);
        assert_eq!(c[1], text("weird"));
        assert_eq!(c[2], text("x"));
        assert_eq!(c[9], text("Z99"));
        assert_eq!(c[10], Cell::Text(Cow::Owned("42".into())));
        assert_eq!(c[17], text(""));
        assert_eq!(c[18], text("否"));
    }
}
