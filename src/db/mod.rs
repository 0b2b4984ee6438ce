//! The database layer: one connection type over SQLite and PostgreSQL, its pool, migrations, and
//! the helper that runs diesel work on the blocking pool.

mod conn;
mod migrate;
pub mod schema;
pub mod settings;
mod tx;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::r2d2::Pool;

pub use conn::{
    establish, redact_url, sqlite_path, Backend, ConnectionManager, DbConn, MultiBackend,
    QueryCounter,
};
pub use migrate::run_pending as run_migrations;
pub use tx::{atomic, before_commit, is_transient_db_error, transaction, TransientError};

use crate::error::ApiError;

/// The connection pool, shared by all workers.
pub type DbPool = Pool<ConnectionManager>;

/// Builds the pool for `url` and checks that one connection can be made, so that a wrong URL stops
/// start-up with its cause instead of failing on the first request.
pub fn build_pool(
    url: &str,
    size: u32,
    timeout: Duration,
    statement_timeout: Duration,
) -> Result<Db, String> {
    // Fail fast with the real cause: r2d2 would only report a timeout.
    establish(url).map_err(|e| format!("cannot connect to {}: {e}", redact_url(url)))?;
    let manager =
        ConnectionManager::new(url).with_statement_timeout(statement_timeout.as_millis() as u64);
    let queries = manager.query_counter();
    // No test query on every checkout: it would add a round trip to every request. A connection
    // whose transaction state broke is dropped by `has_broken`; one the server dropped fails its
    // next query once (503/500) and is replaced.
    let pool = Pool::builder()
        .test_on_check_out(false)
        .max_size(size)
        .connection_timeout(timeout)
        .build(manager)
        .map_err(|e| format!("cannot open a pool for {}: {e}", redact_url(url)))?;
    Ok(Db {
        pool,
        queries,
        deadline: Duration::from_secs(30),
        waiting: Arc::new(AtomicI64::new(0)),
        writer: (Backend::of_url(url) == Backend::Sqlite)
            .then(|| tx::WriterLock::new(statement_timeout)),
    })
}

/// The current time as stored: naive UTC truncated to microseconds, so that SQLite (which would
/// keep nanoseconds) and PostgreSQL (which keeps microseconds) give back the same value.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// A stored naive UTC time as it is sent: RFC 3339 with `Z`.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// Handle to the database used by handlers.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    queries: QueryCounter,
    deadline: Duration,
    waiting: Arc<AtomicI64>,
    /// SQLite: the one writer of this process's connections (see [`tx`]).
    writer: Option<tx::WriterLock>,
}

impl Db {
    /// Sets how long one piece of database work (waiting for a connection included) may take
    /// before the request is answered 503 (`GLOSS_REQUEST_TIMEOUT`).
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Pieces of work waiting for a pooled connection right now.
    pub fn waiting(&self) -> i64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Queries run through this pool so far.
    pub fn query_count(&self) -> u64 {
        self.queries.get()
    }

    /// The pool itself, for start-up and command-line work outside a request.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Runs `f` with a pooled connection on the blocking thread pool; the connection is taken
    /// inside the blocking closure, never on an async worker.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let waiting = self.waiting.clone();
        let writer = self.writer.clone();
        let work = web::block(move || {
            let _writer = tx::WriterLock::enter(writer);
            waiting.fetch_add(1, Ordering::Relaxed);
            let conn = pool.get();
            waiting.fetch_sub(1, Ordering::Relaxed);
            let mut conn = conn.map_err(|e| ApiError::unavailable(e.to_string()))?;
            let result = f(&mut conn);
            if let Err(e) = &result {
                if e.connection_lost() {
                    // a dead connection must not serve the next request: marked broken, the
                    // pool drops it and opens a fresh one
                    use diesel::connection::{Connection, TransactionManager};
                    <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(
                        &mut conn,
                    )
                    .set_in_error();
                }
            }
            result
        });
        // The deadline answers the client; the work itself ends by the statement timeout.
        match actix_web::rt::time::timeout(self.deadline, work).await {
            Ok(done) => {
                done.map_err(|e| ApiError::internal(format!("blocking task failed: {e}")))?
            }
            Err(_) => Err(ApiError::unavailable(format!(
                "the database did not answer within the request deadline of {} ms",
                self.deadline.as_millis()
            ))),
        }
    }
}

/// Raw SQL for this connection's backend, written once with PostgreSQL's `$1, $2, …` placeholders;
/// SQLite gets its numbered `?1, ?2, …`, so a placeholder may repeat or come out of order. For the
/// few statements the query builder cannot express through both backends (`ON CONFLICT` upserts).
pub fn dialect_sql(conn: &DbConn, pg_sql: &str) -> String {
    match conn {
        DbConn::Pg(_) => pg_sql.to_string(),
        DbConn::Sqlite(_) => pg_sql.replace('$', "?"),
    }
}
