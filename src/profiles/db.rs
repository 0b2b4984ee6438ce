//! Profile fields and values, groups and memberships, ranks in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::schema::{profile_fields, profile_values, ranks, user_group_members, user_groups};
use crate::db::{dialect_sql, now, DbConn};

/// A row of `profile_fields`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = profile_fields)]
pub struct ProfileFieldRow {
    pub id: i64,
    pub key: String,
    pub label: String,
    pub field_type: String,
    pub options: Option<String>,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

/// A row of `user_groups`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_groups)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub badge: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
}

/// Every profile field, in order.
pub fn fields(conn: &mut DbConn) -> QueryResult<Vec<ProfileFieldRow>> {
    profile_fields::table
        .order((profile_fields::position.asc(), profile_fields::id.asc()))
        .select(ProfileFieldRow::as_select())
        .load(conn)
}

/// Adds a profile field.
pub fn insert_field(
    conn: &mut DbConn,
    key: &str,
    label: &str,
    field_type: &str,
    options: Option<String>,
    position: i32,
) -> QueryResult<ProfileFieldRow> {
    diesel::insert_into(profile_fields::table)
        .values((
            profile_fields::key.eq(key),
            profile_fields::label.eq(label),
            profile_fields::field_type.eq(field_type),
            profile_fields::options.eq(options),
            profile_fields::position.eq(position),
            profile_fields::created_at.eq(now()),
        ))
        .execute(conn)?;
    profile_fields::table
        .filter(profile_fields::key.eq(key))
        .select(ProfileFieldRow::as_select())
        .first(conn)
}

/// Removes a profile field and every member's value of it.
pub fn delete_field(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(profile_fields::table.find(id)).execute(conn)
}

/// Sets (or, with `None`, clears) a member's value of a field.
pub fn set_value(
    conn: &mut DbConn,
    user_id: i64,
    field_id: i64,
    value: Option<&str>,
) -> QueryResult<()> {
    match value {
        None => diesel::delete(profile_values::table.find((user_id, field_id)))
            .execute(conn)
            .map(|_| ()),
        Some(v) => {
            let sql = dialect_sql(
                conn,
                "INSERT INTO profile_values (user_id, field_id, value) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, field_id) DO UPDATE SET value = excluded.value",
            );
            diesel::sql_query(sql)
                .bind::<BigInt, _>(user_id)
                .bind::<BigInt, _>(field_id)
                .bind::<Text, _>(v)
                .execute(conn)
                .map(|_| ())
        }
    }
}

/// The profile values of these members: (user id, field id, value), one query.
pub fn values_of(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<Vec<(i64, i64, String)>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    profile_values::table
        .filter(profile_values::user_id.eq_any(user_ids.to_vec()))
        .select((
            profile_values::user_id,
            profile_values::field_id,
            profile_values::value,
        ))
        .load(conn)
}

/// Every group, in order.
pub fn groups(conn: &mut DbConn) -> QueryResult<Vec<GroupRow>> {
    user_groups::table
        .order((user_groups::position.asc(), user_groups::id.asc()))
        .select(GroupRow::as_select())
        .load(conn)
}

/// Adds a group.
pub fn insert_group(
    conn: &mut DbConn,
    name: &str,
    badge: &str,
    position: i32,
) -> QueryResult<GroupRow> {
    diesel::insert_into(user_groups::table)
        .values((
            user_groups::name.eq(name),
            user_groups::badge.eq(badge),
            user_groups::position.eq(position),
            user_groups::created_at.eq(now()),
        ))
        .execute(conn)?;
    user_groups::table
        .filter(user_groups::name.eq(name))
        .select(GroupRow::as_select())
        .first(conn)
}

/// Removes a group.
pub fn delete_group(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(user_groups::table.find(id)).execute(conn)
}

/// Puts a member in a group (a no-op when already in).
pub fn add_member(conn: &mut DbConn, group_id: i64, user_id: i64) -> QueryResult<()> {
    let sql = dialect_sql(
        conn,
        "INSERT INTO user_group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    );
    diesel::sql_query(sql)
        .bind::<BigInt, _>(group_id)
        .bind::<BigInt, _>(user_id)
        .execute(conn)
        .map(|_| ())
}

/// Takes a member out of a group.
pub fn remove_member(conn: &mut DbConn, group_id: i64, user_id: i64) -> QueryResult<()> {
    diesel::delete(user_group_members::table.find((user_id, group_id)))
        .execute(conn)
        .map(|_| ())
}

/// The groups of these members: (user id, group), one query.
pub fn groups_of(conn: &mut DbConn, user_ids: &[i64]) -> QueryResult<Vec<(i64, GroupRow)>> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    user_group_members::table
        .inner_join(user_groups::table)
        .filter(user_group_members::user_id.eq_any(user_ids.to_vec()))
        .order((user_groups::position.asc(), user_groups::id.asc()))
        .select((user_group_members::user_id, GroupRow::as_select()))
        .load(conn)
}

/// The rank ladder, lowest first: (minimum messages, title).
pub fn ranks(conn: &mut DbConn) -> QueryResult<Vec<(i64, String)>> {
    ranks::table
        .order(ranks::min_messages.asc())
        .select((ranks::min_messages, ranks::title))
        .load(conn)
}

/// Replaces the rank ladder.
pub fn replace_ranks(conn: &mut DbConn, ladder: &[(i64, String)]) -> QueryResult<()> {
    crate::db::transaction(conn, |conn| {
        diesel::delete(ranks::table).execute(conn)?;
        for (min, title) in ladder {
            diesel::insert_into(ranks::table)
                .values((ranks::min_messages.eq(min), ranks::title.eq(title)))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// The title for a message count on a ladder (lowest first).
pub fn rank_for(ladder: &[(i64, String)], message_count: i64) -> String {
    ladder
        .iter()
        .rev()
        .find(|(min, _)| message_count >= *min)
        .map(|(_, t)| t.clone())
        .unwrap_or_default()
}
