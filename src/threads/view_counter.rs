//! View counts without a database write per request: views are counted in memory and added to the
//! database in batches (periodically, and once more on shutdown). A viewer (a member, or a guest
//! known only by a keyed hash of their address) counts once per thread per hour in each process.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::db::Db;
use crate::error::ApiError;

/// How long a viewer's view of a thread stands for all their views of it.
pub const VIEW_WINDOW: Duration = Duration::from_secs(3600);

/// The most (thread, viewer) pairs remembered; past it the oldest hour is forgotten early (some
/// viewers may then count twice), so memory stays bounded whatever the traffic.
const MAX_REMEMBERED: usize = 200_000;

/// Who is viewing: a member, or a guest by address.
#[derive(Debug, Clone, Copy)]
pub enum Viewer<'a> {
    Member(i64),
    Guest(&'a str),
}

impl<'a> Viewer<'a> {
    /// The signed-in member, or else the guest at `address`.
    pub fn of(member: Option<&crate::auth::AuthUser>, address: &'a str) -> Viewer<'a> {
        match member {
            Some(m) => Viewer::Member(m.id),
            None => Viewer::Guest(address),
        }
    }
}

/// Views counted since the last flush, by thread.
#[derive(Debug, Default)]
pub struct ViewCounter {
    pending: Mutex<BTreeMap<i64, i64>>,
    /// When each (thread, viewer) last counted; a guest's address is kept only as a hash keyed
    /// with this process's random key.
    seen: Mutex<HashMap<(i64, u64), Instant>>,
    keys: RandomState,
    /// Successful flushes so far: a count read with the stored one before a flush must not be
    /// added to the pending views after it.
    flushes: AtomicU64,
}

impl ViewCounter {
    /// Counts a view of a thread by `viewer`, unless they counted one within the hour. Returns
    /// whether it counted.
    pub fn record(&self, thread_id: i64, viewer: Viewer<'_>) -> bool {
        let key = match viewer {
            Viewer::Member(id) => self.keys.hash_one(("member", id)),
            Viewer::Guest(address) => self.keys.hash_one(("guest", address)),
        };
        let now = Instant::now();
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        if seen
            .get(&(thread_id, key))
            .is_some_and(|at| now.duration_since(*at) < VIEW_WINDOW)
        {
            return false;
        }
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, at| now.duration_since(*at) < VIEW_WINDOW);
            if seen.len() >= MAX_REMEMBERED {
                seen.clear();
            }
        }
        seen.insert((thread_id, key), now);
        drop(seen);
        if let Ok(mut p) = self.pending.lock() {
            *p.entry(thread_id).or_default() += 1;
        }
        true
    }

    /// Forgets views older than the window (called with each flush).
    fn forget_old(&self) {
        let now = Instant::now();
        if let Ok(mut seen) = self.seen.lock() {
            seen.retain(|_, at| now.duration_since(*at) < VIEW_WINDOW);
        }
    }

    /// How many flushes have written views so far.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::SeqCst)
    }

    /// Views of a thread not yet written, to add to the stored count when answering.
    pub fn pending(&self, thread_id: i64) -> i64 {
        self.pending
            .lock()
            .map(|p| p.get(&thread_id).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    fn take(&self) -> BTreeMap<i64, i64> {
        self.pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    fn put_back(&self, counts: BTreeMap<i64, i64>) {
        if let Ok(mut p) = self.pending.lock() {
            for (id, n) in counts {
                *p.entry(id).or_default() += n;
            }
        }
    }

    /// Writes the buffered counts in one transaction; on failure they are kept for the next try.
    /// Returns how many threads were updated.
    pub async fn flush(&self, db: &Db) -> Result<usize, ApiError> {
        self.forget_old();
        let counts = self.take();
        if counts.is_empty() {
            return Ok(0);
        }
        let n = counts.len();
        let to_write = counts.clone();
        match db
            .run(move |conn| Ok(crate::threads::db::add_views(conn, &to_write)?))
            .await
        {
            Ok(()) => {
                self.flushes.fetch_add(1, Ordering::SeqCst);
                Ok(n)
            }
            Err(e) => {
                self.put_back(counts);
                Err(e)
            }
        }
    }
}
