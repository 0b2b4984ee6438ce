DROP TRIGGER stream_events_announce ON stream_events;
DROP FUNCTION gloss_announce_stream_event();
DROP TABLE stream_events;
