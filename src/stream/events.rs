//! What the stream sends: each event's `data` is the REST resource it announces, read when it is
//! sent (a notification as `GET /notifications` shows it, a post as `GET /posts/{id}` does), so a
//! client parses one type per event, and sees the current state (a coalesced notification's
//! count, an edited post). An event whose resource the member may no longer see is skipped.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::db::EventRow;
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::notifications::db as notification_db;
use crate::notifications::view::{build_notifications, Notification};
use crate::pagination::DEFAULT_PER_PAGE;
use crate::policy;
use crate::posts::db as post_db;
use crate::posts::view::{build_posts, PostInThread};
use crate::threads::db as thread_db;

/// One event of `GET /stream`: sent as `id: <event id>`, `event: <event>` and `data: <data as
/// JSON>`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
pub enum StreamEvent {
    /// A new or updated notification of the member's (as in `GET /notifications`).
    Notification(Notification),
    /// A new post in a thread the member watches (as in `GET /posts/{post_id}`, with the page
    /// of 20 that holds it).
    Post(Box<PostInThread>),
}

impl StreamEvent {
    /// The SSE event name and the data line.
    pub fn frame_parts(&self) -> (&'static str, String) {
        let (name, data) = match self {
            StreamEvent::Notification(n) => ("notification", serde_json::to_string(n)),
            StreamEvent::Post(p) => ("post", serde_json::to_string(p)),
        };
        (name, data.unwrap_or_else(|_| "{}".into()))
    }
}

fn id_in(e: &EventRow, key: &str) -> Option<i64> {
    serde_json::from_str::<serde_json::Value>(&e.data)
        .ok()?
        .get(key)?
        .as_i64()
}

/// The resources `rows` announce, as `viewer` may see them now: each row's id with its event
/// (`None` when there is nothing left to show). A fixed number of queries per batch.
pub fn load(
    conn: &mut DbConn,
    viewer: &AuthUser,
    rows: Vec<EventRow>,
) -> Result<Vec<(i64, Option<StreamEvent>)>, ApiError> {
    let ids_of = |event: &str, key: &str| -> Vec<i64> {
        rows.iter()
            .filter(|e| e.event == event)
            .filter_map(|e| id_in(e, key))
            .collect()
    };
    let note_ids = ids_of("notification", "id");
    let post_ids = ids_of("post", "post_id");
    let notes: HashMap<i64, Notification> = if note_ids.is_empty() {
        HashMap::new()
    } else {
        let found = notification_db::by_ids(conn, viewer.id, &note_ids)?;
        build_notifications(conn, found)?
            .into_iter()
            .map(|n| (n.id, n))
            .collect()
    };
    let found = post_db::find_many(conn, &post_ids)?;
    let mut thread_ids: Vec<i64> = found.iter().map(|p| p.thread_id).collect();
    thread_ids.sort_unstable();
    thread_ids.dedup();
    let threads: HashMap<i64, _> = thread_db::find_many(conn, &thread_ids)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let visible: Vec<_> = found
        .into_iter()
        .filter(|post| {
            threads
                .get(&post.thread_id)
                .is_some_and(|thread| policy::can_view_post(Some(viewer), post, thread).is_ok())
        })
        .collect();
    let posts: HashMap<i64, PostInThread> = build_posts(conn, visible, Some(viewer))?
        .into_iter()
        .map(|p| (p.id, PostInThread::locate(p, DEFAULT_PER_PAGE)))
        .collect();
    Ok(rows
        .iter()
        .map(|e| {
            let event = match e.event.as_str() {
                "notification" => id_in(e, "id")
                    .and_then(|id| notes.get(&id).cloned())
                    .map(StreamEvent::Notification),
                "post" => id_in(e, "post_id")
                    .and_then(|id| posts.get(&id).cloned())
                    .map(|p| StreamEvent::Post(Box::new(p))),
                _ => None,
            };
            (e.id, event)
        })
        .collect())
}
