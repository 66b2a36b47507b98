//! Pure domain core: hazard state machine, deadlines, working days, routing, code sets and the
//! ledger hash chain. No I/O and no clock: "today" is always a parameter.
//!
//! # Error codes
//! Every refusal carries a stable snake_case `code`; the HTTP status follows the variant.
//!
//! 422 [`DomainError::Validation`]
//! - `validation_failed` — one or more fields are missing or invalid; `errors` lists every one.
//!
//! 403 [`DomainError::Forbidden`]
//! - `role_forbidden` — the caller's role may not take this action on this hazard.
//! - `direct_report_required` — a safety officer submits a 重大 hazard only with `direct_report`.
//! - `level_upgrade_forbidden` — a street officer may not raise a hazard to 重大.
//! - `level_downgrade_forbidden` — only a department inspector may lower 重大 to 一般.
//! - `verifier_is_reporter` — the person who reported a hazard may not accept it.
//!
//! 409 [`DomainError::InvalidState`] (`current` is the hazard's status)
//! - `hazard_frozen` — closed and void hazards refuse every change, whoever asks.
//! - `invalid_state` — the action is not possible from the current status.
//! - `level_not_general` — the action exists for 一般 hazards only (即查即改).
//! - `level_not_major` — the action exists for 重大 hazards only (挂牌督办).
//! - `plan_not_filed` — acknowledging a plan that was not filed.
//! - `plan_not_acknowledged` — a 重大 hazard starts rectification only with an acknowledged plan.
//! - `extension_pending` — an extension request is already waiting for a decision.
//! - `no_pending_extension` — deciding on an extension nobody requested.
//! - `extension_window_not_open` — too early: more working days left than the window allows.
//! - `extension_window_closed` — the effective deadline has passed.
//! - `congress_report_missing` — closing a 重大 hazard without a completion-stage congress
//!   report while the policy says `block`.
//! - `already_listed` — the hazard is already under 挂牌督办.
//! - `deadline_missing` — a deadline rule applies to a hazard that has no deadline.

#[macro_use]
mod code_enum;

pub mod calendar;
pub mod deadline;
pub mod escalation;
pub mod hazard;
pub mod ledger;
pub mod routing;
pub mod tip;
pub mod uscc;
pub mod validate;

use std::fmt;

use serde::Serialize;

/// One invalid or missing input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Field path as the client sent it, e.g. `plan.goal`.
    pub field: String,
    /// Short English message.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A refusal by the domain; the variant decides the HTTP status, `code` is stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// Input fields are missing or invalid (HTTP 422).
    Validation {
        /// Always `validation_failed`.
        code: &'static str,
        /// Every invalid or missing field.
        errors: Vec<FieldError>,
    },
    /// The caller's role or identity may not do this (HTTP 403).
    Forbidden {
        /// Stable code, e.g. `role_forbidden`.
        code: &'static str,
        /// English explanation.
        message: String,
    },
    /// A part of the hazard the request names does not exist (HTTP 404), e.g. an extension
    /// request that was never made.
    NotFound {
        /// Stable code, e.g. `not_found`.
        code: &'static str,
        /// English explanation.
        message: String,
    },
    /// The hazard's current state does not allow this (HTTP 409).
    InvalidState {
        /// Stable code, e.g. `invalid_state`.
        code: &'static str,
        /// The hazard's current status.
        current: String,
        /// English explanation.
        message: String,
    },
}

impl DomainError {
    /// The stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { code, .. }
            | Self::Forbidden { code, .. }
            | Self::NotFound { code, .. }
            | Self::InvalidState { code, .. } => code,
        }
    }

    /// The HTTP status this error maps to.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Validation { .. } => 422,
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::InvalidState { .. } => 409,
        }
    }

    /// A `validation_failed` error from a list of field errors.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        Self::Validation {
            code: "validation_failed",
            errors,
        }
    }

    /// A `validation_failed` error on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }
}

impl fmt::Display for DomainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Validation { code, errors } => {
                write!(f, "{code}:")?;
                for (i, e) in errors.iter().enumerate() {
                    let sep = if i == 0 { " " } else { "; " };
                    write!(f, "{sep}{}: {}", e.field, e.message)?;
                }
                Ok(())
            }
            Self::Forbidden { code, message } | Self::NotFound { code, message } => {
                write!(f, "{code}: {message}")
            }
            Self::InvalidState {
                code,
                current,
                message,
            } => write!(f, "{code} (status {current}): {message}"),
        }
    }
}

impl std::error::Error for DomainError {}

/// Collects every field error before failing, so a client sees all problems at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one error.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Whether an error names `field` already.
    pub fn names(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// Records `required` when the text is absent or only whitespace; returns the trimmed text.
    pub fn require_text<'a>(&mut self, field: &str, value: Option<&'a str>) -> Option<&'a str> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            Some(v) => Some(v),
            None => {
                self.add(field, "required");
                None
            }
        }
    }

    /// Records `required` when the value is absent; returns it otherwise.
    pub fn require<T: Copy>(&mut self, field: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.add(field, "required");
        }
        value
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was recorded, else a `validation_failed` error listing everything.
    pub fn finish(self) -> Result<(), DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::validation(self.0))
        }
    }
}

/// A string that is not one of a code set's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCode {
    /// Which code set, e.g. `status`.
    pub kind: &'static str,
    /// The rejected text.
    pub value: String,
}

impl fmt::Display for UnknownCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} '{}'", self.kind, self.value)
    }
}

impl std::error::Error for UnknownCode {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses() {
        let v = DomainError::field("title", "required");
        assert_eq!((v.code(), v.http_status()), ("validation_failed", 422));
        let f = DomainError::Forbidden {
            code: "role_forbidden",
            message: "no".into(),
        };
        assert_eq!((f.code(), f.http_status()), ("role_forbidden", 403));
        let s = DomainError::InvalidState {
            code: "hazard_frozen",
            current: "closed".into(),
            message: "frozen".into(),
        };
        assert_eq!((s.code(), s.http_status()), ("hazard_frozen", 409));
    }

    #[test]
    fn display_lists_every_field() {
        let mut e = FieldErrors::new();
        e.add("title", "required");
        e.add("plan.goal", "required");
        assert!(e.names("title") && !e.names("plan"));
        let err = e.finish().unwrap_err();
        assert_eq!(
            err.to_string(),
            "validation_failed: title: required; plan.goal: required"
        );
    }

    #[test]
    fn collector_trims_and_requires() {
        let mut e = FieldErrors::new();
        assert_eq!(e.require_text("a", Some("  x ")), Some("x"));
        assert_eq!(e.require_text("b", Some("   ")), None);
        assert_eq!(e.require::<i32>("c", None), None);
        assert!(!e.is_empty());
        match e.finish() {
            Err(DomainError::Validation { errors, .. }) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["b", "c"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(FieldErrors::new().finish(), Ok(()));
    }

    #[test]
    fn unknown_code_message() {
        let e = UnknownCode {
            kind: "status",
            value: "open".into(),
        };
        assert_eq!(e.to_string(), "unknown status 'open'");
    }
}
