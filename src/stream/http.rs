//! `GET /stream`: the signed-in member's live events as Server-Sent Events.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tokio::sync::broadcast::{self, error::RecvError};
use utoipa::IntoParams;

use super::db as stream_db;
use super::events::{self, StreamEvent};
use super::Hub;
use crate::auth::{AuthUser, MaybeUser};
use crate::db::Db;
use crate::error::{ApiError, ErrorKind, Problem};
use crate::extract::Query;
use crate::users::db as user_db;
use crate::AppState;

/// How to open a stream from a browser's `EventSource`, which cannot send headers.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamParams {
    /// The access token, when it cannot be sent as `Authorization: Bearer`.
    pub access_token: Option<String>,
    /// Resume after this event id (as the `Last-Event-ID` header does).
    pub last_event_id: Option<i64>,
}

/// A comment line every 15 s keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

struct Stream {
    db: Db,
    viewer: AuthUser,
    user_id: i64,
    /// The access token's expiry: the stream ends then, and the client reconnects with a fresh token.
    expires_at: u64,
    last_id: i64,
    rx: broadcast::Receiver<i64>,
    buf: VecDeque<Bytes>,
    _hub: Arc<Hub>,
}

fn frame(id: i64, event: &StreamEvent) -> Bytes {
    let (name, data) = event.frame_parts();
    Bytes::from(format!("id: {id}\nevent: {name}\ndata: {data}\n\n"))
}

/// Waits until the hub wakes this member's streams (or everyone's); `false` when the hub is gone.
async fn woken(rx: &mut broadcast::Receiver<i64>, user_id: i64) -> bool {
    loop {
        match rx.recv().await {
            Ok(id) if id == user_id || id == 0 => return true,
            Ok(_) => continue,
            // missed wake-ups: read the database again rather than guess
            Err(RecvError::Lagged(_)) => return true,
            Err(RecvError::Closed) => return false,
        }
    }
}

/// The caller's live events (Server-Sent Events).
///
/// Events: `notification` (data: the Notification, exactly as `GET /notifications` gives it) and
/// `post` (data: the Post, as `GET /posts/{post_id}` gives it: a new post in a thread the caller
/// watches). Each is read when sent, so it shows the current state. Each has an
/// `id`; a client that reconnects with `Last-Event-ID` (or `?last_event_id=`) first receives what it
/// missed. Authenticate with `Authorization: Bearer`, or `?access_token=` from a browser's
/// `EventSource`; the stream ends when the access token expires (reconnect with a fresh one). On PostgreSQL an event made through any Gloss process reaches the stream, whichever
/// process holds it.
#[utoipa::path(
    operation_id = "open_stream",
    tag = "stream",
    security(("bearer_auth" = [])),
    params(StreamParams, ("Last-Event-ID" = Option<i64>, Header, description = "Resume after this event id")),
    responses(
        (status = 200, description = "An endless `text/event-stream` of events, each sent as `id: 42\\nevent: notification\\ndata: {…}\\n\\n`: the schema is one event, its `event` name and its `data` (a Notification or a Post, as the REST operations give them); comment lines (`: keepalive`) keep the connection open",
         body = StreamEvent, content_type = "text/event-stream"),
        (status = 401, response = crate::error::Unauthorized),
        (status = 422, description = "Invalid parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stream")]
pub async fn stream(
    state: web::Data<AppState>,
    req: HttpRequest,
    viewer: MaybeUser,
    query: Query<StreamParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let viewer = match (viewer.0, &q.access_token) {
        (Some(u), _) => u,
        (None, Some(token)) => {
            let claims = state.tokens.verify(token)?;
            let id: i64 = claims.sub.parse().map_err(|_| {
                ApiError::new(ErrorKind::InvalidToken, "the access token is invalid")
            })?;
            let user = state
                .db
                .run(move |conn| user_db::require_active(conn, id))
                .await?;
            AuthUser {
                id,
                role: user.role(),
                expires_at: claims.exp,
            }
        }
        (None, None) => {
            return Err(ApiError::new(
                ErrorKind::Unauthorized,
                "send 'Authorization: Bearer <token>' or ?access_token=",
            ))
        }
    };
    let header_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let resume = header_id.or(q.last_event_id);
    let (user_id, expires_at) = (viewer.id, viewer.expires_at);
    let hub = state.hub.clone();
    let rx = hub.subscribe();
    let last_id = match resume {
        Some(id) => id.max(0),
        None => {
            state
                .db
                .run(move |conn| Ok(stream_db::latest_id(conn, user_id)?))
                .await?
        }
    };
    let start = Stream {
        db: state.db.clone(),
        viewer,
        user_id,
        expires_at,
        last_id,
        rx,
        buf: VecDeque::from([Bytes::from_static(b": connected\n\n")]),
        _hub: hub,
    };
    let body = futures_util::stream::unfold(start, |mut s| async move {
        loop {
            if let Some(b) = s.buf.pop_front() {
                return Some((Ok::<_, actix_web::Error>(b), s));
            }
            let (viewer, after) = (s.viewer, s.last_id);
            match s
                .db
                .run(move |conn| {
                    let rows = stream_db::after(conn, viewer.id, after, 100)?;
                    events::load(conn, &viewer, rows)
                })
                .await
            {
                Ok(events) if !events.is_empty() => {
                    for (id, event) in &events {
                        s.last_id = *id;
                        if let Some(event) = event {
                            s.buf.push_back(frame(*id, event));
                        }
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "stream could not read events; ending it (the client reconnects)");
                    return None;
                }
            }
            let left = s
                .expires_at
                .saturating_sub(jsonwebtoken::get_current_timestamp());
            if left == 0 {
                return None;
            }
            let wait = KEEPALIVE.min(Duration::from_secs(left));
            match tokio::time::timeout(wait, woken(&mut s.rx, s.user_id)).await {
                Ok(true) => continue,
                Ok(false) => return None,
                Err(_) => s.buf.push_back(Bytes::from_static(b": keepalive\n\n")),
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        // never compressed: a compressor would hold events back until its block fills
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .streaming(body))
}

/// The routes of this module.
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(stream);
}
