//! Write transactions that hold under many concurrent writers, on both backends.
//!
//! - On SQLite a write transaction begins as a writer (`BEGIN IMMEDIATE`), so a busy database is
//!   waited for (the busy timeout applies) instead of failing at once when a transaction that has
//!   read wants to write (SQLITE_BUSY_SNAPSHOT).
//! - On PostgreSQL a deadlock or a serialization failure rolls the transaction back and runs it
//!   again, a bounded number of times.
//! - On SQLite the transactions of one process also queue for an in-process lock before
//!   `BEGIN IMMEDIATE` ([`WriterLock`]): only one of them asks SQLite for the write lock at a
//!   time, and the next is handed the lock as soon as it is free. Without it the others poll:
//!   SQLite's busy handler sleeps 1, 2, 5, 10 … 100 ms between tries, so under 32 concurrent
//!   replies the lock stood free while its waiters slept (p99 above 500 ms).
//! - Work that must come last (stream events, which take the one lock that orders them) is
//!   deferred to just before commit: a transaction that holds that lock never waits for another
//!   lock, so no deadlock can form around it.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::DbConn;

/// Attempts of a transaction that keeps meeting deadlocks or serialization failures.
const MAX_ATTEMPTS: u32 = 4;

/// An error type that can say whether the transaction that failed with it may simply be retried.
pub trait TransientError {
    /// True for deadlocks and serialization failures.
    fn is_transient(&self) -> bool;
}

/// True when a database error means "another transaction was in the way; try again".
pub fn is_transient_db_error(e: &Error) -> bool {
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        Error::DatabaseError(_, info) => {
            let m = info.message();
            m.contains("deadlock detected") || m.contains("could not serialize access")
        }
        _ => false,
    }
}

impl TransientError for Error {
    fn is_transient(&self) -> bool {
        is_transient_db_error(self)
    }
}

type Deferred = Box<dyn FnOnce(&mut DbConn) -> QueryResult<()>>;

thread_local! {
    /// Work deferred to the end of the transaction running on this thread (`None` outside one).
    static BEFORE_COMMIT: RefCell<Option<Vec<Deferred>>> = const { RefCell::new(None) };
}

/// Runs `work` just before the current write transaction commits, after everything else it does;
/// outside a [`transaction`], runs it at once.
pub fn before_commit(
    conn: &mut DbConn,
    work: impl FnOnce(&mut DbConn) -> QueryResult<()> + 'static,
) -> QueryResult<()> {
    let queued = BEFORE_COMMIT.with(|slot| match slot.borrow_mut().as_mut() {
        Some(list) => {
            list.push(Box::new(work));
            None
        }
        None => Some(work),
    });
    match queued {
        // no write transaction of ours is running: the work gets one of its own
        Some(work) => conn.transaction(work),
        None => Ok(()),
    }
}

fn in_transaction(conn: &mut DbConn) -> bool {
    <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
        .ok()
        .flatten()
        .is_some()
}

fn begin(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Pg(_) => <DbConn as Connection>::TransactionManager::begin_transaction(conn),
    }
}

fn run_deferred(conn: &mut DbConn) -> QueryResult<()> {
    loop {
        let next = BEFORE_COMMIT.with(|slot| {
            slot.borrow_mut()
                .as_mut()
                .and_then(|l| (!l.is_empty()).then(|| l.remove(0)))
        });
        match next {
            Some(work) => work(conn)?,
            None => return Ok(()),
        }
    }
}

/// Runs `f` atomically: as part of the caller's transaction when there is one (no savepoint,
/// so an error of `f` must end that transaction too, as `?` does), else in a transaction of its
/// own. For the database functions that are one step of a larger write: they save the
/// `SAVEPOINT`/`RELEASE` round trips a nested transaction costs.
pub fn atomic<T, E, F>(conn: &mut DbConn, mut f: F) -> Result<T, E>
where
    F: FnMut(&mut DbConn) -> Result<T, E>,
    E: From<Error> + TransientError,
{
    if in_transaction(conn) {
        f(conn)
    } else {
        transaction(conn, f)
    }
}

/// Runs `f` in a write transaction: begun as a writer on SQLite, retried on deadlock or
/// serialization failure on PostgreSQL, with deferred work run before commit. Inside another
/// transaction it is a savepoint of that one (the outer one retries).
pub fn transaction<T, E, F>(conn: &mut DbConn, mut f: F) -> Result<T, E>
where
    F: FnMut(&mut DbConn) -> Result<T, E>,
    E: From<Error> + TransientError,
{
    if in_transaction(conn) {
        // a savepoint: work it deferred is forgotten if it rolls back
        let queued = BEFORE_COMMIT.with(|slot| slot.borrow().as_ref().map(Vec::len));
        let result = conn.transaction(f);
        if let (Err(_), Some(len)) = (&result, queued) {
            BEFORE_COMMIT.with(|slot| {
                if let Some(list) = slot.borrow_mut().as_mut() {
                    list.truncate(len);
                }
            });
        }
        return result;
    }
    let mut attempt = 1;
    loop {
        let result = {
            // cleared on every way out, a panic included (blocking threads are reused)
            let _slot = DeferralSlot::open();
            attempt_once(conn, &mut f)
        };
        match result {
            Err(e) if e.is_transient() && attempt < MAX_ATTEMPTS => {
                tracing::debug!(attempt, "transaction met a deadlock or conflict; retrying");
                // a short, growing, jittered pause so the two sides do not meet again
                let base = 2u64.pow(attempt) * 2;
                let jitter = rand::random::<u64>() % (base + 1);
                std::thread::sleep(Duration::from_millis(base + jitter));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The in-process queue of a SQLite database's write transactions: held from `BEGIN IMMEDIATE`
/// to `COMMIT`. The work of [`Db::run`](super::Db::run) names it for its thread; transactions
/// run elsewhere (tasks, tests) do without it and wait by SQLite's busy handler as before. It is
/// taken after the pooled connection and before SQLite's lock, always in that order, and waited
/// for at most the statement timeout (then the request is a 503, as for SQLite's busy timeout).
#[derive(Clone)]
pub struct WriterLock {
    lock: Arc<parking_lot::Mutex<()>>,
    wait: Duration,
}

thread_local! {
    /// The writer lock of the database whose work runs on this thread.
    static WRITER: RefCell<Option<WriterLock>> = const { RefCell::new(None) };
}

/// Names a writer lock for the work on this thread while it lives.
pub struct EnteredWriter;

impl Drop for EnteredWriter {
    fn drop(&mut self) {
        WRITER.with(|w| *w.borrow_mut() = None);
    }
}

impl WriterLock {
    /// A lock waited for at most `wait`.
    pub fn new(wait: Duration) -> WriterLock {
        WriterLock {
            lock: Arc::new(parking_lot::Mutex::new(())),
            wait,
        }
    }

    /// Makes `lock` the writer lock of this thread's work until the result is dropped.
    pub fn enter(lock: Option<WriterLock>) -> EnteredWriter {
        WRITER.with(|w| *w.borrow_mut() = lock);
        EnteredWriter
    }
}

/// Takes this thread's writer lock, if it has one, for a SQLite write transaction.
fn queue_for_writer(
    conn: &DbConn,
) -> Result<Option<parking_lot::ArcMutexGuard<parking_lot::RawMutex, ()>>, Error> {
    if !matches!(conn, DbConn::Sqlite(_)) {
        return Ok(None);
    }
    let Some(writer) = WRITER.with(|w| w.borrow().clone()) else {
        return Ok(None);
    };
    match writer.lock.try_lock_arc_for(writer.wait) {
        Some(guard) => Ok(Some(guard)),
        None => Err(Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(format!(
                "database is locked: no turn to write within {} ms",
                writer.wait.as_millis()
            )),
        )),
    }
}

fn attempt_once<T, E, F>(conn: &mut DbConn, f: &mut F) -> Result<T, E>
where
    F: FnMut(&mut DbConn) -> Result<T, E>,
    E: From<Error>,
{
    let _turn = queue_for_writer(conn)?;
    begin(conn)?;
    let result = f(conn).and_then(|value| run_deferred(conn).map(|_| value).map_err(E::from));
    match result {
        Ok(value) => match <DbConn as Connection>::TransactionManager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(e) => {
                // a failed COMMIT on PostgreSQL (serialization) leaves nothing to roll back; make
                // sure the connection is usable again either way
                let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
                Err(E::from(e))
            }
        },
        Err(e) => {
            // the caller's error is the one that matters; a failed rollback (a lost connection)
            // leaves the connection marked broken, and the pool drops it
            if let Err(rollback) =
                <DbConn as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// The deferral slot of the transaction running on this thread, open while it lives.
struct DeferralSlot;

impl DeferralSlot {
    fn open() -> DeferralSlot {
        BEFORE_COMMIT.with(|slot| *slot.borrow_mut() = Some(Vec::new()));
        DeferralSlot
    }
}

impl Drop for DeferralSlot {
    fn drop(&mut self) {
        BEFORE_COMMIT.with(|slot| *slot.borrow_mut() = None);
    }
}
