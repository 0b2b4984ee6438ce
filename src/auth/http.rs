//! `/auth`: register, login, refresh, logout.

use actix_web::{http::header, post, web, HttpRequest, HttpResponse};
use chrono::Duration as ChronoDuration;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db::{self as token_db, Presented};
use super::passwords;
use super::tokens::{hash_refresh_token, new_refresh_token};
use crate::db::{now, DbConn};
use crate::error::{ApiError, ErrorKind, Problem};
use crate::extract::Json;
use crate::users::cards::Account;
use crate::users::db::{self as user_db, email_key, username_key, NewUser, User};
use crate::users::validate::{
    check_not_staff_title, validate_email, validate_password, validate_username,
};
use crate::users::Role;
use crate::AppState;

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "saif", "password": "a long secret phrase", "email": "saif@example.org", "display_name": "Saif"}))]
pub struct RegisterRequest {
    /// 3 to 32 characters: ASCII letters, digits, `_`, `.` or `-`; unique without regard to case.
    #[schema(min_length = 3, max_length = 32, pattern = "^[A-Za-z0-9_.-]{3,32}$")]
    pub username: String,
    /// At least 10 characters (at most 1024), not equal to the username.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
    /// Optional; unique when given.
    #[serde(default)]
    #[schema(
        max_length = 254,
        pattern = "^\\s*(?:[^\\s@\\u0000]+@[^\\s@.\\u0000][^\\s@\\u0000]*\\.[^\\s@\\u0000]*[^\\s@.\\u0000])?\\s*$"
    )]
    pub email: Option<String>,
    /// Optional name shown instead of the username (at most 64 characters).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub display_name: Option<String>,
}

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "saif", "password": "a long secret phrase"}))]
pub struct LoginRequest {
    /// Username or email.
    #[schema(max_length = 254)]
    pub login: String,
    /// Password.
    #[schema(max_length = 1024)]
    pub password: String,
}

/// A refresh token presented for rotation or logout.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "grt_9Yc3k0ZxQ1u2v3w4x5y6z7A8B9C0D1E2F3G4H5I6J7K"}))]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[schema(max_length = 256)]
    pub refresh_token: String,
}

/// How the access token is sent: as a bearer token.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum TokenType {
    /// `Authorization: Bearer <access_token>`.
    Bearer,
}

/// A token pair and the account it belongs to.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLiJ9.eyJzdWIiOiIxIn0.sig",
    "refresh_token": "grt_9Yc3k0ZxQ1u2v3w4x5y6z7A8B9C0D1E2F3G4H5I6J7K",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_expires_in": 2592000,
    "user": {"id": 1, "username": "saif", "email": "saif@example.org", "display_name": "Saif", "about": null,
             "avatar_url": null, "avatars": null, "uploads": {"used_bytes": 0, "quota_bytes": 209715200}, "role": "member", "disabled": false, "auto_watch": true, "hide_presence": false,
             "created_at": "2026-11-28T10:00:00Z", "updated_at": "2026-11-28T10:00:00Z"}
}))]
pub struct TokenResponse {
    /// JWT to send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Opaque, single-use token for `POST /auth/refresh`.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
    /// The account.
    pub user: Account,
}

/// Issues an access token and a refresh token in `family` (a new login when `None`).
fn issue_tokens(
    state: &AppState,
    conn: &mut DbConn,
    user: &User,
    family: Option<String>,
) -> Result<TokenResponse, ApiError> {
    let access_token = state.tokens.issue(user.id, user.role())?;
    let (refresh_token, hash) = new_refresh_token();
    let family = family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let ttl = state.config.refresh_token_ttl;
    let expires_at = now() + ChronoDuration::seconds(ttl.as_secs() as i64);
    token_db::insert(conn, user.id, &family, &hash, expires_at)?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: TokenType::Bearer,
        expires_in: state.tokens.access_ttl().as_secs(),
        refresh_expires_in: ttl.as_secs(),
        user: Account::new(user, state.config.upload_quota_bytes()),
    })
}

/// Create an account.
///
/// Answers 201 with the account and a token pair, so the client is signed in at once. Fields a
/// client may not set (`role`, `id`, counters) are refused with 422.
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created; signed in", body = TokenResponse,
         headers(("Location" = String, description = "The new member's public profile"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Username or email taken", body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:conflict", "title": "Conflict", "status": 409,
                          "detail": "username: is already taken", "code": "conflict",
                          "errors": [{"field": "username", "message": "is already taken"}]})),
        (status = 413, description = "Body too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address (or, on login, too many failed logins for this account from it); see Retry-After", body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:rate_limited", "title": "Too many requests", "status": 429,
                          "detail": "too many failed sign-ins for this account from this address; retry in 840 s",
                          "code": "rate_limited", "errors": []})),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: Json<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.0;
    let address = state.limits.client_address(&http);
    let email = req
        .email
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    let display_name = req
        .display_name
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    let mut v = crate::error::Validator::new();
    validate_username(&mut v, "username", &req.username);
    check_not_staff_title(&mut v, "username", &req.username);
    validate_password(&mut v, "password", &req.password, &req.username);
    if let Some(email) = &email {
        validate_email(&mut v, "email", email);
    }
    if let Some(name) = &display_name {
        v.check(
            name.chars().count() <= 64,
            "display_name",
            "must be at most 64 characters",
        );
    }
    v.finish()?;
    // counted before the costly hash, so a flood costs the server little
    let st = state.clone();
    state
        .db
        .run(move |conn| st.limits.check_auth(conn, &address))
        .await?;

    let password = req.password;
    let password_hash = web::block(move || passwords::hash(&password))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::internal)?;

    let username = req.username;
    let st = state.clone();
    let response = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| {
                if user_db::username_taken(conn, &username)? {
                    return Err(ApiError::conflict_field("username", "is already taken"));
                }
                if let Some(email) = &email {
                    if user_db::email_taken(conn, email, None)? {
                        return Err(ApiError::conflict_field(
                            "email",
                            "is already in use by another account",
                        ));
                    }
                }
                let t = now();
                let user = user_db::insert(
                    conn,
                    &NewUser {
                        username: &username,
                        username_key: username_key(&username),
                        email: email.as_deref(),
                        email_key: email.as_deref().map(email_key),
                        display_name: display_name.as_deref(),
                        password_hash: &password_hash,
                        role: Role::Member.as_str(),
                        created_at: t,
                        updated_at: t,
                    },
                )?; // two registrations racing for one name or email: the unique index decides (409 naming it)
                issue_tokens(&st, conn, &user, None)
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/users/{}", response.user.username),
        ))
        .json(response))
}

/// Sign in with username or email.
///
/// A wrong username and a wrong password get the same 401, in about the same time.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong login or password", body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:invalid_credentials", "title": "Invalid login or password", "status": 401,
                          "detail": "the login or the password is wrong", "code": "invalid_credentials", "errors": []})),
        (status = 403, description = "The account is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address (or, on login, too many failed logins for this account from it); see Retry-After", body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:rate_limited", "title": "Too many requests", "status": 429,
                          "detail": "too many failed sign-ins for this account from this address; retry in 840 s",
                          "code": "rate_limited", "errors": []})),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: Json<LoginRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let req = body.0;
    let address = state.limits.client_address(&http);
    if req.login.len() > 254 || req.password.len() > 1024 {
        return Err(bad_credentials());
    }
    let login = req.login.trim().to_string();
    let (st, addr) = (state.clone(), address.clone());
    let (user, account) = state
        .db
        .run(move |conn| {
            st.limits.check_auth(conn, &addr)?;
            let user = user_db::find_by_login(conn, &login)?;
            // one count per account, whether it is named by username or by email
            let account = match &user {
                Some(u) => format!("user:{}", u.id),
                None => login.to_lowercase(),
            };
            st.limits.check_login(conn, &account, &addr)?;
            Ok((user, account))
        })
        .await?;
    let password = req.password;
    let checked = web::block(move || match user {
        Some(user) => {
            let ok = passwords::verify(&password, &user.password_hash);
            ok.then_some(user)
        }
        None => {
            passwords::verify_dummy(&password);
            None
        }
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    let st = state.clone();
    // the failure stays counted (check_login counted the attempt)
    let user = checked.ok_or_else(bad_credentials)?;
    if user.disabled {
        return Err(ApiError::new(
            ErrorKind::AccountDisabled,
            "this account is disabled",
        ));
    }
    let response = state
        .db
        .run(move |conn| {
            st.limits.login_succeeded(conn, &account, &address)?;
            issue_tokens(&st, conn, &user, None)
        })
        .await?;
    Ok(web::Json(response))
}

fn bad_credentials() -> ApiError {
    ApiError::new(
        ErrorKind::InvalidCredentials,
        "the login or the password is wrong",
    )
}

/// Exchange a refresh token for a new pair.
///
/// Refresh tokens are single use. Presenting one that was already used revokes every token of
/// that login (someone else may hold a copy) and answers `refresh_token_reused`.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair", body = TokenResponse),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = Problem,
         content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:refresh_token_reused", "title": "Refresh token reused", "status": 401,
                          "detail": "this refresh token was already used; every token of this login is now revoked",
                          "code": "refresh_token_reused", "errors": []})),
        (status = 403, description = "The account is disabled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests from this address (or, on login, too many failed logins for this account from it); see Retry-After", body = Problem, content_type = "application/problem+json",
         example = json!({"type": "urn:gloss:problem:rate_limited", "title": "Too many requests", "status": 429,
                          "detail": "too many failed sign-ins for this account from this address; retry in 840 s",
                          "code": "rate_limited", "errors": []})),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    http: HttpRequest,
    body: Json<RefreshRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    if body.0.refresh_token.len() > 256 {
        return Err(ApiError::invalid_field(
            "refresh_token",
            "must be at most 256 characters",
        ));
    }
    let hash = hash_refresh_token(&body.0.refresh_token);
    let address = state.limits.client_address(&http);
    let st = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            st.limits.check_auth(conn, &address)?;
            crate::db::transaction(conn, |conn| match token_db::consume(conn, &hash)? {
                Presented::Consumed(row) => {
                    let user = user_db::find(conn, row.user_id)?.ok_or_else(|| {
                        ApiError::new(
                            ErrorKind::InvalidRefreshToken,
                            "the refresh token is not valid",
                        )
                    })?;
                    if user.disabled {
                        return Err(ApiError::new(
                            ErrorKind::AccountDisabled,
                            "this account is disabled",
                        ));
                    }
                    issue_tokens(&st, conn, &user, Some(row.family)).map(Some)
                }
                // the revocation must be committed, so this is not an Err inside the transaction
                Presented::Reused => Ok(None),
                Presented::Invalid => Err(ApiError::new(
                    ErrorKind::InvalidRefreshToken,
                    "the refresh token is unknown, expired or revoked; sign in again",
                )),
            })
        })
        .await?;
    outcome.map(web::Json).ok_or_else(|| {
        ApiError::new(
            ErrorKind::RefreshTokenReused,
            "this refresh token was already used; every token of this login is now revoked",
        )
    })
}

/// Sign out: revoke the presented refresh token and its whole login.
///
/// Answers 204 whether or not the token was known, so it reveals nothing.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    if body.0.refresh_token.len() > 256 {
        return Err(ApiError::invalid_field(
            "refresh_token",
            "must be at most 256 characters",
        ));
    }
    let hash = hash_refresh_token(&body.0.refresh_token);
    state
        .db
        .run(move |conn| Ok(token_db::revoke_by_token(conn, &hash)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The routes of this module.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(register)
        .service(login)
        .service(refresh)
        .service(logout);
}
