DROP INDEX IF EXISTS threads_forum_visible;
