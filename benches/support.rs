//! Shared pieces of the benchmarks: percentiles and a running app on a temp SQLite file.

#![allow(dead_code)]

use std::time::Duration;

use hazard_ledger::app::{self, AppState, StartOptions};
use hazard_ledger::config::Config;

/// Median, p99 and max of `samples`, in milliseconds.
pub fn summary(mut samples: Vec<Duration>) -> (f64, f64, f64) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let at = |q: f64| ms(samples[((samples.len() as f64 - 1.0) * q).round() as usize]);
    (at(0.5), at(0.99), ms(*samples.last().unwrap()))
}

/// Starts the app with production defaults on a fresh database; answers (state, base URL).
pub async fn start(dir: &std::path::Path, database_url: Option<String>) -> (AppState, String) {
    let mut config = Config::defaults();
    config.data_dir = dir.join("data");
    config.database.url =
        database_url.unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.display()));
    config.server.listen = "127.0.0.1:0".into();
    config.log.level = "error".into();
    // The scheduled jobs stay off: the outbox sender (every 20 s; no mail server here, so every
    // email it claims fails and is written back) would land inside some measurements and not
    // others.
    config.jobs.enabled = false;
    // The benchmarks load the server on purpose; the login limits would turn that into 429s.
    config.auth.login_rate_per_ip_per_minute = 1_000_000;
    config.auth.login_rate_per_username_per_minute = 1_000_000;
    let running = app::start(config, StartOptions::default())
        .await
        .expect("start");
    let base = format!("http://{}", running.addr);
    let state = running.state.clone();
    actix_web::rt::spawn(running.server);
    (state, base)
}

/// Runs the app on its own thread (its own actix System) and answers once it listens.
pub fn serve_in_background(
    dir: std::path::PathBuf,
    database_url: Option<String>,
) -> (AppState, String) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            tx.send(start(&dir, database_url).await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

/// The password of the users the benchmarks create.
pub const PASSWORD: &str = "Bench-Password-2026";

/// Creates a user `name` (email `name@example.org`) directly in the database (production
/// hashing), able to log in at once.
pub fn user(state: &AppState, name: &str, role: &str, org: &str) {
    use hazard_ledger::auth::accounts::{self, NewUser, UserInput};
    let mut conn = state.pool.get().unwrap();
    let email = format!("{name}@example.org");
    let (username, display_name, email, role, target) = accounts::check_user_input(
        &mut conn,
        &UserInput {
            username: Some(name),
            display_name: None,
            email: Some(&email),
            role: Some(role),
            org: Some(org),
        },
    )
    .unwrap();
    let hash = state.auth.hasher.hash_blocking(PASSWORD).unwrap();
    accounts::insert_user(
        &mut conn,
        NewUser {
            username,
            display_name,
            email,
            role,
            target,
            password_hash: hash,
            must_change_password: false,
        },
        state.clock.now().naive_utc(),
    )
    .unwrap();
}

/// BENCH_HAZARDS (`_` allowed as a digit separator), default 1,000,000.
pub fn bench_hazards() -> u64 {
    std::env::var("BENCH_HAZARDS")
        .ok()
        .and_then(|s| s.replace('_', "").parse().ok())
        .unwrap_or(1_000_000)
}

/// Runs `run(label, dir, database_url)` on a fresh SQLite file (unless BENCH_SKIP_SQLITE is
/// set), then on a fresh PostgreSQL database named `prefix_…` when BENCH_POSTGRES_URL or
/// TEST_POSTGRES_URL names a server (created before, dropped after).
pub fn on_each_backend(prefix: &str, run: impl Fn(&str, &std::path::Path, String)) {
    use diesel::prelude::*;
    if std::env::var("BENCH_SKIP_SQLITE").is_err() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/bench.db", dir.path().display());
        run("sqlite", dir.path(), url);
    }
    let pg = std::env::var("BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("TEST_POSTGRES_URL"))
        .ok();
    let Some(admin) = pg else {
        println!("postgres  skipped: set BENCH_POSTGRES_URL or TEST_POSTGRES_URL");
        return;
    };
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut c = diesel::PgConnection::establish(&admin).expect("connect");
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut c)
        .unwrap();
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(b, _)| b)
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    run("postgres", dir.path(), format!("{base}/{name}"));
    let _ = diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)")).execute(&mut c);
}
