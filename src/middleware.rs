//! Request context (request id, tracing span, access log) and CORS.

use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
use tracing::Instrument;

/// The header carrying the request id, accepted from the client or generated.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, available from request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client-sent id is kept when it is short and plain, so it can be logged safely.
fn acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Gives every request an id (echoed in `X-Request-Id`), a tracing span that every log line of
/// the request carries, and one access-log line.
pub async fn request_context<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let started = Instant::now();
    let path = req.path().to_string();
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    // A NUL character in a path segment (`/users/a%00b`) cannot be stored or looked up in
    // PostgreSQL: refuse it before any handler runs, the same on both databases.
    let mut res = if req.path().contains("%00") {
        let error = crate::error::ApiError::invalid_field("path", crate::extract::NUL_MESSAGE);
        req.into_response(error.error_response())
            .map_into_right_body()
    } else {
        next.call(req)
            .instrument(span.clone())
            .await?
            .map_into_left_body()
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    secure_headers(&path, authenticated, res.headers_mut());
    if let Some(state) = res
        .request()
        .app_data::<actix_web::web::Data<crate::AppState>>()
    {
        // the route template, never the raw path: a bounded set of label values
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        if !matches!(
            *res.request().method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        ) {
            // answered: whatever it wrote is committed, and pages kept from before are not current
            state.writes.tick();
        }
        let status = res.status().as_u16();
        state.metrics.request(
            res.request().method().as_str(),
            &route,
            status,
            started.elapsed().as_secs_f64(),
        );
        if status == 429 {
            state.metrics.rate_limited(&route);
        }
    }
    span.in_scope(|| {
        tracing::info!(
            status = res.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "handled"
        )
    });
    Ok(res)
}

/// Headers every response carries: no content sniffing, no framing, a content policy (the docs
/// page loads its own scripts, styles and the document from this origin only; API responses load
/// nothing), and no caching of a member's own data by anyone but the member's client.
fn secure_headers(
    path: &str,
    authenticated: bool,
    headers: &mut actix_web::http::header::HeaderMap,
) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let policy = if path.starts_with("/docs") {
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        if path.starts_with("/docs/") {
            // the docs assets change only with the server: an hour, then revalidated by ETag
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
        } else if path == "/api-docs/openapi.json" {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, no-cache"),
            );
        } else if path == "/api/v1/me"
            || path.starts_with("/api/v1/me/")
            || path.starts_with("/api/v1/auth/")
        {
            // the account itself and token pairs: never stored anywhere
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        } else if authenticated {
            // depends on who asks: a shared cache must not keep it
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            );
        }
    }
}

/// CORS for the configured single-page-app origins; with none configured, browsers on other
/// origins get no CORS headers and so cannot call the API.
pub fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            REQUEST_ID,
            HeaderName::from_static("last-event-id"),
            header::IF_NONE_MATCH,
            header::IF_MATCH,
            crate::idempotency::IDEMPOTENCY_KEY,
        ])
        .expose_headers([
            REQUEST_ID,
            header::LOCATION,
            header::RETRY_AFTER,
            header::ETAG,
            crate::idempotency::REPLAYED,
        ])
        .max_age(3600);
    for origin in origins {
        if origin == "*" {
            cors = cors.allow_any_origin();
        } else {
            cors = cors.allowed_origin(origin);
        }
    }
    cors
}

/// Conditional and `HEAD` requests. A `HEAD` is answered as its `GET` would be, without the body
/// (the HTTP layer sends the headers alone, with the length the body had). A successful `GET` of
/// a resource or a list gets a weak `ETag` (a hash of the answer's bytes before compression, so
/// every process gives the same one), and a request whose `If-None-Match` names it gets `304 Not Modified` with no
/// body (a handler that sets its own strong `ETag` answers for itself). An answer that depends on
/// the caller says so (`Vary: Authorization`); the event stream
/// passes untouched.
pub async fn conditional_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let conditional = req.method() == Method::GET;
    let wanted = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let res = next.call(req).await?;
    // a handler that tags its answer itself (a stored image, by its content hash) has answered
    // `If-None-Match` already
    if !conditional
        || res.status() != actix_web::http::StatusCode::OK
        || is_stream(&res)
        || res.headers().contains_key(header::ETAG)
    {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (mut head, body) = res.into_parts();
    let bytes = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Err(actix_web::error::ErrorInternalServerError(
                "the answer could not be read",
            ))
        }
    };
    // weak: the same answer may go out gzip, br or plain, and the tag names the answer
    let tag = format!("W/\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(&bytes));
    if let Ok(value) = HeaderValue::from_str(&tag) {
        head.headers_mut().insert(header::ETAG, value);
    }
    head.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Authorization"));
    let matches = wanted.is_some_and(|w| {
        w.trim() == "*"
            || w.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == tag.trim_start_matches("W/"))
    });
    let res = if matches {
        let mut not_modified = actix_web::HttpResponse::NotModified().finish();
        for (name, value) in head.headers().iter() {
            if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                not_modified
                    .headers_mut()
                    .append(name.clone(), value.clone());
            }
        }
        not_modified
    } else {
        head.set_body(bytes).map_into_boxed_body()
    };
    Ok(ServiceResponse::new(req, res))
}

fn is_stream<B>(res: &ServiceResponse<B>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}
