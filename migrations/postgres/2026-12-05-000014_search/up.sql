-- The search index: one document per thread title, post and annotation, written in the same
-- transaction as what it indexes. The terms are cut by Gloss (text::search::terms: words in lower
-- case, runs of Chinese and Japanese characters as overlapping pairs) and joined by spaces; the
-- tsvector is generated from them with each row's text search configuration (`simple` unless
-- GLOSS_SEARCH_LANGUAGE names another), titles weighted A and bodies B.
-- Who may read a document (deleted threads and posts, private annotations) and the filters that
-- can change (forum, prefix, fields) are read from the live rows at query time, not copied here.
CREATE TABLE search_docs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,            -- thread | post | annotation
    ref_id BIGINT NOT NULL,        -- the thread's, post's or annotation's id
    thread_id BIGINT NOT NULL,
    post_id BIGINT,                -- the post (a thread's first post; an annotation's post)
    user_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    title_terms TEXT NOT NULL,     -- a thread's title; an annotation's quote
    body_terms TEXT NOT NULL,      -- a post's text; an annotation's body
    -- where it is and whose, as terms (gkpost gu42 gf7: kind, author, forum), so that the filters
    -- of a search are resolved by the index itself; rewritten when a thread moves. Weighted D,
    -- which ranking counts as nothing, and never stemmed.
    scope_terms TEXT NOT NULL,
    lang REGCONFIG NOT NULL DEFAULT 'simple',
    tsv TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector(lang, title_terms), 'A') || setweight(to_tsvector(lang, body_terms), 'B')
        || setweight(to_tsvector('simple'::regconfig, scope_terms), 'D')
    ) STORED,
    UNIQUE (kind, ref_id)
);

CREATE INDEX search_docs_tsv ON search_docs USING GIN (tsv);
