//! Chinese display names for the codes that an [`super::ExportRow`] carries.
//!
//! The category and source tables are the domain's (`domain::hazard::codes`).

// The code tables are the domain's: one copy, shared with validation.
pub use crate::domain::hazard::{CATEGORIES, SOURCES, source_name};

/// Status code → Chinese; an unknown code is shown as is.
pub fn status_name(code: &str) -> &str {
    match code {
        "draft" => "草稿",
        "submitted" => "已上报",
        "returned" => "退回补正",
        "on_ledger" => "已上账",
        "in_rectification" => "整改中",
        "pending_acceptance" => "待验收",
        "closed" => "已销账",
        "void" => "已作废",
        other => other,
    }
}

/// Level code → Chinese; an unknown code is shown as is.
pub fn level_name(code: &str) -> &str {
    match code {
        "general" => "一般",
        "major" => "重大",
        other => other,
    }
}

/// Category code → name; an unknown code is shown as is.
pub fn category_name(code: &str) -> &str {
    crate::domain::hazard::category_name(code).unwrap_or(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        assert_eq!(CATEGORIES.len(), 25);
        assert_eq!(SOURCES.len(), 9);
        assert_eq!(category_name("A01"), "资质证照");
        assert_eq!(category_name("B99"), "其他现场管理");
        assert_eq!(source_name(9), Some("街镇日常检查"));
        assert_eq!(source_name(0), None);
        for (code, name) in [
            ("draft", "草稿"),
            ("submitted", "已上报"),
            ("returned", "退回补正"),
            ("on_ledger", "已上账"),
            ("in_rectification", "整改中"),
            ("pending_acceptance", "待验收"),
            ("closed", "已销账"),
            ("void", "已作废"),
        ] {
            assert_eq!(status_name(code), name);
        }
        assert_eq!(level_name("general"), "一般");
        assert_eq!(level_name("major"), "重大");
    }
}
