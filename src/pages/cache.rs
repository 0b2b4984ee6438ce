//! Built thread pages, kept in memory while their versions hold.
//!
//! A page as a guest sees it is the same for every guest until something on it changes. It is
//! built once and kept with the versions it was built at (the thread's `page_version` and the
//! site version, which database triggers bump with every change a page shows); a request reads
//! the two versions by primary key and serves the kept page while they match. Every process
//! reads the versions from the one database, so a write through any process is seen by all at
//! once. Memory is bounded by `GLOSS_PAGE_CACHE_MB`: past it the least recently used pages go.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::thread::ThreadPage;

/// How long the side blocks of a kept page ("More threads by") may lag behind their threads:
/// the thread and its posts never lag.
pub const SIDE_BLOCKS_FRESH_FOR: Duration = Duration::from_secs(10);

/// Which page: (thread, page, per page).
pub type PageKey = (i64, u32, u32);

/// A built page and what it was built from.
#[derive(Debug)]
pub struct BuiltPage {
    /// The page as a guest sees it.
    pub page: ThreadPage,
    /// The thread's page version and the site version it was built at.
    pub versions: (i64, i64),
    /// The rank ladder at the time (a ladder change bumps the site version), to give author
    /// cards their rank from fresh message counts.
    pub ladder: Vec<(i64, String)>,
    pub built_at: Instant,
}

struct Entry {
    page: Arc<BuiltPage>,
    size: usize,
    used: u64,
}

/// The kept pages of this process.
pub struct PageCache {
    entries: Mutex<(HashMap<PageKey, Entry>, usize)>,
    capacity: usize,
    clock: AtomicU64,
}

impl PageCache {
    /// A cache of at most `megabytes` of pages (0: keeps nothing).
    pub fn new(megabytes: usize) -> PageCache {
        PageCache {
            entries: Mutex::new((HashMap::new(), 0)),
            capacity: megabytes * 1024 * 1024,
            clock: AtomicU64::new(0),
        }
    }

    /// The kept page, if it was built at these versions and its side blocks are fresh.
    pub fn get(&self, key: PageKey, versions: (i64, i64)) -> Option<Arc<BuiltPage>> {
        let mut guard = self.entries.lock().ok()?;
        let entry = guard.0.get_mut(&key)?;
        if entry.page.versions != versions || entry.page.built_at.elapsed() >= SIDE_BLOCKS_FRESH_FOR
        {
            return None;
        }
        entry.used = self.clock.fetch_add(1, Ordering::Relaxed);
        Some(entry.page.clone())
    }

    /// Keeps a built page, making room by forgetting the least recently used ones.
    pub fn put(&self, key: PageKey, page: Arc<BuiltPage>) {
        let size = approximate_size(&page.page);
        if size > self.capacity {
            return;
        }
        let Ok(mut guard) = self.entries.lock() else {
            return;
        };
        let (map, total) = &mut *guard;
        if let Some(old) = map.remove(&key) {
            *total -= old.size;
        }
        while *total + size > self.capacity && !map.is_empty() {
            // the oldest tenth in one pass, so that eviction costs little per page kept
            let mut stamps: Vec<(u64, PageKey)> = map.iter().map(|(k, e)| (e.used, *k)).collect();
            stamps.sort_unstable();
            for (_, k) in stamps.into_iter().take(map.len().div_ceil(10)) {
                if let Some(e) = map.remove(&k) {
                    *total -= e.size;
                }
            }
        }
        *total += size;
        let used = self.clock.fetch_add(1, Ordering::Relaxed);
        map.insert(key, Entry { page, size, used });
    }

    /// Pages kept and their approximate bytes.
    pub fn usage(&self) -> (usize, usize) {
        self.entries
            .lock()
            .map(|g| (g.0.len(), g.1))
            .unwrap_or((0, 0))
    }
}

/// About what a page takes in memory: its texts, plus a little per post and thread.
fn approximate_size(page: &ThreadPage) -> usize {
    let posts: usize = page
        .posts
        .items
        .iter()
        .map(|p| {
            1024 + p.body.as_ref().map_or(0, String::len)
                + p.body_html.as_ref().map_or(0, String::len)
                + p.body_text.as_ref().map_or(0, String::len)
                + 64 * p.highlights.len()
        })
        .sum();
    4096 + posts + 1024 * page.more_by_author.len()
}
