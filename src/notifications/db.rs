//! Notifications in the database, and the functions that create them inside the transaction of
//! the event that causes them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use crate::annotations::db::AnnotationRow;
use crate::db::schema::{forum_watches, notifications, posts, thread_watches, threads, users};
use crate::db::{dialect_sql, now, DbConn, MultiBackend};
use crate::posts::db::PostRow;
use crate::stream::db as stream_db;
use crate::threads::db::ThreadRow;

/// What a notification is about.
pub mod kind {
    pub const REPLY: &str = "reply";
    pub const NEW_THREAD: &str = "new_thread";
    pub const MENTION: &str = "mention";
    pub const CITATION: &str = "citation";
    pub const ANNOTATION: &str = "annotation";
    pub const ANNOTATION_REPLY: &str = "annotation_reply";
    pub const REACTION: &str = "reaction";
}

/// What a notification is about, as clients see it (a closed set: stored as the names in
/// [`kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A reply in a watched thread.
    Reply,
    /// A new thread in a watched forum.
    NewThread,
    /// The member was mentioned.
    Mention,
    /// The member's post was cited.
    Citation,
    /// The member's post was annotated.
    Annotation,
    /// The member's annotation was replied to.
    AnnotationReply,
    /// The member's post got a reaction.
    Reaction,
}

impl NotificationKind {
    /// The kind a stored name stands for.
    pub fn parse(stored: &str) -> Option<NotificationKind> {
        Some(match stored {
            kind::REPLY => NotificationKind::Reply,
            kind::NEW_THREAD => NotificationKind::NewThread,
            kind::MENTION => NotificationKind::Mention,
            kind::CITATION => NotificationKind::Citation,
            kind::ANNOTATION => NotificationKind::Annotation,
            kind::ANNOTATION_REPLY => NotificationKind::AnnotationReply,
            kind::REACTION => NotificationKind::Reaction,
            _ => return None,
        })
    }
}

/// A row of `notifications`.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub actor_id: Option<i64>,
    pub thread_id: Option<i64>,
    pub post_id: Option<i64>,
    pub annotation_id: Option<i64>,
    pub dedupe_key: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
    /// How many events this notification stands for (coalesced while unread).
    pub count: i64,
}

/// What happened, for whom to be told.
pub struct Event<'a> {
    pub kind: &'a str,
    pub actor_id: i64,
    pub thread_id: Option<i64>,
    pub post_id: Option<i64>,
    pub annotation_id: Option<i64>,
    /// One notification per recipient and key: the first kind recorded for an event wins.
    pub dedupe_key: String,
}

#[derive(QueryableByName)]
struct Inserted {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Kinds that coalesce: while a recipient has an unread one about a post, another event of the
/// kind on that post adds to its `count` (and names the latest actor) instead of a new row.
const COALESCING: &[&str] = &[kind::ANNOTATION, kind::REACTION];

/// Adds `event` to the recipient's unread notification of the same kind on the same post, if
/// there is one; its id, when there was.
fn coalesce(
    conn: &mut DbConn,
    recipient: i64,
    event: &Event,
    t: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    let Some(post_id) = event.post_id else {
        return Ok(None);
    };
    if !COALESCING.contains(&event.kind) {
        return Ok(None);
    }
    let sql = dialect_sql(
        conn,
        "UPDATE notifications SET count = count + 1, actor_id = $3, annotation_id = $4, created_at = $5 \
         WHERE id = (SELECT id FROM notifications WHERE user_id = $1 AND kind = $2 AND post_id = $6 \
         AND read_at IS NULL ORDER BY id DESC LIMIT 1) RETURNING id",
    );
    let updated: Vec<Inserted> = diesel::sql_query(sql)
        .bind::<BigInt, _>(recipient)
        .bind::<Text, _>(event.kind)
        .bind::<Nullable<BigInt>, _>(Some(event.actor_id))
        .bind::<Nullable<BigInt>, _>(event.annotation_id)
        .bind::<Timestamp, _>(t)
        .bind::<BigInt, _>(post_id)
        .get_results(conn)?;
    Ok(updated.first().map(|r| r.id))
}

/// Tells `recipients` about `event`, skipping the actor and anyone already told about the same
/// event; each notification also goes to the recipient's live stream. Annotations and reactions
/// on one post coalesce into one unread notification per recipient.
pub fn notify(conn: &mut DbConn, recipients: &[i64], event: &Event) -> QueryResult<usize> {
    let sql = dialect_sql(
        conn,
        "INSERT INTO notifications (user_id, kind, actor_id, thread_id, post_id, annotation_id, dedupe_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (user_id, dedupe_key) DO NOTHING RETURNING id",
    );
    let t = now();
    let mut sent = 0;
    let mut seen = Vec::new();
    for &r in recipients {
        if r == event.actor_id || seen.contains(&r) {
            continue;
        }
        seen.push(r);
        if let Some(id) = coalesce(conn, r, event, t)? {
            sent += 1;
            let data = serde_json::json!({
                "id": id, "kind": event.kind, "actor_id": event.actor_id, "thread_id": event.thread_id,
                "post_id": event.post_id, "annotation_id": event.annotation_id,
            });
            stream_db::push(conn, r, "notification", &data)?;
            continue;
        }
        let inserted: Vec<Inserted> = diesel::sql_query(&sql)
            .bind::<BigInt, _>(r)
            .bind::<Text, _>(event.kind)
            .bind::<Nullable<BigInt>, _>(Some(event.actor_id))
            .bind::<Nullable<BigInt>, _>(event.thread_id)
            .bind::<Nullable<BigInt>, _>(event.post_id)
            .bind::<Nullable<BigInt>, _>(event.annotation_id)
            .bind::<Text, _>(&event.dedupe_key)
            .bind::<Timestamp, _>(t)
            .get_results(conn)?;
        for row in inserted {
            sent += 1;
            let data = serde_json::json!({
                "id": row.id, "kind": event.kind, "actor_id": event.actor_id, "thread_id": event.thread_id,
                "post_id": event.post_id, "annotation_id": event.annotation_id,
            });
            stream_db::push(conn, r, "notification", &data)?;
        }
    }
    Ok(sent)
}

/// The usernames mentioned as `@name` in a text (at most 20).
pub fn mentions(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<String> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if c != '@' || (i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')) {
            continue;
        }
        let name: String = chars[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .collect();
        let name = name.trim_end_matches(['.', '-']).to_lowercase();
        if (3..=32).contains(&name.len()) && !out.contains(&name) {
            out.push(name);
        }
        if out.len() == 20 {
            break;
        }
    }
    out
}

fn user_ids_named(conn: &mut DbConn, names: &[String]) -> QueryResult<Vec<i64>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    users::table
        .filter(users::username_key.eq_any(names.to_vec()))
        .select(users::id)
        .load(conn)
}

/// A new reply: mentioned members, then cited authors, then watchers of the thread.
pub fn notify_new_post(
    conn: &mut DbConn,
    thread: &ThreadRow,
    post: &PostRow,
    cited_authors: &[i64],
    new_thread: bool,
) -> QueryResult<()> {
    let key = format!("post:{}", post.id);
    let event = |kind| Event {
        kind,
        actor_id: post.user_id,
        thread_id: Some(thread.id),
        post_id: Some(post.id),
        annotation_id: None,
        dedupe_key: key.clone(),
    };
    let mentioned = user_ids_named(conn, &mentions(&post.body_text))?;
    notify(conn, &mentioned, &event(kind::MENTION))?;
    notify(conn, cited_authors, &event(kind::CITATION))?;
    if new_thread {
        let watchers: Vec<i64> = forum_watches::table
            .filter(forum_watches::forum_id.eq(thread.forum_id))
            .select(forum_watches::user_id)
            .load(conn)?;
        notify(conn, &watchers, &event(kind::NEW_THREAD))?;
    } else {
        let watchers: Vec<i64> = thread_watches::table
            .filter(thread_watches::thread_id.eq(thread.id))
            .select(thread_watches::user_id)
            .load(conn)?;
        notify(conn, &watchers, &event(kind::REPLY))?;
        // the new post itself goes to every watcher's live stream
        let data = serde_json::json!({
            "thread_id": thread.id, "post_id": post.id, "position": post.position, "author_id": post.user_id,
        });
        for w in watchers.into_iter().filter(|w| *w != post.user_id) {
            stream_db::push(conn, w, "post", &data)?;
        }
    }
    Ok(())
}

/// A new public annotation (or reply to one): mentioned members, the post's author (or, for a
/// reply, the annotated annotation's author). Private annotations tell nobody.
pub fn notify_annotation(
    conn: &mut DbConn,
    annotation: &AnnotationRow,
    post: &PostRow,
    parent: Option<&AnnotationRow>,
) -> QueryResult<()> {
    if annotation.visibility != "public" {
        return Ok(());
    }
    let event = |kind| Event {
        kind,
        actor_id: annotation.user_id,
        thread_id: Some(post.thread_id),
        post_id: Some(post.id),
        annotation_id: Some(annotation.id),
        dedupe_key: format!("annotation:{}", annotation.id),
    };
    let mentioned = user_ids_named(conn, &mentions(annotation.body.as_deref().unwrap_or("")))?;
    notify(conn, &mentioned, &event(kind::MENTION))?;
    match parent {
        Some(p) => notify(conn, &[p.user_id], &event(kind::ANNOTATION_REPLY))?,
        None => notify(conn, &[post.user_id], &event(kind::ANNOTATION))?,
    };
    Ok(())
}

/// A reaction to a post tells its author (once per member, post and kind).
pub fn notify_reaction(
    conn: &mut DbConn,
    post: &PostRow,
    actor_id: i64,
    kind_key: &str,
) -> QueryResult<()> {
    notify(
        conn,
        &[post.user_id],
        &Event {
            kind: kind::REACTION,
            actor_id,
            thread_id: Some(post.thread_id),
            post_id: Some(post.id),
            annotation_id: None,
            dedupe_key: format!("reaction:{}:{kind_key}:{actor_id}", post.id),
        },
    )
    .map(|_| ())
}

/// A member's notifications that are still about something they may see (none about a deleted
/// post or thread), newest first, before a cursor; with the total of unread ones when asked.
macro_rules! visible_notifications {
    ($user_id:expr) => {
        notifications::table
            .left_join(posts::table.on(posts::id.nullable().eq(notifications::post_id)))
            .left_join(threads::table.on(threads::id.nullable().eq(notifications::thread_id)))
            .filter(notifications::user_id.eq($user_id))
            .filter(posts::deleted_at.is_null())
            .filter(threads::deleted_at.is_null())
    };
}

/// A member's visible notifications, newest first, before a cursor.
pub fn list(
    conn: &mut DbConn,
    user_id: i64,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<(NotificationRow, Option<String>)>> {
    let mut q = visible_notifications!(user_id).into_boxed::<MultiBackend>();
    if let Some(b) = before {
        q = q.filter(notifications::id.lt(b));
    }
    q.order(notifications::id.desc())
        .limit(limit)
        .select((NotificationRow::as_select(), threads::title.nullable()))
        .load(conn)
}

/// Some of a member's visible notifications, by id (those the live stream announces).
pub fn by_ids(
    conn: &mut DbConn,
    user_id: i64,
    ids: &[i64],
) -> QueryResult<Vec<(NotificationRow, Option<String>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    visible_notifications!(user_id)
        .filter(notifications::id.eq_any(ids.to_vec()))
        .select((NotificationRow::as_select(), threads::title.nullable()))
        .load(conn)
}

/// How many of a member's visible notifications are unread.
pub fn unread_count(conn: &mut DbConn, user_id: i64) -> QueryResult<i64> {
    visible_notifications!(user_id)
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)
}

/// Marks one notification read; false when it is not the member's.
pub fn mark_read(conn: &mut DbConn, user_id: i64, id: i64) -> QueryResult<bool> {
    let owner: Option<i64> = notifications::table
        .find(id)
        .select(notifications::user_id)
        .first(conn)
        .optional()?;
    if owner != Some(user_id) {
        return Ok(false);
    }
    diesel::update(
        notifications::table
            .find(id)
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(Some(now())))
    .execute(conn)?;
    Ok(true)
}

/// Marks every notification of a member read.
pub fn mark_all_read(conn: &mut DbConn, user_id: i64) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user_id))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(Some(now())))
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use super::mentions;

    #[test]
    fn mentions_are_found_once_and_not_in_emails() {
        assert_eq!(
            mentions("Hi @Saif and @lin_wei, cc @saif. Mail me: a@b.org"),
            vec!["saif", "lin_wei"]
        );
        assert_eq!(mentions("@ab too short, @mikhail."), vec!["mikhail"]);
    }
}
