//! Carries every selector that points into a post over an edit of that post: its annotations and
//! the citations of it. Runs inside the edit's transaction; the matching itself is `text::anchor`.

use diesel::prelude::*;

use super::citations;
use super::db::{self as annotation_db, AnchorUpdate};
use crate::db::DbConn;
use crate::text::anchor::{self, AnchorState, Selector, TextPosition, TextQuote};

/// How the selectors of a post fared in one edit.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub anchored: usize,
    pub moved: usize,
    pub orphaned: usize,
}

fn selector(exact: &str, prefix: &str, suffix: &str, start: i64, end: i64) -> Selector {
    Selector {
        quote: TextQuote {
            exact: exact.to_string(),
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
        },
        position: TextPosition {
            start: start.max(0) as usize,
            end: end.max(0) as usize,
        },
    }
}

/// Re-anchors the annotations and citations of post `post_id`, whose text went from `old` to
/// `new` (now revision `revision`). The difference of the two texts is computed once for all.
pub fn reanchor_post(
    conn: &mut DbConn,
    post_id: i64,
    old: &str,
    new: &str,
    revision: i32,
) -> QueryResult<Summary> {
    let notes = annotation_db::with_selectors(conn, post_id)?;
    let cites = citations::citing(conn, post_id)?;
    let mut selectors = Vec::with_capacity(notes.len() + cites.len());
    for a in &notes {
        selectors.push(selector(
            a.quote_exact.as_deref().unwrap_or(""),
            a.quote_prefix.as_deref().unwrap_or(""),
            a.quote_suffix.as_deref().unwrap_or(""),
            a.start_pos.unwrap_or(0),
            a.end_pos.unwrap_or(0),
        ));
    }
    for c in &cites {
        selectors.push(selector(
            c.current_exact.as_deref().unwrap_or(&c.quoted_text),
            &c.quote_prefix,
            &c.quote_suffix,
            c.current_start.unwrap_or(c.start_pos),
            c.current_end.unwrap_or(c.end_pos),
        ));
    }
    if selectors.is_empty() {
        return Ok(Summary::default());
    }
    let outcomes = anchor::reanchor_all(old, new, &selectors);
    // one statement moves every annotation to the new revision; only changed ones get their own
    annotation_db::set_revision_for_post(conn, post_id, revision)?;
    let mut summary = Summary::default();
    let mut updates = Vec::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome.state {
            AnchorState::Anchored => summary.anchored += 1,
            AnchorState::Moved => summary.moved += 1,
            AnchorState::Orphaned => summary.orphaned += 1,
        }
        let unchanged = outcome.state == AnchorState::Anchored
            && outcome.selector.as_ref() == Some(&selectors[i]);
        if i < notes.len() {
            let a = &notes[i];
            if unchanged && a.anchor_state == "anchored" {
                continue;
            }
            let s = outcome.selector.as_ref();
            // an orphan keeps its last quote so readers see what it was about; its position is gone
            updates.push(AnchorUpdate {
                id: a.id,
                exact: s
                    .map(|s| s.quote.exact.clone())
                    .or_else(|| a.quote_exact.clone())
                    .unwrap_or_default(),
                prefix: s
                    .map(|s| s.quote.prefix.clone())
                    .or_else(|| a.quote_prefix.clone())
                    .unwrap_or_default(),
                suffix: s
                    .map(|s| s.quote.suffix.clone())
                    .or_else(|| a.quote_suffix.clone())
                    .unwrap_or_default(),
                start: s.map(|s| s.position.start as i64),
                end: s.map(|s| s.position.end as i64),
                state: outcome.state.as_str(),
                confidence: outcome.confidence,
            });
        } else {
            let c = &cites[i - notes.len()];
            if unchanged && c.anchor_state == "anchored" {
                continue;
            }
            citations::set_anchor(
                conn,
                c.id,
                outcome.selector.as_ref(),
                outcome.state.as_str(),
                outcome.confidence,
            )?;
        }
    }
    annotation_db::apply_anchors(conn, &updates)?;
    Ok(summary)
}
