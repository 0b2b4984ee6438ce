-- Annotations and reactions on one post coalesce into one unread notification per recipient:
-- `count` is how many events it stands for (300 annotations on a post make one, not 300).
ALTER TABLE notifications ADD COLUMN count BIGINT NOT NULL DEFAULT 1;
