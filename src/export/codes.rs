//! Chinese display names for the codes that an [`super::ExportRow`] carries.
//!
//! The category and source tables are embedded from `shared/reference/categories.json`
//! (provincial 隐患 exchange interface codes; A = 基础管理, B = 现场管理).

/// Hazard category code → name.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("A01", "资质证照"),
    ("A02", "安全生产管理机构及人员"),
    ("A03", "安全生产责任制"),
    ("A04", "安全生产管理制度"),
    ("A05", "安全教育培训"),
    ("A06", "安全生产管理档案"),
    ("A07", "应急管理"),
    ("A08", "职业卫生基础管理"),
    ("A09", "安全操作规程"),
    ("A10", "安全生产投入"),
    ("A11", "特种设备基础管理"),
    ("A12", "相关方基础管理"),
    ("A99", "其他基础管理"),
    ("B01", "生产设备设施"),
    ("B02", "特种设备现场管理"),
    ("B03", "消防与应急安全"),
    ("B04", "用电安全"),
    ("B05", "职业卫生现场管理"),
    ("B06", "危险化学品"),
    ("B07", "场所环境"),
    ("B08", "从业人员操作行为"),
    ("B09", "有限空间现场管理"),
    ("B10", "辅助动力系统"),
    ("B11", "相关方现场管理"),
    ("B99", "其他现场管理"),
];

/// Hazard source code → name.
pub const SOURCES: &[(i32, &str)] = &[
    (1, "班组检查"),
    (2, "车间检查"),
    (3, "企业(厂矿)检查"),
    (4, "集团检查"),
    (5, "监督检查"),
    (6, "投诉举报"),
    (7, "标准化自评/评审"),
    (8, "其他"),
    (9, "街镇日常检查"),
];

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
    CATEGORIES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
        .unwrap_or(code)
}

/// Source code → name, `None` for an unknown code.
pub fn source_name(code: i32) -> Option<&'static str> {
    SOURCES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
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
