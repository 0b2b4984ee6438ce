-- The read model's versions. A cached thread page is served while its thread's `page_version`
-- and the site's version are what they were when it was built. Triggers bump them on every
-- change a page shows, whatever code path makes it, so no write can forget to invalidate:
-- `page_version` for the thread's own rows (the thread, its posts and field values, and the
-- reactions, annotations and citations on its posts), the site version for what every page
-- shows (forums, prefixes, fields, reaction kinds, ranks, groups, profile fields and values, a
-- member's name, avatar, role or ban). Message counts and reaction scores on author cards are
-- read fresh with every page instead (they change with every post anywhere).
ALTER TABLE threads ADD COLUMN page_version BIGINT NOT NULL DEFAULT 0;
CREATE TABLE cache_versions (
    name TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO cache_versions (name, version) VALUES ('site', 0);

-- a change of the thread row itself: bumped in place, before the row is written
CREATE FUNCTION gloss_thread_page_changed() RETURNS trigger AS $$
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
CREATE TRIGGER threads_page_changed BEFORE UPDATE ON threads
    FOR EACH ROW EXECUTE FUNCTION gloss_thread_page_changed();

-- a change of a row on the thread's page; TG_ARGV[0] says how the row names its thread
CREATE FUNCTION gloss_row_page_changed() RETURNS trigger AS $$
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
CREATE TRIGGER posts_page AFTER INSERT OR UPDATE OR DELETE ON posts
    FOR EACH ROW EXECUTE FUNCTION gloss_row_page_changed('thread');
CREATE TRIGGER field_values_page AFTER INSERT OR UPDATE OR DELETE ON thread_field_values
    FOR EACH ROW EXECUTE FUNCTION gloss_row_page_changed('thread');
CREATE TRIGGER annotations_page AFTER INSERT OR UPDATE OR DELETE ON annotations
    FOR EACH ROW EXECUTE FUNCTION gloss_row_page_changed('post');
CREATE TRIGGER reactions_page AFTER INSERT OR DELETE ON post_reactions
    FOR EACH ROW EXECUTE FUNCTION gloss_row_page_changed('post');
CREATE TRIGGER citations_page AFTER INSERT OR DELETE ON citations
    FOR EACH ROW EXECUTE FUNCTION gloss_row_page_changed('cited');

-- a change every page may show: once per statement
CREATE FUNCTION gloss_site_changed() RETURNS trigger AS $$
BEGIN
    UPDATE cache_versions SET version = version + 1 WHERE name = 'site';
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER thread_prefixes_site AFTER INSERT OR UPDATE OR DELETE ON thread_prefixes
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
CREATE TRIGGER thread_fields_site AFTER INSERT OR UPDATE OR DELETE ON thread_fields
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
CREATE TRIGGER reaction_kinds_site AFTER INSERT OR UPDATE OR DELETE ON reaction_kinds
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
CREATE TRIGGER profile_fields_site AFTER INSERT OR UPDATE OR DELETE ON profile_fields
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
CREATE TRIGGER profile_values_site AFTER INSERT OR UPDATE OR DELETE ON profile_values
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
CREATE TRIGGER user_groups_site AFTER INSERT OR UPDATE OR DELETE ON user_groups
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
CREATE TRIGGER user_group_members_site AFTER INSERT OR UPDATE OR DELETE ON user_group_members
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
CREATE TRIGGER ranks_site AFTER INSERT OR UPDATE OR DELETE ON ranks
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
CREATE TRIGGER forums_site AFTER INSERT OR DELETE OR UPDATE OF parent_id, kind, title, slug, description, position ON forums
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
CREATE TRIGGER users_site AFTER UPDATE OF username, display_name, avatar_url, role, disabled ON users
    FOR EACH STATEMENT EXECUTE FUNCTION gloss_site_changed();
