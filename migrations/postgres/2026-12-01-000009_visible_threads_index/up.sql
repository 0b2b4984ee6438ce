-- A forum's page of visible threads reads this index alone up to the page: deleted threads are
-- not in it, so skipping to a deep page does not visit the rows of deleted ones.
CREATE INDEX threads_forum_visible ON threads (forum_id, sticky DESC, last_post_at DESC, id DESC)
    WHERE deleted_at IS NULL;
-- "Posts you haven't read yet" walks the recent activity of every forum, newest first.
CREATE INDEX threads_activity ON threads (last_post_at DESC, id DESC) WHERE deleted_at IS NULL;
-- A member's visible threads, newest first, and their count: read from the index alone.
CREATE INDEX threads_user_visible ON threads (user_id, id DESC) WHERE deleted_at IS NULL;
