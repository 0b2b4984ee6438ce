//! `/notifications`: the signed-in member's notifications.

use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::db as notification_db;
use super::view::{build_notifications, Notification};
use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::pagination::{CursorPage, CursorParams};
use crate::AppState;

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
        (status = 401, response = crate::error::Unauthorized),
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
            let items = build_notifications(conn, rows)?;
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
        (status = 401, response = crate::error::Unauthorized),
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
        (status = 401, response = crate::error::Unauthorized),
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
        (status = 401, response = crate::error::Unauthorized),
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
