//! Reactions as posts show them: shared by the post views and the reaction endpoints.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::db as reaction_db;
use crate::db::DbConn;
use crate::error::ApiError;

/// How often a post got one kind of reaction.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"kind": "like", "emoji": "👍", "count": 12, "reacted": true}))]
pub struct ReactionCount {
    pub kind: String,
    pub emoji: String,
    pub count: i64,
    /// Whether the caller gave this reaction.
    pub reacted: bool,
}

/// Reaction counts of these posts for `viewer`, in kind order (two queries for any number of posts).
pub fn reactions_for(
    conn: &mut DbConn,
    post_ids: &[i64],
    viewer: Option<i64>,
) -> Result<HashMap<i64, Vec<ReactionCount>>, ApiError> {
    let kinds = reaction_db::kinds(conn)?;
    reactions_of_kinds(conn, &kinds, post_ids, viewer)
}

/// As [`reactions_for`], with the kinds already read.
pub fn reactions_of_kinds(
    conn: &mut DbConn,
    kinds: &[reaction_db::KindRow],
    post_ids: &[i64],
    viewer: Option<i64>,
) -> Result<HashMap<i64, Vec<ReactionCount>>, ApiError> {
    let (counts, mine) = reaction_db::summary(conn, post_ids, viewer)?;
    let mut out: HashMap<i64, Vec<ReactionCount>> = HashMap::new();
    for &p in post_ids {
        let list = kinds
            .iter()
            .filter_map(|k| {
                counts.get(&(p, k.id)).map(|&count| ReactionCount {
                    kind: k.key.clone(),
                    emoji: k.emoji.clone(),
                    count,
                    reacted: mine.contains(&(p, k.id)),
                })
            })
            .collect();
        out.insert(p, list);
    }
    Ok(out)
}
