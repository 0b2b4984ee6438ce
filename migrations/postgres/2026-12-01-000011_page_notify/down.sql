-- The version triggers of 000008, without the announcement.

CREATE OR REPLACE FUNCTION gloss_thread_page_changed() RETURNS trigger AS $$
BEGIN
    IF (NEW.forum_id, NEW.title, NEW.prefix_id, NEW.reply_count, NEW.last_position, NEW.first_post_id,
        NEW.last_post_id, NEW.last_post_user_id, NEW.last_post_at, NEW.sticky, NEW.locked, NEW.deleted_at)
       IS DISTINCT FROM
       (OLD.forum_id, OLD.title, OLD.prefix_id, OLD.reply_count, OLD.last_position, OLD.first_post_id,
        OLD.last_post_id, OLD.last_post_user_id, OLD.last_post_at, OLD.sticky, OLD.locked, OLD.deleted_at) THEN
        NEW.page_version := OLD.page_version + 1;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION gloss_row_page_changed() RETURNS trigger AS $$
DECLARE
    r RECORD;
    thread BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_ARGV[0] = 'thread' THEN
        thread := r.thread_id;
    ELSIF TG_ARGV[0] = 'post' THEN
        SELECT p.thread_id INTO thread FROM posts p WHERE p.id = r.post_id;
    ELSE
        SELECT p.thread_id INTO thread FROM posts p WHERE p.id = r.cited_post_id;
    END IF;
    UPDATE threads SET page_version = page_version + 1 WHERE id = thread;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION gloss_site_changed() RETURNS trigger AS $$
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'site';
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
