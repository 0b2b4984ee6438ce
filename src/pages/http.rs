//! `GET /threads/{id}/view` (the thread page in one request) and `GET /site` (the site-wide
//! blocks).

use actix_web::{get, http::header, web, HttpRequest, HttpResponse};

use std::sync::Arc;

use super::cache::GuestPage;
use super::site::{self, SiteBlocks};
use super::thread::{self, ThreadPage};
use crate::auth::MaybeUser;
use crate::error::{ApiError, Problem};
use crate::extract::Query;
use crate::pagination::{PageParams, PageRequest};
use crate::threads::view_counter::Viewer;
use crate::AppState;

/// The thread page in one request: the thread with its breadcrumb, prefix, custom fields (with
/// labels and types), counts and the caller's reading and watching state; a page of posts with
/// author cards, Analyze Post counts, heat maps and reactions; "More threads by" the author; and
/// for a member, their newest unread threads.
///
/// Counts a view: once per viewer (member, or guest by address) and thread per hour. Marking the
/// thread read stays a write of its own (`POST /threads/{id}/read`), sent when the reader has
/// seen the posts.
#[utoipa::path(
    tag = "threads",
    params(("thread_id" = i64, Path, description = "Thread id", example = 9), PageParams),
    responses(
        (status = 200, description = "The thread page", body = ThreadPage),
        (status = 404, description = "No such thread (or deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid page parameters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/threads/{thread_id}/view")]
pub async fn thread_page(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<i64>,
    query: Query<PageParams>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let page = query.0.validate()?;
    let address = state.limits.client_address(&req);
    if viewer.0.is_none() {
        state.presence.record_guest(&address);
        return guest_page(&state, id, page, &address).await;
    }
    let st = state.clone();
    let result = state
        .db
        .run(move |conn| {
            let mut page = thread::serve(
                conn,
                &st.pages,
                viewer.0.as_ref(),
                id,
                page,
                st.config.unread_days,
                |t| st.views.pending(t),
            )?;
            if st.views.record(id, Viewer::of(viewer.0.as_ref(), &address)) {
                // the answer counts the view it just recorded, as GET /threads/{id} does
                page.thread.view_count += 1;
            }
            Ok(page)
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}

/// The thread page for a guest: the kept bytes while nothing was written since they were
/// built (no query, no thread hop), else built as for anyone and kept as bytes.
async fn guest_page(
    state: &web::Data<AppState>,
    id: i64,
    page: PageRequest,
    address: &str,
) -> Result<HttpResponse, ApiError> {
    let key = (id, page.page, page.per_page);
    let (clock, flushes) = crate::guest_cache::kept_time(state);
    let guest = match state.pages.guest(key, clock, flushes) {
        Some(kept) => kept,
        None => {
            let st = state.clone();
            let built = state
                .db
                .run(move |conn| {
                    // the thread's own count as stored: its pending views go in with each answer
                    thread::serve(
                        conn,
                        &st.pages,
                        None,
                        id,
                        page,
                        st.config.unread_days,
                        |t| if t == id { 0 } else { st.views.pending(t) },
                    )
                })
                .await?;
            let guest = Arc::new(GuestPage::new(built, clock, flushes)?);
            state.pages.keep_guest(key, guest.clone());
            guest
        }
    };
    // the answer counts the view it records, as GET /threads/{id} does
    state.views.record(id, Viewer::Guest(address));
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(guest.body(state.views.pending(id))))
}

/// The site-wide blocks: members online (with the guest count), the latest posts with their
/// threads' titles and prefixes, and the forum's statistics. The same for every caller: each
/// server process builds it at most once every 5 seconds (`Cache-Control: public, max-age=5`).
/// Reading it counts no view.
#[utoipa::path(
    operation_id = "get_site_blocks",
    tag = "forums",
    responses(
        (status = 200, description = "The site-wide blocks", body = SiteBlocks,
         headers(("Cache-Control" = String, description = "`public, max-age=5`"))),
        (status = 503, description = "The database is busy", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/site")]
pub async fn site_blocks(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if viewer.0.is_none() {
        state
            .presence
            .record_guest(&state.limits.client_address(&req));
    }
    let body = match state.site.fresh() {
        Some(body) => body,
        None => {
            // one request rebuilds; the others wait for it and take its copy
            let _rebuilding = state.site.rebuilding().lock().await;
            match state.site.fresh() {
                Some(body) => body,
                None => build_site_blocks(&state).await?,
            }
        }
    };
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=5"))
        .body(body))
}

/// Builds the site-wide blocks and keeps them as the bytes to send.
async fn build_site_blocks(state: &AppState) -> Result<web::Bytes, ApiError> {
    let snapshot = state
        .presence
        .snapshot_within(state.config.online_window_minutes);
    let blocks = state
        .db
        .run(move |conn| site::assemble(conn, &snapshot))
        .await?;
    let body = web::Bytes::from(
        serde_json::to_vec(&blocks)
            .map_err(|e| ApiError::internal(format!("cannot write the blocks: {e}")))?,
    );
    state.site.keep(body.clone());
    Ok(body)
}

/// The routes of this module (before `/threads/{id}`).
pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(thread_page).service(site_blocks);
}
