//! Threads in the database, with the counters that follow them.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{forums, posts, thread_field_values, thread_fields, threads, users};
use crate::db::{now, DbConn, MultiBackend};
use crate::forums::db as forum_db;
use crate::forums::fields::StoredValue;
use crate::posts::db::{self as post_db, NewPostContent, PostRow};

/// A row of `threads`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = threads)]
pub struct ThreadRow {
    pub id: i64,
    pub forum_id: i64,
    pub user_id: i64,
    pub title: String,
    pub prefix_id: Option<i64>,
    pub reply_count: i64,
    pub view_count: i64,
    pub last_position: i64,
    pub first_post_id: Option<i64>,
    pub last_post_id: Option<i64>,
    pub last_post_user_id: Option<i64>,
    pub last_post_at: NaiveDateTime,
    pub sticky: bool,
    pub locked: bool,
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl ThreadRow {
    /// Whether the thread is soft-deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A field value of a thread, with its definition's key.
#[derive(Debug, Clone, Queryable)]
pub struct ThreadFieldValue {
    pub thread_id: i64,
    pub field_id: i64,
    pub value_text: String,
    pub value_number: Option<f64>,
}

fn select() -> <ThreadRow as Selectable<MultiBackend>>::SelectExpression {
    <ThreadRow as Selectable<MultiBackend>>::construct_selection()
}

/// One thread.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ThreadRow>> {
    threads::table
        .find(id)
        .select(select())
        .first(conn)
        .optional()
}

/// Threads by id, in one query.
pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<ThreadRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    threads::table
        .filter(threads::id.eq_any(ids.to_vec()))
        .select(select())
        .load(conn)
}

/// The field values of these threads, in one query.
pub fn field_values(conn: &mut DbConn, thread_ids: &[i64]) -> QueryResult<Vec<ThreadFieldValue>> {
    if thread_ids.is_empty() {
        return Ok(Vec::new());
    }
    thread_field_values::table
        .filter(thread_field_values::thread_id.eq_any(thread_ids.to_vec()))
        .select((
            thread_field_values::thread_id,
            thread_field_values::field_id,
            thread_field_values::value_text,
            thread_field_values::value_number,
        ))
        .load(conn)
}

/// What a new thread is made of.
pub struct NewThread<'a> {
    pub forum_id: i64,
    pub user_id: i64,
    pub title: &'a str,
    pub prefix_id: Option<i64>,
    pub fields: &'a [StoredValue],
    pub first_post: NewPostContent<'a>,
}

/// Creates a thread with its first post, field values and every counter, in one transaction.
pub fn create(conn: &mut DbConn, new: &NewThread) -> QueryResult<(ThreadRow, PostRow)> {
    crate::db::atomic(conn, |conn| {
        let t = now();
        let thread: ThreadRow = diesel::insert_into(threads::table)
            .values((
                threads::forum_id.eq(new.forum_id),
                threads::user_id.eq(new.user_id),
                threads::title.eq(new.title),
                threads::prefix_id.eq(new.prefix_id),
                threads::last_post_at.eq(t),
                threads::created_at.eq(t),
                threads::updated_at.eq(t),
            ))
            .returning(select())
            .get_result(conn)?;
        replace_field_values(conn, thread.id, new.fields)?;
        let post = post_db::append(conn, &thread, new.user_id, &new.first_post)?;
        let t = post.created_at;
        diesel::update(threads::table.find(thread.id))
            .set(threads::first_post_id.eq(Some(post.id)))
            .execute(conn)?;
        forum_db::count_new_post(conn, new.forum_id, thread.id, post.id, new.user_id, t, true)?;
        let thread = threads::table
            .find(thread.id)
            .select(select())
            .first(conn)?;
        crate::search::index::thread(conn, &thread)?;
        Ok((thread, post))
    })
}

/// Replaces a thread's field values.
pub fn replace_field_values(
    conn: &mut DbConn,
    thread_id: i64,
    values: &[StoredValue],
) -> QueryResult<()> {
    diesel::delete(thread_field_values::table.filter(thread_field_values::thread_id.eq(thread_id)))
        .execute(conn)?;
    for v in values {
        diesel::insert_into(thread_field_values::table)
            .values((
                thread_field_values::thread_id.eq(thread_id),
                thread_field_values::field_id.eq(v.field_id),
                thread_field_values::value_text.eq(&v.value_text),
                thread_field_values::value_number.eq(v.value_number),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// How to narrow a forum's thread list.
#[derive(Debug, Clone, Default)]
pub struct ThreadFilter {
    pub prefix_id: Option<i64>,
    /// (field id, is a number field, eq, min, max); values in stored form.
    pub field: Option<FieldFilter>,
    pub include_deleted: bool,
}

/// A filter on one custom field.
#[derive(Debug, Clone)]
pub struct FieldFilter {
    pub field_id: i64,
    pub numeric: bool,
    pub eq: Option<String>,
    pub min: Option<String>,
    pub max: Option<String>,
}

/// A page of a forum's threads: sticky first, then by last activity; and the total.
/// `known_total` is the forum's maintained count of visible threads: with no filter it is the
/// total, so a page costs the page and not a count of the forum.
pub fn list_in_forum(
    conn: &mut DbConn,
    forum_id: i64,
    filter: &ThreadFilter,
    known_total: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ThreadRow>, i64)> {
    let build = || {
        let mut q = threads::table
            .filter(threads::forum_id.eq(forum_id))
            .into_boxed::<MultiBackend>();
        if !filter.include_deleted {
            q = q.filter(threads::deleted_at.is_null());
        }
        if let Some(p) = filter.prefix_id {
            q = q.filter(threads::prefix_id.eq(p));
        }
        if let Some(f) = &filter.field {
            // `eq` is a range with equal bounds; a missing bound is the widest one. (A boxed
            // subquery does not compile through MultiBackend, so the subquery is static.)
            let lo = f.eq.clone().or_else(|| f.min.clone());
            let hi = f.eq.clone().or_else(|| f.max.clone());
            if f.numeric {
                let num = |s: Option<String>, default: f64| {
                    s.and_then(|v| v.parse::<f64>().ok()).unwrap_or(default)
                };
                let sub = thread_field_values::table
                    .filter(thread_field_values::field_id.eq(f.field_id))
                    .filter(thread_field_values::value_number.ge(num(lo, f64::MIN)))
                    .filter(thread_field_values::value_number.le(num(hi, f64::MAX)))
                    .select(thread_field_values::thread_id);
                q = q.filter(threads::id.eq_any(sub));
            } else {
                // a missing bound is no bound (no sentinel string, whose order depends on collation)
                let no_hi = hi.is_none();
                let sub = thread_field_values::table
                    .filter(thread_field_values::field_id.eq(f.field_id))
                    .filter(thread_field_values::value_text.ge(lo.unwrap_or_default()))
                    .filter(
                        thread_field_values::value_text
                            .le(hi.unwrap_or_default())
                            .or(no_hi.into_sql::<diesel::sql_types::Bool>()),
                    )
                    .select(thread_field_values::thread_id);
                q = q.filter(threads::id.eq_any(sub));
            }
        }
        q
    };
    let unfiltered =
        !filter.include_deleted && filter.prefix_id.is_none() && filter.field.is_none();
    let total = if unfiltered {
        known_total
    } else {
        build().count().get_result(conn)?
    };
    let items = build()
        .order((
            threads::sticky.desc(),
            threads::last_post_at.desc(),
            threads::id.desc(),
        ))
        .offset(offset)
        .limit(limit)
        .select(select())
        .load(conn)?;
    Ok((items, total))
}

/// A page of a member's visible threads, newest first, and the total.
pub fn list_by_user(
    conn: &mut DbConn,
    user_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ThreadRow>, i64)> {
    let base = || {
        threads::table
            .filter(threads::user_id.eq(user_id))
            .filter(threads::deleted_at.is_null())
    };
    let total = base().count().get_result(conn)?;
    let items = base()
        .order(threads::id.desc())
        .offset(offset)
        .limit(limit)
        .select(select())
        .load(conn)?;
    Ok((items, total))
}

/// A member's newest visible threads (no total: for side blocks).
pub fn newest_by_user(conn: &mut DbConn, user_id: i64, limit: i64) -> QueryResult<Vec<ThreadRow>> {
    threads::table
        .filter(threads::user_id.eq(user_id))
        .filter(threads::deleted_at.is_null())
        .order(threads::id.desc())
        .limit(limit)
        .select(select())
        .load(conn)
}

/// The newest visible threads with an id below `before`, newest first.
pub fn latest(conn: &mut DbConn, before: Option<i64>, limit: i64) -> QueryResult<Vec<ThreadRow>> {
    let mut q = threads::table
        .filter(threads::deleted_at.is_null())
        .into_boxed::<MultiBackend>();
    if let Some(b) = before {
        q = q.filter(threads::id.lt(b));
    }
    q.order(threads::id.desc())
        .limit(limit)
        .select(select())
        .load(conn)
}

/// Recomputes a thread's reply count and last-post pointer from its visible posts.
pub fn recount(conn: &mut DbConn, thread_id: i64) -> QueryResult<()> {
    let visible = posts::table
        .filter(posts::thread_id.eq(thread_id))
        .filter(posts::deleted_at.is_null());
    let count: i64 = visible.count().get_result(conn)?;
    let last: Option<(i64, i64, NaiveDateTime)> = visible
        .order(posts::position.desc())
        .select((posts::id, posts::user_id, posts::created_at))
        .first(conn)
        .optional()?;
    diesel::update(threads::table.find(thread_id))
        .set((
            threads::reply_count.eq((count - 1).max(0)),
            threads::last_post_id.eq(last.map(|l| l.0)),
            threads::last_post_user_id.eq(last.map(|l| l.1)),
        ))
        .execute(conn)?;
    if let Some((_, _, at)) = last {
        diesel::update(threads::table.find(thread_id))
            .set(threads::last_post_at.eq(at))
            .execute(conn)?;
    }
    Ok(())
}

/// Recomputes the message count of each user: visible posts in visible threads.
pub fn recount_users(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<()> {
    let mut ids = user_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let count: i64 = posts::table
            .inner_join(threads::table)
            .filter(posts::user_id.eq(id))
            .filter(posts::deleted_at.is_null())
            .filter(threads::deleted_at.is_null())
            .count()
            .get_result(conn)?;
        diesel::update(users::table.find(id))
            .set(users::message_count.eq(count))
            .execute(conn)?;
    }
    Ok(())
}

/// Everyone who wrote a post in a thread.
pub fn poster_ids(conn: &mut DbConn, thread_id: i64) -> QueryResult<Vec<i64>> {
    posts::table
        .filter(posts::thread_id.eq(thread_id))
        .select(posts::user_id)
        .distinct()
        .load(conn)
}

/// Soft-deletes or restores a thread; forum and member counters follow in the same transaction.
pub fn set_deleted(
    conn: &mut DbConn,
    thread: &ThreadRow,
    by: i64,
    deleted: bool,
) -> QueryResult<ThreadRow> {
    crate::db::atomic(conn, |conn| {
        let t = now();
        diesel::update(threads::table.find(thread.id))
            .set((
                threads::deleted_at.eq(deleted.then_some(t)),
                threads::deleted_by.eq(deleted.then_some(by)),
                threads::updated_at.eq(t),
            ))
            .execute(conn)?;
        forum_db::recount(conn, thread.forum_id)?;
        let posters = poster_ids(conn, thread.id)?;
        recount_users(conn, &posters)?;
        threads::table.find(thread.id).select(select()).first(conn)
    })
}

/// Sets `locked` and/or `sticky`.
pub fn set_flags(
    conn: &mut DbConn,
    id: i64,
    locked: Option<bool>,
    sticky: Option<bool>,
) -> QueryResult<ThreadRow> {
    crate::db::atomic(conn, |conn| {
        if let Some(l) = locked {
            diesel::update(threads::table.find(id))
                .set(threads::locked.eq(l))
                .execute(conn)?;
        }
        if let Some(s) = sticky {
            diesel::update(threads::table.find(id))
                .set(threads::sticky.eq(s))
                .execute(conn)?;
        }
        threads::table.find(id).select(select()).first(conn)
    })
}

/// Changes title, prefix and/or field values.
pub fn update(
    conn: &mut DbConn,
    id: i64,
    title: Option<&str>,
    prefix_id: Option<Option<i64>>,
    fields: Option<&[StoredValue]>,
) -> QueryResult<ThreadRow> {
    crate::db::atomic(conn, |conn| {
        let t = now();
        if let Some(title) = title {
            diesel::update(threads::table.find(id))
                .set((threads::title.eq(title), threads::updated_at.eq(t)))
                .execute(conn)?;
        }
        if let Some(p) = prefix_id {
            diesel::update(threads::table.find(id))
                .set((threads::prefix_id.eq(p), threads::updated_at.eq(t)))
                .execute(conn)?;
        }
        if let Some(values) = fields {
            replace_field_values(conn, id, values)?;
        }
        let thread = threads::table.find(id).select(select()).first(conn)?;
        if title.is_some() {
            crate::search::index::thread(conn, &thread)?;
        }
        Ok(thread)
    })
}

/// Moves a thread to another forum: its prefix and field values belong to the old forum and are
/// dropped; both forums' counters follow.
pub fn move_to(conn: &mut DbConn, thread: &ThreadRow, forum_id: i64) -> QueryResult<ThreadRow> {
    crate::db::atomic(conn, |conn| {
        diesel::update(threads::table.find(thread.id))
            .set((
                threads::forum_id.eq(forum_id),
                threads::prefix_id.eq(None::<i64>),
                threads::updated_at.eq(now()),
            ))
            .execute(conn)?;
        diesel::delete(
            thread_field_values::table.filter(thread_field_values::thread_id.eq(thread.id)),
        )
        .execute(conn)?;
        crate::search::index::threads_moved(conn, &[thread.id], forum_id)?;
        forum_db::recount(conn, thread.forum_id)?;
        forum_db::recount(conn, forum_id)?;
        threads::table.find(thread.id).select(select()).first(conn)
    })
}

/// Moves every thread of a forum to another (before the first is deleted).
pub fn move_all(conn: &mut DbConn, from: i64, to: i64) -> QueryResult<()> {
    let ids: Vec<i64> = threads::table
        .filter(threads::forum_id.eq(from))
        .select(threads::id)
        .load(conn)?;
    diesel::update(threads::table.filter(threads::forum_id.eq(from)))
        .set((threads::forum_id.eq(to), threads::prefix_id.eq(None::<i64>)))
        .execute(conn)?;
    if !ids.is_empty() {
        crate::search::index::threads_moved(conn, &ids, to)?;
        diesel::delete(
            thread_field_values::table.filter(thread_field_values::thread_id.eq_any(ids)),
        )
        .execute(conn)?;
    }
    forum_db::recount(conn, from)?;
    forum_db::recount(conn, to)?;
    Ok(())
}

/// Adds buffered view counts.
pub fn add_views(conn: &mut DbConn, counts: &BTreeMap<i64, i64>) -> QueryResult<()> {
    crate::db::atomic(conn, |conn| {
        for (id, n) in counts {
            diesel::update(threads::table.find(*id))
                .set(threads::view_count.eq(threads::view_count + *n))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// The field definitions used by these threads' values, keyed by id (one query).
pub fn field_defs_for(
    conn: &mut DbConn,
    forum_ids: &[i64],
) -> QueryResult<Vec<crate::forums::db::FieldRow>> {
    if forum_ids.is_empty() {
        return Ok(Vec::new());
    }
    thread_fields::table
        .filter(thread_fields::forum_id.eq_any(forum_ids.to_vec()))
        .select(crate::forums::db::FieldRow::as_select())
        .load(conn)
}

/// Whether a forum exists and is a forum (not a category).
pub fn forum_kind(conn: &mut DbConn, forum_id: i64) -> QueryResult<Option<String>> {
    forums::table
        .find(forum_id)
        .select(forums::kind)
        .first(conn)
        .optional()
}

/// What decides whether a built page of a thread is still current: (page version, stored view
/// count, deleted), by primary key; `None` for no such thread.
pub fn page_state(conn: &mut DbConn, id: i64) -> QueryResult<Option<(i64, i64, bool)>> {
    threads::table
        .find(id)
        .select((
            threads::page_version,
            threads::view_count,
            threads::deleted_at.is_not_null(),
        ))
        .first(conn)
        .optional()
}

/// The version of what every page shows (forums, fields, ranks, groups, names, ...).
pub fn site_version(conn: &mut DbConn) -> QueryResult<i64> {
    use crate::db::schema::cache_versions;
    cache_versions::table
        .find("site")
        .select(cache_versions::version)
        .first(conn)
}
