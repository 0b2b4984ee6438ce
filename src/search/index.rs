//! Keeping the search index in step with what it indexes: a thread's title, a post's text and an
//! annotation's body and quote each have one document in `search_docs`, written in the same
//! transaction as the change (SQLite's triggers then feed FTS5; PostgreSQL generates the
//! tsvector). Deleting and restoring, moving and re-prefixing change nothing here: who may read a
//! document, and where it is, are read from the live rows when searching.

use std::borrow::Cow;

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
    // the thread as given, or as the post's row says (the WHERE also settles SQLite's reading
    // of `ON CONFLICT` after a SELECT)
    let sql = dialect_sql(
        conn,
        "INSERT INTO search_docs (kind, ref_id, thread_id, post_id, user_id, created_at, title_terms, body_terms) \
         SELECT $1, $2, COALESCE($3, p.thread_id), $4, $5, $6, $7, $8 FROM posts p WHERE p.id = $4 \
         ON CONFLICT (kind, ref_id) DO UPDATE SET post_id = excluded.post_id, \
         title_terms = excluded.title_terms, body_terms = excluded.body_terms",
    );
    diesel::sql_query(sql)
        .bind::<Text, _>(doc.kind)
        .bind::<BigInt, _>(doc.ref_id)
        .bind::<Nullable<BigInt>, _>(doc.thread_id)
        .bind::<Nullable<BigInt>, _>(doc.post_id)
        .bind::<BigInt, _>(doc.user_id)
        .bind::<Timestamp, _>(doc.created_at)
        .bind::<Text, _>(index_text(doc.title))
        .bind::<Text, _>(index_text(&doc.body))
        .execute(conn)?;
    Ok(())
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

/// Writes many documents whose thread is known, a few hundred to a statement (what makes
/// building the index of a million posts minutes, not hours, on PostgreSQL).
fn upsert_many(conn: &mut DbConn, docs: &[Doc]) -> QueryResult<()> {
    for chunk in docs.chunks(250) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", marks(i * 8 + 1, 8)))
            .collect();
        let sql = format!(
            "INSERT INTO search_docs (kind, ref_id, thread_id, post_id, user_id, created_at, title_terms, body_terms) \
             VALUES {} ON CONFLICT (kind, ref_id) DO UPDATE SET post_id = excluded.post_id, \
             title_terms = excluded.title_terms, body_terms = excluded.body_terms",
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

/// Writes the document of every thread, post and annotation, a thousand to a transaction.
fn rebuild(conn: &mut DbConn) -> QueryResult<usize> {
    const BATCH: i64 = 1000;
    let mut built = 0;
    let mut after = 0;
    loop {
        let rows: Vec<ThreadRow> = threads::table
            .filter(threads::id.gt(after))
            .order(threads::id.asc())
            .limit(BATCH)
            .select(<ThreadRow as Selectable<crate::db::MultiBackend>>::construct_selection())
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let docs: Vec<Doc> = rows.iter().map(thread_doc).collect();
        crate::db::atomic(conn, |conn| upsert_many(conn, &docs))?;
        built += rows.len();
    }
    after = 0;
    loop {
        let rows: Vec<PostRow> = posts::table
            .filter(posts::id.gt(after))
            .order(posts::id.asc())
            .limit(BATCH)
            .select(<PostRow as Selectable<crate::db::MultiBackend>>::construct_selection())
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let docs: Vec<Doc> = rows.iter().map(post_doc).collect();
        crate::db::atomic(conn, |conn| upsert_many(conn, &docs))?;
        built += rows.len();
    }
    after = 0;
    loop {
        let rows: Vec<(AnnotationRow, i64)> = annotations::table
            .inner_join(posts::table)
            .filter(annotations::id.gt(after))
            .order(annotations::id.asc())
            .limit(BATCH)
            .select((
                <AnnotationRow as Selectable<crate::db::MultiBackend>>::construct_selection(),
                posts::thread_id,
            ))
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0.id;
        let docs: Vec<Doc> = rows
            .iter()
            .map(|(a, thread_id)| annotation_doc(a, Some(*thread_id)))
            .collect();
        crate::db::atomic(conn, |conn| upsert_many(conn, &docs))?;
        built += rows.len();
    }
    Ok(built)
}
