//! `/threads/{id}/posts`, `/posts`: reading a thread page by page, replying, editing, deleting.

use actix_web::{delete, get, http::header, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::db::{self as post_db, NewPostContent, PostRow};
use super::lookup::{post_and_thread, thread_or_404};
use super::validate::validate_body;
use super::view::{build_new_post, build_posts, Post, PostInThread};
use crate::annotations::citations::{self, CitationInput};
use crate::attachments::db as attachment_db;
use crate::auth::{AuthUser, MaybeUser};
use crate::db::utc;
use crate::error::{ApiError, Problem, Validator};
use crate::extract::{Json, Query};
use crate::guest_cache;
use crate::notifications::db as notification_db;
use crate::pagination::{
    CursorPage, CursorParams, Page, PageParams, DEFAULT_PER_PAGE, MAX_PER_PAGE,
};
use crate::policy;
use crate::text;
use crate::users::cards::{load_users, unknown_ref, UserRef};
use crate::users::db as user_db;
use crate::watching::db as watch_db;
use crate::AppState;

/// One version of a post.
#[derive(Debug, Serialize, ToSchema)]
pub struct Revision {
    /// 1 for the original; each edit adds one.
    pub revision: i32,
    pub body: String,
    pub body_text: String,
    /// Who wrote this version (the author, or a moderator who edited it).
    pub editor: UserRef,
    pub created_at: DateTime<Utc>,
}

/// Every version of a post, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionList {
    pub items: Vec<Revision>,
}

/// A new body for a post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Beijing has long sought to present the SCO as a counterweight."}))]
pub struct PostInput {
    /// Markdown, 1 to 50,000 characters, not all blank.
    #[schema(
        min_length = 1,
        max_length = 50000,
        pattern = "^[^\\u0000]*[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\u0000][^\\u0000]*$"
    )]
    pub body: String,
}

/// A reply, optionally citing passages of other posts.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "That is the heart of it.", "citations": [{"post_id": 145, "selector": {"exact": "strengthen mutual support"}}]}))]
pub struct ReplyInput {
    /// Markdown, 1 to 50,000 characters, not all blank.
    #[schema(
        min_length = 1,
        max_length = 50000,
        pattern = "^[^\\u0000]*[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\u0000][^\\u0000]*$"
    )]
    pub body: String,
    /// Passages of other posts to quote: each is checked against its source, stored, and rendered
    /// as a quote block above the reply's own text (the quotes are not part of its `body_text`).
    #[serde(default)]
    pub citations: Vec<CitationInput>,
}

/// Which page size to locate a post with.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LocateParams {
    /// The page size the client reads the thread with (default 20, at most 100).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
}

/// One page of a thread's posts, in position order, with author cards.
///
/// Page N holds positions (N-1)*per_page+1 ..= N*per_page and is read by an index range on
/// (thread, position): reading the last page of a 100,000-post thread costs what page 1 does, and
/// the number of queries does not depend on the page size. Deleted posts keep their position as
/// tombstones.
#[utoipa::path(
    tag = "posts",
    params(("thread_id" = i64, Path, description = "Thread id", example = 9), PageParams),
    responses(
        (status = 200, description = "A page of posts; `total` counts positions (tombstones included)", body = Page<Post>),
        (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/threads/{thread_id}/posts")]
pub async fn list_posts(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<PageParams>,
) -> Result<web::Json<Page<Post>>, ApiError> {
    let id = path.into_inner();
    let page = query.0.validate()?;
    let result = state
        .db
        .run(move |conn| {
            let thread = thread_or_404(conn, id)?;
            policy::can_view_thread(viewer.0.as_ref(), &thread)?;
            let from = page.offset() + 1;
            let rows = post_db::range(conn, id, from, from + page.limit() - 1)?;
            let items = build_posts(conn, rows, viewer.0.as_ref())?;
            Ok(page.page(items, thread.last_position))
        })
        .await?;
    Ok(web::Json(result))
}

/// Reply to a thread.
#[utoipa::path(
    tag = "posts",
    security(("bearer_auth" = [])),
    params(("thread_id" = i64, Path, description = "Thread id", example = 9)),
    request_body = ReplyInput,
    responses(
        (status = 201, description = "The new post", body = Post, headers(("Location" = String, description = "The new post"))),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "The thread is locked (`thread_locked`) or the account disabled", body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:thread_locked", "title": "Thread locked", "status": 403,
             "detail": "this thread is locked: it accepts no new posts", "code": "thread_locked", "errors": []})),
        (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body, or a citation whose quote is not in its source (named `citations[i].…`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/threads/{thread_id}/posts")]
pub async fn create_post(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<ReplyInput>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let req = body.0;
    let mut v = Validator::new();
    validate_body(&mut v, "body", &req.body);
    v.finish()?;
    let pre = crate::blocking::render_if_large(&state, &req.body).await?;
    let st = state.clone();
    let post = state
        .db
        .run(move |conn| {
            let rendered = crate::blocking::render_inline(&st, pre, &req.body);
            let thread = thread_or_404(conn, id)?;
            policy::can_reply(&user, &thread)?;
            let me = user_db::require_active(conn, user.id)?;
            policy::can_show_attachments(&attachment_db::not_owned(conn, user.id, &req.body)?)?;
            let cites = citations::prepare(conn, &user, &req.citations)?;
            // the rendered body is sanitized already: only the quote blocks are, here, and
            // outside the transaction (sanitizing 400 KB again held the write lock for 40 ms)
            let html = format!(
                "{}{}",
                text::sanitize(&citations::quotes_html(&cites)),
                rendered.html
            );
            let row = crate::db::transaction(conn, |conn| -> Result<PostRow, ApiError> {
                let row = post_db::reply(
                    conn,
                    &thread,
                    user.id,
                    &NewPostContent {
                        body: &req.body,
                        body_html: &html,
                        body_text: &rendered.text,
                    },
                )?;
                citations::insert(conn, row.id, &cites)?;
                let cited: Vec<i64> = cites.iter().map(|c| c.author.id).collect();
                notification_db::notify_new_post(conn, &thread, &row, &cited, false)?;
                if me.auto_watch {
                    watch_db::watch_thread(conn, user.id, thread.id)?;
                }
                // writing a post means having read the thread up to it
                watch_db::mark_read(conn, user.id, thread.id, row.position)?;
                Ok(row)
            })?;
            build_new_post(conn, row, &user)
        })
        .await?;
    state.hub.after_write();
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/posts/{}", post.id)))
        .json(post))
}

/// One post, and the page of its thread it sits on.
#[utoipa::path(
    tag = "posts",
    params(("post_id" = i64, Path, description = "Post id", example = 146), LocateParams),
    responses(
        (status = 200, description = "The post", body = PostInThread),
        (status = 404, description = "No such post (or deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid per_page", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts/{post_id}")]
pub async fn get_post(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<LocateParams>,
) -> Result<web::Json<PostInThread>, ApiError> {
    let id = path.into_inner();
    let per_page = query.0.per_page.unwrap_or(DEFAULT_PER_PAGE);
    Validator::new()
        .check(
            (1..=MAX_PER_PAGE).contains(&per_page),
            "per_page",
            format!("must be between 1 and {MAX_PER_PAGE}"),
        )
        .finish()?;
    let post = state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, id)?;
            policy::can_view_post(viewer.0.as_ref(), &post, &thread)?;
            build_posts(conn, vec![post], viewer.0.as_ref())?
                .pop()
                .ok_or_else(|| ApiError::internal("post vanished"))
        })
        .await?;
    Ok(web::Json(PostInThread::locate(post, per_page)))
}

/// Edit a post: its author while the thread is not locked, or a moderator. The previous version is kept.
#[utoipa::path(
    tag = "posts",
    security(("bearer_auth" = [])),
    params(("post_id" = i64, Path, description = "Post id", example = 146)),
    request_body = PostInput,
    responses(
        (status = 200, description = "The edited post", body = Post),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Not the author, or the thread is locked (`thread_locked`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/posts/{post_id}")]
pub async fn edit_post(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<PostInput>,
) -> Result<web::Json<Post>, ApiError> {
    let id = path.into_inner();
    let req = body.0;
    let mut v = Validator::new();
    validate_body(&mut v, "body", &req.body);
    v.finish()?;
    let rendered = crate::blocking::render(&state, req.body.clone()).await?;
    let post = state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, id)?;
            policy::can_edit_post(&user, &post, &thread)?;
            user_db::require_active(conn, user.id)?;
            policy::can_show_attachments(&attachment_db::not_owned(
                conn,
                post.user_id,
                &req.body,
            )?)?;
            let row = if post.body == req.body {
                post
            } else {
                // the rendered body is sanitized already: only the quote blocks are, here
                let html = format!(
                    "{}{}",
                    text::sanitize(&citations::stored_quotes_html(conn, post.id)?),
                    rendered.html
                );
                post_db::edit(
                    conn,
                    &post,
                    user.id,
                    &NewPostContent {
                        body: &req.body,
                        body_html: &html,
                        body_text: &rendered.text,
                    },
                )?
            };
            build_posts(conn, vec![row], Some(&user))?
                .pop()
                .ok_or_else(|| ApiError::internal("post vanished"))
        })
        .await?;
    Ok(web::Json(post))
}

/// Delete a post (soft; its position stays as a tombstone): its author, or a moderator.
#[utoipa::path(
    tag = "posts",
    security(("bearer_auth" = [])),
    params(("post_id" = i64, Path, description = "Post id", example = 146)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The first post: delete the thread instead", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/posts/{post_id}")]
pub async fn delete_post(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, id)?;
            policy::can_delete_post(&user, &post, &thread)?;
            user_db::require_active(conn, user.id)?;
            if !post.is_deleted() {
                post_db::set_deleted(conn, &post, &thread, user.id, true)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Restore a deleted post (moderators).
#[utoipa::path(
    tag = "moderation",
    security(("bearer_auth" = [])),
    params(("post_id" = i64, Path, description = "Post id", example = 146)),
    responses(
        (status = 200, description = "The restored post", body = Post),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAModerator),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/posts/{post_id}/restore")]
pub async fn restore_post(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<web::Json<Post>, ApiError> {
    policy::can_moderate(&user)?;
    let id = path.into_inner();
    let post = state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, id)?;
            user_db::require_active(conn, user.id)?;
            let row = if post.is_deleted() {
                post_db::set_deleted(conn, &post, &thread, user.id, false)?
            } else {
                post
            };
            build_posts(conn, vec![row], Some(&user))?
                .pop()
                .ok_or_else(|| ApiError::internal("post vanished"))
        })
        .await?;
    Ok(web::Json(post))
}

/// Every version of a post, with its editor and time.
#[utoipa::path(
    tag = "posts",
    params(("post_id" = i64, Path, description = "Post id", example = 146)),
    responses(
        (status = 200, description = "The versions, oldest first", body = RevisionList),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts/{post_id}/revisions")]
pub async fn list_revisions(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
) -> Result<web::Json<RevisionList>, ApiError> {
    let id = path.into_inner();
    let items = state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, id)?;
            policy::can_view_post(viewer.0.as_ref(), &post, &thread)?;
            let rows = post_db::revisions(conn, id)?;
            let editors: Vec<i64> = rows.iter().map(|r| r.editor_id).collect();
            let users = load_users(conn, &editors)?;
            Ok(rows
                .into_iter()
                .map(|r| Revision {
                    revision: r.revision,
                    editor: users
                        .get(&r.editor_id)
                        .map(UserRef::from)
                        .unwrap_or_else(|| unknown_ref(r.editor_id)),
                    body: r.body,
                    body_text: r.body_text,
                    created_at: utc(r.created_at),
                })
                .collect())
        })
        .await?;
    Ok(web::Json(RevisionList { items }))
}

async fn feed(
    state: &AppState,
    viewer: Option<AuthUser>,
    user_id: Option<i64>,
    params: CursorParams,
) -> Result<CursorPage<Post>, ApiError> {
    let req = params.validate()?;
    state
        .db
        .run(move |conn| {
            let (rows, next_cursor) = req.split(
                post_db::latest(conn, user_id, req.before, req.fetch())?,
                |p| p.id,
            );
            let items = build_posts(conn, rows, viewer.as_ref())?;
            Ok(CursorPage { items, next_cursor })
        })
        .await
}

/// The newest posts across all forums ("Latest Posts"; a feed: follow `next_cursor`).
#[utoipa::path(
    operation_id = "list_latest_posts",
    tag = "posts",
    params(CursorParams),
    responses(
        (status = 200, description = "Newest posts first", body = CursorPage<Post>),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts/latest")]
pub async fn latest_posts(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    query: Query<CursorParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let guest = viewer.0.is_none();
    let st = state.clone();
    let build = move || async move { feed(&st, viewer.0, None, query.0).await };
    guest_cache::answer(&state, guest, &req.uri().to_string(), build).await
}

/// A member's posts, newest first (a feed: follow `next_cursor`).
#[utoipa::path(
    operation_id = "list_user_posts",
    tag = "posts",
    params(("username" = String, Path, description = "Username, case ignored", example = "saif"), CursorParams),
    responses(
        (status = 200, description = "Newest posts first", body = CursorPage<Post>),
        (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{username}/posts")]
pub async fn user_posts(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<String>,
    query: Query<CursorParams>,
) -> Result<web::Json<CursorPage<Post>>, ApiError> {
    let username = path.into_inner();
    let user = state
        .db
        .run(move |conn| {
            user_db::find_by_username(conn, &username)?
                .ok_or_else(|| ApiError::not_found(format!("no member is named {username:?}")))
        })
        .await?;
    Ok(web::Json(
        feed(&state, viewer.0, Some(user.id), query.0).await?,
    ))
}

/// The routes of this module (`/posts/latest` before `/posts/{post_id}`).
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(latest_posts)
        .service(list_posts)
        .service(create_post)
        .service(get_post)
        .service(edit_post)
        .service(delete_post)
        .service(restore_post)
        .service(list_revisions)
        .service(user_posts);
}
