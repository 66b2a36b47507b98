//! `hazard-ledger generate`: fills a migrated, seeded database quickly with synthetic but
//! realistic hazards for query benchmarks (issue 6). It writes rows with multi-row INSERTs of
//! literal values (all generated here, never user input) in large transactions, and writes **no
//! ledger entries**: the result is a data set to query, not a ledger (`ledger verify` still
//! passes, since the chain simply does not mention these hazards).
//!
//! What it makes: 500 enterprises spread over the streets and the seeded sectors (USCCs are
//! `91310105GEN` + a counter: unique, but they do not pass the check digit — synthetic data),
//! one inactive generator user (street officer of HYL) as the reporter of every hazard, and N
//! hazards created evenly from 2023-01-01 to today with a mix of statuses, levels (~10 % 重大),
//! deadlines, ~1 % overdue, listed majors, ledger numbers unique per year, sectors, routed
//! departments and the search index.

use std::fmt::Write as _;
use std::time::Instant;

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::Config;
use crate::db::{self, DbConn};

/// Hazards per INSERT statement.
const ROWS_PER_STATEMENT: usize = 1_000;
/// Hazards per transaction.
const ROWS_PER_TRANSACTION: usize = 25_000;
/// Enterprises generated.
const ENTERPRISES: usize = 500;

const STREETS: [&str; 10] = [
    "HYL", "JSL", "XHL", "ZJQ", "TSL", "XXXC", "HQ", "CJQ", "BXJ", "XJZ",
];

/// Titles; each holds a distinctive 4-character word (`消防通道`, `配电箱体`, …) to search for.
pub const TITLES: [&str; 20] = [
    "消防通道堵塞",
    "配电箱体未上锁",
    "灭火器材过期未检",
    "有限空间作业未审批",
    "脚手架体未设防护栏",
    "燃气管道锈蚀",
    "电梯维保记录缺失",
    "安全出口指示灯损坏",
    "危化品仓库通风不良",
    "粉尘清扫不及时",
    "液氨管道阀门泄漏",
    "疏散通道堆放杂物",
    "应急照明失效",
    "叉车司机无证操作",
    "吊装设备限位失灵",
    "油烟管道未清洗",
    "临时用电私拉乱接",
    "高处作业未系安全带",
    "防火门常开未闭合",
    "压力容器超期未检",
];

const DESCRIPTIONS: [&str; 10] = [
    "现场检查发现，需立即整改并落实专人负责。",
    "隐患存在时间较长，企业未组织自查自纠。",
    "未建立相应的安全管理制度和操作规程。",
    "作业人员未经安全培训即上岗作业。",
    "设备设施未按规定进行定期检测和维护保养。",
    "安全警示标志缺失，现场管理混乱。",
    "应急预案未演练，应急物资储备不足。",
    "企业主要负责人对隐患整改重视不够。",
    "同类问题在上次检查中已指出，仍未整改到位。",
    "隐患可能导致火灾或人员伤亡，风险较高。",
];

const LOCATIONS: [&str; 8] = [
    "一号车间",
    "仓库",
    "配电房",
    "厨房",
    "地下室",
    "屋顶",
    "楼梯间",
    "办公区",
];

const NAME_PLACES: [&str; 8] = [
    "长宁",
    "华阳",
    "新华",
    "天山",
    "虹桥",
    "程家桥",
    "仙霞",
    "周家桥",
];
const NAME_TRADES: [&str; 10] = [
    "精密机械",
    "物业管理",
    "餐饮管理",
    "化工贸易",
    "建筑工程",
    "商贸",
    "物流",
    "文化传播",
    "医疗器械",
    "养老服务",
];
const CATEGORIES: [&str; 10] = [
    "A01", "A03", "A05", "A07", "B01", "B02", "B04", "B05", "B07", "B10",
];

/// What `generate` did.
#[derive(Debug, Clone)]
pub struct Report {
    pub enterprises: usize,
    pub hazards: u64,
    pub seconds: f64,
}

/// Runs the command: prepares the configured database, then fills it.
pub fn run(config: &Config, hazards: u64, seed: u64) -> anyhow::Result<Report> {
    let pool = db::build_command_pool(config)?;
    let mut conn = pool.get()?;
    crate::app::prepare_database(&mut conn)?;
    let today = crate::clock::Clock::from_config(config)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .today();
    fill(&mut conn, today, hazards, seed, |line| {
        crate::out!("{line}")
    })
}

struct Enterprise {
    id: String,
    name: String,
    street: &'static str,
    sectors: Vec<(String, String)>,
}

fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt_date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "NULL".to_string(), |d| format!("'{d}'"))
}

fn ts(d: NaiveDateTime) -> String {
    format!("'{}'", d.format("%Y-%m-%d %H:%M:%S"))
}

fn at(d: NaiveDate, hour: u32) -> NaiveDateTime {
    d.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default())
}

fn exec(conn: &mut DbConn, sql: &str) -> QueryResult<usize> {
    diesel::sql_query(sql).execute(conn)
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Code {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    department: String,
}

/// Fills `conn` with `n` hazards as of `today`; `progress` receives one line now and then.
pub fn fill(
    conn: &mut DbConn,
    today: NaiveDate,
    n: u64,
    seed: u64,
    mut progress: impl FnMut(String),
) -> anyhow::Result<Report> {
    let started = Instant::now();
    let is_pg = matches!(conn, DbConn::Pg(_));
    let mut rng = StdRng::seed_from_u64(seed);
    let now = chrono::Utc::now().naive_utc();

    // Generated hazards have no ledger entries (`ledger verify` cannot see them): never mix them
    // with real ones. A fresh database holds no enterprise and no hazard.
    let existing: i64 = diesel::sql_query(
        "SELECT (SELECT COUNT(*) FROM enterprises) + (SELECT COUNT(*) FROM hazards) AS n",
    )
    .get_result::<Count>(conn)?
    .n;
    anyhow::ensure!(
        existing == 0,
        "this database already holds enterprises or hazards (real, demo or generated); generate into a fresh database: its hazards have no ledger entries"
    );
    if is_pg {
        exec(conn, "SET synchronous_commit = off")?;
        exec(conn, "SET maintenance_work_mem = '512MB'")?;
    } else {
        exec(conn, "PRAGMA cache_size = -262144")?;
    }

    // Reference data: sectors and their primary departments.
    let sectors: Vec<Code> = diesel::sql_query(
        "SELECT code, primary_department AS department FROM sectors ORDER BY code",
    )
    .load(conn)?;
    anyhow::ensure!(!sectors.is_empty(), "no sectors: seed the database first");

    // The generator user: inactive, cannot log in (no valid password hash).
    let user_id = uuid::Uuid::now_v7().to_string();
    exec(
        conn,
        &format!(
            "INSERT INTO users (id, username, display_name, role, street_code, password_hash, \
             active, must_change_password, created_at, updated_at) VALUES ({}, 'generator', \
             '数据生成器', 'street_officer', 'HYL', '!', FALSE, FALSE, {}, {})",
            lit(&user_id),
            ts(now),
            ts(now)
        ),
    )?;

    // Enterprises, spread over the streets; one or two sectors each.
    let mut enterprises = Vec::with_capacity(ENTERPRISES);
    let (mut ent_sql, mut sec_sql) = (String::new(), String::new());
    for i in 0..ENTERPRISES {
        let id = uuid::Uuid::now_v7().to_string();
        let street = STREETS[i % STREETS.len()];
        let name = format!(
            "上海{}{}有限公司{}",
            NAME_PLACES[rng.random_range(0..NAME_PLACES.len())],
            NAME_TRADES[rng.random_range(0..NAME_TRADES.len())],
            if i % 3 == 0 { "" } else { "长宁分公司" }
        );
        let first = rng.random_range(0..sectors.len());
        let mut secs = vec![(
            sectors[first].code.clone(),
            sectors[first].department.clone(),
        )];
        if rng.random_bool(0.2) {
            let second = (first + 1 + rng.random_range(0..sectors.len() - 1)) % sectors.len();
            secs.push((
                sectors[second].code.clone(),
                sectors[second].department.clone(),
            ));
        }
        let _ = write!(
            ent_sql,
            "{}({}, '91310105GEN{:07}', {}, {}, '{street}', {}, '张三', '1380000{:04}', NULL, NULL, '[]', {}, {})",
            if ent_sql.is_empty() { "" } else { "," },
            lit(&id),
            i + 1,
            lit(&name),
            lit(&format!("上海市长宁区{}路{}号", NAME_PLACES[i % 8], i + 1)),
            rng.random_range(10..800),
            i,
            ts(now),
            ts(now)
        );
        for (pos, (code, _)) in secs.iter().enumerate() {
            let _ = write!(
                sec_sql,
                "{}({}, {}, {pos})",
                if sec_sql.is_empty() { "" } else { "," },
                lit(&id),
                lit(code)
            );
        }
        enterprises.push(Enterprise {
            id,
            name,
            street,
            sectors: secs,
        });
    }
    exec(
        conn,
        &format!(
            "INSERT INTO enterprises (id, uscc, name, address, street_code, headcount, principal_name, \
             principal_mobile, safety_officer_name, safety_officer_mobile, notify_emails, created_at, \
             updated_at) VALUES {ent_sql}"
        ),
    )?;
    exec(
        conn,
        &format!(
            "INSERT INTO enterprise_sectors (enterprise_id, sector_code, position) VALUES {sec_sql}"
        ),
    )?;
    progress(format!(
        "generate: {ENTERPRISES} enterprises, 1 generator user ({:.1} s)",
        started.elapsed().as_secs_f64()
    ));

    // Ledger numbers continue after those already given out.
    let mut numbers: std::collections::HashMap<i32, i64> = diesel::sql_query(
        "SELECT CAST(year AS BIGINT) AS n, CAST(last_number AS TEXT) AS code FROM ledger_numbers",
    )
    .load::<YearNumber>(conn)?
    .into_iter()
    .map(|r| (r.n as i32, r.code.parse().unwrap_or(0)))
    .collect();
    // SQLite addresses the FTS rows by the hazard's rowid: give the hazards explicit ones.
    let mut rowid: i64 = if is_pg {
        0
    } else {
        diesel::sql_query("SELECT COALESCE(MAX(rowid), 0) AS n FROM hazards")
            .get_result::<Count>(conn)?
            .n
    };
    if is_pg {
        // Building the trigram index once at the end is far quicker than maintaining it.
        exec(conn, "DROP INDEX IF EXISTS hazard_search_trgm")?;
    }

    let start = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(today);
    let span_secs = ((today - start).num_seconds() - 86_400).max(86_400);
    let base = at(start, 0);
    let mut done: u64 = 0;
    let result = (|| -> anyhow::Result<()> {
        while done < n {
            let in_tx = (n - done).min(ROWS_PER_TRANSACTION as u64);
            conn.transaction(|conn| -> anyhow::Result<()> {
                let mut left = in_tx;
                while left > 0 {
                    let rows = left.min(ROWS_PER_STATEMENT as u64);
                    let mut h = String::with_capacity(rows as usize * 700);
                    let mut s = String::with_capacity(rows as usize * 200);
                    let mut hs = String::new();
                    let mut hd = String::new();
                    for k in 0..rows {
                        let i = done + (in_tx - left) + k;
                        rowid += 1;
                        let created = base
                            + chrono::Duration::seconds(
                                (span_secs as f64 * i as f64 / n.max(1) as f64) as i64,
                            );
                        let e = &enterprises[rng.random_range(0..enterprises.len())];
                        let hz = hazard(&mut rng, today, created, &mut numbers);
                        let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
                            uuid::NoContext,
                            created.and_utc().timestamp() as u64,
                            (i % 1_000) as u32 * 1_000_000,
                        ))
                        .to_string();
                        let title = TITLES[rng.random_range(0..TITLES.len())];
                        let description = DESCRIPTIONS[rng.random_range(0..DESCRIPTIONS.len())];
                        let location = format!(
                            "{}{}号",
                            LOCATIONS[rng.random_range(0..LOCATIONS.len())],
                            rng.random_range(1..20)
                        );
                        let sep = |b: &String| if b.is_empty() { "" } else { "," };
                        let _ = write!(
                            h,
                            "{}({}{}, {}, {}, '{}', '{}', '{}', '{}', '{}', '{}', {}, {}, {}, '{}', 1, '{}', '{{}}', {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                            sep(&h),
                            if is_pg { String::new() } else { format!("{rowid}, ") },
                            lit(&id),
                            hz.ledger_no.as_deref().map_or_else(|| "NULL".into(), lit),
                            lit(&e.id),
                            e.street,
                            e.sectors[0].1,
                            hz.status,
                            hz.level,
                            hz.handling,
                            hz.suspension,
                            lit(title),
                            lit(description),
                            lit(&location),
                            CATEGORIES[rng.random_range(0..CATEGORIES.len())],
                            hz.discovered_on,
                            lit(&user_id),
                            hz.submitted_on.map_or_else(|| "NULL".into(), |_| lit(&user_id)),
                            hz.submitted_on.map_or_else(|| "NULL".into(), |d| ts(at(d, 2))),
                            opt_date(hz.submitted_on),
                            hz.posted_on.map_or_else(|| "NULL".into(), |d| ts(at(d, 3))),
                            opt_date(hz.posted_on),
                            opt_date(hz.deadline),
                            opt_date(hz.effective_deadline),
                            hz.plan_filed,
                            hz.plan_filed,
                            opt_date(hz.completed_on),
                            opt_date(hz.completed_on.map(|d| d + Days::new(15))),
                            opt_date(hz.cancel_date),
                            hz.listed,
                            hz.version,
                            ts(created),
                            ts(hz.updated.max(created)),
                        );
                        let body = crate::db::search::body(title, description, &location, &e.name);
                        if is_pg {
                            let _ = write!(s, "{}({}, {})", sep(&s), lit(&id), lit(&body));
                        } else {
                            let _ = write!(s, "{}({rowid}, {}, {})", sep(&s), lit(&id), lit(&body));
                        }
                        let mut depts: Vec<&str> = Vec::new();
                        for (pos, (code, dept)) in e.sectors.iter().enumerate() {
                            let _ = write!(hs, "{}({}, {}, {pos})", sep(&hs), lit(&id), lit(code));
                            if !depts.contains(&dept.as_str()) {
                                let _ = write!(
                                    hd,
                                    "{}({}, {}, {})",
                                    sep(&hd),
                                    lit(&id),
                                    lit(dept),
                                    if depts.is_empty() { "TRUE" } else { "FALSE" }
                                );
                                depts.push(dept);
                            }
                        }
                    }
                    exec(
                        conn,
                        &format!(
                            "INSERT INTO hazards ({}id, ledger_no, enterprise_id, street_code, \
                             primary_department, status, level, handling, suspension, title, \
                             description, location, category, source, discovered_on, content, \
                             reporter_id, submitted_by, submitted_at, submitted_on, posted_at, \
                             posted_on, deadline, effective_deadline, plan_filed, plan_acknowledged, \
                             completed_on, acceptance_due_on, cancel_date, listed, version, \
                             created_at, updated_at) VALUES {h}",
                            if is_pg { "" } else { "rowid, " }
                        ),
                    )?;
                    if is_pg {
                        exec(conn, &format!("INSERT INTO hazard_search (hazard_id, body) VALUES {s}"))?;
                    } else {
                        exec(
                            conn,
                            &format!("INSERT INTO hazard_search (rowid, hazard_id, body) VALUES {s}"),
                        )?;
                    }
                    exec(
                        conn,
                        &format!(
                            "INSERT INTO hazard_sectors (hazard_id, sector_code, position) VALUES {hs}"
                        ),
                    )?;
                    exec(
                        conn,
                        &format!(
                            "INSERT INTO hazard_departments (hazard_id, department_code, is_primary) VALUES {hd}"
                        ),
                    )?;
                    left -= rows;
                }
                Ok(())
            })?;
            done += in_tx;
            if done.is_multiple_of(100_000) || done == n {
                progress(format!(
                    "generate: {done} / {n} hazards ({:.1} s)",
                    started.elapsed().as_secs_f64()
                ));
            }
        }
        Ok(())
    })();
    if is_pg {
        progress("generate: building the trigram index".to_string());
        exec(
            conn,
            "CREATE INDEX IF NOT EXISTS hazard_search_trgm ON hazard_search USING gin (body gin_trgm_ops)",
        )?;
    }
    result?;
    for (year, last) in &numbers {
        let sql = if is_pg {
            format!(
                "INSERT INTO ledger_numbers (year, last_number) VALUES ({year}, {last}) \
                 ON CONFLICT (year) DO UPDATE SET last_number = EXCLUDED.last_number"
            )
        } else {
            format!(
                "INSERT OR REPLACE INTO ledger_numbers (year, last_number) VALUES ({year}, {last})"
            )
        };
        exec(conn, &sql)?;
    }
    if is_pg {
        // Autovacuum would do this soon anyway (inserts trigger it too); the planner needs the
        // statistics at once, and index-only scans need the visibility map.
        progress("generate: VACUUM ANALYZE".to_string());
        exec(conn, "VACUUM ANALYZE")?;
    }
    let seconds = started.elapsed().as_secs_f64();
    progress(format!(
        "generate: done, {n} hazards and {ENTERPRISES} enterprises in {seconds:.1} s (no ledger entries written)"
    ));
    Ok(Report {
        enterprises: ENTERPRISES,
        hazards: n,
        seconds,
    })
}

#[derive(QueryableByName)]
struct YearNumber {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Text)]
    code: String,
}

struct Generated {
    status: &'static str,
    level: &'static str,
    handling: &'static str,
    suspension: &'static str,
    discovered_on: NaiveDate,
    submitted_on: Option<NaiveDate>,
    posted_on: Option<NaiveDate>,
    ledger_no: Option<String>,
    deadline: Option<NaiveDate>,
    effective_deadline: Option<NaiveDate>,
    plan_filed: bool,
    completed_on: Option<NaiveDate>,
    cancel_date: Option<NaiveDate>,
    listed: bool,
    version: i32,
    updated: NaiveDateTime,
}

fn plus(d: NaiveDate, days: i64) -> NaiveDate {
    d + chrono::Duration::days(days)
}

/// One hazard's lifecycle fields, consistent with its status, as of `today`.
fn hazard(
    rng: &mut StdRng,
    today: NaiveDate,
    created: NaiveDateTime,
    numbers: &mut std::collections::HashMap<i32, i64>,
) -> Generated {
    use chrono::Datelike;
    let created_on = created.date();
    let age = (today - created_on).num_days();
    let major = rng.random_bool(0.10);
    let r: u32 = rng.random_range(0..1000);
    // Old hazards are mostly closed; recent ones are still running.
    let mut status = match r {
        0..10 => "draft",
        10..40 => "submitted",
        40..90 => "void",
        90..150 => "on_ledger",
        150..380 => "in_rectification",
        380..430 => "pending_acceptance",
        _ => "closed",
    };
    let running = matches!(
        status,
        "on_ledger" | "in_rectification" | "pending_acceptance"
    );
    if running && age > 365 && rng.random_bool(0.6) {
        status = "closed";
    }
    if status == "closed" && age < 20 {
        status = "in_rectification";
    }
    let discovered_on = plus(created_on, -rng.random_range(0..3));
    let mut g = Generated {
        status,
        level: if major { "major" } else { "general" },
        handling: if major {
            "suspension"
        } else if rng.random_bool(0.1) {
            "on_the_spot"
        } else {
            "time_limited"
        },
        suspension: if major { "partial" } else { "none" },
        discovered_on,
        submitted_on: None,
        posted_on: None,
        ledger_no: None,
        deadline: None,
        effective_deadline: None,
        plan_filed: false,
        completed_on: None,
        cancel_date: None,
        listed: false,
        version: 1,
        updated: created,
    };
    if status == "draft" {
        return g;
    }
    let submitted = created_on.min(today);
    g.submitted_on = Some(submitted);
    g.version = 2;
    g.updated = at(submitted, 2);
    if status == "submitted" {
        return g;
    }
    let posted = plus(submitted, rng.random_range(0..4)).min(today);
    g.posted_on = Some(posted);
    let year = posted.year();
    let next = numbers.entry(year).or_insert(0);
    *next += 1;
    g.ledger_no = Some(format!("SH-CN-YH-{year}-{:06}", *next));
    g.version = 3;
    g.updated = at(posted, 3);
    let running = matches!(
        status,
        "on_ledger" | "in_rectification" | "pending_acceptance"
    );
    // Effective deadline first, then the original one (5 % were extended).
    let effective = if running {
        // ~3 % of running hazards are overdue: about 1 % of all hazards.
        let overdue_room = (today - posted).num_days() - 1;
        if overdue_room > 1 && rng.random_bool(0.033) {
            plus(today, -rng.random_range(1..=overdue_room.min(300)))
        } else {
            plus(posted.max(today), rng.random_range(0..240))
        }
    } else {
        plus(posted, rng.random_range(15..180))
    };
    let ext = if rng.random_bool(0.05) {
        rng.random_range(15..60)
    } else {
        0
    };
    let deadline = if plus(effective, -ext) > posted {
        plus(effective, -ext)
    } else {
        effective
    };
    g.deadline = Some(deadline);
    g.effective_deadline = Some(effective);
    match status {
        "on_ledger" => {
            g.listed = major && rng.random_bool(0.4);
        }
        "in_rectification" => {
            g.plan_filed = true;
            g.listed = major && rng.random_bool(0.4);
            g.version = 5;
            g.updated = at(plus(posted, 7).min(today), 4);
        }
        "pending_acceptance" => {
            g.plan_filed = true;
            let done = plus(
                posted,
                rng.random_range(5..=(effective - posted).num_days().max(6)),
            )
            .min(today);
            g.completed_on = Some(done);
            g.version = 7;
            g.updated = at(done, 5);
        }
        "closed" => {
            g.plan_filed = true;
            // About one in eight finishes after its original deadline (超期整改).
            let allowed = (effective - posted).num_days().max(6);
            let late = if rng.random_bool(0.12) {
                rng.random_range(1..30)
            } else {
                0
            };
            let done = plus(posted, rng.random_range(5..=allowed) + late).min(today);
            let cancel = plus(done, rng.random_range(0..10)).min(today);
            g.completed_on = Some(done);
            g.cancel_date = Some(cancel);
            g.version = 9;
            g.updated = at(cancel, 6);
        }
        _ => {
            // void: voided some days after posting.
            let cancel = plus(posted, rng.random_range(1..30)).min(today);
            g.cancel_date = Some(cancel);
            g.version = 4;
            g.updated = at(cancel, 6);
        }
    }
    g
}
