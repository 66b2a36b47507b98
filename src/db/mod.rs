//! Storage: one diesel `MultiConnection` over SQLite and PostgreSQL, its pool, and migrations.
//! Backend-specific SQL lives here and nowhere else.
//!
//! A lookup by a unique key reads its row with `get_result`, not `first`: `first` adds
//! `LIMIT ?`, and SQLite (3.4x) expires a prepared statement whose `LIMIT` is a parameter each
//! time the parameter is bound, so the cached statement is parsed and planned again on every
//! execution (most of the cost of the session check and of an action's scoped read). A key
//! matches at most one row, so the limit adds nothing.

/// Runs `$body` with `$c` bound to the backend's own connection (`SqliteConnection` or
/// `PgConnection`). Through the `DbConn` enum diesel writes out a statement's whole SQL text
/// twice on every execution (to find it in the statement cache, then to bind it), even when its
/// type identifies it; on the backend's own connection a statement whose type identifies it
/// (no `into_boxed`, no `sql_query`) is found by its type, and nothing is written out. The
/// write path's statements run here; `$body` is compiled once per backend.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Pg($c) => $body,
        }
    };
}

/// A multi-row INSERT of `rows` into `table`: diesel builds batch inserts for each backend's
/// own connection, not through the `MultiConnection` enum, so this dispatches.
#[macro_export]
macro_rules! insert_many {
    ($conn:expr, $table:expr, $rows:expr) => {
        $crate::on_backend!($conn, |c| diesel::insert_into($table)
            .values($rows)
            .execute(c))
    };
}

pub mod attachments;
pub mod dashboard;
pub mod enterprises;
pub mod fixed_sql;
pub mod flags;
pub mod group_commit;
pub mod hazard_query;
pub mod hazards;
pub mod idempotency;
pub mod jobs;
pub mod ledger;
pub mod listings;
pub mod models;
pub mod outbox;
pub mod reference;
pub mod schema;
pub mod search;
pub mod tips;
pub mod users;

use std::path::Path;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::{Config, DatabaseTarget};

/// Migrations of each backend, compiled into the binary.
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
/// See [`SQLITE_MIGRATIONS`].
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock that serialises migrations and seeding across instances.
const MIGRATION_LOCK_KEY: i64 = 0x4841_5a41_5244; // "HAZARD"

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// The connection pool shared by the HTTP workers, jobs and commands.
pub type Pool = r2d2::Pool<Manager>;
/// A connection checked out of the [`Pool`].
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// How long after a successful use a pooled connection is handed out again without the
/// `SELECT 1` check (one round trip per request on PostgreSQL).
const ANSWERED_RECENTLY: Duration = Duration::from_secs(1);

/// A pooled connection, and when it last did its work without an error.
pub struct PoolConn {
    conn: DbConn,
    answered: Option<Instant>,
}

impl PoolConn {
    /// Marks the work just done on this connection as successful: checked out again within
    /// [`ANSWERED_RECENTLY`], it is not checked first. Only callers that see every error of
    /// their work mark it ([`crate::app::AppState::db`]); any other use leaves it unmarked.
    pub fn answered(&mut self) {
        self.answered = Some(Instant::now());
    }
}

impl std::ops::Deref for PoolConn {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for PoolConn {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// Why a connection could not be opened or prepared.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
}

/// An r2d2 manager that picks the backend from the URL and reports the real connection error.
#[derive(Debug, Clone)]
pub struct Manager {
    target: DatabaseTarget,
    busy_timeout_ms: u32,
    synchronous: String,
}

impl Manager {
    /// A manager for `target`, with SQLite settings from the config.
    pub fn new(target: DatabaseTarget, config: &Config) -> Self {
        Self {
            target,
            busy_timeout_ms: config.database.busy_timeout_ms,
            synchronous: config.database.sqlite_synchronous.to_ascii_uppercase(),
        }
    }

    /// Opens a connection to the target, with the per-connection settings of SQLite.
    fn open(&self) -> Result<DbConn, ConnectError> {
        match &self.target {
            DatabaseTarget::Sqlite(path) => {
                let path = path.to_str().ok_or_else(|| {
                    diesel::ConnectionError::BadConnection("SQLite path is not UTF-8".into())
                })?;
                let mut conn = SqliteConnection::establish(path)?;
                // busy_timeout first, so that the others wait instead of failing on a lock.
                // temp_store: the statement journals of savepoints and the sorters' temporary
                // b-trees stay in memory; on file, SQLite created and deleted a file in /var/tmp
                // for about every other write request.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
                     PRAGMA temp_store = MEMORY;",
                    self.busy_timeout_ms, self.synchronous
                ))?;
                Ok(DbConn::Sqlite(conn))
            }
            DatabaseTarget::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                // JIT compiles any query the planner thinks expensive: a list page whose
                // ordered index scan stops after 51 rows is costed as if it read them all, and
                // paid ~140 ms of compiling for a query of a few milliseconds.
                conn.batch_execute("SET jit = off")?;
                Ok(DbConn::Pg(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PoolConn;
    type Error = ConnectError;

    fn connect(&self) -> Result<PoolConn, ConnectError> {
        Ok(PoolConn {
            conn: self.open()?,
            answered: None,
        })
    }

    /// `SELECT 1`, unless the connection's last work succeeded moments ago: a connection
    /// that has just answered is not asked again (each mark serves one checkout).
    fn is_valid(&self, conn: &mut PoolConn) -> Result<(), ConnectError> {
        if conn
            .answered
            .take()
            .is_some_and(|at| at.elapsed() < ANSWERED_RECENTLY)
        {
            return Ok(());
        }
        conn.conn.batch_execute("SELECT 1")?;
        Ok(())
    }

    /// A connection given back while its thread unwinds, or with a transaction still open or
    /// broken (work that panicked inside [`write_tx`]), is closed rather than reused: its next
    /// user's `BEGIN` would be a savepoint and its `COMMIT` would commit nothing.
    fn has_broken(&self, conn: &mut PoolConn) -> bool {
        std::thread::panicking() || transaction_depth(&mut conn.conn) != Ok(0)
    }
}

/// How many transactions and savepoints diesel has open on `conn`; an error when its
/// transaction state is broken (a `COMMIT` or `ROLLBACK` that failed).
pub fn transaction_depth(conn: &mut DbConn) -> QueryResult<u32> {
    Ok(
        <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
            .transaction_depth()?
            .map_or(0, std::num::NonZeroU32::get),
    )
}

/// Creates the folder and the file of a SQLite database (an error if they cannot be created),
/// then the pool.
pub fn build_pool(config: &Config) -> anyhow::Result<Pool> {
    let target = config.database_target()?;
    if let DatabaseTarget::Sqlite(path) = &target {
        prepare_sqlite_file(path)?;
    }
    let pool = r2d2::Pool::builder()
        .max_size(config.database.pool_size)
        .min_idle(Some(config.database.min_idle))
        .connection_timeout(Duration::from_secs(config.database.connect_timeout_secs))
        .build(Manager::new(target, config))
        .map_err(|e| {
            anyhow::anyhow!("cannot open database {}: {e}", redact(&config.database.url))
        })?;
    Ok(pool)
}

/// The pool of a one-shot command (`migrate`, `seed`, `ledger verify`, `jobs run`, …): opened
/// and checked like [`build_pool`], but it keeps no idle connection in reserve. A reserve is
/// refilled by r2d2's own threads after the first checkout, and a command that exits while one
/// of them is still opening a PostgreSQL connection (TLS over loopback by default) could crash
/// in the TLS library's exit handlers: `ledger verify` was seen ending with SIGSEGV instead of
/// its exit code.
pub fn build_command_pool(config: &Config) -> anyhow::Result<Pool> {
    let target = config.database_target()?;
    if let DatabaseTarget::Sqlite(path) = &target {
        prepare_sqlite_file(path)?;
    }
    let pool = r2d2::Pool::builder()
        .max_size(config.database.pool_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(config.database.connect_timeout_secs))
        .build_unchecked(Manager::new(target, config));
    // Fail now, as `build_pool` does, when the database cannot be opened.
    pool.get().map_err(|e| {
        anyhow::anyhow!("cannot open database {}: {e}", redact(&config.database.url))
    })?;
    Ok(pool)
}

/// [`build_command_pool`] for a command that works on the service's data (`ledger verify`,
/// `jobs run`): an embedded SQLite file that does not exist is an error, not a new
/// empty database — run from the wrong folder, such a command would create one, and report an
/// empty ledger as verified.
pub fn existing_command_pool(config: &Config) -> anyhow::Result<Pool> {
    if let DatabaseTarget::Sqlite(path) = config.database_target()?
        && !path.exists()
    {
        anyhow::bail!(
            "no database at {}: start the service or run `hazard-ledger migrate` first, or point \
             data_dir (or database.url) at the existing one",
            path.display()
        );
    }
    build_command_pool(config)
}

/// The group-commit writer of a SQLite database (`database.sqlite_group_commit`), with a
/// connection of its own; `None` on PostgreSQL, whose transactions commit side by side.
pub fn start_group_commit(config: &Config) -> anyhow::Result<Option<group_commit::GroupCommit>> {
    let target = config.database_target()?;
    if !matches!(target, DatabaseTarget::Sqlite(_)) || !config.database.sqlite_group_commit {
        return Ok(None);
    }
    let manager = Manager::new(target, config);
    let connect = move || manager.open().map_err(|e| e.to_string());
    Ok(Some(group_commit::GroupCommit::start(
        connect,
        group_commit::Limits::default(),
    )?))
}

/// A pool that opens no connection until asked (readiness checks against a database that may be down).
pub fn build_pool_lazy(config: &Config) -> anyhow::Result<Pool> {
    let target = config.database_target()?;
    Ok(r2d2::Pool::builder()
        .max_size(config.database.pool_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(config.database.connect_timeout_secs))
        .build_unchecked(Manager::new(target, config)))
}

/// Creates the folder of a SQLite file, and the file itself (empty: SQLite takes an empty file
/// for a new database) readable by the service's user only — SQLite would create it readable
/// by all in a folder that already exists (a container's volume), and gives its `-wal` and
/// `-shm` files the database file's mode.
fn prepare_sqlite_file(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir).map_err(|e| {
            anyhow::anyhow!(
                "config error: database.url: cannot create folder {}: {e}",
                dir.display()
            )
        })?;
    }
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "config error: database.url: cannot create {}: {e}",
            path.display()
        )),
    }
}

/// Creates `dir` (and its missing parents) readable by the service's user only: the database
/// holds password hashes and tip-off reporters' contacts, and SQLite creates its files readable
/// by all. A folder that exists keeps its mode (the operator's choice).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Whether [`create_private_dir`] could make `dir`, without making it: the folder, or its
/// nearest existing parent, is a folder this user can write in (a probe folder is made and
/// removed at once). For `check-config`, which must not leave a folder owned by whoever ran it.
pub fn check_dir_creatable(dir: &Path) -> std::io::Result<()> {
    let mut at = dir;
    while !at.exists() {
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => {
                at = Path::new(".");
                break;
            }
        }
    }
    if !at.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is not a folder",
            at.display()
        )));
    }
    let probe = at.join(format!(".hazard-ledger-check-{}", std::process::id()));
    std::fs::create_dir(&probe)?;
    std::fs::remove_dir(&probe)
}

/// The URL with any password replaced, for logs and errors.
pub fn redact(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &base[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &base[..s + 3], &creds[..c], &base[at..]),
                None => base.to_string(),
            }
        }
        _ => base.to_string(),
    };
    // libpq also takes the password (and key passphrases) as query parameters.
    let Some(query) = query else {
        return base;
    };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") || k.contains("pass") => {
                format!("{k}=***")
            }
            _ => p.to_string(),
        })
        .collect();
    format!("{base}?{}", params.join("&"))
}

/// Runs pending migrations; on PostgreSQL under an advisory lock so instances never race.
/// Returns the versions applied. A database a newer version of the service has migrated is an
/// error: this binary would write without the newer columns (`serve`, `migrate` and every
/// command that opens the database stop here; a running instance answers `/readyz` 503).
pub fn migrate(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    with_instance_lock(conn, |conn| {
        let applied = match conn {
            DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
            DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<String>>();
        let unknown = schema_state(conn)?.unknown;
        if !unknown.is_empty() {
            anyhow::bail!(
                "the database was migrated by a newer version of hazard-ledger (migrations {} are \
                 not in this one): run that version; this one would write without its columns",
                unknown.join(", ")
            );
        }
        Ok(applied)
    })
}

/// Runs `f` while holding the cross-instance lock: a PostgreSQL session advisory lock; on
/// SQLite nothing is needed because writers serialise on the file.
pub fn with_instance_lock<T>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")).execute(c)?;
    }
    let result = f(conn);
    if let DbConn::Pg(c) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(c)?;
    }
    result
}

/// The database's migrations against this binary's, read once.
#[derive(Debug)]
pub struct SchemaState {
    /// Migrations of this binary not yet applied.
    pub pending: bool,
    /// Migrations applied that this binary does not carry: a newer version of the service has
    /// migrated the database, and this one should not serve writes against a schema it does not
    /// know (its writes would leave the newer columns unset).
    pub unknown: Vec<String>,
}

/// (applied, carried) migration versions over one backend's connection.
fn versions<DB, C>(
    c: &mut C,
    source: &EmbeddedMigrations,
) -> anyhow::Result<(Vec<String>, Vec<String>)>
where
    DB: diesel::backend::Backend,
    C: MigrationHarness<DB>,
    EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    let err = |e: Box<dyn std::error::Error + Send + Sync>| anyhow::anyhow!("{e}");
    let applied = c.applied_migrations().map_err(err)?;
    let carried = diesel::migration::MigrationSource::<DB>::migrations(source).map_err(err)?;
    Ok((
        applied.iter().map(ToString::to_string).collect(),
        carried
            .iter()
            .map(|m| m.name().version().to_string())
            .collect(),
    ))
}

/// Compares the database's applied migrations with this binary's.
pub fn schema_state(conn: &mut DbConn) -> anyhow::Result<SchemaState> {
    let (applied, carried) = match conn {
        DbConn::Sqlite(c) => versions(c, &SQLITE_MIGRATIONS)?,
        DbConn::Pg(c) => versions(c, &POSTGRES_MIGRATIONS)?,
    };
    Ok(SchemaState {
        pending: carried.iter().any(|v| !applied.contains(v)),
        unknown: applied
            .into_iter()
            .filter(|v| !carried.contains(v))
            .collect(),
    })
}

/// Whether every embedded migration has been applied.
pub fn migrations_current(conn: &mut DbConn) -> anyhow::Result<bool> {
    Ok(!schema_state(conn)?.pending)
}

/// Reverts every migration (tests prove each down.sql undoes its up.sql).
pub fn revert_all(conn: &mut DbConn) -> anyhow::Result<usize> {
    let reverted = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS),
        DbConn::Pg(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(reverted.len())
}

/// A write transaction: `BEGIN IMMEDIATE` on SQLite (so a read-then-write never deadlocks on
/// the lock upgrade), a plain transaction on PostgreSQL. Commits on `Ok`, rolls back on `Err`.
/// Inside another write transaction on this thread (a job of a SQLite group commit
/// ([`group_commit`]) runs inside its batch's) this is a savepoint of that one, on the same
/// connection. Ledger entries appended inside are written just before the outermost `COMMIT`
/// ([`ledger::Deferred`]).
pub fn write_tx<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let _turn = match conn {
        DbConn::Sqlite(_) if ledger::in_write_tx() => {
            <DbConn as Connection>::TransactionManager::begin_transaction(conn)?;
            None
        }
        DbConn::Sqlite(c) => {
            let turn = sqlite_write_turn();
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            turn
        }
        DbConn::Pg(c) => {
            AnsiTransactionManager::begin_transaction(c)?;
            None
        }
    };
    let deferred = ledger::Deferred::open();
    let done = f(conn).and_then(|value| {
        ledger::append_now(conn, deferred.finish())?;
        Ok(value)
    });
    match done {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // The original error matters more than a failed rollback.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Waits for this process's turn to write to SQLite (see [`SQLITE_WRITERS`]); `None` after
/// [`GATE_WAIT`], when SQLite's own `busy_timeout` takes over.
fn sqlite_write_turn() -> Option<Turn> {
    SQLITE_WRITERS.enter(GATE_WAIT)
}

/// The SQLite write transactions of this process take turns here before `BEGIN IMMEDIATE`.
/// SQLite's own busy handler sleeps and polls (1, 2, 5, 10 … ms) while another connection holds
/// the write lock, which leaves the database idle between short transactions; a writer waiting
/// here is woken as soon as the previous one has finished. Other processes on the same file
/// still meet `busy_timeout`, and so does a writer that has waited [`GATE_WAIT`] here.
static SQLITE_WRITERS: WriteGate = WriteGate {
    busy: Mutex::new(false),
    freed: Condvar::new(),
};

/// The longest a writer waits for its turn before it asks SQLite directly (the default
/// `busy_timeout`).
const GATE_WAIT: Duration = Duration::from_secs(5);

struct WriteGate {
    busy: Mutex<bool>,
    freed: Condvar,
}

impl WriteGate {
    /// Waits for the turn; `None` after `wait` without it.
    fn enter(&'static self, wait: Duration) -> Option<Turn> {
        let deadline = Instant::now() + wait;
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        while *busy {
            let left = deadline.checked_duration_since(Instant::now())?;
            busy = self
                .freed
                .wait_timeout(busy, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *busy = true;
        Some(Turn(self))
    }
}

/// A writer's turn; passes it on when dropped (after commit or rollback).
struct Turn(&'static WriteGate);

impl Drop for Turn {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn database_urls_are_shown_without_passwords() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/hl?sslmode=require"),
            "postgres://app:***@db:5432/hl?sslmode=require"
        );
        assert_eq!(
            redact("postgres://app@db/hl?password=s3cret&sslmode=disable"),
            "postgres://app@db/hl?password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://db/hl"), "postgres://db/hl");
    }

    use std::panic::{AssertUnwindSafe, catch_unwind};

    use diesel::sql_types::{BigInt, Integer};

    use super::*;

    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn insert(c: &mut DbConn, n: i32) -> QueryResult<()> {
        diesel::sql_query("INSERT INTO t (n) VALUES (?)")
            .bind::<Integer, _>(n)
            .execute(c)
            .map(|_| ())
    }

    #[test]
    fn a_connection_left_in_a_transaction_by_a_panic_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::defaults();
        config.database.url = format!("sqlite://{}/pool.db", dir.path().display());
        config.database.pool_size = 1;
        let pool = build_pool(&config).unwrap();
        pool.get()
            .unwrap()
            .batch_execute("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .unwrap();
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            let mut conn = pool.get().unwrap();
            let _: QueryResult<()> = write_tx(&mut conn, |c| {
                insert(c, 1)?;
                write_tx(c, |_| -> QueryResult<()> { panic!("a bug inside a write") })
            });
        }));
        assert!(panicked.is_err());
        // The pool's only connection: a fresh one, whose transaction commits for real.
        let mut conn = pool.get().unwrap();
        assert_eq!(transaction_depth(&mut conn), Ok(0));
        write_tx(&mut conn, |c| insert(c, 2)).unwrap();
        drop(conn);
        let mut other =
            SqliteConnection::establish(&format!("{}/pool.db", dir.path().display())).unwrap();
        let stored: Vec<i64> = diesel::sql_query("SELECT n FROM t")
            .load::<N>(&mut other)
            .unwrap()
            .into_iter()
            .map(|r| r.n)
            .collect();
        assert_eq!(stored, vec![2]);
    }
}
