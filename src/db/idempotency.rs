//! Idempotency keys: the first request with a key claims it, its answer is stored, retries
//! replay that answer (see `http::idempotency`).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::DbConn;
use super::schema::idempotency_keys as k;

/// An answer kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub status: u16,
    /// Header (name, value) pairs to replay.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a request finds when it claims a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or expired): run the request, then [`complete`] or [`release`].
    Acquired,
    /// The first request finished: replay its answer.
    Replay(Stored),
    /// The first request has not finished; it started at this time.
    InFlight { since: NaiveDateTime },
    /// The key was used for another request (another method, path or body).
    Mismatch,
}

#[derive(Queryable)]
struct Row {
    fingerprint: String,
    response_status: Option<i32>,
    response_headers: Option<String>,
    response_body: Option<Vec<u8>>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// Claims `key` of `user_id` for a request with `fingerprint`, kept until `expires_at`.
/// The unique (user, key) primary key decides between concurrent first requests.
pub fn claim(
    conn: &mut DbConn,
    user_id: &str,
    key: &str,
    fingerprint: &str,
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<Claim> {
    // Two rounds: an expired row (or one released by a failed first request) is retried once.
    for _ in 0..2 {
        let inserted = diesel::insert_into(k::table)
            .values((
                k::user_id.eq(user_id),
                k::idem_key.eq(key),
                k::fingerprint.eq(fingerprint),
                k::created_at.eq(now),
                k::expires_at.eq(expires_at),
            ))
            .execute(conn);
        match inserted {
            Ok(_) => return Ok(Claim::Acquired),
            Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {}
            Err(e) => return Err(e),
        }
        let row: Option<Row> = k::table
            .find((user_id, key))
            .select((
                k::fingerprint,
                k::response_status,
                k::response_headers,
                k::response_body,
                k::created_at,
                k::expires_at,
            ))
            .get_result(conn)
            .optional()?;
        let Some(row) = row else { continue };
        if row.expires_at <= now {
            diesel::delete(k::table.find((user_id, key)).filter(k::expires_at.le(now)))
                .execute(conn)?;
            continue;
        }
        if row.fingerprint != fingerprint {
            return Ok(Claim::Mismatch);
        }
        return Ok(match row.response_status {
            None => Claim::InFlight {
                since: row.created_at,
            },
            Some(status) => Claim::Replay(Stored {
                status: u16::try_from(status).unwrap_or(500),
                headers: row
                    .response_headers
                    .as_deref()
                    .and_then(|h| serde_json::from_str(h).ok())
                    .unwrap_or_default(),
                body: row.response_body.unwrap_or_default(),
            }),
        });
    }
    // The row came and went twice in a row: another request is busy with this key.
    Ok(Claim::InFlight { since: now })
}

/// Stores the answer of the request that claimed the key.
pub fn complete(conn: &mut DbConn, user_id: &str, key: &str, stored: &Stored) -> QueryResult<()> {
    let headers = serde_json::to_string(&stored.headers).unwrap_or_else(|_| "[]".into());
    diesel::update(k::table.find((user_id, key)))
        .set((
            k::response_status.eq(Some(i32::from(stored.status))),
            k::response_headers.eq(Some(headers)),
            k::response_body.eq(Some(stored.body.clone())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Gives an unfinished key back (the request failed with 5xx), so that a retry runs again.
pub fn release(conn: &mut DbConn, user_id: &str, key: &str) -> QueryResult<()> {
    diesel::delete(
        k::table
            .find((user_id, key))
            .filter(k::response_status.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes every key past its expiry; answers how many. Meant for the scheduled jobs.
pub fn purge_expired(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(k::table.filter(k::expires_at.le(now))).execute(conn)
}

/// How many keys are stored (tests and metrics).
pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    k::table.count().get_result(conn)
}
