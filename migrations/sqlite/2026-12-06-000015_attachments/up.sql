-- Uploaded images. What is stored is what Gloss made of the upload (a display size and a
-- thumbnail, re-encoded as WebP, so without the upload's metadata), never the upload itself.
-- The files are content-addressed: one stored file per distinct content, counted by the
-- attachments that use it. Its path is its hash plus a generation, so a file removed when its
-- count fell to zero is never the path a later upload of the same content writes.
CREATE TABLE media_blobs (
    hash TEXT PRIMARY KEY,         -- sha256 of the file, hex
    path TEXT NOT NULL,
    refs BIGINT NOT NULL,
    size BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id),
    content_type TEXT NOT NULL,    -- the upload's type, read from its bytes
    size BIGINT NOT NULL,          -- the upload's size in bytes (what the quota counts)
    width INTEGER NOT NULL,        -- the upload's size in pixels, once its orientation is applied
    height INTEGER NOT NULL,
    display_hash TEXT NOT NULL,
    display_path TEXT NOT NULL,
    display_width INTEGER NOT NULL,
    display_height INTEGER NOT NULL,
    display_size BIGINT NOT NULL,
    thumb_hash TEXT NOT NULL,
    thumb_path TEXT NOT NULL,
    thumb_width INTEGER NOT NULL,
    thumb_height INTEGER NOT NULL,
    thumb_size BIGINT NOT NULL,
    used BOOLEAN NOT NULL DEFAULT FALSE, -- a post has referenced it (then it is kept)
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX attachments_user ON attachments (user_id, id);
-- the cleanup's walk: attachments no post ever used, oldest first
CREATE INDEX attachments_unused ON attachments (created_at) WHERE NOT used;

-- The attachments a post's Markdown references, in the order it shows them, with their captions.
CREATE TABLE post_attachments (
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    attachment_id BIGINT NOT NULL REFERENCES attachments (id),
    caption TEXT NOT NULL,
    PRIMARY KEY (post_id, position)
);
CREATE INDEX post_attachments_attachment ON post_attachments (attachment_id);

-- the bytes of a member's attachments, against the upload quota
ALTER TABLE users ADD COLUMN upload_bytes BIGINT NOT NULL DEFAULT 0;
