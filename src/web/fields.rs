//! The fields of every page form, their labels, and turning a submitted form into the API's
//! JSON (dotted names nest: `plan.goal` → {"plan": {"goal": …}}; empty fields are left out).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

/// How a field is shown and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Area,
    Date,
    /// An integer.
    Number,
    /// A decimal kept as text (万元).
    Money,
    /// A choice; `true`/`false` values become booleans.
    Select(&'static [(&'static str, &'static str)]),
    /// A checkbox: true when ticked.
    Check,
    /// A local date and time (Asia/Shanghai), sent to the API as RFC 3339 with its offset.
    LocalTime,
}

/// One form field.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub required: bool,
}

const fn f(name: &'static str, label: &'static str, kind: Kind, required: bool) -> Field {
    Field {
        name,
        label,
        kind,
        required,
    }
}

use Kind::*;

const YES_NO: &[(&str, &str)] = &[("", "请选择"), ("true", "是"), ("false", "否")];
const LEVELS: &[(&str, &str)] = &[
    ("", "维持报告的等级"),
    ("general", "一般事故隐患"),
    ("major", "重大事故隐患"),
];

/// The hazard's basic facts (both levels).
pub const GENERAL: &[Field] = &[
    f("title", "隐患名称", Text, true),
    f("description", "现状（隐患描述）", Area, true),
    f("location", "具体位置", Text, true),
    f("category", "隐患类别", Select(CATEGORIES), true),
    f("source", "隐患来源", Select(SOURCES), true),
    f("discovered_on", "发现日期", Date, true),
    f("handling", "治理方式", Select(HANDLING), true),
    f("suspension", "停产停业", Select(SUSPENSION), true),
    f("responsible_person", "整改责任人", Text, true),
    f("responsible_phone", "责任人电话", Text, true),
    f("proposed_deadline", "建议整改期限", Date, false),
    f("planned_funds", "计划资金（万元）", Money, false),
];

/// The 重大 report blocks (L7) and the judgement basis (L12).
pub const MAJOR: &[Field] = &[
    f("status_and_cause", "现状及其产生原因", Area, true),
    f(
        "severity_and_difficulty",
        "危害程度和整改难易程度分析",
        Area,
        true,
    ),
    f("judgement_basis.standard", "判定依据（标准）", Text, true),
    f("judgement_basis.clause", "判定依据（条款）", Text, true),
    f("temporary_measures", "临时管控措施", Area, true),
    f(
        "needs_government_coordination",
        "需要政府协调",
        Check,
        false,
    ),
];

/// The six-part 治理方案 (L8), or the date by which it will be filed.
pub const PLAN: &[Field] = &[
    f("plan.goal", "目标和任务", Area, false),
    f("plan.methods", "方法和措施", Area, false),
    f("plan.funds_materials", "经费和物资", Area, false),
    f("plan.org_people", "机构和人员", Area, false),
    f("plan.timeline", "时限和要求", Area, false),
    f(
        "plan.safety_and_emergency",
        "安全措施和应急预案",
        Area,
        false,
    ),
    f("plan_due_on", "或：治理方案报送日期", Date, false),
];

const CATEGORIES: &[(&str, &str)] = &[
    ("", "请选择"),
    ("A01", "A01 资质证照"),
    ("A02", "A02 安全生产管理机构及人员"),
    ("A03", "A03 安全生产责任制"),
    ("A04", "A04 安全生产管理制度"),
    ("A05", "A05 安全教育培训"),
    ("A06", "A06 安全生产管理档案"),
    ("A07", "A07 应急管理"),
    ("A08", "A08 职业卫生基础管理"),
    ("A09", "A09 安全操作规程"),
    ("A10", "A10 安全生产投入"),
    ("A11", "A11 特种设备基础管理"),
    ("A12", "A12 相关方基础管理"),
    ("A99", "A99 其他基础管理"),
    ("B01", "B01 生产设备设施"),
    ("B02", "B02 特种设备现场管理"),
    ("B03", "B03 消防与应急安全"),
    ("B04", "B04 用电安全"),
    ("B05", "B05 职业卫生现场管理"),
    ("B06", "B06 危险化学品"),
    ("B07", "B07 场所环境"),
    ("B08", "B08 从业人员操作行为"),
    ("B09", "B09 有限空间现场管理"),
    ("B10", "B10 辅助动力系统"),
    ("B11", "B11 相关方现场管理"),
    ("B99", "B99 其他现场管理"),
];

const SOURCES: &[(&str, &str)] = &[
    ("", "请选择"),
    ("1", "1 班组检查"),
    ("2", "2 车间检查"),
    ("3", "3 企业(厂矿)检查"),
    ("4", "4 集团检查"),
    ("5", "5 监督检查"),
    ("6", "6 投诉举报"),
    ("7", "7 标准化自评/评审"),
    ("8", "8 其他"),
    ("9", "9 街镇日常检查"),
];

const HANDLING: &[(&str, &str)] = &[
    ("time_limited", "限期整改"),
    ("on_the_spot", "现场整改"),
    ("suspension", "停产停业整改"),
];

const SUSPENSION: &[(&str, &str)] = &[
    ("none", "不停产"),
    ("partial", "局部停产停业"),
    ("full", "全部停产停业"),
];

const PASS_FAIL: &[(&str, &str)] = &[("pass", "通过（销账）"), ("fail", "不通过，继续整改")];

pub const VOID_REASONS: &[(&str, &str)] = &[
    ("", "请选择"),
    ("untrue", "不属实"),
    ("duplicate", "重复报告"),
    ("false_report", "误报"),
    ("transferred", "移交其他部门"),
];

const STAGES: &[(&str, &str)] = &[
    ("discovery", "发现后报告"),
    ("completion", "治理完成后报告"),
];

const BODIES: &[(&str, &str)] = &[
    ("workers_congress", "职工代表大会"),
    ("all_staff_meeting", "职工大会"),
    ("joint_meeting", "联席会议（须在下次大会补报）"),
];

const LISTING_LEVELS: &[(&str, &str)] = &[
    ("district", "区级挂牌督办"),
    ("city", "市级挂牌督办（记录）"),
];

/// A page form for one permitted action of the hazard view.
#[derive(Debug, Clone, Copy)]
pub struct ActionForm {
    /// The name in `permitted_actions`.
    pub action: &'static str,
    pub title: &'static str,
    pub button: &'static str,
    pub fields: &'static [Field],
}

/// Every action a page offers, in the order shown.
pub const ACTIONS: &[ActionForm] = &[
    ActionForm {
        action: "submit",
        title: "提交报告",
        button: "提交",
        fields: &[f(
            "direct_report",
            "安全管理人员直接报告（主要负责人未报告时）",
            Check,
            false,
        )],
    },
    ActionForm {
        action: "quick_fix",
        title: "即查即改（一般隐患现场整改完毕）",
        button: "报告已整改",
        fields: &[
            f("completed_on", "整改完成日期", Date, true),
            f("summary", "整改情况", Area, true),
            f("actual_funds", "实际资金（万元）", Money, false),
        ],
    },
    ActionForm {
        action: "post",
        title: "上账",
        button: "上账",
        fields: &[
            f("deadline", "整改期限", Date, true),
            f("level", "核定等级（不改的不选）", Select(LEVELS), false),
            f(
                "level_change_reason",
                "等级变更理由（改变等级的）",
                Area,
                false,
            ),
            f(
                "judgement_basis.standard",
                "判定依据：标准（认定为重大的）",
                Text,
                false,
            ),
            f(
                "judgement_basis.clause",
                "判定依据：条款（认定为重大的）",
                Text,
                false,
            ),
            f(
                "responsible_department",
                "责任部门（代码或名称，如 区应急局；不改的不填）",
                Text,
                false,
            ),
            f("order_no", "责令整改文书号", Text, false),
        ],
    },
    ActionForm {
        action: "return",
        title: "退回",
        button: "退回",
        fields: &[f("reason", "退回原因", Area, true)],
    },
    ActionForm {
        action: "file_plan",
        title: "报送治理方案",
        button: "报送",
        fields: &[
            f("goal", "目标和任务", Area, true),
            f("methods", "方法和措施", Area, true),
            f("funds_materials", "经费和物资", Area, true),
            f("org_people", "机构和人员", Area, true),
            f("timeline", "时限和要求", Area, true),
            f("safety_and_emergency", "安全措施和应急预案", Area, true),
        ],
    },
    ActionForm {
        action: "acknowledge_plan",
        title: "治理方案备案",
        button: "备案",
        fields: &[f("opinion", "意见", Area, false)],
    },
    ActionForm {
        action: "start",
        title: "开始整改",
        button: "开始整改",
        fields: &[f("note", "说明", Text, false)],
    },
    ActionForm {
        action: "progress",
        title: "报告整改进展",
        button: "报告进展",
        fields: &[
            f("note", "进展情况", Area, true),
            f("percent", "完成百分比", Number, true),
            f("spent_funds", "已用资金（万元）", Money, false),
        ],
    },
    ActionForm {
        action: "request_extension",
        title: "申请延期",
        button: "申请",
        fields: &[
            f("reason", "延期理由", Area, true),
            f("interim_measures", "期间管控措施", Area, true),
            f("requested_deadline", "申请延至", Date, true),
        ],
    },
    ActionForm {
        action: "decide_extension",
        title: "审批延期申请",
        button: "提交审批",
        fields: &[
            f("approved", "是否批准", Select(YES_NO), true),
            f("opinion", "审批意见", Area, true),
            f("deadline", "批准延至（不填即申请日期）", Date, false),
        ],
    },
    ActionForm {
        action: "complete",
        title: "整改完成，申请验收",
        button: "申请验收",
        fields: &[
            f("completed_on", "整改完成日期", Date, true),
            f("summary", "整改情况", Area, true),
            f("actual_funds", "实际资金（万元）", Money, true),
            f("self_assessment", "自评意见", Area, true),
            f("resume_request", "复产申请（停产整改的）", Area, false),
        ],
    },
    ActionForm {
        action: "accept",
        title: "验收",
        button: "提交验收结论",
        fields: &[
            f("result", "验收结论", Select(PASS_FAIL), true),
            f("opinion", "验收意见", Area, true),
            f("deficiencies", "存在问题（不合格时）", Area, false),
            f("accepted_on", "验收日期", Date, true),
            f(
                "deadline",
                "新的整改期限（按期完成但验收时已过期限、不合格的）",
                Date,
                false,
            ),
            f(
                "resume_approved",
                "同意复产（停产整改的）",
                Select(YES_NO),
                false,
            ),
            f(
                "cosigned_by",
                "街镇会签人（该街镇安全办人员的用户名；重大隐患须会签时）",
                Text,
                false,
            ),
        ],
    },
    ActionForm {
        action: "major_report",
        title: "补报重大事故隐患报告（上账时认定为重大）",
        button: "报告",
        fields: &[
            f("status_and_cause", "现状及其产生原因", Area, true),
            f(
                "severity_and_difficulty",
                "危害程度和整改难易程度分析",
                Area,
                true,
            ),
            f("temporary_measures", "临时管控措施", Area, true),
            f(
                "needs_government_coordination",
                "需要政府协调",
                Check,
                false,
            ),
            // Required unless the report already names them (T2).
            f(
                "responsible_person",
                "整改责任人（报告中没有的）",
                Text,
                false,
            ),
            f(
                "responsible_phone",
                "责任人电话（报告中没有的）",
                Text,
                false,
            ),
            f(
                "planned_funds",
                "计划资金（万元，报告中没有的）",
                Money,
                false,
            ),
            f("plan.goal", "治理方案：目标和任务", Area, false),
            f("plan.methods", "治理方案：方法和措施", Area, false),
            f("plan.funds_materials", "治理方案：经费和物资", Area, false),
            f("plan.org_people", "治理方案：机构和人员", Area, false),
            f("plan.timeline", "治理方案：时限和要求", Area, false),
            f(
                "plan.safety_and_emergency",
                "治理方案：安全措施和应急预案",
                Area,
                false,
            ),
            f("plan_due_on", "或：治理方案报送日期", Date, false),
        ],
    },
    ActionForm {
        action: "congress_report",
        title: "向职工大会/职工代表大会报告（双报告）",
        button: "记录",
        fields: &[
            f("stage", "阶段", Select(STAGES), true),
            f("body", "会议", Select(BODIES), true),
            f("meeting_on", "会议日期", Date, true),
            f("summary", "报告内容", Area, true),
            f("follow_up_on", "补报日期（联席会议的）", Date, false),
        ],
    },
    ActionForm {
        action: "employee_notice",
        title: "向从业人员通报",
        button: "记录",
        fields: &[
            f("posted_on", "通报日期", Date, true),
            f("channel", "通报方式", Text, true),
        ],
    },
    ActionForm {
        action: "overdue_explanation",
        title: "逾期书面说明",
        button: "提交",
        fields: &[
            f("reason", "逾期原因", Area, true),
            f("measures", "已采取的措施（含临时安全措施）", Area, true),
            f("expected_completion_on", "预计完成日期", Date, false),
        ],
    },
    ActionForm {
        action: "list",
        title: "挂牌督办",
        button: "挂牌",
        fields: &[
            f("level", "级别", Select(LISTING_LEVELS), true),
            f("supervising_unit", "督办单位", Text, true),
            f(
                "supervising_department",
                "督办部门（代码或名称）",
                Text,
                true,
            ),
            f("doc_no", "文号（如 长安委督字〔2026〕第3号）", Text, true),
            f("signed_by", "签发人", Text, true),
            f("complete_by", "督办完成时间", Date, true),
            f("plan_file_by", "治理方案报备时间", Date, true),
        ],
    },
    ActionForm {
        action: "delivery",
        title: "送达签收",
        button: "记录送达签收",
        fields: &[
            f("delivered_by", "送达人", Text, true),
            f("received_by", "签收人", Text, true),
            f("received_at", "签收时间", LocalTime, true),
        ],
    },
    ActionForm {
        action: "void",
        title: "作废",
        button: "作废",
        fields: &[
            f("reason", "原因", Select(VOID_REASONS), true),
            f("note", "说明", Area, true),
            f("duplicate_of", "重复的隐患编号", Text, false),
            f("transfer_to", "移交单位", Text, false),
        ],
    },
];

pub fn action_form(action: &str) -> Option<&'static ActionForm> {
    ACTIONS.iter().find(|a| a.action == action)
}

const PROPOSED_LEVELS: &[(&str, &str)] = &[("general", "一般事故隐患"), ("major", "重大事故隐患")];

/// The triage forms of a tip (`POST /api/v1/tips/{id}/triage`). The API's `confirm` is three
/// forms, one per way of confirming; a select whose options are empty here gets them from the
/// reference data or the caller's scope when the page is drawn (streets, departments,
/// enterprises, other tips).
pub const TIP_ACTIONS: &[ActionForm] = &[
    ActionForm {
        action: "route",
        title: "分派承办单位",
        button: "分派",
        fields: &[
            f("street", "街道（镇）", Select(&[]), false),
            f("department", "行业主管部门", Select(&[]), false),
            f("note", "内部备注", Area, false),
        ],
    },
    ActionForm {
        action: "verify",
        title: "开始核查",
        button: "开始核查",
        fields: &[f("note", "内部备注", Area, false)],
    },
    ActionForm {
        action: "confirm_new",
        title: "属实：建立隐患草稿（隐患来源 6 投诉举报）",
        button: "确认属实并建立隐患",
        fields: &[
            f("enterprise_id", "企业", Select(&[]), true),
            f(
                "title",
                "隐患名称（不填即取现状的开头；企业可见）",
                Text,
                false,
            ),
            f(
                "description",
                "现状（隐患描述；企业可见，请删去可能暴露举报人的内容）",
                Area,
                true,
            ),
            f("location", "具体位置（企业可见）", Text, true),
            f("category", "隐患类别", Select(CATEGORIES), true),
            f("level", "建议等级", Select(PROPOSED_LEVELS), true),
            f("discovered_on", "发现日期", Date, true),
            f("note", "内部备注", Area, false),
        ],
    },
    ActionForm {
        action: "confirm_link",
        title: "属实：关联已有隐患",
        button: "确认属实并关联",
        fields: &[
            f(
                "hazard_id",
                "隐患（台账编号，如 SH-CN-YH-2026-000012，或隐患 ID）",
                Text,
                true,
            ),
            f("note", "内部备注", Area, false),
        ],
    },
    ActionForm {
        action: "confirm_duplicate",
        title: "属实：与其他举报重复",
        button: "合并到该举报",
        fields: &[
            f("duplicate_of", "重复的举报", Select(&[]), true),
            f("note", "内部备注", Area, false),
        ],
    },
    ActionForm {
        action: "not_confirmed",
        title: "不属实",
        button: "确认不属实",
        fields: &[
            f("reason", "核查情况（内部，不告知举报人）", Area, true),
            f("note", "内部备注", Area, false),
        ],
    },
    ActionForm {
        action: "transfer",
        title: "移交",
        button: "移交",
        fields: &[
            f("to", "移交单位", Text, true),
            f("note", "内部备注", Area, false),
        ],
    },
    ActionForm {
        action: "reply",
        title: "答复举报人",
        button: "答复",
        fields: &[f(
            "message",
            "答复内容（公开，举报人凭受理编号可见）",
            Area,
            true,
        )],
    },
];

/// The triage form named `action`.
pub fn tip_action_form(action: &str) -> Option<&'static ActionForm> {
    TIP_ACTIONS.iter().find(|a| a.action == action)
}

/// The API's triage action of a triage form (the three ways of confirming are `confirm`).
pub fn tip_api_action(form: &str) -> &str {
    match form {
        "confirm_new" | "confirm_link" | "confirm_duplicate" => "confirm",
        other => other,
    }
}

/// A tip's status in the officers' words.
pub fn tip_status_label(s: &str) -> &'static str {
    match s {
        "received" => "已受理，待分派",
        "routed" => "已分派，待核查",
        "verifying" => "核查中",
        "confirmed" => "属实，待答复",
        "not_confirmed" => "不属实，待答复",
        "transferred" => "已移交，待答复",
        "replied" => "已答复",
        _ => "未知",
    }
}

/// A field ready for the template.
#[derive(Debug, Clone)]
pub struct FieldView {
    pub id: String,
    pub name: &'static str,
    pub label: &'static str,
    /// `text`, `area`, `date`, `number`, `select` or `check`.
    pub kind: &'static str,
    pub required: bool,
    pub value: String,
    pub error: Option<String>,
    pub options: Vec<(String, String, bool)>,
}

/// Views of `fields`, with what was typed and the errors by field name.
pub fn views(
    prefix: &str,
    fields: &[Field],
    values: &HashMap<String, String>,
    errors: &HashMap<String, String>,
) -> Vec<FieldView> {
    fields
        .iter()
        .map(|fd| {
            let value = values.get(fd.name).cloned().unwrap_or_default();
            let (kind, options) = match fd.kind {
                Text | Money => ("text", Vec::new()),
                Area => ("area", Vec::new()),
                Date => ("date", Vec::new()),
                LocalTime => ("datetime-local", Vec::new()),
                Number => ("number", Vec::new()),
                Check => ("check", Vec::new()),
                Select(opts) => (
                    "select",
                    opts.iter()
                        .map(|(v, l)| (v.to_string(), l.to_string(), *v == value))
                        .collect(),
                ),
            };
            FieldView {
                id: format!("{prefix}{}", fd.name.replace('.', "-")),
                name: fd.name,
                label: fd.label,
                kind,
                required: fd.required,
                error: errors.get(fd.name).cloned(),
                value,
                options,
            }
        })
        .collect()
}

/// A browser's `datetime-local` value (`2026-03-02T08:30`, seconds optional) as RFC 3339 in
/// Asia/Shanghai; `None` when it is not one (the API then names the field).
fn rfc3339_of_local(raw: &str) -> Option<String> {
    use chrono::TimeZone;
    let local = chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let t = chrono_tz::Asia::Shanghai
        .from_local_datetime(&local)
        .single()?;
    Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
}

/// The API's JSON for a submitted form: typed by the field kinds, dotted names nested,
/// empty values left out (so "required" comes back from the API, beside the field).
pub fn to_json(fields: &[&Field], form: &HashMap<String, String>) -> Value {
    let mut root = Map::new();
    for fd in fields {
        let raw = form.get(fd.name).map(|s| s.trim()).unwrap_or("");
        let value = match fd.kind {
            Check => json!(raw == "true" || raw == "on"),
            _ if raw.is_empty() => continue,
            Number => raw.parse::<i64>().map_or_else(|_| json!(raw), |n| json!(n)),
            LocalTime => json!(rfc3339_of_local(raw).unwrap_or_else(|| raw.to_string())),
            Select(_) if raw == "true" || raw == "false" => json!(raw == "true"),
            Select(_) if fd.name == "source" => {
                raw.parse::<i64>().map_or_else(|_| json!(raw), |n| json!(n))
            }
            _ => json!(raw),
        };
        match fd.name.split_once('.') {
            Some((outer, inner)) => {
                let obj = root
                    .entry(outer.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(o) = obj.as_object_mut() {
                    o.insert(inner.to_string(), value);
                }
            }
            None => {
                root.insert(fd.name.to_string(), value);
            }
        }
    }
    Value::Object(root)
}

/// A form as the fields of a PATCH: [`to_json`], with every field left empty sent as `null`
/// (clearing it), and a group whose parts are all empty (`plan.*`) as `null`.
pub fn to_patch(fields: &[&Field], form: &HashMap<String, String>) -> Value {
    let mut root = to_json(fields, form);
    let Some(obj) = root.as_object_mut() else {
        return root;
    };
    for fd in fields {
        match fd.name.split_once('.') {
            Some((outer, inner)) => {
                let group = obj
                    .entry(outer.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(g) = group.as_object_mut() {
                    g.entry(inner.to_string()).or_insert(Value::Null);
                }
            }
            None => {
                obj.entry(fd.name.to_string()).or_insert(Value::Null);
            }
        }
    }
    for value in obj.values_mut() {
        if value
            .as_object()
            .is_some_and(|g| g.values().all(Value::is_null))
        {
            *value = Value::Null;
        }
    }
    root
}

/// A hazard's report as form values, for editing it: the inverse of [`to_json`].
pub fn values_of(fields: &[&Field], view: &Value) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for fd in fields {
        let v = match fd.name.split_once('.') {
            Some((outer, inner)) => &view[outer][inner],
            None => &view[fd.name],
        };
        let text = match v {
            Value::String(t) => t.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        out.insert(fd.name.to_string(), text);
    }
    out
}

/// Field errors of a problem answer, keyed by the form's field name, in Chinese where the
/// message is one of the common ones.
pub fn problem_errors(problem: &Value) -> HashMap<String, String> {
    problem["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .filter_map(|e| {
                    let field = e["field"].as_str()?.to_string();
                    let msg = e["message"].as_str().unwrap_or("").to_string();
                    Some((field, translate(&msg)))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The API's common field messages in Chinese, for people reading a page; a message not known
/// here is shown as the API gives it.
pub fn translate(msg: &str) -> String {
    // Messages that end with the date they compare with.
    const DATED: [(&str, &str); 6] = [
        (
            "must not be after the effective deadline ",
            "不能晚于现行整改期限",
        ),
        (
            "must be after the effective deadline ",
            "须晚于现行整改期限",
        ),
        (
            "must not be after the requested deadline ",
            "不能晚于申请延至的日期",
        ),
        (
            "must not be before the failed acceptance check of ",
            "不能早于验收不合格之日",
        ),
        (
            "must not be before the start of rectification on ",
            "不能早于开始整改之日",
        ),
        (
            "must not be before the enterprise reported the work under way on ",
            "不能早于企业报告仍在整改之日",
        ),
    ];
    for (prefix, zh) in DATED {
        if let Some(date) = msg.strip_prefix(prefix) {
            return format!("{zh}（{date}）");
        }
    }
    let known = match msg {
        "required" => "必填",
        "required: the six-part plan or plan_due_on" => {
            "必填：填写治理方案六项，或填写方案报送日期"
        }
        "required: list what is still wrong" => "必填：列明存在的问题",
        "part of the finding of the official who filed it; only they change it" => {
            "属于检查发现的内容，只能由填报的街道或部门人员修改"
        }
        "required: at least one sector code" | "at least one sector code" => {
            "必填：至少一个行业领域"
        }
        "required: a street officer co-signs" => "必填：须街镇会签",
        "must name an active street officer of the hazard's street (user id or username)" => {
            "须为本隐患所在街镇在职的安全办人员（填写其用户名）"
        }
        "must be another person than reporter and verifier" => "会签人不能是报告人或验收人",
        "only with body joint_meeting" => "仅联席会议须填写后续报告日期",
        "must be a date from 2000-01-01 on" => "日期须在 2000-01-01 之后",
        "required: the work was completed in time but the deadline has passed; give the new deadline" => {
            "必填：按期完成但验收时已过整改期限，请填写新的整改期限"
        }
        "only when the work was completed in time and the deadline has passed since (a late rectification stays overdue: 继续挂账)" => {
            "仅用于按期完成、验收时已过期限的情形（逾期完成的继续挂账，不另定期限）"
        }
        "only with result fail" => "仅在验收不合格时填写",
        "at most 4 decimals (1 yuan)" => "最多 4 位小数（万元，精确到 1 元）",
        "must not exceed 1000000000" => "不能超过 1000000000 万元",
        "must not be in the future" => "不能晚于今天",
        "must not be in the past" => "不能早于今天",
        "must not be before discovered_on" => "不能早于发现日期",
        "must not be before completed_on" => "不能早于完成日期",
        "must be after the effective deadline" => "须晚于现行整改期限",
        "must be after meeting_on" => "须晚于会议日期",
        "must not be after complete_by" => "不能晚于督办完成期限",
        "must be the day of discovery" => "须为发现当日",
        "must not be empty" | "is empty" => "不能为空",
        "must be one line" => "只能填写一行（不能换行）",
        "not a field of this step" | "not a field of this request" => "不属于本操作的内容",
        "must not contain control characters" => "含有不可见的控制字符，请重新输入",
        "a date YYYY-MM-DD" => "请填写日期（YYYY-MM-DD）",
        "must be a mobile number or a fixed line like 021-62345678 or 62345678" => {
            "须为手机号码或固定电话（如 021-62345678，上海本地号码可只写 62345678）"
        }
        "must be a non-negative decimal like 12.5" => "须为不小于 0 的数（万元），如 12.5",
        "unknown category (A01…A12, A99, B01…B11, B99)" => {
            "隐患类别不存在（A01…A12、A99、B01…B11、B99）"
        }
        "unknown street code" | "unknown street code (see GET /api/v1/streets)" => "街道不存在",
        "unknown sector code" => "行业领域不存在",
        "only JPEG, PNG or WebP photos" => "只接受 JPEG、PNG 或 WebP 照片",
        "a photo before rectification is required" => "须上传整改前照片",
        "a photo after rectification is required" => "须上传整改后照片",
        "the after photo is the same picture as the before photo" => {
            "整改后照片与整改前照片是同一张，请上传整改后的现场照片"
        }
        "a major hazard cannot be handled on the spot" => "重大事故隐患不能现场整改",
        "must be 1–9" => "须为 1–9",
        "must be 0–100" => "须为 0–100",
        "wrong answer" => "答案不正确",
        "expired; ask for a new question" => "已过期，请刷新页面换一道题",
        "must differ from the current password" => "新密码不能与当前密码相同",
        "no such hazard within your scope" => "在您的管辖范围内没有该隐患",
        "no such enterprise within your scope" => "在您的管辖范围内没有该企业",
        "resumption must be approved to pass a suspended hazard" => {
            "停产停业整改的隐患，验收通过须同意复产"
        }
        "an assessment report is required to resume after a suspension" => {
            "停产停业整改的，须先上传评估报告（上传文件时类别选“评估报告”）"
        }
        "names a void hazard; name the one that is being dealt with" => {
            "所指隐患已作废，请填写正在办理的原隐患"
        }
        m if m.starts_with("must be a department the hazard is routed to") => {
            "须为该隐患所涉及的主管部门"
        }
        m if m.starts_with("must look like ") => {
            return format!("格式应如 {}", &m["must look like ".len()..]);
        }
        m if m.starts_with("must be within ") && m.ends_with(" days") => {
            let n = &m["must be within ".len()..m.len() - " days".len()];
            return format!("须在 {n} 天之内");
        }
        m if m.contains(" staff report to the ") => {
            let (n, body) = m.split_once(" staff report to the ").unwrap_or(("", ""));
            let body = match body {
                "workers_congress" => "职工代表大会",
                "all_staff_meeting" => "职工大会",
                other => other,
            };
            return format!("{n} 名职工的单位应向{body}报告");
        }
        m if m.ends_with("has passed; the request can only be refused") => {
            "申请延期到的日期已过，只能不予批准"
        }
        "only an approval grants a deadline" => "仅在批准延期时填写",
        "must be suspension while production is suspended" => {
            "停产停业的，治理方式须为停产停业整改"
        }
        "must be partial or full when handling is suspension" => {
            "停产停业整改的，须选择局部或全部停产停业"
        }
        "not a department (its code, e.g. YJJ, or its name, e.g. 区应急局)" => {
            "不是本区的主管部门（填写部门名称，如 区应急局）"
        }
        "give a street, a department or both" => "请选择要分派的街道或部门（或两者）",
        "the tip is already routed there" => "该举报已分派在此，无需再分派",
        "no other tip within your scope" => "没有这条举报，或它不在您的管辖范围内",
        "the other tip is not confirmed: confirm it first (a duplicate repeats a tip found true)" => {
            "该举报尚未核实属实：请先核查该举报（重复举报只能并入已核实属实的举报）"
        }
        m if m.starts_with("the hazard is closed:") => {
            "该隐患已销账：隐患再次出现的，请建立新的隐患草稿"
        }
        m if m.starts_with("the hazard is void:") => "该隐患已作废：请建立新的隐患草稿",
        m if let Some(n) = m
            .strip_prefix("at most ")
            .and_then(|r| r.strip_suffix(" characters")) =>
        {
            return format!("最多 {n} 个字");
        }
        m if m.starts_with("required") => return format!("必填（{m}）"),
        // serde's words for a date or a number that does not parse.
        m if m.contains("input is out of range")
            || m.contains("input contains invalid characters")
            || m.contains("premature end of input")
            || m.contains("trailing input") =>
        {
            "日期无效，请按 YYYY-MM-DD 填写"
        }
        m if m.starts_with("invalid digit") || m.starts_with("invalid type") => "格式不正确",
        m => return m.to_string(),
    };
    known.to_string()
}

/// The Chinese label of a field named in an API error.
pub fn field_label(name: &str) -> String {
    let label = GENERAL
        .iter()
        .chain(MAJOR)
        .chain(PLAN)
        .chain(ACTIONS.iter().flat_map(|a| a.fields.iter()))
        .find(|f| f.name == name)
        .map(|f| f.label);
    match (name, label) {
        ("before_photo", _) => "整改前照片".to_string(),
        ("after_photo", _) => "整改后照片".to_string(),
        ("plan", _) => "治理方案".to_string(),
        ("assessment_report", _) => "评估报告".to_string(),
        ("acceptance_photo", _) => "验收照片".to_string(),
        ("sectors", _) => "行业领域".to_string(),
        ("enterprise_id", _) => "企业".to_string(),
        (_, Some(l)) => l.to_string(),
        (n, None) => n.to_string(),
    }
}

/// Chinese names of statuses and levels.
/// The Chinese label of a 治理方式 (`handling`) or 停产停业 (`suspension`) code; an unknown one
/// is shown as given.
pub fn handling_label(code: &str) -> String {
    HANDLING
        .iter()
        .chain(SUSPENSION)
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_string(), |(_, l)| (*l).to_string())
}

pub fn status_label(s: &str) -> &'static str {
    match s {
        "draft" => "草稿",
        "submitted" => "已报告待上账",
        "returned" => "已退回",
        "on_ledger" => "已上账",
        "in_rectification" => "整改中",
        "pending_acceptance" => "待验收",
        "closed" => "已销账",
        "void" => "已作废",
        _ => "未知",
    }
}

pub fn level_label(s: &str) -> &'static str {
    if s == "major" { "重大" } else { "一般" }
}

pub fn role_label(s: &str) -> &'static str {
    match s {
        "enterprise_reporter" => "企业填报人",
        "enterprise_principal" => "企业主要负责人",
        "enterprise_safety_officer" => "企业安全管理人员",
        "street_officer" => "街镇安全办",
        "department_inspector" => "行业主管部门",
        "district_office" => "区安委办",
        "admin" => "系统管理员",
        // Entries with no role are the service's own (escalations, tip confirmations).
        "" => "系统",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_messages_read_in_chinese() {
        assert_eq!(translate("required"), "必填");
        assert_eq!(translate("at most 2000 characters"), "最多 2000 个字");
        assert_eq!(
            translate("the hazard is void: confirm with enterprise_id and the hazard fields"),
            "该隐患已作废：请建立新的隐患草稿"
        );
        // The money checks of Wan::parse, in the page's words.
        assert_eq!(
            translate("at most 4 decimals (1 yuan)"),
            "最多 4 位小数（万元，精确到 1 元）"
        );
        assert_eq!(
            translate("must not exceed 1000000000"),
            "不能超过 1000000000 万元"
        );
        assert_eq!(
            translate("must be a non-negative decimal like 12.5"),
            "须为不小于 0 的数（万元），如 12.5"
        );
        assert_eq!(
            translate("input is out of range at line 1 column 30"),
            "日期无效，请按 YYYY-MM-DD 填写"
        );
        // Messages that carry a value keep it.
        assert_eq!(
            translate("180 staff report to the workers_congress"),
            "180 名职工的单位应向职工代表大会报告"
        );
        assert_eq!(
            translate("must not be before the failed acceptance check of 2026-09-23"),
            "不能早于验收不合格之日（2026-09-23）"
        );
        assert_eq!(translate("must be within 15 days"), "须在 15 天之内");
        assert_eq!(
            translate("must look like 长安委督字〔2023〕第5号"),
            "格式应如 长安委督字〔2023〕第5号"
        );
        // The extension decision's refusals, as the domain words them.
        {
            use crate::domain::DomainError;
            use crate::domain::hazard::fixtures::{actor, d, facts, today};
            use crate::domain::hazard::{
                ExtensionDecisionInput, Level, Policy, Role, Status, decide_extension,
            };
            let mut f = facts(Status::InRectification, Level::Major);
            f.pending_extension = Some(d("2023-11-30"));
            let a = actor(Role::DepartmentInspector);
            let decision = |approved: bool, deadline: &str| ExtensionDecisionInput {
                approved: Some(approved),
                opinion: Some("意见".into()),
                deadline: Some(d(deadline)),
            };
            let said = |input: ExtensionDecisionInput| match decide_extension(
                &f,
                &a,
                &input,
                today(),
                &Policy::default(),
            ) {
                Err(DomainError::Validation { errors, .. }) => translate(&errors[0].message),
                other => panic!("{other:?}"),
            };
            assert_eq!(
                said(decision(true, "2023-10-20")),
                "须晚于现行整改期限（2023-10-20）"
            );
            assert_eq!(
                said(decision(true, "2023-12-01")),
                "不能晚于申请延至的日期（2023-11-30）"
            );
            assert_eq!(said(decision(false, "2023-11-15")), "仅在批准延期时填写");
        }
        // One the table does not know stays as the API gave it.
        assert_eq!(
            translate("must name another hazard"),
            "must name another hazard"
        );
    }

    #[test]
    fn a_local_time_becomes_rfc3339_in_shanghai() {
        assert_eq!(
            rfc3339_of_local("2026-03-02T08:30").as_deref(),
            Some("2026-03-02T08:30:00+08:00")
        );
        assert_eq!(
            rfc3339_of_local("2026-03-02T08:30:15").as_deref(),
            Some("2026-03-02T08:30:15+08:00")
        );
        assert_eq!(rfc3339_of_local("昨天上午"), None);
    }

    #[test]
    fn forms_become_the_api_json() {
        let form: HashMap<String, String> = [
            ("title", " 配电箱未上锁 "),
            ("source", "3"),
            ("planned_funds", "12.5"),
            ("judgement_basis.standard", "工贸标准"),
            ("judgement_basis.clause", "第十一条"),
            ("needs_government_coordination", "true"),
            ("plan_due_on", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let fields: Vec<&Field> = GENERAL.iter().chain(MAJOR).chain(PLAN).collect();
        let v = to_json(&fields, &form);
        assert_eq!(v["title"], "配电箱未上锁");
        assert_eq!(v["source"], 3);
        assert_eq!(v["planned_funds"], "12.5");
        assert_eq!(v["judgement_basis"]["clause"], "第十一条");
        assert_eq!(v["needs_government_coordination"], true);
        assert!(v.get("plan_due_on").is_none());
        assert!(v.get("plan").is_none());
        let acc = action_form("accept").unwrap();
        let form: HashMap<String, String> = [("result", "pass"), ("resume_approved", "false")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let v = to_json(&acc.fields.iter().collect::<Vec<_>>(), &form);
        assert_eq!(v, json!({"result": "pass", "resume_approved": false}));
    }

    #[test]
    fn problem_errors_map_to_fields() {
        let p = json!({"errors": [{"field": "title", "message": "required"}, {"field": "judgement_basis.clause", "message": "too long"}]});
        let e = problem_errors(&p);
        assert_eq!(e["title"], "必填");
        assert_eq!(e["judgement_basis.clause"], "too long");
    }
}
