//! The rules of account fields, shared by registration, the profile endpoints and the command line.

use crate::error::Validator;

/// Records a username error unless it has 3 to 32 ASCII letters, digits, `_`, `.` or `-`.
pub fn validate_username(v: &mut Validator, field: &str, username: &str) {
    let ok = (3..=32).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    v.check(
        ok,
        field,
        "must be 3 to 32 characters of letters, digits, '_', '.' or '-'",
    );
    v.check(
        !ok || !ROUTE_WORDS.contains(&username.to_ascii_lowercase().as_str()),
        field,
        "is reserved: the API uses this word in its paths",
    );
}

/// Words of paths where a username could stand (`/users/online` must stay the list of members
/// online): no account may be named so.
pub const ROUTE_WORDS: &[&str] = &[
    "online",
    "latest",
    "unread",
    "me",
    "new",
    "search",
    "directory",
    "all",
    "watched",
    "bookmarks",
    "notifications",
    "avatar",
    "api",
    "docs",
];

/// Names a member may not give themselves at registration (an admin may, on the command line):
/// titles that would mislead other members.
pub const STAFF_TITLES: &[&str] = &[
    "admin",
    "administrator",
    "moderator",
    "mod",
    "staff",
    "system",
    "gloss",
    "root",
    "null",
    "undefined",
    "anonymous",
    "guest",
];

/// Records an error unless the name is free for self-registration.
pub fn check_not_staff_title(v: &mut Validator, field: &str, username: &str) {
    v.check(
        !STAFF_TITLES.contains(&username.to_ascii_lowercase().as_str()),
        field,
        "is reserved for the forum's staff",
    );
}

/// Records a password error unless it is 10 to 1024 characters and not the username.
pub fn validate_password(v: &mut Validator, field: &str, password: &str, username: &str) {
    let n = password.chars().count();
    v.check(n >= 10, field, "must be at least 10 characters");
    v.check(n <= 1024, field, "must be at most 1024 characters");
    v.check(
        !password.eq_ignore_ascii_case(username),
        field,
        "must not be the username",
    );
}

/// Records an email error unless it looks like `local@domain.tld`.
pub fn validate_email(v: &mut Validator, field: &str, email: &str) {
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            }
            None => false,
        };
    v.check(
        ok,
        field,
        "must be an email address such as name@example.org",
    );
}
