//! Refresh tokens in the database: one family per login, rotated on every use.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::refresh_tokens;
use crate::db::{now, DbConn};

/// A row of `refresh_tokens`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: i64,
    pub user_id: i64,
    pub family: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = refresh_tokens)]
struct NewRefreshToken<'a> {
    user_id: i64,
    family: &'a str,
    token_hash: &'a str,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

/// Stores a refresh token (by hash) in `family`.
pub fn insert(
    conn: &mut DbConn,
    user_id: i64,
    family: &str,
    token_hash: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(NewRefreshToken {
            user_id,
            family,
            token_hash,
            created_at: now(),
            expires_at,
        })
        .execute(conn)
        .map(|_| ())
}

/// What presenting a refresh token found.
#[derive(Debug)]
pub enum Presented {
    /// It was live and is now marked used: the caller may issue its successor.
    Consumed(RefreshToken),
    /// It had been used before: the family is now revoked.
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

/// Marks a live token used (write first, so two concurrent uses cannot both succeed), or detects
/// reuse of an already-used token and revokes its whole family.
pub fn consume(conn: &mut DbConn, token_hash: &str) -> QueryResult<Presented> {
    let t = now();
    let claimed = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null())
            .filter(refresh_tokens::expires_at.gt(t)),
    )
    .set(refresh_tokens::used_at.eq(t))
    .execute(conn)?;
    let row: Option<RefreshToken> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()?;
    Ok(match row {
        Some(row) if claimed == 1 => Presented::Consumed(row),
        Some(row) if row.used_at.is_some() && row.revoked_at.is_none() => {
            revoke_family(conn, &row.family)?;
            Presented::Reused
        }
        _ => Presented::Invalid,
    })
}

/// Revokes every live token of a family (a login).
pub fn revoke_family(conn: &mut DbConn, family: &str) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now()))
    .execute(conn)
}

/// Revokes the family of the presented token (logout). Unknown tokens are ignored.
pub fn revoke_by_token(conn: &mut DbConn, token_hash: &str) -> QueryResult<()> {
    let family: Option<String> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(refresh_tokens::family)
        .first(conn)
        .optional()?;
    if let Some(family) = family {
        revoke_family(conn, &family)?;
    }
    Ok(())
}
