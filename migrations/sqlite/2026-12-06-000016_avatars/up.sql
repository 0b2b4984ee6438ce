-- An uploaded avatar: the hashes of its three square sizes (64, 128 and 256 pixels, WebP),
-- separated by spaces; each is a file of media_blobs, counted there like an attachment's.
ALTER TABLE users ADD COLUMN avatar_files TEXT;
