//! `/posts/{id}/annotations`, `/annotations`: highlight and respond to passages of posts, reply to
//! annotations, list them by post, thread and member; `/posts/{id}/citations`: who cited what.

use std::collections::HashMap;

use actix_web::{delete, get, http::header, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::citations;
use super::db::{
    self as annotation_db, AnnotationChanges, AnnotationRow, ListFilter, NewAnnotation,
};
use super::model::{
    build_annotations, selector_from_input, AnchorStateView, Annotation, CreateAnnotation,
    Motivation, TextSelector, Visibility,
};
use super::w3c::{
    self, Extras, FeedList, NumberedList, W3cAnnotation, W3cAnnotationCollection,
    W3cAnnotationInput, W3cAnnotationPage,
};
use crate::auth::{AuthUser, MaybeUser};
use crate::db::utc;
use crate::db::{now, DbConn};
use crate::error::{ApiError, Problem, Validator};
use crate::extract::{Json, Query};
use crate::notifications::db as notification_db;
use crate::pagination::{CursorPage, CursorParams, CursorRequest, Page, PageParams, PageRequest};
use crate::policy;
use crate::posts::db::PostRow;
use crate::posts::lookup::post_and_thread;
use crate::text::{render, utf16_offsets};
use crate::threads::db::{self as thread_db, ThreadRow};
use crate::users::cards::{load_users, unknown_ref, UserRef};
use crate::users::db as user_db;
use crate::AppState;

/// Changes to an annotation (its passage is fixed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "On reflection, this commits to nothing.", "visibility": "private"}))]
pub struct UpdateAnnotation {
    pub motivation: Option<Motivation>,
    #[schema(max_length = 10000)]
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
    pub visibility: Option<Visibility>,
}

/// A reply to an annotation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Agreed, and note the timing."}))]
pub struct CreateReply {
    /// Markdown, 1 to 10,000 characters, not all blank.
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "^[^\\u0000]*[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\u0000][^\\u0000]*$"
    )]
    pub body: String,
}

/// Which annotations of a post to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AnnotationListParams {
    /// 1-based page number (default 1).
    #[param(minimum = 1, maximum = 1000000, example = 1)]
    pub page: Option<u32>,
    /// Items per page (default 20, at most 100).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
    /// Only annotations in this state (`orphaned` lists the ones whose passage is gone).
    #[param(example = "orphaned", value_type = Option<AnchorStateView>)]
    pub anchor_state: Option<String>,
}

/// A citation of a post's passage by another post.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Citation {
    pub id: i64,
    /// The post that quotes.
    pub citing_post_id: i64,
    pub citing_author: UserRef,
    /// The post quoted.
    pub cited_post_id: i64,
    /// The cited post's revision when it was cited.
    pub cited_revision: i32,
    /// The text as quoted: kept whatever later happens to the source.
    pub quoted_text: String,
    /// Where the passage is in the source now (`start`/`end` null when it is gone).
    pub selector: TextSelector,
    pub anchor_state: AnchorStateView,
    /// True when the source was edited or deleted since it was cited.
    pub source_changed: bool,
    /// The annotation whose passage was cited, if any.
    #[schema(required = true)]
    pub annotation_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

const MAX_ANNOTATION_BODY: usize = 10_000;

fn check_tags(v: &mut Validator, tags: &[String]) {
    v.check(tags.len() <= 10, "tags", "at most 10 tags");
    v.check(
        tags.iter()
            .all(|t| (1..=50).contains(&t.trim().chars().count()) && t.chars().count() <= 50),
        "tags",
        "each tag must be 1 to 50 characters",
    );
}

fn check_body(v: &mut Validator, body: Option<&str>, motivation: Motivation) {
    match body {
        Some(b) => {
            v.check(
                !b.trim().is_empty() || motivation.body_optional(),
                "body",
                "must not be empty",
            );
            v.check(
                b.chars().count() <= MAX_ANNOTATION_BODY,
                "body",
                format!("must be at most {MAX_ANNOTATION_BODY} characters"),
            );
            if let Err(why) = crate::text::check_structure(b) {
                v.check(false, "body", why);
            }
        }
        None => {
            v.check(
                motivation.body_optional(),
                "body",
                format!("is required for {}", motivation.as_str()),
            );
        }
    }
}

/// An annotation the viewer may see, with its post and thread; 404 otherwise.
fn visible_annotation(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    id: i64,
) -> Result<(AnnotationRow, PostRow, ThreadRow), ApiError> {
    let a = annotation_db::find(conn, id)?.ok_or_else(|| policy::no_annotation(id))?;
    let (post, thread) = post_and_thread(conn, a.post_id).map_err(|_| policy::no_annotation(id))?;
    policy::can_view_annotation(viewer, &a, &post, &thread)?;
    if let Some(parent) = a.parent_id {
        // a reply is visible only with its parent
        let p = annotation_db::find(conn, parent)?.ok_or_else(|| policy::no_annotation(id))?;
        policy::can_view_annotation(viewer, &p, &post, &thread)
            .map_err(|_| policy::no_annotation(id))?;
    }
    Ok((a, post, thread))
}

fn one(mut v: Vec<Annotation>) -> Result<Annotation, ApiError> {
    v.pop()
        .ok_or_else(|| ApiError::internal("annotation vanished"))
}

fn jsonld(body: impl Serialize) -> HttpResponse {
    HttpResponse::Ok().content_type(w3c::MEDIA_TYPE).json(body)
}

/// Annotate a passage of a post: highlight it, or respond to it.
///
/// The server checks the quote is in the post's `body_text` at the position; with a quote alone
/// it finds the position (prefix and suffix decide between repeated passages; still ambiguous is
/// a 422 naming `selector.prefix`). A W3C Web Annotation document goes to
/// `POST /w3c/posts/{post_id}/annotations` instead.
#[utoipa::path(
    tag = "annotations",
    security(("bearer_auth" = [])),
    params(("post_id" = i64, Path, description = "Post id", example = 145)),
    request_body = CreateAnnotation,
    responses(
        (status = 201, description = "Created", body = Annotation, headers(("Location" = String, description = "The new annotation"))),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "The thread is locked (`thread_locked`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields; selector problems name `selector.exact`, `selector.start`, `selector.end` or `selector.prefix`",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:validation_failed", "title": "Validation failed", "status": 422,
             "detail": "selector.exact: the text at start..end does not match the quoted text (exact)", "code": "validation_failed",
             "errors": [{"field": "selector.exact", "message": "the text at start..end does not match the quoted text (exact)"}]})),
    )
)]
#[post("/posts/{post_id}/annotations")]
pub async fn create_annotation(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<CreateAnnotation>,
) -> Result<HttpResponse, ApiError> {
    let created = annotate(&state, user, path.into_inner(), body.0, Made::Plain).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/annotations/{}", created.id),
        ))
        .json(created))
}

/// Annotate a passage of a post with a W3C Web Annotation document.
///
/// `target` is the post: a SpecificResource whose selectors (a TextQuoteSelector and/or a
/// TextPositionSelector, with FragmentSelectors and RangeSelectors kept beside them; other types
/// are refused) mark the passage, or the post's IRI alone for the whole post; a list of targets
/// on the post keeps the others as given. Every `source` must name the post. The answer is the
/// new annotation in W3C JSON-LD.
#[utoipa::path(
    tag = "annotations",
    security(("bearer_auth" = [])),
    params(("post_id" = i64, Path, description = "Post id", example = 145)),
    request_body(content = W3cAnnotationInput, content_type = "application/ld+json"),
    responses(
        (status = 201, description = "Created", body = W3cAnnotation, content_type = "application/ld+json",
         headers(("Location" = String, description = "The new annotation's W3C form"))),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "The thread is locked (`thread_locked`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, named by their path in the document (`target.source`, `body[0].format`, `target.selector[0].exact`)",
         body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:validation_failed", "title": "Validation failed", "status": 422,
             "detail": "target.source: must be this post's IRI (ending in /posts/145)", "code": "validation_failed",
             "errors": [{"field": "target.source", "message": "must be this post's IRI (ending in /posts/145)"}]})),
    )
)]
#[post("/w3c/posts/{post_id}/annotations")]
pub async fn create_w3c_annotation(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<W3cAnnotationInput>,
) -> Result<HttpResponse, ApiError> {
    let post_id = path.into_inner();
    let read = w3c::to_create(body.0, post_id)?;
    let how = Made::FromW3c {
        kept: read.extras.to_stored(),
        whole_post: read.whole_post,
    };
    // Gloss's checks name Gloss's fields: say them as paths into the document sent
    let created = annotate(&state, user, post_id, read.request, how)
        .await
        .map_err(|e| read.paths.rename(e))?;
    let extras = read.extras;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/w3c/annotations/{}", created.id),
        ))
        .content_type(w3c::MEDIA_TYPE)
        .json(w3c::from_annotation(
            &created,
            Some(&extras),
            &state.config.base_url(),
        )))
}

/// Which form of request an annotation comes from.
enum Made {
    /// Gloss's own: always a passage.
    Plain,
    /// A W3C document: what it held beyond Gloss's fields (kept in the same transaction), and
    /// whether its target is the whole post rather than a passage.
    FromW3c {
        kept: Option<String>,
        whole_post: bool,
    },
}

/// Makes an annotation on a post (both forms of the request end here).
async fn annotate(
    state: &AppState,
    user: AuthUser,
    post_id: i64,
    req: CreateAnnotation,
    how: Made,
) -> Result<Annotation, ApiError> {
    let (w3c_data, whole_post) = match how {
        Made::Plain => (None, false),
        Made::FromW3c { kept, whole_post } => (kept, whole_post),
    };
    let mut v = Validator::new();
    // a new annotation's text is left out when there is none, never sent blank
    v.check(
        !req.body.as_deref().is_some_and(|b| b.trim().is_empty()),
        "body",
        "must not be blank; leave it out for an annotation without text",
    );
    check_body(&mut v, req.body.as_deref(), req.motivation);
    check_tags(&mut v, &req.tags);
    if req.motivation == Motivation::Tagging {
        v.check(
            !req.tags.is_empty(),
            "tags",
            "a tagging annotation needs at least one tag",
        );
    }
    v.finish()?;
    let body_md = req.body.clone().filter(|b| !b.trim().is_empty());
    let rendered = crate::blocking::render_opt(state, body_md.clone()).await?;
    let created = state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, post_id)?;
            policy::can_annotate(&user, &post, &thread)?;
            user_db::require_active(conn, user.id)?;
            let selector = if whole_post {
                None
            } else {
                Some(selector_from_input(&post.body_text, &req.selector)?)
            };
            let quote = selector.as_ref().map(|s| &s.quote);
            let position = selector.as_ref().map(|s| &s.position);
            let t = now();
            // the annotation and the notifications it causes: one transaction
            let row = crate::db::transaction(conn, |conn| -> Result<AnnotationRow, ApiError> {
                let row = annotation_db::insert(
                    conn,
                    &NewAnnotation {
                        post_id,
                        user_id: user.id,
                        parent_id: None,
                        motivation: req.motivation.as_str().into(),
                        body: body_md.clone(),
                        body_html: rendered.as_ref().map(|r| r.html.clone()),
                        tags: serde_json::to_string(
                            &req.tags.iter().map(|t| t.trim()).collect::<Vec<_>>(),
                        )
                        .unwrap_or_else(|_| "[]".into()),
                        visibility: req.visibility.unwrap_or(Visibility::Public).as_str().into(),
                        quote_exact: quote.map(|q| q.exact.clone()),
                        quote_prefix: quote.map(|q| q.prefix.clone()),
                        quote_suffix: quote.map(|q| q.suffix.clone()),
                        start_pos: position.map(|p| p.start as i64),
                        end_pos: position.map(|p| p.end as i64),
                        created_revision: post.revision,
                        anchored_revision: post.revision,
                        created_at: t,
                        updated_at: t,
                    },
                )?;
                if let Some(data) = &w3c_data {
                    annotation_db::insert_w3c(conn, row.id, data)?;
                }
                notification_db::notify_annotation(conn, &row, &post, None)?;
                Ok(row)
            })?;
            one(build_annotations(conn, &[row], &[&post])?)
        })
        .await?;
    state.hub.after_write();
    Ok(created)
}

/// A post's annotations: the public ones and the caller's private ones, in text order.
///
/// The same list as a W3C AnnotationCollection is at `GET /w3c/posts/{post_id}/annotations`.
#[utoipa::path(
    tag = "annotations",
    params(("post_id" = i64, Path, description = "Post id", example = 145), AnnotationListParams),
    responses(
        (status = 200, description = "A page of annotations", body = Page<Annotation>),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts/{post_id}/annotations")]
pub async fn list_post_annotations(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<AnnotationListParams>,
) -> Result<web::Json<Page<Annotation>>, ApiError> {
    Ok(web::Json(
        post_annotations(&state, viewer, path.into_inner(), query.0).await?,
    ))
}

/// Which W3C collection of a post's annotations, and its page size.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct W3cPostListParams {
    /// Items per page of the collection (default 20, at most 100).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
    /// Only annotations in this state: a collection of its own.
    #[param(example = "orphaned", value_type = Option<AnchorStateView>)]
    pub anchor_state: Option<String>,
}

/// The page size of a W3C collection.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct W3cPageSize {
    /// Items per page of the collection (default 20, at most 100).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
}

fn post_list(base: &str, post_id: i64, anchor_state: Option<&str>) -> NumberedList {
    NumberedList {
        list: format!("{base}/api/v1/w3c/posts/{post_id}/annotations"),
        filter: anchor_state
            .map(|s| format!("anchor_state={s}"))
            .unwrap_or_default(),
        label: format!("Annotations on post {post_id}"),
    }
}

/// A post's annotations as a W3C AnnotationCollection (JSON-LD): how many the caller may see,
/// and the IRIs of the first and last pages (`GET /w3c/posts/{post_id}/annotations/pages/{page}`).
#[utoipa::path(
    tag = "annotations",
    params(("post_id" = i64, Path, description = "Post id", example = 145), W3cPostListParams),
    responses(
        (status = 200, description = "The collection", body = W3cAnnotationCollection, content_type = "application/ld+json"),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/w3c/posts/{post_id}/annotations")]
pub async fn get_w3c_post_collection(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<W3cPostListParams>,
) -> Result<HttpResponse, ApiError> {
    let post_id = path.into_inner();
    let q = query.0;
    let list = post_list(&state.config.base_url(), post_id, q.anchor_state.as_deref());
    let per_page = q.per_page;
    let params = AnnotationListParams {
        page: Some(1),
        per_page,
        anchor_state: q.anchor_state,
    };
    let total = post_annotation_count(&state, viewer, post_id, params).await?;
    Ok(jsonld(list.collection(
        total,
        per_page.unwrap_or(crate::pagination::DEFAULT_PER_PAGE),
    )))
}

/// A page of a post's W3C AnnotationCollection: an AnnotationPage (JSON-LD) with the same items
/// and order as `GET /posts/{post_id}/annotations`.
#[utoipa::path(
    tag = "annotations",
    params(
        ("post_id" = i64, Path, description = "Post id", example = 145),
        ("page" = u32, Path, description = "1-based page number", example = 1, minimum = 1, maximum = 1000000),
        W3cPostListParams,
    ),
    responses(
        (status = 200, description = "A page of annotations", body = W3cAnnotationPage, content_type = "application/ld+json"),
        (status = 404, description = "No such post, or a page past the last", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/w3c/posts/{post_id}/annotations/pages/{page}")]
pub async fn get_w3c_post_page(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<(i64, u32)>,
    query: Query<W3cPostListParams>,
) -> Result<HttpResponse, ApiError> {
    let (post_id, page) = path.into_inner();
    let q = query.0;
    let base = state.config.base_url();
    let list = post_list(&base, post_id, q.anchor_state.as_deref());
    let params = AnnotationListParams {
        page: Some(page),
        per_page: q.per_page,
        anchor_state: q.anchor_state,
    };
    let result = post_annotations(&state, viewer, post_id, params).await?;
    past_the_end(&result)?;
    let extras = w3c_extras(&state, &result.items).await?;
    Ok(jsonld(list.page(&result, &extras, &base)))
}

/// A page of a W3C collection exists from 1 to the last (page 1 also when the collection is
/// empty); a later one is a 404, not an empty page that links to more missing ones.
fn past_the_end(page: &Page<Annotation>) -> Result<(), ApiError> {
    if i64::from(page.page) > page.total_pages.max(1) {
        return Err(ApiError::not_found(format!(
            "page {} is past the last page of the collection ({})",
            page.page,
            page.total_pages.max(1)
        )));
    }
    Ok(())
}

/// What W3C documents held beyond Gloss's fields, for these annotations.
async fn w3c_extras(
    state: &AppState,
    list: &[Annotation],
) -> Result<HashMap<i64, Extras>, ApiError> {
    let ids: Vec<i64> = list.iter().map(|a| a.id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    state
        .db
        .run(move |conn| {
            Ok(annotation_db::w3c_data(conn, &ids)?
                .into_iter()
                .map(|(id, data)| (id, Extras::from_stored(&data)))
                .collect())
        })
        .await
}

/// The page and filter of a list of a post's annotations, checked.
fn post_list_request(q: &AnnotationListParams) -> Result<PageRequest, ApiError> {
    let page = PageParams {
        page: q.page,
        per_page: q.per_page,
    }
    .validate()?;
    if let Some(s) = &q.anchor_state {
        Validator::new()
            .check(
                matches!(s.as_str(), "anchored" | "moved" | "orphaned"),
                "anchor_state",
                "must be anchored, moved or orphaned",
            )
            .finish()?;
    }
    Ok(page)
}

/// How many of a post's annotations `viewer` may see (with the list's filter).
async fn post_annotation_count(
    state: &AppState,
    viewer: MaybeUser,
    post_id: i64,
    q: AnnotationListParams,
) -> Result<i64, ApiError> {
    post_list_request(&q)?;
    state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, post_id)?;
            policy::can_view_post(viewer.0.as_ref(), &post, &thread)?;
            let filter = ListFilter {
                anchor_state: q.anchor_state.as_deref(),
            };
            let (_, total) =
                annotation_db::list_for_post(conn, post_id, viewer.0.map(|v| v.id), filter, 0, 0)?;
            Ok(total)
        })
        .await
}

/// A page of a post's annotations as `viewer` may see them.
async fn post_annotations(
    state: &AppState,
    viewer: MaybeUser,
    post_id: i64,
    q: AnnotationListParams,
) -> Result<Page<Annotation>, ApiError> {
    let page = post_list_request(&q)?;
    state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, post_id)?;
            policy::can_view_post(viewer.0.as_ref(), &post, &thread)?;
            let filter = ListFilter {
                anchor_state: q.anchor_state.as_deref(),
            };
            let (rows, total) = annotation_db::list_for_post(
                conn,
                post_id,
                viewer.0.map(|v| v.id),
                filter,
                page.offset(),
                page.limit(),
            )?;
            Ok(page.page(build_annotations(conn, &rows, &[&post])?, total))
        })
        .await
}

/// One annotation (or reply). Its W3C form is at `GET /w3c/annotations/{annotation_id}`.
#[utoipa::path(
    tag = "annotations",
    params(("annotation_id" = i64, Path, description = "Annotation id", example = 7)),
    responses(
        (status = 200, description = "The annotation", body = Annotation),
        (status = 404, description = "No such annotation (or not visible to the caller)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/annotations/{annotation_id}")]
pub async fn get_annotation(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
) -> Result<web::Json<Annotation>, ApiError> {
    Ok(web::Json(
        annotation_for(&state, viewer, path.into_inner()).await?,
    ))
}

/// One annotation (or reply) as a W3C Web Annotation (JSON-LD).
#[utoipa::path(
    tag = "annotations",
    params(("annotation_id" = i64, Path, description = "Annotation id", example = 7)),
    responses(
        (status = 200, description = "The annotation", body = W3cAnnotation, content_type = "application/ld+json"),
        (status = 404, description = "No such annotation (or not visible to the caller)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/w3c/annotations/{annotation_id}")]
pub async fn get_w3c_annotation(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let a = annotation_for(&state, viewer, path.into_inner()).await?;
    let extras = w3c_extras(&state, std::slice::from_ref(&a)).await?;
    Ok(jsonld(w3c::from_annotation(
        &a,
        extras.get(&a.id),
        &state.config.base_url(),
    )))
}

/// One annotation as `viewer` may see it (a 404 when they may not).
async fn annotation_for(
    state: &AppState,
    viewer: MaybeUser,
    id: i64,
) -> Result<Annotation, ApiError> {
    state
        .db
        .run(move |conn| {
            let (a, post, _) = visible_annotation(conn, viewer.0.as_ref(), id)?;
            one(build_annotations(conn, &[a], &[&post])?)
        })
        .await
}

/// Change an annotation's motivation, body, tags or visibility (its author only).
#[utoipa::path(
    tag = "annotations",
    security(("bearer_auth" = [])),
    params(("annotation_id" = i64, Path, description = "Annotation id", example = 7)),
    request_body = UpdateAnnotation,
    responses(
        (status = 200, description = "The annotation", body = Annotation),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Not the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such annotation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/annotations/{annotation_id}")]
pub async fn update_annotation(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<UpdateAnnotation>,
) -> Result<web::Json<Annotation>, ApiError> {
    let id = path.into_inner();
    let req = body.0;
    let a = state
        .db
        .run(move |conn| {
            let (a, post, _) = visible_annotation(conn, Some(&user), id)?;
            policy::can_edit_annotation(&user, &a)?;
            user_db::require_active(conn, user.id)?;
            let motivation = req.motivation.unwrap_or(Motivation::parse(&a.motivation));
            let mut v = Validator::new();
            if let Some(b) = &req.body {
                check_body(&mut v, Some(b), motivation);
            }
            if let Some(t) = &req.tags {
                check_tags(&mut v, t);
            }
            if a.parent_id.is_some() && req.visibility.is_some() {
                v.check(
                    false,
                    "visibility",
                    "a reply has the visibility of the annotation it answers",
                );
            }
            v.finish()?;
            let body = req.body.map(|b| Some(b).filter(|b| !b.trim().is_empty()));
            let changes = AnnotationChanges {
                motivation: req.motivation.map(|m| m.as_str().to_string()),
                body_html: body.as_ref().map(|b| b.as_deref().map(|b| render(b).html)),
                body,
                tags: req
                    .tags
                    .map(|t| serde_json::to_string(&t).unwrap_or_else(|_| "[]".into())),
                visibility: req.visibility.map(|v| v.as_str().to_string()),
                updated_at: Some(now()),
            };
            let row = crate::db::transaction(conn, |conn| -> Result<AnnotationRow, ApiError> {
                let row = annotation_db::update(conn, id, &changes)?;
                // replies are seen with what they answer
                annotation_db::set_reply_visibility(conn, row.id, &row.visibility)?;
                Ok(row)
            })?;
            one(build_annotations(conn, &[row], &[&post])?)
        })
        .await?;
    Ok(web::Json(a))
}

/// Delete an annotation and its replies (its author, or a moderator).
#[utoipa::path(
    tag = "annotations",
    security(("bearer_auth" = [])),
    params(("annotation_id" = i64, Path, description = "Annotation id", example = 7)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Not the author or a moderator", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such annotation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/annotations/{annotation_id}")]
pub async fn delete_annotation(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    state
        .db
        .run(move |conn| {
            let (a, _, _) = visible_annotation(conn, Some(&user), id)?;
            policy::can_delete_annotation(&user, &a)?;
            Ok(annotation_db::delete(conn, &a)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Reply to an annotation: the discussion under it. A reply to a reply joins the same discussion.
#[utoipa::path(
    tag = "annotations",
    security(("bearer_auth" = [])),
    params(("annotation_id" = i64, Path, description = "Annotation id", example = 7)),
    request_body = CreateReply,
    responses(
        (status = 201, description = "The reply", body = Annotation),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "The thread is locked", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such annotation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/annotations/{annotation_id}/replies")]
pub async fn create_reply(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<CreateReply>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let req = body.0;
    let mut v = Validator::new();
    check_body(&mut v, Some(&req.body), Motivation::Replying);
    v.finish()?;
    let rendered = crate::blocking::render(&state, req.body.clone()).await?;
    let reply = state
        .db
        .run(move |conn| {
            let (a, post, thread) = visible_annotation(conn, Some(&user), id)?;
            let parent = match a.parent_id {
                Some(p) => annotation_db::find(conn, p)?
                    .ok_or_else(|| ApiError::not_found("no such annotation"))?,
                None => a,
            };
            policy::can_annotate(&user, &post, &thread)?;
            user_db::require_active(conn, user.id)?;
            let t = now();
            // the annotation and the notifications it causes: one transaction
            let row = crate::db::transaction(conn, |conn| -> Result<AnnotationRow, ApiError> {
                let row = annotation_db::insert(
                    conn,
                    &NewAnnotation {
                        post_id: parent.post_id,
                        user_id: user.id,
                        parent_id: Some(parent.id),
                        motivation: Motivation::Replying.as_str().into(),
                        body: Some(req.body.clone()),
                        body_html: Some(rendered.html.clone()),
                        tags: "[]".into(),
                        visibility: parent.visibility.clone(),
                        quote_exact: None,
                        quote_prefix: None,
                        quote_suffix: None,
                        start_pos: None,
                        end_pos: None,
                        created_revision: post.revision,
                        anchored_revision: post.revision,
                        created_at: t,
                        updated_at: t,
                    },
                )?;
                notification_db::notify_annotation(conn, &row, &post, Some(&parent))?;
                Ok(row)
            })?;
            one(build_annotations(conn, &[row], &[&post])?)
        })
        .await?;
    state.hub.after_write();
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/annotations/{}", reply.id),
        ))
        .json(reply))
}

/// The replies to an annotation, oldest first.
#[utoipa::path(
    tag = "annotations",
    params(("annotation_id" = i64, Path, description = "Annotation id", example = 7), PageParams),
    responses(
        (status = 200, description = "A page of replies", body = Page<Annotation>),
        (status = 404, description = "No such annotation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/annotations/{annotation_id}/replies")]
pub async fn list_replies(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<PageParams>,
) -> Result<web::Json<Page<Annotation>>, ApiError> {
    let id = path.into_inner();
    let page = query.0.validate()?;
    let result = state
        .db
        .run(move |conn| {
            let (a, post, _) = visible_annotation(conn, viewer.0.as_ref(), id)?;
            let (rows, total) = annotation_db::replies(
                conn,
                a.parent_id.unwrap_or(a.id),
                page.offset(),
                page.limit(),
            )?;
            Ok(page.page(build_annotations(conn, &rows, &[&post])?, total))
        })
        .await?;
    Ok(web::Json(result))
}

/// Every annotation visible to the caller on a thread's visible posts, in reading order.
#[utoipa::path(
    operation_id = "list_thread_annotations",
    tag = "annotations",
    params(("thread_id" = i64, Path, description = "Thread id", example = 9), PageParams),
    responses(
        (status = 200, description = "A page of annotations", body = Page<Annotation>),
        (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/threads/{thread_id}/annotations")]
pub async fn thread_annotations(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<PageParams>,
) -> Result<web::Json<Page<Annotation>>, ApiError> {
    let page = query.0.validate()?;
    Ok(web::Json(
        thread_annotation_page(&state, viewer, path.into_inner(), Some(page)).await?,
    ))
}

/// A page of a thread's annotations as `viewer` may see them; with no page, only the count
/// (`total`).
async fn thread_annotation_page(
    state: &AppState,
    viewer: MaybeUser,
    id: i64,
    page: Option<PageRequest>,
) -> Result<Page<Annotation>, ApiError> {
    state
        .db
        .run(move |conn| {
            let thread = thread_db::find(conn, id)?
                .ok_or_else(|| ApiError::not_found(format!("no thread has id {id}")))?;
            policy::can_view_thread(viewer.0.as_ref(), &thread)?;
            let (offset, limit) = page.map_or((0, 0), |p| (p.offset(), p.limit()));
            let (rows, total) =
                annotation_db::list_for_thread(conn, id, viewer.0.map(|v| v.id), offset, limit)?;
            let page = page.unwrap_or(PageRequest {
                page: 1,
                per_page: crate::pagination::DEFAULT_PER_PAGE,
            });
            Ok(page.page(build_annotations(conn, &rows, &[])?, total))
        })
        .await
}

fn thread_list(base: &str, thread_id: i64) -> NumberedList {
    NumberedList {
        list: format!("{base}/api/v1/w3c/threads/{thread_id}/annotations"),
        filter: String::new(),
        label: format!("Annotations in thread {thread_id}"),
    }
}

/// A thread's annotations as a W3C AnnotationCollection (JSON-LD): how many the caller may see
/// on its visible posts, and the IRIs of the first and last pages.
#[utoipa::path(
    tag = "annotations",
    params(("thread_id" = i64, Path, description = "Thread id", example = 9), W3cPageSize),
    responses(
        (status = 200, description = "The collection", body = W3cAnnotationCollection, content_type = "application/ld+json"),
        (status = 404, description = "No such thread", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page size", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/w3c/threads/{thread_id}/annotations")]
pub async fn get_w3c_thread_collection(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<W3cPageSize>,
) -> Result<HttpResponse, ApiError> {
    let thread_id = path.into_inner();
    let page = PageParams {
        page: None,
        per_page: query.0.per_page,
    }
    .validate()?;
    let counted = thread_annotation_page(&state, viewer, thread_id, None).await?;
    let list = thread_list(&state.config.base_url(), thread_id);
    Ok(jsonld(list.collection(counted.total, page.per_page)))
}

/// A page of a thread's W3C AnnotationCollection: an AnnotationPage (JSON-LD) with the same
/// items and order as `GET /threads/{thread_id}/annotations`.
#[utoipa::path(
    tag = "annotations",
    params(
        ("thread_id" = i64, Path, description = "Thread id", example = 9),
        ("page" = u32, Path, description = "1-based page number", example = 1, minimum = 1, maximum = 1000000),
        W3cPageSize,
    ),
    responses(
        (status = 200, description = "A page of annotations", body = W3cAnnotationPage, content_type = "application/ld+json"),
        (status = 404, description = "No such thread, or a page past the last", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/w3c/threads/{thread_id}/annotations/pages/{page}")]
pub async fn get_w3c_thread_page(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<(i64, u32)>,
    query: Query<W3cPageSize>,
) -> Result<HttpResponse, ApiError> {
    let (thread_id, page) = path.into_inner();
    let page = PageParams {
        page: Some(page),
        per_page: query.0.per_page,
    }
    .validate()?;
    let result = thread_annotation_page(&state, viewer, thread_id, Some(page)).await?;
    past_the_end(&result)?;
    let extras = w3c_extras(&state, &result.items).await?;
    let base = state.config.base_url();
    Ok(jsonld(
        thread_list(&base, thread_id).page(&result, &extras, &base),
    ))
}

/// A member's annotations and replies visible to the caller, newest first (a feed).
#[utoipa::path(
    operation_id = "list_user_annotations",
    tag = "annotations",
    params(("username" = String, Path, description = "Username, case ignored", example = "lin"), CursorParams),
    responses(
        (status = 200, description = "Newest first", body = CursorPage<Annotation>),
        (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{username}/annotations")]
pub async fn user_annotations(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<String>,
    query: Query<CursorParams>,
) -> Result<web::Json<CursorPage<Annotation>>, ApiError> {
    let req = query.0.validate()?;
    Ok(web::Json(
        user_feed(&state, viewer, path.into_inner(), req).await?.1,
    ))
}

/// A page of a member's annotations and replies as `viewer` may see them, newest first, with
/// the member's username as spelled at registration.
async fn user_feed(
    state: &AppState,
    viewer: MaybeUser,
    username: String,
    req: CursorRequest,
) -> Result<(String, CursorPage<Annotation>), ApiError> {
    state
        .db
        .run(move |conn| {
            let u = user_db::find_by_username(conn, &username)?
                .ok_or_else(|| ApiError::not_found(format!("no member is named {username:?}")))?;
            let rows = annotation_db::list_by_user(
                conn,
                u.id,
                viewer.0.map(|v| v.id),
                req.before,
                req.fetch(),
            )?;
            let (rows, next_cursor) = req.split(rows, |a| a.id);
            // replies to someone else's private annotation stay with it
            let parents: Vec<i64> = rows.iter().filter_map(|a| a.parent_id).collect();
            let viewer_id = viewer.0.map(|v| v.id);
            let hidden_parents: Vec<i64> = annotation_db::find_many(conn, &parents)?
                .into_iter()
                .filter(|p| !p.visible_to(viewer_id))
                .map(|p| p.id)
                .collect();
            let rows: Vec<AnnotationRow> = rows
                .into_iter()
                .filter(|a| a.parent_id.is_none_or(|p| !hidden_parents.contains(&p)))
                .collect();
            Ok((
                u.username,
                CursorPage {
                    items: build_annotations(conn, &rows, &[])?,
                    next_cursor,
                },
            ))
        })
        .await
}

/// The page size of a member's W3C collection.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct W3cFeedSize {
    /// Items per page (default 20, at most 100).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub limit: Option<u32>,
}

fn user_list(base: &str, username: &str) -> FeedList {
    FeedList {
        list: format!("{base}/api/v1/w3c/users/{username}/annotations"),
        label: format!("Annotations by {username}"),
    }
}

/// A member's annotations as a W3C AnnotationCollection (JSON-LD), newest first: the IRI of its
/// first page. A feed has no `total` and no `last` (counting it would read the member's whole
/// history on every request); its pages link onwards with `next`.
#[utoipa::path(
    tag = "annotations",
    params(("username" = String, Path, description = "Username, case ignored", example = "lin"), W3cFeedSize),
    responses(
        (status = 200, description = "The collection", body = W3cAnnotationCollection, content_type = "application/ld+json"),
        (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/w3c/users/{username}/annotations")]
pub async fn get_w3c_user_collection(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query<W3cFeedSize>,
) -> Result<HttpResponse, ApiError> {
    let req = CursorParams {
        cursor: None,
        limit: query.0.limit,
    }
    .validate()?;
    let username = path.into_inner();
    let name = username.clone();
    let found = state
        .db
        .run(move |conn| {
            user_db::find_by_username(conn, &name)?
                .ok_or_else(|| ApiError::not_found(format!("no member is named {name:?}")))
        })
        .await?;
    let list = user_list(&state.config.base_url(), &found.username);
    Ok(jsonld(list.collection(req.limit)))
}

/// A page of a member's W3C AnnotationCollection: an AnnotationPage (JSON-LD) with the same
/// items and order as `GET /users/{username}/annotations`; `next` continues the feed.
#[utoipa::path(
    tag = "annotations",
    params(("username" = String, Path, description = "Username, case ignored", example = "lin"), CursorParams),
    responses(
        (status = 200, description = "A page of annotations, newest first", body = W3cAnnotationPage, content_type = "application/ld+json"),
        (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/w3c/users/{username}/annotations/pages")]
pub async fn get_w3c_user_page(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<String>,
    query: Query<CursorParams>,
) -> Result<HttpResponse, ApiError> {
    let cursor = query.0.cursor.clone().filter(|c| !c.is_empty());
    let req = query.0.validate()?;
    let (name, result) = user_feed(&state, viewer, path.into_inner(), req).await?;
    let extras = w3c_extras(&state, &result.items).await?;
    let base = state.config.base_url();
    Ok(jsonld(user_list(&base, &name).page(
        cursor.as_deref(),
        req.limit,
        &result,
        &extras,
        &base,
    )))
}

/// Who cited which passage of a post.
#[utoipa::path(
    operation_id = "list_post_citations",
    tag = "annotations",
    params(("post_id" = i64, Path, description = "Post id", example = 145), PageParams),
    responses(
        (status = 200, description = "A page of citations, oldest first", body = Page<Citation>),
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts/{post_id}/citations")]
pub async fn post_citations(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<PageParams>,
) -> Result<web::Json<Page<Citation>>, ApiError> {
    let post_id = path.into_inner();
    let page = query.0.validate()?;
    let result = state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, post_id)?;
            policy::can_view_thread(viewer.0.as_ref(), &thread)?;
            // a deleted source keeps its citations (they live in the citing posts) but not its
            // current text: only moderators see where the passage is now
            let source_visible = policy::can_view_post(viewer.0.as_ref(), &post, &thread).is_ok();
            let (rows, total) = citations::cited_by(conn, post_id, page.offset(), page.limit())?;
            let viewer_id = viewer.0.map(|v| v.id);
            let visible_annotations: Vec<i64> = annotation_db::find_many(
                conn,
                &rows
                    .iter()
                    .filter_map(|(c, _)| c.annotation_id)
                    .collect::<Vec<_>>(),
            )?
            .into_iter()
            .filter(|a| a.visible_to(viewer_id))
            .map(|a| a.id)
            .collect();
            let users = load_users(conn, &rows.iter().map(|(_, u)| *u).collect::<Vec<_>>())?;
            let items = rows
                .into_iter()
                .map(|(c, author)| {
                    let (start, end) = (
                        c.current_start
                            .filter(|_| source_visible)
                            .map(|s| s as usize),
                        c.current_end.filter(|_| source_visible).map(|e| e as usize),
                    );
                    let (start_utf16, end_utf16) = match (start, end) {
                        (Some(s), Some(e)) => {
                            let u = utf16_offsets(&post.body_text, &[s, e]);
                            (Some(u[0]), Some(u[1]))
                        }
                        _ => (None, None),
                    };
                    Citation {
                        id: c.id,
                        citing_post_id: c.citing_post_id,
                        citing_author: users
                            .get(&author)
                            .map(UserRef::from)
                            .unwrap_or_else(|| unknown_ref(author)),
                        cited_post_id: c.cited_post_id,
                        cited_revision: c.cited_revision,
                        source_changed: post.is_deleted() || post.revision != c.cited_revision,
                        selector: TextSelector {
                            exact: if source_visible {
                                c.current_exact
                                    .clone()
                                    .unwrap_or_else(|| c.quoted_text.clone())
                            } else {
                                c.quoted_text.clone()
                            },
                            // the context around the passage is the source's text: not shown
                            // to those who may not read the (deleted) source
                            prefix: if source_visible {
                                c.quote_prefix.clone()
                            } else {
                                String::new()
                            },
                            suffix: if source_visible {
                                c.quote_suffix.clone()
                            } else {
                                String::new()
                            },
                            start,
                            end,
                            start_utf16,
                            end_utf16,
                        },
                        quoted_text: c.quoted_text,
                        anchor_state: AnchorStateView::parse(&c.anchor_state),
                        annotation_id: c.annotation_id.filter(|a| visible_annotations.contains(a)),
                        created_at: utc(c.created_at),
                    }
                })
                .collect();
            Ok(page.page(items, total))
        })
        .await?;
    Ok(web::Json(result))
}

/// The routes of this module.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_annotation)
        .service(create_w3c_annotation)
        .service(list_post_annotations)
        .service(get_w3c_post_collection)
        .service(get_w3c_post_page)
        .service(get_w3c_thread_collection)
        .service(get_w3c_thread_page)
        .service(get_w3c_user_collection)
        .service(get_w3c_user_page)
        .service(get_annotation)
        .service(get_w3c_annotation)
        .service(update_annotation)
        .service(delete_annotation)
        .service(create_reply)
        .service(list_replies)
        .service(thread_annotations)
        .service(user_annotations)
        .service(post_citations);
}
