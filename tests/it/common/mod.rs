//! Test harness: a fresh database per test and the real app on a loopback port.

#![allow(dead_code)]

use std::path::PathBuf;

use diesel::Connection;
use diesel::RunQueryDsl;
use diesel::pg::PgConnection;
use hazard_ledger::app::{self, AppState, Running, StartOptions};
use hazard_ledger::config::Config;
use hazard_ledger::db::DbConn;

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

    /// A direct connection, for checks and tampering behind the app's back.
    pub fn connect(&self) -> DbConn {
        match &self.pg {
            Some(_) => DbConn::Pg(PgConnection::establish(&self.url).expect("connect")),
            None => {
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
    config
}

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
        let db = TestDb::new(backend);
        let mut config = test_config(&db);
        tweak(&mut config);
        let Running {
            addr,
            handle,
            state,
            server,
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
