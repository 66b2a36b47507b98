//! JSON request bodies whose data errors name the field they are about.
//!
//! serde stops at the first value it cannot take (a wrong type, an unknown enum value, a date
//! that does not exist); `serde_path_to_error` tells which field that was, so the 422 names
//! `discovered_on` or `judgement_basis.clause` instead of the whole body.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::error::{AppError, AppResult};

/// Parses `bytes` as JSON: 400 `malformed_json` when it is not JSON, else 422 naming every
/// field whose value does not fit (`body` when the document as a whole does not).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        AppError::bad_request("malformed_json", format!("The body is not valid JSON: {e}"))
    })?;
    from_value(value)
}

/// [`from_slice`] for a document already parsed (a merged PATCH, a tip's hazard fields).
/// Text with a control character (other than tab and line breaks) is refused first, naming
/// each field: a NUL cannot be stored in PostgreSQL's `text`, and the others only hide
/// content (an email's body that seems to carry header lines, a CSV cell that ends early).
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> AppResult<T> {
    let mut errors = crate::domain::FieldErrors::new();
    control_characters(&value, "", &mut errors);
    errors.finish()?;
    match serde_path_to_error::deserialize::<_, T>(&value) {
        Ok(v) => Ok(v),
        Err(first) => Err(explain::<T>(&value, first)),
    }
}

/// [`from_value`] for a request body that names only fields of `T`: a field it does not know
/// (a misspelt `temporary_measure`) is a 422 naming it, not silently dropped. `T` serialises
/// every field it reads (no `skip_serializing`), so the keys of its serialisation are the
/// names it accepts; nested objects are compared in turn.
pub fn from_value_strict<T: DeserializeOwned + serde::Serialize>(
    value: serde_json::Value,
) -> AppResult<T> {
    let parsed: T = from_value(value.clone())?;
    strict_members(&value, &parsed)?;
    Ok(parsed)
}

/// The check of [`from_value_strict`] on the members of `given` only (a PATCH's, laid over a
/// stored report that `parsed` was read from): unknown members and dates out of shape or age.
pub fn strict_members<T: serde::Serialize>(given: &serde_json::Value, parsed: &T) -> AppResult<()> {
    let known = serde_json::to_value(parsed).map_err(AppError::internal)?;
    let mut errors = crate::domain::FieldErrors::new();
    unknown_fields(given, &known, "", &mut errors);
    Ok(errors.finish()?)
}

/// The earliest date a body may name (`YYYY-MM-DD` compares as text).
const EARLIEST_DATE: &str = "2000-01-01";

/// Whether the member at `path` holds a date: by the names this service gives its dates
/// (`discovered_on`, `deadline`, `requested_deadline`, `complete_by`, `plan_file_by`), so that a
/// text which only looks like a date (a title "1999-12-31") is left alone.
fn is_date_member(path: &str) -> bool {
    let name = path.rsplit('.').next().unwrap_or(path);
    name.ends_with("_on")
        || name.ends_with("deadline")
        || matches!(name, "complete_by" | "plan_file_by")
}

/// Names every key of `given` (at `path`) that `known` does not have, and every date written
/// otherwise than `YYYY-MM-DD` (chrono also reads `2026-3-1`; DESIGN's dates are
/// `YYYY-MM-DD`: the parsed value serialises so, the text given does not).
fn unknown_fields(
    given: &serde_json::Value,
    known: &serde_json::Value,
    path: &str,
    errors: &mut crate::domain::FieldErrors,
) {
    if let (Some(g), Some(k)) = (given.as_str(), known.as_str())
        && (crate::timefmt::is_iso_date(k) || is_date_member(path))
        && k.parse::<chrono::NaiveDate>().is_ok()
    {
        if g != k || !crate::timefmt::is_iso_date(k) {
            // Also a signed year (-0044-11-25), which chrono writes back as it read it.
            errors.add(path, "must be a date YYYY-MM-DD");
        } else if is_date_member(path) && k < EARLIEST_DATE {
            // A hazard's dates (found, posted, due, met, done) are of this century: 0044-11-25
            // is a typing slip that every later date check would accept.
            errors.add(path, format!("must be a date from {EARLIEST_DATE} on"));
        }
        return;
    }
    let (Some(given), Some(known)) = (given.as_object(), known.as_object()) else {
        return;
    };
    for (key, value) in given {
        let at = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match known.get(key) {
            None => errors.add(&at, "not a field of this request"),
            Some(k) => unknown_fields(value, k, &at, errors),
        }
    }
}

/// Names every string under `value` (at `path`) that holds a control character other than
/// tab, line feed and carriage return.
fn control_characters(
    value: &serde_json::Value,
    path: &str,
    errors: &mut crate::domain::FieldErrors,
) {
    let at = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        serde_json::Value::String(s) if crate::domain::validate::has_control_characters(s) => {
            let field = if path.is_empty() { "body" } else { path };
            errors.add(field, "must not contain control characters");
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                control_characters(item, &format!("{path}[{i}]"), errors);
            }
        }
        serde_json::Value::Object(members) => {
            for (key, member) in members {
                control_characters(member, &at(key), errors);
            }
        }
        _ => {}
    }
}

/// "missing field `x`" / "unknown field `x`": the field the message names.
fn named_in(message: &str) -> Option<&str> {
    message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("missing field") || message.starts_with("unknown field"))
}

/// The field a data error is about: its path, or (at the top, where a flattened struct loses
/// the path) the field the message names.
fn field_of(path: &str, message: &str) -> String {
    match (path, named_in(message)) {
        ("." | "", Some(n)) => n.to_string(),
        ("." | "", None) => "body".to_string(),
        (p, Some(n)) => format!("{p}.{n}"),
        (p, None) => p.to_string(),
    }
}

/// serde stops at the first value it cannot take. A missing field is reported as such (the
/// domain names every missing field itself); a value that does not fit is looked for in every
/// member of the object, each deserialized alone, so that all of them are named at once.
fn explain<T: DeserializeOwned>(
    value: &serde_json::Value,
    first: serde_path_to_error::Error<serde_json::Error>,
) -> AppError {
    let path = first.path().to_string();
    let message = first.into_inner().to_string();
    let mut errors = crate::domain::FieldErrors::new();
    if let Some(members) = value.as_object()
        && !message.starts_with("missing field")
    {
        for (key, member) in members {
            let alone =
                serde_json::Value::Object([(key.clone(), member.clone())].into_iter().collect());
            if let Err(e) = serde_path_to_error::deserialize::<_, T>(&alone) {
                let inner = e.path().to_string();
                let text = e.into_inner().to_string();
                if !text.starts_with("missing field") {
                    let field = match inner.as_str() {
                        "." | "" => key.clone(),
                        p => p.to_string(),
                    };
                    errors.add(&field, plain(&text));
                }
            }
        }
    }
    if errors.is_empty() {
        errors.add(field_of(&path, &message), plain(&message));
    }
    match errors.finish() {
        Err(e) => e.into(),
        Ok(()) => unreachable!("at least one error was recorded"),
    }
}

/// serde's and chrono's words for a value that does not fit, in the API's: no Rust type names
/// (`expected struct CreateBody`, `expected i32`). Other messages (an unknown variant names the
/// accepted values) are kept.
fn plain(message: &str) -> String {
    let expected = message.rsplit(", expected ").next().unwrap_or("");
    let said = if !message.starts_with("invalid type") && !message.starts_with("invalid value") {
        None
    } else if expected.starts_with("struct") || expected.starts_with("a map") {
        Some("must be a JSON object")
    } else if [
        "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "usize", "isize",
    ]
    .iter()
    .any(|t| expected == *t || expected.starts_with(&format!("{t} ")))
    {
        Some("must be a whole number")
    } else if expected.starts_with("f32") || expected.starts_with("f64") {
        Some("must be a number")
    } else if expected.starts_with("a boolean") {
        Some("must be true or false")
    } else if expected.starts_with("a string") || expected.starts_with("a borrowed string") {
        Some("must be text")
    } else if expected.starts_with("a sequence") {
        Some("must be a list")
    } else {
        None
    };
    match (said, message) {
        (Some(s), _) => s.to_string(),
        (None, "input is out of range") => "not a calendar date (YYYY-MM-DD)".to_string(),
        (
            None,
            "input contains invalid characters" | "premature end of input" | "trailing input",
        ) => "must be a date YYYY-MM-DD".to_string(),
        (None, m) => m.to_string(),
    }
}

/// Whether the request says its body is JSON (a page's form turned into JSON counts).
pub fn is_json(req: &HttpRequest) -> bool {
    req.extensions().contains::<crate::web::FormJson>()
        || req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_ascii_lowercase)
            // Media types are case-insensitive (RFC 9110 §8.3.1): APPLICATION/JSON is JSON.
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"))
}

/// 415 for a body that is not JSON.
pub fn unsupported_media_type() -> AppError {
    AppError::new(
        actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "Send the body as application/json.",
    )
}

/// A JSON body extractor like `web::Json`, within the app's `PayloadConfig` limit (413), 415
/// for another media type, and errors from [`from_slice`].
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(unsupported_media_type().into());
            }
            let bytes = bytes.await?;
            Ok(Json(from_slice(&bytes)?))
        })
    }
}

#[cfg(test)]
mod strict {
    #[derive(Debug, serde::Deserialize, serde::Serialize)]
    struct Body {
        on: Option<chrono::NaiveDate>,
        found_on: Option<chrono::NaiveDate>,
        name: Option<String>,
    }

    #[test]
    fn dates_are_written_yyyy_mm_dd_and_members_are_known() {
        let read = |v: serde_json::Value| {
            super::from_value_strict::<Body>(v).map_err(|e| format!("{e:?}"))
        };
        assert!(read(serde_json::json!({"on": "2026-03-01", "name": "2026-3-1"})).is_ok());
        let err = read(serde_json::json!({"on": "2026-3-1"})).unwrap_err();
        assert!(
            err.contains("\"on\"") && err.contains("YYYY-MM-DD"),
            "{err}"
        );
        let err = read(serde_json::json!({"nme": "x"})).unwrap_err();
        assert!(err.contains("\"nme\""), "{err}");
        // A date of another age is a slip, signed years included; a text that only looks like
        // a date is text.
        let err = read(serde_json::json!({"found_on": "0044-11-25"})).unwrap_err();
        assert!(
            err.contains("\"found_on\"") && err.contains("2000-01-01"),
            "{err}"
        );
        let err = read(serde_json::json!({"found_on": "-0044-11-25"})).unwrap_err();
        assert!(
            err.contains("\"found_on\"") && err.contains("YYYY-MM-DD"),
            "{err}"
        );
        assert!(read(serde_json::json!({"found_on": "2000-01-01", "name": "1999-12-31"})).is_ok());
    }
}

#[cfg(test)]
mod control_characters {
    use serde_json::json;

    #[test]
    fn text_with_control_characters_is_named_by_its_field() {
        let body = json!({"title": "a\u{0}b", "description": "一行\n二行\t制表",
            "plan": {"goal": "x\u{1b}[31m"}, "sectors": ["fire", "x\u{7f}"]});
        let err = super::from_value::<serde_json::Value>(body).unwrap_err();
        let shown = format!("{err:?}");
        for field in ["title", "plan.goal", "sectors[1]"] {
            assert!(shown.contains(&format!("\"{field}\"")), "{field}: {shown}");
        }
        assert!(!shown.contains("description"), "{shown}");
        // Line breaks and tabs are text.
        assert!(super::from_value::<serde_json::Value>(json!({"d": "一\r\n二\t"})).is_ok());
    }
}

#[cfg(test)]
mod plain_words {
    #[test]
    fn rust_type_names_are_not_shown() {
        use super::plain;
        assert_eq!(
            plain("invalid type: sequence, expected struct CreateBody"),
            "must be a JSON object"
        );
        assert_eq!(
            plain("invalid type: string \"many\", expected i32"),
            "must be a whole number"
        );
        assert_eq!(
            plain("invalid type: integer `1`, expected a string"),
            "must be text"
        );
        assert_eq!(
            plain("input is out of range"),
            "not a calendar date (YYYY-MM-DD)"
        );
        let variant = "unknown variant `bogus`, expected `general` or `major`";
        assert_eq!(plain(variant), variant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> String {
        let err = from_slice::<T>(body.as_bytes()).unwrap_err();
        assert_eq!(err.status.as_u16(), 422, "{err:?}");
        err.errors[0].field.clone()
    }

    #[test]
    fn a_value_that_does_not_fit_is_named_by_its_field() {
        use crate::domain::hazard::DraftInput;
        // Flattened content, an impossible date, an unknown enum value, nested fields.
        assert_eq!(
            field_of::<crate::api::hazards::CreateBody>(r#"{"discovered_on": "2026-02-30"}"#),
            "discovered_on"
        );
        assert_eq!(field_of::<DraftInput>(r#"{"level": "huge"}"#), "level");
        assert_eq!(field_of::<DraftInput>(r#"{"source": "three"}"#), "source");
        // Inside a flattened struct serde keeps no path below the member.
        assert_eq!(
            field_of::<DraftInput>(r#"{"judgement_basis": {"clause": 4}}"#),
            "judgement_basis"
        );
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Nested {
            basis: crate::domain::hazard::JudgementBasis,
        }
        assert_eq!(
            field_of::<Nested>(r#"{"basis": {"clause": 4}}"#),
            "basis.clause"
        );
        assert_eq!(field_of::<DraftInput>("[1, 2]"), "body");
    }

    #[test]
    fn every_value_that_does_not_fit_is_named_at_once() {
        let err = from_slice::<crate::api::hazards::CreateBody>(
            br#"{"level": "huge", "title": "ok", "source": "three", "discovered_on": "2026-13-01"}"#,
        )
        .unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["discovered_on", "level", "source"], "{err:?}");
        assert!(err.errors[1].message.contains("huge"), "{err:?}");
    }

    #[test]
    fn text_that_is_not_json_is_a_bad_request() {
        let err = from_slice::<serde_json::Value>(b"{\"a\": ").unwrap_err();
        assert_eq!(
            (err.status.as_u16(), err.code.as_ref()),
            (400, "malformed_json")
        );
        let err = from_slice::<serde_json::Value>(b"{} trailing").unwrap_err();
        assert_eq!(err.code, "malformed_json");
    }
}
