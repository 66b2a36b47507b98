//! The application: shared state, the middleware stack, and starting and stopping the server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::web;
use actix_web::{App, HttpServer};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::{IntGauge, Registry};

use crate::api::Routes;
use crate::auth::{AuthServices, Hasher, LoginLimiter, TokenKeys};
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, DbConn, Pool};
use crate::domain::calendar::WorkCalendar;
use crate::error::{self, AppResult};
use crate::http::middleware;
use crate::seeds::ReferenceData;
use crate::storage::{BlobStore, LocalStore, S3Store};

/// State shared by every worker.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: Pool,
    pub clock: Clock,
    /// "sqlite" or "postgres".
    pub backend: &'static str,
    pub auth: AuthServices,
    /// Working days (State Council calendar with swapped weekends).
    pub calendar: Arc<WorkCalendar>,
    /// Attachment bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Scheduled jobs and the outbox sender.
    pub jobs: crate::jobs::JobContext,
    /// Sector → primary department, kept after the first read.
    pub sector_routes: Arc<crate::service::hazards::SectorRoutes>,
    /// Tip-off limits, the challenge key and the street names that route tips by address.
    pub tips: crate::service::tips::TipServices,
    /// SQLite: the writer thread whose batches share one COMMIT ([`AppState::write`]).
    pub writer: Option<db::group_commit::GroupCommit>,
}

/// Settings left empty that make a DESIGN rule reach fewer people than it names.
pub fn config_gaps(config: &Config) -> Vec<String> {
    let mut gaps = Vec::new();
    if config.escalation.department_leaders.is_empty() {
        gaps.push(
            "escalation.department_leaders is empty: the +7 overdue step (overdue_second) reaches \
             the district office only, not the departments' leaders"
                .to_string(),
        );
    }
    // Several instances share one PostgreSQL database; a session is signed by one and checked
    // by any, so they must share the secret — each would make its own file otherwise.
    if config.auth.jwt_secret.is_none()
        && config.database_target().ok().map(|t| t.backend()) == Some("postgres")
    {
        gaps.push(
            "auth.jwt_secret is not set: this instance signs sessions with its own \
             DATA_DIR/jwt-secret; instances sharing this PostgreSQL database must share one \
             secret (HAZARD_LEDGER__AUTH__JWT_SECRET), or a session of one is refused by the others"
                .to_string(),
        );
    }
    // Email links follow server.public_url, which does not follow server.listen.
    let defaults = Config::defaults();
    if config.server.public_url == defaults.server.public_url
        && config.server.listen != defaults.server.listen
    {
        gaps.push(format!(
            "server.public_url is still {} while the service listens on {}: links in emails point \
             there; set server.public_url to the address people open",
            config.server.public_url, config.server.listen
        ));
    }
    gaps
}

/// The working-day calendar: the built-in State Council arrangements, with the years of
/// `clock.holidays_file` (if set) replacing or adding to them. Warns when this year or the next
/// has no data: working days there count Monday–Friday only.
pub fn load_calendar(config: &Config, today: chrono::NaiveDate) -> anyhow::Result<WorkCalendar> {
    let mut calendar = WorkCalendar::from_json(ReferenceData::holidays_json())
        .map_err(|e| anyhow::anyhow!("holiday calendar: {e}"))?;
    if let Some(path) = &config.clock.holidays_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("clock.holidays_file {}: {e}", path.display()))?;
        let extra = WorkCalendar::from_json(&text)
            .map_err(|e| anyhow::anyhow!("clock.holidays_file {}: {e}", path.display()))?;
        calendar = calendar
            .merged(extra)
            .map_err(|e| anyhow::anyhow!("clock.holidays_file {}: {e}", path.display()))?;
    }
    let this_year = chrono::Datelike::year(&today);
    for year in [this_year, this_year + 1] {
        if !calendar.years().any(|y| y == year) {
            tracing::warn!(
                year,
                "the holiday calendar has no State Council arrangement for {year}: its working \
                 days count Monday–Friday only; set clock.holidays_file"
            );
        }
    }
    Ok(calendar)
}

impl AppState {
    /// Builds the state from a validated config and an open pool.
    pub fn new(config: Config, pool: Pool) -> anyhow::Result<Self> {
        let clock = Clock::from_config(&config)?;
        let backend = config.database_target()?.backend();
        let secret = crate::auth::token::load_secret(&config)?;
        let auth = AuthServices {
            keys: TokenKeys::from_secret(secret.as_bytes())?,
            hasher: Hasher::new(&config.auth)?,
            limiter: LoginLimiter::new(&config.auth),
        };
        let calendar = load_calendar(&config, clock.today())?;
        for gap in config_gaps(&config) {
            tracing::warn!("{gap}");
        }
        let blobs: Arc<dyn BlobStore> = match config.attachments.store.as_str() {
            "s3" => Arc::new(S3Store::new(&config.attachments)?),
            _ => Arc::new(LocalStore::new(config.data_dir.join("attachments"))),
        };
        let tips = crate::service::tips::TipServices::new(&config, secret.as_bytes())?;
        let writer = db::start_group_commit(&config)?;
        let config = Arc::new(config);
        let jobs = crate::jobs::JobContext::new(pool.clone(), clock.clone(), config.clone())?;
        Ok(Self {
            config,
            jobs,
            pool,
            clock,
            backend,
            auth,
            calendar: Arc::new(calendar),
            blobs,
            sector_routes: Arc::default(),
            tips,
            writer,
        })
    }

    /// Runs blocking database work on the blocking pool; the connection never crosses an `.await`.
    pub async fn db<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            let result = f(&mut conn);
            if result.is_ok() {
                conn.answered();
            }
            result
        })
        .await?
    }

    /// Runs database work that writes, in a write transaction of its own ([`db::write_tx`]
    /// inside `f`): on SQLite on the group-commit writer, where it shares the `COMMIT` of the
    /// writes queued beside it; otherwise as [`AppState::db`].
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.run(f).await,
            None => self.db(f).await,
        }
    }
}

/// Pool gauges exported at /metrics.
#[derive(Clone)]
struct PoolGauges {
    connections: IntGauge,
    idle: IntGauge,
    max: IntGauge,
}

impl PoolGauges {
    fn register(registry: &Registry) -> anyhow::Result<Self> {
        let g = Self {
            connections: IntGauge::new(
                "hazard_ledger_db_pool_connections",
                "Open database connections in the pool",
            )?,
            idle: IntGauge::new("hazard_ledger_db_pool_idle", "Idle database connections")?,
            max: IntGauge::new("hazard_ledger_db_pool_max", "Pool size limit")?,
        };
        registry.register(Box::new(g.connections.clone()))?;
        registry.register(Box::new(g.idle.clone()))?;
        registry.register(Box::new(g.max.clone()))?;
        Ok(g)
    }

    fn refresh(&self, pool: &Pool) {
        let s = pool.state();
        self.connections.set(i64::from(s.connections));
        self.idle.set(i64::from(s.idle_connections));
        self.max.set(i64::from(pool.max_size()));
    }
}

/// How [`start`] prepares and extends the app.
#[derive(Default, Clone, Copy)]
pub struct StartOptions {
    /// Skip migrating and seeding (readiness tests against an unprepared database).
    pub skip_prepare: bool,
    /// Extra routes (tests register handlers that block or panic).
    pub extra_routes: Option<fn(&mut Routes)>,
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    pub state: AppState,
    pub server: Server,
    pub scheduler: crate::jobs::Scheduler,
}

/// Migrates and seeds the database (under the cross-instance lock on PostgreSQL).
pub fn prepare_database(conn: &mut DbConn) -> anyhow::Result<()> {
    db::with_instance_lock(conn, |conn| {
        let applied = db::migrate(conn)?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        let report = db::reference::seed(conn, &ReferenceData::load()?)?;
        if report.inserted + report.updated > 0 {
            tracing::info!(
                inserted = report.inserted,
                updated = report.updated,
                "reference data seeded"
            );
        }
        Ok(())
    })
}

/// Opens the database, prepares it, binds the listener and builds the server (not yet polled).
pub async fn start(config: Config, options: StartOptions) -> anyhow::Result<Running> {
    db::create_private_dir(&config.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "config error: data_dir: cannot create folder {}: {e}",
            config.data_dir.display()
        )
    })?;
    let pool = if options.skip_prepare {
        db::build_pool_lazy(&config)?
    } else {
        let config = config.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<Pool> {
            let pool = db::build_pool(&config)?;
            let mut conn = pool.get()?;
            prepare_database(&mut conn)?;
            Ok(pool)
        })
        .await??
    };
    let state = AppState::new(config, pool)?;
    if !options.skip_prepare {
        let st = state.clone();
        tokio::task::spawn_blocking(move || crate::auth::bootstrap::first_admin(&st)).await??;
    }
    if state.clock.is_pinned() {
        tracing::warn!(now = %state.clock.now_local().to_rfc3339(), "clock.now is set: the clock is pinned");
    }
    let listener = TcpListener::bind(state.config.listen_addr()?)
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", state.config.server.listen))?;
    let addr = listener.local_addr()?;

    let registry = Registry::new();
    let gauges = PoolGauges::register(&registry)?;
    let metrics = PrometheusMetricsBuilder::new("hazard_ledger")
        .registry(registry)
        .endpoint("/metrics")
        .mask_unmatched_patterns("UNKNOWN")
        .build()
        .map_err(|e| anyhow::anyhow!("metrics: {e}"))?;

    let workers = match state.config.server.workers {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        n => n,
    };
    let shutdown = state.config.server.shutdown_timeout_secs;
    let app_state = state.clone();
    let server = HttpServer::new(move || {
        build_app(
            app_state.clone(),
            metrics.clone(),
            gauges.clone(),
            options.extra_routes,
        )
    })
    .workers(workers)
    .shutdown_timeout(shutdown)
    .client_request_timeout(Duration::from_secs(30))
    .listen(listener)?
    .run();
    let scheduler = crate::jobs::spawn_scheduler(state.jobs.clone())?;
    tracing::info!(%addr, backend = state.backend, jobs = scheduler.len(), "listening");
    Ok(Running {
        addr,
        handle: server.handle(),
        state,
        server,
        scheduler,
    })
}

/// The app of one worker: state, extractor configs, routes and the middleware stack.
fn build_app(
    state: AppState,
    metrics: PrometheusMetrics,
    gauges: PoolGauges,
    extra_routes: Option<fn(&mut Routes)>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json_limit = state.config.server.json_limit_bytes;
    let pool = state.pool.clone();
    App::new()
        .app_data(web::Data::new(state))
        // JSON bodies are read as bytes within this limit (`http::json::Json`).
        .app_data(web::PayloadConfig::new(json_limit))
        // The pages' forms too: a 重大 report with its plan runs to several thousand characters
        // (actix's default form limit, 16 KiB, refused ~1,800 Chinese characters).
        .app_data(web::FormConfig::default().limit(json_limit))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .configure(|cfg| {
            let mut routes = Routes::default();
            if let Some(extra) = extra_routes {
                extra(&mut routes);
            }
            routes.register(cfg);
            crate::api::routes().register(cfg);
        })
        .configure(crate::web::configure)
        .service(crate::api::docs::swagger_ui())
        .default_service(web::to(error::route_not_found))
        // Innermost first: error rendering, metrics, pool gauges, HEAD as GET, request
        // context, headers.
        // (Panics are caught per resource, see `Routes::register`.)
        .wrap(ErrorHandlers::new().default_handler(error::render_any_error))
        .wrap(metrics)
        .wrap(from_fn(
            move |req: actix_web::dev::ServiceRequest, next: actix_web::middleware::Next<_>| {
                if req.path() == "/metrics" {
                    gauges.refresh(&pool);
                }
                next.call(req)
            },
        ))
        .wrap(from_fn(middleware::head_as_get))
        .wrap(from_fn(middleware::request_context))
        .wrap(middleware::security_headers())
}

/// Runs `serve`: start, then wait until SIGTERM/SIGINT has drained in-flight requests.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let running = start(config, StartOptions::default()).await?;
    let within = Duration::from_secs(running.state.config.server.shutdown_timeout_secs);
    running.server.await?;
    // The jobs stop after the requests: a run under way finishes (its email in hand marked
    // sent, its run recorded), within a grace period as long again.
    running.scheduler.stop(within).await;
    tracing::info!("server stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Config, config_gaps};

    #[test]
    fn instances_on_postgresql_must_share_the_session_secret() {
        let secret_gap = |c: &Config| config_gaps(c).iter().any(|g| g.contains("auth.jwt_secret"));
        let mut c = Config::defaults();
        assert!(!secret_gap(&c), "SQLite: one instance, its own file");
        c.database.url = "postgres://hl@db.example.org/hazard_ledger".into();
        assert!(secret_gap(&c));
        c.auth.jwt_secret = Some("a-secret-shared-by-every-instance-0123456789".into());
        assert!(!secret_gap(&c));
    }
}
