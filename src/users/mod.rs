//! Members: accounts, profiles and roles.

pub mod cards;
pub mod db;
pub mod http;
pub mod validate;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a member may do beyond posting: moderators moderate, admins administer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An ordinary member.
    Member,
    /// May moderate content.
    Moderator,
    /// May administer the forum.
    Admin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "member" => Some(Role::Member),
            "moderator" => Some(Role::Moderator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}
