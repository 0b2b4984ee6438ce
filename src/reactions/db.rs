//! Reaction kinds and post reactions in the database.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{post_reactions, reaction_kinds, users};
use crate::db::{dialect_sql, now, DbConn};
use diesel::sql_types::{BigInt, Timestamp};

/// A row of `reaction_kinds`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reaction_kinds)]
pub struct KindRow {
    pub id: i64,
    pub key: String,
    pub label: String,
    pub emoji: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

/// Reaction counts by (post id, kind id).
pub type ReactionCounts = HashMap<(i64, i64), i64>;

/// One reaction: (member id, kind id, when).
pub type Reaction = (i64, i64, NaiveDateTime);

/// Every reaction kind, in order.
pub fn kinds(conn: &mut DbConn) -> QueryResult<Vec<KindRow>> {
    reaction_kinds::table
        .order((reaction_kinds::position.asc(), reaction_kinds::id.asc()))
        .select(KindRow::as_select())
        .load(conn)
}

/// Adds a kind.
pub fn insert_kind(
    conn: &mut DbConn,
    key: &str,
    label: &str,
    emoji: &str,
    position: i32,
) -> QueryResult<KindRow> {
    diesel::insert_into(reaction_kinds::table)
        .values((
            reaction_kinds::key.eq(key),
            reaction_kinds::label.eq(label),
            reaction_kinds::emoji.eq(emoji),
            reaction_kinds::position.eq(position),
            reaction_kinds::created_at.eq(now()),
        ))
        .execute(conn)?;
    reaction_kinds::table
        .filter(reaction_kinds::key.eq(key))
        .select(KindRow::as_select())
        .first(conn)
}

/// Adds a reaction (a no-op when present, also when two requests race); the post author's
/// reaction score follows. Returns whether it was new.
pub fn add(
    conn: &mut DbConn,
    post_id: i64,
    author_id: i64,
    kind_id: i64,
    user_id: i64,
) -> QueryResult<bool> {
    crate::db::atomic(conn, |conn| {
        let sql = dialect_sql(
            conn,
            "INSERT INTO post_reactions (post_id, kind_id, user_id, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        );
        let added = diesel::sql_query(sql)
            .bind::<BigInt, _>(post_id)
            .bind::<BigInt, _>(kind_id)
            .bind::<BigInt, _>(user_id)
            .bind::<Timestamp, _>(now())
            .execute(conn)?;
        if added == 0 {
            return Ok(false);
        }
        diesel::update(users::table.find(author_id))
            .set(users::reaction_score.eq(users::reaction_score + 1))
            .execute(conn)?;
        Ok(true)
    })
}

/// Removes a reaction (a no-op when absent); the author's score follows.
pub fn remove(
    conn: &mut DbConn,
    post_id: i64,
    author_id: i64,
    kind_id: i64,
    user_id: i64,
) -> QueryResult<bool> {
    crate::db::atomic(conn, |conn| {
        let n = diesel::delete(post_reactions::table.find((post_id, kind_id, user_id)))
            .execute(conn)?;
        if n > 0 {
            diesel::update(users::table.find(author_id))
                .set(users::reaction_score.eq(users::reaction_score - 1))
                .execute(conn)?;
        }
        Ok(n > 0)
    })
}

/// Reaction counts per (post, kind) for these posts, and the kinds `viewer` used: two queries.
pub fn summary(
    conn: &mut DbConn,
    post_ids: &[i64],
    viewer: Option<i64>,
) -> QueryResult<(ReactionCounts, Vec<(i64, i64)>)> {
    if post_ids.is_empty() {
        return Ok((HashMap::new(), Vec::new()));
    }
    let counts: Vec<(i64, i64, i64)> = post_reactions::table
        .filter(post_reactions::post_id.eq_any(post_ids.to_vec()))
        .group_by((post_reactions::post_id, post_reactions::kind_id))
        .select((
            post_reactions::post_id,
            post_reactions::kind_id,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let mine = match viewer {
        Some(v) => post_reactions::table
            .filter(post_reactions::post_id.eq_any(post_ids.to_vec()))
            .filter(post_reactions::user_id.eq(v))
            .select((post_reactions::post_id, post_reactions::kind_id))
            .load(conn)?,
        None => Vec::new(),
    };
    Ok((
        counts.into_iter().map(|(p, k, n)| ((p, k), n)).collect(),
        mine,
    ))
}

/// A page of who reacted to a post (optionally with one kind), newest first; and the total.
pub fn list(
    conn: &mut DbConn,
    post_id: i64,
    kind_id: Option<i64>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<Reaction>, i64)> {
    let build = || {
        let mut q = post_reactions::table
            .filter(post_reactions::post_id.eq(post_id))
            .into_boxed::<crate::db::MultiBackend>();
        if let Some(k) = kind_id {
            q = q.filter(post_reactions::kind_id.eq(k));
        }
        q
    };
    let total = build().count().get_result(conn)?;
    let items = build()
        .order((
            post_reactions::created_at.desc(),
            post_reactions::user_id.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select((
            post_reactions::user_id,
            post_reactions::kind_id,
            post_reactions::created_at,
        ))
        .load(conn)?;
    Ok((items, total))
}

/// The kinds (by key) `viewer` gave to these posts: (post id, kind key), one query.
pub fn given_by(
    conn: &mut DbConn,
    post_ids: &[i64],
    viewer: i64,
) -> QueryResult<Vec<(i64, String)>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    post_reactions::table
        .inner_join(reaction_kinds::table)
        .filter(post_reactions::post_id.eq_any(post_ids.to_vec()))
        .filter(post_reactions::user_id.eq(viewer))
        .select((post_reactions::post_id, reaction_kinds::key))
        .load(conn)
}
