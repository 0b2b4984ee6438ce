//! Who may do what. Every permission decision lives here, as plain functions over the actor and
//! the thing acted on, so each rule can be read, and tested, in one place.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::users::Role;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(id: i64, role: Role) -> AuthUser {
        AuthUser { id, role }
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
}
