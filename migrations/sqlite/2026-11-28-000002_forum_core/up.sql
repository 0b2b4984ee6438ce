-- The forum core: forums (a tree of categories and forums), thread prefixes and custom fields,
-- threads, posts and their revisions (SQLite dialect).
ALTER TABLE users ADD COLUMN message_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN reaction_score BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN avatar_url TEXT;

CREATE TABLE forums (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    parent_id BIGINT REFERENCES forums (id),
    kind TEXT NOT NULL CHECK (kind IN ('category', 'forum')),
    title TEXT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    description TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    thread_count BIGINT NOT NULL DEFAULT 0,
    post_count BIGINT NOT NULL DEFAULT 0,
    last_post_id BIGINT,
    last_thread_id BIGINT,
    last_post_user_id BIGINT,
    last_post_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX forums_parent ON forums (parent_id, position);

CREATE TABLE thread_prefixes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    forum_id BIGINT NOT NULL REFERENCES forums (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX thread_prefixes_forum ON thread_prefixes (forum_id, position);

CREATE TABLE thread_fields (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    forum_id BIGINT NOT NULL REFERENCES forums (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    description TEXT,
    field_type TEXT NOT NULL CHECK (field_type IN ('text', 'date', 'url', 'number', 'choice')),
    -- JSON array of the allowed values of a 'choice' field
    options TEXT,
    required BOOLEAN NOT NULL DEFAULT 0,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (forum_id, key)
);

CREATE TABLE threads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    forum_id BIGINT NOT NULL REFERENCES forums (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    title TEXT NOT NULL,
    prefix_id BIGINT REFERENCES thread_prefixes (id) ON DELETE SET NULL,
    reply_count BIGINT NOT NULL DEFAULT 0,
    view_count BIGINT NOT NULL DEFAULT 0,
    -- the highest post position handed out; positions are never reused
    last_position BIGINT NOT NULL DEFAULT 0,
    first_post_id BIGINT,
    last_post_id BIGINT,
    last_post_user_id BIGINT,
    last_post_at TIMESTAMP NOT NULL,
    sticky BOOLEAN NOT NULL DEFAULT 0,
    locked BOOLEAN NOT NULL DEFAULT 0,
    deleted_at TIMESTAMP,
    deleted_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- the forum's thread list: sticky first, then by last activity
CREATE INDEX threads_forum_activity ON threads (forum_id, sticky DESC, last_post_at DESC, id DESC);
CREATE INDEX threads_user ON threads (user_id, id DESC);
CREATE INDEX threads_prefix ON threads (prefix_id);

CREATE TABLE thread_field_values (
    thread_id BIGINT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    field_id BIGINT NOT NULL REFERENCES thread_fields (id) ON DELETE CASCADE,
    -- canonical text: dates as YYYY-MM-DD so that they sort
    value_text TEXT NOT NULL,
    value_number DOUBLE PRECISION,
    PRIMARY KEY (thread_id, field_id)
);
CREATE INDEX thread_field_values_text ON thread_field_values (field_id, value_text);
CREATE INDEX thread_field_values_number ON thread_field_values (field_id, value_number);

CREATE TABLE posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id BIGINT NOT NULL REFERENCES threads (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    position BIGINT NOT NULL,
    body TEXT NOT NULL,
    body_html TEXT NOT NULL,
    body_text TEXT NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1,
    edit_count INTEGER NOT NULL DEFAULT 0,
    edited_at TIMESTAMP,
    edited_by BIGINT REFERENCES users (id),
    deleted_at TIMESTAMP,
    deleted_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (thread_id, position)
);
CREATE INDEX posts_user ON posts (user_id, id DESC);

CREATE TABLE post_revisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    revision INTEGER NOT NULL,
    body TEXT NOT NULL,
    body_text TEXT NOT NULL,
    editor_id BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (post_id, revision)
);
