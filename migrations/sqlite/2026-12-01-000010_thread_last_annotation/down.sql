DROP INDEX IF EXISTS threads_deleted;
DROP TRIGGER IF EXISTS annotations_last_at_insert;
DROP TRIGGER IF EXISTS annotations_last_at_public;
ALTER TABLE threads DROP COLUMN last_annotation_at;
