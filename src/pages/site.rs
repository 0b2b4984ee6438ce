//! The site-wide blocks: members online (with guests), the latest posts with their threads, and
//! the forum's statistics. The same for every caller, so each process builds them at most once
//! every few seconds and serves the copy in between.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::users;
use crate::db::{now, utc, DbConn};
use crate::error::ApiError;
use crate::forums::db as forum_db;
use crate::posts::db as post_db;
use crate::presence::{online_members, OnlineMembers, OnlineSnapshot};
use crate::threads::db as thread_db;
use crate::threads::view::PrefixRef;
use crate::users::cards::{load_users, unknown_ref, UserRef};

/// How long a built copy of the blocks is served.
pub const FRESH_FOR: Duration = Duration::from_secs(5);

/// How many latest posts the block lists.
pub const LATEST_POSTS: i64 = 10;

/// How many members online the block names.
pub const ONLINE_NAMED: usize = 50;

/// One of the latest posts, with where it sits.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"post_id": 146, "thread_id": 9, "thread_title": "China-Russia Strategic Partners",
    "prefix": {"id": 1, "label": "🇨🇳"}, "forum_id": 2, "forum_title": "Chinese Defense",
    "author": {"id": 2, "username": "lin_wei", "display_name": "Lin Wei"}, "posted_at": "2025-07-16T10:00:00Z"}))]
pub struct LatestPost {
    pub post_id: i64,
    pub thread_id: i64,
    pub thread_title: String,
    #[schema(required = true)]
    pub prefix: Option<PrefixRef>,
    pub forum_id: i64,
    pub forum_title: String,
    pub author: UserRef,
    pub posted_at: DateTime<Utc>,
}

/// The forum's statistics.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"threads": 1204, "posts": 48213, "members": 2210,
    "newest_member": {"id": 2210, "username": "mei", "display_name": null}}))]
pub struct ForumStatistics {
    /// Visible threads in all forums.
    pub threads: i64,
    /// Visible posts in visible threads.
    pub posts: i64,
    /// Members whose accounts are active.
    pub members: i64,
    #[schema(required = true)]
    pub newest_member: Option<UserRef>,
}

/// The site-wide blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct SiteBlocks {
    /// Members online within the server's window (`GLOSS_ONLINE_WINDOW`), with the guest count.
    pub online: OnlineMembers,
    /// The newest posts, newest first (at most 10).
    pub latest_posts: Vec<LatestPost>,
    pub statistics: ForumStatistics,
    /// When these blocks were built (they are served for up to 5 seconds).
    pub generated_at: DateTime<Utc>,
}

/// The last built blocks of this process, as the JSON sent (a copy is a reference count).
#[derive(Debug, Default)]
pub struct SiteCache {
    built: Mutex<Option<(Instant, Bytes)>>,
    /// Held by the one request that rebuilds an expired copy: the others wait for it instead of
    /// all rebuilding at once.
    rebuilding: tokio::sync::Mutex<()>,
}

impl SiteCache {
    /// The lock of the request that rebuilds the blocks.
    pub fn rebuilding(&self) -> &tokio::sync::Mutex<()> {
        &self.rebuilding
    }

    /// The blocks built less than `FRESH_FOR` ago, if any.
    pub fn fresh(&self) -> Option<Bytes> {
        let built = self.built.lock().ok()?;
        built
            .as_ref()
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, b)| b.clone())
    }

    /// Keeps newly built blocks.
    pub fn keep(&self, blocks: Bytes) {
        if let Ok(mut built) = self.built.lock() {
            *built = Some((Instant::now(), blocks));
        }
    }
}

/// Builds the blocks.
pub fn assemble(conn: &mut DbConn, snapshot: &OnlineSnapshot) -> Result<SiteBlocks, ApiError> {
    let online = online_members(conn, snapshot, ONLINE_NAMED)?;
    let heads = post_db::latest_heads(conn, LATEST_POSTS)?;
    let thread_ids: Vec<i64> = heads.iter().map(|h| h.thread_id).collect();
    let threads: HashMap<i64, thread_db::ThreadRow> = thread_db::find_many(conn, &thread_ids)?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    let prefix_ids: Vec<i64> = threads.values().filter_map(|t| t.prefix_id).collect();
    let prefixes: HashMap<i64, String> = forum_db::prefixes_by_id(conn, &prefix_ids)?
        .into_iter()
        .map(|p| (p.id, p.label))
        .collect();
    let forums = forum_db::list_all(conn)?;
    let newest = users::table
        .filter(users::disabled.eq(false))
        .order(users::id.desc())
        .select(users::id)
        .first::<i64>(conn)
        .optional()?;
    let mut user_ids: Vec<i64> = heads.iter().map(|h| h.user_id).collect();
    user_ids.extend(newest);
    let people = load_users(conn, &user_ids)?;
    let user_ref = |id: i64| {
        people
            .get(&id)
            .map(UserRef::from)
            .unwrap_or_else(|| unknown_ref(id))
    };
    let latest_posts = heads
        .iter()
        .filter_map(|h| {
            let t = threads.get(&h.thread_id)?;
            Some(LatestPost {
                post_id: h.id,
                thread_id: t.id,
                thread_title: t.title.clone(),
                prefix: t.prefix_id.and_then(|p| {
                    prefixes.get(&p).map(|label| PrefixRef {
                        id: p,
                        label: label.clone(),
                    })
                }),
                forum_id: t.forum_id,
                forum_title: forums
                    .iter()
                    .find(|f| f.id == t.forum_id)
                    .map(|f| f.title.clone())
                    .unwrap_or_default(),
                author: user_ref(h.user_id),
                posted_at: utc(h.created_at),
            })
        })
        .collect();
    let members = users::table
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)?;
    // the forums' counters are kept exact with every change; categories hold no threads
    let (threads_total, posts_total) = forums
        .iter()
        .filter(|f| f.kind == "forum")
        .fold((0, 0), |(t, p), f| (t + f.thread_count, p + f.post_count));
    Ok(SiteBlocks {
        online,
        latest_posts,
        statistics: ForumStatistics {
            threads: threads_total,
            posts: posts_total,
            members,
            newest_member: newest.map(user_ref),
        },
        generated_at: utc(now()),
    })
}
