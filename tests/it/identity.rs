//! Identity and access control: enterprises, users, login, tokens and scopes.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, PASSWORD, TestApp, error_fields, expect_problem};
use crate::db_test;

const HYL_USCC: &str = "91310105MA1FL0A19R";
const JSL_USCC: &str = "91310105MA1G2B3C1B";

fn enterprise_body(uscc: &str, street: &str) -> Value {
    json!({
        "uscc": uscc,
        "name": "上海测试有限公司",
        "address": "长宁区测试路1号",
        "street": street,
        "sectors": ["industry_trade"],
        "headcount": 120,
        "principal_name": "张三",
        "principal_mobile": "13912345678",
        "notify_emails": ["safety@example.org"]
    })
}

/// Two enterprises in two streets and one user per role around the first.
struct World {
    e_own: String,
    e_foreign: String,
    u_own: String,
    u_foreign: String,
    tokens: Vec<(&'static str, String)>,
}

async fn world(app: &TestApp) -> World {
    let e_own = app
        .create_enterprise(HYL_USCC, "华阳冷链", "HYL", &["ammonia_refrigeration"], 180)
        .await;
    let e_foreign = app
        .create_enterprise(JSL_USCC, "江苏路电梯", "JSL", &["special_equipment"], 30)
        .await;
    let (u_own, reporter) = app
        .user_token("hyl-reporter", "enterprise_reporter", HYL_USCC)
        .await;
    let u_foreign = app
        .create_user("jsl-reporter", "enterprise_reporter", JSL_USCC)
        .await;
    let mut tokens = vec![("enterprise_reporter", reporter)];
    for (name, role, org) in [
        ("hyl-principal", "enterprise_principal", HYL_USCC),
        ("hyl-safety", "enterprise_safety_officer", HYL_USCC),
        ("hyl-officer", "street_officer", "HYL"),
        ("yjj-inspector", "department_inspector", "YJJ"),
        ("district", "district_office", "AJW"),
        ("root", "admin", "AJW"),
    ] {
        tokens.push((role, app.user_token(name, role, org).await.1));
    }
    World {
        e_own,
        e_foreign,
        u_own,
        u_foreign,
        tokens,
    }
}

db_test!(
    access_matrix_every_role_own_and_foreign,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let w = world(&app).await;
        // (role, GET E own, GET E foreign, PATCH E own, PATCH E foreign,
        //  GET U own, GET U foreign, PATCH U own, PATCH U foreign)
        let expected: [(&str, [u16; 8]); 7] = [
            (
                "enterprise_reporter",
                [200, 404, 403, 404, 200, 404, 200, 404],
            ),
            (
                "enterprise_principal",
                [200, 404, 403, 404, 404, 404, 404, 404],
            ),
            (
                "enterprise_safety_officer",
                [200, 404, 403, 404, 404, 404, 404, 404],
            ),
            ("street_officer", [200, 404, 200, 404, 200, 404, 200, 404]),
            (
                "department_inspector",
                [200, 404, 403, 404, 404, 404, 404, 404],
            ),
            ("district_office", [200, 200, 200, 200, 404, 404, 404, 404]),
            ("admin", [200, 200, 200, 200, 200, 200, 200, 200]),
        ];
        let e_patch = json!({"address": "长宁区新地址2号"});
        let u_patch = json!({"display_name": "新名字"});
        let mut failures = Vec::new();
        for (role, want) in expected {
            let token = &w.tokens.iter().find(|(r, _)| *r == role).unwrap().1;
            let calls = [
                (
                    Method::GET,
                    format!("/api/v1/enterprises/{}", w.e_own),
                    None,
                ),
                (
                    Method::GET,
                    format!("/api/v1/enterprises/{}", w.e_foreign),
                    None,
                ),
                (
                    Method::PATCH,
                    format!("/api/v1/enterprises/{}", w.e_own),
                    Some(e_patch.clone()),
                ),
                (
                    Method::PATCH,
                    format!("/api/v1/enterprises/{}", w.e_foreign),
                    Some(e_patch.clone()),
                ),
                (Method::GET, format!("/api/v1/users/{}", w.u_own), None),
                (Method::GET, format!("/api/v1/users/{}", w.u_foreign), None),
                (
                    Method::PATCH,
                    format!("/api/v1/users/{}", w.u_own),
                    Some(u_patch.clone()),
                ),
                (
                    Method::PATCH,
                    format!("/api/v1/users/{}", w.u_foreign),
                    Some(u_patch.clone()),
                ),
            ];
            for ((method, path, body), want) in calls.into_iter().zip(want) {
                let res = app.call(method.clone(), &path, Some(token), body).await;
                let got = res.status().as_u16();
                if got != want {
                    failures.push(format!("{role} {method} {path}: want {want}, got {got}"));
                }
                if got == 404 {
                    // Out of scope looks exactly like missing.
                    let body: Value = res.json().await.unwrap();
                    assert_eq!(body["code"], "not_found");
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // A missing id answers like a foreign one.
        let admin = &w.tokens.last().unwrap().1;
        let res = app
            .call(
                Method::GET,
                "/api/v1/enterprises/no-such-id",
                Some(admin),
                None,
            )
            .await;
        expect_problem(res, 404, "not_found").await;
    }
);

db_test!(lists_stay_within_scope, |backend: Backend| async move {
    let app = TestApp::start(&backend).await;
    let w = world(&app).await;
    let ids = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    for (role, expect_own, expect_foreign) in [
        ("enterprise_principal", true, false),
        ("street_officer", true, false),
        ("department_inspector", true, false),
        ("district_office", true, true),
    ] {
        let token = &w.tokens.iter().find(|(r, _)| *r == role).unwrap().1;
        let (status, body) = app
            .call_json(Method::GET, "/api/v1/enterprises", Some(token), None)
            .await;
        assert_eq!(status, 200);
        let got = ids(&body);
        assert_eq!(got.contains(&w.e_own), expect_own, "{role}");
        assert_eq!(got.contains(&w.e_foreign), expect_foreign, "{role}");
    }
    // A street officer filtering for another street still sees nothing of it.
    let officer = &w
        .tokens
        .iter()
        .find(|(r, _)| *r == "street_officer")
        .unwrap()
        .1;
    let (_, body) = app
        .call_json(
            Method::GET,
            "/api/v1/enterprises?street=JSL",
            Some(officer),
            None,
        )
        .await;
    assert!(ids(&body).is_empty());
    let (_, body) = app
        .call_json(Method::GET, "/api/v1/users", Some(officer), None)
        .await;
    let names: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"hyl-reporter") && names.contains(&"hyl-officer"));
    assert!(
        !names.contains(&"jsl-reporter") && !names.contains(&"root"),
        "{names:?}"
    );
    // Filters and pagination.
    let admin = &w.tokens.last().unwrap().1;
    let (_, body) = app
        .call_json(
            Method::GET,
            "/api/v1/enterprises?sector=special_equipment",
            Some(admin),
            None,
        )
        .await;
    assert_eq!(ids(&body), vec![w.e_foreign.clone()]);
    let (_, body) = app
        .call_json(
            Method::GET,
            "/api/v1/enterprises?q=%E5%8D%8E%E9%98%B3",
            Some(admin),
            None,
        )
        .await;
    assert_eq!(ids(&body), vec![w.e_own.clone()], "q=华阳");
    // Codes are matched as the reference data spells them; an empty one filters nothing.
    let (status, body) = app
        .call_json(
            Method::GET,
            "/api/v1/enterprises?street=hyl&sector=",
            Some(admin),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(ids(&body).contains(&w.e_own), "{body}");
    assert!(!ids(&body).contains(&w.e_foreign), "{body}");
    // Parameters that name nothing this service gave out are refused, each by its name.
    for (path, fields) in [
        (
            "/api/v1/enterprises?cursor=garbage&limit=0",
            vec!["limit", "cursor"],
        ),
        ("/api/v1/users?cursor=garbage", vec!["cursor"]),
        ("/api/v1/users?role=bogus", vec!["role"]),
        (
            "/api/v1/enterprises?street=NOPE&sector=mining",
            vec!["street", "sector"],
        ),
    ] {
        let (status, body) = app.call_json(Method::GET, path, Some(admin), None).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(error_fields(&body), fields, "{path}");
    }
    let (_, page1) = app
        .call_json(
            Method::GET,
            "/api/v1/enterprises?limit=1",
            Some(admin),
            None,
        )
        .await;
    let cursor = page1["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_string();
    let (_, page2) = app
        .call_json(
            Method::GET,
            &format!("/api/v1/enterprises?limit=1&cursor={cursor}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(ids(&page1).len() + ids(&page2).len(), 2);
    assert_ne!(ids(&page1), ids(&page2));
    assert!(page2["next_cursor"].is_null());
    let res = app
        .call(
            Method::GET,
            "/api/v1/enterprises?limit=500",
            Some(admin),
            None,
        )
        .await;
    expect_problem(res, 422, "validation_failed").await;
    let res = app
        .call(Method::GET, "/api/v1/enterprises", None, None)
        .await;
    assert_eq!(res.headers().get("www-authenticate").unwrap(), "Bearer");
    expect_problem(res, 401, "unauthenticated").await;
});

db_test!(
    enterprise_registration_rules,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let (_, officer) = app.user_token("hyl-officer", "street_officer", "HYL").await;
        // A role that registers no enterprises is refused first, whatever it sent.
        let (_, inspector) = app.user_token("yjj", "department_inspector", "YJJ").await;
        for body in [json!({}), json!({"uscc": 5})] {
            let res = app
                .call(
                    Method::POST,
                    "/api/v1/enterprises",
                    Some(&inspector),
                    Some(body.clone()),
                )
                .await;
            expect_problem(res, 403, "forbidden").await;
            let res = app
                .call(Method::POST, "/api/v1/users", Some(&inspector), Some(body))
                .await;
            expect_problem(res, 403, "forbidden").await;
        }
        // Every missing field is named at once.
        let (status, body) = app
            .call_json(
                Method::POST,
                "/api/v1/enterprises",
                Some(&officer),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, 422);
        let fields = error_fields(&body);
        for f in [
            "uscc",
            "name",
            "address",
            "street",
            "sectors",
            "headcount",
            "principal_name",
            "principal_mobile",
        ] {
            assert!(fields.iter().any(|g| g == f), "{f} in {fields:?}");
        }
        // Bad values, each named.
        let mut bad = enterprise_body("91310105MA1FL0A190", "HYL");
        bad["principal_mobile"] = json!("12345");
        bad["sectors"] = json!(["no_such_sector"]);
        bad["street"] = json!("XXX");
        let (status, body) = app
            .call_json(
                Method::POST,
                "/api/v1/enterprises",
                Some(&officer),
                Some(bad),
            )
            .await;
        assert_eq!(status, 422);
        let fields = error_fields(&body);
        assert_eq!(fields.len(), 4, "{body}");
        // Another street's enterprise: forbidden, and nothing is written.
        let res = app
            .call(
                Method::POST,
                "/api/v1/enterprises",
                Some(&officer),
                Some(enterprise_body(JSL_USCC, "JSL")),
            )
            .await;
        expect_problem(res, 403, "forbidden").await;
        // Own street: created, USCC stored upper-case.
        let (status, created) = app
            .call_json(
                Method::POST,
                "/api/v1/enterprises",
                Some(&officer),
                Some(enterprise_body(&HYL_USCC.to_lowercase(), "hyl")),
            )
            .await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["uscc"], HYL_USCC);
        assert_eq!(created["street"], "HYL");
        assert_eq!(created["departments"], json!(["YJJ"]));
        assert!(created["created_at"].as_str().unwrap().ends_with("+08:00"));
        // The same USCC again: conflict.
        let res = app
            .call(
                Method::POST,
                "/api/v1/enterprises",
                Some(&officer),
                Some(enterprise_body(HYL_USCC, "HYL")),
            )
            .await;
        expect_problem(res, 409, "duplicate_uscc").await;
        // Moving it to another street is not for a street officer.
        let id = created["id"].as_str().unwrap();
        // A PATCH cannot clear a required field; null clears the notification addresses.
        let path = format!("/api/v1/enterprises/{id}");
        let (status, body) = app
            .call_json(
                Method::PATCH,
                &path,
                Some(&officer),
                Some(json!({"name": null, "headcount": null})),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error_fields(&body), ["name", "headcount"]);
        let emails = json!({"notify_emails": ["safety@example.org"]});
        let (_, e) = app
            .call_json(Method::PATCH, &path, Some(&officer), Some(emails))
            .await;
        assert_eq!(e["notify_emails"], json!(["safety@example.org"]), "{e}");
        let (status, e) = app
            .call_json(
                Method::PATCH,
                &path,
                Some(&officer),
                Some(json!({"notify_emails": null})),
            )
            .await;
        assert_eq!(status, 200, "{e}");
        assert_eq!(e["notify_emails"], json!([]), "{e}");
        let res = app
            .call(
                Method::PATCH,
                &format!("/api/v1/enterprises/{id}"),
                Some(&officer),
                Some(json!({"street": "JSL"})),
            )
            .await;
        expect_problem(res, 403, "forbidden").await;
        let (status, patched) = app
        .call_json(
            Method::PATCH,
            &format!("/api/v1/enterprises/{id}"),
            Some(&officer),
            Some(json!({"sectors": ["fire", "industry_trade"], "safety_officer_name": "李四", "safety_officer_mobile": "+86 139-1234-5679"})),
        )
        .await;
        assert_eq!(status, 200, "{patched}");
        assert_eq!(patched["sectors"], json!(["fire", "industry_trade"]));
        assert_eq!(patched["departments"], json!(["XFZD", "YJJ"]));
        assert_eq!(patched["safety_officer_mobile"], "13912345679");
        // Enterprise users may not register enterprises.
        let principal_id = app
            .create_user("hyl-principal", "enterprise_principal", HYL_USCC)
            .await;
        assert!(!principal_id.is_empty());
        let principal = app.login("hyl-principal").await;
        let res = app
            .call(
                Method::POST,
                "/api/v1/enterprises",
                Some(&principal),
                Some(enterprise_body("91310105MA1H5D7E6U", "HYL")),
            )
            .await;
        expect_problem(res, 403, "forbidden").await;
    }
);

db_test!(
    uscc_samples_through_the_api,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let (_, admin) = app.user_token("root", "admin", "AJW").await;
        let samples = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/uscc-samples.txt"
        ))
        .unwrap();
        let mut checked = 0;
        for line in samples
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let mut parts = line.split('\t');
            let verdict = parts.next().unwrap();
            let code = parts.next().unwrap_or("");
            let res = app
                .call(
                    Method::POST,
                    "/api/v1/enterprises",
                    Some(&admin),
                    Some(enterprise_body(code, "HYL")),
                )
                .await;
            let status = res.status().as_u16();
            let lower_case_form = code.chars().any(|c| c.is_ascii_lowercase());
            match verdict {
                "valid" => assert_eq!(status, 201, "{code}"),
                // Lower case is not a stored form: the API upper-cases it before checking.
                "invalid" if lower_case_form => {
                    assert_eq!(status, 409, "{code} is a known code in lower case")
                }
                _ => {
                    let body = expect_problem(res, 422, "validation_failed").await;
                    assert_eq!(body["errors"][0]["field"], "uscc", "{code}");
                }
            }
            checked += 1;
        }
        assert_eq!(checked, 22);
    }
);

db_test!(user_management_rules, |backend: Backend| async move {
    let app = TestApp::start(&backend).await;
    app.create_enterprise(HYL_USCC, "华阳冷链", "HYL", &["ammonia_refrigeration"], 180)
        .await;
    app.create_enterprise(JSL_USCC, "江苏路电梯", "JSL", &["special_equipment"], 30)
        .await;
    let (_, officer) = app.user_token("hyl-officer", "street_officer", "HYL").await;
    let (_, admin) = app.user_token("root", "admin", "AJW").await;
    // A street officer registers the street's enterprises but creates none of their accounts:
    // whoever creates one knows its first password and could act as the enterprise.
    for org in [HYL_USCC, JSL_USCC] {
        let res = app
            .call(
                Method::POST,
                "/api/v1/users",
                Some(&officer),
                Some(json!({"username": "evil-principal", "role": "enterprise_principal", "org": org, "password": "Officer-Chosen-Pass-1"})),
            )
            .await;
        expect_problem(res, 403, "forbidden").await;
    }
    // The admin does; the password is shown once.
    let (status, created) = app
        .call_json(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"username": "New.Clerk", "role": "enterprise_reporter", "org": HYL_USCC, "email": "clerk@example.org"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["username"], "new.clerk");
    assert_eq!(created["must_change_password"], true);
    assert_eq!(created["org"]["kind"], "enterprise");
    assert!(created.get("password_hash").is_none());
    let initial = created["initial_password"].as_str().unwrap().to_string();
    // ... who must change it before doing anything else.
    let (status, login) = app
        .call_json(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"username": "new.clerk", "password": initial})),
        )
        .await;
    assert_eq!(status, 200);
    // Answers holding tokens (and everything else the API answers) are kept by no cache.
    let res = app
        .call(
            Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": login["refresh_token"]})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let first = res.json::<serde_json::Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .call(Method::GET, "/api/v1/enterprises", Some(&first), None)
        .await;
    expect_problem(res, 403, "password_change_required").await;
    assert_eq!(
        app.call(Method::GET, "/api/v1/me", Some(&first), None)
            .await
            .status(),
        200
    );
    let (status, body) = app
        .call_json(
            Method::POST,
            "/api/v1/auth/password",
            Some(&first),
            Some(json!({"current_password": initial, "new_password": "new.clerk-2026"})),
        )
        .await;
    assert_eq!(status, 422, "password containing the username: {body}");
    assert_eq!(body["errors"][0]["field"], "new_password");
    // The forced change cannot keep the initial password.
    let (status, body) = app
        .call_json(
            Method::POST,
            "/api/v1/auth/password",
            Some(&first),
            Some(json!({"current_password": initial, "new_password": initial})),
        )
        .await;
    assert_eq!(status, 422, "the same password again: {body}");
    assert_eq!(body["errors"][0]["field"], "new_password");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("differ")
    );
    let res = app
        .call(Method::GET, "/api/v1/enterprises", Some(&first), None)
        .await;
    expect_problem(res, 403, "password_change_required").await;
    let (status, changed) = app
        .call_json(
            Method::POST,
            "/api/v1/auth/password",
            Some(&first),
            Some(json!({"current_password": initial, "new_password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    let fresh = changed["access_token"].as_str().unwrap();
    assert_eq!(
        app.call(Method::GET, "/api/v1/enterprises", Some(fresh), None)
            .await
            .status(),
        200
    );
    // Role and organisation must fit; every problem named.
    let (status, body) = app
        .call_json(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"username": "x", "role": "street_officer", "org": "YJJ", "email": "nope"})),
        )
        .await;
    assert_eq!(status, 422);
    let fields = error_fields(&body);
    assert_eq!(fields, vec!["username", "email", "role"], "{body}");
    let res = app
        .call(
            Method::POST,
            "/api/v1/users",
            Some(&admin),
            Some(json!({"username": "hyl-officer", "role": "street_officer", "org": "HYL"})),
        )
        .await;
    expect_problem(res, 409, "duplicate_username").await;
    let (status, _) = app
        .call_json(Method::POST, "/api/v1/users", Some(&admin), Some(json!({"username": "yjj-1", "role": "department_inspector", "org": "YJJ", "password": PASSWORD})))
        .await;
    assert_eq!(status, 201);
});

db_test!(
    tokens_expired_tampered_and_wrong_algorithm_are_refused,
    |backend: Backend| async move {
        use base64::Engine;
        let app = TestApp::start(&backend).await;
        let (_, token) = app.user_token("root", "admin", "AJW").await;
        assert_eq!(
            app.call(Method::GET, "/api/v1/me", Some(&token), None)
                .await
                .status(),
            200
        );
        // The generated secret sits in the data folder, readable by the owner only.
        let secret_path = app.state.config.data_dir.join("jwt-secret");
        let secret = std::fs::read_to_string(&secret_path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&secret_path)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            // The data folder the service created is its user's alone (the SQLite files,
            // attachments and secrets inside are readable by all by default).
            let dir = std::fs::metadata(&app.state.config.data_dir)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir & 0o777, 0o700);
        }
        // Tampered payload (role changed), signature kept.
        let parts: Vec<&str> = token.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        claims["role"] = json!("district_office");
        claims["sub"] = json!("someone-else");
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(claims.to_string()),
            parts[2]
        );
        let res = app
            .call(Method::GET, "/api/v1/me", Some(&tampered), None)
            .await;
        expect_problem(res, 401, "invalid_token").await;
        // The same claims signed with the right secret but another algorithm.
        let original: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        let hs512 = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
            &original,
            &jsonwebtoken::EncodingKey::from_secret(secret.trim().as_bytes()).unwrap(),
        )
        .unwrap();
        expect_problem(
            app.call(Method::GET, "/api/v1/me", Some(&hs512), None)
                .await,
            401,
            "invalid_token",
        )
        .await;
        let none = format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        expect_problem(
            app.call(Method::GET, "/api/v1/me", Some(&none), None).await,
            401,
            "invalid_token",
        )
        .await;
        // Expired by the service clock: 15 minutes later.
        app.advance(chrono::Duration::minutes(15));
        expect_problem(
            app.call(Method::GET, "/api/v1/me", Some(&token), None)
                .await,
            401,
            "token_expired",
        )
        .await;
    }
);

db_test!(
    refresh_rotates_and_reuse_revokes_the_family,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        app.create_user("root", "admin", "AJW").await;
        let (_, login) = app
            .call_json(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "ROOT", "password": PASSWORD})),
            )
            .await;
        assert_eq!(login["token_type"], "Bearer");
        assert_eq!(login["expires_in"], 900);
        let r1 = login["refresh_token"].as_str().unwrap().to_string();
        let (status, second) = app
            .call_json(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": r1})),
            )
            .await;
        assert_eq!(status, 200);
        let r2 = second["refresh_token"].as_str().unwrap().to_string();
        let a2 = second["access_token"].as_str().unwrap().to_string();
        assert_ne!(r1, r2);
        assert_eq!(
            app.call(Method::GET, "/api/v1/me", Some(&a2), None)
                .await
                .status(),
            200
        );
        // The spent token comes back: the whole family dies.
        let res = app
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": r1})),
            )
            .await;
        expect_problem(res, 401, "refresh_token_reused").await;
        let res = app
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": r2})),
            )
            .await;
        expect_problem(res, 401, "invalid_refresh_token").await;
        expect_problem(
            app.call(Method::GET, "/api/v1/me", Some(&a2), None).await,
            401,
            "token_revoked",
        )
        .await;
        let res = app
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": "made-up"})),
            )
            .await;
        expect_problem(res, 401, "invalid_refresh_token").await;
    }
);

db_test!(
    logout_and_credential_changes_revoke_sessions,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let user_id = app.create_user("clerk", "street_officer", "HYL").await;
        app.create_user("root", "admin", "AJW").await;
        // Logout ends the session: its access and refresh tokens.
        let (_, login) = app
            .call_json(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "clerk", "password": PASSWORD})),
            )
            .await;
        let access = login["access_token"].as_str().unwrap().to_string();
        let refresh = login["refresh_token"].as_str().unwrap().to_string();
        assert_eq!(
            app.call(Method::POST, "/api/v1/auth/logout", Some(&access), None)
                .await
                .status(),
            204
        );
        expect_problem(
            app.call(Method::GET, "/api/v1/me", Some(&access), None)
                .await,
            401,
            "token_revoked",
        )
        .await;
        let res = app
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": refresh})),
            )
            .await;
        assert_eq!(res.status(), 401);
        // A client idle beyond its access token's life logs out with the refresh token.
        let (_, login) = app
            .call_json(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "clerk", "password": PASSWORD})),
            )
            .await;
        let (access, refresh) = (
            login["access_token"].clone(),
            login["refresh_token"].clone(),
        );
        app.advance(chrono::Duration::hours(1));
        let stale = access.as_str().unwrap();
        let logout = |bearer: Option<String>, body: Option<Value>| {
            let app = &app;
            async move {
                app.call(Method::POST, "/api/v1/auth/logout", bearer.as_deref(), body)
                    .await
            }
        };
        expect_problem(
            logout(Some(stale.into()), None).await,
            401,
            "unauthenticated",
        )
        .await;
        let made_up = Some(json!({"refresh_token": "made-up"}));
        expect_problem(logout(None, made_up).await, 401, "invalid_refresh_token").await;
        let res = logout(Some(stale.into()), Some(json!({"refresh_token": refresh}))).await;
        assert_eq!(res.status(), 204);
        let res = app
            .call(
                Method::POST,
                "/api/v1/auth/refresh",
                None,
                Some(json!({"refresh_token": refresh})),
            )
            .await;
        expect_problem(res, 401, "invalid_refresh_token").await;
        let admin = app.login("root").await;
        // A password change ends every session at once.
        let s1 = app.login("clerk").await;
        let s2 = app.login("clerk").await;
        let (status, changed) = app
            .call_json(
                Method::POST,
                "/api/v1/auth/password",
                Some(&s1),
                Some(json!({"current_password": PASSWORD, "new_password": "Another-Long-Pass-42"})),
            )
            .await;
        assert_eq!(status, 200);
        for old in [&s1, &s2] {
            expect_problem(
                app.call(Method::GET, "/api/v1/me", Some(old), None).await,
                401,
                "token_revoked",
            )
            .await;
        }
        let fresh = changed["access_token"].as_str().unwrap().to_string();
        assert_eq!(
            app.call(Method::GET, "/api/v1/me", Some(&fresh), None)
                .await
                .status(),
            200
        );
        // Disabling (by an admin) ends them too, and the login answers like a wrong password.
        let (status, _) = app
            .call_json(
                Method::PATCH,
                &format!("/api/v1/users/{user_id}"),
                Some(&admin),
                Some(json!({"active": false})),
            )
            .await;
        assert_eq!(status, 200);
        expect_problem(
            app.call(Method::GET, "/api/v1/me", Some(&fresh), None)
                .await,
            401,
            "token_revoked",
        )
        .await;
        let res = app
            .call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": "clerk", "password": "Another-Long-Pass-42"})),
            )
            .await;
        expect_problem(res, 401, "invalid_credentials").await;
    }
);

/// The status of `POST /auth/login` with `username` and `password`.
async fn login_status(app: &TestApp, username: &str, password: &str) -> u16 {
    let body = json!({"username": username, "password": password});
    app.call_json(Method::POST, "/api/v1/auth/login", None, Some(body))
        .await
        .0
}

/// An app whose logins lock after 3 failures for 10 minutes, `per_ip` attempts a minute per
/// client, with the street officer `clerk`.
async fn lockout_app(backend: &Backend, per_ip: u32) -> TestApp {
    let app = TestApp::start_with(
        backend,
        move |c| {
            c.auth.login_max_failures = 3;
            c.auth.lockout_minutes = 10;
            c.auth.login_rate_per_username_per_minute = 1000;
            c.auth.login_rate_per_ip_per_minute = per_ip;
        },
        Default::default(),
    )
    .await;
    app.create_user("clerk", "street_officer", "HYL").await;
    app
}

db_test!(
    a_username_without_an_account_locks_out_like_one_with,
    |backend: Backend| async move {
        let app = lockout_app(&backend, 1000).await;
        // The same sequence of answers for a real account and a made-up name: 401 × 3, then
        // 429 with Retry-After until the lockout ends.
        let mut seen = Vec::new();
        for user in ["clerk", "nobody"] {
            let mut answers = Vec::new();
            for _ in 0..4 {
                let res = app
                    .call(
                        Method::POST,
                        "/api/v1/auth/login",
                        None,
                        Some(json!({"username": user, "password": "wrong-password"})),
                    )
                    .await;
                let retry = res
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                let body: Value = res.json().await.unwrap();
                answers.push((body["status"].clone(), body["code"].clone(), retry));
            }
            seen.push(answers);
        }
        assert_eq!(seen[0], seen[1]);
        assert_eq!(seen[1][3].0, 429);
        assert_eq!(seen[1][3].2.as_deref(), Some("600"));
    }
);

db_test!(
    login_failures_lock_out_and_rate_limit,
    |backend: Backend| async move {
        let app = lockout_app(&backend, 6).await;
        let attempt = |password: &'static str, user: &'static str| {
            app.call(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": user, "password": password})),
            )
        };
        // Unknown user and wrong password: the same answer.
        let unknown: Value = attempt("whatever-password", "nobody")
            .await
            .json()
            .await
            .unwrap();
        let wrong: Value = attempt("wrong-password-1", "clerk")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(unknown, wrong);
        assert_eq!(wrong["code"], "invalid_credentials");
        attempt("wrong-password-2", "clerk").await;
        attempt("wrong-password-3", "clerk").await;
        // Locked now, even with the right password.
        let res = attempt(PASSWORD, "clerk").await;
        assert!(res.headers().get("retry-after").is_some());
        expect_problem(res, 429, "too_many_attempts").await;
        // After the lockout (service clock), the right password works and resets the count.
        app.advance(chrono::Duration::minutes(11));
        // Six attempts so far from this IP, the limit of a minute: the seventh is refused.
        assert_eq!(attempt(PASSWORD, "clerk").await.status(), 200);
        let res = attempt(PASSWORD, "clerk").await;
        let retry: u64 = res
            .headers()
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1);
        expect_problem(res, 429, "too_many_attempts").await;
        // Missing fields are a validation error, not a failed login.
        let (status, body) = app
            .call_json(Method::POST, "/api/v1/auth/login", None, Some(json!({})))
            .await;
        assert_eq!(status, 422);
        assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    }
);

db_test!(
    a_password_is_taken_exactly_as_typed,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let (_, token) = app.user_token("ops-lin", "district_office", "AJW").await;
        let spaced = "Spaced-Pass-2026 ";
        let (status, body) = app
            .call_json(
                Method::POST,
                "/api/v1/auth/password",
                Some(&token),
                Some(json!({"current_password": PASSWORD, "new_password": spaced})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let login = |password| login_status(&app, "ops-lin", password);
        // The password as it was set works; the same without its trailing space does not.
        assert_eq!(login(spaced).await, 200);
        assert_eq!(login("Spaced-Pass-2026").await, 401);
        assert_eq!(login("   ").await, 422, "blank is missing");
    }
);

db_test!(
    a_new_password_lifts_a_lockout,
    |backend: Backend| async move {
        let app = lockout_app(&backend, 1000).await;
        let (_, admin) = app.user_token("ops", "admin", "AJW").await;
        let login = |password| login_status(&app, "clerk", password);
        for _ in 0..3 {
            assert_eq!(login("wrong-password").await, 401);
        }
        assert_eq!(
            login(PASSWORD).await,
            429,
            "locked, even with the right password"
        );
        // The admin resets the password: the lockout ends with it.
        let (_, users) = app
            .call_json(Method::GET, "/api/v1/users?limit=200", Some(&admin), None)
            .await;
        let id = users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "clerk")
            .expect("clerk")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, body) = app
            .call_json(
                Method::PATCH,
                &format!("/api/v1/users/{id}"),
                Some(&admin),
                Some(json!({"password": "Reset-By-Admin-2026"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(login("Reset-By-Admin-2026").await, 200);
    }
);

db_test!(
    guesses_of_the_current_password_lock_like_failed_logins,
    |backend: Backend| async move {
        let app = lockout_app(&backend, 1000).await;
        let token = app.login("clerk").await;
        let change = |current: &'static str| {
            let (app, token) = (&app, token.clone());
            async move {
                app.call_json(
                    Method::POST,
                    "/api/v1/auth/password",
                    Some(&token),
                    Some(json!({"current_password": current, "new_password": "Another-Pass-2026"})),
                )
                .await
                .0
            }
        };
        for _ in 0..3 {
            assert_eq!(change("wrong-password").await, 422);
        }
        // Locked: the right password no longer helps, here or at login.
        assert_eq!(change(PASSWORD).await, 429);
        assert_eq!(login_status(&app, "clerk", PASSWORD).await, 429);
    }
);

db_test!(
    a_street_officer_does_not_take_over_an_enterprise_account,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let c = crate::hazards::cast(&app).await;
        let users = crate::hazards::call(
            &app,
            Method::GET,
            "/api/v1/users?limit=200",
            &c.street,
            serde_json::Value::Null,
            200,
        )
        .await;
        let boss = users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "boss")
            .expect("the principal")["id"]
            .as_str()
            .unwrap()
            .to_string();
        let path = format!("/api/v1/users/{boss}");
        for change in [
            json!({"password": "Street-Set-Pass-2026"}),
            json!({"active": false}),
        ] {
            let res = app
                .call(Method::PATCH, &path, Some(&c.street), Some(change))
                .await;
            expect_problem(res, 403, "forbidden").await;
        }
        // The principal still logs in with their own password; the officer may fix the name.
        assert!(!app.login("boss").await.is_empty());
        let (status, body) = app
            .call_json(
                Method::PATCH,
                &path,
                Some(&c.street),
                Some(json!({"display_name": "张建国"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
);
