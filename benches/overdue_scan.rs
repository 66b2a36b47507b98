//! The overdue scan at scale (issue 7): a fresh database filled by `generate` with BENCH_HAZARDS
//! hazards (default 1,000,000; about 1 % overdue), mailable officers for every street and
//! department and the district office, then `hazard-ledger jobs run escalation` as its own
//! process, twice: the first run fires every step due (reminders, the overdue ladder, …) with
//! ledger entries and one digest per recipient; the rerun finds everything fired. Prints the
//! wall time and the peak RSS of each run (VmHWM of the child process).
//! SQLite always (unless BENCH_SKIP_SQLITE=1); PostgreSQL too when BENCH_POSTGRES_URL or
//! TEST_POSTGRES_URL names a server (a fresh database is created and dropped).
//!
//! Run: `cargo bench --bench overdue_scan` (quick: `BENCH_HAZARDS=50000 cargo bench …`)

mod support;

use std::process::Command;
use std::time::Instant;

use diesel::prelude::*;
use hazard_ledger::app::AppState;
use hazard_ledger::config::Config;
use serde_json::Value;

const NOW: &str = "2026-11-29T08:00:00+08:00";
const TODAY: &str = "2026-11-29";
const NEXT_DAY: &str = "2026-11-30";

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// VmHWM (peak resident set) of process `pid`, in MiB.
fn vm_hwm_mib(pid: u32) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse::<f64>()
        .ok()
        .map(|kb| kb / 1024.0)
}

/// Runs `hazard-ledger jobs run JOB --date DATE`; answers the printed run, the wall time and
/// the child's peak RSS (VmHWM read from /proc while it runs: exec starts it afresh, so the
/// parent's memory does not count).
fn jobs_run(dir: &std::path::Path, url: &str, job: &str, date: &str) -> (Value, f64, f64) {
    use std::io::Read;
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hazard-ledger"))
        .args(["jobs", "run", job, "--date", date])
        .env_remove("HAZARD_LEDGER_CONFIG")
        .env("HAZARD_LEDGER__DATA_DIR", dir.join("data"))
        .env("HAZARD_LEDGER__DATABASE__URL", url)
        .env("HAZARD_LEDGER__CLOCK__NOW", NOW)
        .env("HAZARD_LEDGER__LOG__LEVEL", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run hazard-ledger");
    let pid = child.id();
    let mut peak: f64 = 0.0;
    let status = loop {
        if let Some(hwm) = vm_hwm_mib(pid) {
            peak = peak.max(hwm);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let wall = started.elapsed().as_secs_f64();
    let (mut out, mut err) = (Vec::new(), String::new());
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "jobs run: {err}");
    (serde_json::from_slice(&out).expect("run JSON"), wall, peak)
}

fn run(label: &str, dir: &std::path::Path, url: String, n: u64) {
    println!("== {label}: generating {n} hazards");
    let mut config = Config::defaults();
    config.data_dir = dir.join("data");
    config.database.url = url.clone();
    config.clock.now = Some(NOW.into());
    config.log.level = "error".into();
    let report = hazard_ledger::generate::run(&config, n, 1).expect("generate");
    println!(
        "{label:<9} generate: {} hazards in {:.1} s",
        report.hazards, report.seconds
    );
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let pool = hazard_ledger::db::build_pool(&config).unwrap();
    let state = AppState::new(config, pool).unwrap();
    support::user(&state, "bench-district", "district_office", "AJW");
    for street in [
        "HYL", "JSL", "XHL", "ZJQ", "TSL", "XXXC", "HQ", "CJQ", "BXJ", "XJZ",
    ] {
        support::user(&state, &format!("bench-{street}"), "street_officer", street);
    }
    for dept in [
        "FGJ", "GAFJ", "JGW", "JYJ", "MZJ", "SCJGJ", "STHJJ", "SWW", "WJW", "WLJ", "XFZD", "YJJ",
    ] {
        support::user(
            &state,
            &format!("bench-{dept}"),
            "department_inspector",
            dept,
        );
    }
    let mut conn = state.pool.get().unwrap();
    let overdue: Count = diesel::sql_query(format!(
        "SELECT COUNT(*) AS n FROM hazards WHERE status IN ('on_ledger', 'in_rectification') \
         AND effective_deadline < '{TODAY}'"
    ))
    .get_result(&mut *conn as &mut hazard_ledger::db::DbConn)
    .unwrap();
    drop(conn);
    println!(
        "{label:<9} overdue (on ledger or in rectification): {}",
        overdue.n
    );

    // The overdue scan proper: the first overdue step over every hazard, as its own run.
    let (scan, wall, rss) = jobs_run(dir, &url, "overdue_first", TODAY);
    let esc = &scan["counts"]["escalation"];
    println!(
        "{label:<9} overdue scan (rule overdue_first): {wall:.2} s wall (the whole process), peak RSS {rss:.0} MiB; due {}, fired {}, digests {}  (target < 2 s, < 150 MB)",
        esc["due"], esc["fired"], esc["emails"]
    );
    // Then every other rule at once, the backlog of a database that never ran the jobs.
    let (first, wall, rss) = jobs_run(dir, &url, "escalation", TODAY);
    let esc = &first["counts"]["escalation"];
    println!(
        "{label:<9} all rules, first run: {wall:.2} s wall, peak RSS {rss:.0} MiB; due {}, fired {}, hazards {}, digests {}",
        esc["due"], esc["fired"], esc["hazards"], esc["emails"]
    );
    let (again, wall, _) = jobs_run(dir, &url, "escalation", TODAY);
    let esc = &again["counts"]["escalation"];
    println!(
        "{label:<9} rerun:     {wall:.2} s wall; due {}, fired {}, digests {}",
        esc["due"], esc["fired"], esc["emails"]
    );
    // The steady state: the next day, only what became due overnight fires.
    let (next, wall, _) = jobs_run(dir, &url, "escalation", NEXT_DAY);
    let esc = &next["counts"]["escalation"];
    println!(
        "{label:<9} next day:  {wall:.2} s wall; due {}, fired {}, digests {}",
        esc["due"], esc["fired"], esc["emails"]
    );
}

fn main() {
    let n = support::bench_hazards();
    println!("overdue_scan: {n} hazards, escalation job for {TODAY}");
    support::on_each_backend("hl_overdue", |label, dir, url| run(label, dir, url, n));
}
