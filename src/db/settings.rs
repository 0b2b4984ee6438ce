//! Server-wide settings kept in the database (e.g. the generated JWT secret).

use diesel::prelude::*;

use super::schema::server_settings;
use super::DbConn;

/// Reads a setting.
pub fn get(conn: &mut DbConn, key: &str) -> QueryResult<Option<String>> {
    server_settings::table
        .find(key)
        .select(server_settings::value)
        .first(conn)
        .optional()
}

/// Returns the stored value of `key`, storing `make()` first when there is none. Safe when several
/// processes start at once: the first insert wins and every process reads the winner.
pub fn get_or_insert_with(
    conn: &mut DbConn,
    key: &str,
    make: impl FnOnce() -> String,
) -> QueryResult<String> {
    if let Some(value) = get(conn, key)? {
        return Ok(value);
    }
    let value = make();
    let sql = super::dialect_sql(
        conn,
        "INSERT INTO server_settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    );
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(key)
        .bind::<diesel::sql_types::Text, _>(&value)
        .execute(conn)?;
    server_settings::table
        .find(key)
        .select(server_settings::value)
        .first(conn)
}

/// Stores a setting, replacing what was there.
pub fn set(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    let sql = super::dialect_sql(
        conn,
        "INSERT INTO server_settings (key, value) VALUES ($1, $2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    );
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Text, _>(key)
        .bind::<diesel::sql_types::Text, _>(value)
        .execute(conn)?;
    Ok(())
}
