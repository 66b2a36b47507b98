//! Foundation: migrations, seeding, readiness, errors, metrics, request IDs, shutdown.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use actix_web::HttpResponse;
use actix_web::web::Query;
use diesel::prelude::*;
use hazard_ledger::api::Routes;
use hazard_ledger::app::StartOptions;
use hazard_ledger::db;
use hazard_ledger::http::json::Json;
use hazard_ledger::seeds::ReferenceData;
use tokio::sync::Notify;

use crate::common::{Backend, TestApp, TestDb, expect_problem, test_config};
use crate::db_test;

/// Test-only routes: an echo that reads JSON (with the app's own extractor), a handler that panics, one that blocks until told.
fn test_routes(r: &mut Routes) {
    r.post("/test/echo", echo)
        .get("/test/panic", panics)
        .get("/test/slow", slow);
}

async fn echo(body: Json<serde_json::Value>) -> HttpResponse {
    HttpResponse::Ok().json(body.into_inner())
}

async fn panics() -> HttpResponse {
    panic!("deliberate test panic");
}

/// (entered, release) signals of the slow handler, per test (tests run in parallel).
type Signals = Arc<(Notify, Notify)>;
static SLOW: LazyLock<Mutex<HashMap<String, Signals>>> = LazyLock::new(Default::default);

fn slow_signals(key: &str) -> Signals {
    SLOW.lock()
        .unwrap()
        .entry(key.to_string())
        .or_default()
        .clone()
}

async fn slow(query: Query<HashMap<String, String>>) -> HttpResponse {
    let signals = slow_signals(query.get("key").map_or("", String::as_str));
    signals.0.notify_one();
    signals.1.notified().await;
    HttpResponse::Ok().body("finished")
}

fn with_test_routes() -> StartOptions {
    StartOptions {
        extra_routes: Some(test_routes),
        ..StartOptions::default()
    }
}

db_test!(
    serves_the_ten_streets_and_reference_lists,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let (status, body) = app.get_json("/readyz").await;
        assert_eq!(status, 200);
        assert_eq!(body["database"], backend.name());
        let (status, body) = app.get_json("/api/v1/streets").await;
        assert_eq!(status, 200);
        let names: Vec<&str> = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.len(), 10, "{names:?}");
        for expected in ["华阳路街道", "江苏路街道", "仙霞新村街道", "新泾镇"] {
            assert!(names.contains(&expected), "{expected} missing");
        }
        let (_, body) = app.get_json("/api/v1/departments").await;
        let first = &body["items"][0];
        assert_eq!(
            first["kind"], "district_office",
            "district office listed first"
        );
        let (_, body) = app.get_json("/api/v1/sectors").await;
        let ammonia = body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["code"] == "ammonia_refrigeration")
            .unwrap();
        assert_eq!(ammonia["primary_department"], "YJJ");
        let (_, body) = app.get_json("/api/v1/categories").await;
        assert_eq!(body["items"].as_array().unwrap().len(), 25);
    }
);

db_test!(
    migrations_apply_revert_and_reapply,
    |backend: Backend| async move {
        let test_db = TestDb::new(&backend);
        let mut conn = test_db.connect();
        let applied = db::migrate(&mut conn).unwrap();
        assert!(!applied.is_empty());
        assert!(db::migrations_current(&mut conn).unwrap());
        assert!(
            db::migrate(&mut conn).unwrap().is_empty(),
            "second run applies nothing"
        );
        // Every down.sql undoes its up.sql: after reverting, the tables are gone ...
        let reverted = db::revert_all(&mut conn).unwrap();
        assert_eq!(reverted, applied.len());
        assert!(db::reference::list_streets(&mut conn).is_err());
        assert!(!db::migrations_current(&mut conn).unwrap());
        // ... and the migrations apply cleanly again.
        assert_eq!(db::migrate(&mut conn).unwrap().len(), applied.len());
    }
);

db_test!(
    seeding_twice_changes_nothing,
    |backend: Backend| async move {
        let test_db = TestDb::new(&backend);
        let mut conn = test_db.connect();
        db::migrate(&mut conn).unwrap();
        let data = ReferenceData::load().unwrap();
        let first = db::reference::seed(&mut conn, &data).unwrap();
        assert_eq!(first.updated, 0);
        assert_eq!(
            first.inserted,
            data.streets.len()
                + data.departments.len()
                + data.sectors.len()
                + data.categories.len()
                + data.calendar.len()
        );
        let second = db::reference::seed(&mut conn, &data).unwrap();
        assert_eq!(second, db::reference::SeedReport::default());
        assert_eq!(db::reference::list_streets(&mut conn).unwrap().len(), 10);
        // A row changed by hand is put back by the next seed, and only that row.
        diesel::sql_query("UPDATE streets SET name = 'x' WHERE code = 'HYL'")
            .execute(&mut conn)
            .unwrap();
        let third = db::reference::seed(&mut conn, &data).unwrap();
        assert_eq!(third.updated, 1);
        assert_eq!(third.inserted, 0);
    }
);

db_test!(errors_are_problem_json, |backend: Backend| async move {
    let app = TestApp::start_with(
        &backend,
        |c| c.server.json_limit_bytes = 2048,
        with_test_routes(),
    )
    .await;
    let c = &app.client;

    let res = c
        .post(app.url("/test/echo"))
        .header("content-type", "application/json")
        .body("{\"a\": ")
        .send()
        .await
        .unwrap();
    expect_problem(res, 400, "malformed_json").await;

    let res = c
        .post(app.url("/test/echo"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    expect_problem(res, 415, "unsupported_media_type").await;

    let big = format!("{{\"a\": \"{}\"}}", "x".repeat(4096));
    let res = c
        .post(app.url("/test/echo"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    expect_problem(res, 413, "payload_too_large").await;

    let res = c
        .get(app.url("/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    expect_problem(res, 404, "route_not_found").await;

    let res = c.delete(app.url("/api/v1/streets")).send().await.unwrap();
    assert_eq!(res.headers().get("allow").unwrap(), "GET");
    expect_problem(res, 405, "method_not_allowed").await;
    // HEAD is answered as GET, without the body.
    let get = c.get(app.url("/healthz")).send().await.unwrap();
    let res = c.head(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("content-type"),
        get.headers().get("content-type")
    );
    assert!(get.headers().get("content-length").is_some());
    assert_eq!(
        res.headers().get("content-length"),
        get.headers().get("content-length"),
        "the head of the GET's answer"
    );
    assert!(res.bytes().await.unwrap().is_empty());
    let res = c.head(app.url("/api/v1/hazards")).send().await.unwrap();
    assert_eq!(res.status(), 401, "as GET: a bearer is needed");

    // A well-formed body still goes through.
    let res = c
        .post(app.url("/test/echo"))
        .json(&serde_json::json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // Media types are case-insensitive.
    let res = c
        .post(app.url("/test/echo"))
        .header("content-type", "APPLICATION/JSON; charset=UTF-8")
        .body("{\"a\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // A panic answers 500 problem+json with the request ID, and the server keeps serving.
    let res = c
        .get(app.url("/test/panic"))
        .header("x-request-id", "panic-req-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "panic-req-1");
    expect_problem(res, 500, "internal_error").await;
    for _ in 0..3 {
        assert_eq!(app.get("/healthz").await.status(), 200);
    }
});

db_test!(
    request_ids_are_echoed_or_generated,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let res = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", "abc-123")
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers().get("x-request-id").unwrap(), "abc-123");
        let res = app.get("/healthz").await;
        let generated = res.headers().get("x-request-id").unwrap().to_str().unwrap();
        assert_eq!(generated.len(), 36, "a UUID: {generated}");
        // A header that could break logs is replaced, not echoed.
        let res = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", "bad id with spaces")
            .send()
            .await
            .unwrap();
        assert_ne!(
            res.headers().get("x-request-id").unwrap(),
            "bad id with spaces"
        );
        assert_eq!(
            res.headers().get("x-content-type-options").unwrap(),
            "nosniff"
        );
        assert!(res.headers().get("content-security-policy").is_some());
    }
);

db_test!(
    readyz_is_503_when_database_unreachable_or_behind,
    |backend: Backend| async move {
        // A database that is not there: a SQLite file in a folder that does not exist, or a
        // PostgreSQL port where nobody listens.
        let app = TestApp::start_with(
            &backend,
            |c| {
                c.database.url = match backend {
                    Backend::Sqlite => "sqlite:///nonexistent-folder-hl/x.db".into(),
                    Backend::Postgres(_) => "postgres://postgres@127.0.0.1:1/none".into(),
                };
                c.database.connect_timeout_secs = 1;
            },
            StartOptions {
                skip_prepare: true,
                ..StartOptions::default()
            },
        )
        .await;
        let res = app.get("/readyz").await;
        assert!(res.headers().get("retry-after").is_some());
        expect_problem(res, 503, "database_unavailable").await;
        assert_eq!(
            app.get("/healthz").await.status(),
            200,
            "alive all the same"
        );

        // A reachable database whose migrations have not run.
        let app = TestApp::start_with(
            &backend,
            |_| {},
            StartOptions {
                skip_prepare: true,
                ..StartOptions::default()
            },
        )
        .await;
        expect_problem(app.get("/readyz").await, 503, "migrations_pending").await;
        let mut conn = app.db.connect();
        db::migrate(&mut conn).unwrap();
        assert_eq!(app.get("/readyz").await.status(), 200);

        // A newer version of the service migrated the database: this one steps aside.
        {
            use diesel::RunQueryDsl;
            diesel::sql_query(
                "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000001')",
            )
            .execute(&mut conn)
            .unwrap();
        }
        let problem = expect_problem(app.get("/readyz").await, 503, "database_newer").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("29991231000001"),
            "{problem}"
        );
        // And it does not start (nor migrate, nor run a command) against it again.
        let refused = db::migrate(&mut conn).unwrap_err().to_string();
        assert!(
            refused.contains("newer version") && refused.contains("29991231000001"),
            "{refused}"
        );
    }
);

db_test!(
    metrics_count_requests_by_route_and_status,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        for _ in 0..3 {
            assert_eq!(app.get("/api/v1/streets").await.status(), 200);
        }
        app.get("/api/v1/nothing-here").await;
        let text = app.get("/metrics").await.text().await.unwrap();
        let count = |endpoint: &str, status: &str| -> f64 {
            text.lines()
                .find(|l| {
                    l.starts_with("hazard_ledger_http_requests_total{")
                        && l.contains(&format!("endpoint=\"{endpoint}\""))
                        && l.contains(&format!("status=\"{status}\""))
                })
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        assert_eq!(count("/api/v1/streets", "200"), 3.0, "{text}");
        assert_eq!(
            count("UNKNOWN", "404"),
            1.0,
            "unmatched paths are masked: {text}"
        );
        assert!(text.contains("hazard_ledger_http_requests_duration_seconds_bucket"));
        assert!(text.contains("hazard_ledger_db_pool_max 4"), "{text}");
    }
);

db_test!(
    graceful_shutdown_finishes_in_flight_request,
    |backend: Backend| async move {
        let app = TestApp::start_with(&backend, |_| {}, with_test_routes()).await;
        let client = app.client.clone();
        let signals = slow_signals(backend.name());
        let url = app.url(&format!("/test/slow?key={}", backend.name()));
        let in_flight = actix_web::rt::spawn(async move { client.get(url).send().await });
        signals.0.notified().await;
        // Graceful stop, as on SIGTERM; it waits for the request, so run it beside the release.
        let handle = app.handle.clone();
        let stopping = actix_web::rt::spawn(async move { handle.stop(true).await });
        actix_web::rt::task::yield_now().await;
        signals.1.notify_one();
        let res = in_flight
            .await
            .unwrap()
            .expect("the in-flight request is answered");
        assert_eq!(res.status(), 200);
        assert_eq!(res.text().await.unwrap(), "finished");
        stopping.await.unwrap();
        // Stopped: nothing listens any more.
        assert!(app.client.get(app.url("/healthz")).send().await.is_err());
    }
);

#[actix_web::test]
async fn sqlite_folder_that_cannot_be_created_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let db = TestDb::new(&Backend::Sqlite);
    let mut config = test_config(&db);
    config.database.url = format!("sqlite://{}/sub/x.db", file.display());
    let err = hazard_ledger::app::start(config, StartOptions::default())
        .await
        .err()
        .expect("start fails");
    let msg = format!("{err:#}");
    assert!(msg.contains("database.url"), "{msg}");
    assert!(!file.join("sub").exists());
}
