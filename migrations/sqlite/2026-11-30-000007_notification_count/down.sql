ALTER TABLE notifications DROP COLUMN count;
