//! The command line: `serve` (default), `migrate`, `seed`, `user`, `ledger verify`, `jobs`,
//! `check-config`, `generate`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::{app, db, telemetry};

/// `println!` for command output that may be piped into `head` or a closed reader: a broken
/// pipe ends the output quietly instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// 隐患台账 Hazard Ledger: hazard reporting, the 双报告 and the closed-loop ledger.
#[derive(Debug, Parser)]
#[command(name = "hazard-ledger", version, about, long_about = None)]
pub struct Cli {
    /// Config file with the keys to change (default: $HAZARD_LEDGER_CONFIG, else built-in defaults).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default): migrate and seed the database, then listen.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the reference data (streets, departments, sectors, categories, holidays); idempotent.
    Seed {
        /// Also create 10 demo enterprises and one demo user per role, printing their passwords once.
        #[arg(long)]
        demo: bool,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Check the hash-chained ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Scheduled jobs: list them, or run one now.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Validate the configuration, print the effective values (passwords hidden) and exit.
    CheckConfig,
    /// Fill the database with synthetic hazards for benchmarks (no ledger entries; fresh database).
    Generate {
        /// How many hazards to generate.
        #[arg(long)]
        hazards: u64,
        /// Seed of the random choices (same seed, same data).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; without --password-stdin a strong password is generated and printed once.
    Create {
        /// Login name (letters, digits, '.', '_', '-').
        #[arg(long)]
        username: String,
        /// enterprise_reporter, enterprise_principal, enterprise_safety_officer, street_officer,
        /// department_inspector, district_office or admin.
        #[arg(long)]
        role: String,
        /// Street or department code (e.g. HYL, YJJ, AJW), or an enterprise's USCC.
        #[arg(long)]
        org: String,
        /// Email address (for notifications).
        #[arg(long)]
        email: Option<String>,
        /// Name shown to others (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (every session of the user ends).
    Passwd {
        #[arg(long)]
        username: String,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user (every session of the user ends at once).
    Disable {
        #[arg(long)]
        username: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Every job: name, what it does, schedule and next time.
    List,
    /// Run one job now (escalation, outbox, purge, all, or one rule by name) and print the run.
    Run {
        /// The job's name; `all` runs every rule for the date, then sends the outbox once.
        name: String,
        /// Run as if today were this date (YYYY-MM-DD, in clock.timezone).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = yyyy_mm_dd)]
        date: Option<chrono::NaiveDate>,
    },
}

/// A `--date` as every date of the service is written (2026-3-1 is refused).
fn yyyy_mm_dd(s: &str) -> Result<chrono::NaiveDate, String> {
    crate::timefmt::parse_date(s).ok_or_else(|| format!("{s}: not a date YYYY-MM-DD"))
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recompute every entry's hash and link; exit 1 naming the first bad entry on any break.
    Verify,
}

/// Parses the command line and runs it; errors are one line on standard error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => run_async(app::serve(config)),
        Command::Migrate => migrate(&config),
        Command::Seed { demo } => seed(&config, demo),
        Command::User(cmd) => crate::cli_user::run(&config, cmd),
        Command::Ledger(LedgerCommand::Verify) => return ledger_verify(&config),
        Command::Jobs(JobsCommand::List) => jobs_list(&config),
        Command::Jobs(JobsCommand::Run { name, date }) => run_async(jobs_run(config, name, date)),
        Command::CheckConfig => check_config(&config),
        Command::Generate { hazards, seed } => {
            crate::generate::run(&config, hazards, seed).map(|_| ())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = format!("{e:#}");
            eprintln!("error: {message}");
            // A setting found unusable only when used (a data folder that cannot be created)
            // stops the program as a bad value read at start does.
            if message.starts_with("config error:") {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run_async(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(fut)
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = db::build_command_pool(config)?;
    let mut conn = pool.get()?;
    let applied = db::migrate(&mut conn)?;
    if applied.is_empty() {
        crate::out!("database is up to date");
    } else {
        for v in applied {
            crate::out!("applied {v}");
        }
    }
    Ok(())
}

fn seed(config: &Config, demo: bool) -> anyhow::Result<()> {
    let pool = db::build_command_pool(config)?;
    let mut conn = pool.get()?;
    let data = crate::seeds::ReferenceData::load()?;
    let report = db::with_instance_lock(&mut conn, |conn| {
        db::migrate(conn)?;
        Ok(db::reference::seed(conn, &data)?)
    })?;
    crate::out!(
        "reference data: {} inserted, {} updated",
        report.inserted,
        report.updated
    );
    if demo {
        crate::demo::seed_demo(config, &mut conn)?;
    }
    Ok(())
}

fn ledger_verify(config: &Config) -> ExitCode {
    let result = (|| -> anyhow::Result<db::ledger::Verification> {
        let pool = db::existing_command_pool(config)?;
        let mut conn = pool.get()?;
        Ok(db::ledger::verify(&mut conn)?)
    })();
    match result {
        Ok(v) if v.ok => {
            crate::out!("ledger OK: {} entries, head {}", v.entries, v.head);
            ExitCode::SUCCESS
        }
        Ok(v) => {
            crate::out!(
                "ledger BROKEN at entry {}: {}",
                v.first_bad.unwrap_or_default(),
                v.reason.unwrap_or_default()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn jobs_list(config: &Config) -> anyhow::Result<()> {
    let clock = crate::clock::Clock::from_config(config)?;
    let tz = clock.tz();
    let schedules = config.jobs.schedule.entries();
    crate::out!(
        "scheduled jobs {} in this instance (jobs.enabled)",
        if config.jobs.enabled {
            "run"
        } else {
            "do not run"
        }
    );
    for (name, what) in crate::jobs::JOBS {
        match schedules.iter().find(|(n, _)| *n == name) {
            Some((_, expr)) => {
                let next = crate::jobs::parse_schedule(expr)
                    .ok()
                    .and_then(|s| crate::jobs::next_after(&s, tz, clock.now()))
                    .map(|t| t.with_timezone(&tz).to_rfc3339())
                    .unwrap_or_default();
                crate::out!("{name:<22} {expr:<20} next {next:<26} {what}");
            }
            None => crate::out!("{name:<22} {:<20} {:<31} {what}", "(on demand)", ""),
        }
    }
    for rule in crate::domain::escalation::Rule::ALL {
        let c = rule.config(&config.escalation);
        crate::out!(
            "{:<22} offsets {:?} {} {}",
            rule.as_str(),
            c.offsets,
            if c.enabled { "" } else { "(disabled)" },
            rule.title()
        );
    }
    Ok(())
}

async fn jobs_run(
    config: Config,
    name: String,
    date: Option<chrono::NaiveDate>,
) -> anyhow::Result<()> {
    let config = std::sync::Arc::new(config);
    let c = config.clone();
    let pool = tokio::task::spawn_blocking(move || -> anyhow::Result<db::Pool> {
        let pool = db::existing_command_pool(&c)?;
        let mut conn = pool.get()?;
        app::prepare_database(&mut conn)?;
        drop(conn);
        Ok(pool)
    })
    .await??;
    let clock = crate::clock::Clock::from_config(&config)?;
    let ctx = crate::jobs::JobContext::new(pool, clock, config)?;
    let run = crate::jobs::run(&ctx, &name, date, "cli")
        .await
        .map_err(|e| match crate::jobs::JobKind::parse(&name) {
            None => anyhow::anyhow!(
                "no job named \"{name}\"; one of {}",
                crate::jobs::job_names().join(", ")
            ),
            Some(_) => anyhow::anyhow!("job {name}: {e}"),
        })?;
    crate::out!("{}", serde_json::to_string_pretty(&run)?);
    Ok(())
}

fn check_config(config: &Config) -> anyhow::Result<()> {
    // The folders `serve` creates at start: one that cannot be made fails here as it would
    // there (checked without making them, so that no folder is left owned by whoever ran this).
    db::check_dir_creatable(&config.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "config error: data_dir: cannot create folder {}: {e}",
            config.data_dir.display()
        )
    })?;
    if let crate::config::DatabaseTarget::Sqlite(path) = config.database_target()?
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        db::check_dir_creatable(dir).map_err(|e| {
            anyhow::anyhow!(
                "config error: database.url: cannot create folder {}: {e}",
                dir.display()
            )
        })?;
    }
    let mut shown = config.clone();
    shown.database.url = db::redact(&shown.database.url);
    crate::out!("{shown:#?}");
    let today = crate::clock::Clock::from_config(config)?.today();
    let calendar = crate::app::load_calendar(config, today)?;
    let years: Vec<String> = calendar.years().map(|y| y.to_string()).collect();
    crate::out!("holiday calendar: {}", years.join(", "));
    for gap in crate::app::config_gaps(config) {
        crate::out!("note: {gap}");
    }
    crate::out!("config OK");
    Ok(())
}
