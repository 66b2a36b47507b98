//! Emails: who receives what (the directory), the Chinese templates (askama: subject, plain
//! text and HTML), and queueing into the outbox inside the caller's transaction. Sending is
//! [`sender`]'s job.

pub mod events;
pub mod sender;
pub mod tips;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::QueryResult;
use serde_json::Value;

use crate::config::Config;
use crate::db::DbConn;
use crate::db::jobs::{HazardBrief, Mailable};
use crate::db::outbox::{self, OutboxRow};
use crate::domain::deadline;
use crate::domain::escalation::Recipient;
use crate::domain::hazard::Status;

/// An email to queue.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `digest` or `event`.
    pub kind: &'static str,
    pub hazard_ids: Vec<String>,
    pub job_run_id: Option<String>,
}

/// Writes `mails` to the outbox (in the caller's transaction). Message-IDs are fixed here,
/// once per row, so every retry of a row carries the same one.
pub fn queue(
    conn: &mut DbConn,
    config: &Config,
    now: DateTime<Utc>,
    mails: Vec<Mail>,
) -> QueryResult<usize> {
    let host = message_id_host(config.public_url());
    let now = crate::clock::truncate_micros(now).naive_utc();
    let rows: Vec<OutboxRow> = mails
        .into_iter()
        .map(|m| {
            let id = uuid::Uuid::now_v7().to_string();
            OutboxRow {
                message_id: format!("<{id}@{host}>"),
                id,
                kind: m.kind.to_string(),
                recipient: m.to,
                subject: m.subject,
                body_text: m.text,
                body_html: m.html,
                hazard_ids: serde_json::to_string(&m.hazard_ids).unwrap_or_else(|_| "[]".into()),
                job_run_id: m.job_run_id,
                status: "pending".into(),
                attempts: 0,
                next_attempt_at: now,
                claimed_by: None,
                claimed_until: None,
                last_error: None,
                created_at: now,
                sent_at: None,
            }
        })
        .collect();
    outbox::insert(conn, &rows)?;
    Ok(rows.len())
}

/// The host part of Message-IDs: the public URL's host.
fn message_id_host(public_url: &str) -> String {
    let rest = public_url.split("://").nth(1).unwrap_or(public_url);
    let host = rest.split(['/', ':']).next().unwrap_or("localhost");
    if host.is_empty() {
        "localhost".into()
    } else {
        host.to_string()
    }
}

/// Email addresses by organisation, for resolving recipients.
#[derive(Debug, Default)]
pub struct Directory {
    enterprise: HashMap<String, BTreeSet<String>>,
    principal: HashMap<String, BTreeSet<String>>,
    street: HashMap<String, BTreeSet<String>>,
    department: HashMap<String, BTreeSet<String>>,
    district: BTreeSet<String>,
    leaders: BTreeMap<String, Vec<String>>,
}

impl Directory {
    /// Builds the directory from the active users with an email and the configured leaders.
    pub fn new(users: Vec<Mailable>, leaders: &BTreeMap<String, Vec<String>>) -> Self {
        let mut d = Directory {
            leaders: leaders.clone(),
            ..Default::default()
        };
        for u in users {
            let email = u.email.trim().to_string();
            if email.is_empty() {
                continue;
            }
            match u.role.as_str() {
                "enterprise_reporter" | "enterprise_principal" | "enterprise_safety_officer" => {
                    if let Some(e) = &u.enterprise_id {
                        d.enterprise
                            .entry(e.clone())
                            .or_default()
                            .insert(email.clone());
                        if u.role == "enterprise_principal" {
                            d.principal.entry(e.clone()).or_default().insert(email);
                        }
                    }
                }
                "street_officer" => {
                    if let Some(s) = u.street_code {
                        d.street.entry(s).or_default().insert(email);
                    }
                }
                "department_inspector" => {
                    if let Some(dep) = u.department_code {
                        d.department.entry(dep).or_default().insert(email);
                    }
                }
                "district_office" => {
                    d.district.insert(email);
                }
                _ => {}
            }
        }
        d
    }

    /// The addresses of `who` for a hazard.
    pub fn resolve(&self, who: Recipient, h: &HazardBrief) -> BTreeSet<String> {
        let get = |m: &HashMap<String, BTreeSet<String>>, k: &str| m.get(k).cloned();
        let found = match who {
            Recipient::Enterprise => {
                let mut set = get(&self.enterprise, &h.enterprise_id).unwrap_or_default();
                let extra: Vec<String> = serde_json::from_str(&h.notify_emails).unwrap_or_default();
                set.extend(extra.into_iter().map(|e| e.trim().to_string()));
                Some(set)
            }
            // An enterprise without a principal who can be emailed still hears what it owes
            // (the overdue notice asks for its written explanation): through its other users
            // and its notify_emails.
            Recipient::Principal => get(&self.principal, &h.enterprise_id)
                .filter(|set| !set.is_empty())
                .or_else(|| Some(self.resolve(Recipient::Enterprise, h))),
            Recipient::Street => get(&self.street, &h.street_code),
            Recipient::Department => get(&self.department, &h.primary_department),
            Recipient::SupervisingDepartment => h
                .supervising_department
                .as_deref()
                .filter(|_| h.supervised())
                .and_then(|d| get(&self.department, d)),
            Recipient::DistrictOffice => Some(self.district.clone()),
            Recipient::SupervisingUnit => h.listed.then(|| self.district.clone()),
            Recipient::DepartmentLeader => self
                .leaders
                .get(&h.primary_department)
                .map(|v| v.iter().cloned().collect()),
            Recipient::Verifiers => {
                if h.level == "major" {
                    get(&self.department, &h.primary_department)
                } else {
                    get(&self.street, &h.street_code)
                }
            }
        };
        // One mailbox, however its address was written (one digest per recipient per run).
        found
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty())
            .collect()
    }
}

/// One hazard as an email lists it.
#[derive(Debug, Clone)]
pub struct Item {
    pub ledger_no: String,
    pub title: String,
    pub enterprise: String,
    pub uscc: String,
    pub street: String,
    pub level: &'static str,
    pub listing: String,
    pub deadline: String,
    /// "逾期 3 天" / "剩余 2 天".
    pub timing: String,
    pub responsible: String,
    pub last_progress: String,
    pub link: String,
    /// Days overdue (for sorting).
    pub days_overdue: i64,
}

impl Item {
    /// Builds the item of `h` as of `today`; `progress` is what the enterprise reported last
    /// (a progress update, a written explanation of lateness or its completion report).
    pub fn new(
        h: &HazardBrief,
        progress: Option<&(String, String, chrono::NaiveDateTime)>,
        today: NaiveDate,
        public_url: &str,
    ) -> Self {
        let content: Value = serde_json::from_str(&h.content).unwrap_or(Value::Null);
        let text = |k: &str| content.get(k).and_then(Value::as_str).unwrap_or("").trim();
        let responsible = match (text("responsible_person"), text("responsible_phone")) {
            ("", "") => "未填写".to_string(),
            (p, "") => p.to_string(),
            ("", t) => t.to_string(),
            (p, t) => format!("{p} {t}"),
        };
        let status = h.status.parse::<Status>().ok();
        let days_overdue = status.map_or(0, |s| {
            s.days_overdue(h.effective_deadline, h.completed_on, today)
        });
        let timing = match h.effective_deadline {
            Some(_) if days_overdue > 0 => format!("逾期 {days_overdue} 天"),
            Some(_) if status == Some(Status::PendingAcceptance) => "已完成，待验收".to_string(),
            // A closed or void hazard's deadline no longer runs (its close-out or void email).
            Some(_) if status == Some(Status::Closed) => "已销账".to_string(),
            Some(_) if status == Some(Status::Void) => "已作废".to_string(),
            Some(d) => deadline::days_left_text(deadline::days_left(d, today)),
            None => String::new(),
        };
        let deadline = match (h.deadline, h.effective_deadline) {
            // Moved by an extension or by a failed acceptance's new date: the original kept.
            (Some(d), Some(e)) if d != e => format!("{e}（原定 {d}）"),
            (_, Some(e)) => e.to_string(),
            (Some(d), None) => d.to_string(),
            (None, None) => "未定".to_string(),
        };
        let level = match h.listing_level.as_deref() {
            Some("city") => "市级",
            _ => "区级",
        };
        let listing = match (&h.doc_no, h.listed) {
            (Some(doc), true) => format!("{level}（{doc}）"),
            (None, true) => level.to_string(),
            // Listed once, ended by the close-out or the void (摘牌).
            (Some(doc), false) => format!("{level}（{doc}），已结束"),
            (None, false) => "否".to_string(),
        };
        let last_progress = match progress {
            Some((kind, payload, at)) => {
                let p: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
                let said = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("");
                let percent = p.get("percent").and_then(Value::as_i64);
                let when = crate::timefmt::rfc3339(at);
                let day = when.get(..10).unwrap_or(&when);
                match (kind.as_str(), percent) {
                    ("overdue_explanation", _) => format!("{day} 逾期书面说明：{}", said("reason")),
                    ("completion", _) => format!("{day} 报告整改完成：{}", said("summary")),
                    ("acceptance", _) if said("result") == "fail" => {
                        format!("{day} 验收未通过：{}", said("deficiencies"))
                    }
                    ("acceptance", _) => format!("{day} 验收通过"),
                    (_, Some(pc)) => format!("{day} {}（{pc}%）", said("note")),
                    (_, None) => format!("{day} {}", said("note")),
                }
            }
            None => "无".to_string(),
        };
        Item {
            ledger_no: h.ledger_no.clone().unwrap_or_else(|| "（未上账）".into()),
            title: h.title.clone(),
            enterprise: h.enterprise_name.clone(),
            uscc: h.uscc.clone(),
            street: h.street_name.clone(),
            level: if h.level == "major" {
                "重大"
            } else {
                "一般"
            },
            listing,
            deadline,
            timing,
            responsible,
            last_progress,
            link: format!("{public_url}/hazards/{}", h.id),
            days_overdue,
        }
    }
}

/// A digest's part about one rule.
#[derive(Debug, Clone)]
pub struct Section<'a> {
    pub title: &'static str,
    pub items: Vec<Entry<'a>>,
}

/// A hazard in a section, with what the section's rule is about for it when that is not the
/// rectification deadline (the plan's due date, the acceptance application, …).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub item: &'a Item,
    pub about: String,
}

impl<'a> From<&'a Item> for Entry<'a> {
    fn from(item: &'a Item) -> Self {
        Entry {
            item,
            about: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "mail/digest.txt")]
struct DigestText<'a> {
    greeting: &'a str,
    as_of: NaiveDate,
    total: usize,
    sections: &'a [Section<'a>],
}

#[derive(Template)]
#[template(path = "mail/digest.html")]
struct DigestHtml<'a> {
    subject: &'a str,
    greeting: &'a str,
    as_of: NaiveDate,
    total: usize,
    sections: &'a [Section<'a>],
}

/// One recipient's digest of a run.
pub fn digest(
    to: String,
    as_of: NaiveDate,
    sections: Vec<Section<'_>>,
    hazard_ids: Vec<String>,
    job_run_id: &str,
) -> Result<Mail, askama::Error> {
    // A hazard under two rules (say, overdue and a quarterly report) is one hazard.
    let mut seen = std::collections::BTreeSet::new();
    let distinct: Vec<&Item> = sections
        .iter()
        .flat_map(|s| s.items.iter().map(|e| e.item))
        .filter(|i| seen.insert(i.link.as_str()))
        .collect();
    let total = distinct.len();
    let overdue = distinct.iter().filter(|i| i.days_overdue > 0).count();
    let subject = if overdue > 0 {
        format!("【隐患台账】{as_of} 督办提醒：{total} 项隐患，其中逾期 {overdue} 项")
    } else {
        format!("【隐患台账】{as_of} 提醒：{total} 项隐患")
    };
    let greeting = "您好：";
    let text = DigestText {
        greeting,
        as_of,
        total,
        sections: &sections,
    }
    .render()?;
    let html = DigestHtml {
        subject: &subject,
        greeting,
        as_of,
        total,
        sections: &sections,
    }
    .render()?;
    Ok(Mail {
        to,
        subject,
        text,
        html,
        kind: "digest",
        hazard_ids,
        job_run_id: Some(job_run_id.to_string()),
    })
}

#[derive(Template)]
#[template(path = "mail/event.txt")]
struct EventText<'a> {
    greeting: &'a str,
    lead: &'a str,
    item: &'a Item,
    details: &'a [(&'static str, String)],
}

#[derive(Template)]
#[template(path = "mail/event.html")]
struct EventHtml<'a> {
    subject: &'a str,
    greeting: &'a str,
    lead: &'a str,
    item: &'a Item,
    details: &'a [(&'static str, String)],
}

/// One email about one hazard event.
pub fn event_mail(
    to: String,
    subject: String,
    lead: &str,
    item: &Item,
    details: &[(&'static str, String)],
    hazard_id: &str,
) -> Result<Mail, askama::Error> {
    let greeting = "您好：";
    let text = EventText {
        greeting,
        lead,
        item,
        details,
    }
    .render()?;
    let html = EventHtml {
        subject: &subject,
        greeting,
        lead,
        item,
        details,
    }
    .render()?;
    Ok(Mail {
        to,
        subject,
        text,
        html,
        kind: "event",
        hazard_ids: vec![hazard_id.to_string()],
        job_run_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief() -> HazardBrief {
        HazardBrief {
            id: "h1".into(),
            ledger_no: Some("SH-CN-YH-2026-000001".into()),
            title: "液氨管道<泄漏>".into(),
            status: "in_rectification".into(),
            level: "major".into(),
            enterprise_id: "e1".into(),
            enterprise_name: "上海某冷链有限公司".into(),
            uscc: "91310105MA1FL0XX0X".into(),
            notify_emails: r#"["Safety@Example.org", "boss@E1.org"]"#.into(),
            street_code: "HYL".into(),
            street_name: "华阳路街道".into(),
            primary_department: "YJJ".into(),
            department_name: "区应急局".into(),
            listed: true,
            listing_level: Some("district".into()),
            doc_no: Some("长安委督字〔2026〕第3号".into()),
            supervising_department: Some("YJJ".into()),
            deadline: Some("2026-03-31".parse().unwrap()),
            effective_deadline: Some("2026-04-30".parse().unwrap()),
            completed_on: None,
            content: r#"{"responsible_person":"王五","responsible_phone":"13800000000"}"#.into(),
        }
    }

    #[test]
    fn items_say_what_inspectors_need() {
        let today: NaiveDate = "2026-05-03".parse().unwrap();
        let i = Item::new(&brief(), None, today, "https://hl.example.org");
        assert_eq!(i.timing, "逾期 3 天");
        assert_eq!(i.deadline, "2026-04-30（原定 2026-03-31）");
        assert_eq!(i.listing, "区级（长安委督字〔2026〕第3号）");
        assert_eq!(i.responsible, "王五 13800000000");
        assert_eq!(i.link, "https://hl.example.org/hazards/h1");
    }

    #[test]
    fn items_of_completed_work_stop_the_clock_at_completion() {
        let today: NaiveDate = "2026-05-03".parse().unwrap();
        let mut h = brief();
        h.status = "pending_acceptance".into();
        h.completed_on = Some("2026-04-28".parse().unwrap());
        assert_eq!(Item::new(&h, None, today, "").timing, "已完成，待验收");
        let mut closed = h.clone();
        closed.status = "closed".into();
        assert_eq!(Item::new(&closed, None, today, "").timing, "已销账");
        // What the enterprise said last, whatever it was.
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, 20)
            .unwrap()
            .and_hms_opt(2, 0, 0)
            .unwrap();
        let said = |kind: &str, payload: &str| {
            Item::new(&h, Some(&(kind.into(), payload.into(), at)), today, "").last_progress
        };
        assert_eq!(
            said("progress", r#"{"note":"已订购设备","percent":40}"#),
            "2026-03-20 已订购设备（40%）"
        );
        assert_eq!(
            said("overdue_explanation", r#"{"reason":"设备到货延迟"}"#),
            "2026-03-20 逾期书面说明：设备到货延迟"
        );
        assert_eq!(
            said("completion", r#"{"summary":"更换完毕"}"#),
            "2026-03-20 报告整改完成：更换完毕"
        );
        // A failed check after it: the completion no longer counts (T12), the digest says so.
        assert_eq!(
            said(
                "acceptance",
                r#"{"result":"fail","deficiencies":"锁具未更换"}"#
            ),
            "2026-03-20 验收未通过：锁具未更换"
        );
        h.completed_on = Some("2026-05-02".parse().unwrap());
        assert_eq!(Item::new(&h, None, today, "").timing, "逾期 2 天");
    }

    #[test]
    fn digests_escape_html_and_count_overdue() {
        let today: NaiveDate = "2026-05-03".parse().unwrap();
        let i = Item::new(&brief(), None, today, "https://hl.example.org");
        let m = digest(
            "a@example.org".into(),
            today,
            vec![Section {
                title: "已逾期",
                items: vec![(&i).into()],
            }],
            vec!["h1".into()],
            "run1",
        )
        .unwrap();
        assert!(m.subject.contains("逾期 1 项"), "{}", m.subject);
        assert!(m.text.contains("液氨管道<泄漏>"));
        assert!(m.html.contains("液氨管道&#60;泄漏&#62;") || m.html.contains("&lt;泄漏&gt;"));
        assert!(m.text.contains("91310105MA1FL0XX0X"));
    }

    #[test]
    fn digests_count_a_hazard_under_two_rules_once() {
        let today: NaiveDate = "2026-05-03".parse().unwrap();
        let late = Item::new(&brief(), None, today, "https://hl.example.org");
        let other = HazardBrief {
            id: "h2".into(),
            deadline: Some("2026-06-30".parse().unwrap()),
            effective_deadline: Some("2026-06-30".parse().unwrap()),
            ..brief()
        };
        let due = Item::new(&other, None, today, "https://hl.example.org");
        let m = digest(
            "a@example.org".into(),
            today,
            vec![
                Section {
                    title: "已逾期",
                    items: vec![(&late).into()],
                },
                Section {
                    title: "季度进展",
                    items: vec![(&late).into(), (&due).into()],
                },
            ],
            vec!["h1".into(), "h2".into()],
            "run1",
        )
        .unwrap();
        assert!(
            m.subject.contains("：2 项隐患，其中逾期 1 项"),
            "{}",
            m.subject
        );
        assert!(m.text.contains("有 2 项隐患需要您关注"), "{}", m.text);
    }

    #[test]
    fn directory_resolves_by_organisation() {
        let u = |role: &str, e: Option<&str>, s: Option<&str>, d: Option<&str>, m: &str| Mailable {
            role: role.into(),
            enterprise_id: e.map(Into::into),
            street_code: s.map(Into::into),
            department_code: d.map(Into::into),
            email: m.into(),
        };
        let dir = Directory::new(
            vec![
                u(
                    "enterprise_principal",
                    Some("e1"),
                    None,
                    None,
                    "boss@e1.org",
                ),
                u(
                    "enterprise_reporter",
                    Some("e1"),
                    None,
                    None,
                    "clerk@e1.org",
                ),
                u("street_officer", None, Some("HYL"), None, "hyl@gov.org"),
                u(
                    "department_inspector",
                    None,
                    None,
                    Some("YJJ"),
                    "yjj@gov.org",
                ),
                u(
                    "department_inspector",
                    None,
                    None,
                    Some("SCJGJ"),
                    "sc@gov.org",
                ),
                u("district_office", None, None, None, "ajw@gov.org"),
            ],
            &BTreeMap::from([("YJJ".to_string(), vec!["lead@gov.org".to_string()])]),
        );
        let h = brief();
        let v = |r| dir.resolve(r, &h).into_iter().collect::<Vec<_>>();
        assert_eq!(
            v(Recipient::Enterprise),
            ["boss@e1.org", "clerk@e1.org", "safety@example.org"]
        );
        assert_eq!(v(Recipient::Principal), ["boss@e1.org"]);
        assert_eq!(v(Recipient::Street), ["hyl@gov.org"]);
        assert_eq!(v(Recipient::Department), ["yjj@gov.org"]);
        assert_eq!(v(Recipient::SupervisingDepartment), ["yjj@gov.org"]);
        assert_eq!(v(Recipient::DistrictOffice), ["ajw@gov.org"]);
        assert_eq!(v(Recipient::SupervisingUnit), ["ajw@gov.org"], "listed");
        assert_eq!(v(Recipient::DepartmentLeader), ["lead@gov.org"]);
        assert_eq!(v(Recipient::Verifiers), ["yjj@gov.org"]);
        // An enterprise without a principal to email: its other addresses stand in.
        let mut no_principal = brief();
        no_principal.enterprise_id = "e2".into();
        no_principal.notify_emails = r#"["office@e2.org"]"#.into();
        assert_eq!(
            dir.resolve(Recipient::Principal, &no_principal)
                .into_iter()
                .collect::<Vec<_>>(),
            ["office@e2.org"]
        );
        let mut unlisted = brief();
        unlisted.listed = false;
        assert!(
            dir.resolve(Recipient::SupervisingUnit, &unlisted)
                .is_empty()
        );
        assert!(
            dir.resolve(Recipient::SupervisingDepartment, &unlisted)
                .is_empty()
        );
        assert_eq!(
            message_id_host("https://hl.example.org:8443/x"),
            "hl.example.org"
        );
    }
}
