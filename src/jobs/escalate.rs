//! One run of the escalation rules for a day: find the steps due, keep those not fired yet
//! (the primary key of `escalations` decides), record each firing in the hazard's ledger, and
//! queue one digest per recipient — all in one transaction, so a run either happens whole or
//! not at all, and concurrent runs (other instances, reruns) serialise and find nothing left.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::config::Config;
use crate::db::jobs::{self as q, EscalationRow, HazardBrief};
use crate::db::{self, DbConn, ledger};
use crate::domain::escalation::{self as esc, Rule};
use crate::domain::hazard::Policy;
use crate::domain::ledger::{NewEntry, ledger_time};
use crate::error::{AppError, AppResult};
use crate::mail::{self, Directory, Entry, Item, Section};

/// Firings written (escalation rows and ledger entries) per batch.
const FIRINGS_PER_WRITE: usize = 5_000;

/// Advisory lock key that serialises escalation runs across PostgreSQL sessions.
const RUN_LOCK_KEY: i64 = 0x4841_5A45_5343;

/// A step due for a hazard.
#[derive(Debug, Clone)]
struct Firing {
    hazard_id: String,
    rule: Rule,
    offset: i64,
    anchor: NaiveDate,
    step: String,
}

impl Firing {
    fn new(hazard_id: String, rule: Rule, offset: i64, anchor: NaiveDate) -> Self {
        Firing {
            step: esc::step_key(offset, anchor),
            hazard_id,
            rule,
            offset,
            anchor,
        }
    }
}

/// What a run did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Outcome {
    /// Steps due today, before removing those fired already.
    pub due: usize,
    /// New firings, by rule.
    pub fired: BTreeMap<&'static str, usize>,
    /// Hazards with at least one new firing.
    pub hazards: usize,
    /// Digest emails queued.
    pub emails: usize,
}

/// Runs `rules` for `as_of` in one write transaction.
pub fn run(
    conn: &mut DbConn,
    config: &Config,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    as_of: NaiveDate,
    rules: &[Rule],
    run_id: &str,
) -> AppResult<Outcome> {
    db::write_tx(conn, |conn| {
        if let DbConn::Pg(_) = conn {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({RUN_LOCK_KEY})"))
                .execute(conn)?;
        }
        run_locked(conn, config, now, tz, as_of, rules, run_id)
    })
}

fn run_locked(
    conn: &mut DbConn,
    config: &Config,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
    as_of: NaiveDate,
    rules: &[Rule],
    run_id: &str,
) -> AppResult<Outcome> {
    let cfg = &config.escalation;
    let mut outcome = Outcome::default();
    let mut due = Vec::new();
    for &rule in rules {
        if rule.config(cfg).enabled {
            due.extend(candidates(conn, config, tz, rule, as_of)?);
        }
    }
    // A run for a day gone by (catching up after an outage) fires what was due that day, but
    // no reminder of a date that has passed by now ("3 days left" of a deadline already
    // missed) nor one that a later reminder due today supersedes; its digests speak of today.
    let today = now.with_timezone(&tz).date_naive();
    if as_of < today {
        due.retain(|f| {
            let offsets = &f.rule.config(cfg).offsets;
            f.offset > 0
                || (f.anchor >= today
                    && esc::due_offset(offsets, f.anchor, today) == Some(f.offset))
        });
    }
    let shown = as_of.max(today);
    outcome.due = due.len();
    let mut firings = not_fired(conn, due)?;
    let ids: Vec<String> = unique(firings.iter().map(|f| f.hazard_id.clone()));
    let mut briefs: HashMap<String, HazardBrief> = q::briefs(conn, &ids)?
        .into_iter()
        .map(|b| (b.id.clone(), b))
        .collect();
    if rules.contains(&Rule::OverdueFirst) && cfg.overdue_interview.enabled {
        let again = second_overdue(conn, &firings, &briefs)?;
        firings.extend(not_fired(conn, again)?);
    }
    // One 约谈/通报 flag per hazard (+30 days overdue *or* a listed hazard's second overdue):
    // a hazard flagged by an earlier run, or by another step of this one, is not flagged again.
    let interviewed = {
        let ids = unique(
            firings
                .iter()
                .filter(|f| f.rule == Rule::OverdueInterview)
                .map(|f| f.hazard_id.clone()),
        );
        q::fired_anchors(conn, Rule::OverdueInterview.as_str(), &ids)?
    };
    let mut flagged_now = BTreeSet::new();
    firings.retain(|f| {
        f.rule != Rule::OverdueInterview
            || (!interviewed.contains_key(&f.hazard_id) && flagged_now.insert(f.hazard_id.clone()))
    });
    if firings.is_empty() {
        return Ok(outcome);
    }
    let ids: Vec<String> = unique(firings.iter().map(|f| f.hazard_id.clone()));
    let missing: Vec<String> = ids
        .iter()
        .filter(|id| !briefs.contains_key(*id))
        .cloned()
        .collect();
    briefs.extend(
        q::briefs(conn, &missing)?
            .into_iter()
            .map(|b| (b.id.clone(), b)),
    );
    let progress = q::last_progress(conn, &ids)?;
    let directory = Directory::new(q::mailable_users(conn)?, &cfg.department_leaders);
    let fired_at = crate::clock::truncate_micros(now).naive_utc();
    let at = ledger_time(now);
    // One item per hazard, however many rules and recipients list it.
    let items: HashMap<String, Item> = briefs
        .values()
        .filter(|b| ids.binary_search(&b.id).is_ok())
        .map(|b| {
            let item = Item::new(b, progress.get(&b.id), shown, config.public_url());
            (b.id.clone(), item)
        })
        .collect();
    drop(progress);
    // recipient → rule → (hazard id, the rule's anchor)
    let mut inbox: BTreeMap<String, Inbox> = BTreeMap::new();
    // Firings are written in chunks, so memory stays flat however many fire at once.
    for chunk in firings.chunks(FIRINGS_PER_WRITE) {
        let mut rows = Vec::with_capacity(chunk.len());
        let mut entries = Vec::with_capacity(chunk.len());
        let mut interviews = Vec::new();
        let mut explanations = Vec::new();
        for f in chunk {
            let Some(brief) = briefs.get(&f.hazard_id) else {
                continue;
            };
            let mut to = BTreeSet::new();
            for who in &f.rule.config(cfg).recipients {
                to.extend(directory.resolve(*who, brief));
            }
            let Some((id, _)) = items.get_key_value(&f.hazard_id) else {
                continue;
            };
            for r in &to {
                inbox
                    .entry(r.clone())
                    .or_default()
                    .entry(f.rule)
                    .or_default()
                    .push((id.as_str(), f.anchor));
            }
            rows.push(EscalationRow {
                hazard_id: f.hazard_id.clone(),
                rule: f.rule.as_str().to_string(),
                step: f.step.clone(),
                anchor: f.anchor,
                offset_days: i32::try_from(f.offset).unwrap_or(0),
                as_of,
                job_run_id: run_id.to_string(),
                fired_at,
            });
            let mut payload = json!({
                "rule": f.rule.as_str(),
                "step": f.step,
                "offset_days": f.offset,
                "anchor": f.anchor,
                "as_of": as_of,
                "job_run": run_id,
                "recipients": to,
            });
            match f.rule {
                Rule::OverdueFirst => {
                    payload["duty"] = json!("written_explanation");
                    explanations.push(f.hazard_id.clone());
                }
                Rule::OverdueInterview => {
                    payload["flag"] = json!("interview");
                    interviews.push(f.hazard_id.clone());
                }
                _ => {}
            }
            entries.push(NewEntry {
                hazard_id: Some(f.hazard_id.clone()),
                kind: "hazard.escalated".into(),
                actor: None,
                role: None,
                at: at.clone(),
                payload: payload.to_string(),
            });
            *outcome.fired.entry(f.rule.as_str()).or_default() += 1;
        }
        q::insert_escalations(conn, &rows)?;
        q::mark(conn, &interviews, q::Mark::Interview, as_of, fired_at)?;
        q::mark(
            conn,
            &explanations,
            q::Mark::ExplanationOwed,
            as_of,
            fired_at,
        )?;
        ledger::append_all(conn, entries)?;
    }
    outcome.hazards = items.len();

    // One digest per recipient, rendered and queued one at a time.
    for (to, by_rule) in inbox {
        let mut hazards = BTreeSet::new();
        let sections = by_rule
            .into_iter()
            .map(|(rule, ids)| {
                let mut list: Vec<Entry> = ids
                    .into_iter()
                    .filter_map(|(id, anchor)| {
                        hazards.insert(id);
                        Some(Entry {
                            item: items.get(id)?,
                            about: about(rule, anchor, shown, &config.rules),
                        })
                    })
                    .collect();
                list.sort_by(|a, b| {
                    b.item
                        .days_overdue
                        .cmp(&a.item.days_overdue)
                        .then_with(|| a.item.ledger_no.cmp(&b.item.ledger_no))
                });
                Section {
                    title: rule.title(),
                    items: list,
                }
            })
            .collect();
        let hazards = hazards.into_iter().map(str::to_string).collect();
        let mail =
            mail::digest(to, shown, sections, hazards, run_id).map_err(AppError::internal)?;
        outcome.emails += mail::queue(conn, config, now, vec![mail])?;
    }
    Ok(outcome)
}

/// One recipient's firings: rule → (hazard id, the rule's anchor).
type Inbox<'a> = BTreeMap<Rule, Vec<(&'a str, NaiveDate)>>;

/// What `rule` is about for a hazard whose anchor is `anchor`, in the words of its digest
/// (empty for the deadline rules: the item's deadline line says it).
fn about(rule: Rule, anchor: NaiveDate, as_of: NaiveDate, rules: &Policy) -> String {
    let left = |due: NaiveDate| match (due - as_of).num_days() {
        n if n > 0 => format!("剩余 {n} 天"),
        0 => "今日到期".to_string(),
        n => format!("已过 {} 天", -n),
    };
    match rule {
        Rule::DeadlineReminder
        | Rule::OverdueFirst
        | Rule::OverdueSecond
        | Rule::OverdueInterview => String::new(),
        Rule::PlanFiling => format!("治理方案备案期限：{anchor}（{}）", left(anchor)),
        Rule::AcceptanceReminder | Rule::AcceptanceEscalation => {
            let due = anchor
                .checked_add_days(chrono::Days::new(
                    u64::try_from(rules.acceptance_due_days).unwrap_or(0),
                ))
                .unwrap_or(anchor);
            format!(
                "整改完成、申请验收：{anchor}；验收期限：{due}（{}）",
                left(due)
            )
        }
        Rule::QuarterlyProgress => format!("本季度进展报告截止：{anchor}（{}）", left(anchor)),
        Rule::CongressReport => format!(
            "职工代表大会（职工大会）报告期限：{anchor}（{}）",
            left(anchor)
        ),
    }
}

fn unique(ids: impl Iterator<Item = String>) -> Vec<String> {
    ids.collect::<BTreeSet<_>>().into_iter().collect()
}

/// Drops the firings whose (hazard, rule, step) is already recorded.
fn not_fired(conn: &mut DbConn, due: Vec<Firing>) -> AppResult<Vec<Firing>> {
    let mut by_rule: BTreeMap<Rule, Vec<Firing>> = BTreeMap::new();
    for f in due {
        by_rule.entry(f.rule).or_default().push(f);
    }
    let mut out = Vec::new();
    for (rule, list) in by_rule {
        let ids = unique(list.iter().map(|f| f.hazard_id.clone()));
        let done = q::fired(conn, rule.as_str(), &ids)?;
        let mut seen = BTreeSet::new();
        out.extend(list.into_iter().filter(|f| {
            !done.contains(&(f.hazard_id.clone(), f.step.clone()))
                && seen.insert((f.hazard_id.clone(), f.step.clone()))
        }));
    }
    Ok(out)
}

/// A listed hazard overdue again on a new (extended) deadline is flagged for 约谈/通报.
fn second_overdue(
    conn: &mut DbConn,
    firings: &[Firing],
    briefs: &HashMap<String, HazardBrief>,
) -> AppResult<Vec<Firing>> {
    let first: Vec<&Firing> = firings
        .iter()
        .filter(|f| f.rule == Rule::OverdueFirst)
        .filter(|f| briefs.get(&f.hazard_id).is_some_and(|b| b.listed))
        .collect();
    if first.is_empty() {
        return Ok(Vec::new());
    }
    let ids = unique(first.iter().map(|f| f.hazard_id.clone()));
    let earlier = q::fired_anchors(conn, Rule::OverdueFirst.as_str(), &ids)?;
    Ok(first
        .into_iter()
        .filter(|f| {
            earlier
                .get(&f.hazard_id)
                .is_some_and(|anchors| anchors.iter().any(|a| *a != f.anchor))
        })
        .map(|f| Firing {
            hazard_id: f.hazard_id.clone(),
            rule: Rule::OverdueInterview,
            offset: f.offset,
            anchor: f.anchor,
            step: esc::second_overdue_key(f.anchor),
        })
        .collect())
}

/// The steps of `rule` due on `as_of`.
fn candidates(
    conn: &mut DbConn,
    config: &Config,
    tz: chrono_tz::Tz,
    rule: Rule,
    as_of: NaiveDate,
) -> AppResult<Vec<Firing>> {
    let offsets = &rule.config(&config.escalation).offsets;
    let Some((lo, hi)) = esc::anchor_window(offsets, as_of) else {
        return Ok(Vec::new());
    };
    let step = |id: String, anchor: NaiveDate| {
        esc::due_offset(offsets, anchor, as_of).map(|o| Firing::new(id, rule, o, anchor))
    };
    let days = |n: i64| move |d: NaiveDate| esc::shift(d, n);
    let out = match rule {
        Rule::DeadlineReminder
        | Rule::OverdueFirst
        | Rule::OverdueSecond
        | Rule::OverdueInterview => q::by_deadline(conn, lo, hi)?
            .into_iter()
            .filter_map(|(id, anchor)| step(id, anchor))
            .collect(),
        Rule::PlanFiling => {
            let mut out = Vec::new();
            for (id, content, plan_file_by) in q::without_plan(conn)? {
                let content: Value = serde_json::from_str(&content).unwrap_or(Value::Null);
                let plan_due_on = content
                    .get("plan_due_on")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<NaiveDate>().ok());
                // One plan, one date: while listed, the 挂牌督办 notice's 方案报备期限
                // (plan_file_by) binds, earlier or later than the report's plan_due_on;
                // otherwise plan_due_on. Reminded once; once that date has passed the plan is
                // late, and no reminder names another date as if there were time left.
                let anchor = plan_file_by.or(plan_due_on);
                out.extend(anchor.and_then(|a| step(id.clone(), a)));
            }
            out
        }
        Rule::AcceptanceReminder | Rule::AcceptanceEscalation => {
            let wait = config.rules.acceptance_due_days;
            let Some(due_hi) = days(wait)(hi) else {
                return Ok(Vec::new());
            };
            q::awaiting_acceptance(conn, due_hi)?
                .into_iter()
                .filter_map(|(id, due_on)| step(id, days(-wait)(due_on)?))
                .collect()
        }
        Rule::QuarterlyProgress => {
            let (first, last) = esc::quarter_bounds(as_of);
            if esc::due_offset(offsets, last, as_of).is_none() {
                return Ok(Vec::new());
            }
            let since = tz
                .from_local_datetime(&first.and_time(NaiveTime::MIN))
                .earliest()
                .map(|t| t.with_timezone(&Utc).naive_utc())
                .ok_or_else(|| AppError::internal("quarter start"))?;
            q::listed_without_progress(conn, since)?
                .into_iter()
                .filter_map(|id| step(id, last))
                .collect()
        }
        Rule::CongressReport => {
            let wait = config.rules.congress_report_due_days;
            let Some(submitted_hi) = days(-wait)(hi) else {
                return Ok(Vec::new());
            };
            q::without_congress_report(conn, submitted_hi)?
                .into_iter()
                .filter_map(|(id, sent)| step(id, days(wait)(sent)?))
                .collect()
        }
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_says_what_its_date_is() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let rules = Policy::default();
        let on = d("2026-03-10");
        assert_eq!(about(Rule::OverdueFirst, on, on, &rules), "");
        // An application on 03-02 is due for acceptance 10 days later.
        assert_eq!(
            about(Rule::AcceptanceReminder, d("2026-03-02"), on, &rules),
            "整改完成、申请验收：2026-03-02；验收期限：2026-03-12（剩余 2 天）"
        );
        assert_eq!(
            about(Rule::AcceptanceEscalation, d("2026-02-27"), on, &rules),
            "整改完成、申请验收：2026-02-27；验收期限：2026-03-09（已过 1 天）"
        );
        assert_eq!(
            about(
                Rule::QuarterlyProgress,
                d("2026-03-31"),
                d("2026-03-31"),
                &rules
            ),
            "本季度进展报告截止：2026-03-31（今日到期）"
        );
    }
}
