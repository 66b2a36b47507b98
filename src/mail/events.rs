//! Emails caused by hazard events (DESIGN.md: notifications), queued in the transaction of
//! the event: a 重大 report to the department and the street, an extension request to whoever
//! decides it, and the decisions the enterprise must learn of (return, posting, listing,
//! extension decision, acceptance result, a posted hazard voided).

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::{Directory, Item, Mail};
use crate::config::Config;
use crate::db::DbConn;
use crate::db::jobs as q;
use crate::domain::escalation::Recipient;
use crate::error::{AppError, AppResult};

/// Queues the emails of ledger event `kind` on `hazard` (as just written); `input` is the request.
pub fn hazard_event(
    conn: &mut DbConn,
    config: &Config,
    now: DateTime<Utc>,
    today: NaiveDate,
    kind: &str,
    hazard: &crate::db::hazards::HazardRow,
    input: &Value,
) -> AppResult<usize> {
    use Recipient::*;
    let text = |k: &str| {
        input
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    // Posted with another responsible department than the routing gave: that department
    // learns it is now the one that supervises and accepts the hazard.
    let moved = kind == "hazard.posted" && !text("responsible_department").is_empty();
    let approved = input.get("approved").and_then(Value::as_bool) == Some(true);
    let recipients: &[Recipient] = match kind {
        "hazard.submitted" | "hazard.major_reported" => &[Department, Street],
        // A new deadline reaches the street too, which follows every hazard of its enterprises
        // (and accepts the 一般 ones) and would otherwise learn of it from an overdue digest.
        "hazard.extension_decided" if approved && hazard.listed => {
            &[Enterprise, Department, Street]
        }
        "hazard.extension_decided" if approved => &[Enterprise, Street],
        // A listed hazard's extension is decided by the district office; the department,
        // which was sent the request too, learns of the new deadline.
        "hazard.extension_decided" if hazard.listed => &[Enterprise, Department],
        // A 重大 hazard on the ledger involves the street too (DESIGN: always involved).
        "hazard.posted" if hazard.level == "major" && moved => &[Enterprise, Street, Department],
        "hazard.posted" if hazard.level == "major" => &[Enterprise, Street],
        "hazard.posted" if moved => &[Enterprise, Department],
        "hazard.returned" | "hazard.posted" | "hazard.extension_decided" => &[Enterprise],
        "hazard.listed" => &[Enterprise, Street, SupervisingDepartment, Department],
        // A listed hazard's supervisors follow its acceptance: a failed check keeps it listed
        // (继续挂账); its close-out ends the listing (the district office added below).
        "hazard.closed" | "hazard.acceptance_failed" => {
            &[Enterprise, Street, SupervisingUnit, SupervisingDepartment]
        }
        // The acceptance application (T10, T13): those who accept it, within the SLA.
        "hazard.completion_reported" | "hazard.fixed_on_the_spot" => &[Verifiers],
        // A posted hazard leaving the ledger as void: whoever followed it (the district office
        // too when it had listed it, below). A report voided before posting emails nobody.
        "hazard.voided" if hazard.ledger_no.is_some() => &[Enterprise, Street, Department],
        // The decider learns of the request: the primary department, and the district office
        // (the supervising unit) when the hazard is listed.
        "hazard.extension_requested" => &[Department, SupervisingUnit],
        // Those the first overdue step told of the lateness read its explanation.
        "hazard.overdue_explained" => &[Street, Department, SupervisingDepartment, SupervisingUnit],
        _ => return Ok(0),
    };
    // A 一般 report emails nobody: decided before any query.
    if kind == "hazard.submitted" && hazard.level != "major" {
        return Ok(0);
    }
    let Some(h) = q::brief(conn, &hazard.id)? else {
        return Ok(0);
    };
    // Voiding or closing a listed hazard ends the district office's supervision (挂牌督办, the
    // hazard is no longer `listed` by now): it learns of it.
    let with_district;
    let recipients = if matches!(kind, "hazard.voided" | "hazard.closed") && h.doc_no.is_some() {
        with_district = [recipients, &[DistrictOffice, SupervisingDepartment]].concat();
        &with_district[..]
    } else {
        recipients
    };
    let ledger_no = h.ledger_no.clone().unwrap_or_default();
    let (subject, lead, details): (String, String, Vec<(&'static str, String)>) = match kind {
        "hazard.major_reported" => (
            format!("【隐患台账】重大事故隐患报告（补报）：{}——{}", h.enterprise_name, h.title),
            "上账时认定为重大事故隐患的，企业补报了重大事故隐患报告（双报告：向负有安全生产监督管理职责的部门报告），请核查治理方案。".into(),
            vec![],
        ),
        "hazard.submitted" => (
            format!("【隐患台账】重大事故隐患报告：{}——{}", h.enterprise_name, h.title),
            "企业报告了一项重大事故隐患（双报告：向负有安全生产监督管理职责的部门报告），请主管部门及时核查并上账（街道知悉，配合核查）。".into(),
            vec![],
        ),
        "hazard.returned" => (
            format!("【隐患台账】隐患报告被退回：{}", h.title),
            "您单位报告的隐患被退回，请按意见修改后重新提交。".into(),
            vec![("退回原因", text("reason"))],
        ),
        "hazard.posted" if hazard.level == "major" => {
            // What a 重大 hazard owes from now on, above all when the department raised it to
            // 重大 at posting: the enterprise reported a 一般 one and must learn the difference.
            let content = hazard.content();
            let raised = input.get("level").and_then(Value::as_str) == Some("major");
            let mut details = vec![(
                "隐患级别",
                if raised {
                    "重大事故隐患（上账时由一般隐患认定为重大）".to_string()
                } else {
                    "重大事故隐患".to_string()
                },
            )];
            if raised {
                details.push(("认定理由", text("level_change_reason")));
            }
            if content.status_and_cause.is_none() {
                details.push((
                    "重大事故隐患报告",
                    "请主要负责人补报（现状及其产生原因、危害程度和整改难易程度分析、治理方案）".into(),
                ));
            }
            if content.plan.is_none()
                && let Some(due) = content.plan_due_on
            {
                details.push(("治理方案报备期限", due.to_string()));
            }
            if moved {
                details.push((
                    "主管部门",
                    format!("{}（上账时指定）", h.department_name),
                ));
            }
            details.push((
                "双报告",
                "向职工代表大会或职工大会报告该隐患及治理情况，并向从业人员公示".into(),
            ));
            (
                format!("【隐患台账】重大事故隐患已上账 {ledger_no}：{}", h.title),
                // What is still to do about the 治理方案: write and file it, or (filed with the
                // report) have it acknowledged, or (acknowledged already) start.
                match (hazard.plan_filed, hazard.plan_acknowledged) {
                    (true, true) => format!(
                        "重大事故隐患已上账（台账编号 {ledger_no}），治理方案已备案，请开始治理，在整改期限前完成整改并申请验收。"
                    ),
                    (true, false) => format!(
                        "重大事故隐患已上账（台账编号 {ledger_no}），已报送的治理方案经主管部门备案后开始治理，在整改期限前完成整改并申请验收。"
                    ),
                    _ => format!(
                        "重大事故隐患已上账（台账编号 {ledger_no}），须制定并报备治理方案、经备案后开始治理，在整改期限前完成整改并申请验收。"
                    ),
                },
                details.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            )
        }
        "hazard.posted" => (
            format!("【隐患台账】隐患已上账 {ledger_no}：{}", h.title),
            format!("隐患已上账（台账编号 {ledger_no}），请在整改期限前完成整改并报告。"),
            if moved {
                vec![("主管部门", format!("{}（上账时指定）", h.department_name))]
            } else {
                vec![]
            },
        ),
        "hazard.listed" => {
            // The notice's dates bind from now on: the plan date replaces the one the posting
            // email gave (one plan, one date), and the work is due by the complete-by date.
            let mut details = vec![
                ("督办文号", h.doc_no.clone().unwrap_or_default()),
                ("督办单位", text("supervising_unit")),
                ("督办完成时限", text("complete_by")),
            ];
            let plan_by = text("plan_file_by");
            if !hazard.plan_filed && !plan_by.is_empty() {
                details.push(("治理方案报备期限", format!("{plan_by}（以本督办通知书为准）")));
            }
            (
                format!("【隐患台账】挂牌督办 {}：{}", h.doc_no.clone().unwrap_or_default(), h.title),
                "该重大事故隐患已列入挂牌督办，请按督办通知书要求报备治理方案、按季度报告进展、在督办完成时限前完成整改并申请验收。".into(),
                details.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            )
        }
        "hazard.extension_requested" => (
            format!("【隐患台账】延期申请待审批：{}——{}", h.enterprise_name, h.title),
            // A listed hazard's request is the supervising unit's to decide (T9); the primary
            // department reads the same email as a copy.
            if h.listed && h.listing_level.as_deref() == Some("city") {
                "企业申请延长整改期限。该隐患为市级挂牌督办，由市级督办单位审批，区安委办在现行整改期限届满前录入审批结果（同意或不同意）；主管部门知悉。".into()
            } else if h.listed {
                "企业申请延长整改期限。该隐患已挂牌督办，由督办单位区安委办在现行整改期限届满前审批（同意或不同意）；主管部门知悉。".into()
            } else {
                "企业申请延长整改期限，请在现行整改期限届满前审批（同意或不同意）。".into()
            },
            vec![
                ("申请延期至", text("requested_deadline")),
                ("延期理由", text("reason")),
                ("临时措施", text("interim_measures")),
            ],
        ),
        "hazard.extension_decided" => {
            (
                format!(
                    "【隐患台账】延期申请{}：{}",
                    if approved { "已批准" } else { "未批准" },
                    h.title
                ),
                // Read by the enterprise and, for a listed hazard, by the primary department
                // too: the enterprise is named, not addressed.
                if approved {
                    format!("{}的延期申请已批准，整改期限已调整。", h.enterprise_name)
                } else {
                    format!(
                        "{}的延期申请未获批准，须按现行整改期限（{}）完成整改。",
                        h.enterprise_name,
                        hazard
                            .effective_deadline
                            .map(|d| d.to_string())
                            .unwrap_or_default()
                    )
                },
                {
                    let mut details = match hazard.effective_deadline {
                        Some(deadline) if approved => vec![
                            ("新的整改期限", deadline.to_string()),
                            ("审批意见", text("opinion")),
                        ],
                        _ => vec![("审批意见", text("opinion"))],
                    };
                    let listed_by = text("listing_complete_by");
                    if !listed_by.is_empty() {
                        details.push(("督办完成时限", listed_by));
                    }
                    details
                },
            )
        }
        "hazard.overdue_explained" => (
            format!("【隐患台账】逾期书面说明：{}——{}", h.enterprise_name, h.title),
            "企业就逾期未完成整改或验收未通过提交了书面说明，隐患继续挂账督办。".into(),
            [
                ("逾期原因", text("reason")),
                ("已采取的措施", text("measures")),
                ("预计完成日期", text("expected_completion_on")),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        ),
        "hazard.voided" => {
            let reason = match text("reason").as_str() {
                "untrue" => "不属实",
                "duplicate" => "重复",
                "false_report" => "误报",
                "transferred" => "转出",
                _ => "",
            };
            let mut details = vec![("作废原因", reason.to_string()), ("说明", text("note"))];
            let to = text("transfer_to");
            if !to.is_empty() {
                details.push(("转至", to));
            }
            if h.doc_no.is_some() {
                details.push(("挂牌督办", "随之结束".to_string()));
            }
            (
                format!("【隐患台账】隐患已作废 {ledger_no}：{}", h.title),
                "该隐患已作废，作为作废记录保留在台账中。".into(),
                details.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            )
        }
        "hazard.closed" => (
            format!("【隐患台账】整改验收通过，已销账：{}", h.title),
            "隐患整改经验收通过，已销账。".into(),
            if h.doc_no.is_some() {
                vec![
                    ("验收意见", text("opinion")),
                    ("挂牌督办", "随之结束（销号）".to_string()),
                ]
            } else {
                vec![("验收意见", text("opinion"))]
            },
        ),
        "hazard.completion_reported" | "hazard.fixed_on_the_spot" => {
            // The date as recorded (a 即查即改 without one is done today).
            let done = hazard.completed_on.map(|d| d.to_string()).unwrap_or_default();
            let mut details = vec![
                ("完成日期", done),
                ("整改情况", text("summary")),
                ("实际资金（万元）", text("actual_funds")),
                ("自评", text("self_assessment")),
            ];
            if let Some(due) = hazard.acceptance_due_on {
                details.push(("验收期限", due.to_string()));
            }
            (
                format!("【隐患台账】整改完成，申请验收：{}——{}", h.enterprise_name, h.title),
                if kind == "hazard.fixed_on_the_spot" {
                    "企业报告一般隐患已即查即改，申请验收，请在验收期限前组织验收（验收人不得为报告人）。".into()
                } else {
                    "企业报告隐患整改完成，申请验收，请在验收期限前组织验收（验收人不得为报告人）。".into()
                },
                details.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            )
        }
        _ => {
            let mut details = vec![("存在问题", text("deficiencies"))];
            let opinion = text("opinion");
            if !opinion.is_empty() && opinion != details[0].1 {
                details.push(("验收意见", opinion));
            }
            let deadline = text("deadline");
            if !deadline.is_empty() {
                details.push(("新的整改期限", deadline));
            }
            details.push((
                "书面说明",
                "请就验收未通过提交书面说明（原因、已采取的措施），隐患继续挂账直至销号".to_string(),
            ));
            (
                format!("【隐患台账】整改验收未通过：{}", h.title),
                "隐患整改验收未通过，请按所列问题继续整改并重新申请验收。".into(),
                details,
            )
        }
    };
    let users = q::mailable_for(conn, &mail_groups(recipients, &h))?;
    let directory = Directory::new(users, &config.escalation.department_leaders);
    let to: BTreeSet<String> = recipients
        .iter()
        .flat_map(|r| directory.resolve(*r, &h))
        .collect();
    if to.is_empty() {
        return Ok(0);
    }
    let item = Item::new(&h, None, today, config.public_url());
    let mails = to
        .into_iter()
        .map(|addr| super::event_mail(addr, subject.clone(), &lead, &item, &details, &h.id))
        .collect::<Result<Vec<Mail>, _>>()
        .map_err(AppError::internal)?;
    Ok(super::queue(conn, config, now, mails)?)
}

/// The users' groups that `recipients` of an email about `h` come from.
fn mail_groups<'a>(recipients: &[Recipient], h: &'a q::HazardBrief) -> q::MailGroups<'a> {
    let mut g = q::MailGroups::default();
    for r in recipients {
        match r {
            Recipient::Enterprise | Recipient::Principal => g.enterprise = Some(&h.enterprise_id),
            Recipient::Street => g.street = Some(&h.street_code),
            Recipient::Department => g.departments.push(&h.primary_department),
            Recipient::SupervisingDepartment => {
                if let Some(d) = h
                    .supervising_department
                    .as_deref()
                    .filter(|_| h.supervised())
                {
                    g.departments.push(d);
                }
            }
            Recipient::DistrictOffice => g.district = true,
            Recipient::SupervisingUnit => g.district |= h.listed,
            Recipient::Verifiers => {
                g.street = Some(&h.street_code);
                g.departments.push(&h.primary_department);
            }
            Recipient::DepartmentLeader => {}
        }
    }
    g.departments.sort_unstable();
    g.departments.dedup();
    g
}
