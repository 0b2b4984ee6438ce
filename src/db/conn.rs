//! One connection type over both backends, and the r2d2 manager that picks the backend from the URL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;

/// A connection to either backend; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// PostgreSQL, the production backend.
    Pg(PgConnection),
    /// SQLite, the embedded default.
    Sqlite(SqliteConnection),
}

/// Which backend a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`
    Postgres,
    /// anything else: a file path, optionally prefixed with `sqlite://` or `sqlite:`
    Sqlite,
}

impl Backend {
    /// The backend that a database URL selects.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The SQLite path of a URL: `sqlite://x.db`, `sqlite:x.db` and `x.db` all name `x.db`.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// Pragmas every SQLite connection gets: concurrent readers with one writer (WAL), waits instead of
/// failing at once when the writer is busy, and enforced foreign keys.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;";

/// Opens a connection of the backend the URL names, keeping the real cause of a failure
/// (the derived `establish` of MultiConnection throws it away).
pub fn establish(url: &str) -> ConnectionResult<DbConn> {
    match Backend::of_url(url) {
        Backend::Postgres => PgConnection::establish(url).map(DbConn::Pg),
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(sqlite_path(url))?;
            conn.batch_execute(SQLITE_PRAGMAS)
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConn::Sqlite(conn))
        }
    }
}

/// Counts the queries run on a pool's connections: one atomic add per query, cheap enough to keep
/// on, and it lets tests prove that a page costs a fixed number of queries.
#[derive(Debug, Clone, Default)]
pub struct QueryCounter(Arc<AtomicU64>);

impl QueryCounter {
    /// Queries started so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

struct CountQueries(Arc<AtomicU64>);

impl Instrumentation for CountQueries {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { .. } = event {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// r2d2 manager for [`DbConn`].
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    queries: QueryCounter,
    statement_timeout_ms: u64,
}

impl ConnectionManager {
    /// A manager for the database at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        ConnectionManager {
            url: url.into(),
            queries: QueryCounter::default(),
            statement_timeout_ms: 5000,
        }
    }

    /// How long one statement may run (PostgreSQL's `statement_timeout`) or wait for the writer
    /// (SQLite's `busy_timeout`) before it fails and the request is answered 503.
    pub fn with_statement_timeout(mut self, ms: u64) -> Self {
        self.statement_timeout_ms = ms;
        self
    }

    /// The counter of queries run on this manager's connections.
    pub fn query_counter(&self) -> QueryCounter {
        self.queries.clone()
    }
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        let mut conn = establish(&self.url).map_err(diesel::r2d2::Error::ConnectionError)?;
        let ms = self.statement_timeout_ms;
        let limit = match conn {
            DbConn::Pg(_) => format!("SET statement_timeout = {ms}; SET lock_timeout = {ms}"),
            DbConn::Sqlite(_) => format!("PRAGMA busy_timeout = {ms}"),
        };
        conn.batch_execute(&limit)
            .map_err(diesel::r2d2::Error::QueryError)?;
        conn.set_instrumentation(CountQueries(self.queries.0.clone()));
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        use diesel::connection::TransactionManager;
        <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}
