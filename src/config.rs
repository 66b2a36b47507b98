//! Typed configuration: `config/default.toml` (compiled in), an optional file, then
//! `HAZARD_LEDGER__SECTION__KEY` environment variables, validated once at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset};
use chrono_tz::Tz;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;

/// The defaults, with one comment line per key; also the file operators copy.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Environment variable naming an optional config file.
pub const CONFIG_ENV: &str = "HAZARD_LEDGER_CONFIG";

/// Prefix of environment overrides (`HAZARD_LEDGER__SERVER__LISTEN`).
pub const ENV_PREFIX: &str = "HAZARD_LEDGER__";

/// A configuration problem, rendered as one line that names the key.
#[derive(Debug, thiserror::Error)]
#[error("config error: {key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub clock: ClockConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    /// Policy timings and switches of the hazard rules (DESIGN.md *config* values).
    pub rules: crate::domain::hazard::Policy,
    pub attachments: AttachmentsConfig,
    pub idempotency: IdempotencyConfig,
    pub jobs: JobsConfig,
    pub smtp: SmtpConfig,
    /// Reminder and escalation rules (offsets and recipients).
    pub escalation: crate::domain::escalation::EscalationRules,
    /// Public tip-offs (举报): limits, the anti-automation challenge, the verification SLA.
    pub tips: TipsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TipsConfig {
    /// Tips a client IP may file per hour (429 beyond).
    pub rate_per_ip_per_hour: u32,
    /// Status look-ups and challenges a client IP may ask for per minute (429 beyond).
    pub status_rate_per_ip_per_minute: u32,
    /// Days from receipt within which a tip is to be verified (`due_on`).
    pub verify_sla_days: i64,
    /// Minutes a challenge stays answerable.
    pub challenge_ttl_minutes: i64,
    /// Largest JSON body of a tip, and of each text part of a multipart tip, in bytes (413 beyond).
    pub max_json_bytes: usize,
    /// Most photos one tip may carry.
    pub max_photos: usize,
    /// Longest description, in characters.
    pub max_description_chars: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    /// Run the scheduled jobs in this instance.
    pub enabled: bool,
    pub schedule: JobSchedule,
}

/// Cron expressions (seconds first) of the scheduled jobs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSchedule {
    pub escalation: String,
    pub outbox: String,
    pub purge: String,
}

impl JobSchedule {
    /// (job name, expression) of every scheduled job.
    pub fn entries(&self) -> [(&'static str, &str); 3] {
        [
            ("escalation", self.escalation.as_str()),
            ("outbox", self.outbox.as_str()),
            ("purge", self.purge.as_str()),
        ]
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: String,
    pub username: String,
    pub password: String,
    pub from: String,
    pub timeout_secs: u64,
    pub max_attempts: i32,
    pub backoff_initial_secs: i64,
    pub backoff_max_secs: i64,
    pub batch_size: i64,
    pub lease_secs: i64,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &(!self.password.is_empty()).then_some("***"))
            .field("from", &self.from)
            .field("timeout_secs", &self.timeout_secs)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_initial_secs", &self.backoff_initial_secs)
            .field("backoff_max_secs", &self.backoff_max_secs)
            .field("batch_size", &self.batch_size)
            .field("lease_secs", &self.lease_secs)
            .finish()
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentsConfig {
    pub max_bytes: usize,
    pub store: String,
    pub s3_endpoint: String,
    pub s3_bucket: String,
    pub s3_region: String,
    pub s3_prefix: String,
    pub s3_access_key_id: String,
    pub s3_secret_access_key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyConfig {
    /// Hours an `Idempotency-Key` and its stored answer are kept.
    pub ttl_hours: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: String,
    pub public_url: String,
    pub workers: usize,
    pub json_limit_bytes: usize,
    pub shutdown_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    pub url: String,
    pub pool_size: u32,
    pub min_idle: u32,
    pub connect_timeout_secs: u64,
    pub busy_timeout_ms: u32,
    pub sqlite_synchronous: String,
    pub sqlite_group_commit: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    pub now: Option<String>,
    pub timezone: String,
    /// A JSON file of the State Council's holiday arrangements (the shape of
    /// `seeds/holidays-cn.json`); its years replace or add to the built-in ones.
    #[serde(default)]
    pub holidays_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
    pub format: String,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    pub jwt_secret: Option<String>,
    pub access_token_minutes: i64,
    pub session_days: i64,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub hash_concurrency: usize,
    pub password_min_length: usize,
    pub login_max_failures: i32,
    pub lockout_minutes: i64,
    pub login_rate_per_ip_per_minute: u32,
    pub login_rate_per_username_per_minute: u32,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("access_token_minutes", &self.access_token_minutes)
            .field("session_days", &self.session_days)
            .field("argon2_memory_kib", &self.argon2_memory_kib)
            .field("argon2_iterations", &self.argon2_iterations)
            .field("argon2_parallelism", &self.argon2_parallelism)
            .field("hash_concurrency", &self.hash_concurrency)
            .field("password_min_length", &self.password_min_length)
            .field("login_max_failures", &self.login_max_failures)
            .field("lockout_minutes", &self.lockout_minutes)
            .field(
                "login_rate_per_ip_per_minute",
                &self.login_rate_per_ip_per_minute,
            )
            .field(
                "login_rate_per_username_per_minute",
                &self.login_rate_per_username_per_minute,
            )
            .finish()
    }
}

impl std::fmt::Debug for AttachmentsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttachmentsConfig")
            .field("max_bytes", &self.max_bytes)
            .field("store", &self.store)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_region", &self.s3_region)
            .field("s3_prefix", &self.s3_prefix)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &(!self.s3_secret_access_key.is_empty()).then_some("***"),
            )
            .finish()
    }
}

/// Which database a URL names, decided by its scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// A SQLite file (absolute or relative to the working directory).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, passed to libpq as given.
    Postgres(String),
}

impl DatabaseTarget {
    /// Parses `sqlite://PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(rest) = url.strip_prefix("sqlite://") {
            if rest.is_empty() {
                return Err("sqlite:// URL has no file path".into());
            }
            if rest == ":memory:" || rest.starts_with("file:") {
                return Err(
                    "in-memory or URI-style SQLite is not supported; give a file path".into(),
                );
            }
            return Ok(Self::Sqlite(PathBuf::from(rest)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        Err("unsupported scheme: use sqlite://PATH, postgres:// or postgresql://".into())
    }

    /// Short backend name for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// SQLite `PRAGMA synchronous` levels we accept.
pub const SQLITE_SYNCHRONOUS: [&str; 4] = ["OFF", "NORMAL", "FULL", "EXTRA"];

impl Config {
    /// Loads defaults, then `file` (or `$HAZARD_LEDGER_CONFIG`), then the environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env_file = std::env::var_os(CONFIG_ENV).map(PathBuf::from);
        let file = file.map(Path::to_path_buf).or(env_file);
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = &file {
            if !path.is_file() {
                return Err(ConfigError::new(
                    "--config",
                    format!("file {} does not exist", path.display()),
                ));
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").lowercase(true));
        Self::from_figment(figment)
    }

    /// The compiled-in defaults alone (tests start from these).
    pub fn defaults() -> Self {
        Self::from_figment(Figment::from(Toml::string(DEFAULT_TOML)))
            .expect("config/default.toml is valid")
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let mut config: Config = figment.extract().map_err(figment_error)?;
        // Department codes are upper case; an environment variable's key reaches here lower-cased
        // (`HAZARD_LEDGER__ESCALATION__DEPARTMENT_LEADERS__YJJ` → `yjj`), and would match nothing.
        config.escalation.department_leaders =
            std::mem::take(&mut config.escalation.department_leaders)
                .into_iter()
                .map(|(code, emails)| (code.trim().to_uppercase(), emails))
                .collect();
        // No URL: the embedded SQLite file in the data folder, wherever that is.
        if config.database.url.trim().is_empty() {
            config.database.url = format!(
                "sqlite://{}",
                config.data_dir.join("hazard-ledger.db").display()
            );
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks every value that serde's types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(path) = &self.clock.holidays_file {
            // Read at start like every setting, so a bad file stops it naming the key.
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new("clock.holidays_file", format!("{}: {e}", path.display()))
            })?;
            crate::domain::calendar::WorkCalendar::from_json(&text).map_err(|e| {
                ConfigError::new("clock.holidays_file", format!("{}: {e}", path.display()))
            })?;
        }
        self.listen_addr()?;
        let url = self.server.public_url.trim_end_matches('/');
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err(ConfigError::new(
                "server.public_url",
                "must be an absolute http:// or https:// URL",
            ));
        }
        if self.server.json_limit_bytes < 1024 {
            return Err(ConfigError::new(
                "server.json_limit_bytes",
                "must be at least 1024",
            ));
        }
        self.database_target()?;
        if self.database.pool_size == 0 {
            return Err(ConfigError::new("database.pool_size", "must be at least 1"));
        }
        if self.database.min_idle > self.database.pool_size {
            return Err(ConfigError::new(
                "database.min_idle",
                "must not exceed database.pool_size",
            ));
        }
        if self.database.connect_timeout_secs == 0 {
            return Err(ConfigError::new(
                "database.connect_timeout_secs",
                "must be at least 1",
            ));
        }
        let sync = self.database.sqlite_synchronous.to_ascii_uppercase();
        if !SQLITE_SYNCHRONOUS.contains(&sync.as_str()) {
            return Err(ConfigError::new(
                "database.sqlite_synchronous",
                format!("must be one of {}", SQLITE_SYNCHRONOUS.join(", ")),
            ));
        }
        self.pinned_now()?;
        self.timezone()?;
        self.validate_auth()?;
        self.validate_rules()?;
        self.validate_jobs()?;
        self.validate_tips()?;
        if !["human", "json"].contains(&self.log.format.as_str()) {
            return Err(ConfigError::new(
                "log.format",
                "must be \"human\" or \"json\"",
            ));
        }
        // Each directive is a level, or `target=level`: a bare word that is no level (e.g.
        // "verbose") would be taken for a module name and silence every log line.
        const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
        let bare_non_level = self.log.level.split(',').map(str::trim).any(|d| {
            !d.is_empty() && !d.contains('=') && !LEVELS.contains(&d.to_ascii_lowercase().as_str())
        });
        // An empty filter (or only commas) names no level at all: nothing would be logged.
        let empty = self.log.level.split(',').all(|d| d.trim().is_empty());
        if empty
            || bare_non_level
            || tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err()
        {
            return Err(ConfigError::new(
                "log.level",
                "is not a valid filter (e.g. \"info\" or \"hazard_ledger=debug,info\")",
            ));
        }
        Ok(())
    }

    fn validate_rules(&self) -> Result<(), ConfigError> {
        let r = &self.rules;
        for (key, value) in [
            ("rules.plan_due_max_days", r.plan_due_max_days),
            ("rules.acceptance_due_days", r.acceptance_due_days),
            ("rules.congress_report_due_days", r.congress_report_due_days),
            (
                "rules.extension_window_workdays",
                i64::from(r.extension_window_workdays),
            ),
        ] {
            if value < 1 {
                return Err(ConfigError::new(key, "must be at least 1"));
            }
        }
        if r.regulator_report_max_delay_days < 0 {
            return Err(ConfigError::new(
                "rules.regulator_report_max_delay_days",
                "must be 0 or more",
            ));
        }
        if self.attachments.max_bytes < 1024 {
            return Err(ConfigError::new(
                "attachments.max_bytes",
                "must be at least 1024",
            ));
        }
        match self.attachments.store.as_str() {
            "local" => {}
            "s3" if self.attachments.s3_bucket.trim().is_empty() => {
                return Err(ConfigError::new(
                    "attachments.s3_bucket",
                    "is required with store = \"s3\"",
                ));
            }
            "s3" => {}
            _ => {
                return Err(ConfigError::new(
                    "attachments.store",
                    "must be \"local\" or \"s3\"",
                ));
            }
        }
        if !(1..=24 * 365).contains(&self.idempotency.ttl_hours) {
            return Err(ConfigError::new(
                "idempotency.ttl_hours",
                "must be between 1 and 8760",
            ));
        }
        Ok(())
    }

    fn validate_tips(&self) -> Result<(), ConfigError> {
        let t = &self.tips;
        for (key, value) in [
            (
                "tips.rate_per_ip_per_hour",
                i64::from(t.rate_per_ip_per_hour),
            ),
            (
                "tips.status_rate_per_ip_per_minute",
                i64::from(t.status_rate_per_ip_per_minute),
            ),
            ("tips.verify_sla_days", t.verify_sla_days),
            ("tips.challenge_ttl_minutes", t.challenge_ttl_minutes),
            ("tips.max_description_chars", t.max_description_chars as i64),
        ] {
            if value < 1 {
                return Err(ConfigError::new(key, "must be at least 1"));
            }
        }
        if t.verify_sla_days > 366 {
            return Err(ConfigError::new(
                "tips.verify_sla_days",
                "must be at most 366",
            ));
        }
        if t.challenge_ttl_minutes > 24 * 60 {
            return Err(ConfigError::new(
                "tips.challenge_ttl_minutes",
                "must be at most 1440",
            ));
        }
        if t.max_json_bytes < 1024 {
            return Err(ConfigError::new(
                "tips.max_json_bytes",
                "must be at least 1024",
            ));
        }
        if t.max_photos > 20 {
            return Err(ConfigError::new("tips.max_photos", "must be at most 20"));
        }
        Ok(())
    }

    fn validate_jobs(&self) -> Result<(), ConfigError> {
        let known = &crate::seeds::known_codes().departments;
        if let Some(code) = self
            .escalation
            .department_leaders
            .keys()
            .find(|code| !known.contains(code.as_str()))
        {
            let mut codes: Vec<&str> = known.iter().map(String::as_str).collect();
            codes.sort_unstable();
            return Err(ConfigError::new(
                &format!("escalation.department_leaders.{code}"),
                format!("no department with this code (one of {})", codes.join(", ")),
            ));
        }
        // "Now" as the service's clock reads it (clock.now when pinned).
        let now = self
            .pinned_now()?
            .map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
        for (name, expr) in self.jobs.schedule.entries() {
            let key = format!("jobs.schedule.{name}");
            let schedule =
                crate::jobs::parse_schedule(expr).map_err(|m| ConfigError::new(&key, m))?;
            // A date that never comes (30 February, a year gone by) would silently stop the job.
            if schedule.after(&now).next().is_none() {
                return Err(ConfigError::new(
                    &key,
                    format!("\"{expr}\" never fires from now on"),
                ));
            }
        }
        let s = &self.smtp;
        if s.host.trim().is_empty() {
            return Err(ConfigError::new("smtp.host", "must not be empty"));
        }
        if s.port == 0 {
            return Err(ConfigError::new("smtp.port", "must be 1–65535"));
        }
        if !["none", "starttls", "tls"].contains(&s.security.as_str()) {
            return Err(ConfigError::new(
                "smtp.security",
                "must be \"none\", \"starttls\" or \"tls\"",
            ));
        }
        if s.from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(ConfigError::new(
                "smtp.from",
                "is not a mailbox (e.g. \"隐患台账 <noreply@example.org>\")",
            ));
        }
        for (key, value) in [
            ("smtp.timeout_secs", s.timeout_secs as i64),
            ("smtp.max_attempts", i64::from(s.max_attempts)),
            ("smtp.backoff_initial_secs", s.backoff_initial_secs),
            ("smtp.batch_size", s.batch_size),
            ("smtp.lease_secs", s.lease_secs),
        ] {
            if value < 1 {
                return Err(ConfigError::new(key, "must be at least 1"));
            }
        }
        if s.backoff_max_secs < s.backoff_initial_secs {
            return Err(ConfigError::new(
                "smtp.backoff_max_secs",
                "must not be less than smtp.backoff_initial_secs",
            ));
        }
        self.escalation
            .validate()
            .map_err(|(key, m)| ConfigError::new(&key, m))
    }

    fn validate_auth(&self) -> Result<(), ConfigError> {
        let a = &self.auth;
        if let Some(secret) = &a.jwt_secret
            && secret.len() < 32
        {
            return Err(ConfigError::new(
                "auth.jwt_secret",
                "must be at least 32 characters (or unset to generate one)",
            ));
        }
        let positive: [(&str, i64); 6] = [
            ("auth.access_token_minutes", a.access_token_minutes),
            ("auth.session_days", a.session_days),
            ("auth.argon2_iterations", i64::from(a.argon2_iterations)),
            ("auth.argon2_parallelism", i64::from(a.argon2_parallelism)),
            ("auth.login_max_failures", i64::from(a.login_max_failures)),
            ("auth.lockout_minutes", a.lockout_minutes),
        ];
        for (key, value) in positive {
            if value < 1 {
                return Err(ConfigError::new(key, "must be at least 1"));
            }
        }
        if a.argon2_memory_kib < 8 * a.argon2_parallelism {
            return Err(ConfigError::new(
                "auth.argon2_memory_kib",
                "must be at least 8 × auth.argon2_parallelism",
            ));
        }
        if a.password_min_length < 8 {
            return Err(ConfigError::new(
                "auth.password_min_length",
                "must be at least 8",
            ));
        }
        if a.login_rate_per_ip_per_minute == 0 || a.login_rate_per_username_per_minute == 0 {
            return Err(ConfigError::new(
                "auth.login_rate_per_ip_per_minute",
                "login rates must be at least 1",
            ));
        }
        Ok(())
    }

    /// The socket address of `server.listen`.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            ConfigError::new(
                "server.listen",
                format!(
                    "\"{}\" is not HOST:PORT with an IP address",
                    self.server.listen
                ),
            )
        })
    }

    /// The database named by `database.url`.
    pub fn database_target(&self) -> Result<DatabaseTarget, ConfigError> {
        DatabaseTarget::parse(&self.database.url).map_err(|m| ConfigError::new("database.url", m))
    }

    /// `clock.now`, when the operator pinned the clock.
    pub fn pinned_now(&self) -> Result<Option<DateTime<FixedOffset>>, ConfigError> {
        match self.clock.now.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => DateTime::parse_from_rfc3339(s).map(Some).map_err(|e| {
                ConfigError::new("clock.now", format!("\"{s}\" is not RFC 3339 ({e})"))
            }),
        }
    }

    /// The time zone of dates and deadlines.
    pub fn timezone(&self) -> Result<Tz, ConfigError> {
        self.clock.timezone.parse().map_err(|_| {
            ConfigError::new(
                "clock.timezone",
                format!("\"{}\" is not an IANA time zone", self.clock.timezone),
            )
        })
    }

    /// Public base URL without a trailing slash.
    pub fn public_url(&self) -> &str {
        self.server.public_url.trim_end_matches('/')
    }
}

/// Turns figment's error into one line naming the key.
fn figment_error(error: figment::Error) -> ConfigError {
    let key = if error.path.is_empty() {
        // A file that does not parse: name the file.
        match error.metadata.as_ref().and_then(|m| m.source.as_ref()) {
            Some(figment::Source::File(path)) => path.display().to_string(),
            _ => "(config)".to_string(),
        }
    } else {
        error.path.join(".")
    };
    // The path may already end with the field (an environment variable's key does).
    let with_field = |field: &str| {
        if error.path.is_empty() {
            field.to_string()
        } else if error.path.last().map(String::as_str) == Some(field) {
            key.clone()
        } else {
            format!("{key}.{field}")
        }
    };
    let message = match &error.kind {
        figment::error::Kind::UnknownField(field, _) => {
            return ConfigError::new(&with_field(field), "unknown key");
        }
        figment::error::Kind::MissingField(field) => {
            return ConfigError::new(&with_field(field), "missing");
        }
        kind => kind.to_string(),
    };
    ConfigError::new(&key, message)
}

#[cfg(test)]
mod tests {

    #[test]
    fn department_leaders_keys_are_department_codes_whatever_their_case() {
        // An environment variable's key arrives lower-cased, as this one.
        let figment = Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(
            "[escalation.department_leaders]\nyjj = [\"leader@example.org\"]\n",
        ));
        let config = Config::from_figment(figment).unwrap();
        assert_eq!(
            config.escalation.department_leaders.get("YJJ"),
            Some(&vec!["leader@example.org".to_string()])
        );
        assert!(!config.escalation.department_leaders.contains_key("yjj"));
    }

    use super::*;

    #[test]
    fn defaults_are_valid_and_as_documented() {
        let c = Config::defaults();
        assert_eq!(c.server.listen, "127.0.0.1:8080");
        assert_eq!(c.database.url, "sqlite://data/hazard-ledger.db");
        assert_eq!(c.clock.timezone, "Asia/Shanghai");
        assert!(c.clock.now.is_none());
        assert_eq!(c.database.sqlite_synchronous, "FULL");
        assert_eq!(c.tips.verify_sla_days, 15);
    }

    #[test]
    fn job_schedules_smtp_and_rules_are_checked_naming_the_key() {
        let check = |edit: &dyn Fn(&mut Config)| {
            let mut c = Config::defaults();
            edit(&mut c);
            c.validate().unwrap_err().key
        };
        assert_eq!(
            check(&|c| c.jobs.schedule.escalation = "0 8 * * *".into()),
            "jobs.schedule.escalation",
            "five fields: seconds are required"
        );
        assert_eq!(
            check(&|c| c.jobs.schedule.outbox = "every minute".into()),
            "jobs.schedule.outbox"
        );
        // A field out of its range: one line, which names the ranges.
        let mut c = Config::defaults();
        c.jobs.schedule.escalation = "0 61 8 * * *".into();
        let e = c.validate().unwrap_err();
        assert_eq!(e.key, "jobs.schedule.escalation");
        assert!(
            !e.to_string().contains('\n') && e.to_string().contains("minutes 0-59"),
            "{e}"
        );
        for never in ["0 0 8 30 2 *", "0 0 8 * * * 2020"] {
            assert_eq!(
                check(&|c| c.jobs.schedule.escalation = never.into()),
                "jobs.schedule.escalation",
                "{never}"
            );
        }
        assert_eq!(check(&|c| c.smtp.security = "ssl".into()), "smtp.security");
        assert_eq!(
            check(&|c| c.smtp.from = "not a mailbox".into()),
            "smtp.from"
        );
        assert_eq!(check(&|c| c.smtp.max_attempts = 0), "smtp.max_attempts");
        assert_eq!(
            check(&|c| c.escalation.overdue_first.offsets = vec![1, 1]),
            "escalation.overdue_first.offsets"
        );
        assert_eq!(
            check(&|c| {
                c.escalation
                    .department_leaders
                    .insert("YJJ".into(), vec!["nobody".into()]);
            }),
            "escalation.department_leaders.YJJ"
        );
        assert_eq!(
            check(&|c| {
                c.escalation
                    .department_leaders
                    .insert("NOPE".into(), vec!["a@example.org".into()]);
            }),
            "escalation.department_leaders.NOPE"
        );
        assert!(crate::jobs::parse_schedule("0 0 8 * * Mon-Fri").is_ok());
        assert_eq!(
            check(&|c| c.attachments.store = "ftp".into()),
            "attachments.store"
        );
        assert_eq!(
            check(&|c| c.attachments.store = "s3".into()),
            "attachments.s3_bucket"
        );
        // A bare word that is no level would be read as a module name and silence the log.
        assert_eq!(check(&|c| c.log.level = "verbose".into()), "log.level");
        for silent in ["", " ", ",", " , "] {
            assert_eq!(
                check(&|c| c.log.level = silent.into()),
                "log.level",
                "{silent:?}"
            );
        }
        for fine in ["info", "WARN", "hazard_ledger=debug,info", "actix_web=warn"] {
            let mut c = Config::defaults();
            c.log.level = fine.into();
            assert!(c.validate().is_ok(), "{fine}");
        }
    }

    #[test]
    fn database_targets_by_scheme() {
        assert_eq!(
            DatabaseTarget::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseTarget::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            DatabaseTarget::parse("postgresql://u@h/db").unwrap(),
            DatabaseTarget::Postgres(_)
        ));
        assert!(DatabaseTarget::parse("mysql://h/db").is_err());
        assert!(DatabaseTarget::parse("sqlite:foo.db").is_err());
        assert!(DatabaseTarget::parse("sqlite://").is_err());
    }
}
