//! Does password hashing starve the HTTP workers? Measures `/healthz` latency alone and while
//! 20 clients log in continuously (argon2id with the production defaults: m=19 MiB, t=2, p=1).
//!
//! Run: `cargo bench --bench login_load`

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::PASSWORD;
const PROBES: usize = 1000;
const LOGIN_CLIENTS: usize = 20;

fn probe_healthz(base: &str, n: usize) -> Vec<Duration> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("{base}/healthz");
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let res = client.get(&url).send().await.unwrap();
            assert!(res.status().is_success());
            res.bytes().await.unwrap();
            out.push(t.elapsed());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        out
    })
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (state, base) = support::serve_in_background(dir.path().to_path_buf(), None);
    support::user(&state, "bench-user", "street_officer", "HYL");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "login_load: {cores} cores, argon2id m={} KiB t={} p={}, HTTP workers = cores",
        state.config.auth.argon2_memory_kib,
        state.config.auth.argon2_iterations,
        state.config.auth.argon2_parallelism
    );

    // Warm up, then the baseline.
    probe_healthz(&base, 100);
    let (p50, p99, max) = support::summary(probe_healthz(&base, PROBES));
    println!(
        "healthz alone:                 p50 {p50:.2} ms  p99 {p99:.2} ms  max {max:.2} ms  ({PROBES} requests)"
    );

    // 20 clients log in as fast as they are answered.
    let stop = Arc::new(AtomicBool::new(false));
    let logins = Arc::new(AtomicUsize::new(0));
    let login_latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let loader = {
        let (stop, logins, lat, base) = (
            stop.clone(),
            logins.clone(),
            login_latencies.clone(),
            base.clone(),
        );
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let client = reqwest::Client::builder().no_proxy().build().unwrap();
                let mut tasks = Vec::new();
                for _ in 0..LOGIN_CLIENTS {
                    let (client, stop, logins, lat, url) =
                        (client.clone(), stop.clone(), logins.clone(), lat.clone(), format!("{base}/api/v1/auth/login"));
                    tasks.push(tokio::spawn(async move {
                        while !stop.load(Ordering::Relaxed) {
                            let t = Instant::now();
                            let res = client
                                .post(&url)
                                .json(&serde_json::json!({"username": "bench-user", "password": PASSWORD}))
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(res.status(), 200, "login");
                            res.bytes().await.unwrap();
                            lat.lock().unwrap().push(t.elapsed());
                            logins.fetch_add(1, Ordering::Relaxed);
                        }
                    }));
                }
                for t in tasks {
                    t.await.unwrap();
                }
            });
        })
    };
    // Let the login load build up before probing.
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    let before = logins.load(Ordering::Relaxed);
    let under_load = probe_healthz(&base, PROBES);
    let elapsed = started.elapsed();
    let done = logins.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    loader.join().unwrap();
    let (p50, p99, max) = support::summary(under_load);
    println!(
        "healthz with {LOGIN_CLIENTS} parallel logins: p50 {p50:.2} ms  p99 {p99:.2} ms  max {max:.2} ms  ({PROBES} requests)"
    );
    let (l50, l99, _) = support::summary(login_latencies.lock().unwrap().clone());
    println!(
        "logins meanwhile: {done} in {:.1} s = {:.1}/s; login latency p50 {l50:.0} ms p99 {l99:.0} ms",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64()
    );
    println!(
        "target: healthz p99 under load < 10 ms -> {}",
        if p99 < 10.0 { "met" } else { "NOT met" }
    );
}
