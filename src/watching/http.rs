//! `/threads/{id}/watch`, `/forums/{id}/watch`, `/me/watched`, `/threads/{id}/read`,
//! `/threads/unread`, `/forums/{id}/read`.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db as watch_db;
use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{Json, Query};
use crate::forums::db as forum_db;
use crate::forums::view::{build_forums, Forum};
use crate::pagination::{Page, PageParams};
use crate::policy;
use crate::threads::db as thread_db;
use crate::threads::view::{build_threads, Thread};
use crate::users::db as user_db;
use crate::AppState;

/// What the caller watches.
#[derive(Debug, Serialize, ToSchema)]
pub struct Watched {
    pub threads: Vec<Thread>,
    pub forums: Vec<Forum>,
}

/// How far the caller has read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"position": 40}))]
pub struct ReadUpTo {
    /// The position of the last post read (1 or more); a lower value than before is ignored.
    #[schema(minimum = 1)]
    pub position: i64,
}

fn visible_thread(
    conn: &mut crate::db::DbConn,
    user: &AuthUser,
    id: i64,
) -> Result<thread_db::ThreadRow, ApiError> {
    let t = thread_db::find(conn, id)?
        .ok_or_else(|| ApiError::not_found(format!("no thread has id {id}")))?;
    policy::can_view_thread(Some(user), &t)?;
    Ok(t)
}

macro_rules! watch_endpoint {
    ($name:ident, $method:ident, $path:literal, $tag:literal, $summary:literal, |$conn:ident, $user:ident, $id:ident| $body:block) => {
        #[doc = $summary]
        #[utoipa::path(
            tag = $tag,
            security(("bearer_auth" = [])),
            params(("id" = i64, Path, description = "Thread or forum id", example = 9)),
            responses(
                (status = 204, description = "Done (the same on repeat)"),
                (status = 401, response = crate::error::Unauthorized),
                (status = 404, description = "No such thread or forum", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[$method($path)]
        pub async fn $name(state: web::Data<AppState>, $user: AuthUser, path: web::Path<i64>) -> Result<HttpResponse, ApiError> {
            let $id = path.into_inner();
            state.db.run(move |$conn| $body).await?;
            Ok(HttpResponse::NoContent().finish())
        }
    };
}

watch_endpoint!(
    watch_thread,
    put,
    "/threads/{id}/watch",
    "watching",
    "Watch a thread: be notified of replies.",
    |conn, user, id| {
        visible_thread(conn, &user, id)?;
        Ok(watch_db::watch_thread(conn, user.id, id)?)
    }
);
watch_endpoint!(
    unwatch_thread,
    delete,
    "/threads/{id}/watch",
    "watching",
    "Stop watching a thread.",
    |conn, user, id| {
        visible_thread(conn, &user, id)?;
        Ok(watch_db::unwatch_thread(conn, user.id, id)?)
    }
);
watch_endpoint!(
    watch_forum,
    put,
    "/forums/{id}/watch",
    "watching",
    "Watch a forum: be notified of new threads.",
    |conn, user, id| {
        forum_db::find(conn, id)?
            .ok_or_else(|| ApiError::not_found(format!("no forum has id {id}")))?;
        Ok(watch_db::watch_forum(conn, user.id, id)?)
    }
);
watch_endpoint!(
    unwatch_forum,
    delete,
    "/forums/{id}/watch",
    "watching",
    "Stop watching a forum.",
    |conn, user, id| {
        forum_db::find(conn, id)?
            .ok_or_else(|| ApiError::not_found(format!("no forum has id {id}")))?;
        Ok(watch_db::unwatch_forum(conn, user.id, id)?)
    }
);
watch_endpoint!(
    mark_forum_read,
    post,
    "/forums/{id}/read",
    "reading",
    "Mark every thread of a forum read.",
    |conn, user, id| {
        forum_db::find(conn, id)?
            .ok_or_else(|| ApiError::not_found(format!("no forum has id {id}")))?;
        watch_db::mark_forum_read(conn, user.id, id)?;
        Ok(())
    }
);

/// The threads and forums the caller watches.
#[utoipa::path(
    operation_id = "list_watched",
    tag = "watching",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, description = "Watched threads and forums, most recently watched first", body = Watched),
        (status = 401, response = crate::error::Unauthorized),
    )
)]
#[get("/me/watched")]
pub async fn watched(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<web::Json<Watched>, ApiError> {
    let st = state.clone();
    let w = state
        .db
        .run(move |conn| {
            let (thread_ids, forum_ids) = watch_db::watched(conn, user.id)?;
            let mut rows = thread_db::find_many(conn, &thread_ids)?;
            rows.retain(|t| policy::can_view_thread(Some(&user), t).is_ok());
            rows.sort_by_key(|t| thread_ids.iter().position(|i| *i == t.id));
            let threads = build_threads(conn, &rows, Some(&user), |id| st.views.pending(id))?;
            let all = forum_db::list_all(conn)?;
            let forums: Vec<_> = forum_ids
                .iter()
                .filter_map(|id| all.iter().find(|f| f.id == *id).cloned())
                .collect();
            Ok(Watched {
                threads,
                forums: build_forums(conn, &forums)?,
            })
        })
        .await?;
    Ok(web::Json(w))
}

/// Report how far the caller has read a thread. The read position never moves backwards.
#[utoipa::path(
    tag = "reading",
    security(("bearer_auth" = [])),
    params(("id" = i64, Path, description = "Thread id", example = 9)),
    request_body = ReadUpTo,
    responses(
        (status = 204, description = "Recorded"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid position", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/threads/{id}/read")]
pub async fn mark_thread_read(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<ReadUpTo>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let position = body.0.position;
    state
        .db
        .run(move |conn| {
            let t = visible_thread(conn, &user, id)?;
            if position < 1 {
                return Err(ApiError::invalid_field("position", "must be at least 1"));
            }
            // reading past the end means reading to the end
            watch_db::mark_read(conn, user.id, id, position.min(t.last_position))?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// "Posts you haven't read yet": threads across all forums with posts the caller has not read,
/// newest activity first. A thread the caller never opened counts when it had activity after
/// they joined. Activity older than the server's unread window (`GLOSS_UNREAD_DAYS`, 30 days)
/// counts as read. The list holds the newest 1,000 unread threads at most (`total` stops at
/// 1,000): counting a longer one would cost the whole window of activity.
#[utoipa::path(
    operation_id = "list_unread_threads",
    tag = "reading",
    security(("bearer_auth" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of threads", body = Page<Thread>),
        (status = 401, response = crate::error::Unauthorized),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/threads/unread")]
pub async fn unread(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<PageParams>,
) -> Result<web::Json<Page<Thread>>, ApiError> {
    let page = query.0.validate()?;
    let st = state.clone();
    let result = state
        .db
        .run(move |conn| {
            let me = user_db::require_active(conn, user.id)?;
            let (rows, total) = watch_db::unread_threads(
                conn,
                user.id,
                watch_db::unread_since(me.created_at, st.config.unread_days),
                page.offset(),
                page.limit(),
                true,
            )?;
            Ok(page.page(
                build_threads(conn, &rows, Some(&user), |id| st.views.pending(id))?,
                total,
            ))
        })
        .await?;
    Ok(web::Json(result))
}

/// The routes of this module.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(watch_thread)
        .service(unwatch_thread)
        .service(watch_forum)
        .service(unwatch_forum)
        .service(mark_forum_read)
        .service(watched)
        .service(mark_thread_read);
}

/// `/threads/unread` must be registered before `/threads/{thread_id}`.
pub fn early_routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(unread);
}
