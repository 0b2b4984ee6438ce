//! The search query on each database. SQLite ranks FTS5 matches by bm25 (titles and quotes
//! weigh five times a body); PostgreSQL matches the generated tsvector through its GIN index and
//! ranks by `ts_rank_cd` (titles and quotes weighted A, bodies B). Everything else is the same
//! SQL: who may read a document and every filter come from the live rows it points at.

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
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub ref_id: i64,
    #[diesel(sql_type = BigInt)]
    pub thread_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub post_id: Option<i64>,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
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

/// `FROM … WHERE …` of the matching documents the caller may read, with every filter.
fn matching(conn: &DbConn, f: &SearchFilter, language: &str) -> Option<Sql> {
    let mut sql = Sql::default();
    match conn {
        DbConn::Sqlite(_) => {
            let m = f.query.to_fts5()?;
            sql.push(" FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid")
                .push(JOINS)
                .push(" WHERE search_fts MATCH ")
                .bind(Bind::Text(m));
        }
        DbConn::Pg(_) => {
            let q = f.query.to_tsquery()?;
            sql.push(" FROM search_docs d")
                .push(JOINS)
                .push(" WHERE d.tsv @@ to_tsquery(")
                .bind(Bind::Text(language.to_string()))
                .push("::regconfig, ")
                .bind(Bind::Text(q))
                .push(")");
        }
    }
    if !f.include_deleted {
        sql.push(" AND t.deleted_at IS NULL AND (d.kind = 'thread' OR p.deleted_at IS NULL)");
    }
    sql.push(" AND (d.kind <> 'annotation' OR a.visibility = 'public' OR a.user_id = ")
        .bind(Bind::Int(f.viewer.unwrap_or(-1)))
        .push(")");
    if let Some(kind) = f.kind {
        sql.push(" AND d.kind = ")
            .bind(Bind::Text(kind.to_string()));
    }
    if let Some(ids) = &f.forum_ids {
        sql.push(" AND t.forum_id IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(Bind::Int(*id));
        }
        sql.push(")");
    }
    if let Some(u) = f.user_id {
        sql.push(" AND d.user_id = ").bind(Bind::Int(u));
    }
    if let Some(p) = f.prefix_id {
        sql.push(" AND t.prefix_id = ").bind(Bind::Int(p));
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
    Some(sql)
}

/// The thread, post and annotation a document points at (a thread's document at its first post).
const JOINS: &str = " JOIN threads t ON t.id = d.thread_id \
     LEFT JOIN posts p ON p.id = d.post_id \
     LEFT JOIN annotations a ON d.kind = 'annotation' AND a.id = d.ref_id";

/// A page of the matching documents, best first (or newest first).
pub fn search(
    conn: &mut DbConn,
    f: &SearchFilter,
    language: &str,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<DocHit>> {
    let Some(from) = matching(conn, f, language) else {
        return Ok(Vec::new());
    };
    let mut sql = Sql::default();
    sql.push("SELECT d.kind, d.ref_id, d.thread_id, d.post_id");
    sql.text.push_str(&from.text);
    sql.binds = from.binds;
    if f.newest_first {
        sql.push(" ORDER BY d.created_at DESC, d.id DESC");
    } else {
        match conn {
            DbConn::Sqlite(_) => sql.push(" ORDER BY bm25(search_fts, 5.0, 1.0), d.id DESC"),
            // the query again, by its own placeholder: PostgreSQL reads `$2` twice
            DbConn::Pg(_) => sql
                .push(" ORDER BY ts_rank_cd(d.tsv, to_tsquery($1::regconfig, $2)) DESC, d.id DESC"),
        };
    }
    sql.push(" LIMIT ")
        .bind(Bind::Int(limit))
        .push(" OFFSET ")
        .bind(Bind::Int(offset));
    load(conn, &sql)
}

/// How many documents match, counting no further than `cap` (so a common word costs `cap`
/// rows, not the whole index).
pub fn count(conn: &mut DbConn, f: &SearchFilter, language: &str, cap: i64) -> QueryResult<i64> {
    let Some(from) = matching(conn, f, language) else {
        return Ok(0);
    };
    let mut sql = Sql::default();
    sql.push("SELECT COUNT(*) AS n FROM (SELECT 1 AS one");
    sql.text.push_str(&from.text);
    sql.binds = from.binds;
    sql.push(" LIMIT ").bind(Bind::Int(cap)).push(") s");
    Ok(load::<Count>(conn, &sql)?.first().map_or(0, |c| c.n))
}
