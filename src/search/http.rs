//! `GET /search`: full-text search over thread titles, posts and annotations.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::db::{self as search_db, SearchFilter};
use super::view::{build_hits, SearchHit, SearchKind};
use crate::auth::MaybeUser;
use crate::error::{ApiError, Problem, Validator};
use crate::extract::Query;
use crate::forums::db as forum_db;
use crate::pagination::{DEFAULT_PER_PAGE, MAX_PER_PAGE};
use crate::policy;
use crate::text::search::parse;
use crate::users::db as user_db;
use crate::AppState;

/// The longest query read, in characters (only its first 32 terms are searched for).
pub const MAX_QUERY_CHARS: usize = 20_000;
/// How many matches are ranked and paged: the newest 1,000 the caller may read. Past them, a
/// narrower query serves better.
pub const MAX_RESULTS: i64 = 1_000;
/// The largest page of results.
pub const MAX_SEARCH_PER_PAGE: u32 = 50;

/// How to order results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    /// Best match first (the default).
    Relevance,
    /// Newest first.
    Newest,
}

/// A search.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What to look for, as typed into a search box: words (all must be found), `"an exact
    /// phrase"`, `-excluded` words or phrases, and `OR` between two of them. Case does not
    /// matter; any other character only separates words, so every input is a valid query.
    #[param(
        max_length = 20000,
        example = "partnership \"strategic partners\" -trade"
    )]
    pub q: String,
    /// Only threads (titles), posts or annotations.
    #[serde(rename = "type")]
    #[param(rename = "type", inline)]
    pub kind: Option<SearchKind>,
    /// Only in this forum and the forums below it.
    #[param(example = 2)]
    pub forum_id: Option<i64>,
    /// Only what this member wrote (their username).
    #[param(max_length = 64, example = "saif")]
    pub author: Option<String>,
    /// Only in threads with this prefix.
    pub prefix_id: Option<i64>,
    /// Only in threads whose custom field (its key; needs `forum_id`) matches `eq`, `min`
    /// and/or `max`.
    #[param(max_length = 64, example = "date_of_event")]
    pub field: Option<String>,
    /// The field equals this value.
    #[param(max_length = 2000)]
    pub eq: Option<String>,
    /// The field is at least this (dates and numbers compare as such).
    #[param(max_length = 2000, example = "2025-07-01")]
    pub min: Option<String>,
    /// The field is at most this.
    #[param(max_length = 2000, example = "2025-07-31")]
    pub max: Option<String>,
    /// Only what was written at or after this time.
    #[param(example = "2025-07-01T00:00:00Z")]
    pub since: Option<DateTime<Utc>>,
    /// Only what was written before this time.
    #[param(example = "2025-08-01T00:00:00Z")]
    pub until: Option<DateTime<Utc>>,
    /// `relevance` (default) or `newest`.
    #[param(inline)]
    pub sort: Option<SearchSort>,
    /// Moderators: deleted threads and posts too.
    pub include_deleted: Option<bool>,
    /// 1-based page number (default 1); results stop after 1,000.
    #[param(minimum = 1, maximum = 1000, example = 1)]
    pub page: Option<u32>,
    /// Results per page (default 20, at most 50).
    #[param(minimum = 1, maximum = 50, example = 20)]
    pub per_page: Option<u32>,
    /// The page size of the thread pages each hit's `page` is counted in (default 20).
    #[param(minimum = 1, maximum = 100, example = 20)]
    pub thread_per_page: Option<u32>,
}

/// A page of search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub items: Vec<SearchHit>,
    /// This page's number (1-based).
    #[schema(example = 1)]
    pub page: u32,
    /// The page size used.
    #[schema(example = 20)]
    pub per_page: u32,
    /// Results that can be paged through: every match, up to 1,000 (the newest).
    #[schema(example = 123)]
    pub total: i64,
    /// Pages of `total`.
    #[schema(example = 7)]
    pub total_pages: i64,
    /// More than 1,000 documents match: the newest 1,000 were ranked; narrow the query (more
    /// words, a phrase, a forum, an author, dates) to reach older ones.
    pub more: bool,
}

/// Search thread titles, posts and annotations (their bodies and the passages they quote).
/// Results are ranked (among the newest 1,000 matches, when there are more), and each carries a
/// snippet with the matched words marked by offsets, and the thread, post and page it belongs to. Only what the caller may read is found: no deleted
/// threads or posts (moderators may ask for them), no one else's private annotations.
#[utoipa::path(
    tag = "search",
    params(SearchParams),
    responses(
        (status = 200, description = "The page of results", body = SearchResults),
        (status = 422, description = "An invalid parameter (named in `errors`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/search")]
pub async fn search(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    query: Query<SearchParams>,
) -> Result<web::Json<SearchResults>, ApiError> {
    let q = query.0;
    let page = q.page.unwrap_or(1);
    let per_page = q.per_page.unwrap_or(DEFAULT_PER_PAGE);
    let thread_per_page = q.thread_per_page.unwrap_or(DEFAULT_PER_PAGE);
    Validator::new()
        .check(
            q.q.chars().count() <= MAX_QUERY_CHARS,
            "q",
            format!("must be at most {MAX_QUERY_CHARS} characters"),
        )
        .check(
            (1..=MAX_SEARCH_PER_PAGE).contains(&per_page),
            "per_page",
            format!("must be between 1 and {MAX_SEARCH_PER_PAGE}"),
        )
        .check(
            page >= 1 && i64::from(page - 1) * i64::from(per_page) < MAX_RESULTS,
            "page",
            format!("must be at least 1, and results stop after {MAX_RESULTS}: narrow the query"),
        )
        .check(
            (1..=MAX_PER_PAGE).contains(&thread_per_page),
            "thread_per_page",
            format!("must be between 1 and {MAX_PER_PAGE}"),
        )
        .check(
            q.forum_id.is_some() || q.field.is_none(),
            "field",
            "needs forum_id: custom fields belong to a forum",
        )
        .finish()?;
    let viewer = viewer.0;
    let include_deleted =
        q.include_deleted.unwrap_or(false) && policy::can_see_deleted(viewer.as_ref());
    let language = state.config.search_language.clone();
    let results = state
        .db
        .run(move |conn| {
            let mut filter = SearchFilter {
                query: parse(&q.q),
                kind: q.kind.map(SearchKind::as_str),
                prefix_id: q.prefix_id,
                since: q.since.map(|t| t.naive_utc()),
                until: q.until.map(|t| t.naive_utc()),
                viewer: viewer.as_ref().map(|v| v.id),
                include_deleted,
                newest_first: q.sort == Some(SearchSort::Newest),
                ..Default::default()
            };
            let empty = SearchResults {
                items: Vec::new(),
                page,
                per_page,
                total: 0,
                total_pages: 0,
                more: false,
            };
            if let Some(forum_id) = q.forum_id {
                let forums = forum_db::list_all(conn)?;
                if !forums.iter().any(|f| f.id == forum_id) {
                    return Err(ApiError::invalid_field("forum_id", "no forum has this id"));
                }
                // the forum and every forum below it
                let mut ids = vec![forum_id];
                let mut i = 0;
                while i < ids.len() {
                    let parent = ids[i];
                    ids.extend(
                        forums
                            .iter()
                            .filter(|f| f.parent_id == Some(parent))
                            .map(|f| f.id),
                    );
                    i += 1;
                }
                filter.forum_ids = Some(ids);
                filter.field = crate::threads::filter::field_filter(
                    conn, forum_id, &q.field, &q.eq, &q.min, &q.max,
                )?;
            }
            if let Some(name) = &q.author {
                match user_db::find_by_username(conn, name)? {
                    Some(u) => filter.user_id = Some(u.id),
                    // nobody by that name wrote anything
                    None => return Ok(empty),
                }
            }
            // the newest 1,000 matches (and one more, to know there are more), then ranked
            let mut found = search_db::candidates(conn, &filter, &language, MAX_RESULTS + 1)?;
            let more = found.len() as i64 > MAX_RESULTS;
            found.truncate(MAX_RESULTS as usize);
            if !filter.newest_first {
                found.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.id.cmp(&a.id)));
            } else {
                found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            }
            let total = found.len() as i64;
            let offset = (i64::from(page - 1) * i64::from(per_page)) as usize;
            let shown: Vec<_> = found
                .into_iter()
                .skip(offset)
                .take(per_page as usize)
                .collect();
            let items = build_hits(conn, &shown, &filter.query, thread_per_page)?;
            Ok(SearchResults {
                items,
                page,
                per_page,
                total,
                total_pages: (total + i64::from(per_page) - 1) / i64::from(per_page),
                more,
            })
        })
        .await?;
    Ok(web::Json(results))
}

/// Registers the search route.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(search);
}
