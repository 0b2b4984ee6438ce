//! Who may do what. Every permission decision lives here, as plain functions over the actor and
//! the thing acted on, so each rule can be read, and tested, in one place.
//!
//! Guests read. Members write their own things. Moderators moderate content. Admins also
//! administer forums and accounts. A decision that depends on what exists answers 404 for what the
//! actor may not even see (a deleted thread, to a member), and 403 for what they see but may not touch.

use crate::annotations::db::AnnotationRow;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorKind};
use crate::posts::db::PostRow;
use crate::threads::db::ThreadRow;
use crate::users::Role;

/// Whether the actor moderates content (moderators and admins).
pub fn is_moderator(actor: Option<&AuthUser>) -> bool {
    actor.is_some_and(|a| a.role >= Role::Moderator)
}

fn require_moderator(actor: &AuthUser) -> Result<(), ApiError> {
    if is_moderator(Some(actor)) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only moderators may do this"))
    }
}

/// Listing accounts with private fields, changing roles and banning: admins only.
pub fn can_administer_users(actor: &AuthUser) -> Result<(), ApiError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("only admins may do this"))
    }
}

/// An admin may change any member's role or ban, except their own (so the last admin cannot
/// lock everyone out by mistake).
pub fn can_change_role_or_ban(actor: &AuthUser, target_id: i64) -> Result<(), ApiError> {
    can_administer_users(actor)?;
    if actor.id == target_id {
        return Err(ApiError::forbidden(
            "admins cannot change their own role or ban themselves",
        ));
    }
    Ok(())
}

/// Creating, editing, reordering and deleting forums, prefixes and fields: admins only.
pub fn can_manage_forums(actor: &AuthUser) -> Result<(), ApiError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(ApiError::forbidden("only admins may manage forums"))
    }
}

/// Whether deleted threads and posts are visible to the actor (moderators only).
pub fn can_see_deleted(actor: Option<&AuthUser>) -> bool {
    is_moderator(actor)
}

/// The 404 of a thread that does not exist or that the caller may not see: one text for both, so
/// the answer does not tell them apart.
pub fn no_thread(id: i64) -> ApiError {
    ApiError::not_found(format!("no thread has id {id}"))
}

/// The 404 of a post that does not exist or that the caller may not see.
pub fn no_post(id: i64) -> ApiError {
    ApiError::not_found(format!("no post has id {id}"))
}

/// The 404 of an annotation that does not exist or that the caller may not see.
pub fn no_annotation(id: i64) -> ApiError {
    ApiError::not_found(format!("no annotation has id {id}"))
}

/// Reading a thread: everyone, unless it is deleted (then moderators only; others get 404).
pub fn can_view_thread(actor: Option<&AuthUser>, thread: &ThreadRow) -> Result<(), ApiError> {
    if thread.is_deleted() && !can_see_deleted(actor) {
        return Err(no_thread(thread.id));
    }
    Ok(())
}

/// Reading a post's content: as its thread, and a deleted post only by moderators.
pub fn can_view_post(
    actor: Option<&AuthUser>,
    post: &PostRow,
    thread: &ThreadRow,
) -> Result<(), ApiError> {
    // a post in a hidden thread is a post that does not exist: the same 404 as a missing one
    can_view_thread(actor, thread).map_err(|_| no_post(post.id))?;
    if post.is_deleted() && !can_see_deleted(actor) {
        return Err(no_post(post.id));
    }
    Ok(())
}

/// Replying: any signed-in member in a visible thread that is not locked; moderators also in
/// locked threads.
pub fn can_reply(actor: &AuthUser, thread: &ThreadRow) -> Result<(), ApiError> {
    can_view_thread(Some(actor), thread)?;
    if thread.is_deleted() {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "this thread is deleted: restore it before posting in it",
        ));
    }
    if thread.locked && !is_moderator(Some(actor)) {
        return Err(ApiError::new(
            ErrorKind::ThreadLocked,
            "this thread is locked: it accepts no new posts",
        ));
    }
    Ok(())
}

/// Editing a thread's title, prefix and fields: its author while it is not locked, or a moderator.
pub fn can_edit_thread(actor: &AuthUser, thread: &ThreadRow) -> Result<(), ApiError> {
    can_view_thread(Some(actor), thread)?;
    if is_moderator(Some(actor)) {
        return Ok(());
    }
    if thread.user_id != actor.id {
        return Err(ApiError::forbidden(
            "only the thread's author or a moderator may edit it",
        ));
    }
    if thread.locked {
        return Err(ApiError::new(
            ErrorKind::ThreadLocked,
            "this thread is locked: it cannot be edited",
        ));
    }
    Ok(())
}

/// Deleting a thread: a moderator, or its author while nobody has replied.
pub fn can_delete_thread(actor: &AuthUser, thread: &ThreadRow) -> Result<(), ApiError> {
    can_view_thread(Some(actor), thread)?;
    if is_moderator(Some(actor)) {
        return Ok(());
    }
    if thread.user_id != actor.id {
        return Err(ApiError::forbidden(
            "only the thread's author or a moderator may delete it",
        ));
    }
    if thread.reply_count > 0 || thread.locked {
        return Err(ApiError::forbidden(
            "a thread with replies (or a locked one) can only be deleted by a moderator",
        ));
    }
    Ok(())
}

/// Locking, sticking, moving, restoring: moderators.
pub fn can_moderate(actor: &AuthUser) -> Result<(), ApiError> {
    require_moderator(actor)
}

/// Editing a post: its author while the thread is not locked and the post not deleted, or a moderator.
pub fn can_edit_post(actor: &AuthUser, post: &PostRow, thread: &ThreadRow) -> Result<(), ApiError> {
    can_view_post(Some(actor), post, thread)?;
    if is_moderator(Some(actor)) {
        return Ok(());
    }
    if post.user_id != actor.id {
        return Err(ApiError::forbidden(
            "only the post's author or a moderator may edit it",
        ));
    }
    if thread.locked {
        return Err(ApiError::new(
            ErrorKind::ThreadLocked,
            "this thread is locked: its posts cannot be edited",
        ));
    }
    Ok(())
}

/// Deleting a post: its author while the thread is not locked, or a moderator. The first post is
/// the thread itself and goes with it.
pub fn can_delete_post(
    actor: &AuthUser,
    post: &PostRow,
    thread: &ThreadRow,
) -> Result<(), ApiError> {
    can_view_post(Some(actor), post, thread)?;
    if post.position == 1 {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "the first post is the thread itself: delete the thread instead",
        ));
    }
    if is_moderator(Some(actor)) {
        return Ok(());
    }
    if post.user_id != actor.id {
        return Err(ApiError::forbidden(
            "only the post's author or a moderator may delete it",
        ));
    }
    if thread.locked {
        return Err(ApiError::new(
            ErrorKind::ThreadLocked,
            "this thread is locked: its posts cannot be deleted",
        ));
    }
    Ok(())
}

/// Annotating a post: any signed-in member who can read it, on a live post in a thread that is
/// not locked (moderators also in locked threads).
pub fn can_annotate(actor: &AuthUser, post: &PostRow, thread: &ThreadRow) -> Result<(), ApiError> {
    can_view_post(Some(actor), post, thread)?;
    if post.is_deleted() {
        return Err(no_post(post.id));
    }
    if thread.locked && !is_moderator(Some(actor)) {
        return Err(ApiError::new(
            ErrorKind::ThreadLocked,
            "this thread is locked: it accepts no new annotations",
        ));
    }
    Ok(())
}

/// Seeing an annotation: whoever can read its post, and a private one only its author (moderators
/// included: private means private). Anything else is 404, never a hint that it exists.
pub fn can_view_annotation(
    viewer: Option<&AuthUser>,
    annotation: &AnnotationRow,
    post: &PostRow,
    thread: &ThreadRow,
) -> Result<(), ApiError> {
    can_view_post(viewer, post, thread).map_err(|_| no_annotation(annotation.id))?;
    if !annotation.visible_to(viewer.map(|v| v.id)) {
        return Err(no_annotation(annotation.id));
    }
    Ok(())
}

/// Editing an annotation: its author only.
pub fn can_edit_annotation(actor: &AuthUser, annotation: &AnnotationRow) -> Result<(), ApiError> {
    if annotation.user_id != actor.id {
        return Err(ApiError::forbidden(
            "only the annotation's author may edit it",
        ));
    }
    Ok(())
}

/// Deleting an annotation: its author, or a moderator.
pub fn can_delete_annotation(actor: &AuthUser, annotation: &AnnotationRow) -> Result<(), ApiError> {
    if annotation.user_id != actor.id && !is_moderator(Some(actor)) {
        return Err(ApiError::forbidden(
            "only the annotation's author or a moderator may delete it",
        ));
    }
    Ok(())
}

/// Reacting to a post: any signed-in member who can read it, except to their own posts.
pub fn can_react(actor: &AuthUser, post: &PostRow, thread: &ThreadRow) -> Result<(), ApiError> {
    can_view_post(Some(actor), post, thread)?;
    if post.is_deleted() {
        return Err(no_post(post.id));
    }
    if post.user_id == actor.id {
        return Err(ApiError::forbidden(
            "members cannot react to their own posts",
        ));
    }
    Ok(())
}

/// Removing an upload: its owner, while no post has shown it (a post's images stay with the post
/// and its earlier versions).
pub fn can_delete_attachment(
    actor: &AuthUser,
    attachment: &crate::attachments::db::AttachmentRow,
) -> Result<(), ApiError> {
    if attachment.user_id != actor.id {
        return Err(ApiError::forbidden(
            "only the member who uploaded an attachment may remove it",
        ));
    }
    if attachment.used {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "a post has shown this attachment: it stays with the post and its history",
        ));
    }
    Ok(())
}

/// Reading an upload (its data and its files): anyone when a post they may read shows it; its
/// owner always (to preview it before posting); a moderator when a post has shown it (a deleted
/// post's images). Otherwise it does not exist for the caller: uploads no post shows are private,
/// and ids are sequential.
pub fn can_view_attachment(
    actor: Option<&AuthUser>,
    attachment: &crate::attachments::db::AttachmentRow,
    shown_in_visible_post: bool,
) -> Result<(), ApiError> {
    if shown_in_visible_post
        || actor.is_some_and(|a| a.id == attachment.user_id)
        || (attachment.used && can_see_deleted(actor))
    {
        Ok(())
    } else {
        Err(ApiError::not_found(format!("attachment {}", attachment.id)))
    }
}

/// The attachments a post's Markdown may show: those its author uploaded (a moderator editing a
/// member's post keeps the member's images, and cannot show images of others). `not_owned` are
/// the referenced ids that are not the author's.
pub fn can_show_attachments(not_owned: &[i64]) -> Result<(), ApiError> {
    if not_owned.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = not_owned.iter().map(|id| id.to_string()).collect();
    Err(ApiError::invalid_field(
        "body",
        format!(
            "shows attachments that are not the author's uploads or do not exist: {}",
            ids.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: i64, role: Role) -> AuthUser {
        AuthUser {
            id,
            role,
            expires_at: 0,
        }
    }

    #[test]
    fn only_admins_administer_users() {
        assert!(can_administer_users(&actor(1, Role::Admin)).is_ok());
        assert!(can_administer_users(&actor(1, Role::Moderator)).is_err());
        assert!(can_administer_users(&actor(1, Role::Member)).is_err());
    }

    #[test]
    fn an_admin_cannot_change_their_own_role() {
        assert!(can_change_role_or_ban(&actor(1, Role::Admin), 2).is_ok());
        assert!(can_change_role_or_ban(&actor(1, Role::Admin), 1).is_err());
    }

    #[test]
    fn only_admins_manage_forums() {
        assert!(can_manage_forums(&actor(1, Role::Admin)).is_ok());
        assert!(can_manage_forums(&actor(1, Role::Moderator)).is_err());
    }
}
