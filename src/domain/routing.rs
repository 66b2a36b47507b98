//! Routing a hazard by sector: the first sector's department accepts, the others are copied.
//!
//! The sector → department table is data (seeded, kept in the database); the caller passes it.

use std::collections::HashMap;

use serde::Serialize;

use super::{DomainError, FieldErrors};

/// The departments a hazard goes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routing {
    /// The department that accepts (the first sector's).
    pub primary: String,
    /// Other departments of the hazard's sectors, distinct, in sector order.
    pub copied: Vec<String>,
}

/// Routes `sectors` through the `sector → primary department` table; an unknown or missing sector is a validation error on `sectors`.
pub fn route(
    sectors: &[String],
    sector_primary: &HashMap<String, String>,
) -> Result<Routing, DomainError> {
    let mut errors = FieldErrors::new();
    if sectors.is_empty() {
        errors.add("sectors", "required");
    }
    let mut departments: Vec<&String> = Vec::new();
    for sector in sectors {
        match sector_primary.get(sector) {
            Some(dept) => {
                if !departments.contains(&dept) {
                    departments.push(dept);
                }
            }
            None => errors.add("sectors", format!("unknown sector '{sector}'")),
        }
    }
    errors.finish()?;
    let (primary, copied) = departments
        .split_first()
        .ok_or_else(|| DomainError::field("sectors", "required"))?;
    Ok(Routing {
        primary: (*primary).clone(),
        copied: copied.iter().map(|d| (*d).clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> HashMap<String, String> {
        [
            ("industry_trade", "YJJ"),
            ("confined_space", "YJJ"),
            ("gas", "JGW"),
            ("fire", "XFZD"),
            ("special_equipment", "SCJGJ"),
        ]
        .into_iter()
        .map(|(s, d)| (s.to_string(), d.to_string()))
        .collect()
    }

    fn sectors(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn first_sector_is_primary_others_copied_once() {
        let r = route(
            &sectors(&["gas", "industry_trade", "fire", "confined_space", "gas"]),
            &table(),
        )
        .unwrap();
        assert_eq!(r.primary, "JGW");
        assert_eq!(r.copied, ["YJJ", "XFZD"]);
    }

    #[test]
    fn single_sector_copies_nobody() {
        let r = route(&sectors(&["fire"]), &table()).unwrap();
        assert_eq!((r.primary.as_str(), r.copied.len()), ("XFZD", 0));
        let r = route(&sectors(&["industry_trade", "confined_space"]), &table()).unwrap();
        assert_eq!((r.primary.as_str(), r.copied.len()), ("YJJ", 0));
    }

    #[test]
    fn every_unknown_sector_is_named() {
        match route(&sectors(&["fire", "mining", "fishing"]), &table()) {
            Err(DomainError::Validation { code, errors }) => {
                assert_eq!(code, "validation_failed");
                assert_eq!(errors.len(), 2);
                assert!(errors.iter().all(|e| e.field == "sectors"));
                assert!(errors[0].message.contains("mining"));
                assert!(errors[1].message.contains("fishing"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn no_sector_is_refused() {
        let err = route(&[], &table()).unwrap_err();
        assert_eq!(err.code(), "validation_failed");
        assert_eq!(err.to_string(), "validation_failed: sectors: required");
    }
}
