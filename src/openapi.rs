//! The root of the OpenAPI document: info, tags, the bearer security scheme, shared schemas.
//! Paths and their schemas are collected from the routes themselves (utoipa-actix-web).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::{Modify, OpenApi};

use crate::error::{ErrorKind, FieldError, Problem};

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
        (name = "search", description = "Full-text search over threads, posts and annotations"),
        (name = "attachments", description = "Uploaded images, shown in posts by `![caption](attachment:ID)`"),
        (name = "moderation", description = "Moderators' and admins' actions"),
        (name = "health", description = "Liveness and readiness probes"),
    ),
    components(
        schemas(Problem, FieldError),
        responses(crate::error::Unauthorized, crate::error::NotAnAdmin, crate::error::NotAModerator)
    ),
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
    idempotency_keys(&mut api);
    error_examples(&mut api);
    // the last two touches work on the document as JSON: one round trip for both
    // a touch that made the document unreadable must fail loudly (every test builds it), not
    // leave it untouched
    let mut doc = serde_json::to_value(&api).expect("the document is JSON");
    name_inline_schemas(&mut doc);
    request_item_limits(&mut doc);
    no_nul_in_request_text(&mut doc);
    serde_json::from_value(doc).expect("the finished document reads back as OpenAPI")
}

/// Text a client sends never holds U+0000 (PostgreSQL cannot store it; both databases refuse it
/// with a 422 naming the field): every string of a request body, and every string parameter,
/// says so with a pattern unless it states a stricter one of its own.
fn no_nul_in_request_text(doc: &mut serde_json::Value) {
    use serde_json::Value;
    const NO_NUL: &str = "^[^\\u0000]*$";
    fn mark(v: &mut Value, refs: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    refs.push(r.rsplit('/').next().unwrap_or_default().to_string());
                }
                let is_string = match map.get("type") {
                    Some(Value::String(t)) => t == "string",
                    Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                    _ => false,
                };
                if is_string
                    && !map.contains_key("pattern")
                    && !map.contains_key("enum")
                    && !map.contains_key("format")
                {
                    map.insert("pattern".into(), Value::String(NO_NUL.into()));
                }
                map.values_mut().for_each(|c| mark(c, refs));
            }
            Value::Array(list) => list.iter_mut().for_each(|c| mark(c, refs)),
            _ => {}
        }
    }
    // the request side: bodies and parameters, then every schema they reach
    let mut refs = Vec::new();
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        for item in paths.values_mut() {
            let Value::Object(item) = item else { continue };
            for op in item.values_mut() {
                for part in ["requestBody", "parameters"] {
                    if let Some(v) = op.get_mut(part) {
                        mark(v, &mut refs);
                    }
                }
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    while let Some(name) = refs.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) {
            mark(schema, &mut refs);
        }
    }
}

/// The strings inside the W3C import's one-or-many values (generic types, whose items utoipa
/// cannot annotate) say the limits the server enforces: 200 characters for `@context`, `type` and
/// `motivation` values, 2,000 for an IRI given as a body or a target; so do tags (50) and the
/// options of choice fields (100).
fn request_item_limits(doc: &mut serde_json::Value) {
    use serde_json::Value;
    fn limit(v: &mut Value, max: u64) {
        let Value::Object(map) = v else { return };
        if map.get("type").and_then(Value::as_str) == Some("string")
            && !map.contains_key("maxLength")
        {
            map.insert("maxLength".into(), Value::from(max));
        }
        for key in ["items", "oneOf", "anyOf"] {
            match map.get_mut(key) {
                Some(Value::Array(list)) => list.iter_mut().for_each(|c| limit(c, max)),
                Some(one) => limit(one, max),
                None => {}
            }
        }
    }
    for (name, max) in [
        ("OneOrMany_String", 200),
        ("OneOrMany_W3cBodyInput", 2000),
        ("OneOrMany_W3cTargetInput", 2000),
    ] {
        if let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) {
            limit(schema, max);
        }
    }
    // and the items of lists of strings, which utoipa's attributes cannot reach either
    for (name, field, max) in [
        ("CreateAnnotation", "tags", 50),
        ("UpdateAnnotation", "tags", 50),
        ("CreateThreadField", "options", 100),
        ("UpdateThreadField", "options", 100),
        ("CreateProfileField", "options", 100),
    ] {
        let at = format!("/components/schemas/{name}/properties/{field}/items");
        if let Some(items) = doc.pointer_mut(&at) {
            limit(items, max);
        }
    }
}

/// A schema written out in place where a named component is the same (utoipa inlines the items
/// of generic pages, `Page<Post>`) becomes a reference to it, so a post is one type in every
/// generated client.
fn name_inline_schemas(doc: &mut serde_json::Value) {
    use serde_json::Value;
    fn replace(v: &mut Value, named: &[(String, Value)], root_of: Option<&str>) {
        if let Some((name, _)) = named
            .iter()
            .find(|(name, schema)| Some(name.as_str()) != root_of && schema == v)
        {
            *v = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
            return;
        }
        match v {
            Value::Object(map) => map.values_mut().for_each(|c| replace(c, named, None)),
            Value::Array(list) => list.iter_mut().for_each(|c| replace(c, named, None)),
            _ => {}
        }
    }
    let named: Vec<(String, Value)> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, s)| {
                    s.get("properties").is_some()
                        || s.get("enum").is_some()
                        || s.get("oneOf").is_some()
                })
                .map(|(k, s)| (k.clone(), s.clone()))
                .collect()
        })
        .unwrap_or_default();
    if let Some(paths) = doc.get_mut("paths") {
        replace(paths, &named, None);
    }
    if let Some(Value::Object(schemas)) = doc.pointer_mut("/components/schemas") {
        for (name, schema) in schemas.iter_mut() {
            replace(schema, &named, Some(name));
        }
    }
}

/// Every error response an operation documents in place shows a problem that fits its status:
/// the kind that status stands for, with the response's own description as the detail (a 422
/// names the first field of the body or of the query).
fn error_examples(api: &mut OpenApiDoc) {
    use utoipa::openapi::RefOr;
    let first_fields: std::collections::BTreeMap<String, String> = api
        .components
        .iter()
        .flat_map(|c| c.schemas.iter())
        .filter_map(|(name, schema)| {
            let schema = serde_json::to_value(schema).ok()?;
            let field = schema
                .pointer("/required/0")
                .and_then(|f| f.as_str())
                .map(str::to_string)
                .or_else(|| {
                    schema
                        .get("properties")?
                        .as_object()?
                        .keys()
                        .next()
                        .cloned()
                })?;
            Some((name.clone(), field))
        })
        .collect();
    for item in api.paths.paths.values_mut() {
        let path_params: Vec<String> = item
            .parameters
            .iter()
            .flatten()
            .filter_map(|p| match p {
                RefOr::T(p) => Some(p.name.clone()),
                RefOr::Ref(_) => None,
            })
            .collect();
        for op in operations_mut(item) {
            // the field a 422 example names: the body's first required property, else a parameter
            let body_field = op
                .request_body
                .as_ref()
                .and_then(|b| serde_json::to_value(b).ok())
                .and_then(|b| {
                    let schema = b.pointer("/content/application~1json/schema")?.clone();
                    let name = schema
                        .get("$ref")?
                        .as_str()?
                        .rsplit('/')
                        .next()?
                        .to_string();
                    Some(name)
                });
            let query_field = op.parameters.iter().flatten().find_map(|p| match p {
                RefOr::T(p) if !path_params.contains(&p.name) => Some(p.name.clone()),
                _ => None,
            });
            for (status, response) in op.responses.responses.iter_mut() {
                let (Ok(code), RefOr::T(response)) = (status.parse::<u16>(), response) else {
                    continue;
                };
                if code < 400 {
                    continue;
                }
                let Some(kind) = actix_web::http::StatusCode::from_u16(code)
                    .ok()
                    .map(crate::error::ErrorKind::from_status)
                else {
                    continue;
                };
                let detail = response.description.clone();
                for content in response.content.values_mut() {
                    let RefOr::T(content) = content else { continue };
                    if content.example.is_some() || !content.examples.is_empty() {
                        continue;
                    }
                    let errors = match (code, &body_field, &query_field) {
                        (422, Some(schema), _) if first_fields.contains_key(schema) => {
                            serde_json::json!([{ "field": first_fields[schema], "message": detail }])
                        }
                        (422, None, Some(param)) => {
                            serde_json::json!([{ "field": param, "message": detail }])
                        }
                        _ => serde_json::json!([]),
                    };
                    content.example = Some(serde_json::json!({
                        "type": kind.type_uri(), "title": kind.title(), "status": code,
                        "detail": detail, "code": kind.code(), "errors": errors,
                    }));
                }
            }
        }
    }
}

/// Every `POST` a member makes takes an `Idempotency-Key` (see [`crate::idempotency`]): the
/// header as a shared parameter, and the two answers it adds as shared responses (an operation
/// that already documents a 409 or 422 keeps its own, whose problem schema covers these too).
fn idempotency_keys(api: &mut OpenApiDoc) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{Ref, RefOr, Required};
    let components = api.components.get_or_insert_with(Default::default);
    let parameter = ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "A key of the client's choosing (a UUID is usual) that makes a retry of this request \
             safe: for 24 hours, the member's next request with the same key and the same body \
             gets the first answer again, with `Idempotent-Replayed: true`, instead of making a \
             second thing. While the first runs, a retry gets 409 `idempotency_key_in_use`; the \
             same key with another body gets 422 `idempotency_key_reused`. Only successful \
             answers are kept. Ignored without an access token.",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(crate::idempotency::MAX_KEY_LENGTH))
                .pattern(Some("^[!-~]+$")),
        ))
        .example(Some(serde_json::json!(
            "5f0c6a43-7f3e-4d5e-9d55-2a4b8e0f6c11"
        )))
        .build();
    components
        .parameters
        .insert("IdempotencyKey".to_string(), RefOr::T(parameter));
    for (name, kind, description, detail) in [
        (
            "MalformedIdempotencyKey",
            ErrorKind::MalformedRequest,
            "The `Idempotency-Key` header is not 1 to 255 visible ASCII characters",
            "Idempotency-Key: must be 1 to 255 visible ASCII characters, such as a UUID",
        ),
        (
            "IdempotencyKeyInUse",
            ErrorKind::IdempotencyKeyInUse,
            "A request with the same `Idempotency-Key` is still running; retry after `Retry-After`",
            "a request with this Idempotency-Key is still running; retry after the time given in Retry-After",
        ),
        (
            "IdempotencyKeyReused",
            ErrorKind::IdempotencyKeyReused,
            "The `Idempotency-Key` was used for a different request in the last 24 hours",
            "this Idempotency-Key was used for a different request (method, path or body) in the last 24 hours; send a new key",
        ),
    ] {
        components.responses.insert(
            name.to_string(),
            RefOr::T(problem_response(kind, description, detail)),
        );
    }
    for item in api.paths.paths.values_mut() {
        let Some(op) = item.post.as_mut() else {
            continue;
        };
        let member = op
            .security
            .iter()
            .flatten()
            .any(|r| serde_json::to_value(r).is_ok_and(|v| v.get("bearer_auth").is_some()));
        if !member {
            continue;
        }
        op.parameters
            .get_or_insert_with(Vec::new)
            .push(RefOr::Ref(Ref::new(
                "#/components/parameters/IdempotencyKey",
            )));
        for (status, name) in [
            ("400", "MalformedIdempotencyKey"),
            ("409", "IdempotencyKeyInUse"),
            ("422", "IdempotencyKeyReused"),
        ] {
            op.responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
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

/// A response of problem+json with an example of `kind` that says `detail`.
fn problem_response(kind: ErrorKind, description: &str, detail: &str) -> utoipa::openapi::Response {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let example = serde_json::json!({
        "type": kind.type_uri(), "title": kind.title(), "status": kind.status().as_u16(),
        "detail": detail, "code": kind.code(), "errors": [],
    });
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(Some(example))
                .build(),
        )
        .build()
}

/// The errors any operation may meet, as reusable responses with an example each: 503 on every
/// operation that reaches the database (all but `/health/live`), and on every operation with a
/// body the answers to a body that is not JSON (400), too large (413) or of another media type
/// (415). An operation that documents one of these itself keeps its own.
fn shared_error_responses(api: &mut OpenApiDoc) {
    use utoipa::openapi::{Ref, RefOr};
    let shared = [
        (
            "ServiceUnavailable",
            ErrorKind::ServiceUnavailable,
            "The database is busy or unreachable; retry after the time given in `Retry-After`",
            "the server is busy; retry after the time given in Retry-After",
        ),
        (
            "MalformedBody",
            ErrorKind::MalformedRequest,
            "The body is not well-formed JSON",
            "the body is not valid JSON: expected value at line 1 column 1",
        ),
        (
            "PayloadTooLarge",
            ErrorKind::PayloadTooLarge,
            "The body is larger than the server accepts (`GLOSS_BODY_LIMIT`)",
            "the body is larger than the 262144 bytes accepted",
        ),
        (
            "UnsupportedMediaType",
            ErrorKind::UnsupportedMediaType,
            "The body is not sent as `application/json`",
            "send the body as application/json",
        ),
    ];
    let components = api.components.get_or_insert_with(Default::default);
    for (name, kind, description, detail) in shared {
        components.responses.insert(
            name.to_string(),
            RefOr::T(problem_response(kind, description, detail)),
        );
    }
    for (path, item) in api.paths.paths.iter_mut() {
        for op in operations_mut(item) {
            let with_body = op.request_body.is_some();
            for (name, kind, ..) in shared {
                let status = kind.status().as_u16().to_string();
                let applies = match kind {
                    ErrorKind::ServiceUnavailable => path != "/health/live",
                    _ => with_body,
                };
                if applies && !op.responses.responses.contains_key(&status) {
                    op.responses
                        .responses
                        .insert(status, RefOr::Ref(Ref::from_response_name(name)));
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
