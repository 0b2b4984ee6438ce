//! What this process knows of the writes to its database, for answers kept in memory while
//! nothing is written.
//!
//! Every request that may write (any method but `GET`, `HEAD` and `OPTIONS`) ticks the clock
//! when it has been answered, so an answer built before the write no longer matches. Other
//! processes that share the database are seen as well:
//! - on PostgreSQL the database announces every change a page shows on the `gloss_pages`
//!   channel, and the stream listener ticks the clock for each announcement. While that
//!   listener is not connected the clock cannot be trusted, and [`WriteClock::now`] says so;
//! - on SQLite every commit, by any process, writes the write-ahead log: its size and time of
//!   change are part of the time the clock tells (one `stat` per reading).

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::db::{sqlite_path, Backend};

/// How long an answer kept as bytes is served while the clock stands still. It bounds what the
/// clock cannot see: views flushed by another process, `gloss rerender` run beside a SQLite
/// server, a change made with a database client.
pub const KEPT_FRESH_FOR: Duration = Duration::from_secs(2);

/// The NOTIFY channel on which PostgreSQL announces changes a page shows.
pub const PAGES_CHANNEL: &str = "gloss_pages";

/// A reading of the clock: equal readings mean nothing was written in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    count: u64,
    /// The SQLite write-ahead log's inode, size and change time in nanoseconds.
    log: Option<(u64, u64, i64)>,
}

/// See the module documentation.
pub struct WriteClock {
    count: AtomicU64,
    /// Whether every write that matters reaches this clock (always on SQLite; on PostgreSQL
    /// while the listener is connected).
    complete: AtomicBool,
    /// SQLite's write-ahead log.
    log: Option<PathBuf>,
}

impl WriteClock {
    /// A clock for a process on the database at `url`.
    pub fn new(url: &str) -> WriteClock {
        let backend = Backend::of_url(url);
        let log = match backend {
            Backend::Sqlite => {
                let path = sqlite_path(url);
                (!path.is_empty() && !path.starts_with(":memory:") && !path.contains("mode=memory"))
                    .then(|| PathBuf::from(format!("{path}-wal")))
            }
            Backend::Postgres => None,
        };
        WriteClock {
            count: AtomicU64::new(0),
            complete: AtomicBool::new(backend == Backend::Sqlite),
            log,
        }
    }

    /// The time now, or `None` while writes made elsewhere may go unseen.
    pub fn now(&self) -> Option<Stamp> {
        // read the flag first: a tick that sets it is counted before it is set
        let complete = self.complete.load(Ordering::SeqCst);
        let count = self.count.load(Ordering::SeqCst);
        if !complete {
            return None;
        }
        let log = match &self.log {
            None => None,
            Some(path) => match std::fs::metadata(path) {
                Ok(m) => Some((
                    m.ino(),
                    m.len(),
                    m.mtime().saturating_mul(1_000_000_000) + m.mtime_nsec(),
                )),
                // no log: no write since the last process closed the database
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some((0, 0, 0)),
                Err(_) => return None,
            },
        };
        Some(Stamp { count, log })
    }

    /// A write happened (or may have).
    pub fn tick(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }

    /// The listener of PostgreSQL's announcements connected (`true`) or lost its connection.
    /// Either way what was kept before may have missed a write: the clock ticks.
    pub fn set_complete(&self, complete: bool) {
        if !complete {
            self.complete.store(false, Ordering::SeqCst);
        }
        self.tick();
        if complete {
            self.complete.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_changes_the_time_and_an_incomplete_clock_has_none() {
        let sqlite = WriteClock::new(":memory:");
        let before = sqlite.now();
        assert!(before.is_some());
        sqlite.tick();
        assert_ne!(sqlite.now(), before);

        let pg = WriteClock::new("postgres://localhost/x");
        assert_eq!(pg.now(), None);
        pg.set_complete(true);
        let live = pg.now();
        assert!(live.is_some());
        pg.set_complete(false);
        assert_eq!(pg.now(), None);
        pg.set_complete(true);
        assert_ne!(
            pg.now(),
            live,
            "a reconnection invalidates what was kept before it"
        );
    }

    #[test]
    fn a_write_to_the_log_by_anyone_changes_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let clock = WriteClock::new(db.to_str().unwrap());
        let none = clock.now();
        assert_eq!(none.unwrap().log, Some((0, 0, 0)));
        std::fs::write(dir.path().join("x.db-wal"), b"frame").unwrap();
        let one = clock.now();
        assert_ne!(one, none);
        assert_eq!(clock.now(), one, "nothing written, the same time");
        std::fs::write(dir.path().join("x.db-wal"), b"frame frame").unwrap();
        assert_ne!(clock.now(), one);
    }
}
