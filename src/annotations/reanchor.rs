//! Carries every selector that points into a post over an edit of that post: its annotations and
//! the citations of it. Runs inside the edit's transaction; the matching itself is `text::anchor`.

use diesel::prelude::*;

use super::citations;
use super::db::{self as annotation_db, AnchorChanges};
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
            let changes = AnchorChanges {
                // an orphan keeps its last quote so readers see what it was about; its position is gone
                quote_exact: s.map(|s| Some(s.quote.exact.clone())),
                quote_prefix: s.map(|s| Some(s.quote.prefix.clone())),
                quote_suffix: s.map(|s| Some(s.quote.suffix.clone())),
                start_pos: Some(s.map(|s| s.position.start as i64)),
                end_pos: Some(s.map(|s| s.position.end as i64)),
                anchored_revision: Some(revision),
                anchor_state: Some(outcome.state.as_str().to_string()),
                anchor_confidence: Some(outcome.confidence),
            };
            annotation_db::set_anchor(conn, a.id, &changes)?;
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
    Ok(summary)
}
