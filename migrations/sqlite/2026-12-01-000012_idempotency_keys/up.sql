-- A member's Idempotency-Key and what its first request answered, kept 24 hours: a retried POST
-- with the same key and body gets the same answer instead of making the thing twice. `status` is
-- NULL while the first request runs (a concurrent retry is told to wait).
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER,
    content_type TEXT,
    location TEXT,
    body BLOB,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
