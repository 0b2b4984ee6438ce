//! `gloss rerender`: renders every stored post and annotation again with the current Markdown
//! rules (after a change of them, such as single newlines becoming line breaks), and carries the
//! annotations and citations of every post whose text changed over to the new text with the same
//! re-anchoring an edit uses. Safe to run while the server runs, and to run again: it walks the
//! tables by id in batches, one short transaction per batch, and stores only what changed.

use crate::annotations::citations;
use crate::annotations::db as annotation_db;
use crate::db::DbConn;
use crate::posts::db as post_db;
use crate::text;

/// Rows read per batch (and written per transaction).
const BATCH: i64 = 200;

/// What a run changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub posts_seen: usize,
    pub posts_changed: usize,
    pub annotations_seen: usize,
    pub annotations_changed: usize,
    /// Selectors (annotations and citations) of changed posts still on their passage.
    pub anchored: usize,
    /// Selectors found again elsewhere in the new text.
    pub moved: usize,
    /// Selectors whose passage could not be found.
    pub orphaned: usize,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "re-rendered {} of {} posts and {} of {} annotations; selectors: {} anchored, {} moved, {} orphaned",
            self.posts_changed,
            self.posts_seen,
            self.annotations_changed,
            self.annotations_seen,
            self.anchored,
            self.moved,
            self.orphaned
        )
    }
}

/// Renders every post and annotation again; see the module.
pub fn all(conn: &mut DbConn) -> Result<Summary, String> {
    let mut summary = Summary::default();
    let mut after = 0;
    loop {
        let batch = post_db::bodies_after(conn, after, BATCH).map_err(|e| e.to_string())?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        summary.posts_seen += batch.len();
        // render outside the transaction; keep only the posts whose text or HTML would change
        let changed: Vec<(post_db::StoredBody, text::Rendered)> = batch
            .into_iter()
            .map(|p| {
                let r = text::render(&p.body);
                (p, r)
            })
            .filter(|(p, r)| p.body_text != r.text || !p.body_html.ends_with(&r.html))
            .collect();
        if changed.is_empty() {
            continue;
        }
        let stored = crate::db::transaction(conn, |conn| {
            let mut s = Summary::default();
            for (p, r) in &changed {
                // a reply's quote blocks sit above its own rendered text, as when it was posted
                let html = format!(
                    "{}{}",
                    text::sanitize(&citations::stored_quotes_html(conn, p.id)?),
                    r.html
                );
                if let Some(a) = post_db::store_rendering(conn, p.id, &p.body, &html, &r.text)? {
                    s.posts_changed += 1;
                    s.anchored += a.anchored;
                    s.moved += a.moved;
                    s.orphaned += a.orphaned;
                }
            }
            Ok::<_, diesel::result::Error>(s)
        })
        .map_err(|e| e.to_string())?;
        summary.posts_changed += stored.posts_changed;
        summary.anchored += stored.anchored;
        summary.moved += stored.moved;
        summary.orphaned += stored.orphaned;
    }
    let mut after = 0;
    loop {
        let batch = annotation_db::bodies_after(conn, after, BATCH).map_err(|e| e.to_string())?;
        let Some(last) = batch.last() else { break };
        after = last.0;
        summary.annotations_seen += batch.len();
        let changed: Vec<(i64, String, String)> = batch
            .into_iter()
            .filter_map(|(id, body, html)| {
                let new = text::render(&body).html;
                (html.as_deref() != Some(new.as_str())).then_some((id, body, new))
            })
            .collect();
        if changed.is_empty() {
            continue;
        }
        summary.annotations_changed += crate::db::transaction(conn, |conn| {
            let mut n = 0;
            for (id, body, html) in &changed {
                if annotation_db::store_rendering(conn, *id, body, html)? {
                    n += 1;
                }
            }
            Ok::<_, diesel::result::Error>(n)
        })
        .map_err(|e| e.to_string())?;
    }
    Ok(summary)
}
