//! View counts without a database write per request: views are counted in memory and added to the
//! database in batches (periodically, and once more on shutdown).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::db::Db;
use crate::error::ApiError;

/// Views counted since the last flush, by thread.
#[derive(Debug, Default)]
pub struct ViewCounter {
    pending: Mutex<BTreeMap<i64, i64>>,
}

impl ViewCounter {
    /// Counts one view of a thread.
    pub fn record(&self, thread_id: i64) {
        if let Ok(mut p) = self.pending.lock() {
            *p.entry(thread_id).or_default() += 1;
        }
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
            Ok(()) => Ok(n),
            Err(e) => {
                self.put_back(counts);
                Err(e)
            }
        }
    }
}
