//! The removal of uploads no post shows, once they are older than the configured time (a day by
//! default): run periodically by the server, and callable directly.

use chrono::NaiveDateTime;

use super::db as attachment_db;
use crate::error::ApiError;
use crate::AppState;

/// Attachments removed per transaction.
const BATCH: i64 = 200;

/// Removes every attachment made before `before` that no post shows, with the files no other
/// upload uses; returns how many attachments were removed.
pub async fn remove_unused(state: &AppState, before: NaiveDateTime) -> Result<usize, ApiError> {
    let mut total = 0;
    loop {
        let removed = state
            .db
            .run(move |conn| Ok(attachment_db::remove_unused(conn, before, BATCH)?))
            .await?;
        state.media.delete_all(&removed.paths).await;
        total += removed.attachments;
        if removed.looked_at < BATCH as usize || removed.attachments == 0 {
            return Ok(total);
        }
    }
}

/// The cutoff for now: uploads older than the configured time.
pub fn cutoff(state: &AppState) -> NaiveDateTime {
    crate::db::now() - chrono::Duration::from_std(state.config.attachment_ttl).unwrap_or_default()
}
