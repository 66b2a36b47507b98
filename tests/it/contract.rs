//! The contract: `api/openapi.yaml` and the router describe the same routes.

use std::collections::BTreeSet;

use crate::common::{Backend, TestApp};
use crate::db_test;

fn spec() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/api/openapi.yaml"))
        .expect("api/openapi.yaml");
    serde_yaml_ng::from_str(&text).expect("valid YAML")
}

fn spec_routes(spec: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn spec_and_router_list_the_same_routes() {
    let spec = spec();
    assert_eq!(spec["openapi"], "3.1.0");
    let in_spec = spec_routes(&spec);
    let in_router: BTreeSet<(String, String)> =
        hazard_ledger::api::routes().list().into_iter().collect();
    let missing_from_spec: Vec<_> = in_router.difference(&in_spec).collect();
    let missing_from_router: Vec<_> = in_spec.difference(&in_router).collect();
    assert!(
        missing_from_spec.is_empty() && missing_from_router.is_empty(),
        "routes not in api/openapi.yaml: {missing_from_spec:?}; \
         routes in the spec that the router lacks: {missing_from_router:?}"
    );
}

/// A description wrapped onto a line of its own turns into a key with no value
/// (`or an enterprise's id or USCC.: null`): no member of the spec is null (a null in a list,
/// such as a nullable enum's, is fine).
#[test]
fn no_text_of_the_spec_fell_apart_into_keys() {
    fn nulls(v: &serde_json::Value, at: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    if v.is_null() {
                        out.push(format!("{at}/{k}"));
                    }
                    nulls(v, &format!("{at}/{k}"), out);
                }
            }
            serde_json::Value::Array(a) => {
                for (i, v) in a.iter().enumerate() {
                    nulls(v, &format!("{at}[{i}]"), out);
                }
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    nulls(&spec(), "", &mut found);
    assert!(found.is_empty(), "keys without a value: {found:?}");
}

#[test]
fn every_operation_has_an_id_and_responses() {
    let spec = spec();
    let mut ids = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            assert!(op["responses"].is_object(), "{method} {path}: no responses");
        }
    }
}

db_test!(
    served_spec_is_the_file_and_docs_work_offline,
    |backend: Backend| async move {
        let app = TestApp::start(&backend).await;
        let (status, served) = app.get_json("/api/openapi.json").await;
        assert_eq!(status, 200);
        assert_eq!(served, spec());
        let res = app.get("/docs").await;
        assert_eq!(res.status(), 308);
        let page = app.get("/docs/").await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui-bundle.js"));
        assert!(
            !html.contains("http://") && !html.contains("https://unpkg"),
            "no CDN: {html}"
        );
        let bundle = app.get("/docs/swagger-ui-bundle.js").await;
        assert_eq!(bundle.status(), 200, "assets are served from the binary");
        let init = app
            .get("/docs/swagger-initializer.js")
            .await
            .text()
            .await
            .unwrap();
        assert!(init.contains("/api/openapi.json"), "{init}");
    }
);

fn migration_versions(backend: &str) -> BTreeSet<String> {
    let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| {
            for f in ["up.sql", "down.sql"] {
                assert!(e.path().join(f).is_file(), "{:?} lacks {f}", e.path());
            }
            e.file_name().to_string_lossy().into_owned()
        })
        .collect()
}

#[test]
fn both_migration_folders_list_the_same_versions() {
    let sqlite = migration_versions("sqlite");
    let postgres = migration_versions("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres differ"
    );
}
