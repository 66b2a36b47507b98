//! Query strings whose data errors name the parameter they are about: `?limit=abc` answers a
//! 422 on `limit` (actix's own `web::Query` names only "query"), and every parameter that does
//! not fit is named at once. A parameter given empty (`?after=&limit=`, as a form or a template
//! URL sends it) counts as not given.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::domain::FieldErrors;
use crate::error::{AppError, AppResult};

/// Parses a query string: 422 naming each parameter whose value does not fit.
pub fn from_query<T: DeserializeOwned>(query: &str) -> AppResult<T> {
    let given: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let query = serde_urlencoded::to_string(&given).unwrap_or_default();
    let query = query.as_str();
    let first = match parse::<T>(query) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    // Each parameter alone: the ones that fail on their own are the ones to name.
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    let mut named: Vec<(String, String)> = Vec::new();
    for (i, (key, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == key) && !named.iter().any(|(k, _)| k == key) {
            named.push((key.clone(), "given more than once".into()));
        }
    }
    for (key, value) in &pairs {
        let alone = serde_urlencoded::to_string([(key, value)]).unwrap_or_default();
        if let Err((_, message)) = parse::<T>(&alone)
            && !message.starts_with("missing field")
            && !named.iter().any(|(k, _)| k == key)
        {
            named.push((key.clone(), message));
        }
    }
    if named.is_empty() {
        named.push(first);
    }
    let mut errors = FieldErrors::new();
    for (field, message) in named {
        errors.add(field, message);
    }
    Err(match errors.finish() {
        Err(e) => e.into(),
        Ok(()) => AppError::internal("query error unrecorded"),
    })
}

/// The value, or the parameter (`query` when none is known) and the message of the first error.
fn parse<T: DeserializeOwned>(query: &str) -> Result<T, (String, String)> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        let field = match path.as_str() {
            "." | "" => "query".to_string(),
            p => p.to_string(),
        };
        (field, plain_message(e.into_inner().to_string()))
    })
}

/// The parser's words for a number or a flag that does not parse, in the API's words.
fn plain_message(message: String) -> String {
    match message.as_str() {
        "invalid digit found in string" => "must be a whole number".into(),
        "number too large to fit in target type" | "number too small to fit in target type" => {
            "out of range".into()
        }
        "provided string was not `true` or `false`" => "must be true or false".into(),
        _ => message,
    }
}

/// A whole-number parameter kept as given, so that a value that is not one is named together
/// with the errors of the other parameters, which the handler checks after parsing (a type
/// error stops the parse: `?limit=abc&street=NOPE` would name `limit` alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whole(Result<i64, String>);

impl Whole {
    /// The number, or `None` with `field`'s error recorded.
    pub fn checked(&self, errors: &mut FieldErrors, field: &str) -> Option<i64> {
        match &self.0 {
            Ok(n) => Some(*n),
            Err(message) => {
                errors.add(field, message.clone());
                None
            }
        }
    }
}

impl From<i64> for Whole {
    fn from(n: i64) -> Self {
        Whole(Ok(n))
    }
}

impl<'de> serde::Deserialize<'de> for Whole {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Whole(
            text.trim()
                .parse::<i64>()
                .map_err(|e| plain_message(e.to_string())),
        ))
    }
}

/// A query-string extractor like `web::Query`, with the errors of [`from_query`].
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    /// The parsed parameters.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            from_query(req.query_string())
                .map(Query)
                .map_err(Into::into),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Page {
        limit: Option<i64>,
        after: Option<i64>,
        q: Option<String>,
    }

    fn fields(query: &str) -> Vec<String> {
        let err = from_query::<Page>(query).unwrap_err();
        err.errors.iter().map(|e| e.field.clone()).collect()
    }

    #[test]
    fn every_parameter_that_does_not_fit_is_named() {
        assert_eq!(fields("limit=abc"), ["limit"]);
        assert_eq!(fields("limit=abc&q=x&after=-x"), ["limit", "after"]);
        assert_eq!(fields("q=a&q=b"), ["q"]);
        let ok = from_query::<Page>("limit=5&q=%E6%B6%88%E9%98%B2").unwrap();
        assert_eq!((ok.limit, ok.q.as_deref()), (Some(5), Some("消防")));
    }

    #[test]
    fn an_empty_parameter_is_not_given_and_a_bad_number_is_named_plainly() {
        let ok = from_query::<Page>("after=&limit=&q=").unwrap();
        assert_eq!((ok.after, ok.limit, ok.q), (None, None, None));
        let err = from_query::<Page>("after=abc&limit=99999999999999999999").unwrap_err();
        let said: Vec<(&str, &str)> = err
            .errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            said,
            [
                ("after", "must be a whole number"),
                ("limit", "out of range")
            ]
        );
    }
}
