//! Forums, prefixes and field definitions in the database, and the forum counters.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::schema::{forums, thread_fields, thread_prefixes, threads};
use crate::db::{dialect_sql, now, DbConn, MultiBackend};

/// A row of `forums`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = forums)]
pub struct ForumRow {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub kind: String,
    pub title: String,
    pub slug: String,
    pub description: Option<String>,
    pub position: i32,
    pub thread_count: i64,
    pub post_count: i64,
    pub last_post_id: Option<i64>,
    pub last_thread_id: Option<i64>,
    pub last_post_user_id: Option<i64>,
    pub last_post_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Insert form of a forum.
#[derive(Debug, Insertable)]
#[diesel(table_name = forums)]
pub struct NewForum {
    pub parent_id: Option<i64>,
    pub kind: String,
    pub title: String,
    pub slug: String,
    pub description: Option<String>,
    pub position: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Update form of a forum; `Some(None)` sets NULL.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = forums)]
pub struct ForumChanges {
    pub parent_id: Option<Option<i64>>,
    pub title: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub position: Option<i32>,
    pub updated_at: Option<NaiveDateTime>,
}

/// A row of `thread_prefixes`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = thread_prefixes)]
pub struct PrefixRow {
    pub id: i64,
    pub forum_id: i64,
    pub label: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

/// A row of `thread_fields`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = thread_fields)]
pub struct FieldRow {
    pub id: i64,
    pub forum_id: i64,
    pub key: String,
    pub label: String,
    pub description: Option<String>,
    pub field_type: String,
    pub options: Option<String>,
    pub required: bool,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

/// Insert form of a field definition.
#[derive(Debug, Insertable)]
#[diesel(table_name = thread_fields)]
pub struct NewField {
    pub forum_id: i64,
    pub key: String,
    pub label: String,
    pub description: Option<String>,
    pub field_type: String,
    pub options: Option<String>,
    pub required: bool,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

/// Update form of a field definition.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = thread_fields)]
pub struct FieldChanges {
    pub label: Option<String>,
    pub description: Option<Option<String>>,
    pub options: Option<Option<String>>,
    pub required: Option<bool>,
    pub position: Option<i32>,
}

fn forum_select() -> <ForumRow as Selectable<MultiBackend>>::SelectExpression {
    <ForumRow as Selectable<MultiBackend>>::construct_selection()
}

/// Every forum and category, in tree order (parent, position, id).
pub fn list_all(conn: &mut DbConn) -> QueryResult<Vec<ForumRow>> {
    forums::table
        .order((forums::position.asc(), forums::id.asc()))
        .select(forum_select())
        .load(conn)
}

/// One forum.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<ForumRow>> {
    forums::table
        .find(id)
        .select(forum_select())
        .first(conn)
        .optional()
}

/// Whether a slug is taken by another forum.
pub fn slug_taken(conn: &mut DbConn, slug: &str, except: Option<i64>) -> QueryResult<bool> {
    let mut q = forums::table
        .filter(forums::slug.eq(slug))
        .select(forums::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(forums::id.ne(id));
    }
    Ok(q.first::<i64>(conn).optional()?.is_some())
}

/// Inserts a forum.
pub fn insert(conn: &mut DbConn, new: &NewForum) -> QueryResult<ForumRow> {
    diesel::insert_into(forums::table)
        .values(new)
        .returning(forum_select())
        .get_result(conn)
}

/// Applies changes to a forum.
pub fn update(conn: &mut DbConn, id: i64, changes: &ForumChanges) -> QueryResult<ForumRow> {
    diesel::update(forums::table.find(id))
        .set(changes)
        .returning(forum_select())
        .get_result(conn)
}

/// Threads in a forum, deleted ones included (a forum holding any cannot be deleted).
pub fn thread_total(conn: &mut DbConn, forum_id: i64) -> QueryResult<i64> {
    threads::table
        .filter(threads::forum_id.eq(forum_id))
        .count()
        .get_result(conn)
}

/// Child forums of a forum.
pub fn child_count(conn: &mut DbConn, forum_id: i64) -> QueryResult<i64> {
    forums::table
        .filter(forums::parent_id.eq(forum_id))
        .count()
        .get_result(conn)
}

/// Deletes a forum (its prefixes and fields go with it).
pub fn delete(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(forums::table.find(id)).execute(conn)
}

/// Recomputes a forum's thread and post counts and last-post pointer from its visible threads.
pub fn recount(conn: &mut DbConn, forum_id: i64) -> QueryResult<()> {
    let visible = threads::table
        .filter(threads::forum_id.eq(forum_id))
        .filter(threads::deleted_at.is_null());
    // SUM is NUMERIC on PostgreSQL: cast so both backends give a BIGINT.
    let (thread_count, reply_sum): (i64, i64) = visible
        .select(diesel::dsl::sql::<(BigInt, BigInt)>(
            "COUNT(*), CAST(COALESCE(SUM(threads.reply_count), 0) AS BIGINT)",
        ))
        .first(conn)?;
    let post_count = thread_count + reply_sum;
    let last: Option<(i64, Option<i64>, Option<i64>, NaiveDateTime)> = visible
        .order((threads::last_post_at.desc(), threads::id.desc()))
        .select((
            threads::id,
            threads::last_post_id,
            threads::last_post_user_id,
            threads::last_post_at,
        ))
        .first(conn)
        .optional()?;
    diesel::update(forums::table.find(forum_id))
        .set((
            forums::thread_count.eq(thread_count),
            forums::post_count.eq(post_count),
            forums::last_thread_id.eq(last.map(|l| l.0)),
            forums::last_post_id.eq(last.and_then(|l| l.1)),
            forums::last_post_user_id.eq(last.and_then(|l| l.2)),
            forums::last_post_at.eq(last.map(|l| l.3)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Counts a new post (and, with `new_thread`, a new thread) into a forum, moving its last-post
/// pointer: the cheap path for creation, in the creating transaction.
pub fn count_new_post(
    conn: &mut DbConn,
    forum_id: i64,
    thread_id: i64,
    post_id: i64,
    user_id: i64,
    at: NaiveDateTime,
    new_thread: bool,
) -> QueryResult<()> {
    use diesel::sql_types::Timestamp;
    // Concurrent posts in different threads of one forum reach this row in any order: the last-post
    // pointer moves only forward (by time, then id), so the post that commits last need not be
    // the newest one.
    let newer =
        "(last_post_at IS NULL OR last_post_at < $6 OR (last_post_at = $6 AND last_post_id < $4))";
    let sql = dialect_sql(
        conn,
        &format!(
            "UPDATE forums SET thread_count = thread_count + $2, post_count = post_count + 1, \
             last_thread_id = CASE WHEN {newer} THEN $3 ELSE last_thread_id END, \
             last_post_user_id = CASE WHEN {newer} THEN $5 ELSE last_post_user_id END, \
             last_post_id = CASE WHEN {newer} THEN $4 ELSE last_post_id END, \
             last_post_at = CASE WHEN {newer} THEN $6 ELSE last_post_at END, \
             updated_at = $7 WHERE id = $1"
        ),
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(forum_id)
        .bind::<BigInt, _>(if new_thread { 1i64 } else { 0 })
        .bind::<BigInt, _>(thread_id)
        .bind::<BigInt, _>(post_id)
        .bind::<BigInt, _>(user_id)
        .bind::<Timestamp, _>(at)
        .bind::<Timestamp, _>(now())
        .execute(conn)
        .map(|_| ())
}

/// The prefixes of a forum, in order.
pub fn prefixes(conn: &mut DbConn, forum_id: i64) -> QueryResult<Vec<PrefixRow>> {
    thread_prefixes::table
        .filter(thread_prefixes::forum_id.eq(forum_id))
        .order((thread_prefixes::position.asc(), thread_prefixes::id.asc()))
        .select(PrefixRow::as_select())
        .load(conn)
}

/// Prefixes by id, in one query.
pub fn prefixes_by_id(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<PrefixRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    thread_prefixes::table
        .filter(thread_prefixes::id.eq_any(ids.to_vec()))
        .select(PrefixRow::as_select())
        .load(conn)
}

/// One prefix.
pub fn find_prefix(conn: &mut DbConn, id: i64) -> QueryResult<Option<PrefixRow>> {
    thread_prefixes::table
        .find(id)
        .select(PrefixRow::as_select())
        .first(conn)
        .optional()
}

/// Adds a prefix to a forum.
pub fn insert_prefix(
    conn: &mut DbConn,
    forum_id: i64,
    label: &str,
    position: i32,
) -> QueryResult<PrefixRow> {
    diesel::insert_into(thread_prefixes::table)
        .values((
            thread_prefixes::forum_id.eq(forum_id),
            thread_prefixes::label.eq(label),
            thread_prefixes::position.eq(position),
            thread_prefixes::created_at.eq(now()),
        ))
        .returning(<PrefixRow as Selectable<MultiBackend>>::construct_selection())
        .get_result(conn)
}

/// Changes a prefix.
pub fn update_prefix(
    conn: &mut DbConn,
    id: i64,
    label: Option<String>,
    position: Option<i32>,
) -> QueryResult<PrefixRow> {
    crate::db::transaction(conn, |conn| {
        if let Some(label) = &label {
            diesel::update(thread_prefixes::table.find(id))
                .set(thread_prefixes::label.eq(label))
                .execute(conn)?;
        }
        if let Some(position) = position {
            diesel::update(thread_prefixes::table.find(id))
                .set(thread_prefixes::position.eq(position))
                .execute(conn)?;
        }
        thread_prefixes::table
            .find(id)
            .select(PrefixRow::as_select())
            .first(conn)
    })
}

/// Removes a prefix; threads that carried it keep no prefix.
pub fn delete_prefix(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    crate::db::transaction(conn, |conn| {
        diesel::update(threads::table.filter(threads::prefix_id.eq(id)))
            .set(threads::prefix_id.eq(None::<i64>))
            .execute(conn)?;
        diesel::delete(thread_prefixes::table.find(id)).execute(conn)
    })
}

/// The field definitions of a forum, in order.
pub fn fields(conn: &mut DbConn, forum_id: i64) -> QueryResult<Vec<FieldRow>> {
    thread_fields::table
        .filter(thread_fields::forum_id.eq(forum_id))
        .order((thread_fields::position.asc(), thread_fields::id.asc()))
        .select(FieldRow::as_select())
        .load(conn)
}

/// One field definition.
pub fn find_field(conn: &mut DbConn, id: i64) -> QueryResult<Option<FieldRow>> {
    thread_fields::table
        .find(id)
        .select(FieldRow::as_select())
        .first(conn)
        .optional()
}

/// Adds a field definition.
pub fn insert_field(conn: &mut DbConn, new: &NewField) -> QueryResult<FieldRow> {
    diesel::insert_into(thread_fields::table)
        .values(new)
        .returning(<FieldRow as Selectable<MultiBackend>>::construct_selection())
        .get_result(conn)
}

/// Changes a field definition (an empty change reads it back: diesel cannot build an empty `SET`).
pub fn update_field(conn: &mut DbConn, id: i64, changes: &FieldChanges) -> QueryResult<FieldRow> {
    let FieldChanges {
        label,
        description,
        options,
        required,
        position,
    } = changes;
    if label.is_none()
        && description.is_none()
        && options.is_none()
        && required.is_none()
        && position.is_none()
    {
        return thread_fields::table
            .find(id)
            .select(FieldRow::as_select())
            .first(conn);
    }
    diesel::update(thread_fields::table.find(id))
        .set(changes)
        .returning(<FieldRow as Selectable<MultiBackend>>::construct_selection())
        .get_result(conn)
}

/// Removes a field definition and every value of it.
pub fn delete_field(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(thread_fields::table.find(id)).execute(conn)
}
