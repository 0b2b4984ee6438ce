//! A thread as the API shows it (prefix, custom field values, author, last post, the caller's
//! reading state), built from rows in a fixed number of queries whatever the number of threads.
//! Used by the thread endpoints and by the lists of watched threads.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::db::{self as thread_db, ThreadRow};
use crate::auth::AuthUser;
use crate::db::utc;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::forums::db::{self as forum_db, FieldRow};
use crate::forums::fields::{self, FieldValue};
use crate::pagination::DEFAULT_PER_PAGE;
use crate::users::cards::{load_users, unknown_ref, UserRef};
use crate::watching::db as watch_db;

/// A thread's prefix.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "label": "🇨🇳"}))]
pub struct PrefixRef {
    pub id: i64,
    pub label: String,
}

/// The latest visible post of a thread.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThreadLastPost {
    pub post_id: i64,
    pub author: UserRef,
    pub posted_at: DateTime<Utc>,
}

/// A thread.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 9, "forum_id": 2, "title": "China-Russia Strategic Partners",
    "prefix": {"id": 1, "label": "🇨🇳"}, "fields": {"date_of_event": "2025-07-16"},
    "author": {"id": 1, "username": "saif", "display_name": "Saif"}, "created_at": "2025-07-16T09:00:00Z",
    "reply_count": 1, "view_count": 146, "post_positions": 2, "first_post_id": 145,
    "last_post": {"post_id": 146, "author": {"id": 2, "username": "lin", "display_name": null},
                  "posted_at": "2025-07-16T10:00:00Z"},
    "sticky": false, "locked": false, "deleted": false, "reading": null}))]
pub struct Thread {
    pub id: i64,
    pub forum_id: i64,
    pub title: String,
    #[schema(required = true)]
    pub prefix: Option<PrefixRef>,
    /// Custom field values by key: numbers for `number` fields, strings otherwise (dates as `YYYY-MM-DD`).
    pub fields: BTreeMap<String, FieldValue>,
    pub author: UserRef,
    pub created_at: DateTime<Utc>,
    /// Visible replies (posts after the first).
    pub reply_count: i64,
    pub view_count: i64,
    /// The highest post position: posts are numbered 1..=post_positions, deleted ones keeping
    /// their place, so page N of `per_page` holds positions (N-1)*per_page+1 ..= N*per_page.
    pub post_positions: i64,
    #[schema(required = true)]
    pub first_post_id: Option<i64>,
    #[schema(required = true)]
    pub last_post: Option<ThreadLastPost>,
    pub sticky: bool,
    pub locked: bool,
    pub deleted: bool,
    /// The caller's reading state; `null` for guests.
    #[schema(required = true)]
    pub reading: Option<ReadingState>,
}

/// Where the signed-in caller stands in a thread.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"last_read_position": 40, "unread": true, "first_unread_position": 41, "first_unread_page": 3,
    "new_annotations": false, "watching": true}))]
pub struct ReadingState {
    /// The highest position read (0 when never opened).
    pub last_read_position: i64,
    /// Whether posts came after it.
    pub unread: bool,
    /// The first position not read yet; `null` when all is read.
    #[schema(required = true)]
    pub first_unread_position: Option<i64>,
    /// The page (of 20) holding it; `null` when all is read.
    #[schema(required = true)]
    pub first_unread_page: Option<i64>,
    /// Public annotations by others on posts already read, made since the caller last read here.
    pub new_annotations: bool,
    /// Whether the caller watches the thread.
    pub watching: bool,
}

/// Builds API threads from rows, loading prefixes, field values and members in a fixed number of
/// queries whatever the number of threads.
pub fn build_threads(
    conn: &mut DbConn,
    rows: &[ThreadRow],
    viewer: Option<&AuthUser>,
    pending_views: impl Fn(i64) -> i64,
) -> Result<Vec<Thread>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let prefix_ids: Vec<i64> = rows.iter().filter_map(|t| t.prefix_id).collect();
    let mut forum_ids: Vec<i64> = rows.iter().map(|t| t.forum_id).collect();
    forum_ids.sort_unstable();
    forum_ids.dedup();
    let user_ids: Vec<i64> = rows
        .iter()
        .flat_map(|t| std::iter::once(t.user_id).chain(t.last_post_user_id))
        .collect();
    let prefixes: HashMap<i64, String> = forum_db::prefixes_by_id(conn, &prefix_ids)?
        .into_iter()
        .map(|p| (p.id, p.label))
        .collect();
    let values = thread_db::field_values(conn, &ids)?;
    let defs: HashMap<i64, FieldRow> = if values.is_empty() {
        HashMap::new()
    } else {
        thread_db::field_defs_for(conn, &forum_ids)?
            .into_iter()
            .map(|f| (f.id, f))
            .collect()
    };
    // the caller's reading state: three queries for the whole list, none for guests
    let reading = match viewer {
        Some(v) if !rows.is_empty() => Some((
            watch_db::positions(conn, v.id, &ids)?,
            watch_db::with_new_annotations(conn, v.id, &ids)?,
            watch_db::watching_threads(conn, v.id, &ids)?,
        )),
        _ => None,
    };
    let users = load_users(conn, &user_ids)?;
    let user_ref = |id: i64| {
        users
            .get(&id)
            .map(UserRef::from)
            .unwrap_or_else(|| unknown_ref(id))
    };
    Ok(rows
        .iter()
        .map(|t| Thread {
            id: t.id,
            forum_id: t.forum_id,
            title: t.title.clone(),
            prefix: t.prefix_id.and_then(|p| {
                prefixes.get(&p).map(|label| PrefixRef {
                    id: p,
                    label: label.clone(),
                })
            }),
            fields: values
                .iter()
                .filter(|v| v.thread_id == t.id)
                .filter_map(|v| {
                    defs.get(&v.field_id)
                        .filter(|d| d.forum_id == t.forum_id)
                        .map(|d| {
                            (
                                d.key.clone(),
                                fields::to_api(d, &v.value_text, v.value_number),
                            )
                        })
                })
                .collect(),
            author: user_ref(t.user_id),
            created_at: utc(t.created_at),
            reply_count: t.reply_count,
            view_count: t.view_count + pending_views(t.id),
            post_positions: t.last_position,
            first_post_id: t.first_post_id,
            last_post: t.last_post_id.map(|post_id| ThreadLastPost {
                post_id,
                author: user_ref(t.last_post_user_id.unwrap_or(t.user_id)),
                posted_at: utc(t.last_post_at),
            }),
            sticky: t.sticky,
            locked: t.locked,
            deleted: t.is_deleted(),
            reading: reading.as_ref().map(|(positions, annotated, watching)| {
                reading_state(
                    t.last_position,
                    positions.get(&t.id).copied().unwrap_or(0),
                    annotated.contains(&t.id),
                    watching.contains(&t.id),
                )
            }),
        })
        .collect())
}

/// A member's reading state in a thread of `last_position` posts, read up to `read`.
pub fn reading_state(
    last_position: i64,
    read: i64,
    new_annotations: bool,
    watching: bool,
) -> ReadingState {
    let unread = read < last_position;
    ReadingState {
        last_read_position: read,
        unread,
        first_unread_position: unread.then_some(read + 1),
        first_unread_page: unread.then_some(read / DEFAULT_PER_PAGE as i64 + 1),
        new_annotations,
        watching,
    }
}

/// Gives these threads `member`'s reading state: three queries for any number of threads.
pub fn set_reading(
    conn: &mut DbConn,
    member: i64,
    threads: &mut [&mut Thread],
) -> Result<(), ApiError> {
    let ids: Vec<i64> = threads.iter().map(|t| t.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let positions = watch_db::positions(conn, member, &ids)?;
    let annotated = watch_db::with_new_annotations(conn, member, &ids)?;
    let watching = watch_db::watching_threads(conn, member, &ids)?;
    for t in threads.iter_mut() {
        t.reading = Some(reading_state(
            t.post_positions,
            positions.get(&t.id).copied().unwrap_or(0),
            annotated.contains(&t.id),
            watching.contains(&t.id),
        ));
    }
    Ok(())
}
