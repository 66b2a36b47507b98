//! Test harness: a fresh database per test and the real app on a loopback port.

#![allow(dead_code)]

use std::path::PathBuf;

use diesel::Connection;
use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use hazard_ledger::app::{self, AppState, Running, StartOptions};
use hazard_ledger::config::Config;
use hazard_ledger::db::DbConn;

pub mod browser;
pub mod smtp;

/// The database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// The admin URL from `TEST_POSTGRES_URL`.
    Postgres(String),
}

impl Backend {
    /// PostgreSQL when `TEST_POSTGRES_URL` is set.
    pub fn postgres() -> Option<Self> {
        std::env::var("TEST_POSTGRES_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(Backend::Postgres)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// Declares a test that runs on SQLite and on PostgreSQL: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! db_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[actix_web::test]
            async fn sqlite() {
                ($body)($crate::common::Backend::Sqlite).await;
            }

            #[actix_web::test]
            async fn postgres() {
                match $crate::common::Backend::postgres() {
                    Some(backend) => ($body)(backend).await,
                    None => eprintln!("TEST_POSTGRES_URL is not set: PostgreSQL variant not run"),
                }
            }
        }
    };
}

/// A fresh, empty database that disappears with the value.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    /// (admin URL, database name) of a PostgreSQL database this value drops.
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn new(backend: &Backend) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Self { url, dir, pg: None }
            }
            Backend::Postgres(admin) => {
                let name = format!("hl_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(admin).expect("connect TEST_POSTGRES_URL");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .expect("create test database");
                let url = with_database(admin, &name);
                Self {
                    url,
                    dir,
                    pg: Some((admin.clone(), name)),
                }
            }
        }
    }

    /// The same database seen by a second instance: its own data folder, and dropping it
    /// leaves the database alone.
    pub fn shared(&self) -> Self {
        Self {
            url: self.url.clone(),
            dir: tempfile::tempdir().expect("temp dir"),
            pg: None,
        }
    }

    /// A direct connection, for checks and tampering behind the app's back.
    pub fn connect(&self) -> DbConn {
        match self.url.starts_with("postgres") {
            true => DbConn::Pg(PgConnection::establish(&self.url).expect("connect")),
            false => {
                let path = self.url.trim_start_matches("sqlite://");
                DbConn::Sqlite(diesel::SqliteConnection::establish(path).expect("connect"))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.pg
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

/// Replaces the database name of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let host = match path_start {
        Some(i) => &base[..i],
        None => base,
    };
    match query {
        Some(q) => format!("{host}/{name}?{q}"),
        None => format!("{host}/{name}"),
    }
}

/// A test config on `db`, listening on an ephemeral loopback port, with a pinned clock.
pub fn test_config(db: &TestDb) -> Config {
    let mut config = Config::defaults();
    config.data_dir = db.dir.path().join("data");
    config.database.url = db.url.clone();
    config.database.pool_size = 4;
    config.server.listen = "127.0.0.1:0".into();
    config.server.workers = 1;
    config.server.shutdown_timeout_secs = 5;
    config.clock.now = Some("2026-03-02T09:00:00+08:00".into());
    config.log.level = "warn".into();
    // Cheap hashes keep the suite fast; the production parameters are benchmarked instead.
    config.auth.argon2_memory_kib = 1024;
    config.auth.argon2_iterations = 1;
    // Tests log in often; the tests of the limits set their own.
    config.auth.login_rate_per_ip_per_minute = 10_000;
    config.auth.login_rate_per_username_per_minute = 10_000;
    config.tips.rate_per_ip_per_hour = 10_000;
    config.tips.status_rate_per_ip_per_minute = 10_000;
    // Jobs run when a test says so; nothing listens on port 9 (discard) of loopback.
    config.jobs.enabled = false;
    config.smtp.port = 9;
    config
}

/// A known password that passes the rules.
pub const PASSWORD: &str = "Correct-Horse-Battery-9";

/// The real app, serving on loopback.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub handle: actix_web::dev::ServerHandle,
    pub db: TestDb,
}

impl TestApp {
    /// Starts the app on a fresh database of `backend`.
    pub async fn start(backend: &Backend) -> Self {
        Self::start_with(backend, |_| {}, StartOptions::default()).await
    }

    /// Starts the app after `tweak` changes the config.
    pub async fn start_with(
        backend: &Backend,
        tweak: impl FnOnce(&mut Config),
        options: StartOptions,
    ) -> Self {
        Self::start_on(TestDb::new(backend), tweak, options).await
    }

    /// Starts the app on `db` (a fresh one, or [`TestDb::shared`] for a second instance).
    pub async fn start_on(
        db: TestDb,
        tweak: impl FnOnce(&mut Config),
        options: StartOptions,
    ) -> Self {
        let mut config = test_config(&db);
        tweak(&mut config);
        let Running {
            addr,
            handle,
            state,
            server,
            ..
        } = app::start(config, options).await.expect("app starts");
        actix_web::rt::spawn(server);
        Self {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            state,
            handle,
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// Sends `method path` with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("request")
    }

    /// Like [`Self::call`], answering (status, JSON body).
    pub async fn call_json(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let res = self.call(method, path, token, body).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Creates a user directly in the database with [`PASSWORD`] (no password change due).
    pub async fn create_user(&self, username: &str, role: &str, org: &str) -> String {
        let state = self.state.clone();
        let (username, role, org) = (username.to_string(), role.to_string(), org.to_string());
        actix_web::web::block(move || {
            use hazard_ledger::auth::accounts::{self, NewUser, UserInput};
            let mut conn = state.pool.get().unwrap();
            let (username, display_name, email, role, target) = accounts::check_user_input(
                &mut conn,
                &UserInput {
                    username: Some(&username),
                    display_name: None,
                    email: Some(&format!("{username}@example.org")),
                    role: Some(&role),
                    org: Some(&org),
                },
            )
            .unwrap_or_else(|e| panic!("create user {username}: {e}"));
            let row = accounts::insert_user(
                &mut conn,
                NewUser {
                    username,
                    display_name,
                    email,
                    role,
                    target,
                    password_hash: state.auth.hasher.hash_blocking(PASSWORD).unwrap(),
                    must_change_password: false,
                },
                state.clock.now().naive_utc(),
            )
            .unwrap();
            row.id
        })
        .await
        .unwrap()
    }

    /// Logs in through the API and answers the access token.
    pub async fn login(&self, username: &str) -> String {
        let (status, body) = self
            .call_json(
                reqwest::Method::POST,
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"username": username, "password": PASSWORD})),
            )
            .await;
        assert_eq!(status, 200, "login {username}: {body}");
        body["access_token"].as_str().unwrap().to_string()
    }

    /// Creates a user and logs in, answering (user id, access token).
    pub async fn user_token(&self, username: &str, role: &str, org: &str) -> (String, String) {
        let id = self.create_user(username, role, org).await;
        (id, self.login(username).await)
    }

    /// Registers an enterprise directly, answering its id.
    pub async fn create_enterprise(
        &self,
        uscc: &str,
        name: &str,
        street: &str,
        sectors: &[&str],
        headcount: i32,
    ) -> String {
        let state = self.state.clone();
        let sectors: Vec<String> = sectors.iter().map(|s| s.to_string()).collect();
        let (uscc, name, street) = (uscc.to_string(), name.to_string(), street.to_string());
        actix_web::web::block(move || {
            use hazard_ledger::db::enterprises::{self, EnterpriseRow};
            let mut conn = state.pool.get().unwrap();
            let now = state.clock.now().naive_utc();
            let row = EnterpriseRow {
                id: uuid::Uuid::now_v7().to_string(),
                uscc,
                name,
                address: "长宁区测试路1号".into(),
                street_code: street,
                headcount,
                principal_name: "张三".into(),
                principal_mobile: "13800000000".into(),
                safety_officer_name: None,
                safety_officer_mobile: None,
                notify_emails: "[]".into(),
                created_at: now,
                updated_at: now,
            };
            enterprises::insert(&mut conn, &row, &sectors).unwrap();
            row.id
        })
        .await
        .unwrap()
    }

    /// Moves the pinned clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        let now = self.state.clock.now();
        self.state.clock.set(Some(now + by));
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let res = self.get(path).await;
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Stops the server, letting in-flight requests finish.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command; the workers end without waiting for this test's runtime.
        drop(self.handle.stop(false));
    }
}

/// The path of the built binary, for tests of the command line.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hazard-ledger"))
}

/// Asserts a problem+json answer with `status` and `code`, returning its body.
pub async fn expect_problem(res: reqwest::Response, status: u16, code: &str) -> serde_json::Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct}"
    );
    let body: serde_json::Value = res.json().await.expect("problem body");
    assert_eq!(body["code"], code, "problem {body}");
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

/// The fields a problem's `errors` name, in order.
pub fn error_fields(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}
