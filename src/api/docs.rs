//! The OpenAPI contract (`api/openapi.yaml`, compiled in) as JSON, and the offline docs page.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::Method;

use super::Routes;

/// The contract, written by hand in YAML.
pub const OPENAPI_YAML: &str = include_str!("../../api/openapi.yaml");

static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| {
    let value: serde_json::Value =
        serde_yaml_ng::from_str(OPENAPI_YAML).expect("api/openapi.yaml is valid YAML");
    value.to_string()
});

pub fn routes(r: &mut Routes) {
    r.get("/api/openapi.json", openapi_json)
        .get("/docs", docs_redirect)
        .external(Method::GET, "/docs/{file}");
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI_JSON.as_str())
}

/// `/docs` → `/docs/`, where the embedded Swagger UI lives.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((actix_web::http::header::LOCATION, "/docs/"))
        .finish()
}

/// The Swagger UI page at `/docs`, every asset served from the binary.
pub fn swagger_ui() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
        .config(utoipa_swagger_ui::Config::from("/api/openapi.json"))
}
