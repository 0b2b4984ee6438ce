//! A forum or category as the API shows it, with its last post, built from rows in a fixed number
//! of queries. Used by the forum endpoints and by the lists of watched forums.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::db::ForumRow;
use crate::db::utc;
use crate::db::DbConn;
use crate::error::ApiError;
use crate::threads::db as thread_db;
use crate::users::cards::{load_users, unknown_ref, UserRef};

/// Whether a node holds forums (a category) or threads (a forum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ForumKind {
    /// Groups forums; holds no threads.
    Category,
    /// Holds threads.
    Forum,
}

impl ForumKind {
    /// The stored name of the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ForumKind::Category => "category",
            ForumKind::Forum => "forum",
        }
    }

    /// Reads a stored kind (anything but `category` is a forum).
    pub fn parse(s: &str) -> ForumKind {
        if s == "category" {
            ForumKind::Category
        } else {
            ForumKind::Forum
        }
    }
}

/// The latest post of a forum.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ForumLastPost {
    pub post_id: i64,
    pub thread_id: i64,
    #[schema(example = "China-Russia Strategic Partners")]
    pub thread_title: String,
    pub author: UserRef,
    pub posted_at: DateTime<Utc>,
}

/// A category or forum, with its children when listed as a tree.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 2, "parent_id": 1, "kind": "forum", "title": "Chinese Defense", "slug": "chinese-defense",
    "description": "PLA, its doctrine and equipment.", "position": 0, "thread_count": 12, "post_count": 146,
    "last_post": {"post_id": 146, "thread_id": 9, "thread_title": "China-Russia Strategic Partners",
                  "author": {"id": 1, "username": "saif", "display_name": "Saif"}, "posted_at": "2025-07-16T10:00:00Z"},
    "children": []}))]
pub struct Forum {
    pub id: i64,
    /// The category or forum this one sits in; `null` at the top.
    #[schema(required = true)]
    pub parent_id: Option<i64>,
    pub kind: ForumKind,
    pub title: String,
    pub slug: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// Order among its siblings (ascending).
    pub position: i32,
    /// Visible threads (for a category, of the forums below it).
    pub thread_count: i64,
    /// Visible posts in visible threads (for a category, of the forums below it).
    pub post_count: i64,
    #[schema(required = true)]
    pub last_post: Option<ForumLastPost>,
    /// Sub-forums, in order (always empty in responses that are not trees).
    #[schema(no_recursion)]
    pub children: Vec<Forum>,
}

/// Builds API forums from rows, with last-post threads and authors loaded in two queries.
pub fn build_forums(conn: &mut DbConn, rows: &[ForumRow]) -> Result<Vec<Forum>, ApiError> {
    let thread_ids: Vec<i64> = rows.iter().filter_map(|f| f.last_thread_id).collect();
    let user_ids: Vec<i64> = rows.iter().filter_map(|f| f.last_post_user_id).collect();
    let titles: HashMap<i64, String> = thread_db::find_many(conn, &thread_ids)?
        .into_iter()
        .map(|t| (t.id, t.title))
        .collect();
    let users = load_users(conn, &user_ids)?;
    Ok(rows
        .iter()
        .map(|f| Forum {
            id: f.id,
            parent_id: f.parent_id,
            kind: ForumKind::parse(&f.kind),
            title: f.title.clone(),
            slug: f.slug.clone(),
            description: f.description.clone(),
            position: f.position,
            thread_count: f.thread_count,
            post_count: f.post_count,
            last_post: match (f.last_post_id, f.last_thread_id, f.last_post_at) {
                (Some(post_id), Some(thread_id), Some(at)) => Some(ForumLastPost {
                    post_id,
                    thread_id,
                    thread_title: titles.get(&thread_id).cloned().unwrap_or_default(),
                    author: f
                        .last_post_user_id
                        .and_then(|u| users.get(&u))
                        .map(UserRef::from)
                        .unwrap_or_else(|| unknown_ref(f.last_post_user_id.unwrap_or(0))),
                    posted_at: utc(at),
                }),
                _ => None,
            },
            children: Vec::new(),
        })
        .collect())
}

/// Nests a flat, ordered list of forums into a tree; a category carries the sums of the forums
/// below it (threads, posts) and the latest of their last posts.
pub fn into_tree(flat: Vec<Forum>) -> Vec<Forum> {
    let mut by_parent: HashMap<Option<i64>, Vec<Forum>> = HashMap::new();
    for f in flat {
        by_parent.entry(f.parent_id).or_default().push(f);
    }
    fn attach(
        parent: Option<i64>,
        by_parent: &mut HashMap<Option<i64>, Vec<Forum>>,
        depth: usize,
    ) -> Vec<Forum> {
        let mut nodes = by_parent.remove(&parent).unwrap_or_default();
        if depth < 16 {
            for n in &mut nodes {
                n.children = attach(Some(n.id), by_parent, depth + 1);
                if n.kind == ForumKind::Category {
                    // a category holds no threads of its own
                    n.thread_count = n.children.iter().map(|c| c.thread_count).sum();
                    n.post_count = n.children.iter().map(|c| c.post_count).sum();
                    n.last_post = n
                        .children
                        .iter()
                        .filter_map(|c| c.last_post.clone())
                        .max_by_key(|p| (p.posted_at, p.post_id));
                }
            }
        }
        nodes
    }
    attach(None, &mut by_parent, 0)
}
