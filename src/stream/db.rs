//! Stream events in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::stream_events;
use crate::db::{now, DbConn};

/// A row of `stream_events`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stream_events)]
pub struct EventRow {
    pub id: i64,
    pub user_id: i64,
    pub event: String,
    pub data: String,
    pub created_at: NaiveDateTime,
}

/// Adds an event to a member's stream, as the last work of the caller's transaction.
///
/// A member's events must commit in id order, or a stream that already read a higher id would
/// never see a lower one committed later. On PostgreSQL every transaction that records events
/// takes one lock just before it commits (SQLite has one writer at a time anyway): one lock, taken
/// last, by a transaction that then waits for nothing else, so no deadlock can form around it.
pub fn push(
    conn: &mut DbConn,
    user_id: i64,
    event: &str,
    data: &serde_json::Value,
) -> QueryResult<()> {
    let event = event.to_string();
    let data = data.to_string();
    crate::db::before_commit(conn, move |conn| {
        if let DbConn::Pg(_) = conn {
            // re-entrant within one transaction: the second event of a transaction does not wait
            diesel::sql_query("SELECT pg_advisory_xact_lock(7412)").execute(conn)?;
        }
        diesel::insert_into(stream_events::table)
            .values((
                stream_events::user_id.eq(user_id),
                stream_events::event.eq(event),
                stream_events::data.eq(data),
                stream_events::created_at.eq(now()),
            ))
            .execute(conn)
            .map(|_| ())
    })
}

/// A member's events after `after`, oldest first.
pub fn after(
    conn: &mut DbConn,
    user_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    stream_events::table
        .filter(stream_events::user_id.eq(user_id))
        .filter(stream_events::id.gt(after))
        .order(stream_events::id.asc())
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
}

/// The id of a member's latest event (0 when none): where a fresh stream starts.
pub fn latest_id(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    stream_events::table
        .filter(stream_events::user_id.eq(user_id))
        .select(diesel::dsl::max(stream_events::id))
        .first::<Option<i64>>(conn)
        .map(|m| m.unwrap_or(0))
}

/// Forgets events older than `days`: a client away longer starts afresh.
pub fn prune(conn: &mut DbConn, days: i64) -> QueryResult<usize> {
    diesel::delete(
        stream_events::table
            .filter(stream_events::created_at.lt(now() - chrono::Duration::days(days))),
    )
    .execute(conn)
}
