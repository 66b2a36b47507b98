//! Reference data shipped in `seeds/` and compiled into the binary, so the service runs from
//! any folder.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::Deserialize;

const CHANGNING: &str = include_str!("../seeds/changning.json");
const CATEGORIES: &str = include_str!("../seeds/categories.json");
const HOLIDAYS: &str = include_str!("../seeds/holidays-cn.json");

/// A street (街道) or town (镇) of the district.
#[derive(Debug, Clone, Deserialize)]
pub struct StreetSeed {
    pub code: String,
    pub name: String,
    /// Road and area names of the street, for routing tip-offs by address.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// A department (行业主管部门) or the district safety office (区安委办).
#[derive(Debug, Clone, Deserialize)]
pub struct DepartmentSeed {
    pub code: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub remit: String,
}

/// A sector (行业领域) and the department that supervises it.
#[derive(Debug, Clone, Deserialize)]
pub struct SectorSeed {
    pub code: String,
    pub name: String,
    pub primary_department: String,
}

#[derive(Debug, Clone, Deserialize)]
struct StandardSeed {
    sector: String,
    standard: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Changning {
    streets: Vec<StreetSeed>,
    departments: Vec<DepartmentSeed>,
    sectors: Vec<SectorSeed>,
    major_hazard_standards: Vec<StandardSeed>,
}

/// A code with its Chinese name.
#[derive(Debug, Clone, Deserialize)]
pub struct CodeSeed {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Categories {
    categories: Vec<CodeSeed>,
}

#[derive(Debug, Clone, Deserialize)]
struct HolidayYear {
    holidays: Vec<NaiveDate>,
    working_weekends: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Deserialize)]
struct Holidays {
    years: std::collections::BTreeMap<String, HolidayYear>,
}

/// Everything `seed` loads.
#[derive(Debug, Clone)]
pub struct ReferenceData {
    pub streets: Vec<StreetSeed>,
    pub departments: Vec<DepartmentSeed>,
    /// Sectors with the judgement standard for 重大 where one is known.
    pub sectors: Vec<(SectorSeed, Option<String>)>,
    pub categories: Vec<CodeSeed>,
    /// (date, "holiday" | "working_weekend").
    pub calendar: Vec<(NaiveDate, &'static str)>,
}

impl ReferenceData {
    /// Parses the embedded seed files.
    pub fn load() -> anyhow::Result<Self> {
        let cn: Changning = serde_json::from_str(CHANGNING)?;
        let cats: Categories = serde_json::from_str(CATEGORIES)?;
        let hol: Holidays = serde_json::from_str(HOLIDAYS)?;
        let sectors = cn
            .sectors
            .into_iter()
            .map(|s| {
                let standard = cn
                    .major_hazard_standards
                    .iter()
                    .find(|m| m.sector == s.code)
                    .map(|m| m.standard.clone());
                (s, standard)
            })
            .collect();
        let mut calendar = Vec::new();
        for year in hol.years.values() {
            calendar.extend(year.holidays.iter().map(|d| (*d, "holiday")));
            calendar.extend(
                year.working_weekends
                    .iter()
                    .map(|d| (*d, "working_weekend")),
            );
        }
        Ok(Self {
            streets: cn.streets,
            departments: cn.departments,
            sectors,
            categories: cats.categories,
            calendar,
        })
    }

    /// The raw holiday calendar JSON (for the domain's working-day calendar).
    pub fn holidays_json() -> &'static str {
        HOLIDAYS
    }
}

/// The codes of the reference data, to refuse an unknown one by name (the reference data is
/// compiled in and no endpoint changes it).
#[derive(Debug, Default)]
pub struct KnownCodes {
    pub streets: HashSet<String>,
    pub departments: HashSet<String>,
    pub sectors: HashSet<String>,
    /// The supervising departments (not the district office) by code and by name → code: the
    /// embedded reference data the database is seeded from, which no endpoint changes.
    supervising: HashMap<String, String>,
}

impl KnownCodes {
    /// The code of the supervising department named by its code (`YJJ`) or name (`区应急局`).
    pub fn supervising_department(&self, named: &str) -> Option<&str> {
        self.supervising.get(named.trim()).map(String::as_str)
    }
}

/// The codes of the embedded reference data, parsed once.
pub fn known_codes() -> &'static KnownCodes {
    static CODES: OnceLock<KnownCodes> = OnceLock::new();
    CODES.get_or_init(|| {
        // The embedded files parse (a unit test below); should they not, every code is unknown.
        let r = ReferenceData::load().unwrap_or_else(|_| ReferenceData {
            streets: Vec::new(),
            departments: Vec::new(),
            sectors: Vec::new(),
            categories: Vec::new(),
            calendar: Vec::new(),
        });
        let supervising = r
            .departments
            .iter()
            .filter(|d| d.kind == "department")
            .flat_map(|d| {
                [
                    (d.code.clone(), d.code.clone()),
                    (d.name.clone(), d.code.clone()),
                ]
            })
            .collect();
        KnownCodes {
            supervising,
            streets: r.streets.into_iter().map(|s| s.code).collect(),
            departments: r.departments.into_iter().map(|d| d.code).collect(),
            sectors: r.sectors.into_iter().map(|(s, _)| s.code).collect(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supervising_departments_by_code_or_name() {
        let k = known_codes();
        assert_eq!(k.supervising_department("YJJ"), Some("YJJ"));
        assert_eq!(k.supervising_department(" 区应急局 "), Some("YJJ"));
        assert_eq!(
            k.supervising_department("AJW"),
            None,
            "the district office supervises none"
        );
        assert_eq!(k.supervising_department("区不存在局"), None);
    }

    #[test]
    fn seeds_parse_with_ten_streets() {
        let r = ReferenceData::load().unwrap();
        assert_eq!(r.streets.len(), 10);
        assert!(r.streets.iter().any(|s| s.name == "新泾镇"));
        assert!(r.departments.iter().any(|d| d.kind == "district_office"));
        assert!(r.categories.iter().any(|c| c.code == "B99"));
        let known = known_codes();
        assert_eq!(known.streets.len(), 10);
        assert!(
            known.departments.contains("YJJ") && known.sectors.contains("ammonia_refrigeration")
        );
        // 涉氨制冷, 粉尘涉爆 and 有限空间 are judged by the 工贸 standard's special sections.
        for code in ["ammonia_refrigeration", "dust_explosion", "confined_space"] {
            let (_, standard) = r.sectors.iter().find(|(s, _)| s.code == code).unwrap();
            assert!(
                standard
                    .as_deref()
                    .is_some_and(|t| t.contains("应急管理部令第10号")),
                "{code}: {standard:?}"
            );
        }
        // 2023-10-07 was a swapped working Saturday.
        let d = NaiveDate::from_ymd_opt(2023, 10, 7).unwrap();
        assert!(r.calendar.contains(&(d, "working_weekend")));
    }
}
