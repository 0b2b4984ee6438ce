DROP INDEX IF EXISTS threads_forum_visible;
DROP INDEX IF EXISTS threads_activity;
DROP INDEX IF EXISTS threads_user_visible;
