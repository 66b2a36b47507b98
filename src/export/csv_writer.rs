//! Streaming CSV: UTF-8 BOM (so Excel picks UTF-8), CRLF line ends, RFC 4180 quoting.

use std::borrow::Cow;
use std::io;
use std::sync::{Arc, Mutex};

use super::{COLUMNS, Cell, ExportRow, cells, headers};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The `io::Write` end the `csv::Writer` flushes into; we take the bytes out after each line.
/// (`csv::Writer` only lends `&W` back, hence the shared handle. The lock is never contended:
/// both ends live in the same `CsvExport`, which is `Send`.)
#[derive(Clone, Default)]
struct LineBuf(Arc<Mutex<Vec<u8>>>);

impl io::Write for LineBuf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("csv line buffer poisoned")
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Streaming CSV writer: call [`CsvExport::header`] once, then [`CsvExport::row`] per hazard,
/// and send each returned chunk as it comes. Memory use does not grow with the row count.
///
/// Text that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, tab or
/// CR) is prefixed with `'`, the usual CSV-injection guard: hazard titles, locations and names
/// are typed by enterprises and the public-facing side, and an inspector opens the file in Excel.
/// Dates are `YYYY-MM-DD`; money is the stored decimal text, unchanged.
pub struct CsvExport {
    wtr: csv::Writer<LineBuf>,
    buf: LineBuf,
    scratch: [String; COLUMNS],
}

impl Default for CsvExport {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvExport {
    pub fn new() -> Self {
        let buf = LineBuf::default();
        let wtr = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .buffer_capacity(4 * 1024)
            .from_writer(buf.clone());
        CsvExport {
            wtr,
            buf,
            scratch: Default::default(),
        }
    }

    /// UTF-8 BOM followed by the header line.
    pub fn header(&mut self) -> Vec<u8> {
        let mut out = BOM.to_vec();
        self.wtr
            .write_record(headers())
            .expect("writing to memory cannot fail");
        out.extend_from_slice(&self.take());
        out
    }

    /// One CSV line (CRLF-terminated) for the row.
    pub fn row(&mut self, r: &ExportRow) -> Vec<u8> {
        for (slot, cell) in self.scratch.iter_mut().zip(cells(r)) {
            slot.clear();
            render(slot, &cell);
        }
        self.wtr
            .write_record(&self.scratch)
            .expect("writing to memory cannot fail");
        self.take()
    }

    fn take(&mut self) -> Vec<u8> {
        self.wtr.flush().expect("writing to memory cannot fail");
        let mut line = self.buf.0.lock().expect("csv line buffer poisoned");
        let out = line.clone();
        line.clear(); // keep the capacity for the next line
        out
    }
}

fn render(out: &mut String, cell: &Cell<'_>) {
    use std::fmt::Write as _;
    match cell {
        Cell::Text(s) => out.push_str(&neutralize(s)),
        Cell::Date(Some(d)) => {
            let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        }
        Cell::Date(None) | Cell::Money(None) => {}
        Cell::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Cell::Money(Some(m)) => out.push_str(m.trim()),
    }
}

/// Prefix `'` to text a spreadsheet would evaluate as a formula.
fn neutralize(s: &str) -> Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{d, sample_row};
    use super::*;

    fn line(r: &ExportRow) -> String {
        String::from_utf8(CsvExport::new().row(r)).unwrap()
    }

    #[test]
    fn header_has_bom_and_chinese_headers() {
        let h = CsvExport::new().header();
        assert!(h.starts_with(BOM));
        let s = std::str::from_utf8(&h[3..]).unwrap();
        assert!(s.starts_with("台账编号,状态,等级,隐患名称,企业名称,统一社会信用代码,"));
        assert!(s.ends_with("计划资金(万元),实际资金(万元),整改责任人,联系电话\r\n"));
        assert_eq!(s.matches(',').count(), COLUMNS - 1);
    }

    #[test]
    fn full_row_formatting() {
        let s = line(&sample_row(7));
        assert_eq!(
            s,
            "CN-2024-000007,整改中,重大,配电房消防通道堵塞 #7,上海长宁示例实业有限公司,\
             91310105MA1FL12345,新华路街道,区市场监管局,工贸、消防,消防与应急安全,监督检查,\
             1号楼地下一层配电房,2024-03-01,2024-03-02,2024-06-30,2024-07-31,12,是,是,,,\
             12.5,8.2518,张三,13800138000\r\n"
        );
    }

    #[test]
    fn quoting_commas_quotes_newlines() {
        let mut r = sample_row(1);
        r.title = "甲,乙".into();
        r.location = "他说\"危险\"".into();
        r.enterprise_name = "第一行\n第二行".into();
        r.sectors = "a\r\nb".into();
        let s = line(&r);
        assert!(s.contains(",\"甲,乙\","), "{s}");
        assert!(s.contains(",\"他说\"\"危险\"\"\","), "{s}");
        assert!(s.contains(",\"第一行\n第二行\","), "{s}");
        assert!(s.contains(",\"a\r\nb\","), "{s}");
        // Read it back with a conforming parser: every field survives.
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(s.as_bytes());
        let rec = rdr.records().next().unwrap().unwrap();
        assert_eq!(rec.len(), COLUMNS);
        assert_eq!(&rec[3], "甲,乙");
        assert_eq!(&rec[4], "第一行\n第二行");
        assert_eq!(&rec[8], "a\r\nb");
        assert_eq!(&rec[11], "他说\"危险\"");
    }

    #[test]
    fn dates_money_and_empties() {
        let mut r = sample_row(1);
        r.completed_on = d(2025, 1, 9);
        r.cancel_date = None;
        r.planned_funds = Some("0.0001".into());
        r.actual_funds = None;
        r.ledger_no = None;
        r.responsible_phone = None;
        r.listed = false;
        r.days_overdue = 0;
        r.late_rectification = false;
        let s = line(&r);
        let f: Vec<&str> = s.trim_end_matches("\r\n").split(',').collect();
        assert_eq!(f.len(), COLUMNS);
        assert_eq!(f[0], "");
        assert_eq!(f[12], "2024-03-01");
        assert_eq!(f[16], "0");
        assert_eq!(f[17], "否", "not 超期整改");
        assert_eq!(f[18], "否");
        // Before posting there is no deadline to be late for.
        let mut unposted = r.clone();
        unposted.deadline = None;
        let s = line(&unposted);
        let f: Vec<&str> = s.trim_end_matches("\r\n").split(',').collect();
        assert_eq!(f[17], "", "no deadline yet");
        r.delisted_on = d(2025, 1, 10);
        let s = line(&r);
        assert_eq!(
            s.split(',').nth(18),
            Some("已摘牌（2025-01-10）"),
            "closed, once listed"
        );
        assert_eq!(f[19], "2025-01-09");
        assert_eq!(f[20], "");
        assert_eq!(f[21], "0.0001");
        assert_eq!(f[22], "");
        assert_eq!(f[24], "");
    }

    #[test]
    fn formula_injection_is_neutralized() {
        let mut r = sample_row(1);
        r.title = "=HYPERLINK(\"http://x\",\"点我\")".into();
        r.location = "@SUM(A1)".into();
        r.responsible_phone = Some("+8613800138000".into());
        let s = line(&r);
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(s.as_bytes());
        let rec = rdr.records().next().unwrap().unwrap();
        assert_eq!(&rec[3], "'=HYPERLINK(\"http://x\",\"点我\")");
        assert_eq!(&rec[11], "'@SUM(A1)");
        assert_eq!(&rec[24], "'+8613800138000");
    }

    #[test]
    fn many_rows_reuse_writer() {
        let mut w = CsvExport::new();
        let mut all = w.header();
        for i in 0..1000 {
            all.extend(w.row(&sample_row(i)));
        }
        let mut rdr = csv::ReaderBuilder::new().from_reader(&all[3..]);
        assert_eq!(rdr.headers().unwrap().len(), COLUMNS);
        assert_eq!(rdr.records().count(), 1000);
    }
}
