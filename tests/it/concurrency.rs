//! Safe under concurrency and retries: optimistic locking, idempotency keys, attachments.

use diesel::prelude::*;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, expect_problem};
use crate::db_test;
use crate::hazards::{
    Cast, HYL_USCC, JSL_USCC, call, cast, general_report, submitted_general, upload,
};
use hazard_ledger::db::idempotency;
use hazard_ledger::http::idempotency::fingerprint;

fn h(id: &str, action: &str) -> String {
    format!("/api/v1/hazards/{id}/{action}")
}

/// A 一般 hazard waiting for the street's acceptance.
async fn pending_acceptance(app: &TestApp, c: &Cast) -> String {
    let id = submitted_general(app, c).await;
    call(
        app,
        Method::POST,
        &h(&id, "post"),
        &c.street,
        json!({"deadline": "2026-03-20"}),
        200,
    )
    .await;
    call(
        app,
        Method::POST,
        &h(&id, "start"),
        &c.principal,
        json!({}),
        200,
    )
    .await;
    assert_eq!(upload(app, &c.reporter, &id, "after").await.status(), 201);
    let done = call(app, Method::POST, &h(&id, "completion"), &c.reporter, json!({
        "completed_on": "2026-03-02", "summary": "已上锁", "actual_funds": "0.02", "self_assessment": "合格"}), 200).await;
    assert_eq!(done["status"], "pending_acceptance");
    id
}

/// Ledger entries of `kind`.
fn ledger_count(app: &TestApp, kind: &str) -> i64 {
    use hazard_ledger::db::schema::ledger_entries as l;
    let mut conn = app.db.connect();
    l::table
        .filter(l::kind.eq(kind))
        .count()
        .get_result(&mut conn)
        .unwrap()
}

/// POST `path` with a JSON body and an Idempotency-Key.
async fn post_keyed(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

db_test!(
    fifty_parallel_acceptances_exactly_one_wins,
    |backend: Backend| async move {
        let app =
            TestApp::start_with(&backend, |c| c.database.pool_size = 8, Default::default()).await;
        let c = cast(&app).await;
        let id = pending_acceptance(&app, &c).await;
        let tries = (0..50).map(|_| {
            let (client, url, token) = (
                app.client.clone(),
                app.url(&h(&id, "acceptance")),
                c.street.clone(),
            );
            async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(
                        &json!({"result": "pass", "opinion": "属实", "accepted_on": "2026-03-02"}),
                    )
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        });
        let statuses = futures_util::future::join_all(tries).await;
        let ok = statuses.iter().filter(|s| **s == 200).count();
        let conflicts = statuses.iter().filter(|s| **s == 409).count();
        assert_eq!((ok, conflicts), (1, 49), "{statuses:?}");
        assert_eq!(ledger_count(&app, "hazard.closed"), 1);
        let (_, hazard) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/hazards/{id}"),
                Some(&c.street),
                None,
            )
            .await;
        assert_eq!(hazard["status"], "closed");
        let verify = call(
            &app,
            Method::GET,
            "/api/v1/ledger/verify",
            &c.district,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(verify["ok"], true, "{verify}");
    }
);

db_test!(
    if_match_and_if_none_match_follow_the_version,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = submitted_general(&app, &c).await;
        let res = app
            .call(
                Method::GET,
                &format!("/api/v1/hazards/{id}"),
                Some(&c.street),
                None,
            )
            .await;
        let etag = header(&res, "etag").expect("etag");
        let version = res.json::<Value>().await.unwrap()["version"]
            .as_i64()
            .unwrap();
        assert_eq!(etag, format!("\"{version}\""));

        let stale = format!("\"{}\"", version - 1);
        let res = app
            .client
            .post(app.url(&h(&id, "post")))
            .bearer_auth(&c.street)
            .header("If-Match", &stale)
            .json(&json!({"deadline": "2026-03-20"}))
            .send()
            .await
            .unwrap();
        let body = expect_problem(res, 412, "version_mismatch").await;
        assert_eq!(body["current_version"], version);

        let res = app
            .client
            .post(app.url(&h(&id, "post")))
            .bearer_auth(&c.street)
            .header("If-Match", &etag)
            .json(&json!({"deadline": "2026-03-20"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let new_etag = header(&res, "etag").expect("etag after the transition");
        assert_ne!(new_etag, etag);

        let res = app
            .client
            .get(app.url(&format!("/api/v1/hazards/{id}")))
            .bearer_auth(&c.street)
            .header("If-None-Match", &new_etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        let res = app
            .client
            .get(app.url(&format!("/api/v1/hazards/{id}")))
            .bearer_auth(&c.street)
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "an old ETag gets the new body");
        // `If-Match: *` asks for any current version (RFC 9110): no version is checked.
        let res = app
            .client
            .post(app.url(&h(&id, "void")))
            .bearer_auth(&c.street)
            .header("If-Match", "*")
            .json(&json!({"reason": "untrue", "note": "核查不属实"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
);

db_test!(
    idempotent_create_replays_and_refuses_another_body,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let report = general_report();
        let first = post_keyed(&app, "/api/v1/hazards", &c.reporter, "create-1", &report).await;
        assert_eq!(first.status(), 201);
        assert_eq!(header(&first, "idempotent-replayed"), None);
        let location = header(&first, "location");
        let first: Value = first.json().await.unwrap();

        let again = post_keyed(&app, "/api/v1/hazards", &c.reporter, "create-1", &report).await;
        assert_eq!(again.status(), 201);
        assert_eq!(
            header(&again, "idempotent-replayed").as_deref(),
            Some("true")
        );
        assert_eq!(header(&again, "location"), location);
        assert!(header(&again, "content-type").is_some_and(|t| t.starts_with("application/json")));
        let again: Value = again.json().await.unwrap();
        assert_eq!(again, first, "the same answer, not new work");

        let (_, list) = app
            .call_json(Method::GET, "/api/v1/hazards", Some(&c.reporter), None)
            .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        assert_eq!(ledger_count(&app, "hazard.created"), 1);

        // The same key with another body.
        let mut other = report.clone();
        other["title"] = json!("另一个隐患");
        let res = post_keyed(&app, "/api/v1/hazards", &c.reporter, "create-1", &other).await;
        expect_problem(res, 422, "idempotency_key_reused").await;
        // The same key on another path.
        let res = post_keyed(
            &app,
            &h(first["id"].as_str().unwrap(), "submit"),
            &c.reporter,
            "create-1",
            &report,
        )
        .await;
        expect_problem(res, 422, "idempotency_key_reused").await;

        // Keys belong to their caller: another user with the same key does its own work.
        let other_reporter = app
            .user_token("clerk-2", "enterprise_reporter", HYL_USCC)
            .await
            .1;
        let res = post_keyed(
            &app,
            "/api/v1/hazards",
            &other_reporter,
            "create-1",
            &report,
        )
        .await;
        assert_eq!(res.status(), 201);
        assert_eq!(header(&res, "idempotent-replayed"), None);
        let theirs: Value = res.json().await.unwrap();
        assert_ne!(theirs["id"], first["id"]);
        assert_eq!(ledger_count(&app, "hazard.created"), 2);

        // Keys are at most 255 characters; without a key nothing changes.
        let res = post_keyed(
            &app,
            "/api/v1/hazards",
            &c.reporter,
            &"k".repeat(256),
            &report,
        )
        .await;
        expect_problem(res, 422, "idempotency_key_invalid").await;
        call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            report.clone(),
            201,
        )
        .await;
        assert_eq!(ledger_count(&app, "hazard.created"), 3);
    }
);

db_test!(
    a_retry_while_the_first_runs_answers_409,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let _cast = cast(&app).await;
        let (user_id, token) = app
            .user_token("clerk-3", "enterprise_reporter", HYL_USCC)
            .await;
        let report = general_report();
        // The first attempt is "running": its in-flight row is there, its answer not yet.
        let print = fingerprint(
            "POST",
            "/api/v1/hazards",
            Some("application/json"),
            &serde_json::to_vec(&report).unwrap(),
        );
        let now = app.state.clock.now().naive_utc();
        let mut conn = app.db.connect();
        let claim = idempotency::claim(
            &mut conn,
            &user_id,
            "slow",
            &print,
            now,
            now + chrono::Duration::hours(24),
        )
        .unwrap();
        assert_eq!(claim, idempotency::Claim::Acquired);

        let res = post_keyed(&app, "/api/v1/hazards", &token, "slow", &report).await;
        let body = expect_problem(res, 409, "idempotency_in_flight").await;
        assert!(body["detail"].as_str().is_some());
        let mut other = report.clone();
        other["title"] = json!("x");
        let res = post_keyed(&app, "/api/v1/hazards", &token, "slow", &other).await;
        expect_problem(res, 422, "idempotency_key_reused").await;
        assert_eq!(ledger_count(&app, "hazard.created"), 0, "no work was done");

        // The first attempt never finished (the process died): the outcome is unknown.
        app.advance(chrono::Duration::minutes(6));
        let res = post_keyed(&app, "/api/v1/hazards", &token, "slow", &report).await;
        expect_problem(res, 409, "idempotency_outcome_unknown").await;
        assert_eq!(ledger_count(&app, "hazard.created"), 0);

        // Past the TTL the key is purged and may be used again.
        app.advance(chrono::Duration::hours(25));
        let now = app.state.clock.now().naive_utc();
        assert_eq!(idempotency::purge_expired(&mut conn, now).unwrap(), 1);
        assert_eq!(idempotency::count(&mut conn).unwrap(), 0);
        let token = app.login("clerk-3").await;
        let res = post_keyed(&app, "/api/v1/hazards", &token, "slow", &report).await;
        assert_eq!(res.status(), 201);
        assert_eq!(ledger_count(&app, "hazard.created"), 1);
    }
);

db_test!(
    transitions_and_uploads_replay_too,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let draft = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            general_report(),
            201,
        )
        .await;
        let id = draft["id"].as_str().unwrap().to_string();
        let first = post_keyed(&app, &h(&id, "submit"), &c.reporter, "submit-1", &json!({})).await;
        assert_eq!(first.status(), 200);
        let etag = header(&first, "etag");
        let first: Value = first.json().await.unwrap();
        let again = post_keyed(&app, &h(&id, "submit"), &c.reporter, "submit-1", &json!({})).await;
        assert_eq!(
            again.status(),
            200,
            "not 409 invalid_state: the first answer is replayed"
        );
        assert_eq!(
            header(&again, "idempotent-replayed").as_deref(),
            Some("true")
        );
        assert_eq!(header(&again, "etag"), etag);
        assert_eq!(again.json::<Value>().await.unwrap(), first);
        assert_eq!(ledger_count(&app, "hazard.submitted"), 1);

        // A 4xx answer is kept and replayed as well (the request was wrong, not the server).
        let res = post_keyed(
            &app,
            &h(&id, "post"),
            &c.reporter,
            "post-1",
            &json!({"deadline": "2026-03-20"}),
        )
        .await;
        assert_eq!(res.status(), 403);
        let res = post_keyed(
            &app,
            &h(&id, "post"),
            &c.reporter,
            "post-1",
            &json!({"deadline": "2026-03-20"}),
        )
        .await;
        assert_eq!(res.status(), 403);
        assert_eq!(header(&res, "idempotent-replayed").as_deref(), Some("true"));

        // An upload retried with the same key (reqwest picks a new multipart boundary each time).
        let send = || {
            let part = reqwest::multipart::Part::bytes(crate::hazards::jpeg())
                .file_name("现场.jpg")
                .mime_str("image/jpeg")
                .unwrap();
            let form = reqwest::multipart::Form::new()
                .part("file", part)
                .text("kind", "before");
            app.client
                .post(app.url(&format!("/api/v1/hazards/{id}/attachments")))
                .bearer_auth(&c.reporter)
                .header("Idempotency-Key", "upload-1")
                .multipart(form)
                .send()
        };
        let first = send().await.unwrap();
        assert_eq!(first.status(), 201);
        let first: Value = first.json().await.unwrap();
        let again = send().await.unwrap();
        assert_eq!(again.status(), 201);
        assert_eq!(
            header(&again, "idempotent-replayed").as_deref(),
            Some("true")
        );
        assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
        let (_, hazard) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/hazards/{id}"),
                Some(&c.reporter),
                None,
            )
            .await;
        assert_eq!(
            hazard["attachments"].as_array().map(Vec::len),
            Some(1),
            "{hazard}"
        );
        assert_eq!(ledger_count(&app, "hazard.attachment_added"), 1);
    }
);

/// A JPEG whose EXIF says it was taken at 2026:03:01 10:30:00 (built by hand: SOI, APP1 with a
/// little-endian TIFF header, IFD0 → Exif IFD → DateTimeOriginal, EOI).
fn jpeg_with_exif() -> Vec<u8> {
    let mut tiff: Vec<u8> = vec![b'I', b'I', 0x2A, 0x00, 8, 0, 0, 0];
    // IFD0 at 8: one entry, the Exif IFD pointer (tag 0x8769, LONG) → 26.
    tiff.extend_from_slice(&[1, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0]);
    // Exif IFD at 26: DateTimeOriginal (0x9003, ASCII, 20 bytes) at 44.
    tiff.extend_from_slice(&[1, 0, 0x03, 0x90, 2, 0, 20, 0, 0, 0, 44, 0, 0, 0, 0, 0, 0, 0]);
    tiff.extend_from_slice(b"2026:03:01 10:30:00\0");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let len = u16::try_from(app1.len() + 2).unwrap();
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE1];
    b.extend_from_slice(&len.to_be_bytes());
    b.extend_from_slice(&app1);
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

#[test]
fn the_hand_made_exif_reads_back() {
    let exif = exif::Reader::new()
        .read_from_container(&mut std::io::Cursor::new(jpeg_with_exif()))
        .expect("exif");
    let field = exif
        .get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)
        .expect("DateTimeOriginal");
    assert_eq!(field.display_value().to_string(), "2026-03-01 10:30:00");
}

async fn upload_bytes(
    app: &TestApp,
    token: &str,
    hazard: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(bytes).file_name("photo.jpg");
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("kind", "before");
    app.client
        .post(app.url(&format!("/api/v1/hazards/{hazard}/attachments")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

db_test!(
    uploads_limit_size_keep_exif_and_download_by_scope,
    |backend: Backend| async move {
        let app = TestApp::start_with(
            &backend,
            |c| c.attachments.max_bytes = 4096,
            Default::default(),
        )
        .await;
        let c = cast(&app).await;
        let id = submitted_general(&app, &c).await;

        let mut big = crate::hazards::jpeg();
        big.resize(8192, 0);
        let res = upload_bytes(&app, &c.reporter, &id, big).await;
        expect_problem(res, 413, "payload_too_large").await;

        let res = upload_bytes(&app, &c.reporter, &id, jpeg_with_exif()).await;
        assert_eq!(res.status(), 201);
        let att: Value = res.json().await.unwrap();
        assert_eq!(att["content_type"], "image/jpeg");
        let taken = att["taken_at"].as_str().expect("taken_at set");
        assert!(taken.starts_with("2026-03-01"), "{taken}");
        let plain = upload_bytes(&app, &c.reporter, &id, crate::hazards::jpeg()).await;
        let plain: Value = plain.json().await.unwrap();
        assert!(plain["taken_at"].is_null());

        let url = format!("/api/v1/attachments/{}", att["id"].as_str().unwrap());
        let stranger = app
            .user_token("jsl-boss", "enterprise_principal", JSL_USCC)
            .await
            .1;
        // Another enterprise's user, a department the hazard is not routed to: missing.
        for token in [&stranger, &c.other_inspector, &c.other_street] {
            let res = app.call(Method::GET, &url, Some(token), None).await;
            expect_problem(res, 404, "not_found").await;
        }
        // Its own enterprise, the routed department and the street: the bytes.
        for token in [&c.principal, &c.inspector, &c.street] {
            let res = app.call(Method::GET, &url, Some(token), None).await;
            assert_eq!(res.status(), 200);
            assert_eq!(res.bytes().await.unwrap().to_vec(), jpeg_with_exif());
        }
    }
);
