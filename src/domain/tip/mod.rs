//! Public tip-offs (举报): states and triage transitions, receipt codes, routing by address,
//! the anti-automation question and the public wording of an outcome. No I/O: time, random
//! bytes and the reference data are passed in.
//!
//! received → routed → verifying → confirmed / not_confirmed / transferred → replied.

pub mod challenge;
pub mod receipt;
pub mod street;

use chrono::{Days, NaiveDate};

use super::DomainError;

code_enum! {
    /// Where a tip stands.
    pub enum TipStatus("tip_status") {
        /// 已受理: filed, not yet routed to a street or department.
        Received => "received",
        /// 已分派: a street and/or a department handles it.
        Routed => "routed",
        /// 核查中.
        Verifying => "verifying",
        /// 属实: a hazard was created or linked, or it duplicates a tip already handled.
        Confirmed => "confirmed",
        /// 不属实.
        NotConfirmed => "not_confirmed",
        /// 移交: outside the district's remit or another authority's matter.
        Transferred => "transferred",
        /// 已答复: the reporter has a public reply.
        Replied => "replied",
    }
}

code_enum! {
    /// What an officer does with a tip (`POST /api/v1/tips/{id}/triage` {action}).
    pub enum TriageAction("action") {
        /// Sets the street and/or department that handle the tip.
        Route => "route",
        /// Starts verification (核查).
        Verify => "verify",
        /// 属实: creates or links a hazard (source 6), or links the tip it duplicates.
        Confirm => "confirm",
        /// 不属实, with an internal reason.
        NotConfirmed => "not_confirmed",
        /// Hands the tip to another authority.
        Transfer => "transfer",
        /// A public reply to the reporter, shown on the status page.
        Reply => "reply",
    }
}

code_enum! {
    /// How a tip ended.
    pub enum Resolution("resolution") {
        /// A hazard draft with source 6 was created from it.
        HazardCreated => "hazard_created",
        /// An existing hazard was linked.
        HazardLinked => "hazard_linked",
        /// It repeats another tip, which it now links.
        Duplicate => "duplicate",
        /// Not confirmed.
        NotConfirmed => "not_confirmed",
        /// Transferred to another authority.
        Transferred => "transferred",
    }
}

impl TipStatus {
    /// The statuses still waiting for verification (the SLA runs).
    pub const OPEN: [TipStatus; 3] = [Self::Received, Self::Routed, Self::Verifying];

    /// Still waiting for verification: the SLA runs.
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    /// The status in public words (status page).
    pub fn public_text(self) -> &'static str {
        match self {
            Self::Received => "已受理，正在分派承办单位",
            Self::Routed => "已分派承办单位",
            Self::Verifying => "正在核查",
            Self::Confirmed => "核查完毕：反映属实",
            Self::NotConfirmed => "核查完毕：未发现所反映的问题",
            Self::Transferred => "已移交有权处理的单位",
            Self::Replied => "已答复",
        }
    }

    /// [`Self::public_text`], except that a tip confirmed only as a duplicate of another is
    /// not called true: the other tip's verification decides, and it may not be done yet.
    pub fn public_text_with(self, resolution: Option<Resolution>) -> &'static str {
        match (self, resolution) {
            (Self::Confirmed, Some(Resolution::Duplicate)) => "核查完毕：已与其他举报合并处理",
            _ => self.public_text(),
        }
    }
}

impl Resolution {
    /// The outcome in public words: never names an enterprise, an officer or a reason.
    pub fn public_text(self) -> &'static str {
        match self {
            Self::HazardCreated | Self::HazardLinked => {
                "经核查，您反映的问题属实，已纳入隐患排查治理，将督促整改。"
            }
            Self::Duplicate => "您反映的问题已有其他举报反映，已合并核查处理。",
            Self::NotConfirmed => "经核查，未发现您反映的问题。",
            Self::Transferred => "您反映的问题已移交有权处理的单位办理。",
        }
    }
}

/// The status after `action`, or 409 `invalid_state` naming the current one.
pub fn next_status(current: TipStatus, action: TriageAction) -> Result<TipStatus, DomainError> {
    use TipStatus as S;
    use TriageAction as A;
    let next = match (action, current) {
        (A::Route, S::Received | S::Routed | S::Verifying) => Some(S::Routed),
        (A::Verify, S::Routed) => Some(S::Verifying),
        (A::Confirm, S::Routed | S::Verifying) => Some(S::Confirmed),
        // Also before routing: the district office, which alone sees unrouted tips, closes an
        // evident junk tip itself rather than sending it to a street to be refused there.
        (A::NotConfirmed, S::Received | S::Routed | S::Verifying) => Some(S::NotConfirmed),
        (A::Transfer, S::Received | S::Routed | S::Verifying) => Some(S::Transferred),
        (A::Reply, S::Confirmed | S::NotConfirmed | S::Transferred | S::Replied) => {
            Some(S::Replied)
        }
        _ => None,
    };
    next.ok_or_else(|| DomainError::InvalidState {
        code: "invalid_state",
        current: current.as_str().to_string(),
        message: format!("a tip that is {current} cannot take the action {action}"),
    })
}

/// The actions possible from `status` (the officer view lists them).
pub fn actions_from(status: TipStatus) -> Vec<&'static str> {
    TriageAction::ALL
        .iter()
        .filter(|a| next_status(status, **a).is_ok())
        .map(|a| a.as_str())
        .collect()
}

/// The day verification is due: `sla_days` after receipt.
pub fn due_on(received_on: NaiveDate, sla_days: i64) -> NaiveDate {
    received_on + Days::new(sla_days.max(0) as u64)
}

/// Overdue from the day after `due_on` while the tip waits for verification.
pub fn overdue(status: TipStatus, due_on: NaiveDate, today: NaiveDate) -> bool {
    status.is_open() && today > due_on
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_and_its_refusals() {
        use TipStatus as S;
        use TriageAction as A;
        assert_eq!(next_status(S::Received, A::Route).unwrap(), S::Routed);
        assert_eq!(next_status(S::Routed, A::Verify).unwrap(), S::Verifying);
        assert_eq!(next_status(S::Verifying, A::Confirm).unwrap(), S::Confirmed);
        assert_eq!(next_status(S::Confirmed, A::Reply).unwrap(), S::Replied);
        assert_eq!(next_status(S::Replied, A::Reply).unwrap(), S::Replied);
        let err = next_status(S::Received, A::Confirm).unwrap_err();
        assert_eq!((err.code(), err.http_status()), ("invalid_state", 409));
        assert!(next_status(S::Routed, A::Reply).is_err());
        assert!(next_status(S::Replied, A::Route).is_err());
        assert_eq!(
            actions_from(S::Received),
            ["route", "not_confirmed", "transfer"]
        );
        assert_eq!(
            next_status(S::Received, A::NotConfirmed).unwrap(),
            S::NotConfirmed
        );
    }

    #[test]
    fn sla_and_overdue() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let due = due_on(d("2026-03-02"), 15);
        assert_eq!(due, d("2026-03-17"));
        assert!(!overdue(TipStatus::Routed, due, d("2026-03-17")));
        assert!(overdue(TipStatus::Routed, due, d("2026-03-18")));
        assert!(!overdue(TipStatus::Confirmed, due, d("2026-04-18")));
    }
}
