//! Annotations in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{annotation_w3c, annotations, posts, threads};
use crate::db::{DbConn, MultiBackend};

/// A row of `annotations`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = annotations)]
pub struct AnnotationRow {
    pub id: i64,
    pub post_id: i64,
    pub user_id: i64,
    pub parent_id: Option<i64>,
    pub motivation: String,
    pub body: Option<String>,
    pub body_html: Option<String>,
    pub tags: String,
    pub visibility: String,
    pub quote_exact: Option<String>,
    pub quote_prefix: Option<String>,
    pub quote_suffix: Option<String>,
    pub start_pos: Option<i64>,
    pub end_pos: Option<i64>,
    pub created_revision: i32,
    pub anchored_revision: i32,
    pub anchor_state: String,
    pub anchor_confidence: f64,
    pub reply_count: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl AnnotationRow {
    /// Whether `viewer` may see it: public ones to all, private ones to their author only.
    pub fn visible_to(&self, viewer: Option<i64>) -> bool {
        self.visibility == "public" || Some(self.user_id) == viewer
    }

    /// The tags, from their stored JSON.
    pub fn tag_list(&self) -> Vec<String> {
        serde_json::from_str(&self.tags).unwrap_or_default()
    }
}

/// Insert form of an annotation.
#[derive(Debug, Insertable)]
#[diesel(table_name = annotations)]
pub struct NewAnnotation {
    pub post_id: i64,
    pub user_id: i64,
    pub parent_id: Option<i64>,
    pub motivation: String,
    pub body: Option<String>,
    pub body_html: Option<String>,
    pub tags: String,
    pub visibility: String,
    pub quote_exact: Option<String>,
    pub quote_prefix: Option<String>,
    pub quote_suffix: Option<String>,
    pub start_pos: Option<i64>,
    pub end_pos: Option<i64>,
    pub created_revision: i32,
    pub anchored_revision: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Update form of an annotation's content; `Some(None)` clears.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = annotations)]
pub struct AnnotationChanges {
    pub motivation: Option<String>,
    pub body: Option<Option<String>>,
    pub body_html: Option<Option<String>>,
    pub tags: Option<String>,
    pub visibility: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

/// A new selector position for an annotation, after re-anchoring.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = annotations)]
pub struct AnchorChanges {
    pub quote_exact: Option<Option<String>>,
    pub quote_prefix: Option<Option<String>>,
    pub quote_suffix: Option<Option<String>>,
    pub start_pos: Option<Option<i64>>,
    pub end_pos: Option<Option<i64>>,
    pub anchored_revision: Option<i32>,
    pub anchor_state: Option<String>,
    pub anchor_confidence: Option<f64>,
}

fn select() -> <AnnotationRow as Selectable<MultiBackend>>::SelectExpression {
    <AnnotationRow as Selectable<MultiBackend>>::construct_selection()
}

/// The id that matches no member: the viewer of a guest.
const NOBODY: i64 = -1;

/// Inserts an annotation (a reply also counts into its parent).
pub fn insert(conn: &mut DbConn, new: &NewAnnotation) -> QueryResult<AnnotationRow> {
    crate::db::atomic(conn, |conn| {
        let row = diesel::insert_into(annotations::table)
            .values(new)
            .returning(select())
            .get_result(conn)?;
        if let Some(parent) = new.parent_id {
            diesel::update(annotations::table.find(parent))
                .set(annotations::reply_count.eq(annotations::reply_count + 1))
                .execute(conn)?;
        }
        crate::search::index::annotation(conn, &row)?;
        Ok(row)
    })
}

/// Keeps what an annotation's W3C document held beyond Gloss's fields (JSON).
pub fn insert_w3c(conn: &mut DbConn, annotation_id: i64, data: &str) -> QueryResult<()> {
    diesel::insert_into(annotation_w3c::table)
        .values((
            annotation_w3c::annotation_id.eq(annotation_id),
            annotation_w3c::data.eq(data),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The kept W3C data of these annotations (those that have some), in one query.
pub fn w3c_data(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    annotation_w3c::table
        .filter(annotation_w3c::annotation_id.eq_any(ids.to_vec()))
        .select((annotation_w3c::annotation_id, annotation_w3c::data))
        .load(conn)
}

/// One annotation.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<AnnotationRow>> {
    annotations::table
        .find(id)
        .select(select())
        .first(conn)
        .optional()
}

/// Annotations by id, in one query.
pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<AnnotationRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    annotations::table
        .filter(annotations::id.eq_any(ids.to_vec()))
        .select(select())
        .load(conn)
}

/// Gives every reply of an annotation its visibility (a reply is seen with what it answers).
pub fn set_reply_visibility(
    conn: &mut DbConn,
    parent_id: i64,
    visibility: &str,
) -> QueryResult<usize> {
    diesel::update(annotations::table.filter(annotations::parent_id.eq(parent_id)))
        .set(annotations::visibility.eq(visibility))
        .execute(conn)
}

/// Changes an annotation's content.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    changes: &AnnotationChanges,
) -> QueryResult<AnnotationRow> {
    crate::db::atomic(conn, |conn| {
        let row = diesel::update(annotations::table.find(id))
            .set(changes)
            .returning(select())
            .get_result(conn)?;
        if changes.body.is_some() {
            crate::search::index::annotation(conn, &row)?;
        }
        Ok(row)
    })
}

/// Deletes an annotation and its replies.
pub fn delete(conn: &mut DbConn, row: &AnnotationRow) -> QueryResult<()> {
    crate::db::atomic(conn, |conn| {
        let mut gone: Vec<i64> = annotations::table
            .filter(annotations::parent_id.eq(row.id))
            .select(annotations::id)
            .load(conn)?;
        gone.push(row.id);
        crate::search::index::remove_annotations(conn, &gone)?;
        diesel::delete(annotations::table.filter(annotations::parent_id.eq(row.id)))
            .execute(conn)?;
        diesel::delete(annotations::table.find(row.id)).execute(conn)?;
        if let Some(parent) = row.parent_id {
            diesel::update(annotations::table.find(parent))
                .set(annotations::reply_count.eq(annotations::reply_count - 1))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Which annotations of a post to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter<'a> {
    /// Only this anchor state.
    pub anchor_state: Option<&'a str>,
}

/// A page of a post's top-level annotations visible to `viewer`, in text order; and the total.
pub fn list_for_post(
    conn: &mut DbConn,
    post_id: i64,
    viewer: Option<i64>,
    filter: ListFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AnnotationRow>, i64)> {
    let viewer = viewer.unwrap_or(NOBODY);
    let build = || {
        let mut q = annotations::table
            .filter(annotations::post_id.eq(post_id))
            .filter(annotations::parent_id.is_null())
            .filter(
                annotations::visibility
                    .eq("public")
                    .or(annotations::user_id.eq(viewer)),
            )
            .into_boxed::<MultiBackend>();
        if let Some(state) = filter.anchor_state {
            // an annotation of the whole post has no passage, so no anchor state
            q = q
                .filter(annotations::anchor_state.eq(state.to_string()))
                .filter(annotations::quote_exact.is_not_null());
        }
        q
    };
    let total = build().count().get_result(conn)?;
    let items = build()
        // orphans and whole-post annotations (no position) last, on both backends alike
        .order((
            annotations::start_pos.is_null().asc(),
            annotations::start_pos.asc(),
            annotations::id.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select(select())
        .load(conn)?;
    Ok((items, total))
}

/// A page of the replies to an annotation, oldest first; and the total.
pub fn replies(
    conn: &mut DbConn,
    parent_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AnnotationRow>, i64)> {
    let base = || annotations::table.filter(annotations::parent_id.eq(parent_id));
    let total = base().count().get_result(conn)?;
    let items = base()
        .order(annotations::id.asc())
        .offset(offset)
        .limit(limit)
        .select(select())
        .load(conn)?;
    Ok((items, total))
}

/// A page of the top-level annotations visible to `viewer` on the visible posts of a thread.
pub fn list_for_thread(
    conn: &mut DbConn,
    thread_id: i64,
    viewer: Option<i64>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AnnotationRow>, i64)> {
    let viewer = viewer.unwrap_or(NOBODY);
    let build = || {
        annotations::table
            .inner_join(posts::table)
            .filter(posts::thread_id.eq(thread_id))
            .filter(posts::deleted_at.is_null())
            .filter(annotations::parent_id.is_null())
            .filter(
                annotations::visibility
                    .eq("public")
                    .or(annotations::user_id.eq(viewer)),
            )
    };
    let total = build().count().get_result(conn)?;
    let items = build()
        // within a post, orphans and whole-post annotations (no position) last on both backends
        .order((
            posts::position.asc(),
            annotations::start_pos.is_null().asc(),
            annotations::start_pos.asc(),
            annotations::id.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select(select())
        .load(conn)?;
    Ok((items, total))
}

/// A member's annotations (top-level and replies) visible to `viewer`, newest first, before a cursor;
/// only those on visible posts in visible threads.
pub fn list_by_user(
    conn: &mut DbConn,
    user_id: i64,
    viewer: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AnnotationRow>> {
    let viewer = viewer.unwrap_or(NOBODY);
    let mut q = annotations::table
        .inner_join(posts::table.inner_join(threads::table))
        .filter(annotations::user_id.eq(user_id))
        .filter(
            annotations::visibility
                .eq("public")
                .or(annotations::user_id.eq(viewer)),
        )
        .filter(posts::deleted_at.is_null())
        .filter(threads::deleted_at.is_null())
        .into_boxed::<MultiBackend>();
    if let Some(b) = before {
        q = q.filter(annotations::id.lt(b));
    }
    q.order(annotations::id.desc())
        .limit(limit)
        .select(select())
        .load(conn)
}

/// One mark of a passage, for counts and heat maps.
#[derive(Debug, Clone, Queryable)]
pub struct Mark {
    pub post_id: i64,
    pub user_id: i64,
    pub start_pos: Option<i64>,
    pub end_pos: Option<i64>,
    pub anchor_state: String,
}

/// The top-level annotations visible to `viewer` on these posts, in one query.
pub fn marks_for_posts(
    conn: &mut DbConn,
    post_ids: &[i64],
    viewer: Option<i64>,
) -> QueryResult<Vec<Mark>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    let viewer = viewer.unwrap_or(NOBODY);
    annotations::table
        .filter(annotations::post_id.eq_any(post_ids.to_vec()))
        .filter(annotations::parent_id.is_null())
        .filter(
            annotations::visibility
                .eq("public")
                .or(annotations::user_id.eq(viewer)),
        )
        .select((
            annotations::post_id,
            annotations::user_id,
            annotations::start_pos,
            annotations::end_pos,
            annotations::anchor_state,
        ))
        .load(conn)
}

/// Every anchored annotation of a post (not replies), for re-anchoring.
pub fn with_selectors(conn: &mut DbConn, post_id: i64) -> QueryResult<Vec<AnnotationRow>> {
    annotations::table
        .filter(annotations::post_id.eq(post_id))
        .filter(annotations::parent_id.is_null())
        // an annotation of the whole post has no passage to move
        .filter(annotations::quote_exact.is_not_null())
        .filter(annotations::anchor_state.ne("orphaned"))
        .select(select())
        .load(conn)
}

/// Stores a re-anchoring outcome.
pub fn set_anchor(conn: &mut DbConn, id: i64, changes: &AnchorChanges) -> QueryResult<()> {
    diesel::update(annotations::table.find(id))
        .set(changes)
        .execute(conn)
        .map(|_| ())
}

/// Where an annotation's passage is after an edit.
#[derive(Debug, Clone)]
pub struct AnchorUpdate {
    pub id: i64,
    pub exact: String,
    pub prefix: String,
    pub suffix: String,
    /// `None` when orphaned.
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub state: &'static str,
    pub confidence: f64,
}

/// Stores re-anchoring outcomes. On PostgreSQL, where every statement is a network round trip,
/// 500 rows go in one `UPDATE … FROM (VALUES …)`; SQLite, in process, takes them one by one.
pub fn apply_anchors(conn: &mut DbConn, updates: &[AnchorUpdate]) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Double, Nullable, Text};
    match conn {
        DbConn::Pg(pg) => {
            for chunk in updates.chunks(500) {
                let rows: Vec<String> = (0..chunk.len())
                    .map(|r| {
                        let b = r * 8;
                        format!(
                            "(${}::bigint, ${}::text, ${}::text, ${}::text, ${}::bigint, ${}::bigint, ${}::text, ${}::float8)",
                            b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8
                        )
                    })
                    .collect();
                let sql = format!(
                    "UPDATE annotations AS a SET quote_exact = v.exact, quote_prefix = v.prefix, quote_suffix = v.suffix, \
                     start_pos = v.s, end_pos = v.e, anchor_state = v.state, anchor_confidence = v.conf \
                     FROM (VALUES {}) AS v(id, exact, prefix, suffix, s, e, state, conf) WHERE a.id = v.id",
                    rows.join(", ")
                );
                let mut q = diesel::sql_query(sql).into_boxed::<diesel::pg::Pg>();
                for u in chunk {
                    q = q
                        .bind::<BigInt, _>(u.id)
                        .bind::<Text, _>(u.exact.clone())
                        .bind::<Text, _>(u.prefix.clone())
                        .bind::<Text, _>(u.suffix.clone())
                        .bind::<Nullable<BigInt>, _>(u.start)
                        .bind::<Nullable<BigInt>, _>(u.end)
                        .bind::<Text, _>(u.state)
                        .bind::<Double, _>(u.confidence);
                }
                q.execute(pg)?;
            }
            Ok(())
        }
        DbConn::Sqlite(_) => {
            for u in updates {
                set_anchor(
                    conn,
                    u.id,
                    &AnchorChanges {
                        quote_exact: Some(Some(u.exact.clone())),
                        quote_prefix: Some(Some(u.prefix.clone())),
                        quote_suffix: Some(Some(u.suffix.clone())),
                        start_pos: Some(u.start),
                        end_pos: Some(u.end),
                        anchored_revision: None,
                        anchor_state: Some(u.state.to_string()),
                        anchor_confidence: Some(u.confidence),
                    },
                )?;
            }
            Ok(())
        }
    }
}

/// Points every live annotation of a post at a new revision of it.
pub fn set_revision_for_post(conn: &mut DbConn, post_id: i64, revision: i32) -> QueryResult<usize> {
    diesel::update(
        annotations::table
            .filter(annotations::post_id.eq(post_id))
            .filter(annotations::parent_id.is_null())
            .filter(annotations::anchor_state.ne("orphaned")),
    )
    .set(annotations::anchored_revision.eq(revision))
    .execute(conn)
}

/// The next `limit` annotations with a body after id `after`, by id: (id, body, body_html).
pub fn bodies_after(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, String, Option<String>)>> {
    annotations::table
        .filter(annotations::id.gt(after))
        .filter(annotations::body.is_not_null())
        .order(annotations::id)
        .limit(limit)
        .select((
            annotations::id,
            annotations::body.assume_not_null(),
            annotations::body_html,
        ))
        .load(conn)
}

/// Stores an annotation's body rendered again, if its Markdown is still `body`.
pub fn store_rendering(conn: &mut DbConn, id: i64, body: &str, html: &str) -> QueryResult<bool> {
    let n = diesel::update(
        annotations::table
            .find(id)
            .filter(annotations::body.eq(body)),
    )
    .set(annotations::body_html.eq(html))
    .execute(conn)?;
    Ok(n > 0)
}

/// Which of these posts carry a private (top-level) annotation of `user`: one query.
pub fn posts_with_private_marks(
    conn: &mut DbConn,
    post_ids: &[i64],
    user: i64,
) -> QueryResult<Vec<i64>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    annotations::table
        .filter(annotations::post_id.eq_any(post_ids.to_vec()))
        .filter(annotations::parent_id.is_null())
        .filter(annotations::user_id.eq(user))
        .filter(annotations::visibility.eq("private"))
        .select(annotations::post_id)
        .distinct()
        .load(conn)
}
