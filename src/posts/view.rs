//! A post as the API shows it, built from rows with everything a reader sees beside it (author
//! card, Analyze Post counts and heat map, citations, reactions) in a fixed number of queries,
//! whatever the number of posts. Used by the post endpoints and by thread pages.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::db::PostRow;
use crate::annotations::citations;
use crate::annotations::db as annotation_db;
use crate::annotations::heatmap::{self, HeatSegment};
use crate::attachments::view::{for_posts as attachments_for, PostAttachment};
use crate::auth::AuthUser;
use crate::db::utc;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::policy;
use crate::reactions::view::{reactions_for, ReactionCount};
use crate::text::utf16_offsets;
use crate::users::cards::{load_cards, unknown_ref, AuthorCard};

/// A post. For a deleted post seen by a member (a tombstone keeping its position), `body`,
/// `body_html` and `body_text` are `null`; moderators see them.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 145, "thread_id": 9, "position": 1,
    "author": {"id": 1, "username": "saif", "display_name": "Saif", "avatar_url": null, "avatars": null, "role": "member",
               "rank_title": "Senior Member", "joined_at": "2024-01-24T09:30:00Z", "message_count": 16995, "reaction_score": 8155,
               "groups": [{"id": 1, "name": "Axis Group", "badge": "Axis Group"}], "profile": [{"key": "nation", "label": "Nation", "value": "CN"}]},
    "body": "China's Xi vows **greater support** for Russia.", "body_html": "<p>China's Xi vows <strong>greater support</strong> for Russia.</p>\n",
    "body_text": "China's Xi vows greater support for Russia.", "revision": 1, "edit_count": 0, "edited_at": null,
    "created_at": "2025-07-16T09:00:00Z", "deleted": false, "annotation_count": 2,
    "highlights": [{"start": 16, "end": 30, "start_utf16": 16, "end_utf16": 30, "count": 2}], "cited_by_count": 1,
    "reactions": [{"kind": "like", "emoji": "👍", "count": 12, "reacted": false}], "attachments": []}))]
pub struct Post {
    pub id: i64,
    pub thread_id: i64,
    /// 1 for the first post, then 2, 3, …; stable for the life of the thread.
    pub position: i64,
    pub author: AuthorCard,
    /// The Markdown as written.
    #[schema(required = true)]
    pub body: Option<String>,
    /// Rendered, sanitized HTML.
    #[schema(required = true)]
    pub body_html: Option<String>,
    /// The plain text a reader sees: what annotation offsets count in.
    #[schema(required = true)]
    pub body_text: Option<String>,
    /// The current revision number (1 until the first edit).
    pub revision: i32,
    pub edit_count: i32,
    #[schema(required = true)]
    pub edited_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub deleted: bool,
    /// Annotations on this post visible to the caller (public ones and the caller's private ones).
    pub annotation_count: i64,
    /// The heat map of the passages marked by those annotations: disjoint stretches of `body_text`
    /// with how many members marked each.
    pub highlights: Vec<HeatSegment>,
    /// Visible posts citing this one.
    pub cited_by_count: i64,
    /// Reactions by kind, with whether the caller gave each.
    pub reactions: Vec<ReactionCount>,
    /// The uploaded images the post shows (`![caption](attachment:ID)` in its Markdown), in the
    /// order it shows them; empty for a deleted post seen by a member.
    pub attachments: Vec<PostAttachment>,
}

/// A post and where it sits in its thread.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PostInThread {
    #[serde(flatten)]
    pub post: Post,
    /// The page of the thread that holds the post, at `per_page`.
    pub page: i64,
    /// The page size `page` was computed with.
    pub per_page: u32,
}

impl PostInThread {
    /// The post with the page of its thread that holds it, at `per_page`.
    pub fn locate(post: Post, per_page: u32) -> PostInThread {
        let page = (post.position - 1) / i64::from(per_page.max(1)) + 1;
        PostInThread {
            post,
            page,
            per_page,
        }
    }
}

/// Builds API posts from rows: the author cards of the whole list come from one query.
pub fn build_posts(
    conn: &mut DbConn,
    rows: Vec<PostRow>,
    viewer: Option<&AuthUser>,
) -> Result<Vec<Post>, ApiError> {
    build(conn, rows, viewer, false)
}

/// Builds a post just written: nobody can have annotated, cited or reacted to it yet, so only
/// the author card is read (five queries fewer on every reply).
pub fn build_new_post(
    conn: &mut DbConn,
    row: PostRow,
    viewer: &AuthUser,
) -> Result<Post, ApiError> {
    build(conn, vec![row], Some(viewer), true)?
        .pop()
        .ok_or_else(|| ApiError::internal("post vanished"))
}

fn build(
    conn: &mut DbConn,
    rows: Vec<PostRow>,
    viewer: Option<&AuthUser>,
    new: bool,
) -> Result<Vec<Post>, ApiError> {
    let ids: Vec<i64> = rows.iter().map(|p| p.user_id).collect();
    let cards = load_cards(conn, &ids)?;
    let post_ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let (marks, cited, mut reactions) = if new {
        Default::default()
    } else {
        (
            annotation_db::marks_for_posts(conn, &post_ids, viewer.map(|v| v.id))?,
            citations::cited_by_counts(conn, &post_ids)?,
            reactions_for(conn, &post_ids, viewer.map(|v| v.id))?,
        )
    };
    let shown: Vec<(i64, &str)> = rows.iter().map(|p| (p.id, p.body.as_str())).collect();
    let mut images = attachments_for(conn, &shown)?;
    let see_deleted = policy::can_see_deleted(viewer);
    Ok(rows
        .into_iter()
        .map(|p| {
            let hidden = p.is_deleted() && !see_deleted;
            let author = cards.get(&p.user_id).cloned().unwrap_or_else(|| {
                let r = unknown_ref(p.user_id);
                AuthorCard {
                    id: r.id,
                    username: r.username,
                    display_name: None,
                    avatar_url: None,
                    avatars: None,
                    role: crate::users::Role::Member,
                    rank_title: String::new(),
                    joined_at: utc(p.created_at),
                    message_count: 0,
                    reaction_score: 0,
                    groups: Vec::new(),
                    profile: Vec::new(),
                }
            });
            let mine: Vec<&annotation_db::Mark> = if hidden {
                Vec::new()
            } else {
                marks.iter().filter(|m| m.post_id == p.id).collect()
            };
            let highlights = heat_map(&mine, &p.body_text);
            Post {
                annotation_count: mine.len() as i64,
                highlights,
                cited_by_count: if hidden {
                    0
                } else {
                    cited.get(&p.id).copied().unwrap_or(0)
                },
                reactions: if hidden {
                    Vec::new()
                } else {
                    reactions.remove(&p.id).unwrap_or_default()
                },
                attachments: if hidden {
                    Vec::new()
                } else {
                    images.remove(&p.id).unwrap_or_default()
                },
                id: p.id,
                thread_id: p.thread_id,
                position: p.position,
                author,
                deleted: p.is_deleted(),
                body: (!hidden).then_some(p.body),
                body_html: (!hidden).then_some(p.body_html),
                body_text: (!hidden).then_some(p.body_text),
                revision: p.revision,
                edit_count: p.edit_count,
                edited_at: p.edited_at.map(utc),
                created_at: utc(p.created_at),
            }
        })
        .collect())
}

/// The heat map of a post's text from the annotation marks on it that the caller may see.
pub fn heat_map(marks: &[&annotation_db::Mark], body_text: &str) -> Vec<HeatSegment> {
    let ranges: Vec<(usize, usize, i64)> = marks
        .iter()
        .filter(|m| m.anchor_state != "orphaned")
        .filter_map(|m| Some((m.start_pos? as usize, m.end_pos? as usize, m.user_id)))
        .collect();
    let mut highlights = heatmap::segments(&ranges);
    let bounds: Vec<usize> = highlights.iter().flat_map(|h| [h.start, h.end]).collect();
    let units = utf16_offsets(body_text, &bounds);
    for (i, h) in highlights.iter_mut().enumerate() {
        h.start_utf16 = units[2 * i];
        h.end_utf16 = units[2 * i + 1];
    }
    highlights
}
