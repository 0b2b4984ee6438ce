//! The root of the OpenAPI document: info, tags, the bearer security scheme, shared schemas.
//! Paths and their schemas are collected from the routes themselves (utoipa-actix-web).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer_auth",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Access token from /api/v1/auth/login, /auth/register or /auth/refresh; valid 15 minutes by default.",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gloss API",
        description = "Gloss is a JSON REST API for discussion forums whose posts can be analyzed: members \
highlight a passage, cite it in a reply, or respond to it with their own analysis.\n\n\
**Conventions.** Paths live under `/api/v1`. JSON field names are snake_case, ids are 64-bit integers, \
times are RFC 3339 in UTC with `Z`, and absent optional values are `null`. Page-based lists take \
`page` (from 1) and `per_page` (default 20, at most 100; a larger value is refused with 422) and answer \
`{items, page, per_page, total, total_pages}`.\n\n\
**Errors** are `application/problem+json` (RFC 9457). Switch on `type` (`urn:gloss:problem:<code>`); \
validation problems list each invalid field in `errors`. See the `Problem` schema for every type.\n\n\
**Authentication.** Send `Authorization: Bearer <access_token>`. Access tokens last 15 minutes; refresh \
tokens are single use and rotate on every `POST /api/v1/auth/refresh`.",
        license(name = "MIT", identifier = "MIT")
    ),
    servers((url = "/", description = "The server this document is served from")),
    tags(
        (name = "auth", description = "Register, sign in, rotate and revoke tokens"),
        (name = "me", description = "The signed-in member's own account"),
        (name = "users", description = "Member profiles and account administration"),
        (name = "forums", description = "Categories and forums, their prefixes and custom fields, and the site-wide blocks"),
        (name = "threads", description = "Threads: lists, the thread page, creating, editing, locking, moving"),
        (name = "posts", description = "Posts and replies, their revisions, the latest posts"),
        (name = "annotations", description = "Analyze Post: highlights, responses and citations, also as W3C Web Annotations"),
        (name = "reactions", description = "Reactions to posts and the kinds there are"),
        (name = "profiles", description = "Profile fields, groups and ranks shown on author cards"),
        (name = "reading", description = "Read markers and the unread list"),
        (name = "watching", description = "Watched threads and forums"),
        (name = "notifications", description = "What a member is told about"),
        (name = "stream", description = "Live events (Server-Sent Events)"),
        (name = "moderation", description = "Moderators' and admins' actions"),
        (name = "health", description = "Liveness and readiness probes"),
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// The document before paths are added.
pub fn base() -> OpenApiDoc {
    ApiDoc::openapi()
}

/// Final touches once the paths are collected: every operation says how it may be called. One
/// without a stated requirement is open to anyone (`{}`); outside `auth` and `health` a bearer
/// token is also accepted there, and makes the answer the caller's (reading state, own reactions).
pub fn finish(mut api: OpenApiDoc) -> OpenApiDoc {
    use utoipa::openapi::security::SecurityRequirement;
    for item in api.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
        ]
        .into_iter()
        .flatten()
        {
            if op.security.is_some() {
                continue;
            }
            let anonymous_only = op
                .tags
                .iter()
                .flatten()
                .any(|t| t == "auth" || t == "health");
            let mut allowed = vec![SecurityRequirement::default()];
            if !anonymous_only {
                allowed.push(SecurityRequirement::new(
                    "bearer_auth",
                    Vec::<String>::new(),
                ));
            }
            op.security = Some(allowed);
        }
    }
    api
}

/// The document as pretty JSON with a trailing newline: the form committed in `openapi/openapi.json`.
pub fn to_pretty_json(api: &OpenApiDoc) -> String {
    let mut s = api
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
