//! `seed --demo`: ten demo enterprises across streets and sectors and one demo user per role,
//! for trying the service. Never run by default; running it twice adds nothing.

use crate::auth::Hasher;
use crate::auth::accounts::{self, NewUser, UserInput};
use crate::auth::password::generate_password;
use crate::config::Config;
use crate::db::enterprises::{self, EnterpriseRow};
use crate::db::{self, DbConn, users};

/// (USCC, name, street, sectors, headcount, address, principal, mobile).
type DemoEnterprise = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    i32,
    &'static str,
    &'static str,
    &'static str,
);

/// Valid synthetic USCCs with the Changning prefix 91310105.
pub const DEMO_ENTERPRISES: [DemoEnterprise; 10] = [
    (
        "91310105MA1FL0A19R",
        "上海长宁冷链物流有限公司",
        "HYL",
        &["ammonia_refrigeration", "industry_trade"],
        180,
        "长宁区华阳路街道定西路100号",
        "张建国",
        "13800000001",
    ),
    (
        "91310105MA1G2B3C1B",
        "上海江苏路商业广场有限公司",
        "JSL",
        &["commercial_complex", "fire"],
        260,
        "长宁区江苏路街道愚园路200号",
        "李明",
        "13800000002",
    ),
    (
        "91310105MA1H5D7E6U",
        "上海新华精密机械厂",
        "XHL",
        &["industry_trade", "confined_space"],
        85,
        "长宁区新华路街道新华路300号",
        "王强",
        "13800000003",
    ),
    (
        "91310105MA1J8K2L94",
        "上海周家桥燃气供应站",
        "ZJQ",
        &["gas"],
        40,
        "长宁区周家桥街道万航渡路400号",
        "赵丽",
        "13800000004",
    ),
    (
        "91310105MA1K3M4N7M",
        "上海天山物业管理有限公司",
        "TSL",
        &["property"],
        120,
        "长宁区天山路街道天山路500号",
        "孙伟",
        "13800000005",
    ),
    (
        "91310105MA1L6P8Q27",
        "上海仙霞电梯维保有限公司",
        "XXXC",
        &["special_equipment"],
        35,
        "长宁区仙霞新村街道仙霞路600号",
        "周敏",
        "13800000006",
    ),
    (
        "91310105MA1M9R1T53",
        "上海虹桥建设工程有限公司",
        "HQ",
        &["construction"],
        300,
        "长宁区虹桥街道虹桥路700号",
        "吴刚",
        "13800000007",
    ),
    (
        "91310105MA1N2U5W6R",
        "上海程家桥化工仓储有限公司",
        "CJQ",
        &["hazardous_chemicals"],
        60,
        "长宁区程家桥街道哈密路800号",
        "郑芳",
        "13800000008",
    ),
    (
        "91310105MA1P4X7Y6P",
        "上海北新泾粉末冶金有限公司",
        "BXJ",
        &["dust_explosion", "industry_trade"],
        150,
        "长宁区北新泾街道天山西路900号",
        "冯军",
        "13800000009",
    ),
    (
        "91310105MA1Q7A3B71",
        "上海新泾镇颐养院",
        "XJZ",
        &["elderly_care", "fire"],
        45,
        "长宁区新泾镇淞虹路1000号",
        "陈静",
        "13800000010",
    ),
];

/// (username, role, org) — org is a street/department code or a demo enterprise's USCC.
pub const DEMO_USERS: [(&str, &str, &str); 11] = [
    ("demo-reporter", "enterprise_reporter", "91310105MA1FL0A19R"),
    (
        "demo-principal",
        "enterprise_principal",
        "91310105MA1FL0A19R",
    ),
    (
        "demo-safety",
        "enterprise_safety_officer",
        "91310105MA1FL0A19R",
    ),
    (
        "demo-principal-jsl",
        "enterprise_principal",
        "91310105MA1G2B3C1B",
    ),
    ("demo-street-hyl", "street_officer", "HYL"),
    ("demo-street-jsl", "street_officer", "JSL"),
    ("demo-inspector-yjj", "department_inspector", "YJJ"),
    ("demo-inspector-scjgj", "department_inspector", "SCJGJ"),
    ("demo-inspector-xfzd", "department_inspector", "XFZD"),
    ("demo-district", "district_office", "AJW"),
    ("demo-admin", "admin", "AJW"),
];

/// Inserts whatever of the demo data is missing and prints new users' passwords once.
pub fn seed_demo(config: &Config, conn: &mut DbConn) -> anyhow::Result<()> {
    let hasher = Hasher::new(&config.auth)?;
    let now = crate::clock::Clock::from_config(config)?.now().naive_utc();
    let mut created_enterprises = 0;
    for (uscc, name, street, sectors, headcount, address, principal, mobile) in DEMO_ENTERPRISES {
        if enterprises::find_any(conn, uscc)?.is_some() {
            continue;
        }
        let row = EnterpriseRow {
            id: uuid::Uuid::now_v7().to_string(),
            uscc: uscc.into(),
            name: name.into(),
            address: address.into(),
            street_code: street.into(),
            headcount,
            principal_name: principal.into(),
            principal_mobile: mobile.into(),
            safety_officer_name: None,
            safety_officer_mobile: None,
            notify_emails: "[]".into(),
            created_at: now,
            updated_at: now,
        };
        let sectors: Vec<String> = sectors.iter().map(|s| (*s).to_string()).collect();
        db::write_tx(conn, |c| enterprises::insert(c, &row, &sectors))?;
        created_enterprises += 1;
    }
    println!("demo enterprises: {created_enterprises} created");
    let mut lines = Vec::new();
    for (username, role, org) in DEMO_USERS {
        if users::by_username(conn, username)?.is_some() {
            continue;
        }
        let (username, display_name, email, role, target) = accounts::check_user_input(
            conn,
            &UserInput {
                username: Some(username),
                display_name: None,
                email: Some(&format!("{username}@demo.invalid")),
                role: Some(role),
                org: Some(org),
            },
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let password = generate_password();
        let new = NewUser {
            username: username.clone(),
            display_name,
            email,
            role,
            target,
            password_hash: hasher.hash_blocking(&password)?,
            must_change_password: false,
        };
        db::write_tx(conn, |c| accounts::insert_user(c, new, now))?;
        lines.push(format!(
            "  {username:<22} {:<26} {org:<20} {password}",
            role.as_str()
        ));
    }
    if lines.is_empty() {
        println!("demo users: all exist already (passwords were shown when they were created)");
    } else {
        println!("demo users (passwords are shown this once):");
        println!(
            "  {:<22} {:<26} {:<20} password",
            "username", "role", "organisation"
        );
        for l in lines {
            println!("{l}");
        }
    }
    Ok(())
}
