ALTER TABLE users DROP COLUMN upload_bytes;
DROP TABLE post_attachments;
DROP TABLE attachments;
DROP TABLE media_blobs;
