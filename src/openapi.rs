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
        for op in operations_mut(item) {
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
    shared_error_responses(&mut api);
    api
}

/// The operations of a path, whatever their methods.
fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
    ]
    .into_iter()
    .flatten()
}

/// The errors any operation may meet, as reusable responses with an example each: 503 on every
/// operation that reaches the database (all but `/health/live`), and on every operation with a
/// body the answers to a body that is not JSON (400), too large (413) or of another media type
/// (415). An operation that documents one of these itself keeps its own.
fn shared_error_responses(api: &mut OpenApiDoc) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let shared = [
        (
            "ServiceUnavailable",
            "503",
            "The database is busy or unreachable; retry after the time given in `Retry-After`",
            "service_unavailable",
            "Service unavailable",
            "the server is busy; retry after the time given in Retry-After",
        ),
        (
            "MalformedBody",
            "400",
            "The body is not well-formed JSON",
            "malformed_request",
            "Malformed request",
            "the body is not valid JSON: expected value at line 1 column 1",
        ),
        (
            "PayloadTooLarge",
            "413",
            "The body is larger than the server accepts (`GLOSS_BODY_LIMIT`)",
            "payload_too_large",
            "Payload too large",
            "the body is larger than the 262144 bytes accepted",
        ),
        (
            "UnsupportedMediaType",
            "415",
            "The body is not sent as `application/json`",
            "unsupported_media_type",
            "Unsupported media type",
            "send the body as application/json",
        ),
    ];
    let components = api.components.get_or_insert_with(Default::default);
    for (name, status, description, code, title, detail) in shared {
        let example = serde_json::json!({
            "type": format!("urn:gloss:problem:{code}"), "title": title,
            "status": status.parse::<u16>().unwrap_or(500), "detail": detail, "code": code, "errors": [],
        });
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .example(Some(example))
                    .build(),
            )
            .build();
        components
            .responses
            .insert(name.to_string(), RefOr::T(response));
    }
    for (path, item) in api.paths.paths.iter_mut() {
        for op in operations_mut(item) {
            let with_body = op.request_body.is_some();
            for (name, status, ..) in shared {
                let applies = match status {
                    "503" => path != "/health/live",
                    _ => with_body,
                };
                if applies && !op.responses.responses.contains_key(status) {
                    op.responses.responses.insert(
                        status.to_string(),
                        RefOr::Ref(Ref::from_response_name(name)),
                    );
                }
            }
        }
    }
}

/// The document as pretty JSON with a trailing newline: the form committed in `openapi/openapi.json`.
pub fn to_pretty_json(api: &OpenApiDoc) -> String {
    let mut s = api
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
