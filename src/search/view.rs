//! Search hits as clients read them: what was found, where it is (thread, post, the page of the
//! thread that holds it), who wrote it, and a snippet with the matched words marked by offsets,
//! in code points and in UTF-16 (never markup: the client draws the marks).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db::DocHit;
use super::index::{annotation_text, ANNOTATION, POST, THREAD};
use crate::annotations::db as annotation_db;
use crate::db::{utc, DbConn};
use crate::error::ApiError;
use crate::posts::db as post_db;
use crate::text::char_offsets;
use crate::text::search::{snippet_window, Query};
use crate::threads::db as thread_db;
use crate::users::cards::{load_users, unknown_ref, UserRef};

/// The characters a snippet holds at most.
pub const SNIPPET_CHARS: usize = 200;
/// The most matches listed for one hit.
pub const MAX_MATCHES: usize = 100;

/// What a hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    Thread,
    Post,
    Annotation,
}

impl SearchKind {
    /// As stored in the index.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchKind::Thread => THREAD,
            SearchKind::Post => POST,
            SearchKind::Annotation => ANNOTATION,
        }
    }
}

/// Which text of the hit the snippet and the matches are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchedText {
    /// The thread's title.
    Title,
    /// The post's `body_text`.
    BodyText,
    /// The annotation's body, as plain text (what its `body_html` reads).
    AnnotationBody,
    /// The passage the annotation quotes (its target's `exact`).
    Quote,
}

/// A stretch of a text: `start..end` in code points and in UTF-16 code units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"start": 4, "end": 9, "start_utf16": 4, "end_utf16": 9}))]
pub struct TextSpan {
    pub start: usize,
    pub end: usize,
    pub start_utf16: usize,
    pub end_utf16: usize,
}

/// A short part of the searched text around the first match.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"text": "the strategic partnership between China and Russia", "start": 120,
    "start_utf16": 121, "cut_before": true, "cut_after": true,
    "highlights": [{"start": 4, "end": 13, "start_utf16": 4, "end_utf16": 13}]}))]
pub struct Snippet {
    /// Plain text, never markup.
    pub text: String,
    /// Where `text` starts in the searched text, in code points.
    pub start: usize,
    /// Where `text` starts in the searched text, in UTF-16 code units.
    pub start_utf16: usize,
    /// The searched text goes on before the snippet (show an ellipsis).
    pub cut_before: bool,
    /// The searched text goes on after the snippet.
    pub cut_after: bool,
    /// The matched words inside `text` (offsets into `text`).
    pub highlights: Vec<TextSpan>,
}

/// The thread a hit belongs to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HitThread {
    pub id: i64,
    pub forum_id: i64,
    pub title: String,
}

/// One search result.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"kind": "post", "id": 146, "thread": {"id": 9, "forum_id": 2,
    "title": "China-Russia Strategic Partners"}, "post_id": 146, "annotation_id": null,
    "position": 2, "page": 1, "per_page": 20,
    "author": {"id": 2, "username": "lin", "display_name": null},
    "created_at": "2025-07-16T10:00:00Z", "deleted": false, "searched": "body_text",
    "snippet": {"text": "the strategic partnership between China and Russia", "start": 0,
        "start_utf16": 0, "cut_before": false, "cut_after": true,
        "highlights": [{"start": 4, "end": 13, "start_utf16": 4, "end_utf16": 13}]},
    "matches": [{"start": 4, "end": 13, "start_utf16": 4, "end_utf16": 13}]}))]
pub struct SearchHit {
    pub kind: SearchKind,
    /// The thread's, post's or annotation's id, as `kind` says.
    pub id: i64,
    pub thread: HitThread,
    /// The post found, or the post annotated, or a thread's first post.
    #[schema(required = true)]
    pub post_id: Option<i64>,
    /// The annotation found.
    #[schema(required = true)]
    pub annotation_id: Option<i64>,
    /// The post's position in its thread.
    #[schema(required = true)]
    pub position: Option<i64>,
    /// The page of the thread that holds the post, at `per_page`.
    pub page: i64,
    /// The page size `page` was computed with (`thread_per_page`).
    pub per_page: u32,
    pub author: UserRef,
    pub created_at: DateTime<Utc>,
    /// The thread or post is deleted (only moderators asking for deleted content see these).
    pub deleted: bool,
    /// Which text `snippet` and `matches` are in.
    pub searched: SearchedText,
    pub snippet: Snippet,
    /// Every matched word in the searched text (the first 100), offsets into that whole text:
    /// for a post, its `body_text`.
    pub matches: Vec<TextSpan>,
}

fn spans(text: &str, marks: &[(usize, usize)]) -> Vec<TextSpan> {
    let bytes: Vec<usize> = marks.iter().flat_map(|&(s, e)| [s, e]).collect();
    let at = char_offsets(text, &bytes);
    at.chunks(2)
        .map(|p| TextSpan {
            start: p[0].0,
            end: p[1].0,
            start_utf16: p[0].1,
            end_utf16: p[1].1,
        })
        .collect()
}

/// The snippet of `text` and every match in it.
fn snippet(text: &str, query: &Query) -> (Snippet, Vec<TextSpan>) {
    let marks = query.marks(text);
    let (s, e) = snippet_window(text, &marks, SNIPPET_CHARS);
    let inside: Vec<(usize, usize)> = marks
        .iter()
        .filter(|m| m.0 >= s && m.1 <= e)
        .map(|m| (m.0 - s, m.1 - s))
        .collect();
    let start = char_offsets(text, &[s])[0];
    let shown = &text[s..e];
    let matches: Vec<(usize, usize)> = marks.into_iter().take(MAX_MATCHES).collect();
    (
        Snippet {
            text: shown.to_string(),
            start: start.0,
            start_utf16: start.1,
            cut_before: s > 0,
            cut_after: e < text.len(),
            highlights: spans(shown, &inside),
        },
        spans(text, &matches),
    )
}

/// Builds the hits of a page in a fixed number of queries (threads, posts, annotations, authors).
pub fn build_hits(
    conn: &mut DbConn,
    hits: &[DocHit],
    query: &Query,
    per_page: u32,
) -> Result<Vec<SearchHit>, ApiError> {
    let ids = |kind: &str| -> Vec<i64> {
        hits.iter()
            .filter(|h| h.kind == kind)
            .map(|h| h.ref_id)
            .collect()
    };
    let thread_ids: Vec<i64> = hits.iter().map(|h| h.thread_id).collect();
    let post_ids: Vec<i64> = hits.iter().filter_map(|h| h.post_id).collect();
    let threads: HashMap<i64, thread_db::ThreadRow> = thread_db::find_many(conn, &thread_ids)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let posts: HashMap<i64, post_db::PostRow> = post_db::find_many(conn, &post_ids)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let annotations: HashMap<i64, annotation_db::AnnotationRow> =
        annotation_db::find_many(conn, &ids(ANNOTATION))?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
    let mut out = Vec::with_capacity(hits.len());
    // (hit, author, created, searched text, which text)
    let mut found = Vec::with_capacity(hits.len());
    for h in hits {
        let Some(thread) = threads.get(&h.thread_id) else {
            continue;
        };
        let post = h.post_id.and_then(|id| posts.get(&id));
        let (kind, author, created, text, searched) = match h.kind.as_str() {
            THREAD => (
                SearchKind::Thread,
                thread.user_id,
                thread.created_at,
                thread.title.clone(),
                SearchedText::Title,
            ),
            POST => {
                let Some(p) = post else { continue };
                (
                    SearchKind::Post,
                    p.user_id,
                    p.created_at,
                    p.body_text.clone(),
                    SearchedText::BodyText,
                )
            }
            _ => {
                let Some(a) = annotations.get(&h.ref_id) else {
                    continue;
                };
                // the body, unless only the quote holds what was searched for
                let body = annotation_text(a);
                let quote = a.quote_exact.clone().unwrap_or_default();
                let (text, searched) =
                    if query.marks(&body).is_empty() && !query.marks(&quote).is_empty() {
                        (quote, SearchedText::Quote)
                    } else {
                        (body, SearchedText::AnnotationBody)
                    };
                (
                    SearchKind::Annotation,
                    a.user_id,
                    a.created_at,
                    text,
                    searched,
                )
            }
        };
        found.push((h, thread, post, kind, author, created, text, searched));
    }
    let author_ids: Vec<i64> = found.iter().map(|f| f.4).collect();
    let users = load_users(conn, &author_ids)?;
    for (h, thread, post, kind, author, created, text, searched) in found {
        let position = post.map(|p| p.position);
        let (snippet, matches) = snippet(&text, query);
        out.push(SearchHit {
            kind,
            id: h.ref_id,
            thread: HitThread {
                id: thread.id,
                forum_id: thread.forum_id,
                title: thread.title.clone(),
            },
            post_id: h.post_id,
            annotation_id: (kind == SearchKind::Annotation).then_some(h.ref_id),
            position,
            page: position.map_or(1, |p| (p - 1) / i64::from(per_page.max(1)) + 1),
            per_page,
            author: users
                .get(&author)
                .map(UserRef::from)
                .unwrap_or_else(|| unknown_ref(author)),
            created_at: utc(created),
            deleted: thread.is_deleted()
                || (kind != SearchKind::Thread && post.is_some_and(|p| p.is_deleted())),
            searched,
            snippet,
            matches,
        });
    }
    Ok(out)
}
