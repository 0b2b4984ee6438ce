-- Live updates: events for each member's stream, kept so a reconnecting client can catch up
-- (PostgreSQL dialect). Every insert is announced with NOTIFY when its transaction commits, so a
-- stream held open by any Gloss process on this database learns of it.
CREATE TABLE stream_events (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    event TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX stream_events_user ON stream_events (user_id, id);
CREATE INDEX stream_events_created ON stream_events (created_at);

CREATE FUNCTION gloss_announce_stream_event() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('gloss_stream', NEW.user_id::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER stream_events_announce AFTER INSERT ON stream_events
    FOR EACH ROW EXECUTE FUNCTION gloss_announce_stream_event();
