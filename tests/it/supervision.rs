//! Supervision by deadline: 挂牌督办, filters and sorts, overdue boundaries, statistics.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, error_fields, expect_problem};
use crate::db_test;
use crate::hazards::{
    Cast, call, cast, hazard_view, ledger_entries, major_report, newest_record_id, outbox_text,
    plan, submitted_general, submitted_major, upload,
};

/// A 重大 hazard posted with `deadline` (the plan filed with the report).
pub async fn posted_major(app: &TestApp, c: &Cast, deadline: &str) -> String {
    let mut report = major_report();
    report["plan"] = plan();
    report.as_object_mut().unwrap().remove("plan_due_on");
    let id = submitted_major(app, c, report).await;
    call(
        app,
        Method::POST,
        &format!("/api/v1/hazards/{id}/post"),
        &c.inspector,
        json!({"deadline": deadline}),
        200,
    )
    .await;
    id
}

async fn posted_general(app: &TestApp, c: &Cast, deadline: &str) -> String {
    let id = submitted_general(app, c).await;
    call(
        app,
        Method::POST,
        &format!("/api/v1/hazards/{id}/post"),
        &c.street,
        json!({"deadline": deadline}),
        200,
    )
    .await;
    id
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

fn listing(doc_no: &str) -> Value {
    json!({"level": "district", "supervising_unit": "长宁区安全生产委员会办公室", "supervising_department": "区应急局",
           "doc_no": doc_no, "signed_by": "王主任", "complete_by": "2026-04-30", "plan_file_by": "2026-03-15"})
}

db_test!(
    listing_delivery_and_delisting,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = posted_major(&app, &c, "2026-04-30").await;
        let path = format!("/api/v1/hazards/{id}/listing");
        // The department may not list; the district office does, with a well-formed 文号.
        let res = app
            .call(
                Method::POST,
                &path,
                Some(&c.inspector),
                Some(listing("长安委督字〔2026〕第1号")),
            )
            .await;
        expect_problem(res, 403, "role_forbidden").await;
        let body = call(
            &app,
            Method::POST,
            &path,
            &c.district,
            listing("长安委督字2026第1号"),
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "doc_no");
        // The supervising department must be one the service can email (code or name).
        let mut unknown = listing("长安委督字〔2026〕第1号");
        unknown["supervising_department"] = json!("NOPE");
        let body = call(&app, Method::POST, &path, &c.district, unknown, 422).await;
        assert_eq!(body["errors"][0]["field"], "supervising_department");
        // …and one whose inspectors can open the hazard: one it is routed to (YJJ, XFZD).
        let mut elsewhere = listing("长安委督字〔2026〕第1号");
        elsewhere["supervising_department"] = json!("JGW");
        let body = call(&app, Method::POST, &path, &c.district, elsewhere, 422).await;
        assert_eq!(body["errors"][0]["field"], "supervising_department");
        // The notice may not give more time than the ledger (deadline 2026-04-30).
        let mut later = listing("长安委督字〔2026〕第1号");
        later["complete_by"] = json!("2026-05-31");
        let body = call(&app, Method::POST, &path, &c.district, later, 422).await;
        assert_eq!(error_fields(&body), ["complete_by"], "{body}");
        let unlisted = hazard_view(&app, &id, &c.district).await;
        assert_eq!(unlisted["listed"], false);
        let listed = call(
            &app,
            Method::POST,
            &path,
            &c.district,
            listing("长安委督字〔2026〕第1号"),
            200,
        )
        .await;
        assert_eq!(listed["listed"], true);
        assert_eq!(listed["listing"]["doc_no"], "长安委督字〔2026〕第1号");
        assert_eq!(
            listed["listing"]["supervising_department"], "YJJ",
            "named as 区应急局, kept as its code"
        );
        // The enterprise's email gives the notice's dates (its plan is filed already).
        let ops = app.user_token("ops-listing", "admin", "AJW").await.1;
        let text = crate::hazards::outbox_text(&app, &ops, "boss@example.org", "挂牌督办").await;
        for line in [
            "督办完成时限：2026-04-30",
            "督办单位：长宁区安全生产委员会办公室",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
        assert!(!text.contains("治理方案报备期限"), "{text}");
        // Listed once; the 文号 is unique; 一般 hazards are not listed.
        expect_problem(
            app.call(
                Method::POST,
                &path,
                Some(&c.district),
                Some(listing("长安委督字〔2026〕第2号")),
            )
            .await,
            409,
            "already_listed",
        )
        .await;
        let other = posted_major(&app, &c, "2026-05-31").await;
        let res = app
            .call(
                Method::POST,
                &format!("/api/v1/hazards/{other}/listing"),
                Some(&c.district),
                Some(listing("长安委督字〔2026〕第1号")),
            )
            .await;
        expect_problem(res, 409, "duplicate_doc_no").await;
        let general = posted_general(&app, &c, "2026-04-30").await;
        let res = app
            .call(
                Method::POST,
                &format!("/api/v1/hazards/{general}/listing"),
                Some(&c.district),
                Some(listing("长安委督字〔2026〕第3号")),
            )
            .await;
        expect_problem(res, 409, "level_not_major").await;
        // Delivery and receipt, not before the notice was issued (2026-03-02).
        let early = json!({"delivered_by": "李科员", "received_by": "张建国",
                           "received_at": "2026-03-01T23:59:00+08:00"});
        let body = call(
            &app,
            Method::POST,
            &format!("{path}/delivery"),
            &c.district,
            early,
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "received_at");
        // Out of scope, an incomplete body is still a 404, as on every hazard action.
        let res = app
            .call(
                Method::POST,
                &format!("{path}/delivery"),
                Some(&c.other_street),
                Some(json!({})),
            )
            .await;
        assert_eq!(res.status(), 404);
        let delivered = call(&app, Method::POST, &format!("{path}/delivery"), &c.district,
        json!({"delivered_by": "李科员", "received_by": "张建国", "received_at": "2026-03-02T08:30:00+08:00"}), 200).await;
        assert_eq!(delivered["listing"]["received_by"], "张建国");
        assert_eq!(
            delivered["listing"]["received_at"],
            "2026-03-02T08:30:00+08:00"
        );
        // The printable notice: HTML and PDF, scoped like the hazard.
        let res = app
            .call(
                Method::GET,
                &format!("{path}/notice"),
                Some(&c.principal),
                None,
            )
            .await;
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        // Nothing loads into it, and it is framed nowhere.
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        let html = res.text().await.unwrap();
        for text in [
            "重大事故隐患挂牌督办通知书",
            "长安委督字〔2026〕第1号",
            "上海长宁冷链物流有限公司",
            "张建国",
            "2026年3月2日 08:30",
            "SH-CN-YH-2026-000001",
        ] {
            assert!(html.contains(text), "{text} in the notice");
        }
        assert!(!html.contains("此件为存档打印"), "in force: {html}");
        let res = app
            .call(
                Method::GET,
                &format!("{path}/notice?format=pdf"),
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!(
            res.headers().get("content-type").unwrap(),
            "application/pdf"
        );
        let pdf = res.bytes().await.unwrap();
        assert!(
            pdf.starts_with(b"%PDF-") && pdf.len() > 20_000,
            "{} bytes",
            pdf.len()
        );
        assert_eq!(
            app.call(
                Method::GET,
                &format!("{path}/notice"),
                Some(&c.other_street),
                None
            )
            .await
            .status(),
            404
        );
        // Listed hazards filter.
        let (_, listed_only) = app
            .call_json(
                Method::GET,
                "/api/v1/hazards?listed=true",
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!(ids(&listed_only), vec![id.clone()]);
        // Voiding a listed hazard ends its supervision too: it leaves the listed hazards.
        // Supervised by the fire brigade, which it is copied to (not its primary department).
        app.user_token("xf-inspector", "department_inspector", "XFZD")
            .await;
        let mut by_fire = listing("长安委督字〔2026〕第4号");
        by_fire["supervising_department"] = json!("XFZD");
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{other}/listing"),
            &c.district,
            by_fire,
            200,
        )
        .await;
        let void = call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{other}/void"),
            &c.inspector,
            json!({"reason": "untrue", "note": "核查不属实"}),
            200,
        )
        .await;
        assert_eq!(void["listed"], false, "{void}");
        assert_eq!(void["listing"]["delisted_on"], "2026-03-02");
        // Its notice's receipt cannot be recorded after that: void is final.
        let res = app
            .call(
                Method::POST,
                &format!("/api/v1/hazards/{other}/listing/delivery"),
                Some(&c.district),
                Some(json!({"delivered_by": "李科员", "received_by": "王五",
                            "received_at": "2026-03-02T09:00:00+08:00"})),
            )
            .await;
        let body = expect_problem(res, 409, "hazard_frozen").await;
        assert_eq!(body["current_status"], "void");
        // Its notice, printed again, says the supervision ended and why.
        let res = app
            .call(
                Method::GET,
                &format!("/api/v1/hazards/{other}/listing/notice"),
                Some(&c.district),
                None,
            )
            .await;
        let html = res.text().await.unwrap();
        assert!(
            html.contains("本督办已于2026年3月2日结束（隐患已作废）"),
            "{html}"
        );
        // The supervising department learns that the listing ended with the void.
        let (_, ops) = app.user_token("ops-void", "admin", "AJW").await;
        let text =
            crate::hazards::outbox_text(&app, &ops, "xf-inspector@example.org", "隐患已作废").await;
        assert!(text.contains("挂牌督办：随之结束"), "{text}");
        let (_, listed_only) = app
            .call_json(
                Method::GET,
                "/api/v1/hazards?listed=true",
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!(ids(&listed_only), vec![id.clone()]);
        // Closing ends the supervision, recorded.
        let h = |a: &str| format!("/api/v1/hazards/{id}/{a}");
        call(
            &app,
            Method::POST,
            &h("plan/acknowledge"),
            &c.inspector,
            json!({}),
            200,
        )
        .await;
        call(
            &app,
            Method::POST,
            &h("start"),
            &c.principal,
            json!({}),
            200,
        )
        .await;
        upload(&app, &c.reporter, &id, "after").await;
        call(&app, Method::POST, &h("completion"), &c.principal,
        json!({"completed_on": "2026-03-02", "summary": "完成", "actual_funds": "10", "self_assessment": "合格"}), 200).await;
        for stage in ["discovery", "completion"] {
            call(&app, Method::POST, &h("congress-reports"), &c.principal,
            json!({"stage": stage, "body": "workers_congress", "meeting_on": "2026-03-02", "summary": "报告"}), 200).await;
        }
        let closed = call(
            &app,
            Method::POST,
            &h("acceptance"),
            &c.inspector,
            json!({"result": "pass", "opinion": "属实", "accepted_on": "2026-03-02"}),
            200,
        )
        .await;
        assert_eq!(closed["listed"], false);
        assert_eq!(closed["listing"]["delisted_on"], "2026-03-02");
        // The department was asked to accept it; the district office, which listed it, learns
        // that its close-out ended the listing (销号), the listing named as ended.
        let (_, admin) = app.user_token("ops", "admin", "AJW").await;
        let text =
            crate::hazards::outbox_text(&app, &admin, "yjj@example.org", "整改完成，申请验收")
                .await;
        for needle in [
            "完成日期：2026-03-02",
            "整改情况：完成",
            "验收期限：2026-03-12",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        let text =
            crate::hazards::outbox_text(&app, &admin, "district@example.org", "已销账").await;
        for needle in [
            "挂牌督办：随之结束（销号）",
            "长安委督字〔2026〕第1号），已结束",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        let last = ledger_entries(&app, &id, &c.district)
            .await
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            last["payload"]["changes"]["listed"],
            json!({"before": true, "after": false})
        );
        // The export still shows that it was listed, and when the listing ended.
        let csv = app
            .client
            .get(app.url("/api/v1/hazards/export?format=csv&status=closed"))
            .bearer_auth(&c.district)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(csv.contains(",已摘牌（2026-03-02）,"), "{csv}");
    }
);

db_test!(
    the_first_overdue_day_of_a_listed_hazard_reaches_its_supervising_unit,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let listed = posted_major(&app, &c, "2026-03-10").await;
        let path = format!("/api/v1/hazards/{listed}/listing");
        let mut notice = listing("长安委督字〔2026〕第7号");
        notice["complete_by"] = json!("2026-03-10");
        notice["plan_file_by"] = json!("2026-03-05");
        call(&app, Method::POST, &path, &c.district, notice, 200).await;
        let unlisted = posted_major(&app, &c, "2026-03-10").await;

        // DESIGN ladder: "+1 day overdue: … and (if listed) the supervising unit" — the 区安委办.
        let run = json!({"date": "2026-03-11"});
        call(
            &app,
            Method::POST,
            "/api/v1/admin/jobs/escalation/run",
            &admin,
            run,
            200,
        )
        .await;
        let first_overdue = |events: &Value| -> Vec<String> {
            let e = events["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["payload"]["rule"] == "overdue_first")
                .unwrap_or_else(|| panic!("no +1 step in {events}"));
            let to = e["payload"]["recipients"].as_array().unwrap();
            to.iter().map(|r| r.as_str().unwrap().to_string()).collect()
        };
        let events_of = |id: &str| format!("/api/v1/hazards/{id}/events");
        let events = call(
            &app,
            Method::GET,
            &events_of(&listed),
            &c.district,
            Value::Null,
            200,
        )
        .await;
        let to = first_overdue(&events);
        assert!(to.contains(&"district@example.org".to_string()), "{to:?}");
        assert!(to.contains(&"yjj@example.org".to_string()), "{to:?}");
        let events = call(
            &app,
            Method::GET,
            &events_of(&unlisted),
            &c.district,
            Value::Null,
            200,
        )
        .await;
        let to = first_overdue(&events);
        assert!(
            !to.contains(&"district@example.org".to_string()),
            "not listed: {to:?}"
        );

        // A listed hazard's extension is decided by the district office, not the department,
        // which is told so, and then learns of the new deadline by email.
        let asked = call(&app, Method::POST, &format!("/api/v1/hazards/{listed}/extensions"), &c.principal,
            json!({"reason": "设备采购周期长", "interim_measures": "停用该区域", "requested_deadline": "2026-04-10"}), 200).await;
        let eid = newest_record_id(&asked, "extension");
        let decision = format!("/api/v1/hazards/{listed}/extensions/{eid}/decision");
        let yes = json!({"approved": true, "opinion": "同意"});
        let body = call(
            &app,
            Method::POST,
            &decision,
            &c.inspector,
            yes.clone(),
            403,
        )
        .await;
        assert_eq!(body["code"], "role_forbidden");
        assert!(
            body["detail"].as_str().unwrap().contains("district office"),
            "{body}"
        );
        let before = decided_listing(&app, &listed, &c.district).await;
        let decided = call(&app, Method::POST, &decision, &c.district, yes, 200).await;
        assert_eq!(decided["effective_deadline"], "2026-04-10");
        // The notice's 督办完成时限 moves with the time granted (it may not order the work done
        // before the deadline in force), recorded with the decision.
        assert!(before.as_str().unwrap() < "2026-04-10", "{before}");
        assert_eq!(decided["listing"]["complete_by"], "2026-04-10", "{decided}");
        let entry =
            crate::hazards::ledger_entry(&app, &listed, &c.district, "hazard.extension_decided")
                .await;
        assert_eq!(
            entry["payload"]["record"]["listing_complete_by"],
            json!({"before": before, "after": "2026-04-10"}),
            "{entry}"
        );
        let outbox = call(
            &app,
            Method::GET,
            "/api/v1/outbox?recipient=yjj@example.org",
            &admin,
            Value::Null,
            200,
        )
        .await;
        let subjects: Vec<&str> = outbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["subject"].as_str().unwrap())
            .collect();
        assert!(
            subjects.iter().any(|s| s.contains("延期申请已批准")),
            "{subjects:?}"
        );
        // The department reads both as copies: the district office decides a listed hazard's
        // extension, and the decision names the enterprise instead of addressing it.
        let asked = outbox_text(&app, &admin, "yjj@example.org", "延期申请待审批").await;
        assert!(asked.contains("由督办单位区安委办"), "{asked}");
        let decided = outbox_text(&app, &admin, "yjj@example.org", "延期申请已批准").await;
        assert!(!decided.contains("您单位"), "{decided}");
        assert!(decided.contains("的延期申请已批准"), "{decided}");
        assert!(decided.contains("督办完成时限：2026-04-10"), "{decided}");
    }
);

/// The listing's 督办完成时限 of a hazard, as `token` reads it.
async fn decided_listing(app: &TestApp, id: &str, token: &str) -> Value {
    hazard_view(app, id, token).await["listing"]["complete_by"].clone()
}

db_test!(
    overdue_boundaries_filters_and_sorts,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        // Today is 2026-03-02. Deadlines: the 3rd, the 10th, the 20th; one major due on the 3rd too.
        let d3 = posted_general(&app, &c, "2026-03-03").await;
        let d10 = posted_general(&app, &c, "2026-03-10").await;
        let d20 = posted_general(&app, &c, "2026-03-20").await;
        let m3 = posted_major(&app, &c, "2026-03-03").await;
        let submitted = submitted_general(&app, &c).await;
        // Each day the district office logs in afresh (access tokens last 15 minutes).
        let list = |query: &str| {
            let q = format!("/api/v1/hazards?{query}");
            let app = &app;
            async move {
                let token = app.login("district").await;
                let (s, b) = app.call_json(Method::GET, &q, Some(&token), None).await;
                assert_eq!(s, 200, "{q}: {b}");
                b
            }
        };
        assert!(ids(&list("overdue=true").await).is_empty());
        assert_eq!(ids(&list("due_within_days=1").await).len(), 2);
        // On the deadline day nothing is overdue yet ...
        app.advance(chrono::Duration::days(1));
        assert!(
            ids(&list("overdue=true").await).is_empty(),
            "the deadline day is not overdue"
        );
        // ... from 00:00 of the next day it is, by one day.
        app.advance(chrono::Duration::days(1));
        let overdue = list("overdue=true&sort=days_overdue").await;
        let mut got = ids(&overdue);
        got.sort();
        let mut want = vec![d3.clone(), m3.clone()];
        want.sort();
        assert_eq!(got, want);
        assert_eq!(overdue["items"][0]["days_overdue"], 1);
        // The question of the issue: overdue 重大 hazards of a department, longest first.
        let q = list("level=major&department=YJJ&overdue=true&sort=days_overdue").await;
        assert_eq!(ids(&q), vec![m3.clone()]);
        // The department by its name too, as the posting form names it.
        let named =
            list("level=major&department=%E5%8C%BA%E5%BA%94%E6%80%A5%E5%B1%80&overdue=true").await;
        assert_eq!(ids(&named), vec![m3.clone()], "区应急局");
        // q finds a hazard by its ledger number, and an enterprise's hazards by its USCC.
        let no = q["items"][0]["ledger_no"].as_str().unwrap().to_lowercase();
        assert_eq!(
            ids(&list(&format!("q={no}")).await),
            vec![m3.clone()],
            "{no}"
        );
        let by_uscc = ids(&list(&format!("q={}&limit=200", crate::hazards::HYL_USCC)).await);
        assert!(
            by_uscc.contains(&m3) && by_uscc.contains(&d3),
            "{by_uscc:?}"
        );
        let not_overdue = ids(&list("overdue=false").await);
        assert!(
            not_overdue.contains(&d10)
                && not_overdue.contains(&submitted)
                && !not_overdue.contains(&d3)
        );
        // Sorts and filters.
        let by_deadline = ids(&list("sort=deadline&level=general").await);
        assert_eq!(by_deadline, vec![d3.clone(), d10.clone(), d20.clone()]);
        assert_eq!(
            ids(&list("deadline_from=2026-03-05&deadline_to=2026-03-15").await),
            vec![d10.clone()]
        );
        assert_eq!(
            ids(&list("status=submitted").await),
            vec![submitted.clone()]
        );
        assert_eq!(ids(&list("street=HYL&level=major").await), vec![m3.clone()]);
        assert_eq!(
            ids(&list("sector=fire&level=major").await),
            vec![m3.clone()]
        );
        assert_eq!(ids(&list("enterprise=nope").await), Vec::<String>::new());
        assert_eq!(
            list("posted_from=2026-03-02&posted_to=2026-03-02").await["items"]
                .as_array()
                .unwrap()
                .len(),
            4
        );
        // Full text, Chinese included: two characters and more.
        assert_eq!(
            ids(&list("q=%E6%B6%B2%E6%B0%A8").await),
            vec![m3.clone()],
            "液氨"
        );
        assert_eq!(
            ids(&list("q=%E6%8A%A5%E8%AD%A6%E8%A3%85%E7%BD%AE").await),
            vec![m3.clone()],
            "报警装置"
        );
        assert_eq!(
            list("q=%E5%86%B7%E9%93%BE").await["items"]
                .as_array()
                .unwrap()
                .len(),
            5,
            "冷链: the enterprise's name"
        );
        // Bad parameters, all named.
        let district = app.login("district").await;
        let (status, body) = app
            .call_json(
                Method::GET,
                "/api/v1/hazards?overdue=maybe&sort=random&posted_from=March&status=open&limit=abc",
                Some(&district),
                None,
            )
            .await;
        assert_eq!(status, 422);
        assert_eq!(
            error_fields(&body),
            ["limit", "status", "overdue", "posted_from", "sort"],
            "{body}"
        );
        let (status, body) = app
            .call_json(
                Method::GET,
                "/api/v1/ledger?after=x&limit=0",
                Some(&district),
                None,
            )
            .await;
        assert_eq!(
            (status, error_fields(&body)),
            (422, vec!["after".to_string(), "limit".to_string()])
        );
        let (status, body) = app
            .call_json(
                Method::GET,
                "/api/v1/ledger?after=-1",
                Some(&district),
                None,
            )
            .await;
        assert_eq!(
            (status, error_fields(&body)),
            (422, vec!["after".to_string()])
        );
        // Scope: another street's officer sees none of it.
        let (_, theirs) = app
            .call_json(
                Method::GET,
                "/api/v1/hazards?overdue=true",
                Some(&app.login("jsl-officer").await),
                None,
            )
            .await;
        assert!(ids(&theirs).is_empty());
    }
);

db_test!(
    pagination_is_stable_under_concurrent_inserts,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let mut all = Vec::new();
        for day in 10..16 {
            all.push(posted_general(&app, &c, &format!("2026-03-{day}")).await);
        }
        let first = call(
            &app,
            Method::GET,
            "/api/v1/hazards?sort=deadline&limit=4",
            &c.district,
            Value::Null,
            200,
        )
        .await;
        let cursor = first["next_cursor"]
            .as_str()
            .expect("more follow")
            .to_string();
        // New hazards arrive between the two pages, with deadlines before and after the cursor.
        posted_general(&app, &c, "2026-03-11").await;
        posted_general(&app, &c, "2026-03-31").await;
        let second = call(
            &app,
            Method::GET,
            &format!("/api/v1/hazards?sort=deadline&limit=4&cursor={cursor}"),
            &c.district,
            Value::Null,
            200,
        )
        .await;
        let mut seen = ids(&first);
        seen.extend(ids(&second).into_iter().take(2));
        assert_eq!(seen, all, "no row skipped or repeated");
        // The cursor belongs to that order: under another it is refused, not restarted.
        let res = app
            .call(
                Method::GET,
                &format!("/api/v1/hazards?sort=posted&limit=4&cursor={cursor}"),
                Some(&c.district),
                None,
            )
            .await;
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), vec!["cursor"]);
        let res = app
            .call(
                Method::GET,
                "/api/v1/hazards?cursor=garbage",
                Some(&c.district),
                None,
            )
            .await;
        expect_problem(res, 422, "validation_failed").await;
    }
);

db_test!(
    work_reported_complete_stops_the_overdue_clock,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        // Today is 2026-03-02; both are due on the 3rd.
        let in_time = posted_general(&app, &c, "2026-03-03").await;
        let late = posted_general(&app, &c, "2026-03-03").await;
        for id in [&in_time, &late] {
            call(
                &app,
                Method::POST,
                &format!("/api/v1/hazards/{id}/start"),
                &c.principal,
                json!({}),
                200,
            )
            .await;
            upload(&app, &c.reporter, id, "after").await;
        }
        // Days pass: each call logs in afresh (access tokens last 15 minutes).
        let complete = |id: &str, on: &str| {
            let (app, path) = (&app, format!("/api/v1/hazards/{id}/completion"));
            let body = json!({"completed_on": on, "summary": "已整改", "actual_funds": "0.1", "self_assessment": "合格"});
            async move {
                let clerk = app.login("clerk").await;
                call(app, Method::POST, &path, &clerk, body, 200).await
            }
        };
        app.advance(chrono::Duration::days(1));
        complete(&in_time, "2026-03-03").await;
        // The other is finished a day late, on the 4th, reported on the 5th.
        app.advance(chrono::Duration::days(2));
        complete(&late, "2026-03-04").await;
        // A week on, neither has been accepted yet.
        app.advance(chrono::Duration::days(5));
        let district = app.login("district").await;
        let view = hazard_view(&app, &in_time, &district).await;
        assert_eq!(view["status"], "pending_acceptance");
        assert_eq!(view["overdue"], false, "done by the deadline: {view}");
        assert_eq!(view["days_overdue"], 0);
        assert!(
            view["days_left"].is_null(),
            "the clock stopped at the completion: {view}"
        );
        let view = hazard_view(&app, &late, &district).await;
        assert_eq!(view["overdue"], true);
        assert_eq!(
            view["days_overdue"], 1,
            "as late as it was done, not growing"
        );
        assert!(
            view["days_left"].is_null(),
            "not 0 (the deadline day): {view}"
        );
        let list = |q: &str| {
            let (app, district, q) = (&app, &district, format!("/api/v1/hazards?{q}"));
            async move {
                let (s, b) = app.call_json(Method::GET, &q, Some(district), None).await;
                assert_eq!(s, 200, "{b}");
                b
            }
        };
        let overdue = list("overdue=true").await;
        assert_eq!(ids(&overdue), vec![late.clone()]);
        assert_eq!(overdue["items"][0]["days_overdue"], 1);
        assert!(overdue["items"][0]["days_left"].is_null());
        assert!(ids(&list("overdue=false").await).contains(&in_time));
        let listed = list("status=pending_acceptance").await;
        let row = |id: &str| {
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h["id"] == id)
                .cloned()
                .unwrap()
        };
        assert_eq!(row(&in_time)["overdue"], false);
        assert_eq!(row(&late)["days_overdue"], 1);
        let (_, s) = app
            .call_json(Method::GET, "/api/v1/stats/summary", Some(&district), None)
            .await;
        assert_eq!(s["total"]["overdue_now"], 1, "{s}");
        // 超期整改 still follows the accepted completion date (DESIGN), open ones count today.
        assert_eq!(s["total"]["late_rectification"], 2, "{s}");
        let check = |result: Value| {
            let (app, path) = (&app, format!("/api/v1/hazards/{late}/acceptance"));
            async move {
                let officer = app.login("hyl-officer").await;
                call(app, Method::POST, &path, &officer, result, 200).await
            }
        };
        // A failed check puts the clock back to today: the completion no longer counts (T12).
        check(json!({"result": "fail", "deficiencies": "未复查", "accepted_on": "2026-03-10"}))
            .await;
        assert_eq!(hazard_view(&app, &late, &district).await["days_overdue"], 7);
        // Done again that day and accepted: closed, not overdue any more, yet the export keeps
        // the days it came late (超期天数), as the other, done on time, shows none.
        complete(&late, "2026-03-10").await;
        check(json!({"result": "pass", "opinion": "属实", "accepted_on": "2026-03-10"})).await;
        let district = app.login("district").await;
        assert_eq!(hazard_view(&app, &late, &district).await["days_overdue"], 0);
        let rows = export_rows(&app, &district).await;
        let days: std::collections::HashMap<&str, &str> = rows
            .iter()
            .map(|r| (r["状态"].as_str(), r["超期天数"].as_str()))
            .collect();
        assert_eq!(days.get("已销账"), Some(&"7"), "{rows:?}");
        assert_eq!(days.get("待验收"), Some(&"0"), "{rows:?}");
    }
);

/// The district's CSV export, each row by its Chinese column headers.
async fn export_rows(app: &TestApp, token: &str) -> Vec<std::collections::HashMap<String, String>> {
    let csv = app
        .client
        .get(app.url("/api/v1/hazards/export?format=csv"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader =
        csv::ReaderBuilder::new().from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

db_test!(
    officers_find_what_awaits_their_decision,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        // A 重大 report with its plan: the plan awaits 备案 by 区应急局 (the primary department).
        let mut report = major_report();
        report["plan"] = plan();
        report.as_object_mut().unwrap().remove("plan_due_on");
        let major = submitted_major(&app, &c, report).await;
        // A 一般 hazard due on the 10th: inside the window, the principal asks for more time.
        let general = posted_general(&app, &c, "2026-03-10").await;
        let ask = json!({"reason": "备件到货延迟", "interim_measures": "临时围挡", "requested_deadline": "2026-03-31"});
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{general}/extensions"),
            &c.principal,
            ask,
            200,
        )
        .await;
        let list = |q: &str, token: &str| {
            let (app, q, token) = (&app, format!("/api/v1/hazards?{q}"), token.to_string());
            async move { call(app, Method::GET, &q, &token, Value::Null, 200).await }
        };
        assert_eq!(
            ids(&list("awaiting=plan_acknowledgement", &c.inspector).await),
            vec![major.clone()]
        );
        assert_eq!(
            ids(&list("awaiting=extension_decision", &c.inspector).await),
            vec![general.clone()]
        );
        // Within scope only.
        assert!(ids(&list("awaiting=extension_decision", &c.other_street).await).is_empty());
        let (status, body) = app
            .call_json(
                Method::GET,
                "/api/v1/hazards?awaiting=everything",
                Some(&c.inspector),
                None,
            )
            .await;
        assert_eq!(status, 422);
        assert_eq!(error_fields(&body), ["awaiting"]);
        // Decided, they leave the lists.
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{major}/plan/acknowledge"),
            &c.inspector,
            json!({}),
            200,
        )
        .await;
        let view = hazard_view(&app, &general, &c.inspector).await;
        let eid = newest_record_id(&view, "extension");
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{general}/extensions/{eid}/decision"),
            &c.inspector,
            json!({"approved": false, "opinion": "请按期完成"}),
            200,
        )
        .await;
        assert!(ids(&list("awaiting=plan_acknowledgement", &c.inspector).await).is_empty());
        assert!(ids(&list("awaiting=extension_decision", &c.inspector).await).is_empty());
    }
);

db_test!(
    posting_names_the_responsible_department_by_name,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = submitted_general(&app, &c).await;
        let path = format!("/api/v1/hazards/{id}/post");
        let (status, body) = app
            .call_json(
                Method::POST,
                &path,
                Some(&c.street),
                Some(json!({"deadline": "2026-03-31", "responsible_department": "区不存在局"})),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error_fields(&body), ["responsible_department"]);
        // Named with the domain's own errors, in one answer.
        let (status, body) = app
            .call_json(
                Method::POST,
                &path,
                Some(&c.street),
                Some(json!({"deadline": "2026-03-01", "responsible_department": "区消防"})),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error_fields(&body), ["deadline", "responsible_department"]);
        let posted = call(
            &app,
            Method::POST,
            &path,
            &c.street,
            json!({"deadline": "2026-03-31", "responsible_department": "区市场监管局"}),
            200,
        )
        .await;
        assert_eq!(posted["departments"]["primary"], "SCJGJ", "{posted}");
        let posting = posted["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "posting")
            .cloned()
            .unwrap();
        assert_eq!(
            posting["responsible_department"], "SCJGJ",
            "stored as the code: {posting}"
        );
        // The department now responsible is told (it was not: only the enterprise was).
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let outbox = call(
            &app,
            Method::GET,
            "/api/v1/outbox?recipient=scj@example.org",
            &admin,
            Value::Null,
            200,
        )
        .await;
        assert!(
            outbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["subject"].as_str().unwrap().contains("隐患已上账")),
            "{outbox}"
        );
        // Naming the department it already has moves nothing, and mails no department.
        let other = submitted_general(&app, &c).await;
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{other}/post"),
            &c.street,
            json!({"deadline": "2026-03-31", "responsible_department": "区应急局"}),
            200,
        )
        .await;
        let outbox = call(
            &app,
            Method::GET,
            "/api/v1/outbox?recipient=yjj@example.org",
            &admin,
            Value::Null,
            200,
        )
        .await;
        assert!(
            !outbox["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["subject"].as_str().unwrap().contains("隐患已上账")),
            "{outbox}"
        );
    }
);

db_test!(
    statistics_reconcile_and_stay_in_scope,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let open = posted_general(&app, &c, "2026-03-10").await;
        let late = posted_general(&app, &c, "2026-03-03").await;
        // Started in time (a completion cannot be dated before a start made after the deadline).
        let boss = app.login("boss").await;
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{late}/start"),
            &boss,
            json!({}),
            200,
        )
        .await;
        let voided = posted_general(&app, &c, "2026-03-20").await;
        posted_major(&app, &c, "2026-04-30").await;
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{voided}/void"),
            &c.street,
            json!({"reason": "false_report"}),
            200,
        )
        .await;
        // Three days on, the one due on the 3rd is overdue.
        app.advance(chrono::Duration::days(3));
        let district = app.login("district").await;
        let street = app.login("hyl-officer").await;
        let (status, s) = app
            .call_json(
                Method::GET,
                "/api/v1/stats/summary?group_by=street&from=2026-01-01&to=2026-12-31",
                Some(&district),
                None,
            )
            .await;
        assert_eq!(status, 200, "{s}");
        let t = &s["total"];
        assert_eq!(t["posted"], 4);
        assert_eq!(t["void"], 1);
        assert_eq!(t["in_progress"], 3);
        assert_eq!(t["overdue_now"], 1);
        assert_eq!(
            t["late_rectification"], 1,
            "open after its original deadline"
        );
        assert_eq!(
            t["major_dual_report_incomplete"], 1,
            "no congress report yet"
        );
        assert_eq!(t["reconciled"], true);
        assert_eq!(s["groups"][0]["key"], "HYL");
        assert_eq!(s["groups"][0]["name"], "华阳路街道");
        // An approved extension moves the effective deadline only (set here directly): no longer
        // overdue, still 超期整改 against the original deadline.
        {
            use diesel::prelude::*;
            diesel::sql_query(format!(
                "UPDATE hazards SET effective_deadline = '2026-03-31' WHERE id = '{late}'"
            ))
            .execute(&mut app.db.connect())
            .unwrap();
        }
        let (_, s) = app
            .call_json(Method::GET, "/api/v1/stats/summary", Some(&district), None)
            .await;
        assert_eq!(s["total"]["overdue_now"], 0, "{s}");
        assert_eq!(s["total"]["late_rectification"], 1, "{s}");
        // The export names it too (超期整改), with the statistics.
        let rows = export_rows(&app, &district).await;
        let late_rows = rows.iter().filter(|r| r["超期整改"] == "是").count();
        assert_eq!(late_rows, 1, "{rows:?}");
        for group in ["department", "sector", "level"] {
            let (status, s) = app
                .call_json(
                    Method::GET,
                    &format!("/api/v1/stats/summary?group_by={group}"),
                    Some(&district),
                    None,
                )
                .await;
            assert_eq!(status, 200);
            for g in s["groups"].as_array().unwrap() {
                assert_eq!(g["reconciled"], true, "{group}: {g}");
            }
        }
        // Another street's officer counts nothing of it.
        let other = app.login("jsl-officer").await;
        let (_, s) = app
            .call_json(Method::GET, "/api/v1/stats/summary", Some(&other), None)
            .await;
        assert_eq!(s["total"]["posted"], 0);
        let (_, s) = app
            .call_json(Method::GET, "/api/v1/stats/summary", Some(&street), None)
            .await;
        assert_eq!(s["total"]["posted"], 4);
        let res = app
            .call(
                Method::GET,
                "/api/v1/stats/summary?group_by=color",
                Some(&district),
                None,
            )
            .await;
        expect_problem(res, 422, "validation_failed").await;
        // `to` alone counts from 1 January of its year (not of this one).
        let (status, s) = app
            .call_json(
                Method::GET,
                "/api/v1/stats/summary?to=2025-09-30",
                Some(&district),
                None,
            )
            .await;
        assert_eq!(status, 200, "{s}");
        assert_eq!(s["from"], "2025-01-01", "{s}");
        assert_eq!(s["total"]["posted"], 0);
        // `from` alone runs to today: one in the future is named, not `to`; dates are
        // YYYY-MM-DD only, here as in the lists.
        for (query, field) in [
            ("/api/v1/stats/summary?from=2027-01-01", "from"),
            ("/api/v1/stats/summary?from=2026-03-01&to=2026-02-01", "to"),
            ("/api/v1/stats/summary?from=2026-1-1", "from"),
            ("/api/v1/hazards?posted_from=2026-3-1", "posted_from"),
            ("/api/v1/hazards?q=ab%00", "q"),
            ("/api/v1/hazards/export?q=abc%00def", "q"),
        ] {
            let res = app.call(Method::GET, query, Some(&district), None).await;
            let problem = expect_problem(res, 422, "validation_failed").await;
            assert_eq!(error_fields(&problem), vec![field], "{query}");
        }
        // The enterprise's quarterly table (due by the 15th of the next quarter).
        let (status, q) = app
            .call_json(
                Method::GET,
                &format!(
                    "/api/v1/stats/enterprise/{}/quarterly?year=2026&quarter=1",
                    c.enterprise
                ),
                Some(&app.login("boss").await),
                None,
            )
            .await;
        assert_eq!(status, 200, "{q}");
        assert_eq!(q["report_due_on"], "2026-04-15");
        let total = q["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["level"] == "total")
            .unwrap();
        assert_eq!(total["posted"], 4);
        assert_eq!(total["open_at_end"], 3);
        // The quarter has not ended: counted as it stands today, and said to be provisional.
        assert_eq!(q["as_of"], "2026-03-05");
        assert_eq!(q["provisional"], true);
        let (_, now) = app
            .call_json(Method::GET, "/api/v1/stats/summary", Some(&district), None)
            .await;
        assert_eq!(total["overdue_at_end"], now["total"]["overdue_now"], "{q}");
        // The annual table (due by 31 January of the next year) counts the same hazards, all of
        // them this year's first quarter.
        let (status, y) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/stats/enterprise/{}/annual", c.enterprise),
                Some(&app.login("boss").await),
                None,
            )
            .await;
        assert_eq!(status, 200, "{y}");
        assert_eq!(y["year"], 2026);
        assert!(y.get("quarter").is_none(), "{y}");
        assert_eq!(
            (&y["from"], &y["to"]),
            (&json!("2026-01-01"), &json!("2026-12-31"))
        );
        assert_eq!(y["report_due_on"], "2027-01-31");
        assert_eq!(
            (&y["as_of"], &y["provisional"]),
            (&json!("2026-03-05"), &json!(true))
        );
        assert_eq!(y["rows"], q["rows"], "{y}");
        let (status, y) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/stats/enterprise/{}/annual?year=2025", c.enterprise),
                Some(&district),
                None,
            )
            .await;
        assert_eq!(status, 200, "{y}");
        assert_eq!(
            (&y["as_of"], &y["provisional"]),
            (&json!("2025-12-31"), &json!(false))
        );
        let last_year = y["rows"].as_array().unwrap();
        assert!(
            last_year
                .iter()
                .all(|r| r["posted"] == 0 && r["open_at_end"] == 0),
            "{y}"
        );
        // A period that has not begun has nothing to report yet; another street's enterprise
        // is not found.
        // A year alone names no quarter (not today's quarter of that year).
        for (not_begun, field, table) in [
            ("quarterly?year=2026&quarter=3", "quarter", "quarterly"),
            ("quarterly?year=2025", "quarter", "quarterly"),
            ("annual?year=2027", "year", "annual"),
        ] {
            let path = |q: &str| format!("/api/v1/stats/enterprise/{}/{q}", c.enterprise);
            let (status, body) = app
                .call_json(Method::GET, &path(not_begun), Some(&district), None)
                .await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(body["errors"][0]["field"], field);
            let res = app
                .call(Method::GET, &path(table), Some(&other), None)
                .await;
            assert_eq!(res.status(), 404, "{table}");
        }
        // A finished quarter's table does not change when a hazard open at its end is voided
        // later: it was open then.
        app.advance(chrono::Duration::days(40));
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{open}/void"),
            &app.login("hyl-officer").await,
            json!({"reason": "transferred", "transfer_to": "市应急局", "note": "转办"}),
            200,
        )
        .await;
        let table = |quarter: u8| {
            let app = &app;
            let path = format!(
                "/api/v1/stats/enterprise/{}/quarterly?year=2026&quarter={quarter}",
                c.enterprise
            );
            async move {
                let (status, q) = app
                    .call_json(Method::GET, &path, Some(&app.login("boss").await), None)
                    .await;
                assert_eq!(status, 200, "{q}");
                let total = q["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["level"] == "total")
                    .cloned()
                    .unwrap();
                (q["provisional"].clone(), total)
            }
        };
        let (provisional, q1) = table(1).await;
        assert_eq!(provisional, false);
        assert_eq!(
            (&q1["posted"], &q1["open_at_end"]),
            (&json!(4), &json!(3)),
            "{q1}"
        );
        let (_, q2) = table(2).await;
        assert_eq!(q2["open_at_end"], 2, "voided in the second quarter: {q2}");
        // What left the ledger's open items: voided after posting, in the quarter it was voided.
        assert_eq!((&q1["voided"], &q2["voided"]), (&json!(1), &json!(1)));
        assert_eq!(q1["closed"], 0);

        // After the first quarter's report was due (15 April), a close-out dated back into it
        // does not rewrite the signed table.
        app.advance(chrono::Duration::days(6));
        let boss = app.login("boss").await;
        let h = |action: &str| format!("/api/v1/hazards/{late}/{action}");
        assert_eq!(
            crate::hazards::upload(&app, &boss, &late, "after")
                .await
                .status(),
            201
        );
        call(
            &app,
            Method::POST,
            &h("completion"),
            &boss,
            json!({"completed_on": "2026-03-25", "summary": "已整改", "actual_funds": "0.8",
                   "self_assessment": "合格"}),
            200,
        )
        .await;
        call(
            &app,
            Method::POST,
            &h("acceptance"),
            &app.login("hyl-officer").await,
            json!({"result": "pass", "opinion": "属实", "accepted_on": "2026-03-28"}),
            200,
        )
        .await;
        let (_, again) = table(1).await;
        assert_eq!(again, q1, "the signed first quarter stays as it was");
        let (_, q2) = table(2).await;
        assert_eq!(q2["open_at_end"], 1, "{q2}");
    }
);

/// The shapes of the list queries, one per filter and sort (as `db::hazard_query` builds them).
const PLANNED: [(&str, &str); 13] = [
    (
        "overdue, longest first",
        "SELECT id FROM hazards WHERE status IN ('on_ledger','in_rectification','pending_acceptance') AND effective_deadline < '2026-03-02' ORDER BY effective_deadline, id LIMIT 51",
    ),
    (
        "street",
        "SELECT id FROM hazards WHERE street_code = 'HYL' AND status <> 'draft' ORDER BY id DESC LIMIT 51",
    ),
    (
        "street + status by deadline",
        "SELECT id FROM hazards WHERE street_code = 'HYL' AND status = 'on_ledger' ORDER BY effective_deadline, id LIMIT 51",
    ),
    (
        "department",
        "SELECT id FROM hazards WHERE id IN (SELECT hazard_id FROM hazard_departments WHERE department_code = 'YJJ') ORDER BY id DESC LIMIT 51",
    ),
    (
        "sector",
        "SELECT id FROM hazards WHERE id IN (SELECT hazard_id FROM hazard_sectors WHERE sector_code = 'fire') ORDER BY id DESC LIMIT 51",
    ),
    (
        "enterprise",
        "SELECT id FROM hazards WHERE enterprise_id = 'e1' ORDER BY id DESC LIMIT 51",
    ),
    (
        "level + status",
        "SELECT id FROM hazards WHERE level = 'major' AND status = 'in_rectification' ORDER BY id DESC LIMIT 51",
    ),
    (
        "listed",
        "SELECT id FROM hazards WHERE listed = TRUE ORDER BY effective_deadline, id LIMIT 51",
    ),
    (
        "due within days",
        "SELECT id FROM hazards WHERE status IN ('on_ledger','in_rectification','pending_acceptance') AND effective_deadline >= '2026-03-02' AND effective_deadline <= '2026-03-09' ORDER BY effective_deadline, id LIMIT 51",
    ),
    (
        "posted range, latest first",
        "SELECT id FROM hazards WHERE posted_on >= '2026-01-01' AND posted_on <= '2026-03-31' ORDER BY posted_on DESC, id DESC LIMIT 51",
    ),
    (
        "discovered range",
        "SELECT id FROM hazards WHERE discovered_on >= '2026-01-01' AND discovered_on <= '2026-03-31' ORDER BY id DESC LIMIT 51",
    ),
    (
        "closed range",
        "SELECT id FROM hazards WHERE cancel_date >= '2026-01-01' AND cancel_date <= '2026-03-31' ORDER BY id DESC LIMIT 51",
    ),
    (
        "updated, latest first",
        "SELECT id FROM hazards ORDER BY updated_at DESC, id DESC LIMIT 51",
    ),
];

db_test!(text_search_plans_agree, |backend: Backend| async move {
    use diesel::prelude::*;
    use hazard_ledger::db::hazard_query::{self, HazardFilter};
    use hazard_ledger::db::search::{self, Plan};
    use hazard_ledger::policy::HazardScope;
    let app = TestApp::start(&backend).await;
    let c = cast(&app).await;
    let titles = [
        "消防通道堵塞",
        "消防通道被货物占用",
        "液氨管道阀门泄漏",
        "防火门\"常闭\"失效",
        "排风扇 100% 停转",
        "Fire exit BLOCKED",
    ];
    let mut created = Vec::new();
    for title in titles {
        let mut report = crate::hazards::general_report();
        report["title"] = json!(title);
        // Submitted, so that the district office sees it (drafts are the enterprise's).
        let id = crate::hazards::submitted(&app, &c, report).await;
        created.push(id);
    }
    let newest_first = |picked: &[usize]| -> Vec<String> {
        let mut v: Vec<String> = picked.iter().map(|i| created[*i].clone()).collect();
        v.sort();
        v.reverse();
        v
    };
    let all: Vec<usize> = (0..titles.len()).collect();
    // (text, the titles it finds): substrings of three characters and more go through the
    // trigram index; shorter ones, quotes and LIKE's wildcards are matched literally.
    let cases: Vec<(&str, Vec<usize>)> = vec![
        ("消防通道", vec![0, 1]),
        ("通道堵", vec![0]),
        ("液氨", vec![2]),
        ("\"常闭\"", vec![3]),
        ("100%", vec![4]),
        ("%", vec![4]),
        ("fire exit", vec![5]),
        ("冷链物流", all.clone()),
        ("不存在的隐患", vec![]),
    ];
    let mut conn = app.db.connect();
    let is_pg = matches!(conn, hazard_ledger::db::DbConn::Pg(_));
    let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let district = app.login("district").await;
    for (text, expected) in cases {
        let expected = newest_first(&expected);
        let filter = HazardFilter {
            q: Some(text.to_string()),
            ..HazardFilter::default()
        };
        for plan in [Plan::Few, Plan::Many] {
            let rows: Vec<String> =
                hazard_query::filtered(&HazardScope::All, &filter, today, is_pg, plan)
                    .filter(hazard_ledger::db::schema::hazards::status.ne("draft"))
                    .order(hazard_ledger::db::schema::hazards::id.desc())
                    .select(hazard_ledger::db::schema::hazards::id)
                    .load(&mut conn)
                    .unwrap();
            assert_eq!(rows, expected, "{text:?} with {plan:?}");
        }
        // A handful of matches: the API's count picks the plan for few.
        assert_eq!(
            search::plan(&mut conn, text).unwrap(),
            Plan::Few,
            "{text:?}"
        );
        let mut url = reqwest::Url::parse("http://localhost/api/v1/hazards").unwrap();
        url.query_pairs_mut().append_pair("q", text);
        let path = format!("{}?{}", url.path(), url.query().unwrap());
        let (status, body) = app
            .call_json(Method::GET, &path, Some(&district), None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(ids(&body), expected, "API {text:?}");
    }
});

db_test!(
    every_filter_is_served_by_an_index,
    |backend: Backend| async move {
        use diesel::prelude::*;
        use diesel::sql_types::Text;
        #[derive(QueryableByName)]
        struct PgLine {
            #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
            line: String,
        }
        #[derive(QueryableByName)]
        struct SqliteLine {
            #[diesel(sql_type = Text)]
            detail: String,
        }
        let app = TestApp::start(&backend).await;
        let mut conn = app.db.connect();
        let mut report = String::new();
        // The text filter has two plans (db::search::Plan): few matches drive the query, or the
        // list's own index drives and each row is checked.
        let text_search: [(&str, &str); 2] = match backend {
            Backend::Sqlite => [
                (
                    "text search, few matches",
                    "SELECT id FROM hazards WHERE rowid IN (SELECT rowid FROM hazard_search WHERE hazard_search MATCH '\"报警装置\"') ORDER BY id DESC LIMIT 51",
                ),
                (
                    "text search, many matches",
                    "SELECT id FROM hazards WHERE +rowid IN (SELECT rowid FROM hazard_search WHERE hazard_search MATCH '\"报警装置\"') ORDER BY id DESC LIMIT 51",
                ),
            ],
            Backend::Postgres(_) => [
                (
                    "text search, few matches",
                    "SELECT id FROM hazards WHERE id IN (SELECT hazard_id FROM hazard_search WHERE body ILIKE '%报警装置%') ORDER BY id DESC LIMIT 51",
                ),
                (
                    "text search, many matches",
                    "SELECT id FROM hazards WHERE (SELECT body FROM hazard_search WHERE hazard_search.hazard_id = hazards.id) ILIKE '%报警装置%' ORDER BY id DESC LIMIT 51",
                ),
            ],
        };
        for (name, sql) in PLANNED.iter().chain(text_search.iter()) {
            let plan: Vec<String> = match &mut conn {
                hazard_ledger::db::DbConn::Sqlite(c) => {
                    diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
                        .load::<SqliteLine>(c)
                        .unwrap()
                        .into_iter()
                        .map(|l| l.detail)
                        .collect()
                }
                hazard_ledger::db::DbConn::Pg(c) => {
                    // The tables are tiny here; forbid sequential scans to see which index the planner would use.
                    diesel::sql_query("SET enable_seqscan = off")
                        .execute(c)
                        .unwrap();
                    diesel::sql_query(format!("EXPLAIN {sql}"))
                        .load::<PgLine>(c)
                        .unwrap()
                        .into_iter()
                        .map(|l| l.line)
                        .collect()
                }
            };
            let full_scan = plan.iter().any(|l| {
                (l.starts_with("SCAN hazards") && !l.contains("USING"))
                    || l.contains("Seq Scan on hazards")
            });
            report.push_str(&format!("{name}:\n  {}\n", plan.join("\n  ")));
            assert!(
                !full_scan,
                "{name} scans the whole table:\n{}",
                plan.join("\n")
            );
        }
        println!("query plans ({}):\n{report}", backend.name());
    }
);

db_test!(
    exports_follow_filters_and_scope,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let m = posted_major(&app, &c, "2026-04-30").await;
        posted_general(&app, &c, "2026-03-10").await;
        let get = |path: String, token: String| {
            let app = &app;
            async move { app.call(Method::GET, &path, Some(&token), None).await }
        };
        // CSV: a BOM for Excel, Chinese headers, the filters of the list.
        let res = get(
            "/api/v1/hazards/export?format=csv&level=major".into(),
            c.district.clone(),
        )
        .await;
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            res.headers()
                .get("content-disposition")
                .unwrap()
                .to_str()
                .unwrap()
                .contains("attachment")
        );
        let bytes = res.bytes().await.unwrap();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("台账编号,状态,等级"), "{}", lines[0]);
        assert_eq!(lines.len(), 2, "the header and the one 重大 hazard: {text}");
        assert!(
            lines[1].contains("SH-CN-YH-2026-")
                && lines[1].contains("重大")
                && lines[1].contains("2026-04-30"),
            "{}",
            lines[1]
        );
        assert!(
            lines[1].contains("12.5"),
            "money as the exact decimal: {}",
            lines[1]
        );
        // Another street sees an empty export; bad parameters are refused before streaming.
        let other = app.login("jsl-officer").await;
        let body = get("/api/v1/hazards/export?format=csv".into(), other)
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(body.lines().count(), 1);
        let res = get(
            "/api/v1/hazards/export?format=pdf".into(),
            c.district.clone(),
        )
        .await;
        expect_problem(res, 422, "validation_failed").await;
        // The export keeps creation order, yet a sort the list does not know is refused.
        let res = get(
            "/api/v1/hazards/export?format=csv&sort=newest".into(),
            c.district.clone(),
        )
        .await;
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_eq!(error_fields(&problem), vec!["sort"]);
        // XLSX: opens with Chinese headers, dates as dates.
        let res = get(
            format!(
                "/api/v1/hazards/export?format=xlsx&enterprise={}",
                c.enterprise
            ),
            c.district.clone(),
        )
        .await;
        assert_eq!(res.status(), 200);
        let bytes = res.bytes().await.unwrap().to_vec();
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        let rows: Vec<_> = sheet.rows().collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0].to_string(), "台账编号");
        let deadline_col = rows[0].iter().position(|h| *h == "整改期限").unwrap();
        assert!(
            rows[1..]
                .iter()
                .any(|r| matches!(r[deadline_col], calamine::Data::DateTime(_))),
            "dates are dates"
        );
        let _ = m;
    }
);

db_test!(
    compliance_flags_in_sql_match_the_view,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let path = |id: &str, action: &str| format!("/api/v1/hazards/{id}/{action}");
        let notice = json!({"posted_on": "2026-03-02", "channel": "信息公示栏"});
        let post = |id: String, token: String| {
            let app = &app;
            async move {
                let p = format!("/api/v1/hazards/{id}/post");
                call(
                    app,
                    Method::POST,
                    &p,
                    &token,
                    json!({"deadline": "2026-12-31"}),
                    200,
                )
                .await;
                id
            }
        };
        // Reported nine days after discovery, never heard by the congress, never made known.
        let mut late = major_report();
        late["discovered_on"] = json!("2026-02-20");
        let late = post(submitted_major(&app, &c, late).await, c.inspector.clone()).await;
        // A congress report and the notice to employees, recorded by the enterprise.
        let heard = |id: String, report: Value| {
            let (app, notice) = (&app, notice.clone());
            let (principal, reporter) = (c.principal.clone(), c.reporter.clone());
            async move {
                let (reports, notices) =
                    (path(&id, "congress-reports"), path(&id, "employee-notice"));
                call(app, Method::POST, &reports, &principal, report, 200).await;
                call(app, Method::POST, &notices, &reporter, notice, 200).await;
                id
            }
        };
        // Heard by a joint meeting only; the congress's follow-up was due on 03-20.
        let joint = submitted_major(&app, &c, major_report()).await;
        let report = json!({"stage": "discovery", "body": "joint_meeting", "meeting_on": "2026-03-02",
                            "summary": "联席会议通报", "follow_up_on": "2026-03-20"});
        let joint = post(heard(joint, report).await, c.inspector.clone()).await;
        // Heard by the congress at discovery, closed without a completion report.
        let closed = submitted_major(&app, &c, major_report()).await;
        let report = json!({"stage": "discovery", "body": "workers_congress", "meeting_on": "2026-03-02",
                            "summary": "职代会通报"});
        let closed = heard(closed, report).await;
        let closed = post(closed, c.inspector.clone()).await;
        {
            use diesel::prelude::*;
            diesel::sql_query(format!(
                "UPDATE hazards SET status = 'closed' WHERE id = '{closed}'"
            ))
            .execute(&mut app.db.connect())
            .unwrap();
        }
        // 一般: one made known, one not, one not posted.
        let known = submitted_general(&app, &c).await;
        call(
            &app,
            Method::POST,
            &path(&known, "employee-notice"),
            &c.reporter,
            notice,
            200,
        )
        .await;
        let known = post(known, c.street.clone()).await;
        let unknown = post(submitted_general(&app, &c).await, c.street.clone()).await;
        let unposted = submitted_general(&app, &c).await;

        app.advance(chrono::Duration::days(40));
        let district = app.login("district").await;
        let all = [&late, &joint, &closed, &known, &unknown, &unposted];
        let mut view_flags = Vec::new();
        for id in all {
            let (status, h) = app
                .call_json(
                    Method::GET,
                    &format!("/api/v1/hazards/{id}"),
                    Some(&district),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{h}");
            view_flags.push((id.to_string(), h["compliance_flags"].clone()));
        }
        let expected = [
            json!([
                "regulator_report_late",
                "congress_report_overdue",
                "employee_notice_missing"
            ]),
            json!(["congress_follow_up_overdue"]),
            json!(["congress_completion_missing"]),
            json!([]),
            json!(["employee_notice_missing"]),
            json!([]),
        ];
        for ((id, flags), want) in view_flags.iter().zip(&expected) {
            assert_eq!(flags, want, "{id}");
        }
        let (_, stats) = app
            .call_json(
                Method::GET,
                "/api/v1/stats/summary?group_by=level",
                Some(&district),
                None,
            )
            .await;
        for flag in hazard_ledger::domain::hazard::COMPLIANCE_FLAGS {
            let mut want: Vec<String> = view_flags
                .iter()
                .filter(|(_, f)| f.as_array().unwrap().iter().any(|x| x == flag))
                .map(|(id, _)| id.clone())
                .collect();
            want.sort();
            let (status, list) = app
                .call_json(
                    Method::GET,
                    &format!("/api/v1/hazards?flag={flag}&limit=100"),
                    Some(&district),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{list}");
            let mut got = ids(&list);
            got.sort();
            assert_eq!(got, want, "flag={flag}");
            for item in list["items"].as_array().unwrap() {
                assert!(
                    item["compliance_flags"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x == flag)
                );
            }
            // Every hazard here was posted this year but the one left unposted, which has no flag.
            assert_eq!(
                stats["total"]["compliance_flags"][flag],
                want.len(),
                "{flag}: {stats}"
            );
            let by_level: i64 = stats["groups"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["compliance_flags"][flag].as_i64().unwrap())
                .sum();
            assert_eq!(by_level, want.len() as i64, "{flag}");
        }
        // Another street's officer sees none of them, flagged or not.
        let other = app.login("jsl-officer").await;
        let (_, list) = app
            .call_json(
                Method::GET,
                "/api/v1/hazards?flag=employee_notice_missing",
                Some(&other),
                None,
            )
            .await;
        assert_eq!(ids(&list), Vec::<String>::new());
        let res = app
            .call(
                Method::GET,
                "/api/v1/hazards?flag=late",
                Some(&district),
                None,
            )
            .await;
        let problem = expect_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "flag");
        // Every bad parameter is named, a number that is not one included.
        for (query, fields) in [
            (
                "flag=late&status=bogus&level=x&limit=0",
                vec!["limit", "status", "level", "flag"],
            ),
            ("limit=abc&overdue=perhaps", vec!["limit", "overdue"]),
            (
                "street=NOPE&department=XX&sector=mining&status=closed",
                vec!["street", "department", "sector"],
            ),
        ] {
            let res = app
                .call(
                    Method::GET,
                    &format!("/api/v1/hazards?{query}"),
                    Some(&district),
                    None,
                )
                .await;
            let problem = expect_problem(res, 422, "validation_failed").await;
            assert_eq!(crate::common::error_fields(&problem), fields, "{query}");
        }
    }
);

db_test!(
    voiding_a_posted_hazard_tells_those_who_followed_it,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let listed = posted_major(&app, &c, "2026-06-30").await;
        let path = format!("/api/v1/hazards/{listed}/listing");
        call(
            &app,
            Method::POST,
            &path,
            &c.district,
            listing("长安委督字〔2026〕第8号"),
            200,
        )
        .await;
        let mailed_to = |recipient: &'static str| {
            let (app, admin) = (&app, &admin);
            async move {
                let outbox = call(
                    app,
                    Method::GET,
                    &format!("/api/v1/outbox?recipient={recipient}"),
                    admin,
                    Value::Null,
                    200,
                )
                .await;
                outbox["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|m| m["subject"].as_str().unwrap().contains("隐患已作废"))
                    .count()
            }
        };
        assert_eq!(mailed_to("district@example.org").await, 0);
        // The department voids the listed hazard (转出): the district office, whose 挂牌督办
        // ends with it, learns of it, as do the enterprise and the street.
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{listed}/void"),
            &c.inspector,
            json!({"reason": "transferred", "transfer_to": "市应急局", "note": "转市级督办"}),
            200,
        )
        .await;
        for to in [
            "district@example.org",
            "hyl-officer@example.org",
            "boss@example.org",
        ] {
            assert_eq!(mailed_to(to).await, 1, "{to}");
        }
        // A report voided before posting emails nobody.
        let submitted = submitted_general(&app, &c).await;
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{submitted}/void"),
            &c.street,
            json!({"reason": "false_report"}),
            200,
        )
        .await;
        assert_eq!(mailed_to("boss@example.org").await, 1);
    }
);
