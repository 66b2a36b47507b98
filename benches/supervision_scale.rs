//! Supervision at scale (issue 6): a fresh database filled by `generate` with BENCH_HAZARDS
//! hazards (default 1,000,000), the real server on it, and p50 / p99 over HTTP of the common list
//! queries and of the summary, plus the export of ~100,000 rows (time and the process's peak RSS)
//! when the export endpoint exists. SQLite always (unless BENCH_SKIP_SQLITE=1); PostgreSQL too
//! when BENCH_POSTGRES_URL or TEST_POSTGRES_URL names a server (a fresh database is created and
//! dropped).
//!
//! Run: `cargo bench --bench supervision_scale` (quick: `BENCH_HAZARDS=50000 cargo bench …`)

mod support;

use std::time::Instant;

use chrono::NaiveDate;
use hazard_ledger::config::Config;
use serde_json::{Value, json};

use support::PASSWORD;
const WARMUP: usize = 5;
const RUNS: usize = 50;
const LIST_TARGET_MS: f64 = 50.0;
const SUMMARY_TARGET_MS: f64 = 500.0;

/// Peak resident set size of this process (the server runs in it), in MiB.
fn vm_hwm_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets the peak RSS to the current RSS (Linux: `5` into clear_refs).
fn reset_hwm() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn login(&self, username: &str) -> String {
        let res: Value = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        res["access_token"].as_str().expect("logged in").to_string()
    }

    async fn get(&self, token: &str, path: &str) -> (reqwest::StatusCode, Vec<u8>) {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status();
        (status, res.bytes().await.unwrap().to_vec())
    }

    /// p50 and p99 (ms) of `path` after the warm-ups, and the rows of the last answer.
    async fn measure(&self, token: &str, path: &str) -> (f64, f64, usize) {
        let mut samples = Vec::with_capacity(RUNS);
        let mut rows = 0;
        for i in 0..WARMUP + RUNS {
            let started = Instant::now();
            let (status, body) = self.get(token, path).await;
            let took = started.elapsed();
            assert!(
                status.is_success(),
                "{path}: {status} {}",
                String::from_utf8_lossy(&body)
            );
            if i >= WARMUP {
                samples.push(took);
            }
            if i == 0 {
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                rows = v["items"]
                    .as_array()
                    .or(v["groups"].as_array())
                    .map_or(0, Vec::len);
            }
        }
        let (p50, p99, _) = support::summary(samples);
        (p50, p99, rows)
    }
}

fn verdict(p99: f64, target: f64) -> &'static str {
    if p99 <= target { "met" } else { "NOT met" }
}

fn config_for(dir: &std::path::Path, url: &str) -> Config {
    let mut config = Config::defaults();
    config.data_dir = dir.join("data");
    config.database.url = url.to_string();
    config.log.level = "error".into();
    config
}

fn run(label: &str, dir: &std::path::Path, url: String, n: u64) {
    println!("== {label}: generating {n} hazards");
    let config = config_for(dir, &url);
    let report = hazard_ledger::generate::run(&config, n, 1).expect("generate");
    println!(
        "{label:<9} generate: {} hazards in {:.1} s ({:.0} hazards/s)",
        report.hazards,
        report.seconds,
        report.hazards as f64 / report.seconds
    );
    let (state, base) = support::serve_in_background(dir.to_path_buf(), Some(url));
    support::user(&state, "bench-district", "district_office", "AJW");
    support::user(&state, "bench-hyl", "street_officer", "HYL");
    let today = state.clock.today();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let client = Client {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            base,
        };
        let district = client.login("bench-district").await;
        let street = client.login("bench-hyl").await;
        // Page 2 of the default list, through its cursor.
        let (_, first) = client.get(&district, "/api/v1/hazards").await;
        let first: Value = serde_json::from_slice(&first).unwrap();
        let cursor = first["next_cursor"].as_str().unwrap_or_default().to_string();
        let lists: Vec<(&str, &String, String)> = vec![
            ("district", &district, "/api/v1/hazards".into()),
            ("district", &district, format!("/api/v1/hazards?cursor={cursor}")),
            ("district", &district, "/api/v1/hazards?overdue=true&sort=days_overdue".into()),
            (
                "district",
                &district,
                "/api/v1/hazards?level=major&department=SCJGJ&overdue=true&sort=days_overdue".into(),
            ),
            (
                "district",
                &district,
                "/api/v1/hazards?street=HYL&status=in_rectification&sort=deadline".into(),
            ),
            ("district", &district, "/api/v1/hazards?q=消防通道".into()),
            ("district", &district, "/api/v1/hazards?due_within_days=7".into()),
            ("street", &street, "/api/v1/hazards".into()),
            ("street", &street, "/api/v1/hazards?status=in_rectification&sort=deadline".into()),
            ("street", &street, "/api/v1/hazards?overdue=true&sort=days_overdue".into()),
        ];
        println!(
            "{label:<9} {:<10} {:<80} {:>5} {:>9} {:>9}  target",
            "caller", "request", "rows", "p50 ms", "p99 ms"
        );
        for (who, token, path) in &lists {
            let (p50, p99, rows) = client.measure(token, path).await;
            let shown = if path.contains("cursor=") {
                "/api/v1/hazards?cursor=<page 2 of the default list>"
            } else {
                path.as_str()
            };
            println!(
                "{label:<9} {who:<10} {shown:<80} {rows:>5} {p50:>9.1} {p99:>9.1}  p99 ≤ {LIST_TARGET_MS} ms {}",
                verdict(p99, LIST_TARGET_MS)
            );
        }
        for (who, token, group) in [
            ("district", &district, "street"),
            ("district", &district, "department"),
            ("street", &street, "street"),
        ] {
            let path = format!("/api/v1/stats/summary?group_by={group}");
            let (p50, p99, rows) = client.measure(token, &path).await;
            println!(
                "{label:<9} {who:<10} {path:<80} {rows:>5} {p50:>9.1} {p99:>9.1}  p99 ≤ {SUMMARY_TARGET_MS} ms {}",
                verdict(p99, SUMMARY_TARGET_MS)
            );
        }
        // Export of ~100,000 rows: a posting period holding that many (hazards are posted evenly
        // from 2023-01-01 to today).
        let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
        let span = (today - start).num_days() as f64;
        let days = (span * 100_000.0 / n as f64).min(span) as i64;
        let to = start + chrono::Duration::days(days);
        let filter = format!("posted_from={start}&posted_to={to}");
        let (probe, _) = client
            .get(&district, "/api/v1/hazards/export?format=csv&posted_from=2000-01-01&posted_to=2000-01-02")
            .await;
        if probe == reqwest::StatusCode::NOT_FOUND || probe == reqwest::StatusCode::METHOD_NOT_ALLOWED {
            println!("{label:<9} export: skipped, /api/v1/hazards/export is not routed ({probe})");
            return;
        }
        for format in ["csv", "xlsx"] {
            for _ in 0..2 {
                reset_hwm();
                let before = vm_hwm_mib();
                let started = Instant::now();
                let mut res = client
                    .http
                    .get(format!("{}/api/v1/hazards/export?format={format}&{filter}", client.base))
                    .bearer_auth(&district)
                    .send()
                    .await
                    .unwrap();
                let status = res.status();
                let (mut bytes, mut lines) = (0usize, 0usize);
                while let Some(chunk) = res.chunk().await.unwrap() {
                    bytes += chunk.len();
                    lines += chunk.iter().filter(|b| **b == b'\n').count();
                }
                let took = started.elapsed();
                let after = vm_hwm_mib();
                println!(
                    "{label:<9} export {format:<4} {filter} → {status}, {:.1} MB{} in {:.2} s; peak RSS {before:.0} MiB before, {after:.0} MiB after (+{:.0} MiB)",
                    bytes as f64 / 1e6,
                    if format == "csv" { format!(", {} lines", lines) } else { String::new() },
                    took.as_secs_f64(),
                    after - before
                );
            }
        }
    });
}

fn main() {
    let n = support::bench_hazards();
    println!("supervision_scale: {n} hazards; {WARMUP} warm-ups then {RUNS} requests per query");
    support::on_each_backend("hl_scale", |label, dir, url| run(label, dir, url, n));
}
