//! Built thread pages, kept in memory while their versions hold.
//!
//! A page as a guest sees it is the same for every guest until something on it changes. It is
//! built once and kept with the versions it was built at (the thread's `page_version` and the
//! site version, which database triggers bump with every change a page shows); a request reads
//! the two versions by primary key and serves the kept page while they match. Every process
//! reads the versions from the one database, so a write through any process is seen by all at
//! once. Memory is bounded by `GLOSS_PAGE_CACHE_MB`: past it the least recently used pages go.
//!
//! A guest's answer is also kept as the bytes to send ([`GuestPage`]), and served without a
//! database query or a thread hop while the process's [`WriteClock`](crate::write_clock) has not
//! ticked since it was built, for at most [`KEPT_FRESH_FOR`]. Only its view count changes
//! from guest to guest; it is written into the bytes with each answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::{Bytes, BytesMut};

use super::thread::ThreadPage;
use crate::error::ApiError;
use crate::write_clock::{Stamp, KEPT_FRESH_FOR};

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
    guest: Option<Arc<GuestPage>>,
    size: usize,
    used: u64,
}

/// A guest's answer as the bytes to send, with the place where the thread's view count goes.
#[derive(Debug)]
pub struct GuestPage {
    head: Bytes,
    tail: Bytes,
    /// The stored view count the answer was built with (the thread's pending views are added).
    stored_views: i64,
    /// The write clock and the view counter's flushes when it was built.
    clock: Option<Stamp>,
    flushes: u64,
    built_at: Instant,
}

/// A view count no thread has, written where the real one goes and then replaced.
const VIEWS_MARK: i64 = i64::MIN + 0x6_1055;

impl GuestPage {
    /// The answer `page` as bytes, when built at `clock` and `flushes`. `page.thread.view_count`
    /// must hold the stored count without pending views.
    pub fn new(
        mut page: ThreadPage,
        clock: Option<Stamp>,
        flushes: u64,
    ) -> Result<GuestPage, ApiError> {
        let stored_views = page.thread.view_count;
        page.thread.view_count = VIEWS_MARK;
        let json = serde_json::to_vec(&page)
            .map_err(|e| ApiError::internal(format!("cannot write the page: {e}")))?;
        let mark = format!("\"view_count\":{VIEWS_MARK}");
        let mut found = json
            .windows(mark.len())
            .enumerate()
            .filter(|(_, w)| *w == mark.as_bytes())
            .map(|(i, _)| i);
        let (Some(at), None) = (found.next(), found.next()) else {
            return Err(ApiError::internal("the page's view count cannot be placed"));
        };
        let json = Bytes::from(json);
        let number_at = at + mark.len() - VIEWS_MARK.to_string().len();
        Ok(GuestPage {
            head: json.slice(..number_at),
            tail: json.slice(at + mark.len()..),
            stored_views,
            clock,
            flushes,
            built_at: Instant::now(),
        })
    }

    /// The bytes to send, with `pending` views added to the stored count.
    pub fn body(&self, pending: i64) -> Bytes {
        let views = (self.stored_views + pending).to_string();
        let mut out = BytesMut::with_capacity(self.head.len() + views.len() + self.tail.len());
        out.extend_from_slice(&self.head);
        out.extend_from_slice(views.as_bytes());
        out.extend_from_slice(&self.tail);
        out.freeze()
    }

    fn size(&self) -> usize {
        self.head.len() + self.tail.len() + 128
    }
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

    /// The guest answer kept for `key`, if nothing was written since it was built (by the write
    /// clock, which must be complete, and the view counter's flushes) and it is fresh.
    pub fn guest(
        &self,
        key: PageKey,
        clock: Option<Stamp>,
        flushes: u64,
    ) -> Option<Arc<GuestPage>> {
        clock?;
        let mut guard = self.entries.lock().ok()?;
        let entry = guard.0.get_mut(&key)?;
        let guest = entry.guest.as_ref()?;
        if guest.clock != clock
            || guest.flushes != flushes
            || guest.built_at.elapsed() >= KEPT_FRESH_FOR
        {
            return None;
        }
        entry.used = self.clock.fetch_add(1, Ordering::Relaxed);
        Some(guest.clone())
    }

    /// Keeps a guest answer beside the built page of `key` (if that is still kept).
    pub fn keep_guest(&self, key: PageKey, guest: Arc<GuestPage>) {
        if guest.clock.is_none() {
            return;
        }
        let Ok(mut guard) = self.entries.lock() else {
            return;
        };
        let (map, total) = &mut *guard;
        let Some(entry) = map.get_mut(&key) else {
            return;
        };
        let old = entry.guest.as_ref().map_or(0, |g| g.size());
        let new = guest.size();
        if *total - old + new > self.capacity {
            return;
        }
        *total = *total - old + new;
        entry.size = entry.size - old + new;
        entry.guest = Some(guest);
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
        map.insert(
            key,
            Entry {
                page,
                guest: None,
                size,
                used,
            },
        );
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
