//! The append-only ledger and the ledger numbers (上账编号). Appends lock the one-row
//! `ledger_head`, so entries are gapless and chained in commit order on both backends.

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Integer, Nullable, Text};

use super::DbConn;
use super::fixed_sql::Prepared;
use super::schema::{ledger_entries, ledger_head};
use crate::domain::ledger::{self, LedgerEntry, NewEntry, VerifyError, VerifySummary};

/// A stored ledger row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_entries, treat_none_as_default_value = false)]
pub struct LedgerRow {
    pub seq: i64,
    pub hazard_id: Option<String>,
    pub kind: String,
    pub actor: Option<String>,
    pub role: Option<String>,
    pub at: String,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<LedgerRow> for LedgerEntry {
    fn from(r: LedgerRow) -> Self {
        LedgerEntry {
            seq: r.seq,
            hazard_id: r.hazard_id,
            kind: r.kind,
            actor: r.actor,
            role: r.role,
            at: r.at,
            payload: r.payload,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

impl From<&LedgerEntry> for LedgerRow {
    fn from(e: &LedgerEntry) -> Self {
        LedgerRow {
            seq: e.seq,
            hazard_id: e.hazard_id.clone(),
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            role: e.role.clone(),
            at: e.at.clone(),
            payload: e.payload.clone(),
            prev_hash: e.prev_hash.clone(),
            hash: e.hash.clone(),
        }
    }
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    hash: String,
}

/// The place an append took: its sequence, the hash it follows and its own hash.
#[derive(QueryableByName)]
struct Placed {
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = Text)]
    prev_hash: String,
    #[diesel(sql_type = Text)]
    hash: String,
}

/// PostgreSQL: the head moves and the entry is written in one statement, one round trip. The
/// UPDATE takes the head's row lock (appends queue there, in commit order), reads the old head
/// and stores the new one; the entry's hash is SHA-256 over the canonical encoding, put
/// together from the parts Rust encoded (`$1` tag, `$2` fields) and the two the head supplies:
/// `seq` as `int8send` (8 bytes big-endian) and the previous hash as a length-prefixed text.
const PG_APPEND: &str = "WITH head AS (\
       UPDATE ledger_head SET seq = seq + 1, prev_hash = hash, \
         hash = encode(sha256($1 || int8send(seq + 1) || $2 \
           || int8send(octet_length(hash)::bigint) || convert_to(hash, 'UTF8')), 'hex') \
       WHERE id = 1 RETURNING seq, prev_hash, hash) \
     INSERT INTO ledger_entries (seq, hazard_id, kind, actor, role, at, payload, prev_hash, hash) \
     SELECT seq, $3, $4, $5, $6, $7, $8, prev_hash, hash FROM head \
     RETURNING seq, prev_hash, hash";

thread_local! {
    /// The ledger entries of the write transactions open on this thread ([`Deferred`]),
    /// innermost last.
    static PENDING: RefCell<Vec<Vec<NewEntry>>> = const { RefCell::new(Vec::new()) };
}

/// Where a write transaction keeps its ledger entries until it commits. The entries are
/// appended just before the outermost `COMMIT` ([`Deferred::finish`] hands them over), so the
/// ledger head, which every writer must lock to extend the chain, is held only for that
/// append and the `COMMIT` (on PostgreSQL concurrent transactions otherwise queue behind the
/// head for the whole of the one holding it). Dropped unfinished — the work failed or
/// panicked — it discards them.
pub struct Deferred {
    depth: usize,
    finished: bool,
}

impl Deferred {
    /// Opens the place of a transaction (or savepoint) starting on this thread.
    pub fn open() -> Self {
        let depth = PENDING.with(|p| {
            let mut p = p.borrow_mut();
            p.push(Vec::new());
            p.len()
        });
        Self {
            depth,
            finished: false,
        }
    }

    /// The work succeeded: inside another transaction its entries join that one's; the
    /// outermost answers them, to [`append_now`] before its `COMMIT`.
    pub fn finish(mut self) -> Vec<NewEntry> {
        self.finished = true;
        PENDING.with(|p| {
            let mut p = p.borrow_mut();
            p.truncate(self.depth);
            let own = p.pop().unwrap_or_default();
            match p.last_mut() {
                Some(outer) => {
                    outer.extend(own);
                    Vec::new()
                }
                None => own,
            }
        })
    }
}

/// Whether a write transaction ([`crate::db::write_tx`], or a group-commit batch) is open on
/// this thread.
pub fn in_write_tx() -> bool {
    PENDING.with(|p| !p.borrow().is_empty())
}

impl Drop for Deferred {
    fn drop(&mut self) {
        if !self.finished {
            PENDING.with(|p| p.borrow_mut().truncate(self.depth - 1));
        }
    }
}

/// Appends one entry in the transaction of the change it records: at its end when it runs in
/// [`crate::db::write_tx`] (see [`Deferred`]), else at once.
pub fn append(
    conn: &mut DbConn,
    hazard_id: Option<&str>,
    kind: &str,
    actor: Option<(&str, &str)>,
    at: DateTime<Utc>,
    payload: &serde_json::Value,
) -> QueryResult<()> {
    let entry = NewEntry {
        hazard_id: hazard_id.map(str::to_string),
        kind: kind.to_string(),
        actor: actor.map(|(a, _)| a.to_string()),
        role: actor.map(|(_, r)| r.to_string()),
        at: ledger::ledger_time(at),
        payload: payload.to_string(),
    };
    let immediate = PENDING.with(|p| match p.borrow_mut().last_mut() {
        Some(open) => {
            open.push(entry);
            None
        }
        None => Some(entry),
    });
    match immediate {
        Some(entry) => append_one(conn, entry).map(|_| ()),
        None => Ok(()),
    }
}

/// Appends a committing transaction's entries, in order, under one lock of the head.
pub fn append_now(conn: &mut DbConn, mut entries: Vec<NewEntry>) -> QueryResult<()> {
    match entries.len() {
        0 => Ok(()),
        1 => append_one(conn, entries.remove(0)).map(|_| ()),
        _ => append_all(conn, entries).map(|_| ()),
    }
}

/// Appends one entry now.
fn append_one(conn: &mut DbConn, entry: NewEntry) -> QueryResult<LedgerEntry> {
    match conn {
        DbConn::Pg(_) => {
            let placed: Placed = Prepared(
                diesel::sql_query(PG_APPEND)
                    .bind::<Binary, _>(ledger::encoded_tag())
                    .bind::<Binary, _>(entry.encoded_fields())
                    .bind::<Nullable<Text>, _>(&entry.hazard_id)
                    .bind::<Text, _>(&entry.kind)
                    .bind::<Nullable<Text>, _>(&entry.actor)
                    .bind::<Nullable<Text>, _>(&entry.role)
                    .bind::<Text, _>(&entry.at)
                    .bind::<Text, _>(&entry.payload),
            )
            .get_result(conn)?;
            let sealed = entry.seal(placed.seq, &placed.prev_hash);
            // The server hashed what Rust hashes; should the two ever differ, the chain would
            // no longer verify, so the append fails (and with it the change) instead.
            if sealed.hash != placed.hash {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!(
                        "ledger entry {}: the database computed hash {} where {} was expected",
                        placed.seq, placed.hash, sealed.hash
                    )
                    .into(),
                ));
            }
            Ok(sealed)
        }
        // SQLite writers are already serialised by BEGIN IMMEDIATE, and statements cost no
        // round trip.
        DbConn::Sqlite(_) => {
            let head: Head = Prepared(diesel::sql_query(
                "SELECT seq, hash FROM ledger_head WHERE id = 1",
            ))
            .get_result(conn)?;
            let sealed = entry.seal(head.seq + 1, &head.hash);
            let row = LedgerRow::from(&sealed);
            crate::on_backend!(conn, |c| diesel::insert_into(ledger_entries::table)
                .values(&row)
                .execute(c))?;
            set_head(conn, sealed.seq, &sealed.hash, Some(&sealed.prev_hash))?;
            Ok(sealed)
        }
    }
}

/// Appends entries in order under one lock of the head, in multi-row INSERTs (the jobs record
/// thousands of escalations in one run); call inside the transaction of the change.
pub fn append_all(conn: &mut DbConn, entries: Vec<NewEntry>) -> QueryResult<Vec<LedgerEntry>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let lock = match conn {
        DbConn::Pg(_) => "SELECT seq, hash FROM ledger_head WHERE id = 1 FOR UPDATE",
        DbConn::Sqlite(_) => "SELECT seq, hash FROM ledger_head WHERE id = 1",
    };
    let head: Head = Prepared(diesel::sql_query(lock)).get_result(conn)?;
    let mut seq = head.seq;
    let mut prev = head.hash;
    let mut sealed = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        let entry = e.seal(seq, &prev);
        prev.clone_from(&entry.hash);
        sealed.push(entry);
    }
    for chunk in sealed.chunks(500) {
        let rows: Vec<LedgerRow> = chunk.iter().map(LedgerRow::from).collect();
        crate::insert_many!(conn, ledger_entries::table, &rows)?;
    }
    let replaced = sealed.last().map(|e| e.prev_hash.as_str());
    set_head(conn, seq, &prev, replaced)?;
    Ok(sealed)
}

/// Moves the head to entry `seq` with its hash and the hash it follows.
fn set_head(conn: &mut DbConn, seq: i64, hash: &str, prev_hash: Option<&str>) -> QueryResult<()> {
    let _: i64 = crate::on_backend!(conn, |c| Prepared(
        diesel::update(ledger_head::table.find(1))
            .set((
                ledger_head::seq.eq(seq),
                ledger_head::hash.eq(hash),
                ledger_head::prev_hash.eq(prev_hash),
            ))
            .returning(ledger_head::seq)
    )
    .get_result(c))?;
    Ok(())
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = Integer)]
    last_number: i32,
}

/// The next ledger number of `year` (gapless: a rolled-back posting gives its number back).
pub fn next_ledger_number(conn: &mut DbConn, year: i32) -> QueryResult<String> {
    let sql = match conn {
        DbConn::Pg(_) => {
            "INSERT INTO ledger_numbers (year, last_number) VALUES ($1, 1) \
             ON CONFLICT (year) DO UPDATE SET last_number = ledger_numbers.last_number + 1 \
             RETURNING last_number"
        }
        DbConn::Sqlite(_) => {
            "INSERT INTO ledger_numbers (year, last_number) VALUES (?, 1) \
             ON CONFLICT (year) DO UPDATE SET last_number = ledger_numbers.last_number + 1 \
             RETURNING last_number"
        }
    };
    let n: Number = Prepared(diesel::sql_query(sql).bind::<Integer, _>(year)).get_result(conn)?;
    Ok(format!("SH-CN-YH-{year}-{:06}", n.last_number))
}

/// Entries after `after`, in order.
pub fn page(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<LedgerEntry>> {
    Ok(ledger_entries::table
        .filter(ledger_entries::seq.gt(after))
        .order(ledger_entries::seq)
        .limit(limit)
        .select(LedgerRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Every entry of one hazard, in order.
pub fn for_hazard(conn: &mut DbConn, hazard_id: &str) -> QueryResult<Vec<LedgerEntry>> {
    Ok(ledger_entries::table
        .filter(ledger_entries::hazard_id.eq(hazard_id))
        .order(ledger_entries::seq)
        .select(LedgerRow::as_select())
        .load(conn)?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// The outcome of a full verification.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verification {
    pub ok: bool,
    pub entries: i64,
    pub head: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Walks the whole chain page by page, then compares its end with the recorded head.
pub fn verify(conn: &mut DbConn) -> QueryResult<Verification> {
    const PAGE: i64 = 5_000;
    let mut verifier = ledger::Verifier::new();
    let mut after = 0;
    let broken = |e: VerifyError, summary: &VerifySummary| Verification {
        ok: false,
        entries: summary.entries as i64,
        head: summary.head.clone(),
        first_bad: Some(e.first_bad_seq),
        reason: Some(e.reason),
    };
    loop {
        let entries = page(conn, after, PAGE)?;
        let Some(last) = entries.last() else { break };
        after = last.seq;
        for e in &entries {
            if let Err(err) = verifier.push(e) {
                return Ok(broken(err, &verifier.summary()));
            }
        }
    }
    let summary = verifier.summary();
    let head: (i64, String) = ledger_head::table
        .find(1)
        .select((ledger_head::seq, ledger_head::hash))
        .get_result(conn)?;
    if head.0 != summary.last_seq || head.1 != summary.head {
        // The newest entries are gone (or the head was moved): the first missing one is bad.
        return Ok(Verification {
            ok: false,
            entries: summary.entries as i64,
            head: summary.head,
            first_bad: Some(summary.last_seq + 1),
            reason: Some(format!(
                "the ledger ends at entry {} but its recorded head is entry {}",
                summary.last_seq, head.0
            )),
        });
    }
    Ok(Verification {
        ok: true,
        entries: summary.entries as i64,
        head: summary.head,
        first_bad: None,
        reason: None,
    })
}

#[cfg(test)]
mod tests {
    use diesel::connection::TransactionManager;
    use diesel::prelude::*;

    use super::*;
    use crate::db::write_tx;

    /// A migrated SQLite file and a connection to it.
    fn ledger_db(dir: &tempfile::TempDir) -> DbConn {
        let path = dir.path().join("ledger.db");
        let mut conn =
            DbConn::Sqlite(diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap());
        crate::db::migrate(&mut conn).unwrap();
        conn
    }

    fn note(conn: &mut DbConn, kind: &str) -> QueryResult<()> {
        append(
            conn,
            None,
            kind,
            None,
            chrono::DateTime::UNIX_EPOCH,
            &serde_json::json!({}),
        )
    }

    fn kinds(conn: &mut DbConn) -> Vec<String> {
        ledger_entries::table
            .order(ledger_entries::seq)
            .select(ledger_entries::kind)
            .load(conn)
            .unwrap()
    }

    #[test]
    fn a_transaction_appends_its_entries_when_it_commits_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = ledger_db(&dir);
        write_tx(&mut conn, |c| {
            note(c, "a")?;
            // Not yet written: the head stays free until the commit.
            assert!(kinds(c).is_empty());
            // A savepoint that fails takes its entries with it; one that succeeds keeps them.
            let failed: QueryResult<()> = write_tx(c, |c| {
                note(c, "undone")?;
                Err(diesel::result::Error::RollbackTransaction)
            });
            assert!(failed.is_err());
            write_tx(c, |c| note(c, "b"))?;
            note(c, "c")
        })
        .unwrap();
        let failed: QueryResult<()> = write_tx(&mut conn, |c| {
            note(c, "rolled back")?;
            Err(diesel::result::Error::RollbackTransaction)
        });
        assert!(failed.is_err());
        assert_eq!(kinds(&mut conn), ["a", "b", "c"]);
        let verified = verify(&mut conn).unwrap();
        assert!(verified.ok && verified.entries == 3, "{verified:?}");
    }

    #[test]
    fn a_panic_inside_a_transaction_leaves_no_open_place_behind() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = ledger_db(&dir);
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _: QueryResult<()> = write_tx(&mut conn, |c| {
                note(c, "lost with the panic")?;
                panic!("a bug");
            });
        }));
        assert!(panicked.is_err());
        // The panic left the transaction open; the caller rolls it back.
        <DbConn as Connection>::TransactionManager::rollback_transaction(&mut conn).unwrap();
        // Outside a transaction an entry is written at once, as before the panic.
        note(&mut conn, "at once").unwrap();
        assert_eq!(kinds(&mut conn), ["at once"]);
        write_tx(&mut conn, |c| note(c, "after")).unwrap();
        assert_eq!(kinds(&mut conn), ["at once", "after"]);
        assert!(verify(&mut conn).unwrap().ok);
    }
}
