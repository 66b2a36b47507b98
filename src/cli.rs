//! The command line: `serve` (default), `migrate`, `seed`, `check-config`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::{app, db, telemetry};

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
    Seed,
    /// Validate the configuration, print the effective values (passwords hidden) and exit.
    CheckConfig,
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
        Command::Seed => seed(&config),
        Command::CheckConfig => check_config(&config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_async(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    actix_web::rt::System::new().block_on(fut)
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = db::build_pool(config)?;
    let mut conn = pool.get()?;
    let applied = db::migrate(&mut conn)?;
    if applied.is_empty() {
        println!("database is up to date");
    } else {
        for v in applied {
            println!("applied {v}");
        }
    }
    Ok(())
}

fn seed(config: &Config) -> anyhow::Result<()> {
    let pool = db::build_pool(config)?;
    let mut conn = pool.get()?;
    let data = crate::seeds::ReferenceData::load()?;
    let report = db::with_instance_lock(&mut conn, |conn| {
        db::migrate(conn)?;
        Ok(db::reference::seed(conn, &data)?)
    })?;
    println!(
        "reference data: {} inserted, {} updated",
        report.inserted, report.updated
    );
    Ok(())
}

fn check_config(config: &Config) -> anyhow::Result<()> {
    let mut shown = config.clone();
    shown.database.url = db::redact(&shown.database.url);
    println!("{shown:#?}");
    println!("config OK");
    Ok(())
}
