//! Scheduled jobs: the escalation rules, the outbox sender and clean-up. Each run is recorded
//! in `job_runs`; the scheduler evaluates cron expressions (seconds first) in the configured
//! time zone on tokio, inside the server process, unless `jobs.enabled = false`.

pub mod escalate;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use crate::app::AppState;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::jobs::{self as q, JobRunRow};
use crate::db::{DbConn, Pool};
use crate::domain::escalation::Rule;
use crate::error::{AppError, AppResult};
use crate::mail::sender::Sender;

/// The jobs an operator can run by name, besides each rule's own name.
pub const JOBS: [(&str, &str); 4] = [
    (
        "escalation",
        "every escalation rule for the day, one digest email per recipient",
    ),
    ("outbox", "send the emails that are due"),
    ("purge", "delete expired idempotency keys"),
    (
        "all",
        "every escalation rule for the day, then the outbox once",
    ),
];

/// What runs for a job name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    Rules(Vec<Rule>),
    Outbox,
    Purge,
    /// Every rule, then one drain of the outbox.
    All,
}

impl JobKind {
    pub fn parse(name: &str) -> Option<JobKind> {
        match name {
            "escalation" => Some(JobKind::Rules(Rule::ALL.to_vec())),
            "outbox" => Some(JobKind::Outbox),
            "purge" => Some(JobKind::Purge),
            "all" => Some(JobKind::All),
            other => Rule::parse(other).map(|r| JobKind::Rules(vec![r])),
        }
    }
}

/// Every job name accepted by `jobs run` and the admin endpoint.
pub fn job_names() -> Vec<&'static str> {
    JOBS.iter()
        .map(|(n, _)| *n)
        .chain(Rule::ALL.iter().map(|r| r.as_str()))
        .collect()
}

/// Parses a cron expression (6 or 7 fields, seconds first).
pub fn parse_schedule(expr: &str) -> Result<cron::Schedule, String> {
    let fields = expr.split_whitespace().count();
    if !(6..=7).contains(&fields) {
        return Err(format!(
            "\"{expr}\" has {fields} fields; write 6 or 7, seconds first (e.g. \"0 0 8 * * *\")"
        ));
    }
    // The parser's own message runs over several lines (and its ranges may be off: "Minutes
    // must be less than 59"): its first line, then each field's range, on one line.
    cron::Schedule::from_str(expr).map_err(|e| {
        let said = e.to_string();
        let first = said
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        format!(
            "\"{expr}\" is not a cron expression ({first}); fields: seconds 0-59, minutes 0-59, \
             hours 0-23, day of month 1-31, month 1-12, day of week 1-7 or SUN-SAT, [year]"
        )
    })
}

/// What a job needs: the database, the clock, the config, and who this instance is.
#[derive(Clone)]
pub struct JobContext {
    pub pool: Pool,
    pub clock: Clock,
    pub config: Arc<Config>,
    /// Names this process in claims and run records.
    pub instance: String,
    sender: Arc<Sender>,
    /// Set when the process stops: the sender finishes the email in hand and takes no other.
    pub stopping: Arc<AtomicBool>,
}

impl JobContext {
    pub fn new(pool: Pool, clock: Clock, config: Arc<Config>) -> anyhow::Result<Self> {
        // The machine's name (Linux keeps it in /proc; a service manager sets no $HOSTNAME).
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "host".into());
        let instance = format!(
            "{host}:{}:{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        Ok(JobContext {
            sender: Arc::new(Sender::new(&config.smtp)?),
            pool,
            clock,
            config,
            instance,
            stopping: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn from_state(state: &AppState) -> anyhow::Result<Self> {
        Self::new(
            state.pool.clone(),
            state.clock.clone(),
            state.config.clone(),
        )
    }

    /// Blocking database work on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await
        .map_err(AppError::internal)?
    }
}

impl JobContext {
    /// Whether any email is due for an attempt now.
    async fn outbox_has_due(&self) -> AppResult<bool> {
        let now = self.clock.now().naive_utc();
        self.db(move |c| Ok(!crate::db::outbox::due(c, now, 1)?.is_empty()))
            .await
    }
}

/// A finished run, as the CLI and the admin endpoint show it.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    #[serde(flatten)]
    pub run: JobRunRow,
    pub counts: serde_json::Value,
}

impl From<JobRunRow> for RunView {
    fn from(run: JobRunRow) -> Self {
        let counts = serde_json::from_str(&run.counts).unwrap_or(json!({}));
        RunView { run, counts }
    }
}

/// Runs job `name` as if today were `as_of` (default: today), recording the run.
/// Unknown names answer 404.
pub async fn run(
    ctx: &JobContext,
    name: &str,
    as_of: Option<NaiveDate>,
    trigger: &str,
) -> AppResult<RunView> {
    let kind = JobKind::parse(name).ok_or_else(|| {
        AppError::not_found().with(
            "detail",
            format!(
                "no job named \"{name}\" (one of {})",
                job_names().join(", ")
            ),
        )
    })?;
    let as_of = as_of.unwrap_or_else(|| ctx.clock.today());
    let started = crate::clock::truncate_micros(ctx.clock.now());
    let row = JobRunRow {
        id: uuid::Uuid::now_v7().to_string(),
        job: name.to_string(),
        as_of,
        trigger: trigger.to_string(),
        instance: ctx.instance.clone(),
        started_at: started.naive_utc(),
        finished_at: None,
        outcome: "running".into(),
        counts: "{}".into(),
        error: None,
    };
    let inserted = row.clone();
    ctx.db(move |c| {
        q::close_abandoned_runs(c, inserted.started_at)?;
        Ok(q::insert_run(c, &inserted)?)
    })
    .await?;
    let result = execute(ctx, &kind, as_of, &row.id).await;
    let (outcome, counts, error) = match &result {
        Ok(counts) => ("ok", counts.clone(), None),
        Err(e) => ("failed", json!({}), Some(e.to_string())),
    };
    if let Some(e) = &error {
        tracing::error!(job = name, %as_of, error = %e, "job failed");
    } else {
        tracing::info!(job = name, %as_of, %counts, "job finished");
    }
    let finished = crate::clock::truncate_micros(ctx.clock.now()).naive_utc();
    let id = row.id.clone();
    let (c2, e2) = (counts.clone(), error.clone());
    ctx.db(move |c| {
        Ok(q::finish_run(
            c,
            &id,
            finished,
            outcome,
            &c2,
            e2.as_deref(),
        )?)
    })
    .await?;
    result?;
    Ok(RunView {
        run: JobRunRow {
            finished_at: Some(finished),
            outcome: outcome.into(),
            counts: counts.to_string(),
            error,
            ..row
        },
        counts,
    })
}

async fn execute(
    ctx: &JobContext,
    kind: &JobKind,
    as_of: NaiveDate,
    run_id: &str,
) -> AppResult<serde_json::Value> {
    match kind {
        JobKind::Rules(rules) => {
            let out = run_rules(ctx, rules.clone(), as_of, run_id).await?;
            Ok(json!({ "escalation": out }))
        }
        JobKind::Outbox => Ok(json!({ "outbox": ctx.sender.drain(ctx).await? })),
        JobKind::Purge => {
            let now = ctx.clock.now().naive_utc();
            let purged = ctx
                .db(move |c| Ok(crate::db::idempotency::purge_expired(c, now)?))
                .await?;
            Ok(json!({ "idempotency_keys_purged": purged }))
        }
        JobKind::All => {
            let out = run_rules(ctx, Rule::ALL.to_vec(), as_of, run_id).await?;
            let drained = ctx.sender.drain(ctx).await?;
            Ok(json!({ "escalation": out, "outbox": drained }))
        }
    }
}

async fn run_rules(
    ctx: &JobContext,
    rules: Vec<Rule>,
    as_of: NaiveDate,
    run_id: &str,
) -> AppResult<escalate::Outcome> {
    let config = ctx.config.clone();
    let now = ctx.clock.now();
    let tz = ctx.clock.tz();
    let run_id = run_id.to_string();
    ctx.db(move |c| escalate::run(c, &config, now, tz, as_of, &rules, &run_id))
        .await
}

/// Next firing time of `schedule` strictly after `after`, in `tz`.
pub fn next_after(
    schedule: &cron::Schedule,
    tz: chrono_tz::Tz,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    schedule
        .after(&after.with_timezone(&tz))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

/// The scheduled jobs of this process, to stop with the server.
pub struct Scheduler {
    handles: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
    stopping: Arc<AtomicBool>,
}

impl Scheduler {
    /// How many jobs are scheduled.
    pub fn len(&self) -> usize {
        self.handles.len()
    }

    /// Whether no job is scheduled (`jobs.enabled = false`).
    pub fn is_empty(&self) -> bool {
        self.handles.is_empty()
    }

    /// Stops the schedule: no run starts any more, a run under way finishes (the sender the
    /// email in hand, then records its run), waited for up to `within`.
    pub async fn stop(self, within: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.handles);
        if tokio::time::timeout(within, all).await.is_err() {
            tracing::warn!("a job was still running at shutdown; it is cut short");
        }
    }
}

/// Starts one tokio task per scheduled job (when `jobs.enabled`). Each sleeps until its next
/// time, runs, and records the run; a failure is logged and the schedule goes on.
pub fn spawn_scheduler(ctx: JobContext) -> anyhow::Result<Scheduler> {
    let mut handles = Vec::new();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let stopping = ctx.stopping.clone();
    if !ctx.config.jobs.enabled {
        tracing::info!("jobs.enabled = false: no scheduled jobs in this instance");
        return Ok(Scheduler {
            handles,
            stop,
            stopping,
        });
    }
    for (name, expr) in ctx.config.jobs.schedule.entries() {
        let schedule = parse_schedule(expr)
            .map_err(|m| anyhow::anyhow!("config error: jobs.schedule.{name}: {m}"))?;
        let ctx = ctx.clone();
        let mut stopped = stopped.clone();
        handles.push(tokio::spawn(async move {
            let tz = ctx.clock.tz();
            let mut last = ctx.clock.now();
            loop {
                let Some(next) = next_after(&schedule, tz, last) else {
                    tracing::warn!(job = name, "schedule has no future time; job stops");
                    return;
                };
                let wait = (next - ctx.clock.now()).to_std().unwrap_or_default();
                let stop = async {
                    // A Scheduler dropped without `stop` (a harness keeping the server only)
                    // leaves the jobs running.
                    if stopped.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop => {}
                }
                if *stopped.borrow() {
                    return;
                }
                // A pinned clock does not move: step on from the time just served.
                last = next.max(ctx.clock.now());
                let as_of = next.with_timezone(&tz).date_naive();
                // Idle passes of the sender are not recorded (it runs every few seconds).
                if name == "outbox" && !ctx.outbox_has_due().await.unwrap_or(true) {
                    continue;
                }
                if let Err(e) = run(&ctx, name, Some(as_of), "schedule").await {
                    tracing::error!(job = name, error = %e, "scheduled run failed");
                }
            }
        }));
    }
    Ok(Scheduler {
        handles,
        stop,
        stopping,
    })
}
