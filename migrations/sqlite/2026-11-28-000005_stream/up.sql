-- Live updates: events for each member's stream, kept so a reconnecting client can catch up
-- (SQLite dialect; one process wakes its streams in memory).
CREATE TABLE stream_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stream_events_user ON stream_events (user_id, id);
CREATE INDEX stream_events_created ON stream_events (created_at);
