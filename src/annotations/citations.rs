//! Cite: a post quotes a passage of another post. The quote is verified against the cited post,
//! kept as data (and as text that survives any later edit or deletion of the source), rendered as a
//! quote block in the citing post, and counted on the cited post.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use utoipa::ToSchema;

use super::db as annotation_db;
use super::model::{selector_from_input, SelectorInput};
use crate::auth::AuthUser;
use crate::db::schema::{citations, posts, threads};
use crate::db::{now, DbConn, MultiBackend};
use crate::error::ApiError;
use crate::policy;
use crate::posts::db as post_db;
use crate::text::anchor::Selector;
use crate::text::escape_html;
use crate::threads::db as thread_db;
use crate::users::cards::{load_users, unknown_ref, UserRef};

/// The most citations one post may carry.
pub const MAX_CITATIONS: usize = 20;

/// A passage to cite: a post and a selector into its `body_text`, or an annotation (whose passage is cited).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"post_id": 145, "selector": {"exact": "strengthen mutual support"}}))]
pub struct CitationInput {
    /// The post to cite (with `selector`).
    pub post_id: Option<i64>,
    /// The passage, like an annotation's selector.
    pub selector: Option<SelectorInput>,
    /// Or: an annotation whose passage to cite (instead of `post_id` and `selector`).
    pub annotation_id: Option<i64>,
}

/// A citation checked against its source, ready to store.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub cited_post_id: i64,
    pub cited_revision: i32,
    pub annotation_id: Option<i64>,
    pub selector: Selector,
    pub author: UserRef,
}

/// A row of `citations`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = citations)]
pub struct CitationRow {
    pub id: i64,
    pub citing_post_id: i64,
    pub cited_post_id: i64,
    pub annotation_id: Option<i64>,
    pub cited_revision: i32,
    pub quoted_text: String,
    pub quote_prefix: String,
    pub quote_suffix: String,
    pub start_pos: i64,
    pub end_pos: i64,
    pub current_exact: Option<String>,
    pub current_start: Option<i64>,
    pub current_end: Option<i64>,
    pub anchor_state: String,
    pub anchor_confidence: f64,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

fn select() -> <CitationRow as Selectable<MultiBackend>>::SelectExpression {
    <CitationRow as Selectable<MultiBackend>>::construct_selection()
}

/// Checks every citation against its source: the post must be readable by the citer and the
/// quoted text really in it. Errors name `citations[i].…`.
pub fn prepare(
    conn: &mut DbConn,
    actor: &AuthUser,
    inputs: &[CitationInput],
) -> Result<Vec<Prepared>, ApiError> {
    if inputs.len() > MAX_CITATIONS {
        return Err(ApiError::invalid_field(
            "citations",
            format!("at most {MAX_CITATIONS} citations per post"),
        ));
    }
    let mut out = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let field = |f: &str| format!("citations[{i}].{f}");
        let (post_id, selector, annotation_id) =
            match (input.post_id, &input.selector, input.annotation_id) {
                (None, None, Some(aid)) => {
                    let a = annotation_db::find(conn, aid)?
                        .filter(|a| a.visible_to(Some(actor.id)) && a.parent_id.is_none())
                        .ok_or_else(|| {
                            ApiError::invalid_field(
                                field("annotation_id"),
                                "no annotation you can see has this id",
                            )
                        })?;
                    let (Some(exact), Some(start), Some(end)) =
                        (a.quote_exact.clone(), a.start_pos, a.end_pos)
                    else {
                        return Err(ApiError::invalid_field(
                            field("annotation_id"),
                            if a.quote_exact.is_none() {
                                "this annotation is of the whole post, not of a passage: cite \
                                 with post_id and a selector"
                            } else {
                                "this annotation's passage is gone from its post (orphaned)"
                            },
                        ));
                    };
                    let input = SelectorInput {
                        exact: Some(exact),
                        prefix: a.quote_prefix.clone(),
                        suffix: a.quote_suffix.clone(),
                        start: Some(start as u64),
                        end: Some(end as u64),
                        start_utf16: None,
                        end_utf16: None,
                    };
                    (a.post_id, input, Some(aid))
                }
                (Some(pid), Some(sel), None) => (pid, sel.clone(), None),
                _ => {
                    return Err(ApiError::invalid_field(
                        field("post_id"),
                        "give either post_id with selector, or annotation_id alone",
                    ))
                }
            };
        let post = post_db::find(conn, post_id)?;
        let thread = match &post {
            Some(p) => thread_db::find(conn, p.thread_id)?,
            None => None,
        };
        let (Some(post), Some(thread)) = (post, thread) else {
            return Err(ApiError::invalid_field(
                field("post_id"),
                "no post has this id",
            ));
        };
        if policy::can_view_post(Some(actor), &post, &thread).is_err() || post.is_deleted() {
            return Err(ApiError::invalid_field(
                field("post_id"),
                "no post you can read has this id",
            ));
        }
        let selector =
            selector_from_input(&post.body_text, &selector).map_err(|e| e.renamed(field))?;
        out.push(Prepared {
            cited_post_id: post.id,
            cited_revision: post.revision,
            annotation_id,
            selector,
            author: unknown_ref(post.user_id),
        });
    }
    let authors = load_users(conn, &out.iter().map(|p| p.author.id).collect::<Vec<_>>())?;
    for p in &mut out {
        if let Some(u) = authors.get(&p.author.id) {
            p.author = UserRef::from(u);
        }
    }
    Ok(out)
}

/// The quote block a citation renders as, above the citing post's own text.
pub fn quote_block(cited_post_id: i64, author: &UserRef, quoted: &str) -> String {
    let name = author.display_name.as_deref().unwrap_or(&author.username);
    format!(
        "<blockquote class=\"gloss-citation\" data-post-id=\"{cited_post_id}\" data-username=\"{}\"><p>{}</p>\
         <p class=\"gloss-citation-source\">— <a href=\"/api/v1/posts/{cited_post_id}\">{}</a></p></blockquote>\n",
        escape_html(&author.username),
        escape_html(quoted).replace('\n', "<br>"),
        escape_html(name),
    )
}

/// Quote blocks for prepared citations, in order.
pub fn quotes_html(prepared: &[Prepared]) -> String {
    prepared
        .iter()
        .map(|p| quote_block(p.cited_post_id, &p.author, &p.selector.quote.exact))
        .collect()
}

/// Stores the citations of a new post.
pub fn insert(conn: &mut DbConn, citing_post_id: i64, prepared: &[Prepared]) -> QueryResult<()> {
    let t = now();
    for (i, p) in prepared.iter().enumerate() {
        diesel::insert_into(citations::table)
            .values((
                citations::citing_post_id.eq(citing_post_id),
                citations::cited_post_id.eq(p.cited_post_id),
                citations::annotation_id.eq(p.annotation_id),
                citations::cited_revision.eq(p.cited_revision),
                citations::quoted_text.eq(&p.selector.quote.exact),
                citations::quote_prefix.eq(&p.selector.quote.prefix),
                citations::quote_suffix.eq(&p.selector.quote.suffix),
                citations::start_pos.eq(p.selector.position.start as i64),
                citations::end_pos.eq(p.selector.position.end as i64),
                citations::current_exact.eq(Some(&p.selector.quote.exact)),
                citations::current_start.eq(Some(p.selector.position.start as i64)),
                citations::current_end.eq(Some(p.selector.position.end as i64)),
                citations::position.eq(i as i32),
                citations::created_at.eq(t),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The quote blocks of a post's stored citations (to keep them when the post is edited).
pub fn stored_quotes_html(conn: &mut DbConn, citing_post_id: i64) -> QueryResult<String> {
    let rows: Vec<CitationRow> = citations::table
        .filter(citations::citing_post_id.eq(citing_post_id))
        .order(citations::position.asc())
        .select(select())
        .load(conn)?;
    if rows.is_empty() {
        return Ok(String::new());
    }
    let cited: Vec<i64> = rows.iter().map(|r| r.cited_post_id).collect();
    let authors: HashMap<i64, i64> = posts::table
        .filter(posts::id.eq_any(cited))
        .select((posts::id, posts::user_id))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let users = load_users(conn, &authors.values().copied().collect::<Vec<_>>())?;
    Ok(rows
        .iter()
        .map(|r| {
            let author = authors
                .get(&r.cited_post_id)
                .and_then(|u| users.get(u))
                .map(UserRef::from)
                .unwrap_or_else(|| unknown_ref(0));
            quote_block(r.cited_post_id, &author, &r.quoted_text)
        })
        .collect())
}

/// How many visible posts (in visible threads) cite each of these posts (one query).
pub fn cited_by_counts(conn: &mut DbConn, post_ids: &[i64]) -> QueryResult<HashMap<i64, i64>> {
    if post_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = citations::table
        .inner_join(posts::table.on(posts::id.eq(citations::citing_post_id)))
        .inner_join(threads::table.on(threads::id.eq(posts::thread_id)))
        .filter(citations::cited_post_id.eq_any(post_ids.to_vec()))
        .filter(posts::deleted_at.is_null())
        .filter(threads::deleted_at.is_null())
        .group_by(citations::cited_post_id)
        .select((citations::cited_post_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// A page of the citations of a post by visible posts, oldest first; and the total.
pub fn cited_by(
    conn: &mut DbConn,
    cited_post_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<(CitationRow, i64)>, i64)> {
    let base = || {
        citations::table
            .inner_join(posts::table.on(posts::id.eq(citations::citing_post_id)))
            .inner_join(threads::table.on(threads::id.eq(posts::thread_id)))
            .filter(citations::cited_post_id.eq(cited_post_id))
            .filter(posts::deleted_at.is_null())
            .filter(threads::deleted_at.is_null())
    };
    let total = base().count().get_result(conn)?;
    let items = base()
        .order(citations::id.asc())
        .offset(offset)
        .limit(limit)
        .select((select(), posts::user_id))
        .load(conn)?;
    Ok((items, total))
}

/// The live citations of a post's passages, for re-anchoring.
pub fn citing(conn: &mut DbConn, cited_post_id: i64) -> QueryResult<Vec<CitationRow>> {
    citations::table
        .filter(citations::cited_post_id.eq(cited_post_id))
        .filter(citations::anchor_state.ne("orphaned"))
        .select(select())
        .load(conn)
}

/// Stores where a cited passage now is (or that it is gone).
pub fn set_anchor(
    conn: &mut DbConn,
    id: i64,
    selector: Option<&Selector>,
    state: &str,
    confidence: f64,
) -> QueryResult<()> {
    diesel::update(citations::table.find(id))
        .set((
            citations::current_exact.eq(selector.map(|s| s.quote.exact.clone())),
            citations::current_start.eq(selector.map(|s| s.position.start as i64)),
            citations::current_end.eq(selector.map(|s| s.position.end as i64)),
            citations::anchor_state.eq(state),
            citations::anchor_confidence.eq(confidence),
        ))
        .execute(conn)
        .map(|_| ())
}
