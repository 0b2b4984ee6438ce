//! What a post's body must be, for replies and for the first post of a thread alike.

use crate::error::Validator;
use crate::text;

/// The largest post body, in characters.
pub const MAX_BODY_CHARS: usize = 50_000;

/// Records an error unless the body is 1 to 50,000 characters and not blank.
pub fn validate_body(v: &mut Validator, field: &str, body: &str) {
    v.check(!body.trim().is_empty(), field, "must not be empty");
    v.check(
        body.chars().count() <= MAX_BODY_CHARS,
        field,
        format!("must be at most {MAX_BODY_CHARS} characters"),
    );
    if let Err(why) = text::check_structure(body) {
        v.check(false, field, why);
    }
    v.check(
        text::attachment_refs(body).len() <= text::MAX_ATTACHMENTS,
        field,
        format!("may show at most {} attachments", text::MAX_ATTACHMENTS),
    );
}
