//! `/forums/{id}/threads`, `/threads`: creating, listing, reading and moderating threads.

use std::collections::BTreeMap;

use actix_web::{delete, get, http::header, patch, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::db::{self as thread_db, NewThread, ThreadFilter, ThreadRow};
use super::view::{build_threads, Thread};
use super::view_counter::Viewer;
use crate::annotations::citations::{self, CitationInput};
use crate::attachments::db as attachment_db;
use crate::auth::{AuthUser, MaybeUser};
use crate::db::DbConn;
use crate::error::{ApiError, Problem, Validator};
use crate::extract::{Json, Query};
use crate::forums::db::{self as forum_db};
use crate::forums::fields::{self, FieldValue};
use crate::guest_cache as guest;
use crate::notifications::db as notification_db;
use crate::pagination::{CursorPage, CursorParams, Page, PageParams};
use crate::policy;
use crate::posts::db::NewPostContent;
use crate::posts::validate::validate_body;
use crate::posts::view::{build_new_post, Post};
use crate::text;
use crate::users::db as user_db;
use crate::watching::db as watch_db;
use crate::AppState;

/// A thread with its first post, as created.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadWithPost {
    pub thread: Thread,
    pub first_post: Post,
}

/// A new thread and its first post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "China-Russia Strategic Partners", "body": "China's Xi vows greater support for Russia in Lavrov meeting.",
    "prefix_id": 1, "fields": {"date_of_event": "2025-07-16"}}))]
pub struct CreateThread {
    /// 1 to 200 characters.
    #[schema(max_length = 200)]
    pub title: String,
    /// The first post, in Markdown (1 to 50,000 characters, not all blank).
    #[schema(
        min_length = 1,
        max_length = 50000,
        pattern = "^[^\\u0000]*[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\u0000][^\\u0000]*$"
    )]
    pub body: String,
    /// One of the forum's prefixes.
    #[serde(default)]
    pub prefix_id: Option<i64>,
    /// Values for the forum's custom fields, by key: a number for a `number` field, a string for
    /// every other type (dates as `YYYY-MM-DD`).
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, FieldValue>)]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Passages of other posts the first post quotes (see `POST /threads/{id}/posts`).
    #[serde(default)]
    pub citations: Vec<CitationInput>,
}

/// Changes to a thread: absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "China-Russia strategic partnership"}))]
pub struct UpdateThread {
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// `null` removes the prefix.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(value_type = Option<i64>)]
    pub prefix_id: Option<Option<i64>>,
    /// The whole new set of field values (replaces the old set); absent or `null` keeps them.
    #[schema(value_type = Option<BTreeMap<String, FieldValue>>)]
    pub fields: Option<BTreeMap<String, serde_json::Value>>,
}

/// Where to move a thread.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"forum_id": 3}))]
pub struct MoveThread {
    pub forum_id: i64,
}

/// Narrowing a forum's thread list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ThreadListParams {
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 1000000, example = 1)]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 100).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
    /// Only threads with this prefix.
    pub prefix_id: Option<i64>,
    /// Filter on this custom field (its key), with `eq`, `min` and/or `max`.
    #[param(example = "date_of_event")]
    pub field: Option<String>,
    /// The field equals this value.
    pub eq: Option<String>,
    /// The field is at least this (dates and numbers compare as such).
    #[param(example = "2025-07-01")]
    pub min: Option<String>,
    /// The field is at most this.
    #[param(example = "2025-07-31")]
    pub max: Option<String>,
    /// Moderators: include deleted threads.
    pub include_deleted: Option<bool>,
}

fn one(mut v: Vec<Thread>) -> Result<Thread, ApiError> {
    v.pop()
        .ok_or_else(|| ApiError::internal("thread vanished while being read"))
}

fn check_title(v: &mut Validator, title: &str) {
    v.check(
        (1..=200).contains(&title.trim().chars().count()),
        "title",
        "must be 1 to 200 characters",
    );
}

/// Checks a prefix belongs to the forum.
fn check_prefix(conn: &mut DbConn, forum_id: i64, prefix_id: i64) -> Result<(), ApiError> {
    match forum_db::find_prefix(conn, prefix_id)? {
        Some(p) if p.forum_id == forum_id => Ok(()),
        _ => Err(ApiError::invalid_field(
            "prefix_id",
            "is not a prefix of this forum",
        )),
    }
}

/// Start a thread with its first post.
///
/// The thread, its first post, its field values and every counter are written in one transaction.
#[utoipa::path(
    tag = "threads",
    security(("bearer_auth" = [])),
    params(("forum_id" = i64, Path, description = "Forum id", example = 2)),
    request_body = CreateThread,
    responses(
        (status = 201, description = "Created", body = ThreadWithPost, headers(("Location" = String, description = "The new thread"))),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Account disabled", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such forum", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (each custom field named as `fields.<key>`)", body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:validation_failed", "title": "Validation failed", "status": 422,
             "detail": "fields.date_of_event: must be a date as YYYY-MM-DD", "code": "validation_failed",
             "errors": [{"field": "fields.date_of_event", "message": "must be a date as YYYY-MM-DD"}]})),
    )
)]
#[post("/forums/{forum_id}/threads")]
pub async fn create_thread(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<CreateThread>,
) -> Result<HttpResponse, ApiError> {
    let forum_id = path.into_inner();
    let req = body.0;
    let mut v = Validator::new();
    check_title(&mut v, &req.title);
    validate_body(&mut v, "body", &req.body);
    v.finish()?;
    let pre = crate::blocking::render_if_large(&state, &req.body).await?;
    let rendered_by = state.clone();
    let created = state
        .db
        .run(move |conn| {
            let rendered = crate::blocking::render_inline(&rendered_by, pre, &req.body);
            let forum = forum_db::find(conn, forum_id)?
                .ok_or_else(|| ApiError::not_found(format!("no forum has id {forum_id}")))?;
            if forum.kind != "forum" {
                return Err(ApiError::invalid_field(
                    "forum_id",
                    "threads are started in forums, not in categories",
                ));
            }
            let me = user_db::require_active(conn, user.id)?;
            policy::can_show_attachments(&attachment_db::not_owned(conn, user.id, &req.body)?)?;
            if let Some(p) = req.prefix_id {
                check_prefix(conn, forum_id, p)?;
            }
            let defs = forum_db::fields(conn, forum_id)?;
            let values = fields::check_values(&defs, &req.fields)?;
            let cites = citations::prepare(conn, &user, &req.citations)?;
            // the rendered body is sanitized already: only the quote blocks are, here
            let html = format!(
                "{}{}",
                text::sanitize(&citations::quotes_html(&cites)),
                rendered.html
            );
            let (thread, post) = crate::db::transaction(conn, |conn| -> Result<_, ApiError> {
                let created = thread_db::create(
                    conn,
                    &NewThread {
                        forum_id,
                        user_id: user.id,
                        title: req.title.trim(),
                        prefix_id: req.prefix_id,
                        fields: &values,
                        first_post: NewPostContent {
                            body: &req.body,
                            body_html: &html,
                            body_text: &rendered.text,
                        },
                    },
                )?;
                citations::insert(conn, created.1.id, &cites)?;
                let cited: Vec<i64> = cites.iter().map(|c| c.author.id).collect();
                notification_db::notify_new_post(conn, &created.0, &created.1, &cited, true)?;
                if me.auto_watch {
                    watch_db::watch_thread(conn, user.id, created.0.id)?;
                }
                watch_db::mark_read(conn, user.id, created.0.id, 1)?;
                Ok(created)
            })?;
            let thread = one(build_threads(conn, &[thread], Some(&user), |_| 0)?)?;
            let first_post = build_new_post(conn, post, &user)?;
            Ok(ThreadWithPost { thread, first_post })
        })
        .await?;
    state.hub.after_write();
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/threads/{}", created.thread.id),
        ))
        .json(created))
}

/// A forum's threads: sticky first, then by last activity.
///
/// Filter by prefix, or by one custom field: `field=date_of_event&min=2025-07-01&max=2025-07-31`
/// (dates compare as dates, numbers as numbers, other types as text).
#[utoipa::path(
    tag = "threads",
    params(("forum_id" = i64, Path, description = "Forum id", example = 2), ThreadListParams),
    responses(
        (status = 200, description = "A page of threads", body = Page<Thread>),
        (status = 404, description = "No such forum", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/forums/{forum_id}/threads")]
pub async fn list_threads(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<ThreadListParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let forum_id = path.into_inner();
    let q = query.0;
    let page = PageParams {
        page: q.page,
        per_page: q.per_page,
    }
    .validate()?;
    let include_deleted =
        q.include_deleted.unwrap_or(false) && policy::can_see_deleted(viewer.0.as_ref());
    let (db, st) = (state.db.clone(), state.clone());
    let guest = viewer.0.is_none();
    let build = move || async move {
        db.run(move |conn| {
            let forum = forum_db::find(conn, forum_id)?
                .ok_or_else(|| ApiError::not_found(format!("no forum has id {forum_id}")))?;
            let field =
                super::filter::field_filter(conn, forum_id, &q.field, &q.eq, &q.min, &q.max)?;
            let filter = ThreadFilter {
                prefix_id: q.prefix_id,
                field,
                include_deleted,
            };
            let (rows, total) = thread_db::list_in_forum(
                conn,
                forum_id,
                &filter,
                forum.thread_count,
                page.offset(),
                page.limit(),
            )?;
            let items = build_threads(conn, &rows, viewer.0.as_ref(), |id| st.views.pending(id))?;
            Ok(page.page(items, total))
        })
        .await
    };
    guest::answer(&state, guest, &req.uri().to_string(), build).await
}

/// One thread. Counts a view (once per viewer and hour; buffered in memory, written in batches).
#[utoipa::path(
    tag = "threads",
    params(("thread_id" = i64, Path, description = "Thread id", example = 9)),
    responses(
        (status = 200, description = "The thread", body = Thread),
        (status = 404, description = "No such thread (or deleted)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/threads/{thread_id}")]
pub async fn get_thread(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    req: actix_web::HttpRequest,
) -> Result<web::Json<Thread>, ApiError> {
    let id = path.into_inner();
    let address = state.limits.client_address(&req);
    let st = state.clone();
    let thread = state
        .db
        .run(move |conn| {
            let row = thread_db::find(conn, id)?
                .ok_or_else(|| ApiError::not_found(format!("no thread has id {id}")))?;
            policy::can_view_thread(viewer.0.as_ref(), &row)?;
            st.views.record(id, Viewer::of(viewer.0.as_ref(), &address));
            one(build_threads(conn, &[row], viewer.0.as_ref(), |id| {
                st.views.pending(id)
            })?)
        })
        .await?;
    Ok(web::Json(thread))
}

/// Edit a thread's title, prefix or fields: its author while not locked, or a moderator.
#[utoipa::path(
    tag = "threads",
    security(("bearer_auth" = [])),
    params(("thread_id" = i64, Path, description = "Thread id", example = 9)),
    request_body = UpdateThread,
    responses(
        (status = 200, description = "The thread", body = Thread),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Not the author, or the thread is locked (`thread_locked`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/threads/{thread_id}")]
pub async fn update_thread(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<UpdateThread>,
) -> Result<web::Json<Thread>, ApiError> {
    let id = path.into_inner();
    let req = body.0;
    let mut v = Validator::new();
    if let Some(t) = &req.title {
        check_title(&mut v, t);
    }
    v.finish()?;
    let st = state.clone();
    let thread = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                let row = thread_db::find(conn, id)?
                    .ok_or_else(|| ApiError::not_found(format!("no thread has id {id}")))?;
                policy::can_edit_thread(&user, &row)?;
                user_db::require_active(conn, user.id)?;
                if let Some(Some(p)) = req.prefix_id {
                    check_prefix(conn, row.forum_id, p)?;
                }
                let values = match &req.fields {
                    Some(f) => Some(fields::check_values(
                        &forum_db::fields(conn, row.forum_id)?,
                        f,
                    )?),
                    None => None,
                };
                let updated = thread_db::update(
                    conn,
                    id,
                    req.title.as_deref().map(str::trim),
                    req.prefix_id,
                    values.as_deref(),
                )?;
                one(build_threads(conn, &[updated], Some(&user), |id| {
                    st.views.pending(id)
                })?)
            })
        })
        .await?;
    Ok(web::Json(thread))
}

/// Delete a thread (soft): a moderator, or its author while nobody has replied.
#[utoipa::path(
    tag = "threads",
    security(("bearer_auth" = [])),
    params(("thread_id" = i64, Path, description = "Thread id", example = 9)),
    responses(
        (status = 204, description = "Deleted (moderators can still read and restore it)"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/threads/{thread_id}")]
pub async fn delete_thread(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    state
        .db
        .run(move |conn| {
            let row = thread_db::find(conn, id)?
                .ok_or_else(|| ApiError::not_found(format!("no thread has id {id}")))?;
            policy::can_delete_thread(&user, &row)?;
            user_db::require_active(conn, user.id)?;
            if !row.is_deleted() {
                thread_db::set_deleted(conn, &row, user.id, true)?;
            }
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn moderate(
    state: &AppState,
    user: AuthUser,
    id: i64,
    action: impl FnOnce(&mut DbConn, &ThreadRow) -> Result<ThreadRow, ApiError> + Send + 'static,
) -> Result<web::Json<Thread>, ApiError> {
    policy::can_moderate(&user)?;
    let st = state.clone();
    let thread = state
        .db
        .run(move |conn| {
            let row = thread_db::find(conn, id)?
                .ok_or_else(|| ApiError::not_found(format!("no thread has id {id}")))?;
            user_db::require_active(conn, user.id)?;
            let updated = action(conn, &row)?;
            one(build_threads(conn, &[updated], Some(&user), |id| {
                st.views.pending(id)
            })?)
        })
        .await?;
    Ok(web::Json(thread))
}

/// Restore a deleted thread (moderators).
#[utoipa::path(
    tag = "moderation",
    security(("bearer_auth" = [])),
    params(("thread_id" = i64, Path, description = "Thread id", example = 9)),
    responses(
        (status = 200, description = "The restored thread", body = Thread),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAModerator),
        (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/threads/{thread_id}/restore")]
pub async fn restore_thread(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<web::Json<Thread>, ApiError> {
    moderate(&state, user, path.into_inner(), move |conn, row| {
        if row.is_deleted() {
            Ok(thread_db::set_deleted(conn, row, user.id, false)?)
        } else {
            Ok(row.clone())
        }
    })
    .await
}

macro_rules! flag_endpoint {
    ($name:ident, $method:ident, $path:literal, $locked:expr, $sticky:expr, $summary:literal) => {
        #[doc = $summary]
        #[utoipa::path(
            tag = "moderation",
            security(("bearer_auth" = [])),
            params(("thread_id" = i64, Path, description = "Thread id", example = 9)),
            responses(
                (status = 200, description = "The thread (the same on repeat)", body = Thread),
                (status = 401, response = crate::error::Unauthorized),
                (status = 403, response = crate::error::NotAModerator),
                (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[$method($path)]
        pub async fn $name(state: web::Data<AppState>, user: AuthUser, path: web::Path<i64>) -> Result<web::Json<Thread>, ApiError> {
            moderate(&state, user, path.into_inner(), |conn, row| Ok(thread_db::set_flags(conn, row.id, $locked, $sticky)?)).await
        }
    };
}

flag_endpoint!(
    lock_thread,
    put,
    "/threads/{thread_id}/lock",
    Some(true),
    None,
    "Lock a thread: no new posts or edits by members (moderators)."
);
flag_endpoint!(
    unlock_thread,
    delete,
    "/threads/{thread_id}/lock",
    Some(false),
    None,
    "Unlock a thread (moderators)."
);
flag_endpoint!(
    stick_thread,
    put,
    "/threads/{thread_id}/sticky",
    None,
    Some(true),
    "Stick a thread to the top of its forum (moderators)."
);
flag_endpoint!(
    unstick_thread,
    delete,
    "/threads/{thread_id}/sticky",
    None,
    Some(false),
    "Unstick a thread (moderators)."
);

/// Move a thread to another forum (moderators). Its prefix and field values belong to the old
/// forum and are dropped.
#[utoipa::path(
    tag = "moderation",
    security(("bearer_auth" = [])),
    params(("thread_id" = i64, Path, description = "Thread id", example = 9)),
    request_body = MoveThread,
    responses(
        (status = 200, description = "The moved thread", body = Thread),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAModerator),
        (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The target is not a forum", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/threads/{thread_id}/move")]
pub async fn move_thread(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<MoveThread>,
) -> Result<web::Json<Thread>, ApiError> {
    let to = body.0.forum_id;
    moderate(&state, user, path.into_inner(), move |conn, row| {
        match thread_db::forum_kind(conn, to)? {
            Some(k) if k == "forum" => {}
            _ => {
                return Err(ApiError::invalid_field(
                    "forum_id",
                    "must be a forum (not a category)",
                ))
            }
        }
        if row.forum_id == to {
            return Ok(row.clone());
        }
        Ok(thread_db::move_to(conn, row, to)?)
    })
    .await
}

/// A member's threads, newest first ("More threads by").
#[utoipa::path(
    operation_id = "list_user_threads",
    tag = "threads",
    params(("username" = String, Path, description = "Username, case ignored", example = "saif"), PageParams),
    responses(
        (status = 200, description = "A page of threads", body = Page<Thread>),
        (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{username}/threads")]
pub async fn user_threads(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<String>,
    query: Query<PageParams>,
) -> Result<web::Json<Page<Thread>>, ApiError> {
    let username = path.into_inner();
    let page = query.0.validate()?;
    let st = state.clone();
    let result = state
        .db
        .run(move |conn| {
            let u = user_db::find_by_username(conn, &username)?
                .ok_or_else(|| ApiError::not_found(format!("no member is named {username:?}")))?;
            let (rows, total) = thread_db::list_by_user(conn, u.id, page.offset(), page.limit())?;
            Ok(page.page(
                build_threads(conn, &rows, viewer.0.as_ref(), |id| st.views.pending(id))?,
                total,
            ))
        })
        .await?;
    Ok(web::Json(result))
}

/// The newest threads across all forums (a feed: follow `next_cursor`).
#[utoipa::path(
    operation_id = "list_latest_threads",
    tag = "threads",
    params(CursorParams),
    responses(
        (status = 200, description = "Newest threads first", body = CursorPage<Thread>),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/threads/latest")]
pub async fn latest_threads(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    query: Query<CursorParams>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let req = query.0.validate()?;
    let (db, st) = (state.db.clone(), state.clone());
    let guest = viewer.0.is_none();
    let build = move || async move {
        db.run(move |conn| {
            let (rows, next_cursor) =
                req.split(thread_db::latest(conn, req.before, req.fetch())?, |t| t.id);
            let items = build_threads(conn, &rows, viewer.0.as_ref(), |id| st.views.pending(id))?;
            Ok(CursorPage { items, next_cursor })
        })
        .await
    };
    guest::answer(&state, guest, &http.uri().to_string(), build).await
}

/// The routes of this module (`/threads/latest` before `/threads/{thread_id}`).
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(latest_threads)
        .service(create_thread)
        .service(list_threads)
        .service(get_thread)
        .service(update_thread)
        .service(delete_thread)
        .service(restore_thread)
        .service(lock_thread)
        .service(unlock_thread)
        .service(stick_thread)
        .service(unstick_thread)
        .service(move_thread)
        .service(user_threads);
}
