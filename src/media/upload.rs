//! What uploads of images share over HTTP (attachments and avatars): reading the `file` part of a
//! multipart body within the upload limit, and the problems a refused image gets.

use actix_multipart::{Multipart, MultipartError};
use futures_util::StreamExt;

use super::image::{self as picture, Refused};
use crate::error::{ApiError, ErrorKind};
use crate::media::store::StoreError;
use crate::AppState;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};

/// Reads the `file` part of a multipart body, refusing it as soon as it passes `max` bytes, and
/// anything that is not a JPEG, PNG, GIF or WebP image by its first bytes (415).
pub async fn read_image(payload: Multipart, max: usize) -> Result<Vec<u8>, ApiError> {
    let bytes = read_file(payload, max).await?;
    if picture::sniff(&bytes).is_none() {
        return Err(not_an_image());
    }
    Ok(bytes)
}

async fn read_file(mut payload: Multipart, max: usize) -> Result<Vec<u8>, ApiError> {
    let mut file: Option<Vec<u8>> = None;
    while let Some(part) = payload.next().await {
        let mut part = part.map_err(multipart_error)?;
        match part.name() {
            Some("file") if file.is_some() => {
                return Err(ApiError::invalid_field(
                    "file",
                    "is given twice: send one image per upload",
                ))
            }
            Some("file") => {}
            other => {
                // the form has one part; anything else is a client's mistake worth naming
                let name: String = other.unwrap_or("").chars().take(64).collect();
                return Err(ApiError::invalid_field(
                    name,
                    "is not a part of this form: send only the image, in a part named `file`",
                ));
            }
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = part.next().await {
            let chunk = chunk.map_err(multipart_error)?;
            if bytes.len() + chunk.len() > max {
                return Err(ApiError::new(
                    ErrorKind::PayloadTooLarge,
                    format!("the image is larger than the upload limit of {max} bytes"),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        file = Some(bytes);
    }
    match file {
        Some(bytes) if !bytes.is_empty() => Ok(bytes),
        Some(_) => Err(ApiError::invalid_field("file", "is empty")),
        None => Err(ApiError::invalid_field(
            "file",
            "is missing: send the image in a multipart/form-data part named `file`",
        )),
    }
}

fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => ApiError::new(
            ErrorKind::UnsupportedMediaType,
            "send the image as multipart/form-data, in a part named `file`",
        ),
        e => ApiError::new(
            ErrorKind::MalformedRequest,
            format!("the multipart body cannot be read: {e}"),
        ),
    }
}

fn not_an_image() -> ApiError {
    ApiError::new(
        ErrorKind::UnsupportedMediaType,
        "the file is not a JPEG, PNG, GIF or WebP image (judged by its bytes, not its name or declared type)",
    )
}

pub fn refused(r: Refused) -> ApiError {
    match r {
        Refused::NotAnImage => not_an_image(),
        Refused::TooManyPixels { width, height } => ApiError::new(
            ErrorKind::ImageTooLarge,
            format!(
                "the image declares {width}×{height} pixels; at most {} a side and {} in all are decoded",
                picture::Bounds::default().max_side,
                picture::Bounds::default().max_pixels,
            ),
        ),
        Refused::Corrupt(why) => {
            ApiError::invalid_field("file", format!("is not a readable image: {why}"))
        }
    }
}

/// Serves the stored WebP file of `hash` at `path`: it never changes (a new picture has a new
/// address), so it is cached for a year (`immutable`) and revalidated by its hash as `ETag`,
/// without reading the store; `public` says whether shared caches may keep it. `missing` is the 404 when the store has no such file.
pub async fn serve_stored(
    state: &AppState,
    req: &HttpRequest,
    hash: &str,
    path: &str,
    public: bool,
    missing: impl FnOnce() -> ApiError,
) -> Result<HttpResponse, ApiError> {
    let etag = format!("\"{hash}\"");
    // what only some may see (an upload no visible post shows) is kept by no shared cache
    let cache = (
        header::CACHE_CONTROL,
        if public {
            "public, max-age=31536000, immutable"
        } else {
            "private, max-age=31536000, immutable"
        },
    );
    let held = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if held {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(cache)
            .finish());
    }
    let bytes = state.media.get(path).await.map_err(|e| match e {
        StoreError::NotFound => {
            tracing::error!(path, "a stored file is missing");
            missing()
        }
        StoreError::Failed(e) => ApiError::unavailable(format!("the image cannot be read: {e}")),
    })?;
    Ok(HttpResponse::Ok()
        .content_type("image/webp")
        .insert_header((header::ETAG, etag))
        .insert_header(cache)
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        // WebP is compressed already: not worth compressing again
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .body(bytes))
}

/// The bytes of a WebP image (for the OpenAPI document).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct WebpImage(#[allow(dead_code)] Vec<u8>);

/// Writes a file to the path a committed transaction held for it (`hash`'s file), then checks
/// that the path is still held: a change that committed meanwhile (the upload removed, the avatar
/// replaced) may have released it and deleted the file before this write landed, and the file
/// would then be kept by no row. Either the row's file exists or nothing does.
pub async fn write_held(
    state: &AppState,
    hash: &str,
    path: &str,
    bytes: Vec<u8>,
) -> Result<(), StoreError> {
    state.media.put(path, bytes).await?;
    let h = hash.to_string();
    let held = state
        .db
        .run(move |conn| Ok(crate::media::db::path_of(conn, &h)?))
        .await
        .map_err(|e| StoreError::Failed(e.to_string()))?;
    if held.as_deref() != Some(path) {
        state.media.delete(path).await?;
    }
    Ok(())
}
