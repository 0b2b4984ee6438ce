//! `/me` and `/users`: the caller's account, public profiles, and the admin list.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::cards::{load_cards, Account, AuthorCard};
use super::db::{self as user_db, email_key, ProfileChanges, User};
use super::validate::{validate_email, validate_password};
use super::Role;
use crate::auth::{passwords, AuthUser};
use crate::db::now;
use crate::error::{ApiError, ErrorKind, Problem, Validator};
use crate::extract::{Json, Query};
use crate::pagination::{Page, PageParams};
use crate::policy;
use crate::profiles::db as profile_db;
use crate::profiles::fields::check_value as check_profile_value;
use crate::AppState;
use std::collections::BTreeMap;

/// A member's public profile: the author card, and the about text. Never an email or a secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserProfile {
    #[serde(flatten)]
    pub card: AuthorCard,
    #[schema(required = true)]
    pub about: Option<String>,
}

/// Changes to the caller's profile: an absent field is left as is, `null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"display_name": "Saif", "about": "Defense analyst."}))]
pub struct UpdateMe {
    /// At most 64 characters; `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 64)]
    pub display_name: Option<Option<String>>,
    /// Unique; `null` removes it.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 254, pattern = "^\\s*(?:[^\\s@\\u0000]+@[^\\s@.\\u0000][^\\s@\\u0000]*\\.[^\\s@\\u0000]*[^\\s@.\\u0000])?\\s*$")]
    pub email: Option<Option<String>>,
    /// At most 2000 characters; `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub about: Option<Option<String>>,
    /// An `https` (or `http`) URL of the member's avatar image, at most 500 characters; `null` clears it.
    #[serde(default, deserialize_with = "crate::extract::double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub avatar_url: Option<Option<String>>,
    /// Profile field values by key (see `GET /profile-fields`); `null` clears one.
    #[serde(default)]
    pub profile: Option<BTreeMap<String, Option<String>>>,
    /// Watch the threads one starts or replies to automatically.
    pub auto_watch: Option<bool>,
    /// Leave one out of "Members online".
    pub hide_presence: Option<bool>,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"current_password": "a long secret phrase", "new_password": "an even longer secret phrase"}))]
pub struct ChangePassword {
    #[schema(max_length = 1024)]
    pub current_password: String,
    /// At least 10 characters, not equal to the username.
    #[schema(min_length = 10, max_length = 1024)]
    pub new_password: String,
}

/// What an admin may change about a member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "moderator"}))]
pub struct AdminUpdateUser {
    pub role: Option<Role>,
    /// `true` bans: the member can no longer sign in or refresh, and their logins are revoked.
    pub disabled: Option<bool>,
}

async fn load_user(state: &AppState, id: i64) -> Result<User, ApiError> {
    state
        .db
        .run(move |conn| {
            user_db::find(conn, id)?
                .ok_or_else(|| ApiError::not_found("the account no longer exists"))
        })
        .await
}

/// The caller's account.
#[utoipa::path(
    tag = "me",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, description = "The caller's account", body = Account),
        (status = 401, response = crate::error::Unauthorized),
    )
)]
#[get("/me")]
pub async fn get_me(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<web::Json<Account>, ApiError> {
    let u = load_user(&state, user.id).await?;
    Ok(web::Json(Account::new(
        &u,
        state.config.upload_quota_bytes(),
    )))
}

/// Change the caller's display name, email or about text.
#[utoipa::path(
    tag = "me",
    security(("bearer_auth" = [])),
    request_body = UpdateMe,
    responses(
        (status = 200, description = "The updated account", body = Account),
        (status = 401, response = crate::error::Unauthorized),
        (status = 409, description = "Email in use", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<UpdateMe>,
) -> Result<web::Json<Account>, ApiError> {
    let req = body.0;
    let trim = |v: Option<Option<String>>| {
        v.map(|o| o.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
    };
    let display_name = trim(req.display_name);
    let email = trim(req.email);
    let about = req.about.map(|o| o.filter(|s| !s.trim().is_empty()));
    let (profile, auto_watch, hide_presence) = (req.profile, req.auto_watch, req.hide_presence);
    let avatar_url = trim(req.avatar_url);
    let mut v = Validator::new();
    if let Some(Some(name)) = &display_name {
        v.check(
            name.chars().count() <= 64,
            "display_name",
            "must be at most 64 characters",
        );
    }
    if let Some(Some(email)) = &email {
        validate_email(&mut v, "email", email);
    }
    if let Some(Some(url)) = &avatar_url {
        let ok = url.len() <= 500
            && url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        v.check(
            ok,
            "avatar_url",
            "must be an http or https URL of at most 500 characters",
        );
    }
    if let Some(Some(about)) = &about {
        v.check(
            about.chars().count() <= 2000,
            "about",
            "must be at most 2000 characters",
        );
    }
    v.finish()?;
    let id = user.id;
    let updated = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                if let Some(Some(e)) = &email {
                    if user_db::email_taken(conn, e, Some(id))? {
                        return Err(ApiError::conflict_field(
                            "email",
                            "is already in use by another account",
                        ));
                    }
                }
                if let Some(values) = &profile {
                    let fields = profile_db::fields(conn)?;
                    let mut v = Validator::new();
                    let mut checked = Vec::new();
                    for (key, value) in values {
                        let field = format!("profile.{key}");
                        match (fields.iter().find(|f| &f.key == key), value) {
                            (None, _) => {
                                v.check(false, &field, "is not a profile field");
                            }
                            (Some(f), None) => checked.push((f.id, None)),
                            (Some(f), Some(raw)) => match check_profile_value(f, raw) {
                                Ok(val) => checked.push((f.id, Some(val))),
                                Err(m) => {
                                    v.check(false, &field, m);
                                }
                            },
                        }
                    }
                    v.finish()?;
                    for (field_id, value) in checked {
                        profile_db::set_value(conn, id, field_id, value.as_deref())?;
                    }
                }
                let changes = ProfileChanges {
                    email_key: email.as_ref().map(|o| o.as_deref().map(email_key)),
                    display_name: display_name.clone(),
                    email: email.clone(),
                    about: about.clone(),
                    auto_watch,
                    hide_presence,
                    avatar_url: avatar_url.clone(),
                    updated_at: Some(now()),
                };
                Ok(user_db::update_profile(conn, id, &changes)?)
            })
        })
        .await?;
    Ok(web::Json(Account::new(
        &updated,
        state.config.upload_quota_bytes(),
    )))
}

/// Change the caller's password; every refresh token of the account is revoked.
#[utoipa::path(
    tag = "me",
    security(("bearer_auth" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Password changed; sign in again on other devices"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "The current password is wrong", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<ChangePassword>,
) -> Result<HttpResponse, ApiError> {
    let req = body.0;
    let u = load_user(&state, user.id).await?;
    let mut v = Validator::new();
    validate_password(&mut v, "new_password", &req.new_password, &u.username);
    v.finish()?;
    let stored = u.password_hash.clone();
    let new_hash = web::block(move || {
        if passwords::verify(&req.current_password, &stored) {
            passwords::hash(&req.new_password).map(Some)
        } else {
            Ok(None)
        }
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(ApiError::internal)?
    .ok_or_else(|| ApiError::new(ErrorKind::Forbidden, "current_password is wrong"))?;
    state
        .db
        .run(move |conn| Ok(user_db::set_password(conn, user.id, &new_hash)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A member's public profile.
#[utoipa::path(
    tag = "users",
    params(("username" = String, Path, description = "Username, case ignored", example = "saif")),
    responses(
        (status = 200, description = "The profile", body = UserProfile),
        (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users/{username}")]
pub async fn get_user(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<web::Json<UserProfile>, ApiError> {
    let username = path.into_inner();
    let profile = state
        .db
        .run(move |conn| {
            let u = user_db::find_by_username(conn, &username)?
                .ok_or_else(|| ApiError::not_found(format!("no member is named {username:?}")))?;
            let card = load_cards(conn, &[u.id])?
                .remove(&u.id)
                .ok_or_else(|| ApiError::not_found("no such member"))?;
            Ok(UserProfile {
                card,
                about: u.about,
            })
        })
        .await?;
    Ok(web::Json(profile))
}

/// Every account, with private fields (admins only).
#[utoipa::path(
    tag = "users",
    security(("bearer_auth" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of accounts", body = Page<Account>),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, response = crate::error::NotAnAdmin),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<PageParams>,
) -> Result<web::Json<Page<Account>>, ApiError> {
    policy::can_administer_users(&user)?;
    let page = query.0.validate()?;
    let (rows, total) = state
        .db
        .run(move |conn| Ok(user_db::list(conn, page.offset(), page.limit())?))
        .await?;
    Ok(web::Json(
        page.page(
            rows.iter()
                .map(|u| Account::new(u, state.config.upload_quota_bytes()))
                .collect(),
            total,
        ),
    ))
}

/// Change a member's role or ban them (admins only).
#[utoipa::path(
    tag = "users",
    security(("bearer_auth" = [])),
    params(("username" = String, Path, description = "Username, case ignored", example = "saif")),
    request_body = AdminUpdateUser,
    responses(
        (status = 200, description = "The updated account", body = Account),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Not an admin, or an admin changing their own role or ban", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such member", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/users/{username}")]
pub async fn admin_update_user(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<String>,
    body: Json<AdminUpdateUser>,
) -> Result<web::Json<Account>, ApiError> {
    policy::can_administer_users(&user)?;
    let username = path.into_inner();
    let req = body.0;
    let updated = state
        .db
        .run(move |conn| {
            let target = user_db::find_by_username(conn, &username)?
                .ok_or_else(|| ApiError::not_found(format!("no member is named {username:?}")))?;
            policy::can_change_role_or_ban(&user, target.id)?;
            Ok(user_db::set_role_and_status(
                conn,
                target.id,
                req.role,
                req.disabled,
            )?)
        })
        .await?;
    Ok(web::Json(Account::new(
        &updated,
        state.config.upload_quota_bytes(),
    )))
}

/// The routes of this module.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_me)
        .service(update_me)
        .service(change_password)
        .service(list_users)
        .service(get_user)
        .service(admin_update_user);
}
