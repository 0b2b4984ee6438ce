//! Attachments in the database: the row of each upload, the content-addressed files it uses
//! (counted, so a file shared by two uploads of the same picture is removed with the last), the
//! posts that show it, and each member's bytes against the quota.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{attachments, post_attachments, users};
use crate::db::{now, DbConn, MultiBackend};
use crate::media::db::{hold_file, release_file};
use crate::text::AttachmentRef;

/// An attachment as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attachments)]
pub struct AttachmentRow {
    pub id: i64,
    pub user_id: i64,
    pub content_type: String,
    pub size: i64,
    pub width: i32,
    pub height: i32,
    pub display_hash: String,
    pub display_path: String,
    pub display_width: i32,
    pub display_height: i32,
    pub display_size: i64,
    pub thumb_hash: String,
    pub thumb_path: String,
    pub thumb_width: i32,
    pub thumb_height: i32,
    pub thumb_size: i64,
    pub used: bool,
    pub created_at: NaiveDateTime,
}

fn select() -> <AttachmentRow as Selectable<MultiBackend>>::SelectExpression {
    <AttachmentRow as Selectable<MultiBackend>>::construct_selection()
}

/// One file to store: its hash and size.
pub struct NewFile<'a> {
    pub hash: &'a str,
    pub size: i64,
    pub width: i32,
    pub height: i32,
}

/// An upload to record.
pub struct NewAttachment<'a> {
    pub user_id: i64,
    pub content_type: &'a str,
    pub size: i64,
    pub width: i32,
    pub height: i32,
    pub display: NewFile<'a>,
    pub thumbnail: NewFile<'a>,
}

/// Why an upload was not recorded.
#[derive(Debug)]
pub enum RecordError {
    /// The member's uploads would pass the quota; how many bytes they hold now.
    OverQuota {
        used: i64,
    },
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for RecordError {
    fn from(e: diesel::result::Error) -> Self {
        RecordError::Db(e)
    }
}

impl crate::db::TransientError for RecordError {
    fn is_transient(&self) -> bool {
        matches!(self, RecordError::Db(e) if crate::db::is_transient_db_error(e))
    }
}

/// Records an upload in one transaction: the member's bytes grow (refused past `quota`), each
/// file's count grows (a new file gets a path of its own), and the attachment row is written.
/// The files must then be written to the paths the row holds.
pub fn record(
    conn: &mut DbConn,
    new: &NewAttachment,
    quota: i64,
) -> Result<AttachmentRow, RecordError> {
    crate::db::transaction(conn, |conn| {
        // one conditional statement: concurrent uploads of one member cannot pass the quota together
        let grown = diesel::update(
            users::table
                .find(new.user_id)
                .filter((users::upload_bytes + new.size).le(quota)),
        )
        .set(users::upload_bytes.eq(users::upload_bytes + new.size))
        .execute(conn)?;
        if grown == 0 {
            let used = users::table
                .find(new.user_id)
                .select(users::upload_bytes)
                .first(conn)?;
            return Err(RecordError::OverQuota { used });
        }
        let display_path = hold_file(conn, new.display.hash, new.display.size)?;
        let thumb_path = hold_file(conn, new.thumbnail.hash, new.thumbnail.size)?;
        let row = diesel::insert_into(attachments::table)
            .values((
                attachments::user_id.eq(new.user_id),
                attachments::content_type.eq(new.content_type),
                attachments::size.eq(new.size),
                attachments::width.eq(new.width),
                attachments::height.eq(new.height),
                attachments::display_hash.eq(new.display.hash),
                attachments::display_path.eq(&display_path),
                attachments::display_width.eq(new.display.width),
                attachments::display_height.eq(new.display.height),
                attachments::display_size.eq(new.display.size),
                attachments::thumb_hash.eq(new.thumbnail.hash),
                attachments::thumb_path.eq(&thumb_path),
                attachments::thumb_width.eq(new.thumbnail.width),
                attachments::thumb_height.eq(new.thumbnail.height),
                attachments::thumb_size.eq(new.thumbnail.size),
                attachments::used.eq(false),
                attachments::created_at.eq(now()),
            ))
            .returning(select())
            .get_result(conn)?;
        Ok(row)
    })
}

/// Whether a post anyone may read (neither it nor its thread deleted) shows the attachment.
pub fn shown_in_visible_post(conn: &mut DbConn, id: i64) -> QueryResult<bool> {
    use crate::db::schema::{posts, threads};
    diesel::select(diesel::dsl::exists(
        post_attachments::table
            .inner_join(posts::table.inner_join(threads::table))
            .filter(post_attachments::attachment_id.eq(id))
            .filter(posts::deleted_at.is_null())
            .filter(threads::deleted_at.is_null()),
    ))
    .get_result(conn)
}

/// An attachment by id.
pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<AttachmentRow>> {
    attachments::table
        .find(id)
        .select(select())
        .first(conn)
        .optional()
}

/// The attachments a post's Markdown shows that are not uploads of `owner` (for a 422 naming
/// them); no statement for Markdown that shows none.
pub fn not_owned(conn: &mut DbConn, owner: i64, markdown: &str) -> QueryResult<Vec<i64>> {
    let ids: Vec<i64> = crate::text::attachment_refs(markdown)
        .iter()
        .map(|r| r.id)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let owned: Vec<i64> = attachments::table
        .filter(attachments::id.eq_any(&ids))
        .filter(attachments::user_id.eq(owner))
        .select(attachments::id)
        .load(conn)?;
    let mut missing: Vec<i64> = ids
        .iter()
        .copied()
        .filter(|id| !owned.contains(id))
        .collect();
    missing.dedup();
    Ok(missing)
}

/// Makes a post show the attachments its Markdown references (replacing what it showed), taking
/// only attachments of `owner`; they are marked used, so the cleanup keeps them. Does nothing,
/// with no statement, for a post that references none and never did.
pub fn link(
    conn: &mut DbConn,
    post_id: i64,
    owner: i64,
    refs: &[AttachmentRef],
    had_any: bool,
) -> QueryResult<()> {
    if had_any {
        diesel::delete(post_attachments::table.filter(post_attachments::post_id.eq(post_id)))
            .execute(conn)?;
    }
    if refs.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = refs.iter().map(|r| r.id).collect();
    // marking them used first locks them: the cleanup (which deletes only unused ones) can no
    // longer take one between this check and the rows below
    let owned: Vec<i64> = diesel::update(
        attachments::table
            .filter(attachments::id.eq_any(&ids))
            .filter(attachments::user_id.eq(owner)),
    )
    .set(attachments::used.eq(true))
    .returning(attachments::id)
    .get_results(conn)?;
    let rows: Vec<_> = refs
        .iter()
        .filter(|r| owned.contains(&r.id))
        .enumerate()
        .map(|(i, r)| {
            (
                post_attachments::post_id.eq(post_id),
                post_attachments::position.eq(i as i32 + 1),
                post_attachments::attachment_id.eq(r.id),
                post_attachments::caption.eq(r.caption.clone()),
            )
        })
        .collect();
    for row in rows {
        diesel::insert_into(post_attachments::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// The attachments the posts show, with their captions, in order: one query.
pub fn for_posts(
    conn: &mut DbConn,
    post_ids: &[i64],
) -> QueryResult<Vec<(i64, String, AttachmentRow)>> {
    if post_ids.is_empty() {
        return Ok(Vec::new());
    }
    post_attachments::table
        .inner_join(attachments::table)
        .filter(post_attachments::post_id.eq_any(post_ids))
        .order((post_attachments::post_id, post_attachments::position))
        .select((
            post_attachments::post_id,
            post_attachments::caption,
            select(),
        ))
        .load(conn)
}

/// What removing attachments left to do outside the database: files no upload uses any more.
pub struct Removed {
    pub attachments: usize,
    pub paths: Vec<String>,
    /// How many candidates were looked at (a full batch means more may be waiting).
    pub looked_at: usize,
}

/// Removes attachments no post ever used that were made before `before`, at most `limit` of them,
/// each in a transaction of its own (so the cleanup holds one member's row and one upload's files
/// at a time, in the order uploads and posts take them: attachment, member, files): their owners'
/// bytes shrink and their files' counts fall; the files no attachment uses any more are returned,
/// to be deleted from the store.
pub fn remove_unused(conn: &mut DbConn, before: NaiveDateTime, limit: i64) -> QueryResult<Removed> {
    let rows: Vec<AttachmentRow> = attachments::table
        .filter(attachments::used.eq(false))
        .filter(attachments::created_at.lt(before))
        .order(attachments::created_at)
        .limit(limit)
        .select(select())
        .load(conn)?;
    let mut all = Removed {
        attachments: 0,
        paths: Vec::new(),
        looked_at: rows.len(),
    };
    for row in rows {
        let one = crate::db::transaction(conn, |conn| remove(conn, std::slice::from_ref(&row)))?;
        all.attachments += one.attachments;
        all.paths.extend(one.paths);
    }
    Ok(all)
}

/// Removes these attachments (none of them used by a post); call inside a transaction.
pub fn remove(conn: &mut DbConn, rows: &[AttachmentRow]) -> QueryResult<Removed> {
    let mut paths = Vec::new();
    let mut removed = 0;
    for row in rows {
        // a post may have taken it since it was read: such a row is kept
        let gone = diesel::delete(
            attachments::table
                .find(row.id)
                .filter(attachments::used.eq(false)),
        )
        .execute(conn)?;
        if gone == 0 {
            continue;
        }
        removed += 1;
        diesel::update(users::table.find(row.user_id))
            .set(users::upload_bytes.eq(users::upload_bytes - row.size))
            .execute(conn)?;
        for hash in [&row.display_hash, &row.thumb_hash] {
            paths.extend(release_file(conn, hash)?);
        }
    }
    Ok(Removed {
        attachments: removed,
        paths,
        looked_at: rows.len(),
    })
}
