//! A small, deterministic page-layout helper for A4 documents with Chinese text,
//! written on `krilla` (PDF writing, font subsetting and embedding) and `skrifa`
//! (character map and glyph advances for line breaking).
//!
//! Layout happens first into a list of pages of drawing operations, so the page
//! count is known when the footer ("第 x 页 共 n 页") is drawn. Coordinates are in
//! PDF points with the origin at the top-left corner and y growing downwards
//! (krilla's convention); text is positioned by its baseline.

use std::fmt;
use std::sync::OnceLock;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke, StrokeDash};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

/// WenQuanYi Micro Hei (face 0 of the Debian `fonts-wqy-microhei` collection),
/// Apache-2.0 or GPL-3+ with the font exception; see `assets/fonts/wqy-microhei.LICENSE.txt`.
pub(crate) static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei.ttf");
/// The PostScript name of the embedded font; a subset of it appears in every PDF.
#[cfg(test)]
pub(crate) const FONT_PS_NAME: &str = "WenQuanYiMicroHei";

/// A4 in points.
pub(crate) const PAGE_W: f32 = 595.276;
pub(crate) const PAGE_H: f32 = 841.89;
const MM: f32 = 72.0 / 25.4;
/// Left margin 28 mm, right margin 26 mm (the GB/T 9704 text block is 156 mm wide).
pub(crate) const LEFT: f32 = 28.0 * MM;
pub(crate) const RIGHT: f32 = PAGE_W - 26.0 * MM;
const TOP: f32 = 25.0 * MM;
/// Content stops here; the footer sits below.
const BOTTOM: f32 = PAGE_H - 22.0 * MM;
const FOOTER_BASELINE: f32 = PAGE_H - 12.0 * MM;

/// Building a PDF failed (should not happen with the embedded font).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfError(pub String);

impl fmt::Display for PdfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PDF generation failed: {}", self.0)
    }
}

impl std::error::Error for PdfError {}

/// Character map and advances of the embedded font, parsed once.
struct Metrics {
    font: FontRef<'static>,
    glyphs: GlyphMetrics<'static>,
    upem: f32,
    ascent: f32,
    descent: f32,
}

fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        let font = FontRef::new(FONT_BYTES).expect("embedded font parses");
        let m = font.metrics(Size::unscaled(), LocationRef::default());
        let upem = f32::from(m.units_per_em);
        Metrics {
            glyphs: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            font,
            upem,
            ascent: m.ascent / upem,
            descent: (-m.descent).max(0.0) / upem,
        }
    })
}

fn krilla_font() -> Result<Font, PdfError> {
    static F: OnceLock<Option<Font>> = OnceLock::new();
    F.get_or_init(|| Font::new(krilla::Data::from(FONT_BYTES), 0))
        .clone()
        .ok_or_else(|| PdfError("the embedded font could not be loaded".into()))
}

impl Metrics {
    /// Glyph id and advance (in em) of a character, if the font has it.
    fn glyph(&self, c: char) -> Option<(u32, f32)> {
        let gid = self.font.charmap().map(c)?;
        if gid.to_u32() == 0 {
            return None;
        }
        let adv = self.glyphs.advance_width(gid).unwrap_or(self.upem) / self.upem;
        Some((gid.to_u32(), adv))
    }

    fn advance(&self, c: char) -> f32 {
        self.glyph(c).map_or(1.0, |(_, a)| a)
    }
}

/// Replace what the font cannot draw: tabs become spaces, other control characters
/// go (line breaks are kept), characters missing from the font become "□".
pub(crate) fn sanitize(text: &str) -> String {
    let m = metrics();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push('\n'),
            '\r' => {}
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c if m.glyph(c).is_some() => out.push(c),
            _ => out.push(if m.glyph('□').is_some() { '□' } else { '?' }),
        }
    }
    out
}

/// Width of a single line of (sanitised) text at `size` points.
pub(crate) fn text_width(text: &str, size: f32) -> f32 {
    let m = metrics();
    text.chars().map(|c| m.advance(c)).sum::<f32>() * size
}

fn is_closing(c: char) -> bool {
    "，。、；：！？）》」』”’〕】…,.;:!?)]}%".contains(c)
}

fn is_opening(c: char) -> bool {
    "（《「『“‘〔【([{".contains(c)
}

/// A breakable unit: a run of non-space Latin text (kept together where possible),
/// a single space, or a single other character (CJK breaks anywhere).
fn units(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        let wordish = c.is_ascii_graphic() && !is_closing(c) && !is_opening(c);
        if wordish {
            if start.is_none() {
                start = Some(i);
            }
            continue;
        }
        if let Some(s) = start.take() {
            out.push(&text[s..i]);
        }
        out.push(&text[i..i + c.len_utf8()]);
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

/// Break `text` into lines no wider than `width` (the first line of every
/// paragraph additionally loses `first_indent`). Hard line breaks are kept;
/// closing punctuation may hang past the edge rather than start a line, and an
/// opening bracket does not end a line.
pub(crate) fn wrap(text: &str, size: f32, width: f32, first_indent: f32) -> Vec<String> {
    let text = sanitize(text);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut cur = String::new();
        let mut cur_w = 0.0f32;
        let mut avail = width - first_indent;
        let mut para_lines = Vec::new();
        for unit in units(para) {
            let w = text_width(unit, size);
            let first = unit.chars().next().unwrap_or(' ');
            if cur_w + w <= avail + 0.01 {
                cur.push_str(unit);
                cur_w += w;
                continue;
            }
            if unit == " " {
                para_lines.push(std::mem::take(&mut cur));
                cur_w = 0.0;
                avail = width;
                continue;
            }
            if is_closing(first) && unit.chars().count() == 1 && !cur.is_empty() {
                // hanging punctuation
                cur.push_str(unit);
                cur_w += w;
                continue;
            }
            if w > width {
                // an over-long Latin run: break it by characters
                for c in unit.chars() {
                    let cw = text_width(c.encode_utf8(&mut [0; 4]), size);
                    if cur_w + cw > avail + 0.01 && !cur.is_empty() {
                        para_lines.push(std::mem::take(&mut cur));
                        cur_w = 0.0;
                        avail = width;
                    }
                    cur.push(c);
                    cur_w += cw;
                }
                continue;
            }
            // break before this unit; carry a trailing opening bracket along
            let mut carry = String::new();
            if let Some(last) = cur.chars().last()
                && is_opening(last)
                && cur.chars().count() > 1
            {
                cur.pop();
                carry.push(last);
            }
            let finished = std::mem::take(&mut cur);
            para_lines.push(finished.trim_end().to_string());
            avail = width;
            cur = carry;
            cur.push_str(unit.trim_start());
            cur_w = text_width(&cur, size);
        }
        para_lines.push(cur);
        lines.extend(para_lines);
    }
    lines
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

pub(crate) const BLACK: Rgb = Rgb(0, 0, 0);
pub(crate) const RED: Rgb = Rgb(200, 16, 16);
pub(crate) const GREY: Rgb = Rgb(90, 90, 90);

#[derive(Debug, Clone)]
pub(crate) enum Op {
    Text {
        x: f32,
        baseline: f32,
        size: f32,
        text: String,
        bold: bool,
        color: Rgb,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Rgb,
        dashed: bool,
    },
}

/// Flow layout of one document.
pub(crate) struct Layout {
    pub(crate) pages: Vec<Vec<Op>>,
    /// Top of the free space on the current page.
    y: f32,
}

fn baseline_in(top: f32, line_h: f32, size: f32) -> f32 {
    let m = metrics();
    let glyph_h = (m.ascent + m.descent) * size;
    top + (line_h - glyph_h) / 2.0 + m.ascent * size
}

impl Layout {
    pub(crate) fn new() -> Self {
        Layout {
            pages: vec![Vec::new()],
            y: TOP,
        }
    }

    fn ops(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("at least one page")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Start a new page unless `h` points still fit on this one.
    pub(crate) fn keep(&mut self, h: f32) {
        if self.y + h > BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    pub(crate) fn gap(&mut self, h: f32) {
        self.y += h;
        if self.y > BOTTOM {
            self.new_page();
        }
    }

    fn text_at(&mut self, x: f32, baseline: f32, size: f32, text: String, bold: bool, color: Rgb) {
        if !text.is_empty() {
            self.ops().push(Op::Text {
                x,
                baseline,
                size,
                text,
                bold,
                color,
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn line(
        &mut self,
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Rgb,
        dashed: bool,
    ) {
        self.ops().push(Op::Line {
            x1,
            y1,
            x2,
            y2,
            width,
            color,
            dashed,
        });
    }

    /// A horizontal rule across the text block, then `after` points of space.
    pub(crate) fn rule(&mut self, width: f32, color: Rgb, after: f32) {
        let y = self.y;
        self.line(LEFT, y, RIGHT, y, width, color, false);
        self.gap(after);
    }

    /// A centred line of text.
    pub(crate) fn centered(&mut self, text: &str, size: f32, line_h: f32, bold: bool) {
        for l in wrap(text, size, RIGHT - LEFT, 0.0) {
            self.keep(line_h);
            let x = LEFT + (RIGHT - LEFT - text_width(&l, size)) / 2.0;
            let b = baseline_in(self.y, line_h, size);
            self.text_at(x, b, size, l, bold, BLACK);
            self.y += line_h;
        }
    }

    /// One line with `left` flush left and `right` flush right.
    pub(crate) fn left_right(&mut self, left: &str, right: &str, size: f32, line_h: f32) {
        self.keep(line_h);
        let b = baseline_in(self.y, line_h, size);
        let left = sanitize(left);
        let right = sanitize(right);
        let rw = text_width(&right, size);
        if text_width(&left, size) + rw + size > RIGHT - LEFT {
            // too long for one line: stack them
            self.paragraph(&left, size, line_h, 0.0, false);
            self.right_lines(&[right.as_str()], size, line_h);
            return;
        }
        self.text_at(LEFT, b, size, left, false, BLACK);
        self.text_at(RIGHT - rw, b, size, right, false, BLACK);
        self.y += line_h;
    }

    /// A paragraph, its first line indented by `indent` points.
    pub(crate) fn paragraph(
        &mut self,
        text: &str,
        size: f32,
        line_h: f32,
        indent: f32,
        bold: bool,
    ) {
        let (x, width) = (LEFT, RIGHT - LEFT);
        let mut first = true;
        for l in wrap(text, size, width, indent) {
            self.keep(line_h);
            let b = baseline_in(self.y, line_h, size);
            let lx = if first { x + indent } else { x };
            self.text_at(lx, b, size, l, bold, BLACK);
            self.y += line_h;
            first = false;
        }
    }

    /// A hanging-indent item: `head` (e.g. "1．") then text wrapped under itself.
    pub(crate) fn item(&mut self, head: &str, text: &str, size: f32, line_h: f32, indent: f32) {
        let head_w = text_width(&sanitize(head), size);
        let x = LEFT + indent;
        let lines = wrap(text, size, RIGHT - x - head_w, 0.0);
        for (i, l) in lines.into_iter().enumerate() {
            self.keep(line_h);
            let b = baseline_in(self.y, line_h, size);
            if i == 0 {
                self.text_at(x, b, size, sanitize(head), false, BLACK);
            }
            self.text_at(x + head_w, b, size, l, false, BLACK);
            self.y += line_h;
        }
    }

    /// Right-aligned lines kept together on one page.
    pub(crate) fn right_lines(&mut self, lines: &[&str], size: f32, line_h: f32) {
        let lines: Vec<String> = lines
            .iter()
            .flat_map(|l| wrap(l, size, RIGHT - LEFT, 0.0))
            .collect();
        self.keep(line_h * lines.len() as f32);
        let right = RIGHT - size; // one em in from the edge, as in printed notices
        for l in lines {
            let b = baseline_in(self.y, line_h, size);
            let w = text_width(&l, size);
            self.text_at((right - w).max(LEFT), b, size, l, false, BLACK);
            self.y += line_h;
        }
    }

    /// "label：value" with a blank line to write on when `value` is `None`.
    pub(crate) fn field_line(
        &mut self,
        label: &str,
        value: Option<&str>,
        blank_w: f32,
        size: f32,
        line_h: f32,
    ) {
        let label = format!("{}：", sanitize(label));
        let lw = text_width(&label, size);
        match value {
            Some(v) => {
                let lines = wrap(v, size, RIGHT - LEFT - lw, 0.0);
                for (i, l) in lines.into_iter().enumerate() {
                    self.keep(line_h);
                    let b = baseline_in(self.y, line_h, size);
                    if i == 0 {
                        self.text_at(LEFT, b, size, label.clone(), false, BLACK);
                    }
                    self.text_at(LEFT + lw, b, size, l, false, BLACK);
                    self.y += line_h;
                }
            }
            None => {
                self.keep(line_h);
                let b = baseline_in(self.y, line_h, size);
                self.text_at(LEFT, b, size, label, false, BLACK);
                let uy = b + size * 0.25;
                self.line(LEFT + lw, uy, LEFT + lw + blank_w, uy, 0.6, BLACK, false);
                self.y += line_h;
            }
        }
    }

    /// A two-column bordered table (label | value); rows split across pages line by line.
    pub(crate) fn table(
        &mut self,
        rows: &[(String, String)],
        size: f32,
        line_h: f32,
        label_w: f32,
    ) {
        const PAD: f32 = 4.0;
        const INSET: f32 = 6.0;
        let (x0, x1, x2) = (LEFT, LEFT + label_w, RIGHT);
        let border = 0.7;
        // top border of the table
        self.keep(line_h + 2.0 * PAD);
        let y = self.y;
        self.line(x0, y, x2, y, border, BLACK, false);
        for (label, value) in rows {
            let ll = wrap(label, size, label_w - 2.0 * INSET, 0.0);
            let vl = wrap(value, size, x2 - x1 - 2.0 * INSET, 0.0);
            let n = ll.len().max(vl.len()).max(1);
            let mut i = 0;
            while i < n {
                // how many of the remaining lines fit on this page?
                let room = ((BOTTOM - self.y - 2.0 * PAD) / line_h).floor().max(0.0) as usize;
                if room == 0 || (i == 0 && room < n.min(2)) {
                    self.new_page();
                    let y = self.y;
                    self.line(x0, y, x2, y, border, BLACK, false);
                    continue;
                }
                let take = room.min(n - i);
                let top = self.y;
                let bottom = top + take as f32 * line_h + 2.0 * PAD;
                for k in i..i + take {
                    let row_top = top + PAD + (k - i) as f32 * line_h;
                    let b = baseline_in(row_top, line_h, size);
                    if let Some(l) = ll.get(k) {
                        self.text_at(x0 + INSET, b, size, l.clone(), false, BLACK);
                    }
                    if let Some(l) = vl.get(k) {
                        self.text_at(x1 + INSET, b, size, l.clone(), false, BLACK);
                    }
                }
                self.line(x0, top, x0, bottom, border, BLACK, false);
                self.line(x1, top, x1, bottom, border, BLACK, false);
                self.line(x2, top, x2, bottom, border, BLACK, false);
                self.line(x0, bottom, x2, bottom, border, BLACK, false);
                self.y = bottom;
                i += take;
                if i < n {
                    self.new_page();
                    let y = self.y;
                    self.line(x0, y, x2, y, border, BLACK, false);
                }
            }
        }
    }

    /// Draw everything, add the page footers and serialise the PDF.
    pub(crate) fn finish(self, title: &str, footer_note: &str) -> Result<Vec<u8>, PdfError> {
        let font = krilla_font()?;
        let m = metrics();
        let mut doc = Document::new();
        doc.set_metadata(
            Metadata::new()
                .title(title.to_string())
                .creator("Hazard Ledger 隐患台账".to_string())
                .language("zh-CN".to_string()),
        );
        let total = self.pages.len();
        for (idx, mut ops) in self.pages.into_iter().enumerate() {
            let footer = sanitize(&format!(
                "{footer_note}    第 {} 页 共 {} 页",
                idx + 1,
                total
            ));
            let fs = 9.0;
            ops.push(Op::Text {
                x: LEFT + (RIGHT - LEFT - text_width(&footer, fs)) / 2.0,
                baseline: FOOTER_BASELINE,
                size: fs,
                text: footer,
                bold: false,
                color: GREY,
            });
            let settings = PageSettings::from_wh(PAGE_W, PAGE_H)
                .ok_or_else(|| PdfError("invalid page size".into()))?;
            let mut page = doc.start_page_with(settings);
            let mut surface = page.surface();
            for op in ops {
                match op {
                    Op::Text {
                        x,
                        baseline,
                        size,
                        text,
                        bold,
                        color,
                    } => {
                        let mut glyphs = Vec::with_capacity(text.len());
                        for (i, c) in text.char_indices() {
                            let (gid, adv) = m.glyph(c).unwrap_or((0, 1.0));
                            glyphs.push(KrillaGlyph::new(
                                GlyphId::new(gid),
                                adv,
                                0.0,
                                0.0,
                                0.0,
                                i..i + c.len_utf8(),
                                None,
                            ));
                        }
                        let paint = rgb::Color::new(color.0, color.1, color.2);
                        surface.set_fill(Some(Fill {
                            paint: paint.into(),
                            ..Fill::default()
                        }));
                        // Faux bold: fill and stroke the outlines (the font has one weight).
                        surface.set_stroke(bold.then(|| Stroke {
                            paint: paint.into(),
                            width: size * 0.035,
                            opacity: NormalizedF32::ONE,
                            ..Stroke::default()
                        }));
                        surface.draw_glyphs(
                            Point::from_xy(x, baseline),
                            &glyphs,
                            font.clone(),
                            &text,
                            size,
                            false,
                        );
                    }
                    Op::Line {
                        x1,
                        y1,
                        x2,
                        y2,
                        width,
                        color,
                        dashed,
                    } => {
                        let mut pb = PathBuilder::new();
                        pb.move_to(x1, y1);
                        pb.line_to(x2, y2);
                        if let Some(path) = pb.finish() {
                            surface.set_fill(None);
                            surface.set_stroke(Some(Stroke {
                                paint: rgb::Color::new(color.0, color.1, color.2).into(),
                                width,
                                dash: dashed.then(|| StrokeDash {
                                    array: vec![3.0, 2.0],
                                    offset: 0.0,
                                }),
                                ..Stroke::default()
                            }));
                            surface.draw_path(&path);
                        }
                    }
                }
            }
            surface.finish();
            page.finish();
        }
        doc.finish().map_err(|e| PdfError(format!("{e:?}")))
    }

    /// Current vertical position (for tests and keep-together decisions).
    pub(crate) fn y(&self) -> f32 {
        self.y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn font_has_cjk_latin_and_brackets() {
        let m = metrics();
        for c in "重大事故隐患挂牌督办通知书〔〕“”：，。0123456789ABCXYZ".chars()
        {
            assert!(m.glyph(c).is_some(), "font lacks {c}");
        }
    }

    #[test]
    fn wrap_respects_width_and_keeps_text() {
        let text = "经核查，你单位存在下列重大事故隐患。Latin words stay together when possible, 91310105MA1FL0000X。";
        let lines = wrap(text, 12.0, 200.0, 24.0);
        assert!(lines.len() > 2);
        let joined: String = lines.concat();
        assert_eq!(joined.replace(' ', ""), text.replace(' ', ""));
        for (i, l) in lines.iter().enumerate() {
            let limit = if i == 0 { 176.0 } else { 200.0 } + 12.0; // one hanging mark at most
            assert!(text_width(l, 12.0) <= limit, "line {i} too wide: {l}");
            assert!(
                !l.starts_with('，') && !l.starts_with('。'),
                "line starts with punctuation: {l}"
            );
        }
    }

    #[test]
    fn sanitize_replaces_unknown_and_controls() {
        assert_eq!(sanitize("a\tb\u{7}c\r\nd"), "a bc\nd");
        // a Private Use Area code point is not in the font
        assert_eq!(sanitize("x\u{E000}y"), "x□y");
    }
}
