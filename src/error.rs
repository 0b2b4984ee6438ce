//! Errors as RFC 9457 problem details (`application/problem+json`), one stable `type` per kind.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The prefix of every problem `type`; the rest is the kind's code.
pub const PROBLEM_TYPE_PREFIX: &str = "urn:gloss:problem:";

macro_rules! error_kinds {
    ($($variant:ident => ($code:literal, $status:ident, $title:literal)),* $(,)?) => {
        /// Every kind of error the API answers with. Clients switch on `type` (or `code`).
        /// Serialized as its code: the `code` of a problem is one of these.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
        #[schema(as = ProblemCode)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorKind { $($variant),* }

        impl ErrorKind {
            /// Every kind, for documentation.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant),*];

            /// The stable snake_case code.
            pub fn code(self) -> &'static str {
                match self { $(ErrorKind::$variant => $code),* }
            }

            /// The HTTP status.
            pub fn status(self) -> StatusCode {
                match self { $(ErrorKind::$variant => StatusCode::$status),* }
            }

            /// A short, human-readable summary that does not change from occurrence to occurrence.
            pub fn title(self) -> &'static str {
                match self { $(ErrorKind::$variant => $title),* }
            }
        }
    };
}

error_kinds! {
    MalformedRequest => ("malformed_request", BAD_REQUEST, "Malformed request"),
    ValidationFailed => ("validation_failed", UNPROCESSABLE_ENTITY, "Validation failed"),
    UnsupportedMediaType => ("unsupported_media_type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
    PayloadTooLarge => ("payload_too_large", PAYLOAD_TOO_LARGE, "Payload too large"),
    UploadQuotaExceeded => ("upload_quota_exceeded", PAYLOAD_TOO_LARGE, "Upload quota exceeded"),
    ImageTooLarge => ("image_too_large", UNPROCESSABLE_ENTITY, "Image too large"),
    Unauthorized => ("unauthorized", UNAUTHORIZED, "Authentication required"),
    InvalidToken => ("invalid_token", UNAUTHORIZED, "Invalid access token"),
    TokenExpired => ("token_expired", UNAUTHORIZED, "Access token expired"),
    InvalidCredentials => ("invalid_credentials", UNAUTHORIZED, "Invalid login or password"),
    InvalidRefreshToken => ("invalid_refresh_token", UNAUTHORIZED, "Invalid refresh token"),
    RefreshTokenReused => ("refresh_token_reused", UNAUTHORIZED, "Refresh token reused"),
    AccountDisabled => ("account_disabled", FORBIDDEN, "Account disabled"),
    Forbidden => ("forbidden", FORBIDDEN, "Forbidden"),
    ThreadLocked => ("thread_locked", FORBIDDEN, "Thread locked"),
    NotFound => ("not_found", NOT_FOUND, "Not found"),
    RateLimited => ("rate_limited", TOO_MANY_REQUESTS, "Too many requests"),
    MethodNotAllowed => ("method_not_allowed", METHOD_NOT_ALLOWED, "Method not allowed"),
    Conflict => ("conflict", CONFLICT, "Conflict"),
    IdempotencyKeyInUse => ("idempotency_key_in_use", CONFLICT, "Idempotency key in use"),
    IdempotencyKeyReused => ("idempotency_key_reused", UNPROCESSABLE_ENTITY, "Idempotency key reused"),
    ServiceUnavailable => ("service_unavailable", SERVICE_UNAVAILABLE, "Service unavailable"),
    InternalError => ("internal_error", INTERNAL_SERVER_ERROR, "Internal server error"),
}

impl ErrorKind {
    /// The problem `type` URI, e.g. `urn:gloss:problem:validation_failed`.
    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_PREFIX}{}", self.code())
    }

    /// The kind that a bare HTTP status (from the framework, not from our code) stands for.
    pub fn from_status(status: StatusCode) -> ErrorKind {
        match status.as_u16() {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::MethodNotAllowed,
            409 => ErrorKind::Conflict,
            429 => ErrorKind::RateLimited,
            413 => ErrorKind::PayloadTooLarge,
            415 => ErrorKind::UnsupportedMediaType,
            422 => ErrorKind::ValidationFailed,
            503 => ErrorKind::ServiceUnavailable,
            s if s >= 500 => ErrorKind::InternalError,
            _ => ErrorKind::MalformedRequest,
        }
    }
}

/// What is wrong with one field of the request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as a path into the request (`username`, `citations[0].post_id`, or a query
    /// parameter's name).
    #[schema(example = "username")]
    pub field: String,
    /// What is wrong with it.
    #[schema(example = "must be 3 to 32 characters of letters, digits, '_', '.' or '-'")]
    pub message: String,
}

/// An RFC 9457 problem details object: the body of every error response.
///
/// `type` is stable per kind of error and is what clients should switch on; the kinds are
/// `urn:gloss:problem:` followed by one of: `malformed_request` (400), `validation_failed` (422),
/// `unsupported_media_type` (415), `payload_too_large` (413), `unauthorized` (401),
/// `invalid_token` (401), `token_expired` (401), `invalid_credentials` (401),
/// `invalid_refresh_token` (401), `refresh_token_reused` (401), `account_disabled` (403),
/// `forbidden` (403), `thread_locked` (403: the thread accepts no new posts or edits), `not_found` (404), `method_not_allowed` (405), `conflict` (409),
/// `idempotency_key_in_use` (409, with `Retry-After`: a request with the same `Idempotency-Key` is
/// still running), `idempotency_key_reused` (422: the key was used for another request),
/// `rate_limited` (429, with `Retry-After` and `RateLimit-Limit`/`-Remaining`/`-Reset`),
/// `service_unavailable` (503, with `Retry-After`), `internal_error` (500).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:gloss:problem:validation_failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "the request has 1 invalid field",
    "code": "validation_failed",
    "errors": [{"field": "username", "message": "must be 3 to 32 characters of letters, digits, '_', '.' or '-'"}]
}))]
pub struct Problem {
    /// A URI naming the kind of problem; stable, meant for machines.
    #[serde(rename = "type")]
    #[schema(example = "urn:gloss:problem:validation_failed")]
    pub type_uri: String,
    /// A short summary of the kind of problem.
    #[schema(example = "Validation failed")]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 422)]
    pub status: u16,
    /// What went wrong this time, for humans.
    #[schema(example = "the request has 1 invalid field")]
    pub detail: String,
    /// The kind's code alone (the last part of `type`).
    #[schema(example = "validation_failed")]
    pub code: ErrorKind,
    /// The invalid fields; empty unless the problem is about specific fields.
    pub errors: Vec<FieldError>,
}

/// The answer to a request without a valid access token (one reusable response in the document).
#[derive(utoipa::ToResponse)]
#[response(
    description = "No or invalid access token",
    content_type = "application/problem+json",
    example = json!({"type": "urn:gloss:problem:unauthorized", "title": "Authentication required", "status": 401,
        "detail": "this endpoint needs an access token: send 'Authorization: Bearer <token>'", "code": "unauthorized", "errors": []})
)]
pub struct Unauthorized(pub Problem);

/// The answer to a member who is not an admin.
#[derive(utoipa::ToResponse)]
#[response(
    description = "Not an admin",
    content_type = "application/problem+json",
    example = json!({"type": "urn:gloss:problem:forbidden", "title": "Forbidden", "status": 403,
        "detail": "only admins may do this", "code": "forbidden", "errors": []})
)]
pub struct NotAnAdmin(pub Problem);

/// The answer to a member who is not a moderator.
#[derive(utoipa::ToResponse)]
#[response(
    description = "Not a moderator",
    content_type = "application/problem+json",
    example = json!({"type": "urn:gloss:problem:forbidden", "title": "Forbidden", "status": 403,
        "detail": "only moderators may do this", "code": "forbidden", "errors": []})
)]
pub struct NotAModerator(pub Problem);

/// An error a handler returns; rendered as a [`Problem`].
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The kind.
    pub kind: ErrorKind,
    /// Human-readable detail sent to the client.
    pub detail: String,
    /// Field errors (validation).
    pub errors: Vec<FieldError>,
    /// What is logged but never sent (internal causes).
    cause: Option<String>,
    /// A deadlock or serialization failure: the transaction may be run again.
    transient: bool,
    /// For 429: (the limit, seconds until a retry may succeed).
    rate_limit: Option<(u64, u64)>,
    /// The database connection died under this request: it must not go back to the pool.
    connection_lost: bool,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.detail)
    }
}

impl ApiError {
    /// An error of `kind` with `detail`.
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        ApiError {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            cause: None,
            transient: false,
            rate_limit: None,
            connection_lost: false,
        }
    }

    /// 422 for a list of invalid fields.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.len() {
            1 => format!("{}: {}", errors[0].field, errors[0].message),
            n => format!("the request has {n} invalid fields"),
        };
        ApiError {
            errors,
            ..ApiError::new(ErrorKind::ValidationFailed, detail)
        }
    }

    /// The same validation error with each field named anew (`selector.exact` said as the path
    /// of the request it came from); other errors as they are.
    pub fn renamed(self, path: impl Fn(&str) -> String) -> Self {
        if self.errors.is_empty() {
            return self;
        }
        ApiError::validation(
            self.errors
                .into_iter()
                .map(|f| FieldError {
                    field: path(&f.field),
                    message: f.message,
                })
                .collect(),
        )
    }

    /// 422 for one invalid field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// 400 for a malformed part of the request other than the body (a header), naming it.
    pub fn malformed_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::about_field(ErrorKind::MalformedRequest, field.into(), message.into())
    }

    /// 409 for a value that must be unique, naming the field.
    pub fn conflict_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::about_field(ErrorKind::Conflict, field.into(), message.into())
    }

    fn about_field(kind: ErrorKind, field: String, message: String) -> Self {
        ApiError {
            errors: vec![FieldError {
                field: field.clone(),
                message: message.clone(),
            }],
            ..ApiError::new(kind, format!("{field}: {message}"))
        }
    }

    /// 404 for a thing that does not exist (or that the caller may not know exists).
    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::NotFound, what)
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(ErrorKind::Forbidden, detail)
    }

    /// 503 (database busy, pool exhausted); the cause is logged, not sent.
    pub fn unavailable(cause: impl Into<String>) -> Self {
        ApiError {
            cause: Some(cause.into()),
            ..ApiError::new(
                ErrorKind::ServiceUnavailable,
                "the server is busy; retry after the time given in Retry-After",
            )
        }
    }

    /// 429: more than `limit` requests; a retry may succeed after `retry_after` seconds.
    pub fn rate_limited(limit: u64, retry_after: u64, detail: impl Into<String>) -> Self {
        ApiError {
            rate_limit: Some((limit, retry_after)),
            ..ApiError::new(ErrorKind::RateLimited, detail)
        }
    }

    /// True when the database connection died under this request (it is then dropped from the
    /// pool, so the next request gets a fresh one).
    pub fn connection_lost(&self) -> bool {
        self.connection_lost
    }

    /// 500; the cause is logged with the request id, never sent.
    pub fn internal(cause: impl Into<String>) -> Self {
        ApiError {
            cause: Some(cause.into()),
            ..ApiError::new(ErrorKind::InternalError, "an unexpected error occurred")
        }
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            type_uri: self.kind.type_uri(),
            title: self.kind.title().to_string(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
            code: self.kind,
            errors: self.errors.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.kind.status()
    }

    fn error_response(&self) -> HttpResponse {
        match (&self.kind, &self.cause) {
            (ErrorKind::InternalError, Some(cause)) => {
                tracing::error!(cause = %cause, "internal error")
            }
            (ErrorKind::ServiceUnavailable, Some(cause)) => {
                tracing::warn!(cause = %cause, "service unavailable")
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        if matches!(
            self.kind,
            ErrorKind::ServiceUnavailable | ErrorKind::IdempotencyKeyInUse
        ) {
            response.insert_header((header::RETRY_AFTER, "1"));
        }
        if let Some((limit, retry)) = self.rate_limit {
            response.insert_header((header::RETRY_AFTER, retry.to_string()));
            response.insert_header(("RateLimit-Limit", limit.to_string()));
            response.insert_header(("RateLimit-Remaining", "0"));
            response.insert_header(("RateLimit-Reset", retry.to_string()));
        }
        if self.kind.status() == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(self.problem())
    }
}

impl crate::db::TransientError for ApiError {
    fn is_transient(&self) -> bool {
        self.transient
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        if crate::db::is_transient_db_error(&e) {
            // retried by `db::transaction`; a 503 only when the retries ran out
            return ApiError {
                transient: true,
                ..ApiError::unavailable(e.to_string())
            };
        }
        match e {
            Error::NotFound => ApiError::not_found("the requested resource does not exist"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                unique_conflict(info.constraint_name(), info.message())
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, info) => {
                ApiError::unavailable(info.message().to_string())
            }
            // The database is gone or overloaded: the client should come back, not report a bug.
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, ref info) => ApiError {
                connection_lost: true,
                ..ApiError::unavailable(info.message().to_string())
            },
            Error::DatabaseError(_, ref info) if is_unavailable_message(info.message()) => {
                ApiError {
                    connection_lost: is_connection_lost_message(info.message()),
                    ..ApiError::unavailable(info.message().to_string())
                }
            }
            Error::BrokenTransactionManager => {
                ApiError::unavailable("the connection's transaction state broke".to_string())
            }
            other => ApiError::internal(format!("database error: {other}")),
        }
    }
}

/// Messages that mean the connection itself is gone (the server restarted or ended it).
const CONNECTION_LOST_SIGNS: &[&str] = &[
    "terminating connection",
    "server closed the connection",
    "no connection to the server",
    "could not receive data",
    "could not send data",
    "SSL connection has been closed",
    "connection refused",
    "could not connect",
];

/// Database messages that mean "not now" rather than "wrong": SQLite's busy timeout ran out;
/// PostgreSQL's statement or lock timeout fired, it is starting or shutting down, it has too many
/// clients, or the connection died.
fn is_unavailable_message(m: &str) -> bool {
    const BUSY_SIGNS: &[&str] = &[
        "database is locked",
        "database is busy",
        "canceling statement due to statement timeout",
        "canceling statement due to lock timeout",
        "the database system is",
        "too many clients",
    ];
    BUSY_SIGNS.iter().any(|s| m.contains(s)) || is_connection_lost_message(m)
}

fn is_connection_lost_message(m: &str) -> bool {
    CONNECTION_LOST_SIGNS.iter().any(|s| m.contains(s))
}

/// The field a unique index guards, by its name on PostgreSQL (`users_email_key_key`) or in
/// SQLite's message (`UNIQUE constraint failed: users.email_key`). Checked in this order.
const UNIQUE_FIELDS: &[(&str, &str, &str)] = &[
    ("email_key", "email", "is already in use by another account"),
    ("username_key", "username", "is already taken"),
    ("forums_slug", "slug", "is already used by another forum"),
    ("forums.slug", "slug", "is already used by another forum"),
    ("thread_fields", "key", "is already a field of this forum"),
    ("reaction_kinds", "key", "is already a reaction kind"),
    ("profile_fields", "key", "is already a profile field"),
    ("user_groups", "name", "is already the name of a group"),
    ("ranks", "min_messages", "already starts another rank"),
];

/// 409 for a lost race on a unique value, naming the field; never the database's own text (which
/// names tables and indexes).
fn unique_conflict(constraint: Option<&str>, message: &str) -> ApiError {
    let text = format!("{} {message}", constraint.unwrap_or(""));
    match UNIQUE_FIELDS.iter().find(|(key, _, _)| text.contains(key)) {
        Some((_, field, msg)) => ApiError::conflict_field(*field, *msg),
        None => ApiError {
            cause: Some(text),
            ..ApiError::new(
                ErrorKind::Conflict,
                "a concurrent request changed the same thing first; read it again and retry",
            )
        },
    }
}

/// Renders every error response that did not come from [`ApiError`] (unknown routes, wrong
/// methods, framework errors) as problem+json, so a client never sees another error format.
pub fn render_framework_error<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let kind = ErrorKind::from_status(status);
    let preflight = res
        .request()
        .headers()
        .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let detail = match kind {
        // actix-cors refuses a preflight with plain text
        ErrorKind::MalformedRequest if preflight => {
            "the CORS preflight asks for an origin, method or header this server does not allow \
             (its allowed origins are configured with GLOSS_CORS_ORIGINS)"
                .to_string()
        }
        ErrorKind::NotFound => format!("no resource at {}", res.request().path()),
        ErrorKind::MethodNotAllowed => format!(
            "{} is not allowed on {}",
            res.request().method(),
            res.request().path()
        ),
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string(),
    };
    let problem = Problem {
        status: status.as_u16(),
        detail,
        ..ApiError::new(kind, "").problem()
    };
    let body = serde_json::to_string(&problem).unwrap_or_default();
    let (req, mut res) = res.into_parts();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let res = res.set_body(BoxBody::new(body));
    let res: ServiceResponse<EitherBody<B, BoxBody>> =
        ServiceResponse::new(req, res).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(res))
}

/// Collects field errors while validating a request, then fails with all of them at once.
#[derive(Debug, Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    /// An empty validator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) -> &mut Self {
        if !ok {
            self.errors.push(FieldError {
                field: field.to_string(),
                message: message.into(),
            });
        }
        self
    }

    /// Ok when nothing was recorded, else a 422 naming every field.
    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(std::mem::take(&mut self.errors)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn every_code_is_its_serialized_name() {
        // the document's ProblemCode enum comes from the serialization, `code()` from the table
        for kind in ErrorKind::ALL {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.code().to_string())
            );
        }
    }
}
