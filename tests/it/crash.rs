//! SIGKILL while four clients create hazards: nothing answered 201 is lost, and the ledger
//! verifies after a restart. Runs the real binary.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};

use crate::common::{Backend, PASSWORD, TestDb, binary};
use crate::db_test;
use crate::hazards::{HYL_USCC, general_report};

/// Requests each client sends at most.
const PER_CLIENT: usize = 40;
/// The server is killed once this many hazards were answered 201.
const KILL_AFTER: usize = 30;

fn command(db: &TestDb, args: &[&str]) -> Command {
    let mut cmd = Command::new(binary());
    cmd.args(args)
        .env_remove("HAZARD_LEDGER_CONFIG")
        .env("HAZARD_LEDGER__DATABASE__URL", &db.url)
        .env("HAZARD_LEDGER__DATA_DIR", db.dir.path().join("data"))
        .env("HAZARD_LEDGER__LOG__LEVEL", "warn")
        .env("HAZARD_LEDGER__AUTH__ARGON2_MEMORY_KIB", "1024")
        .env("HAZARD_LEDGER__AUTH__ARGON2_ITERATIONS", "1")
        .current_dir(db.dir.path());
    cmd
}

fn run_ok(db: &TestDb, args: &[&str]) {
    let out = command(db, args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn serve(db: &TestDb) -> (Child, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("127.0.0.1:{port}");
    let child = command(db, &["serve"])
        .env("HAZARD_LEDGER__SERVER__LISTEN", &listen)
        .env("HAZARD_LEDGER__SERVER__WORKERS", "2")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(&listen).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, format!("http://{listen}"))
}

async fn login(client: &reqwest::Client, base: &str) -> String {
    let res = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"username": "crash-clerk", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn prepare(db: &TestDb) {
    run_ok(db, &["migrate"]);
    run_ok(db, &["seed"]);
    let mut conn = db.connect();
    let now = chrono::Utc::now().naive_utc();
    let row = hazard_ledger::db::enterprises::EnterpriseRow {
        id: uuid::Uuid::now_v7().to_string(),
        uscc: HYL_USCC.into(),
        name: "上海长宁冷链物流有限公司".into(),
        address: "长宁区测试路1号".into(),
        street_code: "HYL".into(),
        headcount: 180,
        principal_name: "张三".into(),
        principal_mobile: "13800000000".into(),
        safety_officer_name: None,
        safety_officer_mobile: None,
        notify_emails: "[]".into(),
        created_at: now,
        updated_at: now,
    };
    hazard_ledger::db::enterprises::insert(&mut conn, &row, &["fire".to_string()]).unwrap();
    let mut create = command(
        db,
        &[
            "user",
            "create",
            "--username",
            "crash-clerk",
            "--role",
            "enterprise_reporter",
            "--org",
            HYL_USCC,
            "--password-stdin",
        ],
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    writeln!(create.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = create.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

db_test!(
    sigkill_loses_nothing_answered_201,
    |backend: Backend| async move {
        let db = TestDb::new(&backend);
        prepare(&db);
        let (mut child, base) = serve(&db);
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let token = login(&client, &base).await;
        let answered = Arc::new(AtomicUsize::new(0));
        let pid = child.id().to_string();
        let clients = (0..4).map(|n| {
            let (client, base, token, answered, pid) = (
                client.clone(),
                base.clone(),
                token.clone(),
                answered.clone(),
                pid.clone(),
            );
            async move {
                let mut ids = Vec::new();
                for i in 0..PER_CLIENT {
                    let mut report = general_report();
                    report["title"] = json!(format!("崩溃测试 {n}-{i}"));
                    let sent = client
                        .post(format!("{base}/api/v1/hazards"))
                        .bearer_auth(&token)
                        .header("Idempotency-Key", format!("crash-{n}-{i}"))
                        .json(&report)
                        .send()
                        .await;
                    let Ok(res) = sent else { break };
                    if res.status() != 201 {
                        break;
                    }
                    let Ok(body) = res.json::<Value>().await else {
                        break;
                    };
                    ids.push(body["id"].as_str().unwrap().to_string());
                    if answered.fetch_add(1, Ordering::SeqCst) + 1 == KILL_AFTER {
                        // Mid-way, while the other clients have requests in flight.
                        let status = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
                        assert!(status.success());
                    }
                }
                ids
            }
        });
        let ids: Vec<String> = futures_util::future::join_all(clients)
            .await
            .into_iter()
            .flatten()
            .collect();
        let exit = child.wait().unwrap();
        assert!(!exit.success(), "the server was killed, not stopped");
        assert!(
            ids.len() >= KILL_AFTER && ids.len() < 4 * PER_CLIENT,
            "{}",
            ids.len()
        );

        // Restart on the same database: every hazard answered 201 is there.
        let (mut child, base) = serve(&db);
        let token = login(&client, &base).await;
        let mut found = 0;
        for id in &ids {
            let res = client
                .get(format!("{base}/api/v1/hazards/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            if res.status() == 200 {
                found += 1;
            }
        }
        let rows: i64 = {
            use hazard_ledger::db::schema::hazards;
            let mut conn = db.connect();
            hazards::table.count().get_result(&mut conn).unwrap()
        };
        println!(
            "crash test ({}): answered 201 = {}, found after restart = {found}, hazard rows = {rows}",
            backend.name(),
            ids.len()
        );
        assert_eq!(found, ids.len(), "a hazard answered 201 was lost");
        assert!(rows >= i64::try_from(ids.len()).unwrap());
        child.kill().unwrap();
        child.wait().unwrap();

        let out = command(&db, &["ledger", "verify"]).output().unwrap();
        assert!(
            out.status.success(),
            "ledger verify: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
);
