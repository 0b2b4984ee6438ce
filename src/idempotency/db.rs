//! The stored keys: claimed by the first request, completed with its answer, released when it
//! failed, and pruned a day after.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Integer, Nullable, Text, Timestamp};

use crate::db::{dialect_sql, now, DbConn};

/// What the first request with a key answered.
#[derive(Debug, Clone, QueryableByName)]
pub struct Stored {
    #[diesel(sql_type = Text)]
    pub fingerprint: String,
    #[diesel(sql_type = Nullable<Integer>)]
    pub status: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    pub content_type: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub location: Option<String>,
    #[diesel(sql_type = Nullable<Binary>)]
    pub body: Option<Vec<u8>>,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
}

/// The outcome of claiming a key for a request.
#[derive(Debug)]
pub enum Claim {
    /// The key is this request's: run it.
    Run,
    /// The key's first request finished: answer what it answered.
    Replay(Stored),
    /// The key's first request is still running.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
}

/// Claims `key` of `user_id` for the request `fingerprint` names. Run inside a write
/// transaction: the insert and the read of an existing key are one step for concurrent
/// requests on any process. A key older than `expired_before` is forgotten and claimed anew; a
/// claim still unanswered since before `abandoned_before` (its process died mid-request) is
/// taken over.
pub fn claim(
    conn: &mut DbConn,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    expired_before: NaiveDateTime,
    abandoned_before: NaiveDateTime,
) -> QueryResult<Claim> {
    let t = now();
    let sql = dialect_sql(
        conn,
        "INSERT INTO idempotency_keys (user_id, key, fingerprint, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (user_id, key) DO NOTHING",
    );
    let inserted = diesel::sql_query(sql)
        .bind::<BigInt, _>(user_id)
        .bind::<Text, _>(key)
        .bind::<Text, _>(fingerprint)
        .bind::<Timestamp, _>(t)
        .execute(conn)?;
    if inserted == 1 {
        return Ok(Claim::Run);
    }
    let lock = match conn {
        DbConn::Pg(_) => " FOR UPDATE",
        DbConn::Sqlite(_) => "",
    };
    let sql = dialect_sql(
        conn,
        &format!(
            "SELECT fingerprint, status, content_type, location, body, created_at \
             FROM idempotency_keys WHERE user_id = $1 AND key = $2{lock}"
        ),
    );
    let stored: Stored = diesel::sql_query(sql)
        .bind::<BigInt, _>(user_id)
        .bind::<Text, _>(key)
        .get_result(conn)?;
    let taken_over = stored.created_at < expired_before
        || (stored.status.is_none()
            && stored.created_at < abandoned_before
            && stored.fingerprint == fingerprint);
    if taken_over {
        let sql = dialect_sql(
            conn,
            "UPDATE idempotency_keys SET fingerprint = $3, status = NULL, content_type = NULL, \
             location = NULL, body = NULL, created_at = $4 WHERE user_id = $1 AND key = $2",
        );
        diesel::sql_query(sql)
            .bind::<BigInt, _>(user_id)
            .bind::<Text, _>(key)
            .bind::<Text, _>(fingerprint)
            .bind::<Timestamp, _>(t)
            .execute(conn)?;
        return Ok(Claim::Run);
    }
    Ok(if stored.fingerprint != fingerprint {
        Claim::Mismatch
    } else if stored.status.is_some() {
        Claim::Replay(stored)
    } else {
        Claim::InProgress
    })
}

/// An answer to keep.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: i32,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

/// Keeps the answer of the request that claimed `key`.
pub fn complete(
    conn: &mut DbConn,
    user_id: i64,
    key: &str,
    fingerprint: &str,
    answer: &Answer,
) -> QueryResult<()> {
    let sql = dialect_sql(
        conn,
        "UPDATE idempotency_keys SET status = $4, content_type = $5, location = $6, body = $7 \
         WHERE user_id = $1 AND key = $2 AND fingerprint = $3 AND status IS NULL",
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(user_id)
        .bind::<Text, _>(key)
        .bind::<Text, _>(fingerprint)
        .bind::<Integer, _>(answer.status)
        .bind::<Nullable<Text>, _>(answer.content_type.as_deref())
        .bind::<Nullable<Text>, _>(answer.location.as_deref())
        .bind::<Binary, _>(&answer.body)
        .execute(conn)
        .map(|_| ())
}

/// Gives `key` up: its request failed, so a retry may run it again.
pub fn release(conn: &mut DbConn, user_id: i64, key: &str, fingerprint: &str) -> QueryResult<()> {
    let sql = dialect_sql(
        conn,
        "DELETE FROM idempotency_keys \
         WHERE user_id = $1 AND key = $2 AND fingerprint = $3 AND status IS NULL",
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(user_id)
        .bind::<Text, _>(key)
        .bind::<Text, _>(fingerprint)
        .execute(conn)
        .map(|_| ())
}

/// Removes keys created before `before`.
pub fn prune(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    let sql = dialect_sql(conn, "DELETE FROM idempotency_keys WHERE created_at < $1");
    diesel::sql_query(sql)
        .bind::<Timestamp, _>(before)
        .execute(conn)
}
