DROP INDEX IF EXISTS threads_deleted;
DROP TRIGGER IF EXISTS annotations_last_at ON annotations;
DROP FUNCTION gloss_annotation_last_at();
ALTER TABLE threads DROP COLUMN last_annotation_at;
