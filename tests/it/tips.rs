//! Public tip-offs (举报): filing without login, the receipt code, privacy of the reporter,
//! the anti-automation check and limits, routing, and the officers' triage.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, expect_problem};
use crate::db_test;
use crate::hazards::{cast, general_report, jpeg, submitted_general};

const NAME: &str = "王小明";
const PHONE: &str = "13912345678";

/// Answers a question such as 三加五等于几？
pub fn solve(question: &str) -> i64 {
    let digit = |c: char| "零一二三四五六七八九".chars().position(|d| d == c).unwrap() as i64;
    let chars: Vec<char> = question.chars().collect();
    let a = digit(chars[0]);
    let rest: String = chars[1..].iter().collect();
    let (op, b) = if let Some(r) = rest.strip_prefix("加") {
        ('+', r)
    } else if let Some(r) = rest.strip_prefix("减") {
        ('-', r)
    } else if let Some(r) = rest.strip_prefix("乘以") {
        ('*', r)
    } else {
        panic!("question {question}")
    };
    let b = digit(b.chars().next().unwrap());
    match op {
        '+' => a + b,
        '-' => a - b,
        _ => a * b,
    }
}

/// A fresh challenge: (token, right answer).
async fn challenge(app: &TestApp) -> (String, String) {
    let (status, c) = app.get_json("/api/v1/tips/challenge").await;
    assert_eq!(status, 200, "{c}");
    let q = c["question"].as_str().unwrap();
    (
        c["token"].as_str().unwrap().to_string(),
        solve(q).to_string(),
    )
}

/// A tip body with a solved challenge; `extra` overrides or adds fields.
async fn tip_body(app: &TestApp, extra: Value) -> Value {
    let (token, answer) = challenge(app).await;
    let mut body = json!({
        "description": "仓库内堆放大量纸箱，消防通道被堵死，灭火器过期",
        "location": "长宁区华阳路100号仓库",
        "occurred_on": "2026-03-01",
        "challenge_token": token,
        "challenge_answer": answer,
        "website": "",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// Files a tip; answers (status, body).
async fn file(app: &TestApp, extra: Value) -> (u16, Value) {
    let body = tip_body(app, extra).await;
    app.call_json(Method::POST, "/api/v1/tips", None, Some(body))
        .await
}

/// Files a tip that must succeed; answers (receipt code, tip id as the district office sees it).
async fn filed(app: &TestApp, district: &str, extra: Value) -> (String, String) {
    let (status, body) = file(app, extra).await;
    assert_eq!(status, 201, "{body}");
    let code = body["receipt_code"].as_str().unwrap().to_string();
    // The newest tip in the district office's list.
    let (_, list) = app
        .call_json(Method::GET, "/api/v1/tips?limit=1", Some(district), None)
        .await;
    (code, list["items"][0]["id"].as_str().unwrap().to_string())
}

async fn triage(app: &TestApp, token: &str, id: &str, body: Value, want: u16) -> Value {
    crate::hazards::call(
        app,
        Method::POST,
        &format!("/api/v1/tips/{id}/triage"),
        token,
        body,
        want,
    )
    .await
}

use crate::common::error_fields as fields;

db_test!(
    anonymous_tip_and_status_by_receipt_code,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let (status, body) = file(&app, json!({"location": "长宁区愚园路1088号弄堂内"})).await;
        assert_eq!(status, 201, "{body}");
        let code = body["receipt_code"].as_str().unwrap().to_string();
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups[0], "JB");
        assert_eq!(groups.len(), 5, "{code}");
        assert!(groups[1..].iter().all(|g| {
            g.len() == 4
                && g.chars()
                    .all(|ch| ch.is_ascii_digit() || ch.is_ascii_uppercase())
                && !g.contains(['I', 'L', 'O', 'U'])
        }));
        assert_eq!(body["status"], "routed", "愚园路 is in 江苏路街道");
        assert_eq!(body["received_on"], "2026-03-02");
        assert_eq!(body["status_url"], format!("/api/v1/tips/status/{code}"));

        let (s, st) = app.get_json(&format!("/api/v1/tips/status/{code}")).await;
        assert_eq!(s, 200, "{st}");
        assert_eq!(st["status"], "routed");
        assert_eq!(st["received_on"], "2026-03-02");
        assert!(st["outcome"].is_null());

        // The street officer of 江苏路 works on it with internal notes, then replies.
        let (_, list) = app
            .call_json(Method::GET, "/api/v1/tips", Some(&c.other_street), None)
            .await;
        let id = list["items"][0]["id"].as_str().unwrap().to_string();
        assert_eq!(list["items"][0]["anonymous"], true);
        assert_eq!(list["items"][0]["due_on"], "2026-03-17");
        let t = triage(
            &app,
            &c.other_street,
            &id,
            json!({"action": "verify", "note": "内部备注：先电话联系物业"}),
            200,
        )
        .await;
        assert_eq!(t["status"], "verifying");
        assert!(t["contact"].is_null(), "anonymous");
        triage(
            &app,
            &c.other_street,
            &id,
            json!({"action": "not_confirmed", "reason": "内部原因：现场已清理"}),
            200,
        )
        .await;
        let t = triage(
            &app,
            &c.other_street,
            &id,
            json!({"action": "reply", "message": "经现场核查，通道已清理完毕，感谢您的监督。"}),
            200,
        )
        .await;
        assert_eq!(t["status"], "replied");

        // The reporter looks it up, typing it sloppily.
        let sloppy = code.to_lowercase().replace('-', " ");
        let res = app
            .get(&format!(
                "/api/v1/tips/status/{}",
                sloppy.replace(' ', "%20")
            ))
            .await;
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        let st: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(st["status"], "replied");
        assert_eq!(st["receipt_code"], code.as_str());
        assert_eq!(st["outcome"], "经核查，未发现您反映的问题。");
        assert_eq!(
            st["replies"][0]["message"],
            "经现场核查，通道已清理完毕，感谢您的监督。"
        );
        for secret in [
            "内部备注",
            "内部原因",
            "JSL",
            "jsl-officer",
            "actor",
            "note",
        ] {
            assert!(!text.contains(secret), "{secret} leaks into {text}");
        }
        let res = app.get("/api/v1/tips/status/JB-0000-0000-0000-0000").await;
        expect_problem(res, 404, "not_found").await;
        let res = app.get("/api/v1/tips/status/nonsense").await;
        expect_problem(res, 404, "not_found").await;
    }
);

db_test!(
    the_reporters_contact_reaches_only_the_officers_handling_it,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let admin = app.user_token("root", "admin", "AJW").await.1;
        let (_, id) = filed(
            &app,
            &c.district,
            json!({"contact_name": NAME, "contact_phone": "139 1234 5678", "sector": "fire"}),
        )
        .await;

        // 华阳路 officer (by address) and 消防 (by sector) handle it and see the contact.
        let (s, t) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/tips/{id}"),
                Some(&c.street),
                None,
            )
            .await;
        assert_eq!(s, 200, "{t}");
        assert_eq!(t["street"], "HYL");
        assert_eq!(t["street_routed_by"], "address");
        assert_eq!(t["department"], "XFZD");
        assert_eq!(t["contact"], json!({"name": NAME, "phone": PHONE}));
        assert_eq!(t["anonymous"], false);
        let xfzd = app
            .user_token("xfzd", "department_inspector", "XFZD")
            .await
            .1;
        let (s, t) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/tips/{id}"),
                Some(&xfzd),
                None,
            )
            .await;
        assert_eq!((s, t["contact"]["phone"].as_str()), (200, Some(PHONE)));
        // Lists never carry it.
        let (_, list) = app
            .call_json(Method::GET, "/api/v1/tips", Some(&c.street), None)
            .await;
        assert!(!list.to_string().contains(PHONE) && !list.to_string().contains(NAME));
        // Nor does a triage answer, which an Idempotency-Key keeps for replays.
        let res = app
            .client
            .post(app.url(&format!("/api/v1/tips/{id}/triage")))
            .bearer_auth(&c.street)
            .header("idempotency-key", "verify-once")
            .json(&json!({"action": "verify", "note": "派员核查"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["status"], "verifying");
        assert!(answer.get("contact").is_none(), "{answer}");
        assert!(!answer.to_string().contains(PHONE), "{answer}");

        // Others: another street and another department do not see it; enterprise users and
        // admins take no part.
        for token in [&c.other_street, &c.inspector] {
            let res = app
                .call(
                    Method::GET,
                    &format!("/api/v1/tips/{id}"),
                    Some(token),
                    None,
                )
                .await;
            expect_problem(res, 404, "not_found").await;
        }
        for token in [&c.reporter, &c.principal, &admin] {
            let res = app
                .call(
                    Method::GET,
                    &format!("/api/v1/tips/{id}"),
                    Some(token),
                    None,
                )
                .await;
            expect_problem(res, 403, "role_forbidden").await;
        }

        // Confirmed: a hazard draft of the enterprise, source 6, without the contact.
        let mut hazard = general_report();
        hazard["enterprise_id"] = json!(c.enterprise);
        hazard["action"] = json!("confirm");
        hazard["source"] = json!(1);
        hazard["note"] = json!(format!("举报人{NAME}电话{PHONE}，请回访"));
        let t = triage(&app, &c.street, &id, hazard, 200).await;
        assert_eq!(t["status"], "confirmed");
        assert_eq!(t["resolution"], "hazard_created");
        let hid = t["hazard_id"].as_str().unwrap().to_string();

        let (s, h) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/hazards/{hid}"),
                Some(&c.street),
                None,
            )
            .await;
        assert_eq!(s, 200, "{h}");
        assert_eq!(h["source"], 6, "a confirmed tip is source 6 (投诉举报)");
        assert_eq!(h["status"], "draft");
        for token in [&c.street, &c.reporter] {
            for path in [
                format!("/api/v1/hazards/{hid}"),
                format!("/api/v1/hazards/{hid}/events"),
            ] {
                let res = app.call(Method::GET, &path, Some(token), None).await;
                assert_eq!(res.status(), 200, "{path}");
                let text = res.text().await.unwrap();
                assert!(
                    !text.contains(PHONE) && !text.contains(NAME),
                    "{path}: {text}"
                );
                assert!(!text.contains("1234 5678"), "{path}");
            }
        }
        let (_, events) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/hazards/{hid}/events"),
                Some(&c.street),
                None,
            )
            .await;
        let kinds: Vec<&str> = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["hazard.created", "tip.confirmed"]);
        // The enterprise reads what was decided, not the tip's id: a UUIDv7 carries the moment
        // the tip was filed, which helps find who filed it.
        let street_text = app
            .call(
                Method::GET,
                &format!("/api/v1/hazards/{hid}/events"),
                Some(&c.street),
                None,
            )
            .await
            .text()
            .await
            .unwrap();
        assert!(street_text.contains(&id), "{street_text}");
        let (_, seen) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/hazards/{hid}/events"),
                Some(&c.reporter),
                None,
            )
            .await;
        let confirmed = &seen["items"][1];
        assert_eq!(confirmed["kind"], "tip.confirmed");
        assert_eq!(confirmed["payload"]["action"], "confirm");
        assert!(!seen.to_string().contains(&id), "{seen}");

        let res = app
            .call(
                Method::GET,
                "/api/v1/ledger?limit=1000",
                Some(&c.district),
                None,
            )
            .await;
        let text = res.text().await.unwrap();
        assert!(text.contains("tip.received") && text.contains("tip.confirmed"));
        assert!(
            !text.contains(PHONE) && !text.contains(NAME),
            "ledger: {text}"
        );
        let (_, verify) = app
            .call_json(
                Method::GET,
                "/api/v1/ledger/verify",
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!(verify["ok"], true, "{verify}");

        // The officer who confirmed the tip filed the 一般 hazard, and submits it (T2: the
        // reporter); then the district office sees it too.
        let (_, h) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/hazards/{hid}"),
                Some(&c.street),
                None,
            )
            .await;
        assert!(crate::hazards::offers(&h, "submit"), "{h}");
        let res = app
            .call(
                Method::POST,
                &format!("/api/v1/hazards/{hid}/submit"),
                Some(&c.other_street),
                Some(json!({})),
            )
            .await;
        assert_eq!(res.status(), 404, "another street's officer");
        let res = app
            .call(
                Method::POST,
                &format!("/api/v1/hazards/{hid}/submit"),
                Some(&c.street),
                Some(json!({})),
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let (s, h) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/hazards/{hid}"),
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!((s, h["status"].as_str()), (200, Some("submitted")), "{h}");

        let res = app
            .call(
                Method::GET,
                "/api/v1/hazards/export?format=csv",
                Some(&c.street),
                None,
            )
            .await;
        assert_eq!(res.status(), 200);
        let csv = res.text().await.unwrap();
        assert!(
            csv.contains("配电箱未上锁"),
            "the hazard is exported: {csv}"
        );
        assert!(!csv.contains(PHONE) && !csv.contains(NAME));
    }
);

db_test!(
    challenge_failures_and_honeypot,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let post = |body: Value| {
            let app = &app;
            async move {
                app.call(Method::POST, "/api/v1/tips", None, Some(body))
                    .await
            }
        };
        // Nothing at all: every required field is named.
        let p = expect_problem(post(json!({})).await, 422, "validation_failed").await;
        assert_eq!(
            fields(&p),
            [
                "description",
                "location",
                "occurred_on",
                "challenge_token",
                "challenge_answer"
            ]
        );
        // A wrong answer, a forged token, the honeypot.
        let mut body = tip_body(&app, json!({})).await;
        let right: i64 = body["challenge_answer"].as_str().unwrap().parse().unwrap();
        body["challenge_answer"] = json!((right + 1).to_string());
        let p = expect_problem(post(body.clone()).await, 422, "validation_failed").await;
        assert_eq!(fields(&p), ["challenge_answer"]);
        body["challenge_token"] = json!("1.2.3");
        let p = expect_problem(post(body).await, 422, "validation_failed").await;
        assert_eq!(fields(&p), ["challenge_token"]);
        let body = tip_body(&app, json!({"website": "http://spam.example"})).await;
        let p = expect_problem(post(body).await, 422, "validation_failed").await;
        assert_eq!(fields(&p), ["website"]);
        // A bad phone and a future date are named too.
        let body = tip_body(
            &app,
            json!({"contact_phone": "12345", "occurred_on": "2026-03-03"}),
        )
        .await;
        let p = expect_problem(post(body).await, 422, "validation_failed").await;
        assert_eq!(fields(&p), ["occurred_on", "contact_phone"]);
        // A token answers once.
        let body = tip_body(&app, json!({})).await;
        assert_eq!(post(body.clone()).await.status(), 201);
        let p = expect_problem(post(body).await, 422, "validation_failed").await;
        assert_eq!(fields(&p), ["challenge_token"]);
        // And expires.
        let body = tip_body(&app, json!({})).await;
        app.advance(chrono::Duration::minutes(31));
        let p = expect_problem(post(body).await, 422, "validation_failed").await;
        assert_eq!(fields(&p), ["challenge_token"]);
        assert!(
            p["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("expired")
        );
        // Chinese numerals are fine answers.
        let mut body = tip_body(&app, json!({})).await;
        let n: usize = body["challenge_answer"].as_str().unwrap().parse().unwrap();
        if n <= 9 {
            body["challenge_answer"] =
                json!("零一二三四五六七八九".chars().nth(n).unwrap().to_string());
        }
        assert_eq!(post(body).await.status(), 201);
    }
);

db_test!(
    filing_is_rate_limited_per_ip,
    |backend: Backend| async move {
        let app = TestApp::start_with(
            &backend,
            |c| c.tips.rate_per_ip_per_hour = 3,
            Default::default(),
        )
        .await;
        assert_eq!(file(&app, json!({})).await.0, 201);
        // Failed attempts count too: refused by the rules, and refused before the rules are
        // read (a body of another kind).
        let res = app
            .call(Method::POST, "/api/v1/tips", None, Some(json!({})))
            .await;
        assert_eq!(res.status(), 422);
        let res = app
            .client
            .post(app.url("/api/v1/tips"))
            .header("content-type", "text/plain")
            .body("消防通道堵塞")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415);
        let body = tip_body(&app, json!({})).await;
        let res = app
            .call(Method::POST, "/api/v1/tips", None, Some(body))
            .await;
        assert!(res.headers().get("retry-after").is_some());
        expect_problem(res, 429, "rate_limited").await;
        // The public page's form is refused the same way, with the wait and in Chinese.
        let res = app
            .client
            .post(app.url("/tips/new"))
            .multipart(reqwest::multipart::Form::new().text("description", "消防通道堵塞"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 429);
        assert!(res.headers().get("retry-after").is_some());
        assert!(res.text().await.unwrap().contains("提交过于频繁"));
    }
);

db_test!(size_limits_answer_413, |backend: Backend| async move {
    let app = TestApp::start_with(
        &backend,
        |c| c.attachments.max_bytes = 2048,
        Default::default(),
    )
    .await;
    let body = tip_body(&app, json!({"description": "堵".repeat(30_000)})).await;
    let res = app
        .call(Method::POST, "/api/v1/tips", None, Some(body))
        .await;
    expect_problem(res, 413, "payload_too_large").await;
    // A description under the byte limit but over the character limit is a field error.
    let body = tip_body(&app, json!({"description": "堵".repeat(5001)})).await;
    let res = app
        .call(Method::POST, "/api/v1/tips", None, Some(body))
        .await;
    let p = expect_problem(res, 422, "validation_failed").await;
    assert_eq!(fields(&p), ["description"]);
    // A photo over attachments.max_bytes.
    let (token, answer) = challenge(&app).await;
    let form = reqwest::multipart::Form::new()
        .text("description", "消防通道堵塞")
        .text("location", "华阳路1号")
        .text("occurred_on", "2026-03-01")
        .text("challenge_token", token)
        .text("challenge_answer", answer)
        .part(
            "photo",
            reqwest::multipart::Part::bytes(vec![0xFF; 4096]).file_name("big.jpg"),
        );
    let res = app
        .client
        .post(app.url("/api/v1/tips"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    expect_problem(res, 413, "payload_too_large").await;
    // Neither JSON nor a form.
    let res = app
        .client
        .post(app.url("/api/v1/tips"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    expect_problem(res, 415, "unsupported_media_type").await;
});

fn tip_form(token: String, answer: String) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("description", "配电房门口堆放易燃物")
        .text("location", "长宁区江苏路500号配电房")
        .text("occurred_on", "2026-02-28")
        .text("contact_phone", "021-62345678")
        .text("challenge_token", token)
        .text("challenge_answer", answer)
        .text("website", "")
}

/// A phone's photo: a JPEG whose EXIF names where it was taken and whose camera it was.
fn phone_photo() -> Vec<u8> {
    let segment = |marker: u8, contents: &[u8]| {
        let len = u16::try_from(contents.len() + 2).unwrap().to_be_bytes();
        [&[0xFF, marker], &len[..], contents].concat()
    };
    [
        &[0xFF, 0xD8][..],
        &segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
        &segment(0xE1, b"Exif\0\0II*\0GPS 31.22N 121.42E owner WANG-XIAOMING"),
        &segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]),
        &[0x12, 0x34, 0x56, 0xFF, 0xD9][..],
    ]
    .concat()
}

db_test!(multipart_tip_with_a_photo, |backend: Backend| async move {
    let app = TestApp::start(&backend).await;
    let c = cast(&app).await;
    let (token, answer) = challenge(&app).await;
    let form = tip_form(token, answer).part(
        "photo",
        reqwest::multipart::Part::bytes(phone_photo())
            .file_name("现场.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    let res = app
        .client
        .post(app.url("/api/v1/tips"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let code = res.json::<Value>().await.unwrap()["receipt_code"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = app.get_json(&format!("/api/v1/tips/status/{code}")).await;
    assert_eq!(s, 200);
    let (_, list) = app
        .call_json(Method::GET, "/api/v1/tips", Some(&c.other_street), None)
        .await;
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let (_, t) = app
        .call_json(
            Method::GET,
            &format!("/api/v1/tips/{id}"),
            Some(&c.other_street),
            None,
        )
        .await;
    assert_eq!(t["contact"]["phone"], "021-62345678");
    assert!(t["contact"]["name"].is_null());
    let photo = &t["photos"][0];
    assert_eq!(photo["content_type"], "image/jpeg");
    // Named by the service, not by the reporter's phone.
    assert_eq!(photo["file_name"], "举报照片1.jpeg");
    let path = format!("/api/v1/tips/{id}/photos/{}", photo["id"].as_str().unwrap());
    let res = app
        .call(Method::GET, &path, Some(&c.other_street), None)
        .await;
    assert_eq!(res.status(), 200);
    // Kept without its metadata (L5: the reporter is protected): the picture, not the place
    // and the owner of the phone.
    let kept = res.bytes().await.unwrap().to_vec();
    let text = String::from_utf8_lossy(&kept);
    assert!(
        !text.contains("WANG-XIAOMING") && !text.contains("GPS"),
        "{text}"
    );
    assert!(kept.starts_with(&[0xFF, 0xD8]) && kept.ends_with(&[0x12, 0x34, 0x56, 0xFF, 0xD9]));
    let res = app.call(Method::GET, &path, Some(&c.street), None).await;
    expect_problem(res, 404, "not_found").await;

    // Not a photo; too many photos.
    let (token, answer) = challenge(&app).await;
    let form = tip_form(token, answer).part(
        "photo",
        reqwest::multipart::Part::bytes(b"plain text".to_vec()).file_name("a.jpg"),
    );
    let res = app
        .client
        .post(app.url("/api/v1/tips"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 422, "validation_failed").await;
    assert_eq!(fields(&p), ["photo"]);
    let (token, answer) = challenge(&app).await;
    let mut form = tip_form(token, answer);
    for i in 0..6 {
        form = form.part(
            "photo",
            reqwest::multipart::Part::bytes(jpeg()).file_name(format!("{i}.jpg")),
        );
    }
    let res = app
        .client
        .post(app.url("/api/v1/tips"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let p = expect_problem(res, 422, "validation_failed").await;
    assert_eq!(fields(&p), ["photo"]);
});

db_test!(
    routing_by_address_sector_and_the_district_office,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let xjz = app.user_token("xjz", "street_officer", "XJZ").await.1;
        let (_, id) = filed(&app, &c.district, json!({"location": "新泾镇北翟路某仓库"})).await;
        let (s, t) = app
            .call_json(Method::GET, &format!("/api/v1/tips/{id}"), Some(&xjz), None)
            .await;
        assert_eq!((s, t["street"].as_str()), (200, Some("XJZ")));

        // The reporter's street wins over the address.
        let (_, id) = filed(
            &app,
            &c.district,
            json!({"location": "华阳路1号", "street": "JSL"}),
        )
        .await;
        let (s, t) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/tips/{id}"),
                Some(&c.other_street),
                None,
            )
            .await;
        assert_eq!((s, t["street_routed_by"].as_str()), (200, Some("reporter")));

        // Nothing matches (or two streets tie): unrouted, for the district office alone.
        let (status, body) = file(&app, json!({"location": "华阳路与江苏路交叉口"})).await;
        assert_eq!((status, body["status"].as_str()), (201, Some("received")));
        let (_, list) = app
            .call_json(
                Method::GET,
                "/api/v1/tips?status=received",
                Some(&c.district),
                None,
            )
            .await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        let id = items[0]["id"].as_str().unwrap().to_string();
        assert!(items[0]["street"].is_null());
        let (_, list) = app
            .call_json(Method::GET, "/api/v1/tips", Some(&c.street), None)
            .await;
        assert!(list["items"].as_array().unwrap().is_empty());
        // Confirming an unrouted tip is too early.
        let p = triage(
            &app,
            &c.district,
            &id,
            json!({"action": "confirm", "hazard_id": "x"}),
            409,
        )
        .await;
        assert_eq!(p["current_status"], "received");
        // The district office routes it.
        let p = triage(&app, &c.district, &id, json!({"action": "route"}), 422).await;
        assert_eq!(fields(&p), ["street", "department"]);
        let p = triage(
            &app,
            &c.district,
            &id,
            json!({"action": "route", "street": "NOPE", "department": "AJW"}),
            422,
        )
        .await;
        assert_eq!(fields(&p), ["street", "department"]);
        let t = triage(
            &app,
            &c.district,
            &id,
            json!({"action": "route", "street": " hyl", "department": "yjj"}),
            200,
        )
        .await;
        assert_eq!(t["status"], "routed");
        assert_eq!(t["street_routed_by"], "officer");
        assert_eq!(
            (t["street"].as_str(), t["department"].as_str()),
            (Some("HYL"), Some("YJJ")),
            "codes in any case"
        );
        for token in [&c.street, &c.inspector] {
            let (_, list) = app
                .call_json(Method::GET, "/api/v1/tips", Some(token), None)
                .await;
            assert_eq!(list["items"][0]["id"], id.as_str());
        }
        // An unknown street or sector is refused when filing.
        let (status, p) = file(&app, json!({"street": "NOPE", "sector": "nope"})).await;
        assert_eq!(status, 422);
        assert_eq!(fields(&p), ["street", "sector"]);
        // Named with the other errors at once, not on a second try.
        let (status, p) = file(
            &app,
            json!({"description": "", "street": "NOPE", "sector": "nope"}),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(fields(&p), ["description", "street", "sector"]);

        // Keyset pagination over the district office's list, newest first.
        let (_, page1) = app
            .call_json(Method::GET, "/api/v1/tips?limit=2", Some(&c.district), None)
            .await;
        assert_eq!(page1["items"].as_array().unwrap().len(), 2);
        let cursor = page1["next_cursor"].as_str().unwrap();
        let (_, page2) = app
            .call_json(
                Method::GET,
                &format!("/api/v1/tips?limit=2&cursor={cursor}"),
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!(page2["items"].as_array().unwrap().len(), 1);
        assert!(page2["next_cursor"].is_null());
        let (status, body) = app
            .call_json(
                Method::GET,
                "/api/v1/tips?cursor=garbage",
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!((status, fields(&body)), (422, vec!["cursor".to_string()]));
        let res = app
            .call(
                Method::GET,
                "/api/v1/tips?limit=201",
                Some(&c.district),
                None,
            )
            .await;
        expect_problem(res, 422, "validation_failed").await;
        let res = app
            .call(
                Method::GET,
                "/api/v1/tips?status=nope",
                Some(&c.district),
                None,
            )
            .await;
        expect_problem(res, 422, "validation_failed").await;
        // Every bad parameter at once, each by its name.
        let (status, body) = app
            .call_json(
                Method::GET,
                "/api/v1/tips?status=nope&limit=0&cursor=x",
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!(
            (status, fields(&body)),
            (422, vec!["limit".into(), "status".into(), "cursor".into()])
        );
        let (status, body) = app
            .call_json(
                Method::GET,
                "/api/v1/tips?limit=abc",
                Some(&c.district),
                None,
            )
            .await;
        assert_eq!((status, fields(&body)), (422, vec!["limit".to_string()]));

        // Past the SLA an open tip is overdue.
        app.advance(chrono::Duration::days(16));
        let street = app.login("hyl-officer").await;
        let (_, list) = app
            .call_json(Method::GET, "/api/v1/tips", Some(&street), None)
            .await;
        assert_eq!(list["items"][0]["overdue"], true);
        assert_eq!(list["items"][0]["due_on"], "2026-03-17");
        // The district office lists the overdue ones, and a street's.
        let district = app.login("district").await;
        let count = |path: &'static str| {
            let (app, district) = (&app, &district);
            async move {
                let (status, list) = app.call_json(Method::GET, path, Some(district), None).await;
                assert_eq!(status, 200, "{path}: {list}");
                list["items"].as_array().unwrap().len()
            }
        };
        let all = count("/api/v1/tips?limit=200").await;
        let overdue = count("/api/v1/tips?overdue=true&limit=200").await;
        let in_time = count("/api/v1/tips?overdue=false&limit=200").await;
        assert!(overdue >= 1, "{overdue}");
        assert_eq!(overdue + in_time, all);
        let (_, hyl) = app
            .call_json(
                Method::GET,
                "/api/v1/tips?street=hyl&overdue=true",
                Some(&district),
                None,
            )
            .await;
        let hyl = hyl["items"].as_array().unwrap();
        assert!(!hyl.is_empty() && hyl.len() <= overdue);
        assert!(
            hyl.iter()
                .all(|t| t["street"] == "HYL" && t["overdue"] == true),
            "{hyl:?}"
        );
        let (_, jsl) = app
            .call_json(
                Method::GET,
                "/api/v1/tips?street=JSL",
                Some(&district),
                None,
            )
            .await;
        assert!(
            jsl["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["street"] == "JSL"),
            "{jsl}"
        );
        let (status, body) = app
            .call_json(
                Method::GET,
                "/api/v1/tips?overdue=maybe&street=NOPE&department=X",
                Some(&district),
                None,
            )
            .await;
        assert_eq!(
            (status, fields(&body)),
            (
                422,
                vec!["street".into(), "department".into(), "overdue".into()]
            )
        );
        // Evident junk arriving unrouted: the district office closes it itself.
        let (_, body) = file(&app, json!({"location": "华阳路与江苏路交叉口"})).await;
        assert_eq!(body["status"], "received");
        let (_, list) = app
            .call_json(
                Method::GET,
                "/api/v1/tips?status=received",
                Some(&district),
                None,
            )
            .await;
        let junk = list["items"][0]["id"].as_str().unwrap().to_string();
        let t = triage(
            &app,
            &district,
            &junk,
            json!({"action": "not_confirmed", "reason": "广告信息，与安全生产无关"}),
            200,
        )
        .await;
        assert_eq!(t["status"], "not_confirmed");
    }
);

db_test!(triage_flows, |backend: Backend| async move {
    let app = TestApp::start(&backend).await;
    let c = cast(&app).await;
    let (code1, t1) = filed(&app, &c.district, json!({})).await;
    let (_, t2) = filed(&app, &c.district, json!({})).await;
    let (code3, t3) = filed(&app, &c.district, json!({})).await;
    let (_, t4) = filed(&app, &c.district, json!({})).await;

    // Route to the department too, verify, then confirm creating a hazard.
    let t = triage(
        &app,
        &c.street,
        &t1,
        json!({"action": "route", "department": "YJJ", "note": "涉及液氨"}),
        200,
    )
    .await;
    assert_eq!(t["department"], "YJJ");
    triage(&app, &c.inspector, &t1, json!({"action": "verify"}), 200).await;
    // Confirm names exactly one of its three forms, and the hazard fields it needs.
    let p = triage(
        &app,
        &c.street,
        &t1,
        json!({"action": "confirm", "hazard_id": "a", "duplicate_of": "b"}),
        422,
    )
    .await;
    assert_eq!(fields(&p), ["enterprise_id", "hazard_id", "duplicate_of"]);
    let p = triage(
        &app,
        &c.street,
        &t1,
        json!({"action": "confirm", "enterprise_id": c.enterprise}),
        422,
    )
    .await;
    assert_eq!(fields(&p), ["level", "description", "location", "category"]);
    let mut body = general_report();
    body["action"] = json!("confirm");
    body["enterprise_id"] = json!(c.enterprise);
    let t = triage(&app, &c.street, &t1, body, 200).await;
    assert_eq!(
        (t["status"].as_str(), t["resolution"].as_str()),
        (Some("confirmed"), Some("hazard_created"))
    );
    let created = t["hazard_id"].as_str().unwrap().to_string();
    let (_, h) = app
        .call_json(
            Method::GET,
            &format!("/api/v1/hazards/{created}"),
            Some(&c.street),
            None,
        )
        .await;
    assert_eq!(h["source"], 6);
    assert_eq!(h["enterprise"]["id"], c.enterprise.as_str());
    // The enterprise may complete the draft but not relabel it as its own finding.
    let (status, body) = app
        .call_json(
            Method::PATCH,
            &format!("/api/v1/hazards/{created}"),
            Some(&c.reporter),
            Some(json!({"source": 3})),
        )
        .await;
    assert_eq!(
        (status, fields(&body)),
        (422, vec!["source".to_string()]),
        "{body}"
    );
    let actions: Vec<&str> = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["received", "route", "verify", "confirm"]);
    assert_eq!(t["events"][1]["note"], "涉及液氨");
    assert_eq!(t["permitted_actions"], json!(["reply"]));

    // Confirm by linking an existing hazard in scope (not one outside it).
    let existing = submitted_general(&app, &c).await;
    let p = triage(
        &app,
        &c.street,
        &t2,
        json!({"action": "confirm", "hazard_id": "no-such-hazard"}),
        422,
    )
    .await;
    assert_eq!(fields(&p), ["hazard_id"]);
    // Nor a void (or closed) one: what comes back is a new hazard.
    let voided = submitted_general(&app, &c).await;
    crate::hazards::call(
        &app,
        Method::POST,
        &format!("/api/v1/hazards/{voided}/void"),
        &c.street,
        json!({"reason": "untrue", "note": "核查不属实"}),
        200,
    )
    .await;
    let p = triage(
        &app,
        &c.street,
        &t2,
        json!({"action": "confirm", "hazard_id": voided}),
        422,
    )
    .await;
    assert_eq!(fields(&p), ["hazard_id"]);
    assert!(p.to_string().contains("the hazard is void"), "{p}");
    // Named as officers name it: by its ledger number (上账编号), in any case.
    let posted = crate::hazards::call(
        &app,
        Method::POST,
        &format!("/api/v1/hazards/{existing}/post"),
        &c.street,
        json!({"deadline": "2026-04-30"}),
        200,
    )
    .await;
    let ledger_no = posted["ledger_no"].as_str().unwrap().to_lowercase();
    let t = triage(
        &app,
        &c.street,
        &t2,
        json!({"action": "confirm", "hazard_id": ledger_no}),
        200,
    )
    .await;
    assert_eq!(t["resolution"], "hazard_linked");
    assert_eq!(t["hazard_id"], existing.as_str());

    // A duplicate repeats a tip already found true: not one still open (t4), so that two
    // open tips cannot name each other and close with nothing verified.
    let p = triage(
        &app,
        &c.street,
        &t3,
        json!({"action": "confirm", "duplicate_of": t4}),
        422,
    )
    .await;
    assert_eq!(fields(&p), ["duplicate_of"]);
    assert!(p.to_string().contains("not confirmed"), "{p}");
    // Routing a tip where it is already routed changes nothing: refused.
    let p = triage(
        &app,
        &c.street,
        &t3,
        json!({"action": "route", "street": "hyl"}),
        422,
    )
    .await;
    assert_eq!(fields(&p), ["street"], "only the field given");
    // A duplicate links the first tip and its hazard.
    let t = triage(
        &app,
        &c.street,
        &t3,
        json!({"action": "confirm", "duplicate_of": t2}),
        200,
    )
    .await;
    assert_eq!(t["resolution"], "duplicate");
    assert_eq!(t["duplicate_of"], t2.as_str());
    assert_eq!(t["hazard_id"], existing.as_str());
    let (_, st) = app.get_json(&format!("/api/v1/tips/status/{code3}")).await;
    assert_eq!(st["status"], "confirmed");
    // Not called true on its own: the first tip's verification decides.
    assert_eq!(st["status_text"], "核查完毕：已与其他举报合并处理");
    assert_eq!(
        st["outcome"],
        "您反映的问题已有其他举报反映，已合并核查处理。"
    );

    // Not confirmed needs a reason; transfer needs a target.
    let p = triage(
        &app,
        &c.street,
        &t4,
        json!({"action": "not_confirmed"}),
        422,
    )
    .await;
    assert_eq!(fields(&p), ["reason"]);
    let p = triage(&app, &c.street, &t4, json!({"action": "transfer"}), 422).await;
    assert_eq!(fields(&p), ["to"]);
    let t = triage(
        &app,
        &c.street,
        &t4,
        json!({"action": "transfer", "to": "上海市交通委员会", "note": "属道路运输"}),
        200,
    )
    .await;
    assert_eq!(t["status"], "transferred");

    // Replies: a message is needed; confirmed and transferred tips move to replied.
    let p = triage(&app, &c.street, &t1, json!({"action": "reply"}), 422).await;
    assert_eq!(fields(&p), ["message"]);
    for id in [&t1, &t4] {
        let t = triage(
            &app,
            &c.street,
            id,
            json!({"action": "reply", "message": "感谢您的举报，已依法处理。"}),
            200,
        )
        .await;
        assert_eq!(t["status"], "replied");
    }
    let (_, st) = app.get_json(&format!("/api/v1/tips/status/{code1}")).await;
    assert_eq!(st["status"], "replied");
    assert_eq!(
        st["outcome"],
        "经核查，您反映的问题属实，已纳入隐患排查治理，将督促整改。"
    );
    assert!(!st.to_string().contains(&created), "no hazard id in public");

    // The ledger records every step and stays verifiable.
    let (_, ledger) = app
        .call_json(
            Method::GET,
            "/api/v1/ledger?limit=1000",
            Some(&c.district),
            None,
        )
        .await;
    let kinds: Vec<&str> = ledger["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .filter(|k| k.starts_with("tip."))
        .collect();
    for k in [
        "tip.received",
        "tip.routed",
        "tip.verifying",
        "tip.confirmed",
        "tip.transferred",
        "tip.replied",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let (_, verify) = app
        .call_json(
            Method::GET,
            "/api/v1/ledger/verify",
            Some(&c.district),
            None,
        )
        .await;
    assert_eq!(verify["ok"], true);
});

db_test!(wrong_state_roles_and_scope, |backend: Backend| async move {
    let app = TestApp::start(&backend).await;
    let c = cast(&app).await;
    let admin = app.user_token("root", "admin", "AJW").await.1;
    let (_, id) = filed(&app, &c.district, json!({})).await;
    let path = format!("/api/v1/tips/{id}");

    // Wrong state: 409 with the current status.
    let p = triage(
        &app,
        &c.street,
        &id,
        json!({"action": "reply", "message": "x"}),
        409,
    )
    .await;
    assert_eq!(
        (p["code"].as_str(), p["current_status"].as_str()),
        (Some("invalid_state"), Some("routed"))
    );
    triage(&app, &c.street, &id, json!({"action": "verify"}), 200).await;
    let p = triage(&app, &c.street, &id, json!({"action": "verify"}), 409).await;
    assert_eq!(p["current_status"], "verifying");
    let p = triage(&app, &c.street, &id, json!({}), 422).await;
    assert_eq!(fields(&p), ["action"]);
    let p = triage(&app, &c.street, &id, json!({"action": "dance"}), 422).await;
    assert_eq!(fields(&p), ["action"]);

    // Roles: enterprise users and admins get 403 everywhere; no token 401.
    for token in [&c.reporter, &c.safety, &admin] {
        for (method, p) in [
            (Method::GET, "/api/v1/tips".to_string()),
            (Method::GET, path.clone()),
            (Method::POST, format!("{path}/triage")),
        ] {
            let res = app
                .call(method, &p, Some(token), Some(json!({"action": "verify"})))
                .await;
            expect_problem(res, 403, "role_forbidden").await;
        }
    }
    let res = app.call(Method::GET, "/api/v1/tips", None, None).await;
    expect_problem(res, 401, "unauthenticated").await;

    // Scope: another street's officer and another department's inspector see nothing.
    for token in [&c.other_street, &c.other_inspector] {
        let res = app.call(Method::GET, &path, Some(token), None).await;
        expect_problem(res, 404, "not_found").await;
        let res = app
            .call(
                Method::POST,
                &format!("{path}/triage"),
                Some(token),
                Some(json!({"action": "not_confirmed", "reason": "x"})),
            )
            .await;
        expect_problem(res, 404, "not_found").await;
        let (_, list) = app
            .call_json(Method::GET, "/api/v1/tips", Some(token), None)
            .await;
        assert!(list["items"].as_array().unwrap().is_empty());
    }
    // The district office may not create hazards (T1), so it confirms by link only.
    let mut body = general_report();
    body["action"] = json!("confirm");
    body["enterprise_id"] = json!(c.enterprise);
    let res = app
        .call(
            Method::POST,
            &format!("{path}/triage"),
            Some(&c.district),
            Some(body),
        )
        .await;
    expect_problem(res, 403, "role_forbidden").await;
    let res = app.call(Method::GET, &path, Some(&c.district), None).await;
    assert_eq!(res.status(), 200);
});

db_test!(
    the_public_tip_page_explains_its_errors_in_chinese,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        // Not sent by the page's own (multipart) form.
        let res = app
            .client
            .post(app.url("/tips/new"))
            .form(&[("description", "消防通道堵塞")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 415);
        let html = res.text().await.unwrap();
        assert!(html.contains("请使用本页的表单"), "{html}");
        // A question answered once more (a browser sending the form again): the answer field
        // says the question is spent, and a new one is asked.
        let (token, answer) = challenge(&app).await;
        let send = || {
            app.client
                .post(app.url("/tips/new"))
                .multipart(tip_form(token.clone(), answer.clone()))
                .send()
        };
        // Filed: on to the receipt page, the code in that page's cookie (not in an address),
        // which shows it again however often it is reloaded.
        let res = send().await.unwrap();
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/tips/filed");
        let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(set.starts_with("hl_tip_receipt=JB-"), "{set}");
        assert!(
            set.contains("Path=/tips/filed") && set.contains("HttpOnly"),
            "{set}"
        );
        let cookie = set.split(';').next().unwrap().to_string();
        let code = cookie.trim_start_matches("hl_tip_receipt=").to_string();
        for _ in 0..2 {
            let html = app
                .client
                .get(app.url("/tips/filed"))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(html.contains(&format!(r#"id="receipt">{code}<"#)), "{html}");
        }
        let res = app.get("/tips/filed").await;
        assert_eq!(res.status(), 303, "without the cookie: the look-up");
        // The form sent again (the browser's back button and resubmit): the question is spent.
        let res = send().await.unwrap();
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("验证题已失效"), "{html}");
        assert!(!html.contains("already used"), "{html}");
        // One photo too many: said at the photo field, in Chinese, and what was typed stays
        // (the photos are chosen again).
        let (token, answer) = challenge(&app).await;
        let mut form = tip_form(token, answer);
        for i in 0..6 {
            form = form.part(
                "photo",
                reqwest::multipart::Part::bytes(phone_photo())
                    .file_name(format!("现场{i}.jpg"))
                    .mime_str("image/jpeg")
                    .unwrap(),
            );
        }
        let res = app
            .client
            .post(app.url("/tips/new"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("照片最多 5 张"), "{html}");
        assert!(
            html.contains("配电房门口堆放易燃物"),
            "the description stays: {html}"
        );
        assert!(!html.contains("invalid or missing"), "{html}");
    }
);

db_test!(
    the_officers_tip_pages_follow_role_and_scope,
    |backend: Backend| async move {
        use crate::pages::{csrf_of, form_login, get_page, page_text, post_page};
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let (_, id) = filed(&app, &c.district, json!({})).await;
        let page = format!("/tips/inbox/{id}");
        // Enterprise users are sent to their hazards: the tip and its reporter are not theirs.
        for user in ["clerk", "boss"] {
            let res = get_page(&app, &page, &form_login(&app, user).await).await;
            assert_eq!(res.status(), 303);
            assert_eq!(res.headers()["location"], "/hazards");
        }
        // Without a session: the login, coming back to the tip.
        let res = app.get(&page).await;
        assert_eq!(res.status(), 303);
        assert_eq!(
            res.headers()["location"],
            format!("/login?next=/tips/inbox/{id}").as_str()
        );
        // The street's officer may create a hazard from it; the district office (T1) only
        // links one.
        // The street officer's queue points to it.
        let queue = page_text(&app, "/queue", &form_login(&app, "hyl-officer").await).await;
        assert!(queue.contains("举报待核查 1 件"), "{queue}");
        let html = page_text(&app, &page, &form_login(&app, "hyl-officer").await).await;
        assert!(html.contains("/do/confirm_new"), "{html}");
        // What goes into the hazard the enterprise will read is said to be so (L5).
        assert!(
            html.contains("企业可见，请删去可能暴露举报人的内容"),
            "{html}"
        );
        assert!(html.contains("/do/verify") && html.contains("/do/route"));
        assert!(!html.contains("/do/reply"), "nothing to reply yet");
        let html = page_text(&app, &page, &form_login(&app, "district").await).await;
        assert!(!html.contains("/do/confirm_new"), "{html}");
        assert!(html.contains("/do/confirm_link") && html.contains("/do/confirm_duplicate"));
        // Another street's officer: not found, as for a tip that does not exist.
        let other = form_login(&app, "jsl-officer").await;
        for path in [
            page.clone(),
            "/tips/inbox/0190a3c2-0000-7000-8000-000000000000".into(),
        ] {
            let res = get_page(&app, &path, &other).await;
            assert_eq!(res.status(), 404);
        }
        let inbox = page_text(&app, "/tips/inbox", &other).await;
        assert!(inbox.contains("待核查（按核查期限）（0）"), "{inbox}");
        // Routed on to another street from the page, the tip leaves the officer's list: back to
        // the list, told so (not a page saying it is not found).
        let hyl = form_login(&app, "hyl-officer").await;
        let html = page_text(&app, &page, &hyl).await;
        let res = post_page(
            &app,
            &format!("{page}/do/route"),
            &hyl,
            &[("csrf", csrf_of(&html)), ("street", "JSL".to_string())],
        )
        .await;
        assert_eq!(res.status(), 303);
        assert_eq!(res.headers()["location"], "/tips/inbox?gone=route");
        let inbox = page_text(&app, "/tips/inbox?gone=route", &hyl).await;
        assert!(inbox.contains("不再在您的列表中"), "{inbox}");
        assert!(
            page_text(&app, "/tips/inbox", &other)
                .await
                .contains("（1）")
        );
    }
);

db_test!(
    officers_are_emailed_of_new_and_routed_tips_without_the_reporter,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        app.user_token("xf-inspector", "department_inspector", "XFZD")
            .await;
        let (_, admin) = app.user_token("ops", "admin", "AJW").await;
        let outbox = |to: &'static str| {
            let (app, admin) = (&app, &admin);
            async move {
                let (_, list) = app
                    .call_json(
                        Method::GET,
                        &format!("/api/v1/outbox?recipient={to}"),
                        Some(admin),
                        None,
                    )
                    .await;
                list["items"].as_array().unwrap().len()
            }
        };
        // Filed with a street found in its address and a sector: that street's officers and
        // the sector's department hear of it, not the other street nor the district office.
        let (_, id) = filed(
            &app,
            &c.district,
            json!({"location": "长宁区愚园路1088号弄堂内", "sector": "fire",
                   "contact_name": NAME, "contact_phone": PHONE}),
        )
        .await;
        for to in ["jsl-officer@example.org", "xf-inspector@example.org"] {
            let text =
                crate::hazards::outbox_text(&app, &admin, to, "新的举报待核查：长宁区愚园路1088号")
                    .await;
            for needle in [
                "已分办至江苏路街道、区消防救援支队",
                "核查期限：2026-03-17",
                "仓库内堆放大量纸箱，消防通道被堵死",
                &format!("/tips/inbox/{id}"),
            ] {
                assert!(text.contains(needle), "{needle} in {text}");
            }
            // The reporter is protected (L5): neither name nor phone travels by email.
            assert!(!text.contains(NAME) && !text.contains(PHONE), "{text}");
        }
        assert_eq!(outbox("hyl-officer@example.org").await, 0);
        assert_eq!(outbox("district@example.org").await, 0);

        // Routed nowhere (no street in the address, no sector): the district office routes it.
        let (_, id) = filed(&app, &c.district, json!({"location": "某小区地下车库"})).await;
        let text =
            crate::hazards::outbox_text(&app, &admin, "district@example.org", "新的举报待分办")
                .await;
        assert!(text.contains("请分办至街道或行业主管部门"), "{text}");
        assert!(text.contains("匿名"), "{text}");
        // Routed on to 华阳路 and 区应急局: their officers learn it is theirs now.
        triage(
            &app,
            &c.district,
            &id,
            json!({"action": "route", "street": "HYL", "department": "YJJ"}),
            200,
        )
        .await;
        for to in ["hyl-officer@example.org", "yjj@example.org"] {
            let text =
                crate::hazards::outbox_text(&app, &admin, to, "举报转交核查：某小区地下车库").await;
            assert!(text.contains("已转交华阳路街道、区应急局"), "{text}");
        }
        // Routed again to the department only: its inspectors, not the street once more.
        let before = outbox("hyl-officer@example.org").await;
        triage(
            &app,
            &c.district,
            &id,
            json!({"action": "route", "department": "SCJGJ"}),
            200,
        )
        .await;
        let text =
            crate::hazards::outbox_text(&app, &admin, "scj@example.org", "举报转交核查").await;
        assert!(text.contains("已转交区市场监管局"), "{text}");
        assert_eq!(outbox("hyl-officer@example.org").await, before);
        // Verifying moves no tip anywhere: no email.
        let before = outbox("scj@example.org").await;
        triage(
            &app,
            &c.other_inspector,
            &id,
            json!({"action": "verify"}),
            200,
        )
        .await;
        assert_eq!(outbox("scj@example.org").await, before);
    }
);

db_test!(
    tip_fields_with_line_breaks_or_misspelt_names_are_named,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = cast(&app).await;
        let (status, p) = file(
            &app,
            json!({"location": "愚园路\r\n1088号", "contact_name": "王\u{0}小明"}),
        )
        .await;
        assert_eq!(status, 422, "{p}");
        assert_eq!(
            fields(&p),
            ["contact_name"],
            "the JSON reader names the NUL first: {p}"
        );
        let (status, p) = file(&app, json!({"location": "愚园路\r\n1088号"})).await;
        assert_eq!(status, 422, "{p}");
        assert_eq!(fields(&p), ["location"], "{p}");
        let (_, id) = filed(&app, &c.district, json!({})).await;
        // A triage step with a misspelt field is refused and changes nothing.
        let p = triage(
            &app,
            &c.district,
            &id,
            json!({"action": "not_confirmed", "reasn": "查无此事"}),
            422,
        )
        .await;
        assert_eq!(fields(&p), ["reasn", "reason"], "{p}");
        // Another step's member is named too (the street of a route, on a verify).
        let p = triage(
            &app,
            &c.district,
            &id,
            json!({"action": "verify", "street": "JSL"}),
            422,
        )
        .await;
        assert_eq!(fields(&p), ["street"], "{p}");
        let t = crate::hazards::call(
            &app,
            Method::GET,
            &format!("/api/v1/tips/{id}"),
            &c.district,
            Value::Null,
            200,
        )
        .await;
        assert_eq!(t["status"], "routed", "{t}");
    }
);
