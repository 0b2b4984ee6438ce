//! The small views of a member that other resources embed: a reference (`UserRef`) and the author
//! card shown beside every post (`AuthorCard`), loaded for a whole page in one query.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::db::User;
use super::http::utc;
use super::Role;
use crate::db::schema::users;
use crate::db::{DbConn, MultiBackend};

/// A member, as named inside another resource.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "username": "saif", "display_name": "Saif"}))]
pub struct UserRef {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
}

impl From<&User> for UserRef {
    fn from(u: &User) -> Self {
        UserRef {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
        }
    }
}

/// The author card shown with every post.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "username": "saif", "display_name": "Saif", "avatar_url": null,
    "role": "member", "rank_title": "Senior Member", "joined_at": "2024-01-24T09:30:00Z",
    "message_count": 16995, "reaction_score": 8155}))]
pub struct AuthorCard {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub role: Role,
    /// The rank earned by message count (e.g. "Senior Member").
    pub rank_title: String,
    pub joined_at: DateTime<Utc>,
    /// Visible posts written.
    pub message_count: i64,
    /// Reactions received on their posts.
    pub reaction_score: i64,
}

/// The default rank ladder: the title of the highest rung whose message count is reached.
const RANKS: &[(i64, &str)] = &[(0, "New Member"), (100, "Member"), (1000, "Senior Member")];

/// The rank title for a message count.
pub fn rank_title(message_count: i64) -> &'static str {
    RANKS
        .iter()
        .rev()
        .find(|(min, _)| message_count >= *min)
        .map(|(_, t)| *t)
        .unwrap_or("New Member")
}

impl From<&User> for AuthorCard {
    fn from(u: &User) -> Self {
        AuthorCard {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            avatar_url: u.avatar_url.clone(),
            role: u.role(),
            rank_title: rank_title(u.message_count).to_string(),
            joined_at: utc(u.created_at),
            message_count: u.message_count,
            reaction_score: u.reaction_score,
        }
    }
}

/// The users with these ids, in one query, by id.
pub fn load_users(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, User>> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<User> = users::table
        .filter(users::id.eq_any(ids))
        .select(<User as Selectable<MultiBackend>>::construct_selection())
        .load(conn)?;
    Ok(rows.into_iter().map(|u| (u.id, u)).collect())
}

/// A placeholder for a member whose account no longer exists.
pub fn unknown_ref(id: i64) -> UserRef {
    UserRef {
        id,
        username: "[deleted]".into(),
        display_name: None,
    }
}
