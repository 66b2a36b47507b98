//! Group commit on SQLite. The write transactions of the HTTP requests run one after another
//! on a single writer thread with its own connection; those that arrive while it works are run
//! as savepoints of one transaction and share its `COMMIT` (with `synchronous = FULL`, one
//! `fsync` for the batch instead of one per request). Every answer waits for the `COMMIT` of
//! its batch, so an acknowledged write is as durable as before. A job that fails is rolled back
//! to its savepoint and leaves the others' writes alone; a failed `COMMIT` fails every job of
//! the batch. SQLite has one writer at a time anyway, so running them on one thread costs no
//! concurrency, and the connection's page cache stays warm because nobody else writes between
//! its transactions.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error};

use super::ledger::{Deferred, append_now};
use super::{DbConn, transaction_depth};

/// How much one transaction takes before it commits, even if more jobs are waiting.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The most jobs.
    pub jobs: usize,
    /// The most time spent running them.
    pub work: Duration,
}

impl Default for Limits {
    /// A batch's answers wait for its last job: a few milliseconds of work at most.
    fn default() -> Self {
        Self {
            jobs: 64,
            work: Duration::from_millis(20),
        }
    }
}

/// What the writer has done since it started: batches, jobs, and where its time went (in
/// microseconds: running jobs; appending the ledger and committing).
#[derive(Debug, Default)]
pub struct Stats {
    pub batches: AtomicU64,
    pub jobs: AtomicU64,
    pub work_us: AtomicU64,
    pub commit_us: AtomicU64,
}

/// One queued piece of work, its result type erased.
trait Job: Send {
    /// Runs the work; answers whether it succeeded (its writes stay in the batch).
    fn run(&mut self, conn: &mut DbConn) -> bool;
    /// Sends the answer: the work's result once its batch committed, else `failed`.
    fn finish(self: Box<Self>, failed: Option<&Error>);
}

struct Pending<F, T, E> {
    work: Option<F>,
    result: Option<Result<T, E>>,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Job for Pending<F, T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send,
    T: Send,
    E: From<Error> + Send,
{
    fn run(&mut self, conn: &mut DbConn) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, failed: Option<&Error>) {
        let answer = match (self.result, failed) {
            // The work's own error stands, whatever happened to the batch.
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), None) => Ok(v),
            (_, Some(e)) => Err(E::from(copy(e))),
            (None, None) => Err(E::from(closed("the write did not finish"))),
        };
        // The requester may have gone (client disconnected); the work stands.
        let _ = self.reply.send(answer);
    }
}

/// The queue to the writer thread; the thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct GroupCommit {
    queue: Sender<Box<dyn Job>>,
    stats: Arc<Stats>,
}

impl GroupCommit {
    /// Starts the writer thread; it opens its SQLite connection with `connect` when the first
    /// job comes (and again after a failed attempt), so that a database that is not there yet
    /// fails the writes, not the start.
    pub fn start<C>(connect: C, limits: Limits) -> std::io::Result<Self>
    where
        C: Fn() -> Result<DbConn, String> + Send + 'static,
    {
        let (queue, jobs) = mpsc::channel();
        let stats = Arc::new(Stats::default());
        let counted = stats.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer(&connect, &jobs, limits, &counted))?;
        Ok(Self { queue, stats })
    }

    /// Queues `work` at once, to run in a write transaction shared with the jobs queued beside
    /// it; the future answers its result after that transaction committed.
    pub fn run<T, E, F>(&self, work: F) -> impl Future<Output = Result<T, E>> + Send + 'static
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Box::new(Pending {
            work: Some(work),
            result: None,
            reply,
        });
        let queued = self.queue.send(job).is_ok();
        async move {
            if !queued {
                return Err(E::from(closed("the SQLite writer has stopped")));
            }
            // A job that panicked drops its reply unsent.
            answer
                .await
                .unwrap_or_else(|_| Err(E::from(closed("the write failed unexpectedly"))))
        }
    }

    /// Batches committed and jobs run so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

/// The writer thread: a batch per wake-up, until every handle is gone.
fn writer(
    connect: &dyn Fn() -> Result<DbConn, String>,
    jobs: &Receiver<Box<dyn Job>>,
    limits: Limits,
    stats: &Stats,
) {
    let mut open: Option<DbConn> = None;
    let micros = |since: Instant| u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
    while let Ok(first) = jobs.recv() {
        let conn = match &mut open {
            Some(conn) => conn,
            None => match connect() {
                Ok(conn) => open.insert(conn),
                Err(e) => {
                    tracing::error!(error = %e, "group commit: cannot open the database");
                    first.finish(Some(&closed(&e)));
                    continue;
                }
            },
        };
        let _turn = super::sqlite_write_turn();
        if let Err(e) = begin_immediate(conn) {
            tracing::error!(error = %e, "group commit: BEGIN failed");
            first.finish(Some(&e));
            continue;
        }
        // Open for the whole batch: `write_tx` inside a job is a savepoint of it.
        let entries = Deferred::open();
        let mut done: Vec<Box<dyn Job>> = Vec::new();
        let mut broken = None;
        let started = Instant::now();
        let mut next = Some(first);
        while let Some(mut job) = next.take() {
            match run_in_savepoint(conn, job.as_mut()) {
                Ok(()) => done.push(job),
                Err(e) => {
                    // The transaction can no longer be trusted: fail this batch as a whole.
                    done.push(job);
                    broken = Some(e);
                    break;
                }
            }
            if done.len() < limits.jobs && started.elapsed() < limits.work {
                next = jobs.try_recv().ok();
            }
        }
        stats.work_us.fetch_add(micros(started), Ordering::Relaxed);
        let committing = Instant::now();
        let outcome = match broken {
            Some(e) => Err(e),
            None => append_now(conn, entries.finish()).and_then(|()| {
                <DbConn as Connection>::TransactionManager::commit_transaction(conn)
            }),
        };
        let failed = outcome.err();
        if let Some(e) = &failed {
            tracing::error!(error = %e, jobs = done.len(), "group commit: batch failed");
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
        }
        if transaction_depth(conn) != Ok(0) {
            // Never run the next batch inside this one: a new connection starts clean.
            tracing::error!("group commit: the transaction did not end; reconnecting");
            open = None;
        }
        drop(_turn);
        stats
            .commit_us
            .fetch_add(micros(committing), Ordering::Relaxed);
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(done.len() as u64, Ordering::Relaxed);
        for job in done {
            job.finish(failed.as_ref());
        }
    }
}

/// Runs one job in a savepoint: kept when it succeeds, rolled back when it fails or panics.
/// Its ledger entries go with it, to be appended before the batch's `COMMIT`.
/// An error here is the savepoint's own, which leaves the batch in doubt.
fn run_in_savepoint(conn: &mut DbConn, job: &mut dyn Job) -> Result<(), Error> {
    let outer = transaction_depth(conn)?;
    <DbConn as Connection>::TransactionManager::begin_transaction(conn)?;
    // The job's ledger entries join the batch's if it succeeds.
    let entries = Deferred::open();
    let ok = catch_unwind(AssertUnwindSafe(|| job.run(conn))).unwrap_or(false);
    // A job that panicked inside a nested transaction left it open: all of it is undone.
    if ok && transaction_depth(conn)? == outer + 1 {
        entries.finish();
        return <DbConn as Connection>::TransactionManager::commit_transaction(conn);
    }
    drop(entries);
    while transaction_depth(conn)? > outer {
        <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
    }
    Ok(())
}

/// `BEGIN IMMEDIATE`: the batch takes SQLite's write lock at once.
fn begin_immediate(conn: &mut DbConn) -> Result<(), Error> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(_) => Err(closed("group commit is for SQLite")),
    }
}

/// A batch's error for each of its jobs (diesel's errors are not `Clone`).
fn copy(e: &Error) -> Error {
    let kind = match e {
        Error::DatabaseError(kind, _) => *kind,
        _ => DatabaseErrorKind::Unknown,
    };
    Error::DatabaseError(kind, Box::new(e.to_string()))
}

fn closed(why: &str) -> Error {
    Error::DatabaseError(
        DatabaseErrorKind::ClosedConnection,
        Box::new(why.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Integer};

    use super::*;

    /// A writer on a fresh file with a table `t (n)` and a table whose rows must point at an
    /// existing `t.n`, checked only at `COMMIT`.
    fn writer_on_fresh_file(dir: &tempfile::TempDir) -> (GroupCommit, String) {
        let path = dir.path().join("gc.db").to_str().unwrap().to_string();
        let mut conn = diesel::SqliteConnection::establish(&path).unwrap();
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
             CREATE TABLE t (n INTEGER PRIMARY KEY); \
             CREATE TABLE refs (n INTEGER REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED);",
        )
        .unwrap();
        let limits = Limits {
            jobs: 64,
            // The first job of each test waits for the test; it must not end its batch.
            work: Duration::from_secs(60),
        };
        drop(conn);
        let at = path.clone();
        let connect = move || {
            let mut c = diesel::SqliteConnection::establish(&at).map_err(|e| e.to_string())?;
            c.batch_execute("PRAGMA foreign_keys = ON")
                .map_err(|e| e.to_string())?;
            Ok(DbConn::Sqlite(c))
        };
        (GroupCommit::start(connect, limits).unwrap(), path)
    }

    fn insert(c: &mut DbConn, table: &str, n: i32) -> Result<(), Error> {
        diesel::sql_query(format!("INSERT INTO {table} (n) VALUES (?)"))
            .bind::<Integer, _>(n)
            .execute(c)
            .map(|_| ())
    }

    /// The numbers stored in `t`, read on a connection of their own.
    fn stored(path: &str) -> Vec<i64> {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let mut c = diesel::SqliteConnection::establish(path).unwrap();
        diesel::sql_query("SELECT n FROM t ORDER BY n")
            .load::<N>(&mut c)
            .unwrap()
            .into_iter()
            .map(|r| r.n)
            .collect()
    }

    /// Queues a first job that holds the writer until the answer to `release`, so that what the
    /// test queues next waits and joins its batch.
    fn hold(gc: &GroupCommit) -> (mpsc::Sender<()>, impl Future<Output = Result<(), Error>>) {
        let (release, released) = mpsc::channel::<()>();
        let (entered, inside) = mpsc::channel::<()>();
        let first = gc.run(move |c| {
            entered.send(()).unwrap();
            released.recv().unwrap();
            insert(c, "t", 1)
        });
        inside.recv().unwrap();
        (release, first)
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn queued_jobs_share_one_commit_and_a_failed_job_leaves_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let (gc, path) = writer_on_fresh_file(&dir);
        let (release, first) = hold(&gc);
        let second = gc.run(|c| insert(c, "t", 2));
        // Writes, then fails: its savepoint is rolled back.
        let third = gc.run(|c| {
            insert(c, "t", 3)?;
            insert(c, "t", 2)
        });
        let panics = gc.run(|c| -> Result<(), Error> {
            insert(c, "t", 4)?;
            panic!("a bug in a handler")
        });
        let fifth = gc.run(|c| insert(c, "t", 5));
        release.send(()).unwrap();
        let answers = block_on(async {
            (
                first.await,
                second.await,
                third.await,
                panics.await,
                fifth.await,
            )
        });
        assert!(answers.0.is_ok() && answers.1.is_ok() && answers.4.is_ok());
        assert!(matches!(
            answers.2,
            Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _))
        ));
        assert!(answers.3.is_err());
        assert_eq!(stored(&path), vec![1, 2, 5]);
        assert_eq!(gc.stats().batches.load(Ordering::Relaxed), 1);
        assert_eq!(gc.stats().jobs.load(Ordering::Relaxed), 5);
        // The writer goes on after the panic.
        block_on(gc.run(|c| insert(c, "t", 6))).unwrap();
        assert_eq!(stored(&path), vec![1, 2, 5, 6]);
    }

    #[test]
    fn a_failed_commit_fails_every_job_of_the_batch_and_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (gc, path) = writer_on_fresh_file(&dir);
        let (release, first) = hold(&gc);
        let second = gc.run(|c| insert(c, "t", 2));
        // Succeeds as a job, but its dangling reference fails the batch's COMMIT.
        let dangling = gc.run(|c| insert(c, "refs", 99));
        release.send(()).unwrap();
        let (a, b, d) = block_on(async { (first.await, second.await, dangling.await) });
        for answer in [a, b, d] {
            let err = answer.expect_err("the batch did not commit");
            assert!(err.to_string().contains("FOREIGN KEY"), "{err}");
        }
        assert!(stored(&path).is_empty());
        // The next batch starts afresh.
        block_on(gc.run(|c| insert(c, "t", 7))).unwrap();
        assert_eq!(stored(&path), vec![7]);
    }

    #[test]
    fn a_panic_inside_a_nested_write_tx_undoes_only_its_job() {
        let dir = tempfile::tempdir().unwrap();
        let (gc, path) = writer_on_fresh_file(&dir);
        let (release, first) = hold(&gc);
        let panics = gc.run(|c| -> Result<(), Error> {
            insert(c, "t", 2)?;
            crate::db::write_tx(c, |c| -> Result<(), Error> {
                insert(c, "t", 3)?;
                crate::db::write_tx(c, |_| -> Result<(), Error> {
                    panic!("a bug, two levels down")
                })
            })
        });
        let third = gc.run(|c| insert(c, "t", 4));
        release.send(()).unwrap();
        let (a, p, b) = block_on(async { (first.await, panics.await, third.await) });
        assert!(a.is_ok() && p.is_err() && b.is_ok(), "{a:?} {p:?} {b:?}");
        assert_eq!(stored(&path), vec![1, 4]);
        // The next batch is a transaction of its own again, committed at its end.
        block_on(gc.run(|c| insert(c, "t", 5))).unwrap();
        assert_eq!(stored(&path), vec![1, 4, 5]);
    }

    #[test]
    fn write_tx_inside_a_job_is_a_savepoint_of_the_batch() {
        let dir = tempfile::tempdir().unwrap();
        let (gc, path) = writer_on_fresh_file(&dir);
        let answer = block_on(gc.run(|c| {
            // A failed inner write transaction is undone; the job goes on and commits.
            let inner: Result<(), Error> = crate::db::write_tx(c, |c| {
                insert(c, "t", 8)?;
                Err(Error::RollbackTransaction)
            });
            assert!(inner.is_err());
            crate::db::write_tx(c, |c| insert(c, "t", 9))
        }));
        answer.unwrap();
        assert_eq!(stored(&path), vec![9]);
    }
}
