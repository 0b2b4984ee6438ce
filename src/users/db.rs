//! Users in the database.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::Role;
use crate::db::schema::{refresh_tokens, users};
use crate::db::{now, DbConn, MultiBackend};

/// A row of `users`.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub username_key: String,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub display_name: Option<String>,
    pub about: Option<String>,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub message_count: i64,
    pub reaction_score: i64,
    pub avatar_url: Option<String>,
    pub last_seen_at: Option<NaiveDateTime>,
    pub hide_presence: bool,
    pub auto_watch: bool,
    /// Bytes of the member's uploads, against the upload quota.
    pub upload_bytes: i64,
    /// The hashes of an uploaded avatar's three sizes, separated by spaces.
    pub avatar_files: Option<String>,
}

impl User {
    /// The role; an unknown stored value (impossible by the CHECK constraint) counts as member.
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Member)
    }
}

/// Insert form of a user.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub username_key: String,
    pub email: Option<&'a str>,
    pub email_key: Option<String>,
    pub display_name: Option<&'a str>,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Update form of a profile; `Some(None)` sets NULL.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct ProfileChanges {
    pub display_name: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub email_key: Option<Option<String>>,
    pub about: Option<Option<String>>,
    pub auto_watch: Option<bool>,
    pub hide_presence: Option<bool>,
    pub avatar_url: Option<Option<String>>,
    pub updated_at: Option<NaiveDateTime>,
}

/// The key under which a username is unique: case does not count.
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// The key under which an email is unique.
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn select() -> <User as Selectable<MultiBackend>>::SelectExpression {
    <User as Selectable<MultiBackend>>::construct_selection()
}

/// Inserts a user and returns the row.
pub fn insert(conn: &mut DbConn, new: &NewUser) -> QueryResult<User> {
    diesel::insert_into(users::table)
        .values(new)
        .returning(select())
        .get_result(conn)
}

/// The user with this id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    users::table
        .find(id)
        .select(select())
        .first(conn)
        .optional()
}

/// The user with this username, case ignored.
pub fn find_by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::username_key.eq(username_key(username)))
        .select(select())
        .first(conn)
        .optional()
}

/// The user a login names: a username, or an email when it contains `@`.
pub fn find_by_login(conn: &mut DbConn, login: &str) -> QueryResult<Option<User>> {
    if login.contains('@') {
        users::table
            .filter(users::email_key.eq(email_key(login)))
            .select(select())
            .first(conn)
            .optional()
    } else {
        find_by_username(conn, login)
    }
}

/// Whether a username (case ignored) is taken.
pub fn username_taken(conn: &mut DbConn, username: &str) -> QueryResult<bool> {
    Ok(find_by_username(conn, username)?.is_some())
}

/// Whether an email is taken by anyone but `except`.
pub fn email_taken(conn: &mut DbConn, email: &str, except: Option<i64>) -> QueryResult<bool> {
    let mut q = users::table
        .filter(users::email_key.eq(email_key(email)))
        .select(users::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(users::id.ne(id));
    }
    Ok(q.first::<i64>(conn).optional()?.is_some())
}

/// Applies profile changes and returns the row.
pub fn update_profile(conn: &mut DbConn, id: i64, changes: &ProfileChanges) -> QueryResult<User> {
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(select())
        .get_result(conn)
}

/// Sets a new password hash and revokes every refresh token of the user, in one transaction.
pub fn set_password(conn: &mut DbConn, id: i64, password_hash: &str) -> QueryResult<()> {
    crate::db::transaction(conn, |conn| {
        let t = now();
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(password_hash),
                users::updated_at.eq(t),
            ))
            .execute(conn)?;
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::user_id.eq(id))
                .filter(refresh_tokens::revoked_at.is_null()),
        )
        .set(refresh_tokens::revoked_at.eq(t))
        .execute(conn)?;
        Ok(())
    })
}

/// Sets role and/or disabled; disabling revokes every refresh token of the user.
pub fn set_role_and_status(
    conn: &mut DbConn,
    id: i64,
    role: Option<Role>,
    disabled: Option<bool>,
) -> QueryResult<User> {
    crate::db::transaction(conn, |conn| {
        let t = now();
        if let Some(role) = role {
            diesel::update(users::table.find(id))
                .set((users::role.eq(role.as_str()), users::updated_at.eq(t)))
                .execute(conn)?;
        }
        if let Some(disabled) = disabled {
            diesel::update(users::table.find(id))
                .set((users::disabled.eq(disabled), users::updated_at.eq(t)))
                .execute(conn)?;
            if disabled {
                diesel::update(
                    refresh_tokens::table
                        .filter(refresh_tokens::user_id.eq(id))
                        .filter(refresh_tokens::revoked_at.is_null()),
                )
                .set(refresh_tokens::revoked_at.eq(t))
                .execute(conn)?;
            }
        }
        users::table.find(id).select(select()).first(conn)
    })
}

/// A page of users ordered by id, with the total count.
pub fn list(conn: &mut DbConn, offset: i64, limit: i64) -> QueryResult<(Vec<User>, i64)> {
    let total = users::table.count().get_result(conn)?;
    let items = users::table
        .order(users::id.asc())
        .offset(offset)
        .limit(limit)
        .select(select())
        .load(conn)?;
    Ok((items, total))
}

/// The acting member, refused when the account has since been disabled (access tokens outlive a
/// ban by at most their lifetime; every write checks).
pub fn require_active(conn: &mut DbConn, id: i64) -> Result<User, crate::error::ApiError> {
    use crate::error::{ApiError, ErrorKind};
    let user = find(conn, id)?
        .ok_or_else(|| ApiError::new(ErrorKind::InvalidToken, "the account no longer exists"))?;
    if user.disabled {
        return Err(ApiError::new(
            ErrorKind::AccountDisabled,
            "this account is disabled",
        ));
    }
    Ok(user)
}

/// The counters an author card shows, for these members: (id, message count, reaction score).
pub fn card_counters(conn: &mut DbConn, ids: &[i64]) -> QueryResult<Vec<(i64, i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::id.eq_any(ids.to_vec()))
        .select((users::id, users::message_count, users::reaction_score))
        .load(conn)
}
