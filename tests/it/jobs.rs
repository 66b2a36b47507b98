//! Scheduled reminders and escalation, the outbox and real SMTP on loopback.

use std::collections::{BTreeMap, BTreeSet};

use diesel::RunQueryDsl;
use hazard_ledger::app::StartOptions;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::smtp::{Received, SmtpServer};
use crate::common::{Backend, TestApp, binary, expect_problem};
use crate::db_test;
use crate::hazards::{
    Cast, call, cast, general_report, hazard_view, ledger_entries, ledger_entry, major_report,
    newest_record_id, offers, submitted_major, upload,
};

const SECRET: &str = "a-test-secret-shared-by-both-instances-0123456789";

/// The app sending mail to `smtp`, with a leader for 区应急局.
async fn app_with_smtp(backend: &Backend, smtp: &SmtpServer) -> TestApp {
    let port = smtp.port;
    TestApp::start_with(
        backend,
        move |c| {
            c.smtp.port = port;
            c.auth.jwt_secret = Some(SECRET.into());
            c.escalation
                .department_leaders
                .insert("YJJ".into(), vec!["leader@example.org".into()]);
        },
        StartOptions::default(),
    )
    .await
}

fn h(id: &str, action: &str) -> String {
    format!("/api/v1/hazards/{id}/{action}")
}

/// A 一般 hazard of the cast's enterprise, posted by the street with `deadline`.
async fn posted_general(app: &TestApp, c: &Cast, title: &str, deadline: &str) -> String {
    let mut report = general_report();
    report["title"] = json!(title);
    let id = crate::hazards::submitted(app, c, report).await;
    call(
        app,
        Method::POST,
        &h(&id, "post"),
        &c.street,
        json!({"deadline": deadline}),
        200,
    )
    .await;
    id
}

/// The app configured by `tweak`, with a 一般 hazard just posted (its emails to the
/// enterprise's three users queued): (app, an admin's token).
async fn posted_with_mail(
    backend: &Backend,
    tweak: impl FnOnce(&mut hazard_ledger::config::Config),
) -> (TestApp, String) {
    let app = TestApp::start_with(backend, tweak, StartOptions::default()).await;
    let c = cast(&app).await;
    let id = crate::hazards::submitted(&app, &c, general_report()).await;
    let posting = json!({"deadline": "2026-03-20"});
    call(&app, Method::POST, &h(&id, "post"), &c.street, posting, 200).await;
    let (_, admin) = app.user_token("ops", "admin", "AJW").await;
    (app, admin)
}

/// Runs job `name` through the admin API as if today were `date`.
async fn run_job(app: &TestApp, admin: &str, name: &str, date: &str) -> Value {
    call(
        app,
        Method::POST,
        &format!("/api/v1/admin/jobs/{name}/run"),
        admin,
        json!({"date": date}),
        200,
    )
    .await
}

/// Digest emails (subject carries the day) as (day, recipient) → number of hazards listed.
fn digests(msgs: &[Received]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for m in msgs {
        let subject = m.subject();
        let Some(rest) = subject.strip_prefix("【隐患台账】") else {
            continue;
        };
        if !rest.starts_with("20") {
            continue;
        }
        let day = rest[..10].to_string();
        let listed = m.text().matches("   企业：").count();
        for to in &m.to {
            let prev = out.insert((day.clone(), to.clone()), listed);
            assert!(prev.is_none(), "two digests for {to} on {day}");
        }
    }
    out
}

fn days(from: &str, to: &str) -> Vec<String> {
    let mut d: chrono::NaiveDate = from.parse().unwrap();
    let end: chrono::NaiveDate = to.parse().unwrap();
    let mut out = Vec::new();
    while d <= end {
        out.push(d.to_string());
        d = d.succ_opt().unwrap();
    }
    out
}

db_test!(
    a_month_of_days_shows_the_ladder_in_digests,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let g1 = posted_general(&app, &c, "配电箱未上锁", "2026-03-20").await;
        let g2 = posted_general(&app, &c, "消防通道堆放货物", "2026-03-20").await;

        let mut last = Value::Null;
        for day in days("2026-03-10", "2026-04-20") {
            if day == "2026-03-22" {
                // G2 is fixed and accepted: its clocks stop.
                call(
                    &app,
                    Method::POST,
                    &h(&g2, "start"),
                    &c.principal,
                    json!({}),
                    200,
                )
                .await;
                assert_eq!(upload(&app, &c.reporter, &g2, "after").await.status(), 201);
                call(
                    &app,
                    Method::POST,
                    &h(&g2, "completion"),
                    &c.principal,
                    json!({"completed_on": "2026-03-02", "summary": "已清理", "actual_funds": "0.1",
                            "self_assessment": "合格"}),
                    200,
                )
                .await;
                call(
                    &app,
                    Method::POST,
                    &h(&g2, "acceptance"),
                    &c.street,
                    json!({"result": "pass", "opinion": "通道畅通", "accepted_on": "2026-03-02"}),
                    200,
                )
                .await;
            }
            last = run_job(&app, &admin, "all", &day).await;
            assert_eq!(last["outcome"], "ok", "{day}: {last}");
            assert_eq!(last["counts"]["outbox"]["retrying"], 0, "{day}: {last}");
        }
        assert_eq!(last["as_of"], "2026-04-20");
        assert_eq!(last["trigger"], "api");

        let got = digests(&smtp.messages());
        let enterprise = [
            "boss@example.org",
            "clerk@example.org",
            "safety@example.org",
        ];
        let mut want = BTreeMap::new();
        for day in ["2026-03-13", "2026-03-17", "2026-03-19"] {
            for to in enterprise {
                want.insert((day.to_string(), to.to_string()), 2);
            }
        }
        for to in [
            "hyl-officer@example.org",
            "yjj@example.org",
            "boss@example.org",
        ] {
            want.insert(("2026-03-21".to_string(), to.to_string()), 2);
        }
        for to in ["district@example.org", "leader@example.org"] {
            want.insert(("2026-03-27".to_string(), to.to_string()), 1);
        }
        for to in ["district@example.org", "yjj@example.org"] {
            want.insert(("2026-04-19".to_string(), to.to_string()), 1);
        }
        assert_eq!(got, want);

        // A digest says what an inspector needs, in Chinese, with a link.
        let d = smtp
            .to("yjj@example.org")
            .into_iter()
            .find(|m| m.subject().contains("2026-03-21"))
            .unwrap();
        assert!(d.subject().contains("逾期 2 项"), "{}", d.subject());
        let text = d.text();
        for needle in [
            "已逾期未整改（企业须提交书面说明）",
            "上海长宁冷链物流有限公司",
            "91310105MA1FL0A19R",
            "华阳路街道",
            "逾期 1 天",
            "李四 13800000002",
            &format!("/hazards/{g1}"),
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        // The link opens the hazard's page, not its JSON.
        assert!(!text.contains("/api/v1/hazards/"), "{text}");
        assert!(d.html().contains("<table"), "HTML part");

        // The posting emails reached the enterprise once each.
        let posted: Vec<_> = smtp
            .to("clerk@example.org")
            .into_iter()
            .filter(|m| m.subject().contains("隐患已上账"))
            .collect();
        assert_eq!(posted.len(), 2);

        // The same day again: nothing new fires and nothing is sent.
        let before = smtp.messages().len();
        let again = run_job(&app, &admin, "all", "2026-03-21").await;
        assert_eq!(again["counts"]["escalation"]["fired"], json!({}));
        assert_eq!(again["counts"]["escalation"]["emails"], 0);
        assert_eq!(again["counts"]["outbox"]["sent"], 0);
        assert_eq!(smtp.messages().len(), before);

        // Every firing is in the hazard's ledger; the first overdue step owes an explanation.
        let events = ledger_entries(&app, &g1, &c.inspector).await;
        let fired: Vec<(String, String)> = events
            .iter()
            .filter(|e| e["kind"] == "hazard.escalated")
            .map(|e| {
                (
                    e["payload"]["rule"].as_str().unwrap().to_string(),
                    e["payload"]["step"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let s = |r: &str, st: &str| (r.to_string(), st.to_string());
        assert_eq!(
            fired,
            [
                s("deadline_reminder", "-7@2026-03-20"),
                s("deadline_reminder", "-3@2026-03-20"),
                s("deadline_reminder", "-1@2026-03-20"),
                s("overdue_first", "+1@2026-03-20"),
                s("overdue_second", "+7@2026-03-20"),
                s("overdue_interview", "+30@2026-03-20"),
            ]
        );
        let first = events
            .iter()
            .find(|e| e["payload"]["rule"] == "overdue_first")
            .unwrap();
        assert_eq!(first["payload"]["duty"], "written_explanation");
        assert!(
            first["payload"]["recipients"]
                .as_array()
                .unwrap()
                .contains(&json!("hyl-officer@example.org"))
        );
        // The enterprise reads the same entries without the officials' mailboxes.
        let theirs = ledger_entries(&app, &g1, &c.principal).await;
        let mailed: Vec<&Value> = theirs
            .iter()
            .filter(|e| {
                e["kind"] == "hazard.escalated" || e["kind"].as_str().unwrap().starts_with("email.")
            })
            .collect();
        assert!(!mailed.is_empty());
        for e in mailed {
            assert!(e["payload"].get("recipients").is_none(), "{e}");
            assert!(e["payload"].get("recipient").is_none(), "{e}");
        }
        assert!(
            !Value::Array(theirs.clone())
                .to_string()
                .contains("@example.org")
        );
        // Sent emails are in the ledger too, and the chain holds.
        let ledger = call(
            &app,
            Method::GET,
            "/api/v1/ledger?limit=1000",
            &c.district,
            Value::Null,
            200,
        )
        .await;
        let sent = ledger["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "email.sent")
            .count();
        assert_eq!(sent, smtp.messages().len());
        let verify = call(
            &app,
            Method::GET,
            "/api/v1/ledger/verify",
            &c.district,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(verify["ok"], true);

        // The runs are recorded for the admin, newest first; others may not look.
        let jobs = call(
            &app,
            Method::GET,
            "/api/v1/admin/jobs?limit=2",
            &admin,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(jobs["runs"][0]["as_of"], "2026-03-21");
        assert_eq!(jobs["runs"][1]["as_of"], "2026-04-20");
        assert!(jobs["next_cursor"].is_string());
        let next = call(
            &app,
            Method::GET,
            &format!(
                "/api/v1/admin/jobs?limit=2&cursor={}",
                jobs["next_cursor"].as_str().unwrap()
            ),
            &admin,
            Value::Null,
            200,
        )
        .await;
        assert_ne!(next["runs"][0]["id"], jobs["runs"][0]["id"]);
        // A cursor that is none (not the first page again): named, as on every list.
        for list in ["/api/v1/admin/jobs", "/api/v1/outbox"] {
            let body = call(
                &app,
                Method::GET,
                &format!("{list}?cursor=zzz"),
                &admin,
                Value::Null,
                422,
            )
            .await;
            assert_eq!(
                crate::common::error_fields(&body),
                ["cursor"],
                "{list}: {body}"
            );
        }
        assert!(
            jobs["jobs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|j| j["name"] == "escalation" && j["schedule"] == "0 0 8 * * *")
        );
        let res = app
            .call(Method::GET, "/api/v1/admin/jobs", Some(&c.district), None)
            .await;
        expect_problem(res, 403, "forbidden").await;
        let res = app
            .call(
                Method::POST,
                "/api/v1/admin/jobs/nope/run",
                Some(&admin),
                Some(json!({})),
            )
            .await;
        expect_problem(res, 404, "not_found").await;
        let res = app
            .call(
                Method::POST,
                "/api/v1/admin/jobs/all/run",
                Some(&admin),
                Some(json!({"date": "21/03"})),
            )
            .await;
        expect_problem(res, 422, "validation_failed").await;
        // Dates are written YYYY-MM-DD, here as on the command line.
        let res = app
            .call(
                Method::POST,
                "/api/v1/admin/jobs/all/run",
                Some(&admin),
                Some(json!({"date": "2026-4-20"})),
            )
            .await;
        expect_problem(res, 422, "validation_failed").await;
        let out = std::process::Command::new(binary())
            .args(["jobs", "run", "all", "--date", "2026-4-20"])
            .current_dir(tempfile::tempdir().unwrap().path())
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a date"));

        // The command line runs the same job against the same database: nothing new is due.
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(binary())
            .args(["jobs", "run", "all", "--date", "2026-04-20"])
            .env_remove("HAZARD_LEDGER_CONFIG")
            .env("HAZARD_LEDGER__DATABASE__URL", &app.db.url)
            .env("HAZARD_LEDGER__SMTP__PORT", smtp.port.to_string())
            .env("HAZARD_LEDGER__CLOCK__NOW", "2026-03-02T09:00:00+08:00")
            .env("HAZARD_LEDGER__LOG__LEVEL", "warn")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(printed["trigger"], "cli");
        assert_eq!(printed["counts"]["escalation"]["fired"], json!({}));
        assert_eq!(smtp.messages().len(), before);
    }
);

db_test!(
    an_extension_restarts_the_ladder_and_a_closed_hazard_stops_it,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let id = posted_general(&app, &c, "配电箱未上锁", "2026-04-30").await;
        call(
            &app,
            Method::POST,
            &h(&id, "start"),
            &c.principal,
            json!({}),
            200,
        )
        .await;
        let fired = |v: &Value| v["counts"]["escalation"]["fired"].clone();
        assert_eq!(
            fired(&run_job(&app, &admin, "escalation", "2026-04-23").await),
            json!({"deadline_reminder": 1})
        );

        // On 2026-04-20 the principal asks for a month more, and the department agrees.
        app.advance(chrono::Duration::days(49));
        let principal = app.login("boss").await;
        let inspector = app.login("yjj").await;
        let admin = app.login("ops").await;
        let asked = call(&app, Method::POST, &h(&id, "extensions"), &principal,
            json!({"reason": "设备采购周期长", "interim_measures": "停用该区域", "requested_deadline": "2026-05-31"}), 200).await;
        let eid = newest_record_id(&asked, "extension");
        call(
            &app,
            Method::POST,
            &h(&id, &format!("extensions/{eid}/decision")),
            &inspector,
            json!({"approved": true, "opinion": "同意"}),
            200,
        )
        .await;

        // The old deadline no longer counts; the new one has its own reminders and overdue steps.
        assert_eq!(
            fired(&run_job(&app, &admin, "escalation", "2026-05-01").await),
            json!({})
        );
        assert_eq!(
            fired(&run_job(&app, &admin, "escalation", "2026-05-24").await),
            json!({"deadline_reminder": 1})
        );
        assert_eq!(
            fired(&run_job(&app, &admin, "escalation", "2026-06-01").await),
            json!({"overdue_first": 1})
        );
        // The extension decision was emailed to the enterprise, with the new deadline.
        run_job(&app, &admin, "outbox", "2026-06-01").await;
        let decided: Vec<Received> = smtp
            .to("boss@example.org")
            .into_iter()
            .filter(|m| m.subject().contains("延期申请已批准"))
            .collect();
        assert_eq!(decided.len(), 1);
        assert!(
            decided[0].text().contains("新的整改期限：2026-05-31"),
            "{}",
            decided[0].text()
        );
        // The street learns of the new deadline as well.
        assert!(
            smtp.to("hyl-officer@example.org")
                .iter()
                .any(|m| m.subject().contains("延期申请已批准"))
        );
        // The request itself was emailed to the department that decides it, with its date.
        let asked: Vec<Received> = smtp
            .to("yjj@example.org")
            .into_iter()
            .filter(|m| m.subject().contains("延期申请待审批"))
            .collect();
        assert_eq!(asked.len(), 1);
        assert!(
            asked[0].text().contains("2026-05-31"),
            "{}",
            asked[0].text()
        );
        assert!(asked[0].text().contains("停用该区域"));

        // Fixed and accepted: nothing fires any more, however late.
        assert_eq!(upload(&app, &principal, &id, "after").await.status(), 201);
        call(
            &app,
            Method::POST,
            &h(&id, "completion"),
            &principal,
            json!({"completed_on": "2026-04-20", "summary": "已整改", "actual_funds": "0.2",
                    "self_assessment": "合格"}),
            200,
        )
        .await;
        let street = app.login("hyl-officer").await;
        call(
            &app,
            Method::POST,
            &h(&id, "acceptance"),
            &street,
            json!({"result": "pass", "opinion": "合格", "accepted_on": "2026-04-20"}),
            200,
        )
        .await;
        for day in ["2026-06-07", "2026-07-01"] {
            assert_eq!(
                fired(&run_job(&app, &admin, "escalation", day).await),
                json!({}),
                "{day}"
            );
        }
    }
);

db_test!(
    a_failed_acceptance_mails_what_is_still_wrong,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let id = posted_general(&app, &c, "配电箱未上锁", "2026-03-20").await;
        call(
            &app,
            Method::POST,
            &h(&id, "start"),
            &c.principal,
            json!({}),
            200,
        )
        .await;
        assert_eq!(upload(&app, &c.reporter, &id, "after").await.status(), 201);
        let done = json!({"completed_on": "2026-03-02", "summary": "已上锁", "actual_funds": "0.02",
                          "self_assessment": "合格"});
        call(
            &app,
            Method::POST,
            &h(&id, "completion"),
            &c.reporter,
            done,
            200,
        )
        .await;
        // Only an opinion: it is what is still wrong, recorded and mailed as the deficiencies.
        let fail =
            json!({"result": "fail", "opinion": "锁具损坏未更换", "accepted_on": "2026-03-02"});
        let failed = call(
            &app,
            Method::POST,
            &h(&id, "acceptance"),
            &c.street,
            fail,
            200,
        )
        .await;
        let record = failed["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "acceptance")
            .unwrap();
        assert_eq!(record["deficiencies"], "锁具损坏未更换");
        run_job(&app, &admin, "outbox", "2026-03-02").await;
        let mail = smtp
            .to("clerk@example.org")
            .into_iter()
            .find(|m| m.subject().contains("整改验收未通过"))
            .expect("the failed acceptance is mailed");
        assert!(mail.text().contains("存在问题"), "{}", mail.text());
        assert!(mail.text().contains("锁具损坏未更换"), "{}", mail.text());
        // L10: it asks for the written explanation the failure makes owed.
        assert!(
            mail.text().contains("请就验收未通过提交书面说明"),
            "{}",
            mail.text()
        );
    }
);

db_test!(
    a_quick_fix_found_unfinished_later_gets_a_new_deadline,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let quick = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            general_report(),
            201,
        )
        .await;
        let id = quick["id"].as_str().unwrap().to_string();
        upload(&app, &c.reporter, &id, "before").await;
        upload(&app, &c.reporter, &id, "after").await;
        let fixed = call(
            &app,
            Method::POST,
            &h(&id, "quick-fix"),
            &c.reporter,
            json!({"summary": "当场上锁", "actual_funds": "0"}),
            200,
        )
        .await;
        assert_eq!(
            fixed["effective_deadline"], "2026-03-02",
            "the day it was found"
        );
        // The street checks a week later and finds the lock taken off again. Without a new
        // deadline the hazard would be a week overdue, and escalated, the moment it fails.
        app.advance(chrono::Duration::days(7));
        let street = app.login("hyl-officer").await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let mut fail = json!({"result": "fail", "deficiencies": "锁具已被拆除",
                              "accepted_on": "2026-03-09"});
        let body = call(
            &app,
            Method::POST,
            &h(&id, "acceptance"),
            &street,
            fail.clone(),
            422,
        )
        .await;
        assert_eq!(crate::common::error_fields(&body), ["deadline"]);
        fail["deadline"] = json!("2026-03-31");
        let failed = call(
            &app,
            Method::POST,
            &h(&id, "acceptance"),
            &street,
            fail,
            200,
        )
        .await;
        assert_eq!(failed["status"], "in_rectification");
        assert_eq!(failed["deadline"], "2026-03-02", "kept for statistics");
        assert_eq!(failed["effective_deadline"], "2026-03-31");
        assert_eq!(failed["overdue"], false);
        let run = run_job(&app, &admin, "escalation", "2026-03-09").await;
        assert_eq!(run["counts"]["escalation"]["fired"], json!({}), "{run}");
        run_job(&app, &admin, "outbox", "2026-03-09").await;
        let mail = smtp
            .to("clerk@example.org")
            .into_iter()
            .find(|m| m.subject().contains("整改验收未通过"))
            .expect("the failed acceptance is mailed");
        assert!(mail.text().contains("新的整改期限"), "{}", mail.text());
        assert!(mail.text().contains("2026-03-31"), "{}", mail.text());
        // Overdue on the new date: the digest's last word on the work is the failed check,
        // not the completion it undid (T12).
        run_job(&app, &admin, "escalation", "2026-04-01").await;
        run_job(&app, &admin, "outbox", "2026-04-01").await;
        let digest = smtp
            .to("hyl-officer@example.org")
            .into_iter()
            .find(|m| m.subject().contains("2026-04-01"))
            .expect("the street's digest of the first overdue day");
        assert!(
            digest.text().contains("验收未通过：锁具已被拆除"),
            "{}",
            digest.text()
        );
        assert!(!digest.text().contains("当场上锁"), "{}", digest.text());
    }
);

db_test!(
    with_smtp_down_for_a_while_every_email_arrives_exactly_once,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        smtp.stop();
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        posted_general(&app, &c, "配电箱未上锁", "2026-03-20").await;
        posted_general(&app, &c, "消防通道堆放货物", "2026-03-25").await;

        let run = run_job(&app, &admin, "all", "2026-03-21").await;
        assert_eq!(run["counts"]["outbox"]["sent"], 0);
        let queued = run["counts"]["outbox"]["retrying"].as_u64().unwrap();
        assert!(queued >= 5, "{run}");
        let outbox = call(
            &app,
            Method::GET,
            "/api/v1/outbox?status=pending",
            &admin,
            Value::Null,
            200,
        )
        .await;
        let first = &outbox["items"][0];
        assert_eq!(first["attempts"], 1);
        assert!(first["last_error"].as_str().is_some_and(|e| !e.is_empty()));
        assert_eq!(outbox["counts"]["pending"], queued);

        // Still down a minute later (backoff: 60 s, then 120 s).
        app.advance(chrono::Duration::seconds(61));
        let run = run_job(&app, &admin, "outbox", "2026-03-21").await;
        assert_eq!(run["counts"]["outbox"]["retrying"], queued);
        // Not due yet: nothing is tried.
        let run = run_job(&app, &admin, "outbox", "2026-03-21").await;
        assert_eq!(
            run["counts"]["outbox"],
            json!({"sent": 0, "retrying": 0, "dead": 0})
        );

        // Up again; once the backoff has passed, everything goes out, once.
        let smtp = smtp.restart().await;
        app.advance(chrono::Duration::seconds(121));
        let admin = app.login("ops").await;
        let run = run_job(&app, &admin, "outbox", "2026-03-21").await;
        let outbox = call(
            &app,
            Method::GET,
            "/api/v1/outbox",
            &admin,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(run["counts"]["outbox"]["sent"], queued, "{run} {outbox}");
        let run = run_job(&app, &admin, "outbox", "2026-03-21").await;
        assert_eq!(run["counts"]["outbox"]["sent"], 0);
        let msgs = smtp.messages();
        assert_eq!(msgs.len() as u64, queued);
        let ids: BTreeSet<String> = msgs.iter().map(Received::message_id).collect();
        assert_eq!(ids.len(), msgs.len(), "distinct Message-IDs");
        let outbox = call(
            &app,
            Method::GET,
            "/api/v1/outbox?status=sent&limit=200",
            &admin,
            Value::Null,
            200,
        )
        .await;
        let rows = outbox["items"].as_array().unwrap();
        assert_eq!(rows.len() as u64, queued);
        for r in rows {
            assert_eq!(r["attempts"], 3);
            let mid = r["message_id"].as_str().unwrap().trim_matches(['<', '>']);
            assert!(ids.contains(mid), "{mid} delivered");
            // Dated when it was written (the service's clock), not when the relay took it.
            let written = chrono::DateTime::parse_from_rfc3339(r["created_at"].as_str().unwrap())
                .unwrap()
                .timestamp();
            let sent = msgs.iter().find(|m| m.message_id() == mid).unwrap();
            assert_eq!(sent.date(), Some(written), "{r}");
        }
        // One mailbox whatever the case of the address asked for.
        let to = rows[0]["recipient"].as_str().unwrap().to_string();
        let path = format!("/api/v1/outbox?status=sent&recipient={}", to.to_uppercase());
        let mine = call(&app, Method::GET, &path, &admin, Value::Null, 200).await;
        let items = mine["items"].as_array().unwrap();
        assert!(!items.is_empty() && items.iter().all(|r| r["recipient"] == to.as_str()));
        // The counts are that mailbox's too.
        assert_eq!(mine["counts"]["sent"], items.len(), "{mine}");
        assert!((items.len() as u64) < queued, "{mine}");
    }
);

db_test!(
    an_email_that_keeps_failing_ends_dead_and_is_recorded,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        smtp.stop();
        let port = smtp.port;
        let app = TestApp::start_with(
            &backend,
            move |c| {
                c.smtp.port = port;
                c.smtp.max_attempts = 1;
            },
            StartOptions::default(),
        )
        .await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let id = posted_general(&app, &c, "配电箱未上锁", "2026-03-20").await;
        let run = run_job(&app, &admin, "outbox", "2026-03-02").await;
        assert_eq!(
            run["counts"]["outbox"],
            json!({"sent": 0, "retrying": 0, "dead": 3})
        );
        let dead = call(
            &app,
            Method::GET,
            "/api/v1/outbox?status=dead",
            &admin,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(dead["items"].as_array().unwrap().len(), 3);
        let dead_entries = ledger_entries(&app, &id, &c.street)
            .await
            .iter()
            .filter(|e| e["kind"] == "email.dead")
            .count();
        assert_eq!(dead_entries, 3);
        let res = app
            .call(
                Method::GET,
                "/api/v1/outbox?status=lost",
                Some(&admin),
                None,
            )
            .await;
        expect_problem(res, 422, "validation_failed").await;

        // The relay is back: the admin sends a dead email again, once; a sent one is not.
        let smtp = smtp.restart().await;
        let first = dead["items"][0]["id"].as_str().unwrap().to_string();
        let retry = format!("/api/v1/outbox/{first}/retry");
        let res = app.call(Method::POST, &retry, Some(&c.street), None).await;
        expect_problem(res, 403, "forbidden").await;
        let requeued = call(&app, Method::POST, &retry, &admin, Value::Null, 200).await;
        assert_eq!(
            (&requeued["status"], &requeued["attempts"]),
            (&json!("pending"), &json!(0))
        );
        let run = run_job(&app, &admin, "outbox", "2026-03-02").await;
        assert_eq!(run["counts"]["outbox"]["sent"], 1, "{run}");
        assert_eq!(smtp.messages().len(), 1);
        let res = app.call(Method::POST, &retry, Some(&admin), None).await;
        let body = expect_problem(res, 409, "email_not_dead").await;
        assert_eq!(body["current_status"], "sent");
        let res = app
            .call(
                Method::POST,
                "/api/v1/outbox/nope/retry",
                Some(&admin),
                None,
            )
            .await;
        expect_problem(res, 404, "not_found").await;
        let kinds: Vec<String> = ledger_entries(&app, &id, &c.street)
            .await
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .filter(|k| k.starts_with("email."))
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| *k == "email.requeued").count(),
            1,
            "{kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| *k == "email.sent").count(),
            1,
            "{kinds:?}"
        );
    }
);

db_test!(
    two_instances_running_the_same_job_at_once_send_each_email_once,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let a = app_with_smtp(&backend, &smtp).await;
        let port = smtp.port;
        let b = TestApp::start_on(
            a.db.shared(),
            move |c| {
                c.smtp.port = port;
                c.auth.jwt_secret = Some(SECRET.into());
            },
            StartOptions::default(),
        )
        .await;
        let c = cast(&a).await;
        let admin = a.user_token("ops", "admin", "AJW").await.1;
        for i in 0..6 {
            posted_general(&a, &c, &format!("隐患{i}"), "2026-03-20").await;
        }
        for day in ["2026-03-13", "2026-03-21"] {
            let (ra, rb) = tokio::join!(
                run_job(&a, &admin, "all", day),
                run_job(&b, &admin, "all", day)
            );
            let fired = |r: &Value| {
                r["counts"]["escalation"]["fired"]
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|v| v.as_u64().unwrap())
                    .sum::<u64>()
            };
            assert_eq!(fired(&ra) + fired(&rb), 6, "{day}: {ra} {rb}");
        }
        // Drain from both once more, at the same moment.
        tokio::join!(
            run_job(&a, &admin, "outbox", "2026-03-21"),
            run_job(&b, &admin, "outbox", "2026-03-21")
        );
        let msgs = smtp.messages();
        let ids: BTreeSet<String> = msgs.iter().map(Received::message_id).collect();
        assert_eq!(ids.len(), msgs.len(), "no email twice");
        let got = digests(&msgs);
        assert_eq!(
            got.get(&("2026-03-21".into(), "yjj@example.org".into())),
            Some(&6)
        );
        assert_eq!(
            got.get(&("2026-03-13".into(), "clerk@example.org".into())),
            Some(&6)
        );
        let mut conn = a.db.connect();
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let unsent: N =
            diesel::sql_query("SELECT COUNT(*) AS n FROM outbox WHERE status <> 'sent'")
                .get_result(&mut conn)
                .unwrap();
        assert_eq!(unsent.n, 0);
        let total: N = diesel::sql_query("SELECT COUNT(*) AS n FROM outbox")
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(total.n as usize, msgs.len());
    }
);

db_test!(
    hazard_events_email_the_people_the_design_names,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let id = submitted_major(&app, &c, major_report()).await;
        call(
            &app,
            Method::POST,
            &h(&id, "return"),
            &c.inspector,
            json!({"reason": "判定依据条款有误"}),
            200,
        )
        .await;
        run_job(&app, &admin, "outbox", "2026-03-02").await;

        let subjects =
            |to: &str| -> Vec<String> { smtp.to(to).iter().map(Received::subject).collect() };
        for to in ["yjj@example.org", "hyl-officer@example.org"] {
            assert_eq!(
                subjects(to),
                [
                    "【隐患台账】重大事故隐患报告：上海长宁冷链物流有限公司——液氨制冷机房氨泄漏报警装置失效"
                ],
                "{to}"
            );
        }
        // Not routed to 区市场监管局 nor another street.
        assert!(subjects("scj@example.org").is_empty());
        assert!(subjects("jsl-officer@example.org").is_empty());
        let returned = smtp.to("clerk@example.org");
        assert_eq!(returned.len(), 1);
        assert!(returned[0].subject().contains("被退回"));
        assert!(returned[0].text().contains("判定依据条款有误"));
    }
);

db_test!(
    a_reminder_names_the_date_it_is_about,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        // A 重大 report whose plan is due on 03-10 (plan_due_on), posted with its deadline.
        let id = submitted_major(&app, &c, major_report()).await;
        call(
            &app,
            Method::POST,
            &h(&id, "post"),
            &c.inspector,
            json!({"deadline": "2026-05-31"}),
            200,
        )
        .await;
        // Listed with an earlier plan_file_by: one plan, reminded once, by the earlier date.
        call(&app, Method::POST, &h(&id, "listing"), &c.district,
             json!({"level": "district", "supervising_unit": "长宁区安全生产委员会办公室",
                    "supervising_department": "YJJ", "doc_no": "长安委督字〔2026〕第9号",
                    "signed_by": "王主任", "complete_by": "2026-05-31", "plan_file_by": "2026-03-09"}),
             200).await;
        let run = run_job(&app, &admin, "all", "2026-03-07").await;
        assert_eq!(
            run["counts"]["escalation"]["fired"]["plan_filing"], 1,
            "{run}"
        );
        let mail = smtp
            .to("boss@example.org")
            .into_iter()
            .find(|m| m.subject().contains("2026-03-07"))
            .expect("the enterprise's digest");
        // The plan's own due date, not only the rectification deadline.
        let about = "治理方案备案期限：2026-03-09（剩余 2 天）";
        assert!(mail.text().contains(about), "{}", mail.text());
        assert!(!mail.text().contains("2026-03-10"), "{}", mail.text());
        assert!(mail.html().contains(about), "{}", mail.html());
        assert!(mail.text().contains("整改期限：2026-05-31"));
        // Once the listing's date has passed the plan is late: no reminder names the report's
        // later plan_due_on (03-10) as if there were time left.
        let run = run_job(&app, &admin, "all", "2026-03-08").await;
        assert!(
            run["counts"]["escalation"]["fired"]
                .get("plan_filing")
                .is_none(),
            "{run}"
        );
        let run = run_job(&app, &admin, "all", "2026-03-10").await;
        assert!(
            run["counts"]["escalation"]["fired"]
                .get("plan_filing")
                .is_none(),
            "{run}"
        );
    }
);

db_test!(
    thirty_days_overdue_flags_the_hazard_for_interview,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let late = posted_general(&app, &c, "配电箱未上锁", "2026-03-20").await;
        let other = posted_general(&app, &c, "消防通道堆放货物", "2026-12-31").await;
        let run = run_job(&app, &admin, "escalation", "2026-04-19").await;
        assert_eq!(
            run["counts"]["escalation"]["fired"]["overdue_interview"], 1,
            "{run}"
        );
        let flags = |id: String| {
            let app = &app;
            let token = c.district.clone();
            async move { hazard_view(app, &id, &token).await["compliance_flags"].clone() }
        };
        assert!(
            flags(late.clone())
                .await
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "interview_flagged")
        );
        assert!(
            !flags(other)
                .await
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "interview_flagged")
        );
        // Listed and counted as such.
        let list = call(
            &app,
            Method::GET,
            "/api/v1/hazards?flag=interview_flagged",
            &c.district,
            Value::Null,
            200,
        )
        .await;
        let ids: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [late.as_str()]);
        let stats = call(
            &app,
            Method::GET,
            "/api/v1/stats/summary",
            &c.district,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(
            stats["total"]["compliance_flags"]["interview_flagged"], 1,
            "{stats}"
        );
        // A rerun changes nothing: the hazard keeps the version the flag gave it, and the flag.
        let path = format!("/api/v1/hazards/{late}");
        let before = call(&app, Method::GET, &path, &c.district, Value::Null, 200).await;
        run_job(&app, &admin, "escalation", "2026-04-19").await;
        let after = call(&app, Method::GET, &path, &c.district, Value::Null, 200).await;
        assert_eq!(after["version"], before["version"]);
        assert_eq!(after["compliance_flags"], before["compliance_flags"]);
        // Listed later, given a new deadline and overdue a second time: flagged already, it is
        // not flagged (nor mailed as flagged) again — +30 or a second overdue, once.
        {
            use diesel::prelude::*;
            diesel::sql_query(format!(
                "UPDATE hazards SET listed = true, effective_deadline = '2026-04-25' WHERE id = '{late}'"
            ))
            .execute(&mut app.db.connect())
            .unwrap();
        }
        let run = run_job(&app, &admin, "escalation", "2026-04-26").await;
        assert_eq!(
            run["counts"]["escalation"]["fired"],
            json!({"overdue_first": 1}),
            "{run}"
        );
    }
);

db_test!(
    an_overdue_enterprise_files_its_written_explanation,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let late = posted_general(&app, &c, "配电箱未上锁", "2026-03-20").await;
        let dropped = posted_general(&app, &c, "消防通道堆放货物", "2026-03-20").await;
        let unexplained = posted_general(&app, &c, "灭火器过期", "2026-03-20").await;
        let path = h(&late, "overdue-explanation");
        let full = json!({"reason": "专用锁具缺货，供应商延期到货", "measures": "配电箱加设临时围挡，每班巡查",
                          "expected_completion_on": "2026-03-25"});
        // Nothing is owed before the first overdue step.
        let res = app
            .call(Method::POST, &path, Some(&c.reporter), Some(full.clone()))
            .await;
        expect_problem(res, 409, "explanation_not_owed").await;
        let run = run_job(&app, &admin, "escalation", "2026-03-21").await;
        assert_eq!(
            run["counts"]["escalation"]["fired"]["overdue_first"], 3,
            "{run}"
        );
        // Closed without the explanation: the hazard keeps the flag (L10), and its close-out's
        // ledger entry warns of it.
        call(
            &app,
            Method::POST,
            &h(&unexplained, "start"),
            &c.principal,
            json!({}),
            200,
        )
        .await;
        assert_eq!(
            upload(&app, &c.reporter, &unexplained, "after")
                .await
                .status(),
            201
        );
        call(
            &app,
            Method::POST,
            &h(&unexplained, "completion"),
            &c.reporter,
            json!({"completed_on": "2026-03-02", "summary": "更换灭火器", "actual_funds": "0.1",
                   "self_assessment": "合格"}),
            200,
        )
        .await;
        let closed = call(
            &app,
            Method::POST,
            &h(&unexplained, "acceptance"),
            &c.street,
            json!({"result": "pass", "opinion": "已更换", "accepted_on": "2026-03-02"}),
            200,
        )
        .await;
        assert_eq!(closed["status"], "closed");
        assert!(
            closed["compliance_flags"]
                .as_array()
                .unwrap()
                .contains(&json!("overdue_explanation_missing")),
            "{closed}"
        );
        assert_eq!(closed["explanation_owed_on"], "2026-03-21", "{closed}");
        let entry = ledger_entry(&app, &unexplained, &c.district, "hazard.closed").await;
        assert!(
            entry["payload"]["warnings"]
                .as_array()
                .is_some_and(|w| w.contains(&json!("overdue_explanation_missing"))),
            "{entry}"
        );
        // A hazard voided owes nothing any more.
        let voided = call(
            &app,
            Method::POST,
            &h(&dropped, "void"),
            &c.street,
            json!({"reason": "false_report"}),
            200,
        )
        .await;
        assert!(voided["explanation_owed_on"].is_null(), "{voided}");
        assert_eq!(voided["compliance_flags"], json!([]), "{voided}");
        let view = hazard_view(&app, &late, &c.reporter).await;
        let has = |v: &Value, list: &str, code: &str| {
            v[list].as_array().unwrap().iter().any(|x| x == code)
        };
        assert!(
            has(&view, "compliance_flags", "overdue_explanation_missing"),
            "{view}"
        );
        assert!(offers(&view, "overdue_explanation"), "{view}");
        assert_eq!(view["explanation_owed_on"], "2026-03-21");
        // Listed and counted like every compliance flag.
        let list = call(
            &app,
            Method::GET,
            "/api/v1/hazards?flag=overdue_explanation_missing",
            &c.district,
            Value::Null,
            200,
        )
        .await;
        let ids: BTreeSet<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            BTreeSet::from([late.as_str(), unexplained.as_str()]),
            "{list}"
        );
        let stats = call(
            &app,
            Method::GET,
            "/api/v1/stats/summary",
            &c.district,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(
            stats["total"]["compliance_flags"]["overdue_explanation_missing"], 2,
            "{stats}"
        );
        // The enterprise files it; officers do not.
        let res = app
            .call(Method::POST, &path, Some(&c.street), Some(full.clone()))
            .await;
        expect_problem(res, 403, "role_forbidden").await;
        let (status, body) = app
            .call_json(Method::POST, &path, Some(&c.reporter), Some(json!({})))
            .await;
        assert_eq!(status, 422, "{body}");
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["reason", "measures"]);
        let filed = call(&app, Method::POST, &path, &c.reporter, full.clone(), 200).await;
        assert!(
            !has(&filed, "compliance_flags", "overdue_explanation_missing"),
            "{filed}"
        );
        assert!(!offers(&filed, "overdue_explanation"));
        assert!(filed["explanation_owed_on"].is_null());
        let record = filed["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "overdue_explanation")
            .cloned()
            .expect("the record");
        assert_eq!(record["reason"], "专用锁具缺货，供应商延期到货", "{record}");
        // In the ledger, with the day it was owed from.
        let entry = ledger_entry(&app, &late, &c.district, "hazard.overdue_explained").await;
        let owed = &entry["payload"]["changes"]["explanation_owed_on"];
        assert_eq!(
            *owed,
            json!({"before": "2026-03-21", "after": null}),
            "{entry}"
        );
        // Filed once; a rerun of the same step owes nothing new.
        let res = app
            .call(Method::POST, &path, Some(&c.reporter), Some(full))
            .await;
        expect_problem(res, 409, "explanation_not_owed").await;
        run_job(&app, &admin, "escalation", "2026-03-21").await;
        let view = hazard_view(&app, &late, &c.district).await;
        assert!(!has(
            &view,
            "compliance_flags",
            "overdue_explanation_missing"
        ));
        // Those the first step told of the lateness read the explanation.
        run_job(&app, &admin, "outbox", "2026-03-21").await;
        for officer in ["hyl-officer@example.org", "yjj@example.org"] {
            let mail = smtp
                .to(officer)
                .into_iter()
                .find(|m| m.subject().contains("逾期书面说明"))
                .unwrap_or_else(|| panic!("{officer} is told"));
            assert!(
                mail.text().contains("逾期原因：专用锁具缺货"),
                "{}",
                mail.text()
            );
            assert!(
                mail.text().contains("预计完成日期：2026-03-25"),
                "{}",
                mail.text()
            );
        }
        assert!(
            !smtp
                .to("clerk@example.org")
                .iter()
                .any(|m| m.subject().contains("逾期书面说明")),
            "the enterprise is not mailed its own explanation"
        );
    }
);

db_test!(
    an_enterprise_without_a_principal_to_email_still_hears_it_is_overdue,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        // The principal has left: the account is disabled.
        let users = call(
            &app,
            Method::GET,
            "/api/v1/users?limit=200",
            &admin,
            Value::Null,
            200,
        )
        .await;
        let boss = users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "boss")
            .unwrap_or_else(|| panic!("{users}"))["id"]
            .as_str()
            .unwrap()
            .to_string();
        call(
            &app,
            Method::PATCH,
            &format!("/api/v1/users/{boss}"),
            &admin,
            json!({"active": false}),
            200,
        )
        .await;
        posted_general(&app, &c, "配电箱未上锁", "2026-03-03").await;
        run_job(&app, &admin, "escalation", "2026-03-04").await;
        run_job(&app, &admin, "outbox", "2026-03-04").await;
        // The first overdue day's notice (and the written explanation it asks for) reaches the
        // enterprise's other users instead.
        let notice = smtp
            .to("clerk@example.org")
            .into_iter()
            .find(|m| m.subject().contains("2026-03-04"))
            .expect("the clerk hears of the overdue hazard");
        assert!(
            notice.text().contains("企业须提交书面说明"),
            "{}",
            notice.text()
        );
        assert!(smtp.to("boss@example.org").is_empty());
    }
);

db_test!(
    a_mail_server_that_stays_silent_fails_the_attempt_within_the_timeout,
    |backend: Backend| async move {
        // Accepts connections and never says a word (not even its 220 greeting).
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                open.push(socket);
            }
        });
        let (app, admin) = posted_with_mail(&backend, move |c| {
            c.smtp.port = port;
            c.smtp.timeout_secs = 1;
        })
        .await;
        let started = std::time::Instant::now();
        let run = run_job(&app, &admin, "outbox", "2026-03-02").await;
        // Each email failed after a second, to be retried (not hanging the pass for ever).
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{run}"
        );
        assert_eq!(run["counts"]["outbox"]["sent"], 0, "{run}");
        assert!(
            run["counts"]["outbox"]["retrying"].as_u64().unwrap() >= 1,
            "{run}"
        );
        let outbox = call(
            &app,
            Method::GET,
            "/api/v1/outbox",
            &admin,
            Value::Null,
            200,
        )
        .await;
        let first = &outbox["items"][0];
        assert_eq!(first["status"], "pending", "{outbox}");
        assert!(
            first["last_error"]
                .as_str()
                .unwrap()
                .contains("no answer from the mail server within 1 s"),
            "{outbox}"
        );
        held.abort();
    }
);

db_test!(
    one_pass_of_the_sender_sends_at_most_its_batch,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let port = smtp.port;
        let (app, admin) = posted_with_mail(&backend, move |c| {
            c.smtp.port = port;
            c.smtp.batch_size = 2;
        })
        .await;
        let queued = call(
            &app,
            Method::GET,
            "/api/v1/outbox?status=pending",
            &admin,
            Value::Null,
            200,
        )
        .await["items"]
            .as_array()
            .unwrap()
            .len();
        assert!(queued >= 3, "the enterprise's three users: {queued}");
        let mut sent = Vec::new();
        for _ in 0..queued {
            let run = run_job(&app, &admin, "outbox", "2026-03-02").await;
            sent.push(run["counts"]["outbox"]["sent"].as_u64().unwrap());
            if sent.iter().sum::<u64>() as usize == queued {
                break;
            }
        }
        assert!(sent.iter().all(|n| *n <= 2), "{sent:?}");
        assert_eq!(sent[0], 2, "{sent:?}");
        assert_eq!(smtp.messages().len(), queued);
    }
);

db_test!(
    a_run_cut_short_by_a_crash_is_closed_as_interrupted,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        // A run that began a day ago and never ended (its process was killed).
        let stale = hazard_ledger::db::jobs::JobRunRow {
            id: uuid::Uuid::now_v7().to_string(),
            job: "escalation".into(),
            as_of: "2026-03-01".parse().unwrap(),
            trigger: "schedule".into(),
            instance: "gone:1:deadbeef".into(),
            started_at: "2026-03-01T00:00:00".parse().unwrap(),
            finished_at: None,
            outcome: "running".into(),
            counts: "{}".into(),
            error: None,
        };
        hazard_ledger::db::jobs::insert_run(&mut app.db.connect(), &stale).unwrap();
        let (_, admin) = app.user_token("ops", "admin", "AJW").await;
        run_job(&app, &admin, "purge", "2026-03-02").await;
        let jobs = call(
            &app,
            Method::GET,
            "/api/v1/admin/jobs",
            &admin,
            Value::Null,
            200,
        )
        .await;
        let runs = jobs["runs"].as_array().unwrap();
        let closed = runs
            .iter()
            .find(|r| r["id"] == stale.id.as_str())
            .expect("the stale run");
        assert_eq!(closed["outcome"], "interrupted", "{closed}");
        assert!(closed["finished_at"].is_string(), "{closed}");
        // The run just made is not touched.
        assert_eq!(runs[0]["outcome"], "ok", "{jobs}");
    }
);

db_test!(
    a_run_for_a_day_gone_by_reminds_of_no_date_already_passed,
    |backend: Backend| async move {
        let smtp = SmtpServer::start().await;
        let app = app_with_smtp(&backend, &smtp).await;
        let c = cast(&app).await;
        app.user_token("ops", "admin", "AJW").await;
        // Nothing was run while the service was down from the 2nd until the 10th.
        let late = posted_general(&app, &c, "配电箱未上锁", "2026-03-05").await;
        posted_general(&app, &c, "灭火器过期", "2026-03-12").await;
        posted_general(&app, &c, "消防通道堆放货物", "2026-03-20").await;
        app.advance(chrono::Duration::days(8));
        let admin = app.login("ops").await;
        let fired = |run: Value| run["counts"]["escalation"]["fired"].clone();
        // Catching up the 3rd: the 5th's reminder ("2 days left") is not sent on the 10th.
        let run = run_job(&app, &admin, "all", "2026-03-03").await;
        assert_eq!(fired(run), json!({}));
        // The 5th: the 12th's −7 reminder is superseded by the −3 one due today.
        let run = run_job(&app, &admin, "deadline_reminder", "2026-03-05").await;
        assert_eq!(fired(run), json!({}));
        // The 9th: its −3 reminder is today's too, and says what is true today.
        let run = run_job(&app, &admin, "deadline_reminder", "2026-03-09").await;
        assert_eq!(fired(run), json!({"deadline_reminder": 1}));
        // The 13th, run ahead: the 20th's −7 reminder goes out, as before.
        let run = run_job(&app, &admin, "deadline_reminder", "2026-03-13").await;
        assert_eq!(fired(run), json!({"deadline_reminder": 1}));
        // Today: the missed deadline is overdue, as it is.
        let run = run_job(&app, &admin, "overdue_first", "2026-03-10").await;
        assert_eq!(fired(run), json!({"overdue_first": 1}));
        let reminded = ledger_entries(&app, &late, &admin)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "hazard.escalated")
            .map(|e| {
                e["payload"]["rule"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect::<Vec<_>>();
        assert_eq!(reminded, ["overdue_first"]);
        run_job(&app, &admin, "outbox", "2026-03-10").await;
        let caught_up = smtp
            .to("boss@example.org")
            .into_iter()
            .find(|m| m.subject().starts_with("【隐患台账】20") && m.text().contains("灭火器过期"))
            .expect("the 12th's reminder");
        assert!(
            caught_up.subject().contains("2026-03-10"),
            "{}",
            caught_up.subject()
        );
        assert!(
            caught_up.text().contains("剩余 2 天"),
            "{}",
            caught_up.text()
        );
    }
);
