//! Finding a post or thread for a request, with the one 404 for "missing" and "hidden": shared by
//! every resource that hangs off a post (annotations, reactions, citations).

use crate::db::DbConn;
use crate::error::ApiError;
use crate::policy;
use crate::posts::db::{self as post_db, PostRow};
use crate::threads::db::{self as thread_db, ThreadRow};

/// A thread, or 404.
pub fn thread_or_404(conn: &mut DbConn, id: i64) -> Result<ThreadRow, ApiError> {
    thread_db::find(conn, id)?.ok_or_else(|| policy::no_thread(id))
}

/// A post and its thread, or 404.
pub fn post_and_thread(conn: &mut DbConn, id: i64) -> Result<(PostRow, ThreadRow), ApiError> {
    let post = post_db::find(conn, id)?.ok_or_else(|| policy::no_post(id))?;
    let thread = thread_or_404(conn, post.thread_id)?;
    Ok((post, thread))
}
