-- Analyze Post: annotations on a passage of a post (W3C Web Annotation model), replies to them,
-- and citations of a passage in another post (SQLite dialect).
CREATE TABLE annotations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- a reply to another annotation: no selector of its own
    parent_id BIGINT REFERENCES annotations (id) ON DELETE CASCADE,
    motivation TEXT NOT NULL,
    body TEXT,
    body_html TEXT,
    -- JSON array of strings
    tags TEXT NOT NULL DEFAULT '[]',
    visibility TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'private')),
    -- the selector, in code points of the post's body_text (NULL for replies)
    quote_exact TEXT,
    quote_prefix TEXT,
    quote_suffix TEXT,
    start_pos BIGINT,
    end_pos BIGINT,
    -- the post revision the annotation was made on, and the one its selector now points into
    created_revision INTEGER NOT NULL,
    anchored_revision INTEGER NOT NULL,
    anchor_state TEXT NOT NULL DEFAULT 'anchored' CHECK (anchor_state IN ('anchored', 'moved', 'orphaned')),
    anchor_confidence DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    reply_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX annotations_post ON annotations (post_id, parent_id, start_pos);
CREATE INDEX annotations_parent ON annotations (parent_id, id);
CREATE INDEX annotations_user ON annotations (user_id, id DESC);

CREATE TABLE citations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    citing_post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    cited_post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    annotation_id BIGINT REFERENCES annotations (id) ON DELETE SET NULL,
    cited_revision INTEGER NOT NULL,
    -- the quoted text as cited: kept whatever later happens to the source
    quoted_text TEXT NOT NULL,
    quote_prefix TEXT NOT NULL,
    quote_suffix TEXT NOT NULL,
    start_pos BIGINT NOT NULL,
    end_pos BIGINT NOT NULL,
    -- where the passage is in the source now (re-anchored on every edit of the source)
    current_exact TEXT,
    current_start BIGINT,
    current_end BIGINT,
    anchor_state TEXT NOT NULL DEFAULT 'anchored' CHECK (anchor_state IN ('anchored', 'moved', 'orphaned')),
    anchor_confidence DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX citations_cited ON citations (cited_post_id, id);
CREATE INDEX citations_citing ON citations (citing_post_id, position);
