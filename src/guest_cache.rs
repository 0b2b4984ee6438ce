//! Guest answers of public lists kept as the bytes sent ("guest page caching", as XenForo calls
//! it). A guest's page of a forum's threads or of the latest posts is the same for every guest
//! until something is written: it is kept with the time of the process's
//! [`WriteClock`](crate::write_clock) and served while the clock stands still, for at most
//! [`KEPT_FRESH_FOR`]. A deep page then costs what the first page costs. Members' answers
//! (their reading state is in them) are always built.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Instant;

use actix_web::web::Bytes;
use actix_web::HttpResponse;
use serde::Serialize;

use crate::error::ApiError;
use crate::write_clock::{Stamp, KEPT_FRESH_FOR};
use crate::AppState;

struct Kept {
    stamp: Stamp,
    flushes: u64,
    at: Instant,
    body: Bytes,
}

/// The kept guest answers of this process, by request target (path and query).
pub struct GuestLists {
    kept: Mutex<(HashMap<String, Kept>, usize)>,
    capacity: usize,
}

impl GuestLists {
    /// At most `bytes` of answers.
    pub fn new(bytes: usize) -> GuestLists {
        GuestLists {
            kept: Mutex::new((HashMap::new(), 0)),
            capacity: bytes,
        }
    }

    fn get(&self, target: &str, stamp: Stamp, flushes: u64) -> Option<Bytes> {
        let kept = self.kept.lock().ok()?;
        kept.0
            .get(target)
            .filter(|k| k.stamp == stamp && k.flushes == flushes && k.at.elapsed() < KEPT_FRESH_FOR)
            .map(|k| k.body.clone())
    }

    fn put(&self, target: String, stamp: Stamp, flushes: u64, body: Bytes) {
        if body.len() > self.capacity {
            return;
        }
        let Ok(mut guard) = self.kept.lock() else {
            return;
        };
        let (map, total) = &mut *guard;
        if let Some(old) = map.remove(&target) {
            *total -= old.body.len() + target.len();
        }
        if *total + body.len() + target.len() > self.capacity {
            // what is kept lives two seconds: drop the stale, and if that is not room enough,
            // everything (the next requests build again)
            map.retain(|_, k| k.at.elapsed() < KEPT_FRESH_FOR);
            *total = map.iter().map(|(t, k)| t.len() + k.body.len()).sum();
            if *total + body.len() + target.len() > self.capacity {
                map.clear();
                *total = 0;
            }
        }
        *total += body.len() + target.len();
        map.insert(
            target,
            Kept {
                stamp,
                flushes,
                at: Instant::now(),
                body,
            },
        );
    }

    /// Kept answers and their bytes.
    pub fn usage(&self) -> (usize, usize) {
        self.kept.lock().map(|g| (g.0.len(), g.1)).unwrap_or((0, 0))
    }
}

/// The time by which kept guest answers are judged: the write clock (`None` while it cannot see
/// every write; on PostgreSQL this starts the listener that lets it) and the view counter's
/// flushes. Read before building what is kept.
pub fn kept_time(state: &AppState) -> (Option<Stamp>, u64) {
    state.hub.listen();
    (state.writes.now(), state.views.flushes())
}

/// The JSON answer `build` gives, kept for guests under `target` (the request's path and query)
/// while nothing is written; a member's is built every time.
pub async fn answer<T, Fut>(
    state: &AppState,
    guest: bool,
    target: &str,
    build: impl FnOnce() -> Fut,
) -> Result<HttpResponse, ApiError>
where
    T: Serialize,
    Fut: Future<Output = Result<T, ApiError>>,
{
    if !guest {
        return Ok(HttpResponse::Ok().json(build().await?));
    }
    let (stamp, flushes) = kept_time(state);
    if let Some(stamp) = stamp {
        if let Some(body) = state.guest_lists.get(target, stamp, flushes) {
            return Ok(json(body));
        }
    }
    let value = build().await?;
    let body = Bytes::from(
        serde_json::to_vec(&value)
            .map_err(|e| ApiError::internal(format!("cannot write the answer: {e}")))?,
    );
    if let Some(stamp) = stamp {
        state
            .guest_lists
            .put(target.to_string(), stamp, flushes, body.clone());
    }
    Ok(json(body))
}

fn json(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}
