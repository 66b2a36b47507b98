//! Code sets of a hazard: status, level, roles, handling, suspension, void reasons, actions,
//! and the category (A01…B99) and source (1–9) lists.

code_enum! {
    /// Lifecycle status of a hazard.
    #[derive(Default)]
    pub enum Status("status") {
        /// 草稿.
        #[default]
        Draft => "draft",
        /// 已上报, waiting for the street or department.
        Submitted => "submitted",
        /// 退回补正.
        Returned => "returned",
        /// 已上账, waiting for rectification to start.
        OnLedger => "on_ledger",
        /// 整改中.
        InRectification => "in_rectification",
        /// 待验收.
        PendingAcceptance => "pending_acceptance",
        /// 已销账 (terminal).
        Closed => "closed",
        /// 已作废 (terminal).
        Void => "void",
    }
}

impl Status {
    /// Closed and void hazards are terminal and frozen.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Closed | Status::Void)
    }

    /// Every status that is not terminal.
    pub fn is_open(self) -> bool {
        !self.is_terminal()
    }

    /// The day an open hazard's lateness is measured on, or `None` where no deadline runs.
    /// While the work runs (`on_ledger`, `in_rectification`) that is today. Once the enterprise
    /// reports it complete (`pending_acceptance`) the clock stops at the completion date: work
    /// done by the deadline is not overdue while it waits for acceptance, and late work stays
    /// as late as it was (a failed acceptance clears the completion date and the clock runs
    /// again, T12).
    pub fn lateness_measured_on(
        self,
        completed_on: Option<chrono::NaiveDate>,
        today: chrono::NaiveDate,
    ) -> Option<chrono::NaiveDate> {
        match self {
            Status::OnLedger | Status::InRectification => Some(today),
            Status::PendingAcceptance => Some(completed_on.map_or(today, |done| done.min(today))),
            _ => None,
        }
    }

    /// Days overdue (0 when not): see [`Status::lateness_measured_on`].
    pub fn days_overdue(
        self,
        effective_deadline: Option<chrono::NaiveDate>,
        completed_on: Option<chrono::NaiveDate>,
        today: chrono::NaiveDate,
    ) -> i64 {
        effective_deadline
            .zip(self.lateness_measured_on(completed_on, today))
            .map_or(0, |(deadline, on)| {
                crate::domain::deadline::days_overdue(deadline, on)
            })
    }
}

code_enum! {
    /// Hazard level (原安监总局令第16号).
    #[derive(Default)]
    pub enum Level("level") {
        /// 一般事故隐患.
        #[default]
        General => "general",
        /// 重大事故隐患.
        Major => "major",
    }
}

code_enum! {
    /// A user's role.
    pub enum Role("role") {
        /// The enterprise's safety clerk.
        EnterpriseReporter => "enterprise_reporter",
        /// The enterprise's 主要负责人.
        EnterprisePrincipal => "enterprise_principal",
        /// The enterprise's 安全管理人员.
        EnterpriseSafetyOfficer => "enterprise_safety_officer",
        /// 街道/镇 安全办 officer.
        StreetOfficer => "street_officer",
        /// 行业主管部门 inspector.
        DepartmentInspector => "department_inspector",
        /// 区安委办.
        DistrictOffice => "district_office",
        /// System administrator; takes no hazard decisions.
        Admin => "admin",
    }
}

impl Role {
    /// True for the three enterprise roles.
    pub fn is_enterprise(self) -> bool {
        matches!(
            self,
            Role::EnterpriseReporter | Role::EnterprisePrincipal | Role::EnterpriseSafetyOfficer
        )
    }
}

code_enum! {
    /// How the hazard is dealt with (治理方式).
    #[derive(Default)]
    pub enum Handling("handling") {
        /// 现场整改.
        OnTheSpot => "on_the_spot",
        /// 限期整改.
        #[default]
        TimeLimited => "time_limited",
        /// 停产停业整改.
        Suspension => "suspension",
    }
}

code_enum! {
    /// Suspension of production or use while the hazard is removed.
    #[derive(Default)]
    pub enum Suspension("suspension") {
        /// Not suspended.
        #[default]
        None => "none",
        /// 局部停产停业/停止使用.
        Partial => "partial",
        /// 全部停产停业.
        Full => "full",
    }
}

code_enum! {
    /// Why a hazard was voided (作废).
    pub enum VoidReason("void reason") {
        /// 不属实.
        Untrue => "untrue",
        /// 重复; needs `duplicate_of`.
        Duplicate => "duplicate",
        /// 误报.
        FalseReport => "false_report",
        /// 转出; needs `transfer_to`.
        Transferred => "transferred",
    }
}

code_enum! {
    /// Result of an acceptance check (验收).
    pub enum AcceptanceResult("acceptance result") {
        /// 合格: the hazard is closed.
        Pass => "pass",
        /// 不合格: back to rectification.
        Fail => "fail",
    }
}

code_enum! {
    /// The body that received the congress half of the 双报告.
    pub enum CongressBody("congress body") {
        /// 职工代表大会, expected with 100 staff or more.
        WorkersCongress => "workers_congress",
        /// 职工大会, expected below 100 staff.
        AllStaffMeeting => "all_staff_meeting",
        /// 联席会议 between sessions; needs a follow-up at the next session.
        JointMeeting => "joint_meeting",
    }
}

code_enum! {
    /// When the congress was told.
    pub enum CongressStage("congress stage") {
        /// At discovery or with the plan.
        Discovery => "discovery",
        /// At completion of the rectification.
        Completion => "completion",
    }
}

code_enum! {
    /// Level of a 挂牌督办 listing.
    pub enum ListingLevel("listing level") {
        /// 区级, issued by the district office.
        District => "district",
        /// 市级, recorded by the district office.
        City => "city",
    }
}

code_enum! {
    /// Everything a user may do to an existing hazard (see `permitted_actions`).
    pub enum Action("action") {
        /// Edit the draft (PATCH).
        Edit => "edit",
        /// T2 submit.
        Submit => "submit",
        /// T3 return to the enterprise.
        Return => "return",
        /// T4 post to the ledger (上账).
        Post => "post",
        /// T5 void (作废).
        Void => "void",
        /// File the six-part plan (治理方案).
        FilePlan => "file_plan",
        /// Acknowledge the plan (备案).
        AcknowledgePlan => "acknowledge_plan",
        /// T7 start rectification.
        Start => "start",
        /// T8 progress update.
        Progress => "progress",
        /// T9 request an extension.
        RequestExtension => "request_extension",
        /// T9 decide an extension.
        DecideExtension => "decide_extension",
        /// T10 report completion.
        Complete => "complete",
        /// T11/T12 acceptance.
        Accept => "accept",
        /// T13 即查即改.
        QuickFix => "quick_fix",
        /// Record a congress report (双报告, congress half).
        CongressReport => "congress_report",
        /// Record the employee notice (信息公示).
        EmployeeNotice => "employee_notice",
        /// File the written explanation (书面说明) owed from the first day overdue.
        OverdueExplanation => "overdue_explanation",
        /// T6 挂牌督办.
        List => "list",
        /// The 重大 report (L7) of a hazard raised to 重大 at posting: the regulator half of
        /// the 双报告, filed after the fact.
        MajorReport => "major_report",
    }
}

/// Hazard categories: A = 基础管理, B = 现场管理 (reference/categories.json).
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

/// Hazard sources (隐患来源), codes 1–9.
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

/// The Chinese name of a category code, `None` if unknown.
pub fn category_name(code: &str) -> Option<&'static str> {
    CATEGORIES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The Chinese name of a source code, `None` if unknown.
pub fn source_name(code: i32) -> Option<&'static str> {
    SOURCES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn round_trip<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + FromStr,
        T: serde::Serialize + serde::de::DeserializeOwned,
        T: std::fmt::Display,
    {
        for &v in all {
            let s = v.to_string();
            assert_eq!(T::from_str(&s).ok(), Some(v));
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<T>(&format!("\"{s}\"")).unwrap(), v);
        }
    }

    #[test]
    fn lateness_stops_at_the_completion_date() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let (deadline, today) = (Some(d("2026-03-10")), d("2026-03-20"));
        for running in [Status::OnLedger, Status::InRectification] {
            assert_eq!(running.days_overdue(deadline, None, today), 10);
            assert_eq!(running.days_overdue(deadline, None, d("2026-03-10")), 0);
        }
        // Completed by the deadline, waiting for acceptance after it: not overdue.
        let pending = Status::PendingAcceptance;
        assert_eq!(
            pending.days_overdue(deadline, Some(d("2026-03-10")), today),
            0
        );
        assert_eq!(
            pending.days_overdue(deadline, Some(d("2026-03-01")), today),
            0
        );
        // Completed two days late: two days, however long the acceptance takes.
        assert_eq!(
            pending.days_overdue(deadline, Some(d("2026-03-12")), today),
            2
        );
        assert_eq!(pending.days_overdue(deadline, None, today), 10);
        for other in [
            Status::Draft,
            Status::Submitted,
            Status::Returned,
            Status::Closed,
            Status::Void,
        ] {
            assert_eq!(
                other.days_overdue(deadline, Some(d("2026-03-12")), today),
                0
            );
            assert_eq!(other.lateness_measured_on(None, today), None);
        }
        assert_eq!(Status::OnLedger.days_overdue(None, None, today), 0);
    }

    #[test]
    fn every_code_round_trips() {
        round_trip(Status::ALL);
        round_trip(Level::ALL);
        round_trip(Role::ALL);
        round_trip(Handling::ALL);
        round_trip(Suspension::ALL);
        round_trip(VoidReason::ALL);
        round_trip(AcceptanceResult::ALL);
        round_trip(CongressBody::ALL);
        round_trip(CongressStage::ALL);
        round_trip(ListingLevel::ALL);
        round_trip(Action::ALL);
    }

    #[test]
    fn wire_forms_match_the_contract() {
        let statuses: Vec<_> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            statuses.join(" "),
            "draft submitted returned on_ledger in_rectification pending_acceptance closed void"
        );
        assert_eq!(Role::ALL.len(), 7);
        assert_eq!(VoidReason::FalseReport.as_str(), "false_report");
    }

    #[test]
    fn unknown_codes_are_refused() {
        let e = Status::from_str("Closed").unwrap_err();
        assert_eq!(e.to_string(), "unknown status 'Closed'");
        assert!(Level::from_str("").is_err());
        assert!(serde_json::from_str::<Role>("\"root\"").is_err());
    }

    #[test]
    fn terminal_and_enterprise_predicates() {
        let terminal: Vec<_> = Status::ALL.iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, [&Status::Closed, &Status::Void]);
        assert!(Status::PendingAcceptance.is_open());
        let ent: Vec<_> = Role::ALL.iter().filter(|r| r.is_enterprise()).collect();
        assert_eq!(ent.len(), 3);
        assert!(!Role::StreetOfficer.is_enterprise());
    }

    #[test]
    fn code_lists() {
        assert_eq!(CATEGORIES.len(), 25);
        assert_eq!(category_name("B09"), Some("有限空间现场管理"));
        assert_eq!(category_name("A13"), None);
        assert_eq!(source_name(9), Some("街镇日常检查"));
        assert_eq!(source_name(0), None);
    }
}
