//! `/forums`, `/prefixes`, `/thread-fields`: the forum tree, and per-forum prefixes and fields.

use actix_web::{delete, get, http::header, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::db::{
    self as forum_db, FieldChanges, FieldRow, ForumChanges, ForumRow, NewField, NewForum, PrefixRow,
};
use super::fields::{options_of, FieldType};
use super::view::{build_forums, into_tree, Forum, ForumKind};
use crate::auth::AuthUser;
use crate::db::{now, DbConn};
use crate::error::{ApiError, ErrorKind, Problem, Validator};
use crate::extract::{Json, Query};
use crate::policy;
use crate::threads::db as thread_db;
use crate::AppState;

/// The forum tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForumTree {
    /// Top-level categories and forums, each with its children.
    pub items: Vec<Forum>,
}

/// A new category or forum.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "forum", "parent_id": 1, "title": "Chinese Defense", "description": "PLA, its doctrine and equipment."}))]
pub struct CreateForum {
    pub kind: ForumKind,
    /// A category (or forum) to nest under; `null` or absent for the top level.
    #[serde(default)]
    pub parent_id: Option<i64>,
    /// 1 to 100 characters.
    #[schema(max_length = 100)]
    pub title: String,
    /// Lowercase letters, digits and `-`; made from the title when absent. Unique.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub slug: Option<String>,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Order among siblings; defaults to 0.
    #[serde(default)]
    pub position: Option<i32>,
}

/// Changes to a forum; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Chinese Defence", "position": 2}))]
pub struct UpdateForum {
    /// Move under another node; `null` moves to the top level.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(value_type = Option<i64>)]
    pub parent_id: Option<Option<i64>>,
    #[schema(max_length = 100)]
    pub title: Option<String>,
    #[schema(max_length = 64)]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
    pub position: Option<i32>,
}

/// Where to put a deleted forum's threads.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteForumParams {
    /// A forum to move the threads to; required when the forum has threads.
    pub move_threads_to: Option<i64>,
}

/// A label a thread may carry (e.g. a flag emoji).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "forum_id": 2, "label": "🇨🇳", "position": 0}))]
pub struct Prefix {
    pub id: i64,
    pub forum_id: i64,
    pub label: String,
    pub position: i32,
}

impl From<&PrefixRow> for Prefix {
    fn from(p: &PrefixRow) -> Self {
        Prefix {
            id: p.id,
            forum_id: p.forum_id,
            label: p.label.clone(),
            position: p.position,
        }
    }
}

/// A forum's prefixes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrefixList {
    pub items: Vec<Prefix>,
}

/// A new prefix, or changes to one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "🇨🇳", "position": 0}))]
pub struct PrefixInput {
    /// 1 to 32 characters; emoji welcome.
    #[schema(max_length = 32)]
    pub label: Option<String>,
    pub position: Option<i32>,
}

/// A custom thread field.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "forum_id": 2, "key": "date_of_event", "label": "Date of Event", "description": null,
    "field_type": "date", "options": null, "required": true, "position": 0}))]
pub struct ThreadField {
    pub id: i64,
    pub forum_id: i64,
    /// The key under which threads carry the value.
    pub key: String,
    pub label: String,
    #[schema(required = true)]
    pub description: Option<String>,
    pub field_type: FieldType,
    /// The allowed values of a `choice` field; `null` for other types.
    #[schema(required = true)]
    pub options: Option<Vec<String>>,
    pub required: bool,
    pub position: i32,
}

impl From<&FieldRow> for ThreadField {
    fn from(f: &FieldRow) -> Self {
        ThreadField {
            id: f.id,
            forum_id: f.forum_id,
            key: f.key.clone(),
            label: f.label.clone(),
            description: f.description.clone(),
            field_type: FieldType::parse(&f.field_type).unwrap_or(FieldType::Text),
            options: options_of(f),
            required: f.required,
            position: f.position,
        }
    }
}

/// A forum's custom fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadFieldList {
    pub items: Vec<ThreadField>,
}

/// A new custom field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "date_of_event", "label": "Date of Event", "field_type": "date", "required": true}))]
pub struct CreateThreadField {
    /// 1 to 32 lowercase letters, digits or `_`, starting with a letter; unique in the forum.
    #[schema(max_length = 32)]
    pub key: String,
    #[schema(min_length = 1, max_length = 100)]
    pub label: String,
    /// At most 500 characters.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    pub field_type: FieldType,
    /// Required for `choice` fields (1 to 50 distinct values), refused for others.
    #[serde(default)]
    pub options: Option<Vec<String>>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub position: Option<i32>,
}

/// Changes to a custom field (its key and type are fixed once created).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"label": "Date of the event", "required": false}))]
pub struct UpdateThreadField {
    #[schema(max_length = 100)]
    pub label: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    /// At most 500 characters; `null` removes it.
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
    pub position: Option<i32>,
}

/// Makes a slug from a title: lowercase ASCII letters and digits joined by `-`.
pub fn slugify(title: &str) -> String {
    let mut slug = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug
        .trim_end_matches('-')
        .chars()
        .take(60)
        .collect::<String>();
    if slug.is_empty() {
        "forum".into()
    } else {
        slug
    }
}

fn valid_slug(slug: &str) -> bool {
    (1..=64).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

async fn load_forum(state: &AppState, id: i64) -> Result<ForumRow, ApiError> {
    state
        .db
        .run(move |conn| {
            forum_db::find(conn, id)?
                .ok_or_else(|| ApiError::not_found(format!("no forum has id {id}")))
        })
        .await
}

/// The forum tree, with counts and each forum's last post.
///
/// A fixed number of queries (three) whatever the number of forums.
#[utoipa::path(
    tag = "forums",
    responses(
        (status = 200, description = "Every category and forum, as a tree", body = ForumTree),
        (status = 503, description = "The database is busy", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/forums")]
pub async fn list_forums(state: web::Data<AppState>) -> Result<web::Json<ForumTree>, ApiError> {
    let flat = state
        .db
        .run(|conn| {
            let rows = forum_db::list_all(conn)?;
            build_forums(conn, &rows)
        })
        .await?;
    Ok(web::Json(ForumTree {
        items: into_tree(flat),
    }))
}

/// One category or forum, with its sub-forums.
#[utoipa::path(
    tag = "forums",
    params(("forum_id" = i64, Path, description = "Forum id", example = 2)),
    responses(
        (status = 200, description = "The forum", body = Forum),
        (status = 404, description = "No such forum", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/forums/{forum_id}")]
pub async fn get_forum(
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Forum>, ApiError> {
    let id = path.into_inner();
    let flat = state
        .db
        .run(move |conn| {
            let rows = forum_db::list_all(conn)?;
            if !rows.iter().any(|f| f.id == id) {
                return Err(ApiError::not_found(format!("no forum has id {id}")));
            }
            build_forums(conn, &rows)
        })
        .await?;
    // the whole tree, so that a category carries the sums of everything below it
    fn find(nodes: Vec<Forum>, id: i64) -> Option<Forum> {
        for n in nodes {
            if n.id == id {
                return Some(n);
            }
            if let Some(found) = find(n.children, id) {
                return Some(found);
            }
        }
        None
    }
    let me = find(into_tree(flat), id).ok_or_else(|| ApiError::not_found("no such forum"))?;
    Ok(web::Json(me))
}

fn check_forum_text(
    v: &mut Validator,
    title: Option<&str>,
    slug: Option<&str>,
    description: Option<&str>,
) {
    if let Some(t) = title {
        v.check(
            (1..=100).contains(&t.trim().chars().count()),
            "title",
            "must be 1 to 100 characters",
        );
    }
    if let Some(s) = slug {
        v.check(
            valid_slug(s),
            "slug",
            "must be 1 to 64 lowercase letters, digits or '-'",
        );
    }
    if let Some(d) = description {
        v.check(
            d.chars().count() <= 2000,
            "description",
            "must be at most 2000 characters",
        );
    }
}

/// Checks that `parent` can hold `id` (exists, and is not `id` itself or below it).
fn check_parent(conn: &mut DbConn, id: Option<i64>, parent: i64) -> Result<(), ApiError> {
    let all = forum_db::list_all(conn)?;
    let mut cursor = Some(parent);
    let mut steps = 0;
    if !all.iter().any(|f| f.id == parent) {
        return Err(ApiError::invalid_field("parent_id", "no forum has this id"));
    }
    while let Some(c) = cursor {
        if Some(c) == id || steps > 64 {
            return Err(ApiError::invalid_field(
                "parent_id",
                "a forum cannot be placed inside itself",
            ));
        }
        cursor = all.iter().find(|f| f.id == c).and_then(|f| f.parent_id);
        steps += 1;
    }
    Ok(())
}

/// Create a category or forum (admins).
#[utoipa::path(
    tag = "forums",
    security(("bearer_auth" = [])),
    request_body = CreateForum,
    responses(
        (status = 201, description = "Created", body = Forum, headers(("Location" = String, description = "The new forum"))),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 409, description = "Slug taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/forums")]
pub async fn create_forum(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CreateForum>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let req = body.0;
    let mut v = Validator::new();
    check_forum_text(
        &mut v,
        Some(&req.title),
        req.slug.as_deref(),
        req.description.as_deref(),
    );
    v.finish()?;
    let forum = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                if let Some(p) = req.parent_id {
                    check_parent(conn, None, p)?;
                }
                let slug = match req.slug.clone() {
                    Some(s) => {
                        if forum_db::slug_taken(conn, &s, None)? {
                            return Err(ApiError::conflict_field(
                                "slug",
                                "is already used by another forum",
                            ));
                        }
                        s
                    }
                    None => {
                        let base = slugify(&req.title);
                        let mut slug = base.clone();
                        let mut n = 2;
                        while forum_db::slug_taken(conn, &slug, None)? {
                            slug = format!("{base}-{n}");
                            n += 1;
                        }
                        slug
                    }
                };
                let t = now();
                let row = forum_db::insert(
                    conn,
                    &NewForum {
                        parent_id: req.parent_id,
                        kind: req.kind.as_str().into(),
                        title: req.title.trim().into(),
                        slug,
                        description: req.description.clone().filter(|d| !d.trim().is_empty()),
                        position: req.position.unwrap_or(0),
                        created_at: t,
                        updated_at: t,
                    },
                )?;
                build_forums(conn, &[row])
            })
        })
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("created forum missing"))?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/forums/{}", forum.id)))
        .json(forum))
}

/// Edit, move or reorder a forum (admins).
#[utoipa::path(
    tag = "forums",
    security(("bearer_auth" = [])),
    params(("forum_id" = i64, Path, description = "Forum id", example = 2)),
    request_body = UpdateForum,
    responses(
        (status = 200, description = "The updated forum", body = Forum),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such forum", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Slug taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/forums/{forum_id}")]
pub async fn update_forum(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<UpdateForum>,
) -> Result<web::Json<Forum>, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    let req = body.0;
    let mut v = Validator::new();
    check_forum_text(
        &mut v,
        req.title.as_deref(),
        req.slug.as_deref(),
        req.description.as_ref().and_then(|d| d.as_deref()),
    );
    v.finish()?;
    let forum = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                forum_db::find(conn, id)?
                    .ok_or_else(|| ApiError::not_found(format!("no forum has id {id}")))?;
                if let Some(Some(p)) = req.parent_id {
                    check_parent(conn, Some(id), p)?;
                }
                if let Some(s) = &req.slug {
                    if forum_db::slug_taken(conn, s, Some(id))? {
                        return Err(ApiError::conflict_field(
                            "slug",
                            "is already used by another forum",
                        ));
                    }
                }
                let row = forum_db::update(
                    conn,
                    id,
                    &ForumChanges {
                        parent_id: req.parent_id,
                        title: req.title.as_ref().map(|t| t.trim().to_string()),
                        slug: req.slug.clone(),
                        description: req.description.clone(),
                        position: req.position,
                        updated_at: Some(now()),
                    },
                )?;
                build_forums(conn, &[row])
            })
        })
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal("updated forum missing"))?;
    Ok(web::Json(forum))
}

/// Delete a forum (admins).
///
/// A forum with sub-forums cannot be deleted; one with threads only with `move_threads_to`
/// naming the forum that takes them (their prefixes and field values, which belong to the old
/// forum, are dropped).
#[utoipa::path(
    tag = "forums",
    security(("bearer_auth" = [])),
    params(("forum_id" = i64, Path, description = "Forum id", example = 2), DeleteForumParams),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such forum", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The forum still has threads or sub-forums", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid target forum", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/forums/{forum_id}")]
pub async fn delete_forum(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    query: Query<DeleteForumParams>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    let target = query.0.move_threads_to;
    state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                forum_db::find(conn, id)?.ok_or_else(|| ApiError::not_found(format!("no forum has id {id}")))?;
                if forum_db::child_count(conn, id)? > 0 {
                    return Err(ApiError::new(ErrorKind::Conflict, "the forum has sub-forums: move or delete them first"));
                }
                if forum_db::thread_total(conn, id)? > 0 {
                    let Some(to) = target else {
                        return Err(ApiError::new(
                            ErrorKind::Conflict,
                            "the forum has threads: pass move_threads_to with the forum that takes them",
                        ));
                    };
                    let dest = forum_db::find(conn, to)?;
                    match dest {
                        Some(d) if d.kind == "forum" && d.id != id => {}
                        _ => return Err(ApiError::invalid_field("move_threads_to", "must be another forum (not a category)")),
                    }
                    thread_db::move_all(conn, id, to)?;
                }
                forum_db::delete(conn, id)?;
                Ok(())
            })
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The prefixes threads in a forum may carry.
#[utoipa::path(
    tag = "forums",
    params(("forum_id" = i64, Path, description = "Forum id", example = 2)),
    responses(
        (status = 200, description = "The prefixes, in order", body = PrefixList),
        (status = 404, description = "No such forum", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/forums/{forum_id}/prefixes")]
pub async fn list_prefixes(
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<PrefixList>, ApiError> {
    let id = path.into_inner();
    load_forum(&state, id).await?;
    let rows = state
        .db
        .run(move |conn| Ok(forum_db::prefixes(conn, id)?))
        .await?;
    Ok(web::Json(PrefixList {
        items: rows.iter().map(Prefix::from).collect(),
    }))
}

fn check_label(v: &mut Validator, label: Option<&str>, required: bool) {
    match label {
        Some(l) => {
            v.check(
                (1..=32).contains(&l.trim().chars().count()),
                "label",
                "must be 1 to 32 characters",
            );
        }
        None => {
            v.check(!required, "label", "is required");
        }
    }
}

/// Add a prefix to a forum (admins).
#[utoipa::path(
    tag = "forums",
    security(("bearer_auth" = [])),
    params(("forum_id" = i64, Path, description = "Forum id", example = 2)),
    request_body = PrefixInput,
    responses(
        (status = 201, description = "Created", body = Prefix),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such forum", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/forums/{forum_id}/prefixes")]
pub async fn create_prefix(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<PrefixInput>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    let req = body.0;
    let mut v = Validator::new();
    check_label(&mut v, req.label.as_deref(), true);
    v.finish()?;
    load_forum(&state, id).await?;
    let label = req.label.unwrap_or_default().trim().to_string();
    let row = state
        .db
        .run(move |conn| {
            Ok(forum_db::insert_prefix(
                conn,
                id,
                &label,
                req.position.unwrap_or(0),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(Prefix::from(&row)))
}

/// Change a prefix (admins).
#[utoipa::path(
    tag = "forums",
    security(("bearer_auth" = [])),
    params(("prefix_id" = i64, Path, description = "Prefix id", example = 1)),
    request_body = PrefixInput,
    responses(
        (status = 200, description = "The prefix", body = Prefix),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such prefix", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/prefixes/{prefix_id}")]
pub async fn update_prefix(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<PrefixInput>,
) -> Result<web::Json<Prefix>, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    let req = body.0;
    let mut v = Validator::new();
    check_label(&mut v, req.label.as_deref(), false);
    v.finish()?;
    let row = state
        .db
        .run(move |conn| {
            forum_db::find_prefix(conn, id)?
                .ok_or_else(|| ApiError::not_found(format!("no prefix has id {id}")))?;
            Ok(forum_db::update_prefix(
                conn,
                id,
                req.label.map(|l| l.trim().to_string()),
                req.position,
            )?)
        })
        .await?;
    Ok(web::Json(Prefix::from(&row)))
}

/// Delete a prefix (admins); threads that carried it keep none.
#[utoipa::path(
    tag = "forums",
    security(("bearer_auth" = [])),
    params(("prefix_id" = i64, Path, description = "Prefix id", example = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such prefix", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/prefixes/{prefix_id}")]
pub async fn delete_prefix(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    state
        .db
        .run(move |conn| {
            forum_db::find_prefix(conn, id)?
                .ok_or_else(|| ApiError::not_found(format!("no prefix has id {id}")))?;
            Ok(forum_db::delete_prefix(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The custom fields threads in a forum carry.
#[utoipa::path(
    operation_id = "list_thread_fields",
    tag = "forums",
    params(("forum_id" = i64, Path, description = "Forum id", example = 2)),
    responses(
        (status = 200, description = "The fields, in order", body = ThreadFieldList),
        (status = 404, description = "No such forum", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/forums/{forum_id}/fields")]
pub async fn list_fields(
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<ThreadFieldList>, ApiError> {
    let id = path.into_inner();
    load_forum(&state, id).await?;
    let rows = state
        .db
        .run(move |conn| Ok(forum_db::fields(conn, id)?))
        .await?;
    Ok(web::Json(ThreadFieldList {
        items: rows.iter().map(ThreadField::from).collect(),
    }))
}

/// The longest description of a thread field.
const MAX_FIELD_DESCRIPTION: usize = 500;

fn check_field_description(v: &mut Validator, description: Option<&str>) {
    if let Some(d) = description {
        v.check(
            d.chars().count() <= MAX_FIELD_DESCRIPTION,
            "description",
            format!("must be at most {MAX_FIELD_DESCRIPTION} characters"),
        );
    }
}

fn check_options(v: &mut Validator, kind: FieldType, options: Option<&Vec<String>>) {
    match (kind, options) {
        (FieldType::Choice, Some(o)) => {
            let mut sorted: Vec<&String> = o.iter().collect();
            sorted.sort();
            sorted.dedup();
            v.check(
                (1..=50).contains(&o.len())
                    && sorted.len() == o.len()
                    && o.iter().all(|s| (1..=100).contains(&s.chars().count())),
                "options",
                "must be 1 to 50 distinct values of 1 to 100 characters",
            );
        }
        (FieldType::Choice, None) => {
            v.check(false, "options", "is required for a choice field");
        }
        (_, Some(_)) => {
            v.check(false, "options", "is only for choice fields");
        }
        _ => {}
    }
}

/// Add a custom field to a forum (admins).
#[utoipa::path(
    operation_id = "create_thread_field",
    tag = "forums",
    security(("bearer_auth" = [])),
    params(("forum_id" = i64, Path, description = "Forum id", example = 2)),
    request_body = CreateThreadField,
    responses(
        (status = 201, description = "Created", body = ThreadField),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such forum", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Key taken in this forum", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/forums/{forum_id}/fields")]
pub async fn create_field(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<CreateThreadField>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    let req = body.0;
    let mut v = Validator::new();
    let key_ok = (1..=32).contains(&req.key.len())
        && req.key.starts_with(|c: char| c.is_ascii_lowercase())
        && req
            .key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    v.check(
        key_ok,
        "key",
        "must be 1 to 32 lowercase letters, digits or '_', starting with a letter",
    );
    v.check(
        (1..=100).contains(&req.label.trim().chars().count()),
        "label",
        "must be 1 to 100 characters",
    );
    check_field_description(&mut v, req.description.as_deref());
    check_options(&mut v, req.field_type, req.options.as_ref());
    v.finish()?;
    load_forum(&state, id).await?;
    let row = state
        .db
        .run(move |conn| {
            if forum_db::fields(conn, id)?.iter().any(|f| f.key == req.key) {
                return Err(ApiError::conflict_field(
                    "key",
                    "is already a field of this forum",
                ));
            }
            Ok(forum_db::insert_field(
                conn,
                &NewField {
                    forum_id: id,
                    key: req.key,
                    label: req.label.trim().into(),
                    description: req.description,
                    field_type: req.field_type.as_str().into(),
                    options: req
                        .options
                        .map(|o| serde_json::to_string(&o).unwrap_or_default()),
                    required: req.required,
                    position: req.position.unwrap_or(0),
                    created_at: now(),
                },
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(ThreadField::from(&row)))
}

/// Change a custom field (admins). Its key and type are fixed.
#[utoipa::path(
    operation_id = "update_thread_field",
    tag = "forums",
    security(("bearer_auth" = [])),
    params(("field_id" = i64, Path, description = "Field id", example = 1)),
    request_body = UpdateThreadField,
    responses(
        (status = 200, description = "The field", body = ThreadField),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such field", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/thread-fields/{field_id}")]
pub async fn update_field(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
    body: Json<UpdateThreadField>,
) -> Result<web::Json<ThreadField>, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    let req = body.0;
    let row = state
        .db
        .run(move |conn| {
            let field = forum_db::find_field(conn, id)?
                .ok_or_else(|| ApiError::not_found(format!("no field has id {id}")))?;
            let mut v = Validator::new();
            if let Some(l) = &req.label {
                v.check(
                    (1..=100).contains(&l.trim().chars().count()),
                    "label",
                    "must be 1 to 100 characters",
                );
            }
            if req.options.is_some() {
                check_options(
                    &mut v,
                    FieldType::parse(&field.field_type).unwrap_or(FieldType::Text),
                    req.options.as_ref(),
                );
            }
            check_field_description(&mut v, req.description.as_ref().and_then(|d| d.as_deref()));
            v.finish()?;
            Ok(forum_db::update_field(
                conn,
                id,
                &FieldChanges {
                    label: req.label.map(|l| l.trim().to_string()),
                    description: req.description,
                    options: req
                        .options
                        .map(|o| Some(serde_json::to_string(&o).unwrap_or_default())),
                    required: req.required,
                    position: req.position,
                },
            )?)
        })
        .await?;
    Ok(web::Json(ThreadField::from(&row)))
}

/// Delete a custom field and every thread's value of it (admins).
#[utoipa::path(
    operation_id = "delete_thread_field",
    tag = "forums",
    security(("bearer_auth" = [])),
    params(("field_id" = i64, Path, description = "Field id", example = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such field", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/thread-fields/{field_id}")]
pub async fn delete_field(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    state
        .db
        .run(move |conn| {
            forum_db::find_field(conn, id)?
                .ok_or_else(|| ApiError::not_found(format!("no field has id {id}")))?;
            Ok(forum_db::delete_field(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The routes of this module.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_forums)
        .service(create_forum)
        .service(get_forum)
        .service(update_forum)
        .service(delete_forum)
        .service(list_prefixes)
        .service(create_prefix)
        .service(update_prefix)
        .service(delete_prefix)
        .service(list_fields)
        .service(create_field)
        .service(update_field)
        .service(delete_field);
}
