//! A member's avatar in the database: the hashes of its sizes on the member's row, the files
//! counted in `media_blobs`.

use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::DbConn;
use crate::media::db::{hold_file, release_file};

/// What changing an avatar left to do outside the database.
pub struct Changed {
    /// The paths the new sizes must be written to, in the order given.
    pub write: Vec<String>,
    /// The files no attachment or avatar uses any more, to delete from the store.
    pub freed: Vec<String>,
}

/// Sets (or, with `None`, removes) a member's uploaded avatar, in one transaction: the member's
/// row is locked first (so two changes at once each release what the other set), the new files
/// are counted, and the old ones released. Removing also clears a typed `avatar_url`.
pub fn set(
    conn: &mut DbConn,
    user_id: i64,
    files: Option<&[(String, i64)]>,
) -> QueryResult<Changed> {
    crate::db::transaction(conn, |conn| {
        let old: Option<String> = diesel::update(users::table.find(user_id))
            .set(users::avatar_files.eq(users::avatar_files))
            .returning(users::avatar_files)
            .get_result(conn)?;
        let mut write = Vec::new();
        if let Some(files) = files {
            for (hash, size) in files {
                write.push(hold_file(conn, hash, *size)?);
            }
        }
        let new = files.map(|f| {
            f.iter()
                .map(|(h, _)| h.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        });
        let cleared = new.is_none();
        diesel::update(users::table.find(user_id))
            .set((
                users::avatar_files.eq(new),
                users::updated_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
        if cleared {
            diesel::update(users::table.find(user_id))
                .set(users::avatar_url.eq(None::<String>))
                .execute(conn)?;
        }
        let mut freed = Vec::new();
        for hash in old.iter().flat_map(|o| o.split(' ')) {
            freed.extend(release_file(conn, hash)?);
        }
        Ok(Changed { write, freed })
    })
}

/// Takes back an avatar this request set (its store write failed): only if it is still the
/// member's avatar (a later change stands), leaving a typed `avatar_url` alone.
pub fn take_back(conn: &mut DbConn, user_id: i64, set: &str) -> QueryResult<Changed> {
    crate::db::transaction(conn, |conn| {
        let current: Option<String> = diesel::update(users::table.find(user_id))
            .set(users::avatar_files.eq(users::avatar_files))
            .returning(users::avatar_files)
            .get_result(conn)?;
        let mut freed = Vec::new();
        if current.as_deref() == Some(set) {
            diesel::update(users::table.find(user_id))
                .set(users::avatar_files.eq(None::<String>))
                .execute(conn)?;
            for hash in set.split(' ') {
                freed.extend(release_file(conn, hash)?);
            }
        }
        Ok(Changed {
            write: Vec::new(),
            freed,
        })
    })
}
