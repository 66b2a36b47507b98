//! T6 挂牌督办: the district office lists a 重大 hazard for supervision.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::codes::{Action, Level, ListingLevel, Role, Status};
use super::facts::{Actor, HazardFacts, Outcome, Policy};
use super::guard::{gate, role_may, state_error};
use crate::domain::validate::parse_doc_no;
use crate::domain::{DomainError, FieldErrors};

/// Body of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListingInput {
    /// 区级 (issued) or 市级 (recorded).
    pub level: Option<ListingLevel>,
    /// 督办单位.
    pub supervising_unit: Option<String>,
    /// 督办部门.
    pub supervising_department: Option<String>,
    /// 文号, `X字〔YYYY〕第N号`.
    pub doc_no: Option<String>,
    /// 签发人.
    pub signed_by: Option<String>,
    /// 督办完成时间.
    pub complete_by: Option<NaiveDate>,
    /// Date by which the plan must be filed.
    pub plan_file_by: Option<NaiveDate>,
}

pub(super) fn guard_list(facts: &HazardFacts, role: Role) -> Result<(), DomainError> {
    gate(
        facts,
        Action::List,
        role_may(
            role == Role::DistrictOffice,
            role,
            Action::List,
            facts.level,
        ),
        &[Status::OnLedger, Status::InRectification],
    )?;
    if facts.level != Level::Major {
        return Err(state_error(
            facts,
            "level_not_major",
            "only major hazards are listed for supervision".into(),
        ));
    }
    if facts.listed {
        return Err(state_error(
            facts,
            "already_listed",
            "the hazard is already listed".into(),
        ));
    }
    Ok(())
}

/// T6: lists an on_ledger/in_rectification 重大 hazard; district office only.
pub fn list_hazard(
    facts: &HazardFacts,
    actor: &Actor,
    input: &ListingInput,
    today: NaiveDate,
    _policy: &Policy,
) -> Result<Outcome, DomainError> {
    guard_list(facts, actor.role)?;
    let mut e = FieldErrors::new();
    e.require("level", input.level);
    e.require_text("supervising_unit", input.supervising_unit.as_deref());
    e.require_text(
        "supervising_department",
        input.supervising_department.as_deref(),
    );
    if let Some(no) = e.require_text("doc_no", input.doc_no.as_deref()) {
        match parse_doc_no(no) {
            Err(m) => e.add("doc_no", m),
            // The year in 〔〕 is the year the notice is issued: not later than today, nor
            // before the hazard was posted (a typo there would take the 文号 for good).
            Ok(doc) if doc.year > today.year() => e.add(
                "doc_no",
                format!("the year {} is after this year", doc.year),
            ),
            Ok(doc) if facts.posted_on.is_some_and(|p| doc.year < p.year()) => e.add(
                "doc_no",
                format!(
                    "the year {} is before the hazard was posted (上账)",
                    doc.year
                ),
            ),
            Ok(_) => {}
        }
    }
    e.require_text("signed_by", input.signed_by.as_deref());
    let complete_by = e.require("complete_by", input.complete_by);
    if complete_by.is_some_and(|c| c < today) {
        e.add("complete_by", "must not be in the past");
    } else if let (Some(c), Some(deadline)) = (complete_by, facts.effective_deadline)
        && c > deadline
        && deadline >= today
    {
        // The notice must not promise time the ledger does not give: the ladder escalates on
        // the effective deadline, which only an approved extension moves. A hazard already
        // overdue is listed with a date to finish by, and stays overdue (继续挂账).
        e.add(
            "complete_by",
            format!("must not be after the effective deadline {deadline}"),
        );
    }
    if let Some(p) = e.require("plan_file_by", input.plan_file_by) {
        if p < today {
            e.add("plan_file_by", "must not be in the past");
        } else if complete_by.is_some_and(|c| p > c) {
            e.add("plan_file_by", "must not be after complete_by");
        }
    }
    e.finish()?;
    let mut out = Outcome::to(facts.status);
    out.listed = Some(true);
    if facts.effective_deadline != input.complete_by {
        out.warnings
            .push("complete_by_differs_from_deadline".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn listing() -> ListingInput {
        ListingInput {
            level: Some(ListingLevel::District),
            supervising_unit: Some("区安委办".into()),
            supervising_department: Some("区应急局".into()),
            doc_no: Some("长安委督字〔2023〕第5号".into()),
            signed_by: Some("张三".into()),
            complete_by: Some(d("2023-10-20")),
            plan_file_by: Some(d("2023-10-12")),
        }
    }

    #[test]
    fn lists_with_valid_notice() {
        let f = facts(Status::InRectification, Level::Major);
        let out = list_hazard(
            &f,
            &actor(Role::DistrictOffice),
            &listing(),
            today(),
            &Policy::default(),
        )
        .unwrap();
        assert_eq!(
            (out.status, out.listed),
            (Status::InRectification, Some(true))
        );
        assert!(out.warnings.is_empty());
    }

    #[test]
    fn listing_fields() {
        let f = facts(Status::OnLedger, Level::Major);
        let a = actor(Role::DistrictOffice);
        let err = list_hazard(
            &f,
            &a,
            &ListingInput::default(),
            today(),
            &Policy::default(),
        )
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [
                "level",
                "supervising_unit",
                "supervising_department",
                "doc_no",
                "signed_by",
                "complete_by",
                "plan_file_by"
            ]
        );
        let mut bad = listing();
        bad.doc_no = Some("长安委督字[2023]第5号".into());
        bad.plan_file_by = Some(d("2023-10-21"));
        assert_eq!(
            fields(&list_hazard(&f, &a, &bad, today(), &Policy::default()).unwrap_err()),
            ["doc_no", "plan_file_by"]
        );
        // Earlier than the effective deadline (2023-10-20): listed, with a warning; later: refused.
        let mut earlier = listing();
        earlier.complete_by = Some(d("2023-10-15"));
        let out = list_hazard(&f, &a, &earlier, today(), &Policy::default()).unwrap();
        assert_eq!(out.warnings, ["complete_by_differs_from_deadline"]);
        let mut later = listing();
        later.complete_by = Some(d("2023-12-31"));
        let err = list_hazard(&f, &a, &later, today(), &Policy::default()).unwrap_err();
        assert_eq!(fields(&err), ["complete_by"]);
        // Once the deadline has passed, listing sets the date the overdue work must be done by.
        later.plan_file_by = Some(d("2023-11-01"));
        let out = list_hazard(&f, &a, &later, d("2023-10-25"), &Policy::default()).unwrap();
        assert_eq!(out.listed, Some(true));
        // The 文号's year: not after this year, nor before the posting.
        let mut posted = f.clone();
        posted.posted_on = Some(d("2023-09-01"));
        for (no, ok) in [
            ("长安委督字〔2023〕第5号", true),
            ("长安委督字〔2024〕第5号", false),
            ("长安委督字〔1023〕第5号", false),
            ("长安委督字〔2022〕第5号", false),
        ] {
            let mut l = listing();
            l.doc_no = Some(no.into());
            let got = list_hazard(&posted, &a, &l, today(), &Policy::default());
            assert_eq!(got.is_ok(), ok, "{no}: {got:?}");
            if !ok {
                assert_eq!(fields(&got.unwrap_err()), ["doc_no"], "{no}");
            }
        }
    }

    #[test]
    fn only_unlisted_major_hazards() {
        let a = actor(Role::DistrictOffice);
        let g = facts(Status::OnLedger, Level::General);
        let err = list_hazard(&g, &a, &listing(), today(), &Policy::default()).unwrap_err();
        assert_eq!(err.code(), "level_not_major");
        let mut m = facts(Status::OnLedger, Level::Major);
        m.listed = true;
        let err = list_hazard(&m, &a, &listing(), today(), &Policy::default()).unwrap_err();
        assert_eq!(err.code(), "already_listed");
    }
}
