//! 重大事故隐患挂牌督办通知书 (listed-supervision notice): the same content as a
//! printable HTML page (askama template `templates/documents/notice.html`) and as
//! an A4 PDF with the CJK font embedded.
//!
//! The wording follows the pattern of published local 挂牌督办 notices (the Ningbo
//! notice template: plan filing by a set date, progress at least once a quarter,
//! acceptance application, extension request within the last N working days,
//! "继续挂账") and the six-part 治理方案. It is a template, not a statement of law:
//! the numbers come from configuration through [`NoticeData`].

use askama::Template;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::pdf::{self, Layout, PdfError};

/// Everything printed on the notice. Free-text fields are printed as given
/// (escaped in HTML); `None` delivery fields print as blank lines to fill by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeData {
    /// 文号, e.g. "长安委督字〔2026〕第3号".
    pub doc_no: String,
    /// "district" | "city" (区级 / 市级挂牌督办); anything else is printed as given.
    pub level: String,
    /// 督办单位, e.g. 长宁区安全生产委员会办公室.
    pub supervising_unit: String,
    /// 督办部门 (name), e.g. 区应急局.
    pub supervising_department: String,
    /// 签发人.
    pub signed_by: String,
    pub issued_on: NaiveDate,
    /// 督办完成时间.
    pub complete_by: NaiveDate,
    /// 治理方案报备时间.
    pub plan_file_by: NaiveDate,
    pub enterprise_name: String,
    pub enterprise_uscc: String,
    pub enterprise_address: String,
    pub principal_name: String,
    pub street_name: String,
    pub ledger_no: String,
    pub hazard_title: String,
    pub hazard_description: String,
    pub location: String,
    /// Standard + clause.
    pub judgement_basis: String,
    pub deadline: NaiveDate,
    pub effective_deadline: NaiveDate,
    /// 送达人.
    pub delivered_by: Option<String>,
    /// 签收人.
    pub received_by: Option<String>,
    /// 签收时间 (as written on the receipt).
    pub received_at: Option<String>,
    /// Extension requests only within the last N working days before the deadline.
    pub extension_window_workdays: u32,
    /// Acceptance within N days of the application.
    pub acceptance_due_days: u32,
    /// The supervision ended (摘牌): the day and why ("隐患已销号", "隐患已作废"); a reprint
    /// then says so above the text, so that it is not taken for an order in force.
    pub ended: Option<(NaiveDate, &'static str)>,
}

pub(crate) const TITLE: &str = "重大事故隐患挂牌督办通知书";

/// "2026年3月1日".
pub(crate) fn cn_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// A local time as the notice prints it: "2026年3月2日 08:30".
pub fn cn_time(local: NaiveDateTime) -> String {
    format!(
        "{} {:02}:{:02}",
        cn_date(local.date()),
        local.hour(),
        local.minute()
    )
}

/// "区级挂牌督办" / "市级挂牌督办"; an unknown value is shown as given.
pub(crate) fn level_label(level: &str) -> String {
    match level.trim() {
        "district" => "区级挂牌督办".to_string(),
        "city" => "市级挂牌督办".to_string(),
        other => other.to_string(),
    }
}

/// One numbered duty: a short heading and its text.
pub(crate) struct Duty {
    pub heading: &'static str,
    pub text: String,
}

/// A delivery-receipt line: the value, or `None` for a blank line.
pub(crate) struct DeliveryLine {
    pub label: &'static str,
    pub value: Option<String>,
}

/// The notice's text, shared by the HTML and PDF renderings so both say the same.
pub(crate) struct NoticeContent {
    pub title: &'static str,
    pub level_label: String,
    /// Lines printed above the text: a city listing's notice is the district's record of the
    /// city's document, not the city's sealed original; a reprint after 摘牌 is an archive copy.
    pub remarks: Vec<String>,
    pub doc_no: String,
    pub signed_by: String,
    pub addressee: String,
    pub intro: String,
    pub hazard_heading: &'static str,
    pub hazard_rows: Vec<(String, String)>,
    pub supervision_heading: &'static str,
    pub supervision_rows: Vec<(String, String)>,
    pub duties_heading: &'static str,
    pub duties: Vec<Duty>,
    pub closing: &'static str,
    pub supervising_unit: String,
    pub issued_on: String,
    pub receipt_heading: &'static str,
    pub delivery: Vec<DeliveryLine>,
    pub copy_to: String,
    pub note: &'static str,
}

fn non_blank(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl NoticeContent {
    pub(crate) fn from_data(n: &NoticeData) -> Self {
        let level = level_label(&n.level);
        let dept = n.supervising_department.as_str();
        let ext = n.extension_window_workdays;
        let acc = n.acceptance_due_days;
        let complete_by = cn_date(n.complete_by);
        let plan_by = cn_date(n.plan_file_by);
        let row = |l: &str, v: String| (l.to_string(), v);
        NoticeContent {
            title: TITLE,
            level_label: level.clone(),
            remarks: [
                (n.level.trim() == "city").then(|| {
                    format!(
                        "市级挂牌督办登记件：由区安委办于{}据市级督办文件录入，以市级原件为准",
                        cn_date(n.issued_on)
                    )
                }),
                n.ended
                    .map(|(on, why)| format!("本督办已于{}结束（{why}），此件为存档打印", cn_date(on))),
            ]
            .into_iter()
            .flatten()
            .collect(),
            doc_no: n.doc_no.clone(),
            signed_by: n.signed_by.clone(),
            addressee: format!("{}：", n.enterprise_name),
            intro: format!(
                "经核查，你单位存在下列重大事故隐患。依据《中华人民共和国安全生产法》等法律法规和重大事故隐患挂牌督办的有关规定，\
                 {unit}决定对该重大事故隐患实施{level}，督办部门为{dept}。请你单位于{complete_by}前完成治理，并做好治理期间的各项工作。",
                unit = n.supervising_unit,
            ),
            hazard_heading: "一、重大事故隐患基本情况",
            hazard_rows: vec![
                row("单位名称", n.enterprise_name.clone()),
                row("统一社会信用代码", n.enterprise_uscc.clone()),
                row("单位地址", n.enterprise_address.clone()),
                row("主要负责人", n.principal_name.clone()),
                row("所在街道（镇）", n.street_name.clone()),
                row("隐患台账编号", n.ledger_no.clone()),
                row("隐患名称", n.hazard_title.clone()),
                row("隐患部位", n.location.clone()),
                row("隐患现状", n.hazard_description.clone()),
                row("判定依据", n.judgement_basis.clone()),
            ],
            supervision_heading: "二、挂牌督办事项",
            supervision_rows: vec![
                row("督办级别", level),
                row("督办单位", n.supervising_unit.clone()),
                row("督办部门", n.supervising_department.clone()),
                row("整改期限", cn_date(n.deadline)),
                row("现行整改期限", format!("{}（含经批准的延期）", cn_date(n.effective_deadline))),
                row("治理方案报备时限", format!("{plan_by}前")),
                row("督办完成时限", format!("{complete_by}前")),
            ],
            duties_heading: "三、治理期间你单位应当做好以下工作",
            duties: vec![
                Duty {
                    heading: "落实“五落实”。",
                    text: format!(
                        "你单位主要负责人{}对该重大事故隐患治理工作全面负责，应当落实治理的责任、措施、资金、时限和预案。",
                        n.principal_name
                    ),
                },
                Duty {
                    heading: "报备治理方案。",
                    text: format!(
                        "你单位主要负责人应当组织制定重大事故隐患治理方案，并于{plan_by}前报{dept}备案。治理方案应当包括：\
                         （一）治理的目标和任务；（二）采取的方法和措施；（三）经费和物资的落实；（四）负责治理的机构和人员；\
                         （五）治理的时限和要求；（六）安全措施和应急预案。"
                    ),
                },
                Duty {
                    heading: "报送治理进展。",
                    text: format!(
                        "自收到本通知书之日起至解除挂牌督办，每季度至少向{dept}报送一次重大事故隐患治理进展情况。"
                    ),
                },
                Duty {
                    heading: "落实防控措施。",
                    text: "治理期间，你单位应当落实安全防控措施，切实防止事故发生。".to_string(),
                },
                Duty {
                    heading: "申请验收。",
                    text: format!(
                        "整改完成后，你单位应当及时向{dept}提出验收申请；{dept}原则上自收到申请之日起{acc}日内组织验收，\
                         验收合格的予以销号，解除挂牌督办。"
                    ),
                },
                Duty {
                    heading: "申请延期。",
                    text: format!(
                        "确因客观原因不能在治理期限内完成的，你单位应当在治理期限届满前{ext}个工作日内，向{unit}提出书面延期申请，\
                         写明延期理由、延期期间的安全防控措施和申请延长的期限。未经批准的，治理期限不变。",
                        unit = n.supervising_unit,
                    ),
                },
                Duty {
                    heading: "继续挂账。",
                    text: "逾期未完成治理或者验收不合格的，该重大事故隐患继续挂账督办，直至整改合格销号；\
                           你单位应当书面说明未按期完成的原因及下一步治理措施。"
                        .to_string(),
                },
            ],
            closing: "特此通知。",
            supervising_unit: n.supervising_unit.clone(),
            issued_on: cn_date(n.issued_on),
            receipt_heading: "送达回执",
            delivery: vec![
                DeliveryLine { label: "送达人（签字）", value: non_blank(&n.delivered_by) },
                DeliveryLine { label: "签收人（签字）", value: non_blank(&n.received_by) },
                DeliveryLine { label: "签收时间", value: non_blank(&n.received_at) },
            ],
            copy_to: format!("抄送：{}", n.street_name),
            note: "注：本通知书一式三份，治理责任单位、督办单位、督办部门各执一份。",
        }
    }
}

#[derive(Template)]
#[template(path = "documents/notice.html")]
struct NoticeHtml<'a> {
    c: &'a NoticeContent,
}

/// The notice as a complete printable HTML page: no external resources, no
/// JavaScript, inline print CSS for A4; every field is escaped by askama.
pub fn render_notice_html(n: &NoticeData) -> String {
    let content = NoticeContent::from_data(n);
    NoticeHtml { c: &content }.render().unwrap_or_else(|_| {
        // Rendering owned strings cannot fail short of a formatter error; never panic.
        format!(
            "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{TITLE}</title></head>\
             <body><p>通知书生成失败，请重试。</p></body></html>"
        )
    })
}

/// The notice as an A4 PDF with the CJK font (a subset of it) embedded.
///
/// Panics only if the PDF writer rejects the embedded font, which the unit tests
/// rule out; use [`try_render_notice_pdf`] to handle that case as an error.
pub fn render_notice_pdf(n: &NoticeData) -> Vec<u8> {
    try_render_notice_pdf(n).expect("notice PDF renders with the embedded font")
}

/// Like [`render_notice_pdf`], returning an error instead of panicking.
pub fn try_render_notice_pdf(n: &NoticeData) -> Result<Vec<u8>, PdfError> {
    let c = NoticeContent::from_data(n);
    layout_notice(&c).finish(TITLE, &c.doc_no)
}

fn layout_notice(c: &NoticeContent) -> Layout {
    const BODY: f32 = 12.0;
    const LH: f32 = 18.5;
    const ROW_LH: f32 = 17.0;
    let em = BODY;
    let mut l = Layout::new();

    l.centered(c.title, 20.0, 32.0, true);
    l.centered(&format!("（{}）", c.level_label), BODY, LH, false);
    for remark in &c.remarks {
        l.centered(&format!("【{remark}】"), BODY, LH, true);
    }
    l.gap(6.0);
    l.left_right(&c.doc_no, &format!("签发人：{}", c.signed_by), BODY, LH);
    l.gap(2.0);
    l.rule(1.5, pdf::RED, 12.0);

    l.paragraph(&c.addressee, BODY, LH, 0.0, false);
    l.paragraph(&c.intro, BODY, LH, 2.0 * em, false);
    l.gap(8.0);

    l.keep(LH * 3.0);
    l.paragraph(c.hazard_heading, BODY, LH, 0.0, true);
    l.gap(2.0);
    l.table(&c.hazard_rows, BODY, ROW_LH, 118.0);
    l.gap(12.0);

    l.keep(LH * 3.0);
    l.paragraph(c.supervision_heading, BODY, LH, 0.0, true);
    l.gap(2.0);
    l.table(&c.supervision_rows, BODY, ROW_LH, 118.0);
    l.gap(12.0);

    l.keep(LH * 3.0);
    l.paragraph(c.duties_heading, BODY, LH, 0.0, true);
    l.gap(2.0);
    for (i, d) in c.duties.iter().enumerate() {
        l.item(
            &format!("{}．", i + 1),
            &format!("{}{}", d.heading, d.text),
            BODY,
            LH,
            2.0 * em,
        );
    }
    l.gap(4.0);
    l.paragraph(c.closing, BODY, LH, 2.0 * em, false);
    l.gap(16.0);

    let sign = format!("{}（印章）", c.supervising_unit);
    l.right_lines(&[sign.as_str(), c.issued_on.as_str()], BODY, LH);
    l.gap(6.0);
    l.paragraph(&c.copy_to, BODY, LH, 0.0, false);

    // Delivery receipt: kept together, below a dashed cut line.
    const RECEIPT_LH: f32 = 22.0;
    l.gap(8.0);
    l.keep(8.0 + RECEIPT_LH + 2.0 + 3.0 * RECEIPT_LH + 4.0 + 16.0);
    let y = l.y();
    l.line(pdf::LEFT, y, pdf::RIGHT, y, 0.6, pdf::BLACK, true);
    l.gap(8.0);
    l.centered(c.receipt_heading, 14.0, RECEIPT_LH, true);
    l.gap(2.0);
    for d in &c.delivery {
        l.field_line(d.label, d.value.as_deref(), 180.0, BODY, RECEIPT_LH);
    }
    l.gap(4.0);
    l.paragraph(c.note, 10.5, 16.0, 0.0, false);
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    pub(crate) fn sample() -> NoticeData {
        NoticeData {
            ended: None,
            doc_no: "长安委督字〔2026〕第3号".into(),
            level: "district".into(),
            supervising_unit: "长宁区安全生产委员会办公室".into(),
            supervising_department: "区应急局".into(),
            signed_by: "王建国".into(),
            issued_on: d(2026, 3, 2),
            complete_by: d(2026, 6, 30),
            plan_file_by: d(2026, 3, 16),
            enterprise_name: "上海某某精细化工有限公司".into(),
            enterprise_uscc: "91310105MA1FL0XK3P".into(),
            enterprise_address: "上海市长宁区临新路268弄5号".into(),
            principal_name: "李明".into(),
            street_name: "新泾镇".into(),
            ledger_no: "SH-CN-YH-2026-000123".into(),
            hazard_title: "甲类仓库防火分区内违规存放易燃液体".into(),
            hazard_description: "甲类仓库二层东侧防火分区内堆放约3.5吨乙醇、丙酮等易燃液体，超过设计储量；\n可燃气体报警装置失效，未与机械通风联动。".into(),
            location: "厂区北侧甲类仓库二层东侧".into(),
            judgement_basis: "《工贸企业重大事故隐患判定标准》（应急管理部令第10号）第十三条第（二）项".into(),
            deadline: d(2026, 6, 30),
            effective_deadline: d(2026, 7, 31),
            delivered_by: Some("张伟、陈静".into()),
            received_by: None,
            received_at: None,
            extension_window_workdays: 15,
            acceptance_due_days: 10,
        }
    }

    /// How askama 0.16 writes a field into HTML (its `Html` escaper).
    fn esc(s: &str) -> String {
        s.replace('&', "&#38;")
            .replace('<', "&#60;")
            .replace('>', "&#62;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;")
    }

    #[test]
    fn html_contains_every_field() {
        let n = sample();
        let html = render_notice_html(&n);
        assert!(html.starts_with("<!DOCTYPE html>"));
        for (name, v) in [
            ("doc_no", n.doc_no.clone()),
            ("supervising_unit", n.supervising_unit.clone()),
            ("supervising_department", n.supervising_department.clone()),
            ("signed_by", n.signed_by.clone()),
            ("issued_on", "2026年3月2日".into()),
            ("complete_by", "2026年6月30日前".into()),
            ("plan_file_by", "2026年3月16日前".into()),
            ("enterprise_name", n.enterprise_name.clone()),
            ("enterprise_uscc", n.enterprise_uscc.clone()),
            ("enterprise_address", n.enterprise_address.clone()),
            ("principal_name", n.principal_name.clone()),
            ("street_name", n.street_name.clone()),
            ("ledger_no", n.ledger_no.clone()),
            ("hazard_title", n.hazard_title.clone()),
            ("hazard_description", n.hazard_description.clone()),
            ("location", n.location.clone()),
            ("judgement_basis", n.judgement_basis.clone()),
            ("deadline", "2026年6月30日".into()),
            ("effective_deadline", "2026年7月31日".into()),
            ("delivered_by", "张伟、陈静".into()),
            ("level", "区级挂牌督办".into()),
            ("extension window", "届满前15个工作日内".into()),
            ("acceptance days", "10日内组织验收".into()),
        ] {
            assert!(html.contains(&esc(&v)), "HTML lacks {name}: {v}");
        }
        for duty in [
            "五落实",
            "治理的目标和任务",
            "安全措施和应急预案",
            "每季度至少",
            "验收申请",
            "延期申请",
            "继续挂账",
            "书面说明",
        ] {
            assert!(html.contains(duty), "HTML lacks duty text {duty}");
        }
        for label in ["送达人", "签收人", "签收时间"] {
            assert!(html.contains(label));
        }
        // received_by / received_at are None: blank lines to fill by hand
        assert!(html.matches("class=\"blank\"").count() >= 2);
    }

    #[test]
    fn html_is_self_contained() {
        let html = render_notice_html(&sample()).to_lowercase();
        for bad in [
            "<script",
            "<link",
            "src=",
            "href=",
            "url(",
            "@import",
            "javascript:",
        ] {
            assert!(!html.contains(bad), "HTML contains {bad}");
        }
        assert!(html.contains("@page"));
        assert!(html.contains("size: a4"));
    }

    #[test]
    fn html_escapes_fields() {
        let mut n = sample();
        n.hazard_title = "<script>alert('x')</script>".into();
        n.enterprise_name = "A&B \"公司\"".into();
        n.received_by = Some("<b>赵六</b>".into());
        let html = render_notice_html(&n);
        assert!(!html.contains("<script"));
        assert!(!html.contains("<b>赵六"));
        assert!(html.contains(&esc(&n.hazard_title)));
        assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;"));
        assert!(html.contains("A&#38;B &#34;公司&#34;"));
        assert!(html.contains(&esc("<b>赵六</b>")));
    }

    #[test]
    fn html_fills_delivery_when_given() {
        let mut n = sample();
        n.received_by = Some("李明".into());
        n.received_at = Some("2026年3月3日 10:20".into());
        let html = render_notice_html(&n);
        assert!(html.contains("2026年3月3日 10:20"));
        assert_eq!(html.matches("class=\"blank\"").count(), 0);
    }

    #[test]
    fn city_level_label() {
        let mut n = sample();
        assert!(!render_notice_html(&n).contains("登记件"));
        n.level = "city".into();
        let html = render_notice_html(&n);
        assert!(html.contains("市级挂牌督办"));
        // The district's record of the city's document, not the city's sealed original.
        assert!(html.contains("市级挂牌督办登记件：由区安委办于"), "{html}");
    }

    #[test]
    fn pdf_is_a_pdf_with_the_font_embedded() {
        let pdf = render_notice_pdf(&sample());
        assert!(pdf.starts_with(b"%PDF-"), "no PDF header");
        assert!(
            pdf.len() > 20_000,
            "PDF suspiciously small: {} bytes",
            pdf.len()
        );
        // a subset of the whole 4.6 MB font, not the font itself
        assert!(pdf.len() < 1_000_000, "PDF too large: {} bytes", pdf.len());
        let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"/FontFile2"), "TrueType font program not embedded");
        assert!(has(pdf::FONT_PS_NAME.as_bytes()), "font name not found");
        assert!(
            has(b"/ToUnicode"),
            "no ToUnicode map: text would not be extractable"
        );
        assert!(has(b"%%EOF"));
    }

    #[test]
    fn pdf_layout_carries_all_text() {
        let n = sample();
        let c = NoticeContent::from_data(&n);
        let l = layout_notice(&c);
        let text: String = l
            .pages
            .iter()
            .flatten()
            .filter_map(|op| match op {
                pdf::Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        for v in [
            &n.doc_no,
            &n.enterprise_uscc,
            &n.ledger_no,
            &n.signed_by,
            &n.principal_name,
            &n.street_name,
        ] {
            assert!(text.contains(v.as_str()), "PDF text lacks {v}");
        }
        for v in [
            "重大事故隐患挂牌督办通知书",
            "区级挂牌督办",
            "2026年6月30日前",
            "2026年3月16日前",
            "送达人",
            "签收时间",
        ] {
            assert!(text.contains(v), "PDF text lacks {v}");
        }
        // long text fields are wrapped, so compare without line breaks
        let flat: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        for v in [
            &n.hazard_description,
            &n.judgement_basis,
            &n.enterprise_address,
        ] {
            let v: String = v.chars().filter(|c| !c.is_whitespace()).collect();
            assert!(flat.contains(&v), "PDF text lacks {v}");
        }
    }

    #[test]
    fn pdf_survives_long_and_odd_input() {
        let mut n = sample();
        n.hazard_description = "超长描述，".repeat(400) + "\u{1F525}\u{0}<script>";
        n.enterprise_name = "X".repeat(300);
        n.received_by = Some("李明".into());
        n.received_at = Some("2026-03-03 10:20".into());
        let pdf = try_render_notice_pdf(&n).expect("renders");
        assert!(pdf.starts_with(b"%PDF-"));
        let pages = layout_notice(&NoticeContent::from_data(&n)).pages.len();
        assert!(
            pages >= 3,
            "long description should flow over pages, got {pages}"
        );
    }

    #[test]
    fn pdf_is_deterministic() {
        assert_eq!(render_notice_pdf(&sample()), render_notice_pdf(&sample()));
    }
}
