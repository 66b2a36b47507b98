//! Users, sessions and refresh tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConn;
use super::schema::{enterprises, refresh_tokens, sessions, users};
use crate::policy::UserScope;

/// A user row (the password hash never leaves the server).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Identifiable)]
#[diesel(table_name = users, treat_none_as_default_value = false)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: String,
    pub enterprise_id: Option<String>,
    pub street_code: Option<String>,
    pub department_code: Option<String>,
    pub password_hash: String,
    pub active: bool,
    pub must_change_password: bool,
    pub token_version: i32,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub last_login_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

type Boxed<'a> = users::BoxedQuery<'a, super::MultiBackend>;

fn scoped<'a>(scope: &'a UserScope) -> Boxed<'a> {
    let q = users::table.into_boxed();
    match scope {
        UserScope::All => q,
        UserScope::SelfAndStreetEnterprises { user_id, street } => q.filter(
            users::id.eq(user_id).or(users::enterprise_id.eq_any(
                enterprises::table
                    .filter(enterprises::street_code.eq(street))
                    .select(enterprises::id.nullable()),
            )),
        ),
        UserScope::SelfOnly(user_id) => q.filter(users::id.eq(user_id)),
    }
}

/// A user by id within the scope.
pub fn find(conn: &mut DbConn, scope: &UserScope, id: &str) -> QueryResult<Option<UserRow>> {
    scoped(scope)
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// A user by id, whatever the scope (authentication).
pub fn by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// A user by (lower-case) username.
pub fn by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username.to_lowercase()))
        .select(UserRow::as_select())
        .get_result(conn)
        .optional()
}

/// A page of users within the scope, by id.
pub fn list(
    conn: &mut DbConn,
    scope: &UserScope,
    role: Option<&str>,
    enterprise_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let mut q = scoped(scope);
    if let Some(role) = role {
        q = q.filter(users::role.eq(role.to_string()));
    }
    if let Some(e) = enterprise_id {
        q = q.filter(users::enterprise_id.eq(e.to_string()));
    }
    if let Some(after) = after {
        q = q.filter(users::id.gt(after.to_string()));
    }
    q.order(users::id)
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)
}

/// Whether no user exists at all (first start).
pub fn none_exist(conn: &mut DbConn) -> QueryResult<bool> {
    let n: i64 = users::table.count().get_result(conn)?;
    Ok(n == 0)
}

/// Inserts a user.
pub fn insert(conn: &mut DbConn, row: &UserRow) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Profile changes of a PATCH; `None` leaves the column alone.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
    pub must_change_password: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

/// Applies changes; when `revoke` is set, every token and session of the user dies at once.
pub fn update(
    conn: &mut DbConn,
    id: &str,
    changes: &UserChanges,
    revoke: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)?;
    // A new password (an admin's reset, or the user's own change) lifts a lockout.
    if changes.password_hash.is_some() {
        diesel::update(users::table.find(id))
            .set((
                users::failed_logins.eq(0),
                users::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
    }
    if revoke {
        diesel::update(users::table.find(id))
            .set(users::token_version.eq(users::token_version + 1))
            .execute(conn)?;
        revoke_user_sessions(conn, id, "credentials_changed", now)?;
    }
    Ok(())
}

/// Records a failed login; locks the account when `max_failures` is reached.
pub fn record_failure(
    conn: &mut DbConn,
    id: &str,
    max_failures: i32,
    lock_until: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(users::table.find(id))
        .set(users::failed_logins.eq(users::failed_logins + 1))
        .execute(conn)?;
    let failures: i32 = users::table
        .find(id)
        .select(users::failed_logins)
        .get_result(conn)?;
    if failures >= max_failures {
        diesel::update(users::table.find(id))
            .set((
                users::failed_logins.eq(0),
                users::locked_until.eq(Some(lock_until)),
            ))
            .execute(conn)?;
        return Ok(true);
    }
    Ok(false)
}

/// Records a successful login.
pub fn record_success(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
            users::last_login_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A login session.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, treat_none_as_default_value = false)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_reason: Option<String>,
}

/// Opens a session with its first refresh token.
pub fn open_session(conn: &mut DbConn, session: &SessionRow, token_hash: &str) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)?;
    add_refresh_token(conn, &session.id, token_hash, session.created_at)
}

/// Adds a refresh token to a session.
pub fn add_refresh_token(
    conn: &mut DbConn,
    session_id: &str,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::session_id.eq(session_id),
            refresh_tokens::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The session a refresh token belongs to, and whether the token was already used.
pub fn refresh_token_session(
    conn: &mut DbConn,
    token_hash: &str,
) -> QueryResult<Option<(SessionRow, bool)>> {
    refresh_tokens::table
        .inner_join(sessions::table)
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((
            SessionRow::as_select(),
            refresh_tokens::used_at.is_not_null(),
        ))
        .get_result(conn)
        .optional()
}

/// Marks a refresh token used; false when another request used it first.
pub fn spend_refresh_token(
    conn: &mut DbConn,
    token_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::used_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Revokes one session (logout, refresh-token reuse).
pub fn revoke_session(
    conn: &mut DbConn,
    id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Some(now)),
        sessions::revoked_reason.eq(Some(reason)),
    ))
    .execute(conn)?;
    Ok(())
}

/// Revokes every session of a user.
pub fn revoke_user_sessions(
    conn: &mut DbConn,
    user_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(Some(now)),
        sessions::revoked_reason.eq(Some(reason)),
    ))
    .execute(conn)?;
    Ok(())
}

/// The user and session behind an access token, in one query.
pub fn user_and_session(
    conn: &mut DbConn,
    user_id: &str,
    session_id: &str,
) -> QueryResult<Option<(UserRow, SessionRow)>> {
    crate::on_backend!(conn, |c| users::table
        .inner_join(sessions::table)
        .filter(users::id.eq(user_id))
        .filter(sessions::id.eq(session_id))
        .select((UserRow::as_select(), SessionRow::as_select()))
        .get_result(c)
        .optional())
}
