//! Emails about tip-offs (举报) to the officers who verify them (L5): a new tip to the street
//! and department it was routed to at filing (to the district office while it is routed
//! nowhere), and a tip routed on to another street or department by triage. They carry what
//! was reported and the dates, never the reporter's name or phone.

use std::collections::BTreeSet;

use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use super::Mail;
use crate::config::Config;
use crate::db::DbConn;
use crate::db::jobs::{self as q, MailGroups};
use crate::db::schema::{departments, streets};
use crate::db::tips::TipRow;
use crate::domain::validate::shorten;
use crate::error::{AppError, AppResult};

/// Longest part of a tip's description an email quotes, in characters.
const QUOTE_CHARS: usize = 300;

/// Why the email is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TipMail {
    /// Filed just now.
    Received,
    /// Routed by an officer to a street or department it was not with.
    Routed,
}

/// A tip as its email shows it.
struct TipItem {
    received_on: NaiveDate,
    due_on: NaiveDate,
    occurred_on: NaiveDate,
    location: String,
    description: String,
    link: String,
}

#[derive(Template)]
#[template(path = "mail/tip.txt")]
struct TipText<'a> {
    greeting: &'a str,
    lead: &'a str,
    tip: &'a TipItem,
    details: &'a [(&'static str, String)],
}

#[derive(Template)]
#[template(path = "mail/tip.html")]
struct TipHtml<'a> {
    subject: &'a str,
    greeting: &'a str,
    lead: &'a str,
    tip: &'a TipItem,
    details: &'a [(&'static str, String)],
}

/// Queues the emails of `why` about `tip` (in the caller's transaction) to the officers of
/// `street` and the inspectors of `department` — those it was routed to now — or, when it is
/// routed to neither, to the district office, which routes it. Answers how many were queued.
pub fn tip_event(
    conn: &mut DbConn,
    config: &Config,
    now: DateTime<Utc>,
    why: TipMail,
    tip: &TipRow,
    street: Option<&str>,
    department: Option<&str>,
) -> AppResult<usize> {
    let unrouted = street.is_none() && department.is_none();
    if why == TipMail::Routed && unrouted {
        return Ok(0);
    }
    let groups = MailGroups {
        enterprise: None,
        street,
        departments: department.into_iter().collect(),
        district: unrouted,
    };
    let to: BTreeSet<String> = q::mailable_for(conn, &groups)?
        .into_iter()
        .filter(|u| match u.role.as_str() {
            "street_officer" => street.is_some() && u.street_code.as_deref() == street,
            "department_inspector" => {
                department.is_some() && u.department_code.as_deref() == department
            }
            "district_office" => unrouted,
            _ => false,
        })
        .map(|u| u.email.trim().to_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    if to.is_empty() {
        return Ok(0);
    }
    let street_name: Option<String> = match street {
        Some(s) => streets::table
            .find(s)
            .select(streets::name)
            .get_result(conn)
            .optional()?,
        None => None,
    };
    let department_name: Option<String> = match department {
        Some(d) => departments::table
            .find(d)
            .select(departments::name)
            .get_result(conn)
            .optional()?,
        None => None,
    };
    let handlers = [street_name, department_name]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("、");
    let (subject, lead) = match why {
        TipMail::Received if unrouted => (
            format!(
                "【隐患台账】新的举报待分办：{}",
                shorten(tip.location.trim(), 40)
            ),
            "收到一件群众举报，未能按地点确定所属街道，请分办至街道或行业主管部门。".to_string(),
        ),
        TipMail::Received => (
            format!(
                "【隐患台账】新的举报待核查：{}",
                shorten(tip.location.trim(), 40)
            ),
            format!("收到一件群众举报，已分办至{handlers}，请在核查期限前核查并答复举报人。"),
        ),
        TipMail::Routed => (
            format!(
                "【隐患台账】举报转交核查：{}",
                shorten(tip.location.trim(), 40)
            ),
            format!("一件群众举报已转交{handlers}，请在核查期限前核查并答复举报人。"),
        ),
    };
    let mut details = Vec::new();
    if !handlers.is_empty() {
        details.push(("分办至", handlers));
    }
    if tip.anonymous {
        details.push(("举报方式", "匿名（凭回执码查询进展）".to_string()));
    }
    let item = TipItem {
        received_on: tip.received_on,
        due_on: tip.due_on,
        occurred_on: tip.occurred_on,
        location: tip.location.clone(),
        description: shorten(tip.description.trim(), QUOTE_CHARS),
        link: format!("{}/tips/inbox/{}", config.public_url(), tip.id),
    };
    let greeting = "您好：";
    let mails = to
        .into_iter()
        .map(|addr| {
            let text = TipText {
                greeting,
                lead: &lead,
                tip: &item,
                details: &details,
            }
            .render()?;
            let html = TipHtml {
                subject: &subject,
                greeting,
                lead: &lead,
                tip: &item,
                details: &details,
            }
            .render()?;
            Ok(Mail {
                to: addr,
                subject: subject.clone(),
                text,
                html,
                kind: "event",
                hazard_ids: vec![],
                job_run_id: None,
            })
        })
        .collect::<Result<Vec<Mail>, askama::Error>>()
        .map_err(AppError::internal)?;
    Ok(super::queue(conn, config, now, mails)?)
}
