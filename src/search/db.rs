//! The search query on each database. SQLite ranks FTS5 matches by bm25 (titles and quotes
//! weigh five times a body); PostgreSQL matches the generated tsvector through its GIN index and
//! ranks by `ts_rank_cd` (titles and quotes weighted A, bodies B). The kind, forum and author
//! filters are also scope terms of the query, so the index itself narrows the matches; who may
//! read a document and every filter are then checked on the live rows it points at.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamp};

use crate::db::{dialect_sql, DbConn};
use crate::text::search::Query;
use crate::threads::db::FieldFilter;

/// What to search and who is asking.
#[derive(Debug, Clone, Default)]
pub struct SearchFilter {
    pub query: Query,
    /// `thread`, `post` or `annotation`.
    pub kind: Option<&'static str>,
    /// Only in these forums.
    pub forum_ids: Option<Vec<i64>>,
    pub user_id: Option<i64>,
    pub prefix_id: Option<i64>,
    pub field: Option<FieldFilter>,
    pub since: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// The caller: private annotations are seen by their author only.
    pub viewer: Option<i64>,
    /// Deleted threads and posts too (moderators).
    pub include_deleted: bool,
    pub newest_first: bool,
}

/// A matching document.
#[derive(Debug, Clone, QueryableByName)]
pub struct DocHit {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub ref_id: i64,
    #[diesel(sql_type = BigInt)]
    pub thread_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub post_id: Option<i64>,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
    /// Relevance: higher is better (comparable within one query only).
    #[diesel(sql_type = Double)]
    pub score: f64,
}

#[derive(Debug, Clone)]
enum Bind {
    Int(i64),
    Float(f64),
    Text(String),
    Time(NaiveDateTime),
}

/// SQL written with `$n` placeholders and the values they stand for.
#[derive(Default)]
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    fn bind(&mut self, b: Bind) -> &mut Self {
        self.binds.push(b);
        let mark = format!("${}", self.binds.len());
        self.text.push_str(&mark);
        self
    }
}

macro_rules! load_with {
    ($conn:expr, $backend:ty, $sql:expr, $binds:expr, $row:ty) => {{
        let mut q = diesel::sql_query($sql).into_boxed::<$backend>();
        for b in $binds {
            q = match b {
                Bind::Int(v) => q.bind::<BigInt, _>(*v),
                Bind::Float(v) => q.bind::<Double, _>(*v),
                Bind::Text(v) => q.bind::<Text, _>(v.clone()),
                Bind::Time(v) => q.bind::<Timestamp, _>(*v),
            };
        }
        q.load::<$row>($conn)
    }};
}

fn load<T>(conn: &mut DbConn, sql: &Sql) -> QueryResult<Vec<T>>
where
    T: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    let text = dialect_sql(conn, &sql.text);
    match conn {
        DbConn::Pg(c) => load_with!(c, diesel::pg::Pg, text, &sql.binds, T),
        DbConn::Sqlite(c) => load_with!(c, diesel::sqlite::Sqlite, text, &sql.binds, T),
    }
}

/// The query over the index alone: `SELECT … FROM … WHERE …` of the matching documents with the
/// filters the index and the document answer (scope terms, prefix, field, time), newest first,
/// at most `limit`: the database walks the matches from the newest and stops there.
fn matching(conn: &DbConn, f: &SearchFilter, language: &str, limit: i64) -> Option<Sql> {
    // the filters the index resolves itself: kind, forums, author, as scope terms
    let mut scope: Vec<Vec<String>> = Vec::new();
    if let Some(kind) = f.kind {
        scope.push(vec![format!("gk{kind}")]);
    }
    if let Some(ids) = &f.forum_ids {
        scope.push(ids.iter().map(|id| format!("gf{id}")).collect());
    }
    if let Some(u) = f.user_id {
        scope.push(vec![format!("gu{u}")]);
    }
    let mut sql = Sql::default();
    match conn {
        DbConn::Sqlite(_) => {
            let mut m = format!("({})", f.query.to_fts5()?);
            for any in &scope {
                let terms: Vec<String> = any.iter().map(|t| format!("\"{t}\"")).collect();
                m.push_str(&format!(" AND scope_terms : ({})", terms.join(" OR ")));
            }
            sql.push(
                "SELECT d.id, d.kind, d.ref_id, d.thread_id, d.post_id, d.created_at, \
                 -bm25(search_fts, 5.0, 1.0, 0.0) AS score \
                 FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid WHERE search_fts MATCH ",
            )
            .bind(Bind::Text(m));
        }
        DbConn::Pg(_) => {
            let mut q = format!("({})", f.query.to_tsquery()?);
            for any in &scope {
                let terms: Vec<String> = any.iter().map(|t| format!("'{t}':D")).collect();
                q.push_str(&format!(" & ({})", terms.join(" | ")));
            }
            // the query twice, by its placeholders: the weights make scope terms count nothing
            sql.push(
                "SELECT d.id, d.kind, d.ref_id, d.thread_id, d.post_id, d.created_at, \
                 CAST(ts_rank_cd('{0.0, 0.2, 0.4, 1.0}', d.tsv, to_tsquery($1::regconfig, $2)) AS DOUBLE PRECISION) AS score \
                 FROM search_docs d WHERE d.tsv @@ to_tsquery(",
            )
            .bind(Bind::Text(language.to_string()))
            .push("::regconfig, ")
            .bind(Bind::Text(q))
            .push(")");
        }
    }
    if let Some(p) = f.prefix_id {
        sql.push(" AND d.thread_id IN (SELECT t.id FROM threads t WHERE t.prefix_id = ")
            .bind(Bind::Int(p))
            .push(")");
    }
    if let Some(field) = &f.field {
        sql.push(" AND d.thread_id IN (SELECT v.thread_id FROM thread_field_values v WHERE v.field_id = ")
            .bind(Bind::Int(field.field_id));
        // `eq` is a range with equal bounds; a missing bound is no bound
        let lo = field.eq.clone().or_else(|| field.min.clone());
        let hi = field.eq.clone().or_else(|| field.max.clone());
        if field.numeric {
            let num = |s: Option<String>| s.and_then(|v| v.parse::<f64>().ok());
            if let Some(lo) = num(lo) {
                sql.push(" AND v.value_number >= ").bind(Bind::Float(lo));
            }
            if let Some(hi) = num(hi) {
                sql.push(" AND v.value_number <= ").bind(Bind::Float(hi));
            }
        } else {
            if let Some(lo) = lo {
                sql.push(" AND v.value_text >= ").bind(Bind::Text(lo));
            }
            if let Some(hi) = hi {
                sql.push(" AND v.value_text <= ").bind(Bind::Text(hi));
            }
        }
        sql.push(")");
    }
    if let Some(t) = f.since {
        sql.push(" AND d.created_at >= ").bind(Bind::Time(t));
    }
    if let Some(t) = f.until {
        sql.push(" AND d.created_at < ").bind(Bind::Time(t));
    }
    match conn {
        // FTS5 hands its matches out by rowid, newest first, without sorting them
        DbConn::Sqlite(_) => sql.push(" ORDER BY search_fts.rowid DESC LIMIT "),
        DbConn::Pg(_) => sql.push(" ORDER BY d.id DESC LIMIT "),
    };
    sql.bind(Bind::Int(limit));
    Some(sql)
}

/// A match of the index, and whether the caller may read it.
#[derive(QueryableByName)]
struct Checked {
    #[diesel(embed)]
    hit: DocHit,
    #[diesel(sql_type = BigInt)]
    visible: i64,
}

/// The newest `limit` matching documents the caller may read, newest first, each with its
/// relevance (higher is better): a word in a tenth of a million posts costs `limit` rows, not the
/// hundred thousand. Only those are joined to their thread, post and annotation to check who may
/// read them; when too many of them are hidden from the caller (deleted, someone's private
/// note), the walk goes on four times as far, so the answer is exact. Ranking and paging happen
/// on this set.
pub fn candidates(
    conn: &mut DbConn,
    f: &SearchFilter,
    language: &str,
    limit: i64,
) -> QueryResult<Vec<DocHit>> {
    let mut walk = limit + limit / 8 + 8;
    loop {
        let Some(inner) = matching(conn, f, language, walk) else {
            return Ok(Vec::new());
        };
        let mut sql = Sql::default();
        sql.push("SELECT c.*, CAST(CASE WHEN t.id IS NOT NULL");
        if !f.include_deleted {
            sql.push(" AND t.deleted_at IS NULL AND (c.kind = 'thread' OR p.deleted_at IS NULL)");
        }
        sql.push(" AND (c.kind <> 'annotation' OR a.visibility = 'public' OR a.user_id = ");
        sql.text.push_str(&format!("${}", inner.binds.len() + 1));
        sql.push(") THEN 1 ELSE 0 END AS BIGINT) AS visible FROM (");
        sql.text.push_str(&inner.text);
        sql.binds = inner.binds;
        sql.binds.push(Bind::Int(f.viewer.unwrap_or(-1)));
        sql.push(
            ") c LEFT JOIN threads t ON t.id = c.thread_id \
             LEFT JOIN posts p ON p.id = c.post_id \
             LEFT JOIN annotations a ON c.kind = 'annotation' AND a.id = c.ref_id \
             ORDER BY c.id DESC",
        );
        let rows: Vec<Checked> = load(conn, &sql)?;
        let walked = rows.len() as i64;
        let mut hits: Vec<DocHit> = rows
            .into_iter()
            .filter(|r| r.visible == 1)
            .map(|r| r.hit)
            .collect();
        // every match walked, or enough of them visible
        if walked < walk || hits.len() as i64 >= limit || walk >= MAX_WALK {
            hits.truncate(limit as usize);
            return Ok(hits);
        }
        walk *= 4;
    }
}

/// The farthest the walk for visible matches goes (past it, a caller who cannot see most of the
/// newest matches sees fewer results; a narrower query reaches the rest).
const MAX_WALK: i64 = 100_000;
