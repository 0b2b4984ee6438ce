//! The small views of a member that other resources embed: a reference (`UserRef`) and the author
//! card shown beside every post (`AuthorCard`), loaded for a whole page in one query.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::db::User;
use super::Role;
use crate::db::schema::users;
use crate::db::utc;
use crate::db::{DbConn, MultiBackend};
use crate::profiles::db as profile_db;

/// A member, as named inside another resource.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "username": "saif", "display_name": "Saif"}))]
pub struct UserRef {
    pub id: i64,
    pub username: String,
    #[schema(required = true)]
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
#[schema(example = json!({"id": 1, "username": "saif", "display_name": "Saif", "avatar_url": null, "avatars": null,
    "role": "member", "rank_title": "Senior Member", "joined_at": "2024-01-24T09:30:00Z",
    "message_count": 16995, "reaction_score": 8155,
    "groups": [{"id": 1, "name": "Axis Group", "badge": "Axis Group"}], "profile": [{"key": "nation", "label": "Nation", "value": "CN"}]}))]
pub struct AuthorCard {
    pub id: i64,
    pub username: String,
    #[schema(required = true)]
    pub display_name: Option<String>,
    /// The avatar to show at about 128 pixels: the uploaded avatar's medium size, else the URL
    /// the member typed, else `null`.
    #[schema(required = true)]
    pub avatar_url: Option<String>,
    /// The uploaded avatar in its three square sizes; `null` without one.
    #[schema(required = true)]
    pub avatars: Option<AvatarSizes>,
    pub role: Role,
    /// The rank earned by message count (e.g. "Senior Member").
    pub rank_title: String,
    pub joined_at: DateTime<Utc>,
    /// Visible posts written.
    pub message_count: i64,
    /// Reactions received on their posts.
    pub reaction_score: i64,
    /// Groups the member belongs to, with their badges (e.g. "Axis Group").
    pub groups: Vec<GroupBadge>,
    /// The member's profile fields that are filled in (e.g. Nation, Residence).
    pub profile: Vec<ProfileEntry>,
}

/// An uploaded avatar's square sizes (WebP, served with `Cache-Control: immutable`: a new avatar
/// has new URLs). Paths on this server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"small": "/api/v1/avatars/1f3a…", "medium": "/api/v1/avatars/9b0c…", "large": "/api/v1/avatars/77de…"}))]
pub struct AvatarSizes {
    /// 64 × 64 pixels.
    pub small: String,
    /// 128 × 128 pixels.
    pub medium: String,
    /// 256 × 256 pixels.
    pub large: String,
}

/// Where the avatar file of `hash` is served.
pub fn avatar_file_url(hash: &str) -> String {
    format!("/api/v1/avatars/{hash}")
}

impl AvatarSizes {
    /// The sizes of a member's uploaded avatar, if any.
    pub fn of(u: &User) -> Option<AvatarSizes> {
        let files = u.avatar_files.as_deref()?;
        let mut hashes = files.split(' ').map(avatar_file_url);
        Some(AvatarSizes {
            small: hashes.next()?,
            medium: hashes.next()?,
            large: hashes.next()?,
        })
    }
}

/// The avatar to show at about 128 pixels: the uploaded one's medium size, else the typed URL.
pub fn avatar_url(u: &User) -> Option<String> {
    AvatarSizes::of(u)
        .map(|a| a.medium)
        .or_else(|| u.avatar_url.clone())
}

/// A group badge on an author card.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "Axis Group", "badge": "Axis Group"}))]
pub struct GroupBadge {
    pub id: i64,
    pub name: String,
    pub badge: String,
}

/// One filled-in profile field on an author card.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"key": "nation", "label": "Nation", "value": "CN"}))]
pub struct ProfileEntry {
    pub key: String,
    pub label: String,
    pub value: String,
}

impl AuthorCard {
    /// A card for a user, with the rank from `ladder` and no groups or profile yet.
    pub fn new(u: &User, ladder: &[(i64, String)]) -> Self {
        AuthorCard {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            avatar_url: avatar_url(u),
            avatars: AvatarSizes::of(u),
            role: u.role(),
            rank_title: profile_db::rank_for(ladder, u.message_count),
            joined_at: utc(u.created_at),
            message_count: u.message_count,
            reaction_score: u.reaction_score,
            groups: Vec::new(),
            profile: Vec::new(),
        }
    }
}

/// The author cards of these members: the users, the rank ladder, their groups, the profile
/// fields and their values; five queries for any number of members.
pub fn load_cards(conn: &mut DbConn, ids: &[i64]) -> QueryResult<HashMap<i64, AuthorCard>> {
    let users = load_users(conn, ids)?;
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let ladder = profile_db::ranks(conn)?;
    let mut cards: HashMap<i64, AuthorCard> = users
        .values()
        .map(|u| (u.id, AuthorCard::new(u, &ladder)))
        .collect();
    let ids: Vec<i64> = users.keys().copied().collect();
    for (user_id, g) in profile_db::groups_of(conn, &ids)? {
        if let Some(c) = cards.get_mut(&user_id) {
            c.groups.push(GroupBadge {
                id: g.id,
                name: g.name,
                badge: g.badge,
            });
        }
    }
    let fields = profile_db::fields(conn)?;
    let mut values = profile_db::values_of(conn, &ids)?;
    values.sort_by_key(|(_, f, _)| fields.iter().position(|d| d.id == *f));
    for (user_id, field_id, value) in values {
        if let (Some(c), Some(f)) = (
            cards.get_mut(&user_id),
            fields.iter().find(|f| f.id == field_id),
        ) {
            c.profile.push(ProfileEntry {
                key: f.key.clone(),
                label: f.label.clone(),
                value,
            });
        }
    }
    Ok(cards)
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

/// A member's uploads against the quota.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"used_bytes": 4831022, "quota_bytes": 209715200}))]
pub struct UploadUsage {
    pub used_bytes: i64,
    pub quota_bytes: i64,
}

/// The caller's own account, with private fields.
#[derive(Debug, Serialize, ToSchema)]
pub struct Account {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "saif")]
    pub username: String,
    #[schema(required = true, example = "saif@example.org")]
    pub email: Option<String>,
    #[schema(required = true, example = "Saif")]
    pub display_name: Option<String>,
    #[schema(required = true, example = "Defense analyst.")]
    pub about: Option<String>,
    /// The uploaded avatar's medium size, else the URL typed in `PATCH /me`, else `null`.
    #[schema(required = true)]
    pub avatar_url: Option<String>,
    /// The uploaded avatar (`PUT /me/avatar`) in its three sizes; `null` without one.
    #[schema(required = true)]
    pub avatars: Option<AvatarSizes>,
    /// Bytes of the member's uploads, and the most they may keep.
    pub uploads: UploadUsage,
    pub role: Role,
    /// A disabled (banned) account cannot sign in.
    pub disabled: bool,
    /// Watch the threads one starts or replies to automatically.
    pub auto_watch: bool,
    /// Leave one out of "Members online".
    pub hide_presence: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Account {
    /// The account of `u`, whose uploads may hold `quota` bytes.
    pub fn new(u: &User, quota: i64) -> Self {
        Account {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            about: u.about.clone(),
            avatar_url: avatar_url(u),
            avatars: AvatarSizes::of(u),
            uploads: UploadUsage {
                used_bytes: u.upload_bytes,
                quota_bytes: quota,
            },
            role: u.role(),
            disabled: u.disabled,
            auto_watch: u.auto_watch,
            hide_presence: u.hide_presence,
            created_at: utc(u.created_at),
            updated_at: utc(u.updated_at),
        }
    }
}
