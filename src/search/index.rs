//! Keeping the search index in step with what it indexes: a thread's title, a post's text and an
//! annotation's body and quote each have one document in `search_docs`, written in the same
//! transaction as the change (SQLite's triggers then feed FTS5; PostgreSQL generates the
//! tsvector). Deleting and restoring, moving and re-prefixing change nothing here: who may read a
//! document, and where it is, are read from the live rows when searching.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::annotations::db::AnnotationRow;
use crate::db::schema::{annotations, posts, threads};
use crate::db::{dialect_sql, settings, DbConn};
use crate::posts::db::PostRow;
use crate::text::search::index_text;
use crate::threads::db::ThreadRow;

/// What a document indexes.
pub const THREAD: &str = "thread";
/// What a document indexes.
pub const POST: &str = "post";
/// What a document indexes.
pub const ANNOTATION: &str = "annotation";

/// The version of how documents are cut into terms: a server that finds another rebuilds them.
const INDEX_VERSION: &str = "1";
const VERSION_KEY: &str = "search_index_version";
const LANGUAGE_KEY: &str = "search_language";

struct Doc<'a> {
    kind: &'static str,
    ref_id: i64,
    /// `None`: the thread of `post_id`, read in the same statement.
    thread_id: Option<i64>,
    post_id: Option<i64>,
    user_id: i64,
    created_at: NaiveDateTime,
    title: &'a str,
    /// Owned for an annotation: its body made plain text.
    body: Cow<'a, str>,
}

fn upsert(conn: &mut DbConn, doc: &Doc) -> QueryResult<()> {
    upsert_many(conn, std::slice::from_ref(doc))
}

/// The scope terms of a document, written in SQL from its kind, author and thread's forum.
const SCOPE_SQL: &str = "'gk' || {kind} || ' gu' || {user} || ' gf' || {forum}";

fn scope_sql(kind: &str, user: &str, forum: &str) -> String {
    SCOPE_SQL
        .replace("{kind}", kind)
        .replace("{user}", user)
        .replace("{forum}", forum)
}

fn thread_doc(t: &ThreadRow) -> Doc<'_> {
    Doc {
        kind: THREAD,
        ref_id: t.id,
        thread_id: Some(t.id),
        post_id: t.first_post_id,
        user_id: t.user_id,
        created_at: t.created_at,
        title: &t.title,
        body: Cow::Borrowed(""),
    }
}

fn post_doc(p: &PostRow) -> Doc<'_> {
    Doc {
        kind: POST,
        ref_id: p.id,
        thread_id: Some(p.thread_id),
        post_id: Some(p.id),
        user_id: p.user_id,
        created_at: p.created_at,
        title: "",
        body: Cow::Borrowed(&p.body_text),
    }
}

fn annotation_doc(a: &AnnotationRow, thread_id: Option<i64>) -> Doc<'_> {
    Doc {
        kind: ANNOTATION,
        ref_id: a.id,
        thread_id,
        post_id: Some(a.post_id),
        user_id: a.user_id,
        created_at: a.created_at,
        title: a.quote_exact.as_deref().unwrap_or(""),
        body: Cow::Owned(annotation_text(a)),
    }
}

/// Indexes a thread's title.
pub fn thread(conn: &mut DbConn, t: &ThreadRow) -> QueryResult<()> {
    upsert(conn, &thread_doc(t))
}

/// Indexes a post's text.
pub fn post(conn: &mut DbConn, p: &PostRow) -> QueryResult<()> {
    upsert(conn, &post_doc(p))
}

/// The text of an annotation that is searched: its body as a reader sees it.
pub fn annotation_text(a: &AnnotationRow) -> String {
    a.body
        .as_deref()
        .map(crate::text::plain_text)
        .unwrap_or_default()
}

/// Indexes an annotation's body and quote.
pub fn annotation(conn: &mut DbConn, a: &AnnotationRow) -> QueryResult<()> {
    upsert(conn, &annotation_doc(a, None))
}

/// A value of a statement whose number of values varies.
enum Value {
    Int(i64),
    MaybeInt(Option<i64>),
    Text(String),
    Time(NaiveDateTime),
}

macro_rules! execute_with {
    ($conn:expr, $backend:ty, $sql:expr, $values:expr) => {{
        let mut q = diesel::sql_query($sql).into_boxed::<$backend>();
        for v in $values {
            q = match v {
                Value::Int(v) => q.bind::<BigInt, _>(*v),
                Value::MaybeInt(v) => q.bind::<Nullable<BigInt>, _>(*v),
                Value::Text(v) => q.bind::<Text, _>(v.clone()),
                Value::Time(v) => q.bind::<Timestamp, _>(*v),
            };
        }
        q.execute($conn)
    }};
}

/// Runs SQL written with `$1, $2, …` with these values, on either database.
fn execute(conn: &mut DbConn, pg_sql: &str, values: &[Value]) -> QueryResult<usize> {
    let sql = dialect_sql(conn, pg_sql);
    match conn {
        DbConn::Pg(c) => execute_with!(c, diesel::pg::Pg, sql, values),
        DbConn::Sqlite(c) => execute_with!(c, diesel::sqlite::Sqlite, sql, values),
    }
}

/// `$from, $from+1, …`: `n` placeholders.
fn marks(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Removes annotations' documents.
pub fn remove_annotations(conn: &mut DbConn, ids: &[i64]) -> QueryResult<()> {
    for chunk in ids.chunks(500) {
        let sql = format!(
            "DELETE FROM search_docs WHERE kind = 'annotation' AND ref_id IN ({})",
            marks(1, chunk.len())
        );
        let values: Vec<Value> = chunk.iter().map(|id| Value::Int(*id)).collect();
        execute(conn, &sql, &values)?;
    }
    Ok(())
}

/// Writes documents, a few hundred to a statement (what makes building the index of a million
/// posts minutes, not hours, on PostgreSQL). The thread of a document without one is its post's;
/// the forum in its scope is its thread's, read in the same statement.
fn upsert_many(conn: &mut DbConn, docs: &[Doc]) -> QueryResult<()> {
    for chunk in docs.chunks(250) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", marks(i * 8 + 1, 8)))
            .collect();
        // VALUES columns are column1, column2, … on both databases; `WHERE true` settles
        // SQLite's reading of `ON CONFLICT` after a SELECT
        let sql = format!(
            "INSERT INTO search_docs (kind, ref_id, thread_id, post_id, user_id, created_at, title_terms, body_terms, scope_terms) \
             SELECT v.column1, v.column2, t.id, v.column4, v.column5, v.column6, v.column7, v.column8, {} \
             FROM (VALUES {}) v JOIN threads t \
             ON t.id = COALESCE(v.column3, (SELECT p.thread_id FROM posts p WHERE p.id = v.column4)) WHERE true \
             ON CONFLICT (kind, ref_id) DO UPDATE SET post_id = excluded.post_id, title_terms = excluded.title_terms, \
             body_terms = excluded.body_terms, scope_terms = excluded.scope_terms",
            scope_sql("v.column1", "v.column5", "t.forum_id"),
            rows.join(", ")
        );
        let mut values = Vec::with_capacity(chunk.len() * 8);
        for d in chunk {
            values.extend([
                Value::Text(d.kind.to_string()),
                Value::Int(d.ref_id),
                Value::MaybeInt(d.thread_id),
                Value::MaybeInt(d.post_id),
                Value::Int(d.user_id),
                Value::Time(d.created_at),
                Value::Text(index_text(d.title)),
                Value::Text(index_text(&d.body)),
            ]);
        }
        execute(conn, &sql, &values)?;
    }
    Ok(())
}

/// Gives the documents of these threads their new forum (after a move).
pub fn threads_moved(conn: &mut DbConn, thread_ids: &[i64], forum_id: i64) -> QueryResult<()> {
    for chunk in thread_ids.chunks(500) {
        let sql = format!(
            "UPDATE search_docs SET scope_terms = {} WHERE thread_id IN ({})",
            scope_sql("kind", "user_id", "$1"),
            marks(2, chunk.len())
        );
        let mut values = vec![Value::Int(forum_id)];
        values.extend(chunk.iter().map(|id| Value::Int(*id)));
        execute(conn, &sql, &values)?;
    }
    Ok(())
}

/// Makes the index ready before a server takes requests: on PostgreSQL, gives every document the
/// configured text search configuration (a changed `GLOSS_SEARCH_LANGUAGE` regenerates them all,
/// once); then builds the documents of everything written before the index existed, or before
/// the way terms are cut last changed. Returns how many documents were built.
pub fn prepare(conn: &mut DbConn, language: &str) -> QueryResult<usize> {
    if matches!(conn, DbConn::Pg(_))
        && settings::get(conn, LANGUAGE_KEY)?
            .as_deref()
            .unwrap_or("simple")
            != language
    {
        crate::db::atomic(conn, |conn| {
            // the name is checked by the configuration to be [a-z0-9_]: safe to write out
            diesel::sql_query(format!(
                "ALTER TABLE search_docs ALTER COLUMN lang SET DEFAULT '{language}'"
            ))
            .execute(conn)?;
            diesel::sql_query("UPDATE search_docs SET lang = DEFAULT").execute(conn)?;
            settings::set(conn, LANGUAGE_KEY, language)
        })?;
    }
    if settings::get(conn, VERSION_KEY)?.as_deref() == Some(INDEX_VERSION) {
        return Ok(0);
    }
    let built = rebuild(conn)?;
    settings::set(conn, VERSION_KEY, INDEX_VERSION)?;
    Ok(built)
}

/// Builds every document again and removes those of what no longer exists: for a database whose
/// rows were written by something other than Gloss (a bulk load, a restore). Searches find less
/// while it runs, never wrong things. Returns the documents written.
pub fn reindex(conn: &mut DbConn) -> QueryResult<usize> {
    let built = rebuild(conn)?;
    for (kind, table) in [
        (THREAD, "threads"),
        (POST, "posts"),
        (ANNOTATION, "annotations"),
    ] {
        execute(
            conn,
            &format!(
                "DELETE FROM search_docs WHERE kind = $1 \
                 AND NOT EXISTS (SELECT 1 FROM {table} x WHERE x.id = search_docs.ref_id)"
            ),
            &[Value::Text(kind.to_string())],
        )?;
    }
    settings::set(conn, VERSION_KEY, INDEX_VERSION)?;
    Ok(built)
}

/// Writes the document of every thread, post and annotation, a thousand to a transaction, in
/// the order they were written: a document's id then orders it in time, as it does for documents
/// the server writes, and search walks the newest matches first by that id.
fn rebuild(conn: &mut DbConn) -> QueryResult<usize> {
    // (time, kind, id) of everything: some 30 bytes a row, sorted in memory
    let mut all: Vec<(NaiveDateTime, u8, i64)> = Vec::new();
    let rows: Vec<(i64, NaiveDateTime)> = threads::table
        .select((threads::id, threads::created_at))
        .load(conn)?;
    all.extend(rows.into_iter().map(|(id, t)| (t, 0, id)));
    let rows: Vec<(i64, NaiveDateTime)> = posts::table
        .select((posts::id, posts::created_at))
        .load(conn)?;
    all.extend(rows.into_iter().map(|(id, t)| (t, 1, id)));
    let rows: Vec<(i64, NaiveDateTime)> = annotations::table
        .select((annotations::id, annotations::created_at))
        .load(conn)?;
    all.extend(rows.into_iter().map(|(id, t)| (t, 2, id)));
    all.sort_unstable();
    for batch in all.chunks(1000) {
        let ids =
            |kind: u8| -> Vec<i64> { batch.iter().filter(|r| r.1 == kind).map(|r| r.2).collect() };
        let thread_rows: HashMap<i64, ThreadRow> = threads::table
            .filter(threads::id.eq_any(ids(0)))
            .select(<ThreadRow as Selectable<crate::db::MultiBackend>>::construct_selection())
            .load::<ThreadRow>(conn)?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        let post_rows: HashMap<i64, PostRow> = posts::table
            .filter(posts::id.eq_any(ids(1)))
            .select(<PostRow as Selectable<crate::db::MultiBackend>>::construct_selection())
            .load::<PostRow>(conn)?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let annotation_rows: HashMap<i64, (AnnotationRow, i64)> = annotations::table
            .inner_join(posts::table)
            .filter(annotations::id.eq_any(ids(2)))
            .select((
                <AnnotationRow as Selectable<crate::db::MultiBackend>>::construct_selection(),
                posts::thread_id,
            ))
            .load::<(AnnotationRow, i64)>(conn)?
            .into_iter()
            .map(|r| (r.0.id, r))
            .collect();
        let docs: Vec<Doc> = batch
            .iter()
            .filter_map(|&(_, kind, id)| match kind {
                0 => thread_rows.get(&id).map(thread_doc),
                1 => post_rows.get(&id).map(post_doc),
                _ => annotation_rows
                    .get(&id)
                    .map(|(a, thread_id)| annotation_doc(a, Some(*thread_id))),
            })
            .collect();
        crate::db::atomic(conn, |conn| upsert_many(conn, &docs))?;
    }
    Ok(all.len())
}
