-- The search index: one document per thread title, post and annotation, written in the same
-- transaction as what it indexes. The terms are cut by Gloss (text::search::terms: words in lower
-- case, runs of Chinese and Japanese characters as overlapping pairs) and joined by spaces, so
-- FTS5's ascii tokenizer only splits on those spaces and both databases index the same terms.
-- Who may read a document (deleted threads and posts, private annotations) and the filters that
-- can change (forum, prefix, fields) are read from the live rows at query time, not copied here.
CREATE TABLE search_docs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,            -- thread | post | annotation
    ref_id BIGINT NOT NULL,        -- the thread's, post's or annotation's id
    thread_id BIGINT NOT NULL,
    post_id BIGINT,                -- the post (a thread's first post; an annotation's post)
    user_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    title_terms TEXT NOT NULL,     -- a thread's title; an annotation's quote
    body_terms TEXT NOT NULL,      -- a post's text; an annotation's body
    -- where it is and whose, as terms (gkpost gu42 gf7: kind, author, forum), so that the filters
    -- of a search are resolved by the index itself; rewritten when a thread moves
    scope_terms TEXT NOT NULL,
    UNIQUE (kind, ref_id)
);

CREATE VIRTUAL TABLE search_fts USING fts5(
    title_terms, body_terms, scope_terms,
    content = 'search_docs', content_rowid = 'id', tokenize = 'ascii'
);

CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN
    INSERT INTO search_fts (rowid, title_terms, body_terms, scope_terms)
    VALUES (new.id, new.title_terms, new.body_terms, new.scope_terms);
END;

CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, title_terms, body_terms, scope_terms)
    VALUES ('delete', old.id, old.title_terms, old.body_terms, old.scope_terms);
END;

CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN
    INSERT INTO search_fts (search_fts, rowid, title_terms, body_terms, scope_terms)
    VALUES ('delete', old.id, old.title_terms, old.body_terms, old.scope_terms);
    INSERT INTO search_fts (rowid, title_terms, body_terms, scope_terms)
    VALUES (new.id, new.title_terms, new.body_terms, new.scope_terms);
END;
