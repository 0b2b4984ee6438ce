//! `PUT /me/avatar`, `DELETE /me/avatar`, and the avatar files.

use actix_multipart::Multipart;
use actix_web::{delete, get, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::db as avatar_db;
use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::media::content_hash;
use crate::media::db as media_db;
use crate::media::image as picture;
use crate::media::upload::{read_image, refused, serve_stored, write_held};
use crate::users::cards::Account;
use crate::users::db as user_db;
use crate::AppState;

/// The multipart form of an avatar.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvatarUpload {
    /// The picture: JPEG, PNG, GIF or WebP, judged by its bytes. It is turned upright, cropped
    /// to its centred square and scaled to 64, 128 and 256 pixels.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Upload an avatar: the same checks as an attachment (type by the bytes, the upload limit,
/// bounded decoding, no metadata kept), then cropped square in three sizes. Replaces the
/// member's avatar; author cards show it at once.
#[utoipa::path(
    tag = "me",
    security(("bearer_auth" = [])),
    request_body(content = AvatarUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The account with its new avatar", body = Account),
        (status = 400, description = "A malformed multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 413, description = "Larger than the upload limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG, GIF or WebP image by its bytes, or not a multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No `file` part, a picture that does not decode, or one past the bounds (`image_too_large`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/me/avatar")]
pub async fn put_avatar(
    state: web::Data<AppState>,
    user: AuthUser,
    payload: Multipart,
) -> Result<web::Json<Account>, ApiError> {
    let bytes = read_image(payload, state.config.upload_max_bytes).await?;
    let user_id = user.id;
    state
        .db
        .run(move |conn| user_db::require_active(conn, user_id).map(|_| ()))
        .await?;
    let bounds = state.config.image_bounds();
    let sizes = crate::blocking::heavy(move || picture::avatar(&bytes, bounds))
        .await?
        .map_err(refused)?;
    let files: Vec<(String, i64)> = sizes
        .iter()
        .map(|e| (content_hash(&e.bytes), e.bytes.len() as i64))
        .collect();
    let set = files
        .iter()
        .map(|(h, _)| h.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let held = files.clone();
    let changed = state
        .db
        .run(move |conn| Ok(avatar_db::set(conn, user_id, Some(&files))?))
        .await?;
    // the replaced avatar's files, which no row names any more, go whatever happens next
    state.media.delete_all(&changed.freed).await;
    // the new files go to the paths the transaction held (the same bytes as any file there)
    for ((path, (hash, _)), encoded) in changed.write.iter().zip(&held).zip(sizes) {
        if let Err(e) = write_held(&state, hash, path, encoded.bytes).await {
            tracing::error!(error = %e, store = %state.media.location, "cannot store an avatar");
            let undone = state
                .db
                .run(move |conn| Ok(avatar_db::take_back(conn, user_id, &set)?))
                .await?;
            state.media.delete_all(&undone.freed).await;
            return Err(ApiError::unavailable(format!(
                "the avatar could not be stored: {e}"
            )));
        }
    }
    account(&state, user_id).await.map(web::Json)
}

/// Remove the caller's avatar (the uploaded one and a typed `avatar_url`). Removing none is not
/// an error.
#[utoipa::path(
    tag = "me",
    security(("bearer_auth" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = crate::error::Unauthorized),
    )
)]
#[delete("/me/avatar")]
pub async fn delete_avatar(
    state: web::Data<AppState>,
    user: AuthUser,
) -> Result<HttpResponse, ApiError> {
    let user_id = user.id;
    let changed = state
        .db
        .run(move |conn| Ok(avatar_db::set(conn, user_id, None)?))
        .await?;
    state.media.delete_all(&changed.freed).await;
    Ok(HttpResponse::NoContent().finish())
}

async fn account(state: &AppState, user_id: i64) -> Result<Account, ApiError> {
    let quota = state.config.upload_quota_bytes();
    state
        .db
        .run(move |conn| {
            let u = user_db::require_active(conn, user_id)?;
            Ok(Account::new(&u, quota))
        })
        .await
}

/// The path of an avatar file.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AvatarPath {
    /// The file's hash, as in the URLs of `avatars` on author cards
    #[param(min_length = 64, max_length = 64, pattern = "^[0-9a-f]{64}$")]
    hash: String,
}

/// An avatar file (WebP). Its address is its content's hash, so it is cached for a year
/// (`immutable`) and revalidated by its `ETag`.
#[utoipa::path(
    tag = "me",
    params(AvatarPath,
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a copy the client holds")),
    responses(
        (status = 200, description = "The image", content_type = "image/webp", body = crate::media::upload::WebpImage,
         headers(("ETag" = String), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"))),
        (status = 304, description = "The client's copy is current"),
        (status = 404, description = "No such file", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/avatars/{hash}")]
pub async fn get_avatar_file(
    state: web::Data<AppState>,
    path: web::Path<AvatarPath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let hash = path.into_inner().hash;
    let missing = || ApiError::not_found("no avatar file has this address");
    if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(missing());
    }
    let h = hash.clone();
    let file = state
        .db
        .run(move |conn| Ok(media_db::path_of(conn, &h)?))
        .await?
        .ok_or_else(missing)?;
    serve_stored(&state, &req, &hash, &file, true, missing).await
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(put_avatar)
        .service(delete_avatar)
        .service(get_avatar_file);
}
