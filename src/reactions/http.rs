//! `/reaction-kinds` and `/posts/{id}/reactions`.

use actix_web::{delete, get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::db::{self as reaction_db, KindRow};
use super::view::{reactions_of_kinds, ReactionCount};
use crate::auth::{AuthUser, MaybeUser};
use crate::db::utc;
use crate::error::{ApiError, Problem, Validator};
use crate::extract::{Json, Query};
use crate::pagination::{Page, PageParams};
use crate::policy;
use crate::posts::lookup::post_and_thread;
use crate::users::cards::{load_users, unknown_ref, UserRef};
use crate::users::db as user_db;
use crate::AppState;

/// A kind of reaction members can give.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"key": "like", "label": "Like", "emoji": "👍", "position": 0}))]
pub struct ReactionKind {
    pub key: String,
    pub label: String,
    pub emoji: String,
    pub position: i32,
}

impl From<&KindRow> for ReactionKind {
    fn from(k: &KindRow) -> Self {
        ReactionKind {
            key: k.key.clone(),
            label: k.label.clone(),
            emoji: k.emoji.clone(),
            position: k.position,
        }
    }
}

/// Every reaction kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReactionKindList {
    pub items: Vec<ReactionKind>,
}

/// A new reaction kind.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "insightful", "label": "Insightful", "emoji": "💡"}))]
pub struct CreateReactionKind {
    /// 1 to 32 lowercase letters, digits or `_`; unique.
    #[schema(max_length = 32)]
    pub key: String,
    /// 1 to 50 characters.
    #[schema(max_length = 50)]
    pub label: String,
    /// 1 to 16 characters.
    #[schema(max_length = 16)]
    pub emoji: String,
    #[serde(default)]
    pub position: Option<i32>,
}

/// A post's reactions.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostReactions {
    pub post_id: i64,
    pub reactions: Vec<ReactionCount>,
}

/// A member who reacted.
#[derive(Debug, Serialize, ToSchema)]
pub struct Reactor {
    pub user: UserRef,
    pub kind: String,
    pub reacted_at: DateTime<Utc>,
}

/// Which reactions to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReactorParams {
    /// Only this kind.
    #[param(example = "like")]
    pub kind: Option<String>,
    #[param(minimum = 1, maximum = 1000000, example = 1)]
    pub page: Option<u32>,
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub per_page: Option<u32>,
}

/// The reaction kinds members can give.
#[utoipa::path(
    operation_id = "list_reaction_kinds",
    tag = "reactions",
    responses(
        (status = 200, description = "Every kind, in order", body = ReactionKindList),
        (status = 503, description = "The database is busy", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reaction-kinds")]
pub async fn list_kinds(
    state: web::Data<AppState>,
) -> Result<web::Json<ReactionKindList>, ApiError> {
    let rows = state.db.run(|conn| Ok(reaction_db::kinds(conn)?)).await?;
    Ok(web::Json(ReactionKindList {
        items: rows.iter().map(ReactionKind::from).collect(),
    }))
}

/// Add a reaction kind (admins).
#[utoipa::path(
    operation_id = "create_reaction_kind",
    tag = "reactions",
    security(("bearer_auth" = [])),
    request_body = CreateReactionKind,
    responses(
        (status = 201, description = "Created", body = ReactionKind),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 409, description = "Key taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reaction-kinds")]
pub async fn create_kind(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CreateReactionKind>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let req = body.0;
    let mut v = Validator::new();
    v.check(
        (1..=32).contains(&req.key.len())
            && req
                .key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "key",
        "must be 1 to 32 lowercase letters, digits or '_'",
    );
    v.check(
        (1..=50).contains(&req.label.trim().chars().count()),
        "label",
        "must be 1 to 50 characters",
    );
    v.check(
        (1..=16).contains(&req.emoji.trim().chars().count()),
        "emoji",
        "must be 1 to 16 characters",
    );
    v.finish()?;
    let row = state
        .db
        .run(move |conn| {
            if reaction_db::kinds(conn)?.iter().any(|k| k.key == req.key) {
                return Err(ApiError::conflict_field(
                    "key",
                    "is already a reaction kind",
                ));
            }
            Ok(reaction_db::insert_kind(
                conn,
                &req.key,
                req.label.trim(),
                req.emoji.trim(),
                req.position.unwrap_or(0),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(ReactionKind::from(&row)))
}

async fn react(
    state: &AppState,
    user: AuthUser,
    post_id: i64,
    kind: String,
    on: bool,
) -> Result<PostReactions, ApiError> {
    state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, post_id)?;
            policy::can_react(&user, &post, &thread)?;
            user_db::require_active(conn, user.id)?;
            let kinds = reaction_db::kinds(conn)?;
            let k = kinds
                .iter()
                .find(|k| k.key == kind)
                .cloned()
                .ok_or_else(|| {
                    ApiError::not_found(format!("no reaction kind is called {kind:?}"))
                })?;
            crate::db::transaction(conn, |conn| -> Result<(), ApiError> {
                if on {
                    if reaction_db::add(conn, post.id, post.user_id, k.id, user.id)? {
                        crate::notifications::db::notify_reaction(conn, &post, user.id, &k.key)?;
                    }
                } else {
                    reaction_db::remove(conn, post.id, post.user_id, k.id, user.id)?;
                }
                Ok(())
            })?;
            let mut all = reactions_of_kinds(conn, &kinds, &[post.id], Some(user.id))?;
            Ok(PostReactions {
                post_id: post.id,
                reactions: all.remove(&post.id).unwrap_or_default(),
            })
        })
        .await
}

/// React to a post (idempotent: the same answer on repeat). Members cannot react to their own posts.
#[utoipa::path(
    tag = "reactions",
    security(("bearer_auth" = [])),
    params(("post_id" = i64, Path, description = "Post id", example = 145), ("kind" = String, Path, description = "Reaction kind", example = "like")),
    responses(
        (status = 200, description = "The post's reactions", body = PostReactions),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Your own post", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post or kind", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/posts/{post_id}/reactions/{kind}")]
pub async fn add_reaction(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, String)>,
) -> Result<web::Json<PostReactions>, ApiError> {
    let (post_id, kind) = path.into_inner();
    let reactions = react(&state, user, post_id, kind, true).await?;
    state.hub.after_write();
    Ok(web::Json(reactions))
}

/// Take a reaction back (idempotent).
#[utoipa::path(
    tag = "reactions",
    security(("bearer_auth" = [])),
    params(("post_id" = i64, Path, description = "Post id", example = 145), ("kind" = String, Path, description = "Reaction kind", example = "like")),
    responses(
        (status = 204, description = "Removed (or was not there)"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Your own post", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such post or kind", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/posts/{post_id}/reactions/{kind}")]
pub async fn remove_reaction(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    let (post_id, kind) = path.into_inner();
    react(&state, user, post_id, kind, false).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who reacted to a post, newest first.
#[utoipa::path(
    operation_id = "list_post_reactions",
    tag = "reactions",
    params(("post_id" = i64, Path, description = "Post id", example = 145), ReactorParams),
    responses(
        (status = 200, description = "A page of reactions", body = Page<Reactor>),
        (status = 404, description = "No such post or kind", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/posts/{post_id}/reactions")]
pub async fn list_reactors(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<ReactorParams>,
) -> Result<web::Json<Page<Reactor>>, ApiError> {
    let post_id = path.into_inner();
    let q = query.0;
    let page = PageParams {
        page: q.page,
        per_page: q.per_page,
    }
    .validate()?;
    let result = state
        .db
        .run(move |conn| {
            let (post, thread) = post_and_thread(conn, post_id)?;
            policy::can_view_post(viewer.0.as_ref(), &post, &thread)?;
            let kinds = reaction_db::kinds(conn)?;
            let kind_id = match &q.kind {
                Some(k) => Some(
                    kinds
                        .iter()
                        .find(|x| &x.key == k)
                        .map(|x| x.id)
                        .ok_or_else(|| ApiError::invalid_field("kind", "is not a reaction kind"))?,
                ),
                None => None,
            };
            let (rows, total) =
                reaction_db::list(conn, post_id, kind_id, page.offset(), page.limit())?;
            let users = load_users(conn, &rows.iter().map(|r| r.0).collect::<Vec<_>>())?;
            let items = rows
                .into_iter()
                .map(|(u, k, at)| Reactor {
                    user: users
                        .get(&u)
                        .map(UserRef::from)
                        .unwrap_or_else(|| unknown_ref(u)),
                    kind: kinds
                        .iter()
                        .find(|x| x.id == k)
                        .map(|x| x.key.clone())
                        .unwrap_or_default(),
                    reacted_at: utc(at),
                })
                .collect();
            Ok(page.page(items, total))
        })
        .await?;
    Ok(web::Json(result))
}

/// The routes of this module.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_kinds)
        .service(create_kind)
        .service(add_reaction)
        .service(remove_reaction)
        .service(list_reactors);
}
