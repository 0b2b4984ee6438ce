-- Community: reactions, profile fields, groups, ranks, read markers, watches, notifications and
-- presence (PostgreSQL dialect).
ALTER TABLE users ADD COLUMN last_seen_at TIMESTAMP;
ALTER TABLE users ADD COLUMN hide_presence BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN auto_watch BOOLEAN NOT NULL DEFAULT TRUE;
CREATE INDEX users_last_seen ON users (last_seen_at);

CREATE TABLE reaction_kinds (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    emoji TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO reaction_kinds (key, label, emoji, position, created_at) VALUES ('like', 'Like', '👍', 0, (now() AT TIME ZONE 'UTC')::timestamp(6));

CREATE TABLE post_reactions (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind_id BIGINT NOT NULL REFERENCES reaction_kinds (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (post_id, kind_id, user_id)
);
CREATE INDEX post_reactions_user ON post_reactions (user_id, post_id);

CREATE TABLE profile_fields (
    id BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL CHECK (field_type IN ('text', 'choice', 'country')),
    options TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE profile_values (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    field_id BIGINT NOT NULL REFERENCES profile_fields (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, field_id)
);

CREATE TABLE user_groups (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    badge TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE user_group_members (
    group_id BIGINT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);

CREATE TABLE ranks (
    id BIGSERIAL PRIMARY KEY,
    min_messages BIGINT NOT NULL UNIQUE,
    title TEXT NOT NULL
);
INSERT INTO ranks (min_messages, title) VALUES (0, 'New Member'), (100, 'Member'), (1000, 'Senior Member');

CREATE TABLE read_markers (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id BIGINT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    -- the highest position read; never moves backwards
    position BIGINT NOT NULL,
    -- when the member last caught up with annotations in this thread
    annotations_seen_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, thread_id)
);

CREATE TABLE thread_watches (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    thread_id BIGINT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, thread_id)
);
CREATE INDEX thread_watches_thread ON thread_watches (thread_id);

CREATE TABLE forum_watches (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    forum_id BIGINT NOT NULL REFERENCES forums (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, forum_id)
);
CREATE INDEX forum_watches_forum ON forum_watches (forum_id);

CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    thread_id BIGINT REFERENCES threads (id) ON DELETE CASCADE,
    post_id BIGINT REFERENCES posts (id) ON DELETE CASCADE,
    annotation_id BIGINT REFERENCES annotations (id) ON DELETE CASCADE,
    -- one notification per event and recipient
    dedupe_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP,
    UNIQUE (user_id, dedupe_key)
);
CREATE INDEX notifications_user ON notifications (user_id, id DESC);
CREATE INDEX notifications_unread ON notifications (user_id, read_at);

