//! The hazard lifecycle and the 双报告 on the hash-chained ledger.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, error_fields, expect_problem};
use crate::db_test;

pub const HYL_USCC: &str = "91310105MA1FL0A19R";
pub const JSL_USCC: &str = "91310105MA1G2B3C1B";

/// A tiny JPEG: the magic bytes are what the type sniffing looks at.
pub fn jpeg() -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00,
    ];
    b.extend_from_slice(&[0u8; 64]);
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

/// The people around the cold-chain enterprise of 华阳路街道 (涉氨制冷 → 区应急局, 180 staff).
pub struct Cast {
    pub enterprise: String,
    pub reporter: String,
    pub principal: String,
    pub safety: String,
    pub street: String,
    pub street_id: String,
    pub inspector: String,
    pub other_street: String,
    pub other_inspector: String,
    pub district: String,
}

pub async fn cast(app: &TestApp) -> Cast {
    let enterprise = app
        .create_enterprise(
            HYL_USCC,
            "上海长宁冷链物流有限公司",
            "HYL",
            &["ammonia_refrigeration", "fire"],
            180,
        )
        .await;
    app.create_enterprise(JSL_USCC, "江苏路商厦", "JSL", &["commercial_complex"], 50)
        .await;
    let (street_id, street) = app.user_token("hyl-officer", "street_officer", "HYL").await;
    Cast {
        enterprise,
        reporter: app
            .user_token("clerk", "enterprise_reporter", HYL_USCC)
            .await
            .1,
        principal: app
            .user_token("boss", "enterprise_principal", HYL_USCC)
            .await
            .1,
        safety: app
            .user_token("safety", "enterprise_safety_officer", HYL_USCC)
            .await
            .1,
        street,
        street_id,
        inspector: app.user_token("yjj", "department_inspector", "YJJ").await.1,
        other_street: app
            .user_token("jsl-officer", "street_officer", "JSL")
            .await
            .1,
        other_inspector: app
            .user_token("scj", "department_inspector", "SCJGJ")
            .await
            .1,
        district: app.user_token("district", "district_office", "AJW").await.1,
    }
}

/// A complete 重大 report of an ammonia line.
pub fn major_report() -> Value {
    json!({
        "title": "液氨制冷机房氨泄漏报警装置失效",
        "description": "机房氨气泄漏报警器故障，未与事故通风联锁",
        "location": "一号冷库液氨制冷机房",
        "category": "B06",
        "source": 3,
        "discovered_on": "2026-03-01",
        "level": "major",
        "handling": "time_limited",
        "suspension": "none",
        "responsible_person": "张建国",
        "responsible_phone": "13800000001",
        "proposed_deadline": "2026-04-30",
        "planned_funds": "12.5",
        "status_and_cause": "报警器传感器老化失效，维护保养不到位",
        "severity_and_difficulty": "一旦泄漏无法及时发现，可能导致中毒；整改难度一般",
        "judgement_basis": {"standard": "工贸企业重大事故隐患判定标准", "clause": "第十一条第（一）项"},
        "temporary_measures": "人工每两小时巡检，配备便携式检测仪",
        "needs_government_coordination": false,
        "plan_due_on": "2026-03-10"
    })
}

pub fn general_report() -> Value {
    json!({
        "title": "配电箱未上锁",
        "description": "车间配电箱门未关闭上锁",
        "location": "二号车间",
        "category": "B04",
        "source": 1,
        "discovered_on": "2026-03-02",
        "level": "general",
        "handling": "time_limited",
        "suspension": "none",
        "responsible_person": "李四",
        "responsible_phone": "13800000002"
    })
}

pub fn plan() -> Value {
    json!({
        "goal": "恢复氨泄漏报警与事故通风联锁",
        "methods": "更换传感器并调试联锁",
        "funds_materials": "12.5万元，传感器6套",
        "org_people": "设备部负责，安全科监督",
        "timeline": "4月20日前完成",
        "safety_and_emergency": "施工期间人工巡检，应急预案演练"
    })
}

/// The hazard's ledger entries (`GET …/events`) as the holder of `token`, oldest first.
pub async fn ledger_entries(app: &TestApp, id: &str, token: &str) -> Vec<Value> {
    let path = format!("/api/v1/hazards/{id}/events");
    let events = call(app, Method::GET, &path, token, Value::Null, 200).await;
    events["items"].as_array().unwrap().clone()
}

/// The hazard's first ledger entry of `kind`; panics when there is none.
pub async fn ledger_entry(app: &TestApp, id: &str, token: &str, kind: &str) -> Value {
    ledger_entries(app, id, token)
        .await
        .into_iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} entry in the ledger of {id}"))
}

/// `GET /api/v1/hazards/{id}` as the holder of `token`; asserts a 200; answers the view.
pub async fn hazard_view(app: &TestApp, id: &str, token: &str) -> Value {
    call(
        app,
        Method::GET,
        &format!("/api/v1/hazards/{id}"),
        token,
        Value::Null,
        200,
    )
    .await
}

/// The plain text of the newest queued email to `to` whose subject contains `subject`, as the
/// admin's outbox lists it (the body is read from the outbox row).
pub async fn outbox_text(app: &TestApp, admin: &str, to: &str, subject: &str) -> String {
    let outbox = call(
        app,
        Method::GET,
        &format!("/api/v1/outbox?recipient={to}"),
        admin,
        Value::Null,
        200,
    )
    .await;
    let id = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["subject"].as_str().unwrap().contains(subject))
        .unwrap_or_else(|| panic!("{to}, {subject}: {outbox}"))["id"]
        .as_str()
        .unwrap()
        .to_string();
    use diesel::prelude::*;
    hazard_ledger::db::schema::outbox::table
        .find(id)
        .select(hazard_ledger::db::schema::outbox::body_text)
        .get_result(&mut app.db.connect())
        .unwrap()
}

/// `method path` with a token and a JSON body; asserts the status; answers the body.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Value,
    want: u16,
) -> Value {
    let (status, got) = app
        .call_json(method.clone(), path, Some(token), Some(body))
        .await;
    assert_eq!(status, want, "{method} {path}: {got}");
    got
}

/// [`jpeg`] with `mark` in its padding: another picture for each mark (a before and an after
/// photo are not the same bytes).
pub fn jpeg_marked(mark: &str) -> Vec<u8> {
    let mut b = jpeg();
    for (i, byte) in mark.bytes().take(64).enumerate() {
        b[14 + i] = byte;
    }
    b
}

/// The id of the hazard's newest record of `kind` (e.g. the extension request just filed).
pub fn newest_record_id(view: &Value, kind: &str) -> String {
    view["records"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} record in {view}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Whether a hazard's view offers `action` to the caller (`permitted_actions`).
pub fn offers(view: &Value, action: &str) -> bool {
    view["permitted_actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == action)
}

pub async fn upload(app: &TestApp, token: &str, hazard: &str, kind: &str) -> reqwest::Response {
    let part = reqwest::multipart::Part::bytes(jpeg_marked(kind))
        .file_name("现场照片.jpg")
        .mime_str("image/jpeg")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("kind", kind.to_string());
    app.client
        .post(app.url(&format!("/api/v1/hazards/{hazard}/attachments")))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

/// A submitted 一般 hazard of the cast's enterprise.
pub async fn submitted_general(app: &TestApp, c: &Cast) -> String {
    submitted(app, c, general_report()).await
}

/// `report` filed by the cast's enterprise clerk, with a photo of the scene when `photo`, and
/// submitted by `submitter`.
async fn filed_and_submitted(
    app: &TestApp,
    c: &Cast,
    report: Value,
    photo: bool,
    submitter: &str,
) -> String {
    let id = drafted(app, c, report).await;
    if photo {
        assert_eq!(upload(app, &c.reporter, &id, "before").await.status(), 201);
    }
    let path = format!("/api/v1/hazards/{id}/submit");
    call(app, Method::POST, &path, submitter, json!({}), 200).await;
    id
}

/// `report` filed as a draft by the cast's enterprise clerk; answers its id.
pub async fn drafted(app: &TestApp, c: &Cast, report: Value) -> String {
    let h = call(
        app,
        Method::POST,
        "/api/v1/hazards",
        &c.reporter,
        report,
        201,
    )
    .await;
    h["id"].as_str().unwrap().to_string()
}

/// `report` filed and submitted by the cast's enterprise clerk.
pub async fn submitted(app: &TestApp, c: &Cast, report: Value) -> String {
    filed_and_submitted(app, c, report, false, &c.reporter).await
}

/// `report`, a 重大 one, filed by the clerk with a photo of the scene and submitted by the
/// principal.
pub async fn submitted_major(app: &TestApp, c: &Cast, report: Value) -> String {
    filed_and_submitted(app, c, report, true, &c.principal).await
}

db_test!(
    major_hazard_story_draft_to_closed_with_both_halves,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let h = |id: &str, action: &str| format!("/api/v1/hazards/{id}/{action}");

        // The safety clerk of the cold-chain company finds the ammonia alarm dead and files it.
        let draft = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            major_report(),
            201,
        )
        .await;
        let id = draft["id"].as_str().unwrap().to_string();
        assert_eq!(draft["status"], "draft");
        // Neither the district office nor an admin files hazards: 403 before the (empty)
        // body is looked at.
        let (_, admin) = app.user_token("ops-create", "admin", "AJW").await;
        for who in [&c.district, &admin] {
            let res = app
                .call(Method::POST, "/api/v1/hazards", Some(who), Some(json!({})))
                .await;
            expect_problem(res, 403, "role_forbidden").await;
        }
        assert_eq!(draft["departments"]["primary"], "YJJ");
        assert_eq!(draft["departments"]["copied"], json!(["XFZD"]));
        assert_eq!(
            draft["sectors"],
            json!(["ammonia_refrigeration", "fire"]),
            "the enterprise's sectors by default"
        );
        // Nobody outside the company sees a draft.
        assert_eq!(
            app.call(
                Method::GET,
                &format!("/api/v1/hazards/{id}"),
                Some(&c.inspector),
                None
            )
            .await
            .status(),
            404
        );

        // A 重大 report needs the principal and a photo of the scene.
        let res = app
            .call(
                Method::POST,
                &h(&id, "submit"),
                Some(&c.reporter),
                Some(json!({})),
            )
            .await;
        expect_problem(res, 403, "role_forbidden").await;
        let body = call(
            &app,
            Method::POST,
            &h(&id, "submit"),
            &c.principal,
            json!({}),
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "before_photo");
        assert_eq!(upload(&app, &c.reporter, &id, "before").await.status(), 201);

        // The principal reports it: the regulator half of the 双报告 is recorded and routed.
        let submitted = call(
            &app,
            Method::POST,
            &h(&id, "submit"),
            &c.principal,
            json!({}),
            200,
        )
        .await;
        assert_eq!(submitted["status"], "submitted");
        let regulator = &submitted["dual_report"]["regulator"];
        assert_eq!(regulator["departments"]["primary"], "YJJ");
        assert_eq!(
            regulator["status_and_cause"],
            major_report()["status_and_cause"]
        );
        assert_eq!(
            submitted["dual_report"]["expected_congress_body"],
            "workers_congress"
        );
        assert_eq!(submitted["dual_report"]["complete"], false);

        // The workers' congress hears of it (180 staff: 职工代表大会).
        let wrong_body = json!({"stage": "discovery", "body": "all_staff_meeting", "meeting_on": "2026-03-02", "summary": "通报"});
        let body = call(
            &app,
            Method::POST,
            &h(&id, "congress-reports"),
            &c.principal,
            wrong_body,
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "body");
        // With its minutes: an attachment of this hazard, not any.
        let minutes: Value = upload(&app, &c.principal, &id, "report")
            .await
            .json()
            .await
            .unwrap();
        let mut congress = json!({"stage": "discovery", "body": "workers_congress", "meeting_on": "2026-03-02",
                          "summary": "向职代会报告氨泄漏报警失效及治理安排", "attachment_id": "nope"});
        let body = call(
            &app,
            Method::POST,
            &h(&id, "congress-reports"),
            &c.principal,
            congress.clone(),
            422,
        )
        .await;
        assert_eq!(error_fields(&body), ["attachment_id"], "{body}");
        congress["attachment_id"] = minutes["id"].clone();
        let reported = call(
            &app,
            Method::POST,
            &h(&id, "congress-reports"),
            &c.principal,
            congress,
            200,
        )
        .await;
        assert_eq!(
            reported["dual_report"]["congress_reports"][0]["attachment_id"], minutes["id"],
            "{reported}"
        );

        // The street may not post a 重大 hazard; the department does (上账).
        let posting = json!({"deadline": "2026-04-30", "order_no": "长应急责改〔2026〕12号"});
        let res = app
            .call(
                Method::POST,
                &h(&id, "post"),
                Some(&c.street),
                Some(posting.clone()),
            )
            .await;
        assert_eq!(res.status(), 403);
        let posted = call(
            &app,
            Method::POST,
            &h(&id, "post"),
            &c.inspector,
            posting,
            200,
        )
        .await;
        assert_eq!(posted["status"], "on_ledger");
        assert_eq!(posted["ledger_no"], "SH-CN-YH-2026-000001");
        // Before the 治理方案: people, measures and funds named, the plan's parts not yet.
        assert_eq!(
            posted["five_implementations"],
            json!({"responsibility": false, "measures": false, "funds": false,
                   "time_limit": false, "emergency_plan": false, "complete": false})
        );
        assert_eq!(posted["deadline"], "2026-04-30");
        assert_eq!(posted["effective_deadline"], "2026-04-30");
        assert_eq!(posted["overdue"], false);
        // On the ledger without a notice to employees yet: flagged in the view and the list.
        assert_eq!(
            posted["compliance_flags"],
            json!(["employee_notice_missing"])
        );
        let listed = call(
            &app,
            Method::GET,
            "/api/v1/hazards?level=major",
            &c.inspector,
            Value::Null,
            200,
        )
        .await;
        let item = &listed["items"][0];
        assert_eq!(item["id"], id.as_str());
        assert_eq!(item["compliance_flags"], posted["compliance_flags"]);

        // Rectification needs the six-part plan, filed and acknowledged.
        let res = app
            .call(
                Method::POST,
                &h(&id, "start"),
                Some(&c.principal),
                Some(json!({})),
            )
            .await;
        expect_problem(res, 409, "plan_not_acknowledged").await;
        let mut partial = plan();
        partial.as_object_mut().unwrap().remove("timeline");
        let body = call(
            &app,
            Method::PUT,
            &h(&id, "plan"),
            &c.principal,
            partial,
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "timeline");
        call(
            &app,
            Method::PUT,
            &h(&id, "plan"),
            &c.principal,
            plan(),
            200,
        )
        .await;
        call(
            &app,
            Method::POST,
            &h(&id, "plan/acknowledge"),
            &c.inspector,
            json!({"opinion": "同意备案"}),
            200,
        )
        .await;
        let started = call(
            &app,
            Method::POST,
            &h(&id, "start"),
            &c.principal,
            json!({}),
            200,
        )
        .await;
        assert_eq!(started["status"], "in_rectification");
        // 五落实 (L10): all five in place with the plan filed and the deadline set.
        assert_eq!(
            started["five_implementations"],
            json!({"responsibility": true, "measures": true, "funds": true,
                   "time_limit": true, "emergency_plan": true, "complete": true})
        );
        call(
            &app,
            Method::POST,
            &h(&id, "progress"),
            &c.reporter,
            json!({"note": "传感器已到货", "percent": 50, "spent_funds": "5"}),
            200,
        )
        .await;
        call(
            &app,
            Method::POST,
            &h(&id, "employee-notice"),
            &c.reporter,
            json!({"posted_on": "2026-03-02", "channel": "信息公示栏"}),
            200,
        )
        .await;

        // Done: the after photo, the completion report.
        assert_eq!(upload(&app, &c.reporter, &id, "after").await.status(), 201);
        let done = call(
            &app,
            Method::POST,
            &h(&id, "completion"),
            &c.principal,
            json!({
        "completed_on": "2026-03-02", "summary": "更换传感器6套，联锁调试合格",
        "actual_funds": "11.8", "self_assessment": "隐患已消除"}),
            200,
        )
        .await;
        assert_eq!(done["status"], "pending_acceptance");
        assert_eq!(done["acceptance_due_on"], "2026-03-12");
        let pass = json!({"result": "pass", "opinion": "经查该隐患已完成整改，整改情况属实", "accepted_on": "2026-03-02"});

        // The fire brigade (消防, copied) sees the hazard but does not accept it: one primary
        // department (区应急局) accepts.
        let fire = app
            .user_token("xfzd", "department_inspector", "XFZD")
            .await
            .1;
        let seen = hazard_view(&app, &id, &fire).await;
        assert!(!offers(&seen, "accept"), "{}", seen["permitted_actions"]);
        let res = app
            .call(
                Method::POST,
                &h(&id, "acceptance"),
                Some(&fire),
                Some(pass.clone()),
            )
            .await;
        expect_problem(res, 403, "not_primary_department").await;
        let seen = hazard_view(&app, &id, &c.inspector).await;
        assert!(offers(&seen, "accept"), "{}", seen["permitted_actions"]);

        // Closing a 重大 hazard needs the completion half of the congress report.
        let res = app
            .call(
                Method::POST,
                &h(&id, "acceptance"),
                Some(&c.inspector),
                Some(pass.clone()),
            )
            .await;
        let body = expect_problem(res, 409, "congress_report_missing").await;
        assert_eq!(body["current_status"], "pending_acceptance");
        // A joint meeting (联席会议) hears it first; the congress itself must still hear it
        // before the record freezes (L11).
        call(
            &app,
            Method::POST,
            &h(&id, "congress-reports"),
            &c.principal,
            json!({
        "stage": "completion", "body": "joint_meeting", "meeting_on": "2026-03-02",
        "summary": "联席会议听取整改完成情况", "follow_up_on": "2026-03-10"}),
            200,
        )
        .await;
        let res = app
            .call(
                Method::POST,
                &h(&id, "acceptance"),
                Some(&c.inspector),
                Some(pass.clone()),
            )
            .await;
        expect_problem(res, 409, "congress_follow_up_pending").await;
        call(
            &app,
            Method::POST,
            &h(&id, "congress-reports"),
            &c.principal,
            json!({
        "stage": "completion", "body": "workers_congress", "meeting_on": "2026-03-02",
        "summary": "报告整改完成情况"}),
            200,
        )
        .await;
        // A street officer co-signs (rules.require_street_cosign makes it a must): a person of
        // the hazard's street, named by username or id and recorded by id, never a free text.
        for (named, field) in [
            ("张三（街道）", "cosigned_by"),
            ("jsl-officer", "cosigned_by"),
        ] {
            let mut cosigned = pass.clone();
            cosigned["cosigned_by"] = json!(named);
            let body = call(
                &app,
                Method::POST,
                &h(&id, "acceptance"),
                &c.inspector,
                cosigned,
                422,
            )
            .await;
            assert_eq!(error_fields(&body), [field], "{named}: {body}");
        }
        let mut pass = pass;
        pass["cosigned_by"] = json!("hyl-officer");
        let closed = call(
            &app,
            Method::POST,
            &h(&id, "acceptance"),
            &c.inspector,
            pass,
            200,
        )
        .await;
        let record = ledger_entry(&app, &id, &c.inspector, "hazard.closed").await;
        assert_eq!(
            record["payload"]["record"]["cosigned_by"], c.street_id,
            "{record}"
        );
        assert_eq!(closed["status"], "closed");
        assert_eq!(closed["cancel_date"], "2026-03-02");
        assert_eq!(closed["dual_report"]["complete"], true);
        assert_eq!(closed["compliance_flags"], json!([]));
        assert_eq!(closed["ledger_no"], "SH-CN-YH-2026-000001");

        // Closed is frozen.
        let res = app
            .call(
                Method::POST,
                &h(&id, "progress"),
                Some(&c.reporter),
                Some(json!({"note": "x", "percent": 100})),
            )
            .await;
        expect_problem(res, 409, "hazard_frozen").await;
        let res = app
            .call(
                Method::PATCH,
                &format!("/api/v1/hazards/{id}"),
                Some(&c.reporter),
                Some(json!({"title": "改"})),
            )
            .await;
        expect_problem(res, 409, "hazard_frozen").await;
        expect_problem(
            upload(&app, &c.reporter, &id, "other").await,
            409,
            "hazard_frozen",
        )
        .await;

        // Its ledger tells the story, and the chain is intact.
        let events = call(
            &app,
            Method::GET,
            &h(&id, "events"),
            &c.inspector,
            Value::Null,
            200,
        )
        .await;
        let kinds: Vec<&str> = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds,
            [
                "hazard.created",
                "hazard.attachment_added",
                "hazard.submitted",
                "hazard.attachment_added",
                "hazard.congress_reported",
                "hazard.posted",
                "hazard.plan_filed",
                "hazard.plan_acknowledged",
                "hazard.rectification_started",
                "hazard.progress",
                "hazard.employee_notice",
                "hazard.attachment_added",
                "hazard.completion_reported",
                "hazard.congress_reported",
                "hazard.congress_reported",
                "hazard.closed",
            ]
        );
        let posting = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "hazard.posted")
            .unwrap();
        assert_eq!(
            posting["payload"]["changes"]["status"],
            json!({"before": "submitted", "after": "on_ledger"})
        );
        assert!(posting["at"].as_str().unwrap().ends_with("+08:00"));
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
        assert_eq!(verify["entries"], 16);
    }
);

db_test!(
    general_paths_return_void_fail_and_quick_fix,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let h = |id: &str, action: &str| format!("/api/v1/hazards/{id}/{action}");

        // Every missing field at once.
        let body = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            json!({"title": "漏电"}),
            422,
        )
        .await;
        let fields = error_fields(&body);
        assert_eq!(
            fields,
            [
                "level",
                "description",
                "location",
                "category",
                "source",
                "discovered_on"
            ],
            "{body}"
        );

        // Values that do not fit their field are named too, every one of them, not the body.
        let mut bad = general_report();
        bad["discovered_on"] = json!("2026-02-30");
        bad["level"] = json!("huge");
        let body = call(&app, Method::POST, "/api/v1/hazards", &c.reporter, bad, 422).await;
        let fields = error_fields(&body);
        assert_eq!(fields, ["discovered_on", "level"], "{body}");
        // An unknown sector or recurrence is named with the report's own problems.
        let mut bad = general_report();
        bad["sectors"] = json!(["nope"]);
        bad["category"] = json!("Z99");
        bad["recurrence_of"] = json!("no-such-hazard");
        let body = call(&app, Method::POST, "/api/v1/hazards", &c.reporter, bad, 422).await;
        assert_eq!(
            error_fields(&body),
            ["category", "recurrence_of", "sectors"],
            "{body}"
        );

        // Returned for correction, edited, resubmitted, posted by the street.
        let id = submitted_general(&app, &c).await;
        let res = app
            .call(
                Method::POST,
                &h(&id, "return"),
                Some(&c.other_street),
                Some(json!({"reason": "x"})),
            )
            .await;
        assert_eq!(
            res.status(),
            404,
            "another street's officer does not see it"
        );
        let body = call(
            &app,
            Method::POST,
            &h(&id, "return"),
            &c.street,
            json!({}),
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "reason");
        let returned = call(
            &app,
            Method::POST,
            &h(&id, "return"),
            &c.street,
            json!({"reason": "部位描述不清"}),
            200,
        )
        .await;
        assert_eq!(returned["status"], "returned");
        let edited = call(
            &app,
            Method::PATCH,
            &format!("/api/v1/hazards/{id}"),
            &c.reporter,
            json!({"location": "二号车间东侧配电箱"}),
            200,
        )
        .await;
        assert_eq!(edited["location"], "二号车间东侧配电箱");
        assert_eq!(
            edited["title"], "配电箱未上锁",
            "a PATCH keeps what it does not name"
        );
        // A PATCH that changes nothing (`{}`, or a value the report has) writes nothing: same
        // version (no spurious 412 for others), no ledger entry. Still only for those who may.
        let entries = ledger_entries(&app, &id, &c.reporter).await.len();
        for same in [json!({}), json!({"location": "二号车间东侧配电箱"})] {
            let again = call(
                &app,
                Method::PATCH,
                &format!("/api/v1/hazards/{id}"),
                &c.reporter,
                same,
                200,
            )
            .await;
            assert_eq!(again["version"], edited["version"], "{again}");
        }
        assert_eq!(ledger_entries(&app, &id, &c.reporter).await.len(), entries);
        // Read as strictly as a new report: a misspelt part of the plan is named, a date of
        // another age refused; a plan with no part at all is none.
        let body = call(
            &app,
            Method::PATCH,
            &format!("/api/v1/hazards/{id}"),
            &c.reporter,
            json!({"plan": {"goal": "x", "method": "y"}, "discovered_on": "0044-11-25"}),
            422,
        )
        .await;
        assert_eq!(
            error_fields(&body),
            ["discovered_on", "plan.method"],
            "{body}"
        );
        for empty in [json!({}), json!([])] {
            let same = call(
                &app,
                Method::PATCH,
                &format!("/api/v1/hazards/{id}"),
                &c.reporter,
                json!({"plan": empty, "judgement_basis": {}}),
                200,
            )
            .await;
            assert!(
                same["plan"].is_null() && same["judgement_basis"].is_null(),
                "{same}"
            );
            assert_eq!(
                same["version"], edited["version"],
                "nothing changed: {same}"
            );
        }
        // Even a change of nothing is refused on a stale version.
        let res = app
            .client
            .patch(app.url(&format!("/api/v1/hazards/{id}")))
            .bearer_auth(&c.reporter)
            .header("if-match", "\"1\"")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        expect_problem(res, 412, "version_mismatch").await;
        let res = app
            .call(
                Method::PATCH,
                &format!("/api/v1/hazards/{id}"),
                Some(&c.street),
                Some(json!({})),
            )
            .await;
        assert_eq!(res.status(), 403);
        call(
            &app,
            Method::POST,
            &h(&id, "submit"),
            &c.reporter,
            json!({}),
            200,
        )
        .await;
        let res = app
            .call(
                Method::PATCH,
                &format!("/api/v1/hazards/{id}"),
                Some(&c.reporter),
                Some(json!({"title": "x"})),
            )
            .await;
        let body = expect_problem(res, 409, "invalid_state").await;
        assert_eq!(body["current_status"], "submitted");
        let body = call(
            &app,
            Method::POST,
            &h(&id, "post"),
            &c.street,
            json!({"deadline": "2026-03-20", "level": "major"}),
            403,
        )
        .await;
        assert_eq!(body["code"], "level_upgrade_forbidden");
        let posted = call(
            &app,
            Method::POST,
            &h(&id, "post"),
            &c.street,
            json!({"deadline": "2026-03-20"}),
            200,
        )
        .await;
        assert_eq!(posted["ledger_no"], "SH-CN-YH-2026-000001");
        call(
            &app,
            Method::POST,
            &h(&id, "start"),
            &c.principal,
            json!({}),
            200,
        )
        .await;

        // Completion needs an after photo; then the street fails it: back to rectification.
        let body = call(&app, Method::POST, &h(&id, "completion"), &c.reporter, json!({
        "completed_on": "2026-03-02", "summary": "已上锁", "actual_funds": "0.02", "self_assessment": "合格"}), 422).await;
        assert_eq!(body["errors"][0]["field"], "after_photo");
        upload(&app, &c.reporter, &id, "after").await;
        call(&app, Method::POST, &h(&id, "completion"), &c.reporter, json!({
        "completed_on": "2026-03-02", "summary": "已上锁", "actual_funds": "0.02", "self_assessment": "合格"}), 200).await;
        // T12 names what is still wrong.
        let body = call(
            &app,
            Method::POST,
            &h(&id, "acceptance"),
            &c.street,
            json!({"result": "fail", "accepted_on": "2026-03-02"}),
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "deficiencies");
        let failed = call(
            &app,
            Method::POST,
            &h(&id, "acceptance"),
            &c.street,
            json!({"result": "fail", "deficiencies": "锁具损坏", "accepted_on": "2026-03-02"}),
            200,
        )
        .await;
        assert_eq!(failed["status"], "in_rectification");
        assert!(
            failed["completed_on"].is_null(),
            "the failed completion does not count"
        );
        // L10: 继续挂账 with a written explanation, owed from the failed check until filed.
        assert_eq!(failed["explanation_owed_on"], "2026-03-02");
        assert!(
            failed["compliance_flags"]
                .as_array()
                .unwrap()
                .contains(&json!("overdue_explanation_missing")),
            "{}",
            failed["compliance_flags"]
        );
        let explained = call(
            &app,
            Method::POST,
            &h(&id, "overdue-explanation"),
            &c.reporter,
            json!({"reason": "锁具质量不合格", "measures": "已订购新锁具，临时加装挂锁"}),
            200,
        )
        .await;
        assert!(explained["explanation_owed_on"].is_null());
        call(&app, Method::POST, &h(&id, "completion"), &c.reporter, json!({
        "completed_on": "2026-03-02", "summary": "更换锁具", "actual_funds": "0.05", "self_assessment": "合格"}), 200).await;
        let closed = call(
            &app,
            Method::POST,
            &h(&id, "acceptance"),
            &c.street,
            json!({"result": "pass", "opinion": "属实", "accepted_on": "2026-03-02"}),
            200,
        )
        .await;
        assert_eq!(closed["status"], "closed");

        // The street officer who reported a hazard may not accept it.
        let own = call(&app, Method::POST, "/api/v1/hazards", &c.street,
        json!({"enterprise_id": c.enterprise, "description": "消防通道堵塞", "location": "仓库", "category": "B03",
               "source": 9, "discovered_on": "2026-03-02", "title": "通道堵塞", "level": "general"}), 201).await;
        assert_eq!(own["reporter_id"], c.street_id.as_str());

        // A recurrence is a new hazard linking the closed one; an open or unknown one is refused.
        let mut again = general_report();
        again["recurrence_of"] = json!(id);
        let recurred = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            again.clone(),
            201,
        )
        .await;
        assert_eq!(recurred["recurrence_of"], id.as_str());
        assert_eq!(recurred["status"], "draft");
        for (earlier, why) in [(own["id"].clone(), "closed"), (json!("nope"), "scope")] {
            again["recurrence_of"] = earlier;
            let body = call(
                &app,
                Method::POST,
                "/api/v1/hazards",
                &c.reporter,
                again.clone(),
                422,
            )
            .await;
            assert_eq!(body["errors"][0]["field"], "recurrence_of", "{body}");
            assert!(
                body["errors"][0]["message"].as_str().unwrap().contains(why),
                "{body}"
            );
        }

        // Void: a duplicate must point at a hazard; kept in the ledger as void.
        let dup = submitted_general(&app, &c).await;
        let body = call(
            &app,
            Method::POST,
            &h(&dup, "void"),
            &c.street,
            json!({"reason": "duplicate", "duplicate_of": "nope"}),
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "duplicate_of");
        let body = call(
            &app,
            Method::POST,
            &h(&dup, "void"),
            &c.street,
            json!({"reason": "duplicate", "duplicate_of": dup}),
            422,
        )
        .await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("another hazard"),
            "{body}"
        );
        // A link belongs to its reason: a 误报 is nobody's duplicate.
        let body = call(
            &app,
            Method::POST,
            &h(&dup, "void"),
            &c.street,
            json!({"reason": "false_report", "duplicate_of": id, "transfer_to": "区房管局"}),
            422,
        )
        .await;
        assert_eq!(error_fields(&body), ["duplicate_of", "transfer_to"]);
        // A returned report nobody will correct is voided too (any open state).
        let returned = submitted_general(&app, &c).await;
        call(
            &app,
            Method::POST,
            &h(&returned, "return"),
            &c.street,
            json!({"reason": "请补充位置"}),
            200,
        )
        .await;
        let body = call(
            &app,
            Method::POST,
            &h(&returned, "void"),
            &c.street,
            json!({"reason": "untrue", "note": "核实不属实"}),
            200,
        )
        .await;
        assert_eq!(body["status"], "void");
        // People name the original by its ledger number; the record keeps its id.
        let original = hazard_view(&app, &id, &c.street).await;
        let ledger_no = original["ledger_no"]
            .as_str()
            .expect("posted")
            .to_lowercase();
        let voided = call(
            &app,
            Method::POST,
            &h(&dup, "void"),
            &c.street,
            json!({"reason": "duplicate", "duplicate_of": ledger_no, "note": "重复上报"}),
            200,
        )
        .await;
        assert_eq!(voided["status"], "void");
        let record = voided["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["kind"] == "void")
            .expect("void record")
            .clone();
        assert_eq!(record["duplicate_of"], id.as_str(), "{record}");
        // A duplicate links the hazard being dealt with, not another void one.
        let third = submitted_general(&app, &c).await;
        let body = call(
            &app,
            Method::POST,
            &h(&third, "void"),
            &c.street,
            json!({"reason": "duplicate", "duplicate_of": dup, "note": "重复上报"}),
            422,
        )
        .await;
        assert_eq!(error_fields(&body), ["duplicate_of"]);
        expect_problem(
            app.call(
                Method::POST,
                &h(&dup, "submit"),
                Some(&c.reporter),
                Some(json!({})),
            )
            .await,
            409,
            "hazard_frozen",
        )
        .await;

        // 即查即改: fixed on the spot with before and after photos, then accepted by the street.
        let quick = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            general_report(),
            201,
        )
        .await;
        let qid = quick["id"].as_str().unwrap();
        let body = call(
            &app,
            Method::POST,
            &h(qid, "quick-fix"),
            &c.reporter,
            json!({"summary": "当场上锁"}),
            422,
        )
        .await;
        assert_eq!(
            body["errors"].as_array().unwrap().len(),
            2,
            "before and after photos: {body}"
        );
        upload(&app, &c.reporter, qid, "before").await;
        // The before picture sent again as the after one shows no rectification.
        let same = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(jpeg_marked("before"))
                    .file_name("整改后.jpg")
                    .mime_str("image/jpeg")
                    .unwrap(),
            )
            .text("kind", "after");
        let res = app
            .client
            .post(app.url(&format!("/api/v1/hazards/{qid}/attachments")))
            .bearer_auth(&c.reporter)
            .multipart(same)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body = call(
            &app,
            Method::POST,
            &h(qid, "quick-fix"),
            &c.reporter,
            json!({"summary": "当场上锁", "actual_funds": "0"}),
            422,
        )
        .await;
        assert_eq!(error_fields(&body), ["after_photo"]);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("same picture"),
            "{body}"
        );
        upload(&app, &c.reporter, qid, "after").await;
        let fixed = call(
            &app,
            Method::POST,
            &h(qid, "quick-fix"),
            &c.reporter,
            json!({"summary": "当场上锁", "actual_funds": "0"}),
            200,
        )
        .await;
        assert_eq!(fixed["status"], "pending_acceptance");
        assert_eq!(fixed["ledger_no"], "SH-CN-YH-2026-000002");
        // Reported and done at once: that day is its report's date too.
        assert_eq!(fixed["submitted_on"], "2026-03-02", "{fixed}");
        let closed = call(
            &app,
            Method::POST,
            &h(qid, "acceptance"),
            &c.street,
            json!({"result": "pass", "opinion": "属实", "accepted_on": "2026-03-02"}),
            200,
        )
        .await;
        assert_eq!(closed["status"], "closed");
    }
);

db_test!(
    a_joint_meeting_report_is_followed_up_by_the_congress,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = submitted_major(&app, &c, major_report()).await;
        let path = format!("/api/v1/hazards/{id}");

        // The congress is not in session: a joint meeting hears the report (L11) and names the
        // session that will follow it up.
        let joint = json!({"stage": "discovery", "body": "joint_meeting", "meeting_on": "2026-03-02",
                           "summary": "联席会议听取液氨隐患报告", "follow_up_on": "2026-03-20"});
        let h = call(
            &app,
            Method::POST,
            &format!("{path}/congress-reports"),
            &c.principal,
            joint,
            200,
        )
        .await;
        assert_eq!(
            h["dual_report"]["complete"], false,
            "the congress has not heard it yet"
        );
        let posting = json!({"deadline": "2026-04-30"});
        call(
            &app,
            Method::POST,
            &format!("{path}/post"),
            &c.inspector,
            posting,
            200,
        )
        .await;
        let notice = json!({"posted_on": "2026-03-02", "channel": "信息公示栏"});
        let notice_path = format!("{path}/employee-notice");
        call(&app, Method::POST, &notice_path, &c.reporter, notice, 200).await;
        let incomplete = |token: String| {
            let app = &app;
            async move {
                let stats = call(
                    app,
                    Method::GET,
                    "/api/v1/stats/summary?group_by=level",
                    &token,
                    Value::Null,
                    200,
                )
                .await;
                stats["total"]["major_dual_report_incomplete"].clone()
            }
        };
        assert_eq!(
            incomplete(c.district.clone()).await,
            1,
            "the statistics agree"
        );
        assert_eq!(
            h["compliance_flags"],
            json!([]),
            "not due before 2026-03-20"
        );

        // The follow-up day passes without a session: flagged, on the hazard and in the list.
        app.advance(chrono::Duration::days(19));
        let (inspector, principal) = (app.login("yjj").await, app.login("boss").await);
        let h = call(&app, Method::GET, &path, &inspector, Value::Null, 200).await;
        assert_eq!(h["compliance_flags"], json!(["congress_follow_up_overdue"]));
        let list = call(
            &app,
            Method::GET,
            "/api/v1/hazards?level=major",
            &inspector,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(list["items"][0]["id"], id.as_str());
        assert_eq!(
            list["items"][0]["compliance_flags"],
            json!(["congress_follow_up_overdue"])
        );

        // The workers' congress (180 staff) hears it: complete, and the flag is gone.
        let congress = json!({"stage": "discovery", "body": "workers_congress", "meeting_on": "2026-03-21",
                              "summary": "职代会听取液氨隐患报告"});
        let h = call(
            &app,
            Method::POST,
            &format!("{path}/congress-reports"),
            &principal,
            congress,
            200,
        )
        .await;
        assert_eq!(h["dual_report"]["complete"], true);
        assert_eq!(h["compliance_flags"], json!([]));
        assert_eq!(incomplete(app.login("district").await).await, 0);
    }
);

db_test!(
    a_failed_check_cannot_be_undone_by_an_earlier_completion_date,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let mut report = general_report();
        report["discovered_on"] = json!("2026-02-20");
        let id = submitted(&app, &c, report).await;
        let h = |action: &str| format!("/api/v1/hazards/{id}/{action}");
        let posting = json!({"deadline": "2026-03-20"});
        call(&app, Method::POST, &h("post"), &c.street, posting, 200).await;
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
        let done_on = |day: &str| {
            json!({"completed_on": day, "summary": "已上锁",
                                         "actual_funds": "0.02", "self_assessment": "合格"})
        };
        let path = h("completion");
        call(
            &app,
            Method::POST,
            &path,
            &c.reporter,
            done_on("2026-02-25"),
            200,
        )
        .await;
        let fail =
            json!({"result": "fail", "deficiencies": "锁具未更换", "accepted_on": "2026-03-02"});
        call(&app, Method::POST, &h("acceptance"), &c.street, fail, 200).await;

        // T12: found unfinished on 03-02, the work cannot have been done on 02-25 after all.
        let body = call(
            &app,
            Method::POST,
            &path,
            &c.reporter,
            done_on("2026-02-25"),
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "completed_on", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("2026-03-02"),
            "{body}"
        );
        let done = call(
            &app,
            Method::POST,
            &path,
            &c.reporter,
            done_on("2026-03-02"),
            200,
        )
        .await;
        assert_eq!(done["completed_on"], "2026-03-02");
    }
);

db_test!(
    the_department_raises_a_general_report_to_major_at_posting,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = submitted_general(&app, &c).await;
        let path = format!("/api/v1/hazards/{id}/post");
        // An upgrade gives its reason and the standard and clause it is judged by.
        let body = call(
            &app,
            Method::POST,
            &path,
            &c.inspector,
            json!({"deadline": "2026-04-30", "level": "major"}),
            422,
        )
        .await;
        assert_eq!(
            error_fields(&body),
            [
                "level_change_reason",
                "judgement_basis.standard",
                "judgement_basis.clause"
            ]
        );
        let posting = json!({"deadline": "2026-04-30", "level": "major",
            "level_change_reason": "配电室涉及液氨机房供电，停电将导致氨泄漏风险",
            "judgement_basis": {"standard": "工贸企业重大事故隐患判定标准", "clause": "第四条"}});
        let posted = call(&app, Method::POST, &path, &c.inspector, posting, 200).await;
        assert_eq!(posted["level"], "major");
        assert_eq!(posted["judgement_basis"]["clause"], "第四条");
        // It owes the 治理方案 as a 重大 report does, within plan_due_max_days (15).
        assert_eq!(posted["plan_due_on"], "2026-03-17");
        let posting = ledger_entry(&app, &id, &c.inspector, "hazard.posted").await;
        assert_eq!(
            posting["payload"]["changes"]["level"],
            json!({"before": "general", "after": "major"})
        );
        // The enterprise now owes the 重大 report (L7): the regulator half of the 双报告.
        assert!(posted["dual_report"]["regulator"].is_null());
        // Its posting email says so, with the plan's date; the street hears of it too.
        let (_, admin) = app.user_token("ops", "admin", "AJW").await;
        for to in ["boss@example.org", "hyl-officer@example.org"] {
            let text = outbox_text(&app, &admin, to, "重大事故隐患已上账").await;
            for needle in [
                "上账时由一般隐患认定为重大",
                "2026-03-17",
                "重大事故隐患报告",
                "职工代表大会",
            ] {
                assert!(text.contains(needle), "{needle} in {text}");
            }
        }
        let view = hazard_view(&app, &id, &c.principal).await;
        assert!(offers(&view, "major_report"), "{view}");
        let report_path = format!("/api/v1/hazards/{id}/major-report");
        let blocks = json!({"status_and_cause": "配电室电缆老化，液氨机房供电无备用电源",
                            "severity_and_difficulty": "停电将致制冷失效、氨泄漏，需停机改造",
                            "temporary_measures": "加装临时发电机，每班巡检"});
        let res = app
            .call(
                Method::POST,
                &report_path,
                Some(&c.reporter),
                Some(blocks.clone()),
            )
            .await;
        expect_problem(res, 403, "role_forbidden").await;
        let body = call(
            &app,
            Method::POST,
            &report_path,
            &c.principal,
            json!({}),
            422,
        )
        .await;
        // The people are in the 一般 report already; T2's planned funds and before photo are not.
        assert_eq!(
            error_fields(&body),
            [
                "status_and_cause",
                "severity_and_difficulty",
                "temporary_measures",
                "planned_funds",
                "before_photo"
            ],
            "the plan's date set at the raise still holds"
        );
        let mut blocks = blocks;
        blocks["planned_funds"] = json!("12.50");
        upload(&app, &c.reporter, &id, "before").await;
        // The report does not buy the plan more time than the raise set (2026-03-17).
        let mut later = blocks.clone();
        later["plan_due_on"] = json!("2026-03-18");
        let body = call(&app, Method::POST, &report_path, &c.principal, later, 422).await;
        assert_eq!(error_fields(&body), ["plan_due_on"], "{body}");
        let reported = call(
            &app,
            Method::POST,
            &report_path,
            &c.principal,
            blocks.clone(),
            200,
        )
        .await;
        assert_eq!(reported["planned_funds"], "12.5", "{reported}");
        let regulator = &reported["dual_report"]["regulator"];
        assert_eq!(
            regulator["status_and_cause"],
            "配电室电缆老化，液氨机房供电无备用电源"
        );
        assert_eq!(regulator["judgement_basis"]["clause"], "第四条");
        assert_eq!(reported["temporary_measures"], "加装临时发电机，每班巡检");
        assert!(!offers(&reported, "major_report"));
        let res = app
            .call(Method::POST, &report_path, Some(&c.principal), Some(blocks))
            .await;
        expect_problem(res, 409, "already_reported").await;
    }
);

db_test!(
    the_major_report_is_owed_until_closing_and_never_lowered_by_the_enterprise,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let h = |id: &str, action: &str| format!("/api/v1/hazards/{id}/{action}");
        // A 重大 report returned for correction stays 重大: the enterprise does not lower it
        // and send it again as 一般 for the street to post.
        let major = submitted_major(&app, &c, major_report()).await;
        call(
            &app,
            Method::POST,
            &h(&major, "return"),
            &c.inspector,
            json!({"reason": "请补充照片"}),
            200,
        )
        .await;
        for token in [&c.reporter, &c.principal] {
            let res = app
                .call(
                    Method::PATCH,
                    &format!("/api/v1/hazards/{major}"),
                    Some(token),
                    Some(json!({"level": "general"})),
                )
                .await;
            expect_problem(res, 403, "level_downgrade_forbidden").await;
        }
        // Nor does a correction move its discovery date later (its timeliness is judged on
        // it); an earlier day may be given.
        let body = call(
            &app,
            Method::PATCH,
            &format!("/api/v1/hazards/{major}"),
            &c.principal,
            json!({"discovered_on": "2026-03-02"}),
            422,
        )
        .await;
        assert_eq!(error_fields(&body), ["discovered_on"], "{body}");
        call(
            &app,
            Method::PATCH,
            &format!("/api/v1/hazards/{major}"),
            &c.principal,
            json!({"discovered_on": "2026-02-28"}),
            200,
        )
        .await;
        assert_eq!(
            hazard_view(&app, &major, &c.principal).await["level"],
            "major"
        );

        // Raised to 重大 at posting: it closes only once its 重大 report (L7) was filed.
        let id = submitted_general(&app, &c).await;
        call(&app, Method::POST, &h(&id, "post"), &c.inspector,
            json!({"deadline": "2026-04-30", "level": "major",
                   "level_change_reason": "涉及液氨机房供电",
                   "judgement_basis": {"standard": "工贸企业重大事故隐患判定标准", "clause": "第四条"}}),
            200).await;
        call(
            &app,
            Method::PUT,
            &h(&id, "plan"),
            &c.principal,
            plan(),
            200,
        )
        .await;
        call(
            &app,
            Method::POST,
            &h(&id, "plan/acknowledge"),
            &c.inspector,
            json!({"opinion": "同意备案"}),
            200,
        )
        .await;
        call(
            &app,
            Method::POST,
            &h(&id, "start"),
            &c.principal,
            json!({}),
            200,
        )
        .await;
        for kind in ["before", "after"] {
            assert_eq!(upload(&app, &c.reporter, &id, kind).await.status(), 201);
        }
        call(
            &app,
            Method::POST,
            &h(&id, "completion"),
            &c.principal,
            json!({"completed_on": "2026-03-02", "summary": "已加装备用电源",
                   "actual_funds": "3", "self_assessment": "隐患已消除"}),
            200,
        )
        .await;
        for stage in ["discovery", "completion"] {
            call(
                &app,
                Method::POST,
                &h(&id, "congress-reports"),
                &c.principal,
                json!({"stage": stage, "body": "workers_congress", "meeting_on": "2026-03-02",
                       "summary": "报告隐患及整改情况"}),
                200,
            )
            .await;
        }
        let pass = json!({"result": "pass", "opinion": "整改属实", "accepted_on": "2026-03-02"});
        let res = app
            .call(
                Method::POST,
                &h(&id, "acceptance"),
                Some(&c.inspector),
                Some(pass.clone()),
            )
            .await;
        let body = expect_problem(res, 409, "major_report_missing").await;
        assert_eq!(body["current_status"], "pending_acceptance");
        call(
            &app,
            Method::POST,
            &h(&id, "major-report"),
            &c.principal,
            json!({"status_and_cause": "配电室电缆老化", "severity_and_difficulty": "停电致氨泄漏",
                   "temporary_measures": "临时发电机", "planned_funds": "3"}),
            200,
        )
        .await;
        let closed = call(
            &app,
            Method::POST,
            &h(&id, "acceptance"),
            &c.inspector,
            pass,
            200,
        )
        .await;
        assert_eq!(closed["status"], "closed");
        assert_eq!(closed["dual_report"]["complete"], true);
    }
);

db_test!(
    a_pending_extension_lapses_when_the_work_is_reported_complete,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = submitted_general(&app, &c).await;
        let h = |action: &str| format!("/api/v1/hazards/{id}/{action}");
        call(
            &app,
            Method::POST,
            &h("post"),
            &c.street,
            json!({"deadline": "2026-03-13"}),
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
        let asked = call(
            &app,
            Method::POST,
            &h("extensions"),
            &c.principal,
            json!({"reason": "备件未到", "interim_measures": "加锁并巡查",
                   "requested_deadline": "2026-03-31"}),
            200,
        )
        .await;
        let eid = newest_record_id(&asked, "extension");
        assert_eq!(asked["pending_extension"], "2026-03-31");
        // The view says when an extension may be asked for: the last 15 working days up to
        // and including the deadline (today among them).
        let window = &asked["extension_window"];
        assert_eq!(
            (&window["closes_on"], &window["working_days"]),
            (&json!("2026-03-13"), &json!(15)),
            "{window}"
        );
        assert!(
            window["opens_on"].as_str().unwrap() <= "2026-03-02",
            "{window}"
        );
        assert_eq!(upload(&app, &c.reporter, &id, "after").await.status(), 201);
        let done = call(
            &app,
            Method::POST,
            &h("completion"),
            &c.reporter,
            json!({"completed_on": "2026-03-02", "summary": "已上锁", "actual_funds": "0.01",
                   "self_assessment": "合格"}),
            200,
        )
        .await;
        // Nothing is left waiting for a decision that could never come.
        assert!(done["pending_extension"].is_null(), "{done}");
        assert!(
            done["extension_window"].is_null(),
            "the deadline no longer runs"
        );
        let request = done["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == eid.as_str())
            .unwrap()
            .clone();
        assert_eq!(request["status"], "lapsed", "{request}");
        assert_eq!(request["lapsed"]["because"], "completion");
        let res = app
            .call(
                Method::POST,
                &h(&format!("extensions/{eid}/decision")),
                Some(&c.inspector),
                Some(json!({"approved": true, "opinion": "同意"})),
            )
            .await;
        assert_eq!(res.status(), 409);
        let entry = ledger_entry(&app, &id, &c.street, "hazard.completion_reported").await;
        assert_eq!(
            entry["payload"]["changes"]["pending_extension"],
            json!({"before": "2026-03-31", "after": null}),
            "{entry}"
        );
    }
);

db_test!(
    a_major_posting_email_says_what_is_left_of_the_plan,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        // Reported with its 治理方案: the posting asks for its 备案, not for a plan.
        let mut report = major_report();
        report.as_object_mut().unwrap().remove("plan_due_on");
        report["plan"] = plan();
        let id = submitted_major(&app, &c, report).await;
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{id}/post"),
            &c.inspector,
            json!({"deadline": "2026-04-30"}),
            200,
        )
        .await;
        let (_, admin) = app.user_token("ops", "admin", "AJW").await;
        let text = outbox_text(&app, &admin, "boss@example.org", "重大事故隐患已上账").await;
        assert!(
            text.contains("已报送的治理方案经主管部门备案后开始治理"),
            "{text}"
        );
        assert!(!text.contains("须制定并报备治理方案"), "{text}");
    }
);

db_test!(extensions_and_suspension, |backend: Backend| async move {
    let app = TestApp::start(&backend).await;
    let c = cast(&app).await;
    let h = |id: &str, action: &str| format!("/api/v1/hazards/{id}/{action}");
    let mut report = general_report();
    report["handling"] = json!("suspension");
    report["suspension"] = json!("partial");
    let draft = call(
        &app,
        Method::POST,
        "/api/v1/hazards",
        &c.reporter,
        report,
        201,
    )
    .await;
    let id = draft["id"].as_str().unwrap().to_string();
    call(
        &app,
        Method::POST,
        &h(&id, "submit"),
        &c.reporter,
        json!({}),
        200,
    )
    .await;
    call(
        &app,
        Method::POST,
        &h(&id, "post"),
        &c.street,
        json!({"deadline": "2026-04-30"}),
        200,
    )
    .await;
    call(
        &app,
        Method::POST,
        &h(&id, "start"),
        &c.principal,
        json!({}),
        200,
    )
    .await;

    // Too early: more than 15 working days before the deadline.
    let ask = json!({"reason": "设备采购周期长", "interim_measures": "停用该区域", "requested_deadline": "2026-05-31"});
    let res = app
        .call(
            Method::POST,
            &h(&id, "extensions"),
            Some(&c.principal),
            Some(ask.clone()),
        )
        .await;
    expect_problem(res, 409, "extension_window_not_open").await;
    let view = hazard_view(&app, &id, &c.principal).await;
    assert!(
        !offers(&view, "request_extension"),
        "not offered before the window: {view}"
    );
    // Inside the window (the service clock moves to 2026-04-20, so everyone logs in again):
    // interim measures are required.
    app.advance(chrono::Duration::days(49));
    let c = Cast {
        reporter: app.login("clerk").await,
        principal: app.login("boss").await,
        street: app.login("hyl-officer").await,
        inspector: app.login("yjj").await,
        ..c
    };
    let view = hazard_view(&app, &id, &c.principal).await;
    assert!(
        offers(&view, "request_extension"),
        "offered inside the window: {view}"
    );
    let body = call(
        &app,
        Method::POST,
        &h(&id, "extensions"),
        &c.principal,
        json!({"reason": "x", "requested_deadline": "2026-05-31"}),
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "interim_measures");
    let asked = call(
        &app,
        Method::POST,
        &h(&id, "extensions"),
        &c.principal,
        ask.clone(),
        200,
    )
    .await;
    assert_eq!(asked["pending_extension"], "2026-05-31");
    let eid = newest_record_id(&asked, "extension");
    // Denied: the deadline stays.
    let denied = call(
        &app,
        Method::POST,
        &h(&id, &format!("extensions/{eid}/decision")),
        &c.inspector,
        json!({"approved": false, "opinion": "理由不充分"}),
        200,
    )
    .await;
    assert_eq!(denied["effective_deadline"], "2026-04-30");
    assert!(denied["pending_extension"].is_null());
    let res = app
        .call(
            Method::POST,
            &h(&id, &format!("extensions/{eid}/decision")),
            Some(&c.inspector),
            Some(json!({"approved": true})),
        )
        .await;
    assert_eq!(res.status(), 409, "nothing pending any more");
    // An extension request the hazard never had is missing (404), not "nothing pending".
    let res = app
        .call(
            Method::POST,
            &h(&id, "extensions/no-such-request/decision"),
            Some(&c.inspector),
            Some(json!({"approved": false, "opinion": "无"})),
        )
        .await;
    assert_eq!(res.status(), 404, "an unknown extension request");
    // Asked again and approved: the effective deadline moves, the original stays.
    let asked = call(
        &app,
        Method::POST,
        &h(&id, "extensions"),
        &c.principal,
        ask,
        200,
    )
    .await;
    let eid2 = newest_record_id(&asked, "extension");
    assert_ne!(eid, eid2);
    // The department may grant less than was asked, but not more, nor with a refusal.
    for (wrong, field) in [
        (
            json!({"approved": true, "opinion": "同意", "deadline": "2026-06-15"}),
            "deadline",
        ),
        (
            json!({"approved": true, "opinion": "同意", "deadline": "2026-04-30"}),
            "deadline",
        ),
        (
            json!({"approved": false, "opinion": "不同意", "deadline": "2026-05-20"}),
            "deadline",
        ),
    ] {
        let body = call(
            &app,
            Method::POST,
            &h(&id, &format!("extensions/{eid2}/decision")),
            &c.inspector,
            wrong,
            422,
        )
        .await;
        assert_eq!(error_fields(&body), [field], "{body}");
    }
    let approved = call(
        &app,
        Method::POST,
        &h(&id, &format!("extensions/{eid2}/decision")),
        &c.inspector,
        json!({"approved": true, "opinion": "同意延期至5月20日", "deadline": "2026-05-20"}),
        200,
    )
    .await;
    assert_eq!(approved["effective_deadline"], "2026-05-20");
    assert_eq!(approved["deadline"], "2026-04-30");
    assert!(approved["pending_extension"].is_null());

    // A suspended hazard: completion needs an assessment report and a resume request,
    // and acceptance passes only with the resumption approved.
    upload(&app, &c.reporter, &id, "after").await;
    let completion = json!({"completed_on": "2026-04-20", "summary": "完成", "actual_funds": "3", "self_assessment": "合格"});
    let body = call(
        &app,
        Method::POST,
        &h(&id, "completion"),
        &c.reporter,
        completion.clone(),
        422,
    )
    .await;
    let fields = error_fields(&body);
    assert!(fields.iter().any(|f| f == "resume_request"), "{body}");
    let pdf =
        reqwest::multipart::Part::bytes(b"%PDF-1.4\n%test\n".to_vec()).file_name("评估报告.pdf");
    let form = reqwest::multipart::Form::new()
        .part("file", pdf)
        .text("kind", "report");
    let res = app
        .client
        .post(app.url(&h(&id, "attachments")))
        .bearer_auth(&c.reporter)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let mut completion = completion;
    completion["resume_request"] = json!("申请恢复生产");
    call(
        &app,
        Method::POST,
        &h(&id, "completion"),
        &c.reporter,
        completion,
        200,
    )
    .await;
    let body = call(
        &app,
        Method::POST,
        &h(&id, "acceptance"),
        &c.street,
        json!({"result": "pass", "opinion": "属实", "accepted_on": "2026-04-20"}),
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "resume_approved");
    let closed = call(&app, Method::POST, &h(&id, "acceptance"), &c.street,
        json!({"result": "pass", "opinion": "属实", "accepted_on": "2026-04-20", "resume_approved": true}), 200).await;
    assert_eq!(closed["status"], "closed");
    // It shows that production resumed, and when; what the suspension was stays.
    assert_eq!(closed["resumed_on"], "2026-04-20");
    assert_eq!(closed["suspension"], "partial");
});

db_test!(
    roles_and_states_are_refused_with_their_codes,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = submitted_general(&app, &c).await;
        let h = |action: &str| format!("/api/v1/hazards/{id}/{action}");
        // 403 for a visible hazard and a forbidden role; 409 with the current state.
        let res = app
            .call(
                Method::POST,
                &h("post"),
                Some(&c.reporter),
                Some(json!({"deadline": "2026-03-20"})),
            )
            .await;
        expect_problem(res, 403, "role_forbidden").await;
        let res = app
            .call(
                Method::POST,
                &h("start"),
                Some(&c.principal),
                Some(json!({})),
            )
            .await;
        let body = expect_problem(res, 409, "invalid_state").await;
        assert_eq!(body["current_status"], "submitted");
        // 404 outside the scope, whatever the action.
        for token in [&c.other_street, &c.other_inspector] {
            let res = app
                .call(
                    Method::POST,
                    &h("post"),
                    Some(token),
                    Some(json!({"deadline": "2026-03-20"})),
                )
                .await;
            expect_problem(res, 404, "not_found").await;
        }
        // A copied department sees it too (fire → 区消防救援支队 is copied: not in this test's cast).
        let res = app
            .call(
                Method::GET,
                &format!("/api/v1/hazards/{id}"),
                Some(&c.inspector),
                None,
            )
            .await;
        assert_eq!(res.status(), 200);
        // Deadline before today, malformed body, wrong media type.
        let body = call(
            &app,
            Method::POST,
            &h("post"),
            &c.street,
            json!({"deadline": "2026-01-01"}),
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "deadline");
        let res = app
            .client
            .post(app.url(&h("post")))
            .bearer_auth(&c.street)
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap();
        expect_problem(res, 400, "malformed_json").await;
        let res = app
            .client
            .post(app.url(&h("post")))
            .bearer_auth(&c.street)
            .header("content-type", "text/plain")
            .body("deadline")
            .send()
            .await
            .unwrap();
        expect_problem(res, 415, "unsupported_media_type").await;
        // A safety officer reports a 重大 hazard directly only when saying so (L3).
        let major = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.safety,
            major_report(),
            201,
        )
        .await;
        let mid = major["id"].as_str().unwrap();
        upload(&app, &c.safety, mid, "before").await;
        let url = format!("/api/v1/hazards/{mid}/submit");
        let res = app
            .call(Method::POST, &url, Some(&c.safety), Some(json!({})))
            .await;
        expect_problem(res, 403, "direct_report_required").await;
        let direct = call(
            &app,
            Method::POST,
            &url,
            &c.safety,
            json!({"direct_report": true}),
            200,
        )
        .await;
        assert_eq!(direct["dual_report"]["regulator"]["direct_report"], true);
        // Lists stay within scope.
        let (_, list) = app
            .call_json(Method::GET, "/api/v1/hazards", Some(&c.other_street), None)
            .await;
        assert_eq!(list["items"], json!([]));
        let (_, list) = app
            .call_json(
                Method::GET,
                "/api/v1/hazards?status=submitted",
                Some(&c.street),
                None,
            )
            .await;
        assert_eq!(list["items"].as_array().unwrap().len(), 2);
    }
);

db_test!(
    ledger_numbers_under_50_concurrent_postings,
    |backend: Backend| async move {
        let app =
            TestApp::start_with(&backend, |c| c.database.pool_size = 8, Default::default()).await;
        let c = cast(&app).await;
        let mut ids = Vec::new();
        for _ in 0..50 {
            ids.push(submitted_general(&app, &c).await);
        }
        let posts = ids.iter().map(|id| {
            let (client, url, token) = (
                app.client.clone(),
                app.url(&format!("/api/v1/hazards/{id}/post")),
                c.street.clone(),
            );
            async move {
                let res = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"deadline": "2026-03-31"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                res.json::<Value>().await.unwrap()["ledger_no"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        });
        let mut numbers = futures_util::future::join_all(posts).await;
        numbers.sort();
        let expected: Vec<String> = (1..=50).map(|n| format!("SH-CN-YH-2026-{n:06}")).collect();
        assert_eq!(numbers, expected, "unique and gapless");
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
    ledger_verification_catches_update_and_delete,
    |backend: Backend| async move {
        use diesel::RunQueryDsl;
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        for _ in 0..2 {
            submitted_general(&app, &c).await;
        }
        let verify = || {
            app.call_json(
                Method::GET,
                "/api/v1/ledger/verify",
                Some(&c.district),
                None,
            )
        };
        assert_eq!(verify().await.1["ok"], true);
        // Only the district office reads the whole ledger.
        assert_eq!(
            app.call(Method::GET, "/api/v1/ledger/verify", Some(&c.street), None)
                .await
                .status(),
            403
        );
        let (_, page) = app
            .call_json(
                Method::GET,
                "/api/v1/ledger?after=1&limit=2",
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!(page["items"][0]["seq"], 2);
        assert_eq!(page["next_after"], 3);

        let mut conn = app.db.connect();
        let original: Vec<String> = {
            use diesel::prelude::*;
            use hazard_ledger::db::schema::ledger_entries as l;
            l::table
                .filter(l::seq.eq(2))
                .select(l::payload)
                .load(&mut conn)
                .unwrap()
        };
        // Someone edits an entry by hand...
        diesel::sql_query("UPDATE ledger_entries SET payload = '{\"input\":{}}' WHERE seq = 2")
            .execute(&mut conn)
            .unwrap();
        let (_, v) = verify().await;
        assert_eq!(v["ok"], false);
        assert_eq!(v["first_bad"], 2);
        let url = app.db.url.clone();
        let out = std::process::Command::new(crate::common::binary())
            .args(["ledger", "verify"])
            .env_remove("HAZARD_LEDGER_CONFIG")
            .env("HAZARD_LEDGER__DATABASE__URL", &url)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("entry 2"),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        // ... put back, it verifies again; a deleted entry in the middle is named ...
        diesel::sql_query(format!(
            "UPDATE ledger_entries SET payload = '{}' WHERE seq = 2",
            original[0].replace('\'', "''")
        ))
        .execute(&mut conn)
        .unwrap();
        assert_eq!(verify().await.1["ok"], true);
        diesel::sql_query("DELETE FROM ledger_entries WHERE seq = 3")
            .execute(&mut conn)
            .unwrap();
        let (_, v) = verify().await;
        assert_eq!(
            (v["ok"].clone(), v["first_bad"].clone()),
            (json!(false), json!(3))
        );
        // ... and so is a deleted newest entry (the chain alone could not tell).
        let (_, last) = app
            .call_json(
                Method::GET,
                "/api/v1/ledger?after=0&limit=1000",
                Some(&c.district),
                None,
            )
            .await;
        let last_seq = last["items"].as_array().unwrap().last().unwrap()["seq"]
            .as_i64()
            .unwrap();
        diesel::sql_query(format!(
            "DELETE FROM ledger_entries WHERE seq >= 3 AND seq <> {last_seq}"
        ))
        .execute(&mut conn)
        .unwrap();
        diesel::sql_query(format!("DELETE FROM ledger_entries WHERE seq = {last_seq}"))
            .execute(&mut conn)
            .unwrap();
        let (_, v) = verify().await;
        assert_eq!(v["ok"], false);
        assert_eq!(v["first_bad"], 3);
        let out = std::process::Command::new(crate::common::binary())
            .args(["ledger", "verify"])
            .env_remove("HAZARD_LEDGER_CONFIG")
            .env("HAZARD_LEDGER__DATABASE__URL", &url)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    }
);

db_test!(
    attachments_are_sniffed_scoped_and_named_safely,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = submitted_general(&app, &c).await;
        let send = |bytes: Vec<u8>, name: &'static str, kind: &'static str| {
            let part = reqwest::multipart::Part::bytes(bytes)
                .file_name(name)
                .mime_str("image/jpeg")
                .unwrap();
            let form = reqwest::multipart::Form::new()
                .part("file", part)
                .text("kind", kind);
            app.client
                .post(app.url(&format!("/api/v1/hazards/{id}/attachments")))
                .bearer_auth(&c.reporter)
                .multipart(form)
                .send()
        };
        // A disguised executable is refused whatever its name and declared type.
        let res = send(
            b"MZ\x90\x00\x03\x00\x00\x00".to_vec(),
            "photo.jpg",
            "before",
        )
        .await
        .unwrap();
        expect_problem(res, 415, "unsupported_file_type").await;
        let res = send(Vec::new(), "empty.jpg", "before").await.unwrap();
        expect_problem(res, 422, "validation_failed").await;
        let res = send(jpeg(), "x.jpg", "selfie").await.unwrap();
        expect_problem(res, 422, "validation_failed").await;
        // Not multipart at all: 415, as for any other body of the wrong type.
        for ct in ["application/json", "image/png"] {
            let res = app
                .client
                .post(app.url(&format!("/api/v1/hazards/{id}/attachments")))
                .bearer_auth(&c.reporter)
                .header("content-type", ct)
                .body("{}")
                .send()
                .await
                .unwrap();
            expect_problem(res, 415, "unsupported_media_type").await;
        }
        // A path in the name never becomes a path.
        let res = send(jpeg(), "../../etc/现场.jpg", "before").await.unwrap();
        assert_eq!(res.status(), 201);
        let saved: Value = res.json().await.unwrap();
        assert_eq!(saved["file_name"], "现场.jpg");
        assert_eq!(saved["content_type"], "image/jpeg");
        assert_eq!(saved["sha256"].as_str().unwrap().len(), 64);
        let path = format!("/api/v1/attachments/{}", saved["id"].as_str().unwrap());
        let res = app.call(Method::GET, &path, Some(&c.street), None).await;
        assert_eq!(res.status(), 200);
        let disposition = res
            .headers()
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            disposition.contains("filename*=UTF-8''%E7%8E%B0%E5%9C%BA.jpg"),
            "{disposition}"
        );
        assert_eq!(res.bytes().await.unwrap().to_vec(), jpeg());
        assert_eq!(
            app.call(Method::GET, &path, Some(&c.other_street), None)
                .await
                .status(),
            404
        );
    }
);

db_test!(
    an_officials_evidence_is_theirs_and_the_after_photos_the_enterprises,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        // The street files an inspection finding with its photo of the scene.
        let finding = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.street,
            json!({"enterprise_id": c.enterprise, "description": "消防通道堵塞", "location": "仓库",
                   "category": "B03", "source": 9, "discovered_on": "2026-03-02",
                   "title": "通道堵塞", "level": "general"}),
            201,
        )
        .await;
        let id = finding["id"].as_str().unwrap().to_string();
        let res = upload(&app, &c.street, &id, "before").await;
        assert_eq!(res.status(), 201);
        let evidence: Value = res.json().await.unwrap();
        // An after photo (what T10 and T13 ask of the enterprise) is not an official's to add.
        let res = upload(&app, &c.street, &id, "after").await;
        expect_problem(res, 403, "role_forbidden").await;
        // The enterprise adds its own photos, and removes them, but not the official's.
        let own: Value = upload(&app, &c.reporter, &id, "after")
            .await
            .json()
            .await
            .unwrap();
        let path = |a: &Value| format!("/api/v1/attachments/{}", a["id"].as_str().unwrap());
        let res = app
            .call(Method::DELETE, &path(&evidence), Some(&c.reporter), None)
            .await;
        expect_problem(res, 403, "not_the_uploader").await;
        let res = app
            .call(Method::DELETE, &path(&own), Some(&c.principal), None)
            .await;
        assert_eq!(res.status(), 204, "a user of the same enterprise");
        let res = app
            .call(Method::DELETE, &path(&evidence), Some(&c.street), None)
            .await;
        assert_eq!(res.status(), 204, "the official who uploaded it");
        // One upload, one file: a second file part is a 422, not silently dropped.
        let part = |name: &str| {
            reqwest::multipart::Part::bytes(jpeg_marked(name))
                .file_name(name.to_string())
                .mime_str("image/jpeg")
                .unwrap()
        };
        let form = reqwest::multipart::Form::new()
            .part("file", part("a.jpg"))
            .part("file", part("b.jpg"))
            .text("kind", "before");
        let res = app
            .client
            .post(app.url(&format!("/api/v1/hazards/{id}/attachments")))
            .bearer_auth(&c.reporter)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let body = expect_problem(res, 422, "validation_failed").await;
        assert_eq!(error_fields(&body), ["file"]);
        assert!(
            hazard_view(&app, &id, &c.reporter).await["attachments"]
                .as_array()
                .unwrap()
                .is_empty()
        );
    }
);

db_test!(
    a_photo_uploaded_by_mistake_is_removed_before_posting_only,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = drafted(&app, &c, general_report()).await;
        let wrong: Value = upload(&app, &c.reporter, &id, "before")
            .await
            .json()
            .await
            .unwrap();
        let right: Value = upload(&app, &c.reporter, &id, "other")
            .await
            .json()
            .await
            .unwrap();
        let path = |a: &Value| format!("/api/v1/attachments/{}", a["id"].as_str().unwrap());
        let version = hazard_view(&app, &id, &c.reporter).await["version"]
            .as_i64()
            .unwrap();

        // Outside the caller's scope it is missing, as a missing one is; an admin decides
        // nothing; a stale ETag is refused. None of them removes it.
        let missing = app
            .call(
                Method::DELETE,
                "/api/v1/attachments/00000000-0000-7000-8000-000000000000",
                Some(&c.reporter),
                None,
            )
            .await;
        let missing = expect_problem(missing, 404, "not_found").await;
        let foreign = app
            .call(Method::DELETE, &path(&wrong), Some(&c.other_street), None)
            .await;
        assert_eq!(expect_problem(foreign, 404, "not_found").await, missing);
        let (_, admin) = app.user_token("ops", "admin", "AJW").await;
        let res = app
            .call(Method::DELETE, &path(&wrong), Some(&admin), None)
            .await;
        assert_eq!(res.status(), 403);
        let res = app
            .client
            .delete(app.url(&path(&wrong)))
            .bearer_auth(&c.reporter)
            .header("if-match", format!("\"{}\"", version - 1))
            .send()
            .await
            .unwrap();
        expect_problem(res, 412, "version_mismatch").await;
        // The enterprise's draft is its own: the street does not see it yet.
        let res = app
            .call(Method::DELETE, &path(&wrong), Some(&c.street), None)
            .await;
        assert_eq!(expect_problem(res, 404, "not_found").await, missing);
        assert_eq!(
            hazard_view(&app, &id, &c.reporter).await["attachments"]
                .as_array()
                .unwrap()
                .len(),
            2
        );

        let res = app
            .client
            .delete(app.url(&path(&wrong)))
            .bearer_auth(&c.reporter)
            .header("if-match", format!("\"{version}\""))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(
            res.headers()["etag"],
            format!("\"{}\"", version + 1).as_str()
        );
        let view = hazard_view(&app, &id, &c.reporter).await;
        let kept: Vec<&Value> = view["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["id"])
            .collect();
        assert_eq!(kept, vec![&right["id"]]);
        assert_eq!(
            app.call(Method::GET, &path(&wrong), Some(&c.reporter), None)
                .await
                .status(),
            404
        );
        // The ledger says what was removed, by whom.
        let entry = ledger_entry(&app, &id, &c.reporter, "hazard.attachment_removed").await;
        assert_eq!(
            entry["payload"]["record"]["attachment"]["sha256"],
            wrong["sha256"]
        );
        assert_eq!(entry["payload"]["record"]["attachment"]["kind"], "before");
        assert_eq!(entry["role"], "enterprise_reporter");
        let res = app
            .call(Method::DELETE, &path(&wrong), Some(&c.reporter), None)
            .await;
        expect_problem(res, 404, "not_found").await;

        // Submitted, the street sees it but does not rewrite the enterprise's report; returned,
        // the enterprise corrects it, photos included.
        let submit = format!("/api/v1/hazards/{id}/submit");
        call(&app, Method::POST, &submit, &c.reporter, json!({}), 200).await;
        let res = app
            .call(Method::DELETE, &path(&right), Some(&c.street), None)
            .await;
        assert_eq!(res.status(), 403);
        let res = app
            .call(Method::DELETE, &path(&right), Some(&c.reporter), None)
            .await;
        assert_eq!(
            expect_problem(res, 409, "invalid_state").await["current_status"],
            "submitted"
        );
        let back = json!({"reason": "照片不是本隐患的"});
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{id}/return"),
            &c.street,
            back,
            200,
        )
        .await;
        let res = app
            .call(Method::DELETE, &path(&right), Some(&c.reporter), None)
            .await;
        assert_eq!(res.status(), 204);
        let right: Value = upload(&app, &c.reporter, &id, "before")
            .await
            .json()
            .await
            .unwrap();

        // Once posted the evidence stays.
        call(&app, Method::POST, &submit, &c.reporter, json!({}), 200).await;
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{id}/post"),
            &c.street,
            json!({"deadline": "2026-06-30"}),
            200,
        )
        .await;
        let res = app
            .call(Method::DELETE, &path(&right), Some(&c.reporter), None)
            .await;
        let body = expect_problem(res, 409, "invalid_state").await;
        assert_eq!(body["current_status"], "on_ledger");
        assert_eq!(
            hazard_view(&app, &id, &c.reporter).await["attachments"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
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
    }
);

/// An S3-compatible server on loopback (moto's standalone server, installed by .ci/run).
struct S3Server {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s3_server() -> Option<S3Server> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = std::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "moto_server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Some(S3Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    })
}

db_test!(
    attachments_in_an_s3_compatible_store,
    |backend: Backend| async move {
        let Some(s3) = s3_server() else {
            // CI installs moto (.ci/run); a developer machine without it says so instead of passing silently.
            assert!(
                std::env::var_os("CI").is_none(),
                "moto_server is required in CI"
            );
            eprintln!("moto_server not installed (pip install 'moto[server]'): S3 variant not run");
            return;
        };
        // Create the bucket with a plain S3 PUT.
        let bucket = format!("hl-{}", uuid::Uuid::new_v4().simple());
        let res = reqwest::Client::new()
            .put(format!("{}/{bucket}", s3.endpoint))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "create bucket: {}", res.status());
        let endpoint = s3.endpoint.clone();
        let app = TestApp::start_with(
            &backend,
            |cfg| {
                cfg.attachments.store = "s3".into();
                cfg.attachments.s3_endpoint = endpoint;
                cfg.attachments.s3_bucket = bucket.clone();
                cfg.attachments.s3_access_key_id = "test".into();
                cfg.attachments.s3_secret_access_key = "test".into();
            },
            Default::default(),
        )
        .await;
        let c = cast(&app).await;
        let id = submitted_general(&app, &c).await;
        let res = upload(&app, &c.reporter, &id, "before").await;
        assert_eq!(res.status(), 201);
        let saved: Value = res.json().await.unwrap();
        // The object is in the bucket under its SHA-256, and comes back byte for byte.
        let sha = saved["sha256"].as_str().unwrap();
        let listed = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2", s3.endpoint))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(listed.contains(sha), "{listed}");
        let res = app
            .call(
                Method::GET,
                &format!("/api/v1/attachments/{}", saved["id"].as_str().unwrap()),
                Some(&c.street),
                None,
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.bytes().await.unwrap().to_vec(), jpeg_marked("before"));
        assert!(
            !app.state.config.data_dir.join("attachments").exists(),
            "nothing written locally"
        );
    }
);

db_test!(
    a_major_report_corrected_after_a_return_keeps_its_date,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = submitted_major(&app, &c, major_report()).await;
        let h = |a: &str| format!("/api/v1/hazards/{id}/{a}");
        call(
            &app,
            Method::POST,
            &h("return"),
            &c.inspector,
            json!({"reason": "判定依据条款有误"}),
            200,
        )
        .await;
        // Corrected and sent again three days later: reported on time all the same.
        app.advance(chrono::Duration::days(3));
        let principal = app.login("boss").await;
        let again = call(&app, Method::POST, &h("submit"), &principal, json!({}), 200).await;
        assert_eq!(again["submitted_on"], "2026-03-02", "{again}");
        let flags = again["compliance_flags"].as_array().unwrap();
        assert!(
            !flags.iter().any(|f| f == "regulator_report_late"),
            "{again}"
        );
    }
);

db_test!(
    an_officials_finding_is_seen_by_officials_and_kept_as_found,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        // 区应急局's inspector files a finding for the enterprise, without a title.
        let finding = call(&app, Method::POST, "/api/v1/hazards", &c.inspector,
            json!({"enterprise_id": c.enterprise, "description": "液氨管道阀门锈蚀渗漏\n现场有氨味", "location": "机房",
                   "category": "B06", "source": 5, "discovered_on": "2026-03-02", "level": "major"}), 201).await;
        let id = finding["id"].as_str().unwrap().to_string();
        assert_eq!(
            finding["title"], "液氨管道阀门锈蚀渗漏",
            "the description's first line"
        );
        assert_eq!(finding["filed_by_official"], true);
        // Officials in scope see the draft; an enterprise's own drafts stay its own.
        for token in [&c.district, &c.street] {
            hazard_view(&app, &id, token).await;
        }
        let own = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            general_report(),
            201,
        )
        .await;
        let res = app
            .call(
                Method::GET,
                &format!("/api/v1/hazards/{}", own["id"].as_str().unwrap()),
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!(res.status(), 404);
        let res = app
            .call(
                Method::GET,
                &format!("/api/v1/hazards/{id}"),
                Some(&c.other_street),
                None,
            )
            .await;
        assert_eq!(res.status(), 404, "out of scope");
        // The enterprise adds its report but does not rewrite the finding nor lower it.
        let path = format!("/api/v1/hazards/{id}");
        let (status, body) = app
            .call_json(
                Method::PATCH,
                &path,
                Some(&c.principal),
                Some(json!({"level": "general", "description": "无问题"})),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(crate::common::error_fields(&body), ["description", "level"]);
        let edited = call(
            &app,
            Method::PATCH,
            &path,
            &c.principal,
            json!({"responsible_person": "张建国", "responsible_phone": "13800000001"}),
            200,
        )
        .await;
        assert_eq!(edited["responsible_person"], "张建国");
        assert_eq!(edited["level"], "major");
        assert_eq!(edited["description"], "液氨管道阀门锈蚀渗漏\n现场有氨味");
    }
);

db_test!(
    moving_an_enterprise_moves_its_open_hazards,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let open = submitted_general(&app, &c).await;
        let voided = submitted_general(&app, &c).await;
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{voided}/void"),
            &c.street,
            json!({"reason": "false_report"}),
            200,
        )
        .await;
        // The district office corrects the enterprise's street.
        call(
            &app,
            Method::PATCH,
            &format!("/api/v1/enterprises/{}", c.enterprise),
            &c.district,
            json!({"street": "JSL"}),
            200,
        )
        .await;
        let moved = hazard_view(&app, &open, &c.other_street).await;
        assert_eq!(moved["street"], "JSL");
        assert!(offers(&moved, "post"), "the new street posts it: {moved}");
        let res = app
            .call(
                Method::GET,
                &format!("/api/v1/hazards/{open}"),
                Some(&c.street),
                None,
            )
            .await;
        assert_eq!(res.status(), 404, "no longer the old street's");
        // A void hazard stays with the street that handled it.
        assert_eq!(hazard_view(&app, &voided, &c.street).await["street"], "HYL");
        let entry = ledger_entry(&app, &open, &c.district, "hazard.street_changed").await;
        assert_eq!(
            entry["payload"]["changes"]["street"],
            json!({"before": "HYL", "after": "JSL"})
        );
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
    }
);

db_test!(
    misspelt_fields_and_control_characters_are_refused_by_name,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        // A filing that must be refused: the plain report with `changes` laid over it.
        let refused = |changes: Value| {
            let (app, token) = (&app, c.reporter.clone());
            async move {
                let mut body = general_report();
                for (k, v) in changes.as_object().unwrap() {
                    body[k] = v.clone();
                }
                call(app, Method::POST, "/api/v1/hazards", &token, body, 422).await
            }
        };
        // A misspelt field is named, not dropped (a 重大 report's temporary measures lost).
        let p = refused(json!({"temporary_measure": "加强巡检",
            "plan": {"goal": "x", "method": "y"}, "discovered_on": "2026-3-2"}))
        .await;
        assert_eq!(
            error_fields(&p),
            ["discovered_on", "plan.method", "temporary_measure"],
            "{p}"
        );
        // Control characters: a NUL (PostgreSQL's text cannot hold it), an escape, and line
        // breaks in a one-line field (an email's body that seems to carry header lines).
        let p = refused(json!({"title": "注入\r\nBcc: attacker@example.org",
            "location": "二号\u{0}车间", "description": "第一行\n第二行\t\u{1b}[31m"}))
        .await;
        assert_eq!(error_fields(&p), ["description", "location"], "{p}");
        let p = refused(json!({"title": "注入\r\nBcc: attacker@example.org",
            "responsible_person": "李四\n王五"}))
        .await;
        assert_eq!(error_fields(&p), ["title", "responsible_person"], "{p}");
        // The street (DESIGN's T1 names it) is the enterprise's: checked when given.
        let p = refused(json!({"street": "JSL"})).await;
        assert_eq!(error_fields(&p), ["street"], "{p}");
        assert!(
            p["errors"][0]["message"].as_str().unwrap().contains("HYL"),
            "{p}"
        );
        let verify = call(
            &app,
            Method::GET,
            "/api/v1/ledger/verify",
            &c.district,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(
            (&verify["ok"], &verify["entries"]),
            (&json!(true), &json!(0)),
            "{verify}"
        );
        let list = call(
            &app,
            Method::GET,
            "/api/v1/hazards",
            &c.reporter,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(list["items"], json!([]), "nothing was filed");
        // Line breaks are text in a description; money is kept in its shortest form.
        let mut body = general_report();
        body["description"] = json!("第一行\r\n第二行\t备注");
        body["planned_funds"] = json!("00012.50");
        body["street"] = json!("hyl");
        let h = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            body,
            201,
        )
        .await;
        assert_eq!(h["planned_funds"], "12.5", "{h}");
        let id = h["id"].as_str().unwrap();
        // A transition's body too.
        let p = call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{id}/submit"),
            &c.safety,
            json!({"direct_reprt": true}),
            422,
        )
        .await;
        assert_eq!(error_fields(&p), ["direct_reprt"], "{p}");
        assert_eq!(hazard_view(&app, id, &c.reporter).await["status"], "draft");
    }
);

db_test!(
    a_late_completion_is_not_dated_back_to_the_deadline,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = submitted(&app, &c, general_report()).await;
        let h = |action: &str| format!("/api/v1/hazards/{id}/{action}");
        let posting = json!({"deadline": "2026-03-10"});
        call(&app, Method::POST, &h("post"), &c.street, posting, 200).await;
        // Four months overdue, rectification is only now started …
        app.advance(chrono::Duration::days(121));
        let (principal, reporter) = (app.login("boss").await, app.login("clerk").await);
        call(&app, Method::POST, &h("start"), &principal, json!({}), 200).await;
        upload(&app, &reporter, &id, "after").await;
        let done_on = |day: &str| {
            json!({"completed_on": day, "summary": "已上锁", "actual_funds": "0.02",
                   "self_assessment": "合格"})
        };
        // … so it was not finished by the deadline: dating it back would erase the lateness
        // (超期整改) from the ledger and the statistics.
        let body = call(
            &app,
            Method::POST,
            &h("completion"),
            &reporter,
            done_on("2026-03-10"),
            422,
        )
        .await;
        assert_eq!(error_fields(&body), ["completed_on"], "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("2026-07-01"),
            "{body}"
        );
        // A progress update today, then the completion: dated today, it stands (the progress
        // rule itself is the domain's unit test).
        call(
            &app,
            Method::POST,
            &h("progress"),
            &reporter,
            json!({"note": "已订购锁具", "percent": 50}),
            200,
        )
        .await;
        let body = call(
            &app,
            Method::POST,
            &h("completion"),
            &reporter,
            done_on("2026-07-01"),
            200,
        )
        .await;
        assert_eq!(body["completed_on"], "2026-07-01");
        assert_eq!(body["overdue"], true, "done late, it stays overdue: {body}");
    }
);
