//! The thread page: everything the seed's thread page shows about the thread, in one answer.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use utoipa::ToSchema;

use super::cache::{BuiltPage, PageCache};
use crate::annotations::db as annotation_db;
use crate::posts::view::heat_map;
use crate::profiles::db as profile_db;
use crate::reactions::db as reaction_db;
use crate::threads::view::set_reading;

use crate::auth::AuthUser;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::forums::db::{self as forum_db, ForumRow};
use crate::forums::fields::{FieldType, FieldValue};
use crate::forums::view::ForumKind;
use crate::pagination::{Page, PageRequest};
use crate::policy;
use crate::posts::db as post_db;
use crate::posts::lookup::thread_or_404;
use crate::posts::view::{build_posts, Post};
use crate::threads::db as thread_db;
use crate::threads::view::{build_threads, Thread};
use crate::users::db as user_db;
use crate::watching::db as watch_db;

/// How many threads the side blocks ("More threads by", "Posts you haven't read yet") list.
pub const SIDE_BLOCK_SIZE: i64 = 5;

/// One step of the way from the top of the forum tree to the thread's forum.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 2, "kind": "forum", "title": "Chinese Defense", "slug": "chinese-defense"}))]
pub struct Crumb {
    pub id: i64,
    pub kind: ForumKind,
    pub title: String,
    pub slug: String,
}

/// A custom field value with what a reader needs to show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"key": "date_of_event", "label": "Date of Event", "field_type": "date", "value": "2025-07-16"}))]
pub struct LabelledField {
    pub key: String,
    pub label: String,
    pub field_type: FieldType,
    pub value: FieldValue,
}

/// The thread page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ThreadPage {
    /// The thread, with the caller's reading and watching state (`reading`, `null` for guests).
    pub thread: Thread,
    /// From the top category down to the thread's forum.
    pub breadcrumb: Vec<Crumb>,
    /// The thread's custom field values, in the forum's field order, with labels and types.
    pub fields: Vec<LabelledField>,
    /// The page of posts asked for, with author cards, Analyze Post counts, heat maps and
    /// reactions (the caller's own among them).
    pub posts: Page<Post>,
    /// "More threads by" the thread's author: their newest other threads (at most 5).
    pub more_by_author: Vec<Thread>,
    /// "Posts you haven't read yet": the caller's newest unread threads (at most 5); `null` for
    /// guests.
    #[schema(required = true)]
    pub unread: Option<Vec<Thread>>,
}

/// The trail from the top of the tree to `forum_id`.
fn breadcrumb(all: &[ForumRow], forum_id: i64) -> Vec<Crumb> {
    let mut trail = Vec::new();
    let mut next = Some(forum_id);
    // the tree has no cycles, but a bound costs nothing
    while let Some(id) = next.filter(|_| trail.len() < 32) {
        let Some(f) = all.iter().find(|f| f.id == id) else {
            break;
        };
        trail.push(Crumb {
            id: f.id,
            kind: ForumKind::parse(&f.kind),
            title: f.title.clone(),
            slug: f.slug.clone(),
        });
        next = f.parent_id;
    }
    trail.reverse();
    trail
}

/// Assembles the thread page `page` of thread `id` for `viewer`. `pending_views` adds the views
/// not yet written.
pub fn assemble(
    conn: &mut DbConn,
    viewer: Option<&AuthUser>,
    id: i64,
    page: PageRequest,
    unread_days: i64,
    pending_views: impl Fn(i64) -> i64,
) -> Result<ThreadPage, ApiError> {
    let row = thread_or_404(conn, id)?;
    policy::can_view_thread(viewer, &row)?;
    let forums = forum_db::list_all(conn)?;
    let defs = forum_db::fields(conn, row.forum_id)?;
    // the thread and the side blocks' threads are built together: one set of queries for all
    let mine = thread_db::newest_by_user(conn, row.user_id, SIDE_BLOCK_SIZE + 1)?;
    let more: Vec<_> = mine
        .into_iter()
        .filter(|t| t.id != id)
        .take(SIDE_BLOCK_SIZE as usize)
        .collect();
    let unread = match viewer {
        Some(v) => Some(unread_block(conn, v.id, unread_days)?),
        None => None,
    };
    let mut rows = vec![row.clone()];
    rows.extend(more.iter().cloned());
    rows.extend(unread.iter().flatten().cloned());
    let mut built = build_threads(conn, &rows, viewer, pending_views)?.into_iter();
    let thread = built
        .next()
        .ok_or_else(|| ApiError::internal("thread vanished while being read"))?;
    let more_by_author: Vec<Thread> = built.by_ref().take(more.len()).collect();
    let unread = unread.map(|_| built.collect::<Vec<Thread>>());

    let fields = defs
        .iter()
        .filter_map(|d| {
            let value = thread.fields.get(&d.key)?;
            Some(LabelledField {
                key: d.key.clone(),
                label: d.label.clone(),
                field_type: FieldType::parse(&d.field_type)?,
                value: value.clone(),
            })
        })
        .collect();
    let from = page.offset() + 1;
    let posts = post_db::range(conn, id, from, from + page.limit() - 1)?;
    let posts = page.page(build_posts(conn, posts, viewer)?, row.last_position);
    Ok(ThreadPage {
        breadcrumb: breadcrumb(&forums, row.forum_id),
        thread,
        fields,
        posts,
        more_by_author,
        unread,
    })
}

/// The thread page for `viewer`, from the kept guest page while it is current (two primary-key
/// reads decide), with what is the viewer's own added: their reading state, their reactions,
/// their private annotations and their unread threads. Moderators, who see deleted posts, get a
/// page built for them.
pub fn serve(
    conn: &mut DbConn,
    cache: &PageCache,
    viewer: Option<&AuthUser>,
    id: i64,
    page: PageRequest,
    unread_days: i64,
    pending_views: impl Fn(i64) -> i64,
) -> Result<ThreadPage, ApiError> {
    if policy::can_see_deleted(viewer) {
        return assemble(conn, viewer, id, page, unread_days, pending_views);
    }
    let (page_version, view_count, deleted) =
        thread_db::page_state(conn, id)?.ok_or_else(|| policy::no_thread(id))?;
    if deleted {
        return Err(policy::no_thread(id));
    }
    let versions = (page_version, thread_db::site_version(conn)?);
    let key = (id, page.page, page.per_page);
    let built = match cache.get(key, versions) {
        Some(built) => built,
        None => {
            // read after the versions: what is built is at least as new as what it is kept for
            let built = Arc::new(BuiltPage {
                page: assemble(conn, None, id, page, unread_days, |_| 0)?,
                versions,
                ladder: profile_db::ranks(conn)?,
                built_at: Instant::now(),
            });
            cache.put(key, built.clone());
            built
        }
    };
    let mut out = built.page.clone();
    out.thread.view_count = view_count + pending_views(id);
    for t in &mut out.more_by_author {
        t.view_count += pending_views(t.id);
    }
    refresh_cards(conn, &mut out, &built.ladder)?;
    if let Some(member) = viewer {
        personalize(conn, member, &mut out, unread_days, &pending_views)?;
    }
    Ok(out)
}

/// Author cards with the message counts and reaction scores of now (they change with every post
/// anywhere, so they are read with each page, in one query) and the rank that goes with them.
fn refresh_cards(
    conn: &mut DbConn,
    page: &mut ThreadPage,
    ladder: &[(i64, String)],
) -> Result<(), ApiError> {
    let ids: Vec<i64> = page.posts.items.iter().map(|p| p.author.id).collect();
    let fresh: std::collections::HashMap<i64, (i64, i64)> = user_db::card_counters(conn, &ids)?
        .into_iter()
        .map(|(id, messages, score)| (id, (messages, score)))
        .collect();
    for p in &mut page.posts.items {
        if let Some(&(messages, score)) = fresh.get(&p.author.id) {
            p.author.message_count = messages;
            p.author.reaction_score = score;
            p.author.rank_title = profile_db::rank_for(ladder, messages);
        }
    }
    Ok(())
}

/// Adds to a guest's page what is `member`'s own.
fn personalize(
    conn: &mut DbConn,
    member: &AuthUser,
    page: &mut ThreadPage,
    unread_days: i64,
    pending_views: &impl Fn(i64) -> i64,
) -> Result<(), ApiError> {
    {
        let mut threads: Vec<&mut Thread> = std::iter::once(&mut page.thread)
            .chain(page.more_by_author.iter_mut())
            .collect();
        set_reading(conn, member.id, &mut threads)?;
    }
    let post_ids: Vec<i64> = page.posts.items.iter().map(|p| p.id).collect();
    for (post_id, kind) in reaction_db::given_by(conn, &post_ids, member.id)? {
        if let Some(p) = page.posts.items.iter_mut().find(|p| p.id == post_id) {
            for r in p.reactions.iter_mut().filter(|r| r.kind == kind) {
                r.reacted = true;
            }
        }
    }
    // the member's private annotations count and mark their posts, for them alone
    let private = annotation_db::posts_with_private_marks(conn, &post_ids, member.id)?;
    if !private.is_empty() {
        let marks = annotation_db::marks_for_posts(conn, &private, Some(member.id))?;
        for p in page
            .posts
            .items
            .iter_mut()
            .filter(|p| private.contains(&p.id))
        {
            let Some(text) = &p.body_text else { continue };
            let mine: Vec<&annotation_db::Mark> =
                marks.iter().filter(|m| m.post_id == p.id).collect();
            p.annotation_count = mine.len() as i64;
            p.highlights = heat_map(&mine, text);
        }
    }
    let rows = unread_block(conn, member.id, unread_days)?;
    page.unread = Some(build_threads(conn, &rows, Some(member), pending_views)?);
    Ok(())
}

/// The member's newest unread threads for the side block (no total counted).
fn unread_block(
    conn: &mut DbConn,
    member: i64,
    unread_days: i64,
) -> Result<Vec<crate::threads::db::ThreadRow>, ApiError> {
    let me = user_db::require_active(conn, member)?;
    let since = watch_db::unread_since(me.created_at, unread_days);
    Ok(watch_db::unread_threads(conn, member, since, 0, SIDE_BLOCK_SIZE, false)?.0)
}
