//! Attachments as clients read them: alone (after an upload) and in the posts that show them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::db::{self, AttachmentRow};
use crate::db::{utc, DbConn};

/// An uploaded image. What is served is WebP made by Gloss from the upload (its metadata, such as
/// EXIF and its GPS position, is not kept); the URLs are paths on this server.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 12, "content_type": "image/jpeg", "size": 2483921, "width": 4032, "height": 3024,
    "url": "/api/v1/attachments/12/display", "display_width": 1600, "display_height": 1200,
    "thumbnail_url": "/api/v1/attachments/12/thumbnail", "thumbnail_width": 320, "thumbnail_height": 240,
    "markdown": "![](attachment:12)", "created_at": "2026-12-04T09:30:00Z"}))]
pub struct Attachment {
    pub id: i64,
    /// The type of the upload, read from its bytes: `image/jpeg`, `image/png`, `image/gif` or
    /// `image/webp`.
    pub content_type: String,
    /// The upload's size in bytes (what counts against the quota).
    pub size: i64,
    /// The upload's width in pixels, with its orientation applied.
    pub width: i32,
    /// The upload's height in pixels, with its orientation applied.
    pub height: i32,
    /// The display size (WebP, at most 1600 pixels on its longest side).
    pub url: String,
    pub display_width: i32,
    pub display_height: i32,
    /// The thumbnail (WebP, at most 320 pixels on its longest side).
    pub thumbnail_url: String,
    pub thumbnail_width: i32,
    pub thumbnail_height: i32,
    /// What a post's Markdown writes to show it (put its caption between the brackets).
    pub markdown: String,
    pub created_at: DateTime<Utc>,
}

/// An image a post shows, with the caption its Markdown gave it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostAttachment {
    #[serde(flatten)]
    pub attachment: Attachment,
    /// The image's text in the post (its alt text): what `body_text` reads in its place.
    pub caption: String,
}

/// The path of one of an attachment's files.
pub fn file_url(id: i64, variant: &str) -> String {
    format!("/api/v1/attachments/{id}/{variant}")
}

impl From<&AttachmentRow> for Attachment {
    fn from(r: &AttachmentRow) -> Self {
        Attachment {
            id: r.id,
            content_type: r.content_type.clone(),
            size: r.size,
            width: r.width,
            height: r.height,
            url: crate::text::attachment_url(r.id),
            display_width: r.display_width,
            display_height: r.display_height,
            thumbnail_url: file_url(r.id, "thumbnail"),
            thumbnail_width: r.thumb_width,
            thumbnail_height: r.thumb_height,
            markdown: format!("![](attachment:{})", r.id),
            created_at: utc(r.created_at),
        }
    }
}

/// The images each post shows, by post id, in one query; posts whose Markdown references no
/// attachment cost none.
pub fn for_posts(
    conn: &mut DbConn,
    posts: &[(i64, &str)],
) -> diesel::QueryResult<HashMap<i64, Vec<PostAttachment>>> {
    let ids: Vec<i64> = posts
        .iter()
        .filter(|(_, body)| body.contains(crate::text::ATTACHMENT_SCHEME))
        .map(|(id, _)| *id)
        .collect();
    let mut out: HashMap<i64, Vec<PostAttachment>> = HashMap::new();
    for (post_id, caption, row) in db::for_posts(conn, &ids)? {
        out.entry(post_id).or_default().push(PostAttachment {
            attachment: Attachment::from(&row),
            caption,
        });
    }
    Ok(out)
}
