//! `Idempotency-Key` on `POST`: a client on a flaky network retries a create with the same key and
//! body and gets the first answer again (`Idempotent-Replayed: true`), never a second thing.
//!
//! Keys are kept per member for 24 hours, in the database, so every process sharing it agrees:
//! the first request claims the key in a write transaction; a retry while it runs gets `409
//! idempotency_key_in_use` with `Retry-After`; the same key with another method, path or body gets
//! `422 idempotency_key_reused`. Only successful (2xx) answers are kept: a failed request gives
//! its key up, so a corrected retry may use it. Calls without an access token (register, login)
//! take no key: there is no member to keep it for.

pub mod db;

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use self::db::Claim;
use crate::error::{ApiError, ErrorKind};
use crate::AppState;

/// The request header naming a create's key.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The answer header that says an answer is the kept one of an earlier request.
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// How long a key and its answer are kept.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);
/// The longest key accepted.
pub const MAX_KEY_LENGTH: usize = 255;

/// The key as sent: 1 to 255 visible ASCII characters (a UUID is the usual choice).
fn parse_key(value: &HeaderValue) -> Result<String, ApiError> {
    let bytes = value.as_bytes();
    if bytes.is_empty()
        || bytes.len() > MAX_KEY_LENGTH
        || !bytes.iter().all(|b| (0x21..=0x7e).contains(b))
    {
        return Err(ApiError::malformed_field(
            "Idempotency-Key",
            format!("must be 1 to {MAX_KEY_LENGTH} visible ASCII characters, such as a UUID"),
        ));
    }
    // checked above: visible ASCII
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// The member a valid bearer token names; `None` for a guest or a bad token (the handler then
/// answers as it would without a key).
fn member(req: &ServiceRequest, state: &AppState) -> Option<i64> {
    let token = crate::auth::bearer(req.request()).ok()??;
    state.tokens.verify(token).ok()?.sub.parse().ok()
}

/// The one path whose body may be larger than `GLOSS_BODY_LIMIT`: image uploads.
const UPLOAD_PATH: &str = "/api/v1/attachments";

/// What makes two requests the same: method, path with query, content type and body.
fn fingerprint(req: &ServiceRequest, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    for part in [
        req.method().as_str().as_bytes(),
        req.uri()
            .path_and_query()
            .map_or("", |p| p.as_str())
            .as_bytes(),
        req.headers()
            .get(header::CONTENT_TYPE)
            .map_or(&b""[..], HeaderValue::as_bytes),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.update(body);
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn answer(
    req: ServiceRequest,
    res: HttpResponse,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    Ok(req.into_response(res))
}

fn replay(stored: db::Stored) -> HttpResponse {
    let status = u16::try_from(stored.status.unwrap_or(200))
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut res = HttpResponse::build(status);
    if let Some(ct) = stored.content_type {
        res.insert_header((header::CONTENT_TYPE, ct));
    }
    if let Some(location) = stored.location {
        res.insert_header((header::LOCATION, location));
    }
    res.insert_header((REPLAYED, "true"));
    res.body(stored.body.unwrap_or_default())
}

/// The middleware: see the module's documentation.
pub async fn idempotent_posts(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let raw = match req.headers().get(IDEMPOTENCY_KEY) {
        Some(raw) if req.method() == Method::POST => raw.clone(),
        _ => {
            return next
                .call(req)
                .await
                .map(ServiceResponse::map_into_boxed_body)
        }
    };
    let key = match parse_key(&raw) {
        Ok(key) => key,
        Err(e) => return answer(req, e.error_response()),
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let Some(user_id) = member(&req, &state) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };

    // the body is read here, once, to be compared, and handed on unchanged
    // an upload may be as large as the upload limit, with its multipart framing
    let limit = if req.path() == UPLOAD_PATH {
        state.config.upload_max_bytes + 64 * 1024
    } else {
        state.config.body_limit
    };
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                let e = ApiError::new(
                    ErrorKind::MalformedRequest,
                    format!("the body could not be read: {e}"),
                );
                return answer(req, e.error_response());
            }
        };
        if body.len() + chunk.len() > limit {
            let e = ApiError::new(
                ErrorKind::PayloadTooLarge,
                format!("the body is larger than the limit of {limit} bytes"),
            );
            return answer(req, e.error_response());
        }
        body.extend_from_slice(&chunk);
    }
    let body: Bytes = body.freeze();
    let print = fingerprint(&req, &body);

    let now = crate::db::now();
    let expired_before = now - chrono::Duration::from_std(KEPT_FOR).unwrap_or_default();
    // a claim unanswered for twice the request deadline was left by a process that died
    let abandoned_before =
        now - chrono::Duration::from_std(state.config.request_timeout * 2).unwrap_or_default();
    let (k, p) = (key.clone(), print.clone());
    let claim = state
        .db
        .run(move |conn| {
            Ok(crate::db::transaction(conn, |c| {
                db::claim(c, user_id, &k, &p, expired_before, abandoned_before)
            })?)
        })
        .await;
    match claim {
        Err(e) => answer(req, e.error_response()),
        Ok(Claim::Replay(stored)) => answer(req, replay(stored)),
        Ok(Claim::InProgress) => {
            let e = ApiError::new(
                ErrorKind::IdempotencyKeyInUse,
                "a request with this Idempotency-Key is still running; retry after the time given in Retry-After",
            );
            answer(req, e.error_response())
        }
        Ok(Claim::Mismatch) => {
            let e = ApiError::new(
                ErrorKind::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request (method, path or body) in the last 24 hours; send a new key",
            );
            answer(req, e.error_response())
        }
        Ok(Claim::Run) => {
            req.set_payload(Payload::from(body));
            let res = next.call(req).await;
            let keep = matches!(&res, Ok(r) if r.status().is_success());
            if !keep {
                let released = state
                    .db
                    .run(move |conn| {
                        Ok(crate::db::transaction(conn, |c| {
                            db::release(c, user_id, &key, &print)
                        })?)
                    })
                    .await;
                if let Err(e) = released {
                    // the claim is taken over once abandoned, so the key is not lost for good
                    tracing::warn!(error = %e, "could not release an idempotency key");
                }
                return res.map(ServiceResponse::map_into_boxed_body);
            }
            let (req, res) = res?.into_parts();
            let (head, body) = res.into_parts();
            let Ok(bytes) = actix_web::body::to_bytes(body).await else {
                return Err(actix_web::error::ErrorInternalServerError(
                    "the answer could not be read",
                ));
            };
            let text = |name: HeaderName| {
                head.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let kept = db::Answer {
                status: i32::from(head.status().as_u16()),
                content_type: text(header::CONTENT_TYPE),
                location: text(header::LOCATION),
                body: bytes.to_vec(),
            };
            let completed = state
                .db
                .run(move |conn| {
                    Ok(crate::db::transaction(conn, |c| {
                        db::complete(c, user_id, &key, &print, &kept)
                    })?)
                })
                .await;
            if let Err(e) = completed {
                // the thing was made and is answered; a retry waits for the claim to be taken over
                tracing::warn!(error = %e, "could not keep an idempotent answer");
            }
            Ok(ServiceResponse::new(
                req,
                head.set_body(bytes).map_into_boxed_body(),
            ))
        }
    }
}
