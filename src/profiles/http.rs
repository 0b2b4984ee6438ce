//! `/profile-fields`, `/groups`, `/ranks`: what author cards are made of.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db::{self as profile_db, GroupRow, ProfileFieldRow};
use super::fields::ProfileFieldType;
use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::{ApiError, Problem, Validator};
use crate::extract::Json;
use crate::policy;
use crate::users::db as user_db;
use crate::AppState;

/// A profile field members fill in.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "key": "nation", "label": "Nation", "field_type": "country", "options": null, "position": 0}))]
pub struct ProfileField {
    pub id: i64,
    pub key: String,
    pub label: String,
    pub field_type: ProfileFieldType,
    /// The values of a `choice` field; `null` otherwise.
    #[schema(required = true)]
    pub options: Option<Vec<String>>,
    pub position: i32,
}

impl From<&ProfileFieldRow> for ProfileField {
    fn from(f: &ProfileFieldRow) -> Self {
        ProfileField {
            id: f.id,
            key: f.key.clone(),
            label: f.label.clone(),
            field_type: ProfileFieldType::parse(&f.field_type),
            options: f
                .options
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok()),
            position: f.position,
        }
    }
}

/// Every profile field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileFieldList {
    pub items: Vec<ProfileField>,
}

/// A new profile field.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "residence", "label": "Residence", "field_type": "country"}))]
pub struct CreateProfileField {
    /// 1 to 32 lowercase letters, digits or `_`, starting with a letter; unique.
    #[schema(max_length = 32)]
    pub key: String,
    #[schema(max_length = 50)]
    pub label: String,
    pub field_type: ProfileFieldType,
    /// Required for `choice` fields, refused for others.
    #[serde(default)]
    pub options: Option<Vec<String>>,
    #[serde(default)]
    pub position: Option<i32>,
}

/// A user group and its badge.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "Axis Group", "badge": "Axis Group", "position": 0}))]
pub struct Group {
    pub id: i64,
    pub name: String,
    /// The label shown on author cards.
    pub badge: String,
    pub position: i32,
}

impl From<&GroupRow> for Group {
    fn from(g: &GroupRow) -> Self {
        Group {
            id: g.id,
            name: g.name.clone(),
            badge: g.badge.clone(),
            position: g.position,
        }
    }
}

/// Every group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupList {
    pub items: Vec<Group>,
}

/// A new group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Axis Group", "badge": "Axis Group"}))]
pub struct CreateGroup {
    /// 1 to 50 characters; unique.
    #[schema(max_length = 50)]
    pub name: String,
    /// 1 to 32 characters.
    #[schema(max_length = 32)]
    pub badge: String,
    #[serde(default)]
    pub position: Option<i32>,
}

/// One rung of the rank ladder.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"min_messages": 1000, "title": "Senior Member"}))]
pub struct Rank {
    /// The message count from which the title applies.
    pub min_messages: i64,
    #[schema(max_length = 50)]
    pub title: String,
}

/// The rank ladder.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"items": [{"min_messages": 0, "title": "New Member"}, {"min_messages": 100, "title": "Member"},
    {"min_messages": 1000, "title": "Senior Member"}]}))]
pub struct RankLadder {
    /// Lowest first; the first rung must start at 0.
    pub items: Vec<Rank>,
}

/// The profile fields members fill in.
#[utoipa::path(
    operation_id = "list_profile_fields", tag = "profiles", responses(
    (status = 200, description = "Every field, in order", body = ProfileFieldList),
    (status = 503, description = "The database is busy", body = Problem, content_type = "application/problem+json"),
))]
#[get("/profile-fields")]
pub async fn list_fields(
    state: web::Data<AppState>,
) -> Result<web::Json<ProfileFieldList>, ApiError> {
    let rows = state.db.run(|conn| Ok(profile_db::fields(conn)?)).await?;
    Ok(web::Json(ProfileFieldList {
        items: rows.iter().map(ProfileField::from).collect(),
    }))
}

/// Add a profile field (admins).
#[utoipa::path(
    operation_id = "create_profile_field", tag = "profiles", security(("bearer_auth" = [])), request_body = CreateProfileField, responses(
    (status = 201, description = "Created", body = ProfileField),
    (status = 401, response = crate::error::Unauthorized),
    (status = 403, response = crate::error::NotAnAdmin),
    (status = 409, description = "Key taken", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
#[post("/profile-fields")]
pub async fn create_field(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CreateProfileField>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let req = body.0;
    let mut v = Validator::new();
    v.check(
        (1..=32).contains(&req.key.len())
            && req.key.starts_with(|c: char| c.is_ascii_lowercase())
            && req
                .key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "key",
        "must be 1 to 32 lowercase letters, digits or '_', starting with a letter",
    );
    v.check(
        (1..=50).contains(&req.label.trim().chars().count()),
        "label",
        "must be 1 to 50 characters",
    );
    match (req.field_type, &req.options) {
        (ProfileFieldType::Choice, Some(o)) => {
            v.check(
                (1..=100).contains(&o.len())
                    && o.iter().all(|s| {
                        (1..=100).contains(&s.trim().chars().count()) && s.chars().count() <= 100
                    }),
                "options",
                "must be 1 to 100 values of 1 to 100 characters",
            );
        }
        (ProfileFieldType::Choice, None) => {
            v.check(false, "options", "is required for a choice field");
        }
        (_, Some(_)) => {
            v.check(false, "options", "is only for choice fields");
        }
        _ => {}
    }
    v.finish()?;
    let row = state
        .db
        .run(move |conn| {
            if profile_db::fields(conn)?.iter().any(|f| f.key == req.key) {
                return Err(ApiError::conflict_field(
                    "key",
                    "is already a profile field",
                ));
            }
            let options = req
                .options
                .map(|o| serde_json::to_string(&o).unwrap_or_default());
            Ok(profile_db::insert_field(
                conn,
                &req.key,
                req.label.trim(),
                req.field_type.as_str(),
                options,
                req.position.unwrap_or(0),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(ProfileField::from(&row)))
}

/// Delete a profile field and every member's value of it (admins).
#[utoipa::path(
    operation_id = "delete_profile_field", tag = "profiles", security(("bearer_auth" = [])),
    params(("field_id" = i64, Path, description = "Profile field id", example = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such field", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/profile-fields/{field_id}")]
pub async fn delete_field(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    let n = state
        .db
        .run(move |conn| Ok(profile_db::delete_field(conn, id)?))
        .await?;
    if n == 0 {
        return Err(ApiError::not_found(format!("no profile field has id {id}")));
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The user groups.
#[utoipa::path(tag = "profiles", responses(
    (status = 200, description = "Every group, in order", body = GroupList),
    (status = 503, description = "The database is busy", body = Problem, content_type = "application/problem+json"),
))]
#[get("/groups")]
pub async fn list_groups(state: web::Data<AppState>) -> Result<web::Json<GroupList>, ApiError> {
    let rows = state.db.run(|conn| Ok(profile_db::groups(conn)?)).await?;
    Ok(web::Json(GroupList {
        items: rows.iter().map(Group::from).collect(),
    }))
}

/// Add a user group (admins).
#[utoipa::path(tag = "profiles", security(("bearer_auth" = [])), request_body = CreateGroup, responses(
    (status = 201, description = "Created", body = Group),
    (status = 401, response = crate::error::Unauthorized),
    (status = 403, response = crate::error::NotAnAdmin),
    (status = 409, description = "Name taken", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
))]
#[post("/groups")]
pub async fn create_group(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<CreateGroup>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let req = body.0;
    Validator::new()
        .check(
            (1..=50).contains(&req.name.trim().chars().count()),
            "name",
            "must be 1 to 50 characters",
        )
        .check(
            (1..=32).contains(&req.badge.trim().chars().count()),
            "badge",
            "must be 1 to 32 characters",
        )
        .finish()?;
    let row = state
        .db
        .run(move |conn| {
            if profile_db::groups(conn)?
                .iter()
                .any(|g| g.name == req.name.trim())
            {
                return Err(ApiError::conflict_field("name", "is already a group"));
            }
            Ok(profile_db::insert_group(
                conn,
                req.name.trim(),
                req.badge.trim(),
                req.position.unwrap_or(0),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(Group::from(&row)))
}

/// Delete a user group (admins).
#[utoipa::path(tag = "profiles", security(("bearer_auth" = [])),
    params(("group_id" = i64, Path, description = "Group id", example = 1)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such group", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/groups/{group_id}")]
pub async fn delete_group(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let id = path.into_inner();
    let n = state
        .db
        .run(move |conn| Ok(profile_db::delete_group(conn, id)?))
        .await?;
    if n == 0 {
        return Err(ApiError::not_found(format!("no group has id {id}")));
    }
    Ok(HttpResponse::NoContent().finish())
}

fn group_and_member(
    conn: &mut DbConn,
    group_id: i64,
    username: &str,
) -> Result<(i64, i64), ApiError> {
    if !profile_db::groups(conn)?.iter().any(|g| g.id == group_id) {
        return Err(ApiError::not_found(format!("no group has id {group_id}")));
    }
    let u = user_db::find_by_username(conn, username)?
        .ok_or_else(|| ApiError::not_found(format!("no member is named {username:?}")))?;
    Ok((group_id, u.id))
}

/// Put a member in a group (admins; idempotent).
#[utoipa::path(operation_id = "add_group_member", tag = "profiles", security(("bearer_auth" = [])),
    params(("group_id" = i64, Path, description = "Group id", example = 1), ("username" = String, Path, description = "Username", example = "saif")),
    responses(
        (status = 204, description = "The member is in the group"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such group or member", body = Problem, content_type = "application/problem+json"),
))]
#[put("/groups/{group_id}/members/{username}")]
pub async fn add_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let (group_id, username) = path.into_inner();
    state
        .db
        .run(move |conn| {
            let (g, u) = group_and_member(conn, group_id, &username)?;
            Ok(profile_db::add_member(conn, g, u)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Take a member out of a group (admins; idempotent).
#[utoipa::path(operation_id = "remove_group_member", tag = "profiles", security(("bearer_auth" = [])),
    params(("group_id" = i64, Path, description = "Group id", example = 1), ("username" = String, Path, description = "Username", example = "saif")),
    responses(
        (status = 204, description = "The member is not in the group"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 404, description = "No such group or member", body = Problem, content_type = "application/problem+json"),
))]
#[delete("/groups/{group_id}/members/{username}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, ApiError> {
    policy::can_manage_forums(&user)?;
    let (group_id, username) = path.into_inner();
    state
        .db
        .run(move |conn| {
            let (g, u) = group_and_member(conn, group_id, &username)?;
            Ok(profile_db::remove_member(conn, g, u)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The rank ladder: titles earned by message count.
#[utoipa::path(operation_id = "get_rank_ladder", tag = "profiles", responses(
    (status = 200, description = "The ladder, lowest first", body = RankLadder),
    (status = 503, description = "The database is busy", body = Problem, content_type = "application/problem+json"),
))]
#[get("/ranks")]
pub async fn get_ranks(state: web::Data<AppState>) -> Result<web::Json<RankLadder>, ApiError> {
    let rows = state.db.run(|conn| Ok(profile_db::ranks(conn)?)).await?;
    Ok(web::Json(RankLadder {
        items: rows
            .into_iter()
            .map(|(min_messages, title)| Rank {
                min_messages,
                title,
            })
            .collect(),
    }))
}

/// Replace the rank ladder (admins).
#[utoipa::path(operation_id = "put_rank_ladder", tag = "profiles", security(("bearer_auth" = [])), request_body = RankLadder, responses(
    (status = 200, description = "The new ladder", body = RankLadder),
    (status = 401, response = crate::error::Unauthorized),
    (status = 403, response = crate::error::NotAnAdmin),
    (status = 422, description = "Invalid ladder", body = Problem, content_type = "application/problem+json"),
))]
#[put("/ranks")]
pub async fn put_ranks(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<RankLadder>,
) -> Result<web::Json<RankLadder>, ApiError> {
    policy::can_manage_forums(&user)?;
    let mut items = body.0.items;
    items.sort_by_key(|r| r.min_messages);
    let mut mins: Vec<i64> = items.iter().map(|r| r.min_messages).collect();
    mins.dedup();
    Validator::new()
        .check(
            items.first().is_some_and(|r| r.min_messages == 0),
            "items",
            "the first rung must start at 0 messages",
        )
        .check(
            mins.len() == items.len(),
            "items",
            "each rung needs its own min_messages",
        )
        .check(items.len() <= 50, "items", "at most 50 rungs")
        .check(
            items
                .iter()
                .all(|r| (1..=50).contains(&r.title.trim().chars().count())),
            "items",
            "each title must be 1 to 50 characters",
        )
        .finish()?;
    let ladder: Vec<(i64, String)> = items
        .iter()
        .map(|r| (r.min_messages, r.title.trim().to_string()))
        .collect();
    state
        .db
        .run(move |conn| Ok(profile_db::replace_ranks(conn, &ladder)?))
        .await?;
    Ok(web::Json(RankLadder { items }))
}

/// The routes of this module.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_fields)
        .service(create_field)
        .service(delete_field)
        .service(list_groups)
        .service(create_group)
        .service(delete_group)
        .service(add_member)
        .service(remove_member)
        .service(get_ranks)
        .service(put_ranks);
}
