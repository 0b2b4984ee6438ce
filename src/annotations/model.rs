//! An annotation as the API takes and shows it: motivations, visibility, selectors, and the
//! building of API annotations from rows. Shared by the annotation endpoints, citations and the
//! W3C JSON-LD form.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db::AnnotationRow;
use crate::db::utc;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::posts::db::{self as post_db, PostRow};
use crate::text::anchor::{self, AnchorError, Selector, TextPosition, TextQuote};
use crate::text::utf16_offsets;
use crate::users::cards::{load_users, unknown_ref, UserRef};

/// Why an annotation was made: the thirteen motivations of the W3C Web Annotation vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Motivation {
    Highlighting,
    Commenting,
    Questioning,
    Assessing,
    Replying,
    Tagging,
    Bookmarking,
    Linking,
    Describing,
    Classifying,
    Editing,
    Identifying,
    Moderating,
}

impl Motivation {
    /// The W3C name.
    pub fn as_str(self) -> &'static str {
        match self {
            Motivation::Highlighting => "highlighting",
            Motivation::Commenting => "commenting",
            Motivation::Questioning => "questioning",
            Motivation::Assessing => "assessing",
            Motivation::Replying => "replying",
            Motivation::Tagging => "tagging",
            Motivation::Bookmarking => "bookmarking",
            Motivation::Linking => "linking",
            Motivation::Describing => "describing",
            Motivation::Classifying => "classifying",
            Motivation::Editing => "editing",
            Motivation::Identifying => "identifying",
            Motivation::Moderating => "moderating",
        }
    }

    /// See the type.
    pub fn parse(s: &str) -> Motivation {
        serde_json::from_value(serde_json::Value::String(s.into()))
            .unwrap_or(Motivation::Commenting)
    }

    /// Whether an annotation with this motivation may go without a body.
    /// See the type.
    pub fn body_optional(self) -> bool {
        matches!(
            self,
            Motivation::Highlighting
                | Motivation::Bookmarking
                | Motivation::Tagging
                | Motivation::Classifying
        )
    }
}

/// Who sees an annotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Whoever can read the post.
    Public,
    /// The author only.
    Private,
}

impl Visibility {
    /// See the type.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
        }
    }
}

/// The passage to annotate, as a W3C TextQuoteSelector and/or TextPositionSelector. Positions count
/// Unicode code points of the post's `body_text`; `start_utf16`/`end_utf16` may be sent instead
/// (what JavaScript, Swift and Kotlin index with).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"exact": "strengthen mutual support", "prefix": "should “", "suffix": "”"}))]
pub struct SelectorInput {
    /// The passage, verbatim.
    #[schema(max_length = 50000)]
    pub exact: Option<String>,
    /// Text right before it (up to 32 characters are used); tells repeated passages apart.
    #[schema(max_length = 1000)]
    pub prefix: Option<String>,
    /// Text right after it (up to 32 characters are used).
    #[schema(max_length = 1000)]
    pub suffix: Option<String>,
    /// Start, in code points.
    pub start: Option<u64>,
    /// End (exclusive), in code points.
    pub end: Option<u64>,
    /// Start, in UTF-16 code units (instead of `start`).
    pub start_utf16: Option<u64>,
    /// End, in UTF-16 code units (instead of `end`).
    pub end_utf16: Option<u64>,
}

/// A passage of a post's `body_text`: both W3C selectors, with offsets in code points and UTF-16.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"exact": "strengthen mutual support", "prefix": "should “", "suffix": "”",
    "start": 112, "end": 137, "start_utf16": 112, "end_utf16": 137}))]
pub struct TextSelector {
    pub exact: String,
    pub prefix: String,
    pub suffix: String,
    /// `null` when the passage is gone (orphaned).
    #[schema(required = true)]
    pub start: Option<usize>,
    #[schema(required = true)]
    pub end: Option<usize>,
    #[schema(required = true)]
    pub start_utf16: Option<usize>,
    #[schema(required = true)]
    pub end_utf16: Option<usize>,
}

/// Whether the passage is still where it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AnchorStateView {
    /// Untouched by edits since it was made.
    Anchored,
    /// Found again after an edit changed or shifted it.
    Moved,
    /// Gone from the post: kept, shown apart, never attached elsewhere.
    Orphaned,
}

impl AnchorStateView {
    /// See the type.
    pub fn parse(s: &str) -> Self {
        match s {
            "moved" => AnchorStateView::Moved,
            "orphaned" => AnchorStateView::Orphaned,
            _ => AnchorStateView::Anchored,
        }
    }
}

/// Where an annotation points.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnnotationTarget {
    pub selector: TextSelector,
    /// The post revision the annotation was made on.
    pub created_revision: i32,
    /// The post revision the selector now points into.
    pub anchored_revision: i32,
    pub anchor_state: AnchorStateView,
    /// Confidence of the last re-anchoring (1 when untouched).
    pub anchor_confidence: f64,
}

/// An annotation (or, with `parent_id`, a reply to one).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "post_id": 145, "parent_id": null, "author": {"id": 2, "username": "lin", "display_name": null},
    "motivation": "commenting", "body": "This commits to very little.", "body_html": "<p>This commits to very little.</p>\n",
    "tags": ["diplomacy"], "visibility": "public",
    "target": {"selector": {"exact": "strengthen mutual support", "prefix": "should “", "suffix": "”", "start": 112, "end": 137,
               "start_utf16": 112, "end_utf16": 137}, "created_revision": 1, "anchored_revision": 1, "anchor_state": "anchored", "anchor_confidence": 1.0},
    "reply_count": 0, "created_at": "2025-07-16T11:00:00Z", "updated_at": "2025-07-16T11:00:00Z"}))]
pub struct Annotation {
    pub id: i64,
    pub post_id: i64,
    /// The annotation this replies to; `null` for a top-level annotation.
    #[schema(required = true)]
    pub parent_id: Option<i64>,
    pub author: UserRef,
    pub motivation: Motivation,
    /// Markdown.
    #[schema(required = true)]
    pub body: Option<String>,
    #[schema(required = true)]
    pub body_html: Option<String>,
    pub tags: Vec<String>,
    pub visibility: Visibility,
    /// The passage; `null` for replies, and for an annotation of the whole post (made from a W3C
    /// document whose target is the post's IRI).
    #[schema(required = true)]
    pub target: Option<AnnotationTarget>,
    pub reply_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new annotation on a passage of a post.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"motivation": "commenting", "body": "This commits to very little.", "tags": ["diplomacy"],
    "selector": {"exact": "strengthen mutual support"}}))]
pub struct CreateAnnotation {
    pub motivation: Motivation,
    /// Markdown, up to 10,000 characters, not all blank; optional for highlighting, bookmarking,
    /// tagging and classifying (leave it out for none).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "^[^\\u0000]*[^\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\u0000][^\\u0000]*$"
    )]
    pub body: Option<String>,
    /// Up to 10 tags of 1 to 50 characters.
    #[serde(default)]
    pub tags: Vec<String>,
    /// `public` (default) or `private`.
    #[serde(default)]
    pub visibility: Option<Visibility>,
    pub selector: SelectorInput,
}
pub(crate) fn selector_error(e: AnchorError) -> ApiError {
    ApiError::invalid_field(format!("selector.{}", e.field()), e.message())
}

/// Checks a client's selector against a post's text and completes it (both selectors, context
/// recomputed from the text). Errors name `selector.<field>`.
pub fn selector_from_input(text: &str, input: &SelectorInput) -> Result<Selector, ApiError> {
    for (field, value, max) in [
        ("exact", &input.exact, 50_000),
        ("prefix", &input.prefix, 1_000),
        ("suffix", &input.suffix, 1_000),
    ] {
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            return Err(ApiError::invalid_field(
                format!("selector.{field}"),
                format!("must be at most {max} characters"),
            ));
        }
    }
    let from_utf16 = |v: Option<u64>, field: &str| -> Result<Option<usize>, ApiError> {
        match v {
            None => Ok(None),
            Some(u) => anchor::cp_offset_from_utf16(text, u as usize)
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        format!("selector.{field}"),
                        "is not a UTF-16 offset at a character boundary of the post",
                    )
                }),
        }
    };
    let start = match input.start {
        Some(s) => Some(s as usize),
        None => from_utf16(input.start_utf16, "start_utf16")?,
    };
    let end = match input.end {
        Some(e) => Some(e as usize),
        None => from_utf16(input.end_utf16, "end_utf16")?,
    };
    let position = match (start, end) {
        (Some(start), Some(end)) => Some(TextPosition { start, end }),
        (None, None) => None,
        (None, Some(_)) => {
            return Err(ApiError::invalid_field(
                "selector.start",
                "is required with end",
            ))
        }
        (Some(_), None) => {
            return Err(ApiError::invalid_field(
                "selector.end",
                "is required with start",
            ))
        }
    };
    let quote = input.exact.as_ref().map(|exact| TextQuote {
        exact: exact.clone(),
        prefix: input.prefix.clone().unwrap_or_default(),
        suffix: input.suffix.clone().unwrap_or_default(),
    });
    anchor::resolve(text, quote.as_ref(), position).map_err(selector_error)
}

/// Builds API annotations: authors from one query, and UTF-16 offsets from the posts' texts
/// (loaded in one query unless given).
pub fn build_annotations(
    conn: &mut DbConn,
    rows: &[AnnotationRow],
    known_posts: &[&PostRow],
) -> Result<Vec<Annotation>, ApiError> {
    let users = load_users(conn, &rows.iter().map(|a| a.user_id).collect::<Vec<_>>())?;
    let mut texts: HashMap<i64, String> = known_posts
        .iter()
        .map(|p| (p.id, p.body_text.clone()))
        .collect();
    let missing: Vec<i64> = rows
        .iter()
        .filter(|a| a.parent_id.is_none() && !texts.contains_key(&a.post_id))
        .map(|a| a.post_id)
        .collect();
    if !missing.is_empty() {
        for p in post_db::find_many(conn, &missing)? {
            texts.insert(p.id, p.body_text);
        }
    }
    Ok(rows
        .iter()
        .map(|a| {
            let target = a
                .quote_exact
                .as_ref()
                .filter(|_| a.parent_id.is_none())
                .map(|exact| {
                    let (start, end) = (
                        a.start_pos.map(|s| s as usize),
                        a.end_pos.map(|e| e as usize),
                    );
                    let (start_utf16, end_utf16) = match (start, end, texts.get(&a.post_id)) {
                        (Some(s), Some(e), Some(text)) => {
                            let u = utf16_offsets(text, &[s, e]);
                            (Some(u[0]), Some(u[1]))
                        }
                        _ => (None, None),
                    };
                    AnnotationTarget {
                        selector: TextSelector {
                            exact: exact.clone(),
                            prefix: a.quote_prefix.clone().unwrap_or_default(),
                            suffix: a.quote_suffix.clone().unwrap_or_default(),
                            start,
                            end,
                            start_utf16,
                            end_utf16,
                        },
                        created_revision: a.created_revision,
                        anchored_revision: a.anchored_revision,
                        anchor_state: AnchorStateView::parse(&a.anchor_state),
                        anchor_confidence: a.anchor_confidence,
                    }
                });
            Annotation {
                id: a.id,
                post_id: a.post_id,
                parent_id: a.parent_id,
                author: users
                    .get(&a.user_id)
                    .map(UserRef::from)
                    .unwrap_or_else(|| unknown_ref(a.user_id)),
                motivation: Motivation::parse(&a.motivation),
                body: a.body.clone(),
                body_html: a.body_html.clone(),
                tags: a.tag_list(),
                visibility: if a.visibility == "private" {
                    Visibility::Private
                } else {
                    Visibility::Public
                },
                target,
                reply_count: a.reply_count,
                created_at: utc(a.created_at),
                updated_at: utc(a.updated_at),
            }
        })
        .collect())
}
