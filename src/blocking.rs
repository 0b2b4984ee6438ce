//! CPU-heavy work that handlers need, run on the blocking thread pool so that an HTTP worker is
//! never held by it (a slow render would stall every other request on that worker).

use std::sync::OnceLock;

use actix_web::web;
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::text::{self, Rendered};
use crate::AppState;

/// Renders run at once on at most half the cores (at least one): a member posting the heaviest
/// accepted Markdown in a loop can take that share of the machine, never all of it, so readers keep
/// the rest.
fn render_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Semaphore::new((cores / 2).max(1))
    })
}

/// Renders Markdown off the async workers (its time goes to the metrics).
pub async fn render(state: &AppState, markdown: String) -> Result<Rendered, ApiError> {
    let _slot = render_slots()
        .acquire()
        .await
        .map_err(|e| ApiError::internal(format!("render slots closed: {e}")))?;
    let (rendered, seconds) = web::block(move || {
        let started = std::time::Instant::now();
        let r = text::render(&markdown);
        (r, started.elapsed().as_secs_f64())
    })
    .await
    .map_err(|e| ApiError::internal(format!("rendering failed: {e}")))?;
    state.metrics.rendered(seconds);
    Ok(rendered)
}

/// Renders Markdown that may be absent, off the async workers.
pub async fn render_opt(
    state: &AppState,
    markdown: Option<String>,
) -> Result<Option<Rendered>, ApiError> {
    match markdown {
        Some(m) => render(state, m).await.map(Some),
        None => Ok(None),
    }
}
