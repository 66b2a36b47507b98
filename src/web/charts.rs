//! Charts drawn as inline SVG on the server: no script, no external asset. Colours are SVG
//! presentation attributes (not `style`), so the page's strict CSP holds. Each chart carries a
//! `<title>` and the page prints the same figures as a table beside it.

use std::fmt::Write;

/// Escapes text for SVG/HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const BAR: &str = "#0b57a4";
const LATE: &str = "#a4000f";

/// Horizontal bars: one row per (label, value).
pub fn bars(title: &str, rows: &[(String, i64)]) -> String {
    let row_h = 26;
    let label_w = 130;
    let bar_w = 240;
    let height = (rows.len().max(1) * row_h + 10) as i64;
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {} {height}" width="100%"><title>{}</title>"#,
        label_w + bar_w + 60,
        esc(title)
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = i as i64 * row_h as i64 + 5;
        let w = value * bar_w as i64 / max;
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end" font-size="13" fill="#1a1a1a">{}</text><rect x="{label_w}" y="{y}" width="{w}" height="18" fill="{BAR}"/><text x="{}" y="{}" font-size="13" fill="#1a1a1a">{value}</text>"##,
            label_w - 6,
            y + 14,
            esc(label),
            label_w as i64 + w + 4,
            y + 14,
        );
    }
    if rows.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="10" y="20" font-size="13" fill="#4a4a4a">暂无数据</text>"##
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Grouped columns per period: (label, on time, late).
pub fn on_time_late(title: &str, rows: &[(String, i64, i64)]) -> String {
    let col_w = 44;
    let chart_h = 160;
    let width = (rows.len().max(1) * col_w + 20) as i64;
    let max = rows.iter().map(|r| r.1.max(r.2)).max().unwrap_or(0).max(1);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {}" width="100%"><title>{}</title>"#,
        chart_h + 60,
        esc(title)
    );
    for (i, (label, on_time, late)) in rows.iter().enumerate() {
        let x = 10 + i as i64 * col_w as i64;
        let h1 = on_time * chart_h / max;
        let h2 = late * chart_h / max;
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{}" width="16" height="{h1}" fill="{BAR}"/><rect x="{}" y="{}" width="16" height="{h2}" fill="{LATE}"/><text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#1a1a1a">{}</text>"##,
            chart_h + 10 - h1,
            x + 18,
            chart_h + 10 - h2,
            x + 17,
            chart_h + 26,
            esc(label),
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="10" y="{}" width="12" height="12" fill="{BAR}"/><text x="26" y="{}" font-size="12" fill="#1a1a1a">按期</text><rect x="70" y="{}" width="12" height="12" fill="{LATE}"/><text x="86" y="{}" font-size="12" fill="#1a1a1a">超期</text>"##,
        chart_h + 38,
        chart_h + 49,
        chart_h + 38,
        chart_h + 49
    );
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_and_escape() {
        let svg = bars("逾期", &[("A<b>".into(), 10), ("B".into(), 5)]);
        assert!(svg.contains(r#"width="240""#), "{svg}");
        assert!(svg.contains(r#"width="120""#));
        assert!(svg.contains("A&lt;b&gt;"));
        assert!(!svg.contains("style="));
        let svg = on_time_late("月", &[("2026-01".into(), 4, 2)]);
        assert!(svg.contains(r#"height="160""#) && svg.contains(r#"height="80""#));
    }
}
