//! Rate-limit counters in the database: fixed windows per key, shared by every process that uses
//! the database (several Gloss processes on one PostgreSQL count together).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::db::{dialect_sql, now, DbConn};

/// A counter as it stands after a hit.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Counter {
    #[diesel(sql_type = BigInt)]
    pub count: i64,
    #[diesel(sql_type = Timestamp)]
    pub window_start: NaiveDateTime,
}

/// Counts one hit on `key` in a window of `window_secs`, atomically (one upsert, so concurrent
/// hits from any process are all counted); a window that has ended starts again at 1.
pub fn hit(conn: &mut DbConn, key: &str, window_secs: i64) -> QueryResult<Counter> {
    let t = now();
    let sql = dialect_sql(
        conn,
        "INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
         count = CASE WHEN rate_counters.window_start <= $3 THEN 1 ELSE rate_counters.count + 1 END, \
         window_start = CASE WHEN rate_counters.window_start <= $3 THEN $2 ELSE rate_counters.window_start END \
         RETURNING count, window_start",
    );
    diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(t)
        .bind::<Timestamp, _>(t - chrono::Duration::seconds(window_secs))
        .get_result(conn)
}

/// Forgets the counter of `key` (a successful login clears its failures).
pub fn clear(conn: &mut DbConn, key: &str) -> QueryResult<()> {
    let sql = dialect_sql(conn, "DELETE FROM rate_counters WHERE key = $1");
    diesel::sql_query(sql)
        .bind::<Text, _>(key)
        .execute(conn)
        .map(|_| ())
}

/// Removes counters whose window ended more than a day ago.
pub fn prune(conn: &mut DbConn) -> QueryResult<usize> {
    let sql = dialect_sql(conn, "DELETE FROM rate_counters WHERE window_start < $1");
    diesel::sql_query(sql)
        .bind::<Timestamp, _>(now() - chrono::Duration::days(1))
        .execute(conn)
}
