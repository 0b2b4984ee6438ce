//! `/notifications`: the signed-in member's notifications.

use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::db as notification_db;
use super::db::NotificationKind;
use crate::auth::AuthUser;
use crate::db::utc;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::pagination::{CursorPage, CursorParams};
use crate::users::cards::{load_users, unknown_ref, UserRef};
use crate::AppState;

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

/// How many notifications are unread.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"unread": 3}))]
pub struct UnreadCount {
    pub unread: i64,
}

/// The caller's notifications, newest first (a feed: follow `next_cursor`).
#[utoipa::path(
    operation_id = "list_notifications",
    tag = "notifications",
    security(("bearer_auth" = [])),
    params(CursorParams),
    responses(
        (status = 200, description = "Newest first", body = CursorPage<Notification>),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notifications")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<CursorParams>,
) -> Result<web::Json<CursorPage<Notification>>, ApiError> {
    let req = query.0.validate()?;
    let page = state
        .db
        .run(move |conn| {
            let (rows, next_cursor) = req.split(
                notification_db::list(conn, user.id, req.before, req.fetch())?,
                |(n, _)| n.id,
            );
            let actors = load_users(
                conn,
                &rows
                    .iter()
                    .filter_map(|(n, _)| n.actor_id)
                    .collect::<Vec<_>>(),
            )?;
            let items = rows
                .into_iter()
                // a kind this server does not know was written by another version: left out
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
                .collect();
            Ok(CursorPage { items, next_cursor })
        })
        .await?;
    Ok(web::Json(page))
}

/// How many of the caller's notifications are unread.
#[utoipa::path(
    operation_id = "get_unread_count",
    tag = "notifications",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, description = "The count", body = UnreadCount),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notifications/unread-count")]
pub async fn unread_count(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<web::Json<UnreadCount>, ApiError> {
    let unread = state
        .db
        .run(move |conn| Ok(notification_db::unread_count(conn, user.id)?))
        .await?;
    Ok(web::Json(UnreadCount { unread }))
}

/// Mark one notification read (idempotent).
#[utoipa::path(
    operation_id = "mark_notification_read",
    tag = "notifications",
    security(("bearer_auth" = [])),
    params(("notification_id" = i64, Path, description = "Notification id", example = 31)),
    responses(
        (status = 204, description = "Read"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such notification of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notifications/{notification_id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let found = state
        .db
        .run(move |conn| Ok(notification_db::mark_read(conn, user.id, id)?))
        .await?;
    if !found {
        return Err(ApiError::not_found(format!(
            "you have no notification with id {id}"
        )));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Mark every notification read.
#[utoipa::path(
    operation_id = "mark_all_notifications_read",
    tag = "notifications",
    security(("bearer_auth" = [])),
    responses(
        (status = 204, description = "All read"),
        (status = 401, description = "No or invalid access token", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notifications/read-all")]
pub async fn mark_all_read(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    state
        .db
        .run(move |conn| Ok(notification_db::mark_all_read(conn, user.id)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The routes of this module (fixed paths before `{notification_id}`).
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(unread_count)
        .service(mark_all_read)
        .service(list)
        .service(mark_read);
}
