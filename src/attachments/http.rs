//! Image attachments: upload (`POST /attachments`, multipart), read, serve the display size and
//! the thumbnail, and remove an upload no post shows.

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::db::{self as attachment_db, NewAttachment, NewFile, RecordError};
use super::view::Attachment;
use crate::auth::{AuthUser, MaybeUser};
use crate::error::{ApiError, ErrorKind, Problem};
use crate::media::content_hash;
use crate::media::image as picture;
use crate::media::upload::{read_image, refused, serve_stored, write_held};
use crate::policy;
use crate::users::db as user_db;
use crate::AppState;

/// The multipart form of an upload.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentUpload {
    /// The image: JPEG, PNG, GIF or WebP, judged by its bytes (the file name and the part's
    /// `Content-Type` are ignored). An animated image keeps its first frame.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Which file of an attachment to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// At most 1600 pixels on its longest side.
    Display,
    /// At most 320 pixels on its longest side.
    Thumbnail,
}

/// The path of an attachment's file.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct FilePath {
    /// Attachment id
    #[param(example = 12)]
    attachment_id: i64,
    /// `display` (at most 1600 pixels on its longest side) or `thumbnail` (at most 320)
    #[param(inline)]
    variant: Variant,
}

/// Upload an image. It is checked by its bytes, decoded within bounds, turned upright by its
/// EXIF orientation, and stored as a display size and a thumbnail in WebP, without its metadata.
/// Show it in a post with `![caption](attachment:ID)`; an upload no post shows within a day is
/// removed. Counts against the member's upload quota.
#[utoipa::path(
    tag = "attachments",
    security(("bearer_auth" = [])),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = Attachment, headers(("Location" = String, description = "The new attachment"))),
        (status = 400, description = "A malformed multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 413, description = "Larger than the upload limit (`payload_too_large`), or past the member's quota (`upload_quota_exceeded`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG, GIF or WebP image by its bytes (a renamed text file, an SVG, HTML), or not a multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No `file` part, or another part beside it, an image that does not decode, or one whose declared size passes the bounds (`image_too_large`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/attachments")]
pub async fn upload(
    state: web::Data<AppState>,
    user: AuthUser,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let bytes = read_image(payload, state.config.upload_max_bytes).await?;
    let quota = state.config.upload_quota_bytes();
    let size = bytes.len() as i64;
    let user_id = user.id;
    // a cheap early answer before the decoding; the transaction below is what holds the quota
    let used = state
        .db
        .run(move |conn| Ok(user_db::require_active(conn, user_id)?.upload_bytes))
        .await?;
    if used + size > quota {
        return Err(over_quota(used, quota));
    }
    let bounds = state.config.image_bounds();
    let processed = crate::blocking::heavy(move || picture::process(&bytes, bounds))
        .await?
        .map_err(refused)?;
    let display_hash = content_hash(&processed.display.bytes);
    let thumb_hash = content_hash(&processed.thumbnail.bytes);
    let kind = processed.kind;
    let (width, height) = (processed.width as i32, processed.height as i32);
    let file = |e: &picture::Encoded| (e.bytes.len() as i64, e.width as i32, e.height as i32);
    let (display, thumbnail) = (file(&processed.display), file(&processed.thumbnail));
    let row = state
        .db
        .run(move |conn| {
            let new = NewAttachment {
                user_id,
                content_type: kind.content_type(),
                size,
                width,
                height,
                display: NewFile {
                    hash: &display_hash,
                    size: display.0,
                    width: display.1,
                    height: display.2,
                },
                thumbnail: NewFile {
                    hash: &thumb_hash,
                    size: thumbnail.0,
                    width: thumbnail.1,
                    height: thumbnail.2,
                },
            };
            attachment_db::record(conn, &new, quota).map_err(|e| match e {
                RecordError::OverQuota { used } => over_quota(used, quota),
                RecordError::Db(e) => e.into(),
            })
        })
        .await?;
    // The row is committed: its files go to the paths it holds (the same bytes as any file
    // already there). If the store fails, the upload is taken back.
    let stored = async {
        write_held(
            &state,
            &row.display_hash,
            &row.display_path,
            processed.display.bytes,
        )
        .await?;
        write_held(
            &state,
            &row.thumb_hash,
            &row.thumb_path,
            processed.thumbnail.bytes,
        )
        .await
    }
    .await;
    if let Err(e) = stored {
        tracing::error!(error = %e, store = %state.media.location, "cannot store an upload");
        let taken_back = row.clone();
        let removed = state
            .db
            .run(move |conn| {
                Ok(crate::db::transaction(conn, |conn| {
                    attachment_db::remove(conn, std::slice::from_ref(&taken_back))
                })?)
            })
            .await;
        if let Ok(removed) = removed {
            state.media.delete_all(&removed.paths).await;
        }
        return Err(ApiError::unavailable(format!(
            "the image could not be stored: {e}"
        )));
    }
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/attachments/{}", row.id)))
        .json(Attachment::from(&row)))
}

fn over_quota(used: i64, quota: i64) -> ApiError {
    ApiError::new(
        ErrorKind::UploadQuotaExceeded,
        format!(
            "this upload would pass your quota of {quota} bytes ({used} used); remove uploads no post shows, or ask an administrator"
        ),
    )
}

/// An attachment: its type, sizes and URLs. Anyone may read an upload that a post they may read
/// shows; until then only its owner (and, once a post has shown it, moderators) may.
#[utoipa::path(
    tag = "attachments",
    params(("attachment_id" = i64, Path, description = "Attachment id", example = 12)),
    responses(
        (status = 200, description = "The attachment", body = Attachment),
        (status = 404, description = "No such attachment, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/attachments/{attachment_id}")]
pub async fn get_attachment(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
) -> Result<web::Json<Attachment>, ApiError> {
    let id = path.into_inner();
    let (row, _) = readable(&state, viewer, id).await?;
    Ok(web::Json(Attachment::from(&row)))
}

/// An attachment the caller may read, and whether everyone may (a visible post shows it).
async fn readable(
    state: &AppState,
    viewer: MaybeUser,
    id: i64,
) -> Result<(attachment_db::AttachmentRow, bool), ApiError> {
    state
        .db
        .run(move |conn| {
            let row = attachment_db::find(conn, id)?.ok_or_else(|| no_attachment(id))?;
            let public = attachment_db::shown_in_visible_post(conn, id)?;
            policy::can_view_attachment(viewer.0.as_ref(), &row, public)?;
            Ok((row, public))
        })
        .await
}

fn no_attachment(id: i64) -> ApiError {
    ApiError::not_found(format!("attachment {id}"))
}

/// An attachment's image: WebP made by Gloss, never the upload itself. It never changes, so it
/// is cached for a year (`immutable`; `private` while only its owner may read it) and revalidated
/// by its `ETag`. Readable by whom `GET /attachments/{id}` is.
#[utoipa::path(
    tag = "attachments",
    params(
        FilePath,
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of a copy the client holds"),
    ),
    responses(
        (status = 200, description = "The image", content_type = "image/webp", body = crate::media::upload::WebpImage,
         headers(("ETag" = String), ("Cache-Control" = String, description = "`public, max-age=31536000, immutable`"))),
        (status = 304, description = "The client's copy is current"),
        (status = 404, description = "No such attachment or variant, or not one the caller may read", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/attachments/{attachment_id}/{variant}")]
pub async fn get_file(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<FilePath>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let FilePath {
        attachment_id: id,
        variant,
    } = path.into_inner();
    let thumbnail = variant == Variant::Thumbnail;
    let (row, public) = readable(&state, viewer, id).await?;
    let (hash, file) = if thumbnail {
        (&row.thumb_hash, &row.thumb_path)
    } else {
        (&row.display_hash, &row.display_path)
    };
    serve_stored(&state, &req, hash, file, public, || no_attachment(id)).await
}

/// Remove an upload that no post shows (its owner only); its bytes leave the quota.
#[utoipa::path(
    tag = "attachments",
    security(("bearer_auth" = [])),
    params(("attachment_id" = i64, Path, description = "Attachment id", example = 12)),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 403, description = "Another member's upload", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such attachment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A post shows it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/attachments/{attachment_id}")]
pub async fn delete_attachment(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let removed = state
        .db
        .run(move |conn| {
            crate::db::transaction(conn, |conn| -> Result<_, ApiError> {
                let row = attachment_db::find(conn, id)?.ok_or_else(|| no_attachment(id))?;
                policy::can_delete_attachment(&user, &row)?;
                Ok(attachment_db::remove(conn, &[row])?)
            })
        })
        .await?;
    state.media.delete_all(&removed.paths).await;
    Ok(HttpResponse::NoContent().finish())
}

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(upload)
        .service(get_attachment)
        .service(get_file)
        .service(delete_attachment);
}
