//! The pages: security basics over HTTP, and real-browser walks through Chromium.

use fantoccini::Locator;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::browser::Browser;
use crate::common::{Backend, PASSWORD, TestApp, expect_problem};
use crate::db_test;
use crate::hazards::{call, cast, general_report, hazard_view, upload};

const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn cookie_of(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn value_of(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string()
}

/// A report's fields as the form posts them (text, numbers written out).
fn form_fields(report: &Value) -> Vec<(&str, String)> {
    report
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.as_str(), v)
        })
        .collect()
}

/// `GET path` with the pages' session cookie `session`.
pub(crate) async fn get_page(app: &TestApp, path: &str, session: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .header("cookie", format!("hl_session={session}"))
        .send()
        .await
        .unwrap()
}

/// The HTML of `GET path` with the pages' session cookie `session`.
pub(crate) async fn page_text(app: &TestApp, path: &str, session: &str) -> String {
    get_page(app, path, session).await.text().await.unwrap()
}

/// The CSRF token a page's forms carry.
pub(crate) fn csrf_of(html: &str) -> String {
    html.split(r#"name="csrf" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string()
}

/// Posts the `/password` form.
async fn post_password(
    app: &TestApp,
    session: &str,
    csrf: &str,
    [current, new, again]: [&str; 3],
) -> reqwest::Response {
    app.client
        .post(app.url("/password"))
        .header("cookie", format!("hl_session={session}"))
        .form(&[
            ("csrf", csrf),
            ("current_password", current),
            ("new_password", new),
            ("new_password_again", again),
        ])
        .send()
        .await
        .unwrap()
}

/// Logs in through the login form; answers the session cookie value.
pub(crate) async fn form_login(app: &TestApp, username: &str) -> String {
    form_login_with(app, username, PASSWORD).await
}

/// [`form_login`] with another password.
async fn form_login_with(app: &TestApp, username: &str, password: &str) -> String {
    let page = app.get("/login").await;
    let csrf_cookie = cookie_of(&page, "hl_login_csrf").expect("login csrf cookie");
    let csrf = value_of(&csrf_cookie);
    let res = app
        .client
        .post(app.url("/login"))
        .header("cookie", format!("hl_login_csrf={csrf}"))
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
            ("next", "/hazards"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/hazards");
    let session = cookie_of(&res, "hl_session").expect("session cookie");
    // It lasts the session (auth.session_days, 30 by default), not the browser's run.
    assert!(session.contains("Max-Age=2592000"), "{session}");
    value_of(&session)
}

db_test!(pages_are_locked_down, |backend: Backend| async move {
    let app = TestApp::start(&backend).await;
    let c = cast(&app).await;

    // The login page: strict policy, no script, the login CSRF cookie is HttpOnly and Lax.
    let page = app.get("/login").await;
    assert_eq!(page.headers()["content-security-policy"], CSP);
    let set = cookie_of(&page, "hl_login_csrf").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http in tests");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "no script on pages");
    assert!(
        html.contains(r#"<label for="username">"#),
        "labelled fields"
    );

    // Without the CSRF token, no login.
    let res = app
        .client
        .post(app.url("/login"))
        .form(&[("username", "boss"), ("password", PASSWORD), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(cookie_of(&res, "hl_session").is_none());

    // Pages need a session.
    let res = app.get("/hazards").await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/login?next=/hazards");

    let session = form_login(&app, "boss").await;
    let with = |path: &str| {
        app.client
            .get(app.url(path))
            .header("cookie", format!("hl_session={session}"))
    };
    let res = with("/hazards").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let csrf = csrf_of(&html);

    // A form posted without the page's token changes nothing.
    let report = general_report();
    let post = |csrf: &str| {
        let mut form = vec![("level", "general".to_string()), ("csrf", csrf.to_string())];
        form.extend(form_fields(&report));
        app.client
            .post(app.url("/hazards/new"))
            .header("cookie", format!("hl_session={session}"))
            .form(&form)
            .send()
    };
    let res = post("forged").await.unwrap();
    assert_eq!(res.status(), 303);
    // Back to the form, which says that nothing was saved.
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(to, "/hazards/new?stale=1");
    let html = with(&to).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("没有保存"), "{html}");
    let list = call(
        &app,
        Method::GET,
        "/api/v1/hazards",
        &c.principal,
        Value::Null,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // With it, the draft is created through the API's rules.
    let res = post(&csrf).await.unwrap();
    if res.status() != 303 {
        let page = res.text().await.unwrap();
        let errs: Vec<&str> = page
            .split("field-error")
            .skip(1)
            .map(|s| &s[..s.len().min(120)])
            .collect();
        panic!("not created: {errs:?}");
    }
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.ends_with("?done=created"), "{to}");
    let list = call(
        &app,
        Method::GET,
        "/api/v1/hazards?status=draft",
        &c.principal,
        Value::Null,
        200,
    )
    .await;
    assert_eq!(list["items"][0]["title"], "配电箱未上锁");
    // The list page shows the draft, which has no deadline yet, among the reports not posted.
    let html = with("/hazards").send().await.unwrap().text().await.unwrap();
    let (_, unposted) = html
        .split_once("未上账（")
        .expect("the section of unposted reports");
    let (unposted, _) = unposted.split_once("已上账未销账").unwrap();
    assert!(unposted.contains("配电箱未上锁"), "{html}");

    // The bearer API does not take the cookie.
    let res = app
        .client
        .get(app.url("/api/v1/hazards"))
        .header("cookie", format!("hl_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // Nor do the pages take an API access token put into the cookie: the visitor is sent to
    // log in, as without a session.
    let api_token = app.login("boss").await;
    let res = get_page(&app, "/hazards", &api_token).await;
    assert_eq!(res.status(), 303, "{}", res.status());
    assert!(
        res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "{:?}",
        res.headers()
    );

    // Another enterprise's officer of another street cannot open the hazard's page.
    let hid = to
        .trim_start_matches("/hazards/")
        .trim_end_matches("?done=created")
        .to_string();
    let other = form_login(&app, "jsl-officer").await;
    let res = app
        .client
        .get(app.url(&format!("/hazards/{hid}")))
        .header("cookie", format!("hl_session={other}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // Logging out ends the session at once.
    let res = app
        .client
        .post(app.url("/logout"))
        .header("cookie", format!("hl_session={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let res = with("/hazards").send().await.unwrap();
    assert_eq!(res.status(), 303, "back to the login page");
    // A form posted with the ended session changes nothing and leads back to its hazard.
    let res = app
        .client
        .post(app.url(&format!("/hazards/{hid}/do/submit")))
        .header("cookie", format!("hl_session={session}"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        format!("/login?next=/hazards/{hid}").as_str()
    );
    let list = call(
        &app,
        Method::GET,
        "/api/v1/hazards?status=draft",
        &c.principal,
        Value::Null,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "still a draft");
});

/// Opens the hazard page's 提交报告 form and submits it.
async fn submit_report(b: &Browser) {
    b.open("提交报告").await;
    b.click("form[action$='/do/submit'] button").await;
}

db_test!(
    a_principal_files_a_major_hazard_with_photos_in_the_browser,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let Some(mut b) =
            Browser::start(&format!("file-major-{}", backend.name()), 1280, 1000).await
        else {
            return;
        };
        b.login(&app.base, "boss").await;
        assert!(b.body().await.contains("隐患清单"));
        b.click("nav a[href='/hazards/new']").await;
        b.click("#level-major").await;
        b.fill("#f-title", "液氨制冷机房氨泄漏报警装置失效").await;
        b.fill("#f-description", "机房氨气泄漏报警器故障").await;
        b.fill("#f-location", "一号冷库液氨制冷机房").await;
        b.select("#f-category", "B06").await;
        b.select("#f-source", "3").await;
        b.fill("#f-responsible_person", "张建国").await;
        b.fill("#f-responsible_phone", "13800000001").await;
        b.fill("#f-planned_funds", "12.5").await;
        b.fill("#f-status_and_cause", "报警器传感器老化失效").await;
        b.fill(
            "#f-severity_and_difficulty",
            "一旦泄漏可能导致中毒；整改难度一般",
        )
        .await;
        b.fill(
            "#f-judgement_basis-standard",
            "工贸企业重大事故隐患判定标准",
        )
        .await;
        // The clause and the temporary measures are forgotten.
        for (id, text) in [
            ("goal", "恢复报警与通风联锁"),
            ("methods", "更换传感器并调试联锁"),
            ("funds_materials", "12.5万元"),
            ("org_people", "设备部负责"),
            ("timeline", "4月20日前"),
            ("safety_and_emergency", "人工巡检"),
        ] {
            b.fill(&format!("#f-plan-{id}"), text).await;
        }
        b.shot("form-filled").await;
        // A draft may be incomplete: the report's blocks are asked for at submission.
        b.click("form[action='/hazards/new'] button[type=submit]")
            .await;
        assert!(b.body().await.contains("已保存草稿"));
        let url = b.client.current_url().await.unwrap();
        let id = url.path().trim_start_matches("/hazards/").to_string();
        // Submitted as it is, it is refused, naming what the report lacks.
        submit_report(&b).await;
        b.shot("submit-refused").await;
        let body = b.body().await;
        assert!(body.contains("判定依据（条款）"), "{body}");
        assert!(body.contains("临时管控措施"), "{body}");
        // Corrected on its edit page, which keeps what was typed.
        b.click("#edit-report").await;
        assert_eq!(b.value("#f-title").await, "液氨制冷机房氨泄漏报警装置失效");
        assert_eq!(b.value("#f-plan-goal").await, "恢复报警与通风联锁");
        assert_eq!(b.value("#f-category").await, "B06");
        b.fill("#f-judgement_basis-clause", "第十一条第（一）项")
            .await;
        b.fill("#f-temporary_measures", "人工每两小时巡检").await;
        b.click(&format!(
            "form[action='/hazards/{id}/edit'] button[type=submit]"
        ))
        .await;
        assert!(b.body().await.contains("报告已修改"), "{}", b.body().await);

        // A photo of the scene, then the report goes to the regulator.
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("现场.jpg");
        std::fs::write(&photo, crate::hazards::jpeg()).unwrap();
        b.click("details summary").await;
        b.select("#photo-kind", "before").await;
        b.client
            .find(Locator::Css("#photo-file"))
            .await
            .unwrap()
            .send_keys(photo.to_str().unwrap())
            .await
            .unwrap();
        b.shot("photo-chosen").await;
        b.click("form[enctype='multipart/form-data'] button").await;
        assert!(b.body().await.contains("照片已上传"));
        assert!(b.body().await.contains("整改前：现场.jpg"));
        submit_report(&b).await;
        let body = b.body().await;
        assert!(body.contains("已办理：提交报告"), "{body}");
        assert!(body.contains("已报告待上账"));
        assert!(body.contains("提交报告"), "timeline");
        b.shot("submitted").await;

        let h = hazard_view(&app, &id, &c.inspector).await;
        assert_eq!(h["status"], "submitted");
        assert_eq!(h["level"], "major");
        assert_eq!(h["judgement_basis"]["clause"], "第十一条第（一）项");
        assert_eq!(h["plan"]["goal"], "恢复报警与通风联锁");
        assert!(h["dual_report"]["regulator"].is_object());
        assert_eq!(h["attachments"][0]["kind"], "before");
        b.close().await;
    }
);

db_test!(
    a_street_officer_closes_a_general_hazard_from_a_phone,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let h = |id: &str, a: &str| format!("/api/v1/hazards/{id}/{a}");
        let d = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            general_report(),
            201,
        )
        .await;
        let id = d["id"].as_str().unwrap().to_string();
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
            json!({"deadline": "2026-03-20"}),
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
        assert_eq!(upload(&app, &c.reporter, &id, "after").await.status(), 201);
        call(&app, Method::POST, &h(&id, "completion"), &c.principal,
             json!({"completed_on": "2026-03-02", "summary": "已上锁", "actual_funds": "0.02", "self_assessment": "合格"}), 200).await;

        let Some(mut b) =
            Browser::start(&format!("phone-accept-{}", backend.name()), 390, 844).await
        else {
            return;
        };
        b.login(&app.base, "hyl-officer").await;
        // Officers land on their work queue.
        let body = b.body().await;
        assert!(body.contains("待验收"), "{body}");
        b.shot("queue").await;
        b.client
            .find(Locator::LinkText("配电箱未上锁"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        b.open("验收").await;
        b.select("#accept-result", "pass").await;
        b.fill("#accept-opinion", "已上锁，属实").await;
        assert_eq!(b.value("#accept-accepted_on").await, "2026-03-02");
        b.shot("accept-form").await;
        b.click("form[action$='/do/accept'] button").await;
        let body = b.body().await;
        assert!(body.contains("已办理：验收"), "{body}");
        assert!(body.contains("已销账"));
        // The check that closed it is on the page: conclusion, opinion, the 销账 date.
        for needle in ["验收结论", "通过", "已上锁，属实", "销账日期"] {
            assert!(body.contains(needle), "{needle}: {body}");
        }
        b.shot("closed").await;
        let got = hazard_view(&app, &id, &c.street).await;
        assert_eq!(got["status"], "closed");
        b.close().await;
    }
);

db_test!(
    a_member_of_the_public_files_an_anonymous_tip_and_follows_it,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let Some(mut b) = Browser::start(&format!("tip-{}", backend.name()), 390, 844).await else {
            return;
        };
        b.goto(&format!("{}/tips/new", app.base)).await;
        // A mistake first: no location, a wrong answer. What was typed stays.
        b.fill(
            "#t-description",
            "华阳路100号仓库消防通道被纸箱堵死，灭火器过期",
        )
        .await;
        b.fill("#t-answer", "1000").await;
        b.click("form[action='/tips/new'] button").await;
        b.shot("tip-errors").await;
        let body = b.body().await;
        assert!(body.contains("请修改标出的内容"), "{body}");
        assert_eq!(
            b.value("#t-description").await,
            "华阳路100号仓库消防通道被纸箱堵死，灭火器过期"
        );
        b.fill("#t-location", "长宁区华阳路100号仓库").await;
        let label = b.text("label[for='t-answer']").await;
        let question = label
            .trim_start_matches("验证：")
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        b.fill("#t-answer", &crate::tips::solve(&question).to_string())
            .await;
        let dir = tempfile::tempdir().unwrap();
        let photo = dir.path().join("通道.jpg");
        std::fs::write(&photo, crate::hazards::jpeg()).unwrap();
        b.client
            .find(Locator::Css("#t-photo"))
            .await
            .unwrap()
            .send_keys(photo.to_str().unwrap())
            .await
            .unwrap();
        b.click("form[action='/tips/new'] button").await;
        let code = b.text("#receipt").await;
        assert!(code.starts_with("JB-") && code.len() == 22, "{code}");
        b.shot("tip-receipt").await;
        // Reloading the receipt shows the same code again (it does not send the tip twice).
        b.client.refresh().await.unwrap();
        b.settle().await;
        assert_eq!(b.text("#receipt").await, code);

        // The street officer of 华阳路 (routed by the address) finds it among the street's tips,
        // confirms it as a hazard of the cold-chain company and replies, on the pages.
        b.login(&app.base, "hyl-officer").await;
        b.click("nav a[href='/tips/inbox']").await;
        let body = b.body().await;
        assert!(body.contains("待核查（按核查期限）（1）"), "{body}");
        assert!(
            body.contains("华阳路街道") && body.contains("已分派，待核查"),
            "{body}"
        );
        b.shot("tip-inbox").await;
        b.client
            .find(Locator::LinkText("长宁区华阳路100号仓库"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        b.settle().await;
        assert!(b.text("#tip-contact").await.starts_with("匿名"));
        let body = b.body().await;
        assert!(body.contains("举报照片1"), "{body}");
        assert!(!body.contains("通道.jpg"), "{body}");
        // Forgetting the enterprise: the form says so and keeps what was typed.
        b.open("属实：建立隐患草稿（隐患来源 6 投诉举报）").await;
        assert_eq!(
            b.value("#confirm_new-location").await,
            "长宁区华阳路100号仓库"
        );
        assert_eq!(b.value("#confirm_new-discovered_on").await, "2026-03-02");
        b.fill("#confirm_new-title", "仓库消防通道堵塞").await;
        b.select("#confirm_new-category", "B03").await;
        b.click("form[action$='/do/confirm_new'] button").await;
        let body = b.body().await;
        assert!(body.contains("请修改标出的内容"), "{body}");
        assert!(!body.contains("exactly one"), "{body}");
        assert_eq!(b.text("#confirm_new-enterprise_id-err").await, "必填");
        assert_eq!(b.value("#confirm_new-title").await, "仓库消防通道堵塞");
        b.shot("tip-confirm-error").await;
        b.select("#confirm_new-enterprise_id", &c.enterprise).await;
        b.click("form[action$='/do/confirm_new'] button").await;
        let body = b.body().await;
        assert!(body.contains("已办理：属实：建立隐患草稿"), "{body}");
        assert_eq!(b.text("#tip-status").await, "属实，待答复");
        let href = b
            .client
            .find(Locator::Css("#tip-hazard"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        let hazard = href.trim_start_matches("/hazards/").to_string();
        b.open("答复举报人").await;
        b.fill("#reply-message", "已责令企业整改，感谢监督。").await;
        b.click("form[action$='/do/reply'] button").await;
        assert_eq!(b.text("#tip-status").await, "已答复");
        b.shot("tip-replied").await;
        let (_, list) = app
            .call_json(Method::GET, "/api/v1/tips", Some(&c.street), None)
            .await;
        let tip = list["items"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(list["items"][0]["anonymous"], true);
        assert_eq!(list["items"][0]["hazard_id"], hazard.as_str());
        // Another street's officer does not find it.
        let res = get_page(
            &app,
            &format!("/tips/inbox/{tip}"),
            &form_login(&app, "jsl-officer").await,
        )
        .await;
        assert_eq!(res.status(), 404);
        assert!(res.text().await.unwrap().contains("未找到该举报"));

        // The enterprise sees the hazard, never the tip nor who sent it.
        let h = hazard_view(&app, &hazard, &c.principal).await;
        assert_eq!(h["source"], 6);
        assert_eq!(
            app.call(
                Method::GET,
                &format!("/api/v1/tips/{tip}"),
                Some(&c.principal),
                None
            )
            .await
            .status(),
            403
        );

        // The reporter follows it by the code alone.
        b.goto(&format!("{}/tips/status", app.base)).await;
        b.fill("#code", &code.to_lowercase()).await;
        b.click("form[action='/tips/status'] button").await;
        let body = b.body().await;
        assert!(body.contains("已责令企业整改，感谢监督。"), "{body}");
        assert!(!body.contains("hyl-officer"));
        b.shot("tip-status").await;
        b.close().await;
    }
);

db_test!(
    an_officer_files_an_inspection_finding_from_the_form,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let page = |session: String| {
            let app = &app;
            async move {
                let res = get_page(app, "/hazards/new", &session).await;
                res.text().await.unwrap()
            }
        };
        // The enterprise's own users file for their enterprise: no choice to make.
        let html = page(form_login(&app, "boss").await).await;
        assert!(!html.contains(r#"name="enterprise_id""#));
        // The street officer chooses among the street's enterprises only.
        let session = form_login(&app, "hyl-officer").await;
        let html = page(session.clone()).await;
        assert!(
            html.contains(r#"<select id="f-enterprise_id" name="enterprise_id""#),
            "{html}"
        );
        assert!(html.contains(&format!(r#"<option value="{}">"#, c.enterprise)));
        assert!(html.contains("上海长宁冷链物流有限公司") && !html.contains("江苏路商厦"));
        let csrf = csrf_of(&html);
        let report = general_report();
        let post = |enterprise: &str| {
            let mut form = vec![
                ("level", "general".to_string()),
                ("csrf", csrf.clone()),
                ("enterprise_id", enterprise.to_string()),
            ];
            form.extend(form_fields(&report));
            app.client
                .post(app.url("/hazards/new"))
                .header("cookie", format!("hl_session={session}"))
                .form(&form)
                .send()
        };
        // Without a choice, the form says so beside the choice.
        let res = post("").await.unwrap();
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(
            html.contains(r#"<span class="field-error" id="f-enterprise_id-err">"#),
            "{html}"
        );
        let res = post(&c.enterprise).await.unwrap();
        assert_eq!(res.status(), 303);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        let id = location
            .trim_start_matches("/hazards/")
            .split('?')
            .next()
            .unwrap()
            .to_string();
        let h = hazard_view(&app, &id, &c.street).await;
        assert_eq!(h["status"], "draft");
        assert_eq!(h["enterprise"]["id"], c.enterprise.as_str(), "{h}");
        assert_eq!(h["reporter_id"], c.street_id.as_str());
        // Its page names the street and the department, not their codes.
        let html = page_text(&app, &location, &session).await;
        assert!(html.contains("华阳路街道"), "{html}");
        assert!(!html.contains(" HYL ") && !html.contains(">HYL<"), "{html}");
    }
);

db_test!(
    the_inspector_reads_the_major_report_and_its_plan_on_the_page,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = crate::hazards::submitted_major(&app, &c, crate::hazards::major_report()).await;
        let report = crate::hazards::major_report();
        let inspector = form_login(&app, "yjj").await;
        let page = format!("/hazards/{id}");
        let html = page_text(&app, &page, &inspector).await;
        // What the inspector decides 上账 on: the three blocks of the report (L7) and its basis.
        for key in [
            "status_and_cause",
            "severity_and_difficulty",
            "temporary_measures",
        ] {
            let text = report[key].as_str().unwrap();
            assert!(html.contains(text), "{key} on the page");
        }
        assert!(html.contains("第十一条第（一）项"), "the judgement basis");
        assert!(html.contains("B06 "), "the category, with its name");
        assert!(html.contains("2026-03-10"), "the plan's due date");
        assert!(!html.contains("<h2>治理方案</h2>"), "no plan filed yet");
        // Posted, then the plan filed: the inspector reads its six parts; the principal's form
        // to file it again starts from it.
        let h = |a: &str| format!("/api/v1/hazards/{id}/{a}");
        call(
            &app,
            Method::POST,
            &h("post"),
            &c.inspector,
            json!({"deadline": "2026-04-30"}),
            200,
        )
        .await;
        call(
            &app,
            Method::PUT,
            &h("plan"),
            &c.principal,
            crate::hazards::plan(),
            200,
        )
        .await;
        let html = page_text(&app, &page, &inspector).await;
        let (_, plan) = html
            .split_once("<h2>治理方案</h2>")
            .expect("the plan's section");
        // Posted and not yet made known to employees: the list says so (DESIGN: flags are
        // visible in lists).
        let list = page_text(&app, "/hazards", &inspector).await;
        let row = list
            .split("<tr>")
            .find(|r| r.contains(&id))
            .expect("the hazard's row");
        assert!(row.contains("未向从业人员通报"), "{row}");
        for part in crate::hazards::plan().as_object().unwrap().values() {
            assert!(plan.contains(part.as_str().unwrap()), "{part} in {plan}");
        }
        let principal = form_login(&app, "boss").await;
        let html = page_text(&app, &page, &principal).await;
        let (_, form) = html
            .split_once("/do/file_plan")
            .expect("filing the plan again is offered");
        assert!(
            form.contains(">恢复氨泄漏报警与事故通风联锁</textarea>"),
            "{form}"
        );
    }
);

db_test!(
    the_district_office_records_the_notices_delivery_on_the_page,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = crate::supervision::posted_major(&app, &c, "2026-04-30").await;
        let h = |a: &str| format!("/api/v1/hazards/{id}/{a}");
        let page = format!("/hazards/{id}");
        let session = form_login(&app, "district").await;
        assert!(
            !page_text(&app, &page, &session)
                .await
                .contains("/do/delivery"),
            "not listed yet"
        );
        let listing = json!({"level": "district", "supervising_unit": "长宁区安全生产委员会办公室",
            "supervising_department": "区应急局", "doc_no": "长安委督字〔2026〕第9号", "signed_by": "王主任",
            "complete_by": "2026-04-30", "plan_file_by": "2026-03-15"});
        call(&app, Method::POST, &h("listing"), &c.district, listing, 200).await;
        let html = page_text(&app, &page, &session).await;
        let (_, form) = html.split_once("/do/delivery").expect("the delivery form");
        assert!(form.contains(r#"type="datetime-local""#), "{form}");
        let csrf = csrf_of(&html);
        let action = format!("/hazards/{id}/do/delivery");
        // A missing signer is named beside its field; nothing is recorded.
        let partial = [
            ("csrf", csrf.clone()),
            ("delivered_by", "李科员".to_string()),
            ("received_at", "2026-03-02T08:30".to_string()),
        ];
        let res = post_page(&app, &action, &session, &partial).await;
        assert_eq!(res.status(), 422);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains(r#"id="delivery-received_by-err""#)
        );
        let full = [
            ("csrf", csrf),
            ("delivered_by", "李科员".to_string()),
            ("received_by", "张建国".to_string()),
            ("received_at", "2026-03-02T08:30".to_string()),
        ];
        let res = post_page(&app, &action, &session, &full).await;
        assert_eq!(res.status(), 303);
        let view = hazard_view(&app, &id, &c.district).await;
        assert_eq!(view["listing"]["received_by"], "张建国");
        assert_eq!(
            view["listing"]["received_at"], "2026-03-02T08:30:00+08:00",
            "Shanghai time"
        );
        assert!(
            !page_text(&app, &page, &session)
                .await
                .contains("/do/delivery"),
            "recorded once"
        );
        // Nobody else is offered it.
        let inspector = form_login(&app, "yjj").await;
        assert!(
            !page_text(&app, &page, &inspector)
                .await
                .contains("/do/delivery")
        );
    }
);

db_test!(
    only_the_department_is_offered_a_level_change_at_posting,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = crate::hazards::submitted_general(&app, &c).await;
        let post_form = |html: String| {
            let (_, form) = html.split_once("/do/post\"").expect("the 上账 form");
            form.split("</form>").next().unwrap().to_string()
        };
        let page = format!("/hazards/{id}");
        let street =
            post_form(page_text(&app, &page, &form_login(&app, "hyl-officer").await).await);
        assert!(street.contains(r#"name="deadline""#), "{street}");
        assert!(!street.contains(r#"name="level""#), "{street}");
        assert!(!street.contains("judgement_basis"), "{street}");
        let inspector = post_form(page_text(&app, &page, &form_login(&app, "yjj").await).await);
        assert!(inspector.contains(r#"name="level""#), "{inspector}");
    }
);

db_test!(
    each_officer_queues_what_they_decide,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let h = |id: &str, action: &str| format!("/api/v1/hazards/{id}/{action}");
        // A 一般 hazard waiting for the street's acceptance, a 重大 one waiting to be posted.
        let general = crate::hazards::submitted_general(&app, &c).await;
        let deadline = json!({"deadline": "2026-03-20"});
        call(
            &app,
            Method::POST,
            &h(&general, "post"),
            &c.street,
            deadline,
            200,
        )
        .await;
        call(
            &app,
            Method::POST,
            &h(&general, "start"),
            &c.principal,
            json!({}),
            200,
        )
        .await;
        let after = crate::hazards::upload(&app, &c.reporter, &general, "after").await;
        assert_eq!(after.status(), 201);
        let done = json!({"completed_on": "2026-03-02", "summary": "已上锁", "actual_funds": "0.1",
                          "self_assessment": "合格"});
        call(
            &app,
            Method::POST,
            &h(&general, "completion"),
            &c.principal,
            done,
            200,
        )
        .await;
        crate::hazards::submitted_major(&app, &c, crate::hazards::major_report()).await;

        let queue = |user: &'static str| {
            let app = &app;
            async move {
                let session = form_login(app, user).await;
                let html = page_text(app, "/queue", &session).await;
                // (to post, to accept)
                let (post, rest) = html.split_once("<h2>待验收").expect("sections");
                let accept = rest.split("<h2>").next().unwrap().to_string();
                (post.to_string(), accept)
            }
        };
        // The street officer's own inspection finding, fixed on the spot by the enterprise:
        // waiting for acceptance, but not by the officer who reported it.
        let mut finding = crate::hazards::general_report();
        finding["title"] = json!("消防通道堆放杂物");
        finding["enterprise_id"] = json!(c.enterprise);
        let own = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.street,
            finding,
            201,
        )
        .await;
        let own = own["id"].as_str().unwrap().to_string();
        for kind in ["before", "after"] {
            crate::hazards::upload(&app, &c.reporter, &own, kind).await;
        }
        let fixed = call(
            &app,
            Method::POST,
            &h(&own, "quick-fix"),
            &c.reporter,
            json!({"summary": "已清理", "actual_funds": "0"}),
            200,
        )
        .await;
        assert_eq!(fixed["status"], "pending_acceptance");
        let (general_title, major_title) = ("配电箱未上锁", "液氨制冷机房氨泄漏报警装置失效");
        // The street posts and accepts 一般 hazards only.
        let (post, accept) = queue("hyl-officer").await;
        assert!(!post.contains(major_title), "{post}");
        assert!(accept.contains(general_title), "{accept}");
        assert!(
            !accept.contains("消防通道堆放杂物"),
            "verifier ≠ reporter: {accept}"
        );
        // The department posts the 重大 one, and accepts none of the street's.
        let (post, accept) = queue("yjj").await;
        assert!(post.contains(major_title), "{post}");
        assert!(!accept.contains(general_title), "{accept}");
        // The district office posts and accepts nothing: its queue is the listed and the
        // overdue hazards; its statistics page is the statistics.
        let session = form_login(&app, "district").await;
        let html = page_text(&app, "/queue", &session).await;
        assert!(
            html.contains("<h2>挂牌督办中") && !html.contains("待上账"),
            "{html}"
        );
        let html = page_text(&app, "/dashboard", &session).await;
        assert!(html.contains("<h1>统计</h1>"), "{html}");
    }
);

db_test!(
    the_page_cookie_is_not_an_api_token,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        cast(&app).await;
        let session = form_login(&app, "hyl-officer").await;
        // It opens the pages...
        assert_eq!(get_page(&app, "/queue", &session).await.status(), 200);
        // ...but the API refuses it as a bearer token (README: "The bearer API never accepts the
        // cookie"); an API login's token works.
        let res = app
            .call(Method::GET, "/api/v1/me", Some(&session), None)
            .await;
        assert_eq!(res.status(), 401);
        let token = app.login("hyl-officer").await;
        let res = app
            .call(Method::GET, "/api/v1/me", Some(&token), None)
            .await;
        assert_eq!(res.status(), 200);
    }
);

db_test!(
    a_new_user_changes_the_initial_password_on_the_pages,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        cast(&app).await;
        let created = call(
            &app,
            Method::POST,
            "/api/v1/users",
            &app.user_token("root", "admin", "AJW").await.1,
            json!({"username": "web.clerk", "role": "enterprise_reporter", "org": crate::hazards::HYL_USCC}),
            201,
        )
        .await;
        let initial = created["initial_password"].as_str().unwrap().to_string();
        let session = form_login_with(&app, "web.clerk", &initial).await;
        // Every page leads to the password page until the password is changed.
        for path in ["/hazards", "/hazards/new"] {
            let res = get_page(&app, path, &session).await;
            assert_eq!(res.status(), 303, "{path}");
            assert_eq!(res.headers()["location"], "/password");
        }
        let html = page_text(&app, "/password", &session).await;
        assert!(html.contains("须先修改密码"), "{html}");
        let csrf = csrf_of(&html);
        let res = post_password(
            &app,
            &session,
            &csrf,
            [&initial, "Brand-New-Pass-26", "Brand-New-Pass-27"],
        )
        .await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("两次输入的新密码不一致"));
        let res = post_password(
            &app,
            &session,
            &csrf,
            ["not-the-password", "Brand-New-Pass-26", "Brand-New-Pass-26"],
        )
        .await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("当前密码不正确"));
        let res = post_password(
            &app,
            &session,
            &csrf,
            [&initial, "Brand-New-Pass-26", "Brand-New-Pass-26"],
        )
        .await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/hazards?done=password");
        let fresh = cookie_of(&res, "hl_session")
            .map(|c| value_of(&c))
            .expect("a new session");
        // The old session ended with the old password; the new one opens the pages.
        assert_eq!(get_page(&app, "/hazards", &session).await.status(), 303);
        let res = get_page(&app, "/hazards?done=password", &fresh).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("密码已修改"));
        let (status, token) = app
            .call_json(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "web.clerk", "password": "Brand-New-Pass-26"})),
            )
            .await;
        assert_eq!(status, 200);
        let me = app
            .call(
                Method::GET,
                "/api/v1/enterprises",
                Some(token["access_token"].as_str().unwrap()),
                None,
            )
            .await;
        assert_eq!(me.status(), 200);
    }
);

db_test!(
    guessing_the_current_password_on_the_page_locks_and_says_so,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        cast(&app).await;
        let session = form_login(&app, "hyl-officer").await;
        let html = page_text(&app, "/password", &session).await;
        let csrf = csrf_of(&html);
        let new = "Brand-New-Pass-26";
        // auth.login_max_failures (5) wrong guesses lock the account...
        for _ in 0..5 {
            let res = post_password(&app, &session, &csrf, ["not-the-password", new, new]).await;
            assert_eq!(res.status(), 422);
        }
        // ...and the page says so, even to the right password.
        let res = post_password(&app, &session, &csrf, [PASSWORD, new, new]).await;
        assert_eq!(res.status(), 429);
        // With the wait, as the API's 429 says it.
        let wait: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait > 0 && wait <= 15 * 60, "{wait}");
        assert!(res.text().await.unwrap().contains("错误次数过多"));
    }
);

/// Posts a page form with the session cookie.
pub(crate) async fn post_page(
    app: &TestApp,
    path: &str,
    session: &str,
    form: &[(&str, String)],
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .header("cookie", format!("hl_session={session}"))
        .form(form)
        .send()
        .await
        .unwrap()
}

db_test!(
    a_returned_report_is_corrected_and_resubmitted_on_the_pages,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let mut report = general_report();
        report["planned_funds"] = json!("0.5");
        let h = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &c.reporter,
            report,
            201,
        )
        .await;
        assert_eq!(h["planned_funds"], "0.5");
        let id = h["id"].as_str().unwrap().to_string();
        let api = |a: &str| format!("/api/v1/hazards/{id}/{a}");
        call(
            &app,
            Method::POST,
            &api("submit"),
            &c.reporter,
            json!({}),
            200,
        )
        .await;
        call(
            &app,
            Method::POST,
            &api("return"),
            &c.street,
            json!({"reason": "位置不具体，请写明配电房编号"}),
            200,
        )
        .await;

        let session = form_login(&app, "clerk").await;
        let page = get_page(&app, &format!("/hazards/{id}"), &session).await;
        let html = page.text().await.unwrap();
        assert!(
            html.contains(&format!("/hazards/{id}/edit")),
            "the detail page offers the correction"
        );
        let why = html
            .split("<h2>退回原因")
            .nth(1)
            .expect("the reason, shown");
        assert!(why.contains("位置不具体，请写明配电房编号"), "{why}");
        let page = get_page(&app, &format!("/hazards/{id}/edit"), &session).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains("配电箱未上锁"),
            "the form holds the report: {html}"
        );
        let csrf = csrf_of(&html);
        let version = html
            .split(r#"name="version" value=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let mut form = vec![("csrf", csrf.clone()), ("level", "general".to_string())];
        let fields = general_report();
        form.extend(form_fields(&fields));
        form.retain(|(k, _)| *k != "location");
        form.push(("location", "二号车间3号配电房".to_string()));
        // An emptied optional field is cleared, not kept.
        form.retain(|(k, _)| *k != "planned_funds");
        form.push(("planned_funds", String::new()));
        let mut stale = form.clone();
        form.push(("version", version.clone()));
        let res = post_page(&app, &format!("/hazards/{id}/edit"), &session, &form).await;
        assert_eq!(res.status(), 303);
        assert!(
            res.headers()["location"]
                .to_str()
                .unwrap()
                .ends_with("?done=edited"),
            "{:?}",
            res.headers()
        );
        let after = hazard_view(&app, &id, &c.reporter).await;
        assert_eq!(after["location"], "二号车间3号配电房");
        assert!(after["planned_funds"].is_null(), "{after}");
        assert_eq!(after["status"], "returned");
        // The same form again, from before that change: refused, with the newer report shown.
        stale.push(("version", version));
        let res = post_page(&app, &format!("/hazards/{id}/edit"), &session, &stale).await;
        assert_eq!(res.status(), 409);
        let html = res.text().await.unwrap();
        assert!(
            html.contains("已被他人修改") && html.contains("二号车间3号配电房"),
            "{html}"
        );
        // Another street's officer does not find it.
        let other = form_login(&app, "jsl-officer").await;
        assert_eq!(
            get_page(&app, &format!("/hazards/{id}/edit"), &other)
                .await
                .status(),
            404
        );
        // Resubmitted from the page; once submitted it is no longer editable.
        let res = post_page(
            &app,
            &format!("/hazards/{id}/do/submit"),
            &session,
            &[("csrf", csrf.clone())],
        )
        .await;
        assert_eq!(res.status(), 303);
        let res = get_page(&app, &format!("/hazards/{id}/edit"), &session).await;
        assert_eq!(res.status(), 303);
        // An action the page no longer offers is refused with a message in Chinese.
        let res = post_page(
            &app,
            &format!("/hazards/{id}/do/submit"),
            &session,
            &[("csrf", csrf)],
        )
        .await;
        assert_eq!(res.status(), 409);
        let html = res.text().await.unwrap();
        assert!(html.contains("隐患当前状态为“已报告待上账”"), "{html}");
    }
);

db_test!(
    officers_raise_a_level_and_page_refusals_say_why,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = crate::hazards::submitted_general(&app, &c).await;
        // The inspector raises the report to 重大 at 上账 from the page.
        let inspector = form_login(&app, "yjj").await;
        let html = page_text(&app, &format!("/hazards/{id}"), &inspector).await;
        let csrf = csrf_of(&html);
        let form = [
            ("csrf", csrf.clone()),
            ("deadline", "2026-06-30".to_string()),
            ("level", "major".to_string()),
            ("level_change_reason", "涉氨制冷，停电将致泄漏".to_string()),
            (
                "judgement_basis.standard",
                "工贸企业重大事故隐患判定标准".to_string(),
            ),
            ("judgement_basis.clause", "第四条".to_string()),
        ];
        let res = post_page(&app, &format!("/hazards/{id}/do/post"), &inspector, &form).await;
        assert_eq!(res.status(), 303);
        let h = hazard_view(&app, &id, &c.principal).await;
        assert_eq!(h["level"], "major", "{h}");
        assert_eq!(h["judgement_basis"]["clause"], "第四条");
        // The principal files the 重大 report the raise asks for, then asks for an extension
        // too early: the page names the day the window opens.
        let principal = form_login(&app, "boss").await;
        let html = page_text(&app, &format!("/hazards/{id}"), &principal).await;
        assert!(html.contains("补报重大事故隐患报告"), "{html}");
        // When an extension may be asked for (deadline 2026-06-30).
        assert!(
            html.contains("至 2026-06-30（整改期限前最后 15 个工作日，含期限当日）"),
            "{html}"
        );
        // Raised to 重大: its 五落实 are shown, the plan's parts not yet in place.
        assert!(
            html.contains(r#"<td id="five">责任 ✗ · 措施 ✗ · 资金 ✗ · 时限 ✗ · 预案 ✗</td>"#),
            "{html}"
        );
        let csrf = csrf_of(&html);
        let report = [
            ("csrf", csrf.clone()),
            ("status_and_cause", "液氨机房供电无备用电源".to_string()),
            ("severity_and_difficulty", "停电致制冷失效".to_string()),
            ("temporary_measures", "临时发电机".to_string()),
            // T2's planned funds, which the 一般 report left out (and its before photo, below).
            ("planned_funds", "5".to_string()),
        ];
        upload(&app, &c.reporter, &id, "before").await;
        let res = post_page(
            &app,
            &format!("/hazards/{id}/do/major_report"),
            &principal,
            &report,
        )
        .await;
        assert_eq!(res.status(), 303);
        let res = post_page(
            &app,
            &format!("/hazards/{id}/do/major_report"),
            &principal,
            &report,
        )
        .await;
        assert_eq!(res.status(), 409);
        assert!(res.text().await.unwrap().contains("不能重复报送"));
        let ask = [
            ("csrf", csrf),
            ("reason", "设备采购周期长".to_string()),
            ("interim_measures", "停用该区域".to_string()),
            ("requested_deadline", "2026-07-31".to_string()),
        ];
        let res = post_page(
            &app,
            &format!("/hazards/{id}/do/request_extension"),
            &principal,
            &ask,
        )
        .await;
        assert_eq!(res.status(), 409);
        let html = res.text().await.unwrap();
        assert!(html.contains("起才能申请延期"), "{html}");
        assert!(!html.contains("extensions may be requested"), "{html}");
    }
);

db_test!(
    an_overdue_enterprise_explains_itself_on_the_page,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = crate::hazards::submitted_general(&app, &c).await;
        let api = |a: &str| format!("/api/v1/hazards/{id}/{a}");
        let deadline = json!({"deadline": "2026-03-10"});
        call(&app, Method::POST, &api("post"), &c.street, deadline, 200).await;
        // The first overdue step (+1 day) owes the written explanation.
        let admin = app.user_token("ops", "admin", "AJW").await.1;
        let run = "/api/v1/admin/jobs/escalation/run";
        call(
            &app,
            Method::POST,
            run,
            &admin,
            json!({"date": "2026-03-11"}),
            200,
        )
        .await;
        let session = form_login(&app, "clerk").await;
        let page = format!("/hazards/{id}");
        let html = page_text(&app, &page, &session).await;
        assert!(html.contains("逾期未提交书面说明"), "{html}");
        assert!(html.contains("逾期书面说明"), "{html}");
        let csrf = csrf_of(&html);
        let action = format!("/hazards/{id}/do/overdue_explanation");
        let partial = [("csrf", csrf.clone()), ("reason", "锁具缺货".to_string())];
        let res = post_page(&app, &action, &session, &partial).await;
        assert_eq!(res.status(), 422);
        let text = res.text().await.unwrap();
        assert!(text.contains("已采取的措施"), "{text}");
        let full = [
            ("csrf", csrf),
            ("reason", "锁具缺货".to_string()),
            ("measures", "临时围挡，每班巡查".to_string()),
            ("expected_completion_on", "2026-03-20".to_string()),
        ];
        let res = post_page(&app, &action, &session, &full).await;
        assert_eq!(res.status(), 303);
        let html = page_text(&app, &page, &session).await;
        assert!(!html.contains("逾期未提交书面说明"), "{html}");
        assert!(html.contains("提交逾期书面说明"), "the timeline: {html}");
        assert!(html.contains("锁具缺货"), "{html}");
        let h = hazard_view(&app, &id, &c.district).await;
        assert!(h["explanation_owed_on"].is_null(), "{h}");
        // The street reads the whole explanation, not only its reason.
        let street = form_login(&app, "hyl-officer").await;
        let html = page_text(&app, &page, &street).await;
        let said = html
            .split("<h2>逾期书面说明")
            .nth(1)
            .expect("the explanation");
        assert!(
            said.contains("临时围挡，每班巡查") && said.contains("2026-03-20"),
            "{said}"
        );
    }
);

db_test!(
    an_inspectors_queue_shows_plans_and_extensions_to_decide,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let mut report = crate::hazards::major_report();
        report["plan"] = crate::hazards::plan();
        report.as_object_mut().unwrap().remove("plan_due_on");
        let major = crate::hazards::submitted_major(&app, &c, report).await;
        let inspector = form_login(&app, "yjj").await;
        let html = page_text(&app, "/queue", &inspector).await;
        let section = html
            .split("待备案治理方案")
            .nth(1)
            .expect("the plans section")
            .split("待审批延期")
            .next()
            .unwrap()
            .to_string();
        assert!(section.contains(&format!("/hazards/{major}")), "{html}");
        // Another department's inspector has nothing of it to acknowledge.
        let other = form_login(&app, "scj").await;
        let html = page_text(&app, "/queue", &other).await;
        assert!(!html.contains(&format!("/hazards/{major}")), "{html}");
        // A street officer decides neither.
        let street = form_login(&app, "hyl-officer").await;
        assert!(
            !page_text(&app, "/queue", &street)
                .await
                .contains("待备案治理方案")
        );
    }
);

db_test!(
    an_inspector_saves_a_major_finding_and_the_deciders_read_the_completion,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        // An inspection finding, 重大, saved as a draft without the enterprise's report — and a
        // long description (a real report runs to thousands of characters).
        let inspector = form_login(&app, "yjj").await;
        let html = page_text(&app, "/hazards/new", &inspector).await;
        let long = "液氨管道阀门锈蚀渗漏，现场有明显氨味。".repeat(150);
        let form = vec![
            ("csrf", csrf_of(&html)),
            ("enterprise_id", c.enterprise.clone()),
            ("level", "major".to_string()),
            ("title", "液氨管道阀门渗漏".to_string()),
            ("description", long.clone()),
            ("location", "一号冷库机房".to_string()),
            ("category", "B06".to_string()),
            ("source", "5".to_string()),
            ("discovered_on", "2026-03-02".to_string()),
        ];
        // Each byte of UTF-8 is three of the form's encoding (%E6…): over actix's 16 KiB default.
        assert!(long.len() * 3 > 16 * 1024);
        let res = post_page(&app, "/hazards/new", &inspector, &form).await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let list = call(
            &app,
            Method::GET,
            "/api/v1/hazards?status=draft",
            &c.principal,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(list["items"][0]["level"], "major", "{list}");
        assert_eq!(list["items"][0]["title"], "液氨管道阀门渗漏");

        // A 一般 hazard through completion: the street officer reads the report before accepting.
        let id = crate::hazards::submitted_general(&app, &c).await;
        let api = |a: &str| format!("/api/v1/hazards/{id}/{a}");
        let street = form_login(&app, "hyl-officer").await;
        let html = page_text(&app, &format!("/hazards/{id}"), &street).await;
        assert!(!html.contains("治理方案备案"), "no plan forms on 一般");
        call(
            &app,
            Method::POST,
            &api("post"),
            &c.street,
            json!({"deadline": "2026-03-20"}),
            200,
        )
        .await;
        call(
            &app,
            Method::POST,
            &api("start"),
            &c.principal,
            json!({}),
            200,
        )
        .await;
        upload(&app, &c.reporter, &id, "after").await;
        call(&app, Method::POST, &api("completion"), &c.reporter,
             json!({"completed_on": "2026-03-02", "summary": "已加锁并张贴警示", "actual_funds": "0.35", "self_assessment": "整改到位"}), 200).await;
        let html = page_text(&app, &format!("/hazards/{id}"), &street).await;
        let section = html
            .split("整改完成报告")
            .nth(1)
            .expect("the completion report");
        for shown in ["已加锁并张贴警示", "0.35", "整改到位", "2026-03-02"] {
            assert!(section.contains(shown), "{shown}: {section}");
        }
        // A mistyped address is a page in Chinese, for a browser.
        let res = app
            .client
            .get(app.url("/hazard/nope"))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
        assert!(res.text().await.unwrap().contains("未找到该页面"));
    }
);

db_test!(
    a_request_whose_date_has_passed_can_only_be_refused_on_the_page,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = crate::hazards::submitted_general(&app, &c).await;
        let api = |a: &str| format!("/api/v1/hazards/{id}/{a}");
        call(
            &app,
            Method::POST,
            &api("post"),
            &c.street,
            json!({"deadline": "2026-03-10"}),
            200,
        )
        .await;
        call(&app, Method::POST, &api("extensions"), &c.principal,
             json!({"reason": "备件到货延迟", "interim_measures": "临时围挡", "requested_deadline": "2026-03-31"}), 200).await;
        let select = |html: &str| {
            html.split("id=\"decide_extension-approved\"")
                .nth(1)
                .and_then(|s| s.split("</select>").next())
                .expect("the decision's select")
                .to_string()
        };
        let inspector = form_login(&app, "yjj").await;
        let html = page_text(&app, &format!("/hazards/{id}"), &inspector).await;
        assert!(
            select(&html).contains("value=\"true\""),
            "open: both answers"
        );
        // Undecided past the date asked for.
        app.advance(chrono::Duration::days(30));
        let inspector = form_login(&app, "yjj").await;
        let html = page_text(&app, &format!("/hazards/{id}"), &inspector).await;
        let options = select(&html);
        assert!(
            !options.contains("value=\"true\"") && options.contains("value=\"false\""),
            "{options}"
        );
        assert!(!html.contains("id=\"decide_extension-deadline\""));
    }
);

db_test!(
    a_clerk_removes_a_wrong_photo_from_the_draft_page,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let id = crate::hazards::drafted(&app, &c, general_report()).await;
        let photo: Value = upload(&app, &c.reporter, &id, "before")
            .await
            .json()
            .await
            .unwrap();
        let aid = photo["id"].as_str().unwrap();
        let session = form_login(&app, "clerk").await;
        let html = page_text(&app, &format!("/hazards/{id}"), &session).await;
        let action = format!("/hazards/{id}/photos/{aid}/remove");
        assert!(html.contains(&format!(r#"action="{action}""#)), "{html}");
        let csrf = csrf_of(&html);
        let remove = |csrf: String| {
            app.client
                .post(app.url(&action))
                .header("cookie", format!("hl_session={session}"))
                .form(&[("csrf", csrf)])
                .send()
        };
        // A stale form removes nothing.
        let res = remove("stale".into()).await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(
            hazard_view(&app, &id, &c.reporter).await["attachments"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let res = remove(csrf.clone()).await.unwrap();
        assert_eq!(res.status(), 303);
        let location = res.headers()["location"].to_str().unwrap().to_string();
        assert_eq!(location, format!("/hazards/{id}?done=photo_removed"));
        let html = page_text(&app, &location, &session).await;
        assert!(html.contains("照片或文件已移除。"), "{html}");
        assert!(!html.contains(aid), "{html}");
        assert!(
            hazard_view(&app, &id, &c.reporter).await["attachments"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        // Once submitted the page offers no removal.
        upload(&app, &c.reporter, &id, "before").await;
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{id}/submit"),
            &c.reporter,
            json!({}),
            200,
        )
        .await;
        let html = page_text(&app, &format!("/hazards/{id}"), &session).await;
        assert!(
            html.contains("照片和文件") && !html.contains("/remove\""),
            "{html}"
        );
        // The street's officer adds a photo of its own and returns the report: the clerk may
        // remove the enterprise's photo again, not the officer's (which the API refuses).
        let theirs: Value = upload(&app, &c.street, &id, "other")
            .await
            .json()
            .await
            .unwrap();
        let theirs = theirs["id"].as_str().unwrap().to_string();
        call(
            &app,
            Method::POST,
            &format!("/api/v1/hazards/{id}/return"),
            &c.street,
            json!({"reason": "照片不清"}),
            200,
        )
        .await;
        let html = page_text(&app, &format!("/hazards/{id}"), &session).await;
        assert!(html.contains(&theirs), "listed: {html}");
        assert!(!html.contains(&format!("photos/{theirs}/remove")), "{html}");
        assert_eq!(html.matches("/remove\"").count(), 1, "{html}");
        let res = app
            .call(
                Method::DELETE,
                &format!("/api/v1/attachments/{theirs}"),
                Some(&c.reporter),
                None,
            )
            .await;
        expect_problem(res, 403, "not_the_uploader").await;
    }
);

db_test!(
    the_congress_form_starts_from_the_body_the_headcount_asks_for,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        cast(&app).await;
        // 江苏路商厦 has 50 staff: its 重大 hazards go to the 职工大会 (L11).
        app.user_token("jsl-boss", "enterprise_principal", crate::hazards::JSL_USCC)
            .await;
        let boss = app.login("jsl-boss").await;
        let draft = call(
            &app,
            Method::POST,
            "/api/v1/hazards",
            &boss,
            crate::hazards::major_report(),
            201,
        )
        .await;
        assert_eq!(
            draft["dual_report"]["expected_congress_body"],
            "all_staff_meeting"
        );
        let id = draft["id"].as_str().unwrap();
        let html = page_text(
            &app,
            &format!("/hazards/{id}"),
            &form_login(&app, "jsl-boss").await,
        )
        .await;
        assert!(
            html.contains(r#"<option value="all_staff_meeting" selected>"#),
            "{html}"
        );
        assert!(!html.contains(r#"<option value="workers_congress" selected>"#));
    }
);

db_test!(
    the_report_form_chooses_the_sector_that_routes_the_hazard,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        cast(&app).await;
        // A commercial complex (商贸, 区商务委) reports a fire hazard: 消防 goes to the fire brigade.
        let (_, boss) = app
            .user_token("jsl-boss", "enterprise_principal", crate::hazards::JSL_USCC)
            .await;
        let session = form_login(&app, "jsl-boss").await;
        let html = page_text(&app, "/hazards/new", &session).await;
        assert!(html.contains("不选：按企业登记的行业领域"), "{html}");
        assert!(html.contains("区消防救援支队"), "{html}");
        let report = |sector: &str, csrf: String| {
            vec![
                ("csrf", csrf),
                ("level", "general".to_string()),
                ("title", "消防水泵故障".to_string()),
                ("description", "地下室消防水泵无法启动".to_string()),
                ("location", "地下二层泵房".to_string()),
                ("category", "B05".to_string()),
                ("source", "3".to_string()),
                ("discovered_on", "2026-03-02".to_string()),
                ("handling", "time_limited".to_string()),
                ("suspension", "none".to_string()),
                ("responsible_person", "李四".to_string()),
                ("responsible_phone", "13900000000".to_string()),
                ("sector", sector.to_string()),
            ]
        };
        // A sector that does not exist is the sector's error, and nothing is filed.
        let res = post_page(
            &app,
            "/hazards/new",
            &session,
            &report("nope", csrf_of(&html)),
        )
        .await;
        assert_eq!(res.status(), 422);
        let page = res.text().await.unwrap();
        assert!(page.contains("id=\"f-sector-err\""), "{page}");
        let none = call(
            &app,
            Method::GET,
            "/api/v1/hazards",
            &boss,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(none["items"], json!([]));

        let res = post_page(
            &app,
            "/hazards/new",
            &session,
            &report("fire", csrf_of(&html)),
        )
        .await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let list = call(
            &app,
            Method::GET,
            "/api/v1/hazards",
            &boss,
            Value::Null,
            200,
        )
        .await;
        let id = list["items"][0]["id"].as_str().unwrap().to_string();
        let h = hazard_view(&app, &id, &boss).await;
        assert_eq!(h["sectors"], json!(["fire"]), "{h}");
        assert_eq!(h["departments"]["primary"], "XFZD", "{h}");

        // Correcting it shows the sector chosen; saved as it is, the sector stays.
        let edit = page_text(&app, &format!("/hazards/{id}/edit"), &session).await;
        assert!(edit.contains("<option value=\"fire\" selected>"), "{edit}");
        let mut form = report("", csrf_of(&edit));
        form.push(("version", h["version"].to_string()));
        form[2].1 = "消防水泵故障（已断电）".to_string();
        let res = post_page(&app, &format!("/hazards/{id}/edit"), &session, &form).await;
        assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
        let h = hazard_view(&app, &id, &boss).await;
        assert_eq!(h["title"], "消防水泵故障（已断电）");
        assert_eq!(h["sectors"], json!(["fire"]), "{h}");
    }
);
