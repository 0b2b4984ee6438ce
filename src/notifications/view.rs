//! Notifications as clients see them, the same in `GET /notifications` and on the live stream.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::db::{NotificationKind, NotificationRow};
use crate::db::{utc, DbConn};
use crate::error::ApiError;
use crate::users::cards::{load_users, unknown_ref, UserRef};

/// Something a member is told about.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 31, "kind": "reply", "actor": {"id": 2, "username": "lin", "display_name": null},
    "thread_id": 9, "thread_title": "China-Russia Strategic Partners", "post_id": 146, "annotation_id": null,
    "created_at": "2025-07-16T10:00:00Z", "read": false, "count": 1}))]
pub struct Notification {
    pub id: i64,
    /// What happened: `reply` (in a watched thread), `new_thread` (in a watched forum), `mention`,
    /// `citation` (of your post), `annotation` (on your post), `annotation_reply` (to your
    /// annotation), `reaction`.
    pub kind: NotificationKind,
    /// Who did it.
    #[schema(required = true)]
    pub actor: Option<UserRef>,
    #[schema(required = true)]
    pub thread_id: Option<i64>,
    #[schema(required = true)]
    pub thread_title: Option<String>,
    #[schema(required = true)]
    pub post_id: Option<i64>,
    #[schema(required = true)]
    pub annotation_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    /// How many events this notification stands for: annotations and reactions on one post
    /// coalesce into one unread notification (`actor` and `annotation_id` are the latest), so
    /// 300 annotations on a post are one notification with count 300.
    #[schema(minimum = 1, example = 1)]
    pub count: i64,
}

/// Builds notifications from rows (with their threads' titles): the actors' cards come from one
/// query. A kind this server does not know (written by another version) is left out.
pub fn build_notifications(
    conn: &mut DbConn,
    rows: Vec<(NotificationRow, Option<String>)>,
) -> Result<Vec<Notification>, ApiError> {
    let actors = load_users(
        conn,
        &rows
            .iter()
            .filter_map(|(n, _)| n.actor_id)
            .collect::<Vec<_>>(),
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|(n, title)| Some((NotificationKind::parse(&n.kind)?, n, title)))
        .map(|(kind, n, title)| Notification {
            id: n.id,
            kind,
            actor: n.actor_id.map(|a| {
                actors
                    .get(&a)
                    .map(UserRef::from)
                    .unwrap_or_else(|| unknown_ref(a))
            }),
            thread_id: n.thread_id,
            thread_title: title,
            post_id: n.post_id,
            annotation_id: n.annotation_id,
            created_at: utc(n.created_at),
            read: n.read_at.is_some(),
            count: n.count,
        })
        .collect())
}
