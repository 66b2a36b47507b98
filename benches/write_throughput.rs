//! API write requests per second (hazard creates and transitions, each one transaction with its
//! ledger entry) next to the raw single-row commit rate of the same database with the same
//! settings, measured in the same run. SQLite always (default settings: WAL, synchronous=FULL);
//! PostgreSQL too when BENCH_POSTGRES_URL or TEST_POSTGRES_URL names a server (a fresh database
//! is created and dropped).
//!
//! Run: `cargo bench --bench write_throughput`. Each backend runs, against one server, a warm-up
//! and then BENCH_ROUNDS rounds (default 3) of one API phase per client count in BENCH_CLIENTS
//! (default 1,4,16,64), each phase between two raw measurements of 200 commits; it prints each
//! phase's API rate, the raw rate around it and their ratio, then the medians of each. For the
//! SQLite group-commit writer it also prints, per client count, how many requests shared a
//! COMMIT and where the writer's time went.
//!
//! `BENCH_STATEMENTS=1` also prints, for the first round's 1-client phase, every SQL statement the server ran
//! (as diesel renders it, cut to 100 characters) with its count and time from start to finish
//! (preparation, execution and reading the rows; the round trip on PostgreSQL). The timing
//! itself costs a little, so rates measured with it are not the figures to quote.

mod support;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};

use diesel::prelude::*;
use diesel::sql_types::Text;
use hazard_ledger::app::AppState;
use hazard_ledger::db::enterprises::{self, EnterpriseRow};
use serde_json::json;

use support::PASSWORD;
const WRITES: usize = 600;
/// Raw commits measured just before and again just after each API phase: the disk's commit
/// latency drifts from second to second on a shared machine, so each phase is compared with
/// the raw rate around it.
const RAW_COMMITS: usize = 200;

fn setup(state: &AppState) {
    let mut conn = state.pool.get().unwrap();
    let now = state.clock.now().naive_utc();
    let row = EnterpriseRow {
        id: uuid::Uuid::now_v7().to_string(),
        uscc: "91310105MA1FL0A19R".into(),
        name: "基准测试企业".into(),
        address: "长宁区".into(),
        street_code: "HYL".into(),
        headcount: 50,
        principal_name: "张三".into(),
        principal_mobile: "13800000000".into(),
        safety_officer_name: None,
        safety_officer_mobile: None,
        notify_emails: "[]".into(),
        created_at: now,
        updated_at: now,
    };
    enterprises::insert(&mut conn, &row, &["industry_trade".to_string()]).unwrap();
    drop(conn);
    support::user(
        state,
        "bench-clerk",
        "enterprise_reporter",
        "91310105MA1FL0A19R",
    );
    support::user(state, "bench-street", "street_officer", "HYL");
}

/// The part of a created hazard's answer the load needs.
#[derive(serde::Deserialize)]
struct Created {
    id: String,
}

/// (creates, submits, posts) per second with `clients` clients, each request one transaction;
/// and what the SQLite writer did meanwhile (logins excluded).
fn api_rate(state: &AppState, base: &str, clients: usize) -> (f64, WriterFigures) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let login = |u: &'static str| {
            let (client, base) = (client.clone(), base.to_string());
            async move {
                let res: serde_json::Value = client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&json!({"username": u, "password": PASSWORD}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                res["access_token"].as_str().unwrap().to_string()
            }
        };
        let clerk = login("bench-clerk").await;
        let street = login("bench-street").await;
        let before = WriterFigures::of(state);
        let started = Instant::now();
        let per_client = WRITES / 3 / clients;
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let (client, base, clerk, street) = (client.clone(), base.to_string(), clerk.clone(), street.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..per_client {
                    // The load shares the machine's two cores with the server: it reads only
                    // the id it needs from the answer, not a tree of the whole hazard.
                    let Created { id } = client
                        .post(format!("{base}/api/v1/hazards"))
                        .bearer_auth(&clerk)
                        .json(&json!({"title": "配电箱未上锁", "description": "门未关", "location": "车间",
                                      "category": "B04", "source": 1, "discovered_on": "2026-03-02",
                                      "level": "general", "handling": "time_limited",
                                      "responsible_person": "李四", "responsible_phone": "13800000002"}))
                        .send().await.unwrap().json().await.expect("created");
                    let r = client.post(format!("{base}/api/v1/hazards/{id}/submit")).bearer_auth(&clerk)
                        .send().await.unwrap();
                    assert!(r.status().is_success());
                    let r = client.post(format!("{base}/api/v1/hazards/{id}/post")).bearer_auth(&street)
                        .json(&json!({"deadline": "2027-06-30"})).send().await.unwrap();
                    assert!(r.status().is_success());
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = started.elapsed();
        let mut writer = WriterFigures::of(state).minus(&before);
        writer.elapsed_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        ((per_client * clients * 3) as f64 / elapsed.as_secs_f64(), writer)
    })
}

/// Single-row INSERT commits per second on one pooled connection (same pragmas as the app),
/// over `RAW_COMMITS` commits; `tag` keeps the rows' keys apart.
fn raw_rate(state: &AppState, tag: &str) -> f64 {
    let mut pooled = state.pool.get().unwrap();
    let conn: &mut hazard_ledger::db::DbConn = &mut pooled;
    diesel::sql_query(
        "CREATE TABLE IF NOT EXISTS bench_raw (id TEXT PRIMARY KEY, payload TEXT NOT NULL)",
    )
    .execute(conn)
    .unwrap();
    let insert = match conn {
        hazard_ledger::db::DbConn::Pg(_) => "INSERT INTO bench_raw (id, payload) VALUES ($1, $2)",
        hazard_ledger::db::DbConn::Sqlite(_) => "INSERT INTO bench_raw (id, payload) VALUES (?, ?)",
    };
    let started = Instant::now();
    for i in 0..RAW_COMMITS {
        // Autocommit: one statement, one commit, as durable as the app's commits.
        diesel::sql_query(insert)
            .bind::<Text, _>(format!("row-{tag}-{i}"))
            .bind::<Text, _>("{\"x\":1}")
            .execute(conn)
            .unwrap();
    }
    RAW_COMMITS as f64 / started.elapsed().as_secs_f64()
}

/// Time per SQL text, filled while `TIMING` is on.
static STATEMENTS: Mutex<BTreeMap<String, (u64, Duration)>> = Mutex::new(BTreeMap::new());
static TIMING: AtomicBool = AtomicBool::new(false);

/// diesel's instrumentation of one connection: times each statement into [`STATEMENTS`].
#[derive(Default)]
struct StatementTimer(Option<Instant>);

impl Instrumentation for StatementTimer {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { .. } => self.0 = Some(Instant::now()),
            InstrumentationEvent::FinishQuery { query, .. } => {
                let Some(started) = self.0.take() else { return };
                let took = started.elapsed();
                if TIMING.load(Ordering::Relaxed) {
                    let sql: String = query.to_string().chars().take(100).collect();
                    let mut all = STATEMENTS.lock().unwrap();
                    let slot = all.entry(sql).or_default();
                    slot.0 += 1;
                    slot.1 += took;
                }
            }
            _ => {}
        }
    }
}

/// Prints [`STATEMENTS`], the most time first, per API write of the phase, and empties it.
fn print_statements(label: &str, writes: usize) {
    let all = std::mem::take(&mut *STATEMENTS.lock().unwrap());
    let mut rows: Vec<_> = all.into_iter().collect();
    rows.sort_by_key(|(_, (_, took))| std::cmp::Reverse(*took));
    let total: Duration = rows.iter().map(|(_, (_, took))| *took).sum();
    println!(
        "{label}: statements of the 1-client phase, {:.0} µs per API write in all",
        total.as_secs_f64() * 1e6 / writes as f64
    );
    println!(
        "{:>7} {:>9} {:>7}  statement",
        "count", "total ms", "mean µs"
    );
    for (sql, (count, took)) in rows {
        println!(
            "{count:>7} {:>9.1} {:>7.0}  {sql}",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e6 / count as f64
        );
    }
}

/// One line of figures: per client count, the API rate, the raw rate around it, the share.
fn report(label: &str, figures: &[Phase]) {
    let mut line = format!("{label:<16}");
    for f in figures {
        line.push_str(&format!(
            " | {:>2} client{} {:>5.0}/s, raw {:>5.0}/s: {:>3.0} %",
            f.clients,
            if f.clients == 1 { " " } else { "s" },
            f.api,
            f.raw,
            100.0 * f.ratio
        ));
    }
    println!("{line}");
}

/// One API phase and the raw commit rate measured around it.
#[derive(Debug, Clone, Copy)]
struct Phase {
    clients: usize,
    api: f64,
    raw: f64,
    ratio: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// A warm-up, then BENCH_ROUNDS rounds (default 3) of raw, 1-client and 4-client phases on one
/// server, each round printed, then the medians: the raw rate moves by ±20 % from one run to the
/// next here.
fn run(label: &str, dir: &std::path::Path, url: String) {
    let (state, base) = support::serve_in_background(dir.to_path_buf(), Some(url));
    setup(&state);
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(3);
    let statements = std::env::var_os("BENCH_STATEMENTS").is_some();
    // Warm-up, not measured: a running service's SQLite WAL file has reached its size (the
    // first checkpoints happen within a few hundred API writes) and later commits overwrite it
    // in place, while on a fresh file each commit also grows it. That alone halves the raw
    // rate of the first round (~4,000 against ~9,000/s here), so every round is measured in
    // the steady state, as are the statement caches of both backends.
    api_rate(&state, &base, 1);
    let clients = client_counts();
    let mut phases: Vec<Vec<Phase>> = vec![Vec::new(); clients.len()];
    let mut writer = vec![WriterFigures::default(); clients.len()];
    for round in 0..rounds {
        let mut line = Vec::new();
        for (i, &n) in clients.iter().enumerate() {
            let timed = statements && round == 0 && i == 0;
            let before = raw_rate(&state, &format!("{round}-{n}-a"));
            TIMING.store(timed, Ordering::Relaxed);
            let (api, figures) = api_rate(&state, &base, n);
            TIMING.store(false, Ordering::Relaxed);
            let after = raw_rate(&state, &format!("{round}-{n}-b"));
            if timed {
                print_statements(label, WRITES / 3 * 3);
            }
            // The same number of commits each side: the rate over both is the harmonic mean.
            let raw = 2.0 / (1.0 / before + 1.0 / after);
            writer[i] = writer[i].plus(&figures);
            let phase = Phase {
                clients: n,
                api,
                raw,
                ratio: api / raw,
            };
            phases[i].push(phase);
            line.push(phase);
        }
        report(&format!("{label} #{}", round + 1), &line);
    }
    let medians: Vec<Phase> = clients
        .iter()
        .zip(phases)
        .map(|(&n, p)| Phase {
            clients: n,
            api: median(p.iter().map(|f| f.api).collect()),
            raw: median(p.iter().map(|f| f.raw).collect()),
            ratio: median(p.iter().map(|f| f.ratio).collect()),
        })
        .collect();
    report(&format!("{label} median"), &medians);
    for (n, w) in clients.iter().zip(&writer) {
        w.print(label, *n);
    }
}

/// The SQLite group-commit writer's counters ([`hazard_ledger::db::group_commit::Stats`]).
#[derive(Debug, Default, Clone, Copy)]
struct WriterFigures {
    batches: u64,
    jobs: u64,
    work_us: u64,
    commit_us: u64,
    /// Wall time of the phase (set by the bench).
    elapsed_us: u64,
}

impl WriterFigures {
    fn of(state: &AppState) -> Self {
        let Some(w) = &state.writer else {
            return Self::default();
        };
        let s = w.stats();
        let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        Self {
            batches: get(&s.batches),
            jobs: get(&s.jobs),
            work_us: get(&s.work_us),
            commit_us: get(&s.commit_us),
            elapsed_us: 0,
        }
    }

    fn minus(&self, o: &Self) -> Self {
        Self {
            batches: self.batches - o.batches,
            jobs: self.jobs - o.jobs,
            work_us: self.work_us - o.work_us,
            commit_us: self.commit_us - o.commit_us,
            elapsed_us: self.elapsed_us - o.elapsed_us,
        }
    }

    fn plus(&self, o: &Self) -> Self {
        Self {
            batches: self.batches + o.batches,
            jobs: self.jobs + o.jobs,
            work_us: self.work_us + o.work_us,
            commit_us: self.commit_us + o.commit_us,
            elapsed_us: self.elapsed_us + o.elapsed_us,
        }
    }

    /// Where the writer's time went in the phases with `clients` clients (all rounds).
    fn print(&self, label: &str, clients: usize) {
        if self.batches == 0 {
            return;
        }
        let per_batch = |us: u64| us as f64 / self.batches as f64;
        println!(
            "{label} writer, {clients:>2} clients: {:.1} requests per COMMIT; per request {:.0} µs of work; per batch {:.0} µs committing, {:.0} µs waiting for requests",
            self.jobs as f64 / self.batches as f64,
            self.work_us as f64 / self.jobs.max(1) as f64,
            per_batch(self.commit_us),
            per_batch(
                self.elapsed_us
                    .saturating_sub(self.work_us)
                    .saturating_sub(self.commit_us)
            ),
        );
    }
}

/// The numbers of concurrent clients to measure (BENCH_CLIENTS, default "1,4,16,64").
fn client_counts() -> Vec<usize> {
    std::env::var("BENCH_CLIENTS")
        .ok()
        .map(|s| {
            s.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .filter(|n| *n > 0)
                .collect::<Vec<usize>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![1, 4, 16, 64])
}

fn main() {
    if std::env::var_os("BENCH_STATEMENTS").is_some() {
        // Before any connection opens: each takes its instrumentation when established.
        diesel::connection::set_default_instrumentation(|| {
            Some(Box::new(StatementTimer::default()))
        })
        .expect("instrumentation");
    }
    println!(
        "write_throughput: {WRITES} API writes per phase (create, submit, post; each one transaction + ledger entry) vs {RAW_COMMITS} raw commits before and after it"
    );
    support::on_each_backend("hl_bench", run);
}
