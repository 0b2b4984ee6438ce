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
    name TEXT PRIMARY KEY NOT NULL,
    version BIGINT NOT NULL
);
INSERT INTO cache_versions (name, version) VALUES ('site', 0);

CREATE TRIGGER threads_page_changed AFTER UPDATE OF forum_id, title, prefix_id, reply_count, last_position, first_post_id, last_post_id, last_post_user_id, last_post_at, sticky, locked, deleted_at ON threads
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = NEW.id; END;
CREATE TRIGGER posts_page_insert AFTER INSERT ON posts
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = NEW.thread_id; END;
CREATE TRIGGER field_values_page_insert AFTER INSERT ON thread_field_values
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = NEW.thread_id; END;
CREATE TRIGGER annotations_page_insert AFTER INSERT ON annotations
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = (SELECT thread_id FROM posts WHERE id = NEW.post_id); END;
CREATE TRIGGER posts_page_update AFTER UPDATE ON posts
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = NEW.thread_id; END;
CREATE TRIGGER field_values_page_update AFTER UPDATE ON thread_field_values
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = NEW.thread_id; END;
CREATE TRIGGER annotations_page_update AFTER UPDATE ON annotations
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = (SELECT thread_id FROM posts WHERE id = NEW.post_id); END;
CREATE TRIGGER posts_page_delete AFTER DELETE ON posts
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = OLD.thread_id; END;
CREATE TRIGGER field_values_page_delete AFTER DELETE ON thread_field_values
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = OLD.thread_id; END;
CREATE TRIGGER annotations_page_delete AFTER DELETE ON annotations
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = (SELECT thread_id FROM posts WHERE id = OLD.post_id); END;
CREATE TRIGGER reactions_page_insert AFTER INSERT ON post_reactions
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = (SELECT thread_id FROM posts WHERE id = NEW.post_id); END;
CREATE TRIGGER citations_page_insert AFTER INSERT ON citations
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = (SELECT thread_id FROM posts WHERE id = NEW.cited_post_id); END;
CREATE TRIGGER reactions_page_delete AFTER DELETE ON post_reactions
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = (SELECT thread_id FROM posts WHERE id = OLD.post_id); END;
CREATE TRIGGER citations_page_delete AFTER DELETE ON citations
BEGIN UPDATE threads SET page_version = page_version + 1 WHERE id = (SELECT thread_id FROM posts WHERE id = OLD.cited_post_id); END;
CREATE TRIGGER thread_prefixes_site_insert AFTER INSERT ON thread_prefixes
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER thread_prefixes_site_update AFTER UPDATE ON thread_prefixes
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER thread_prefixes_site_delete AFTER DELETE ON thread_prefixes
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER thread_fields_site_insert AFTER INSERT ON thread_fields
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER thread_fields_site_update AFTER UPDATE ON thread_fields
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER thread_fields_site_delete AFTER DELETE ON thread_fields
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER reaction_kinds_site_insert AFTER INSERT ON reaction_kinds
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER reaction_kinds_site_update AFTER UPDATE ON reaction_kinds
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER reaction_kinds_site_delete AFTER DELETE ON reaction_kinds
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER profile_fields_site_insert AFTER INSERT ON profile_fields
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER profile_fields_site_update AFTER UPDATE ON profile_fields
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER profile_fields_site_delete AFTER DELETE ON profile_fields
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER profile_values_site_insert AFTER INSERT ON profile_values
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER profile_values_site_update AFTER UPDATE ON profile_values
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER profile_values_site_delete AFTER DELETE ON profile_values
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER user_groups_site_insert AFTER INSERT ON user_groups
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER user_groups_site_update AFTER UPDATE ON user_groups
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER user_groups_site_delete AFTER DELETE ON user_groups
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER user_group_members_site_insert AFTER INSERT ON user_group_members
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER user_group_members_site_update AFTER UPDATE ON user_group_members
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER user_group_members_site_delete AFTER DELETE ON user_group_members
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER ranks_site_insert AFTER INSERT ON ranks
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER ranks_site_update AFTER UPDATE ON ranks
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER ranks_site_delete AFTER DELETE ON ranks
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER forums_site_insert AFTER INSERT ON forums
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER forums_site_delete AFTER DELETE ON forums
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER forums_site_update AFTER UPDATE OF parent_id, kind, title, slug, description, position ON forums
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
CREATE TRIGGER users_site_update AFTER UPDATE OF username, display_name, avatar_url, role, disabled ON users
BEGIN UPDATE cache_versions SET version = version + 1 WHERE name = 'site'; END;
