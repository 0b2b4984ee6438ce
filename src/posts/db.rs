//! Posts and their revisions in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{post_revisions, posts, threads, users};
use crate::db::{now, DbConn, MultiBackend};
use crate::forums::db as forum_db;
use crate::threads::db::ThreadRow;

/// A row of `posts`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = posts)]
pub struct PostRow {
    pub id: i64,
    pub thread_id: i64,
    pub user_id: i64,
    pub position: i64,
    pub body: String,
    pub body_html: String,
    pub body_text: String,
    pub revision: i32,
    pub edit_count: i32,
    pub edited_at: Option<NaiveDateTime>,
    pub edited_by: Option<i64>,
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted_by: Option<i64>,
    pub created_at: NaiveDateTime,
}

impl PostRow {
    /// Whether the post is soft-deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }
}

/// A row of `post_revisions`: one version of a post's body.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = post_revisions)]
pub struct RevisionRow {
    pub id: i64,
    pub post_id: i64,
    pub revision: i32,
    pub body: String,
    pub body_text: String,
    pub editor_id: i64,
    pub created_at: NaiveDateTime,
}

/// A rendered body, ready to store.
#[derive(Debug, Clone)]
pub struct NewPostContent<'a> {
    pub body: &'a str,
    pub body_html: &'a str,
    pub body_text: &'a str,
}

fn select() -> <PostRow as Selectable<MultiBackend>>::SelectExpression {
    <PostRow as Selectable<MultiBackend>>::construct_selection()
}

/// One post.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<PostRow>> {
    posts::table
        .find(id)
        .select(select())
        .first(conn)
        .optional()
}

/// Appends a post at the thread's next position and records its first revision. Thread counters
/// follow; forum and member counters are the caller's (they differ for a thread's first post).
/// The post's time is taken once the thread's row lock is held, so that within a thread a later
/// position never has an earlier time; read it from the returned row.
pub fn append(
    conn: &mut DbConn,
    thread: &ThreadRow,
    user_id: i64,
    content: &NewPostContent,
) -> QueryResult<PostRow> {
    // Claim the position by incrementing the thread's counter first: this takes the thread's row
    // lock, so concurrent replies get distinct positions.
    let position: i64 = diesel::update(threads::table.find(thread.id))
        .set(threads::last_position.eq(threads::last_position + 1))
        .returning(threads::last_position)
        .get_result(conn)?;
    let at = now();
    let post: PostRow = diesel::insert_into(posts::table)
        .values((
            posts::thread_id.eq(thread.id),
            posts::user_id.eq(user_id),
            posts::position.eq(position),
            posts::body.eq(content.body),
            posts::body_html.eq(content.body_html),
            posts::body_text.eq(content.body_text),
            posts::created_at.eq(at),
        ))
        .returning(select())
        .get_result(conn)?;
    // the attachments it shows, before the author's row is locked (locks: attachments, then users)
    crate::attachments::db::link(
        conn,
        post.id,
        user_id,
        &crate::text::attachment_refs(content.body),
        false,
    )?;
    diesel::insert_into(post_revisions::table)
        .values((
            post_revisions::post_id.eq(post.id),
            post_revisions::revision.eq(1),
            post_revisions::body.eq(content.body),
            post_revisions::body_text.eq(content.body_text),
            post_revisions::editor_id.eq(user_id),
            post_revisions::created_at.eq(at),
        ))
        .execute(conn)?;
    let reply = if position > 1 { 1 } else { 0 };
    diesel::update(threads::table.find(thread.id))
        .set((
            threads::reply_count.eq(threads::reply_count + reply),
            threads::last_post_id.eq(Some(post.id)),
            threads::last_post_user_id.eq(Some(user_id)),
            threads::last_post_at.eq(at),
        ))
        .execute(conn)?;
    diesel::update(users::table.find(user_id))
        .set(users::message_count.eq(users::message_count + 1))
        .execute(conn)?;
    crate::search::index::post(conn, &post)?;
    Ok(post)
}

/// Adds a reply to a thread with every counter, in one transaction.
pub fn reply(
    conn: &mut DbConn,
    thread: &ThreadRow,
    user_id: i64,
    content: &NewPostContent,
) -> QueryResult<PostRow> {
    crate::db::atomic(conn, |conn| {
        let post = append(conn, thread, user_id, content)?;
        let t = post.created_at;
        forum_db::count_new_post(conn, thread.forum_id, thread.id, post.id, user_id, t, false)?;
        Ok(post)
    })
}

/// The posts of a thread at positions `from..=to`: one index range scan on (thread, position),
/// so that page 5,000 costs what page 1 does.
pub fn range(conn: &mut DbConn, thread_id: i64, from: i64, to: i64) -> QueryResult<Vec<PostRow>> {
    posts::table
        .filter(posts::thread_id.eq(thread_id))
        .filter(posts::position.between(from, to))
        .order(posts::position.asc())
        .select(select())
        .load(conn)
}

/// Records an edit: the new body becomes the next revision.
pub fn edit(
    conn: &mut DbConn,
    post: &PostRow,
    editor_id: i64,
    content: &NewPostContent,
) -> QueryResult<PostRow> {
    crate::db::atomic(conn, |conn| {
        // Lock the post and read it as it is now: a concurrent edit that committed first is the
        // one this edit follows (its revision number, its text to re-anchor from).
        let post: PostRow = diesel::update(posts::table.find(post.id))
            .set(posts::revision.eq(posts::revision))
            .returning(select())
            .get_result(conn)?;
        let had_attachments = post.body.contains(crate::text::ATTACHMENT_SCHEME);
        let t = now();
        let revision = post.revision + 1;
        diesel::insert_into(post_revisions::table)
            .values((
                post_revisions::post_id.eq(post.id),
                post_revisions::revision.eq(revision),
                post_revisions::body.eq(content.body),
                post_revisions::body_text.eq(content.body_text),
                post_revisions::editor_id.eq(editor_id),
                post_revisions::created_at.eq(t),
            ))
            .execute(conn)?;
        // every annotation and citation selector into this post follows the new text, in this transaction
        crate::annotations::reanchor::reanchor_post(
            conn,
            post.id,
            &post.body_text,
            content.body_text,
            revision,
        )?;
        let post: PostRow = diesel::update(posts::table.find(post.id))
            .set((
                posts::body.eq(content.body),
                posts::body_html.eq(content.body_html),
                posts::body_text.eq(content.body_text),
                posts::revision.eq(revision),
                posts::edit_count.eq(posts::edit_count + 1),
                posts::edited_at.eq(Some(t)),
                posts::edited_by.eq(Some(editor_id)),
            ))
            .returning(select())
            .get_result(conn)?;
        crate::search::index::post(conn, &post)?;
        crate::attachments::db::link(
            conn,
            post.id,
            post.user_id,
            &crate::text::attachment_refs(content.body),
            had_attachments,
        )?;
        Ok(post)
    })
}

/// Every version of a post, oldest first.
pub fn revisions(conn: &mut DbConn, post_id: i64) -> QueryResult<Vec<RevisionRow>> {
    post_revisions::table
        .filter(post_revisions::post_id.eq(post_id))
        .order(post_revisions::revision.asc())
        .select(RevisionRow::as_select())
        .load(conn)
}

/// Soft-deletes or restores a post; thread, forum and author counters follow in the same transaction.
pub fn set_deleted(
    conn: &mut DbConn,
    post: &PostRow,
    thread: &ThreadRow,
    by: i64,
    deleted: bool,
) -> QueryResult<PostRow> {
    crate::db::atomic(conn, |conn| {
        let t = now();
        diesel::update(posts::table.find(post.id))
            .set((
                posts::deleted_at.eq(deleted.then_some(t)),
                posts::deleted_by.eq(deleted.then_some(by)),
            ))
            .execute(conn)?;
        crate::threads::db::recount(conn, thread.id)?;
        forum_db::recount(conn, thread.forum_id)?;
        crate::threads::db::recount_users(conn, &[post.user_id])?;
        posts::table.find(post.id).select(select()).first(conn)
    })
}

/// The newest visible posts (in visible threads) with an id below `before`, optionally by one member.
pub fn latest(
    conn: &mut DbConn,
    user_id: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<PostRow>> {
    let mut q = posts::table
        .filter(posts::deleted_at.is_null())
        .filter(diesel::dsl::not(posts::thread_id.eq_any(deleted_threads())))
        .into_boxed::<MultiBackend>();
    if let Some(u) = user_id {
        q = q.filter(posts::user_id.eq(u));
    }
    if let Some(b) = before {
        q = q.filter(posts::id.lt(b));
    }
    q.order(posts::id.desc())
        .limit(limit)
        .select(select())
        .load(conn)
}

/// Posts by id, in one query.
pub fn find_many(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<PostRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    posts::table
        .filter(posts::id.eq_any(ids.to_vec()))
        .select(select())
        .load(conn)
}

/// A post's stored body and its rendered forms, for re-rendering.
#[derive(Debug, Clone, Queryable)]
pub struct StoredBody {
    pub id: i64,
    pub body: String,
    pub body_html: String,
    pub body_text: String,
}

/// The next `limit` posts after id `after`, by id (a keyset walk over the primary key).
pub fn bodies_after(conn: &mut DbConn, after: i64, limit: i64) -> QueryResult<Vec<StoredBody>> {
    posts::table
        .filter(posts::id.gt(after))
        .order(posts::id)
        .limit(limit)
        .select((posts::id, posts::body, posts::body_html, posts::body_text))
        .load(conn)
}

/// Stores a post's body rendered again by the current rules, if its Markdown is still `body` (an
/// edit in the meantime rendered it already), and carries its annotations and citations over to
/// the new text as an edit does, keeping the revision. Call inside a transaction; returns the
/// re-anchoring summary when it stored something.
pub fn store_rendering(
    conn: &mut DbConn,
    id: i64,
    body: &str,
    body_html: &str,
    body_text: &str,
) -> QueryResult<Option<crate::annotations::reanchor::Summary>> {
    // lock the post and read it as it is now
    let post: PostRow = diesel::update(posts::table.find(id))
        .set(posts::revision.eq(posts::revision))
        .returning(select())
        .get_result(conn)?;
    if post.body != body {
        return Ok(None);
    }
    let summary = if post.body_text != body_text {
        crate::annotations::reanchor::reanchor_post(
            conn,
            id,
            &post.body_text,
            body_text,
            post.revision,
        )?
    } else {
        Default::default()
    };
    let post: PostRow = diesel::update(posts::table.find(id))
        .set((
            posts::body_html.eq(body_html),
            posts::body_text.eq(body_text),
        ))
        .returning(select())
        .get_result(conn)?;
    crate::search::index::post(conn, &post)?;
    Ok(Some(summary))
}

/// The ids of deleted threads (few, from a partial index). Latest-post feeds leave out their posts
/// with `NOT IN` rather than a join, so that the database walks the posts' primary key backwards
/// and stops at the page, instead of joining a million posts to their threads and sorting
/// (92 requests/s for `GET /posts/latest` with a million posts on SQLite).
fn deleted_threads() -> diesel::dsl::Select<
    diesel::dsl::Filter<threads::table, diesel::dsl::IsNotNull<threads::deleted_at>>,
    threads::id,
> {
    threads::table
        .filter(threads::deleted_at.is_not_null())
        .select(threads::id)
}

/// Where one of the newest posts sits, without its body.
#[derive(Debug, Clone, Queryable)]
pub struct PostHead {
    pub id: i64,
    pub thread_id: i64,
    pub user_id: i64,
    pub created_at: NaiveDateTime,
}

/// The newest `limit` visible posts in visible threads, newest first, without their bodies (the
/// primary key walked backwards).
pub fn latest_heads(conn: &mut DbConn, limit: i64) -> QueryResult<Vec<PostHead>> {
    posts::table
        .filter(posts::deleted_at.is_null())
        .filter(diesel::dsl::not(posts::thread_id.eq_any(deleted_threads())))
        .order(posts::id.desc())
        .limit(limit)
        .select((
            posts::id,
            posts::thread_id,
            posts::user_id,
            posts::created_at,
        ))
        .load(conn)
}
