-- Rate-limit counters shared by every Gloss process on one database: one fixed window per key
-- (`auth:<address>`, `login:<account>:<address>`), counted by an atomic upsert.
CREATE TABLE rate_counters (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    count BIGINT NOT NULL
);
CREATE INDEX rate_counters_window ON rate_counters (window_start);
