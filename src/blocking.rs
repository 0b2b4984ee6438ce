//! CPU-heavy work that handlers need, run on the blocking thread pool so that an HTTP worker is
//! never held by it (a slow render would stall every other request on that worker).

use actix_web::web;

use crate::error::ApiError;
use crate::text::{self, Rendered};

/// Renders Markdown off the async workers.
pub async fn render(markdown: String) -> Result<Rendered, ApiError> {
    web::block(move || text::render(&markdown))
        .await
        .map_err(|e| ApiError::internal(format!("rendering failed: {e}")))
}

/// Renders Markdown that may be absent, off the async workers.
pub async fn render_opt(markdown: Option<String>) -> Result<Option<Rendered>, ApiError> {
    match markdown {
        Some(m) => render(m).await.map(Some),
        None => Ok(None),
    }
}
