//! The stored files' counts: one row per distinct content (its sha256), counting the attachments
//! and avatars that use it, so a file shared by two uploads of the same picture is removed with
//! the last. A file's path is its hash plus a generation: a file removed when its count fell to
//! zero is never the path a later upload of the same content writes to.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::db::schema::media_blobs;
use crate::db::{dialect_sql, now, DbConn};

#[derive(QueryableByName)]
struct HeldPath {
    #[diesel(sql_type = Text)]
    path: String,
}

/// Counts one more user of a file and returns its path: the existing file's, or a new path when
/// no file of this content is kept now. One statement, so two uploads of the same picture at
/// once agree on the path. The caller writes the file to the path after its transaction commits.
pub fn hold_file(conn: &mut DbConn, hash: &str, size: i64) -> QueryResult<String> {
    let generation = uuid::Uuid::new_v4().simple().to_string();
    let path = format!("media/{}/{}-{}.webp", &hash[..2], hash, &generation[..12]);
    let sql = dialect_sql(
        conn,
        "INSERT INTO media_blobs (hash, path, refs, size, created_at) VALUES ($1, $2, 1, $3, $4) \
         ON CONFLICT (hash) DO UPDATE SET refs = media_blobs.refs + 1 RETURNING path",
    );
    let held: HeldPath = diesel::sql_query(sql)
        .bind::<Text, _>(hash)
        .bind::<Text, _>(&path)
        .bind::<BigInt, _>(size)
        .bind::<Timestamp, _>(now())
        .get_result(conn)?;
    Ok(held.path)
}

/// Counts one user fewer of a file; when none is left, forgets it and returns its path, for the
/// caller to delete from the store once its transaction commits.
pub fn release_file(conn: &mut DbConn, hash: &str) -> QueryResult<Option<String>> {
    diesel::update(media_blobs::table.find(hash))
        .set(media_blobs::refs.eq(media_blobs::refs - 1))
        .execute(conn)?;
    diesel::delete(
        media_blobs::table
            .find(hash)
            .filter(media_blobs::refs.le(0)),
    )
    .returning(media_blobs::path)
    .get_result(conn)
    .optional()
}

/// The path of the file of `hash`, if one is kept.
pub fn path_of(conn: &mut DbConn, hash: &str) -> QueryResult<Option<String>> {
    media_blobs::table
        .find(hash)
        .select(media_blobs::path)
        .first(conn)
        .optional()
}
